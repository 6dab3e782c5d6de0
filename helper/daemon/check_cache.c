/* check_cache.c - what Okta says about users, cached for the check (the
 * decision is check_decide.c, group ids and owners check_groups.c).
 *
 * Does this user pass for one of these groups, now?
 *
 * allow iff the Okta user mapped from the local user is ACTIVE, is a member
 * of the group and - for groups a flow makes time-bound - holds an active
 * grant whose end is after now. The grant comes from the ledger on every
 * check (so no cached answer outlives a grant's end); what Okta says about
 * the user is cached per user for cache_ttl, fetched by one caller at a
 * time, and during an Okta outage used for at most outage_grace.
 *
 * On a granter, each gated group's member list (its roster: the logins of
 * its ACTIVE members) is also fetched, one paged call per group per
 * cache_ttl, under the same rules. A login on a fresh roster passes
 * without any per-user call; the roster never refuses: a login it lacks
 * is decided by the per-user answer, which also words every refusal. */
#include "check_cache.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include "duration.h"
#include "pool.h"
#include "util.h"

unsigned check_hash(const char *s)
{
	unsigned h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h % CACHE_BUCKETS;
}

int check_within_bound(const struct jitd *d, int64_t asked_ms)
{
	return ojit_mono_ms() - asked_ms < config_stale_bound(d->cfg) * 1000;
}

static int ascii_lower(int ch)
{
	return ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch;
}

static unsigned login_hash(const char *s)
{
	unsigned h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)ascii_lower(*s++)) * 16777619u;
	return h;
}

static void roster_slots_free(char **slots, size_t cap)
{
	size_t i;

	for (i = 0; slots != NULL && i < cap; i++)
		free(slots[i]);
	free(slots);
}

/* The slot holding login, or the empty one where it would go. */
static char **roster_slot(char **slots, size_t cap, const char *login)
{
	size_t i = login_hash(login) & (cap - 1);

	while (slots[i] != NULL && strcasecmp(slots[i], login) != 0)
		i = (i + 1) & (cap - 1);
	return &slots[i];
}

static int roster_has(const struct roster *r, const char *login)
{
	return r->cap > 0 && *roster_slot(r->slots, r->cap, login) != NULL;
}

/* A member set being built from Okta's pages. */
struct roster_build {
	char **slots;
	size_t cap, n;
	int oom;
};

static int roster_build_add(const struct okta_user *u, void *p)
{
	struct roster_build *b = p;
	char **at, *l;
	size_t i;

	if (strcmp(u->status, "ACTIVE") != 0 || u->login[0] == '\0')
		return 0; /* only ACTIVE members pass; the rest ask per user */
	if (2 * (b->n + 1) > b->cap) {
		size_t ncap = b->cap ? 2 * b->cap : 64;
		char **ns = calloc(ncap, sizeof(*ns));

		if (ns == NULL) {
			b->oom = 1;
			return -1;
		}
		for (i = 0; i < b->cap; i++)
			if (b->slots[i] != NULL)
				*roster_slot(ns, ncap, b->slots[i]) = b->slots[i];
		free(b->slots);
		b->slots = ns;
		b->cap = ncap;
	}
	at = roster_slot(b->slots, b->cap, u->login);
	if (*at != NULL)
		return 0;
	if ((l = strdup(u->login)) == NULL) {
		b->oom = 1;
		return -1;
	}
	for (i = 0; l[i] != '\0'; i++)
		l[i] = ascii_lower(l[i]);
	*at = l;
	b->n++;
	return 0;
}

/* Take login out of r's set (the lock is held): back-shift deletion. */
static void roster_remove(struct roster *r, const char *login)
{
	size_t i, j, k;

	if (r->cap == 0)
		return;
	i = (size_t)(roster_slot(r->slots, r->cap, login) - r->slots);
	if (r->slots[i] == NULL)
		return;
	free(r->slots[i]);
	r->slots[i] = NULL;
	r->n--;
	for (j = (i + 1) & (r->cap - 1); r->slots[j] != NULL; j = (j + 1) & (r->cap - 1)) {
		k = login_hash(r->slots[j]) & (r->cap - 1);
		/* move slots[j] into the hole at i unless its home k lies in (i, j] */
		if ((j > i && (k <= i || k > j)) || (j < i && k <= i && k > j)) {
			r->slots[i] = r->slots[j];
			r->slots[j] = NULL;
			i = j;
		}
	}
}

