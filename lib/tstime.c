/* tstime.c: microsecond UTC times: strict RFC 3339, relative times, durations, independent of TZ.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "log.h"
#include "tstime.h"

#define TSTIME_DAY (86400 * TSTIME_SEC)

/* Largest unit first: a duration must name its units in this order, each at most once. */
static const struct tstime_unit {
	const char *name;
	int64_t us;
} tstime_units[] = {
    {"w", 7 * TSTIME_DAY},  {"d", TSTIME_DAY}, {"h", 3600 * TSTIME_SEC},
    {"m", 60 * TSTIME_SEC}, {"s", TSTIME_SEC}, {"ms", 1000},
};
#define TSTIME_NUNITS (sizeof tstime_units / sizeof tstime_units[0])

tstime_t
tstime_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (tstime_t)ts.tv_sec * TSTIME_SEC + ts.tv_nsec / 1000;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static int64_t
tstime_days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The inverse: the date of a day number. */
static void
tstime_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int
tstime_days_in_month(int y, int m)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))
		return 29;
	return days[m - 1];
}

/* Reads exactly n digits; -1 if any is not a digit. */
static int
tstime_digits(const char *s, int n)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* An optional fraction of a second at *PP: "." and 1 to 9 digits, kept to the microsecond
 * (into *US). 0, or -1 for a "." without digits or more than 9 of them. */
static int
tstime_fraction(const char **pp, int64_t *us)
{
	const char *p = *pp;
	int64_t scale = 100000;
	int ndig = 0;

	*us = 0;
	if (*p != '.')
		return 0;
	for (p++; *p >= '0' && *p <= '9'; p++, ndig++) {
		if (ndig >= 9)
			return -1;
		if (ndig < 6) {
			*us += (*p - '0') * scale;
			scale /= 10;
		}
	}
	if (ndig == 0)
		return -1;
	*pp = p;
	return 0;
}

/* Leap seconds (":60") are rejected: Unix time has none and the API never sends one. */
int
tstime_parse_rfc3339(const char *s, tstime_t *out)
{
	int y, mo, d, h, mi, sec, oh, om;
	int64_t frac = 0, secs, off = 0;
	const char *p;

	if (s == NULL || strlen(s) < 20)
		return -1;
	y = tstime_digits(s, 4);
	mo = tstime_digits(s + 5, 2);
	d = tstime_digits(s + 8, 2);
	h = tstime_digits(s + 11, 2);
	mi = tstime_digits(s + 14, 2);
	sec = tstime_digits(s + 17, 2);
	if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > tstime_days_in_month(y, mo) || h < 0 ||
	    h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59)
		return -1;
	if (s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' ||
	    s[16] != ':')
		return -1;
	p = s + 19;
	if (tstime_fraction(&p, &frac) == -1)
		return -1;
	if ((*p == 'Z' || *p == 'z') && p[1] == '\0')
		off = 0;
	else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
		oh = tstime_digits(p + 1, 2);
		om = tstime_digits(p + 4, 2);
		if (oh < 0 || oh > 23 || om < 0 || om > 59)
			return -1;
		off = (oh * 60 + om) * 60;
		if (*p == '-')
			off = -off;
	} else
		return -1;
	secs = tstime_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off;
	*out = secs * TSTIME_SEC + frac;
	return 0;
}

/* Reads a number; -1 if there is none, -2 on overflow. */
static int
tstime_number(const char **pp, int64_t *n)
{
	const char *p = *pp;

	if (*p < '0' || *p > '9')
		return -1;
	for (*n = 0; *p >= '0' && *p <= '9'; p++) {
		if (__builtin_mul_overflow(*n, 10, n) || __builtin_add_overflow(*n, *p - '0', n))
			return -2;
	}
	*pp = p;
	return 0;
}

/* Parses a duration; a bare number (seconds) only when bare_ok. 0, -1 bad, -2 overflow. */
static int
tstime_duration(const char *s, int bare_ok, int64_t *us)
{
	const char *p = s, *u;
	size_t next = 0, i, ulen;
	int64_t total = 0, n;
	int rc;

	if (*s == '\0')
		return -1;
	if (s[strspn(s, "0123456789")] == '\0') {
		if (!bare_ok)
			return -1;
		if ((rc = tstime_number(&p, &n)) != 0)
			return rc;
		if (__builtin_mul_overflow(n, TSTIME_SEC, &total))
			return -2;
		*us = total;
		return 0;
	}
	while (*p != '\0') {
		if ((rc = tstime_number(&p, &n)) != 0)
			return rc;
		for (u = p; *p >= 'a' && *p <= 'z'; p++)
			;
		ulen = (size_t)(p - u);
		for (i = next; i < TSTIME_NUNITS; i++) {
			if (strlen(tstime_units[i].name) == ulen &&
			    memcmp(tstime_units[i].name, u, ulen) == 0)
				break;
		}
		if (i == TSTIME_NUNITS)
			return -1;
		if (__builtin_mul_overflow(n, tstime_units[i].us, &n) ||
		    __builtin_add_overflow(total, n, &total))
			return -2;
		next = i + 1;
	}
	*us = total;
	return 0;
}

