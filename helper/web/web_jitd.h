/* web_jitd.h - requests to okta-jitd over its web socket ([web] socket).
 *
 * Every request carries the signed-in user's raw ID token in tag
 * T_ID_TOKEN (proto.h); okta-jitd verifies it (signature, issuer, audience,
 * expiry, age) and acts as that Okta user. The web service never says who
 * the user is any other way: it sends no T_USER. */
#ifndef OJIT_WEB_JITD_H
#define OJIT_WEB_JITD_H

#include <stddef.h>

#include "proto.h"

/* Send req (built by the caller, without the token), with id_token added,
 * to socket; the reply in *reply (OK or ERROR). The socket must be root's
 * and so must the peer (proto_connect). 0, or -1 with err filled. */
int web_jitd_call(const char *socket, const char *id_token, struct proto_out *req, struct proto_msg *reply,
		  char *err, size_t errlen);

#endif
