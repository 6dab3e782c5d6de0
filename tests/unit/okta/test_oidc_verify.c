/* test_oidc_verify.c - Okta ID tokens signed here with keys made here,
 * verified by oidc_verify: the good one passes; a wrong signature, alg
 * none, HS256 keyed with the public key, another audience or issuer, an
 * expired token, a sign-in older than session_max, an unknown kid and an
 * oversized token are refused; the keys are fetched once an hour and an
 * unknown kid fetches them at most once a minute. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fixed_keys.h" /* RSA keys: no key generation under valgrind */

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/bio.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "jwt.h"
#include "oidc_verify.h"

#define ISS "https://example.okta.com"
#define AUD "0oaWEBclient123"
#define SUB "00u1alice0000000"
#define NOW 1800000000LL
#define SESSION_MAX 3600

struct fx {
	EVP_PKEY *key;   /* the org's signing key, kid "k1" */
	EVP_PKEY *other; /* a key Okta never published */
	char *jwks;      /* what the fake keys endpoint serves */
	int fetches;
	int fail_fetch;
};

static char *jwks_of(EVP_PKEY *k, const char *kid)
{
	cJSON *doc = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(doc, "keys");
	cJSON *jwk = jwt_public_jwk(k);
	char *s;

	cJSON_AddStringToObject(jwk, "kid", kid);
	cJSON_AddStringToObject(jwk, "use", "sig");
	cJSON_AddStringToObject(jwk, "alg", "RS256");
	cJSON_AddItemToArray(arr, jwk);
	s = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	return s;
}

static int fake_fetch(void *ctx, char **body, size_t *len, char *why, size_t n)
{
	struct fx *f = ctx;

	f->fetches++;
	if (f->fail_fetch) {
		snprintf(why, n, "down");
		return -1;
	}
	*body = strdup(f->jwks);
	*len = strlen(f->jwks);
	return *body ? 0 : -1;
}

static int group_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	f->key = testkey_load(testkey_rsa2048_a);
	f->other = testkey_load(testkey_rsa2048_b);
	f->jwks = jwks_of(f->key, "k1");
	*state = f;
	return f->key && f->other && f->jwks ? 0 : -1;
}

static int group_teardown(void **state)
{
	struct fx *f = *state;

	EVP_PKEY_free(f->key);
	EVP_PKEY_free(f->other);
	free(f->jwks);
	free(f);
	return 0;
}

static int setup(void **state)
{
	struct fx *f = *state;

	f->fetches = 0;
	f->fail_fetch = 0;
	return 0;
}

static cJSON *claims(void)
{
	cJSON *c = cJSON_CreateObject();

	cJSON_AddStringToObject(c, "iss", ISS);
	cJSON_AddStringToObject(c, "aud", AUD);
	cJSON_AddStringToObject(c, "sub", SUB);
	cJSON_AddNumberToObject(c, "iat", (double)(NOW - 60));
	cJSON_AddNumberToObject(c, "exp", (double)(NOW + 3540));
	cJSON_AddStringToObject(c, "nonce", "n-0S6_WzA2Mj");
	cJSON_AddStringToObject(c, "preferred_username", "alice@example.com");
	return c;
}

static char *sign(EVP_PKEY *k, const char *kid, cJSON *c)
{
	cJSON *h = cJSON_CreateObject();
	char *tok = NULL;

	if (kid != NULL)
		cJSON_AddStringToObject(h, "kid", kid);
	assert_int_equal(jwt_sign(k, h, c, &tok), 0);
	cJSON_Delete(h);
	cJSON_Delete(c);
	return tok;
}

/* header.payload.sig from raw JSON texts and a raw signature. */
static char *assemble(const char *hjson, const char *cjson, const unsigned char *sig, size_t slen)
{
	struct ojit_buf b;

	ojit_buf_init(&b, 0);
	b64url_encode((const unsigned char *)hjson, strlen(hjson), &b);
	ojit_buf_append(&b, ".", 1);
	b64url_encode((const unsigned char *)cjson, strlen(cjson), &b);
	ojit_buf_append(&b, ".", 1);
	if (slen > 0)
		b64url_encode(sig, slen, &b);
	return b.data;
}

static struct oidc_verifier *verifier(struct fx *f)
{
	struct oidc_verifier *v = oidc_verifier_new(ISS, AUD, SESSION_MAX, fake_fetch, f);

