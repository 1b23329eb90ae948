/* check_audit.c: unit tests for the configuration audit log: times, identity, a window's answer
 * recorded once, byte for byte, indexed, covered; bad answers record nothing. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "attrib.h"
#include "audit.h"
#include "fixture.h"
#include "hist-int.h"
#include "pin.h"
#include "store.h"
#include "tstime.h"

#define SEC TSTIME_SEC
#define MIN (60 * SEC)
/* 2026-11-01T00:00:00Z: every time here is fixed. */
#define T0 ((tstime_t)1793491200 * TSTIME_SEC)

static const char *const TN = "example.com";
static struct hist_policy pol;
static const char *dir;
static struct store *st;

static void
check_audit_setup(void)
{
	dir = fixture_dir_new();
	st = fixture_store_open(dir, 64 << 20);
	memset(&pol, 0, sizeof(pol));
	pol.max_gap = 3600 * SEC;
}

static void
check_audit_teardown(void)
{
	store_close(st);
	fixture_dir_remove(dir);
}

/* An entry as the API writes one, at 2026-11-01T00:MM:SS.123456789Z, on target TID. */
static char *
entry(int minute, const char *tid, const char *property)
{
	char *s = NULL;

	if (asprintf(&s,
	             "{\"action\": \"UPDATE\", \"actor\": {\"displayName\": \"Alice\", \"id\": "
	             "\"uA1CNTRL\", \"loginName\": \"alice@example.com\", \"type\": \"USER\"}, "
	             "\"deferredAt\": \"0001-01-01T00:00:00Z\", \"eventGroupID\": \"g%d\", "
	             "\"eventTime\": \"2026-11-01T00:%02d:00.123456789Z\", \"origin\": "
	             "\"ADMIN_CONSOLE\", \"target\": {\"id\": \"%s\", \"name\": \"box\", "
	             "\"property\": \"%s\", \"type\": \"NODE\"}, \"type\": \"CONFIG\"}",
	             minute, minute, tid, property) == -1)
		abort();
	return s;
}

/* An answer of the entries given, pretty-printed as the API does. */
static char *
answer(const char *a, const char *b)
{
	char *s = NULL;

	if (asprintf(&s,
	             "{\n  \"version\": \"1.1\",\n  \"tailnet\": \"example.com\",\n  \"logs\": [\n "
	             "   %s%s%s\n  ]\n}\n",
	             a ? a : "", b ? ",\n    " : "", b ? b : "") == -1)
		abort();
	return s;
}

/* S without its spaces and newlines, in a static buffer (the entries here have none in strings). */
static const char *
compact(const char *s)
{
	static char buf[4096];
	size_t n = 0;

	for (; *s != '\0' && n + 1 < sizeof buf; s++)
		if (*s != ' ' && *s != '\n')
			buf[n++] = *s;
	buf[n] = '\0';
	return buf;
}

/* How many rows of KIND (and ID) the store holds. */
static size_t
rows(uint8_t kind, const char *id)
{
	struct store_txn *txn;
	struct store_cursor *cur;
	struct store_key prefix;
	struct store_val k, v;
	char *cause = NULL;
	size_t n = 0;

	store_key_init(&prefix);
	store_key_str(&prefix, TN);
	store_key_u8(&prefix, kind);
	if (id != NULL)
		store_key_str(&prefix, id);
	ck_assert_int_eq(store_read_begin(st, &txn, &cause), 0);
	ck_assert_int_eq(store_cursor_open(txn, STORE_CUR, &cur, &cause), 0);
	for (int rc = store_cursor_seek(cur, &prefix, &prefix, &k, &v); rc == 0;
	     rc = store_cursor_step(cur, 1, &k, &v))
		n++;
	store_cursor_close(cur);
	store_read_end(txn);
	return n;
}

/* The stored bytes of the first entry by time. */
static char *
first_stored(void)
{
	struct store_txn *txn;
	struct store_cursor *cur;
	struct store_key prefix;
	struct store_val k, v;
	char *cause = NULL, *s = NULL;

	store_key_init(&prefix);
	store_key_str(&prefix, TN);
	store_key_u8(&prefix, AUDIT_KIND_TIME);
	ck_assert_int_eq(store_read_begin(st, &txn, &cause), 0);
	ck_assert_int_eq(store_cursor_open(txn, STORE_CUR, &cur, &cause), 0);
	if (store_cursor_seek(cur, &prefix, &prefix, &k, &v) == 0)
		s = strndup(v.data, v.len);
	store_cursor_close(cur);
	store_read_end(txn);
	return s;
}

