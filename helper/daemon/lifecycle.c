/* lifecycle.c - what happens to a user or a group in Okta reaches the
 * grants (issue 20, items 2 and 3).
 *
 * A check already refuses a user Okta does not call ACTIVE, but the grant
 * stayed active, and with it the Okta membership, which every app assigned
 * to the group follows. So a granter's sweep reads, every cache_ttl, each
 * user with an active grant or a pending request by Okta id, and each
 * group such a grant is for:
 *   - a user whose status is in [daemon] revoke_on, or deleted (404): every
 *     active grant is revoked (actor okta, reason okta-user-STATUS or
 *     okta-user-deleted) and its membership removed through the normal
 *     claimed removal (the scheduler), the sessions opened under it are
 *     ended per the flow (sessions.c sees a grant that is over), and the
 *     pending requests are cancelled (revoked, nothing owed);
 *   - a user whose login changed: grants are by Okta id, so they stay; the
 *     rows' local name follows login_format (checks and lists look grants
 *     up by local name);
 *   - a group deleted (404 by id) or no longer an OKTA_GROUP: its grants
 *     end (reason okta-group-deleted, okta-group-type-TYPE), nothing is
 *     owed to Okta (the membership went with the group, or the API cannot
 *     change it), and its checks refuse with group_deleted /
 *     group_wrong_type at once (check_group_note_gone).
 * A renamed group needs nothing here: check_groups.c keeps its id.
 *
 * Every row is ended under this granter's claim on it and by
 * compare-and-set, as a revocation is; a row another granter works on
 * (an add in flight) is tried again a second later. In a fleet one granter
 * sweeps at a time (a ledger claim on a key no user or group has). */
#include "lifecycle.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "answers.h"
#include "check.h"
#include "grants.h"
#include "util.h"

/* the fleet's one sweeper: a membership claim no user and group can have
 * (group names never start with '@') */
#define LC_CLAIM_GROUP "@lifecycle"
#define LC_ROWS_MAX 100000
/* a row another granter held: looked at again this soon */
#define LC_BUSY_RETRY_MS 1000
/* Okta read failures are logged at most this often */
#define LC_FAIL_LOG_S 300

struct lc_row {
	int64_t id;
	char user[LEDGER_USER_MAX + 1];
	char okta_login[LEDGER_LOGIN_MAX + 1];
	char okta_user_id[OKTA_ID_MAX + 1];
	char grp[LEDGER_GROUP_MAX + 1];
	char group_id[OKTA_ID_MAX + 1];
};

struct lc_rows {
	struct lc_row *v;
	size_t n, cap;
	int nomem;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* CLOCK_MONOTONIC */
	pthread_t thread;
	int started;
	int quit;
	int64_t fail_logged;
} lc = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* What a sweep looks at: grants that hold or will hold a membership, and
 * requests not yet decided (an applied extension is part of its grant). */
static int live(const struct grant *g)
{
	if (strcmp(g->kind, "extend") == 0)
		return strcmp(g->state, GS_PENDING) == 0;
	return strcmp(g->kind, "grant") == 0 &&
	       (strcmp(g->state, GS_PENDING) == 0 || strcmp(g->state, GS_APPROVED) == 0 ||
		strcmp(g->state, GS_ACTIVE) == 0);
}

static int collect_cb(const struct grant *g, void *ctx)
{
	struct lc_rows *rs = ctx;
	struct lc_row *r;

	if (!live(g))
		return 0;
	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 64;
		struct lc_row *v = realloc(rs->v, cap * sizeof(*v));

		if (v == NULL) {
			rs->nomem = 1;
			return 1;
		}
		rs->v = v;
		rs->cap = cap;
	}
	r = &rs->v[rs->n++];
	memset(r, 0, sizeof(*r));
	r->id = g->id;
	ojit_strlcpy(r->user, g->user, sizeof(r->user));
	ojit_strlcpy(r->okta_login, g->okta_login, sizeof(r->okta_login));
	ojit_strlcpy(r->okta_user_id, g->okta_user_id, sizeof(r->okta_user_id));
	ojit_strlcpy(r->grp, g->grp, sizeof(r->grp));
	ojit_strlcpy(r->group_id, g->group_id, sizeof(r->group_id));
	return 0;
}

