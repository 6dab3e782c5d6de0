/* nss_okta_jit.c - libnss_okta_jit.so.2: passwd and group from the cache
 * file okta-jitd writes (nss_cache.h), for `passwd: files okta_jit` and
 * `group: files okta_jit` in nsswitch.conf.
 *
 * It runs inside every process that resolves a name (ls, sshd, sudo), so it
 * never talks to the network or to okta-jitd: each call maps the cache,
 * answers and unmaps it (a few microseconds; docs/benchmarks.md). It links
 * libc only, allocates nothing and keeps no global state except the
 * enumeration cursors, which are under a mutex. An unusable cache
 * (missing, not root's, writable by others, damaged) answers
 * NSS_STATUS_UNAVAIL, so the `files` entries before it still resolve. */
#include <errno.h>
#include <grp.h>
#include <nss.h>
#include <pthread.h>
#include <pwd.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nss_cache.h"

#define NSS_EXPORT __attribute__((visibility("default")))

/* setuid programs (sudo, su, passwd) get the built-in path: secure_getenv
 * ignores the variable there, so a caller cannot point sudo at a cache of
 * his own making. */
static const char *nss_ojit_path(void)
{
	const char *p = secure_getenv(NSS_CACHE_ENV);

	return p != NULL && p[0] != '\0' ? p : NSS_CACHE_PATH;
}

static enum nss_status nss_ojit_open(struct nss_cache *c, int *errnop)
{
	if (nss_cache_open(nss_ojit_path(), 0, c, NULL, 0) != 0) {
		*errnop = errno == ENOENT ? ENOENT : EIO;
		return NSS_STATUS_UNAVAIL;
	}
	return NSS_STATUS_SUCCESS;
}

/* A bump allocator over the caller's buffer. */
struct nss_ojit_buf {
	char *p;
	size_t left;
};

static char *buf_str(struct nss_ojit_buf *b, const char *s)
{
	size_t n = strlen(s) + 1;
	char *out;

	if (n > b->left)
		return NULL;
	out = b->p;
	memcpy(out, s, n);
	b->p += n;
	b->left -= n;
	return out;
}

static enum nss_status fill_pw(const struct nss_cache_pw *u, struct passwd *pw, char *buffer, size_t buflen,
			       int *errnop)
{
	struct nss_ojit_buf b = {buffer, buflen};

	pw->pw_name = buf_str(&b, u->name);
	/* "*", not "x": pam_unix's account check (Debian's common-account,
	 * which sudo and sshd include) takes "x" for a shadowed account,
	 * finds no /etc/shadow entry and refuses (PAM_AUTHINFO_UNAVAIL):
	 * sudo says "account validation failure" even with NOPASSWD. "*" is
	 * no password, as sssd and libnss_oslogin answer. */
	pw->pw_passwd = buf_str(&b, "*");
	pw->pw_gecos = buf_str(&b, u->gecos);
	pw->pw_dir = buf_str(&b, u->dir);
	pw->pw_shell = buf_str(&b, u->shell);
	if (pw->pw_name == NULL || pw->pw_passwd == NULL || pw->pw_gecos == NULL || pw->pw_dir == NULL ||
	    pw->pw_shell == NULL) {
		*errnop = ERANGE; /* glibc retries with a bigger buffer */
		return NSS_STATUS_TRYAGAIN;
	}
	pw->pw_uid = u->uid;
	pw->pw_gid = u->gid;
	return NSS_STATUS_SUCCESS;
}

/* gr_mem lists the members whose grant has not ended at now: a grant that
 * ends at 12:00:00 is gone from 12:00:00 on, the second the PAM gate also
 * refuses. */
static enum nss_status fill_gr(const struct nss_cache *c, const struct nss_cache_gr *g, int64_t now,
			       struct group *gr, char *buffer, size_t buflen, int *errnop)
{
	struct nss_ojit_buf b = {buffer, buflen};
	uintptr_t pad;
	uint32_t i, live = 0;
	const char *user;
	int64_t end_at;
	char **mem;

