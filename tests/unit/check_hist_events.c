/* check_hist_events.c: unit tests for the events a poll records: baseline, changes, key expiry. */
#include <check.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "events.h"
#include "fixture.h"
#include "hist.h"
#include "store.h"
#include "tstime.h"

#define SEC TSTIME_SEC
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)
#define T0 ((tstime_t)1700000000 * TSTIME_SEC)
#define P(i) (T0 + (tstime_t)(i)*MIN) /* poll i: one a minute */
#define END ((json_t *)NULL)

static const char *const TN = "example.com";
static struct hist_policy pol;

static const char *dir;
static struct store *st;
static uint64_t seen; /* the last event seq a test has taken */

/* ---- fixtures ---- */

static void
check_hist_events_open(void)
{
	st = fixture_store_open(dir, 64 << 20);
}

static void
check_hist_events_setup(void)
{
	dir = fixture_dir_new();
	check_hist_events_open();
	memset(&pol, 0, sizeof(pol));
	pol.mass_delete_percent = 50;
	pol.max_gap = HOUR;
	hist_policy_defaults(&pol);
	seen = 0;
}

static void
check_hist_events_teardown(void)
{
	store_close(st);
	st = NULL;
	fixture_dir_remove(dir);
}

/* A daemon restart: the store closed and opened again. */
static void
reopen(void)
{
	store_close(st);
	st = NULL;
	check_hist_events_open();
}

/* ---- text helpers (fixture.c: rotating buffers, so several can sit in one assert) ---- */

#define ts fixture_ts
#define J fixture_json
#define dump fixture_dump

static const char *
nid(int n)
{
	char *b = fixture_buf();

	snprintf(b, 64, "n%dCNTRL", n);
	return b;
}

static const char *
dname(int n)
{
	char *b = fixture_buf();

	snprintf(b, 64, "h%d.tail1234.ts.net", n);
	return b;
}

static const char *
v4(int n)
{
	char *b = fixture_buf();

	snprintf(b, 64, "100.64.%d.%d", n >> 8, n & 255);
	return b;
}

static const char *
v6(int n)
{
	char *b = fixture_buf();

	snprintf(b, 64, "fd7a:115c:a1e0::%x", n);
	return b;
}

/* ---- devices and polls ---- */

/* The volatile fields of a device: never in an event. (updateAvailable is versioned.) */
static const char *const volatile_fields[] = {"lastSeen", "connectedToControl",
                                              "clientConnectivity", "multipleConnections"};

/* Device N as the API lists it (a new reference); its key expires far in the future. */
static json_t *
mkdev(int n)
{
	char host[32], id[16];
	json_t *d;

	snprintf(host, sizeof(host), "h%d", n);
	snprintf(id, sizeof(id), "%d", 50000 + n);
	d = json_pack("{s:s, s:s, s:s, s:s, s:[s,s], s:b, s:s, s:s, s:s, s:s, s:[s], s:s, s:b, s:s,"
	              " s:{s:[s], s:s}, s:b, s:b, s:b, s:b, s:[], s:[]}",
	              "nodeId", nid(n), "id", id, "name", dname(n), "hostname", host, "addresses",
	              v4(n), v6(n), "authorized", 1, "user", "alice@example.com", "os", "linux",
	              "created", "2023-01-01T00:00:00Z", "expires", "2025-01-01T00:00:00Z", "tags",
	              "tag:server", "lastSeen", "2023-11-14T22:13:20Z", "connectedToControl", 1,
	              "clientVersion", "1.56.1", "clientConnectivity", "endpoints",
	              "192.0.2.1:41641", "derp", "fra", "multipleConnections", 0, "updateAvailable",
	              0, "keyExpiryDisabled", 0, "isExternal", 0, "advertisedRoutes",
	              "enabledRoutes");
	ck_assert_ptr_nonnull(d);
	return d;
}

/* The device as the history keeps it: without its volatile fields (a new reference). */
static json_t *
stable_of(json_t *d)
{
	json_t *s = json_deep_copy(d);

	for (size_t i = 0; i < sizeof(volatile_fields) / sizeof(volatile_fields[0]); i++)
		json_object_del(s, volatile_fields[i]);
	return s;
}

static void
set_str(json_t *d, const char *key, const char *v)
{
	json_object_set_new(d, key, json_string(v));
}

static void
set_bool(json_t *d, const char *key, int v)
{
	json_object_set_new(d, key, json_boolean(v));
}

static void
set_time(json_t *d, const char *key, tstime_t t)
{
	set_str(d, key, ts(t));
}

static void
set_json(json_t *d, const char *key, json_t *v)
{
	json_object_set_new(d, key, v);
}

static struct hist_poll_result
apply_body(tstime_t t, json_t *body)
{
	struct hist_poll_result r;
	char *cause = NULL;

	memset(&r, 0xa5, sizeof(r));
	ck_assert_msg(hist_devices_apply(st, TN, t, body, &pol, &r, &cause) == 0, "apply: %s",
	              cause);
	return r;
}

/* Applies a poll at T that lists the devices given (NULL-terminated, borrowed). */
static struct hist_poll_result
apply(tstime_t t, ...)
{
	json_t *list = json_array(), *body, *d;
	struct hist_poll_result r;
	va_list ap;

	va_start(ap, t);
	for (d = va_arg(ap, json_t *); d != NULL; d = va_arg(ap, json_t *))
		json_array_append(list, d);
	va_end(ap);
	body = json_pack("{s:o}", "devices", list);
	r = apply_body(t, body);
	json_decref(body);
	return r;
}

static void
decref_all(json_t *first, ...)
{
	va_list ap;
	json_t *d;

	va_start(ap, first);
	for (d = first; d != NULL; d = va_arg(ap, json_t *))
		json_decref(d);
	va_end(ap);
}

/* ---- reading the events back ---- */

static int
check_hist_events_scan_cb(uint64_t seq, const char *json, size_t len, void *arg)
{
	json_error_t err;
	json_t *ev = json_loadb(json, len, 0, &err);

	ck_assert_msg(ev != NULL, "event %llu is not JSON: %s", (unsigned long long)seq, err.text);
	ck_assert_uint_eq((uint64_t)json_integer_value(json_object_get(ev, "seq")), seq);
	json_array_append_new(arg, ev);
	return 0;
}

