/* test_jwt.c - base64url, client assertions (verified with OpenSSL), JWKs
 * and thumbprints. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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
#define CLIENT_ID "0oa1abcdEFGH"

struct keys {
	EVP_PKEY *rsa;
	EVP_PKEY *ec;
};

static int group_setup(void **state)
{
	struct keys *k = calloc(1, sizeof(*k));

	if (k == NULL)
		return -1;
	k->rsa = testkey_load(testkey_rsa2048_a);
	k->ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	*state = k;
	return k->rsa != NULL && k->ec != NULL ? 0 : -1;
}

static int group_teardown(void **state)
{
	struct keys *k = *state;

	EVP_PKEY_free(k->rsa);
	EVP_PKEY_free(k->ec);
	free(k);
	return 0;
}

/* ---- base64url ---- */

static void assert_encodes(const char *in, size_t len, const char *want)
{
	struct ojit_buf b;

	ojit_buf_init(&b, 0);
	assert_int_equal(b64url_encode((const unsigned char *)in, len, &b), 0);
	assert_non_null(b.data);
	assert_string_equal(b.data, want);
	assert_int_equal(b.len, strlen(want));
	ojit_buf_free(&b);
}

static void assert_decodes(const char *in, const char *want, size_t wantlen)
{
	unsigned char *out = NULL;
	size_t outlen = 9999;

	assert_int_equal(b64url_decode(in, strlen(in), &out, &outlen), 0);
	assert_non_null(out);
	assert_int_equal(outlen, wantlen);
	assert_memory_equal(out, want, wantlen);
	free(out);
}

static void assert_decode_refused(const char *in)
{
	unsigned char *out = NULL;
	size_t outlen = 0;

	if (b64url_decode(in, strlen(in), &out, &outlen) != -1)
		fail_msg("'%s' decoded", in);
	assert_null(out);
}

static void test_b64url_rfc4648_vectors(void **state)
{
	(void)state;
	assert_encodes("", 0, "");
	assert_encodes("f", 1, "Zg");
	assert_encodes("fo", 2, "Zm8");
	assert_encodes("foo", 3, "Zm9v");
	assert_encodes("foob", 4, "Zm9vYg");
	assert_encodes("fooba", 5, "Zm9vYmE");
	assert_encodes("foobar", 6, "Zm9vYmFy");
}

static void test_b64url_uses_url_alphabet(void **state)
{
	(void)state;
	/* Standard base64 would give "+/8" and "++++". */
	assert_encodes("\xfb\xff", 2, "-_8");
	assert_encodes("\xfb\xef\xbe", 3, "----");
	assert_encodes("\xff\xff\xff", 3, "____");
}

static void test_b64url_decode_vectors(void **state)
{
	(void)state;
	assert_decodes("", "", 0);
	assert_decodes("Zg", "f", 1);
	assert_decodes("Zm8", "fo", 2);
	assert_decodes("Zm9v", "foo", 3);
	assert_decodes("Zm9vYg", "foob", 4);
	assert_decodes("Zm9vYmE", "fooba", 5);
	assert_decodes("Zm9vYmFy", "foobar", 6);
	assert_decodes("-_8", "\xfb\xff", 2);
	assert_decodes("AA", "\0", 1);
}

static void test_b64url_decode_refuses(void **state)
{
	(void)state;
	assert_decode_refused("+_8");
	assert_decode_refused("-/8");
	assert_decode_refused("Zg==");
	assert_decode_refused("Zm8=");
	assert_decode_refused("Z");
	assert_decode_refused("Zm9vY");
	assert_decode_refused("Zm 9v");
	assert_decode_refused("Zm9v\n");
	assert_decode_refused("Zm\xc3\xa9v");
}

static void test_b64url_decode_stops_at_len(void **state)
{
	unsigned char *out = NULL;
	size_t outlen = 0;

	(void)state;
	/* An embedded NUL inside len is a bad character, not an end. */
	assert_int_equal(b64url_decode("Zm\0v", 4, &out, &outlen), -1);
	assert_int_equal(b64url_decode("Zm9v!!!", 4, &out, &outlen), 0);
	assert_int_equal(outlen, 3);
	assert_memory_equal(out, "foo", 3);
	free(out);
}

