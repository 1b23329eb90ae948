/* check_hist.c: unit tests for the history model: versions, bounds, address intervals, queries. */
#include <check.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "addr.h"
#include "fixture.h"
#include "hist.h"
#include "store.h"
#include "tstime.h"

#define SEC TSTIME_SEC
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define T0 ((tstime_t)1700000000 * TSTIME_SEC)
#define P(i) (T0 + (tstime_t)(i)*MIN) /* poll i: one a minute */
#define MID(a, b) ((a) + ((b) - (a)) / 2)
#define END ((json_t *)NULL)

static const char *const TN = "example.com";
static const struct hist_policy pol = {.mass_delete_percent = 50, .max_gap = HOUR};

static const char *dir;
static struct store *st;

/* ---- fixtures ---- */

static void
check_hist_open(size_t map_max)
{
	st = fixture_store_open(dir, map_max);
}

static void
check_hist_setup(void)
{
	dir = fixture_dir_new();
	check_hist_open(256 << 20);
}

static void
check_hist_teardown(void)
{
	store_close(st);
	st = NULL;
	fixture_dir_remove(dir);
}

static void
check_hist_reopen(void)
{
	store_close(st);
	st = NULL;
	check_hist_open(256 << 20);
}

/* ---- small text helpers (fixture.c: rotating buffers, so several can sit in one assert) ---- */

#define ts fixture_ts

static const char *
nid(int n)
{
	char *b = fixture_buf();

	snprintf(b, 64, "n%dCNTRL", n);
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

static const char *
jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* "id:state,id:state" for a list of holders, versions or listed devices. */
static const char *
summary(json_t *arr)
{
	char *b = fixture_buf();
	json_t *v;
	size_t i;

	json_array_foreach(arr, i, v)
	{
		const char *id = jstr(v, "nodeId");
		const char *state = jstr(v, "state");

		if (id == NULL)
			id = jstr(json_object_get(v, "device"), "nodeId");
		snprintf(b + strlen(b), 4096 - strlen(b), "%s%s%s%s", i ? "," : "", id ? id : "?",
		         state ? ":" : "", state ? state : "");
	}
	return b;
}

/* The "changed" list of a version, sorted and joined. */
static const char *
changed_of(json_t *ver)
{
	json_t *c = json_object_get(ver, "changed"), *v;
	const char *names[64];
	char *b = fixture_buf();
	size_t i, n = 0;

	ck_assert(json_is_array(c));
	json_array_foreach(c, i, v)
	{
		if (n < 64)
			names[n++] = json_string_value(v);
	}
	for (i = 1; i < n; i++)
		for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
			const char *t = names[j];
			names[j] = names[j - 1];
			names[j - 1] = t;
		}
	for (i = 0; i < n; i++)
		snprintf(b + strlen(b), 4096 - strlen(b), "%s%s", i ? "," : "", names[i]);
	return b;
}

#define CK_TIME(o, key, want) check_hist_time((o), (key), (want), __LINE__)
#define CK_BOUNDS(o, flo, fhi, tlo, thi)                                                           \
	do {                                                                                       \
		CK_TIME((o), "from_lo", (flo));                                                    \
		CK_TIME((o), "from_hi", (fhi));                                                    \
		CK_TIME((o), "to_lo", (tlo));                                                      \
		CK_TIME((o), "to_hi", (thi));                                                      \
	} while (0)

static void
check_hist_time(json_t *o, const char *key, tstime_t want, int line)
{
	json_t *v = json_object_get(o, key);

	ck_assert_msg(o != NULL, "line %d: no object to read %s from", line, key);
	if (want == TSTIME_NONE) {
		ck_assert_msg(json_is_null(v), "line %d: %s is %s, want null", line, key,
		              json_is_string(v) ? json_string_value(v) : "not null");
		return;
	}
	ck_assert_msg(json_is_string(v) && strcmp(json_string_value(v), ts(want)) == 0,
	              "line %d: %s is %s, want %s", line, key,
	              json_is_string(v) ? json_string_value(v) : "not a string", ts(want));
}

/* ---- devices and polls ---- */

/* Device N as the API lists it (a new reference). */
static json_t *
mkdev(int n)
{
	char name[64], host[32], id[16];
	json_t *d;

	snprintf(name, sizeof(name), "h%d.tail1234.ts.net", n);
	snprintf(host, sizeof(host), "h%d", n);
	snprintf(id, sizeof(id), "%d", 50000 + n);
	d = json_pack("{s:s, s:s, s:s, s:s, s:[s,s], s:b, s:s, s:s, s:s, s:s, s:[], s:s, s:b, s:s,"
	              " s:{s:[s], s:s}, s:b, s:b, s:b, s:b}",
	              "nodeId", nid(n), "id", id, "name", name, "hostname", host, "addresses",
	              v4(n), v6(n), "authorized", 1, "user", "alice@example.com", "os", "linux",
	              "created", "2023-01-01T00:00:00Z", "expires", "2024-06-01T00:00:00Z", "tags",
	              "lastSeen", "2023-11-14T22:13:20Z", "connectedToControl", 1, "clientVersion",
	              "1.56.1", "clientConnectivity", "endpoints", "192.0.2.1:41641", "derp", "fra",
	              "multipleConnections", 0, "updateAvailable", 0, "keyExpiryDisabled", 0,
	              "isExternal", 0);
	ck_assert_ptr_nonnull(d);
	return d;
}

static void
set_str(json_t *d, const char *key, const char *v)
{
	json_object_set_new(d, key, json_string(v));
}

static void
set_addrs(json_t *d, const char *a, const char *b)
{
	json_object_set_new(d, "addresses", b ? json_pack("[s,s]", a, b) : json_pack("[s]", a));
}

/* {"devices":[...]} of the listed devices (borrowed). */
static json_t *
body_va(json_t *first, va_list ap)
{
	json_t *list = json_array(), *d;

	for (d = first; d != NULL; d = va_arg(ap, json_t *))
		json_array_append(list, d);
	return json_pack("{s:o}", "devices", list);
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
	struct hist_poll_result r;
	json_t *body, *first;
	va_list ap;

	va_start(ap, t);
	first = va_arg(ap, json_t *);
	body = body_va(first, ap);
	va_end(ap);
	r = apply_body(t, body);
	json_decref(body);
	return r;
}

