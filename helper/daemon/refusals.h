/* refusals.h - refusals of unprivileged callers, audited at a bounded rate. */
#ifndef OJIT_REFUSALS_H
#define OJIT_REFUSALS_H

#include "jitd.h"

/* Should this refusal be written now? 1: yes (root's, or the first of
 * its event, actor, user and group this minute); 0: counted, and written
 * with the others of its minute as one row. */
int refusals_take(struct jitd *d, const struct actor *a, const char *event, const char *user, const char *grp);
/* audit_event for a refusal, through refusals_take. */
void audit_refusal(struct jitd *d, const struct actor *a, const char *event, int64_t grant_id, const char *user,
		   const char *grp, const char *fmt, ...) __attribute__((format(printf, 7, 8)));
/* Write the counts of minutes that are over (all: of every minute, so
 * that a reader of the trail sees them). */
void refusals_flush(struct jitd *d, int all);

#endif
