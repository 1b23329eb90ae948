/* check_checks.c: unit tests of the compliance catalogue, its options and every check. */
#include <check.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checks.h"
#include "checks_fixture.h"
#include "hujson.h"

TCase *checks_corpus_tcase(void);

/* Ids are "TSINV-<GROUP>-NNN", numbered from 001 without gaps within a group, in table order. */
START_TEST(test_table)
{
	size_t per[CHECK_NGROUPS] = {0};

	ck_assert_int_ge(CHECK_COUNT, 40);
	for (size_t i = 0; i < CHECK_COUNT; i++) {
		const struct check *c = &check_table[i];
		char want[32];

		per[c->group]++;
		snprintf(want, sizeof want, "TSINV-%s-%03zu", check_group_names[c->group],
		         per[c->group]);
		ck_assert_str_eq(c->id, want);
		ck_assert_ptr_eq(check_find(c->id), c);
		ck_assert(i == 0 || c->group >= check_table[i - 1].group);
		ck_assert_uint_gt(strlen(c->title), 0);
		ck_assert_uint_gt(strlen(c->rationale), 0);
		ck_assert_uint_gt(strlen(c->remediation), 0);
		ck_assert_msg(c->kb[0] == '\0' ||
		                  strncmp(c->kb, "https://tailscale.com/kb/", 25) == 0,
		              "%s: %s", c->id, c->kb);
	}
	for (int g = 0; g < CHECK_NGROUPS; g++)
		ck_assert_uint_gt(per[g], 0);
	ck_assert_ptr_null(check_find("TSINV-ACL-999"));
}
END_TEST

START_TEST(test_severity_and_match)
{
	enum check_severity s;

	ck_assert_int_eq(check_severity_parse("critical", &s), 0);
	ck_assert_int_eq(s, CHECK_CRITICAL);
	ck_assert_int_eq(check_severity_parse("info", &s), 0);
	ck_assert_int_eq(s, CHECK_INFO);
	ck_assert_int_eq(check_severity_parse("High", &s), -1);
	ck_assert(check_match(check_find("TSINV-SSH-002"), "TSINV-SSH-*"));
	ck_assert(check_match(check_find("TSINV-SSH-002"), "TSINV-SSH-002"));
	ck_assert(!check_match(check_find("TSINV-SSH-002"), "TSINV-ACL-*"));
}
END_TEST

/* Fails unless a check's status in a run is want. */
static void
assert_status(json_t *run, const char *id, const char *want, const char *what)
{
	json_t *w = json_string(want);

	checks_fixture_same(json_object_get(checks_fixture_result(run, id), "status"), w, what);
	json_decref(w);
}

/* New reference: a JSON array of strings, sorted. */
static json_t *
sorted(json_t *arr)
{
	json_t *out = json_array(), *v;
	size_t i, j, n = json_array_size(arr);
	const char **s = calloc(n + 1, sizeof(*s));

	json_array_foreach(arr, i, v) s[i] = json_string_value(v);
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && strcmp(s[j - 1], s[j]) > 0; j--) {
			const char *t = s[j];
			s[j] = s[j - 1];
			s[j - 1] = t;
		}
	for (i = 0; i < n; i++)
		json_array_append_new(out, json_string(s[i]));
	free(s);
	return out;
}

/* Every check has a fixture, tests/data/checks/ID.json, with a snapshot it passes, one it fails,
 * and the entities the failing one names. */
