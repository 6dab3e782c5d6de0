/* drift.h - the sweep that keeps each flow's Okta groups holding exactly
 * the grants and the declared standing members (issue 20; drift.c). */
#ifndef OJIT_DRIFT_H
#define OJIT_DRIFT_H

#include "jitd.h"

/* Start the sweep (a granter only; on a gate, or with no flow to sweep,
 * it does nothing and returns 0). 0, or -1 when the thread cannot start. */
int drift_start(struct jitd *d);
/* Stop and join it (after okta_client_abort: a call under way ends). Safe
 * without a start. */
void drift_stop(struct jitd *d);

#endif
