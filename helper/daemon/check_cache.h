/* check_cache.h - the check cache's insides, private to the check's
 * files (check_cache.c: users and rosters; check_groups.c: group ids and
 * owners; check_decide.c: the decision). The rest of okta-jitd uses
 * check.h. */
#ifndef OJIT_CHECK_CACHE_H
#define OJIT_CHECK_CACHE_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "check.h"

#define CACHE_BUCKETS 4096

/* Okta fetches run on the pool's threads (libcurl, OpenSSL, cJSON: well
 * under this much stack), not on 8 MiB default stacks; at most this many
 * at once, the rest queued. */
#define FETCH_STACK (512 * 1024)
#define FETCH_THREADS 32

struct user_entry {
	struct user_entry *next;
	char user[LEDGER_USER_MAX + 1];
	int fetching;
	int have;             /* a successful fetch happened */
	int64_t fetched_at;   /* wall clock when the last successful fetch began */
	int64_t asked_ms;     /* the same moment, ojit_mono_ms(): the staleness bound's clock */
	int not_found;
	int failing;          /* the last fetch from Okta failed */
	struct okta_error err; /* why, when failing */
	/* A membership change okta-jitd made while a fetch was in flight:
	 * re-applied to the fetched answer, which may predate it. */
	int notes;            /* 0, 1 (note_* below), 2 (too many: refetch) */
	int note_member;
	char note_group[OKTA_ID_MAX + 1];
	char note_name[LEDGER_GROUP_MAX + 1];
	char status[32];
	char uid[OKTA_ID_MAX + 1];
	char login[OKTA_LOGIN_MAX + 1]; /* the Okta user's own login */
	/* "\n"-separated Okta group ids, with leading and trailing "\n":
	 * ids, never names, since an APP_GROUP may bear a gated group's name.
	 * Also "=NAME" for each OKTA_GROUP among them: a gate (whose token
	 * cannot search groups) knows a standing group by name and type. */
	char *groups;
};

/* The last answer a shared (PostgreSQL) ledger gave for a user and group:
 * while the database is unreachable it stands in for up to outage_grace,
 * never past the grant's end. */
struct ledger_memo {
	struct ledger_memo *next;
	int found;
	struct grant_end ge;
	int64_t read_at;
	char key[LEDGER_USER_MAX + LEDGER_GROUP_MAX + 2]; /* user "\n" group */
};

/* Larger groups are not listed: their users are asked one by one. */
#define ROSTER_MAX_MEMBERS 50000
#define ROSTER_MAX_GROUPS 256
#define ROSTER_RETRY_SECONDS 5

struct roster {
	struct roster *next;
	char group[LEDGER_GROUP_MAX + 1];
	char gid[OKTA_ID_MAX + 1];
	int fetching;
	int have;               /* a successful fetch happened */
	int failing;            /* the last fetch failed (Okta unreachable) */
	int dirty;              /* a member was removed while a fetch ran */
	int64_t fetched_at;     /* wall clock when that fetch began */
	int64_t asked_ms;       /* the same moment, ojit_mono_ms() */
	int64_t unusable_until; /* too large, unknown or not readable: per-user answers until then */
	int64_t retry_at;       /* after a failed fetch, the next one not before then */
	char **slots;           /* open addressing: lowercased logins of ACTIVE members */
	size_t cap, n;
};

/* A group name resolved to the one Okta group id it stands for: the one
 * OKTA_GROUP of that name for a gated or granted group, the one group of
 * any type for requesters and owner = group:NAME. Names come from the
 * configuration and from root's checks (the PAM module's group= lines),
 * never from an unprivileged caller, so the table stays small. */
#define GROUP_IDS_MAX 512

struct group_id {
	struct group_id *next;
	char name[LEDGER_GROUP_MAX + 1];
	int okta_group_only;
	int fetching;
	int have;              /* an answer came: gid, or err (not found, ambiguous) */
	int failing;           /* the last fetch failed (Okta unreachable) */
	int64_t fetched_at;
	int64_t retry_at;
	char gid[OKTA_ID_MAX + 1];
	struct okta_error err;
	/* Issue 20 item 3: the id the name last stood for (kept when the name
	 * stops resolving), so a rename keeps working by id and a deleted
	 * group or one turned into another type is told apart from a name
	 * that never existed. */
	char known_gid[OKTA_ID_MAX + 1];
	char renamed_to[OKTA_NAME_MAX + 1]; /* known_gid's name in Okta now, when not name */
	char gone_code[32];                 /* group_deleted | group_wrong_type | "" */
	char gone_why[256];
};

/* A group's owners as Okta last listed them (approver resolution). */
#define OWNERS_MAX 256

struct owners_entry {
	struct owners_entry *next;
	char gid[OKTA_ID_MAX + 1];
	int64_t fetched_at;
	struct okta_owner_list ol;
};

struct check_cache {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct user_entry *buckets[CACHE_BUCKETS];
	struct ledger_memo *memos[CACHE_BUCKETS];
	size_t nmemos;
	size_t n, max;
	int refreshing; /* background refreshes in flight */
	struct roster *rosters;
	size_t nrosters;
	struct group_id *gids;
	size_t ngids;
	struct owners_entry *owners;
	size_t nowners;
	struct fetch_pool *pool;
};

unsigned check_hash(const char *s);
/* Is an answer whose fetch began at asked_ms (ojit_mono_ms()) still
 * within the staleness bound, cache_ttl + refresh_timeout? Past it, it
 * is never served as Okta's current word (issue 20). */
int check_within_bound(const struct jitd *d, int64_t asked_ms);
/* How long okta-jitd's own decisions (requests, approvals) wait for Okta. */
#define DECIDE_WAIT_MS 30000
/* ms from now, for pthread_cond_timedwait. */
void check_deadline_in(struct timespec *deadline, int ms);
/* How long a check waits for Okta. */
#define CHECK_WAIT_MS 2000
/* CHECK_WAIT_MS from now. */
void check_deadline(struct timespec *deadline);
/* What Okta says about user, through the cache (check_cache.c). */
int check_user_info(struct jitd *d, const char *user, const char *login, int64_t max_age, struct user_entry *out,
		    int *from_grace, const struct timespec *deadline, struct okta_error *err);
int check_has_group(const struct user_entry *e, const char *gid);
/* Declared standing members (issue 20: [flow] standing = group:NAME,
 * user:LOGIN): 1 when Okta login login is one of f's user:LOGIN (Okta
 * logins compare without case); check_standing_member also when the user
 * info names (by id) is in one of f's standing groups. A group that
 * cannot be resolved makes nobody standing. */
int check_standing_user(const struct flow_config *f, const char *login);
int check_standing_member(struct jitd *d, const struct flow_config *f, const struct user_entry *info,
			  const struct timespec *deadline);
int check_has_okta_group_named(const struct user_entry *e, const char *name);
/* May user pass for group from its member list (roster)? */
int check_roster_allows(struct jitd *d, const char *group, const char *gid, const char *user, const char *login,
			const struct timespec *deadline, int *from_grace, int64_t *fresh_until);

#endif
