/* ledger_pg_grants.c - the PostgreSQL ledger's grant rows, and the claims
 * (session-level advisory locks, see ledger_pg.c) that let one granter at
 * a time work on a grant. Split from ledger_pg.c; ledger_pg.h holds the
 * connection and statement helpers they share. */
#include "ledger_pg.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* ---- grants ----------------------------------------------------------- */

#define GRANT_COLS                                                                                   \
	"id, kind, COALESCE(parent_id,0), \"user\", okta_login, okta_user_id, grp, group_id, flow, " \
	"requester, reason, approver, state, op, was_member, duration, requested_at, "               \
	"pending_expires_at, decided_at, start_at, end_at, updated_at, op_attempts, next_attempt_at, " \
	"last_error, add_unsure, sig"

static void row_to_grant(const PGresult *res, int row, struct grant *g)
{
	memset(g, 0, sizeof(*g));
	g->id = ledger_pg_val_i64(res, row, 0);
	ledger_pg_val_text(res, row, 1, g->kind, sizeof(g->kind));
	g->parent_id = ledger_pg_val_i64(res, row, 2);
	ledger_pg_val_text(res, row, 3, g->user, sizeof(g->user));
	ledger_pg_val_text(res, row, 4, g->okta_login, sizeof(g->okta_login));
	ledger_pg_val_text(res, row, 5, g->okta_user_id, sizeof(g->okta_user_id));
	ledger_pg_val_text(res, row, 6, g->grp, sizeof(g->grp));
	ledger_pg_val_text(res, row, 7, g->group_id, sizeof(g->group_id));
	ledger_pg_val_text(res, row, 8, g->flow, sizeof(g->flow));
	ledger_pg_val_text(res, row, 9, g->requester, sizeof(g->requester));
	ledger_pg_val_text(res, row, 10, g->reason, sizeof(g->reason));
	ledger_pg_val_text(res, row, 11, g->approver, sizeof(g->approver));
	ledger_pg_val_text(res, row, 12, g->state, sizeof(g->state));
	ledger_pg_val_text(res, row, 13, g->op, sizeof(g->op));
	g->was_member = (int)ledger_pg_val_i64(res, row, 14);
	g->duration = ledger_pg_val_i64(res, row, 15);
	g->requested_at = ledger_pg_val_i64(res, row, 16);
	g->pending_expires_at = ledger_pg_val_i64(res, row, 17);
	g->decided_at = ledger_pg_val_i64(res, row, 18);
	g->start_at = ledger_pg_val_i64(res, row, 19);
	g->end_at = ledger_pg_val_i64(res, row, 20);
	g->updated_at = ledger_pg_val_i64(res, row, 21);
	g->op_attempts = (int)ledger_pg_val_i64(res, row, 22);
	g->next_attempt_at = ledger_pg_val_i64(res, row, 23);
	ledger_pg_val_text(res, row, 24, g->last_error, sizeof(g->last_error));
	g->add_unsure = (int)ledger_pg_val_i64(res, row, 25);
	ledger_pg_val_text(res, row, 26, g->sig, sizeof(g->sig));
}

/* The 26 writable columns ($1..$26) in the order of the INSERT/UPDATE.
 * updated_at is the ledger's clock, but a signed row keeps the time its
 * signer put in it (the signature covers it). */
static void params_grant(struct params *pa, const struct grant *g)
{
	ledger_pg_text(pa, g->kind[0] ? g->kind : "grant");
	if (g->parent_id > 0)
		ledger_pg_int(pa, g->parent_id);
	else
		ledger_pg_text(pa, NULL);
	ledger_pg_text(pa, g->user);
	ledger_pg_text(pa, g->okta_login);
	ledger_pg_text(pa, g->okta_user_id);
	ledger_pg_text(pa, g->grp);
	ledger_pg_text(pa, g->group_id);
	ledger_pg_text(pa, g->flow);
	ledger_pg_text(pa, g->requester);
	ledger_pg_text(pa, g->reason);
	ledger_pg_text(pa, g->approver);
	ledger_pg_text(pa, g->state);
	ledger_pg_text(pa, g->op);
	ledger_pg_int(pa, g->was_member);
	ledger_pg_int(pa, g->duration);
	ledger_pg_int(pa, g->requested_at);
	ledger_pg_int(pa, g->pending_expires_at);
	ledger_pg_int(pa, g->decided_at);
	ledger_pg_int(pa, g->start_at);
	ledger_pg_int(pa, g->end_at);
	ledger_pg_int(pa, g->sig[0] != '\0' ? g->updated_at : ojit_now());
	ledger_pg_int(pa, g->op_attempts);
	ledger_pg_int(pa, g->next_attempt_at);
	ledger_pg_text(pa, g->last_error);
	ledger_pg_int(pa, g->add_unsure);
	ledger_pg_text(pa, g->sig);
}

