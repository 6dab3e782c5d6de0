/* check_groups.c - group names resolved to Okta group ids, and group
 * owners, cached for the check and for approvals (check.h: check_group_id,
 * check_group_owners, check_cache_warm). Split out of check.c (issue 16). */
#include "check_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include "pool.h"
#include "util.h"

/* Is name one the configuration names (a flow's group or requesters, the
 * integration owner's group)? */
static int config_names_group(const struct ojit_config *cfg, const char *name)
{
	size_t i, j;

	if (cfg->owner != NULL && strncmp(cfg->owner, "group:", 6) == 0 && strcmp(cfg->owner + 6, name) == 0)
		return 1;
	for (i = 0; i < cfg->nflows; i++) {
		for (j = 0; j < cfg->flows[i].ngroups; j++)
			if (strcmp(cfg->flows[i].groups[j], name) == 0)
				return 1;
		for (j = 0; j < cfg->flows[i].nrequesters; j++)
			if (strcmp(cfg->flows[i].requesters[j], name) == 0)
				return 1;
		for (j = 0; j < cfg->flows[i].nstanding_groups; j++)
			if (strcmp(cfg->flows[i].standing_groups[j], name) == 0)
				return 1;
	}
	return 0;
}

int check_standing_user(const struct flow_config *f, const char *login)
{
	size_t i;

	for (i = 0; f != NULL && login != NULL && i < f->nstanding_users; i++)
		if (strcasecmp(f->standing_users[i], login) == 0)
			return 1;
	return 0;
}

int check_standing_member(struct jitd *d, const struct flow_config *f, const struct user_entry *info,
			  const struct timespec *deadline)
{
	struct okta_error e;
	char gid[OKTA_ID_MAX + 1];
	size_t i;

	if (f == NULL || info == NULL)
		return 0;
	if (check_standing_user(f, info->login))
		return 1;
	for (i = 0; i < f->nstanding_groups; i++)
		if (check_group_id(d, f->standing_groups[i], 0, 1, deadline, gid, sizeof(gid), &e) == 0 &&
		    check_has_group(info, gid))
			return 1;
	return 0;
}

struct group_id_fetch {
	struct jitd *d;
	struct group_id *g;
	char name[LEDGER_GROUP_MAX + 1];
	int okta_group_only;
	char known_gid[OKTA_ID_MAX + 1]; /* what the name stood for before, or "" */
};

struct last_gid {
	const char *name;
	char gid[OKTA_ID_MAX + 1];
};

static int last_gid_cb(const struct grant *g, void *p)
{
	struct last_gid *l = p;

	if (strcmp(g->grp, l->name) != 0 || !okta_valid_id(g->group_id))
		return 0;
	ojit_strlcpy(l->gid, g->group_id, sizeof(l->gid));
	return 1;
}

/* Issue 20 item 3: a gated name Okta no longer knows, and the id it stood
 * for (this daemon's own resolution; after a restart, the newest grant
 * row's, from a local SQLite ledger only: a shared ledger's rows could be
 * written by any host, and a forged id must never become a gated group).
 * Asked by id: an OKTA_GROUP still, under another name: renamed, the id
 * keeps serving (rc 0, og set); gone (404) or of another type: gone_code
 * and gone_why say so. -1: Okta could not be asked (err). */
static int group_id_renamed(struct group_id_fetch *f, struct okta_group *og, char *gone_code, size_t gcn,
			    char *gone_why, size_t gwn, struct okta_error *err)
{
	struct okta_error e;
	struct last_gid l = { f->name, "" };

	gone_code[0] = gone_why[0] = '\0';
	if (f->known_gid[0] == '\0' && !f->d->ledger_shared) {
		/* newest first; a bounded look back */
		ledger_grant_list(f->d->ledger, NULL, "", 10000, last_gid_cb, &l);
		ojit_strlcpy(f->known_gid, l.gid, sizeof(f->known_gid));
	}
	if (f->known_gid[0] == '\0')
		return 1; /* never known: no such group */
	memset(&e, 0, sizeof(e));
	if (okta_group_get(f->d->okta, f->known_gid, og, &e) != 0) {
		if (e.kind != OKTA_ERR_NOT_FOUND) {
			*err = e;
			return -1;
		}
		ojit_strlcpy(gone_code, "group_deleted", gcn);
		(void)ojit_snprintf(gone_why, gwn, "Okta group '%s' (id %s) was deleted in Okta", f->name, f->known_gid);
		return 1;
	}
	if (strcmp(og->id, f->known_gid) != 0) {
		ojit_strlcpy(gone_code, "group_deleted", gcn);
		(void)ojit_snprintf(gone_why, gwn, "Okta answered for group id %s with another group", f->known_gid);
		return 1;
	}
	if (strcmp(og->type, "OKTA_GROUP") != 0) {
		ojit_strlcpy(gone_code, "group_wrong_type", gcn);
		(void)ojit_snprintf(gone_why, gwn, "Okta group '%s' (id %s) is of type %s now: okta-jit gates and grants only "
			 "OKTA_GROUPs", f->name, f->known_gid, og->type);
		return 1;
	}
	return 0;
}

