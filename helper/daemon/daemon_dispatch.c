/* daemon_dispatch.c - one request answered: okta-jitd's requests (check,
 * session, request, approve, deny, revoke, extend, list, audit, ...)
 * mapped to the check, the grant lifecycle, sessions and the ledger, the
 * reply built, and the audit records a reply must not wait for written
 * just after it (daemon_after_reply). daemon.c serves the sockets and
 * calls daemon_dispatch for each request it reads. */
#include "daemon.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "answers.h"
#include "audit.h"
#include "check.h"
#include "duration.h"
#include "grants.h"
#include "metrics.h"
#include "nss_writer.h"
#include "refusals.h"
#include "sessions.h"
#include "util.h"

static void reply_error(struct proto_out *o, const char *code, const char *msg)
{
	proto_out_free(o);
	proto_out_init(o, PROTO_ERROR);
	proto_out_add(o, T_CODE, code);
	proto_out_add(o, T_MESSAGE, msg);
}

static void reply_result_error(struct proto_out *o, const struct jit_result *res)
{
	reply_error(o, res->code[0] ? res->code : "error", res->message[0] ? res->message : "failed");
}

static void add_grant(struct proto_out *o, const struct grant *g)
{
	proto_out_add(o, T_RECORD, "");
	proto_out_add_int(o, T_ID, g->id);
	proto_out_add(o, T_USER, g->user);
	proto_out_add(o, T_GROUP, g->grp);
	proto_out_add(o, T_STATE, strcmp(g->kind, "extend") == 0 ? (strcmp(g->state, GS_PENDING) == 0 ? "pending-extension" : g->state) : g->state);
	proto_out_add(o, T_FLOW, g->flow);
	proto_out_add_int(o, T_DURATION, g->duration);
	proto_out_add_int(o, T_START, g->start_at);
	proto_out_add_int(o, T_END, g->end_at);
	proto_out_add_int(o, T_AT, g->requested_at);
	proto_out_add(o, T_REQUESTER, g->requester);
	proto_out_add(o, T_APPROVER, g->approver);
	proto_out_add(o, T_REASON, g->reason);
	if (g->parent_id > 0)
		proto_out_add_int(o, T_SESSION, g->parent_id);
}

static int parse_id(const struct proto_msg *m, int64_t *id)
{
	const char *v = proto_get(m, T_ID);

	return v != NULL && ojit_parse_int64(v, 1, INT64_MAX / 2, id) == 0 ? 0 : -1;
}

/* Seconds, or a human duration as typed at the PAM prompt ("30m"). */
static int parse_duration(const struct proto_msg *m, int64_t *d)
{
	const char *v = proto_get(m, T_DURATION);

	*d = 0;
	if (v == NULL)
		return 0;
	if (ojit_parse_int64(v, 1, DURATION_MAX_SECONDS, d) == 0)
		return 0;
	return duration_parse(v, d, NULL);
}

/* LIST pages (docs/protocol.md): at most LIMIT records a reply (a page
 * of the most a reply's field count holds), newest first, and a CURSOR
 * to go on from when more may follow. STATE=approvable looks at no more
 * than LIST_SCAN_MAX pending rows for one page, so a page's cost is
 * bounded however few of them the caller may approve. */
#define LIST_PAGE_DEFAULT 200
#define LIST_PAGE_MAX 500
#define LIST_SCAN_MAX 5000

struct list_ctx {
	struct proto_out *o;
	struct jitd *d;
	const struct actor *a;
	int approvable; /* only requests a may approve */
	size_t n;
	/* paged listing: rows kept until the cursor is known */
	struct grant *rows;
	size_t cap;      /* records wanted on this page */
	size_t seen;     /* rows looked at */
	int64_t last_id; /* the last row looked at */
	int more;        /* a row past the page exists */
};

static int list_cb(const struct grant *g, void *p)
{
	struct list_ctx *c = p;

	c->seen++;
	c->last_id = g->id;
	if (c->approvable) {
		struct jit_result res;
		char login[OKTA_LOGIN_MAX + 1];

		if (grants_can_approve(c->d, c->a, g, login, sizeof(login), &res) != 1)
			return 0;
	}
	if (c->rows != NULL) {
		if (c->n >= c->cap) {
			c->more = 1;
			return 1;
		}
		c->rows[c->n++] = *g;
		return 0;
	}
	add_grant(c->o, g);
	return ++c->n >= 2000;
}

/* The page's records, each pending one with who (else) may approve it. */
static void list_emit(struct list_ctx *c)
{
	struct approvers_memo *mm = grants_approvers_memo_new();
	size_t i;

	for (i = 0; i < c->n; i++) {
		const struct grant *g = &c->rows[i];

		add_grant(c->o, g);
		if (strcmp(g->state, GS_PENDING) == 0) {
			char who[512];

			grants_approvers_text(c->d, c->a, g, mm, who, sizeof(who));
			proto_out_add(c->o, T_APPROVERS, who);
		}
	}
	grants_approvers_memo_free(mm);
}

/* LIST ID=N: that one grant, when the caller would find it in the same
 * listing without ID (their own; with STATE=approvable, a request they
 * may approve); else no record. */
