/* test_nss_cache.c - the NSS cache writer and reader (nss_cache.h): round
 * trips, sorting, refusals, and a reader that stays in bounds on any file. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "nss_cache.h"

static char dir[64];
static char path[128];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/ojit-nsscache-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/nss.cache", dir);
	return 0;
}

static int teardown(void **state)
{
	char cmd[160];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Given out of order on purpose: the writer sorts. */
static const struct nss_cache_member web_members[] = {
	{"zoe", 2000000000}, {"alice", 2000000000}, {"bob", 1000}, /* bob's grant ended long ago */
};
static const struct nss_cache_member db_members[] = {{"alice", 1500}};
static const struct nss_cache_user users[] = {
	{"zoe", 200030, 200030, "Zoe Z", "/home/zoe", "/bin/bash"},
	{"alice", 200010, 200010, NULL, "/home/alice", "/bin/sh"},
	{"bob", 200020, 200020, "Bob, B", "/home/bob", "/bin/bash"},
};
static const struct nss_cache_group groups[] = {
	{"zoe", 200030, NULL, 0},
	{"okta-web-sudo", 300001, web_members, 3},
	{"alice", 200010, NULL, 0},
	{"okta-db", 300002, db_members, 1},
	{"bob", 200020, NULL, 0},
};

static void write_sample(uint32_t flags)
{
	char err[256] = "";

	if (nss_cache_write_flags(path, users, 3, groups, 5, 1234, flags, err, sizeof(err)) != 0)
		fail_msg("write refused: %s", err);
}

static void open_ok(struct nss_cache *c)
{
	char err[256] = "";

	if (nss_cache_open(path, geteuid(), c, err, sizeof(err)) != 0)
		fail_msg("open refused: %s", err);
}

static int collect(uint32_t gid, void *arg)
{
	uint32_t *out = arg;

	out[++out[0]] = gid;
	return 0;
}

/* For damaged files: at most 63 gids, then stop. */
static int collect_bounded(uint32_t gid, void *arg)
{
	uint32_t *out = arg;

	if (out[0] >= 63)
		return 1;
	out[++out[0]] = gid;
	return 0;
}

