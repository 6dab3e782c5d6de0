/* ledger_driver - drive a ledger backend's operations from the tests
 * (tests/integration/test_ledger_pg.py), so that the same sequence can be
 * run against SQLite and PostgreSQL and the answers compared.
 *
 *   ledger_driver sqlite PATH
 *   ledger_driver pg CONNINFO [PASSWORD_FILE]
 *
 * Opens the backend through its ops table (ledger_backend.h) and prints one
 * JSON line: {"open": true, "backend": ..., "schema_version": N} or
 * {"open": false, "error": ...} (exit 2). Then reads one JSON request per
 * line on stdin ({"op": "insert", "grant": {...}}, {"op": "notify_add",
 * "notification": {...}}, see run()) and answers
 * each with one JSON line; "rc" is the backend's return code and "error"
 * its last error when rc is LEDGER_ERR. Exits at end of input. */
#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger_backend.h"
#include "util.h"

/* ledger_pg.c's count of lost connections (not yet in ledger_backend.h). */

static const struct ledger_ops *ops;
static void *be;
static int is_pg;

static void get_str(const cJSON *o, const char *key, char *dst, size_t n)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (cJSON_IsString(v))
		ojit_strlcpy(dst, v->valuestring, n);
}

/* NULL when absent or null: the ledger's "no filter". */
static const char *opt_str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int64_t get_i64(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
}

static void grant_from_json(const cJSON *o, struct grant *g)
{
	memset(g, 0, sizeof(*g));
	g->id = get_i64(o, "id");
	get_str(o, "kind", g->kind, sizeof(g->kind));
	g->parent_id = get_i64(o, "parent_id");
	get_str(o, "user", g->user, sizeof(g->user));
	get_str(o, "okta_login", g->okta_login, sizeof(g->okta_login));
	get_str(o, "okta_user_id", g->okta_user_id, sizeof(g->okta_user_id));
	get_str(o, "grp", g->grp, sizeof(g->grp));
	get_str(o, "group_id", g->group_id, sizeof(g->group_id));
	get_str(o, "flow", g->flow, sizeof(g->flow));
	get_str(o, "requester", g->requester, sizeof(g->requester));
	get_str(o, "reason", g->reason, sizeof(g->reason));
	get_str(o, "approver", g->approver, sizeof(g->approver));
	get_str(o, "state", g->state, sizeof(g->state));
	get_str(o, "op", g->op, sizeof(g->op));
	g->was_member = (int)get_i64(o, "was_member");
	g->duration = get_i64(o, "duration");
	g->requested_at = get_i64(o, "requested_at");
	g->pending_expires_at = get_i64(o, "pending_expires_at");
	g->decided_at = get_i64(o, "decided_at");
	g->start_at = get_i64(o, "start_at");
	g->end_at = get_i64(o, "end_at");
	g->updated_at = get_i64(o, "updated_at");
	g->op_attempts = (int)get_i64(o, "op_attempts");
	g->add_unsure = (int)get_i64(o, "add_unsure");
	get_str(o, "sig", g->sig, sizeof(g->sig));
	g->next_attempt_at = get_i64(o, "next_attempt_at");
	get_str(o, "last_error", g->last_error, sizeof(g->last_error));
}

static cJSON *grant_to_json(const struct grant *g)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "id", (double)g->id);
	cJSON_AddStringToObject(o, "kind", g->kind);
	cJSON_AddNumberToObject(o, "parent_id", (double)g->parent_id);
	cJSON_AddStringToObject(o, "user", g->user);
	cJSON_AddStringToObject(o, "okta_login", g->okta_login);
	cJSON_AddStringToObject(o, "okta_user_id", g->okta_user_id);
	cJSON_AddStringToObject(o, "grp", g->grp);
	cJSON_AddStringToObject(o, "group_id", g->group_id);
	cJSON_AddStringToObject(o, "flow", g->flow);
	cJSON_AddStringToObject(o, "requester", g->requester);
	cJSON_AddStringToObject(o, "reason", g->reason);
	cJSON_AddStringToObject(o, "approver", g->approver);
	cJSON_AddStringToObject(o, "state", g->state);
	cJSON_AddStringToObject(o, "op", g->op);
	cJSON_AddNumberToObject(o, "was_member", g->was_member);
	cJSON_AddNumberToObject(o, "add_unsure", g->add_unsure);
	cJSON_AddStringToObject(o, "sig", g->sig);
	cJSON_AddNumberToObject(o, "duration", (double)g->duration);
	cJSON_AddNumberToObject(o, "requested_at", (double)g->requested_at);
	cJSON_AddNumberToObject(o, "pending_expires_at", (double)g->pending_expires_at);
	cJSON_AddNumberToObject(o, "decided_at", (double)g->decided_at);
	cJSON_AddNumberToObject(o, "start_at", (double)g->start_at);
	cJSON_AddNumberToObject(o, "end_at", (double)g->end_at);
	cJSON_AddNumberToObject(o, "updated_at", (double)g->updated_at);
	cJSON_AddNumberToObject(o, "op_attempts", g->op_attempts);
	cJSON_AddNumberToObject(o, "next_attempt_at", (double)g->next_attempt_at);
	cJSON_AddStringToObject(o, "last_error", g->last_error);
	return o;
}

