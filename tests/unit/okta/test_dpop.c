/* test_dpop.c - RFC 9449 DPoP proofs (jwt_dpop_proof), the "ath" hash and
 * RFC 7638 thumbprints of EC keys, checked with OpenSSL independently of
 * the code under test: the proof's signature is verified with a public key
 * rebuilt from the proof's own "jwk" header, and the thumbprint is
 * recomputed from a canonical JSON built here. */
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
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "jwt.h"

#define TOKEN_URL "https://example.okta.com/oauth2/v1/token"
#define API_URL "https://example.okta.com/api/v1/users/a@b.com"

/* RFC 9449 section 7.1 example. */
#define RFC_TOKEN "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"
#define RFC_ATH "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"

struct keys {
	EVP_PKEY *ec;
	EVP_PKEY *ec2;
	EVP_PKEY *rsa;
};

static int group_setup(void **state)
{
	struct keys *k = calloc(1, sizeof(*k));

	if (k == NULL)
		return -1;
	k->ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	k->ec2 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	k->rsa = testkey_load(testkey_rsa2048_a);
	*state = k;
	return k->ec != NULL && k->ec2 != NULL && k->rsa != NULL ? 0 : -1;
}

static int group_teardown(void **state)
{
	struct keys *k = *state;

	EVP_PKEY_free(k->ec);
	EVP_PKEY_free(k->ec2);
	EVP_PKEY_free(k->rsa);
	free(k);
	return 0;
}

/* ---- independent base64url (OpenSSL's base64, then the URL alphabet) ---- */

static char *my_b64url(const unsigned char *in, size_t len)
{
	char *out = calloc(1, 4 * ((len + 2) / 3) + 1);
	int n, i;

	assert_non_null(out);
	n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);
	assert_true(n >= 0);
	while (n > 0 && out[n - 1] == '=')
		out[--n] = '\0';
	for (i = 0; i < n; i++)
		out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
	return out;
}

/* Returns malloc'd bytes; *outlen set. */
static unsigned char *my_b64url_decode(const char *s, size_t len, size_t *outlen)
{
	char *std = calloc(1, len + 4);
	unsigned char *raw = malloc(len + 4);
	size_t i;
	int rawlen;

	assert_non_null(std);
	assert_non_null(raw);
	for (i = 0; i < len; i++) {
		assert_true(s[i] != '+' && s[i] != '/' && s[i] != '=');
		std[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
	}
	while (i % 4 != 0)
		std[i++] = '=';
	rawlen = EVP_DecodeBlock(raw, (unsigned char *)std, (int)i);
	assert_true(rawlen >= 0);
	rawlen -= (int)(i - len); /* EVP_DecodeBlock counts the padding */
	free(std);
	*outlen = (size_t)rawlen;
	return raw;
}

static char *my_sha256_b64url(const char *s)
{
	unsigned char md[32];
	unsigned int mdlen = 0;

	assert_int_equal(EVP_Digest(s, strlen(s), md, &mdlen, EVP_sha256(), NULL), 1);
	assert_int_equal(mdlen, 32);
	return my_b64url(md, mdlen);
}

/* ---- JWS parsing ---- */

struct jws {
	cJSON *header;
	cJSON *claims;
	char *signing_input;
	unsigned char *sig;
	size_t siglen;
};

static cJSON *json_part(const char *p, size_t len)
{
	size_t rawlen = 0;
	unsigned char *raw = my_b64url_decode(p, len, &rawlen);
	cJSON *j = cJSON_ParseWithLength((const char *)raw, rawlen);

	free(raw);
	assert_true(cJSON_IsObject(j));
	return j;
}

static void split(const char *jwt, struct jws *out)
{
	const char *d1 = strchr(jwt, '.');
	const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;

	memset(out, 0, sizeof(*out));
	assert_non_null(d1);
	assert_non_null(d2);
	assert_null(strchr(d2 + 1, '.'));
	assert_null(strchr(jwt, '='));
	out->header = json_part(jwt, (size_t)(d1 - jwt));
	out->claims = json_part(d1 + 1, (size_t)(d2 - d1 - 1));
	out->signing_input = strndup(jwt, (size_t)(d2 - jwt));
	assert_non_null(out->signing_input);
	out->sig = my_b64url_decode(d2 + 1, strlen(d2 + 1), &out->siglen);
}

static void jws_free(struct jws *p)
{
	cJSON_Delete(p->header);
	cJSON_Delete(p->claims);
	free(p->signing_input);
	free(p->sig);
}

static const char *str_member(const cJSON *o, const char *name)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);

	if (!cJSON_IsString(it))
		fail_msg("member '%s' missing or not a string", name);
	return it->valuestring;
}

