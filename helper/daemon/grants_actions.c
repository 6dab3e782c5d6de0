/* grants_actions.c - what people ask of the grant lifecycle: request,
 * approve, deny, revoke and extend, each checked (who asks, how often, the
 * reason, the flow's rules) and written to the ledger; the Okta side they
 * set going is in grants.c. */
#include "grants.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "duration.h"
#include "grants_internal.h"
#include "refusals.h"
#include "util.h"

/* Changes an unprivileged user may ask for (request, approve, revoke,
 * extend), each of which may call Okta (a membership read, a PUT or a
 * DELETE): a burst of UID_RATE_BURST, then one every
 * 60 / UID_RATE_BURST seconds, per uid. Root (and the PAM module) is not
 * limited. The table is small and fixed: the oldest entry gives way. */
#define UID_RATE_BURST 30
#define UID_RATE_SLOTS 256
/* A revocation's own removal is left to it this long before a scheduler
 * (of any granter) may take it over. */
#define REVOKE_TAKEOVER_SECONDS 5

struct uid_rate {
	uint64_t uid; /* a uid, or for the web a key of the Okta id (actor_rate_key) */
	int used;
	int64_t tokens_ms; /* tokens, in thousandths */
	int64_t at_ms;
};

static pthread_mutex_t uid_rate_lock = PTHREAD_MUTEX_INITIALIZER;
static struct uid_rate uid_rates[UID_RATE_SLOTS];

/* Whose budget a request takes: the caller's uid; on the web socket,
 * where one uid (the web service's) speaks for everyone, the Okta user's
 * (a hash of the id above the uid range, so neither meets the other). */
