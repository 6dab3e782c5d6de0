/* nss_cache_dump - print an NSS cache file as JSON, read with the
 * module's own reader (nss_cache.h), for tests/integration/
 * test_nss_daemon.py: what okta-jitd wrote, exactly.
 *
 *   nss_cache_dump PATH
 *       {"written_at": N, "flags": N, "users": [{"name", "uid", "gid", "gecos",
 *        "dir", "shell"}], "groups": [{"name", "gid", "members": [{"user",
 *        "end_at"}]}]}
 * Exit 0, or 1 when the file is refused (the reason on stderr). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>

#include "nss_cache.h"

int main(int argc, char **argv)
{
	struct nss_cache c;
	cJSON *top, *users, *groups;
	char err[256], *s;
	uint32_t i, j;

	if (argc != 2) {
		fprintf(stderr, "usage: nss_cache_dump PATH\n");
		return 2;
	}
	if (nss_cache_open(argv[1], 0, &c, err, sizeof(err)) != 0) {
		fprintf(stderr, "refused: %s\n", err);
		return 1;
	}
	top = cJSON_CreateObject();
	cJSON_AddNumberToObject(top, "written_at", (double)c.written_at);
	cJSON_AddNumberToObject(top, "flags", c.flags);
	users = cJSON_AddArrayToObject(top, "users");
	groups = cJSON_AddArrayToObject(top, "groups");
	for (i = 0; i < c.nusers; i++) {
		struct nss_cache_pw pw;
		cJSON *u;

		if (nss_cache_user_at(&c, i, &pw) != 1)
			goto damaged;
		u = cJSON_CreateObject();
		cJSON_AddStringToObject(u, "name", pw.name);
		cJSON_AddNumberToObject(u, "uid", pw.uid);
		cJSON_AddNumberToObject(u, "gid", pw.gid);
		cJSON_AddStringToObject(u, "gecos", pw.gecos);
		cJSON_AddStringToObject(u, "dir", pw.dir);
		cJSON_AddStringToObject(u, "shell", pw.shell);
		cJSON_AddItemToArray(users, u);
	}
	for (i = 0; i < c.ngroups; i++) {
		struct nss_cache_gr gr;
		cJSON *g, *ms;

		if (nss_cache_group_at(&c, i, &gr) != 1)
			goto damaged;
		g = cJSON_CreateObject();
		cJSON_AddStringToObject(g, "name", gr.name);
		cJSON_AddNumberToObject(g, "gid", gr.gid);
		ms = cJSON_AddArrayToObject(g, "members");
		for (j = 0; j < gr.count; j++) {
			const char *user;
			int64_t end_at;
			cJSON *m;

			if (nss_cache_member(&c, &gr, j, &user, &end_at) != 1)
				goto damaged;
			m = cJSON_CreateObject();
			cJSON_AddStringToObject(m, "user", user);
			cJSON_AddNumberToObject(m, "end_at", (double)end_at);
			cJSON_AddItemToArray(ms, m);
		}
		cJSON_AddItemToArray(groups, g);
	}
	s = cJSON_PrintUnformatted(top);
	printf("%s\n", s != NULL ? s : "{}");
	free(s);
	cJSON_Delete(top);
	nss_cache_close(&c);
	return 0;
damaged:
	fprintf(stderr, "refused: a damaged record\n");
	cJSON_Delete(top);
	nss_cache_close(&c);
	return 1;
}
