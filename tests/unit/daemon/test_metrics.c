/* test_metrics.c - okta-jitd's metrics registry (issue 22): the text is
 * Prometheus' exposition format (HELP and TYPE before each family's
 * samples, label values escaped), a label value outside a metric's fixed
 * set counts as "other" (the series stay bounded), readers fill their
 * metric at scrape time, and a long text is cut at line ends. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "metrics.h"
#include "util.h"

static char *render(void)
{
	static struct ojit_buf b;

	ojit_buf_free(&b);
	ojit_buf_init(&b, 0);
	assert_int_equal(metrics_render(&b), 0);
	assert_non_null(b.data);
	return b.data;
}

static int count_lines_starting(const char *text, const char *prefix)
{
	int n = 0;
	const char *p = text;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, prefix, strlen(prefix)) == 0)
			n++;
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return n;
}

static void test_every_family_has_help_and_type_before_its_samples(void **state)
{
	char *t;
	int m;

	(void)state;
	metrics_reset();
	t = render();
	for (m = 0; m < METRIC_COUNT; m++) {
		char help[128], type[128], sample[128];
		const char *h, *ty, *s;

		snprintf(help, sizeof(help), "# HELP %s ", metrics_name((enum metric)m));
		snprintf(type, sizeof(type), "# TYPE %s ", metrics_name((enum metric)m));
		snprintf(sample, sizeof(sample), "\n%s", metrics_name((enum metric)m));
		h = strstr(t, help);
		ty = strstr(t, type);
		assert_non_null(h);
		assert_non_null(ty);
		assert_true(h < ty);
		assert_int_equal(count_lines_starting(t, help), 1);
		s = strstr(t, sample);
		if (s != NULL)
			assert_true(s > ty);
		assert_true(strncmp(metrics_name((enum metric)m), "okta_jit_", 9) == 0);
	}
	assert_null(metrics_name(METRIC_COUNT));
	assert_non_null(strstr(t, "\nokta_jit_up 1\n"));
	assert_non_null(strstr(t, "# TYPE okta_jit_checks_total counter\n"));
	assert_non_null(strstr(t, "# TYPE okta_jit_removals_overdue gauge\n"));
}

static void test_counters_move_and_unknown_values_count_as_other(void **state)
{
	char *t;

	(void)state;
	metrics_reset();
	metrics_inc2(METRIC_CHECKS, "allow", "allow");
	metrics_inc2(METRIC_CHECKS, "deny", "no_grant");
	metrics_inc2(METRIC_CHECKS, "deny", "no_grant");
	/* a user's or a group's name is never a label value */
	metrics_inc2(METRIC_CHECKS, "deny", "alice");
	metrics_inc2(METRIC_CHECKS, "bogus\n", NULL);
	metrics_inc(METRIC_GRANTS, "granted");
	metrics_inc(METRIC_GRANTS, "evil\"}");
	metrics_inc_known(METRIC_GRANTS, "check_refused"); /* not a grant event: not counted */
	metrics_inc_known(METRIC_GRANTS, "revoked");
	metrics_inc(METRIC_REMOVAL_FAILURES, NULL);
	metrics_set(METRIC_START_TIME, 1700000000);
	t = render();
	assert_non_null(strstr(t, "\nokta_jit_checks_total{decision=\"allow\",code=\"allow\"} 1\n"));
	assert_non_null(strstr(t, "\nokta_jit_checks_total{decision=\"deny\",code=\"no_grant\"} 2\n"));
	assert_non_null(strstr(t, "\nokta_jit_checks_total{decision=\"deny\",code=\"other\"} 1\n"));
	assert_non_null(strstr(t, "\nokta_jit_checks_total{decision=\"other\",code=\"other\"} 1\n"));
	assert_null(strstr(t, "alice"));
	assert_null(strstr(t, "bogus"));
	assert_null(strstr(t, "evil"));
	/* pairs that never counted are not shown; one-label series always are */
	assert_null(strstr(t, "decision=\"allow\",code=\"no_grant\""));
	assert_non_null(strstr(t, "\nokta_jit_grants_total{event=\"granted\"} 1\n"));
	assert_non_null(strstr(t, "\nokta_jit_grants_total{event=\"revoked\"} 1\n"));
	assert_non_null(strstr(t, "\nokta_jit_grants_total{event=\"expired\"} 0\n"));
	assert_non_null(strstr(t, "\nokta_jit_grants_total{event=\"other\"} 1\n"));
	assert_null(strstr(t, "check_refused"));
	assert_non_null(strstr(t, "\nokta_jit_removal_failures_total 1\n"));
	assert_non_null(strstr(t, "\nokta_jit_start_time_seconds 1700000000\n"));
	/* read metrics without a reader: HELP and TYPE only */
	assert_null(strstr(t, "\nokta_jit_cache_entries "));
}

static void read_groups(struct metrics_sink *s, void *ctx)
{
	(void)ctx;
	metrics_sample(s, "plain", NULL, 5);
	metrics_sample(s, "quote\"back\\slash\nline", NULL, 7);
}

static void test_reader_values_are_escaped(void **state)
{
	char *t;

	(void)state;
	metrics_reset();
	metrics_reader(METRIC_SNAPSHOT_AGE, read_groups, NULL);
	/* a stored metric takes no reader */
	metrics_reader(METRIC_CHECKS, read_groups, NULL);
	t = render();
	assert_non_null(strstr(t, "\nokta_jit_snapshot_age_seconds{group=\"plain\"} 5\n"));
	assert_non_null(strstr(t, "\nokta_jit_snapshot_age_seconds{group=\"quote\\\"back\\\\slash\\nline\"} 7\n"));
	assert_null(strstr(t, "okta_jit_checks_total{decision=\"plain\""));
}

static void test_chunks_end_at_line_ends(void **state)
{
	const char *t = "aaaa\nbbbb\ncccccccccc\nd\n";

	(void)state;
	assert_int_equal(metrics_chunk(t, strlen(t), 100), strlen(t));
	assert_int_equal(metrics_chunk(t, strlen(t), 12), 10); /* "aaaa\nbbbb\n" */
	assert_int_equal(metrics_chunk(t, strlen(t), 5), 5);
	assert_int_equal(metrics_chunk(t + 10, strlen(t + 10), 8), 8); /* a line longer than max: cut */
	assert_int_equal(metrics_chunk(t, 0, 8), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_family_has_help_and_type_before_its_samples),
		cmocka_unit_test(test_counters_move_and_unknown_values_count_as_other),
		cmocka_unit_test(test_reader_values_are_escaped),
		cmocka_unit_test(test_chunks_end_at_line_ends),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
