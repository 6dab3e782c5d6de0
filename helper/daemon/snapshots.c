/* snapshots.c - a granter keeps, in the shared ledger, what a check needs
 * from Okta about each gated group (issue 17): its members as Okta lists
 * them, with their ids, logins and status. The gates answer from these
 * snapshots and hold no Okta credential, so what a fleet costs Okta does
 * not grow with its number of hosts: one listing per group per cache_ttl,
 * by one granter of the fleet.
 *
 * One thread per granter. A group is listed again when its snapshot is
 * older than cache_ttl, and at once after this granter changed one of its
 * memberships (jitd_hooks.snapshot): a grant is let in by every gate
 * within seconds, not at the next cache_ttl. Granters take turns through
 * the ledger's claim (an advisory lock held by the database session), so
 * a group is listed by one of them at a time; the others find the
 * snapshot fresh when the claim comes free, and the claim of a granter
 * that dies mid-listing dies with its connection, so another one takes
 * over. An Okta failure writes nothing: the old snapshot stays and ages,
 * and the gates stop trusting it at outage_grace, as a cache of Okta's
 * answers is trusted today. A group Okta cannot give a member list for
 * (no such group, several of that name, too many members) is written with
 * that reason and no members: the gates refuse its checks at once. */
#include "snapshots.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "check.h"
#include "check_cache.h"
#include "util.h"

/* After an Okta or ledger failure, a group is tried again this long
 * after; a claim another granter holds is looked at again every second
 * (it ends when that granter's listing does, or when it dies). */
#define SNAP_RETRY_MS 5000
#define SNAP_BUSY_MS 1000
/* A snapshot dated further ahead of this host's clock than this is no
 * clock skew (a forged row, or a granter whose clock runs fast): it is
 * listed again at once, and never kept over a listing of ours. */
#define SNAP_AHEAD_MAX_S 5
/* A group that keeps failing is logged at most this often. */
#define SNAP_FAIL_LOG_S 60
/* The longest the thread sleeps: the configuration's cache_ttl, at most. */
#define SNAP_IDLE_MAX_MS (3600 * 1000)

struct snap_group {
	char name[LEDGER_GROUP_MAX + 1];
	/* Only a requesters group (the directory's, issue 18): like a flow's
	 * requesters it may be of any type (an APP_GROUP imported from AD),
	 * as long as one group bears the name; a gated group is the one
	 * OKTA_GROUP of that name, as a check resolves it. */
	int any_type;
	int forced;            /* this granter changed a membership: list again (the lock) */
	struct snapshot_head head; /* the ledger's, at the last read */
	int have_head;
	int64_t retry_at_ms;   /* monotonic: not before */
	int failures;          /* Okta or ledger failures in a row */
	int64_t fail_logged;   /* wall clock of the last failure logged */
	/* Another granter held the claim while this one was due, at this
	 * generation of the snapshot (-1: none yet): if the claim comes free
	 * and the generation has not moved, that granter never finished. */
	int busy_seen;
	int64_t busy_gen;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* CLOCK_MONOTONIC */
	pthread_t thread;
	int started;
	int quit;
	int kicked;
	struct snap_group *groups;
	size_t ngroups;
} snap = { .lock = PTHREAD_MUTEX_INITIALIZER };

static int quitting(const struct jitd *d)
{
	int q;

	pthread_mutex_lock(&snap.lock);
	q = snap.quit || d->stopping;
	pthread_mutex_unlock(&snap.lock);
	return q;
}

static struct snap_group *group_named(const char *name)
{
	size_t i;

	for (i = 0; i < snap.ngroups; i++)
		if (strcmp(snap.groups[i].name, name) == 0)
			return &snap.groups[i];
	return NULL;
}

/* Every group a gate may be asked about: each flow's groups and the
 * standing ones of [daemon] snapshot_groups and the flows' declared
 * standing groups (issue 20), once each; with [nss], also
 * each flow's requesters groups (the directory of users, issue 18). A
 * single host (gated = 0) asks Okta itself at each check: only the
 * directory's groups. */
