/* ledger_sqlite_grants.c - the SQLite ledger's grant rows: the
 * single-row lookups on prepared statements kept for the login check, the
 * gate's active-grant read answered from memory while no grant has been
 * written, and the claims (one process owns a SQLite ledger). Split from
 * ledger_sqlite.c; ledger_sqlite.h holds what they share. */
#include "ledger_sqlite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define GRANT_COLS                                                                                   \
	"id, kind, COALESCE(parent_id,0), \"user\", okta_login, okta_user_id, grp, group_id, flow, "     \
	"requester, reason, approver, state, op, was_member, duration, requested_at, "               \
	"pending_expires_at, decided_at, start_at, end_at, updated_at, op_attempts, next_attempt_at, " \
	"last_error, add_unsure, sig"

static void row_to_grant(sqlite3_stmt *st, struct grant *g)
{
	memset(g, 0, sizeof(*g));
	g->id = sqlite3_column_int64(st, 0);
	ledger_sqlite_col_text(st, 1, g->kind, sizeof(g->kind));
	g->parent_id = sqlite3_column_int64(st, 2);
	ledger_sqlite_col_text(st, 3, g->user, sizeof(g->user));
	ledger_sqlite_col_text(st, 4, g->okta_login, sizeof(g->okta_login));
	ledger_sqlite_col_text(st, 5, g->okta_user_id, sizeof(g->okta_user_id));
	ledger_sqlite_col_text(st, 6, g->grp, sizeof(g->grp));
	ledger_sqlite_col_text(st, 7, g->group_id, sizeof(g->group_id));
	ledger_sqlite_col_text(st, 8, g->flow, sizeof(g->flow));
	ledger_sqlite_col_text(st, 9, g->requester, sizeof(g->requester));
	ledger_sqlite_col_text(st, 10, g->reason, sizeof(g->reason));
	ledger_sqlite_col_text(st, 11, g->approver, sizeof(g->approver));
	ledger_sqlite_col_text(st, 12, g->state, sizeof(g->state));
	ledger_sqlite_col_text(st, 13, g->op, sizeof(g->op));
	g->was_member = sqlite3_column_int(st, 14);
	g->duration = sqlite3_column_int64(st, 15);
	g->requested_at = sqlite3_column_int64(st, 16);
	g->pending_expires_at = sqlite3_column_int64(st, 17);
	g->decided_at = sqlite3_column_int64(st, 18);
	g->start_at = sqlite3_column_int64(st, 19);
	g->end_at = sqlite3_column_int64(st, 20);
	g->updated_at = sqlite3_column_int64(st, 21);
	g->op_attempts = sqlite3_column_int(st, 22);
	g->next_attempt_at = sqlite3_column_int64(st, 23);
	ledger_sqlite_col_text(st, 24, g->last_error, sizeof(g->last_error));
	g->add_unsure = sqlite3_column_int(st, 25);
	ledger_sqlite_col_text(st, 26, g->sig, sizeof(g->sig));
}

/* Bind the 25 writable columns in the order of the INSERT/UPDATE below. */
static void bind_grant(sqlite3_stmt *st, const struct grant *g)
{
	int i = 1;

	sqlite3_bind_text(st, i++, g->kind[0] ? g->kind : "grant", -1, SQLITE_TRANSIENT);
	if (g->parent_id > 0)
		sqlite3_bind_int64(st, i++, g->parent_id);
	else
		sqlite3_bind_null(st, i++);
	sqlite3_bind_text(st, i++, g->user, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, i++, g->okta_login, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, i++, g->okta_user_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, i++, g->grp, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, i++, g->group_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, i++, g->flow, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, i++, g->requester, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, i++, g->reason, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, i++, g->approver, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, i++, g->state, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, i++, g->op, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, i++, g->was_member);
	sqlite3_bind_int64(st, i++, g->duration);
	sqlite3_bind_int64(st, i++, g->requested_at);
	sqlite3_bind_int64(st, i++, g->pending_expires_at);
	sqlite3_bind_int64(st, i++, g->decided_at);
	sqlite3_bind_int64(st, i++, g->start_at);
	sqlite3_bind_int64(st, i++, g->end_at);
	/* the ledger's clock, but a signed row keeps its signer's (signed) */
	sqlite3_bind_int64(st, i++, g->sig[0] != '\0' ? g->updated_at : ojit_now());
	sqlite3_bind_int(st, i++, g->op_attempts);
	sqlite3_bind_int64(st, i++, g->next_attempt_at);
	sqlite3_bind_text(st, i++, g->last_error, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, i++, g->add_unsure);
	sqlite3_bind_text(st, i++, g->sig, -1, SQLITE_TRANSIENT);
}

