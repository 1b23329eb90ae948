/* check_checks_store.c: unit tests for the findings kept after polls (checks-store.c): the
 * baseline, check.failed and check.resolved with their bounds, disabled and re-enabled checks,
 * a failing step that takes the poll with it, the history, and a snapshot at a past time. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "checks-store.h"
#include "config.h"
#include "events.h"
#include "fixture.h"
#include "hist.h"
#include "store.h"
#include "tstime.h"

#define T0 ((tstime_t)1700000000 * TSTIME_SEC)
#define P(i) (T0 + (tstime_t)(i)*60 * TSTIME_SEC) /* poll i: one a minute */
#define UNAUTH "TSINV-DEV-005"

static const char *const TN = "example.com";
static struct hist_policy pol;
static struct config cf;
static struct config_tailnet tn;
static const char *dir;
static struct store *st;
static uint64_t seen; /* the last event seq a test has taken */

static void
setup(void)
{
	dir = fixture_dir_new();
	st = fixture_store_open(dir, 64 << 20);
	memset(&pol, 0, sizeof(pol));
	pol.mass_delete_percent = 50;
	pol.max_gap = 3600 * TSTIME_SEC;
	hist_policy_defaults(&pol);
	memset(&cf, 0, sizeof(cf));
	memset(&tn, 0, sizeof(tn));
	tn.name = (char *)TN;
	/* Only devices: the baseline comes with the first devices poll. */
	for (size_t i = 0; config_endpoint_names[i] != NULL; i++)
		if (strcmp(config_endpoint_names[i], "devices") == 0)
			tn.endpoints = 1u << i;
	cf.tailnets = &tn;
	cf.ntailnets = 1;
	checks_opts_init(&cf.checks);
	pol.after = checks_after_poll;
	pol.after_arg = &cf;
	seen = 0;
}

static void
teardown(void)
{
	store_close(st);
	st = NULL;
	fixture_dir_remove(dir);
}

/* Device N, authorised or not (a new reference). */
static json_t *
mkdev(int n, int authorized)
{
	char id[16], nid[16], name[32], v4[32];

	snprintf(id, sizeof(id), "%d", 50000 + n);
	snprintf(nid, sizeof(nid), "n%dCNTRL", n);
	snprintf(name, sizeof(name), "h%d.tail1234.ts.net", n);
	snprintf(v4, sizeof(v4), "100.64.0.%d", n);
	/* The members the API always sends (norm_members): a short device is a broken answer. */
	return json_pack(
	    "{s:s, s:s, s:s, s:s, s:[s], s:b, s:s, s:s, s:s, s:b, s:[], s:[], s:s, s:b}", "nodeId",
	    nid, "id", id, "name", name, "hostname", name, "addresses", v4, "authorized",
	    authorized, "user", "alice@example.com", "os", "linux", "created",
	    "2023-01-01T00:00:00Z", "keyExpiryDisabled", 0, "advertisedRoutes", "enabledRoutes",
	    "clientVersion", "1.56.1", "isExternal", 0);
}

/* A devices poll at T of device 1 (authorised or not) and device 2; 0 or -1. */
static int
poll(tstime_t t, int auth1, const char *host1)
{
	json_t *d1 = mkdev(1, auth1), *body;
	struct hist_poll_result r;
	char *cause = NULL;
	int rc;

	if (host1 != NULL)
		json_object_set_new(d1, "hostname", json_string(host1));
	body = json_pack("{s:[o, o]}", "devices", d1, mkdev(2, 1));
	rc = hist_devices_apply(st, TN, t, body, &pol, &r, &cause);
	json_decref(body);
	free(cause);
	return rc;
}

struct took {
	json_t *events;
};

static int
took_cb(uint64_t seq, const char *text, size_t len, void *arg)
{
	json_t *ev = json_loadb(text, len, 0, NULL);

	seen = seq;
	if (strncmp(json_string_value(json_object_get(ev, "type")) ?: "", "check.", 6) == 0)
		json_array_append(arg, ev);
	json_decref(ev);
	return 0;
}

/* The check.* events recorded since the last call (a new reference). */
static json_t *
take(void)
{
	json_t *list = json_array();
	char *cause = NULL;

	ck_assert_msg(event_scan(st, seen, 0, took_cb, list, &cause) == 0, "scan: %s", cause);
	return list;
}

static const char *
s_of(json_t *ev, const char *key)
{
	return json_string_value(json_object_get(ev, key)) ?: "";
}

