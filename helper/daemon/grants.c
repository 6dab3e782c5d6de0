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
 * looked at again recheck_after after its removal.
 *
 * This file is the Okta side: membership changes made once, retried and
 * recovered, and rows checked against the configuration before any of it.
 * What people ask for (request, approve, deny, revoke, extend) is in
 * grants_actions.c, who may approve in grants_approvers.c; they share
 * grants_internal.h. */
#include "grants.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "grants_internal.h"
#include "metrics.h"
#include "util.h"

#define RETRY_MAX_SECONDS 300

/* Membership changes are decided and made one at a time: a removal owed
 * by an ended grant must not land after a newer grant of the same user
 * and group found the membership in place and took it as its own. */
static pthread_mutex_t member_lock = PTHREAD_MUTEX_INITIALIZER;

void grants_okta_result(struct jit_result *res, const char *what, const struct okta_error *e)
{
	char msg[768];

	okta_error_format(e, msg, sizeof(msg));
	jit_result_set(res, "okta", "%s: %s%s%s", what, msg, e->hint[0] ? ". Fix: " : "", e->hint);
}

/* An Okta failure's code for the audit (okta_code, the journal's
 * OKTA_JIT_ERROR_CODE): Okta's errorCode when it sent one, else what
 * kind of failure it was (network, timeout, ...). */
static const char *okta_code(const struct okta_error *e)
{
	return e->code[0] != '\0' ? e->code : okta_err_kind_name(e->kind);
}

int grants_ledger_failed(struct jitd *d, struct jit_result *res)
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

int grants_row_signed_here(const struct jitd *d, const struct grant *g)
{
	struct fleet_keys k;
	EVP_PKEY *v[1];

	if (!d->ledger_shared || d->keys.sign == NULL)
		return 1;
	memset(&k, 0, sizeof(k));
	v[0] = d->keys.sign;
	k.verify = v;
	k.nverify = 1;
	return fleet_grant_ok(&k, g);
}

/* A gated group renamed in Okta while a new group took its old name: the
 * name now resolves to the new group, but the row's membership is in the
 * renamed one, by id, and the grant's end must still take it away. That
 * removal follows only a row this fleet vouches for (a local ledger's, or
 * one a granter signed: never an unsigned row on a shared ledger), and
 * only while Okta still has the row's id as an Okta-mastered group, so a
 * database writer cannot make a granter take members out of a group of
 * its choosing. 1: remove from the row's group; 0: no; -1: Okta failed
 * (the removal is tried again). */