/* The events recorded since the last take (a new reference), checked to be numbered on from
 * the ones before. */
static json_t *
take(void)
{
	json_t *evs = json_array(), *ev;
	char *cause = NULL;
	size_t i;

	ck_assert_msg(event_scan(st, seen, 0, check_hist_events_scan_cb, evs, &cause) == 0, "%s",
	              cause);
	json_array_foreach(evs, i, ev)
	{
		uint64_t seq = (uint64_t)json_integer_value(json_object_get(ev, "seq"));

		ck_assert_uint_eq(seq, seen + 1);
		seen = seq;
	}
	return evs;
}

/* "type id, type id": what happened, in order. */
static const char *
summary(json_t *evs)
{
	char *b = fixture_buf();
	json_t *ev;
	size_t i;

	json_array_foreach(evs, i, ev)
	{
		snprintf(b + strlen(b), 4096 - strlen(b), "%s%s %s", i ? ", " : "",
		         json_string_value(json_object_get(ev, "type")),
		         json_string_value(json_object_get(json_object_get(ev, "entity"), "id")));
	}
	return b;
}

/* The events of the poll RES reported, checked against it: as many as it says, all at its time,
 * all of the tailnet; their summary is WANT. A new reference. */
#define TAKE(res, want) take_poll((res), (want), __LINE__)
static json_t *
take_poll(struct hist_poll_result res, const char *want, int line)
{
	json_t *evs = take(), *ev;
	size_t i;

	ck_assert_msg(strcmp(summary(evs), want) == 0, "line %d: events\n  got:  %s\n  want: %s",
	              line, summary(evs), want);
	ck_assert_msg(res.events == json_array_size(evs),
	              "line %d: the poll says %zu events, %zu recorded", line, res.events,
	              json_array_size(evs));
	json_array_foreach(evs, i, ev)
	{
		ck_assert_msg(
		    strcmp(json_string_value(json_object_get(ev, "time")), ts(res.time)) == 0,
		    "line %d: event at %s, poll at %s", line,
		    json_string_value(json_object_get(ev, "time")), ts(res.time));
		ck_assert_str_eq(json_string_value(json_object_get(ev, "tailnet")), TN);
	}
	return evs;
}

/* No event since the last take, and the poll says so too. */
#define NONE(res) json_decref(TAKE((res), ""))

/* Event I of EVS is exactly: TYPE about device ID named NAME, with the members REST (JSON text
 * with single quotes: before, after, changed, extras) and nothing else. */
#define CK_EV(evs, i, type, id, name, ...)                                                         \
	check_ev(json_array_get((evs), (i)), (type), (id), (name), J(__VA_ARGS__), __LINE__)
static void
check_ev(json_t *ev, const char *type, const char *id, const char *name, json_t *rest, int line)
{
	json_t *got = json_deep_copy(ev), *want = rest;

	ck_assert_msg(ev != NULL, "line %d: no such event", line);
	json_object_del(got, "seq");
	json_object_del(got, "time");
	json_object_del(got, "tailnet");
	json_object_set_new(want, "type", json_string(type));
	json_object_set_new(want, "entity",
	                    json_pack("{s:s, s:s, s:s}", "kind",
	                              strncmp(type, "tailnet.", 8) == 0 ? "tailnet" : "device",
	                              "id", id, "name", name));
	ck_assert_msg(json_equal(got, want), "line %d: event\n  got:  %s\n  want: %s", line,
	              dump(got), dump(want));
	json_decref(got);
	json_decref(want);
}

/* ---- the first poll ---- */

START_TEST(test_baseline)
{
	json_t *d[5], *evs, *ev;
	struct hist_poll_result res;

	for (int i = 0; i < 5; i++)
		d[i] = mkdev(i + 1);
	/* Keys: one expiring in 5 days, one expired an hour ago, one expired but exempt. */
	set_time(d[1], "expires", P(0) + 5 * DAY);
	set_time(d[2], "expires", P(0) - HOUR);
	set_time(d[3], "expires", P(0) - HOUR);
	set_bool(d[3], "keyExpiryDisabled", 1);
	res = apply(P(0), d[0], d[1], d[2], d[3], d[4], END);
	ck_assert_uint_eq(res.created, 5);
	evs = TAKE(res, "tailnet.baseline example.com");
	CK_EV(evs, 0, "tailnet.baseline", TN, TN,
	      "{'devices':5, 'node_keys_expiring':1, 'node_keys_expired':1}");
	json_decref(evs);

	/* The same tailnet again: nothing; the keys were noted silently at the baseline. */
	res = apply(P(1), d[0], d[1], d[2], d[3], d[4], END);
	NONE(res);
	res = apply(P(0) + 3 * DAY, d[0], d[1], d[2], d[3], d[4], END);
	NONE(res);
	/* The 1d warning had not been reached at the baseline: it fires. */
	res = apply(P(0) + 4 * DAY + 12 * HOUR, d[0], d[1], d[2], d[3], d[4], END);
	evs = TAKE(res, "device.key.expiring n2CNTRL");
	CK_EV(evs, 0, "device.key.expiring", nid(2), dname(2),
	      "{'expires':'%s', 'threshold':'1d', 'remaining_s':43200}", ts(P(0) + 5 * DAY));
	json_decref(evs);
	/* A new device after the baseline is an event again. */
	res = apply(P(0) + 5 * DAY - HOUR, d[0], d[1], d[2], d[3], d[4], END);
	NONE(res);
	ev = mkdev(9);
	res = apply(P(0) + 5 * DAY, d[0], d[1], d[2], d[3], d[4], ev, END);
	evs = TAKE(res, "device.created n9CNTRL, device.key.expired n2CNTRL");
	json_decref(evs);
	json_decref(ev);
	for (int i = 0; i < 5; i++)
		json_decref(d[i]);
}
END_TEST

