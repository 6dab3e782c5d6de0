/* web_identity.c - the actor of a web socket request from its verified
 * Okta ID token (web_identity.h). */
#include "web_identity.h"

#include <pthread.h>
#include <string.h>
#include <strings.h>

#include "oidc_verify.h"
#include "refusals.h"
#include "util.h"

int web_request_allowed(uint8_t type)
{
	switch (type) {
	case PROTO_PING:
	case PROTO_CHECK:
	case PROTO_REQUEST:
	case PROTO_APPROVE:
	case PROTO_DENY:
	case PROTO_REVOKE:
	case PROTO_EXTEND:
	case PROTO_LIST:
	case PROTO_STATUS:
	case PROTO_FLOWS: /* the flows the signed-in user may request (the request page) */
	case PROTO_AUDIT: /* one grant's trail, for its person or its approvers (daemon_dispatch.c) */
		return 1;
	default:
		return 0;
	}
}

/* Okta's answer for a user id, kept cache_ttl: a page of the web service
 * makes a few requests, and each need not read the user again. Only
 * found users are kept; a status change shows within cache_ttl, as in the
 * check cache. */
struct web_user {
	struct okta_user u;
	int64_t at_ms; /* 0: free */
};
static pthread_mutex_t web_users_lock = PTHREAD_MUTEX_INITIALIZER;
static struct web_user web_users[WEB_USER_CACHE];

static int user_cached(struct jitd *d, const char *id, struct okta_user *out)
{
	int64_t now = ojit_mono_ms(), ttl = d->cfg->cache_ttl * 1000;
	int hit = 0;

	pthread_mutex_lock(&web_users_lock);
	for (size_t i = 0; i < WEB_USER_CACHE && !hit; i++)
		if (web_users[i].at_ms != 0 && now - web_users[i].at_ms < ttl && strcmp(web_users[i].u.id, id) == 0) {
			*out = web_users[i].u;
			hit = 1;
		}
	pthread_mutex_unlock(&web_users_lock);
	return hit;
}

static void user_keep(const struct okta_user *u)
{
	struct web_user *slot = &web_users[0];

	pthread_mutex_lock(&web_users_lock);
	for (size_t i = 0; i < WEB_USER_CACHE; i++) {
		if (strcmp(web_users[i].u.id, u->id) == 0 || web_users[i].at_ms == 0) {
			slot = &web_users[i];
			break;
		}
		if (web_users[i].at_ms < slot->at_ms)
			slot = &web_users[i];
	}
	slot->u = *u;
	slot->at_ms = ojit_mono_ms();
	pthread_mutex_unlock(&web_users_lock);
}

int web_user_by_id(struct jitd *d, const char *id, struct okta_user *u)
{
	struct okta_error e;

	memset(u, 0, sizeof(*u));
	if (id == NULL || id[0] == '\0')
		return 0;
	if (user_cached(d, id, u))
		return 1;
	if (d->okta == NULL || okta_user_get_by_id(d->okta, id, u, &e) != 0)
		return 0;
	user_keep(u);
	return 1;
}

/* Audit a refusal (res already says why to the caller). */
static void refused(struct jitd *d, const char *reason, const char *okta_id)
{
	struct actor anon;

	memset(&anon, 0, sizeof(anon));
	anon.web = 1;
	ojit_strlcpy(anon.user, WEB_ACTOR_UNKNOWN, sizeof(anon.user));
	/* at the bounded rate of refusals: a flood of forged tokens is one
	 * row a minute per reason, not a write each */
	audit_refusal(d, &anon, "refused", 0, "", "", "reason=%s okta_id=%s", reason, okta_id);
}

int web_identity_actor(struct jitd *d, uid_t uid, pid_t pid, const struct proto_msg *m, struct actor *a,
		       struct jit_result *res)
{
	struct oidc_identity id;
	struct okta_user u;
	struct okta_error e;
	char why[256], local[LEDGER_USER_MAX + 1], back[OKTA_LOGIN_MAX + 1], reason[48];
	const char *tok = proto_get(m, T_ID_TOKEN);
	enum oidc_err oe;

	memset(a, 0, sizeof(*a));
	memset(&u, 0, sizeof(u));
	if (proto_count(m, T_ID_TOKEN) != 1 || tok == NULL) {
		jit_result_set(res, "unauthenticated",
			       "every request on the web socket carries the signed-in user's ID token, once");
		refused(d, "no-id-token", "");
		return -1;
	}
	if (d->oidc == NULL || d->okta == NULL) {
		jit_result_set(res, "unavailable", "this okta-jitd does not serve the web ([web] client_id)");
		return -1;
	}
	oe = oidc_verify(d->oidc, tok, ojit_now(), &id, why, sizeof(why));
	if (oe != OIDC_OK) {
		ojit_snprintf(reason, sizeof(reason), "id-token-%s", oidc_err_name(oe));
		if (oe == OIDC_ERR_KEYS || oe == OIDC_ERR_INTERNAL) {
			jit_result_set(res, "unavailable", "cannot verify the sign-in now: %s", why);
			warn_f("web: %s", why);
			return -1;
		}
		jit_result_set(res, "unauthenticated", "the sign-in was not accepted: %s", why);
		refused(d, reason, "");
		return -1;
	}
	if (!user_cached(d, id.sub, &u)) {
		if (okta_user_get_by_id(d->okta, id.sub, &u, &e) != 0) {
			char msg[512];

			if (e.kind == OKTA_ERR_NOT_FOUND) {
				jit_result_set(res, "forbidden", "the signed-in Okta user does not exist in the org");
				refused(d, "okta-user-not-found", id.sub);
				return -1;
			}
			okta_error_format(&e, msg, sizeof(msg));
			jit_result_set(res, "unavailable", "cannot read the signed-in user from Okta: %s", msg);
			return -1;
		}
		user_keep(&u);
	}
	if (strcmp(u.status, "ACTIVE") != 0) {
		jit_result_set(res, "forbidden", "the signed-in Okta user is %s, not ACTIVE", u.status);
		refused(d, "okta-user-not-active", id.sub);
		return -1;
	}
	/* The local name is the one whose Okta login, by login_format, is
	 * this user's: mapped back, it must give the same login. */
	if (config_unmap_login(d->cfg, u.login, local, sizeof(local)) != 0 || !jitd_valid_username(local) ||
	    config_map_login(d->cfg, local, back, sizeof(back)) != 0 || strcasecmp(back, u.login) != 0) {
		jit_result_set(res, "forbidden", "Okta login %s has no local name under [users] login_format", u.login);
		refused(d, "login-has-no-local-name", id.sub);
		return -1;
	}
	a->uid = uid;
	a->pid = pid;
	a->is_root = 0;
	a->web = 1;
	ojit_strlcpy(a->user, local, sizeof(a->user));
	ojit_strlcpy(a->okta_id, id.sub, sizeof(a->okta_id));
	return 0;
}
