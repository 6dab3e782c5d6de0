/* okta-jit - the command-line interface. */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_key.h"
#include "client.h"
#include "complete.h"
#include "config.h"
#include "doctor.h"
#include "keycmd.h"
#include "keyfile.h"
#include "okta_api.h"
#include "okta_http.h"
#include "okta_key.h"
#include "table.h"
#include "util.h"


static void usage(FILE *f)
{
	fprintf(f,
		"usage: okta-jit [--config PATH] [--socket PATH] [--json] COMMAND [ARGS]\n"
		"\n"
		"commands:\n"
		"  request GROUP [--for D] [--reason TEXT]   ask for time-bound access to an Okta group\n"
		"  status                       your active grants and pending requests, with time left\n"
		"  flows                        the access flows you may request: groups, durations, reason\n"
		"  list [--all] [--pending]     grants (--all: history too; --pending: requests you may approve)\n"
		"  approve ID [--reason TEXT]   approve someone else's request\n"
		"  deny ID [--reason TEXT]      deny someone else's request\n"
		"  revoke ID                    end a grant (or cancel a request) now\n"
		"  extend ID --for D [--reason TEXT]   ask for more time on an active grant\n"
		"  check GROUP...               would you pass the login gate now?\n"
		"  audit [--since T] [--user U] [--group G] [--follow]   the audit trail (root); --follow: as it is written\n"
		"  drift                        members of the flows' Okta groups without a grant or a standing place (root)\n"
		"  metrics                      okta-jitd's metrics in Prometheus' text format (root)\n"
		"  keys USER                    USER's SSH keys from Okta, one a line (sshd's AuthorizedKeysCommand)\n"
		"  doctor [--user OKTA_LOGIN]   check the Okta setup step by step and say how to fix each\n"
		"  groups [--search TEXT]       list the Okta groups the integration can manage\n"
		"  key new [--tpm] [--out PATH] [--kid KID]   make the next Okta key (root), print its public JWK\n"
		"  key show [--next]            the public JWK of the Okta key (or of the next one)\n"
		"  key rotate                   switch okta-jitd to [okta] next_private_key, with no downtime (root)\n"
		"  version                      print the version\n"
		"\n"
		"options:\n"
		"  --config PATH   configuration file (default " OJIT_DEFAULT_CONFIG ")\n"
		"  --socket PATH   okta-jitd's socket (default: from the config, else " OJIT_DEFAULT_SOCKET ")\n"
		"  --json          machine-readable output (schema 1: okta-jit(1), JSON OUTPUT)\n"
		"\n"
		"Tables never cut a name; on a terminal they fit its width (COLUMNS) and are\n"
		"coloured unless NO_COLOR is set. Exit codes: okta-jit(1), EXIT STATUS.\n");
}

static int print_version(int json)
{
	if (json)
		printf("{\n\t\"schema\":\t%d,\n\t\"ok\":\ttrue,\n\t\"version\":\t\"%s\"\n}\n", CLI_JSON_SCHEMA,
		       OJIT_VERSION);
	else
		printf("okta-jit %s\n", OJIT_VERSION);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
}

