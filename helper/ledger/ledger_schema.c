/* ledger_schema.c - the ledger's schema, one list of migrations for every
 * backend. Each entry moves the schema one version up; never edit a
 * shipped one. The SQL is portable except for two placeholders, rendered
 * per dialect: @ID@ (a 64-bit auto-increment primary key) and @INT@ (a
 * 64-bit integer). The column "user" is quoted: PostgreSQL reserves it.
 * A migration that begins with @PG@ is PostgreSQL's alone: on SQLite it
 * only moves the version. */
#include "ledger_backend.h"

#include <stdlib.h>
#include <string.h>

static const char *const migrations[] = {
	/* 1 */
	"CREATE TABLE grants ("
	" id @ID@,"
	" kind TEXT NOT NULL DEFAULT 'grant' CHECK (kind IN ('grant','extend')),"
	" parent_id @INT@ REFERENCES grants(id),"
	" \"user\" TEXT NOT NULL, okta_login TEXT NOT NULL DEFAULT '', okta_user_id TEXT NOT NULL DEFAULT '',"
	" grp TEXT NOT NULL, group_id TEXT NOT NULL DEFAULT '', flow TEXT NOT NULL DEFAULT '',"
	" requester TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '', approver TEXT NOT NULL DEFAULT '',"
	" state TEXT NOT NULL CHECK (state IN ('pending','approved','active','expired','revoked','denied','failed')),"
	" op TEXT NOT NULL DEFAULT '' CHECK (op IN ('','add','remove')),"
	" was_member @INT@ NOT NULL DEFAULT 0,"
	" duration @INT@ NOT NULL,"
	" requested_at @INT@ NOT NULL, pending_expires_at @INT@ NOT NULL DEFAULT 0,"
	" decided_at @INT@ NOT NULL DEFAULT 0, start_at @INT@ NOT NULL DEFAULT 0,"
	" end_at @INT@ NOT NULL DEFAULT 0, updated_at @INT@ NOT NULL,"
	" op_attempts @INT@ NOT NULL DEFAULT 0, next_attempt_at @INT@ NOT NULL DEFAULT 0,"
	" last_error TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX grants_user_grp ON grants(\"user\", grp, state);"
	"CREATE INDEX grants_state ON grants(state, op);"
	"CREATE TABLE audit ("
	" id @ID@, at @INT@ NOT NULL, event TEXT NOT NULL,"
	" grant_id @INT@ NOT NULL DEFAULT 0, actor TEXT NOT NULL DEFAULT '', \"user\" TEXT NOT NULL DEFAULT '',"
	" grp TEXT NOT NULL DEFAULT '', detail TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX audit_at ON audit(at);"
	"CREATE TABLE sessions ("
	" id @ID@, grant_id @INT@ NOT NULL DEFAULT 0,"
	" \"user\" TEXT NOT NULL, pid @INT@ NOT NULL, service TEXT NOT NULL DEFAULT '',"
	" tty TEXT NOT NULL DEFAULT '', opened_at @INT@ NOT NULL, closed_at @INT@ NOT NULL DEFAULT 0,"
	" warned_at @INT@ NOT NULL DEFAULT 0);"
	"CREATE INDEX sessions_grant ON sessions(grant_id, closed_at);",
	/* 2: what is needed to end a session safely at the grant's end */
	"ALTER TABLE sessions ADD COLUMN logind_id TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE sessions ADD COLUMN pid_start @INT@ NOT NULL DEFAULT 0;",
	/* 3: a shared ledger holds the sessions of many hosts; each host warns
	 * and ends only its own */
	"ALTER TABLE sessions ADD COLUMN host TEXT NOT NULL DEFAULT '';",
	/* 4: the durable queue of webhook notifications */
	"CREATE TABLE notifications ("
	" id @ID@, target TEXT NOT NULL, event TEXT NOT NULL, grant_id @INT@ NOT NULL DEFAULT 0,"
	" payload TEXT NOT NULL, created_at @INT@ NOT NULL, next_attempt_at @INT@ NOT NULL DEFAULT 0,"
	" attempts @INT@ NOT NULL DEFAULT 0, last_error TEXT NOT NULL DEFAULT '',"
	" sent_at @INT@ NOT NULL DEFAULT 0, dropped_at @INT@ NOT NULL DEFAULT 0);"
	"CREATE INDEX notifications_due ON notifications(sent_at, dropped_at, next_attempt_at);"
	"CREATE INDEX notifications_grant ON notifications(grant_id, event, target);",
	/* 5: the gate's read (a user's active grant for a group, ending last)
	 * found and ordered by the index alone */
	"DROP INDEX IF EXISTS grants_user_grp;"
	"CREATE INDEX IF NOT EXISTS grants_active ON grants(\"user\", grp, state, op, end_at);",
	/* 6: an add whose outcome okta-jitd never learnt (no answer, or a
	 * restart mid-call): Okta may apply it late, so its removal is made
	 * once more [daemon] recheck_after later */
	"ALTER TABLE grants ADD COLUMN add_unsure @INT@ NOT NULL DEFAULT 0;",
	/* 7: what a check needs from Okta, per gated group, kept by the
	 * granters for the gates, who hold no Okta credential (issue 17) */
	"CREATE TABLE snapshots ("
	" grp TEXT PRIMARY KEY, group_id TEXT NOT NULL DEFAULT '',"
	" taken_at @INT@ NOT NULL DEFAULT 0, gen @INT@ NOT NULL DEFAULT 0,"
	" nmembers @INT@ NOT NULL DEFAULT 0, host TEXT NOT NULL DEFAULT '',"
	" state TEXT NOT NULL DEFAULT '', members TEXT NOT NULL DEFAULT '');",
	/* 8: every write (or delete) of a grant or a snapshot is announced to the hosts
	 * that listen (NOTIFY), whoever wrote it, in the writing transaction
	 * (delivered on commit). PostgreSQL only: SQLite has one writer. */
	"@PG@"
	"CREATE FUNCTION okta_jit_notify() RETURNS trigger LANGUAGE plpgsql AS $f$"
	" BEGIN"
	"  IF TG_TABLE_NAME = 'grants' THEN"
	"   PERFORM pg_notify('okta_jit', 'g ' || (CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END)::text);"
	"  ELSE"
	"   PERFORM pg_notify('okta_jit', 's ' || (CASE WHEN TG_OP = 'DELETE' THEN OLD.grp ELSE NEW.grp END));"
	"  END IF;"
	"  RETURN NULL;"
	" END $f$;"
	"CREATE TRIGGER grants_notify AFTER INSERT OR UPDATE OR DELETE ON grants"
	" FOR EACH ROW EXECUTE FUNCTION okta_jit_notify();"
	"CREATE TRIGGER snapshots_notify AFTER INSERT OR UPDATE OR DELETE ON snapshots"
	" FOR EACH ROW EXECUTE FUNCTION okta_jit_notify();",
	/* 9: the granter's signature of a grant row and of a snapshot (the
	 * daemon's fleet_sig.c): a gate uses only rows a granter signed */
	"ALTER TABLE grants ADD COLUMN sig TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE snapshots ADD COLUMN sig TEXT NOT NULL DEFAULT '';",
	/* 10: a grant's own trail (its web page, AUDIT ID) read by the index,
	 * not by a scan of the whole trail */
	"CREATE INDEX IF NOT EXISTS audit_grant ON audit(grant_id);",
	/* 11: drift (issue 20): members of a flow's Okta group with neither a
	 * grant nor a standing place, one row per group and user while it
	 * lasts, so that each is audited and told once per episode and a
	 * removal Okta refused is retried, whichever granter sweeps */
	"CREATE TABLE drift ("
	" group_id TEXT NOT NULL, okta_user_id TEXT NOT NULL, grp TEXT NOT NULL DEFAULT '',"
	" login TEXT NOT NULL DEFAULT '', first_seen @INT@ NOT NULL DEFAULT 0,"
	" last_seen @INT@ NOT NULL DEFAULT 0, state TEXT NOT NULL DEFAULT 'reported',"
	" attempts @INT@ NOT NULL DEFAULT 0, last_error TEXT NOT NULL DEFAULT '',"
	" host TEXT NOT NULL DEFAULT '', PRIMARY KEY (group_id, okta_user_id));",
};