static int
covered(tstime_t t)
{
	struct store_txn *txn;
	char *cause = NULL, *why = NULL;
	int c;

	ck_assert_int_eq(store_read_begin(st, &txn, &cause), 0);
	c = hist_covered(txn, TN, AUDIT_ENDPOINT, t, &why);
	store_read_end(txn);
	free(why);
	return c;
}

static int
apply(tstime_t start, tstime_t end, const char *body, size_t *created)
{
	struct hist_poll_result res = {0};
	char *cause = NULL;
	int rc = audit_apply(st, TN, start, end, body, strlen(body), &pol, &res, &cause);

	if (rc != 0 && getenv("CHECK_AUDIT_VERBOSE") != NULL)
		fprintf(stderr, "audit_apply: %s\n", cause);
	free(cause);
	if (created != NULL)
		*created = res.created;
	return rc;
}

START_TEST(test_time_ns)
{
	int64_t ns;

	ck_assert_int_eq(audit_time_parse("2026-11-01T00:00:00.123456789Z", &ns), 0);
	ck_assert_int_eq(ns, (int64_t)1793491200 * 1000000000 + 123456789);
	ck_assert_int_eq(audit_time_parse("2026-11-01T00:00:00.5Z", &ns), 0);
	ck_assert_int_eq(ns, (int64_t)1793491200 * 1000000000 + 500000000);
	ck_assert_int_eq(audit_time_parse("2026-11-01T01:00:00+01:00", &ns), 0);
	ck_assert_int_eq(ns, (int64_t)1793491200 * 1000000000);
	/* The zero time of deferredAt lies outside what nanoseconds can count: not a time here. */
	ck_assert_int_eq(audit_time_parse("0001-01-01T00:00:00Z", &ns), -1);
	ck_assert_int_eq(audit_time_parse("2026-11-01", &ns), -1);
	ck_assert_int_eq(audit_time_parse(NULL, &ns), -1);
}
END_TEST

START_TEST(test_hash)
{
	char *a = entry(1, "n1", "MACHINE_NAME"), *b = entry(1, "n1", "ACL_TAGS");
	json_t *ja = json_loads(a, 0, NULL), *jb = json_loads(b, 0, NULL), *jc;
	uint8_t ha[AUDIT_HASH_LEN], hb[AUDIT_HASH_LEN], hc[AUDIT_HASH_LEN];

	ck_assert_int_eq(audit_entry_hash(ja, ha), 0);
	ck_assert_int_eq(audit_entry_hash(jb, hb), 0);
	ck_assert(memcmp(ha, hb, sizeof ha) != 0);
	/* Members outside the identity (the export's "logged", the display name) do not count. */
	jc = json_deep_copy(ja);
	json_object_set_new(jc, "logged", json_string("2026-11-01T00:01:01Z"));
	json_object_set_new(json_object_get(jc, "actor"), "displayName", json_string("A."));
	ck_assert_int_eq(audit_entry_hash(jc, hc), 0);
	ck_assert(memcmp(ha, hc, sizeof ha) == 0);
	json_object_del(jc, "eventTime");
	ck_assert_int_eq(audit_entry_hash(jc, hc), -1);
	json_decref(ja);
	json_decref(jb);
	json_decref(jc);
	free(a);
	free(b);
}
END_TEST

START_TEST(test_apply_once_bytes)
{
	char *e1 = entry(1, "n1", "MACHINE_NAME"), *e2 = entry(2, "n2", "ACL_TAGS");
	char *e3 = entry(3, "n1", "ADDRESS");
	char *a1 = answer(e1, e2), *a2 = answer(e2, e3), *got;
	size_t created;

	ck_assert_int_eq(apply(T0 - 10 * MIN, T0 + 2 * MIN + SEC, a1, &created), 0);
	ck_assert_uint_eq(created, 2);
	ck_assert_uint_eq(rows(AUDIT_KIND_TIME, NULL), 2);
	/* Stored exactly as it stood in the answer. */
	got = first_stored();
	ck_assert_str_eq(got, e1);
	free(got);
	/* The next window overlaps: e2 comes again and is not stored twice. */
	ck_assert_int_eq(apply(T0 + 2 * MIN - 15 * MIN, T0 + 4 * MIN, a2, &created), 0);
	ck_assert_uint_eq(created, 1);
	ck_assert_uint_eq(rows(AUDIT_KIND_TIME, NULL), 3);
	ck_assert_uint_eq(rows(AUDIT_KIND_TARGET, "n1"), 2);
	ck_assert_uint_eq(rows(AUDIT_KIND_TARGET, "n2"), 1);
	ck_assert_uint_eq(rows(AUDIT_KIND_ACTOR, "uA1CNTRL"), 3);
	/* The windows cover the time from the first start, not only since the first poll. */
	ck_assert_int_eq(covered(T0 - 5 * MIN), 1);
	ck_assert_int_eq(covered(T0 + 3 * MIN), 1);
	ck_assert_int_eq(covered(T0 - 11 * MIN), 0);
	ck_assert_int_eq(covered(T0 + 5 * MIN), 0);
	free(e1);
	free(e2);
	free(e3);
	free(a1);
	free(a2);
}
END_TEST