static int cmd_groups(const char *config_path, int json, int argc, char **argv)
{
	static const struct option opts[] = { { "search", required_argument, NULL, 's' },
					      { "help", no_argument, NULL, 'h' },
					      { NULL, 0, NULL, 0 } };
	const char *search = NULL;
	struct ojit_config *cfg = NULL;
	struct okta_client *c = NULL;
	struct okta_group_list l = { 0 };
	struct ojit_buf errs;
	struct okta_error e;
	struct okta_key *key = NULL;
	char kerr[1024], msg[1024];
	int opt, rc = EXIT_FAIL, sealed;
	size_t i;

	optind = 0; /* 0: glibc re-initialises, so permuting works after main's "+" scan */
	while ((opt = getopt_long(argc, argv, "s:h", opts, NULL)) != -1) {
		if (opt == 's')
			search = optarg;
		else {
			fprintf(stderr, "usage: okta-jit groups [--search TEXT]\n");
			return opt == 'h' ? EXIT_OK : EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "okta-jit groups: unexpected argument '%s'\n", argv[optind]);
		return EXIT_USAGE;
	}
	ojit_buf_init(&errs, 64 * 1024);
	if (config_load(config_path, &cfg, &errs) != 0) {
		fprintf(stderr, "%s", errs.data ? errs.data : "invalid configuration\n");
		rc = EXIT_CONFIG;
		goto out;
	}
	if (cfg->role_gate) {
		fprintf(stderr, "okta-jit: this host is a gate (role = gate) and holds no Okta credential; "
				"list groups on a granter\n");
		rc = EXIT_CONFIG;
		goto out;
	}
	if (cli_key_open(cfg, 0, &key, &sealed, kerr, sizeof(kerr)) != 0) {
		fprintf(stderr, "okta-jit: %s\n", kerr);
		rc = EXIT_CONFIG;
		goto out;
	}
	c = okta_client_new(cfg, key, NULL, NULL);
	if (c == NULL) {
		rc = EXIT_FAIL;
		goto out;
	}
	if (okta_groups_list(c, search, &l, &e) != 0) {
		okta_error_format(&e, msg, sizeof(msg));
		fprintf(stderr, "okta-jit: cannot list groups: %s\n", msg);
		if (e.hint[0] != '\0')
			fprintf(stderr, "fix: %s\n", e.hint);
		rc = EXIT_OKTA;
		goto out;
	}
	if (json) {
		cJSON *doc = cJSON_CreateObject();
		cJSON *arr = cJSON_CreateArray();
		char *s;

		for (i = 0; i < l.n; i++) {
			const struct flow_config *f;
			cJSON *o;

			if (strcmp(l.v[i].type, "OKTA_GROUP") != 0)
				continue;
			f = config_flow_for_group(cfg, l.v[i].name);
			o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "id", l.v[i].id);
			cJSON_AddStringToObject(o, "name", l.v[i].name);
			cJSON_AddStringToObject(o, "type", l.v[i].type);
			if (f != NULL)
				cJSON_AddStringToObject(o, "flow", f->name);
			else
				cJSON_AddNullToObject(o, "flow");
			cJSON_AddItemToArray(arr, o);
		}
		/* an object like every other command's (schema 1; before it,
		 * this one printed the bare array) */
		cJSON_AddNumberToObject(doc, "schema", CLI_JSON_SCHEMA);
		cJSON_AddBoolToObject(doc, "ok", 1);
		cJSON_AddItemToObject(doc, "groups", arr);
		s = cJSON_Print(doc);
		rc = s != NULL && printf("%s\n", s) >= 0 ? EXIT_OK : EXIT_FAIL;
		free(s);
		cJSON_Delete(doc);
	} else {
		static const char *const h[] = { "ID", "NAME", "FLOW" };
		struct table *t = table_new(3, h, NULL);
		struct table_out mode;

		table_out_detect(STDOUT_FILENO, &mode);
		rc = t != NULL ? EXIT_OK : EXIT_FAIL;
		for (i = 0; rc == EXIT_OK && i < l.n; i++) {
			const struct flow_config *f;
			const char *cells[3];

			if (strcmp(l.v[i].type, "OKTA_GROUP") != 0)
				continue;
			f = config_flow_for_group(cfg, l.v[i].name);
			cells[0] = l.v[i].id;
			cells[1] = l.v[i].name;
			cells[2] = f ? f->name : "-";
			if (table_add(t, cells) != 0)
				rc = EXIT_FAIL;
		}
		if (rc == EXIT_OK && table_print(t, stdout, &mode) != 0)
			rc = EXIT_FAIL;
		if (rc == EXIT_OK)
			printf("%zu group(s) okta-jit can manage\n", table_rows(t));
		table_free(t);
	}
out:
	okta_group_list_free(&l);
	okta_client_free(c);
	config_free(cfg);
	ojit_buf_free(&errs);
	return rc;
}

