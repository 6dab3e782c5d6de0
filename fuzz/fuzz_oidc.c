/* fuzz_oidc.c - libFuzzer harness for the ID token verifier (issue 19).
 * Byte 0 even: the rest is a token, checked against a fixed JWKS of a key
 * made at start: whatever the input, it must never verify (no input can
 * carry that key's signature). Byte 0 odd: the rest is the JWKS document
 * the keys endpoint answers, and a fixed token is checked against it. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "jwt.h"
#include "oidc_verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ISS "https://example.okta.com"
#define AUD "0oaWEBclient1"
#define NOW 1800000000LL

static char *fixed_jwks;
static const char *served;
static size_t served_len;

static int fetch(void *ctx, char **body, size_t *len, char *why, size_t n)
{
	(void)ctx;
	(void)why;
	(void)n;
	*body = malloc(served_len + 1);
	if (*body == NULL)
		return -1;
	memcpy(*body, served, served_len);
	(*body)[served_len] = '\0';
	*len = served_len;
	return 0;
}

static void init(void)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	cJSON *doc = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(doc, "keys"), *jwk;

	if (k == NULL || doc == NULL || arr == NULL || (jwk = jwt_public_jwk(k)) == NULL)
		abort();
	cJSON_AddStringToObject(jwk, "kid", "k1");
	cJSON_AddItemToArray(arr, jwk);
	fixed_jwks = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	EVP_PKEY_free(k);
	if (fixed_jwks == NULL)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char token[] =
	    "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJpc3MiOiJodHRwczovL2V4YW1wbGUub2t0YS5jb20iLCJhdWQiOiIwb2FXRUJjbGllbnQxIiwic3ViIjoiMDB1MSIsImlhdCI6MTgwMDAwMDAwMCwiZXhwIjoxODAwMDAwMzAwfQ."
	    "AAAA";
	struct oidc_verifier *v;
	struct oidc_identity id;
	char why[256], *text;
	enum oidc_err e;

	if (fixed_jwks == NULL)
		init();
	if (size < 1)
		return 0;
	text = malloc(size);
	if (text == NULL)
		abort();
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	v = oidc_verifier_new(ISS, AUD, 3600, fetch, NULL);
	if (v == NULL)
		abort();
	if (data[0] % 2 == 0) {
		served = fixed_jwks;
		served_len = strlen(fixed_jwks);
		e = oidc_verify(v, text, NOW, &id, why, sizeof(why));
		if (e == OIDC_OK || id.sub[0] != '\0')
			abort();
	} else {
		served = text;
		served_len = size - 1;
		(void)oidc_jwks_count(text, size - 1);
		e = oidc_verify(v, token, NOW, &id, why, sizeof(why));
		if (e == OIDC_OK)
			abort();
	}
	oidc_verifier_free(v);
	free(text);
	return 0;
}
