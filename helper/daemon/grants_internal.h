/* grants_internal.h - what the pieces of the grant lifecycle share
 * (private to grants*.c; the rest of okta-jitd uses grants.h):
 *   grants.c            the Okta side: adds, removals, the due sweep,
 *                       recovery, rows checked against the configuration
 *   grants_actions.c    request, approve, deny, revoke, extend
 *   grants_approvers.c  who may approve; membership of a named group */
#ifndef OJIT_GRANTS_INTERNAL_H
#define OJIT_GRANTS_INTERNAL_H

#include <stddef.h>

#include "check.h"
#include "jitd.h"

/* grants.c */
/* res says Okta failed at what, with Okta's hint */
void grants_okta_result(struct jit_result *res, const char *what, const struct okta_error *e);
/* res says the ledger could not be written; returns -1 */
int grants_ledger_failed(struct jitd *d, struct jit_result *res);
/* Record g (pending) as approved by approver, the user's standing
 * membership noted, and add it in Okta under this daemon's claim. */
int grants_approve_and_grant(struct jitd *d, struct grant *g, const char *approver, int vouched,
			     struct jit_result *res);
/* Remove g's membership under this daemon's claim on g; -1 when another
 * okta-jitd holds the claim (it removes it) or the removal failed (retried). */
int grants_claimed_remove(struct jitd *d, struct grant *g);

/* grants_approvers.c */
int grants_user_in_named_group(struct jitd *d, const struct check_user *u, const char *name, struct okta_error *e);

#endif
