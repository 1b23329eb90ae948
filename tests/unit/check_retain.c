/* check_retain.c: unit tests for retention: what ended before the horizon goes, in small
 * transactions; what is current or still needed stays; answers before it are unknown. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "addr.h"
#include "attrib.h"
#include "entity.h"
#include "event-log.h"
#include "fixture.h"
#include "hist.h"
#include "pin.h"
#include "retain.h"
#include "store.h"
#include "tstime.h"

#define SEC TSTIME_SEC
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define T0 ((tstime_t)1700000000 * TSTIME_SEC)
#define P(i) (T0 + (tstime_t)(i)*MIN) /* poll i: one a minute */

static const char *const TN = "example.com";
static const struct hist_policy pol = {.mass_delete_percent = 100, .max_gap = HOUR};

static const char *dir;
static struct store *st;

static void
check_retain_setup(void)
{
	dir = fixture_dir_new();
	st = fixture_store_open(dir, 64 << 20);
}

static void
check_retain_teardown(void)
{
	store_close(st);
	st = NULL;
	fixture_dir_remove(dir);
}

/* Device N with one IPv4 address, 100.64.0.A (a new reference). */
static json_t *
mkdev(int n, int a, const char *os)
{
	char name[64], host[32], id[16], nid[32], addr[32];

	snprintf(name, sizeof(name), "h%d.tail1234.ts.net", n);
	snprintf(host, sizeof(host), "h%d", n);
	snprintf(id, sizeof(id), "%d", 50000 + n);
	snprintf(nid, sizeof(nid), "n%dCNTRL", n);
	snprintf(addr, sizeof(addr), "100.64.0.%d", a);
	return json_pack("{s:s, s:s, s:s, s:s, s:[s], s:b, s:s, s:s, s:s, s:s, s:[], s:s, s:b, s:s,"
	                 " s:{s:[s], s:s}, s:b, s:b, s:b, s:b}",
	                 "nodeId", nid, "id", id, "name", name, "hostname", host, "addresses", addr,
	                 "authorized", 1, "user", "alice@example.com", "os", os, "created",
	                 "2023-01-01T00:00:00Z", "expires", "2024-06-01T00:00:00Z", "tags",
	                 "lastSeen", "2023-11-14T22:13:20Z", "connectedToControl", 1,
	                 "clientVersion", "1.56.1", "clientConnectivity", "endpoints",
	                 "192.0.2.1:41641", "derp", "fra", "multipleConnections", 0,
	                 "updateAvailable", 0, "keyExpiryDisabled", 0, "isExternal", 0);
}

/* A poll at T listing the devices given (stolen), NULL-terminated. */
static void
poll_at(tstime_t t, json_t *a, json_t *b)
{
	json_t *list = json_array(), *body;
	struct hist_poll_result r;
	char *cause = NULL;

	if (a != NULL)
		json_array_append_new(list, a);
	if (b != NULL)
		json_array_append_new(list, b);
	body = json_pack("{s:o}", "devices", list);
	ck_assert_msg(hist_devices_apply(st, TN, t, body, &pol, &r, &cause) == 0, "%s", cause);
	json_decref(body);
}

/* ip.at's answer and reason at AT: "answer|reason". */
static const char *
ipans(int a, tstime_t at)
{
	char ip[32], *b = fixture_buf(), *cause = NULL;
	struct tsaddr ad;
	json_t *out = NULL;

	snprintf(ip, sizeof(ip), "100.64.0.%d", a);
	ck_assert_int_eq(addr_parse(ip, &ad), 0);
	ck_assert_msg(hist_ip_at(st, TN, &ad, at, 0, &out, &cause) == HIST_OK, "%s", cause);
	snprintf(b, 4096, "%s|%s", json_string_value(json_object_get(out, "answer")),
	         json_string_value(json_object_get(out, "reason")) ?: "");
	json_decref(out);
	return b;
}

struct db_count {
	const char *name;
	uint64_t n;
};

static void
db_count_fn(void *arg, const char *db, uint64_t records, uint64_t bytes)
{
	struct db_count *c = arg;

	(void)bytes;
	if (strcmp(db, c->name) == 0)
		c->n = records;
}

/* How many records the db NAME holds. */
static uint64_t
db_records(const char *name)
{
	struct db_count c = {name, UINT64_MAX};
	char *cause = NULL;

	ck_assert_msg(store_db_stats(st, db_count_fn, &c, &cause) == 0, "%s", cause);
	ck_assert_msg(c.n != UINT64_MAX, "no db %s", name);
	return c.n;
}