static int groups_collect(const struct ojit_config *cfg, int gated)
{
	size_t i, j, n = cfg->nsnapshot_groups;

	for (i = 0; i < cfg->nflows; i++)
		n += cfg->flows[i].ngroups + cfg->flows[i].nrequesters + cfg->flows[i].nstanding_groups;
	snap.groups = calloc(n > 0 ? n : 1, sizeof(*snap.groups));
	if (snap.groups == NULL)
		return -1;
	snap.ngroups = 0;
	for (i = 0; i <= 3 * cfg->nflows; i++) {
		char *const *names;
		size_t nnames;

		if (i < cfg->nflows) {
			names = cfg->flows[i].groups;
			nnames = gated ? cfg->flows[i].ngroups : 0;
		} else if (i == cfg->nflows) {
			names = cfg->snapshot_groups;
			nnames = gated ? cfg->nsnapshot_groups : 0;
		} else if (i <= 2 * cfg->nflows) {
			names = cfg->flows[i - cfg->nflows - 1].requesters;
			nnames = cfg->nss_enabled ? cfg->flows[i - cfg->nflows - 1].nrequesters : 0;
		} else {
			/* a flow's declared standing groups (issue 20), of
			 * any type: the gates let their members in */
			names = cfg->flows[i - 2 * cfg->nflows - 1].standing_groups;
			nnames = gated ? cfg->flows[i - 2 * cfg->nflows - 1].nstanding_groups : 0;
		}
		for (j = 0; j < nnames; j++) {
			struct snap_group *g;

			if (group_named(names[j]) != NULL)
				continue;
			g = &snap.groups[snap.ngroups++];
			ojit_strlcpy(g->name, names[j], sizeof(g->name));
			g->any_type = i > cfg->nflows;
			g->busy_gen = -1;
		}
	}
	return 0;
}

/* ledger_snapshot_heads' callback: keep the heads of our groups. */
static int head_seen(const struct snapshot_head *h, void *ctx)
{
	struct snap_group *g = group_named(h->grp);

	(void)ctx;
	if (g != NULL) {
		g->head = *h;
		g->have_head = 1;
	}
	return 0;
}

static int heads_read(struct jitd *d)
{
	size_t i;

	for (i = 0; i < snap.ngroups; i++)
		snap.groups[i].have_head = 0;
	return ledger_snapshot_heads(d->ledger, head_seen, NULL) == LEDGER_OK ? 0 : -1;
}

/* The member text under construction (ledger_types.h: one member a line,
 * "OKTA_ID TAB STATUS TAB LOGIN LF"). */
struct members_text {
	struct ojit_buf buf;
	int64_t n;
	int bad;        /* a login that cannot be written as a line */
	char why[256];
};

/* The three fields of the directory (ledger_types.h), encoded. */
static int profile_add(struct members_text *m, const struct okta_profile *pr)
{
	size_t i;

	if (ojit_buf_append(&m->buf, "\t", 1) != 0 || ojit_pct_encode(&m->buf, pr->uid, strlen(pr->uid)) != 0 ||
	    ojit_buf_append(&m->buf, "\t", 1) != 0 || ojit_pct_encode(&m->buf, pr->gecos, strlen(pr->gecos)) != 0 ||
	    ojit_buf_append(&m->buf, "\t", 1) != 0)
		return -1;
	if (pr->keys_err[0] != '\0')
		return ojit_pct_encode(&m->buf, pr->keys_err, strlen(pr->keys_err));
	for (i = 0; i < pr->nkeys; i++)
		if ((i > 0 && ojit_buf_append(&m->buf, " ", 1) != 0) ||
		    ojit_pct_encode(&m->buf, pr->keys[i], pr->key_len[i]) != 0)
			return -1;
	return 0;
}

