/* test_log.c - util.c's one log path (issue 22): fields as escaped
 * key=value text on stderr, and as the journal's fields through the
 * sender okta-jitd offers (a fake here) only where stderr is the
 * journal; a sender that fails leaves the line to the old way. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>
#include <fcntl.h>

#include "audit.h"
#include "util.h"

#define HOSTILE "x\" event=approved actor=\"ojt-olivia\nokta-jitd: audit event=approved"

static char errpath[] = "/tmp/ojit-test-log-XXXXXX";

/* What the fake journal was given, the last time. */
static struct {
	int calls, prio, facility, fail;
	char ident[64], func[64], msg[2048];
	struct ojit_log_fields f;
	char v[OJIT_LK_COUNT][512];
} got;

static int fake_journal(int prio, int facility, const char *ident, const char *func, const char *msg,
			const struct ojit_log_fields *f)
{
	int k;

	got.calls++;
	got.prio = prio;
	got.facility = facility;
	snprintf(got.ident, sizeof(got.ident), "%s", ident);
	snprintf(got.func, sizeof(got.func), "%s", func != NULL ? func : "");
	snprintf(got.msg, sizeof(got.msg), "%s", msg);
	memset(&got.f, 0, sizeof(got.f));
	memset(got.v, 0, sizeof(got.v));
	if (f != NULL) {
		got.f.grant_id = f->grant_id;
		for (k = 0; k < OJIT_LK_COUNT; k++) {
			snprintf(got.v[k], sizeof(got.v[k]), "%s", f->v[k] != NULL ? f->v[k] : "");
			got.f.v[k] = got.v[k];
		}
	}
	return got.fail ? -1 : 0;
}

static int saved_stderr = -1;

/* stderr goes to a file the test reads back (cmocka's own words about a
 * failure too: teardown shows what the file holds, then gives stderr
 * back for the summary). */
static int setup(void **state)
{
	int fd = mkstemp(errpath);

	(void)state;
	saved_stderr = dup(STDERR_FILENO);
	if (fd < 0 || saved_stderr < 0 || dup2(fd, STDERR_FILENO) < 0)
		return -1;
	close(fd);
	setvbuf(stderr, NULL, _IONBF, 0);
	return 0;
}

static int teardown(void **state)
{
	char buf[4096];
	ssize_t n;
	int fd = open(errpath, O_RDONLY);

	(void)state;
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	while (fd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0)
		if (write(STDERR_FILENO, buf, (size_t)n) != n)
			break;
	if (fd >= 0)
		close(fd);
	unlink(errpath);
	return 0;
}

static void err_reset(void)
{
	assert_int_equal(ftruncate(STDERR_FILENO, 0), 0);
	assert_int_equal(lseek(STDERR_FILENO, 0, SEEK_SET), 0);
}

