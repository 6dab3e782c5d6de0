/* The CLI's tables (helper/cli/table.c): widths from the data, names never
 * cut, free text elided to fit, colours not counted as width. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "table.h"

static const char *const H[] = { "ID", "USER", "GROUP", "DETAIL" };
static const enum table_col K[] = { TABLE_NAME, TABLE_NAME, TABLE_NAME, TABLE_FREE };

static char *render(const struct table *t, int width, int color)
{
	struct table_out out = { width, color };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(table_print(t, f, &out), 0);
	fclose(f);
	return buf;
}

static struct table *sample(void)
{
	struct table *t = table_new(4, H, K);
	const char *r1[] = { "1", "okta-jit-demo-alice-with-a-long-name-x40", "web-sudo", "reason=a b c d e f g h i j" };
	const char *r2[] = { "22", "bob", "okta-jit-demo-production-db-admins-gr-40", "" };

	assert_non_null(t);
	assert_int_equal(table_add(t, r1), 0);
	assert_int_equal(table_add(t, r2), 0);
	return t;
}

static void whole_lines_without_a_width(void **state)
{
	struct table *t = sample();
	char *s = render(t, 0, 0);

	(void)state;
	assert_string_equal(s, "ID USER                                     GROUP                                    DETAIL\n"
			       "1  okta-jit-demo-alice-with-a-long-name-x40 web-sudo                                 reason=a b c d e f g h i j\n"
			       "22 bob                                      okta-jit-demo-production-db-admins-gr-40\n");
	free(s);
	table_free(t);
}

static void free_text_gives_way_names_never(void **state)
{
	struct table *t = sample();
	char *s = render(t, 100, 0), *line, *save = NULL;

	(void)state;
	/* 2+1+40+1+40+1 = 85: 15 left for the detail */
	assert_non_null(strstr(s, "okta-jit-demo-alice-with-a-long-name-x40 "));
	assert_non_null(strstr(s, "okta-jit-demo-production-db-admins-gr-40"));
	for (line = strtok_r(s, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
		assert_true(strlen(line) <= 100);
	free(s);
	s = render(t, 100, 0);
	assert_non_null(strstr(s, " reason=a b c...\n"));
	free(s);
	/* narrower than the names: the detail at its floor (8), names whole */
	s = render(t, 20, 0);
	assert_non_null(strstr(s, "x40 web-sudo                                 reaso...\n"));
	assert_non_null(strstr(s, "22 bob "));
	free(s);
	table_free(t);
}

static void colours_do_not_count_as_width(void **state)
{
	struct table *t = table_new(2, H, NULL);
	const char *r[] = { "1", "x" };
	char *s;

	(void)state;
	assert_int_equal(table_add(t, r), 0);
	table_color(t, 0, TABLE_GREEN);
	s = render(t, 0, 1);
	assert_string_equal(s, "ID USER\n\033[32m1\033[0m  x\n");
	free(s);
	s = render(t, 0, 0);
	assert_string_equal(s, "ID USER\n1  x\n");
	free(s);
	table_free(t);
}

static void control_characters_never_reach_the_terminal(void **state)
{
	struct table *t = table_new(2, H, NULL);
	const char *r[] = { "1", "evil\033[2J\nname" };
	char *s;

	(void)state;
	assert_int_equal(table_add(t, r), 0);
	s = render(t, 0, 0);
	assert_string_equal(s, "ID USER\n1  evil?[2J?name\n");
	free(s);
	table_free(t);
}

static void utf8_width_and_cut(void **state)
{
	(void)state;
	assert_int_equal(table_text_width("gr\xc3\xbcn"), 4);
	assert_int_equal(table_text_cut("gr\xc3\xbcn", 3), 4); /* "grü": 4 bytes */
	assert_int_equal(table_text_cut("abc", 5), 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(whole_lines_without_a_width),
		cmocka_unit_test(free_text_gives_way_names_never),
		cmocka_unit_test(colours_do_not_count_as_width),
		cmocka_unit_test(control_characters_never_reach_the_terminal),
		cmocka_unit_test(utf8_width_and_cut),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
