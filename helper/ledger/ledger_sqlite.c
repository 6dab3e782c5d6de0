/* ledger_sqlite.c - the ledger in SQLite: WAL, synchronous=FULL (a commit
 * survives power loss), a versioned schema with migrations. One connection
 * behind a mutex: ledger writes are small and rare next to checks. */
#include "ledger_backend.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

/* The single-row lookups run on every login check: their statements are
 * prepared once and reset after each use (under l->lock). */
#define STMT_CACHE 8

/* What ledger_grant_active_end last read for a user and group, valid while
 * no grant has been written since (gen). okta-jitd is the ledger's only
 * writer while it runs, and every grant write goes through this file. */
#define ACTIVE_BUCKETS 4096
#define ACTIVE_MAX 65536
struct active_entry {
	struct active_entry *next;
	uint64_t gen;
	int found;
	struct grant_end ge;
	char key[LEDGER_USER_MAX + LEDGER_GROUP_MAX + 2]; /* user "\n" group */
};

struct sq {
	sqlite3 *db;
	pthread_mutex_t lock;
	uint64_t gen; /* bumped by every grant write */
	struct active_entry *active[ACTIVE_BUCKETS];
	size_t nactive;
	char last_error[512];
	struct {
		const char *sql; /* a string literal: compared by address */
		sqlite3_stmt *st;
	} stmts[STMT_CACHE];
};

#define SCHEMA_VERSION ledger_schema_count()

static void set_err(struct sq *l, const char *what)
{
	snprintf(l->last_error, sizeof(l->last_error), "%s: %s", what, sqlite3_errmsg(l->db));
	error_f("ledger: %s", l->last_error);
}

static const char *sq_last_error(void *b)
{
	struct sq *l = b;
	return l->last_error;
}

