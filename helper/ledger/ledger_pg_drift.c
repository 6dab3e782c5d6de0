/* ledger_pg_drift.c - drift rows (issue 20) in the PostgreSQL ledger,
 * shared by the granters of a fleet: whichever of them sweeps a group
 * next finds what the others reported, so a member is audited and told
 * once per episode and a refused removal is retried by any of them. */
#include "ledger_pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static void row_from(const PGresult *res, int i, struct drift_row *r)
{
	memset(r, 0, sizeof(*r));
	ledger_pg_val_text(res, i, 0, r->group_id, sizeof(r->group_id));
	ledger_pg_val_text(res, i, 1, r->okta_user_id, sizeof(r->okta_user_id));
	ledger_pg_val_text(res, i, 2, r->grp, sizeof(r->grp));
	ledger_pg_val_text(res, i, 3, r->login, sizeof(r->login));
	r->first_seen = ledger_pg_val_i64(res, i, 4);
	r->last_seen = ledger_pg_val_i64(res, i, 5);
	ledger_pg_val_text(res, i, 6, r->state, sizeof(r->state));
	r->attempts = (int)ledger_pg_val_i64(res, i, 7);
	ledger_pg_val_text(res, i, 8, r->last_error, sizeof(r->last_error));
	ledger_pg_val_text(res, i, 9, r->host, sizeof(r->host));
}

int ledger_pg_drift_put(void *b, const struct drift_row *r)
{
	struct pg_ledger *p = b;
	struct params pa = { 0 };
	PGresult *res;
	int rc = LEDGER_ERR;

	ledger_pg_text(&pa, r->group_id);
	ledger_pg_text(&pa, r->okta_user_id);
	ledger_pg_text(&pa, r->grp);
	ledger_pg_text(&pa, r->login);
	ledger_pg_int(&pa, r->first_seen);
	ledger_pg_int(&pa, r->last_seen);
	ledger_pg_text(&pa, r->state);
	ledger_pg_int(&pa, r->attempts);
	ledger_pg_text(&pa, r->last_error);
	ledger_pg_text(&pa, r->host);
	pthread_mutex_lock(&p->lock);
	res = ledger_pg_run(p, "drift",
			    "INSERT INTO drift (group_id, okta_user_id, grp, login, first_seen, last_seen, state,"
			    " attempts, last_error, host) VALUES ($1, $2, $3, $4, $5::bigint, $6::bigint, $7,"
			    " $8::bigint, $9, $10)"
			    " ON CONFLICT (group_id, okta_user_id) DO UPDATE SET grp = $3, login = $4,"
			    " first_seen = $5::bigint, last_seen = $6::bigint, state = $7, attempts = $8::bigint,"
			    " last_error = $9, host = $10",
			    &pa, PGRES_COMMAND_OK, 1);
	if (res != NULL)
		rc = LEDGER_OK;
	PQclear(res);
	pthread_mutex_unlock(&p->lock);
	return rc;
}

int ledger_pg_drift_list(void *b, const char *grp, drift_cb cb, void *ctx)
{
	struct pg_ledger *p = b;
	struct params pa = { 0 };
	struct drift_row r;
	PGresult *res;
	int i;

	ledger_pg_text(&pa, grp != NULL ? grp : "");
	pthread_mutex_lock(&p->lock);
	res = ledger_pg_run(p, "drift list",
			    "SELECT group_id, okta_user_id, grp, login, first_seen, last_seen, state, attempts,"
			    " last_error, host FROM drift WHERE $1 = '' OR grp = $1 ORDER BY grp, login",
			    &pa, PGRES_TUPLES_OK, 1);
	pthread_mutex_unlock(&p->lock);
	if (res == NULL)
		return LEDGER_ERR;
	/* the callbacks run without the lock: they may call the ledger */
	for (i = 0; i < PQntuples(res); i++) {
		row_from(res, i, &r);
		if (cb(&r, ctx) != 0)
			break;
	}
	PQclear(res);
	return LEDGER_OK;
}

int ledger_pg_drift_del(void *b, const char *group_id, const char *okta_user_id)
{
	struct pg_ledger *p = b;
	struct params pa = { 0 };
	PGresult *res;
	int rc = LEDGER_ERR;

	ledger_pg_text(&pa, group_id);
	ledger_pg_text(&pa, okta_user_id);
	pthread_mutex_lock(&p->lock);
	res = ledger_pg_run(p, "drift", "DELETE FROM drift WHERE group_id = $1 AND okta_user_id = $2", &pa,
			    PGRES_COMMAND_OK, 1);
	if (res != NULL)
		rc = LEDGER_OK;
	PQclear(res);
	pthread_mutex_unlock(&p->lock);
	return rc;
}