struct check_cache *check_cache_new(size_t max_entries)
{
	struct check_cache *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->pool = fetch_pool_new(FETCH_THREADS, FETCH_STACK);
	if (c->pool == NULL) {
		free(c);
		return NULL;
	}
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	c->max = max_entries;
	return c;
}

int check_cache_free(struct check_cache *c)
{
	size_t i;
	int busy, waited;

	if (c == NULL)
		return 0;
	/* A background refresh still holds an entry: give it a moment, and
	 * if Okta keeps it busy leave the memory to the exiting process. */
	for (waited = 0; waited < 50; waited++) {
		pthread_mutex_lock(&c->lock);
		busy = c->refreshing;
		pthread_mutex_unlock(&c->lock);
		if (!busy)
			break;
		ojit_sleep_ms(100);
	}
	if (busy)
		return -1;
	fetch_pool_free(c->pool); /* idle threads end and are joined */
	for (i = 0; i < CACHE_BUCKETS; i++) {
		struct user_entry *e = c->buckets[i], *n;
		struct ledger_memo *m = c->memos[i], *mn;

		for (; e != NULL; e = n) {
			n = e->next;
			free(e->groups);
			free(e);
		}
		for (; m != NULL; m = mn) {
			mn = m->next;
			free(m);
		}
	}
	while (c->rosters != NULL) {
		struct roster *r = c->rosters;

		c->rosters = r->next;
		roster_slots_free(r->slots, r->cap);
		free(r);
	}
	while (c->gids != NULL) {
		struct group_id *g = c->gids;

		c->gids = g->next;
		free(g);
	}
	while (c->owners != NULL) {
		struct owners_entry *o = c->owners;

		c->owners = o->next;
		okta_owner_list_free(&o->ol);
		free(o);
	}
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
	free(c);
	return 0;
}

size_t check_cache_size(struct check_cache *c)
{
	size_t n;

	pthread_mutex_lock(&c->lock);
	n = c->n;
	pthread_mutex_unlock(&c->lock);
	return n;
}

static struct user_entry *find(struct check_cache *c, const char *user)
{
	struct user_entry *e;

	for (e = c->buckets[check_hash(user)]; e != NULL; e = e->next)
		if (strcmp(e->user, user) == 0)
			return e;
	return NULL;
}

/* Add or take one line (a group id, or "=NAME") out of e's groups (the
 * lock is held). */
static void apply_line(struct user_entry *e, const char *group, int member)
{
	char needle[LEDGER_GROUP_MAX + 4];
	char *at, *n;
	size_t len;

	if (e->groups == NULL)
		return;
	snprintf(needle, sizeof(needle), "\n%s\n", group);
	at = strstr(e->groups, needle);
	if (member && at == NULL) {
		len = strlen(e->groups);
		n = realloc(e->groups, len + strlen(group) + 2);
		if (n == NULL) {
			e->fetched_at = 0; /* cannot record it: ask Okta */
			return;
		}
		snprintf(n + len, strlen(group) + 2, "%s\n", group);
		e->groups = n;
	} else if (!member && at != NULL) {
		len = strlen(needle) - 1; /* keep one "\n" */
		memmove(at, at + len, strlen(at + len) + 1);
	}
}

static void apply_member(struct user_entry *e, const char *gid, const char *name, int member)
{
	char line[LEDGER_GROUP_MAX + 2];

	apply_line(e, gid, member);
	snprintf(line, sizeof(line), "=%s", name);
	apply_line(e, line, member);
}

