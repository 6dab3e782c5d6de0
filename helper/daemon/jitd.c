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

/* Actors that are no person: they keep their name and have no login. */
static const char *const system_actors[] = { "okta-jitd", "okta", "auto", "pam", "root", "okta-jit-web", NULL };

void jitd_person(const struct jitd *d, const char *who, char *name, size_t nn, char *login, size_t ln)
{
	char local[LEDGER_USER_MAX + 1];
	size_t i;

	name[0] = login[0] = '\0';
	if (who == NULL || who[0] == '\0')
		return;
	ojit_strlcpy(name, who, nn);
	for (i = 0; system_actors[i] != NULL; i++)
		if (strcmp(who, system_actors[i]) == 0)
			return;
	if (strchr(who, '@') != NULL) {
		/* an Okta login (an approver as the grant row keeps it): the
		 * local name is login_format's reverse, when it has its shape */
		ojit_strlcpy(login, who, ln);
		if (config_unmap_login(d->cfg, who, local, sizeof(local)) == 0 && jitd_valid_username(local))
			ojit_strlcpy(name, local, nn);
		return;
	}
	/* only a local name has a login ("*", a refusal count's wildcard,
	 * is none) */
	if (!jitd_valid_username(who) || config_map_login(d->cfg, who, login, ln) != 0)
		login[0] = '\0';
}

void jitd_grant_fields(const struct grant *g, struct ojit_log_fields *f)
{
	memset(f, 0, sizeof(*f));
	f->grant_id = g->id;
	f->v[OJIT_LK_USER] = g->user;
	f->v[OJIT_LK_LOGIN] = g->okta_login;
	f->v[OJIT_LK_GROUP] = g->grp;
}

/* pre = "user_login=U actor_login=A" (each when known), then as many
 * whole pairs of detail as fit. */
static void detail_with_logins(char *out, size_t n, const char *user_login, const char *actor_login,
			       const char *detail)
{
	size_t len;

	out[0] = '\0';
	if (user_login[0] != '\0')
		(void)audit_format(out, n, "user_login=%s", user_login);
	if (actor_login[0] != '\0') {
		len = strlen(out);
		(void)audit_format(out + len, n - len, len > 0 ? " actor_login=%s" : "actor_login=%s", actor_login);
	}
	len = strlen(out);
	if (detail[0] == '\0')
		return;
	if (len == 0) {
		ojit_strlcpy(out, detail, n);
		return;
	}
	(void)ojit_snprintf(out + len, n - len, " %.*s", (int)detail_fit(detail, n - len - 2), detail);
}

void audit_write(struct jitd *d, const char *event, int64_t grant_id, const char *actor_in, const char *user_in,
		 const char *grp, const char *detail_in)
{
	char line[4096], marked[AUDIT_DETAIL_MAX], named[AUDIT_DETAIL_MAX];
	char actor[LEDGER_LOGIN_MAX + 1], actor_login[LEDGER_LOGIN_MAX + 1];
	char user[LEDGER_LOGIN_MAX + 1], user_login[LEDGER_LOGIN_MAX + 1];
	char request_id[128], code[64];
	struct ojit_log_fields f;
	const char *detail = detail_in;
	size_t len;

	/* one way to name a person (issue 22): the local name in actor and
	 * user, the Okta login beside it in actor_login and user_login */
	jitd_person(d, actor_in, actor, sizeof(actor), actor_login, sizeof(actor_login));
	jitd_person(d, user_in, user, sizeof(user), user_login, sizeof(user_login));
	/* the user as given (the ledger's --user filter matches it) */
	ojit_strlcpy(user, user_in != NULL ? user_in : "", sizeof(user));
	/* a break-glass account is local: no Okta person stands behind it */
	if (strcmp(event, "breakglass") == 0)
		user_login[0] = '\0';
	if (user_login[0] != '\0' || actor_login[0] != '\0') {
		detail_with_logins(named, sizeof(named), user_login, actor_login, detail_in);
		detail = named;
	}
	if (audit_channel != NULL) {
		/* "... channel=web": a detail too long keeps its whole pairs */
		len = detail_fit(detail, sizeof(marked) - strlen(" channel=") - strlen(audit_channel) - 1);
		if (ojit_snprintf(marked, sizeof(marked), "%.*s%schannel=%s", (int)len, detail, len > 0 ? " " : "",
				  audit_channel) >= 0)
			detail = marked;
	}
	memset(&f, 0, sizeof(f));
	f.grant_id = grant_id;
	f.v[OJIT_LK_EVENT] = event;
	f.v[OJIT_LK_USER] = user;
	f.v[OJIT_LK_LOGIN] = user_login;
	f.v[OJIT_LK_GROUP] = grp;
	f.v[OJIT_LK_ACTOR] = actor;
	f.v[OJIT_LK_ACTOR_LOGIN] = actor_login;
	if (ledger_audit_add(d->ledger, event, grant_id, actor, user, grp, detail) != LEDGER_OK) {
		f.v[OJIT_LK_ERROR_CODE] = "ledger";
		error_kv(&f, "audit event %s for grant %lld not stored in the ledger: %s", event, (long long)grant_id,
			 ledger_last_error(d->ledger));
		f.v[OJIT_LK_ERROR_CODE] = NULL;
	}
	(void)audit_format(line, sizeof(line), "audit event=%s id=%lld actor=%s user=%s group=%s", event,
			   (long long)grant_id, actor, user, grp);
	len = strlen(line);
	if (detail[0] != '\0')
		(void)ojit_snprintf(line + len, sizeof(line) - len, " %s", detail);
	/* the journal's fields (or, elsewhere, the line itself, which holds
	 * them all as key=value) */
	if (audit_get(detail, "okta_request_id", request_id, sizeof(request_id)) == 0 &&
	    strcmp(request_id, "none") != 0)
		f.v[OJIT_LK_REQUEST_ID] = request_id;
	/* the error code: a check's code, a refusal's reason (a code, not
	 * the free text a request's reason is), an Okta failure's code */
	if (audit_get(detail, "code", code, sizeof(code)) == 0 ||
	    ((strcmp(event, "refused") == 0 || strcmp(event, "check_refused") == 0) &&
	     audit_get(detail, "reason", code, sizeof(code)) == 0) ||
	    audit_get(detail, "okta_code", code, sizeof(code)) == 0)
		f.v[OJIT_LK_ERROR_CODE] = code;
	ojit_log_audit(line, &f);
	if (d->hooks.audit != NULL)
		d->hooks.audit(d, event, grant_id, actor, user, grp, detail);
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
	struct ojit_log_fields f;

	g->updated_at = ojit_now();
	if (fleet_sign_grant(&d->keys, g) != 0) {
		g->sig[0] = '\0';
		jitd_grant_fields(g, &f);
		f.v[OJIT_LK_ERROR_CODE] = "sign";
		error_kv(&f, "grant %lld: cannot sign the row (gates will not use it)", (long long)g->id);
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
		if (ledger_grant_update(d->ledger, g, g->state) != LEDGER_OK) {
			struct ojit_log_fields f;

			jitd_grant_fields(g, &f);
			f.v[OJIT_LK_ERROR_CODE] = "ledger";
			error_kv(&f, "grant %lld: the signature was not stored (gates will not use the row): %s",
				 (long long)g->id, ledger_last_error(d->ledger));
		}
	}
	if (r == LEDGER_OK)
		jitd_grant_written(d, g->user, g->grp);
	return r;
}