int ledger_pg_grant_insert(void *b, struct grant *g)
{
	static const char sql[] =
	    "INSERT INTO grants (kind, parent_id, \"user\", okta_login, okta_user_id, grp, group_id, flow,"
	    " requester, reason, approver, state, op, was_member, duration, requested_at,"
	    " pending_expires_at, decided_at, start_at, end_at, updated_at, op_attempts,"
	    " next_attempt_at, last_error, add_unsure, sig) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,"
	    "$16,$17,$18,$19,$20,$21,$22,$23,$24,$25,$26) RETURNING id";
	struct pg_ledger *p = b;
	struct params pa = { 0 };
	PGresult *res;
	int r = LEDGER_ERR;

	params_grant(&pa, g);
	pthread_mutex_lock(&p->lock);
	res = ledger_pg_run(p, "insert grant", sql, &pa, PGRES_TUPLES_OK, 0);
	if (res != NULL && PQntuples(res) == 1) {
		g->id = ledger_pg_val_i64(res, 0, 0);
		r = LEDGER_OK;
	}
	PQclear(res);
	pthread_mutex_unlock(&p->lock);
	return r;
}

static int select_one(struct pg_ledger *p, const char *sql, const struct params *pa, struct grant *g)
{
	PGresult *res;
	int r = LEDGER_ERR;

	pthread_mutex_lock(&p->lock);
	res = ledger_pg_run(p, "select grant", sql, pa, PGRES_TUPLES_OK, 1);
	if (res != NULL) {
		if (PQntuples(res) > 0) {
			row_to_grant(res, 0, g);
			r = LEDGER_OK;
		} else {
			r = LEDGER_NOTFOUND;
		}
	}
	PQclear(res);
	pthread_mutex_unlock(&p->lock);
	return r;
}

int ledger_pg_grant_get(void *b, int64_t id, struct grant *g)
{
	struct params pa = { 0 };

	ledger_pg_int(&pa, id);
	return select_one(b, "SELECT " GRANT_COLS " FROM grants WHERE id = $1::bigint", &pa, g);
}

int ledger_pg_grant_active(void *b, const char *user, const char *grp, int64_t now, struct grant *g)
{
	struct params pa = { 0 };

	ledger_pg_text(&pa, user);
	ledger_pg_text(&pa, grp);
	ledger_pg_int(&pa, now);
	return select_one(b,
			  "SELECT " GRANT_COLS " FROM grants WHERE \"user\" = $1 AND grp = $2 AND kind = 'grant'"
			  " AND state = 'active' AND op = '' AND end_at > $3::bigint ORDER BY end_at DESC, id DESC LIMIT 1",
			  &pa, g);
}

/* No memory of earlier answers here, unlike SQLite: other hosts write the
 * database. */
int ledger_pg_grant_active_end(void *b, const char *user, const char *grp, int64_t now, struct grant_end *ge)
{
	struct pg_ledger *p = b;
	struct params pa = { 0 };
	PGresult *res;
	int r = LEDGER_ERR;

	memset(ge, 0, sizeof(*ge));
	if (strlen(user) > LEDGER_USER_MAX || strlen(grp) > LEDGER_GROUP_MAX)
		return LEDGER_NOTFOUND;
	ledger_pg_text(&pa, user);
	ledger_pg_text(&pa, grp);
	pthread_mutex_lock(&p->lock);
	/* The row with the latest end: if it has ended, all have. */
	res = ledger_pg_run(p, "select grant",
			    "SELECT id, end_at, group_id FROM grants WHERE \"user\" = $1 AND grp = $2 AND kind = 'grant'"
			    " AND state = 'active' AND op = '' ORDER BY end_at DESC, id DESC LIMIT 1",
			    &pa, PGRES_TUPLES_OK, 1);
	if (res != NULL) {
		int found = PQntuples(res) > 0;

		if (found) {
			ge->id = ledger_pg_val_i64(res, 0, 0);
			ge->end_at = ledger_pg_val_i64(res, 0, 1);
			ledger_pg_val_text(res, 0, 2, ge->group_id, sizeof(ge->group_id));
		}
		r = found && ge->end_at > now ? LEDGER_OK : LEDGER_NOTFOUND;
	}
	PQclear(res);
	pthread_mutex_unlock(&p->lock);
	return r;
}

