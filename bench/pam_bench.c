/* pam_bench - time the PAM account step in-process through libpam.
 *
 *   pam_bench CONFDIR SERVICE USER N            per-call times
 *   pam_bench CONFDIR SERVICE USER N --heap     heap before/after N cycles
 *
 * Each cycle is pam_start_confdir, pam_acct_mgmt, pam_end, as sshd does per
 * login. Prints one JSON object on stdout. */
#include <malloc.h>
#include <security/pam_appl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	(void)msg;
	(void)data;
	*resp = calloc((size_t)n, sizeof(**resp));
	return *resp == NULL ? PAM_BUF_ERR : PAM_SUCCESS;
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cycle(const char *confdir, const char *service, const char *user)
{
	struct pam_conv c = { conv, NULL };
	pam_handle_t *h = NULL;
	int r;

	if (pam_start_confdir(service, user, &c, confdir, &h) != PAM_SUCCESS)
		return -1;
	r = pam_acct_mgmt(h, 0);
	pam_end(h, r);
	return r;
}

static long status_kb(const char *key)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, key, strlen(key)) == 0 && sscanf(line + strlen(key), " %ld", &v) == 1)
			break;
	fclose(f);
	return v;
}

static int cmp(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	long n, i, fails = 0;
	int heap, last = 0;

	if (argc < 5) {
		fprintf(stderr, "usage: pam_bench CONFDIR SERVICE USER N [--heap]\n");
		return 2;
	}
	n = strtol(argv[4], NULL, 10);
	if (n < 1)
		return 2;
	heap = argc > 5 && strcmp(argv[5], "--heap") == 0;
	if (heap) {
		struct mallinfo2 m0, m1;
		long rss0, rss1, data0, data1;

		for (i = 0; i < 1000; i++) /* warm-up: libpam and module loaded, caches filled */
			cycle(argv[1], argv[2], argv[3]);
		malloc_trim(0);
		m0 = mallinfo2();
		rss0 = status_kb("VmRSS:");
		data0 = status_kb("VmData:");
		for (i = 0; i < n; i++)
			if ((last = cycle(argv[1], argv[2], argv[3])) != PAM_SUCCESS)
				fails++;
		malloc_trim(0);
		m1 = mallinfo2();
		rss1 = status_kb("VmRSS:");
		data1 = status_kb("VmData:");
		printf("{\"cycles\": %ld, \"fails\": %ld, \"last\": %d, \"heap_in_use_before\": %zu, "
		       "\"heap_in_use_after\": %zu, \"vmrss_kb_before\": %ld, \"vmrss_kb_after\": %ld, "
		       "\"vmdata_kb_before\": %ld, \"vmdata_kb_after\": %ld}\n",
		       n, fails, last, m0.uordblks, m1.uordblks, rss0, rss1, data0, data1);
		return 0;
	}
	{
		long long *t = calloc((size_t)n, sizeof(*t));
		long long sum = 0, t0, all0 = now_ns();

		if (t == NULL)
			return 1;
		for (i = 0; i < 200 && i <= n / 10; i++) /* warm-up */
			cycle(argv[1], argv[2], argv[3]);
		all0 = now_ns();
		for (i = 0; i < n; i++) {
			t0 = now_ns();
			if ((last = cycle(argv[1], argv[2], argv[3])) != PAM_SUCCESS)
				fails++;
			t[i] = now_ns() - t0;
			sum += t[i];
		}
		all0 = now_ns() - all0;
		qsort(t, (size_t)n, sizeof(*t), cmp);
		printf("{\"n\": %ld, \"fails\": %ld, \"last\": %d, \"p50_us\": %.2f, \"p90_us\": %.2f, \"p99_us\": %.2f, "
		       "\"mean_us\": %.2f, \"max_us\": %.2f, \"wall_s\": %.3f}\n",
		       n, fails, last, t[n / 2] / 1e3, t[n * 90 / 100] / 1e3, t[n * 99 / 100] / 1e3,
		       (double)sum / n / 1e3, t[n - 1] / 1e3, all0 / 1e9);
		free(t);
	}
	return 0;
}