static void list_one(struct list_ctx *c, int64_t id, const char *who, int approvable)
{
	struct grant g;

	if (ledger_grant_get(c->d->ledger, id, &g) != LEDGER_OK)
		return;
	if (approvable) {
		if (strcmp(g.state, GS_PENDING) != 0)
			return;
		(void)list_cb(&g, c);
		return;
	}
	if (who != NULL && strcmp(g.user, who) != 0)
		return;
	/* from the web, the person is the Okta id the grant was made for */
	if (c->a->web && strcmp(g.okta_user_id, c->a->okta_id) != 0)
		return;
	(void)list_cb(&g, c);
}

static void do_list(struct jitd *d, const struct actor *a, const struct proto_msg *m, struct proto_out *o)
{
	struct list_ctx c = { o, d, a, 0, 0, NULL, 0, 0, 0, 0 };
	const char *all = proto_get(m, T_ALL);
	const char *states = proto_get(m, T_STATE);
	const char *cur = proto_get(m, T_CURSOR), *lim = proto_get(m, T_LIMIT);
	const char *who = a->is_root ? proto_get(m, T_USER) : a->user;
	int64_t cursor = 0, limit = LIST_PAGE_DEFAULT, id = 0;
	int approvable = states != NULL && strcmp(states, "approvable") == 0;

	if ((cur != NULL && ojit_parse_int64(cur, 1, INT64_MAX / 2, &cursor) != 0) ||
	    (lim != NULL && ojit_parse_int64(lim, 1, LIST_PAGE_MAX, &limit) != 0) ||
	    (proto_get(m, T_ID) != NULL && parse_id(m, &id) != 0)) {
		reply_error(o, "invalid", "bad cursor, limit (1-500) or id");
		return;
	}
	if (!approvable && states != NULL &&
	    (strlen(states) > 100 || strspn(states, "abcdefghijklmnopqrstuvwxyz,") != strlen(states))) {
		reply_error(o, "invalid", "bad state filter");
		return;
	}
	c.cap = (size_t)limit;
	c.rows = calloc(c.cap, sizeof(*c.rows));
	if (c.rows == NULL) {
		reply_error(o, "error", "out of memory");
		return;
	}
	c.approvable = approvable;
	if (id > 0) {
		list_one(&c, id, who, approvable);
	} else if (approvable) {
		/* in batches, until the page is full, the rows end, or the
		 * page has looked at enough of them */
		int64_t before = cursor;

		for (;;) {
			size_t seen0 = c.seen;

			if (ledger_grant_list_before(d->ledger, NULL, GS_PENDING, before, LIST_PAGE_MAX, list_cb, &c) !=
			    LEDGER_OK) {
				free(c.rows);
				reply_error(o, "ledger", ledger_last_error(d->ledger));
				return;
			}
			if (c.more || c.seen - seen0 < LIST_PAGE_MAX)
				break;
			before = c.last_id;
			if (c.seen >= LIST_SCAN_MAX) {
				c.more = 1;
				break;
			}
		}
	} else {
		const char *st = all != NULL && strcmp(all, "1") == 0 ? states : (states ? states : "active,pending,approved");

		if (ledger_grant_list_before(d->ledger, who, st, cursor, c.cap + 1, list_cb, &c) != LEDGER_OK) {
			free(c.rows);
			reply_error(o, "ledger", ledger_last_error(d->ledger));
			return;
		}
	}
	/* the cursor first, before any record (a record's fields run to the
	 * next RECORD): the id the next page goes on below */
	if (c.more)
		proto_out_add_int(o, T_CURSOR, c.n > 0 && !(approvable && c.n < c.cap) ? c.rows[c.n - 1].id : c.last_id);
	list_emit(&c);
	free(c.rows);
}

/* AUDIT pages (issue 22), as LIST's: at most LIMIT records (1-500,
 * default 200), oldest first, those above CURSOR (an audit row id; none
 * or 0: from the first row). Before, one reply held the newest 10,000
 * rows, far more than the 8,192 fields (PROTO_MAX_FIELDS) a reader takes:
 * past about a thousand records `okta-jit audit` failed as "malformed".
 * A record is at most 9 fields and about 1.7 KB (struct audit_event
 * bounds each value), so 500 fit; and a page ends early rather than go
 * over either bound of a reply, should a record grow fields. */
#define AUDIT_PAGE_DEFAULT 200
#define AUDIT_PAGE_MAX 500
#define AUDIT_PAGE_BYTES (PROTO_MAX_PAYLOAD - 256) /* room for the page's CURSOR */
#define AUDIT_PAGE_FIELDS (PROTO_MAX_FIELDS - 8)

struct audit_page {
	struct audit_event *rows; /* oldest first, as the ledger gives them */
	size_t n, cap;            /* cap: LIMIT + 1, the one more tells a next page */
};

static int audit_keep_cb(const struct audit_event *e, void *p)
{
	struct audit_page *pg = p;

	if (pg->n >= pg->cap)
		return 1;
	pg->rows[pg->n++] = *e;
	return 0;
}

static void audit_record(struct proto_out *o, const struct audit_event *e)
{
	proto_out_add(o, T_RECORD, "");
	proto_out_add_int(o, T_AT, e->at);
	proto_out_add(o, T_EVENT, e->event);
	proto_out_add_int(o, T_ID, e->grant_id);
	proto_out_add(o, T_ACTOR, e->actor);
	proto_out_add(o, T_USER, e->user);
	proto_out_add(o, T_GROUP, e->grp);
	proto_out_add(o, T_DETAIL, e->detail);
	/* the row's own id: where the next page starts, and how `okta-jit
	 * audit --follow` tells the rows it printed from new ones */
	proto_out_add_int(o, T_CURSOR, e->id);
}

