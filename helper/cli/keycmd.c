/* keycmd.c - `okta-jit key new|show|rotate` (issue 21): make a key (a
 * file or a TPM key), show the public JWK to put on the Okta app, and
 * switch okta-jitd to the next key without stopping logins or grants. */
#include "keycmd.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli_key.h"
#include "client.h"
#include "config.h"
#include "jwt.h"
#include "okta_api.h"
#include "okta_key.h"
#include "proto.h"
#include "util.h"

static int key_usage(void)
{
	fprintf(stderr,
		"usage: okta-jit key new [--tpm] [--out PATH] [--kid KID]   make the next key, print its public JWK\n"
		"       okta-jit key show [--next]                          the public JWK of the key (or the next key)\n"
		"       okta-jit key rotate                                 switch to [okta] next_private_key\n");
	return EXIT_USAGE;
}

/* The public JWK Okta's app takes (PUBLIC KEYS, "Add key"). */
static cJSON *public_jwk(EVP_PKEY *pub, const char *kid)
{
	cJSON *jwk = jwt_public_jwk(pub);

	if (jwk == NULL)
		return NULL;
	if (cJSON_AddStringToObject(jwk, "kid", kid) == NULL ||
	    cJSON_AddStringToObject(jwk, "alg", jwt_alg_for_key(pub)) == NULL ||
	    cJSON_AddStringToObject(jwk, "use", "sig") == NULL) {
		cJSON_Delete(jwk);
		return NULL;
	}
	return jwk;
}

static int print_jwk(EVP_PKEY *pub, const char *kid, const char *spec, int json, int is_new)
{
	cJSON *jwk = public_jwk(pub, kid);
	char *s = NULL;
	int rc = EXIT_FAIL;

	if (jwk == NULL)
		goto out;
	if (json) {
		cJSON *top = cJSON_CreateObject();

		cJSON_AddNumberToObject(top, "schema", CLI_JSON_SCHEMA);
		cJSON_AddBoolToObject(top, "ok", 1);
		cJSON_AddStringToObject(top, "kid", kid);
		cJSON_AddStringToObject(top, "private_key", spec);
		cJSON_AddItemToObject(top, "jwk", jwk);
		jwk = NULL;
		s = cJSON_Print(top);
		cJSON_Delete(top);
		if (s == NULL)
			goto out;
		printf("%s\n", s);
	} else {
		s = cJSON_Print(jwk);
		if (s == NULL)
			goto out;
		printf("%s\n", s);
		if (is_new)
			printf("\n1. Add this public key to the Okta app (Applications > the API Services app > General > "
			       "PUBLIC KEYS > Add key > paste the JSON), keeping the current key.\n"
			       "2. Add to [okta] in the configuration:\n"
			       "     next_private_key = %s\n"
			       "     next_key_id = %s\n"
			       "3. Restart okta-jitd, run okta-jit doctor (it checks Okta takes the next key), then\n"
			       "   okta-jit key rotate.\n",
			       spec, kid);
	}
	rc = fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
out:
	free(s);
	cJSON_Delete(jwk);
	return rc;
}

static int load_config(const char *config_path, struct ojit_config **cfg)
{
	struct ojit_buf errs;
	int rc = EXIT_OK;

	ojit_buf_init(&errs, 64 * 1024);
	if (config_load(config_path, cfg, &errs) != 0) {
		fprintf(stderr, "%s", errs.data ? errs.data : "invalid configuration\n");
		rc = EXIT_CONFIG;
	} else if ((*cfg)->role_gate) {
		fprintf(stderr, "okta-jit key: this host is a gate (role = gate) and holds no Okta key\n");
		rc = EXIT_CONFIG;
	}
	ojit_buf_free(&errs);
	return rc;
}

