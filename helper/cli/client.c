/* client.c - `okta-jit request|approve|deny|revoke|extend|list|status|audit`
 * over the daemon's socket. */
#include "client.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "duration.h"
#include "names.h"
#include "proto.h"
#include "proto_records.h"
#include "util.h"

#define CLIENT_TIMEOUT_MS 120000

struct field_name {
	uint8_t tag;
	const char *name;
	int numeric;
};

static const struct field_name names[] = {
	{ T_ID, "id", 1 },		{ T_USER, "user", 0 },	      { T_GROUP, "group", 0 },
	{ T_STATE, "state", 0 },	{ T_FLOW, "flow", 0 },	      { T_DURATION, "duration", 1 },
	{ T_START, "start", 1 },	{ T_END, "end", 1 },	      { T_AT, "at", 1 },
	{ T_REQUESTER, "requester", 0 }, { T_APPROVER, "approver", 0 }, { T_REASON, "reason", 0 },
	{ T_EVENT, "event", 0 },	{ T_ACTOR, "actor", 0 },      { T_DETAIL, "detail", 0 },
	{ T_CODE, "code", 0 },		{ T_MESSAGE, "message", 0 },  { T_DETAILS, "access_details", 0 },
	{ T_APPROVERS, "approvers", 0 }, { T_DECISION, "decision", 0 }, { T_HINT, "hint", 0 },
	{ T_TIME_LEFT, "time_left", 1 }, { T_SESSION, "extends", 1 }, { T_MAX_DURATION, "max_duration", 1 },
	{ T_REASON_REQUIRED, "reason_required", 1 }, { T_WEB_URL, "web_url", 0 },
	{ T_CURSOR, "cursor", 1 },
	{ T_OKTA_ID, "okta_id", 0 },	{ T_LOGIN, "login", 0 },      { T_ATTEMPTS, "attempts", 1 },
	{ T_ACTION, "action", 0 },
	{ 0, NULL, 0 },
};

static const struct field_name *field_info(uint8_t tag)
{
	size_t i;

	for (i = 0; names[i].name != NULL; i++)
		if (names[i].tag == tag)
			return &names[i];
	return NULL;
}

/* Records (T_RECORD-separated) and top-level fields as JSON. */
static cJSON *reply_json(const struct proto_msg *m, cJSON **top_out)
{
	cJSON *arr = cJSON_CreateArray();
	cJSON *top = cJSON_CreateObject();
	cJSON *cur = top;
	size_t i;

	for (i = 0; i < m->nfields; i++) {
		const struct proto_field *f = &m->fields[i];
		const struct field_name *fn;
		int64_t v;

		if (f->tag == T_RECORD) {
			cur = cJSON_CreateObject();
			cJSON_AddItemToArray(arr, cur);
			continue;
		}
		fn = field_info(f->tag);
		if (fn == NULL || cJSON_GetObjectItemCaseSensitive(cur, fn->name) != NULL)
			continue;
		if (fn->numeric && ojit_parse_int64(f->val, INT64_MIN / 2, INT64_MAX / 2, &v) == 0)
			cJSON_AddNumberToObject(cur, fn->name, (double)v);
		else
			cJSON_AddStringToObject(cur, fn->name, f->val);
	}
	*top_out = top;
	return arr;
}

static void fmt_time(int64_t t, char *buf, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0) {
		snprintf(buf, n, "-");
		return;
	}
	localtime_r(&tt, &tm);
	strftime(buf, n, "%Y-%m-%d %H:%M:%S %Z", &tm);
}

/* Print a value that came from the daemon: never raw control bytes. */
static void put_safe(FILE *f, const char *s)
{
	char buf[1024];

	ojit_strlcpy(buf, s ? s : "", sizeof(buf));
	fputs(ojit_strip_controls(buf), f);
}

/* The rows of one reply (or page); the header is the caller's. */
static size_t print_grant_rows(const struct proto_msg *m)
{
	int64_t now = ojit_now();
	size_t i, shown = 0;

	for (i = 0; i < m->nfields; i++) {
		char ends[64], left[32] = "-";
		int64_t end;
		const char *state;

		if (m->fields[i].tag != T_RECORD)
			continue;
		end = proto_rec_int(m, i + 1, T_END);
		state = proto_rec_get(m, i + 1, T_STATE);
		fmt_time(end, ends, sizeof(ends));
		if (state != NULL && strcmp(state, "active") == 0 && end > now)
			duration_format(end - now, left, sizeof(left));
		printf("%-6lld ", (long long)proto_rec_int(m, i + 1, T_ID));
		printf("%-12.12s ", proto_rec_get(m, i + 1, T_USER) ? ojit_strip_controls((char *)(uintptr_t)proto_rec_get(m, i + 1, T_USER)) : "");
		printf("%-24.24s ", proto_rec_get(m, i + 1, T_GROUP) ? ojit_strip_controls((char *)(uintptr_t)proto_rec_get(m, i + 1, T_GROUP)) : "");
		printf("%-18s %-25s %s\n", state ? state : "", ends, left);
		shown++;
	}
	return shown;
}