static void test_b64url_round_trip_all_bytes(void **state)
{
	unsigned char in[256];
	unsigned char *out = NULL;
	struct ojit_buf b;
	size_t len, outlen, i;

	(void)state;
	for (i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(255 - i);
	for (len = 0; len <= sizeof(in); len += (len < 8 ? 1 : 37)) {
		ojit_buf_init(&b, 0);
		assert_int_equal(b64url_encode(in, len, &b), 0);
		assert_int_equal(b.len, (len * 4 + 2) / 3);
		assert_null(strchr(b.data, '='));
		assert_int_equal(b64url_decode(b.data, b.len, &out, &outlen), 0);
		assert_int_equal(outlen, len);
		if (len > 0)
			assert_memory_equal(out, in, len);
		free(out);
		ojit_buf_free(&b);
	}
}

static void test_b64url_encode_respects_buffer_limit(void **state)
{
	struct ojit_buf b;

	(void)state;
	ojit_buf_init(&b, 4);
	assert_int_equal(b64url_encode((const unsigned char *)"foobar", 6, &b), -1);
	assert_true(b.overflow);
	ojit_buf_free(&b);
}

/* ---- JWT helpers ---- */

struct jwt_parts {
	cJSON *header;
	cJSON *claims;
	char *signing_input; /* "header.claims" */
	unsigned char *sig;
	size_t siglen;
};

static cJSON *decode_json_part(const char *p, size_t len)
{
	unsigned char *raw = NULL;
	size_t rawlen = 0;
	cJSON *j;

	assert_int_equal(b64url_decode(p, len, &raw, &rawlen), 0);
	j = cJSON_ParseWithLength((const char *)raw, rawlen);
	free(raw);
	assert_true(cJSON_IsObject(j));
	return j;
}

static void split_jwt(const char *jwt, struct jwt_parts *out)
{
	const char *d1 = strchr(jwt, '.');
	const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;

	memset(out, 0, sizeof(*out));
	assert_non_null(d1);
	assert_non_null(d2);
	assert_null(strchr(d2 + 1, '.'));
	assert_null(strchr(jwt, '='));
	out->header = decode_json_part(jwt, (size_t)(d1 - jwt));
	out->claims = decode_json_part(d1 + 1, (size_t)(d2 - d1 - 1));
	out->signing_input = strndup(jwt, (size_t)(d2 - jwt));
	assert_non_null(out->signing_input);
	assert_int_equal(b64url_decode(d2 + 1, strlen(d2 + 1), &out->sig, &out->siglen), 0);
}

static void free_parts(struct jwt_parts *p)
{
	cJSON_Delete(p->header);
	cJSON_Delete(p->claims);
	free(p->signing_input);
	free(p->sig);
}

static const char *json_string(const cJSON *o, const char *name)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);

	if (!cJSON_IsString(it))
		fail_msg("member '%s' missing or not a string", name);
	return it->valuestring;
}

static double json_number(const cJSON *o, const char *name)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);

	if (!cJSON_IsNumber(it))
		fail_msg("member '%s' missing or not a number", name);
	return it->valuedouble;
}

static int verify_der(EVP_PKEY *key, const char *input, const unsigned char *sig, size_t siglen)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int r;

	assert_non_null(md);
	assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key), 1);
	r = EVP_DigestVerify(md, sig, siglen, (const unsigned char *)input, strlen(input));
	EVP_MD_CTX_free(md);
	return r == 1;
}

/* JOSE ES256 signatures are r||s; OpenSSL verifies DER. */
static int verify_es256(EVP_PKEY *key, const char *input, const unsigned char *sig, size_t siglen)
{
	ECDSA_SIG *es;
	unsigned char *der = NULL;
	int derlen, ok;

	assert_int_equal(siglen, 64);
	es = ECDSA_SIG_new();
	assert_non_null(es);
	assert_int_equal(ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL), BN_bin2bn(sig + 32, 32, NULL)), 1);
	derlen = i2d_ECDSA_SIG(es, &der);
	assert_true(derlen > 0);
	ok = verify_der(key, input, der, (size_t)derlen);
	OPENSSL_free(der);
	ECDSA_SIG_free(es);
	return ok;
}

