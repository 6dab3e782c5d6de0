/* ledger_sqlite.c - the ledger in SQLite: WAL, synchronous=FULL (a commit
 * survives power loss), a versioned schema with migrations. One connection
 * behind a mutex: ledger writes are small and rare next to checks.
 *
 * This file is the connection and the schema; the rows are in
 * ledger_sqlite_grants.c (grants, the gate's cached read, claims) and
 * ledger_sqlite_events.c (audit log, notification queue, sessions), which
 * share ledger_sqlite.h. */
#include "ledger_sqlite.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

#define SCHEMA_VERSION ledger_schema_count()

void ledger_sqlite_set_err(struct sq *l, const char *what)
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

void ledger_sqlite_active_clear(struct sq *l)
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
	ledger_sqlite_active_clear(l);
	if (l->db != NULL)
		sqlite3_close_v2(l->db);
	pthread_mutex_destroy(&l->lock);
	free(l);
}
void ledger_sqlite_col_text(sqlite3_stmt *st, int i, char *dst, size_t n)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	ojit_strlcpy(dst, t ? (const char *)t : "", n);
}
const struct ledger_ops ledger_sqlite_ops = {
	.name = "sqlite",
	.close = sq_close,
	.last_error = sq_last_error,
	.schema_version = sq_schema_version,
	.grant_insert = ledger_sqlite_grant_insert,
	.grant_get = ledger_sqlite_grant_get,
	.grant_update = ledger_sqlite_grant_update,
	.grant_active = ledger_sqlite_grant_active,
	.grant_active_end = ledger_sqlite_grant_active_end,
	.grant_pending = ledger_sqlite_grant_pending,
	.grant_list = ledger_sqlite_grant_list,
	.grant_due = ledger_sqlite_grant_due,
	.next_due = ledger_sqlite_next_due,
	.claim = ledger_sqlite_claim,
	.unclaim = ledger_sqlite_unclaim,
	.audit_add = ledger_sqlite_audit_add,
	.audit_list = ledger_sqlite_audit_list,
	.notify_add = ledger_sqlite_notify_add,
	.notify_due = ledger_sqlite_notify_due,
	.notify_update = ledger_sqlite_notify_update,
	.notify_exists = ledger_sqlite_notify_exists,
	.notify_prune = ledger_sqlite_notify_prune,
	.session_open = ledger_sqlite_session_open,
	.session_close = ledger_sqlite_session_close,
	.session_list_open = ledger_sqlite_session_list_open,
	.session_mark_warned = ledger_sqlite_session_mark_warned,
	.snapshot_put = ledger_sqlite_snapshot_put,
	.snapshot_heads = ledger_sqlite_snapshot_heads,
	.snapshot_get = ledger_sqlite_snapshot_get,
	.drift_put = ledger_sqlite_drift_put,
	.drift_list = ledger_sqlite_drift_list,
	.drift_del = ledger_sqlite_drift_del,
	.counts = ledger_sqlite_counts,
	.listen = ledger_sqlite_listen,
	.wait_changes = ledger_sqlite_wait_changes,
};