static uint64_t actor_rate_key(const struct actor *a)
{
	uint64_t h = 1469598103934665603ULL;

	if (!a->web)
		return a->uid;
	for (const char *p = a->okta_id; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return (1ULL << 32) | (h & 0xffffffffULL);
}

static int uid_rate_take(struct jitd *d, const struct actor *a, const char *user, const char *grp,
			 struct jit_result *res)
{
	const uint64_t key = actor_rate_key(a);
	const int64_t cap = UID_RATE_BURST * 1000LL;
	int64_t now = ojit_mono_ms();
	struct uid_rate *r = NULL, *oldest = &uid_rates[0];
	size_t i;
	int ok;

	if (a->is_root)
		return 1;
	pthread_mutex_lock(&uid_rate_lock);
	for (i = 0; i < UID_RATE_SLOTS && r == NULL; i++) {
		if (uid_rates[i].used && uid_rates[i].uid == key)
			r = &uid_rates[i];
		else if (!uid_rates[i].used || (oldest->used && uid_rates[i].at_ms < oldest->at_ms))
			oldest = &uid_rates[i];
	}
	if (r == NULL) {
		r = oldest;
		r->used = 1;
		r->uid = key;
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
		grants_okta_result(res, "cannot look up the user in Okta", &e);
		return -1;
	}
	if (u.not_found) {
		jit_result_set(res, "not_found", "no Okta user with login %s", login);
		goto refused;
	}
	/* From the web the token named the person by Okta id: the login
	 * the local name maps to must be that same person's. */
	if (a->web && strcmp(u.id, a->okta_id) != 0) {
		jit_result_set(res, "forbidden", "the signed-in Okta user is not %s's Okta user", user);
		audit_refusal(d, a, "refused", 0, user, group, "reason=okta-id-mismatch");
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
			ok = grants_user_in_named_group(d, &u, f->requesters[i], &e);
		if (ok < 0 && e.kind == OKTA_ERR_AMBIGUOUS) {
			/* fail closed: which group the name means is unknown */
			jit_result_set(res, "forbidden", "flow '%s': %s (a configuration error; see `okta-jit doctor`)",
				       f->name, e.summary);
			goto refused;
		}
		if (ok < 0) {
			grants_okta_result(res, "cannot resolve the flow's requesters group", &e);
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
		/* issue 20 item 3: deleted in Okta, or no OKTA_GROUP now */
		if (strcmp(e.code, "group_deleted") == 0 || strcmp(e.code, "group_wrong_type") == 0)
			jit_result_set(res, e.code, "%s; nothing can be granted through it (see `okta-jit doctor`)",
				       e.summary);
		else
			grants_okta_result(res, "cannot find the OKTA_GROUP in Okta", &e);
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
	if (jitd_grant_insert(d, &g) != LEDGER_OK)
		return grants_ledger_failed(d, res);
	if (strcmp(g.requester, a->user) != 0)
		audit_event(d, "requested", g.id, g.requester, g.user, g.grp, "duration=%llds reason=%s via=pam",
			    (long long)duration, g.reason);
	else
		audit_event(d, "requested", g.id, g.requester, g.user, g.grp, "duration=%llds reason=%s",
			    (long long)duration, g.reason);
	if (f->approval == APPROVAL_AUTO) {
		rc = grants_approve_and_grant(d, &g, "auto", 1, res);
		if (rc < 0 && strcmp(g.state, GS_PENDING) == 0) {
			/* Approval never reached the intent (Okta unreadable): a
			 * request left pending would block the user's next one. */
			ojit_strlcpy(g.state, GS_FAILED, sizeof(g.state));
			ojit_strlcpy(g.last_error, res->message, sizeof(g.last_error));
			if (jitd_grant_update(d, &g, GS_PENDING) == LEDGER_OK)
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

int grants_flows(struct jitd *d, const struct actor *a, const char *user, int *verdict, char *why, size_t whyn,
		 struct jit_result *res)
{
	struct check_user u;
	struct okta_error e;
	char login[OKTA_LOGIN_MAX + 1];
	size_t i, j;
	int rc = -1;

	why[0] = '\0';
	if (user == NULL)
		user = a->user;
	if (!a->is_root && strcmp(user, a->user) != 0) {
		jit_result_set(res, "forbidden", "you may list only the flows you may request yourself");
		audit_refusal(d, a, "refused", 0, user, "", "reason=flows-for-other");
		return -1;
	}
	if (!jitd_valid_username(user)) {
		jit_result_set(res, "invalid", "not a valid local user name");
		return -1;
	}
	if (config_map_login(d->cfg, user, login, sizeof(login)) != 0) {
		jit_result_set(res, "invalid", "cannot map '%s' to an Okta login", user);
		return -1;
	}
	/* As REQUEST reads them: the user and their groups through the check
	 * cache (one Okta read per cache_ttl however often the page loads). */
	if (check_user_lookup(d, user, login, &u, &e) != 0) {
		grants_okta_result(res, "cannot look up the user in Okta", &e);
		return -1;
	}
	if (u.not_found) {
		jit_result_set(res, "not_found", "no Okta user with login %s", login);
		goto out;
	}
	if (a->web && strcmp(u.id, a->okta_id) != 0) {
		jit_result_set(res, "forbidden", "the signed-in Okta user is not %s's Okta user", user);
		audit_refusal(d, a, "refused", 0, user, "", "reason=okta-id-mismatch");
		goto out;
	}
	if (strcmp(u.status, "ACTIVE") != 0) {
		jit_result_set(res, "forbidden", "Okta user %s is %s, not ACTIVE", u.login, u.status);
		goto out;
	}
	for (i = 0; i < d->cfg->nflows; i++) {
		const struct flow_config *f = &d->cfg->flows[i];
		int ok = f->nrequesters == 0;

		/* REQUEST's loop: the first error ends it, unknown */
		for (j = 0; j < f->nrequesters && ok == 0; j++)
			ok = grants_user_in_named_group(d, &u, f->requesters[j], &e);
		if (ok < 0 && why[0] == '\0')
			snprintf(why, whyn, "%s%s", e.kind == OKTA_ERR_AMBIGUOUS ? "a configuration error: " : "Okta: ",
				 e.summary);
		verdict[i] = ok < 0 ? -1 : ok > 0;
	}
	rc = 0;
out:
	check_user_free(&u);
	return rc;
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
		if (jitd_grant_update(d, &parent, GS_ACTIVE) != LEDGER_OK ||
		    jitd_grant_update(d, &g, GS_PENDING) != LEDGER_OK)
			return grants_ledger_failed(d, res);
		audit_event(d, "extended", parent.id, approver, parent.user, parent.grp, "until=%lld request=%lld",
			    (long long)new_end, (long long)g.id);
		jitd_kick(d);
		*out = parent;
		jit_result_set(res, "ok", "grant %lld extended", (long long)parent.id);
		return 0;
	}
	r = grants_approve_and_grant(d, &g, approver, 0, res);
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
	if (jitd_grant_update(d, &g, GS_PENDING) != LEDGER_OK) {
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
	/* (from the web: and the grant's Okta user is the signed-in one) */
	if (!a->is_root && (strcmp(a->user, g.user) != 0 || (a->web && strcmp(a->okta_id, g.okta_user_id) != 0))) {
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
	/* This call makes the removal now; a scheduler (ours, or another
	 * granter's woken by the row's change notice) takes it only if this
	 * one has not settled it by then: it dies, or Okta is slow. */
	g.next_attempt_at = now + REVOKE_TAKEOVER_SECONDS;
	g.op_attempts = 0;
	if (jitd_grant_update(d, &g, expected) != LEDGER_OK) {
		jit_result_set(res, "conflict", "grant %lld changed meanwhile; try again", (long long)id);
		return -1;
	}
	audit_event(d, "revoked", g.id, a->user, g.user, g.grp, "was=%s", expected);
	if (strcmp(g.op, OP_REMOVE) == 0 && grants_claimed_remove(d, &g) != 0)
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
	if (!a->is_root && (strcmp(a->user, g.user) != 0 || (a->web && strcmp(a->okta_id, g.okta_user_id) != 0))) {
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
		if (jitd_grant_update(d, &g, GS_ACTIVE) != LEDGER_OK)
			return grants_ledger_failed(d, res);
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
	if (jitd_grant_insert(d, &ext) != LEDGER_OK)
		return grants_ledger_failed(d, res);
	audit_event(d, "requested", ext.id, a->user, g.user, g.grp, "extend=%lld duration=%llds reason=%s",
		    (long long)g.id, (long long)duration, ext.reason);
	jitd_kick(d);
	*out = ext;
	jit_result_set(res, "ok", "extension request %lld is waiting for approval", (long long)ext.id);
	return 0;
}