static void check_assertion_claims(const struct jwt_parts *p, int64_t now)
{
	assert_string_equal(json_string(p->claims, "iss"), CLIENT_ID);
	assert_string_equal(json_string(p->claims, "sub"), CLIENT_ID);
	assert_string_equal(json_string(p->claims, "aud"), TOKEN_URL);
	assert_int_equal((int64_t)json_number(p->claims, "iat"), now);
	assert_int_equal((int64_t)json_number(p->claims, "exp"), now + JWT_ASSERTION_LIFETIME);
	assert_true(strlen(json_string(p->claims, "jti")) >= 22);
	assert_string_equal(json_string(p->header, "typ"), "JWT");
}

/* ---- client assertion ---- */

static void test_assertion_rs256(void **state)
{
	struct keys *k = *state;
	struct jwt_parts p;
	char *jwt = NULL;
	const int64_t now = 1700000000;

	assert_int_equal(jwt_client_assertion(k->rsa, "kid-1", CLIENT_ID, TOKEN_URL, now, &jwt), 0);
	assert_non_null(jwt);
	split_jwt(jwt, &p);
	assert_string_equal(json_string(p.header, "alg"), "RS256");
	assert_string_equal(json_string(p.header, "kid"), "kid-1");
	check_assertion_claims(&p, now);
	assert_int_equal(p.siglen, 256);
	assert_true(verify_der(k->rsa, p.signing_input, p.sig, p.siglen));
	p.sig[100] ^= 0x01;
	assert_false(verify_der(k->rsa, p.signing_input, p.sig, p.siglen));
	free_parts(&p);
	free(jwt);
}

static void test_assertion_es256(void **state)
{
	struct keys *k = *state;
	struct jwt_parts p;
	char *jwt = NULL;
	const int64_t now = 1700000123;

	assert_int_equal(jwt_client_assertion(k->ec, "ec-kid", CLIENT_ID, TOKEN_URL, now, &jwt), 0);
	split_jwt(jwt, &p);
	assert_string_equal(json_string(p.header, "alg"), "ES256");
	assert_string_equal(json_string(p.header, "kid"), "ec-kid");
	check_assertion_claims(&p, now);
	assert_int_equal(p.siglen, 64);
	assert_true(verify_es256(k->ec, p.signing_input, p.sig, p.siglen));
	p.sig[10] ^= 0x80;
	assert_false(verify_es256(k->ec, p.signing_input, p.sig, p.siglen));
	free_parts(&p);
	free(jwt);
}

/* r or s with a leading zero byte must still be padded to 32 bytes; over
 * many signatures some will have one. */
static void test_es256_signature_always_64_bytes(void **state)
{
	struct keys *k = *state;
	struct jwt_parts p;
	char *jwt;
	int i;

	for (i = 0; i < 64; i++) {
		jwt = NULL;
		assert_int_equal(jwt_client_assertion(k->ec, NULL, CLIENT_ID, TOKEN_URL, i, &jwt), 0);
		split_jwt(jwt, &p);
		assert_int_equal(p.siglen, 64);
		assert_true(verify_es256(k->ec, p.signing_input, p.sig, p.siglen));
		free_parts(&p);
		free(jwt);
	}
}

static void test_assertion_signature_covers_claims(void **state)
{
	struct keys *k = *state;
	struct jwt_parts p;
	char *jwt = NULL;
	char *dot;

	assert_int_equal(jwt_client_assertion(k->rsa, NULL, CLIENT_ID, TOKEN_URL, 1, &jwt), 0);
	split_jwt(jwt, &p);
	dot = strchr(p.signing_input, '.');
	dot[1] = dot[1] == 'A' ? 'B' : 'A';
	assert_false(verify_der(k->rsa, p.signing_input, p.sig, p.siglen));
	free_parts(&p);
	free(jwt);
}

