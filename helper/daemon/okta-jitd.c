/* okta-jitd - the privileged helper: holds the Okta connector secret,
 * grants and removes memberships, keeps the ledger, answers the PAM module
 * and the CLI over a Unix socket. A gate (role = gate) holds no Okta
 * credential and answers from its memory of the shared ledger (mirror.h). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "answers.h"
#include "check.h"
#include "config.h"
#include "daemon.h"
#include "fleet_sig.h"
#include "keyfile.h"
#include "log_journal.h"
#include "ledger.h"
#include "metrics_collect.h"
#include "mirror.h"
#include "notify.h"
#include "nss_writer.h"
#include "oidc_verify.h"
#include "okta_api.h"
#include "okta_http.h"
#include "okta_key.h"
#include "snapshots.h"
#include "util.h"

static struct jitd jitd;

static void on_signal(int sig)
{
	(void)sig;
	jitd.stopping = 1;
}

/* The audit hook: counted for the metrics, then queued for the [notify]
 * targets. */
static void audit_heard(struct jitd *d, const char *event, int64_t grant_id, const char *actor, const char *user,
			const char *grp, const char *detail)
{
	metrics_audit_heard(event);
	notify_event(d, event, grant_id, actor, user, grp, detail);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: okta-jitd [--config PATH] [--foreground] [--debug]\n");
}

/* Keep fds 0-2 valid so a stray write never lands on our socket or DB. */
static void sanitize_fds(void)
{
	int fd;

	while ((fd = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0 && fd <= 2)
		fcntl(fd, F_SETFD, 0);
	if (fd > 2)
		close(fd);
}

static int daemonize(void)
{
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0)
		_exit(0);
	if (chdir("/") != 0)
		return -1;
	int fd = open("/dev/null", O_RDWR);

	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	return 0;
}

/* Every connection is a file descriptor: take the hard limit (systemd's
 * soft default is 1024) so the pools' bounds, not the fd limit, decide
 * what is served. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		ojit_log(LOG_WARNING, "cannot raise the open file limit: %s", strerror(errno));
}

/* The PostgreSQL password: ledger_password_file, else the systemd
 * credential "ledger-password" (LoadCredential=), else none. */
