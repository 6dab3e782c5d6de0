/* ledger_sqlite_events.c - the SQLite ledger's audit log, notification
 * queue and sessions: not grant writes, so l->gen (the gate's cached read)
 * stays. Split from ledger_sqlite.c; ledger_sqlite.h holds what they
 * share. */
#include "ledger_sqlite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

int ledger_sqlite_audit_add(void *b, const char *event, int64_t grant_id, const char *actor,
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
		ledger_sqlite_set_err(l, "audit");
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
		ledger_sqlite_set_err(l, "audit");
		goto out;
	}
	r = LEDGER_OK;
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&l->lock);
	return r;
}

int ledger_sqlite_audit_list(void *b, int64_t since, const char *user, const char *grp, int64_t grant_id,
			     int64_t after_id, size_t limit, audit_cb cb, void *ctx)
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
			       " AND (?5 = 0 OR grant_id = ?5) AND id > ?6 ORDER BY id LIMIT ?4",
			       -1, &st, NULL) != SQLITE_OK) {
		ledger_sqlite_set_err(l, "audit list");
		pthread_mutex_unlock(&l->lock);
		return LEDGER_ERR;
	}
	sqlite3_bind_int64(st, 1, since);
	if (user != NULL)
		sqlite3_bind_text(st, 2, user, -1, SQLITE_TRANSIENT);
	if (grp != NULL)
		sqlite3_bind_text(st, 3, grp, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)limit);
	sqlite3_bind_int64(st, 5, grant_id);
	sqlite3_bind_int64(st, 6, after_id);
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
		ledger_sqlite_col_text(st, 2, e->event, sizeof(e->event));
		e->grant_id = sqlite3_column_int64(st, 3);
		ledger_sqlite_col_text(st, 4, e->actor, sizeof(e->actor));
		ledger_sqlite_col_text(st, 5, e->user, sizeof(e->user));
		ledger_sqlite_col_text(st, 6, e->grp, sizeof(e->grp));
		ledger_sqlite_col_text(st, 7, e->detail, sizeof(e->detail));
	}
	if (r == LEDGER_OK && rc != SQLITE_DONE) {
		ledger_sqlite_set_err(l, "audit list");
		r = LEDGER_ERR;
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&l->lock);
	/* the callback runs unlocked: it may read the ledger again */
	for (i = 0; r == LEDGER_OK && i < count; i++)
		if (cb(&rows[i], ctx) != 0)
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
	ledger_sqlite_col_text(st, 1, n->target, sizeof(n->target));
	ledger_sqlite_col_text(st, 2, n->event, sizeof(n->event));
	n->grant_id = sqlite3_column_int64(st, 3);
	ledger_sqlite_col_text(st, 4, n->payload, sizeof(n->payload));
	n->created_at = sqlite3_column_int64(st, 5);
	n->next_attempt_at = sqlite3_column_int64(st, 6);
	n->attempts = sqlite3_column_int(st, 7);
	ledger_sqlite_col_text(st, 8, n->last_error, sizeof(n->last_error));
	n->sent_at = sqlite3_column_int64(st, 9);
	n->dropped_at = sqlite3_column_int64(st, 10);
}

int ledger_sqlite_notify_add(void *b, struct notification *n)
{
	struct sq *l = b;
	sqlite3_stmt *st = NULL;
	int r = LEDGER_ERR;

	pthread_mutex_lock(&l->lock);
	if (sqlite3_prepare_v2(l->db,
			       "INSERT INTO notifications (target, event, grant_id, payload, created_at, next_attempt_at,"
			       " attempts, last_error, sent_at, dropped_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
			       -1, &st, NULL) != SQLITE_OK) {
		ledger_sqlite_set_err(l, "queue notification");
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
		ledger_sqlite_set_err(l, "queue notification");
		goto out;
	}
	n->id = sqlite3_last_insert_rowid(l->db);
	r = LEDGER_OK;
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&l->lock);
	return r;
}

int ledger_sqlite_notify_due(void *b, const char *target, int64_t after_id, int64_t now, size_t limit, notify_cb cb,
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
		ledger_sqlite_set_err(l, "due notifications");
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
		ledger_sqlite_set_err(l, "due notifications");
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

int ledger_sqlite_notify_prune(void *b, int64_t before)
{
	struct sq *l = b;
	sqlite3_stmt *st = NULL;
	int r = LEDGER_ERR;

	pthread_mutex_lock(&l->lock);
	if (sqlite3_prepare_v2(l->db,
			       "DELETE FROM notifications WHERE (sent_at > 0 AND sent_at < ?1)"
			       " OR (dropped_at > 0 AND dropped_at < ?1)",
			       -1, &st, NULL) != SQLITE_OK) {
		ledger_sqlite_set_err(l, "prune notifications");
		goto out;
	}
	sqlite3_bind_int64(st, 1, before);
	if (sqlite3_step(st) != SQLITE_DONE) {
		ledger_sqlite_set_err(l, "prune notifications");
		goto out;
	}
	r = sqlite3_changes(l->db);
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&l->lock);
	return r;
}