static char *err_text(void)
{
	static char buf[8192];
	FILE *f = fopen(errpath, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void fields(struct ojit_log_fields *f)
{
	memset(f, 0, sizeof(*f));
	f->grant_id = 17;
	f->v[OJIT_LK_EVENT] = "okta_error";
	f->v[OJIT_LK_USER] = "alice";
	f->v[OJIT_LK_LOGIN] = "alice@example.com";
	f->v[OJIT_LK_GROUP] = HOSTILE;
	f->v[OJIT_LK_REQUEST_ID] = "rid-1";
	f->v[OJIT_LK_ERROR_CODE] = "E0000007";
}

/* Not under systemd: the text, then the fields as pairs that parse back
 * (each once, the hostile value whole) on one line. */
static void test_fields_as_text(void **state)
{
	struct ojit_log_fields f;
	const char *p;
	char *line, key[64], v[512];
	int seen_event = 0, seen_group = 0, seen_id = 0;

	(void)state;
	unsetenv("JOURNAL_STREAM");
	ojit_log_set_journal(fake_journal);
	ojit_log_init("test", OJIT_LOG_STDERR, 0);
	assert_int_equal(ojit_log_to_journal(), 0);
	err_reset();
	got.calls = 0;
	fields(&f);
	ojit_log_kv(LOG_WARNING, "fn", &f, "Okta said no to %s", "it");
	assert_int_equal(got.calls, 0);
	line = err_text();
	assert_non_null(strchr(line, '\n'));
	assert_string_equal(strchr(line, '\n'), "\n"); /* one line: the value's newline is escaped */
	assert_true(strncmp(line, "test: fn: Okta said no to it grant_id=17 ", 41) == 0);
	*strchr(line, '\n') = '\0';
	p = line + strlen("test: fn: Okta said no to it");
	while (audit_next(&p, key, sizeof(key), v, sizeof(v)) == 1) {
		if (strcmp(key, "event") == 0) {
			seen_event++;
			assert_string_equal(v, "okta_error");
		} else if (strcmp(key, "group") == 0) {
			seen_group++;
			assert_string_equal(v, HOSTILE);
		} else if (strcmp(key, "grant_id") == 0) {
			seen_id++;
			assert_string_equal(v, "17");
		}
	}
	assert_int_equal(*p, '\0');
	assert_int_equal(seen_event, 1);
	assert_int_equal(seen_group, 1);
	assert_int_equal(seen_id, 1);
	assert_int_equal(audit_get(line + 28, "user_login", v, sizeof(v)), 0);
	assert_string_equal(v, "alice@example.com");
	assert_int_equal(audit_get(line + 28, "okta_request_id", v, sizeof(v)), 0);
	assert_string_equal(v, "rid-1");
	assert_int_equal(audit_get(line + 28, "error_code", v, sizeof(v)), 0);
	assert_string_equal(v, "E0000007");
	/* absent fields are left out */
	assert_int_equal(audit_get(line + 28, "actor", v, sizeof(v)), -1);
}

static void journal_stream_is_stderr(void)
{
	struct stat st;
	char v[64];

	assert_int_equal(fstat(STDERR_FILENO, &st), 0);
	snprintf(v, sizeof(v), "%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", v, 1);
}

/* Under systemd (stderr is the journal): one entry with the fields, and
 * nothing on stderr; the audit line at notice, facility authpriv. */
static void test_fields_to_journal(void **state)
{
	struct ojit_log_fields f;

	(void)state;
	journal_stream_is_stderr();
	ojit_log_set_journal(fake_journal);
	ojit_log_init("test", OJIT_LOG_STDERR, 0);
	assert_int_equal(ojit_log_to_journal(), 1);
	err_reset();
	memset(&got, 0, sizeof(got));
	fields(&f);
	ojit_log_kv(LOG_ERR, "fn", &f, "grant %d failed", 17);
	assert_int_equal(got.calls, 1);
	assert_int_equal(got.prio, LOG_ERR);
	assert_string_equal(got.ident, "test");
	assert_string_equal(got.func, "fn");
	assert_string_equal(got.msg, "fn: grant 17 failed");
	assert_int_equal(got.f.grant_id, 17);
	assert_string_equal(got.f.v[OJIT_LK_GROUP], HOSTILE); /* a field holds any byte: the journal frames it */
	assert_string_equal(got.f.v[OJIT_LK_ERROR_CODE], "E0000007");
	assert_string_equal(err_text(), "");

	ojit_log_audit("audit event=granted id=17 actor=bob user=alice group=g", &f);
	assert_int_equal(got.calls, 2);
	assert_int_equal(got.prio, LOG_NOTICE);
	assert_int_equal(got.facility, LOG_AUTHPRIV);
	assert_string_equal(got.msg, "audit event=granted id=17 actor=bob user=alice group=g");
	assert_string_equal(err_text(), "");

	/* a plain line carries no fields but still goes to the journal */
	ojit_log(LOG_INFO, "hello");
	assert_int_equal(got.calls, 3);
	assert_int_equal(got.f.grant_id, 0);
	assert_string_equal(got.v[OJIT_LK_EVENT], "");
}

/* The journal not reachable: the line is written the old way ("<N>"
 * prefix for journald's stream), with its fields as text. */
static void test_journal_failure_falls_back(void **state)
{
	struct ojit_log_fields f;
	char *line;

	(void)state;
	journal_stream_is_stderr();
	ojit_log_set_journal(fake_journal);
	ojit_log_init("test", OJIT_LOG_STDERR, 0);
	err_reset();
	memset(&got, 0, sizeof(got));
	got.fail = 1;
	fields(&f);
	ojit_log_kv(LOG_ERR, NULL, &f, "lost?");
	assert_int_equal(got.calls, 1);
	line = err_text();
	assert_true(strncmp(line, "<3>test: lost? grant_id=17 event=okta_error ", 44) == 0);
	got.fail = 0;
	err_reset();
}

/* A JOURNAL_STREAM that is not our stderr (inherited) is not believed. */
static void test_foreign_journal_stream(void **state)
{
	(void)state;
	setenv("JOURNAL_STREAM", "1:1", 1);
	ojit_log_set_journal(fake_journal);
	ojit_log_init("test", OJIT_LOG_STDERR, 0);
	assert_int_equal(ojit_log_to_journal(), 0);
	/* and no sender offered (the CLI): never the journal */
	journal_stream_is_stderr();
	ojit_log_set_journal(NULL);
	ojit_log_init("test", OJIT_LOG_STDERR, 0);
	assert_int_equal(ojit_log_to_journal(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fields_as_text),
		cmocka_unit_test(test_fields_to_journal),
		cmocka_unit_test(test_journal_failure_falls_back),
		cmocka_unit_test(test_foreign_journal_stream),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
