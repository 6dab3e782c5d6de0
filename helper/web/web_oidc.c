/* web_oidc.c - PKCE, state and nonce, the token exchange, ID token claims. */
#include "web_oidc.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "web_http.h"

#define WEB_TOKEN_REPLY_MAX (64 * 1024)
#define WEB_OKTA_TIMEOUT_S 10L

int web_random(void *buf, size_t n)
{
	unsigned char *p = buf;

	while (n > 0) {
		ssize_t r = getrandom(p, n, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

int web_random_token(char *out, size_t n)
{
	unsigned char raw[32];
	int r;

	if (web_random(raw, sizeof(raw)) != 0)
		return -1;
	r = web_b64url_encode(raw, sizeof(raw), out, n);
	ojit_wipe(raw, sizeof(raw));
	return r;
}

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int web_b64url_encode(const unsigned char *in, size_t len, char *out, size_t n)
{
	size_t i, o = 0;

	if ((len * 4 + 2) / 3 + 1 > n)
		return -1;
	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v = ((uint32_t)in[i] << 16) | ((uint32_t)in[i + 1] << 8) | in[i + 2];

		out[o++] = b64url[(v >> 18) & 63];
		out[o++] = b64url[(v >> 12) & 63];
		out[o++] = b64url[(v >> 6) & 63];
		out[o++] = b64url[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;

		out[o++] = b64url[(v >> 18) & 63];
		out[o++] = b64url[(v >> 12) & 63];
	} else if (len - i == 2) {
		uint32_t v = ((uint32_t)in[i] << 16) | ((uint32_t)in[i + 1] << 8);

		out[o++] = b64url[(v >> 18) & 63];
		out[o++] = b64url[(v >> 12) & 63];
		out[o++] = b64url[(v >> 6) & 63];
	}
	out[o] = '\0';
	return 0;
}

static int b64url_val(char c)
{
	const char *p = c != '\0' ? strchr(b64url, c) : NULL;

	return p != NULL ? (int)(p - b64url) : -1;
}

int web_b64url_decode(const char *in, size_t len, unsigned char *out, size_t n)
{
	size_t i, o = 0;
	uint32_t acc = 0;
	int bits = 0;

	if (len % 4 == 1)
		return -1;
	for (i = 0; i < len; i++) {
		int v = b64url_val(in[i]);

		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= n)
				return -1;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	return (int)o;
}

int web_pkce_challenge(const char *verifier, char *out, size_t n)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	size_t len = strlen(verifier);

	/* RFC 7636 4.1: 43 to 128 unreserved characters. */
	if (len < 43 || len > 128 || strspn(verifier, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
						      "0123456789-._~") != len)
		return -1;
	SHA256((const unsigned char *)verifier, len, md);
	return web_b64url_encode(md, sizeof(md), out, n);
}

static int claim_str(const cJSON *o, const char *name, char *out, size_t n, int required)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	out[0] = '\0';
	if (!cJSON_IsString(v) || v->valuestring == NULL)
		return required ? -1 : 0;
	return ojit_strlcpy(out, v->valuestring, n);
}

static int claim_int(const cJSON *o, const char *name, int64_t *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1e15)
		return -1;
	*out = (int64_t)v->valuedouble;
	return 0;
}

int web_id_token_claims(const char *jwt, const char *client_id, struct web_claims *c)
{
	const char *p1, *p2;
	unsigned char *json = NULL;
	cJSON *o = NULL;
	const cJSON *aud;
	int len, rc = -1;

	memset(c, 0, sizeof(*c));
	if (jwt == NULL || strlen(jwt) > WEB_ID_TOKEN_MAX)
		goto out;
	p1 = strchr(jwt, '.');
	p2 = p1 != NULL ? strchr(p1 + 1, '.') : NULL;
	if (p2 == NULL || strchr(p2 + 1, '.') != NULL)
		goto out;
	json = malloc(WEB_ID_TOKEN_MAX);
	if (json == NULL)
		goto out;
	len = web_b64url_decode(p1 + 1, (size_t)(p2 - p1 - 1), json, WEB_ID_TOKEN_MAX - 1);
	if (len <= 0)
		goto out;
	json[len] = '\0';
	o = cJSON_ParseWithLength((const char *)json, (size_t)len);
	if (!cJSON_IsObject(o))
		goto out;
	if (claim_str(o, "sub", c->sub, sizeof(c->sub), 1) != 0 || c->sub[0] == '\0' ||
	    claim_str(o, "nonce", c->nonce, sizeof(c->nonce), 1) != 0 ||
	    claim_str(o, "iss", c->iss, sizeof(c->iss), 1) != 0 ||
	    claim_str(o, "preferred_username", c->login, sizeof(c->login), 0) != 0 ||
	    claim_str(o, "name", c->name, sizeof(c->name), 0) != 0 || claim_int(o, "exp", &c->exp) != 0 ||
	    claim_int(o, "iat", &c->iat) != 0)
		goto out;
	aud = cJSON_GetObjectItemCaseSensitive(o, "aud");
	if (cJSON_IsString(aud)) {
		c->aud_ok = strcmp(aud->valuestring, client_id) == 0;
	} else if (cJSON_IsArray(aud)) {
		const cJSON *a;

		cJSON_ArrayForEach(a, aud)
			if (cJSON_IsString(a) && strcmp(a->valuestring, client_id) == 0)
				c->aud_ok = 1;
	}
	rc = 0;
out:
	cJSON_Delete(o);
	if (json != NULL) {
		ojit_wipe(json, WEB_ID_TOKEN_MAX);
		free(json);
	}
	return rc;
}

