/* web_identity.h - who a request on the web socket acts for (issue 19).
 *
 * The web service (okta-jit-web) is not trusted to say who its user is:
 * each request carries the user's raw Okta ID token (T_ID_TOKEN), which
 * okta-jitd verifies itself (oidc_verify.h), then reads that Okta user by
 * id (ACTIVE only) and maps the login to the local name by [users]
 * login_format. The request then runs as that user, exactly as the same
 * user's request on the public socket would, with the Okta id kept for
 * the self-approval rule and "channel=web" on its audit records. */
#ifndef OJIT_WEB_IDENTITY_H
#define OJIT_WEB_IDENTITY_H

#include <stdint.h>
#include <sys/types.h>

#include "jitd.h"
#include "proto.h"

/* The actor name of refusals made before anyone is known. */
#define WEB_ACTOR_UNKNOWN "okta-jit-web"
/* Okta users read by id, kept for [daemon] cache_ttl. */
#define WEB_USER_CACHE 256

/* May a request of this type come through the web socket? The requests
 * a person makes (ping, check, request, approve, deny, revoke, extend,
 * list, status, and audit of one grant); never the PAM module's, root's
 * or sshd's. */
int web_request_allowed(uint8_t type);

/* Fill a for the request m that came on the web socket from peer
 * uid/pid: 0, or -1 with res set (code "unauthenticated" for a missing or
 * bad token, "forbidden" for an Okta user who may not act here,
 * "unavailable" when Okta cannot be asked) and the refusal audited. */
int web_identity_actor(struct jitd *d, uid_t uid, pid_t pid, const struct proto_msg *m, struct actor *a,
		       struct jit_result *res);

/* The Okta user of id, from the same cache (read from Okta once per
 * cache_ttl): 1 found, 0 not (unknown, or Okta not reachable from here). */
int web_user_by_id(struct jitd *d, const char *id, struct okta_user *u);

#endif