static void print_grants(const struct proto_msg *m)
{
	printf("%-6s %-12s %-24s %-18s %-25s %s\n", "ID", "USER", "GROUP", "STATE", "ENDS", "LEFT");
	if (print_grant_rows(m) == 0)
		printf("(none)\n");
}

/* A person of an audit record as people read it (issue 22): the local
 * name with the Okta login beside it, "alice (alice@example.com)"; the
 * login is the detail's key_login (okta-jitd writes it there). */
static void put_person(const char *name, const char *detail, const char *key)
{
	char login[512], text[1024];

	if (audit_get(detail, key, login, sizeof(login)) != 0)
		login[0] = '\0';
	audit_person(text, sizeof(text), name != NULL ? name : "", login);
	put_safe(stdout, text);
}

/* The detail without the pairs shown beside the names. */
static void put_detail_rest(const char *detail)
{
	const char *p = detail != NULL ? detail : "", *start;
	char key[64], val[1024];
	int first = 1;

	for (start = p; audit_next(&p, key, sizeof(key), val, sizeof(val)) == 1; start = p) {
		char pair[1024];

		if (strcmp(key, "user_login") == 0 || strcmp(key, "actor_login") == 0)
			continue;
		while (*start == ' ')
			start++;
		/* the pair as written (escaped), never a raw control byte */
		snprintf(pair, sizeof(pair), "%.*s", (int)(p - start), start);
		printf("%s", first ? "" : " ");
		put_safe(stdout, pair);
		first = 0;
	}
	if (*p != '\0') /* not written by audit_value: shown as it is */
		put_safe(stdout, p);
}

static void print_audit(const struct proto_msg *m)
{
	size_t i;

	for (i = 0; i < m->nfields; i++) {
		const char *detail = proto_rec_get(m, i + 1, T_DETAIL);
		char at[64];

		if (m->fields[i].tag != T_RECORD)
			continue;
		fmt_time(proto_rec_int(m, i + 1, T_AT), at, sizeof(at));
		printf("%s  %-14s id=%-5lld actor=", at, proto_rec_get(m, i + 1, T_EVENT) ? proto_rec_get(m, i + 1, T_EVENT) : "",
		       (long long)proto_rec_int(m, i + 1, T_ID));
		put_person(proto_rec_get(m, i + 1, T_ACTOR), detail, "actor_login");
		printf(" user=");
		put_person(proto_rec_get(m, i + 1, T_USER), detail, "user_login");
		printf(" group=");
		put_safe(stdout, proto_rec_get(m, i + 1, T_GROUP));
		printf(" ");
		put_detail_rest(detail);
		printf("\n");
	}
}

/* --json: each event's user_login and actor_login beside user and actor,
 * from its detail (additive: the detail keeps them too). */
static void audit_json_logins(cJSON *events)
{
	cJSON *e;

	cJSON_ArrayForEach(e, events) {
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(e, "detail");
		char login[512];

		if (!cJSON_IsString(d) || d->valuestring == NULL)
			continue;
		if (audit_get(d->valuestring, "user_login", login, sizeof(login)) == 0)
			cJSON_AddStringToObject(e, "user_login", login);
		if (audit_get(d->valuestring, "actor_login", login, sizeof(login)) == 0)
			cJSON_AddStringToObject(e, "actor_login", login);
	}
}

static void print_one_grant(const struct proto_msg *m)
{
	int64_t now = ojit_now();
	int64_t end = proto_rec_int(m, 1, T_END);
	const char *state = proto_rec_get(m, 1, T_STATE);
	const char *details = proto_get(m, T_DETAILS);
	const char *approvers = proto_get(m, T_APPROVERS);
	char ends[64], left[32] = "";

	fmt_time(end, ends, sizeof(ends));
	printf("grant %lld: ", (long long)proto_rec_int(m, 1, T_ID));
	put_safe(stdout, state);
	printf(" (");
	put_safe(stdout, proto_rec_get(m, 1, T_GROUP));
	printf(" for ");
	put_safe(stdout, proto_rec_get(m, 1, T_USER));
	printf(")\n");
	if (state != NULL && strcmp(state, "active") == 0 && end > now) {
		duration_format(end - now, left, sizeof(left));
		printf("ends: %s (%s left)\n", ends, left);
	}
	if (proto_get(m, T_MESSAGE) != NULL && proto_get(m, T_MESSAGE)[0] != '\0') {
		put_safe(stdout, proto_get(m, T_MESSAGE));
		printf("\n");
	}
	if (approvers != NULL) {
		printf("approvers: ");
		put_safe(stdout, approvers);
		printf("\n");
	}
	if (details != NULL && details[0] != '\0') {
		put_safe(stdout, details);
		printf("\n");
	}
}