/* The page: as many of the rows read (up to limit) as a reply holds,
 * after a CURSOR (the last one's row id) when more rows follow. */
static void audit_page_reply(struct proto_out *o, const struct audit_page *pg, size_t limit)
{
	size_t n, i, bytes = 0, fields = 0;

	for (n = 0; n < pg->n && n < limit; n++) {
		struct proto_out one;
		size_t b;

		proto_out_init(&one, PROTO_OK);
		audit_record(&one, &pg->rows[n]);
		b = one.len - PROTO_HEADER_LEN;
		if (one.failed || bytes + b > AUDIT_PAGE_BYTES || fields + one.nfields > AUDIT_PAGE_FIELDS) {
			proto_out_free(&one);
			break;
		}
		bytes += b;
		fields += one.nfields;
		proto_out_free(&one);
	}
	/* the first record always fits (each value is bounded): a page moves on */
	if (n == 0 && pg->n > 0)
		n = 1;
	/* the cursor first, before any record (a record's fields run to the
	 * next RECORD) */
	if (n < pg->n)
		proto_out_add_int(o, T_CURSOR, pg->rows[n - 1].id);
	for (i = 0; i < n; i++)
		audit_record(o, &pg->rows[i]);
}

/* Read one page (ledger_audit_list's or, grant_id > 0, one grant's) and
 * answer it. */
static void audit_answer_page(struct jitd *d, struct proto_out *o, int64_t since, const char *user, const char *grp,
			      int64_t grant_id, int64_t cursor, int64_t limit)
{
	struct audit_page pg = { NULL, 0, (size_t)limit + 1 };
	int r;

	pg.rows = calloc(pg.cap, sizeof(*pg.rows));
	if (pg.rows == NULL) {
		reply_error(o, "error", "out of memory");
		return;
	}
	if (grant_id > 0)
		r = ledger_audit_list_grant(d->ledger, grant_id, cursor, pg.cap, audit_keep_cb, &pg);
	else
		r = ledger_audit_list(d->ledger, since, user, grp, cursor, pg.cap, audit_keep_cb, &pg);
	/* an unread page is an error, never an empty last page: a reader
	 * would take the trail for complete */
	if (r != LEDGER_OK)
		reply_error(o, "ledger", ledger_last_error(d->ledger));
	else
		audit_page_reply(o, &pg, (size_t)limit);
	free(pg.rows);
}

/* AUDIT's CURSOR (0 allowed: a follower's first page) and LIMIT. */
static int audit_page_args(const struct proto_msg *m, int64_t *cursor, int64_t *limit)
{
	const char *cur = proto_get(m, T_CURSOR), *lim = proto_get(m, T_LIMIT);

	*cursor = 0;
	*limit = AUDIT_PAGE_DEFAULT;
	if (cur != NULL && ojit_parse_int64(cur, 0, INT64_MAX / 2, cursor) != 0)
		return -1;
	if (lim != NULL && ojit_parse_int64(lim, 1, AUDIT_PAGE_MAX, limit) != 0)
		return -1;
	return 0;
}

/* Records kept back and not yet written: the audit trail is read only
 * once they are, so a refusal is in it by the time anyone can ask. */
static pthread_mutex_t owed_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t owed_cond = PTHREAD_COND_INITIALIZER;
static int audits_owed;

/* audit_event, or, with after, kept for daemon_after_reply. The decision
 * is made and sent either way; the record follows it within the same
 * connection's turn (a crash in between loses a check's record, never a
 * grant's). */
static void audit_after(struct jitd *d, struct after_reply *after, const char *event, int64_t grant_id,
			const char *actor, const char *user, const char *grp, const char *fmt, ...)
    __attribute__((format(printf, 8, 9)));
static void audit_after(struct jitd *d, struct after_reply *after, const char *event, int64_t grant_id,
			const char *actor, const char *user, const char *grp, const char *fmt, ...)
{
	char detail[sizeof(after->ev.detail)];
	va_list ap;

	va_start(ap, fmt);
	if (audit_vformat(detail, sizeof(detail), fmt, ap) != 0)
		warn_f("audit event %s: detail cut or malformed", event);
	va_end(ap);
	if (after == NULL) {
		audit_write(d, event, grant_id, actor, user, grp, detail);
		return;
	}
	pthread_mutex_lock(&owed_lock);
	audits_owed++;
	pthread_mutex_unlock(&owed_lock);
	after->pending = 1;
	ojit_strlcpy(after->ev.event, event, sizeof(after->ev.event));
	after->ev.grant_id = grant_id;
	ojit_strlcpy(after->ev.actor, actor, sizeof(after->ev.actor));
	ojit_strlcpy(after->ev.user, user, sizeof(after->ev.user));
	ojit_strlcpy(after->ev.grp, grp, sizeof(after->ev.grp));
	memcpy(after->ev.detail, detail, sizeof(detail));
}

void daemon_after_reply(struct jitd *d, struct after_reply *after)
{
	if (after == NULL || !after->pending)
		return;
	after->pending = 0;
	audit_write(d, after->ev.event, after->ev.grant_id, after->ev.actor, after->ev.user, after->ev.grp,
		    after->ev.detail);
	pthread_mutex_lock(&owed_lock);
	audits_owed--;
	pthread_cond_broadcast(&owed_cond);
	pthread_mutex_unlock(&owed_lock);
}

