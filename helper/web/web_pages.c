/* web_pages.c - my access, request access, waiting for me, a grant. */
#include "web_pages.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "audit.h"
#include "duration.h"
#include "proto.h"
#include "proto_records.h"
#include "web_html.h"
#include "web_jitd.h"

/* A page, lists of 1,000 requests included, stays under this. */
#define WEB_PAGE_MAX (4 * 1024 * 1024)
#define WEB_REASON_MAX 512 /* the ledger's LEDGER_REASON_MAX */
#define WEB_GROUP_MAX 256

void web_resp_init(struct web_resp *r)
{
	memset(r, 0, sizeof(*r));
	r->status = 200;
	ojit_buf_init(&r->body, WEB_PAGE_MAX);
}

void web_resp_free(struct web_resp *r)
{
	ojit_buf_free(&r->body);
}

void web_page_message(struct web_resp *r, unsigned status, const char *title, const char *user,
		      const char *msg)
{
	r->status = status;
	r->body.len = 0;
	web_html_head(&r->body, title, user);
	web_html_lit(&r->body, status >= 400 ? "<p class=\"err\">" : "<p class=\"ok\">");
	web_html_esc(&r->body, msg);
	web_html_lit(&r->body, "</p><p><a href=\"/\">Back to my access</a></p>");
	web_html_foot(&r->body);
}

/* ---- reading okta-jitd's answers -------------------------------------- */

/* Call okta-jitd as the session's user. On failure (no answer, or an
 * ERROR) the page becomes the error and 0 is returned; 1 with *m filled
 * on OK. */
static int call(const struct web_ctx *c, struct web_resp *r, struct proto_out *o, struct proto_msg *m)
{
	char err[256];

	if (web_jitd_call(c->cfg->socket, c->sess->id_token, o, m, err, sizeof(err)) != 0) {
		ojit_log(LOG_ERR, "%s (user %s from %s)", err, c->sess->login, c->client_ip);
		web_page_message(r, 503, "Unavailable", c->sess->login,
				 "okta-jitd did not answer; try again in a minute.");
		return 0;
	}
	if (m->type != PROTO_OK) {
		const char *code = proto_get(m, T_CODE);
		const char *msg = proto_get(m, T_MESSAGE);
		unsigned st = 409;

		if (code != NULL && strcmp(code, "forbidden") == 0)
			st = 403;
		else if (code != NULL && strcmp(code, "not_found") == 0)
			st = 404;
		else if (code != NULL && (strcmp(code, "invalid") == 0 || strcmp(code, "no_flow") == 0))
			st = 400;
		else if (code != NULL && (strcmp(code, "busy") == 0 || strcmp(code, "rate_limited") == 0 ||
					  strcmp(code, "okta") == 0 || strcmp(code, "ledger") == 0))
			st = 503;
		web_page_message(r, st, "Refused", c->sess->login, msg != NULL ? msg : (code ? code : "refused"));
		proto_msg_free(m);
		return 0;
	}
	return 1;
}

static void put_time(struct ojit_buf *b, int64_t t)
{
	char s[64];
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0) {
		web_html_lit(b, "-");
		return;
	}
	gmtime_r(&tt, &tm);
	strftime(s, sizeof(s), "%Y-%m-%d %H:%M UTC", &tm);
	web_html_esc(b, s);
}

static void put_duration(struct ojit_buf *b, int64_t secs)
{
	char s[32];

	if (secs <= 0 || duration_format(secs, s, sizeof(s)) != 0) {
		web_html_lit(b, "-");
		return;
	}
	web_html_esc(b, s);
}

static void put_csrf(const struct web_ctx *c, struct ojit_buf *b)
{
	web_html_lit(b, "<input type=\"hidden\" name=\"csrf\" value=\"");
	web_html_esc(b, c->sess->csrf);
	web_html_lit(b, "\">");
}