static int exit_for_code(const char *code)
{
	if (code == NULL)
		return EXIT_FAIL;
	if (strcmp(code, "forbidden") == 0)
		return EXIT_DENIED;
	if (strcmp(code, "okta") == 0)
		return EXIT_OKTA;
	return EXIT_FAIL;
}

static int parse_since(const char *s, int64_t *out)
{
	int64_t d;
	struct tm tm;
	const char *end;

	if (duration_parse(s, &d, NULL) == 0) {
		*out = ojit_now() - d;
		return 0;
	}
	if (ojit_parse_int64(s, 0, INT64_MAX / 2, out) == 0)
		return 0;
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%d", &tm);
	if (end != NULL && *end == '\0') {
		*out = (int64_t)timegm(&tm);
		return 0;
	}
	return -1;
}

/* `list`: every page okta-jitd gives (LIST's CURSOR, docs/protocol.md),
 * printed as one table or one JSON array. A page okta-jitd refuses as
 * busy (the per-uid request rate) is asked again after a pause. */
#define LIST_PAGE 500
#define LIST_PAGES_MAX 10000 /* 5,000,000 records: a daemon whose cursor never ends is cut off */

static int list_page(const char *socket_path, int *fd, int all, int pending, const char *user, const char *cursor,
		     struct proto_msg *m)
{
	struct proto_out o;
	char err[256];
	int r = -1, tries;

	for (tries = 0; tries < 10; tries++) {
		proto_out_init(&o, PROTO_LIST);
		if (all)
			proto_out_add(&o, T_ALL, "1");
		if (pending)
			proto_out_add(&o, T_STATE, "approvable");
		if (user != NULL)
			proto_out_add(&o, T_USER, user);
		proto_out_add_int(&o, T_LIMIT, LIST_PAGE);
		if (cursor != NULL)
			proto_out_add(&o, T_CURSOR, cursor);
		if (proto_out_finish(&o, PROTO_MAX_REQUEST) != 0) {
			fprintf(stderr, "okta-jit list: arguments too long\n");
			proto_out_free(&o);
			return EXIT_USAGE;
		}
		if (*fd < 0 && (*fd = proto_connect(socket_path, 0, 5000, err, sizeof(err))) < 0) {
			fprintf(stderr, "okta-jit: %s (%s)\n", err, socket_path);
			proto_out_free(&o);
			return EXIT_DAEMON;
		}
		r = proto_call(*fd, &o, m, PROTO_MAX_PAYLOAD, CLIENT_TIMEOUT_MS);
		proto_out_free(&o);
		/* proto_call ends the request by half-closing: one page a connection */
		close(*fd);
		*fd = -1;
		if (r != 0) {
			fprintf(stderr, "okta-jit: no answer from okta-jitd: %s\n", proto_strerror(r));
			return EXIT_DAEMON;
		}
		if (m->type != PROTO_ERROR || proto_get(m, T_CODE) == NULL || strcmp(proto_get(m, T_CODE), "busy") != 0)
			return EXIT_OK;
		proto_msg_free(m);
		usleep(1000 * 1000);
	}
	fprintf(stderr, "okta-jit list: okta-jitd stayed busy\n");
	return EXIT_DAEMON;
}