int ledger_pg_grant_pending(void *b, const char *user, const char *grp, struct grant *g)
{
	struct params pa = { 0 };

	ledger_pg_text(&pa, user);
	ledger_pg_text(&pa, grp);
	return select_one(b,
			  "SELECT " GRANT_COLS " FROM grants WHERE \"user\" = $1 AND grp = $2 AND kind = 'grant'"
			  " AND state IN ('pending','approved') ORDER BY id DESC LIMIT 1",
			  &pa, g);
}

int ledger_pg_grant_update(void *b, const struct grant *g, const char *expected_state)
{
	static const char sql[] =
	    "UPDATE grants SET kind=$1, parent_id=$2, \"user\"=$3, okta_login=$4, okta_user_id=$5, grp=$6,"
	    " group_id=$7, flow=$8, requester=$9, reason=$10, approver=$11, state=$12, op=$13, was_member=$14,"
	    " duration=$15, requested_at=$16, pending_expires_at=$17, decided_at=$18, start_at=$19, end_at=$20,"
	    " updated_at=$21, op_attempts=$22, next_attempt_at=$23, last_error=$24, add_unsure=$25,"
	    " sig=$26 WHERE id=$27 AND state=$28";
	struct pg_ledger *p = b;
	struct params pa = { 0 };
	PGresult *res;
	int r = LEDGER_ERR;

	params_grant(&pa, g);
	ledger_pg_int(&pa, g->id);
	ledger_pg_text(&pa, expected_state);
	pthread_mutex_lock(&p->lock);
	res = ledger_pg_run(p, "update grant", sql, &pa, PGRES_COMMAND_OK, 0);
	if (res != NULL)
		r = ledger_pg_changed(res) == 1 ? LEDGER_OK : LEDGER_CONFLICT;
	PQclear(res);
	pthread_mutex_unlock(&p->lock);
	return r;
}

/* The rows are in res, which outlives the connection's use: cb runs
 * after p->lock is released, so it may call back into the ledger. */
static int grant_rows(struct pg_ledger *p, const char *what, const char *sql, const struct params *pa, grant_cb cb,
		      void *ctx)
{
	struct grant g;
	PGresult *res;
	int i, n;

	pthread_mutex_lock(&p->lock);
	res = ledger_pg_run(p, what, sql, pa, PGRES_TUPLES_OK, 1);
	pthread_mutex_unlock(&p->lock);
	if (res == NULL)
		return LEDGER_ERR;
	n = PQntuples(res);
	for (i = 0; i < n; i++) {
		row_to_grant(res, i, &g);
		if (cb(&g, ctx) != 0)
			break;
	}
	PQclear(res);
	return LEDGER_OK;
}

int ledger_pg_grant_list(void *b, const char *user, const char *states, int64_t before_id, size_t limit,
			 grant_cb cb, void *ctx)
{
	struct params pa = { 0 };

	ledger_pg_text(&pa, user);
	ledger_pg_text(&pa, states);
	ledger_pg_limit(&pa, limit);
	ledger_pg_int(&pa, before_id);
	return grant_rows(b, "list grants",
			  "SELECT " GRANT_COLS " FROM grants WHERE ($1::text IS NULL OR \"user\" = $1::text)"
			  " AND ($2::text IS NULL OR $2::text = ''"
			  " OR strpos(',' || $2::text || ',', ',' || state || ',') > 0)"
			  " AND ($4::bigint = 0 OR id < $4::bigint) ORDER BY id DESC LIMIT $3::bigint",
			  &pa, cb, ctx);
}

int ledger_pg_grant_due(void *b, int64_t now, grant_cb cb, void *ctx)
{
	struct params pa = { 0 };

	ledger_pg_int(&pa, now);
	return grant_rows(b, "due grants",
			  "SELECT " GRANT_COLS " FROM grants WHERE"
			  " (op <> '' AND next_attempt_at <= $1::bigint)"
			  " OR (state = 'active' AND op = '' AND end_at <= $1::bigint)"
			  " OR (state = 'pending' AND pending_expires_at <= $1::bigint)"
			  " ORDER BY id LIMIT 1000",
			  &pa, cb, ctx);
}

int64_t ledger_pg_next_due(void *b)
{
	struct pg_ledger *p = b;
	PGresult *res;
	int64_t t = -1;

	pthread_mutex_lock(&p->lock);
	res = ledger_pg_run(p, "next due",
			    "SELECT MIN(t) FROM ("
			    " SELECT MIN(next_attempt_at) AS t FROM grants WHERE op <> ''"
			    " UNION ALL SELECT MIN(end_at) FROM grants WHERE state = 'active' AND op = ''"
			    " UNION ALL SELECT MIN(pending_expires_at) FROM grants WHERE state = 'pending') AS due",
			    NULL, PGRES_TUPLES_OK, 1);
	if (res != NULL && PQntuples(res) == 1)
		t = PQgetisnull(res, 0, 0) ? 0 : ledger_pg_val_i64(res, 0, 0);
	PQclear(res);
	pthread_mutex_unlock(&p->lock);
	return t;
}