int ledger_sqlite_notify_update(void *b, const struct notification *n)
{
	struct sq *l = b;
	sqlite3_stmt *st = NULL;
	int r = LEDGER_ERR;

	pthread_mutex_lock(&l->lock);
	if (sqlite3_prepare_v2(l->db,
			       "UPDATE notifications SET attempts = ?, next_attempt_at = ?, last_error = ?,"
			       " sent_at = ?, dropped_at = ? WHERE id = ?",
			       -1, &st, NULL) != SQLITE_OK) {
		ledger_sqlite_set_err(l, "update notification");
		goto out;
	}
	sqlite3_bind_int(st, 1, n->attempts);
	sqlite3_bind_int64(st, 2, n->next_attempt_at);
	sqlite3_bind_text(st, 3, n->last_error, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 4, n->sent_at);
	sqlite3_bind_int64(st, 5, n->dropped_at);
	sqlite3_bind_int64(st, 6, n->id);
	if (sqlite3_step(st) != SQLITE_DONE) {
		ledger_sqlite_set_err(l, "update notification");
		goto out;
	}
	r = sqlite3_changes(l->db) == 1 ? LEDGER_OK : LEDGER_NOTFOUND;
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&l->lock);
	return r;
}

int ledger_sqlite_notify_exists(void *b, const char *target, const char *event, int64_t grant_id)
{
	struct sq *l = b;
	sqlite3_stmt *st = NULL;
	int r = LEDGER_ERR, rc;

	pthread_mutex_lock(&l->lock);
	if (sqlite3_prepare_v2(l->db,
			       "SELECT 1 FROM notifications WHERE target = ? AND event = ? AND grant_id = ? LIMIT 1", -1,
			       &st, NULL) != SQLITE_OK) {
		ledger_sqlite_set_err(l, "find notification");
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
		ledger_sqlite_set_err(l, "find notification");
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&l->lock);
	return r;
}

int ledger_sqlite_session_open(void *b, struct ledger_session *s)
{
	struct sq *l = b;
	sqlite3_stmt *st = NULL;
	int r = LEDGER_ERR;

	pthread_mutex_lock(&l->lock);
	if (sqlite3_prepare_v2(l->db,
			       "INSERT INTO sessions (grant_id, \"user\", pid, service, tty, opened_at, logind_id, pid_start,"
			       " host) VALUES (?,?,?,?,?,?,?,?,?)",
			       -1, &st, NULL) != SQLITE_OK) {
		ledger_sqlite_set_err(l, "session open");
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
		ledger_sqlite_set_err(l, "session open");
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
		ledger_sqlite_set_err(l, "session update");
		goto out;
	}
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, id);
	if (sqlite3_step(st) != SQLITE_DONE) {
		ledger_sqlite_set_err(l, "session update");
		goto out;
	}
	r = sqlite3_changes(l->db) == 1 ? LEDGER_OK : LEDGER_NOTFOUND;
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&l->lock);
	return r;
}

int ledger_sqlite_session_close(void *b, int64_t id, int64_t now)
{
	struct sq *l = b;
	return session_set(l, "UPDATE sessions SET closed_at = ? WHERE id = ? AND closed_at = 0", id, now);
}

int ledger_sqlite_session_mark_warned(void *b, int64_t id, int64_t now)
{
	struct sq *l = b;
	return session_set(l, "UPDATE sessions SET warned_at = ? WHERE id = ?", id, now);
}

int ledger_sqlite_session_list_open(void *b, int64_t grant_id, session_cb cb, void *ctx)
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
		ledger_sqlite_set_err(l, "session list");
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
		ledger_sqlite_col_text(st, 2, s->user, sizeof(s->user));
		s->pid = sqlite3_column_int64(st, 3);
		ledger_sqlite_col_text(st, 4, s->service, sizeof(s->service));
		ledger_sqlite_col_text(st, 5, s->tty, sizeof(s->tty));
		s->opened_at = sqlite3_column_int64(st, 6);
		s->closed_at = sqlite3_column_int64(st, 7);
		s->warned_at = sqlite3_column_int64(st, 8);
		ledger_sqlite_col_text(st, 9, s->logind_id, sizeof(s->logind_id));
		s->pid_start = sqlite3_column_int64(st, 10);
	}
	if (r == LEDGER_OK && rc != SQLITE_DONE) {
		ledger_sqlite_set_err(l, "session list");
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
