/* mirror.c - the gate's memory of the shared ledger (mirror.h): one
 * thread with a connection of its own that LISTENs, reads the grants that
 * are not over and every group's snapshot, then follows the notices the
 * database sends for each write, reading everything again every
 * MIRROR_REREAD_SECONDS and after a lost connection. Checks read the
 * memory under a read lock; the thread builds what it reads outside the
 * lock and swaps it in. Every change it learns voids the answer board
 * entries it may have made wrong (answers.h): after the memory changed,
 * so that an answer decided before never lands after. */
#include "mirror.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "answers.h"
#include "fleet_sig.h"
#include "jitd.h"
#include "util.h"

#define MIRROR_BUCKETS 4096
#define MIRROR_WAIT_MS 500       /* the listener looks at d->stopping this often */
#define MIRROR_NOTICES_MAX 4096  /* notices held between two waits; more: read everything */
#define MIRROR_RETRY_MS 1000     /* between two attempts to reach the ledger */
#define MIRROR_LOG_SLOTS 256
/* a member line is at least 24 bytes: more members than this cannot fit */
#define MIRROR_MEMBERS_MAX ((int64_t)(SNAPSHOT_MEMBERS_MAX / 24))

struct mgrant {
	struct mgrant *next_id, *next_key;
	unsigned hkey;
	int64_t id, end_at, updated_at;
	char kind[8], state[16], op[8];
	char user[LEDGER_USER_MAX + 1];
	char grp[LEDGER_GROUP_MAX + 1];
	char okta_user_id[65];
	char group_id[65];
	int sig_ok; /* a granter signed the row (fleet_sig.h): else never an allow */
};

struct gtable {
	struct mgrant *by_id[MIRROR_BUCKETS];
	struct mgrant *by_key[MIRROR_BUCKETS];
	size_t n;
};

struct member {
	const char *login; /* lowercased; NULL: empty slot */
	const char *id;
	const char *status;
};

struct msnap {
	struct msnap *next;
	struct snapshot_head h;
	int usable;             /* state ok and the member list parsed */
	int refuse;             /* state says why there is no list */
	char why[300];          /* when not usable */
	char code[32];          /* when refuse */
	char *text;             /* member text, cut in place */
	struct member *slots;   /* open addressing on the login */
	size_t cap;
};

struct notice {
	char kind;
	int64_t id;
	char grp[LEDGER_GROUP_MAX + 1];
};

struct log_slot {
	unsigned hash;
	int64_t at;
};

struct mirror {
	struct jitd *d;
	int keep;
	char *password_file;
	pthread_t thread;
	int started;
	volatile int stop;

	pthread_rwlock_t lock; /* the memory and the status below */
	struct gtable *grants;
	struct msnap *snaps;
	int connected;
	int64_t synced_at; /* last moment the memory was known whole: 0 never */

	/* the listener's own */
	struct notice *notices;
	size_t nnotices;
	int overflow;

	pthread_mutex_t log_lock;
	struct log_slot logs[MIRROR_LOG_SLOTS];
};

/* The keys rows are verified with: a gate's; none on a granter, whose
 * listener answers no check. */
static const struct fleet_keys *mirror_keys(const struct mirror *m)
{
	return m->keep ? &m->d->keys : NULL;
}

static unsigned str_hash(const char *s)
{
	unsigned h = 5381;

	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h;
}

static unsigned key_hash(const char *user, const char *grp)
{
	unsigned h = str_hash(user);

	h = h * 33 + '\n';
	while (*grp)
		h = h * 33 + (unsigned char)*grp++;
	return h;
}

static int ascii_lower(int ch)
{
	return ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch;
}

static unsigned login_hash(const char *s)
{
	unsigned h = 5381;

	while (*s)
		h = h * 33 + (unsigned)ascii_lower((unsigned char)*s++);
	return h;
}

static int login_eq(const char *a, const char *b)
{
	while (*a && ascii_lower((unsigned char)*a) == ascii_lower((unsigned char)*b)) {
		a++;
		b++;
	}
	return *a == '\0' && *b == '\0';
}

void mirror_log_limited(struct mirror *m, const char *kind, const char *grp, const char *fmt, ...)
{
	char msg[1024];
	unsigned h = str_hash(kind) * 31 + str_hash(grp);
	struct log_slot *s = &m->logs[h % MIRROR_LOG_SLOTS];
	int64_t now = ojit_now();
	va_list ap;

	pthread_mutex_lock(&m->log_lock);
	if (s->hash == h && s->at != 0 && now - s->at < MIRROR_LOG_EVERY) {
		pthread_mutex_unlock(&m->log_lock);
		return;
	}
	s->hash = h;
	s->at = now;
	pthread_mutex_unlock(&m->log_lock);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ojit_strip_controls(msg);
	ojit_log(LOG_WARNING, "%s", msg);
}