	for (i = 0; i < g->count; i++) {
		if (nss_cache_member(c, g, i, &user, &end_at) != 1)
			goto damaged;
		if (end_at > now)
			live++;
	}
	pad = (sizeof(char *) - (uintptr_t)b.p % sizeof(char *)) % sizeof(char *);
	if (pad + ((size_t)live + 1) * sizeof(char *) > b.left)
		goto range;
	mem = (char **)(void *)(b.p + pad);
	b.p += pad + ((size_t)live + 1) * sizeof(char *);
	b.left -= pad + ((size_t)live + 1) * sizeof(char *);
	gr->gr_name = buf_str(&b, g->name);
	gr->gr_passwd = buf_str(&b, "x");
	if (gr->gr_name == NULL || gr->gr_passwd == NULL)
		goto range;
	live = 0;
	for (i = 0; i < g->count; i++) {
		if (nss_cache_member(c, g, i, &user, &end_at) != 1)
			goto damaged;
		if (end_at <= now)
			continue;
		mem[live] = buf_str(&b, user);
		if (mem[live] == NULL)
			goto range;
		live++;
	}
	mem[live] = NULL;
	gr->gr_mem = mem;
	gr->gr_gid = g->gid;
	return NSS_STATUS_SUCCESS;
range:
	*errnop = ERANGE;
	return NSS_STATUS_TRYAGAIN;
damaged:
	*errnop = EIO;
	return NSS_STATUS_UNAVAIL;
}

/* found: nss_cache_*'s 1 / 0 / -1. */
static enum nss_status nss_ojit_miss(int found, int *errnop)
{
	if (found < 0) {
		*errnop = EIO;
		return NSS_STATUS_UNAVAIL;
	}
	*errnop = ENOENT;
	return NSS_STATUS_NOTFOUND;
}

NSS_EXPORT enum nss_status _nss_okta_jit_getpwnam_r(const char *name, struct passwd *pw, char *buffer,
						     size_t buflen, int *errnop);
enum nss_status _nss_okta_jit_getpwnam_r(const char *name, struct passwd *pw, char *buffer, size_t buflen,
					 int *errnop)
{
	struct nss_cache c;
	struct nss_cache_pw u;
	enum nss_status st;
	int found;

	st = nss_ojit_open(&c, errnop);
	if (st != NSS_STATUS_SUCCESS)
		return st;
	found = nss_cache_user_by_name(&c, name, &u);
	st = found == 1 ? fill_pw(&u, pw, buffer, buflen, errnop) : nss_ojit_miss(found, errnop);
	nss_cache_close(&c);
	return st;
}

NSS_EXPORT enum nss_status _nss_okta_jit_getpwuid_r(uid_t uid, struct passwd *pw, char *buffer, size_t buflen,
						     int *errnop);
enum nss_status _nss_okta_jit_getpwuid_r(uid_t uid, struct passwd *pw, char *buffer, size_t buflen,
					 int *errnop)
{
	struct nss_cache c;
	struct nss_cache_pw u;
	enum nss_status st;
	int found;

	st = nss_ojit_open(&c, errnop);
	if (st != NSS_STATUS_SUCCESS)
		return st;
	found = nss_cache_user_by_uid(&c, (uint32_t)uid, &u);
	st = found == 1 ? fill_pw(&u, pw, buffer, buflen, errnop) : nss_ojit_miss(found, errnop);
	nss_cache_close(&c);
	return st;
}

NSS_EXPORT enum nss_status _nss_okta_jit_getgrnam_r(const char *name, struct group *gr, char *buffer,
						     size_t buflen, int *errnop);
