/* ledger_types.h - what the ledger stores: its rows, states and limits,
 * its return codes, the callbacks that walk rows and the two dialects
 * (ledger_spec_kind). Shared by the
 * ledger's interface (ledger.h) and its backends (ledger_backend.h), so
 * that neither includes the other both ways. */
#ifndef OJIT_LEDGER_TYPES_H
#define OJIT_LEDGER_TYPES_H

#include <stddef.h>
#include <stdint.h>

#define LEDGER_USER_MAX 64
#define LEDGER_LOGIN_MAX 256
#define LEDGER_GROUP_MAX 256
#define LEDGER_REASON_MAX 512
#define LEDGER_ERROR_MAX 512
#define LEDGER_SIG_MAX 128 /* an Ed25519 signature in hex */

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
	/* the granter's Ed25519 signature (hex) of the fields a gate decides
	 * on (daemon/fleet_sig.c); "" when unsigned. The ledger stores it. */
	char sig[LEDGER_SIG_MAX + 1];
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

/* What okta-jitd's metrics read from the ledger (issue 22). */
struct ledger_counts {
	/* grants whose membership removal is owed (not a recheck), or that
	 * are still active with no sweep having ended them, and whose end (a
	 * grant that never started: its request) came before the moment
	 * asked about */
	int64_t removals_overdue;
	int64_t notify_backlog; /* notifications neither sent nor dropped */
};

enum ledger_rc {
	LEDGER_OK = 0,
	LEDGER_NOTFOUND = 1,
	LEDGER_CONFLICT = 2, /* the row is not in the expected state any more */
	LEDGER_ERR = -1,     /* I/O, disk full, read-only, corruption */
	LEDGER_NOMEM = -2,   /* out of memory for what was read */
};

/* What the gate needs of the active grant of user for group that ends
 * last: its id, end and the Okta group id written with it. */
struct grant_end {
	int64_t id, end_at;
	char group_id[65];
};

/* A group's snapshot (issue 17): what a check needs from Okta about one
 * gated group, written by a granter, read by the gates (who hold no Okta
 * credential). The member list travels beside it as text, one member a
 * line: "OKTA_ID TAB STATUS TAB LOGIN LF" (snapshot.c in the daemon
 * writes and parses it). */
#define SNAPSHOT_STATE_MAX 512
/* With [nss] on the granter (issue 18) each line has three more fields,
 * each percent-encoded (util.h: ojit_pct_encode):
 * "OKTA_ID TAB STATUS TAB LOGIN TAB UIDATTR TAB GECOS TAB KEYS LF".
 * UIDATTR is the profile's UID attribute as decimal text, "" when absent,
 * or "!" and why it was refused; GECOS the display name; KEYS the key
 * attribute's entries, each encoded, separated by one space, or "!" and
 * why the attribute was refused as a whole. */
struct snapshot_member {
	char *id, *status, *login;
	char *uid_attr, *gecos, *keys; /* "" in a three-field line; still encoded */
	int nfields;                   /* 3 or 6 */
};
/* Cut one member line (without its LF) in place: 0, or -1 when it has
 * neither 3 nor 6 fields, or a field holds a character its encoding
 * forbids. Checks no field's meaning (ids, statuses, logins). */
int snapshot_member_parse(char *line, struct snapshot_member *m);
#define SNAPSHOT_MEMBERS_MAX (64u * 1024 * 1024) /* bytes of member text read, at most */
struct snapshot_head {
	char grp[LEDGER_GROUP_MAX + 1];
	char group_id[65];   /* the one OKTA_GROUP of that name, "" when state says why not */
	int64_t taken_at;    /* the writer's wall clock when its Okta listing began */
	int64_t gen;         /* one more on every write (the ledger sets it) */
	int64_t nmembers;
	char host[LEDGER_USER_MAX + 1]; /* the granter that wrote it */
	char state[SNAPSHOT_STATE_MAX + 1]; /* "ok", or why there is no member list */
	char sig[LEDGER_SIG_MAX + 1]; /* the writer's signature (daemon/fleet_sig.c), "" unsigned */
};

/* A member of a flow's Okta group that holds neither a grant nor a
 * declared standing place (issue 20, drift; daemon/drift.c): one row per
 * group and Okta user while the episode lasts. state: "reported" (seen,
 * audited and told once), "removing" (a removal is under way or owed),
 * "removed" (taken out; the row ends the episode until the member comes
 * back), "failed" (Okta refused the removal: retried next sweep). */
#define DRIFT_STATE_MAX 15
struct drift_row {
	char group_id[65];
	char okta_user_id[65];
	char grp[LEDGER_GROUP_MAX + 1];
	char login[LEDGER_LOGIN_MAX + 1];
	int64_t first_seen, last_seen;
	char state[DRIFT_STATE_MAX + 1];
	int attempts;
	char last_error[LEDGER_ERROR_MAX + 1];
	char host[LEDGER_USER_MAX + 1]; /* the granter that wrote it last */
};
typedef int (*drift_cb)(const struct drift_row *r, void *ctx);

/* A change another host (or this one) committed to the shared ledger, as
 * PostgreSQL's NOTIFY tells it: kind 'g' (grant row id) or 's' (the
 * snapshot of group grp). */
typedef void (*change_cb)(void *ctx, char kind, int64_t id, const char *grp);
typedef int (*snapshot_cb)(const struct snapshot_head *h, void *ctx);

typedef int (*grant_cb)(const struct grant *g, void *ctx);
typedef int (*audit_cb)(const struct audit_event *e, void *ctx);
typedef int (*notify_cb)(const struct notification *n, void *ctx);
typedef int (*session_cb)(const struct ledger_session *s, void *ctx);

/* This host's name, as stored with its sessions. */
const char *ledger_host(void);

/* What ledger_spec_kind returns, and what ledger_schema_render renders. */
#define LEDGER_DIALECT_SQLITE 0
#define LEDGER_DIALECT_PG 1
/* LEDGER_DIALECT_SQLITE, LEDGER_DIALECT_PG or -1 (ledger_types.c). */
int ledger_spec_kind(const char *spec);

#endif