static void test_assertion_without_kid(void **state)
{
	struct keys *k = *state;
	struct jwt_parts p;
	char *jwt = NULL;

	assert_int_equal(jwt_client_assertion(k->rsa, NULL, CLIENT_ID, TOKEN_URL, 5, &jwt), 0);
	split_jwt(jwt, &p);
	assert_null(cJSON_GetObjectItemCaseSensitive(p.header, "kid"));
	assert_string_equal(json_string(p.header, "alg"), "RS256");
	free_parts(&p);
	free(jwt);
}

static void test_assertion_jti_fresh(void **state)
{
	struct keys *k = *state;
	struct jwt_parts a, b;
	char *j1 = NULL, *j2 = NULL;

	assert_int_equal(jwt_client_assertion(k->ec, NULL, CLIENT_ID, TOKEN_URL, 7, &j1), 0);
	assert_int_equal(jwt_client_assertion(k->ec, NULL, CLIENT_ID, TOKEN_URL, 7, &j2), 0);
	split_jwt(j1, &a);
	split_jwt(j2, &b);
	assert_string_not_equal(json_string(a.claims, "jti"), json_string(b.claims, "jti"));
	free_parts(&a);
	free_parts(&b);
	free(j1);
	free(j2);
}

static void test_assertion_escapes_strings(void **state)
{
	struct keys *k = *state;
	struct jwt_parts p;
	char *jwt = NULL;

	assert_int_equal(jwt_client_assertion(k->rsa, "k\"id", "a\",\"admin\":\"1", TOKEN_URL, 1,
					      &jwt), 0);
	split_jwt(jwt, &p);
	assert_string_equal(json_string(p.header, "kid"), "k\"id");
	assert_string_equal(json_string(p.claims, "iss"), "a\",\"admin\":\"1");
	assert_null(cJSON_GetObjectItemCaseSensitive(p.claims, "admin"));
	free_parts(&p);
	free(jwt);
}

static void test_sign_replaces_alg(void **state)
{
	struct keys *k = *state;
	cJSON *header = cJSON_CreateObject();
	cJSON *claims = cJSON_CreateObject();
	struct jwt_parts p;
	char *jwt = NULL;
	int n = 0;
	const cJSON *it;

	cJSON_AddStringToObject(header, "alg", "none");
	cJSON_AddStringToObject(claims, "x", "y");
	assert_int_equal(jwt_sign(k->ec, header, claims, &jwt), 0);
	split_jwt(jwt, &p);
	cJSON_ArrayForEach(it, p.header)
		if (strcmp(it->string, "alg") == 0)
			n++;
	assert_int_equal(n, 1);
	assert_string_equal(json_string(p.header, "alg"), "ES256");
	assert_true(verify_es256(k->ec, p.signing_input, p.sig, p.siglen));
	free_parts(&p);
	free(jwt);
	cJSON_Delete(header);
	cJSON_Delete(claims);
}

static void test_unsupported_key_refused(void **state)
{
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	cJSON *header = cJSON_CreateObject();
	cJSON *claims = cJSON_CreateObject();
	char unchanged[] = "unchanged";
	char *jwt = unchanged;
	char tp[64];

	(void)state;
	assert_non_null(ed);
	assert_null(jwt_alg_for_key(ed));
	assert_int_equal(jwt_sign(ed, header, claims, &jwt), -1);
	assert_null(jwt);
	assert_null(jwt_public_jwk(ed));
	assert_int_equal(jwt_jwk_thumbprint(ed, tp, sizeof(tp)), -1);
	cJSON_Delete(header);
	cJSON_Delete(claims);
	EVP_PKEY_free(ed);
}

static void test_alg_for_key(void **state)
{
	struct keys *k = *state;

	assert_string_equal(jwt_alg_for_key(k->rsa), "RS256");
	assert_string_equal(jwt_alg_for_key(k->ec), "ES256");
}

static void test_random_id(void **state)
{
	char a[64], b[64], small[43];

	(void)state;
	assert_int_equal(jwt_random_id(a, sizeof(a)), 0);
	assert_int_equal(jwt_random_id(b, sizeof(b)), 0);
	assert_int_equal(strlen(a), 43);
	assert_int_equal(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
			 43);
	assert_string_not_equal(a, b);
	assert_int_equal(jwt_random_id(small, sizeof(small)), -1);
}

