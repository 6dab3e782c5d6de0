/* okta_call.c - calls to Okta with token handling, pacing and retries.
 *
 * Every call goes through okta_call(): it takes a token, paces itself by
 * the X-Rate-Limit-* headers of the previous answer in the same bucket,
 * retries 429 (until the reset Okta names), 5xx and transport failures
 * (bounded exponential backoff with jitter), and refreshes the token once
 * on a 401. Everything Okta sends back is checked before use. Paging
 * follows rel="next" links that stay on the org. (Split out of
 * okta_api.c in issue 16.) */
#include "okta_call.h"

#include <stdlib.h>
#include <string.h>

#include "jwt.h"
#include "okta_client.h"
#include "okta_errors.h"
#include "okta_token.h"

int okta_call(struct okta_client *c, const char *method, const char *url, cJSON **out,
		     char *next, size_t next_n, struct okta_error *err)
{
	struct http_request req;
	struct http_response resp;
	char token[TOKEN_MAX + 1];
	char auth[TOKEN_MAX + 32];
	char retry_for[128] = "";
	char rid[OKTA_REQUEST_ID_MAX + 1] = "";
	char type[16];
	int64_t start = ojit_mono_ms();
	int refreshed = 0, attempt, r = -1, nonce_retries = 0;
	size_t olen = strlen(c->cfg->org_url);
	enum bucket b = okta_bucket_for(url, c->cfg->org_url);
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
		rid[0] = '\0';
		EVP_PKEY_free(dkey);
		dkey = NULL;
		if (okta_token_get_bound(c, token, sizeof(token), type, sizeof(type), NULL, 0, &dkey, err) != 0)
			goto out;
		if (ojit_snprintf(auth, sizeof(auth), "%s %s", type, token) < 0) {
			okta_err_set(err, OKTA_ERR_INTERNAL, 0, "token too long");
			goto out;
		}
		ojit_free_secret(proof);
		proof = NULL;
		if (dkey != NULL) {
			char htu[HTTP_MAX_URL], ath[64], nonce[512];

			pthread_mutex_lock(&c->tok_lock);
			ojit_strlcpy(nonce, c->api_nonce, sizeof(nonce));
			pthread_mutex_unlock(&c->tok_lock);
			if (okta_dpop_htu(url, htu, sizeof(htu)) != 0 || jwt_sha256_b64url(token, ath, sizeof(ath)) != 0 ||
			    jwt_dpop_proof(dkey, method, htu, nonce, ath, ojit_now(), &proof) != 0) {
				okta_err_set(err, OKTA_ERR_INTERNAL, 0, "cannot make a DPoP proof");
				goto out;
			}
		}
		wait = okta_pace_ms(c, b);
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
			okta_note_sent(c, b, 0);
			okta_transport_error(err, &resp, "Okta");
			if (err->kind == OKTA_ERR_TLS || err->kind == OKTA_ERR_BAD_RESPONSE)
				goto out;
			wait = okta_backoff_ms(attempt, c->opt.max_wait_ms);
		} else {
			/* (Okta's text: kept only when it passes the check) */
			if (okta_valid_request_id(resp.request_id))
				ojit_strlcpy(rid, resp.request_id, sizeof(rid));
			okta_rate_update(c, b, &resp);
			okta_note_answer(c, resp.status);
			okta_note_sent(c, b, resp.status);
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
				wait = okta_wait_after_429(&resp, attempt, c->opt.max_wait_ms, &pause);
				ojit_strlcpy(retry_for, resp.request_id, sizeof(retry_for));
			} else if (resp.status >= 500) {
				wait = okta_backoff_ms(attempt, c->opt.max_wait_ms);
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
		*out = okta_json_parse(resp.body.data ? resp.body.data : "", resp.body.len);
		if (*out == NULL) {
			okta_err_set(err, OKTA_ERR_BAD_RESPONSE, resp.status,
				resp.body.data != NULL && okta_json_has_nul(resp.body.data, resp.body.len)
					? "Okta sent a response with a NUL character in a string; refusing all of it"
					: "Okta sent a response that is not valid JSON");
			goto out;
		}
	}
	if (next != NULL && resp.has_next) {
		/* A next link elsewhere would carry our token off-site. */
		if (strncmp(resp.link_next, c->cfg->org_url, olen) != 0 || resp.link_next[olen] != '/') {
			okta_err_set(err, OKTA_ERR_BAD_RESPONSE, resp.status,
				"Okta's next-page link points outside the org; refusing to follow it");
			goto out;
		}
		if (ojit_strlcpy(next, resp.link_next, next_n) != 0) {
			okta_err_set(err, OKTA_ERR_BAD_RESPONSE, resp.status, "next-page link too long");
			goto out;
		}
	}
	memset(err, 0, sizeof(*err));
	r = 0;
out:
	/* after every okta_err_set above, which clears the struct */
	ojit_strlcpy(err->request_id, rid, sizeof(err->request_id));
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

int okta_paged_get(struct okta_client *c, const char *url, okta_item_fn fn, void *ctx,
		     struct okta_error *err)
{
	char cur[HTTP_MAX_URL], next[HTTP_MAX_URL];
	size_t items = 0;
	int pages, r = -1;

	if (ojit_strlcpy(cur, url, sizeof(cur)) != 0) {
		okta_err_set(err, OKTA_ERR_INTERNAL, 0, "URL too long");
		return -1;
	}
	for (pages = 0; pages < MAX_PAGES; pages++) {
		cJSON *arr = NULL, *it;

		if (okta_call(c, "GET", cur, &arr, next, sizeof(next), err) != 0)
			return -1;
		if (!cJSON_IsArray(arr)) {
			cJSON_Delete(arr);
			okta_err_set(err, OKTA_ERR_BAD_RESPONSE, 200, "Okta sent an object where a list was expected");
			return -1;
		}
		cJSON_ArrayForEach(it, arr) {
			if (++items > MAX_ITEMS || fn(it, ctx, err) != 0) {
				if (items > MAX_ITEMS)
					okta_err_set(err, OKTA_ERR_BAD_RESPONSE, 200, "more than %d items", MAX_ITEMS);
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
			okta_err_set(err, OKTA_ERR_BAD_RESPONSE, 200, "Okta's next-page link repeats the current page");
			return -1;
		}
		memcpy(cur, next, sizeof(cur));
	}
	if (pages >= MAX_PAGES)
		okta_err_set(err, OKTA_ERR_BAD_RESPONSE, 200, "more than %d pages", MAX_PAGES);
	return r;
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
