/* load - concurrent CHECKs against okta-jitd, a new connection per check
 * (as the PAM module does), the users taken round robin.
 *
 *   load SOCKET GROUP[,GROUP...] CLIENTS SECONDS|-COUNT USER...
 *
 * Check k asks for user k and group k (round robin over both lists).
 * SECONDS > 0 runs for that long; -COUNT sends exactly COUNT checks. Prints
 * one JSON object: checks/s, p50/p99 latency (µs), decisions. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proto.h"

#define MAX_LAT (1 << 22)

static const char *sock_path;
static char **users, *groups[4096];
static int nusers, ngroups;
static atomic_long next_user, sent, allowed, denied, errors, nlat;
static long limit_count;
static long long deadline_ns;
static long long *lat;

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void *worker(void *p)
{
	(void)p;
	for (;;) {
		struct proto_out req;
		struct proto_msg reply;
		char err[256];
		long k = atomic_fetch_add(&next_user, 1);
		long long t0;
		const char *dec;
		int fd, r;

		if (limit_count > 0 ? k >= limit_count : now_ns() >= deadline_ns)
			break;
		t0 = now_ns();
		proto_out_init(&req, PROTO_CHECK);
		proto_out_add(&req, T_USER, users[k % nusers]);
		proto_out_add(&req, T_GROUP, groups[k % ngroups]);
		proto_out_add(&req, T_SERVICE, "sshd");
		proto_out_finish(&req, PROTO_MAX_REQUEST);
		fd = proto_connect(sock_path, 0, 10000, err, sizeof(err));
		if (fd < 0) {
			atomic_fetch_add(&errors, 1);
			proto_out_free(&req);
			continue;
		}
		memset(&reply, 0, sizeof(reply));
		r = proto_call(fd, &req, &reply, 65536, 10000);
		close(fd);
		proto_out_free(&req);
		if (r != 0) {
			atomic_fetch_add(&errors, 1);
			continue;
		}
		dec = proto_get(&reply, T_DECISION);
		if (dec != NULL && strcmp(dec, "allow") == 0)
			atomic_fetch_add(&allowed, 1);
		else
			atomic_fetch_add(&denied, 1);
		proto_msg_free(&reply);
		atomic_fetch_add(&sent, 1);
		{
			long i = atomic_fetch_add(&nlat, 1);

			if (i < MAX_LAT)
				lat[i] = now_ns() - t0;
		}
	}
	return NULL;
}

static int cmp(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	pthread_t *t;
	long long t0, wall;
	long secs, n, i;
	int clients;

	if (argc < 6) {
		fprintf(stderr, "usage: load SOCKET GROUP[,GROUP...] CLIENTS SECONDS|-COUNT USER...\n");
		return 2;
	}
	sock_path = argv[1];
	for (char *save = NULL, *g = strtok_r(argv[2], ",", &save); g != NULL && ngroups < 4096;
	     g = strtok_r(NULL, ",", &save))
		groups[ngroups++] = g;
	clients = atoi(argv[3]);
	secs = strtol(argv[4], NULL, 10);
	users = argv + 5;
	nusers = argc - 5;
	if (clients < 1 || secs == 0 || ngroups == 0)
		return 2;
	if (secs < 0)
		limit_count = -secs;
	lat = calloc(MAX_LAT, sizeof(*lat));
	t = calloc((size_t)clients, sizeof(*t));
	if (lat == NULL || t == NULL)
		return 1;
	t0 = now_ns();
	deadline_ns = t0 + secs * 1000000000LL;
	for (i = 0; i < clients; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	for (i = 0; i < clients; i++)
		pthread_join(t[i], NULL);
	wall = now_ns() - t0;
	n = atomic_load(&nlat);
	if (n > MAX_LAT)
		n = MAX_LAT;
	qsort(lat, (size_t)n, sizeof(*lat), cmp);
	printf("{\"clients\": %d, \"checks\": %ld, \"allowed\": %ld, \"denied\": %ld, \"errors\": %ld, "
	       "\"wall_s\": %.3f, \"checks_per_s\": %.0f, \"p50_us\": %.1f, \"p99_us\": %.1f, \"max_us\": %.1f}\n",
	       clients, atomic_load(&sent), atomic_load(&allowed), atomic_load(&denied), atomic_load(&errors),
	       wall / 1e9, atomic_load(&sent) / (wall / 1e9), n ? lat[n / 2] / 1e3 : 0.0,
	       n ? lat[n * 99 / 100] / 1e3 : 0.0, n ? lat[n - 1] / 1e3 : 0.0);
	return 0;
}
