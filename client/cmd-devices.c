/* cmd-devices.c: devices, device and ip: the devices and who held an address. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "client.h"

/* One row of the devices table, read from its element of the reply. */
struct cmd_devices_devrow {
	char *name; /* the short name: the rows are sorted by it, then by NODE */
	char *node;
	char *cells[8]; /* NAME (marked), OS, USER, ADDRESSES, TAGS, AUTH, KEY-EXPIRY, VERSION */
};

/* The devices listing as its reply arrives: a row for each element (or, with --json, the
 * element printed as it would have been in the whole result). */
struct cmd_devices_list {
	const struct cmd_args *a;
	tstime_t now;
	struct cmd_devices_devrow *rows;
	size_t n, cap, nmaybe, nchanged;
	size_t printed; /* --json: elements printed */
	int begun;      /* --json: the list's opening is printed */
};

static int
cmd_devices_devrow_cmp(const void *va, const void *vb)
{
	const struct cmd_devices_devrow *a = va, *b = vb;
	int c = strcmp(a->name, b->name);

	return c != 0 ? c : strcmp(a->node, b->node);
}

enum {
	DEV_NAME,
	DEV_HOSTNAME,
	DEV_NODEID,
	DEV_OS,
	DEV_USER,
	DEV_ADDRESSES,
	DEV_TAGS,
	DEV_AUTHORIZED,
	DEV_KEYEXPIRYDISABLED,
	DEV_EXPIRES,
	DEV_CLIENTVERSION,
	DEV__N
};
static const char *const cmd_devices_devfields[DEV__N] = {
    "name",       "hostname",          "nodeId",  "os",           "user", "addresses", "tags",
    "authorized", "keyExpiryDisabled", "expires", "clientVersion"};

enum {
	ENT_NODEID,
	ENT_STATE,
	ENT_PRESENCE,
	ENT_VERSION,
	ENT_DEVICE,
	ENT_VERSIONS,
	ENT_VOLATILE,
	ENT__N
};
static const char *const cmd_devices_entfields[ENT__N] = {
    "nodeId", "state", "presence", "version", "device", "versions", "volatile"};

/* What the table asks of each device: cmd_devices_devfields and, of its volatile part, what
 * --stale reads. */
static const char cmd_devices_fields[] =
    "name,hostname,nodeId,os,user,addresses,tags,authorized,keyExpiryDisabled,expires,"
    "clientVersion,connectedToControl,lastSeen";

/* Whether V is the string S (without escapes, as the daemon's words are). */
static int
cmd_devices_is(struct lspan v, const char *s)
{
	size_t n = strlen(s);

	return v.len == n + 2 && v.p[0] == '"' && memcmp(v.p + 1, s, n) == 0;
}

/* The short name (malloc'd) of the device object DEV, as show_shortname. */
static char *
cmd_devices_shortname(const struct lspan *f)
{
	static const int order[] = {DEV_NAME, DEV_HOSTNAME, DEV_NODEID};
	char *s = NULL, *r;
	size_t i, n;

	for (i = 0; i < 3; i++) {
		free(s);
		if ((s = listing_str(f[order[i]])) != NULL && *s != '\0')
			break;
	}
	if (s == NULL || *s == '\0') {
		free(s);
		return xstrdup("-");
	}
	n = strcspn(s, ".");
	if (n == 0)
		return s; /* ".foo": keep it whole rather than print nothing */
	r = xasprintf("%.*s", (int)(n > INT_MAX ? INT_MAX : n), s);
	free(s);
	return r;
}

/* The short name (malloc'd) of the device in a version object V. */
static char *
cmd_devices_vername(struct lspan v)
{
	static const char *const dev[] = {"device"};
	struct lspan d, f[DEV__N];

	listing_members(v, dev, 1, &d);
	listing_members(d, cmd_devices_devfields, DEV__N, f);
	return cmd_devices_shortname(f);
}

/* "2026-05-30", "never" when expiry is disabled, "-" for none or Go's zero time. */
static char *
cmd_devices_expiry(const struct lspan *f)
{
	char *e;
	char *s;

	if (listing_bool(f[DEV_KEYEXPIRYDISABLED]) == 1)
		return xstrdup("never");
	e = listing_str(f[DEV_EXPIRES]);
	if (e == NULL || strlen(e) < 10 || strncmp(e, "0001-01-01", 10) == 0)
		s = xstrdup("-");
	else
		s = xasprintf("%.10s", e);
	free(e);
	return s;
}

