/* check_tstime.c: unit tests for RFC 3339 times, relative times and durations. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tstime.h"

#define S(x) ((tstime_t)(x)*TSTIME_SEC)
#define MIN (60 * TSTIME_SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)

static const struct {
	const char *s;
	tstime_t t;
} good_times[] = {
    {"1970-01-01T00:00:00Z", 0},
    {"2026-11-20T14:05:00Z", S(1795183500)},
    {"2026-11-20t14:05:00z", S(1795183500)},
    {"2026-11-20T15:05:00+01:00", S(1795183500)},
    {"2026-11-20T08:35:00-05:30", S(1795183500)},
    {"2026-11-20T14:05:00-00:00", S(1795183500)},
    {"2024-02-29T00:00:00Z", S(1709164800)},
    {"2000-02-29T12:34:56Z", S(951827696)},
    {"1969-07-20T20:17:40Z", S(-14182940)},
    {"1900-01-01T00:00:00Z", S(-2208988800)},
    {"0000-01-01T00:00:00Z", S(-62167219200)},
    {"9999-12-31T23:59:59Z", S(253402300799)},
    {"1970-01-01T00:00:00.5Z", 500000},
    {"1970-01-01T00:00:00.000001Z", 1},
    {"1970-01-01T00:00:00.123456789Z", 123456},
    {"1970-01-01T00:00:00.9999999Z", 999999},
    {"1969-12-31T23:59:59.999999Z", -1},
    {"2026-11-20T14:05:00.25+00:00", S(1795183500) + 250000},
};

static const char *bad_times[] = {
    "",
    "2026",
    "2026-11-20",
    "2026-13-01T00:00:00Z",
    "2026-00-01T00:00:00Z",
    "2026-11-00T00:00:00Z",
    "2026-02-30T00:00:00Z",
    "2026-04-31T00:00:00Z",
    "2100-02-29T00:00:00Z",
    "2026-02-29T00:00:00Z",
    "2026-11-20T24:00:00Z",
    "2026-11-20T14:60:00Z",
    "2026-11-20T14:05:60Z", /* leap seconds are rejected */
    "2026-11-20T14:05:00",
    "2026-11-20T14:05:00Zx",
    "2026-11-20T14:05:00Z ",
    " 2026-11-20T14:05:00Z",
    "2026-11-20 14:05:00Z",
    "2026-11-20T14:05Z",
    "2026-11-20T14:05:00.Z",
    "2026-11-20T14:05:00.1234567890Z",
    "2026-11-20T14:05:00+0100",
    "2026-11-20T14:05:00+01",
    "2026-11-20T14:05:00+24:00",
    "2026-11-20T14:05:00+01:60",
    "2026-11-20T14:05:00+01:00x",
    "2026-1-20T14:05:00Z",
    "2026-11-2T14:05:00Z",
    "+2026-11-20T14:05:00Z",
    "20261120T140500Z",
    "2026/11/20T14:05:00Z",
    "2026-11-20T14:05:00GMT",
    "2026-11-20T1a:05:00Z",
};

START_TEST(test_rfc3339_good)
{
	tstime_t t = 42;

	ck_assert_msg(tstime_parse_rfc3339(good_times[_i].s, &t) == 0, "rejected %s",
	              good_times[_i].s);
	ck_assert_msg(t == good_times[_i].t, "%s: got %lld want %lld", good_times[_i].s,
	              (long long)t, (long long)good_times[_i].t);
}
END_TEST

START_TEST(test_rfc3339_bad)
{
	tstime_t t = 42;

	ck_assert_msg(tstime_parse_rfc3339(bad_times[_i], &t) == -1, "accepted \"%s\"",
	              bad_times[_i]);
	ck_assert_int_eq(t, 42);
}
END_TEST

START_TEST(test_rfc3339_null)
{
	tstime_t t;

	ck_assert_int_eq(tstime_parse_rfc3339(NULL, &t), -1);
}
END_TEST

