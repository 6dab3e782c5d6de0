/* metrics_collect.c - the readers of okta-jitd's scrape-time metrics
 * (metrics.h), the counts heard from the audit hook and the ledger, and
 * the textfile writer of [daemon] metrics_file (metrics_collect.h).
 *
 * The numbers leave the daemon without a network port: as the METRICS
 * reply on the socket (root only, daemon_dispatch.c) and as a file that
 * node_exporter's textfile collector reads. */
#include "metrics_collect.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "atomic_file.h"
#include "check.h"
#include "metrics.h"
#include "util.h"

/* A removal owed for longer than this is overdue (the sweeper retries
 * within seconds while Okta answers). */
#define METRICS_OVERDUE_AFTER 60
/* The text is small (a few kB); a cap keeps a bug from filling memory. */
#define METRICS_TEXT_MAX (4 * 1024 * 1024)

void metrics_audit_heard(const char *event)
{
	if (event != NULL && strcmp(event, "session_ended") == 0)
		metrics_inc(METRIC_SESSIONS_ENDED, NULL);
	else
		metrics_inc_known(METRIC_GRANTS, event); /* the grant events only */
}

static void ledger_error_heard(void *ctx, const char *area)
{
	(void)ctx;
	metrics_inc(METRIC_LEDGER_ERRORS, area);
}

static void read_build_info(struct metrics_sink *s, void *ctx)
{
	const struct jitd *d = ctx;

	metrics_sample(s, OJIT_VERSION, d->cfg->role_gate ? "gate" : "granter", 1);
}

static void read_okta_requests(struct metrics_sink *s, void *ctx)
{
	struct jitd *d = ctx;
	struct okta_stats st;
	int k, c;

	okta_client_stats(d->okta, &st);
	for (k = 0; k < OKTA_KINDS; k++)
		for (c = 0; c < OKTA_CLASSES; c++)
			metrics_sample(s, okta_kind_name(k), okta_class_name(c), (int64_t)st.requests[k][c]);
}

static void read_okta_rate_limited(struct metrics_sink *s, void *ctx)
{
	struct jitd *d = ctx;
	struct okta_stats st;
	int k;

	okta_client_stats(d->okta, &st);
	for (k = 0; k < OKTA_KINDS; k++)
		metrics_sample(s, okta_kind_name(k), NULL, (int64_t)st.rate_limited_by[k]);
}

static void read_okta_tokens(struct metrics_sink *s, void *ctx)
{
	struct jitd *d = ctx;
	struct okta_stats st;

	okta_client_stats(d->okta, &st);
	metrics_sample(s, "ok", NULL, (int64_t)st.token_ok);
	metrics_sample(s, "error", NULL, (int64_t)st.token_failed);
}

/* Both counts in one query; a failure shows no sample (and counts as a
 * ledger error), never a 0 that would read as "all is well". */
static void read_removals_overdue(struct metrics_sink *s, void *ctx)
{
	struct jitd *d = ctx;
	struct ledger_counts c;

	if (ledger_counts(d->ledger, ojit_now() - METRICS_OVERDUE_AFTER, &c) == LEDGER_OK)
		metrics_sample(s, NULL, NULL, c.removals_overdue);
}

static void read_notify_backlog(struct metrics_sink *s, void *ctx)
{
	struct jitd *d = ctx;
	struct ledger_counts c;

	if (ledger_counts(d->ledger, ojit_now() - METRICS_OVERDUE_AFTER, &c) == LEDGER_OK)
		metrics_sample(s, NULL, NULL, c.notify_backlog);
}

/* A group is a label value only when the configuration gates it (a flow's
 * group or a snapshot_groups entry): the set is fixed at start. */
static int group_configured(const struct jitd *d, const char *grp)
{
	size_t i;

	if (config_flow_for_group(d->cfg, grp) != NULL)
		return 1;
	for (i = 0; i < d->cfg->nsnapshot_groups; i++)
		if (strcmp(d->cfg->snapshot_groups[i], grp) == 0)
			return 1;
	return 0;
}

static void read_snapshot_age(struct metrics_sink *s, void *ctx)
{
	struct jitd *d = ctx;
	struct snapshot_head *v = NULL;
	size_t n = 0, i;
	int64_t now = ojit_now();

	if (ledger_snapshot_heads_all(d->ledger, &v, &n) != LEDGER_OK)
		return;
	for (i = 0; i < n; i++)
		if (v[i].taken_at > 0 && group_configured(d, v[i].grp))
			metrics_sample(s, v[i].grp, NULL, now > v[i].taken_at ? now - v[i].taken_at : 0);
	free(v);
}

static void read_cache_entries(struct metrics_sink *s, void *ctx)
{
	struct jitd *d = ctx;

	metrics_sample(s, NULL, NULL, (int64_t)check_cache_size(d->cache));
}

static void read_ledger_up(struct metrics_sink *s, void *ctx)
{
	struct jitd *d = ctx;

	metrics_sample(s, NULL, NULL, ledger_schema_version(d->ledger) > 0 ? 1 : 0);
}

