/* nss_writer.c - the NSS cache okta-jitd writes, and the SSH keys it gives
 * (nss_writer.h). One thread: it reads the directory again when a snapshot
 * changed (or every cache_ttl), the active grants of the [nss] groups
 * when a grant was written, /etc/passwd and /etc/group when their mtime
 * moved, builds the users and groups, and writes the file when the
 * result differs from the last one written (or cache_ttl passed).
 *
 * Local accounts always win: /etc/passwd and /etc/group are read
 * directly (fgetpwent, fgetgrent: getpwnam would ask every NSS module,
 * us among them), and a name, UID or GID a local account has is never
 * offered. A refusal (a login that maps to no local name, a UID out of
 * range, negative or local, two Okta users on one UID or name, a key
 * refused) is logged once, not on every rewrite. */
#include "nss_writer.h"

#include <errno.h>
#include <grp.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>

#include "check.h"
#include "directory.h"
#include "mirror.h"
#include "nss_cache.h"
#include "sshkey.h"
#include "util.h"

#define NSS_POLL_MS 1000          /* /etc/passwd and /etc/group looked at this often */
#define NSS_LOGGED_MAX 16384      /* refusals remembered as logged */
#define NSS_GRANTS_MAX 200000     /* active grant rows read, at most */
#define NSS_GROUP_ID_WAIT_S 2     /* an [nss] group's Okta id asked of Okta, at most this long */
#define NSS_RETRY_S 10            /* a failed read of the grants is tried again after this */
#define NSS_LOCAL_PASSWD "/etc/passwd"
#define NSS_LOCAL_GROUP "/etc/group"

/* An offered user, as the KEYS request needs it. */
struct nss_user {
	char name[NAMES_USER_MAX + 1];
	char id[65];
	uint32_t uid;
	uint64_t groups; /* directory group bits (directory.h) */
	char **keys;
	size_t nkeys;
	/* build only */
	char *gecos;
	char home[NSS_CACHE_PATH_MAX + 1];
	size_t src; /* its directory entry */
	int refused;
};

struct nss_table {
	struct nss_user *users; /* sorted by name */
	size_t n;
};

/* One [nss] group's members from the last good read of the grants. */
struct jit_member {
	char user[NAMES_USER_MAX + 1];
	int64_t end_at;
};
struct jit_group {
	struct jit_member *m;
	size_t n, cap;
};

struct local_ids {
	char **names;   /* user and group names, sorted */
	size_t nnames;
	uint32_t *ids;  /* uids and gids, sorted */
	size_t nids;
};

struct nss {
	struct jitd *d;
	pthread_t thread;
	int started;
	pthread_mutex_t lock; /* the kicks and quit */
	pthread_cond_t cond;  /* CLOCK_MONOTONIC */
	int quit, kick_snap, kick_grant;

	pthread_rwlock_t tlock; /* table */
	struct nss_table *table;

	/* the thread's own */
	struct directory *dir;
	struct jit_group *jit; /* cfg->nnss_groups of them */
	int jit_read;          /* the grants were read once */
	struct local_ids local;
	struct timespec passwd_mtime, group_mtime;
	ino_t passwd_ino, group_ino;
	unsigned char digest[32];
	int written;
	int64_t written_at;
	uint64_t *logged;
	size_t nlogged;
};

/* ------------------------------------------------------------ log once */

