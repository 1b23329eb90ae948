/* check_hist_raw.c: unit tests for the devices answer read as bytes: one element at a time, the
 * bytes a current record was made from not parsed again, the same answers refused as before. */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fixture.h"
#include "hist-int.h"
#include "hist-raw.h"
#include "hist.h"
#include "store.h"
#include "tstime.h"

#define T0 ((tstime_t)1700000000 * TSTIME_SEC)
#define P(i) (T0 + (tstime_t)(i)*60 * TSTIME_SEC)

static const char *const TN = "raw.example.com";
static const struct hist_policy pol = {.mass_delete_percent = 50, .max_gap = 3600 * TSTIME_SEC};
static const char *dir;
static struct store *st;

static void
setup(void)
{
	dir = fixture_dir_new();
	st = fixture_store_open(dir, 256 << 20);
}

static void
teardown(void)
{
	store_close(st);
	st = NULL;
	fixture_dir_remove(dir);
}

/* Device N's element as the API might send it; TAG and SEEN vary it, SP spaces it out. */
static const char *
dev(int n, const char *tag, const char *seen, const char *sp)
{
	char *b = fixture_buf();

	snprintf(b, 4096,
	         "{\"id\":\"%d\",%s\"nodeId\":\"n%dCNTRL\",\"addresses\":[\"100.64.0.%d\"],"
	         "\"name\":\"d%d.example.ts.net\",\"hostname\":\"d%d\",\"os\":\"linux\","
	         "\"authorized\":true,\"isExternal\":false,\"keyExpiryDisabled\":true,"
	         "\"tags\":[\"%s\"],\"lastSeen\":\"%s\"}",
	         n, sp, n, n, n, n, tag, seen);
	return b;
}

/* {"devices":[...]} of the elements given (NULL-terminated), in a rotating buffer. */
static const char *
body(const char *first, ...)
{
	char *b = fixture_buf();
	const char *e;
	va_list ap;
	int i = 0;

	snprintf(b, 4096, "{\"devices\":[");
	va_start(ap, first);
	for (e = first; e != NULL; e = va_arg(ap, const char *))
		snprintf(b + strlen(b), 4096 - strlen(b), "%s%s", i++ ? "," : "", e);
	va_end(ap);
	snprintf(b + strlen(b), 4096 - strlen(b), "]}");
	return b;
}

static struct hist_poll_result
apply(tstime_t t, const char *text)
{
	struct hist_poll_result r;
	char *cause = NULL;

	memset(&r, 0xa5, sizeof(r));
	ck_assert_msg(hist_devices_apply_raw(st, TN, t, text, strlen(text), &pol, &r, &cause) == 0,
	              "apply: %s", cause);
	return r;
}

static char *
refused(tstime_t t, const char *text)
{
	struct hist_poll_result r;
	char *cause = NULL;

	ck_assert_int_eq(hist_devices_apply_raw(st, TN, t, text, strlen(text), &pol, &r, &cause),
	                 -1);
	ck_assert_ptr_nonnull(cause);
	return cause;
}

/* The devices now, without the time of the last poll. */
static char *
listed(void)
{
	char *out = NULL, *cause = NULL, *devs;
	size_t len;

	ck_assert_msg(hist_devices_list(st, TN, TSTIME_NONE, &out, &len, &cause) == 0, "%s", cause);
	devs = strstr(out, "\"devices\":");
	ck_assert_ptr_nonnull(devs);
	memmove(out, devs, strlen(devs) + 1);
	return out;
}

START_TEST(test_same_bytes)
{
	const char *a = dev(1, "tag:a", "2026-01-01T00:00:00Z", ""),
	           *b = dev(2, "tag:b", "2026-01-01T00:00:00Z", "");
	struct hist_poll_result r = apply(P(0), body(a, b, NULL));
	char *l0, *l1;

	ck_assert_uint_eq(r.created, 2);
	ck_assert_uint_eq(r.unparsed, 0);
	l0 = listed();
	/* The same bytes: nothing parsed, nothing recorded but the poll. */
	r = apply(P(1), body(a, b, NULL));
	ck_assert_uint_eq(r.seen, 2);
	ck_assert_uint_eq(r.unparsed, 2);
	ck_assert_uint_eq(r.created + r.changed + r.deleted + r.vol_updates + r.events, 0);
	/* The same elements in another order: a new body, each element known. */
	r = apply(P(2), body(b, a, NULL));
	ck_assert_uint_eq(r.unparsed, 2);
	ck_assert_uint_eq(r.created + r.changed + r.deleted + r.vol_updates + r.events, 0);
	l1 = listed();
	ck_assert_str_eq(l1, l0);
	free(l0);
	free(l1);
}
END_TEST

