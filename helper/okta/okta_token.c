/* okta_token.c - the access token: client-assertion requests to Okta's
 * token endpoint, one fetch at a time shared by every waiting call,
 * DPoP (RFC 9449: the proof key, its nonces, the clock offset) and the
 * token's refresh. Split out of okta_api.c (issue 16). */
#include "okta_token.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jwt.h"
#include "okta_client.h"
#include "okta_errors.h"

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
int okta_dpop_htu(const char *url, char *out, size_t n)
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

/* The key to sign the next assertion with, and its kid: the current one,
 * or (next) the one being rotated in. Keys are never freed before the
 * client, so the pointer stays good after a rotation. */
static struct okta_key *signing_key(struct okta_client *c, int next, char *kid, size_t n)
{
	struct okta_key *k;

	pthread_mutex_lock(&c->tok_lock);
	k = next ? c->next_key : c->key;
	ojit_strlcpy(kid, next ? c->next_kid : c->kid, n);
	pthread_mutex_unlock(&c->tok_lock);
	return k;
}

/* A signature failed, or worked again after failing: say so once, in
 * words an operator acts on (a TPM or an HSM that went away). */
static void note_key_state(struct okta_client *c, struct okta_key *k, int ok)
{
	char why[512];
	int was;

	pthread_mutex_lock(&c->tok_lock);
	was = c->key_failing;
	c->key_failing = !ok;
	pthread_mutex_unlock(&c->tok_lock);
	if (ok && was) {
		info_f("the Okta key %s signs again; token requests resume", okta_key_spec(k));
	} else if (!ok && !was) {
		okta_key_last_error(k, why, sizeof(why));
		error_f("the Okta key %s cannot sign a client assertion: %s; until it can, checks answer from the "
			"cache (within [daemon] outage_grace) and grants wait and are retried", okta_key_spec(k), why);
	}
}

/* One token request, signed with the current key (next: the next one).
 * store: keep the token for the calls (else it is only a test that Okta
 * takes the key). Caller holds no lock. */