int ledger_pg_counts(void *b, int64_t ended_before, struct ledger_counts *c)
{
	struct pg_ledger *p = b;
	struct params pa = { 0 };
	PGresult *res;
	int r = LEDGER_ERR;

	ledger_pg_int(&pa, ended_before);
	pthread_mutex_lock(&p->lock);
	res = ledger_pg_run(p, "counts",
			    "SELECT (SELECT COUNT(*) FROM grants WHERE"
			    " ((op = 'remove' AND add_unsure <> 2) OR (state = 'active' AND op = '' AND was_member = 0))"
			    " AND (CASE WHEN end_at > 0 THEN end_at ELSE requested_at END) <= $1::bigint),"
			    " (SELECT COUNT(*) FROM notifications WHERE sent_at = 0 AND dropped_at = 0)",
			    &pa, PGRES_TUPLES_OK, 1);
	if (res != NULL && PQntuples(res) == 1) {
		c->removals_overdue = ledger_pg_val_i64(res, 0, 0);
		c->notify_backlog = ledger_pg_val_i64(res, 0, 1);
		r = LEDGER_OK;
	}
	PQclear(res);
	pthread_mutex_unlock(&p->lock);
	return r;
}

/* ---- claims ----------------------------------------------------------- */

static void claim_keys(struct params *pa, int64_t id)
{
	uint64_t u = (uint64_t)id;

	ledger_pg_int(pa, (int32_t)((uint32_t)(u >> 32) ^ (uint32_t)CLAIM_NS));
	ledger_pg_int(pa, (int32_t)(uint32_t)(u & 0xffffffffu));
}

static ssize_t claim_find(const struct pg_ledger *p, int64_t id)
{
	size_t i;

	for (i = 0; i < p->nclaims; i++)
		if (p->claims[i].id == id)
			return (ssize_t)i;
	return -1;
}

/* 1: this daemon now owns the grant's work; 0: another granter (another
 * host, or another thread here: session locks nest, so the set of claims
 * held keeps two threads of this daemon apart) holds it; -1: error. */
int ledger_pg_claim(void *b, int64_t grant_id)
{
	struct pg_ledger *p = b;
	struct params pa = { 0 };
	PGresult *res;
	int r = -1;

	claim_keys(&pa, grant_id);
	pthread_mutex_lock(&p->lock);
	if (claim_find(p, grant_id) >= 0) {
		r = 0;
		goto out;
	}
	if (p->nclaims == p->capclaims) {
		size_t cap = p->capclaims ? p->capclaims * 2 : 16;
		struct claim *c = realloc(p->claims, cap * sizeof(*c));

		if (c == NULL) {
			snprintf(p->last_error, sizeof(p->last_error), "claim: out of memory");
			goto out;
		}
		p->claims = c;
		p->capclaims = cap;
	}
	/* A retry after a lost connection is safe: the lock died with it. */
	res = ledger_pg_run(p, "claim", "SELECT pg_try_advisory_lock($1::int4, $2::int4)", &pa, PGRES_TUPLES_OK, 1);
	if (res != NULL && PQntuples(res) == 1) {
		r = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
		if (r == 1) {
			p->claims[p->nclaims].id = grant_id;
			p->claims[p->nclaims].epoch = p->reconnects;
			p->nclaims++;
		}
	}
	PQclear(res);
out:
	pthread_mutex_unlock(&p->lock);
	return r;
}

void ledger_pg_unclaim(void *b, int64_t grant_id)
{
	struct pg_ledger *p = b;
	struct params pa = { 0 };
	PGresult *res;
	ssize_t i;
	int held;

	claim_keys(&pa, grant_id);
	pthread_mutex_lock(&p->lock);
	i = claim_find(p, grant_id);
	if (i < 0)
		goto out;
	/* A claim from before a reset died with the old session. */
	held = p->claims[i].epoch == p->reconnects;
	p->claims[i] = p->claims[--p->nclaims];
	if (held && PQstatus(p->conn) == CONNECTION_OK) {
		res = ledger_pg_run(p, "unclaim", "SELECT pg_advisory_unlock($1::int4, $2::int4)", &pa, PGRES_TUPLES_OK, 0);
		PQclear(res);
	}
out:
	pthread_mutex_unlock(&p->lock);
}