START_TEST(test_spaced_and_changed)
{
	const char *a = dev(1, "tag:a", "2026-01-01T00:00:00Z", ""),
	           *b = dev(2, "tag:b", "2026-01-01T00:00:00Z", "");
	const char *b_sp = dev(2, "tag:b", "2026-01-01T00:00:00Z", " ");
	struct hist_poll_result r;

	apply(P(0), body(a, b, NULL));
	/* White space alone: parsed, no change, its new hash kept. */
	r = apply(P(1), body(a, b_sp, NULL));
	ck_assert_uint_eq(r.unparsed, 1);
	ck_assert_uint_eq(r.created + r.changed + r.deleted + r.vol_updates, 0);
	r = apply(P(2), body(a, b_sp, NULL));
	ck_assert_uint_eq(r.unparsed, 2);
	/* A volatile field: current state only. */
	r = apply(P(3), body(a, dev(2, "tag:b", "2026-01-02T00:00:00Z", ""), NULL));
	ck_assert_uint_eq(r.unparsed, 1);
	ck_assert_uint_eq(r.vol_updates, 1);
	ck_assert_uint_eq(r.changed, 0);
	/* A stable field: a version. */
	r = apply(P(4), body(a, dev(2, "tag:c", "2026-01-02T00:00:00Z", ""), NULL));
	ck_assert_uint_eq(r.unparsed, 1);
	ck_assert_uint_eq(r.changed, 1);
	/* Back to bytes seen long ago: compared with the current record, a change again. */
	r = apply(P(5), body(a, b, NULL));
	ck_assert_uint_eq(r.unparsed, 1);
	ck_assert_uint_eq(r.changed, 1);
	ck_assert_uint_eq(r.vol_updates, 0);
	/* A volatile move keeps the new hash: the same bytes again are not parsed. */
	b = dev(2, "tag:b", "2026-01-03T00:00:00Z", "");
	r = apply(P(6), body(a, b, NULL));
	ck_assert_uint_eq(r.vol_updates, 1);
	ck_assert_uint_eq(r.unparsed, 1);
	r = apply(P(7), body(a, b, NULL));
	ck_assert_uint_eq(r.created + r.changed + r.deleted + r.vol_updates, 0);
	ck_assert_uint_eq(r.unparsed, 2);
}
END_TEST

START_TEST(test_refused_as_before)
{
	const char *a = dev(1, "tag:a", "2026-01-01T00:00:00Z", "");
	const char *good = body(a, NULL);
	char *l0, *l1, *cause;
	static const char *const bad[] = {
	    "",
	    "[]",
	    "{\"devices\":{}}",
	    "{\"nodevices\":[]}",
	    /* jansson refuses these outside the list; so does the scan. */
	    "{\"devices\":[],\"x\":1,\"x\":2}",
	    "{\"devices\":[],\"x\":123456789012345678901234567890}",
	    "{\"devices\":[],\"x\":1e999}",
	    "{\"devices\":[]",
	    "{\"devices\":[],\"devices\":[]}",
	    /* Inside an element. */
	    "{\"devices\":[{\"nodeId\":\"n1CNTRL\",\"nodeId\":\"n1CNTRL\"}]}",
	    "{\"devices\":[{\"nodeId\":\"n1CNTRL\",\"x\":123456789012345678901234567890}]}",
	    "{\"devices\":[1]}",
	    "{\"devices\":[{\"nodeId\":\"n1CNTRL\"}]}",
	};

	apply(P(0), good);
	l0 = listed();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cause = refused(P(1 + (tstime_t)i), bad[i]);
		free(cause);
	}
	/* A known element next to a broken one: the whole answer is refused. */
	cause = refused(P(20), body(a, "{\"nodeId\":\"n9CNTRL\"}", NULL));
	ck_assert_msg(strstr(cause, "device 2") != NULL, "%s", cause);
	free(cause);
	l1 = listed();
	ck_assert_str_eq(l1, l0);
	free(l0);
	free(l1);
	/* null is an empty list, and then a mass disappearance is held. */
	apply(P(30), "{\"devices\":null}");
	ck_assert_int_eq(apply(P(31), good).unparsed, 1);
}
END_TEST

/* A store some other writer (an older tsinvd) polled in between: no raw record is trusted. */
static int
forget_txn(struct store_txn *txn, void *arg, char **cause)
{
	struct hist_endpoint ep;
	int rc;

	(void)arg;
	if (hist_ep_read(txn, TN, "devices", &ep, cause) == -1)
		return -1;
	ep.raw_kept = 0;
	ep.raw[0] = '\0';
	rc = hist_ep_write(txn, TN, "devices", &ep, cause);
	hist_endpoint_free(&ep);
	return rc;
}

