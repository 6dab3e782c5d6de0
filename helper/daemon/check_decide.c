/* check_decide.c - the login/sudo decision (check.h: check_decide):
 * allow iff the Okta user mapped from the local user is ACTIVE, is a
 * member of the group and, for groups a flow makes time-bound, holds an
 * active grant whose end is after now, read from the ledger on every
 * check. What Okta says comes through the cache (check_cache.c); on a
 * gate, which holds no Okta credential, both come from its memory of the
 * shared ledger (mirror.h: grants, and the granters' snapshots of Okta).
 * Split out of check.c (issue 16). */
#include "check_cache.h"

#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"
#include "mirror.h"
#include "util.h"

/* [web] url + "/request?group=G" (okta-jit-web's request form for the
 * group), the group percent-encoded; "" when it does not fit. */
static void web_request_url(const char *base, const char *group, char *out, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t len = strlen(base), o;

	while (len > 0 && base[len - 1] == '/')
		len--;
	if (len + sizeof("/request?group=") + 3 * strlen(group) > n) {
		out[0] = '\0';
		return;
	}
	memcpy(out, base, len);
	o = len + (size_t)snprintf(out + len, n - len, "/request?group=");
	for (; *group; group++) {
		unsigned char ch = (unsigned char)*group;

		if (isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
			out[o++] = (char)ch;
		} else {
			out[o++] = '%';
			out[o++] = hex[ch >> 4];
			out[o++] = hex[ch & 15];
		}
	}
	out[o] = '\0';
}

static void deny_text(struct jitd *d, const struct flow_config *f, const char *group, struct check_answer *ans)
{
	char dur[32];

	jitd_describe_approvers(d, f, ans->approvers, sizeof(ans->approvers));
	if (f != NULL) {
		duration_format(f->default_duration, dur, sizeof(dur));
		snprintf(ans->hint, sizeof(ans->hint), "okta-jit request %s --for %s%s", group, dur,
			 f->reason_required ? " --reason \"why you need it\"" : "");
		ans->max_duration = f->max_duration;
		ans->reason_required = f->reason_required;
		if (d->cfg->web_url != NULL)
			web_request_url(d->cfg->web_url, group, ans->web_url, sizeof(ans->web_url));
	}
}

/* Ask the ledger whether user holds an active grant for group. With a
 * shared ledger, remember each answer, and while the database cannot be
 * reached use the last one read within outage_grace (*grace set).
 * Returns LEDGER_OK (a grant ending after now), LEDGER_NOTFOUND, or
 * LEDGER_ERR (unreachable and nothing recent enough known). */
static int grant_lookup(struct jitd *d, const char *user, const char *group, int64_t now, struct grant_end *ge,
			int *grace)
{
	struct check_cache *c = d->cache;
	char key[LEDGER_USER_MAX + LEDGER_GROUP_MAX + 2];
	struct ledger_memo *m;
	int r = ledger_grant_active_end(d->ledger, user, group, now, ge);
	unsigned h;

	if (!d->ledger_shared || c == NULL || strlen(user) > LEDGER_USER_MAX || strlen(group) > LEDGER_GROUP_MAX)
		return r;
	snprintf(key, sizeof(key), "%s\n%s", user, group);
	h = check_hash(key);
	pthread_mutex_lock(&c->lock);
	for (m = c->memos[h]; m != NULL; m = m->next)
		if (strcmp(m->key, key) == 0)
			break;
	if (r == LEDGER_OK || r == LEDGER_NOTFOUND) {
		if (m == NULL && c->nmemos < c->max && (m = calloc(1, sizeof(*m))) != NULL) {
			memcpy(m->key, key, strlen(key) + 1);
			m->next = c->memos[h];
			c->memos[h] = m;
			c->nmemos++;
		}
		if (m != NULL) {
			m->found = r == LEDGER_OK;
			if (r == LEDGER_OK)
				m->ge = *ge;
			else
				memset(&m->ge, 0, sizeof(m->ge));
			m->read_at = now;
		}
	} else if (m != NULL && now - m->read_at < d->cfg->outage_grace) {
		*grace = 1;
		*ge = m->ge;
		r = m->found && m->ge.end_at > now ? LEDGER_OK : LEDGER_NOTFOUND;
	}
	pthread_mutex_unlock(&c->lock);
	return r;
}

