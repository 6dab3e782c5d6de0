/* ledger_sqlite.h - the SQLite backend's insides, shared by its pieces
 * (private to ledger_sqlite*.c; the rest of the ledger uses
 * ledger_backend.h):
 *   ledger_sqlite.c         the connection, open and migrate, close, the
 *                           ops table
 *   ledger_sqlite_grants.c  grant rows, the gate's cached read, claims
 *   ledger_sqlite_events.c  the audit log, the notification queue, sessions
 *   ledger_sqlite_snapshots.c  group snapshots (issue 17) */
#ifndef OJIT_LEDGER_SQLITE_H
#define OJIT_LEDGER_SQLITE_H

#include <pthread.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger_backend.h"

/* The single-row lookups run on every login check: their statements are
 * prepared once and reset after each use (under l->lock). */
#define STMT_CACHE 8

/* What ledger_grant_active_end last read for a user and group, valid while
 * no grant has been written since (gen). okta-jitd is the ledger's only
 * writer while it runs, and every grant write goes through
 * ledger_sqlite_grants.c. */
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

/* l->last_error = what: SQLite's message, logged */
void ledger_sqlite_set_err(struct sq *l, const char *what);
/* column i as text, "" for NULL, truncated to n */
void ledger_sqlite_col_text(sqlite3_stmt *st, int i, char *dst, size_t n);
/* forget every cached active-grant read (under l->lock) */
void ledger_sqlite_active_clear(struct sq *l);

/* ledger_sqlite_grants.c: the ops on grant rows and claims */
int ledger_sqlite_grant_insert(void *b, struct grant *g);
int ledger_sqlite_grant_get(void *b, int64_t id, struct grant *g);
int ledger_sqlite_grant_active(void *b, const char *user, const char *grp, int64_t now, struct grant *g);
int ledger_sqlite_grant_active_end(void *b, const char *user, const char *grp, int64_t now, struct grant_end *ge);
int ledger_sqlite_grant_pending(void *b, const char *user, const char *grp, struct grant *g);
int ledger_sqlite_grant_update(void *b, const struct grant *g, const char *expected_state);
int ledger_sqlite_grant_list(void *b, const char *user, const char *states, int64_t before_id, size_t limit,
			grant_cb cb, void *ctx);
int ledger_sqlite_grant_due(void *b, int64_t now, grant_cb cb, void *ctx);
int64_t ledger_sqlite_next_due(void *b);
int ledger_sqlite_counts(void *b, int64_t ended_before, struct ledger_counts *c);
int ledger_sqlite_claim(void *b, int64_t grant_id);
void ledger_sqlite_unclaim(void *b, int64_t grant_id);

/* ledger_sqlite_events.c: the audit log, the notification queue, sessions */
int ledger_sqlite_audit_add(void *b, const char *event, int64_t grant_id, const char *actor, const char *user,
			    const char *grp, const char *detail);
int ledger_sqlite_audit_list(void *b, int64_t since, const char *user, const char *grp, int64_t grant_id,
			     int64_t after_id, size_t limit, audit_cb cb, void *ctx);
int ledger_sqlite_notify_add(void *b, struct notification *n);
int ledger_sqlite_notify_due(void *b, const char *target, int64_t after_id, int64_t now, size_t limit,
			     notify_cb cb, void *ctx);
int ledger_sqlite_notify_prune(void *b, int64_t before);
int ledger_sqlite_notify_update(void *b, const struct notification *n);
int ledger_sqlite_notify_exists(void *b, const char *target, const char *event, int64_t grant_id);
int ledger_sqlite_session_open(void *b, struct ledger_session *s);
int ledger_sqlite_session_close(void *b, int64_t id, int64_t now);
int ledger_sqlite_session_mark_warned(void *b, int64_t id, int64_t now);
int ledger_sqlite_session_list_open(void *b, int64_t grant_id, session_cb cb, void *ctx);

/* ledger_sqlite_snapshots.c: group snapshots; no change notices */
int ledger_sqlite_snapshot_put(void *b, struct snapshot_head *h, const char *members);
int ledger_sqlite_snapshot_heads(void *b, snapshot_cb cb, void *ctx);
int ledger_sqlite_snapshot_get(void *b, const char *grp, struct snapshot_head *h, char **members);
int ledger_sqlite_listen(void *b);
int ledger_sqlite_wait_changes(void *b, int timeout_ms, change_cb cb, void *ctx);

/* ledger_sqlite_drift.c: drift rows (issue 20) */
int ledger_sqlite_drift_put(void *b, const struct drift_row *r);
int ledger_sqlite_drift_list(void *b, const char *grp, drift_cb cb, void *ctx);
int ledger_sqlite_drift_del(void *b, const char *group_id, const char *okta_user_id);

#endif