	assert_non_null(v);
	return v;
}

static enum oidc_err run(struct fx *f, const char *tok, int64_t now, struct oidc_identity *id)
{
	struct oidc_verifier *v = verifier(f);
	char why[256];
	enum oidc_err e = oidc_verify(v, tok, now, id, why, sizeof(why));

	if (e != OIDC_OK)
		assert_true(why[0] != '\0');
	oidc_verifier_free(v);
	return e;
}

static void test_good_token(void **state)
{
	struct fx *f = *state;
	struct oidc_identity id;
	char *tok = sign(f->key, "k1", claims());

	assert_int_equal(run(f, tok, NOW, &id), OIDC_OK);
	assert_string_equal(id.sub, SUB);
	assert_string_equal(id.username, "alice@example.com");
	assert_int_equal(id.iat, NOW - 60);
	free(tok);
}

static void test_aud_one_element_list(void **state)
{
	struct fx *f = *state;
	struct oidc_identity id;
	cJSON *c = claims(), *arr = cJSON_CreateArray();
	char *tok;

	cJSON_DeleteItemFromObject(c, "aud");
	cJSON_AddItemToArray(arr, cJSON_CreateString(AUD));
	cJSON_AddItemToObject(c, "aud", arr);
	tok = sign(f->key, "k1", c);
	assert_int_equal(run(f, tok, NOW, &id), OIDC_OK);
	free(tok);
}

static void test_wrong_signature(void **state)
{
	struct fx *f = *state;
	struct oidc_identity id;
	char *tok = sign(f->other, "k1", claims()); /* signed by a key not the org's */
	char *good = sign(f->key, "k1", claims());
	char *dot;

	assert_int_equal(run(f, tok, NOW, &id), OIDC_ERR_SIGNATURE);
	assert_string_equal(id.sub, "");
	/* the org's signature of other claims, on claims naming mallory */
	{
		cJSON *c = claims();
		char *mal, *gsig = strrchr(good, '.'), *mixed;

		cJSON_ReplaceItemInObject(c, "sub", cJSON_CreateString("00u1mallory00000"));
		mal = sign(f->other, "k1", c);
		dot = strrchr(mal, '.');
		mixed = malloc(strlen(mal) + strlen(gsig) + 1);
		memcpy(mixed, mal, (size_t)(dot - mal));
		strcpy(mixed + (dot - mal), gsig);
		assert_int_equal(run(f, mixed, NOW, &id), OIDC_ERR_SIGNATURE);
		free(mixed);
		free(mal);
	}
	free(tok);
	free(good);
}

static void test_flipped_bit(void **state)
{
	struct fx *f = *state;
	struct oidc_identity id;
	char *tok = sign(f->key, "k1", claims());
	char *p = strchr(tok, '.') + 5;

	*p = *p == 'A' ? 'B' : 'A';
	assert_int_not_equal(run(f, tok, NOW, &id), OIDC_OK);
	free(tok);
}

static void test_alg_none(void **state)
{
	struct fx *f = *state;
	struct oidc_identity id;
	cJSON *c = claims();
	char *cj = cJSON_PrintUnformatted(c);
	char *tok = assemble("{\"alg\":\"none\",\"kid\":\"k1\"}", cj, NULL, 0);
	char *tok2 = assemble("{\"alg\":\"none\",\"kid\":\"k1\"}", cj, (const unsigned char *)"x", 1);

	assert_int_equal(run(f, tok, NOW, &id), OIDC_ERR_FORMAT); /* no signature part */
	assert_int_equal(run(f, tok2, NOW, &id), OIDC_ERR_HEADER);
	free(tok);
	free(tok2);
	free(cj);
	cJSON_Delete(c);
}

/* The classic confusion: HS256 keyed with the RSA public key a verifier
 * holds. The header's alg is never used to choose the check. */
