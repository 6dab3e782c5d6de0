/* ledger_pg.h - the PostgreSQL backend's insides, shared by its pieces
 * (private to ledger_pg*.c; the rest of the ledger uses ledger_backend.h):
 *   ledger_pg.c         the connection, bounded statements, reconnects,
 *                       open and migrate, the ops table
 *   ledger_pg_grants.c  grant rows and claims on them
 *   ledger_pg_events.c  the audit log, the notification queue, sessions
 *   ledger_pg_snapshots.c  group snapshots and change notices (issue 17) */
#ifndef OJIT_LEDGER_PG_H
#define OJIT_LEDGER_PG_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger_backend.h"

/* a claim's advisory lock namespace: see the key comment in ledger_pg.c */
#define CLAIM_NS 0x6f6a6974 /* "ojit" */
#define PARAMS_MAX 28

struct claim {
	int64_t id;
	uint64_t epoch; /* p->reconnects when claimed */
};

struct pg_ledger {
	PGconn *conn;
	pthread_mutex_t lock;
	uint64_t reconnects;
	int64_t retry_after_ms; /* no reconnect attempt before (monotonic) */
	int timed_out;          /* the last statement got no answer in time */
	int listening;          /* LISTEN ran on this session (ledger_pg_snapshots.c) */
	uint64_t listen_epoch;  /* reconnects when it ran */
	struct claim *claims;
	size_t nclaims, capclaims;
	char where[300]; /* "the ledger database \"db\" on host:port" */
	char notice[160]; /* the last notice, often why the server hung up */
	char down[LEDGER_ERROR_MAX]; /* why the last reconnect failed */
	char last_error[LEDGER_ERROR_MAX];
};

struct params {
	const char *v[PARAMS_MAX];
	char num[PARAMS_MAX][24];
	int n;
};

/* statement parameters, all sent as text */
void ledger_pg_text(struct params *pa, const char *s);
void ledger_pg_int(struct params *pa, int64_t x);
void ledger_pg_limit(struct params *pa, size_t limit);
/* one statement, its result when it has the wanted status, else NULL with
 * last_error set; see ledger_pg.c. Called with p->lock held. */
PGresult *ledger_pg_run(struct pg_ledger *p, const char *what, const char *sql, const struct params *pa,
			ExecStatusType want, int retry);
int64_t ledger_pg_val_i64(const PGresult *res, int row, int col);
void ledger_pg_val_text(const PGresult *res, int row, int col, char *dst, size_t n);
long ledger_pg_changed(PGresult *res);

/* ledger_pg_grants.c: the ops on grant rows and claims */
int ledger_pg_grant_insert(void *b, struct grant *g);
int ledger_pg_grant_get(void *b, int64_t id, struct grant *g);
int ledger_pg_grant_active(void *b, const char *user, const char *grp, int64_t now, struct grant *g);
int ledger_pg_grant_active_end(void *b, const char *user, const char *grp, int64_t now, struct grant_end *ge);
int ledger_pg_grant_pending(void *b, const char *user, const char *grp, struct grant *g);
int ledger_pg_grant_update(void *b, const struct grant *g, const char *expected_state);
int ledger_pg_grant_list(void *b, const char *user, const char *states, int64_t before_id, size_t limit,
			grant_cb cb, void *ctx);
int ledger_pg_grant_due(void *b, int64_t now, grant_cb cb, void *ctx);
int64_t ledger_pg_next_due(void *b);
int ledger_pg_counts(void *b, int64_t ended_before, struct ledger_counts *c);
int ledger_pg_claim(void *b, int64_t grant_id);
void ledger_pg_unclaim(void *b, int64_t grant_id);

/* ledger_pg_events.c: the audit log, the notification queue, sessions */
int ledger_pg_audit_add(void *b, const char *event, int64_t grant_id, const char *actor, const char *user,
			const char *grp, const char *detail);
int ledger_pg_audit_list(void *b, int64_t since, const char *user, const char *grp, int64_t grant_id,
			 int64_t after_id, size_t limit, audit_cb cb, void *ctx);
int ledger_pg_notify_add(void *b, struct notification *n);
int ledger_pg_notify_due(void *b, const char *target, int64_t after_id, int64_t now, size_t limit, notify_cb cb,
			 void *ctx);
int ledger_pg_notify_prune(void *b, int64_t before);
int ledger_pg_notify_update(void *b, const struct notification *n);
int ledger_pg_notify_exists(void *b, const char *target, const char *event, int64_t grant_id);
int ledger_pg_session_open(void *b, struct ledger_session *s);
int ledger_pg_session_close(void *b, int64_t id, int64_t now);
int ledger_pg_session_mark_warned(void *b, int64_t id, int64_t now);
int ledger_pg_session_list_open(void *b, int64_t grant_id, session_cb cb, void *ctx);

/* ledger_pg_snapshots.c: group snapshots and change notices */
int ledger_pg_snapshot_put(void *b, struct snapshot_head *h, const char *members);
int ledger_pg_snapshot_heads(void *b, snapshot_cb cb, void *ctx);
int ledger_pg_snapshot_get(void *b, const char *grp, struct snapshot_head *h, char **members);
int ledger_pg_listen(void *b);
int ledger_pg_wait_changes(void *b, int timeout_ms, change_cb cb, void *ctx);

/* ledger_pg_drift.c: drift rows (issue 20) */
int ledger_pg_drift_put(void *b, const struct drift_row *r);
int ledger_pg_drift_list(void *b, const char *grp, drift_cb cb, void *ctx);
int ledger_pg_drift_del(void *b, const char *group_id, const char *okta_user_id);

#endif
