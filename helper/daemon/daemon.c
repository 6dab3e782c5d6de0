/* daemon.c - the Unix socket servers (the public socket and the PAM
 * module's root-only one): one thread per connection (a slow
 * Okta call for one client never holds up another's cached answer; threads
 * that finish a connection wait a while for the next one instead of
 * exiting, so a login does not pay a thread start), every
 * request authorised by the peer's SO_PEERCRED credentials, and the
 * scheduler thread that ends grants on time. What a request asks for
 * is answered in daemon_dispatch.c. */
#include "daemon.h"

#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
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

#include "grants.h"
#include "notify.h"
#include "refusals.h"
#include "sessions.h"
#include "snapshots.h"
#include "util.h"
#include "web_identity.h"

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

/* The group the web socket is given: okta-jit-web when it exists (the
 * web unit's SupplementaryGroups), else root's, so that no one but root
 * reaches it by accident of a missing group. */
static gid_t web_socket_group(void)
{
	struct group gr, *grp = NULL;
	char buf[4096];

	if (getgrnam_r(OJIT_WEB_GROUP, &gr, buf, sizeof(buf), &grp) == 0 && grp != NULL)
		return grp->gr_gid;
	warn_f("no group %s: the web socket is root's alone", OJIT_WEB_GROUP);
	return 0;
}

int daemon_listen(const char *path, enum daemon_sock kind, int *busy)
{
	const mode_t mode = kind == DAEMON_SOCK_PAM ? 0600 : kind == DAEMON_SOCK_WEB ? 0660 : 0666;
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
	 * the PAM or web socket between bind and chmod. */
	old = umask(kind == DAEMON_SOCK_PUBLIC ? 0111 : 0177);
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
	 * connection threads. The web socket: the web service's group. */
	if (kind == DAEMON_SOCK_WEB && chown(path, 0, web_socket_group()) != 0) {
		error_f("chown %s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	if (chmod(path, mode) != 0 || listen(fd, 512) != 0) {
		error_f("listen %s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	return fd;
}

/* One pool of connection threads per listening socket. */
struct pool {
	const char *name;
	struct jitd *d;
	int lfd;
	int root_only;   /* the PAM socket: a non-root peer is dropped */
	int web;         /* the web socket: each request acts for its ID token's user */
	int max_threads;
	atomic_int threads; /* workers alive */
	atomic_int idle;    /* workers waiting in accept() */
};

static struct pool pool_public = { .name = "public", .lfd = -1, .max_threads = DAEMON_MAX_CLIENTS };
static struct pool pool_pam = { .name = "pam", .lfd = -1, .root_only = 1, .max_threads = DAEMON_MAX_PAM_CLIENTS };
static struct pool pool_web = { .name = "web", .lfd = -1, .web = 1, .max_threads = DAEMON_MAX_WEB_CLIENTS };

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

/* One request on the web socket: the peer (the web service) acts for
 * nobody by itself; the request runs as the Okta user its ID token
 * names, or is refused. Every audit record it writes says channel=web. */
static void serve_web_request(struct jitd *d, const struct actor *peer, const struct proto_msg *m,
			      struct proto_out *o, struct after_reply *after)
{
	struct jit_result res;
	struct actor a;

	memset(&res, 0, sizeof(res));
	jitd_audit_channel("web");
	if (!web_request_allowed(m->type)) {
		proto_out_init(o, PROTO_ERROR);
		proto_out_add(o, T_CODE, "forbidden");
		proto_out_add(o, T_MESSAGE, "this request is not served on the web socket");
		goto out;
	}
	if (web_identity_actor(d, peer->uid, peer->pid, m, &a, &res) != 0) {
		proto_out_init(o, PROTO_ERROR);
		proto_out_add(o, T_CODE, res.code);
		proto_out_add(o, T_MESSAGE, res.message);
		goto out;
	}
	daemon_dispatch(d, &a, m, o, after);
out:
	jitd_audit_channel(NULL);
}

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
	/* The web service is one peer for many people, and its socket is its
	 * group's alone: no per-uid bound there (its pool is bounded). */
	if (!a.is_root && !pl->web) {
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
		if (!a.is_root || pl->web)
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
		/* 16 is unassigned here (issue 21's KEY_ROTATE is 17 until the
		 * numbers are settled): unknown, as a type past the end is. */
		if (m.type == 0 || m.type > PROTO_TYPE_MAX_REQUEST || (m.type > PROTO_FLOWS && m.type < PROTO_KEY_ROTATE)) {
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
		if (pl->web)
			serve_web_request(d, &a, &m, &o, &after);
		else if (proto_count(&m, T_ID_TOKEN) > 0) {
			/* a token means nothing here: the peer is who it is */
			proto_out_init(&o, PROTO_ERROR);
			proto_out_add(&o, T_CODE, "invalid");
			proto_out_add(&o, T_MESSAGE, "ID tokens are read on the web socket alone");
		} else
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
		if (pl->web)
			jitd_audit_channel("web");
		daemon_after_reply(d, &after);
		jitd_audit_channel(NULL);
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

/* How soon the scheduler looks again after the ledger could not be read. */
#define SCHED_RETRY_SECONDS 2

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
		/* An unreadable ledger may hide work due now (a shared one:
		 * grants other hosts made): look again soon, not in a minute. */
		if (next < 0)
			wait_s = SCHED_RETRY_SECONDS;
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

int daemon_serve(struct jitd *d, int lfd, int pam_fd, int web_fd)
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
	if (snapshots_start(d) != 0)
		error_f("cannot start the snapshot refresher; the gates' snapshots age until another granter refreshes them");
	if (pool_start(&pool_pam, d, pam_fd) != 0 || pool_start(&pool_public, d, lfd) != 0 ||
	    (web_fd >= 0 && pool_start(&pool_web, d, web_fd) != 0))
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
		if (!d->stopping && web_fd >= 0 && atomic_load(&pool_web.threads) == 0)
			start_worker(&pool_web);
	}
	/* wake the workers blocked in accept(): they see stopping and end */
	shutdown(lfd, SHUT_RDWR);
	shutdown(pam_fd, SHUT_RDWR);
	if (web_fd >= 0)
		shutdown(web_fd, SHUT_RDWR);
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
	/* (after the abort: a listing under way ends now, and nothing is
	 * written from its cut-short answer) */
	snapshots_stop(d);
	for (int i = 0; i < 100 &&
			atomic_load(&pool_public.threads) + atomic_load(&pool_pam.threads) + atomic_load(&pool_web.threads) > 0;
	     i++)
		ojit_sleep_ms(20);
	return 0;
}
