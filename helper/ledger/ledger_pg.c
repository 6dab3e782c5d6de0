/* ledger_pg.c - the ledger in PostgreSQL, for fleets: many okta-jitd hosts
 * share one database. The same operations, filters and orders as
 * ledger_sqlite.c, row for row; the schema is the shared one
 * (ledger_schema.c) rendered for PostgreSQL, its version kept in the
 * one-row table okta_jit_schema (PostgreSQL has no user_version).
 *
 * One connection behind a mutex, every statement sent with its values as
 * text parameters (PQsendQueryParams). Every call returns in bounded time:
 * statement_timeout and lock_timeout are set on each (re)connection, TCP
 * keepalives and tcp_user_timeout notice a peer that vanished, a
 * client-side deadline (ANSWER_TIMEOUT_MS) covers a server that hangs, and
 * connect_timeout bounds a reconnect. A connection found broken is reset
 * once per call; if that fails the call fails (LEDGER_ERR, "ledger database
 * unreachable: ...") and later calls fail fast for RETRY_MS before the next
 * attempt, so the login gate does not queue behind one stuck reconnect.
 *
 * Claims are session-level advisory locks on that connection: PostgreSQL
 * drops them when this daemon's connection dies, so another granter can
 * finish the work. A reset therefore loses every claim this daemon held;
 * ledger_pg_reconnects() counts connection losses so a claim holder can
 * tell (the count when it claimed differs from the count now).
 *
 * This file is the connection and the schema; the rows are in
 * ledger_pg_grants.c (grants, claims) and ledger_pg_events.c (audit log,
 * notification queue, sessions), which share ledger_pg.h. */
#include "ledger_pg.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

/* Belongs in ledger_backend.h next to ledger_pg_open: how many times the
 * connection was found broken (and reset) since open. Every claim held
 * when this number moves is lost. */

/* Advisory lock keys. The migration lock uses the one-bigint form and the
 * claims the two-int4 form: PostgreSQL keeps the two forms apart
 * (different objsubid in the lock tag), so no grant id can ever take the
 * migration lock. A claim's keys are (CLAIM_NS ^ high 32 bits of the id,
 * low 32 bits): one key pair per grant id, all 64 bits of it. */
#define MIGRATION_LOCK_KEY "8028075700593176935" /* "ojit-mig" */

#define STATEMENT_TIMEOUT "10s"
#define LOCK_TIMEOUT "5s"
/* The server enforces the two above; this one holds when the server (or
 * its host) hangs and enforces nothing. */
#define ANSWER_TIMEOUT_MS 15000
#define RETRY_MS 1000
#define PASSWORD_MAX 1024
/* one libpq message, sized to fit into last_error with its context */
#define MSG_MAX 300

void ledger_pg_text(struct params *pa, const char *s)
{
	if (pa->n < PARAMS_MAX)
		pa->v[pa->n++] = s;
}

void ledger_pg_int(struct params *pa, int64_t x)
{
	if (pa->n < PARAMS_MAX) {
		snprintf(pa->num[pa->n], sizeof(pa->num[0]), "%" PRId64, x);
		pa->v[pa->n] = pa->num[pa->n];
		pa->n++;
	}
}

/* SQLite takes a LIMIT too large for int64 (negative once bound) as no
 * limit; PostgreSQL wants NULL for that. */
void ledger_pg_limit(struct params *pa, size_t limit)
{
	if (limit > (size_t)INT64_MAX)
		ledger_pg_text(pa, NULL);
	else
		ledger_pg_int(pa, (int64_t)limit);
}

/* libpq's messages end in a newline and may span lines ("\n\tIs the
 * server running..."): one line, no control characters. */
static void one_line(char *dst, size_t n, const char *msg)
{
	size_t i, o = 0;
	int space = 0;

	if (n == 0)
		return;
	for (i = 0; msg != NULL && msg[i] != '\0' && o + 1 < n; i++) {
		if (msg[i] == '\n' || msg[i] == '\t' || msg[i] == '\r' || msg[i] == ' ') {
			space = 1;
			continue;
		}
		if (space && o > 0 && o + 2 < n)
			dst[o++] = ' ';
		space = 0;
		dst[o++] = msg[i];
	}
	dst[o] = '\0';
	ojit_strip_controls(dst);
}