/* One small form posting to /grants/ID/ACTION. */
static void put_action(const struct web_ctx *c, struct ojit_buf *b, int64_t id, const char *action,
		       const char *label, int with_reason, int with_duration)
{
	ojit_buf_printf(b, "<form method=\"post\" action=\"/grants/%lld/%s\"%s>", (long long)id, action,
			with_reason || with_duration ? "" : " class=\"inline\"");
	put_csrf(c, b);
	if (with_duration)
		web_html_lit(b, "<label>By (e.g. 30m, 1h)<input type=\"text\" name=\"duration\" required "
				"maxlength=\"16\" value=\"1h\"></label>");
	if (with_reason)
		ojit_buf_printf(b, "<label>Reason to %s<textarea name=\"reason\" rows=\"2\" maxlength=\"%d\">"
				   "</textarea></label>", action, WEB_REASON_MAX);
	ojit_buf_printf(b, "<button type=\"submit\">%s</button></form>", label);
}

/* A grant record as a card; actions offered by state and by whose it is. */
static void put_grant(const struct web_ctx *c, struct ojit_buf *b, const struct proto_msg *m, size_t i,
		      int approver_view)
{
	int64_t id = proto_rec_int(m, i, T_ID), end = proto_rec_int(m, i, T_END), now = ojit_now();
	const char *state = proto_rec_get(m, i, T_STATE);
	const char *approvers = proto_rec_get(m, i, T_APPROVERS);
	int active = state != NULL && strcmp(state, "active") == 0;
	int pending = state != NULL && strncmp(state, "pending", 7) == 0;

	ojit_buf_printf(b, "<div class=\"card\"><a href=\"/grants/%lld\">#%lld</a> <strong>", (long long)id,
			(long long)id);
	web_html_esc(b, proto_rec_get(m, i, T_GROUP));
	web_html_lit(b, "</strong> <span class=\"state\">");
	web_html_esc(b, state);
	web_html_lit(b, "</span><div class=\"muted\">for ");
	web_html_esc(b, proto_rec_get(m, i, T_USER));
	web_html_lit(b, ", asked by ");
	web_html_esc(b, proto_rec_get(m, i, T_REQUESTER));
	web_html_lit(b, " at ");
	put_time(b, proto_rec_int(m, i, T_AT));
	web_html_lit(b, "; duration ");
	put_duration(b, proto_rec_int(m, i, T_DURATION));
	if (active && end > now) {
		web_html_lit(b, "; <strong>");
		put_duration(b, end - now);
		web_html_lit(b, " left</strong> (until ");
		put_time(b, end);
		web_html_lit(b, ")");
	}
	web_html_lit(b, "</div><div>Reason: ");
	web_html_esc(b, proto_rec_get(m, i, T_REASON));
	web_html_lit(b, "</div>");
	if (approvers != NULL) {
		/* okta-jitd names neither the reader nor the request's own user */
		web_html_lit(b, approver_view ? "<div class=\"muted\">Who else may approve: "
					      : "<div class=\"muted\">Who may approve: ");
		web_html_esc(b, approvers);
		web_html_lit(b, "</div>");
	}
	if (approver_view && pending) {
		put_action(c, b, id, "approve", "Approve", 1, 0);
		put_action(c, b, id, "deny", "Deny", 1, 0);
	} else if (!approver_view && active) {
		put_action(c, b, id, "revoke", "End now", 0, 0);
		web_html_lit(b, "<details><summary>Extend</summary>");
		put_action(c, b, id, "extend", "Ask to extend", 1, 1);
		web_html_lit(b, "</details>");
	} else if (!approver_view && pending) {
		put_action(c, b, id, "cancel", "Cancel request", 0, 0);
	}
	web_html_lit(b, "</div>\n");
}

static size_t put_grants(const struct web_ctx *c, struct ojit_buf *b, const struct proto_msg *m,
			 int approver_view)
{
	size_t i, n = 0;

	for (i = 0; i < m->nfields; i++) {
		if (m->fields[i].tag != T_RECORD)
			continue;
		put_grant(c, b, m, i + 1, approver_view);
		n++;
	}
	return n;
}

