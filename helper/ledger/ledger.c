/* ledger.c - picks the ledger backend from the [daemon] ledger setting and
 * forwards every call to it: SQLite on this host (the default) or a
 * PostgreSQL database shared by a fleet. */
#include "ledger.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ledger_backend.h"
#include "util.h"

struct ledger {
	const struct ledger_ops *ops;
	void *b;
	void (*on_grant_write)(void *, const char *, const char *);
	void *on_grant_write_ctx;
	void (*on_error)(void *, const char *);
	void *on_error_ctx;
};

void ledger_on_error(struct ledger *l, void (*fn)(void *, const char *), void *ctx)
{
	l->on_error = fn;
	l->on_error_ctx = ctx;
}

/* r as the backend returned it; a failure (LEDGER_ERR, LEDGER_NOMEM) is
 * told to the error listener first, by the area of the ledger it hit. */
static int noted(struct ledger *l, const char *area, int r)
{
	if (r < 0 && l->on_error != NULL)
		l->on_error(l->on_error_ctx, area);
	return r;
}

void ledger_on_grant_write(struct ledger *l, void (*fn)(void *, const char *, const char *), void *ctx)
{
	l->on_grant_write = fn;
	l->on_grant_write_ctx = ctx;
}

static void grant_written(struct ledger *l, const struct grant *g)
{
	if (l->on_grant_write != NULL)
		l->on_grant_write(l->on_grant_write_ctx, g->user, g->grp);
}

struct ledger *ledger_open(const char *spec, const char *password_file, char *err, size_t errlen)
{
	struct ledger *l;
	int kind = ledger_spec_kind(spec);