START_TEST(test_baseline_failed_resolved)
{
	json_t *ev, *e;

	/* The first evaluation: one summary, whatever it found. */
	ck_assert_int_eq(poll(P(0), 1, NULL), 0);
	ev = take();
	ck_assert_uint_eq(json_array_size(ev), 1);
	e = json_array_get(ev, 0);
	ck_assert_str_eq(s_of(e, "type"), "check.baseline");
	ck_assert(json_is_true(json_object_get(e, "first")));
	ck_assert_int_eq(json_integer_value(json_object_get(e, "checks")),
	                 CHECK_COUNT - json_integer_value(json_object_get(e, "unknown")));
	json_decref(ev);

	/* Nothing changed: nothing evaluated, nothing recorded. */
	ck_assert_int_eq(poll(P(1), 1, NULL), 0);
	ev = take();
	ck_assert_uint_eq(json_array_size(ev), 0);
	json_decref(ev);

	/* Device 1 de-authorised: one check.failed, bounded by the polls around the change. */
	ck_assert_int_eq(poll(P(2), 0, NULL), 0);
	ev = take();
	ck_assert_uint_eq(json_array_size(ev), 1);
	e = json_array_get(ev, 0);
	ck_assert_str_eq(s_of(e, "type"), "check.failed");
	ck_assert_str_eq(s_of(json_object_get(e, "entity"), "id"), UNAUTH);
	ck_assert_str_eq(s_of(json_object_get(e, "subject"), "id"), "n1CNTRL");
	ck_assert_str_eq(s_of(e, "from_lo"), fixture_ts(P(1)));
	ck_assert_str_eq(s_of(e, "from_hi"), fixture_ts(P(2)));
	json_decref(ev);

	/* Another change while it holds: no event. */
	ck_assert_int_eq(poll(P(3), 0, "renamed"), 0);
	ev = take();
	ck_assert_uint_eq(json_array_size(ev), 0);
	json_decref(ev);

	/* Authorised again: one check.resolved carrying the whole interval. */
	ck_assert_int_eq(poll(P(4), 1, "renamed"), 0);
	ev = take();
	ck_assert_uint_eq(json_array_size(ev), 1);
	e = json_array_get(ev, 0);
	ck_assert_str_eq(s_of(e, "type"), "check.resolved");
	ck_assert_str_eq(s_of(e, "from_hi"), fixture_ts(P(2)));
	ck_assert_str_eq(s_of(e, "to_lo"), fixture_ts(P(3)));
	ck_assert_str_eq(s_of(e, "to_hi"), fixture_ts(P(4)));
	json_decref(ev);
}
END_TEST

START_TEST(test_history_and_past)
{
	struct store_txn *txn;
	struct checks_view v;
	char *cause = NULL;
	json_t *h, *iv, *run, *r;
	size_t i;
	int found = 0;

	ck_assert_int_eq(poll(P(0), 1, NULL), 0);
	ck_assert_int_eq(poll(P(1), 0, NULL), 0);
	ck_assert_int_eq(poll(P(2), 1, NULL), 0);
	ck_assert_int_eq(poll(P(3), 0, NULL), 0);
	ck_assert_msg(checks_history(st, TN, UNAUTH, &h, &cause) == 0, "history: %s", cause);
	ck_assert_str_eq(s_of(h, "baseline"), fixture_ts(P(0)));
	ck_assert_uint_eq(json_array_size(json_object_get(h, "intervals")), 2);
	iv = json_array_get(json_object_get(h, "intervals"), 0);
	ck_assert(json_is_false(json_object_get(iv, "open")));
	ck_assert_str_eq(s_of(iv, "from_hi"), fixture_ts(P(1)));
	ck_assert_str_eq(s_of(iv, "to_hi"), fixture_ts(P(2)));
	iv = json_array_get(json_object_get(h, "intervals"), 1);
	ck_assert(json_is_true(json_object_get(iv, "open")));
	ck_assert_str_eq(s_of(iv, "from_hi"), fixture_ts(P(3)));
	json_decref(h);

	/* At P(2) + 30 s device 1 was authorised; at P(1) + 30 s it was not. */
	for (int k = 1; k <= 2; k++) {
		ck_assert_int_eq(store_read_begin(st, &txn, &cause), 0);
		ck_assert_msg(checks_view_load(txn, TN, P(k) + 30 * TSTIME_SEC, P(9), &v, &cause) ==
		                  0,
		              "view: %s", cause);
		run = checks_run(&v.snap, &cf.checks);
		checks_view_free(&v);
		store_read_end(txn);
		found = 0;
		json_array_foreach(json_object_get(run, "findings"), i, r)
		{
			found += strcmp(s_of(r, "check"), UNAUTH) == 0;
		}
		ck_assert_int_eq(found, k == 1);
		json_decref(run);
	}

	/* Before the first poll: every check unknown, none passes. */
	ck_assert_int_eq(store_read_begin(st, &txn, &cause), 0);
	ck_assert_int_eq(checks_view_load(txn, TN, P(-10), P(9), &v, &cause), 0);
	run = checks_run(&v.snap, &cf.checks);
	checks_view_free(&v);
	store_read_end(txn);
	json_array_foreach(json_object_get(run, "results"), i, r)
	{
		ck_assert_str_eq(s_of(r, "status"), "unknown");
	}
	json_decref(run);
}
END_TEST

