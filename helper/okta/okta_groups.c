/* okta_groups.c - Okta groups: by id and by name, listing, members and
 * owners, and adding and removing a member. Split out of okta_api.c
 * (issue 16). */
#include "okta_api.h"

#include <stdio.h>
#include <string.h>

#include "okta_call.h"
#include "okta_client.h"
#include "okta_errors.h"
#include "okta_http.h"
#include "okta_objects.h"

int okta_group_get(struct okta_client *c, const char *gid, struct okta_group *g,
		   struct okta_error *err)
{
	char url[HTTP_MAX_URL];
	cJSON *j = NULL;
	int r;

	if (okta_check_id_input(gid, "group", err) != 0)
		return -1;
	if (ojit_snprintf(url, sizeof(url), "%s/api/v1/groups/%s", c->cfg->org_url, gid) < 0) {
		okta_err_set(err, OKTA_ERR_INTERNAL, 0, "URL too long");
		return -1;
	}
	if (okta_call(c, "GET", url, &j, NULL, 0, err) != 0)
		return -1;
	r = okta_parse_group(j, g, err);
	cJSON_Delete(j);
	return r;
}

int okta_group_find(struct okta_client *c, const char *name, struct okta_group *g,
		    struct okta_error *err)
{
	return okta_group_find_type(c, name, NULL, g, err);
}

int okta_group_find_type(struct okta_client *c, const char *name, const char *type, struct okta_group *g,
			 struct okta_error *err)
{
	struct okta_group_list l = { 0 };
	struct ojit_buf url, enc, tenc;
	size_t i, found = 0;
	int r = -1;

	ojit_buf_init(&url, HTTP_MAX_URL);
	ojit_buf_init(&enc, 0);
	ojit_buf_init(&tenc, 0);
	if (name == NULL || name[0] == '\0' || strlen(name) > OKTA_NAME_MAX) {
		okta_err_set(err, OKTA_ERR_REFUSED, 0, "group name is empty or too long");
		goto out;
	}
	/* Okta's search compares string values without regard to case, so
	 * the exact name is matched below; with a type, the two conditions
	 * are joined with "and" (both percent-encoded, "%20and%20"). */
	if (okta_search_eq("profile.name", name, &enc) != 0 ||
	    (type != NULL && okta_search_eq("type", type, &tenc) != 0) ||
	    ojit_buf_printf(&url, "%s/api/v1/groups?search=%s%s%s&limit=200", c->cfg->org_url,
			    type != NULL ? tenc.data : "", type != NULL ? "%20and%20" : "", enc.data) != 0) {
		okta_err_set(err, OKTA_ERR_INTERNAL, 0, "URL too long");
		goto out;
	}
	if (okta_paged_get(c, url.data, okta_push_group, &l, err) != 0)
		goto out;
	for (i = 0; i < l.n; i++) {
		if (strcmp(l.v[i].name, name) == 0 && (type == NULL || strcmp(l.v[i].type, type) == 0)) {
			*g = l.v[i];
			found++;
		}
	}
	if (found == 0) {
		okta_err_set(err, OKTA_ERR_NOT_FOUND, 404, "no Okta group%s%s named '%s'", type ? " of type " : "",
			type ? type : "", name);
		goto out;
	}
	if (found > 1) {
		okta_err_set(err, OKTA_ERR_AMBIGUOUS, 200,
			"%zu Okta groups%s%s are named '%s'; rename all but one so okta-jit knows which one is meant",
			found, type ? " of type " : "", type ? type : "", name);
		goto out;
	}
	r = 0;
out:
	okta_group_list_free(&l);
	ojit_buf_free(&url);
	ojit_buf_free(&enc);
	ojit_buf_free(&tenc);
	return r;
}

int okta_groups_list(struct okta_client *c, const char *prefix, struct okta_group_list *l,
		     struct okta_error *err)
{
	struct ojit_buf url, enc;
	int r = -1;