START_TEST(test_apply_open_enums)
{
	const char *body =
	    "{\"logs\":[{\"logged\":\"2026-11-01T00:00:02Z\",\"eventTime\":\"2026-11-01T00:00:01."
	    "5Z\","
	    "\"eventGroupID\":\"x\",\"origin\":\"MARS\",\"actor\":{\"id\":\"k1\",\"type\":"
	    "\"ALIEN\"},"
	    "\"target\":{\"id\":\"t\",\"type\":\"OAUTH_ACCESS_TOKEN\"},\"action\":\"TELEPORT\"}]}";
	size_t created;

	ck_assert_int_eq(apply(T0 - MIN, T0 + MIN, body, &created), 0);
	ck_assert_uint_eq(created, 1);
	ck_assert_uint_eq(rows(AUDIT_KIND_TIME, NULL), 1);
}
END_TEST

START_TEST(test_apply_bad_answers)
{
	static const char *const bad[] = {
	    "{\"message\":\"not found\"}",
	    "{\"logs\":{}}",
	    "{\"logs\":[{\"action\":\"UPDATE\",\"actor\":{},\"target\":{}}]}",
	    "{\"logs\":[{\"eventTime\":\"yesterday\",\"action\":\"UPDATE\",\"actor\":{},"
	    "\"target\":{}}]}",
	    "{\"logs\":[{\"eventTime\":\"2026-11-01T00:00:00Z\",\"action\":\"UPDATE\",\"actor\":{},"
	    "\"target\":{}}",
	    "{\"logs\":[1]}",
	};
	char *e1 = entry(1, "n1", "MACHINE_NAME"), *mixed;

	/* A good entry beside a bad one: nothing of the answer is kept. */
	if (asprintf(&mixed, "{\"logs\":[%s,{\"action\":\"X\"}]}", e1) == -1)
		abort();
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_int_eq(apply(T0 - MIN, T0 + 2 * MIN, bad[i], NULL), -1);
	ck_assert_int_eq(apply(T0 - MIN, T0 + 2 * MIN, mixed, NULL), -1);
	ck_assert_uint_eq(rows(AUDIT_KIND_TIME, NULL), 0);
	ck_assert_uint_eq(rows(AUDIT_KIND_TARGET, NULL), 0);
	ck_assert_int_eq(covered(T0), 0);
	free(e1);
	free(mixed);
}
END_TEST