static uint64_t fnv64(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

/* Log a refusal the first time its text is seen. */
static void log_once(struct nss *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void log_once(struct nss *n, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	uint64_t h;
	size_t i;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	ojit_strip_controls(line);
	h = fnv64(line);
	for (i = 0; i < n->nlogged; i++)
		if (n->logged[i] == h)
			return;
	if (n->nlogged >= NSS_LOGGED_MAX)
		n->nlogged = 0; /* forget, rather than grow: at worst logged again */
	n->logged[n->nlogged++] = h;
	ojit_log(LOG_WARNING, "[nss]: %s", line);
}

/* --------------------------------------------------------- local accounts */

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void local_free(struct local_ids *l)
{
	size_t i;

	for (i = 0; i < l->nnames; i++)
		free(l->names[i]);
	free(l->names);
	free(l->ids);
	memset(l, 0, sizeof(*l));
}

static int local_add(struct local_ids *l, size_t *cap_names, size_t *cap_ids, const char *name, uint32_t id)
{
	if (l->nnames == *cap_names) {
		size_t cap = *cap_names ? *cap_names * 2 : 256;
		char **v = realloc(l->names, cap * sizeof(*v));

		if (v == NULL)
			return -1;
		l->names = v;
		*cap_names = cap;
	}
	if (l->nids == *cap_ids) {
		size_t cap = *cap_ids ? *cap_ids * 2 : 256;
		uint32_t *v = realloc(l->ids, cap * sizeof(*v));

		if (v == NULL)
			return -1;
		l->ids = v;
		*cap_ids = cap;
	}
	if ((l->names[l->nnames] = strdup(name)) == NULL)
		return -1;
	l->nnames++;
	l->ids[l->nids++] = id;
	return 0;
}

/* Every name and id of /etc/passwd and /etc/group. 0, or -1 (the old
 * ones stay: failing open here would offer a local name). */
static int local_read(struct nss *n)
{
	struct local_ids l = { NULL, 0, NULL, 0 };
	size_t cap_names = 0, cap_ids = 0;
	FILE *f;
	int r = -1;

	f = fopen(NSS_LOCAL_PASSWD, "re");
	if (f == NULL) {
		warn_f("[nss]: cannot read %s: %s", NSS_LOCAL_PASSWD, strerror(errno));
		goto out;
	}
	for (;;) {
		struct passwd *pw = fgetpwent(f);

		if (pw == NULL)
			break;
		if (local_add(&l, &cap_names, &cap_ids, pw->pw_name, (uint32_t)pw->pw_uid) != 0) {
			fclose(f);
			goto out;
		}
	}
	fclose(f);
	f = fopen(NSS_LOCAL_GROUP, "re");
	if (f == NULL) {
		warn_f("[nss]: cannot read %s: %s", NSS_LOCAL_GROUP, strerror(errno));
		goto out;
	}
	for (;;) {
		struct group *gr = fgetgrent(f);

		if (gr == NULL)
			break;
		if (local_add(&l, &cap_names, &cap_ids, gr->gr_name, (uint32_t)gr->gr_gid) != 0) {
			fclose(f);
			goto out;
		}
	}
	fclose(f);
	if (l.nnames > 0)
		qsort(l.names, l.nnames, sizeof(*l.names), str_cmp);
	if (l.nids > 0)
		qsort(l.ids, l.nids, sizeof(*l.ids), u32_cmp);
	local_free(&n->local);
	n->local = l;
	memset(&l, 0, sizeof(l));
	r = 0;
out:
	local_free(&l);
	return r;
}

static int local_has_name(const struct nss *n, const char *name)
{
	return n->local.nnames > 0 &&
	       bsearch(&name, n->local.names, n->local.nnames, sizeof(*n->local.names), str_cmp) != NULL;
}

static int local_has_id(const struct nss *n, uint32_t id)
{
	return n->local.nids > 0 && bsearch(&id, n->local.ids, n->local.nids, sizeof(*n->local.ids), u32_cmp) != NULL;
}

/* Did /etc/passwd or /etc/group change since the last read? */
static int local_changed(struct nss *n)
{
	struct stat p, g;

	if (stat(NSS_LOCAL_PASSWD, &p) != 0 || stat(NSS_LOCAL_GROUP, &g) != 0)
		return 0;
	if (p.st_mtim.tv_sec == n->passwd_mtime.tv_sec && p.st_mtim.tv_nsec == n->passwd_mtime.tv_nsec &&
	    g.st_mtim.tv_sec == n->group_mtime.tv_sec && g.st_mtim.tv_nsec == n->group_mtime.tv_nsec &&
	    p.st_ino == n->passwd_ino && g.st_ino == n->group_ino)
		return 0;
	n->passwd_mtime = p.st_mtim;
	n->group_mtime = g.st_mtim;
	n->passwd_ino = p.st_ino;
	n->group_ino = g.st_ino;
	return 1;
}

void nss_resolve_keys_user(struct jitd *d)
{
	const char *want = d->cfg->nss_keys_user;
	FILE *f;

	d->keys_uid_set = 0;
	if (!d->cfg->nss_enabled || want == NULL || want[0] == '\0')
		return;
	f = fopen(NSS_LOCAL_PASSWD, "re");
	if (f != NULL) {
		struct passwd *pw;

		while ((pw = fgetpwent(f)) != NULL)
			if (strcmp(pw->pw_name, want) == 0) {
				/* root is root already; another uid 0 would be root too */
				if (pw->pw_uid != 0) {
					d->keys_uid = pw->pw_uid;
					d->keys_uid_set = 1;
				}
				break;
			}
		fclose(f);
	}
	if (!d->keys_uid_set)
		ojit_log(LOG_WARNING, "[nss] keys_user '%s' is not a local user (non-root) in %s: only root may ask "
			 "for SSH keys (sshd's AuthorizedKeysCommandUser must be that user)", want, NSS_LOCAL_PASSWD);
	else
		ojit_log(LOG_INFO, "[nss]: uid %u (%s) may ask for SSH keys, and nothing else", (unsigned)d->keys_uid,
			 want);
}

/* ---------------------------------------------------------------- users */

/* uid_min + (the first 8 bytes of SHA-256(id), big-endian) mod the range's
 * size: the same id gives the same number on every host. */
static int derive_id(const struct ojit_config *cfg, const char *id, uint32_t *out)
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	uint64_t v = 0, span;
	int i;

	if (EVP_Digest(id, strlen(id), md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
		return -1;
	for (i = 0; i < 8; i++)
		v = v << 8 | md[i];
	span = (uint64_t)(cfg->nss_uid_max - cfg->nss_uid_min) + 1;
	*out = (uint32_t)((uint64_t)cfg->nss_uid_min + v % span);
	return 0;
}

/* The local name whose login_format mapping is login (the reverse of
 * config_map_login, checked by mapping it back): 0, or -1. */
static int reverse_login(const struct ojit_config *cfg, const char *login, char *name, size_t n)
{
	const char *fmt = cfg->login_format != NULL ? cfg->login_format : "%u";
	char prefix[LEDGER_LOGIN_MAX + 1], suffix[LEDGER_LOGIN_MAX + 1], back[LEDGER_LOGIN_MAX + 1];
	size_t np = 0, ns = 0, len = strlen(login);
	const char *p;
	int seen = 0;

	for (p = fmt; *p != '\0'; p++) {
		char c = *p;

		if (*p == '%' && p[1] == 'u' && !seen) {
			seen = 1;
			p++;
			continue;
		}
		if (*p == '%' && p[1] == 'u')
			return -1; /* two %u: no single reverse */
		if (*p == '%' && p[1] == '%')
			p++;
		if (!seen) {
			if (np + 1 >= sizeof(prefix))
				return -1;
			prefix[np++] = c;
		} else {
			if (ns + 1 >= sizeof(suffix))
				return -1;
			suffix[ns++] = c;
		}
	}
	if (!seen || len <= np + ns || len - np - ns >= n)
		return -1;
	prefix[np] = suffix[ns] = '\0';
	/* Okta logins are case-insensitive */
	if (strncasecmp(login, prefix, np) != 0 || strcasecmp(login + len - ns, suffix) != 0)
		return -1;
	memcpy(name, login + np, len - np - ns);
	name[len - np - ns] = '\0';
	if (!jitd_valid_username(name) || strlen(name) > 32)
		return -1;
	if (config_map_login(cfg, name, back, sizeof(back)) != 0 || strcasecmp(back, login) != 0)
		return -1;
	return 0;
}

/* The GECOS as /etc/passwd can hold it: decoded, ':' and control
 * characters dropped, bounded. NULL when none. */
static char *gecos_of(const char *enc)
{
	char buf[1024];
	char *p, *q;
	int len;

	if (enc == NULL || enc[0] == '\0')
		return NULL;
	len = ojit_pct_decode(enc, buf, sizeof(buf));
	if (len <= 0)
		return NULL;
	for (p = q = buf; *p != '\0'; p++)
		if ((unsigned char)*p >= 0x20 && *p != 0x7f && *p != ':')
			*q++ = *p;
	*q = '\0';
	if (q - buf > 255)
		buf[255] = '\0';
	return buf[0] != '\0' ? strdup(buf) : NULL;
}

static void user_keys_free(struct nss_user *u)
{
	nss_keys_free(u->keys, u->nkeys);
	u->keys = NULL;
	u->nkeys = 0;
}

/* The user's keys from the snapshot's KEYS field: each decoded and
 * validated (sshkey.h); a refused one is logged (once) and left out. */
static void user_keys(struct nss *n, struct nss_user *u, const char *field)
{
	const struct ojit_config *cfg = n->d->cfg;
	char *copy = NULL, *p, *next;
	char *dec = NULL, *norm = NULL;
	size_t count = 0;

	if (cfg->nss_keys_attribute == NULL || field == NULL || field[0] == '\0')
		return;
	if (field[0] == '!') {
		char why[256];

		if (ojit_pct_decode(field + 1, why, sizeof(why)) < 0)
			ojit_strlcpy(why, "(unreadable reason)", sizeof(why));
		log_once(n, "user %s (Okta %s): SSH keys refused: %s", u->name, u->id, why);
		return;
	}
	copy = strdup(field);
	dec = malloc(SSHKEY_LINE_MAX + 1);
	norm = malloc(SSHKEY_LINE_MAX + 1);
	if (copy == NULL || dec == NULL || norm == NULL)
		goto out;
	for (p = copy; *p != '\0'; p++)
		if (*p == ' ')
			count++;
	if (count + 1 > SSHKEY_MAX) {
		log_once(n, "user %s (Okta %s): SSH keys refused: more than %d entries", u->name, u->id, SSHKEY_MAX);
		goto out;
	}
	u->keys = calloc(count + 1, sizeof(*u->keys));
	if (u->keys == NULL)
		goto out;
	for (p = copy; p != NULL; p = next) {
		const char *why = "";

		next = strchr(p, ' ');
		if (next != NULL)
			*next++ = '\0';
		if (*p == '\0')
			continue;
		if (ojit_pct_decode(p, dec, SSHKEY_LINE_MAX + 1) < 0) {
			log_once(n, "user %s (Okta %s): SSH key %zu refused: too long or badly encoded", u->name, u->id,
				 u->nkeys + 1);
			continue;
		}
		if (sshkey_normalise(dec, cfg->nss_key_options_allowed, norm, SSHKEY_LINE_MAX + 1, &why) != 0) {
			log_once(n, "user %s (Okta %s): SSH key refused: %s", u->name, u->id, why);
			continue;
		}
		if ((u->keys[u->nkeys] = strdup(norm)) == NULL)
			break;
		u->nkeys++;
	}
out:
	free(copy);
	free(dec);
	free(norm);
}

static int user_uid_cmp(const void *a, const void *b)
{
	const struct nss_user *x = a, *y = b;

	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

static int user_name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct nss_user *)a)->name, ((const struct nss_user *)b)->name);
}

