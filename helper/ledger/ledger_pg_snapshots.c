/* ledger_pg_snapshots.c - group snapshots (issue 17) in the PostgreSQL
 * ledger, and the change notices every host listens to.
 *
 * Snapshots: one row per gated group, written by the granter that listed
 * the group in Okta, read by the gates, which hold no Okta credential.
 *
 * Notices: a trigger on grants and snapshots (schema migration 8) sends
 * NOTIFY okta_jit, "g ID" or "s GROUP", in the writing transaction;
 * PostgreSQL delivers it at commit to every session that listens. A
 * listening session that is reset listens to nothing: p->listen_epoch
 * holds the reset count when LISTEN ran, and a wait on a session reset
 * since then fails, so the caller listens again and reads everything
 * (what was announced in between is lost). */
#include "ledger_pg.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define CHANNEL "okta_jit"
/* notices handed to the callback per wait; the rest wait in libpq */
#define NOTICES_PER_WAIT 4096

static void head_from_row(const PGresult *res, int row, struct snapshot_head *h)
{
	memset(h, 0, sizeof(*h));
	ledger_pg_val_text(res, row, 0, h->grp, sizeof(h->grp));
	ledger_pg_val_text(res, row, 1, h->group_id, sizeof(h->group_id));
	h->taken_at = ledger_pg_val_i64(res, row, 2);
	h->gen = ledger_pg_val_i64(res, row, 3);
	h->nmembers = ledger_pg_val_i64(res, row, 4);
	ledger_pg_val_text(res, row, 5, h->host, sizeof(h->host));
	ledger_pg_val_text(res, row, 6, h->state, sizeof(h->state));
	ledger_pg_val_text(res, row, 7, h->sig, sizeof(h->sig));
}

int ledger_pg_snapshot_put(void *b, struct snapshot_head *h, const char *members)
{
	struct pg_ledger *p = b;
	struct params pa = { 0 };
	PGresult *res;
	int r = LEDGER_ERR;

	ledger_pg_text(&pa, h->grp);
	ledger_pg_text(&pa, h->group_id);
	ledger_pg_int(&pa, h->taken_at);
	ledger_pg_int(&pa, h->nmembers);
	ledger_pg_text(&pa, h->host);
	ledger_pg_text(&pa, h->state);
	ledger_pg_text(&pa, members != NULL ? members : "");
	ledger_pg_text(&pa, h->sig);
	pthread_mutex_lock(&p->lock);
	res = ledger_pg_run(p, "snapshot",
			    "INSERT INTO snapshots (grp, group_id, taken_at, gen, nmembers, host, state, members, sig)"
			    " VALUES ($1, $2, $3::bigint, 1, $4::bigint, $5, $6, $7, $8)"
			    " ON CONFLICT (grp) DO UPDATE SET group_id = $2, taken_at = $3::bigint,"
			    " gen = snapshots.gen + 1, nmembers = $4::bigint, host = $5, state = $6, members = $7,"
			    " sig = $8"
			    " RETURNING gen",
			    &pa, PGRES_TUPLES_OK, 0);
	if (res != NULL && PQntuples(res) == 1) {
		h->gen = ledger_pg_val_i64(res, 0, 0);
		r = LEDGER_OK;
	}
	PQclear(res);
	pthread_mutex_unlock(&p->lock);
	return r;
}

int ledger_pg_snapshot_heads(void *b, snapshot_cb cb, void *ctx)
{
	struct pg_ledger *p = b;
	struct snapshot_head h;
	PGresult *res;
	int i;

	pthread_mutex_lock(&p->lock);
	res = ledger_pg_run(p, "snapshot list",
			    "SELECT grp, group_id, taken_at, gen, nmembers, host, state, sig FROM snapshots ORDER BY grp",
			    NULL, PGRES_TUPLES_OK, 1);
	pthread_mutex_unlock(&p->lock);
	if (res == NULL)
		return LEDGER_ERR;
	/* the callbacks run without the lock: they may call the ledger */
	for (i = 0; i < PQntuples(res); i++) {
		head_from_row(res, i, &h);
		if (cb(&h, ctx) != 0)
			break;
	}
	PQclear(res);
	return LEDGER_OK;
}

