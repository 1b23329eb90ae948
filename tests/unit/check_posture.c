/* check_posture.c: unit tests for posture attributes: the shape check of an answer, the record
 * of each device's answer as versions, its events, a 404 ending a device's posture, and the
 * plan that asks one request per current device. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "entity.h"
#include "event-log.h"
#include "fixture.h"
#include "hist.h"
#include "store.h"
#include "tstime.h"

#define T0 ((tstime_t)1700000000 * TSTIME_SEC)
#define P(i) (T0 + (tstime_t)(i)*60 * TSTIME_SEC)

static const char *const TN = "posture.example.com";
static const struct hist_policy pol = {.mass_delete_percent = 50, .max_gap = 3600 * TSTIME_SEC};
static const char *dir;
static struct store *st;

static void
setup(void)
{
	dir = fixture_dir_new();
	st = fixture_store_open(dir, 64 << 20);
}

static void
teardown(void)
{
	store_close(st);
	st = NULL;
	fixture_dir_remove(dir);
}

/* Device N as the devices answer lists it. */
static json_t *
dev(int n)
{
	char id[32], a[32], name[32];

	snprintf(id, sizeof(id), "n%dCNTRL", n);
	snprintf(a, sizeof(a), "100.64.0.%d", n);
	snprintf(name, sizeof(name), "d%d", n);
	return json_pack("{s:s, s:s, s:[s], s:s, s:s, s:s, s:b, s:b, s:b}", "id", id + 1, "nodeId",
	                 id, "addresses", a, "name", name, "hostname", name, "os", "linux",
	                 "authorized", 1, "isExternal", 0, "keyExpiryDisabled", 1);
}

/* Records the devices (a NULL-terminated list of N) at T. */
static void
devices(tstime_t t, const int *ns)
{
	json_t *list = json_array(), *body;
	struct hist_poll_result r;
	char *cause = NULL;

	for (; *ns != 0; ns++)
		json_array_append_new(list, dev(*ns));
	body = json_pack("{s:o}", "devices", list);
	ck_assert_msg(hist_devices_apply(st, TN, t, body, &pol, &r, &cause) == 0, "%s", cause);
	json_decref(body);
}

/* One posture poll at T: IDS (JSON array of strings) answered BODIES (JSON array), GONE the
 * 404s. 0 or -1 (then *cause). */
static int
posture(tstime_t t, json_t *ids, json_t *bodies, json_t *gone, struct hist_poll_result *r,
        char **cause)
{
	struct endpoint_answer ans = {.fetched = bodies,
	                              .fetched_ids = ids,
	                              .gone = gone ? gone : json_array(),
	                              .denied = json_array()};
	int rc = entity_posture_answer(st, TN, t, &ans, &pol, r, cause);

	if (gone == NULL)
		json_decref(ans.gone);
	json_decref(ans.denied);
	return rc;
}

static json_t *
device_get(const char *id, tstime_t at)
{
	json_t *out = NULL;
	char *cause = NULL;

	ck_assert_msg(hist_device_get(st, TN, id, at, 1, &out, &cause) == HIST_OK, "%s", cause);
	return out;
}

START_TEST(test_record_shape)
{
	json_t *rec, *b;
	char *cause = NULL;

	b = json_loads("{\"attributes\":{\"custom:a\":1,\"node:os\":\"linux\",\"custom:b\":true},"
	               "\"expiries\":{\"custom:a\":\"2030-01-01T00:00:00Z\"},\"new\":1}",
	               0, NULL);
	rec = entity_posture_record(b, "n1", &cause);
	ck_assert_ptr_nonnull(rec);
	ck_assert_int_eq(json_integer_value(json_object_get(rec, "custom:a")), 1);
	ck_assert_str_eq(
	    json_string_value(json_object_get(json_object_get(rec, "expiries"), "custom:a")),
	    "2030-01-01T00:00:00Z");
	ck_assert_ptr_null(json_object_get(rec, "new"));
	json_decref(rec);
	json_decref(b);
	/* A Go nil map is no attribute at all; no expiries is none. */
	b = json_loads("{\"attributes\":null}", 0, NULL);
	rec = entity_posture_record(b, "n1", &cause);
	ck_assert_uint_eq(json_object_size(rec), 0);
	json_decref(rec);
	json_decref(b);
	static const char *const bad[] = {
	    "[]",
	    "{}",
	    "{\"message\":\"API token invalid\"}",
	    "{\"attributes\":\"x\"}",
	    "{\"attributes\":{\"custom:a\":[1]}}",
	    "{\"attributes\":{\"custom:a\":{}}}",
	    "{\"attributes\":{\"custom:a\":null}}",
	    "{\"attributes\":{\"expiries\":1}}",
	    "{\"attributes\":{},\"expiries\":[]}",
	    "{\"attributes\":{},\"expiries\":{\"custom:a\":5}}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		b = json_loads(bad[i], JSON_DECODE_ANY, NULL);
		ck_assert_ptr_nonnull(b);
		cause = NULL;
		ck_assert_msg(entity_posture_record(b, "n1", &cause) == NULL, "%s accepted",
		              bad[i]);
		ck_assert_msg(cause != NULL && strstr(cause, "device/n1/attributes") != NULL,
		              "%s: %s", bad[i], cause);
		free(cause);
		json_decref(b);
	}
}
END_TEST