/* The users this host offers: each directory user with a local name and
 * a UID, not a local account's, not shared with another Okta user. */
static struct nss_user *users_build(struct nss *n, const struct dir_user *du, size_t ndu, size_t *nout)
{
	const struct ojit_config *cfg = n->d->cfg;
	struct nss_user *u = calloc(ndu > 0 ? ndu : 1, sizeof(*u));
	size_t i, j, k = 0;

	*nout = 0;
	if (u == NULL)
		return NULL;
	for (i = 0; i < ndu; i++) {
		struct nss_user *x = &u[k];
		int64_t v;

		if (reverse_login(cfg, du[i].login, x->name, sizeof(x->name)) != 0) {
			log_once(n, "Okta user %s (login %s) maps to no valid local name through login_format; not offered",
				 du[i].id, du[i].login);
			continue;
		}
		ojit_strlcpy(x->id, du[i].id, sizeof(x->id));
		x->src = i;
		x->groups = du[i].groups;
		if (cfg->nss_uid_attribute != NULL && du[i].uid_attr[0] != '\0') {
			if (du[i].uid_attr[0] == '!') {
				char why[256];

				if (ojit_pct_decode(du[i].uid_attr + 1, why, sizeof(why)) < 0)
					ojit_strlcpy(why, "(unreadable reason)", sizeof(why));
				log_once(n, "user %s (Okta %s): profile UID refused: %s; not offered", x->name, x->id, why);
				continue;
			}
			if (ojit_parse_int64(du[i].uid_attr, INT64_MIN, INT64_MAX, &v) != 0) {
				log_once(n, "user %s (Okta %s): profile UID is not a number; not offered", x->name, x->id);
				continue;
			}
			if (v < 0) {
				log_once(n, "user %s (Okta %s): profile UID %lld is negative; not offered", x->name, x->id,
					 (long long)v);
				continue;
			}
			if (v < cfg->nss_uid_min || v > cfg->nss_uid_max) {
				log_once(n, "user %s (Okta %s): profile UID %lld is outside uid_range %lld-%lld; not offered",
					 x->name, x->id, (long long)v, (long long)cfg->nss_uid_min,
					 (long long)cfg->nss_uid_max);
				continue;
			}
			x->uid = (uint32_t)v;
		} else if (derive_id(cfg, x->id, &x->uid) != 0) {
			error_f("SHA-256 failed");
			continue;
		}
		if (local_has_name(n, x->name)) {
			log_once(n, "user %s (Okta %s): a local account or group has that name; not offered (local wins)",
				 x->name, x->id);
			continue;
		}
		if (local_has_id(n, x->uid)) {
			log_once(n, "user %s (Okta %s): UID %u is a local account's or group's; not offered (local wins)",
				 x->name, x->id, (unsigned)x->uid);
			continue;
		}
		k++;
	}
	/* Two Okta users on one UID, or one name: neither is offered (which
	 * one a lookup found would depend on the order of a listing). */
	qsort(u, k, sizeof(*u), user_uid_cmp);
	for (i = 0; i < k; i = j) {
		for (j = i + 1; j < k && u[j].uid == u[i].uid; j++)
			;
		if (j - i > 1)
			for (size_t m = i; m < j; m++) {
				u[m].refused = 1;
				log_once(n, "user %s (Okta %s): UID %u is also another Okta user's (%s); neither is offered",
					 u[m].name, u[m].id, (unsigned)u[m].uid, u[m == i ? i + 1 : i].id);
			}
	}
	qsort(u, k, sizeof(*u), user_name_cmp);
	for (i = 0; i < k; i = j) {
		for (j = i + 1; j < k && strcmp(u[j].name, u[i].name) == 0; j++)
			;
		if (j - i > 1)
			for (size_t m = i; m < j; m++) {
				u[m].refused = 1;
				log_once(n, "user %s (Okta %s): the name is also another Okta user's (%s); neither is offered",
					 u[m].name, u[m].id, u[m == i ? i + 1 : i].id);
			}
	}
	for (i = j = 0; i < k; i++) {
		if (u[i].refused)
			continue;
		u[j] = u[i];
		if (config_nss_home(cfg, u[j].name, u[j].home, sizeof(u[j].home)) != 0) {
			log_once(n, "user %s: the home template does not fit; not offered", u[j].name);
			continue;
		}
		j++;
	}
	/* the directory entries for the fields still encoded */
	for (i = 0; i < j; i++) {
		const struct dir_user *src = &du[u[i].src];

		if (cfg->nss_gecos_attribute != NULL)
			u[i].gecos = gecos_of(src->gecos);
		user_keys(n, &u[i], src->keys);
	}
	*nout = j;
	return u;
}