static void set_err(struct pg_ledger *p, const char *what, const PGresult *res)
{
	char msg[MSG_MAX];
	const char *m = res != NULL ? PQresultErrorMessage(res) : NULL;

	if (m == NULL || m[0] == '\0')
		m = PQerrorMessage(p->conn);
	one_line(msg, sizeof(msg), m);
	snprintf(p->last_error, sizeof(p->last_error), "%s: %s", what, msg[0] ? msg : "error");
	error_f("ledger: %s", p->last_error);
}

/* Notices come from libpq calls made under p->lock. A FATAL the server
 * sent before hanging up on an idle connection arrives as one. */
static void on_notice(void *arg, const char *message)
{
	struct pg_ledger *p = arg;

	one_line(p->notice, sizeof(p->notice), message);
	debug_f("ledger database: %s", p->notice);
}

static void set_where(struct pg_ledger *p)
{
	const char *db = PQdb(p->conn), *host = PQhost(p->conn), *port = PQport(p->conn);

	snprintf(p->where, sizeof(p->where), "the ledger database \"%s\" on %s%s%s", db ? db : "",
		 host && host[0] ? host : "the local socket", port && port[0] ? ":" : "", port ? port : "");
	ojit_strip_controls(p->where);
}

/* PQexec/PQexecParams with a deadline: a server that stopped answering
 * (a hung host, a stopped process) leaves the socket silent, and neither
 * statement_timeout nor TCP keepalives can end that wait. On the deadline
 * the socket is shut down under libpq, which then fails the statement and
 * marks the connection bad, to be reset by the next call. A NULL pa sends
 * a simple query (which may hold several statements). */
static PGresult *exec_bounded(struct pg_ledger *p, const char *sql, const struct params *pa)
{
	int64_t deadline = ojit_mono_ms() + ANSWER_TIMEOUT_MS, left;
	PGresult *res, *last = NULL;
	struct pollfd pfd;
	int sent;

	p->timed_out = 0;
	if (pa != NULL)
		sent = PQsendQueryParams(p->conn, sql, pa->n, NULL, pa->v, NULL, NULL, 0);
	else
		sent = PQsendQuery(p->conn, sql);
	if (!sent)
		return NULL;
	for (;;) {
		while (PQisBusy(p->conn) && PQstatus(p->conn) == CONNECTION_OK) {
			left = deadline - ojit_mono_ms();
			if (left <= 0) {
				p->timed_out = 1;
				shutdown(PQsocket(p->conn), SHUT_RDWR);
				break;
			}
			pfd.fd = PQsocket(p->conn);
			pfd.events = POLLIN;
			pfd.revents = 0;
			if (poll(&pfd, 1, (int)left) > 0 && !PQconsumeInput(p->conn))
				break;
		}
		/* not busy, or the connection failed: this does not wait */
		res = PQgetResult(p->conn);
		if (res == NULL)
			break;
		PQclear(last);
		last = res;
		if (PQstatus(p->conn) != CONNECTION_OK)
			break;
	}
	return last;
}

/* Settings that must hold on every connection, also after a reset:
 * bounded statements, no notices below warnings, terse errors. */
static int session_setup(struct pg_ledger *p)
{
	PGresult *res;
	int r;

	PQsetNoticeProcessor(p->conn, on_notice, p);
	PQsetErrorVerbosity(p->conn, PQERRORS_TERSE);
	res = exec_bounded(p,
			   "SET statement_timeout = '" STATEMENT_TIMEOUT "';"
			   " SET lock_timeout = '" LOCK_TIMEOUT "';"
			   " SET client_min_messages = warning",
			   NULL);
	r = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : -1;
	if (r != 0)
		set_err(p, "ledger database session setup", res);
	PQclear(res);
	return r;
}

/* Read what the server sent while the connection was idle. A server that
 * restarted or ended the session sent a FATAL and closed: the connection
 * turns bad here, before a statement is sent into it, so the reset that
 * follows cannot have run half a write. Called with p->lock held. */
static void drain_idle(struct pg_ledger *p)
{
	struct pollfd pfd;
	int i;

	pfd.fd = PQsocket(p->conn);
	pfd.events = POLLIN;
	for (i = 0; i < 4 && pfd.fd >= 0; i++) {
		pfd.revents = 0;
		if (poll(&pfd, 1, 0) <= 0)
			return;
		if (!PQconsumeInput(p->conn))
			return;
		(void)PQisBusy(p->conn); /* parses it: an idle ERROR becomes a notice */
	}
}

