/* okta_api.c - calls to Okta with token handling, pacing and retries.
 *
 * Every call goes through okta_call(): it takes a token, paces itself by
 * the X-Rate-Limit-* headers of the previous answer in the same bucket,
 * retries 429 (until the reset Okta names), 5xx and transport failures
 * (bounded exponential backoff with jitter), and refreshes the token once
 * on a 401. Everything Okta sends back is checked before use. */
#include "okta_api.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jwt.h"
#include "okta_http.h"

#define TOKEN_MAX 8192
#define DPOP_KEY_LIFETIME (24 * 3600)
#define DPOP_NONCE_RETRIES 2
#define CLOCK_SKEW_IGNORE 30
#define MAX_PAGES 10000
#define MAX_ITEMS 1000000

enum bucket { BUCKET_TOKEN, BUCKET_USERS, BUCKET_GROUPS, BUCKET_OTHER, BUCKET_COUNT };

struct rate_bucket {
	int known;
	int64_t limit, remaining;
	int64_t reset_local; /* reset moment on our clock */
};

struct okta_client {
	const struct ojit_config *cfg;
	EVP_PKEY *key;
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
	/* Counts Okta's answers (any status but 429 and 5xx): proof that Okta
	 * is back, which ends the backoffs of calls still waiting to retry. */
	_Atomic uint64_t answers;
};

enum pause { PAUSE_FIXED, PAUSE_BACKOFF };

/* Wait ms (a pace or a retry's wait), or less once shutdown began. A
 * backoff (one okta-jit chose, not one Okta named) also ends as soon as
 * another call gets an answer from Okta: after an outage, a fetch that
 * a login is waiting for must not sleep on for seconds once Okta is
 * back. */
static void okta_pause(struct okta_client *c, int64_t ms, enum pause kind)
{
	uint64_t seen = atomic_load(&c->answers);

	while (ms > 0 && !okta_http_aborted(c->http)) {
		if (kind == PAUSE_BACKOFF && atomic_load(&c->answers) != seen)
			return;
		ojit_sleep_ms(ms > 50 ? 50 : ms);
		ms -= 50;
	}
}

static void note_answer(struct okta_client *c, long status)
{
	if (status != 429 && status < 500)
		atomic_fetch_add(&c->answers, 1);
}

static void err_set(struct okta_error *e, enum okta_err_kind kind, long status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void err_set(struct okta_error *e, enum okta_err_kind kind, long status, const char *fmt, ...)
{
	va_list ap;

	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->status = status;
	va_start(ap, fmt);
	vsnprintf(e->summary, sizeof(e->summary), fmt, ap);
	va_end(ap);
	ojit_strip_controls(e->summary);
}

const char *okta_err_kind_name(enum okta_err_kind k)
{
	static const char *const names[] = {
		"ok", "network", "tls", "timeout", "token", "unauthorized", "forbidden",
		"scope", "not_found", "rate_limit", "server", "bad_response", "refused",
		"ambiguous", "http", "dpop", "internal",
	};

	if ((size_t)k < sizeof(names) / sizeof(names[0]))
		return names[k];
	return "unknown";
}

void okta_error_format(const struct okta_error *e, char *buf, size_t n)
{
	char extra[256] = "";
	size_t off = 0;

	if (e->status > 0)
		off += (size_t)snprintf(extra + off, sizeof(extra) - off, "HTTP %ld", e->status);
	if (e->code[0] != '\0' && off < sizeof(extra))
		off += (size_t)snprintf(extra + off, sizeof(extra) - off, "%s%s", off ? ", " : "", e->code);
	if (e->id[0] != '\0' && off < sizeof(extra))
		snprintf(extra + off, sizeof(extra) - off, "%serrorId %s", off ? ", " : "", e->id);
	if (extra[0] != '\0')
		snprintf(buf, n, "%s (%s)", e->summary, extra);
	else
		snprintf(buf, n, "%s", e->summary);
}

int okta_valid_id(const char *s)
{
	size_t i, len = strlen(s);

	if (len == 0 || len > OKTA_ID_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]))
			return 0;
	return 1;
}

int okta_valid_user_status(const char *s)
{
	static const char *const st[] = { "ACTIVE", "DEPROVISIONED", "LOCKED_OUT", "PASSWORD_EXPIRED",
					  "PROVISIONED", "RECOVERY", "STAGED", "SUSPENDED",
					  "ACTIVATING", NULL };
	size_t i;

	for (i = 0; st[i] != NULL; i++)
		if (strcmp(s, st[i]) == 0)
			return 1;
	return 0;
}

/* Does JSON text hold a NUL inside a string, raw or as the escape
 * \u0000? cJSON's strings end at the first NUL, so "web-sudo\u0000x" would
 * read as "web-sudo" and "alice@example.com\u0000x" as alice's login. */
static int json_has_nul(const char *p, size_t len)
{
	int in_str = 0;
	size_t i;

	if (memchr(p, '\0', len) != NULL)
		return 1;
	for (i = 0; i < len; i++) {
		if (!in_str) {
			in_str = p[i] == '"';
			continue;
		}
		if (p[i] == '"') {
			in_str = 0;
			continue;
		}
		if (p[i] != '\\' || ++i >= len)
			continue;
		if (p[i] == 'u' && len - i > 4 && memcmp(p + i + 1, "0000", 4) == 0)
			return 1;
	}
	return 0;
}

/* Parse an answer from Okta; NULL when it is not JSON or holds a NUL in
 * a string (refused whole: no field of it is trusted). */
static cJSON *json_parse(const char *p, size_t len)
{
	if (p == NULL || json_has_nul(p, len))
		return NULL;
	return cJSON_ParseWithLength(p, len);
}

/* Copy a JSON string member into dst if it is a string that fits and has no
 * control characters; return 0 on success. */
static int json_str(const cJSON *obj, const char *name, char *dst, size_t n)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);
	const unsigned char *p;

	if (!cJSON_IsString(it) || it->valuestring == NULL)
		return -1;
	if (strlen(it->valuestring) >= n)
		return -1;
	for (p = (const unsigned char *)it->valuestring; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return -1;
	memcpy(dst, it->valuestring, strlen(it->valuestring) + 1);
	return 0;
}

/* Like json_str but lossy: truncates and strips; for error texts. */
static void json_text(const cJSON *obj, const char *name, char *dst, size_t n)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);

	if (!cJSON_IsString(it) || it->valuestring == NULL)
		return;
	ojit_strlcpy(dst, it->valuestring, n);
	ojit_strip_controls(dst);
}

/* Find key="value" (or key=value) in a WWW-Authenticate header. */
static int www_auth_param(const char *h, const char *key, char *out, size_t n)
{
	size_t klen = strlen(key);
	const char *p = h;

	while ((p = strstr(p, key)) != NULL) {
		if ((p == h || p[-1] == ' ' || p[-1] == ',') && p[klen] == '=') {
			const char *v = p + klen + 1;
			size_t len;

			if (*v == '"') {
				const char *end = strchr(++v, '"');

				if (end == NULL)
					return -1;
				len = (size_t)(end - v);
			} else {
				len = strcspn(v, ", ");
			}
			if (len >= n)
				len = n - 1;
			memcpy(out, v, len);
			out[len] = '\0';
			ojit_strip_controls(out);
			return 0;
		}
		p += klen;
	}
	return -1;
}