/* Wait (at most DAEMON_IO_TIMEOUT_MS) for the records kept back to be
 * written. */
static void audits_settle(void)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += DAEMON_IO_TIMEOUT_MS / 1000;
	pthread_mutex_lock(&owed_lock);
	while (audits_owed > 0)
		if (pthread_cond_timedwait(&owed_cond, &owed_lock, &until) != 0)
			break;
	pthread_mutex_unlock(&owed_lock);
}

/* PAM items (service, rhost, tty) describe a login only when the PAM
 * module (root) sends them. From anyone else they are ignored, not
 * refused (a user's own CHECK still gets its answer): a user cannot pass
 * text off as a login's in the audit trail or a notification. */
static const char *pam_item(const struct actor *a, const struct proto_msg *m, uint8_t tag)
{
	const char *v = a->is_root ? proto_get(m, tag) : NULL;

	return v != NULL ? v : "";
}

static void do_check(struct jitd *d, const struct actor *a, const struct proto_msg *m, struct proto_out *o,
		     struct after_reply *after)
{
	const char *user = proto_get(m, T_USER);
	const char *groups[CHECK_MAX_GROUPS];
	struct check_answer ans;
	size_t i, n = 0;
	uint64_t gen;

	if (user == NULL)
		user = a->user;
	if (!a->is_root && strcmp(user, a->user) != 0) {
		reply_error(o, "forbidden", "only root may check another user");
		audit_refusal(d, a, "refused", 0, user, "", "reason=check-for-other");
		return;
	}
	for (i = 0; i < m->nfields; i++) {
		if (m->fields[i].tag != T_GROUP)
			continue;
		if (n >= CHECK_MAX_GROUPS) {
			reply_error(o, "invalid", "too many groups");
			return;
		}
		if (!jitd_valid_groupname(m->fields[i].val)) {
			reply_error(o, "invalid", "not a valid group name");
			return;
		}
		groups[n++] = m->fields[i].val;
	}
	if (n == 0) {
		reply_error(o, "invalid", "name at least one group");
		return;
	}
	gen = d->answers != NULL ? answers_gen(d->answers) : 0; /* before the ledger is read */
	check_decide(d, user, groups, n, a->is_root, &ans);
	metrics_inc2(METRIC_CHECKS, ans.decision == CHECK_ALLOW ? "allow" : ans.decision == CHECK_DENY ? "deny" : "unavailable",
		     ans.code);
	if (ans.from_grace)
		metrics_inc(METRIC_CHECK_GRACE, NULL);
	/* A plain allow goes on the answer board for the PAM module (root)
	 * until it would no longer hold; anything written since voids it. */
	if (d->answers != NULL && a->is_root && ans.decision == CHECK_ALLOW && !ans.from_grace && ans.valid_until > 0)
		answers_put(d->answers, gen, user, ans.group, ans.valid_until, ans.grant_id);
	proto_out_add(o, T_DECISION, ans.decision == CHECK_ALLOW ? "allow" : ans.decision == CHECK_DENY ? "deny" : "unavailable");
	proto_out_add(o, T_CODE, ans.code);
	proto_out_add(o, T_MESSAGE, ans.message);
	proto_out_add(o, T_GROUP, ans.group);
	if (ans.grant_id > 0)
		proto_out_add_int(o, T_ID, ans.grant_id);
	if (ans.end > 0) {
		proto_out_add_int(o, T_END, ans.end);
		proto_out_add_int(o, T_TIME_LEFT, ans.end - ojit_now());
	}
	if (ans.decision != CHECK_ALLOW) {
		proto_out_add(o, T_HINT, ans.hint);
		if (ans.web_url[0] != '\0')
			proto_out_add(o, T_WEB_URL, ans.web_url);
		proto_out_add(o, T_APPROVERS, ans.approvers);
		if (ans.max_duration > 0)
			proto_out_add_int(o, T_MAX_DURATION, ans.max_duration);
		proto_out_add(o, T_REASON_REQUIRED, ans.reason_required ? "1" : "0");
	}
	if (d->cfg->access_details != NULL)
		proto_out_add(o, T_DETAILS, d->cfg->access_details);
	if (ans.decision == CHECK_DENY && strcmp(ans.code, "invalid") != 0 &&
	    refusals_take(d, a, "check_refused", user, ans.group))
		audit_after(d, after, "check_refused", 0, a->is_root ? "pam" : a->user, user, ans.group,
			    "code=%s service=%s", ans.code, pam_item(a, m, T_SERVICE));
	else if (ans.from_grace)
		audit_after(d, after, "check_grace", ans.grant_id, "pam", user, ans.group, "why=%s",
			    d->cfg->role_gate ? "answered from memory: the shared ledger out of reach, or the group's snapshot "
						"older than the staleness bound (cache_ttl + refresh_timeout, at most 2 x cache_ttl)"
					      : "answered from cache: Okta failed, or did not answer within cache_ttl + "
						"refresh_timeout");
}

