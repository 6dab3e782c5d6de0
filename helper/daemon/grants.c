/* grants.c - the grant lifecycle.
 *
 * Every change that involves Okta is written to the ledger as an intent
 * (op = add/remove) before Okta is called and settled after, so a crash at
 * any point leaves a row that grants_run_due() finishes: an add is checked
 * against Okta and completed, a removal is retried with backoff until Okta
 * agrees. A grant's end is enforced by the check from the ledger, whatever
 * Okta's state; removal from Okta follows within seconds. An add whose
 * outcome okta-jitd never learnt (no answer, a restart mid-call) may be
 * applied by Okta late, after the removal: such a grant's membership is
 * looked at again recheck_after after its removal. */
#include "grants.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "check.h"
#include "duration.h"
#include "refusals.h"
#include "util.h"

#define RETRY_MAX_SECONDS 300

/* Membership changes are decided and made one at a time: a removal owed
 * by an ended grant must not land after a newer grant of the same user
 * and group found the membership in place and took it as its own. */
static pthread_mutex_t member_lock = PTHREAD_MUTEX_INITIALIZER;

void jit_result_set(struct jit_result *r, const char *code, const char *fmt, ...)
{
	va_list ap;

	ojit_strlcpy(r->code, code, sizeof(r->code));
	va_start(ap, fmt);
	vsnprintf(r->message, sizeof(r->message), fmt, ap);
	va_end(ap);
	ojit_strip_controls(r->message);
}

static void okta_result(struct jit_result *res, const char *what, const struct okta_error *e)
{
	char msg[768];

	okta_error_format(e, msg, sizeof(msg));
	jit_result_set(res, "okta", "%s: %s%s%s", what, msg, e->hint[0] ? ". Fix: " : "", e->hint);
}

static int ledger_failed(struct jitd *d, struct jit_result *res)
{
	jit_result_set(res, "ledger",
		       "the grant ledger cannot be written (%s); no change was made",
		       ledger_last_error(d->ledger));
	return -1;
}

/* Take the right to decide and change g's membership: this daemon's
 * threads one at a time (member_lock) and, on a shared ledger, one granter
 * at a time (the ledger's claim on the user and group). 1: taken; 0:
 * another granter holds it, try again in a moment; -1: ledger error. */
static int member_take(struct jitd *d, const struct grant *g)
{
	int c;

	pthread_mutex_lock(&member_lock);
	c = ledger_claim_member(d->ledger, g->user, g->grp);
	if (c != 1)
		pthread_mutex_unlock(&member_lock);
	return c;
}

static void member_give(struct jitd *d, const struct grant *g)
{
	ledger_unclaim_member(d->ledger, g->user, g->grp);
	pthread_mutex_unlock(&member_lock);
}

/* Okta errors that retrying will not fix. */
static int okta_permanent(const struct okta_error *e)
{
	switch (e->kind) {
	case OKTA_ERR_NETWORK:
	case OKTA_ERR_TIMEOUT:
	case OKTA_ERR_SERVER:
	case OKTA_ERR_RATE_LIMIT:
	case OKTA_ERR_UNAUTHORIZED:
	case OKTA_ERR_TOKEN:
	case OKTA_ERR_TLS:
	case OKTA_ERR_BAD_RESPONSE:
	case OKTA_ERR_INTERNAL:
		return 0;
	default:
		return 1;
	}
}

static int64_t retry_delay(int attempts)
{
	int64_t s = 1LL << (attempts < 9 ? attempts : 9);

	return s > RETRY_MAX_SECONDS ? RETRY_MAX_SECONDS : s;
}

/* Changes an unprivileged user may ask for (request, approve, revoke,
 * extend), each of which may call Okta (a membership read, a PUT or a
 * DELETE): a burst of UID_RATE_BURST, then one every
 * 60 / UID_RATE_BURST seconds, per uid. Root (and the PAM module) is not
 * limited. The table is small and fixed: the oldest entry gives way. */
#define UID_RATE_BURST 30
#define UID_RATE_SLOTS 256

struct uid_rate {
	uid_t uid;
	int used;
	int64_t tokens_ms; /* tokens, in thousandths */
	int64_t at_ms;
};

static pthread_mutex_t uid_rate_lock = PTHREAD_MUTEX_INITIALIZER;
static struct uid_rate uid_rates[UID_RATE_SLOTS];

static int uid_rate_take(struct jitd *d, const struct actor *a, const char *user, const char *grp,
			 struct jit_result *res)
{
	const int64_t cap = UID_RATE_BURST * 1000LL;
	int64_t now = ojit_mono_ms();
	struct uid_rate *r = NULL, *oldest = &uid_rates[0];
	size_t i;
	int ok;

	if (a->is_root)
		return 1;
	pthread_mutex_lock(&uid_rate_lock);
	for (i = 0; i < UID_RATE_SLOTS && r == NULL; i++) {
		if (uid_rates[i].used && uid_rates[i].uid == a->uid)
			r = &uid_rates[i];
		else if (!uid_rates[i].used || (oldest->used && uid_rates[i].at_ms < oldest->at_ms))
			oldest = &uid_rates[i];
	}
	if (r == NULL) {
		r = oldest;
		r->used = 1;
		r->uid = a->uid;
		r->tokens_ms = cap;
		r->at_ms = now;
	}
	/* UID_RATE_BURST tokens a minute: one token per 60000 / BURST ms */
	r->tokens_ms += (now - r->at_ms) * UID_RATE_BURST * 1000LL / 60000;
	if (r->tokens_ms > cap)
		r->tokens_ms = cap;
	r->at_ms = now;
	ok = r->tokens_ms >= 1000;
	if (ok)
		r->tokens_ms -= 1000;
	pthread_mutex_unlock(&uid_rate_lock);
	if (!ok) {
		jit_result_set(res, "rate_limited", "too many requests from %s; try again in a minute", a->user);
		audit_refusal(d, a, "refused", 0, user, grp, "reason=rate-limited");
	}
	return ok;
}

static int check_reason(const struct flow_config *f, const char *reason, struct jit_result *res)
{
	const unsigned char *p;

	if (reason == NULL || reason[0] == '\0') {
		if (f != NULL && f->reason_required) {
			jit_result_set(res, "invalid", "a reason is required for flow '%s' (--reason TEXT)", f->name);
			return -1;
		}
		return 0;
	}
	if (strlen(reason) > GRANT_REASON_MAX) {
		jit_result_set(res, "invalid", "the reason is longer than %d bytes", GRANT_REASON_MAX);
		return -1;
	}
	for (p = (const unsigned char *)reason; *p; p++)
		if (*p < 0x20 || *p == 0x7f) {
			jit_result_set(res, "invalid", "the reason may not contain control characters");
			return -1;
		}
	return 0;
}

/* Is Okta user uid in the group with Okta id gid, now (asked fresh: an
 * add or a removal is decided on it)? Ids only: a name could be an
 * imported APP_GROUP's. */
