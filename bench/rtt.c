/* rtt - the raw round trip: N HTTPS GETs to one URL over one reused
 * libcurl handle (one TLS handshake), bearer token given.
 *
 *   rtt URL CA_FILE TOKEN N [GAP_US]
 *
 * With GAP_US, each request waits that long (asleep) after the one before,
 * as a request does when something else happens between two: the server
 * and the CPUs idle in between, which back-to-back requests never let
 * them do. Only the request itself is timed.
 *
 * Prints one JSON object: p50/p99 per request, in microseconds. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static size_t sink(char *p, size_t s, size_t n, void *u)
{
	(void)p;
	(void)u;
	return s * n;
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	struct curl_slist *h = NULL;
	char auth[4096];
	long n, i, fails = 0, code = 0, gap = 0;
	long long *t;
	CURL *c;

	if (argc != 5 && argc != 6)
		return 2;
	n = strtol(argv[4], NULL, 10);
	if (argc == 6 && ((gap = strtol(argv[5], NULL, 10)) < 0 || gap > 1000000))
		return 2;
	if (n < 1 || (t = calloc((size_t)n, sizeof(*t))) == NULL)
		return 2;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", argv[3]);
	h = curl_slist_append(h, auth);
	h = curl_slist_append(h, "Accept: application/json");
	c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_URL, argv[1]);
	curl_easy_setopt(c, CURLOPT_CAINFO, argv[2]);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	for (i = 0; i < 20; i++) /* warm-up: handshake, first requests */
		curl_easy_perform(c);
	for (i = 0; i < n; i++) {
		long long t0;

		if (gap > 0)
			usleep((useconds_t)gap);
		t0 = now_ns();

		if (curl_easy_perform(c) != CURLE_OK)
			fails++;
		t[i] = now_ns() - t0;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	qsort(t, (size_t)n, sizeof(*t), cmp);
	printf("{\"n\": %ld, \"fails\": %ld, \"status\": %ld, \"p50_us\": %.1f, \"p99_us\": %.1f}\n", n, fails, code,
	       t[n / 2] / 1e3, t[n * 99 / 100] / 1e3);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	curl_global_cleanup();
	free(t);
	return 0;
}