enum nss_status _nss_okta_jit_getgrnam_r(const char *name, struct group *gr, char *buffer, size_t buflen,
					 int *errnop)
{
	struct nss_cache c;
	struct nss_cache_gr g;
	enum nss_status st;
	int found;

	st = nss_ojit_open(&c, errnop);
	if (st != NSS_STATUS_SUCCESS)
		return st;
	found = nss_cache_group_by_name(&c, name, &g);
	st = found == 1 ? fill_gr(&c, &g, (int64_t)time(NULL), gr, buffer, buflen, errnop)
			: nss_ojit_miss(found, errnop);
	nss_cache_close(&c);
	return st;
}

NSS_EXPORT enum nss_status _nss_okta_jit_getgrgid_r(gid_t gid, struct group *gr, char *buffer, size_t buflen,
						     int *errnop);
enum nss_status _nss_okta_jit_getgrgid_r(gid_t gid, struct group *gr, char *buffer, size_t buflen,
					 int *errnop)
{
	struct nss_cache c;
	struct nss_cache_gr g;
	enum nss_status st;
	int found;

	st = nss_ojit_open(&c, errnop);
	if (st != NSS_STATUS_SUCCESS)
		return st;
	found = nss_cache_group_by_gid(&c, (uint32_t)gid, &g);
	st = found == 1 ? fill_gr(&c, &g, (int64_t)time(NULL), gr, buffer, buflen, errnop)
			: nss_ojit_miss(found, errnop);
	nss_cache_close(&c);
	return st;
}

/* ---- initgroups ---- */
struct nss_ojit_groups {
	gid_t skip; /* the primary group: the caller has it */
	long int *start, *size, limit;
	gid_t **groupsp;
	int nomem;
};

static int add_gid(uint32_t gid, void *arg)
{
	struct nss_ojit_groups *a = arg;
	long int i, want;
	gid_t *g;

	if ((gid_t)gid == a->skip)
		return 0;
	for (i = 0; i < *a->start; i++) {
		if ((*a->groupsp)[i] == (gid_t)gid)
			return 0;
	}
	if (a->limit > 0 && *a->start >= a->limit)
		return 1; /* full: the caller asked for no more */
	if (*a->start >= *a->size) {
		/* Growing the caller's array is the initgroups_dyn contract. */
		want = *a->size > 0 ? *a->size * 2 : 16;
		if (a->limit > 0 && want > a->limit)
			want = a->limit;
		g = realloc(*a->groupsp, (size_t)want * sizeof(gid_t));
		if (g == NULL) {
			a->nomem = 1;
			return 1;
		}
		*a->groupsp = g;
		*a->size = want;
	}
	(*a->groupsp)[(*a->start)++] = (gid_t)gid;
	return 0;
}

NSS_EXPORT enum nss_status _nss_okta_jit_initgroups_dyn(const char *user, gid_t group, long int *start,
							 long int *size, gid_t **groupsp, long int limit,
							 int *errnop);
enum nss_status _nss_okta_jit_initgroups_dyn(const char *user, gid_t group, long int *start, long int *size,
					     gid_t **groupsp, long int limit, int *errnop)
{
	struct nss_cache c;
	struct nss_ojit_groups a = {group, start, size, limit, groupsp, 0};
	enum nss_status st;
	int rc;

	st = nss_ojit_open(&c, errnop);
	if (st != NSS_STATUS_SUCCESS)
		return st;
	rc = nss_cache_groups_of(&c, user, (int64_t)time(NULL), add_gid, &a);
	nss_cache_close(&c);
	if (rc != 0) {
		*errnop = EIO;
		return NSS_STATUS_UNAVAIL;
	}
	if (a.nomem) {
		*errnop = ENOMEM;
		return NSS_STATUS_TRYAGAIN;
	}
	return NSS_STATUS_SUCCESS;
}

/* ---- enumeration ([nss] enumerate = yes only) ----
 * The cursor is an index into the cache's name-sorted table, under a mutex
 * (glibc serialises get*ent itself, but another library may not). The
 * cache is mapped per call like every other lookup; if it is replaced
 * mid-listing the listing goes on in the new file. */