static void test_hs256_with_public_key(void **state)
{
	struct fx *f = *state;
	struct oidc_identity id;
	cJSON *c = claims();
	char *cj = cJSON_PrintUnformatted(c);
	const char *hj = "{\"alg\":\"HS256\",\"kid\":\"k1\"}";
	unsigned char *pem = NULL, mac[32];
	unsigned int maclen = 0;
	char *unsigned_tok, *tok;
	BIO *bio = BIO_new(BIO_s_mem());
	long plen;

	assert_int_equal(PEM_write_bio_PUBKEY(bio, f->key), 1);
	plen = BIO_get_mem_data(bio, (char **)&pem);
	unsigned_tok = assemble(hj, cj, NULL, 0);
	unsigned_tok[strlen(unsigned_tok) - 1] = '\0'; /* drop the trailing '.' */
	HMAC(EVP_sha256(), pem, (int)plen, (unsigned char *)unsigned_tok, strlen(unsigned_tok), mac, &maclen);
	tok = assemble(hj, cj, mac, maclen);
	assert_int_equal(run(f, tok, NOW, &id), OIDC_ERR_HEADER);
	/* the same with alg claimed RS256: the MAC is no RSA signature */
	free(tok);
	tok = assemble("{\"alg\":\"RS256\",\"kid\":\"k1\"}", cj, mac, maclen);
	assert_int_equal(run(f, tok, NOW, &id), OIDC_ERR_SIGNATURE);
	free(tok);
	free(unsigned_tok);
	BIO_free(bio);
	free(cj);
	cJSON_Delete(c);
}

static void test_crit_and_embedded_key(void **state)
{
	struct fx *f = *state;
	struct oidc_identity id;
	cJSON *h = cJSON_CreateObject(), *c = claims();
	char *tok = NULL;

	cJSON_AddStringToObject(h, "kid", "k1");
	cJSON_AddItemToObject(h, "crit", cJSON_CreateStringArray((const char *[]){ "exp" }, 1));
	assert_int_equal(jwt_sign(f->key, h, c, &tok), 0);
	assert_int_equal(run(f, tok, NOW, &id), OIDC_ERR_HEADER);
	free(tok);
	cJSON_Delete(h);

	cJSON_Delete(c);
	c = claims();
	h = cJSON_CreateObject();
	cJSON_AddStringToObject(h, "kid", "k1");
	cJSON_AddItemToObject(h, "jwk", jwt_public_jwk(f->other));
	assert_int_equal(jwt_sign(f->other, h, c, &tok), 0);
	assert_int_equal(run(f, tok, NOW, &id), OIDC_ERR_HEADER);
	free(tok);
	cJSON_Delete(h);
	cJSON_Delete(c);
}

static void test_other_audience(void **state)
{
	struct fx *f = *state;
	struct oidc_identity id;
	cJSON *c = claims();
	char *tok;

	cJSON_ReplaceItemInObject(c, "aud", cJSON_CreateString("0oaOTHERapp"));
	tok = sign(f->key, "k1", c);
	assert_int_equal(run(f, tok, NOW, &id), OIDC_ERR_CLAIMS);
	free(tok);
	/* a list naming us and another client */
	c = claims();
	cJSON_ReplaceItemInObject(c, "aud", cJSON_CreateStringArray((const char *[]){ AUD, "0oaOTHERapp" }, 2));
	tok = sign(f->key, "k1", c);
	assert_int_equal(run(f, tok, NOW, &id), OIDC_ERR_CLAIMS);
	free(tok);
}

static void test_other_issuer(void **state)
{
	struct fx *f = *state;
	struct oidc_identity id;
	const char *bad[] = { "https://evil.okta.com", ISS "/", ISS "/oauth2/default", "https://EXAMPLE.okta.com" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cJSON *c = claims();
		char *tok;

		cJSON_ReplaceItemInObject(c, "iss", cJSON_CreateString(bad[i]));
		tok = sign(f->key, "k1", c);
		assert_int_equal(run(f, tok, NOW, &id), OIDC_ERR_CLAIMS);
		free(tok);
	}
}

static void test_expired(void **state)
{
	struct fx *f = *state;
	struct oidc_identity id;
	cJSON *c = claims();
	char *tok;

	cJSON_ReplaceItemInObject(c, "exp", cJSON_CreateNumber((double)(NOW - 31)));
	cJSON_ReplaceItemInObject(c, "iat", cJSON_CreateNumber((double)(NOW - 600)));
	tok = sign(f->key, "k1", c);
	assert_int_equal(run(f, tok, NOW, &id), OIDC_ERR_EXPIRED);
	/* within the 30 s skew it still passes */
	assert_int_equal(run(f, tok, NOW - 2, &id), OIDC_OK);
	free(tok);
}

