/* check_entity.c: unit tests for the history of keys, users, webhooks, policy, DNS and settings. */
#include <check.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "entity.h"
#include "fixture.h"
#include "proto.h"
#include "events.h"
#include "hist.h"
#include "store.h"
#include "tstime.h"

#define SEC TSTIME_SEC
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)
/* 2026-11-01T00:00:00Z: every time here is fixed, none comes from the clock. */
#define T0 ((tstime_t)1793491200 * TSTIME_SEC)
#define H(n) (T0 + (tstime_t)(n)*HOUR)
#define END ((json_t *)NULL)
#define NOW TSTIME_NONE

/* In every secret these tests hand over: the store file must never hold it. */
#define SECRET_MARK "SECRETx9"

static const char *const TN = "example.com";
static struct hist_policy pol;

static const char *dir;
static struct store *st;
static uint64_t seen; /* the last event seq a test has taken */

/* ---- fixtures ---- */

static void
check_entity_setup(void)
{
	dir = fixture_dir_new();
	st = fixture_store_open(dir, 64 << 20);
	memset(&pol, 0, sizeof(pol));
	pol.mass_delete_percent = 50;
	pol.max_gap = 30 * DAY; /* polls days apart still cover the time between them */
	hist_policy_defaults(&pol);
	seen = 0;
}

static void
check_entity_teardown(void)
{
	store_close(st);
	st = NULL;
	fixture_dir_remove(dir);
}

/* ---- text helpers (fixture.c: rotating buffers, so several can sit in one assert) ---- */

#define ts fixture_ts
#define J fixture_json
#define dump fixture_dump

static const char *
S(json_t *obj, const char *member)
{
	return json_string_value(json_object_get(obj, member));
}

/* GOT (borrowed) equals WANT (a new reference, taken). */
#define CK_JSON(got, want) check_json((got), (want), __LINE__)
static void
check_json(json_t *got, json_t *want, int line)
{
	ck_assert_msg(json_equal(got, want), "line %d:\n  got:  %s\n  want: %s", line, dump(got),
	              dump(want));
	json_decref(want);
}

/* The ids of the rows of OUT's list MEMBER, space-separated, in order. */
static const char *
ids_of(json_t *out, const char *member)
{
	char *b = fixture_buf();
	json_t *row;
	size_t i;

	ck_assert_msg(json_is_array(json_object_get(out, member)), "no %s list in %s", member,
	              dump(out));
	json_array_foreach(json_object_get(out, member), i, row)
	    snprintf(b + strlen(b), 4096 - strlen(b), "%s%s", i ? " " : "", S(row, "id"));
	return b;
}

/* The only row of OUT's list MEMBER for ID (borrowed). */
static json_t *
row_of(json_t *out, const char *member, const char *id)
{
	json_t *row, *found = NULL;
	size_t i;

	json_array_foreach(json_object_get(out, member), i, row)
	{
		if (strcmp(S(row, "id"), id) != 0)
			continue;
		ck_assert_msg(found == NULL, "%s listed twice: %s", id, dump(out));
		found = row;
	}
	ck_assert_msg(found != NULL, "%s not listed: %s", id, dump(out));
	return found;
}

/* Checks a row's (or a document's) state and bounds; NOW for a bound means null. */
#define CK_BOUNDS(row, state, flo, fhi, tlo, thi)                                                  \
	check_bounds((row), (state), (flo), (fhi), (tlo), (thi), __LINE__)
static void
check_bounds(json_t *row, const char *state, tstime_t flo, tstime_t fhi, tstime_t tlo, tstime_t thi,
             int line)
{
	static const char *const names[] = {"from_lo", "from_hi", "to_lo", "to_hi"};
	tstime_t t[] = {flo, fhi, tlo, thi};

	if (state != NULL)
		ck_assert_msg(S(row, "state") != NULL && strcmp(S(row, "state"), state) == 0,
		              "line %d: state %s, want %s: %s", line, S(row, "state"), state,
		              dump(row));
	for (size_t i = 0; i < 4; i++) {
		json_t *v = json_object_get(row, names[i]);

		if (t[i] == NOW)
			ck_assert_msg(json_is_null(v), "line %d: %s is %s, want null: %s", line,
			              names[i], dump(v), dump(row));
		else
			ck_assert_msg(
			    json_is_string(v) && strcmp(json_string_value(v), ts(t[i])) == 0,
			    "line %d: %s is %s, want %s", line, names[i], dump(v), ts(t[i]));
	}
}

/* Does the store's data file hold NEEDLE anywhere (live or stale pages)? */
static int
store_file_has(const char *needle)
{
	char path[256];
	struct stat sb;
	char *data;
	FILE *f;
	int found;

	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_ptr_nonnull(f = fopen(path, "rb"));
	data = malloc((size_t)sb.st_size + 1);
	ck_assert_ptr_nonnull(data);
	ck_assert_uint_eq(fread(data, 1, (size_t)sb.st_size, f), (size_t)sb.st_size);
	fclose(f);
	found = memmem(data, (size_t)sb.st_size, needle, strlen(needle)) != NULL;
	free(data);
	return found;
}

static void
sha256_hex(const char *text, size_t len, char out[65])
{
	unsigned char h[32];
	unsigned hlen = 0;

	ck_assert_int_eq(EVP_Digest(text, len, h, &hlen, EVP_sha256(), NULL), 1);
	ck_assert_uint_eq(hlen, 32);
	for (size_t i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
}

static struct hist_endpoint
endpoint(const char *tailnet, const char *name)
{
	struct hist_endpoint ep;
	char *cause = NULL;

	ck_assert_msg(hist_endpoint_get(st, tailnet, name, &ep, &cause) == 0, "%s", cause);
	return ep;
}

/* ---- answers and polls ---- */

/* {"MEMBER":[the objects given]}: a new reference; the objects stay the caller's. */
static json_t *
body_of(const char *member, ...)
{
	json_t *list = json_array(), *e;
	va_list ap;

	va_start(ap, member);
	while ((e = va_arg(ap, json_t *)) != NULL)
		json_array_append(list, e);
	va_end(ap);
	return json_pack("{s:o}", member, list);
}

/* A key as the list shows it in full (a new reference); EXPIRES NOW: none. */
static json_t *
mkkey(const char *id, const char *type, tstime_t expires, const char *desc, const char *uid)
{
	char secret[64];
	json_t *k;

	snprintf(secret, sizeof(secret), "tskey-%s-%s" SECRET_MARK, type, id);
	k = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "id", id, "keyType", type, "created",
	              "2026-10-01T00:00:00Z", "description", desc, "userId", uid, "key", secret);
	if (expires != NOW)
		json_object_set_new(k, "expires", json_string(ts(expires)));
	if (strcmp(type, "auth") == 0)
		json_object_set_new(k, "capabilities",
		                    J("{'devices':{'create':{'reusable':false,'ephemeral':true,"
		                      "'preauthorized':false,'tags':['tag:web','tag:db']}}}"));
	else
		json_object_set_new(k, "scopes", J("['devices:core:read','all:read']"));
	return k;
}

/* The key as the history keeps it: no secret, lists sorted, its state. A new reference. */
static json_t *
stored_key(json_t *k, const char *state)
{
	json_t *s = json_deep_copy(k);

	json_object_del(s, "key");
	json_object_set_new(s, "state", json_string(state));
	if (json_object_get(s, "capabilities") != NULL)
		json_object_set_new(s, "capabilities",
		                    J("{'devices':{'create':{'reusable':false,'ephemeral':true,"
		                      "'preauthorized':false,'tags':['tag:db','tag:web']}}}"));
	if (json_object_get(s, "scopes") != NULL)
		json_object_set_new(s, "scopes", J("['all:read','devices:core:read']"));
	return s;
}

/* What GET /keys/{id} answers for a revoked key: the short shape. A new reference. */
static json_t *
revoked_answer(const char *id, tstime_t expires, tstime_t revoked)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:b}", "id", id, "created", "2026-10-01T00:00:00Z",
	                 "expires", ts(expires), "revoked", ts(revoked), "invalid", 1);
}

static json_t *
mkuser(const char *id, const char *login, const char *role, const char *status)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:b}", "id", id,
	                 "displayName", login, "loginName", login, "profilePicUrl", "", "tailnetId",
	                 TN, "created", "2026-01-01T00:00:00Z", "type", "member", "role", role,
	                 "status", status, "deviceCount", 4, "lastSeen", "2026-10-31T23:00:00Z",
	                 "currentlyConnected", 1);
}

/* The user as versioned: no volatile fields, idle counted as active. A new reference. */
static json_t *
stored_user(json_t *u)
{
	json_t *s = json_deep_copy(u);
	const char *status = S(s, "status");

	json_object_del(s, "lastSeen");
	json_object_del(s, "currentlyConnected");
	json_object_del(s, "deviceCount");
	if (strcmp(status, "idle") == 0)
		json_object_set_new(s, "status", json_string("active"));
	return s;
}

static json_t *
mkhook(const char *id, const char *url, json_t *subs)
{
	char secret[64];

	snprintf(secret, sizeof(secret), "whsec-%s-" SECRET_MARK, id);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:s}", "endpointId", id,
	                 "endpointUrl", url, "providerType", "slack", "creatorLoginName",
	                 "alice@example.com", "created", "2026-10-01T00:00:00Z", "lastModified",
	                 "2026-10-01T00:00:00Z", "subscriptions", subs, "secret", secret);
}

static json_t *
stored_hook(json_t *w)
{
	json_t *s = json_deep_copy(w);

	json_object_del(s, "secret");
	return s;
}

#define RES_INIT(r) memset(&(r), 0xa5, sizeof(r))

#define KEYS(t, body, fetched, gone) keys_poll(TN, (t), (body), (fetched), (gone), __LINE__)
static struct hist_poll_result
keys_poll(const char *tn, tstime_t t, json_t *body, json_t *fetched, json_t *gone, int line)
{
	struct hist_poll_result r;
	char *cause = NULL;

	RES_INIT(r);
	ck_assert_msg(entity_keys_apply(st, tn, t, body, fetched, gone, &pol, &r, &cause) == 0,
	              "line %d: keys: %s", line, cause);
	return r;
}

/* The ids entity_keys_plan asks for, space-separated. */
#define PLAN(body) plan((body), __LINE__)
static const char *
plan(json_t *body, int line)
{
	char *b = fixture_buf(), *cause = NULL;
	json_t *ids = NULL, *v;
	size_t i;

	ck_assert_msg(entity_keys_plan(st, TN, body, &ids, &cause) == 0, "line %d: plan: %s", line,
	              cause);
	json_array_foreach(ids, i, v)
	    snprintf(b + strlen(b), 4096 - strlen(b), "%s%s", i ? " " : "", json_string_value(v));
	json_decref(ids);
	return b;
}

#define USERS(t, body) users_poll(TN, (t), (body), __LINE__)
static struct hist_poll_result
users_poll(const char *tn, tstime_t t, json_t *body, int line)
{
	struct hist_poll_result r;
	char *cause = NULL;

	RES_INIT(r);
	ck_assert_msg(entity_users_apply(st, tn, t, body, &pol, &r, &cause) == 0,
	              "line %d: users: %s", line, cause);
	return r;
}

/* A users poll listing the users given (borrowed). */
static struct hist_poll_result
users_list_poll(tstime_t t, ...)
{
	json_t *list = json_array(), *body, *e;
	struct hist_poll_result r;
	va_list ap;

	va_start(ap, t);
	while ((e = va_arg(ap, json_t *)) != NULL)
		json_array_append(list, e);
	va_end(ap);
	body = json_pack("{s:o}", "users", list);
	r = users_poll(TN, t, body, __LINE__);
	json_decref(body);
	return r;
}

#define HOOKS(t, body) hooks_poll((t), (body), __LINE__)
static struct hist_poll_result
hooks_poll(tstime_t t, json_t *body, int line)
{
	struct hist_poll_result r;
	char *cause = NULL;

	RES_INIT(r);
	ck_assert_msg(entity_webhooks_apply(st, TN, t, body, &pol, &r, &cause) == 0,
	              "line %d: webhooks: %s", line, cause);
	return r;
}

#define POLICY(tn, t, text, etag) policy_poll((tn), (t), (text), (etag), __LINE__)
static struct hist_poll_result
policy_poll(const char *tn, tstime_t t, const char *text, const char *etag, int line)
{
	struct hist_poll_result r;
	char *cause = NULL;

	/* The API always sends an ETag; a case that does not care gets one. */
	if (etag == NULL)
		etag = "\"any-etag\"";
	RES_INIT(r);
	ck_assert_msg(entity_policy_apply(st, tn, t, text, strlen(text), etag, &pol, &r, &cause) ==
	                  0,
	              "line %d: policy: %s", line, cause);
	return r;
}