/* ---------------------------------------------------------------- grants */

static int grant_kept(const struct grant *g)
{
	return strcmp(g->state, GS_PENDING) == 0 || strcmp(g->state, GS_APPROVED) == 0 ||
	       strcmp(g->state, GS_ACTIVE) == 0;
}

static void gtable_free(struct gtable *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < MIRROR_BUCKETS; i++) {
		struct mgrant *g = t->by_id[i], *next;

		for (; g != NULL; g = next) {
			next = g->next_id;
			free(g);
		}
	}
	free(t);
}

static struct mgrant *gtable_find(struct gtable *t, int64_t id)
{
	struct mgrant *g;

	for (g = t->by_id[(uint64_t)id % MIRROR_BUCKETS]; g != NULL; g = g->next_id)
		if (g->id == id)
			return g;
	return NULL;
}

static void gtable_unlink(struct gtable *t, struct mgrant *x)
{
	struct mgrant **pp;

	for (pp = &t->by_id[(uint64_t)x->id % MIRROR_BUCKETS]; *pp != NULL; pp = &(*pp)->next_id)
		if (*pp == x) {
			*pp = x->next_id;
			break;
		}
	for (pp = &t->by_key[x->hkey % MIRROR_BUCKETS]; *pp != NULL; pp = &(*pp)->next_key)
		if (*pp == x) {
			*pp = x->next_key;
			break;
		}
	t->n--;
}

/* k: the gate's verify keys; NULL on a granter, whose listener keeps no
 * rows to answer from. */
static struct mgrant *mgrant_from(const struct grant *g, const struct fleet_keys *k)
{
	struct mgrant *x = calloc(1, sizeof(*x));

	if (x == NULL)
		return NULL;
	x->sig_ok = k == NULL || fleet_grant_ok(k, g);
	x->id = g->id;
	x->end_at = g->end_at;
	x->updated_at = g->updated_at;
	ojit_strlcpy(x->kind, g->kind, sizeof(x->kind));
	ojit_strlcpy(x->state, g->state, sizeof(x->state));
	ojit_strlcpy(x->op, g->op, sizeof(x->op));
	ojit_strlcpy(x->user, g->user, sizeof(x->user));
	ojit_strlcpy(x->grp, g->grp, sizeof(x->grp));
	ojit_strlcpy(x->okta_user_id, g->okta_user_id, sizeof(x->okta_user_id));
	ojit_strlcpy(x->group_id, g->group_id, sizeof(x->group_id));
	x->hkey = key_hash(x->user, x->grp);
	return x;
}

static void gtable_link(struct gtable *t, struct mgrant *x)
{
	x->next_id = t->by_id[(uint64_t)x->id % MIRROR_BUCKETS];
	t->by_id[(uint64_t)x->id % MIRROR_BUCKETS] = x;
	x->next_key = t->by_key[x->hkey % MIRROR_BUCKETS];
	t->by_key[x->hkey % MIRROR_BUCKETS] = x;
	t->n++;
}

static int mgrant_same(const struct mgrant *a, const struct mgrant *b)
{
	return a->end_at == b->end_at && a->updated_at == b->updated_at && strcmp(a->state, b->state) == 0 &&
	       strcmp(a->op, b->op) == 0 && strcmp(a->kind, b->kind) == 0 && strcmp(a->user, b->user) == 0 &&
	       strcmp(a->grp, b->grp) == 0 && strcmp(a->okta_user_id, b->okta_user_id) == 0 &&
	       strcmp(a->group_id, b->group_id) == 0 && a->sig_ok == b->sig_ok;
}

struct grant_read {
	struct gtable *t;
	const struct fleet_keys *keys;
	int failed;
};

static int grant_read_cb(const struct grant *g, void *ctx)
{
	struct grant_read *r = ctx;
	struct mgrant *x;

	if (!grant_kept(g) || gtable_find(r->t, g->id) != NULL)
		return 0;
	x = mgrant_from(g, r->keys);
	if (x == NULL) {
		r->failed = 1;
		return 0;
	}
	gtable_link(r->t, x);
	return 0;
}