/* audit.list: oldest first, filters, a limit with "more", and times no window covered. */
START_TEST(test_list)
{
	char *e1 = entry(1, "n1", "MACHINE_NAME"), *e2 = entry(2, "n2", "ACL_TAGS");
	char *e3 = entry(3, "n1", "ADDRESS"), *a1 = answer(e1, e2), *a2 = answer(e3, NULL), *out;
	struct audit_query q = {.since = TSTIME_NONE, .until = TSTIME_NONE};
	char *cause = NULL;
	size_t len;
	json_t *j;

	ck_assert_int_eq(apply(T0, T0 + 2 * MIN + SEC, a1, NULL), 0);
	ck_assert_int_eq(apply(T0 + 2 * MIN, T0 + 4 * MIN, a2, NULL), 0);
	ck_assert_int_eq(audit_list(st, TN, &q, &out, &len, &cause), HIST_OK);
	j = json_loadb(out, len, 0, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "entries")), 3);
	ck_assert(json_is_false(json_object_get(j, "more")));
	/* Each entry as received, less the whitespace between tokens (the reply is one line). */
	ck_assert_ptr_nonnull(strstr(out, compact(e1)));
	ck_assert(json_is_string(json_object_get(j, "coverage")));
	ck_assert_str_eq(json_string_value(json_object_get(j, "coverage")), "known");
	json_decref(j);
	free(out);

	q.target = "n1";
	q.limit = 1;
	ck_assert_int_eq(audit_list(st, TN, &q, &out, &len, &cause), HIST_OK);
	j = json_loadb(out, len, 0, NULL);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "entries")), 1);
	ck_assert_str_eq(
	    json_string_value(json_object_get(
	        json_object_get(json_array_get(json_object_get(j, "entries"), 0), "target"),
	        "property")),
	    "MACHINE_NAME");
	ck_assert(json_is_true(json_object_get(j, "more")));
	ck_assert_str_eq(json_string_value(json_object_get(j, "next")),
	                 "2026-11-01T00:03:00.123456Z");
	json_decref(j);
	free(out);

	q = (struct audit_query){.since = T0 - 10 * MIN,
	                         .until = T0 + 3 * MIN,
	                         .actor = "alice@example.com",
	                         .action = "UPDATE",
	                         .origin = "ADMIN_CONSOLE"};
	ck_assert_int_eq(audit_list(st, TN, &q, &out, &len, &cause), HIST_OK);
	j = json_loadb(out, len, 0, NULL);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "entries")), 2);
	/* Before the first window: unknown, not "nothing happened". */
	ck_assert(json_is_string(json_object_get(json_object_get(j, "unknown"), "since")));
	ck_assert_str_eq(json_string_value(json_object_get(j, "coverage")), "unknown");
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(j, "reason")),
	                             "since: before the first audit poll's window"));
	ck_assert(json_is_null(json_object_get(json_object_get(j, "unknown"), "until")));
	json_decref(j);
	free(out);
	q.origin = "CONFIG_API";
	ck_assert_int_eq(audit_list(st, TN, &q, &out, &len, &cause), HIST_OK);
	j = json_loadb(out, len, 0, NULL);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "entries")), 0);
	json_decref(j);
	free(out);
	/* A filter that matches nothing, with the work bounded: "more" from where it stopped. */
	q.scan = 1;
	ck_assert_int_eq(audit_list(st, TN, &q, &out, &len, &cause), HIST_OK);
	j = json_loadb(out, len, 0, NULL);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "entries")), 0);
	ck_assert(json_is_true(json_object_get(j, "more")));
	ck_assert_str_eq(json_string_value(json_object_get(j, "next")),
	                 "2026-11-01T00:02:00.123456Z");
	json_decref(j);
	free(out);
	free(e1);
	free(e2);
	free(e3);
	free(a1);
	free(a2);
}
END_TEST

/* audit.list's coverage: nothing polled yet is unknown; a gap between two windows is named by
 * the windows' ends; an entry the API pretty-printed comes out on one line. */
START_TEST(test_list_coverage)
{
	struct audit_query q = {.since = TSTIME_NONE, .until = TSTIME_NONE};
	char *e1 = entry(1, "n1", "MACHINE_NAME"), *pretty = NULL, *out, *cause = NULL;
	char *a1 = answer(NULL, NULL), *a2;
	const char *why;
	size_t len;
	json_t *j;

	ck_assert_int_eq(audit_list(st, TN, &q, &out, &len, &cause), HIST_OK);
	j = json_loadb(out, len, 0, NULL);
	ck_assert_str_eq(json_string_value(json_object_get(j, "coverage")), "unknown");
	ck_assert_str_eq(json_string_value(json_object_get(j, "reason")),
	                 "no successful audit poll yet");
	json_decref(j);
	free(out);

	/* Two windows with a gap between: 00:00-00:10, then 00:30-00:40. */
	ck_assert_int_eq(apply(T0, T0 + 10 * MIN, a1, NULL), 0);
	ck_assert(asprintf(&pretty, "{\n  \"logs\": [\n    %s\n  ]\n}\n", e1) != -1);
	for (char *p = strstr(pretty, ", \"target\""); p != NULL; p = NULL)
		p[1] = '\n';
	a2 = pretty;
	ck_assert_int_eq(apply(T0 + 30 * MIN, T0 + 40 * MIN, a2, NULL), 0);
	q.since = T0 + 20 * MIN;
	ck_assert_int_eq(audit_list(st, TN, &q, &out, &len, &cause), HIST_OK);
	ck_assert_ptr_null(memchr(out, '\n', len));
	j = json_loadb(out, len, 0, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "entries")), 0);
	why = json_string_value(json_object_get(json_object_get(j, "unknown"), "since"));
	ck_assert_str_eq(why, "in a gap: no audit poll's window covers 2026-11-01T00:10:00Z to "
	                      "2026-11-01T00:30:00Z");
	json_decref(j);
	free(out);
	/* The window of the second poll was asked from 00:30: the entry at 00:01 is stored, and
	 * listed as received, on one line. */
	q.since = TSTIME_NONE;
	ck_assert_int_eq(audit_list(st, TN, &q, &out, &len, &cause), HIST_OK);
	ck_assert_ptr_null(memchr(out, '\n', len));
	ck_assert_ptr_nonnull(strstr(out, compact(e1)));
	q.until = T0 + 50 * MIN;
	free(out);
	ck_assert_int_eq(audit_list(st, TN, &q, &out, &len, &cause), HIST_OK);
	j = json_loadb(out, len, 0, NULL);
	ck_assert_ptr_nonnull(
	    strstr(json_string_value(json_object_get(j, "reason")), "until: after the last"));
	json_decref(j);
	free(out);
	free(e1);
	free(a1);
	free(pretty);
}
END_TEST