static const struct {
	tstime_t t;
	const char *s;
} formats[] = {
    {0, "1970-01-01T00:00:00Z"},
    {1, "1970-01-01T00:00:00.000001Z"},
    {-1, "1969-12-31T23:59:59.999999Z"},
    {-TSTIME_SEC, "1969-12-31T23:59:59Z"},
    {-TSTIME_SEC - 1, "1969-12-31T23:59:58.999999Z"},
    {500000, "1970-01-01T00:00:00.500000Z"},
    {S(1795183500), "2026-11-20T14:05:00Z"},
    {S(1709164800), "2024-02-29T00:00:00Z"},
    {S(951827696), "2000-02-29T12:34:56Z"},
    {S(-14182940), "1969-07-20T20:17:40Z"},
    {S(-2208988800), "1900-01-01T00:00:00Z"},
    {S(-62167219200), "0000-01-01T00:00:00Z"},
    {S(253402300799), "9999-12-31T23:59:59Z"},
};

START_TEST(test_format)
{
	char buf[TSTIME_STRLEN];

	tstime_format(formats[_i].t, buf, sizeof buf);
	ck_assert_str_eq(buf, formats[_i].s);
}
END_TEST

START_TEST(test_format_extremes)
{
	char buf[TSTIME_STRLEN], small[8];

	/* Not RFC 3339 any more, but no crash and no overflow. */
	tstime_format(INT64_MIN, buf, sizeof buf);
	ck_assert_ptr_nonnull(strchr(buf, 'Z'));
	tstime_format(INT64_MAX, buf, sizeof buf);
	ck_assert_ptr_nonnull(strchr(buf, 'Z'));
	tstime_format(0, small, sizeof small);
	ck_assert_str_eq(small, "1970-01");
}
END_TEST

/* Compared with the C library's own calendar for many seconds from year 0 to 9999. */
START_TEST(test_format_vs_gmtime)
{
	uint64_t x = 88172645463325252ULL;
	char buf[TSTIME_STRLEN], want[TSTIME_STRLEN];
	const int64_t lo = -62167219200, hi = 253402300799;
	struct tm tm;
	time_t secs;
	tstime_t t, back;
	int i;

	for (i = 0; i < 200000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		secs = (time_t)(lo + (int64_t)(x % (uint64_t)(hi - lo + 1)));
		ck_assert_ptr_nonnull(gmtime_r(&secs, &tm));
		snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
		         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
		t = S(secs);
		tstime_format(t, buf, sizeof buf);
		ck_assert_str_eq(buf, want);
		ck_assert_int_eq(tstime_parse_rfc3339(buf, &back), 0);
		ck_assert_int_eq(back, t);

		t += (tstime_t)(x % 1000000);
		tstime_format(t, buf, sizeof buf);
		ck_assert_int_eq(tstime_parse_rfc3339(buf, &back), 0);
		ck_assert_int_eq(back, t);
	}
}
END_TEST

START_TEST(test_now)
{
	tstime_t a = tstime_now();

	ck_assert(a > S(1700000000));
	ck_assert(tstime_now() >= a);
}
END_TEST

static const struct {
	const char *s;
	int64_t us;
} good_durations[] = {
    {"45s", 45 * TSTIME_SEC},
    {"90m", 90 * MIN},
    {"1h30m", 90 * MIN},
    {"3d", 3 * DAY},
    {"2w", 14 * DAY},
    {"250ms", 250000},
    {"90", 90 * TSTIME_SEC},
    {"0", 0},
    {"0s", 0},
    {"1w2d3h4m5s6ms", 9 * DAY + 3 * HOUR + 4 * MIN + 5 * TSTIME_SEC + 6000},
    {"1h0m5s", HOUR + 5 * TSTIME_SEC},
    {"007s", 7 * TSTIME_SEC},
    {"15250284w", 15250284 * 7 * DAY},
};

static const char *bad_durations[] = {
    "",   "-5m", "+5m",   "5x",   "1h30", "30m1h", "1m1m", "5 m",  " 5m",  "5m ", "1.5h", "m", "h5",
    "5M", "5mm", "5ms5s", "1s1w", "5sec", "1d-2h", "0x10", "5s\n", "1e3s", "5us", "5ns",  "∞",
};