static int cmd_list(const char *socket_path, int json, int all, int pending, const char *user)
{
	struct proto_msg m;
	cJSON *grants = json ? cJSON_CreateArray() : NULL, *errtop = NULL;
	char cursor[32] = "";
	size_t pages = 0, shown = 0;
	int fd = -1, rc = EXIT_OK;

	if (json && grants == NULL)
		return EXIT_FAIL;
	if (!json)
		printf("%-6s %-12s %-24s %-18s %-25s %s\n", "ID", "USER", "GROUP", "STATE", "ENDS", "LEFT");
	for (;;) {
		const char *next;

		rc = list_page(socket_path, &fd, all, pending, user, cursor[0] ? cursor : NULL, &m);
		if (rc != EXIT_OK)
			break;
		if (m.type == PROTO_ERROR) {
			if (json) {
				cJSON *arr = reply_json(&m, &errtop);

				cJSON_Delete(arr);
			} else {
				fprintf(stderr, "okta-jit list: ");
				put_safe(stderr, proto_get(&m, T_MESSAGE));
				fprintf(stderr, "\n");
			}
			rc = exit_for_code(proto_get(&m, T_CODE));
			proto_msg_free(&m);
			break;
		}
		if (json) {
			cJSON *top = NULL, *arr = reply_json(&m, &top), *it;

			while ((it = cJSON_DetachItemFromArray(arr, 0)) != NULL)
				cJSON_AddItemToArray(grants, it);
			cJSON_Delete(arr);
			cJSON_Delete(top);
		} else {
			shown += print_grant_rows(&m);
		}
		next = proto_get(&m, T_CURSOR);
		/* each cursor must move down the ids, or the listing would not end */
		if (next == NULL || strlen(next) >= sizeof(cursor) ||
		    (cursor[0] != '\0' && strtoll(next, NULL, 10) >= strtoll(cursor, NULL, 10)) || ++pages >= LIST_PAGES_MAX) {
			if (next != NULL) {
				fprintf(stderr, "okta-jit list: okta-jitd's page cursor does not move on; listing cut\n");
				rc = EXIT_DAEMON;
			}
			proto_msg_free(&m);
			break;
		}
		ojit_strlcpy(cursor, next, sizeof(cursor));
		proto_msg_free(&m);
	}
	if (fd >= 0)
		close(fd);
	if (json) {
		/* an ERROR's code and message, as for any other command */
		cJSON *top = errtop != NULL ? errtop : cJSON_CreateObject();
		char *out;

		cJSON_AddBoolToObject(top, "ok", rc == EXIT_OK);
		cJSON_AddItemToObject(top, "grants", grants);
		out = cJSON_Print(top);
		printf("%s\n", out ? out : "{}");
		free(out);
		cJSON_Delete(top);
	} else if (rc == EXIT_OK && shown == 0) {
		printf("(none)\n");
	}
	return rc;
}

static int cmd_usage(const char *cmd)
{
	fprintf(stderr, "usage: okta-jit %s", cmd);
	if (strcmp(cmd, "request") == 0)
		fprintf(stderr, " GROUP [--for DURATION] [--reason TEXT] [--user USER (root)]\n");
	else if (strcmp(cmd, "approve") == 0 || strcmp(cmd, "deny") == 0)
		fprintf(stderr, " ID [--reason TEXT]\n");
	else if (strcmp(cmd, "revoke") == 0)
		fprintf(stderr, " ID\n");
	else if (strcmp(cmd, "extend") == 0)
		fprintf(stderr, " ID --for DURATION [--reason TEXT]\n");
	else if (strcmp(cmd, "list") == 0)
		fprintf(stderr, " [--all] [--pending] [--user USER (root)]\n");
	else if (strcmp(cmd, "audit") == 0)
		fprintf(stderr, " [--since T] [--user U] [--group G]\n");
	else if (strcmp(cmd, "check") == 0)
		fprintf(stderr, " GROUP... [--user USER (root)]\n");
	else if (strcmp(cmd, "flows") == 0)
		fprintf(stderr, " [--user USER (root)]\n");
	else
		fprintf(stderr, "\n");
	return EXIT_USAGE;
}