static void set_hint(struct okta_error *e, int token_endpoint)
{
	const char *h = NULL;

	if (token_endpoint) {
		if (strcmp(e->code, "invalid_client") == 0)
			h = "Okta did not accept the client credentials: check that [okta] client_id is the app's Client ID "
			    "(General tab > Client Credentials), that client authentication is 'Public key / Private key', "
			    "that the public key of [okta] private_key is listed under PUBLIC KEYS, and that [okta] key_id is its KID";
		else if (strcmp(e->code, "invalid_scope") == 0)
			h = "grant okta.groups.manage and okta.users.read to the app on its Okta API Scopes tab";
		else if (strcmp(e->code, "invalid_dpop_proof") == 0 || strcmp(e->code, "use_dpop_nonce") == 0)
			h = "the app requires DPoP: set [okta] dpop = auto (or on), or uncheck 'Require Demonstrating "
			    "Proof of Possession (DPoP) header in token requests' in the app's General Settings";
		else if (strcmp(e->code, "unauthorized_client") == 0)
			h = "allow the Client Credentials grant for the app (General tab > General Settings > Grant type)";
		else if (strcmp(e->code, "access_denied") == 0)
			h = "Okta refused this network location: check the app's network zone restrictions";
	} else if (e->kind == OKTA_ERR_SCOPE) {
		h = "the access token lacks a scope this call needs: grant okta.groups.manage and okta.users.read on the app's "
		    "Okta API Scopes tab";
	} else if (e->kind == OKTA_ERR_FORBIDDEN) {
		h = "the app's admin role does not allow this: assign it the Organization Administrator role (Admin roles tab), "
		    "or Super Admin for groups that hold admin roles";
	} else if (e->kind == OKTA_ERR_RATE_LIMIT) {
		h = "Okta's rate limit was reached: raise the app's rate limit share (Application rate limits tab) or lower the load";
	}
	if (h != NULL)
		ojit_strlcpy(e->hint, h, sizeof(e->hint));
}

void okta_error_from_response(struct okta_error *e, long status, const char *body, size_t len,
			      const char *www_authenticate, int token_endpoint)
{
	cJSON *j = NULL;
	char werr[64] = "", wdesc[256] = "";

	memset(e, 0, sizeof(*e));
	e->status = status;
	if (status == 429)
		e->kind = OKTA_ERR_RATE_LIMIT;
	else if (status >= 500)
		e->kind = OKTA_ERR_SERVER;
	else if (status == 404)
		e->kind = OKTA_ERR_NOT_FOUND;
	else if (status == 403)
		e->kind = OKTA_ERR_FORBIDDEN;
	else if (status == 401)
		e->kind = token_endpoint ? OKTA_ERR_TOKEN : OKTA_ERR_UNAUTHORIZED;
	else
		e->kind = token_endpoint ? OKTA_ERR_TOKEN : OKTA_ERR_HTTP;

	if (body != NULL && len > 0)
		j = cJSON_ParseWithLength(body, len); /* (texts only: a NUL just ends one early) */
	if (cJSON_IsObject(j)) {
		json_text(j, "errorCode", e->code, sizeof(e->code));
		json_text(j, "errorSummary", e->summary, sizeof(e->summary));
		json_text(j, "errorId", e->id, sizeof(e->id));
		if (e->code[0] == '\0') {
			json_text(j, "error", e->code, sizeof(e->code));
			json_text(j, "error_description", e->summary, sizeof(e->summary));
		}
		/* errorCauses carry the detail of validation errors. */
		const cJSON *causes = cJSON_GetObjectItemCaseSensitive(j, "errorCauses");
		const cJSON *c0 = cJSON_IsArray(causes) ? cJSON_GetArrayItem(causes, 0) : NULL;
		char cause[200] = "";

		if (cJSON_IsObject(c0))
			json_text(c0, "errorSummary", cause, sizeof(cause));
		if (cause[0] != '\0') {
			size_t off = strlen(e->summary);

			snprintf(e->summary + off, sizeof(e->summary) - off, ": %s", cause);
		}
	}
	cJSON_Delete(j);
	if (www_authenticate != NULL && www_authenticate[0] != '\0' &&
	    www_auth_param(www_authenticate, "error", werr, sizeof(werr)) == 0) {
		www_auth_param(www_authenticate, "error_description", wdesc, sizeof(wdesc));
		if (e->code[0] == '\0')
			ojit_strlcpy(e->code, werr, sizeof(e->code));
		if (e->summary[0] == '\0')
			ojit_strlcpy(e->summary, wdesc[0] ? wdesc : werr, sizeof(e->summary));
		if (strcmp(werr, "insufficient_scope") == 0) {
			char scope[128] = "";

			e->kind = OKTA_ERR_SCOPE;
			if (www_auth_param(www_authenticate, "scope", scope, sizeof(scope)) == 0) {
				size_t off = strlen(e->summary);

				snprintf(e->summary + off, sizeof(e->summary) - off, " (needs %s)", scope);
			}
		} else if (strcmp(werr, "invalid_dpop_proof") == 0 || strcmp(werr, "use_dpop_nonce") == 0) {
			e->kind = OKTA_ERR_DPOP;
		}
	}
	if (strcmp(e->code, "invalid_dpop_proof") == 0 || strcmp(e->code, "use_dpop_nonce") == 0)
		e->kind = OKTA_ERR_DPOP;
	if (e->summary[0] == '\0')
		snprintf(e->summary, sizeof(e->summary), "Okta answered HTTP %ld", status);
	ojit_strip_controls(e->summary);
	set_hint(e, token_endpoint);
}

struct okta_client *okta_client_new(const struct ojit_config *cfg, EVP_PKEY *key,
				    const struct okta_client_options *opt)
{
	struct okta_client *c = calloc(1, sizeof(*c));
	struct okta_http_options ho;

	if (c == NULL)
		return NULL;
	c->cfg = cfg;
	c->key = key;
	if (opt != NULL)
		c->opt = *opt;
	if (c->opt.max_attempts <= 0)
		c->opt.max_attempts = 4;
	if (c->opt.max_wait_ms <= 0)
		c->opt.max_wait_ms = 30000;
	if (c->opt.budget_ms <= 0)
		c->opt.budget_ms = 60000;
	pthread_mutex_init(&c->tok_lock, NULL);
	pthread_cond_init(&c->tok_cond, NULL);
	pthread_mutex_init(&c->rate_lock, NULL);
	memset(&ho, 0, sizeof(ho));
	ho.ca_file = cfg->ca_file;
	ho.timeout_ms = (long)cfg->timeout * 1000;
	ho.connect_timeout_ms = ho.timeout_ms < 5000 ? ho.timeout_ms : 5000;
	if (cfg->dpop == DPOP_ON) {
		c->dpop_active = 1;
		ojit_strlcpy(c->dpop_why, "[okta] dpop = on", sizeof(c->dpop_why));
	}
	c->http = okta_http_new(&ho);
	if (c->http == NULL ||
	    ojit_snprintf(c->token_url, sizeof(c->token_url), "%s/oauth2/v1/token", cfg->org_url) < 0) {
		okta_client_free(c);
		return NULL;
	}
	return c;
}

void okta_client_abort(struct okta_client *c)
{
	if (c != NULL)
		okta_http_abort(c->http);
}

int okta_client_wait_idle(struct okta_client *c, int ms)
{
	return c == NULL ? 0 : okta_http_wait_idle(c->http, ms);
}

void okta_client_free(struct okta_client *c)
{
	if (c == NULL)
		return;
	okta_http_free(c->http);
	ojit_free_secret(c->token);
	EVP_PKEY_free(c->key);
	EVP_PKEY_free(c->dpop_key);
	EVP_PKEY_free(c->token_key);
	pthread_mutex_destroy(&c->tok_lock);
	pthread_cond_destroy(&c->tok_cond);
	pthread_mutex_destroy(&c->rate_lock);
	free(c);
}

void okta_client_stats(struct okta_client *c, struct okta_stats *out)
{
	out->api_calls = atomic_load(&c->api_calls);
	out->token_requests = atomic_load(&c->token_requests);
	out->retries = atomic_load(&c->retries);
	out->rate_limited = atomic_load(&c->rate_limited);
}

static enum bucket bucket_for(const char *url, const char *org)
{
	const char *path = url + strlen(org);

	if (strncmp(path, "/oauth2/", 8) == 0)
		return BUCKET_TOKEN;
	if (strncmp(path, "/api/v1/users", 13) == 0)
		return BUCKET_USERS;
	if (strncmp(path, "/api/v1/groups", 14) == 0)
		return BUCKET_GROUPS;
	return BUCKET_OTHER;
}

