/* sessions.h - what happens to login sessions when their grant ends. */
#ifndef OJIT_SESSIONS_H
#define OJIT_SESSIONS_H

#include <sys/types.h>

#include "jitd.h"

/* Start time of pid in clock ticks since boot (field 22 of
 * /proc/PID/stat), or 0 if the process does not exist. */
int64_t sessions_pid_start(pid_t pid);

/* The logind session of a process, read as sd_pid_get_session() does
 * from its cgroup (/proc/PID/cgroup: the kernel's record, which the user
 * cannot change): 0 and the id in out, or -1 (not in a session-ID.scope). */
int sessions_logind_of_pid(pid_t pid, char *out, size_t n);
/* The same from the text of a /proc/PID/cgroup file. */
int sessions_parse_cgroup(const char *text, char *out, size_t n);

/* Remember that this daemon recorded s (its id, pid and pid start): on a
 * shared ledger a host acts only on such sessions. */
void sessions_note_mine(const struct jitd *d, const struct ledger_session *s);
/* ... and that session id is closed. */
void sessions_forget_mine(int64_t id);

/* Warn sessions whose grant ends within warn_before, end the sessions of
 * ended grants whose flow says on_expiry = terminate, and forget sessions
 * whose process is gone. Returns the number of sessions still open. */
size_t sessions_tick(struct jitd *d);

#endif
