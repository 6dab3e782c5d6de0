/* metrics.c - the registry of okta-jitd's metrics and its rendering in
 * Prometheus' text exposition format, version 0.0.4 (metrics.h). */
#include "metrics.h"

#include <stdatomic.h>
#include <stddef.h>
#include <string.h>

/* Label values. Fixed sets keep the number of series bounded whatever
 * callers pass (Prometheus' advice: never a user name or free text). */
static const char *const decisions[] = { "allow", "deny", "unavailable", NULL };
static const char *const check_codes[] = { "allow",         "no_grant",      "pending",
					   "not_member",    "user_inactive", "no_user",
					   "unknown_group", "ambiguous_group", "okta_unavailable",
					   "ledger_unavailable", "invalid",   NULL };
static const char *const grant_events[] = { "requested", "approved", "granted", "extended",        "expired",
					    "revoked",   "denied",   "failed",  "request_expired", NULL };
static const char *const ledger_areas[] = { "grant", "audit", "notify", "session", "snapshot",
					    "drift", "claim", "listen", NULL };

/* Series a stored metric may hold: enough for the largest product of
 * (values + "other") above; metrics_inc ignores a slot past it. */
#define METRICS_SLOTS 64

struct metric_def {
	const char *name;
	const char *type; /* counter | gauge */
	const char *help;
	const char *label[2];
	const char *const *values[2]; /* the fixed values of a stored metric's labels */
	int stored;                   /* kept here; else read at scrape time */
};

static const struct metric_def defs[METRIC_COUNT] = {
	[METRIC_UP] = { "okta_jit_up", "gauge", "1 while okta-jitd answers; a scrape that gets no answer is the alert.",
			{ NULL, NULL }, { NULL, NULL }, 0 },
	[METRIC_BUILD_INFO] = { "okta_jit_build_info", "gauge", "okta-jitd's version and role (granter or gate); always 1.",
				{ "version", "role" }, { NULL, NULL }, 0 },
	[METRIC_START_TIME] = { "okta_jit_start_time_seconds", "gauge",
				"When okta-jitd started, in seconds since the Unix epoch.", { NULL, NULL }, { NULL, NULL }, 1 },
	[METRIC_CHECKS] = { "okta_jit_checks_total", "counter",
			    "Access checks answered (PAM module and okta-jit check), by decision and code.",
			    { "decision", "code" }, { decisions, check_codes }, 1 },
	[METRIC_CHECK_GRACE] = { "okta_jit_check_grace_total", "counter",
				 "Checks allowed from an earlier answer because Okta or the shared ledger did not answer "
				 "in time (outage_grace).",
				 { NULL, NULL }, { NULL, NULL }, 1 },
	[METRIC_OKTA_REQUESTS] = { "okta_jit_okta_requests_total", "counter",
				   "HTTP requests to Okta by endpoint kind (token, users, groups, other) and answer "
				   "class (2xx, 3xx, 4xx, 5xx; error: no HTTP answer).",
				   { "kind", "status_class" }, { NULL, NULL }, 0 },
	[METRIC_OKTA_RATE_LIMITED] = { "okta_jit_okta_rate_limited_total", "counter",
				       "Okta answers 429 Too Many Requests, by endpoint kind.", { "kind", NULL },
				       { NULL, NULL }, 0 },
	[METRIC_OKTA_TOKEN_REFRESHES] = { "okta_jit_okta_token_refreshes_total", "counter",
					  "Access token fetches from Okta that succeeded or failed.", { "result", NULL },
					  { NULL, NULL }, 0 },
	[METRIC_GRANTS] = { "okta_jit_grants_total", "counter",
			    "Grant lifecycle events this host wrote to the audit trail, by event.", { "event", NULL },
			    { grant_events, NULL }, 1 },
	[METRIC_REMOVALS_OVERDUE] = { "okta_jit_removals_overdue", "gauge",
				      "Grants past their end whose Okta membership removal has been owed for more "
				      "than 60 seconds.",
				      { NULL, NULL }, { NULL, NULL }, 0 },
	[METRIC_REMOVAL_FAILURES] = { "okta_jit_removal_failures_total", "counter",
				      "Membership removals Okta refused or did not answer (each is retried).",
				      { NULL, NULL }, { NULL, NULL }, 1 },
	[METRIC_SNAPSHOT_AGE] = { "okta_jit_snapshot_age_seconds", "gauge",
				  "Age of the newest snapshot of each gated Okta group in the ledger.", { "group", NULL },
				  { NULL, NULL }, 0 },
	[METRIC_CACHE_ENTRIES] = { "okta_jit_cache_entries", "gauge", "Entries in the check cache.", { NULL, NULL },
				   { NULL, NULL }, 0 },
	[METRIC_LEDGER_UP] = { "okta_jit_ledger_up", "gauge", "1 when the ledger answered a query at this scrape, else 0.",
			       { NULL, NULL }, { NULL, NULL }, 0 },
	[METRIC_LEDGER_ERRORS] = { "okta_jit_ledger_errors_total", "counter",
				   "Ledger operations that failed (I/O, lost connection, corruption), by area.",
				   { "op", NULL }, { ledger_areas, NULL }, 1 },
	[METRIC_NOTIFY_BACKLOG] = { "okta_jit_notify_backlog", "gauge",
				    "Notifications waiting to be delivered (neither sent nor dropped).", { NULL, NULL },
				    { NULL, NULL }, 0 },
	[METRIC_NOTIFY_FAILURES] = { "okta_jit_notify_failures_total", "counter",
				     "Notification deliveries that failed (retried until max_age, then dropped).",
				     { NULL, NULL }, { NULL, NULL }, 1 },
	[METRIC_DRIFT_MEMBERS] = { "okta_jit_drift_members", "gauge",
				   "Members of the flows' Okta groups without a grant, as the drift sweeps found them.",
				   { NULL, NULL }, { NULL, NULL }, 0 },
	[METRIC_SESSIONS_ENDED] = { "okta_jit_sessions_ended_total", "counter",
				    "Login sessions okta-jitd ended because their grant ended.", { NULL, NULL },
				    { NULL, NULL }, 1 },
};