#define DNS(tn, t, ns, pref, sp, split) dns_poll((tn), (t), (ns), (pref), (sp), (split), __LINE__)
static struct hist_poll_result
dns_poll(const char *tn, tstime_t t, json_t *ns, json_t *pref, json_t *sp, json_t *split, int line)
{
	struct hist_poll_result r;
	char *cause = NULL;

	RES_INIT(r);
	ck_assert_msg(entity_dns_apply(st, tn, t, ns, pref, sp, split, &pol, &r, &cause) == 0,
	              "line %d: dns: %s", line, cause);
	return r;
}

#define SETTINGS(t, body) settings_poll((t), (body), __LINE__)
static struct hist_poll_result
settings_poll(tstime_t t, json_t *body, int line)
{
	struct hist_poll_result r;
	char *cause = NULL;

	RES_INIT(r);
	ck_assert_msg(entity_settings_apply(st, TN, t, body, &pol, &r, &cause) == 0,
	              "line %d: settings: %s", line, cause);
	return r;
}

/* The poll's counters: created, changed, deleted, volatile updates. */
#define CK_COUNTS(r, c, ch, d, v)                                                                  \
	do {                                                                                       \
		ck_assert_uint_eq((r).created, (c));                                               \
		ck_assert_uint_eq((r).changed, (ch));                                              \
		ck_assert_uint_eq((r).deleted, (d));                                               \
		ck_assert_uint_eq((r).vol_updates, (v));                                           \
		ck_assert_int_eq((r).held, 0);                                                     \
	} while (0)

/* ---- queries ---- */

static json_t *
keys_list(tstime_t at, int64_t expiring)
{
	json_t *out = NULL;
	char *cause = NULL;

	ck_assert_msg(entity_keys_list(st, TN, at, expiring, &out, &cause) == HIST_OK, "%s", cause);
	return out;
}

static json_t *
users_list(tstime_t at)
{
	json_t *out = NULL;
	char *cause = NULL;

	ck_assert_msg(entity_users_list(st, TN, at, &out, &cause) == HIST_OK, "%s", cause);
	return out;
}

static json_t *
hooks_list(tstime_t at)
{
	json_t *out = NULL;
	char *cause = NULL;

	ck_assert_msg(entity_webhooks_list(st, TN, at, &out, &cause) == HIST_OK, "%s", cause);
	return out;
}

static json_t *
dns_get(const char *tn, tstime_t at, int history)
{
	json_t *out = NULL;
	char *cause = NULL;

	ck_assert_msg(entity_dns_get(st, tn, at, history, &out, &cause) == HIST_OK, "%s", cause);
	return out;
}

static json_t *
settings_get(tstime_t at, int history)
{
	json_t *out = NULL;
	char *cause = NULL;

	ck_assert_msg(entity_settings_get(st, TN, at, history, &out, &cause) == HIST_OK, "%s",
	              cause);
	return out;
}

static json_t *
policy_log(const char *tn)
{
	json_t *out = NULL;
	char *cause = NULL;

	ck_assert_msg(entity_policy_log(st, tn, &out, &cause) == HIST_OK, "%s", cause);
	return out;
}

#define POLICY_GET(tn, rev, at) policy_get((tn), (rev), (at), __LINE__)
static json_t *
policy_get(const char *tn, const char *rev, tstime_t at, int line)
{
	json_t *out = NULL;
	char *cause = NULL;

	ck_assert_msg(entity_policy_get(st, tn, rev, at, &out, &cause) == HIST_OK,
	              "line %d: policy get %s: %s", line, rev ? rev : "(current)", cause);
	return out;
}

/* entity_policy_get fails with RC and a cause containing WANT. */
#define POLICY_GET_FAILS(tn, rev, at, rc, want)                                                    \
	policy_get_fails((tn), (rev), (at), (rc), (want), __LINE__)
static void
policy_get_fails(const char *tn, const char *rev, tstime_t at, int rc, const char *want, int line)
{
	json_t *out = NULL;
	char *cause = NULL;
	int got = entity_policy_get(st, tn, rev, at, &out, &cause);

	ck_assert_msg(got == rc, "line %d: policy get %s: %d, want %d (%s) %s", line,
	              rev ? rev : "(current)", got, rc, cause, dump(out));
	ck_assert_msg(cause != NULL && strstr(cause, want) != NULL,
	              "line %d: cause \"%s\" lacks \"%s\"", line, cause, want);
	ck_assert_ptr_null(out);
	free(cause);
}

/* The policy text of OUT is exactly TEXT, byte for byte. */
static void
check_text(json_t *out, const char *text)
{
	json_t *t = json_object_get(out, "text");

	ck_assert_msg(json_is_string(t), "no text: %s", dump(out));
	ck_assert_uint_eq(json_string_length(t), strlen(text));
	ck_assert_msg(memcmp(json_string_value(t), text, strlen(text)) == 0, "text differs");
}

/* ---- reading the events back ---- */

static int
check_entity_scan_cb(uint64_t seq, const char *json, size_t len, void *arg)
{
	json_error_t err;
	json_t *ev = json_loadb(json, len, 0, &err);

	ck_assert_msg(ev != NULL, "event %llu is not JSON: %s", (unsigned long long)seq, err.text);
	ck_assert_uint_eq((uint64_t)json_integer_value(json_object_get(ev, "seq")), seq);
	json_array_append_new(arg, ev);
	return 0;
}

/* The events recorded since the last take (a new reference), numbered on from those before. */
static json_t *
take(void)
{
	json_t *evs = json_array(), *ev;
	char *cause = NULL;
	size_t i;

	ck_assert_msg(event_scan(st, seen, 0, check_entity_scan_cb, evs, &cause) == 0, "%s", cause);
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
		snprintf(b + strlen(b), 4096 - strlen(b), "%s%s %s", i ? ", " : "", S(ev, "type"),
		         S(json_object_get(ev, "entity"), "id"));
	}
	return b;
}

/* The events of the poll RES reported: as many as it says, all at its time and of TN; their
 * summary is WANT. A new reference. */
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
		ck_assert_msg(strcmp(S(ev, "time"), ts(res.time)) == 0,
		              "line %d: event at %s, poll at %s", line, S(ev, "time"),
		              ts(res.time));
		ck_assert_str_eq(S(ev, "tailnet"), TN);
	}
	return evs;
}

/* No event since the last take, and the poll says so too. */
#define NO_EVENTS(res) json_decref(TAKE((res), ""))

/* Event I of EVS is exactly: TYPE about KIND ID named NAME (NULL: no name), with the members
 * of REST (a new reference: before, after, changed, extras) and nothing else. */
#define CK_EV(evs, i, type, kind, id, name, rest)                                                  \
	check_ev(json_array_get((evs), (i)), (type), (kind), (id), (name), (rest), __LINE__)
static void
check_ev(json_t *ev, const char *type, const char *kind, const char *id, const char *name,
         json_t *rest, int line)
{
	json_t *got = json_deep_copy(ev), *want = rest, *entity;

	ck_assert_msg(ev != NULL, "line %d: no such event", line);
	json_object_del(got, "seq");
	json_object_del(got, "time");
	json_object_del(got, "tailnet");
	json_object_set_new(want, "type", json_string(type));
	entity = json_pack("{s:s, s:s}", "kind", kind, "id", id);
	if (name != NULL)
		json_object_set_new(entity, "name", json_string(name));
	json_object_set_new(want, "entity", entity);
	ck_assert_msg(json_equal(got, want), "line %d: event\n  got:  %s\n  want: %s", line,
	              dump(got), dump(want));
	json_decref(got);
	json_decref(want);
}

/* ---- keys ---- */

START_TEST(test_keys_baseline)
{
	json_t *u1 = mkuser("u1", "alice@example.com", "admin", "active");
	json_t *k1 = mkkey("k1", "auth", T0 + 30 * DAY, "ci runner", "u1");
	json_t *k2 = mkkey("k2", "api", T0 + 60 * DAY, "made by a trust credential", "");
	json_t *k3 = mkkey("k3", "client", NOW, "creator never seen", "u404");
	json_t *body = body_of("keys", k1, k2, k3, END), *out, *row;
	struct hist_poll_result res;
	struct hist_endpoint ep;

	res = users_list_poll(H(0), u1, END);
	NO_EVENTS(res);
	/* A list in full needs no fetch. */
	ck_assert_str_eq(PLAN(body), "");
	res = KEYS(H(1), body, NULL, NULL);
	ck_assert_int_eq(res.time, H(1));
	ck_assert_uint_eq(res.seen, 3);
	CK_COUNTS(res, 3, 0, 0, 0);
	NO_EVENTS(res);

	out = keys_list(NOW, -1);
	ck_assert_str_eq(S(out, "tailnet"), TN);
	ck_assert(json_is_null(json_object_get(out, "at")));
	ck_assert_str_eq(S(out, "as_of"), ts(H(1)));
	ck_assert_str_eq(S(out, "coverage"), "covered");
	ck_assert_ptr_null(json_object_get(out, "expiring_within"));
	ck_assert_str_eq(ids_of(out, "keys"), "k1 k2 k3");
	row = row_of(out, "keys", "k1");
	CK_BOUNDS(row, "held", NOW, H(1), NOW, NOW);
	CK_JSON(json_object_get(row, "key"), stored_key(k1, "active"));
	ck_assert_str_eq(S(row, "creator"), "alice@example.com");
	ck_assert_ptr_null(json_object_get(row, "volatile"));
	row = row_of(out, "keys", "k2");
	CK_JSON(json_object_get(row, "key"), stored_key(k2, "active"));
	ck_assert(json_is_null(json_object_get(row, "creator")));
	row = row_of(out, "keys", "k3");
	CK_JSON(json_object_get(row, "key"), stored_key(k3, "active"));
	ck_assert(json_is_null(json_object_get(row, "creator")));
	json_decref(out);

	ep = endpoint(TN, endpoints[ENDPOINT_keys].name);
	ck_assert_int_eq(ep.last_ok, H(1));
	ck_assert_str_eq(ep.result, "ok");
	ck_assert_uint_eq(ep.entities, 3);
	hist_endpoint_free(&ep);

	/* The same list again: nothing new. */
	res = KEYS(H(2), body, NULL, NULL);
	CK_COUNTS(res, 0, 0, 0, 0);
	NO_EVENTS(res);
	json_decref(body);
	json_decref(k1);
	json_decref(k2);
	json_decref(k3);
	json_decref(u1);
}
END_TEST

START_TEST(test_keys_revoked)
{
	json_t *u1 = mkuser("u1", "alice@example.com", "admin", "active");
	json_t *k1 = mkkey("k1", "auth", T0 + 30 * DAY, "ci runner", "u1");
	json_t *k2 = mkkey("k2", "api", T0 + 60 * DAY, "deploys", "u1");
	json_t *both = body_of("keys", k1, k2, END), *one = body_of("keys", k2, END);
	json_t *fetched, *evs, *out, *row, *after;
	struct hist_poll_result res;

	users_list_poll(H(0), u1, END);
	KEYS(H(1), both, NULL, NULL);
	json_decref(take());

	/* k1 left the list: fetched once more to learn why. */
	ck_assert_str_eq(PLAN(one), "k1");
	fetched = json_pack("[o]", revoked_answer("k1", T0 + 30 * DAY, H(1) + 30 * MIN));
	res = KEYS(H(2), one, fetched, NULL);
	CK_COUNTS(res, 0, 1, 0, 0);
	evs = TAKE(res, "key.revoked k1");
	/* The short answer is laid over what was known: type, creator and description stay. */
	after = stored_key(k1, "revoked");
	json_object_set_new(after, "revoked", json_string(ts(H(1) + 30 * MIN)));
	json_object_set_new(after, "invalid", json_true());
	CK_EV(evs, 0, "key.revoked", "key", "k1", "ci runner",
	      json_pack("{s:o, s:O, s:o}", "before", stored_key(k1, "active"), "after", after,
	                "changed", J("['invalid','revoked','state']")));
	json_decref(evs);

	out = keys_list(NOW, -1);
	ck_assert_str_eq(ids_of(out, "keys"), "k1 k2");
	row = row_of(out, "keys", "k1");
	CK_BOUNDS(row, "held", H(1), H(2), NOW, NOW);
	CK_JSON(json_object_get(row, "key"), json_incref(after));
	ck_assert_str_eq(S(row, "creator"), "alice@example.com");
	json_decref(out);

	/* A later poll: the revoked key is not asked for again, and it stays on record. */
	ck_assert_str_eq(PLAN(one), "");
	res = KEYS(H(3), one, NULL, NULL);
	CK_COUNTS(res, 0, 0, 0, 0);
	NO_EVENTS(res);
	out = keys_list(NOW, -1);
	ck_assert_str_eq(ids_of(out, "keys"), "k1 k2");
	CK_BOUNDS(row_of(out, "keys", "k1"), "held", H(1), H(2), NOW, NOW);
	ck_assert_str_eq(S(json_object_get(row_of(out, "keys", "k1"), "key"), "state"), "revoked");
	json_decref(out);
	out = keys_list(H(3), -1);
	ck_assert_str_eq(S(out, "at"), ts(H(3)));
	ck_assert_str_eq(S(out, "coverage"), "covered");
	ck_assert_str_eq(ids_of(out, "keys"), "k1 k2");
	row = row_of(out, "keys", "k1");
	CK_BOUNDS(row, "held", H(1), H(2), NOW, NOW);
	CK_JSON(json_object_get(row, "key"), json_incref(after));
	ck_assert_str_eq(S(row, "creator"), "alice@example.com");
	json_decref(out);
	/* Before it: the active version, closed by the poll that saw the change. */
	out = keys_list(H(1), -1);
	row = row_of(out, "keys", "k1");
	CK_BOUNDS(row, "held", NOW, H(1), H(1), H(2));
	CK_JSON(json_object_get(row, "key"), stored_key(k1, "active"));
	json_decref(out);

	json_decref(after);
	json_decref(fetched);
	json_decref(both);
	json_decref(one);
	json_decref(k1);
	json_decref(k2);
	json_decref(u1);
}
END_TEST