static double num_member(const cJSON *o, const char *name)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);

	if (!cJSON_IsNumber(it))
		fail_msg("member '%s' missing or not a number", name);
	return it->valuedouble;
}

static int has_member(const cJSON *o, const char *name)
{
	return cJSON_GetObjectItemCaseSensitive(o, name) != NULL;
}

/* An EC P-256 public key from a JWK's x and y only (EVP_PKEY_fromdata). */
static EVP_PKEY *ec_key_from_jwk(const cJSON *jwk)
{
	unsigned char point[65];
	unsigned char *x, *y;
	size_t xl = 0, yl = 0;
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params;
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *key = NULL;
	const char *xs = str_member(jwk, "x"), *ys = str_member(jwk, "y");

	x = my_b64url_decode(xs, strlen(xs), &xl);
	y = my_b64url_decode(ys, strlen(ys), &yl);
	assert_int_equal(xl, 32);
	assert_int_equal(yl, 32);
	point[0] = 0x04; /* uncompressed */
	memcpy(point + 1, x, 32);
	memcpy(point + 33, y, 32);
	free(x);
	free(y);
	assert_non_null(bld);
	assert_int_equal(OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0), 1);
	assert_int_equal(OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)), 1);
	params = OSSL_PARAM_BLD_to_param(bld);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	assert_non_null(params);
	assert_non_null(ctx);
	assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
	assert_int_equal(EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params), 1);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return key;
}

/* Verify a JOSE ES256 signature (r||s) by converting it to DER. */
static int es256_verifies(EVP_PKEY *pub, const char *input, const unsigned char *sig, size_t siglen)
{
	ECDSA_SIG *es = ECDSA_SIG_new();
	unsigned char *der = NULL;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int derlen, r;

	assert_int_equal(siglen, 64);
	assert_non_null(es);
	assert_non_null(md);
	assert_int_equal(ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL), BN_bin2bn(sig + 32, 32, NULL)), 1);
	derlen = i2d_ECDSA_SIG(es, &der);
	assert_true(derlen > 0);
	assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pub), 1);
	r = EVP_DigestVerify(md, der, (size_t)derlen, (const unsigned char *)input, strlen(input));
	EVP_MD_CTX_free(md);
	OPENSSL_free(der);
	ECDSA_SIG_free(es);
	return r == 1;
}

static void assert_no_private_members(const cJSON *jwk)
{
	static const char *const priv[] = { "d", "p", "q", "dp", "dq", "qi", "oth", "k" };
	size_t i;

	for (i = 0; i < sizeof(priv) / sizeof(priv[0]); i++)
		if (has_member(jwk, priv[i]))
			fail_msg("private member '%s' in the proof's jwk", priv[i]);
}

/* The key's own public coordinates, base64url-encoded here. */
static void ec_coords(EVP_PKEY *key, char **x, char **y)
{
	BIGNUM *bx = NULL, *by = NULL;
	unsigned char bx32[32], by32[32];

	assert_int_equal(EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &bx), 1);
	assert_int_equal(EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &by), 1);
	assert_int_equal(BN_bn2binpad(bx, bx32, 32), 32);
	assert_int_equal(BN_bn2binpad(by, by32, 32), 32);
	*x = my_b64url(bx32, 32);
	*y = my_b64url(by32, 32);
	BN_free(bx);
	BN_free(by);
}

/* ---- tests ---- */