static int user_in_group_id(struct jitd *d, const char *uid, const char *gid, int *yes, struct okta_error *e)
{
	struct okta_group_list l = { 0 };
	size_t i;

	*yes = 0;
	if (okta_user_groups(d->okta, uid, &l, e) != 0) {
		okta_group_list_free(&l);
		return -1;
	}
	for (i = 0; i < l.n; i++)
		if (strcmp(l.v[i].id, gid) == 0)
			*yes = 1;
	okta_group_list_free(&l);
	return 0;
}

/* Is the looked-up user u in the group the configuration names name
 * (requesters, owner = group:NAME), resolved to its one Okta id? 1 yes,
 * 0 no, -1 e says why not known (an ambiguous name included). */
static int user_in_named_group(struct jitd *d, const struct check_user *u, const char *name, struct okta_error *e)
{
	char gid[OKTA_ID_MAX + 1];

	if (check_group_id(d, name, 0, 1, NULL, gid, sizeof(gid), e) != 0)
		return e->kind == OKTA_ERR_NOT_FOUND ? 0 : -1;
	return check_user_in_group(u, gid);
}

/* A granter acts in Okta only on rows it would have written itself. On a
 * shared ledger anyone who can write the database (a gate, a stolen
 * database password) could insert or change a row; the row's group id and
 * Okta user id would then reach a PUT or a DELETE as they stand. So before
 * any membership change the row is checked against this granter's own
 * configuration and its own Okta lookups: the group is in a flow and the
 * row names the id check_group_id() resolves for that name (the one
 * OKTA_GROUP of that name); before an add also the local user maps through
 * login_format to the row's Okta user id, the duration fits the flow and
 * the user may request it. 1: the row passes; 0: refused, why in reason;
 * -1: Okta could not be read (try again later). */
enum row_check { ROW_FOR_ADD, ROW_FOR_REMOVE };

static int row_matches_config(struct jitd *d, const struct grant *g, enum row_check what, char *reason,
			      size_t n, struct okta_error *e)
{
	const struct flow_config *f;
	struct check_user cu;
	struct okta_user u;
	char gid[OKTA_ID_MAX + 1];
	char login[OKTA_LOGIN_MAX + 1];
	int64_t now = ojit_now(), from;
	size_t i;
	int ok;

	memset(e, 0, sizeof(*e));
	if (strcmp(g->kind, "grant") != 0) {
		snprintf(reason, n, "not-a-grant");
		return 0;
	}
	if (!jitd_valid_username(g->user) || !jitd_valid_groupname(g->grp)) {
		snprintf(reason, n, "invalid-user-or-group");
		return 0;
	}
	f = config_flow_for_group(d->cfg, g->grp);
	if (f == NULL) {
		snprintf(reason, n, "no-flow");
		return 0;
	}
	if (what == ROW_FOR_ADD) {
		/* An extension is applied to an active row, never before its
		 * add: at the add the row spans at most the flow's maximum. */
		from = g->start_at > 0 ? g->start_at : now;
		if (g->duration < 1 || g->duration > f->max_duration || g->end_at - from > f->max_duration ||
		    g->end_at - now > f->max_duration || from > now + 60) {
			snprintf(reason, n, "duration-over-max");
			return 0;
		}
	}
	if (check_group_id(d, g->grp, 1, 1, NULL, gid, sizeof(gid), e) != 0) {
		if (okta_permanent(e)) {
			snprintf(reason, n, e->kind == OKTA_ERR_NOT_FOUND ? "group-not-in-okta" : "group-not-resolved");
			return 0;
		}
		return -1;
	}
	if (strcmp(gid, g->group_id) != 0) {
		snprintf(reason, n, "group-id-mismatch");
		return 0;
	}
	/* A removal only takes access away, from a group a flow gates: it
	 * must not wait on the users API (an outage there must not keep an
	 * ended grant's membership). */
	if (what == ROW_FOR_REMOVE)
		return 1;
	if (config_map_login(d->cfg, g->user, login, sizeof(login)) != 0) {
		snprintf(reason, n, "no-okta-login");
		return 0;
	}
	if (okta_user_get(d->okta, login, &u, e) != 0) {
		if (okta_permanent(e)) {
			snprintf(reason, n, "user-not-in-okta");
			return 0;
		}
		return -1;
	}
	if (strcmp(u.id, g->okta_user_id) != 0) {
		snprintf(reason, n, "user-id-mismatch");
		return 0;
	}
	if (strcmp(u.status, "ACTIVE") != 0) {
		snprintf(reason, n, "user-%s", u.status);
		return 0;
	}
	if (!jitd_valid_username(g->requester)) {
		snprintf(reason, n, "invalid-requester");
		return 0;
	}
	ok = f->nrequesters == 0;
	if (!ok) {
		if (check_user_lookup(d, g->user, login, &cu, e) != 0)
			return okta_permanent(e) ? (snprintf(reason, n, "requesters-unreadable"), 0) : -1;
		for (i = 0; i < f->nrequesters && ok == 0; i++)
			ok = user_in_named_group(d, &cu, f->requesters[i], e);
		check_user_free(&cu);
		if (ok < 0) {
			if (!okta_permanent(e))
				return -1;
			snprintf(reason, n, "requesters-unreadable");
			return 0;
		}
	}
	if (!ok) {
		snprintf(reason, n, "not-a-requester");
		return 0;
	}
	return 1;
}

/* A row that failed row_matches_config(): settled without a word to Okta
 * (no add, and no removal of a membership it never made) and audited. */
static int refuse_row(struct jitd *d, struct grant *g, const char *expected, const char *op, const char *reason)
{
	char why[128];

	warn_f("grant %lld: the ledger row does not match this granter's configuration (%s); nothing is sent to "
	       "Okta", (long long)g->id, reason);
	if (strcmp(g->state, GS_APPROVED) == 0 || strcmp(g->state, GS_PENDING) == 0 ||
	    strcmp(g->state, GS_ACTIVE) == 0)
		ojit_strlcpy(g->state, GS_FAILED, sizeof(g->state));
	ojit_strlcpy(g->op, OP_NONE, sizeof(g->op));
	g->add_unsure = ADD_SURE;
	g->next_attempt_at = 0;
	g->op_attempts = 0;
	snprintf(g->last_error, sizeof(g->last_error), "refused: the row does not match this granter's "
		 "configuration (%s)", reason);
	if (ledger_grant_update(d->ledger, g, expected) != LEDGER_OK)
		return -1;
	(void)ojit_snprintf(why, sizeof(why), "ledger-row-%s", reason);
	audit_event(d, "refused", g->id, "okta-jitd", g->user, g->grp, "reason=%s op=%s", why, op);
	return 0;
}