static void group_id_job(void *p)
{
	struct group_id_fetch *f = p;
	struct check_cache *c = f->d->cache;
	struct group_id *g = f->g;
	struct okta_group og;
	struct okta_error err;
	char gone_code[32] = "", gone_why[256] = "";
	int rc, renamed = 0;

	memset(&err, 0, sizeof(err));
	memset(&og, 0, sizeof(og));
	rc = okta_group_find_type(f->d->okta, f->name, f->okta_group_only ? "OKTA_GROUP" : NULL, &og, &err);
	if (rc != 0 && err.kind == OKTA_ERR_NOT_FOUND && f->okta_group_only) {
		struct okta_error e2;
		struct okta_group og2;
		int r2;

		memset(&e2, 0, sizeof(e2));
		r2 = group_id_renamed(f, &og2, gone_code, sizeof(gone_code), gone_why, sizeof(gone_why), &e2);
		ojit_strip_controls(gone_why); /* Okta's text (a type) reaches the PAM prompt */
		if (r2 == 0) {
			rc = 0;
			og = og2;
			renamed = 1;
			memset(&err, 0, sizeof(err));
		} else if (r2 < 0) {
			err = e2; /* Okta away: the old answer stands */
		} else if (gone_code[0] != '\0') {
			ojit_strlcpy(err.code, gone_code, sizeof(err.code));
			ojit_strlcpy(err.summary, gone_why, sizeof(err.summary));
		}
	}
	pthread_mutex_lock(&c->lock);
	if (rc == 0 || err.kind == OKTA_ERR_NOT_FOUND || err.kind == OKTA_ERR_AMBIGUOUS ||
	    err.kind == OKTA_ERR_REFUSED) {
		/* Okta's word: an id, or no such group, or several */
		if (rc == 0) {
			ojit_strlcpy(g->gid, og.id, sizeof(g->gid));
			ojit_strlcpy(g->known_gid, og.id, sizeof(g->known_gid));
		} else {
			g->gid[0] = '\0';
		}
		if (renamed && strcmp(g->renamed_to, og.name) != 0)
			ojit_log(LOG_WARNING, "Okta group '%s' (id %s) was renamed in Okta to '%s'; okta-jitd keeps "
				 "gating it by its id. Fix: name it '%s' in the flow (see `okta-jit doctor`)", g->name,
				 og.id, og.name, og.name);
		ojit_strlcpy(g->renamed_to, renamed ? og.name : "", sizeof(g->renamed_to));
		if (gone_code[0] != '\0' && strcmp(g->gone_code, gone_code) != 0)
			ojit_log(LOG_ERR, "%s; its checks are refused (see `okta-jit doctor`)", gone_why);
		ojit_strlcpy(g->gone_code, gone_code, sizeof(g->gone_code));
		ojit_strlcpy(g->gone_why, gone_why, sizeof(g->gone_why));
		if (rc != 0 && err.kind == OKTA_ERR_AMBIGUOUS)
			ojit_log(LOG_ERR, "configuration error: %s", err.summary);
		g->err = err;
		g->have = 1;
		g->failing = 0;
		g->fetched_at = ojit_now();
	} else {
		/* what was resolved before stands in while Okta is away */
		g->err = err;
		g->failing = 1;
		g->retry_at = ojit_now() + ROSTER_RETRY_SECONDS;
	}
	g->fetching = 0;
	c->refreshing--;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	free(f);
}

/* Resolve g in the background (the lock is held; g->fetching is 0). */
static int group_id_refresh_async(struct jitd *d, struct group_id *g)
{
	struct group_id_fetch *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	f->d = d;
	f->g = g;
	ojit_strlcpy(f->name, g->name, sizeof(f->name));
	f->okta_group_only = g->okta_group_only;
	ojit_strlcpy(f->known_gid, g->known_gid, sizeof(f->known_gid));
	g->fetching = 1;
	d->cache->refreshing++;
	if (fetch_pool_run(d->cache->pool, group_id_job, f) != 0) {
		g->fetching = 0;
		d->cache->refreshing--;
		free(f);
		return -1;
	}
	return 0;
}