START_TEST(test_check_fixture)
{
	const struct check *c = &check_table[_i];
	struct check_snapshot snap;
	struct check_opts opts;
	json_t *fx, *run, *got, *want;
	char path[512], what[128];

	snprintf(path, sizeof path, "%s/checks/%s.json", TESTDATA, c->id);
	fx = checks_fixture_load(path);
	checks_opts_init(&opts);

	checks_fixture_snapshot(json_object_get(fx, "pass"), &snap);
	run = checks_run(&snap, &opts);
	snprintf(what, sizeof what, "%s passing fixture", c->id);
	assert_status(run, c->id, "pass", what);
	got = checks_fixture_entities(run, c->id);
	ck_assert_uint_eq(json_array_size(got), 0);
	json_decref(got);
	json_decref(run);

	checks_fixture_snapshot(json_object_get(fx, "fail"), &snap);
	run = checks_run(&snap, &opts);
	snprintf(what, sizeof what, "%s failing fixture", c->id);
	assert_status(run, c->id, "fail", what);
	got = checks_fixture_entities(run, c->id);
	want = sorted(json_object_get(fx, "expect"));
	checks_fixture_same(got, want, what);
	json_decref(want);
	json_decref(got);
	json_decref(run);
	json_decref(fx);
}
END_TEST

/* Nothing known: every check says unknown and names what it lacked; none passes. */
START_TEST(test_nothing_known)
{
	struct check_snapshot snap = {.at = 1};
	struct check_opts opts;
	json_t *run, *r;
	size_t i;

	checks_opts_init(&opts);
	run = checks_run(&snap, &opts);
	ck_assert_uint_eq(json_array_size(json_object_get(run, "results")), CHECK_COUNT);
	json_array_foreach(json_object_get(run, "results"), i, r)
	{
		ck_assert_str_eq(json_string_value(json_object_get(r, "status")), "unknown");
		ck_assert_uint_gt(json_array_size(json_object_get(r, "missing")), 0);
	}
	ck_assert_int_eq(json_integer_value(json_object_get(run, "unknown")), CHECK_COUNT);
	ck_assert_uint_eq(json_array_size(json_object_get(run, "findings")), 0);
	json_decref(run);
}
END_TEST

/* A check that needs two parts and has one is unknown, and leaves no finding behind. */
START_TEST(test_partly_known)
{
	struct check_snapshot snap;
	struct check_opts opts;
	json_t *fx, *run, *r;

	fx = checks_fixture_load(TESTDATA "/checks/TSINV-USER-001.json");
	checks_fixture_snapshot(json_object_get(fx, "fail"), &snap);
	snap.devices = NULL;
	checks_opts_init(&opts);
	run = checks_run(&snap, &opts);
	r = checks_fixture_result(run, "TSINV-USER-001");
	ck_assert_str_eq(json_string_value(json_object_get(r, "status")), "unknown");
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(r, "missing"), 0)),
	                 "devices");
	r = checks_fixture_result(run, "TSINV-USER-004");
	ck_assert_str_eq(json_string_value(json_object_get(r, "status")), "pass");
	json_decref(run);
	json_decref(fx);
}
END_TEST

/* Devices without their volatile state (a past moment: the daemon keeps only the latest) leave
 * the checks of lastSeen and updateAvailable unknown, and the others as they were. */
START_TEST(test_no_volatile)
{
	struct check_snapshot snap;
	struct check_opts opts;
	json_t *fx, *run, *e;
	size_t i;

	fx = checks_fixture_load(TESTDATA "/checks/TSINV-DEV-004.json");
	checks_fixture_snapshot(json_object_get(fx, "fail"), &snap);
	json_array_foreach(snap.devices, i, e) json_object_del(e, "volatile");
	checks_opts_init(&opts);
	run = checks_run(&snap, &opts);
	assert_status(run, "TSINV-DEV-004", "unknown", "DEV-004 without volatile state");
	assert_status(run, "TSINV-DEV-008", "unknown", "DEV-008 without volatile state");
	assert_status(run, "TSINV-DEV-005", "pass", "DEV-005 without volatile state");
	ck_assert_str_eq(
	    json_string_value(json_array_get(
	        json_object_get(checks_fixture_result(run, "TSINV-DEV-004"), "missing"), 0)),
	    "device_volatile");
	json_decref(run);
	json_decref(fx);
}
END_TEST