/* ---- JWK ---- */

static void assert_b64_is_bn(const char *b64, const BIGNUM *bn, size_t width)
{
	unsigned char *raw = NULL;
	size_t rawlen = 0;
	BIGNUM *got;

	assert_int_equal(b64url_decode(b64, strlen(b64), &raw, &rawlen), 0);
	if (width > 0)
		assert_int_equal(rawlen, width);
	else
		assert_true(rawlen > 0 && raw[0] != 0); /* minimal, no leading zero */
	got = BN_bin2bn(raw, (int)rawlen, NULL);
	assert_int_equal(BN_cmp(got, bn), 0);
	BN_free(got);
	free(raw);
}

static void assert_no_private_members(const cJSON *jwk)
{
	static const char *const priv[] = { "d", "p", "q", "dp", "dq", "qi" };
	size_t i;

	for (i = 0; i < sizeof(priv) / sizeof(priv[0]); i++)
		assert_null(cJSON_GetObjectItemCaseSensitive(jwk, priv[i]));
}

static void test_public_jwk_rsa(void **state)
{
	struct keys *k = *state;
	cJSON *jwk = jwt_public_jwk(k->rsa);
	BIGNUM *n = NULL, *e = NULL;

	assert_non_null(jwk);
	assert_int_equal(cJSON_GetArraySize(jwk), 3);
	assert_string_equal(json_string(jwk, "kty"), "RSA");
	assert_string_equal(json_string(jwk, "e"), "AQAB");
	assert_int_equal(EVP_PKEY_get_bn_param(k->rsa, OSSL_PKEY_PARAM_RSA_N, &n), 1);
	assert_int_equal(EVP_PKEY_get_bn_param(k->rsa, OSSL_PKEY_PARAM_RSA_E, &e), 1);
	assert_b64_is_bn(json_string(jwk, "n"), n, 256);
	assert_b64_is_bn(json_string(jwk, "e"), e, 0);
	assert_no_private_members(jwk);
	BN_free(n);
	BN_free(e);
	cJSON_Delete(jwk);
}

static void test_public_jwk_ec(void **state)
{
	struct keys *k = *state;
	cJSON *jwk = jwt_public_jwk(k->ec);
	BIGNUM *x = NULL, *y = NULL;

	assert_non_null(jwk);
	assert_int_equal(cJSON_GetArraySize(jwk), 4);
	assert_string_equal(json_string(jwk, "kty"), "EC");
	assert_string_equal(json_string(jwk, "crv"), "P-256");
	assert_int_equal(strlen(json_string(jwk, "x")), 43);
	assert_int_equal(strlen(json_string(jwk, "y")), 43);
	assert_int_equal(EVP_PKEY_get_bn_param(k->ec, OSSL_PKEY_PARAM_EC_PUB_X, &x), 1);
	assert_int_equal(EVP_PKEY_get_bn_param(k->ec, OSSL_PKEY_PARAM_EC_PUB_Y, &y), 1);
	assert_b64_is_bn(json_string(jwk, "x"), x, 32);
	assert_b64_is_bn(json_string(jwk, "y"), y, 32);
	assert_no_private_members(jwk);
	BN_free(x);
	BN_free(y);
	cJSON_Delete(jwk);
}

/* RFC 7638 section 3.1. */
static const char rfc7638_n[] =
	"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_B"
	"JECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_F"
	"DW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4"
	"vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";