/* The same with the API's Date: DATE (the poll of a clock that stepped back). */
static struct hist_poll_result
apply_dated(tstime_t t, tstime_t date, ...)
{
	struct hist_policy dated = pol;
	struct hist_poll_result r;
	json_t *body, *first;
	char *cause = NULL;
	va_list ap;

	dated.api_date = date;
	va_start(ap, date);
	first = va_arg(ap, json_t *);
	body = body_va(first, ap);
	va_end(ap);
	ck_assert_msg(hist_devices_apply(st, TN, t, body, &dated, &r, &cause) == 0, "apply: %s",
	              cause);
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

/* ---- queries ---- */

static json_t *
ipat_tn(const char *tailnet, const char *ip, tstime_t at, int history)
{
	struct tsaddr a;
	json_t *out = NULL;
	char *cause = NULL;

	ck_assert_int_eq(addr_parse(ip, &a), 0);
	ck_assert_msg(hist_ip_at(st, tailnet, &a, at, history, &out, &cause) == HIST_OK,
	              "ip_at %s: %s", ip, cause);
	ck_assert_ptr_nonnull(out);
	return out;
}

static json_t *
ipat(const char *ip, tstime_t at, int history)
{
	return ipat_tn(TN, ip, at, history);
}

/* The answer and holders of ip_at as one string: "held n1CNTRL:held". */
static const char *
ipans(const char *ip, tstime_t at)
{
	json_t *r = ipat(ip, at, 0);
	char *b = fixture_buf();

	snprintf(b, 4096, "%s %s", jstr(r, "answer"), summary(json_object_get(r, "holders")));
	json_decref(r);
	return b;
}

static json_t *
devget(const char *q, tstime_t at, int history)
{
	json_t *out = NULL;
	char *cause = NULL;

	ck_assert_msg(hist_device_get(st, TN, q, at, history, &out, &cause) == HIST_OK,
	              "device_get %s: %s", q, cause);
	ck_assert_ptr_nonnull(out);
	return out;
}

/* The node id a query finds, or "notfound". */
static const char *
devfind(const char *q, tstime_t at)
{
	json_t *out = NULL;
	char *cause = NULL, *b = fixture_buf();
	int rc = hist_device_get(st, TN, q, at, 0, &out, &cause);

	if (rc == HIST_NOTFOUND) {
		ck_assert_ptr_nonnull(cause);
		ck_assert_ptr_null(out);
		free(cause);
		return "notfound";
	}
	ck_assert_msg(rc == HIST_OK, "device_get %s: %s", q, cause);
	snprintf(b, 4096, "%s", jstr(out, "nodeId"));
	json_decref(out);
	return b;
}

static json_t *
versions_of(const char *id)
{
	json_t *d = devget(id, TSTIME_NONE, 1), *v = json_incref(json_object_get(d, "versions"));

	json_decref(d);
	ck_assert(json_is_array(v));
	return v;
}

static size_t
nversions(const char *id)
{
	json_t *v = versions_of(id);
	size_t n = json_array_size(v);

	json_decref(v);
	return n;
}

static char *
list_text(tstime_t at)
{
	char *out = NULL, *cause = NULL;
	size_t len = 0;

	ck_assert_msg(hist_devices_list(st, TN, at, &out, &len, &cause) == HIST_OK, "list: %s",
	              cause);
	ck_assert_uint_eq(strlen(out), len);
	return out;
}

static json_t *
devlist(tstime_t at)
{
	char *text = list_text(at);
	json_error_t err;
	json_t *j = json_loads(text, 0, &err);

	ck_assert_msg(j != NULL, "list is not JSON: %s: %s", err.text, text);
	free(text);
	return j;
}

static const char *
listsum(tstime_t at)
{
	json_t *j = devlist(at);
	char *b = fixture_buf();

	snprintf(b, 4096, "%s", summary(json_object_get(j, "devices")));
	json_decref(j);
	return b;
}

static struct hist_endpoint
ep_get(void)
{
	struct hist_endpoint ep;
	char *cause = NULL;

	ck_assert_msg(hist_endpoint_get(st, TN, "devices", &ep, &cause) == 0, "%s", cause);
	return ep;
}

/* ---- the first poll and plain polls ---- */

START_TEST(test_first_poll)
{
	json_t *a = mkdev(1), *b = mkdev(2), *r, *h, *l, *d, *c;
	struct hist_poll_result res;
	struct hist_endpoint ep;

	ep = ep_get();
	ck_assert_str_eq(ep.result, "never");
	ck_assert(ep.last_poll == TSTIME_NONE && ep.last_ok == TSTIME_NONE);
	ck_assert_uint_eq(ep.failures, 0);
	hist_endpoint_free(&ep);
	ck_assert_str_eq(ipans(v4(1), TSTIME_NONE), "unknown ");

	res = apply(P(0), a, b, END);
	ck_assert(res.time == P(0));
	ck_assert_int_eq(res.held, 0);
	ck_assert_uint_eq(res.seen, 2);
	ck_assert_uint_eq(res.created, 2);
	ck_assert_uint_eq(res.changed + res.deleted + res.vol_updates, 0);
	ep = ep_get();
	ck_assert(ep.last_poll == P(0) && ep.last_ok == P(0));
	ck_assert_str_eq(ep.result, "ok");
	ck_assert_ptr_null(ep.error);
	ck_assert_uint_eq(ep.failures, 0);
	ck_assert_uint_eq(ep.entities, 2);
	ck_assert_int_eq(ep.pending_mass, 0);
	hist_endpoint_free(&ep);

	r = ipat(v4(1), P(0), 0);
	ck_assert_str_eq(jstr(r, "answer"), "held");
	ck_assert_str_eq(jstr(r, "ip"), "100.64.0.1");
	ck_assert_str_eq(jstr(r, "tailnet"), TN);
	CK_TIME(r, "at", P(0));
	ck_assert_uint_eq(json_array_size(json_object_get(r, "holders")), 1);
	h = json_array_get(json_object_get(r, "holders"), 0);
	ck_assert_str_eq(jstr(h, "nodeId"), nid(1));
	ck_assert_str_eq(jstr(h, "name"), "h1.tail1234.ts.net");
	ck_assert_str_eq(jstr(h, "hostname"), "h1");
	ck_assert_str_eq(jstr(h, "state"), "held");
	CK_BOUNDS(h, TSTIME_NONE, P(0), TSTIME_NONE, TSTIME_NONE);
	ck_assert_ptr_null(json_object_get(h, "exact_from"));
	ck_assert_ptr_null(json_object_get(r, "intervals"));
	json_decref(r);

	/* As of the last poll. */
	r = ipat(v4(2), TSTIME_NONE, 0);
	ck_assert_str_eq(jstr(r, "answer"), "held");
	CK_TIME(r, "at", P(0));
	json_decref(r);
	ck_assert_str_eq(ipans(v6(1), P(0)), "held n1CNTRL:held");
	ck_assert_str_eq(ipans("fd7a:115c:a1e0:0::2", P(0)), "held n2CNTRL:held");

	/* Before the first poll: unknown, and why. */
	r = ipat(v4(1), P(0) - 1, 0);
	ck_assert_str_eq(jstr(r, "answer"), "unknown");
	ck_assert_ptr_nonnull(strstr(jstr(r, "reason"), "before the first"));
	ck_assert_uint_eq(json_array_size(json_object_get(r, "holders")), 0);
	json_decref(r);
	/* After the last poll: maybe for the open holder, unknown for a free address. */
	ck_assert_str_eq(ipans(v4(1), P(0) + 1), "maybe n1CNTRL:maybe");
	r = ipat(v4(9), P(0) + 1, 0);
	ck_assert_str_eq(jstr(r, "answer"), "unknown");
	ck_assert_ptr_nonnull(strstr(jstr(r, "reason"), "after the last"));
	json_decref(r);
	/* At the poll itself a free address is covered: none. */
	r = ipat(v4(9), P(0), 0);
	ck_assert_str_eq(jstr(r, "answer"), "none");
	json_decref(r);

	/* The list now: both, held, with their volatile part apart. */
	l = devlist(TSTIME_NONE);
	ck_assert_str_eq(jstr(l, "tailnet"), TN);
	CK_TIME(l, "at", TSTIME_NONE);
	CK_TIME(l, "as_of", P(0));
	ck_assert_str_eq(jstr(l, "coverage"), "covered");
	ck_assert_str_eq(summary(json_object_get(l, "devices")), "n1CNTRL:held,n2CNTRL:held");
	d = json_array_get(json_object_get(l, "devices"), 0);
	CK_BOUNDS(d, TSTIME_NONE, P(0), TSTIME_NONE, TSTIME_NONE);
	ck_assert_str_eq(jstr(json_object_get(d, "device"), "name"), "h1.tail1234.ts.net");
	ck_assert_ptr_null(json_object_get(json_object_get(d, "device"), "lastSeen"));
	ck_assert_ptr_null(json_object_get(json_object_get(d, "device"), "connectedToControl"));
	ck_assert_str_eq(jstr(json_object_get(d, "volatile"), "lastSeen"), "2023-11-14T22:13:20Z");
	ck_assert(
	    json_is_true(json_object_get(json_object_get(d, "volatile"), "connectedToControl")));
	json_decref(l);

	/* One device, by id. */
	d = devget(nid(1), TSTIME_NONE, 1);
	ck_assert_str_eq(jstr(d, "nodeId"), nid(1));
	ck_assert_str_eq(jstr(d, "matched_by"), "id");
	ck_assert(json_is_false(json_object_get(d, "deleted")));
	c = json_object_get(d, "current");
	CK_BOUNDS(c, TSTIME_NONE, P(0), TSTIME_NONE, TSTIME_NONE);
	ck_assert_str_eq(jstr(json_object_get(c, "device"), "user"), "alice@example.com");
	ck_assert_str_eq(jstr(json_object_get(c, "volatile"), "lastSeen"), "2023-11-14T22:13:20Z");
	ck_assert_uint_eq(json_array_size(json_object_get(d, "versions")), 1);
	ck_assert_str_eq(changed_of(json_array_get(json_object_get(d, "versions"), 0)), "");
	json_decref(d);
	d = devget(nid(1), TSTIME_NONE, 0);
	ck_assert_ptr_null(json_object_get(d, "versions"));
	json_decref(d);
	decref_all(a, b, END);
}
END_TEST

START_TEST(test_unchanged_polls)
{
	json_t *a = mkdev(1), *b = mkdev(2);
	struct hist_poll_result res;
	struct hist_endpoint ep;

	apply(P(0), a, b, END);
	for (int i = 1; i <= 3; i++) {
		res = apply(P(i), b, a, END);
		ck_assert(res.time == P(i));
		ck_assert_uint_eq(res.seen, 2);
		ck_assert_uint_eq(res.created + res.changed + res.deleted + res.vol_updates, 0);
		ck_assert_int_eq(res.held, 0);
	}
	ck_assert_uint_eq(nversions(nid(1)), 1);
	ep = ep_get();
	ck_assert(ep.last_ok == P(3) && ep.last_poll == P(3));
	hist_endpoint_free(&ep);
	/* Held all along, between polls too; maybe only after the last. */
	ck_assert_str_eq(ipans(v4(1), MID(P(1), P(2))), "held n1CNTRL:held");
	ck_assert_str_eq(ipans(v4(1), P(3)), "held n1CNTRL:held");
	ck_assert_str_eq(ipans(v4(1), P(3) + 1), "maybe n1CNTRL:maybe");
	ck_assert_str_eq(ipans(v4(9), MID(P(0), P(1))), "none ");
	ck_assert_str_eq(listsum(P(2)), "n1CNTRL:held,n2CNTRL:held");
	decref_all(a, b, END);
}
END_TEST

/* ---- the IPv4 reassignment story ---- */

START_TEST(test_reassign)
{
	json_t *a = mkdev(1), *b = mkdev(2), *c = mkdev(3), *d = mkdev(4), *r, *iv, *x;
	struct hist_poll_result res;
	tstime_t mid = MID(P(1), P(2));

	set_addrs(a, "100.64.0.5", v6(1));
	set_addrs(b, "100.64.0.5", v6(2));
	apply(P(1), a, c, d, END);
	res = apply(P(2), b, c, d, END);
	ck_assert_uint_eq(res.created, 1);
	ck_assert_uint_eq(res.deleted, 1);
	ck_assert_int_eq(res.held, 0);

	ck_assert_str_eq(ipans("100.64.0.5", P(1)), "held n1CNTRL:held");
	ck_assert_str_eq(ipans("100.64.0.5", P(2)), "held n2CNTRL:held");
	ck_assert_str_eq(ipans("100.64.0.5", mid), "maybe n1CNTRL:maybe,n2CNTRL:maybe");
	ck_assert_str_eq(ipans("100.64.0.5", TSTIME_NONE), "held n2CNTRL:held");
	ck_assert_str_eq(ipans("100.64.0.5", P(1) - 1), "unknown ");

	r = ipat("100.64.0.5", mid, 1);
	ck_assert_ptr_nonnull(jstr(r, "reason"));
	/* The maybe holders carry the names they had at that time. */
	ck_assert_str_eq(jstr(json_array_get(json_object_get(r, "holders"), 0), "hostname"), "h1");
	ck_assert_str_eq(jstr(json_array_get(json_object_get(r, "holders"), 1), "hostname"), "h2");
	iv = json_object_get(r, "intervals");
	ck_assert_str_eq(summary(iv), "n1CNTRL,n2CNTRL");
	x = json_array_get(iv, 0);
	CK_BOUNDS(x, TSTIME_NONE, P(1), P(1), P(2));
	ck_assert_str_eq(jstr(x, "name"), "h1.tail1234.ts.net");
	x = json_array_get(iv, 1);
	CK_BOUNDS(x, P(1), P(2), TSTIME_NONE, TSTIME_NONE);
	ck_assert_str_eq(jstr(x, "name"), "h2.tail1234.ts.net");
	json_decref(r);

	/* The same history whatever time is asked. */
	r = ipat("100.64.0.5", TSTIME_NONE, 1);
	ck_assert_str_eq(summary(json_object_get(r, "intervals")), "n1CNTRL,n2CNTRL");
	CK_TIME(r, "at", P(2));
	json_decref(r);

	/* A device by address: the holder then, else the latest holder. */
	ck_assert_str_eq(devfind("100.64.0.5", P(1)), nid(1));
	ck_assert_str_eq(devfind("100.64.0.5", P(2)), nid(2));
	ck_assert_str_eq(devfind("100.64.0.5", TSTIME_NONE), nid(2));
	ck_assert_str_eq(devfind("100.64.0.5", P(1) - HOUR), nid(2));
	ck_assert_str_eq(devfind(v6(1), TSTIME_NONE), nid(1));
	ck_assert_str_eq(devfind("100.64.0.99", TSTIME_NONE), "notfound");
	r = devget("100.64.0.5", P(1), 0);
	ck_assert_str_eq(jstr(r, "matched_by"), "ip");
	json_decref(r);

	/* A's v6 was its own: closed with A. */
	r = ipat(v6(1), TSTIME_NONE, 1);
	ck_assert_str_eq(jstr(r, "answer"), "none");
	CK_BOUNDS(json_array_get(json_object_get(r, "intervals"), 0), TSTIME_NONE, P(1), P(1),
	          P(2));
	json_decref(r);
	decref_all(a, b, c, d, END);
}
END_TEST

/* ---- what makes a version ---- */

START_TEST(test_volatile_no_version)
{
	static const char *const fields[] = {"lastSeen", "connectedToControl", "clientConnectivity",
	                                     "multipleConnections"};
	json_t *a = mkdev(1), *b = mkdev(2), *d;
	struct hist_poll_result res;
	int i = 1;

	apply(P(0), a, b, END);
	json_object_set_new(a, "lastSeen", json_string("2023-11-15T00:00:00Z"));
	json_object_set_new(a, "connectedToControl", json_false());
	json_object_set_new(a, "clientConnectivity",
	                    json_pack("{s:[s,s], s:s}", "endpoints", "192.0.2.7:41641",
	                              "198.51.100.1:1", "derp", "nyc"));
	json_object_set_new(a, "multipleConnections", json_true());
	/* One at a time, then each removed. */
	for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
		json_t *m = json_deep_copy(a);

		for (size_t g = f + 1; g < sizeof(fields) / sizeof(fields[0]); g++)
			json_object_set(m, fields[g], json_object_get(b, fields[g]));
		res = apply(P(i++), m, b, END);
		ck_assert_msg(res.vol_updates == 1 && res.changed == 0 && res.created == 0,
		              "%s: vol %zu changed %zu", fields[f], res.vol_updates, res.changed);
		json_decref(m);
	}
	for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
		json_object_del(a, fields[f]);
		res = apply(P(i++), a, b, END);
		ck_assert_msg(res.vol_updates == 1 && res.changed == 0, "%s removed", fields[f]);
	}
	ck_assert_uint_eq(nversions(nid(1)), 1);
	d = devget(nid(1), TSTIME_NONE, 0);
	ck_assert_uint_eq(
	    json_object_size(json_object_get(json_object_get(d, "current"), "volatile")), 0);
	CK_BOUNDS(json_object_get(d, "current"), TSTIME_NONE, P(0), TSTIME_NONE, TSTIME_NONE);
	json_decref(d);
	json_object_set_new(a, "lastSeen", json_string("2023-11-16T00:00:00Z"));
	apply(P(i++), a, b, END);
	d = devlist(TSTIME_NONE);
	ck_assert_str_eq(
	    jstr(json_object_get(json_array_get(json_object_get(d, "devices"), 0), "volatile"),
	         "lastSeen"),
	    "2023-11-16T00:00:00Z");
	json_decref(d);
	ck_assert_uint_eq(nversions(nid(1)), 1);
	/* updateAvailable is no volatile field: a security fact, versioned. */
	json_object_set_new(a, "updateAvailable", json_true());
	res = apply(P(i++), a, b, END);
	ck_assert_uint_eq(res.changed, 1);
	ck_assert_uint_eq(nversions(nid(1)), 2);
	decref_all(a, b, END);
}
END_TEST

/* The same device with its keys inserted in reverse and its lists reversed. */
static json_t *
reversed(json_t *d)
{
	json_t *r = json_object(), *v;
	const char *keys[64];
	const char *key;
	size_t n = 0;

	json_object_foreach(d, key, v)
	{
		keys[n++] = key;
	}
	while (n-- > 0) {
		v = json_object_get(d, keys[n]);
		if (json_is_array(v)) {
			json_t *a = json_array();

			for (size_t i = json_array_size(v); i-- > 0;)
				json_array_append(a, json_array_get(v, i));
			json_object_set_new(r, keys[n], a);
		} else
			json_object_set(r, keys[n], v);
	}
	return r;
}

