/* test_duration.c - duration_parse and duration_format. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "duration.h"

static int64_t parse_ok(const char *s)
{
	const char *why = NULL;
	int64_t v = -1;

	if (duration_parse(s, &v, &why) != 0)
		fail_msg("'%s' refused: %s", s, why ? why : "(no reason)");
	return v;
}

/* A refusal must leave *out alone and give a reason. */
static void assert_refused(const char *s)
{
	const char *why = NULL;
	int64_t v = 4242;

	if (duration_parse(s, &v, &why) != -1)
		fail_msg("'%s' accepted as %lld", s, (long long)v);
	assert_int_equal(v, 4242);
	assert_non_null(why);
	assert_true(strlen(why) > 0);
}

static void test_parse_single_units(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("90s"), 90);
	assert_int_equal(parse_ok("15m"), 900);
	assert_int_equal(parse_ok("2h"), 7200);
	assert_int_equal(parse_ok("2d"), 172800);
}

static void test_parse_combined(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("1h30m"), 5400);
	assert_int_equal(parse_ok("1d2h3m4s"), 86400 + 7200 + 180 + 4);
	assert_int_equal(parse_ok("1d4s"), 86404);
	assert_int_equal(parse_ok("0h1s"), 1);
}

static void test_parse_upper_bound(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("366d"), DURATION_MAX_SECONDS);
	assert_int_equal(parse_ok("365d24h"), DURATION_MAX_SECONDS);
	assert_refused("366d1s");
	assert_refused("367d");
	assert_refused("8785h");
	assert_refused("31622401s");
}

static void test_parse_refuses_empty_and_null(void **state)
{
	const char *why = NULL;
	int64_t v = 7;

	(void)state;
	assert_refused("");
	assert_int_equal(duration_parse(NULL, &v, &why), -1);
	assert_int_equal(v, 7);
}

static void test_parse_refuses_zero(void **state)
{
	(void)state;
	assert_refused("0s");
	assert_refused("0d0h0m0s");
}

static void test_parse_refuses_missing_parts(void **state)
{
	(void)state;
	assert_refused("1");
	assert_refused("h");
	assert_refused("1h30");
	assert_refused("1hm");
}

static void test_parse_refuses_unknown_unit(void **state)
{
	(void)state;
	assert_refused("1x");
	assert_refused("5M");
	assert_refused("1w");
	assert_refused("1.5h");
}

static void test_parse_refuses_order_and_repeats(void **state)
{
	(void)state;
	assert_refused("1m1h");
	assert_refused("1s1d");
	assert_refused("1h1h");
	assert_refused("30m30m");
}

static void test_parse_refuses_sign_and_space(void **state)
{
	(void)state;
	assert_refused("-5m");
	assert_refused("+5m");
	assert_refused(" 5m");
	assert_refused("5m ");
	assert_refused("1h 30m");
	assert_refused("5m\n");
}

static void test_parse_refuses_overflow(void **state)
{
	(void)state;
	assert_refused("99999999999999d");
	assert_refused("99999999999999999999999999s");
	assert_refused("9223372036854775807s");
}

static void test_parse_why_may_be_null(void **state)
{
	int64_t v = 0;

	(void)state;
	assert_int_equal(duration_parse("1x", &v, NULL), -1);
	assert_int_equal(duration_parse("1m", &v, NULL), 0);
	assert_int_equal(v, 60);
}

static void assert_formats(int64_t seconds, const char *want)
{
	char buf[64];

	memset(buf, 'X', sizeof(buf));
	assert_int_equal(duration_format(seconds, buf, sizeof(buf)), 0);
	assert_string_equal(buf, want);
}

static void test_format_values(void **state)
{
	(void)state;
	assert_formats(0, "0s");
	assert_formats(1, "1s");
	assert_formats(60, "1m");
	assert_formats(5400, "1h30m");
	assert_formats(86400, "1d");
	assert_formats(86400 + 7200 + 180 + 4, "1d2h3m4s");
	assert_formats(86401, "1d1s");
	assert_formats(-90, "-1m30s");
}

static void test_format_int64_min(void **state)
{
	char buf[64];

	(void)state;
	assert_int_equal(duration_format(INT64_MIN, buf, sizeof(buf)), 0);
	/* 9223372036854775808 s = 106751991167300d 15h 30m 8s */
	assert_string_equal(buf, "-106751991167300d15h30m8s");
}

static void test_format_round_trip(void **state)
{
	static const int64_t values[] = { 1, 59, 60, 61, 3599, 3600, 5400, 86399, 86400,
					  90061, 2592000, DURATION_MAX_SECONDS };
	char buf[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		assert_int_equal(duration_format(values[i], buf, sizeof(buf)), 0);
		assert_int_equal(parse_ok(buf), values[i]);
	}
}

static void test_format_small_buffer(void **state)
{
	char buf[8];

	(void)state;
	assert_int_equal(duration_format(5400, buf, 0), -1);
	assert_int_equal(duration_format(5400, buf, 5), -1);  /* "1h30m" needs 6 */
	assert_int_equal(duration_format(5400, buf, 6), 0);
	assert_string_equal(buf, "1h30m");
	assert_int_equal(duration_format(0, buf, 2), -1);
	assert_int_equal(duration_format(0, buf, 3), 0);
	assert_string_equal(buf, "0s");
	assert_int_equal(duration_format(-1, buf, 1), -1);
	assert_int_equal(duration_format(-1, buf, 3), -1);
	assert_int_equal(duration_format(-1, buf, 4), 0);
	assert_string_equal(buf, "-1s");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_single_units),
		cmocka_unit_test(test_parse_combined),
		cmocka_unit_test(test_parse_upper_bound),
		cmocka_unit_test(test_parse_refuses_empty_and_null),
		cmocka_unit_test(test_parse_refuses_zero),
		cmocka_unit_test(test_parse_refuses_missing_parts),
		cmocka_unit_test(test_parse_refuses_unknown_unit),
		cmocka_unit_test(test_parse_refuses_order_and_repeats),
		cmocka_unit_test(test_parse_refuses_sign_and_space),
		cmocka_unit_test(test_parse_refuses_overflow),
		cmocka_unit_test(test_parse_why_may_be_null),
		cmocka_unit_test(test_format_values),
		cmocka_unit_test(test_format_int64_min),
		cmocka_unit_test(test_format_round_trip),
		cmocka_unit_test(test_format_small_buffer),
	};

	return cmocka_run_group_tests_name("duration", tests, NULL, NULL);
}
