/* metrics.h - okta-jitd's counters and gauges, rendered in Prometheus'
 * text exposition format (issue 22; the METRICS table of okta-jitd(8)).
 *
 * The registry is the lowest part of the daemon layer: it includes no
 * other daemon header, so any part may count into it. Counters and set
 * gauges are C11 atomics in a table fixed at build time (no lock on a hot
 * path such as a check). Every label has a fixed set of values: a value
 * not in the set is counted as "other", so no user, login or free text can
 * make the output grow. Gauges that are cheaper to read than to keep
 * (ages, counts in the ledger, the Okta client's counters) are read at
 * scrape time by a reader a higher part registers (metrics_collect.c). */
#ifndef OJIT_METRICS_H
#define OJIT_METRICS_H

#include <stdint.h>

#include "util.h"

enum metric {
	METRIC_UP,
	METRIC_BUILD_INFO,        /* {version,role} */
	METRIC_START_TIME,
	METRIC_CHECKS,            /* {decision,code} */
	METRIC_CHECK_GRACE,
	METRIC_OKTA_REQUESTS,     /* {kind,status_class}, read */
	METRIC_OKTA_RATE_LIMITED, /* {kind}, read */
	METRIC_OKTA_TOKEN_REFRESHES, /* {result}, read */
	METRIC_GRANTS,            /* {event} */
	METRIC_REMOVALS_OVERDUE,  /* read */
	METRIC_REMOVAL_FAILURES,
	METRIC_SNAPSHOT_AGE,      /* {group}, read */
	METRIC_CACHE_ENTRIES,     /* read */
	METRIC_LEDGER_UP,         /* read */
	METRIC_LEDGER_ERRORS,     /* {op} */
	METRIC_NOTIFY_BACKLOG,    /* read */
	METRIC_NOTIFY_FAILURES,
	METRIC_DRIFT_MEMBERS,     /* read */
	METRIC_SESSIONS_ENDED,
	METRIC_COUNT
};

/* Count one event. label_value (and label2 for a metric with two labels)
 * must be one of the metric's fixed values; anything else (NULL too, for
 * a labelled metric) counts as "other". Lock-free. */
void metrics_inc(enum metric m, const char *label_value);
void metrics_inc2(enum metric m, const char *label_value, const char *label2);
/* The same for a metric with one label, but only when label_value is one
 * of its fixed values (an audit event name that is a grant event). */
void metrics_inc_known(enum metric m, const char *label_value);
/* Set a gauge without labels. Lock-free. */
void metrics_set(enum metric m, int64_t v);

/* A reader fills a metric at scrape time: it calls metrics_sample once per
 * series, with one label value per label of the metric (NULL when it has
 * none). */
struct metrics_sink;
typedef void (*metrics_read_fn)(struct metrics_sink *s, void *ctx);
void metrics_sample(struct metrics_sink *s, const char *label_value, const char *label2, int64_t v);
/* Register (at start, before any scrape) the reader of m; a metric
 * without one shows its HELP and TYPE lines and no sample. */
void metrics_reader(enum metric m, metrics_read_fn fn, void *ctx);

/* The whole text exposition into out (cleared first). 0, or -1 when out
 * of memory. */
int metrics_render(struct ojit_buf *out);

/* The length of the next piece of text (len bytes left) to send in a
 * field of at most max bytes: all of it when it fits, else up to the last
 * line end that fits (a line longer than max is cut at max). */
size_t metrics_chunk(const char *text, size_t len, size_t max);

/* For tests and docs: a metric's name, type and help; NULL past the end. */
const char *metrics_name(enum metric m);

/* Back to zero and no readers (unit tests). */
void metrics_reset(void);

#endif