static void users_free(struct nss_user *u, size_t n)
{
	size_t i;

	if (u == NULL)
		return;
	for (i = 0; i < n; i++) {
		user_keys_free(&u[i]);
		free(u[i].gecos);
	}
	free(u);
}

/* --------------------------------------------------------------- groups */

struct grants_read {
	struct nss *n;
	int64_t now;
	int failed;
	struct jit_group *jit;
};

static int grant_seen(const struct grant *g, void *ctx)
{
	struct grants_read *r = ctx;
	const struct ojit_config *cfg = r->n->d->cfg;
	struct jit_group *jg = NULL;
	size_t i;

	if (strcmp(g->state, GS_ACTIVE) != 0 || g->end_at <= r->now || !jitd_valid_username(g->user))
		return 0;
	for (i = 0; i < cfg->nnss_groups; i++)
		if (strcmp(cfg->nss_groups[i], g->grp) == 0) {
			jg = &r->jit[i];
			break;
		}
	if (jg == NULL)
		return 0;
	/* a gate takes only what a granter of its fleet signed */
	if (r->n->d->keys.nverify > 0 && !fleet_grant_ok(&r->n->d->keys, g))
		return 0;
	for (i = 0; i < jg->n; i++)
		if (strcmp(jg->m[i].user, g->user) == 0) {
			if (g->end_at > jg->m[i].end_at)
				jg->m[i].end_at = g->end_at;
			return 0;
		}
	if (jg->n == jg->cap) {
		size_t cap = jg->cap ? jg->cap * 2 : 8;
		struct jit_member *v = realloc(jg->m, cap * sizeof(*v));

		if (v == NULL) {
			r->failed = 1;
			return 1;
		}
		jg->m = v;
		jg->cap = cap;
	}
	ojit_strlcpy(jg->m[jg->n].user, g->user, sizeof(jg->m[0].user));
	jg->m[jg->n].end_at = g->end_at;
	jg->n++;
	return 0;
}