static _Atomic int64_t slots[METRIC_COUNT][METRICS_SLOTS];

/* Readers are registered at start, before the first scrape. */
static struct {
	metrics_read_fn fn;
	void *ctx;
} readers[METRIC_COUNT];

struct metrics_sink {
	struct ojit_buf *out;
	const struct metric_def *def;
	int failed;
};

static size_t nvalues(const char *const *v)
{
	size_t n = 0;

	while (v != NULL && v[n] != NULL)
		n++;
	return n;
}

/* The position of v in the fixed set, or its size ("other"). */
static size_t value_index(const char *const *set, const char *v)
{
	size_t i;

	for (i = 0; set != NULL && set[i] != NULL; i++)
		if (v != NULL && strcmp(set[i], v) == 0)
			return i;
	return i;
}

static int slot_of(const struct metric_def *d, const char *v0, const char *v1)
{
	size_t i0 = 0, i1 = 0, n1 = nvalues(d->values[1]) + 1, s;

	if (d->label[0] != NULL)
		i0 = value_index(d->values[0], v0);
	if (d->label[1] != NULL)
		i1 = value_index(d->values[1], v1);
	s = i0 * n1 + i1;
	return s < METRICS_SLOTS ? (int)s : -1;
}

void metrics_inc2(enum metric m, const char *label_value, const char *label2)
{
	int s;

	if ((unsigned)m >= METRIC_COUNT || !defs[m].stored)
		return;
	s = slot_of(&defs[m], label_value, label2);
	if (s >= 0)
		atomic_fetch_add_explicit(&slots[m][s], 1, memory_order_relaxed);
}

void metrics_inc(enum metric m, const char *label_value)
{
	metrics_inc2(m, label_value, NULL);
}

void metrics_inc_known(enum metric m, const char *label_value)
{
	if ((unsigned)m >= METRIC_COUNT || label_value == NULL ||
	    value_index(defs[m].values[0], label_value) >= nvalues(defs[m].values[0]))
		return;
	metrics_inc2(m, label_value, NULL);
}

void metrics_set(enum metric m, int64_t v)
{
	if ((unsigned)m < METRIC_COUNT && defs[m].stored && defs[m].label[0] == NULL)
		atomic_store_explicit(&slots[m][0], v, memory_order_relaxed);
}

void metrics_reader(enum metric m, metrics_read_fn fn, void *ctx)
{
	if ((unsigned)m >= METRIC_COUNT || defs[m].stored)
		return;
	readers[m].fn = fn;
	readers[m].ctx = ctx;
}

const char *metrics_name(enum metric m)
{
	return (unsigned)m < METRIC_COUNT ? defs[m].name : NULL;
}

void metrics_reset(void)
{
	size_t m, s;

	for (m = 0; m < METRIC_COUNT; m++) {
		for (s = 0; s < METRICS_SLOTS; s++)
			atomic_store(&slots[m][s], 0);
		readers[m].fn = NULL;
		readers[m].ctx = NULL;
	}
}