/* Device n1 named NAME, applied as the devices answer of the poll at T. */
static void
devpoll(tstime_t t, const char *name)
{
	struct hist_poll_result res = {0};
	char *cause = NULL;
	json_t *body = json_pack("{s:[{s:s, s:s, s:s, s:s, s:[s], s:s, s:b, s:b, s:b, s:s}]}",
	                         "devices", "nodeId", "n1", "id", "1", "name", name, "hostname",
	                         "box", "addresses", "100.64.0.1", "os", "linux", "authorized", 1,
	                         "isExternal", 0, "keyExpiryDisabled", 0, "user", "a@x");

	ck_assert_msg(hist_devices_apply(st, TN, t, body, &pol, &res, &cause) == 0, "%s", cause);
	json_decref(body);
}

/* The attribution of n1's version that started at FROM_HI: its state ("none" when there is
 * none), and the first actor's id into ACTOR (or the number of candidates). */
static const char *
attribution(tstime_t from_hi, char *actor, size_t len)
{
	static char state[32];
	struct store_txn *txn;
	char *cause = NULL;
	json_t *a;

	ck_assert_int_eq(store_read_begin(st, &txn, &cause), 0);
	a = attrib_get(txn, TN, 'd', "n1", from_hi);
	store_read_end(txn);
	snprintf(state, sizeof state, "%s",
	         a != NULL ? json_string_value(json_object_get(a, "state")) : "none");
	snprintf(actor, len, "-");
	if (json_is_array(json_object_get(a, "candidates")))
		snprintf(actor, len, "%zu", json_array_size(json_object_get(a, "candidates")));
	else if (a != NULL)
		snprintf(actor, len, "%s",
		         json_string_value(json_object_get(json_object_get(a, "actor"), "id")));
	json_decref(a);
	return state;
}

/* Attribution: an entry whose property fits a field that changed and whose time lies in the
 * change's window attributes it, whichever of the two is recorded first; one that fits no
 * changed field, or lies outside the window, does not; two that fit leave it ambiguous. */