static void jit_free(struct jit_group *jit, size_t n)
{
	size_t i;

	if (jit == NULL)
		return;
	for (i = 0; i < n; i++)
		free(jit[i].m);
	free(jit);
}

/* The active grants of the [nss] groups, from the ledger. 0, or -1 (the
 * last good read stays: the module ends each member at its grant's end
 * by itself, so an outage never extends one). */
static int grants_read(struct nss *n)
{
	const struct ojit_config *cfg = n->d->cfg;
	struct grants_read r = { n, ojit_now(), 0, NULL };

	r.jit = calloc(cfg->nnss_groups > 0 ? cfg->nnss_groups : 1, sizeof(*r.jit));
	if (r.jit == NULL)
		return -1;
	if (cfg->nnss_groups > 0 &&
	    (ledger_grant_list(n->d->ledger, NULL, GS_ACTIVE, NSS_GRANTS_MAX, grant_seen, &r) != LEDGER_OK || r.failed)) {
		warn_f("[nss]: cannot read the active grants: %s; the groups' members stay as last read",
		       r.failed ? "out of memory" : ledger_last_error(n->d->ledger));
		jit_free(r.jit, cfg->nnss_groups);
		return -1;
	}
	jit_free(n->jit, cfg->nnss_groups);
	n->jit = r.jit;
	n->jit_read = 1;
	return 0;
}

/* The gid of [nss] group grp: derived from its Okta id, which a snapshot
 * holds, or (a host with an Okta credential) Okta says. */
static int group_gid(struct nss *n, const char *grp, uint32_t *gid)
{
	char id[OKTA_ID_MAX + 1];
	const char *have = directory_group_id(n->dir, grp);
	struct okta_error err;
	struct timespec deadline;

	if (have[0] != '\0') {
		ojit_strlcpy(id, have, sizeof(id));
	} else {
		if (n->d->okta == NULL)
			return -1;
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_sec += NSS_GROUP_ID_WAIT_S;
		if (check_group_id(n->d, grp, 1, 0, &deadline, id, sizeof(id), &err) != 0)
			return -1;
	}
	return derive_id(n->d->cfg, id, gid);
}

/* ------------------------------------------------------------ the write */

static void digest_str(EVP_MD_CTX *c, const char *s)
{
	EVP_DigestUpdate(c, s != NULL ? s : "", s != NULL ? strlen(s) + 1 : 1);
}