START_TEST(test_reorder_no_version)
{
	json_t *a = mkdev(1), *b = mkdev(2), *ra;
	struct hist_poll_result res;

	json_object_set_new(a, "tags", json_pack("[s,s,s]", "tag:web", "tag:db", "tag:prod"));
	json_object_set_new(a, "enabledRoutes", json_pack("[s,s]", "10.0.0.0/8", "0.0.0.0/0"));
	apply(P(0), a, b, END);
	ra = reversed(a);
	res = apply(P(1), ra, b, END);
	ck_assert_uint_eq(res.changed + res.vol_updates + res.created + res.deleted, 0);
	/* Same set, yet another order. */
	json_object_set_new(ra, "tags", json_pack("[s,s,s]", "tag:db", "tag:web", "tag:prod"));
	res = apply(P(2), ra, b, END);
	ck_assert_uint_eq(res.changed + res.vol_updates, 0);
	ck_assert_uint_eq(nversions(nid(1)), 1);
	/* A tag more is a change. */
	json_object_set_new(ra, "tags", json_pack("[s,s]", "tag:db", "tag:web"));
	res = apply(P(3), ra, b, END);
	ck_assert_uint_eq(res.changed, 1);
	ck_assert_uint_eq(nversions(nid(1)), 2);
	decref_all(a, b, ra, END);
}
END_TEST

/* Stable fields: a change of any closes the old version and opens a new one. */
static const struct {
	const char *field;
	const char *value; /* JSON; NULL: the field is removed */
} stable_changes[] = {
    {"name", "\"renamed.tail1234.ts.net\""},
    {"hostname", "\"other-host\""},
    {"tags", "[\"tag:server\"]"},
    {"user", "\"bob@example.com\""},
    {"addresses", "[\"100.64.0.77\"]"},
    {"authorized", "false"},
    {"expires", "\"2025-01-01T00:00:00Z\""},
    {"os", "\"windows\""},
    {"clientVersion", "\"1.58.0\""},
    {"keyExpiryDisabled", "true"},
    {"isExternal", "true"},
    {"created", "\"2023-02-01T00:00:00Z\""},
    {"enabledRoutes", "[\"10.0.0.0/8\"]"},
    {"advertisedRoutes", "[\"192.168.0.0/24\"]"},
    {"tailnetLockKey", "\"tlpub:abc\""},
    {"user", NULL},
    {"tags", NULL},
};

START_TEST(test_stable_change)
{
	json_t *a = mkdev(1), *b = mkdev(2), *vs, *v0, *v1, *d, *l, *r;
	const char *field = stable_changes[_i].field;
	struct hist_poll_result res;
	tstime_t mid = MID(P(0), P(1));

	apply(P(0), a, b, END);
	if (stable_changes[_i].value == NULL)
		json_object_del(a, field);
	else
		json_object_set_new(a, field,
		                    json_loads(stable_changes[_i].value, JSON_DECODE_ANY, NULL));
	/* A volatile change alongside changes nothing about it. */
	json_object_set_new(a, "lastSeen", json_string("2023-11-14T23:00:00Z"));
	res = apply(P(1), a, b, END);
	ck_assert_uint_eq(res.changed, 1);
	ck_assert_uint_eq(res.created + res.deleted + res.vol_updates, 0);
	vs = versions_of(nid(1));
	ck_assert_uint_eq(json_array_size(vs), 2);
	v0 = json_array_get(vs, 0);
	v1 = json_array_get(vs, 1);
	CK_BOUNDS(v0, TSTIME_NONE, P(0), P(0), P(1));
	CK_BOUNDS(v1, P(0), P(1), TSTIME_NONE, TSTIME_NONE);
	ck_assert_str_eq(changed_of(v0), "");
	ck_assert_str_eq(changed_of(v1), field);
	if (stable_changes[_i].value == NULL) {
		ck_assert_ptr_null(json_object_get(json_object_get(v1, "device"), field));
		ck_assert_ptr_nonnull(json_object_get(json_object_get(v0, "device"), field));
	} else
		ck_assert(json_equal(json_object_get(json_object_get(v1, "device"), field),
		                     json_object_get(a, field)));
	json_decref(vs);
	/* The other device is untouched. */
	ck_assert_uint_eq(nversions(nid(2)), 1);

	/* Which version when. */
	d = devget(nid(1), P(0), 1);
	ck_assert_str_eq(jstr(json_object_get(d, "current"), "state"), "held");
	CK_TIME(json_object_get(d, "current"), "from_hi", P(0));
	/* At from_lo the poll saw the old version: the new one is not even maybe. */
	ck_assert_str_eq(summary(json_object_get(d, "versions")), "n1CNTRL:held,n1CNTRL:none");
	json_decref(d);
	d = devget(nid(1), mid, 1);
	ck_assert_str_eq(jstr(json_object_get(d, "current"), "state"), "maybe");
	ck_assert_str_eq(summary(json_object_get(d, "versions")), "n1CNTRL:maybe,n1CNTRL:maybe");
	json_decref(d);
	d = devget(nid(1), P(1), 1);
	ck_assert_str_eq(jstr(json_object_get(d, "current"), "state"), "held");
	CK_TIME(json_object_get(d, "current"), "from_hi", P(1));
	ck_assert_str_eq(summary(json_object_get(d, "versions")), "n1CNTRL:none,n1CNTRL:held");
	json_decref(d);
	/* One row per device: n1 was certainly there, only which version is unknown. */
	ck_assert_str_eq(listsum(mid), "n1CNTRL:maybe,n2CNTRL:held");
	l = devlist(mid);
	r = json_array_get(json_object_get(l, "devices"), 0);
	ck_assert_str_eq(jstr(r, "presence"), "present");
	ck_assert_str_eq(jstr(r, "version"), "uncertain");
	ck_assert_uint_eq(json_array_size(json_object_get(r, "versions")), 2);
	r = json_array_get(json_object_get(l, "devices"), 1);
	ck_assert_str_eq(jstr(r, "presence"), "present");
	ck_assert_str_eq(jstr(r, "version"), "certain");
	ck_assert_ptr_null(json_object_get(r, "versions"));
	json_decref(l);
	ck_assert_str_eq(listsum(P(1)), "n1CNTRL:held,n2CNTRL:held");

	/* Seen again unchanged: no more versions. */
	res = apply(P(2), a, b, END);
	ck_assert_uint_eq(res.changed + res.created, 0);
	ck_assert_uint_eq(nversions(nid(1)), 2);
	decref_all(a, b, END);
}
END_TEST

START_TEST(test_history_changed)
{
	json_t *a = mkdev(1), *b = mkdev(2), *vs;

	apply(P(0), a, b, END);
	json_object_set_new(a, "tags", json_pack("[s]", "tag:x"));
	apply(P(1), a, b, END);
	json_object_set_new(a, "authorized", json_false());
	set_str(a, "user", "carol@example.com");
	apply(P(2), a, b, END);
	json_object_del(a, "user");
	json_object_set_new(a, "newField", json_integer(1));
	apply(P(3), a, b, END);
	vs = versions_of(nid(1));
	ck_assert_uint_eq(json_array_size(vs), 4);
	ck_assert_str_eq(changed_of(json_array_get(vs, 0)), "");
	ck_assert_str_eq(changed_of(json_array_get(vs, 1)), "tags");
	ck_assert_str_eq(changed_of(json_array_get(vs, 2)), "authorized,user");
	ck_assert_str_eq(changed_of(json_array_get(vs, 3)), "newField,user");
	/* Oldest first, chained: each version ends where the next begins. */
	for (int i = 0; i < 4; i++) {
		json_t *v = json_array_get(vs, (size_t)i);

		CK_BOUNDS(v, i ? P(i - 1) : TSTIME_NONE, P(i), i < 3 ? P(i) : TSTIME_NONE,
		          i < 3 ? P(i + 1) : TSTIME_NONE);
	}
	ck_assert_str_eq(jstr(json_object_get(json_array_get(vs, 2), "device"), "user"),
	                 "carol@example.com");
	json_decref(vs);
	decref_all(a, b, END);
}
END_TEST

/* ---- address intervals follow the address set ---- */

START_TEST(test_addresses_follow)
{
	json_t *a = mkdev(1), *b = mkdev(2), *r;
	tstime_t mid = MID(P(1), P(2));

	apply(P(0), a, b, END);
	set_str(a, "name", "renamed.tail1234.ts.net");
	apply(P(1), a, b, END);
	/* A rename keeps the addresses: one interval each, open since P0. */
	r = ipat(v4(1), TSTIME_NONE, 1);
	ck_assert_uint_eq(json_array_size(json_object_get(r, "intervals")), 1);
	CK_BOUNDS(json_array_get(json_object_get(r, "intervals"), 0), TSTIME_NONE, P(0),
	          TSTIME_NONE, TSTIME_NONE);
	/* The holder is named as it is at the time asked. */
	ck_assert_str_eq(jstr(json_array_get(json_object_get(r, "holders"), 0), "name"),
	                 "renamed.tail1234.ts.net");
	json_decref(r);
	r = ipat(v4(1), P(0), 0);
	ck_assert_str_eq(jstr(json_array_get(json_object_get(r, "holders"), 0), "name"),
	                 "h1.tail1234.ts.net");
	json_decref(r);

	/* The v4 changes, the v6 stays. */
	set_addrs(a, v6(1), "100.64.0.77");
	apply(P(2), a, b, END);
	r = ipat(v4(1), TSTIME_NONE, 1);
	ck_assert_str_eq(jstr(r, "answer"), "none");
	ck_assert_uint_eq(json_array_size(json_object_get(r, "intervals")), 1);
	CK_BOUNDS(json_array_get(json_object_get(r, "intervals"), 0), TSTIME_NONE, P(0), P(1),
	          P(2));
	json_decref(r);
	r = ipat("100.64.0.77", TSTIME_NONE, 1);
	ck_assert_str_eq(jstr(r, "answer"), "held");
	ck_assert_uint_eq(json_array_size(json_object_get(r, "intervals")), 1);
	CK_BOUNDS(json_array_get(json_object_get(r, "intervals"), 0), P(1), P(2), TSTIME_NONE,
	          TSTIME_NONE);
	json_decref(r);
	r = ipat(v6(1), TSTIME_NONE, 1);
	ck_assert_uint_eq(json_array_size(json_object_get(r, "intervals")), 1);
	CK_BOUNDS(json_array_get(json_object_get(r, "intervals"), 0), TSTIME_NONE, P(0),
	          TSTIME_NONE, TSTIME_NONE);
	json_decref(r);
	ck_assert_str_eq(ipans(v4(1), P(1)), "held n1CNTRL:held");
	ck_assert_str_eq(ipans(v4(1), mid), "maybe n1CNTRL:maybe");
	ck_assert_str_eq(ipans("100.64.0.77", mid), "maybe n1CNTRL:maybe");
	ck_assert_str_eq(ipans(v4(1), P(2)), "none ");
	ck_assert_str_eq(ipans("100.64.0.77", P(2)), "held n1CNTRL:held");
	ck_assert_str_eq(ipans(v6(1), mid), "held n1CNTRL:held");

	/* And back: a second interval for the old address. */
	set_addrs(a, v6(1), v4(1));
	apply(P(3), a, b, END);
	r = ipat(v4(1), TSTIME_NONE, 1);
	ck_assert_str_eq(summary(json_object_get(r, "intervals")), "n1CNTRL,n1CNTRL");
	CK_BOUNDS(json_array_get(json_object_get(r, "intervals"), 1), P(2), P(3), TSTIME_NONE,
	          TSTIME_NONE);
	json_decref(r);
	ck_assert_str_eq(ipans("100.64.0.77", P(3)), "none ");
	ck_assert_uint_eq(nversions(nid(1)), 4);

	/* Two devices swap addresses in one poll. */
	set_addrs(a, v4(2), v6(1));
	set_addrs(b, v4(1), v6(2));
	apply(P(4), a, b, END);
	ck_assert_str_eq(ipans(v4(1), P(4)), "held n2CNTRL:held");
	ck_assert_str_eq(ipans(v4(2), P(4)), "held n1CNTRL:held");
	ck_assert_str_eq(ipans(v4(1), P(3)), "held n1CNTRL:held");
	ck_assert_str_eq(ipans(v4(2), P(3)), "held n2CNTRL:held");
	ck_assert_str_eq(ipans(v4(1), MID(P(3), P(4))), "maybe n1CNTRL:maybe,n2CNTRL:maybe");
	decref_all(a, b, END);
}
END_TEST

/* ---- an exact start from the API's "created" ---- */