/* Reset a broken connection once. Called with p->lock held. */
static int reconnect(struct pg_ledger *p)
{
	char msg[MSG_MAX], why[sizeof(p->notice)];
	int64_t now = ojit_mono_ms();

	if (now < p->retry_after_ms) {
		snprintf(p->last_error, sizeof(p->last_error), "%s", p->down);
		return -1;
	}
	/* The session, and with it every advisory lock it held, is gone. */
	p->reconnects++;
	memcpy(why, p->notice, sizeof(why));
	p->notice[0] = '\0';
	PQreset(p->conn);
	if (PQstatus(p->conn) == CONNECTION_OK && session_setup(p) == 0) {
		p->retry_after_ms = 0;
		info_f("ledger: reconnected to %s%s%s", p->where, why[0] ? " after: " : "", why);
		return 0;
	}
	one_line(msg, sizeof(msg), PQerrorMessage(p->conn));
	snprintf(p->down, sizeof(p->down), "ledger database unreachable: %s%s%s%s", msg[0] ? msg : "connection failed",
		 why[0] ? " (before: " : "", why, why[0] ? ")" : "");
	snprintf(p->last_error, sizeof(p->last_error), "%s", p->down);
	error_f("ledger: %s (%s)", p->down, p->where);
	p->retry_after_ms = ojit_mono_ms() + RETRY_MS;
	return -1;
}

/* Run one statement and return its result when it has the wanted status,
 * else NULL with last_error set. A statement that lost the connection is
 * run again after the reset only when it is a read (retry): a write may
 * have been applied before the connection went. Called with p->lock held. */
PGresult *ledger_pg_run(struct pg_ledger *p, const char *what, const char *sql, const struct params *pa,
			ExecStatusType want, int retry)
{
	PGresult *res;
	char msg[MSG_MAX];
	int attempt;

	for (attempt = 0;; attempt++) {
		if (PQstatus(p->conn) == CONNECTION_OK)
			drain_idle(p);
		if (PQstatus(p->conn) != CONNECTION_OK && reconnect(p) != 0)
			return NULL;
		res = exec_bounded(p, sql, pa);
		if (res != NULL && PQresultStatus(res) == want)
			return res;
		if (PQstatus(p->conn) == CONNECTION_OK) {
			set_err(p, what, res);
			PQclear(res);
			return NULL;
		}
		if (p->timed_out)
			snprintf(msg, sizeof(msg), "no answer in %d s", ANSWER_TIMEOUT_MS / 1000);
		else
			one_line(msg, sizeof(msg), PQerrorMessage(p->conn));
		PQclear(res);
		/* a server that hangs would only hang the retry too */
		if (!retry || attempt > 0 || p->timed_out) {
			snprintf(p->last_error, sizeof(p->last_error), "%s: ledger database unreachable: %s", what,
				 msg[0] ? msg : "connection lost");
			error_f("ledger: %s (%s)", p->last_error, p->where);
			return NULL;
		}
	}
}

int64_t ledger_pg_val_i64(const PGresult *res, int row, int col)
{
	const char *v = PQgetvalue(res, row, col);

	if (PQgetisnull(res, row, col) || v == NULL)
		return 0;
	return strtoll(v, NULL, 10);
}

void ledger_pg_val_text(const PGresult *res, int row, int col, char *dst, size_t n)
{
	ojit_strlcpy(dst, PQgetisnull(res, row, col) ? "" : PQgetvalue(res, row, col), n);
}

/* How many rows an UPDATE changed. */
long ledger_pg_changed(PGresult *res)
{
	const char *t = PQcmdTuples(res);

	return t != NULL && t[0] != '\0' ? strtol(t, NULL, 10) : 0;
}

/* ---- open and migrate ------------------------------------------------ */