/* Does the device pass --tag, --user and --os? Read as cmd_entity_wanted reads them. */
static int
cmd_devices_wanted_fields(const struct lspan *f, const struct cmd_args *a)
{
	json_t *dev, *tags;
	struct lspan arr = f[DEV_TAGS], v;
	char *s;
	int ok;

	if (a->tag == NULL && a->user == NULL && a->os == NULL)
		return 1;
	dev = json_object();
	if (arr.len > 0 && arr.p[0] == '[') {
		tags = json_array();
		while (listing_next(&arr, &v))
			if ((s = listing_str(v)) != NULL) {
				json_array_append_new(tags, json_string(s));
				free(s);
			}
		json_object_set_new(dev, "tags", tags);
	}
	if ((s = listing_str(f[DEV_USER])) != NULL)
		json_object_set_new(dev, "user", json_string(s));
	free(s);
	if ((s = listing_str(f[DEV_OS])) != NULL)
		json_object_set_new(dev, "os", json_string(s));
	free(s);
	ok = cmd_entity_wanted("device", NULL, dev, a);
	json_decref(dev);
	return ok;
}

/* Does the device pass --stale? VOL is its volatile part. */
static int
cmd_devices_wanted_stale(struct lspan vol, const struct cmd_args *a, tstime_t now)
{
	static const char *const names[] = {"connectedToControl", "lastSeen"};
	struct lspan f[2];
	char *seen;
	tstime_t t;
	int stale = 1;

	if (a->stale <= 0)
		return 1;
	listing_members(vol, names, 2, f);
	/* Online now is not stale; never seen (no lastSeen) is. */
	if (listing_bool(f[0]) == 1)
		return 0;
	seen = listing_str(f[1]);
	if (seen != NULL && tstime_parse_rfc3339(seen, &t) == 0 && now - t < a->stale)
		stale = 0;
	free(seen);
	return stale;
}

/* One element of the reply: a row of the table, if it passes the filters. */
static int
cmd_devices_element(void *arg, const char *p, size_t len)
{
	struct cmd_devices_list *dl = arg;
	struct lspan e[ENT__N], f[DEV__N], arr, v, first = {0}, last = {0};
	struct cmd_devices_devrow *r;
	char *changed = NULL, *s;
	size_t nv = 0;
	int maybe;

	if (listing_members((struct lspan){p, len}, cmd_devices_entfields, ENT__N, e) == -1)
		return 0; /* not an object: no row, as before */
	listing_members(e[ENT_DEVICE], cmd_devices_devfields, DEV__N, f);
	if (!cmd_devices_wanted_fields(f, dl->a) ||
	    !cmd_devices_wanted_stale(e[ENT_VOLATILE], dl->a, dl->now))
		return 0;
	if (dl->n == dl->cap) {
		dl->cap = dl->cap ? dl->cap * 2 : 256;
		dl->rows = xrealloc(dl->rows, dl->cap * sizeof *dl->rows);
	}
	r = &dl->rows[dl->n++];
	r->name = cmd_devices_shortname(f);
	/* One row per device: whether it was there, and whether its version is known. */
	maybe = e[ENT_PRESENCE].len > 0 ? cmd_devices_is(e[ENT_PRESENCE], "maybe")
	                                : cmd_devices_is(e[ENT_STATE], "maybe");
	dl->nmaybe += maybe;
	if (cmd_devices_is(e[ENT_VERSION], "uncertain")) {
		for (arr = e[ENT_VERSIONS]; listing_next(&arr, &v); nv++) {
			if (nv == 0)
				first = v;
			last = v;
		}
	}
	if (nv > 1) {
		char *was = cmd_devices_vername(first), *now = cmd_devices_vername(last);

		changed = strcmp(was, now) != 0 ? xasprintf("%s \u2192 %s", was, now)
		                                : xasprintf("%s~", now);
		free(was);
		free(now);
		dl->nchanged++;
	}
	r->node = listing_str(e[ENT_NODEID]);
	if (r->node == NULL)
		r->node = xstrdup("");
	r->cells[0] = xasprintf("%s%s", changed != NULL ? changed : r->name, maybe ? "?" : "");
	free(changed);
	r->cells[1] = listing_str(f[DEV_OS]);
	r->cells[2] = listing_str(f[DEV_USER]);
	r->cells[3] = listing_join(f[DEV_ADDRESSES], ",");
	r->cells[4] = listing_join(f[DEV_TAGS], ",");
	switch (listing_bool(f[DEV_AUTHORIZED])) {
	case 1:
		r->cells[5] = xstrdup("yes");
		break;
	case 0:
		r->cells[5] = xstrdup("no");
		break;
	default:
		r->cells[5] = NULL;
	}
	r->cells[6] = cmd_devices_expiry(f);
	/* "1.76.1-t1234abcd-g5678" -> "1.76.1": the rest is build detail. */
	s = listing_str(f[DEV_CLIENTVERSION]);
	r->cells[7] = xasprintf("%.*s", s != NULL ? (int)strcspn(s, "-") : 0, s != NULL ? s : "");
	free(s);
	return 0;
}