START_TEST(test_exact_created)
{
	json_t *a = mkdev(1), *b = mkdev(2), *c = mkdev(3), *d = mkdev(4), *e = mkdev(5),
	       *f = mkdev(6), *g = mkdev(7), *r, *cur;
	tstime_t created = P(0) + 20 * SEC;

	/* On the first poll nothing is exact, however recent its creation. */
	set_str(a, "created", ts(P(0) - SEC));
	apply(P(0), a, END);
	r = devget(nid(1), TSTIME_NONE, 0);
	CK_BOUNDS(json_object_get(r, "current"), TSTIME_NONE, P(0), TSTIME_NONE, TSTIME_NONE);
	ck_assert_ptr_null(json_object_get(json_object_get(r, "current"), "exact_from"));
	json_decref(r);

	set_str(b, "created", ts(created));     /* in (P0, P1]: exact */
	set_str(c, "created", ts(P(0) - HOUR)); /* before the previous poll: not */
	set_str(d, "created", ts(P(1) + HOUR)); /* after this poll (a skewed clock): not */
	set_str(e, "created", ts(P(0)));        /* at the previous poll: not */
	set_str(f, "created", ts(P(1)));        /* at this poll: exact */
	set_str(g, "created", "");              /* empty, as the API says for some nodes */
	apply(P(1), a, b, c, d, e, f, g, END);

	r = devget(nid(2), TSTIME_NONE, 1);
	cur = json_object_get(r, "current");
	CK_BOUNDS(cur, created, P(1), TSTIME_NONE, TSTIME_NONE);
	ck_assert(json_is_true(json_object_get(cur, "exact_from")));
	ck_assert(json_is_true(
	    json_object_get(json_array_get(json_object_get(r, "versions"), 0), "exact_from")));
	json_decref(r);
	r = ipat(v4(2), created, 1);
	ck_assert_str_eq(jstr(r, "answer"), "held");
	ck_assert(json_is_true(
	    json_object_get(json_array_get(json_object_get(r, "intervals"), 0), "exact_from")));
	CK_BOUNDS(json_array_get(json_object_get(r, "intervals"), 0), created, P(1), TSTIME_NONE,
	          TSTIME_NONE);
	json_decref(r);
	ck_assert_str_eq(ipans(v4(2), created - 1), "none ");
	ck_assert_str_eq(ipans(v4(2), P(0) + 10 * SEC), "none ");
	ck_assert_str_eq(ipans(v4(2), MID(created, P(1))), "held n2CNTRL:held");

	for (int n = 3; n <= 7; n++) {
		r = devget(nid(n), TSTIME_NONE, 0);
		cur = json_object_get(r, "current");
		if (n == 6) {
			CK_BOUNDS(cur, P(1), P(1), TSTIME_NONE, TSTIME_NONE);
			ck_assert(json_is_true(json_object_get(cur, "exact_from")));
		} else {
			CK_BOUNDS(cur, P(0), P(1), TSTIME_NONE, TSTIME_NONE);
			ck_assert_msg(json_object_get(cur, "exact_from") == NULL, "device %d", n);
		}
		json_decref(r);
	}
	ck_assert_str_eq(ipans(v4(3), MID(P(0), P(1))), "maybe n3CNTRL:maybe");
	/* A volatile update keeps the exact start. */
	json_object_set_new(b, "lastSeen", json_string("2023-11-20T00:00:00Z"));
	ck_assert_uint_eq(apply(P(2), a, b, c, d, e, f, g, END).vol_updates, 1);
	r = devget(nid(2), TSTIME_NONE, 0);
	cur = json_object_get(r, "current");
	CK_BOUNDS(cur, created, P(1), TSTIME_NONE, TSTIME_NONE);
	ck_assert(json_is_true(json_object_get(cur, "exact_from")));
	json_decref(r);
	ck_assert_str_eq(listsum(created),
	                 "n1CNTRL:held,n2CNTRL:held,n3CNTRL:maybe,n4CNTRL:maybe,n5CNTRL:maybe,"
	                 "n7CNTRL:maybe");
	decref_all(a, b, c, d, e, f, g, END);
}
END_TEST

/* ---- mass disappearance ---- */

START_TEST(test_mass_hold_confirm)
{
	json_t *a = mkdev(1), *b = mkdev(2), *c = mkdev(3), *d = mkdev(4), *r;
	struct hist_poll_result res;
	struct hist_endpoint ep;

	apply(P(0), a, b, c, d, END);
	/* A change that comes with a mass disappearance waits too. */
	set_str(a, "name", "renamed.tail1234.ts.net");
	res = apply(P(1), a, END);
	ck_assert_int_eq(res.held, 1);
	ck_assert(res.time == P(1));
	ck_assert_uint_eq(res.deleted + res.changed + res.created, 0);
	ep = ep_get();
	ck_assert_str_eq(ep.result, "held");
	ck_assert(ep.last_poll == P(1));
	ck_assert(ep.last_ok == P(0));
	ck_assert_int_eq(ep.pending_mass, 1);
	ck_assert_ptr_nonnull(ep.error);
	ck_assert_msg(strstr(ep.error, "3 of 4") != NULL, "%s", ep.error);
	hist_endpoint_free(&ep);
	ck_assert_str_eq(listsum(TSTIME_NONE),
	                 "n1CNTRL:held,n2CNTRL:held,n3CNTRL:held,n4CNTRL:held");
	ck_assert_uint_eq(nversions(nid(1)), 1);
	ck_assert_uint_eq(nversions(nid(2)), 1);
	r = ipat(v4(2), TSTIME_NONE, 0);
	ck_assert_str_eq(jstr(r, "answer"), "held");
	CK_TIME(r, "at", P(0));
	json_decref(r);

	/* Confirmed: applied at the second poll. */
	res = apply(P(2), a, END);
	ck_assert_int_eq(res.held, 0);
	ck_assert_uint_eq(res.deleted, 3);
	ck_assert_uint_eq(res.changed, 1);
	ep = ep_get();
	ck_assert_str_eq(ep.result, "ok");
	ck_assert_int_eq(ep.pending_mass, 0);
	ck_assert_ptr_null(ep.error);
	ck_assert(ep.last_ok == P(2));
	ck_assert_uint_eq(ep.entities, 1);
	hist_endpoint_free(&ep);
	ck_assert_str_eq(listsum(TSTIME_NONE), "n1CNTRL:held");
	r = devget(nid(2), TSTIME_NONE, 1);
	ck_assert(json_is_true(json_object_get(r, "deleted")));
	CK_BOUNDS(json_object_get(r, "last"), TSTIME_NONE, P(0), P(0), P(2));
	json_decref(r);
	ck_assert_str_eq(ipans(v4(2), P(1)), "maybe n2CNTRL:maybe");
	ck_assert_str_eq(ipans(v4(2), P(2)), "none ");
	/* The rename waited with it. */
	r = versions_of(nid(1));
	CK_BOUNDS(json_array_get(r, 1), P(0), P(2), TSTIME_NONE, TSTIME_NONE);
	json_decref(r);
	decref_all(a, b, c, d, END);
}
END_TEST

START_TEST(test_mass_hold_cleared)
{
	json_t *a = mkdev(1), *b = mkdev(2), *c = mkdev(3), *d = mkdev(4);
	struct hist_poll_result res;
	struct hist_endpoint ep;

	apply(P(0), a, b, c, d, END);
	res = apply(P(1), a, END);
	ck_assert_int_eq(res.held, 1);
	/* They are back: the hold is cleared, nothing happened. */
	res = apply(P(2), a, b, c, d, END);
	ck_assert_int_eq(res.held, 0);
	ck_assert_uint_eq(res.deleted + res.created + res.changed, 0);
	ep = ep_get();
	ck_assert_str_eq(ep.result, "ok");
	ck_assert_int_eq(ep.pending_mass, 0);
	ck_assert(ep.last_ok == P(2));
	hist_endpoint_free(&ep);
	for (int n = 1; n <= 4; n++)
		ck_assert_uint_eq(nversions(nid(n)), 1);
	ck_assert_str_eq(ipans(v4(2), P(1)), "held n2CNTRL:held");
	/* So a new disappearance is held again, not applied on the strength of the old one. */
	res = apply(P(3), b, END);
	ck_assert_int_eq(res.held, 1);
	ck_assert_str_eq(listsum(TSTIME_NONE),
	                 "n1CNTRL:held,n2CNTRL:held,n3CNTRL:held,n4CNTRL:held");
	/* A failed poll in between keeps the hold pending. */
	ck_assert_int_eq(hist_poll_failed(st, TN, "devices", P(4), "timeout", NULL), 0);
	res = apply(P(5), b, END);
	ck_assert_int_eq(res.held, 0);
	ck_assert_uint_eq(res.deleted, 3);
	ck_assert_str_eq(listsum(TSTIME_NONE), "n2CNTRL:held");
	decref_all(a, b, c, d, END);
}
END_TEST

static const struct {
	int before, after, held;
} mass_cases[] = {
    {6, 5, 0}, /* 1 of 6 */
    {6, 3, 0}, /* exactly half is not more than half */
    {6, 2, 1}, {2, 1, 0}, {2, 0, 1}, {1, 0, 1}, {3, 1, 1}, {4, 2, 0}, {10, 4, 1}, {10, 5, 0},
};

START_TEST(test_mass_threshold)
{
	json_t *devs[10], *body = json_pack("{s:[]}", "devices"), *body2;
	int before = mass_cases[_i].before, after = mass_cases[_i].after;
	struct hist_poll_result res;

	for (int i = 0; i < before; i++) {
		devs[i] = mkdev(i + 1);
		json_array_append(json_object_get(body, "devices"), devs[i]);
	}
	apply_body(P(0), body);
	body2 = json_pack("{s:[]}", "devices");
	for (int i = 0; i < after; i++)
		json_array_append(json_object_get(body2, "devices"), devs[i]);
	res = apply_body(P(1), body2);
	ck_assert_int_eq(res.held, mass_cases[_i].held);
	ck_assert_uint_eq(res.deleted, mass_cases[_i].held ? 0 : (size_t)(before - after));
	ck_assert_uint_eq(res.seen, (size_t)after);
	res = apply_body(P(2), body2);
	ck_assert_int_eq(res.held, 0);
	ck_assert_uint_eq(res.deleted, mass_cases[_i].held ? (size_t)(before - after) : 0);
	/* The last one gone was seen last at P0 either way. */
	if (after < before) {
		json_t *r = devget(nid(before), TSTIME_NONE, 0);

		CK_TIME(json_object_get(r, "last"), "to_lo", P(0));
		CK_TIME(json_object_get(r, "last"), "to_hi", mass_cases[_i].held ? P(2) : P(1));
		json_decref(r);
	}
	for (int i = 0; i < before; i++)
		json_decref(devs[i]);
	json_decref(body);
	json_decref(body2);
}
END_TEST

/* ---- answers that do not check out ---- */

static const char *const bad_bodies[] = {
    "{}", "{\"devices\":{}}", "{\"devices\":\"n1\"}", "{\"device\":[]}", "[]", "null",
};

#define RENAMED_A                                                                                  \
	"{\"nodeId\":\"n1CNTRL\",\"name\":\"renamed.tail1234.ts.net\",\"addresses\":[\"100.64.0."  \
	"1\"]}"

static const char *const bad_devices[] = {
    "{\"name\":\"x.tail1234.ts.net\"}",
    "{\"nodeId\":\"\"}",
    "{\"nodeId\":42}",
    "{\"nodeId\":null}",
    "{\"nodeId\":\"n 9\"}",
    "{\"nodeId\":\"n9/x\"}",
    "{\"nodeId\":\"n9\",\"addresses\":\"100.64.0.9\"}",
    "{\"nodeId\":\"n9\",\"addresses\":{}}",
    "{\"nodeId\":\"n9\",\"addresses\":[\"bogus\"]}",
    "{\"nodeId\":\"n9\",\"addresses\":[9]}",
    "{\"nodeId\":\"n9\",\"addresses\":[null]}",
    "{\"nodeId\":\"n9\",\"addresses\":[\"100.64.0.0/10\"]}",
    "{\"nodeId\":\"n9\",\"addresses\":[\"100.64.0.9\",\"\"]}",
    "{\"nodeId\":\"n9\",\"addresses\":[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\"]}",
    "{\"nodeId\":\"n9\",\"name\":5}",
    "{\"nodeId\":\"n9\",\"name\":[\"a\"]}",
    "{\"nodeId\":\"n9\",\"name\":true}",
    "{\"nodeId\":\"n9\",\"hostname\":{}}",
    "{\"nodeId\":\"n9\",\"user\":1}",
    "{\"nodeId\":\"n9\",\"os\":[]}",
    "{\"nodeId\":\"n9\",\"tags\":\"tag:x\"}",
    "{\"nodeId\":\"n9\",\"tags\":[1]}",
    "{\"nodeId\":\"n9\",\"enabledRoutes\":[null]}",
    "{\"nodeId\":\"n9\",\"advertisedRoutes\":{}}",
    "\"n9\"",
    "9",
    "null",
    "[]",
};