int ledger_sqlite_grant_insert(void *b, struct grant *g)
{
	struct sq *l = b;
	static const char sql[] =
	    "INSERT INTO grants (kind, parent_id, \"user\", okta_login, okta_user_id, grp, group_id, flow,"
	    " requester, reason, approver, state, op, was_member, duration, requested_at,"
	    " pending_expires_at, decided_at, start_at, end_at, updated_at, op_attempts,"
	    " next_attempt_at, last_error, add_unsure, sig) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
	sqlite3_stmt *st = NULL;
	int r = LEDGER_ERR;

	pthread_mutex_lock(&l->lock);
	if (sqlite3_prepare_v2(l->db, sql, -1, &st, NULL) != SQLITE_OK) {
		ledger_sqlite_set_err(l, "insert grant");
		goto out;
	}
	bind_grant(st, g);
	if (sqlite3_step(st) != SQLITE_DONE) {
		ledger_sqlite_set_err(l, "insert grant");
		goto out;
	}
	g->id = sqlite3_last_insert_rowid(l->db);
	r = LEDGER_OK;
out:
	sqlite3_finalize(st);
	l->gen++; /* after the write, under the lock: see ledger_grant_active_end */
	pthread_mutex_unlock(&l->lock);
	return r;
}

/* A cached prepared statement for sql, or a fresh one (*cached 0) when the
 * cache is full. Called with l->lock held. */
static sqlite3_stmt *stmt_get(struct sq *l, const char *sql, int *cached)
{
	sqlite3_stmt *st = NULL;
	size_t i;

	*cached = 0;
	for (i = 0; i < STMT_CACHE && l->stmts[i].sql != NULL; i++)
		if (l->stmts[i].sql == sql) {
			*cached = 1;
			return l->stmts[i].st;
		}
	if (sqlite3_prepare_v3(l->db, sql, -1, i < STMT_CACHE ? SQLITE_PREPARE_PERSISTENT : 0, &st, NULL) !=
	    SQLITE_OK)
		return NULL;
	if (i < STMT_CACHE) {
		l->stmts[i].sql = sql;
		l->stmts[i].st = st;
		*cached = 1;
	}
	return st;
}

static void stmt_put(sqlite3_stmt *st, int cached)
{
	if (st == NULL)
		return;
	if (cached) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	} else {
		sqlite3_finalize(st);
	}
}

/* Run a one-row SELECT bound to (a, b, n) (a and b skipped when NULL) and
 * hand its row to fill(st, out). */
static int select_row(struct sq *l, const char *sql, void (*fill)(sqlite3_stmt *st, void *out), void *out,
		      const char *a, const char *b, int64_t n)
{
	sqlite3_stmt *st = NULL;
	int r = LEDGER_ERR, rc, i = 1, cached = 0;

	pthread_mutex_lock(&l->lock);
	if ((st = stmt_get(l, sql, &cached)) == NULL) {
		ledger_sqlite_set_err(l, "select grant");
		goto out;
	}
	if (a != NULL)
		sqlite3_bind_text(st, i++, a, -1, SQLITE_TRANSIENT);
	if (b != NULL)
		sqlite3_bind_text(st, i++, b, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, i++, n);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		fill(st, out);
		r = LEDGER_OK;
	} else if (rc == SQLITE_DONE) {
		r = LEDGER_NOTFOUND;
	} else {
		ledger_sqlite_set_err(l, "select grant");
	}
