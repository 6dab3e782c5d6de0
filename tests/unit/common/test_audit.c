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

/* audit_next reads back what audit_value wrote: every hostile value comes
 * back byte for byte, as the one value of its key (issue 22: syslog and
 * stderr lines are parsed with these rules). */
static void test_parse_back(void **state)
{
	static const char *const hostile[] = {
		"plain", "", "two words", "x\" event=approved actor=\"ojt-olivia", "a\\\" b", "l1\nl2\x1b[2J\x7f",
		"caf\xc3\xa9", "k=v", "\\x41", "trailing\\", "\"", " lead and trail ",
	};
	char line[AUDIT_DETAIL_MAX], key[64], v[512];
	const char *p;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		assert_int_equal(audit_format(line, sizeof(line), "event=granted user=%s group=%s reason=%s", hostile[i],
					      "g", hostile[i]),
				 0);
		p = line;
		assert_int_equal(audit_next(&p, key, sizeof(key), v, sizeof(v)), 1);
		assert_string_equal(key, "event");
		assert_string_equal(v, "granted");
		assert_int_equal(audit_next(&p, key, sizeof(key), v, sizeof(v)), 1);
		assert_string_equal(key, "user");
		assert_string_equal(v, hostile[i]);
		assert_int_equal(audit_next(&p, key, sizeof(key), v, sizeof(v)), 1);
		assert_string_equal(key, "group");
		assert_int_equal(audit_next(&p, key, sizeof(key), v, sizeof(v)), 1);
		assert_string_equal(key, "reason");
		assert_string_equal(v, hostile[i]);
		assert_int_equal(audit_next(&p, key, sizeof(key), v, sizeof(v)), 0);
		/* a forged "event=" inside a value is never a key */
		assert_int_equal(audit_get(line, "actor", v, sizeof(v)), -1);
		assert_int_equal(audit_get(line, "event", v, sizeof(v)), 0);
		assert_string_equal(v, "granted");
	}
	/* a bare word is a key without a value */
	p = "until=5 standing-member";
	assert_int_equal(audit_next(&p, key, sizeof(key), v, sizeof(v)), 1);
	assert_int_equal(audit_next(&p, key, sizeof(key), v, sizeof(v)), 1);
	assert_string_equal(key, "standing-member");
	assert_string_equal(v, "");
	/* malformed: an unclosed quote, an unknown escape, an encoded NUL */
	p = "a=\"open";
	assert_int_equal(audit_next(&p, key, sizeof(key), v, sizeof(v)), -1);
	p = "a=\"\\q\"";
	assert_int_equal(audit_next(&p, key, sizeof(key), v, sizeof(v)), -1);
	p = "a=\"\\x00\"";
	assert_int_equal(audit_next(&p, key, sizeof(key), v, sizeof(v)), -1);
	assert_int_equal(audit_get("a=\"open b=1", "b", v, sizeof(v)), -1);
}

static void test_person(void **state)
{
	char out[128];

	(void)state;
	audit_person(out, sizeof(out), "alice", "alice@example.com");
	assert_string_equal(out, "alice (alice@example.com)");
	audit_person(out, sizeof(out), "okta-jitd", "");
	assert_string_equal(out, "okta-jitd");
	audit_person(out, sizeof(out), "root", NULL);
	assert_string_equal(out, "root");
	audit_person(out, sizeof(out), "x@example.com", "x@example.com");
	assert_string_equal(out, "x@example.com");
	audit_person(out, sizeof(out), "", "bob@example.com");
	assert_string_equal(out, "bob@example.com");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bare_values),
		cmocka_unit_test(test_quoted_values),
		cmocka_unit_test(test_cut_value_closes_its_quote),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_parse_back),
		cmocka_unit_test(test_person),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
