/* nss_cache.c - reads the NSS cache file (format in nss_cache.h).
 *
 * This file is linked into libnss_okta_jit.so.2, which runs inside every
 * process that looks up a user: it uses libc only, allocates nothing and
 * keeps no state between calls. A reader maps the file per call; the
 * mapping is private to the caller's struct nss_cache, so threads never
 * share one. Every offset is checked before it is followed. */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nss_cache.h"

/* The longest string a lookup follows: longer than anything the writer
 * puts there, and it bounds the scan for the NUL in a hostile pool. */
#define NSS_CACHE_STR_SCAN 4096u

static void nss_cache_seterr(char *err, size_t errlen, const char *msg)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", msg);
}

static uint32_t rd32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

static uint64_t rd64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

/* A table of n records of recsize bytes at off: inside the file, aligned. */
static int table_ok(uint64_t off, uint64_t n, uint64_t recsize, size_t size)
{
	if (off % 8 != 0 || off < sizeof(struct nss_cache_header) || off > size)
		return 0;
	return n * recsize <= size - off; /* n < 2^32, recsize <= 24: no overflow */
}

int nss_cache_parse(const void *data, size_t size, struct nss_cache *c, char *err, size_t errlen)
{
	const unsigned char *p = data;
	uint64_t users_off, users_id_off, groups_off, groups_id_off, members_off, members_u_off;
	uint64_t strings_off, strings_len;

	memset(c, 0, sizeof(*c));
	if (size < sizeof(struct nss_cache_header) || size > NSS_CACHE_MAX_SIZE) {
		nss_cache_seterr(err, errlen, "size out of bounds");
		goto bad;
	}
	if (memcmp(p + offsetof(struct nss_cache_header, magic), NSS_CACHE_MAGIC, 8) != 0) {
		nss_cache_seterr(err, errlen, "not an okta-jit NSS cache (magic)");
		goto bad;
	}
	if (rd32(p + offsetof(struct nss_cache_header, version)) != NSS_CACHE_VERSION) {
		nss_cache_seterr(err, errlen, "unknown version");
		goto bad;
	}
	if (rd64(p + offsetof(struct nss_cache_header, size)) != size) {
		nss_cache_seterr(err, errlen, "size differs from the header's (truncated?)");
		goto bad;
	}
	c->flags = rd32(p + offsetof(struct nss_cache_header, flags));
	c->written_at = (int64_t)rd64(p + offsetof(struct nss_cache_header, written_at));
	c->nusers = rd32(p + offsetof(struct nss_cache_header, nusers));
	c->ngroups = rd32(p + offsetof(struct nss_cache_header, ngroups));
	c->nmembers = rd32(p + offsetof(struct nss_cache_header, nmembers));
	users_off = rd64(p + offsetof(struct nss_cache_header, users_off));
	users_id_off = rd64(p + offsetof(struct nss_cache_header, users_id_off));
	groups_off = rd64(p + offsetof(struct nss_cache_header, groups_off));
	groups_id_off = rd64(p + offsetof(struct nss_cache_header, groups_id_off));
	members_off = rd64(p + offsetof(struct nss_cache_header, members_off));
	members_u_off = rd64(p + offsetof(struct nss_cache_header, members_u_off));
	strings_off = rd64(p + offsetof(struct nss_cache_header, strings_off));
	strings_len = rd64(p + offsetof(struct nss_cache_header, strings_len));
	if (!table_ok(users_off, c->nusers, sizeof(struct nss_cache_urec), size) ||
	    !table_ok(users_id_off, c->nusers, 4, size) ||
	    !table_ok(groups_off, c->ngroups, sizeof(struct nss_cache_grec), size) ||
	    !table_ok(groups_id_off, c->ngroups, 4, size) ||
	    !table_ok(members_off, c->nmembers, sizeof(struct nss_cache_mrec), size) ||
	    !table_ok(members_u_off, c->nmembers, 4, size) || !table_ok(strings_off, strings_len, 1, size)) {
		nss_cache_seterr(err, errlen, "a table lies outside the file");
		goto bad;
	}
	c->base = p;
	c->size = size;
	c->users = p + users_off;
	c->users_id = p + users_id_off;
	c->groups = p + groups_off;
	c->groups_id = p + groups_id_off;
	c->members = p + members_off;
	c->members_u = p + members_u_off;
	c->strings = (const char *)(p + strings_off);
	c->strings_len = (size_t)strings_len;
	return 0;
bad:
	memset(c, 0, sizeof(*c));
	errno = EINVAL;
	return -1;
}

