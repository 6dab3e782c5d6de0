/* nss_cache_write.c - writes the NSS cache file (format in nss_cache.h).
 * okta-jitd calls it; the NSS module does not link it. */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_file.h"
#include "nss_cache.h"

struct nss_writer {
	unsigned char *buf;
	size_t size;
	size_t str_at; /* next free byte of the string pool (file offset) */
	size_t str_off; /* the pool's start */
};

static void nss_werr(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void nss_werr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* A name as /etc/passwd, sudoers and shells take it without quoting:
 * [A-Za-z0-9._-], not starting with '-', not all digits (tools would read
 * it as an id), not "." or "..". */
static int name_ok(const char *s)
{
	size_t i, n;
	int digits = 1;

	if (s == NULL)
		return 0;
	n = strlen(s);
	if (n == 0 || n > NSS_CACHE_NAME_MAX || s[0] == '-' || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      ch == '.' || ch == '_' || ch == '-'))
			return 0;
		if (ch < '0' || ch > '9')
			digits = 0;
	}
	return !digits;
}

/* Free text of a passwd field: no ':' (the field separator), no control
 * characters (a newline would start a forged line in getent's output). */
static int text_ok(const char *s, size_t max)
{
	size_t n = strlen(s), i;

	if (n > max)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch < 0x20 || ch == 0x7f || ch == ':')
			return 0;
	}
	return 1;
}

static int path_ok(const char *s)
{
	return s != NULL && s[0] == '/' && text_ok(s, NSS_CACHE_PATH_MAX);
}

static int cmp_member_in_group(const void *a, const void *b, void *ctx)
{
	const struct nss_cache_member *m = ctx;

	return strcmp(m[*(const uint32_t *)a].user, m[*(const uint32_t *)b].user);
}

/* Sorting helpers: arrays of indices, ordered through a context. */
static int cmp_user_name(const void *a, const void *b, void *ctx)
{
	const struct nss_cache_user *u = ctx;

	return strcmp(u[*(const uint32_t *)a].name, u[*(const uint32_t *)b].name);
}

static int cmp_group_name(const void *a, const void *b, void *ctx)
{
	const struct nss_cache_group *g = ctx;

	return strcmp(g[*(const uint32_t *)a].name, g[*(const uint32_t *)b].name);
}

/* ids: the id of each position of the name-sorted table. */
static int cmp_id(const void *a, const void *b, void *ctx)
{
	const uint32_t *ids = ctx;
	uint32_t x = ids[*(const uint32_t *)a], y = ids[*(const uint32_t *)b];

	return x < y ? -1 : x > y;
}

/* names: each member's user name, in members-table order; ties by table
 * order so the file is the same for the same input. */
static int cmp_member_user(const void *a, const void *b, void *ctx)
{
	const char *const *names = ctx;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	int c = strcmp(names[x], names[y]);

	return c != 0 ? c : (x < y ? -1 : x > y);
}

static size_t align8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

static void wr32(unsigned char *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, sizeof(v));
}

static void wr64(unsigned char *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, sizeof(v));
}

/* Copies s into the pool; its offset from the pool's start. The pool was
 * sized for every string, so it cannot overflow. */
static uint32_t pool_add(struct nss_writer *w, const char *s)
{
	size_t n = strlen(s) + 1;
	uint32_t off = (uint32_t)(w->str_at - w->str_off);

	memcpy(w->buf + w->str_at, s, n);
	w->str_at += n;
	return off;
}