/* ---- pages -------------------------------------------------------------- */

void web_page_home(const struct web_ctx *c, struct web_resp *r, int all)
{
	struct proto_out o;
	struct proto_msg m;

	proto_out_init(&o, PROTO_LIST);
	if (all)
		proto_out_add(&o, T_ALL, "1");
	if (!call(c, r, &o, &m))
		goto out;
	web_html_head(&r->body, "My access", c->sess->login);
	if (put_grants(c, &r->body, &m, 0) == 0)
		web_html_lit(&r->body, "<p>No grants or requests. <a href=\"/request\">Request access</a>.</p>");
	web_html_lit(&r->body, all ? "<p><a href=\"/\">Current only</a></p>"
				   : "<p><a href=\"/?all=1\">Show ended ones too</a></p>");
	web_html_foot(&r->body);
	proto_msg_free(&m);
out:
	proto_out_free(&o);
}

/* Durations offered for a flow: the usual steps up to its maximum, the
 * default selected. Nothing longer is offered (okta-jitd refuses it
 * anyway). */
static void put_duration_select(struct ojit_buf *b, int64_t def, int64_t max)
{
	static const int64_t steps[] = { 900, 1800, 3600, 7200, 14400, 28800, 86400, 604800 };
	char s[32];
	size_t i;
	int def_shown = 0;

	if (max <= 0)
		max = 3600;
	if (def <= 0 || def > max)
		def = max;
	web_html_lit(b, "<label>For<select name=\"duration\">");
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]) && steps[i] < max; i++) {
		if (def < steps[i] && !def_shown) {
			duration_format(def, s, sizeof(s));
			ojit_buf_printf(b, "<option value=\"%s\" selected>%s</option>", s, s);
			def_shown = 1;
		}
		duration_format(steps[i], s, sizeof(s));
		ojit_buf_printf(b, "<option value=\"%s\"%s>%s</option>", s, steps[i] == def ? " selected" : "", s);
		def_shown |= steps[i] == def;
	}
	if (!def_shown && def < max) {
		duration_format(def, s, sizeof(s));
		ojit_buf_printf(b, "<option value=\"%s\" selected>%s</option>", s, s);
	}
	duration_format(max, s, sizeof(s));
	ojit_buf_printf(b, "<option value=\"%s\"%s>%s (the most)</option>", s, def == max ? " selected" : "", s);
	web_html_lit(b, "</select></label>");
}

/* One flow okta-jitd says this user may request (FLOWS record at i). */
static void put_flow_form(const struct web_ctx *c, struct ojit_buf *b, const struct proto_msg *m, size_t i,
			  const char *group)
{
	const char *rr = proto_rec_get(m, i, T_REASON_REQUIRED);
	int reason_required = rr != NULL && strcmp(rr, "1") == 0;
	size_t j;

	web_html_lit(b, "<div class=\"card flow\"><h2>");
	web_html_esc(b, proto_rec_get(m, i, T_FLOW));
	web_html_lit(b, "</h2><form method=\"post\" action=\"/request\">");
	put_csrf(c, b);
	web_html_lit(b, "<label>Group<select name=\"group\">");
	for (j = i; j < m->nfields && m->fields[j].tag != T_RECORD; j++) {
		const char *one = m->fields[j].val;

		if (m->fields[j].tag != T_GROUP)
			continue;
		web_html_lit(b, "<option value=\"");
		web_html_esc(b, one);
		web_html_lit(b, group != NULL && strcmp(group, one) == 0 ? "\" selected>" : "\">");
		web_html_esc(b, one);
		web_html_lit(b, "</option>");
	}
	web_html_lit(b, "</select></label>");
	put_duration_select(b, proto_rec_int(m, i, T_DURATION), proto_rec_int(m, i, T_MAX_DURATION));
	ojit_buf_printf(b, "<label>Reason%s<textarea name=\"reason\" rows=\"3\" maxlength=\"%d\"%s>"
			   "</textarea></label>",
			reason_required ? " (required)" : "", WEB_REASON_MAX, reason_required ? " required" : "");
	web_html_lit(b, "<button type=\"submit\">Request</button></form></div>\n");
}