/* A new entry for name, if it may take one (the lock is held). */
static struct group_id *group_id_add(struct jitd *d, const char *name, int okta_group_only, int may_add,
				     struct okta_error *err)
{
	struct check_cache *c = d->cache;
	struct group_id *g;

	/* An unprivileged caller's name that no flow uses takes no slot and
	 * costs no Okta call. */
	if (!may_add && !config_names_group(d->cfg, name)) {
		err->kind = OKTA_ERR_REFUSED;
		snprintf(err->summary, sizeof(err->summary),
			 "group '%s' is in no access flow of this host and no login here has been checked against it", name);
		return NULL;
	}
	if (c->ngids >= GROUP_IDS_MAX) {
		err->kind = OKTA_ERR_INTERNAL;
		snprintf(err->summary, sizeof(err->summary), "more than %d group names in use", GROUP_IDS_MAX);
		return NULL;
	}
	g = calloc(1, sizeof(*g));
	if (g == NULL) {
		err->kind = OKTA_ERR_INTERNAL;
		ojit_strlcpy(err->summary, "out of memory", sizeof(err->summary));
		return NULL;
	}
	ojit_strlcpy(g->name, name, sizeof(g->name));
	g->okta_group_only = okta_group_only;
	g->next = c->gids;
	c->gids = g;
	c->ngids++;
	return g;
}

int check_group_id(struct jitd *d, const char *name, int okta_group_only, int may_add,
		   const struct timespec *deadline, char *gid, size_t n, struct okta_error *err)
{
	struct check_cache *c = d->cache;
	struct timespec until;
	struct group_id *g;
	int64_t now = ojit_now();
	int r = -1;

	memset(err, 0, sizeof(*err));
	if (gid != NULL && n > 0)
		gid[0] = '\0';
	if (name == NULL || !jitd_valid_groupname(name)) {
		err->kind = OKTA_ERR_REFUSED;
		ojit_strlcpy(err->summary, "not a valid group name", sizeof(err->summary));
		return -1;
	}
	if (d->okta == NULL) {
		/* a gate holds no Okta credential: it never asks Okta */
		err->kind = OKTA_ERR_REFUSED;
		ojit_strlcpy(err->summary, "this host holds no Okta credential (role = gate)", sizeof(err->summary));
		return -1;
	}
	if (deadline == NULL) {
		check_deadline_in(&until, DECIDE_WAIT_MS);
		deadline = &until;
	}
	pthread_mutex_lock(&c->lock);
	for (g = c->gids; g != NULL; g = g->next)
		if (g->okta_group_only == okta_group_only && strcmp(g->name, name) == 0)
			break;
	if (g == NULL)
		g = group_id_add(d, name, okta_group_only, may_add, err);
	if (g == NULL)
		goto out;
	/* Stale: resolved again in the background while the old answer
	 * serves (ids do not change; a rename is seen within cache_ttl). */
	if (!(g->have && now - g->fetched_at < d->cfg->cache_ttl) && !g->fetching && now >= g->retry_at)
		group_id_refresh_async(d, g);
	if (!g->have)
		while (g->fetching)
			if (pthread_cond_timedwait(&c->cond, &c->lock, deadline) != 0)
				break;
	if (!g->have) {
		if (g->fetching) {
			err->kind = OKTA_ERR_TIMEOUT;
			snprintf(err->summary, sizeof(err->summary), "Okta did not answer in time for group '%s'", name);
		} else {
			*err = g->err;
			if (err->kind == OKTA_OK) {
				err->kind = OKTA_ERR_INTERNAL;
				snprintf(err->summary, sizeof(err->summary), "group '%s' could not be looked up", name);
			}
		}
		goto out;
	}
	if (g->gid[0] == '\0') {
		*err = g->err;
		goto out;
	}
	if (gid != NULL)
		ojit_strlcpy(gid, g->gid, n);
	r = 0;
out:
	pthread_mutex_unlock(&c->lock);
	return r;
}

int check_group_gone(struct jitd *d, const char *name, char *code, size_t cn, char *why, size_t wn)
{
	struct check_cache *c = d->cache;
	struct group_id *g;
	int r = 0;

	if (c == NULL)
		return 0;
	pthread_mutex_lock(&c->lock);
	for (g = c->gids; g != NULL; g = g->next)
		if (g->okta_group_only && strcmp(g->name, name) == 0)
			break;
	if (g != NULL && g->gone_code[0] != '\0') {
		ojit_strlcpy(code, g->gone_code, cn);
		ojit_strlcpy(why, g->gone_why, wn);
		r = 1;
	}
	pthread_mutex_unlock(&c->lock);
	return r;
}

