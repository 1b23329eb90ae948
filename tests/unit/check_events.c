/* check_events.c: unit tests for the event types table, type globs and the event log in the store.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "events.h"
#include "fixture.h"
#include "store.h"
#include "tstime.h"

#define MIB ((size_t)1 << 20)
#define T0 ((tstime_t)1700000000 * TSTIME_SEC)

static const char *dir;
static struct store *st;

/* ---- fixtures: a fresh store per test below a per-tcase directory ---- */

static void
check_events_open(void)
{
	st = fixture_store_open(dir, 64 * MIB);
}

static void
check_events_setup(void)
{
	dir = fixture_dir_new();
	check_events_open();
}

static void
check_events_teardown(void)
{
	store_close(st);
	st = NULL;
	fixture_dir_remove(dir);
}

/* ---- the types table ---- */

static const char *const check_events_presence[] = {"device.online", "device.offline"};

static int
check_events_is_presence(const char *name)
{
	for (size_t i = 0; i < sizeof(check_events_presence) / sizeof(check_events_presence[0]);
	     i++)
		if (strcmp(name, check_events_presence[i]) == 0)
			return 1;
	return 0;
}

/* The kinds of entity tsinv keeps a history of. */
static int
check_events_kind_known(const char *kind)
{
	static const char *const kinds[] = {"tailnet", "device",   "key",     "user", "policy",
	                                    "dns",     "settings", "webhook", "check"};

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kinds[i], kind) == 0)
			return 1;
	return 0;
}

START_TEST(test_types_table)
{
	size_t i, j, noff = 0;

	ck_assert_uint_ge(event_ntypes, 16);
	for (i = 0; i < event_ntypes; i++) {
		const struct event_type *et = &event_types[i];
		size_t klen;

		ck_assert_ptr_nonnull(et->name);
		ck_assert_ptr_nonnull(et->kind);
		ck_assert_msg(et->trigger != NULL && *et->trigger != '\0', "%s: no trigger",
		              et->name);
		for (j = i + 1; j < event_ntypes; j++)
			ck_assert_msg(strcmp(et->name, event_types[j].name) != 0, "%s twice",
			              et->name);
		/* The kind is the first part of the name: "device.renamed" is about a device. */
		ck_assert_msg(check_events_kind_known(et->kind), "%s: kind %s", et->name, et->kind);
		klen = strlen(et->kind);
		ck_assert_msg(strncmp(et->name, et->kind, klen) == 0 && et->name[klen] == '.',
		              "%s: kind %s", et->name, et->kind);
		ck_assert_msg(strspn(et->name, "abcdefghijklmnopqrstuvwxyz.") == strlen(et->name),
		              "%s: not lower-case words and dots", et->name);
		ck_assert_ptr_eq(event_type_find(et->name), et);
		ck_assert_int_eq(et->off, check_events_is_presence(et->name));
		noff += et->off != 0;
	}
	ck_assert_uint_eq(noff, 2);
	ck_assert_ptr_null(event_type_find("device"));
	ck_assert_ptr_null(event_type_find("device.*"));
	ck_assert_ptr_null(event_type_find(""));
	ck_assert_ptr_null(event_type_find("Device.Renamed"));
}
END_TEST

/* Every symbol the recorders pass names its own row, found again by its name. */
START_TEST(test_types_known)
{
	const struct event_type *et = &event_types[_i];

	ck_assert_ptr_nonnull(et->name);
	ck_assert_ptr_eq(event_type_find(et->name), et);
	/* The symbol spells the name: device_key_expiry_changed is "device.key.expiry.changed". */
	ck_assert_str_eq(event_types[EVENT_T_device_key_expiry_changed].name,
	                 "device.key.expiry.changed");
	ck_assert_str_eq(event_types[EVENT_T_tailnet_baseline].kind, "tailnet");
	ck_assert_str_eq(event_types[EVENT_T_webhook_deleted].kind, "webhook");
}
END_TEST

START_TEST(test_star_matches_on_types)
{
	for (size_t i = 0; i < event_ntypes; i++) {
		const struct event_type *et = &event_types[i];

		ck_assert_msg(event_match("*", et->name) == !et->off, "\"*\" and %s", et->name);
		ck_assert_msg(event_match_list(NULL, et->name) == !et->off, "NULL and %s",
		              et->name);
		ck_assert_msg(event_match_list("", et->name) == !et->off, "\"\" and %s", et->name);
		ck_assert_msg(event_match_list("*", et->name) == !et->off, "list * and %s",
		              et->name);
		/* Every type matches its own name, off or not. */
		ck_assert_msg(event_match(et->name, et->name), "%s and itself", et->name);
		ck_assert_msg(event_match_list(et->name, et->name), "list %s and itself", et->name);
	}
}
END_TEST

