/* ledger_sqlite_snapshots.c - group snapshots (issue 17) in the SQLite
 * ledger. A single host asks Okta itself and keeps no snapshots; these
 * exist so that both backends hold the same schema and answer the same
 * calls (and so the ledger tests can compare them). Change notices are
 * PostgreSQL's: a host with its own ledger is its only writer. */
#include "ledger_sqlite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static void head_from_row(sqlite3_stmt *st, struct snapshot_head *h)
{
	memset(h, 0, sizeof(*h));
	ledger_sqlite_col_text(st, 0, h->grp, sizeof(h->grp));
	ledger_sqlite_col_text(st, 1, h->group_id, sizeof(h->group_id));
	h->taken_at = sqlite3_column_int64(st, 2);
	h->gen = sqlite3_column_int64(st, 3);
	h->nmembers = sqlite3_column_int64(st, 4);
	ledger_sqlite_col_text(st, 5, h->host, sizeof(h->host));
	ledger_sqlite_col_text(st, 6, h->state, sizeof(h->state));
	ledger_sqlite_col_text(st, 7, h->sig, sizeof(h->sig));
}

int ledger_sqlite_snapshot_put(void *b, struct snapshot_head *h, const char *members)
{
	struct sq *l = b;
	sqlite3_stmt *st = NULL;
	int r = LEDGER_ERR;

	pthread_mutex_lock(&l->lock);
	if (sqlite3_prepare_v2(l->db,
			       "INSERT INTO snapshots (grp, group_id, taken_at, gen, nmembers, host, state, members, sig)"
			       " VALUES (?1, ?2, ?3, 1, ?4, ?5, ?6, ?7, ?8)"
			       " ON CONFLICT (grp) DO UPDATE SET group_id = ?2, taken_at = ?3, gen = gen + 1,"
			       " nmembers = ?4, host = ?5, state = ?6, members = ?7, sig = ?8"
			       " RETURNING gen",
			       -1, &st, NULL) != SQLITE_OK) {
		ledger_sqlite_set_err(l, "snapshot");
		goto out;
	}
	sqlite3_bind_text(st, 1, h->grp, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, h->group_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, h->taken_at);
	sqlite3_bind_int64(st, 4, h->nmembers);
	sqlite3_bind_text(st, 5, h->host, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 6, h->state, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 7, members != NULL ? members : "", -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 8, h->sig, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) != SQLITE_ROW) {
		ledger_sqlite_set_err(l, "snapshot");
		goto out;
	}
	h->gen = sqlite3_column_int64(st, 0);
	r = LEDGER_OK;
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&l->lock);
	return r;
}

int ledger_sqlite_snapshot_heads(void *b, snapshot_cb cb, void *ctx)
{
	struct sq *l = b;
	sqlite3_stmt *st = NULL;
	struct snapshot_head *rows = NULL, *n;
	size_t count = 0, cap = 0, i;
	int rc, r = LEDGER_OK;

	pthread_mutex_lock(&l->lock);
	if (sqlite3_prepare_v2(l->db,
			       "SELECT grp, group_id, taken_at, gen, nmembers, host, state, sig FROM snapshots ORDER BY grp",
			       -1, &st, NULL) != SQLITE_OK) {
		ledger_sqlite_set_err(l, "snapshot list");
		pthread_mutex_unlock(&l->lock);
		return LEDGER_ERR;
	}
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
		head_from_row(st, &rows[count++]);
	}
	if (r == LEDGER_OK && rc != SQLITE_DONE) {
		ledger_sqlite_set_err(l, "snapshot list");
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

int ledger_sqlite_snapshot_get(void *b, const char *grp, struct snapshot_head *h, char **members)
{
	struct sq *l = b;
	sqlite3_stmt *st = NULL;
	int rc, r = LEDGER_ERR;

	*members = NULL;
	memset(h, 0, sizeof(*h));
	pthread_mutex_lock(&l->lock);
	if (sqlite3_prepare_v2(l->db,
			       "SELECT grp, group_id, taken_at, gen, nmembers, host, state, sig, members FROM snapshots"
			       " WHERE grp = ?1",
			       -1, &st, NULL) != SQLITE_OK) {
		ledger_sqlite_set_err(l, "snapshot");
		goto out;
	}
	sqlite3_bind_text(st, 1, grp, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		r = LEDGER_NOTFOUND;
	} else if (rc == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(st, 8);
		size_t len = (size_t)sqlite3_column_bytes(st, 8);

		head_from_row(st, h);
		if (len > SNAPSHOT_MEMBERS_MAX) {
			snprintf(l->last_error, sizeof(l->last_error),
				 "snapshot of group %s: member list of %zu bytes is over the limit", grp, len);
			goto out;
		}
		*members = malloc(len + 1);
		if (*members == NULL) {
			snprintf(l->last_error, sizeof(l->last_error), "snapshot: out of memory");
			goto out;
		}
		if (len > 0 && t != NULL)
			memcpy(*members, t, len);
		(*members)[len] = '\0';
		r = LEDGER_OK;
	} else {
		ledger_sqlite_set_err(l, "snapshot");
	}
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&l->lock);
	return r;
}

int ledger_sqlite_listen(void *b)
{
	struct sq *l = b;

	pthread_mutex_lock(&l->lock);
	snprintf(l->last_error, sizeof(l->last_error), "change notices need a shared (PostgreSQL) ledger");
	pthread_mutex_unlock(&l->lock);
	return LEDGER_ERR;
}

int ledger_sqlite_wait_changes(void *b, int timeout_ms, change_cb cb, void *ctx)
{
	(void)timeout_ms;
	(void)cb;
	(void)ctx;
	return ledger_sqlite_listen(b);
}