/* A daemon answer about a moment it did not cover gives no part, so the checks say unknown. */
START_TEST(test_snapshot_part)
{
	json_t *covered = json_loads("{\"coverage\":\"covered\",\"devices\":[]}", 0, NULL);
	json_t *unknown = json_loads("{\"coverage\":\"unknown\",\"reason\":\"before the first "
	                             "successful poll\",\"devices\":[]}",
	                             0, NULL);
	json_t *bare = json_loads("{\"devices\":[]}", 0, NULL);

	ck_assert_ptr_eq(checks_snapshot_part(covered, "devices"),
	                 json_object_get(covered, "devices"));
	ck_assert_ptr_null(checks_snapshot_part(unknown, "devices"));
	ck_assert_ptr_null(checks_snapshot_part(bare, "devices"));
	ck_assert_ptr_null(checks_snapshot_part(covered, "keys"));
	json_decref(covered);
	json_decref(unknown);
	json_decref(bare);
}
END_TEST

/* The simulator's full scenario, as the real daemon answered devices.list, keys.list, users.list,
 * settings.get, dns.get, webhooks.list and policy.get (tests/data/checks/tssim-full.json): the
 * shapes the checks read are the daemon's own. Every finding, in table order
 * (CHECKS_TSSIM_PRINT=1 prints them as they now are, to review and paste). */
static const char *const tssim_expected[] = {
    "TSINV-ACL-008 rule/grants[0]",
    "TSINV-ACL-011 rule/acls[1]",
    "TSINV-SSH-001 rule/ssh[0]",
    "TSINV-SSH-005 policy/policy",
    "TSINV-AUTH-001 key/kE4pmC9tLsCNTRL",
    "TSINV-AUTH-001 key/kR7nqB2vXwCNTRL",
    "TSINV-AUTH-002 key/kE4pmC9tLsCNTRL",
    "TSINV-AUTH-002 key/kO1sgL5dHjCNTRL",
    "TSINV-AUTH-002 key/kR7nqB2vXwCNTRL",
    "TSINV-AUTH-002 key/kT8ocR1aWbCNTRL",
    "TSINV-AUTH-003 key/kE4pmC9tLsCNTRL",
    "TSINV-AUTH-003 key/kR7nqB2vXwCNTRL",
    "TSINV-AUTH-003 key/kT8ocR1aWbCNTRL",
    "TSINV-AUTH-004 key/kR7nqB2vXwCNTRL",
    "TSINV-AUTH-005 key/kA9tkZ3rQmCNTRL",
    "TSINV-AUTH-005 key/kC3apDy8NfCNTRL",
    "TSINV-DEV-001 device/n7UpR4qCNTRL",
    "TSINV-DEV-001 device/nC4jT8wCNTRL",
    "TSINV-DEV-001 device/nR3tG9xCNTRL",
    "TSINV-DEV-006 device/nTESTJ30CNTRL",
    "TSINV-DEV-008 device/nKz8q2VCNTRL",
    "TSINV-DEV-008 device/nR3tG9xCNTRL",
    "TSINV-DEV-008 device/nW5mB1kCNTRL",
    "TSINV-DEV-009 device/nKz8q2VCNTRL",
    "TSINV-NET-002 device/nR3tG9xCNTRL",
    "TSINV-NET-003 device/nR3tG9xCNTRL",
    "TSINV-NET-005 device/n7UpR4qCNTRL",
    "TSINV-NET-005 device/nC4jT8wCNTRL",
    "TSINV-NET-005 device/nR3tG9xCNTRL",
    "TSINV-NET-006 tailnet/tailnet",
    "TSINV-USER-004 user/uD4veS8nCNTRL",
    "TSINV-USER-005 user/uF4nkR6tCNTRL",
    "TSINV-LOG-003 tailnet/tailnet",
    "TSINV-HIST-001 key/kR7nqB2vXwCNTRL",
    NULL,
};

