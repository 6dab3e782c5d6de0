/* sessions.c - warn and end the login sessions opened under a grant.
 *
 * A session is recorded by the PAM module at pam_open_session with its
 * process (the sshd/sudo process that opened it) and, where systemd-logind
 * runs, the logind session id. Before the grant ends the terminals of the
 * session's processes get a warning; when it ends and the flow says
 * on_expiry = terminate, the session is ended through logind, else by
 * SIGTERM (then SIGKILL) to the session's process. The process start time
 * recorded at open guards against signalling a recycled pid. */
#include "sessions.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "duration.h"
#include "util.h"

extern char **environ;

/* Read /proc/PID/stat: ppid, tty_nr and starttime (fields 4, 7, 22). The
 * comm field may hold spaces and parentheses: parse after the last ')'. */
static int read_stat(pid_t pid, pid_t *ppid, int *tty_nr, int64_t *start)
{
	char path[64], buf[1024];
	const char *p;
	ssize_t n;
	int fd, field;
	long long v[22];

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (p == NULL)
		return -1;
	p += 2; /* ") " then field 3 (state) */
	if (*p == '\0')
		return -1;
	p++; /* skip state char */
	for (field = 4; field <= 22; field++) {
		char *end;

		while (*p == ' ')
			p++;
		v[field - 1] = strtoll(p, &end, 10);
		if (end == p)
			return -1;
		p = end;
	}
	if (ppid)
		*ppid = (pid_t)v[3];
	if (tty_nr)
		*tty_nr = (int)v[6];
	if (start)
		*start = v[21];
	return 0;
}

int64_t sessions_pid_start(pid_t pid)
{
	int64_t start = 0;

	if (pid <= 1 || read_stat(pid, NULL, NULL, &start) != 0)
		return 0;
	return start;
}

static int same_process(const struct ledger_session *s)
{
	return s->pid > 1 && s->pid_start > 0 && sessions_pid_start((pid_t)s->pid) == s->pid_start;
}

/* Write text to every pseudo-terminal held by pid or its descendants. */
static void warn_terminals(pid_t root, const char *text)
{
	DIR *dir = opendir("/proc");
	struct dirent *de;
	pid_t *pids = NULL, *ppids = NULL;
	int *ttys = NULL;
	size_t n = 0, cap = 0, i, j;
	int written[64], nwritten = 0;

	if (dir == NULL)
		return;
	while ((de = readdir(dir)) != NULL) {
		pid_t pid, ppid;
		int tty;
		char *end;

		pid = (pid_t)strtol(de->d_name, &end, 10);
		if (*end != '\0' || pid <= 0 || read_stat(pid, &ppid, &tty, NULL) != 0)
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 256;
			pid_t *np = realloc(pids, ncap * sizeof(*np));
			pid_t *npp;
			int *nt;

			if (np == NULL)
				break;
			pids = np;
			npp = realloc(ppids, ncap * sizeof(*npp));
			if (npp == NULL)
				break;
			ppids = npp;
			nt = realloc(ttys, ncap * sizeof(*nt));
			if (nt == NULL)
				break;
			ttys = nt;
			cap = ncap;
		}
		pids[n] = pid;
		ppids[n] = ppid;
		ttys[n] = tty;
		n++;
	}
	closedir(dir);
	for (i = 0; i < n; i++) {
		pid_t p = pids[i];
		int depth, under = 0;
		unsigned major, minor;
		char dev[64];

		if (ttys[i] == 0)
			continue;
		/* is pids[i] root or under root? */
		for (depth = 0; depth < 64 && p > 1; depth++) {
			if (p == root) {
				under = 1;
				break;
			}
			for (j = 0; j < n && pids[j] != p; j++)
				;
			if (j == n)
				break;
			p = ppids[j];
		}
		if (!under)
			continue;
		major = ((unsigned)ttys[i] >> 8) & 0xfff;
		minor = ((unsigned)ttys[i] & 0xff) | (((unsigned)ttys[i] >> 12) & 0xfff00);
		if (major < 136 || major > 143)
			continue; /* only pseudo-terminals */
		for (j = 0; j < (size_t)nwritten && written[j] != ttys[i]; j++)
			;
		if (j < (size_t)nwritten || nwritten >= 64)
			continue;
		written[nwritten++] = ttys[i];
		snprintf(dev, sizeof(dev), "/dev/pts/%u", (major - 136) * 256 + minor);
		int fd = open(dev, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);

		if (fd >= 0) {
			ssize_t w = write(fd, text, strlen(text));

			(void)w;
			close(fd);
		}
	}
	free(pids);
	free(ppids);
	free(ttys);
}

