/* mirror.h - what a gate knows of the shared ledger, kept in memory
 * (issue 17): the grants that are not over yet and each group's snapshot
 * (the member list a granter read from Okta), told of every change by
 * PostgreSQL's LISTEN/NOTIFY and read again in full every
 * MIRROR_REREAD_SECONDS, so that a lost notice costs seconds. A gate's
 * check (check_decide.c) reads this alone: no database round trip, no
 * Okta call. On a granter the same listener keeps nothing and only wakes
 * the scheduler on every grant write, so that a grant another host made
 * is ended here on time. */
#ifndef OJIT_MIRROR_H
#define OJIT_MIRROR_H

#include <stddef.h>
#include <stdint.h>

#include "jitd.h"

#define MIRROR_REREAD_SECONDS 10
/* Grant rows that are not over yet, at most (more are not read: their
 * users are refused, and the log says so). */
#define MIRROR_GRANTS_MAX 200000
#define MIRROR_LOG_EVERY 60 /* seconds between two log lines of one kind about one group */

struct mirror;

/* Start the listener thread on its own connection to the shared ledger.
 * keep: hold grants and snapshots for the gate's checks (role = gate);
 * 0: only kick d's scheduler (a granter). NULL (logged) when the thread
 * cannot start. */
struct mirror *mirror_start(struct jitd *d, const char *password_file, int keep);
/* Wait up to ms for the first full read (a gate that starts answers
 * from a whole memory, not "unavailable" for its first moments): 0 when
 * done, -1 when not (the thread goes on trying). */
int mirror_wait_synced(struct mirror *m, int ms);
/* Stop the thread and free everything (d->stopping need not be set). */
void mirror_stop(struct mirror *m);

/* Whether the memory may be used at now: MIRROR_LIVE (in touch with the
 * ledger), MIRROR_GRACE (lost it less than outage_grace after the last
 * good read: *synced_at says when), MIRROR_DOWN (never read, or too long
 * ago). */
enum mirror_status { MIRROR_DOWN = 0, MIRROR_LIVE = 1, MIRROR_GRACE = 2 };
enum mirror_status mirror_status(struct mirror *m, int64_t now, int64_t *synced_at);

/* What a check needs of the grant rows of user for grp. */
struct mirror_grant {
	int known;           /* some row of user for grp is in memory */
	int active;          /* the active grant that ends last ends after now */
	int64_t id, end_at, updated_at;
	char okta_user_id[65];
	char group_id[65];
	int64_t pending_id;  /* the newest pending or approved request, 0 if none */
	char pending_state[16];
};
void mirror_grant(struct mirror *m, const char *user, const char *grp, int64_t now, struct mirror_grant *out);

/* What the snapshot of grp says of login. */
enum mirror_snap_kind {
	MSNAP_NONE = 0,   /* no snapshot of grp in the ledger */
	MSNAP_BAD = 1,    /* one that cannot be used: why */
	MSNAP_REFUSE = 2, /* the granter found no member list (unknown, ambiguous, too large group): why, code */
	MSNAP_OK = 3,
};
struct mirror_snap {
	enum mirror_snap_kind kind;
	char why[300];
	char code[32];
	char group_id[65];
	int64_t taken_at;
	int listed;       /* login is among the members */
	char id[65];      /* its Okta id and status, when listed */
	char status[32];
};
void mirror_snapshot(struct mirror *m, const char *grp, const char *login, struct mirror_snap *out);

/* One log line about grp at most every MIRROR_LOG_EVERY seconds per kind
 * (a check that finds no usable snapshot says so without flooding). */
void mirror_log_limited(struct mirror *m, const char *kind, const char *grp, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
