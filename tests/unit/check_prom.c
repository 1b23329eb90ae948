/* check_prom.c: unit tests for the Prometheus text format: escaping, numbers, histograms. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "prom.h"

static char *
value(double v)
{
	struct sbuf sb = {0};

	prom_value(&sb, v);
	return sbuf_steal(&sb);
}

START_TEST(test_escaping)
{
	struct prom_label l[] = {{"tailnet", "a\"b\\c\nd"}, {"hook", "plain"}};
	struct sbuf sb = {0};
	char *s;

	/* HELP escapes a backslash and a newline, not a quote; a label value all three. */
	prom_family(&sb, "tsinv_x_total", "counter", "say \"hi\" \\ to\nall");
	prom_sample(&sb, "tsinv_x_total", l, 2, 3);
	prom_sample(&sb, "tsinv_y", NULL, 0, 0.5);
	s = sbuf_steal(&sb);
	ck_assert_str_eq(s, "# HELP tsinv_x_total say \"hi\" \\\\ to\\nall\n"
	                    "# TYPE tsinv_x_total counter\n"
	                    "tsinv_x_total{tailnet=\"a\\\"b\\\\c\\nd\",hook=\"plain\"} 3\n"
	                    "tsinv_y 0.5\n");
	free(s);
}
END_TEST

START_TEST(test_values)
{
	static const struct {
		double v;
		const char *text;
	} cases[] = {
	    {0, "0"},
	    {42, "42"},
	    {-7, "-7"},
	    {0.1, "0.1"},
	    {1796326235.152170, "1796326235.15217"},
	    {1796326235.152171, "1796326235.152171"},
	    {1e300, "1e+300"},
	};
	char *s;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		s = value(cases[i].v);
		ck_assert_str_eq(s, cases[i].text);
		free(s);
	}
	s = value(NAN);
	ck_assert_str_eq(s, "NaN");
	free(s);
	s = value(INFINITY);
	ck_assert_str_eq(s, "+Inf");
	free(s);
	s = value(-INFINITY);
	ck_assert_str_eq(s, "-Inf");
	free(s);
}
END_TEST

START_TEST(test_histogram)
{
	static const double bounds[] = {0.5, 1};
	static const unsigned long long cum[] = {1, 3};
	struct prom_label l = {"endpoint", "devices"};
	struct sbuf sb = {0};
	char *s;

	prom_histogram(&sb, "tsinv_d_seconds", &l, 1, bounds, cum, 2, 4.25, 4);
	s = sbuf_steal(&sb);
	ck_assert_str_eq(s, "tsinv_d_seconds_bucket{endpoint=\"devices\",le=\"0.5\"} 1\n"
	                    "tsinv_d_seconds_bucket{endpoint=\"devices\",le=\"1\"} 3\n"
	                    "tsinv_d_seconds_bucket{endpoint=\"devices\",le=\"+Inf\"} 4\n"
	                    "tsinv_d_seconds_sum{endpoint=\"devices\"} 4.25\n"
	                    "tsinv_d_seconds_count{endpoint=\"devices\"} 4\n");
	free(s);
	/* Without labels, "le" stands alone. */
	prom_histogram(&sb, "tsinv_e", NULL, 0, bounds, cum, 1, 0, 1);
	s = sbuf_steal(&sb);
	ck_assert_str_eq(s, "tsinv_e_bucket{le=\"0.5\"} 1\ntsinv_e_bucket{le=\"+Inf\"} 1\n"
	                    "tsinv_e_sum 0\ntsinv_e_count 1\n");
	free(s);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("prom");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_escaping);
	tcase_add_test(tc, test_values);
	tcase_add_test(tc, test_histogram);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