START_TEST(test_daemon_answers)
{
	json_t *fx = checks_fixture_load(TESTDATA "/checks/tssim-full.json"), *run, *f;
	const char *text =
	    json_string_value(json_object_get(json_object_get(fx, "policy.get"), "text"));
	const char *at =
	    json_string_value(json_object_get(json_object_get(fx, "devices.list"), "as_of"));
	struct check_snapshot snap = {0};
	struct hujson_error herr;
	struct check_opts opts;
	char line[256];
	size_t i, n = 0;

	ck_assert_ptr_nonnull(text);
	ck_assert_int_eq(tstime_parse_rfc3339(at, &snap.at), 0);
	snap.policy = hujson_parse(text, strlen(text), &herr);
	snap.devices = checks_snapshot_part(json_object_get(fx, "devices.list"), "devices");
	snap.keys = checks_snapshot_part(json_object_get(fx, "keys.list"), "keys");
	snap.users = checks_snapshot_part(json_object_get(fx, "users.list"), "users");
	snap.settings = checks_snapshot_part(json_object_get(fx, "settings.get"), "settings");
	snap.dns = checks_snapshot_part(json_object_get(fx, "dns.get"), "dns");
	snap.webhooks = checks_snapshot_part(json_object_get(fx, "webhooks.list"), "webhooks");
	ck_assert(snap.policy != NULL && snap.devices != NULL && snap.keys != NULL &&
	          snap.users != NULL && snap.settings != NULL && snap.dns != NULL &&
	          snap.webhooks != NULL);
	checks_opts_init(&opts);
	run = checks_run(&snap, &opts);
	json_array_foreach(json_object_get(run, "findings"), i, f)
	{
		json_t *e = json_object_get(f, "entity");

		snprintf(line, sizeof line, "%s %s/%s",
		         json_string_value(json_object_get(f, "check")),
		         json_string_value(json_object_get(e, "kind")),
		         json_string_value(json_object_get(e, "id")));
		if (getenv("CHECKS_TSSIM_PRINT") != NULL)
			printf("    \"%s\",\n", line);
		ck_assert_msg(n < sizeof tssim_expected / sizeof tssim_expected[0] - 1,
		              "unexpected finding %s", line);
		ck_assert_str_eq(line, tssim_expected[n]);
		n++;
	}
	ck_assert_ptr_null(tssim_expected[n]);
	/* Without history, the HIST checks that need it are unknown; HIST-001 reads keys. */
	ck_assert_str_eq(json_string_value(json_object_get(
	                     checks_fixture_result(run, "TSINV-HIST-002"), "status")),
	                 "unknown");
	json_decref(run);
	json_decref(snap.policy);
	json_decref(fx);
}
END_TEST

/* A finding carries the check, severity, group, entity, detail and, when known, since. */
START_TEST(test_finding_shape)
{
	struct check_snapshot snap;
	struct check_opts opts;
	json_t *fx, *run, *f;

	fx = checks_fixture_load(TESTDATA "/checks/TSINV-DEV-004.json");
	checks_fixture_snapshot(json_object_get(fx, "fail"), &snap);
	checks_opts_init(&opts);
	run = checks_run(&snap, &opts);
	ck_assert_str_eq(json_string_value(json_object_get(run, "at")), "2026-12-01T00:00:00Z");
	ck_assert_uint_eq(json_array_size(json_object_get(run, "findings")), 1);
	f = json_array_get(json_object_get(run, "findings"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(f, "check")), "TSINV-DEV-004");
	ck_assert_str_eq(json_string_value(json_object_get(f, "severity")), "medium");
	ck_assert_str_eq(json_string_value(json_object_get(f, "group")), "DEV");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(f, "entity"), "name")),
	                 "na.tail1234.ts.net");
	ck_assert_str_eq(json_string_value(json_object_get(f, "detail")),
	                 "na.tail1234.ts.net last seen 61d ago");
	ck_assert_str_eq(json_string_value(json_object_get(f, "since")), "2026-10-01T00:00:00Z");
	ck_assert_int_eq(
	    json_integer_value(json_object_get(json_object_get(run, "counts"), "medium")), 1);
	json_decref(run);
	json_decref(fx);
}
END_TEST

