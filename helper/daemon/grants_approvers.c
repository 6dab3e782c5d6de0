/* grants_approvers.c - who may approve a grant (the flow's approvers,
 * the group's owners, the integration owner), membership in a group the
 * configuration names (requesters, owner = group:NAME), and the same
 * told to people: who else may approve a request (LIST's APPROVERS). */
#include "grants.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "check.h"
#include "fleet_sig.h"
#include "grants_internal.h"
#include "util.h"
#include "web_identity.h"

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

/* ---- who else may approve, as people read it (LIST's APPROVERS) -------- */

/* What one listing read of the ledger's snapshots: their heads once, and
 * the member lists of the groups it named, parsed in place. */
struct memo_group {
	char grp[LEDGER_GROUP_MAX + 1];
	char group_id[65];
	int tried;   /* the member text was asked for */
	char *text;  /* cut in place by snapshot_member_parse */
	struct snapshot_member *m;
	size_t n;
};

struct approvers_memo {
	int have_heads;
	struct memo_group *g;
	size_t n;
};

struct approvers_memo *grants_approvers_memo_new(void)
{
	return calloc(1, sizeof(struct approvers_memo));
}

void grants_approvers_memo_free(struct approvers_memo *mm)
{
	size_t i;

	if (mm == NULL)
		return;
	for (i = 0; i < mm->n; i++) {
		free(mm->g[i].text);
		free(mm->g[i].m);
	}
	free(mm->g);
	free(mm);
}

static void memo_heads(struct jitd *d, struct approvers_memo *mm)
{
	struct snapshot_head *hv = NULL;
	size_t nh = 0, i;

	if (mm->have_heads)
		return;
	mm->have_heads = 1;
	if (ledger_snapshot_heads_all(d->ledger, &hv, &nh) != LEDGER_OK || nh == 0) {
		free(hv);
		return;
	}
	mm->g = calloc(nh, sizeof(*mm->g));
	if (mm->g == NULL) {
		free(hv);
		return;
	}
	/* only member lists a check would use: "ok" and, on a gate, signed */
	for (i = 0; i < nh; i++)
		if (strcmp(hv[i].state, "ok") == 0) {
			ojit_strlcpy(mm->g[mm->n].grp, hv[i].grp, sizeof(mm->g[mm->n].grp));
			ojit_strlcpy(mm->g[mm->n].group_id, hv[i].group_id, sizeof(mm->g[mm->n].group_id));
			mm->n++;
		}
	free(hv);
}

/* The members of group (by name, or by Okta id when name is NULL), as
 * the ledger's snapshot lists them; NULL when no snapshot knows them. */
static struct memo_group *memo_group(struct jitd *d, struct approvers_memo *mm, const char *name, const char *gid)
{
	struct memo_group *g = NULL;
	struct snapshot_member *mv;
	struct snapshot_head h;
	size_t i, cap = 0, nm = 0;
	char *p, *nl;

