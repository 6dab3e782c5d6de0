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
 * tell (the count when it claimed differs from the count now). */
#include "ledger_backend.h"

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
#define CLAIM_NS 0x6f6a6974 /* "ojit" */

#define STATEMENT_TIMEOUT "10s"
#define LOCK_TIMEOUT "5s"
/* The server enforces the two above; this one holds when the server (or
 * its host) hangs and enforces nothing. */
#define ANSWER_TIMEOUT_MS 15000
#define RETRY_MS 1000
#define PASSWORD_MAX 1024
#define PARAMS_MAX 28
/* one libpq message, sized to fit into last_error with its context */
#define MSG_MAX 300

struct claim {
	int64_t id;
	uint64_t epoch; /* p->reconnects when claimed */
};

struct pg_ledger {
	PGconn *conn;
	pthread_mutex_t lock;
	uint64_t reconnects;
	int64_t retry_after_ms; /* no reconnect attempt before (monotonic) */
	int timed_out;          /* the last statement got no answer in time */
	struct claim *claims;
	size_t nclaims, capclaims;
	char where[300]; /* "the ledger database \"db\" on host:port" */
	char notice[160]; /* the last notice, often why the server hung up */
	char down[LEDGER_ERROR_MAX]; /* why the last reconnect failed */
	char last_error[LEDGER_ERROR_MAX];
};

struct params {
	const char *v[PARAMS_MAX];
	char num[PARAMS_MAX][24];
	int n;
};

static void p_text(struct params *pa, const char *s)
{
	if (pa->n < PARAMS_MAX)
		pa->v[pa->n++] = s;
}