START_TEST(test_versions_events)
{
	static const int both[] = {1, 2, 0}, one[] = {1, 0};
	struct hist_poll_result r;
	char *cause = NULL;
	json_t *ids, *bodies, *d, *pv;
	json_t *plan = NULL;
	uint64_t seq = 0;

	devices(P(0), both);
	/* The plan asks every current device. */
	ck_assert_int_eq(entity_posture_plan_answer(st, TN, NULL, &plan, &cause), 0);
	ck_assert_uint_eq(json_array_size(plan), 2);
	json_decref(plan);
	ids = json_pack("[s,s]", "n1CNTRL", "n2CNTRL");
	bodies = json_pack("[{s:{s:b}}, {s:{s:b}}]", "attributes", "custom:ok", 1, "attributes",
	                   "custom:ok", 1);
	ck_assert_int_eq(posture(P(1), ids, bodies, NULL, &r, &cause), 0);
	ck_assert_uint_eq(r.created, 2);
	ck_assert_uint_eq(r.events, 0);
	/* Unchanged: nothing. */
	ck_assert_int_eq(posture(P(2), ids, bodies, NULL, &r, &cause), 0);
	ck_assert_uint_eq(r.created + r.changed + r.deleted + r.events, 0);
	/* n1 no longer compliant: a version in (P2, P3], one event naming the attribute. */
	json_object_set_new(json_object_get(json_array_get(bodies, 0), "attributes"), "custom:ok",
	                    json_false());
	ck_assert_int_eq(event_last_seq(st, &seq, &cause), 0);
	ck_assert_int_eq(posture(P(3), ids, bodies, NULL, &r, &cause), 0);
	ck_assert_uint_eq(r.changed, 1);
	ck_assert_uint_eq(r.events, 1);
	d = device_get("n1CNTRL", TSTIME_NONE);
	pv = json_object_get(d, "posture_versions");
	ck_assert_uint_eq(json_array_size(pv), 2);
	ck_assert_str_eq(
	    json_string_value(json_array_get(json_object_get(json_array_get(pv, 1), "changed"), 0)),
	    "custom:ok");
	ck_assert(json_is_false(json_object_get(
	    json_object_get(json_object_get(d, "posture"), "attributes"), "custom:ok")));
	json_decref(d);
	/* At P2 it was still compliant. */
	d = device_get("n1CNTRL", P(2));
	ck_assert(json_is_true(json_object_get(
	    json_object_get(json_object_get(d, "posture"), "attributes"), "custom:ok")));
	json_decref(d);
	/* A wrong-shaped answer for one device records nothing for any. */
	json_object_set_new(json_array_get(bodies, 1), "attributes", json_string("x"));
	json_object_set_new(json_object_get(json_array_get(bodies, 0), "attributes"), "custom:ok",
	                    json_true());
	ck_assert_int_eq(posture(P(4), ids, bodies, NULL, &r, &cause), -1);
	free(cause);
	cause = NULL;
	d = device_get("n1CNTRL", TSTIME_NONE);
	ck_assert_uint_eq(json_array_size(json_object_get(d, "posture_versions")), 2);
	json_decref(d);
	/* n2 answered 404 (it left): no error, its posture ends; n1's goes on. */
	json_decref(ids);
	json_decref(bodies);
	devices(P(5), one);
	ids = json_pack("[s]", "n1CNTRL");
	bodies = json_pack("[{s:{s:b}}]", "attributes", "custom:ok", 0);
	json_t *gone = json_pack("[s]", "n2CNTRL");
	ck_assert_int_eq(posture(P(6), ids, bodies, gone, &r, &cause), 0);
	ck_assert_uint_eq(r.deleted, 1);
	ck_assert_uint_eq(r.events, 0);
	d = device_get("n2CNTRL", TSTIME_NONE);
	ck_assert(json_is_null(json_object_get(d, "posture")));
	json_decref(d);
	json_decref(gone);
	json_decref(ids);
	json_decref(bodies);
}
END_TEST

/* Answers and ids that do not pair up, and a 403, record nothing. */
START_TEST(test_refused)
{
	static const int both[] = {1, 2, 0};
	struct hist_poll_result r;
	char *cause = NULL;
	json_t *ids = json_pack("[s]", "n1CNTRL"), *bodies = json_pack("[]");
	struct endpoint_answer ans = {
	    .fetched = bodies, .fetched_ids = ids, .gone = bodies, .denied = ids};

	devices(P(0), both);
	ck_assert_int_eq(posture(P(1), ids, bodies, NULL, &r, &cause), -1);
	free(cause);
	cause = NULL;
	ck_assert_int_eq(entity_posture_answer(st, TN, P(2), &ans, &pol, &r, &cause), -1);
	ck_assert_msg(strstr(cause, "devices:posture_attributes:read") != NULL, "%s", cause);
	free(cause);
	json_decref(ids);
	json_decref(bodies);
}
END_TEST

static Suite *
posture_suite(void)
{
	Suite *s = suite_create("posture");
	TCase *tc = tcase_create("posture");

	tcase_add_unchecked_fixture(tc, fixture_root_setup, fixture_root_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_record_shape);
	tcase_add_test(tc, test_versions_events);
	tcase_add_test(tc, test_refused);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(posture_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