static int read_password(const char *path, char **out, char *err, size_t errlen)
{
	char buf[PASSWORD_MAX + 1];
	struct stat st;
	size_t len = 0;
	ssize_t n = 0;
	char *nl;
	int fd, r = -1;

	*out = NULL;
	/* O_NONBLOCK: a FIFO planted at the path must not hang the daemon. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ELOOP)
			snprintf(err, errlen, "ledger password file %s is a symbolic link; name the file itself", path);
		else
			snprintf(err, errlen, "cannot open the ledger password file %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0) {
		snprintf(err, errlen, "cannot stat the ledger password file %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "ledger password file %s is not a regular file", path);
		goto out;
	}
	if (st.st_uid != geteuid()) {
		snprintf(err, errlen, "ledger password file %s is owned by uid %u; it must be owned by %s (chown root:root %s)",
			 path, (unsigned)st.st_uid, geteuid() == 0 ? "root" : "the user running okta-jitd", path);
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		snprintf(err, errlen,
			 "ledger password file %s has permissions %04o; it must not be readable or writable by group or others (chmod 600 %s)",
			 path, (unsigned)(st.st_mode & 07777), path);
		goto out;
	}
	while (len < PASSWORD_MAX && (n = read(fd, buf + len, PASSWORD_MAX - len)) > 0)
		len += (size_t)n;
	if (n < 0) {
		snprintf(err, errlen, "cannot read the ledger password file %s: %s", path, strerror(errno));
		goto out;
	}
	buf[len] = '\0';
	nl = memchr(buf, '\n', len);
	if (nl == NULL && len == PASSWORD_MAX) {
		snprintf(err, errlen, "ledger password file %s: the first line is longer than %d bytes", path,
			 PASSWORD_MAX);
		goto out;
	}
	if (nl != NULL)
		*nl = '\0';
	len = strlen(buf);
	if (len > 0 && buf[len - 1] == '\r')
		buf[--len] = '\0';
	if (len == 0) {
		snprintf(err, errlen, "ledger password file %s: the first line is empty", path);
		goto out;
	}
	if ((*out = strdup(buf)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	r = 0;
out:
	ojit_wipe(buf, sizeof(buf));
	close(fd);
	return r;
}

/* libpq's parse errors quote pieces of the string, some of a URI the
 * whole of it: say nothing more than "invalid" when it may hold a password
 * (password=..., or user:password@ in a URI). */
static int check_conninfo(const char *conninfo, char *err, size_t errlen)
{
	int uri = strncmp(conninfo, "postgresql://", 13) == 0 || strncmp(conninfo, "postgres://", 11) == 0;
	PQconninfoOption *opts;
	char *msg = NULL;
	char line[256];

	/* libpq expands only a string with "=" or a URI; else it is a name */
	if (strchr(conninfo, '=') == NULL && !uri)
		return 0;
	opts = PQconninfoParse(conninfo, &msg);
	if (opts != NULL) {
		PQconninfoFree(opts);
		return 0;
	}
	if (msg != NULL && strcasestr(conninfo, "password") == NULL && !(uri && strchr(conninfo, '@') != NULL)) {
		one_line(line, sizeof(line), msg);
		snprintf(err, errlen, "invalid ledger database connection string: %s", line);
	} else {
		snprintf(err, errlen, "invalid ledger database connection string");
	}
	PQfreemem(msg);
	return -1;
}

/* Simple statements of the migration (no values), in its transaction. */
static int exec_simple(struct pg_ledger *p, const char *what, const char *sql)
{
	PGresult *res = exec_bounded(p, sql, NULL);
	int r = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK ? 0 : -1;

	if (r != 0)
		set_err(p, what, res);
	PQclear(res);
	return r;
}

static PGresult *exec_one(struct pg_ledger *p, const char *what, const char *sql, const struct params *pa,
			  ExecStatusType want)
{
	PGresult *res = exec_bounded(p, sql, pa);

	if (PQresultStatus(res) == want)
		return res;
	set_err(p, what, res);
	PQclear(res);
	return NULL;
}

/* The version in okta_jit_schema, creating the table (version 0) on a
 * fresh database. Inside the migration transaction. */
static int read_version(struct pg_ledger *p, int *v)
{
	struct params pa = { 0 };
	PGresult *res;
	int r = -1, missing;

	/* Asked first: CREATE ... IF NOT EXISTS needs the CREATE privilege even
	 * when the table exists, which a locked-down role may not have. */
	res = exec_one(p, "schema version", "SELECT to_regclass('okta_jit_schema') IS NULL", NULL, PGRES_TUPLES_OK);
	if (res == NULL)
		return -1;
	missing = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (missing && exec_simple(p, "schema version", "CREATE TABLE okta_jit_schema (version INT NOT NULL)") != 0)
		return -1;
	res = exec_one(p, "schema version", "SELECT version FROM okta_jit_schema", NULL, PGRES_TUPLES_OK);
	if (res == NULL)
		return -1;
	if (PQntuples(res) == 0) {
		PQclear(res);
		ledger_pg_int(&pa, 0);
		res = exec_one(p, "schema version", "INSERT INTO okta_jit_schema (version) VALUES ($1)", &pa,
			       PGRES_COMMAND_OK);
		*v = 0;
		r = res != NULL ? 0 : -1;
	} else if (PQntuples(res) == 1) {
		*v = (int)ledger_pg_val_i64(res, 0, 0);
		r = 0;
	} else {
		snprintf(p->last_error, sizeof(p->last_error), "okta_jit_schema holds %d rows; it must hold one",
			 PQntuples(res));
	}
	PQclear(res);
	return r;
}

/* One transaction per migration, each under a transaction-level advisory
 * lock, so that daemons starting at once against a fresh database take
 * turns and only the first migrates. */
static int migrate(struct pg_ledger *p, char *err, size_t errlen)
{
	int count = ledger_schema_count(), v = -1;
	const char *hint;
	struct params pa;
	PGresult *res;
	char *sql;
	int ok;

	for (;;) {
		v = -1;
		memset(&pa, 0, sizeof(pa));
		ledger_pg_text(&pa, MIGRATION_LOCK_KEY);
		if (exec_simple(p, "begin", "BEGIN") != 0)
			goto fail;
		res = exec_one(p, "schema lock", "SELECT pg_advisory_xact_lock($1::bigint)", &pa, PGRES_TUPLES_OK);
		ok = res != NULL;
		PQclear(res);
		if (!ok || read_version(p, &v) != 0)
			goto rollback;
		if (v > count) {
			exec_simple(p, "rollback", "ROLLBACK");
			snprintf(err, errlen,
				 "ledger schema version %d of %s is newer than this okta-jitd (%d); upgrade okta-jit", v,
				 p->where, count);
			return -1;
		}
		if (v == count) {
			if (exec_simple(p, "commit", "COMMIT") == 0)
				return 0;
			snprintf(err, errlen, "cannot read the schema version of %s: %s", p->where, p->last_error);
			return -1;
		}
		sql = ledger_schema_render(v, LEDGER_DIALECT_PG);
		if (sql == NULL) {
			snprintf(p->last_error, sizeof(p->last_error), "out of memory");
			goto rollback;
		}
		if (exec_simple(p, "migration", sql) != 0) {
			free(sql);
			goto rollback;
		}
		free(sql);
		memset(&pa, 0, sizeof(pa));
		ledger_pg_int(&pa, v + 1);
		res = exec_one(p, "schema version", "UPDATE okta_jit_schema SET version = $1", &pa, PGRES_COMMAND_OK);
		ok = res != NULL;
		PQclear(res);
		if (!ok)
			goto rollback;
		if (exec_simple(p, "commit", "COMMIT") != 0)
			goto fail;
		info_f("ledger: %s migrated to schema version %d", p->where, v + 1);
	}
rollback:
	exec_simple(p, "rollback", "ROLLBACK");
fail:
	/* a gate's role may read the ledger, never make or migrate it */
	hint = strstr(p->last_error, "permission denied") != NULL
		       ? " (this role cannot create or migrate the schema, as a gate's should not: start or upgrade a "
			 "granter first)"
		       : "";
	if (v >= 0)
		snprintf(err, errlen, "schema migration of %s to version %d failed: %s%s", p->where, v + 1, p->last_error,
			 hint);
	else
		snprintf(err, errlen, "cannot read the schema version of %s: %s%s", p->where, p->last_error, hint);
	return -1;
}

static void pg_close(void *b)
{
	struct pg_ledger *p = b;

	if (p == NULL)
		return;
	if (p->conn != NULL)
		PQfinish(p->conn); /* libpq wipes its copy of the password */
	free(p->claims);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

void *ledger_pg_open(const char *conninfo, const char *password_file, char *err, size_t errlen)
{
	/* Ours come before dbname, which expands the conninfo: what the
	 * conninfo sets wins. The password file comes after it and wins. */
	const char *keys[] = { "application_name", "connect_timeout", "keepalives", "keepalives_idle",
			       "keepalives_interval", "keepalives_count", "tcp_user_timeout", "client_encoding",
			       "dbname", "password", NULL };
	const char *values[] = { "okta-jitd", "5", "1", "10", "5", "3", "10000", "UTF8", conninfo, NULL, NULL };
	struct pg_ledger *p = NULL;
	char *password = NULL;
	char msg[MSG_MAX];

	if (conninfo == NULL || conninfo[0] == '\0') {
		snprintf(err, errlen, "no ledger database connection string");
		return NULL;
	}
	if (check_conninfo(conninfo, err, errlen) != 0)
		return NULL;
	if (password_file != NULL && password_file[0] != '\0' && read_password(password_file, &password, err, errlen) != 0)
		return NULL;
	values[9] = password;
	p = calloc(1, sizeof(*p));
	if (p == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	pthread_mutex_init(&p->lock, NULL);
	p->conn = PQconnectdbParams(keys, values, 1);
	ojit_free_secret(password);
	password = NULL;
	values[9] = NULL;
	if (p->conn == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	set_where(p);
	if (PQstatus(p->conn) != CONNECTION_OK) {
		one_line(msg, sizeof(msg), PQerrorMessage(p->conn));
		snprintf(err, errlen, "cannot connect to %s: %s", p->where, msg);
		goto fail;
	}
	if (session_setup(p) != 0) {
		snprintf(err, errlen, "cannot set up the session on %s: %s", p->where, p->last_error);
		goto fail;
	}
	if (migrate(p, err, errlen) != 0)
		goto fail;
	return p;
fail:
	ojit_free_secret(password);
	pg_close(p);
	return NULL;
}

static const char *pg_last_error(void *b)
{
	return ((struct pg_ledger *)b)->last_error;
}

static int pg_schema_version(void *b)
{
	struct pg_ledger *p = b;
	PGresult *res;
	int v = -1;

	pthread_mutex_lock(&p->lock);
	res = ledger_pg_run(p, "schema version", "SELECT version FROM okta_jit_schema", NULL, PGRES_TUPLES_OK, 1);
	if (res != NULL && PQntuples(res) == 1)
		v = (int)ledger_pg_val_i64(res, 0, 0);
	PQclear(res);
	pthread_mutex_unlock(&p->lock);
	return v;
}

uint64_t ledger_pg_reconnects(void *b)
{
	struct pg_ledger *p = b;
	uint64_t n;

	pthread_mutex_lock(&p->lock);
	n = p->reconnects;
	pthread_mutex_unlock(&p->lock);
	return n;
}

const struct ledger_ops ledger_pg_ops = {
	.name = "postgresql",
	.close = pg_close,
	.last_error = pg_last_error,
	.schema_version = pg_schema_version,
	.grant_insert = ledger_pg_grant_insert,
	.grant_get = ledger_pg_grant_get,
	.grant_update = ledger_pg_grant_update,
	.grant_active = ledger_pg_grant_active,
	.grant_active_end = ledger_pg_grant_active_end,
	.grant_pending = ledger_pg_grant_pending,
	.grant_list = ledger_pg_grant_list,
	.grant_due = ledger_pg_grant_due,
	.next_due = ledger_pg_next_due,
	.claim = ledger_pg_claim,
	.unclaim = ledger_pg_unclaim,
	.audit_add = ledger_pg_audit_add,
	.audit_list = ledger_pg_audit_list,
	.notify_add = ledger_pg_notify_add,
	.notify_due = ledger_pg_notify_due,
	.notify_update = ledger_pg_notify_update,
	.notify_exists = ledger_pg_notify_exists,
	.notify_prune = ledger_pg_notify_prune,
	.session_open = ledger_pg_session_open,
	.session_close = ledger_pg_session_close,
	.session_list_open = ledger_pg_session_list_open,
	.session_mark_warned = ledger_pg_session_mark_warned,
	.snapshot_put = ledger_pg_snapshot_put,
	.snapshot_heads = ledger_pg_snapshot_heads,
	.snapshot_get = ledger_pg_snapshot_get,
	.drift_put = ledger_pg_drift_put,
	.drift_list = ledger_pg_drift_list,
	.drift_del = ledger_pg_drift_del,
	.counts = ledger_pg_counts,
	.listen = ledger_pg_listen,
	.wait_changes = ledger_pg_wait_changes,
};