static int by_user(const void *a, const void *b)
{
	return strcmp(((const struct lc_row *)a)->okta_user_id, ((const struct lc_row *)b)->okta_user_id);
}

static int by_group(const void *a, const void *b)
{
	return strcmp(((const struct lc_row *)a)->group_id, ((const struct lc_row *)b)->group_id);
}

/* End grant id for reason: revoked by okta, its membership removed by the
 * scheduler unless the membership is not ours to remove (standing before
 * the grant) or not there to remove (group_gone). 0 done or nothing to do,
 * 1 another granter holds the row (again soon), -1 ledger error. */
static int end_one(struct jitd *d, int64_t id, const char *uid, const char *gid, const char *reason, int group_gone)
{
	struct grant g;
	char expected[16];
	int64_t now = ojit_now();
	int c, r = -1;

	c = ledger_claim(d->ledger, id);
	if (c != 1)
		return c == 0 ? 1 : -1;
	if (ledger_grant_get(d->ledger, id, &g) != LEDGER_OK)
		goto out;
	/* as it is now: decided, ended or changed since the sweep read it */
	r = 0;
	if (!live(&g) || (uid != NULL && strcmp(g.okta_user_id, uid) != 0) ||
	    (gid != NULL && strcmp(g.group_id, gid) != 0))
		goto out;
	ojit_strlcpy(expected, g.state, sizeof(expected));
	if (strcmp(g.state, GS_PENDING) == 0 || group_gone || g.was_member)
		ojit_strlcpy(g.op, OP_NONE, sizeof(g.op));
	else
		ojit_strlcpy(g.op, OP_REMOVE, sizeof(g.op));
	ojit_strlcpy(g.state, GS_REVOKED, sizeof(g.state));
	if (g.end_at > now || g.end_at == 0)
		g.end_at = now;
	g.next_attempt_at = now;
	g.op_attempts = 0;
	if (jitd_grant_update(d, &g, expected) != LEDGER_OK) {
		r = -1;
		goto out;
	}
	ledger_unclaim(d->ledger, id);
	audit_event(d, "revoked", g.id, "okta", g.user, g.grp, "was=%s reason=%s okta_membership=%s", expected, reason,
		    strcmp(g.op, OP_REMOVE) == 0 ? "removing"
		    : group_gone		  ? "gone-with-group"
		    : g.was_member		  ? "standing"
						  : "none");
	if (strcmp(g.op, OP_REMOVE) == 0)
		jitd_kick(d); /* the scheduler removes it now */
	return 0;
out:
	ledger_unclaim(d->ledger, id);
	return r;
}

/* The rows of user uid follow its new Okta login: local name by
 * login_format's reverse. A login that has no local name under the format
 * leaves the local name (nobody logs in as it now: it maps to a login Okta
 * no longer has) and records the login. */
static int follow_login(struct jitd *d, int64_t id, const char *uid, const char *login)
{
	struct grant g;
	char local[LEDGER_USER_MAX + 1], old_user[LEDGER_USER_MAX + 1], old_login[LEDGER_LOGIN_MAX + 1];
	int c, r = -1, mapped;

	if (strlen(login) > LEDGER_LOGIN_MAX)
		return 0;
	c = ledger_claim(d->ledger, id);
	if (c != 1)
		return c == 0 ? 1 : -1;
	if (ledger_grant_get(d->ledger, id, &g) != LEDGER_OK)
		goto out;
	r = 0;
	if (!live(&g) || strcmp(g.okta_user_id, uid) != 0 || strcmp(g.okta_login, login) == 0)
		goto out;
	if (!grants_row_signed_here(d, &g)) {
		struct ojit_log_fields f;

		jitd_grant_fields(&g, &f);
		f.v[OJIT_LK_ERROR_CODE] = "unsigned-row";
		warn_kv(&f, "grant %lld: not signed with this fleet's key; its local name is not changed (a database "
			"writer's row must not be signed through a login change)", (long long)g.id);
		goto out;
	}
	mapped = config_unmap_login(d->cfg, login, local, sizeof(local)) == 0 && jitd_valid_username(local);
	ojit_strlcpy(old_user, g.user, sizeof(old_user));
	ojit_strlcpy(old_login, g.okta_login, sizeof(old_login));
	if (mapped)
		ojit_strlcpy(g.user, local, sizeof(g.user));
	ojit_strlcpy(g.okta_login, login, sizeof(g.okta_login));
	if (jitd_grant_update(d, &g, g.state) != LEDGER_OK) {
		r = -1;
		goto out;
	}
	ledger_unclaim(d->ledger, id);
	/* The write voided the new name's answers on the PAM module's board
	 * (and told the NSS writer); the old name's allow must go too. */
	if (mapped && strcmp(old_user, g.user) != 0) {
		if (d->answers != NULL)
			answers_grant_written(d->answers, old_user, g.grp);
		jitd_grant_written(d, old_user, g.grp);
	}
	audit_event(d, "login_changed", g.id, "okta", g.user, g.grp,
		    "okta_user_id=%s old_login=%s login=%s old_user=%s mapped=%s", uid, old_login, login, old_user,
		    mapped ? "yes" : "no");
	if (!mapped) {
		struct ojit_log_fields f;

		jitd_grant_fields(&g, &f);
		f.v[OJIT_LK_ERROR_CODE] = "login-not-mapped";
		warn_kv(&f, "grant %lld: Okta user %s's login is '%s' now, which [users] login_format does not map to a "
			"local name; the grant keeps the local name '%s'", (long long)g.id, uid, login, old_user);
	}
	return 0;
out:
	ledger_unclaim(d->ledger, id);
	return r;
}

