/* checks.c: the catalogue's expansion, its options and the evaluation driver. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "checks-int.h"
#include "policy.h"
#include "xmalloc.h"

/* The evaluators, apart from the catalogue so that a client listing the checks does not link
 * them. */
static void (*const checks_fns[CHECK_COUNT])(struct check_ctx *) = {
#define CHECK(sym, id, group, sev, title, why, fix, kb) [CHECK_I_##sym] = check_##sym,
#include "check-table.h"
#undef CHECK
};

/* autogroup:members is the older spelling of autogroup:member, still accepted (and in use). */
const char *const check_everyone[] = {"*", "autogroup:member", "autogroup:members",
                                      "autogroup:danger-all", NULL};

/* ---- options ---- */

void
checks_opts_init(struct check_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->stale_after = 30 * 86400 * TSTIME_SEC;
	o->key_max_age = 90 * 86400 * TSTIME_SEC;
	o->node_key_max_age = 180 * 86400 * TSTIME_SEC;
	o->window = 90 * 86400 * TSTIME_SEC;
	o->reuse_window = 86400 * TSTIME_SEC;
	o->minor_versions_behind = 4;
	o->max_admins = 3;
	o->record = true;
	for (size_t i = 0; i < CHECK_COUNT; i++)
		o->severity[i] = -1;
}

/* The duration options and where they go. */
static const struct {
	const char *key;
	size_t off;
} checks_durations[] = {
    {"stale_after", offsetof(struct check_opts, stale_after)},
    {"key_max_age", offsetof(struct check_opts, key_max_age)},
    {"node_key_max_age", offsetof(struct check_opts, node_key_max_age)},
    {"window", offsetof(struct check_opts, window)},
    {"reuse_window", offsetof(struct check_opts, reuse_window)},
};

static const struct {
	const char *key;
	size_t off;
} checks_ints[] = {
    {"minor_versions_behind", offsetof(struct check_opts, minor_versions_behind)},
    {"max_admins", offsetof(struct check_opts, max_admins)},
};

static int
checks_disable(struct check_opts *o, const char *value, char **cause)
{
	char *copy = xstrdup(value), *save = NULL, *tok;
	int rc = 0;

	for (tok = strtok_r(copy, " \t,", &save); tok != NULL;
	     tok = strtok_r(NULL, " \t,", &save)) {
		const struct check *c = check_find(tok);

		if (c == NULL) {
			*cause = xasprintf("disable: unknown check \"%s\"", tok);
			rc = -1;
			break;
		}
		o->disabled[c - check_table] = true;
	}
	free(copy);
	return rc;
}

int
checks_option(struct check_opts *o, const char *key, const char *value, char **cause)
{
	size_t i;

	for (i = 0; i < sizeof checks_durations / sizeof checks_durations[0]; i++) {
		int64_t us;
		char *why = NULL;

		if (strcmp(key, checks_durations[i].key) != 0)
			continue;
		if (tstime_parse_duration(value, &us, &why) == -1) {
			*cause = xasprintf("%s: %s", key, why);
			free(why);
			return -1;
		}
		if (us <= 0) {
			*cause = xasprintf("%s: must be more than zero", key);
			return -1;
		}
		*(int64_t *)(void *)((char *)o + checks_durations[i].off) = us;
		return 0;
	}
	for (i = 0; i < sizeof checks_ints / sizeof checks_ints[0]; i++) {
		char *end;
		long n;

		if (strcmp(key, checks_ints[i].key) != 0)
			continue;
		errno = 0;
		n = strtol(value, &end, 10);
		if (errno != 0 || end == value || *end != '\0' || n < 0 || n > INT_MAX) {
			*cause = xasprintf("%s: \"%s\" is not a count", key, value);
			return -1;
		}
		*(int *)(void *)((char *)o + checks_ints[i].off) = (int)n;
		return 0;
	}
	if (strcmp(key, "disable") == 0)
		return checks_disable(o, value, cause);
	if (strcmp(key, "record") == 0) {
		if (strcmp(value, "yes") != 0 && strcmp(value, "no") != 0) {
			*cause = xasprintf("record: \"%s\" is not yes or no", value);
			return -1;
		}
		o->record = strcmp(value, "yes") == 0;
		return 0;
	}
	if (strncmp(key, "severity.", 9) == 0) {
		const struct check *c = check_find(key + 9);
		enum check_severity s;

		if (c == NULL) {
			*cause = xasprintf("%s: unknown check \"%s\"", key, key + 9);
			return -1;
		}
		if (check_severity_parse(value, &s) == -1) {
			*cause =
			    xasprintf("%s: unknown severity \"%s\" (critical, high, medium, low, "
			              "info)",
			              key, value);
			return -1;
		}
		o->severity[c - check_table] = (int)s;
		return 0;
	}
	*cause = xasprintf("unknown option \"%s\"", key);
	return -1;
}