static void test_round_trip(void **state)
{
	struct nss_cache c;
	struct nss_cache_pw u;
	struct nss_cache_gr g;
	struct stat st;
	const char *name;
	int64_t end_at;
	uint32_t gids[8] = {0};

	(void)state;
	write_sample(0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	open_ok(&c);
	assert_int_equal(c.nusers, 3);
	assert_int_equal(c.ngroups, 5);
	assert_int_equal(c.nmembers, 4);
	assert_int_equal(c.written_at, 1234);
	assert_int_equal(c.flags, 0);

	assert_int_equal(nss_cache_user_by_name(&c, "bob", &u), 1);
	assert_string_equal(u.name, "bob");
	assert_int_equal(u.uid, 200020);
	assert_int_equal(u.gid, 200020);
	assert_string_equal(u.gecos, "Bob, B");
	assert_string_equal(u.dir, "/home/bob");
	assert_string_equal(u.shell, "/bin/bash");
	assert_int_equal(nss_cache_user_by_name(&c, "alice", &u), 1);
	assert_string_equal(u.gecos, ""); /* NULL gecos */
	assert_int_equal(nss_cache_user_by_uid(&c, 200030, &u), 1);
	assert_string_equal(u.name, "zoe");
	assert_int_equal(nss_cache_user_by_name(&c, "carol", &u), 0);
	assert_int_equal(nss_cache_user_by_name(&c, "", &u), 0);
	assert_int_equal(nss_cache_user_by_uid(&c, 200011, &u), 0);
	assert_int_equal(nss_cache_user_by_uid(&c, 0, &u), 0);

	assert_int_equal(nss_cache_group_by_name(&c, "okta-web-sudo", &g), 1);
	assert_int_equal(g.gid, 300001);
	assert_int_equal(g.count, 3);
	/* members sorted by name, each with its own end */
	assert_int_equal(nss_cache_member(&c, &g, 0, &name, &end_at), 1);
	assert_string_equal(name, "alice");
	assert_int_equal(nss_cache_member(&c, &g, 1, &name, &end_at), 1);
	assert_string_equal(name, "bob");
	assert_int_equal(end_at, 1000);
	assert_int_equal(nss_cache_member(&c, &g, 2, &name, &end_at), 1);
	assert_string_equal(name, "zoe");
	assert_int_equal(end_at, 2000000000);
	assert_int_equal(nss_cache_member(&c, &g, 3, &name, &end_at), -1);
	assert_int_equal(nss_cache_group_by_gid(&c, 200010, &g), 1);
	assert_string_equal(g.name, "alice");
	assert_int_equal(g.count, 0);
	assert_int_equal(nss_cache_group_by_gid(&c, 300003, &g), 0);

	/* initgroups: alice is in web (till 2e9) and db (till 1500) */
	assert_int_equal(nss_cache_groups_of(&c, "alice", 1000, collect, gids), 0);
	assert_int_equal(gids[0], 2);
	memset(gids, 0, sizeof(gids));
	assert_int_equal(nss_cache_groups_of(&c, "alice", 1500, collect, gids), 0); /* the end second itself */
	assert_int_equal(gids[0], 1);
	assert_int_equal(gids[1], 300001);
	memset(gids, 0, sizeof(gids));
	assert_int_equal(nss_cache_groups_of(&c, "bob", 999, collect, gids), 0);
	assert_int_equal(gids[0], 1);
	memset(gids, 0, sizeof(gids));
	assert_int_equal(nss_cache_groups_of(&c, "bob", 1000, collect, gids), 0);
	assert_int_equal(gids[0], 0);
	assert_int_equal(nss_cache_groups_of(&c, "nobody", 0, collect, gids), 0);
	assert_int_equal(gids[0], 0);
	nss_cache_close(&c);
	assert_null(c.base);
}

static void test_sorted_tables(void **state)
{
	struct nss_cache c;
	struct nss_cache_pw u, prev;
	struct nss_cache_gr g, gprev;
	uint32_t i;

	(void)state;
	write_sample(NSS_CACHE_ENUMERATE);
	open_ok(&c);
	assert_int_equal(c.flags, NSS_CACHE_ENUMERATE);
	for (i = 0; i < c.nusers; i++) {
		assert_int_equal(nss_cache_user_at(&c, i, &u), 1);
		if (i > 0)
			assert_true(strcmp(prev.name, u.name) < 0);
		prev = u;
	}
	assert_int_equal(nss_cache_user_at(&c, c.nusers, &u), 0);
	for (i = 0; i < c.ngroups; i++) {
		assert_int_equal(nss_cache_group_at(&c, i, &g), 1);
		if (i > 0)
			assert_true(strcmp(gprev.name, g.name) < 0);
		gprev = g;
	}
	nss_cache_close(&c);
}

/* A writer given many users in reverse order finds each by name and id. */
static void test_many_users(void **state)
{
	enum { N = 2000 };
	static struct nss_cache_user many[N];
	static char names[N][16];
	struct nss_cache c;
	struct nss_cache_pw u;
	char err[256];
	int i;

	(void)state;
	for (i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "u%05d", N - i);
		/* uids in a different order than names */
		many[i] = (struct nss_cache_user){names[i], (uint32_t)(300000 + (i * 7919) % N), 100, "", "/h", "/bin/sh"};
	}
	if (nss_cache_write(path, many, N, NULL, 0, 0, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	open_ok(&c);
	for (i = 0; i < N; i++) {
		assert_int_equal(nss_cache_user_by_name(&c, names[i], &u), 1);
		assert_int_equal(u.uid, many[i].uid);
		assert_int_equal(nss_cache_user_by_uid(&c, many[i].uid, &u), 1);
		assert_string_equal(u.name, names[i]);
	}
	nss_cache_close(&c);
}

static void assert_write_refused(const struct nss_cache_user *u, size_t nu, const struct nss_cache_group *g,
				 size_t ng, const char *why)
{
	char err[256] = "";
	struct stat st;

	unlink(path);
	if (nss_cache_write(path, u, nu, g, ng, 0, err, sizeof(err)) == 0)
		fail_msg("accepted: %s", why);
	assert_true(strlen(err) > 0);
	assert_int_equal(stat(path, &st), -1); /* nothing written */
}

static void test_duplicates_refused(void **state)
{
	struct nss_cache_user u[2] = {{"ann", 200001, 200001, "", "/home/ann", "/bin/sh"},
				      {"ann", 200002, 200002, "", "/home/ann", "/bin/sh"}};
	struct nss_cache_group g[2] = {{"grp", 300001, NULL, 0}, {"grp", 300002, NULL, 0}};
	struct nss_cache_member m[2] = {{"ann", 5}, {"ann", 6}};

	(void)state;
	assert_write_refused(u, 2, NULL, 0, "two users of one name");
	u[1].name = "bea";
	u[1].uid = 200001;
	assert_write_refused(u, 2, NULL, 0, "two users of one uid");
	u[1].uid = 200002;
	assert_write_refused(u, 2, g, 2, "two groups of one name");
	g[1].name = "grp2";
	g[1].gid = 300001;
	assert_write_refused(u, 2, g, 2, "two groups of one gid");
	g[1].gid = 300002;
	g[0].members = m;
	g[0].nmembers = 2;
	assert_write_refused(u, 2, g, 2, "a member listed twice");
	m[1].user = "bea";
	{
		char err[256];

		assert_int_equal(nss_cache_write(path, u, 2, g, 2, 0, err, sizeof(err)), 0);
	}
}

static void test_bad_strings_refused(void **state)
{
	static const char *bad_names[] = {"", "a:b", "a b", "a\nb", "a,b", "-x", "123", ".", "..", "a/b", "é",
					  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
					  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
					  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
	struct nss_cache_user u = {"ann", 200001, 200001, "Ann", "/home/ann", "/bin/sh"};
	struct nss_cache_group g = {"grp", 300001, NULL, 0};
	struct nss_cache_member m = {"ann", 5};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		u.name = bad_names[i];
		assert_write_refused(&u, 1, NULL, 0, bad_names[i]);
		u.name = "ann";
		g.name = bad_names[i];
		assert_write_refused(&u, 1, &g, 1, bad_names[i]);
		g.name = "grp";
		m.user = bad_names[i];
		g.members = &m;
		g.nmembers = 1;
		assert_write_refused(&u, 1, &g, 1, bad_names[i]);
		m.user = "ann";
		g.nmembers = 0;
	}
	u.gecos = "Ann\nroot::0:0::/:/bin/sh";
	assert_write_refused(&u, 1, NULL, 0, "newline in gecos");
	u.gecos = "A:B";
	assert_write_refused(&u, 1, NULL, 0, "colon in gecos");
	u.gecos = "Ann";
	u.dir = "home/ann";
	assert_write_refused(&u, 1, NULL, 0, "relative home");
	u.dir = "/home/ann:x";
	assert_write_refused(&u, 1, NULL, 0, "colon in home");
	u.dir = NULL;
	assert_write_refused(&u, 1, NULL, 0, "no home");
	u.dir = "/home/ann";
	u.shell = "/bin/sh\n";
	assert_write_refused(&u, 1, NULL, 0, "newline in shell");
	u.shell = "/bin/sh";
	u.uid = 0;
	assert_write_refused(&u, 1, NULL, 0, "uid 0");
	u.uid = UINT32_MAX;
	assert_write_refused(&u, 1, NULL, 0, "uid -1");
	u.uid = 200001;
	u.gid = 0;
	assert_write_refused(&u, 1, NULL, 0, "gid 0");
	u.gid = 200001;
	g.gid = 0;
	assert_write_refused(&u, 1, &g, 1, "group gid 0");
}

static unsigned char *slurp(size_t *size)
{
	struct stat st;
	unsigned char *buf;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size);
	assert_non_null(buf);
	assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
	close(fd);
	*size = (size_t)st.st_size;
	return buf;
}

/* Every lookup the module makes, over whatever parsed; the answers do not
 * matter, staying in bounds does (valgrind and ASan run this test). */
static void exercise(const struct nss_cache *c)
{
	static const char *names[] = {"alice", "bob", "zoe", "okta-web-sudo", "okta-db", "x", ""};
	struct nss_cache_pw u;
	struct nss_cache_gr g;
	const char *s;
	int64_t e;
	uint32_t i, j, gids[64];
	size_t k;

	for (k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		(void)nss_cache_user_by_name(c, names[k], &u);
		if (nss_cache_group_by_name(c, names[k], &g) == 1) {
			for (j = 0; j < g.count && j < 64; j++)
				(void)nss_cache_member(c, &g, j, &s, &e);
		}
		gids[0] = 0;
		(void)nss_cache_groups_of(c, names[k], 0, collect_bounded, gids);
	}
	for (i = 0; i < 64; i++) {
		(void)nss_cache_user_by_uid(c, 200000 + i, &u);
		(void)nss_cache_group_by_gid(c, 200000 + i, &g);
		(void)nss_cache_user_at(c, i, &u);
		if (nss_cache_group_at(c, i, &g) == 1) {
			for (j = 0; j < g.count && j < 64; j++)
				(void)nss_cache_member(c, &g, j, &s, &e);
		}
	}
}

static void test_truncated_at_every_length(void **state)
{
	size_t size, n;
	unsigned char *full = NULL, *cut;
	struct nss_cache c;
	uint64_t le;
	char err[128];

	(void)state;
	write_sample(0);
	full = slurp(&size);
	for (n = 0; n < size; n++) {
		/* as is: the header's size no longer matches */
		cut = malloc(n ? n : 1);
		assert_non_null(cut);
		memcpy(cut, full, n);
		assert_int_equal(nss_cache_parse(cut, n, &c, err, sizeof(err)), -1);
		/* and with the size field forged to match: tables out of bounds */
		if (n >= sizeof(struct nss_cache_header)) {
			le = n;
			memcpy(cut + offsetof(struct nss_cache_header, size), &le, sizeof(le));
			if (nss_cache_parse(cut, n, &c, err, sizeof(err)) == 0)
				exercise(&c);
		}
		free(cut);
		/* the file itself, through open */
		assert_int_equal(truncate(path, (off_t)n), 0);
		assert_int_equal(nss_cache_open(path, geteuid(), &c, err, sizeof(err)), -1);
		assert_null(c.base);
		{
			int fd = open(path, O_WRONLY);

			assert_true(fd >= 0);
			assert_int_equal(pwrite(fd, full, size, 0), (ssize_t)size);
			close(fd);
		}
	}
	free(full);
}

static void test_flipped_bytes(void **state)
{
	static const unsigned char masks[] = {0xff, 0x01, 0x80, 0x10};
	size_t size, i, m;
	unsigned char *full, *copy;
	struct nss_cache c;
	int parsed = 0;

	(void)state;
	write_sample(NSS_CACHE_ENUMERATE);
	full = slurp(&size);
	for (i = 0; i < size; i++) {
		for (m = 0; m < sizeof(masks); m++) {
			copy = malloc(size);
			assert_non_null(copy);
			memcpy(copy, full, size);
			copy[i] ^= masks[m];
			if (nss_cache_parse(copy, size, &c, NULL, 0) == 0) {
				parsed++;
				exercise(&c);
			}
			free(copy);
		}
	}
	assert_true(parsed > 0); /* the body's bytes are not all checked at open */
	free(full);
}

static void test_owner_mode_type_refused(void **state)
{
	struct nss_cache c;
	char err[128], link[160];

	(void)state;
	write_sample(0);
	assert_int_equal(chmod(path, 0664), 0);
	assert_int_equal(nss_cache_open(path, geteuid(), &c, err, sizeof(err)), -1);
	assert_int_equal(errno, EACCES);
	assert_string_equal(err, "writable by group or others");
	assert_int_equal(chmod(path, 0646), 0);
	assert_int_equal(nss_cache_open(path, geteuid(), &c, err, sizeof(err)), -1);
	assert_int_equal(chmod(path, 0644), 0);
	/* owned by someone else than the expected owner */
	assert_int_equal(nss_cache_open(path, geteuid() + 1, &c, err, sizeof(err)), -1);
	assert_int_equal(errno, EACCES);
	assert_string_equal(err, "not owned by root");
	if (geteuid() == 0) {
		assert_int_equal(chown(path, 65534, 65534), 0);
		assert_int_equal(nss_cache_open(path, 0, &c, err, sizeof(err)), -1);
		assert_int_equal(errno, EACCES);
		assert_int_equal(chown(path, 0, 0), 0);
	}
	/* a symlink to a good file is not followed */
	snprintf(link, sizeof(link), "%s/link", dir);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(nss_cache_open(link, geteuid(), &c, err, sizeof(err)), -1);
	assert_int_equal(errno, ELOOP);
	/* a directory */
	assert_int_equal(nss_cache_open(dir, geteuid(), &c, err, sizeof(err)), -1);
	/* missing */
	snprintf(link, sizeof(link), "%s/none", dir);
	assert_int_equal(nss_cache_open(link, geteuid(), &c, err, sizeof(err)), -1);
	assert_int_equal(errno, ENOENT);
	assert_null(c.base);
	/* and the good one still opens */
	open_ok(&c);
	nss_cache_close(&c);
}

/* The writer leaves nothing but the file behind, and replaces it whole. */
static void test_atomic_replace(void **state)
{
	struct nss_cache c;
	struct nss_cache_pw u;
	DIR *d;
	struct dirent *e;
	int n = 0;
	char err[128];

	(void)state;
	write_sample(0);
	open_ok(&c); /* a reader holding the old mapping keeps its answers */
	assert_int_equal(nss_cache_write(path, users, 1, NULL, 0, 99, err, sizeof(err)), 0);
	assert_int_equal(nss_cache_user_by_name(&c, "bob", &u), 1);
	nss_cache_close(&c);
	open_ok(&c);
	assert_int_equal(c.nusers, 1);
	assert_int_equal(c.written_at, 99);
	assert_int_equal(nss_cache_user_by_name(&c, "bob", &u), 0);
	nss_cache_close(&c);
	d = opendir(dir);
	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] != '.')
			n++;
	}
	closedir(d);
	assert_int_equal(n, 1);
	/* a folder that does not exist: an error, not a crash */
	assert_int_equal(nss_cache_write("/nonexistent-ojit/nss.cache", users, 1, NULL, 0, 0, err, sizeof(err)), -1);
	assert_true(strlen(err) > 0);
}

