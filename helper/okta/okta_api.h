/* okta_api.h - the Okta Management API as okta-jit uses it: token,
 * users, groups, memberships, owners; retries, rate limits and errors. */
#ifndef OJIT_OKTA_API_H
#define OJIT_OKTA_API_H

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define OKTA_ID_MAX 64
#define OKTA_LOGIN_MAX 256
#define OKTA_NAME_MAX 256
/* X-Okta-Request-Id as kept: Okta's text, so bounded and of a URL-safe
 * character set (issue 20: matched against Okta's System Log). */
#define OKTA_REQUEST_ID_MAX 64
#define OKTA_SCOPES "okta.groups.manage okta.users.read"
/* A gate (role = gate) reads users and their groups, and changes nothing. */
#define OKTA_SCOPES_GATE "okta.users.read"

enum okta_err_kind {
	OKTA_OK = 0,
	OKTA_ERR_NETWORK,      /* no answer: connect, reset, DNS */
	OKTA_ERR_TLS,          /* certificate verification failed */
	OKTA_ERR_TIMEOUT,      /* no answer in time */
	OKTA_ERR_TOKEN,        /* the token endpoint refused us */
	OKTA_ERR_UNAUTHORIZED, /* 401 on an API call after a refresh */
	OKTA_ERR_FORBIDDEN,    /* 403: admin role missing */
	OKTA_ERR_SCOPE,        /* 403 insufficient_scope */
	OKTA_ERR_NOT_FOUND,    /* 404 */
	OKTA_ERR_RATE_LIMIT,   /* 429 after the retry budget */
	OKTA_ERR_SERVER,       /* 5xx after the retry budget */
	OKTA_ERR_BAD_RESPONSE, /* malformed, oversized or hostile answer */
	OKTA_ERR_REFUSED,      /* okta-jit refuses (APP_GROUP, BUILT_IN) */
	OKTA_ERR_AMBIGUOUS,    /* several matches where one was needed */
	OKTA_ERR_HTTP,         /* any other 4xx */
	OKTA_ERR_DPOP,         /* DPoP required or a proof was refused */
	OKTA_ERR_INTERNAL,
};

struct okta_error {
	enum okta_err_kind kind;
	long status;
	char code[64];     /* errorCode or OAuth "error" */
	char summary[512]; /* errorSummary or error_description */
	char id[128];      /* errorId */
	char hint[512];    /* what the admin should do */
	/* X-Okta-Request-Id of the answer the outcome came from, success or
	 * not ("" when no answer came or its id failed the check): the key
	 * to this call in Okta's System Log. */
	char request_id[OKTA_REQUEST_ID_MAX + 1];
};

struct okta_user {
	char id[OKTA_ID_MAX + 1];
	char login[OKTA_LOGIN_MAX + 1];
	char status[32];
};

struct okta_group {
	char id[OKTA_ID_MAX + 1];
	char name[OKTA_NAME_MAX + 1];
	char type[32];
};

struct okta_owner {
	char id[OKTA_ID_MAX + 1];
	char type[16]; /* USER or GROUP */
	char name[OKTA_NAME_MAX + 1];
};

struct okta_user_list {
	struct okta_user *v;
	size_t n, cap;
};
struct okta_group_list {
	struct okta_group *v;
	size_t n, cap;
};
struct okta_owner_list {
	struct okta_owner *v;
	size_t n, cap;
};

/* Kinds of Okta endpoint (the rate-limit buckets) and classes of answer,
 * as okta_client_stats counts them (issue 22: okta-jitd's metrics). */
enum okta_kind { OKTA_KIND_TOKEN, OKTA_KIND_USERS, OKTA_KIND_GROUPS, OKTA_KIND_OTHER, OKTA_KINDS };
/* 2xx, 3xx, 4xx, 5xx; OKTA_CLASS_ERROR: no HTTP answer (transport, TLS) */
enum okta_class { OKTA_CLASS_2XX, OKTA_CLASS_3XX, OKTA_CLASS_4XX, OKTA_CLASS_5XX, OKTA_CLASS_ERROR, OKTA_CLASSES };
const char *okta_kind_name(int kind);
const char *okta_class_name(int cls);

struct okta_stats {
	uint64_t api_calls;
	uint64_t token_requests;
	uint64_t retries;
	uint64_t rate_limited;
	/* every HTTP request sent, token requests included, by its answer */
	uint64_t requests[OKTA_KINDS][OKTA_CLASSES];
	uint64_t rate_limited_by[OKTA_KINDS]; /* 429 answers */
	/* token fetches (each may take several requests) that ended with a
	 * token, or gave up */
	uint64_t token_ok, token_failed;
};