struct rows {
	cJSON *arr;
	long stop_after; /* the callback says stop after this many (0: never) */
	int reenter;     /* the callback reads each grant again */
	int reenter_bad;
};

static int grant_row(const struct grant *g, void *ctx)
{
	struct rows *r = ctx;
	struct grant again;

	if (r->reenter && (ops->grant_get(be, g->id, &again) != LEDGER_OK || again.id != g->id))
		r->reenter_bad++;
	cJSON_AddItemToArray(r->arr, grant_to_json(g));
	return r->stop_after > 0 && cJSON_GetArraySize(r->arr) >= r->stop_after;
}

static int audit_row(const struct audit_event *e, void *ctx)
{
	struct rows *r = ctx;
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "id", (double)e->id);
	cJSON_AddNumberToObject(o, "at", (double)e->at);
	cJSON_AddStringToObject(o, "event", e->event);
	cJSON_AddNumberToObject(o, "grant_id", (double)e->grant_id);
	cJSON_AddStringToObject(o, "actor", e->actor);
	cJSON_AddStringToObject(o, "user", e->user);
	cJSON_AddStringToObject(o, "grp", e->grp);
	cJSON_AddStringToObject(o, "detail", e->detail);
	cJSON_AddItemToArray(r->arr, o);
	return r->stop_after > 0 && cJSON_GetArraySize(r->arr) >= r->stop_after;
}

static int session_row(const struct ledger_session *s, void *ctx)
{
	struct rows *r = ctx;
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "id", (double)s->id);
	cJSON_AddNumberToObject(o, "grant_id", (double)s->grant_id);
	cJSON_AddStringToObject(o, "user", s->user);
	cJSON_AddNumberToObject(o, "pid", (double)s->pid);
	cJSON_AddStringToObject(o, "service", s->service);
	cJSON_AddStringToObject(o, "tty", s->tty);
	cJSON_AddNumberToObject(o, "opened_at", (double)s->opened_at);
	cJSON_AddNumberToObject(o, "closed_at", (double)s->closed_at);
	cJSON_AddNumberToObject(o, "warned_at", (double)s->warned_at);
	cJSON_AddStringToObject(o, "logind_id", s->logind_id);
	cJSON_AddNumberToObject(o, "pid_start", (double)s->pid_start);
	cJSON_AddItemToArray(r->arr, o);
	return r->stop_after > 0 && cJSON_GetArraySize(r->arr) >= r->stop_after;
}

static void notification_from_json(const cJSON *o, struct notification *n)
{
	memset(n, 0, sizeof(*n));
	n->id = get_i64(o, "id");
	get_str(o, "target", n->target, sizeof(n->target));
	get_str(o, "event", n->event, sizeof(n->event));
	n->grant_id = get_i64(o, "grant_id");
	get_str(o, "payload", n->payload, sizeof(n->payload));
	n->created_at = get_i64(o, "created_at");
	n->next_attempt_at = get_i64(o, "next_attempt_at");
	n->attempts = (int)get_i64(o, "attempts");
	get_str(o, "last_error", n->last_error, sizeof(n->last_error));
	n->sent_at = get_i64(o, "sent_at");
	n->dropped_at = get_i64(o, "dropped_at");
}