static int64_t jitter(int64_t ms)
{
	uint32_t r = 0;

	if (ms <= 1)
		return ms;
	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		r = (uint32_t)ojit_mono_ms();
	/* "equal jitter": half fixed, half random */
	return ms / 2 + (int64_t)(r % (uint32_t)(ms / 2 + 1));
}

static int64_t backoff_ms(int attempt, int64_t cap)
{
	int64_t ms = 250LL << (attempt < 6 ? attempt : 6);

	if (ms > cap)
		ms = cap;
	return jitter(ms);
}

/* Slow down before the bucket runs dry: when fewer than a tenth of the
 * requests are left, spread them over the time until the reset. */
static int64_t pace_ms(struct okta_client *c, enum bucket b)
{
	struct rate_bucket *rb = &c->buckets[b];
	int64_t now = ojit_now(), wait = 0, left;

	pthread_mutex_lock(&c->rate_lock);
	if (rb->known && rb->reset_local > now && rb->limit > 0) {
		left = rb->reset_local - now;
		if (rb->remaining <= 0)
			wait = left * 1000 + 1000;
		else if (rb->remaining * 10 <= rb->limit)
			wait = left * 1000 / (rb->remaining + 1);
		if (rb->remaining > 0)
			rb->remaining--; /* count ourselves before the answer comes */
	}
	pthread_mutex_unlock(&c->rate_lock);
	return wait;
}

static void rate_update(struct okta_client *c, enum bucket b, const struct http_response *r)
{
	struct rate_bucket *rb = &c->buckets[b];
	int64_t now = ojit_now();

	if (!r->has_rate || r->rate_limit < 0 || r->rate_remaining < 0)
		return;
	pthread_mutex_lock(&c->rate_lock);
	rb->known = 1;
	rb->limit = r->rate_limit;
	rb->remaining = r->rate_remaining;
	/* Reset is Okta's clock; convert with the Date header so skew
	 * between this host and Okta does not matter. */
	if (r->rate_reset > 0 && r->date > 0)
		rb->reset_local = now + (r->rate_reset - r->date);
	else if (r->rate_reset > 0)
		rb->reset_local = r->rate_reset;
	else
		/* No reset named: pausing every call for a guessed minute would
		 * hold logins past any PAM timeout; the 429 backoff paces. */
		rb->reset_local = now + 1;
	if (rb->reset_local > now + 3600)
		rb->reset_local = now + 3600;
	pthread_mutex_unlock(&c->rate_lock);
}

/* How long to wait after a 429: until X-Rate-Limit-Reset (relative to the
 * response Date) plus one second, else Retry-After, else backoff (*kind
 * says which). */
static int64_t wait_after_429(const struct http_response *r, int attempt, int64_t cap, enum pause *kind)
{
	int64_t ms = -1, ra;

	if (r->rate_reset > 0 && r->date > 0)
		ms = (r->rate_reset - r->date + 1) * 1000;
	else if (r->rate_reset > 0)
		ms = (r->rate_reset - ojit_now() + 1) * 1000;
	else if (r->retry_after[0] != '\0' &&
		 ojit_parse_int64(r->retry_after, 0, 86400, &ra) == 0)
		ms = ra * 1000;
	*kind = ms < 0 ? PAUSE_BACKOFF : PAUSE_FIXED;
	if (ms < 0)
		ms = backoff_ms(attempt + 2, cap);
	if (ms < 100)
		ms = 100;
	if (ms > cap)
		ms = cap;
	return ms;
}

static void transport_error(struct okta_error *err, const struct http_response *resp, const char *url_what)
{
	if (resp->tls_error)
		err_set(err, OKTA_ERR_TLS, 0,
			"TLS verification of %s failed: %s (check [okta] org_url and, for a private CA, [okta] ca_file)",
			url_what, resp->curl_error);
	else if (resp->timed_out)
		err_set(err, OKTA_ERR_TIMEOUT, 0, "Okta did not answer in time (%s)", resp->curl_error);
	else if (resp->body.overflow)
		err_set(err, OKTA_ERR_BAD_RESPONSE, 0, "Okta's response was too large: %s", resp->curl_error);
	else
		err_set(err, OKTA_ERR_NETWORK, 0, "cannot reach Okta: %s", resp->curl_error);
}

int okta_client_dpop(struct okta_client *c, char *why, size_t n)
{
	int on;

	pthread_mutex_lock(&c->tok_lock);
	on = c->dpop_active;
	if (why != NULL)
		ojit_strlcpy(why, c->dpop_why, n);
	pthread_mutex_unlock(&c->tok_lock);
	return on;
}

/* The DPoP key to use for a new token, made (or replaced when a day old)
 * here; returned with a reference the caller drops. */
static EVP_PKEY *dpop_key_for_token(struct okta_client *c)
{
	EVP_PKEY *k = NULL;
	int64_t now = ojit_now();

	pthread_mutex_lock(&c->tok_lock);
	if (c->dpop_key == NULL || now - c->dpop_key_born >= DPOP_KEY_LIFETIME) {
		EVP_PKEY *fresh = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

		if (fresh != NULL) {
			EVP_PKEY_free(c->dpop_key);
			c->dpop_key = fresh;
			c->dpop_key_born = now;
		}
	}
	if (c->dpop_key != NULL && EVP_PKEY_up_ref(c->dpop_key) == 1)
		k = c->dpop_key;
	pthread_mutex_unlock(&c->tok_lock);
	return k;
}

/* htu: scheme, host and path, percent-decoded (as Okta compares it), no
 * query or fragment. */
