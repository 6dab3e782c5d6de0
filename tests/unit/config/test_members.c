/* Snapshot member lines with the directory's fields (issue 18): the
 * percent-encoding that keeps separators out of a field, and the shared
 * parser of a line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ledger_types.h"
#include "util.h"

static void test_pct_round_trip(void **state)
{
	const char *in = "ssh-ed25519 AAAA x:y,z%\t\n\xc3\xa9\x01";
	struct ojit_buf b;
	char out[128];

	(void)state;
	ojit_buf_init(&b, 1024);
	assert_int_equal(ojit_pct_encode(&b, in, strlen(in)), 0);
	assert_non_null(b.data);
	/* no separator of the line or of the key list survives */
	assert_null(strpbrk(b.data, " \t\n:,"));
	assert_string_equal(b.data, "ssh-ed25519%20AAAA%20x%3Ay%2Cz%25%09%0A%C3%A9%01");
	assert_int_equal(ojit_pct_decode(b.data, out, sizeof(out)), (int)strlen(in));
	assert_string_equal(out, in);
	ojit_buf_free(&b);
}

static void test_pct_decode_refuses(void **state)
{
	char out[8];

	(void)state;
	assert_int_equal(ojit_pct_decode("a%2", out, sizeof(out)), -1);
	assert_int_equal(ojit_pct_decode("a%zz", out, sizeof(out)), -1);
	assert_int_equal(ojit_pct_decode("a%00b", out, sizeof(out)), -1); /* a NUL would cut the value */
	assert_int_equal(ojit_pct_decode("12345678", out, sizeof(out)), -1); /* no room */
	assert_int_equal(ojit_pct_decode("1234567", out, sizeof(out)), 7);
	assert_int_equal(ojit_pct_decode("", out, sizeof(out)), 0);
}

static void test_pct_encode_bounded(void **state)
{
	struct ojit_buf b;

	(void)state;
	ojit_buf_init(&b, 5);
	assert_int_equal(ojit_pct_encode(&b, "::", 2), -1);
	ojit_buf_free(&b);
}

static void test_member_parse(void **state)
{
	char three[] = "00u1\tACTIVE\ta@example.com";
	char six[] = "00u1\tACTIVE\ta@example.com\t70001\tAlice%20A\tssh-ed25519%20AAAA k2";
	char empty6[] = "00u1\tACTIVE\ta@example.com\t\t\t";
	struct snapshot_member m;

	(void)state;
	assert_int_equal(snapshot_member_parse(three, &m), 0);
	assert_int_equal(m.nfields, 3);
	assert_string_equal(m.login, "a@example.com");
	assert_string_equal(m.keys, "");
	assert_string_equal(m.uid_attr, "");
	assert_int_equal(snapshot_member_parse(six, &m), 0);
	assert_int_equal(m.nfields, 6);
	assert_string_equal(m.id, "00u1");
	assert_string_equal(m.status, "ACTIVE");
	assert_string_equal(m.uid_attr, "70001");
	assert_string_equal(m.gecos, "Alice%20A");
	assert_string_equal(m.keys, "ssh-ed25519%20AAAA k2");
	assert_int_equal(snapshot_member_parse(empty6, &m), 0);
	assert_int_equal(m.nfields, 6);
	assert_string_equal(m.keys, "");
}

static void test_member_parse_refuses(void **state)
{
	char two[] = "00u1\tACTIVE";
	char four[] = "00u1\tACTIVE\ta\t1";
	char seven[] = "00u1\tACTIVE\ta\t1\tg\tk\tx";
	char ctl[] = "00u1\tACTIVE\ta\t1\tg\x01\tk";
	char high[] = "00u1\tACTIVE\ta\t1\tg\tk\xc3\xa9";
	struct snapshot_member m;

	(void)state;
	assert_int_equal(snapshot_member_parse(two, &m), -1);
	assert_int_equal(snapshot_member_parse(four, &m), -1);
	assert_int_equal(snapshot_member_parse(seven, &m), -1);
	assert_int_equal(snapshot_member_parse(ctl, &m), -1);
	assert_int_equal(snapshot_member_parse(high, &m), -1); /* not encoded */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pct_round_trip),
		cmocka_unit_test(test_pct_decode_refuses),
		cmocka_unit_test(test_pct_encode_bounded),
		cmocka_unit_test(test_member_parse),
		cmocka_unit_test(test_member_parse_refuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