static void do_session(struct jitd *d, const struct actor *a, const struct proto_msg *m, struct proto_out *o)
{
	struct ledger_session s;
	struct grant g;
	const char *user = proto_get(m, T_USER), *group = proto_get(m, T_GROUP);
	const char *pid = proto_get(m, T_PID);
	int64_t now = ojit_now(), v = 0;

	if (!a->is_root) {
		reply_error(o, "forbidden", "only root (the PAM module) records sessions");
		return;
	}
	if (m->type == PROTO_SESSION_CLOSE) {
		if (parse_id(m, &v) != 0 && (proto_get(m, T_SESSION) == NULL ||
					     ojit_parse_int64(proto_get(m, T_SESSION), 1, INT64_MAX / 2, &v) != 0)) {
			reply_error(o, "invalid", "name the session");
			return;
		}
		ledger_session_close(d->ledger, v, now);
		sessions_forget_mine(v);
		return;
	}
	if (!jitd_valid_username(user) || group == NULL || pid == NULL ||
	    ojit_parse_int64(pid, 1, 1LL << 31, &v) != 0) {
		reply_error(o, "invalid", "user, group and pid are required");
		return;
	}
	memset(&s, 0, sizeof(s));
	ojit_strlcpy(s.user, user, sizeof(s.user));
	/* The session's process is the one that connected (the sshd or sudo
	 * process running the PAM module), as the kernel names it; its
	 * logind session is read from its cgroup. What the message says
	 * (PID, and XDG_SESSION_ID from the PAM environment, which a user may
	 * set in some stacks) is not trusted for either. */
	if (a->pid > 1 && v != (int64_t)a->pid)
		debug_f("session of %s: pid %lld in the message is not the caller's (%d); recording the caller", user,
			(long long)v, (int)a->pid);
	s.pid = a->pid > 1 ? (int64_t)a->pid : v;
	ojit_strlcpy(s.service, proto_get(m, T_SERVICE) ? proto_get(m, T_SERVICE) : "", sizeof(s.service));
	ojit_strlcpy(s.tty, proto_get(m, T_TTY) ? proto_get(m, T_TTY) : "", sizeof(s.tty));
	s.opened_at = now;
	s.pid_start = sessions_pid_start((pid_t)s.pid);
	if (sessions_logind_of_pid((pid_t)s.pid, s.logind_id, sizeof(s.logind_id)) != 0)
		s.logind_id[0] = '\0';
	if (ledger_grant_active(d->ledger, user, group, now, &g) == LEDGER_OK) {
		s.grant_id = g.id;
		proto_out_add_int(o, T_END, g.end_at);
		proto_out_add_int(o, T_TIME_LEFT, g.end_at - now);
		proto_out_add_int(o, T_ID, g.id);
	}
	if (ledger_session_open(d->ledger, &s) != LEDGER_OK) {
		reply_error(o, "ledger", ledger_last_error(d->ledger));
		return;
	}
	sessions_note_mine(d, &s);
	proto_out_add_int(o, T_SESSION, s.id);
	jitd_kick(d); /* the scheduler now watches this session (warning, end) */
}

/* KEYS (issue 18): sshd's AuthorizedKeysCommand asks, as [nss]
 * keys_user, for a user's SSH keys from Okta. Answered from memory (no
 * Okta call), with keys only while the user may log in here. */
static void do_keys(struct jitd *d, const struct actor *a, const struct proto_msg *m, struct proto_out *o)
{
	const char *user = proto_get(m, T_USER);
	char **keys = NULL, why[128];
	size_t n = 0, i;

	if (!a->is_root && !(d->keys_uid_set && a->uid == d->keys_uid)) {
		reply_error(o, "forbidden", "only root and [nss] keys_user may ask for SSH keys");
		audit_refusal(d, a, "refused", 0, user != NULL && jitd_valid_username(user) ? user : "", "",
			      "reason=keys-not-allowed");
		return;
	}
	if (user == NULL || !jitd_valid_username(user)) {
		reply_error(o, "invalid", "name a valid local user");
		audit_refusal(d, a, "refused", 0, "", "", "reason=keys-invalid-user");
		return;
	}
	if (nss_user_keys(d, user, &keys, &n, why, sizeof(why)) != 0) {
		reply_error(o, "error", "out of memory");
		return;
	}
	for (i = 0; i < n; i++)
		proto_out_add(o, T_KEY, keys[i]);
	/* sshd asks at every connection, for any name a client types: at
	 * a bounded rate per name (refusals.h), so a scan cannot turn each
	 * attempt into a durable ledger write */
	if (n > 0)
		audit_refusal(d, a, "keys", 0, user, "", "keys=%lld", (long long)n);
	else
		audit_refusal(d, a, "keys", 0, user, "", "keys=0 why=%s", why);
	nss_keys_free(keys, n);
}

/* AUDIT from the web (a grant's page): one grant's trail (ID, no other
 * filter), for the grant's own person (by Okta id) or someone who may
 * approve it (the check APPROVE makes). Anyone else, or a grant that is
 * not there, gets the same refusal (nothing tells the two apart) and the
 * refusal is audited. */
/* DRIFT (issue 20): the drift table, and a record per flow that is not
 * swept (standing = allow: every member standing). Root only: it names
 * Okta users and groups beyond the asker's own. */
struct drift_reply {
	struct proto_out *o;
	struct jitd *d;
	size_t n;
};