START_TEST(test_keys_gone)
{
	json_t *k1 = mkkey("k1", "auth", H(5), "short lived", "u1");
	json_t *k2 = mkkey("k2", "client", NOW, "no expiry", "u1");
	json_t *both = body_of("keys", k1, k2, END), *none = body_of("keys", END);
	json_t *gone = J("['k1','k2','k9']"), *evs, *out, *after;
	struct hist_poll_result res;

	KEYS(H(1), both, NULL, NULL);
	json_decref(take());
	ck_assert_str_eq(PLAN(none), "k1 k2");
	/* Both 404: k1's expiry has passed (expired), k2's has not (gone: revoked or deleted, the
	 * API does not say); k9 was never seen. */
	res = KEYS(H(6), none, NULL, gone);
	CK_COUNTS(res, 0, 2, 0, 0);
	evs = TAKE(res, "key.expired k1, key.deleted k2");
	CK_EV(evs, 0, "key.expired", "key", "k1", "short lived",
	      json_pack("{s:o, s:o, s:o}", "before", stored_key(k1, "active"), "after",
	                stored_key(k1, "expired"), "changed", J("['state']")));
	CK_EV(evs, 1, "key.deleted", "key", "k2", "no expiry",
	      json_pack("{s:o, s:o, s:o}", "before", stored_key(k2, "active"), "after",
	                stored_key(k2, "gone"), "changed", J("['state']")));
	json_decref(evs);

	out = keys_list(NOW, -1);
	ck_assert_str_eq(ids_of(out, "keys"), "k1 k2");
	CK_BOUNDS(row_of(out, "keys", "k1"), "held", H(1), H(6), NOW, NOW);
	CK_JSON(json_object_get(row_of(out, "keys", "k1"), "key"), stored_key(k1, "expired"));
	CK_JSON(json_object_get(row_of(out, "keys", "k2"), "key"), stored_key(k2, "gone"));
	json_decref(out);

	/* Later: nothing to fetch, nothing happens, both kept with their final state. */
	ck_assert_str_eq(PLAN(none), "");
	res = KEYS(H(7), none, NULL, NULL);
	NO_EVENTS(res);
	out = keys_list(H(7), -1);
	ck_assert_str_eq(ids_of(out, "keys"), "k1 k2");
	after = json_object_get(row_of(out, "keys", "k1"), "key");
	ck_assert_str_eq(S(after, "state"), "expired");
	ck_assert_str_eq(S(json_object_get(row_of(out, "keys", "k2"), "key"), "state"), "gone");
	json_decref(out);

	json_decref(gone);
	json_decref(both);
	json_decref(none);
	json_decref(k1);
	json_decref(k2);
}
END_TEST

START_TEST(test_keys_expiring_list)
{
	json_t *a = mkkey("a", "auth", T0 + 3 * DAY, "three days", "");
	json_t *b = mkkey("b", "auth", T0 + 7 * DAY - HOUR, "six days 23h", "");
	json_t *c = mkkey("c", "auth", T0 + 8 * DAY, "eight days", "");
	json_t *d = mkkey("d", "client", NOW, "never", "");
	json_t *e = mkkey("e", "auth", T0 + 2 * DAY, "revoked", "");
	json_t *f = mkkey("f", "api", T0 + 7 * DAY, "seven days exactly", "");
	json_t *body, *out, *evs;
	struct hist_poll_result res;

	json_object_set_new(e, "revoked", json_string(ts(T0 - HOUR)));
	json_object_set_new(e, "invalid", json_true());
	body = body_of("keys", a, b, c, d, e, f, END);
	res = KEYS(T0, body, NULL, NULL);
	NO_EVENTS(res); /* the warnings already due are noted silently at the baseline */

	out = keys_list(NOW, 7 * DAY);
	ck_assert_str_eq(ids_of(out, "keys"), "a b f");
	ck_assert_str_eq(S(out, "expiring_within"), "7d");
	ck_assert_str_eq(S(json_object_get(row_of(out, "keys", "a"), "key"), "state"), "active");
	json_decref(out);
	out = keys_list(NOW, 0);
	ck_assert_str_eq(ids_of(out, "keys"), "");
	json_decref(out);
	out = keys_list(NOW, -1);
	ck_assert_str_eq(ids_of(out, "keys"), "a b c d e f");
	ck_assert_str_eq(S(json_object_get(row_of(out, "keys", "e"), "key"), "state"), "revoked");
	json_decref(out);

	/* Two days on: a crosses 1d, c crosses 7d; b and f were past 7d at the baseline. */
	res = KEYS(T0 + 2 * DAY, body, NULL, NULL);
	CK_COUNTS(res, 0, 0, 0, 0);
	evs = TAKE(res, "key.expiring a, key.expiring c");
	CK_EV(evs, 0, "key.expiring", "key", "a", "three days",
	      json_pack("{s:s, s:s, s:I}", "expires", ts(T0 + 3 * DAY), "threshold", "1d",
	                "remaining_s", (json_int_t)86400));
	CK_EV(evs, 1, "key.expiring", "key", "c", "eight days",
	      json_pack("{s:s, s:s, s:I}", "expires", ts(T0 + 8 * DAY), "threshold", "7d",
	                "remaining_s", (json_int_t)(6 * 86400)));
	json_decref(evs);
	out = keys_list(NOW, 7 * DAY);
	ck_assert_str_eq(S(out, "as_of"), ts(T0 + 2 * DAY));
	ck_assert_str_eq(ids_of(out, "keys"), "a b c f");
	json_decref(out);
	out = keys_list(T0 + 2 * DAY, 7 * DAY);
	ck_assert_str_eq(ids_of(out, "keys"), "a b c f");
	json_decref(out);
	/* Asked at the first poll's time: answered as of then. */
	out = keys_list(T0, 7 * DAY);
	ck_assert_str_eq(ids_of(out, "keys"), "a b f");
	json_decref(out);

	json_decref(body);
	json_decref(a);
	json_decref(b);
	json_decref(c);
	json_decref(d);
	json_decref(e);
	json_decref(f);
}
END_TEST

START_TEST(test_keys_expiring_events)
{
	json_t *a = mkkey("kA", "auth", T0 + 10 * DAY, "ten days", "");
	json_t *b = mkkey("kB", "auth", T0 + HOUR + 13 * DAY, "thirteen days", "");
	json_t *c = mkkey("kC", "auth", T0 + HOUR + 20 * HOUR, "twenty hours", "");
	json_t *only_a = body_of("keys", a, END), *abc = body_of("keys", a, b, c, END);
	json_t *ab = body_of("keys", a, b, END), *gone = J("['kC']"), *evs;
	struct hist_poll_result res;

	/* Baseline: kA is inside 14d already; its mark is set without an event. */
	res = KEYS(T0, only_a, NULL, NULL);
	NO_EVENTS(res);
	/* New keys: created, then warned once at the tightest threshold crossed. */
	res = KEYS(T0 + HOUR, abc, NULL, NULL);
	evs = TAKE(res, "key.created kB, key.created kC, key.expiring kB, key.expiring kC");
	CK_EV(evs, 0, "key.created", "key", "kB", "thirteen days",
	      json_pack("{s:o}", "after", stored_key(b, "active")));
	CK_EV(evs, 2, "key.expiring", "key", "kB", "thirteen days",
	      json_pack("{s:s, s:s, s:I}", "expires", ts(T0 + HOUR + 13 * DAY), "threshold", "14d",
	                "remaining_s", (json_int_t)(13 * 86400)));
	CK_EV(evs, 3, "key.expiring", "key", "kC", "twenty hours",
	      json_pack("{s:s, s:s, s:I}", "expires", ts(T0 + 21 * HOUR), "threshold", "1d",
	                "remaining_s", (json_int_t)(20 * 3600)));
	json_decref(evs);
	res = KEYS(T0 + 2 * HOUR, abc, NULL, NULL);
	NO_EVENTS(res);

	/* kA crosses 7d; kC is gone past its expiry. */
	res = KEYS(T0 + 3 * DAY + HOUR, ab, NULL, gone);
	evs = TAKE(res, "key.expired kC, key.expiring kA");
	CK_EV(evs, 1, "key.expiring", "key", "kA", "ten days",
	      json_pack("{s:s, s:s, s:I}", "expires", ts(T0 + 10 * DAY), "threshold", "7d",
	                "remaining_s", (json_int_t)(7 * 86400 - 3600)));
	json_decref(evs);
	res = KEYS(T0 + 3 * DAY + 2 * HOUR, ab, NULL, NULL);
	NO_EVENTS(res);

	/* kA crosses 1d, kB crosses 7d; then nothing more. */
	res = KEYS(T0 + 9 * DAY + HOUR, ab, NULL, NULL);
	evs = TAKE(res, "key.expiring kA, key.expiring kB");
	CK_EV(evs, 0, "key.expiring", "key", "kA", "ten days",
	      json_pack("{s:s, s:s, s:I}", "expires", ts(T0 + 10 * DAY), "threshold", "1d",
	                "remaining_s", (json_int_t)(86400 - 3600)));
	CK_EV(evs, 1, "key.expiring", "key", "kB", "thirteen days",
	      json_pack("{s:s, s:s, s:I}", "expires", ts(T0 + HOUR + 13 * DAY), "threshold", "7d",
	                "remaining_s", (json_int_t)(4 * 86400)));
	json_decref(evs);
	res = KEYS(T0 + 9 * DAY + 2 * HOUR, ab, NULL, NULL);
	NO_EVENTS(res);

	json_decref(gone);
	json_decref(only_a);
	json_decref(abc);
	json_decref(ab);
	json_decref(a);
	json_decref(b);
	json_decref(c);
}
END_TEST

START_TEST(test_keys_ids_shape)
{
	json_t *k1 = mkkey("k1", "auth", T0 + 30 * DAY, "one", "");
	json_t *k2 = mkkey("k2", "api", T0 + 30 * DAY, "two", "");
	json_t *k3 = mkkey("k3", "auth", T0 + 30 * DAY, "three", "");
	json_t *k4 = mkkey("k4", "auth", T0 + 30 * DAY, "four", "");
	json_t *k5 = mkkey("k5", "auth", T0 + 30 * DAY, "five", "");
	json_t *full, *ids, *fetched, *evs, *out, *after;
	struct hist_poll_result res;

	json_object_set_new(k3, "revoked", json_string(ts(T0)));
	json_object_set_new(k3, "invalid", json_true());
	full = body_of("keys", k1, k2, k3, k5, END);
	res = KEYS(H(1), full, NULL, NULL);
	NO_EVENTS(res);

	/* Ids only: fetch the unknown (k4) and the known but not active (k3) as listed, then the
	 * active ones that left the list (k5); not the known active ones. */
	ids = J("{'keys':[{'id':'k1'},{'id':'k2'},{'id':'k3'},{'id':'k4'}]}");
	ck_assert_str_eq(PLAN(ids), "k3 k4 k5");
	fetched = json_pack("[o, O, o]", revoked_answer("k3", T0 + 30 * DAY, T0), k4,
	                    revoked_answer("k5", T0 + 30 * DAY, H(1) + MIN));
	res = KEYS(H(2), ids, fetched, NULL);
	CK_COUNTS(res, 1, 1, 0, 0);
	evs = TAKE(res, "key.created k4, key.revoked k5");
	CK_EV(evs, 0, "key.created", "key", "k4", "four",
	      json_pack("{s:o}", "after", stored_key(k4, "active")));
	json_decref(evs);

	out = keys_list(NOW, -1);
	ck_assert_str_eq(ids_of(out, "keys"), "k1 k2 k3 k4 k5");
	CK_BOUNDS(row_of(out, "keys", "k1"), "held", NOW, H(1), NOW, NOW);
	CK_JSON(json_object_get(row_of(out, "keys", "k1"), "key"), stored_key(k1, "active"));
	CK_JSON(json_object_get(row_of(out, "keys", "k3"), "key"), stored_key(k3, "revoked"));
	CK_BOUNDS(row_of(out, "keys", "k3"), "held", NOW, H(1), NOW, NOW);
	after = json_object_get(row_of(out, "keys", "k5"), "key");
	ck_assert_str_eq(S(after, "state"), "revoked");
	ck_assert_str_eq(S(after, "description"), "five");
	json_decref(out);

	/* Now all known and active: nothing to fetch. */
	json_decref(ids);
	ids = J("{'keys':[{'id':'k1'},{'id':'k2'},{'id':'k4'}]}");
	ck_assert_str_eq(PLAN(ids), "");
	res = KEYS(H(3), ids, NULL, NULL);
	NO_EVENTS(res);

	json_decref(fetched);
	json_decref(full);
	json_decref(ids);
	json_decref(k1);
	json_decref(k2);
	json_decref(k3);
	json_decref(k4);
	json_decref(k5);
}
END_TEST

