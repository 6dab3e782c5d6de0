/* test_proto.c - a writer never finishes a message its reader would drop:
 * PROTO_MAX_FIELDS fields at most (issue 22: an AUDIT of more than about
 * 1,000 records reached the CLI as "malformed field"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proto.h"

static void add_fields(struct proto_out *o, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		proto_out_add(o, T_RECORD, "");
}

/* As many fields as a reader takes: finished, and read back whole. */
static void test_max_fields_finish_and_parse(void **state)
{
	struct proto_out o;
	struct proto_msg m;

	(void)state;
	proto_out_init(&o, PROTO_OK);
	add_fields(&o, PROTO_MAX_FIELDS);
	assert_int_equal(o.nfields, PROTO_MAX_FIELDS);
	assert_int_equal(proto_out_finish(&o, PROTO_MAX_PAYLOAD), 0);
	assert_int_equal(proto_parse_payload(&m, PROTO_OK, o.data + PROTO_HEADER_LEN, o.len - PROTO_HEADER_LEN), 0);
	assert_int_equal(m.nfields, PROTO_MAX_FIELDS);
	proto_msg_free(&m);
	proto_out_free(&o);
}

/* One more: the reader refuses it, so the writer must not finish it
 * (okta-jitd then answers ERROR too_big, daemon.c). */
static void test_one_field_more_is_refused_by_the_writer(void **state)
{
	struct proto_out o;
	struct proto_msg m;

	(void)state;
	proto_out_init(&o, PROTO_OK);
	add_fields(&o, PROTO_MAX_FIELDS + 1);
	assert_int_not_equal(proto_parse_payload(&m, PROTO_OK, o.data + PROTO_HEADER_LEN, o.len - PROTO_HEADER_LEN), 0);
	assert_int_equal(proto_out_finish(&o, PROTO_MAX_PAYLOAD), -1);
	proto_out_free(&o);
}

/* The count is of fields added, not of bytes: empty values count too,
 * and a value refused (too long) does not. */
static void test_count_is_of_fields_added(void **state)
{
	static char big[PROTO_MAX_VALUE + 2];
	struct proto_out o;

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	proto_out_init(&o, PROTO_OK);
	proto_out_add(&o, T_USER, "alice");
	proto_out_add_int(&o, T_ID, 7);
	proto_out_add(&o, T_RECORD, "");
	assert_int_equal(o.nfields, 3);
	proto_out_add(&o, T_DETAIL, big);
	assert_int_equal(o.nfields, 3);
	assert_int_equal(proto_out_finish(&o, PROTO_MAX_PAYLOAD), -1);
	proto_out_free(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_max_fields_finish_and_parse),
		cmocka_unit_test(test_one_field_more_is_refused_by_the_writer),
		cmocka_unit_test(test_count_is_of_fields_added),
	};

	return cmocka_run_group_tests_name("proto", tests, NULL, NULL);
}