/* Does the user hold an active grant for a group their cached Okta answer
 * lacks, while that answer is older than the grant's activation (the row's
 * updated_at, written after Okta confirmed the membership)? Then the grant
 * was made by another okta-jitd of the fleet after we asked Okta: ask again.
 * An answer fetched after the activation that still lacks the group is
 * Okta's word, kept until cache_ttl. */
static int grant_not_in_okta_answer(struct jitd *d, const struct user_entry *info, char gids[][OKTA_ID_MAX + 1],
				    size_t ngroups, const int *has_grant, const struct grant_end *ge)
{
	struct grant g;
	size_t i;

	if (info->not_found || strcmp(info->status, "ACTIVE") != 0)
		return 0;
	for (i = 0; i < ngroups && i < CHECK_MAX_GROUPS; i++)
		if (has_grant[i] && gids[i][0] != '\0' && !check_has_group(info, gids[i]) &&
		    ledger_grant_get(d->ledger, ge[i].id, &g) == LEDGER_OK && info->fetched_at <= g.updated_at)
			return 1;
	return 0;
}

static void allow(const char *group, int timebound, int64_t grant_id, int64_t grant_end, int64_t now,
		  struct check_answer *ans)
{
	ans->decision = CHECK_ALLOW;
	ojit_strlcpy(ans->code, "allow", sizeof(ans->code));
	ojit_strlcpy(ans->group, group, sizeof(ans->group));
	if (timebound) {
		/* the grant read above, against the same "now" */
		ans->grant_id = grant_id;
		ans->end = grant_end;
	}
	if (ans->end > 0) {
		char left[32];

		duration_format(ans->end - now, left, sizeof(left));
		snprintf(ans->message, sizeof(ans->message), "okta-jit: access to '%s' granted (grant %lld) for %s more",
			 group, (long long)ans->grant_id, left);
	} else {
		snprintf(ans->message, sizeof(ans->message), "okta-jit: access through Okta group '%s'", group);
	}
}

