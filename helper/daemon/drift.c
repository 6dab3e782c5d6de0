/* drift.c - the Okta group holds exactly the grants (issue 20, item 1).
 *
 * Membership of a JIT group in Okta grants more than our servers: every
 * app assigned to that group follows it. So each sweep (every cache_ttl,
 * per group) a granter lists the members of each flow's groups in Okta and
 * compares them with the grants and the flow's declared standing members
 * (standing = group:NAME, user:LOGIN). A member with neither is drift:
 * audited and told (notify event "drift") once per episode, kept in the
 * ledger's drift table for `okta-jit drift`, and with drift = remove taken
 * out of the group.
 *
 * A removal follows the rules of a grant's own: under the same claims
 * (this daemon's member lock and, in a fleet, the ledger's claim on user
 * and group), after reading the ledger and Okta's membership again, so it
 * never takes out a member a grant holds, added a moment ago or still
 * owes its removal to (grants_owns_membership), nor a declared standing
 * member. One granter sweeps a group at a time (the ledger's claim on a
 * key no user has). Okta failures remove nothing: the Okta client retries
 * 429 and 5xx, and what still fails is tried again at the next sweep; a
 * removal Okta refuses stays in the table (state failed, attempts) and is
 * retried at every sweep until it succeeds or the member is gone. A
 * flow with standing = allow has every member standing: never swept. */
#include "drift.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>

#include "check.h"
#include "check_cache.h"
#include "grants.h"
#include "util.h"

/* The sweep's claim on a group: a user name no local user can have. */
#define DRIFT_CLAIM_USER "*drift*"
/* After an Okta or ledger failure a group is swept again this soon. */
#define DRIFT_RETRY_S 5
/* A grant that ended this long ago may still show in a listing taken
 * before its removal (at least; two cache_ttl when longer). */
#define DRIFT_RECENT_MIN_S 10
/* A failure is logged at most this often per group. */
#define DRIFT_FAIL_LOG_S 60
/* Rows of members removed stay this long for `okta-jit drift`. */
#define DRIFT_KEEP_REMOVED_S (7 * 86400)
#define DRIFT_IDLE_MAX_S 3600
/* A reported member's last_seen is written at most this often. */
#define DRIFT_SEEN_EVERY_S 300

struct dmember {
	char id[OKTA_ID_MAX + 1];
	char login[OKTA_LOGIN_MAX + 1];
};

struct dset {
	struct dmember *v;
	size_t n, cap;
	int nomem;
};

struct dgroup {
	const struct flow_config *f;
	const char *name;
	int64_t next_at;  /* wall clock: not before */
	int64_t fail_logged;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* CLOCK_MONOTONIC */
	pthread_t thread;
	int started, quit, kicked;
	struct dgroup *groups;
	size_t ngroups;
} dr = { .lock = PTHREAD_MUTEX_INITIALIZER };

static int quitting(const struct jitd *d)
{
	int q;

	pthread_mutex_lock(&dr.lock);
	q = dr.quit || d->stopping;
	pthread_mutex_unlock(&dr.lock);
	return q;
}

static int set_put(struct dset *s, const char *id, const char *login)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 32;
		struct dmember *v = realloc(s->v, cap * sizeof(*v));

		if (v == NULL) {
			s->nomem = 1;
			return -1;
		}
		s->v = v;
		s->cap = cap;
	}
	ojit_strlcpy(s->v[s->n].id, id, sizeof(s->v[s->n].id));
	ojit_strlcpy(s->v[s->n].login, login != NULL ? login : "", sizeof(s->v[s->n].login));
	s->n++;
	return 0;
}

static int set_has(const struct dset *s, const char *id)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->v[i].id, id) == 0)
			return 1;
	return 0;
}

static int member_cb(const struct okta_user *u, void *ctx)
{
	return set_put(ctx, u->id, u->login);
}