static void digest_u64(EVP_MD_CTX *c, uint64_t v)
{
	EVP_DigestUpdate(c, &v, sizeof(v));
}

/* Build the users and groups and write the cache when they differ from
 * the last written, or force. The table for KEYS is swapped in. */
static void cache_build(struct nss *n, int force, int64_t *next_stale)
{
	struct jitd *d = n->d;
	const struct ojit_config *cfg = d->cfg;
	struct dir_user *du;
	struct nss_user *users = NULL;
	struct nss_cache_user *cu = NULL;
	struct nss_cache_group *cg = NULL;
	struct nss_cache_member **members = NULL;
	struct nss_table *t = NULL, *old;
	size_t ndu = 0, nu = 0, i, j, ng = 0;
	int64_t now = ojit_now();
	unsigned char md[32];
	unsigned mdlen = 0;
	EVP_MD_CTX *ctx = NULL;
	char err[512], (*gnames)[NAMES_USER_MAX + 1] = NULL;

	du = directory_users(n->dir, now, cfg->outage_grace, &ndu, next_stale);
	users = users_build(n, du, ndu, &nu);
	if (users == NULL && ndu > 0)
		goto out;
	cu = calloc(nu > 0 ? nu : 1, sizeof(*cu));
	cg = calloc(nu + cfg->nnss_groups + 1, sizeof(*cg));
	members = calloc(cfg->nnss_groups + 1, sizeof(*members));
	gnames = calloc(cfg->nnss_groups + 1, sizeof(*gnames));
	ctx = EVP_MD_CTX_new();
	if (cu == NULL || cg == NULL || members == NULL || gnames == NULL || ctx == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto oom;
	for (i = 0; i < nu; i++) {
		cu[i].name = users[i].name;
		cu[i].uid = users[i].uid;
		cu[i].gid = users[i].uid;
		cu[i].gecos = users[i].gecos;
		cu[i].dir = users[i].home;
		cu[i].shell = cfg->nss_shell;
		/* the user private group */
		cg[ng].name = users[i].name;
		cg[ng].gid = users[i].uid;
		ng++;
		digest_str(ctx, users[i].name);
		digest_u64(ctx, users[i].uid);
		digest_str(ctx, users[i].gecos);
		digest_str(ctx, users[i].home);
	}
	for (i = 0; i < cfg->nnss_groups; i++) {
		const char *grp = cfg->nss_groups[i];
		const struct jit_group *jg = n->jit_read ? &n->jit[i] : NULL;
		uint32_t gid;
		size_t k;
		int clash = 0;

		if (config_nss_group_name(cfg, grp, gnames[i], sizeof(gnames[i])) != 0 ||
		    !jitd_valid_username(gnames[i])) {
			log_once(n, "group %s: group_name gives no valid local group name; not offered", grp);
			continue;
		}
		if (local_has_name(n, gnames[i])) {
			log_once(n, "group %s: a local account or group is named %s; not offered (local wins)", grp,
				 gnames[i]);
			continue;
		}
		if (group_gid(n, grp, &gid) != 0) {
			log_once(n, "group %s: its Okta id is not known yet (no snapshot, no answer from Okta); %s is "
				 "not offered until it is", grp, gnames[i]);
			continue;
		}
		if (local_has_id(n, gid)) {
			log_once(n, "group %s: GID %u is a local account's or group's; %s not offered (local wins)", grp,
				 (unsigned)gid, gnames[i]);
			continue;
		}
		for (k = 0; k < ng && !clash; k++)
			if (cg[k].gid == gid || strcmp(cg[k].name, gnames[i]) == 0)
				clash = 1;
		if (clash) {
			log_once(n, "group %s: %s or GID %u is also an Okta user's or another group's; not offered", grp,
				 gnames[i], (unsigned)gid);
			continue;
		}
		members[i] = calloc(jg != NULL && jg->n > 0 ? jg->n : 1, sizeof(**members));
		if (members[i] == NULL)
			goto oom;
		cg[ng].name = gnames[i];
		cg[ng].gid = gid;
		cg[ng].members = members[i];
		digest_str(ctx, gnames[i]);
		digest_u64(ctx, gid);
		for (j = 0; jg != NULL && j < jg->n; j++) {
			if (jg->m[j].end_at <= now)
				continue;
			members[i][cg[ng].nmembers].user = jg->m[j].user;
			members[i][cg[ng].nmembers].end_at = jg->m[j].end_at;
			cg[ng].nmembers++;
			digest_str(ctx, jg->m[j].user);
			digest_u64(ctx, (uint64_t)jg->m[j].end_at);
		}
		ng++;
	}
	digest_u64(ctx, (uint64_t)cfg->nss_enumerate);
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1)
		goto oom;
	if (force || !n->written || memcmp(md, n->digest, sizeof(md)) != 0) {
		if (nss_cache_write_flags(cfg->nss_cache, cu, nu, cg, ng, now,
					  cfg->nss_enumerate ? NSS_CACHE_ENUMERATE : 0, err, sizeof(err)) != 0) {
			ojit_strip_controls(err);
			error_f("[nss]: cannot write %s: %s (the last one written stays)", cfg->nss_cache, err);
		} else {
			memcpy(n->digest, md, sizeof(md));
			n->written = 1;
			n->written_at = now;
			debug_f("[nss]: wrote %s: %zu users, %zu groups", cfg->nss_cache, nu, ng);
		}
	}
	/* the table the KEYS request reads: names, ids, groups, keys */
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		goto oom;
	for (i = 0; i < nu; i++) {
		free(users[i].gecos);
		users[i].gecos = NULL;
	}
	t->users = users;
	t->n = nu;
	users = NULL;
	pthread_rwlock_wrlock(&n->tlock);
	old = n->table;
	n->table = t;
	pthread_rwlock_unlock(&n->tlock);
	if (old != NULL) {
		users_free(old->users, old->n);
		free(old);
	}
	goto out;
oom:
	error_f("[nss]: out of memory; the cache is not written");
out:
	if (members != NULL)
		for (i = 0; i < cfg->nnss_groups; i++)
			free(members[i]);
	free(members);
	free(gnames);
	EVP_MD_CTX_free(ctx);
	free(cu);
	free(cg);
	users_free(users, nu);
	free(du);
}

