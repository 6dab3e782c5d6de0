/* check.c - does this user pass for one of these groups, now?
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
#include "check.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include "duration.h"
#include "pool.h"
#include "util.h"

#define CACHE_BUCKETS 4096

/* Okta fetches run on the pool's threads (libcurl, OpenSSL, cJSON: well
 * under this much stack), not on 8 MiB default stacks; at most this many
 * at once, the rest queued. */
#define FETCH_STACK (512 * 1024)
#define FETCH_THREADS 32

struct user_entry {
	struct user_entry *next;
	char user[LEDGER_USER_MAX + 1];
	int fetching;
	int have;             /* a successful fetch happened */
	int64_t fetched_at;   /* wall clock of the last success */
	int not_found;
	int failing;          /* the last fetch from Okta failed */
	struct okta_error err; /* why, when failing */
	/* A membership change okta-jitd made while a fetch was in flight:
	 * re-applied to the fetched answer, which may predate it. */
	int notes;            /* 0, 1 (note_* below), 2 (too many: refetch) */
	int note_member;
	char note_group[OKTA_ID_MAX + 1];
	char note_name[LEDGER_GROUP_MAX + 1];
	char status[32];
	char uid[OKTA_ID_MAX + 1];
	char login[OKTA_LOGIN_MAX + 1]; /* the Okta user's own login */
	/* "\n"-separated Okta group ids, with leading and trailing "\n":
	 * ids, never names, since an APP_GROUP may bear a gated group's name.
	 * Also "=NAME" for each OKTA_GROUP among them: a gate (whose token
	 * cannot search groups) knows a standing group by name and type. */
	char *groups;
};

/* The last answer a shared (PostgreSQL) ledger gave for a user and group:
 * while the database is unreachable it stands in for up to outage_grace,
 * never past the grant's end. */
struct ledger_memo {
	struct ledger_memo *next;
	int found;
	struct grant_end ge;
	int64_t read_at;
	char key[LEDGER_USER_MAX + LEDGER_GROUP_MAX + 2]; /* user "\n" group */
};

/* Larger groups are not listed: their users are asked one by one. */
#define ROSTER_MAX_MEMBERS 50000
#define ROSTER_MAX_GROUPS 256
#define ROSTER_RETRY_SECONDS 5

struct roster {
	struct roster *next;
	char group[LEDGER_GROUP_MAX + 1];
	char gid[OKTA_ID_MAX + 1];
	int fetching;
	int have;               /* a successful fetch happened */
	int failing;            /* the last fetch failed (Okta unreachable) */
	int dirty;              /* a member was removed while a fetch ran */
	int64_t fetched_at;     /* wall clock when that fetch began */
	int64_t unusable_until; /* too large, unknown or not readable: per-user answers until then */
	int64_t retry_at;       /* after a failed fetch, the next one not before then */
	char **slots;           /* open addressing: lowercased logins of ACTIVE members */
	size_t cap, n;
};

/* A group name resolved to the one Okta group id it stands for: the one
 * OKTA_GROUP of that name for a gated or granted group, the one group of
 * any type for requesters and owner = group:NAME. Names come from the
 * configuration and from root's checks (the PAM module's group= lines),
 * never from an unprivileged caller, so the table stays small. */
#define GROUP_IDS_MAX 512

struct group_id {
	struct group_id *next;
	char name[LEDGER_GROUP_MAX + 1];
	int okta_group_only;
	int fetching;
	int have;              /* an answer came: gid, or err (not found, ambiguous) */
	int failing;           /* the last fetch failed (Okta unreachable) */
	int64_t fetched_at;
	int64_t retry_at;
	char gid[OKTA_ID_MAX + 1];
	struct okta_error err;
};

/* A group's owners as Okta last listed them (approver resolution). */
#define OWNERS_MAX 256

struct owners_entry {
	struct owners_entry *next;
	char gid[OKTA_ID_MAX + 1];
	int64_t fetched_at;
	struct okta_owner_list ol;
};

struct check_cache {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct user_entry *buckets[CACHE_BUCKETS];
	struct ledger_memo *memos[CACHE_BUCKETS];
	size_t nmemos;
	size_t n, max;
	int refreshing; /* background refreshes in flight */
	struct roster *rosters;
	size_t nrosters;
	struct group_id *gids;
	size_t ngids;
	struct owners_entry *owners;
	size_t nowners;
	struct fetch_pool *pool;
};