/* `okta-jit drift`: the drift table's records, one a line. */
static void print_drift(const struct proto_msg *m)
{
	size_t i, shown = 0;

	for (i = 0; i < m->nfields; i++) {
		char first[64], last[64];
		int64_t t;
		const char *v;

		if (m->fields[i].tag != T_RECORD)
			continue;
		v = proto_rec_get(m, i + 1, T_STATE);
		if (v != NULL && strcmp(v, "not-checked") == 0) {
			printf("%-24s ", "(flow)");
			put_safe(stdout, proto_rec_get(m, i + 1, T_FLOW));
			printf(" / ");
			put_safe(stdout, proto_rec_get(m, i + 1, T_GROUP));
			printf(": not checked: ");
			put_safe(stdout, proto_rec_get(m, i + 1, T_DETAIL));
			printf("\n");
			shown++;
			continue;
		}
		fmt_time(ojit_parse_int64(proto_rec_get(m, i + 1, T_START) ? proto_rec_get(m, i + 1, T_START) : "", 0, INT64_MAX / 2,
					  &t) == 0 ? t : 0, first, sizeof(first));
		fmt_time(ojit_parse_int64(proto_rec_get(m, i + 1, T_AT) ? proto_rec_get(m, i + 1, T_AT) : "", 0, INT64_MAX / 2,
					  &t) == 0 ? t : 0, last, sizeof(last));
		put_safe(stdout, proto_rec_get(m, i + 1, T_LOGIN));
		printf(" (");
		put_safe(stdout, proto_rec_get(m, i + 1, T_OKTA_ID));
		printf(") in ");
		put_safe(stdout, proto_rec_get(m, i + 1, T_GROUP));
		printf(" [flow ");
		put_safe(stdout, proto_rec_get(m, i + 1, T_FLOW));
		printf(", drift = ");
		put_safe(stdout, proto_rec_get(m, i + 1, T_ACTION));
		printf("]: ");
		put_safe(stdout, v);
		printf(", first seen %s, last seen %s", first, last);
		v = proto_rec_get(m, i + 1, T_ATTEMPTS);
		if (v != NULL && strcmp(v, "0") != 0) {
			printf(", %s failed removal%s: ", v, strcmp(v, "1") == 0 ? "" : "s");
			put_safe(stdout, proto_rec_get(m, i + 1, T_DETAIL));
		}
		printf("\n");
		shown++;
	}
	if (proto_get(m, T_MESSAGE) != NULL) {
		put_safe(stdout, proto_get(m, T_MESSAGE));
		printf("\n");
	}
	if (shown == 0)
		printf("(no drift: every member of the flows' groups holds a grant or a standing place)\n");
}

/* `okta-jit keys USER`: sshd's AuthorizedKeysCommand (run as [nss]
 * keys_user). Prints USER's SSH keys from Okta, one a line, and nothing
 * (exit 0) when there are none: sshd reads every line we print as an
 * authorized_keys line, so a line with a control character in it is
 * never printed, whatever okta-jitd sent. */
static int cmd_keys(const char *socket_path, int argc, char **argv)
{
	struct proto_out o;
	struct proto_msg m;
	char err[256];
	size_t i;
	int fd, r, rc;

	if (argc != 2) {
		fprintf(stderr, "usage: okta-jit keys USER\n");
		return EXIT_USAGE;
	}
	if (!jitd_valid_username(argv[1])) {
		fprintf(stderr, "okta-jit keys: not a valid user name\n");
		return EXIT_USAGE;
	}
	proto_out_init(&o, PROTO_KEYS);
	proto_out_add(&o, T_USER, argv[1]);
	if (proto_out_finish(&o, PROTO_MAX_REQUEST) != 0) {
		proto_out_free(&o);
		return EXIT_USAGE;
	}
	fd = proto_connect(socket_path, 0, 5000, err, sizeof(err));
	if (fd < 0) {
		fprintf(stderr, "okta-jit: %s (%s)\n", err, socket_path);
		proto_out_free(&o);
		return EXIT_DAEMON;
	}
	/* sshd waits for us at every login attempt: a short bound */
	r = proto_call(fd, &o, &m, PROTO_MAX_PAYLOAD, 10000);
	proto_out_free(&o);
	close(fd);
	if (r != 0) {
		fprintf(stderr, "okta-jit: no answer from okta-jitd: %s\n", proto_strerror(r));
		return EXIT_DAEMON;
	}
	if (m.type == PROTO_ERROR) {
		fprintf(stderr, "okta-jit keys: ");
		put_safe(stderr, proto_get(&m, T_MESSAGE));
		fprintf(stderr, "\n");
		rc = exit_for_code(proto_get(&m, T_CODE));
		proto_msg_free(&m);
		return rc;
	}
	for (i = 0; i < m.nfields; i++) {
		const char *k = m.fields[i].val;
		size_t j;
		int bad = 0;

		if (m.fields[i].tag != T_KEY)
			continue;
		for (j = 0; k[j] != '\0'; j++)
			if ((unsigned char)k[j] < 0x20 || (unsigned char)k[j] == 0x7f)
				bad = 1;
		if (!bad && j > 0)
			printf("%s\n", k);
	}
	proto_msg_free(&m);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
}

/* FLOWS' answer: the flows one may request (records), and whom to ask
 * (REQUESTERS) for the rest. */
