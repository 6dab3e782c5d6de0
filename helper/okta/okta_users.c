/* okta_users.c - Okta users: one by login, and the groups a user is in.
 * Split out of okta_api.c (issue 16). */
#include "okta_api.h"

#include <string.h>

#include "okta_call.h"
#include "okta_client.h"
#include "okta_errors.h"
#include "okta_http.h"
#include "okta_objects.h"

int okta_user_get(struct okta_client *c, const char *login, struct okta_user *u,
		  struct okta_error *err)
{
	struct ojit_buf url, enc;
	cJSON *j = NULL;
	int r = -1;

	ojit_buf_init(&url, HTTP_MAX_URL);
	ojit_buf_init(&enc, 0);
	if (okta_check_login_input(login, err) != 0)
		goto out;
	if (okta_login_needs_search(login)) {
		struct okta_user_list l = { 0 };
		size_t i, found = 0;

		if (okta_search_eq("profile.login", login, &enc) != 0 ||
		    ojit_buf_printf(&url, "%s/api/v1/users?search=%s&limit=2", c->cfg->org_url, enc.data) != 0) {
			okta_err_set(err, OKTA_ERR_INTERNAL, 0, "URL too long");
			goto out;
		}
		if (okta_paged_get(c, url.data, okta_push_user, &l, err) != 0) {
			okta_user_list_free(&l);
			goto out;
		}
		for (i = 0; i < l.n; i++) {
			if (strcasecmp(l.v[i].login, login) == 0) {
				*u = l.v[i];
				found++;
			}
		}
		okta_user_list_free(&l);
		if (found == 0) {
			okta_err_set(err, OKTA_ERR_NOT_FOUND, 404, "no Okta user with login '%s'", login);
			goto out;
		}
		if (found > 1) {
			okta_err_set(err, OKTA_ERR_AMBIGUOUS, 200, "several Okta users with login '%s'", login);
			goto out;
		}
		r = 0;
		goto out;
	}
	if (http_url_encode(login, &enc) != 0 ||
	    ojit_buf_printf(&url, "%s/api/v1/users/%s", c->cfg->org_url, enc.data) != 0) {
		okta_err_set(err, OKTA_ERR_INTERNAL, 0, "URL too long");
		goto out;
	}
	if (okta_call(c, "GET", url.data, &j, NULL, 0, err) != 0)
		goto out;
	if (okta_parse_user(j, u, err) != 0)
		goto out;
	/* GET by id also matches a login shortname; a gate must not let
	 * "bob" pass as "bob@other.example". */
	if (strcasecmp(u->login, login) != 0) {
		okta_err_set(err, OKTA_ERR_NOT_FOUND, 404,
			"Okta answered with user '%s' for login '%s'; logins must match exactly", u->login, login);
		goto out;
	}
	r = 0;
out:
	cJSON_Delete(j);
	ojit_buf_free(&url);
	ojit_buf_free(&enc);
	return r;
}

int okta_user_get_by_id(struct okta_client *c, const char *id, struct okta_user *u, struct okta_error *err)
{
	char url[HTTP_MAX_URL];
	cJSON *j = NULL;
	int r = -1;

	if (okta_check_id_input(id, "user", err) != 0)
		return -1;
	if (ojit_snprintf(url, sizeof(url), "%s/api/v1/users/%s", c->cfg->org_url, id) < 0) {
		okta_err_set(err, OKTA_ERR_INTERNAL, 0, "URL too long");
		return -1;
	}
	if (okta_call(c, "GET", url, &j, NULL, 0, err) != 0)
		goto out;
	if (okta_parse_user(j, u, err) != 0)
		goto out;
	/* The path also matches a login or its shortname: an id that is
	 * someone's login must not pass as that person. */
	if (strcmp(u->id, id) != 0) {
		okta_err_set(err, OKTA_ERR_NOT_FOUND, 404, "Okta answered with user %s for id %s", u->id, id);
		goto out;
	}
	r = 0;
out:
	cJSON_Delete(j);
	return r;
}

int okta_user_groups(struct okta_client *c, const char *uid, struct okta_group_list *l,
		     struct okta_error *err)
{
	char url[HTTP_MAX_URL];

	if (okta_check_id_input(uid, "user", err) != 0)
		return -1;
	if (ojit_snprintf(url, sizeof(url), "%s/api/v1/users/%s/groups?limit=200", c->cfg->org_url, uid) < 0) {
		okta_err_set(err, OKTA_ERR_INTERNAL, 0, "URL too long");
		return -1;
	}
	return okta_paged_get(c, url, okta_push_group, l, err);
}

/* The same list asked by login (Okta's listUserGroups takes "an ID, login,
 * or login shortname"), so that it can be asked at the same time as the
 * user. Only logins that go into a path as they are; others return
 * OKTA_ERR_REFUSED and the caller asks by id. */
int okta_user_groups_by_login(struct okta_client *c, const char *login, struct okta_group_list *l,
			      struct okta_error *err)
{
	struct ojit_buf url, enc;
	int r = -1;

	ojit_buf_init(&url, HTTP_MAX_URL);
	ojit_buf_init(&enc, 0);
	if (okta_check_login_input(login, err) != 0)
		goto out;
	if (okta_login_needs_search(login)) {
		okta_err_set(err, OKTA_ERR_REFUSED, 0, "login '%s' cannot be used in a path", login);
		goto out;
	}
	if (http_url_encode(login, &enc) != 0 ||
	    ojit_buf_printf(&url, "%s/api/v1/users/%s/groups?limit=200", c->cfg->org_url, enc.data) != 0) {
		okta_err_set(err, OKTA_ERR_INTERNAL, 0, "URL too long");
		goto out;
	}
	r = okta_paged_get(c, url.data, okta_push_group, l, err);
out:
	ojit_buf_free(&url);
	ojit_buf_free(&enc);
	return r;
}