static int drift_count_cb(const struct drift_row *r, void *ctx)
{
	int64_t *n = ctx;

	if (strcmp(r->state, "removed") != 0)
		(*n)++;
	return 0;
}

static void read_drift_members(struct metrics_sink *s, void *ctx)
{
	struct jitd *d = ctx;
	int64_t n = 0;

	if (ledger_drift_list(d->ledger, NULL, drift_count_cb, &n) == LEDGER_OK)
		metrics_sample(s, NULL, NULL, n);
}

void metrics_collect_init(struct jitd *d)
{
	metrics_set(METRIC_START_TIME, ojit_now());
	metrics_reader(METRIC_BUILD_INFO, read_build_info, d);
	metrics_reader(METRIC_CACHE_ENTRIES, read_cache_entries, d);
	metrics_reader(METRIC_LEDGER_UP, read_ledger_up, d);
	metrics_reader(METRIC_SNAPSHOT_AGE, read_snapshot_age, d);
	ledger_on_error(d->ledger, ledger_error_heard, NULL);
	/* A gate holds no Okta client, and its database role reads grants
	 * and snapshots only (docs/fleet.md): removals, notifications and
	 * drift are the granters'. */
	if (d->okta != NULL) {
		metrics_reader(METRIC_OKTA_REQUESTS, read_okta_requests, d);
		metrics_reader(METRIC_OKTA_RATE_LIMITED, read_okta_rate_limited, d);
		metrics_reader(METRIC_OKTA_TOKEN_REFRESHES, read_okta_tokens, d);
	}
	if (!d->cfg->role_gate) {
		metrics_reader(METRIC_REMOVALS_OVERDUE, read_removals_overdue, d);
		metrics_reader(METRIC_NOTIFY_BACKLOG, read_notify_backlog, d);
		metrics_reader(METRIC_DRIFT_MEMBERS, read_drift_members, d);
	}
}

/* ---- the textfile writer -------------------------------------------- */

static struct {
	pthread_t thread;
	int running;
	int stop;
	pthread_mutex_t lock;
	pthread_cond_t cond;
} writer = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

int metrics_file_write(const char *path, char *err, size_t errlen)
{
	struct ojit_buf text;
	int r = -1;

	ojit_buf_init(&text, METRICS_TEXT_MAX);
	if (metrics_render(&text) != 0) {
		snprintf(err, errlen, "%s: the metrics text could not be made (out of memory)", path);
		goto out;
	}
	r = ojit_write_atomic(path, text.data != NULL ? text.data : "", text.len, 0644, err, errlen);
out:
	ojit_buf_free(&text);
	return r;
}

static void *writer_main(void *p)
{
	struct jitd *d = p;
	char err[512], last[512] = "";
	struct timespec until;

	pthread_mutex_lock(&writer.lock);
	while (!writer.stop) {
		pthread_mutex_unlock(&writer.lock);
		/* one line when writing starts failing or the reason changes,
		 * one when it works again: not one every interval */
		if (metrics_file_write(d->cfg->metrics_file, err, sizeof(err)) != 0) {
			/* the packaged unit's ProtectSystem=strict: the usual cause */
			if (strcmp(err, last) != 0)
				error_f("[daemon] metrics_file: %s (tried again every %llds)%s", err,
					(long long)d->cfg->metrics_interval,
					strstr(err, "Read-only file system") != NULL
						? "; under systemd, a drop-in with ReadWritePaths= for its folder lets okta-jitd write there"
						: "");
			ojit_strlcpy(last, err, sizeof(last));
		} else if (last[0] != '\0') {
			info_f("[daemon] metrics_file: %s written again", d->cfg->metrics_file);
			last[0] = '\0';
		}
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += d->cfg->metrics_interval;
		pthread_mutex_lock(&writer.lock);
		while (!writer.stop)
			if (pthread_cond_timedwait(&writer.cond, &writer.lock, &until) == ETIMEDOUT)
				break;
	}
	pthread_mutex_unlock(&writer.lock);
	return NULL;
}

int metrics_file_start(struct jitd *d)
{
	if (d->cfg->metrics_file == NULL)
		return 0;
	writer.stop = 0;
	if (pthread_create(&writer.thread, NULL, writer_main, d) != 0) {
		error_f("[daemon] metrics_file: cannot start the writer thread");
		return -1;
	}
	writer.running = 1;
	return 0;
}

void metrics_file_stop(struct jitd *d)
{
	if (!writer.running)
		return;
	pthread_mutex_lock(&writer.lock);
	writer.stop = 1;
	pthread_cond_broadcast(&writer.cond);
	pthread_mutex_unlock(&writer.lock);
	pthread_join(writer.thread, NULL);
	writer.running = 0;
	if (unlink(d->cfg->metrics_file) != 0 && errno != ENOENT)
		warn_f("[daemon] metrics_file: cannot remove %s: %s", d->cfg->metrics_file, strerror(errno));
}