/* okta-jitd itself just added user to group (member = 1) or removed it,
 * and Okta confirmed: update the cached answer rather than drop it, so
 * the user passes at once and no Okta call is spent to learn it. */
void check_cache_note_member(struct check_cache *c, const char *user, const char *login, const char *group,
			     const char *gid, int member)
{
	struct user_entry *e;
	struct roster *r;

	pthread_mutex_lock(&c->lock);
	/* A roster only ever lets in: an addition waits for its next fetch
	 * (the per-user answer serves until then), a removal is applied now. */
	for (r = c->rosters; r != NULL && !member; r = r->next)
		if (strcmp(r->group, group) == 0) {
			roster_remove(r, login);
			if (r->fetching)
				r->dirty = 1;
		}
	e = find(c, user);
	if (e != NULL) {
		if (e->have && e->groups != NULL && okta_valid_id(gid))
			apply_member(e, gid, group, member);
		else if (e->have && e->groups != NULL)
			e->fetched_at = 0; /* no id to note: ask again */
		else if (e->have)
			e->fetched_at = 0; /* not ACTIVE or not found when asked: ask again */
		if (e->fetching) {
			if (e->notes == 0) {
				e->notes = 1;
				e->note_member = member;
				ojit_strlcpy(e->note_group, gid, sizeof(e->note_group));
				ojit_strlcpy(e->note_name, group, sizeof(e->note_name));
			} else {
				e->notes = 2;
			}
		}
	}
	pthread_mutex_unlock(&c->lock);
}

struct user_call {
	struct jitd *d;
	const char *login;
	struct okta_user u;
	struct okta_error err;
	int rc;
};

static void user_call(void *p)
{
	struct user_call *uc = p;

	uc->rc = okta_user_get(uc->d->okta, uc->login, &uc->u, &uc->err);
}

static void *user_call_thread(void *p)
{
	user_call(p);
	return NULL;
}

/* Fetch status and groups from Okta into tmp (called without the lock).
 * The user and their groups are asked at the same time, both by login,
 * so a cold check costs one round trip rather than two; the groups are
 * used only when the user, matched by exact login, is ACTIVE. */
static int fetch_user(struct jitd *d, const char *login, struct user_entry *tmp, struct okta_error *err)
{
	struct user_call uc;
	struct okta_group_list l = { 0 };
	struct okta_error gerr;
	struct fetch_call call = { user_call, NULL, 0 };
	pthread_attr_t attr;
	struct ojit_buf b;
	pthread_t t;
	int pooled = 0, threaded = 0, grc;
	size_t i;

	memset(tmp, 0, sizeof(*tmp));
	memset(&uc, 0, sizeof(uc));
	memset(&gerr, 0, sizeof(gerr));
	if (d->okta == NULL) {
		/* a gate holds no Okta credential: it never asks Okta */
		memset(err, 0, sizeof(*err));
		err->kind = OKTA_ERR_REFUSED;
		ojit_strlcpy(err->summary, "this host holds no Okta credential (role = gate)", sizeof(err->summary));
		return -1;
	}
	uc.d = d;
	uc.login = login;
	call.arg = &uc;
	/* beside this call: on an idle pool thread, else a thread of its own */
	pooled = fetch_pool_call(d->cache->pool, &call) == 0;
	if (!pooled) {
		pthread_attr_init(&attr);
		pthread_attr_setstacksize(&attr, FETCH_STACK);
		threaded = pthread_create(&t, &attr, user_call_thread, &uc) == 0;
		pthread_attr_destroy(&attr);
		if (!threaded)
			user_call(&uc);
	}
	grc = okta_user_groups_by_login(d->okta, login, &l, &gerr);
	if (pooled)
		fetch_pool_wait(d->cache->pool, &call);
	if (threaded)
		pthread_join(t, NULL);
	if (uc.rc != 0) {
		okta_group_list_free(&l);
		*err = uc.err;
		if (err->kind == OKTA_ERR_NOT_FOUND) {
			tmp->not_found = 1;
			return 0;
		}
		return -1;
	}
	ojit_strlcpy(tmp->status, uc.u.status, sizeof(tmp->status));
	ojit_strlcpy(tmp->uid, uc.u.id, sizeof(tmp->uid));
	ojit_strlcpy(tmp->login, uc.u.login, sizeof(tmp->login));
	if (strcmp(uc.u.status, "ACTIVE") != 0) {
		okta_group_list_free(&l);
		return 0; /* groups do not matter for a user who cannot pass */
	}
	if (grc != 0 && gerr.kind == OKTA_ERR_REFUSED) {
		/* a login that cannot be a path: ask by id */
		okta_group_list_free(&l);
		memset(&l, 0, sizeof(l));
		grc = okta_user_groups(d->okta, uc.u.id, &l, &gerr);
	}
	if (grc != 0) {
		okta_group_list_free(&l);
		*err = gerr;
		return -1;
	}
	ojit_buf_init(&b, 0);
	ojit_buf_append(&b, "\n", 1);
	for (i = 0; i < l.n; i++) {
		ojit_buf_printf(&b, "%s\n", l.v[i].id);
		/* (a name with a line break could forge a line: left out) */
		if (strcmp(l.v[i].type, "OKTA_GROUP") == 0 && strpbrk(l.v[i].name, "\n\r") == NULL)
			ojit_buf_printf(&b, "=%s\n", l.v[i].name);
	}
	okta_group_list_free(&l);
	if (b.data == NULL) {
		ojit_buf_free(&b);
		err->kind = OKTA_ERR_INTERNAL;
		ojit_strlcpy(err->summary, "out of memory", sizeof(err->summary));
		return -1;
	}
	tmp->groups = b.data;
	return 0;
}