/* The grants of one group that own their membership now, by Okta user id
 * and by local name (a row written before ids were kept has no id). */
struct owned_ctx {
	const char *grp;
	int64_t now, recent;
	struct dset ids;   /* id = Okta user id */
	struct dset users; /* id = local user name */
};

static int owned_cb(const struct grant *g, void *p)
{
	struct owned_ctx *o = p;

	if (strcmp(g->grp, o->grp) != 0 || !grants_owns_membership(g, o->now, o->recent))
		return 0;
	if (g->okta_user_id[0] != '\0' && set_put(&o->ids, g->okta_user_id, NULL) != 0)
		return 1;
	if (set_put(&o->users, g->user, NULL) != 0)
		return 1;
	return 0;
}

/* Read the grants of grp that own a membership: 0, or -1 (ledger error,
 * or out of memory: nothing may be removed on a partial read). user:
 * only that local user's rows (NULL: all). */
static int owned_read(struct jitd *d, const char *grp, const char *user, struct owned_ctx *o)
{
	int64_t recent = 2 * d->cfg->cache_ttl;

	memset(o, 0, sizeof(*o));
	o->grp = grp;
	o->now = ojit_now();
	o->recent = recent > DRIFT_RECENT_MIN_S ? recent : DRIFT_RECENT_MIN_S;
	if (ledger_grant_list(d->ledger, user, "approved,active,expired,revoked,failed", 100000, owned_cb, o) !=
	    LEDGER_OK)
		return -1;
	return o->ids.nomem || o->users.nomem ? -1 : 0;
}

static void owned_free(struct owned_ctx *o)
{
	free(o->ids.v);
	free(o->users.v);
}

/* The local name login maps to under login_format, if it is one. */
static int local_name(const struct jitd *d, const char *login, char *out, size_t n)
{
	if (config_unmap_login(d->cfg, login, out, n) != 0 || !jitd_valid_username(out)) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}

static int owned_has(const struct owned_ctx *o, const char *uid, const char *local)
{
	return set_has(&o->ids, uid) || (local[0] != '\0' && set_has(&o->users, local));
}

/* Is m a declared standing member of f: by login (Okta logins compare
 * without case), or by membership of a standing group (in standing)? */
static int is_standing(const struct flow_config *f, const struct dset *standing, const struct dmember *m)
{
	size_t i;

	for (i = 0; i < f->nstanding_users; i++)
		if (strcasecmp(f->standing_users[i], m->login) == 0)
			return 1;
	return set_has(standing, m->id);
}

/* Members of every standing group of f: 0, or -1 when one cannot be read
 * (then nobody can be told from a standing member: the sweep stops). */
static int standing_read(struct jitd *d, const struct flow_config *f, struct dset *out, char *why, size_t n)
{
	struct okta_error e;
	char gid[OKTA_ID_MAX + 1];
	size_t i;

	for (i = 0; i < f->nstanding_groups; i++) {
		/* any type: an APP_GROUP imported from a directory may hold
		 * the standing admins, as long as one group bears the name */
		if (check_group_id(d, f->standing_groups[i], 0, 1, NULL, gid, sizeof(gid), &e) != 0 ||
		    okta_group_members_each(d->okta, gid, ROSTER_MAX_MEMBERS, member_cb, out, &e) != 0) {
			char msg[400];

			okta_error_format(&e, msg, sizeof(msg));
			(void)ojit_snprintf(why, n, "standing group '%s': %s", f->standing_groups[i], msg);
			return -1;
		}
	}
	return out->nomem ? -1 : 0;
}

struct rows_ctx {
	struct drift_row *v;
	size_t n, cap;
	int nomem;
};

static int rows_cb(const struct drift_row *r, void *p)
{
	struct rows_ctx *rc = p;

	if (rc->n == rc->cap) {
		size_t cap = rc->cap ? rc->cap * 2 : 16;
		struct drift_row *v = realloc(rc->v, cap * sizeof(*v));

		if (v == NULL) {
			rc->nomem = 1;
			return 1;
		}
		rc->v = v;
		rc->cap = cap;
	}
	rc->v[rc->n++] = *r;
	return 0;
}