static int logind_running(void)
{
	struct stat st;

	return stat("/run/systemd/seats", &st) == 0 && S_ISDIR(st.st_mode);
}

/* loginctl terminate-session ID, with an empty environment. */
static int logind_terminate(const char *id)
{
	char a0[] = "loginctl", a1[] = "terminate-session", e0[] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
	char idbuf[64];
	char *argv[] = { a0, a1, idbuf, NULL };
	char *envp[] = { e0, NULL };
	pid_t pid;
	int status = 0;

	if (ojit_strlcpy(idbuf, id, sizeof(idbuf)) != 0)
		return -1;
	if (posix_spawn(&pid, "/usr/bin/loginctl", NULL, NULL, argv, envp) != 0)
		return -1;
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static void terminate(struct jitd *d, const struct ledger_session *s, const struct grant *g)
{
	const char *how = "signal";
	int i;

	if (s->logind_id[0] != '\0' && logind_running() && logind_terminate(s->logind_id) == 0) {
		how = "logind";
	} else if (same_process(s)) {
		kill((pid_t)s->pid, SIGTERM);
		for (i = 0; i < 20 && same_process(s); i++)
			ojit_sleep_ms(100);
		if (same_process(s))
			kill((pid_t)s->pid, SIGKILL);
	} else {
		how = "already-gone";
	}
	audit_event(d, "session_ended", g->id, "okta-jitd", s->user, g->grp, "session=%lld pid=%lld how=%s",
		    (long long)s->id, (long long)s->pid, how);
}

struct tick_ctx {
	struct jitd *d;
	size_t open;
};

static int tick_one(const struct ledger_session *s, void *p)
{
	struct tick_ctx *c = p;
	struct jitd *d = c->d;
	const struct flow_config *f;
	struct grant g;
	int64_t now = ojit_now();

	if (!same_process(s)) {
		ledger_session_close(d->ledger, s->id, now);
		return 0;
	}
	if (s->grant_id <= 0 || ledger_grant_get(d->ledger, s->grant_id, &g) != LEDGER_OK) {
		c->open++;
		return 0;
	}
	f = config_flow_for_group(d->cfg, g.grp);
	if (strcmp(g.state, GS_ACTIVE) == 0 && g.end_at > now) {
		if (f != NULL && s->warned_at == 0 && g.end_at - now <= f->warn_before) {
			char msg[512], left[32];

			duration_format(g.end_at - now, left, sizeof(left));
			snprintf(msg, sizeof(msg),
				 "\r\n*** okta-jit: your access through '%s' (grant %lld) ends in %s.%s "
				 "To keep it: okta-jit extend %lld --for 30m\r\n",
				 g.grp, (long long)g.id, left,
				 f->on_expiry == ON_EXPIRY_TERMINATE ? " This session will be closed then." : "",
				 (long long)g.id);
			ojit_strip_controls(msg + 2);
			msg[strlen(msg) - 2] = '\r';
			msg[strlen(msg) - 1] = '\n';
			warn_terminals((pid_t)s->pid, msg);
			ledger_session_mark_warned(d->ledger, s->id, now);
			audit_event(d, "session_warned", g.id, "okta-jitd", s->user, g.grp, "session=%lld left=%s",
				    (long long)s->id, left);
		}
		c->open++;
		return 0;
	}
	/* The grant is over. */
	if (f != NULL && f->on_expiry == ON_EXPIRY_TERMINATE) {
		warn_terminals((pid_t)s->pid, "\r\n*** okta-jit: your access has ended; closing this session.\r\n");
		terminate(d, s, &g);
		ledger_session_close(d->ledger, s->id, now);
		return 0;
	}
	c->open++;
	return 0;
}

size_t sessions_tick(struct jitd *d)
{
	struct tick_ctx c = { d, 0 };

	ledger_session_list_open(d->ledger, 0, tick_one, &c);
	return c.open;
}