struct refresh {
	struct jitd *d;
	struct user_entry *e;
	char login[OKTA_LOGIN_MAX + 1];
};

/* began, began_ms: when the fetch began. Its answer may be as old as
 * that (Okta may have changed since), so its age counts from then. */
static void store(struct user_entry *e, struct user_entry *tmp, int64_t began, int64_t began_ms)
{
	free(e->groups);
	e->groups = tmp->groups;
	tmp->groups = NULL;
	e->have = 1;
	e->fetched_at = began;
	e->asked_ms = began_ms;
	e->not_found = tmp->not_found;
	ojit_strlcpy(e->status, tmp->status, sizeof(e->status));
	ojit_strlcpy(e->uid, tmp->uid, sizeof(e->uid));
	ojit_strlcpy(e->login, tmp->login, sizeof(e->login));
}

static void refresh_job(void *p)
{
	struct refresh *r = p;
	struct check_cache *c = r->d->cache;
	struct user_entry tmp;
	struct okta_error err;
	int64_t began = ojit_now(), began_ms = ojit_mono_ms();
	int rc = fetch_user(r->d, r->login, &tmp, &err);

	pthread_mutex_lock(&c->lock);
	if (rc == 0) {
		store(r->e, &tmp, began, began_ms);
		if (r->e->notes == 1)
			apply_member(r->e, r->e->note_group, r->e->note_name, r->e->note_member);
		else if (r->e->notes == 2)
			r->e->fetched_at = 0;
	} else {
		r->e->err = err;
	}
	r->e->notes = 0;
	r->e->failing = rc != 0;
	r->e->fetching = 0;
	c->refreshing--;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	free(tmp.groups);
	free(r);
}

/* Refresh e in the background (the lock is held; e->fetching is 0).
 * Returns 0 when a refresh is under way. */
static int refresh_async(struct jitd *d, struct user_entry *e, const char *login)
{
	struct refresh *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return -1;
	r->d = d;
	r->e = e;
	ojit_strlcpy(r->login, login, sizeof(r->login));
	e->fetching = 1;
	d->cache->refreshing++;
	if (fetch_pool_run(d->cache->pool, refresh_job, r) != 0) {
		e->fetching = 0;
		d->cache->refreshing--;
		free(r);
		return -1;
	}
	return 0;
}