static int group_renamed_away(struct jitd *d, const struct grant *g, struct okta_error *e)
{
	struct okta_group og;

	if (d->ledger_shared && d->keys.sign == NULL)
		return 0;
	if (!grants_row_signed_here(d, g))
		return 0;
	if (okta_group_get(d->okta, g->group_id, &og, e) != 0)
		return okta_permanent(e) ? 0 : -1;
	return strcmp(og.type, "OKTA_GROUP") == 0 && strcmp(og.id, g->group_id) == 0;
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
		if (what == ROW_FOR_REMOVE) {
			int r = group_renamed_away(d, g, e);

			if (r != 0)
				return r;
		}
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
			ok = grants_user_in_named_group(d, &cu, f->requesters[i], e);
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
	struct ojit_log_fields f = { .grant_id = g->id };

	f.v[OJIT_LK_USER] = g->user;
	f.v[OJIT_LK_GROUP] = g->grp;
	f.v[OJIT_LK_ERROR_CODE] = reason;
	warn_kv(&f, "grant %lld: the ledger row does not match this granter's configuration (%s); nothing is sent to "
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
	if (jitd_grant_update(d, g, expected) != LEDGER_OK)
		return -1;
	(void)ojit_snprintf(why, sizeof(why), "ledger-row-%s", reason);
	audit_event(d, "refused", g->id, "okta-jitd", g->user, g->grp, "reason=%s op=%s", why, op);
	return 0;
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

/* The X-Okta-Request-Id of a membership change just sent, for its audit
 * record (issue 20): an admin finds the same change in Okta's System Log
 * by it. "none" when no answer came or its id failed the check. */
static const char *sent_request_id(const struct okta_error *e, char *buf, size_t n)
{
	ojit_strlcpy(buf, e->request_id[0] != '\0' ? e->request_id : "none", n);
	return buf;
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
	char rid_buf[OKTA_REQUEST_ID_MAX + 1];
	const char *put_rid = NULL; /* the PUT's X-Okta-Request-Id, once one was sent */

	ojit_strlcpy(expected, g->state, sizeof(expected));
	if (g->end_at <= now) {
		/* Ended before Okta ever confirmed: make sure nothing lingers. */
		ojit_strlcpy(g->state, GS_EXPIRED, sizeof(g->state));
		ojit_strlcpy(g->op, g->was_member ? OP_NONE : OP_REMOVE, sizeof(g->op));
		g->next_attempt_at = now;
		g->op_attempts = 0;
		if (jitd_grant_update(d, g, expected) != LEDGER_OK)
			return grants_ledger_failed(d, res);
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
				return grants_ledger_failed(d, res);
			jit_result_set(res, "refused",
				       "grant %lld does not match this granter's configuration (%s); nothing was "
				       "sent to Okta", (long long)g->id, why);
			return -1;
		}
		if (ok < 0) {
			okta_error_format(&e, g->last_error, sizeof(g->last_error));
			g->op_attempts++;
			g->next_attempt_at = now + retry_delay(g->op_attempts);
			if (jitd_grant_update(d, g, expected) != LEDGER_OK)
				return grants_ledger_failed(d, res);
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
		return grants_ledger_failed(d, res);
	if (taken == 0) {
		g->next_attempt_at = now + 1;
		if (jitd_grant_update(d, g, expected) != LEDGER_OK)
			return grants_ledger_failed(d, res);
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
		put_rid = sent_request_id(&e, rid_buf, sizeof(rid_buf));
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
		if (jitd_grant_update(d, g, expected) != LEDGER_OK) {
			member_give(d, g);
			return grants_ledger_failed(d, res);
		}
		member_give(d, g);
		jitd_member_changed(d, g->user, g->okta_login, g->grp, g->group_id, 1);
		if (g->was_member)
			audit_event(d, "granted", g->id, g->approver, g->user, g->grp, "until=%lld standing-member",
				    (long long)g->end_at);
		else if (put_rid != NULL)
			audit_event(d, "granted", g->id, g->approver, g->user, g->grp, "until=%lld okta_request_id=%s",
				    (long long)g->end_at, put_rid);
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
		if (jitd_grant_update(d, g, expected) != LEDGER_OK)
			return grants_ledger_failed(d, res);
		if (put_rid != NULL)
			audit_event(d, "failed", g->id, "okta-jitd", g->user, g->grp,
				    "okta=%s okta_code=%s okta_request_id=%s", g->last_error, okta_code(&e), put_rid);
		else
			audit_event(d, "failed", g->id, "okta-jitd", g->user, g->grp, "okta=%s okta_code=%s",
				    g->last_error, okta_code(&e));
		grants_okta_result(res, "Okta refused the membership", &e);
		return -1;
	}
	g->op_attempts++;
	g->next_attempt_at = now + retry_delay(g->op_attempts);
	if (jitd_grant_update(d, g, expected) != LEDGER_OK)
		return grants_ledger_failed(d, res);
	audit_event(d, "okta_error", g->id, "okta-jitd", g->user, g->grp,
		    "op=add attempt=%d okta=%s okta_code=%s okta_request_id=%s", g->op_attempts, g->last_error,
		    okta_code(&e), put_rid != NULL ? put_rid : "none");
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
	char rid_buf[OKTA_REQUEST_ID_MAX + 1];
	const char *del_rid = NULL; /* the DELETE's X-Okta-Request-Id, once one was sent */

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
		jitd_grant_update(d, g, expected);
		jitd_kick(d);
		return -1;
	}
	/* A newer active grant of the same user and group holds the
	 * membership now: it is that grant's to remove at its end. (Not one
	 * in another Okta group that took the name since: see
	 * group_renamed_away.) */
	held = ledger_grant_active(d->ledger, g->user, g->grp, ojit_now(), &newer) == LEDGER_OK &&
	       (newer.group_id[0] == '\0' || g->group_id[0] == '\0' || strcmp(newer.group_id, g->group_id) == 0);
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
	else if (!member)
		gone = 1;
	else {
		gone = okta_group_remove_member(d->okta, &grp, g->okta_user_id, &e) == 0;
		del_rid = sent_request_id(&e, rid_buf, sizeof(rid_buf));
	}
	if (gone) {
		int recheck = !held && unsure == ADD_UNSURE && g->group_id[0] != '\0' && g->okta_user_id[0] != '\0';

		ojit_strlcpy(g->op, recheck ? OP_REMOVE : OP_NONE, sizeof(g->op));
		g->add_unsure = recheck ? ADD_RECHECK : ADD_SURE;
		g->next_attempt_at = recheck ? ojit_now() + d->cfg->recheck_after : 0;
		g->op_attempts = 0;
		g->last_error[0] = '\0';
		if (jitd_grant_update(d, g, expected) != LEDGER_OK) {
			member_give(d, g);
			return -1;
		}
		member_give(d, g);
		if (!held && member && g->group_id[0] != '\0' && g->okta_user_id[0] != '\0')
			jitd_member_changed(d, g->user, g->okta_login, g->grp, g->group_id, 0);
		if (unsure == ADD_RECHECK) {
			if (!held && member) {
				struct ojit_log_fields f = { .grant_id = g->id };

				f.v[OJIT_LK_USER] = g->user;
				f.v[OJIT_LK_LOGIN] = g->okta_login;
				f.v[OJIT_LK_GROUP] = g->grp;
				f.v[OJIT_LK_REQUEST_ID] = del_rid;
				warn_kv(&f, "grant %lld: Okta applied an add after its removal; %s taken out of '%s' again",
					(long long)g->id, g->user, g->grp);
				audit_event(d, "removed", g->id, "okta-jitd", g->user, g->grp,
					    "state=%s late_add=1 okta_request_id=%s", g->state, del_rid != NULL ? del_rid : "none");
			}
		} else if (held) {
			audit_event(d, "removed", g->id, "okta-jitd", g->user, g->grp, "state=%s kept-for=%lld", g->state,
				    (long long)newer.id);
		} else if (recheck && del_rid != NULL) {
			audit_event(d, "removed", g->id, "okta-jitd", g->user, g->grp,
				    "state=%s recheck_in=%llds okta_request_id=%s", g->state,
				    (long long)d->cfg->recheck_after, del_rid);
			jitd_kick(d); /* the scheduler may be asleep for longer */
		} else if (recheck) {
			audit_event(d, "removed", g->id, "okta-jitd", g->user, g->grp, "state=%s recheck_in=%llds",
				    g->state, (long long)d->cfg->recheck_after);
			jitd_kick(d);
		} else if (del_rid != NULL) {
			audit_event(d, "removed", g->id, "okta-jitd", g->user, g->grp, "state=%s okta_request_id=%s",
				    g->state, del_rid);
		} else {
			audit_event(d, "removed", g->id, "okta-jitd", g->user, g->grp, "state=%s", g->state);
		}
		return 0;
	}
failed:
	member_give(d, g);
	metrics_inc(METRIC_REMOVAL_FAILURES, NULL);
	okta_error_format(&e, g->last_error, sizeof(g->last_error));
	g->op_attempts++;
	g->next_attempt_at = ojit_now() + retry_delay(g->op_attempts);
	if (jitd_grant_update(d, g, expected) != LEDGER_OK)
		return -1;
	/* Audit the first failures and then every doubling, not every retry. */
	if (g->op_attempts <= 3 || (g->op_attempts & (g->op_attempts - 1)) == 0)
		audit_event(d, "okta_error", g->id, "okta-jitd", g->user, g->grp,
			    "op=%s attempt=%d next_in=%llds okta=%s okta_code=%s okta_request_id=%s",
			    unsure == ADD_RECHECK ? "recheck" : "remove", g->op_attempts,
			    (long long)retry_delay(g->op_attempts), g->last_error, okta_code(&e),
			    del_rid != NULL ? del_rid : "none");
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

int grants_claimed_remove(struct jitd *d, struct grant *g)
{
	struct grant now_row;
	int r;

	if (ledger_claim(d->ledger, g->id) != 1)
		return -1; /* another okta-jitd is removing it; ours retries later */
	/* From the row as it is now: another granter, woken by the write
	 * that made the removal due (a change notice), may have claimed it
	 * first and settled it. */
	if (ledger_grant_get(d->ledger, g->id, &now_row) == LEDGER_OK) {
		if (strcmp(now_row.op, OP_REMOVE) != 0 || strcmp(now_row.state, g->state) != 0) {
			ledger_unclaim(d->ledger, g->id);
			*g = now_row;
			return 0;
		}
		*g = now_row;
	}
	r = do_remove(d, g);
	ledger_unclaim(d->ledger, g->id);
	return r;
}

int grants_approve_and_grant(struct jitd *d, struct grant *g, const char *approver, int vouched,
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
		grants_okta_result(res, "cannot read the user's groups", &e);
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
	if (jitd_grant_update(d, g, GS_PENDING) != LEDGER_OK) {
		jit_result_set(res, "conflict", "request %lld was decided meanwhile", (long long)g->id);
		return -1;
	}
	audit_event(d, "approved", g->id, approver, g->user, g->grp, "duration=%llds", (long long)g->duration);
	return claimed_add(d, g, vouched, res);
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
			if (jitd_grant_update(d, &g, GS_PENDING) == LEDGER_OK)
				audit_event(d, "failed", g.id, "okta-jitd", g.user, g.grp, "detail=%s", g.last_error);
			return 0;
		}
	}
	if (strcmp(g.state, GS_PENDING) == 0 && g.pending_expires_at <= now) {
		ojit_strlcpy(g.state, GS_EXPIRED, sizeof(g.state));
		if (jitd_grant_update(d, &g, GS_PENDING) == LEDGER_OK)
			audit_event(d, "request_expired", g.id, "okta-jitd", g.user, g.grp, "why=%s", "nobody decided in time");
		return 0;
	}
	if (strcmp(g.state, GS_ACTIVE) == 0 && strcmp(g.op, OP_NONE) == 0 && g.end_at <= now) {
		ojit_strlcpy(g.state, GS_EXPIRED, sizeof(g.state));
		ojit_strlcpy(g.op, g.was_member ? OP_NONE : OP_REMOVE, sizeof(g.op));
		g.next_attempt_at = now;
		g.op_attempts = 0;
		if (jitd_grant_update(d, &g, GS_ACTIVE) != LEDGER_OK) {
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

/* ---- drift (issue 20, drift.c) ----
 * A drift removal takes a member out that no grant added: it follows the
 * rules of a grant's own removal, under the same claims, so that it never
 * meets a grant's add or removal of the same membership halfway. */

int grants_member_take(struct jitd *d, const char *user, const char *grp)
{
	struct grant g;

	memset(&g, 0, sizeof(g));
	ojit_strlcpy(g.user, user, sizeof(g.user));
	ojit_strlcpy(g.grp, grp, sizeof(g.grp));
	return member_take(d, &g);
}

void grants_member_give(struct jitd *d, const char *user, const char *grp)
{
	struct grant g;

	memset(&g, 0, sizeof(g));
	ojit_strlcpy(g.user, user, sizeof(g.user));
	ojit_strlcpy(g.grp, grp, sizeof(g.grp));
	member_give(d, &g);
}

int grants_user_in_group(struct jitd *d, const char *uid, const char *gid, int *yes, struct okta_error *e)
{
	return user_in_group_id(d, uid, gid, yes, e);
}

int grants_okta_permanent(const struct okta_error *e)
{
	return okta_permanent(e);
}

int grants_owns_membership(const struct grant *g, int64_t now, int64_t recent)
{
	if (strcmp(g->kind, "grant") != 0)
		return 0;
	/* approved: its add may be under way; active: it holds the
	 * membership, even just past its end (before the sweeper saw it) */
	if (strcmp(g->state, GS_APPROVED) == 0 || strcmp(g->state, GS_ACTIVE) == 0)
		return 1;
	/* an add or a removal still owed (a removal retried, a late add's
	 * recheck): the membership is that grant's to settle */
	if (g->op[0] != '\0')
		return 1;
	/* ended a moment ago: a listing taken before its removal may still
	 * show the member */
	if ((strcmp(g->state, GS_EXPIRED) == 0 || strcmp(g->state, GS_REVOKED) == 0 ||
	     strcmp(g->state, GS_FAILED) == 0) && g->updated_at >= now - recent)
		return 1;
	return 0;
}