void mirror_grant(struct mirror *m, const char *user, const char *grp, int64_t now, struct mirror_grant *out)
{
	unsigned h = key_hash(user, grp);
	const struct mgrant *g;

	memset(out, 0, sizeof(*out));
	pthread_rwlock_rdlock(&m->lock);
	for (g = m->grants != NULL ? m->grants->by_key[h % MIRROR_BUCKETS] : NULL; g != NULL; g = g->next_key) {
		if (g->hkey != h || strcmp(g->user, user) != 0 || strcmp(g->grp, grp) != 0 ||
		    strcmp(g->kind, "grant") != 0)
			continue;
		out->known = 1;
		/* as ledger_grant_active_end: an active grant with no Okta
		 * work owed, the one that ends last */
		if (strcmp(g->state, GS_ACTIVE) == 0 && g->op[0] == '\0' && !g->sig_ok) {
			/* a database writer's row, or one changed since a granter
			 * signed it: no grant at all */
			mirror_log_limited(m, "unsigned-grant", grp,
					   "grant id=%lld user=%s group=%s is active in the ledger but no granter of this "
					   "fleet signed it as it stands ([daemon] fleet_verify_keys): not used, the user "
					   "is refused", (long long)g->id, user, grp);
			continue;
		}
		if (strcmp(g->state, GS_ACTIVE) == 0 && g->op[0] == '\0' &&
		    (out->id == 0 || g->end_at > out->end_at || (g->end_at == out->end_at && g->id > out->id))) {
			out->id = g->id;
			out->end_at = g->end_at;
			out->updated_at = g->updated_at;
			ojit_strlcpy(out->okta_user_id, g->okta_user_id, sizeof(out->okta_user_id));
			ojit_strlcpy(out->group_id, g->group_id, sizeof(out->group_id));
		}
		if ((strcmp(g->state, GS_PENDING) == 0 || strcmp(g->state, GS_APPROVED) == 0) && g->id > out->pending_id) {
			out->pending_id = g->id;
			ojit_strlcpy(out->pending_state, g->state, sizeof(out->pending_state));
		}
	}
	pthread_rwlock_unlock(&m->lock);
	out->active = out->id != 0 && out->end_at > now;
}

/* ---------------------------------------------------------------- snapshots */

static void msnap_free(struct msnap *s)
{
	if (s == NULL)
		return;
	free(s->text);
	free(s->slots);
	free(s);
}

static int login_sane(const char *s)
{
	size_t n = 0;

	for (; *s; s++, n++)
		if ((unsigned char)*s < 0x21 || (unsigned char)*s == 0x7f)
			return 0;
	return n > 0 && n <= OKTA_LOGIN_MAX;
}

/* Which refusal a state other than "ok" stands for; "" when it names none
 * this gate knows (then the snapshot is unusable, not a refusal). */
static const char *state_code(const char *state)
{
	/* issue 20 item 3: deleted in Okta, or no OKTA_GROUP now */
	if (strncmp(state, "unknown group: group_deleted:", 29) == 0)
		return "group_deleted";
	if (strncmp(state, "unknown group: group_wrong_type:", 32) == 0)
		return "group_wrong_type";
	if (strncmp(state, "unknown group", 13) == 0 || strncmp(state, "not found", 9) == 0)
		return "unknown_group";
	if (strncmp(state, "ambiguous", 9) == 0)
		return "ambiguous_group";
	if (strncmp(state, "too large", 9) == 0)
		return "group_too_large";
	return "";
}

/* Cut s->text into members (in place) and index them; 0, or -1 with
 * s->why set. Every line must hold a valid Okta id, a known user status
 * and a sane login, and there must be as many as the head says: anything
 * else is a snapshot this gate cannot trust. */