static int key_new(const char *config_path, int json, int argc, char **argv)
{
	static const struct option opts[] = { { "tpm", no_argument, NULL, 't' },
					      { "out", required_argument, NULL, 'o' },
					      { "kid", required_argument, NULL, 'k' },
					      { "help", no_argument, NULL, 'h' },
					      { NULL, 0, NULL, 0 } };
	struct ojit_config *cfg = NULL;
	const char *out = NULL, *kid = NULL;
	char path[1024], thumb[64], err[1024], day[16];
	EVP_PKEY *pub = NULL;
	int tpm = 0, opt, rc;
	time_t now = time(NULL);
	struct tm tm;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "to:k:h", opts, NULL)) != -1) {
		if (opt == 't')
			tpm = 1;
		else if (opt == 'o')
			out = optarg;
		else if (opt == 'k')
			kid = optarg;
		else
			return opt == 'h' ? (key_usage(), EXIT_OK) : key_usage();
	}
	if (optind != argc)
		return key_usage();
	if (kid != NULL && (kid[0] == '\0' || strlen(kid) > OKTA_KID_MAX ||
			    strspn(kid, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") != strlen(kid))) {
		fprintf(stderr, "okta-jit key new: --kid: 1-%d of A-Z a-z 0-9 - _ .\n", OKTA_KID_MAX);
		return EXIT_USAGE;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "okta-jit key new: run as root (the key is root's)\n");
		return EXIT_DENIED;
	}
	/* The config gives the TPM to use; without one, the defaults. */
	if (access(config_path, F_OK) == 0 && (rc = load_config(config_path, &cfg)) != EXIT_OK)
		return rc;
	if (out == NULL) {
		if (gmtime_r(&now, &tm) == NULL || strftime(day, sizeof(day), "%Y%m%d", &tm) == 0)
			ojit_strlcpy(day, "new", sizeof(day));
		snprintf(path, sizeof(path), "/etc/okta-jit/keys/okta-%s.%s", day, tpm ? "tss2" : "pem");
		out = path;
	}
	if (okta_key_generate(out, tpm, cfg != NULL ? cfg->tpm2_tcti : NULL, &pub, err, sizeof(err)) != 0) {
		fprintf(stderr, "okta-jit key new: %s\n", err);
		rc = EXIT_FAIL;
		goto out;
	}
	/* The default kid: the key's RFC 7638 thumbprint, unique to it. */
	if (kid == NULL) {
		if (jwt_jwk_thumbprint(pub, thumb, sizeof(thumb)) != 0) {
			fprintf(stderr, "okta-jit key new: cannot compute the key's thumbprint\n");
			rc = EXIT_FAIL;
			goto out;
		}
		kid = thumb;
	}
	rc = print_jwk(pub, kid, out, json, 1);
out:
	EVP_PKEY_free(pub);
	config_free(cfg);
	return rc;
}

static int key_show(const char *config_path, int json, int argc, char **argv)
{
	static const struct option opts[] = { { "next", no_argument, NULL, 'n' },
					      { "help", no_argument, NULL, 'h' },
					      { NULL, 0, NULL, 0 } };
	struct ojit_config *cfg = NULL;
	struct okta_key *k = NULL;
	char err[1024], thumb[64] = "";
	const char *kid;
	int next = 0, opt, rc, sealed;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "nh", opts, NULL)) != -1) {
		if (opt == 'n')
			next = 1;
		else
			return opt == 'h' ? (key_usage(), EXIT_OK) : key_usage();
	}
	if (optind != argc)
		return key_usage();
	if ((rc = load_config(config_path, &cfg)) != EXIT_OK)
		return rc;
	if (cli_key_open(cfg, next, &k, &sealed, err, sizeof(err)) != 0) {
		fprintf(stderr, "okta-jit key show: %s\n", err);
		rc = EXIT_CONFIG;
		goto out;
	}
	kid = next ? cfg->next_key_id : cfg->key_id;
	if (kid == NULL) {
		jwt_jwk_thumbprint(okta_key_public(k), thumb, sizeof(thumb));
		kid = thumb;
	}
	rc = print_jwk(okta_key_public(k), kid, okta_key_spec(k), json, 0);
out:
	okta_key_free(k);
	config_free(cfg);
	return rc;
}

/* Ask okta-jitd to switch. 1: it did (kids filled), 0: it is not
 * running, -1: it refused (message printed). */
static int daemon_rotate(const char *socket_path, char *old_kid, char *new_kid, size_t n)
{
	struct proto_out o;
	struct proto_msg m;
	char err[256];
	int fd, r;

	proto_out_init(&o, PROTO_KEY_ROTATE);
	if (proto_out_finish(&o, PROTO_MAX_REQUEST) != 0) {
		proto_out_free(&o);
		return -1;
	}
	fd = proto_connect(socket_path, 0, 5000, err, sizeof(err));
	if (fd < 0) {
		proto_out_free(&o);
		return 0;
	}
	/* a token request with retries: Okta's time, not ours */
	r = proto_call(fd, &o, &m, PROTO_MAX_PAYLOAD, 120000);
	proto_out_free(&o);
	close(fd);
	if (r != 0) {
		fprintf(stderr, "okta-jit key rotate: no answer from okta-jitd: %s\n", proto_strerror(r));
		return -1;
	}
	if (m.type == PROTO_ERROR) {
		char msg[1500];

		ojit_strlcpy(msg, proto_get(&m, T_MESSAGE) ? proto_get(&m, T_MESSAGE) : "refused", sizeof(msg));
		ojit_strip_controls(msg);
		fprintf(stderr, "okta-jit key rotate: okta-jitd: %s\n", msg);
		proto_msg_free(&m);
		return -1;
	}
	ojit_strlcpy(old_kid, proto_get(&m, T_OLD_KEY_ID) ? proto_get(&m, T_OLD_KEY_ID) : "", n);
	ojit_strlcpy(new_kid, proto_get(&m, T_KEY_ID) ? proto_get(&m, T_KEY_ID) : "", n);
	proto_msg_free(&m);
	return 1;
}