static void
cmd_devices_show(json_t *res, struct cmd_devices_list *dl)
{
	static const char *const hdr[] = {"NAME", "OS",   "USER",       "ADDRESSES",
	                                  "TAGS", "AUTH", "KEY-EXPIRY", "VERSION"};
	struct table *t;
	size_t i, j;

	if (dl->n > 0) /* rows is NULL when there are none */
		qsort(dl->rows, dl->n, sizeof *dl->rows, cmd_devices_devrow_cmp);
	t = table_new(8, hdr);
	for (i = 0; i < dl->n; i++) {
		table_add_rowv(t, (const char *const *)dl->rows[i].cells);
		free(dl->rows[i].name);
		free(dl->rows[i].node);
		for (j = 0; j < 8; j++)
			free(dl->rows[i].cells[j]);
	}
	free(dl->rows);
	dl->rows = NULL;
	/* "no devices" only when tsinv knows there were none: else "unknown" and why. */
	show_list_print(res, t, "no devices", dl->nmaybe);
	if (dl->nchanged > 0)
		fputs(
		    "\n\u2192, ~ = present, but changed between two polls around that time: which "
		    "version was\n    current then is not known (tsinvctl device NAME --history "
		    "shows both)\n",
		    show_notes());
	table_free(t);
}

/* Does the device row E pass --tag, --user, --os and --stale? */
static int
cmd_devices_wanted(json_t *e, const struct cmd_args *a, tstime_t now)
{
	const char *seen;
	tstime_t t;

	/* --tag, --user and --os as changes and events read them. */
	if (!cmd_entity_wanted("device", NULL, json_object_get(e, "device"), a))
		return 0;
	if (a->stale > 0) {
		/* Online now is not stale; never seen (no lastSeen) is. */
		if (json_is_true(
		        json_object_get(json_object_get(e, "volatile"), "connectedToControl")))
			return 0;
		seen = show_str(json_object_get(e, "volatile"), "lastSeen");
		if (seen != NULL && tstime_parse_rfc3339(seen, &t) == 0 && now - t < a->stale)
			return 0;
	}
	return 1;
}

/* --json: the members before the list, then the list's opening. */
static int
cmd_devices_json_begin(void *arg, json_t *result)
{
	struct cmd_devices_list *dl = arg;

	dl->begun = 1;
	show_json_begin(result);
	return 0;
}

/* --json: an element that passes the filters, as it would be in the whole result. */
static int
cmd_devices_json_element(void *arg, const char *p, size_t len)
{
	struct cmd_devices_list *dl = arg;
	json_t *e = json_loadb(p, len, JSON_ALLOW_NUL, NULL);

	if (e == NULL) {
		json_error_t jerr;

		json_decref(json_loadb(p, len, JSON_ALLOW_NUL, &jerr));
		return conn_bad_reply(jerr.text);
	}
	if (cmd_devices_wanted(e, dl->a, dl->now))
		show_json_element(e, dl->printed++);
	json_decref(e);
	return 0;
}

