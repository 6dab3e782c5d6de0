/* jitd.h - the state okta-jitd's parts share, and the lowest part of
 * the daemon layer (jitd.c): the audit writer, the scheduler's kick, and
 * the hooks through which a part learns what another did without
 * including it (helper/LAYERS). */
#ifndef OJIT_JITD_H
#define OJIT_JITD_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "fleet_sig.h"
#include "ledger.h"
#include "names.h"
#include "okta_api.h"

struct check_cache;
struct jitd;
struct mirror;
struct nss;
struct oidc_verifier;

/* Who hears of what okta-jitd did. jitd.c owns the interface and calls
 * them; the parts that listen (check_cache.c, notify.c, snapshots.c) are
 * set up by okta-jitd.c at start. A NULL hook is skipped. */
struct jitd_hooks {
	/* Every audit record, after the ledger row and the syslog line
	 * (notify.c: the webhook queue). */
	void (*audit)(struct jitd *d, const char *event, int64_t grant_id, const char *actor, const char *user,
		      const char *grp, const char *detail);
	/* okta-jitd added user (Okta login) to the group named group, Okta
	 * id gid (member = 1), or removed them, and Okta confirmed (check_cache.c:
	 * the check cache). */
	void (*member)(struct jitd *d, const char *user, const char *login, const char *group, const char *gid,
		       int member);
	/* The same change, for the snapshot of that group (snapshots.c:
	 * listed again at once, so the gates see it within seconds). */
	void (*snapshot)(struct jitd *d, const char *group);
	/* A snapshot in the ledger changed: written by this host
	 * (snapshots.c), or another host's as the change listener heard it
	 * (mirror.c). nss_writer.c reads the directory again. */
	void (*snapshot_written)(struct jitd *d, const char *group);
	/* A grant row of user for group was written: by this host
	 * (jitd_grant_update/insert), or by another as the change listener
	 * heard it (user and group "" when not known). nss_writer.c rewrites the
	 * group members of the NSS cache. */
	void (*grant_written)(struct jitd *d, const char *user, const char *group);
};

struct jitd {
	struct ojit_config *cfg;
	struct okta_client *okta; /* NULL on a gate: it holds no Okta credential */
	struct ledger *ledger;
	int ledger_shared; /* PostgreSQL, shared with other hosts */
	struct check_cache *cache;
	struct answers *answers; /* NULL: every check asks (a granter with a shared ledger, or none) */
	/* The change listener (mirror.h): a gate's memory of the shared
	 * ledger, on a granter only a wake-up call; NULL with SQLite. */
	struct mirror *mirror;
	struct jitd_hooks hooks;
	/* A granter's signing key, a gate's verify keys (fleet_sig.h). */
	struct fleet_keys keys;
	/* [nss] (issue 18): the directory of Okta users and the NSS cache
	 * writer (nss_writer.h); NULL when the section is absent. */
	struct nss *nss;
	/* The uid of [nss] keys_user, read from /etc/passwd at start
	 * (keys_uid_set 0: no such user): it may make KEYS requests, and
	 * nothing else. */
	uid_t keys_uid;
	int keys_uid_set;
	/* [web] (issue 19): checks the ID tokens on the web socket; NULL
	 * when [web] is absent (no web socket is opened). */
	struct oidc_verifier *oidc;

	pthread_mutex_t sched_lock;
	pthread_cond_t sched_cond;
	int sched_kick;
	volatile int stopping;
};

/* Who is asking: from SO_PEERCRED on the public and PAM sockets; on the
 * web socket (issue 19) the Okta user a verified ID token names, as the
 * local name [users] login_format gives them (web = 1; uid and pid are
 * then the web service's, and is_root is never set). */
struct actor {
	uid_t uid;
	pid_t pid;
	char user[LEDGER_USER_MAX + 1];
	int is_root;
	int web;
	char okta_id[OKTA_ID_MAX + 1]; /* web: the token's sub, the person by Okta id */
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

/* The channel this thread's request came by ("web"; NULL: the sockets
 * of local users, and no mark): every audit record written meanwhile by
 * this thread gets "channel=NAME" at the end of its detail, so records
 * written deep in the grant code say where the request came from.
 * Returns the channel set before. */
const char *jitd_audit_channel(const char *name);

/* Audit: one row in the ledger and one key=value line in syslog. */
void audit_event(struct jitd *d, const char *event, int64_t grant_id, const char *actor,
		 const char *user, const char *grp, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

/* The same record with its detail already built by audit_format or
 * audit_vformat (audit.h): for callers that decide later whether to write
 * it (refusals.c). Never pass text that did not come from those. */
void audit_write(struct jitd *d, const char *event, int64_t grant_id, const char *actor, const char *user,
		 const char *grp, const char *detail);

/* Tell the hooks (struct jitd_hooks) that okta-jitd changed user's
 * membership of group. */
void jitd_member_changed(struct jitd *d, const char *user, const char *login, const char *group, const char *gid,
			 int member);

/* Tell the hooks that the snapshot of group was written (ledger), or
 * that a grant row of user for group was. */
void jitd_snapshot_written(struct jitd *d, const char *group);
void jitd_grant_written(struct jitd *d, const char *user, const char *group);

/* Write grant g (ledger_grant_update / ledger_grant_insert) signed
 * with this host's fleet key: its updated_at is set to now, and on an
 * update g->sig to the signature of the row as written. Every grant
 * write of the daemon goes through these two. */
int jitd_grant_update(struct jitd *d, struct grant *g, const char *expected_state);
int jitd_grant_insert(struct jitd *d, struct grant *g);

/* A person named the one way (issue 22): who as the audit and the
 * notifications name them, the local name in name and the Okta login in
 * login. who is a local name (its login is [users] login_format's), an
 * Okta login (an approver as the grant row keeps it: the name is
 * login_format's reverse when the login has its shape, else the login),
 * or a system actor (okta-jitd, okta, auto, pam, root, okta-jit-web: no
 * login). "" gives "" twice. */
void jitd_person(const struct jitd *d, const char *who, char *name, size_t nn, char *login, size_t ln);

/* The log fields (util.h) of a line about grant g: its id, user, Okta
 * login and group; f's other fields are cleared. */
void jitd_grant_fields(const struct grant *g, struct ojit_log_fields *f);

/* A short description of who approves requests for flow f. */
void jitd_describe_approvers(const struct jitd *d, const struct flow_config *f, char *out, size_t n);

/* jitd_valid_username, jitd_valid_groupname: names.h (common/). */

#endif