int nss_cache_write_flags(const char *path, const struct nss_cache_user *users, size_t nusers,
			  const struct nss_cache_group *groups, size_t ngroups, int64_t written_at,
			  uint32_t flags, char *err, size_t errlen)
{
	struct nss_writer w = {0};
	uint32_t *uorder = NULL, *uids = NULL, *uid_idx = NULL, *gorder = NULL, *gids = NULL, *gid_idx = NULL;
	uint32_t *m_idx = NULL, *m_group = NULL;
	const char **m_name = NULL;
	int64_t *m_end = NULL;
	size_t nmembers = 0, strings = 0, i, j, k, off;
	size_t users_off, users_id_off, groups_off, groups_id_off, members_off, members_u_off, strings_off;
	unsigned char *r;
	int rc = -1;

	if (nusers > UINT32_MAX / 2 || ngroups > UINT32_MAX / 2) {
		nss_werr(err, errlen, "too many users or groups");
		return -1;
	}
	/* Check everything first: a refused input writes nothing. */
	for (i = 0; i < nusers; i++) {
		const struct nss_cache_user *u = &users[i];

		if (!name_ok(u->name)) {
			nss_werr(err, errlen, "user %zu: invalid name", i);
			return -1;
		}
		if (u->uid == 0 || u->uid == UINT32_MAX || u->gid == 0 || u->gid == UINT32_MAX) {
			nss_werr(err, errlen, "user %s: uid %u or gid %u refused", u->name, u->uid, u->gid);
			return -1;
		}
		if ((u->gecos != NULL && !text_ok(u->gecos, NSS_CACHE_GECOS_MAX)) || !path_ok(u->dir) ||
		    !path_ok(u->shell)) {
			nss_werr(err, errlen, "user %s: invalid gecos, home or shell", u->name);
			return -1;
		}
		strings += strlen(u->name) + strlen(u->gecos ? u->gecos : "") + strlen(u->dir) + strlen(u->shell) + 4;
	}
	for (i = 0; i < ngroups; i++) {
		const struct nss_cache_group *g = &groups[i];

		if (!name_ok(g->name)) {
			nss_werr(err, errlen, "group %zu: invalid name", i);
			return -1;
		}
		if (g->gid == 0 || g->gid == UINT32_MAX) {
			nss_werr(err, errlen, "group %s: gid %u refused", g->name, g->gid);
			return -1;
		}
		if (g->nmembers > 0 && g->members == NULL) {
			nss_werr(err, errlen, "group %s: members missing", g->name);
			return -1;
		}
		if (g->nmembers > UINT32_MAX / 2 - nmembers) {
			nss_werr(err, errlen, "too many members");
			return -1;
		}
		nmembers += g->nmembers;
		strings += strlen(g->name) + 1;
		for (j = 0; j < g->nmembers; j++) {
			if (!name_ok(g->members[j].user)) {
				nss_werr(err, errlen, "group %s: member %zu: invalid name", g->name, j);
				return -1;
			}
			strings += strlen(g->members[j].user) + 1;
		}
	}
	users_off = align8(sizeof(struct nss_cache_header));
	users_id_off = align8(users_off + nusers * sizeof(struct nss_cache_urec));
	groups_off = align8(users_id_off + nusers * 4);
	groups_id_off = align8(groups_off + ngroups * sizeof(struct nss_cache_grec));
	members_off = align8(groups_id_off + ngroups * 4);
	members_u_off = align8(members_off + nmembers * sizeof(struct nss_cache_mrec));
	strings_off = align8(members_u_off + nmembers * 4);
	w.size = align8(strings_off + strings);
	if (w.size > NSS_CACHE_MAX_SIZE || strings >= UINT32_MAX) {
		nss_werr(err, errlen, "the cache would take %zu bytes, more than %u", w.size, NSS_CACHE_MAX_SIZE);
		return -1;
	}

	uorder = calloc(nusers + 1, sizeof(*uorder));
	uids = calloc(nusers + 1, sizeof(*uids));
	uid_idx = calloc(nusers + 1, sizeof(*uid_idx));
	gorder = calloc(ngroups + 1, sizeof(*gorder));
	gids = calloc(ngroups + 1, sizeof(*gids));
	gid_idx = calloc(ngroups + 1, sizeof(*gid_idx));
	m_idx = calloc(nmembers + 1, sizeof(*m_idx));
	m_group = calloc(nmembers + 1, sizeof(*m_group));
	m_name = calloc(nmembers + 1, sizeof(*m_name));
	m_end = calloc(nmembers + 1, sizeof(*m_end));
	w.buf = calloc(1, w.size);
	if (uorder == NULL || uids == NULL || uid_idx == NULL || gorder == NULL || gids == NULL || gid_idx == NULL ||
	    m_idx == NULL || m_group == NULL || m_name == NULL || m_end == NULL || w.buf == NULL) {
		nss_werr(err, errlen, "out of memory");
		goto out;
	}

	/* Users by name, then an index by uid; neighbours must differ. */
	for (i = 0; i < nusers; i++)
		uorder[i] = (uint32_t)i;
	qsort_r(uorder, nusers, sizeof(*uorder), cmp_user_name, (void *)(uintptr_t)users);
	for (i = 0; i < nusers; i++) {
		uids[i] = users[uorder[i]].uid;
		uid_idx[i] = (uint32_t)i;
		if (i > 0 && strcmp(users[uorder[i]].name, users[uorder[i - 1]].name) == 0) {
			nss_werr(err, errlen, "user %s listed twice", users[uorder[i]].name);
			goto out;
		}
	}
	qsort_r(uid_idx, nusers, sizeof(*uid_idx), cmp_id, uids);
	for (i = 1; i < nusers; i++) {
		if (uids[uid_idx[i]] == uids[uid_idx[i - 1]]) {
			nss_werr(err, errlen, "uid %u given to both %s and %s", uids[uid_idx[i]],
				 users[uorder[uid_idx[i - 1]]].name, users[uorder[uid_idx[i]]].name);
			goto out;
		}
	}
	for (i = 0; i < ngroups; i++)
		gorder[i] = (uint32_t)i;
	qsort_r(gorder, ngroups, sizeof(*gorder), cmp_group_name, (void *)(uintptr_t)groups);
	for (i = 0; i < ngroups; i++) {
		gids[i] = groups[gorder[i]].gid;
		gid_idx[i] = (uint32_t)i;
		if (i > 0 && strcmp(groups[gorder[i]].name, groups[gorder[i - 1]].name) == 0) {
			nss_werr(err, errlen, "group %s listed twice", groups[gorder[i]].name);
			goto out;
		}
	}
	qsort_r(gid_idx, ngroups, sizeof(*gid_idx), cmp_id, gids);
	for (i = 1; i < ngroups; i++) {
		if (gids[gid_idx[i]] == gids[gid_idx[i - 1]]) {
			nss_werr(err, errlen, "gid %u given to both %s and %s", gids[gid_idx[i]],
				 groups[gorder[gid_idx[i - 1]]].name, groups[gorder[gid_idx[i]]].name);
			goto out;
		}
	}

	/* Members, group by group in the groups' name order, each group's by
	 * user name; a user listed twice in one group is refused. m_group
	 * serves as the sort's scratch before it gets the group indices. */
	k = 0;
	for (i = 0; i < ngroups; i++) {
		const struct nss_cache_group *g = &groups[gorder[i]];
		uint32_t *order = m_group + k; /* scratch: overwritten below */

		for (j = 0; j < g->nmembers; j++)
			order[j] = (uint32_t)j;
		qsort_r(order, g->nmembers, sizeof(*order), cmp_member_in_group, (void *)(uintptr_t)g->members);
		for (j = 0; j < g->nmembers; j++) {
			const struct nss_cache_member *m = &g->members[order[j]];

			if (j > 0 && strcmp(m->user, m_name[k - 1]) == 0) {
				nss_werr(err, errlen, "group %s: member %s listed twice", g->name, m->user);
				goto out;
			}
			m_name[k] = m->user;
			m_end[k] = m->end_at;
			m_idx[k] = (uint32_t)k;
			k++;
		}
		for (j = 0; j < g->nmembers; j++)
			m_group[k - g->nmembers + j] = (uint32_t)i;
	}
	qsort_r(m_idx, nmembers, sizeof(*m_idx), cmp_member_user, m_name);

	/* Lay the file out. */
	w.str_off = strings_off;
	w.str_at = strings_off;
	memcpy(w.buf, NSS_CACHE_MAGIC, 8);
	wr32(w.buf + offsetof(struct nss_cache_header, version), NSS_CACHE_VERSION);
	wr32(w.buf + offsetof(struct nss_cache_header, flags), flags);
	wr64(w.buf + offsetof(struct nss_cache_header, size), w.size);
	wr64(w.buf + offsetof(struct nss_cache_header, written_at), (uint64_t)written_at);
	wr32(w.buf + offsetof(struct nss_cache_header, nusers), (uint32_t)nusers);
	wr32(w.buf + offsetof(struct nss_cache_header, ngroups), (uint32_t)ngroups);
	wr32(w.buf + offsetof(struct nss_cache_header, nmembers), (uint32_t)nmembers);
	wr64(w.buf + offsetof(struct nss_cache_header, users_off), users_off);
	wr64(w.buf + offsetof(struct nss_cache_header, users_id_off), users_id_off);
	wr64(w.buf + offsetof(struct nss_cache_header, groups_off), groups_off);
	wr64(w.buf + offsetof(struct nss_cache_header, groups_id_off), groups_id_off);
	wr64(w.buf + offsetof(struct nss_cache_header, members_off), members_off);
	wr64(w.buf + offsetof(struct nss_cache_header, members_u_off), members_u_off);
	wr64(w.buf + offsetof(struct nss_cache_header, strings_off), strings_off);
	wr64(w.buf + offsetof(struct nss_cache_header, strings_len), w.size - strings_off);
	for (i = 0; i < nusers; i++) {
		const struct nss_cache_user *u = &users[uorder[i]];

		r = w.buf + users_off + i * sizeof(struct nss_cache_urec);
		wr32(r + offsetof(struct nss_cache_urec, name), pool_add(&w, u->name));
		wr32(r + offsetof(struct nss_cache_urec, uid), u->uid);
		wr32(r + offsetof(struct nss_cache_urec, gid), u->gid);
		wr32(r + offsetof(struct nss_cache_urec, gecos), pool_add(&w, u->gecos ? u->gecos : ""));
		wr32(r + offsetof(struct nss_cache_urec, dir), pool_add(&w, u->dir));
		wr32(r + offsetof(struct nss_cache_urec, shell), pool_add(&w, u->shell));
		wr32(w.buf + users_id_off + i * 4, uid_idx[i]);
	}
	off = 0;
	for (i = 0; i < ngroups; i++) {
		const struct nss_cache_group *g = &groups[gorder[i]];

		r = w.buf + groups_off + i * sizeof(struct nss_cache_grec);
		wr32(r + offsetof(struct nss_cache_grec, name), pool_add(&w, g->name));
		wr32(r + offsetof(struct nss_cache_grec, gid), g->gid);
		wr32(r + offsetof(struct nss_cache_grec, first), (uint32_t)off);
		wr32(r + offsetof(struct nss_cache_grec, count), (uint32_t)g->nmembers);
		wr32(w.buf + groups_id_off + i * 4, gid_idx[i]);
		off += g->nmembers;
	}
	for (k = 0; k < nmembers; k++) {
		r = w.buf + members_off + k * sizeof(struct nss_cache_mrec);
		wr32(r + offsetof(struct nss_cache_mrec, user), pool_add(&w, m_name[k]));
		wr32(r + offsetof(struct nss_cache_mrec, group), m_group[k]);
		wr64(r + offsetof(struct nss_cache_mrec, end_at), (uint64_t)m_end[k]);
		wr32(w.buf + members_u_off + k * 4, m_idx[k]);
	}
	rc = ojit_write_atomic(path, w.buf, w.size, 0644, err, errlen);
out:
	free(w.buf);
	free(m_end);
	free(m_name);
	free(m_group);
	free(m_idx);
	free(gid_idx);
	free(gids);
	free(gorder);
	free(uid_idx);
	free(uids);
	free(uorder);
	return rc;
}

int nss_cache_write(const char *path, const struct nss_cache_user *users, size_t nusers,
		    const struct nss_cache_group *groups, size_t ngroups, int64_t written_at,
		    char *err, size_t errlen)
{
	return nss_cache_write_flags(path, users, nusers, groups, ngroups, written_at, 0, err, errlen);
}
