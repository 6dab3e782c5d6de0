/* oidc_verify.c - Okta ID tokens verified with OpenSSL against the org's
 * JWKS (issue 19). See oidc_verify.h for what is promised.
 *
 * Only RS256 is accepted, whatever the token's header says: the header
 * chooses nothing but the kid, so neither "none" nor an HMAC keyed with
 * the public key (the classic alg confusion) can pass. Okta signs ID
 * tokens of the org authorization server with RS256 and publishes the
 * keys at {org}/oauth2/v1/keys; it rotates them about four times a year
 * and lists a new key weeks before using it, so a one-hour cache sees it
 * in time, and an unknown kid (an emergency rotation) fetches at most once
 * a minute, so forged kids cannot turn into a flood of requests to Okta. */
#include "oidc_verify.h"

#include <cjson/cJSON.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "okta_client.h"
#include "okta_http.h"
#include "util.h"

struct oidc_key {
	char kid[OIDC_KID_MAX + 1];
	EVP_PKEY *pkey;
};

struct oidc_verifier {
	char *issuer;
	char *client_id;
	int64_t session_max;
	oidc_fetch_fn fetch;
	void *ctx;

	pthread_mutex_t lock;
	struct oidc_key keys[OIDC_JWKS_KEYS_MAX];
	size_t nkeys;
	int have_keys;          /* a fetch succeeded once */
	int64_t fetched_at;     /* wall clock of the last good fetch */
	int64_t tried_at;       /* wall clock of the last attempt, good or not */
	int tried;
	uint64_t fetches;

	/* for oidc_verifier_new_okta */
	struct okta_client *okta;
	char keys_url[HTTP_MAX_URL];
};

static const char *const err_names[] = {
	[OIDC_OK] = "ok",
	[OIDC_ERR_FORMAT] = "format",
	[OIDC_ERR_HEADER] = "header",
	[OIDC_ERR_KID] = "unknown_kid",
	[OIDC_ERR_SIGNATURE] = "signature",
	[OIDC_ERR_CLAIMS] = "claims",
	[OIDC_ERR_EXPIRED] = "expired",
	[OIDC_ERR_TOO_OLD] = "too_old",
	[OIDC_ERR_KEYS] = "keys_unavailable",
	[OIDC_ERR_INTERNAL] = "internal",
};

const char *oidc_err_name(enum oidc_err e)
{
	if ((size_t)e < sizeof(err_names) / sizeof(err_names[0]) && err_names[e] != NULL)
		return err_names[e];
	return "unknown";
}

static enum oidc_err fail(char *why, size_t n, enum oidc_err e, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static enum oidc_err fail(char *why, size_t n, enum oidc_err e, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && n > 0) {
		va_start(ap, fmt);
		vsnprintf(why, n, fmt, ap);
		va_end(ap);
	}
	return e;
}

/* ---- strict base64url ---- */

int oidc_b64url_decode_strict(const char *in, size_t len, unsigned char **out, size_t *outlen)
{
	unsigned char *buf;
	uint32_t acc = 0;
	size_t i, o = 0;
	int bits = 0;

	*out = NULL;
	*outlen = 0;
	if (len % 4 == 1 || len > OIDC_JWKS_MAX * 2)
		return -1;
	buf = malloc(len * 3 / 4 + 4);
	if (buf == NULL)
		return -1;
	for (i = 0; i < len; i++) {
		int v = ojit_b64_digit((unsigned char)in[i], 1);

		if (v < 0)
			goto bad;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[o++] = (unsigned char)(acc >> bits);
		}
	}
	/* Left-over bits must be zero: "QQ" and "QR" would otherwise both
	 * decode to "A", and a token would have more than one spelling. */
	if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
		goto bad;
	buf[o] = '\0';
	*out = buf;
	*outlen = o;
	return 0;
bad:
	free(buf);
	return -1;
}

/* ---- JSON helpers ---- */

/* An object with no member name twice: with duplicates, two readers of
 * the same token could see different claims. */
static int json_unique_members(const cJSON *o)
{
	const cJSON *a, *b;

	if (!cJSON_IsObject(o))
		return 0;
	for (a = o->child; a != NULL; a = a->next) {
		if (a->string == NULL)
			return 0;
		for (b = a->next; b != NULL; b = b->next)
			if (b->string == NULL || strcmp(a->string, b->string) == 0)
				return 0;
	}
	return 1;
}

