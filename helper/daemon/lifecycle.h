/* lifecycle.h - what happens to a user or a group in Okta reaches the
 * grants (issue 20, items 2 and 3): lifecycle.c. */
#ifndef OJIT_LIFECYCLE_H
#define OJIT_LIFECYCLE_H

#include "jitd.h"

/* Start the sweep thread of a granter (nothing on a gate, which holds no
 * Okta credential): every cache_ttl it reads each user with an active grant
 * or a pending request, and each group such a grant is for, by Okta id.
 * 0, or -1 when the thread cannot start. */
int lifecycle_start(struct jitd *d);
/* Stop it (after okta_client_abort: a sweep under way ends at once). */
void lifecycle_stop(struct jitd *d);

#endif