static unsigned hash(const char *s)
{
	unsigned h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h % CACHE_BUCKETS;
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

	for (e = c->buckets[hash(user)]; e != NULL; e = e->next)
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

static void store(struct user_entry *e, struct user_entry *tmp)
{
	free(e->groups);
	e->groups = tmp->groups;
	tmp->groups = NULL;
	e->have = 1;
	e->fetched_at = ojit_now();
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
	int rc = fetch_user(r->d, r->login, &tmp, &err);

	pthread_mutex_lock(&c->lock);
	if (rc == 0) {
		store(r->e, &tmp);
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
	int64_t began = ojit_now();
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
	}
	return 0;
}

struct group_id_fetch {
	struct jitd *d;
	struct group_id *g;
	char name[LEDGER_GROUP_MAX + 1];
	int okta_group_only;
};

static void group_id_job(void *p)
{
	struct group_id_fetch *f = p;
	struct check_cache *c = f->d->cache;
	struct group_id *g = f->g;
	struct okta_group og;
	struct okta_error err;
	int rc;

	memset(&err, 0, sizeof(err));
	memset(&og, 0, sizeof(og));
	rc = okta_group_find_type(f->d->okta, f->name, f->okta_group_only ? "OKTA_GROUP" : NULL, &og, &err);
	pthread_mutex_lock(&c->lock);
	if (rc == 0 || err.kind == OKTA_ERR_NOT_FOUND || err.kind == OKTA_ERR_AMBIGUOUS ||
	    err.kind == OKTA_ERR_REFUSED) {
		/* Okta's word: an id, or no such group, or several */
		if (rc == 0)
			ojit_strlcpy(g->gid, og.id, sizeof(g->gid));
		else
			g->gid[0] = '\0';
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

/* How long okta-jitd's own decisions (requests, approvals) wait for Okta. */
#define DECIDE_WAIT_MS 30000

static void deadline_in(struct timespec *deadline, int ms)
{
	clock_gettime(CLOCK_REALTIME, deadline);
	deadline->tv_sec += ms / 1000;
	deadline->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (deadline->tv_nsec >= 1000000000L) {
		deadline->tv_sec++;
		deadline->tv_nsec -= 1000000000L;
	}
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
	if (deadline == NULL) {
		deadline_in(&until, DECIDE_WAIT_MS);
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

void check_cache_warm(struct jitd *d)
{
	struct okta_error err;
	struct timespec now;
	size_t i, j;

	if (d->cfg->role_gate)
		return; /* a gate's token cannot search groups */
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

/* Does group's roster let login (local user) in? 1 yes (*from_grace set
 * when the roster is stale and Okta failing), 0 ask per user. Fetches a
 * missing or stale roster in the background and, when none is usable,
 * waits for it until deadline. A per-user answer fresher than the roster
 * is the one that counts. */
static int roster_allows(struct jitd *d, const char *group, const char *gid, const char *user, const char *login,
			 const struct timespec *deadline, int *from_grace, int64_t *fresh_until)
{
	struct check_cache *c = d->cache;
	struct user_entry *e;
	struct roster *r;
	int64_t now = ojit_now(), ttl = d->cfg->cache_ttl;
	int ok = 0;

	*from_grace = 0;
	if (d->cfg->role_gate)
		return 0; /* a gate's token reads users only */
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
	e->next = c->buckets[hash(user)];
	c->buckets[hash(user)] = e;
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
#define CHECK_WAIT_MS 2000

/* CHECK_WAIT_MS from now, for pthread_cond_timedwait. */
static void check_deadline(struct timespec *deadline)
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
static int user_info(struct jitd *d, const char *user, const char *login, int64_t max_age, struct user_entry *out,
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
static int has_group(const struct user_entry *e, const char *gid)
{
	char needle[OKTA_ID_MAX + 3];

	if (e->groups == NULL || gid == NULL || !okta_valid_id(gid))
		return 0;
	snprintf(needle, sizeof(needle), "\n%s\n", gid);
	return strstr(e->groups, needle) != NULL;
}

/* A gate's fallback: is the user in an OKTA_GROUP of this exact name? */
static int has_okta_group_named(const struct user_entry *e, const char *name)
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
	deadline_in(&deadline, DECIDE_WAIT_MS);
	/* (asked a little fresher than cache_ttl, so that a stale answer is
	 * waited for rather than used while it is refreshed) */
	if (user_info(d, user, login, ttl > 1 ? ttl - 1 : 1, &e, &grace, &deadline, err) != 0)
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
	h = hash(key);
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
		if (has_grant[i] && gids[i][0] != '\0' && !has_group(info, gids[i]) &&
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
	int has_grant[CHECK_MAX_GROUPS];
	struct grant_end ge[CHECK_MAX_GROUPS];
	size_t i;

	memset(ans, 0, sizeof(*ans));
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
			} else {
				memset(&ge[i], 0, sizeof(ge[i]));
				if (lr == LEDGER_ERR)
					ledger_down = 1;
			}
		} else {
			need_okta = 1;
		}
	}
	check_deadline(&deadline);
	/* Each group that could let the user in, as the one OKTA_GROUP id it
	 * stands for: memberships are compared by id. A name an unprivileged
	 * caller brings that no flow uses and root never checked is not
	 * looked up (it would cost Okta calls and memory without bound). */
	for (i = 0; need_okta && i < ngroups; i++) {
		const struct flow_config *f = config_flow_for_group(d->cfg, groups[i]);

		if (f != NULL && !f->standing_allow && !has_grant[i])
			continue;
		if (d->cfg->role_gate) {
			/* A gate's token reads users, not groups: a grant's group
			 * is the id its granter resolved; another group is known
			 * by name among the user's OKTA_GROUP groups. */
			if (has_grant[i] && okta_valid_id(ge[i].group_id))
				ojit_strlcpy(gids[i], ge[i].group_id, sizeof(gids[i]));
			continue;
		}
		if (check_group_id(d, groups[i], 1, caller_root, &deadline, gids[i], sizeof(gids[i]), &gerr[i]) != 0) {
			gids[i][0] = '\0';
			if (gerr[i].kind != OKTA_ERR_NOT_FOUND && gerr[i].kind != OKTA_ERR_AMBIGUOUS &&
			    gerr[i].kind != OKTA_ERR_REFUSED && gid_down < 0)
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
		if (!roster_allows(d, groups[i], gids[i], user, login, &deadline, &grace, &fresh_until))
			continue;
		if (timebound && ge[i].end_at <= ojit_now())
			continue;
		allow(groups[i], timebound, ge[i].id, ge[i].end_at, now, ans);
		ans->from_grace = grace || ledger_grace;
		ans->valid_until = ans->from_grace ? 0 : timebound && ge[i].end_at < fresh_until ? ge[i].end_at : fresh_until;
		return 0;
	}
	if (need_okta) {
		int r = user_info(d, user, login, d->cfg->cache_ttl, &info, &grace, &deadline, &err);

		if (r == 0 && grant_not_in_okta_answer(d, &info, gids, ngroups, has_grant, ge)) {
			/* A grant this daemon did not make (another okta-jitd of
			 * the fleet did) while the cached answer predates it:
			 * ask Okta again, waiting at most CHECK_WAIT_MS. */
			struct user_entry again;
			struct okta_error err2;
			int grace2 = 0;

			memset(&again, 0, sizeof(again));
			check_deadline(&deadline);
			if (user_info(d, user, login, 0, &again, &grace2, &deadline, &err2) == 0) {
				free(info.groups);
				info = again;
				grace = grace2;
			}
		}
		if (r != 0) {
			char msg[512];

			okta_error_format(&err, msg, sizeof(msg));
			ans->decision = CHECK_UNAVAILABLE;
			ojit_strlcpy(ans->code, "okta_unavailable", sizeof(ans->code));
			snprintf(ans->message, sizeof(ans->message), "okta-jit cannot reach Okta to check access: %s", msg);
			return 0;
		}
		have_info = 1;
		ans->from_grace = grace;
	}
	ans->from_grace |= ledger_grace;
	for (i = 0; i < ngroups; i++) {
		const struct flow_config *f = config_flow_for_group(d->cfg, groups[i]);
		int timebound = f != NULL && !f->standing_allow;

		/* a grant that ended while Okta was asked does not count */
		if (timebound && (!has_grant[i] || ge[i].end_at <= ojit_now()))
			continue;
		if (!have_info || info.not_found || strcmp(info.status, "ACTIVE") != 0)
			continue;
		if (!has_group(&info, gids[i]) &&
		    !(d->cfg->role_gate && gids[i][0] == '\0' && has_okta_group_named(&info, groups[i])))
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

		ojit_strlcpy(ans->group, groups[0], sizeof(ans->group));
		deny_text(d, f, groups[0], ans);
		if (have_info && info.not_found) {
			ojit_strlcpy(ans->code, "no_user", sizeof(ans->code));
			snprintf(ans->message, sizeof(ans->message), "okta-jit: there is no Okta user %s", login);
		} else if (have_info && strcmp(info.status, "ACTIVE") != 0) {
			ojit_strlcpy(ans->code, "user_inactive", sizeof(ans->code));
			snprintf(ans->message, sizeof(ans->message), "okta-jit: Okta user %s is %s", login, info.status);
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