static void test_proof_header_es256(void **state)
{
	struct keys *k = *state;
	struct jws p;
	char *jwt = NULL, *x, *y;
	const cJSON *jwk;

	assert_int_equal(jwt_dpop_proof(k->ec, "POST", TOKEN_URL, NULL, NULL, 1700000000, &jwt), 0);
	assert_non_null(jwt);
	split(jwt, &p);
	assert_string_equal(str_member(p.header, "typ"), "dpop+jwt");
	assert_string_equal(str_member(p.header, "alg"), "ES256");
	assert_false(has_member(p.header, "kid"));
	jwk = cJSON_GetObjectItemCaseSensitive(p.header, "jwk");
	assert_true(cJSON_IsObject(jwk));
	assert_string_equal(str_member(jwk, "kty"), "EC");
	assert_string_equal(str_member(jwk, "crv"), "P-256");
	assert_int_equal(strlen(str_member(jwk, "x")), 43);
	assert_int_equal(strlen(str_member(jwk, "y")), 43);
	assert_false(has_member(jwk, "d"));
	assert_no_private_members(jwk);
	assert_int_equal(cJSON_GetArraySize(jwk), 4);
	/* the jwk is this key's public half */
	ec_coords(k->ec, &x, &y);
	assert_string_equal(str_member(jwk, "x"), x);
	assert_string_equal(str_member(jwk, "y"), y);
	free(x);
	free(y);
	jws_free(&p);
	free(jwt);
}

static void test_proof_claims_without_nonce_and_ath(void **state)
{
	struct keys *k = *state;
	struct jws p;
	char *jwt = NULL;

	assert_int_equal(jwt_dpop_proof(k->ec, "POST", TOKEN_URL, NULL, NULL, 1700000123, &jwt), 0);
	split(jwt, &p);
	assert_string_equal(str_member(p.claims, "htm"), "POST");
	assert_string_equal(str_member(p.claims, "htu"), TOKEN_URL);
	assert_int_equal((int64_t)num_member(p.claims, "iat"), 1700000123);
	assert_true(strlen(str_member(p.claims, "jti")) >= 22);
	assert_false(has_member(p.claims, "nonce"));
	assert_false(has_member(p.claims, "ath"));
	assert_int_equal(cJSON_GetArraySize(p.claims), 4);
	jws_free(&p);
	free(jwt);

	/* an empty nonce (none received yet) is not sent either */
	assert_int_equal(jwt_dpop_proof(k->ec, "POST", TOKEN_URL, "", NULL, 1700000123, &jwt), 0);
	split(jwt, &p);
	assert_false(has_member(p.claims, "nonce"));
	jws_free(&p);
	free(jwt);
}

static void test_proof_claims_with_nonce_and_ath(void **state)
{
	struct keys *k = *state;
	struct jws p;
	char *jwt = NULL;
	char ath[64];

	assert_int_equal(jwt_sha256_b64url(RFC_TOKEN, ath, sizeof(ath)), 0);
	assert_int_equal(jwt_dpop_proof(k->ec, "GET", API_URL, "eyJ7S_zG.eyJH0-Z.HX4w-7v", ath, 1700000456, &jwt), 0);
	split(jwt, &p);
	assert_string_equal(str_member(p.claims, "htm"), "GET");
	assert_string_equal(str_member(p.claims, "htu"), API_URL);
	assert_int_equal((int64_t)num_member(p.claims, "iat"), 1700000456);
	assert_string_equal(str_member(p.claims, "nonce"), "eyJ7S_zG.eyJH0-Z.HX4w-7v");
	assert_string_equal(str_member(p.claims, "ath"), RFC_ATH);
	assert_int_equal(cJSON_GetArraySize(p.claims), 6);
	jws_free(&p);
	free(jwt);

	/* ath without nonce, nonce without ath */
	assert_int_equal(jwt_dpop_proof(k->ec, "DELETE", API_URL, NULL, ath, 1700000456, &jwt), 0);
	split(jwt, &p);
	assert_false(has_member(p.claims, "nonce"));
	assert_string_equal(str_member(p.claims, "ath"), RFC_ATH);
	jws_free(&p);
	free(jwt);
	assert_int_equal(jwt_dpop_proof(k->ec, "POST", TOKEN_URL, "n-1", NULL, 1700000456, &jwt), 0);
	split(jwt, &p);
	assert_string_equal(str_member(p.claims, "nonce"), "n-1");
	assert_false(has_member(p.claims, "ath"));
	jws_free(&p);
	free(jwt);
}

