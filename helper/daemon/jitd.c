/* jitd.c - the lowest part of okta-jitd (jitd.h): the audit writer,
 * the scheduler's kick, and the hooks that tell one part what another
 * did. Moved out of daemon.c and grants.c so that check, grants,
 * sessions, notify and refusals use it without including the parts
 * above them. */
#include "jitd.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "audit.h"
#include "util.h"

/* names.h may not include the ledger: the two must agree. */
_Static_assert(NAMES_USER_MAX == LEDGER_USER_MAX, "names.h and ledger.h disagree on a user name's length");
_Static_assert(NAMES_GROUP_MAX == LEDGER_GROUP_MAX, "names.h and ledger.h disagree on a group name's length");

void jitd_kick(struct jitd *d)
{
	pthread_mutex_lock(&d->sched_lock);
	d->sched_kick = 1;
	pthread_cond_signal(&d->sched_cond);
	pthread_mutex_unlock(&d->sched_lock);
}

/* One line per event: "audit event=E id=N actor=A user=U group=G DETAIL",
 * every value written by audit_value (audit.h), DETAIL already built the
 * same way. The ledger row, the syslog line, `okta-jit audit` and the
 * notification payload all carry this same detail. */
static __thread const char *audit_channel;

const char *jitd_audit_channel(const char *name)
{
	const char *was = audit_channel;

	audit_channel = name;
	return was;
}

/* How much of detail (key=value pairs as audit.h writes them) to keep so
 * that it fits in max bytes: all of it, or up to the last pair boundary
 * (a space outside quotes) that fits, so that no quoted value is cut open. */
static size_t detail_fit(const char *detail, size_t max)
{
	size_t i, keep = 0;
	int quoted = 0;

	if (strlen(detail) <= max)
		return strlen(detail);
	for (i = 0; i <= max && detail[i] != '\0'; i++) {
		if (quoted && detail[i] == '\\' && detail[i + 1] != '\0')
			i++;
		else if (detail[i] == '"')
			quoted = !quoted;
		else if (detail[i] == ' ' && !quoted)
			keep = i;
	}
	return keep;
}

void audit_write(struct jitd *d, const char *event, int64_t grant_id, const char *actor, const char *user,
		 const char *grp, const char *detail_in)
{
	char line[4096], marked[AUDIT_DETAIL_MAX];
	const char *detail = detail_in;
	size_t len;

	if (audit_channel != NULL) {
		/* "... channel=web": a detail too long keeps its whole pairs */
		len = detail_fit(detail_in, sizeof(marked) - strlen(" channel=") - strlen(audit_channel) - 1);
		if (ojit_snprintf(marked, sizeof(marked), "%.*s%schannel=%s", (int)len, detail_in, len > 0 ? " " : "",
				  audit_channel) >= 0)
			detail = marked;
	}
	if (ledger_audit_add(d->ledger, event, grant_id, actor, user, grp, detail) != LEDGER_OK)
		error_f("audit event %s for grant %lld not stored in the ledger: %s", event, (long long)grant_id,
			ledger_last_error(d->ledger));
	(void)audit_format(line, sizeof(line), "audit event=%s id=%lld actor=%s user=%s group=%s", event,
			   (long long)grant_id, actor, user, grp);
	len = strlen(line);
	if (detail[0] != '\0')
		(void)ojit_snprintf(line + len, sizeof(line) - len, " %s", detail);
	/* syslog reaches the journal under systemd; a copy on stderr only
	 * where stderr is not the journal too (okta-jitd --foreground by hand). */
	syslog(LOG_AUTHPRIV | LOG_NOTICE, "%s", line);
	if (ojit_log_stderr_echo() && !ojit_log_debug_enabled())
		ojit_log(LOG_INFO, "%s", line);
	if (d->hooks.audit != NULL)
		d->hooks.audit(d, event, grant_id, user, grp, detail);
}

void audit_event(struct jitd *d, const char *event, int64_t grant_id, const char *actor,
		 const char *user, const char *grp, const char *fmt, ...)
{
	char detail[AUDIT_DETAIL_MAX];
	va_list ap;

	va_start(ap, fmt);
	if (audit_vformat(detail, sizeof(detail), fmt, ap) != 0)
		warn_f("audit event %s for grant %lld: detail cut or malformed", event, (long long)grant_id);
	va_end(ap);
	audit_write(d, event, grant_id, actor, user, grp, detail);
}

void jitd_member_changed(struct jitd *d, const char *user, const char *login, const char *group, const char *gid,
			 int member)
{
	if (d->hooks.member != NULL)
		d->hooks.member(d, user, login, group, gid, member);
	if (d->hooks.snapshot != NULL)
		d->hooks.snapshot(d, group);
}

void jitd_snapshot_written(struct jitd *d, const char *group)
{
	if (d->hooks.snapshot_written != NULL)
		d->hooks.snapshot_written(d, group);
}

void jitd_grant_written(struct jitd *d, const char *user, const char *group)
{
	if (d->hooks.grant_written != NULL)
		d->hooks.grant_written(d, user, group);
}

void jitd_describe_approvers(const struct jitd *d, const struct flow_config *f, char *out, size_t n)
{
	const char *owner = d->cfg->owner;

	if (f == NULL)
		snprintf(out, n, "nobody (no access flow covers this group)");
	else if (f->approval == APPROVAL_AUTO)
		snprintf(out, n, "automatic");
	else if (f->approval == APPROVAL_OWNER)
		snprintf(out, n, "the integration owner (%s)", owner ? owner : "not set");
	else if (owner != NULL)
		snprintf(out, n, "the group's owners in Okta (else %s)", owner);
	else
		snprintf(out, n, "the group's owners in Okta");
}

void jit_result_set(struct jit_result *r, const char *code, const char *fmt, ...)
{
	va_list ap;

	ojit_strlcpy(r->code, code, sizeof(r->code));
	va_start(ap, fmt);
	vsnprintf(r->message, sizeof(r->message), fmt, ap);
	va_end(ap);
	ojit_strip_controls(r->message);
}

/* Sign g as it will be stored. A host without a signing key (a single
 * host, or a granter not given one yet) writes "": gates use no such row. */
static void grant_sign(struct jitd *d, struct grant *g)
{
	g->updated_at = ojit_now();
	if (fleet_sign_grant(&d->keys, g) != 0) {
		g->sig[0] = '\0';
		error_f("grant %lld: cannot sign the row (gates will not use it)", (long long)g->id);
	}
}

int jitd_grant_update(struct jitd *d, struct grant *g, const char *expected_state)
{
	int r;

	grant_sign(d, g);
	r = ledger_grant_update(d->ledger, g, expected_state);
	if (r == LEDGER_OK)
		jitd_grant_written(d, g->user, g->grp);
	return r;
}

int jitd_grant_insert(struct jitd *d, struct grant *g)
{
	int r;

	/* the id is the ledger's: a row is signed once it has one */
	g->sig[0] = '\0';
	g->updated_at = ojit_now();
	r = ledger_grant_insert(d->ledger, g);
	if (r == LEDGER_OK && d->keys.sign != NULL && strcmp(g->state, GS_ACTIVE) == 0) {
		grant_sign(d, g);
		if (ledger_grant_update(d->ledger, g, g->state) != LEDGER_OK)
			error_f("grant %lld: the signature was not stored (gates will not use the row): %s",
				(long long)g->id, ledger_last_error(d->ledger));
	}
	if (r == LEDGER_OK)
		jitd_grant_written(d, g->user, g->grp);
	return r;
}