static const char *ledger_password_path(const struct ojit_config *cfg)
{
	static char cred[4096];
	const char *dir = getenv("CREDENTIALS_DIRECTORY");

	if (cfg->ledger_password_file != NULL)
		return cfg->ledger_password_file;
	if (dir != NULL && dir[0] == '/' &&
	    snprintf(cred, sizeof(cred), "%s/ledger-password", dir) < (int)sizeof(cred) && access(cred, F_OK) == 0)
		return cred;
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = { { "config", required_argument, NULL, 'c' },
					      { "foreground", no_argument, NULL, 'f' },
					      { "debug", no_argument, NULL, 'd' },
					      { "help", no_argument, NULL, 'h' },
					      { "version", no_argument, NULL, 'V' },
					      { NULL, 0, NULL, 0 } };
	const char *config_path = OJIT_DEFAULT_CONFIG;
	struct ojit_buf errs;
	struct sigaction sa;
	struct okta_key *key = NULL, *next_key = NULL;
	char err[1024];
	int busy;
	int foreground = 0, debug = 0, opt, lfd = -1, pfd = -1, wfd = -1, rc = 1, busy_sock = 0;

	/* Connection and fetch threads come and go: a few malloc arenas
	 * rather than one per core times eight keep the resident size flat. */
	mallopt(M_ARENA_MAX, 4);

	while ((opt = getopt_long(argc, argv, "c:fdhV", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config_path = optarg;
			break;
		case 'f':
			foreground = 1;
			break;
		case 'd':
			debug = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("okta-jitd %s\n", OJIT_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	umask(077);
	sanitize_fds();
	log_journal_offer();
	ojit_log_init("okta-jitd", foreground ? OJIT_LOG_STDERR : OJIT_LOG_SYSLOG, debug);
	/* before the key is read: a crash must never write it to a core file */
	if (ojit_no_core_dumps() != 0) {
		ojit_log(LOG_ERR, "cannot turn core dumps off: %s", strerror(errno));
		return 1;
	}
	openlog("okta-jitd", LOG_PID | LOG_NDELAY, LOG_AUTHPRIV);
	if (okta_http_global_init() != 0) {
		ojit_log(LOG_ERR, "cannot initialise libcurl");
		return 1;
	}
	memset(&jitd, 0, sizeof(jitd));
	pthread_mutex_init(&jitd.sched_lock, NULL);
	pthread_cond_init(&jitd.sched_cond, NULL);
	ojit_buf_init(&errs, 64 * 1024);
	if (config_load(config_path, &jitd.cfg, &errs) != 0) {
		ojit_log(LOG_ERR, "invalid configuration:\n%s", errs.data ? errs.data : "");
		fprintf(stderr, "okta-jitd: invalid configuration:\n%s", errs.data ? errs.data : "");
		goto out;
	}
	if (jitd.cfg->role_gate) {
		/* A gate answers from the shared ledger (the granters' snapshots
		 * of Okta) and holds no Okta credential at all: a key in its
		 * configuration is never read. */
		if (jitd.cfg->private_key != NULL || jitd.cfg->client_id != NULL)
			ojit_log(LOG_WARNING, "role = gate: the [okta] credential in %s is ignored (a gate holds none; "
				 "remove the [okta] section and the key file)", config_path);
	} else {
		/* Both keys are opened now, so a provider that is not there, a
		 * handle or URI that names nothing or a missing credential stop
		 * the start, never a login (issue 21). */
		if (okta_client_open_key(jitd.cfg, 0, &key, err, sizeof(err)) != 0 ||
		    (jitd.cfg->next_private_key != NULL &&
		     okta_client_open_key(jitd.cfg, 1, &next_key, err, sizeof(err)) != 0)) {
			okta_key_free(key);
			ojit_log(LOG_ERR, "%s", err);
			fprintf(stderr, "okta-jitd: %s\n", err);
			goto out;
		}
		{
			char where[512];

			okta_key_describe(key, where, sizeof(where));
			ojit_log(LOG_INFO, "Okta key: %s, kid %s", where, jitd.cfg->key_id ? jitd.cfg->key_id : "(none)");
			if (next_key != NULL) {
				okta_key_describe(next_key, where, sizeof(where));
				ojit_log(LOG_INFO, "next Okta key (okta-jit key rotate): %s, kid %s", where,
					 jitd.cfg->next_key_id);
			}
		}
		jitd.okta = okta_client_new(jitd.cfg, key, next_key, NULL);
		if (jitd.okta == NULL) {
			ojit_log(LOG_ERR, "cannot set up the Okta client");
			goto out;
		}
	}
	/* The fleet keys: a granter signs the grants and snapshots it writes,
	 * a gate uses only rows one of its verify keys accepts (fleet_sig.h). */
	if (fleet_keys_load(jitd.cfg, &jitd.keys, err, sizeof(err)) != 0) {
		ojit_log(LOG_ERR, "[daemon] fleet key: %s", err);
		fprintf(stderr, "okta-jitd: [daemon] fleet key: %s\n", err);
		goto out;
	}
	if (!jitd.cfg->role_gate && jitd.keys.sign == NULL && ledger_spec_kind(jitd.cfg->ledger) == LEDGER_DIALECT_PG)
		ojit_log(LOG_WARNING, "no [daemon] fleet_signing_key in %s: the grants and snapshots this granter "
			 "writes are unsigned, and gates will not use them", config_path);
	jitd.ledger = ledger_open(jitd.cfg->ledger, ledger_password_path(jitd.cfg), err, sizeof(err));
	jitd.ledger_shared = ledger_spec_kind(jitd.cfg->ledger) == LEDGER_DIALECT_PG;
	if (jitd.ledger == NULL) {
		ojit_log(LOG_ERR, "%s", err);
		fprintf(stderr, "okta-jitd: %s\n", err);
		goto out;
	}
	jitd.cache = check_cache_new(200000);
	if (jitd.cache == NULL) {
		ojit_log(LOG_ERR, "out of memory");
		goto out;
	}
	/* jitd.c tells these parts what the others did (jitd.h). */
	jitd.hooks.member = check_cache_member_changed;
	jitd.hooks.snapshot = snapshots_member_changed;
	jitd.hooks.audit = audit_heard;
	jitd.hooks.snapshot_written = nss_snapshot_written;
	jitd.hooks.grant_written = nss_grant_written;
	metrics_collect_init(&jitd);
	raise_fd_limit();
	/* [web] (issue 19): the web service's requests carry the user's Okta
	 * ID token, verified here against the org's keys (oidc_verify.h). */
	if (jitd.cfg->web_enabled) {
		jitd.oidc = oidc_verifier_new_okta(jitd.okta, jitd.cfg->org_url, jitd.cfg->web_client_id,
						   jitd.cfg->web_session_max);
		if (jitd.oidc == NULL) {
			ojit_log(LOG_ERR, "cannot set up the ID token verifier for [web]");
			goto out;
		}
	}
	lfd = daemon_listen(jitd.cfg->socket, DAEMON_SOCK_PUBLIC, &busy_sock);
	if (lfd >= 0)
		pfd = daemon_listen(jitd.cfg->pam_socket, DAEMON_SOCK_PAM, &busy_sock);
	if (lfd >= 0 && pfd >= 0 && jitd.oidc != NULL)
		wfd = daemon_listen(jitd.cfg->web_socket, DAEMON_SOCK_WEB, &busy_sock);
	if (lfd < 0 || pfd < 0 || (jitd.oidc != NULL && wfd < 0)) {
		const char *which = lfd < 0 ? jitd.cfg->socket : pfd < 0 ? jitd.cfg->pam_socket : jitd.cfg->web_socket;

		if (busy_sock)
			fprintf(stderr, "okta-jitd: another okta-jitd is already serving %s; not starting a second one\n",
				which);
		else
			fprintf(stderr, "okta-jitd: cannot listen on %s\n", which);
		goto out;
	}
	/* The answer board lets the PAM module skip the round trip for a
	 * recent allow: while this daemon is the ledger's one writer, or on a
	 * gate, whose memory of the shared ledger hears of every write
	 * (mirror.c voids the entries). It lives beside the PAM socket, where
	 * the module looks for it. */
	if ((!jitd.ledger_shared || jitd.cfg->role_gate) && (jitd.answers = answers_open(jitd.cfg->pam_socket)) != NULL)
		ledger_on_grant_write(jitd.ledger, answers_grant_written, jitd.answers);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	if (!foreground && daemonize() != 0) {
		ojit_log(LOG_ERR, "cannot daemonize: %s", strerror(errno));
		goto out;
	}
	ojit_log(LOG_INFO, "okta-jitd %s serving %s and %s (PAM) for integration %s (%s%s, ledger %s)", OJIT_VERSION,
		 jitd.cfg->socket, jitd.cfg->pam_socket, jitd.cfg->name, jitd.cfg->role_gate ? "gate, no Okta credential" : "org ",
		 jitd.cfg->role_gate ? "" : jitd.cfg->org_url, jitd.cfg->ledger);
	/* With a shared ledger every host follows the others' writes: a gate
	 * answers from that memory, a granter's scheduler wakes for them.
	 * Started after daemonize(): a thread does not survive fork(). */
	if (jitd.ledger_shared) {
		jitd.mirror = mirror_start(&jitd, ledger_password_path(jitd.cfg), jitd.cfg->role_gate);
		if (jitd.mirror == NULL && jitd.cfg->role_gate) {
			ojit_log(LOG_ERR, "cannot start the change listener: a gate cannot answer without it");
			goto out;
		}
		if (jitd.cfg->role_gate && mirror_wait_synced(jitd.mirror, 5000) != 0)
			ojit_log(LOG_WARNING, "the shared ledger is not read yet: checks answer unavailable until it is");
	}
	/* [nss]: the Okta users, JIT groups and SSH keys of this host
	 * (nss_writer.h); after the listener, whose memory a gate's keys use. */
	if (nss_start(&jitd) != 0) {
		ojit_log(LOG_ERR, "[nss]: cannot start the NSS cache writer");
		goto out;
	}
	check_cache_warm(&jitd);
	/* [daemon] metrics_file (issue 22): a thread, so after daemonize() */
	if (metrics_file_start(&jitd) != 0)
		goto out;
	if (wfd >= 0)
		ojit_log(LOG_INFO, "serving the web service on %s (ID tokens of client %s, sign-ins at most %llds old)",
			 jitd.cfg->web_socket, jitd.cfg->web_client_id, (long long)jitd.cfg->web_session_max);
	rc = daemon_serve(&jitd, lfd, pfd, wfd) == 0 ? 0 : 1;
	ojit_log(LOG_INFO, "okta-jitd stopping");
out:
	/* only the sockets this daemon made: never another daemon's */
	if (lfd >= 0) {
		close(lfd);
		if (jitd.cfg != NULL)
			unlink(jitd.cfg->socket);
	}
	if (pfd >= 0) {
		close(pfd);
		if (jitd.cfg != NULL)
			unlink(jitd.cfg->pam_socket);
	}
	if (wfd >= 0) {
		close(wfd);
		if (jitd.cfg != NULL)
			unlink(jitd.cfg->web_socket);
	}
	/* Background fetches end now (their Okta calls are aborted); what
	 * one still holds after the wait is left to the exiting process. */
	okta_client_abort(jitd.okta);
	metrics_file_stop(&jitd);
	nss_stop(&jitd);
	mirror_stop(jitd.mirror);
	jitd.mirror = NULL;
	busy = check_cache_free(jitd.cache) != 0 || okta_client_wait_idle(jitd.okta, 5000) != 0;
	if (jitd.ledger != NULL)
		ledger_on_grant_write(jitd.ledger, NULL, NULL);
	answers_close(jitd.answers);
	ledger_close(jitd.ledger);
	if (!busy) {
		oidc_verifier_free(jitd.oidc);
		okta_client_free(jitd.okta);
	}
	fleet_keys_free(&jitd.keys);
	config_free(jitd.cfg);
	ojit_buf_free(&errs);
	return rc;
}