int grants_can_approve(struct jitd *d, const struct actor *a, const struct grant *g,
		       char *approver_login, size_t n, struct jit_result *res)
{
	const struct flow_config *f = config_flow_for_group(d->cfg, g->grp);
	const char *owner = d->cfg->owner;
	struct check_user u;
	struct okta_error e;
	int yes = 0, r;

	if (strcmp(a->user, g->user) == 0 || strcmp(a->user, g->requester) == 0) {
		jit_result_set(res, "forbidden", "nobody approves their own request");
		return 0;
	}
	if (a->is_root) {
		ojit_strlcpy(approver_login, "root", n);
		return 1;
	}
	if (f == NULL) {
		jit_result_set(res, "forbidden", "no access flow covers group '%s' any more", g->grp);
		return 0;
	}
	if (config_map_login(d->cfg, a->user, approver_login, n) != 0) {
		jit_result_set(res, "forbidden", "user '%s' has no Okta login", a->user);
		return 0;
	}
	/* The approver's Okta user and groups, and the group's owners, come
	 * through the check cache: asked at most once per cache_ttl, however
	 * often an unprivileged caller lists or approves. */
	if (check_user_lookup(d, a->user, approver_login, &u, &e) != 0) {
		okta_result(res, "cannot look up the approver in Okta", &e);
		return -1;
	}
	if (u.not_found) {
		jit_result_set(res, "forbidden", "'%s' is not an Okta user", approver_login);
		r = 0;
		goto out;
	}
	if (strcmp(u.status, "ACTIVE") != 0) {
		jit_result_set(res, "forbidden", "approver %s is %s in Okta, not ACTIVE", u.login, u.status);
		r = 0;
		goto out;
	}
	/* Two local accounts mapped to one Okta person are still one person. */
	if (strcmp(u.id, g->okta_user_id) == 0) {
		jit_result_set(res, "forbidden", "nobody approves their own request");
		r = 0;
		goto out;
	}
	if (f->approval == APPROVAL_OWNERS) {
		struct okta_owner_list ol = { 0 };
		size_t i;

		if (check_group_owners(d, g->group_id, &ol, &e) != 0) {
			okta_owner_list_free(&ol);
			okta_result(res, "cannot read the group's owners", &e);
			r = -1;
			goto out;
		}
		for (i = 0; i < ol.n && !yes; i++) {
			if (strcmp(ol.v[i].type, "USER") == 0 && strcmp(ol.v[i].id, u.id) == 0)
				yes = 1;
			else if (strcmp(ol.v[i].type, "GROUP") == 0)
				yes = check_user_in_group(&u, ol.v[i].id);
		}
		if (ol.n > 0 || owner == NULL) {
			okta_owner_list_free(&ol);
			if (!yes)
				jit_result_set(res, "forbidden", "%s is not an owner of group '%s' in Okta", u.login, g->grp);
			r = yes;
			goto out;
		}
		okta_owner_list_free(&ol);
		/* no owners: the integration owner decides */
	}
	if (owner == NULL) {
		jit_result_set(res, "forbidden", "no integration owner is configured");
		r = 0;
		goto out;
	}
	if (strncmp(owner, "user:", 5) == 0) {
		yes = strcasecmp(owner + 5, u.login) == 0;
	} else if ((yes = user_in_named_group(d, &u, owner + 6, &e)) < 0) {
		okta_result(res, "cannot resolve the integration owner's group", &e);
		r = -1;
		goto out;
	}
	if (!yes)
		jit_result_set(res, "forbidden", "%s is not the integration owner (%s)", u.login, owner);
	r = yes;
out:
	check_user_free(&u);
	return r;
}

struct owed_ctx {
	const char *grp;
	int64_t but; /* a grant not to count */
	int owed;
};

static int owed_cb(const struct grant *g, void *p)
{
	struct owed_ctx *o = p;

	if (strcmp(g->kind, "grant") != 0 || strcmp(g->grp, o->grp) != 0 || g->id == o->but)
		return 0;
	if (strcmp(g->op, OP_REMOVE) == 0 ||
	    ((strcmp(g->state, GS_ACTIVE) == 0 || strcmp(g->state, GS_APPROVED) == 0) && !g->was_member))
		o->owed = 1;
	return o->owed;
}

/* Is this membership a grant's (other than grant but) - one still active
 * (perhaps just ended, before the sweeper saw it), approved, or one that
 * still owes its removal? Then it is not a standing membership, and no
 * other grant's leftover. */
static int removal_owed(struct jitd *d, const char *user, const char *grp, int64_t but)
{
	struct owed_ctx o = { grp, but, 0 };

	ledger_grant_list(d->ledger, user, "approved,active,expired,revoked,failed", 100000, owed_cb, &o);
	return o.owed;
}

/* Settle an owed add: check membership in Okta, add if needed, mark the
 * grant active. Called right after approval and by the scheduler. vouched:
 * this granter built the row itself a moment ago from its own lookups (an
 * auto-approved request); any other row is checked against the
 * configuration first. */