START_TEST(test_baseline_edges)
{
	json_t *a = mkdev(1), *evs, *body;
	struct hist_poll_result res;
	char *cause = NULL;

	/* A failed poll first: the first successful one is still the baseline. */
	ck_assert_msg(hist_poll_failed(st, TN, "devices", P(0), "timeout", &cause) == 0, "%s",
	              cause);
	evs = take();
	ck_assert_uint_eq(json_array_size(evs), 0);
	json_decref(evs);
	/* An empty tailnet has a baseline too, and its first device is then created. */
	res = apply(P(1), END);
	evs = TAKE(res, "tailnet.baseline example.com");
	CK_EV(evs, 0, "tailnet.baseline", TN, TN,
	      "{'devices':0, 'node_keys_expiring':0, 'node_keys_expired':0}");
	json_decref(evs);
	res = apply(P(2), a, END);
	json_decref(TAKE(res, "device.created n1CNTRL"));

	/* Another tailnet in the same store: its own baseline. */
	res = (struct hist_poll_result){0};
	body = json_pack("{s:[O]}", "devices", a);
	ck_assert_msg(hist_devices_apply(st, "other.net", P(3), body, &pol, &res, &cause) == 0,
	              "%s", cause);
	json_decref(body);
	evs = take();
	ck_assert_str_eq(summary(evs), "tailnet.baseline other.net");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(evs, 0), "tailnet")),
	                 "other.net");
	CK_EV(evs, 0, "tailnet.baseline", "other.net", "other.net",
	      "{'devices':1, 'node_keys_expiring':0, 'node_keys_expired':0}");
	json_decref(evs);
	/* After a restart: no second baseline. */
	reopen();
	res = apply(P(4), a, END);
	NONE(res);
	json_decref(a);
}
END_TEST

/* ---- one change at a time ---- */

START_TEST(test_created_deleted)
{
	json_t *a = mkdev(1), *b = mkdev(2), *c = mkdev(3), *evs, *want;
	struct hist_poll_result res;

	apply(P(0), a, END);
	json_decref(take());
	res = apply(P(1), a, b, c, END);
	evs = TAKE(res, "device.created n2CNTRL, device.created n3CNTRL");
	/* The whole device after, its stable fields only. */
	want = stable_of(b);
	CK_EV(evs, 0, "device.created", nid(2), dname(2), "{'after':%s}", dump(want));
	json_decref(want);
	json_decref(evs);

	res = apply(P(2), a, c, END);
	evs = TAKE(res, "device.deleted n2CNTRL");
	want = stable_of(b);
	CK_EV(evs, 0, "device.deleted", nid(2), dname(2), "{'before':%s}", dump(want));
	json_decref(want);
	json_decref(evs);
	res = apply(P(3), a, c, END);
	NONE(res);
	decref_all(a, b, c, END);
}
END_TEST

START_TEST(test_renamed)
{
	json_t *a = mkdev(1), *b = mkdev(2), *evs;
	struct hist_poll_result res;

	apply(P(0), a, b, END);
	json_decref(take());
	set_str(a, "name", "web.tail1234.ts.net");
	set_str(a, "hostname", "web");
	res = apply(P(1), a, b, END);
	evs = TAKE(res, "device.renamed n1CNTRL");
	/* Named by its new name. */
	CK_EV(evs, 0, "device.renamed", nid(1), "web.tail1234.ts.net",
	      "{'before':{'name':'h1.tail1234.ts.net', 'hostname':'h1'},"
	      " 'after':{'name':'web.tail1234.ts.net', 'hostname':'web'},"
	      " 'changed':['hostname','name']}");
	json_decref(evs);
	/* The hostname alone. */
	set_str(a, "hostname", "web-01");
	res = apply(P(2), a, b, END);
	evs = TAKE(res, "device.renamed n1CNTRL");
	CK_EV(
	    evs, 0, "device.renamed", nid(1), "web.tail1234.ts.net",
	    "{'before':{'hostname':'web'}, 'after':{'hostname':'web-01'}, 'changed':['hostname']}");
	json_decref(evs);
	res = apply(P(3), a, b, END);
	NONE(res);
	decref_all(a, b, END);
}
END_TEST

START_TEST(test_tags)
{
	json_t *a = mkdev(1), *evs;
	struct hist_poll_result res;

	apply(P(0), a, END);
	json_decref(take());
	set_json(a, "tags", J("['tag:server','tag:db']"));
	res = apply(P(1), a, END);
	evs = TAKE(res, "device.tags.changed n1CNTRL");
	CK_EV(evs, 0, "device.tags.changed", nid(1), dname(1),
	      "{'before':{'tags':['tag:server']}, 'after':{'tags':['tag:db','tag:server']},"
	      " 'changed':['tags']}");
	json_decref(evs);
	/* The same tags in another order: no change. */
	set_json(a, "tags", J("['tag:db','tag:server']"));
	res = apply(P(2), a, END);
	NONE(res);
	/* No tags at all (the API leaves the member out). */
	json_object_del(a, "tags");
	res = apply(P(3), a, END);
	evs = TAKE(res, "device.tags.changed n1CNTRL");
	CK_EV(evs, 0, "device.tags.changed", nid(1), dname(1),
	      "{'before':{'tags':['tag:db','tag:server']}, 'after':{}, 'changed':['tags']}");
	json_decref(evs);
	json_decref(a);
}
END_TEST

START_TEST(test_owner_authorized)
{
	json_t *a = mkdev(1), *evs;
	struct hist_poll_result res;

	apply(P(0), a, END);
	json_decref(take());
	set_str(a, "user", "bob@example.com");
	res = apply(P(1), a, END);
	evs = TAKE(res, "device.owner.changed n1CNTRL");
	CK_EV(evs, 0, "device.owner.changed", nid(1), dname(1),
	      "{'before':{'user':'alice@example.com'}, 'after':{'user':'bob@example.com'},"
	      " 'changed':['user']}");
	json_decref(evs);
	set_bool(a, "authorized", 0);
	res = apply(P(2), a, END);
	evs = TAKE(res, "device.authorized.changed n1CNTRL");
	CK_EV(evs, 0, "device.authorized.changed", nid(1), dname(1),
	      "{'before':{'authorized':true}, 'after':{'authorized':false},"
	      " 'changed':['authorized']}");
	json_decref(evs);
	json_decref(a);
}
END_TEST