/* A label value as the format wants it: backslash, double quote and line
 * feed escaped. Readers pass group names from the configuration; checked
 * names, but the text stays well-formed whatever they hold. */
static void put_label(struct metrics_sink *s, const char *name, const char *v)
{
	const char *p;

	if (ojit_buf_printf(s->out, "%s=\"", name) != 0)
		s->failed = 1;
	for (p = v != NULL ? v : ""; *p != '\0'; p++) {
		const char *esc = *p == '\\' ? "\\\\" : *p == '"' ? "\\\"" : *p == '\n' ? "\\n" : NULL;

		if ((esc != NULL ? ojit_buf_append(s->out, esc, strlen(esc)) : ojit_buf_append(s->out, p, 1)) != 0)
			s->failed = 1;
	}
	if (ojit_buf_append(s->out, "\"", 1) != 0)
		s->failed = 1;
}

void metrics_sample(struct metrics_sink *s, const char *label_value, const char *label2, int64_t v)
{
	const struct metric_def *d = s->def;

	if (ojit_buf_printf(s->out, "%s", d->name) != 0)
		s->failed = 1;
	if (d->label[0] != NULL) {
		ojit_buf_append(s->out, "{", 1);
		put_label(s, d->label[0], label_value);
		if (d->label[1] != NULL) {
			ojit_buf_append(s->out, ",", 1);
			put_label(s, d->label[1], label2);
		}
		ojit_buf_append(s->out, "}", 1);
	}
	if (ojit_buf_printf(s->out, " %lld\n", (long long)v) != 0)
		s->failed = 1;
}

/* A stored metric's series. Without labels: its one value. One label:
 * every fixed value, 0 included (a rate over a series that appears late
 * misses its first event), and "other" once it counted. Two labels: the
 * pairs that counted (most pairs cannot happen: an allow with no_grant). */
static void render_stored(struct metrics_sink *s, enum metric m)
{
	const struct metric_def *d = s->def;
	size_t n0 = nvalues(d->values[0]), n1 = nvalues(d->values[1]), i, j;

	if (d->label[0] == NULL) {
		metrics_sample(s, NULL, NULL, atomic_load_explicit(&slots[m][0], memory_order_relaxed));
		return;
	}
	for (i = 0; i <= n0; i++) {
		for (j = 0; j <= (d->label[1] != NULL ? n1 : 0); j++) {
			size_t k = i * (n1 + 1) + j;
			int64_t v;

			if (k >= METRICS_SLOTS)
				continue;
			v = atomic_load_explicit(&slots[m][k], memory_order_relaxed);
			if (v == 0 && (i == n0 || d->label[1] != NULL))
				continue;
			metrics_sample(s, i < n0 ? d->values[0][i] : "other",
				       d->label[1] == NULL ? NULL : j < n1 ? d->values[1][j] : "other", v);
		}
	}
}

size_t metrics_chunk(const char *text, size_t len, size_t max)
{
	size_t n;

	if (len <= max)
		return len;
	for (n = max; n > 0 && text[n - 1] != '\n'; n--)
		;
	return n > 0 ? n : max;
}

int metrics_render(struct ojit_buf *out)
{
	struct ojit_buf read[METRIC_COUNT];
	struct metrics_sink s;
	size_t m;
	int failed = 0;

	out->len = 0;
	if (out->data != NULL)
		out->data[0] = '\0';
	/* The readers first: what they do may count (a ledger query that
	 * fails is a ledger error), and this scrape should show it. */
	for (m = 0; m < METRIC_COUNT; m++) {
		ojit_buf_init(&read[m], out->limit);
		if (readers[m].fn == NULL || defs[m].stored)
			continue;
		memset(&s, 0, sizeof(s));
		s.out = &read[m];
		s.def = &defs[m];
		readers[m].fn(&s, readers[m].ctx);
		failed |= s.failed || read[m].overflow;
	}
	memset(&s, 0, sizeof(s));
	s.out = out;
	for (m = 0; m < METRIC_COUNT; m++) {
		s.def = &defs[m];
		/* the help text is ours: no backslash or line feed to escape */
		if (ojit_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", defs[m].name, defs[m].help, defs[m].name,
				    defs[m].type) != 0)
			s.failed = 1;
		if (m == METRIC_UP)
			metrics_sample(&s, NULL, NULL, 1);
		else if (defs[m].stored)
			render_stored(&s, (enum metric)m);
		else if (read[m].len > 0 && ojit_buf_append(out, read[m].data, read[m].len) != 0)
			s.failed = 1;
		ojit_buf_free(&read[m]);
	}
	return failed || s.failed || out->overflow ? -1 : 0;
}
