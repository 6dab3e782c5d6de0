/* okta_objects.c - what okta-jit accepts of Okta's user, group and owner
 * objects (every field checked before use), the lists they are
 * collected in, and the checks on logins and ids before they go into a
 * URL. Split out of okta_api.c (issue 16). */
#include "okta_objects.h"

#include <stdlib.h>
#include <string.h>

#include "okta_errors.h"

int okta_parse_user(const cJSON *o, struct okta_user *u, struct okta_error *err)
{
	const cJSON *profile = cJSON_GetObjectItemCaseSensitive(o, "profile");

	memset(u, 0, sizeof(*u));
	if (!cJSON_IsObject(o) || okta_json_str(o, "id", u->id, sizeof(u->id)) != 0 || !okta_valid_id(u->id) ||
	    okta_json_str(o, "status", u->status, sizeof(u->status)) != 0 ||
	    !okta_valid_user_status(u->status) || !cJSON_IsObject(profile) ||
	    okta_json_str(profile, "login", u->login, sizeof(u->login)) != 0 || u->login[0] == '\0') {
		okta_err_set(err, OKTA_ERR_BAD_RESPONSE, 200,
			"Okta sent a user object without a valid id, status or profile.login");
		return -1;
	}
	return 0;
}

int okta_parse_group(const cJSON *o, struct okta_group *g, struct okta_error *err)
{
	const cJSON *profile = cJSON_GetObjectItemCaseSensitive(o, "profile");

	memset(g, 0, sizeof(*g));
	if (!cJSON_IsObject(o) || okta_json_str(o, "id", g->id, sizeof(g->id)) != 0 || !okta_valid_id(g->id) ||
	    okta_json_str(o, "type", g->type, sizeof(g->type)) != 0 || !cJSON_IsObject(profile) ||
	    okta_json_str(profile, "name", g->name, sizeof(g->name)) != 0 || g->name[0] == '\0') {
		okta_err_set(err, OKTA_ERR_BAD_RESPONSE, 200,
			"Okta sent a group object without a valid id, type or profile.name");
		return -1;
	}
	return 0;
}

int okta_parse_owner(const cJSON *o, struct okta_owner *w, struct okta_error *err)
{
	memset(w, 0, sizeof(*w));
	if (!cJSON_IsObject(o) || okta_json_str(o, "id", w->id, sizeof(w->id)) != 0 || !okta_valid_id(w->id) ||
	    okta_json_str(o, "type", w->type, sizeof(w->type)) != 0 ||
	    (strcmp(w->type, "USER") != 0 && strcmp(w->type, "GROUP") != 0)) {
		okta_err_set(err, OKTA_ERR_BAD_RESPONSE, 200, "Okta sent a group owner without a valid id or type");
		return -1;
	}
	okta_json_str(o, "displayName", w->name, sizeof(w->name));
	return 0;
}

/* The object parsers on raw JSON text, for the fuzzers (fuzz/). */
int okta_parse_user_json(const char *buf, size_t len, struct okta_user *u, struct okta_error *err)
{
	cJSON *j = okta_json_parse(buf, len);
	int r = okta_parse_user(j, u, err);

	cJSON_Delete(j);
	return r;
}

int okta_parse_group_json(const char *buf, size_t len, struct okta_group *g, struct okta_error *err)
{
	cJSON *j = okta_json_parse(buf, len);
	int r = okta_parse_group(j, g, err);

	cJSON_Delete(j);
	return r;
}

int okta_parse_owner_json(const char *buf, size_t len, struct okta_owner *w, struct okta_error *err)
{
	cJSON *j = okta_json_parse(buf, len);
	int r = okta_parse_owner(j, w, err);

	cJSON_Delete(j);
	return r;
}

#define LIST_PUSH(l, item)                                                             \
	do {                                                                           \
		if ((l)->n == (l)->cap) {                                              \
			size_t ncap = (l)->cap ? (l)->cap * 2 : 16;                    \
			void *nv = realloc((l)->v, ncap * sizeof(*(l)->v));            \
			if (nv == NULL) {                                              \
				okta_err_set(err, OKTA_ERR_INTERNAL, 0, "out of memory");   \
				return -1;                                             \
			}                                                              \
			(l)->v = nv;                                                   \
			(l)->cap = ncap;                                               \
		}                                                                      \
		(l)->v[(l)->n++] = (item);                                             \
	} while (0)

int okta_push_user(const cJSON *o, void *ctx, struct okta_error *err)
{
	struct okta_user_list *l = ctx;
	struct okta_user u;

	if (okta_parse_user(o, &u, err) != 0)
		return -1;
	LIST_PUSH(l, u);
	return 0;
}

int okta_push_group(const cJSON *o, void *ctx, struct okta_error *err)
{
	struct okta_group_list *l = ctx;
	struct okta_group g;

	if (okta_parse_group(o, &g, err) != 0)
		return -1;
	LIST_PUSH(l, g);
	return 0;
}

int okta_push_owner(const cJSON *o, void *ctx, struct okta_error *err)
{
	struct okta_owner_list *l = ctx;
	struct okta_owner w;

	if (okta_parse_owner(o, &w, err) != 0)
		return -1;
	LIST_PUSH(l, w);
	return 0;
}

void okta_user_list_free(struct okta_user_list *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}

void okta_group_list_free(struct okta_group_list *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}

void okta_owner_list_free(struct okta_owner_list *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}

int okta_check_login_input(const char *login, struct okta_error *err)
{
	const unsigned char *p;

	if (login == NULL || login[0] == '\0' || strlen(login) > OKTA_LOGIN_MAX) {
		okta_err_set(err, OKTA_ERR_REFUSED, 0, "login is empty or longer than %d bytes", OKTA_LOGIN_MAX);
		return -1;
	}
	for (p = (const unsigned char *)login; *p; p++)
		if (*p < 0x20 || *p == 0x7f) {
			okta_err_set(err, OKTA_ERR_REFUSED, 0, "login contains control characters");
			return -1;
		}
	return 0;
}

int okta_login_needs_search(const char *login)
{
	return strpbrk(login, "/\\?[];#%") != NULL;
}

int okta_check_id_input(const char *id, const char *what, struct okta_error *err)
{
	if (id == NULL || !okta_valid_id(id)) {
		okta_err_set(err, OKTA_ERR_REFUSED, 0, "invalid Okta %s id", what);
		return -1;
	}
	return 0;
}