static int
cmd_devices_exec(const struct cmd_entry *cmd, const struct cmd_args *a)
{
	struct cmd_devices_list dl = {.a = a, .now = tstime_now()};
	struct listing l = {.list = "devices", .arg = &dl};
	int rc;

	if (a->stale > 0 && a->at != NULL)
		return tsinvctl_usage_error(cmd,
		                            "devices: --stale reads when devices were last seen, "
		                            "which is kept for now only: not with --at");
	if (client_opts.json) {
		/* The whole reply first, so that one cut short prints nothing; then element by
		 * element, never as one tree. */
		l.whole = 1;
		l.begin = cmd_devices_json_begin;
		l.element = cmd_devices_json_element;
		rc = listing_fetch(cmd, a, NULL, &l);
	} else {
		/* The table's members only: a tenth of the whole reply to read. */
		l.element = cmd_devices_element;
		rc = listing_fetch(cmd, a, json_pack("{s:s}", "fields", cmd_devices_fields), &l);
	}
	if (rc != 0) {
		for (size_t i = 0; i < dl.n; i++) {
			free(dl.rows[i].name);
			free(dl.rows[i].node);
			for (size_t j = 0; j < 8; j++)
				free(dl.rows[i].cells[j]);
		}
		free(dl.rows);
		return rc;
	}
	if (client_opts.json && dl.begun)
		show_json_end(l.result, l.nbefore, dl.printed);
	else if (client_opts.json)
		show_print_json(l.result);
	else
		cmd_devices_show(l.result, &dl);
	/* An answer about a time no poll covered was printed as "unknown"; its status says so too,
	 * so that a script never takes it for an empty list. */
	if (show_is(l.result, "coverage", "unknown"))
		rc = TSINVCTL_EXIT_UNKNOWN;
	json_decref(l.result);
	return rc;
}

/* The key: value block of one version of a device, VOL its volatile part (or NULL). */
static void
cmd_devices_device_block(struct table *t, json_t *ver, json_t *vol)
{
	json_t *dev = json_object_get(ver, "device");
	char when[TSINVCTL_TIMELEN], buf[2 * TSINVCTL_TIMELEN + 8];
	const char *seen;

	table_add_row(t, "name:", show_str(dev, "name"));
	table_add_row(t, "hostname:", show_str(dev, "hostname"));
	table_add_row(t, "os:", show_str(dev, "os"));
	table_add_row(t, "user:", show_str(dev, "user"));
	show_kv_list(t, "addresses:", json_object_get(dev, "addresses"));
	show_kv_list(t, "tags:", json_object_get(dev, "tags"));
	table_add_row(t, "authorized:", show_yesno(dev, "authorized"));
	if (json_is_true(json_object_get(dev, "keyExpiryDisabled")))
		table_add_row(t, "key expiry:", "never (disabled)");
	else
		table_add_row(
		    t, "key expiry:", show_time(show_str(dev, "expires"), when, sizeof when));
	table_add_row(t, "client version:", show_str(dev, "clientVersion"));
	/* A version recorded before tsinv versioned it does not say. */
	if (json_object_get(dev, "updateAvailable") != NULL)
		table_add_row(t, "update available:", show_yesno(dev, "updateAvailable"));
	table_add_row(t, "created:", show_time(show_str(dev, "created"), when, sizeof when));
	show_kv_list(t, "routes:", json_object_get(dev, "enabledRoutes"));
	show_kv_list(t, "advertised routes:", json_object_get(dev, "advertisedRoutes"));
	/* Presence is volatile, kept for the current state only: a past version has none. */
	if (json_is_object(vol)) {
		seen = show_str(vol, "lastSeen");
		if (json_is_true(json_object_get(vol, "connectedToControl")))
			table_add_row(t, "last seen:", "online now");
		else
			table_add_row(t, "last seen:", show_time(seen, when, sizeof when));
	}
	table_add_row(t, "since:", show_edge(ver, 0, NULL, buf, sizeof buf));
	table_add_row(t, "until:", show_edge(ver, 1, "now", buf, sizeof buf));
}