static void test_too_old_iat(void **state)
{
	struct fx *f = *state;
	struct oidc_identity id;
	cJSON *c = claims();
	char *tok;

	/* still unexpired, but the sign-in is older than session_max */
	cJSON_ReplaceItemInObject(c, "iat", cJSON_CreateNumber((double)(NOW - SESSION_MAX - 1)));
	cJSON_ReplaceItemInObject(c, "exp", cJSON_CreateNumber((double)(NOW + 3600)));
	tok = sign(f->key, "k1", c);
	assert_int_equal(run(f, tok, NOW, &id), OIDC_ERR_TOO_OLD);
	free(tok);
	/* nor from the future */
	c = claims();
	cJSON_ReplaceItemInObject(c, "iat", cJSON_CreateNumber((double)(NOW + 120)));
	tok = sign(f->key, "k1", c);
	assert_int_equal(run(f, tok, NOW, &id), OIDC_ERR_TOO_OLD);
	free(tok);
}

static void test_bad_claims(void **state)
{
	struct fx *f = *state;
	struct oidc_identity id;
	const char *bad_sub[] = { "", "00u1 alice", "00u1alice0000000/../x", "00u1alice\n" };
	cJSON *c;
	char *tok;

	for (size_t i = 0; i < sizeof(bad_sub) / sizeof(bad_sub[0]); i++) {
		c = claims();
		cJSON_ReplaceItemInObject(c, "sub", cJSON_CreateString(bad_sub[i]));
		tok = sign(f->key, "k1", c);
		assert_int_equal(run(f, tok, NOW, &id), OIDC_ERR_CLAIMS);
		free(tok);
	}
	/* exp as a string, no iat */
	c = claims();
	cJSON_ReplaceItemInObject(c, "exp", cJSON_CreateString("1900000000"));
	tok = sign(f->key, "k1", c);
	assert_int_equal(run(f, tok, NOW, &id), OIDC_ERR_CLAIMS);
	free(tok);
	c = claims();
	cJSON_DeleteItemFromObject(c, "iat");
	tok = sign(f->key, "k1", c);
	assert_int_equal(run(f, tok, NOW, &id), OIDC_ERR_CLAIMS);
	free(tok);
	/* a claim given twice: which one counts depends on the reader */
	{
		char cj[512];
		struct ojit_buf b;
		unsigned char *sig = NULL;
		size_t slen = 0;
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		char *t2;

		snprintf(cj, sizeof(cj),
			 "{\"iss\":\"%s\",\"aud\":\"%s\",\"sub\":\"%s\",\"sub\":\"00u1mallory00000\",\"iat\":%lld,\"exp\":%lld}",
			 ISS, AUD, SUB, NOW - 10, NOW + 100);
		t2 = assemble("{\"alg\":\"RS256\",\"kid\":\"k1\"}", cj, NULL, 0);
		t2[strlen(t2) - 1] = '\0';
		assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, f->key), 1);
		assert_int_equal(EVP_DigestSign(md, NULL, &slen, (unsigned char *)t2, strlen(t2)), 1);
		sig = malloc(slen);
		assert_int_equal(EVP_DigestSign(md, sig, &slen, (unsigned char *)t2, strlen(t2)), 1);
		ojit_buf_init(&b, 0);
		ojit_buf_append(&b, t2, strlen(t2));
		ojit_buf_append(&b, ".", 1);
		b64url_encode(sig, slen, &b);
		assert_int_equal(run(f, b.data, NOW, &id), OIDC_ERR_FORMAT);
		ojit_buf_free(&b);
		free(sig);
		free(t2);
		EVP_MD_CTX_free(md);
	}
}

