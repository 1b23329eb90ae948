/* cmd-changes.c: changes: what changed between two times, entity by entity, as old -> new values,
 * folded from the event log (events.list with since and until). */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client.h"

/* One entity's changes in the range: its events folded into old -> new values. */
struct cmd_changes_ent {
	char *key; /* "tailnet\tkind\tid" */
	const char *tailnet, *kind, *id;
	char *name;
	char first[TSINVCTL_TIMELEN], last[TSINVCTL_TIMELEN];
	json_t *types;   /* event types, each once, in order */
	json_t *fields;  /* {field: {"old": v, "new": v}} */
	json_t *added;   /* addresses added, in order */
	json_t *removed; /* addresses removed */
	json_t *whole;   /* the entity whole, from its creation or deletion event, or NULL */
	int created, deleted;
};

struct cmd_changes {
	struct cmd_changes_ent *e;
	size_t n, cap;
	json_t *events;  /* every event fetched, kept for the strings the entries borrow */
	json_t *devices; /* {"tailnet\tnodeId": device} as of --to, then --from: for the filters */
	json_t *unknown; /* reasons the range is not covered, one per tailnet and end */
	int all_types;   /* --type given: what it selects, check.* and the baseline too */
};

static struct cmd_changes_ent *
cmd_changes_find(struct cmd_changes *c, json_t *ev)
{
	json_t *ent = json_object_get(ev, "entity");
	const char *tn = show_str(ev, "tailnet"), *kind = show_str(ent, "kind");
	const char *id = show_str(ent, "id");
	struct cmd_changes_ent *e;
	char *key;
	size_t i;

	if (tn == NULL || kind == NULL || id == NULL)
		return NULL;
	key = xasprintf("%s\t%s\t%s", tn, kind, id);
	for (i = 0; i < c->n; i++)
		if (strcmp(c->e[i].key, key) == 0) {
			free(key);
			return &c->e[i];
		}
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->e = xrealloc(c->e, c->cap * sizeof(*c->e));
	}
	e = &c->e[c->n++];
	memset(e, 0, sizeof(*e));
	e->key = key;
	e->tailnet = tn;
	e->kind = kind;
	e->id = id;
	e->types = json_array();
	e->fields = json_object();
	e->added = json_array();
	e->removed = json_array();
	show_time(show_str(ev, "time"), e->first, sizeof e->first);
	return e;
}

static int
cmd_changes_ends(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n > m && strcmp(s + n - m, suffix) == 0;
}

static void
cmd_changes_add_unique(json_t *arr, const char *s)
{
	json_t *v;
	size_t i;

	json_array_foreach(arr, i, v) if (strcmp(json_string_value(v), s) == 0) return;
	json_array_append_new(arr, json_string(s));
}

/* Folds one event into its entity: the first old value and the last new value of each field. */
static void
cmd_changes_fold(struct cmd_changes *c, json_t *ev)
{
	struct cmd_changes_ent *e;
	json_t *before = json_object_get(ev, "before"), *after = json_object_get(ev, "after");
	const char *type = show_str(ev, "type"), *name, *addr, *k;
	json_t *v, *f;
	void *tmp;

	/* Findings and the first poll's summary are not changes of the inventory: listed only
	 * when --type asks for them. */
	if (type == NULL || (!c->all_types && (strncmp(type, "check.", 6) == 0 ||
	                                       strcmp(type, "tailnet.baseline") == 0)))
		return;
	if ((e = cmd_changes_find(c, ev)) == NULL)
		return;
	cmd_changes_add_unique(e->types, type);
	show_time(show_str(ev, "time"), e->last, sizeof e->last);
	if ((name = show_str(json_object_get(ev, "entity"), "name")) != NULL) {
		free(e->name);
		e->name = xstrdup(name);
	}
	if (cmd_changes_ends(type, ".created"))
		e->created = 1;
	if (cmd_changes_ends(type, ".deleted"))
		e->deleted = 1;
	if ((addr = show_str(ev, "address")) != NULL) {
		if (strstr(type, ".address.added") != NULL)
			json_array_append_new(e->added, json_string(addr));
		else if (strstr(type, ".address.removed") != NULL)
			json_array_append_new(e->removed, json_string(addr));
	}
	/* A creation's "after" is the whole entity, a deletion's "before" too: not field changes,
	 * but what the filters can read when the entity was there at neither end. */
	if (cmd_changes_ends(type, ".created") || cmd_changes_ends(type, ".deleted")) {
		v = cmd_changes_ends(type, ".created") ? after : before;
		if (json_is_object(v)) {
			json_decref(e->whole);
			e->whole = json_incref(v);
		}
		return;
	}
	json_object_foreach(before, k, v)
	{
		if (json_object_get(e->fields, k) == NULL)
			json_object_set_new(e->fields, k, json_pack("{s:O, s:n}", "old", v, "new"));
	}
	json_object_foreach(after, k, v)
	{
		if ((f = json_object_get(e->fields, k)) == NULL)
			json_object_set_new(e->fields, k, json_pack("{s:n, s:O}", "old", "new", v));
		else
			json_object_set(f, "new", v);
	}
	/* A field that came back to its old value did not change over the range. */
	json_object_foreach_safe(e->fields, tmp, k, v)
	{
		if (json_equal(json_object_get(v, "old"), json_object_get(v, "new")))
			json_object_del(e->fields, k);
	}
}