	if (kind < 0) {
		snprintf(err, errlen, "ledger must be sqlite:/path, an absolute path or a postgresql:// URI");
		return NULL;
	}
	l = calloc(1, sizeof(*l));
	if (l == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (kind == LEDGER_DIALECT_PG) {
		l->ops = &ledger_pg_ops;
		l->b = ledger_pg_open(spec, password_file, err, errlen);
	} else {
		l->ops = &ledger_sqlite_ops;
		l->b = ledger_sqlite_open(strncmp(spec, "sqlite:", 7) == 0 ? spec + 7 : spec, err, errlen);
	}
	if (l->b == NULL) {
		free(l);
		return NULL;
	}
	return l;
}

void ledger_close(struct ledger *l)
{
	if (l == NULL)
		return;
	l->ops->close(l->b);
	free(l);
}

const char *ledger_backend_name(struct ledger *l)
{
	return l->ops->name;
}

const char *ledger_last_error(struct ledger *l)
{
	return l->ops->last_error(l->b);
}

int ledger_schema_version(struct ledger *l)
{
	return l->ops->schema_version(l->b);
}

int ledger_grant_insert(struct ledger *l, struct grant *g)
{
	int r;

	grant_written(l, g);
	r = noted(l, "grant", l->ops->grant_insert(l->b, g));
	grant_written(l, g);
	return r;
}

int ledger_grant_get(struct ledger *l, int64_t id, struct grant *g)
{
	return noted(l, "grant", l->ops->grant_get(l->b, id, g));
}

int ledger_grant_update(struct ledger *l, const struct grant *g, const char *expected_state)
{
	int r;

	grant_written(l, g);
	r = noted(l, "grant", l->ops->grant_update(l->b, g, expected_state));
	grant_written(l, g);
	return r;
}

int ledger_grant_active(struct ledger *l, const char *user, const char *grp, int64_t now, struct grant *g)
{
	return noted(l, "grant", l->ops->grant_active(l->b, user, grp, now, g));
}

int ledger_grant_active_end(struct ledger *l, const char *user, const char *grp, int64_t now,
			    struct grant_end *ge)
{
	return noted(l, "grant", l->ops->grant_active_end(l->b, user, grp, now, ge));
}

int ledger_grant_pending(struct ledger *l, const char *user, const char *grp, struct grant *g)
{
	return noted(l, "grant", l->ops->grant_pending(l->b, user, grp, g));
}

int ledger_grant_list(struct ledger *l, const char *user, const char *states, size_t limit, grant_cb cb,
		      void *ctx)
{
	return noted(l, "grant", l->ops->grant_list(l->b, user, states, 0, limit, cb, ctx));
}

int ledger_grant_list_before(struct ledger *l, const char *user, const char *states, int64_t before_id,
			     size_t limit, grant_cb cb, void *ctx)
{
	return noted(l, "grant", l->ops->grant_list(l->b, user, states, before_id > 0 ? before_id : 0, limit, cb, ctx));
}

int ledger_grant_due(struct ledger *l, int64_t now, grant_cb cb, void *ctx)
{
	return noted(l, "grant", l->ops->grant_due(l->b, now, cb, ctx));
}

int64_t ledger_next_due(struct ledger *l)
{
	int64_t t = l->ops->next_due(l->b);

	if (t < 0)
		(void)noted(l, "grant", LEDGER_ERR);
	return t;
}

int ledger_claim(struct ledger *l, int64_t grant_id)
{
	return noted(l, "claim", l->ops->claim(l->b, grant_id));
}

void ledger_unclaim(struct ledger *l, int64_t grant_id)
{
	l->ops->unclaim(l->b, grant_id);
}

/* A membership's claim key: FNV-1a of "user NUL grp", kept apart from grant
 * ids (which are positive) by taking the negative half. Two pairs with one
 * key only wait on each other. */
static int64_t member_key(const char *user, const char *grp)
{
	uint64_t h = 14695981039346656037ULL;
	const unsigned char *s;

	for (s = (const unsigned char *)user; *s; s++)
		h = (h ^ *s) * 1099511628211ULL;
	h *= 1099511628211ULL; /* the NUL between the two */
	for (s = (const unsigned char *)grp; *s; s++)
		h = (h ^ *s) * 1099511628211ULL;
	return -(int64_t)(h >> 1) - 1;
}

int ledger_claim_member(struct ledger *l, const char *user, const char *grp)
{
	return noted(l, "claim", l->ops->claim(l->b, member_key(user, grp)));
}

void ledger_unclaim_member(struct ledger *l, const char *user, const char *grp)
{
	l->ops->unclaim(l->b, member_key(user, grp));
}

/* A snapshot's claim: the membership claim of a user no one is (names
 * are never empty), so it cannot meet a real membership's key. */
int ledger_claim_snapshot(struct ledger *l, const char *grp)
{
	return ledger_claim_member(l, "", grp);
}

void ledger_unclaim_snapshot(struct ledger *l, const char *grp)
{
	ledger_unclaim_member(l, "", grp);
}

int ledger_snapshot_put(struct ledger *l, struct snapshot_head *h, const char *members)
{
	return noted(l, "snapshot", l->ops->snapshot_put(l->b, h, members));
}

int ledger_snapshot_heads(struct ledger *l, snapshot_cb cb, void *ctx)
{
	return noted(l, "snapshot", l->ops->snapshot_heads(l->b, cb, ctx));
}

struct heads_all {
	struct snapshot_head *v;
	size_t n, cap;
	int nomem;
};

static int head_append(const struct snapshot_head *h, void *ctx)
{
	struct heads_all *hs = ctx;

	if (hs->n == hs->cap) {
		size_t cap = hs->cap ? hs->cap * 2 : 16;
		struct snapshot_head *v = realloc(hs->v, cap * sizeof(*v));

		if (v == NULL) {
			hs->nomem = 1;
			return 1;
		}
		hs->v = v;
		hs->cap = cap;
	}
	hs->v[hs->n++] = *h;
	return 0;
}

int ledger_snapshot_heads_all(struct ledger *l, struct snapshot_head **v, size_t *n)
{
	struct heads_all hs = { NULL, 0, 0, 0 };
	int r = ledger_snapshot_heads(l, head_append, &hs);

	if (r != LEDGER_OK || hs.nomem) {
		free(hs.v);
		hs.v = NULL;
		hs.n = 0;
		if (hs.nomem)
			r = LEDGER_NOMEM;
	}
	*v = hs.v;
	*n = hs.n;
	return r;
}

int ledger_snapshot_get(struct ledger *l, const char *grp, struct snapshot_head *h, char **members)
{
	return noted(l, "snapshot", l->ops->snapshot_get(l->b, grp, h, members));
}

int ledger_listen(struct ledger *l)
{
	return noted(l, "listen", l->ops->listen(l->b));
}

int ledger_wait_changes(struct ledger *l, int timeout_ms, change_cb cb, void *ctx)
{
	return noted(l, "listen", l->ops->wait_changes(l->b, timeout_ms, cb, ctx));
}

int ledger_audit_add(struct ledger *l, const char *event, int64_t grant_id, const char *actor, const char *user,
		     const char *grp, const char *detail)
{
	return noted(l, "audit", l->ops->audit_add(l->b, event, grant_id, actor, user, grp, detail));
}

int ledger_audit_list(struct ledger *l, int64_t since, const char *user, const char *grp, int64_t after_id,
		      size_t limit, audit_cb cb, void *ctx)
{
	return noted(l, "audit", l->ops->audit_list(l->b, since, user, grp, 0, after_id, limit, cb, ctx));
}

int ledger_audit_list_grant(struct ledger *l, int64_t grant_id, int64_t after_id, size_t limit, audit_cb cb,
			    void *ctx)
{
	if (grant_id <= 0)
		return LEDGER_ERR;
	return noted(l, "audit", l->ops->audit_list(l->b, 0, NULL, NULL, grant_id, after_id, limit, cb, ctx));
}

int ledger_notify_add(struct ledger *l, struct notification *n)
{
	return noted(l, "notify", l->ops->notify_add(l->b, n));
}

int ledger_notify_due(struct ledger *l, const char *target, int64_t after_id, int64_t now, size_t limit,
		      notify_cb cb, void *ctx)
{
	return noted(l, "notify", l->ops->notify_due(l->b, target, after_id, now, limit, cb, ctx));
}

int ledger_notify_update(struct ledger *l, const struct notification *n)
{
	return noted(l, "notify", l->ops->notify_update(l->b, n));
}

int ledger_notify_exists(struct ledger *l, const char *target, const char *event, int64_t grant_id)
{
	return noted(l, "notify", l->ops->notify_exists(l->b, target, event, grant_id));
}

int ledger_notify_prune(struct ledger *l, int64_t before)
{
	return noted(l, "notify", l->ops->notify_prune(l->b, before));
}

int ledger_session_open(struct ledger *l, struct ledger_session *s)
{
	return noted(l, "session", l->ops->session_open(l->b, s));
}

int ledger_session_close(struct ledger *l, int64_t id, int64_t now)
{
	return noted(l, "session", l->ops->session_close(l->b, id, now));
}

int ledger_session_list_open(struct ledger *l, int64_t grant_id, session_cb cb, void *ctx)
{
	return noted(l, "session", l->ops->session_list_open(l->b, grant_id, cb, ctx));
}

int ledger_session_mark_warned(struct ledger *l, int64_t id, int64_t now)
{
	return noted(l, "session", l->ops->session_mark_warned(l->b, id, now));
}

int ledger_counts(struct ledger *l, int64_t ended_before, struct ledger_counts *c)
{
	memset(c, 0, sizeof(*c));
	return noted(l, "grant", l->ops->counts(l->b, ended_before, c));
}

int ledger_drift_put(struct ledger *l, const struct drift_row *r)
{
	return noted(l, "drift", l->ops->drift_put(l->b, r));
}

int ledger_drift_list(struct ledger *l, const char *grp, drift_cb cb, void *ctx)
{
	return noted(l, "drift", l->ops->drift_list(l->b, grp, cb, ctx));
}

int ledger_drift_del(struct ledger *l, const char *group_id, const char *okta_user_id)
{
	return noted(l, "drift", l->ops->drift_del(l->b, group_id, okta_user_id));
}