int
tstime_parse_duration(const char *s, int64_t *us, char **cause)
{
	int rc;

	if (s == NULL || *s == '\0') {
		*cause = xasprintf("empty duration (e.g. 60s, 5m, 1h)");
		return -1;
	}
	if ((rc = tstime_duration(s, 1, us)) == -2) {
		*cause = xasprintf("\"%s\" is too long a duration", s);
		return -1;
	}
	if (rc != 0) {
		*cause = xasprintf("\"%s\" is not a duration (e.g. 60s, 5m, 1h)", s);
		return -1;
	}
	return 0;
}

/* What a bad TIME is told: every form tstime_parse takes. */
#define TSTIME_FORMS                                                                               \
	"use 2026-11-20T14:05:00Z (RFC 3339), 2026-11-20, 2026-11-20 14:05[:00][+01:00], "         \
	"@1795183500 (Unix seconds), now, today, yesterday, or a time ago such as 90m, 3d, 1h30m"

/* A date, with or without a time of day, as people type it: "2026-12-01" (midnight),
 * "2026-12-01 10:00", "2026-12-01T10:00:05.5", each UTC unless an offset ("Z", "+01:00")
 * follows. Made into RFC 3339 and read by the strict parser. 0, or -1. */
static int
tstime_parse_date(const char *s, tstime_t *out)
{
	char buf[64];
	const char *p = s + 10, *rest;
	size_t n = strlen(s);

	if (n == 10)
		return snprintf(buf, sizeof buf, "%sT00:00:00Z", s) < (int)sizeof buf
		           ? tstime_parse_rfc3339(buf, out)
		           : -1;
	if (n < 16 || n > 40 || (*p != ' ' && *p != 'T' && *p != 't') || s[13] != ':')
		return -1;
	rest = s + 16;
	/* Seconds when given; a fraction only after them (the strict parser checks the digits). */
	snprintf(buf, sizeof buf, "%.10sT%.5s%s", s, s + 11, *rest == ':' ? "" : ":00");
	/* No offset: UTC. An offset, or a fraction then an offset, goes through as typed. */
	if (strpbrk(rest, "Zz+-") == NULL)
		snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%sZ", rest);
	else
		snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s", rest);
	return tstime_parse_rfc3339(buf, out);
}

/* "@1795183500" or "@1795183500.25": Unix seconds. 0, -1 bad, -2 out of range. */
static int
tstime_parse_epoch(const char *s, tstime_t *out)
{
	const char *p = s + 1;
	int64_t secs, frac = 0;
	int rc;

	if ((rc = tstime_number(&p, &secs)) != 0)
		return rc;
	if (tstime_fraction(&p, &frac) == -1)
		return -1;
	if (*p != '\0')
		return -1;
	if (__builtin_mul_overflow(secs, TSTIME_SEC, out) ||
	    __builtin_add_overflow(*out, frac, out))
		return -2;
	return 0;
}

/* Midnight UTC of the day of NOW, DAYS days before. */
static tstime_t
tstime_midnight(tstime_t now, int days)
{
	int64_t d = now / TSTIME_DAY;

	if (now % TSTIME_DAY < 0)
		d--;
	return (d - days) * TSTIME_DAY;
}

/* The absolute forms: 0 read, -1 not this form, -2 this form but wrong (then *cause). */
static int
tstime_parse_absolute(const char *s, tstime_t *out, char **cause)
{
	int rc;

	/* Something that starts like a date is a date, so that its error names the right thing. */
	if (strspn(s, "0123456789") == 4 && s[4] == '-') {
		if (tstime_parse_rfc3339(s, out) == 0 || tstime_parse_date(s, out) == 0)
			return 0;
		*cause = xasprintf("\"%s\" is not a date or time: %s", s, TSTIME_FORMS);
		return -2;
	}
	if (s[0] != '@')
		return -1;
	if ((rc = tstime_parse_epoch(s, out)) == 0)
		return 0;
	*cause = rc == -2 ? xasprintf("\"%s\" is out of range", s)
	                  : xasprintf("\"%s\" is not Unix seconds (e.g. @1795183500)", s);
	return -2;
}