static int drift_row_cb(const struct drift_row *r, void *p)
{
	struct drift_reply *c = p;
	const struct flow_config *f = config_flow_for_group(c->d->cfg, r->grp);

	proto_out_add(c->o, T_RECORD, "");
	proto_out_add(c->o, T_GROUP, r->grp);
	proto_out_add(c->o, T_FLOW, f != NULL ? f->name : "");
	proto_out_add(c->o, T_ACTION, f != NULL && f->drift_remove ? "remove" : "report");
	proto_out_add(c->o, T_OKTA_ID, r->okta_user_id);
	proto_out_add(c->o, T_LOGIN, r->login);
	proto_out_add(c->o, T_STATE, r->state);
	proto_out_add_int(c->o, T_START, r->first_seen);
	proto_out_add_int(c->o, T_AT, r->last_seen);
	proto_out_add_int(c->o, T_ATTEMPTS, r->attempts);
	if (r->last_error[0] != '\0')
		proto_out_add(c->o, T_DETAIL, r->last_error);
	return ++c->n >= 2000;
}

static void do_drift(struct jitd *d, const struct actor *a, struct proto_out *o)
{
	struct drift_reply c = { o, d, 0 };
	size_t i, j;

	if (!a->is_root) {
		reply_error(o, "forbidden", "only root reads the drift of the Okta groups");
		audit_refusal(d, a, "refused", 0, "", "", "reason=drift-not-allowed");
		return;
	}
	/* a gate's database role reads grants and snapshots, nothing else
	 * (docs/fleet.md) */
	if (d->cfg->role_gate) {
		reply_error(o, "role", "this host only answers checks (role = gate); the granters sweep for drift: "
			    "run okta-jit drift on a granter of the fleet");
		return;
	}
	if (ledger_drift_list(d->ledger, NULL, drift_row_cb, &c) != LEDGER_OK) {
		reply_error(o, "ledger", ledger_last_error(d->ledger));
		return;
	}
	for (i = 0; i < d->cfg->nflows; i++) {
		const struct flow_config *f = &d->cfg->flows[i];

		if (!f->standing_allow)
			continue;
		for (j = 0; j < f->ngroups; j++) {
			proto_out_add(o, T_RECORD, "");
			proto_out_add(o, T_GROUP, f->groups[j]);
			proto_out_add(o, T_FLOW, f->name);
			proto_out_add(o, T_STATE, "not-checked");
			proto_out_add(o, T_DETAIL, "standing = allow: every member of the group is standing, none is drift");
		}
	}
}

static void do_audit_grant(struct jitd *d, const struct actor *a, const struct proto_msg *m, struct proto_out *o)
{
	struct jit_result res;
	struct grant g;
	char login[OKTA_LOGIN_MAX + 1];
	int64_t id = 0, cursor, limit;
	int may = 0;

	memset(&res, 0, sizeof(res));
	if (parse_id(m, &id) != 0 || proto_get(m, T_USER) != NULL || proto_get(m, T_GROUP) != NULL ||
	    proto_get(m, T_SINCE) != NULL) {
		reply_error(o, "invalid", "on the web, AUDIT reads one grant's trail: name its ID and nothing else");
		return;
	}
	if (audit_page_args(m, &cursor, &limit) != 0) {
		reply_error(o, "invalid", "bad cursor or limit (1-500)");
		return;
	}
	memset(&g, 0, sizeof(g));
	if (ledger_grant_get(d->ledger, id, &g) == LEDGER_OK) {
		if (a->okta_id[0] != '\0' && strcmp(g.okta_user_id, a->okta_id) == 0)
			may = 1;
		else if ((may = grants_can_approve(d, a, &g, login, sizeof(login), &res)) < 0) {
			reply_result_error(o, &res);
			return;
		}
	}
	if (may != 1) {
		reply_error(o, "forbidden", "you may read the trail of your own grants and of requests you may approve");
		audit_refusal(d, a, "refused", id, g.user, g.grp, "reason=audit-not-allowed");
		return;
	}
	audits_settle();
	audit_answer_page(d, o, 0, NULL, NULL, id, cursor, limit);
}

/* METRICS (issue 22): the text exposition, root only (it tells how busy
 * the host is and which groups it gates; node_exporter reads the
 * metrics_file instead, and no network port is opened). One MESSAGE
 * field holds at most PROTO_MAX_VALUE bytes: a longer text goes in
 * several, cut at line ends, that the client joins in order. */
static void do_metrics(struct jitd *d, const struct actor *a, struct proto_out *o)
{
	struct ojit_buf text;
	size_t at = 0;

	if (!a->is_root) {
		reply_error(o, "forbidden", "only root reads the metrics");
		audit_refusal(d, a, "refused", 0, "", "", "reason=metrics-not-allowed");
		return;
	}
	ojit_buf_init(&text, PROTO_MAX_PAYLOAD / 2);
	if (metrics_render(&text) != 0) {
		ojit_buf_free(&text);
		reply_error(o, "error", "the metrics text could not be made (out of memory or too large)");
		return;
	}
	while (at < text.len) {
		size_t n = metrics_chunk(text.data + at, text.len - at, PROTO_MAX_VALUE);
		char saved;

		saved = text.data[at + n];
		text.data[at + n] = '\0';
		proto_out_add(o, T_MESSAGE, text.data + at);
		text.data[at + n] = saved;
		at += n;
	}
	ojit_buf_free(&text);
}

/* FLOWS (issue 19): the flows the caller may request, what the request
 * page offers. A flow the requesters check refuses is never named; only
 * its requesters groups are, as whom to ask (configuration, not secret). */
