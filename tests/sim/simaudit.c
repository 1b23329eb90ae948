/* simaudit.c: the simulator's configuration audit log, per tailnet: kept in time order, served
 * by window with the API's rules (start and end required, the 90-day horizon, deferred entries
 * late), and entries made for what the control ops change. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "simaudit.h"
#include "xmalloc.h"

#define SIMAUDIT_ZERO_TIME "0001-01-01T00:00:00Z"

int64_t
simaudit_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void
simaudit_format(int64_t ns, char *buf, size_t len)
{
	time_t s = (time_t)(ns / 1000000000);
	long frac = (long)(ns % 1000000000);
	struct tm tm;
	char day[32];

	if (frac < 0) {
		frac += 1000000000;
		s--;
	}
	gmtime_r(&s, &tm);
	strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%09ldZ", day, frac);
}

void
simaudit_free(struct simaudit *a)
{
	for (size_t i = 0; i < a->n; i++)
		json_decref(a->v[i].entry);
	free(a->v);
	*a = (struct simaudit){0};
}

/* Takes ENTRY (a reference) at its place: after every entry at or before its time. */
static void
simaudit_insert(struct simaudit *a, int64_t ns, bool deferred, json_t *entry)
{
	size_t at = a->n;

	while (at > 0 && a->v[at - 1].ns > ns)
		at--;
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 16;
		a->v = xrealloc(a->v, a->cap * sizeof *a->v);
	}
	memmove(&a->v[at + 1], &a->v[at], (a->n - at) * sizeof *a->v);
	a->v[at] = (struct simaudit_entry){ns, deferred, entry};
	a->n++;
}

int
simaudit_add(struct simaudit *a, json_t *given, char **cause)
{
	json_t *entry, *t, *d;
	int64_t ns;
	char buf[48];
	bool deferred;

	if (!json_is_object(given)) {
		*cause = xstrdup("\"entry\" must be an object");
		return -1;
	}
	entry = json_deep_copy(given);
	if ((t = json_object_get(entry, "eventTime")) == NULL) {
		simaudit_format(simaudit_now(), buf, sizeof buf);
		json_object_set_new(entry, "eventTime", json_string(buf));
	} else if (audit_time_parse(json_string_value(t), &ns) == -1) {
		*cause = xstrdup("\"eventTime\" must be an RFC 3339 time");
		json_decref(entry);
		return -1;
	}
	audit_time_parse(json_string_value(json_object_get(entry, "eventTime")), &ns);
	if (json_object_get(entry, "type") == NULL)
		json_object_set_new(entry, "type", json_string("CONFIG"));
	if ((d = json_object_get(entry, "deferredAt")) == NULL)
		json_object_set_new(entry, "deferredAt", json_string(SIMAUDIT_ZERO_TIME));
	d = json_object_get(entry, "deferredAt");
	deferred = json_is_string(d) && strcmp(json_string_value(d), SIMAUDIT_ZERO_TIME) != 0;
	simaudit_insert(a, ns, deferred, entry);
	return 0;
}

void
simaudit_record(struct simaudit *a, const char *origin, json_t *actor, const char *ttype,
                const char *tid, const char *tname, const char *property, const char *action,
                json_t *old, json_t *new, json_t *override)
{
	json_t *e = json_object(), *target = json_object(), *v;
	const char *key;
	char now[48], group[33];
	int64_t ns = simaudit_now();
	bool deferred = false;

	simaudit_format(ns, now, sizeof now);
	/* One operation, one group: the clock is unique enough within a simulator. */
	snprintf(group, sizeof group, "%032llx", (unsigned long long)ns);
	json_object_set_new(target, "id", json_string(tid));
	json_object_set_new(target, "name", json_string(tname != NULL ? tname : tid));
	json_object_set_new(target, "type", json_string(ttype));
	if (property != NULL)
		json_object_set_new(target, "property", json_string(property));
	json_object_set_new(e, "action", json_string(action));
	json_object_set_new(e, "actor", json_deep_copy(actor));
	json_object_set_new(e, "deferredAt", json_string(SIMAUDIT_ZERO_TIME));
	json_object_set_new(e, "eventGroupID", json_string(group));
	json_object_set_new(e, "eventTime", json_string(now));
	json_object_set_new(e, "origin", json_string(origin));
	json_object_set_new(e, "target", target);
	json_object_set_new(e, "type", json_string("CONFIG"));
	if (old != NULL)
		json_object_set(e, "old", old);
	if (new != NULL)
		json_object_set(e, "new", new);
	json_object_foreach(override, key, v)
	{
		if (strcmp(key, "deferred") == 0)
			deferred = json_is_true(v);
		else
			json_object_set(e, key, v);
	}
	if (deferred)
		json_object_set_new(e, "deferredAt", json_string(now));
	/* An override may move the entry: it is placed by the time it carries. */
	if (audit_time_parse(json_string_value(json_object_get(e, "eventTime")), &ns) == -1)
		json_object_set_new(e, "eventTime", json_string(now));
	simaudit_insert(a, ns, deferred, e);
}