/* Off types answer only to their exact name: no glob, however close, turns them on. */
START_TEST(test_off_types_by_name_only)
{
	static const char *const globs[] = {
	    "*",
	    "device.*",
	    "*.online",
	    "device.on*",
	    "device.online*",
	    "device.?nline",
	    "device.[o]nline",
	    "*line",
	    "*.*",
	    "device.o*",
	};

	for (size_t i = 0; i < sizeof(globs) / sizeof(globs[0]); i++) {
		ck_assert_msg(!event_match(globs[i], "device.online"), "%s", globs[i]);
		ck_assert_msg(!event_match_list(globs[i], "device.online"), "list %s", globs[i]);
	}
	ck_assert(!event_match("*", "device.offline"));
	ck_assert(!event_match("device.*", "device.offline"));
	ck_assert(event_match("device.online", "device.online"));
	ck_assert(!event_match("device.online", "device.offline"));
	ck_assert(event_match("device.offline", "device.offline"));
	ck_assert(event_match_list("device.* device.offline", "device.offline"));
	ck_assert(!event_match_list("device.* device.offline", "device.online"));
	ck_assert(event_match_list("device.online device.offline", "device.online"));
	ck_assert(event_match_list("device.online device.offline", "device.offline"));
	/* An on type is unaffected by an off name in the list. */
	ck_assert(event_match_list("device.online device.created", "device.created"));
	ck_assert(!event_match_list("device.online", "device.created"));
}
END_TEST

static const struct {
	const char *glob, *type;
	int want;
} check_events_globs[] = {
    {"device.*", "device.renamed", 1},
    {"device.*", "device.address.added", 1}, /* '*' crosses dots */
    {"device.*", "device.key.expiring", 1},
    {"device.*", "tailnet.baseline", 0},
    {"*.expiring", "device.key.expiring", 1},
    {"*.expiring", "device.key.expired", 0},
    {"device.key.*", "device.key.expiring", 1},
    {"device.key.*", "device.key.expired", 1},
    {"device.key.*", "device.key.expiry.changed", 1},
    {"device.key.*", "device.created", 0},
    {"device.key.expir*", "device.key.expiry.changed", 1},
    {"*.changed", "device.tags.changed", 1},
    {"*.changed", "device.routes.changed", 1},
    {"*.changed", "device.updated", 0},
    {"device.address.*", "device.address.added", 1},
    {"device.address.*", "device.address.removed", 1},
    {"device.address.*", "device.renamed", 0},
    {"device.address.?dded", "device.address.added", 1},
    {"tailnet.*", "tailnet.baseline", 1},
    {"tailnet.*", "device.created", 0},
    {"tailnet.baseline", "tailnet.baseline", 1},
    {"tailnet.baseline", "tailnet.baselines", 0},
    {"device.renamed", "device.renamed", 1},
    {"device.renamed", "device.renamed.x", 0},
    {"device", "device.renamed", 0},
    {"device.", "device.renamed", 0},
    {"DEVICE.*", "device.renamed", 0}, /* case matters */
    {"", "device.renamed", 0},
    {"[dt]*.*e*", "device.created", 1},
    {"[!d]*", "device.created", 0},
    {"[!d]*", "tailnet.baseline", 1},
    /* Types outside the table (future ones, policy.changed) follow fnmatch. */
    {"*", "policy.changed", 1},
    {"policy.*", "policy.changed", 1},
    {"*.changed", "policy.changed", 1},
};

START_TEST(test_match_glob)
{
	const char *glob = check_events_globs[_i].glob, *type = check_events_globs[_i].type;

	ck_assert_msg(event_match(glob, type) == check_events_globs[_i].want,
	              "event_match(\"%s\", \"%s\") != %d", glob, type, check_events_globs[_i].want);
	/* A list of one glob is the glob (the empty glob is the empty list: everything). */
	if (*glob != '\0')
		ck_assert_msg(event_match_list(glob, type) == check_events_globs[_i].want,
		              "event_match_list(\"%s\", \"%s\")", glob, type);
}
END_TEST

