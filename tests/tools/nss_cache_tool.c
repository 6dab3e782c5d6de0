/* nss_cache_tool - write NSS cache files with the real writer
 * (nss_cache_write), for tests/integration/test_nss_module.py and the
 * benchmark.
 *
 *   nss_cache_tool write PATH < SPEC.json
 *       SPEC: {"users": [{"name", "uid", "gid", "gecos", "dir", "shell"}],
 *              "groups": [{"name", "gid", "members": [{"user", "end_at"}]}],
 *              "enumerate": false, "written_at": 0}
 *   nss_cache_tool gen PATH N
 *       N users u0000001.. (uid = gid = 200001..), each with a private group.
 *   nss_cache_tool check PATH
 *       opens PATH as the module does (root-owned); prints "ok" or the reason.
 * Exit 0 ok, 1 refused, 2 usage. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nss_cache.h"

static const char *str_of(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double num_of(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static int cmd_write(const char *path)
{
	static char in[1 << 22];
	size_t n = fread(in, 1, sizeof(in) - 1, stdin);
	cJSON *spec, *arr, *it, *m;
	struct nss_cache_user *users = NULL;
	struct nss_cache_group *groups = NULL;
	struct nss_cache_member *members = NULL;
	size_t nu = 0, ng = 0, nm = 0, total = 0;
	char err[512];
	int rc = 1;

	in[n] = '\0';
	spec = cJSON_Parse(in);
	if (spec == NULL) {
		fprintf(stderr, "bad JSON\n");
		return 2;
	}
	arr = cJSON_GetObjectItemCaseSensitive(spec, "groups");
	cJSON_ArrayForEach(it, arr) total += (size_t)cJSON_GetArraySize(
		cJSON_GetObjectItemCaseSensitive(it, "members"));
	users = calloc((size_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(spec, "users")) + 1,
		       sizeof(*users));
	groups = calloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(*groups));
	members = calloc(total + 1, sizeof(*members));
	if (users == NULL || groups == NULL || members == NULL)
		goto out;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(spec, "users"))
	{
		users[nu].name = str_of(it, "name");
		users[nu].uid = (uint32_t)num_of(it, "uid");
		users[nu].gid = (uint32_t)num_of(it, "gid");
		users[nu].gecos = str_of(it, "gecos");
		users[nu].dir = str_of(it, "dir");
		users[nu].shell = str_of(it, "shell");
		nu++;
	}
	cJSON_ArrayForEach(it, arr)
	{
		groups[ng].name = str_of(it, "name");
		groups[ng].gid = (uint32_t)num_of(it, "gid");
		groups[ng].members = members + nm;
		cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(it, "members"))
		{
			members[nm].user = str_of(m, "user");
			members[nm].end_at = (int64_t)num_of(m, "end_at");
			nm++;
			groups[ng].nmembers++;
		}
		ng++;
	}
	if (nss_cache_write_flags(path, users, nu, groups, ng, (int64_t)num_of(spec, "written_at"),
				  cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(spec, "enumerate")) ? NSS_CACHE_ENUMERATE
												     : 0,
				  err, sizeof(err)) != 0) {
		fprintf(stderr, "refused: %s\n", err);
		goto out;
	}
	printf("ok\n");
	rc = 0;
out:
	free(members);
	free(groups);
	free(users);
	cJSON_Delete(spec);
	return rc;
}

static int cmd_gen(const char *path, const char *count)
{
	char *end, err[512];
	unsigned long n = strtoul(count, &end, 10), i;
	struct nss_cache_user *users;
	struct nss_cache_group *groups;
	char *names;
	int rc = 1;

	if (*end != '\0' || n == 0 || n > 10000000) {
		fprintf(stderr, "bad count\n");
		return 2;
	}
	users = calloc(n, sizeof(*users));
	groups = calloc(n, sizeof(*groups));
	names = calloc(n, 16);
	if (users == NULL || groups == NULL || names == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		snprintf(names + i * 16, 16, "u%07lu", i + 1);
		users[i] = (struct nss_cache_user){names + i * 16, (uint32_t)(200000 + i + 1),
						   (uint32_t)(200000 + i + 1), "Okta User", "/home/okta", "/bin/bash"};
		groups[i] = (struct nss_cache_group){names + i * 16, (uint32_t)(200000 + i + 1), NULL, 0};
	}
	if (nss_cache_write(path, users, n, groups, n, 0, err, sizeof(err)) != 0) {
		fprintf(stderr, "refused: %s\n", err);
		goto out;
	}
	printf("ok\n");
	rc = 0;
out:
	free(names);
	free(groups);
	free(users);
	return rc;
}

static int cmd_check(const char *path)
{
	struct nss_cache c;
	char err[256];

	if (nss_cache_open(path, 0, &c, err, sizeof(err)) != 0) {
		printf("refused: %s\n", err);
		return 1;
	}
	printf("ok users=%u groups=%u members=%u\n", c.nusers, c.ngroups, c.nmembers);
	nss_cache_close(&c);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "write") == 0)
		return cmd_write(argv[2]);
	if (argc == 4 && strcmp(argv[1], "gen") == 0)
		return cmd_gen(argv[2], argv[3]);
	if (argc == 3 && strcmp(argv[1], "check") == 0)
		return cmd_check(argv[2]);
	fprintf(stderr, "usage: nss_cache_tool write PATH < SPEC | gen PATH N | check PATH\n");
	return 2;
}