static int member_line(const struct okta_user *u, const struct okta_profile *pr, void *ctx)
{
	struct members_text *m = ctx;
	const unsigned char *p;

	/* A tab or a line break in a login would forge a member line for the
	 * gates: refuse the whole answer rather than write it. */
	for (p = (const unsigned char *)u->login; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f) {
			m->bad = 1;
			snprintf(m->why, sizeof(m->why), "Okta listed user %s with a control character in its login",
				 u->id);
			return -1;
		}
	if (ojit_buf_printf(&m->buf, "%s\t%s\t%s", u->id, u->status, u->login) != 0 ||
	    (pr != NULL && profile_add(m, pr) != 0) || ojit_buf_append(&m->buf, "\n", 1) != 0) {
		m->bad = 1;
		snprintf(m->why, sizeof(m->why), "the member list does not fit in %u bytes",
			 (unsigned)SNAPSHOT_MEMBERS_MAX);
		return -1;
	}
	m->n++;
	return 0;
}

static int member_add(const struct okta_user *u, void *ctx)
{
	return member_line(u, NULL, ctx);
}

/* Ask Okta for group g: 0 with h and m filled (state "ok" with the
 * members, or the reason why there is no member list), -1 when Okta did
 * not answer (why says what; nothing is to be written). */
static int snapshot_take(struct jitd *d, struct snap_group *g, int64_t began, struct snapshot_head *h,
			 struct members_text *m, char *why, size_t whylen)
{
	struct okta_error err;
	char gid[OKTA_ID_MAX + 1];
	int r;

	memset(h, 0, sizeof(*h));
	ojit_strlcpy(h->grp, g->name, sizeof(h->grp));
	ojit_strlcpy(h->host, ledger_host(), sizeof(h->host));
	h->taken_at = began;
	if (check_group_id(d, g->name, !g->any_type, 1, NULL, gid, sizeof(gid), &err) != 0) {
		if (err.kind == OKTA_ERR_NOT_FOUND && (strcmp(err.code, "group_deleted") == 0 ||
						       strcmp(err.code, "group_wrong_type") == 0)) {
			/* issue 20 item 3: kept behind "unknown group: " so that a
			 * gate of an older version still refuses */
			(void)ojit_snprintf(h->state, sizeof(h->state), "unknown group: %s: %s", err.code, err.summary);
			return 0;
		}
		if (err.kind == OKTA_ERR_NOT_FOUND) {
			snprintf(h->state, sizeof(h->state), "unknown group: Okta has no %s named '%s'",
				 g->any_type ? "group" : "OKTA_GROUP", g->name);
			return 0;
		}
		if (err.kind == OKTA_ERR_AMBIGUOUS) {
			(void)ojit_snprintf(h->state, sizeof(h->state), "ambiguous: %s", err.summary);
			return 0;
		}
		okta_error_format(&err, why, whylen);
		return -1;
	}
	if (d->cfg->nss_enabled) {
		struct okta_profile_attrs a = { d->cfg->nss_uid_attribute, d->cfg->nss_gecos_attribute,
						d->cfg->nss_keys_attribute };

		r = okta_group_members_profile_each(d->okta, gid, ROSTER_MAX_MEMBERS, &a, member_line, m, &err);
	} else {
		r = okta_group_members_each(d->okta, gid, ROSTER_MAX_MEMBERS, member_add, m, &err);
	}
	if (r != 0) {
		if (m->bad) {
			ojit_strlcpy(why, m->why, whylen);
			return -1;
		}
		/* refused by okta_group_members_each: more than the bound */
		if (err.kind == OKTA_ERR_REFUSED) {
			(void)ojit_snprintf(h->state, sizeof(h->state), "too large: %s (at most %d are listed)", err.summary,
				 ROSTER_MAX_MEMBERS);
			m->n = 0;
			m->buf.len = 0;
			return 0;
		}
		/* deleted since its id was found */
		if (err.kind == OKTA_ERR_NOT_FOUND) {
			snprintf(h->state, sizeof(h->state), "unknown group: Okta no longer has group %s ('%s')", gid,
				 g->name);
			m->n = 0;
			m->buf.len = 0;
			return 0;
		}
		okta_error_format(&err, why, whylen);
		return -1;
	}
	ojit_strlcpy(h->group_id, gid, sizeof(h->group_id));
	ojit_strlcpy(h->state, "ok", sizeof(h->state));
	h->nmembers = m->n;
	return 0;
}

