/* grants.h - the just-in-time lifecycle: request, approve, deny, revoke,
 * extend, expire, and repair after a crash. */
#ifndef OJIT_GRANTS_H
#define OJIT_GRANTS_H

#include "jitd.h"

#define GRANT_REASON_MAX 500

/* requester: who asked (the actor, or the user at a PAM prompt). */
int grants_request(struct jitd *d, const struct actor *a, const char *requester, const char *user,
		   const char *group, int64_t duration, const char *reason, struct grant *out,
		   struct jit_result *res);
/* FLOWS (issue 19): which of the configuration's flows user may request,
 * by REQUEST's own requesters check. verdict[i] for cfg->flows[i]: 1 yes
 * (no requesters, or a member of one), 0 no, -1 cannot tell now (an Okta
 * error or an ambiguous group name; why says which, the first one).
 * 0, or -1 with res set (not this caller's to ask, no such Okta user, the
 * user cannot be read). */
int grants_flows(struct jitd *d, const struct actor *a, const char *user, int *verdict, char *why, size_t whyn,
		 struct jit_result *res);
int grants_approve(struct jitd *d, const struct actor *a, int64_t id, const char *note,
		   struct grant *out, struct jit_result *res);
int grants_deny(struct jitd *d, const struct actor *a, int64_t id, const char *note,
		struct grant *out, struct jit_result *res);
int grants_revoke(struct jitd *d, const struct actor *a, int64_t id, struct grant *out,
		  struct jit_result *res);
int grants_extend(struct jitd *d, const struct actor *a, int64_t id, int64_t duration,
		  const char *reason, struct grant *out, struct jit_result *res);

/* Do every piece of work that is due now (expiries, owed Okta calls,
 * stale requests). Called by the scheduler and at start-up. */
void grants_run_due(struct jitd *d);
/* At start-up: settle every grant that owes Okta work, at once. */
void grants_recover(struct jitd *d);

/* May actor approve g? 1 yes, 0 no (res says why), -1 Okta error. */
int grants_can_approve(struct jitd *d, const struct actor *a, const struct grant *g,
		       char *approver_login, size_t n, struct jit_result *res);

/* Who may approve g, told to a (LIST records' APPROVERS): the flow's
 * rule, the group's owners in Okta (users by login, groups by name), the
 * integration owner, and the members of those groups where the ledger's
 * snapshots list them; never a, nor the request's own user (neither may
 * approve it). memo keeps what one listing read of the snapshots. */
struct approvers_memo;
struct approvers_memo *grants_approvers_memo_new(void);
void grants_approvers_memo_free(struct approvers_memo *mm);
void grants_approvers_text(struct jitd *d, const struct actor *a, const struct grant *g,
			   struct approvers_memo *mm, char *out, size_t n);

/* Drift (issue 20, drift.c): a removal of a member no grant added takes
 * the same claims as a grant's add and removal (this daemon's lock and,
 * on a shared ledger, the claim on user and group: 1 taken, 0 another
 * granter holds it, -1 ledger error). */
int grants_member_take(struct jitd *d, const char *user, const char *grp);
void grants_member_give(struct jitd *d, const char *user, const char *grp);
/* Is Okta user uid in group gid now (asked fresh)? 0 with *yes, or -1. */
int grants_user_in_group(struct jitd *d, const char *uid, const char *gid, int *yes, struct okta_error *e);
/* An Okta error that retrying will not fix. */
int grants_okta_permanent(const struct okta_error *e);
/* Does grant row g own its membership at now: approved or active, an
 * add or removal still owed, or ended less than recent seconds ago? */
int grants_owns_membership(const struct grant *g, int64_t now, int64_t recent);

/* On a shared ledger anyone who can write the database could insert a
 * row. 1 when grant row g is this fleet's: a local ledger's, or one that
 * carries the signature of this granter's fleet key (verified with it);
 * also 1 on a shared ledger without a signing key (such a granter signs
 * nothing, so a caller that would re-sign the row launders nothing). */
int grants_row_signed_here(const struct jitd *d, const struct grant *g);

#endif
