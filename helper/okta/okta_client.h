/* okta_client.h - the Okta client's state and its pacing, private to
 * helper/okta/ (the rest of okta-jit uses okta_api.h). Every call takes
 * a token (okta_token.c), paces itself by the X-Rate-Limit-* headers of
 * the previous answer in the same bucket and backs off (okta_client.c),
 * and is sent by okta_call (okta_call.c). */
#ifndef OJIT_OKTA_CLIENT_H
#define OJIT_OKTA_CLIENT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "okta_api.h"
#include "okta_http.h"
#include "okta_key.h"

#define TOKEN_MAX 8192
#define DPOP_KEY_LIFETIME (24 * 3600)
#define DPOP_NONCE_RETRIES 2
#define CLOCK_SKEW_IGNORE 30
#define MAX_PAGES 10000
#define MAX_ITEMS 1000000

/* The rate-limit buckets are the kinds the metrics count (okta_api.h). */
enum bucket { BUCKET_TOKEN = OKTA_KIND_TOKEN, BUCKET_USERS = OKTA_KIND_USERS, BUCKET_GROUPS = OKTA_KIND_GROUPS,
	      BUCKET_OTHER = OKTA_KIND_OTHER, BUCKET_COUNT = OKTA_KINDS };

struct rate_bucket {
	int known;
	int64_t limit, remaining;
	int64_t reset_local; /* reset moment on our clock */
};

struct okta_client {
	const struct ojit_config *cfg;
	/* The connector key and its kid, and the one being rotated in
	 * (issue 21), under tok_lock. A rotation swaps them and frees
	 * neither: a token fetch may still be signing with the old one. */
	struct okta_key *key;
	struct okta_key *next_key;
	char kid[OKTA_KID_MAX + 1];
	char next_kid[OKTA_KID_MAX + 1];
	int key_failing; /* the last signature failed (a TPM away): logged once */
	struct okta_http *http;
	struct okta_client_options opt;
	char token_url[HTTP_MAX_URL];

	pthread_mutex_t tok_lock;
	pthread_cond_t tok_cond;
	int tok_fetching;
	char *token;      /* secret */
	char token_type[16];
	char token_scope[256];
	int64_t token_refresh_at; /* monotonic ms: fetch a new one from here */
	int64_t token_expires_at; /* monotonic ms */
	uint64_t tok_gen;          /* completed fetches */
	struct okta_error tok_err; /* how the last fetch failed */

	/* DPoP (RFC 9449), under tok_lock. The key lives in memory only, is
	 * never the client-assertion key, and is replaced daily together
	 * with the token bound to it. */
	int dpop_active;
	char dpop_why[256];
	EVP_PKEY *dpop_key;
	EVP_PKEY *token_key;   /* the key the cached token is bound to */
	int64_t dpop_key_born; /* wall clock */
	char dpop_nonce[512];  /* the token endpoint's */
	char api_nonce[512];   /* the resource server's, if it ever asks */
	int64_t clock_offset;  /* Okta's Date minus this host's clock (s), when large */

	pthread_mutex_t rate_lock;
	struct rate_bucket buckets[BUCKET_COUNT];

	_Atomic uint64_t api_calls, token_requests, retries, rate_limited;
	/* okta_client_stats' counts by endpoint kind (okta_note_sent) */
	_Atomic uint64_t requests[BUCKET_COUNT][OKTA_CLASSES], rate_limited_by[BUCKET_COUNT];
	_Atomic uint64_t token_ok, token_failed;
	/* Counts Okta's answers (any status but 429 and 5xx): proof that Okta
	 * is back, which ends the backoffs of calls still waiting to retry. */
	_Atomic uint64_t answers;
};

enum pause { PAUSE_FIXED, PAUSE_BACKOFF };

/* Wait ms (a pace or a retry's wait), or less once shutdown began; a
 * backoff also ends once another call gets an answer from Okta. */
void okta_pause(struct okta_client *c, int64_t ms, enum pause kind);
/* Count an answer from Okta (any status but 429 and 5xx). */
void okta_note_answer(struct okta_client *c, long status);
/* Count a request sent in bucket b, by its answer's status (0: none). */
void okta_note_sent(struct okta_client *c, enum bucket b, long status);
enum bucket okta_bucket_for(const char *url, const char *org);
/* Exponential backoff for attempt (from 250 ms), at most cap, jittered. */
int64_t okta_backoff_ms(int attempt, int64_t cap);
/* How long to wait before a call in bucket b (0: none). */
int64_t okta_pace_ms(struct okta_client *c, enum bucket b);
void okta_rate_update(struct okta_client *c, enum bucket b, const struct http_response *r);
int64_t okta_wait_after_429(const struct http_response *r, int attempt, int64_t cap, enum pause *kind);
/* err for a call that got no HTTP answer; url_what names the endpoint. */
void okta_transport_error(struct okta_error *err, const struct http_response *resp, const char *url_what);

#endif