out:
	stmt_put(st, cached);
	pthread_mutex_unlock(&l->lock);
	return r;
}

static void fill_grant(sqlite3_stmt *st, void *out)
{
	row_to_grant(st, out);
}

static int select_one(struct sq *l, const char *sql, struct grant *g, const char *a, const char *b, int64_t n)
{
	return select_row(l, sql, fill_grant, g, a, b, n);
}

int ledger_sqlite_grant_get(void *b, int64_t id, struct grant *g)
{
	struct sq *l = b;
	return select_one(l, "SELECT " GRANT_COLS " FROM grants WHERE id = ?", g, NULL, NULL, id);
}

int ledger_sqlite_grant_active(void *b, const char *user, const char *grp, int64_t now,
			       struct grant *g)
{
	struct sq *l = b;
	return select_one(l,
			  "SELECT " GRANT_COLS " FROM grants WHERE \"user\" = ? AND grp = ? AND kind = 'grant'"
			  " AND state = 'active' AND op = '' AND end_at > ? ORDER BY end_at DESC, id DESC LIMIT 1",
			  g, user, grp, now);
}

static unsigned active_hash(const char *key)
{
	unsigned h = 2166136261u;

	while (*key)
		h = (h ^ (unsigned char)*key++) * 16777619u;
	return h % ACTIVE_BUCKETS;
}

static void fill_grant_end(sqlite3_stmt *st, void *out)
{
	struct grant_end *ge = out;

	ge->id = sqlite3_column_int64(st, 0);
	ge->end_at = sqlite3_column_int64(st, 1);
	ledger_sqlite_col_text(st, 2, ge->group_id, sizeof(ge->group_id));
}

/* The active row of user for group ending last, ended or not (its end
 * decides at each lookup), in the fewest columns: the gate's read. */
static int sq_grant_latest_active(struct sq *l, const char *user, const char *grp, struct grant_end *ge)
{
	memset(ge, 0, sizeof(*ge));
	return select_row(l,
			  "SELECT id, end_at, group_id FROM grants WHERE \"user\" = ? AND grp = ? AND kind = 'grant'"
			  " AND state = 'active' AND op = '' AND end_at > ? ORDER BY end_at DESC, id DESC LIMIT 1",
			  fill_grant_end, ge, user, grp, INT64_MIN);
}

int ledger_sqlite_grant_active_end(void *b, const char *user, const char *grp, int64_t now, struct grant_end *ge)
{
	struct sq *l = b;
	char key[LEDGER_USER_MAX + LEDGER_GROUP_MAX + 2];
	struct active_entry *e;
	struct grant_end got;
	uint64_t gen;
	unsigned h;
	int r;

	memset(ge, 0, sizeof(*ge));
	if (strlen(user) > LEDGER_USER_MAX || strlen(grp) > LEDGER_GROUP_MAX)
		return LEDGER_NOTFOUND;
	snprintf(key, sizeof(key), "%s\n%s", user, grp);
	h = active_hash(key);
	pthread_mutex_lock(&l->lock);
	for (e = l->active[h]; e != NULL; e = e->next)
		if (strcmp(e->key, key) == 0)
			break;
	if (e != NULL && e->gen == l->gen) {
		/* the row with the latest end: if it has ended, all have */
		r = e->found && e->ge.end_at > now ? LEDGER_OK : LEDGER_NOTFOUND;
		*ge = e->ge;
		pthread_mutex_unlock(&l->lock);
		return r;
	}
	gen = l->gen;
	pthread_mutex_unlock(&l->lock);

	r = sq_grant_latest_active(l, user, grp, &got);
	if (r != LEDGER_OK && r != LEDGER_NOTFOUND)
		return r;
	pthread_mutex_lock(&l->lock);
	for (e = l->active[h]; e != NULL; e = e->next)
		if (strcmp(e->key, key) == 0)
			break;
	if (e == NULL) {
		if (l->nactive >= ACTIVE_MAX)
			ledger_sqlite_active_clear(l);
		e = calloc(1, sizeof(*e));
		if (e != NULL) {
			memcpy(e->key, key, strlen(key) + 1);
			e->next = l->active[h];
			l->active[h] = e;
			l->nactive++;
		}
	}
	if (e != NULL) {
		/* read under gen: a grant written meanwhile makes it stale */
		e->gen = gen;
		e->found = r == LEDGER_OK;
		e->ge = got;
	}
	pthread_mutex_unlock(&l->lock);
	*ge = got;
	return r == LEDGER_OK && got.end_at > now ? LEDGER_OK : LEDGER_NOTFOUND;
}