START_TEST(test_untrusted)
{
	const char *a = dev(1, "tag:a", "2026-01-01T00:00:00Z", ""),
	           *b = dev(2, "tag:b", "2026-01-01T00:00:00Z", "");
	struct hist_poll_result r;
	char *cause = NULL;

	apply(P(0), body(a, b, NULL));
	ck_assert_uint_eq(apply(P(1), body(a, b, NULL)).unparsed, 2);
	ck_assert_int_eq(store_write(st, forget_txn, NULL, &cause), 0);
	r = apply(P(2), body(a, b, NULL));
	ck_assert_uint_eq(r.unparsed, 0);
	ck_assert_uint_eq(r.created + r.changed + r.deleted + r.vol_updates, 0);
	ck_assert_uint_eq(apply(P(3), body(a, b, NULL)).unparsed, 2);
}
END_TEST

/* Two devices with the same bytes are one device listed twice: the first is kept. */
START_TEST(test_listed_twice)
{
	const char *a = dev(1, "tag:a", "2026-01-01T00:00:00Z", ""),
	           *a2 = dev(1, "tag:z", "2026-01-01T00:00:00Z", "");
	struct hist_poll_result r;
	char *l;

	apply(P(0), body(a, NULL));
	r = apply(P(1), body(a2, a, NULL));
	ck_assert_uint_eq(r.seen, 1);
	ck_assert_uint_eq(r.changed, 1);
	l = listed();
	ck_assert_msg(strstr(l, "tag:z") != NULL, "%s", l);
	free(l);
	r = apply(P(2), body(a, a, NULL));
	ck_assert_uint_eq(r.seen, 1);
	ck_assert_uint_eq(r.changed, 1);
	r = apply(P(3), body(a, a, NULL));
	ck_assert_uint_eq(r.seen, 1);
	ck_assert_uint_eq(r.changed, 0);
}
END_TEST

/* Device N with updateAvailable UA, as fields=all lists it. */
static const char *
dev_ua(int n, int ua)
{
	char *b = fixture_buf();

	snprintf(b, 4096,
	         "{\"id\":\"%d\",\"nodeId\":\"n%dCNTRL\",\"addresses\":[\"100.64.0.%d\"],\"name\":"
	         "\"d%d\","
	         "\"hostname\":\"d%d\",\"os\":\"linux\",\"authorized\":true,\"isExternal\":false,"
	         "\"keyExpiryDisabled\":true,\"updateAvailable\":%s}",
	         n, n, n, n, n, ua ? "true" : "false");
	return b;
}

/* Device ID's current record and open version as a release that kept updateAvailable with the
 * volatile fields wrote them, and no raw record of this release's (its hashes were salted
 * otherwise). */
static int
older_txn(struct store_txn *txn, void *arg, char **cause)
{
	const char *id = arg;
	struct hist_endpoint ep;
	struct store_key k;
	struct store_val v;
	struct hist_cur cr;
	json_t *stable, *vol;
	char *s, *o;
	uint8_t *enc, *ver;
	size_t len;
	int rc;

	hist_key_device(&k, TN, id);
	ck_assert_int_eq(store_get(txn, STORE_CUR, &k, &v, cause), 0);
	ck_assert_int_eq(hist_cur_decode(&v, &cr), 0);
	stable = json_loadb(cr.stable, cr.stable_len, 0, NULL);
	vol = json_loadb(cr.vol, cr.vol_len, 0, NULL);
	json_object_set(vol, "updateAvailable", json_object_get(stable, "updateAvailable"));
	json_object_del(stable, "updateAvailable");
	s = json_dumps(stable, JSON_COMPACT | JSON_SORT_KEYS);
	o = json_dumps(vol, JSON_COMPACT | JSON_SORT_KEYS);
	enc = hist_cur_encode(&cr.b, s, strlen(s), o, strlen(o), &len);
	rc = store_put(txn, STORE_CUR, &k, enc, len, cause);
	free(enc);
	ver = malloc(HIST_BOUNDS_LEN + strlen(s));
	hist_bounds_put(ver, &cr.b);
	memcpy(ver + HIST_BOUNDS_LEN, s, strlen(s));
	store_key_i64(&k, cr.b.from_hi);
	if (rc == 0)
		rc = store_put(txn, STORE_VER, &k, ver, HIST_BOUNDS_LEN + strlen(s), cause);
	free(ver);
	free(s);
	free(o);
	json_decref(stable);
	json_decref(vol);
	if (rc == 0)
		rc = hist_raw_clear(txn, TN, cause);
	if (rc == 0 && hist_ep_read(txn, TN, "devices", &ep, cause) == 0) {
		ep.raw[0] = '\0';
		rc = hist_ep_write(txn, TN, "devices", &ep, cause);
		hist_endpoint_free(&ep);
	}
	return rc;
}

