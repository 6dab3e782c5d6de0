/* ledger_backend.h - what a ledger backend provides (private to the
 * ledger; the rest of okta-jitd uses ledger.h).
 *
 * ledger.c picks the backend from the [daemon] ledger setting and forwards
 * every ledger_* call to it. Each backend implements every operation with
 * the same meaning as documented in ledger.h; b is the backend's own
 * state, returned by its open function. The schema and its migrations are
 * shared (ledger_schema.c): each backend only renders them in its dialect. */
#ifndef OJIT_LEDGER_BACKEND_H
#define OJIT_LEDGER_BACKEND_H

#include "ledger_types.h"

struct ledger_ops {
	const char *name; /* "sqlite", "postgresql" */
	void (*close)(void *b);
	const char *(*last_error)(void *b);
	int (*schema_version)(void *b);
	int (*grant_insert)(void *b, struct grant *g);
	int (*grant_get)(void *b, int64_t id, struct grant *g);
	int (*grant_update)(void *b, const struct grant *g, const char *expected_state);
	int (*grant_active)(void *b, const char *user, const char *grp, int64_t now, struct grant *g);
	int (*grant_active_end)(void *b, const char *user, const char *grp, int64_t now, struct grant_end *ge);
	int (*grant_pending)(void *b, const char *user, const char *grp, struct grant *g);
	int (*grant_list)(void *b, const char *user, const char *states, int64_t before_id, size_t limit, grant_cb cb,
			  void *ctx);
	int (*grant_due)(void *b, int64_t now, grant_cb cb, void *ctx);
	int64_t (*next_due)(void *b);
	int (*claim)(void *b, int64_t grant_id);
	void (*unclaim)(void *b, int64_t grant_id);
	int (*audit_add)(void *b, const char *event, int64_t grant_id, const char *actor, const char *user,
			 const char *grp, const char *detail);
	int (*audit_list)(void *b, int64_t since, const char *user, const char *grp, int64_t grant_id,
			  int64_t after_id, size_t limit, audit_cb cb, void *ctx);
	int (*notify_add)(void *b, struct notification *n);
	int (*notify_due)(void *b, const char *target, int64_t after_id, int64_t now, size_t limit, notify_cb cb,
			  void *ctx);
	int (*notify_update)(void *b, const struct notification *n);
	int (*notify_exists)(void *b, const char *target, const char *event, int64_t grant_id);
	int (*notify_prune)(void *b, int64_t before);
	int (*session_open)(void *b, struct ledger_session *s);
	int (*session_close)(void *b, int64_t id, int64_t now);
	int (*session_list_open)(void *b, int64_t grant_id, session_cb cb, void *ctx);
	int (*session_mark_warned)(void *b, int64_t id, int64_t now);
	int (*snapshot_put)(void *b, struct snapshot_head *h, const char *members);
	int (*snapshot_heads)(void *b, snapshot_cb cb, void *ctx);
	int (*snapshot_get)(void *b, const char *grp, struct snapshot_head *h, char **members);
	int (*drift_put)(void *b, const struct drift_row *r);
	int (*drift_list)(void *b, const char *grp, drift_cb cb, void *ctx);
	int (*drift_del)(void *b, const char *group_id, const char *okta_user_id);
	int (*counts)(void *b, int64_t ended_before, struct ledger_counts *c);
	int (*listen)(void *b);
	int (*wait_changes)(void *b, int timeout_ms, change_cb cb, void *ctx);
};

extern const struct ledger_ops ledger_sqlite_ops;
void *ledger_sqlite_open(const char *path, char *err, size_t errlen);

extern const struct ledger_ops ledger_pg_ops;
/* conninfo: a libpq connection URI or key=value string; password_file:
 * NULL or a root-only file holding the password (never the command line). */
void *ledger_pg_open(const char *conninfo, const char *password_file, char *err, size_t errlen);
/* How many times the connection was reset: claims held before a reset are
 * gone (PostgreSQL released them with the old session). */
uint64_t ledger_pg_reconnects(void *b);

/* The shared schema: migration n (0-based) rendered for a backend.
 * Portable SQL with two placeholders: "@ID@" (an auto-increment 64-bit
 * primary key) and "@INT@" (a 64-bit integer). "user" is always quoted. */
/* LEDGER_DIALECT_SQLITE, LEDGER_DIALECT_PG: ledger_types.h. */
int ledger_schema_count(void);
/* A malloc'd string, or NULL when out of memory. */
char *ledger_schema_render(int n, int dialect);

#endif
