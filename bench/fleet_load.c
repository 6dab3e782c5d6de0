/* fleet_load - CHECKs against many okta-jitd gates at once, one thread per
 * gate socket, a new connection per check (as the PAM module does), for
 * bench/fleet.py.
 *
 *   fleet_load burst  GROUP USER SPREAD_MS SOCK...
 *       one CHECK of USER on each socket; socket i's check starts at
 *       i * SPREAD_MS / N after the start (an Ansible run reaching every
 *       host within SPREAD_MS).
 *   fleet_load steady GROUP USER[,USER...] RATE SECONDS SOCK...
 *       RATE checks a second on each socket for SECONDS, from 4 connections
 *       at a time per socket (a fixed schedule each: a late check is sent
 *       at once; none after SECONDS), users round robin.
 *   fleet_load watch  GROUP USER INTERVAL_MS TIMEOUT_S SOCK...
 *       CHECKs of USER on each socket every INTERVAL_MS until the socket
 *       refuses (decision other than allow) or TIMEOUT_S passes; records
 *       the wall-clock time of each socket's first refusal.
 *
 * Prints one JSON object on stdout. Latencies in µs; times in epoch
 * seconds. A check that gets no reply counts as an error, with code
 * "error". */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proto.h"

#define MAX_CODES 8
#define CODE_LEN 48
#define CALL_TIMEOUT_MS 20000
#define STEADY_WORKERS 4

enum mode { MODE_BURST, MODE_STEADY, MODE_WATCH };

struct gate {
	const char *sock;
	pthread_mutex_t lock;
	int index;
	long long *lat; /* ns */
	long nlat, cap;
	long allowed, denied, errors;
	char codes[MAX_CODES][CODE_LEN];
	long code_n[MAX_CODES];
	int ncodes;
	double first_deny_start, first_deny_end; /* watch */
	char first_deny_code[CODE_LEN];
};

struct worker {
	struct gate *g;
	pthread_t thread;
	int n; /* this worker's number on its gate */
};

static enum mode mode;
static const char *group;
static char *users[4096];
static int nusers, ngates;
static long spread_ms, rate, seconds, interval_ms, timeout_s;
static long long t0_ns;
static struct gate *gates;

static long long mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static double wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_until(long long when_ns)
{
	long long d = when_ns - mono_ns();
	struct timespec ts;

	if (d <= 0)
		return;
	ts.tv_sec = d / 1000000000LL;
	ts.tv_nsec = d % 1000000000LL;
	nanosleep(&ts, NULL);
}

static void tally(struct gate *g, const char *code)
{
	int i;

	for (i = 0; i < g->ncodes; i++)
		if (strcmp(g->codes[i], code) == 0)
			break;
	if (i == g->ncodes) {
		if (g->ncodes == MAX_CODES)
			i = MAX_CODES - 1; /* the last slot collects the rest */
		else
			snprintf(g->codes[g->ncodes++], CODE_LEN, "%s", code);
	}
	g->code_n[i]++;
}

/* One CHECK; returns 1 allow, 0 refused, -1 no answer. code gets the
 * reply's code ("error" when none). */
static int check_once(struct gate *g, const char *user, long long *lat_ns, char *code, size_t codelen)
{
	struct proto_out req;
	struct proto_msg reply;
	char err[256];
	long long t0 = mono_ns();
	const char *dec, *c;
	int fd, r, out = -1;

	snprintf(code, codelen, "error");
	proto_out_init(&req, PROTO_CHECK);
	proto_out_add(&req, T_USER, user);
	proto_out_add(&req, T_GROUP, group);
	proto_out_add(&req, T_SERVICE, "sshd");
	proto_out_finish(&req, PROTO_MAX_REQUEST);
	fd = proto_connect(g->sock, 0, 10000, err, sizeof(err));
	if (fd < 0)
		goto done;
	memset(&reply, 0, sizeof(reply));
	r = proto_call(fd, &req, &reply, 65536, CALL_TIMEOUT_MS);
	close(fd);
	if (r != 0)
		goto done;
	dec = proto_get(&reply, T_DECISION);
	c = proto_get(&reply, T_CODE);
	out = dec != NULL && strcmp(dec, "allow") == 0;
	snprintf(code, codelen, "%s", c != NULL && c[0] ? c : (out ? "allow" : "deny"));
	proto_msg_free(&reply);
done:
	proto_out_free(&req);
	*lat_ns = mono_ns() - t0;
	return out;
}

