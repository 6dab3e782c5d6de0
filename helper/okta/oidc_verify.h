/* oidc_verify.h - an Okta ID token checked in full by okta-jitd itself
 * (issue 19): the web service forwards the signed-in user's raw ID
 * token with each request, and okta-jitd acts as that Okta user only
 * once the token's RS256 signature verifies against the org's own keys
 * and its claims name this org, the [web] client and a recent sign-in.
 * A stolen web process therefore acts only for people who signed in
 * through it recently (a token lives at most [web] session_max). */
#ifndef OJIT_OIDC_VERIFY_H
#define OJIT_OIDC_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "okta_api.h"

#define OIDC_TOKEN_MAX 8192          /* bytes of a compact JWS */
#define OIDC_JWKS_MAX (64 * 1024)    /* bytes of the keys document */
#define OIDC_JWKS_KEYS_MAX 16        /* keys kept from it (Okta lists two or three) */
#define OIDC_KID_MAX 128
#define OIDC_RSA_MIN_BITS 2048
#define OIDC_RSA_MAX_BITS 8192
#define OIDC_JWKS_TTL 3600           /* keys are fetched again after this long */
#define OIDC_JWKS_REFETCH_MIN 60     /* an unknown kid fetches at most once a minute */
#define OIDC_JWKS_RETRY_MIN 5        /* stale keys: a failed fetch is tried again after this */
#define OIDC_CLOCK_SKEW 30           /* seconds of leeway on exp, iat and nbf */

enum oidc_err {
	OIDC_OK = 0,
	OIDC_ERR_FORMAT,    /* not a compact JWS of bounded size, bad base64url or JSON */
	OIDC_ERR_HEADER,    /* alg other than RS256, crit, embedded keys, no kid */
	OIDC_ERR_KID,       /* no key of that kid among the org's */
	OIDC_ERR_SIGNATURE, /* the signature does not verify */
	OIDC_ERR_CLAIMS,    /* iss, aud, sub wrong or missing */
	OIDC_ERR_EXPIRED,   /* exp passed (beyond the skew), or nbf ahead */
	OIDC_ERR_TOO_OLD,   /* iat older than session_max, or in the future */
	OIDC_ERR_KEYS,      /* the org's keys could not be fetched or read */
	OIDC_ERR_INTERNAL,
};

struct oidc_identity {
	char sub[OKTA_ID_MAX + 1];            /* the Okta user id */
	char username[OKTA_LOGIN_MAX + 1];    /* preferred_username, for logs only ("" if absent) */
	int64_t iat, exp;
};

/* Fetch the JWKS document: 0 with *body (malloc'd, NUL-terminated) and
 * *len, or -1 with why. */
typedef int (*oidc_fetch_fn)(void *ctx, char **body, size_t *len, char *why, size_t n);

struct oidc_verifier;

/* issuer: the exact iss expected (the org URL); client_id: the aud;
 * session_max: how old iat may be, seconds. */
struct oidc_verifier *oidc_verifier_new(const char *issuer, const char *client_id, int64_t session_max,
					oidc_fetch_fn fetch, void *ctx);
/* The same with issuer = the org URL and the keys fetched from
 * {org_url}/oauth2/v1/keys over c's HTTP connection (verified TLS, the
 * [okta] ca_file). c must outlive the verifier. */
struct oidc_verifier *oidc_verifier_new_okta(struct okta_client *c, const char *org_url, const char *client_id,
					     int64_t session_max);
void oidc_verifier_free(struct oidc_verifier *v);

/* Verify token at wall-clock time now. OIDC_OK with id filled, or an
 * enum oidc_err with why (never containing the token). Thread-safe. */
enum oidc_err oidc_verify(struct oidc_verifier *v, const char *token, int64_t now, struct oidc_identity *id,
			  char *why, size_t n);

/* How many times the keys were fetched (tests, status). */
uint64_t oidc_verifier_fetches(struct oidc_verifier *v);

const char *oidc_err_name(enum oidc_err e);

/* Strict base64url (RFC 7515 section 2): the URL-safe alphabet only, no
 * padding, no length of 1 mod 4, and the unused low bits of the last
 * character zero, so that one value has one encoding. 0 with *out
 * malloc'd (NUL-terminated beyond *outlen), or -1. */
int oidc_b64url_decode_strict(const char *in, size_t len, unsigned char **out, size_t *outlen);

/* The keys of a JWKS document text (exposed for the tests and fuzzers):
 * the number of usable RS256 keys read (>= 0), or -1 when the document is
 * malformed. Keys are checked as the verifier checks them. */
int oidc_jwks_count(const char *json, size_t len);

/* okta-jit doctor: fetch {org_url}/oauth2/v1/keys as okta-jitd's verifier
 * does (the Okta client's HTTP, verified TLS, no credential) and count its
 * usable RS256 keys: the count (> 0), or -1 with why. */
int oidc_keys_probe(struct okta_client *c, const char *org_url, char *why, size_t n);

#endif
