/* okta_driver - drive each Okta client call from the command line, for the
 * integration tests (tests/integration/test_okta_client.py).
 *
 *   okta_driver CONFIG COMMAND [ARGS]
 *   commands: token | user LOGIN | user-groups LOGIN | group NAME |
 *             group-id GID | groups [PREFIX] | members NAME | owners NAME |
 *             add NAME LOGIN | remove NAME LOGIN |
 *             rules                (one line a group id a rule assigns to) |
 *             concurrent N LOGIN   (N threads look the user up at once) |
 *             wake SLOW LOGIN      (a thread looks SLOW up; after a line on
 *                                   stdin, LOGIN is looked up meanwhile)
 * Prints results on stdout, "stats ..." on stderr, exits 1 on error. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "keyfile.h"
#include "okta_api.h"
#include "okta_http.h"
#include "util.h"

static struct okta_client *client;

static int fail(const struct okta_error *e)
{
	char msg[1024];

	okta_error_format(e, msg, sizeof(msg));
	printf("error kind=%s: %s\n", okta_err_kind_name(e->kind), msg);
	if (e->hint[0] != '\0')
		printf("hint: %s\n", e->hint);
	return 1;
}

struct thread_arg {
	const char *login;
	int ok;
};

static void *lookup_thread(void *p)
{
	struct thread_arg *a = p;
	struct okta_user u;
	struct okta_error e;

	a->ok = okta_user_get(client, a->login, &u, &e) == 0;
	return NULL;
}

static int print_rule(const struct okta_group_rule *r, const char *gid, void *ctx)
{
	(void)ctx;
	printf("%s %s %s %s\n", r->id, r->status, gid, r->name);
	return 0;
}

static int run(int argc, char **argv)
{
	const char *cmd = argv[0];
	struct okta_error e;
	struct okta_user u;
	struct okta_group g;
	size_t i;

	if (strcmp(cmd, "token") == 0) {
		char token[8200], type[16], scope[256];

		if (okta_token_get(client, token, sizeof(token), type, sizeof(type), scope, sizeof(scope), &e) != 0)
			return fail(&e);
		ojit_wipe(token, sizeof(token));
		printf("type=%s scope=%s\n", type, scope);
		return 0;
	}
	if (strcmp(cmd, "user") == 0 && argc == 2) {
		if (okta_user_get(client, argv[1], &u, &e) != 0)
			return fail(&e);
		printf("%s %s %s\n", u.id, u.login, u.status);
		return 0;
	}
	if (strcmp(cmd, "user-groups") == 0 && argc == 2) {
		struct okta_group_list l = { 0 };

		if (okta_user_get(client, argv[1], &u, &e) != 0 || okta_user_groups(client, u.id, &l, &e) != 0) {
			okta_group_list_free(&l);
			return fail(&e);
		}
		for (i = 0; i < l.n; i++)
			printf("%s %s %s\n", l.v[i].id, l.v[i].type, l.v[i].name);
		okta_group_list_free(&l);
		return 0;
	}
	if (strcmp(cmd, "group") == 0 && argc == 2) {
		if (okta_group_find(client, argv[1], &g, &e) != 0)
			return fail(&e);
		printf("%s %s %s\n", g.id, g.type, g.name);
		return 0;
	}
	if (strcmp(cmd, "group-id") == 0 && argc == 2) {
		if (okta_group_get(client, argv[1], &g, &e) != 0)
			return fail(&e);
		printf("%s %s %s\n", g.id, g.type, g.name);
		return 0;
	}
	if (strcmp(cmd, "groups") == 0 && argc <= 2) {
		struct okta_group_list l = { 0 };

		if (okta_groups_list(client, argc == 2 ? argv[1] : NULL, &l, &e) != 0) {
			okta_group_list_free(&l);
			return fail(&e);
		}
		for (i = 0; i < l.n; i++)
			printf("%s %s %s\n", l.v[i].id, l.v[i].type, l.v[i].name);
		okta_group_list_free(&l);
		return 0;
	}
	if (strcmp(cmd, "rules") == 0 && argc == 1) {
		memset(&e, 0, sizeof(e));
		if (okta_group_rules_each(client, print_rule, NULL, &e) != 0)
			return fail(&e);
		return 0;
	}
	if ((strcmp(cmd, "members") == 0 || strcmp(cmd, "owners") == 0) && argc == 2) {
		if (okta_group_find(client, argv[1], &g, &e) != 0)
			return fail(&e);
		if (cmd[0] == 'm') {
			struct okta_user_list l = { 0 };

			if (okta_group_members(client, g.id, &l, &e) != 0) {
				okta_user_list_free(&l);
				return fail(&e);
			}
			for (i = 0; i < l.n; i++)
				printf("%s %s %s\n", l.v[i].id, l.v[i].login, l.v[i].status);
			okta_user_list_free(&l);
		} else {
			struct okta_owner_list l = { 0 };

			if (okta_group_owners(client, g.id, &l, &e) != 0) {
				okta_owner_list_free(&l);
				return fail(&e);
			}
			for (i = 0; i < l.n; i++)
				printf("%s %s %s\n", l.v[i].id, l.v[i].type, l.v[i].name);
			okta_owner_list_free(&l);
		}
		return 0;
	}
	if ((strcmp(cmd, "add") == 0 || strcmp(cmd, "remove") == 0) && argc == 3) {
		int r;

		if (okta_group_find(client, argv[1], &g, &e) != 0 || okta_user_get(client, argv[2], &u, &e) != 0)
			return fail(&e);
		if (cmd[0] == 'a')
			r = okta_group_add_member(client, &g, u.id, &e);
		else
			r = okta_group_remove_member(client, &g, u.id, &e);
		if (r != 0)
			return fail(&e);
		printf("ok %s %s %s\n", cmd, g.id, u.id);
		return 0;
	}
	if (strcmp(cmd, "concurrent") == 0 && argc == 3) {
		int64_t n;
		pthread_t th[256];
		struct thread_arg args[256];
		int ok = 0;

		if (ojit_parse_int64(argv[1], 1, 256, &n) != 0)
			return 2;
		for (i = 0; i < (size_t)n; i++) {
			args[i].login = argv[2];
			args[i].ok = 0;
			pthread_create(&th[i], NULL, lookup_thread, &args[i]);
		}
		for (i = 0; i < (size_t)n; i++) {
			pthread_join(th[i], NULL);
			ok += args[i].ok;
		}
		printf("ok=%d of %d\n", ok, (int)n);
		return ok == n ? 0 : 1;
	}
	if (strcmp(cmd, "wake") == 0 && argc == 3) {
		pthread_t th;
		struct thread_arg slow = { argv[1], 0 };
		char line[16];
		int ok;

		pthread_create(&th, NULL, lookup_thread, &slow);
		if (fgets(line, sizeof(line), stdin) == NULL)
			return 2;
		ok = okta_user_get(client, argv[2], &u, &e) == 0;
		printf("%s %s\n", argv[2], ok ? "found" : "failed");
		fflush(stdout);
		pthread_join(th, NULL);
		printf("%s %s\n", argv[1], slow.ok ? "found" : "failed");
		return ok && slow.ok ? 0 : 1;
	}
	fprintf(stderr, "okta_driver: bad command\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct ojit_config *cfg = NULL;
	struct ojit_buf errs;
	struct okta_stats st;
	struct okta_key *key = NULL;
	char kerr[1024];
	int rc;

	if (argc < 3) {
		fprintf(stderr, "usage: okta_driver CONFIG COMMAND [ARGS]\n");
		return 2;
	}
	ojit_log_init("okta_driver", OJIT_LOG_STDERR, getenv("OKTA_JIT_DEBUG") != NULL);
	okta_http_global_init();
	ojit_buf_init(&errs, 0);
	if (config_load(argv[1], &cfg, &errs) != 0) {
		fprintf(stderr, "%s", errs.data);
		ojit_buf_free(&errs);
		return 3;
	}
	ojit_buf_free(&errs);
	if (okta_client_open_key(cfg, 0, &key, kerr, sizeof(kerr)) != 0) {
		fprintf(stderr, "%s\n", kerr);
		config_free(cfg);
		return 3;
	}
	client = okta_client_new(cfg, key, NULL, NULL);
	rc = run(argc - 2, argv + 2);
	okta_client_stats(client, &st);
	fprintf(stderr, "stats api_calls=%llu token_requests=%llu retries=%llu rate_limited=%llu\n",
		(unsigned long long)st.api_calls, (unsigned long long)st.token_requests,
		(unsigned long long)st.retries, (unsigned long long)st.rate_limited);
	okta_client_free(client);
	config_free(cfg);
	return rc;
}