static void record(struct gate *g, int r, long long lat, const char *code)
{
	if (r < 0)
		g->errors++;
	else if (r)
		g->allowed++;
	else
		g->denied++;
	tally(g, code);
	if (g->nlat == g->cap) {
		long ncap = g->cap ? g->cap * 2 : 256;
		long long *n = realloc(g->lat, (size_t)ncap * sizeof(*n));

		if (n == NULL)
			return;
		g->lat = n;
		g->cap = ncap;
	}
	g->lat[g->nlat++] = lat;
}

static void *worker(void *p)
{
	struct worker *w = p;
	struct gate *g = w->g;
	char code[CODE_LEN];
	long long lat;
	int r;

	if (mode == MODE_BURST) {
		sleep_until(t0_ns + (long long)g->index * spread_ms * 1000000LL / ngates);
		r = check_once(g, users[0], &lat, code, sizeof(code));
		record(g, r, lat, code);
	} else if (mode == MODE_STEADY) {
		/* STEADY_WORKERS connections at a time per gate, each on its own
		 * schedule, so that one slow check (a gate waiting on Okta) does
		 * not hold the others back; nothing is sent after the window. */
		long long period = 1000000000LL * STEADY_WORKERS / rate, end = t0_ns + seconds * 1000000000LL;
		/* the gates' schedules are spread over one period */
		long long next = t0_ns + period * (g->index * STEADY_WORKERS + w->n) / (ngates * STEADY_WORKERS);

		for (long k = w->n; next < end && mono_ns() < end; k += STEADY_WORKERS, next += period) {
			sleep_until(next);
			r = check_once(g, users[(k + g->index) % nusers], &lat, code, sizeof(code));
			pthread_mutex_lock(&g->lock);
			record(g, r, lat, code);
			pthread_mutex_unlock(&g->lock);
		}
	} else {
		long long end = t0_ns + timeout_s * 1000000000LL;

		while (mono_ns() < end) {
			double s = wall_s();

			r = check_once(g, users[0], &lat, code, sizeof(code));
			record(g, r, lat, code);
			if (r == 0) {
				g->first_deny_start = s;
				g->first_deny_end = wall_s();
				snprintf(g->first_deny_code, sizeof(g->first_deny_code), "%s", code);
				break;
			}
			sleep_until(mono_ns() + interval_ms * 1000000LL);
		}
	}
	return NULL;
}