/* With the ids-only list, the known active keys are not fetched again: their expiry warnings
 * must still fire from what is on record. */
START_TEST(test_keys_ids_shape_expiring)
{
	json_t *k1 = mkkey("k1", "auth", T0 + 10 * DAY, "ten days", "");
	json_t *full = body_of("keys", k1, END), *ids = J("{'keys':[{'id':'k1'}]}"), *evs;
	struct hist_poll_result res;

	res = KEYS(T0, full, NULL, NULL);
	NO_EVENTS(res);
	ck_assert_str_eq(PLAN(ids), "");
	res = KEYS(T0 + 3 * DAY + HOUR, ids, NULL, NULL);
	evs = TAKE(res, "key.expiring k1");
	CK_EV(evs, 0, "key.expiring", "key", "k1", "ten days",
	      json_pack("{s:s, s:s, s:I}", "expires", ts(T0 + 10 * DAY), "threshold", "7d",
	                "remaining_s", (json_int_t)(7 * 86400 - 3600)));
	json_decref(evs);
	json_decref(full);
	json_decref(ids);
	json_decref(k1);
}
END_TEST

START_TEST(test_keys_bad_answers)
{
	static const char *const bad[][2] = {
	    {"{'keys':3}", "the answer has no \"keys\" list"},
	    {"{'nokeys':[]}", "the answer has no \"keys\" list"},
	    {"[]", "the answer has no \"keys\" list"},
	    {"{'keys':[{'id':'k1'},{'name':'x'}]}", "key 2 of the answer has no usable \"id\""},
	    {"{'keys':[{'id':''}]}", "key 1 of the answer has no usable \"id\""},
	    {"{'keys':[7]}", "key 1 of the answer is not an object"},
	};
	json_t *k1 = mkkey("k1", "auth", T0 + 30 * DAY, "one", ""),
	       *body = body_of("keys", k1, END);
	json_t *fetched = J("[{'created':'2026-10-01T00:00:00Z'}]"), *ids = NULL, *out;
	struct hist_poll_result res;
	char *cause = NULL;

	KEYS(H(1), body, NULL, NULL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *b = J(bad[i][0]);

		ck_assert_int_eq(entity_keys_plan(st, TN, b, &ids, &cause), -1);
		ck_assert_msg(cause != NULL && strcmp(cause, bad[i][1]) == 0, "%s: plan: %s",
		              bad[i][0], cause);
		free(cause);
		cause = NULL;
		ck_assert_int_eq(entity_keys_apply(st, TN, H(2), b, NULL, NULL, &pol, &res, &cause),
		                 -1);
		ck_assert_msg(cause != NULL && strcmp(cause, bad[i][1]) == 0, "%s: apply: %s",
		              bad[i][0], cause);
		free(cause);
		cause = NULL;
		json_decref(b);
	}
	ck_assert_int_eq(entity_keys_apply(st, TN, H(2), body, fetched, NULL, &pol, &res, &cause),
	                 -1);
	ck_assert_str_eq(cause, "fetched key 1 of the answer has no usable \"id\"");
	free(cause);
	/* Nothing changed: the last good poll is still the first. */
	out = keys_list(NOW, -1);
	ck_assert_str_eq(S(out, "as_of"), ts(H(1)));
	ck_assert_str_eq(ids_of(out, "keys"), "k1");
	json_decref(out);
	json_decref(fetched);
	json_decref(body);
	json_decref(k1);
}
END_TEST

START_TEST(test_keys_secret)
{
	json_t *k1 = mkkey("k1", "auth", T0 + 30 * DAY, "one", "");
	json_t *k2 = mkkey("k2", "auth", T0 + 30 * DAY, "two", "");
	json_t *both = body_of("keys", k1, k2, END), *one = body_of("keys", k1, END);
	json_t *fetched = json_pack("[o]", revoked_answer("k2", T0 + 30 * DAY, H(1)));
	json_t *out, *evs;
	struct hist_poll_result res;
	tstime_t at[] = {NOW, H(1), H(2)};

	/* The secret comes in the list and in a per-key answer too. */
	json_object_set_new(json_array_get(fetched, 0), "key", json_string("tskey-x-" SECRET_MARK));
	KEYS(H(1), both, NULL, NULL);
	res = KEYS(H(2), one, fetched, NULL);
	evs = TAKE(res, "key.revoked k2");
	ck_assert_ptr_null(strstr(dump(evs), SECRET_MARK));
	ck_assert_ptr_null(
	    json_object_get(json_object_get(json_array_get(evs, 0), "after"), "key"));
	json_decref(evs);
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		json_t *row;
		size_t j;

		out = keys_list(at[i], -1);
		ck_assert_uint_ge(json_array_size(json_object_get(out, "keys")), 2);
		ck_assert_ptr_null(strstr(dump(out), SECRET_MARK));
		json_array_foreach(json_object_get(out, "keys"), j, row)
		    ck_assert_ptr_null(json_object_get(json_object_get(row, "key"), "key"));
		json_decref(out);
	}
	ck_assert_int_eq(store_file_has(SECRET_MARK), 0);
	ck_assert_int_eq(store_file_has("\"description\":\"one\""), 1); /* the scan works */
	json_decref(fetched);
	json_decref(both);
	json_decref(one);
	json_decref(k1);
	json_decref(k2);
}
END_TEST

/* ---- users ---- */

START_TEST(test_users_volatile)
{
	json_t *u1 = mkuser("u1", "alice@example.com", "admin", "active");
	json_t *u2 = mkuser("u2", "bob@example.com", "member", "idle");
	json_t *u3 = mkuser("u3", "carol@example.com", "member", "active");
	json_t *out, *row;
	struct hist_poll_result res;

	res = users_list_poll(H(1), u1, u2, u3, END);
	CK_COUNTS(res, 3, 0, 0, 0);
	NO_EVENTS(res);
	out = users_list(NOW);
	ck_assert_str_eq(ids_of(out, "users"), "u1 u2 u3");
	row = row_of(out, "users", "u2");
	CK_BOUNDS(row, "held", NOW, H(1), NOW, NOW);
	CK_JSON(json_object_get(row, "user"), stored_user(u2));
	CK_JSON(json_object_get(row, "volatile"),
	        J("{'currentlyConnected':true,'deviceCount':4,'lastSeen':'2026-10-31T23:00:00Z',"
	          "'status':'idle'}"));
	json_decref(out);

	/* Everything that moves by itself moves: no version, no event. */
	json_object_set_new(u1, "status", json_string("idle"));
	json_object_set_new(u1, "lastSeen", json_string("2026-11-01T01:59:00Z"));
	json_object_set_new(u1, "currentlyConnected", json_false());
	json_object_set_new(u1, "deviceCount", json_integer(5));
	json_object_set_new(u2, "status", json_string("active"));
	res = users_list_poll(H(2), u1, u2, u3, END);
	CK_COUNTS(res, 0, 0, 0, 2);
	NO_EVENTS(res);
	out = users_list(NOW);
	row = row_of(out, "users", "u1");
	CK_BOUNDS(row, "held", NOW, H(1), NOW, NOW);
	CK_JSON(json_object_get(row, "user"), stored_user(u1));
	ck_assert_str_eq(S(json_object_get(row, "user"), "status"), "active");
	CK_JSON(json_object_get(row, "volatile"),
	        J("{'currentlyConnected':false,'deviceCount':5,'lastSeen':'2026-11-01T01:59:00Z',"
	          "'status':'idle'}"));
	CK_BOUNDS(row_of(out, "users", "u2"), "held", NOW, H(1), NOW, NOW);
	json_decref(out);
	/* One version all along: held between the polls, not maybe. */
	out = users_list(H(1) + 30 * MIN);
	ck_assert_str_eq(ids_of(out, "users"), "u1 u2 u3");
	CK_BOUNDS(row_of(out, "users", "u1"), "held", NOW, H(1), NOW, NOW);
	ck_assert_ptr_null(json_object_get(row_of(out, "users", "u1"), "volatile"));
	json_decref(out);

	/* And back. */
	json_object_set_new(u1, "status", json_string("active"));
	res = users_list_poll(H(3), u1, u2, u3, END);
	CK_COUNTS(res, 0, 0, 0, 1);
	NO_EVENTS(res);
	json_decref(u1);
	json_decref(u2);
	json_decref(u3);
}
END_TEST

START_TEST(test_users_role_status)
{
	json_t *u1 = mkuser("u1", "alice@example.com", "member", "active");
	json_t *u2 = mkuser("u2", "bob@example.com", "member", "idle");
	json_t *u3 = mkuser("u3", "carol@example.com", "member", "active");
	json_t *evs, *out;
	struct hist_poll_result res;

	users_list_poll(H(1), u1, u2, u3, END);
	json_decref(take());

	json_object_set_new(u1, "role", json_string("admin"));
	res = users_list_poll(H(2), u1, u2, u3, END);
	CK_COUNTS(res, 0, 1, 0, 0);
	evs = TAKE(res, "user.role.changed u1");
	CK_EV(evs, 0, "user.role.changed", "user", "u1", "alice@example.com",
	      J("{'before':{'role':'member'},'after':{'role':'admin'},'changed':['role']}"));
	json_decref(evs);

	json_object_set_new(u2, "status", json_string("suspended"));
	res = users_list_poll(H(3), u1, u2, u3, END);
	CK_COUNTS(res, 0, 1, 0, 0);
	evs = TAKE(res, "user.status.changed u2");
	CK_EV(evs, 0, "user.status.changed", "user", "u2", "bob@example.com",
	      J("{'before':{'status':'active'},'after':{'status':'suspended'},"
	        "'changed':['status']}"));
	json_decref(evs);

	/* A role and another field at once: the role event, then the rest as updated. */
	json_object_set_new(u3, "role", json_string("it-admin"));
	json_object_set_new(u3, "displayName", json_string("Carol C."));
	res = users_list_poll(H(4), u1, u2, u3, END);
	evs = TAKE(res, "user.role.changed u3, user.updated u3");
	CK_EV(evs, 1, "user.updated", "user", "u3", "carol@example.com",
	      J("{'before':{'displayName':'carol@example.com'},'after':{'displayName':'Carol C.'},"
	        "'changed':['displayName']}"));
	json_decref(evs);

	/* The history: u1 was a member at H(1) and an admin from H(2). */
	out = users_list(H(1));
	ck_assert_str_eq(S(json_object_get(row_of(out, "users", "u1"), "user"), "role"), "member");
	CK_BOUNDS(row_of(out, "users", "u1"), "held", NOW, H(1), H(1), H(2));
	json_decref(out);
	out = users_list(H(3));
	ck_assert_str_eq(S(json_object_get(row_of(out, "users", "u1"), "user"), "role"), "admin");
	ck_assert_str_eq(S(json_object_get(row_of(out, "users", "u2"), "user"), "status"),
	                 "suspended");
	json_decref(out);
	json_decref(u1);
	json_decref(u2);
	json_decref(u3);
}
END_TEST