struct roster_fetch {
	struct jitd *d;
	struct roster *r;
	char group[LEDGER_GROUP_MAX + 1];
	char gid[OKTA_ID_MAX + 1];
};

static void roster_job(void *p)
{
	struct roster_fetch *f = p;
	struct check_cache *c = f->d->cache;
	struct roster *r = f->r;
	struct roster_build b = { 0 };
	struct okta_error err;
	int64_t began = ojit_now(), began_ms = ojit_mono_ms();
	int rc;

	memset(&err, 0, sizeof(err));
	/* (the id is the one check_group_id resolved: never found by name here) */
	rc = okta_group_members_each(f->d->okta, f->gid, ROSTER_MAX_MEMBERS, roster_build_add, &b, &err);
	pthread_mutex_lock(&c->lock);
	if (rc == 0 && !b.oom) {
		ojit_strlcpy(r->gid, f->gid, sizeof(r->gid));
		if (!r->dirty) {
			/* (a removal during the fetch: keep the older set, which
			 * has it applied, and ask again when that one is stale) */
			roster_slots_free(r->slots, r->cap);
			r->slots = b.slots;
			r->cap = b.cap;
			r->n = b.n;
			b.slots = NULL;
			r->have = 1;
			r->fetched_at = began;
			r->asked_ms = began_ms;
		}
		r->failing = 0;
	} else if (b.oom || err.kind == OKTA_ERR_REFUSED || err.kind == OKTA_ERR_NOT_FOUND ||
		   err.kind == OKTA_ERR_AMBIGUOUS || err.kind == OKTA_ERR_FORBIDDEN || err.kind == OKTA_ERR_SCOPE) {
		/* too large, no such group, or not ours to list: the users are
		 * asked one by one, and the group looked at again later */
		roster_slots_free(r->slots, r->cap);
		r->slots = NULL;
		r->cap = r->n = 0;
		r->have = 0;
		r->unusable_until = ojit_now() + f->d->cfg->cache_ttl;
		ojit_log(LOG_INFO, "group '%s' is not listed (%s): its users are asked one by one", r->group,
			 b.oom ? "out of memory" : err.summary);
	} else {
		/* Okta unreachable, slow or garbled: what the roster knew stands
		 * in within outage_grace; ask again in a few seconds, not at every
		 * check (a list may be many pages) */
		r->failing = 1;
		r->retry_at = ojit_now() + ROSTER_RETRY_SECONDS;
	}
	r->dirty = 0;
	r->fetching = 0;
	c->refreshing--;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	roster_slots_free(b.slots, b.cap);
	free(f);
}

/* Fetch r in the background (the lock is held; r->fetching is 0). */
static int roster_refresh_async(struct jitd *d, struct roster *r)
{
	struct roster_fetch *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	f->d = d;
	f->r = r;
	ojit_strlcpy(f->group, r->group, sizeof(f->group));
	ojit_strlcpy(f->gid, r->gid, sizeof(f->gid));
	r->fetching = 1;
	d->cache->refreshing++;
	if (fetch_pool_run(d->cache->pool, roster_job, f) != 0) {
		r->fetching = 0;
		d->cache->refreshing--;
		free(f);
		return -1;
	}
	return 0;
}

void check_deadline_in(struct timespec *deadline, int ms)
{
	clock_gettime(CLOCK_REALTIME, deadline);
	deadline->tv_sec += ms / 1000;
	deadline->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (deadline->tv_nsec >= 1000000000L) {
		deadline->tv_sec++;
		deadline->tv_nsec -= 1000000000L;
	}
}

/* Does group's roster let login (local user) in? 1 yes (*from_grace set
 * when the roster is stale and Okta failing), 0 ask per user. Fetches a
 * missing or stale roster in the background and, when none is usable,
 * waits for it until deadline. A per-user answer fresher than the roster
 * is the one that counts. */
