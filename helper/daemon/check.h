/* check.h - the login/sudo decision and its cache: check_decide.c,
 * check_cache.c (users, member lists), check_groups.c (group ids,
 * owners); their shared insides are in check_cache.h. */
#ifndef OJIT_CHECK_H
#define OJIT_CHECK_H

#include <time.h>

#include "jitd.h"

#define CHECK_MAX_GROUPS 16

enum check_decision { CHECK_DENY = 0, CHECK_ALLOW = 1, CHECK_UNAVAILABLE = 2 };

struct check_answer {
	enum check_decision decision;
	char code[32];      /* allow | no_grant | not_member | user_inactive | no_user | okta_unavailable | invalid */
	char message[768];
	char group[LEDGER_GROUP_MAX + 1];
	int64_t grant_id;
	int64_t end;        /* grant end, 0 when the group is not time-bound */
	char hint[512];     /* the command that requests access */
	char web_url[1024]; /* the web page that requests it ([web] url), or "" */
	char approvers[256];
	int64_t max_duration;
	int reason_required;
	int from_grace;     /* answered from a stale cache during an outage */
	int64_t valid_until; /* an allow holds until then (grant end, Okta answer's cache_ttl) */
};

struct check_cache *check_cache_new(size_t max_entries);
/* 0 when freed; -1 when a background fetch still holds it (left to the
 * exiting process). */
int check_cache_free(struct check_cache *c);
/* Forget what is cached for user (after a grant changes). */
void check_cache_prefetch(struct jitd *d, const char *user, const char *login);
/* okta-jitd added user to (member = 1) or removed them from the group
 * named group, Okta id gid. */
void check_cache_note_member(struct check_cache *c, const char *user, const char *login, const char *group,
			     const char *gid, int member);
/* The jitd_hooks.member hook (okta-jitd.c sets it): note_member, and on
 * an add a prefetch. Nothing when d has no cache. */
void check_cache_member_changed(struct jitd *d, const char *user, const char *login, const char *group,
				const char *gid, int member);
size_t check_cache_size(struct check_cache *c);
/* At start: resolve every group the configuration names, in the background. */
void check_cache_warm(struct jitd *d);

/* The Okta group id this okta-jitd resolved for a group name: with
 * okta_group_only, the one OKTA_GROUP of that name (gated and granted
 * groups); else the one group of any type (requesters, owner =
 * group:NAME). Resolved once per cache_ttl (a stale id serves while it
 * is asked again) and waited for until deadline (NULL: 30 s). A name
 * outside the configuration is looked up only with may_add (root's
 * checks). 0 with gid set; -1 with err: OKTA_ERR_NOT_FOUND, or
 * OKTA_ERR_AMBIGUOUS (several groups of that name: a configuration
 * error), OKTA_ERR_REFUSED (not looked up), else Okta unavailable. */
int check_group_id(struct jitd *d, const char *name, int okta_group_only, int may_add,
		   const struct timespec *deadline, char *gid, size_t n, struct okta_error *err);

/* Issue 20 item 3: is the gated group name known to be gone (its id was
 * deleted in Okta, or is no OKTA_GROUP now)? 1 with code (group_deleted,
 * group_wrong_type) and why; 0 otherwise. No Okta call. */
int check_group_gone(struct jitd *d, const char *name, char *code, size_t cn, char *why, size_t wn);
/* The lifecycle sweep found gid (what name stands for) gone: checks refuse
 * the name at once, not at its next resolution. */
void check_group_note_gone(struct jitd *d, const char *name, const char *gid, const char *code, const char *why);

/* What Okta says about a local user, through the check cache: at most one
 * fetch per user per cache_ttl, never older than cache_ttl. */
struct check_user {
	int not_found;
	char status[32];
	char id[OKTA_ID_MAX + 1];
	char login[OKTA_LOGIN_MAX + 1];
	char *group_ids; /* private; ask check_user_in_group */
};
int check_user_lookup(struct jitd *d, const char *user, const char *login, struct check_user *out,
		      struct okta_error *err);
int check_user_in_group(const struct check_user *u, const char *gid);
void check_user_free(struct check_user *u);
/* A group's owners, cached for cache_ttl (approver resolution). The
 * caller frees out. */
int check_group_owners(struct jitd *d, const char *gid, struct okta_owner_list *out, struct okta_error *err);

/* caller_root: the caller is root (the PAM module); an unprivileged
 * caller's group names outside the configuration are not looked up. */
int check_decide(struct jitd *d, const char *user, const char *const *groups, size_t ngroups, int caller_root,
		 struct check_answer *ans);

#endif