static int msnap_parse(struct msnap *s, size_t len)
{
	char *p = s->text, *end = s->text + len;
	size_t n = 0, cap = 16, line = 0;

	if (s->h.nmembers < 0 || s->h.nmembers > MIRROR_MEMBERS_MAX) {
		snprintf(s->why, sizeof(s->why), "its head counts %lld members", (long long)s->h.nmembers);
		return -1;
	}
	while (cap < (size_t)s->h.nmembers * 2)
		cap *= 2;
	s->slots = calloc(cap, sizeof(*s->slots));
	if (s->slots == NULL) {
		snprintf(s->why, sizeof(s->why), "out of memory for %lld members", (long long)s->h.nmembers);
		return -1;
	}
	s->cap = cap;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		struct snapshot_member sm;
		size_t k;

		line++;
		if (nl == NULL) {
			snprintf(s->why, sizeof(s->why), "member line %zu has no line end", line);
			return -1;
		}
		*nl = '\0';
		/* (with [nss] on the granters, three more fields follow: the
		 * directory's, issue 18) */
		if (snapshot_member_parse(p, &sm) != 0) {
			snprintf(s->why, sizeof(s->why), "member line %zu is not OKTA_ID TAB STATUS TAB LOGIN "
				 "[TAB UID TAB GECOS TAB KEYS]", line);
			return -1;
		}
		if (!okta_valid_id(sm.id)) {
			snprintf(s->why, sizeof(s->why), "member line %zu: not a valid Okta user id", line);
			return -1;
		}
		if (!okta_valid_user_status(sm.status)) {
			snprintf(s->why, sizeof(s->why), "member line %zu: not a known Okta user status", line);
			return -1;
		}
		if (!login_sane(sm.login)) {
			snprintf(s->why, sizeof(s->why), "member line %zu: not a valid login", line);
			return -1;
		}
		if (++n > (size_t)s->h.nmembers)
			break;
		for (k = login_hash(sm.login) & (cap - 1); s->slots[k].login != NULL; k = (k + 1) & (cap - 1))
			if (login_eq(s->slots[k].login, sm.login)) {
				snprintf(s->why, sizeof(s->why), "member line %zu: login listed twice", line);
				return -1;
			}
		s->slots[k].login = sm.login;
		s->slots[k].id = sm.id;
		s->slots[k].status = sm.status;
		p = nl + 1;
	}
	if (n != (size_t)s->h.nmembers) {
		snprintf(s->why, sizeof(s->why), "it lists %s%zu members, its head says %lld",
			 n > (size_t)s->h.nmembers ? "more than " : "", n, (long long)s->h.nmembers);
		return -1;
	}
	return 0;
}

/* A snapshot as read from the ledger: usable, a refusal, or unusable with
 * why (logged once a minute). Takes text. */
static struct msnap *msnap_build(struct mirror *m, const struct snapshot_head *h, char *text)
{
	struct msnap *s = calloc(1, sizeof(*s));
	size_t len = text != NULL ? strlen(text) : 0;

	if (s == NULL) {
		free(text);
		return NULL;
	}
	s->h = *h;
	s->text = text;
	if (mirror_keys(m) != NULL && !fleet_snapshot_ok(mirror_keys(m), h, text != NULL ? text : "")) {
		/* a database writer's row, or one changed since a granter signed it */
		snprintf(s->why, sizeof(s->why), "no granter of this fleet signed it as it stands "
			 "([daemon] fleet_verify_keys)");
	} else if (strcmp(h->state, "ok") == 0) {
		if (!okta_valid_id(h->group_id))
			snprintf(s->why, sizeof(s->why), "its group id is not a valid Okta id");
		else if (msnap_parse(s, len) == 0)
			s->usable = 1;
	} else if (state_code(h->state)[0] != '\0' && h->state[0] != '\0') {
		s->refuse = 1;
		ojit_strlcpy(s->code, state_code(h->state), sizeof(s->code));
		ojit_strlcpy(s->why, h->state, sizeof(s->why));
		ojit_strip_controls(s->why);
	} else {
		snprintf(s->why, sizeof(s->why), "its state is not one this gate knows");
	}
	if (!s->usable) {
		/* nothing of the member text is kept for an unusable one */
		free(s->slots);
		s->slots = NULL;
		s->cap = 0;
		free(s->text);
		s->text = NULL;
	}
	if (!s->usable && !s->refuse)
		mirror_log_limited(m, "unparseable", h->grp,
				   "snapshot unusable group=%s gen=%lld host=%s why=\"%s\": checks of this group answer "
				   "unavailable until a granter writes it again",
				   h->grp, (long long)h->gen, h->host, s->why);
	return s;
}