static int notification_row(const struct notification *n, void *ctx)
{
	struct rows *r = ctx;
	cJSON *o;

	/* notify.c may call the ledger from inside the walk */
	if (r->reenter && ops->notify_exists(be, n->target, n->event, n->grant_id) != LEDGER_OK)
		r->reenter_bad++;
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "id", (double)n->id);
	cJSON_AddStringToObject(o, "target", n->target);
	cJSON_AddStringToObject(o, "event", n->event);
	cJSON_AddNumberToObject(o, "grant_id", (double)n->grant_id);
	cJSON_AddStringToObject(o, "payload", n->payload);
	cJSON_AddNumberToObject(o, "created_at", (double)n->created_at);
	cJSON_AddNumberToObject(o, "next_attempt_at", (double)n->next_attempt_at);
	cJSON_AddNumberToObject(o, "attempts", n->attempts);
	cJSON_AddStringToObject(o, "last_error", n->last_error);
	cJSON_AddNumberToObject(o, "sent_at", (double)n->sent_at);
	cJSON_AddNumberToObject(o, "dropped_at", (double)n->dropped_at);
	cJSON_AddItemToArray(r->arr, o);
	return r->stop_after > 0 && cJSON_GetArraySize(r->arr) >= r->stop_after;
}

/* Several threads insert, read back and update grants at once: the
 * backend's one connection must serialize them. */
struct hammer {
	int count;
	int ok;
	int tid;
};

static void *hammer_thread(void *arg)
{
	struct hammer *h = arg;
	struct grant g, back;
	int i;

	for (i = 0; i < h->count; i++) {
		memset(&g, 0, sizeof(g));
		snprintf(g.user, sizeof(g.user), "h%d", h->tid);
		snprintf(g.grp, sizeof(g.grp), "g%d", i);
		snprintf(g.requester, sizeof(g.requester), "h%d", h->tid);
		snprintf(g.state, sizeof(g.state), "pending");
		g.duration = 60;
		g.requested_at = 1000 + i;
		if (ops->grant_insert(be, &g) != LEDGER_OK || ops->grant_get(be, g.id, &back) != LEDGER_OK ||
		    strcmp(back.user, g.user) != 0)
			continue;
		snprintf(back.state, sizeof(back.state), "denied");
		if (ops->grant_update(be, &back, "pending") == LEDGER_OK)
			h->ok++;
	}
	return NULL;
}

static cJSON *head_to_json(const struct snapshot_head *h)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "grp", h->grp);
	cJSON_AddStringToObject(o, "group_id", h->group_id);
	cJSON_AddNumberToObject(o, "taken_at", (double)h->taken_at);
	cJSON_AddNumberToObject(o, "gen", (double)h->gen);
	cJSON_AddNumberToObject(o, "nmembers", (double)h->nmembers);
	cJSON_AddStringToObject(o, "host", h->host);
	cJSON_AddStringToObject(o, "state", h->state);
	cJSON_AddStringToObject(o, "sig", h->sig);
	return o;
}

static int head_row(const struct snapshot_head *h, void *ctx)
{
	cJSON_AddItemToArray(((struct rows *)ctx)->arr, head_to_json(h));
	return 0;
}

static void change_row(void *ctx, char kind, int64_t id, const char *grp)
{
	cJSON *o = cJSON_CreateObject();
	char k[2] = { kind, '\0' };

	cJSON_AddStringToObject(o, "kind", k);
	cJSON_AddNumberToObject(o, "id", (double)id);
	cJSON_AddStringToObject(o, "grp", grp);
	cJSON_AddItemToArray(((struct rows *)ctx)->arr, o);
}

static int drift_row(const struct drift_row *r, void *ctx)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "group_id", r->group_id);
	cJSON_AddStringToObject(o, "okta_user_id", r->okta_user_id);
	cJSON_AddStringToObject(o, "grp", r->grp);
	cJSON_AddStringToObject(o, "login", r->login);
	cJSON_AddNumberToObject(o, "first_seen", (double)r->first_seen);
	cJSON_AddNumberToObject(o, "last_seen", (double)r->last_seen);
	cJSON_AddStringToObject(o, "state", r->state);
	cJSON_AddNumberToObject(o, "attempts", r->attempts);
	cJSON_AddStringToObject(o, "last_error", r->last_error);
	cJSON_AddStringToObject(o, "host", r->host);
	cJSON_AddItemToArray(((struct rows *)ctx)->arr, o);
	return 0;
}