static int token_fetch(struct okta_client *c, int next, int store, struct okta_error *err)
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
	char kid[OKTA_KID_MAX + 1];
	struct okta_key *key = signing_key(c, next, kid, sizeof(kid));

	ojit_buf_init(&form, 0);
	if (key == NULL) {
		okta_err_set(err, OKTA_ERR_INTERNAL, 0, "no %s key to sign the client assertion with",
			     next ? "next" : "Okta");
		return -1;
	}
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
		if (jwt_client_assertion_with(okta_key_alg(key), okta_key_sign, key, kid[0] ? kid : NULL,
					      cfg->client_id, c->token_url, ojit_now() + signed_offset,
					      &assertion) != 0) {
			char why[512];

			okta_key_last_error(key, why, sizeof(why));
			okta_err_set(err, OKTA_ERR_INTERNAL, 0, "cannot sign the client assertion with %s: %s",
				     okta_key_spec(key), why);
			if (!next)
				note_key_state(c, key, 0);
			goto out;
		}
		if (!next)
			note_key_state(c, key, 1);
		if (http_url_encode(cfg->role_gate ? OKTA_SCOPES_GATE : OKTA_SCOPES, &enc) != 0 ||
		    ojit_buf_printf(&form,
				    "grant_type=client_credentials&scope=%s&client_assertion_type="
				    "urn%%3Aietf%%3Aparams%%3Aoauth%%3Aclient-assertion-type%%3Ajwt-bearer"
				    "&client_assertion=%s",
				    enc.data, assertion) != 0) {
			okta_err_set(err, OKTA_ERR_INTERNAL, 0, "out of memory");
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
				okta_err_set(err, OKTA_ERR_INTERNAL, 0, "cannot make a DPoP proof");
				goto out;
			}
		}
		wait = okta_pace_ms(c, BUCKET_TOKEN);
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
			okta_note_sent(c, BUCKET_TOKEN, 0);
			okta_transport_error(err, &resp, "the Okta token endpoint");
			if (err->kind == OKTA_ERR_TLS || err->kind == OKTA_ERR_BAD_RESPONSE)
				goto out;
			wait = okta_backoff_ms(attempt, c->opt.max_wait_ms);
		} else {
			okta_rate_update(c, BUCKET_TOKEN, &resp);
			okta_note_answer(c, resp.status);
			okta_note_sent(c, BUCKET_TOKEN, resp.status);
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
				wait = okta_wait_after_429(&resp, attempt, c->opt.max_wait_ms, &pause);
				ojit_strlcpy(retry_for, resp.request_id, sizeof(retry_for));
			} else if (resp.status >= 500) {
				wait = okta_backoff_ms(attempt, c->opt.max_wait_ms);
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

	j = okta_json_parse(resp.body.data ? resp.body.data : "", resp.body.len);
	{
		char type[16] = "", scope[256] = "";
		const cJSON *tok = cJSON_GetObjectItemCaseSensitive(j, "access_token");
		const cJSON *exp = cJSON_GetObjectItemCaseSensitive(j, "expires_in");
		int64_t lifetime, margin, now = ojit_mono_ms();
		size_t tlen;

		if (!cJSON_IsObject(j) || !cJSON_IsString(tok) || !cJSON_IsNumber(exp) ||
		    okta_json_str(j, "token_type", type, sizeof(type)) != 0) {
			okta_err_set(err, OKTA_ERR_BAD_RESPONSE, resp.status,
				"the token endpoint sent a malformed answer (expected access_token, token_type, expires_in)");
			goto out;
		}
		tlen = strlen(tok->valuestring);
		if (tlen == 0 || tlen > TOKEN_MAX || strspn(tok->valuestring,
			"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/=") != tlen) {
			okta_err_set(err, OKTA_ERR_BAD_RESPONSE, resp.status,
				"the token endpoint sent an access token with unexpected characters or size");
			goto out;
		}
		if (exp->valuedouble < 1 || exp->valuedouble > 86400) {
			okta_err_set(err, OKTA_ERR_BAD_RESPONSE, resp.status, "the token endpoint sent an implausible expires_in");
			goto out;
		}
		if (strcasecmp(type, dpop_used ? "DPoP" : "Bearer") != 0) {
			okta_err_set(err, OKTA_ERR_DPOP, resp.status,
				"the token endpoint issued a '%s' token; okta-jit expected %s", type,
				dpop_used ? "DPoP" : "Bearer");
			goto out;
		}
		okta_json_str(j, "scope", scope, sizeof(scope));
		lifetime = (int64_t)exp->valuedouble * 1000;
		/* Renew well before the end (as the official SDKs do) so a
		 * token never expires between check and use. */
		margin = lifetime >= 600000 ? 300000 : lifetime / 5;
		if (!store) {
			r = 0;
			goto out;
		}
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
			okta_err_set(err, OKTA_ERR_INTERNAL, 0, "out of memory");
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
	atomic_fetch_add(r == 0 ? &c->token_ok : &c->token_failed, 1);
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
		r = token_fetch(c, 0, 1, err);
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
		okta_err_set(err, OKTA_ERR_INTERNAL, 0, "token buffer too small");
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
				okta_err_set(err, OKTA_ERR_INTERNAL, 0, "DPoP key missing");
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

int okta_client_try_key(struct okta_client *c, int next, struct okta_error *err)
{
	memset(err, 0, sizeof(*err));
	return token_fetch(c, next, 0, err);
}

int okta_client_rotate(struct okta_client *c, char *old_kid, char *new_kid, struct okta_error *err)
{
	struct okta_key *k;

	memset(err, 0, sizeof(*err));
	pthread_mutex_lock(&c->tok_lock);
	k = c->next_key;
	pthread_mutex_unlock(&c->tok_lock);
	if (k == NULL) {
		okta_err_set(err, OKTA_ERR_INTERNAL, 0,
			     "no key to rotate to: set [okta] next_private_key and next_key_id, then restart okta-jitd");
		return -1;
	}
	/* Switch only to a key Okta has been seen to take: a rotation must
	 * never leave okta-jitd with a key that gets no tokens. */
	if (token_fetch(c, 1, 0, err) != 0)
		return -1;
	pthread_mutex_lock(&c->tok_lock);
	ojit_strlcpy(old_kid, c->kid, OKTA_KID_MAX + 1);
	ojit_strlcpy(new_kid, c->next_kid, OKTA_KID_MAX + 1);
	c->next_key = c->key;
	c->key = k;
	ojit_strlcpy(c->next_kid, old_kid, sizeof(c->next_kid));
	ojit_strlcpy(c->kid, new_kid, sizeof(c->kid));
	pthread_mutex_unlock(&c->tok_lock);
	info_f("rotated the Okta key: assertions are now signed with kid %s (%s); kid %s is no longer used",
	       new_kid, okta_key_spec(k), old_kid);
	return 0;
}

void okta_client_kid(struct okta_client *c, char *out, size_t n)
{
	pthread_mutex_lock(&c->tok_lock);
	ojit_strlcpy(out, c->kid, n);
	pthread_mutex_unlock(&c->tok_lock);
}