static int do_add(struct jitd *d, struct grant *g, int vouched, struct jit_result *res)
{
	struct okta_group grp;
	struct okta_error e;
	int64_t now = ojit_now();
	int member = 0, looked, added, taken;
	char expected[16];

	ojit_strlcpy(expected, g->state, sizeof(expected));
	if (g->end_at <= now) {
		/* Ended before Okta ever confirmed: make sure nothing lingers. */
		ojit_strlcpy(g->state, GS_EXPIRED, sizeof(g->state));
		ojit_strlcpy(g->op, g->was_member ? OP_NONE : OP_REMOVE, sizeof(g->op));
		g->next_attempt_at = now;
		g->op_attempts = 0;
		if (ledger_grant_update(d->ledger, g, expected) != LEDGER_OK)
			return ledger_failed(d, res);
		audit_event(d, "expired", g->id, "okta-jitd", g->user, g->grp, "why=%s", "ended before Okta confirmed the membership");
		jitd_kick(d);
		jit_result_set(res, "expired", "grant %lld ended before Okta confirmed it", (long long)g->id);
		return -1;
	}
	if (!vouched) {
		char why[64];
		int ok = row_matches_config(d, g, ROW_FOR_ADD, why, sizeof(why), &e);

		if (ok == 0) {
			if (refuse_row(d, g, expected, "add", why) != 0)
				return ledger_failed(d, res);
			jit_result_set(res, "refused",
				       "grant %lld does not match this granter's configuration (%s); nothing was "
				       "sent to Okta", (long long)g->id, why);
			return -1;
		}
		if (ok < 0) {
			okta_error_format(&e, g->last_error, sizeof(g->last_error));
			g->op_attempts++;
			g->next_attempt_at = now + retry_delay(g->op_attempts);
			if (ledger_grant_update(d->ledger, g, expected) != LEDGER_OK)
				return ledger_failed(d, res);
			jitd_kick(d);
			jit_result_set(res, "pending_okta",
				       "grant %lld is approved but Okta could not be read (%s); okta-jitd keeps trying",
				       (long long)g->id, g->last_error);
			return 1;
		}
	}
	memset(&grp, 0, sizeof(grp));
	ojit_strlcpy(grp.id, g->group_id, sizeof(grp.id));
	ojit_strlcpy(grp.name, g->grp, sizeof(grp.name));
	ojit_strlcpy(grp.type, "OKTA_GROUP", sizeof(grp.type));
	taken = member_take(d, g);
	if (taken < 0)
		return ledger_failed(d, res);
	if (taken == 0) {
		g->next_attempt_at = now + 1;
		if (ledger_grant_update(d->ledger, g, expected) != LEDGER_OK)
			return ledger_failed(d, res);
		jitd_kick(d);
		jit_result_set(res, "pending_okta",
			       "grant %lld is approved; another okta-jitd is changing this membership, and this one "
			       "adds it in a moment", (long long)g->id);
		return 1;
	}
	looked = user_in_group_id(d, g->okta_user_id, g->group_id, &member, &e) == 0;
	added = looked && member;
	if (looked && !member) {
		/* Whatever the row says, a membership this add makes is not a
		 * standing one: its end removes it. */
		g->was_member = 0;
		added = okta_group_add_member(d->okta, &grp, g->okta_user_id, &e) == 0;
		/* no answer, or a refusal after a try that got none: Okta
		 * may yet apply it */
		if (!added && g->add_unsure == ADD_SURE)
			g->add_unsure = ADD_UNSURE;
	}
	if (added) {
		ojit_strlcpy(g->state, GS_ACTIVE, sizeof(g->state));
		ojit_strlcpy(g->op, OP_NONE, sizeof(g->op));
		g->last_error[0] = '\0';
		g->op_attempts = 0;
		if (ledger_grant_update(d->ledger, g, expected) != LEDGER_OK) {
			member_give(d, g);
			return ledger_failed(d, res);
		}
		member_give(d, g);
		jitd_member_changed(d, g->user, g->okta_login, g->grp, g->group_id, 1);
		if (g->was_member)
			audit_event(d, "granted", g->id, g->approver, g->user, g->grp, "until=%lld standing-member",
				    (long long)g->end_at);
		else
			audit_event(d, "granted", g->id, g->approver, g->user, g->grp, "until=%lld", (long long)g->end_at);
		jitd_kick(d);
		return 0;
	}
	member_give(d, g);
	{
		char msg[512];

		okta_error_format(&e, msg, sizeof(msg));
		ojit_strlcpy(g->last_error, msg, sizeof(g->last_error));
	}
	if (okta_permanent(&e)) {
		ojit_strlcpy(g->state, GS_FAILED, sizeof(g->state));
		/* A refused PUT added nothing, but a member we may have made on
		 * an earlier attempt must not stay. */
		ojit_strlcpy(g->op, g->was_member ? OP_NONE : OP_REMOVE, sizeof(g->op));
		g->next_attempt_at = now;
		if (ledger_grant_update(d->ledger, g, expected) != LEDGER_OK)
			return ledger_failed(d, res);
		audit_event(d, "failed", g->id, "okta-jitd", g->user, g->grp, "okta=%s", g->last_error);
		okta_result(res, "Okta refused the membership", &e);
		return -1;
	}
	g->op_attempts++;
	g->next_attempt_at = now + retry_delay(g->op_attempts);
	if (ledger_grant_update(d->ledger, g, expected) != LEDGER_OK)
		return ledger_failed(d, res);
	audit_event(d, "okta_error", g->id, "okta-jitd", g->user, g->grp, "op=add attempt=%d okta=%s",
		    g->op_attempts, g->last_error);
	jitd_kick(d);
	jit_result_set(res, "pending_okta",
		       "grant %lld is approved but Okta did not answer (%s); okta-jitd keeps trying",
		       (long long)g->id, g->last_error);
	return 1;
}

/* Settle an owed removal. After an add of unknown outcome, the first
 * removal leaves a recheck owed: recheck_after later, a membership that a
 * late add made is removed too (and audited as such). */
static int do_remove(struct jitd *d, struct grant *g)
{
	struct okta_group grp;
	struct okta_error e;
	struct grant newer;
	char expected[16];
	int held, member = 1, gone;
	int unsure = g->add_unsure;

	ojit_strlcpy(expected, g->state, sizeof(expected));
	memset(&grp, 0, sizeof(grp));
	memset(&e, 0, sizeof(e));
	ojit_strlcpy(grp.id, g->group_id, sizeof(grp.id));
	ojit_strlcpy(grp.name, g->grp, sizeof(grp.name));
	ojit_strlcpy(grp.type, "OKTA_GROUP", sizeof(grp.type));
	if (member_take(d, g) != 1) {
		/* another granter is changing this membership, or the ledger
		 * is away: again in a moment */
		g->next_attempt_at = ojit_now() + 1;
		ledger_grant_update(d->ledger, g, expected);
		jitd_kick(d);
		return -1;
	}
	/* A newer active grant of the same user and group holds the
	 * membership now: it is that grant's to remove at its end. */
	held = ledger_grant_active(d->ledger, g->user, g->grp, ojit_now(), &newer) == LEDGER_OK;
	if (!held && g->group_id[0] != '\0' && g->okta_user_id[0] != '\0') {
		/* A forged row must not take anyone out of a group no flow
		 * gates (an administrators' group, say). */
		char why[64];
		int ok = row_matches_config(d, g, ROW_FOR_REMOVE, why, sizeof(why), &e);

		if (ok == 0) {
			member_give(d, g);
			return refuse_row(d, g, expected, "remove", why) == 0 ? 0 : -1;
		}
		if (ok < 0)
			goto failed;
	}
	if (held || g->group_id[0] == '\0' || g->okta_user_id[0] == '\0')
		gone = 1;
	else if (unsure == ADD_RECHECK && removal_owed(d, g->user, g->grp, g->id)) {
		/* another grant owns the membership now: its end removes it */
		gone = 1;
		member = 0;
	}
	else if (unsure == ADD_RECHECK &&
		 user_in_group_id(d, g->okta_user_id, g->group_id, &member, &e) != 0)
		gone = 0;
	else
		gone = !member || okta_group_remove_member(d->okta, &grp, g->okta_user_id, &e) == 0;
	if (gone) {
		int recheck = !held && unsure == ADD_UNSURE && g->group_id[0] != '\0' && g->okta_user_id[0] != '\0';

		ojit_strlcpy(g->op, recheck ? OP_REMOVE : OP_NONE, sizeof(g->op));
		g->add_unsure = recheck ? ADD_RECHECK : ADD_SURE;
		g->next_attempt_at = recheck ? ojit_now() + d->cfg->recheck_after : 0;
		g->op_attempts = 0;
		g->last_error[0] = '\0';
		if (ledger_grant_update(d->ledger, g, expected) != LEDGER_OK) {
			member_give(d, g);
			return -1;
		}
		member_give(d, g);
		if (!held && member && g->group_id[0] != '\0' && g->okta_user_id[0] != '\0')
			jitd_member_changed(d, g->user, g->okta_login, g->grp, g->group_id, 0);
		if (unsure == ADD_RECHECK) {
			if (!held && member) {
				warn_f("grant %lld: Okta applied an add after its removal; %s taken out of '%s' again",
				       (long long)g->id, g->user, g->grp);
				audit_event(d, "removed", g->id, "okta-jitd", g->user, g->grp, "state=%s late_add=1",
					    g->state);
			}
		} else if (held) {
			audit_event(d, "removed", g->id, "okta-jitd", g->user, g->grp, "state=%s kept-for=%lld", g->state,
				    (long long)newer.id);
		} else if (recheck) {
			audit_event(d, "removed", g->id, "okta-jitd", g->user, g->grp, "state=%s recheck_in=%llds",
				    g->state, (long long)d->cfg->recheck_after);
			jitd_kick(d); /* the scheduler may be asleep for longer */
		} else {
			audit_event(d, "removed", g->id, "okta-jitd", g->user, g->grp, "state=%s", g->state);
		}
		return 0;
	}
failed:
	member_give(d, g);
	okta_error_format(&e, g->last_error, sizeof(g->last_error));
	g->op_attempts++;
	g->next_attempt_at = ojit_now() + retry_delay(g->op_attempts);
	if (ledger_grant_update(d->ledger, g, expected) != LEDGER_OK)
		return -1;
	/* Audit the first failures and then every doubling, not every retry. */
	if (g->op_attempts <= 3 || (g->op_attempts & (g->op_attempts - 1)) == 0)
		audit_event(d, "okta_error", g->id, "okta-jitd", g->user, g->grp,
			    "op=%s attempt=%d next_in=%llds okta=%s", unsure == ADD_RECHECK ? "recheck" : "remove",
			    g->op_attempts, (long long)retry_delay(g->op_attempts), g->last_error);
	return -1;
}