static void
cmd_devices_device_history(json_t *versions)
{
	static const char *const hdr[] = {"FROM", "TO", "ACTOR", "CHANGES"};
	struct table *t = table_new(4, hdr);
	char from[2 * TSINVCTL_TIMELEN + 8], to[2 * TSINVCTL_TIMELEN + 8];
	json_t *v, *f, *prev = NULL;
	struct sbuf sb;
	char *actor;
	size_t i, j;

	json_array_foreach(versions, i, v)
	{
		json_t *dev = json_object_get(v, "device");

		show_bounds(v, from, to, sizeof from);
		/* Each changed field with its value before and after: what a reviewer asks. */
		sbuf_init(&sb);
		sbuf_adds(&sb, "");
		/* Not a change of the device: this release began to version these fields. */
		if (json_is_true(json_object_get(v, "adopted")))
			sbuf_adds(&sb, "(recorded from here)");
		json_array_foreach(json_object_get(v, "changed"), j, f)
		{
			const char *k = json_string_value(f);
			char *o, *n;

			if (k == NULL)
				continue;
			o = show_cell_json(json_object_get(json_object_get(prev, "device"), k));
			n = show_cell_json(json_object_get(dev, k));
			sbuf_addf(&sb, "%s%s: %s \u2192 %s", sb.len ? (j > 0 ? "; " : " ") : "", k,
			          o ? o : "-", n ? n : "-");
			free(o);
			free(n);
		}
		actor = cmd_audit_attribution(json_object_get(v, "attribution"));
		table_add_row(t, from, to, actor,
		              sb.len > 0 ? sb.p : (i == 0 ? "(first seen)" : NULL));
		free(actor);
		sbuf_free(&sb);
		prev = v;
	}
	fputc('\n', stdout);
	table_print(t, stdout);
	table_free(t);
}

/* A posture version's attributes as "name=value" lines, each with its expiry if it has one
 * (malloc'd). */
static char *
cmd_devices_posture_text(json_t *ver)
{
	json_t *attrs = json_object_get(ver, "attributes"), *exp = json_object_get(ver, "expiries");
	struct sbuf sb;
	const char *k;
	json_t *v;

	sbuf_init(&sb);
	sbuf_adds(&sb, "");
	json_object_foreach(attrs, k, v)
	{
		char *s = show_cell_json(v);
		const char *until = json_string_value(json_object_get(exp, k));

		sbuf_addf(&sb, "%s%s=%s", sb.len ? ", " : "", k, s ? s : "");
		if (until != NULL)
			sbuf_addf(&sb, " (until %s)", until);
		free(s);
	}
	return sbuf_steal(&sb);
}

/* The posture attributes' versions: when each changed, and what. */
static void
cmd_devices_posture_history(json_t *versions)
{
	static const char *const hdr[] = {"POSTURE FROM", "TO", "CHANGES"};
	struct table *t = table_new(3, hdr);
	char from[2 * TSINVCTL_TIMELEN + 8], to[2 * TSINVCTL_TIMELEN + 8];
	json_t *v, *f, *prev = NULL;
	struct sbuf sb;
	size_t i, j;

	json_array_foreach(versions, i, v)
	{
		show_bounds(v, from, to, sizeof from);
		sbuf_init(&sb);
		sbuf_adds(&sb, "");
		json_array_foreach(json_object_get(v, "changed"), j, f)
		{
			const char *k = json_string_value(f);
			json_t *pa = json_object_get(prev, "attributes"), *na;
			char *o, *n;

			if (k == NULL)
				continue;
			na = json_object_get(v, "attributes");
			/* The expiries change as one member. */
			if (strcmp(k, "expiries") == 0) {
				pa = prev;
				na = v;
			}
			o = show_cell_json(json_object_get(pa, k));
			n = show_cell_json(json_object_get(na, k));
			sbuf_addf(&sb, "%s%s: %s \u2192 %s", sb.len ? "; " : "", k, o ? o : "-",
			          n ? n : "-");
			free(o);
			free(n);
		}
		if (i == 0) {
			char *all = cmd_devices_posture_text(v);

			sbuf_addf(&sb, "(first seen) %s", all);
			free(all);
		}
		table_add_row(t, from, to, sb.p);
		sbuf_free(&sb);
		prev = v;
	}
	fputc('\n', stdout);
	table_print(t, stdout);
	table_free(t);
}