/* --------------------------------------------------------------- thread */

static void nss_wait(struct nss *n, int64_t ms, int *snap, int *grant)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&n->lock);
	while (!n->kick_snap && !n->kick_grant && !n->quit)
		if (pthread_cond_timedwait(&n->cond, &n->lock, &ts) == ETIMEDOUT)
			break;
	*snap = n->kick_snap;
	*grant = n->kick_grant;
	n->kick_snap = n->kick_grant = 0;
	pthread_mutex_unlock(&n->lock);
}

static int quitting(struct nss *n)
{
	int q;

	pthread_mutex_lock(&n->lock);
	q = n->quit || n->d->stopping;
	pthread_mutex_unlock(&n->lock);
	return q;
}

static void *nss_thread(void *p)
{
	struct nss *n = p;
	const struct ojit_config *cfg = n->d->cfg;
	int64_t next_dir = 0, next_stale = 0, next_grants = 0;
	int snap = 1, grant = 1, dirty = 1;

	while (!quitting(n)) {
		int64_t now = ojit_now();
		int changed = 0;

		if (local_changed(n) && local_read(n) == 0)
			dirty = 1;
		if (snap || now >= next_dir) {
			if (directory_refresh(n->dir, n->d, &changed) == 0 && changed)
				dirty = 1;
			next_dir = now + cfg->cache_ttl;
		}
		/* a failed read is tried again at the next grant or after
		 * NSS_RETRY_S, not at every poll (a ledger that is down would
		 * fill the log) */
		if (grant || now >= next_grants) {
			if (grants_read(n) == 0) {
				dirty = 1;
				next_grants = now + cfg->cache_ttl;
			} else {
				next_grants = now + NSS_RETRY_S;
			}
		}
		if (next_stale != 0 && now >= next_stale)
			dirty = 1;
		if (dirty || now - n->written_at >= cfg->cache_ttl) {
			cache_build(n, now - n->written_at >= cfg->cache_ttl, &next_stale);
			dirty = 0;
		}
		nss_wait(n, NSS_POLL_MS, &snap, &grant);
	}
	return NULL;
}