/* The device an entity was, for --tag, --user and --os: as of --to, else of --from. */
static json_t *
cmd_changes_device(struct cmd_changes *c, const struct cmd_changes_ent *e)
{
	char *key = xasprintf("%s\t%s", e->tailnet, e->id);
	json_t *d = json_object_get(c->devices, key);

	free(key);
	return d != NULL ? d : e->whole;
}

static int
cmd_changes_in_list(json_t *arr, const char *s)
{
	json_t *v;
	size_t i;

	json_array_foreach(arr, i, v) if (json_is_string(v) &&
	                                  strcasecmp(json_string_value(v), s) == 0) return 1;
	return 0;
}

int
cmd_entity_wanted(const char *kind, const char *name, json_t *dev, const struct cmd_args *a)
{
	const char *tag = a->tag;
	char buf[256];

	if (a->tag == NULL && a->user == NULL && a->os == NULL)
		return 1;
	if (strcmp(kind, "device") != 0)
		return a->tag == NULL && a->os == NULL && a->user != NULL &&
		       strcmp(kind, "user") == 0 && name != NULL && strcasecmp(name, a->user) == 0;
	if (dev == NULL)
		return 0;
	if (tag != NULL && strncmp(tag, "tag:", 4) != 0) {
		snprintf(buf, sizeof buf, "tag:%s", tag);
		tag = buf;
	}
	if (tag != NULL && !cmd_changes_in_list(json_object_get(dev, "tags"), tag))
		return 0;
	if (a->user != NULL &&
	    (show_str(dev, "user") == NULL || strcasecmp(show_str(dev, "user"), a->user) != 0))
		return 0;
	if (a->os != NULL &&
	    (show_str(dev, "os") == NULL || strcasecmp(show_str(dev, "os"), a->os) != 0))
		return 0;
	return 1;
}

static int
cmd_changes_wanted(struct cmd_changes *c, const struct cmd_changes_ent *e, const struct cmd_args *a)
{
	return cmd_entity_wanted(e->kind, e->name, cmd_changes_device(c, e), a);
}

/* What the CHANGE column says: created/deleted, each field old -> new, addresses +/-. */
static char *
cmd_changes_text(const struct cmd_changes_ent *e)
{
	struct sbuf sb;
	const char *k;
	json_t *v;
	size_t i;

	sbuf_init(&sb);
	sbuf_adds(&sb, "");
	if (e->created && e->deleted)
		sbuf_adds(&sb, "created and deleted");
	else if (e->created)
		sbuf_adds(&sb, "created");
	else if (e->deleted)
		sbuf_adds(&sb, "deleted");
	json_object_foreach(e->fields, k, v)
	{
		char *o = show_cell_json(json_object_get(v, "old"));
		char *n = show_cell_json(json_object_get(v, "new"));

		sbuf_addf(&sb, "%s%s: %s \u2192 %s", sb.len ? "; " : "", k, o ? o : "-",
		          n ? n : "-");
		free(o);
		free(n);
	}
	json_array_foreach(e->added, i, v)
	    sbuf_addf(&sb, "%s+%s", sb.len ? "; " : "", json_string_value(v));
	json_array_foreach(e->removed, i, v)
	    sbuf_addf(&sb, "%s-%s", sb.len ? "; " : "", json_string_value(v));
	if (sb.len == 0) {
		char *t = show_join(e->types, ", ");

		sbuf_adds(&sb, t != NULL ? t : "-");
		free(t);
	}
	return sbuf_steal(&sb);
}

/* The devices of each tailnet at T (RFC 3339; NULL: as of the last poll), into c->devices (the
 * first seen wins), and whether polls covered T (else a reason into c->unknown). 0, or an exit
 * code. */
static int cmd_changes_devices_at(struct cmd_changes *c, const char *t, const char *end);

int
cmd_devices_map(const char *t, json_t **devices)
{
	struct cmd_changes c = {.devices = json_object(), .unknown = json_array()};
	int rc = cmd_changes_devices_at(&c, t, "time");

	json_decref(c.unknown);
	if (rc != 0) {
		json_decref(c.devices);
		return rc;
	}
	*devices = c.devices;
	return 0;
}