	memo_heads(d, mm);
	for (i = 0; i < mm->n && g == NULL; i++)
		if ((name != NULL && strcmp(mm->g[i].grp, name) == 0) ||
		    (name == NULL && gid != NULL && gid[0] != '\0' && strcmp(mm->g[i].group_id, gid) == 0))
			g = &mm->g[i];
	if (g == NULL || g->tried)
		return g;
	g->tried = 1;
	memset(&h, 0, sizeof(h));
	if (ledger_snapshot_get(d->ledger, g->grp, &h, &g->text) != LEDGER_OK || g->text == NULL)
		return g;
	if (d->keys.nverify > 0 && !fleet_snapshot_ok(&d->keys, &h, g->text)) {
		free(g->text);
		g->text = NULL;
		return g;
	}
	for (p = g->text; *p != '\0'; p++)
		cap += *p == '\n';
	mv = calloc(cap + 1, sizeof(*mv));
	if (mv == NULL)
		return g;
	p = g->text;
	while (*p != '\0' && nm <= cap) {
		nl = strchr(p, '\n');
		if (nl != NULL)
			*nl = '\0';
		if (snapshot_member_parse(p, &mv[nm]) == 0)
			nm++;
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	g->m = mv; /* freed with the memo */
	g->n = nm;
	return g;
}

/* Text being built, and whom it must not name. */
struct who_out {
	struct ojit_buf *b;
	const char *self_id, *self_login; /* the reader */
	const char *req_id, *req_login;   /* the request's own user */
};

static int who_skip(const struct who_out *w, const char *id, const char *login)
{
	if (id != NULL && id[0] != '\0' &&
	    ((w->self_id[0] != '\0' && strcmp(id, w->self_id) == 0) || strcmp(id, w->req_id) == 0))
		return 1;
	return login != NULL && login[0] != '\0' &&
	       ((w->self_login[0] != '\0' && strcasecmp(login, w->self_login) == 0) ||
		strcasecmp(login, w->req_login) == 0);
}

#define WHO_NAMES_MAX 8 /* members named per group; the rest counted */

/* "group NAME (a, b, +3 more)", the members as the snapshot lists them. */
static void who_group(struct jitd *d, struct approvers_memo *mm, struct who_out *w, const char *name,
		      const char *gid)
{
	struct memo_group *g = memo_group(d, mm, name, gid);
	size_t i, shown = 0, more = 0;

	if (g == NULL) {
		if (name != NULL)
			ojit_buf_printf(w->b, "group %s", name);
		else
			ojit_buf_printf(w->b, "an Okta group (%s)", gid);
		return;
	}
	ojit_buf_printf(w->b, "group %s", g->grp);
	if (g->m == NULL)
		return;
	for (i = 0; i < g->n; i++) {
		if (strcmp(g->m[i].status, "ACTIVE") != 0 || who_skip(w, g->m[i].id, g->m[i].login))
			continue;
		if (shown < WHO_NAMES_MAX)
			ojit_buf_printf(w->b, "%s%s", shown == 0 ? " (" : ", ", g->m[i].login);
		else
			more++;
		shown++;
	}
	if (more > 0)
		ojit_buf_printf(w->b, ", +%zu more", more);
	if (shown > 0)
		ojit_buf_printf(w->b, ")");
	else
		ojit_buf_printf(w->b, " (nobody else)");
}

/* The integration owner (user:LOGIN or group:NAME). */
static void who_owner(struct jitd *d, struct approvers_memo *mm, struct who_out *w)
{
	const char *owner = d->cfg->owner;

	if (owner == NULL)
		ojit_buf_printf(w->b, "nobody (no integration owner is configured)");
	else if (strncmp(owner, "user:", 5) == 0)
		ojit_buf_printf(w->b, "%s", who_skip(w, NULL, owner + 5) ? "nobody else (the integration owner is you)"
									 : owner + 5);
	else
		who_group(d, mm, w, owner + 6, NULL);
}

void grants_approvers_text(struct jitd *d, const struct actor *a, const struct grant *g,
			   struct approvers_memo *mm, char *out, size_t n)
{
	const struct flow_config *f = config_flow_for_group(d->cfg, g->grp);
	char self_login[OKTA_LOGIN_MAX + 1] = "";
	struct okta_owner_list ol = { 0 };
	struct okta_error e;
	struct ojit_buf b;
	struct who_out w;
	size_t i, named = 0;

	if (f == NULL || f->approval == APPROVAL_AUTO || mm == NULL) {
		jitd_describe_approvers(d, f, out, n);
		return;
	}
	ojit_buf_init(&b, n > 0 ? n - 1 : 0);
	if (!a->is_root && config_map_login(d->cfg, a->user, self_login, sizeof(self_login)) != 0)
		self_login[0] = '\0';
	w.b = &b;
	w.self_id = a->web ? a->okta_id : "";
	w.self_login = self_login;
	w.req_id = g->okta_user_id;
	w.req_login = g->okta_login;
	if (f->approval == APPROVAL_OWNERS && g->group_id[0] != '\0' && check_group_owners(d, g->group_id, &ol, &e) == 0 &&
	    ol.n > 0) {
		ojit_buf_printf(&b, "the owners of %s in Okta: ", g->grp);
		for (i = 0; i < ol.n; i++) {
			struct okta_user u;

			if (strcmp(ol.v[i].type, "GROUP") == 0) {
				ojit_buf_printf(&b, "%s", named++ ? "; " : "");
				who_group(d, mm, &w, NULL, ol.v[i].id);
			} else if (web_user_by_id(d, ol.v[i].id, &u)) {
				if (strcmp(u.status, "ACTIVE") != 0 || who_skip(&w, u.id, u.login))
					continue;
				ojit_buf_printf(&b, "%s%s", named++ ? "; " : "", u.login);
			} else if (!who_skip(&w, ol.v[i].id, NULL)) {
				ojit_buf_printf(&b, "%san Okta user (%s)", named++ ? "; " : "", ol.v[i].id);
			}
		}
		if (named == 0)
			ojit_buf_printf(&b, "nobody else");
	} else if (f->approval == APPROVAL_OWNERS) {
		/* no owners (or not known now): the integration owner decides */
		ojit_buf_printf(&b, "the owners of %s in Okta, else the integration owner: ", g->grp);
		who_owner(d, mm, &w);
	} else {
		ojit_buf_printf(&b, "the integration owner: ");
		who_owner(d, mm, &w);
	}
	okta_owner_list_free(&ol);
	if (b.data == NULL || b.overflow) {
		/* cut at the bound rather than say nothing */
		ojit_strlcpy(out, b.data != NULL ? b.data : "", n);
		if (b.data == NULL)
			jitd_describe_approvers(d, f, out, n);
	} else {
		ojit_strlcpy(out, b.data, n);
	}
	ojit_buf_free(&b);
	ojit_strip_controls(out);
}