/* A file that names a user or group 0 (the writer never does) answers
 * "damaged" for that record, not root under another name. */
static void test_id_zero_refused(void **state)
{
	struct nss_cache c;
	struct nss_cache_pw u;
	struct nss_cache_gr g;
	size_t size;
	unsigned char *buf;
	uint64_t off;
	uint32_t zero = 0;

	(void)state;
	write_sample(0);
	buf = slurp(&size);
	assert_int_equal(nss_cache_parse(buf, size, &c, NULL, 0), 0);
	assert_int_equal(nss_cache_user_by_name(&c, "alice", &u), 1);
	memcpy(&off, buf + offsetof(struct nss_cache_header, users_off), sizeof(off));
	/* alice is the first user record (name order): her uid to 0 */
	memcpy(buf + off + offsetof(struct nss_cache_urec, uid), &zero, sizeof(zero));
	assert_int_equal(nss_cache_user_by_name(&c, "alice", &u), -1);
	assert_int_equal(nss_cache_user_by_name(&c, "bob", &u), 1);
	memcpy(&off, buf + offsetof(struct nss_cache_header, groups_off), sizeof(off));
	memcpy(buf + off + offsetof(struct nss_cache_grec, gid), &zero, sizeof(zero));
	assert_int_equal(nss_cache_group_at(&c, 0, &g), -1);
	free(buf);
}

static void test_empty_cache(void **state)
{
	struct nss_cache c;
	struct nss_cache_pw u;
	struct nss_cache_gr g;
	char err[128];

	(void)state;
	assert_int_equal(nss_cache_write(path, NULL, 0, NULL, 0, 0, err, sizeof(err)), 0);
	open_ok(&c);
	assert_int_equal(nss_cache_user_by_name(&c, "a", &u), 0);
	assert_int_equal(nss_cache_user_by_uid(&c, 1, &u), 0);
	assert_int_equal(nss_cache_group_by_gid(&c, 1, &g), 0);
	assert_int_equal(nss_cache_user_at(&c, 0, &u), 0);
	nss_cache_close(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sorted_tables, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_users, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicates_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_strings_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_at_every_length, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flipped_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_owner_mode_type_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_atomic_replace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_id_zero_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_cache, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