static void note_failure(const char *what, const char *id, const struct okta_error *e)
{
	char msg[512];
	int64_t now = ojit_now();

	if (now - lc.fail_logged < LC_FAIL_LOG_S)
		return;
	lc.fail_logged = now;
	struct ojit_log_fields f = { 0 };

	f.v[OJIT_LK_REQUEST_ID] = e->request_id;
	f.v[OJIT_LK_ERROR_CODE] = e->code;
	okta_error_format(e, msg, sizeof(msg));
	warn_kv(&f, "cannot read Okta %s %s (tried again every cache_ttl): %s", what, id, msg);
}

/* Each user of rows v[0..n) (sorted by Okta user id). Returns 1 when some
 * row was busy (sweep again soon). */
static int sweep_users(struct jitd *d, struct lc_row *v, size_t n)
{
	size_t i = 0, j;
	int busy = 0;

	qsort(v, n, sizeof(*v), by_user);
	while (i < n && !d->stopping) {
		struct okta_user u;
		struct okta_error e;
		char reason[64] = "";
		const char *uid = v[i].okta_user_id;

		for (j = i; j < n && strcmp(v[j].okta_user_id, uid) == 0; j++)
			;
		memset(&e, 0, sizeof(e));
		if (!okta_valid_id(uid)) {
			i = j;
			continue;
		}
		if (okta_user_get_by_id(d->okta, uid, &u, &e) != 0) {
			if (e.kind == OKTA_ERR_NOT_FOUND && e.status == 404)
				ojit_strlcpy(reason, "okta-user-deleted", sizeof(reason));
			else
				note_failure("user", uid, &e);
		} else if ((config_user_status_bit(u.status) & d->cfg->revoke_on) != 0) {
			(void)ojit_snprintf(reason, sizeof(reason), "okta-user-%s", u.status);
		}
		for (; i < j; i++) {
			int r = 0;

			if (reason[0] != '\0')
				r = end_one(d, v[i].id, uid, NULL, reason, 0);
			else if (e.kind == OKTA_OK && strcmp(u.login, v[i].okta_login) != 0)
				r = follow_login(d, v[i].id, uid, u.login);
			if (r > 0)
				busy = 1;
		}
	}
	return busy;
}