/* A failed refresh of g: the old snapshot stays. Logged at the first
 * failure and then once a minute. */
static void refresh_failed(struct jitd *d, struct snap_group *g, int64_t now, const char *what, const char *why)
{
	char age[160];

	/* (at a stop the call under way is cut short: not Okta's failure) */
	if (quitting(d))
		return;
	g->failures++;
	if (g->failures > 1 && now - g->fail_logged < SNAP_FAIL_LOG_S)
		return;
	g->fail_logged = now;
	if (g->have_head)
		snprintf(age, sizeof(age), "the one taken %llds ago stays (the gates stop using it at %llds, outage_grace)",
			 (long long)(now - g->head.taken_at), (long long)d->cfg->outage_grace);
	else
		snprintf(age, sizeof(age), "there is none yet: the gates answer unavailable for this group");
	ojit_log(LOG_WARNING, "snapshot of group '%s' not refreshed (%s, attempt %d): %s; %s", g->name, what,
		 g->failures, why, age);
}

/* The claim of g is ours: list it and write it. */
static void refresh_claimed(struct jitd *d, struct snap_group *g, int forced, int64_t now)
{
	struct members_text m;
	struct snapshot_head h;
	char why[768], prev_state[SNAPSHOT_STATE_MAX + 1];
	int had = g->have_head;
	int64_t t0 = ojit_mono_ms();

	memset(&m, 0, sizeof(m));
	ojit_buf_init(&m.buf, SNAPSHOT_MEMBERS_MAX);
	ojit_strlcpy(prev_state, had ? g->head.state : "", sizeof(prev_state));
	if (g->busy_seen && (had ? g->head.gen : -1) == g->busy_gen &&
	    (!had || now - g->head.taken_at >= d->cfg->cache_ttl))
		ojit_log(LOG_WARNING,
			 "snapshot of group '%s': the refresh another granter began did not finish (it died, or Okta "
			 "or the ledger failed it); taking it over (the snapshot is %s, last written by %s)",
			 g->name, had ? "stale" : "missing", had ? g->head.host : "nobody");
	g->busy_seen = 0;
	g->busy_gen = -1;
	/* A change from now on asks for another listing: this one may have
	 * begun before it. */
	pthread_mutex_lock(&snap.lock);
	g->forced = 0;
	pthread_mutex_unlock(&snap.lock);
	if (snapshot_take(d, g, now, &h, &m, why, sizeof(why)) != 0) {
		refresh_failed(d, g, now, "Okta", why);
		goto retry;
	}
	/* The claim dies with a connection the ledger had to reset: another
	 * granter may have listed the group since, and its newer word stands. */
	if (heads_read(d) == 0 && g->have_head && g->head.taken_at > h.taken_at &&
	    g->head.taken_at <= ojit_now() + SNAP_AHEAD_MAX_S) {
		ojit_log(LOG_NOTICE, "snapshot of group '%s': a newer one (by %s) was written during this listing; "
			 "keeping it", g->name, g->head.host);
		goto out;
	}
	/* signed as stored: a gate uses only a snapshot a granter signed */
	if (fleet_sign_snapshot(&d->keys, &h, m.buf.data != NULL && m.n > 0 ? m.buf.data : "") != 0) {
		refresh_failed(d, g, now, "signature", "cannot sign the snapshot");
		goto retry;
	}
	if (ledger_snapshot_put(d->ledger, &h, m.buf.data != NULL && m.n > 0 ? m.buf.data : "") != LEDGER_OK) {
		refresh_failed(d, g, now, "ledger", ledger_last_error(d->ledger));
		goto retry;
	}
	if (g->failures > 0)
		ojit_log(LOG_NOTICE, "snapshot of group '%s' refreshed again after %d failed attempts", g->name,
			 g->failures);
	g->failures = 0;
	g->head = h;
	g->have_head = 1;
	jitd_snapshot_written(d, g->name);
	/* A gated group Okta stops listing (deleted, or a second group of
	 * its name: someone may be trying to pass one for the other) belongs
	 * in the audit trail, as does its return. */
	if (strcmp(h.state, "ok") != 0 && strcmp(h.state, prev_state) != 0) {
		ojit_log(LOG_WARNING, "snapshot of group '%s' has no member list: %s; every gate refuses its checks",
			 g->name, h.state);
		audit_event(d, "snapshot_state", 0, "okta-jitd", "", g->name, "state=%s", h.state);
	} else if (strcmp(h.state, "ok") == 0 && had && strcmp(prev_state, "ok") != 0) {
		ojit_log(LOG_NOTICE, "snapshot of group '%s' has a member list again", g->name);
		audit_event(d, "snapshot_state", 0, "okta-jitd", "", g->name, "state=%s group_id=%s", h.state,
			    h.group_id);
	}
	debug_f("snapshot group=%s gen=%lld members=%lld forced=%d took=%lldms", g->name, (long long)h.gen,
		(long long)h.nmembers, forced, (long long)(ojit_mono_ms() - t0));
	goto out;
retry:
	g->retry_at_ms = ojit_mono_ms() + SNAP_RETRY_MS;
	if (forced) {
		pthread_mutex_lock(&snap.lock);
		g->forced = 1;
		pthread_mutex_unlock(&snap.lock);
	}
out:
	ojit_buf_free(&m.buf);
}