/* Polls at P(BASE), then a bad answer at P(BASE + 1), then the good one again. */
static void
check_hist_bad(const char *text, int base)
{
	json_t *a = mkdev(1), *b = mkdev(2), *body;
	struct hist_poll_result res;
	struct hist_endpoint ep;
	char *before, *after, *cause = NULL;

	apply(P(base), a, b, END);
	before = list_text(TSTIME_NONE);
	body = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
	ck_assert_msg(text == NULL || body != NULL, "test body does not parse: %s", text);
	ck_assert_msg(hist_devices_apply(st, TN, P(base + 1), body, &pol, &res, &cause) == -1,
	              "accepted: %s", text);
	ck_assert_ptr_nonnull(cause);
	ck_assert_uint_gt(strlen(cause), 0);
	free(cause);
	json_decref(body);
	/* Nothing changed: not the devices, not the endpoint's state. */
	after = list_text(TSTIME_NONE);
	ck_assert_str_eq(before, after);
	free(before);
	free(after);
	ck_assert_uint_eq(nversions(nid(1)), 1);
	ck_assert_str_eq(devfind("renamed", TSTIME_NONE), "notfound");
	ck_assert_str_eq(devfind("n9", TSTIME_NONE), "notfound");
	ep = ep_get();
	ck_assert(ep.last_ok == P(base));
	ck_assert(ep.last_poll == P(base));
	ck_assert_str_eq(ep.result, "ok");
	ck_assert_uint_eq(ep.failures, 0);
	hist_endpoint_free(&ep);
	/* A later good poll goes on from there. */
	res = apply(P(base + 2), a, b, END);
	ck_assert(res.time == P(base + 2));
	ck_assert_uint_eq(res.changed + res.created + res.deleted, 0);
	decref_all(a, b, END);
}

START_TEST(test_bad_body)
{
	check_hist_bad(bad_bodies[_i], 0);
}
END_TEST

START_TEST(test_bad_device)
{
	char text[1024];

	/* A good change first, so that a partial apply would show. */
	snprintf(text, sizeof(text), "{\"devices\":[%s,%s]}", RENAMED_A, bad_devices[_i]);
	check_hist_bad(text, 0);
	snprintf(text, sizeof(text), "{\"devices\":[%s]}", bad_devices[_i]);
	check_hist_bad(text, 10);
}
END_TEST

START_TEST(test_bad_misc)
{
	char text[4096], id[200];

	check_hist_bad(NULL, 0);
	/* A node id longer than any real one. */
	memset(id, 'n', 129);
	id[129] = '\0';
	snprintf(text, sizeof(text), "{\"devices\":[{\"nodeId\":\"%s\"}]}", id);
	check_hist_bad(text, 10);
	/* More than 16 addresses. */
	snprintf(text, sizeof(text), "{\"devices\":[{\"nodeId\":\"n9\",\"addresses\":[");
	for (int i = 0; i < 17; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text), "%s\"100.64.1.%d\"",
		         i ? "," : "", i);
	snprintf(text + strlen(text), sizeof(text) - strlen(text), "]}]}");
	check_hist_bad(text, 20);
}
END_TEST

START_TEST(test_good_edges)
{
	json_t *a = mkdev(1), *b = mkdev(2), *r;
	char id[129];

	/* 128 characters is a node id still; null names, no addresses and a /32 are fine (the
	 * list itself is always there: see test_bad_members). */
	memset(id, 'n', 128);
	id[128] = '\0';
	set_str(a, "nodeId", id);
	json_object_set_new(a, "name", json_null());
	json_object_set_new(a, "addresses", json_array());
	set_addrs(b, "100.64.0.2/32", "fd7a:115c:a1e0::2/128");
	apply(P(0), a, b, END);
	ck_assert_str_eq(devfind(id, TSTIME_NONE), id);
	ck_assert_str_eq(ipans(v4(2), P(0)), "held n2CNTRL:held");
	r = ipat(v6(2), P(0), 0);
	ck_assert_str_eq(jstr(r, "answer"), "held");
	json_decref(r);
	/* An empty answer from the start is no device, not an error. */
	json_decref(a);
	a = json_pack("{s:[]}", "devices");
	ck_assert_int_eq(hist_devices_apply(st, "empty.example", P(0), a, &pol,
	                                    &(struct hist_poll_result){0}, NULL),
	                 0);
	decref_all(a, b, END);
}
END_TEST

/* Every member the API always sends: without one the answer records nothing. */
START_TEST(test_bad_members)
{
	static const char *const members[] = {
	    "id", "addresses",  "name",       "hostname",
	    "os", "authorized", "isExternal", "keyExpiryDisabled"};
	json_t *a = mkdev(1), *b = mkdev(2), *c = mkdev(3), *body;
	struct hist_poll_result res;
	char *cause = NULL, want[160];

	apply(P(0), a, b, END);
	for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
		json_t *bad = json_deep_copy(b);

		json_object_del(bad, members[i]);
		body = json_pack("{s:[O,O,O]}", "devices", a, c, bad);
		ck_assert_int_eq(hist_devices_apply(st, TN, P(1 + i), body, &pol, &res, &cause),
		                 -1);
		snprintf(want, sizeof(want), "devices: device 3 (nodeId \"n2CNTRL\"): no \"%s\" %s",
		         members[i],
		         strcmp(members[i], "addresses") == 0 ? "list"
		         : i >= 5                             ? "boolean"
		                                              : "string");
		ck_assert_str_eq(cause, want);
		free(cause);
		cause = NULL;
		json_decref(body);
		json_decref(bad);
	}
	/* Nothing of those answers was recorded: n3 is unknown, n1 and n2 as at P0. */
	ck_assert_str_eq(devfind(nid(3), TSTIME_NONE), "notfound");
	res = apply(P(20), a, b, END);
	ck_assert_uint_eq(res.created + res.changed + res.deleted + res.events, 0);
	decref_all(a, b, c, END);
}
END_TEST

/* ---- duplicate node ids ---- */

START_TEST(test_duplicates)
{
	json_t *a = mkdev(1), *a2 = mkdev(1), *b = mkdev(2), *r;
	struct hist_poll_result res;

	set_addrs(a2, "100.64.0.66", NULL);
	set_str(a2, "name", "second.tail1234.ts.net");
	res = apply(P(0), a, b, a2, END);
	ck_assert_uint_eq(res.seen, 2);
	ck_assert_uint_eq(res.created, 2);
	ck_assert_str_eq(ipans(v4(1), P(0)), "held n1CNTRL:held");
	ck_assert_str_eq(ipans("100.64.0.66", P(0)), "none ");
	r = devget(nid(1), TSTIME_NONE, 0);
	ck_assert_str_eq(jstr(json_object_get(json_object_get(r, "current"), "device"), "name"),
	                 "h1.tail1234.ts.net");
	json_decref(r);
	/* The other way round, the other one is first. */
	res = apply(P(1), a2, b, a, END);
	ck_assert_uint_eq(res.changed, 1);
	ck_assert_str_eq(ipans("100.64.0.66", P(1)), "held n1CNTRL:held");
	ck_assert_str_eq(ipans(v4(1), P(1)), "none ");
	decref_all(a, a2, b, END);
}
END_TEST

START_TEST(test_duplicates_many)
{
	json_t *body = json_pack("{s:[]}", "devices"), *list = json_object_get(body, "devices"), *l,
	       *d;
	struct hist_poll_result res;
	size_t i;

	/* 16 devices, each listed two or three times, in a shuffled order; the first wins. */
	for (int round = 0; round < 3; round++) {
		for (int k = 0; k < 16; k++) {
			int n = (k * 5 + round * 3) % 16 + 1;

			if (round == 2 && n % 2)
				continue;
			d = mkdev(n);
			if (round > 0)
				set_str(d, "name", "dup.tail1234.ts.net");
			json_array_append_new(list, d);
		}
	}
	res = apply_body(P(0), body);
	ck_assert_uint_eq(res.seen, 16);
	ck_assert_uint_eq(res.created, 16);
	l = devlist(TSTIME_NONE);
	ck_assert_uint_eq(json_array_size(json_object_get(l, "devices")), 16);
	json_array_foreach(json_object_get(l, "devices"), i, d)
	{
		ck_assert_ptr_null(strstr(jstr(json_object_get(d, "device"), "name"), "dup"));
	}
	json_decref(l);
	json_decref(body);
}
END_TEST

/* The reference answer lists nTESTJ31 twice. */
START_TEST(test_reference_answer)
{
	json_error_t err;
	json_t *body = json_load_file(TESTDATA "/hist/devices.json", 0, &err);
	struct hist_poll_result res;

	ck_assert_msg(body != NULL, "%s", err.text);
	res = apply_body(P(0), body);
	ck_assert_uint_eq(res.seen, 2);
	ck_assert_uint_eq(res.created, 2);
	ck_assert_str_eq(ipans("100.101.102.103", P(0)), "held nTESTJ30:held");
	ck_assert_str_eq(ipans("100.121.200.21", P(0)), "held nTESTJ31:held");
	ck_assert_str_eq(ipans("100.69.123.1", P(0)), "none ");
	ck_assert_str_eq(devfind("hello", TSTIME_NONE), "nTESTJ30");
	ck_assert_str_eq(devfind("foo.example.com", TSTIME_NONE), "nTESTJ31");
	res = apply_body(P(1), body);
	ck_assert_uint_eq(res.changed + res.created + res.vol_updates, 0);
	json_decref(body);
}
END_TEST

/* ---- poll times ---- */

START_TEST(test_time_monotonic)
{
	json_t *a = mkdev(1), *b = mkdev(2), *vs, *body, *r;
	struct hist_policy stepped = pol;
	struct hist_poll_result res;
	struct hist_endpoint ep;
	char *cause = NULL;

	res = apply(P(5), a, b, END);
	ck_assert(res.time == P(5));
	/* The clock stepped back and nothing places the poll: not recorded, never 1 us later. */
	body = json_pack("{s:[O,O]}", "devices", a, b);
	ck_assert_int_eq(hist_devices_apply(st, TN, P(0), body, &pol, &res, &cause), -1);
	ck_assert_msg(strstr(cause, "clock unreliable") != NULL, "%s", cause);
	free(cause);
	/* The monotonic clock says a minute passed: the poll is placed there, the span a gap. */
	stepped.mono_elapsed = MIN;
	set_str(a, "os", "plan9");
	ck_assert_int_eq(hist_devices_apply(st, TN, P(0), body, &stepped, &res, NULL), 0);
	ck_assert(res.time == P(6));
	ck_assert_uint_eq(res.changed, 1);
	ep = ep_get();
	ck_assert(ep.last_ok == P(6) && ep.last_poll == P(6));
	hist_endpoint_free(&ep);
	vs = versions_of(nid(1));
	CK_BOUNDS(json_array_get(vs, 0), TSTIME_NONE, P(5), P(5), P(6));
	CK_BOUNDS(json_array_get(vs, 1), P(5), P(6), TSTIME_NONE, TSTIME_NONE);
	json_decref(vs);
	/* Held at both ends of the span, the address is only a maybe inside it. */
	r = ipat(v4(1), MID(P(5), P(6)), 0);
	ck_assert_str_eq(jstr(r, "answer"), "maybe");
	ck_assert_str_eq(jstr(r, "reason"),
	                 "clock unreliable between 2023-11-14T22:18:20Z and 2023-11-14T22:19:20Z");
	json_decref(r);
	/* Not even the poll's own time is covered. */
	ck_assert_str_eq(ipans(v4(1), P(6)), "maybe n1CNTRL:maybe");
	/* The next poll on a sane clock covers the span after it. */
	apply(P(7), a, b, END);
	ck_assert_str_eq(ipans(v4(1), MID(P(6), P(7))), "held n1CNTRL:held");
	json_decref(body);
	decref_all(a, b, END);
}
END_TEST

/* A failed poll stamped earlier than the last one (the wall clock stepped back) must not let
 * the next successful poll be recorded before the last successful one. */
START_TEST(test_time_monotonic_after_failure)
{
	json_t *a = mkdev(1), *b = mkdev(2), *vs;
	struct hist_poll_result res;

	apply(P(0), a, b, END);
	apply(P(5), a, b, END);
	ck_assert_int_eq(hist_poll_failed(st, TN, "devices", P(2), "HTTP 502", NULL), 0);
	set_str(a, "os", "plan9");
	/* The API's Date: places the poll the clock would put before the last one. */
	res = apply_dated(P(3), P(5) + 7 * SEC, a, b, END);
	ck_assert_msg(res.time > P(5), "recorded at %s, before the last successful poll %s",
	              ts(res.time), ts(P(5)));
	vs = versions_of(nid(1));
	CK_TIME(json_array_get(vs, 1), "from_lo", P(5));
	CK_TIME(json_array_get(vs, 1), "from_hi", res.time);
	json_decref(vs);
	decref_all(a, b, END);
}
END_TEST

/* ---- failed polls ---- */