static cJSON *json_object_of(const unsigned char *text, size_t len)
{
	cJSON *j;

	/* a NUL inside would hide what follows from cJSON */
	if (memchr(text, '\0', len) != NULL)
		return NULL;
	j = cJSON_ParseWithLength((const char *)text, len);
	if (j == NULL)
		return NULL;
	if (!json_unique_members(j)) {
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

static const char *json_str(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A NumericDate (RFC 7519): an integer number of seconds, 0 .. 2^53. */
static int json_time(const cJSON *o, const char *name, int64_t *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	double d;

	if (!cJSON_IsNumber(v))
		return -1;
	d = v->valuedouble;
	if (!(d >= 0 && d <= 9007199254740992.0) || d != (double)(int64_t)d)
		return -1;
	*out = (int64_t)d;
	return 0;
}

/* ---- keys ---- */

static BIGNUM *jwk_bn(const cJSON *jwk, const char *name, size_t maxbytes)
{
	const char *s = json_str(jwk, name);
	unsigned char *raw = NULL;
	size_t len = 0;
	BIGNUM *bn = NULL;

	if (s == NULL || oidc_b64url_decode_strict(s, strlen(s), &raw, &len) != 0)
		return NULL;
	if (len > 0 && len <= maxbytes && raw[0] != 0) /* minimal: no leading zero octet */
		bn = BN_bin2bn(raw, (int)len, NULL);
	free(raw);
	return bn;
}

static EVP_PKEY *rsa_from_jwk(const cJSON *jwk)
{
	BIGNUM *n = jwk_bn(jwk, "n", OIDC_RSA_MAX_BITS / 8), *e = jwk_bn(jwk, "e", 8);
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *pc = NULL;
	EVP_PKEY *pkey = NULL;

	if (n == NULL || e == NULL || BN_num_bits(n) < OIDC_RSA_MIN_BITS || !BN_is_odd(e) || BN_is_one(e))
		goto out;
	bld = OSSL_PARAM_BLD_new();
	if (bld == NULL || OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) != 1 ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
		goto out;
	pc = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	if (pc == NULL || EVP_PKEY_fromdata_init(pc) != 1 ||
	    EVP_PKEY_fromdata(pc, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pkey = NULL;
out:
	ERR_clear_error();
	EVP_PKEY_CTX_free(pc);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return pkey;
}

static void keys_free(struct oidc_key *k, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		EVP_PKEY_free(k[i].pkey);
		k[i].pkey = NULL;
	}
}

/* Read the usable keys of a JWKS text into k (at most OIDC_JWKS_KEYS_MAX):
 * RSA signing keys with a kid, use "sig" and alg "RS256" when given.
 * Others (an EC key, an encryption key) are skipped, not refused: Okta
 * may list more kinds later. The count, or -1 when the text is no JWKS. */
static int jwks_parse(const char *json, size_t len, struct oidc_key *k)
{
	cJSON *doc = NULL;
	const cJSON *arr, *jwk;
	int n = 0, r = -1;

	if (len > OIDC_JWKS_MAX)
		return -1;
	doc = json_object_of((const unsigned char *)json, len);
	if (doc == NULL)
		return -1;
	arr = cJSON_GetObjectItemCaseSensitive(doc, "keys");
	if (!cJSON_IsArray(arr))
		goto out;
	cJSON_ArrayForEach(jwk, arr) {
		const char *kty, *kid, *use, *alg;
		EVP_PKEY *pk;
		int i, dup = 0;

		if (!json_unique_members(jwk))
			continue;
		kty = json_str(jwk, "kty");
		kid = json_str(jwk, "kid");
		use = json_str(jwk, "use");
		alg = json_str(jwk, "alg");
		if (kty == NULL || strcmp(kty, "RSA") != 0 || kid == NULL || kid[0] == '\0' ||
		    strlen(kid) > OIDC_KID_MAX)
			continue;
		if ((cJSON_HasObjectItem(jwk, "use") && (use == NULL || strcmp(use, "sig") != 0)) ||
		    (cJSON_HasObjectItem(jwk, "alg") && (alg == NULL || strcmp(alg, "RS256") != 0)))
			continue;
		/* Two keys under one kid: which one signs is not knowable, so
		 * neither is used. */
		for (i = 0; i < n; i++)
			if (strcmp(k[i].kid, kid) == 0)
				dup = 1;
		if (dup) {
			for (i = 0; i < n; i++)
				if (strcmp(k[i].kid, kid) == 0) {
					EVP_PKEY_free(k[i].pkey);
					k[i] = k[n - 1];
					k[n - 1].pkey = NULL;
					n--;
					break;
				}
			continue;
		}
		if (n >= OIDC_JWKS_KEYS_MAX)
			break;
		pk = rsa_from_jwk(jwk);
		if (pk == NULL)
			continue;
		memcpy(k[n].kid, kid, strlen(kid) + 1);
		k[n].pkey = pk;
		n++;
	}
	r = n;
out:
	cJSON_Delete(doc);
	return r;
}

int oidc_jwks_count(const char *json, size_t len)
{
	struct oidc_key k[OIDC_JWKS_KEYS_MAX];
	int n;

	memset(k, 0, sizeof(k));
	n = jwks_parse(json, len, k);
	if (n > 0)
		keys_free(k, (size_t)n);
	return n;
}

/* Fetch the keys now (v->lock held). 0, or -1 with why; the old keys
 * stay on failure. */
static int keys_refresh(struct oidc_verifier *v, int64_t now, char *why, size_t wn)
{
	struct oidc_key k[OIDC_JWKS_KEYS_MAX];
	char *body = NULL;
	size_t len = 0;
	int n;

	v->tried = 1;
	v->tried_at = now;
	v->fetches++;
	if (v->fetch(v->ctx, &body, &len, why, wn) != 0) {
		free(body);
		return -1;
	}
	memset(k, 0, sizeof(k));
	n = jwks_parse(body, len, k);
	free(body);
	if (n < 0) {
		fail(why, wn, OIDC_ERR_KEYS, "the org's keys document is not a valid JWKS");
		return -1;
	}
	keys_free(v->keys, v->nkeys);
	memcpy(v->keys, k, sizeof(k));
	v->nkeys = (size_t)n;
	v->have_keys = 1;
	v->fetched_at = now;
	return 0;
}

static EVP_PKEY *key_find(struct oidc_verifier *v, const char *kid)
{
	for (size_t i = 0; i < v->nkeys; i++)
		if (strcmp(v->keys[i].kid, kid) == 0) {
			EVP_PKEY_up_ref(v->keys[i].pkey);
			return v->keys[i].pkey;
		}
	return NULL;
}

static int fetched_within(const struct oidc_verifier *v, int64_t now, int64_t secs)
{
	/* a clock that went back counts as long ago */
	return v->have_keys && now >= v->fetched_at && now - v->fetched_at < secs;
}

static int tried_within(const struct oidc_verifier *v, int64_t now, int64_t secs)
{
	return v->tried && now >= v->tried_at && now - v->tried_at < secs;
}

/* The key for kid with a reference, or NULL with the error in *e. */
static EVP_PKEY *key_get(struct oidc_verifier *v, const char *kid, int64_t now, enum oidc_err *e, char *why,
			 size_t wn)
{
	EVP_PKEY *pk = NULL;

	pthread_mutex_lock(&v->lock);
	if (!fetched_within(v, now, OIDC_JWKS_TTL)) {
		/* Stale or never fetched: try again, but while Okta does not
		 * answer at most every OIDC_JWKS_RETRY_MIN seconds. Keys older
		 * than the TTL are not used: fail closed. */
		if (!tried_within(v, now, OIDC_JWKS_RETRY_MIN))
			(void)keys_refresh(v, now, why, wn);
		if (!fetched_within(v, now, OIDC_JWKS_TTL)) {
			if (why != NULL && wn > 0 && why[0] == '\0')
				fail(why, wn, OIDC_ERR_KEYS, "the org's keys could not be fetched lately");
			*e = OIDC_ERR_KEYS;
			goto out;
		}
	}
	pk = key_find(v, kid);
	if (pk == NULL && !tried_within(v, now, OIDC_JWKS_REFETCH_MIN) && keys_refresh(v, now, why, wn) == 0)
		pk = key_find(v, kid);
	if (pk == NULL)
		*e = fail(why, wn, OIDC_ERR_KID, "no key of the org has this token's kid");
out:
	pthread_mutex_unlock(&v->lock);
	return pk;
}

/* ---- the token ---- */

static enum oidc_err check_header(const unsigned char *h, size_t hlen, char *kid, char *why, size_t wn)
{
	cJSON *j = json_object_of(h, hlen);
	const char *alg, *k;
	enum oidc_err e = OIDC_ERR_HEADER;

	if (j == NULL)
		return fail(why, wn, OIDC_ERR_FORMAT, "the token's header is not a JSON object");
	alg = json_str(j, "alg");
	if (alg == NULL || strcmp(alg, "RS256") != 0) {
		fail(why, wn, e, "the token's alg is not RS256");
		goto out;
	}
	/* RFC 7515 4.1.11: a recipient must refuse critical extensions it
	 * does not understand, and okta-jitd understands none. */
	if (cJSON_HasObjectItem(j, "crit")) {
		fail(why, wn, e, "the token's header has crit");
		goto out;
	}
	/* Keys come from the org's JWKS alone; a token naming its own key
	 * (jwk, jku, x5u, x5c) is not Okta's. */
	if (cJSON_HasObjectItem(j, "jwk") || cJSON_HasObjectItem(j, "jku") || cJSON_HasObjectItem(j, "x5u") ||
	    cJSON_HasObjectItem(j, "x5c")) {
		fail(why, wn, e, "the token's header names a key of its own");
		goto out;
	}
	k = json_str(j, "kid");
	if (k == NULL || k[0] == '\0' || strlen(k) > OIDC_KID_MAX) {
		fail(why, wn, e, "the token's header has no valid kid");
		goto out;
	}
	memcpy(kid, k, strlen(k) + 1);
	e = OIDC_OK;
out:
	cJSON_Delete(j);
	return e;
}

static enum oidc_err check_claims(struct oidc_verifier *v, const unsigned char *p, size_t plen, int64_t now,
				  struct oidc_identity *id, char *why, size_t wn)
{
	cJSON *j = json_object_of(p, plen);
	const cJSON *aud;
	const char *iss, *sub, *user;
	int64_t exp, iat, nbf;
	enum oidc_err e = OIDC_ERR_CLAIMS;

	if (j == NULL)
		return fail(why, wn, OIDC_ERR_FORMAT, "the token's claims are not a JSON object");
	iss = json_str(j, "iss");
	if (iss == NULL || strcmp(iss, v->issuer) != 0) {
		fail(why, wn, e, "the token's issuer is not this org");
		goto out;
	}
	/* OIDC Core 2: aud is the client_id, or a list holding it; a list
	 * naming other clients too would need azp, and Okta sends a string,
	 * so only a one-element list is accepted besides. */
	aud = cJSON_GetObjectItemCaseSensitive(j, "aud");
	if (cJSON_IsArray(aud) && cJSON_GetArraySize(aud) == 1)
		aud = cJSON_GetArrayItem(aud, 0);
	if (!cJSON_IsString(aud) || strcmp(aud->valuestring, v->client_id) != 0) {
		fail(why, wn, e, "the token is for another audience");
		goto out;
	}
	sub = json_str(j, "sub");
	if (sub == NULL || !okta_valid_id(sub) || strlen(sub) > OKTA_ID_MAX) {
		fail(why, wn, e, "the token's sub is not an Okta user id");
		goto out;
	}
	if (json_time(j, "exp", &exp) != 0 || json_time(j, "iat", &iat) != 0) {
		fail(why, wn, e, "the token has no valid exp or iat");
		goto out;
	}
	if (exp <= now - OIDC_CLOCK_SKEW) {
		e = fail(why, wn, OIDC_ERR_EXPIRED, "the token expired %llds ago", (long long)(now - exp));
		goto out;
	}
	if (cJSON_HasObjectItem(j, "nbf") &&
	    (json_time(j, "nbf", &nbf) != 0 || nbf > now + OIDC_CLOCK_SKEW)) {
		e = fail(why, wn, OIDC_ERR_EXPIRED, "the token is not valid yet (nbf)");
		goto out;
	}
	if (iat > now + OIDC_CLOCK_SKEW) {
		e = fail(why, wn, OIDC_ERR_TOO_OLD, "the token was issued in the future");
		goto out;
	}
	if (iat < now - v->session_max) {
		e = fail(why, wn, OIDC_ERR_TOO_OLD, "the sign-in is older than [web] session_max (%llds)",
			 (long long)v->session_max);
		goto out;
	}
	memset(id, 0, sizeof(*id));
	memcpy(id->sub, sub, strlen(sub) + 1);
	user = json_str(j, "preferred_username");
	if (user != NULL && strlen(user) <= OKTA_LOGIN_MAX)
		memcpy(id->username, user, strlen(user) + 1);
	id->iat = iat;
	id->exp = exp;
	e = OIDC_OK;
out:
	cJSON_Delete(j);
	return e;
}

enum oidc_err oidc_verify(struct oidc_verifier *v, const char *token, int64_t now, struct oidc_identity *id,
			  char *why, size_t wn)
{
	const char *d1, *d2;
	unsigned char *hdr = NULL, *pay = NULL, *sig = NULL;
	size_t len, hlen, plen, slen;
	char kid[OIDC_KID_MAX + 1];
	EVP_PKEY *pk = NULL;
	EVP_MD_CTX *md = NULL;
	enum oidc_err e;

	memset(id, 0, sizeof(*id));
	if (why != NULL && wn > 0)
		why[0] = '\0';
	if (token == NULL)
		return fail(why, wn, OIDC_ERR_FORMAT, "no token");
	len = strnlen(token, OIDC_TOKEN_MAX + 1);
	if (len > OIDC_TOKEN_MAX)
		return fail(why, wn, OIDC_ERR_FORMAT, "the token is longer than %d bytes", OIDC_TOKEN_MAX);
	d1 = memchr(token, '.', len);
	d2 = d1 != NULL ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token)) : NULL;
	if (d1 == NULL || d2 == NULL || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token)) != NULL ||
	    d1 == token || d2 == d1 + 1 || d2 + 1 == token + len)
		return fail(why, wn, OIDC_ERR_FORMAT, "the token is not a signed compact JWS (three parts)");
	if (oidc_b64url_decode_strict(token, (size_t)(d1 - token), &hdr, &hlen) != 0 ||
	    oidc_b64url_decode_strict(d1 + 1, (size_t)(d2 - d1 - 1), &pay, &plen) != 0 ||
	    oidc_b64url_decode_strict(d2 + 1, len - (size_t)(d2 + 1 - token), &sig, &slen) != 0) {
		e = fail(why, wn, OIDC_ERR_FORMAT, "the token is not strict base64url");
		goto out;
	}
	e = check_header(hdr, hlen, kid, why, wn);
	if (e != OIDC_OK)
		goto out;
	pk = key_get(v, kid, now, &e, why, wn);
	if (pk == NULL)
		goto out;
	/* RS256: RSASSA-PKCS1-v1_5 with SHA-256 over "header.payload", the
	 * signature exactly as long as the modulus. */
	if ((int)slen != EVP_PKEY_get_size(pk)) {
		e = fail(why, wn, OIDC_ERR_SIGNATURE, "the token's signature does not verify");
		goto out;
	}
	md = EVP_MD_CTX_new();
	if (md == NULL || EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pk) != 1) {
		e = fail(why, wn, OIDC_ERR_INTERNAL, "cannot set up RS256 verification");
		goto out;
	}
	if (EVP_DigestVerify(md, sig, slen, (const unsigned char *)token, (size_t)(d2 - token)) != 1) {
		e = fail(why, wn, OIDC_ERR_SIGNATURE, "the token's signature does not verify");
		goto out;
	}
	e = check_claims(v, pay, plen, now, id, why, wn);