static void p_int(struct params *pa, int64_t x)
{
	if (pa->n < PARAMS_MAX) {
		snprintf(pa->num[pa->n], sizeof(pa->num[0]), "%" PRId64, x);
		pa->v[pa->n] = pa->num[pa->n];
		pa->n++;
	}
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
static PGresult *run(struct pg_ledger *p, const char *what, const char *sql, const struct params *pa,
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

static int64_t val_i64(const PGresult *res, int row, int col)
{
	const char *v = PQgetvalue(res, row, col);

	if (PQgetisnull(res, row, col) || v == NULL)
		return 0;
	return strtoll(v, NULL, 10);
}

static void val_text(const PGresult *res, int row, int col, char *dst, size_t n)
{
	ojit_strlcpy(dst, PQgetisnull(res, row, col) ? "" : PQgetvalue(res, row, col), n);
}

/* How many rows an UPDATE changed. */
static long changed(PGresult *res)
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
		p_int(&pa, 0);
		res = exec_one(p, "schema version", "INSERT INTO okta_jit_schema (version) VALUES ($1)", &pa,
			       PGRES_COMMAND_OK);
		*v = 0;
		r = res != NULL ? 0 : -1;
	} else if (PQntuples(res) == 1) {
		*v = (int)val_i64(res, 0, 0);
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
	struct params pa;
	PGresult *res;
	char *sql;
	int ok;

	for (;;) {
		v = -1;
		memset(&pa, 0, sizeof(pa));
		p_text(&pa, MIGRATION_LOCK_KEY);
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
		p_int(&pa, v + 1);
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
	if (v >= 0)
		snprintf(err, errlen, "schema migration of %s to version %d failed: %s", p->where, v + 1, p->last_error);
	else
		snprintf(err, errlen, "cannot read the schema version of %s: %s", p->where, p->last_error);
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
	res = run(p, "schema version", "SELECT version FROM okta_jit_schema", NULL, PGRES_TUPLES_OK, 1);
	if (res != NULL && PQntuples(res) == 1)
		v = (int)val_i64(res, 0, 0);
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

/* ---- grants ----------------------------------------------------------- */

#define GRANT_COLS                                                                                   \
	"id, kind, COALESCE(parent_id,0), \"user\", okta_login, okta_user_id, grp, group_id, flow, " \
	"requester, reason, approver, state, op, was_member, duration, requested_at, "               \
	"pending_expires_at, decided_at, start_at, end_at, updated_at, op_attempts, next_attempt_at, " \
	"last_error, add_unsure"

static void row_to_grant(const PGresult *res, int row, struct grant *g)
{
	memset(g, 0, sizeof(*g));
	g->id = val_i64(res, row, 0);
	val_text(res, row, 1, g->kind, sizeof(g->kind));
	g->parent_id = val_i64(res, row, 2);
	val_text(res, row, 3, g->user, sizeof(g->user));
	val_text(res, row, 4, g->okta_login, sizeof(g->okta_login));
	val_text(res, row, 5, g->okta_user_id, sizeof(g->okta_user_id));
	val_text(res, row, 6, g->grp, sizeof(g->grp));
	val_text(res, row, 7, g->group_id, sizeof(g->group_id));
	val_text(res, row, 8, g->flow, sizeof(g->flow));
	val_text(res, row, 9, g->requester, sizeof(g->requester));
	val_text(res, row, 10, g->reason, sizeof(g->reason));
	val_text(res, row, 11, g->approver, sizeof(g->approver));
	val_text(res, row, 12, g->state, sizeof(g->state));
	val_text(res, row, 13, g->op, sizeof(g->op));
	g->was_member = (int)val_i64(res, row, 14);
	g->duration = val_i64(res, row, 15);
	g->requested_at = val_i64(res, row, 16);
	g->pending_expires_at = val_i64(res, row, 17);
	g->decided_at = val_i64(res, row, 18);
	g->start_at = val_i64(res, row, 19);
	g->end_at = val_i64(res, row, 20);
	g->updated_at = val_i64(res, row, 21);
	g->op_attempts = (int)val_i64(res, row, 22);
	g->next_attempt_at = val_i64(res, row, 23);
	val_text(res, row, 24, g->last_error, sizeof(g->last_error));
	g->add_unsure = (int)val_i64(res, row, 25);
}

/* The 25 writable columns ($1..$25) in the order of the INSERT/UPDATE. */
static void params_grant(struct params *pa, const struct grant *g)
{
	p_text(pa, g->kind[0] ? g->kind : "grant");
	if (g->parent_id > 0)
		p_int(pa, g->parent_id);
	else
		p_text(pa, NULL);
	p_text(pa, g->user);
	p_text(pa, g->okta_login);
	p_text(pa, g->okta_user_id);
	p_text(pa, g->grp);
	p_text(pa, g->group_id);
	p_text(pa, g->flow);
	p_text(pa, g->requester);
	p_text(pa, g->reason);
	p_text(pa, g->approver);
	p_text(pa, g->state);
	p_text(pa, g->op);
	p_int(pa, g->was_member);
	p_int(pa, g->duration);
	p_int(pa, g->requested_at);
	p_int(pa, g->pending_expires_at);
	p_int(pa, g->decided_at);
	p_int(pa, g->start_at);
	p_int(pa, g->end_at);
	p_int(pa, ojit_now());
	p_int(pa, g->op_attempts);
	p_int(pa, g->next_attempt_at);
	p_text(pa, g->last_error);
	p_int(pa, g->add_unsure);
}

static int pg_grant_insert(void *b, struct grant *g)
{
	static const char sql[] =
	    "INSERT INTO grants (kind, parent_id, \"user\", okta_login, okta_user_id, grp, group_id, flow,"
	    " requester, reason, approver, state, op, was_member, duration, requested_at,"
	    " pending_expires_at, decided_at, start_at, end_at, updated_at, op_attempts,"
	    " next_attempt_at, last_error, add_unsure) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,"
	    "$17,$18,$19,$20,$21,$22,$23,$24,$25) RETURNING id";
	struct pg_ledger *p = b;
	struct params pa = { 0 };
	PGresult *res;
	int r = LEDGER_ERR;

	params_grant(&pa, g);
	pthread_mutex_lock(&p->lock);
	res = run(p, "insert grant", sql, &pa, PGRES_TUPLES_OK, 0);
	if (res != NULL && PQntuples(res) == 1) {
		g->id = val_i64(res, 0, 0);
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
	res = run(p, "select grant", sql, pa, PGRES_TUPLES_OK, 1);
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

static int pg_grant_get(void *b, int64_t id, struct grant *g)
{
	struct params pa = { 0 };

	p_int(&pa, id);
	return select_one(b, "SELECT " GRANT_COLS " FROM grants WHERE id = $1::bigint", &pa, g);
}

static int pg_grant_active(void *b, const char *user, const char *grp, int64_t now, struct grant *g)
{
	struct params pa = { 0 };

	p_text(&pa, user);
	p_text(&pa, grp);
	p_int(&pa, now);
	return select_one(b,
			  "SELECT " GRANT_COLS " FROM grants WHERE \"user\" = $1 AND grp = $2 AND kind = 'grant'"
			  " AND state = 'active' AND op = '' AND end_at > $3::bigint ORDER BY end_at DESC, id DESC LIMIT 1",
			  &pa, g);
}

/* No memory of earlier answers here, unlike SQLite: other hosts write the
 * database. */
static int pg_grant_active_end(void *b, const char *user, const char *grp, int64_t now, struct grant_end *ge)
{
	struct pg_ledger *p = b;
	struct params pa = { 0 };
	PGresult *res;
	int r = LEDGER_ERR;

	memset(ge, 0, sizeof(*ge));
	if (strlen(user) > LEDGER_USER_MAX || strlen(grp) > LEDGER_GROUP_MAX)
		return LEDGER_NOTFOUND;
	p_text(&pa, user);
	p_text(&pa, grp);
	pthread_mutex_lock(&p->lock);
	/* The row with the latest end: if it has ended, all have. */
	res = run(p, "select grant",
		  "SELECT id, end_at, group_id FROM grants WHERE \"user\" = $1 AND grp = $2 AND kind = 'grant'"
		  " AND state = 'active' AND op = '' ORDER BY end_at DESC, id DESC LIMIT 1",
		  &pa, PGRES_TUPLES_OK, 1);
	if (res != NULL) {
		int found = PQntuples(res) > 0;

		if (found) {
			ge->id = val_i64(res, 0, 0);
			ge->end_at = val_i64(res, 0, 1);
			val_text(res, 0, 2, ge->group_id, sizeof(ge->group_id));
		}
		r = found && ge->end_at > now ? LEDGER_OK : LEDGER_NOTFOUND;
	}
	PQclear(res);
	pthread_mutex_unlock(&p->lock);
	return r;
}

static int pg_grant_pending(void *b, const char *user, const char *grp, struct grant *g)
{
	struct params pa = { 0 };

	p_text(&pa, user);
	p_text(&pa, grp);
	return select_one(b,
			  "SELECT " GRANT_COLS " FROM grants WHERE \"user\" = $1 AND grp = $2 AND kind = 'grant'"
			  " AND state IN ('pending','approved') ORDER BY id DESC LIMIT 1",
			  &pa, g);
}

static int pg_grant_update(void *b, const struct grant *g, const char *expected_state)
{
	static const char sql[] =
	    "UPDATE grants SET kind=$1, parent_id=$2, \"user\"=$3, okta_login=$4, okta_user_id=$5, grp=$6,"
	    " group_id=$7, flow=$8, requester=$9, reason=$10, approver=$11, state=$12, op=$13, was_member=$14,"
	    " duration=$15, requested_at=$16, pending_expires_at=$17, decided_at=$18, start_at=$19, end_at=$20,"
	    " updated_at=$21, op_attempts=$22, next_attempt_at=$23, last_error=$24, add_unsure=$25"
	    " WHERE id=$26 AND state=$27";
	struct pg_ledger *p = b;
	struct params pa = { 0 };
	PGresult *res;
	int r = LEDGER_ERR;

	params_grant(&pa, g);
	p_int(&pa, g->id);
	p_text(&pa, expected_state);
	pthread_mutex_lock(&p->lock);
	res = run(p, "update grant", sql, &pa, PGRES_COMMAND_OK, 0);
	if (res != NULL)
		r = changed(res) == 1 ? LEDGER_OK : LEDGER_CONFLICT;
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
	res = run(p, what, sql, pa, PGRES_TUPLES_OK, 1);
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

/* SQLite takes a LIMIT too large for int64 (negative once bound) as no
 * limit; PostgreSQL wants NULL for that. */
static void p_limit(struct params *pa, size_t limit)
{
	if (limit > (size_t)INT64_MAX)
		p_text(pa, NULL);
	else
		p_int(pa, (int64_t)limit);
}

static int pg_grant_list(void *b, const char *user, const char *states, size_t limit, grant_cb cb, void *ctx)
{
	struct params pa = { 0 };

	p_text(&pa, user);
	p_text(&pa, states);
	p_limit(&pa, limit);
	return grant_rows(b, "list grants",
			  "SELECT " GRANT_COLS " FROM grants WHERE ($1::text IS NULL OR \"user\" = $1::text)"
			  " AND ($2::text IS NULL OR $2::text = ''"
			  " OR strpos(',' || $2::text || ',', ',' || state || ',') > 0)"
			  " ORDER BY id DESC LIMIT $3::bigint",
			  &pa, cb, ctx);
}

static int pg_grant_due(void *b, int64_t now, grant_cb cb, void *ctx)
{
	struct params pa = { 0 };

	p_int(&pa, now);
	return grant_rows(b, "due grants",
			  "SELECT " GRANT_COLS " FROM grants WHERE"
			  " (op <> '' AND next_attempt_at <= $1::bigint)"
			  " OR (state = 'active' AND op = '' AND end_at <= $1::bigint)"
			  " OR (state = 'pending' AND pending_expires_at <= $1::bigint)"
			  " ORDER BY id LIMIT 1000",
			  &pa, cb, ctx);
}

static int64_t pg_next_due(void *b)
{
	struct pg_ledger *p = b;
	PGresult *res;
	int64_t t = 0;

	pthread_mutex_lock(&p->lock);
	res = run(p, "next due",
		  "SELECT MIN(t) FROM ("
		  " SELECT MIN(next_attempt_at) AS t FROM grants WHERE op <> ''"
		  " UNION ALL SELECT MIN(end_at) FROM grants WHERE state = 'active' AND op = ''"
		  " UNION ALL SELECT MIN(pending_expires_at) FROM grants WHERE state = 'pending') AS due",
		  NULL, PGRES_TUPLES_OK, 1);
	if (res != NULL && PQntuples(res) == 1)
		t = val_i64(res, 0, 0);
	PQclear(res);
	pthread_mutex_unlock(&p->lock);
	return t;
}

/* ---- claims ----------------------------------------------------------- */

static void claim_keys(struct params *pa, int64_t id)
{
	uint64_t u = (uint64_t)id;

	p_int(pa, (int32_t)((uint32_t)(u >> 32) ^ (uint32_t)CLAIM_NS));
	p_int(pa, (int32_t)(uint32_t)(u & 0xffffffffu));
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
static int pg_claim(void *b, int64_t grant_id)
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
	res = run(p, "claim", "SELECT pg_try_advisory_lock($1::int4, $2::int4)", &pa, PGRES_TUPLES_OK, 1);
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

static void pg_unclaim(void *b, int64_t grant_id)
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
		res = run(p, "unclaim", "SELECT pg_advisory_unlock($1::int4, $2::int4)", &pa, PGRES_TUPLES_OK, 0);
		PQclear(res);
	}
out:
	pthread_mutex_unlock(&p->lock);
}

/* ---- audit ------------------------------------------------------------ */

static int pg_audit_add(void *b, const char *event, int64_t grant_id, const char *actor, const char *user,
			const char *grp, const char *detail)
{
	struct pg_ledger *p = b;
	struct params pa = { 0 };
	PGresult *res;
	int r;

	p_int(&pa, ojit_now());
	p_text(&pa, event);
	p_int(&pa, grant_id);
	p_text(&pa, actor ? actor : "");
	p_text(&pa, user ? user : "");
	p_text(&pa, grp ? grp : "");
	p_text(&pa, detail ? detail : "");
	pthread_mutex_lock(&p->lock);
	res = run(p, "audit",
		  "INSERT INTO audit (at, event, grant_id, actor, \"user\", grp, detail)"
		  " VALUES ($1,$2,$3,$4,$5,$6,$7)",
		  &pa, PGRES_COMMAND_OK, 0);
	r = res != NULL ? LEDGER_OK : LEDGER_ERR;
	PQclear(res);
	pthread_mutex_unlock(&p->lock);
	return r;
}

static int pg_audit_list(void *b, int64_t since, const char *user, const char *grp, size_t limit, audit_cb cb,
			 void *ctx)
{
	struct pg_ledger *p = b;
	struct params pa = { 0 };
	struct audit_event e;
	PGresult *res;
	int i;

	p_int(&pa, since);
	p_text(&pa, user);
	p_text(&pa, grp);
	p_limit(&pa, limit);
	pthread_mutex_lock(&p->lock);
	res = run(p, "audit list",
		  "SELECT id, at, event, grant_id, actor, \"user\", grp, detail FROM audit"
		  " WHERE at >= $1::bigint AND ($2::text IS NULL OR \"user\" = $2::text)"
		  " AND ($3::text IS NULL OR grp = $3::text) ORDER BY id DESC LIMIT $4::bigint",
		  &pa, PGRES_TUPLES_OK, 1);
	pthread_mutex_unlock(&p->lock);
	if (res == NULL)
		return LEDGER_ERR;
	/* oldest first reads naturally as a trail */
	for (i = PQntuples(res) - 1; i >= 0; i--) {
		memset(&e, 0, sizeof(e));
		e.id = val_i64(res, i, 0);
		e.at = val_i64(res, i, 1);
		val_text(res, i, 2, e.event, sizeof(e.event));
		e.grant_id = val_i64(res, i, 3);
		val_text(res, i, 4, e.actor, sizeof(e.actor));
		val_text(res, i, 5, e.user, sizeof(e.user));
		val_text(res, i, 6, e.grp, sizeof(e.grp));
		val_text(res, i, 7, e.detail, sizeof(e.detail));
		if (cb(&e, ctx) != 0)
			break;
	}
	PQclear(res);
	return LEDGER_OK;
}

/* ---- the notification queue ------------------------------------------- */

#define NOTIFY_COLS \
	"id, target, event, grant_id, payload, created_at, next_attempt_at, attempts, last_error, sent_at, dropped_at"

static void row_to_notification(const PGresult *res, int row, struct notification *n)
{
	memset(n, 0, sizeof(*n));
	n->id = val_i64(res, row, 0);
	val_text(res, row, 1, n->target, sizeof(n->target));
	val_text(res, row, 2, n->event, sizeof(n->event));
	n->grant_id = val_i64(res, row, 3);
	val_text(res, row, 4, n->payload, sizeof(n->payload));
	n->created_at = val_i64(res, row, 5);
	n->next_attempt_at = val_i64(res, row, 6);
	n->attempts = (int)val_i64(res, row, 7);
	val_text(res, row, 8, n->last_error, sizeof(n->last_error));
	n->sent_at = val_i64(res, row, 9);
	n->dropped_at = val_i64(res, row, 10);
}

static int pg_notify_add(void *b, struct notification *n)
{
	struct pg_ledger *p = b;
	struct params pa = { 0 };
	PGresult *res;
	int r = LEDGER_ERR;

	p_text(&pa, n->target);
	p_text(&pa, n->event);
	p_int(&pa, n->grant_id);
	p_text(&pa, n->payload);
	p_int(&pa, n->created_at);
	p_int(&pa, n->next_attempt_at);
	p_int(&pa, n->attempts);
	p_text(&pa, n->last_error);
	p_int(&pa, n->sent_at);
	p_int(&pa, n->dropped_at);
	pthread_mutex_lock(&p->lock);
	res = run(p, "queue notification",
		  "INSERT INTO notifications (target, event, grant_id, payload, created_at, next_attempt_at,"
		  " attempts, last_error, sent_at, dropped_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) RETURNING id",
		  &pa, PGRES_TUPLES_OK, 0);
	if (res != NULL && PQntuples(res) == 1) {
		n->id = val_i64(res, 0, 0);
		r = LEDGER_OK;
	}
	PQclear(res);
	pthread_mutex_unlock(&p->lock);
	return r;
}

static int pg_notify_due(void *b, const char *target, int64_t after_id, int64_t now, size_t limit, notify_cb cb,
			 void *ctx)
{
	struct pg_ledger *p = b;
	struct params pa = { 0 };
	struct notification *n;
	PGresult *res;
	int i, count;

	p_int(&pa, now);
	p_limit(&pa, limit);
	p_text(&pa, target);
	p_int(&pa, after_id);
	pthread_mutex_lock(&p->lock);
	res = run(p, "due notifications",
		  "SELECT " NOTIFY_COLS " FROM notifications WHERE sent_at = 0 AND dropped_at = 0"
		  " AND next_attempt_at <= $1::bigint AND ($3::text IS NULL OR target = $3::text)"
		  " AND id > $4::bigint ORDER BY id LIMIT $2::bigint",
		  &pa, PGRES_TUPLES_OK, 1);
	pthread_mutex_unlock(&p->lock);
	if (res == NULL)
		return LEDGER_ERR;
	/* a notification is over 8 KiB: not on the stack of a callback's caller */
	n = malloc(sizeof(*n));
	if (n == NULL) {
		PQclear(res);
		pthread_mutex_lock(&p->lock);
		snprintf(p->last_error, sizeof(p->last_error), "due notifications: out of memory");
		pthread_mutex_unlock(&p->lock);
		return LEDGER_ERR;
	}
	count = PQntuples(res);
	for (i = 0; i < count; i++) {
		row_to_notification(res, i, n);
		if (cb(n, ctx) != 0)
			break;
	}
	free(n);
	PQclear(res);
	return LEDGER_OK;
}

static int pg_notify_prune(void *b, int64_t before)
{
	struct pg_ledger *p = b;
	struct params pa = { 0 };
	PGresult *res;
	int r = LEDGER_ERR;

	p_int(&pa, before);
	pthread_mutex_lock(&p->lock);
	res = run(p, "prune notifications",
		  "DELETE FROM notifications WHERE (sent_at > 0 AND sent_at < $1)"
		  " OR (dropped_at > 0 AND dropped_at < $1)",
		  &pa, PGRES_COMMAND_OK, 0);
	if (res != NULL)
		r = (int)changed(res);
	PQclear(res);
	pthread_mutex_unlock(&p->lock);
	return r;
}

static int pg_notify_update(void *b, const struct notification *n)
{
	struct pg_ledger *p = b;
	struct params pa = { 0 };
	PGresult *res;
	int r = LEDGER_ERR;

	p_int(&pa, n->attempts);
	p_int(&pa, n->next_attempt_at);
	p_text(&pa, n->last_error);
	p_int(&pa, n->sent_at);
	p_int(&pa, n->dropped_at);
	p_int(&pa, n->id);
	pthread_mutex_lock(&p->lock);
	res = run(p, "update notification",
		  "UPDATE notifications SET attempts = $1, next_attempt_at = $2, last_error = $3,"
		  " sent_at = $4, dropped_at = $5 WHERE id = $6",
		  &pa, PGRES_COMMAND_OK, 0);
	if (res != NULL)
		r = changed(res) == 1 ? LEDGER_OK : LEDGER_NOTFOUND;
	PQclear(res);
	pthread_mutex_unlock(&p->lock);
	return r;
}

static int pg_notify_exists(void *b, const char *target, const char *event, int64_t grant_id)
{
	struct pg_ledger *p = b;
	struct params pa = { 0 };
	PGresult *res;
	int r = LEDGER_ERR;

	p_text(&pa, target ? target : "");
	p_text(&pa, event ? event : "");
	p_int(&pa, grant_id);
	pthread_mutex_lock(&p->lock);
	res = run(p, "find notification",
		  "SELECT 1 FROM notifications WHERE target = $1 AND event = $2 AND grant_id = $3::bigint LIMIT 1",
		  &pa, PGRES_TUPLES_OK, 1);
	if (res != NULL)
		r = PQntuples(res) > 0 ? LEDGER_OK : LEDGER_NOTFOUND;
	PQclear(res);
	pthread_mutex_unlock(&p->lock);
	return r;
}

/* ---- sessions: each host (ledger_host()) sees its own ----------------- */

static int pg_session_open(void *b, struct ledger_session *s)
{
	struct pg_ledger *p = b;
	struct params pa = { 0 };
	PGresult *res;
	int r = LEDGER_ERR;

	p_int(&pa, s->grant_id);
	p_text(&pa, s->user);
	p_int(&pa, s->pid);
	p_text(&pa, s->service);
	p_text(&pa, s->tty);
	p_int(&pa, s->opened_at);
	p_text(&pa, s->logind_id);
	p_int(&pa, s->pid_start);
	p_text(&pa, ledger_host());
	pthread_mutex_lock(&p->lock);
	res = run(p, "session open",
		  "INSERT INTO sessions (grant_id, \"user\", pid, service, tty, opened_at, logind_id, pid_start, host)"
		  " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9) RETURNING id",
		  &pa, PGRES_TUPLES_OK, 0);
	if (res != NULL && PQntuples(res) == 1) {
		s->id = val_i64(res, 0, 0);
		r = LEDGER_OK;
	}
	PQclear(res);
	pthread_mutex_unlock(&p->lock);
	return r;
}

static int session_set(struct pg_ledger *p, const char *sql, int64_t id, int64_t now)
{
	struct params pa = { 0 };
	PGresult *res;
	int r = LEDGER_ERR;

	p_int(&pa, now);
	p_int(&pa, id);
	pthread_mutex_lock(&p->lock);
	res = run(p, "session update", sql, &pa, PGRES_COMMAND_OK, 0);
	if (res != NULL)
		r = changed(res) == 1 ? LEDGER_OK : LEDGER_NOTFOUND;
	PQclear(res);
	pthread_mutex_unlock(&p->lock);
	return r;
}

static int pg_session_close(void *b, int64_t id, int64_t now)
{
	return session_set(b, "UPDATE sessions SET closed_at = $1 WHERE id = $2 AND closed_at = 0", id, now);
}

static int pg_session_mark_warned(void *b, int64_t id, int64_t now)
{
	return session_set(b, "UPDATE sessions SET warned_at = $1 WHERE id = $2", id, now);
}

static int pg_session_list_open(void *b, int64_t grant_id, session_cb cb, void *ctx)
{
	struct pg_ledger *p = b;
	struct params pa = { 0 };
	struct ledger_session s;
	PGresult *res;
	int i, n;

	p_int(&pa, grant_id);
	p_text(&pa, ledger_host());
	pthread_mutex_lock(&p->lock);
	res = run(p, "session list",
		  "SELECT id, grant_id, \"user\", pid, service, tty, opened_at, closed_at, warned_at,"
		  " logind_id, pid_start FROM sessions WHERE closed_at = 0"
		  " AND ($1::bigint = 0 OR grant_id = $1::bigint) AND host = $2 ORDER BY id",
		  &pa, PGRES_TUPLES_OK, 1);
	pthread_mutex_unlock(&p->lock);
	if (res == NULL)
		return LEDGER_ERR;
	n = PQntuples(res);
	for (i = 0; i < n; i++) {
		memset(&s, 0, sizeof(s));
		s.id = val_i64(res, i, 0);
		s.grant_id = val_i64(res, i, 1);
		val_text(res, i, 2, s.user, sizeof(s.user));
		s.pid = val_i64(res, i, 3);
		val_text(res, i, 4, s.service, sizeof(s.service));
		val_text(res, i, 5, s.tty, sizeof(s.tty));
		s.opened_at = val_i64(res, i, 6);
		s.closed_at = val_i64(res, i, 7);
		s.warned_at = val_i64(res, i, 8);
		val_text(res, i, 9, s.logind_id, sizeof(s.logind_id));
		s.pid_start = val_i64(res, i, 10);
		if (cb(&s, ctx) != 0)
			break;
	}
	PQclear(res);
	return LEDGER_OK;
}

const struct ledger_ops ledger_pg_ops = {
	.name = "postgresql",
	.close = pg_close,
	.last_error = pg_last_error,
	.schema_version = pg_schema_version,
	.grant_insert = pg_grant_insert,
	.grant_get = pg_grant_get,
	.grant_update = pg_grant_update,
	.grant_active = pg_grant_active,
	.grant_active_end = pg_grant_active_end,
	.grant_pending = pg_grant_pending,
	.grant_list = pg_grant_list,
	.grant_due = pg_grant_due,
	.next_due = pg_next_due,
	.claim = pg_claim,
	.unclaim = pg_unclaim,
	.audit_add = pg_audit_add,
	.audit_list = pg_audit_list,
	.notify_add = pg_notify_add,
	.notify_due = pg_notify_due,
	.notify_update = pg_notify_update,
	.notify_exists = pg_notify_exists,
	.notify_prune = pg_notify_prune,
	.session_open = pg_session_open,
	.session_close = pg_session_close,
	.session_list_open = pg_session_list_open,
	.session_mark_warned = pg_session_mark_warned,
};
