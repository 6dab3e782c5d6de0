/* test_audit.c - audit_value and audit_format: the one escaping rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "audit.h"

static const char *val(const char *v)
{
	static char buf[256];

	buf[0] = '\0';
	assert_int_equal(audit_value(buf, sizeof(buf), v), 0);
	return buf;
}

static void test_bare_values(void **state)
{
	(void)state;
	assert_string_equal(val("ojt-alice"), "ojt-alice");
	assert_string_equal(val("user-SUSPENDED"), "user-SUSPENDED");
	assert_string_equal(val("a.b_c:d/e@f+g,h"), "a.b_c:d/e@f+g,h");
}

static void test_quoted_values(void **state)
{
	(void)state;
	assert_string_equal(val(""), "\"\"");
	assert_string_equal(val(NULL), "\"\"");
	assert_string_equal(val("two words"), "\"two words\"");
	assert_string_equal(val("k=v"), "\"k=v\"");
	assert_string_equal(val("x\" event=approved actor=\"ojt-olivia"),
			    "\"x\\\" event=approved actor=\\\"ojt-olivia\"");
	assert_string_equal(val("a\\\" b"), "\"a\\\\\\\" b\"");
	assert_string_equal(val("l1\nl2\x1b[2J\x7f"), "\"l1\\x0al2\\x1b[2J\\x7f\"");
	assert_string_equal(val("caf\xc3\xa9"), "\"caf\xc3\xa9\"");
}

/* A value cut for room still ends in its closing quote, and never in
 * half an escape. */
static void test_cut_value_closes_its_quote(void **state)
{
	char buf[12];
	size_t len;

	(void)state;
	snprintf(buf, sizeof(buf), "r=");
	assert_int_equal(audit_value(buf, sizeof(buf), "\"\"\"\"\"\"\"\""), -1);
	len = strlen(buf);
	assert_true(len < sizeof(buf));
	assert_string_equal(buf, "r=\"\\\"\\\"\\\"\"");
	snprintf(buf, sizeof(buf), "r=");
	assert_int_equal(audit_value(buf, sizeof(buf), "a b c d e f g h"), -1);
	assert_string_equal(buf, "r=\"a b c d\"");
}

static void test_format(void **state)
{
	char buf[AUDIT_DETAIL_MAX];

	(void)state;
	assert_int_equal(audit_format(buf, sizeof(buf), "code=%s service=%s n=%d until=%lld pct=100%%", "no_grant",
				      "x\" event=approved", -3, 1234567890123LL),
			 0);
	assert_string_equal(buf, "code=no_grant service=\"x\\\" event=approved\" n=-3 until=1234567890123 pct=100%");
	/* a %s not in a value's place is refused, not written raw */
	assert_int_equal(audit_format(buf, sizeof(buf), "a=1 reason=user-%s", "x\" event=approved"), -1);
	assert_string_equal(buf, "a=1 reason=user- format_error=1");
	assert_null(strstr(buf, "event"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bare_values),
		cmocka_unit_test(test_quoted_values),
		cmocka_unit_test(test_cut_value_closes_its_quote),
		cmocka_unit_test(test_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