static tstime_t
horizon(int64_t *retain)
{
	struct store_txn *txn;
	char *cause = NULL;
	tstime_t h;

	ck_assert_msg(store_read_begin(st, &txn, &cause) == 0, "%s", cause);
	h = retain_horizon(txn, TN, retain);
	store_read_end(txn);
	return h;
}

/* Polls P(0)..P(10): device 1 (100.64.0.1) changes at P(1) and P(7), device 2 (100.64.0.2)
 * goes at P(1). */
static void
history(void)
{
	poll_at(P(0), mkdev(1, 1, "linux"), mkdev(2, 2, "linux"));
	for (int i = 1; i <= 10; i++)
		poll_at(P(i), mkdev(1, 1, i < 7 ? "plan9" : "bsd"), NULL);
}

START_TEST(test_prune)
{
	struct retain_run r;
	uint64_t last = 0, vers, addrs, covers;
	char *cause = NULL, *gap;
	int steps = 0, rc;
	int64_t retain = 0;

	history();
	vers = db_records("ver");
	addrs = db_records("addr");
	covers = db_records("cover");
	ck_assert_uint_eq(vers, 4);
	ck_assert_uint_eq(addrs, 2);
	ck_assert_str_eq(ipans(2, P(0)), "held|");
	ck_assert_int_eq(event_last_seq(st, &last, &cause), 0);
	ck_assert_uint_gt(last, 1);
	ck_assert_ptr_null(retain_events_gap(st, 0, NULL));

	/* Horizon at P(5), two records a transaction: many small steps. */
	retain_run_init(&r, TN, 5 * MIN, P(10));
	while ((rc = retain_step(st, &r, 2, &cause)) == 1)
		steps++;
	ck_assert_msg(rc == 0, "%s", cause);
	ck_assert_int_gt(steps, 8);
	/* Device 1's first version and device 2's only one ended at P(1). */
	ck_assert_uint_eq(r.versions, 2);
	ck_assert_uint_eq(db_records("ver"), vers - 2);
	/* Device 2's address interval, and its names (no version of it is left). */
	ck_assert_uint_eq(r.intervals, 1);
	ck_assert_uint_eq(r.names, 2);
	ck_assert_uint_eq(db_records("addr"), addrs - 1);
	/* The poll log rows of P(0)..P(4). */
	ck_assert_uint_eq(r.cover, 5);
	ck_assert_uint_eq(db_records("cover"), covers - 5);
	/* Every event is older than the horizon, but the newest numbers the next: it stays. */
	ck_assert_uint_eq(r.events, last - 1);
	ck_assert_uint_eq(db_records("event"), 1);
	ck_assert_uint_eq(db_records("evtime"), 1);
	retain_run_free(&r);
	ck_assert_int_eq(horizon(&retain), P(5));
	ck_assert_int_eq(retain, 5 * MIN);

	/* Before the horizon: unknown (or a maybe for what is still kept), never none. */
	ck_assert_str_eq(
	    ipans(2, P(0)),
	    "unknown|before the retention horizon (2023-11-14T22:18:20Z, retain = 5m)");
	ck_assert_str_eq(
	    ipans(2, P(4)),
	    "unknown|before the retention horizon (2023-11-14T22:18:20Z, retain = 5m)");
	ck_assert_str_eq(ipans(1, P(0)),
	                 "maybe|before the retention horizon (2023-11-14T22:18:20Z, retain = 5m)");
	/* After it: as before the pruning. */
	ck_assert_str_eq(ipans(2, P(5)), "none|no device held it; polls cover that time");
	ck_assert_str_eq(ipans(2, P(8)), "none|no device held it; polls cover that time");
	ck_assert_str_eq(ipans(1, P(6)), "held|");
	ck_assert_str_eq(ipans(1, TSTIME_NONE), "held|");

	/* Readers of the event log behind the horizon are told. */
	gap = retain_events_gap(st, 0, NULL);
	ck_assert_ptr_nonnull(gap);
	ck_assert_msg(strstr(gap, "were pruned by retention (retain = 5m)") != NULL, "%s", gap);
	free(gap);
	ck_assert_ptr_null(retain_events_gap(st, last - 1, NULL));
	ck_assert_ptr_null(retain_events_gap(st, last, NULL));

	/* Again at the same horizon: nothing more goes. A longer retain later cannot move the
	 * horizon back: what is gone stays gone. */
	ck_assert_int_eq(retain_prune(st, TN, 5 * MIN, P(10), 100, &r, &cause), 0);
	ck_assert_uint_eq(r.versions + r.intervals + r.cover + r.events, 0);
	retain_run_free(&r);
	ck_assert_int_eq(retain_prune(st, TN, 24 * HOUR, P(10), 100, NULL, &cause), 0);
	ck_assert_int_eq(horizon(NULL), P(5));
}
END_TEST

