/* daemon.c - the Unix socket servers (the public socket and the PAM
 * module's root-only one): one thread per connection (a slow
 * Okta call for one client never holds up another's cached answer; threads
 * that finish a connection wait a while for the next one instead of
 * exiting, so a login does not pay a thread start), every
 * request authorised by the peer's SO_PEERCRED credentials, and the
 * scheduler thread that ends grants on time. */
#include "daemon.h"

#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "answers.h"
#include "audit.h"
#include "check.h"
#include "duration.h"
#include "grants.h"
#include "notify.h"
#include "refusals.h"
#include "sessions.h"
#include "util.h"

static atomic_int active_clients;

/* Connection threads accept for themselves: each idle worker blocks in
 * accept(2) on its listening socket and the kernel wakes exactly one per
 * connection, so no thread hands connections to another (a wake-up and a
 * lock less on every login). When the last idle worker takes a
 * connection it starts another first, so a slow client never holds up the
 * next one; workers beyond POOL_MIN_IDLE that stay idle POOL_IDLE_SECONDS
 * end. Each socket has its own workers, bounded apart (DAEMON_MAX_CLIENTS
 * on the public socket, DAEMON_MAX_PAM_CLIENTS on the PAM module's); past
 * that, connections wait in the listen backlog. On the public socket a
 * non-root uid holds at most DAEMON_USER_MAX_CONNS connections and makes
 * at most DAEMON_USER_RATE requests a second, so no local user can take
 * every worker, and the PAM socket's are never anyone's but root's. */
#define POOL_MIN_IDLE 4
#define POOL_IDLE_SECONDS 30

/* Is a server answering on the socket at path? 1 yes (connected, or its
 * backlog is full: a busy daemon), 0 no (ECONNREFUSED: a stale socket
 * left by a daemon that died), -1 cannot tell (*err set). */
static int socket_in_use(const char *path, int *err)
{
	struct sockaddr_un sa;
	int fd, r;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (ojit_strlcpy(sa.sun_path, path, sizeof(sa.sun_path)) != 0) {
		*err = ENAMETOOLONG;
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		*err = errno;
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno == EAGAIN || errno == EINPROGRESS)
		r = 1;
	else if (errno == ECONNREFUSED || errno == ENOENT)
		r = 0; /* (ENOENT: removed meanwhile) */
	else {
		*err = errno;
		r = -1;
	}
	close(fd);
	return r;
}