static struct drift_row *row_of(struct rows_ctx *rc, const char *uid)
{
	size_t i;

	for (i = 0; i < rc->n; i++)
		if (strcmp(rc->v[i].okta_user_id, uid) == 0)
			return &rc->v[i];
	return NULL;
}

/* The row of uid in group grp as the ledger holds it now (a zeroed row
 * when there is none): 0, or -1 on a ledger error. */
static int drift_reread(struct jitd *d, const char *grp, const char *uid, struct drift_row *out)
{
	struct rows_ctx rc = { 0 };
	const struct drift_row *r;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (ledger_drift_list(d->ledger, grp, rows_cb, &rc) == LEDGER_OK && !rc.nomem) {
		r = row_of(&rc, uid);
		if (r != NULL)
			*out = *r;
		ret = 0;
	}
	free(rc.v);
	return ret;
}

static int pow2_or_small(int n)
{
	return n <= 3 || (n & (n - 1)) == 0;
}

/* The fields of r a sweep sets (first_seen when it has none). */
static void drift_row_fill(struct drift_row *r, const char *gid, const char *uid, const char *grp, const char *login,
			   int64_t now)
{
	ojit_strlcpy(r->group_id, gid, sizeof(r->group_id));
	ojit_strlcpy(r->okta_user_id, uid, sizeof(r->okta_user_id));
	ojit_strlcpy(r->grp, grp, sizeof(r->grp));
	ojit_strlcpy(r->login, login, sizeof(r->login));
	ojit_strlcpy(r->host, ledger_host(), sizeof(r->host));
	if (r->first_seen == 0 || strcmp(r->state, "removed") == 0) {
		r->first_seen = now;
		r->attempts = 0;
		r->last_error[0] = '\0';
	}
	r->last_seen = now;
}

/* The episode's one audit record (and so its one notification). */
static void drift_told(struct jitd *d, const struct flow_config *f, const char *grp, const char *who, const char *uid,
		       const char *login)
{
	ojit_log(LOG_WARNING, "drift: %s (Okta user %s) is a member of Okta group '%s' without a grant or a standing "
		 "place%s", login, uid, grp, f->drift_remove ? "; removing" : "");
	audit_event(d, "drift", 0, "okta-jitd", who, grp, "action=%s okta_user_id=%s login=%s flow=%s",
		    f->drift_remove ? "remove" : "report", uid, login, f->name);
}

/* One drift member m of group (name, gid) of flow f: confirmed under the
 * claims, recorded, audited once per episode, and with drift = remove
 * taken out. old: its row, or NULL. */
