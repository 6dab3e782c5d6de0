/* nss_cache.h - the NSS cache file: okta-jitd writes it, libnss_okta_jit
 * (and the tests, the fuzzer and the benchmark) read it.
 *
 * One binary file, little-endian, every table 8-byte aligned:
 *
 *   header     (struct nss_cache_header, 96 bytes)
 *   users      nusers  x struct nss_cache_urec, sorted by name (bytewise)
 *   users_id   nusers  x uint32 index into users, sorted by uid
 *   groups     ngroups x struct nss_cache_grec, sorted by name
 *   groups_id  ngroups x uint32 index into groups, sorted by gid
 *   members    nmembers x struct nss_cache_mrec, group by group (a group's
 *              members are members[first .. first+count)), each group's
 *              sorted by user name
 *   members_u  nmembers x uint32 index into members, sorted by user name
 *              (initgroups: one binary search finds all of a user's groups)
 *   strings    NUL-terminated strings; records hold offsets into it
 *
 * Lookups are binary searches over the mapped file; nothing is copied or
 * allocated. The reader checks the header's offsets and counts against the
 * file's size once at open, and every string and index when it is used, so
 * a truncated or hostile file gives "unusable" or "not found", never an
 * out-of-bounds read. The file holds nothing secret (it is world-readable).
 *
 * The file is only ever replaced (rename), never rewritten in place: a
 * reader's mapping keeps the old inode whole. Truncating the live file by
 * hand while a lookup has it mapped could SIGBUS that process; the size
 * check at open bounds everything else.
 */
#ifndef OJIT_NSS_CACHE_H
#define OJIT_NSS_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define NSS_CACHE_PATH "/var/cache/okta-jit/nss.cache"
#define NSS_CACHE_ENV "OKTA_JIT_NSS_CACHE"

#define NSS_CACHE_MAGIC "OJITNSS\0"
#define NSS_CACHE_VERSION 1u
/* Header flag: getpwent/getgrent list the cache ([nss] enumerate = yes). */
#define NSS_CACHE_ENUMERATE 0x1u
/* 100,000 users with their private groups take about 12 MiB; a file past
 * this is refused rather than mapped. */
#define NSS_CACHE_MAX_SIZE (256u * 1024u * 1024u)
/* Longest name, gecos, home or shell the writer takes (bytes, without NUL). */
#define NSS_CACHE_NAME_MAX 255u
#define NSS_CACHE_GECOS_MAX 1023u
#define NSS_CACHE_PATH_MAX 1023u

/* ---- writer (okta-jitd) ---- */
struct nss_cache_user {
	const char *name;
	uint32_t uid;
	uint32_t gid;
	const char *gecos; /* NULL = "" */
	const char *dir;
	const char *shell;
};
struct nss_cache_member {
	const char *user;
	int64_t end_at; /* the grant's end (unix s): not a member from that second on */
};
struct nss_cache_group {
	const char *name;
	uint32_t gid;
	const struct nss_cache_member *members;
	size_t nmembers;
};

/* Writes path atomically (tmp in the same folder, fsync, rename, 0644);
 * users and groups need not be sorted; 0, or -1 with err. Refuses duplicate
 * user names or uids, group names or gids, members listed twice in a group,
 * uid/gid 4294967295, and names, gecos, homes or shells that would break an
 * /etc/passwd line (':', control characters; names also ',' and spaces). */
int nss_cache_write(const char *path, const struct nss_cache_user *users, size_t nusers,
		    const struct nss_cache_group *groups, size_t ngroups, int64_t written_at,
		    char *err, size_t errlen);
/* The same with header flags (NSS_CACHE_ENUMERATE). */
int nss_cache_write_flags(const char *path, const struct nss_cache_user *users, size_t nusers,
			  const struct nss_cache_group *groups, size_t ngroups, int64_t written_at,
			  uint32_t flags, char *err, size_t errlen);

/* ---- on-disk layout ---- */
struct nss_cache_header {
	char magic[8];
	uint32_t version;
	uint32_t flags;
	uint64_t size; /* the whole file */
	int64_t written_at;
	uint32_t nusers, ngroups, nmembers, reserved;
	uint64_t users_off, users_id_off;
	uint64_t groups_off, groups_id_off;
	uint64_t members_off, members_u_off;
	uint64_t strings_off, strings_len;
};
struct nss_cache_urec {
	uint32_t name, uid, gid, gecos, dir, shell; /* strings: offsets into the pool */
};
struct nss_cache_grec {
	uint32_t name, gid, first, count;
};
struct nss_cache_mrec {
	uint32_t user;  /* string offset */
	uint32_t group; /* index into groups */
	int64_t end_at;
};

/* ---- reader ---- */
struct nss_cache {
	const unsigned char *base; /* the mapping, NULL when closed */
	size_t size;
	uint32_t flags;
	uint32_t nusers, ngroups, nmembers;
	int64_t written_at;
	const unsigned char *users, *users_id, *groups, *groups_id, *members, *members_u;
	const char *strings;
	size_t strings_len;
};

struct nss_cache_pw {
	const char *name, *gecos, *dir, *shell;
	uint32_t uid, gid;
};
struct nss_cache_gr {
	const char *name;
	uint32_t gid;
	uint32_t first, count; /* members, for nss_cache_member */
};

/* Opens, checks and maps path. The file must be a regular file owned by
 * owner (root for the module), not writable by group or others, of a size
 * within bounds, with a valid header. 0, or -1 with errno (ENOENT, EACCES for
 * owner/mode, EINVAL for a bad file, ...) and, if err, a reason. */
int nss_cache_open(const char *path, uid_t owner, struct nss_cache *c, char *err, size_t errlen);
/* Checks an image already in memory (the fuzzer); c points into it. */
int nss_cache_parse(const void *data, size_t size, struct nss_cache *c, char *err, size_t errlen);
void nss_cache_close(struct nss_cache *c);

/* 1 found (out filled, pointing into the mapping), 0 not found, -1 the
 * record is damaged (a string or index out of bounds). */
int nss_cache_user_by_name(const struct nss_cache *c, const char *name, struct nss_cache_pw *out);
int nss_cache_user_by_uid(const struct nss_cache *c, uint32_t uid, struct nss_cache_pw *out);
int nss_cache_user_at(const struct nss_cache *c, uint32_t i, struct nss_cache_pw *out);
int nss_cache_group_by_name(const struct nss_cache *c, const char *name, struct nss_cache_gr *out);
int nss_cache_group_by_gid(const struct nss_cache *c, uint32_t gid, struct nss_cache_gr *out);
int nss_cache_group_at(const struct nss_cache *c, uint32_t i, struct nss_cache_gr *out);
/* The i-th member of g (i < g->count); 1 with *user and *end_at, -1 damaged. */
int nss_cache_member(const struct nss_cache *c, const struct nss_cache_gr *g, uint32_t i, const char **user,
		     int64_t *end_at);
/* Calls fn for each group listing user as a member whose end_at > now;
 * stops early when fn returns nonzero. 0, or -1 if a record is damaged. */
int nss_cache_groups_of(const struct nss_cache *c, const char *user, int64_t now,
			int (*fn)(uint32_t gid, void *arg), void *arg);

#endif