static void flows_json(const struct proto_msg *m, cJSON *top)
{
	cJSON *flows = cJSON_AddArrayToObject(top, "flows");
	cJSON *req = cJSON_AddArrayToObject(top, "requesters_elsewhere");
	cJSON *cur = NULL, *groups = NULL;
	size_t i;

	if (flows == NULL || req == NULL)
		return;
	for (i = 0; i < m->nfields; i++) {
		const struct proto_field *f = &m->fields[i];
		int64_t v;

		if (f->tag == T_RECORD) {
			cur = cJSON_CreateObject();
			groups = cur != NULL ? cJSON_AddArrayToObject(cur, "groups") : NULL;
			if (cur != NULL)
				cJSON_AddItemToArray(flows, cur);
			continue;
		}
		if (cur == NULL) {
			if (f->tag == T_REQUESTERS)
				cJSON_AddItemToArray(req, cJSON_CreateString(f->val));
			else if (f->tag == T_DETAILS)
				cJSON_AddStringToObject(top, "access_details", f->val);
			continue;
		}
		if (f->tag == T_GROUP && groups != NULL)
			cJSON_AddItemToArray(groups, cJSON_CreateString(f->val));
		else if (f->tag == T_FLOW)
			cJSON_AddStringToObject(cur, "flow", f->val);
		else if (f->tag == T_STATE)
			cJSON_AddStringToObject(cur, "state", f->val);
		else if (f->tag == T_MESSAGE)
			cJSON_AddStringToObject(cur, "message", f->val);
		else if (f->tag == T_REASON_REQUIRED)
			cJSON_AddBoolToObject(cur, "reason_required", strcmp(f->val, "1") == 0);
		else if ((f->tag == T_DURATION || f->tag == T_MAX_DURATION) &&
			 ojit_parse_int64(f->val, 0, INT64_MAX / 2, &v) == 0)
			cJSON_AddNumberToObject(cur, f->tag == T_DURATION ? "default_duration" : "max_duration", (double)v);
	}
}

static void print_flows(const struct proto_msg *m)
{
	size_t i, j, n = 0;
	char d[32], mx[32];

	for (i = 0; i < m->nfields; i++) {
		const char *state;

		if (m->fields[i].tag != T_RECORD)
			continue;
		n++;
		put_safe(stdout, proto_rec_get(m, i + 1, T_FLOW));
		state = proto_rec_get(m, i + 1, T_STATE);
		if (state == NULL || strcmp(state, "allowed") != 0) {
			printf(": cannot tell now (");
			put_safe(stdout, proto_rec_get(m, i + 1, T_MESSAGE));
			printf(")\n");
			continue;
		}
		if (duration_format(proto_rec_int(m, i + 1, T_DURATION), d, sizeof(d)) != 0)
			ojit_strlcpy(d, "?", sizeof(d));
		if (duration_format(proto_rec_int(m, i + 1, T_MAX_DURATION), mx, sizeof(mx)) != 0)
			ojit_strlcpy(mx, "?", sizeof(mx));
		printf(": for %s (at most %s), reason %s; groups:", d, mx,
		       proto_rec_get(m, i + 1, T_REASON_REQUIRED) != NULL && strcmp(proto_rec_get(m, i + 1, T_REASON_REQUIRED), "1") == 0
			       ? "required" : "optional");
		for (j = i + 1; j < m->nfields && m->fields[j].tag != T_RECORD; j++)
			if (m->fields[j].tag == T_GROUP) {
				printf(" ");
				put_safe(stdout, m->fields[j].val);
			}
		printf("\n");
	}
	if (n == 0)
		printf("no access flow you may request here\n");
	for (i = 0, j = 0; i < m->nfields && m->fields[i].tag != T_RECORD; i++) {
		if (m->fields[i].tag != T_REQUESTERS)
			continue;
		printf(j++ == 0 ? "other flows: ask to join the Okta group " : " or ");
		put_safe(stdout, m->fields[i].val);
	}
	if (j > 0)
		printf("\n");
}