int ledger_sqlite_grant_pending(void *b, const char *user, const char *grp, struct grant *g)
{
	struct sq *l = b;
	return select_one(l,
			  "SELECT " GRANT_COLS " FROM grants WHERE \"user\" = ? AND grp = ? AND kind = 'grant'"
			  " AND state IN ('pending','approved') AND id > ? ORDER BY id DESC LIMIT 1",
			  g, user, grp, 0);
}

int ledger_sqlite_grant_update(void *b, const struct grant *g, const char *expected_state)
{
	struct sq *l = b;
	static const char sql[] =
	    "UPDATE grants SET kind=?, parent_id=?, \"user\"=?, okta_login=?, okta_user_id=?, grp=?,"
	    " group_id=?, flow=?, requester=?, reason=?, approver=?, state=?, op=?, was_member=?,"
	    " duration=?, requested_at=?, pending_expires_at=?, decided_at=?, start_at=?, end_at=?,"
	    " updated_at=?, op_attempts=?, next_attempt_at=?, last_error=?, add_unsure=?, sig=?"
	    " WHERE id=? AND state=?";
	sqlite3_stmt *st = NULL;
	int r = LEDGER_ERR;

	pthread_mutex_lock(&l->lock);
	if (sqlite3_prepare_v2(l->db, sql, -1, &st, NULL) != SQLITE_OK) {
		ledger_sqlite_set_err(l, "update grant");
		goto out;
	}
	bind_grant(st, g);
	sqlite3_bind_int64(st, 27, g->id);
	sqlite3_bind_text(st, 28, expected_state, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) != SQLITE_DONE) {
		ledger_sqlite_set_err(l, "update grant");
		goto out;
	}
	r = sqlite3_changes(l->db) == 1 ? LEDGER_OK : LEDGER_CONFLICT;
out:
	sqlite3_finalize(st);
	l->gen++;
	pthread_mutex_unlock(&l->lock);
	return r;
}

/* Rows are collected first and handed to cb after the lock is released,
 * so a callback may call back into the ledger. */
static int collect(struct sq *l, sqlite3_stmt *st, grant_cb cb, void *ctx)
{
	struct grant *rows = NULL, *n;
	size_t count = 0, cap = 0, i;
	int rc, r = LEDGER_OK;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (count == cap) {
			cap = cap ? cap * 2 : 16;
			n = realloc(rows, cap * sizeof(*rows));
			if (n == NULL) {
				r = LEDGER_ERR;
				break;
			}
			rows = n;
		}
		row_to_grant(st, &rows[count++]);
	}
	if (r == LEDGER_OK && rc != SQLITE_DONE) {
		ledger_sqlite_set_err(l, "list grants");
		r = LEDGER_ERR;
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&l->lock);
	for (i = 0; r == LEDGER_OK && i < count; i++)
		if (cb(&rows[i], ctx) != 0)
			break;
	free(rows);
	return r;
}