static tstime_t
tparse(json_t *v)
{
	tstime_t t = TSTIME_NONE;

	ck_assert_int_eq(tstime_parse_rfc3339(json_string_value(v), &t), 0);
	return t;
}

/* The versions of device ID. */
static json_t *
versions(const char *id)
{
	json_t *out = NULL, *vs;
	char *cause = NULL;

	ck_assert_msg(hist_device_get(st, TN, id, TSTIME_NONE, 1, &out, &cause) == HIST_OK, "%s",
	              cause);
	vs = json_incref(json_object_get(out, "versions"));
	json_decref(out);
	ck_assert(json_is_array(vs));
	return vs;
}

/* updateAvailable is versioned: a flip is a change with its window and its event. A record an
 * earlier release wrote (the value in its volatile part) takes the value at the first poll
 * after the upgrade as a new version marked adopted, firing nothing when the value is what
 * that release saw, and an event when it moved meanwhile. */
START_TEST(test_update_available)
{
	struct hist_poll_result r;
	char *cause = NULL;
	json_t *vs, *v;

	apply(P(0), body(dev_ua(1, 0), dev_ua(2, 0), NULL));
	r = apply(P(1), body(dev_ua(1, 1), dev_ua(2, 0), NULL));
	ck_assert_uint_eq(r.changed, 1);
	ck_assert_uint_eq(r.vol_updates, 0);
	ck_assert_uint_eq(r.events, 1);
	vs = versions("n1CNTRL");
	ck_assert_uint_eq(json_array_size(vs), 2);
	v = json_array_get(vs, 1);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(v, "changed"), 0)),
	                 "updateAvailable");
	ck_assert(json_is_true(json_object_get(json_object_get(v, "device"), "updateAvailable")));
	ck_assert_ptr_null(json_object_get(v, "adopted"));
	ck_assert_int_eq(tparse(json_object_get(v, "from_lo")), P(0));
	ck_assert_int_eq(tparse(json_object_get(v, "from_hi")), P(1));
	json_decref(vs);

	/* Both as an earlier release left them: n1 true, n2 false, in their volatile parts. */
	ck_assert_int_eq(store_write(st, older_txn, "n1CNTRL", &cause), 0);
	ck_assert_int_eq(store_write(st, older_txn, "n2CNTRL", &cause), 0);
	/* n1 unchanged: adopted, no event; n2 went true meanwhile: a change and its event. */
	r = apply(P(2), body(dev_ua(1, 1), dev_ua(2, 1), NULL));
	ck_assert_uint_eq(r.unparsed, 0);
	ck_assert_uint_eq(r.changed, 2);
	ck_assert_uint_eq(r.events, 1);
	vs = versions("n1CNTRL");
	ck_assert_uint_eq(json_array_size(vs), 3);
	ck_assert_ptr_null(
	    json_object_get(json_object_get(json_array_get(vs, 1), "device"), "updateAvailable"));
	ck_assert(json_is_true(json_object_get(json_array_get(vs, 2), "adopted")));
	json_decref(vs);
	vs = versions("n2CNTRL");
	ck_assert_uint_eq(json_array_size(vs), 2);
	ck_assert_ptr_null(json_object_get(json_array_get(vs, 1), "adopted"));
	json_decref(vs);
	/* From then on the same bytes are not parsed, and a flip is a change as any. */
	r = apply(P(3), body(dev_ua(1, 1), dev_ua(2, 1), NULL));
	ck_assert_uint_eq(r.unparsed, 2);
	ck_assert_uint_eq(r.changed + r.events, 0);
	r = apply(P(4), body(dev_ua(1, 0), dev_ua(2, 1), NULL));
	ck_assert_uint_eq(r.changed, 1);
	ck_assert_uint_eq(r.events, 1);
	vs = versions("n1CNTRL");
	ck_assert_uint_eq(json_array_size(vs), 4);
	ck_assert_ptr_null(json_object_get(json_array_get(vs, 3), "adopted"));
	json_decref(vs);
}
END_TEST

static Suite *
hist_raw_suite(void)
{
	Suite *s = suite_create("hist_raw");
	TCase *tc = tcase_create("raw");

	tcase_add_unchecked_fixture(tc, fixture_root_setup, fixture_root_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_same_bytes);
	tcase_add_test(tc, test_spaced_and_changed);
	tcase_add_test(tc, test_refused_as_before);
	tcase_add_test(tc, test_untrusted);
	tcase_add_test(tc, test_listed_twice);
	tcase_add_test(tc, test_update_available);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(hist_raw_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