/* Through the poller's recorder: a user the list leaves out waits for confirmation. */
static struct hist_poll_result
users_answer(tstime_t t, json_t *body, json_t *fetched, json_t *gone)
{
	struct hist_poll_result r;
	struct endpoint_answer ans = {0};
	json_t *answers = json_pack("[O]", body), *f = fetched ?: json_array(),
	       *g = gone ?: json_array();
	char *cause = NULL;

	ans.json = answers;
	ans.fetched = f;
	ans.gone = g;
	RES_INIT(r);
	ck_assert_msg(entity_users_answer(st, TN, t, &ans, &pol, &r, &cause) == 0, "users: %s",
	              cause);
	json_decref(answers);
	if (fetched == NULL)
		json_decref(f);
	if (gone == NULL)
		json_decref(g);
	return r;
}

START_TEST(test_users_confirmed)
{
	json_t *u1 = mkuser("u1", "alice@example.com", "admin", "active");
	json_t *u2 = mkuser("u2", "bob@example.com", "member", "active");
	json_t *u3 = mkuser("u3", "carol@example.com", "member", "active");
	json_t *all = body_of("users", u1, u2, u3, END), *short_ = body_of("users", u1, u3, END);
	json_t *out, *gone, *one = body_of("users", u1, END);
	struct hist_poll_result res;

	pol.confirm_delay = 2 * HOUR;
	users_answer(H(1), all, NULL, NULL);
	json_decref(take());
	/* Left out, not fetched by id: kept, "maybe" after H(1), no event. */
	res = users_answer(H(2), short_, NULL, NULL);
	CK_COUNTS(res, 0, 0, 0, 0);
	ck_assert_uint_eq(res.pending, 1);
	json_decref(TAKE(res, ""));
	out = users_list(H(2));
	CK_BOUNDS(row_of(out, "users", "u2"), "maybe", NOW, H(1), H(1), NOW);
	json_decref(out);
	/* Listed again: as if H(2) had never left it out. */
	res = users_answer(H(3), all, NULL, NULL);
	ck_assert_uint_eq(res.refuted, 1);
	CK_COUNTS(res, 0, 0, 0, 0);
	out = users_list(H(2));
	CK_BOUNDS(row_of(out, "users", "u2"), "held", NOW, H(1), NOW, NOW);
	json_decref(out);
	/* Left out at H(4), H(5) (too soon), H(6): deleted in the window H(3)..H(4). */
	users_answer(H(4), short_, NULL, NULL);
	res = users_answer(H(5), short_, NULL, NULL);
	ck_assert_uint_eq(res.deleted, 0);
	res = users_answer(H(6), short_, NULL, NULL);
	CK_COUNTS(res, 0, 0, 1, 0);
	json_decref(TAKE(res, "user.deleted u2"));
	out = users_list(H(3));
	CK_BOUNDS(row_of(out, "users", "u2"), "held", NOW, H(1), H(3), H(4));
	json_decref(out);
	/* A 404 by id deletes at once, in the usual window. */
	gone = json_pack("[s]", "u3");
	res = users_answer(H(7), one, NULL, gone);
	CK_COUNTS(res, 0, 0, 1, 0);
	json_decref(TAKE(res, "user.deleted u3"));
	json_decref(gone);
	pol.confirm_delay = 0;
	json_decref(one);
	json_decref(all);
	json_decref(short_);
	json_decref(u1);
	json_decref(u2);
	json_decref(u3);
}
END_TEST

START_TEST(test_users_deleted)
{
	json_t *u1 = mkuser("u1", "alice@example.com", "admin", "active");
	json_t *u2 = mkuser("u2", "bob@example.com", "member", "active");
	json_t *u3 = mkuser("u3", "carol@example.com", "member", "active");
	json_t *k = mkkey("k1", "auth", T0 + 30 * DAY, "bob's key", "u2");
	json_t *kb = body_of("keys", k, END), *evs, *out;
	struct hist_poll_result res;

	users_list_poll(H(1), u1, u2, u3, END);
	KEYS(H(1), kb, NULL, NULL);
	json_decref(take());

	/* One of three: not a mass disappearance. */
	res = users_list_poll(H(2), u1, u3, END);
	CK_COUNTS(res, 0, 0, 1, 0);
	evs = TAKE(res, "user.deleted u2");
	CK_EV(evs, 0, "user.deleted", "user", "u2", "bob@example.com",
	      json_pack("{s:o}", "before", stored_user(u2)));
	json_decref(evs);

	out = users_list(NOW);
	ck_assert_str_eq(ids_of(out, "users"), "u1 u3");
	json_decref(out);
	out = users_list(H(1));
	ck_assert_str_eq(ids_of(out, "users"), "u1 u2 u3");
	CK_BOUNDS(row_of(out, "users", "u2"), "held", NOW, H(1), H(1), H(2));
	CK_JSON(json_object_get(row_of(out, "users", "u2"), "user"), stored_user(u2));
	json_decref(out);
	out = users_list(H(2));
	ck_assert_str_eq(ids_of(out, "users"), "u1 u3");
	json_decref(out);

	/* A key keeps its creator's name after the creator left. */
	out = keys_list(NOW, -1);
	ck_assert_str_eq(S(row_of(out, "keys", "k1"), "creator"), "bob@example.com");
	json_decref(out);

	json_decref(kb);
	json_decref(k);
	json_decref(u1);
	json_decref(u2);
	json_decref(u3);
}
END_TEST

START_TEST(test_users_mass_held)
{
	json_t *u1 = mkuser("u1", "alice@example.com", "admin", "active");
	json_t *u2 = mkuser("u2", "bob@example.com", "member", "active");
	json_t *u3 = mkuser("u3", "carol@example.com", "member", "active");
	json_t *evs, *out;
	struct hist_poll_result res;
	struct hist_endpoint ep;

	users_list_poll(H(1), u1, u2, u3, END);
	json_decref(take());

	res = users_list_poll(H(2), END);
	ck_assert_int_eq(res.held, 1);
	ck_assert_int_eq(res.time, H(2));
	ck_assert_uint_eq(res.deleted, 0);
	NO_EVENTS(res);
	ep = endpoint(TN, endpoints[ENDPOINT_users].name);
	ck_assert_str_eq(ep.result, "held");
	ck_assert_int_eq(ep.last_ok, H(1));
	ck_assert_int_eq(ep.last_poll, H(2));
	ck_assert_int_eq(ep.pending_mass, 1);
	ck_assert_msg(ep.error != NULL && strstr(ep.error, "3 of 3 users disappeared") != NULL,
	              "%s", ep.error);
	hist_endpoint_free(&ep);
	out = users_list(NOW);
	ck_assert_str_eq(ids_of(out, "users"), "u1 u2 u3");
	json_decref(out);

	/* Confirmed by the next poll: applied. */
	res = users_list_poll(H(3), END);
	ck_assert_int_eq(res.held, 0);
	CK_COUNTS(res, 0, 0, 3, 0);
	evs = TAKE(res, "user.deleted u1, user.deleted u2, user.deleted u3");
	json_decref(evs);
	out = users_list(NOW);
	ck_assert_str_eq(ids_of(out, "users"), "");
	json_decref(out);
	out = users_list(H(1));
	ck_assert_str_eq(ids_of(out, "users"), "u1 u2 u3");
	CK_BOUNDS(row_of(out, "users", "u1"), "held", NOW, H(1), H(1), H(3));
	json_decref(out);
	ep = endpoint(TN, endpoints[ENDPOINT_users].name);
	ck_assert_str_eq(ep.result, "ok");
	ck_assert_int_eq(ep.last_ok, H(3));
	ck_assert_int_eq(ep.pending_mass, 0);
	ck_assert_uint_eq(ep.entities, 0);
	hist_endpoint_free(&ep);
	json_decref(u1);
	json_decref(u2);
	json_decref(u3);
}
END_TEST

START_TEST(test_users_mass_recovers)
{
	json_t *u1 = mkuser("u1", "alice@example.com", "admin", "active");
	json_t *u2 = mkuser("u2", "bob@example.com", "member", "active");
	struct hist_poll_result res;

	users_list_poll(H(1), u1, u2, END);
	res = users_list_poll(H(2), END);
	ck_assert_int_eq(res.held, 1);
	/* They came back: nothing happened, and the next disappearance is held again. */
	res = users_list_poll(H(3), u1, u2, END);
	CK_COUNTS(res, 0, 0, 0, 0);
	NO_EVENTS(res);
	res = users_list_poll(H(4), u1, END);
	ck_assert_int_eq(res.held, 0); /* one of two is 50%: not more than half */
	json_decref(TAKE(res, "user.deleted u2"));
	res = users_list_poll(H(5), END);
	ck_assert_int_eq(res.held, 1);
	NO_EVENTS(res);
	json_decref(u1);
	json_decref(u2);
}
END_TEST

START_TEST(test_users_bad_answers)
{
	static const char *const bad[][2] = {
	    {"{}", "the answer has no \"users\" list"},
	    {"[]", "the answer has no \"users\" list"},
	    {"{'users':[{'id':'u1','loginName':'x','displayName':'x','type':'member','role':"
	     "'member','status':'active'},{'loginName':'x'}]}",
	     "user 2 of the answer has no usable \"id\""},
	    {"{'users':['u1']}", "user 1 of the answer is not an object"},
	};
	json_t *u1 = mkuser("u1", "alice@example.com", "admin", "active"), *dup, *out;
	struct hist_poll_result res;
	struct hist_endpoint ep;
	char *cause = NULL;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *b = J(bad[i][0]);

		ck_assert_int_eq(entity_users_apply(st, TN, H(1), b, &pol, &res, &cause), -1);
		ck_assert_msg(cause != NULL && strcmp(cause, bad[i][1]) == 0, "%s: %s", bad[i][0],
		              cause);
		free(cause);
		cause = NULL;
		json_decref(b);
	}
	ep = endpoint(TN, endpoints[ENDPOINT_users].name);
	ck_assert_int_eq(ep.last_poll, NOW);
	ck_assert_int_eq(ep.last_ok, NOW);
	hist_endpoint_free(&ep);

	/* Listed twice: the first one wins. */
	dup = mkuser("u1", "alice@example.com", "owner", "active");
	users_list_poll(H(1), u1, dup, END);
	out = users_list(NOW);
	ck_assert_str_eq(ids_of(out, "users"), "u1");
	ck_assert_str_eq(S(json_object_get(row_of(out, "users", "u1"), "user"), "role"), "admin");
	json_decref(out);
	json_decref(dup);
	json_decref(u1);
}
END_TEST

/* ---- webhooks ---- */

START_TEST(test_webhooks)
{
	json_t *w1 =
	    mkhook("w1", "https://hooks.example.com/a", J("['nodeCreated','userDeleted']"));
	json_t *w2 = mkhook("w2", "https://hooks.example.com/b", J("['nodeDeleted']"));
	json_t *b1 = body_of("webhooks", w1, END), *b12 = body_of("webhooks", w1, w2, END);
	json_t *evs, *out;
	struct hist_poll_result res;

	res = HOOKS(H(1), b1);
	CK_COUNTS(res, 1, 0, 0, 0);
	NO_EVENTS(res);

	res = HOOKS(H(2), b12);
	CK_COUNTS(res, 1, 0, 0, 0);
	evs = TAKE(res, "webhook.created w2");
	CK_EV(evs, 0, "webhook.created", "webhook", "w2", "https://hooks.example.com/b",
	      json_pack("{s:o}", "after", stored_hook(w2)));
	json_decref(evs);

	/* The same subscriptions in another order: nothing. */
	json_object_set_new(w1, "subscriptions", J("['userDeleted','nodeCreated']"));
	json_decref(b12);
	b12 = body_of("webhooks", w1, w2, END);
	res = HOOKS(H(3), b12);
	CK_COUNTS(res, 0, 0, 0, 0);
	NO_EVENTS(res);

	json_object_set_new(w1, "subscriptions", J("['userDeleted','policyUpdate','nodeCreated']"));
	json_decref(b12);
	b12 = body_of("webhooks", w1, w2, END);
	res = HOOKS(H(4), b12);
	CK_COUNTS(res, 0, 1, 0, 0);
	evs = TAKE(res, "webhook.updated w1");
	CK_EV(evs, 0, "webhook.updated", "webhook", "w1", "https://hooks.example.com/a",
	      J("{'before':{'subscriptions':['nodeCreated','userDeleted']},"
	        "'after':{'subscriptions':['nodeCreated','policyUpdate','userDeleted']},"
	        "'changed':['subscriptions']}"));
	json_decref(evs);

	/* One of two gone: half, not more than half, so not held. */
	json_decref(b1);
	b1 = body_of("webhooks", w1, END);
	res = HOOKS(H(5), b1);
	CK_COUNTS(res, 0, 0, 1, 0);
	evs = TAKE(res, "webhook.deleted w2");
	CK_EV(evs, 0, "webhook.deleted", "webhook", "w2", "https://hooks.example.com/b",
	      json_pack("{s:o}", "before", stored_hook(w2)));
	json_decref(evs);

	out = hooks_list(NOW);
	ck_assert_str_eq(ids_of(out, "webhooks"), "w1");
	CK_BOUNDS(row_of(out, "webhooks", "w1"), "held", H(3), H(4), NOW, NOW);
	ck_assert_ptr_null(
	    json_object_get(json_object_get(row_of(out, "webhooks", "w1"), "webhook"), "secret"));
	ck_assert_str_eq(
	    dump(json_object_get(json_object_get(row_of(out, "webhooks", "w1"), "webhook"),
	                         "subscriptions")),
	    "[\"nodeCreated\",\"policyUpdate\",\"userDeleted\"]");
	json_decref(out);
	out = hooks_list(H(2));
	ck_assert_str_eq(ids_of(out, "webhooks"), "w1 w2");
	CK_JSON(json_object_get(row_of(out, "webhooks", "w2"), "webhook"), stored_hook(w2));
	ck_assert_ptr_null(strstr(dump(out), SECRET_MARK));
	json_decref(out);
	ck_assert_int_eq(store_file_has(SECRET_MARK), 0);
	ck_assert_int_eq(store_file_has("hooks.example.com/b"), 1);

	json_decref(b1);
	json_decref(b12);
	json_decref(w1);
	json_decref(w2);
}
END_TEST