void mirror_snapshot(struct mirror *m, const char *grp, const char *login, struct mirror_snap *out)
{
	const struct msnap *s;

	memset(out, 0, sizeof(*out));
	pthread_rwlock_rdlock(&m->lock);
	for (s = m->snaps; s != NULL; s = s->next)
		if (strcmp(s->h.grp, grp) == 0)
			break;
	if (s == NULL) {
		out->kind = MSNAP_NONE;
		snprintf(out->why, sizeof(out->why), "no snapshot of the group in the ledger");
	} else if (s->refuse) {
		out->kind = MSNAP_REFUSE;
		ojit_strlcpy(out->why, s->why, sizeof(out->why));
		ojit_strlcpy(out->code, s->code, sizeof(out->code));
	} else if (!s->usable) {
		out->kind = MSNAP_BAD;
		(void)ojit_snprintf(out->why, sizeof(out->why), "its snapshot cannot be used: %s", s->why);
	} else {
		size_t k;

		out->kind = MSNAP_OK;
		for (k = login_hash(login) & (s->cap - 1); s->slots[k].login != NULL; k = (k + 1) & (s->cap - 1))
			if (login_eq(s->slots[k].login, login)) {
				out->listed = 1;
				ojit_strlcpy(out->id, s->slots[k].id, sizeof(out->id));
				ojit_strlcpy(out->status, s->slots[k].status, sizeof(out->status));
				break;
			}
	}
	if (s != NULL) {
		out->taken_at = s->h.taken_at;
		ojit_strlcpy(out->group_id, s->h.group_id, sizeof(out->group_id));
	}
	pthread_rwlock_unlock(&m->lock);
}

static int head_same(const struct snapshot_head *a, const struct snapshot_head *b)
{
	return a->gen == b->gen && a->taken_at == b->taken_at && a->nmembers == b->nmembers &&
	       strcmp(a->group_id, b->group_id) == 0 && strcmp(a->state, b->state) == 0 &&
	       strcmp(a->host, b->host) == 0 && strcmp(a->sig, b->sig) == 0;
}

/* ---------------------------------------------------------------- status */

enum mirror_status mirror_status(struct mirror *m, int64_t now, int64_t *synced_at)
{
	enum mirror_status st;

	pthread_rwlock_rdlock(&m->lock);
	if (m->synced_at == 0)
		st = MIRROR_DOWN;
	else if (m->connected)
		st = MIRROR_LIVE;
	else if (now - m->synced_at < m->d->cfg->outage_grace)
		st = MIRROR_GRACE;
	else
		st = MIRROR_DOWN;
	if (synced_at != NULL)
		*synced_at = m->synced_at;
	pthread_rwlock_unlock(&m->lock);
	return st;
}

/* ---------------------------------------------------------------- the listener */

static void void_all(struct mirror *m)
{
	if (m->d->answers != NULL)
		answers_void_all(m->d->answers);
}

static void void_key(struct mirror *m, const char *user, const char *grp)
{
	if (m->d->answers != NULL)
		answers_grant_written(m->d->answers, user, grp);
}

/* The snapshot of h->grp: the one in memory when its head is the same,
 * else read from l (NULL: the connection failed, *failed set). */
static struct msnap *snap_read(struct mirror *m, struct ledger *l, const struct snapshot_head *want, int *failed)
{
	struct snapshot_head h;
	struct msnap *s;
	char *text = NULL;
	int r;

	memset(&h, 0, sizeof(h));
	r = ledger_snapshot_get(l, want->grp, &h, &text);
	if (r == LEDGER_NOTFOUND)
		return NULL;
	if (r != LEDGER_OK) {
		/* a member text past SNAPSHOT_MEMBERS_MAX is an error too: the
		 * connection is tested by the next read */
		warn_f("cannot read the snapshot of group %s: %s", want->grp, ledger_last_error(l));
		*failed = 1;
		return NULL;
	}
	s = msnap_build(m, &h, text);
	if (s == NULL)
		*failed = 1;
	return s;
}

static struct msnap *snap_find(struct msnap *list, const char *grp)
{
	for (; list != NULL; list = list->next)
		if (strcmp(list->h.grp, grp) == 0)
			return list;
	return NULL;
}

/* Swap t in for the grants in memory and void the board entries of every
 * row that changed, came or went. */
static void grants_swap(struct mirror *m, struct gtable *t)
{
	struct gtable *old;
	size_t i;
	int any = 0;

	pthread_rwlock_wrlock(&m->lock);
	old = m->grants;
	m->grants = t;
	pthread_rwlock_unlock(&m->lock);
	if (old == NULL) {
		void_all(m);
		jitd_grant_written(m->d, "", "");
		return;
	}
	/* only this thread writes: both tables may be read unlocked here */
	for (i = 0; i < MIRROR_BUCKETS; i++) {
		const struct mgrant *g, *o;

		for (g = t->by_id[i]; g != NULL; g = g->next_id) {
			o = gtable_find(old, g->id);
			if (o == NULL || !mgrant_same(o, g)) {
				any = 1;
				void_key(m, g->user, g->grp);
				if (o != NULL)
					void_key(m, o->user, o->grp);
			}
		}
		for (o = old->by_id[i]; o != NULL; o = o->next_id)
			if (gtable_find(t, o->id) == NULL) {
				any = 1;
				void_key(m, o->user, o->grp);
			}
	}
	gtable_free(old);
	if (any)
		jitd_grant_written(m->d, "", "");
}

