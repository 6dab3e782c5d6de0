/* metrics_collect.h - what okta-jitd's metrics (metrics.h) read from its
 * parts at scrape time, and the textfile writer of [daemon] metrics_file
 * (issue 22). */
#ifndef OJIT_METRICS_COLLECT_H
#define OJIT_METRICS_COLLECT_H

#include "jitd.h"

/* At start, once the ledger and the Okta client are open: the readers
 * registered, the start time set, the ledger's errors counted. */
void metrics_collect_init(struct jitd *d);

/* An audit record was written (the jitd audit hook): grant events and
 * ended sessions are counted. */
void metrics_audit_heard(const char *event);

/* [daemon] metrics_file: written at once and then every metrics_interval
 * (after daemonize: a thread). 0, or -1 when the thread cannot start.
 * Without metrics_file, nothing. */
int metrics_file_start(struct jitd *d);
/* Stops the writer and removes the file: a stopped daemon's numbers must
 * not look current (alert on absent(okta_jit_up)). */
void metrics_file_stop(struct jitd *d);

/* Write the text once to path (tmp file beside it, fsync, rename, 0644).
 * 0, or -1 with why in err. */
int metrics_file_write(const char *path, char *err, size_t errlen);

#endif