int ledger_schema_count(void)
{
	return (int)(sizeof(migrations) / sizeof(migrations[0]));
}

/* Replace every placeholder of src: to == NULL only measures. */
static size_t render(const char *src, const char *id, const char *in, char *to)
{
	size_t n = 0, k;
	const char *p = src;

	while (*p) {
		const char *with = NULL;

		if (strncmp(p, "@ID@", 4) == 0) {
			with = id;
			p += 4;
		} else if (strncmp(p, "@INT@", 5) == 0) {
			with = in;
			p += 5;
		}
		if (with != NULL) {
			k = strlen(with);
			if (to != NULL)
				memcpy(to + n, with, k);
			n += k;
		} else {
			if (to != NULL)
				to[n] = *p;
			n++;
			p++;
		}
	}
	if (to != NULL)
		to[n] = '\0';
	return n;
}

char *ledger_schema_render(int n, int dialect)
{
	const char *id = dialect == LEDGER_DIALECT_PG ? "BIGSERIAL PRIMARY KEY" : "INTEGER PRIMARY KEY AUTOINCREMENT";
	const char *in = dialect == LEDGER_DIALECT_PG ? "BIGINT" : "INTEGER";
	char *out;
	const char *src;

	if (n < 0 || n >= ledger_schema_count())
		return NULL;
	src = migrations[n];
	if (strncmp(src, "@PG@", 4) == 0)
		src = dialect == LEDGER_DIALECT_PG ? src + 4 : "SELECT 1;";
	out = malloc(render(src, id, in, NULL) + 1);
	if (out != NULL)
		render(src, id, in, out);
	return out;
}