START_TEST(test_options)
{
	struct check_opts o;
	char *cause = NULL;

	checks_opts_init(&o);
	ck_assert_int_eq(o.stale_after, 30 * 86400 * TSTIME_SEC);
	ck_assert_int_eq(o.key_max_age, 90 * 86400 * TSTIME_SEC);
	ck_assert_int_eq(o.minor_versions_behind, 4);
	ck_assert_int_eq(checks_option(&o, "stale_after", "14d", &cause), 0);
	ck_assert_int_eq(o.stale_after, 14 * 86400 * TSTIME_SEC);
	ck_assert_int_eq(checks_option(&o, "key_max_age", "30d", &cause), 0);
	ck_assert_int_eq(o.key_max_age, 30 * 86400 * TSTIME_SEC);
	ck_assert_int_eq(checks_option(&o, "minor_versions_behind", "2", &cause), 0);
	ck_assert_int_eq(o.minor_versions_behind, 2);
	ck_assert_int_eq(checks_option(&o, "disable", "TSINV-DNS-002, TSINV-NET-005", &cause), 0);
	ck_assert_int_eq(checks_option(&o, "disable", "TSINV-USER-004", &cause), 0);
	ck_assert(o.disabled[check_find("TSINV-DNS-002") - check_table]);
	ck_assert(o.disabled[check_find("TSINV-NET-005") - check_table]);
	ck_assert(o.disabled[check_find("TSINV-USER-004") - check_table]);
	ck_assert(!o.disabled[check_find("TSINV-DNS-001") - check_table]);
	ck_assert_int_eq(checks_option(&o, "severity.TSINV-DEV-004", "critical", &cause), 0);
	ck_assert_int_eq(o.severity[check_find("TSINV-DEV-004") - check_table], CHECK_CRITICAL);

	ck_assert_int_eq(checks_option(&o, "disable", "TSINV-DNS-001 TSINV-NOPE-001", &cause), -1);
	ck_assert_str_eq(cause, "disable: unknown check \"TSINV-NOPE-001\"");
	free(cause);
	ck_assert_int_eq(checks_option(&o, "severity.TSINV-NOPE-001", "high", &cause), -1);
	ck_assert_str_eq(cause, "severity.TSINV-NOPE-001: unknown check \"TSINV-NOPE-001\"");
	free(cause);
	ck_assert_int_eq(checks_option(&o, "severity.TSINV-DEV-004", "urgent", &cause), -1);
	ck_assert_str_eq(cause, "severity.TSINV-DEV-004: unknown severity \"urgent\" (critical, "
	                        "high, medium, low, info)");
	free(cause);
	ck_assert_int_eq(checks_option(&o, "stale_after", "soon", &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "stale_after: "));
	free(cause);
	ck_assert_int_eq(checks_option(&o, "stale_after", "0", &cause), -1);
	free(cause);
	ck_assert_int_eq(checks_option(&o, "max_admins", "-1", &cause), -1);
	ck_assert_str_eq(cause, "max_admins: \"-1\" is not a count");
	free(cause);
	ck_assert_int_eq(checks_option(&o, "stale", "30d", &cause), -1);
	ck_assert_str_eq(cause, "unknown option \"stale\"");
	free(cause);
}
END_TEST

/* Options change what the checks find: a threshold, a severity, a disabled check. */
START_TEST(test_options_apply)
{
	struct check_snapshot snap;
	struct check_opts o;
	json_t *fx, *run, *f;
	char *cause = NULL;

	fx = checks_fixture_load(TESTDATA "/checks/TSINV-DEV-004.json");
	checks_fixture_snapshot(json_object_get(fx, "fail"), &snap);
	checks_opts_init(&o);
	ck_assert_int_eq(checks_option(&o, "stale_after", "3d", &cause), 0);
	ck_assert_int_eq(checks_option(&o, "severity.TSINV-DEV-004", "high", &cause), 0);
	run = checks_run(&snap, &o);
	f = checks_fixture_entities(run, "TSINV-DEV-004");
	ck_assert_uint_eq(json_array_size(f), 2);
	json_decref(f);
	f = json_array_get(json_object_get(run, "findings"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(f, "severity")), "high");
	ck_assert_int_eq(
	    json_integer_value(json_object_get(json_object_get(run, "counts"), "high")), 2);
	json_decref(run);

	ck_assert_int_eq(checks_option(&o, "disable", "TSINV-DEV-004", &cause), 0);
	run = checks_run(&snap, &o);
	ck_assert_str_eq(json_string_value(json_object_get(
	                     checks_fixture_result(run, "TSINV-DEV-004"), "status")),
	                 "disabled");
	ck_assert_uint_eq(json_array_size(json_object_get(run, "findings")), 0);
	json_decref(run);
	json_decref(fx);
}
END_TEST