static void drift_member(struct jitd *d, const struct flow_config *f, const char *name, const char *gid,
			 const struct dmember *m, const struct drift_row *old)
{
	struct drift_row r, now_row;
	struct owned_ctx o;
	struct okta_error e;
	struct okta_group grp;
	char local[LEDGER_USER_MAX + 1], login[OKTA_LOGIN_MAX + 1];
	const char *key, *who;
	int64_t now = ojit_now();
	int fresh = old == NULL || strcmp(old->state, "removed") == 0;
	int yes = 0, t;

	ojit_strlcpy(login, m->login, sizeof(login));
	ojit_strip_controls(login);
	local_name(d, login, local, sizeof(local));
	/* the claim of a grant's add and removal of this membership; a login
	 * that maps to no local name can have no grant: its Okta id stands in */
	key = local[0] != '\0' ? local : m->id;
	who = local[0] != '\0' ? local : login;
	if (!f->drift_remove) {
		/* A report changes nothing in Okta: the listing, and the ledger
		 * read after it (a grant that ended since is still "recent"),
		 * are enough, and a large group of undeclared standing
		 * members costs no call per member. */
		if (fresh) {
			memset(&r, 0, sizeof(r));
			drift_row_fill(&r, gid, m->id, name, login, now);
			ojit_strlcpy(r.state, "reported", sizeof(r.state));
		} else {
			/* last seen to DRIFT_SEEN_EVERY_S: a large group of
			 * undeclared standing members must not cost a ledger
			 * write per member and sweep */
			if (now - old->last_seen < DRIFT_SEEN_EVERY_S && old->last_seen <= now &&
			    strcmp(old->login, login) == 0)
				return;
			r = *old;
			r.last_seen = now;
			ojit_strlcpy(r.login, login, sizeof(r.login));
		}
		if (ledger_drift_put(d->ledger, &r) != LEDGER_OK) {
			warn_f("drift of %s in '%s' not recorded: %s", who, name, ledger_last_error(d->ledger));
			return;
		}
		if (fresh)
			drift_told(d, f, name, who, m->id, login);
		return;
	}
	t = grants_member_take(d, key, name);
	if (t != 1)
		return; /* a grant's add or removal of it is under way: next sweep */
	/* Again, under the claim: the ledger (a grant made since the
	 * listing) and Okta (the member may be gone). */
	if (owned_read(d, name, local[0] != '\0' ? local : NULL, &o) != 0) {
		owned_free(&o);
		goto out;
	}
	if (owned_has(&o, m->id, local)) {
		owned_free(&o);
		if (old != NULL)
			ledger_drift_del(d->ledger, gid, m->id);
		goto out;
	}
	owned_free(&o);
	memset(&e, 0, sizeof(e));
	if (grants_user_in_group(d, m->id, gid, &yes, &e) != 0)
		goto out;
	if (!yes) {
		if (old != NULL && strcmp(old->state, "removed") != 0)
			ledger_drift_del(d->ledger, gid, m->id);
		goto out;
	}
	/* The row again, under the claim: a granter that swept the group
	 * meanwhile (a claim lost with its connection) may have told it. */
	if (drift_reread(d, name, m->id, &now_row) != 0)
		goto out;
	if (now_row.okta_user_id[0] != '\0') {
		old = &now_row;
		fresh = strcmp(old->state, "removed") == 0;
	} else {
		old = NULL;
		fresh = 1;
	}
	memset(&r, 0, sizeof(r));
	if (!fresh)
		r = *old;
	drift_row_fill(&r, gid, m->id, name, login, now);
	ojit_strlcpy(r.state, "removing", sizeof(r.state));
	/* Written before it is told or removed: a crash in between leaves a
	 * row the next sweep finds (and never tells twice). */
	if (ledger_drift_put(d->ledger, &r) != LEDGER_OK) {
		warn_f("drift of %s in '%s' not recorded: %s; nothing done until it is", who, name,
		       ledger_last_error(d->ledger));
		goto out;
	}
	if (fresh)
		drift_told(d, f, name, who, m->id, login);
	memset(&grp, 0, sizeof(grp));
	ojit_strlcpy(grp.id, gid, sizeof(grp.id));
	ojit_strlcpy(grp.name, name, sizeof(grp.name));
	ojit_strlcpy(grp.type, "OKTA_GROUP", sizeof(grp.type));
	memset(&e, 0, sizeof(e));
	if (okta_group_remove_member(d->okta, &grp, m->id, &e) == 0) {
		ojit_strlcpy(r.state, "removed", sizeof(r.state));
		r.last_error[0] = '\0';
		if (ledger_drift_put(d->ledger, &r) != LEDGER_OK)
			warn_f("drift of %s in '%s': removed, but not recorded: %s", who, name, ledger_last_error(d->ledger));
		grants_member_give(d, key, name);
		jitd_member_changed(d, who, login, name, gid, 0);
		audit_event(d, "drift_removed", 0, "okta-jitd", who, name,
			    "okta_user_id=%s login=%s attempts=%d okta_request_id=%s", m->id, login, r.attempts + 1,
			    e.request_id[0] != '\0' ? e.request_id : "none");
		return;
	}
	okta_error_format(&e, r.last_error, sizeof(r.last_error));
	ojit_strlcpy(r.state, "failed", sizeof(r.state));
	r.attempts++;
	if (ledger_drift_put(d->ledger, &r) != LEDGER_OK)
		warn_f("drift of %s in '%s': %s", who, name, ledger_last_error(d->ledger));
	/* the first failures and then every doubling, not every sweep */
	if (pow2_or_small(r.attempts)) {
		ojit_log(LOG_WARNING, "drift: Okta did not remove %s from '%s' (attempt %d, retried at the next sweep): %s",
			 login, name, r.attempts, r.last_error);
		audit_event(d, "drift_remove_failed", 0, "okta-jitd", who, name,
			    "okta_user_id=%s login=%s attempt=%d permanent=%d okta=%s okta_request_id=%s", m->id, login,
			    r.attempts, grants_okta_permanent(&e), r.last_error,
			    e.request_id[0] != '\0' ? e.request_id : "none");
	}
out:
	grants_member_give(d, key, name);
}

