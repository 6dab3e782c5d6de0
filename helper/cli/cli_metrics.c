/* cli_metrics.c - `okta-jit metrics` (issue 22): okta-jitd's metrics in
 * Prometheus' text format, asked over the socket (root only). The daemon
 * opens no network port; this command, or the [daemon] metrics_file, is
 * how they leave it. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "proto.h"
#include "util.h"

/* A scrape reads the ledger (counts, snapshot ages): a bound, not the
 * PAM module's short one. */
#define METRICS_TIMEOUT_MS 30000

/* The text as okta-jitd sent it, in one or more MESSAGE fields in order
 * (each at most PROTO_MAX_VALUE bytes). Only printable text and line
 * feeds reach the terminal. */
static int joined(const struct proto_msg *m, struct ojit_buf *out)
{
	size_t i, j;

	for (i = 0; i < m->nfields; i++) {
		const struct proto_field *f = &m->fields[i];

		if (f->tag != T_MESSAGE)
			continue;
		for (j = 0; j < f->len; j++) {
			char c = f->val[j];

			if ((unsigned char)c < 0x20 && c != '\n')
				c = '?';
			if (ojit_buf_append(out, &c, 1) != 0)
				return -1;
		}
	}
	return 0;
}

int cli_metrics(const char *socket_path, int json, int argc, char **argv)
{
	struct proto_out o;
	struct proto_msg m;
	struct ojit_buf text;
	char err[256];
	int fd, r, rc = EXIT_FAIL;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: okta-jit metrics\n");
		return EXIT_USAGE;
	}
	proto_out_init(&o, PROTO_METRICS);
	if (proto_out_finish(&o, PROTO_MAX_REQUEST) != 0) {
		proto_out_free(&o);
		return EXIT_FAIL;
	}
	fd = proto_connect(socket_path, 0, 5000, err, sizeof(err));
	if (fd < 0) {
		fprintf(stderr, "okta-jit: %s (%s)\n", err, socket_path);
		proto_out_free(&o);
		return EXIT_DAEMON;
	}
	r = proto_call(fd, &o, &m, PROTO_MAX_PAYLOAD, METRICS_TIMEOUT_MS);
	proto_out_free(&o);
	close(fd);
	if (r != 0) {
		fprintf(stderr, "okta-jit: no answer from okta-jitd: %s\n", proto_strerror(r));
		return EXIT_DAEMON;
	}
	ojit_buf_init(&text, 0);
	if (joined(&m, &text) != 0) {
		fprintf(stderr, "okta-jit metrics: out of memory\n");
		goto out;
	}
	if (json) {
		cJSON *top = cJSON_CreateObject();
		char *s;

		/* every --json document's version (issue 22, docs/cli-json.md) */
		cJSON_AddNumberToObject(top, "schema", 1);
		cJSON_AddBoolToObject(top, "ok", m.type == PROTO_OK);
		if (m.type == PROTO_OK) {
			cJSON_AddStringToObject(top, "metrics", text.data != NULL ? text.data : "");
		} else {
			cJSON_AddStringToObject(top, "code", proto_get(&m, T_CODE) ? proto_get(&m, T_CODE) : "");
			cJSON_AddStringToObject(top, "message", text.data != NULL ? text.data : "");
		}
		s = cJSON_Print(top);
		printf("%s\n", s != NULL ? s : "{}");
		free(s);
		cJSON_Delete(top);
	} else if (m.type == PROTO_OK) {
		fwrite(text.data != NULL ? text.data : "", 1, text.len, stdout);
	} else {
		fprintf(stderr, "okta-jit metrics: %s\n", text.data != NULL ? text.data : "refused");
	}
	if (m.type == PROTO_OK)
		rc = EXIT_OK;
	else if (proto_get(&m, T_CODE) != NULL && strcmp(proto_get(&m, T_CODE), "forbidden") == 0)
		rc = EXIT_DENIED;
out:
	ojit_buf_free(&text);
	proto_msg_free(&m);
	return rc;
}