static cJSON *run(const cJSON *req)
{
	const char *op = opt_str(req, "op");
	cJSON *out = cJSON_CreateObject();
	struct rows rows = { 0 };
	struct grant g;
	int rc = LEDGER_OK;

	if (op == NULL)
		op = "";
	rows.stop_after = (long)get_i64(req, "stop_after");
	rows.reenter = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, "reenter"));
	if (strcmp(op, "insert") == 0) {
		grant_from_json(cJSON_GetObjectItemCaseSensitive(req, "grant"), &g);
		rc = ops->grant_insert(be, &g);
		if (rc == LEDGER_OK)
			cJSON_AddNumberToObject(out, "id", (double)g.id);
	} else if (strcmp(op, "get") == 0 || strcmp(op, "active") == 0 || strcmp(op, "pending") == 0) {
		memset(&g, 0, sizeof(g));
		if (op[0] == 'g')
			rc = ops->grant_get(be, get_i64(req, "id"), &g);
		else if (op[0] == 'a')
			rc = ops->grant_active(be, opt_str(req, "user"), opt_str(req, "grp"), get_i64(req, "now"), &g);
		else
			rc = ops->grant_pending(be, opt_str(req, "user"), opt_str(req, "grp"), &g);
		if (rc == LEDGER_OK)
			cJSON_AddItemToObject(out, "grant", grant_to_json(&g));
	} else if (strcmp(op, "update") == 0) {
		grant_from_json(cJSON_GetObjectItemCaseSensitive(req, "grant"), &g);
		rc = ops->grant_update(be, &g, opt_str(req, "expected"));
	} else if (strcmp(op, "active_end") == 0) {
		struct grant_end ge;

		memset(&ge, 0xff, sizeof(ge));
		rc = ops->grant_active_end(be, opt_str(req, "user"), opt_str(req, "grp"), get_i64(req, "now"), &ge);
		cJSON_AddNumberToObject(out, "id", (double)ge.id);
		cJSON_AddNumberToObject(out, "end_at", (double)ge.end_at);
		ge.group_id[sizeof(ge.group_id) - 1] = '\0';
		cJSON_AddStringToObject(out, "group_id", ge.group_id);
	} else if (strcmp(op, "list") == 0 || strcmp(op, "due") == 0) {
		rows.arr = cJSON_AddArrayToObject(out, "rows");
		if (op[0] == 'l')
			rc = ops->grant_list(be, opt_str(req, "user"), opt_str(req, "states"),
					     get_i64(req, "before_id"), (size_t)get_i64(req, "limit"), grant_row, &rows);
		else
			rc = ops->grant_due(be, get_i64(req, "now"), grant_row, &rows);
		if (rows.reenter)
			cJSON_AddNumberToObject(out, "reenter_bad", rows.reenter_bad);
	} else if (strcmp(op, "next_due") == 0) {
		cJSON_AddNumberToObject(out, "t", (double)ops->next_due(be));
	} else if (strcmp(op, "counts") == 0) {
		struct ledger_counts c;

		memset(&c, 0xff, sizeof(c));
		rc = ops->counts(be, get_i64(req, "ended_before"), &c);
		cJSON_AddNumberToObject(out, "removals_overdue", (double)c.removals_overdue);
		cJSON_AddNumberToObject(out, "notify_backlog", (double)c.notify_backlog);
	} else if (strcmp(op, "claim") == 0) {
		cJSON_AddNumberToObject(out, "r", ops->claim(be, get_i64(req, "id")));
	} else if (strcmp(op, "unclaim") == 0) {
		ops->unclaim(be, get_i64(req, "id"));
	} else if (strcmp(op, "audit_add") == 0) {
		rc = ops->audit_add(be, opt_str(req, "event"), get_i64(req, "grant_id"), opt_str(req, "actor"),
				    opt_str(req, "user"), opt_str(req, "grp"), opt_str(req, "detail"));
	} else if (strcmp(op, "audit_list") == 0) {
		rows.arr = cJSON_AddArrayToObject(out, "rows");
		rc = ops->audit_list(be, get_i64(req, "since"), opt_str(req, "user"), opt_str(req, "grp"),
				     get_i64(req, "grant_id"), get_i64(req, "after_id"), (size_t)get_i64(req, "limit"),
				     audit_row, &rows);
	} else if (strcmp(op, "notify_add") == 0 || strcmp(op, "notify_update") == 0) {
		struct notification n;

		notification_from_json(cJSON_GetObjectItemCaseSensitive(req, "notification"), &n);
		if (op[7] == 'a') {
			rc = ops->notify_add(be, &n);
			if (rc == LEDGER_OK)
				cJSON_AddNumberToObject(out, "id", (double)n.id);
		} else {
			rc = ops->notify_update(be, &n);
		}
	} else if (strcmp(op, "notify_due") == 0) {
		rows.arr = cJSON_AddArrayToObject(out, "rows");
		rc = ops->notify_due(be, opt_str(req, "target"), get_i64(req, "after"), get_i64(req, "now"),
				     (size_t)get_i64(req, "limit"), notification_row, &rows);
		if (rows.reenter)
			cJSON_AddNumberToObject(out, "reenter_bad", rows.reenter_bad);
	} else if (strcmp(op, "notify_prune") == 0) {
		rc = ops->notify_prune(be, get_i64(req, "before"));
	} else if (strcmp(op, "notify_exists") == 0) {
		rc = ops->notify_exists(be, opt_str(req, "target"), opt_str(req, "event"), get_i64(req, "grant_id"));
	} else if (strcmp(op, "session_open") == 0) {
		const cJSON *o = cJSON_GetObjectItemCaseSensitive(req, "session");
		struct ledger_session s;

		memset(&s, 0, sizeof(s));
		s.grant_id = get_i64(o, "grant_id");
		get_str(o, "user", s.user, sizeof(s.user));
		s.pid = get_i64(o, "pid");
		get_str(o, "service", s.service, sizeof(s.service));
		get_str(o, "tty", s.tty, sizeof(s.tty));
		s.opened_at = get_i64(o, "opened_at");
		get_str(o, "logind_id", s.logind_id, sizeof(s.logind_id));
		s.pid_start = get_i64(o, "pid_start");
		rc = ops->session_open(be, &s);
		if (rc == LEDGER_OK)
			cJSON_AddNumberToObject(out, "id", (double)s.id);
	} else if (strcmp(op, "session_close") == 0) {
		rc = ops->session_close(be, get_i64(req, "id"), get_i64(req, "now"));
	} else if (strcmp(op, "session_warned") == 0) {
		rc = ops->session_mark_warned(be, get_i64(req, "id"), get_i64(req, "now"));
	} else if (strcmp(op, "sessions") == 0) {
		rows.arr = cJSON_AddArrayToObject(out, "rows");
		rc = ops->session_list_open(be, get_i64(req, "grant_id"), session_row, &rows);
	} else if (strcmp(op, "snapshot_put") == 0) {
		struct snapshot_head h;

		memset(&h, 0, sizeof(h));
		ojit_strlcpy(h.grp, opt_str(req, "grp") ? opt_str(req, "grp") : "", sizeof(h.grp));
		ojit_strlcpy(h.group_id, opt_str(req, "group_id") ? opt_str(req, "group_id") : "", sizeof(h.group_id));
		ojit_strlcpy(h.host, opt_str(req, "host") ? opt_str(req, "host") : "", sizeof(h.host));
		ojit_strlcpy(h.state, opt_str(req, "state") ? opt_str(req, "state") : "ok", sizeof(h.state));
		ojit_strlcpy(h.sig, opt_str(req, "sig") ? opt_str(req, "sig") : "", sizeof(h.sig));
		h.taken_at = get_i64(req, "taken_at");
		h.nmembers = get_i64(req, "nmembers");
		rc = ops->snapshot_put(be, &h, opt_str(req, "members"));
		cJSON_AddNumberToObject(out, "gen", (double)h.gen);
	} else if (strcmp(op, "snapshot_heads") == 0) {
		rows.arr = cJSON_AddArrayToObject(out, "rows");
		rc = ops->snapshot_heads(be, head_row, &rows);
	} else if (strcmp(op, "snapshot_get") == 0) {
		struct snapshot_head h;
		char *members = NULL;

		rc = ops->snapshot_get(be, opt_str(req, "grp"), &h, &members);
		if (rc == LEDGER_OK) {
			cJSON_AddItemToObject(out, "head", head_to_json(&h));
			cJSON_AddStringToObject(out, "members", members);
		}
		free(members);
	} else if (strcmp(op, "drift_put") == 0) {
		struct drift_row r;

		memset(&r, 0, sizeof(r));
		get_str(req, "group_id", r.group_id, sizeof(r.group_id));
		get_str(req, "okta_user_id", r.okta_user_id, sizeof(r.okta_user_id));
		get_str(req, "grp", r.grp, sizeof(r.grp));
		get_str(req, "login", r.login, sizeof(r.login));
		r.first_seen = get_i64(req, "first_seen");
		r.last_seen = get_i64(req, "last_seen");
		get_str(req, "state", r.state, sizeof(r.state));
		r.attempts = (int)get_i64(req, "attempts");
		get_str(req, "last_error", r.last_error, sizeof(r.last_error));
		get_str(req, "host", r.host, sizeof(r.host));
		rc = ops->drift_put(be, &r);
	} else if (strcmp(op, "drift_list") == 0) {
		rows.arr = cJSON_AddArrayToObject(out, "rows");
		rc = ops->drift_list(be, opt_str(req, "grp"), drift_row, &rows);
	} else if (strcmp(op, "drift_del") == 0) {
		rc = ops->drift_del(be, opt_str(req, "group_id") ? opt_str(req, "group_id") : "",
				    opt_str(req, "okta_user_id") ? opt_str(req, "okta_user_id") : "");
	} else if (strcmp(op, "listen") == 0) {
		rc = ops->listen(be);
	} else if (strcmp(op, "wait_changes") == 0) {
		int n;

		rows.arr = cJSON_AddArrayToObject(out, "rows");
		n = ops->wait_changes(be, (int)get_i64(req, "timeout_ms"), change_row, &rows);
		rc = n < 0 ? LEDGER_ERR : LEDGER_OK;
		cJSON_AddNumberToObject(out, "n", n);
	} else if (strcmp(op, "schema_version") == 0) {
		cJSON_AddNumberToObject(out, "v", ops->schema_version(be));
	} else if (strcmp(op, "last_error") == 0) {
		cJSON_AddStringToObject(out, "error", ops->last_error(be));
	} else if (strcmp(op, "reconnects") == 0 && is_pg) {
		cJSON_AddNumberToObject(out, "n", (double)ledger_pg_reconnects(be));
	} else if (strcmp(op, "hammer") == 0) {
		struct hammer h[16];
		pthread_t t[16];
		int i, n = (int)get_i64(req, "threads"), ok = 0;

		if (n < 1 || n > 16)
			n = 1;
		for (i = 0; i < n; i++) {
			h[i].count = (int)get_i64(req, "count");
			h[i].ok = 0;
			h[i].tid = i;
			pthread_create(&t[i], NULL, hammer_thread, &h[i]);
		}
		for (i = 0; i < n; i++) {
			pthread_join(t[i], NULL);
			ok += h[i].ok;
		}
		cJSON_AddNumberToObject(out, "ok", ok);
	} else {
		cJSON_AddStringToObject(out, "bad_request", op);
	}
	cJSON_AddNumberToObject(out, "rc", rc);
	if (rc == LEDGER_ERR)
		cJSON_AddStringToObject(out, "error", ops->last_error(be));
	return out;
}

