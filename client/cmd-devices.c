/* cmd-devices.c: devices, device and ip: the devices and who held an address. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "client.h"

struct cmd_devices_devrow {
	char *name; /* the short name */
	const char *node;
	json_t *entry;
	int maybe;     /* may or may not have been there: shown with a "?" */
	char *changed; /* present, but changed around the time: "old -> new" names, or NULL */
};

static int
cmd_devices_devrow_cmp(const void *va, const void *vb)
{
	const struct cmd_devices_devrow *a = va, *b = vb;
	int c = strcmp(a->name, b->name);

	return c != 0 ? c : strcmp(a->node, b->node);
}

/* "2026-05-30", "never" when expiry is disabled, "-" for none or Go's zero time. */
static void
cmd_devices_expiry(json_t *dev, char *buf, size_t len)
{
	const char *e = show_str(dev, "expires");

	if (json_is_true(json_object_get(dev, "keyExpiryDisabled")))
		snprintf(buf, len, "never");
	else if (e == NULL || strlen(e) < 10 || strncmp(e, "0001-01-01", 10) == 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.10s", e);
}

static void
cmd_devices_row(struct table *t, const struct cmd_devices_devrow *r)
{
	json_t *dev = json_object_get(r->entry, "device");
	const char *ver = show_str(dev, "clientVersion");
	char *addrs = show_join(json_object_get(dev, "addresses"), ",");
	char *tags = show_join(json_object_get(dev, "tags"), ",");
	char expiry[16], *version, *name;

	if (r->changed != NULL)
		name = xasprintf("%s%s", r->changed, r->maybe ? "?" : "");
	else
		name = xasprintf("%s%s", r->name, r->maybe ? "?" : "");
	cmd_devices_expiry(dev, expiry, sizeof expiry);
	/* "1.76.1-t1234abcd-g5678" -> "1.76.1": the rest is build detail. */
	version =
	    xasprintf("%.*s", ver != NULL ? (int)strcspn(ver, "-") : 0, ver != NULL ? ver : "");
	table_add_row(t, name, show_str(dev, "os"), show_str(dev, "user"), addrs, tags,
	              show_yesno(dev, "authorized"), expiry, version);
	free(name);
	free(version);
	free(addrs);
	free(tags);
}

static int
cmd_devices_show(json_t *res, const struct cmd_args *a)
{
	static const char *const hdr[] = {"NAME", "OS",   "USER",       "ADDRESSES",
	                                  "TAGS", "AUTH", "KEY-EXPIRY", "VERSION"};
	json_t *list = json_object_get(res, "devices"), *e, *vs;
	size_t i, n = 0, nmaybe = 0, nchanged = 0;
	struct cmd_devices_devrow *rows;
	struct table *t;

	rows = xcalloc(json_array_size(list) + 1, sizeof *rows);
	json_array_foreach(list, i, e)
	{
		if (!json_is_object(e))
			continue;
		rows[n].name = show_shortname(json_object_get(e, "device"));
		/* One row per device: whether it was there, and whether its version is known. */
		if ((rows[n].maybe = json_object_get(e, "presence") != NULL
		                         ? show_is(e, "presence", "maybe")
		                         : show_is(e, "state", "maybe")))
			nmaybe++;
		vs = json_object_get(e, "versions");
		if (show_is(e, "version", "uncertain") && json_array_size(vs) > 1) {
			char *was =
			    show_shortname(json_object_get(json_array_get(vs, 0), "device"));
			char *now = show_shortname(
			    json_object_get(json_array_get(vs, json_array_size(vs) - 1), "device"));

			rows[n].changed = strcmp(was, now) != 0
			                      ? xasprintf("%s \u2192 %s", was, now)
			                      : xasprintf("%s~", now);
			free(was);
			free(now);
			nchanged++;
		}
		rows[n].node = show_str(e, "nodeId");
		if (rows[n].node == NULL)
			rows[n].node = "";
		rows[n++].entry = e;
	}
	qsort(rows, n, sizeof *rows, cmd_devices_devrow_cmp);

	t = table_new(8, hdr);
	for (i = 0; i < n; i++) {
		cmd_devices_row(t, &rows[i]);
		free(rows[i].name);
		free(rows[i].changed);
	}
	free(rows);
	/* "no devices" only when tsinv knows there were none: else "unknown" and why. */
	show_list_print(res, t, "no devices", nmaybe);
	if (nchanged > 0)
		fputs(
		    "\n\u2192, ~ = present, but changed between two polls around that time: which "
		    "version was\n    current then is not known (tsinvctl device NAME --history "
		    "shows both)\n",
		    show_notes());
	table_free(t);
	return 0;
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

static int
cmd_devices_exec(const struct cmd_entry *cmd, const struct cmd_args *a)
{
	json_t *result, *list, *keep, *e;
	tstime_t now = tstime_now();
	size_t i;
	int rc;

	if (a->stale > 0 && a->at != NULL)
		return tsinvctl_usage_error(cmd,
		                            "devices: --stale reads when devices were last seen, "
		                            "which is kept for now only: not with --at");
	if (a->tag == NULL && a->user == NULL && a->os == NULL && a->stale == 0)
		return conn_query(cmd, a, NULL, cmd_devices_show, NULL);
	if ((rc = conn_fetch(cmd, a, NULL, &result)) != 0)
		return rc;
	/* The filters apply to the table and to --json alike. */
	list = json_object_get(result, "devices");
	keep = json_array();
	json_array_foreach(list, i, e) if (cmd_devices_wanted(e, a, now))
	    json_array_append(keep, e);
	json_object_set_new(result, "devices", keep);
	if (client_opts.json)
		show_print_json(result);
	else
		rc = cmd_devices_show(result, a);
	if (rc == 0 && show_is(result, "coverage", "unknown"))
		rc = TSINVCTL_EXIT_UNKNOWN;
	json_decref(result);
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
	table_add_row(
	    t, "since:",
	    show_window(show_str(ver, "from_lo"), show_str(ver, "from_hi"), NULL, buf, sizeof buf));
	table_add_row(
	    t, "until:",
	    show_window(show_str(ver, "to_lo"), show_str(ver, "to_hi"), "now", buf, sizeof buf));
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
		json_array_foreach(json_object_get(v, "changed"), j, f)
		{
			const char *k = json_string_value(f);
			char *o, *n;

			if (k == NULL)
				continue;
			o = show_cell_json(json_object_get(json_object_get(prev, "device"), k));
			n = show_cell_json(json_object_get(dev, k));
			sbuf_addf(&sb, "%s%s: %s \u2192 %s", sb.len ? "; " : "", k, o ? o : "-",
			          n ? n : "-");
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
	table_print(t, stdout);
	table_free(t);
	if (json_is_array(versions))
		cmd_devices_device_history(versions);
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
		if (answer != NULL && strcmp(answer, "none") == 0)
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
