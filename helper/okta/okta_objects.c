/* okta_objects.c - what okta-jit accepts of Okta's user, group and owner
 * objects (every field checked before use), the lists they are
 * collected in, and the checks on logins and ids before they go into a
 * URL. Split out of okta_api.c (issue 16). */
#include "okta_objects.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
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

/* Text for a passwd field: control characters dropped, ':' (the field
 * separator) made a space, at most n - 1 bytes, never cutting a UTF-8
 * sequence. */
static void gecos_copy(char *dst, size_t n, const char *src)
{
	size_t len = 0;
	const unsigned char *p;

	for (p = (const unsigned char *)src; *p != '\0'; p++) {
		size_t seq = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3 : 4;

		if (*p < 0x20 || *p == 0x7f)
			continue;
		if (*p >= 0x80 && *p < 0xc0)
			continue; /* a stray continuation byte */
		if (len + seq >= n)
			break;
		for (size_t k = 0; k < seq; k++) {
			if (k > 0 && (p[k] & 0xc0) != 0x80) {
				seq = k; /* a truncated sequence: drop it */
				len -= k;
				break;
			}
			dst[len++] = (char)(p[k] == ':' ? ' ' : p[k]);
		}
		p += seq - 1;
	}
	dst[len] = '\0';
}

static void profile_uid(const cJSON *v, char *dst, size_t n)
{
	char *end = NULL;
	long long x;

	dst[0] = '\0';
	if (v == NULL || cJSON_IsNull(v))
		return;
	if (cJSON_IsNumber(v)) {
		double d = cJSON_GetNumberValue(v);

		/* (range first: a cast of a double beyond long long is undefined) */
		if (!(d >= -4294967296.0 && d <= 4294967296.0) || d != (double)(long long)d)
			snprintf(dst, n, "!not an integer");
		else
			snprintf(dst, n, "%lld", (long long)d);
		return;
	}
	if (!cJSON_IsString(v) || v->valuestring == NULL) {
		snprintf(dst, n, "!not a number or a string of digits");
		return;
	}
	errno = 0;
	x = strtoll(v->valuestring, &end, 10);
	if (errno != 0 || end == v->valuestring || *end != '\0' || strlen(v->valuestring) > 12 ||
	    !(isdigit((unsigned char)v->valuestring[0]) || v->valuestring[0] == '-'))
		snprintf(dst, n, "!not an integer");
	else
		snprintf(dst, n, "%lld", x);
}

/* One key entry, or several in a string that holds one a line. */
static int profile_key_add(struct okta_profile *p, const char *s, size_t *total)
{
	while (*s != '\0') {
		const char *nl = strchr(s, '\n');
		size_t len = nl != NULL ? (size_t)(nl - s) : strlen(s);
		size_t t = len;

		while (t > 0 && (s[t - 1] == '\r' || s[t - 1] == ' ' || s[t - 1] == '\t'))
			t--;
		if (t > 0) {
			if (p->nkeys == OKTA_PROFILE_KEYS_MAX) {
				snprintf(p->keys_err, sizeof(p->keys_err), "!more than %d entries", OKTA_PROFILE_KEYS_MAX);
				return -1;
			}
			if (t > OKTA_PROFILE_KEY_LEN) {
				snprintf(p->keys_err, sizeof(p->keys_err), "!an entry is longer than %d bytes",
					 OKTA_PROFILE_KEY_LEN);
				return -1;
			}
			*total += t;
			if (*total > OKTA_PROFILE_KEYS_LEN) {
				snprintf(p->keys_err, sizeof(p->keys_err), "!longer than %d bytes in all", OKTA_PROFILE_KEYS_LEN);
				return -1;
			}
			p->keys[p->nkeys] = s;
			p->key_len[p->nkeys++] = t;
		}
		s += len + (nl != NULL);
	}
	return 0;
}

static void profile_keys(const cJSON *v, struct okta_profile *p)
{
	size_t total = 0;
	const cJSON *e;

	if (v == NULL || cJSON_IsNull(v))
		return;
	if (cJSON_IsString(v) && v->valuestring != NULL) {
		if (profile_key_add(p, v->valuestring, &total) != 0)
			p->nkeys = 0;
		return;
	}
	if (!cJSON_IsArray(v)) {
		snprintf(p->keys_err, sizeof(p->keys_err), "!not text nor a list of text");
		return;
	}
	/* (counted before anything is kept: a list of 10,000 is refused
	 * whole, not cut to its first 64) */
	if (cJSON_GetArraySize(v) > OKTA_PROFILE_KEYS_MAX) {
		snprintf(p->keys_err, sizeof(p->keys_err), "!%d entries (at most %d)", cJSON_GetArraySize(v),
			 OKTA_PROFILE_KEYS_MAX);
		return;
	}
	cJSON_ArrayForEach(e, v) {
		if (!cJSON_IsString(e) || e->valuestring == NULL) {
			snprintf(p->keys_err, sizeof(p->keys_err), "!an entry is not text");
			p->nkeys = 0;
			return;
		}
		if (profile_key_add(p, e->valuestring, &total) != 0) {
			p->nkeys = 0;
			return;
		}
	}
}

void okta_parse_profile(const cJSON *user, const struct okta_profile_attrs *a, struct okta_profile *p)
{
	const cJSON *profile = cJSON_GetObjectItemCaseSensitive(user, "profile");
	const cJSON *v;

	memset(p, 0, sizeof(*p));
	if (!cJSON_IsObject(profile))
		return;
	if (a->uid != NULL)
		profile_uid(cJSON_GetObjectItemCaseSensitive(profile, a->uid), p->uid, sizeof(p->uid));
	v = cJSON_GetObjectItemCaseSensitive(profile, a->gecos != NULL ? a->gecos : "displayName");
	if (cJSON_IsString(v) && v->valuestring != NULL && v->valuestring[0] != '\0') {
		gecos_copy(p->gecos, sizeof(p->gecos), v->valuestring);
	} else if (a->gecos == NULL) {
		const cJSON *fn = cJSON_GetObjectItemCaseSensitive(profile, "firstName");
		const cJSON *ln = cJSON_GetObjectItemCaseSensitive(profile, "lastName");
		char both[2 * OKTA_PROFILE_GECOS_LEN + 2];

		snprintf(both, sizeof(both), "%.255s%s%.255s", cJSON_IsString(fn) ? fn->valuestring : "",
			 cJSON_IsString(fn) && cJSON_IsString(ln) ? " " : "", cJSON_IsString(ln) ? ln->valuestring : "");
		gecos_copy(p->gecos, sizeof(p->gecos), both);
	}
	if (a->keys != NULL)
		profile_keys(cJSON_GetObjectItemCaseSensitive(profile, a->keys), p);
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

int okta_parse_profile_json(const char *buf, size_t len, const struct okta_profile_attrs *a, struct okta_profile *p,
			    char *keybuf, size_t keybuflen)
{
	cJSON *j = okta_json_parse(buf, len);
	size_t used = 0, i;
	int r = -1;

	memset(p, 0, sizeof(*p));
	if (j == NULL)
		return -1;
	okta_parse_profile(j, a, p);
	for (i = 0; i < p->nkeys; i++) {
		if (used + p->key_len[i] + 1 > keybuflen)
			goto out;
		memcpy(keybuf + used, p->keys[i], p->key_len[i]);
		keybuf[used + p->key_len[i]] = '\0';
		p->keys[i] = keybuf + used;
		used += p->key_len[i] + 1;
	}
	r = 0;
out:
	if (r != 0)
		p->nkeys = 0;
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