START_TEST(test_webhooks_null)
{
	json_t *w1 = mkhook("w1", "https://hooks.example.com/a", J("['nodeCreated']"));
	json_t *b = J("{'webhooks':null}"), *out;
	struct hist_poll_result res;
	struct hist_endpoint ep;
	char *cause = NULL;

	res = HOOKS(H(1), b);
	ck_assert_uint_eq(res.seen, 0);
	CK_COUNTS(res, 0, 0, 0, 0);
	ep = endpoint(TN, endpoints[ENDPOINT_webhooks].name);
	ck_assert_int_eq(ep.last_ok, H(1));
	ck_assert_uint_eq(ep.entities, 0);
	hist_endpoint_free(&ep);
	out = hooks_list(NOW);
	ck_assert_str_eq(ids_of(out, "webhooks"), "");
	ck_assert_str_eq(S(out, "coverage"), "covered");
	json_decref(out);
	json_decref(b);
	/* No member at all is a broken answer (a 200 with an error message), never "no webhooks
	 * any more". */
	b = J("{'message':'try later'}");
	ck_assert_int_eq(entity_webhooks_apply(st, TN, H(2), b, &pol, &res, &cause), -1);
	ck_assert_str_eq(cause, "the answer has no \"webhooks\" list");
	free(cause);
	cause = NULL;
	json_decref(b);

	b = J("[]");
	ck_assert_int_eq(entity_webhooks_apply(st, TN, H(3), b, &pol, &res, &cause), -1);
	ck_assert_str_eq(cause, "the answer has no \"webhooks\" list");
	free(cause);
	cause = NULL;
	json_decref(b);
	b = J("{'webhooks':{}}");
	ck_assert_int_eq(entity_webhooks_apply(st, TN, H(3), b, &pol, &res, &cause), -1);
	ck_assert_str_eq(cause, "the answer has no \"webhooks\" list");
	free(cause);
	cause = NULL;
	json_decref(b);
	b = J("{'webhooks':[{'endpointUrl':'https://x.example.com'}]}");
	ck_assert_int_eq(entity_webhooks_apply(st, TN, H(3), b, &pol, &res, &cause), -1);
	ck_assert_str_eq(cause, "webhook 1 of the answer has no usable \"endpointId\"");
	free(cause);
	json_decref(b);

	/* An empty start is still a start: the first webhook after it is news. */
	b = body_of("webhooks", w1, END);
	res = HOOKS(H(4), b);
	json_decref(TAKE(res, "webhook.created w1"));
	json_decref(b);
	json_decref(w1);
}
END_TEST

/* ---- the policy file ---- */

/* HuJSON with comments, trailing commas, CRLF line ends and UTF-8 beyond ASCII. */
static const char policy1[] =
    "// tailnet policy\r\n"
    "{\r\n"
    "\t// caf\xc3\xa9 \xe2\x9c\x93 na\xc3\xafve\r\n"
    "\t\"acls\": [\r\n"
    "\t\t{\"action\": \"accept\", \"src\": [\"*\"], \"dst\": [\"*:*\"],},\r\n"
    "\t],\r\n"
    "\t/* owners */ \"tagOwners\": {\"tag:web\": [\"autogroup:admin\",],},\r\n"
    "\t\"hosts\": {\"b\xc3\xbcro\": \"100.64.0.1\",},\r\n"
    "}\r\n";
static const char policy2[] = "{\n\t\"acls\": [], // nothing\n}\n";

START_TEST(test_policy_revisions)
{
	char h1[65], h2[65], prefix[9];
	json_t *out, *evs, *revs, *r;
	struct hist_poll_result res;

	sha256_hex(policy1, strlen(policy1), h1);
	sha256_hex(policy2, strlen(policy2), h2);

	res = POLICY(TN, H(1), policy1, "\"e1\"");
	CK_COUNTS(res, 1, 0, 0, 0);
	NO_EVENTS(res);
	/* The same text and tag again: no revision. */
	res = POLICY(TN, H(2), policy1, "\"e1\"");
	CK_COUNTS(res, 0, 0, 0, 0);
	NO_EVENTS(res);

	out = POLICY_GET(TN, "1", NOW);
	check_text(out, policy1);
	ck_assert_int_eq(json_integer_value(json_object_get(out, "rev")), 1);
	ck_assert_str_eq(S(out, "sha256"), h1);
	ck_assert_int_eq(json_integer_value(json_object_get(out, "size")),
	                 (json_int_t)strlen(policy1));
	ck_assert_str_eq(S(out, "etag"), "e1");
	ck_assert(json_is_true(json_object_get(out, "current")));
	CK_BOUNDS(out, NULL, NOW, H(1), NOW, NOW);
	json_decref(out);
	/* By hash prefix, either case. */
	memcpy(prefix, h1, 8);
	prefix[8] = '\0';
	out = POLICY_GET(TN, prefix, NOW);
	check_text(out, policy1);
	json_decref(out);
	for (char *p = prefix; *p != '\0'; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	out = POLICY_GET(TN, prefix, NOW);
	ck_assert_int_eq(json_integer_value(json_object_get(out, "rev")), 1);
	json_decref(out);
	out = POLICY_GET(TN, h1, NOW);
	ck_assert_int_eq(json_integer_value(json_object_get(out, "rev")), 1);
	json_decref(out);

	/* A new text: a revision, with the revision numbers in the event. */
	res = POLICY(TN, H(3), policy2, "W/\"e2\"");
	CK_COUNTS(res, 0, 1, 0, 0);
	evs = TAKE(res, "policy.changed policy");
	CK_EV(evs, 0, "policy.changed", "policy", "policy", NULL,
	      json_pack("{s:{s:s, s:s, s:I}, s:{s:s, s:s, s:I}, s:[s, s, s], s:i, s:i}", "before",
	                "etag", "e1", "sha256", h1, "size", (json_int_t)strlen(policy1), "after",
	                "etag", "e2", "sha256", h2, "size", (json_int_t)strlen(policy2), "changed",
	                "etag", "sha256", "size", "rev_before", 1, "rev_after", 2));
	json_decref(evs);

	out = policy_log(TN);
	ck_assert_str_eq(S(out, "tailnet"), TN);
	revs = json_object_get(out, "revisions");
	ck_assert_uint_eq(json_array_size(revs), 2);
	r = json_array_get(revs, 0);
	CK_JSON(r,
	        json_pack("{s:i, s:s, s:s, s:I, s:n, s:s, s:s, s:s, s:b}", "rev", 1, "sha256", h1,
	                  "etag", "e1", "size", (json_int_t)strlen(policy1), "from_lo", "from_hi",
	                  ts(H(1)), "to_lo", ts(H(2)), "to_hi", ts(H(3)), "current", 0));
	r = json_array_get(revs, 1);
	CK_JSON(r, json_pack("{s:i, s:s, s:s, s:I, s:s, s:s, s:n, s:n, s:b}", "rev", 2, "sha256",
	                     h2, "etag", "e2", "size", (json_int_t)strlen(policy2), "from_lo",
	                     ts(H(2)), "from_hi", ts(H(3)), "to_lo", "to_hi", "current", 1));
	json_decref(out);

	/* Current, by number, by time. */
	out = POLICY_GET(TN, NULL, NOW);
	check_text(out, policy2);
	ck_assert_int_eq(json_integer_value(json_object_get(out, "rev")), 2);
	json_decref(out);
	out = POLICY_GET(TN, "1", NOW);
	check_text(out, policy1);
	ck_assert(json_is_false(json_object_get(out, "current")));
	json_decref(out);
	out = POLICY_GET(TN, NULL, H(1));
	ck_assert_str_eq(S(out, "state"), "held");
	ck_assert_int_eq(json_integer_value(json_object_get(out, "rev")), 1);
	check_text(out, policy1);
	json_decref(out);
	out = POLICY_GET(TN, NULL, H(2));
	ck_assert_str_eq(S(out, "state"), "held");
	ck_assert_int_eq(json_integer_value(json_object_get(out, "rev")), 1);
	json_decref(out);
	/* Between the poll that still saw rev 1 and the one that saw rev 2: either. */
	out = POLICY_GET(TN, NULL, H(2) + 30 * MIN);
	ck_assert_str_eq(S(out, "state"), "maybe");
	ck_assert_int_ge(json_integer_value(json_object_get(out, "rev")), 1);
	ck_assert_int_le(json_integer_value(json_object_get(out, "rev")), 2);
	json_decref(out);
	out = POLICY_GET(TN, NULL, H(3));
	ck_assert_str_eq(S(out, "state"), "held");
	ck_assert_int_eq(json_integer_value(json_object_get(out, "rev")), 2);
	check_text(out, policy2);
	json_decref(out);
	/* Before the first poll: not known. */
	POLICY_GET_FAILS(TN, NULL, H(0), HIST_NOTFOUND, "before the first successful poll");
}
END_TEST

START_TEST(test_policy_invalid)
{
	static const char bad[] = "{\n  \"a\": 1,\n  \"b\": ]\n}";
	struct hist_poll_result res;
	struct hist_endpoint ep;
	char *cause = NULL;
	json_t *out;

	/* Rejected at the first poll: nothing recorded. */
	ck_assert_int_eq(
	    entity_policy_apply(st, TN, H(1), bad, strlen(bad), "\"x\"", &pol, &res, &cause), -1);
	ck_assert_msg(cause != NULL && strstr(cause, "line 3, column 8") != NULL, "%s", cause);
	ck_assert_str_eq(cause, "the policy file is not valid HuJSON (line 3, column 8: missing "
	                        "value after ':')");
	free(cause);
	cause = NULL;
	POLICY_GET_FAILS(TN, NULL, NOW, HIST_NOTFOUND,
	                 "no policy file of tailnet example.com "
	                 "recorded yet");
	out = policy_log(TN);
	ck_assert_uint_eq(json_array_size(json_object_get(out, "revisions")), 0);
	json_decref(out);

	/* Rejected later: the first revision stays the only one. */
	POLICY(TN, H(2), policy1, NULL);
	ck_assert_int_eq(
	    entity_policy_apply(st, TN, H(3), bad, strlen(bad), NULL, &pol, &res, &cause), -1);
	ck_assert_msg(cause != NULL && strstr(cause, "line 3, column 8") != NULL, "%s", cause);
	free(cause);
	cause = NULL;
	/* Trailing garbage and a NUL inside the text are no HuJSON either. */
	ck_assert_int_eq(entity_policy_apply(st, TN, H(3), "{}x", 3, NULL, &pol, &res, &cause), -1);
	ck_assert_msg(cause != NULL && strstr(cause, "line 1, column 3") != NULL, "%s", cause);
	free(cause);
	cause = NULL;
	ck_assert_int_eq(entity_policy_apply(st, TN, H(3), "{}\0{}", 5, NULL, &pol, &res, &cause),
	                 -1);
	free(cause);
	out = policy_log(TN);
	ck_assert_uint_eq(json_array_size(json_object_get(out, "revisions")), 1);
	json_decref(out);
	out = POLICY_GET(TN, NULL, NOW);
	check_text(out, policy1);
	json_decref(out);
	NO_EVENTS(((struct hist_poll_result){.events = 0}));
	ep = endpoint(TN, endpoints[ENDPOINT_policy].name);
	ck_assert_int_eq(ep.last_ok, H(2));
	ck_assert_int_eq(ep.last_poll, H(2));
	hist_endpoint_free(&ep);
}
END_TEST

START_TEST(test_policy_bad_rev)
{
	/* Two texts whose hashes share their first 6 hex digits (d7c976), found by search. */
	static const char ta[] = "{\"n\": 2467}\n", tb[] = "{\"n\": 3478}\n";
	static const char *const malformed[] = {"xyz",
	                                        "abc12",
	                                        "",
	                                        "d7c97g",
	                                        "-1",
	                                        "1.5",
	                                        "0123456789abcdef0123456789abcdef0123456789abcdef"
	                                        "0123456789abcdef0"};
	char ha[65], hb[65];
	json_t *out;

	sha256_hex(ta, strlen(ta), ha);
	sha256_hex(tb, strlen(tb), hb);
	ck_assert_str_eq(ha, "d7c976548e4e96c9bf892ef9c20b761cd5bbbc0faaaf06fd885fbff643d27a65");
	ck_assert_str_eq(hb, "d7c976baaacc19028d4381b0b4226e8961561a1c043ce825d32c8be4633240f8");
	POLICY(TN, H(1), ta, NULL);
	POLICY(TN, H(2), tb, NULL);

	for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
		char want[128];

		snprintf(want, sizeof(want),
		         "revision \"%s\": give its number or at least 6 hex "
		         "digits of its sha256",
		         malformed[i]);
		POLICY_GET_FAILS(TN, malformed[i], NOW, HIST_NOTFOUND, want);
	}
	/* Digits only are a revision number, even when short. */
	POLICY_GET_FAILS(TN, "12345", NOW, HIST_NOTFOUND,
	                 "tailnet example.com has no policy revision \"12345\" (2 recorded)");
	POLICY_GET_FAILS(TN, "0", NOW, HIST_NOTFOUND,
	                 "tailnet example.com has no policy revision \"0\" (2 recorded)");
	POLICY_GET_FAILS(TN, "3", NOW, HIST_NOTFOUND,
	                 "tailnet example.com has no policy revision \"3\" (2 recorded)");
	POLICY_GET_FAILS(TN, "abcdef", NOW, HIST_NOTFOUND,
	                 "tailnet example.com has no policy revision \"abcdef\" (2 recorded)");
	POLICY_GET_FAILS(TN, "d7c976", NOW, HIST_NOTFOUND,
	                 "revision \"d7c976\" matches more than one policy revision");
	out = POLICY_GET(TN, "2", NOW);
	check_text(out, tb);
	json_decref(out);
	out = POLICY_GET(TN, "d7c9765", NOW);
	ck_assert_int_eq(json_integer_value(json_object_get(out, "rev")), 1);
	check_text(out, ta);
	json_decref(out);
	out = POLICY_GET(TN, "D7C976B", NOW);
	ck_assert_int_eq(json_integer_value(json_object_get(out, "rev")), 2);
	check_text(out, tb);
	json_decref(out);
	/* Another tailnet has no revisions at all. */
	POLICY_GET_FAILS("other.example", "1", NOW, HIST_NOTFOUND,
	                 "tailnet other.example has no policy revision \"1\" (0 recorded)");
}
END_TEST