int daemon_listen(const char *path, int root_only, int *busy)
{
	struct sockaddr_un sa;
	struct stat st;
	char dir[sizeof(sa.sun_path)];
	char *slash;
	mode_t old;
	int fd, err = 0;

	*busy = 0;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (ojit_strlcpy(sa.sun_path, path, sizeof(sa.sun_path)) != 0) {
		error_f("socket path too long: %s", path);
		return -1;
	}
	ojit_strlcpy(dir, path, sizeof(dir));
	slash = strrchr(dir, '/');
	if (slash != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
			error_f("cannot create %s: %s", dir, strerror(errno));
			return -1;
		}
	}
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			error_f("%s exists and is not a socket; refusing to replace it", path);
			return -1;
		}
		/* Never take a live daemon's socket over (a second copy started
		 * by hand, a unit started twice): only a stale one goes. */
		switch (socket_in_use(path, &err)) {
		case 1:
			*busy = 1;
			error_f("another okta-jitd is already serving %s; not starting a second one", path);
			return -1;
		case 0:
			if (unlink(path) != 0 && errno != ENOENT) {
				error_f("cannot remove the stale socket %s: %s", path, strerror(errno));
				return -1;
			}
			break;
		default:
			error_f("cannot tell whether another okta-jitd serves %s (%s); not replacing it", path,
				strerror(err));
			return -1;
		}
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		error_f("socket: %s", strerror(errno));
		return -1;
	}
	/* Created without permissions for others, so no one can connect to
	 * the PAM socket between bind and chmod. */
	old = umask(root_only ? 0177 : 0111);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		umask(old);
		if (errno == EADDRINUSE)
			*busy = 1;
		error_f("bind %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	umask(old);
	/* The public socket: anyone may connect; what they may do is decided
	 * per request. The PAM socket: root alone (connect needs write
	 * permission on the socket file), so no other user can take its
	 * connection threads. */
	if (chmod(path, root_only ? 0600 : 0666) != 0 || listen(fd, 512) != 0) {
		error_f("listen %s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	return fd;
}

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

struct list_ctx {
	struct proto_out *o;
	struct jitd *d;
	const struct actor *a;
	int approvable; /* only requests a may approve */
	size_t n;
};

static int list_cb(const struct grant *g, void *p)
{
	struct list_ctx *c = p;

	if (c->approvable) {
		struct jit_result res;
		char login[OKTA_LOGIN_MAX + 1];

		if (grants_can_approve(c->d, c->a, g, login, sizeof(login), &res) != 1)
			return 0;
	}
	add_grant(c->o, g);
	return ++c->n >= 2000;
}

static int audit_row_cb(const struct audit_event *e, void *p)
{
	struct list_ctx *c = p;

	proto_out_add(c->o, T_RECORD, "");
	proto_out_add_int(c->o, T_AT, e->at);
	proto_out_add(c->o, T_EVENT, e->event);
	proto_out_add_int(c->o, T_ID, e->grant_id);
	proto_out_add(c->o, T_ACTOR, e->actor);
	proto_out_add(c->o, T_USER, e->user);
	proto_out_add(c->o, T_GROUP, e->grp);
	proto_out_add(c->o, T_DETAIL, e->detail);
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
			    "answered from cache during an Okta outage");
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

void daemon_dispatch(struct jitd *d, const struct actor *a, const struct proto_msg *m, struct proto_out *o,
		     struct after_reply *after)
{
	struct jit_result res;
	struct grant g;
	int64_t id = 0, dur = 0;
	int r;

	memset(&res, 0, sizeof(res));
	proto_out_init(o, PROTO_OK);
	if (a->user[0] == '\0' && !a->is_root) {
		reply_error(o, "forbidden", "your uid has no user name");
		return;
	}
	if (d->cfg->role_gate && (m->type == PROTO_REQUEST || m->type == PROTO_APPROVE || m->type == PROTO_DENY ||
				  m->type == PROTO_REVOKE || m->type == PROTO_EXTEND)) {
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
	case PROTO_LIST:
	case PROTO_STATUS: {
		struct list_ctx c = { o, d, a, 0, 0 };
		const char *all = proto_get(m, T_ALL);
		const char *states = proto_get(m, T_STATE);
		const char *who = a->is_root ? proto_get(m, T_USER) : a->user;

		if (m->type == PROTO_STATUS) {
			ledger_grant_list(d->ledger, a->user, "active,pending,approved", 100, list_cb, &c);
			return;
		}
		if (states != NULL && strcmp(states, "approvable") == 0) {
			c.approvable = 1;
			ledger_grant_list(d->ledger, NULL, "pending", 500, list_cb, &c);
			return;
		}
		if (states != NULL && (strlen(states) > 100 || strspn(states, "abcdefghijklmnopqrstuvwxyz,") != strlen(states))) {
			reply_error(o, "invalid", "bad state filter");
			return;
		}
		if (all != NULL && strcmp(all, "1") == 0)
			ledger_grant_list(d->ledger, who, states, 2000, list_cb, &c);
		else
			ledger_grant_list(d->ledger, who, states ? states : "active,pending,approved", 2000, list_cb, &c);
		return;
	}
	case PROTO_AUDIT: {
		struct list_ctx c = { o, d, a, 0, 0 };
		int64_t since = 0;
		const char *s = proto_get(m, T_SINCE);

		if (!a->is_root) {
			reply_error(o, "forbidden", "only root reads the audit trail");
			audit_refusal(d, a, "refused", 0, "", "", "reason=audit-not-allowed");
			return;
		}
		if (s != NULL && ojit_parse_int64(s, 0, INT64_MAX / 2, &since) != 0) {
			reply_error(o, "invalid", "bad --since");
			return;
		}
		audits_settle();
		refusals_flush(d, 1);
		ledger_audit_list(d->ledger, since, proto_get(m, T_USER), proto_get(m, T_GROUP), 10000, audit_row_cb, &c);
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

/* One pool of connection threads per listening socket. */
struct pool {
	const char *name;
	struct jitd *d;
	int lfd;
	int root_only;   /* the PAM socket: a non-root peer is dropped */
	int max_threads;
	atomic_int threads; /* workers alive */
	atomic_int idle;    /* workers waiting in accept() */
};

static struct pool pool_public = { .name = "public", .lfd = -1, .max_threads = DAEMON_MAX_CLIENTS };
static struct pool pool_pam = { .name = "pam", .lfd = -1, .root_only = 1, .max_threads = DAEMON_MAX_PAM_CLIENTS };

/* What each non-root uid is using of the public socket: connections open
 * now and its request bucket. A fixed table, so no caller grows memory;
 * a slot is reused once its uid holds no connection and its bucket is
 * full again. */
#define UID_SLOTS 4096
struct uid_use {
	uid_t uid;
	int used;
	int conns;
	double tokens;
	int64_t at_ms; /* when tokens was last brought up to date */
};
static pthread_mutex_t uid_lock = PTHREAD_MUTEX_INITIALIZER;
static struct uid_use uid_table[UID_SLOTS];

static void uid_refill(struct uid_use *u, int64_t now)
{
	u->tokens += (double)(now - u->at_ms) * DAEMON_USER_RATE / 1000.0;
	if (u->tokens > DAEMON_USER_BURST)
		u->tokens = DAEMON_USER_BURST;
	u->at_ms = now;
}

/* Take one of uid's connections. The slot, or NULL when uid has
 * DAEMON_USER_MAX_CONNS open already (or the table is full). */
static struct uid_use *uid_enter(uid_t uid)
{
	struct uid_use *u = NULL, *spare = NULL;
	int64_t now = ojit_mono_ms();
	size_t i, home = ((size_t)uid * 2654435761u) % UID_SLOTS;

	pthread_mutex_lock(&uid_lock);
	for (i = 0; i < UID_SLOTS; i++) {
		struct uid_use *s = &uid_table[(home + i) % UID_SLOTS];

		if (s->used && s->uid == uid) {
			u = s;
			break;
		}
		if (spare == NULL && !s->used)
			spare = s;
		if (!s->used)
			break; /* probes stop at a never-used slot */
	}
	if (u == NULL && spare == NULL) {
		/* full: reuse a slot whose uid is at rest */
		for (i = 0; i < UID_SLOTS && spare == NULL; i++) {
			struct uid_use *s = &uid_table[(home + i) % UID_SLOTS];

			uid_refill(s, now);
			if (s->conns == 0 && s->tokens >= DAEMON_USER_BURST)
				spare = s;
		}
	}
	if (u == NULL && spare != NULL) {
		u = spare;
		u->used = 1;
		u->uid = uid;
		u->conns = 0;
		u->tokens = DAEMON_USER_BURST;
		u->at_ms = now;
	}
	if (u != NULL && u->conns >= DAEMON_USER_MAX_CONNS)
		u = NULL;
	if (u != NULL)
		u->conns++;
	pthread_mutex_unlock(&uid_lock);
	return u;
}

static void uid_leave(struct uid_use *u)
{
	pthread_mutex_lock(&uid_lock);
	u->conns--;
	pthread_mutex_unlock(&uid_lock);
}

/* May this uid make one more request now? */
static int uid_take_token(struct uid_use *u)
{
	int ok = 0;

	pthread_mutex_lock(&uid_lock);
	uid_refill(u, ojit_mono_ms());
	if (u->tokens >= 1.0) {
		u->tokens -= 1.0;
		ok = 1;
	}
	pthread_mutex_unlock(&uid_lock);
	return ok;
}

/* Tell a caller it is over its limit, without waiting on it: the reply
 * is small enough for an empty socket buffer, and a caller that does not
 * read loses it. */
static void reply_busy(int fd, const char *msg)
{
	struct proto_out o;

	proto_out_init(&o, PROTO_ERROR);
	proto_out_add(&o, T_CODE, "busy");
	proto_out_add(&o, T_MESSAGE, msg);
	if (proto_out_finish(&o, PROTO_MAX_PAYLOAD) == 0 && o.data != NULL &&
	    send(fd, o.data, o.len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		debug_f("busy reply not sent: %s", strerror(errno));
	proto_out_free(&o);
}

/* Warn at most once every ten seconds per pool, so a flood does not
 * become a flood of log lines. */
static void warn_limited(atomic_llong *last, const char *what, uid_t uid)
{
	long long now = (long long)ojit_mono_ms(), prev = atomic_load(last);

	if (now - prev >= 10000 && atomic_compare_exchange_strong(last, &prev, now))
		warn_f("uid %u: %s (logged at most every 10 s)", (unsigned)uid, what);
}

static atomic_llong warned_conns, warned_rate, warned_pam;

static void serve_client(struct pool *pl, int fd)
{
	struct jitd *d = pl->d;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct actor a;
	struct passwd pw, *pwp = NULL;
	struct uid_use *use = NULL;
	char pwbuf[4096];
	int first = 1;

	memset(&a, 0, sizeof(a));
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof(cred)) {
		error_f("SO_PEERCRED failed: %s", strerror(errno));
		goto out;
	}
	a.uid = cred.uid;
	a.pid = cred.pid;
	a.is_root = cred.uid == 0;
	if (pl->root_only && !a.is_root) {
		/* the socket file is 0600 root: only a changed mode gets here */
		warn_limited(&warned_pam, "connected to the PAM socket, which serves root only; dropped", a.uid);
		goto out;
	}
	if (!a.is_root) {
		use = uid_enter(a.uid);
		if (use == NULL) {
			warn_limited(&warned_conns, "too many connections open at once; new ones refused", a.uid);
			reply_busy(fd, "too many connections to okta-jitd from your user at once; try again shortly");
			goto out;
		}
	}
	/* uid 0 is root whatever passwd calls it: no NSS lookup on the PAM
	 * module's path. */
	if (a.is_root)
		ojit_strlcpy(a.user, "root", sizeof(a.user));
	else if (getpwuid_r(cred.uid, &pw, pwbuf, sizeof(pwbuf), &pwp) == 0 && pwp != NULL &&
		 jitd_valid_username(pw.pw_name))
		ojit_strlcpy(a.user, pw.pw_name, sizeof(a.user));
	while (!d->stopping) {
		struct after_reply after;
		struct proto_msg m;
		struct proto_out o;
		int r, wait_ms;

		/* A non-root connection gets a short time for each request,
		 * whole: holding a connection open (idle, or writing slowly)
		 * keeps one of its few slots, never a thread for long. */
		if (!a.is_root)
			wait_ms = DAEMON_USER_IDLE_MS;
		else
			wait_ms = first ? DAEMON_IO_TIMEOUT_MS : DAEMON_IDLE_TIMEOUT_MS;
		r = proto_read(fd, &m, PROTO_MAX_REQUEST, wait_ms);
		if (r != 0) {
			if (r != PROTO_EOF && !(r == PROTO_ETIMEOUT && !first))
				warn_f("uid %u pid %d: bad or no request (%s); closing", (unsigned)a.uid, (int)a.pid,
				       proto_strerror(r));
			break;
		}
		first = 0;
		if (m.type == 0 || m.type > PROTO_TYPE_MAX_REQUEST) {
			warn_f("uid %u: unknown request type %u; closing", (unsigned)a.uid, m.type);
			proto_msg_free(&m);
			break;
		}
		if (use != NULL && !uid_take_token(use)) {
			proto_msg_free(&m);
			warn_limited(&warned_rate, "too many requests; refused until the rate falls", a.uid);
			reply_busy(fd, "too many requests to okta-jitd from your user; slow down");
			break;
		}
		after.pending = 0;
		daemon_dispatch(d, &a, &m, &o, &after);
		proto_msg_free(&m);
		if (proto_out_finish(&o, PROTO_MAX_PAYLOAD) != 0) {
			proto_out_free(&o);
			proto_out_init(&o, PROTO_ERROR);
			proto_out_add(&o, T_CODE, "too_big");
			proto_out_add(&o, T_MESSAGE, "the answer is too large; narrow the query");
			proto_out_finish(&o, PROTO_MAX_PAYLOAD);
		}
		r = proto_write(fd, &o, DAEMON_IO_TIMEOUT_MS);
		proto_out_free(&o);
		daemon_after_reply(d, &after);
		if (r != 0)
			break;
	}
out:
	if (use != NULL)
		uid_leave(use);
	close(fd);
	atomic_fetch_sub(&active_clients, 1);
}

static int start_worker(struct pool *pl);

static void *worker_thread(void *p)
{
	struct pool *pl = p;
	struct jitd *d = pl->d;

	for (;;) {
		int fd, idle_left;

		atomic_fetch_add(&pl->idle, 1);
		fd = accept4(pl->lfd, NULL, NULL, SOCK_CLOEXEC);
		idle_left = atomic_fetch_sub(&pl->idle, 1) - 1;
		if (d->stopping) {
			if (fd >= 0)
				close(fd);
			break;
		}
		if (fd < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				/* idle for POOL_IDLE_SECONDS: end if others wait */
				if (atomic_load(&pl->idle) >= POOL_MIN_IDLE)
					break;
			} else if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				warn_f("accept on the %s socket: %s", pl->name, strerror(errno));
				ojit_sleep_ms(50);
			} else if (errno != EINTR && errno != ECONNABORTED) {
				ojit_sleep_ms(10);
			}
			continue;
		}
		if (idle_left <= 0)
			start_worker(pl); /* keep one waiting while this one serves */
		atomic_fetch_add(&active_clients, 1);
		serve_client(pl, fd);
	}
	/* Free OpenSSL's per-thread state now, not in a destructor that may
	 * still be running when the process exits. */
	OPENSSL_thread_stop();
	atomic_fetch_sub(&pl->threads, 1);
	return NULL;
}

/* 0, or -1 when at the pool's thread bound or out of resources. */
static int start_worker(struct pool *pl)
{
	pthread_attr_t attr;
	pthread_t t;
	int r = -1;

	if (atomic_fetch_add(&pl->threads, 1) >= pl->max_threads) {
		atomic_fetch_sub(&pl->threads, 1);
		return -1;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	if (pthread_create(&t, &attr, worker_thread, pl) == 0)
		r = 0;
	else
		atomic_fetch_sub(&pl->threads, 1);
	pthread_attr_destroy(&attr);
	return r;
}

static void *scheduler_thread(void *p)
{
	struct jitd *d = p;
	int first = 1;

	while (!d->stopping) {
		int64_t next, wait_s;
		size_t open_sessions;
		struct timespec ts;

		/* A gate changes nothing in Okta: the granters of the fleet
		 * settle grants; every host warns and ends its own sessions. */
		if (first && !d->cfg->role_gate)
			grants_recover(d);
		first = 0;
		if (!d->cfg->role_gate)
			grants_run_due(d);
		open_sessions = sessions_tick(d);
		refusals_flush(d, 0);
		next = ledger_next_due(d->ledger);
		wait_s = next > 0 ? next - ojit_now() : 60;
		if (wait_s > 60)
			wait_s = 60;
		/* Sessions are warned and ended on time: look every second
		 * while any is open. */
		if (open_sessions > 0 && wait_s > 1)
			wait_s = 1;
		if (wait_s < 0)
			wait_s = 0;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += wait_s;
		/* Wake on the next second boundary too: ends are in seconds. */
		if (wait_s == 0)
			ts.tv_nsec += 200000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&d->sched_lock);
		while (!d->sched_kick && !d->stopping)
			if (pthread_cond_timedwait(&d->sched_cond, &d->sched_lock, &ts) == ETIMEDOUT)
				break;
		d->sched_kick = 0;
		pthread_mutex_unlock(&d->sched_lock);
	}
	return NULL;
}

/* Start a pool's first workers on lfd; -1 when not even one starts. */
static int pool_start(struct pool *pl, struct jitd *d, int lfd)
{
	/* accept() in the workers returns EAGAIN after this long idle */
	struct timeval tv = { POOL_IDLE_SECONDS, 0 };
	int started = 0;

	if (setsockopt(lfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0)
		warn_f("SO_RCVTIMEO on the %s socket: %s", pl->name, strerror(errno));
	pl->d = d;
	pl->lfd = lfd;
	for (int i = 0; i < POOL_MIN_IDLE; i++)
		if (start_worker(pl) == 0)
			started++;
	if (started == 0) {
		error_f("cannot start a connection thread for the %s socket", pl->name);
		return -1;
	}
	return 0;
}

int daemon_serve(struct jitd *d, int lfd, int pam_fd)
{
	pthread_t sched;
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_destroy(&d->sched_cond);
	pthread_cond_init(&d->sched_cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&sched, NULL, scheduler_thread, d) != 0) {
		error_f("cannot start the scheduler");
		return -1;
	}
	if (notify_start(d) != 0)
		error_f("cannot start the notification sender; events stay queued in the ledger");
	if (pool_start(&pool_pam, d, pam_fd) != 0 || pool_start(&pool_public, d, lfd) != 0)
		d->stopping = 1;
	/* The workers accept; this thread only waits for the stop signal
	 * and, should every worker of a pool have ended (threads refused),
	 * starts one. */
	while (!d->stopping) {
		ojit_sleep_ms(200);
		if (!d->stopping && atomic_load(&pool_pam.threads) == 0)
			start_worker(&pool_pam);
		if (!d->stopping && atomic_load(&pool_public.threads) == 0)
			start_worker(&pool_public);
	}
	/* wake the workers blocked in accept(): they see stopping and end */
	shutdown(lfd, SHUT_RDWR);
	shutdown(pam_fd, SHUT_RDWR);
	jitd_kick(d);
	pthread_join(sched, NULL);
	refusals_flush(d, 1);
	notify_stop(d);
	/* give client threads a moment to finish their replies */
	for (int i = 0; i < 50 && atomic_load(&active_clients) > 0; i++)
		ojit_sleep_ms(100);
	/* then end what still waits on Okta (an owed change is in the ledger
	 * and finished at the next start) and let every thread leave */
	okta_client_abort(d->okta);
	for (int i = 0; i < 100 && atomic_load(&pool_public.threads) + atomic_load(&pool_pam.threads) > 0; i++)
		ojit_sleep_ms(20);
	return 0;
}