START_TEST(test_duration_good)
{
	int64_t us = -1;
	char *cause = NULL;

	ck_assert_msg(tstime_parse_duration(good_durations[_i].s, &us, &cause) == 0,
	              "rejected %s: %s", good_durations[_i].s, cause);
	ck_assert_int_eq(us, good_durations[_i].us);
	ck_assert_ptr_null(cause);
}
END_TEST

START_TEST(test_duration_bad)
{
	int64_t us = 42;
	char *cause = NULL;

	ck_assert_msg(tstime_parse_duration(bad_durations[_i], &us, &cause) == -1, "accepted %s",
	              bad_durations[_i]);
	ck_assert_int_eq(us, 42);
	ck_assert_ptr_nonnull(cause);
	free(cause);
}
END_TEST

START_TEST(test_duration_causes)
{
	int64_t us;
	char *cause = NULL;

	ck_assert_int_eq(tstime_parse_duration("5x", &us, &cause), -1);
	ck_assert_str_eq(cause, "\"5x\" is not a duration (e.g. 60s, 5m, 1h)");
	free(cause);
	ck_assert_int_eq(tstime_parse_duration("", &us, &cause), -1);
	ck_assert_str_eq(cause, "empty duration (e.g. 60s, 5m, 1h)");
	free(cause);
	ck_assert_int_eq(tstime_parse_duration(NULL, &us, &cause), -1);
	free(cause);

	/* Overflow: in the number, in the multiplication, in the sum. */
	ck_assert_int_eq(tstime_parse_duration("99999999999999999999s", &us, &cause), -1);
	ck_assert_str_eq(cause, "\"99999999999999999999s\" is too long a duration");
	free(cause);
	us = 42;
	ck_assert_int_eq(tstime_parse_duration("9223372036855", &us, &cause), -1);
	ck_assert_int_eq(us, 42);
	ck_assert_ptr_nonnull(strstr(cause, "too long"));
	free(cause);
	ck_assert_int_eq(tstime_parse_duration("15250285w", &us, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "too long"));
	free(cause);
	ck_assert_int_eq(tstime_parse_duration("15250284w1000d", &us, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "too long"));
	free(cause);
	ck_assert_int_eq(tstime_parse_duration("9223372036854775807ms", &us, &cause), -1);
	free(cause);
	ck_assert_int_eq(tstime_parse_duration("9223372036854ms", &us, &cause), 0);
	ck_assert_int_eq(us, INT64_C(9223372036854000));
}
END_TEST

#define NOW S(1795183500)

static const struct {
	const char *s;
	tstime_t t;
} good_relative[] = {
    {"now", NOW},
    {"-90m", NOW - 90 * MIN},
    {"90m", NOW - 90 * MIN},
    {"3d", NOW - 3 * DAY},
    {"1h30m", NOW - 90 * MIN},
    {"-1h30m", NOW - 90 * MIN},
    {"2w", NOW - 14 * DAY},
    {"45s", NOW - 45 * TSTIME_SEC},
    {"-0s", NOW},
    {"500ms", NOW - 500000},
    {"2026-11-20T14:05:00Z", NOW},
    {"1969-07-20T20:17:40Z", S(-14182940)},
    /* The forgiving forms: a date is midnight UTC, a time of day without an offset is UTC. */
    {"2026-11-20", NOW - (14 * 60 + 5) * MIN},
    {"2026-11-19", NOW - DAY - (14 * 60 + 5) * MIN},
    {"2026-11-20 14:05", NOW},
    {"2026-11-20 14:04:30", NOW - 30 * TSTIME_SEC},
    {"2026-11-20T13:05", NOW - 60 * MIN},
    {"2026-11-20 15:05+01:00", NOW},
    {"2026-11-20 09:05-05:00", NOW},
    {"2026-11-20 14:04:59.5", NOW - 500000},
    {"2026-11-20 14:04Z", NOW - MIN},
    {"@1795183500", NOW},
    {"@1795183499.25", NOW - 750000},
    {"@0", 0},
    {"today", NOW - (14 * 60 + 5) * MIN},
    {"yesterday", NOW - DAY - (14 * 60 + 5) * MIN},
};