static int key_rotate(const char *config_path, const char *socket_path, int json, int argc, char **argv)
{
	struct ojit_config *cfg = NULL;
	struct okta_key *cur = NULL, *next = NULL;
	struct okta_client *c = NULL;
	struct okta_error e;
	char err[1024], msg[1024], old_kid[OKTA_KID_MAX + 1] = "", new_kid[OKTA_KID_MAX + 1] = "";
	int rc, running, sealed;

	if (argc != 1)
		return key_usage();
	if (geteuid() != 0) {
		fprintf(stderr, "okta-jit key rotate: run as root\n");
		return EXIT_DENIED;
	}
	if ((rc = load_config(config_path, &cfg)) != EXIT_OK)
		return rc;
	if (cfg->next_private_key == NULL) {
		fprintf(stderr, "okta-jit key rotate: %s: set [okta] next_private_key and next_key_id first (make the key "
			"with okta-jit key new)\n", cfg->path);
		rc = EXIT_CONFIG;
		goto out;
	}
	if (cli_key_open(cfg, 0, &cur, &sealed, err, sizeof(err)) != 0 ||
	    cli_key_open(cfg, 1, &next, &sealed, err, sizeof(err)) != 0) {
		fprintf(stderr, "okta-jit key rotate: %s\n", err);
		rc = EXIT_CONFIG;
		goto out;
	}
	c = okta_client_new(cfg, cur, next, NULL);
	cur = next = NULL;
	if (c == NULL) {
		rc = EXIT_FAIL;
		goto out;
	}
	/* 1. Okta must take the next key before anything switches. */
	if (okta_client_try_key(c, 1, &e) != 0) {
		okta_error_format(&e, msg, sizeof(msg));
		fprintf(stderr, "okta-jit key rotate: Okta refuses the next key (kid %s): %s\n"
			"fix: add its public JWK (okta-jit key show --next) to the app's PUBLIC KEYS; nothing was "
			"changed\n", cfg->next_key_id, msg);
		rc = EXIT_OKTA;
		goto out;
	}
	/* 2. okta-jitd switches in memory: logins and grants go on. */
	running = daemon_rotate(socket_path != NULL ? socket_path : cfg->socket, old_kid, new_kid, sizeof(old_kid));
	if (running < 0) {
		fprintf(stderr, "okta-jit key rotate: the configuration was not changed\n");
		rc = EXIT_DAEMON;
		goto out;
	}
	/* 3. The file, so that a restart keeps the new key. */
	if (config_rotate_keys(cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "okta-jit key rotate: %s\n"
			"okta-jitd %s; set private_key = %s and key_id = %s in [okta] by hand before it restarts\n",
			err, running ? "already signs with the next key" : "is not running", cfg->next_private_key,
			cfg->next_key_id);
		rc = EXIT_FAIL;
		goto out;
	}
	if (json) {
		cJSON *top = cJSON_CreateObject();
		char *s;

		cJSON_AddNumberToObject(top, "schema", CLI_JSON_SCHEMA);
		cJSON_AddBoolToObject(top, "ok", 1);
		cJSON_AddStringToObject(top, "key_id", cfg->next_key_id);
		cJSON_AddStringToObject(top, "old_key_id", cfg->key_id != NULL ? cfg->key_id : "");
		cJSON_AddStringToObject(top, "private_key", cfg->next_private_key);
		cJSON_AddBoolToObject(top, "daemon_switched", running == 1);
		s = cJSON_Print(top);
		if (s != NULL)
			printf("%s\n", s);
		free(s);
		cJSON_Delete(top);
	} else {
		printf("Okta took the next key (kid %s).\n", cfg->next_key_id);
		if (running == 1)
			printf("okta-jitd switched to it: every new token is signed with kid %s.\n", new_kid);
		else
			printf("okta-jitd is not running: it will use kid %s when it starts.\n", cfg->next_key_id);
		printf("%s now has private_key = %s and key_id = %s.\n", cfg->path, cfg->next_private_key,
		       cfg->next_key_id);
		printf("The old public key (kid %s) can be removed from the Okta app now: nothing here signs with it "
		       "any more, and the access tokens it got stay valid until they expire (at most an hour) without "
		       "it. If other hosts share this app's old key, remove it once each of them has rotated "
		       "(okta-jit doctor shows the kid in use). Then destroy the old key: %s.\n",
		       cfg->key_id != NULL ? cfg->key_id : "(none)", cfg->private_key);
	}
	rc = EXIT_OK;
out:
	okta_key_free(cur);
	okta_key_free(next);
	okta_client_free(c);
	config_free(cfg);
	return rc;
}

int keycmd_run(const char *config_path, const char *socket_path, int json, int argc, char **argv)
{
	if (argc < 2)
		return key_usage();
	if (strcmp(argv[1], "new") == 0)
		return key_new(config_path, json, argc - 1, argv + 1);
	if (strcmp(argv[1], "show") == 0)
		return key_show(config_path, json, argc - 1, argv + 1);
	if (strcmp(argv[1], "rotate") == 0)
		return key_rotate(config_path, socket_path, json, argc - 1, argv + 1);
	return key_usage();
}
