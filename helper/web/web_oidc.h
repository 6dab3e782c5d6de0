/* web_oidc.h - sign-in with Okta: OpenID Connect authorization code flow
 * with PKCE (S256), state and nonce, against the org authorization server
 * ({org_url}/oauth2/v1/authorize and /token).
 *
 * The web service reads the ID token's claims for its own session (nonce,
 * expiry, issuer, audience, who). It does not check the signature: the
 * token came to us straight from Okta's token endpoint over verified TLS,
 * and okta-jitd, which acts on it, verifies it in full on every request
 * (signature against the org's keys). */
#ifndef OJIT_WEB_OIDC_H
#define OJIT_WEB_OIDC_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* An ID token is at most this long (the socket's T_ID_TOKEN bound). */
#define WEB_ID_TOKEN_MAX 8192
/* 32 random bytes as base64url: 43 characters. */
#define WEB_TOKEN_LEN 43

/* Fill buf with n bytes from the kernel's CSPRNG. 0 or -1. */
int web_random(void *buf, size_t n);
/* A fresh 256-bit random value as base64url text (out: >= 44 bytes). */
int web_random_token(char *out, size_t n);

/* base64url without padding. encode: 0 or -1 (no room); decode: the
 * length written, or -1 (bad input or no room). */
int web_b64url_encode(const unsigned char *in, size_t len, char *out, size_t n);
int web_b64url_decode(const char *in, size_t len, unsigned char *out, size_t n);

/* PKCE S256 (RFC 7636 4.2): base64url(SHA-256(verifier)). */
int web_pkce_challenge(const char *verifier, char *out, size_t n);

/* The claims of an ID token the session needs. */
struct web_claims {
	char sub[128];   /* Okta user id */
	char login[256]; /* preferred_username */
	char name[256];
	char nonce[128];
	char iss[256];
	int aud_ok;      /* aud is (or contains) the client id given */
	int64_t exp, iat;
};
/* Decode a compact JWS's payload and read the claims (no signature check:
 * see above). 0, or -1 when it is not a JWT with sub, nonce, exp, iat. */
int web_id_token_claims(const char *jwt, const char *client_id, struct web_claims *c);

struct web_oidc_cfg {
	const char *org_url;
	const char *client_id;
	const char *client_secret;
	const char *redirect_uri;
	const char *ca_file; /* NULL: the system's trust store */
};

/* The authorize URL to send the browser to. */
int web_oidc_authorize_url(const struct web_oidc_cfg *cfg, const char *state, const char *nonce,
			   const char *verifier, struct ojit_buf *out);

/* Trade an authorization code for the ID token at the token endpoint
 * (client_secret_post, code_verifier). id_token: malloc'd, the caller
 * frees it with ojit_free_secret. 0, or -1 with err filled (no secret in
 * it). */
int web_oidc_exchange(const struct web_oidc_cfg *cfg, const char *code, const char *verifier,
		      char **id_token, char *err, size_t errlen);

#endif
