/* okta_client.c - the Okta client's life (new, abort, free, stats) and
 * its pacing: rate-limit buckets, backoff with jitter, the wait after a
 * 429, and the pause that ends early once Okta answers again. Split out
 * of okta_api.c (issue 16). */
#include "okta_client.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "okta_errors.h"

/* Wait ms (a pace or a retry's wait), or less once shutdown began. A
 * backoff (one okta-jit chose, not one Okta named) also ends as soon as
 * another call gets an answer from Okta: after an outage, a fetch that
 * a login is waiting for must not sleep on for seconds once Okta is
 * back. */
void okta_pause(struct okta_client *c, int64_t ms, enum pause kind)
{
	uint64_t seen = atomic_load(&c->answers);

	while (ms > 0 && !okta_http_aborted(c->http)) {
		if (kind == PAUSE_BACKOFF && atomic_load(&c->answers) != seen)
			return;
		ojit_sleep_ms(ms > 50 ? 50 : ms);
		ms -= 50;
	}
}

void okta_note_answer(struct okta_client *c, long status)
{
	if (status != 429 && status < 500)
		atomic_fetch_add(&c->answers, 1);
}

void okta_note_sent(struct okta_client *c, enum bucket b, long status)
{
	int cls = status >= 200 && status < 600 ? (int)(status / 100) - 2 : OKTA_CLASS_ERROR;

	if ((unsigned)b >= BUCKET_COUNT)
		b = BUCKET_OTHER;
	atomic_fetch_add(&c->requests[b][cls], 1);
	if (status == 429)
		atomic_fetch_add(&c->rate_limited_by[b], 1);
}

const char *okta_kind_name(int kind)
{
	static const char *const names[OKTA_KINDS] = { "token", "users", "groups", "other" };

	return kind >= 0 && kind < OKTA_KINDS ? names[kind] : "other";
}

const char *okta_class_name(int cls)
{
	static const char *const names[OKTA_CLASSES] = { "2xx", "3xx", "4xx", "5xx", "error" };

	return cls >= 0 && cls < OKTA_CLASSES ? names[cls] : "error";
}

int okta_client_open_key(const struct ojit_config *cfg, int next, struct okta_key **out, char *err,
			 size_t errlen)
{
	const char *spec = next ? cfg->next_private_key : cfg->private_key;
	char why[1024];

	*out = NULL;
	if (spec == NULL) {
		snprintf(err, errlen, "%s: [okta] %s is not set", cfg->path, next ? "next_private_key" : "private_key");
		return -1;
	}
	if (okta_key_open(spec, cfg->tpm2_tcti, out, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "%s: [okta] %s: %s", cfg->path, next ? "next_private_key" : "private_key", why);
		return -1;
	}
	return 0;
}

struct okta_client *okta_client_new(const struct ojit_config *cfg, struct okta_key *key,
				    struct okta_key *next_key, const struct okta_client_options *opt)
{
	struct okta_client *c = calloc(1, sizeof(*c));
	struct okta_http_options ho;

	if (c == NULL) {
		okta_key_free(key);
		okta_key_free(next_key);
		return NULL;
	}
	c->cfg = cfg;
	c->key = key;
	c->next_key = next_key;
	if (cfg->key_id != NULL)
		ojit_strlcpy(c->kid, cfg->key_id, sizeof(c->kid));
	if (cfg->next_key_id != NULL)
		ojit_strlcpy(c->next_kid, cfg->next_key_id, sizeof(c->next_kid));
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
	okta_key_free(c->key);
	okta_key_free(c->next_key);
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
	for (int b = 0; b < OKTA_KINDS; b++) {
		for (int k = 0; k < OKTA_CLASSES; k++)
			out->requests[b][k] = atomic_load(&c->requests[b][k]);
		out->rate_limited_by[b] = atomic_load(&c->rate_limited_by[b]);
	}
	out->token_ok = atomic_load(&c->token_ok);
	out->token_failed = atomic_load(&c->token_failed);
}

enum bucket okta_bucket_for(const char *url, const char *org)
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

int64_t okta_backoff_ms(int attempt, int64_t cap)
{
	int64_t ms = 250LL << (attempt < 6 ? attempt : 6);

	if (ms > cap)
		ms = cap;
	return jitter(ms);
}

/* Slow down before the bucket runs dry: when fewer than a tenth of the
 * requests are left, spread them over the time until the reset. */
int64_t okta_pace_ms(struct okta_client *c, enum bucket b)
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

void okta_rate_update(struct okta_client *c, enum bucket b, const struct http_response *r)
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
int64_t okta_wait_after_429(const struct http_response *r, int attempt, int64_t cap, enum pause *kind)
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
		ms = okta_backoff_ms(attempt + 2, cap);
	if (ms < 100)
		ms = 100;
	if (ms > cap)
		ms = cap;
	return ms;
}

void okta_transport_error(struct okta_error *err, const struct http_response *resp, const char *url_what)
{
	if (resp->tls_error)
		okta_err_set(err, OKTA_ERR_TLS, 0,
			"TLS verification of %s failed: %s (check [okta] org_url and, for a private CA, [okta] ca_file)",
			url_what, resp->curl_error);
	else if (resp->timed_out)
		okta_err_set(err, OKTA_ERR_TIMEOUT, 0, "Okta did not answer in time (%s)", resp->curl_error);
	else if (resp->body.overflow)
		okta_err_set(err, OKTA_ERR_BAD_RESPONSE, 0, "Okta's response was too large: %s", resp->curl_error);
	else
		okta_err_set(err, OKTA_ERR_NETWORK, 0, "cannot reach Okta: %s", resp->curl_error);
}