/* do_add / do_remove under this daemon's claim on the grant. When another
 * okta-jitd sharing the ledger holds it, that one settles the grant. */
static int claimed_add(struct jitd *d, struct grant *g, int vouched, struct jit_result *res)
{
	int r;

	if (ledger_claim(d->ledger, g->id) != 1) {
		jitd_kick(d);
		jit_result_set(res, "pending_okta", "grant %lld is approved; another okta-jitd is adding the membership",
			       (long long)g->id);
		return 1;
	}
	r = do_add(d, g, vouched, res);
	ledger_unclaim(d->ledger, g->id);
	return r;
}

static int claimed_remove(struct jitd *d, struct grant *g)
{
	int r;

	if (ledger_claim(d->ledger, g->id) != 1)
		return -1; /* another okta-jitd is removing it; ours retries later */
	r = do_remove(d, g);
	ledger_unclaim(d->ledger, g->id);
	return r;
}

static int approve_and_grant(struct jitd *d, struct grant *g, const char *approver, int vouched,
			     struct jit_result *res)
{
	int64_t now = ojit_now();
	struct okta_error e;
	int member = 0;

	/* Was the user a member before this grant? Then the grant adds
	 * nothing and its end must not take a standing membership away. */
	pthread_mutex_lock(&member_lock);
	if (user_in_group_id(d, g->okta_user_id, g->group_id, &member, &e) != 0) {
		pthread_mutex_unlock(&member_lock);
		okta_result(res, "cannot read the user's groups", &e);
		return -1;
	}
	/* A membership an ended grant still has to remove is not standing. */
	g->was_member = member && !removal_owed(d, g->user, g->grp, 0);
	pthread_mutex_unlock(&member_lock);
	ojit_strlcpy(g->approver, approver, sizeof(g->approver));
	ojit_strlcpy(g->state, GS_APPROVED, sizeof(g->state));
	ojit_strlcpy(g->op, OP_ADD, sizeof(g->op));
	g->decided_at = now;
	g->start_at = now;
	g->end_at = now + g->duration;
	g->next_attempt_at = now + 30; /* if we crash mid-call, the scheduler settles it */
	if (ledger_grant_update(d->ledger, g, GS_PENDING) != LEDGER_OK) {
		jit_result_set(res, "conflict", "request %lld was decided meanwhile", (long long)g->id);
		return -1;
	}
	audit_event(d, "approved", g->id, approver, g->user, g->grp, "duration=%llds", (long long)g->duration);
	return claimed_add(d, g, vouched, res);
}

int grants_request(struct jitd *d, const struct actor *a, const char *requester, const char *user,
		   const char *group, int64_t duration, const char *reason, struct grant *out,
		   struct jit_result *res)
{
	const struct flow_config *f;
	struct check_user u;
	struct okta_error e;
	struct grant g, existing;
	char gid[OKTA_ID_MAX + 1];
	char login[OKTA_LOGIN_MAX + 1];
	char dur[32], maxd[32];
	int64_t now = ojit_now();
	size_t i;
	int rc;