struct okta_client_options {
	int max_attempts;      /* per call, including the first; default 4 */
	int64_t max_wait_ms;   /* longest single wait (429, backoff); default 30 s */
	int64_t budget_ms;     /* total time one call may take; default 60 s */
};

struct okta_client;

struct okta_key;

#define OKTA_KID_MAX 255

/* The client borrows cfg; it takes ownership of key and of next_key (the
 * key being rotated in, [okta] next_private_key; may be NULL). The kids
 * are cfg's key_id and next_key_id. */
struct okta_client *okta_client_new(const struct ojit_config *cfg, struct okta_key *key,
				    struct okta_key *next_key, const struct okta_client_options *opt);
/* Open [okta] private_key (next: next_private_key) as okta_key_open does,
 * with [okta] tpm2_tcti; err names the config key. */
int okta_client_open_key(const struct ojit_config *cfg, int next, struct okta_key **out, char *err,
			 size_t errlen);
/* One token request signed with the current key (next: the next key and
 * next_key_id), its token thrown away: does Okta take this key under
 * this kid? 0, or -1 with err. */
int okta_client_try_key(struct okta_client *c, int next, struct okta_error *err);
/* Rotation: a token request with the next key; when Okta takes it, the
 * next key becomes the current one (every later assertion is signed
 * with it). old_kid and new_kid (OKTA_KID_MAX + 1) say which. */
int okta_client_rotate(struct okta_client *c, char *old_kid, char *new_kid, struct okta_error *err);
/* The kid in use now. */
void okta_client_kid(struct okta_client *c, char *out, size_t n);
void okta_client_free(struct okta_client *c);
/* Shutdown: calls under way end at once with a transport error, waits
 * are cut short, and later calls fail at once. */
void okta_client_abort(struct okta_client *c);
/* 0 once no HTTP request is under way, -1 if one still is after ms. */
int okta_client_wait_idle(struct okta_client *c, int ms);

/* Get a valid access token (cached; at most one token request in flight).
 * On success out holds "Bearer <token>" style type and token separately. */
int okta_token_get(struct okta_client *c, char *token, size_t n, char *type, size_t tn,
		   char *scope, size_t sn, struct okta_error *err);
/* The same, also handing back (with a reference to drop) the DPoP key the
 * token is bound to, or NULL for a Bearer token. */
int okta_token_get_bound(struct okta_client *c, char *token, size_t n, char *type, size_t tn,
			 char *scope, size_t sn, EVP_PKEY **key, struct okta_error *err);
/* Whether DPoP is in use, and why. */
int okta_client_dpop(struct okta_client *c, char *why, size_t n);
/* Forget the cached token if it still is the given one. */
void okta_token_invalidate(struct okta_client *c, const char *token);

int okta_user_get(struct okta_client *c, const char *login, struct okta_user *u,
		  struct okta_error *err);
/* One user by Okta id (GET /api/v1/users/{id}); Okta's answer must carry
 * that same id (issue 19: the sub of a verified ID token). */
int okta_user_get_by_id(struct okta_client *c, const char *id, struct okta_user *u, struct okta_error *err);
int okta_user_groups(struct okta_client *c, const char *uid, struct okta_group_list *l,
		     struct okta_error *err);
int okta_user_groups_by_login(struct okta_client *c, const char *login, struct okta_group_list *l,
			      struct okta_error *err);
int okta_group_get(struct okta_client *c, const char *gid, struct okta_group *g,
		   struct okta_error *err);
/* Exact name match; OKTA_ERR_NOT_FOUND or OKTA_ERR_AMBIGUOUS otherwise. */
int okta_group_find(struct okta_client *c, const char *name, struct okta_group *g,
		    struct okta_error *err);
/* The same among the groups of one type ("OKTA_GROUP"; NULL: any type). */
int okta_group_find_type(struct okta_client *c, const char *name, const char *type, struct okta_group *g,
			 struct okta_error *err);
/* Groups whose name starts with prefix (NULL: all OKTA_GROUP groups). */
int okta_groups_list(struct okta_client *c, const char *prefix, struct okta_group_list *l,
		     struct okta_error *err);
int okta_group_members(struct okta_client *c, const char *gid, struct okta_user_list *l,
		       struct okta_error *err);
/* Every member of group gid, page by page (1,000 a page), each passed to
 * fn (which returns 0, or -1 to stop); more than max members is refused
 * with OKTA_ERR_REFUSED. */
typedef int (*okta_member_fn)(const struct okta_user *u, void *ctx);
int okta_group_members_each(struct okta_client *c, const char *gid, size_t max, okta_member_fn fn, void *ctx,
			    struct okta_error *err);