static int cmp(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

static double pct(const long long *v, long n, int p)
{
	long i;

	if (n == 0)
		return 0.0;
	i = (n * p + 99) / 100 - 1; /* nearest rank */
	if (i < 0)
		i = 0;
	return v[i] / 1e3;
}

static void print_json(double wall)
{
	long total = 0, k = 0;
	long long *all;

	for (int i = 0; i < ngates; i++)
		total += gates[i].nlat;
	all = calloc((size_t)(total ? total : 1), sizeof(*all));
	printf("{\"mode\": \"%s\", \"wall_s\": %.3f, \"gates\": [",
	       mode == MODE_BURST ? "burst" : mode == MODE_STEADY ? "steady" : "watch", wall);
	for (int i = 0; i < ngates; i++) {
		struct gate *g = &gates[i];

		qsort(g->lat, (size_t)g->nlat, sizeof(*g->lat), cmp);
		if (all != NULL)
			for (long j = 0; j < g->nlat; j++)
				all[k++] = g->lat[j];
		printf("%s{\"sock\": \"%s\", \"checks\": %ld, \"allowed\": %ld, \"denied\": %ld, \"errors\": %ld, "
		       "\"p50_us\": %.1f, \"p99_us\": %.1f, \"max_us\": %.1f, \"codes\": {",
		       i ? ", " : "", g->sock, g->nlat, g->allowed, g->denied, g->errors, pct(g->lat, g->nlat, 50),
		       pct(g->lat, g->nlat, 99), g->nlat ? g->lat[g->nlat - 1] / 1e3 : 0.0);
		for (int c = 0; c < g->ncodes; c++)
			printf("%s\"%s\": %ld", c ? ", " : "", g->codes[c], g->code_n[c]);
		printf("}");
		if (mode == MODE_WATCH)
			printf(", \"first_deny_start\": %.6f, \"first_deny_end\": %.6f, \"first_deny_code\": \"%s\"",
			       g->first_deny_start, g->first_deny_end, g->first_deny_code);
		printf("}");
	}
	if (all != NULL)
		qsort(all, (size_t)k, sizeof(*all), cmp);
	printf("], \"checks\": %ld, \"p50_us\": %.1f, \"p99_us\": %.1f, \"max_us\": %.1f}\n", k,
	       all ? pct(all, k, 50) : 0.0, all ? pct(all, k, 99) : 0.0, all && k ? all[k - 1] / 1e3 : 0.0);
	free(all);
}

static int usage(void)
{
	fprintf(stderr, "usage: fleet_load burst GROUP USER SPREAD_MS SOCK...\n"
			"       fleet_load steady GROUP USER[,USER...] RATE SECONDS SOCK...\n"
			"       fleet_load watch GROUP USER INTERVAL_MS TIMEOUT_S SOCK...\n");
	return 2;
}

int main(int argc, char **argv)
{
	char **socks;
	struct worker *workers;
	int nworkers;
	long long t1;

	if (argc < 6)
		return usage();
	group = argv[2];
	for (char *save = NULL, *u = strtok_r(argv[3], ",", &save); u != NULL && nusers < 4096;
	     u = strtok_r(NULL, ",", &save))
		users[nusers++] = u;
	if (nusers == 0)
		return usage();
	if (strcmp(argv[1], "burst") == 0) {
		mode = MODE_BURST;
		spread_ms = strtol(argv[4], NULL, 10);
		socks = argv + 5;
		ngates = argc - 5;
	} else if (strcmp(argv[1], "steady") == 0 && argc >= 7) {
		mode = MODE_STEADY;
		rate = strtol(argv[4], NULL, 10);
		seconds = strtol(argv[5], NULL, 10);
		socks = argv + 6;
		ngates = argc - 6;
		if (rate < 1 || seconds < 1)
			return usage();
	} else if (strcmp(argv[1], "watch") == 0 && argc >= 7) {
		mode = MODE_WATCH;
		interval_ms = strtol(argv[4], NULL, 10);
		timeout_s = strtol(argv[5], NULL, 10);
		socks = argv + 6;
		ngates = argc - 6;
	} else {
		return usage();
	}
	if (ngates < 1)
		return usage();
	nworkers = mode == MODE_STEADY ? STEADY_WORKERS : 1;
	gates = calloc((size_t)ngates, sizeof(*gates));
	workers = calloc((size_t)ngates * nworkers, sizeof(*workers));
	if (gates == NULL || workers == NULL)
		return 1;
	t0_ns = mono_ns() + 50000000LL; /* every thread started before the first check */
	for (int i = 0; i < ngates; i++) {
		gates[i].sock = socks[i];
		gates[i].index = i;
		pthread_mutex_init(&gates[i].lock, NULL);
		for (int j = 0; j < nworkers; j++) {
			struct worker *w = &workers[i * nworkers + j];

			w->g = &gates[i];
			w->n = j;
			if (pthread_create(&w->thread, NULL, worker, w) != 0) {
				fprintf(stderr, "fleet_load: cannot start thread %d\n", i);
				return 1;
			}
		}
	}
	for (int i = 0; i < ngates * nworkers; i++)
		pthread_join(workers[i].thread, NULL);
	t1 = mono_ns();
	print_json((t1 - t0_ns) / 1e9);
	return 0;
}