/* Each group of rows v[0..n) (sorted here by Okta group id). */
static int sweep_groups(struct jitd *d, struct lc_row *v, size_t n)
{
	size_t i = 0, j;
	int busy = 0;

	qsort(v, n, sizeof(*v), by_group);
	while (i < n && !d->stopping) {
		struct okta_group g;
		struct okta_error e;
		char reason[64] = "", code[32] = "", why[256] = "";
		const char *gid = v[i].group_id;

		for (j = i; j < n && strcmp(v[j].group_id, gid) == 0; j++)
			;
		memset(&e, 0, sizeof(e));
		if (!okta_valid_id(gid)) {
			i = j;
			continue;
		}
		if (okta_group_get(d->okta, gid, &g, &e) != 0) {
			if (e.kind == OKTA_ERR_NOT_FOUND && e.status == 404) {
				ojit_strlcpy(reason, "okta-group-deleted", sizeof(reason));
				ojit_strlcpy(code, "group_deleted", sizeof(code));
				(void)ojit_snprintf(why, sizeof(why), "Okta group '%s' (id %s) was deleted in Okta", v[i].grp,
						    gid);
			} else {
				note_failure("group", gid, &e);
			}
		} else if (strcmp(g.id, gid) == 0 && strcmp(g.type, "OKTA_GROUP") != 0) {
			(void)ojit_snprintf(reason, sizeof(reason), "okta-group-type-%s", g.type);
			ojit_strlcpy(code, "group_wrong_type", sizeof(code));
			(void)ojit_snprintf(why, sizeof(why), "Okta group '%s' (id %s) is of type %s now: okta-jit gates "
					    "and grants only OKTA_GROUPs", v[i].grp, gid, g.type);
		}
		if (reason[0] != '\0') {
			ojit_strip_controls(reason);
			ojit_strip_controls(why);
			ojit_log(LOG_ERR, "%s; its grants end and its checks are refused (see `okta-jit doctor`)", why);
		}
		for (; i < j; i++) {
			if (reason[0] == '\0')
				continue;
			check_group_note_gone(d, v[i].grp, gid, code, why);
			if (end_one(d, v[i].id, NULL, gid, reason, 1) > 0)
				busy = 1;
		}
	}
	return busy;
}

/* One sweep. Returns 1 when it should run again soon (a row was busy). */
static int sweep(struct jitd *d)
{
	struct lc_rows rs = { 0 };
	int c, busy = 0;

	c = ledger_claim_member(d->ledger, "", LC_CLAIM_GROUP);
	if (c != 1)
		return 0; /* another granter sweeps (or the ledger is away): next cache_ttl */
	if (ledger_grant_list(d->ledger, NULL, "pending,approved,active", LC_ROWS_MAX, collect_cb, &rs) != LEDGER_OK ||
	    rs.nomem) {
		warn_f("cannot read the grant ledger for the lifecycle sweep: %s",
		       rs.nomem ? "out of memory" : ledger_last_error(d->ledger));
		goto out;
	}
	if (rs.n == 0)
		goto out;
	busy |= sweep_users(d, rs.v, rs.n);
	busy |= sweep_groups(d, rs.v, rs.n);
out:
	ledger_unclaim_member(d->ledger, "", LC_CLAIM_GROUP);
	free(rs.v);
	return busy;
}

static void *lc_thread(void *p)
{
	struct jitd *d = p;

	for (;;) {
		struct timespec ts;
		int64_t wait_ms;
		int busy;

		pthread_mutex_lock(&lc.lock);
		if (lc.quit) {
			pthread_mutex_unlock(&lc.lock);
			break;
		}
		pthread_mutex_unlock(&lc.lock);
		busy = d->stopping ? 0 : sweep(d);
		wait_ms = busy ? LC_BUSY_RETRY_MS : d->cfg->cache_ttl * 1000;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += wait_ms / 1000;
		ts.tv_nsec += (wait_ms % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&lc.lock);
		while (!lc.quit)
			if (pthread_cond_timedwait(&lc.cond, &lc.lock, &ts) == ETIMEDOUT)
				break;
		pthread_mutex_unlock(&lc.lock);
	}
	return NULL;
}

int lifecycle_start(struct jitd *d)
{
	pthread_condattr_t ca;

	if (d->cfg->role_gate || d->okta == NULL)
		return 0; /* a gate changes nothing in Okta and holds no credential */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&lc.cond, &ca);
	pthread_condattr_destroy(&ca);
	lc.quit = 0;
	if (pthread_create(&lc.thread, NULL, lc_thread, d) != 0) {
		pthread_cond_destroy(&lc.cond);
		return -1;
	}
	lc.started = 1;
	return 0;
}

void lifecycle_stop(struct jitd *d)
{
	(void)d;
	if (!lc.started)
		return;
	pthread_mutex_lock(&lc.lock);
	lc.quit = 1;
	pthread_cond_broadcast(&lc.cond);
	pthread_mutex_unlock(&lc.lock);
	pthread_join(lc.thread, NULL);
	pthread_cond_destroy(&lc.cond);
	lc.started = 0;
}