int ledger_sqlite_grant_list(void *b, const char *user, const char *states, int64_t before_id, size_t limit,
			     grant_cb cb, void *ctx)
{
	struct sq *l = b;
	sqlite3_stmt *st = NULL;

	pthread_mutex_lock(&l->lock);
	if (sqlite3_prepare_v2(l->db,
			       "SELECT " GRANT_COLS " FROM grants WHERE (?1 IS NULL OR \"user\" = ?1)"
			       " AND (?2 IS NULL OR ?2 = '' OR instr(',' || ?2 || ',', ',' || state || ',') > 0)"
			       " AND (?4 = 0 OR id < ?4) ORDER BY id DESC LIMIT ?3",
			       -1, &st, NULL) != SQLITE_OK) {
		ledger_sqlite_set_err(l, "list grants");
		pthread_mutex_unlock(&l->lock);
		return LEDGER_ERR;
	}
	if (user != NULL)
		sqlite3_bind_text(st, 1, user, -1, SQLITE_TRANSIENT);
	if (states != NULL)
		sqlite3_bind_text(st, 2, states, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)limit);
	sqlite3_bind_int64(st, 4, before_id);
	return collect(l, st, cb, ctx);
}

int ledger_sqlite_grant_due(void *b, int64_t now, grant_cb cb, void *ctx)
{
	struct sq *l = b;
	sqlite3_stmt *st = NULL;

	pthread_mutex_lock(&l->lock);
	if (sqlite3_prepare_v2(l->db,
			       "SELECT " GRANT_COLS " FROM grants WHERE"
			       " (op != '' AND next_attempt_at <= ?1)"
			       " OR (state = 'active' AND op = '' AND end_at <= ?1)"
			       " OR (state = 'pending' AND pending_expires_at <= ?1)"
			       " ORDER BY id LIMIT 1000",
			       -1, &st, NULL) != SQLITE_OK) {
		ledger_sqlite_set_err(l, "due grants");
		pthread_mutex_unlock(&l->lock);
		return LEDGER_ERR;
	}
	sqlite3_bind_int64(st, 1, now);
	return collect(l, st, cb, ctx);
}

int64_t ledger_sqlite_next_due(void *b)
{
	struct sq *l = b;
	sqlite3_stmt *st = NULL;
	int64_t t = -1;

	pthread_mutex_lock(&l->lock);
	if (sqlite3_prepare_v2(l->db,
			       "SELECT MIN(t) FROM ("
			       " SELECT MIN(next_attempt_at) AS t FROM grants WHERE op != ''"
			       " UNION ALL SELECT MIN(end_at) FROM grants WHERE state = 'active' AND op = ''"
			       " UNION ALL SELECT MIN(pending_expires_at) FROM grants WHERE state = 'pending')",
			       -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		t = sqlite3_column_type(st, 0) != SQLITE_NULL ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	pthread_mutex_unlock(&l->lock);
	return t;
}

int ledger_sqlite_counts(void *b, int64_t ended_before, struct ledger_counts *c)
{
	struct sq *l = b;
	sqlite3_stmt *st = NULL;
	int r = LEDGER_ERR;

	pthread_mutex_lock(&l->lock);
	if (sqlite3_prepare_v2(l->db,
			       "SELECT (SELECT COUNT(*) FROM grants WHERE"
			       " ((op = 'remove' AND add_unsure <> 2) OR (state = 'active' AND op = '' AND was_member = 0))"
			       " AND (CASE WHEN end_at > 0 THEN end_at ELSE requested_at END) <= ?1),"
			       " (SELECT COUNT(*) FROM notifications WHERE sent_at = 0 AND dropped_at = 0)",
			       -1, &st, NULL) != SQLITE_OK) {
		ledger_sqlite_set_err(l, "counts");
		goto out;
	}
	sqlite3_bind_int64(st, 1, ended_before);
	if (sqlite3_step(st) != SQLITE_ROW) {
		ledger_sqlite_set_err(l, "counts");
		goto out;
	}
	c->removals_overdue = sqlite3_column_int64(st, 0);
	c->notify_backlog = sqlite3_column_int64(st, 1);
	r = LEDGER_OK;
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&l->lock);
	return r;
}

/* One process owns a SQLite ledger: every grant is ours to work on. */
int ledger_sqlite_claim(void *b, int64_t grant_id)
{
	(void)b;
	(void)grant_id;
	return 1;
}

void ledger_sqlite_unclaim(void *b, int64_t grant_id)
{
	(void)b;
	(void)grant_id;
}