static int exec(struct sq *l, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(l->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(l->last_error, sizeof(l->last_error), "%s", msg ? msg : "error");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int get_version(struct sq *l)
{
	sqlite3_stmt *st = NULL;
	int v = -1;

	if (sqlite3_prepare_v2(l->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int sq_schema_version(void *b)
{
	struct sq *l = b;
	int v;

	pthread_mutex_lock(&l->lock);
	v = get_version(l);
	pthread_mutex_unlock(&l->lock);
	return v;
}

static int migrate(struct sq *l, char *err, size_t errlen)
{
	int v = get_version(l);
	char sql[64];

	if (v < 0) {
		snprintf(err, errlen, "cannot read the schema version: %s", sqlite3_errmsg(l->db));
		return -1;
	}
	if (v > SCHEMA_VERSION) {
		snprintf(err, errlen, "ledger schema version %d is newer than this okta-jitd (%d); upgrade okta-jit",
			 v, SCHEMA_VERSION);
		return -1;
	}
	for (; v < SCHEMA_VERSION; v++) {
		char *m = ledger_schema_render(v, LEDGER_DIALECT_SQLITE);

		if (m == NULL) {
			snprintf(l->last_error, sizeof(l->last_error), "out of memory");
			goto fail;
		}
		if (exec(l, "BEGIN IMMEDIATE") != 0) {
			free(m);
			goto fail;
		}
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
		if (exec(l, m) != 0 || exec(l, sql) != 0) {
			free(m);
			exec(l, "ROLLBACK");
			goto fail;
		}
		free(m);
		if (exec(l, "COMMIT") != 0)
			goto fail;
	}
	return 0;
fail:
	snprintf(err, errlen, "schema migration to version %d failed: %s", v + 1, l->last_error);
	return -1;
}

static int quick_check(struct sq *l)
{
	sqlite3_stmt *st = NULL;
	int r = -1;

	if (sqlite3_prepare_v2(l->db, "PRAGMA quick_check", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(st, 0);

		if (t != NULL && strcmp((const char *)t, "ok") == 0)
			r = 0;
		else
			snprintf(l->last_error, sizeof(l->last_error), "%s", t ? (const char *)t : "error");
	} else {
		snprintf(l->last_error, sizeof(l->last_error), "%s", sqlite3_errmsg(l->db));
	}
	sqlite3_finalize(st);
	return r;
}

static void sq_close(void *b);

void *ledger_sqlite_open(const char *path, char *err, size_t errlen)
{
	struct sq *l = calloc(1, sizeof(*l));
	mode_t old;
	int rc;

	if (l == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&l->lock, NULL);
	/* The ledger names who held what: root alone reads it. */
	old = umask(077);
	rc = sqlite3_open_v2(path, &l->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX |
				 SQLITE_OPEN_NOFOLLOW,
			     NULL);
	umask(old);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "cannot open ledger %s: %s", path,
			 l->db ? sqlite3_errmsg(l->db) : "out of memory");
		sq_close(l);
		return NULL;
	}
	sqlite3_busy_timeout(l->db, 5000);
	sqlite3_extended_result_codes(l->db, 1);
	if (exec(l, "PRAGMA journal_mode=WAL") != 0 || exec(l, "PRAGMA synchronous=FULL") != 0 ||
	    exec(l, "PRAGMA foreign_keys=ON") != 0 || exec(l, "PRAGMA secure_delete=ON") != 0) {
		snprintf(err, errlen, "cannot set up ledger %s: %s", path, l->last_error);
		sq_close(l);
		return NULL;
	}
	if (migrate(l, err, errlen) != 0) {
		sq_close(l);
		return NULL;
	}
	/* Verify the file is sound before trusting it with grants. */
	if (quick_check(l) != 0) {
		snprintf(err, errlen, "ledger %s failed its integrity check: %s", path, l->last_error);
		sq_close(l);
		return NULL;
	}
	return l;
}

static void active_clear(struct sq *l)
{
	size_t i;

	for (i = 0; i < ACTIVE_BUCKETS; i++) {
		while (l->active[i] != NULL) {
			struct active_entry *e = l->active[i];

			l->active[i] = e->next;
			free(e);
		}
	}
	l->nactive = 0;
}

static void sq_close(void *b)
{
	struct sq *l = b;
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < STMT_CACHE; i++)
		sqlite3_finalize(l->stmts[i].st);
	active_clear(l);
	if (l->db != NULL)
		sqlite3_close_v2(l->db);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

#define GRANT_COLS                                                                                   \
	"id, kind, COALESCE(parent_id,0), \"user\", okta_login, okta_user_id, grp, group_id, flow, "     \
	"requester, reason, approver, state, op, was_member, duration, requested_at, "               \
	"pending_expires_at, decided_at, start_at, end_at, updated_at, op_attempts, next_attempt_at, " \
	"last_error, add_unsure"

static void col_text(sqlite3_stmt *st, int i, char *dst, size_t n)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	ojit_strlcpy(dst, t ? (const char *)t : "", n);
}

static void row_to_grant(sqlite3_stmt *st, struct grant *g)
{
	memset(g, 0, sizeof(*g));
	g->id = sqlite3_column_int64(st, 0);
	col_text(st, 1, g->kind, sizeof(g->kind));
	g->parent_id = sqlite3_column_int64(st, 2);
	col_text(st, 3, g->user, sizeof(g->user));
	col_text(st, 4, g->okta_login, sizeof(g->okta_login));
	col_text(st, 5, g->okta_user_id, sizeof(g->okta_user_id));
	col_text(st, 6, g->grp, sizeof(g->grp));
	col_text(st, 7, g->group_id, sizeof(g->group_id));
	col_text(st, 8, g->flow, sizeof(g->flow));
	col_text(st, 9, g->requester, sizeof(g->requester));
	col_text(st, 10, g->reason, sizeof(g->reason));
	col_text(st, 11, g->approver, sizeof(g->approver));
	col_text(st, 12, g->state, sizeof(g->state));
	col_text(st, 13, g->op, sizeof(g->op));
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
	col_text(st, 24, g->last_error, sizeof(g->last_error));
	g->add_unsure = sqlite3_column_int(st, 25);
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
	sqlite3_bind_int64(st, i++, ojit_now());
	sqlite3_bind_int(st, i++, g->op_attempts);
	sqlite3_bind_int64(st, i++, g->next_attempt_at);
	sqlite3_bind_text(st, i++, g->last_error, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, i++, g->add_unsure);
}

static int sq_grant_insert(void *b, struct grant *g)
{
	struct sq *l = b;
	static const char sql[] =
	    "INSERT INTO grants (kind, parent_id, \"user\", okta_login, okta_user_id, grp, group_id, flow,"
	    " requester, reason, approver, state, op, was_member, duration, requested_at,"
	    " pending_expires_at, decided_at, start_at, end_at, updated_at, op_attempts,"
	    " next_attempt_at, last_error, add_unsure) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
	sqlite3_stmt *st = NULL;
	int r = LEDGER_ERR;

	pthread_mutex_lock(&l->lock);
	if (sqlite3_prepare_v2(l->db, sql, -1, &st, NULL) != SQLITE_OK) {
		set_err(l, "insert grant");
		goto out;
	}
	bind_grant(st, g);
	if (sqlite3_step(st) != SQLITE_DONE) {
		set_err(l, "insert grant");
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
		set_err(l, "select grant");
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
		set_err(l, "select grant");
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

static int sq_grant_get(void *b, int64_t id, struct grant *g)
{
	struct sq *l = b;
	return select_one(l, "SELECT " GRANT_COLS " FROM grants WHERE id = ?", g, NULL, NULL, id);
}

static int sq_grant_active(void *b, const char *user, const char *grp, int64_t now,
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
	col_text(st, 2, ge->group_id, sizeof(ge->group_id));
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

static int sq_grant_active_end(void *b, const char *user, const char *grp, int64_t now, struct grant_end *ge)
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
			active_clear(l);
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

static int sq_grant_pending(void *b, const char *user, const char *grp, struct grant *g)
{
	struct sq *l = b;
	return select_one(l,
			  "SELECT " GRANT_COLS " FROM grants WHERE \"user\" = ? AND grp = ? AND kind = 'grant'"
			  " AND state IN ('pending','approved') AND id > ? ORDER BY id DESC LIMIT 1",
			  g, user, grp, 0);
}

static int sq_grant_update(void *b, const struct grant *g, const char *expected_state)
{
	struct sq *l = b;
	static const char sql[] =
	    "UPDATE grants SET kind=?, parent_id=?, \"user\"=?, okta_login=?, okta_user_id=?, grp=?,"
	    " group_id=?, flow=?, requester=?, reason=?, approver=?, state=?, op=?, was_member=?,"
	    " duration=?, requested_at=?, pending_expires_at=?, decided_at=?, start_at=?, end_at=?,"
	    " updated_at=?, op_attempts=?, next_attempt_at=?, last_error=?, add_unsure=? WHERE id=? AND state=?";
	sqlite3_stmt *st = NULL;
	int r = LEDGER_ERR;

	pthread_mutex_lock(&l->lock);
	if (sqlite3_prepare_v2(l->db, sql, -1, &st, NULL) != SQLITE_OK) {
		set_err(l, "update grant");
		goto out;
	}
	bind_grant(st, g);
	sqlite3_bind_int64(st, 26, g->id);
	sqlite3_bind_text(st, 27, expected_state, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) != SQLITE_DONE) {
		set_err(l, "update grant");
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
		set_err(l, "list grants");
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

static int sq_grant_list(void *b, const char *user, const char *states, size_t limit,
		      grant_cb cb, void *ctx)
{
	struct sq *l = b;
	sqlite3_stmt *st = NULL;

	pthread_mutex_lock(&l->lock);
	if (sqlite3_prepare_v2(l->db,
			       "SELECT " GRANT_COLS " FROM grants WHERE (?1 IS NULL OR \"user\" = ?1)"
			       " AND (?2 IS NULL OR ?2 = '' OR instr(',' || ?2 || ',', ',' || state || ',') > 0)"
			       " ORDER BY id DESC LIMIT ?3",
			       -1, &st, NULL) != SQLITE_OK) {
		set_err(l, "list grants");
		pthread_mutex_unlock(&l->lock);
		return LEDGER_ERR;
	}
	if (user != NULL)
		sqlite3_bind_text(st, 1, user, -1, SQLITE_TRANSIENT);
	if (states != NULL)
		sqlite3_bind_text(st, 2, states, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)limit);
	return collect(l, st, cb, ctx);
}

static int sq_grant_due(void *b, int64_t now, grant_cb cb, void *ctx)
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
		set_err(l, "due grants");
		pthread_mutex_unlock(&l->lock);
		return LEDGER_ERR;
	}
	sqlite3_bind_int64(st, 1, now);
	return collect(l, st, cb, ctx);
}

static int64_t sq_next_due(void *b)
{
	struct sq *l = b;
	sqlite3_stmt *st = NULL;
	int64_t t = 0;

	pthread_mutex_lock(&l->lock);
	if (sqlite3_prepare_v2(l->db,
			       "SELECT MIN(t) FROM ("
			       " SELECT MIN(next_attempt_at) AS t FROM grants WHERE op != ''"
			       " UNION ALL SELECT MIN(end_at) FROM grants WHERE state = 'active' AND op = ''"
			       " UNION ALL SELECT MIN(pending_expires_at) FROM grants WHERE state = 'pending')",
			       -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		t = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	pthread_mutex_unlock(&l->lock);
	return t;
}

static int sq_audit_add(void *b, const char *event, int64_t grant_id, const char *actor,
		     const char *user, const char *grp, const char *detail)
{
	struct sq *l = b;
	sqlite3_stmt *st = NULL;
	int r = LEDGER_ERR;

	pthread_mutex_lock(&l->lock);
	if (sqlite3_prepare_v2(l->db,
			       "INSERT INTO audit (at, event, grant_id, actor, \"user\", grp, detail)"
			       " VALUES (?,?,?,?,?,?,?)",
			       -1, &st, NULL) != SQLITE_OK) {
		set_err(l, "audit");
		goto out;
	}
	sqlite3_bind_int64(st, 1, ojit_now());
	sqlite3_bind_text(st, 2, event, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, grant_id);
	sqlite3_bind_text(st, 4, actor ? actor : "", -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 5, user ? user : "", -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 6, grp ? grp : "", -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 7, detail ? detail : "", -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) != SQLITE_DONE) {
		set_err(l, "audit");
		goto out;
	}
	r = LEDGER_OK;
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&l->lock);
	return r;
}

static int sq_audit_list(void *b, int64_t since, const char *user, const char *grp,
		      size_t limit, audit_cb cb, void *ctx)
{
	struct sq *l = b;
	sqlite3_stmt *st = NULL;
	struct audit_event *rows = NULL, *n;
	size_t count = 0, cap = 0, i;
	int rc, r = LEDGER_OK;

	pthread_mutex_lock(&l->lock);
	if (sqlite3_prepare_v2(l->db,
			       "SELECT id, at, event, grant_id, actor, \"user\", grp, detail FROM audit"
			       " WHERE at >= ?1 AND (?2 IS NULL OR \"user\" = ?2) AND (?3 IS NULL OR grp = ?3)"
			       " ORDER BY id DESC LIMIT ?4",
			       -1, &st, NULL) != SQLITE_OK) {
		set_err(l, "audit list");
		pthread_mutex_unlock(&l->lock);
		return LEDGER_ERR;
	}
	sqlite3_bind_int64(st, 1, since);
	if (user != NULL)
		sqlite3_bind_text(st, 2, user, -1, SQLITE_TRANSIENT);
	if (grp != NULL)
		sqlite3_bind_text(st, 3, grp, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct audit_event *e;

		if (count == cap) {
			cap = cap ? cap * 2 : 64;
			n = realloc(rows, cap * sizeof(*rows));
			if (n == NULL) {
				r = LEDGER_ERR;
				break;
			}
			rows = n;
		}
		e = &rows[count++];
		memset(e, 0, sizeof(*e));
		e->id = sqlite3_column_int64(st, 0);
		e->at = sqlite3_column_int64(st, 1);
		col_text(st, 2, e->event, sizeof(e->event));
		e->grant_id = sqlite3_column_int64(st, 3);
		col_text(st, 4, e->actor, sizeof(e->actor));
		col_text(st, 5, e->user, sizeof(e->user));
		col_text(st, 6, e->grp, sizeof(e->grp));
		col_text(st, 7, e->detail, sizeof(e->detail));
	}
	if (r == LEDGER_OK && rc != SQLITE_DONE) {
		set_err(l, "audit list");
		r = LEDGER_ERR;
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&l->lock);
	/* oldest first reads naturally as a trail */
	for (i = count; r == LEDGER_OK && i > 0; i--)
		if (cb(&rows[i - 1], ctx) != 0)
			break;
	free(rows);
	return r;
}

/* ---- the notification queue: not grant writes, l->gen stays ---------- */

#define NOTIFY_COLS \
	"id, target, event, grant_id, payload, created_at, next_attempt_at, attempts, last_error, sent_at, dropped_at"

static void row_to_notification(sqlite3_stmt *st, struct notification *n)
{
	memset(n, 0, sizeof(*n));
	n->id = sqlite3_column_int64(st, 0);
	col_text(st, 1, n->target, sizeof(n->target));
	col_text(st, 2, n->event, sizeof(n->event));
	n->grant_id = sqlite3_column_int64(st, 3);
	col_text(st, 4, n->payload, sizeof(n->payload));
	n->created_at = sqlite3_column_int64(st, 5);
	n->next_attempt_at = sqlite3_column_int64(st, 6);
	n->attempts = sqlite3_column_int(st, 7);
	col_text(st, 8, n->last_error, sizeof(n->last_error));
	n->sent_at = sqlite3_column_int64(st, 9);
	n->dropped_at = sqlite3_column_int64(st, 10);
}

static int sq_notify_add(void *b, struct notification *n)
{
	struct sq *l = b;
	sqlite3_stmt *st = NULL;
	int r = LEDGER_ERR;

	pthread_mutex_lock(&l->lock);
	if (sqlite3_prepare_v2(l->db,
			       "INSERT INTO notifications (target, event, grant_id, payload, created_at, next_attempt_at,"
			       " attempts, last_error, sent_at, dropped_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
			       -1, &st, NULL) != SQLITE_OK) {
		set_err(l, "queue notification");
		goto out;
	}
	sqlite3_bind_text(st, 1, n->target, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, n->event, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, n->grant_id);
	sqlite3_bind_text(st, 4, n->payload, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 5, n->created_at);
	sqlite3_bind_int64(st, 6, n->next_attempt_at);
	sqlite3_bind_int(st, 7, n->attempts);
	sqlite3_bind_text(st, 8, n->last_error, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 9, n->sent_at);
	sqlite3_bind_int64(st, 10, n->dropped_at);
	if (sqlite3_step(st) != SQLITE_DONE) {
		set_err(l, "queue notification");
		goto out;
	}
	n->id = sqlite3_last_insert_rowid(l->db);
	r = LEDGER_OK;
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&l->lock);
	return r;
}

static int sq_notify_due(void *b, const char *target, int64_t after_id, int64_t now, size_t limit, notify_cb cb,
			 void *ctx)
{
	struct sq *l = b;
	sqlite3_stmt *st = NULL;
	struct notification *rows = NULL, *m;
	size_t count = 0, cap = 0, i;
	int rc, r = LEDGER_OK;

	pthread_mutex_lock(&l->lock);
	if (sqlite3_prepare_v2(l->db,
			       "SELECT " NOTIFY_COLS " FROM notifications"
			       " WHERE sent_at = 0 AND dropped_at = 0 AND next_attempt_at <= ?1"
			       " AND (?2 IS NULL OR target = ?2) AND id > ?3 ORDER BY id LIMIT ?4",
			       -1, &st, NULL) != SQLITE_OK) {
		set_err(l, "due notifications");
		pthread_mutex_unlock(&l->lock);
		return LEDGER_ERR;
	}
	sqlite3_bind_int64(st, 1, now);
	if (target != NULL)
		sqlite3_bind_text(st, 2, target, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, 2);
	sqlite3_bind_int64(st, 3, after_id);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (count == cap) {
			cap = cap ? cap * 2 : 16;
			m = realloc(rows, cap * sizeof(*rows));
			if (m == NULL) {
				snprintf(l->last_error, sizeof(l->last_error), "due notifications: out of memory");
				r = LEDGER_ERR;
				break;
			}
			rows = m;
		}
		row_to_notification(st, &rows[count++]);
	}
	if (r == LEDGER_OK && rc != SQLITE_DONE) {
		set_err(l, "due notifications");
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

static int sq_notify_prune(void *b, int64_t before)
{
	struct sq *l = b;
	sqlite3_stmt *st = NULL;
	int r = LEDGER_ERR;

	pthread_mutex_lock(&l->lock);
	if (sqlite3_prepare_v2(l->db,
			       "DELETE FROM notifications WHERE (sent_at > 0 AND sent_at < ?1)"
			       " OR (dropped_at > 0 AND dropped_at < ?1)",
			       -1, &st, NULL) != SQLITE_OK) {
		set_err(l, "prune notifications");
		goto out;
	}
	sqlite3_bind_int64(st, 1, before);
	if (sqlite3_step(st) != SQLITE_DONE) {
		set_err(l, "prune notifications");
		goto out;
	}
	r = sqlite3_changes(l->db);
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&l->lock);
	return r;
}

static int sq_notify_update(void *b, const struct notification *n)
{
	struct sq *l = b;
	sqlite3_stmt *st = NULL;
	int r = LEDGER_ERR;

	pthread_mutex_lock(&l->lock);
	if (sqlite3_prepare_v2(l->db,
			       "UPDATE notifications SET attempts = ?, next_attempt_at = ?, last_error = ?,"
			       " sent_at = ?, dropped_at = ? WHERE id = ?",
			       -1, &st, NULL) != SQLITE_OK) {
		set_err(l, "update notification");
		goto out;
	}
	sqlite3_bind_int(st, 1, n->attempts);
	sqlite3_bind_int64(st, 2, n->next_attempt_at);
	sqlite3_bind_text(st, 3, n->last_error, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 4, n->sent_at);
	sqlite3_bind_int64(st, 5, n->dropped_at);
	sqlite3_bind_int64(st, 6, n->id);
	if (sqlite3_step(st) != SQLITE_DONE) {
		set_err(l, "update notification");
		goto out;
	}
	r = sqlite3_changes(l->db) == 1 ? LEDGER_OK : LEDGER_NOTFOUND;
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&l->lock);
	return r;
}

static int sq_notify_exists(void *b, const char *target, const char *event, int64_t grant_id)
{
	struct sq *l = b;
	sqlite3_stmt *st = NULL;
	int r = LEDGER_ERR, rc;

	pthread_mutex_lock(&l->lock);
	if (sqlite3_prepare_v2(l->db,
			       "SELECT 1 FROM notifications WHERE target = ? AND event = ? AND grant_id = ? LIMIT 1", -1,
			       &st, NULL) != SQLITE_OK) {
		set_err(l, "find notification");
		goto out;
	}
	sqlite3_bind_text(st, 1, target ? target : "", -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, event ? event : "", -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, grant_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		r = LEDGER_OK;
	else if (rc == SQLITE_DONE)
		r = LEDGER_NOTFOUND;
	else
		set_err(l, "find notification");
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&l->lock);
	return r;
}

static int sq_session_open(void *b, struct ledger_session *s)
{
	struct sq *l = b;
	sqlite3_stmt *st = NULL;
	int r = LEDGER_ERR;

	pthread_mutex_lock(&l->lock);
	if (sqlite3_prepare_v2(l->db,
			       "INSERT INTO sessions (grant_id, \"user\", pid, service, tty, opened_at, logind_id, pid_start,"
			       " host) VALUES (?,?,?,?,?,?,?,?,?)",
			       -1, &st, NULL) != SQLITE_OK) {
		set_err(l, "session open");
		goto out;
	}
	sqlite3_bind_int64(st, 1, s->grant_id);
	sqlite3_bind_text(st, 2, s->user, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, s->pid);
	sqlite3_bind_text(st, 4, s->service, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 5, s->tty, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 6, s->opened_at);
	sqlite3_bind_text(st, 7, s->logind_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 8, s->pid_start);
	sqlite3_bind_text(st, 9, ledger_host(), -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		set_err(l, "session open");
		goto out;
	}
	s->id = sqlite3_last_insert_rowid(l->db);
	r = LEDGER_OK;
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&l->lock);
	return r;
}

static int session_set(struct sq *l, const char *sql, int64_t id, int64_t now)
{
	sqlite3_stmt *st = NULL;
	int r = LEDGER_ERR;

	pthread_mutex_lock(&l->lock);
	if (sqlite3_prepare_v2(l->db, sql, -1, &st, NULL) != SQLITE_OK) {
		set_err(l, "session update");
		goto out;
	}
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, id);
	if (sqlite3_step(st) != SQLITE_DONE) {
		set_err(l, "session update");
		goto out;
	}
	r = sqlite3_changes(l->db) == 1 ? LEDGER_OK : LEDGER_NOTFOUND;
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&l->lock);
	return r;
}