static void do_flows(struct jitd *d, const struct actor *a, const struct proto_msg *m, struct proto_out *o)
{
	struct jit_result res;
	int verdict[CONFIG_MAX_FLOWS];
	char why[600];
	size_t i, j, k;

	memset(&res, 0, sizeof(res));
	if (d->cfg->nflows > CONFIG_MAX_FLOWS) {
		reply_error(o, "invalid", "too many flows");
		return;
	}
	if (grants_flows(d, a, proto_get(m, T_USER), verdict, why, sizeof(why), &res) != 0) {
		reply_result_error(o, &res);
		return;
	}
	if (d->cfg->access_details != NULL)
		proto_out_add(o, T_DETAILS, d->cfg->access_details);
	/* whom to ask: each requesters group of a flow refused, once */
	for (i = 0; i < d->cfg->nflows; i++) {
		const struct flow_config *f = &d->cfg->flows[i];

		if (verdict[i] != 0)
			continue;
		for (j = 0; j < f->nrequesters; j++) {
			int seen = 0;

			for (k = 0; k < i && !seen; k++) {
				const struct flow_config *g = &d->cfg->flows[k];
				size_t l;

				for (l = 0; l < g->nrequesters && !seen && verdict[k] == 0; l++)
					seen = strcmp(g->requesters[l], f->requesters[j]) == 0;
			}
			for (k = 0; k < j && !seen; k++)
				seen = strcmp(f->requesters[k], f->requesters[j]) == 0;
			if (!seen)
				proto_out_add(o, T_REQUESTERS, f->requesters[j]);
		}
	}
	for (i = 0; i < d->cfg->nflows; i++) {
		const struct flow_config *f = &d->cfg->flows[i];

		if (verdict[i] == 0)
			continue;
		proto_out_add(o, T_RECORD, "");
		proto_out_add(o, T_FLOW, f->name);
		if (verdict[i] < 0) {
			/* neither offered nor refused: its groups are not told */
			proto_out_add(o, T_STATE, "unknown");
			proto_out_add(o, T_MESSAGE, why);
			continue;
		}
		proto_out_add(o, T_STATE, "allowed");
		for (j = 0; j < f->ngroups; j++)
			proto_out_add(o, T_GROUP, f->groups[j]);
		proto_out_add_int(o, T_DURATION, f->default_duration);
		proto_out_add_int(o, T_MAX_DURATION, f->max_duration);
		proto_out_add(o, T_REASON_REQUIRED, f->reason_required ? "1" : "0");
	}
}

/* okta-jit key rotate (issue 21): switch to the next key once a token
 * request signed with it succeeds. Logins and grants go on meanwhile: a
 * token already held stays in use, and the next one is signed with the
 * new key. */
static void do_key_rotate(struct jitd *d, const struct actor *a, struct proto_out *o)
{
	char old_kid[OKTA_KID_MAX + 1] = "", new_kid[OKTA_KID_MAX + 1] = "", msg[1024];
	struct okta_error e;

	if (!a->is_root) {
		reply_error(o, "forbidden", "only root rotates the Okta key");
		audit_refusal(d, a, "refused", 0, "", "", "reason=key-rotate-not-allowed");
		return;
	}
	if (okta_client_rotate(d->okta, old_kid, new_kid, &e) != 0) {
		char text[2048];

		okta_error_format(&e, msg, sizeof(msg));
		snprintf(text, sizeof(text), "okta-jitd keeps its key: %s%s%s", msg, e.hint[0] ? "; fix: " : "", e.hint);
		reply_error(o, "okta", text);
		return;
	}
	audit_event(d, "key-rotated", 0, a->user[0] ? a->user : "root", "", "", "old_kid=%s new_kid=%s", old_kid,
		    new_kid);
	proto_out_add(o, T_KEY_ID, new_kid);
	proto_out_add(o, T_OLD_KEY_ID, old_kid);
	proto_out_add(o, T_CODE, "ok");
	proto_out_add(o, T_MESSAGE, "okta-jitd signs with the next key now");
}

void daemon_dispatch(struct jitd *d, const struct actor *a, const struct proto_msg *m, struct proto_out *o,
		     struct after_reply *after)
{
	struct jit_result res;
	struct grant g;
	int64_t id = 0, dur = 0;
	int r;