static int cmd_doctor(const char *config_path, int json, int argc, char **argv)
{
	static const struct option opts[] = { { "user", required_argument, NULL, 'u' },
					      { "config", required_argument, NULL, 'c' },
					      { "help", no_argument, NULL, 'h' },
					      { NULL, 0, NULL, 0 } };
	const char *user = NULL;
	int opt;

	optind = 0; /* 0: glibc re-initialises, so permuting works after main's "+" scan */
	while ((opt = getopt_long(argc, argv, "u:c:h", opts, NULL)) != -1) {
		if (opt == 'u')
			user = optarg;
		else if (opt == 'c')
			config_path = optarg;
		else {
			fprintf(stderr, "usage: okta-jit doctor [--config PATH] [--user OKTA_LOGIN]\n");
			return opt == 'h' ? EXIT_OK : EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "okta-jit doctor: unexpected argument '%s'\n", argv[optind]);
		return EXIT_USAGE;
	}
	return doctor_run(config_path, user, json);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = { { "config", required_argument, NULL, 'c' },
					      { "json", no_argument, NULL, 'j' },
					      { "socket", required_argument, NULL, 'S' },
					      { "help", no_argument, NULL, 'h' },
					      { "version", no_argument, NULL, 'V' },
					      { NULL, 0, NULL, 0 } };
	const char *config_path = OJIT_DEFAULT_CONFIG;
	const char *socket_path = NULL;
	const char *cmd;
	int json = 0, opt, rc, config_given = 0;

	ojit_log_init("okta-jit", OJIT_LOG_STDERR, getenv("OKTA_JIT_DEBUG") != NULL);
	while ((opt = getopt_long(argc, argv, "+c:jhVS:", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config_path = optarg;
			config_given = 1;
			break;
		case 'S':
			socket_path = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			return print_version(json);
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	cmd = argv[optind];
	argc -= optind;
	argv += optind;
	if (strcmp(cmd, "version") == 0)
		return print_version(json);
	if (strcmp(cmd, "__complete") == 0)
		return complete_run(config_path, socket_path, argc, argv);
	if (strcmp(cmd, "doctor") != 0 && strcmp(cmd, "groups") != 0 && strcmp(cmd, "key") != 0) {
		struct ojit_config *cfg = NULL;
		struct ojit_buf errs;
		char sock[256];

		/* The socket path: --socket, else the config's (when it was
		 * named and is readable), else the default. */
		ojit_strlcpy(sock, socket_path ? socket_path : OJIT_DEFAULT_SOCKET, sizeof(sock));
		if (socket_path == NULL && config_given) {
			ojit_buf_init(&errs, 0);
			if (config_load(config_path, &cfg, &errs) != 0) {
				fprintf(stderr, "%s", errs.data ? errs.data : "invalid configuration\n");
				ojit_buf_free(&errs);
				return EXIT_CONFIG;
			}
			ojit_strlcpy(sock, cfg->socket, sizeof(sock));
			config_free(cfg);
			ojit_buf_free(&errs);
		}
		rc = client_command(sock, json, cmd, argc, argv);
		if (rc >= 0)
			return rc;
		fprintf(stderr, "okta-jit: unknown command '%s'\n", cmd);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (okta_http_global_init() != 0) {
		fprintf(stderr, "okta-jit: cannot initialise libcurl\n");
		return EXIT_FAIL;
	}
	if (strcmp(cmd, "doctor") == 0)
		rc = cmd_doctor(config_path, json, argc, argv);
	else if (strcmp(cmd, "groups") == 0)
		rc = cmd_groups(config_path, json, argc, argv);
	else if (strcmp(cmd, "key") == 0)
		rc = keycmd_run(config_path, socket_path, json, argc, argv);
	else {
		fprintf(stderr, "okta-jit: unknown command '%s'\n", cmd);
		usage(stderr);
		rc = EXIT_USAGE;
	}
	return rc;
}