static void test_proof_jti_fresh_each_call(void **state)
{
	struct keys *k = *state;
	char seen[8][64];
	int i, j;

	for (i = 0; i < 8; i++) {
		struct jws p;
		char *jwt = NULL;

		assert_int_equal(jwt_dpop_proof(k->ec, "GET", API_URL, "n", "a", 1700000000, &jwt), 0);
		split(jwt, &p);
		assert_int_equal(ojit_strlcpy(seen[i], str_member(p.claims, "jti"), sizeof(seen[i])), 0);
		for (j = 0; j < i; j++)
			assert_string_not_equal(seen[i], seen[j]);
		jws_free(&p);
		free(jwt);
	}
}

static void test_proof_signature_verifies_with_jwk(void **state)
{
	struct keys *k = *state;
	struct jws p;
	char *jwt = NULL;
	char ath[64];
	EVP_PKEY *pub, *other;
	size_t n;

	assert_int_equal(jwt_sha256_b64url("some-token", ath, sizeof(ath)), 0);
	assert_int_equal(jwt_dpop_proof(k->ec, "PUT", API_URL, "nonce-x", ath, 1700000000, &jwt), 0);
	split(jwt, &p);
	pub = ec_key_from_jwk(cJSON_GetObjectItemCaseSensitive(p.header, "jwk"));
	assert_non_null(pub);
	assert_int_equal(EVP_PKEY_eq(pub, k->ec), 1);
	assert_int_equal(p.siglen, 64); /* JOSE r||s, not DER */
	assert_true(es256_verifies(pub, p.signing_input, p.sig, p.siglen));
	/* the signature covers header.payload: any change breaks it */
	n = strlen(p.signing_input);
	p.signing_input[n - 1] = p.signing_input[n - 1] == 'A' ? 'B' : 'A';
	assert_false(es256_verifies(pub, p.signing_input, p.sig, p.siglen));
	p.signing_input[n - 1] = jwt[n - 1];
	assert_true(es256_verifies(pub, p.signing_input, p.sig, p.siglen));
	/* and another key does not verify it */
	other = EVP_PKEY_dup(k->ec2);
	assert_non_null(other);
	assert_false(es256_verifies(other, p.signing_input, p.sig, p.siglen));
	EVP_PKEY_free(other);
	EVP_PKEY_free(pub);
	jws_free(&p);
	free(jwt);
}

static void test_proof_many_signatures_verify(void **state)
{
	struct keys *k = *state;
	int i;

	/* r or s with leading zero bytes must still be padded to 32 bytes */
	for (i = 0; i < 64; i++) {
		struct jws p;
		char *jwt = NULL;
		EVP_PKEY *pub;

		assert_int_equal(jwt_dpop_proof(k->ec2, "GET", API_URL, NULL, NULL, 1700000000 + i, &jwt), 0);
		split(jwt, &p);
		pub = ec_key_from_jwk(cJSON_GetObjectItemCaseSensitive(p.header, "jwk"));
		assert_true(es256_verifies(pub, p.signing_input, p.sig, p.siglen));
		EVP_PKEY_free(pub);
		jws_free(&p);
		free(jwt);
	}
}

static void test_proof_rsa_key_has_public_jwk_only(void **state)
{
	struct keys *k = *state;
	struct jws p;
	char *jwt = NULL;
	const cJSON *jwk;

	assert_int_equal(jwt_dpop_proof(k->rsa, "POST", TOKEN_URL, NULL, NULL, 1700000000, &jwt), 0);
	split(jwt, &p);
	assert_string_equal(str_member(p.header, "typ"), "dpop+jwt");
	assert_string_equal(str_member(p.header, "alg"), "RS256");
	jwk = cJSON_GetObjectItemCaseSensitive(p.header, "jwk");
	assert_string_equal(str_member(jwk, "kty"), "RSA");
	assert_string_equal(str_member(jwk, "e"), "AQAB");
	assert_true(strlen(str_member(jwk, "n")) >= 342);
	assert_no_private_members(jwk);
	assert_int_equal(cJSON_GetArraySize(jwk), 3);
	jws_free(&p);
	free(jwt);
}

