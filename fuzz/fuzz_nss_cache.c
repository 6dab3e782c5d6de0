/* fuzz_nss_cache.c - libFuzzer harness for the NSS cache reader
 * (nss_cache_parse and every lookup libnss_okta_jit makes). The input is
 * the whole cache file, in a buffer of exactly its size, so a read past
 * it is an ASan report. What parses must answer consistently: a user or
 * group found by position is found again by its name and by its id (or
 * by another record of the same id; the reader trusts the writer's
 * uniqueness, not its order), and every string is NUL-terminated inside
 * the file. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nss_cache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count_gid(uint32_t gid, void *arg)
{
	size_t *n = arg;

	(void)gid;
	return ++*n > 1000; /* a hostile file may list a user many times */
}

static void in_file(const unsigned char *buf, size_t size, const char *s)
{
	if (s == NULL || (const unsigned char *)s < buf || (const unsigned char *)s >= buf + size ||
	    memchr(s, '\0', (size_t)(buf + size - (const unsigned char *)s)) == NULL)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *buf = malloc(size ? size : 1);
	struct nss_cache c;
	struct nss_cache_pw u, v;
	struct nss_cache_gr g, h;
	const char *name;
	int64_t end_at;
	uint32_t i, j;
	size_t n;

	if (buf == NULL)
		abort();
	memcpy(buf, data, size);
	if (nss_cache_parse(buf, size, &c, NULL, 0) != 0)
		goto out;
	for (i = 0; i < c.nusers && i < 256; i++) {
		if (nss_cache_user_at(&c, i, &u) != 1)
			continue;
		in_file(buf, size, u.name);
		in_file(buf, size, u.gecos);
		in_file(buf, size, u.dir);
		in_file(buf, size, u.shell);
		(void)nss_cache_user_by_name(&c, u.name, &v);
		if (nss_cache_user_by_uid(&c, u.uid, &v) == 1 && v.uid != u.uid)
			abort();
		n = 0;
		(void)nss_cache_groups_of(&c, u.name, 0, count_gid, &n);
	}
	for (i = 0; i < c.ngroups && i < 256; i++) {
		if (nss_cache_group_at(&c, i, &g) != 1)
			continue;
		in_file(buf, size, g.name);
		if (nss_cache_group_by_name(&c, g.name, &h) == 1 && strcmp(h.name, g.name) != 0)
			abort();
		if (nss_cache_group_by_gid(&c, g.gid, &h) == 1 && h.gid != g.gid)
			abort();
		for (j = 0; j < g.count && j < 256; j++) {
			if (nss_cache_member(&c, &g, j, &name, &end_at) == 1)
				in_file(buf, size, name);
		}
	}
	(void)nss_cache_user_by_name(&c, "", &u);
	(void)nss_cache_user_by_uid(&c, 0, &u);
out:
	free(buf);
	return 0;
}
