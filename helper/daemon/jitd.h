/* jitd.h - the state okta-jitd's parts share. */
#ifndef OJIT_JITD_H
#define OJIT_JITD_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "ledger.h"
#include "okta_api.h"

struct check_cache;

struct jitd {
	struct ojit_config *cfg;
	struct okta_client *okta;
	struct ledger *ledger;
	int ledger_shared; /* PostgreSQL, shared with other hosts */
	struct check_cache *cache;
	struct answers *answers; /* NULL: every check asks (shared ledger, or none) */

	pthread_mutex_t sched_lock;
	pthread_cond_t sched_cond;
	int sched_kick;
	volatile int stopping;
};

/* Who is asking, from SO_PEERCRED. */
struct actor {
	uid_t uid;
	pid_t pid;
	char user[LEDGER_USER_MAX + 1];
	int is_root;
};

/* The outcome of an operation, for the client. */
struct jit_result {
	char code[32];     /* "ok" or a machine-readable error code */
	char message[1024];
};

void jit_result_set(struct jit_result *r, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Wake the scheduler: something changed that may make work due sooner. */
void jitd_kick(struct jitd *d);

/* Audit: one row in the ledger and one key=value line in syslog. */
void audit_event(struct jitd *d, const char *event, int64_t grant_id, const char *actor,
		 const char *user, const char *grp, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

/* The same record with its detail already built by audit_format or
 * audit_vformat (audit.h): for callers that decide later whether to write
 * it (refusals.c). Never pass text that did not come from those. */
void audit_write(struct jitd *d, const char *event, int64_t grant_id, const char *actor, const char *user,
		 const char *grp, const char *detail);

/* A local user name okta-jit accepts: the POSIX portable set plus what
 * common distributions allow, 1-32 bytes, not starting with '-'. */
int jitd_valid_username(const char *u);
/* An Okta group name as a client may send it: 1-255 bytes, no control
 * characters (names are matched against newline-joined lists). */
int jitd_valid_groupname(const char *g);

#endif
