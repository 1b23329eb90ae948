/* checks.c: the catalogue's expansion, its options and the evaluation driver. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "checks-int.h"
#include "hujson.h"
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

/* New reference: s as a JSON string; s comes from JSON values or our own text, so it is UTF-8. */
static json_t *
checks_str(const char *s)
{
	return json_string_nocheck(s);
}

void
check_found(struct check_ctx *cx, const char *kind, const char *id, const char *name,
            tstime_t since, const char *fmt, ...)
{
	char key[256], text[512], *big = NULL;
	json_t *f, *e;
	va_list ap;
	int n;

	/* The findings of a big tailnet number tens of thousands: no allocation that a buffer on
	 * the stack can save. */
	n = snprintf(key, sizeof key, "%s/%s", kind, id);
	if (n >= (int)sizeof key)
		big = xasprintf("%s/%s", kind, id);
	if (json_object_get(cx->seen, big ?: key) != NULL) {
		free(big);
		return;
	}
	json_object_set_new_nocheck(cx->seen, big ?: key, json_true());
	free(big);
	big = NULL;
	va_start(ap, fmt);
	n = vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof text) {
		va_start(ap, fmt);
		big = xvasprintf(fmt, ap);
		va_end(ap);
	}
	e = json_object();
	json_object_set_new_nocheck(e, "kind", checks_str(kind));
	json_object_set_new_nocheck(e, "id", checks_str(id));
	if (name != NULL)
		json_object_set_new_nocheck(e, "name", checks_str(name));
	f = json_object();
	json_object_set_nocheck(f, "check", cx->j_check);
	json_object_set_nocheck(f, "severity", cx->j_severity);
	json_object_set_nocheck(f, "group", cx->j_group);
	json_object_set_new_nocheck(f, "entity", e);
	json_object_set_new_nocheck(f, "detail", checks_str(big ?: text));
	free(big);
	if (since != TSTIME_NONE) {
		tstime_format(since, key, sizeof key);
		json_object_set_new_nocheck(f, "since", checks_str(key));
	}
	json_array_append_new(cx->findings, f);
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

const struct check_device *
check_devices(struct check_ctx *cx, size_t *n)
{
	json_t *e;
	size_t i;

	if (cx->devs == NULL) {
		cx->devs = xcalloc(json_array_size(cx->snap->devices) + 1, sizeof(*cx->devs));
		json_array_foreach(cx->snap->devices, i, e)
		{
			struct check_device *c = &cx->devs[cx->ndevs];
			json_t *d = check_dev(e), *v = check_vol(e), *x;

			if ((c->id = json_string_value(json_object_get(d, "nodeId"))) == NULL)
				continue;
			cx->ndevs++;
			cx->ndevs_vol += json_is_object(v);
			c->dev = d;
			c->host = checks_s(d, "hostname");
			c->name = json_string_value(json_object_get(d, "name")) ?: c->host;
			c->user = checks_s(d, "user");
			c->os = checks_s(d, "os");
			c->lock_error = checks_s(d, "tailnetLockError");
			c->advertised = json_object_get(d, "advertisedRoutes");
			c->enabled = json_object_get(d, "enabledRoutes");
			/* Volatile members: the daemon keeps them apart from the versions. */
			c->last_seen = check_time(v, "lastSeen");
			if (c->last_seen == TSTIME_NONE)
				c->last_seen = check_time(d, "lastSeen");
			c->created = check_time(d, "created");
			c->version =
			    checks_version(json_string_value(json_object_get(d, "clientVersion")));
			c->tagged = json_array_size(json_object_get(d, "tags")) > 0;
			c->expiry_off = json_is_true(json_object_get(d, "keyExpiryDisabled"));
			c->external = json_is_true(json_object_get(d, "isExternal"));
			c->unauthorized = json_is_false(json_object_get(d, "authorized"));
			c->shields_down =
			    json_is_false(json_object_get(d, "blocksIncomingConnections"));
			x = json_object_get(v, "updateAvailable");
			c->update =
			    json_is_true(x != NULL ? x : json_object_get(d, "updateAvailable"));
			x = json_object_get(v, "connectedToControl");
			c->connected =
			    json_is_true(x != NULL ? x : json_object_get(d, "connectedToControl"));
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
			c->reusable = checks_cap(k, "reusable");
			c->ephemeral = checks_cap(k, "ephemeral");
			c->preauthorized = checks_cap(k, "preauthorized");
		}
	}
	*n = cx->nkeys;
	return cx->keys;
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
		json_t *policy = json_object_get(r, "policy");
		struct hujson_error err;

		cr->rev = (long)json_integer_value(json_object_get(r, "rev"));
		cr->from = check_time(r, "from_hi");
		if (cr->from == TSTIME_NONE)
			cr->from = check_time(r, "from_lo");
		cr->to = check_time(r, "to_lo");
		if (cr->to == TSTIME_NONE)
			cr->to = check_time(r, "to_hi");
		/* A daemon that keeps revisions parsed (they never change) passes "policy". */
		if (policy != NULL)
			cr->policy = json_incref(policy);
		else if (text != NULL)
			cr->policy = hujson_parse(text, strlen(text), &err);
		cr->summary = cr->policy != NULL ? policy_summary(cr->policy) : NULL;
	}
}