static const struct {
	const char *globs, *type;
	int want;
} check_events_lists[] = {
    {"device.renamed device.tags.changed", "device.renamed", 1},
    {"device.renamed device.tags.changed", "device.tags.changed", 1},
    {"device.renamed device.tags.changed", "device.created", 0},
    {"  device.renamed\t\tdevice.tags.changed  ", "device.tags.changed", 1},
    {"\tdevice.renamed ", "device.renamed", 1},
    {"tailnet.* *.expiring", "tailnet.baseline", 1},
    {"tailnet.* *.expiring", "device.key.expiring", 1},
    {"tailnet.* *.expiring", "device.key.expired", 0},
    {"nothing.* device.created", "device.created", 1},
    {"nothing.* nothing.else", "device.created", 0},
    {"device.renamed", "device.renamed device.created", 0},
    /* Only the whole word: "device.ren" is no prefix glob. */
    {"device.ren device.tags", "device.renamed", 0},
    {NULL, "device.created", 1},
    {"", "tailnet.baseline", 1},
    {"", "device.online", 0},
    {NULL, "device.offline", 0},
};

START_TEST(test_match_list)
{
	const char *globs = check_events_lists[_i].globs, *type = check_events_lists[_i].type;

	ck_assert_msg(event_match_list(globs, type) == check_events_lists[_i].want,
	              "event_match_list(\"%s\", \"%s\") != %d", globs ? globs : "(null)", type,
	              check_events_lists[_i].want);
}
END_TEST

/* A glob too long to be any type is skipped, never overflows, and the rest of the list counts. */
START_TEST(test_match_list_long)
{
	char big[1200];

	memset(big, '*', 1000);
	snprintf(big + 1000, sizeof(big) - 1000, " device.created");
	ck_assert(event_match_list(big, "device.created"));
	ck_assert(!event_match_list(big, "device.renamed"));
	big[1000] = '\0';
	ck_assert(!event_match_list(big, "device.renamed"));
}
END_TEST

/* ---- the log: append, scan, last, by time ---- */

/* Events to record in one write; FAIL makes the transaction abort after appending them. */
struct check_events_batch {
	const struct event_rec *ev;
	size_t n;
	int fail;
	uint64_t seqs[16];
};

static int
check_events_batch_fn(struct store_txn *txn, void *arg, char **cause)
{
	struct check_events_batch *b = arg;

	for (size_t i = 0; i < b->n; i++)
		if (event_append(txn, &b->ev[i], &b->seqs[i], cause) == -1)
			return -1;
	return b->fail ? 7 : 0;
}

static void
check_events_write(const struct event_rec *ev, size_t n, uint64_t *seqs)
{
	struct check_events_batch b = {ev, n, 0, {0}};
	char *cause = NULL;

	ck_assert_uint_le(n, 16);
	ck_assert_msg(store_write(st, check_events_batch_fn, &b, &cause) == 0, "%s", cause);
	if (seqs != NULL)
		memcpy(seqs, b.seqs, n * sizeof(*seqs));
}

/* A plain event of TYPE at T about device ID. */
static struct event_rec
ev_at(tstime_t t, enum event_type_id type, const char *id)
{
	struct event_rec ev = {t,    "example.com", type, "device", id, "h1.tail1234.ts.net",
	                       NULL, NULL,          NULL, NULL};

	return ev;
}

static uint64_t
last_seq(void)
{
	uint64_t seq = 99;
	char *cause = NULL;

	ck_assert_msg(event_last_seq(st, &seq, &cause) == 0, "%s", cause);
	return seq;
}

static uint64_t
seq_before(tstime_t t)
{
	uint64_t seq = 99;
	char *cause = NULL;

	ck_assert_msg(event_seq_before(st, t, &seq, &cause) == 0, "%s", cause);
	return seq;
}

/* What a scan saw: the sequence numbers, the texts, and when to stop. */
struct check_events_seen {
	uint64_t seqs[64];
	json_t *evs[64];
	size_t n;
	size_t stop_after; /* 0: never stop */
};

static int
check_events_seen_cb(uint64_t seq, const char *json, size_t len, void *arg)
{
	struct check_events_seen *s = arg;
	json_error_t err;

	ck_assert_uint_lt(s->n, 64);
	s->seqs[s->n] = seq;
	s->evs[s->n] = json_loadb(json, len, 0, &err);
	ck_assert_msg(s->evs[s->n] != NULL, "event %llu is not JSON: %s: %.*s",
	              (unsigned long long)seq, err.text, (int)len, json);
	s->n++;
	return s->stop_after != 0 && s->n >= s->stop_after;
}