	ojit_buf_init(&url, HTTP_MAX_URL);
	ojit_buf_init(&enc, 0);
	if (prefix != NULL && prefix[0] != '\0') {
		if (strlen(prefix) > OKTA_NAME_MAX || http_url_encode(prefix, &enc) != 0 ||
		    ojit_buf_printf(&url, "%s/api/v1/groups?q=%s&limit=200", c->cfg->org_url, enc.data) != 0) {
			okta_err_set(err, OKTA_ERR_REFUSED, 0, "search text too long");
			goto out;
		}
	} else {
		if (okta_search_eq("type", "OKTA_GROUP", &enc) != 0 ||
		    ojit_buf_printf(&url, "%s/api/v1/groups?search=%s&limit=200", c->cfg->org_url, enc.data) != 0) {
			okta_err_set(err, OKTA_ERR_INTERNAL, 0, "URL too long");
			goto out;
		}
	}
	r = okta_paged_get(c, url.data, okta_push_group, l, err);
out:
	ojit_buf_free(&url);
	ojit_buf_free(&enc);
	return r;
}

int okta_group_members(struct okta_client *c, const char *gid, struct okta_user_list *l,
		       struct okta_error *err)
{
	char url[HTTP_MAX_URL];

	if (okta_check_id_input(gid, "group", err) != 0)
		return -1;
	if (ojit_snprintf(url, sizeof(url), "%s/api/v1/groups/%s/users?limit=200", c->cfg->org_url, gid) < 0) {
		okta_err_set(err, OKTA_ERR_INTERNAL, 0, "URL too long");
		return -1;
	}
	return okta_paged_get(c, url, okta_push_user, l, err);
}

struct each_member {
	okta_member_fn fn;
	void *ctx;
	size_t n, max;
	const struct okta_profile_attrs *attrs; /* with the profile: pfn */
	okta_member_profile_fn pfn;
};

static int each_member(const cJSON *o, void *ctx, struct okta_error *err)
{
	struct each_member *m = ctx;
	struct okta_user u;

	if (++m->n > m->max) {
		okta_err_set(err, OKTA_ERR_REFUSED, 200, "the group has more than %zu members", m->max);
		return -1;
	}
	if (okta_parse_user(o, &u, err) != 0)
		return -1;
	if (m->pfn != NULL) {
		struct okta_profile p;

		okta_parse_profile(o, m->attrs, &p);
		return m->pfn(&u, &p, m->ctx);
	}
	return m->fn(&u, m->ctx);
}

static int members_walk(struct okta_client *c, const char *gid, struct each_member *m, struct okta_error *err)
{
	char url[HTTP_MAX_URL];

	if (okta_check_id_input(gid, "group", err) != 0)
		return -1;
	/* 1000 a page, Okta's default and the most it documents using */
	if (ojit_snprintf(url, sizeof(url), "%s/api/v1/groups/%s/users?limit=1000", c->cfg->org_url, gid) < 0) {
		okta_err_set(err, OKTA_ERR_INTERNAL, 0, "URL too long");
		return -1;
	}
	return okta_paged_get(c, url, each_member, m, err);
}

int okta_group_members_profile_each(struct okta_client *c, const char *gid, size_t max,
				    const struct okta_profile_attrs *a, okta_member_profile_fn fn, void *ctx,
				    struct okta_error *err)
{
	struct each_member m = { NULL, ctx, 0, max, a, fn };

	return members_walk(c, gid, &m, err);
}

int okta_group_members_each(struct okta_client *c, const char *gid, size_t max, okta_member_fn fn, void *ctx,
			    struct okta_error *err)
{
	struct each_member m = { fn, ctx, 0, max, NULL, NULL };

	return members_walk(c, gid, &m, err);
}

int okta_group_owners(struct okta_client *c, const char *gid, struct okta_owner_list *l,
		      struct okta_error *err)
{
	char url[HTTP_MAX_URL];

	if (okta_check_id_input(gid, "group", err) != 0)
		return -1;
	if (ojit_snprintf(url, sizeof(url), "%s/api/v1/groups/%s/owners?limit=200", c->cfg->org_url, gid) < 0) {
		okta_err_set(err, OKTA_ERR_INTERNAL, 0, "URL too long");
		return -1;
	}
	return okta_paged_get(c, url, okta_push_owner, l, err);
}

struct each_rule {
	okta_rule_fn fn;
	void *ctx;
};

/* One GroupRule object: the id, name and status, and each id of
 * actions.assignUserToGroups.groupIds (a rule without that action assigns
 * to no group). Okta's text is checked before it reaches the caller. */