	memset(&g, 0, sizeof(g));
	if (user == NULL)
		user = a->user;
	if (!a->is_root && strcmp(user, a->user) != 0) {
		jit_result_set(res, "forbidden", "you may request access only for yourself");
		audit_refusal(d, a, "refused", 0, user, group, "reason=request-for-other");
		return -1;
	}
	if (!jitd_valid_username(user)) {
		jit_result_set(res, "invalid", "not a valid local user name");
		return -1;
	}
	if (!jitd_valid_groupname(group)) {
		jit_result_set(res, "invalid", "name the Okta group to request");
		return -1;
	}
	f = config_flow_for_group(d->cfg, group);
	if (f == NULL) {
		jit_result_set(res, "no_flow", "no access flow covers group '%s'; ask an administrator (see `okta-jit groups`)",
			       group);
		audit_refusal(d, a, "refused", 0, user, group, "reason=no-flow");
		return -1;
	}
	if (duration == 0)
		duration = f->default_duration;
	if (duration < 1 || duration > f->max_duration) {
		duration_format(duration, dur, sizeof(dur));
		duration_format(f->max_duration, maxd, sizeof(maxd));
		jit_result_set(res, "invalid", "duration %s is longer than flow '%s' allows (at most %s)", dur, f->name,
			       maxd);
		return -1;
	}
	if (check_reason(f, reason, res) != 0)
		return -1;
	if (ledger_grant_active(d->ledger, user, group, now, &existing) == LEDGER_OK) {
		jit_result_set(res, "exists", "%s already holds grant %lld for '%s' until %lld; use `okta-jit extend %lld`",
			       user, (long long)existing.id, group, (long long)existing.end_at, (long long)existing.id);
		return -1;
	}
	if (ledger_grant_pending(d->ledger, user, group, &existing) == LEDGER_OK) {
		jit_result_set(res, "exists", "request %lld for '%s' is already %s", (long long)existing.id, group,
			       existing.state);
		return -1;
	}
	if (config_map_login(d->cfg, user, login, sizeof(login)) != 0) {
		jit_result_set(res, "invalid", "cannot map '%s' to an Okta login", user);
		return -1;
	}
	if (!uid_rate_take(d, a, user, group, res))
		return -1;
	/* The user and their groups through the check cache (at most one
	 * fetch per cache_ttl however often they ask); the groups named by
	 * the configuration as the one Okta id each resolved to. */
	if (check_user_lookup(d, user, login, &u, &e) != 0) {
		okta_result(res, "cannot look up the user in Okta", &e);
		return -1;
	}
	if (u.not_found) {
		jit_result_set(res, "not_found", "no Okta user with login %s", login);
		goto refused;
	}
	if (strcmp(u.status, "ACTIVE") != 0) {
		char why[64];

		jit_result_set(res, "forbidden", "Okta user %s is %s, not ACTIVE", u.login, u.status);
		(void)ojit_snprintf(why, sizeof(why), "user-%s", u.status);
		audit_refusal(d, a, "refused", 0, user, group, "reason=%s", why);
		goto refused;
	}
	if (f->nrequesters > 0) {
		int ok = 0;

		for (i = 0; i < f->nrequesters && ok == 0; i++)
			ok = user_in_named_group(d, &u, f->requesters[i], &e);
		if (ok < 0 && e.kind == OKTA_ERR_AMBIGUOUS) {
			/* fail closed: which group the name means is unknown */
			jit_result_set(res, "forbidden", "flow '%s': %s (a configuration error; see `okta-jit doctor`)",
				       f->name, e.summary);
			goto refused;
		}
		if (ok < 0) {
			okta_result(res, "cannot resolve the flow's requesters group", &e);
			goto refused;
		}
		if (!ok) {
			jit_result_set(res, "forbidden", "%s is not in any group allowed to request '%s' (flow '%s')",
				       u.login, group, f->name);
			audit_refusal(d, a, "refused", 0, user, group, "reason=not-a-requester");
			goto refused;
		}
	}
	if (check_group_id(d, group, 1, 1, NULL, gid, sizeof(gid), &e) != 0) {
		okta_result(res, "cannot find the OKTA_GROUP in Okta", &e);
		goto refused;
	}
	ojit_strlcpy(g.kind, "grant", sizeof(g.kind));
	ojit_strlcpy(g.user, user, sizeof(g.user));
	ojit_strlcpy(g.okta_login, u.login, sizeof(g.okta_login));
	ojit_strlcpy(g.okta_user_id, u.id, sizeof(g.okta_user_id));
	check_user_free(&u);
	ojit_strlcpy(g.grp, group, sizeof(g.grp));
	ojit_strlcpy(g.group_id, gid, sizeof(g.group_id));
	ojit_strlcpy(g.flow, f->name, sizeof(g.flow));
	ojit_strlcpy(g.requester, requester ? requester : a->user, sizeof(g.requester));
	ojit_strlcpy(g.reason, reason ? reason : "", sizeof(g.reason));
	ojit_strlcpy(g.state, GS_PENDING, sizeof(g.state));
	g.duration = duration;
	g.requested_at = now;
	g.pending_expires_at = now + d->cfg->pending_ttl;
	if (ledger_grant_insert(d->ledger, &g) != LEDGER_OK)
		return ledger_failed(d, res);
	if (strcmp(g.requester, a->user) != 0)
		audit_event(d, "requested", g.id, g.requester, g.user, g.grp, "duration=%llds reason=%s via=pam",
			    (long long)duration, g.reason);
	else
		audit_event(d, "requested", g.id, g.requester, g.user, g.grp, "duration=%llds reason=%s",
			    (long long)duration, g.reason);
	if (f->approval == APPROVAL_AUTO) {
		rc = approve_and_grant(d, &g, "auto", 1, res);
		if (rc < 0 && strcmp(g.state, GS_PENDING) == 0) {
			/* Approval never reached the intent (Okta unreadable): a
			 * request left pending would block the user's next one. */
			ojit_strlcpy(g.state, GS_FAILED, sizeof(g.state));
			ojit_strlcpy(g.last_error, res->message, sizeof(g.last_error));
			if (ledger_grant_update(d->ledger, &g, GS_PENDING) == LEDGER_OK)
				audit_event(d, "failed", g.id, "okta-jitd", g.user, g.grp, "detail=%s", res->message);
		}
		*out = g;
		return rc < 0 ? -1 : 0;
	}
	jitd_kick(d);
	*out = g;
	jit_result_set(res, "ok", "request %lld is waiting for approval", (long long)g.id);
	return 0;
refused:
	check_user_free(&u);
	return -1;
}

int grants_approve(struct jitd *d, const struct actor *a, int64_t id, const char *note,
		   struct grant *out, struct jit_result *res)
{
	struct grant g, parent;
	char approver[OKTA_LOGIN_MAX + 1];
	int r;

	if (ledger_grant_get(d->ledger, id, &g) != LEDGER_OK) {
		jit_result_set(res, "not_found", "no request %lld", (long long)id);
		return -1;
	}
	if (strcmp(g.state, GS_PENDING) != 0) {
		jit_result_set(res, "conflict", "request %lld is %s, not pending", (long long)id, g.state);
		return -1;
	}
	if (!uid_rate_take(d, a, g.user, g.grp, res))
		return -1;
	r = grants_can_approve(d, a, &g, approver, sizeof(approver), res);
	if (r <= 0) {
		if (r == 0)
			audit_refusal(d, a, "refused", g.id, g.user, g.grp, "reason=approve-not-allowed detail=%s",
				    res->message);
		return -1;
	}
	if (note != NULL && check_reason(NULL, note, res) != 0)
		return -1;
	if (strcmp(g.kind, "extend") == 0) {
		const struct flow_config *f = config_flow_for_group(d->cfg, g.grp);
		int64_t now = ojit_now(), new_end;

		if (ledger_grant_get(d->ledger, g.parent_id, &parent) != LEDGER_OK ||
		    strcmp(parent.state, GS_ACTIVE) != 0 || parent.end_at <= now) {
			jit_result_set(res, "conflict", "grant %lld is no longer active", (long long)g.parent_id);
			return -1;
		}
		new_end = parent.end_at + g.duration;
		if (f != NULL && new_end > now + f->max_duration)
			new_end = now + f->max_duration;
		parent.end_at = new_end;
		ojit_strlcpy(g.state, GS_APPROVED, sizeof(g.state));
		ojit_strlcpy(g.approver, approver, sizeof(g.approver));
		g.decided_at = now;
		g.end_at = new_end;
		if (ledger_grant_update(d->ledger, &parent, GS_ACTIVE) != LEDGER_OK ||
		    ledger_grant_update(d->ledger, &g, GS_PENDING) != LEDGER_OK)
			return ledger_failed(d, res);
		audit_event(d, "extended", parent.id, approver, parent.user, parent.grp, "until=%lld request=%lld",
			    (long long)new_end, (long long)g.id);
		jitd_kick(d);
		*out = parent;
		jit_result_set(res, "ok", "grant %lld extended", (long long)parent.id);
		return 0;
	}
	r = approve_and_grant(d, &g, approver, 0, res);
	*out = g;
	if (r == 0)
		jit_result_set(res, "ok", "grant %lld is active", (long long)g.id);
	return r < 0 ? -1 : 0;
}

