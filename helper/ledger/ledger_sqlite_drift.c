/* ledger_sqlite_drift.c - drift rows (issue 20) in the SQLite ledger:
 * one row per flow group and Okta user found in the group with neither
 * a grant nor a standing place (daemon/drift.c decides; this file only
 * keeps the rows). */
#include "ledger_sqlite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static void row_from(sqlite3_stmt *st, struct drift_row *r)
{
	memset(r, 0, sizeof(*r));
	ledger_sqlite_col_text(st, 0, r->group_id, sizeof(r->group_id));
	ledger_sqlite_col_text(st, 1, r->okta_user_id, sizeof(r->okta_user_id));
	ledger_sqlite_col_text(st, 2, r->grp, sizeof(r->grp));
	ledger_sqlite_col_text(st, 3, r->login, sizeof(r->login));
	r->first_seen = sqlite3_column_int64(st, 4);
	r->last_seen = sqlite3_column_int64(st, 5);
	ledger_sqlite_col_text(st, 6, r->state, sizeof(r->state));
	r->attempts = (int)sqlite3_column_int64(st, 7);
	ledger_sqlite_col_text(st, 8, r->last_error, sizeof(r->last_error));
	ledger_sqlite_col_text(st, 9, r->host, sizeof(r->host));
}

int ledger_sqlite_drift_put(void *b, const struct drift_row *r)
{
	struct sq *l = b;
	sqlite3_stmt *st = NULL;
	int rc = LEDGER_ERR;

	pthread_mutex_lock(&l->lock);
	if (sqlite3_prepare_v2(l->db,
			       "INSERT INTO drift (group_id, okta_user_id, grp, login, first_seen, last_seen, state,"
			       " attempts, last_error, host) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
			       " ON CONFLICT (group_id, okta_user_id) DO UPDATE SET grp = ?3, login = ?4,"
			       " first_seen = ?5, last_seen = ?6, state = ?7, attempts = ?8, last_error = ?9, host = ?10",
			       -1, &st, NULL) != SQLITE_OK) {
		ledger_sqlite_set_err(l, "drift");
		goto out;
	}
	sqlite3_bind_text(st, 1, r->group_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, r->okta_user_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, r->grp, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, r->login, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 5, r->first_seen);
	sqlite3_bind_int64(st, 6, r->last_seen);
	sqlite3_bind_text(st, 7, r->state, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 8, r->attempts);
	sqlite3_bind_text(st, 9, r->last_error, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 10, r->host, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) != SQLITE_DONE) {
		ledger_sqlite_set_err(l, "drift");
		goto out;
	}
	rc = LEDGER_OK;
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&l->lock);
	return rc;
}

int ledger_sqlite_drift_list(void *b, const char *grp, drift_cb cb, void *ctx)
{
	struct sq *l = b;
	sqlite3_stmt *st = NULL;
	struct drift_row *rows = NULL, *n;
	size_t count = 0, cap = 0, i;
	int rc, r = LEDGER_OK;

	pthread_mutex_lock(&l->lock);
	if (sqlite3_prepare_v2(l->db,
			       "SELECT group_id, okta_user_id, grp, login, first_seen, last_seen, state, attempts,"
			       " last_error, host FROM drift WHERE ?1 IS NULL OR grp = ?1 ORDER BY grp, login",
			       -1, &st, NULL) != SQLITE_OK) {
		ledger_sqlite_set_err(l, "drift list");
		pthread_mutex_unlock(&l->lock);
		return LEDGER_ERR;
	}
	if (grp != NULL)
		sqlite3_bind_text(st, 1, grp, -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (count == cap) {
			cap = cap ? cap * 2 : 16;
			n = realloc(rows, cap * sizeof(*rows));
			if (n == NULL) {
				snprintf(l->last_error, sizeof(l->last_error), "drift list: out of memory");
				r = LEDGER_ERR;
				break;
			}
			rows = n;
		}
		row_from(st, &rows[count++]);
	}
	if (r == LEDGER_OK && rc != SQLITE_DONE) {
		ledger_sqlite_set_err(l, "drift list");
		r = LEDGER_ERR;
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&l->lock);
	/* the callbacks run without the lock: they may call the ledger */
	for (i = 0; r == LEDGER_OK && i < count; i++)
		if (cb(&rows[i], ctx) != 0)
			break;
	free(rows);
	return r;
}

int ledger_sqlite_drift_del(void *b, const char *group_id, const char *okta_user_id)
{
	struct sq *l = b;
	sqlite3_stmt *st = NULL;
	int rc = LEDGER_ERR;

	pthread_mutex_lock(&l->lock);
	if (sqlite3_prepare_v2(l->db, "DELETE FROM drift WHERE group_id = ?1 AND okta_user_id = ?2", -1, &st, NULL) !=
	    SQLITE_OK) {
		ledger_sqlite_set_err(l, "drift");
		goto out;
	}
	sqlite3_bind_text(st, 1, group_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, okta_user_id, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) != SQLITE_DONE) {
		ledger_sqlite_set_err(l, "drift");
		goto out;
	}
	rc = LEDGER_OK;
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&l->lock);
	return rc;
}