START_TEST(test_key_expiry_changed)
{
	json_t *a = mkdev(1), *evs;
	struct hist_poll_result res;

	apply(P(0), a, END);
	json_decref(take());
	set_str(a, "expires", "2025-06-01T00:00:00Z");
	res = apply(P(1), a, END);
	evs = TAKE(res, "device.key.expiry.changed n1CNTRL");
	CK_EV(evs, 0, "device.key.expiry.changed", nid(1), dname(1),
	      "{'before':{'expires':'2025-01-01T00:00:00Z'},"
	      " 'after':{'expires':'2025-06-01T00:00:00Z'}, 'changed':['expires']}");
	json_decref(evs);
	/* Expiry disabled: the API shows the zero time; one event for both fields. */
	set_str(a, "expires", "0001-01-01T00:00:00Z");
	set_bool(a, "keyExpiryDisabled", 1);
	res = apply(P(2), a, END);
	evs = TAKE(res, "device.key.expiry.changed n1CNTRL");
	CK_EV(evs, 0, "device.key.expiry.changed", nid(1), dname(1),
	      "{'before':{'expires':'2025-06-01T00:00:00Z', 'keyExpiryDisabled':false},"
	      " 'after':{'expires':'0001-01-01T00:00:00Z', 'keyExpiryDisabled':true},"
	      " 'changed':['expires','keyExpiryDisabled']}");
	json_decref(evs);
	json_decref(a);
}
END_TEST

START_TEST(test_routes)
{
	json_t *a = mkdev(1), *evs;
	struct hist_poll_result res;

	apply(P(0), a, END);
	json_decref(take());
	set_json(a, "advertisedRoutes", J("['10.1.0.0/24','0.0.0.0/0']"));
	res = apply(P(1), a, END);
	evs = TAKE(res, "device.routes.changed n1CNTRL");
	CK_EV(evs, 0, "device.routes.changed", nid(1), dname(1),
	      "{'before':{'advertisedRoutes':[]}, "
	      "'after':{'advertisedRoutes':['0.0.0.0/0','10.1.0.0/24']},"
	      " 'changed':['advertisedRoutes']}");
	json_decref(evs);
	set_json(a, "enabledRoutes", J("['10.1.0.0/24']"));
	res = apply(P(2), a, END);
	evs = TAKE(res, "device.routes.changed n1CNTRL");
	CK_EV(evs, 0, "device.routes.changed", nid(1), dname(1),
	      "{'before':{'enabledRoutes':[]}, 'after':{'enabledRoutes':['10.1.0.0/24']},"
	      " 'changed':['enabledRoutes']}");
	json_decref(evs);
	/* Both at once: one event. */
	set_json(a, "advertisedRoutes", J("[]"));
	set_json(a, "enabledRoutes", J("[]"));
	res = apply(P(3), a, END);
	evs = TAKE(res, "device.routes.changed n1CNTRL");
	CK_EV(evs, 0, "device.routes.changed", nid(1), dname(1),
	      "{'before':{'advertisedRoutes':['0.0.0.0/0','10.1.0.0/24'],"
	      " 'enabledRoutes':['10.1.0.0/24']},"
	      " 'after':{'advertisedRoutes':[], 'enabledRoutes':[]},"
	      " 'changed':['advertisedRoutes','enabledRoutes']}");
	json_decref(evs);
	json_decref(a);
}
END_TEST

START_TEST(test_addresses)
{
	json_t *a = mkdev(1), *b = mkdev(2), *evs;
	struct hist_poll_result res;

	apply(P(0), a, b, END);
	json_decref(take());
	/* A swap: one added, one removed, no other event. */
	set_json(a, "addresses", json_pack("[s,s]", "100.64.0.9", v6(1)));
	res = apply(P(1), a, b, END);
	evs = TAKE(res, "device.address.added n1CNTRL, device.address.removed n1CNTRL");
	CK_EV(evs, 0, "device.address.added", nid(1), dname(1), "{'address':'100.64.0.9'}");
	CK_EV(evs, 1, "device.address.removed", nid(1), dname(1), "{'address':'%s'}", v4(1));
	json_decref(evs);
	/* One more address. */
	set_json(a, "addresses", json_pack("[s,s,s]", "100.64.0.9", v6(1), "100.64.0.10"));
	res = apply(P(2), a, b, END);
	evs = TAKE(res, "device.address.added n1CNTRL");
	CK_EV(evs, 0, "device.address.added", nid(1), dname(1), "{'address':'100.64.0.10'}");
	json_decref(evs);
	/* An address passed from one device to another in one poll: by device, in id order. */
	set_json(a, "addresses", json_pack("[s,s]", "100.64.0.9", v6(1)));
	set_json(b, "addresses", json_pack("[s,s]", "100.64.0.10", v6(2)));
	res = apply(P(3), a, b, END);
	evs = TAKE(res, "device.address.removed n1CNTRL, device.address.added n2CNTRL, "
	                "device.address.removed n2CNTRL");
	CK_EV(evs, 0, "device.address.removed", nid(1), dname(1), "{'address':'100.64.0.10'}");
	CK_EV(evs, 1, "device.address.added", nid(2), dname(2), "{'address':'100.64.0.10'}");
	CK_EV(evs, 2, "device.address.removed", nid(2), dname(2), "{'address':'%s'}", v4(2));
	json_decref(evs);
	decref_all(a, b, END);
}
END_TEST

START_TEST(test_updated)
{
	json_t *a = mkdev(1), *evs;
	struct hist_poll_result res;

	apply(P(0), a, END);
	json_decref(take());
	set_str(a, "os", "windows");
	res = apply(P(1), a, END);
	evs = TAKE(res, "device.updated n1CNTRL");
	CK_EV(evs, 0, "device.updated", nid(1), dname(1),
	      "{'before':{'os':'linux'}, 'after':{'os':'windows'}, 'changed':['os']}");
	json_decref(evs);
	/* Several other fields, and one new to the device: one event. */
	set_str(a, "clientVersion", "1.58.0");
	set_str(a, "machineKey", "mkey:abc");
	set_bool(a, "isExternal", 1);
	res = apply(P(2), a, END);
	evs = TAKE(res, "device.updated n1CNTRL");
	CK_EV(evs, 0, "device.updated", nid(1), dname(1),
	      "{'before':{'clientVersion':'1.56.1', 'isExternal':false},"
	      " 'after':{'clientVersion':'1.58.0', 'isExternal':true, 'machineKey':'mkey:abc'},"
	      " 'changed':['clientVersion','isExternal','machineKey']}");
	json_decref(evs);
	/* A field that goes away. */
	json_object_del(a, "machineKey");
	res = apply(P(3), a, END);
	evs = TAKE(res, "device.updated n1CNTRL");
	CK_EV(evs, 0, "device.updated", nid(1), dname(1),
	      "{'before':{'machineKey':'mkey:abc'}, 'after':{}, 'changed':['machineKey']}");
	json_decref(evs);
	json_decref(a);
}
END_TEST

