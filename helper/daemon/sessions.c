/* sessions.c - warn and end the login sessions opened under a grant.
 *
 * A session is recorded by the PAM module at pam_open_session with its
 * process (the sshd/sudo process that opened it) and, where systemd-logind
 * runs, the logind session id. Before the grant ends the terminals of the
 * session's processes get a warning; when it ends and the flow says
 * on_expiry = terminate, the session is ended through logind, else by
 * SIGTERM (then SIGKILL) to the session's process. The process start time
 * recorded at open guards against signalling a recycled pid.
 *
 * Nothing a session row says is acted on as it stands. The process is the
 * one the PAM module connected from (SO_PEERCRED, which the kernel
 * vouches for), the logind session is read from that process's cgroup
 * (which the kernel keeps and the user cannot set), never from the PAM
 * environment, and on a shared ledger, whose rows any host could write, a
 * host acts only on the sessions it recorded itself (kept in memory). */
#include "sessions.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
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

/* One /proc/PID/cgroup line's path -> the logind session, as
 * sd_pid_get_session() reads it: past the slices (user.slice,
 * user-1000.slice), the first unit must be session-ID.scope. */
static int session_of_path(const char *path, char *out, size_t n)
{
	const char *p = path, *end;
	size_t len, idlen;

	while (*p == '/')
		p++;
	for (;;) {
		end = strchr(p, '/');
		len = end != NULL ? (size_t)(end - p) : strlen(p);
		if (len == 0)
			return -1;
		if (len > 6 && memcmp(p + len - 6, ".slice", 6) == 0 && end != NULL) {
			p = end + 1;
			continue;
		}
		break;
	}
	if (len <= 14 || memcmp(p, "session-", 8) != 0 || memcmp(p + len - 6, ".scope", 6) != 0)
		return -1;
	idlen = len - 14;
	if (idlen >= n)
		return -1;
	for (size_t i = 0; i < idlen; i++)
		if (!isalnum((unsigned char)p[8 + i]))
			return -1; /* logind's ids are [A-Za-z0-9]: no escapes to undo */
	memcpy(out, p + 8, idlen);
	out[idlen] = '\0';
	return 0;
}

int sessions_parse_cgroup(const char *text, char *out, size_t n)
{
	const char *line = text;

	if (n == 0)
		return -1;
	out[0] = '\0';
	/* The unified hierarchy (0::PATH) where there is one, else systemd's
	 * named v1 hierarchy (N:name=systemd:PATH). */
	for (int pass = 0; pass < 2; pass++) {
		for (line = text; line != NULL && *line != '\0';) {
			const char *nl = strchr(line, '\n'), *c1, *c2;
			char path[1024];
			size_t len = nl != NULL ? (size_t)(nl - line) : strlen(line);

			c1 = memchr(line, ':', len);
			c2 = c1 != NULL ? memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - line)) : NULL;
			if (c2 != NULL && (size_t)(line + len - (c2 + 1)) < sizeof(path)) {
				int want = pass == 0 ? (c2 == c1 + 1 && c1 - line == 1 && line[0] == '0')
						     : (c2 - (c1 + 1) == 12 && memcmp(c1 + 1, "name=systemd", 12) == 0);

				if (want) {
					memcpy(path, c2 + 1, (size_t)(line + len - (c2 + 1)));
					path[line + len - (c2 + 1)] = '\0';
					return session_of_path(path, out, n);
				}
			}
			line = nl != NULL ? nl + 1 : NULL;
		}
	}
	return -1;
}

int sessions_logind_of_pid(pid_t pid, char *out, size_t n)
{
	char path[64], buf[8192];
	size_t len = 0;
	ssize_t r;
	int fd;

	if (n > 0)
		out[0] = '\0';
	if (pid <= 1)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while (len < sizeof(buf) - 1 && (r = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)r;
	close(fd);
	buf[len] = '\0';
	return sessions_parse_cgroup(buf, out, n);
}

/* The sessions this daemon recorded (shared ledger only): id, process and
 * its start time as this host saw them at open. */
#define MINE_MAX 65536
struct mine {
	int64_t id, pid, pid_start;
};
static pthread_mutex_t mine_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mine *mine;
static size_t nmine, capmine;

void sessions_note_mine(const struct jitd *d, const struct ledger_session *s)
{
	if (!d->ledger_shared)
		return; /* the local ledger is the record */
	pthread_mutex_lock(&mine_lock);
	if (nmine == capmine && capmine < MINE_MAX) {
		size_t ncap = capmine ? capmine * 2 : 64;
		struct mine *nm = realloc(mine, ncap * sizeof(*nm));

		if (nm != NULL) {
			mine = nm;
			capmine = ncap;
		}
	}
	if (nmine < capmine) {
		mine[nmine].id = s->id;
		mine[nmine].pid = s->pid;
		mine[nmine].pid_start = s->pid_start;
		nmine++;
	} else {
		error_f("session %lld: %zu sessions open here already; this one is not watched", (long long)s->id, nmine);
	}
	pthread_mutex_unlock(&mine_lock);
}

void sessions_forget_mine(int64_t id)
{
	size_t i;

	pthread_mutex_lock(&mine_lock);
	for (i = 0; i < nmine; i++)
		if (mine[i].id == id) {
			mine[i] = mine[--nmine];
			break;
		}
	pthread_mutex_unlock(&mine_lock);
}

/* Did this host record s, with this process? A row of the shared ledger
 * may have been written or changed by any host. */
static int is_mine(const struct jitd *d, const struct ledger_session *s)
{
	size_t i;
	int yes = 0;

	if (!d->ledger_shared)
		return 1; /* a local, root-only file: this host's own record */
	pthread_mutex_lock(&mine_lock);
	for (i = 0; i < nmine && !yes; i++)
		yes = mine[i].id == s->id && mine[i].pid == s->pid && mine[i].pid_start == s->pid_start;
	pthread_mutex_unlock(&mine_lock);
	return yes;
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
	char sid[64];
	int i;

	/* The session the process is in now, whatever the row says. */
	if (same_process(s) && sessions_logind_of_pid((pid_t)s->pid, sid, sizeof(sid)) == 0 && logind_running() &&
	    logind_terminate(sid) == 0) {
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

	if (!is_mine(d, s))
		return 0; /* not recorded by this daemon: neither warned, ended nor closed */
	if (!same_process(s)) {
		ledger_session_close(d->ledger, s->id, now);
		sessions_forget_mine(s->id);
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
		sessions_forget_mine(s->id);
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