static void unavailable(struct check_answer *ans, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void unavailable(struct check_answer *ans, const char *code, const char *fmt, ...)
{
	va_list ap;

	ans->decision = CHECK_UNAVAILABLE;
	ans->from_grace = 0;
	ans->valid_until = 0;
	ojit_strlcpy(ans->code, code, sizeof(ans->code));
	va_start(ap, fmt);
	vsnprintf(ans->message, sizeof(ans->message), fmt, ap);
	va_end(ap);
}

/* A gate's word on a declared standing member of f: by login, or listed
 * ACTIVE in the usable snapshot of one of f's standing groups (the
 * granters keep one for each, issue 20). */
static int gate_standing(struct jitd *d, const struct flow_config *f, const char *login, int64_t now)
{
	struct mirror_snap sn;
	size_t i;

	if (f == NULL)
		return 0;
	if (check_standing_user(f, login))
		return 1;
	for (i = 0; i < f->nstanding_groups; i++) {
		mirror_snapshot(d->mirror, f->standing_groups[i], login, &sn);
		if (sn.kind == MSNAP_OK && sn.listed && strcmp(sn.status, "ACTIVE") == 0 &&
		    now - sn.taken_at < d->cfg->outage_grace && sn.taken_at - now < d->cfg->outage_grace)
			return 1;
	}
	return 0;
}

/* A gate's decision (issue 17), from its memory of the shared ledger
 * alone (mirror.h): no database round trip, no Okta call. For each group:
 * a time-bound one needs an active grant ending after now; every one needs
 * a usable snapshot no older than outage_grace (older than the staleness
 * bound, cache_ttl + refresh_timeout but at most 2 * cache_ttl: answered
 * from grace), listing the user's login ACTIVE with the grant's
 * Okta user id, its group id the grant's. A snapshot taken before the
 * grant's activation (the row's updated_at, written once the granter had
 * Okta's confirmation) that does not list the user at all is older than
 * Okta's word: the grant stands. */
static int gate_decide(struct jitd *d, const char *user, const char *login, const char *const *groups,
		       size_t ngroups, struct check_answer *ans)
{
	struct mirror_grant mg[CHECK_MAX_GROUPS];
	char inactive[32] = "", refuse_code[32] = "", refuse_why[300] = "";
	int64_t now = ojit_now(), synced_at = 0, ttl2 = config_snapshot_fresh(d->cfg);
	int ledger_down = 0, snap_down = -1, refuse_group = -1;
	enum mirror_status st;
	char snap_why[300] = "";
	size_t i;

	st = d->mirror != NULL ? mirror_status(d->mirror, now, &synced_at) : MIRROR_DOWN;
	if (st == MIRROR_DOWN) {
		unavailable(ans, "ledger_unavailable", synced_at == 0
			    ? "okta-jit on this gate has not read the shared ledger yet"
			    : "okta-jit on this gate lost the shared ledger more than outage_grace ago");
		return 0;
	}
	for (i = 0; i < ngroups; i++) {
		const struct flow_config *f = config_flow_for_group(d->cfg, groups[i]);
		int timebound = f != NULL && !f->standing_allow;
		struct mirror_snap sn;
		int grace = st == MIRROR_GRACE;

		mirror_grant(d->mirror, user, groups[i], now, &mg[i]);
		if (timebound && !mg[i].active && gate_standing(d, f, login, now))
			timebound = 0; /* a declared standing member (issue 20) */
		if (timebound && !mg[i].active) {
			/* Not yet heard of, while the ledger is out of reach: a
			 * grant made meanwhile cannot be ruled out. One that is
			 * known and over is refused. */
			if (st == MIRROR_GRACE && !mg[i].known)
				ledger_down = 1;
			continue;
		}
		mirror_snapshot(d->mirror, groups[i], login, &sn);
		/* (a listing dated further ahead than outage_grace is no
		 * clock skew: it would never age) */
		if (sn.kind == MSNAP_NONE || sn.kind == MSNAP_BAD || now - sn.taken_at >= d->cfg->outage_grace ||
		    sn.taken_at - now >= d->cfg->outage_grace) {
			if ((sn.kind == MSNAP_OK || sn.kind == MSNAP_REFUSE) && sn.taken_at > now)
				snprintf(sn.why, sizeof(sn.why), "its snapshot is dated %llds ahead of this host's clock",
					 (long long)(sn.taken_at - now));
			else if (sn.kind == MSNAP_OK || sn.kind == MSNAP_REFUSE)
				snprintf(sn.why, sizeof(sn.why), "its snapshot is %llds old (outage_grace %llds): no granter "
					 "has refreshed it", (long long)(now - sn.taken_at), (long long)d->cfg->outage_grace);
			mirror_log_limited(d->mirror, "snapshot", groups[i],
					   "check answered unavailable group=%s code=snapshot_unavailable why=\"%s\"", groups[i],
					   sn.why);
			if (snap_down < 0) {
				snap_down = (int)i;
				ojit_strlcpy(snap_why, sn.why, sizeof(snap_why));
			}
			continue;
		}
		if (sn.kind == MSNAP_REFUSE) {
			if (refuse_group < 0) {
				refuse_group = (int)i;
				ojit_strlcpy(refuse_code, sn.code, sizeof(refuse_code));
				ojit_strlcpy(refuse_why, sn.why, sizeof(refuse_why));
			}
			continue;
		}
		if (now - sn.taken_at >= ttl2)
			grace = 1;
		if (sn.listed && strcmp(sn.status, "ACTIVE") != 0) {
			if (inactive[0] == '\0')
				ojit_strlcpy(inactive, sn.status, sizeof(inactive));
			continue;
		}
		if (timebound && mg[i].group_id[0] != '\0' && strcmp(mg[i].group_id, sn.group_id) != 0)
			continue; /* the name stands for another group now */
		if (sn.listed) {
			if (timebound && mg[i].okta_user_id[0] != '\0' && strcmp(mg[i].okta_user_id, sn.id) != 0)
				continue; /* another Okta user bears the login now */
		} else if (!(timebound && mg[i].updated_at >= sn.taken_at)) {
			continue;
		}
		if (timebound && mg[i].end_at <= ojit_now())
			continue;
		allow(groups[i], timebound, mg[i].id, mg[i].end_at, now, ans);
		ans->from_grace = grace;
		ans->valid_until = grace ? 0 : sn.taken_at + ttl2;
		if (timebound && mg[i].end_at < ans->valid_until)
			ans->valid_until = mg[i].end_at;
		return 0;
	}
	if (ledger_down) {
		unavailable(ans, "ledger_unavailable", "okta-jit cannot read the grant ledger (out of reach since %lld s)",
			    (long long)(now - synced_at));
		return 0;
	}
	if (snap_down >= 0) {
		unavailable(ans, "snapshot_unavailable", "okta-jit has no usable member list of Okta group '%s': %s",
			    groups[snap_down], snap_why);
		return 0;
	}
	{
		const struct flow_config *f = config_flow_for_group(d->cfg, groups[0]);
		int timebound = f != NULL && !f->standing_allow;

		struct mirror_snap gone;

		ans->decision = CHECK_DENY;
		ojit_strlcpy(ans->group, groups[0], sizeof(ans->group));
		deny_text(d, f, groups[0], ans);
		/* issue 20 item 3: a group the granters found deleted in Okta, or
		 * no OKTA_GROUP now, is refused as such, grant or none */
		memset(&gone, 0, sizeof(gone));
		mirror_snapshot(d->mirror, groups[0], login, &gone);
		if (gone.kind != MSNAP_REFUSE || (strcmp(gone.code, "group_deleted") != 0 &&
						  strcmp(gone.code, "group_wrong_type") != 0))
			gone.kind = MSNAP_NONE;
		if (inactive[0] != '\0') {
			ojit_strlcpy(ans->code, "user_inactive", sizeof(ans->code));
			snprintf(ans->message, sizeof(ans->message), "okta-jit: Okta user %s is %s", login, inactive);
		} else if (gone.kind == MSNAP_REFUSE) {
			ojit_strlcpy(ans->code, gone.code, sizeof(ans->code));
			snprintf(ans->message, sizeof(ans->message), "okta-jit: Okta group '%s' cannot be checked: %s "
				 "(see `okta-jit doctor`)", groups[0], gone.why);
			ans->hint[0] = '\0';
			ans->web_url[0] = '\0';
		} else if (timebound && !mg[0].active) {
			ojit_strlcpy(ans->code, "no_grant", sizeof(ans->code));
			if (mg[0].pending_id > 0) {
				ojit_strlcpy(ans->code, "pending", sizeof(ans->code));
				snprintf(ans->message, sizeof(ans->message),
					 "okta-jit: access needs a grant for '%s'; your request %lld is %s (approvers: %s)",
					 groups[0], (long long)mg[0].pending_id, mg[0].pending_state, ans->approvers);
			} else {
				snprintf(ans->message, sizeof(ans->message),
					 "okta-jit: access needs an active grant for Okta group '%s'", groups[0]);
			}
		} else if (refuse_group == 0) {
			ojit_strlcpy(ans->code, refuse_code, sizeof(ans->code));
			snprintf(ans->message, sizeof(ans->message), "okta-jit: Okta group '%s' cannot be checked: %s%s",
				 groups[0], refuse_why, strcmp(refuse_code, "ambiguous_group") == 0 ? " (see `okta-jit doctor`)" : "");
		} else {
			ojit_strlcpy(ans->code, "not_member", sizeof(ans->code));
			snprintf(ans->message, sizeof(ans->message), "okta-jit: %s is not a member of Okta group '%s'",
				 login, groups[0]);
		}
	}
	return 0;
}

int check_decide(struct jitd *d, const char *user, const char *const *groups, size_t ngroups, int caller_root,
		 struct check_answer *ans)
{
	struct timespec deadline;
	char login[OKTA_LOGIN_MAX + 1];
	char gids[CHECK_MAX_GROUPS][OKTA_ID_MAX + 1];
	struct user_entry info;
	struct okta_error err, gerr[CHECK_MAX_GROUPS];
	int64_t now = ojit_now(), fresh_until = 0;
	int need_okta = 0, have_info = 0, grace = 0, ledger_grace = 0, ledger_down = 0, gid_down = -1;
	int need_grant_okta = 0; /* Okta is asked for more than a possible standing place */
	int has_grant[CHECK_MAX_GROUPS];
	int may_stand[CHECK_MAX_GROUPS]; /* no grant, but the flow declares standing members */
	struct grant_end ge[CHECK_MAX_GROUPS];
	size_t i;

	memset(ans, 0, sizeof(*ans));
	memset(may_stand, 0, sizeof(may_stand));
	memset(&info, 0, sizeof(info));
	memset(gids, 0, sizeof(gids));
	memset(gerr, 0, sizeof(gerr));
	ans->decision = CHECK_DENY;
	for (i = 0; i < ngroups && i < CHECK_MAX_GROUPS; i++)
		if (!jitd_valid_groupname(groups[i]))
			ngroups = 0; /* refused below */
	if (!jitd_valid_username(user) || ngroups == 0 || ngroups > CHECK_MAX_GROUPS ||
	    config_map_login(d->cfg, user, login, sizeof(login)) != 0) {
		ojit_strlcpy(ans->code, "invalid", sizeof(ans->code));
		snprintf(ans->message, sizeof(ans->message), "invalid check request");
		return 0;
	}
	if (d->cfg->role_gate)
		return gate_decide(d, user, login, groups, ngroups, ans);
	/* First the ledger: a time-bound group without a grant needs no Okta
	 * call to be refused. */
	for (i = 0; i < ngroups; i++) {
		const struct flow_config *f = config_flow_for_group(d->cfg, groups[i]);

		has_grant[i] = 0;
		memset(&ge[i], 0, sizeof(ge[i]));
		if (f != NULL && !f->standing_allow) {
			int lr = grant_lookup(d, user, groups[i], now, &ge[i], &ledger_grace);

			if (lr == LEDGER_OK) {
				has_grant[i] = 1;
				need_okta = 1;
				need_grant_okta = 1;
			} else {
				memset(&ge[i], 0, sizeof(ge[i]));
				if (lr == LEDGER_ERR)
					ledger_down = 1;
				/* a declared standing member passes without a
				 * grant: Okta says who is one */
				if (f->nstanding_users > 0 || f->nstanding_groups > 0) {
					may_stand[i] = 1;
					need_okta = 1;
				}
			}
		} else {
			need_okta = 1;
			need_grant_okta = 1;
		}
	}
	check_deadline(&deadline);
	/* Each group that could let the user in, as the one OKTA_GROUP id it
	 * stands for: memberships are compared by id. A name an unprivileged
	 * caller brings that no flow uses and root never checked is not
	 * looked up (it would cost Okta calls and memory without bound). */
	for (i = 0; need_okta && i < ngroups; i++) {
		const struct flow_config *f = config_flow_for_group(d->cfg, groups[i]);

		if (f != NULL && !f->standing_allow && !has_grant[i] && !may_stand[i])
			continue;
		if (check_group_id(d, groups[i], 1, caller_root, &deadline, gids[i], sizeof(gids[i]), &gerr[i]) != 0) {
			gids[i][0] = '\0';
			if (gerr[i].kind != OKTA_ERR_NOT_FOUND && gerr[i].kind != OKTA_ERR_AMBIGUOUS &&
			    gerr[i].kind != OKTA_ERR_REFUSED && gid_down < 0 && !may_stand[i])
				gid_down = (int)i;
		}
	}
	/* A group's roster first: one call per group, not two per user. */
	for (i = 0; need_okta && i < ngroups; i++) {
		const struct flow_config *f = config_flow_for_group(d->cfg, groups[i]);
		int timebound = f != NULL && !f->standing_allow;

		if (timebound && !has_grant[i])
			continue;
		if (gids[i][0] == '\0')
			continue;
		if (!check_roster_allows(d, groups[i], gids[i], user, login, &deadline, &grace, &fresh_until))
			continue;
		if (timebound && ge[i].end_at <= ojit_now())
			continue;
		allow(groups[i], timebound, ge[i].id, ge[i].end_at, now, ans);
		ans->from_grace = grace || ledger_grace;
		ans->valid_until = ans->from_grace ? 0 : timebound && ge[i].end_at < fresh_until ? ge[i].end_at : fresh_until;
		return 0;
	}
	if (need_okta) {
		int r = check_user_info(d, user, login, d->cfg->cache_ttl, &info, &grace, &deadline, &err);

		if (r == 0 && grant_not_in_okta_answer(d, &info, gids, ngroups, has_grant, ge)) {
			/* A grant this daemon did not make (another okta-jitd of
			 * the fleet did) while the cached answer predates it:
			 * ask Okta again, waiting at most CHECK_WAIT_MS. */
			struct user_entry again;
			struct okta_error err2;
			int grace2 = 0;

			memset(&again, 0, sizeof(again));
			check_deadline(&deadline);
			if (check_user_info(d, user, login, 0, &again, &grace2, &deadline, &err2) == 0) {
				free(info.groups);
				info = again;
				grace = grace2;
			}
		}
		if (r != 0 && need_grant_okta) {
			char msg[512];

			okta_error_format(&err, msg, sizeof(msg));
			ans->decision = CHECK_UNAVAILABLE;
			ojit_strlcpy(ans->code, "okta_unavailable", sizeof(ans->code));
			snprintf(ans->message, sizeof(ans->message), "okta-jit cannot reach Okta to check access: %s", msg);
			return 0;
		}
		if (r == 0) {
			have_info = 1;
			ans->from_grace = grace;
		} else {
			/* Only a possible standing place was to be read, and
			 * it cannot be: refused as without a grant (the PAM
			 * module's failmode must never open the gate to a
			 * user who holds no grant). */
			memset(&info, 0, sizeof(info));
		}
	}
	ans->from_grace |= ledger_grace;
	for (i = 0; i < ngroups; i++) {
		const struct flow_config *f = config_flow_for_group(d->cfg, groups[i]);
		int timebound = f != NULL && !f->standing_allow;

		if (!have_info || info.not_found || strcmp(info.status, "ACTIVE") != 0)
			continue;
		/* a grant that ended while Okta was asked does not count; a
		 * declared standing member needs none */
		if (timebound && (!has_grant[i] || ge[i].end_at <= ojit_now())) {
			if (!may_stand[i] || !check_standing_member(d, f, &info, &deadline))
				continue;
			timebound = 0;
		}
		if (!check_has_group(&info, gids[i]))
			continue;
		allow(groups[i], timebound, ge[i].id, ge[i].end_at, now, ans);
		fresh_until = info.fetched_at + d->cfg->cache_ttl;
		ans->valid_until = ans->from_grace ? 0 : timebound && ge[i].end_at < fresh_until ? ge[i].end_at : fresh_until;
		free(info.groups);
		return 0;
	}
	if (ledger_down || gid_down >= 0) {
		/* What was never read cannot be allowed: the PAM module's
		 * failmode decides. */
		char msg[512];

		free(info.groups);
		ans->decision = CHECK_UNAVAILABLE;
		if (ledger_down) {
			ojit_strlcpy(ans->code, "ledger_unavailable", sizeof(ans->code));
			snprintf(ans->message, sizeof(ans->message), "okta-jit cannot read the grant ledger: %s",
				 ledger_last_error(d->ledger));
		} else {
			okta_error_format(&gerr[gid_down], msg, sizeof(msg));
			ojit_strlcpy(ans->code, "okta_unavailable", sizeof(ans->code));
			snprintf(ans->message, sizeof(ans->message), "okta-jit cannot reach Okta to find group '%s': %s",
				 groups[gid_down], msg);
		}
		return 0;
	}
	/* Refused: say why for the first group, and how to get in. */
	{
		const struct flow_config *f = config_flow_for_group(d->cfg, groups[0]);
		int timebound = f != NULL && !f->standing_allow;
		char gone_code[32], gone_why[256];

		ojit_strlcpy(ans->group, groups[0], sizeof(ans->group));
		deny_text(d, f, groups[0], ans);
		if (have_info && info.not_found) {
			ojit_strlcpy(ans->code, "no_user", sizeof(ans->code));
			snprintf(ans->message, sizeof(ans->message), "okta-jit: there is no Okta user %s", login);
		} else if (have_info && strcmp(info.status, "ACTIVE") != 0) {
			ojit_strlcpy(ans->code, "user_inactive", sizeof(ans->code));
			snprintf(ans->message, sizeof(ans->message), "okta-jit: Okta user %s is %s", login, info.status);
		} else if (check_group_gone(d, groups[0], gone_code, sizeof(gone_code), gone_why, sizeof(gone_why))) {
			/* issue 20 item 3: deleted in Okta, or no OKTA_GROUP now */
			ojit_strlcpy(ans->code, gone_code, sizeof(ans->code));
			snprintf(ans->message, sizeof(ans->message), "okta-jit: %s; access through it is refused "
				 "(see `okta-jit doctor`)", gone_why);
			ans->hint[0] = '\0';
			ans->web_url[0] = '\0';
		} else if (timebound && !has_grant[0]) {
			struct grant p;

			ojit_strlcpy(ans->code, "no_grant", sizeof(ans->code));
			if (ledger_grant_pending(d->ledger, user, groups[0], &p) == LEDGER_OK &&
			    ojit_strlcpy(ans->code, "pending", sizeof(ans->code)) == 0)
				snprintf(ans->message, sizeof(ans->message),
					 "okta-jit: access needs a grant for '%s'; your request %lld is %s (approvers: %s)",
					 groups[0], (long long)p.id, p.state, ans->approvers);
			else
				snprintf(ans->message, sizeof(ans->message),
					 "okta-jit: access needs an active grant for Okta group '%s'", groups[0]);
		} else if (gids[0][0] == '\0' && gerr[0].kind == OKTA_ERR_REFUSED) {
			ojit_strlcpy(ans->code, "unknown_group", sizeof(ans->code));
			snprintf(ans->message, sizeof(ans->message), "okta-jit: %s", gerr[0].summary);
		} else if (gids[0][0] == '\0' && gerr[0].kind == OKTA_ERR_AMBIGUOUS) {
			ojit_strlcpy(ans->code, "ambiguous_group", sizeof(ans->code));
			snprintf(ans->message, sizeof(ans->message), "okta-jit: %s (see `okta-jit doctor`)", gerr[0].summary);
		} else {
			ojit_strlcpy(ans->code, "not_member", sizeof(ans->code));
			snprintf(ans->message, sizeof(ans->message), "okta-jit: %s is not a member of Okta group '%s'",
				 login, groups[0]);
		}
	}
	free(info.groups);
	return 0;
}
