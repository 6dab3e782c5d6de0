/* ledger_pg_events.c - the PostgreSQL ledger's audit log, notification
 * queue and sessions (each host sees its own). Split from ledger_pg.c;
 * ledger_pg.h holds the connection and statement helpers they share. */
#include "ledger_pg.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* ---- audit ------------------------------------------------------------ */

int ledger_pg_audit_add(void *b, const char *event, int64_t grant_id, const char *actor, const char *user,
			const char *grp, const char *detail)
{
	struct pg_ledger *p = b;
	struct params pa = { 0 };
	PGresult *res;
	int r;

	ledger_pg_int(&pa, ojit_now());
	ledger_pg_text(&pa, event);
	ledger_pg_int(&pa, grant_id);
	ledger_pg_text(&pa, actor ? actor : "");
	ledger_pg_text(&pa, user ? user : "");
	ledger_pg_text(&pa, grp ? grp : "");
	ledger_pg_text(&pa, detail ? detail : "");
	pthread_mutex_lock(&p->lock);
	res = ledger_pg_run(p, "audit",
			    "INSERT INTO audit (at, event, grant_id, actor, \"user\", grp, detail)"
			    " VALUES ($1,$2,$3,$4,$5,$6,$7)",
			    &pa, PGRES_COMMAND_OK, 0);
	r = res != NULL ? LEDGER_OK : LEDGER_ERR;
	PQclear(res);
	pthread_mutex_unlock(&p->lock);
	return r;
}

int ledger_pg_audit_list(void *b, int64_t since, const char *user, const char *grp, int64_t grant_id,
			 int64_t after_id, size_t limit, audit_cb cb, void *ctx)
{
	struct pg_ledger *p = b;
	struct params pa = { 0 };
	struct audit_event e;
	PGresult *res;
	int i;

	ledger_pg_int(&pa, since);
	ledger_pg_text(&pa, user);
	ledger_pg_text(&pa, grp);
	ledger_pg_limit(&pa, limit);
	ledger_pg_int(&pa, grant_id);
	ledger_pg_int(&pa, after_id);
	pthread_mutex_lock(&p->lock);
	res = ledger_pg_run(p, "audit list",
			    "SELECT id, at, event, grant_id, actor, \"user\", grp, detail FROM audit"
			    " WHERE at >= $1::bigint AND ($2::text IS NULL OR \"user\" = $2::text)"
			    " AND ($3::text IS NULL OR grp = $3::text) AND ($5::bigint = 0 OR grant_id = $5::bigint)"
			    " AND id > $6::bigint ORDER BY id LIMIT $4::bigint",
			    &pa, PGRES_TUPLES_OK, 1);
	pthread_mutex_unlock(&p->lock);
	if (res == NULL)
		return LEDGER_ERR;
	for (i = 0; i < PQntuples(res); i++) {
		memset(&e, 0, sizeof(e));
		e.id = ledger_pg_val_i64(res, i, 0);
		e.at = ledger_pg_val_i64(res, i, 1);
		ledger_pg_val_text(res, i, 2, e.event, sizeof(e.event));
		e.grant_id = ledger_pg_val_i64(res, i, 3);
		ledger_pg_val_text(res, i, 4, e.actor, sizeof(e.actor));
		ledger_pg_val_text(res, i, 5, e.user, sizeof(e.user));
		ledger_pg_val_text(res, i, 6, e.grp, sizeof(e.grp));
		ledger_pg_val_text(res, i, 7, e.detail, sizeof(e.detail));
		if (cb(&e, ctx) != 0)
			break;
	}
	PQclear(res);
	return LEDGER_OK;
}

/* ---- the notification queue ------------------------------------------- */

#define NOTIFY_COLS \
	"id, target, event, grant_id, payload, created_at, next_attempt_at, attempts, last_error, sent_at, dropped_at"

static void row_to_notification(const PGresult *res, int row, struct notification *n)
{
	memset(n, 0, sizeof(*n));
	n->id = ledger_pg_val_i64(res, row, 0);
	ledger_pg_val_text(res, row, 1, n->target, sizeof(n->target));
	ledger_pg_val_text(res, row, 2, n->event, sizeof(n->event));
	n->grant_id = ledger_pg_val_i64(res, row, 3);
	ledger_pg_val_text(res, row, 4, n->payload, sizeof(n->payload));
	n->created_at = ledger_pg_val_i64(res, row, 5);
	n->next_attempt_at = ledger_pg_val_i64(res, row, 6);
	n->attempts = (int)ledger_pg_val_i64(res, row, 7);
	ledger_pg_val_text(res, row, 8, n->last_error, sizeof(n->last_error));
	n->sent_at = ledger_pg_val_i64(res, row, 9);
	n->dropped_at = ledger_pg_val_i64(res, row, 10);
}

