/* okta_objects.h - Okta's users, groups and owners as okta-jit reads
 * them, and the checks on what is sent to Okta; private to helper/okta/
 * (okta_users.c, okta_groups.c). */
#ifndef OJIT_OKTA_OBJECTS_H
#define OJIT_OKTA_OBJECTS_H

#include <cjson/cJSON.h>

#include "okta_api.h"

int okta_parse_user(const cJSON *o, struct okta_user *u, struct okta_error *err);
int okta_parse_group(const cJSON *o, struct okta_group *g, struct okta_error *err);
int okta_parse_owner(const cJSON *o, struct okta_owner *w, struct okta_error *err);
/* The [nss] profile attributes of user object o (issue 18); p's keys
 * point into o. */
void okta_parse_profile(const cJSON *o, const struct okta_profile_attrs *a, struct okta_profile *p);
/* okta_item_fn (okta_call.h): append the parsed item to the list ctx. */
int okta_push_user(const cJSON *o, void *ctx, struct okta_error *err);
int okta_push_group(const cJSON *o, void *ctx, struct okta_error *err);
int okta_push_owner(const cJSON *o, void *ctx, struct okta_error *err);
/* 0 when login may be sent to Okta, else -1 with err (refused). */
int okta_check_login_input(const char *login, struct okta_error *err);
/* Characters that Okta's path routing mishandles even when encoded. */
int okta_login_needs_search(const char *login);
/* 0 when id is a valid Okta id, else -1 with err naming what. */
int okta_check_id_input(const char *id, const char *what, struct okta_error *err);

#endif
