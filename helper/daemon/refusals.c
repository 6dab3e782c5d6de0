/* refusals.c - refusals of unprivileged callers, audited at a bounded rate.
 *
 * Every audit row is written to the ledger (and fsynced) and to syslog,
 * so a local user looping over a refused request would grow both without
 * bound. The first refusal of each (event, actor, user, group) in a
 * minute is written at once, as before; the rest of that minute are
 * counted and written as one row, "repeated=N", once the minute is over
 * (or when root reads the trail, or at shutdown). At most REFUSALS_MAX
 * keys are tracked; refusals beyond them are counted under one row with
 * actor "*". Root's refusals (the PAM module's) are written one by one. */
#include "refusals.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "util.h"

#define REFUSALS_MAX 512
#define REFUSALS_WINDOW 60

struct refusal {
	int used;
	char event[32];
	char actor[LEDGER_USER_MAX + 1];
	char user[LEDGER_USER_MAX + 1];
	char grp[LEDGER_GROUP_MAX + 1];
	int64_t window_start;
	uint64_t count; /* counted since the last row */
};

static pthread_mutex_t refusals_lock = PTHREAD_MUTEX_INITIALIZER;
static struct refusal refusals[REFUSALS_MAX];
static struct refusal overflow = { 1, "refused", "*", "*", "*", 0, 0 };

/* A row owed, written outside the lock. */
struct owed {
	struct refusal r;
};

static void write_count(struct jitd *d, const struct refusal *r)
{
	/* A minute's count belongs to no one request's channel: whichever
	 * request's thread happens to write it. */
	const char *channel = jitd_audit_channel(NULL);

	audit_event(d, r->event, 0, r->actor, r->user, r->grp,
		    "repeated=%lld since=%lld window=60", (long long)r->count, (long long)r->window_start);
	jitd_audit_channel(channel);
}

/* Collect (and reset) what is owed (the lock is held); returns how many. */
static size_t collect(struct refusal *out, size_t max, int64_t now, int all)
{
	size_t i, n = 0;

	for (i = 0; i <= REFUSALS_MAX && n < max; i++) {
		struct refusal *r = i < REFUSALS_MAX ? &refusals[i] : &overflow;
		int over;

		if (!r->used)
			continue;
		over = now - r->window_start >= REFUSALS_WINDOW;
		if (r->count > 0 && (over || all)) {
			out[n++] = *r;
			r->count = 0;
		}
		if (over && r != &overflow)
			r->used = 0;
	}
	return n;
}

static void write_owed(struct jitd *d, int64_t now, int all)
{
	struct refusal owed[16];
	size_t n, i;

	do {
		pthread_mutex_lock(&refusals_lock);
		n = collect(owed, sizeof(owed) / sizeof(owed[0]), now, all);
		pthread_mutex_unlock(&refusals_lock);
		for (i = 0; i < n; i++)
			write_count(d, &owed[i]);
	} while (n == sizeof(owed) / sizeof(owed[0]));
}

void refusals_flush(struct jitd *d, int all)
{
	write_owed(d, ojit_now(), all);
}

int refusals_take(struct jitd *d, const struct actor *a, const char *event, const char *user, const char *grp)
{
	struct refusal *r, *free_slot = NULL;
	int64_t now = ojit_now();
	size_t i;
	int write_now = 1;

	if (a == NULL || a->is_root)
		return 1;
	write_owed(d, now, 0);
	user = user ? user : "";
	grp = grp ? grp : "";
	pthread_mutex_lock(&refusals_lock);
	for (i = 0; i < REFUSALS_MAX; i++) {
		r = &refusals[i];
		if (!r->used) {
			if (free_slot == NULL)
				free_slot = r;
			continue;
		}
		if (strcmp(r->event, event) == 0 && strcmp(r->actor, a->user) == 0 && strcmp(r->user, user) == 0 &&
		    strcmp(r->grp, grp) == 0) {
			r->count++;
			write_now = 0;
			goto out;
		}
	}
	if (free_slot == NULL) {
		/* too many callers refused at once: one count for them all */
		if (now - overflow.window_start >= REFUSALS_WINDOW && overflow.count == 0)
			overflow.window_start = now;
		overflow.count++;
		write_now = 0;
		goto out;
	}
	memset(free_slot, 0, sizeof(*free_slot));
	free_slot->used = 1;
	ojit_strlcpy(free_slot->event, event, sizeof(free_slot->event));
	ojit_strlcpy(free_slot->actor, a->user, sizeof(free_slot->actor));
	ojit_strlcpy(free_slot->user, user, sizeof(free_slot->user));
	ojit_strlcpy(free_slot->grp, grp, sizeof(free_slot->grp));
	free_slot->window_start = now;
out:
	pthread_mutex_unlock(&refusals_lock);
	return write_now;
}

void audit_refusal(struct jitd *d, const struct actor *a, const char *event, int64_t grant_id, const char *user,
		   const char *grp, const char *fmt, ...)
{
	char detail[AUDIT_DETAIL_MAX];
	va_list ap;

	/* built by the one escaping rule, as audit_event builds it */
	va_start(ap, fmt);
	if (audit_vformat(detail, sizeof(detail), fmt, ap) != 0)
		warn_f("audit event %s for grant %lld: detail cut or malformed", event, (long long)grant_id);
	va_end(ap);
	if (refusals_take(d, a, event, user, grp))
		audit_write(d, event, grant_id, a != NULL ? a->user : "", user, grp, detail);
}