START_TEST(test_poll_failed)
{
	json_t *a = mkdev(1), *b = mkdev(2);
	struct hist_poll_result res;
	struct hist_endpoint ep;
	char *before, *after, *cause = NULL;

	/* Before any success. */
	ck_assert_int_eq(hist_poll_failed(st, TN, "devices", P(0), "connect: refused", &cause), 0);
	ep = ep_get();
	ck_assert_str_eq(ep.result, "error");
	ck_assert_str_eq(ep.error, "connect: refused");
	ck_assert_uint_eq(ep.failures, 1);
	ck_assert(ep.last_poll == P(0) && ep.last_ok == TSTIME_NONE);
	hist_endpoint_free(&ep);

	res = apply(P(1), a, b, END);
	ck_assert(res.time == P(1));
	ep = ep_get();
	ck_assert_uint_eq(ep.failures, 0);
	ck_assert_ptr_null(ep.error);
	hist_endpoint_free(&ep);
	before = list_text(TSTIME_NONE);
	ck_assert_int_eq(hist_poll_failed(st, TN, "devices", P(2), "HTTP 503: upstream", &cause),
	                 0);
	ck_assert_int_eq(hist_poll_failed(st, TN, "devices", P(3), "timeout", &cause), 0);
	ep = ep_get();
	ck_assert_str_eq(ep.result, "error");
	ck_assert_str_eq(ep.error, "timeout");
	ck_assert_uint_eq(ep.failures, 2);
	ck_assert(ep.last_poll == P(3) && ep.last_ok == P(1));
	ck_assert_uint_eq(ep.entities, 2);
	hist_endpoint_free(&ep);
	after = list_text(TSTIME_NONE);
	ck_assert_str_eq(before, after);
	free(before);
	free(after);
	ck_assert_uint_eq(nversions(nid(1)), 1);
	/* Another endpoint's failure is its own. */
	ck_assert_int_eq(hist_poll_failed(st, TN, "keys", P(3), "HTTP 403", &cause), 0);
	ck_assert_int_eq(hist_endpoint_get(st, TN, "keys", &ep, &cause), 0);
	ck_assert_uint_eq(ep.failures, 1);
	hist_endpoint_free(&ep);

	/* A poll at the failed poll's time is recorded after it. */
	res = apply(P(3), a, b, END);
	ck_assert(res.time == P(3) + 1);
	ep = ep_get();
	ck_assert_str_eq(ep.result, "ok");
	ck_assert_ptr_null(ep.error);
	ck_assert_uint_eq(ep.failures, 0);
	ck_assert(ep.last_ok == P(3) + 1);
	hist_endpoint_free(&ep);
	/* Failures within max_gap leave the time covered. */
	ck_assert_str_eq(ipans(v4(9), P(2)), "none ");
	ck_assert_str_eq(ipans(v4(1), P(2)), "held n1CNTRL:held");
	decref_all(a, b, END);
}
END_TEST

/* A hostname too long for the name index is not findable by name, but the poll is recorded
 * whole: one hostile or odd device must not stop the tailnet's history. */