	memset(&res, 0, sizeof(res));
	proto_out_init(o, PROTO_OK);
	/* sshd's AuthorizedKeysCommandUser runs what sshd runs for any
	 * login attempt: it may ask for keys and for nothing else. */
	if (!a->is_root && !a->web && d->keys_uid_set && a->uid == d->keys_uid && m->type != PROTO_KEYS) {
		reply_error(o, "forbidden", "[nss] keys_user may only ask for SSH keys");
		audit_refusal(d, a, "refused", 0, "", "", "reason=keys-user-other-request type=%d", (int)m->type);
		return;
	}
	if (m->type == PROTO_KEYS) {
		do_keys(d, a, m, o);
		return;
	}
	if (a->user[0] == '\0' && !a->is_root) {
		reply_error(o, "forbidden", "your uid has no user name");
		return;
	}
	if (d->cfg->role_gate && (m->type == PROTO_REQUEST || m->type == PROTO_APPROVE || m->type == PROTO_DENY ||
				  m->type == PROTO_REVOKE || m->type == PROTO_EXTEND || m->type == PROTO_FLOWS ||
				  m->type == PROTO_KEY_ROTATE)) {
		reply_error(o, "role",
			    "this host only answers checks (role = gate) and holds no key that can change Okta groups; "
			    "run this on a granter host of the fleet");
		return;
	}
	switch (m->type) {
	case PROTO_PING:
		proto_out_add(o, T_MESSAGE, "okta-jitd " OJIT_VERSION);
		proto_out_add(o, T_USER, a->user);
		return;
	case PROTO_CHECK:
		do_check(d, a, m, o, after);
		return;
	case PROTO_BREAKGLASS: {
		/* Told by the PAM module (root) after a break-glass login passed
		 * without asking us: audit it and tell the [notify] targets. */
		const char *who = proto_get(m, T_USER);

		if (!a->is_root) {
			reply_error(o, "forbidden", "only the PAM module (root) reports break-glass logins");
			return;
		}
		if (who == NULL || !jitd_valid_username(who)) {
			reply_error(o, "invalid", "name the user");
			return;
		}
		audit_event(d, "breakglass", 0, "pam", who, "", "local_group=%s service=%s rhost=%s tty=%s",
			    proto_get(m, T_REASON) ? proto_get(m, T_REASON) : "", pam_item(a, m, T_SERVICE),
			    pam_item(a, m, T_RHOST), pam_item(a, m, T_TTY));
		return;
	}
	case PROTO_SESSION_OPEN:
	case PROTO_SESSION_CLOSE:
		do_session(d, a, m, o);
		return;
	case PROTO_REQUEST:
		if (parse_duration(m, &dur) != 0) {
			reply_error(o, "invalid", "bad duration");
			return;
		}
		{
			/* Filed by the PAM module (root, with a service) on the
			 * user's behalf at their prompt: the user is the requester. */
			const char *for_user = proto_get(m, T_USER);
			const char *requester = a->user;

			if (a->is_root && for_user != NULL && proto_get(m, T_SERVICE) != NULL)
				requester = for_user;
			r = grants_request(d, a, requester, for_user, proto_get(m, T_GROUP), dur, proto_get(m, T_REASON),
					   &g, &res);
		}
		break;
	case PROTO_APPROVE:
	case PROTO_DENY:
	case PROTO_REVOKE:
		if (parse_id(m, &id) != 0) {
			reply_error(o, "invalid", "name the grant id");
			return;
		}
		if (m->type == PROTO_APPROVE)
			r = grants_approve(d, a, id, proto_get(m, T_REASON), &g, &res);
		else if (m->type == PROTO_DENY)
			r = grants_deny(d, a, id, proto_get(m, T_REASON), &g, &res);
		else
			r = grants_revoke(d, a, id, &g, &res);
		break;
	case PROTO_EXTEND:
		if (parse_id(m, &id) != 0 || parse_duration(m, &dur) != 0) {
			reply_error(o, "invalid", "name the grant id and a valid duration");
			return;
		}
		r = grants_extend(d, a, id, dur, proto_get(m, T_REASON), &g, &res);
		break;
	case PROTO_STATUS: {
		struct list_ctx c = { o, d, a, 0, 0, NULL, 0, 0, 0, 0 };

		ledger_grant_list(d->ledger, a->user, "active,pending,approved", 100, list_cb, &c);
		return;
	}
	case PROTO_LIST:
		do_list(d, a, m, o);
		return;
	case PROTO_FLOWS:
		do_flows(d, a, m, o);
		return;
	case PROTO_DRIFT:
		do_drift(d, a, o);
		return;
	case PROTO_KEY_ROTATE:
		do_key_rotate(d, a, o);
		return;
	case PROTO_METRICS:
		do_metrics(d, a, o);
		return;
	case PROTO_AUDIT: {
		int64_t since = 0, cursor, limit;
		const char *s = proto_get(m, T_SINCE);

		if (a->web) {
			do_audit_grant(d, a, m, o);
			return;
		}
		if (!a->is_root) {
			reply_error(o, "forbidden", "only root reads the audit trail");
			audit_refusal(d, a, "refused", 0, "", "", "reason=audit-not-allowed");
			return;
		}
		if (s != NULL && ojit_parse_int64(s, 0, INT64_MAX / 2, &since) != 0) {
			reply_error(o, "invalid", "bad --since");
			return;
		}
		if (audit_page_args(m, &cursor, &limit) != 0) {
			reply_error(o, "invalid", "bad cursor or limit (1-500)");
			return;
		}
		audits_settle();
		/* Only a listing's first page (no CURSOR) writes every refusal
		 * count owed, so a refusal is in the trail by the time root
		 * reads it. A later page, and a follower's poll (CURSOR: `okta-jit
		 * audit --follow`, every second, sends CURSOR 0 on its first
		 * page), writes only those whose minute is over: forcing them out
		 * each poll would turn the bounded rate of one row a minute per
		 * key into one a second. */
		refusals_flush(d, proto_get(m, T_CURSOR) == NULL);
		audit_answer_page(d, o, since, proto_get(m, T_USER), proto_get(m, T_GROUP), 0, cursor, limit);
		return;
	}
	default:
		reply_error(o, "invalid", "unknown request type");
		return;
	}
	if (r != 0) {
		reply_result_error(o, &res);
		return;
	}
	add_grant(o, &g);
	proto_out_add(o, T_CODE, res.code[0] ? res.code : "ok");
	proto_out_add(o, T_MESSAGE, res.message);
	if (d->cfg->access_details != NULL)
		proto_out_add(o, T_DETAILS, d->cfg->access_details);
	if (strcmp(g.state, GS_PENDING) == 0) {
		char who[256];

		jitd_describe_approvers(d, config_flow_for_group(d->cfg, g.grp), who, sizeof(who));
		proto_out_add(o, T_APPROVERS, who);
	}
}