out:
	ERR_clear_error();
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pk);
	free(hdr);
	if (pay != NULL)
		ojit_wipe(pay, plen);
	free(pay);
	free(sig);
	if (e != OIDC_OK)
		memset(id, 0, sizeof(*id));
	return e;
}

/* ---- life ---- */

struct oidc_verifier *oidc_verifier_new(const char *issuer, const char *client_id, int64_t session_max,
					oidc_fetch_fn fetch, void *ctx)
{
	struct oidc_verifier *v;

	if (issuer == NULL || client_id == NULL || fetch == NULL || session_max <= 0)
		return NULL;
	v = calloc(1, sizeof(*v));
	if (v == NULL)
		return NULL;
	v->issuer = strdup(issuer);
	v->client_id = strdup(client_id);
	v->session_max = session_max;
	v->fetch = fetch;
	v->ctx = ctx;
	pthread_mutex_init(&v->lock, NULL);
	if (v->issuer == NULL || v->client_id == NULL) {
		oidc_verifier_free(v);
		return NULL;
	}
	return v;
}

/* oidc_fetch_fn over Okta's HTTP client: no credential is sent (the keys
 * are public), TLS is verified as for every Okta call, a redirect is not
 * followed, and the body is bounded. */
static int okta_keys_fetch(void *ctx, char **body, size_t *len, char *why, size_t n)
{
	struct oidc_verifier *v = ctx;
	struct http_request req;
	struct http_response resp;
	int r = -1;

	*body = NULL;
	*len = 0;
	memset(&req, 0, sizeof(req));
	req.method = "GET";
	req.url = v->keys_url;
	http_response_init(&resp);
	if (okta_http_perform(v->okta->http, &req, &resp) != 0) {
		okta_note_sent(v->okta, BUCKET_OTHER, 0);
		fail(why, n, OIDC_ERR_KEYS, "cannot fetch the org's keys: %s", resp.curl_error);
		goto out;
	}
	okta_note_sent(v->okta, BUCKET_OTHER, resp.status);
	if (resp.status != 200) {
		fail(why, n, OIDC_ERR_KEYS, "Okta answered HTTP %ld for the org's keys", resp.status);
		goto out;
	}
	if (resp.body.overflow || resp.body.len > OIDC_JWKS_MAX || resp.body.data == NULL) {
		fail(why, n, OIDC_ERR_KEYS, "the org's keys document is empty or larger than %d bytes", OIDC_JWKS_MAX);
		goto out;
	}
	*body = malloc(resp.body.len + 1);
	if (*body == NULL)
		goto out;
	memcpy(*body, resp.body.data, resp.body.len);
	(*body)[resp.body.len] = '\0';
	*len = resp.body.len;
	r = 0;
out:
	http_response_free(&resp);
	return r;
}