static int
cmd_devices_device_show(json_t *res, const struct cmd_args *a)
{
	struct table *t = table_new(2, NULL);
	json_t *cur = json_object_get(res, "current");
	json_t *versions = json_object_get(res, "versions");
	int deleted = json_is_true(json_object_get(res, "deleted"));
	char when[TSINVCTL_TIMELEN], *note;

	if (a->at != NULL)
		note = xasprintf("%s at %s", json_is_object(cur) ? "present" : "not present",
		                 show_time(a->at, when, sizeof when));
	else
		note = xstrdup(json_is_object(cur) ? "present"
		               : deleted           ? "deleted"
		                                   : "not present");
	table_add_row(t, "node id:", show_str(res, "nodeId"));
	table_add_row(t, "matched by:", show_str(res, "matched_by"));
	table_add_row(t, "state:", note);
	table_add_row(t, "deleted:", deleted ? "yes" : "no");
	free(note);
	if (json_is_object(cur)) {
		cmd_devices_device_block(t, cur, json_object_get(cur, "volatile"));
	} else if (json_is_object(json_object_get(res, "last"))) {
		/* A deleted device: what it was when last seen. */
		table_add_row(t, "last version:", "(as last seen, before it was deleted)");
		cmd_devices_device_block(t, json_object_get(res, "last"), NULL);
	}
	/* Posture attributes, when the posture endpoint polls: what they are (or were at --at),
	 * and since when. */
	if (json_is_object(json_object_get(res, "posture"))) {
		json_t *p = json_object_get(res, "posture");
		char *s = cmd_devices_posture_text(p), buf[2 * TSINVCTL_TIMELEN + 8];

		table_add_row(t, "posture:", *s ? s : "(no attributes)");
		table_add_row(t, "posture since:",
		              show_window(show_str(p, "from_lo"), show_str(p, "from_hi"), NULL, buf,
		                          sizeof buf));
		free(s);
	} else if (json_is_null(json_object_get(res, "posture")))
		table_add_row(t, "posture:", "unknown (no posture recorded for it then)");
	table_print(t, stdout);
	table_free(t);
	if (json_is_array(versions))
		cmd_devices_device_history(versions);
	if (json_is_array(json_object_get(res, "posture_versions")) &&
	    json_array_size(json_object_get(res, "posture_versions")) > 0)
		cmd_devices_posture_history(json_object_get(res, "posture_versions"));
	return 0;
}

static int
cmd_devices_device(const struct cmd_entry *cmd, const struct cmd_args *a)
{
	json_t *args = json_object();
	int rc;

	if ((rc = conn_arg_str(cmd, args, "query", a->arg)) != 0) {
		json_decref(args);
		return rc;
	}
	return conn_query_tailnets(cmd, a, args, cmd_devices_device_show);
}

/* "laptop (nAbc123CNTRL)", cleaned for the terminal (malloc'd). */
static char *
cmd_devices_holder(json_t *h)
{
	char *name = show_shortname(h), *s, *c;
	const char *node = show_str(h, "nodeId");

	s = xasprintf("%s (%s)", name, node != NULL ? node : "-");
	c = table_clean(s);
	free(name);
	free(s);
	return c;
}

/* The window a "maybe" falls in: the holder's arrival if AT is before from_hi, else its leaving. */
static void
cmd_devices_maybe_window(json_t *h, const char *at, struct sbuf *sb)
{
	const char *lo = show_str(h, "from_lo"), *hi = show_str(h, "from_hi");
	char l[TSINVCTL_TIMELEN], r[TSINVCTL_TIMELEN];
	tstime_t t, thi;

	if (at == NULL || tstime_parse_rfc3339(at, &t) != 0 || hi == NULL ||
	    tstime_parse_rfc3339(hi, &thi) != 0 || t >= thi) {
		lo = show_str(h, "to_lo");
		hi = show_str(h, "to_hi");
	}
	if (lo != NULL && hi != NULL)
		sbuf_addf(sb, " (changed between %s and %s)", show_time(lo, l, sizeof l),
		          show_time(hi, r, sizeof r));
}