/* ---- helpers for the check functions ---- */

bool
check_has_any(json_t *v, const char *const *strs)
{
	size_t i;
	json_t *e;

	json_array_foreach(v, i, e)
	{
		const char *s = json_string_value(e);

		for (size_t j = 0; s != NULL && strs[j] != NULL; j++) {
			if (strcmp(s, strs[j]) == 0)
				return true;
		}
	}
	return false;
}

tstime_t
check_time(json_t *obj, const char *name)
{
	const char *s = json_string_value(json_object_get(obj, name));
	tstime_t t;

	if (s == NULL || tstime_parse_rfc3339(s, &t) == -1)
		return TSTIME_NONE;
	return t;
}

json_t *
check_dev(json_t *entry)
{
	json_t *d = json_object_get(entry, "device");

	return json_is_object(d) ? d : entry;
}

json_t *
check_vol(json_t *entry)
{
	return json_object_get(entry, "volatile");
}

json_t *
check_dev_of(json_t *entry, const char **id)
{
	json_t *d = check_dev(entry);

	*id = json_string_value(json_object_get(d, "nodeId"));
	return *id != NULL ? d : NULL;
}

const char *
check_dev_name(json_t *dev)
{
	const char *s = json_string_value(json_object_get(dev, "name"));

	return s != NULL ? s : json_string_value(json_object_get(dev, "hostname"));
}

const char *
check_rule_id(json_t *row, char *buf, size_t len)
{
	snprintf(buf, len, "%s[%lld]", json_string_value(json_object_get(row, "section")) ?: "?",
	         (long long)json_integer_value(json_object_get(row, "index")));
	return buf;
}

static bool
checks_section_is(json_t *row, const char *section)
{
	const char *s = json_string_value(json_object_get(row, "section"));

	return s != NULL && strcmp(s, section) == 0;
}

bool
check_rule_any_dst(json_t *row)
{
	static const char *const any_port[] = {"*:*", NULL};
	static const char *const any[] = {"*", NULL};
	const char *action = json_string_value(json_object_get(row, "action"));

	if (action == NULL || strcmp(action, "accept") != 0)
		return false;
	if (checks_section_is(row, "acls"))
		return check_has_any(json_object_get(row, "dst"), any_port);
	if (checks_section_is(row, "grants"))
		return check_has_any(json_object_get(row, "dst"), any) &&
		       check_has_any(json_object_get(row, "ip"), any);
	return false;
}

bool
check_rule_allow_all(json_t *row)
{
	static const char *const any[] = {"*", NULL};

	return check_rule_any_dst(row) && check_has_any(json_object_get(row, "src"), any);
}

bool
check_need(struct check_ctx *cx, unsigned mask)
{
	const struct check_snapshot *s = cx->snap;
	json_t *parts[] = {s->policy,          s->devices,          s->keys,
	                   s->users,           s->settings,         s->dns,
	                   s->webhooks,        s->device_histories, s->user_histories,
	                   s->policy_revisions};

	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
		if ((mask & (1u << i)) != 0 && parts[i] == NULL)
			cx->missing |= 1u << i;
	}
	return (cx->missing & mask) == 0;
}