static const char *bad_relative[] = {
    "+1h",
    "",
    "3x",
    "90",
    "-90",
    "--5m",
    "-",
    "now ",
    "Now",
    "Yesterday",
    "5m ago",
    "-+5m",
    "9999999999999w",
    "2026-13-01T00:00:00Z",
    "1h30",
    /* Forgiving, not anything goes. */
    "2026-11-20 25:00",
    "2026-11-20 14",
    "2026-11-20 14:05 +01:00",
    "2026-11-20 14:05:0",
    "2026-11-20 14:05.5",
    "2026-11-20x14:05",
    "2026-11-2",
    "2026-11-20 14:05:00+1",
    "@",
    "@-5",
    "@12x",
    "@1.",
    "@99999999999999999999",
    "@1.1234567890",
    "tomorrow",
    /* The future: later than NOW. */
    "2026-11-20T14:05:01Z",
    "2026-11-21",
    "@1795183501",
    "2027-01-01 00:00",
};

START_TEST(test_parse_good)
{
	tstime_t t = 42;
	char *cause = NULL;

	ck_assert_msg(tstime_parse(good_relative[_i].s, NOW, &t, &cause) == 0, "rejected %s: %s",
	              good_relative[_i].s, cause);
	ck_assert_int_eq(t, good_relative[_i].t);
}
END_TEST

START_TEST(test_parse_bad)
{
	tstime_t t = 42;
	char *cause = NULL;

	ck_assert_msg(tstime_parse(bad_relative[_i], NOW, &t, &cause) == -1, "accepted %s",
	              bad_relative[_i]);
	ck_assert_int_eq(t, 42);
	ck_assert_ptr_nonnull(cause);
	free(cause);
}
END_TEST

START_TEST(test_parse_causes)
{
	tstime_t t;
	char *cause = NULL;

	ck_assert_int_eq(tstime_parse("2026-02-30T00:00:00Z", NOW, &t, &cause), -1);
	ck_assert_ptr_nonnull(
	    strstr(cause, "\"2026-02-30T00:00:00Z\" is not a date or time: use "));
	free(cause);
	/* A bad TIME names every accepted form. */
	ck_assert_int_eq(tstime_parse("soon", NOW, &t, &cause), -1);
	ck_assert_str_eq(cause, "\"soon\" is not a time: use 2026-11-20T14:05:00Z (RFC 3339), "
	                        "2026-11-20, 2026-11-20 14:05[:00][+01:00], @1795183500 (Unix "
	                        "seconds), now, today, yesterday, or a time ago such as 90m, 3d, "
	                        "1h30m");
	free(cause);
	ck_assert_int_eq(tstime_parse("2026-11-21", NOW, &t, &cause), -1);
	ck_assert_str_eq(cause, "\"2026-11-21\" (2026-11-21T00:00:00Z) is later than now "
	                        "(2026-11-20T14:05:00Z)");
	free(cause);
	/* The daemon's reading: the same forms, later than its now too. */
	ck_assert_int_eq(tstime_parse_any("2026-11-21", NOW, &t, &cause), 0);
	ck_assert_int_eq(t, NOW + DAY - (14 * 60 + 5) * MIN);
	ck_assert_int_eq(tstime_parse_any("soon", NOW, &t, &cause), -1);
	free(cause);
	ck_assert_int_eq(tstime_parse("@99999999999999999", NOW, &t, &cause), -1);
	ck_assert_str_eq(cause, "\"@99999999999999999\" is out of range");
	free(cause);
	ck_assert_int_eq(tstime_parse("+1h", NOW, &t, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "\"+1h\" is not a time"));
	free(cause);
	ck_assert_int_eq(tstime_parse("", NOW, &t, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "empty time: use "));
	free(cause);
	ck_assert_int_eq(tstime_parse("9999999999999w", NOW, &t, &cause), -1);
	ck_assert_str_eq(cause, "\"9999999999999w\" is too far back");
	free(cause);
	/* Within the duration range, but before the start of time. */
	ck_assert_int_eq(tstime_parse("1s", INT64_MIN + 5, &t, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "too far back"));
	free(cause);
}
END_TEST

