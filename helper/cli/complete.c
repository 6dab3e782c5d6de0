/* complete.c - the words packaging/bash-completion/okta-jit offers that
 * only okta-jit knows: the flows' group names and grant ids. Quiet and
 * quick: a completion runs at every TAB, prints nothing but words, and
 * never waits long (a daemon that does not answer gives no words). */
#include "complete.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "config.h"
#include "proto.h"
#include "util.h"

#define COMPLETE_TIMEOUT_MS 3000

/* A word okta-jitd or the config gave: offered only when it is one
 * shell word without control characters (compgen would split it). */
static void put_word(const char *w)
{
	const unsigned char *p;

	if (w == NULL || w[0] == '\0')
		return;
	for (p = (const unsigned char *)w; *p != '\0'; p++)
		if (*p <= 0x20 || *p == 0x7f)
			return;
	printf("%s\n", w);
}

/* Root reads the flows from the configuration: no daemon needed. 0 when
 * the words came from it, -1 to ask okta-jitd. */
static int groups_from_config(const char *config_path, char *sock, size_t socklen)
{
	struct ojit_config *cfg = NULL;
	struct ojit_buf errs;
	size_t i, j;

	if (geteuid() != 0 || access(config_path, R_OK) != 0)
		return -1;
	ojit_buf_init(&errs, 0);
	if (config_load(config_path, &cfg, &errs) != 0) {
		ojit_buf_free(&errs);
		return -1;
	}
	ojit_buf_free(&errs);
	ojit_strlcpy(sock, cfg->socket, socklen);
	for (i = 0; i < cfg->nflows; i++)
		for (j = 0; j < cfg->flows[i].ngroups; j++)
			put_word(cfg->flows[i].groups[j]);
	config_free(cfg);
	return 0;
}

static int ask(const char *sock, uint8_t type, int pending, struct proto_msg *m)
{
	struct proto_out o;
	char err[256];
	int fd, r;

	proto_out_init(&o, type);
	if (pending)
		proto_out_add(&o, T_STATE, "approvable");
	if (proto_out_finish(&o, PROTO_MAX_REQUEST) != 0) {
		proto_out_free(&o);
		return -1;
	}
	fd = proto_connect(sock, 0, COMPLETE_TIMEOUT_MS, err, sizeof(err));
	if (fd < 0) {
		proto_out_free(&o);
		return -1;
	}
	r = proto_call(fd, &o, m, PROTO_MAX_PAYLOAD, COMPLETE_TIMEOUT_MS);
	proto_out_free(&o);
	close(fd);
	if (r != 0)
		return -1;
	if (m->type != PROTO_OK) {
		proto_msg_free(m);
		return -1;
	}
	return 0;
}

int complete_run(const char *config_path, const char *socket_path, int argc, char **argv)
{
	struct proto_msg m;
	char sock[256];
	const char *what = argc == 2 ? argv[1] : "";
	size_t i;
	int groups = strcmp(what, "groups") == 0, pending = strcmp(what, "pending") == 0;

	if (!groups && !pending && strcmp(what, "ids") != 0) {
		fprintf(stderr, "usage: okta-jit __complete groups|ids|pending\n");
		return EXIT_USAGE;
	}
	ojit_strlcpy(sock, OJIT_DEFAULT_SOCKET, sizeof(sock));
	if (groups && groups_from_config(config_path, sock, sizeof(sock)) == 0)
		return EXIT_OK;
	if (socket_path != NULL)
		ojit_strlcpy(sock, socket_path, sizeof(sock));
	if (ask(sock, groups ? PROTO_FLOWS : PROTO_LIST, pending, &m) != 0)
		return EXIT_DAEMON;
	for (i = 0; i < m.nfields; i++) {
		/* FLOWS: each record's GROUPs (the flows the caller may request);
		 * LIST: each record's ID */
		if (groups && m.fields[i].tag == T_GROUP)
			put_word(m.fields[i].val);
		else if (!groups && m.fields[i].tag == T_ID)
			put_word(m.fields[i].val);
	}
	proto_msg_free(&m);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
}