int nss_cache_open(const char *path, uid_t owner, struct nss_cache *c, char *err, size_t errlen)
{
	struct stat st;
	void *map = MAP_FAILED;
	int fd = -1, rc = -1, saved;

	memset(c, 0, sizeof(*c));
	/* O_NOFOLLOW: a symlink planted in place of the file is refused, not
	 * followed to whatever it names. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0) {
		saved = errno;
		nss_cache_seterr(err, errlen, saved == ENOENT ? "no cache file" : "cannot open the cache file");
		errno = saved;
		return -1;
	}
	if (fstat(fd, &st) != 0) {
		nss_cache_seterr(err, errlen, "cannot stat the cache file");
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		nss_cache_seterr(err, errlen, "not a regular file");
		errno = EINVAL;
		goto out;
	}
	/* Anyone who can write the file can name themselves uid 0 or put
	 * themselves in a sudo group: only the owner may write it. */
	if (st.st_uid != owner || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		nss_cache_seterr(err, errlen, st.st_uid != owner ? "not owned by root" : "writable by group or others");
		errno = EACCES;
		goto out;
	}
	if (st.st_size < (off_t)sizeof(struct nss_cache_header) || st.st_size > (off_t)NSS_CACHE_MAX_SIZE) {
		nss_cache_seterr(err, errlen, "size out of bounds");
		errno = EINVAL;
		goto out;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		nss_cache_seterr(err, errlen, "cannot map the cache file");
		goto out;
	}
	if (nss_cache_parse(map, (size_t)st.st_size, c, err, errlen) != 0)
		goto out;
	map = MAP_FAILED; /* c owns it now */
	rc = 0;
out:
	saved = errno;
	if (map != MAP_FAILED)
		munmap(map, (size_t)st.st_size);
	close(fd);
	errno = saved;
	return rc;
}

/* Only for mappings made by nss_cache_open: a parsed buffer (the fuzzer)
 * belongs to its caller. */
void nss_cache_close(struct nss_cache *c)
{
	if (c->base != NULL)
		munmap((void *)(uintptr_t)c->base, c->size);
	memset(c, 0, sizeof(*c));
}

/* The string at pool offset off, or NULL if it is not NUL-terminated
 * within the pool and NSS_CACHE_STR_SCAN bytes. */
static const char *nss_cache_str(const struct nss_cache *c, uint32_t off)
{
	size_t room;

	if (off >= c->strings_len)
		return NULL;
	room = c->strings_len - off;
	if (room > NSS_CACHE_STR_SCAN)
		room = NSS_CACHE_STR_SCAN;
	if (memchr(c->strings + off, '\0', room) == NULL)
		return NULL;
	return c->strings + off;
}

static const unsigned char *urec(const struct nss_cache *c, uint32_t i)
{
	return c->users + (size_t)i * sizeof(struct nss_cache_urec);
}

static const unsigned char *grec(const struct nss_cache *c, uint32_t i)
{
	return c->groups + (size_t)i * sizeof(struct nss_cache_grec);
}

static const unsigned char *mrec(const struct nss_cache *c, uint32_t i)
{
	return c->members + (size_t)i * sizeof(struct nss_cache_mrec);
}

int nss_cache_user_at(const struct nss_cache *c, uint32_t i, struct nss_cache_pw *out)
{
	const unsigned char *r;

	if (c->base == NULL || i >= c->nusers)
		return 0;
	r = urec(c, i);
	out->name = nss_cache_str(c, rd32(r + offsetof(struct nss_cache_urec, name)));
	out->uid = rd32(r + offsetof(struct nss_cache_urec, uid));
	out->gid = rd32(r + offsetof(struct nss_cache_urec, gid));
	out->gecos = nss_cache_str(c, rd32(r + offsetof(struct nss_cache_urec, gecos)));
	out->dir = nss_cache_str(c, rd32(r + offsetof(struct nss_cache_urec, dir)));
	out->shell = nss_cache_str(c, rd32(r + offsetof(struct nss_cache_urec, shell)));
	/* The writer never gives uid or gid 0; a file that does is not ours
	 * (a second name for root would pass every uid-0 check). */
	if (out->name == NULL || out->gecos == NULL || out->dir == NULL || out->shell == NULL || out->uid == 0 ||
	    out->gid == 0)
		return -1;
	return 1;
}

int nss_cache_group_at(const struct nss_cache *c, uint32_t i, struct nss_cache_gr *out)
{
	const unsigned char *r;

	if (c->base == NULL || i >= c->ngroups)
		return 0;
	r = grec(c, i);
	out->name = nss_cache_str(c, rd32(r + offsetof(struct nss_cache_grec, name)));
	out->gid = rd32(r + offsetof(struct nss_cache_grec, gid));
	out->first = rd32(r + offsetof(struct nss_cache_grec, first));
	out->count = rd32(r + offsetof(struct nss_cache_grec, count));
	if (out->name == NULL || out->gid == 0 || out->first > c->nmembers || out->count > c->nmembers - out->first)
		return -1;
	return 1;
}

int nss_cache_member(const struct nss_cache *c, const struct nss_cache_gr *g, uint32_t i, const char **user,
		     int64_t *end_at)
{
	const unsigned char *r;

	if (c->base == NULL || i >= g->count || g->first > c->nmembers || g->count > c->nmembers - g->first)
		return -1;
	r = mrec(c, g->first + i);
	*user = nss_cache_str(c, rd32(r + offsetof(struct nss_cache_mrec, user)));
	*end_at = (int64_t)rd64(r + offsetof(struct nss_cache_mrec, end_at));
	return *user == NULL ? -1 : 1;
}