START_TEST(test_attribution)
{
	char *e_early = entry(0, "n1", "MACHINE_NAME"), *e_name = entry(3, "n1", "MACHINE_NAME");
	char *e_tags = entry(4, "n1", "ACL_TAGS"), *e_other = entry(3, "n2", "MACHINE_NAME");
	char *e_name2 = entry(5, "n1", "MACHINE_NAME"), *e_late = entry(8, "n1", "MACHINE_NAME");
	char *a1 = answer(e_early, e_name), *a2 = answer(e_tags, e_other),
	     *a3 = answer(e_name2, NULL);
	char *a4 = answer(e_late, NULL), who[64];

	devpoll(T0 + 1 * MIN, "box.tail1234.ts.net"); /* the first: nothing to explain */
	devpoll(T0 + 6 * MIN, "web.tail1234.ts.net"); /* renamed in (00:01, 00:06] */
	ck_assert_str_eq(attribution(T0 + 6 * MIN, who, sizeof who), "none");
	/* The log comes after the change: the entry at 00:03 explains it; the one at 00:00 lies
	 * before the window. */
	ck_assert_int_eq(apply(T0, T0 + 7 * MIN, a1, NULL), 0);
	ck_assert_str_eq(attribution(T0 + 6 * MIN, who, sizeof who), "attributed");
	ck_assert_str_eq(who, "uA1CNTRL");
	ck_assert_str_eq(attribution(T0 + 1 * MIN, who, sizeof who), "none");
	/* A tag entry (the tags did not change) and another node's entry change nothing. */
	ck_assert_int_eq(apply(T0 + 1 * MIN, T0 + 7 * MIN + SEC, a2, NULL), 0);
	ck_assert_str_eq(attribution(T0 + 6 * MIN, who, sizeof who), "attributed");
	/* A second fitting entry: none is picked, both are kept. */
	ck_assert_int_eq(apply(T0 + 2 * MIN, T0 + 7 * MIN + 2 * SEC, a3, NULL), 0);
	ck_assert_str_eq(attribution(T0 + 6 * MIN, who, sizeof who), "ambiguous");
	ck_assert_str_eq(who, "2");
	/* The entry comes first (00:08), the change after (seen at 00:10). */
	ck_assert_int_eq(apply(T0 + 7 * MIN, T0 + 9 * MIN, a4, NULL), 0);
	devpoll(T0 + 10 * MIN, "db.tail1234.ts.net");
	ck_assert_str_eq(attribution(T0 + 10 * MIN, who, sizeof who), "attributed");
	ck_assert_str_eq(who, "uA1CNTRL");
	free(e_early);
	free(e_name);
	free(e_tags);
	free(e_other);
	free(e_name2);
	free(e_late);
	free(a1);
	free(a2);
	free(a3);
	free(a4);
}
END_TEST

/* The pin of n1's change first seen at BOUNDARY: its microsecond, or TSTIME_NONE. */
static tstime_t
pinned(tstime_t boundary)
{
	struct store_txn *txn;
	char *cause = NULL;
	tstime_t t = TSTIME_NONE;

	ck_assert_int_eq(store_read_begin(st, &txn, &cause), 0);
	if (pin_get(txn, TN, 'd', "n1", boundary, &t, NULL) != 1)
		t = TSTIME_NONE;
	store_read_end(txn);
	return t;
}

struct pin_put_args {
	tstime_t from_lo, boundary;
	int64_t ns;
	int del;
};

static int
pin_put_txn(struct store_txn *txn, void *arg, char **cause)
{
	struct pin_put_args *a = arg;

	if (a->del)
		return pin_del(txn, TN, 'd', "n1", a->boundary, cause);
	return pin_put(txn, TN, 'd', "n1", a->from_lo, a->boundary, a->ns, cause);
}

static void
put_pin(tstime_t from_lo, tstime_t boundary, int64_t ns, int del)
{
	struct pin_put_args a = {from_lo, boundary, ns, del};
	char *cause = NULL;

	ck_assert_msg(store_write(st, pin_put_txn, &a, &cause) == 0, "%s", cause);
}

/* Pins: rounded up to the first microsecond of the new state, kept only inside the change's
 * window, read back, removed; a version's bounds collapse to them, "held" and "none" on each
 * side; one entry pins an attributed change, a second one unpins it. */