START_TEST(test_policy_etag)
{
	/* One tailnet per case: each is its own first revision. */
	static const char *const cases[][3] = {
	    {"a.example", "\"0123abcd\"", "0123abcd"},
	    {"b.example", "W/\"0123abcd\"", "0123abcd"},
	    {"c.example", "0123abcd", "0123abcd"},
	    {"d.example", "\"\"", ""},
	};
	struct hist_poll_result res0;
	char *cause = NULL;
	json_t *out, *r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		POLICY(cases[i][0], H(1), policy2, cases[i][1]);
		out = policy_log(cases[i][0]);
		r = json_array_get(json_object_get(out, "revisions"), 0);
		if (cases[i][2] == NULL)
			ck_assert_msg(json_is_null(json_object_get(r, "etag")), "%s", dump(r));
		else
			ck_assert_msg(S(r, "etag") != NULL &&
			                  strcmp(S(r, "etag"), cases[i][2]) == 0,
			              "%s: %s", cases[i][1], dump(r));
		json_decref(out);
	}
	/* No ETag at all is an answer of the wrong shape: refused, nothing recorded. */
	RES_INIT(res0);
	ck_assert_int_eq(entity_policy_apply(st, "e.example", H(1), policy2, strlen(policy2), NULL,
	                                     &pol, &res0, &cause),
	                 -1);
	ck_assert_msg(cause != NULL && strstr(cause, "no ETag") != NULL, "%s", cause);
	free(cause);
	out = policy_log("e.example");
	ck_assert_uint_eq(json_array_size(json_object_get(out, "revisions")), 0);
	json_decref(out);
	/* The weak and the strong form of one tag are the same revision. */
	json_decref(TAKE(POLICY("a.example", H(2), policy2, "W/\"0123abcd\""), ""));
	out = policy_log("a.example");
	ck_assert_uint_eq(json_array_size(json_object_get(out, "revisions")), 1);
	json_decref(out);
	/* A revision is its text: another ETag on the same text is no change, and the
	 * revision keeps the ETag it was first seen with. */
	json_decref(TAKE(POLICY("a.example", H(3), policy2, "\"ffff\""), ""));
	json_decref(TAKE(POLICY("a.example", H(4), policy2, NULL), ""));
	out = policy_log("a.example");
	ck_assert_uint_eq(json_array_size(json_object_get(out, "revisions")), 1);
	r = json_array_get(json_object_get(out, "revisions"), 0);
	ck_assert_str_eq(S(r, "etag"), "0123abcd");
	json_decref(out);
}
END_TEST

/* A hash whose first digits are all decimal is still found by them, though "123456" also
 * reads as a revision number. */
START_TEST(test_policy_digit_prefix)
{
	char text[64], hex[65], prefix[8];
	json_t *out;
	int n;

	for (n = 0; n < 100000; n++) {
		snprintf(text, sizeof(text), "{\"n\": %d}\n", n);
		sha256_hex(text, strlen(text), hex);
		if (strspn(hex, "0123456789") >= 6)
			break;
	}
	ck_assert_int_lt(n, 100000);
	json_decref(TAKE(POLICY("digits.example", H(1), text, NULL), ""));
	snprintf(prefix, sizeof(prefix), "%.6s", hex);
	out = POLICY_GET("digits.example", prefix, TSTIME_NONE);
	ck_assert_str_eq(S(out, "sha256"), hex);
	ck_assert_str_eq(S(out, "text"), text);
	json_decref(out);
	ck_assert(proto_rev_ok(prefix));
	ck_assert(proto_rev_ok("3"));
	ck_assert(!proto_rev_ok("abc12"));
	ck_assert(!proto_rev_ok("xyz"));
	ck_assert(!proto_rev_ok(""));
}
END_TEST

/* ---- DNS ---- */

START_TEST(test_dns)
{
	json_t *ns = J("{'dns':['8.8.8.8']}"), *pref = J("{'magicDNS':false}");
	json_t *sp = J("{'searchPaths':['user1.example.com']}");
	json_t *split = J("{'example.com':['1.1.1.1','1.2.3.4'],'other.com':['2.2.2.2']}");
	json_t *ns2 = J("{'dns':['8.8.8.8','1.1.1.1']}"), *ns3 = J("{'dns':['1.1.1.1','8.8.8.8']}");
	json_t *out, *evs, *v;
	struct hist_poll_result res;

	res = DNS(TN, H(1), ns, pref, sp, split);
	CK_COUNTS(res, 1, 0, 0, 0);
	NO_EVENTS(res);
	out = dns_get(TN, NOW, 0);
	CK_JSON(out, json_pack("{s:s, s:n, s:s, s:s, s:s, s:n, s:s, s:n, s:n, s:o}", "tailnet", TN,
	                       "at", "as_of", ts(H(1)), "coverage", "covered", "state", "held",
	                       "from_lo", "from_hi", ts(H(1)), "to_lo", "to_hi", "dns",
	                       J("{'nameservers':['8.8.8.8'],'magicDNS':false,"
	                         "'searchPaths':['user1.example.com'],"
	                         "'splitDNS':{'example.com':['1.1.1.1','1.2.3.4'],"
	                         "'other.com':['2.2.2.2']}}")));
	json_decref(out);
	res = DNS(TN, H(2), ns, pref, sp, split);
	CK_COUNTS(res, 0, 0, 0, 0);
	NO_EVENTS(res);

	res = DNS(TN, H(3), ns2, pref, sp, split);
	CK_COUNTS(res, 0, 1, 0, 0);
	evs = TAKE(res, "dns.changed dns");
	CK_EV(evs, 0, "dns.changed", "dns", "dns", NULL,
	      J("{'before':{'nameservers':['8.8.8.8']},"
	        "'after':{'nameservers':['8.8.8.8','1.1.1.1']},'changed':['nameservers']}"));
	json_decref(evs);

	out = dns_get(TN, NOW, 1);
	ck_assert_str_eq(S(out, "state"), "held");
	CK_JSON(json_object_get(json_object_get(out, "dns"), "nameservers"),
	        J("['8.8.8.8','1.1.1.1']"));
	v = json_object_get(out, "versions");
	ck_assert_uint_eq(json_array_size(v), 2);
	CK_BOUNDS(json_array_get(v, 0), NULL, NOW, H(1), H(2), H(3));
	CK_BOUNDS(json_array_get(v, 1), NULL, H(2), H(3), NOW, NOW);
	CK_JSON(json_object_get(json_object_get(json_array_get(v, 0), "dns"), "nameservers"),
	        J("['8.8.8.8']"));
	json_decref(out);
	out = dns_get(TN, H(2), 0);
	ck_assert_str_eq(S(out, "state"), "held");
	CK_JSON(json_object_get(json_object_get(out, "dns"), "nameservers"), J("['8.8.8.8']"));
	ck_assert_ptr_null(json_object_get(out, "versions"));
	json_decref(out);
	out = dns_get(TN, H(2) + MIN, 0);
	ck_assert_str_eq(S(out, "state"), "maybe");
	json_decref(out);

	/* Resolver order is the order of use: a reordering is a change. */
	res = DNS(TN, H(4), ns3, pref, sp, split);
	json_decref(TAKE(res, "dns.changed dns"));
	out = dns_get(TN, NOW, 1);
	ck_assert_uint_eq(json_array_size(json_object_get(out, "versions")), 3);
	json_decref(out);

	json_decref(ns);
	json_decref(ns2);
	json_decref(ns3);
	json_decref(pref);
	json_decref(sp);
	json_decref(split);
}
END_TEST