int grants_deny(struct jitd *d, const struct actor *a, int64_t id, const char *note,
		struct grant *out, struct jit_result *res)
{
	struct grant g;
	char approver[OKTA_LOGIN_MAX + 1];
	int r;

	if (ledger_grant_get(d->ledger, id, &g) != LEDGER_OK) {
		jit_result_set(res, "not_found", "no request %lld", (long long)id);
		return -1;
	}
	if (strcmp(g.state, GS_PENDING) != 0) {
		jit_result_set(res, "conflict", "request %lld is %s, not pending", (long long)id, g.state);
		return -1;
	}
	r = grants_can_approve(d, a, &g, approver, sizeof(approver), res);
	if (r <= 0) {
		if (r == 0)
			audit_refusal(d, a, "refused", g.id, g.user, g.grp, "reason=deny-not-allowed");
		return -1;
	}
	if (note != NULL && check_reason(NULL, note, res) != 0)
		return -1;
	ojit_strlcpy(g.state, GS_DENIED, sizeof(g.state));
	ojit_strlcpy(g.approver, approver, sizeof(g.approver));
	g.decided_at = ojit_now();
	if (ledger_grant_update(d->ledger, &g, GS_PENDING) != LEDGER_OK) {
		jit_result_set(res, "conflict", "request %lld was decided meanwhile", (long long)id);
		return -1;
	}
	audit_event(d, "denied", g.id, approver, g.user, g.grp, "note=%s", note ? note : "");
	*out = g;
	jit_result_set(res, "ok", "request %lld denied", (long long)id);
	return 0;
}

int grants_revoke(struct jitd *d, const struct actor *a, int64_t id, struct grant *out,
		  struct jit_result *res)
{
	struct grant g;
	char expected[16];
	int64_t now = ojit_now();

	if (ledger_grant_get(d->ledger, id, &g) != LEDGER_OK) {
		jit_result_set(res, "not_found", "no grant %lld", (long long)id);
		return -1;
	}
	if (!a->is_root && strcmp(a->user, g.user) != 0) {
		jit_result_set(res, "forbidden", "you may revoke only your own grants");
		audit_refusal(d, a, "refused", g.id, g.user, g.grp, "reason=revoke-not-allowed");
		return -1;
	}
	if (!uid_rate_take(d, a, g.user, g.grp, res))
		return -1;
	if (strcmp(g.kind, "extend") == 0 && strcmp(g.state, GS_PENDING) != 0) {
		/* An applied extension is part of its grant: end the grant. */
		jit_result_set(res, "conflict", "extension %lld is %s; revoke grant %lld instead", (long long)id, g.state,
			       (long long)g.parent_id);
		return -1;
	}
	if (strcmp(g.state, GS_ACTIVE) != 0 && strcmp(g.state, GS_PENDING) != 0 &&
	    strcmp(g.state, GS_APPROVED) != 0) {
		jit_result_set(res, "conflict", "grant %lld is %s; nothing to revoke", (long long)id, g.state);
		return -1;
	}
	ojit_strlcpy(expected, g.state, sizeof(expected));
	if (strcmp(g.state, GS_PENDING) != 0 && !g.was_member)
		ojit_strlcpy(g.op, OP_REMOVE, sizeof(g.op));
	else if (strcmp(g.state, GS_PENDING) == 0)
		ojit_strlcpy(g.op, OP_NONE, sizeof(g.op));
	ojit_strlcpy(g.state, GS_REVOKED, sizeof(g.state));
	if (g.end_at > now || g.end_at == 0)
		g.end_at = now;
	g.next_attempt_at = now;
	g.op_attempts = 0;
	if (ledger_grant_update(d->ledger, &g, expected) != LEDGER_OK) {
		jit_result_set(res, "conflict", "grant %lld changed meanwhile; try again", (long long)id);
		return -1;
	}
	audit_event(d, "revoked", g.id, a->user, g.user, g.grp, "was=%s", expected);
	if (strcmp(g.op, OP_REMOVE) == 0 && claimed_remove(d, &g) != 0)
		jitd_kick(d); /* the retry is due in seconds, not at the next idle wake-up */
	*out = g;
	jit_result_set(res, "ok", "grant %lld revoked%s", (long long)id,
		       strcmp(g.op, OP_REMOVE) != 0 ? ""
		       : g.add_unsure == ADD_RECHECK ? "; removed from Okta, and looked at again later (an earlier add "
						      "got no answer)"
						    : "; Okta removal is being retried");
	return 0;
}

int grants_extend(struct jitd *d, const struct actor *a, int64_t id, int64_t duration,
		  const char *reason, struct grant *out, struct jit_result *res)
{
	const struct flow_config *f;
	struct grant g, ext;
	int64_t now = ojit_now(), new_end;
	char maxd[32];

	if (ledger_grant_get(d->ledger, id, &g) != LEDGER_OK || strcmp(g.kind, "grant") != 0) {
		jit_result_set(res, "not_found", "no grant %lld", (long long)id);
		return -1;
	}
	if (!a->is_root && strcmp(a->user, g.user) != 0) {
		jit_result_set(res, "forbidden", "you may extend only your own grants");
		audit_refusal(d, a, "refused", g.id, g.user, g.grp, "reason=extend-not-allowed");
		return -1;
	}
	if (!uid_rate_take(d, a, g.user, g.grp, res))
		return -1;
	if (strcmp(g.state, GS_ACTIVE) != 0 || g.end_at <= now) {
		jit_result_set(res, "conflict", "grant %lld is %s; request access again instead", (long long)id, g.state);
		return -1;
	}
	f = config_flow_for_group(d->cfg, g.grp);
	if (f == NULL) {
		jit_result_set(res, "no_flow", "no access flow covers group '%s' any more", g.grp);
		return -1;
	}
	if (duration <= 0)
		duration = f->default_duration;
	if (check_reason(f, reason, res) != 0)
		return -1;
	if (g.end_at + duration > now + f->max_duration) {
		duration_format(f->max_duration, maxd, sizeof(maxd));
		jit_result_set(res, "invalid", "the grant would last past %s from now, the most flow '%s' allows", maxd,
			       f->name);
		return -1;
	}
	if (f->approval == APPROVAL_AUTO) {
		new_end = g.end_at + duration;
		g.end_at = new_end;
		if (ledger_grant_update(d->ledger, &g, GS_ACTIVE) != LEDGER_OK)
			return ledger_failed(d, res);
		audit_event(d, "extended", g.id, "auto", g.user, g.grp, "until=%lld reason=%s", (long long)new_end,
			    reason ? reason : "");
		jitd_kick(d);
		*out = g;
		jit_result_set(res, "ok", "grant %lld extended", (long long)id);
		return 0;
	}
	ext = g;
	ext.id = 0;
	ojit_strlcpy(ext.kind, "extend", sizeof(ext.kind));
	ext.parent_id = g.id;
	ojit_strlcpy(ext.state, GS_PENDING, sizeof(ext.state));
	ojit_strlcpy(ext.op, OP_NONE, sizeof(ext.op));
	ojit_strlcpy(ext.requester, a->user, sizeof(ext.requester));
	ojit_strlcpy(ext.reason, reason ? reason : "", sizeof(ext.reason));
	ext.approver[0] = '\0';
	ext.duration = duration;
	ext.requested_at = now;
	ext.pending_expires_at = now + d->cfg->pending_ttl;
	ext.decided_at = ext.start_at = 0;
	if (ledger_grant_insert(d->ledger, &ext) != LEDGER_OK)
		return ledger_failed(d, res);
	audit_event(d, "requested", ext.id, a->user, g.user, g.grp, "extend=%lld duration=%llds reason=%s",
		    (long long)g.id, (long long)duration, ext.reason);
	jitd_kick(d);
	*out = ext;
	jit_result_set(res, "ok", "extension request %lld is waiting for approval", (long long)ext.id);
	return 0;
}