static void
check_events_seen_free(struct check_events_seen *s)
{
	for (size_t i = 0; i < s->n; i++)
		json_decref(s->evs[i]);
	s->n = 0;
}

/* The sequence numbers a scan after AFTER (at most MAX, stopping after STOP) reports, as
 * "1,2,3"; each event's own "seq" member agrees with its key. */
static const char *
scan(uint64_t after, size_t max, size_t stop)
{
	static char buf[512];
	struct check_events_seen s = {.stop_after = stop};
	char *cause = NULL;

	ck_assert_msg(event_scan(st, after, max, check_events_seen_cb, &s, &cause) == 0, "%s",
	              cause);
	buf[0] = '\0';
	for (size_t i = 0; i < s.n; i++) {
		json_t *seq = json_object_get(s.evs[i], "seq");

		ck_assert(json_is_integer(seq));
		ck_assert_uint_eq((uint64_t)json_integer_value(seq), s.seqs[i]);
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%llu", i ? "," : "",
		         (unsigned long long)s.seqs[i]);
	}
	check_events_seen_free(&s);
	return buf;
}

START_TEST(test_empty_log)
{
	ck_assert_uint_eq(last_seq(), 0);
	ck_assert_uint_eq(seq_before(T0), 0);
	ck_assert_uint_eq(seq_before(INT64_MAX), 0);
	ck_assert_str_eq(scan(0, 0, 0), "");
	ck_assert_str_eq(scan(5, 0, 0), "");
}
END_TEST

START_TEST(test_append_json)
{
	json_t *before = json_pack("{s:s}", "name", "old.tail1234.ts.net");
	json_t *after = json_pack("{s:s}", "name", "new.tail1234.ts.net");
	json_t *changed = json_pack("[s]", "name");
	/* Extra members never replace the event's own. */
	json_t *data = json_pack("{s:s, s:I, s:s, s:[s,s]}", "threshold", "7d", "seq", 99, "type",
	                         "forged", "addresses", "a", "b");
	struct event_rec evs[3] = {
	    {T0, "example.com", EVENT_T_device_renamed, "device", "n1CNTRL", "new.tail1234.ts.net",
	     before, after, changed, data},
	    {T0 + 1, "example.com", EVENT_T_tailnet_baseline, "tailnet", "example.com", NULL, NULL,
	     NULL, NULL, NULL},
	    {T0 + 2 * TSTIME_SEC, "other.net", EVENT_T_device_deleted, "device", "n2", "x", before,
	     NULL, NULL, NULL},
	};
	struct check_events_seen s = {.stop_after = 0};
	uint64_t seqs[3];
	char *cause = NULL;
	json_t *want;

	check_events_write(evs, 3, seqs);
	ck_assert_uint_eq(seqs[0], 1);
	ck_assert_uint_eq(seqs[1], 2);
	ck_assert_uint_eq(seqs[2], 3);
	/* The caller's references are borrowed: still ours, unchanged. */
	ck_assert_int_eq(before->refcount, 1);
	ck_assert_int_eq(data->refcount, 1);
	ck_assert_uint_eq(json_object_size(data), 4);

	ck_assert_msg(event_scan(st, 0, 0, check_events_seen_cb, &s, &cause) == 0, "%s", cause);
	ck_assert_uint_eq(s.n, 3);
	want = json_pack("{s:I, s:s, s:s, s:s, s:{s:s, s:s, s:s}, s:O, s:O, s:O, s:s, s:[s,s]}",
	                 "seq", 1, "time", "2023-11-14T22:13:20Z", "tailnet", "example.com", "type",
	                 "device.renamed", "entity", "kind", "device", "id", "n1CNTRL", "name",
	                 "new.tail1234.ts.net", "before", before, "after", after, "changed",
	                 changed, "threshold", "7d", "addresses", "a", "b");
	ck_assert_msg(json_equal(s.evs[0], want), "%s", json_dumps(s.evs[0], JSON_COMPACT));
	json_decref(want);
	/* No name: none in the entity; no before/after/changed: none at all; fractions kept. */
	want = json_pack("{s:I, s:s, s:s, s:s, s:{s:s, s:s}}", "seq", 2, "time",
	                 "2023-11-14T22:13:20.000001Z", "tailnet", "example.com", "type",
	                 "tailnet.baseline", "entity", "kind", "tailnet", "id", "example.com");
	ck_assert_msg(json_equal(s.evs[1], want), "%s", json_dumps(s.evs[1], JSON_COMPACT));
	json_decref(want);
	want = json_pack("{s:I, s:s, s:s, s:s, s:{s:s, s:s, s:s}, s:O}", "seq", 3, "time",
	                 "2023-11-14T22:13:22Z", "tailnet", "other.net", "type", "device.deleted",
	                 "entity", "kind", "device", "id", "n2", "name", "x", "before", before);
	ck_assert_msg(json_equal(s.evs[2], want), "%s", json_dumps(s.evs[2], JSON_COMPACT));
	json_decref(want);
	check_events_seen_free(&s);
	json_decref(before);
	json_decref(after);
	json_decref(changed);
	json_decref(data);
}
END_TEST

