/* sessions.h - what happens to login sessions when their grant ends. */
#ifndef OJIT_SESSIONS_H
#define OJIT_SESSIONS_H

#include <sys/types.h>

#include "jitd.h"

/* Start time of pid in clock ticks since boot (field 22 of
 * /proc/PID/stat), or 0 if the process does not exist. */
int64_t sessions_pid_start(pid_t pid);

/* Warn sessions whose grant ends within warn_before, end the sessions of
 * ended grants whose flow says on_expiry = terminate, and forget sessions
 * whose process is gone. Returns the number of sessions still open. */
size_t sessions_tick(struct jitd *d);

#endif