int check_roster_allows(struct jitd *d, const char *group, const char *gid, const char *user, const char *login,
			 const struct timespec *deadline, int *from_grace, int64_t *fresh_until)
{
	struct check_cache *c = d->cache;
	struct user_entry *e;
	struct roster *r;
	int64_t now = ojit_now(), ttl = d->cfg->cache_ttl;
	int ok = 0;

	*from_grace = 0;
	if (d->okta == NULL)
		return 0; /* a gate: no Okta credential */
	pthread_mutex_lock(&c->lock);
	for (r = c->rosters; r != NULL; r = r->next)
		if (strcmp(r->group, group) == 0)
			break;
	if (r == NULL && c->nrosters < ROSTER_MAX_GROUPS && (r = calloc(1, sizeof(*r))) != NULL) {
		ojit_strlcpy(r->group, group, sizeof(r->group));
		r->next = c->rosters;
		c->rosters = r;
		c->nrosters++;
	}
	if (r == NULL || r->unusable_until > now)
		goto out;
	if (strcmp(r->gid, gid) != 0) {
		/* The name now stands for another group: what was listed for
		 * the old one no longer counts. */
		if (r->fetching)
			goto out;
		roster_slots_free(r->slots, r->cap);
		r->slots = NULL;
		r->cap = r->n = 0;
		r->have = 0;
		r->unusable_until = 0;
		ojit_strlcpy(r->gid, gid, sizeof(r->gid));
	}
	if (!(r->have && now - r->fetched_at < ttl)) {
		/* After a failed fetch, the next waits ROSTER_RETRY_SECONDS while
		 * the old list stands in; with none usable, ask at once. */
		if (!r->fetching && (now >= r->retry_at || !(r->have && now - r->fetched_at < d->cfg->outage_grace)))
			roster_refresh_async(d, r);
		/* Stale but within outage_grace: use it while it is refreshed.
		 * None usable: wait for it, unless the user's own answer is
		 * fresh (a grant just made: that answer knows it). */
		e = find(c, user);
		if (e != NULL && e->have && now - e->fetched_at < ttl)
			goto out;
		if (!(r->have && now - r->fetched_at < d->cfg->outage_grace))
			while (r->fetching)
				if (pthread_cond_timedwait(&c->cond, &c->lock, deadline) != 0)
					break;
		now = ojit_now();
		if (!r->have || r->unusable_until > now ||
		    (now - r->fetched_at >= ttl && now - r->fetched_at >= d->cfg->outage_grace))
			goto out;
		/* Stale, with its refresh under way and Okta not known to fail:
		 * it serves only within cache_ttl + refresh_timeout of its
		 * fetch; past that the user's own answer decides (which waits
		 * for Okta, then follows the outage rules). */
		if (now - r->fetched_at >= ttl && !r->failing && !check_within_bound(d, r->asked_ms))
			goto out;
		*from_grace = r->failing && now - r->fetched_at >= ttl;
	}
	if (!roster_has(r, login))
		goto out;
	e = find(c, user);
	if (e != NULL && e->have && e->fetched_at > r->fetched_at)
		goto out;
	ok = 1;
	*fresh_until = *from_grace ? 0 : r->fetched_at + ttl;
out:
	pthread_mutex_unlock(&c->lock);
	return ok;
}

/* A new entry for user (the lock is held; room was checked). *//* A new entry for user (the lock is held; room was checked). */
static struct user_entry *new_entry(struct check_cache *c, const char *user)
{
	struct user_entry *e = calloc(1, sizeof(*e));

	if (e == NULL)
		return NULL;
	ojit_strlcpy(e->user, user, sizeof(e->user));
	e->next = c->buckets[check_hash(user)];
	c->buckets[check_hash(user)] = e;
	c->n++;
	return e;
}

/* jitd_hooks.member: okta-jitd changed user's membership (grants.c,
 * through jitd_member_changed). An add also fetches ahead. */
void check_cache_member_changed(struct jitd *d, const char *user, const char *login, const char *group,
				const char *gid, int member)
{
	if (d->cache == NULL)
		return;
	check_cache_note_member(d->cache, user, login, group, gid, member);
	if (member)
		check_cache_prefetch(d, user, login);
}

