/* test_sessions.c - the logind session of a process, read from the text
 * of /proc/PID/cgroup as the kernel writes it (issue 15.6). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sessions.h"

static void expect_session(const char *text, const char *want)
{
	char out[64];

	if (sessions_parse_cgroup(text, out, sizeof(out)) != 0)
		fail_msg("no session found in:\n%s", text);
	assert_string_equal(out, want);
}

static void expect_none(const char *text)
{
	char out[64] = "x";

	if (sessions_parse_cgroup(text, out, sizeof(out)) == 0)
		fail_msg("session '%s' found in:\n%s", out, text);
	assert_string_equal(out, "");
}

/* cgroup v2 (the unified hierarchy only), as on current distributions */
static void test_unified(void **state)
{
	(void)state;
	expect_session("0::/user.slice/user-1000.slice/session-3.scope\n", "3");
	expect_session("0::/user.slice/user-0.slice/session-c12.scope\n", "c12");
	/* a process moved below the scope (a delegated subtree) */
	expect_session("0::/user.slice/user-1000.slice/session-42.scope/sub\n", "42");
}

/* cgroup v1 and the hybrid layout: systemd's named hierarchy counts */
static void test_legacy_and_hybrid(void **state)
{
	(void)state;
	expect_session("12:pids:/user.slice/user-1000.slice/session-7.scope\n"
		       "11:memory:/user.slice/user-1000.slice/session-7.scope\n"
		       "1:name=systemd:/user.slice/user-1000.slice/session-7.scope\n",
		       "7");
	/* hybrid: 0:: wins over name=systemd */
	expect_session("1:name=systemd:/user.slice/user-1000.slice/session-8.scope\n"
		       "0::/user.slice/user-1000.slice/session-9.scope\n",
		       "9");
	/* the shape of this machine's own /proc/self/cgroup in a container */
	expect_none("9:name=systemd:/\n8:pids:/\n4:memory:/process_api/f3b09c35\n1:cpu:/\n0::/\n");
}

/* Not in a session: services, the user manager, the root, junk */
static void test_not_a_session(void **state)
{
	(void)state;
	expect_none("0::/system.slice/sshd.service\n");
	expect_none("0::/user.slice/user-1000.slice/user@1000.service/app.slice/x.scope\n");
	/* a session-looking name below a service is not the unit */
	expect_none("0::/system.slice/foo.service/session-5.scope\n");
	expect_none("0::/\n");
	expect_none("");
	expect_none("0::/user.slice/user-1000.slice/session-.scope\n");
	expect_none("0::/user.slice/user-1000.slice/session-1;2.scope\n");
	expect_none("0::/user.slice/user-1000.slice/session-1\\x2d2.scope\n");
	expect_none("garbage without colons\n");
}

/* An id that does not fit is refused, never cut short. */
static void test_small_buffer(void **state)
{
	char out[3];

	(void)state;
	assert_int_equal(sessions_parse_cgroup("0::/user.slice/session-123.scope\n", out, sizeof(out)), -1);
	assert_int_equal(sessions_parse_cgroup("0::/user.slice/session-12.scope\n", out, sizeof(out)), 0);
	assert_string_equal(out, "12");
}

/* The real file of this process parses (whatever it holds here). */
static void test_self(void **state)
{
	char out[64];
	int r;

	(void)state;
	r = sessions_logind_of_pid(getpid(), out, sizeof(out));
	assert_true(r == 0 || (r == -1 && out[0] == '\0'));
	assert_int_equal(sessions_logind_of_pid(1, out, sizeof(out)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unified),
		cmocka_unit_test(test_legacy_and_hybrid),
		cmocka_unit_test(test_not_a_session),
		cmocka_unit_test(test_small_buffer),
		cmocka_unit_test(test_self),
	};

	return cmocka_run_group_tests_name("sessions", tests, NULL, NULL);
}