/* Everything at once: one event per concern, devices in id order, each device's events in one
 * order (addresses, then the table's groups, then device.updated), whatever the field order. */
START_TEST(test_several)
{
	json_t *a = mkdev(1), *b = mkdev(2), *c = mkdev(3), *evs;
	struct hist_poll_result res;

	apply(P(0), c, b, a, END);
	json_decref(take());
	set_str(a, "os", "macOS");
	set_json(a, "enabledRoutes", J("['10.0.0.0/8']"));
	set_bool(a, "authorized", 0);
	set_str(a, "expires", "2025-02-01T00:00:00Z");
	set_str(a, "user", "bob@example.com");
	set_json(a, "tags", J("[]"));
	set_str(a, "name", "a.tail1234.ts.net");
	set_json(a, "addresses", json_pack("[s,s]", v4(7), v6(1)));
	set_str(c, "clientVersion", "1.60.0");
	set_str(c, "hostname", "c");
	res = apply(P(1), c, b, a, END);
	evs = TAKE(res, "device.address.added n1CNTRL, device.address.removed n1CNTRL, "
	                "device.renamed n1CNTRL, device.tags.changed n1CNTRL, "
	                "device.owner.changed n1CNTRL, device.authorized.changed n1CNTRL, "
	                "device.key.expiry.changed n1CNTRL, device.routes.changed n1CNTRL, "
	                "device.updated n1CNTRL, device.renamed n3CNTRL, device.updated n3CNTRL");
	ck_assert_uint_eq(res.changed, 2);
	CK_EV(evs, 0, "device.address.added", nid(1), "a.tail1234.ts.net", "{'address':'%s'}",
	      v4(7));
	CK_EV(evs, 1, "device.address.removed", nid(1), "a.tail1234.ts.net", "{'address':'%s'}",
	      v4(1));
	CK_EV(evs, 2, "device.renamed", nid(1), "a.tail1234.ts.net",
	      "{'before':{'name':'%s'}, 'after':{'name':'a.tail1234.ts.net'}, 'changed':['name']}",
	      dname(1));
	CK_EV(evs, 3, "device.tags.changed", nid(1), "a.tail1234.ts.net",
	      "{'before':{'tags':['tag:server']}, 'after':{'tags':[]}, 'changed':['tags']}");
	CK_EV(evs, 4, "device.owner.changed", nid(1), "a.tail1234.ts.net",
	      "{'before':{'user':'alice@example.com'}, 'after':{'user':'bob@example.com'},"
	      " 'changed':['user']}");
	CK_EV(evs, 5, "device.authorized.changed", nid(1), "a.tail1234.ts.net",
	      "{'before':{'authorized':true}, 'after':{'authorized':false},"
	      " 'changed':['authorized']}");
	CK_EV(evs, 6, "device.key.expiry.changed", nid(1), "a.tail1234.ts.net",
	      "{'before':{'expires':'2025-01-01T00:00:00Z'},"
	      " 'after':{'expires':'2025-02-01T00:00:00Z'}, 'changed':['expires']}");
	CK_EV(evs, 7, "device.routes.changed", nid(1), "a.tail1234.ts.net",
	      "{'before':{'enabledRoutes':[]}, 'after':{'enabledRoutes':['10.0.0.0/8']},"
	      " 'changed':['enabledRoutes']}");
	CK_EV(evs, 8, "device.updated", nid(1), "a.tail1234.ts.net",
	      "{'before':{'os':'linux'}, 'after':{'os':'macOS'}, 'changed':['os']}");
	CK_EV(evs, 9, "device.renamed", nid(3), dname(3),
	      "{'before':{'hostname':'h3'}, 'after':{'hostname':'c'}, 'changed':['hostname']}");
	CK_EV(evs, 10, "device.updated", nid(3), dname(3),
	      "{'before':{'clientVersion':'1.56.1'}, 'after':{'clientVersion':'1.60.0'},"
	      " 'changed':['clientVersion']}");
	json_decref(evs);
	res = apply(P(2), a, b, c, END);
	NONE(res);
	decref_all(a, b, c, END);
}
END_TEST

START_TEST(test_volatile_churn)
{
	json_t *a = mkdev(1), *b = mkdev(2);
	struct hist_poll_result res;

	apply(P(0), a, b, END);
	json_decref(take());
	for (int i = 1; i <= 6; i++) {
		set_time(a, "lastSeen", P(i));
		set_bool(a, "connectedToControl", i % 2);
		/* (multipleConnections churns without a version but with events: see
		 * test_multiple_connections.) */
		set_json(b, "clientConnectivity",
		         json_pack("{s:[s], s:s}", "endpoints", "192.0.2.1:41641", "derp",
		                   i % 2 ? "nyc" : "fra"));
		res = apply(P(i), b, a, END);
		ck_assert_uint_ge(res.vol_updates, 1);
		NONE(res);
	}
	decref_all(a, b, END);
}
END_TEST