/* In a fleet the granters already list each gated group once per
 * cache_ttl for the gates' snapshots: the sweep reads that listing rather
 * than asking Okta again, when it is fresh (younger than two cache_ttl),
 * of this group id, and bears the signature this granter's key gives it
 * (Ed25519 signs the same bytes the same way; a row signed otherwise - a
 * forged one, or during a key rotation - is not used). 0 with *out
 * filled, -1 when there is no such snapshot. */
static int members_from_snapshot(struct jitd *d, const char *grp, const char *gid, struct dset *out)
{
	struct snapshot_head h, mine;
	struct snapshot_member sm;
	char *text = NULL, *line, *nl;
	int64_t now = ojit_now();
	int r = -1;

	if (ledger_snapshot_get(d->ledger, grp, &h, &text) != LEDGER_OK)
		goto out;
	if (strcmp(h.state, "ok") != 0 || strcmp(h.group_id, gid) != 0 || now - h.taken_at >= 2 * d->cfg->cache_ttl ||
	    h.taken_at > now + 5)
		goto out;
	mine = h;
	if (fleet_sign_snapshot(&d->keys, &mine, text) != 0 || strcmp(mine.sig, h.sig) != 0)
		goto out;
	for (line = text; line != NULL && *line != '\0'; line = nl) {
		nl = strchr(line, '\n');
		if (nl != NULL)
			*nl++ = '\0';
		if (snapshot_member_parse(line, &sm) != 0 || sm.id[0] == '\0' || strlen(sm.id) > OKTA_ID_MAX)
			goto out;
		if (set_put(out, sm.id, sm.login) != 0)
			goto out;
	}
	r = 0;
out:
	if (r != 0)
		out->n = 0;
	free(text);
	return r;
}

/* The members of group grp (Okta id gid): 0, or -1 with why. */
static int members_read(struct jitd *d, const char *grp, const char *gid, struct dset *out, char *why, size_t n)
{
	struct okta_error e;

	if (d->ledger_shared && members_from_snapshot(d, grp, gid, out) == 0)
		return 0;
	memset(&e, 0, sizeof(e));
	if (okta_group_members_each(d->okta, gid, ROSTER_MAX_MEMBERS, member_cb, out, &e) != 0 || out->nomem) {
		if (out->nomem)
			ojit_strlcpy(why, "out of memory", n);
		else
			okta_error_format(&e, why, n);
		return -1;
	}
	return 0;
}

