/* grants_approvers.c - who may approve a grant (the flow's approvers,
 * the group's owners, the integration owner), and membership in a group
 * the configuration names (requesters, owner = group:NAME). */
#include "grants.h"

#include <string.h>
#include <strings.h>

#include "check.h"
#include "grants_internal.h"
#include "util.h"

/* Is the looked-up user u in the group the configuration names name
 * (requesters, owner = group:NAME), resolved to its one Okta id? 1 yes,
 * 0 no, -1 e says why not known (an ambiguous name included). */
int grants_user_in_named_group(struct jitd *d, const struct check_user *u, const char *name, struct okta_error *e)
{
	char gid[OKTA_ID_MAX + 1];

	if (check_group_id(d, name, 0, 1, NULL, gid, sizeof(gid), e) != 0)
		return e->kind == OKTA_ERR_NOT_FOUND ? 0 : -1;
	return check_user_in_group(u, gid);
}

int grants_can_approve(struct jitd *d, const struct actor *a, const struct grant *g,
		       char *approver_login, size_t n, struct jit_result *res)
{
	const struct flow_config *f = config_flow_for_group(d->cfg, g->grp);
	const char *owner = d->cfg->owner;
	struct check_user u;
	struct okta_error e;
	int yes = 0, r;

	if (strcmp(a->user, g->user) == 0 || strcmp(a->user, g->requester) == 0) {
		jit_result_set(res, "forbidden", "nobody approves their own request");
		return 0;
	}
	/* From the web, the person is the token's Okta id, before any name. */
	if (a->web && (a->okta_id[0] == '\0' || strcmp(a->okta_id, g->okta_user_id) == 0)) {
		jit_result_set(res, "forbidden", "nobody approves their own request");
		return 0;
	}
	if (a->is_root) {
		ojit_strlcpy(approver_login, "root", n);
		return 1;
	}
	if (f == NULL) {
		jit_result_set(res, "forbidden", "no access flow covers group '%s' any more", g->grp);
		return 0;
	}
	if (config_map_login(d->cfg, a->user, approver_login, n) != 0) {
		jit_result_set(res, "forbidden", "user '%s' has no Okta login", a->user);
		return 0;
	}
	/* The approver's Okta user and groups, and the group's owners, come
	 * through the check cache: asked at most once per cache_ttl, however
	 * often an unprivileged caller lists or approves. */
	if (check_user_lookup(d, a->user, approver_login, &u, &e) != 0) {
		grants_okta_result(res, "cannot look up the approver in Okta", &e);
		return -1;
	}
	if (u.not_found) {
		jit_result_set(res, "forbidden", "'%s' is not an Okta user", approver_login);
		r = 0;
		goto out;
	}
	if (strcmp(u.status, "ACTIVE") != 0) {
		jit_result_set(res, "forbidden", "approver %s is %s in Okta, not ACTIVE", u.login, u.status);
		r = 0;
		goto out;
	}
	/* The approver's login must be the signed-in person's (web). */
	if (a->web && strcmp(u.id, a->okta_id) != 0) {
		jit_result_set(res, "forbidden", "the signed-in Okta user is not %s's Okta user", a->user);
		r = 0;
		goto out;
	}
	/* Two local accounts mapped to one Okta person are still one person. */
	if (strcmp(u.id, g->okta_user_id) == 0) {
		jit_result_set(res, "forbidden", "nobody approves their own request");
		r = 0;
		goto out;
	}
	if (f->approval == APPROVAL_OWNERS) {
		struct okta_owner_list ol = { 0 };
		size_t i;

		if (check_group_owners(d, g->group_id, &ol, &e) != 0) {
			okta_owner_list_free(&ol);
			grants_okta_result(res, "cannot read the group's owners", &e);
			r = -1;
			goto out;
		}
		for (i = 0; i < ol.n && !yes; i++) {
			if (strcmp(ol.v[i].type, "USER") == 0 && strcmp(ol.v[i].id, u.id) == 0)
				yes = 1;
			else if (strcmp(ol.v[i].type, "GROUP") == 0)
				yes = check_user_in_group(&u, ol.v[i].id);
		}
		if (ol.n > 0 || owner == NULL) {
			okta_owner_list_free(&ol);
			if (!yes)
				jit_result_set(res, "forbidden", "%s is not an owner of group '%s' in Okta", u.login, g->grp);
			r = yes;
			goto out;
		}
		okta_owner_list_free(&ol);
		/* no owners: the integration owner decides */
	}
	if (owner == NULL) {
		jit_result_set(res, "forbidden", "no integration owner is configured");
		r = 0;
		goto out;
	}
	if (strncmp(owner, "user:", 5) == 0) {
		yes = strcasecmp(owner + 5, u.login) == 0;
	} else if ((yes = grants_user_in_named_group(d, &u, owner + 6, &e)) < 0) {
		grants_okta_result(res, "cannot resolve the integration owner's group", &e);
		r = -1;
		goto out;
	}
	if (!yes)
		jit_result_set(res, "forbidden", "%s is not the integration owner (%s)", u.login, owner);
	r = yes;
out:
	check_user_free(&u);
	return r;
}