/* Milliseconds from now until the wall clock second at (taken_at is in
 * whole seconds: waiting from a whole "now" would add up to a second to
 * every turn). */
static int64_t due_in_ms(int64_t at)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return at * 1000 - ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* Is g's snapshot younger than cache_ttl (and not dated ahead)? */
static int head_fresh(const struct jitd *d, const struct snap_group *g, int64_t now)
{
	return g->have_head && now - g->head.taken_at < d->cfg->cache_ttl &&
	       g->head.taken_at <= now + SNAP_AHEAD_MAX_S;
}

/* Look after group g: the milliseconds until it wants looking at again. */
static int64_t group_pass(struct jitd *d, struct snap_group *g)
{
	int64_t ttl = d->cfg->cache_ttl, now = ojit_now(), mono = ojit_mono_ms();
	int forced, r;

	if (mono < g->retry_at_ms)
		return g->retry_at_ms - mono;
	pthread_mutex_lock(&snap.lock);
	forced = g->forced;
	pthread_mutex_unlock(&snap.lock);
	if (!forced && head_fresh(d, g, now)) {
		g->busy_seen = 0;
		return due_in_ms(g->head.taken_at + ttl);
	}
	r = ledger_claim_snapshot(d->ledger, g->name);
	if (r < 0) {
		refresh_failed(d, g, now, "ledger claim", ledger_last_error(d->ledger));
		g->retry_at_ms = mono + SNAP_RETRY_MS;
		return SNAP_RETRY_MS;
	}
	if (r == 0) {
		/* another granter lists it now: it will be fresh (or, if that
		 * one dies, the claim comes free) */
		if (!g->busy_seen) {
			g->busy_seen = 1;
			g->busy_gen = g->have_head ? g->head.gen : -1;
		}
		g->retry_at_ms = mono + SNAP_BUSY_MS;
		return SNAP_BUSY_MS;
	}
	/* Ours. Another granter may have written it while we waited. */
	if (heads_read(d) != 0) {
		refresh_failed(d, g, now, "ledger", ledger_last_error(d->ledger));
		g->retry_at_ms = mono + SNAP_RETRY_MS;
		ledger_unclaim_snapshot(d->ledger, g->name);
		return SNAP_RETRY_MS;
	}
	now = ojit_now();
	if (!forced && head_fresh(d, g, now)) {
		g->busy_seen = 0;
		g->busy_gen = -1;
		ledger_unclaim_snapshot(d->ledger, g->name);
		return due_in_ms(g->head.taken_at + ttl);
	}
	refresh_claimed(d, g, forced, now);
	ledger_unclaim_snapshot(d->ledger, g->name);
	if (ojit_mono_ms() < g->retry_at_ms)
		return g->retry_at_ms - ojit_mono_ms();
	return due_in_ms(now + ttl);
}