static void test_unknown_kid_refetch_limited(void **state)
{
	struct fx *f = *state;
	struct oidc_verifier *v = verifier(f);
	struct oidc_identity id;
	char why[256];
	char *good = sign(f->key, "k1", claims());
	char *unknown = sign(f->other, "k9", claims());

	assert_int_equal(oidc_verify(v, good, NOW, &id, why, sizeof(why)), OIDC_OK);
	assert_int_equal(f->fetches, 1);
	assert_int_equal(oidc_verify(v, good, NOW + 5, &id, why, sizeof(why)), OIDC_OK);
	assert_int_equal(f->fetches, 1); /* cached */
	/* an unknown kid: one fetch at most once a minute */
	assert_int_equal(oidc_verify(v, unknown, NOW + 61, &id, why, sizeof(why)), OIDC_ERR_KID);
	assert_int_equal(f->fetches, 2);
	for (int i = 0; i < 50; i++)
		assert_int_equal(oidc_verify(v, unknown, NOW + 62 + i, &id, why, sizeof(why)), OIDC_ERR_KID);
	assert_int_equal(f->fetches, 2);
	assert_int_equal(oidc_verify(v, unknown, NOW + 61 + 60, &id, why, sizeof(why)), OIDC_ERR_KID);
	assert_int_equal(f->fetches, 3);
	/* Okta rotates: the new kid appears, and is found on the next fetch */
	{
		char *old = f->jwks;

		f->jwks = jwks_of(f->other, "k9");
		assert_int_equal(oidc_verify(v, unknown, NOW + 61 + 120, &id, why, sizeof(why)), OIDC_OK);
		assert_int_equal(f->fetches, 4);
		/* the retired key is gone with it */
		assert_int_equal(oidc_verify(v, good, NOW + 61 + 121, &id, why, sizeof(why)), OIDC_ERR_KID);
		free(f->jwks);
		f->jwks = old;
	}
	oidc_verifier_free(v);
	free(good);
	free(unknown);
}

static void test_keys_cached_an_hour_fail_closed(void **state)
{
	struct fx *f = *state;
	struct oidc_verifier *v = verifier(f);
	struct oidc_identity id;
	char why[256];
	cJSON *c = claims();
	char *tok;

	/* a token good for a long while, to look past the keys' hour */
	cJSON_ReplaceItemInObject(c, "exp", cJSON_CreateNumber((double)(NOW + 3 * 3600)));
	tok = sign(f->key, "k1", c);
	assert_int_equal(oidc_verify(v, tok, NOW, &id, why, sizeof(why)), OIDC_OK);
	assert_int_equal(f->fetches, 1);
	/* no fetch within the hour, even with Okta down */
	f->fail_fetch = 1;
	assert_int_equal(oidc_verify(v, tok, NOW + OIDC_JWKS_TTL - 1, &id, why, sizeof(why)), OIDC_ERR_TOO_OLD);
	assert_int_equal(f->fetches, 1);
	/* past the hour the keys are fetched again; without them, refused */
	assert_int_equal(oidc_verify(v, tok, NOW + OIDC_JWKS_TTL, &id, why, sizeof(why)), OIDC_ERR_KEYS);
	assert_int_equal(f->fetches, 2);
	free(tok);
	oidc_verifier_free(v);

	/* never fetched and Okta down: refused */
	v = verifier(f);
	tok = sign(f->key, "k1", claims());
	assert_int_equal(oidc_verify(v, tok, NOW, &id, why, sizeof(why)), OIDC_ERR_KEYS);
	f->fail_fetch = 0;
	/* retried only after OIDC_JWKS_RETRY_MIN */
	assert_int_equal(oidc_verify(v, tok, NOW + 1, &id, why, sizeof(why)), OIDC_ERR_KEYS);
	assert_int_equal(oidc_verify(v, tok, NOW + OIDC_JWKS_RETRY_MIN, &id, why, sizeof(why)), OIDC_OK);
	free(tok);
	oidc_verifier_free(v);
}