struct due_ctx {
	struct jitd *d;
	int recovering; /* at start-up: owed work is due whatever its retry time */
	int ledger_failed;
};

/* While the ledger cannot be written (disk full, read-only), ended grants
 * are still taken out of Okta, every LEDGER_RETRY_SECONDS rather than on
 * each scheduler wake-up; their rows settle once the ledger is writable. */
#define LEDGER_RETRY_SECONDS 5
static int64_t ledger_retry_at; /* scheduler thread only */

static int due_work(const struct grant *row, void *ctx)
{
	struct due_ctx *dc = ctx;
	struct jitd *d = dc->d;
	struct grant g = *row;
	struct jit_result res;
	int64_t now = ojit_now();

	if (dc->recovering && g.op[0] != '\0' && g.add_unsure != ADD_RECHECK)
		g.next_attempt_at = now;
	/* A sweep meets an owed add only after a try that failed or a daemon
	 * that stopped mid-call: whether Okta applied it is unknown. */
	if (strcmp(g.op, OP_ADD) == 0 && g.add_unsure == ADD_SURE)
		g.add_unsure = ADD_UNSURE;

	if (d->stopping)
		return 1;
	if (dc->recovering && strcmp(g.state, GS_PENDING) == 0 && strcmp(g.kind, "grant") == 0) {
		const struct flow_config *f = config_flow_for_group(d->cfg, g.grp);

		/* Filed but never approved: the last daemon stopped between the
		 * two, and its client saw no answer. Left pending it would block
		 * the user's next request until pending_ttl. */
		if (f != NULL && f->approval == APPROVAL_AUTO) {
			ojit_strlcpy(g.state, GS_FAILED, sizeof(g.state));
			ojit_strlcpy(g.last_error, "interrupted by a restart of okta-jitd", sizeof(g.last_error));
			if (ledger_grant_update(d->ledger, &g, GS_PENDING) == LEDGER_OK)
				audit_event(d, "failed", g.id, "okta-jitd", g.user, g.grp, "detail=%s", g.last_error);
			return 0;
		}
	}
	if (strcmp(g.state, GS_PENDING) == 0 && g.pending_expires_at <= now) {
		ojit_strlcpy(g.state, GS_EXPIRED, sizeof(g.state));
		if (ledger_grant_update(d->ledger, &g, GS_PENDING) == LEDGER_OK)
			audit_event(d, "request_expired", g.id, "okta-jitd", g.user, g.grp, "why=%s", "nobody decided in time");
		return 0;
	}
	if (strcmp(g.state, GS_ACTIVE) == 0 && strcmp(g.op, OP_NONE) == 0 && g.end_at <= now) {
		ojit_strlcpy(g.state, GS_EXPIRED, sizeof(g.state));
		ojit_strlcpy(g.op, g.was_member ? OP_NONE : OP_REMOVE, sizeof(g.op));
		g.next_attempt_at = now;
		g.op_attempts = 0;
		if (ledger_grant_update(d->ledger, &g, GS_ACTIVE) != LEDGER_OK) {
			/* The check already refuses from end_at; Okta must not
			 * keep the membership because the disk is full. */
			dc->ledger_failed = 1;
			if (strcmp(g.op, OP_REMOVE) == 0)
				do_remove(d, &g);
			return 0;
		}
		audit_event(d, "expired", g.id, "okta-jitd", g.user, g.grp, "end=%lld", (long long)g.end_at);
		if (strcmp(g.op, OP_REMOVE) == 0)
			do_remove(d, &g);
		return 0;
	}
	if (strcmp(g.op, OP_ADD) == 0 && g.next_attempt_at <= now) {
		do_add(d, &g, 0, &res);
		return 0;
	}
	if (strcmp(g.op, OP_REMOVE) == 0 && g.next_attempt_at <= now) {
		do_remove(d, &g);
		return 0;
	}
	return 0;
}

/* Work on one due grant once this daemon holds its claim (several
 * granters may share a ledger), from the row as it is now: another granter
 * may have settled it since the sweep read it. */
static int due_one(const struct grant *row, void *ctx)
{
	struct due_ctx *dc = ctx;
	struct grant now_row;
	int c, r;

	if (dc->d->stopping)
		return 1;
	/* nothing owed: no claim, no second read */
	if (row->op[0] == '\0' && !(strcmp(row->state, GS_ACTIVE) == 0 && row->end_at <= ojit_now()) &&
	    strcmp(row->state, GS_PENDING) != 0)
		return 0;
	c = ledger_claim(dc->d->ledger, row->id);
	if (c != 1)
		return 0; /* another okta-jitd works on it, or the ledger is away */
	if (ledger_grant_get(dc->d->ledger, row->id, &now_row) != LEDGER_OK)
		now_row = *row;
	r = due_work(&now_row, ctx);
	ledger_unclaim(dc->d->ledger, row->id);
	return r;
}

void grants_run_due(struct jitd *d)
{
	struct due_ctx dc = { d, 0, 0 };

	if (ojit_now() < ledger_retry_at)
		return;
	ledger_grant_due(d->ledger, ojit_now(), due_one, &dc);
	ledger_retry_at = dc.ledger_failed ? ojit_now() + LEDGER_RETRY_SECONDS : 0;
}

void grants_recover(struct jitd *d)
{
	struct due_ctx dc = { d, 1, 0 };

	/* Everything half-done when the last daemon stopped: owed adds are
	 * checked against Okta and settled, owed removals retried now. */
	ledger_grant_list(d->ledger, NULL, "pending,approved,active,expired,revoked,failed", 100000, due_one, &dc);
}