void check_group_note_gone(struct jitd *d, const char *name, const char *gid, const char *code, const char *why)
{
	struct check_cache *c = d->cache;
	struct group_id *g;

	if (c == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	for (g = c->gids; g != NULL; g = g->next)
		if (g->okta_group_only && strcmp(g->name, name) == 0)
			break;
	/* only for the id the name stands for (or stood for) here */
	if (g != NULL && (strcmp(g->gid, gid) == 0 || strcmp(g->known_gid, gid) == 0)) {
		ojit_strlcpy(g->known_gid, gid, sizeof(g->known_gid));
		g->gid[0] = '\0';
		ojit_strlcpy(g->gone_code, code, sizeof(g->gone_code));
		ojit_strlcpy(g->gone_why, why, sizeof(g->gone_why));
		memset(&g->err, 0, sizeof(g->err));
		g->err.kind = OKTA_ERR_NOT_FOUND;
		ojit_strlcpy(g->err.code, code, sizeof(g->err.code));
		ojit_strlcpy(g->err.summary, why, sizeof(g->err.summary));
		g->have = 1;
		g->fetched_at = ojit_now();
	}
	pthread_mutex_unlock(&c->lock);
}

void check_cache_warm(struct jitd *d)
{
	struct okta_error err;
	struct timespec now;
	size_t i, j;

	if (d->okta == NULL)
		return; /* a gate holds no Okta credential */
	/* resolve every configured name in the background: no wait */
	clock_gettime(CLOCK_REALTIME, &now);
	for (i = 0; i < d->cfg->nflows; i++) {
		for (j = 0; j < d->cfg->flows[i].ngroups; j++)
			check_group_id(d, d->cfg->flows[i].groups[j], 1, 1, &now, NULL, 0, &err);
		for (j = 0; j < d->cfg->flows[i].nrequesters; j++)
			check_group_id(d, d->cfg->flows[i].requesters[j], 0, 1, &now, NULL, 0, &err);
	}
	if (d->cfg->owner != NULL && strncmp(d->cfg->owner, "group:", 6) == 0)
		check_group_id(d, d->cfg->owner + 6, 0, 1, &now, NULL, 0, &err);
}

/* dst = a copy of src. */
static int owners_copy(struct okta_owner_list *dst, const struct okta_owner_list *src)
{
	memset(dst, 0, sizeof(*dst));
	if (src->n == 0)
		return 0;
	dst->v = malloc(src->n * sizeof(*dst->v));
	if (dst->v == NULL)
		return -1;
	memcpy(dst->v, src->v, src->n * sizeof(*dst->v));
	dst->n = dst->cap = src->n;
	return 0;
}

int check_group_owners(struct jitd *d, const char *gid, struct okta_owner_list *out, struct okta_error *err)
{
	struct check_cache *c = d->cache;
	struct okta_owner_list l = { 0 };
	struct owners_entry *o;
	int64_t now = ojit_now();

	memset(out, 0, sizeof(*out));
	if (d->okta == NULL) {
		err->kind = OKTA_ERR_REFUSED;
		ojit_strlcpy(err->summary, "this host holds no Okta credential (role = gate)", sizeof(err->summary));
		return -1;
	}
	pthread_mutex_lock(&c->lock);
	for (o = c->owners; o != NULL; o = o->next)
		if (strcmp(o->gid, gid) == 0)
			break;
	if (o != NULL && o->fetched_at > 0 && now - o->fetched_at < d->cfg->cache_ttl) {
		int rc = owners_copy(out, &o->ol);

		pthread_mutex_unlock(&c->lock);
		if (rc != 0) {
			err->kind = OKTA_ERR_INTERNAL;
			ojit_strlcpy(err->summary, "out of memory", sizeof(err->summary));
		}
		return rc;
	}
	pthread_mutex_unlock(&c->lock);
	if (okta_group_owners(d->okta, gid, &l, err) != 0) {
		okta_owner_list_free(&l);
		return -1;
	}
	pthread_mutex_lock(&c->lock);
	for (o = c->owners; o != NULL; o = o->next)
		if (strcmp(o->gid, gid) == 0)
			break;
	if (o == NULL && c->nowners < OWNERS_MAX && okta_valid_id(gid) && (o = calloc(1, sizeof(*o))) != NULL) {
		ojit_strlcpy(o->gid, gid, sizeof(o->gid));
		o->next = c->owners;
		c->owners = o;
		c->nowners++;
	}
	if (o != NULL) {
		okta_owner_list_free(&o->ol);
		o->fetched_at = owners_copy(&o->ol, &l) == 0 ? now : 0;
	}
	pthread_mutex_unlock(&c->lock);
	*out = l;
	return 0;
}
