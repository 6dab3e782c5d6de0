/* nss_bench - time getpwnam_r and measure the memory libnss_okta_jit adds
 * to a process (bench/nss.py runs it under a private nsswitch.conf).
 *
 *   nss_bench lookup NAME N          getpwnam_r(NAME) through glibc, N times
 *   nss_bench direct MODULE NAME N   the module's _nss_okta_jit_getpwnam_r, N times
 *   nss_bench mem-glibc NAME         RSS/PSS before and after the first getpwnam_r
 *   nss_bench mem-dlopen MODULE NAME RSS/PSS before and after dlopen + first call
 *
 * Prints one JSON object. Each call is timed alone (CLOCK_MONOTONIC). */
#include <dlfcn.h>
#include <errno.h>
#include <nss.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef enum nss_status (*getpwnam_fn)(const char *, struct passwd *, char *, size_t, int *);

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

/* Rss and Pss of the whole process, kB, from smaps_rollup. */
static void mem_kb(long *rss, long *pss)
{
	char line[256];
	FILE *f = fopen("/proc/self/smaps_rollup", "r");

	*rss = *pss = -1;
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "Rss:", 4) == 0)
			*rss = strtol(line + 4, NULL, 10);
		else if (strncmp(line, "Pss:", 4) == 0)
			*pss = strtol(line + 4, NULL, 10);
	}
	fclose(f);
}

static int report(long long *t, long n, int found)
{
	qsort(t, (size_t)n, sizeof(*t), cmp_ll);
	printf("{\"n\": %ld, \"found\": %d, \"p50_ns\": %lld, \"p99_ns\": %lld, \"min_ns\": %lld}\n", n, found,
	       t[n / 2], t[n * 99 / 100], t[0]);
	free(t);
	return 0;
}

static int lookup(const char *name, long n, getpwnam_fn fn)
{
	static char buf[16384];
	struct passwd pw, *res;
	long long *t = calloc((size_t)n, sizeof(*t)), t0;
	int found = 0, err;
	long i;

	if (t == NULL)
		return 1;
	for (i = 0; i < n; i++) {
		t0 = now_ns();
		if (fn != NULL)
			found = fn(name, &pw, buf, sizeof(buf), &err) == NSS_STATUS_SUCCESS;
		else
			found = getpwnam_r(name, &pw, buf, sizeof(buf), &res) == 0 && res != NULL;
		t[i] = now_ns() - t0;
	}
	return report(t, n, found);
}

static getpwnam_fn load(const char *module)
{
	void *h = dlopen(module, RTLD_NOW | RTLD_LOCAL);

	if (h == NULL) {
		fprintf(stderr, "dlopen %s: %s\n", module, dlerror());
		exit(1);
	}
	return (getpwnam_fn)dlsym(h, "_nss_okta_jit_getpwnam_r");
}

int main(int argc, char **argv)
{
	static char buf[16384];
	struct passwd pw, *res = NULL;
	long rss0, pss0, rss1, pss1, n;
	getpwnam_fn fn;
	int found, err;

	if (argc == 4 && strcmp(argv[1], "lookup") == 0) {
		n = strtol(argv[3], NULL, 10);
		return n > 0 ? lookup(argv[2], n, NULL) : 2;
	}
	if (argc == 5 && strcmp(argv[1], "direct") == 0) {
		n = strtol(argv[4], NULL, 10);
		fn = load(argv[2]);
		return n > 0 && fn != NULL ? lookup(argv[3], n, fn) : 2;
	}
	if (argc == 3 && strcmp(argv[1], "mem-glibc") == 0) {
		mem_kb(&rss0, &pss0);
		found = getpwnam_r(argv[2], &pw, buf, sizeof(buf), &res) == 0 && res != NULL;
		mem_kb(&rss1, &pss1);
	} else if (argc == 4 && strcmp(argv[1], "mem-dlopen") == 0) {
		mem_kb(&rss0, &pss0);
		fn = load(argv[2]);
		found = fn != NULL && fn(argv[3], &pw, buf, sizeof(buf), &err) == NSS_STATUS_SUCCESS;
		mem_kb(&rss1, &pss1);
	} else {
		fprintf(stderr, "usage: see bench/nss_bench.c\n");
		return 2;
	}
	printf("{\"found\": %d, \"rss_kb_before\": %ld, \"pss_kb_before\": %ld, \"rss_kb_after\": %ld, "
	       "\"pss_kb_after\": %ld}\n",
	       found, rss0, pss0, rss1, pss1);
	return 0;
}
