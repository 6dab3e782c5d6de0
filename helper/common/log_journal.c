/* log_journal.c - the journal's native protocol for log and audit lines
 * (util.h: ojit_journal_fn), through libsystemd's sd_journal_sendv. Its
 * own file so that only okta-jitd and okta-jit-web link libsystemd: the
 * PAM and NSS modules run inside other programs and load nothing they do
 * not need, and the CLI writes to a terminal. */
#include "log_journal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "util.h"

/* journald's native socket (systemd-journald.service(8)). */
#define JOURNAL_SOCKET "/run/systemd/journal/socket"

/* MESSAGE, PRIORITY, SYSLOG_FACILITY, SYSLOG_IDENTIFIER, CODE_FUNC,
 * GRANT_ID and the named fields. */
#define JOURNAL_ITEMS (6 + OJIT_LK_COUNT)

struct journal_entry {
	struct iovec iov[JOURNAL_ITEMS];
	char *item[JOURNAL_ITEMS];
	size_t n;
};

/* Append "NAME=value" (sd_journal_sendv wants one iovec a field; a value
 * may hold any byte but NUL). 0, or -1 when out of memory. */
static int entry_add(struct journal_entry *e, const char *name, const char *val)
{
	size_t nl = strlen(name), vl = strlen(val);
	char *p;

	if (e->n >= JOURNAL_ITEMS || (p = malloc(nl + 1 + vl + 1)) == NULL)
		return -1;
	memcpy(p, name, nl);
	p[nl] = '=';
	memcpy(p + nl + 1, val, vl + 1);
	e->item[e->n] = p;
	e->iov[e->n].iov_base = p;
	e->iov[e->n].iov_len = nl + 1 + vl;
	e->n++;
	return 0;
}

static int journal_send(int prio, int facility, const char *ident, const char *func, const char *msg,
			const struct ojit_log_fields *f)
{
	struct journal_entry e;
	char num[3][32];
	size_t i;
	int k, r = -1;

	memset(&e, 0, sizeof(e));
	snprintf(num[0], sizeof(num[0]), "%d", prio & 7);
	snprintf(num[1], sizeof(num[1]), "%d", facility >> 3);
	if (entry_add(&e, "MESSAGE", msg) != 0 || entry_add(&e, "PRIORITY", num[0]) != 0 ||
	    entry_add(&e, "SYSLOG_FACILITY", num[1]) != 0 || entry_add(&e, "SYSLOG_IDENTIFIER", ident) != 0)
		goto out;
	if (func != NULL && entry_add(&e, "CODE_FUNC", func) != 0)
		goto out;
	if (f != NULL && f->grant_id != 0) {
		snprintf(num[2], sizeof(num[2]), "%" PRId64, f->grant_id);
		if (entry_add(&e, "GRANT_ID", num[2]) != 0)
			goto out;
	}
	for (k = 0; f != NULL && k < OJIT_LK_COUNT; k++)
		if (f->v[k] != NULL && f->v[k][0] != '\0' &&
		    entry_add(&e, ojit_log_key_journal((enum ojit_log_key)k), f->v[k]) != 0)
			goto out;
	/* journald unreachable (no socket: not under systemd after all):
	 * the caller writes the line the old way */
	r = sd_journal_sendv(e.iov, (int)e.n) < 0 ? -1 : 0;
out:
	for (i = 0; i < e.n; i++)
		free(e.item[i]);
	return r;
}

void log_journal_offer(void)
{
	/* sd_journal_sendv reports success when journald's socket is not
	 * there (it drops the entry, as journal-send.c says, "fail
	 * silently"): offered only where journald listens, so a
	 * JOURNAL_STREAM without a journal (a container, a test) keeps the
	 * lines in syslog and on stderr. */
	if (access(JOURNAL_SOCKET, W_OK) == 0)
		ojit_log_set_journal(journal_send);
}