START_TEST(test_mass_held)
{
	json_t *d[4], *evs, *want;
	struct hist_poll_result res;

	for (int i = 0; i < 4; i++)
		d[i] = mkdev(i + 1);
	apply(P(0), d[0], d[1], d[2], d[3], END);
	json_decref(take());
	set_str(d[0], "os", "windows");
	res = apply(P(1), d[0], END);
	ck_assert_int_eq(res.held, 1);
	NONE(res);
	/* Confirmed by the next poll, after a restart: the deletions, and the change held with
	 * them. */
	reopen();
	res = apply(P(2), d[0], END);
	ck_assert_int_eq(res.held, 0);
	evs = TAKE(res, "device.updated n1CNTRL, device.deleted n2CNTRL, device.deleted n3CNTRL, "
	                "device.deleted n4CNTRL");
	for (int i = 1; i < 4; i++) {
		want = stable_of(d[i]);
		CK_EV(evs, (size_t)i, "device.deleted", nid(i + 1), dname(i + 1), "{'before':%s}",
		      dump(want));
		json_decref(want);
	}
	json_decref(evs);
	res = apply(P(3), d[0], END);
	NONE(res);
	/* A hold that the next poll clears: nothing ever. */
	res = apply(P(4), d[0], d[1], d[2], d[3], END);
	json_decref(TAKE(res, "device.created n2CNTRL, device.created n3CNTRL, "
	                      "device.created n4CNTRL"));
	res = apply(P(5), d[1], END);
	ck_assert_int_eq(res.held, 1);
	NONE(res);
	res = apply(P(6), d[0], d[1], d[2], d[3], END);
	NONE(res);
	for (int i = 0; i < 4; i++)
		json_decref(d[i]);
}
END_TEST

/* ---- node key expiry ---- */

#define EXP (T0 + 30 * DAY)

/* Polls at T (and again just after, and after a restart: nothing more); WANT is what the
 * first of them records. A new reference to its events. */
#define STAGE(t, want, ...) stage((t), (want), __LINE__, __VA_ARGS__)
static json_t *
stage(tstime_t t, const char *want, int line, json_t *first, ...)
{
	json_t *list = json_array(), *body, *d, *evs;
	struct hist_poll_result res;
	va_list ap;

	va_start(ap, first);
	for (d = first; d != NULL; d = va_arg(ap, json_t *))
		json_array_append(list, d);
	va_end(ap);
	body = json_pack("{s:o}", "devices", list);
	res = apply_body(t, body);
	evs = take_poll(res, want, line);
	/* The same answer at the same time (recorded a microsecond later) and after a restart. */
	res = apply_body(t, body);
	json_decref(take_poll(res, "", line));
	reopen();
	res = apply_body(t + SEC, body);
	json_decref(take_poll(res, "", line));
	json_decref(body);
	return evs;
}

START_TEST(test_expiry_steps)
{
	json_t *a = mkdev(1), *b = mkdev(2), *evs;

	set_time(a, "expires", EXP);
	apply(EXP - 20 * DAY, a, b, END);
	json_decref(take());
	json_decref(STAGE(EXP - 15 * DAY, "", a, b, END));
	evs = STAGE(EXP - 13 * DAY, "device.key.expiring n1CNTRL", a, b, END);
	CK_EV(evs, 0, "device.key.expiring", nid(1), dname(1),
	      "{'expires':'%s', 'threshold':'14d', 'remaining_s':%lld}", ts(EXP),
	      (long long)(13 * 86400));
	json_decref(evs);
	json_decref(STAGE(EXP - 10 * DAY, "", a, b, END));
	evs = STAGE(EXP - 6 * DAY, "device.key.expiring n1CNTRL", a, b, END);
	CK_EV(evs, 0, "device.key.expiring", nid(1), dname(1),
	      "{'expires':'%s', 'threshold':'7d', 'remaining_s':%lld}", ts(EXP),
	      (long long)(6 * 86400));
	json_decref(evs);
	evs = STAGE(EXP - 12 * HOUR, "device.key.expiring n1CNTRL", a, b, END);
	CK_EV(evs, 0, "device.key.expiring", nid(1), dname(1),
	      "{'expires':'%s', 'threshold':'1d', 'remaining_s':43200}", ts(EXP));
	json_decref(evs);
	json_decref(STAGE(EXP - 2 * HOUR, "", a, b, END));
	evs = STAGE(EXP + HOUR, "device.key.expired n1CNTRL", a, b, END);
	CK_EV(evs, 0, "device.key.expired", nid(1), dname(1), "{'expires':'%s'}", ts(EXP));
	json_decref(evs);
	json_decref(STAGE(EXP + 10 * DAY, "", a, b, END));
	decref_all(a, b, END);
}
END_TEST

/* The thresholds, exactly: "within 7 days" includes 7 days to the microsecond. */
START_TEST(test_expiry_boundaries)
{
	json_t *a = mkdev(1), *evs;

	set_time(a, "expires", EXP);
	apply(EXP - 20 * DAY, a, END);
	json_decref(take());
	json_decref(STAGE(EXP - 14 * DAY - 2 * SEC, "", a, END));
	evs = STAGE(EXP - 14 * DAY, "device.key.expiring n1CNTRL", a, END);
	CK_EV(evs, 0, "device.key.expiring", nid(1), dname(1),
	      "{'expires':'%s', 'threshold':'14d', 'remaining_s':%lld}", ts(EXP),
	      (long long)(14 * 86400));
	json_decref(evs);
	json_decref(STAGE(EXP - 7 * DAY - 2 * SEC, "", a, END));
	json_decref(STAGE(EXP - 7 * DAY, "device.key.expiring n1CNTRL", a, END));
	json_decref(STAGE(EXP - DAY, "device.key.expiring n1CNTRL", a, END));
	json_decref(STAGE(EXP - 2 * SEC, "", a, END));
	json_decref(STAGE(EXP, "device.key.expired n1CNTRL", a, END));
	json_decref(a);
}
END_TEST

/* A key first seen past several thresholds warns once, at the tightest it is past. */
START_TEST(test_expiry_first_seen_late)
{
	json_t *a = mkdev(1), *b = mkdev(2), *c = mkdev(3), *evs, *want;
	struct hist_poll_result res;

	apply(EXP - 20 * DAY, a, END);
	json_decref(take());
	set_time(b, "expires", EXP);
	res = apply(EXP - 3 * DAY, a, b, END);
	evs = TAKE(res, "device.created n2CNTRL, device.key.expiring n2CNTRL");
	want = stable_of(b);
	CK_EV(evs, 0, "device.created", nid(2), dname(2), "{'after':%s}", dump(want));
	json_decref(want);
	CK_EV(evs, 1, "device.key.expiring", nid(2), dname(2),
	      "{'expires':'%s', 'threshold':'7d', 'remaining_s':%lld}", ts(EXP),
	      (long long)(3 * 86400));
	json_decref(evs);
	json_decref(STAGE(EXP - 2 * DAY, "", a, b, END));
	json_decref(STAGE(EXP - 20 * HOUR, "device.key.expiring n2CNTRL", a, b, END));
	/* A key first seen already expired: only that. */
	set_time(c, "expires", EXP - HOUR);
	evs = STAGE(EXP - HOUR / 2, "device.created n3CNTRL, device.key.expired n3CNTRL", a, b, c,
	            END);
	CK_EV(evs, 1, "device.key.expired", nid(3), dname(3), "{'expires':'%s'}", ts(EXP - HOUR));
	json_decref(evs);
	decref_all(a, b, c, END);
}
END_TEST