START_TEST(test_dns_malformed)
{
	/* nameservers, preferences, searchpaths, split-dns (NULL: the good one); the cause. */
	static const char *const bad[][5] = {
	    {NULL, "{}", NULL, NULL,
	     "dns/preferences: the answer has no \"magicDNS\" true or false"},
	    {NULL, "{'magicDNS':'yes'}", NULL, NULL,
	     "dns/preferences: the answer has no \"magicDNS\" true or false"},
	    {NULL, "[]", NULL, NULL,
	     "dns/preferences: the answer has no \"magicDNS\" true or false"},
	    {NULL, NULL, NULL, "{'example.com':'1.1.1.1'}",
	     "dns/split-dns: domain \"example.com\" has no list of resolvers"},
	    {NULL, NULL, NULL, "{'example.com':[1]}",
	     "dns/split-dns: domain \"example.com\" has no list of resolvers"},
	    {NULL, NULL, NULL, "[]", "dns/split-dns: the answer is not an object of domains"},
	    {"{'dns':'8.8.8.8'}", NULL, NULL, NULL,
	     "dns/nameservers: the answer has no \"dns\" list of addresses"},
	    {"{'dns':[8]}", NULL, NULL, NULL,
	     "dns/nameservers: the answer has no \"dns\" list of addresses"},
	    {"['8.8.8.8']", NULL, NULL, NULL,
	     "dns/nameservers: the answer has no \"dns\" list of addresses"},
	    {"{'nameservers':['8.8.8.8']}", NULL, NULL, NULL,
	     "dns/nameservers: the answer has no \"dns\" list of addresses"},
	    {NULL, NULL, "{'searchPaths':'a.example.com'}", NULL,
	     "dns/searchpaths: the answer has no \"searchPaths\" list"},
	    {NULL, NULL, "{'paths':[]}", NULL,
	     "dns/searchpaths: the answer has no \"searchPaths\" list"},
	};
	static const char *const good[4] = {"{'dns':['8.8.8.8']}", "{'magicDNS':true}",
	                                    "{'searchPaths':[]}", "{}"};
	static const char *const tailnets[] = {"fresh.example", "example.com"};
	struct hist_poll_result res;
	struct hist_endpoint ep;
	json_t *out;

	json_t *g[4];

	/* On a fresh tailnet nothing is recorded; on one with a history nothing changes. */
	for (size_t j = 0; j < 4; j++)
		g[j] = J(good[j]);
	DNS(TN, H(1), g[0], g[1], g[2], g[3]);
	for (size_t j = 0; j < 4; j++)
		json_decref(g[j]);
	for (size_t t = 0; t < 2; t++) {
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			json_t *a[4];
			char *cause = NULL;
			int rc;

			for (size_t j = 0; j < 4; j++)
				a[j] = J(bad[i][j] != NULL ? bad[i][j] : good[j]);
			rc = entity_dns_apply(st, tailnets[t], H(2), a[0], a[1], a[2], a[3], &pol,
			                      &res, &cause);
			ck_assert_msg(rc == -1, "%s, case %zu (%s %s %s %s): accepted", tailnets[t],
			              i, dump(a[0]), dump(a[1]), dump(a[2]), dump(a[3]));
			ck_assert_msg(cause != NULL && strcmp(cause, bad[i][4]) == 0,
			              "case %zu: %s", i, cause);
			free(cause);
			for (size_t j = 0; j < 4; j++)
				json_decref(a[j]);
		}
	}
	ep = endpoint("fresh.example", endpoints[ENDPOINT_dns].name);
	ck_assert_int_eq(ep.last_poll, NOW);
	hist_endpoint_free(&ep);
	out = dns_get("fresh.example", NOW, 1);
	ck_assert(json_is_null(json_object_get(out, "state")));
	ck_assert(json_is_null(json_object_get(out, "dns")));
	ck_assert_str_eq(S(out, "coverage"), "unknown");
	ck_assert_str_eq(S(out, "reason"), "no successful poll of dns yet");
	ck_assert_uint_eq(json_array_size(json_object_get(out, "versions")), 0);
	json_decref(out);
	ep = endpoint(TN, endpoints[ENDPOINT_dns].name);
	ck_assert_int_eq(ep.last_poll, H(1));
	hist_endpoint_free(&ep);
	out = dns_get(TN, NOW, 1);
	ck_assert_uint_eq(json_array_size(json_object_get(out, "versions")), 1);
	json_decref(out);
	NO_EVENTS(((struct hist_poll_result){.events = 0}));
}
END_TEST

START_TEST(test_dns_nulls)
{
	json_t *ns = J("{'dns':null}"), *pref = J("{'magicDNS':true}");
	json_t *sp = J("{'searchPaths':null}"), *split = J("{'corp.example':null}");
	json_t *ns0 = J("{'dns':[]}"), *sp0 = J("{'searchPaths':[]}"), *out;
	struct hist_poll_result res;

	DNS(TN, H(1), ns, pref, sp, split);
	out = dns_get(TN, NOW, 0);
	CK_JSON(json_object_get(out, "dns"), J("{'nameservers':[],'magicDNS':true,'searchPaths':[],"
	                                       "'splitDNS':{'corp.example':null}}"));
	json_decref(out);
	/* Empty lists are the same as null ones. */
	res = DNS(TN, H(2), ns0, pref, sp0, split);
	CK_COUNTS(res, 0, 0, 0, 0);
	NO_EVENTS(res);
	json_decref(ns);
	json_decref(ns0);
	json_decref(pref);
	json_decref(sp);
	json_decref(sp0);
	json_decref(split);
}
END_TEST

/* ---- settings ---- */

START_TEST(test_settings)
{
	json_t *s = J("{'aclsExternallyManagedOn':false,'devicesApprovalOn':false,"
	              "'devicesAutoUpdatesOn':false,'devicesKeyDurationDays':180,"
	              "'usersApprovalOn':true,'usersRoleAllowedToJoinExternalTailnets':'admin',"
	              "'networkFlowLoggingOn':false,'regionalRoutingOn':false,"
	              "'postureIdentityCollectionOn':false,'httpsEnabled':false}");
	json_t *s2 = json_deep_copy(s), *out, *evs, *bad[3];
	struct hist_poll_result res;
	char *cause = NULL;

	res = SETTINGS(H(1), s);
	CK_COUNTS(res, 1, 0, 0, 0);
	NO_EVENTS(res);
	res = SETTINGS(H(2), s);
	CK_COUNTS(res, 0, 0, 0, 0);
	json_object_set_new(s2, "devicesApprovalOn", json_true());
	res = SETTINGS(H(3), s2);
	CK_COUNTS(res, 0, 1, 0, 0);
	evs = TAKE(res, "settings.changed settings");
	CK_EV(evs, 0, "settings.changed", "settings", "settings", NULL,
	      J("{'before':{'devicesApprovalOn':false},'after':{'devicesApprovalOn':true},"
	        "'changed':['devicesApprovalOn']}"));
	json_decref(evs);

	out = settings_get(H(1), 0);
	ck_assert_str_eq(S(out, "state"), "held");
	CK_JSON(json_object_get(out, "settings"), json_incref(s));
	json_decref(out);
	out = settings_get(H(2), 0);
	ck_assert(
	    json_is_false(json_object_get(json_object_get(out, "settings"), "devicesApprovalOn")));
	json_decref(out);
	out = settings_get(NOW, 1);
	ck_assert_str_eq(S(out, "state"), "held");
	CK_JSON(json_object_get(out, "settings"), json_incref(s2));
	ck_assert_uint_eq(json_array_size(json_object_get(out, "versions")), 2);
	json_decref(out);

	bad[0] = J("[]");
	bad[1] = json_null();
	bad[2] = json_string("settings");
	for (size_t i = 0; i < 3; i++) {
		ck_assert_int_eq(entity_settings_apply(st, TN, H(4), bad[i], &pol, &res, &cause),
		                 -1);
		ck_assert_str_eq(cause, "the settings answer is not an object");
		free(cause);
		cause = NULL;
		json_decref(bad[i]);
	}
	ck_assert_int_eq(entity_settings_apply(st, TN, H(4), NULL, &pol, &res, &cause), -1);
	free(cause);
	out = settings_get(NOW, 1);
	ck_assert_uint_eq(json_array_size(json_object_get(out, "versions")), 2);
	ck_assert_str_eq(S(out, "as_of"), ts(H(3)));
	json_decref(out);
	NO_EVENTS(((struct hist_poll_result){.events = 0}));
	json_decref(s);
	json_decref(s2);
}
END_TEST

/* ---- poll times ---- */

START_TEST(test_poll_time_monotonic)
{
	json_t *u1 = mkuser("u1", "alice@example.com", "admin", "active"), *s, *evs, *out, *b;
	json_t *k1 = mkkey("k1", "auth", T0 + 30 * DAY, "one", ""), *kb = body_of("keys", k1, END);
	struct hist_poll_result res;
	struct hist_endpoint ep;
	char *cause = NULL;

	res = users_list_poll(H(5), u1, END);
	ck_assert_int_eq(res.time, H(5));
	/* The clock stepped back, and nothing tells how long since the last poll: the poll is
	 * not recorded (a microsecond after the last would be invented precision). */
	b = json_pack("{s:[O]}", "users", u1);
	ck_assert_int_eq(entity_users_apply(st, TN, H(3), b, &pol, &res, &cause), -1);
	ck_assert_msg(strstr(cause, "clock unreliable") != NULL, "%s", cause);
	free(cause);
	/* The monotonic clock says 10 minutes passed: that places it; the span is a gap. */
	pol.mono_elapsed = 10 * MIN;
	res = users_list_poll(H(3), u1, END);
	ck_assert_int_eq(res.time, H(5) + 10 * MIN);
	json_object_set_new(u1, "role", json_string("member"));
	res = users_list_poll(H(1), u1, END);
	ck_assert_int_eq(res.time, H(5) + 20 * MIN);
	evs = TAKE(res, "user.role.changed u1"); /* at the poll's time as recorded */
	json_decref(evs);
	ep = endpoint(TN, endpoints[ENDPOINT_users].name);
	ck_assert_int_eq(ep.last_ok, H(5) + 20 * MIN);
	ck_assert_int_eq(ep.last_poll, H(5) + 20 * MIN);
	hist_endpoint_free(&ep);
	out = users_list(NOW);
	CK_BOUNDS(row_of(out, "users", "u1"), "held", H(5) + 10 * MIN, H(5) + 20 * MIN, NOW, NOW);
	json_decref(out);
	/* Inside the span the clock could not be trusted over, nothing is known. */
	out = users_list(H(5) + 15 * MIN);
	ck_assert_str_eq(S(out, "coverage"), "unknown");
	ck_assert_str_eq(S(out, "reason"), "clock unreliable between 2026-11-01T05:10:00Z and "
	                                   "2026-11-01T05:20:00Z");
	json_decref(out);
	/* A poll the clock places after the last, and a sane clock, cover the span again. */
	pol.mono_elapsed = 0;
	res = users_list_poll(H(6), u1, END);
	out = users_list(H(5) + 40 * MIN);
	ck_assert_str_eq(S(out, "coverage"), "covered");
	json_decref(out);

	/* The other endpoints keep their own times. */
	res = KEYS(H(2), kb, NULL, NULL);
	ck_assert_int_eq(res.time, H(2));
	/* The same reading twice is the same answer applied again, not a step. */
	res = KEYS(H(2), kb, NULL, NULL);
	ck_assert_int_eq(res.time, H(2) + 1);
	pol.mono_elapsed = MIN;
	res = KEYS(H(1), kb, NULL, NULL);
	ck_assert_int_eq(res.time, H(2) + 1 + MIN);
	s = J("{'devicesApprovalOn':false}");
	res = SETTINGS(H(2), s);
	ck_assert_int_eq(res.time, H(2));
	res = SETTINGS(H(1), s);
	ck_assert_int_eq(res.time, H(2) + MIN);
	res = POLICY(TN, H(9), policy2, NULL);
	ck_assert_int_eq(res.time, H(9));
	/* No monotonic time, but the API's Date: after the last poll places it. */
	pol.mono_elapsed = 0;
	pol.api_date = H(9) + 30 * SEC;
	res = POLICY(TN, H(8), policy2, NULL);
	ck_assert_int_eq(res.time, H(9) + 30 * SEC);
	/* A clock said unreliable (a step, a Date: far off) makes a gap even going forward. */
	pol.api_date = 0;
	pol.clock_unreliable = "our clock is 2h behind the API's Date:";
	res = POLICY(TN, H(10), policy2, NULL);
	ck_assert_int_eq(res.time, H(10));
	pol.clock_unreliable = NULL;
	json_decref(b);
	json_decref(s);
	json_decref(kb);
	json_decref(k1);
	json_decref(u1);
}
END_TEST

static Suite *
entity_suite(void)
{
	Suite *s = suite_create("entity");
	TCase *tc;

#define TC(name)                                                                                   \
	tc = tcase_create(name);                                                                   \
	tcase_add_unchecked_fixture(tc, fixture_root_setup, fixture_root_teardown);                \
	tcase_add_checked_fixture(tc, check_entity_setup, check_entity_teardown);                  \
	suite_add_tcase(s, tc)

	TC("keys");
	tcase_add_test(tc, test_keys_baseline);
	tcase_add_test(tc, test_keys_revoked);
	tcase_add_test(tc, test_keys_gone);
	tcase_add_test(tc, test_keys_expiring_list);
	tcase_add_test(tc, test_keys_expiring_events);
	tcase_add_test(tc, test_keys_ids_shape);
	tcase_add_test(tc, test_keys_ids_shape_expiring);
	tcase_add_test(tc, test_keys_bad_answers);
	tcase_add_test(tc, test_keys_secret);

	TC("users");
	tcase_add_test(tc, test_users_volatile);
	tcase_add_test(tc, test_users_role_status);
	tcase_add_test(tc, test_users_deleted);
	tcase_add_test(tc, test_users_confirmed);
	tcase_add_test(tc, test_users_mass_held);
	tcase_add_test(tc, test_users_mass_recovers);
	tcase_add_test(tc, test_users_bad_answers);

	TC("webhooks");
	tcase_add_test(tc, test_webhooks);
	tcase_add_test(tc, test_webhooks_null);

	TC("policy");
	tcase_add_test(tc, test_policy_revisions);
	tcase_add_test(tc, test_policy_invalid);
	tcase_add_test(tc, test_policy_bad_rev);
	tcase_add_test(tc, test_policy_etag);
	tcase_add_test(tc, test_policy_digit_prefix);

	TC("dns");
	tcase_add_test(tc, test_dns);
	tcase_add_test(tc, test_dns_malformed);
	tcase_add_test(tc, test_dns_nulls);

	TC("settings");
	tcase_add_test(tc, test_settings);

	TC("time");
	tcase_add_test(tc, test_poll_time_monotonic);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(entity_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