START_TEST(test_pin)
{
	int64_t ns0 = (int64_t)T0 * 1000;
	char *e_name = entry(3, "n1", "MACHINE_NAME"), *e_name2 = entry(5, "n1", "MACHINE_NAME");
	char *a1 = answer(e_name, NULL), *a2 = answer(e_name2, NULL), *cause = NULL;
	/* 00:03:00.123456789 */
	tstime_t t3 = T0 + 3 * MIN + 123457;
	struct hist_bounds b;
	json_t *h = NULL;

	ck_assert_int_eq(pin_time(1000), 1);
	ck_assert_int_eq(pin_time(1001), 2);
	ck_assert_int_eq(pin_time(999), 1);
	ck_assert_int_eq(pin_time(ns0 + 123456789), T0 + 123457);

	/* Written, read, clamped to the poll that saw the change, refused before its window. */
	put_pin(T0, T0 + MIN, ns0 + 30 * SEC * 1000 + 1, 0);
	ck_assert_int_eq(pinned(T0 + MIN), T0 + 30 * SEC + 1);
	put_pin(T0, T0 + MIN, (int64_t)(T0 + MIN) * 1000 + 500, 0);
	ck_assert_int_eq(pinned(T0 + MIN), T0 + MIN);
	put_pin(T0, T0 + 2 * MIN, ns0, 0);
	ck_assert_int_eq(pinned(T0 + 2 * MIN), TSTIME_NONE);
	put_pin(T0, T0 + MIN, 0, 1);
	ck_assert_int_eq(pinned(T0 + MIN), TSTIME_NONE);

	/* A pinned start and end leave no window: held from the start's microsecond, up to the
	 * one before the end's. */
	b = (struct hist_bounds){T0, T0 + MIN,    T0 + 2 * MIN, T0 + 3 * MIN,
	                         0,  TSTIME_NONE, TSTIME_NONE};
	ck_assert_int_eq(hist_state_cov(&b, T0 + 10 * SEC, T0 + 3 * MIN, 1), HIST_MAYBE);
	ck_assert_int_eq(hist_state_cov(&b, T0 + 2 * MIN + SEC, T0 + 3 * MIN, 1), HIST_MAYBE);
	b.flags |= HIST_F_PIN_FROM | HIST_F_PIN_TO;
	b.pin_from = T0 + 10 * SEC;
	b.pin_to = T0 + 2 * MIN + SEC;
	ck_assert_int_eq(hist_state_cov(&b, T0 + 10 * SEC - 1, T0 + 3 * MIN, 1), HIST_NO);
	ck_assert_int_eq(hist_state_cov(&b, T0 + 10 * SEC, T0 + 3 * MIN, 1), HIST_HELD);
	ck_assert_int_eq(hist_state_cov(&b, T0 + 2 * MIN + SEC - 1, T0 + 3 * MIN, 1), HIST_HELD);
	ck_assert_int_eq(hist_state_cov(&b, T0 + 2 * MIN + SEC, T0 + 3 * MIN, 1), HIST_NO);

	/* Through the history: the rename seen at 00:06, logged at 00:03.123456789. */
	devpoll(T0 + 1 * MIN, "box.tail1234.ts.net");
	devpoll(T0 + 6 * MIN, "web.tail1234.ts.net");
	ck_assert_int_eq(apply(T0, T0 + 7 * MIN, a1, NULL), 0);
	ck_assert_int_eq(pinned(T0 + 6 * MIN), t3);
	ck_assert_int_eq(hist_device_get(st, TN, "n1", TSTIME_NONE, 1, &h, &cause), HIST_OK);
	ck_assert_str_eq(json_string_value(json_object_get(
	                     json_array_get(json_object_get(h, "versions"), 1), "from_lo")),
	                 fixture_ts(t3));
	ck_assert_str_eq(json_string_value(json_object_get(
	                     json_array_get(json_object_get(h, "versions"), 1), "exact_from_by")),
	                 PIN_BY);
	ck_assert_str_eq(json_string_value(json_object_get(
	                     json_array_get(json_object_get(h, "versions"), 0), "to_hi")),
	                 fixture_ts(t3));
	json_decref(h);
	/* The name's holder on each side of the logged moment. */
	ck_assert_int_eq(hist_device_get(st, TN, "box", t3 - 1, 0, &h, &cause), HIST_OK);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(h, "current"), "state")),
	                 "held");
	json_decref(h);
	/* A second entry: ambiguous, no pin any more. */
	ck_assert_int_eq(apply(T0 + 2 * MIN, T0 + 7 * MIN + SEC, a2, NULL), 0);
	ck_assert_int_eq(pinned(T0 + 6 * MIN), TSTIME_NONE);
	free(e_name);
	free(e_name2);
	free(a1);
	free(a2);
}
END_TEST

static Suite *
audit_suite(void)
{
	Suite *s = suite_create("audit");
	TCase *tc = tcase_create("audit");

	tcase_add_unchecked_fixture(tc, fixture_root_setup, fixture_root_teardown);
	tcase_add_checked_fixture(tc, check_audit_setup, check_audit_teardown);
	tcase_add_test(tc, test_time_ns);
	tcase_add_test(tc, test_hash);
	tcase_add_test(tc, test_apply_once_bytes);
	tcase_add_test(tc, test_apply_open_enums);
	tcase_add_test(tc, test_apply_bad_answers);
	tcase_add_test(tc, test_list);
	tcase_add_test(tc, test_list_coverage);
	tcase_add_test(tc, test_attribution);
	tcase_add_test(tc, test_pin);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(audit_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