/* The flows okta-jitd says this user may request (FLOWS: the requesters
 * check REQUEST makes), and nothing else: a flow it refuses is not
 * named; one it cannot tell about now (Okta failed) says so. */
void web_page_request_form(const struct web_ctx *c, struct web_resp *r, const char *group)
{
	struct ojit_buf *b = &r->body;
	struct proto_out o;
	struct proto_msg m;
	const char *details;
	size_t i, offered = 0, unknown = 0, nreq = 0;

	proto_out_init(&o, PROTO_FLOWS);
	if (!call(c, r, &o, &m))
		goto out;
	web_html_head(b, "Request access", c->sess->login);
	details = proto_get(&m, T_DETAILS);
	if (details != NULL && details[0] != '\0') {
		web_html_lit(b, "<p class=\"muted\">");
		web_html_esc(b, details);
		web_html_lit(b, "</p>");
	}
	for (i = 0; i < m.nfields; i++) {
		const char *state;

		if (m.fields[i].tag != T_RECORD)
			continue;
		state = proto_rec_get(&m, i + 1, T_STATE);
		if (state != NULL && strcmp(state, "allowed") == 0) {
			put_flow_form(c, b, &m, i + 1, group);
			offered++;
		} else {
			web_html_lit(b, "<div class=\"card unknown\"><h2>");
			web_html_esc(b, proto_rec_get(&m, i + 1, T_FLOW));
			web_html_lit(b, "</h2><p class=\"err\">Cannot tell now whether you may request this: ");
			web_html_esc(b, proto_rec_get(&m, i + 1, T_MESSAGE));
			web_html_lit(b, ". Try again in a minute.</p></div>\n");
			unknown++;
		}
	}
	if (offered == 0 && unknown == 0) {
		for (i = 0; i < m.nfields; i++)
			nreq += m.fields[i].tag == T_REQUESTERS;
		if (nreq == 0) {
			web_html_lit(b, "<p id=\"none\">No access flows are configured here.</p>");
		} else {
			size_t k = 0;

			web_html_lit(b, "<p id=\"none\">You may not request access through any flow here. Ask to be "
					"added to ");
			web_html_lit(b, nreq > 1 ? "one of the Okta groups " : "the Okta group ");
			for (i = 0; i < m.nfields; i++) {
				if (m.fields[i].tag != T_REQUESTERS)
					continue;
				if (k++ > 0)
					web_html_lit(b, k == nreq ? " or " : ", ");
				web_html_lit(b, "<strong>");
				web_html_esc(b, m.fields[i].val);
				web_html_lit(b, "</strong>");
			}
			web_html_lit(b, " (its owners in Okta or your Okta administrators add members).</p>");
		}
	}
	web_html_foot(b);
	proto_msg_free(&m);
out:
	proto_out_free(&o);
}

/* Common checks of a duration and reason from a form. */
static int form_duration_reason(const struct web_form *f, int64_t *dur, const char **reason, const char **why)
{
	const char *d = web_form_get(f, "duration");

	*reason = web_form_get(f, "reason");
	*dur = 0;
	if (*reason != NULL && strlen(*reason) > WEB_REASON_MAX) {
		*why = "the reason is too long";
		return -1;
	}
	if (d != NULL && d[0] != '\0' && duration_parse(d, dur, why) != 0)
		return -1;
	return 0;
}

static void put_result(const struct web_ctx *c, struct web_resp *r, const char *title, struct proto_msg *m)
{
	const char *msg = proto_get(m, T_MESSAGE);
	const char *details = proto_get(m, T_DETAILS);

	web_html_head(&r->body, title, c->sess->login);
	if (msg != NULL && msg[0] != '\0') {
		web_html_lit(&r->body, "<p class=\"ok\">");
		web_html_esc(&r->body, msg);
		web_html_lit(&r->body, "</p>");
	}
	if (details != NULL && details[0] != '\0') {
		web_html_lit(&r->body, "<p class=\"muted\">");
		web_html_esc(&r->body, details);
		web_html_lit(&r->body, "</p>");
	}
	put_grants(c, &r->body, m, 0);
	web_html_foot(&r->body);
}