/* Read every grant that is not over and every snapshot; swap them in.
 * 0, or -1 (the connection is in doubt). */
static int full_read(struct mirror *m, struct ledger *l, int first)
{
	struct grant_read gr = { NULL, NULL, 0 };
	struct snapshot_head *hv = NULL;
	size_t nh = 0;
	int hr;
	struct msnap *fresh = NULL, *old = NULL, *s, *next;
	int changed = 0, failed = 0, r = -1;
	size_t i;

	gr.keys = mirror_keys(m);
	gr.t = calloc(1, sizeof(*gr.t));
	if (gr.t == NULL)
		goto out;
	if (ledger_grant_list(l, NULL, GS_PENDING "," GS_APPROVED "," GS_ACTIVE, MIRROR_GRANTS_MAX, grant_read_cb,
			      &gr) != LEDGER_OK || gr.failed) {
		warn_f("cannot read the grants from the ledger: %s", gr.failed ? "out of memory" : ledger_last_error(l));
		goto out;
	}
	if (gr.t->n >= MIRROR_GRANTS_MAX)
		mirror_log_limited(m, "grants-max", "",
				   "more than %d grants are pending or active: only the newest %d are known here; "
				   "the users of the others are refused", MIRROR_GRANTS_MAX, MIRROR_GRANTS_MAX);
	if ((hr = ledger_snapshot_heads_all(l, &hv, &nh)) != LEDGER_OK) {
		warn_f("cannot read the snapshots from the ledger: %s",
		       hr == LEDGER_NOMEM ? "out of memory" : ledger_last_error(l));
		goto out;
	}
	/* A member list is read again only when its head changed: every
	 * write bumps gen, and the notice of each write re-reads it anyway. */
	for (i = 0; i < nh && !failed; i++) {
		struct msnap *have;

		pthread_rwlock_rdlock(&m->lock);
		have = snap_find(m->snaps, hv[i].grp);
		pthread_rwlock_unlock(&m->lock);
		if (have != NULL && head_same(&have->h, &hv[i]))
			continue; /* kept: moved over below */
		s = snap_read(m, l, &hv[i], &failed);
		if (s != NULL) {
			s->next = fresh;
			fresh = s;
		}
		changed = 1;
	}
	if (failed)
		goto out;
	grants_swap(m, gr.t);
	gr.t = NULL;
	/* the new list: the fresh ones, and the kept ones moved over */
	pthread_rwlock_wrlock(&m->lock);
	old = m->snaps;
	for (s = old, old = NULL; s != NULL; s = next) {
		int listed = 0;

		next = s->next;
		for (i = 0; i < nh; i++)
			if (strcmp(hv[i].grp, s->h.grp) == 0) {
				listed = head_same(&s->h, &hv[i]) && snap_find(fresh, s->h.grp) == NULL;
				break;
			}
		if (listed) {
			s->next = fresh;
			fresh = s;
		} else {
			s->next = old;
			old = s;
			changed = 1;
		}
	}
	m->snaps = fresh;
	fresh = NULL;
	m->connected = 1;
	m->synced_at = ojit_now();
	pthread_rwlock_unlock(&m->lock);
	if (changed) {
		void_all(m);
		jitd_snapshot_written(m->d, "");
	}
	if (first)
		info_f("change listener: read %zu grants that are not over and %zu snapshots from the shared ledger",
		       m->grants->n, nh);
	r = 0;
out:
	for (s = fresh; s != NULL; s = next) {
		next = s->next;
		msnap_free(s);
	}
	for (s = old; s != NULL; s = next) {
		next = s->next;
		msnap_free(s);
	}
	gtable_free(gr.t);
	free(hv);
	return r;
}