static void test_proof_unsupported_key_refused(void **state)
{
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	static char sentinel[] = "sentinel";
	char *jwt = sentinel;

	(void)state;
	assert_non_null(ed);
	assert_int_equal(jwt_dpop_proof(ed, "POST", TOKEN_URL, NULL, NULL, 1700000000, &jwt), -1);
	assert_null(jwt);
	EVP_PKEY_free(ed);
}

static void test_ath_rfc9449_example(void **state)
{
	char ath[64];
	char *mine = my_sha256_b64url(RFC_TOKEN);

	(void)state;
	assert_string_equal(mine, RFC_ATH); /* the vector itself */
	assert_int_equal(jwt_sha256_b64url(RFC_TOKEN, ath, sizeof(ath)), 0);
	assert_string_equal(ath, RFC_ATH);
	assert_int_equal(strlen(ath), 43);
	free(mine);
}

static void check_thumbprint_independent(EVP_PKEY *key)
{
	char canon[256], got[64];
	char *x, *y, *want;

	ec_coords(key, &x, &y);
	/* RFC 7638: required members only, lexical order, no whitespace */
	snprintf(canon, sizeof(canon), "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", x, y);
	want = my_sha256_b64url(canon);
	assert_int_equal(jwt_jwk_thumbprint(key, got, sizeof(got)), 0);
	assert_string_equal(got, want);
	free(x);
	free(y);
	free(want);
}

static void test_thumbprint_ec_independent(void **state)
{
	struct keys *k = *state;
	char a[64], b[64];
	int i;

	check_thumbprint_independent(k->ec);
	check_thumbprint_independent(k->ec2);
	assert_int_equal(jwt_jwk_thumbprint(k->ec, a, sizeof(a)), 0);
	assert_int_equal(jwt_jwk_thumbprint(k->ec2, b, sizeof(b)), 0);
	assert_string_not_equal(a, b);
	/* fresh keys: some will have x or y with leading zero bytes */
	for (i = 0; i < 32; i++) {
		EVP_PKEY *e = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

		assert_non_null(e);
		check_thumbprint_independent(e);
		EVP_PKEY_free(e);
	}
}

static void test_thumbprint_of_proof_jwk(void **state)
{
	struct keys *k = *state;
	struct jws p;
	char *jwt = NULL, *want, canon[256], got[64];
	const cJSON *jwk;

	/* The thumbprint the server binds the token to (computed from the
	 * proof's jwk) equals jwt_jwk_thumbprint of the signing key. */
	assert_int_equal(jwt_dpop_proof(k->ec, "POST", TOKEN_URL, NULL, NULL, 1700000000, &jwt), 0);
	split(jwt, &p);
	jwk = cJSON_GetObjectItemCaseSensitive(p.header, "jwk");
	snprintf(canon, sizeof(canon), "{\"crv\":\"%s\",\"kty\":\"%s\",\"x\":\"%s\",\"y\":\"%s\"}",
		 str_member(jwk, "crv"), str_member(jwk, "kty"), str_member(jwk, "x"), str_member(jwk, "y"));
	want = my_sha256_b64url(canon);
	assert_int_equal(jwt_jwk_thumbprint(k->ec, got, sizeof(got)), 0);
	assert_string_equal(got, want);
	assert_int_equal(jwt_jwk_thumbprint(k->ec, got, 43), -1); /* too small: refused */
	free(want);
	jws_free(&p);
	free(jwt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_proof_header_es256),
		cmocka_unit_test(test_proof_claims_without_nonce_and_ath),
		cmocka_unit_test(test_proof_claims_with_nonce_and_ath),
		cmocka_unit_test(test_proof_jti_fresh_each_call),
		cmocka_unit_test(test_proof_signature_verifies_with_jwk),
		cmocka_unit_test(test_proof_many_signatures_verify),
		cmocka_unit_test(test_proof_rsa_key_has_public_jwk_only),
		cmocka_unit_test(test_proof_unsupported_key_refused),
		cmocka_unit_test(test_ath_rfc9449_example),
		cmocka_unit_test(test_thumbprint_ec_independent),
		cmocka_unit_test(test_thumbprint_of_proof_jwk),
	};

	return cmocka_run_group_tests_name("dpop", tests, group_setup, group_teardown);
}