static int dpop_htu(const char *url, char *out, size_t n)
{
	size_t i, o = 0, len = strcspn(url, "?#");

	for (i = 0; i < len; i++) {
		char c = url[i];

		if (c == '%' && i + 2 < len && isxdigit((unsigned char)url[i + 1]) &&
		    isxdigit((unsigned char)url[i + 2])) {
			char hex[3] = { url[i + 1], url[i + 2], 0 };

			c = (char)strtol(hex, NULL, 16);
			i += 2;
		}
		if (o + 1 >= n)
			return -1;
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}

/* One token request. Caller holds no lock. */
static int token_fetch(struct okta_client *c, struct okta_error *err)
{
	const struct ojit_config *cfg = c->cfg;
	struct ojit_buf form, enc;
	struct http_request req;
	struct http_response resp;
	char *assertion = NULL;
	int64_t start = ojit_mono_ms();
	int attempt, r = -1;
	cJSON *j = NULL;
	char retry_for[128] = "";
	char *proof = NULL;
	EVP_PKEY *dkey = NULL;
	int nonce_retries = 0, dpop_used = 0, skew_retried = 0;
	int64_t signed_offset = 0, learned_offset = 0;

	ojit_buf_init(&form, 0);
	ojit_buf_init(&enc, 0);
	http_response_init(&resp);
	for (attempt = 0; attempt < c->opt.max_attempts; attempt++) {
		int64_t wait;
		enum pause pause = PAUSE_BACKOFF;
		char nonce[512];

		/* A fresh assertion every time: Okta burns the jti even when the
		 * request fails. */
		ojit_free_secret(assertion);
		assertion = NULL;
		ojit_buf_free_secret(&form);
		ojit_buf_free(&enc);
		http_response_free(&resp);
		http_response_init(&resp);
		pthread_mutex_lock(&c->tok_lock);
		signed_offset = c->clock_offset;
		pthread_mutex_unlock(&c->tok_lock);
		/* Okta checks iat and exp against its own clock: sign in its time. */
		if (jwt_client_assertion(c->key, cfg->key_id, cfg->client_id, c->token_url,
					 ojit_now() + signed_offset, &assertion) != 0) {
			err_set(err, OKTA_ERR_INTERNAL, 0, "cannot sign the client assertion");
			goto out;
		}
		if (http_url_encode(cfg->role_gate ? OKTA_SCOPES_GATE : OKTA_SCOPES, &enc) != 0 ||
		    ojit_buf_printf(&form,
				    "grant_type=client_credentials&scope=%s&client_assertion_type="
				    "urn%%3Aietf%%3Aparams%%3Aoauth%%3Aclient-assertion-type%%3Ajwt-bearer"
				    "&client_assertion=%s",
				    enc.data, assertion) != 0) {
			err_set(err, OKTA_ERR_INTERNAL, 0, "out of memory");
			goto out;
		}
		ojit_free_secret(proof);
		proof = NULL;
		pthread_mutex_lock(&c->tok_lock);
		dpop_used = c->dpop_active;
		ojit_strlcpy(nonce, c->dpop_nonce, sizeof(nonce));
		pthread_mutex_unlock(&c->tok_lock);
		if (dpop_used) {
			EVP_PKEY_free(dkey);
			dkey = dpop_key_for_token(c);
			if (dkey == NULL ||
			    jwt_dpop_proof(dkey, "POST", c->token_url, nonce, NULL, ojit_now(), &proof) != 0) {
				err_set(err, OKTA_ERR_INTERNAL, 0, "cannot make a DPoP proof");
				goto out;
			}
		}
		wait = pace_ms(c, BUCKET_TOKEN);
		if (wait > 0)
			okta_pause(c, wait > c->opt.max_wait_ms ? c->opt.max_wait_ms : wait, PAUSE_FIXED);
		memset(&req, 0, sizeof(req));
		req.method = "POST";
		req.url = c->token_url;
		req.content_type = "application/x-www-form-urlencoded";
		req.body = form.data;
		req.body_len = form.len;
		req.dpop = proof;
		req.retry_for = retry_for[0] ? retry_for : NULL;
		req.retry_count = attempt;
		atomic_fetch_add(&c->token_requests, 1);
		if (okta_http_perform(c->http, &req, &resp) != 0) {
			transport_error(err, &resp, "the Okta token endpoint");
			if (err->kind == OKTA_ERR_TLS || err->kind == OKTA_ERR_BAD_RESPONSE)
				goto out;
			wait = backoff_ms(attempt, c->opt.max_wait_ms);
		} else {
			rate_update(c, BUCKET_TOKEN, &resp);
			note_answer(c, resp.status);
			if (resp.dpop_nonce[0] != '\0') {
				pthread_mutex_lock(&c->tok_lock);
				ojit_strlcpy(c->dpop_nonce, resp.dpop_nonce, sizeof(c->dpop_nonce));
				pthread_mutex_unlock(&c->tok_lock);
			}
			if (resp.date > 0) {
				int64_t off = resp.date - ojit_now();

				/* Small differences are within Okta's leeway; the Date
				 * header has one-second resolution. */
				pthread_mutex_lock(&c->tok_lock);
				c->clock_offset = off > CLOCK_SKEW_IGNORE || off < -CLOCK_SKEW_IGNORE ? off : 0;
				learned_offset = c->clock_offset;
				pthread_mutex_unlock(&c->tok_lock);
			}
			if (resp.status == 200)
				break;
			okta_error_from_response(err, resp.status, resp.body.data, resp.body.len,
						 resp.www_authenticate, 1);
			/* An assertion refused because this host's clock is off:
			 * sign again once, in Okta's time. */
			if (resp.status == 401 && !skew_retried && learned_offset != signed_offset) {
				skew_retried = 1;
				warn_f("this host's clock is %llds off Okta's; signing in Okta's time (fix the clock: timedatectl)",
				       (long long)learned_offset);
				attempt--;
				continue;
			}
			if (dpop_used && strcmp(err->code, "invalid_dpop_proof") == 0)
				ojit_strlcpy(err->hint,
					     "Okta refused okta-jit's DPoP proof: check that this host's clock is right "
					     "(timedatectl; proofs carry the time) and that nothing rewrites the request URL",
					     sizeof(err->hint));
			/* DPoP: Okta asks for a nonce (or a fresh one), or tells us
			 * the app requires proofs. Both are answered at once with a
			 * fresh assertion and proof; they do not use up attempts. */
			if (dpop_used && strcmp(err->code, "use_dpop_nonce") == 0 && resp.dpop_nonce[0] != '\0' &&
			    nonce_retries < DPOP_NONCE_RETRIES) {
				nonce_retries++;
				attempt--;
				continue;
			}
			if (!dpop_used && strcmp(err->code, "invalid_dpop_proof") == 0 && c->cfg->dpop == DPOP_AUTO &&
			    nonce_retries < DPOP_NONCE_RETRIES) {
				pthread_mutex_lock(&c->tok_lock);
				c->dpop_active = 1;
				ojit_strlcpy(c->dpop_why,
					     "the app requires DPoP (Okta answered invalid_dpop_proof), [okta] dpop = auto",
					     sizeof(c->dpop_why));
				pthread_mutex_unlock(&c->tok_lock);
				info_f("the Okta app requires DPoP; switching to DPoP-bound tokens");
				nonce_retries++;
				attempt--;
				continue;
			}
			if (resp.status == 429) {
				atomic_fetch_add(&c->rate_limited, 1);
				wait = wait_after_429(&resp, attempt, c->opt.max_wait_ms, &pause);
				ojit_strlcpy(retry_for, resp.request_id, sizeof(retry_for));
			} else if (resp.status >= 500) {
				wait = backoff_ms(attempt, c->opt.max_wait_ms);
			} else {
				goto out; /* a setup problem: retrying will not help */
			}
		}
		if (attempt + 1 >= c->opt.max_attempts || ojit_mono_ms() - start + wait > c->opt.budget_ms)
			goto out;
		atomic_fetch_add(&c->retries, 1);
		okta_pause(c, wait, pause);
	}
	if (attempt >= c->opt.max_attempts)
		goto out;

	j = json_parse(resp.body.data ? resp.body.data : "", resp.body.len);
	{
		char type[16] = "", scope[256] = "";
		const cJSON *tok = cJSON_GetObjectItemCaseSensitive(j, "access_token");
		const cJSON *exp = cJSON_GetObjectItemCaseSensitive(j, "expires_in");
		int64_t lifetime, margin, now = ojit_mono_ms();
		size_t tlen;

		if (!cJSON_IsObject(j) || !cJSON_IsString(tok) || !cJSON_IsNumber(exp) ||
		    json_str(j, "token_type", type, sizeof(type)) != 0) {
			err_set(err, OKTA_ERR_BAD_RESPONSE, resp.status,
				"the token endpoint sent a malformed answer (expected access_token, token_type, expires_in)");
			goto out;
		}
		tlen = strlen(tok->valuestring);
		if (tlen == 0 || tlen > TOKEN_MAX || strspn(tok->valuestring,
			"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/=") != tlen) {
			err_set(err, OKTA_ERR_BAD_RESPONSE, resp.status,
				"the token endpoint sent an access token with unexpected characters or size");
			goto out;
		}
		if (exp->valuedouble < 1 || exp->valuedouble > 86400) {
			err_set(err, OKTA_ERR_BAD_RESPONSE, resp.status, "the token endpoint sent an implausible expires_in");
			goto out;
		}
		if (strcasecmp(type, dpop_used ? "DPoP" : "Bearer") != 0) {
			err_set(err, OKTA_ERR_DPOP, resp.status,
				"the token endpoint issued a '%s' token; okta-jit expected %s", type,
				dpop_used ? "DPoP" : "Bearer");
			goto out;
		}
		json_str(j, "scope", scope, sizeof(scope));
		lifetime = (int64_t)exp->valuedouble * 1000;
		/* Renew well before the end (as the official SDKs do) so a
		 * token never expires between check and use. */
		margin = lifetime >= 600000 ? 300000 : lifetime / 5;
		pthread_mutex_lock(&c->tok_lock);
		ojit_free_secret(c->token);
		c->token = strdup(tok->valuestring);
		ojit_strlcpy(c->token_type, dpop_used ? "DPoP" : "Bearer", sizeof(c->token_type));
		if (dpop_used) {
			/* the token is bound to dkey: API proofs must use it */
			EVP_PKEY_free(c->token_key);
			c->token_key = dkey;
			dkey = NULL;
		}
		ojit_strlcpy(c->token_scope, scope, sizeof(c->token_scope));
		c->token_expires_at = now + lifetime;
		c->token_refresh_at = now + lifetime - margin;
		pthread_mutex_unlock(&c->tok_lock);
		if (c->token == NULL) {
			err_set(err, OKTA_ERR_INTERNAL, 0, "out of memory");
			goto out;
		}
	}
	r = 0;
out:
	if (j != NULL) {
		const cJSON *tok = cJSON_GetObjectItemCaseSensitive(j, "access_token");

		if (cJSON_IsString(tok))
			ojit_wipe(tok->valuestring, strlen(tok->valuestring));
		cJSON_Delete(j);
	}
	ojit_free_secret(assertion);
	ojit_free_secret(proof);
	EVP_PKEY_free(dkey);
	ojit_buf_free_secret(&form);
	ojit_buf_free(&enc);
	if (resp.body.data != NULL)
		ojit_wipe(resp.body.data, resp.body.len);
	http_response_free(&resp);
	return r;
}

int okta_token_get(struct okta_client *c, char *token, size_t n, char *type, size_t tn,
		   char *scope, size_t sn, struct okta_error *err)
{
	return okta_token_get_bound(c, token, n, type, tn, scope, sn, NULL, err);
}

int okta_token_get_bound(struct okta_client *c, char *token, size_t n, char *type, size_t tn,
			 char *scope, size_t sn, EVP_PKEY **key, struct okta_error *err)
{
	int r = -1;
	uint64_t gen;

	pthread_mutex_lock(&c->tok_lock);
	gen = c->tok_gen;
	for (;;) {
		if (c->token != NULL && ojit_mono_ms() < c->token_refresh_at)
			break;
		if (!c->tok_fetching)
			break;
		/* Someone else is fetching: wait for their answer instead of
		 * sending a second token request. */
		pthread_cond_wait(&c->tok_cond, &c->tok_lock);
		if (c->token == NULL && !c->tok_fetching && c->tok_gen != gen) {
			/* The fetch we waited for failed: share its error rather
			 * than stampede Okta's token endpoint (4 per second). */
			*err = c->tok_err;
			goto out;
		}
	}
	if (c->token == NULL || ojit_mono_ms() >= c->token_refresh_at) {
		c->tok_fetching = 1;
		pthread_mutex_unlock(&c->tok_lock);
		r = token_fetch(c, err);
		pthread_mutex_lock(&c->tok_lock);
		c->tok_fetching = 0;
		c->tok_gen++;
		if (r != 0)
			c->tok_err = *err;
		pthread_cond_broadcast(&c->tok_cond);
		if (r != 0) {
			/* A still-valid old token is better than none. */
			if (c->token == NULL || ojit_mono_ms() >= c->token_expires_at)
				goto out;
		}
	}
	if (ojit_strlcpy(token, c->token, n) != 0) {
		err_set(err, OKTA_ERR_INTERNAL, 0, "token buffer too small");
		goto out;
	}
	if (type != NULL)
		ojit_strlcpy(type, c->token_type, tn);
	if (scope != NULL)
		ojit_strlcpy(scope, c->token_scope, sn);
	if (key != NULL) {
		*key = NULL;
		if (strcmp(c->token_type, "DPoP") == 0) {
			if (c->token_key == NULL || EVP_PKEY_up_ref(c->token_key) != 1) {
				err_set(err, OKTA_ERR_INTERNAL, 0, "DPoP key missing");
				goto out;
			}
			*key = c->token_key;
		}
	}
	r = 0;
out:
	pthread_mutex_unlock(&c->tok_lock);
	return r;
}

void okta_token_invalidate(struct okta_client *c, const char *token)
{
	pthread_mutex_lock(&c->tok_lock);
	if (c->token != NULL && strcmp(c->token, token) == 0) {
		ojit_free_secret(c->token);
		c->token = NULL;
	}
	pthread_mutex_unlock(&c->tok_lock);
}

/* One API call with retries. body_json is parsed into *out for 2xx answers
 * with a body; *next receives the rel="next" link (validated to stay on the
 * org) when the caller wants paging. */
static int okta_call(struct okta_client *c, const char *method, const char *url, cJSON **out,
		     char *next, size_t next_n, struct okta_error *err)
{
	struct http_request req;
	struct http_response resp;
	char token[TOKEN_MAX + 1];
	char auth[TOKEN_MAX + 32];
	char retry_for[128] = "";
	char type[16];
	int64_t start = ojit_mono_ms();
	int refreshed = 0, attempt, r = -1, nonce_retries = 0;
	size_t olen = strlen(c->cfg->org_url);
	enum bucket b = bucket_for(url, c->cfg->org_url);
	char *proof = NULL;
	EVP_PKEY *dkey = NULL;

	if (out != NULL)
		*out = NULL;
	if (next != NULL && next_n > 0)
		next[0] = '\0';
	http_response_init(&resp);
	for (attempt = 0; attempt < c->opt.max_attempts + refreshed; attempt++) {
		int64_t wait;
		enum pause pause = PAUSE_BACKOFF;

		http_response_free(&resp);
		http_response_init(&resp);
		EVP_PKEY_free(dkey);
		dkey = NULL;
		if (okta_token_get_bound(c, token, sizeof(token), type, sizeof(type), NULL, 0, &dkey, err) != 0)
			goto out;
		if (ojit_snprintf(auth, sizeof(auth), "%s %s", type, token) < 0) {
			err_set(err, OKTA_ERR_INTERNAL, 0, "token too long");
			goto out;
		}
		ojit_free_secret(proof);
		proof = NULL;
		if (dkey != NULL) {
			char htu[HTTP_MAX_URL], ath[64], nonce[512];

			pthread_mutex_lock(&c->tok_lock);
			ojit_strlcpy(nonce, c->api_nonce, sizeof(nonce));
			pthread_mutex_unlock(&c->tok_lock);
			if (dpop_htu(url, htu, sizeof(htu)) != 0 || jwt_sha256_b64url(token, ath, sizeof(ath)) != 0 ||
			    jwt_dpop_proof(dkey, method, htu, nonce, ath, ojit_now(), &proof) != 0) {
				err_set(err, OKTA_ERR_INTERNAL, 0, "cannot make a DPoP proof");
				goto out;
			}
		}
		wait = pace_ms(c, b);
		if (wait > 0)
			okta_pause(c, wait > c->opt.max_wait_ms ? c->opt.max_wait_ms : wait, PAUSE_FIXED);
		memset(&req, 0, sizeof(req));
		req.method = method;
		req.url = url;
		req.authorization = auth;
		req.dpop = proof;
		req.retry_for = retry_for[0] ? retry_for : NULL;
		req.retry_count = attempt;
		atomic_fetch_add(&c->api_calls, 1);
		if (okta_http_perform(c->http, &req, &resp) != 0) {
			transport_error(err, &resp, "Okta");
			if (err->kind == OKTA_ERR_TLS || err->kind == OKTA_ERR_BAD_RESPONSE)
				goto out;
			wait = backoff_ms(attempt, c->opt.max_wait_ms);
		} else {
			rate_update(c, b, &resp);
			note_answer(c, resp.status);
			if (resp.status >= 200 && resp.status < 300)
				break;
			okta_error_from_response(err, resp.status, resp.body.data, resp.body.len,
						 resp.www_authenticate, 0);
			if (dkey != NULL && strcmp(err->code, "use_dpop_nonce") == 0 && resp.dpop_nonce[0] != '\0' &&
			    nonce_retries < DPOP_NONCE_RETRIES) {
				pthread_mutex_lock(&c->tok_lock);
				ojit_strlcpy(c->api_nonce, resp.dpop_nonce, sizeof(c->api_nonce));
				pthread_mutex_unlock(&c->tok_lock);
				nonce_retries++;
				attempt--;
				continue;
			}
			if (resp.status == 401 && !refreshed) {
				/* Revoked or expired early: one fresh token. */
				okta_token_invalidate(c, token);
				refreshed = 1;
				continue;
			}
			if (resp.status == 429) {
				atomic_fetch_add(&c->rate_limited, 1);
				wait = wait_after_429(&resp, attempt, c->opt.max_wait_ms, &pause);
				ojit_strlcpy(retry_for, resp.request_id, sizeof(retry_for));
			} else if (resp.status >= 500) {
				wait = backoff_ms(attempt, c->opt.max_wait_ms);
			} else {
				goto out;
			}
		}
		if (attempt + 1 >= c->opt.max_attempts + refreshed ||
		    ojit_mono_ms() - start + wait > c->opt.budget_ms)
			goto out;
		atomic_fetch_add(&c->retries, 1);
		okta_pause(c, wait, pause);
	}
	if (attempt >= c->opt.max_attempts + refreshed)
		goto out;

	if (out != NULL && resp.status != 204) {
		*out = json_parse(resp.body.data ? resp.body.data : "", resp.body.len);
		if (*out == NULL) {
			err_set(err, OKTA_ERR_BAD_RESPONSE, resp.status,
				resp.body.data != NULL && json_has_nul(resp.body.data, resp.body.len)
					? "Okta sent a response with a NUL character in a string; refusing all of it"
					: "Okta sent a response that is not valid JSON");
			goto out;
		}
	}
	if (next != NULL && resp.has_next) {
		/* A next link elsewhere would carry our token off-site. */
		if (strncmp(resp.link_next, c->cfg->org_url, olen) != 0 || resp.link_next[olen] != '/') {
			err_set(err, OKTA_ERR_BAD_RESPONSE, resp.status,
				"Okta's next-page link points outside the org; refusing to follow it");
			goto out;
		}
		if (ojit_strlcpy(next, resp.link_next, next_n) != 0) {
			err_set(err, OKTA_ERR_BAD_RESPONSE, resp.status, "next-page link too long");
			goto out;
		}
	}
	memset(err, 0, sizeof(*err));
	r = 0;
out:
	if (r != 0 && out != NULL && *out != NULL) {
		cJSON_Delete(*out);
		*out = NULL;
	}
	ojit_wipe(token, sizeof(token));
	ojit_wipe(auth, sizeof(auth));
	ojit_free_secret(proof);
	EVP_PKEY_free(dkey);
	http_response_free(&resp);
	return r;
}

static int parse_user(const cJSON *o, struct okta_user *u, struct okta_error *err)
{
	const cJSON *profile = cJSON_GetObjectItemCaseSensitive(o, "profile");

	memset(u, 0, sizeof(*u));
	if (!cJSON_IsObject(o) || json_str(o, "id", u->id, sizeof(u->id)) != 0 || !okta_valid_id(u->id) ||
	    json_str(o, "status", u->status, sizeof(u->status)) != 0 ||
	    !okta_valid_user_status(u->status) || !cJSON_IsObject(profile) ||
	    json_str(profile, "login", u->login, sizeof(u->login)) != 0 || u->login[0] == '\0') {
		err_set(err, OKTA_ERR_BAD_RESPONSE, 200,
			"Okta sent a user object without a valid id, status or profile.login");
		return -1;
	}
	return 0;
}

static int parse_group(const cJSON *o, struct okta_group *g, struct okta_error *err)
{
	const cJSON *profile = cJSON_GetObjectItemCaseSensitive(o, "profile");

	memset(g, 0, sizeof(*g));
	if (!cJSON_IsObject(o) || json_str(o, "id", g->id, sizeof(g->id)) != 0 || !okta_valid_id(g->id) ||
	    json_str(o, "type", g->type, sizeof(g->type)) != 0 || !cJSON_IsObject(profile) ||
	    json_str(profile, "name", g->name, sizeof(g->name)) != 0 || g->name[0] == '\0') {
		err_set(err, OKTA_ERR_BAD_RESPONSE, 200,
			"Okta sent a group object without a valid id, type or profile.name");
		return -1;
	}
	return 0;
}

static int parse_owner(const cJSON *o, struct okta_owner *w, struct okta_error *err)
{
	memset(w, 0, sizeof(*w));
	if (!cJSON_IsObject(o) || json_str(o, "id", w->id, sizeof(w->id)) != 0 || !okta_valid_id(w->id) ||
	    json_str(o, "type", w->type, sizeof(w->type)) != 0 ||
	    (strcmp(w->type, "USER") != 0 && strcmp(w->type, "GROUP") != 0)) {
		err_set(err, OKTA_ERR_BAD_RESPONSE, 200, "Okta sent a group owner without a valid id or type");
		return -1;
	}
	json_str(o, "displayName", w->name, sizeof(w->name));
	return 0;
}

/* The object parsers on raw JSON text, for the fuzzers (fuzz/). */
int okta_parse_user_json(const char *buf, size_t len, struct okta_user *u, struct okta_error *err)
{
	cJSON *j = json_parse(buf, len);
	int r = parse_user(j, u, err);

	cJSON_Delete(j);
	return r;
}

int okta_parse_group_json(const char *buf, size_t len, struct okta_group *g, struct okta_error *err)
{
	cJSON *j = json_parse(buf, len);
	int r = parse_group(j, g, err);

	cJSON_Delete(j);
	return r;
}

int okta_parse_owner_json(const char *buf, size_t len, struct okta_owner *w, struct okta_error *err)
{
	cJSON *j = json_parse(buf, len);
	int r = parse_owner(j, w, err);

	cJSON_Delete(j);
	return r;
}

typedef int (*item_fn)(const cJSON *item, void *ctx, struct okta_error *err);

/* GET url and every next page; call fn for each array element. */
static int paged_get(struct okta_client *c, const char *url, item_fn fn, void *ctx,
		     struct okta_error *err)
{
	char cur[HTTP_MAX_URL], next[HTTP_MAX_URL];
	size_t items = 0;
	int pages, r = -1;

	if (ojit_strlcpy(cur, url, sizeof(cur)) != 0) {
		err_set(err, OKTA_ERR_INTERNAL, 0, "URL too long");
		return -1;
	}
	for (pages = 0; pages < MAX_PAGES; pages++) {
		cJSON *arr = NULL, *it;

		if (okta_call(c, "GET", cur, &arr, next, sizeof(next), err) != 0)
			return -1;
		if (!cJSON_IsArray(arr)) {
			cJSON_Delete(arr);
			err_set(err, OKTA_ERR_BAD_RESPONSE, 200, "Okta sent an object where a list was expected");
			return -1;
		}
		cJSON_ArrayForEach(it, arr) {
			if (++items > MAX_ITEMS || fn(it, ctx, err) != 0) {
				if (items > MAX_ITEMS)
					err_set(err, OKTA_ERR_BAD_RESPONSE, 200, "more than %d items", MAX_ITEMS);
				cJSON_Delete(arr);
				return -1;
			}
		}
		cJSON_Delete(arr);
		if (next[0] == '\0') {
			r = 0;
			break;
		}
		if (strcmp(next, cur) == 0) {
			err_set(err, OKTA_ERR_BAD_RESPONSE, 200, "Okta's next-page link repeats the current page");
			return -1;
		}
		memcpy(cur, next, sizeof(cur));
	}
	if (pages >= MAX_PAGES)
		err_set(err, OKTA_ERR_BAD_RESPONSE, 200, "more than %d pages", MAX_PAGES);
	return r;
}

#define LIST_PUSH(l, item)                                                             \
	do {                                                                           \
		if ((l)->n == (l)->cap) {                                              \
			size_t ncap = (l)->cap ? (l)->cap * 2 : 16;                    \
			void *nv = realloc((l)->v, ncap * sizeof(*(l)->v));            \
			if (nv == NULL) {                                              \
				err_set(err, OKTA_ERR_INTERNAL, 0, "out of memory");   \
				return -1;                                             \
			}                                                              \
			(l)->v = nv;                                                   \
			(l)->cap = ncap;                                               \
		}                                                                      \
		(l)->v[(l)->n++] = (item);                                             \
	} while (0)

static int push_user(const cJSON *o, void *ctx, struct okta_error *err)
{
	struct okta_user_list *l = ctx;
	struct okta_user u;

	if (parse_user(o, &u, err) != 0)
		return -1;
	LIST_PUSH(l, u);
	return 0;
}

static int push_group(const cJSON *o, void *ctx, struct okta_error *err)
{
	struct okta_group_list *l = ctx;
	struct okta_group g;

	if (parse_group(o, &g, err) != 0)
		return -1;
	LIST_PUSH(l, g);
	return 0;
}

static int push_owner(const cJSON *o, void *ctx, struct okta_error *err)
{
	struct okta_owner_list *l = ctx;
	struct okta_owner w;

	if (parse_owner(o, &w, err) != 0)
		return -1;
	LIST_PUSH(l, w);
	return 0;
}

void okta_user_list_free(struct okta_user_list *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}

void okta_group_list_free(struct okta_group_list *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}

void okta_owner_list_free(struct okta_owner_list *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}

int okta_search_eq(const char *property, const char *value, struct ojit_buf *out)
{
	cJSON *s = cJSON_CreateString(value);
	char *quoted = NULL;
	struct ojit_buf expr;
	int r = -1;

	/* Okta wants the literal as a JSON string; cJSON escapes '"', '\'
	 * and control characters exactly as JSON requires. */
	ojit_buf_init(&expr, 0);
	if (s == NULL || (quoted = cJSON_PrintUnformatted(s)) == NULL)
		goto out;
	if (ojit_buf_printf(&expr, "%s eq %s", property, quoted) != 0)
		goto out;
	r = http_url_encode(expr.data, out);
out:
	ojit_buf_free(&expr);
	free(quoted);
	cJSON_Delete(s);
	return r;
}

static int check_login_input(const char *login, struct okta_error *err)
{
	const unsigned char *p;

	if (login == NULL || login[0] == '\0' || strlen(login) > OKTA_LOGIN_MAX) {
		err_set(err, OKTA_ERR_REFUSED, 0, "login is empty or longer than %d bytes", OKTA_LOGIN_MAX);
		return -1;
	}
	for (p = (const unsigned char *)login; *p; p++)
		if (*p < 0x20 || *p == 0x7f) {
			err_set(err, OKTA_ERR_REFUSED, 0, "login contains control characters");
			return -1;
		}
	return 0;
}

/* Characters that Okta's path routing mishandles even when encoded. */
static int login_needs_search(const char *login)
{
	return strpbrk(login, "/\\?[];#%") != NULL;
}

int okta_user_get(struct okta_client *c, const char *login, struct okta_user *u,
		  struct okta_error *err)
{
	struct ojit_buf url, enc;
	cJSON *j = NULL;
	int r = -1;

	ojit_buf_init(&url, HTTP_MAX_URL);
	ojit_buf_init(&enc, 0);
	if (check_login_input(login, err) != 0)
		goto out;
	if (login_needs_search(login)) {
		struct okta_user_list l = { 0 };
		size_t i, found = 0;

		if (okta_search_eq("profile.login", login, &enc) != 0 ||
		    ojit_buf_printf(&url, "%s/api/v1/users?search=%s&limit=2", c->cfg->org_url, enc.data) != 0) {
			err_set(err, OKTA_ERR_INTERNAL, 0, "URL too long");
			goto out;
		}
		if (paged_get(c, url.data, push_user, &l, err) != 0) {
			okta_user_list_free(&l);
			goto out;
		}
		for (i = 0; i < l.n; i++) {
			if (strcasecmp(l.v[i].login, login) == 0) {
				*u = l.v[i];
				found++;
			}
		}
		okta_user_list_free(&l);
		if (found == 0) {
			err_set(err, OKTA_ERR_NOT_FOUND, 404, "no Okta user with login '%s'", login);
			goto out;
		}
		if (found > 1) {
			err_set(err, OKTA_ERR_AMBIGUOUS, 200, "several Okta users with login '%s'", login);
			goto out;
		}
		r = 0;
		goto out;
	}
	if (http_url_encode(login, &enc) != 0 ||
	    ojit_buf_printf(&url, "%s/api/v1/users/%s", c->cfg->org_url, enc.data) != 0) {
		err_set(err, OKTA_ERR_INTERNAL, 0, "URL too long");
		goto out;
	}
	if (okta_call(c, "GET", url.data, &j, NULL, 0, err) != 0)
		goto out;
	if (parse_user(j, u, err) != 0)
		goto out;
	/* GET by id also matches a login shortname; a gate must not let
	 * "bob" pass as "bob@other.example". */
	if (strcasecmp(u->login, login) != 0) {
		err_set(err, OKTA_ERR_NOT_FOUND, 404,
			"Okta answered with user '%s' for login '%s'; logins must match exactly", u->login, login);
		goto out;
	}
	r = 0;
out:
	cJSON_Delete(j);
	ojit_buf_free(&url);
	ojit_buf_free(&enc);
	return r;
}

static int check_id_input(const char *id, const char *what, struct okta_error *err)
{
	if (id == NULL || !okta_valid_id(id)) {
		err_set(err, OKTA_ERR_REFUSED, 0, "invalid Okta %s id", what);
		return -1;
	}
	return 0;
}

int okta_user_groups(struct okta_client *c, const char *uid, struct okta_group_list *l,
		     struct okta_error *err)
{
	char url[HTTP_MAX_URL];

	if (check_id_input(uid, "user", err) != 0)
		return -1;
	if (ojit_snprintf(url, sizeof(url), "%s/api/v1/users/%s/groups?limit=200", c->cfg->org_url, uid) < 0) {
		err_set(err, OKTA_ERR_INTERNAL, 0, "URL too long");
		return -1;
	}
	return paged_get(c, url, push_group, l, err);
}

/* The same list asked by login (Okta's listUserGroups takes "an ID, login,
 * or login shortname"), so that it can be asked at the same time as the
 * user. Only logins that go into a path as they are; others return
 * OKTA_ERR_REFUSED and the caller asks by id. */
int okta_user_groups_by_login(struct okta_client *c, const char *login, struct okta_group_list *l,
			      struct okta_error *err)
{
	struct ojit_buf url, enc;
	int r = -1;

	ojit_buf_init(&url, HTTP_MAX_URL);
	ojit_buf_init(&enc, 0);
	if (check_login_input(login, err) != 0)
		goto out;
	if (login_needs_search(login)) {
		err_set(err, OKTA_ERR_REFUSED, 0, "login '%s' cannot be used in a path", login);
		goto out;
	}
	if (http_url_encode(login, &enc) != 0 ||
	    ojit_buf_printf(&url, "%s/api/v1/users/%s/groups?limit=200", c->cfg->org_url, enc.data) != 0) {
		err_set(err, OKTA_ERR_INTERNAL, 0, "URL too long");
		goto out;
	}
	r = paged_get(c, url.data, push_group, l, err);
out:
	ojit_buf_free(&url);
	ojit_buf_free(&enc);
	return r;
}

int okta_group_get(struct okta_client *c, const char *gid, struct okta_group *g,
		   struct okta_error *err)
{
	char url[HTTP_MAX_URL];
	cJSON *j = NULL;
	int r;

	if (check_id_input(gid, "group", err) != 0)
		return -1;
	if (ojit_snprintf(url, sizeof(url), "%s/api/v1/groups/%s", c->cfg->org_url, gid) < 0) {
		err_set(err, OKTA_ERR_INTERNAL, 0, "URL too long");
		return -1;
	}
	if (okta_call(c, "GET", url, &j, NULL, 0, err) != 0)
		return -1;
	r = parse_group(j, g, err);
	cJSON_Delete(j);
	return r;
}

int okta_group_find(struct okta_client *c, const char *name, struct okta_group *g,
		    struct okta_error *err)
{
	return okta_group_find_type(c, name, NULL, g, err);
}

int okta_group_find_type(struct okta_client *c, const char *name, const char *type, struct okta_group *g,
			 struct okta_error *err)
{
	struct okta_group_list l = { 0 };
	struct ojit_buf url, enc, tenc;
	size_t i, found = 0;
	int r = -1;

	ojit_buf_init(&url, HTTP_MAX_URL);
	ojit_buf_init(&enc, 0);
	ojit_buf_init(&tenc, 0);
	if (name == NULL || name[0] == '\0' || strlen(name) > OKTA_NAME_MAX) {
		err_set(err, OKTA_ERR_REFUSED, 0, "group name is empty or too long");
		goto out;
	}
	/* Okta's search compares string values without regard to case, so
	 * the exact name is matched below; with a type, the two conditions
	 * are joined with "and" (both percent-encoded, "%20and%20"). */
	if (okta_search_eq("profile.name", name, &enc) != 0 ||
	    (type != NULL && okta_search_eq("type", type, &tenc) != 0) ||
	    ojit_buf_printf(&url, "%s/api/v1/groups?search=%s%s%s&limit=200", c->cfg->org_url,
			    type != NULL ? tenc.data : "", type != NULL ? "%20and%20" : "", enc.data) != 0) {
		err_set(err, OKTA_ERR_INTERNAL, 0, "URL too long");
		goto out;
	}
	if (paged_get(c, url.data, push_group, &l, err) != 0)
		goto out;
	for (i = 0; i < l.n; i++) {
		if (strcmp(l.v[i].name, name) == 0 && (type == NULL || strcmp(l.v[i].type, type) == 0)) {
			*g = l.v[i];
			found++;
		}
	}
	if (found == 0) {
		err_set(err, OKTA_ERR_NOT_FOUND, 404, "no Okta group%s%s named '%s'", type ? " of type " : "",
			type ? type : "", name);
		goto out;
	}
	if (found > 1) {
		err_set(err, OKTA_ERR_AMBIGUOUS, 200,
			"%zu Okta groups%s%s are named '%s'; rename all but one so okta-jit knows which one is meant",
			found, type ? " of type " : "", type ? type : "", name);
		goto out;
	}
	r = 0;
out:
	okta_group_list_free(&l);
	ojit_buf_free(&url);
	ojit_buf_free(&enc);
	ojit_buf_free(&tenc);
	return r;
}

int okta_groups_list(struct okta_client *c, const char *prefix, struct okta_group_list *l,
		     struct okta_error *err)
{
	struct ojit_buf url, enc;
	int r = -1;

	ojit_buf_init(&url, HTTP_MAX_URL);
	ojit_buf_init(&enc, 0);
	if (prefix != NULL && prefix[0] != '\0') {
		if (strlen(prefix) > OKTA_NAME_MAX || http_url_encode(prefix, &enc) != 0 ||
		    ojit_buf_printf(&url, "%s/api/v1/groups?q=%s&limit=200", c->cfg->org_url, enc.data) != 0) {
			err_set(err, OKTA_ERR_REFUSED, 0, "search text too long");
			goto out;
		}
	} else {
		if (okta_search_eq("type", "OKTA_GROUP", &enc) != 0 ||
		    ojit_buf_printf(&url, "%s/api/v1/groups?search=%s&limit=200", c->cfg->org_url, enc.data) != 0) {
			err_set(err, OKTA_ERR_INTERNAL, 0, "URL too long");
			goto out;
		}
	}
	r = paged_get(c, url.data, push_group, l, err);
out:
	ojit_buf_free(&url);
	ojit_buf_free(&enc);
	return r;
}

int okta_group_members(struct okta_client *c, const char *gid, struct okta_user_list *l,
		       struct okta_error *err)
{
	char url[HTTP_MAX_URL];

	if (check_id_input(gid, "group", err) != 0)
		return -1;
	if (ojit_snprintf(url, sizeof(url), "%s/api/v1/groups/%s/users?limit=200", c->cfg->org_url, gid) < 0) {
		err_set(err, OKTA_ERR_INTERNAL, 0, "URL too long");
		return -1;
	}
	return paged_get(c, url, push_user, l, err);
}

struct each_member {
	okta_member_fn fn;
	void *ctx;
	size_t n, max;
};

static int each_member(const cJSON *o, void *ctx, struct okta_error *err)
{
	struct each_member *m = ctx;
	struct okta_user u;

	if (++m->n > m->max) {
		err_set(err, OKTA_ERR_REFUSED, 200, "the group has more than %zu members", m->max);
		return -1;
	}
	if (parse_user(o, &u, err) != 0)
		return -1;
	return m->fn(&u, m->ctx);
}

int okta_group_members_each(struct okta_client *c, const char *gid, size_t max, okta_member_fn fn, void *ctx,
			    struct okta_error *err)
{
	struct each_member m = { fn, ctx, 0, max };
	char url[HTTP_MAX_URL];

	if (check_id_input(gid, "group", err) != 0)
		return -1;
	/* 1000 a page, Okta's default and the most it documents using */
	if (ojit_snprintf(url, sizeof(url), "%s/api/v1/groups/%s/users?limit=1000", c->cfg->org_url, gid) < 0) {
		err_set(err, OKTA_ERR_INTERNAL, 0, "URL too long");
		return -1;
	}
	return paged_get(c, url, each_member, &m, err);
}

int okta_group_owners(struct okta_client *c, const char *gid, struct okta_owner_list *l,
		      struct okta_error *err)
{
	char url[HTTP_MAX_URL];

	if (check_id_input(gid, "group", err) != 0)
		return -1;
	if (ojit_snprintf(url, sizeof(url), "%s/api/v1/groups/%s/owners?limit=200", c->cfg->org_url, gid) < 0) {
		err_set(err, OKTA_ERR_INTERNAL, 0, "URL too long");
		return -1;
	}
	return paged_get(c, url, push_owner, l, err);
}

static int membership_change(struct okta_client *c, const char *method, const struct okta_group *g,
			     const char *uid, struct okta_error *err)
{
	char url[HTTP_MAX_URL];
	cJSON *body = NULL;
	int r;

	if (check_id_input(g->id, "group", err) != 0 || check_id_input(uid, "user", err) != 0)
		return -1;
	if (strcmp(g->type, "OKTA_GROUP") != 0) {
		err_set(err, OKTA_ERR_REFUSED, 0,
			"group '%s' is of type %s: Okta only lets OKTA_GROUP memberships be changed through the API "
			"(%s groups are managed by %s); grant an OKTA_GROUP instead",
			g->name, g->type, g->type,
			strcmp(g->type, "APP_GROUP") == 0 ? "the application they come from" : "Okta itself");
		return -1;
	}
	if (ojit_snprintf(url, sizeof(url), "%s/api/v1/groups/%s/users/%s", c->cfg->org_url, g->id, uid) < 0) {
		err_set(err, OKTA_ERR_INTERNAL, 0, "URL too long");
		return -1;
	}
	r = okta_call(c, method, url, &body, NULL, 0, err);
	if (r == 0 && body != NULL) {
		/* Okta answers a membership change with 204 and no body. Any
		 * other success (a proxy's page, a garbled answer) changed
		 * nothing we know of: a failure to retry, never done. */
		cJSON_Delete(body);
		err_set(err, OKTA_ERR_BAD_RESPONSE, 200,
			"Okta answered the membership change with a body, not 204 No Content");
		return -1;
	}
	return r;
}

int okta_group_add_member(struct okta_client *c, const struct okta_group *g, const char *uid,
			  struct okta_error *err)
{
	return membership_change(c, "PUT", g, uid, err);
}

int okta_group_remove_member(struct okta_client *c, const struct okta_group *g,
			     const char *uid, struct okta_error *err)
{
	int r = membership_change(c, "DELETE", g, uid, err);

	/* Already gone (user or membership) is what we wanted. */
	if (r != 0 && err->kind == OKTA_ERR_NOT_FOUND && err->status == 404)
		return 0;
	return r;
}