START_TEST(test_seq_across_writes)
{
	struct event_rec evs[4] = {
	    ev_at(T0, EVENT_T_device_created, "n1"), ev_at(T0, EVENT_T_device_created, "n2"),
	    ev_at(T0, EVENT_T_device_created, "n3"), ev_at(T0, EVENT_T_device_created, "n4")};
	struct check_events_batch b = {evs, 2, 1, {0}};
	uint64_t seqs[4];
	char *cause = NULL;

	check_events_write(evs, 1, seqs);
	ck_assert_uint_eq(seqs[0], 1);
	check_events_write(evs + 1, 2, seqs);
	ck_assert_uint_eq(seqs[0], 2);
	ck_assert_uint_eq(seqs[1], 3);
	ck_assert_uint_eq(last_seq(), 3);

	/* An aborted write records nothing and uses up no number. */
	ck_assert_int_eq(store_write(st, check_events_batch_fn, &b, &cause), 7);
	ck_assert_uint_eq(b.seqs[0], 4);
	ck_assert_uint_eq(b.seqs[1], 5);
	ck_assert_uint_eq(last_seq(), 3);
	ck_assert_str_eq(scan(0, 0, 0), "1,2,3");

	/* The numbers survive a reopen of the store. */
	store_close(st);
	st = NULL;
	check_events_open();
	ck_assert_uint_eq(last_seq(), 3);
	check_events_write(evs + 3, 1, seqs);
	ck_assert_uint_eq(seqs[0], 4);
	ck_assert_uint_eq(last_seq(), 4);
	ck_assert_str_eq(scan(0, 0, 0), "1,2,3,4");
}
END_TEST

START_TEST(test_scan)
{
	struct event_rec evs[12];
	uint64_t seqs[12];

	for (size_t i = 0; i < 12; i++)
		evs[i] = ev_at(T0 + (tstime_t)i * TSTIME_SEC, EVENT_T_device_updated, "n1");
	/* Two writes: the log is one sequence whatever the transactions. */
	check_events_write(evs, 5, seqs);
	check_events_write(evs + 5, 7, seqs);
	ck_assert_uint_eq(seqs[6], 12);
	ck_assert_uint_eq(last_seq(), 12);

	ck_assert_str_eq(scan(0, 0, 0), "1,2,3,4,5,6,7,8,9,10,11,12");
	ck_assert_str_eq(scan(1, 0, 0), "2,3,4,5,6,7,8,9,10,11,12");
	ck_assert_str_eq(scan(9, 0, 0), "10,11,12");
	ck_assert_str_eq(scan(11, 0, 0), "12");
	ck_assert_str_eq(scan(12, 0, 0), "");
	ck_assert_str_eq(scan(1000, 0, 0), "");
	ck_assert_str_eq(scan(UINT64_MAX - 1, 0, 0), "");
	/* At most MAX. */
	ck_assert_str_eq(scan(0, 1, 0), "1");
	ck_assert_str_eq(scan(0, 3, 0), "1,2,3");
	ck_assert_str_eq(scan(4, 3, 0), "5,6,7");
	ck_assert_str_eq(scan(10, 3, 0), "11,12");
	ck_assert_str_eq(scan(0, 12, 0), "1,2,3,4,5,6,7,8,9,10,11,12");
	ck_assert_str_eq(scan(0, 100, 0), "1,2,3,4,5,6,7,8,9,10,11,12");
	/* The callback stops it early. */
	ck_assert_str_eq(scan(0, 0, 1), "1");
	ck_assert_str_eq(scan(3, 0, 2), "4,5");
	ck_assert_str_eq(scan(3, 5, 2), "4,5");
	ck_assert_str_eq(scan(3, 2, 5), "4,5");
}
END_TEST