/* A grant was just made for user: unless a fresh answer is cached, ask
 * Okta now, in the background, so that the user's first login finds the
 * answer there rather than waiting for Okta. */
void check_cache_prefetch(struct jitd *d, const char *user, const char *login)
{
	struct check_cache *c = d->cache;
	struct user_entry *e;

	pthread_mutex_lock(&c->lock);
	e = find(c, user);
	if (e == NULL && c->n < c->max)
		e = new_entry(c, user);
	if (e != NULL && !e->fetching && !(e->have && ojit_now() - e->fetched_at < d->cfg->cache_ttl))
		refresh_async(d, e, login);
	pthread_mutex_unlock(&c->lock);
}

/* How long a check waits for Okta when no usable answer is cached: below
 * the PAM module's default timeout_ms (3 s), so the user hears okta-jit's
 * own "Okta is not answering" rather than a timeout. The fetch goes on in
 * the background and its answer serves the next check. */
/* CHECK_WAIT_MS from now, for pthread_cond_timedwait. */
void check_deadline(struct timespec *deadline)
{
	clock_gettime(CLOCK_REALTIME, deadline);
	deadline->tv_sec += CHECK_WAIT_MS / 1000;
	deadline->tv_nsec += (long)(CHECK_WAIT_MS % 1000) * 1000000L;
	if (deadline->tv_nsec >= 1000000000L) {
		deadline->tv_sec++;
		deadline->tv_nsec -= 1000000000L;
	}
}

/* Get what Okta says about user: fresh from the cache, or fetched in the
 * background (one fetch per user at a time, shared by all waiting
 * checks) and waited for at most CHECK_WAIT_MS, or stale within
 * outage_grace. A stale answer still within outage_grace is used at once
 * while a background refresh asks Okta: a slow, paced or hung Okta must
 * not hold a user at the gate past the PAM module's timeout.
 * Returns 0 with *out filled (caller frees out->groups), -1 unavailable. */
int check_user_info(struct jitd *d, const char *user, const char *login, int64_t max_age, struct user_entry *out,
		    int *from_grace, const struct timespec *deadline, struct okta_error *err)
{
	struct check_cache *c = d->cache;
	struct user_entry *e;
	int64_t now = ojit_now();

	*from_grace = 0;
	memset(err, 0, sizeof(*err));
	pthread_mutex_lock(&c->lock);
	e = find(c, user);
	if (e != NULL && e->have && now - e->fetched_at < max_age)
		goto hit;
	/* (asked for an answer fresher than cache_ttl: wait for it below) */
	if (e != NULL && e->have && e->fetched_at > 0 && now - e->fetched_at < d->cfg->outage_grace &&
	    max_age >= d->cfg->cache_ttl) {
		if (!e->fetching)
			refresh_async(d, e, login);
		*from_grace = e->failing;
		/* Okta failed: the outage rule (from grace). Otherwise one
		 * refresh is under way, and the answer it replaces serves only
		 * until cache_ttl + refresh_timeout after its own fetch began
		 * (issue 20: a suspension in Okta must not wait on a slow
		 * refresh); past that the check waits for the refresh below,
		 * and then follows the outage rules. */
		if (e->failing || check_within_bound(d, e->asked_ms))
			goto hit;
	}
	if (e == NULL) {
		if (c->n >= c->max) {
			pthread_mutex_unlock(&c->lock);
			/* Full: answer without caching rather than fail. */
			return fetch_user(d, login, out, err);
		}
		e = new_entry(c, user);
		if (e == NULL) {
			pthread_mutex_unlock(&c->lock);
			err->kind = OKTA_ERR_INTERNAL;
			ojit_strlcpy(err->summary, "out of memory", sizeof(err->summary));
			return -1;
		}
	}
	if (!e->fetching && refresh_async(d, e, login) != 0) {
		pthread_mutex_unlock(&c->lock);
		err->kind = OKTA_ERR_INTERNAL;
		ojit_strlcpy(err->summary, "cannot start a thread to ask Okta", sizeof(err->summary));
		return -1;
	}
	while (e->fetching)
		if (pthread_cond_timedwait(&c->cond, &c->lock, deadline) != 0)
			break;
	now = ojit_now();
	if (e->have && now - e->fetched_at < max_age && !e->failing)
		goto hit;
	/* Okta failed or is slow: a recent enough answer may stand in. */
	if (e->have && e->fetched_at > 0 && now - e->fetched_at < d->cfg->outage_grace) {
		*from_grace = e->failing || max_age >= d->cfg->cache_ttl;
		goto hit;
	}
	if (e->fetching) {
		err->kind = OKTA_ERR_TIMEOUT;
		snprintf(err->summary, sizeof(err->summary),
			 "Okta did not answer within %d ms (okta-jitd keeps asking; try again shortly)", CHECK_WAIT_MS);
	} else {
		*err = e->err;
	}
	pthread_mutex_unlock(&c->lock);
	return -1;
hit:
	*out = *e;
	out->next = NULL;
	out->groups = e->groups ? strdup(e->groups) : NULL;
	pthread_mutex_unlock(&c->lock);
	return 0;
}