static void pass_failed(struct jitd *d, struct dgroup *g, const char *what, const char *why)
{
	int64_t now = ojit_now();

	g->next_at = now + (d->cfg->cache_ttl < DRIFT_RETRY_S ? d->cfg->cache_ttl : DRIFT_RETRY_S);
	if (quitting(d) || now - g->fail_logged < DRIFT_FAIL_LOG_S)
		return;
	g->fail_logged = now;
	ojit_log(LOG_WARNING, "drift of Okta group '%s' not checked (%s): %s; nothing is removed until it is", g->name,
		 what, why);
}

/* One sweep of group g, under the sweep's claim. */
static void pass_claimed(struct jitd *d, struct dgroup *g)
{
	const struct flow_config *f = g->f;
	struct dset members = { 0 }, standing = { 0 };
	struct owned_ctx o;
	struct rows_ctx rows = { 0 };
	struct okta_error e;
	char gid[OKTA_ID_MAX + 1], why[512], msg[400];
	int64_t now;
	size_t i;

	memset(&o, 0, sizeof(o));
	memset(&e, 0, sizeof(e));
	if (check_group_id(d, g->name, 1, 1, NULL, gid, sizeof(gid), &e) != 0) {
		okta_error_format(&e, msg, sizeof(msg));
		pass_failed(d, g, "group", msg);
		goto out;
	}
	/* Okta first, the ledger after: a grant whose member the listing
	 * shows wrote its row before its add, so the read below sees it. */
	if (members_read(d, g->name, gid, &members, msg, sizeof(msg)) != 0) {
		pass_failed(d, g, "members", msg);
		goto out;
	}
	if (standing_read(d, f, &standing, why, sizeof(why)) != 0) {
		pass_failed(d, g, "standing", standing.nomem ? "out of memory" : why);
		goto out;
	}
	if (owned_read(d, g->name, NULL, &o) != 0 ||
	    ledger_drift_list(d->ledger, g->name, rows_cb, &rows) != LEDGER_OK || rows.nomem) {
		pass_failed(d, g, "ledger", rows.nomem ? "out of memory" : ledger_last_error(d->ledger));
		goto out;
	}
	for (i = 0; i < members.n && !quitting(d); i++) {
		const struct dmember *m = &members.v[i];
		char local[LEDGER_USER_MAX + 1];
		struct drift_row *old = row_of(&rows, m->id);

		local_name(d, m->login, local, sizeof(local));
		if (is_standing(f, &standing, m) || owned_has(&o, m->id, local)) {
			/* an episode ends when a grant or a standing place
			 * covers the member */
			if (old != NULL)
				ledger_drift_del(d->ledger, old->group_id, old->okta_user_id);
			continue;
		}
		drift_member(d, f, g->name, gid, m, old);
	}
	/* Rows of members no longer in the group: the episode is over (a
	 * removed one stays a while for `okta-jit drift`). */
	now = ojit_now();
	for (i = 0; i < rows.n && !quitting(d); i++) {
		const struct drift_row *r = &rows.v[i];

		if (set_has(&members, r->okta_user_id))
			continue;
		if (strcmp(r->state, "removed") == 0 && now - r->last_seen < DRIFT_KEEP_REMOVED_S)
			continue;
		ledger_drift_del(d->ledger, r->group_id, r->okta_user_id);
	}
	g->next_at = ojit_now() + d->cfg->cache_ttl;
out:
	free(members.v);
	free(standing.v);
	owned_free(&o);
	free(rows.v);
}

static void pass(struct jitd *d, struct dgroup *g)
{
	int c = ledger_claim_member(d->ledger, DRIFT_CLAIM_USER, g->name);

	if (c < 0) {
		pass_failed(d, g, "ledger claim", ledger_last_error(d->ledger));
		return;
	}
	if (c == 0) {
		/* another granter sweeps it now */
		g->next_at = ojit_now() + d->cfg->cache_ttl;
		return;
	}
	pass_claimed(d, g);
	ledger_unclaim_member(d->ledger, DRIFT_CLAIM_USER, g->name);
}