/* Events in time order, some at one time: T0, T0+1s, T0+1s, T0+1s, T0+5s. */
static void
check_events_timeline(void)
{
	struct event_rec evs[5] = {
	    ev_at(T0, EVENT_T_device_created, "n1"),
	    ev_at(T0 + TSTIME_SEC, EVENT_T_device_created, "n2"),
	    ev_at(T0 + TSTIME_SEC, EVENT_T_device_created, "n3"),
	    ev_at(T0 + TSTIME_SEC, EVENT_T_device_created, "n4"),
	    ev_at(T0 + 5 * TSTIME_SEC, EVENT_T_device_deleted, "n1"),
	};

	check_events_write(evs, 1, NULL);
	check_events_write(evs + 1, 3, NULL);
	check_events_write(evs + 4, 1, NULL);
}

START_TEST(test_seq_before)
{
	check_events_timeline();
	/* Before the first: none. */
	ck_assert_uint_eq(seq_before(T0 - 3600 * TSTIME_SEC), 0);
	ck_assert_uint_eq(seq_before(T0 - 1), 0);
	ck_assert_uint_eq(seq_before(T0), 0);
	/* Strictly before T: events at T are after it, so --since T shows them. */
	ck_assert_uint_eq(seq_before(T0 + 1), 1);
	ck_assert_uint_eq(seq_before(T0 + TSTIME_SEC), 1);
	ck_assert_uint_eq(seq_before(T0 + TSTIME_SEC + 1), 4);
	ck_assert_uint_eq(seq_before(T0 + 5 * TSTIME_SEC), 4);
	/* After the last: the last. */
	ck_assert_uint_eq(seq_before(T0 + 5 * TSTIME_SEC + 1), 5);
	ck_assert_uint_eq(seq_before(T0 + 86400 * TSTIME_SEC), 5);
	ck_assert_uint_eq(seq_before(INT64_MAX), 5);
	/* What follows: --since TIME is scan(seq_before(TIME)). */
	ck_assert_str_eq(scan(seq_before(T0 + TSTIME_SEC), 0, 0), "2,3,4,5");
	ck_assert_str_eq(scan(seq_before(T0 + 5 * TSTIME_SEC), 0, 0), "5");
	ck_assert_str_eq(scan(seq_before(T0), 0, 0), "1,2,3,4,5");
}
END_TEST

/* Times before 1970 sort before later ones (the key flips the sign bit). */
START_TEST(test_seq_before_negative_time)
{
	struct event_rec evs[2] = {ev_at(-10 * TSTIME_SEC, EVENT_T_device_created, "n1"),
	                           ev_at(10 * TSTIME_SEC, EVENT_T_device_created, "n2")};

	check_events_write(evs, 2, NULL);
	ck_assert_uint_eq(seq_before(-11 * TSTIME_SEC), 0);
	ck_assert_uint_eq(seq_before(0), 1);
	ck_assert_uint_eq(seq_before(11 * TSTIME_SEC), 2);
}
END_TEST

static Suite *
events_suite(void)
{
	Suite *s = suite_create("events");
	TCase *tc;

#define N(a) (int)(sizeof(a) / sizeof((a)[0]))
	tc = tcase_create("types");
	tcase_add_test(tc, test_types_table);
	tcase_add_loop_test(tc, test_types_known, 0, EVENT_T__COUNT);
	tcase_add_test(tc, test_star_matches_on_types);
	tcase_add_test(tc, test_off_types_by_name_only);
	tcase_add_loop_test(tc, test_match_glob, 0, N(check_events_globs));
	tcase_add_loop_test(tc, test_match_list, 0, N(check_events_lists));
	tcase_add_test(tc, test_match_list_long);
	suite_add_tcase(s, tc);

	tc = tcase_create("log");
	tcase_add_unchecked_fixture(tc, fixture_root_setup, fixture_root_teardown);
	tcase_add_checked_fixture(tc, check_events_setup, check_events_teardown);
	tcase_add_test(tc, test_empty_log);
	tcase_add_test(tc, test_append_json);
	tcase_add_test(tc, test_seq_across_writes);
	tcase_add_test(tc, test_scan);
	tcase_add_test(tc, test_seq_before);
	tcase_add_test(tc, test_seq_before_negative_time);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(events_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