START_TEST(test_long_hostname)
{
	json_t *a = mkdev(1), *b = mkdev(2);
	char host[701];
	struct hist_poll_result res;

	memset(host, 'x', sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	json_object_set_new(a, "hostname", json_string(host));
	res = apply(P(0), a, END);
	ck_assert(res.time == P(0));
	res = apply(P(1), a, b, END);
	ck_assert_uint_eq(res.created, 1);
	ck_assert_str_eq(ipans(v4(2), P(1)), "held n2CNTRL:held");
	ck_assert_str_eq(ipans(v4(1), P(1)), "held n1CNTRL:held");
	decref_all(a, b, END);
}
END_TEST

/* ---- coverage and gaps ---- */

START_TEST(test_gap)
{
	json_t *a = mkdev(1), *b = mkdev(2), *c = mkdev(3), *r, *l;
	tstime_t t1 = T0 + HOUR, t2 = T0 + 2 * HOUR + 1, t3 = T0 + 3 * HOUR;

	apply(T0, a, b, c, END);
	apply(t1, a, b, c, END); /* exactly max_gap: covered */
	apply(t2, a, b, END);    /* just over: a gap, and c is gone */
	apply(t3, a, b, END);
	ck_assert_str_eq(ipans(v4(9), T0 + 30 * MIN), "none ");
	r = ipat(v4(9), t1 + 30 * MIN, 0);
	ck_assert_str_eq(jstr(r, "answer"), "unknown");
	ck_assert_msg(strstr(jstr(r, "reason"), "gap") != NULL, "%s", jstr(r, "reason"));
	ck_assert_ptr_nonnull(strstr(jstr(r, "reason"), ts(t1)));
	ck_assert_ptr_nonnull(strstr(jstr(r, "reason"), ts(t2)));
	json_decref(r);
	ck_assert_str_eq(ipans(v4(9), t2), "none ");
	ck_assert_str_eq(ipans(v4(9), t1), "none ");
	ck_assert_str_eq(ipans(v4(9), MID(t2, t3)), "none ");
	/* Inside a gap nothing is certain, even what was there at both ends (it may have gone and
	 * come back): maybe, with the gap as the reason; gone at the far end: maybe too. */
	ck_assert_str_eq(ipans(v4(1), t1 + 30 * MIN), "maybe n1CNTRL:maybe");
	r = ipat(v4(1), t1 + 30 * MIN, 0);
	ck_assert_msg(strstr(jstr(r, "reason"), "gap") != NULL, "%s", jstr(r, "reason"));
	json_decref(r);
	ck_assert_str_eq(ipans(v4(3), t1 + 30 * MIN), "maybe n3CNTRL:maybe");
	ck_assert_str_eq(ipans(v4(3), t2), "none ");

	l = devlist(t1 + 30 * MIN);
	ck_assert_str_eq(jstr(l, "coverage"), "unknown");
	ck_assert_ptr_nonnull(strstr(jstr(l, "reason"), "gap"));
	ck_assert_str_eq(summary(json_object_get(l, "devices")),
	                 "n1CNTRL:maybe,n2CNTRL:maybe,n3CNTRL:maybe");
	json_decref(l);
	l = devlist(T0 + 30 * MIN);
	ck_assert_str_eq(jstr(l, "coverage"), "covered");
	ck_assert_ptr_null(json_object_get(l, "reason"));
	CK_TIME(l, "at", T0 + 30 * MIN);
	CK_TIME(l, "as_of", T0 + 30 * MIN);
	json_decref(l);
	l = devlist(T0 - 1);
	ck_assert_str_eq(jstr(l, "coverage"), "unknown");
	ck_assert_ptr_nonnull(strstr(jstr(l, "reason"), "before the first"));
	ck_assert_uint_eq(json_array_size(json_object_get(l, "devices")), 0);
	json_decref(l);
	l = devlist(t3 + 1);
	ck_assert_str_eq(jstr(l, "coverage"), "unknown");
	ck_assert_ptr_nonnull(strstr(jstr(l, "reason"), "after the last"));
	ck_assert_str_eq(summary(json_object_get(l, "devices")), "n1CNTRL:maybe,n2CNTRL:maybe");
	json_decref(l);
	decref_all(a, b, c, END);
}
END_TEST

/* ---- finding a device ---- */

START_TEST(test_device_get_names)
{
	json_t *a = mkdev(1), *b = mkdev(2), *c = mkdev(3), *r, *vs;
	char *cause = NULL;

	set_str(a, "name", "web.tail1234.ts.net");
	set_str(a, "hostname", "WebHost");
	apply(P(0), a, b, c, END);
	ck_assert_str_eq(devfind("web.tail1234.ts.net", TSTIME_NONE), nid(1));
	ck_assert_str_eq(devfind("web", TSTIME_NONE), nid(1));
	ck_assert_str_eq(devfind("webhost", TSTIME_NONE), nid(1));
	ck_assert_str_eq(devfind("WebHost", TSTIME_NONE), nid(1));
	ck_assert_str_eq(devfind("WEB.Tail1234.TS.NET", TSTIME_NONE), nid(1));
	ck_assert_str_eq(devfind("h2", TSTIME_NONE), nid(2));
	ck_assert_str_eq(devfind(nid(3), TSTIME_NONE), nid(3));
	r = devget("Web", TSTIME_NONE, 0);
	ck_assert_str_eq(jstr(r, "matched_by"), "name");
	ck_assert_str_eq(jstr(r, "tailnet"), TN);
	json_decref(r);
	ck_assert_str_eq(devfind("we", TSTIME_NONE), "notfound");
	ck_assert_str_eq(devfind("web.tail1234", TSTIME_NONE), "notfound");
	ck_assert_str_eq(devfind("tail1234", TSTIME_NONE), "notfound");
	ck_assert_str_eq(devfind("", TSTIME_NONE), "notfound");
	ck_assert_str_eq(devfind("nNOSUCH", TSTIME_NONE), "notfound");
	ck_assert_str_eq(devfind("n1CNTR", TSTIME_NONE), "notfound");
	{
		/* A query longer than any key is just not found. */
		char longq[700];

		memset(longq, 'w', sizeof(longq) - 1);
		longq[sizeof(longq) - 1] = '\0';
		ck_assert_str_eq(devfind(longq, TSTIME_NONE), "notfound");
		longq[200] = '\0';
		ck_assert_str_eq(devfind(longq, TSTIME_NONE), "notfound");
	}

	/* A rename: both names find it, and the history says what changed. */
	set_str(a, "name", "api.tail1234.ts.net");
	set_str(a, "hostname", "apihost");
	apply(P(1), a, b, c, END);
	ck_assert_str_eq(devfind("web", TSTIME_NONE), nid(1));
	ck_assert_str_eq(devfind("webhost", TSTIME_NONE), nid(1));
	ck_assert_str_eq(devfind("api", TSTIME_NONE), nid(1));
	ck_assert_str_eq(devfind("api.tail1234.ts.net", TSTIME_NONE), nid(1));
	r = devget("web", TSTIME_NONE, 1);
	ck_assert_str_eq(jstr(json_object_get(json_object_get(r, "current"), "device"), "name"),
	                 "api.tail1234.ts.net");
	vs = json_object_get(r, "versions");
	ck_assert_uint_eq(json_array_size(vs), 2);
	ck_assert_str_eq(changed_of(json_array_get(vs, 1)), "hostname,name");
	json_decref(r);

	/* Deleted: still found by its name, with its last version. */
	apply(P(2), b, c, END);
	r = devget("api", TSTIME_NONE, 1);
	ck_assert_str_eq(jstr(r, "nodeId"), nid(1));
	ck_assert(json_is_true(json_object_get(r, "deleted")));
	ck_assert(json_is_null(json_object_get(r, "current")));
	CK_BOUNDS(json_object_get(r, "last"), P(0), P(1), P(1), P(2));
	ck_assert_str_eq(jstr(json_object_get(json_object_get(r, "last"), "device"), "name"),
	                 "api.tail1234.ts.net");
	ck_assert_uint_eq(json_array_size(json_object_get(r, "versions")), 2);
	json_decref(r);
	ck_assert_str_eq(devfind("web", TSTIME_NONE), nid(1));
	ck_assert_str_eq(devfind(nid(1), TSTIME_NONE), nid(1));
	ck_assert_str_eq(devfind(v4(1), TSTIME_NONE), nid(1));
	/* At a time it existed, "current" is the version then. */
	r = devget("api", P(1), 0);
	ck_assert_str_eq(jstr(json_object_get(r, "current"), "state"), "held");
	ck_assert_ptr_null(json_object_get(r, "last"));
	json_decref(r);

	/* A new device takes the old name: the name now finds the new one. */
	set_str(b, "name", "api.tail1234.ts.net");
	apply(P(3), b, c, END);
	ck_assert_str_eq(devfind("api", TSTIME_NONE), nid(2));
	ck_assert_str_eq(devfind("h2", TSTIME_NONE), nid(2));

	/* Another tailnet knows none of this. */
	ck_assert_int_eq(hist_device_get(st, "other.example", "api", TSTIME_NONE, 0, &r, &cause),
	                 HIST_NOTFOUND);
	ck_assert_ptr_nonnull(strstr(cause, "api"));
	free(cause);
	cause = NULL;
	ck_assert_int_eq(hist_device_get(st, "other.example", nid(2), TSTIME_NONE, 0, &r, &cause),
	                 HIST_NOTFOUND);
	free(cause);
	decref_all(a, b, c, END);
}
END_TEST

/* Hostnames are not unique. A name that only a past version of another device bore must not
 * win over the device that bears it now. */
START_TEST(test_device_get_current_name_wins)
{
	json_t *x = mkdev(1), *y = mkdev(2), *z = mkdev(3);

	set_str(x, "name", "db.tail1234.ts.net");
	set_str(x, "hostname", "db");
	set_str(y, "name", "other.tail1234.ts.net");
	set_str(y, "hostname", "other");
	apply(P(0), x, y, z, END);
	set_str(y, "hostname", "db");
	apply(P(1), x, y, z, END);
	set_str(y, "hostname", "other");
	apply(P(2), x, y, z, END);
	ck_assert_str_eq(devfind("db.tail1234.ts.net", TSTIME_NONE), nid(1));
	ck_assert_msg(strcmp(devfind("db", TSTIME_NONE), nid(1)) == 0,
	              "\"db\" finds %s, which no longer bears it, not %s, whose name it is",
	              devfind("db", TSTIME_NONE), nid(1));
	decref_all(x, y, z, END);
}
END_TEST

/* ---- the list ---- */

START_TEST(test_devices_list)
{
	json_t *a = mkdev(1), *b = mkdev(2), *c = mkdev(3), *d = mkdev(4), *l, *e;
	tstime_t mid = MID(P(0), P(1));

	l = devlist(P(0));
	ck_assert_uint_eq(json_array_size(json_object_get(l, "devices")), 0);
	ck_assert_str_eq(jstr(l, "coverage"), "unknown");
	ck_assert_str_eq(jstr(l, "reason"), "no successful poll yet");
	json_decref(l);

	apply(P(0), a, b, c, END);
	set_str(a, "name", "renamed.tail1234.ts.net");
	json_object_set_new(c, "lastSeen", json_string("2023-11-20T00:00:00Z"));
	apply(P(1), a, c, d, END);
	ck_assert_str_eq(listsum(TSTIME_NONE), "n1CNTRL:held,n3CNTRL:held,n4CNTRL:held");
	l = devlist(TSTIME_NONE);
	CK_TIME(l, "as_of", P(1));
	e = json_array_get(json_object_get(l, "devices"), 1);
	ck_assert_str_eq(jstr(json_object_get(e, "volatile"), "lastSeen"), "2023-11-20T00:00:00Z");
	e = json_array_get(json_object_get(l, "devices"), 0);
	ck_assert_str_eq(jstr(json_object_get(e, "device"), "name"), "renamed.tail1234.ts.net");
	CK_BOUNDS(e, P(0), P(1), TSTIME_NONE, TSTIME_NONE);
	json_decref(l);

	ck_assert_str_eq(listsum(P(0)), "n1CNTRL:held,n2CNTRL:held,n3CNTRL:held");
	/* One row per device; n1 (renamed) was there for sure, n2 (gone) and n4 (new) maybe. */
	ck_assert_str_eq(listsum(P(0) + 1),
	                 "n1CNTRL:maybe,n2CNTRL:maybe,n3CNTRL:held,n4CNTRL:maybe");
	ck_assert_str_eq(listsum(mid), "n1CNTRL:maybe,n2CNTRL:maybe,n3CNTRL:held,n4CNTRL:maybe");
	l = devlist(mid);
	ck_assert_str_eq(jstr(json_array_get(json_object_get(l, "devices"), 0), "presence"),
	                 "present");
	ck_assert_str_eq(jstr(json_array_get(json_object_get(l, "devices"), 0), "version"),
	                 "uncertain");
	for (size_t i = 1; i < 4; i++)
		ck_assert_str_eq(jstr(json_array_get(json_object_get(l, "devices"), i), "version"),
		                 "certain");
	ck_assert_str_eq(jstr(json_array_get(json_object_get(l, "devices"), 1), "presence"),
	                 "maybe");
	ck_assert_str_eq(jstr(json_array_get(json_object_get(l, "devices"), 2), "presence"),
	                 "present");
	ck_assert_str_eq(jstr(json_array_get(json_object_get(l, "devices"), 3), "presence"),
	                 "maybe");
	/* The row carries the later version, and both in "versions", with their own bounds. */
	e = json_array_get(json_object_get(l, "devices"), 0);
	ck_assert_str_eq(jstr(json_object_get(e, "device"), "name"), "renamed.tail1234.ts.net");
	ck_assert_str_eq(
	    jstr(json_object_get(json_array_get(json_object_get(e, "versions"), 0), "device"),
	         "name"),
	    "h1.tail1234.ts.net");
	json_decref(l);
	ck_assert_str_eq(listsum(P(1)), "n1CNTRL:held,n3CNTRL:held,n4CNTRL:held");
	l = devlist(P(0));
	e = json_array_get(json_object_get(l, "devices"), 0);
	ck_assert_str_eq(jstr(json_object_get(e, "device"), "name"), "h1.tail1234.ts.net");
	CK_BOUNDS(e, TSTIME_NONE, P(0), P(0), P(1));
	ck_assert_ptr_null(json_object_get(e, "volatile"));
	CK_TIME(l, "at", P(0));
	json_decref(l);
	decref_all(a, b, c, d, END);
}
END_TEST

/* Before any poll: nothing, and nothing claimed about coverage (ip.at says "unknown" too). */
START_TEST(test_devices_list_no_poll)
{
	char *text = list_text(TSTIME_NONE);
	json_t *l = json_loads(text, 0, NULL);

	ck_assert_ptr_nonnull(l);
	ck_assert_uint_eq(json_array_size(json_object_get(l, "devices")), 0);
	CK_TIME(l, "as_of", TSTIME_NONE);
	ck_assert_str_eq(ipans(v4(1), TSTIME_NONE), "unknown ");
	ck_assert_msg(strcmp(jstr(l, "coverage"), "unknown") == 0 && jstr(l, "reason") != NULL,
	              "no poll yet, but: %s", text);
	json_decref(l);
	free(text);
}
END_TEST

/* ---- a device that comes back ---- */

START_TEST(test_comeback)
{
	json_t *d[6], *r;
	struct hist_poll_result res;

	for (int i = 0; i < 6; i++)
		d[i] = mkdev(i + 1);
	apply(P(0), d[0], d[1], d[2], d[3], d[4], d[5], END);
	res = apply(P(1), d[1], d[2], d[3], d[4], d[5], END);
	ck_assert_uint_eq(res.deleted, 1);
	ck_assert_int_eq(res.held, 0);
	res = apply(P(2), d[0], d[1], d[2], d[3], d[4], d[5], END);
	ck_assert_uint_eq(res.created, 1);
	r = versions_of(nid(1));
	ck_assert_uint_eq(json_array_size(r), 2);
	CK_BOUNDS(json_array_get(r, 0), TSTIME_NONE, P(0), P(0), P(1));
	CK_BOUNDS(json_array_get(r, 1), P(1), P(2), TSTIME_NONE, TSTIME_NONE);
	json_decref(r);
	r = ipat(v4(1), TSTIME_NONE, 1);
	ck_assert_str_eq(summary(json_object_get(r, "intervals")), "n1CNTRL,n1CNTRL");
	json_decref(r);
	/* P1 is the new interval's from_lo: that poll saw it gone, so none. */
	ck_assert_str_eq(ipans(v4(1), P(1)), "none ");
	ck_assert_str_eq(ipans(v4(1), MID(P(0), P(1))), "maybe n1CNTRL:maybe");
	ck_assert_str_eq(ipans(v4(1), MID(P(1), P(2))), "maybe n1CNTRL:maybe");
	ck_assert_str_eq(ipans(v4(1), P(2)), "held n1CNTRL:held");
	r = devget(nid(1), TSTIME_NONE, 0);
	ck_assert(json_is_false(json_object_get(r, "deleted")));
	json_decref(r);
	for (int i = 0; i < 6; i++)
		json_decref(d[i]);
}
END_TEST

/* ---- deletions wait for confirmation ---- */

/* A poll at T through the poller's recorder: the list of the devices given (NULL-terminated,
 * borrowed), none fetched by id unless FETCHED or GONE say so. */
static struct hist_poll_result
answer(tstime_t t, const struct hist_policy *p, json_t *fetched, json_t *gone, ...)
{
	struct hist_poll_result r;
	struct endpoint_answer ans = {0};
	json_t *body, *first, *answers = json_array(), *f = fetched ?: json_array(),
	                      *g = gone ?: json_array();
	char *cause = NULL, *text;
	va_list ap;

	va_start(ap, gone);
	first = va_arg(ap, json_t *);
	body = body_va(first, ap);
	va_end(ap);
	json_array_append_new(answers, body);
	/* The poller hands over the devices answer's bytes. */
	text = json_dumps(body, JSON_COMPACT);
	ans.json = answers;
	ans.text = text;
	ans.text_len = strlen(text);
	ans.fetched = f;
	ans.gone = g;
	memset(&r, 0xa5, sizeof(r));
	ck_assert_msg(hist_devices_answer(st, TN, t, &ans, p, &r, &cause) == 0, "answer: %s",
	              cause);
	free(text);
	json_decref(answers);
	if (fetched == NULL)
		json_decref(f);
	if (gone == NULL)
		json_decref(g);
	return r;
}

START_TEST(test_confirm_by_list)
{
	struct hist_policy p = pol;
	json_t *d[4], *r;
	struct hist_poll_result res;
	struct hist_endpoint ep;
	char *cause = NULL;

	p.confirm_delay = 2 * MIN;
	for (int i = 0; i < 4; i++)
		d[i] = mkdev(i + 1);
	answer(P(0), &p, NULL, NULL, d[0], d[1], d[2], d[3], END);
	/* Missing at P1, not fetched by id: nothing deleted, "maybe" after P0. */
	res = answer(P(1), &p, NULL, NULL, d[1], d[2], d[3], END);
	ck_assert_uint_eq(res.deleted, 0);
	ck_assert_uint_eq(res.pending, 1);
	ck_assert_uint_eq(res.events, 0);
	ck_assert_int_eq(hist_endpoint_get(st, TN, "devices", &ep, &cause), 0);
	ck_assert_uint_eq(ep.pending_confirm, 1);
	hist_endpoint_free(&ep);
	ck_assert_str_eq(ipans(v4(1), P(0)), "held n1CNTRL:held");
	ck_assert_str_eq(ipans(v4(1), P(1)), "maybe n1CNTRL:maybe");
	/* Missing again too soon: still waiting. */
	res = answer(P(2), &p, NULL, NULL, d[1], d[2], d[3], END);
	ck_assert_uint_eq(res.deleted, 0);
	ck_assert_uint_eq(res.pending, 1);
	/* Missing confirm_delay after P1: deleted, in the window P0..P1. */
	res = answer(P(3), &p, NULL, NULL, d[1], d[2], d[3], END);
	ck_assert_uint_eq(res.deleted, 1);
	ck_assert_uint_eq(res.pending, 0);
	ck_assert_uint_eq(res.events, 1);
	r = versions_of(nid(1));
	ck_assert_uint_eq(json_array_size(r), 1);
	CK_BOUNDS(json_array_get(r, 0), TSTIME_NONE, P(0), P(0), P(1));
	json_decref(r);
	ck_assert_str_eq(ipans(v4(1), MID(P(0), P(1))), "maybe n1CNTRL:maybe");
	ck_assert_str_eq(ipans(v4(1), P(1)), "none ");
	ck_assert_str_eq(ipans(v4(1), P(2)), "none ");
	ck_assert_int_eq(hist_endpoint_get(st, TN, "devices", &ep, &cause), 0);
	ck_assert_uint_eq(ep.pending_confirm, 0);
	hist_endpoint_free(&ep);
	for (int i = 0; i < 4; i++)
		json_decref(d[i]);
}
END_TEST

START_TEST(test_confirm_refuted)
{
	struct hist_policy p = pol;
	json_t *d[4], *r, *fetched = json_array();
	struct hist_poll_result res;

	p.confirm_delay = 2 * MIN;
	for (int i = 0; i < 4; i++)
		d[i] = mkdev(i + 1);
	answer(P(0), &p, NULL, NULL, d[0], d[1], d[2], d[3], END);
	/* Every device missing: none deleted, the guard not even needed. */
	res = answer(P(1), &p, NULL, NULL, END);
	ck_assert_uint_eq(res.deleted, 0);
	ck_assert_uint_eq(res.pending, 4);
	ck_assert_int_eq(res.held, 0);
	/* Listed again, one of them changed: no trace of P1 but the change. */
	json_object_set_new(d[1], "hostname", json_string("renamed"));
	res = answer(P(2), &p, NULL, NULL, d[0], d[1], d[2], d[3], END);
	ck_assert_uint_eq(res.refuted, 4);
	ck_assert_uint_eq(res.pending, 0);
	ck_assert_uint_eq(res.deleted, 0);
	ck_assert_uint_eq(res.created, 0);
	ck_assert_uint_eq(res.changed, 1);
	r = versions_of(nid(1));
	ck_assert_uint_eq(json_array_size(r), 1);
	CK_BOUNDS(json_array_get(r, 0), TSTIME_NONE, P(0), TSTIME_NONE, TSTIME_NONE);
	json_decref(r);
	r = versions_of(nid(2));
	ck_assert_uint_eq(json_array_size(r), 2);
	CK_BOUNDS(json_array_get(r, 0), TSTIME_NONE, P(0), P(1), P(2));
	json_decref(r);
	ck_assert_str_eq(ipans(v4(1), P(1)), "held n1CNTRL:held");
	/* Missing, but answered by id: refuted at once; a 404 deletes at once. */
	json_array_append_new(fetched, json_pack("{s:s}", "nodeId", nid(1)));
	res = answer(P(3), &p, fetched, NULL, d[2], d[3], END);
	ck_assert_uint_eq(res.refuted, 1);
	ck_assert_uint_eq(res.pending, 1);
	json_decref(fetched);
	fetched = json_pack("[s]", nid(2));
	res = answer(P(4), &p, NULL, fetched, d[0], d[2], d[3], END);
	ck_assert_uint_eq(res.deleted, 1);
	ck_assert_uint_eq(res.refuted, 0);
	r = versions_of(nid(2));
	CK_BOUNDS(json_array_get(r, 1), P(1), P(2), P(2), P(3));
	json_decref(r);
	json_decref(fetched);
	for (int i = 0; i < 4; i++)
		json_decref(d[i]);
}
END_TEST

/* ---- tailnets are apart ---- */

START_TEST(test_tailnets_apart)
{
	json_t *a = mkdev(1), *b = mkdev(2), *body, *r;
	struct hist_poll_result res;
	struct hist_endpoint ep;
	char *cause = NULL;

	/* The same address in two tailnets, held by different nodes. */
	set_addrs(b, v4(1), NULL);
	body = json_pack("{s:[O]}", "devices", a);
	ck_assert_int_eq(hist_devices_apply(st, "tail", P(0), body, &pol, &res, &cause), 0);
	json_decref(body);
	body = json_pack("{s:[O]}", "devices", b);
	ck_assert_int_eq(hist_devices_apply(st, "tail2", P(1), body, &pol, &res, &cause), 0);
	json_decref(body);
	r = ipat_tn("tail", v4(1), TSTIME_NONE, 1);
	ck_assert_str_eq(summary(json_object_get(r, "holders")), "n1CNTRL:held");
	ck_assert_str_eq(summary(json_object_get(r, "intervals")), "n1CNTRL");
	CK_TIME(r, "at", P(0));
	json_decref(r);
	r = ipat_tn("tail2", v4(1), TSTIME_NONE, 1);
	ck_assert_str_eq(summary(json_object_get(r, "holders")), "n2CNTRL:held");
	ck_assert_str_eq(summary(json_object_get(r, "intervals")), "n2CNTRL");
	json_decref(r);
	r = ipat_tn("tai", v4(1), TSTIME_NONE, 0);
	ck_assert_str_eq(jstr(r, "answer"), "unknown");
	json_decref(r);
	ck_assert_int_eq(hist_device_get(st, "tail", nid(2), TSTIME_NONE, 0, &r, &cause),
	                 HIST_NOTFOUND);
	free(cause);
	cause = NULL;
	/* Emptying one tailnet is its own mass disappearance. */
	body = json_pack("{s:[]}", "devices");
	ck_assert_int_eq(hist_devices_apply(st, "tail2", P(2), body, &pol, &res, &cause), 0);
	ck_assert_int_eq(res.held, 1);
	json_decref(body);
	ck_assert_int_eq(hist_endpoint_get(st, "tail", "devices", &ep, &cause), 0);
	ck_assert_str_eq(ep.result, "ok");
	ck_assert(ep.last_poll == P(0));
	hist_endpoint_free(&ep);
	decref_all(a, b, END);
}
END_TEST

/* ---- restarts ---- */

/* Everything the history says about these devices and times, in one JSON value. */
static json_t *
snapshot(const tstime_t *times, size_t ntimes, int ndev)
{
	json_t *s = json_array();

	for (size_t i = 0; i < ntimes; i++) {
		char *text = list_text(times[i]);

		json_array_append_new(s, json_loads(text, 0, NULL));
		free(text);
		for (int n = 1; n <= ndev; n++) {
			json_array_append_new(s, ipat(v4(n), times[i], 1));
			json_array_append_new(s, devget(nid(n), times[i], 1));
		}
		json_array_append_new(s, ipat("100.64.0.5", times[i], 1));
	}
	return s;
}

START_TEST(test_restart)
{
	json_t *d[5], *s1, *s2, *vs[5];
	struct hist_poll_result res;
	tstime_t times[] = {P(0) - 1, P(0), MID(P(0), P(1)), P(1),       MID(P(1), P(2)),
	                    P(2),     P(3), P(3) + 1,        TSTIME_NONE};
	size_t nt = sizeof(times) / sizeof(times[0]);

	for (int i = 0; i < 5; i++)
		d[i] = mkdev(i + 1);
	set_addrs(d[0], "100.64.0.5", v6(1));
	apply(P(0), d[0], d[1], d[2], d[3], END);
	set_str(d[1], "name", "renamed.tail1234.ts.net");
	json_object_set_new(d[2], "lastSeen", json_string("2023-11-20T00:00:00Z"));
	apply(P(1), d[0], d[1], d[2], d[3], END);
	set_addrs(d[4], "100.64.0.5", v6(5));
	apply(P(2), d[1], d[2], d[3], d[4], END);
	ck_assert_int_eq(hist_poll_failed(st, TN, "devices", P(3) - SEC, "timeout", NULL), 0);
	apply(P(3), d[1], d[2], d[3], d[4], END);

	s1 = snapshot(times, nt, 5);
	check_hist_reopen();
	s2 = snapshot(times, nt, 5);
	ck_assert_msg(json_equal(s1, s2), "answers changed over a restart");
	json_decref(s2);
	for (int n = 1; n <= 5; n++)
		vs[n - 1] = versions_of(nid(n));

	/* The same answer, again and again, after the restart: no version, no change. */
	for (int i = 4; i < 24; i++) {
		res = apply(P(i), d[1], d[2], d[3], d[4], END);
		ck_assert_uint_eq(res.created + res.changed + res.deleted + res.vol_updates, 0);
		if (i % 7 == 0)
			check_hist_reopen();
	}
	for (int n = 1; n <= 5; n++) {
		json_t *v = versions_of(nid(n));

		ck_assert_msg(json_equal(v, vs[n - 1]), "versions of %s changed", nid(n));
		json_decref(v);
		json_decref(vs[n - 1]);
	}
	/* Answers about the past are the same (only "after the last poll" has moved on). */
	s2 = snapshot(times, 6, 5);
	for (size_t i = 0; i < json_array_size(s2); i++)
		ck_assert_msg(json_equal(json_array_get(s1, i), json_array_get(s2, i)),
		              "answer %zu about the past changed", i);
	json_decref(s1);
	json_decref(s2);
	for (int i = 0; i < 5; i++)
		json_decref(d[i]);
}
END_TEST

/* ---- size ---- */

START_TEST(test_many_devices)
{
	json_t *body = json_pack("{s:[]}", "devices"), *list = json_object_get(body, "devices"), *l;
	struct hist_poll_result res;
	int n = 300;

	for (int i = 1; i <= n; i++)
		json_array_append_new(list, mkdev(i));
	res = apply_body(P(0), body);
	ck_assert_uint_eq(res.created, (size_t)n);
	for (int i = 0; i < 10; i++)
		set_str(json_array_get(list, (size_t)i * 3), "name", "x.tail1234.ts.net");
	for (int i = 0; i < 5; i++)
		json_object_set_new(json_array_get(list, (size_t)i * 3 + 1), "lastSeen",
		                    json_string("2023-11-20T00:00:00Z"));
	json_array_remove(list, 299);
	json_array_remove(list, 200);
	json_array_remove(list, 100);
	for (int i = 1; i <= 4; i++)
		json_array_append_new(list, mkdev(1000 + i));
	res = apply_body(P(1), body);
	ck_assert_uint_eq(res.seen, (size_t)n + 1);
	ck_assert_uint_eq(res.changed, 10);
	ck_assert_uint_eq(res.vol_updates, 5);
	ck_assert_uint_eq(res.deleted, 3);
	ck_assert_uint_eq(res.created, 4);
	l = devlist(TSTIME_NONE);
	ck_assert_uint_eq(json_array_size(json_object_get(l, "devices")), (size_t)n + 1);
	json_decref(l);
	json_decref(body);
}
END_TEST

/* An apply too big for the starting map: the store grows and reruns it; counts are not doubled.
 * The map opens at its cap, so the test opens it at 64 MiB, as for a cap above 64 GiB. */
START_TEST(test_apply_grows_map)
{
	json_t *body = json_pack("{s:[]}", "devices"), *list = json_object_get(body, "devices");
	struct hist_poll_result res;
	uint64_t used, mapsize;
	char *pad = malloc(3001);
	int n = 10000;

	/* About 3.5 KiB a device, in cur and in ver: some 80 MiB. */
	memset(pad, 'p', 3000);
	pad[3000] = '\0';
	store_close(st);
	store_set_map_open(64u << 20);
	check_hist_open(256 << 20);
	for (int i = 1; i <= n; i++) {
		json_t *d = mkdev(i);

		set_addrs(d, "100.64.0.1", NULL);
		set_str(d, "padding", pad);
		json_array_append_new(list, d);
	}
	store_sizes(st, &used, &mapsize);
	ck_assert_uint_eq(mapsize, 64u << 20);
	res = apply_body(P(0), body);
	ck_assert_uint_eq(res.created, (size_t)n);
	ck_assert_uint_eq(res.seen, (size_t)n);
	store_sizes(st, &used, &mapsize);
	ck_assert_uint_gt(mapsize, 64u << 20);
	ck_assert_uint_ge(used, 64u << 20);
	res = apply_body(P(1), body);
	ck_assert_uint_eq(res.created + res.changed, 0);
	ck_assert_uint_eq(nversions(nid(n)), 1);
	store_set_map_open(0);
	free(pad);
	json_decref(body);
}
END_TEST

static Suite *
hist_suite(void)
{
	Suite *s = suite_create("hist");
	TCase *tc;

#define TC(name)                                                                                   \
	tc = tcase_create(name);                                                                   \
	tcase_add_unchecked_fixture(tc, fixture_root_setup, fixture_root_teardown);                \
	tcase_add_checked_fixture(tc, check_hist_setup, check_hist_teardown);                      \
	suite_add_tcase(s, tc)
#define N(a) (int)(sizeof(a) / sizeof((a)[0]))

	TC("polls");
	tcase_add_test(tc, test_first_poll);
	tcase_add_test(tc, test_unchanged_polls);
	tcase_add_test(tc, test_reassign);
	tcase_add_test(tc, test_addresses_follow);
	tcase_add_test(tc, test_exact_created);
	tcase_add_test(tc, test_comeback);
	tcase_add_test(tc, test_tailnets_apart);
	tcase_add_test(tc, test_confirm_by_list);
	tcase_add_test(tc, test_confirm_refuted);

	TC("versions");
	tcase_add_test(tc, test_volatile_no_version);
	tcase_add_test(tc, test_reorder_no_version);
	tcase_add_loop_test(tc, test_stable_change, 0, N(stable_changes));
	tcase_add_test(tc, test_history_changed);

	TC("mass");
	tcase_add_test(tc, test_mass_hold_confirm);
	tcase_add_test(tc, test_mass_hold_cleared);
	tcase_add_loop_test(tc, test_mass_threshold, 0, N(mass_cases));

	TC("bad");
	tcase_add_loop_test(tc, test_bad_body, 0, N(bad_bodies));
	tcase_add_loop_test(tc, test_bad_device, 0, N(bad_devices));
	tcase_add_test(tc, test_bad_misc);
	tcase_add_test(tc, test_good_edges);
	tcase_add_test(tc, test_bad_members);
	tcase_add_test(tc, test_duplicates);
	tcase_add_test(tc, test_duplicates_many);
	tcase_add_test(tc, test_reference_answer);

	TC("time");
	tcase_add_test(tc, test_time_monotonic);
	tcase_add_test(tc, test_time_monotonic_after_failure);
	tcase_add_test(tc, test_poll_failed);
	tcase_add_test(tc, test_gap);
	tcase_add_test(tc, test_long_hostname);

	TC("queries");
	tcase_add_test(tc, test_device_get_names);
	tcase_add_test(tc, test_device_get_current_name_wins);
	tcase_add_test(tc, test_devices_list);
	tcase_add_test(tc, test_devices_list_no_poll);

	TC("restart");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_restart);
	tcase_add_test(tc, test_many_devices);
	tcase_add_test(tc, test_apply_grows_map);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(hist_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