static void print_json(cJSON *o)
{
	char *s = cJSON_PrintUnformatted(o);

	printf("%s\n", s ? s : "{}");
	fflush(stdout);
	free(s);
	cJSON_Delete(o);
}

int main(int argc, char **argv)
{
	char err[1024] = "";
	char *line = NULL;
	size_t cap = 0;
	cJSON *o;

	ojit_log_init("ledger_driver", OJIT_LOG_STDERR, getenv("OKTA_JIT_DEBUG") != NULL);
	if (argc >= 3 && strcmp(argv[1], "sqlite") == 0) {
		ops = &ledger_sqlite_ops;
		be = ledger_sqlite_open(argv[2], err, sizeof(err));
	} else if (argc >= 3 && strcmp(argv[1], "pg") == 0) {
		ops = &ledger_pg_ops;
		is_pg = 1;
		be = ledger_pg_open(argv[2], argc > 3 ? argv[3] : NULL, err, sizeof(err));
	} else {
		fprintf(stderr, "usage: ledger_driver sqlite PATH | pg CONNINFO [PASSWORD_FILE]\n");
		return 64;
	}
	o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "open", be != NULL);
	if (be == NULL) {
		cJSON_AddStringToObject(o, "error", err);
		print_json(o);
		return 2;
	}
	cJSON_AddStringToObject(o, "backend", ops->name);
	cJSON_AddNumberToObject(o, "schema_version", ops->schema_version(be));
	cJSON_AddNumberToObject(o, "schema_count", ledger_schema_count());
	print_json(o);
	while (getline(&line, &cap, stdin) > 0) {
		cJSON *req = cJSON_Parse(line);

		if (req == NULL) {
			o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "bad_request", "not JSON");
			print_json(o);
			continue;
		}
		print_json(run(req));
		cJSON_Delete(req);
	}
	free(line);
	ops->close(be);
	return 0;
}
