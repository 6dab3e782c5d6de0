/* notify.h - webhook notifications of grant events (notify.c). */
#ifndef OJIT_NOTIFY_H
#define OJIT_NOTIFY_H

#include <stdint.h>

#include "jitd.h"

/* Queue event (an audit event name; only the notifiable ones are queued)
 * for every [notify] target that wants it. Never blocks on a receiver.
 * actor: who did it, as the audit record names them. */
void notify_event(struct jitd *d, const char *event, int64_t grant_id, const char *actor, const char *user,
		  const char *grp, const char *detail);
/* The background sender (granters only); 0 or -1. */
int notify_start(struct jitd *d);
void notify_stop(struct jitd *d);

#endif
