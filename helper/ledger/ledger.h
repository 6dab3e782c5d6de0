/* ledger.h - the durable grant ledger and audit trail.
 *
 * The grant logic (grants.c) talks to the ledger through these functions
 * alone, so a second backend (PostgreSQL for fleets) can stand behind the
 * same interface. The SQLite backend is ledger_sqlite.c. */
#ifndef OJIT_LEDGER_H
#define OJIT_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#define LEDGER_USER_MAX 64
#define LEDGER_LOGIN_MAX 256
#define LEDGER_GROUP_MAX 256
#define LEDGER_REASON_MAX 512
#define LEDGER_ERROR_MAX 512

/* Grant states, as stored. */
#define GS_PENDING "pending"
#define GS_APPROVED "approved"
#define GS_ACTIVE "active"
#define GS_EXPIRED "expired"
#define GS_REVOKED "revoked"
#define GS_DENIED "denied"
#define GS_FAILED "failed"

/* Okta work a grant still owes (the intent recorded before the call). */
#define OP_NONE ""
#define OP_ADD "add"
#define OP_REMOVE "remove"

/* struct grant.add_unsure */
#define ADD_SURE 0
#define ADD_UNSURE 1
#define ADD_RECHECK 2

struct grant {
	int64_t id;
	char kind[8]; /* "grant" or "extend" */
	int64_t parent_id; /* the grant an extension extends */
	char user[LEDGER_USER_MAX + 1];
	char okta_login[LEDGER_LOGIN_MAX + 1];
	char okta_user_id[65];
	char grp[LEDGER_GROUP_MAX + 1];
	char group_id[65];
	char flow[65];
	char requester[LEDGER_USER_MAX + 1];
	char reason[LEDGER_REASON_MAX + 1];
	char approver[LEDGER_LOGIN_MAX + 1];
	char state[16];
	char op[8];
	int was_member; /* a member before the grant: never removed by us */
	int64_t duration;
	int64_t requested_at, pending_expires_at, decided_at, start_at, end_at, updated_at;
	int op_attempts;
	int64_t next_attempt_at;
	char last_error[LEDGER_ERROR_MAX + 1];
	/* ADD_UNSURE: an add was sent and its outcome never learnt (no
	 * answer, or a restart mid-call); Okta may still apply it late.
	 * ADD_RECHECK: removed once; membership is looked at again (and
	 * removed if a late add landed) at next_attempt_at, recheck_after
	 * later. */
	int add_unsure;
};

struct audit_event {
	int64_t id;
	int64_t at;
	char event[32];
	int64_t grant_id;
	char actor[LEDGER_LOGIN_MAX + 1];
	char user[LEDGER_USER_MAX + 1];
	char grp[LEDGER_GROUP_MAX + 1];
	char detail[1024];
};

struct ledger_session {
	int64_t id;
	int64_t grant_id;
	char user[LEDGER_USER_MAX + 1];
	int64_t pid;
	char service[64];
	char tty[64];
	int64_t opened_at, closed_at, warned_at;
	char logind_id[64]; /* systemd-logind session, when there is one */
	int64_t pid_start;  /* start time of pid (guards against pid reuse) */
};

/* A notification waiting in the durable queue (issue 10): one row per
 * event and webhook target, sent in the background by notify.c. */
#define NOTIFY_TARGET_MAX 64
#define NOTIFY_PAYLOAD_MAX 8192
struct notification {
	int64_t id;
	char target[NOTIFY_TARGET_MAX + 1]; /* the [notify NAME] section */
	char event[32];
	int64_t grant_id;
	char payload[NOTIFY_PAYLOAD_MAX]; /* the body to POST, as queued */
	int64_t created_at, next_attempt_at;
	int attempts;
	char last_error[256];
	int64_t sent_at, dropped_at; /* 0 while waiting */
};

struct ledger;

enum ledger_rc {
	LEDGER_OK = 0,
	LEDGER_NOTFOUND = 1,
	LEDGER_CONFLICT = 2, /* the row is not in the expected state any more */
	LEDGER_ERR = -1,     /* I/O, disk full, read-only, corruption */
};

/* Open (creating and migrating) the ledger. spec: "sqlite:/path" or an
 * absolute path (SQLite on this host), or a "postgresql://" URI (a database
 * shared by a fleet; password_file, when not NULL, is a root-only file
 * holding its password). err gets the reason. */
struct ledger *ledger_open(const char *spec, const char *password_file, char *err, size_t errlen);
/* LEDGER_DIALECT_SQLITE, LEDGER_DIALECT_PG (ledger_backend.h) or -1. */
int ledger_spec_kind(const char *spec);
const char *ledger_backend_name(struct ledger *l);
/* This host's name, as stored with its sessions. */
const char *ledger_host(void);
void ledger_close(struct ledger *l);
/* fn(ctx, user, group) is called just before and just after every grant
 * insert or update (okta-jitd voids its answer board with it). */