/* A version that started before the horizon and ended after it, and what is open, stay. */
START_TEST(test_keeps_what_answers_need)
{
	char *cause = NULL;
	json_t *out = NULL;
	size_t n;

	history();
	/* Horizon at P(6): device 1's second version (P(1) to P(7)) ended after it. */
	ck_assert_int_eq(retain_prune(st, TN, 4 * MIN, P(10), 3, NULL, &cause), 0);
	ck_assert_uint_eq(db_records("ver"), 2);
	ck_assert_int_eq(hist_device_get(st, TN, "n1CNTRL", TSTIME_NONE, 1, &out, &cause), HIST_OK);
	n = json_array_size(json_object_get(out, "versions"));
	ck_assert_uint_eq(n, 2);
	json_decref(out);
	out = NULL;
	ck_assert_int_eq(hist_device_get(st, TN, "n1CNTRL", P(6), 0, &out, &cause), HIST_OK);
	ck_assert_str_eq(json_string_value(json_object_get(
	                     json_object_get(json_object_get(out, "current"), "device"), "os")),
	                 "plan9");
	json_decref(out);
	/* Each endpoint keeps its last poll log row. */
	ck_assert_int_eq(retain_prune(st, TN, MIN, P(11), 3, NULL, &cause), 0);
	ck_assert_uint_eq(db_records("cover"), 1);
	ck_assert_uint_eq(db_records("ver"), 1); /* the open one */
	ck_assert_uint_eq(db_records("addr"), 1);
	ck_assert_str_eq(ipans(1, TSTIME_NONE), "held|");
}
END_TEST

/* Another tailnet's history is not touched; events of a tailnet kept forever stop the pruning
 * of the shared log at them. */
START_TEST(test_tailnets_apart)
{
	struct hist_poll_result res;
	char *cause = NULL, *gap;
	json_t *body;

	history();
	body = json_pack("{s:[o]}", "devices", mkdev(3, 3, "linux"));
	ck_assert_int_eq(hist_devices_apply(st, "other.example", P(3), body, &pol, &res, &cause),
	                 0);
	json_decref(body);
	body = json_pack("{s:[]}", "devices");
	ck_assert_int_eq(hist_devices_apply(st, "other.example", P(4), body, &pol, &res, &cause),
	                 0);
	json_decref(body);
	/* other.example: one version and one interval, closed at P(4); its events at P(3), P(4). */
	ck_assert_int_eq(retain_prune(st, TN, MIN, P(10), 10, NULL, &cause), 0);
	ck_assert_uint_eq(db_records("ver"), 1 + 1);
	ck_assert_uint_eq(db_records("addr"), 1 + 1);
	/* The log's oldest events are example.com's, then other.example's (never pruned). */
	gap = retain_events_gap(st, 0, NULL);
	ck_assert_ptr_nonnull(gap);
	free(gap);
}
END_TEST

static void
policy_at(tstime_t t, const char *text)
{
	struct hist_poll_result r;
	char *cause = NULL;

	ck_assert_msg(
	    entity_policy_apply(st, TN, t, text, strlen(text), "\"etag\"", &pol, &r, &cause) == 0,
	    "%s", cause);
}