static int each_rule(const cJSON *o, void *ctx, struct okta_error *err)
{
	struct each_rule *er = ctx;
	struct okta_group_rule r;
	const cJSON *actions, *assign, *ids, *it;

	memset(&r, 0, sizeof(r));
	if (!cJSON_IsObject(o) || okta_json_str(o, "id", r.id, sizeof(r.id)) != 0 || !okta_valid_id(r.id) ||
	    okta_json_str(o, "status", r.status, sizeof(r.status)) != 0) {
		okta_err_set(err, OKTA_ERR_BAD_RESPONSE, 200, "Okta sent a group rule without a valid id or status");
		return -1;
	}
	if (okta_json_str(o, "name", r.name, sizeof(r.name)) != 0)
		r.name[0] = '\0';
	ojit_strip_controls(r.name);
	actions = cJSON_GetObjectItemCaseSensitive(o, "actions");
	assign = cJSON_IsObject(actions) ? cJSON_GetObjectItemCaseSensitive(actions, "assignUserToGroups") : NULL;
	ids = cJSON_IsObject(assign) ? cJSON_GetObjectItemCaseSensitive(assign, "groupIds") : NULL;
	if (ids == NULL)
		return 0;
	if (!cJSON_IsArray(ids)) {
		okta_err_set(err, OKTA_ERR_BAD_RESPONSE, 200, "group rule %s: groupIds is not an array", r.id);
		return -1;
	}
	cJSON_ArrayForEach(it, ids) {
		if (!cJSON_IsString(it) || !okta_valid_id(it->valuestring)) {
			okta_err_set(err, OKTA_ERR_BAD_RESPONSE, 200, "group rule %s: a groupIds entry is not a group id", r.id);
			return -1;
		}
		if (er->fn(&r, it->valuestring, er->ctx) != 0)
			return -1;
	}
	return 0;
}

int okta_group_rules_each(struct okta_client *c, okta_rule_fn fn, void *ctx, struct okta_error *err)
{
	char url[HTTP_MAX_URL];
	struct each_rule er = { fn, ctx };

	if (ojit_snprintf(url, sizeof(url), "%s/api/v1/groups/rules?limit=200", c->cfg->org_url) < 0) {
		okta_err_set(err, OKTA_ERR_INTERNAL, 0, "URL too long");
		return -1;
	}
	return okta_paged_get(c, url, each_rule, &er, err);
}

static int membership_change(struct okta_client *c, const char *method, const struct okta_group *g,
			     const char *uid, struct okta_error *err)
{
	char url[HTTP_MAX_URL];
	cJSON *body = NULL;
	int r;

	if (okta_check_id_input(g->id, "group", err) != 0 || okta_check_id_input(uid, "user", err) != 0)
		return -1;
	if (strcmp(g->type, "OKTA_GROUP") != 0) {
		okta_err_set(err, OKTA_ERR_REFUSED, 0,
			"group '%s' is of type %s: Okta only lets OKTA_GROUP memberships be changed through the API "
			"(%s groups are managed by %s); grant an OKTA_GROUP instead",
			g->name, g->type, g->type,
			strcmp(g->type, "APP_GROUP") == 0 ? "the application they come from" : "Okta itself");
		return -1;
	}
	if (ojit_snprintf(url, sizeof(url), "%s/api/v1/groups/%s/users/%s", c->cfg->org_url, g->id, uid) < 0) {
		okta_err_set(err, OKTA_ERR_INTERNAL, 0, "URL too long");
		return -1;
	}
	r = okta_call(c, method, url, &body, NULL, 0, err);
	if (r == 0 && body != NULL) {
		/* Okta answers a membership change with 204 and no body. Any
		 * other success (a proxy's page, a garbled answer) changed
		 * nothing we know of: a failure to retry, never done. */
		cJSON_Delete(body);
		okta_err_set(err, OKTA_ERR_BAD_RESPONSE, 200,
			"Okta answered the membership change with a body, not 204 No Content");
		return -1;
	}
	return r;
}

int okta_group_add_member(struct okta_client *c, const struct okta_group *g, const char *uid,
			  struct okta_error *err)
{
	return membership_change(c, "PUT", g, uid, err);
}

int okta_group_remove_member(struct okta_client *c, const struct okta_group *g,
			     const char *uid, struct okta_error *err)
{
	int r = membership_change(c, "DELETE", g, uid, err);

	/* Already gone (user or membership) is what we wanted. */
	if (r != 0 && err->kind == OKTA_ERR_NOT_FOUND && err->status == 404)
		return 0;
	return r;
}