static int tstime_parse_at(const char *s, tstime_t now, int future_ok, tstime_t *out, char **cause);

int
tstime_parse(const char *s, tstime_t now, tstime_t *out, char **cause)
{
	return tstime_parse_at(s, now, 0, out, cause);
}

int
tstime_parse_any(const char *s, tstime_t now, tstime_t *out, char **cause)
{
	return tstime_parse_at(s, now, 1, out, cause);
}

static int
tstime_parse_at(const char *s, tstime_t now, int future_ok, tstime_t *out, char **cause)
{
	char later[TSTIME_STRLEN], nowbuf[TSTIME_STRLEN];
	int64_t ago;
	tstime_t t;
	int rc;

	if (s == NULL || *s == '\0') {
		*cause = xasprintf("empty time: %s", TSTIME_FORMS);
		return -1;
	}
	if (strcmp(s, "now") == 0) {
		*out = now;
		return 0;
	}
	if (strcmp(s, "today") == 0 || strcmp(s, "yesterday") == 0) {
		*out = tstime_midnight(now, s[0] == 'y');
		return 0;
	}
	if ((rc = tstime_parse_absolute(s, &t, cause)) == -2)
		return -1;
	if (rc == 0) {
		/* tsinv knows nothing of the future: a later time is a typing error, not "maybe".
		 */
		if (t > now && !future_ok) {
			tstime_format(t, later, sizeof later);
			tstime_format(now, nowbuf, sizeof nowbuf);
			*cause = xasprintf("\"%s\" (%s) is later than now (%s)", s, later, nowbuf);
			return -1;
		}
		*out = t;
		return 0;
	}
	rc = tstime_duration(s[0] == '-' ? s + 1 : s, 0, &ago);
	if (rc == 0 && __builtin_sub_overflow(now, ago, &t))
		rc = -2;
	if (rc == -2) {
		*cause = xasprintf("\"%s\" is too far back", s);
		return -1;
	}
	if (rc != 0) {
		*cause = xasprintf("\"%s\" is not a time: %s", s, TSTIME_FORMS);
		return -1;
	}
	*out = t;
	return 0;
}

void
tstime_format(tstime_t t, char *buf, size_t len)
{
	int64_t secs = t / TSTIME_SEC, us = t % TSTIME_SEC, days, sod, y;
	int m, d;

	/* Floor division, so that times before 1970 come out right. */
	if (us < 0) {
		us += TSTIME_SEC;
		secs--;
	}
	days = secs / 86400;
	sod = secs % 86400;
	if (sod < 0) {
		sod += 86400;
		days--;
	}
	tstime_civil_from_days(days, &y, &m, &d);
	if (us != 0)
		snprintf(buf, len, "%04lld-%02d-%02dT%02d:%02d:%02d.%06lldZ", (long long)y, m, d,
		         (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60), (long long)us);
	else
		snprintf(buf, len, "%04lld-%02d-%02dT%02d:%02d:%02dZ", (long long)y, m, d,
		         (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60));
}

/* The largest non-zero unit and the one below it when that is not zero: "3d4h", "12m5s". */
void
tstime_format_duration(int64_t us, char *buf, size_t len)
{
	static const struct tstime_unit units[] = {
	    {"d", TSTIME_DAY},      {"h", 3600 * TSTIME_SEC},
	    {"m", 60 * TSTIME_SEC}, {"s", TSTIME_SEC},
	    {"ms", 1000},           {"us", 1},
	};
	const size_t nunits = sizeof units / sizeof units[0];
	uint64_t v = us < 0 ? -(uint64_t)us : (uint64_t)us, a, b;
	const char *sign = us < 0 ? "-" : "";
	size_t i;

	if (v == 0) {
		snprintf(buf, len, "0s");
		return;
	}
	for (i = 0; i + 1 < nunits && v < (uint64_t)units[i].us; i++)
		;
	a = v / (uint64_t)units[i].us;
	if (i + 1 < nunits && (b = v % (uint64_t)units[i].us / (uint64_t)units[i + 1].us) != 0)
		snprintf(buf, len, "%s%llu%s%llu%s", sign, (unsigned long long)a, units[i].name,
		         (unsigned long long)b, units[i + 1].name);
	else
		snprintf(buf, len, "%s%llu%s", sign, (unsigned long long)a, units[i].name);
}

json_t *
tstime_json(tstime_t t)
{
	char buf[TSTIME_STRLEN];

	if (t == TSTIME_NONE)
		return json_null();
	tstime_format(t, buf, sizeof(buf));
	return json_string(buf);
}