/* Binary search over n records in name order: name_at gives the i-th
 * record's name (NULL if damaged). The index of the match, -1 for none,
 * -2 for a damaged record on the way. */
static int64_t search_name(const struct nss_cache *c, uint32_t n, const char *name,
			   const char *(*name_at)(const struct nss_cache *, uint32_t))
{
	uint32_t lo = 0, hi = n, mid;
	const char *s;
	int cmp;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		s = name_at(c, mid);
		if (s == NULL)
			return -2;
		cmp = strcmp(name, s);
		if (cmp == 0)
			return mid;
		if (cmp < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

/* The same over an id index (uint32 indices into a table in id order). */
static int64_t search_id(const struct nss_cache *c, const unsigned char *index, uint32_t n, uint32_t id,
			 uint32_t (*id_at)(const struct nss_cache *, uint32_t))
{
	uint32_t lo = 0, hi = n, mid, i, v;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		i = rd32(index + (size_t)mid * 4);
		if (i >= n)
			return -2;
		v = id_at(c, i);
		if (v == id)
			return i;
		if (id < v)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

static const char *user_name_at(const struct nss_cache *c, uint32_t i)
{
	return nss_cache_str(c, rd32(urec(c, i) + offsetof(struct nss_cache_urec, name)));
}

static const char *group_name_at(const struct nss_cache *c, uint32_t i)
{
	return nss_cache_str(c, rd32(grec(c, i) + offsetof(struct nss_cache_grec, name)));
}

static uint32_t user_uid_at(const struct nss_cache *c, uint32_t i)
{
	return rd32(urec(c, i) + offsetof(struct nss_cache_urec, uid));
}

static uint32_t group_gid_at(const struct nss_cache *c, uint32_t i)
{
	return rd32(grec(c, i) + offsetof(struct nss_cache_grec, gid));
}

/* The member's name through members_u: an index out of bounds is NULL. */
static const char *member_u_name_at(const struct nss_cache *c, uint32_t k)
{
	uint32_t m = rd32(c->members_u + (size_t)k * 4);

	if (m >= c->nmembers)
		return NULL;
	return nss_cache_str(c, rd32(mrec(c, m) + offsetof(struct nss_cache_mrec, user)));
}

static int found(int64_t i)
{
	return i == -2 ? -1 : 0;
}

int nss_cache_user_by_name(const struct nss_cache *c, const char *name, struct nss_cache_pw *out)
{
	int64_t i;

	if (c->base == NULL)
		return 0;
	i = search_name(c, c->nusers, name, user_name_at);
	return i < 0 ? found(i) : nss_cache_user_at(c, (uint32_t)i, out);
}

int nss_cache_user_by_uid(const struct nss_cache *c, uint32_t uid, struct nss_cache_pw *out)
{
	int64_t i;

	if (c->base == NULL)
		return 0;
	i = search_id(c, c->users_id, c->nusers, uid, user_uid_at);
	return i < 0 ? found(i) : nss_cache_user_at(c, (uint32_t)i, out);
}

int nss_cache_group_by_name(const struct nss_cache *c, const char *name, struct nss_cache_gr *out)
{
	int64_t i;

	if (c->base == NULL)
		return 0;
	i = search_name(c, c->ngroups, name, group_name_at);
	return i < 0 ? found(i) : nss_cache_group_at(c, (uint32_t)i, out);
}

int nss_cache_group_by_gid(const struct nss_cache *c, uint32_t gid, struct nss_cache_gr *out)
{
	int64_t i;

	if (c->base == NULL)
		return 0;
	i = search_id(c, c->groups_id, c->ngroups, gid, group_gid_at);
	return i < 0 ? found(i) : nss_cache_group_at(c, (uint32_t)i, out);
}

int nss_cache_groups_of(const struct nss_cache *c, const char *user, int64_t now,
			int (*fn)(uint32_t gid, void *arg), void *arg)
{
	int64_t k;
	uint32_t lo, m, g;
	const char *s;
	const unsigned char *r;

	if (c->base == NULL)
		return 0;
	k = search_name(c, c->nmembers, user, member_u_name_at);
	if (k == -2)
		return -1;
	if (k < 0)
		return 0;
	/* Back to the first entry for this user, then forward over all. */
	lo = (uint32_t)k;
	while (lo > 0 && (s = member_u_name_at(c, lo - 1)) != NULL && strcmp(s, user) == 0)
		lo--;
	for (; lo < c->nmembers; lo++) {
		s = member_u_name_at(c, lo);
		if (s == NULL)
			return -1;
		if (strcmp(s, user) != 0)
			break;
		m = rd32(c->members_u + (size_t)lo * 4);
		r = mrec(c, m);
		if ((int64_t)rd64(r + offsetof(struct nss_cache_mrec, end_at)) <= now)
			continue;
		g = rd32(r + offsetof(struct nss_cache_mrec, group));
		if (g >= c->ngroups)
			return -1;
		if (fn(group_gid_at(c, g), arg) != 0)
			break;
	}
	return 0;
}