/* A policy text goes with the last version that refers to it, not before. */
START_TEST(test_policy_texts)
{
	struct retain_run r;
	char *cause = NULL;

	policy_at(P(0), "{\"acls\":[]}");
	policy_at(P(1), "{\"acls\":[],\"groups\":{}}");
	policy_at(P(2), "{\"acls\":[]}");
	policy_at(P(3), "{\"hosts\":{}}");
	ck_assert_uint_eq(db_records("blob"), 3);
	/* Horizon after P(2): the first two versions go; the first text is the third's too. */
	ck_assert_int_eq(retain_prune(st, TN, 30 * SEC, P(2) + MIN, 2, &r, &cause), 0);
	ck_assert_uint_eq(r.versions, 2);
	ck_assert_uint_eq(r.blobs, 1);
	retain_run_free(&r);
	ck_assert_uint_eq(db_records("blob"), 2);
	/* Then the third: its text is no one's now; the current one's stays. */
	ck_assert_int_eq(retain_prune(st, TN, 30 * SEC, P(3) + MIN, 2, &r, &cause), 0);
	ck_assert_uint_eq(r.versions, 1);
	ck_assert_uint_eq(r.blobs, 1);
	retain_run_free(&r);
	ck_assert_uint_eq(db_records("blob"), 1);
	ck_assert_uint_eq(db_records("ver"), 1);
}
END_TEST

/* A pin and an attribution of device N's change first seen at poll I. */
struct join_args {
	int n, i;
};

static int
join_put_txn(struct store_txn *txn, void *arg, char **cause)
{
	struct join_args *a = arg;
	struct store_key k;
	char nid[32];

	snprintf(nid, sizeof nid, "n%dCNTRL", a->n);
	if (pin_put(txn, TN, 'd', nid, P(a->i - 1), P(a->i), (int64_t)(P(a->i) - SEC) * 1000,
	            cause) == -1)
		return -1;
	store_key_init(&k);
	store_key_str(&k, TN);
	store_key_u8(&k, ATTRIB_KIND);
	store_key_str(&k, nid);
	store_key_u8(&k, 'd');
	store_key_i64(&k, P(a->i));
	return store_put(txn, STORE_CUR, &k, "{\"state\":\"attributed\"}", 22, cause);
}

static void
join_put(int n, int i)
{
	struct join_args a = {n, i};
	char *cause = NULL;

	ck_assert_msg(store_write(st, join_put_txn, &a, &cause) == 0, "%s", cause);
}

/* Is device N's change at poll I still pinned? */
static int
join_pinned(int n, int i)
{
	struct store_txn *txn;
	char nid[32], *cause = NULL;
	tstime_t t;
	int rc;

	snprintf(nid, sizeof nid, "n%dCNTRL", n);
	ck_assert_msg(store_read_begin(st, &txn, &cause) == 0, "%s", cause);
	rc = pin_get(txn, TN, 'd', nid, P(i), &t, NULL);
	store_read_end(txn);
	return rc;
}

/* Pins and attributions go with the versions they belong to: a change before the horizon whose
 * versions are both gone (device 2's deletion at P(1)) loses them; one whose later version is
 * kept (device 1's change at P(1), its version open until P(7)), or after the horizon, keeps
 * them. */
START_TEST(test_pins)
{
	struct retain_run r;
	char *cause = NULL;

	history();
	join_put(1, 1);
	join_put(2, 1);
	join_put(1, 7);
	ck_assert_int_eq(join_pinned(2, 1), 1);
	ck_assert_int_eq(retain_prune(st, TN, 5 * MIN, P(10), 2, &r, &cause), 0);
	ck_assert_uint_eq(r.pins, 1);
	ck_assert_uint_eq(r.attribs, 1);
	retain_run_free(&r);
	ck_assert_int_eq(join_pinned(2, 1), 0);
	ck_assert_int_eq(join_pinned(1, 1), 1);
	ck_assert_int_eq(join_pinned(1, 7), 1);
	/* A later pass prunes device 1's first change once both its versions are gone; the open
	 * version still starts with the change at P(7). */
	ck_assert_int_eq(retain_prune(st, TN, 1 * MIN, P(20), 100, &r, &cause), 0);
	ck_assert_uint_eq(r.pins, 1);
	ck_assert_uint_eq(r.attribs, 1);
	retain_run_free(&r);
	ck_assert_int_eq(join_pinned(1, 1), 0);
	ck_assert_int_eq(join_pinned(1, 7), 1);
}
END_TEST

static Suite *
retain_suite(void)
{
	Suite *s = suite_create("retain");
	TCase *tc = tcase_create("prune");

	tcase_add_unchecked_fixture(tc, fixture_root_setup, fixture_root_teardown);
	tcase_add_checked_fixture(tc, check_retain_setup, check_retain_teardown);
	tcase_add_test(tc, test_prune);
	tcase_add_test(tc, test_keeps_what_answers_need);
	tcase_add_test(tc, test_tailnets_apart);
	tcase_add_test(tc, test_policy_texts);
	tcase_add_test(tc, test_pins);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(retain_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