/* Sleep up to ms, or until kicked or told to stop. */
static void snap_wait(int64_t ms)
{
	struct timespec ts;

	if (ms < 50)
		ms = 50;
	if (ms > SNAP_IDLE_MAX_MS)
		ms = SNAP_IDLE_MAX_MS;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&snap.lock);
	while (!snap.kicked && !snap.quit)
		if (pthread_cond_timedwait(&snap.cond, &snap.lock, &ts) == ETIMEDOUT)
			break;
	snap.kicked = 0;
	pthread_mutex_unlock(&snap.lock);
}

static void *snap_thread(void *p)
{
	struct jitd *d = p;
	int64_t heads_logged = 0;

	while (!quitting(d)) {
		int64_t wait_ms = d->cfg->cache_ttl * 1000;
		size_t i;

		if (heads_read(d) != 0) {
			int64_t now = ojit_now();

			if (now - heads_logged >= SNAP_FAIL_LOG_S) {
				heads_logged = now;
				ojit_log(LOG_WARNING, "snapshots not refreshed: cannot read them from the ledger: %s",
					 ledger_last_error(d->ledger));
			}
			snap_wait(SNAP_RETRY_MS);
			continue;
		}
		for (i = 0; i < snap.ngroups && !quitting(d); i++) {
			int64_t w = group_pass(d, &snap.groups[i]);

			if (w < wait_ms)
				wait_ms = w;
		}
		snap_wait(wait_ms);
	}
	return NULL;
}

int snapshots_start(struct jitd *d)
{
	pthread_condattr_t ca;
	int r = -1;

	/* Gates list nothing (they hold no Okta credential); a single host
	 * asks Okta itself at each check, as before, and lists only the
	 * directory's groups for [nss]. */
	if (d->cfg->role_gate || d->okta == NULL || (!d->ledger_shared && !d->cfg->nss_enabled))
		return 0;
	if (groups_collect(d->cfg, d->ledger_shared) != 0) {
		error_f("out of memory");
		return -1;
	}
	if (snap.ngroups == 0) {
		ojit_log(LOG_NOTICE, "no group to keep a snapshot of (no [flow] names one, nor [daemon] snapshot_groups)");
		r = 0;
		goto fail;
	}
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&snap.cond, &ca);
	pthread_condattr_destroy(&ca);
	snap.quit = 0;
	snap.kicked = 0;
	if (pthread_create(&snap.thread, NULL, snap_thread, d) != 0) {
		error_f("cannot start the snapshot refresher: %s", strerror(errno));
		pthread_cond_destroy(&snap.cond);
		goto fail;
	}
	pthread_mutex_lock(&snap.lock);
	snap.started = 1;
	pthread_mutex_unlock(&snap.lock);
	ojit_log(LOG_INFO, "keeping the snapshots of %zu group%s in the shared ledger, each listed every %llds",
		 snap.ngroups, snap.ngroups == 1 ? "" : "s", (long long)d->cfg->cache_ttl);
	return 0;
fail:
	free(snap.groups);
	snap.groups = NULL;
	snap.ngroups = 0;
	return r;
}

void snapshots_stop(struct jitd *d)
{
	int started;

	(void)d;
	pthread_mutex_lock(&snap.lock);
	started = snap.started;
	snap.quit = 1;
	if (started)
		pthread_cond_signal(&snap.cond);
	pthread_mutex_unlock(&snap.lock);
	if (!started)
		return;
	pthread_join(snap.thread, NULL);
	pthread_mutex_lock(&snap.lock);
	snap.started = 0;
	pthread_mutex_unlock(&snap.lock);
	pthread_cond_destroy(&snap.cond);
	free(snap.groups);
	snap.groups = NULL;
	snap.ngroups = 0;
}

void snapshots_member_changed(struct jitd *d, const char *group)
{
	struct snap_group *g;

	(void)d;
	pthread_mutex_lock(&snap.lock);
	if (snap.started && !snap.quit && (g = group_named(group)) != NULL) {
		g->forced = 1;
		snap.kicked = 1;
		pthread_cond_signal(&snap.cond);
	}
	pthread_mutex_unlock(&snap.lock);
}