int ledger_pg_snapshot_get(void *b, const char *grp, struct snapshot_head *h, char **members)
{
	struct pg_ledger *p = b;
	struct params pa = { 0 };
	PGresult *res;
	int r = LEDGER_ERR;

	*members = NULL;
	memset(h, 0, sizeof(*h));
	ledger_pg_text(&pa, grp);
	ledger_pg_int(&pa, (int64_t)SNAPSHOT_MEMBERS_MAX);
	pthread_mutex_lock(&p->lock);
	/* the length first, so an oversized row is refused without being sent */
	res = ledger_pg_run(p, "snapshot",
			    "SELECT grp, group_id, taken_at, gen, nmembers, host, state, sig,"
			    " CASE WHEN octet_length(members) <= $2::bigint THEN members END, octet_length(members)"
			    " FROM snapshots WHERE grp = $1",
			    &pa, PGRES_TUPLES_OK, 1);
	if (res == NULL)
		goto out;
	if (PQntuples(res) == 0) {
		r = LEDGER_NOTFOUND;
		goto out;
	}
	head_from_row(res, 0, h);
	if (PQgetisnull(res, 0, 8)) {
		snprintf(p->last_error, sizeof(p->last_error),
			 "snapshot of group %s: member list of %s bytes is over the limit", grp,
			 PQgetvalue(res, 0, 9));
		goto out;
	}
	*members = strdup(PQgetvalue(res, 0, 8));
	if (*members == NULL) {
		snprintf(p->last_error, sizeof(p->last_error), "snapshot: out of memory");
		goto out;
	}
	r = LEDGER_OK;
out:
	PQclear(res);
	pthread_mutex_unlock(&p->lock);
	return r;
}

/* ---- change notices ---------------------------------------------------- */

int ledger_pg_listen(void *b)
{
	struct pg_ledger *p = b;
	PGresult *res;
	int r = LEDGER_ERR;

	pthread_mutex_lock(&p->lock);
	p->listening = 0;
	res = ledger_pg_run(p, "listen", "LISTEN " CHANNEL, NULL, PGRES_COMMAND_OK, 1);
	if (res != NULL) {
		/* a reset inside the run above happened before LISTEN ran */
		p->listening = 1;
		p->listen_epoch = p->reconnects;
		r = LEDGER_OK;
	}
	PQclear(res);
	pthread_mutex_unlock(&p->lock);
	return r;
}

struct notice {
	char kind;
	int64_t id;
	char grp[LEDGER_GROUP_MAX + 1];
};

/* "g ID" or "s GROUP" on our channel; 0, or -1 for anything else. */
static int parse_notice(const PGnotify *n, struct notice *out)
{
	const char *s = n->extra;
	char *end;
	long long id;

	memset(out, 0, sizeof(*out));
	if (strcmp(n->relname, CHANNEL) != 0 || s == NULL || s[0] == '\0' || s[1] != ' ')
		return -1;
	if (s[0] == 'g') {
		errno = 0;
		id = strtoll(s + 2, &end, 10);
		if (errno != 0 || end == s + 2 || *end != '\0' || id <= 0)
			return -1;
		out->kind = 'g';
		out->id = id;
		return 0;
	}
	if (s[0] == 's' && s[2] != '\0' && strlen(s + 2) <= LEDGER_GROUP_MAX) {
		out->kind = 's';
		memcpy(out->grp, s + 2, strlen(s + 2) + 1);
		return 0;
	}
	return -1;
}

/* Move what libpq has parsed into out (at most max); how many. */
static size_t take_notices(struct pg_ledger *p, struct notice *out, size_t max)
{
	PGnotify *n;
	size_t k = 0;

	while (k < max && (n = PQnotifies(p->conn)) != NULL) {
		if (parse_notice(n, &out[k]) == 0)
			k++;
		PQfreemem(n);
	}
	return k;
}

static int lost(struct pg_ledger *p, const char *why)
{
	p->listening = 0;
	snprintf(p->last_error, sizeof(p->last_error), "change notices: %s", why);
	return LEDGER_ERR;
}

int ledger_pg_wait_changes(void *b, int timeout_ms, change_cb cb, void *ctx)
{
	struct pg_ledger *p = b;
	struct notice *got = malloc(NOTICES_PER_WAIT * sizeof(*got));
	struct pollfd pfd;
	size_t k = 0, i;
	int r;

	if (got == NULL)
		return LEDGER_ERR;
	pthread_mutex_lock(&p->lock);
	if (!p->listening || p->listen_epoch != p->reconnects || PQstatus(p->conn) != CONNECTION_OK) {
		r = lost(p, p->listening ? "the connection was reset; notices may have been missed" : "not listening");
		goto out;
	}
	if (!PQconsumeInput(p->conn)) {
		r = lost(p, "the connection to the ledger database was lost");
		goto out;
	}
	k = take_notices(p, got, NOTICES_PER_WAIT);
	if (k == 0 && timeout_ms > 0) {
		pfd.fd = PQsocket(p->conn);
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (poll(&pfd, 1, timeout_ms) > 0) {
			if (!PQconsumeInput(p->conn) || PQstatus(p->conn) != CONNECTION_OK) {
				r = lost(p, "the connection to the ledger database was lost");
				goto out;
			}
			k = take_notices(p, got, NOTICES_PER_WAIT);
		}
	}
	r = (int)k;
out:
	pthread_mutex_unlock(&p->lock);
	/* the callbacks run without the lock: they read the ledger */
	for (i = 0; i < k && r >= 0; i++)
		cb(ctx, got[i].kind, got[i].id, got[i].grp);
	free(got);
	return r;
}