/* New reference: a file's text, or NULL when it cannot be read. */
static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	ck_assert_int_eq(fread(buf, 1, (size_t)n, f), n);
	fclose(f);
	return buf;
}

/* doc/tsinv-checks.7 is what the table generates ("make checks-man" rewrites it). */
START_TEST(test_man_page_current)
{
	struct sbuf sb = {0};
	char *want, *page = slurp(TOP_SRCDIR "/doc/tsinv-checks.7");

	ck_assert_msg(page != NULL, "doc/tsinv-checks.7 is missing");
	checks_man_page(&sb);
	want = sbuf_steal(&sb);
	ck_assert_msg(strcmp(page, want) == 0,
	              "doc/tsinv-checks.7 differs from lib/check-table.h: run \"make checks-man\"");
	free(want);
	free(page);
}
END_TEST

/* A line of the page as plain text: roff's "\\-", "\\e" and "\\&" undone. */
static void
unroff(const char *line, char *out, size_t len)
{
	size_t o = 0;

	for (const char *p = line; *p != '\0' && o < len - 1; p++) {
		if (p[0] == '\\' && p[1] == '-')
			out[o++] = *++p;
		else if (p[0] == '\\' && p[1] == 'e')
			out[o++] = '\\', p++;
		else if (p[0] == '\\' && p[1] == '&')
			p++;
		else
			out[o++] = *p;
	}
	out[o] = '\0';
}

/* Read back as a reader would: each ".B ID" line, then "(severity)", then the title, in table
 * order, and nothing else named like a check. */
START_TEST(test_man_page_lists_table)
{
	char *page = slurp(TOP_SRCDIR "/doc/tsinv-checks.7"), *line, *save = NULL;
	char text[512];
	size_t n = 0;

	ck_assert_ptr_nonnull(page);
	for (line = strtok_r(page, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		const struct check *c;

		if (strncmp(line, ".B TSINV\\-", 10) != 0)
			continue;
		ck_assert_uint_lt(n, CHECK_COUNT);
		c = &check_table[n++];
		unroff(line + 3, text, sizeof text);
		ck_assert_str_eq(text, c->id);
		line = strtok_r(NULL, "\n", &save);
		ck_assert_ptr_nonnull(line);
		snprintf(text, sizeof text, "(%s)", check_severity_names[c->severity]);
		ck_assert_str_eq(line, text);
		line = strtok_r(NULL, "\n", &save);
		ck_assert_ptr_nonnull(line);
		unroff(line, text, sizeof text);
		ck_assert_str_eq(text, c->title);
	}
	ck_assert_uint_eq(n, CHECK_COUNT);
	free(page);
}
END_TEST

static Suite *
checks_suite(void)
{
	Suite *s = suite_create("checks");
	TCase *tc = tcase_create("catalogue");

	tcase_add_test(tc, test_table);
	tcase_add_test(tc, test_severity_and_match);
	tcase_add_test(tc, test_options);
	tcase_add_test(tc, test_man_page_current);
	tcase_add_test(tc, test_man_page_lists_table);
	suite_add_tcase(s, tc);
	tc = tcase_create("evaluation");
	tcase_add_loop_test(tc, test_check_fixture, 0, CHECK_COUNT);
	tcase_add_test(tc, test_nothing_known);
	tcase_add_test(tc, test_partly_known);
	tcase_add_test(tc, test_snapshot_part);
	tcase_add_test(tc, test_no_volatile);
	tcase_add_test(tc, test_daemon_answers);
	tcase_add_test(tc, test_finding_shape);
	tcase_add_test(tc, test_options_apply);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, checks_corpus_tcase());
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(checks_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
