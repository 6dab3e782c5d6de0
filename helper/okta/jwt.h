/* jwt.h - compact JWS signing for client assertions and DPoP proofs. */
#ifndef OJIT_JWT_H
#define OJIT_JWT_H

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* Lifetime of a client assertion. Okta refuses exp more than an hour ahead;
 * a few minutes leaves room for clock skew without a long replay window. */
#define JWT_ASSERTION_LIFETIME 300

int b64url_encode(const unsigned char *in, size_t len, struct ojit_buf *out);
/* Decode base64url without padding; returns -1 on a bad character. */
int b64url_decode(const char *in, size_t len, unsigned char **out, size_t *outlen);

/* "RS256" for RSA keys, "ES256" for P-256 keys, NULL otherwise. */
const char *jwt_alg_for_key(EVP_PKEY *key);

/* Sign header.claims with key; the header gets "alg" added. For ES256 the
 * signature is the JOSE form r||s (64 bytes), not DER. *out is malloc'd. */
int jwt_sign(EVP_PKEY *key, cJSON *header, const cJSON *claims, char **out);

/* A signer: the raw signature over data (DER for ECDSA) in *sig
 * (malloc'd), 0 or -1. Lets a key that never leaves its provider (a TPM,
 * an HSM: okta_key.h) sign without this file knowing where it lives. */
typedef int (*jwt_signer_fn)(void *arg, const unsigned char *data, size_t len, unsigned char **sig,
			     size_t *siglen);

/* jwt_sign with a signer for alg ("RS256" or "ES256"). */
int jwt_sign_with(const char *alg, jwt_signer_fn signer, void *arg, cJSON *header, const cJSON *claims,
		  char **out);

/* A fresh random jti: 32 bytes from the CSPRNG, base64url. */
int jwt_random_id(char *out, size_t n);

/* The private_key_jwt client assertion for Okta's token endpoint. */
int jwt_client_assertion(EVP_PKEY *key, const char *kid, const char *client_id,
			 const char *token_url, int64_t now, char **out);
int jwt_client_assertion_with(const char *alg, jwt_signer_fn signer, void *arg, const char *kid,
			      const char *client_id, const char *token_url, int64_t now, char **out);

/* An RFC 9449 DPoP proof: header typ "dpop+jwt", alg, jwk (public key
 * only); claims htm, htu, iat, a fresh jti, and nonce / ath when given. */
int jwt_dpop_proof(EVP_PKEY *key, const char *htm, const char *htu, const char *nonce,
		   const char *ath, int64_t now, char **out);

/* The public half of key as a JWK object (RSA: kty,n,e; EC: kty,crv,x,y). */
cJSON *jwt_public_jwk(EVP_PKEY *key);

/* RFC 7638 thumbprint (SHA-256, base64url) of the public JWK of key. */
int jwt_jwk_thumbprint(EVP_PKEY *key, char *out, size_t n);

/* base64url(SHA-256(s)), e.g. the DPoP "ath" of an access token. */
int jwt_sha256_b64url(const char *s, char *out, size_t n);

#endif