/* A device already known whose key jumps past thresholds between two polls warns once. */
START_TEST(test_expiry_skip_thresholds)
{
	json_t *a = mkdev(1), *evs;

	set_time(a, "expires", EXP);
	apply(EXP - 20 * DAY, a, END);
	json_decref(take());
	evs = STAGE(EXP - 6 * DAY, "device.key.expiring n1CNTRL", a, END);
	CK_EV(evs, 0, "device.key.expiring", nid(1), dname(1),
	      "{'expires':'%s', 'threshold':'7d', 'remaining_s':%lld}", ts(EXP),
	      (long long)(6 * 86400));
	json_decref(evs);
	json_decref(STAGE(EXP - 2 * DAY, "", a, END));
	/* From 2 days straight past the expiry: expired, not a 1d warning as well. */
	json_decref(STAGE(EXP + DAY, "device.key.expired n1CNTRL", a, END));
	json_decref(a);
}
END_TEST

/* A renewed key is a new key: it warns again, from the start. */
START_TEST(test_expiry_renewed)
{
	json_t *a = mkdev(1), *evs;
	tstime_t exp2 = EXP + 90 * DAY, exp3;

	set_time(a, "expires", EXP);
	apply(EXP - 20 * DAY, a, END);
	json_decref(take());
	json_decref(STAGE(EXP - 6 * DAY, "device.key.expiring n1CNTRL", a, END));
	set_time(a, "expires", exp2);
	evs = STAGE(EXP - 5 * DAY, "device.key.expiry.changed n1CNTRL", a, END);
	CK_EV(evs, 0, "device.key.expiry.changed", nid(1), dname(1),
	      "{'before':{'expires':'%s'}, 'after':{'expires':'%s'}, 'changed':['expires']}",
	      ts(EXP), ts(exp2));
	json_decref(evs);
	/* Past the old expiry: the old key is gone, nothing about it. */
	json_decref(STAGE(EXP + DAY, "", a, END));
	evs = STAGE(exp2 - 13 * DAY, "device.key.expiring n1CNTRL", a, END);
	CK_EV(evs, 0, "device.key.expiring", nid(1), dname(1),
	      "{'expires':'%s', 'threshold':'14d', 'remaining_s':%lld}", ts(exp2),
	      (long long)(13 * 86400));
	json_decref(evs);
	/* Renewed to a time that is itself near: the change and its warning in one poll. */
	exp3 = exp2 - 13 * DAY + 2 * HOUR + 10 * DAY;
	set_time(a, "expires", exp3);
	evs = STAGE(exp2 - 13 * DAY + 2 * HOUR,
	            "device.key.expiry.changed n1CNTRL, device.key.expiring n1CNTRL", a, END);
	CK_EV(evs, 1, "device.key.expiring", nid(1), dname(1),
	      "{'expires':'%s', 'threshold':'14d', 'remaining_s':%lld}", ts(exp3),
	      (long long)(10 * 86400));
	json_decref(evs);
	json_decref(STAGE(exp3 - 6 * DAY, "device.key.expiring n1CNTRL", a, END));
	json_decref(STAGE(exp3 + HOUR, "device.key.expired n1CNTRL", a, END));
	json_decref(a);
}
END_TEST

START_TEST(test_expiry_disabled)
{
	json_t *a = mkdev(1), *evs;

	set_time(a, "expires", EXP);
	set_bool(a, "keyExpiryDisabled", 1);
	apply(EXP - 20 * DAY, a, END);
	json_decref(take());
	json_decref(STAGE(EXP - 13 * DAY, "", a, END));
	json_decref(STAGE(EXP - 6 * DAY, "", a, END));
	json_decref(STAGE(EXP - 12 * HOUR, "", a, END));
	json_decref(STAGE(EXP + HOUR, "", a, END));
	/* The zero time, as the API shows a key that never expires. */
	set_str(a, "expires", "0001-01-01T00:00:00Z");
	set_bool(a, "keyExpiryDisabled", 0);
	json_decref(STAGE(EXP + 2 * HOUR, "device.key.expiry.changed n1CNTRL", a, END));
	json_decref(STAGE(EXP + 3 * HOUR, "", a, END));
	/* Enabled again with a near expiry: it warns. */
	set_time(a, "expires", EXP + 5 * DAY);
	evs = STAGE(EXP + 4 * HOUR,
	            "device.key.expiry.changed n1CNTRL, device.key.expiring n1CNTRL", a, END);
	CK_EV(evs, 1, "device.key.expiring", nid(1), dname(1),
	      "{'expires':'%s', 'threshold':'7d', 'remaining_s':%lld}", ts(EXP + 5 * DAY),
	      (long long)(5 * 86400 - 4 * 3600));
	json_decref(evs);
	json_decref(a);
}
END_TEST

/* The thresholds are the policy's: two of them here. */
START_TEST(test_expiry_policy)
{
	json_t *a = mkdev(1), *evs;

	pol.expiry_warn[0] = 3 * DAY;
	pol.expiry_warn[1] = HOUR;
	pol.nexpiry_warn = 2;
	set_time(a, "expires", EXP);
	apply(EXP - 20 * DAY, a, END);
	json_decref(take());
	json_decref(STAGE(EXP - 6 * DAY, "", a, END));
	evs = STAGE(EXP - 2 * DAY, "device.key.expiring n1CNTRL", a, END);
	CK_EV(evs, 0, "device.key.expiring", nid(1), dname(1),
	      "{'expires':'%s', 'threshold':'3d', 'remaining_s':%lld}", ts(EXP),
	      (long long)(2 * 86400));
	json_decref(evs);
	evs = STAGE(EXP - 30 * MIN, "device.key.expiring n1CNTRL", a, END);
	CK_EV(evs, 0, "device.key.expiring", nid(1), dname(1),
	      "{'expires':'%s', 'threshold':'1h', 'remaining_s':1800}", ts(EXP));
	json_decref(evs);
	json_decref(STAGE(EXP + HOUR, "device.key.expired n1CNTRL", a, END));
	json_decref(a);
}
END_TEST