void web_page_request_post(const struct web_ctx *c, struct web_resp *r, const struct web_form *f)
{
	const char *group = web_form_get(f, "group"), *reason, *why = NULL;
	struct proto_out o;
	struct proto_msg m;
	int64_t dur;

	if (group == NULL || group[0] == '\0' || form_duration_reason(f, &dur, &reason, &why) != 0) {
		web_page_message(r, 400, "Request access", c->sess->login, why != NULL ? why : "choose a group");
		return;
	}
	proto_out_init(&o, PROTO_REQUEST);
	proto_out_add(&o, T_GROUP, group);
	if (dur > 0)
		proto_out_add_int(&o, T_DURATION, dur);
	if (reason != NULL && reason[0] != '\0')
		proto_out_add(&o, T_REASON, reason);
	if (call(c, r, &o, &m)) {
		put_result(c, r, "Requested", &m);
		proto_msg_free(&m);
	}
	proto_out_free(&o);
}

/* Pages of okta-jitd's LIST (docs/protocol.md: CURSOR, LIMIT) read for
 * one web page: all of them, up to what a web page holds. */
#define WEB_LIST_PAGE 500
#define WEB_LIST_PAGES_MAX 40

void web_page_approvals(const struct web_ctx *c, struct web_resp *r)
{
	char cursor[32] = "";
	size_t n = 0, pages;
	int cut = 0;

	web_html_head(&r->body, "Waiting for me", c->sess->login);
	for (pages = 0;; pages++) {
		struct proto_out o;
		struct proto_msg m;
		const char *next;

		if (pages >= WEB_LIST_PAGES_MAX || r->body.len > WEB_PAGE_MAX / 2) {
			cut = 1;
			break;
		}
		proto_out_init(&o, PROTO_LIST);
		proto_out_add(&o, T_STATE, "approvable");
		proto_out_add_int(&o, T_LIMIT, WEB_LIST_PAGE);
		if (cursor[0] != '\0')
			proto_out_add(&o, T_CURSOR, cursor);
		if (!call(c, r, &o, &m)) {
			/* the page is the error (call made it) */
			proto_out_free(&o);
			return;
		}
		proto_out_free(&o);
		n += put_grants(c, &r->body, &m, 1);
		next = proto_get(&m, T_CURSOR);
		/* the cursor must move down the ids, or the page would not end */
		if (next == NULL || strlen(next) >= sizeof(cursor) ||
		    (cursor[0] != '\0' && strtoll(next, NULL, 10) >= strtoll(cursor, NULL, 10))) {
			proto_msg_free(&m);
			break;
		}
		ojit_strlcpy(cursor, next, sizeof(cursor));
		proto_msg_free(&m);
	}
	if (n == 0 && !cut)
		web_html_lit(&r->body, "<p>Nothing is waiting for you.</p>");
	else
		ojit_buf_printf(&r->body, "<p class=\"muted\" id=\"count\">%zu waiting%s.</p>", n,
				cut ? "; more than one page holds: approve some and reload" : "");
	web_html_foot(&r->body);
}

/* Index just past the RECORD of grant id in m, or 0. */
static size_t find_record(const struct proto_msg *m, int64_t id)
{
	size_t i;

	for (i = 0; i < m->nfields; i++)
		if (m->fields[i].tag == T_RECORD && proto_rec_int(m, i + 1, T_ID) == id)
			return i + 1;
	return 0;
}

/* Who did it, named the one way (issue 22): the local name with the
 * Okta login beside it, from the detail's actor_login. */
static void put_person(struct ojit_buf *b, const char *actor, const char *detail)
{
	char login[512], text[1024];

	if (audit_get(detail, "actor_login", login, sizeof(login)) != 0)
		login[0] = '\0';
	audit_person(text, sizeof(text), actor != NULL ? actor : "", login);
	web_html_esc(b, text);
}

