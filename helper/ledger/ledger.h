/* ledger.h - the durable grant ledger and audit trail.
 *
 * The grant logic (grants.c) talks to the ledger through these functions
 * alone, so a second backend (PostgreSQL for fleets) can stand behind the
 * same interface. The SQLite backend is ledger_sqlite.c. What a row
 * holds is in ledger_types.h, which the backends share with this file. */
#ifndef OJIT_LEDGER_H
#define OJIT_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include "ledger_types.h"

struct ledger;


/* Open (creating and migrating) the ledger. spec: "sqlite:/path" or an
 * absolute path (SQLite on this host), or a "postgresql://" URI (a database
 * shared by a fleet; password_file, when not NULL, is a root-only file
 * holding its password). err gets the reason. */
struct ledger *ledger_open(const char *spec, const char *password_file, char *err, size_t errlen);
const char *ledger_backend_name(struct ledger *l);
void ledger_close(struct ledger *l);
/* fn(ctx, user, group) is called just before and just after every grant
 * insert or update (okta-jitd voids its answer board with it). */
void ledger_on_grant_write(struct ledger *l, void (*fn)(void *, const char *, const char *), void *ctx);
/* The counts okta-jitd's metrics show (struct ledger_counts): LEDGER_OK
 * or LEDGER_ERR. A gate's database role may not read notifications: only
 * granters ask. */
int ledger_counts(struct ledger *l, int64_t ended_before, struct ledger_counts *c);
/* fn(ctx, area) is called after every operation that failed (LEDGER_ERR
 * or LEDGER_NOMEM), area naming its part of the ledger: grant, claim,
 * snapshot, listen, audit, notify, session, drift (okta-jitd's
 * okta_jit_ledger_errors_total). */
void ledger_on_error(struct ledger *l, void (*fn)(void *, const char *), void *ctx);
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
/* The same question for the gate, answered from memory while no grant has
 * been written since the last read (okta-jitd is the ledger's only writer):
 * LEDGER_OK with *ge filled when that grant ends after now; LEDGER_NOTFOUND
 * with *ge zeroed, or, when the grant has ended, filled. */
int ledger_grant_active_end(struct ledger *l, const char *user, const char *grp, int64_t now,
			    struct grant_end *ge);
/* A pending request of user for group, if any. */
int ledger_grant_pending(struct ledger *l, const char *user, const char *grp, struct grant *g);

/* Grants filtered by user (NULL: all) and states ("" or NULL: all states;
 * else a comma-separated list), newest first, at most limit. */
int ledger_grant_list(struct ledger *l, const char *user, const char *states, size_t limit,
		      grant_cb cb, void *ctx);
/* The same, only ids below before_id (0: no bound): a page of a listing
 * that goes on where the previous one stopped (LIST's CURSOR). */
int ledger_grant_list_before(struct ledger *l, const char *user, const char *states, int64_t before_id,
			     size_t limit, grant_cb cb, void *ctx);
/* Grants that owe work at now: active past their end, owed Okta ops whose
 * retry time has come, pending requests past their expiry. */
int ledger_grant_due(struct ledger *l, int64_t now, grant_cb cb, void *ctx);
/* The earliest moment any grant will owe work; 0 if none, -1 when the
 * ledger could not be read (ask again soon). */
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
/* One page of the trail: the oldest limit rows with an id above after_id
 * (0: from the first) at or after since, of user and grp when not NULL,
 * oldest first (by id). The next page goes on above the last id given
 * (AUDIT's CURSOR, docs/protocol.md). */
int ledger_audit_list(struct ledger *l, int64_t since, const char *user, const char *grp, int64_t after_id,
		      size_t limit, audit_cb cb, void *ctx);
/* The same for one grant's trail (grant_id > 0). */
int ledger_audit_list_grant(struct ledger *l, int64_t grant_id, int64_t after_id, size_t limit, audit_cb cb,
			    void *ctx);

/* The notification queue. add sets n->id. due: waiting rows (sent_at = 0,
 * dropped_at = 0, next_attempt_at <= now) of target (NULL: every target)
 * with an id above after_id, oldest first, at most limit: each target is
 * read on its own, so one target's backlog never hides another's rows.
 * update writes attempts, next_attempt_at, last_error, sent_at and
 * dropped_at of row n->id. exists: LEDGER_OK when a row for target, event
 * and grant_id was ever queued, else LEDGER_NOTFOUND. */
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
int ledger_session_list_open(struct ledger *l, int64_t grant_id, session_cb cb, void *ctx);
int ledger_session_mark_warned(struct ledger *l, int64_t id, int64_t now);

/* ---- snapshots (issue 17) ---- */
/* Write the snapshot of h->grp (insert or replace) with its member text
 * (ledger_types.h: struct snapshot_head); the ledger sets h->gen to the
 * stored one plus one. */
int ledger_snapshot_put(struct ledger *l, struct snapshot_head *h, const char *members);
/* Every snapshot's head (no member text), by group name. */
int ledger_snapshot_heads(struct ledger *l, snapshot_cb cb, void *ctx);
/* The same in one array the caller frees: LEDGER_OK, LEDGER_ERR, or
 * LEDGER_NOMEM (then *v is NULL). */
int ledger_snapshot_heads_all(struct ledger *l, struct snapshot_head **v, size_t *n);
/* One group's snapshot: LEDGER_OK with *members a malloc'd string (the
 * caller frees it), LEDGER_NOTFOUND, or LEDGER_ERR (also when the member
 * text is larger than SNAPSHOT_MEMBERS_MAX). */
int ledger_snapshot_get(struct ledger *l, const char *grp, struct snapshot_head *h, char **members);
/* Granters refresh one group's snapshot one at a time: the same claim as
 * ledger_claim_member, on a key no user has. */
int ledger_claim_snapshot(struct ledger *l, const char *grp);
void ledger_unclaim_snapshot(struct ledger *l, const char *grp);

/* ---- drift (issue 20) ----
 * put: insert or replace the row of (r->group_id, r->okta_user_id).
 * list: every row (grp NULL) or those of one group, by group and login.
 * del: forget one row (the member left the group: the episode is over);
 * LEDGER_OK also when there was none. */
int ledger_drift_put(struct ledger *l, const struct drift_row *r);
int ledger_drift_list(struct ledger *l, const char *grp, drift_cb cb, void *ctx);
int ledger_drift_del(struct ledger *l, const char *group_id, const char *okta_user_id);

/* ---- change notices (issue 17; PostgreSQL only) ----
 * Every insert or update of a grant row or a snapshot is announced by the
 * database itself (a trigger: NOTIFY okta_jit, "g ID" or "s GROUP") to
 * every connection that listens. Use a ledger opened for this alone: the
 * wait holds its connection. */
/* LISTEN on this ledger's connection (again after every LEDGER_ERR from
 * ledger_wait_changes: a new connection listens to nothing). LEDGER_ERR on
 * SQLite ("change notices need a shared ledger") or when unreachable. */
int ledger_listen(struct ledger *l);
/* Wait up to timeout_ms for notices and call cb for each: the number
 * delivered (0 on timeout), or LEDGER_ERR when the connection was lost
 * (notices may have been missed: read everything again). */
int ledger_wait_changes(struct ledger *l, int timeout_ms, change_cb cb, void *ctx);

#endif