void ledger_on_grant_write(struct ledger *l, void (*fn)(void *, const char *, const char *), void *ctx);
/* The last error text of the backend (for logs and clients). */
const char *ledger_last_error(struct ledger *l);
int ledger_schema_version(struct ledger *l);

int ledger_grant_insert(struct ledger *l, struct grant *g);
int ledger_grant_get(struct ledger *l, int64_t id, struct grant *g);
/* Write g if the stored state is still expected_state (compare-and-set). */
int ledger_grant_update(struct ledger *l, const struct grant *g, const char *expected_state);

/* The active grant of user for group whose end is after now, if any. */
int ledger_grant_active(struct ledger *l, const char *user, const char *grp, int64_t now,
			struct grant *g);
/* What the gate needs of the active grant of user for group that ends
 * last: its id, end and the Okta group id written with it. */
struct grant_end {
	int64_t id, end_at;
	char group_id[65];
};
/* The same question for the gate, answered from memory while no grant has
 * been written since the last read (okta-jitd is the ledger's only writer):
 * LEDGER_OK with *ge filled when that grant ends after now; LEDGER_NOTFOUND
 * with *ge zeroed, or, when the grant has ended, filled. */
int ledger_grant_active_end(struct ledger *l, const char *user, const char *grp, int64_t now,
			    struct grant_end *ge);
/* A pending request of user for group, if any. */
int ledger_grant_pending(struct ledger *l, const char *user, const char *grp, struct grant *g);

typedef int (*grant_cb)(const struct grant *g, void *ctx);
/* Grants filtered by user (NULL: all) and states ("" or NULL: all states;
 * else a comma-separated list), newest first, at most limit. */
int ledger_grant_list(struct ledger *l, const char *user, const char *states, size_t limit,
		      grant_cb cb, void *ctx);
/* Grants that owe work at now: active past their end, owed Okta ops whose
 * retry time has come, pending requests past their expiry. */
int ledger_grant_due(struct ledger *l, int64_t now, grant_cb cb, void *ctx);
/* The earliest moment any grant will owe work; 0 if none. */
int64_t ledger_next_due(struct ledger *l);
/* Take the Okta work of a grant for this daemon: 1 when it is ours now,
 * 0 when another okta-jitd sharing the ledger works on it, -1 on error.
 * A claim lasts until ledger_unclaim or until this daemon's connection to
 * the ledger ends, so the work of a granter that died is taken over. */
int ledger_claim(struct ledger *l, int64_t grant_id);
void ledger_unclaim(struct ledger *l, int64_t grant_id);
/* The same for a user's membership of a group (whatever grant it serves):
 * granters sharing a ledger decide and change one membership one at a
 * time. */
int ledger_claim_member(struct ledger *l, const char *user, const char *grp);
void ledger_unclaim_member(struct ledger *l, const char *user, const char *grp);

int ledger_audit_add(struct ledger *l, const char *event, int64_t grant_id, const char *actor,
		     const char *user, const char *grp, const char *detail);
typedef int (*audit_cb)(const struct audit_event *e, void *ctx);
int ledger_audit_list(struct ledger *l, int64_t since, const char *user, const char *grp,
		      size_t limit, audit_cb cb, void *ctx);

/* The notification queue. add sets n->id. due: waiting rows (sent_at = 0,
 * dropped_at = 0, next_attempt_at <= now) of target (NULL: every target)
 * with an id above after_id, oldest first, at most limit: each target is
 * read on its own, so one target's backlog never hides another's rows.
 * update writes attempts, next_attempt_at, last_error, sent_at and
 * dropped_at of row n->id. exists: LEDGER_OK when a row for target, event
 * and grant_id was ever queued, else LEDGER_NOTFOUND. */
typedef int (*notify_cb)(const struct notification *n, void *ctx);
int ledger_notify_add(struct ledger *l, struct notification *n);
int ledger_notify_due(struct ledger *l, const char *target, int64_t after_id, int64_t now, size_t limit,
		      notify_cb cb, void *ctx);
int ledger_notify_update(struct ledger *l, const struct notification *n);
int ledger_notify_exists(struct ledger *l, const char *target, const char *event, int64_t grant_id);
/* Delete the rows sent or dropped before `before`: the number deleted, or
 * LEDGER_ERR. Waiting rows are never deleted. */
int ledger_notify_prune(struct ledger *l, int64_t before);

int ledger_session_open(struct ledger *l, struct ledger_session *s);
int ledger_session_close(struct ledger *l, int64_t id, int64_t now);
typedef int (*session_cb)(const struct ledger_session *s, void *ctx);
int ledger_session_list_open(struct ledger *l, int64_t grant_id, session_cb cb, void *ctx);
int ledger_session_mark_warned(struct ledger *l, int64_t id, int64_t now);

#endif