int ledger_pg_notify_add(void *b, struct notification *n)
{
	struct pg_ledger *p = b;
	struct params pa = { 0 };
	PGresult *res;
	int r = LEDGER_ERR;

	ledger_pg_text(&pa, n->target);
	ledger_pg_text(&pa, n->event);
	ledger_pg_int(&pa, n->grant_id);
	ledger_pg_text(&pa, n->payload);
	ledger_pg_int(&pa, n->created_at);
	ledger_pg_int(&pa, n->next_attempt_at);
	ledger_pg_int(&pa, n->attempts);
	ledger_pg_text(&pa, n->last_error);
	ledger_pg_int(&pa, n->sent_at);
	ledger_pg_int(&pa, n->dropped_at);
	pthread_mutex_lock(&p->lock);
	res = ledger_pg_run(p, "queue notification",
			    "INSERT INTO notifications (target, event, grant_id, payload, created_at, next_attempt_at,"
			    " attempts, last_error, sent_at, dropped_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) RETURNING id",
			    &pa, PGRES_TUPLES_OK, 0);
	if (res != NULL && PQntuples(res) == 1) {
		n->id = ledger_pg_val_i64(res, 0, 0);
		r = LEDGER_OK;
	}
	PQclear(res);
	pthread_mutex_unlock(&p->lock);
	return r;
}

int ledger_pg_notify_due(void *b, const char *target, int64_t after_id, int64_t now, size_t limit, notify_cb cb,
			 void *ctx)
{
	struct pg_ledger *p = b;
	struct params pa = { 0 };
	struct notification *n;
	PGresult *res;
	int i, count;

	ledger_pg_int(&pa, now);
	ledger_pg_limit(&pa, limit);
	ledger_pg_text(&pa, target);
	ledger_pg_int(&pa, after_id);
	pthread_mutex_lock(&p->lock);
	res = ledger_pg_run(p, "due notifications",
			    "SELECT " NOTIFY_COLS " FROM notifications WHERE sent_at = 0 AND dropped_at = 0"
			    " AND next_attempt_at <= $1::bigint AND ($3::text IS NULL OR target = $3::text)"
			    " AND id > $4::bigint ORDER BY id LIMIT $2::bigint",
			    &pa, PGRES_TUPLES_OK, 1);
	pthread_mutex_unlock(&p->lock);
	if (res == NULL)
		return LEDGER_ERR;
	/* a notification is over 8 KiB: not on the stack of a callback's caller */
	n = malloc(sizeof(*n));
	if (n == NULL) {
		PQclear(res);
		pthread_mutex_lock(&p->lock);
		snprintf(p->last_error, sizeof(p->last_error), "due notifications: out of memory");
		pthread_mutex_unlock(&p->lock);
		return LEDGER_ERR;
	}
	count = PQntuples(res);
	for (i = 0; i < count; i++) {
		row_to_notification(res, i, n);
		if (cb(n, ctx) != 0)
			break;
	}
	free(n);
	PQclear(res);
	return LEDGER_OK;
}

int ledger_pg_notify_prune(void *b, int64_t before)
{
	struct pg_ledger *p = b;
	struct params pa = { 0 };
	PGresult *res;
	int r = LEDGER_ERR;

	ledger_pg_int(&pa, before);
	pthread_mutex_lock(&p->lock);
	res = ledger_pg_run(p, "prune notifications",
			    "DELETE FROM notifications WHERE (sent_at > 0 AND sent_at < $1)"
			    " OR (dropped_at > 0 AND dropped_at < $1)",
			    &pa, PGRES_COMMAND_OK, 0);
	if (res != NULL)
		r = (int)ledger_pg_changed(res);
	PQclear(res);
	pthread_mutex_unlock(&p->lock);
	return r;
}

int ledger_pg_notify_update(void *b, const struct notification *n)
{
	struct pg_ledger *p = b;
	struct params pa = { 0 };
	PGresult *res;
	int r = LEDGER_ERR;

	ledger_pg_int(&pa, n->attempts);
	ledger_pg_int(&pa, n->next_attempt_at);
	ledger_pg_text(&pa, n->last_error);
	ledger_pg_int(&pa, n->sent_at);
	ledger_pg_int(&pa, n->dropped_at);
	ledger_pg_int(&pa, n->id);
	pthread_mutex_lock(&p->lock);
	res = ledger_pg_run(p, "update notification",
			    "UPDATE notifications SET attempts = $1, next_attempt_at = $2, last_error = $3,"
			    " sent_at = $4, dropped_at = $5 WHERE id = $6",
			    &pa, PGRES_COMMAND_OK, 0);
	if (res != NULL)
		r = ledger_pg_changed(res) == 1 ? LEDGER_OK : LEDGER_NOTFOUND;
	PQclear(res);
	pthread_mutex_unlock(&p->lock);
	return r;
}

