/* daemon.h - okta-jitd's socket server and scheduler. */
#ifndef OJIT_DAEMON_H
#define OJIT_DAEMON_H

#include "jitd.h"
#include "proto.h"

#define DAEMON_MAX_CLIENTS 1024    /* connections served at once on the public socket */
#define DAEMON_MAX_PAM_CLIENTS 256 /* on the PAM socket (root only), reserved */
#define DAEMON_MAX_WEB_CLIENTS 64  /* on the web socket (issue 19) */
#define DAEMON_IO_TIMEOUT_MS 5000
#define DAEMON_IDLE_TIMEOUT_MS 60000
/* Non-root callers on the public socket, per uid: connections open at once,
 * requests per second (a bucket of DAEMON_USER_BURST refilled at
 * DAEMON_USER_RATE a second), and how long a connection may wait for, or
 * take to send, each request. */
#define DAEMON_USER_MAX_CONNS 16
#define DAEMON_USER_RATE 10
#define DAEMON_USER_BURST 20
#define DAEMON_USER_IDLE_MS 5000

/* The three sockets okta-jitd listens on. */
enum daemon_sock {
	/* mode 0666: every local user may connect; each request is
	 * authorised by the peer's credentials */
	DAEMON_SOCK_PUBLIC,
	/* mode 0600: root (the PAM module) alone */
	DAEMON_SOCK_PAM,
	/* mode 0660, group okta-jit-web (root's group when there is no such
	 * group): the web service; each request is authorised by the Okta ID
	 * token it carries (issue 19) */
	DAEMON_SOCK_WEB,
};
/* Create a listening socket of that kind at path. A socket already at
 * path is replaced only when nothing answers on it (a stale one); -1
 * (logged, and *busy set) when another daemon does. */
int daemon_listen(const char *path, enum daemon_sock kind, int *busy);
/* Serve the sockets until d->stopping (web_fd -1: no web socket); each
 * has its own connection threads, so load on the public socket never
 * delays the PAM module. */
int daemon_serve(struct jitd *d, int listen_fd, int pam_fd, int web_fd);
/* An audit record kept back until the reply is sent: a refused check's
 * record is a durable ledger write (an fsync), and the PAM module need
 * not wait for it. */
struct after_reply {
	int pending;
	struct audit_event ev; /* (id and at unused) */
};
/* Handle one parsed request from actor; fills the reply. With after
 * non-NULL, a check's audit record may be left there for the caller to
 * write (daemon_after_reply) once the reply is sent; with NULL it is
 * written at once. Exposed for the fuzzer and tests. */
void daemon_dispatch(struct jitd *d, const struct actor *a, const struct proto_msg *req,
		     struct proto_out *reply, struct after_reply *after);
void daemon_after_reply(struct jitd *d, struct after_reply *after);

#endif