int client_command(const char *socket_path, int json, const char *cmd, int argc, char **argv)
{
	static const struct option opts[] = { { "for", required_argument, NULL, 'f' },
					      { "reason", required_argument, NULL, 'r' },
					      { "user", required_argument, NULL, 'u' },
					      { "group", required_argument, NULL, 'g' },
					      { "since", required_argument, NULL, 's' },
					      { "all", no_argument, NULL, 'a' },
					      { "pending", no_argument, NULL, 'p' },
					      { "help", no_argument, NULL, 'h' },
					      { NULL, 0, NULL, 0 } };
	const char *reason = NULL, *user = NULL, *group = NULL, *since = NULL;
	int64_t dur = 0, id = 0, since_t = 0;
	int all = 0, pending = 0, opt, fd = -1, rc = EXIT_FAIL, r;
	uint8_t type;
	struct proto_out o;
	struct proto_msg m;
	char err[256];
	const char *why;

	if (strcmp(cmd, "request") == 0)
		type = PROTO_REQUEST;
	else if (strcmp(cmd, "approve") == 0)
		type = PROTO_APPROVE;
	else if (strcmp(cmd, "deny") == 0)
		type = PROTO_DENY;
	else if (strcmp(cmd, "revoke") == 0)
		type = PROTO_REVOKE;
	else if (strcmp(cmd, "extend") == 0)
		type = PROTO_EXTEND;
	else if (strcmp(cmd, "list") == 0)
		type = PROTO_LIST;
	else if (strcmp(cmd, "status") == 0)
		type = PROTO_STATUS;
	else if (strcmp(cmd, "audit") == 0)
		type = PROTO_AUDIT;
	else if (strcmp(cmd, "check") == 0)
		type = PROTO_CHECK;
	else if (strcmp(cmd, "ping") == 0)
		type = PROTO_PING;
	else if (strcmp(cmd, "flows") == 0)
		type = PROTO_FLOWS;
	else if (strcmp(cmd, "drift") == 0)
		type = PROTO_DRIFT;
	else if (strcmp(cmd, "keys") == 0)
		return cmd_keys(socket_path, argc, argv);
	else
		return -1;

	optind = 0; /* 0: glibc re-initialises, so permuting works after main's "+" scan */
	while ((opt = getopt_long(argc, argv, "f:r:u:g:s:aph", opts, NULL)) != -1) {
		switch (opt) {
		case 'f':
			if (duration_parse(optarg, &dur, &why) != 0) {
				fprintf(stderr, "okta-jit %s: --for '%s': %s\n", cmd, optarg, why);
				return EXIT_USAGE;
			}
			break;
		case 'r':
			reason = optarg;
			break;
		case 'u':
			user = optarg;
			break;
		case 'g':
			group = optarg;
			break;
		case 's':
			since = optarg;
			if (parse_since(optarg, &since_t) != 0) {
				fprintf(stderr, "okta-jit %s: --since '%s': use a duration (2h), a date (2026-11-28) or epoch seconds\n",
					cmd, optarg);
				return EXIT_USAGE;
			}
			break;
		case 'a':
			all = 1;
			break;
		case 'p':
			pending = 1;
			break;
		case 'h':
			cmd_usage(cmd);
			return EXIT_OK;
		default:
			return cmd_usage(cmd);
		}
	}
	argc -= optind;
	argv += optind;
	proto_out_init(&o, type);
	switch (type) {
	case PROTO_REQUEST:
		if (argc != 1)
			return cmd_usage(cmd);
		proto_out_add(&o, T_GROUP, argv[0]);
		if (dur > 0)
			proto_out_add_int(&o, T_DURATION, dur);
		if (reason != NULL)
			proto_out_add(&o, T_REASON, reason);
		if (user != NULL)
			proto_out_add(&o, T_USER, user);
		break;
	case PROTO_APPROVE:
	case PROTO_DENY:
	case PROTO_REVOKE:
	case PROTO_EXTEND:
		if (argc != 1 || ojit_parse_int64(argv[0], 1, INT64_MAX / 2, &id) != 0) {
			proto_out_free(&o);
			return cmd_usage(cmd);
		}
		if (type == PROTO_EXTEND && dur <= 0) {
			proto_out_free(&o);
			return cmd_usage(cmd);
		}
		proto_out_add_int(&o, T_ID, id);
		if (dur > 0)
			proto_out_add_int(&o, T_DURATION, dur);
		if (reason != NULL)
			proto_out_add(&o, T_REASON, reason);
		break;
	case PROTO_LIST:
		proto_out_free(&o);
		if (argc != 0)
			return cmd_usage(cmd);
		return cmd_list(socket_path, json, all, pending, user);
	case PROTO_AUDIT:
		if (argc != 0)
			return cmd_usage(cmd);
		if (since != NULL)
			proto_out_add_int(&o, T_SINCE, since_t);
		if (user != NULL)
			proto_out_add(&o, T_USER, user);
		if (group != NULL)
			proto_out_add(&o, T_GROUP, group);
		break;
	case PROTO_CHECK:
		if (argc < 1)
			return cmd_usage(cmd);
		for (int i = 0; i < argc; i++)
			proto_out_add(&o, T_GROUP, argv[i]);
		if (user != NULL)
			proto_out_add(&o, T_USER, user);
		break;
	case PROTO_FLOWS:
		if (argc != 0) {
			proto_out_free(&o);
			return cmd_usage(cmd);
		}
		if (user != NULL)
			proto_out_add(&o, T_USER, user);
		break;
	default:
		if (argc != 0)
			return cmd_usage(cmd);
		break;
	}
	if (proto_out_finish(&o, PROTO_MAX_REQUEST) != 0) {
		fprintf(stderr, "okta-jit %s: arguments too long\n", cmd);
		proto_out_free(&o);
		return EXIT_USAGE;
	}
	fd = proto_connect(socket_path, 0, 5000, err, sizeof(err));
	if (fd < 0) {
		fprintf(stderr, "okta-jit: %s (%s)\n", err, socket_path);
		proto_out_free(&o);
		return EXIT_DAEMON;
	}
	r = proto_call(fd, &o, &m, PROTO_MAX_PAYLOAD, CLIENT_TIMEOUT_MS);
	proto_out_free(&o);
	close(fd);
	if (r != 0) {
		fprintf(stderr, "okta-jit: no answer from okta-jitd: %s\n", proto_strerror(r));
		return EXIT_DAEMON;
	}
	if (json) {
		cJSON *top = NULL, *arr = reply_json(&m, &top);
		char *s;

		cJSON_AddBoolToObject(top, "ok", m.type == PROTO_OK);
		if (type == PROTO_AUDIT)
			audit_json_logins(arr);
		if (type == PROTO_FLOWS && m.type == PROTO_OK)
			cJSON_Delete(arr), cJSON_DeleteItemFromObject(top, "access_details"), flows_json(&m, top);
		else if (type == PROTO_LIST || type == PROTO_STATUS || type == PROTO_AUDIT || type == PROTO_DRIFT)
			cJSON_AddItemToObject(top, type == PROTO_AUDIT ? "events" : type == PROTO_DRIFT ? "drift" : "grants",
					      arr);
		else if (cJSON_GetArraySize(arr) > 0)
			cJSON_AddItemToObject(top, "grant", cJSON_DetachItemFromArray(arr, 0)), cJSON_Delete(arr);
		else
			cJSON_Delete(arr);
		s = cJSON_Print(top);
		printf("%s\n", s ? s : "{}");
		free(s);
		cJSON_Delete(top);
		rc = m.type == PROTO_OK ? EXIT_OK : exit_for_code(proto_get(&m, T_CODE));
		if (type == PROTO_CHECK && m.type == PROTO_OK && proto_get(&m, T_DECISION) != NULL &&
		    strcmp(proto_get(&m, T_DECISION), "allow") != 0)
			rc = EXIT_DENIED;
		proto_msg_free(&m);
		return rc;
	}
	if (m.type == PROTO_ERROR) {
		fprintf(stderr, "okta-jit %s: ", cmd);
		put_safe(stderr, proto_get(&m, T_MESSAGE));
		fprintf(stderr, "\n");
		rc = exit_for_code(proto_get(&m, T_CODE));
		proto_msg_free(&m);
		return rc;
	}
	switch (type) {
	case PROTO_LIST:
	case PROTO_STATUS:
		print_grants(&m);
		break;
	case PROTO_AUDIT:
		print_audit(&m);
		break;
	case PROTO_FLOWS:
		print_flows(&m);
		break;
	case PROTO_DRIFT:
		print_drift(&m);
		break;
	case PROTO_PING:
		put_safe(stdout, proto_get(&m, T_MESSAGE));
		printf("\n");
		break;
	case PROTO_CHECK:
		printf("%s: ", proto_get(&m, T_DECISION) ? proto_get(&m, T_DECISION) : "?");
		put_safe(stdout, proto_get(&m, T_MESSAGE));
		printf("\n");
		if (proto_get(&m, T_HINT) != NULL && proto_get(&m, T_HINT)[0] != '\0') {
			printf("to get access: ");
			put_safe(stdout, proto_get(&m, T_HINT));
			printf("\n");
		}
		if (proto_get(&m, T_WEB_URL) != NULL && proto_get(&m, T_WEB_URL)[0] != '\0') {
			printf("or in a browser: ");
			put_safe(stdout, proto_get(&m, T_WEB_URL));
			printf("\n");
		}
		if (proto_get(&m, T_DECISION) == NULL || strcmp(proto_get(&m, T_DECISION), "allow") != 0)
			rc = EXIT_DENIED;
		else
			rc = EXIT_OK;
		proto_msg_free(&m);
		return rc;
	default:
		print_one_grant(&m);
		break;
	}
	rc = EXIT_OK;
	proto_msg_free(&m);
	return rc;
}