static pthread_mutex_t nss_ojit_ent_lock = PTHREAD_MUTEX_INITIALIZER;
static uint32_t nss_ojit_pwent, nss_ojit_grent;

NSS_EXPORT enum nss_status _nss_okta_jit_setpwent(int stayopen);
enum nss_status _nss_okta_jit_setpwent(int stayopen)
{
	pthread_mutex_lock(&nss_ojit_ent_lock);
	nss_ojit_pwent = 0;
	pthread_mutex_unlock(&nss_ojit_ent_lock);
	return NSS_STATUS_SUCCESS;
}

NSS_EXPORT enum nss_status _nss_okta_jit_endpwent(void);
enum nss_status _nss_okta_jit_endpwent(void)
{
	return _nss_okta_jit_setpwent(0);
}

NSS_EXPORT enum nss_status _nss_okta_jit_getpwent_r(struct passwd *pw, char *buffer, size_t buflen,
						     int *errnop);
enum nss_status _nss_okta_jit_getpwent_r(struct passwd *pw, char *buffer, size_t buflen, int *errnop)
{
	struct nss_cache c;
	struct nss_cache_pw u;
	enum nss_status st;
	int found;

	pthread_mutex_lock(&nss_ojit_ent_lock);
	st = nss_ojit_open(&c, errnop);
	if (st != NSS_STATUS_SUCCESS)
		goto out;
	if ((c.flags & NSS_CACHE_ENUMERATE) == 0) {
		*errnop = ENOENT;
		st = NSS_STATUS_NOTFOUND;
		goto close;
	}
	found = nss_cache_user_at(&c, nss_ojit_pwent, &u);
	st = found == 1 ? fill_pw(&u, pw, buffer, buflen, errnop) : nss_ojit_miss(found, errnop);
	if (st == NSS_STATUS_SUCCESS)
		nss_ojit_pwent++; /* not on TRYAGAIN: glibc asks again with more room */
close:
	nss_cache_close(&c);
out:
	pthread_mutex_unlock(&nss_ojit_ent_lock);
	return st;
}

NSS_EXPORT enum nss_status _nss_okta_jit_setgrent(int stayopen);
enum nss_status _nss_okta_jit_setgrent(int stayopen)
{
	pthread_mutex_lock(&nss_ojit_ent_lock);
	nss_ojit_grent = 0;
	pthread_mutex_unlock(&nss_ojit_ent_lock);
	return NSS_STATUS_SUCCESS;
}

NSS_EXPORT enum nss_status _nss_okta_jit_endgrent(void);
enum nss_status _nss_okta_jit_endgrent(void)
{
	return _nss_okta_jit_setgrent(0);
}

NSS_EXPORT enum nss_status _nss_okta_jit_getgrent_r(struct group *gr, char *buffer, size_t buflen,
						     int *errnop);
enum nss_status _nss_okta_jit_getgrent_r(struct group *gr, char *buffer, size_t buflen, int *errnop)
{
	struct nss_cache c;
	struct nss_cache_gr g;
	enum nss_status st;
	int found;

	pthread_mutex_lock(&nss_ojit_ent_lock);
	st = nss_ojit_open(&c, errnop);
	if (st != NSS_STATUS_SUCCESS)
		goto out;
	if ((c.flags & NSS_CACHE_ENUMERATE) == 0) {
		*errnop = ENOENT;
		st = NSS_STATUS_NOTFOUND;
		goto close;
	}
	found = nss_cache_group_at(&c, nss_ojit_grent, &g);
	st = found == 1 ? fill_gr(&c, &g, (int64_t)time(NULL), gr, buffer, buflen, errnop)
			: nss_ojit_miss(found, errnop);
	if (st == NSS_STATUS_SUCCESS)
		nss_ojit_grent++;
close:
	nss_cache_close(&c);
out:
	pthread_mutex_unlock(&nss_ojit_ent_lock);
	return st;
}
