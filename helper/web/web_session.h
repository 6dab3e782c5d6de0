/* web_session.h - signed-in sessions and sign-ins under way, in memory.
 *
 * A session is named by a random 256-bit id (the cookie; base64url) and
 * holds the user's ID token, which every request to okta-jitd carries.
 * It ends at sign-out, after idle seconds without a request, or at its
 * absolute end: the earlier of max_age after sign-in and the ID token's
 * own expiry (okta-jitd would refuse the token after that anyway). The
 * table is bounded; when full, the least recently used session goes.
 *
 * A sign-in under way (state, nonce, PKCE verifier, and a binder value
 * set as a cookie in the same browser) lives 10 minutes and is taken once:
 * a replayed state, or one brought by another browser, finds nothing. */
#ifndef OJIT_WEB_SESSION_H
#define OJIT_WEB_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "web_oidc.h"

#define WEB_ID_LEN (WEB_TOKEN_LEN + 1)
#define WEB_LOGIN_TTL 600

struct web_session_view {
	char id[WEB_ID_LEN];
	char csrf[WEB_ID_LEN];
	char sub[128];
	char login[256];
	char id_token[WEB_ID_TOKEN_MAX + 1];
	int64_t expires;
};

struct web_login_view {
	char state[WEB_ID_LEN];
	char nonce[WEB_ID_LEN];
	char verifier[WEB_ID_LEN];
	char binder[WEB_ID_LEN];
	char next[257];
};

int web_sessions_init(size_t max_sessions, size_t max_logins, int64_t idle, int64_t max_age);
void web_sessions_free(void);

/* A new session for a signed-in user; fills out (id, csrf, ...). */
int web_session_create(const struct web_claims *c, const char *id_token, int64_t now,
		       struct web_session_view *out);
/* 1 with a copy in out when id names a live session (and marks it used
 * now), else 0. */
int web_session_find(const char *id, int64_t now, struct web_session_view *out);
void web_session_end(const char *id);
size_t web_session_count(void);

/* Start a sign-in: fresh state, nonce, verifier and binder. */
int web_login_begin(const char *next, int64_t now, struct web_login_view *out);
/* Take the sign-in of state if binder matches and it is not expired:
 * 1 with it in out (and it is gone), else 0. */
int web_login_take(const char *state, const char *binder, int64_t now, struct web_login_view *out);

/* Wipe a view that held a token. */
void web_session_view_wipe(struct web_session_view *v);

#endif