/* The grant's trail: okta-jitd serves AUDIT ID on the web socket to the
 * grant's own person and to those who may approve it, in pages (CURSOR,
 * LIMIT; docs/protocol.md "AUDIT pages"), oldest first: read up to what a
 * web page holds. */
#define WEB_AUDIT_PAGE 500
#define WEB_AUDIT_PAGES_MAX 4

static void put_audit(const struct web_ctx *c, struct ojit_buf *b, int64_t id)
{
	char cursor[32] = "", err[256];
	size_t i, n = 0, pages;
	int cut = 0;

	web_html_lit(b, "<h2>Audit trail</h2>");
	for (pages = 0;; pages++) {
		struct proto_out o;
		struct proto_msg m;
		const char *next;
		int64_t was = 0, v = 0;

		if (pages >= WEB_AUDIT_PAGES_MAX || b->len > WEB_PAGE_MAX / 2) {
			cut = 1;
			break;
		}
		proto_out_init(&o, PROTO_AUDIT);
		proto_out_add_int(&o, T_ID, id);
		proto_out_add_int(&o, T_LIMIT, WEB_AUDIT_PAGE);
		if (cursor[0] != '\0')
			proto_out_add(&o, T_CURSOR, cursor);
		if (web_jitd_call(c->cfg->socket, c->sess->id_token, &o, &m, err, sizeof(err)) != 0) {
			proto_out_free(&o);
			if (pages > 0)
				web_html_lit(b, "</table>");
			web_html_lit(b, "<p class=\"muted\">okta-jitd did not answer.</p>");
			return;
		}
		proto_out_free(&o);
		if (m.type != PROTO_OK) {
			if (pages > 0)
				web_html_lit(b, "</table>");
			web_html_lit(b, "<p class=\"muted\">Not shown: ");
			web_html_esc(b, proto_get(&m, T_MESSAGE));
			web_html_lit(b, "</p>");
			proto_msg_free(&m);
			return;
		}
		if (pages == 0)
			web_html_lit(b, "<table><tr><th>When</th><th>Event</th><th>By</th><th>Detail</th></tr>");
		for (i = 0; i < m.nfields; i++) {
			if (m.fields[i].tag != T_RECORD || proto_rec_int(&m, i + 1, T_ID) != id)
				continue;
			web_html_lit(b, "<tr><td>");
			put_time(b, proto_rec_int(&m, i + 1, T_AT));
			web_html_lit(b, "</td><td>");
			web_html_esc(b, proto_rec_get(&m, i + 1, T_EVENT));
			web_html_lit(b, "</td><td>");
			put_person(b, proto_rec_get(&m, i + 1, T_ACTOR), proto_rec_get(&m, i + 1, T_DETAIL));
			web_html_lit(b, "</td><td>");
			web_html_esc(b, proto_rec_get(&m, i + 1, T_DETAIL));
			web_html_lit(b, "</td></tr>");
			n++;
		}
		/* the page's CURSOR comes before its first record (each record
		 * carries its row id as CURSOR too); it must move up the ids, or
		 * the trail would not end */
		next = proto_rec_get(&m, 0, T_CURSOR);
		if (next == NULL || strlen(next) >= sizeof(cursor) || ojit_parse_int64(next, 1, INT64_MAX / 2, &v) != 0 ||
		    (cursor[0] != '\0' && (ojit_parse_int64(cursor, 1, INT64_MAX / 2, &was) != 0 || v <= was))) {
			proto_msg_free(&m);
			break;
		}
		ojit_strlcpy(cursor, next, sizeof(cursor));
		proto_msg_free(&m);
	}
	web_html_lit(b, "</table>");
	if (n == 0 && !cut)
		web_html_lit(b, "<p class=\"muted\">No events.</p>");
	else if (cut)
		ojit_buf_printf(b, "<p class=\"muted\" id=\"trail-cut\">The first %zu events; the trail goes on "
				"(root reads it all with okta-jit audit).</p>", n);
}