/* ---- presence ---- */

START_TEST(test_presence)
{
	json_t *a = mkdev(1), *b = mkdev(2), *evs;
	struct hist_poll_result res;

	/* Off (the default): connections come and go unrecorded. */
	apply(P(0), a, b, END);
	json_decref(take());
	set_bool(a, "connectedToControl", 0);
	res = apply(P(1), a, b, END);
	NONE(res);
	set_bool(a, "connectedToControl", 1);
	res = apply(P(2), a, b, END);
	NONE(res);

	pol.presence = 1;
	set_bool(a, "connectedToControl", 0);
	res = apply(P(3), a, b, END);
	evs = TAKE(res, "device.offline n1CNTRL");
	CK_EV(evs, 0, "device.offline", nid(1), dname(1), "{}");
	json_decref(evs);
	/* Other volatile churn: nothing. */
	set_time(a, "lastSeen", P(4));
	res = apply(P(4), a, b, END);
	NONE(res);
	set_bool(a, "connectedToControl", 1);
	set_bool(b, "connectedToControl", 0);
	res = apply(P(5), a, b, END);
	evs = TAKE(res, "device.online n1CNTRL, device.offline n2CNTRL");
	CK_EV(evs, 0, "device.online", nid(1), dname(1), "{}");
	CK_EV(evs, 1, "device.offline", nid(2), dname(2), "{}");
	json_decref(evs);
	res = apply(P(6), a, b, END);
	NONE(res);
	decref_all(a, b, END);
}
END_TEST

/* multipleConnections: never a version, but an event on each transition, presence or not. */
START_TEST(test_multiple_connections)
{
	json_t *a = mkdev(1), *b = mkdev(2), *evs;
	struct hist_poll_result res;

	apply(P(0), a, b, END);
	json_decref(take());
	set_bool(b, "multipleConnections", 1);
	res = apply(P(1), a, b, END);
	ck_assert_uint_eq(res.changed, 0);
	evs = TAKE(res, "device.multiple.connections n2CNTRL");
	CK_EV(evs, 0, "device.multiple.connections", nid(2), dname(2),
	      "{'multipleConnections':true}");
	json_decref(evs);
	res = apply(P(2), a, b, END);
	NONE(res);
	set_bool(b, "multipleConnections", 0);
	res = apply(P(3), a, b, END);
	evs = TAKE(res, "device.multiple.connections n2CNTRL");
	CK_EV(evs, 0, "device.multiple.connections", nid(2), dname(2),
	      "{'multipleConnections':false}");
	json_decref(evs);
	decref_all(a, b, END);
}
END_TEST

/* A device that changes and disconnects in the same poll: both are told. */
START_TEST(test_presence_with_change)
{
	json_t *a = mkdev(1), *evs;
	struct hist_poll_result res;

	pol.presence = 1;
	apply(P(0), a, END);
	json_decref(take());
	set_str(a, "os", "windows");
	set_bool(a, "connectedToControl", 0);
	res = apply(P(1), a, END);
	evs = TAKE(res, "device.updated n1CNTRL, device.offline n1CNTRL");
	json_decref(evs);
	json_decref(a);
}
END_TEST

/* ---- restarts ---- */

START_TEST(test_restart_no_events)
{
	json_t *d[4];
	struct hist_poll_result res;

	for (int i = 0; i < 4; i++)
		d[i] = mkdev(i + 1);
	set_time(d[3], "expires", P(0) + 3 * DAY);
	apply(P(0), d[0], d[1], d[2], d[3], END);
	json_decref(take());
	set_str(d[1], "name", "renamed.tail1234.ts.net");
	res = apply(P(1), d[0], d[1], d[2], d[3], END);
	json_decref(TAKE(res, "device.renamed n2CNTRL"));
	for (int i = 2; i < 12; i++) {
		if (i % 3 == 0)
			reopen();
		set_time(d[0], "lastSeen", P(i));
		res = apply(P(i), d[0], d[1], d[2], d[3], END);
		NONE(res);
	}
	for (int i = 0; i < 4; i++)
		json_decref(d[i]);
}
END_TEST

static Suite *
hist_events_suite(void)
{
	Suite *s = suite_create("hist_events");
	TCase *tc;

#define TC(name)                                                                                   \
	tc = tcase_create(name);                                                                   \
	tcase_add_unchecked_fixture(tc, fixture_root_setup, fixture_root_teardown);                \
	tcase_add_checked_fixture(tc, check_hist_events_setup, check_hist_events_teardown);        \
	suite_add_tcase(s, tc)

	TC("baseline");
	tcase_add_test(tc, test_baseline);
	tcase_add_test(tc, test_baseline_edges);

	TC("changes");
	tcase_add_test(tc, test_created_deleted);
	tcase_add_test(tc, test_renamed);
	tcase_add_test(tc, test_tags);
	tcase_add_test(tc, test_owner_authorized);
	tcase_add_test(tc, test_key_expiry_changed);
	tcase_add_test(tc, test_routes);
	tcase_add_test(tc, test_addresses);
	tcase_add_test(tc, test_updated);
	tcase_add_test(tc, test_several);
	tcase_add_test(tc, test_volatile_churn);
	tcase_add_test(tc, test_mass_held);

	TC("expiry");
	tcase_add_test(tc, test_expiry_steps);
	tcase_add_test(tc, test_expiry_boundaries);
	tcase_add_test(tc, test_expiry_first_seen_late);
	tcase_add_test(tc, test_expiry_skip_thresholds);
	tcase_add_test(tc, test_expiry_renewed);
	tcase_add_test(tc, test_expiry_disabled);
	tcase_add_test(tc, test_expiry_policy);

	TC("presence");
	tcase_add_test(tc, test_presence);
	tcase_add_test(tc, test_presence_with_change);
	tcase_add_test(tc, test_multiple_connections);

	TC("restart");
	tcase_add_test(tc, test_restart_no_events);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(hist_events_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