static int sq_session_close(void *b, int64_t id, int64_t now)
{
	struct sq *l = b;
	return session_set(l, "UPDATE sessions SET closed_at = ? WHERE id = ? AND closed_at = 0", id, now);
}

static int sq_session_mark_warned(void *b, int64_t id, int64_t now)
{
	struct sq *l = b;
	return session_set(l, "UPDATE sessions SET warned_at = ? WHERE id = ?", id, now);
}

static int sq_session_list_open(void *b, int64_t grant_id, session_cb cb, void *ctx)
{
	struct sq *l = b;
	sqlite3_stmt *st = NULL;
	struct ledger_session *rows = NULL, *n;
	size_t count = 0, cap = 0, i;
	int rc, r = LEDGER_OK;

	pthread_mutex_lock(&l->lock);
	if (sqlite3_prepare_v2(l->db,
			       "SELECT id, grant_id, \"user\", pid, service, tty, opened_at, closed_at, warned_at,"
			       " logind_id, pid_start FROM sessions WHERE closed_at = 0 AND (?1 = 0 OR grant_id = ?1)"
			       " AND host = ?2 ORDER BY id",
			       -1, &st, NULL) != SQLITE_OK) {
		set_err(l, "session list");
		pthread_mutex_unlock(&l->lock);
		return LEDGER_ERR;
	}
	sqlite3_bind_int64(st, 1, grant_id);
	sqlite3_bind_text(st, 2, ledger_host(), -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct ledger_session *s;

		if (count == cap) {
			cap = cap ? cap * 2 : 16;
			n = realloc(rows, cap * sizeof(*rows));
			if (n == NULL) {
				r = LEDGER_ERR;
				break;
			}
			rows = n;
		}
		s = &rows[count++];
		memset(s, 0, sizeof(*s));
		s->id = sqlite3_column_int64(st, 0);
		s->grant_id = sqlite3_column_int64(st, 1);
		col_text(st, 2, s->user, sizeof(s->user));
		s->pid = sqlite3_column_int64(st, 3);
		col_text(st, 4, s->service, sizeof(s->service));
		col_text(st, 5, s->tty, sizeof(s->tty));
		s->opened_at = sqlite3_column_int64(st, 6);
		s->closed_at = sqlite3_column_int64(st, 7);
		s->warned_at = sqlite3_column_int64(st, 8);
		col_text(st, 9, s->logind_id, sizeof(s->logind_id));
		s->pid_start = sqlite3_column_int64(st, 10);
	}
	if (r == LEDGER_OK && rc != SQLITE_DONE) {
		set_err(l, "session list");
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

/* One process owns a SQLite ledger: every grant is ours to work on. */
static int sq_claim(void *b, int64_t grant_id)
{
	(void)b;
	(void)grant_id;
	return 1;
}

static void sq_unclaim(void *b, int64_t grant_id)
{
	(void)b;
	(void)grant_id;
}

const struct ledger_ops ledger_sqlite_ops = {
	.name = "sqlite",
	.close = sq_close,
	.last_error = sq_last_error,
	.schema_version = sq_schema_version,
	.grant_insert = sq_grant_insert,
	.grant_get = sq_grant_get,
	.grant_update = sq_grant_update,
	.grant_active = sq_grant_active,
	.grant_active_end = sq_grant_active_end,
	.grant_pending = sq_grant_pending,
	.grant_list = sq_grant_list,
	.grant_due = sq_grant_due,
	.next_due = sq_next_due,
	.claim = sq_claim,
	.unclaim = sq_unclaim,
	.audit_add = sq_audit_add,
	.audit_list = sq_audit_list,
	.notify_add = sq_notify_add,
	.notify_due = sq_notify_due,
	.notify_update = sq_notify_update,
	.notify_exists = sq_notify_exists,
	.notify_prune = sq_notify_prune,
	.session_open = sq_session_open,
	.session_close = sq_session_close,
	.session_list_open = sq_session_list_open,
	.session_mark_warned = sq_session_mark_warned,
};