/* Decode with OpenSSL's base64, not the code under test. */
static BIGNUM *bn_from_b64url(const char *s)
{
	size_t len = strlen(s), i;
	char *std = calloc(1, len + 4);
	unsigned char *raw = malloc(len);
	int rawlen;
	BIGNUM *bn;

	assert_non_null(std);
	assert_non_null(raw);
	for (i = 0; i < len; i++)
		std[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
	while (i % 4 != 0)
		std[i++] = '=';
	rawlen = EVP_DecodeBlock(raw, (unsigned char *)std, (int)i);
	assert_true(rawlen > 0);
	rawlen -= (int)(i - len); /* EVP_DecodeBlock counts the padding */
	bn = BN_bin2bn(raw, rawlen, NULL);
	free(std);
	free(raw);
	return bn;
}

static EVP_PKEY *rfc7638_key(void)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	BIGNUM *n = bn_from_b64url(rfc7638_n);
	BIGNUM *e = BN_new();
	OSSL_PARAM *params;
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *key = NULL;

	assert_non_null(bld);
	assert_int_equal(BN_num_bits(n), 2048);
	assert_int_equal(BN_set_word(e, 65537), 1);
	assert_int_equal(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n), 1);
	assert_int_equal(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e), 1);
	params = OSSL_PARAM_BLD_to_param(bld);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	assert_non_null(params);
	assert_non_null(ctx);
	assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
	assert_int_equal(EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params), 1);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return key;
}

static void test_thumbprint_rfc7638(void **state)
{
	EVP_PKEY *key = rfc7638_key();
	char tp[64];
	cJSON *jwk;

	(void)state;
	jwk = jwt_public_jwk(key);
	assert_non_null(jwk);
	assert_string_equal(json_string(jwk, "n"), rfc7638_n);
	assert_string_equal(json_string(jwk, "e"), "AQAB");
	cJSON_Delete(jwk);
	assert_int_equal(jwt_jwk_thumbprint(key, tp, sizeof(tp)), 0);
	assert_string_equal(tp, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	assert_int_equal(jwt_jwk_thumbprint(key, tp, 43), -1);
	EVP_PKEY_free(key);
}

static void test_thumbprint_ec_canonical(void **state)
{
	struct keys *k = *state;
	cJSON *jwk = jwt_public_jwk(k->ec);
	char want[64], got[64], canon[256];

	snprintf(canon, sizeof(canon), "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
		 json_string(jwk, "x"), json_string(jwk, "y"));
	assert_int_equal(jwt_sha256_b64url(canon, want, sizeof(want)), 0);
	assert_int_equal(jwt_jwk_thumbprint(k->ec, got, sizeof(got)), 0);
	assert_string_equal(got, want);
	assert_int_equal(strlen(got), 43);
	cJSON_Delete(jwk);
}

static void test_sha256_b64url(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(jwt_sha256_b64url("abc", out, sizeof(out)), 0);
	assert_string_equal(out, "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
	assert_int_equal(jwt_sha256_b64url("", out, sizeof(out)), 0);
	assert_string_equal(out, "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU");
	assert_int_equal(jwt_sha256_b64url("abc", out, 44), 0);
	assert_int_equal(jwt_sha256_b64url("abc", out, 43), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64url_rfc4648_vectors),
		cmocka_unit_test(test_b64url_uses_url_alphabet),
		cmocka_unit_test(test_b64url_decode_vectors),
		cmocka_unit_test(test_b64url_decode_refuses),
		cmocka_unit_test(test_b64url_decode_stops_at_len),
		cmocka_unit_test(test_b64url_round_trip_all_bytes),
		cmocka_unit_test(test_b64url_encode_respects_buffer_limit),
		cmocka_unit_test(test_assertion_rs256),
		cmocka_unit_test(test_assertion_es256),
		cmocka_unit_test(test_es256_signature_always_64_bytes),
		cmocka_unit_test(test_assertion_signature_covers_claims),
		cmocka_unit_test(test_assertion_without_kid),
		cmocka_unit_test(test_assertion_jti_fresh),
		cmocka_unit_test(test_assertion_escapes_strings),
		cmocka_unit_test(test_sign_replaces_alg),
		cmocka_unit_test(test_unsupported_key_refused),
		cmocka_unit_test(test_alg_for_key),
		cmocka_unit_test(test_random_id),
		cmocka_unit_test(test_public_jwk_rsa),
		cmocka_unit_test(test_public_jwk_ec),
		cmocka_unit_test(test_thumbprint_rfc7638),
		cmocka_unit_test(test_thumbprint_ec_canonical),
		cmocka_unit_test(test_sha256_b64url),
	};

	return cmocka_run_group_tests_name("jwt", tests, group_setup, group_teardown);
}