struct oidc_verifier *oidc_verifier_new_okta(struct okta_client *c, const char *org_url, const char *client_id,
					     int64_t session_max)
{
	struct oidc_verifier *v;

	if (c == NULL || org_url == NULL)
		return NULL;
	v = oidc_verifier_new(org_url, client_id, session_max, okta_keys_fetch, NULL);
	if (v == NULL)
		return NULL;
	v->ctx = v;
	v->okta = c;
	if (ojit_snprintf(v->keys_url, sizeof(v->keys_url), "%s/oauth2/v1/keys", org_url) < 0) {
		oidc_verifier_free(v);
		return NULL;
	}
	return v;
}

void oidc_verifier_free(struct oidc_verifier *v)
{
	if (v == NULL)
		return;
	keys_free(v->keys, v->nkeys);
	pthread_mutex_destroy(&v->lock);
	free(v->issuer);
	free(v->client_id);
	free(v);
}

uint64_t oidc_verifier_fetches(struct oidc_verifier *v)
{
	uint64_t n;

	pthread_mutex_lock(&v->lock);
	n = v->fetches;
	pthread_mutex_unlock(&v->lock);
	return n;
}

int oidc_keys_probe(struct okta_client *c, const char *org_url, char *why, size_t n)
{
	struct oidc_verifier *v = oidc_verifier_new_okta(c, org_url, "probe", 60);
	char *body = NULL;
	size_t len = 0;
	int count = -1;

	if (v == NULL) {
		fail(why, n, OIDC_ERR_INTERNAL, "cannot set up the keys request");
		return -1;
	}
	if (okta_keys_fetch(v, &body, &len, why, n) == 0) {
		count = oidc_jwks_count(body, len);
		if (count <= 0)
			fail(why, n, OIDC_ERR_KEYS, "%s holds no usable RS256 key", v->keys_url);
	}
	free(body);
	oidc_verifier_free(v);
	return count > 0 ? count : -1;
}