size_t
simaudit_release(struct simaudit *a)
{
	size_t n = 0;

	for (size_t i = 0; i < a->n; i++)
		if (a->v[i].deferred) {
			a->v[i].deferred = false;
			n++;
		}
	return n;
}

json_t *
simaudit_query(const struct simaudit *a, const char *tailnet_id, const char *start, const char *end,
               int64_t now_ns, int *status, const char **msg)
{
	int64_t from, to, horizon = now_ns - SIMAUDIT_HORIZON_NS;
	json_t *logs;

	*status = 400;
	if (start == NULL || end == NULL) {
		*msg = "start and end are required";
		return NULL;
	}
	if (audit_time_parse(start, &from) == -1 || audit_time_parse(end, &to) == -1) {
		*msg = "start and end must be RFC 3339 times";
		return NULL;
	}
	if (from > to) {
		*msg = "start must not be after end";
		return NULL;
	}
	if (from < horizon)
		from = horizon;
	logs = json_array();
	for (size_t i = 0; i < a->n; i++)
		if (!a->v[i].deferred && a->v[i].ns >= from && a->v[i].ns <= to)
			json_array_append(logs, a->v[i].entry);
	return json_pack("{s:s, s:s, s:o}", "version", "1.1", "tailnet", tailnet_id, "logs", logs);
}

/* What a generated entry changes, in turn: mostly devices renamed and retagged, some roles, the
 * policy file and new keys, as a busy tailnet's log reads. */
static const struct simaudit_gen {
	const char *ttype, *property, *action;
} simaudit_gens[] = {
    {"NODE", "MACHINE_NAME", "UPDATE"}, {"NODE", "MACHINE_NAME", "UPDATE"},
    {"NODE", "ACL_TAGS", "UPDATE"},     {"NODE", "MACHINE_NAME", "UPDATE"},
    {"USER", "USER_ROLE", "UPDATE"},    {"NODE", "ADDRESS", "UPDATE"},
    {"TAILNET", "ACL", "UPDATE"},       {"NODE", "MACHINE_NAME", "UPDATE"},
    {"API_KEY", NULL, "CREATE"},        {"NODE", "AUTHORIZED", "APPROVE"},
};

json_t *
simaudit_generate_entry(size_t i, int64_t ns, json_t *devices)
{
	const struct simaudit_gen *g =
	    &simaudit_gens[i % (sizeof simaudit_gens / sizeof simaudit_gens[0])];
	json_t *dev =
	    json_array_get(devices, i % (json_array_size(devices) ? json_array_size(devices) : 1));
	const char *nid = json_string_value(json_object_get(dev, "nodeId"));
	const char *name = json_string_value(json_object_get(dev, "name"));
	char when[48], group[33], id[32], login[64], tid[32];
	json_t *target, *e;

	simaudit_format(ns, when, sizeof when);
	snprintf(group, sizeof group, "%032llx", (unsigned long long)(ns ^ (int64_t)i));
	snprintf(id, sizeof id, "uGen%zuCNTRL", i % 7);
	snprintf(login, sizeof login, "user%zu@example.com", i % 7);
	if (strcmp(g->ttype, "NODE") == 0 && nid != NULL)
		target = json_pack("{s:s, s:s, s:s}", "id", nid, "name", name ? name : nid, "type",
		                   g->ttype);
	else {
		snprintf(tid, sizeof tid, "%s%zu", g->ttype[0] == 'U' ? "uGen" : "kGen", i % 97);
		target = json_pack("{s:s, s:s, s:s}", "id", tid, "name", tid, "type", g->ttype);
	}
	if (g->property != NULL)
		json_object_set_new(target, "property", json_string(g->property));
	e = json_pack("{s:s, s:{s:s, s:s, s:s, s:s}, s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:s}",
	              "action", g->action, "actor", "displayName", login, "id", id, "loginName",
	              login, "type", "USER", "deferredAt", SIMAUDIT_ZERO_TIME, "eventGroupID",
	              group, "eventTime", when, "origin", "ADMIN_CONSOLE", "target", target, "type",
	              "CONFIG", "old", "before", "new", "after");
	return e;
}

size_t
simaudit_generate(struct simaudit *a, size_t count, int64_t from_ns, int64_t to_ns, json_t *devices)
{
	int64_t step = count > 1 ? (to_ns - from_ns) / (int64_t)count : 0;

	for (size_t i = 0; i < count; i++) {
		int64_t ns = from_ns + (int64_t)i * step + (int64_t)(i % 1000);

		simaudit_insert(a, ns, false, simaudit_generate_entry(i, ns, devices));
	}
	return a->n;
}