static void
cmd_devices_ip_answer(json_t *res, const char *at, struct sbuf *sb)
{
	const char *answer = show_str(res, "answer"), *reason = show_str(res, "reason");
	int held = answer != NULL && strcmp(answer, "held") == 0;
	int maybe = answer != NULL && strcmp(answer, "maybe") == 0;
	json_t *h, *holders = json_object_get(res, "holders");
	size_t i, n = 0;
	char *who;

	if (!held && !maybe) {
		if (answer != NULL && strcmp(answer, "none") == 0 && show_str(res, "exact_by"))
			sbuf_addf(sb, "none: no device held it (%s)", reason ? reason : "exact");
		else if (answer != NULL && strcmp(answer, "none") == 0)
			sbuf_adds(sb, "none: no device held it (covered by polls)");
		else
			sbuf_addf(sb, "%s: %s", answer != NULL ? answer : "?",
			          reason != NULL ? reason : "no reason given");
		return;
	}
	sbuf_adds(sb, held ? "held by " : "maybe: ");
	json_array_foreach(holders, i, h)
	{
		/* A held answer names the holders; the "maybe" ones beside it are noise. */
		if (held && show_is(h, "state", "maybe"))
			continue;
		if (n++ > 0)
			sbuf_adds(sb, held ? ", " : "; or ");
		who = cmd_devices_holder(h);
		sbuf_adds(sb, who);
		free(who);
		if (!held)
			cmd_devices_maybe_window(h, at, sb);
	}
	if (n == 0)
		sbuf_adds(sb, "(no holder listed)");
	if (held && show_str(res, "exact_by") != NULL && reason != NULL)
		sbuf_addf(sb, " (%s)", reason);
}

static void
cmd_devices_ip_history(json_t *intervals)
{
	static const char *const hdr[] = {"NODE", "NAME", "FROM", "TO"};
	struct table *t = table_new(4, hdr);
	char from[2 * TSINVCTL_TIMELEN + 8], to[2 * TSINVCTL_TIMELEN + 8], *name;
	json_t *v;
	size_t i;

	json_array_foreach(intervals, i, v)
	{
		show_bounds(v, from, to, sizeof from);
		name = show_shortname(v);
		table_add_row(t, show_str(v, "nodeId"), name, from, to);
		free(name);
	}
	fputc('\n', stdout);
	if (table_nrows(t) > 0)
		table_print(t, stdout);
	else
		puts("no device ever held it");
	table_free(t);
}

static int
cmd_devices_ip_show(json_t *res, const struct cmd_args *a)
{
	const char *ip = show_str(res, "ip"), *at = show_str(res, "at");
	char when[TSINVCTL_TIMELEN], *line, *clean;
	struct sbuf sb = {0};

	if (at == NULL)
		at = a->at;
	sbuf_addf(&sb, "%s at %s: ", ip != NULL ? ip : a->arg,
	          at != NULL ? show_time(at, when, sizeof when) : "now");
	cmd_devices_ip_answer(res, at, &sb);
	line = sbuf_steal(&sb);
	clean = table_clean(line);
	puts(clean);
	free(clean);
	free(line);
	if (a->history)
		cmd_devices_ip_history(json_object_get(res, "intervals"));
	return 0;
}

static int
cmd_devices_ip(const struct cmd_entry *cmd, const struct cmd_args *a)
{
	char buf[ADDR_STRLEN];
	struct tsaddr addr;

	if (addr_parse(a->arg, &addr) != 0)
		return tsinvctl_usage_error(cmd, "bad address \"%s\"", a->arg);
	addr_format(&addr, buf, sizeof buf);
	return conn_query_tailnets(cmd, a, json_pack("{s:s}", "ip", buf), cmd_devices_ip_show);
}

const struct cmd_entry cmd_devices_entry = {
    .name = "devices",
    .op = PROTO_OP_devices_list,
    .flags = CMD_F_LIST | CMD_F_TAG | CMD_F_USER | CMD_F_OS | CMD_F_STALE,
    .exec = cmd_devices_exec,
};

const struct cmd_entry cmd_device_entry = {
    .name = "device",
    .op = PROTO_OP_device_get,
    .history = "also list every version and the fields that changed",
    .exec = cmd_devices_device,
};

const struct cmd_entry cmd_ip_entry = {
    .name = "ip",
    .op = PROTO_OP_ip_at,
    .history = "also list every device that held the address, and when",
    .exec = cmd_devices_ip,
};