static const struct {
	int64_t us;
	const char *s;
} good_fmtdur[] = {
    {0, "0s"},
    {850000, "850ms"},
    {12 * MIN + 5 * TSTIME_SEC, "12m5s"},
    {3 * DAY + 4 * HOUR, "3d4h"},
    {3 * DAY + 4 * HOUR + 5 * MIN, "3d4h"},
    {HOUR, "1h"},
    {HOUR + 5 * TSTIME_SEC, "1h"},
    {HOUR + 30 * MIN, "1h30m"},
    {14 * DAY, "14d"},
    {5 * TSTIME_SEC + 250000, "5s250ms"},
    {TSTIME_SEC, "1s"},
    {999, "999us"},
    {1000, "1ms"},
    {-90 * TSTIME_SEC, "-1m30s"},
    {59 * TSTIME_SEC + 999999, "59s999ms"},
};

START_TEST(test_format_duration)
{
	char buf[32];

	tstime_format_duration(good_fmtdur[_i].us, buf, sizeof buf);
	ck_assert_str_eq(buf, good_fmtdur[_i].s);
}
END_TEST

START_TEST(test_format_duration_roundtrip)
{
	static const int64_t units[] = {DAY, HOUR, MIN, TSTIME_SEC, 1000};
	char buf[32], *cause = NULL;
	int64_t back;
	size_t i;
	int a, b;

	for (i = 0; i + 1 < sizeof units / sizeof units[0]; i++) {
		for (a = 1; a < 23; a += 7) {
			for (b = 0; b < 24 && b * units[i + 1] < units[i]; b += 5) {
				int64_t us = a * units[i] + b * units[i + 1];

				tstime_format_duration(us, buf, sizeof buf);
				ck_assert_msg(tstime_parse_duration(buf, &back, &cause) == 0,
				              "%s: %s", buf, cause);
				ck_assert_int_eq(back, us);
			}
		}
	}
}
END_TEST

START_TEST(test_format_duration_extremes)
{
	char buf[32], small[3];

	tstime_format_duration(INT64_MIN, buf, sizeof buf);
	ck_assert_int_eq(buf[0], '-');
	tstime_format_duration(INT64_MAX, buf, sizeof buf);
	ck_assert_ptr_nonnull(strchr(buf, 'd'));
	tstime_format_duration(3 * DAY + 4 * HOUR, small, sizeof small);
	ck_assert_str_eq(small, "3d");
}
END_TEST

#define ADD_LOOP(tc, fn, table) tcase_add_loop_test(tc, fn, 0, sizeof table / sizeof table[0])

static Suite *
tstime_suite(void)
{
	Suite *s = suite_create("tstime");
	TCase *tc;

	tc = tcase_create("rfc3339");
	ADD_LOOP(tc, test_rfc3339_good, good_times);
	ADD_LOOP(tc, test_rfc3339_bad, bad_times);
	tcase_add_test(tc, test_rfc3339_null);
	ADD_LOOP(tc, test_format, formats);
	tcase_add_test(tc, test_format_extremes);
	tcase_add_test(tc, test_format_vs_gmtime);
	tcase_add_test(tc, test_now);
	suite_add_tcase(s, tc);

	tc = tcase_create("duration");
	ADD_LOOP(tc, test_duration_good, good_durations);
	ADD_LOOP(tc, test_duration_bad, bad_durations);
	tcase_add_test(tc, test_duration_causes);
	ADD_LOOP(tc, test_format_duration, good_fmtdur);
	tcase_add_test(tc, test_format_duration_roundtrip);
	tcase_add_test(tc, test_format_duration_extremes);
	suite_add_tcase(s, tc);

	tc = tcase_create("relative");
	ADD_LOOP(tc, test_parse_good, good_relative);
	ADD_LOOP(tc, test_parse_bad, bad_relative);
	tcase_add_test(tc, test_parse_causes);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(tstime_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
