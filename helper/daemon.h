/* daemon.h - okta-jitd's socket server and scheduler. */
#ifndef OJIT_DAEMON_H
#define OJIT_DAEMON_H

#include "jitd.h"
#include "proto.h"

#define DAEMON_MAX_CLIENTS 1024
#define DAEMON_IO_TIMEOUT_MS 5000
#define DAEMON_IDLE_TIMEOUT_MS 60000

/* Create the listening socket (mode 0666: every local user may connect;
 * each request is authorised by the peer's credentials). */
int daemon_listen(const char *path);
/* Serve until d->stopping. */
int daemon_serve(struct jitd *d, int listen_fd);
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