static void drift_wait(int64_t secs)
{
	struct timespec ts;

	if (secs < 1)
		secs = 1;
	if (secs > DRIFT_IDLE_MAX_S)
		secs = DRIFT_IDLE_MAX_S;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += secs;
	pthread_mutex_lock(&dr.lock);
	while (!dr.kicked && !dr.quit)
		if (pthread_cond_timedwait(&dr.cond, &dr.lock, &ts) == ETIMEDOUT)
			break;
	dr.kicked = 0;
	pthread_mutex_unlock(&dr.lock);
}

static void *drift_thread(void *p)
{
	struct jitd *d = p;

	while (!quitting(d)) {
		int64_t now = ojit_now(), wait = DRIFT_IDLE_MAX_S;
		size_t i;

		for (i = 0; i < dr.ngroups && !quitting(d); i++) {
			if (dr.groups[i].next_at <= now)
				pass(d, &dr.groups[i]);
			now = ojit_now();
			if (dr.groups[i].next_at - now < wait)
				wait = dr.groups[i].next_at - now;
		}
		drift_wait(wait);
	}
	return NULL;
}

int drift_start(struct jitd *d)
{
	pthread_condattr_t ca;
	size_t i, j, n = 0;

	/* a gate changes nothing in Okta and holds no credential */
	if (d->cfg->role_gate || d->okta == NULL)
		return 0;
	for (i = 0; i < d->cfg->nflows; i++)
		if (!d->cfg->flows[i].standing_allow)
			n += d->cfg->flows[i].ngroups;
	if (n == 0)
		return 0;
	dr.groups = calloc(n, sizeof(*dr.groups));
	if (dr.groups == NULL) {
		error_f("out of memory");
		return -1;
	}
	dr.ngroups = 0;
	for (i = 0; i < d->cfg->nflows; i++) {
		const struct flow_config *f = &d->cfg->flows[i];

		if (f->standing_allow)
			continue;
		for (j = 0; j < f->ngroups; j++) {
			dr.groups[dr.ngroups].f = f;
			dr.groups[dr.ngroups].name = f->groups[j];
			/* The first sweep a cache_ttl after the start: the
			 * start's own Okta work (recovery, the check cache,
			 * the first snapshots) goes first, and in a fleet the
			 * snapshot the sweep reads is written by then. */
			dr.groups[dr.ngroups].next_at = ojit_now() + d->cfg->cache_ttl;
			dr.ngroups++;
		}
	}
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&dr.cond, &ca);
	pthread_condattr_destroy(&ca);
	dr.quit = 0;
	dr.kicked = 0;
	if (pthread_create(&dr.thread, NULL, drift_thread, d) != 0) {
		error_f("cannot start the drift sweep: %s", strerror(errno));
		pthread_cond_destroy(&dr.cond);
		free(dr.groups);
		dr.groups = NULL;
		dr.ngroups = 0;
		return -1;
	}
	pthread_mutex_lock(&dr.lock);
	dr.started = 1;
	pthread_mutex_unlock(&dr.lock);
	ojit_log(LOG_INFO, "checking %zu Okta group%s for drift every %llds", dr.ngroups, dr.ngroups == 1 ? "" : "s",
		 (long long)d->cfg->cache_ttl);
	return 0;
}

void drift_stop(struct jitd *d)
{
	int started;

	(void)d;
	pthread_mutex_lock(&dr.lock);
	started = dr.started;
	dr.quit = 1;
	if (started)
		pthread_cond_signal(&dr.cond);
	pthread_mutex_unlock(&dr.lock);
	if (!started)
		return;
	pthread_join(dr.thread, NULL);
	pthread_mutex_lock(&dr.lock);
	dr.started = 0;
	pthread_mutex_unlock(&dr.lock);
	pthread_cond_destroy(&dr.cond);
	free(dr.groups);
	dr.groups = NULL;
	dr.ngroups = 0;
}