/* A grant row another host wrote: read it again by its id. */
static int apply_grant(struct mirror *m, struct ledger *l, int64_t id)
{
	struct grant g;
	struct mgrant *x = NULL, *o;
	char ouser[LEDGER_USER_MAX + 1] = "", ogrp[LEDGER_GROUP_MAX + 1] = "";
	int r = ledger_grant_get(l, id, &g);

	if (r == LEDGER_ERR)
		return -1;
	if (r == LEDGER_OK && grant_kept(&g) && (x = mgrant_from(&g, mirror_keys(m))) == NULL)
		return -1;
	pthread_rwlock_wrlock(&m->lock);
	o = m->grants != NULL ? gtable_find(m->grants, id) : NULL;
	if (o != NULL) {
		ojit_strlcpy(ouser, o->user, sizeof(ouser));
		ojit_strlcpy(ogrp, o->grp, sizeof(ogrp));
		gtable_unlink(m->grants, o);
		free(o);
	}
	if (x != NULL && m->grants != NULL) {
		gtable_link(m->grants, x);
		x = NULL;
	}
	pthread_rwlock_unlock(&m->lock);
	free(x);
	/* after the memory changed (answers.h: decided before, never kept) */
	if (r == LEDGER_OK)
		void_key(m, g.user, g.grp);
	if (ouser[0] != '\0')
		void_key(m, ouser, ogrp);
	jitd_grant_written(m->d, r == LEDGER_OK ? g.user : ouser, r == LEDGER_OK ? g.grp : ogrp);
	return 0;
}

/* A snapshot another host wrote: read it again. */
static int apply_snapshot(struct mirror *m, struct ledger *l, const char *grp)
{
	struct snapshot_head want;
	struct msnap *s, **pp, *gone = NULL;
	int failed = 0;

	memset(&want, 0, sizeof(want));
	ojit_strlcpy(want.grp, grp, sizeof(want.grp));
	s = snap_read(m, l, &want, &failed);
	if (failed)
		return -1;
	pthread_rwlock_wrlock(&m->lock);
	for (pp = &m->snaps; *pp != NULL; pp = &(*pp)->next)
		if (strcmp((*pp)->h.grp, grp) == 0) {
			gone = *pp;
			*pp = gone->next;
			break;
		}
	if (s != NULL) {
		s->next = m->snaps;
		m->snaps = s;
	}
	pthread_rwlock_unlock(&m->lock);
	msnap_free(gone);
	void_all(m);
	jitd_snapshot_written(m->d, grp);
	return 0;
}

/* ledger_wait_changes' callback: notices are only noted here (the wait
 * holds the connection) and read once it returns. */
static void on_change(void *ctx, char kind, int64_t id, const char *grp)
{
	struct mirror *m = ctx;
	struct notice *n;
	size_t i;

	/* A granter's scheduler learns of a grant another host wrote (its
	 * end, its owed Okta work) now, not at its next idle wake-up. A
	 * gate's does not need it: it ends only its own sessions, looked at
	 * every second while any is open. */
	if (!m->keep) {
		if (kind == 'g') {
			jitd_kick(m->d);
			jitd_grant_written(m->d, "", "");
		} else if (kind == 's' && grp != NULL && jitd_valid_groupname(grp)) {
			jitd_snapshot_written(m->d, grp);
		}
		return;
	}
	if (m->overflow)
		return;
	if (kind != 'g' && kind != 's')
		return;
	if (kind == 's' && (grp == NULL || !jitd_valid_groupname(grp)))
		return;
	for (i = 0; i < m->nnotices; i++)
		if (m->notices[i].kind == kind && (kind == 'g' ? m->notices[i].id == id : strcmp(m->notices[i].grp, grp) == 0))
			return;
	if (m->nnotices >= MIRROR_NOTICES_MAX) {
		m->overflow = 1; /* read everything instead */
		return;
	}
	n = &m->notices[m->nnotices++];
	n->kind = kind;
	n->id = id;
	if (kind == 's')
		ojit_strlcpy(n->grp, grp, sizeof(n->grp));
	else
		n->grp[0] = '\0';
}

static void set_lost(struct mirror *m)
{
	pthread_rwlock_wrlock(&m->lock);
	m->connected = 0;
	pthread_rwlock_unlock(&m->lock);
	/* what the board holds came from a memory that may now fall behind */
	void_all(m);
}

