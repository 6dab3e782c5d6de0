/* check.h - the login/sudo decision and its cache. */
#ifndef OJIT_CHECK_H
#define OJIT_CHECK_H

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
void check_cache_note_member(struct check_cache *c, const char *user, const char *login, const char *group,
			     int member);
size_t check_cache_size(struct check_cache *c);

int check_decide(struct jitd *d, const char *user, const char *const *groups, size_t ngroups,
		 struct check_answer *ans);

#endif