/* The same, with the profile attributes [nss] names (issue 18): each
 * member's UID, GECOS and SSH key attributes as Okta holds them, bounded
 * and checked for shape here (a key's syntax is checked where it is used). */
#define OKTA_PROFILE_KEYS_MAX 64      /* key attribute entries, at most */
#define OKTA_PROFILE_KEY_LEN 16384    /* bytes of one entry, at most */
#define OKTA_PROFILE_KEYS_LEN 65536   /* bytes of all of a user's entries, at most */
#define OKTA_PROFILE_GECOS_LEN 255
struct okta_profile_attrs {
	const char *uid;   /* NULL: none */
	const char *gecos; /* NULL: displayName, else "firstName lastName" */
	const char *keys;  /* NULL: none */
};
struct okta_profile {
	char uid[48];      /* decimal text; "" absent or null; "!" and why it is no integer */
	char gecos[OKTA_PROFILE_GECOS_LEN + 1]; /* no control characters, no ':' */
	char keys_err[96]; /* "" or why the key attribute was refused as a whole */
	const char *keys[OKTA_PROFILE_KEYS_MAX]; /* valid during the callback only */
	size_t key_len[OKTA_PROFILE_KEYS_MAX];
	size_t nkeys;
};
typedef int (*okta_member_profile_fn)(const struct okta_user *u, const struct okta_profile *p, void *ctx);
int okta_group_members_profile_each(struct okta_client *c, const char *gid, size_t max,
				    const struct okta_profile_attrs *a, okta_member_profile_fn fn, void *ctx,
				    struct okta_error *err);
/* The profile part alone, on a user object's JSON text (the tests and
 * fuzzers), the keys copied into keybuf: 0, or -1 when buf is no JSON or
 * the keys do not fit. */
int okta_parse_profile_json(const char *buf, size_t len, const struct okta_profile_attrs *a, struct okta_profile *p,
			    char *keybuf, size_t keybuflen);
int okta_group_owners(struct okta_client *c, const char *gid, struct okta_owner_list *l,
		      struct okta_error *err);
/* Okta's group rules (issue 20 item 3): GET /api/v1/groups/rules, every
 * page (200 a page, Okta's most); fn is called once for each group id a
 * rule's actions.assignUserToGroups.groupIds names, with the rule (0 to go
 * on, -1 to stop). Needs okta.groups.read (okta.groups.manage holds it). */
struct okta_group_rule {
	char id[OKTA_ID_MAX + 1];
	char name[OKTA_NAME_MAX + 1];
	char status[16]; /* ACTIVE, INACTIVE, INVALID */
};
typedef int (*okta_rule_fn)(const struct okta_group_rule *r, const char *gid, void *ctx);
int okta_group_rules_each(struct okta_client *c, okta_rule_fn fn, void *ctx, struct okta_error *err);
/* Refuse APP_GROUP and BUILT_IN before calling Okta. */
int okta_group_add_member(struct okta_client *c, const struct okta_group *g, const char *uid,
			  struct okta_error *err);
int okta_group_remove_member(struct okta_client *c, const struct okta_group *g,
			     const char *uid, struct okta_error *err);

void okta_user_list_free(struct okta_user_list *l);
void okta_group_list_free(struct okta_group_list *l);
void okta_owner_list_free(struct okta_owner_list *l);

void okta_client_stats(struct okta_client *c, struct okta_stats *out);

/* "summary (HTTP 403, errorCode E0000006, errorId X)" */
void okta_error_format(const struct okta_error *e, char *buf, size_t n);
const char *okta_err_kind_name(enum okta_err_kind k);

/* Parse an Okta or OAuth error body and WWW-Authenticate into e and set the
 * hint. Exposed for the unit tests and fuzzers. */
void okta_error_from_response(struct okta_error *e, long status, const char *body, size_t len,
			      const char *www_authenticate, int token_endpoint);

/* Parse one user, group or owner object from JSON text with the checks
 * applied to Okta's answers. Exposed for the fuzzers. */
int okta_parse_user_json(const char *buf, size_t len, struct okta_user *u, struct okta_error *err);
int okta_parse_group_json(const char *buf, size_t len, struct okta_group *g, struct okta_error *err);
int okta_parse_owner_json(const char *buf, size_t len, struct okta_owner *w, struct okta_error *err);

/* search=profile.login eq "<JSON-escaped>", then percent-encoded. */
int okta_search_eq(const char *property, const char *value, struct ojit_buf *out);

/* Validators for data from Okta. */
int okta_valid_id(const char *s);
/* Is s an X-Okta-Request-Id worth keeping: 1..OKTA_REQUEST_ID_MAX
 * characters of [A-Za-z0-9._~-]? */
int okta_valid_request_id(const char *s);
int okta_valid_user_status(const char *s);

#endif