static void *mirror_thread(void *p)
{
	struct mirror *m = p;
	struct jitd *d = m->d;
	struct ledger *l = NULL;
	int64_t next_full = 0, down_logged = 0;
	int first = 1; /* the first full read since (re)connecting: logged */
	char err[512];

	while (!m->stop && !d->stopping) {
		int64_t now = ojit_now();
		int r;
		size_t i;

		if (l == NULL) {
			l = ledger_open(d->cfg->ledger, m->password_file, err, sizeof(err));
			if (l != NULL && ledger_listen(l) != LEDGER_OK) {
				snprintf(err, sizeof(err), "cannot listen for changes: %s", ledger_last_error(l));
				ledger_close(l);
				l = NULL;
			}
			if (l == NULL) {
				if (now - down_logged >= MIRROR_LOG_EVERY) {
					ojit_strip_controls(err);
					warn_f("change listener: the shared ledger cannot be reached: %s; %s", err,
					       m->keep ? "checks answer from memory for outage_grace, then unavailable"
						       : "grants made on other hosts are ended at this granter's next sweep");
					down_logged = now;
				}
				ojit_sleep_ms(MIRROR_RETRY_MS);
				continue;
			}
			if (down_logged != 0)
				info_f("change listener: connected to the shared ledger again");
			down_logged = 0;
			next_full = 0;
			first = 1;
			/* anything may have been written meanwhile */
			if (!m->keep)
				jitd_kick(d);
		}
		if (m->keep && (now >= next_full || m->overflow)) {
			m->overflow = 0;
			m->nnotices = 0;
			if (full_read(m, l, first) != 0) {
				set_lost(m);
				ledger_close(l);
				l = NULL;
				ojit_sleep_ms(MIRROR_RETRY_MS);
				continue;
			}
			next_full = ojit_now() + MIRROR_REREAD_SECONDS;
			first = 0;
		}
		r = ledger_wait_changes(l, MIRROR_WAIT_MS, on_change, m);
		if (r == LEDGER_ERR) {
			warn_f("change listener: connection to the shared ledger lost: %s; reconnecting",
			       ledger_last_error(l));
			if (m->keep)
				set_lost(m);
			ledger_close(l);
			l = NULL;
			down_logged = ojit_now();
			continue;
		}
		if (!m->keep)
			continue;
		for (i = 0; i < m->nnotices && r != LEDGER_ERR && !m->overflow; i++)
			if ((m->notices[i].kind == 'g' ? apply_grant(m, l, m->notices[i].id)
						       : apply_snapshot(m, l, m->notices[i].grp)) != 0)
				r = LEDGER_ERR;
		m->nnotices = 0;
		if (r == LEDGER_ERR) {
			set_lost(m);
			ledger_close(l);
			l = NULL;
			continue;
		}
		pthread_rwlock_wrlock(&m->lock);
		m->synced_at = ojit_now();
		pthread_rwlock_unlock(&m->lock);
	}
	ledger_close(l);
	return NULL;
}

struct mirror *mirror_start(struct jitd *d, const char *password_file, int keep)
{
	struct mirror *m = calloc(1, sizeof(*m));
	pthread_attr_t attr;

	if (m == NULL)
		return NULL;
	m->d = d;
	m->keep = keep;
	if (password_file != NULL && (m->password_file = strdup(password_file)) == NULL)
		goto fail;
	m->notices = calloc(MIRROR_NOTICES_MAX, sizeof(*m->notices));
	if (m->notices == NULL)
		goto fail;
	pthread_rwlock_init(&m->lock, NULL);
	pthread_mutex_init(&m->log_lock, NULL);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 512 * 1024);
	if (pthread_create(&m->thread, &attr, mirror_thread, m) != 0) {
		pthread_attr_destroy(&attr);
		error_f("cannot start the change listener: %s", strerror(errno));
		pthread_rwlock_destroy(&m->lock);
		pthread_mutex_destroy(&m->log_lock);
		goto fail;
	}
	pthread_attr_destroy(&attr);
	m->started = 1;
	return m;
fail:
	free(m->notices);
	free(m->password_file);
	free(m);
	return NULL;
}

int mirror_wait_synced(struct mirror *m, int ms)
{
	int waited;

	for (waited = 0;; waited += 10) {
		int64_t at;

		pthread_rwlock_rdlock(&m->lock);
		at = m->synced_at;
		pthread_rwlock_unlock(&m->lock);
		if (at != 0)
			return 0;
		if (waited >= ms || m->d->stopping)
			return -1;
		ojit_sleep_ms(10);
	}
}

void mirror_stop(struct mirror *m)
{
	struct msnap *s, *next;

	if (m == NULL)
		return;
	m->stop = 1;
	if (m->started)
		pthread_join(m->thread, NULL);
	gtable_free(m->grants);
	for (s = m->snaps; s != NULL; s = next) {
		next = s->next;
		msnap_free(s);
	}
	pthread_rwlock_destroy(&m->lock);
	pthread_mutex_destroy(&m->log_lock);
	free(m->notices);
	free(m->password_file);
	free(m);
}