static void
checks_ctx_free(struct check_ctx *cx)
{
	for (size_t i = 0; i < cx->nrevs; i++) {
		json_decref(cx->revs[i].policy);
		json_decref(cx->revs[i].summary);
	}
	free(cx->revs);
	free(cx->devs);
	free(cx->keys);
	json_decref(cx->rules);
	json_decref(cx->seen);
	json_decref(cx->j_check);
	json_decref(cx->j_severity);
	json_decref(cx->j_group);
}

/* New reference: one entry of "results". */
static json_t *
checks_result(struct check_ctx *cx, const char *status, int sev)
{
	json_t *r = json_pack("{s:s, s:s, s:s}", "check", cx->cur->id, "severity",
	                      check_severity_names[sev], "status", status);

	if (cx->missing != 0) {
		json_t *m = json_array();

		for (size_t i = 0; i < sizeof checks_part_names / sizeof checks_part_names[0];
		     i++) {
			if ((cx->missing & (1u << i)) != 0)
				json_array_append_new(m, json_string(checks_part_names[i]));
		}
		json_object_set_new(r, "missing", m);
	}
	return r;
}

json_t *
checks_run(const struct check_snapshot *snap, const struct check_opts *opts)
{
	struct check_ctx cx = {.snap = snap, .opts = opts};
	json_t *results = json_array(), *counts = json_object(), *out;
	size_t counted[CHECK_NSEVERITIES] = {0}, unknown = 0;
	char at[TSTIME_STRLEN];

	cx.findings = json_array();
	cx.seen = json_object();
	cx.rules = snap->policy != NULL ? policy_rules(snap->policy) : NULL;
	for (size_t i = 0; i < CHECK_COUNT; i++) {
		int sev = opts->severity[i] >= 0 ? opts->severity[i] : (int)check_table[i].severity;
		size_t before = json_array_size(cx.findings);
		const char *status;

		cx.cur = &check_table[i];
		cx.missing = 0;
		json_object_clear(cx.seen);
		json_decref(cx.j_check);
		json_decref(cx.j_severity);
		json_decref(cx.j_group);
		cx.j_check = checks_str(check_table[i].id);
		cx.j_severity = checks_str(check_severity_names[sev]);
		cx.j_group = checks_str(check_group_names[check_table[i].group]);
		if (opts->disabled[i]) {
			json_array_append_new(results, checks_result(&cx, "disabled", sev));
			continue;
		}
		checks_fns[i](&cx);
		if (cx.missing != 0) {
			/* A check that lacked data may not leave half its findings behind. */
			while (json_array_size(cx.findings) > before)
				json_array_remove(cx.findings, before);
			status = "unknown";
			unknown++;
		} else if (json_array_size(cx.findings) > before) {
			status = "fail";
			counted[sev] += json_array_size(cx.findings) - before;
		} else {
			status = "pass";
		}
		json_array_append_new(results, checks_result(&cx, status, sev));
	}
	for (int s = CHECK_NSEVERITIES - 1; s >= 0; s--)
		json_object_set_new(counts, check_severity_names[s],
		                    json_integer((json_int_t)counted[s]));
	tstime_format(snap->at, at, sizeof at);
	out = json_pack("{s:s, s:o, s:I, s:o, s:o}", "at", at, "counts", counts, "unknown",
	                (json_int_t)unknown, "results", results, "findings", cx.findings);
	checks_ctx_free(&cx);
	return out;
}