static const char *const checks_part_names[] = {
    "policy",
    "devices",
    "keys",
    "users",
    "settings",
    "dns",
    "webhooks",
    "device_history",
    "user_history",
    "policy_revisions",
    "device_volatile",
};

/* ---- findings: in C, in an arena, deduplicated by a hash set ---- */

/* A block of the arena; strings are never freed one by one. */
struct checks_block {
	struct checks_block *next;
	size_t used, size;
	char data[];
};

#define CHECKS_BLOCK (64 * 1024)

static char *
checks_arena_alloc(struct check_eval *e, size_t len)
{
	struct checks_block *b = e->arena;

	if (b == NULL || b->size - b->used < len) {
		size_t size = len > CHECKS_BLOCK / 4 ? len : CHECKS_BLOCK;

		b = xmalloc(sizeof(*b) + size);
		b->next = e->arena;
		b->used = 0;
		b->size = size;
		e->arena = b;
	}
	b->used += len;
	return b->data + b->used - len;
}

static const char *
checks_arena_str(struct check_eval *e, const char *s, size_t len)
{
	char *p = checks_arena_alloc(e, len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

/* FNV-1a of kind, a NUL and id. */
static uint32_t
checks_hash(const char *kind, const char *id)
{
	uint32_t h = 2166136261u;

	for (const char *p = kind; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	h *= 16777619u;
	for (const char *p = id; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return h;
}

/* The slot of (kind, id) among the current check's findings: a finding's 1 + index, or an
 * empty slot (0) where it would go. */
static uint32_t *
checks_seen_slot(struct check_ctx *cx, uint32_t h, const char *kind, const char *id)
{
	size_t mask = cx->seen_cap - 1, i = h & mask;

	for (;; i = (i + 1) & mask) {
		const struct check_finding *f;

		if (cx->seen[i] == 0)
			return &cx->seen[i];
		f = &cx->ev->findings[cx->seen[i] - 1];
		if (f->hash == h && strcmp(f->id, id) == 0 && strcmp(f->kind, kind) == 0)
			return &cx->seen[i];
	}
}

/* Room for one more of the current check's findings in the set, kept at most half full. */
static void
checks_seen_grow(struct check_ctx *cx)
{
	const struct check_eval_result *r = &cx->ev->results[cx->cur - check_table];
	size_t n = cx->ev->nfindings - r->first;

	if (2 * (n + 1) <= cx->seen_cap)
		return;
	free(cx->seen);
	cx->seen_cap = cx->seen_cap == 0 ? 256 : 2 * cx->seen_cap;
	cx->seen = xcalloc(cx->seen_cap, sizeof(*cx->seen));
	for (size_t i = r->first; i < cx->ev->nfindings; i++) {
		const struct check_finding *f = &cx->ev->findings[i];

		*checks_seen_slot(cx, f->hash, f->kind, f->id) = (uint32_t)(i + 1);
	}
}

void
check_found(struct check_ctx *cx, const char *kind, const char *id, const char *name,
            tstime_t since, const char *fmt, ...)
{
	struct check_eval *e = cx->ev;
	struct check_finding *f;
	uint32_t h = checks_hash(kind, id), *slot;
	char text[512];
	va_list ap;
	int n;

	/* The findings of a big tailnet number tens of thousands: no allocation of their own. */
	checks_seen_grow(cx);
	if (*(slot = checks_seen_slot(cx, h, kind, id)) != 0)
		return;
	if (e->nfindings == e->cap) {
		e->cap = e->cap == 0 ? 1024 : 2 * e->cap;
		e->findings = xrealloc(e->findings, e->cap * sizeof(*e->findings));
	}
	f = &e->findings[e->nfindings];
	*slot = (uint32_t)++e->nfindings;
	f->kind = kind;
	f->id = checks_arena_str(e, id, strlen(id));
	f->name = name != NULL ? checks_arena_str(e, name, strlen(name)) : NULL;
	f->since = since;
	f->hash = h;
	f->check = (uint16_t)(cx->cur - check_table);
	f->severity = (uint8_t)cx->sev;
	va_start(ap, fmt);
	n = vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if (n < (int)sizeof text) {
		f->detail = checks_arena_str(e, text, (size_t)n);
	} else {
		char *big = checks_arena_alloc(e, (size_t)n + 1);

		va_start(ap, fmt);
		vsnprintf(big, (size_t)n + 1, fmt, ap);
		va_end(ap);
		f->detail = big;
	}
}

/* "1.82.0-t1a9..." as 1 * 100000 + 82; -1 when it is not a version. */
static long
checks_version(const char *s)
{
	long major, minor;
	char *end;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	major = strtol(s, &end, 10);
	if (*end != '.' || end[1] < '0' || end[1] > '9' || major > 1000)
		return -1;
	minor = strtol(end + 1, &end, 10);
	return minor > 99999 ? -1 : major * 100000 + minor;
}

static const char *
checks_s(json_t *obj, const char *name)
{
	return json_string_value(json_object_get(obj, name)) ?: "";
}

/* Fills c from the members of device d, in one walk over them: on a big tailnet a lookup per
 * member is most of the cost of the device checks. */
static void
checks_device_members(struct check_device *c, json_t *d)
{
	const char *key;
	json_t *x;

	c->host = c->user = c->os = c->lock_error = "";
	c->last_seen = c->created = TSTIME_NONE;
	c->version = -1;
	json_object_foreach(d, key, x)
	{
		switch (key[0]) {
		case 'a':
			if (strcmp(key, "advertisedRoutes") == 0)
				c->advertised = x;
			else if (strcmp(key, "authorized") == 0)
				c->unauthorized = json_is_false(x);
			break;
		case 'b':
			if (strcmp(key, "blocksIncomingConnections") == 0)
				c->shields_down = json_is_false(x);
			break;
		case 'c':
			if (strcmp(key, "clientVersion") == 0)
				c->version = checks_version(json_string_value(x));
			else if (strcmp(key, "created") == 0)
				c->created = check_time(d, key);
			else if (strcmp(key, "connectedToControl") == 0)
				c->connected = json_is_true(x);
			break;
		case 'e':
			if (strcmp(key, "enabledRoutes") == 0)
				c->enabled = x;
			break;
		case 'h':
			if (strcmp(key, "hostname") == 0)
				c->host = json_string_value(x) ?: "";
			break;
		case 'i':
			if (strcmp(key, "isExternal") == 0)
				c->external = json_is_true(x);
			break;
		case 'k':
			if (strcmp(key, "keyExpiryDisabled") == 0)
				c->expiry_off = json_is_true(x);
			break;
		case 'l':
			if (strcmp(key, "lastSeen") == 0)
				c->last_seen = check_time(d, key);
			break;
		case 'n':
			if (strcmp(key, "name") == 0)
				c->name = json_string_value(x);
			break;
		case 'o':
			if (strcmp(key, "os") == 0)
				c->os = json_string_value(x) ?: "";
			break;
		case 't':
			if (strcmp(key, "tags") == 0)
				c->tagged = json_array_size(x) > 0;
			else if (strcmp(key, "tailnetLockError") == 0)
				c->lock_error = json_string_value(x) ?: "";
			break;
		case 'u':
			if (strcmp(key, "user") == 0)
				c->user = json_string_value(x) ?: "";
			else if (strcmp(key, "updateAvailable") == 0)
				c->update = json_is_true(x);
			break;
		}
	}
	if (c->name == NULL)
		c->name = c->host;
}

const struct check_device *
check_devices(struct check_ctx *cx, size_t *n)
{
	json_t *e, *x;
	size_t i;

	if (cx->devs == NULL) {
		cx->devs = xcalloc(json_array_size(cx->snap->devices) + 1, sizeof(*cx->devs));
		json_array_foreach(cx->snap->devices, i, e)
		{
			struct check_device *c = &cx->devs[cx->ndevs];
			json_t *d = check_dev(e), *v = check_vol(e);
			tstime_t t;

			if ((c->id = json_string_value(json_object_get(d, "nodeId"))) == NULL)
				continue;
			cx->ndevs++;
			c->dev = d;
			checks_device_members(c, d);
			if (!json_is_object(v))
				continue;
			/* Volatile members: the daemon keeps them apart from the versions. */
			cx->ndevs_vol++;
			if ((t = check_time(v, "lastSeen")) != TSTIME_NONE)
				c->last_seen = t;
			if ((x = json_object_get(v, "updateAvailable")) != NULL)
				c->update = json_is_true(x);
			if ((x = json_object_get(v, "connectedToControl")) != NULL)
				c->connected = json_is_true(x);
		}
	}
	*n = cx->ndevs;
	return cx->devs;
}

/* A capability flag of an auth key: capabilities.devices.create.<name>. */
static bool
checks_cap(json_t *k, const char *name)
{
	json_t *c = json_object_get(json_object_get(k, "capabilities"), "devices");

	return json_is_true(json_object_get(json_object_get(c, "create"), name));
}

const struct check_key *
check_keys(struct check_ctx *cx, size_t *n)
{
	json_t *e, *k, *secs;
	size_t i;

	if (cx->keys == NULL) {
		cx->keys = xcalloc(json_array_size(cx->snap->keys) + 1, sizeof(*cx->keys));
		json_array_foreach(cx->snap->keys, i, e)
		{
			struct check_key *c = &cx->keys[cx->nkeys];
			const char *state;

			k = json_object_get(e, "key");
			if ((c->id = json_string_value(json_object_get(e, "id"))) == NULL ||
			    !json_is_object(k))
				continue;
			cx->nkeys++;
			c->key = k;
			c->type = checks_s(k, "keyType");
			c->desc = json_string_value(json_object_get(k, "description"));
			c->user_id = checks_s(k, "userId");
			c->created = check_time(k, "created");
			c->expires = check_time(k, "expires");
			c->revoked = check_time(k, "revoked");
			c->gone = check_time(e, "to_lo");
			secs = json_object_get(k, "expirySeconds");
			if (json_is_integer(secs))
				c->validity = (int64_t)json_integer_value(secs) * TSTIME_SEC;
			else if (c->created != TSTIME_NONE && c->expires != TSTIME_NONE)
				c->validity = c->expires - c->created;
			else
				c->validity = -1;
			state = json_string_value(json_object_get(k, "state"));
			c->live = (state == NULL || strcmp(state, "active") == 0) &&
			          (c->expires == TSTIME_NONE || c->expires > cx->snap->at) &&
			          (c->gone == TSTIME_NONE || c->gone >= cx->snap->at);
			/* A live key stops being live when it expires. */
			if (c->live)
				check_due(cx, c->expires);
			c->reusable = checks_cap(k, "reusable");
			c->ephemeral = checks_cap(k, "ephemeral");
			c->preauthorized = checks_cap(k, "preauthorized");
		}
	}
	*n = cx->nkeys;
	return cx->keys;
}

void
check_due(struct check_ctx *cx, tstime_t t)
{
	struct check_eval *e = cx->ev;

	if (t != TSTIME_NONE && t > cx->snap->at && (e->due == TSTIME_NONE || t < e->due))
		e->due = t;
}

bool
check_need_volatile(struct check_ctx *cx)
{
	size_t n;

	check_devices(cx, &n);
	if (n > 0 && cx->ndevs_vol == 0)
		cx->missing |= CHECK_P_DEVICE_VOL;
	return (cx->missing & CHECK_P_DEVICE_VOL) == 0;
}

/* ---- the driver ---- */

json_t *
checks_snapshot_part(json_t *answer, const char *member)
{
	const char *coverage = json_string_value(json_object_get(answer, "coverage"));

	if (coverage == NULL || strcmp(coverage, "covered") != 0)
		return NULL;
	return json_object_get(answer, member);
}

void
check_revs_load(struct check_ctx *cx)
{
	json_t *revs = cx->snap->policy_revisions, *r;
	size_t i;

	if (cx->revs != NULL)
		return;
	cx->revs = xcalloc(json_array_size(revs) + 1, sizeof(*cx->revs));
	json_array_foreach(revs, i, r)
	{
		struct check_rev *cr = &cx->revs[cx->nrevs++];
		const char *text = json_string_value(json_object_get(r, "text"));
		const char *sha = json_string_value(json_object_get(r, "sha256"));

		cr->rev = (long)json_integer_value(json_object_get(r, "rev"));
		cr->from = check_time(r, "from_hi");
		if (cr->from == TSTIME_NONE)
			cr->from = check_time(r, "from_lo");
		cr->to = check_time(r, "to_lo");
		if (cr->to == TSTIME_NONE)
			cr->to = check_time(r, "to_hi");
		/* A caller that has a revision parsed already may pass it as "policy". */
		cr->summary = check_cache_summary(sha, text, json_object_get(r, "policy"));
	}
}

static void
checks_ctx_free(struct check_ctx *cx)
{
	for (size_t i = 0; i < cx->nrevs; i++)
		json_decref(cx->revs[i].summary);
	free(cx->revs);
	free(cx->devs);
	free(cx->keys);
	free(cx->seen);
	json_decref(cx->rules);
}

void
checks_eval(const struct check_snapshot *snap, const struct check_opts *opts, struct check_eval *e)
{
	struct check_ctx cx = {.snap = snap, .opts = opts, .ev = e};

	memset(e, 0, sizeof(*e));
	e->at = snap->at;
	e->due = TSTIME_NONE;
	cx.rules =
	    snap->policy != NULL ? check_cache_rules(snap->policy_sha256, snap->policy) : NULL;
	for (size_t i = 0; i < CHECK_COUNT; i++) {
		struct check_eval_result *r = &e->results[i];

		cx.sev = opts->severity[i] >= 0 ? opts->severity[i] : (int)check_table[i].severity;
		cx.cur = &check_table[i];
		cx.missing = 0;
		if (cx.seen_cap > 0)
			memset(cx.seen, 0, cx.seen_cap * sizeof(*cx.seen));
		r->severity = (enum check_severity)cx.sev;
		r->first = e->nfindings;
		if (opts->disabled[i]) {
			r->status = CHECK_S_DISABLED;
			continue;
		}
		checks_fns[i](&cx);
		r->missing = cx.missing;
		if (cx.missing != 0) {
			/* A check that lacked data may not leave half its findings behind. */
			e->nfindings = r->first;
			r->status = CHECK_S_UNKNOWN;
			e->unknown++;
		} else if (e->nfindings > r->first) {
			r->status = CHECK_S_FAIL;
			r->n = e->nfindings - r->first;
			e->counts[cx.sev] += r->n;
		} else {
			r->status = CHECK_S_PASS;
		}
	}
	checks_ctx_free(&cx);
}

void
checks_eval_free(struct check_eval *e)
{
	struct checks_block *b = e->arena, *next;

	for (; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	free(e->findings);
	memset(e, 0, sizeof(*e));
}

static const char *const checks_status_names[] = {
    [CHECK_S_PASS] = "pass",
    [CHECK_S_FAIL] = "fail",
    [CHECK_S_UNKNOWN] = "unknown",
    [CHECK_S_DISABLED] = "disabled",
};

/* New reference: one entry of "results". */
static json_t *
checks_result_json(size_t i, const struct check_eval_result *r)
{
	json_t *o = json_object();

	json_object_set_new_nocheck(o, "check", json_string_nocheck(check_table[i].id));
	json_object_set_new_nocheck(o, "severity",
	                            json_string_nocheck(check_severity_names[r->severity]));
	json_object_set_new_nocheck(o, "status",
	                            json_string_nocheck(checks_status_names[r->status]));
	if (r->missing != 0) {
		json_t *m = json_array();

		for (size_t k = 0; k < sizeof checks_part_names / sizeof checks_part_names[0];
		     k++) {
			if ((r->missing & (1u << k)) != 0)
				json_array_append_new(m, json_string_nocheck(checks_part_names[k]));
		}
		json_object_set_new_nocheck(o, "missing", m);
	}
	return o;
}

/* Entities shared by the findings of every check: a device found by ten checks is one object. */
struct checks_entities {
	struct {
		const struct check_finding *f;
		json_t *entity;
	} * slot;
	size_t cap;
};

static bool
checks_same_entity(const struct check_finding *a, const struct check_finding *b)
{
	return a->hash == b->hash && strcmp(a->id, b->id) == 0 && strcmp(a->kind, b->kind) == 0 &&
	       (a->name == NULL ? b->name == NULL
	                        : b->name != NULL && strcmp(a->name, b->name) == 0);
}

/* Borrowed: the entity of f, made once. */
static json_t *
checks_entity(struct checks_entities *es, const struct check_finding *f)
{
	size_t mask = es->cap - 1, i = f->hash & mask;
	json_t *e;

	for (; es->slot[i].f != NULL; i = (i + 1) & mask) {
		if (checks_same_entity(es->slot[i].f, f))
			return es->slot[i].entity;
	}
	e = json_object();
	json_object_set_new_nocheck(e, "kind", json_string_nocheck(f->kind));
	json_object_set_new_nocheck(e, "id", json_string_nocheck(f->id));
	if (f->name != NULL)
		json_object_set_new_nocheck(e, "name", json_string_nocheck(f->name));
	es->slot[i].f = f;
	es->slot[i].entity = e;
	return e;
}

json_t *
checks_eval_json(const struct check_eval *e)
{
	json_t *results = json_array(), *counts = json_object(), *findings = json_array();
	struct checks_entities es = {0};
	char at[TSTIME_STRLEN], since[TSTIME_STRLEN];

	/* At most half full, whatever the number of entities. */
	for (es.cap = 64; es.cap < 2 * e->nfindings; es.cap *= 2)
		;
	es.slot = xcalloc(es.cap, sizeof(*es.slot));
	for (size_t i = 0; i < CHECK_COUNT; i++) {
		const struct check_eval_result *r = &e->results[i];
		json_t *j_check, *j_sev, *j_group;

		json_array_append_new(results, checks_result_json(i, r));
		if (r->n == 0)
			continue;
		/* Shared by the check's findings. */
		j_check = json_string_nocheck(check_table[i].id);
		j_sev = json_string_nocheck(check_severity_names[r->severity]);
		j_group = json_string_nocheck(check_group_names[check_table[i].group]);
		for (size_t k = r->first; k < r->first + r->n; k++) {
			const struct check_finding *f = &e->findings[k];
			json_t *o = json_object();

			json_object_set_nocheck(o, "check", j_check);
			json_object_set_nocheck(o, "severity", j_sev);
			json_object_set_nocheck(o, "group", j_group);
			json_object_set_nocheck(o, "entity", checks_entity(&es, f));
			json_object_set_new_nocheck(o, "detail", json_string_nocheck(f->detail));
			if (f->since != TSTIME_NONE) {
				tstime_format(f->since, since, sizeof since);
				json_object_set_new_nocheck(o, "since", json_string_nocheck(since));
			}
			json_array_append_new(findings, o);
		}
		json_decref(j_check);
		json_decref(j_sev);
		json_decref(j_group);
	}
	for (size_t i = 0; i < es.cap; i++)
		json_decref(es.slot[i].entity);
	free(es.slot);
	for (int s = CHECK_NSEVERITIES - 1; s >= 0; s--)
		json_object_set_new(counts, check_severity_names[s],
		                    json_integer((json_int_t)e->counts[s]));
	tstime_format(e->at, at, sizeof at);
	return json_pack("{s:s, s:o, s:I, s:o, s:o}", "at", at, "counts", counts, "unknown",
	                 (json_int_t)e->unknown, "results", results, "findings", findings);
}

json_t *
checks_run(const struct check_snapshot *snap, const struct check_opts *opts)
{
	struct check_eval e;
	json_t *out;

	checks_eval(snap, opts, &e);
	out = checks_eval_json(&e);
	checks_eval_free(&e);
	return out;
}