static int
cmd_changes_devices_at(struct cmd_changes *c, const char *t, const char *end)
{
	json_t *args = t != NULL ? json_pack("{s:s}", "at", t) : json_object();
	json_t *res = NULL, *err = NULL, *names, *name, *d;
	size_t i, j;
	int rc;

	if (client_opts.tailnet != NULL)
		json_object_set_new(args, "tailnet", json_string(client_opts.tailnet));
	rc = conn_call_quiet(&cmd_devices_entry, json_deep_copy(args), &res, &err);
	if (err != NULL && show_is(err, "code", PROTO_E_TAILNET_REQUIRED))
		names = json_incref(json_object_get(err, "tailnets"));
	else if (err != NULL) {
		json_decref(args);
		rc = conn_print_err(err, rc);
		json_decref(err);
		return rc;
	} else if (rc != 0) {
		json_decref(args);
		return rc;
	} else
		names = json_pack("[O]", json_object_get(res, "tailnet"));
	json_array_foreach(names, i, name)
	{
		if (res == NULL) {
			json_t *targs = json_deep_copy(args);

			json_object_set(targs, "tailnet", name);
			json_decref(err);
			err = NULL;
			if ((rc = conn_call_quiet(&cmd_devices_entry, targs, &res, &err)) != 0) {
				if (err != NULL)
					rc = conn_print_err(err, rc);
				json_decref(err);
				json_decref(names);
				json_decref(args);
				return rc;
			}
		}
		if (show_is(res, "coverage", "unknown"))
			json_array_append_new(
			    c->unknown, json_sprintf("tailnet %s at the %s (%s): %s",
			                             json_string_value(name), end, t ? t : "now",
			                             show_str(res, "reason") ?: "not covered"));
		json_array_foreach(json_object_get(res, "devices"), j, d)
		{
			char *key =
			    xasprintf("%s\t%s", json_string_value(name), show_str(d, "nodeId"));

			if (json_object_get(c->devices, key) == NULL)
				json_object_set(c->devices, key, json_object_get(d, "device"));
			free(key);
		}
		json_decref(res);
		res = NULL;
	}
	json_decref(err);
	json_decref(names);
	json_decref(args);
	return 0;
}

/* Every event from FROM to TO (page after page), folded into c. 0, or an exit code. */
static int
cmd_changes_events(struct cmd_changes *c, const struct cmd_entry *cmd, const struct cmd_args *a,
                   const char *from, const char *to)
{
	json_t *since = json_string(from), *res, *ev;
	struct cmd_args none = {0};
	tstime_t start, t;
	size_t i;
	int rc;

	if (tstime_parse_rfc3339(from, &start) != 0)
		start = TSTIME_NONE;

	for (;;) {
		json_t *args = json_pack("{s:O, s:s, s:i}", "since", since, "until", to, "limit",
		                         PROTO_LIMIT_MAX);

		if (a->types != NULL && (rc = conn_arg_str(cmd, args, "type", a->types)) != 0) {
			json_decref(args);
			json_decref(since);
			return rc;
		}
		if ((rc = conn_fetch(&cmd_events_entry, &none, args, &res)) != 0) {
			json_decref(since);
			return rc;
		}
		json_array_foreach(json_object_get(res, "events"), i, ev)
		{
			/* The range is (from, to]: what a poll at FROM saw was before it. */
			if (show_str(ev, "time") == NULL ||
			    tstime_parse_rfc3339(show_str(ev, "time"), &t) != 0 || t <= start)
				continue;
			json_array_append(c->events, ev);
			cmd_changes_fold(c, ev);
		}
		json_decref(since);
		if (!json_is_true(json_object_get(res, "more"))) {
			json_decref(res);
			return 0;
		}
		since = json_incref(json_object_get(res, "next"));
		json_decref(res);
	}
}

static int
cmd_changes_cmp(const void *va, const void *vb)
{
	const struct cmd_changes_ent *a = va, *b = vb;
	int r;

	if ((r = strcmp(a->tailnet, b->tailnet)) != 0)
		return r;
	if ((r = strcmp(a->kind, b->kind)) != 0)
		return r;
	return strcmp(a->name ? a->name : a->id, b->name ? b->name : b->id);
}

