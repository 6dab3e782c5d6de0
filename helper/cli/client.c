/* client.c - `okta-jit request|approve|deny|revoke|extend|list|status|audit`
 * over the daemon's socket. */
#include "client.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
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
#include "table.h"
#include "util.h"

#define CLIENT_TIMEOUT_MS 120000

/* stdout's width and colours, decided once per run (client_command) */
static struct table_out out_mode;

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

/* Every --json document starts with its schema's version (okta-jit(1)
 * JSON OUTPUT, docs/cli-json.md): a reader can tell a change that is not
 * additive from the number alone. */
static cJSON *json_top(void)
{
	cJSON *top = cJSON_CreateObject();

	if (top != NULL)
		cJSON_AddNumberToObject(top, "schema", CLI_JSON_SCHEMA);
	return top;
}

/* Print a document (and free it). 0, or -1 when stdout failed. */
static int json_print(cJSON *doc)
{
	char *s = cJSON_Print(doc);
	int rc = s != NULL && printf("%s\n", s) >= 0 && fflush(stdout) == 0 ? 0 : -1;

	free(s);
	cJSON_Delete(doc);
	return rc;
}

/* Records (T_RECORD-separated) and top-level fields as JSON. */
static cJSON *reply_json(const struct proto_msg *m, cJSON **top_out)
{
	cJSON *arr = cJSON_CreateArray();
	cJSON *top = json_top();
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

/* What a state or an event looks like on a colour terminal: what
 * lets in green, what waits yellow, what refused or failed red. */
static const char *state_color(const char *state)
{
	static const char *const green[] = { "active", "granted", "approved", "extended", "allow", NULL };
	static const char *const yellow[] = { "pending", "requested", "check_grace", NULL };
	static const char *const red[] = { "denied", "failed", "refused", "check_refused", "deny", NULL };
	size_t i;

	if (state == NULL)
		return TABLE_PLAIN;
	for (i = 0; green[i] != NULL; i++)
		if (strcmp(state, green[i]) == 0)
			return TABLE_GREEN;
	for (i = 0; yellow[i] != NULL; i++)
		if (strcmp(state, yellow[i]) == 0)
			return TABLE_YELLOW;
	for (i = 0; red[i] != NULL; i++)
		if (strcmp(state, red[i]) == 0)
			return TABLE_RED;
	return TABLE_PLAIN;
}

static struct table *grants_table(void)
{
	static const char *const h[] = { "ID", "USER", "GROUP", "STATE", "ENDS", "LEFT" };

	return table_new(6, h, NULL);
}

/* The rows of one reply (or page) into t. -1: no memory. */
static int grant_rows(struct table *t, const struct proto_msg *m)
{
	int64_t now = ojit_now();
	size_t i;

	for (i = 0; i < m->nfields; i++) {
		char ends[64], left[32] = "-", id[24];
		const char *cells[6];
		int64_t end;
		const char *state;

		if (m->fields[i].tag != T_RECORD)
			continue;
		end = proto_rec_int(m, i + 1, T_END);
		state = proto_rec_get(m, i + 1, T_STATE);
		fmt_time(end, ends, sizeof(ends));
		if (state != NULL && strcmp(state, "active") == 0 && end > now)
			duration_format(end - now, left, sizeof(left));
		snprintf(id, sizeof(id), "%lld", (long long)proto_rec_int(m, i + 1, T_ID));
		cells[0] = id;
		cells[1] = proto_rec_get(m, i + 1, T_USER);
		cells[2] = proto_rec_get(m, i + 1, T_GROUP);
		cells[3] = state;
		cells[4] = ends;
		cells[5] = left;
		if (table_add(t, cells) != 0)
			return -1;
		table_color(t, 3, state_color(state));
	}
	return 0;
}

/* A table, and "(none)" under its header when it has no rows. */
static int print_table(const struct table *t)
{
	if (table_print(t, stdout, &out_mode) != 0)
		return EXIT_FAIL;
	if (table_rows(t) == 0)
		printf("(none)\n");
	return EXIT_OK;
}

/* A person of an audit record as people read it (issue 22): the local
 * name with the Okta login beside it, "alice (alice@example.com)"; the
 * login is the detail's key (user_login, actor_login: okta-jitd writes
 * them there). */
static void person_text(char *out, size_t n, const char *name, const char *detail, const char *key)
{
	char login[512];

	if (detail == NULL || audit_get(detail, key, login, sizeof(login)) != 0)
		login[0] = '\0';
	audit_person(out, n, name != NULL ? name : "", login);
}

/* The detail without the pairs shown beside the names, each pair as
 * written (escaped); what audit_next cannot read is kept as it is. */
static void detail_rest(char *out, size_t n, const char *detail)
{
	const char *p = detail != NULL ? detail : "", *start;
	char key[64], val[1024];
	size_t len = 0;

	out[0] = '\0';
	for (start = p; audit_next(&p, key, sizeof(key), val, sizeof(val)) == 1; start = p) {
		if (strcmp(key, "user_login") == 0 || strcmp(key, "actor_login") == 0)
			continue;
		while (*start == ' ')
			start++;
		len += (size_t)snprintf(out + len, len < n ? n - len : 0, "%s%.*s", len > 0 ? " " : "",
					(int)(p - start), start);
		if (len >= n)
			return;
	}
	if (*p != '\0')
		(void)snprintf(out + len, len < n ? n - len : 0, "%s%s", len > 0 ? " " : "", p);
}

static int print_grants(const struct proto_msg *m)
{
	struct table *t = grants_table();
	int rc = EXIT_FAIL;

	if (t != NULL && grant_rows(t, m) == 0)
		rc = print_table(t);
	table_free(t);
	return rc;
}

static struct table *audit_table(void)
{
	static const char *const h[] = { "AT", "EVENT", "GRANT", "ACTOR", "USER", "GROUP", "DETAIL" };
	static const enum table_col k[] = { TABLE_NAME, TABLE_NAME, TABLE_NAME, TABLE_NAME,
					    TABLE_NAME, TABLE_NAME, TABLE_FREE };

	return table_new(7, h, k);
}

/* One event record (its fields from start) as a table row. */
static int audit_row(struct table *t, const struct proto_msg *m, size_t start)
{
	const char *cells[7], *detail = proto_rec_get(m, start, T_DETAIL);
	char at[64], id[24], actor[1024], user[1024], rest[AUDIT_DETAIL_MAX + 64];
	int64_t gid = proto_rec_int(m, start, T_ID);

	fmt_time(proto_rec_int(m, start, T_AT), at, sizeof(at));
	if (gid > 0)
		snprintf(id, sizeof(id), "%lld", (long long)gid);
	else
		ojit_strlcpy(id, "-", sizeof(id));
	cells[0] = at;
	cells[1] = proto_rec_get(m, start, T_EVENT);
	cells[2] = id;
	person_text(actor, sizeof(actor), proto_rec_get(m, start, T_ACTOR), detail, "actor_login");
	person_text(user, sizeof(user), proto_rec_get(m, start, T_USER), detail, "user_login");
	detail_rest(rest, sizeof(rest), detail);
	cells[3] = actor;
	cells[4] = user;
	cells[5] = proto_rec_get(m, start, T_GROUP);
	cells[6] = rest;
	if (table_add(t, cells) != 0)
		return -1;
	table_color(t, 1, state_color(cells[1]));
	return 0;
}

/* --json: each event's user_login and actor_login beside user and actor,
 * from its detail (additive: the detail keeps them too). */
static void audit_json_login(cJSON *e)
{
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(e, "detail");
	char login[512];

	if (!cJSON_IsString(d) || d->valuestring == NULL)
		return;
	if (cJSON_GetObjectItemCaseSensitive(e, "user_login") == NULL &&
	    audit_get(d->valuestring, "user_login", login, sizeof(login)) == 0)
		cJSON_AddStringToObject(e, "user_login", login);
	if (cJSON_GetObjectItemCaseSensitive(e, "actor_login") == NULL &&
	    audit_get(d->valuestring, "actor_login", login, sizeof(login)) == 0)
		cJSON_AddStringToObject(e, "actor_login", login);
}

static void audit_json_logins(cJSON *events)
{
	cJSON *e;

	for (e = events != NULL ? events->child : NULL; e != NULL; e = e->next)
		audit_json_login(e);
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
	struct table *t = json ? NULL : grants_table();
	char cursor[32] = "";
	size_t pages = 0;
	int fd = -1, rc = EXIT_OK;

	if (json ? grants == NULL : t == NULL)
		return EXIT_FAIL;
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
		} else if (grant_rows(t, &m) != 0) {
			rc = EXIT_FAIL;
			proto_msg_free(&m);
			break;
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
		cJSON *top = errtop != NULL ? errtop : json_top();

		cJSON_AddBoolToObject(top, "ok", rc == EXIT_OK);
		cJSON_AddItemToObject(top, "grants", grants);
		if (json_print(top) != 0 && rc == EXIT_OK)
			rc = EXIT_FAIL;
	} else if (rc == EXIT_OK) {
		/* the whole listing as one table: widths from every page */
		rc = print_table(t);
	}
	table_free(t);
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
		fprintf(stderr, " [--since T] [--user U] [--group G] [--follow]\n");
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

/* `audit`: AUDIT's pages (docs/protocol.md "AUDIT pages"), each above
 * the row id the last one ended at (its CURSOR), oldest first. */
#define AUDIT_PAGE 500
#define AUDIT_PAGES_MAX 100000 /* 50,000,000 records: a daemon whose cursor never ends is cut off */

/* One page's request: the filters, LIMIT, and CURSOR when not NULL. */
static int audit_request(struct proto_out *o, int has_since, int64_t since, const char *user, const char *grp,
			 const char *cursor)
{
	proto_out_init(o, PROTO_AUDIT);
	if (has_since)
		proto_out_add_int(o, T_SINCE, since);
	if (user != NULL)
		proto_out_add(o, T_USER, user);
	if (grp != NULL)
		proto_out_add(o, T_GROUP, grp);
	proto_out_add_int(o, T_LIMIT, AUDIT_PAGE);
	if (cursor != NULL)
		proto_out_add(o, T_CURSOR, cursor);
	if (proto_out_finish(o, PROTO_MAX_REQUEST) != 0) {
		fprintf(stderr, "okta-jit audit: arguments too long\n");
		proto_out_free(o);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

/* One page, on a connection of its own (proto_call half-closes). A page
 * okta-jitd refuses as busy is asked again after a pause, as list's are.
 * quiet: nothing on stderr when okta-jitd cannot be reached. */
static int audit_call(const char *socket_path, const struct proto_out *o, int quiet, struct proto_msg *m)
{
	char err[256];
	int fd, r, tries;

	for (tries = 0; tries < 10; tries++) {
		fd = proto_connect(socket_path, 0, 5000, err, sizeof(err));
		if (fd < 0) {
			if (!quiet)
				fprintf(stderr, "okta-jit: %s (%s)\n", err, socket_path);
			return EXIT_DAEMON;
		}
		r = proto_call(fd, o, m, PROTO_MAX_PAYLOAD, CLIENT_TIMEOUT_MS);
		close(fd);
		if (r != 0) {
			if (!quiet)
				fprintf(stderr, "okta-jit: no answer from okta-jitd: %s\n", proto_strerror(r));
			return EXIT_DAEMON;
		}
		if (m->type != PROTO_ERROR || proto_get(m, T_CODE) == NULL || strcmp(proto_get(m, T_CODE), "busy") != 0)
			return EXIT_OK;
		proto_msg_free(m);
		usleep(1000 * 1000);
	}
	if (!quiet)
		fprintf(stderr, "okta-jit audit: okta-jitd stayed busy\n");
	return EXIT_DAEMON;
}

/* The page's CURSOR (before its first record; each record's own CURSOR
 * is its row id) into cursor, when it moves up from the one asked with.
 * 1: a next page, 0: the last page, -1: a cursor that does not move on. */
static int audit_page_next(const struct proto_msg *m, char *cursor, size_t n)
{
	const char *next = proto_rec_get(m, 0, T_CURSOR);
	int64_t v, was = 0;

	if (next == NULL)
		return 0;
	if (ojit_parse_int64(next, 1, INT64_MAX / 2, &v) != 0 || strlen(next) >= n ||
	    (cursor[0] != '\0' && (ojit_parse_int64(cursor, 0, INT64_MAX / 2, &was) != 0 || v <= was)))
		return -1;
	ojit_strlcpy(cursor, next, n);
	return 1;
}

/* An event record's fields (from start) into obj, as `audit --json`'s
 * events[] and `audit --follow --json`'s lines have them: the row id
 * (the record's CURSOR) as audit_id. */
static void audit_json_fields(cJSON *obj, const struct proto_msg *m, size_t start)
{
	size_t j;

	for (j = start; j < m->nfields && m->fields[j].tag != T_RECORD; j++) {
		const struct field_name *fn = field_info(m->fields[j].tag);
		const char *key = fn == NULL ? NULL : m->fields[j].tag == T_CURSOR ? "audit_id" : fn->name;
		int64_t v;

		if (key == NULL || cJSON_GetObjectItemCaseSensitive(obj, key) != NULL)
			continue;
		if (fn->numeric && ojit_parse_int64(m->fields[j].val, INT64_MIN / 2, INT64_MAX / 2, &v) == 0)
			cJSON_AddNumberToObject(obj, key, (double)v);
		else
			cJSON_AddStringToObject(obj, key, m->fields[j].val);
	}
	audit_json_login(obj);
}

/* `audit` without --follow: every page, as one table (widths from every
 * page) or one JSON document. */
static int cmd_audit(const char *socket_path, int json, int has_since, int64_t since, const char *user,
		     const char *grp)
{
	cJSON *events = json ? cJSON_CreateArray() : NULL, *errtop = NULL;
	struct table *t = json ? NULL : audit_table();
	char cursor[32] = "";
	size_t pages = 0, i;
	int rc = EXIT_OK;

	if (json ? events == NULL : t == NULL) {
		cJSON_Delete(events);
		return EXIT_FAIL;
	}
	for (;;) {
		struct proto_out o;
		struct proto_msg m;
		int more;

		rc = audit_request(&o, has_since, since, user, grp, cursor[0] ? cursor : NULL);
		if (rc != EXIT_OK)
			break;
		rc = audit_call(socket_path, &o, 0, &m);
		proto_out_free(&o);
		if (rc != EXIT_OK)
			break;
		if (m.type == PROTO_ERROR) {
			if (json) {
				cJSON *arr = reply_json(&m, &errtop);

				cJSON_Delete(arr);
			} else {
				fprintf(stderr, "okta-jit audit: ");
				put_safe(stderr, proto_get(&m, T_MESSAGE));
				fprintf(stderr, "\n");
			}
			rc = exit_for_code(proto_get(&m, T_CODE));
			proto_msg_free(&m);
			break;
		}
		for (i = 0; i < m.nfields && rc == EXIT_OK; i++) {
			cJSON *ev;

			if (m.fields[i].tag != T_RECORD)
				continue;
			if (!json) {
				if (audit_row(t, &m, i + 1) != 0)
					rc = EXIT_FAIL;
				continue;
			}
			ev = cJSON_CreateObject();
			if (ev == NULL || !cJSON_AddItemToArray(events, ev)) {
				cJSON_Delete(ev);
				rc = EXIT_FAIL;
				continue;
			}
			audit_json_fields(ev, &m, i + 1);
		}
		more = audit_page_next(&m, cursor, sizeof(cursor));
		proto_msg_free(&m);
		if (rc != EXIT_OK || more == 0)
			break;
		if (more < 0 || ++pages >= AUDIT_PAGES_MAX) {
			fprintf(stderr, "okta-jit audit: okta-jitd's page cursor does not move on; trail cut\n");
			rc = EXIT_DAEMON;
			break;
		}
	}
	if (json) {
		/* an ERROR's code and message, as for any other command */
		cJSON *top = errtop != NULL ? errtop : json_top();

		cJSON_AddBoolToObject(top, "ok", rc == EXIT_OK);
		cJSON_AddItemToObject(top, "events", events);
		if (json_print(top) != 0 && rc == EXIT_OK)
			rc = EXIT_FAIL;
	} else if (rc == EXIT_OK) {
		rc = print_table(t);
	}
	table_free(t);
	return rc;
}

/* `audit --follow`: AUDIT again every second, printing the rows not yet
 * printed, until SIGINT/SIGTERM or a reader that went away (SIGPIPE).
 * Rows are told apart by their id, not taken "after the last id": on a
 * PostgreSQL ledger shared by granters, ids become visible in the order
 * their transactions commit, not the order they were drawn. So each poll
 * asks from a little before the newest row seen (FOLLOW_SLACK), every
 * page of it (up the row ids, each printed as it comes), and skips the
 * ids it printed. */
#define FOLLOW_SLACK 30
#define FOLLOW_SEEN_MAX 200000

struct follow_seen {
	int64_t id, at;
	unsigned long poll; /* the poll that printed it */
};

struct follow {
	const char *socket_path, *user, *grp;
	int json;
	struct table *t;
	size_t widths[7];
	int header;
	struct follow_seen *seen;
	size_t nseen, capseen;
	int64_t newest_at;
	unsigned long poll;   /* the poll under way */
	unsigned long pages;  /* pages answered since the start */
	int down;             /* okta-jitd did not answer the last poll */
};

static volatile sig_atomic_t follow_stop;

static void follow_signal(int sig)
{
	(void)sig;
	follow_stop = 1;
}

static int seen_has(const struct follow *f, int64_t id)
{
	size_t i;

	for (i = 0; i < f->nseen; i++)
		if (f->seen[i].id == id)
			return 1;
	return 0;
}

/* Forget the ids no later page can bring again: those of an earlier poll
 * older than this poll's SINCE (from), and any older than the window the
 * next poll asks for. A poll's own pages never repeat an id (each is
 * above the last), so a long --since stays a short list. */
static void seen_prune(struct follow *f, int64_t from)
{
	size_t i, kept;

	for (i = 0, kept = 0; i < f->nseen; i++) {
		const struct follow_seen *e = &f->seen[i];

		if (e->at >= f->newest_at - FOLLOW_SLACK || (e->poll != f->poll && e->at >= from))
			f->seen[kept++] = *e;
	}
	f->nseen = kept;
}

/* One page's new rows: printed (a table's rows, or JSON lines) and
 * remembered. -1: stdout is gone or no memory. */
static int follow_print(struct follow *f, const struct proto_msg *m)
{
	size_t i;

	for (i = 0; i < m->nfields; i++) {
		int64_t id, at;

		if (m->fields[i].tag != T_RECORD)
			continue;
		id = proto_rec_int(m, i + 1, T_CURSOR);
		at = proto_rec_int(m, i + 1, T_AT);
		if (id <= 0 || seen_has(f, id))
			continue;
		if (f->nseen == f->capseen) {
			size_t cap = f->capseen ? f->capseen * 2 : 256;
			struct follow_seen *n;

			if (cap > FOLLOW_SEEN_MAX)
				return -1;
			n = realloc(f->seen, cap * sizeof(*n));
			if (n == NULL)
				return -1;
			f->seen = n;
			f->capseen = cap;
		}
		f->seen[f->nseen++] = (struct follow_seen){ id, at, f->poll };
		if (at > f->newest_at)
			f->newest_at = at;
		if (f->json) {
			/* one event a line, the fields of `audit --json`'s events[] */
			cJSON *doc = json_top();
			char *line;
			int ok;

			if (doc == NULL)
				return -1;
			audit_json_fields(doc, m, i + 1);
			line = cJSON_PrintUnformatted(doc);
			cJSON_Delete(doc);
			ok = line != NULL && printf("%s\n", line) >= 0;
			free(line);
			if (!ok)
				return -1;
		} else if (audit_row(f->t, m, i + 1) != 0) {
			return -1;
		}
	}
	if (!f->json && (table_rows(f->t) > 0 || f->header)) {
		if (table_print_rows(f->t, stdout, &out_mode, f->widths, f->header) != 0)
			return -1;
		f->header = 0;
		table_clear(f->t);
	}
	return fflush(stdout) == 0 ? 0 : -1;
}

/* One poll: every page of the trail from `from`, the first with CURSOR 0
 * (a follower's poll, docs/protocol.md), each printed as it comes.
 * EXIT_OK; EXIT_DAEMON when okta-jitd did not answer a page (*fatal 0:
 * keep following); else *fatal = 1 and the code to exit with. */
static int follow_poll(struct follow *f, int64_t from, int *fatal)
{
	char cursor[32] = "0";
	size_t pages = 0;

	*fatal = 0;
	while (!follow_stop) {
		struct proto_out o;
		struct proto_msg m;
		int rc, more;

		rc = audit_request(&o, 1, from, f->user, f->grp, cursor);
		if (rc != EXIT_OK) {
			*fatal = 1;
			return rc;
		}
		/* once okta-jitd is down, said once, not every second */
		rc = audit_call(f->socket_path, &o, f->down || follow_stop, &m);
		proto_out_free(&o);
		if (rc != EXIT_OK)
			return rc;
		if (f->down)
			fprintf(stderr, "okta-jit audit: okta-jitd answers again\n");
		f->down = 0;
		f->pages++;
		if (m.type == PROTO_ERROR) {
			fprintf(stderr, "okta-jit audit: ");
			put_safe(stderr, proto_get(&m, T_MESSAGE));
			fprintf(stderr, "\n");
			rc = exit_for_code(proto_get(&m, T_CODE));
			proto_msg_free(&m);
			*fatal = 1;
			return rc;
		}
		if (follow_print(f, &m) != 0) {
			/* the reader is gone: nothing to say to it */
			rc = errno == EPIPE ? EXIT_OK : EXIT_FAIL;
			proto_msg_free(&m);
			*fatal = 1;
			return rc;
		}
		more = audit_page_next(&m, cursor, sizeof(cursor));
		proto_msg_free(&m);
		seen_prune(f, from);
		if (more == 0)
			break;
		if (more < 0 || ++pages >= AUDIT_PAGES_MAX) {
			fprintf(stderr, "okta-jit audit: okta-jitd's page cursor does not move on\n");
			*fatal = 1;
			return EXIT_DAEMON;
		}
	}
	return EXIT_OK;
}

static int audit_follow(const char *socket_path, int json, int64_t since, const char *user, const char *grp)
{
	struct sigaction sa;
	struct follow f;
	int fatal = 0, rc = EXIT_OK;

	memset(&f, 0, sizeof(f));
	f.socket_path = socket_path;
	f.user = user;
	f.grp = grp;
	f.json = json;
	f.header = 1;
	f.t = json ? NULL : audit_table();
	if (!json && f.t == NULL)
		return EXIT_FAIL;
	/* no SA_RESTART: the pause and a poll in flight end at once */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = follow_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0) {
		table_free(f.t);
		return EXIT_FAIL;
	}
	/* a reader that went away (`| head`) is seen as EPIPE on a write */
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) != 0) {
		table_free(f.t);
		return EXIT_FAIL;
	}
	while (!follow_stop) {
		struct timespec pause = { 1, 0 };
		int64_t from = since;

		if (f.newest_at - FOLLOW_SLACK > from)
			from = f.newest_at - FOLLOW_SLACK;
		f.poll++;
		rc = follow_poll(&f, from, &fatal);
		if (fatal)
			break;
		if (rc != EXIT_OK) {
			/* okta-jitd restarting: keep following once it answered */
			if (f.pages == 0)
				break;
			if (!f.down && !follow_stop)
				fprintf(stderr, "okta-jit audit: following again when okta-jitd answers\n");
			f.down = 1;
			rc = EXIT_OK;
		}
		while (!follow_stop && nanosleep(&pause, &pause) != 0 && errno == EINTR)
			;
	}
	free(f.seen);
	table_free(f.t);
	return follow_stop ? EXIT_OK : rc;
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
					      { "follow", no_argument, NULL, 'F' },
					      { "help", no_argument, NULL, 'h' },
					      { NULL, 0, NULL, 0 } };
	const char *reason = NULL, *user = NULL, *group = NULL, *since = NULL;
	int64_t dur = 0, id = 0, since_t = 0;
	int all = 0, pending = 0, follow = 0, opt, fd = -1, rc = EXIT_FAIL, r;
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
	else if (strcmp(cmd, "metrics") == 0)
		return cli_metrics(socket_path, json, argc, argv);
	else
		return -1;
	table_out_detect(STDOUT_FILENO, &out_mode);

	optind = 0; /* 0: glibc re-initialises, so permuting works after main's "+" scan */
	while ((opt = getopt_long(argc, argv, "f:r:u:g:s:apFh", opts, NULL)) != -1) {
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
		case 'F':
			if (type != PROTO_AUDIT)
				return cmd_usage(cmd);
			follow = 1;
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
		if (argc != 0) {
			proto_out_free(&o);
			return cmd_usage(cmd);
		}
		proto_out_free(&o);
		if (follow)
			return audit_follow(socket_path, json, since != NULL ? since_t : ojit_now(), user, group);
		return cmd_audit(socket_path, json, since != NULL, since_t, user, group);
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

		cJSON_AddBoolToObject(top, "ok", m.type == PROTO_OK);
		if (type == PROTO_AUDIT)
			audit_json_logins(arr);
		if (type == PROTO_FLOWS && m.type == PROTO_OK)
			cJSON_Delete(arr), cJSON_DeleteItemFromObject(top, "access_details"), flows_json(&m, top);
		else if (type == PROTO_LIST || type == PROTO_STATUS || type == PROTO_DRIFT)
			cJSON_AddItemToObject(top, type == PROTO_DRIFT ? "drift" : "grants", arr);
		else if (cJSON_GetArraySize(arr) > 0)
			cJSON_AddItemToObject(top, "grant", cJSON_DetachItemFromArray(arr, 0)), cJSON_Delete(arr);
		else
			cJSON_Delete(arr);
		rc = m.type == PROTO_OK ? EXIT_OK : exit_for_code(proto_get(&m, T_CODE));
		if (json_print(top) != 0 && rc == EXIT_OK)
			rc = EXIT_FAIL;
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
		rc = print_grants(&m);
		proto_msg_free(&m);
		return rc;
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