int nss_start(struct jitd *d)
{
	struct nss *n;
	pthread_condattr_t ca;

	if (!d->cfg->nss_enabled)
		return 0;
	nss_resolve_keys_user(d);
	n = calloc(1, sizeof(*n));
	if (n == NULL)
		goto oom;
	n->d = d;
	n->dir = directory_new(d->cfg);
	n->logged = calloc(NSS_LOGGED_MAX, sizeof(*n->logged));
	if (n->dir == NULL || n->logged == NULL)
		goto oom;
	pthread_mutex_init(&n->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&n->cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_rwlock_init(&n->tlock, NULL);
	(void)local_changed(n);
	if (local_read(n) != 0)
		ojit_log(LOG_WARNING, "[nss]: the local accounts cannot be read: no Okta user is offered until they are");
	if (pthread_create(&n->thread, NULL, nss_thread, n) != 0) {
		error_f("cannot start the NSS cache writer: %s", strerror(errno));
		pthread_rwlock_destroy(&n->tlock);
		pthread_cond_destroy(&n->cond);
		pthread_mutex_destroy(&n->lock);
		goto fail;
	}
	n->started = 1;
	d->nss = n;
	ojit_log(LOG_INFO, "[nss]: writing %s for the members of the flows' requesters groups", d->cfg->nss_cache);
	return 0;
oom:
	error_f("out of memory");
fail:
	if (n != NULL) {
		directory_free(n->dir);
		free(n->logged);
		local_free(&n->local);
		free(n);
	}
	return -1;
}

void nss_stop(struct jitd *d)
{
	struct nss *n = d->nss;

	if (n == NULL)
		return;
	pthread_mutex_lock(&n->lock);
	n->quit = 1;
	pthread_cond_signal(&n->cond);
	pthread_mutex_unlock(&n->lock);
	pthread_join(n->thread, NULL);
	d->nss = NULL;
	if (n->table != NULL) {
		users_free(n->table->users, n->table->n);
		free(n->table);
	}
	jit_free(n->jit, d->cfg->nnss_groups);
	directory_free(n->dir);
	local_free(&n->local);
	free(n->logged);
	pthread_rwlock_destroy(&n->tlock);
	pthread_cond_destroy(&n->cond);
	pthread_mutex_destroy(&n->lock);
	free(n);
}

static void kick(struct jitd *d, int snap)
{
	struct nss *n = d->nss;

	if (n == NULL)
		return;
	pthread_mutex_lock(&n->lock);
	if (snap)
		n->kick_snap = 1;
	else
		n->kick_grant = 1;
	pthread_cond_signal(&n->cond);
	pthread_mutex_unlock(&n->lock);
}

void nss_snapshot_written(struct jitd *d, const char *group)
{
	(void)group;
	kick(d, 1);
}

void nss_grant_written(struct jitd *d, const char *user, const char *group)
{
	(void)user;
	(void)group;
	kick(d, 0);
}

/* ------------------------------------------------------------------ KEYS */

/* Does user hold an active grant for grp now? A gate asks its memory of
 * the shared ledger (signed rows only), any other host its ledger. */
static int grant_active(struct jitd *d, const char *user, const char *grp, int64_t now)
{
	struct grant g;

	if (d->cfg->role_gate && d->mirror != NULL) {
		struct mirror_grant mg;

		mirror_grant(d->mirror, user, grp, now, &mg);
		return mg.active;
	}
	return ledger_grant_active(d->ledger, user, grp, now, &g) == LEDGER_OK;
}

void nss_keys_free(char **keys, size_t n)
{
	size_t i;

	if (keys == NULL)
		return;
	for (i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
}

int nss_user_keys(struct jitd *d, const char *user, char ***keys, size_t *nkeys, char *why, size_t whylen)
{
	struct nss *n = d->nss;
	struct nss_user want, *u;
	uint64_t groups = 0;
	size_t i, j, nk = 0;
	char **copy = NULL, who[NAMES_USER_MAX + 1];
	int may = 0, r = -1;
	int64_t now = ojit_now();

	*keys = NULL;
	*nkeys = 0;
	snprintf(why, whylen, "not an Okta user offered here");
	if (n == NULL) {
		snprintf(why, whylen, "[nss] is off");
		return 0;
	}
	memset(&want, 0, sizeof(want));
	ojit_strlcpy(want.name, user, sizeof(want.name));
	pthread_rwlock_rdlock(&n->tlock);
	u = n->table != NULL && n->table->n > 0
		    ? bsearch(&want, n->table->users, n->table->n, sizeof(*n->table->users), user_name_cmp)
		    : NULL;
	if (u != NULL && u->nkeys > 0) {
		copy = calloc(u->nkeys, sizeof(*copy));
		if (copy == NULL)
			goto unlock;
		for (nk = 0; nk < u->nkeys; nk++)
			if ((copy[nk] = strdup(u->keys[nk])) == NULL)
				goto unlock;
	}
	if (u != NULL) {
		groups = u->groups;
		ojit_strlcpy(who, u->name, sizeof(who));
	}
	r = 0;
unlock:
	pthread_rwlock_unlock(&n->tlock);
	if (r != 0 || u == NULL)
		goto out;
	if (nk == 0) {
		snprintf(why, whylen, "no valid SSH key in Okta");
		goto out;
	}
	/* May the user log in here now? */
	for (i = 0; i < d->cfg->nflows && !may; i++) {
		const struct flow_config *f = &d->cfg->flows[i];
		int listed = 0;

		for (j = 0; j < f->nrequesters && !listed; j++) {
			int gi = directory_group_index(n->dir, f->requesters[j]);

			listed = gi >= 0 && (groups >> gi & 1) != 0;
		}
		if (!listed)
			continue;
		if (f->ssh_keys == FLOW_KEYS_REQUESTERS) {
			may = 1;
			break;
		}
		for (j = 0; j < f->ngroups && !may; j++)
			may = grant_active(d, who, f->groups[j], now);
	}
	if (!may) {
		snprintf(why, whylen, "no active grant here");
		goto out;
	}
	*keys = copy;
	*nkeys = nk;
	copy = NULL;
	snprintf(why, whylen, "ok");
out:
	nss_keys_free(copy, nk);
	return r;
}