START_TEST(test_disable_and_enable)
{
	json_t *ev, *e;
	size_t idx = (size_t)(check_find(UNAUTH) - check_table);

	ck_assert_int_eq(poll(P(0), 0, NULL), 0);
	json_decref(take());
	/* Disabled: its findings are dropped quietly, its changes make no event. */
	cf.checks.disabled[idx] = true;
	ck_assert_int_eq(poll(P(1), 1, NULL), 0);
	ev = take();
	ck_assert_uint_eq(json_array_size(ev), 0);
	json_decref(ev);
	ck_assert_int_eq(poll(P(2), 0, NULL), 0);
	ev = take();
	ck_assert_uint_eq(json_array_size(ev), 0);
	json_decref(ev);
	/* Enabled again: what it finds is adopted as a baseline of its own, not a failure. */
	cf.checks.disabled[idx] = false;
	ck_assert_int_eq(poll(P(3), 0, "renamed"), 0);
	ev = take();
	ck_assert_uint_eq(json_array_size(ev), 1);
	e = json_array_get(ev, 0);
	ck_assert_str_eq(s_of(e, "type"), "check.baseline");
	ck_assert(json_is_false(json_object_get(e, "first")));
	ck_assert_int_eq(json_integer_value(json_object_get(e, "checks")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(e, "findings")), 1);
	json_decref(ev);
	/* And it is tracked from then on. */
	ck_assert_int_eq(poll(P(4), 1, "renamed"), 0);
	ev = take();
	ck_assert_uint_eq(json_array_size(ev), 1);
	e = json_array_get(ev, 0);
	ck_assert_str_eq(s_of(e, "type"), "check.resolved");
	ck_assert(json_is_true(json_object_get(e, "before_baseline")));
	json_decref(ev);
	/* record = no: nothing more. */
	cf.checks.record = false;
	ck_assert_int_eq(poll(P(5), 0, "renamed"), 0);
	ev = take();
	ck_assert_uint_eq(json_array_size(ev), 0);
	json_decref(ev);
}
END_TEST

static int
fail_after(struct store_txn *txn, const char *tailnet, tstime_t prev_ok, tstime_t t, int changed,
           void *arg, size_t *events, char **cause)
{
	(void)txn, (void)tailnet, (void)prev_ok, (void)t, (void)changed, (void)arg, (void)events;
	*cause = strdup("refused");
	return -1;
}

START_TEST(test_step_fails_poll_fails)
{
	struct hist_endpoint ep;
	char *cause = NULL;

	ck_assert_int_eq(poll(P(0), 1, NULL), 0);
	pol.after = fail_after;
	ck_assert_int_eq(poll(P(1), 0, NULL), -1);
	ck_assert_int_eq(hist_endpoint_get(st, TN, "devices", &ep, &cause), 0);
	/* The poll's change and its state went with the step. */
	ck_assert(ep.last_ok == P(0));
	hist_endpoint_free(&ep);
}
END_TEST

static Suite *
checks_store_suite(void)
{
	Suite *s = suite_create("checks_store");
	TCase *tc = tcase_create("kept");

	tcase_add_unchecked_fixture(tc, fixture_root_setup, fixture_root_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_baseline_failed_resolved);
	tcase_add_test(tc, test_history_and_past);
	tcase_add_test(tc, test_disable_and_enable);
	tcase_add_test(tc, test_step_fails_poll_fails);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(checks_store_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