/* Is the user in the group with Okta id gid? Ids only: a name says
 * nothing (an imported APP_GROUP may bear a gated group's name). */
int check_has_group(const struct user_entry *e, const char *gid)
{
	char needle[OKTA_ID_MAX + 3];

	if (e->groups == NULL || gid == NULL || !okta_valid_id(gid))
		return 0;
	snprintf(needle, sizeof(needle), "\n%s\n", gid);
	return strstr(e->groups, needle) != NULL;
}

/* A gate's fallback: is the user in an OKTA_GROUP of this exact name? */
int check_has_okta_group_named(const struct user_entry *e, const char *name)
{
	char needle[LEDGER_GROUP_MAX + 4];

	if (e->groups == NULL)
		return 0;
	snprintf(needle, sizeof(needle), "\n=%s\n", name);
	return strstr(e->groups, needle) != NULL;
}

int check_user_lookup(struct jitd *d, const char *user, const char *login, struct check_user *out,
		      struct okta_error *err)
{
	struct timespec deadline;
	struct user_entry e;
	int64_t ttl = d->cfg->cache_ttl, now;
	int grace = 0;

	memset(out, 0, sizeof(*out));
	memset(&e, 0, sizeof(e));
	check_deadline_in(&deadline, DECIDE_WAIT_MS);
	/* (asked a little fresher than cache_ttl, so that a stale answer is
	 * waited for rather than used while it is refreshed) */
	if (check_user_info(d, user, login, ttl > 1 ? ttl - 1 : 1, &e, &grace, &deadline, err) != 0)
		return -1;
	now = ojit_now();
	if (now - e.fetched_at > ttl) {
		/* older than cache_ttl (Okta slow or away): decisions that
		 * change access are not made on it */
		free(e.groups);
		if (e.failing && e.err.kind != OKTA_OK) {
			*err = e.err;
		} else {
			err->kind = OKTA_ERR_TIMEOUT;
			ojit_strlcpy(err->summary, "Okta did not answer in time", sizeof(err->summary));
		}
		return -1;
	}
	out->not_found = e.not_found;
	ojit_strlcpy(out->status, e.status, sizeof(out->status));
	ojit_strlcpy(out->id, e.uid, sizeof(out->id));
	ojit_strlcpy(out->login, e.login, sizeof(out->login));
	out->group_ids = e.groups;
	return 0;
}

int check_user_in_group(const struct check_user *u, const char *gid)
{
	char needle[OKTA_ID_MAX + 3];

	if (u->group_ids == NULL || gid == NULL || !okta_valid_id(gid))
		return 0;
	snprintf(needle, sizeof(needle), "\n%s\n", gid);
	return strstr(u->group_ids, needle) != NULL;
}

void check_user_free(struct check_user *u)
{
	free(u->group_ids);
	u->group_ids = NULL;
}