static void
cmd_changes_print(struct cmd_changes *c, const struct cmd_args *a, const char *from, const char *to)
{
	static const char *const hdr[] = {"TAILNET", "KIND", "ENTITY", "WHEN", "CHANGE"};
	struct table *t = table_new(5, hdr);
	json_t *out = json_array(), *u;
	size_t i;

	if (c->n > 0) /* qsort wants an array, even of none */
		qsort(c->e, c->n, sizeof(*c->e), cmd_changes_cmp);
	for (i = 0; i < c->n; i++) {
		struct cmd_changes_ent *e = &c->e[i];
		char when[2 * TSINVCTL_TIMELEN + 8], *ent, *chg;

		if (!cmd_changes_wanted(c, e, a))
			continue;
		if (client_opts.json) {
			json_array_append_new(
			    out,
			    json_pack(
			        "{s:s, s:s, s:s, s:s?, s:s, s:s, s:O, s:b, s:b, s:O, s:O, s:O}",
			        "tailnet", e->tailnet, "kind", e->kind, "id", e->id, "name",
			        e->name, "first", e->first, "last", e->last, "types", e->types,
			        "created", e->created, "deleted", e->deleted, "fields", e->fields,
			        "addresses_added", e->added, "addresses_removed", e->removed));
			continue;
		}
		if (strcmp(e->first, e->last) == 0)
			snprintf(when, sizeof when, "%s", e->first);
		else
			snprintf(when, sizeof when, "%s .. %s", e->first, e->last);
		ent = xasprintf("%s (%s)", e->name ? e->name : "-", e->id);
		chg = cmd_changes_text(e);
		table_add_row(t, e->tailnet, e->kind, ent, when, chg);
		free(ent);
		free(chg);
	}
	if (client_opts.json) {
		json_t *o =
		    json_pack("{s:s, s:s, s:s, s:O, s:o}", "from", from, "to", to, "coverage",
		              json_array_size(c->unknown) ? "unknown" : "covered", "unknown",
		              c->unknown, "changes", out);

		show_print_json(o);
		json_decref(o);
	} else {
		json_decref(out);
		if (table_nrows(t) > 0)
			table_print(t, stdout);
		else if (json_array_size(c->unknown) == 0)
			printf("no changes from %s to %s\n", from, to);
		json_array_foreach(c->unknown, i, u)
		    printf("%sunknown: %s\n", i == 0 && table_nrows(t) > 0 ? "\n" : "",
		           json_string_value(u));
		if (json_array_size(c->unknown) > 0)
			puts("(changes made where polls did not cover are not known: the list may "
			     "be "
			     "incomplete)");
	}
	table_free(t);
}

static int
cmd_changes_exec(const struct cmd_entry *cmd, const struct cmd_args *a)
{
	struct cmd_changes c = {0};
	char to[TSTIME_STRLEN];
	int rc;

	if (a->from == NULL)
		return tsinvctl_usage_error(cmd, "changes: --from TIME is needed");
	if (a->to != NULL)
		snprintf(to, sizeof to, "%s", a->to);
	else
		tstime_format(tstime_now(), to, sizeof to);
	if (strcmp(a->from, to) >= 0 && a->to != NULL) {
		tstime_t f, tt;

		if (tstime_parse_rfc3339(a->from, &f) == 0 && tstime_parse_rfc3339(to, &tt) == 0 &&
		    f >= tt)
			return tsinvctl_usage_error(cmd, "changes: --from %s is not before --to %s",
			                            a->from, to);
	}
	c.all_types = a->types != NULL;
	c.events = json_array();
	c.devices = json_object();
	c.unknown = json_array();
	/* The filters read the devices as of --to, then --from (deleted ones); both ends must
	 * have been covered by polls, or the changes between them are not all known. */
	if ((rc = cmd_changes_devices_at(&c, a->to, "end")) == 0 &&
	    (rc = cmd_changes_devices_at(&c, a->from, "start")) == 0 &&
	    (rc = cmd_changes_events(&c, cmd, a, a->from, to)) == 0) {
		cmd_changes_print(&c, a, a->from, to);
		if (json_array_size(c.unknown) > 0)
			rc = TSINVCTL_EXIT_UNKNOWN;
	}
	for (size_t i = 0; i < c.n; i++) {
		free(c.e[i].key);
		free(c.e[i].name);
		json_decref(c.e[i].types);
		json_decref(c.e[i].fields);
		json_decref(c.e[i].added);
		json_decref(c.e[i].removed);
		json_decref(c.e[i].whole);
	}
	free(c.e);
	json_decref(c.events);
	json_decref(c.devices);
	json_decref(c.unknown);
	return rc;
}

const struct cmd_entry cmd_changes_entry = {
    .name = "changes",
    .op = PROTO_OP_events_list,
    .hide = PROTO_A(since) | PROTO_A(until) | PROTO_A(limit),
    .flags = CMD_F_RANGE | CMD_F_FILTER | CMD_F_LIST,
    .help = "what changed between two times, entity by entity, as old \u2192 new values "
            "(from the recorded events)",
    .exec = cmd_changes_exec,
};