int ledger_pg_notify_exists(void *b, const char *target, const char *event, int64_t grant_id)
{
	struct pg_ledger *p = b;
	struct params pa = { 0 };
	PGresult *res;
	int r = LEDGER_ERR;

	ledger_pg_text(&pa, target ? target : "");
	ledger_pg_text(&pa, event ? event : "");
	ledger_pg_int(&pa, grant_id);
	pthread_mutex_lock(&p->lock);
	res = ledger_pg_run(p, "find notification",
			    "SELECT 1 FROM notifications WHERE target = $1 AND event = $2 AND grant_id = $3::bigint LIMIT 1",
			    &pa, PGRES_TUPLES_OK, 1);
	if (res != NULL)
		r = PQntuples(res) > 0 ? LEDGER_OK : LEDGER_NOTFOUND;
	PQclear(res);
	pthread_mutex_unlock(&p->lock);
	return r;
}

/* ---- sessions: each host (ledger_host()) sees its own ----------------- */

int ledger_pg_session_open(void *b, struct ledger_session *s)
{
	struct pg_ledger *p = b;
	struct params pa = { 0 };
	PGresult *res;
	int r = LEDGER_ERR;

	ledger_pg_int(&pa, s->grant_id);
	ledger_pg_text(&pa, s->user);
	ledger_pg_int(&pa, s->pid);
	ledger_pg_text(&pa, s->service);
	ledger_pg_text(&pa, s->tty);
	ledger_pg_int(&pa, s->opened_at);
	ledger_pg_text(&pa, s->logind_id);
	ledger_pg_int(&pa, s->pid_start);
	ledger_pg_text(&pa, ledger_host());
	pthread_mutex_lock(&p->lock);
	res = ledger_pg_run(p, "session open",
			    "INSERT INTO sessions (grant_id, \"user\", pid, service, tty, opened_at, logind_id, pid_start, host)"
			    " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9) RETURNING id",
			    &pa, PGRES_TUPLES_OK, 0);
	if (res != NULL && PQntuples(res) == 1) {
		s->id = ledger_pg_val_i64(res, 0, 0);
		r = LEDGER_OK;
	}
	PQclear(res);
	pthread_mutex_unlock(&p->lock);
	return r;
}

static int session_set(struct pg_ledger *p, const char *sql, int64_t id, int64_t now)
{
	struct params pa = { 0 };
	PGresult *res;
	int r = LEDGER_ERR;

	ledger_pg_int(&pa, now);
	ledger_pg_int(&pa, id);
	pthread_mutex_lock(&p->lock);
	res = ledger_pg_run(p, "session update", sql, &pa, PGRES_COMMAND_OK, 0);
	if (res != NULL)
		r = ledger_pg_changed(res) == 1 ? LEDGER_OK : LEDGER_NOTFOUND;
	PQclear(res);
	pthread_mutex_unlock(&p->lock);
	return r;
}

int ledger_pg_session_close(void *b, int64_t id, int64_t now)
{
	return session_set(b, "UPDATE sessions SET closed_at = $1 WHERE id = $2 AND closed_at = 0", id, now);
}

int ledger_pg_session_mark_warned(void *b, int64_t id, int64_t now)
{
	return session_set(b, "UPDATE sessions SET warned_at = $1 WHERE id = $2", id, now);
}

int ledger_pg_session_list_open(void *b, int64_t grant_id, session_cb cb, void *ctx)
{
	struct pg_ledger *p = b;
	struct params pa = { 0 };
	struct ledger_session s;
	PGresult *res;
	int i, n;

	ledger_pg_int(&pa, grant_id);
	ledger_pg_text(&pa, ledger_host());
	pthread_mutex_lock(&p->lock);
	res = ledger_pg_run(p, "session list",
			    "SELECT id, grant_id, \"user\", pid, service, tty, opened_at, closed_at, warned_at,"
			    " logind_id, pid_start FROM sessions WHERE closed_at = 0"
			    " AND ($1::bigint = 0 OR grant_id = $1::bigint) AND host = $2 ORDER BY id",
			    &pa, PGRES_TUPLES_OK, 1);
	pthread_mutex_unlock(&p->lock);
	if (res == NULL)
		return LEDGER_ERR;
	n = PQntuples(res);
	for (i = 0; i < n; i++) {
		memset(&s, 0, sizeof(s));
		s.id = ledger_pg_val_i64(res, i, 0);
		s.grant_id = ledger_pg_val_i64(res, i, 1);
		ledger_pg_val_text(res, i, 2, s.user, sizeof(s.user));
		s.pid = ledger_pg_val_i64(res, i, 3);
		ledger_pg_val_text(res, i, 4, s.service, sizeof(s.service));
		ledger_pg_val_text(res, i, 5, s.tty, sizeof(s.tty));
		s.opened_at = ledger_pg_val_i64(res, i, 6);
		s.closed_at = ledger_pg_val_i64(res, i, 7);
		s.warned_at = ledger_pg_val_i64(res, i, 8);
		ledger_pg_val_text(res, i, 9, s.logind_id, sizeof(s.logind_id));
		s.pid_start = ledger_pg_val_i64(res, i, 10);
		if (cb(&s, ctx) != 0)
			break;
	}
	PQclear(res);
	return LEDGER_OK;
}