int web_oidc_authorize_url(const struct web_oidc_cfg *cfg, const char *state, const char *nonce,
			   const char *verifier, struct ojit_buf *out)
{
	char challenge[64];
	int r = 0;

	if (web_pkce_challenge(verifier, challenge, sizeof(challenge)) != 0)
		return -1;
	r |= ojit_buf_printf(out, "%s/oauth2/v1/authorize?response_type=code&scope=openid%%20profile&client_id=",
			     cfg->org_url);
	r |= web_url_encode(out, cfg->client_id);
	r |= ojit_buf_printf(out, "&redirect_uri=");
	r |= web_url_encode(out, cfg->redirect_uri);
	r |= ojit_buf_printf(out, "&state=");
	r |= web_url_encode(out, state);
	r |= ojit_buf_printf(out, "&nonce=");
	r |= web_url_encode(out, nonce);
	r |= ojit_buf_printf(out, "&code_challenge=%s&code_challenge_method=S256", challenge);
	return r != 0 || out->overflow ? -1 : 0;
}

static size_t exchange_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct ojit_buf *b = ud;

	if (ojit_buf_append(b, ptr, size * nmemb) != 0)
		return 0; /* over the bound: curl aborts the transfer */
	return size * nmemb;
}

int web_oidc_exchange(const struct web_oidc_cfg *cfg, const char *code, const char *verifier,
		      char **id_token, char *err, size_t errlen)
{
	struct ojit_buf body, reply, url;
	CURL *h = NULL;
	cJSON *o = NULL;
	const cJSON *tok;
	long status = 0;
	CURLcode cr;
	int rc = -1;

	*id_token = NULL;
	ojit_buf_init(&body, 16384);
	ojit_buf_init(&reply, WEB_TOKEN_REPLY_MAX);
	ojit_buf_init(&url, 1024);
	if (ojit_buf_printf(&url, "%s/oauth2/v1/token", cfg->org_url) != 0 ||
	    ojit_buf_printf(&body, "grant_type=authorization_code&code=") != 0 || web_url_encode(&body, code) != 0 ||
	    ojit_buf_printf(&body, "&redirect_uri=") != 0 || web_url_encode(&body, cfg->redirect_uri) != 0 ||
	    ojit_buf_printf(&body, "&code_verifier=") != 0 || web_url_encode(&body, verifier) != 0 ||
	    ojit_buf_printf(&body, "&client_id=") != 0 || web_url_encode(&body, cfg->client_id) != 0 ||
	    ojit_buf_printf(&body, "&client_secret=") != 0 || web_url_encode(&body, cfg->client_secret) != 0) {
		ojit_snprintf(err, errlen, "token request too long");
		goto out;
	}
	h = curl_easy_init();
	if (h == NULL) {
		ojit_snprintf(err, errlen, "out of memory");
		goto out;
	}
	/* Okta only, over verified TLS; never a proxy from the environment
	 * (a proxy would see the client secret). */
	if (curl_easy_setopt(h, CURLOPT_URL, url.data) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https") != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_NOPROXY, "*") != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
	    (cfg->ca_file != NULL && curl_easy_setopt(h, CURLOPT_CAINFO, cfg->ca_file) != CURLE_OK) ||
	    curl_easy_setopt(h, CURLOPT_TIMEOUT, WEB_OKTA_TIMEOUT_S) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.data) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)body.len) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_USERAGENT, OJIT_USER_AGENT) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, exchange_write) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEDATA, &reply) != CURLE_OK) {
		ojit_snprintf(err, errlen, "curl setup failed");
		goto out;
	}
	cr = curl_easy_perform(h);
	if (cr != CURLE_OK) {
		ojit_snprintf(err, errlen, "token endpoint: %s", curl_easy_strerror(cr));
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	o = cJSON_ParseWithLength(reply.data ? reply.data : "", reply.len);
	if (status != 200) {
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "error");
		char what[128] = "";

		if (cJSON_IsString(e))
			ojit_strlcpy(what, e->valuestring, sizeof(what));
		ojit_snprintf(err, errlen, "token endpoint answered HTTP %ld %s", status, ojit_strip_controls(what));
		goto out;
	}
	tok = cJSON_GetObjectItemCaseSensitive(o, "id_token");
	if (!cJSON_IsString(tok) || strlen(tok->valuestring) > WEB_ID_TOKEN_MAX) {
		ojit_snprintf(err, errlen, "token endpoint gave no usable id_token");
		goto out;
	}
	*id_token = strdup(tok->valuestring);
	if (*id_token == NULL) {
		ojit_snprintf(err, errlen, "out of memory");
		goto out;
	}
	rc = 0;
out:
	if (o != NULL) {
		/* The reply held tokens: wipe the parsed copies too. */
		tok = cJSON_GetObjectItemCaseSensitive(o, "id_token");
		if (cJSON_IsString(tok))
			ojit_wipe(tok->valuestring, strlen(tok->valuestring));
		tok = cJSON_GetObjectItemCaseSensitive(o, "access_token");
		if (cJSON_IsString(tok))
			ojit_wipe(tok->valuestring, strlen(tok->valuestring));
		cJSON_Delete(o);
	}
	if (h != NULL)
		curl_easy_cleanup(h);
	ojit_buf_free_secret(&body);
	ojit_buf_free_secret(&reply);
	ojit_buf_free(&url);
	return rc;
}
