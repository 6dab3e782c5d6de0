/* log_journal.h - offer the journal's native sender to util.c's log path
 * (log_journal.c; okta-jitd and okta-jit-web only). */
#ifndef OJIT_LOG_JOURNAL_H
#define OJIT_LOG_JOURNAL_H

/* Call before ojit_log_init: under systemd, log and audit lines then go
 * to the journal with their fields (util.h). Nothing is offered when
 * journald's socket is not there. */
void log_journal_offer(void);

#endif
