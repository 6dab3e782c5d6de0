/* snapshots.h - the granters' side of issue 17's fleet (snapshots.c):
 * what a check needs from Okta about each gated group (its members, with
 * their Okta ids, logins and status) kept in the shared ledger, so that
 * gates answer from the ledger alone and hold no Okta credential. */
#ifndef OJIT_SNAPSHOTS_H
#define OJIT_SNAPSHOTS_H

#include "jitd.h"

/* Start the refresher (a granter on a shared ledger only; elsewhere it
 * does nothing and returns 0). 0, or -1 when the thread cannot start. */
int snapshots_start(struct jitd *d);
/* Stop and join it (d->stopping set, Okta calls aborted, or not: it ends
 * after the call in progress). Safe without a start. */
void snapshots_stop(struct jitd *d);
/* The jitd_hooks.snapshot hook: okta-jitd changed a membership of the
 * group named group: list it again now, whatever its snapshot's age. */
void snapshots_member_changed(struct jitd *d, const char *group);

#endif