void web_page_grant(const struct web_ctx *c, struct web_resp *r, int64_t id)
{
	static const char *const kinds[2] = { NULL, "approvable" };
	struct proto_msg m;
	size_t k, at = 0;

	/* The grant is one of mine (every state), or one I may approve;
	 * okta-jitd answers only with those, so nobody else's shows. */
	for (k = 0; k < 2; k++) {
		struct proto_out o;

		proto_out_init(&o, PROTO_LIST);
		proto_out_add_int(&o, T_ID, id);
		if (kinds[k] == NULL)
			proto_out_add(&o, T_ALL, "1");
		else
			proto_out_add(&o, T_STATE, kinds[k]);
		if (!call(c, r, &o, &m)) {
			proto_out_free(&o);
			return;
		}
		proto_out_free(&o);
		at = find_record(&m, id);
		if (at != 0)
			break;
		proto_msg_free(&m);
	}
	if (at == 0) {
		web_page_message(r, 404, "Not found", c->sess->login,
				 "No grant or request of that number is yours or waiting for you.");
		return;
	}
	{
		char title[64];

		ojit_snprintf(title, sizeof(title), "Grant #%lld", (long long)id);
		web_html_head(&r->body, title, c->sess->login);
	}
	/* Approve and deny only where it came from the approvable listing. */
	put_grant(c, &r->body, &m, at, k == 1);
	put_audit(c, &r->body, id);
	web_html_foot(&r->body);
	proto_msg_free(&m);
}

void web_page_grant_action(const struct web_ctx *c, struct web_resp *r, int64_t id, const char *action,
			   const struct web_form *f)
{
	const char *reason = NULL, *why = NULL, *title;
	struct proto_out o;
	struct proto_msg m;
	int64_t dur = 0;
	uint8_t type;

	if (strcmp(action, "approve") == 0) {
		type = PROTO_APPROVE;
		title = "Approved";
	} else if (strcmp(action, "deny") == 0) {
		type = PROTO_DENY;
		title = "Denied";
	} else if (strcmp(action, "revoke") == 0) {
		type = PROTO_REVOKE;
		title = "Ended";
	} else if (strcmp(action, "cancel") == 0) {
		/* A pending request is withdrawn by REVOKE, as `okta-jit
		 * revoke` does. */
		type = PROTO_REVOKE;
		title = "Cancelled";
	} else if (strcmp(action, "extend") == 0) {
		type = PROTO_EXTEND;
		title = "Extension requested";
	} else {
		web_page_message(r, 404, "Not found", c->sess->login, "No such action.");
		return;
	}
	if (form_duration_reason(f, &dur, &reason, &why) != 0 || (type == PROTO_EXTEND && dur <= 0)) {
		web_page_message(r, 400, title, c->sess->login, why != NULL ? why : "give a duration");
		return;
	}
	proto_out_init(&o, type);
	proto_out_add_int(&o, T_ID, id);
	if (type == PROTO_EXTEND)
		proto_out_add_int(&o, T_DURATION, dur);
	if ((type == PROTO_APPROVE || type == PROTO_DENY || type == PROTO_EXTEND) && reason != NULL &&
	    reason[0] != '\0')
		proto_out_add(&o, T_REASON, reason);
	if (call(c, r, &o, &m)) {
		ojit_log(LOG_INFO, "%s grant %lld by %s from %s", action, (long long)id, c->sess->login,
			 c->client_ip);
		put_result(c, r, title, &m);
		proto_msg_free(&m);
	}
	proto_out_free(&o);
}

void web_page_signout_form(const struct web_ctx *c, struct web_resp *r)
{
	web_html_head(&r->body, "Sign out", c->sess->login);
	web_html_lit(&r->body, "<form method=\"post\" action=\"/signout\">");
	put_csrf(c, &r->body);
	web_html_lit(&r->body, "<button type=\"submit\">Sign out</button></form>");
	web_html_foot(&r->body);
}
