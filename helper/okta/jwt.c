/* jwt.c - JWS compact serialisation with OpenSSL. */
#include "jwt.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

static const char b64url_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int b64url_encode(const unsigned char *in, size_t len, struct ojit_buf *out)
{
	size_t i;
	char q[4];

	for (i = 0; i + 2 < len; i += 3) {
		q[0] = b64url_chars[in[i] >> 2];
		q[1] = b64url_chars[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
		q[2] = b64url_chars[((in[i + 1] & 15) << 2) | (in[i + 2] >> 6)];
		q[3] = b64url_chars[in[i + 2] & 63];
		if (ojit_buf_append(out, q, 4) != 0)
			return -1;
	}
	if (len - i == 1) {
		q[0] = b64url_chars[in[i] >> 2];
		q[1] = b64url_chars[(in[i] & 3) << 4];
		if (ojit_buf_append(out, q, 2) != 0)
			return -1;
	} else if (len - i == 2) {
		q[0] = b64url_chars[in[i] >> 2];
		q[1] = b64url_chars[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
		q[2] = b64url_chars[(in[i + 1] & 15) << 2];
		if (ojit_buf_append(out, q, 3) != 0)
			return -1;
	}
	if (out->data == NULL)
		return ojit_buf_append(out, "", 0);
	return 0;
}

static int b64url_value(char c)
{
	const char *p;

	if (c == '\0')
		return -1;
	p = strchr(b64url_chars, c);
	return p ? (int)(p - b64url_chars) : -1;
}

int b64url_decode(const char *in, size_t len, unsigned char **out, size_t *outlen)
{
	unsigned char *buf;
	size_t i, o = 0;
	uint32_t acc = 0;
	int bits = 0;

	if (len % 4 == 1)
		return -1;
	buf = malloc(len * 3 / 4 + 3);
	if (buf == NULL)
		return -1;
	for (i = 0; i < len; i++) {
		int v = b64url_value(in[i]);

		if (v < 0) {
			free(buf);
			return -1;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[o++] = (unsigned char)(acc >> bits);
		}
	}
	*out = buf;
	*outlen = o;
	return 0;
}

const char *jwt_alg_for_key(EVP_PKEY *key)
{
	if (EVP_PKEY_is_a(key, "RSA"))
		return "RS256";
	if (EVP_PKEY_is_a(key, "EC"))
		return "ES256";
	return NULL;
}

/* Turn an ECDSA DER signature into the fixed-width r||s JOSE wants. */
static int ecdsa_der_to_jose(const unsigned char *der, size_t derlen, unsigned char jose[64])
{
	const unsigned char *p = der;
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
	const BIGNUM *r, *s;
	int ok = -1;

	if (sig == NULL)
		return -1;
	ECDSA_SIG_get0(sig, &r, &s);
	if (BN_bn2binpad(r, jose, 32) == 32 && BN_bn2binpad(s, jose + 32, 32) == 32)
		ok = 0;
	ECDSA_SIG_free(sig);
	return ok;
}

/* The in-memory signer: EVP_DigestSign with a key this process holds. */
static int sign_with_pkey(void *arg, const unsigned char *data, size_t len, unsigned char **sig,
			  size_t *siglen)
{
	EVP_PKEY *key = arg;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int r = -1;

	*sig = NULL;
	*siglen = 0;
	if (md == NULL || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSign(md, NULL, siglen, data, len) != 1)
		goto out;
	*sig = malloc(*siglen);
	if (*sig == NULL || EVP_DigestSign(md, *sig, siglen, data, len) != 1)
		goto out;
	r = 0;
out:
	if (r != 0) {
		error_f("cannot sign JWT: %s", ERR_reason_error_string(ERR_get_error()));
		free(*sig);
		*sig = NULL;
	}
	ERR_clear_error();
	EVP_MD_CTX_free(md);
	return r;
}

int jwt_sign_with(const char *alg, jwt_signer_fn signer, void *arg, cJSON *header, const cJSON *claims,
		  char **out)
{
	struct ojit_buf b;
	char *hjson = NULL, *cjson = NULL;
	unsigned char *sig = NULL;
	unsigned char jose[64];
	size_t siglen = 0;
	int r = -1;

	*out = NULL;
	ojit_buf_init(&b, 0);
	if (alg == NULL)
		goto out;
	cJSON_DeleteItemFromObjectCaseSensitive(header, "alg");
	if (cJSON_AddStringToObject(header, "alg", alg) == NULL)
		goto out;
	hjson = cJSON_PrintUnformatted(header);
	cjson = cJSON_PrintUnformatted(claims);
	if (hjson == NULL || cjson == NULL)
		goto out;
	if (b64url_encode((unsigned char *)hjson, strlen(hjson), &b) != 0 ||
	    ojit_buf_append(&b, ".", 1) != 0 ||
	    b64url_encode((unsigned char *)cjson, strlen(cjson), &b) != 0)
		goto out;
	if (signer(arg, (unsigned char *)b.data, b.len, &sig, &siglen) != 0)
		goto out;
	if (ojit_buf_append(&b, ".", 1) != 0)
		goto out;
	if (strcmp(alg, "ES256") == 0) {
		if (ecdsa_der_to_jose(sig, siglen, jose) != 0 || b64url_encode(jose, 64, &b) != 0)
			goto out;
	} else if (b64url_encode(sig, siglen, &b) != 0) {
		goto out;
	}
	*out = b.data;
	b.data = NULL;
	r = 0;
out:
	free(sig);
	free(hjson);
	free(cjson);
	ojit_buf_free(&b);
	return r;
}

int jwt_sign(EVP_PKEY *key, cJSON *header, const cJSON *claims, char **out)
{
	return jwt_sign_with(jwt_alg_for_key(key), sign_with_pkey, key, header, claims, out);
}

int jwt_random_id(char *out, size_t n)
{
	unsigned char rnd[32];
	struct ojit_buf b;
	int r = -1;

	ojit_buf_init(&b, 0);
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		goto out;
	if (b64url_encode(rnd, sizeof(rnd), &b) != 0)
		goto out;
	r = ojit_strlcpy(out, b.data, n);
out:
	ojit_buf_free(&b);
	return r;
}

int jwt_client_assertion(EVP_PKEY *key, const char *kid, const char *client_id,
			 const char *token_url, int64_t now, char **out)
{
	return jwt_client_assertion_with(jwt_alg_for_key(key), sign_with_pkey, key, kid, client_id, token_url,
					 now, out);
}

int jwt_client_assertion_with(const char *alg, jwt_signer_fn signer, void *arg, const char *kid,
			      const char *client_id, const char *token_url, int64_t now, char **out)
{
	cJSON *header = cJSON_CreateObject();
	cJSON *claims = cJSON_CreateObject();
	char jti[64];
	int r = -1;

	*out = NULL;
	if (header == NULL || claims == NULL || jwt_random_id(jti, sizeof(jti)) != 0)
		goto out;
	if (cJSON_AddStringToObject(header, "typ", "JWT") == NULL)
		goto out;
	if (kid != NULL && cJSON_AddStringToObject(header, "kid", kid) == NULL)
		goto out;
	if (cJSON_AddStringToObject(claims, "iss", client_id) == NULL ||
	    cJSON_AddStringToObject(claims, "sub", client_id) == NULL ||
	    cJSON_AddStringToObject(claims, "aud", token_url) == NULL ||
	    cJSON_AddNumberToObject(claims, "iat", (double)now) == NULL ||
	    cJSON_AddNumberToObject(claims, "exp", (double)(now + JWT_ASSERTION_LIFETIME)) == NULL ||
	    cJSON_AddStringToObject(claims, "jti", jti) == NULL)
		goto out;
	r = jwt_sign_with(alg, signer, arg, header, claims, out);
out:
	cJSON_Delete(header);
	cJSON_Delete(claims);
	return r;
}

int jwt_dpop_proof(EVP_PKEY *key, const char *htm, const char *htu, const char *nonce,
		   const char *ath, int64_t now, char **out)
{
	cJSON *header = cJSON_CreateObject();
	cJSON *claims = cJSON_CreateObject();
	cJSON *jwk = jwt_public_jwk(key);
	char jti[64];
	int r = -1;

	*out = NULL;
	if (header == NULL || claims == NULL || jwk == NULL || jwt_random_id(jti, sizeof(jti)) != 0)
		goto out;
	if (cJSON_AddStringToObject(header, "typ", "dpop+jwt") == NULL)
		goto out;
	cJSON_AddItemToObject(header, "jwk", jwk);
	jwk = NULL;
	if (cJSON_AddStringToObject(claims, "htm", htm) == NULL ||
	    cJSON_AddStringToObject(claims, "htu", htu) == NULL ||
	    cJSON_AddNumberToObject(claims, "iat", (double)now) == NULL ||
	    cJSON_AddStringToObject(claims, "jti", jti) == NULL)
		goto out;
	if (nonce != NULL && nonce[0] != '\0' && cJSON_AddStringToObject(claims, "nonce", nonce) == NULL)
		goto out;
	if (ath != NULL && cJSON_AddStringToObject(claims, "ath", ath) == NULL)
		goto out;
	r = jwt_sign(key, header, claims, out);
out:
	cJSON_Delete(jwk);
	cJSON_Delete(header);
	cJSON_Delete(claims);
	return r;
}

static int add_bn_b64(cJSON *obj, const char *name, const BIGNUM *bn, int width)
{
	unsigned char buf[1024];
	struct ojit_buf b;
	int len, r = -1;

	ojit_buf_init(&b, 0);
	len = width > 0 ? BN_bn2binpad(bn, buf, width) : BN_bn2bin(bn, buf);
	if (len <= 0 || (size_t)BN_num_bytes(bn) > sizeof(buf))
		goto out;
	if (b64url_encode(buf, (size_t)len, &b) != 0)
		goto out;
	if (cJSON_AddStringToObject(obj, name, b.data) == NULL)
		goto out;
	r = 0;
out:
	ojit_buf_free(&b);
	return r;
}

cJSON *jwt_public_jwk(EVP_PKEY *key)
{
	cJSON *jwk = cJSON_CreateObject();
	BIGNUM *a = NULL, *b = NULL;
	int ok = 0;

	if (jwk == NULL)
		return NULL;
	if (EVP_PKEY_is_a(key, "RSA")) {
		if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &a) != 1 ||
		    EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &b) != 1)
			goto out;
		/* Member order follows RFC 7638 so the thumbprint can reuse it. */
		if (add_bn_b64(jwk, "e", a, 0) != 0 || cJSON_AddStringToObject(jwk, "kty", "RSA") == NULL ||
		    add_bn_b64(jwk, "n", b, 0) != 0)
			goto out;
	} else if (EVP_PKEY_is_a(key, "EC")) {
		if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &a) != 1 ||
		    EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &b) != 1)
			goto out;
		if (cJSON_AddStringToObject(jwk, "crv", "P-256") == NULL ||
		    cJSON_AddStringToObject(jwk, "kty", "EC") == NULL ||
		    add_bn_b64(jwk, "x", a, 32) != 0 || add_bn_b64(jwk, "y", b, 32) != 0)
			goto out;
	} else {
		goto out;
	}
	ok = 1;
out:
	BN_free(a);
	BN_free(b);
	if (!ok) {
		cJSON_Delete(jwk);
		return NULL;
	}
	return jwk;
}

int jwt_sha256_b64url(const char *s, char *out, size_t n)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	struct ojit_buf b;
	int r;

	SHA256((const unsigned char *)s, strlen(s), md);
	ojit_buf_init(&b, 0);
	r = b64url_encode(md, sizeof(md), &b);
	if (r == 0)
		r = ojit_strlcpy(out, b.data, n);
	ojit_buf_free(&b);
	return r;
}

int jwt_jwk_thumbprint(EVP_PKEY *key, char *out, size_t n)
{
	cJSON *jwk = jwt_public_jwk(key);
	char *json;
	int r = -1;

	if (jwk == NULL)
		return -1;
	/* jwt_public_jwk emits exactly the required members in lexical
	 * order, which is the canonical form RFC 7638 hashes. */
	json = cJSON_PrintUnformatted(jwk);
	if (json != NULL)
		r = jwt_sha256_b64url(json, out, n);
	free(json);
	cJSON_Delete(jwk);
	return r;
}