static void test_oversized_and_malformed(void **state)
{
	struct fx *f = *state;
	struct oidc_identity id;
	cJSON *c = claims();
	char *pad = malloc(OIDC_TOKEN_MAX);
	char *tok;

	memset(pad, 'a', OIDC_TOKEN_MAX - 1);
	pad[OIDC_TOKEN_MAX - 1] = '\0';
	cJSON_AddStringToObject(c, "pad", pad);
	tok = sign(f->key, "k1", c);
	assert_true(strlen(tok) > OIDC_TOKEN_MAX);
	assert_int_equal(run(f, tok, NOW, &id), OIDC_ERR_FORMAT);
	assert_int_equal(f->fetches, 0); /* refused before any key is fetched */
	free(tok);
	free(pad);

	assert_int_equal(run(f, "", NOW, &id), OIDC_ERR_FORMAT);
	assert_int_equal(run(f, "a.b", NOW, &id), OIDC_ERR_FORMAT);
	assert_int_equal(run(f, "a.b.c.d", NOW, &id), OIDC_ERR_FORMAT);
	assert_int_equal(run(f, "eyJ=.eyJ.abc", NOW, &id), OIDC_ERR_FORMAT);
	assert_int_equal(run(f, "eyJhbGciOiJSUzI1NiJ9+.e30.abc", NOW, &id), OIDC_ERR_FORMAT);
	assert_int_equal(run(f, NULL, NOW, &id), OIDC_ERR_FORMAT);

	/* a non-canonical base64url spelling of a good token is refused */
	tok = sign(f->key, "k1", claims());
	{
		char *last = tok + strlen(tok) - 1;
		size_t siglen = strlen(strrchr(tok, '.') + 1);

		/* 256-byte signature: 342 characters, 2 spare bits in the last */
		assert_int_equal(siglen % 4, 2);
		*last = (char)(*last == 'A' ? 'B' : *last + 1);
		assert_int_equal(run(f, tok, NOW, &id), OIDC_ERR_FORMAT);
	}
	free(tok);
}

static void test_b64url_strict(void **state)
{
	unsigned char *out;
	size_t n;

	(void)state;
	assert_int_equal(oidc_b64url_decode_strict("QQ", 2, &out, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(out[0], 'A');
	free(out);
	assert_int_equal(oidc_b64url_decode_strict("QR", 2, &out, &n), -1);
	assert_int_equal(oidc_b64url_decode_strict("QQ==", 4, &out, &n), -1);
	assert_int_equal(oidc_b64url_decode_strict("Q", 1, &out, &n), -1);
	assert_int_equal(oidc_b64url_decode_strict("a+b/", 4, &out, &n), -1);
	assert_int_equal(oidc_b64url_decode_strict("", 0, &out, &n), 0);
	assert_int_equal(n, 0);
	free(out);
}

static void test_jwks_parse(void **state)
{
	struct fx *f = *state;
	char *two;
	cJSON *doc;

	assert_int_equal(oidc_jwks_count(f->jwks, strlen(f->jwks)), 1);
	assert_int_equal(oidc_jwks_count("{}", 2), -1);
	assert_int_equal(oidc_jwks_count("[]", 2), -1);
	assert_int_equal(oidc_jwks_count("{\"keys\":[]}", 11), 0);
	/* an EC key, an encryption key, a key without kid: skipped */
	{
		const char *j = "{\"keys\":[{\"kty\":\"EC\",\"kid\":\"e\"},{\"kty\":\"RSA\",\"kid\":\"x\",\"use\":\"enc\"}]}";

		assert_int_equal(oidc_jwks_count(j, strlen(j)), 0);
	}
	/* two keys under one kid: neither is used */
	doc = cJSON_Parse(f->jwks);
	cJSON_AddItemToArray(cJSON_GetObjectItem(doc, "keys"),
			     cJSON_Duplicate(cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "keys"), 0), 1));
	two = cJSON_PrintUnformatted(doc);
	assert_int_equal(oidc_jwks_count(two, strlen(two)), 0);
	free(two);
	cJSON_Delete(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_good_token, setup),
		cmocka_unit_test_setup(test_aud_one_element_list, setup),
		cmocka_unit_test_setup(test_wrong_signature, setup),
		cmocka_unit_test_setup(test_flipped_bit, setup),
		cmocka_unit_test_setup(test_alg_none, setup),
		cmocka_unit_test_setup(test_hs256_with_public_key, setup),
		cmocka_unit_test_setup(test_crit_and_embedded_key, setup),
		cmocka_unit_test_setup(test_other_audience, setup),
		cmocka_unit_test_setup(test_other_issuer, setup),
		cmocka_unit_test_setup(test_expired, setup),
		cmocka_unit_test_setup(test_too_old_iat, setup),
		cmocka_unit_test_setup(test_bad_claims, setup),
		cmocka_unit_test_setup(test_unknown_kid_refetch_limited, setup),
		cmocka_unit_test_setup(test_keys_cached_an_hour_fail_closed, setup),
		cmocka_unit_test_setup(test_oversized_and_malformed, setup),
		cmocka_unit_test_setup(test_b64url_strict, setup),
		cmocka_unit_test_setup(test_jwks_parse, setup),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
