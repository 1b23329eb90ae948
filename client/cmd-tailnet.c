/* cmd-tailnet.c: users, keys, webhooks, dns and settings: the rest of a tailnet's records. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

/* A user's versions, oldest first: FROM, TO, who made the change (the audit log's actor) and
 * what changed, old -> new. */
static void
cmd_tailnet_user_versions(json_t *versions, FILE *f)
{
	static const char *const hdr[] = {"FROM", "TO", "ACTOR", "CHANGES"};
	struct table *t = table_new(4, hdr);
	char from[2 * TSINVCTL_TIMELEN + 8], to[2 * TSINVCTL_TIMELEN + 8];
	json_t *v, *prev = NULL;
	const char *k;
	json_t *val;
	char *actor;
	size_t i;

	json_array_foreach(versions, i, v)
	{
		json_t *u = json_object_get(v, "user");
		struct sbuf sb;

		show_bounds(v, from, to, sizeof from);
		sbuf_init(&sb);
		sbuf_adds(&sb, "");
		json_object_foreach(u, k, val)
		{
			json_t *old = json_object_get(json_object_get(prev, "user"), k);
			char *o, *n;

			if (prev == NULL || json_equal(old, val))
				continue;
			o = show_cell_json(old);
			n = show_cell_json(val);
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
	table_print(t, f);
	table_free(t);
}

/* users --history: each user's versions under its login. */
static void
cmd_tailnet_user_histories(json_t *histories)
{
	json_t *h, *last;
	size_t i;

	json_array_foreach(histories, i, h)
	{
		json_t *vs = json_object_get(h, "versions");

		last = json_object_get(json_array_get(vs, json_array_size(vs) - 1), "user");
		printf("\n%s (%s):\n", show_str(last, "loginName") ?: "-",
		       show_str(h, "id") ?: "-");
		cmd_tailnet_user_versions(vs, stdout);
	}
}

static int
cmd_tailnet_user_show(json_t *res, const struct cmd_args *a)
{
	struct table *t = table_new(2, NULL);
	json_t *u = json_object_get(json_object_get(res, "current"), "user"), *d, *k;
	static const char *const dh[] = {"NODE", "NAME", "FROM", "TO"};
	static const char *const kh[] = {"KEY", "TYPE", "CREATED", "STATE"};
	char from[2 * TSINVCTL_TIMELEN + 8], to[2 * TSINVCTL_TIMELEN + 8];
	struct table *dt, *kt;
	size_t i;

	(void)a;
	table_add_row(t, "id:", show_str(res, "id"));
	if (u != NULL) {
		table_add_row(t, "login:", show_str(u, "loginName"));
		table_add_row(t, "name:", show_str(u, "displayName"));
		table_add_row(t, "role:", show_str(u, "role"));
		table_add_row(t, "status:", show_str(u, "status"));
		table_add_row(t, "type:", show_str(u, "type"));
	} else
		table_add_row(t, "state:", "not a user of the tailnet at that time");
	table_print(t, stdout);
	table_free(t);
	dt = table_new(4, dh);
	json_array_foreach(json_object_get(res, "devices"), i, d)
	{
		show_bounds(d, from, to, sizeof from);
		table_add_row(dt, show_str(d, "nodeId"), show_str(d, "name"), from, to);
	}
	printf("\ndevices owned:\n");
	if (table_nrows(dt) > 0)
		table_print(dt, stdout);
	else
		puts("none recorded");
	table_free(dt);
	kt = table_new(4, kh);
	json_array_foreach(json_object_get(res, "keys"), i, k)
	{
		json_t *key = json_object_get(k, "key");

		table_add_row(kt, show_str(k, "id"), show_str(key, "keyType"),
		              show_str(key, "created"), show_str(key, "state"));
	}
	printf("\nkeys created:\n");
	if (table_nrows(kt) > 0)
		table_print(kt, stdout);
	else
		puts("none recorded");
	table_free(kt);
	if (json_is_array(json_object_get(res, "versions"))) {
		printf("\nversions:\n");
		cmd_tailnet_user_versions(json_object_get(res, "versions"), stdout);
	}
	return 0;
}

static int
cmd_tailnet_user(const struct cmd_entry *cmd, const struct cmd_args *a)
{
	json_t *args = json_object();
	int rc;

	if ((rc = conn_arg_str(cmd, args, "query", a->arg)) != 0) {
		json_decref(args);
		return rc;
	}
	return conn_query(cmd, a, args, cmd_tailnet_user_show, NULL);
}

static int
cmd_tailnet_users_show(json_t *res, const struct cmd_args *a)
{
	static const char *const hdr[] = {"LOGIN", "NAME", "ROLE", "STATUS", "DEVICES", "TYPE"};
	struct table *t = table_new(6, hdr);
	struct show_listrow *rows;
	size_t i, n, nmaybe = 0;

	rows = show_list_sorted(res, "users", "user", "loginName", "id", &n);
	for (i = 0; i < n; i++) {
		json_t *u = json_object_get(rows[i].entry, "user");
		json_t *vol = json_object_get(rows[i].entry, "volatile");
		const char *login = show_str(u, "loginName"), *status = show_str(u, "status");
		int maybe = show_is(rows[i].entry, "state", "maybe");
		char devices[24] = "-", *first;
		double v;

		/* The recorded status holds idle as active; the live one tells them apart. */
		if (show_str(vol, "status") != NULL)
			status = show_str(vol, "status");
		if (show_num(vol, "deviceCount", &v) == 0)
			snprintf(devices, sizeof devices, "%.0f", v);
		if (login == NULL || *login == '\0')
			login = show_str(u, "id");
		first = show_marked(login, maybe);
		nmaybe += maybe;
		table_add_row(t, first, show_str(u, "displayName"), show_str(u, "role"), status,
		              devices, show_str(u, "type"));
		free(first);
	}
	free(rows);
	show_list_print(res, t, "no users", nmaybe);
	table_free(t);
	if (json_is_array(json_object_get(res, "histories")))
		cmd_tailnet_user_histories(json_object_get(res, "histories"));
	return 0;
}

static int
cmd_tailnet_users(const struct cmd_entry *cmd, const struct cmd_args *a)
{
	return conn_query(cmd, a, NULL, cmd_tailnet_users_show, NULL);
}

/* "reusable,preauthorized,tags=tag:ci+tag:x": what an auth key lets a device do, the true flags
 * only; an OAuth client's own tags when it has no device capabilities (malloc'd, or NULL). */
static char *
cmd_tailnet_key_caps(json_t *key)
{
	static const char *const flags[] = {"reusable", "ephemeral", "preauthorized"};
	json_t *create = json_object_get(
	    json_object_get(json_object_get(key, "capabilities"), "devices"), "create");
	struct sbuf sb = {0};
	char *tags;
	size_t i;

	for (i = 0; i < sizeof flags / sizeof flags[0]; i++)
		if (json_is_true(json_object_get(create, flags[i])))
			sbuf_addf(&sb, "%s%s", sb.len > 0 ? "," : "", flags[i]);
	tags = show_join(json_object_get(create, "tags"), "+");
	if (tags == NULL)
		tags = show_join(json_object_get(key, "tags"), "+");
	if (tags != NULL)
		sbuf_addf(&sb, "%stags=%s", sb.len > 0 ? "," : "", tags);
	free(tags);
	if (sb.len == 0) {
		sbuf_free(&sb);
		return NULL;
	}
	return sbuf_steal(&sb);
}

static int
cmd_tailnet_keys_show(json_t *res, const struct cmd_args *a)
{
	static const char *const hdr[] = {"ID",      "TYPE",    "CREATOR", "DESCRIPTION",
	                                  "CREATED", "EXPIRES", "STATE",   "CAPABILITIES",
	                                  "SCOPES",  "ACTOR"};
	struct table *t = table_new(10, hdr);
	const char *within = show_str(res, "expiring_within");
	struct show_listrow *rows;
	size_t i, n, nmaybe = 0;
	char *none;

	rows = show_list_sorted(res, "keys", "key", "created", "id", &n);
	for (i = 0; i < n; i++) {
		json_t *e = rows[i].entry, *k = json_object_get(e, "key");
		const char *id = show_str(k, "id"), *creator = show_str(e, "creator");
		int maybe = show_is(e, "state", "maybe");
		char created[TSINVCTL_TIMELEN], expires[TSINVCTL_TIMELEN], *first, *caps, *scopes;
		/* Who made the key what it is, as the audit log says: its creator, its revoker. */
		char *actor = cmd_audit_attribution(json_object_get(e, "attribution"));

		if (id == NULL)
			id = show_str(e, "id");
		/* The creator's login when the users history knows it, else the bare user id. */
		if (creator == NULL || *creator == '\0')
			creator = show_str(k, "userId");
		first = show_marked(id, maybe);
		caps = cmd_tailnet_key_caps(k);
		scopes = show_join(json_object_get(k, "scopes"), ",");
		nmaybe += maybe;
		table_add_row(t, first, show_str(k, "keyType"), creator, show_str(k, "description"),
		              show_date(show_str(k, "created"), created, sizeof created),
		              show_date(show_str(k, "expires"), expires, sizeof expires),
		              show_str(k, "state"), caps, scopes, actor);
		free(first);
		free(caps);
		free(scopes);
		free(actor);
	}
	free(rows);
	if (within == NULL)
		within = a->expiring;
	none = within != NULL ? xasprintf("no active key expires within %s", within)
	                      : xstrdup("no keys");
	show_list_print(res, t, none, nmaybe);
	free(none);
	table_free(t);
	return 0;
}

static int
cmd_tailnet_keys(const struct cmd_entry *cmd, const struct cmd_args *a)
{
	json_t *args = json_object();

	if (a->expiring != NULL)
		json_object_set_new(args, "expiring", json_string(a->expiring));
	if (a->all)
		json_object_set_new(args, "all", json_true());
	return conn_query(cmd, a, args, cmd_tailnet_keys_show, NULL);
}

static int
cmd_tailnet_webhooks_show(json_t *res, const struct cmd_args *a)
{
	static const char *const hdr[] = {"ID",      "URL",           "PROVIDER",
	                                  "CREATOR", "SUBSCRIPTIONS", "ACTOR"};
	struct table *t = table_new(6, hdr);
	struct show_listrow *rows;
	size_t i, n, nmaybe = 0;

	rows = show_list_sorted(res, "webhooks", "webhook", "endpointUrl", "endpointId", &n);
	for (i = 0; i < n; i++) {
		json_t *e = rows[i].entry, *w = json_object_get(e, "webhook");
		const char *id = show_str(w, "endpointId");
		int maybe = show_is(e, "state", "maybe");
		char *first, *subs,
		    *actor = cmd_audit_attribution(json_object_get(e, "attribution"));

		if (id == NULL)
			id = show_str(e, "id");
		first = show_marked(id, maybe);
		subs = show_join(json_object_get(w, "subscriptions"), ",");
		nmaybe += maybe;
		table_add_row(t, first, show_str(w, "endpointUrl"), show_str(w, "providerType"),
		              show_str(w, "creatorLoginName"), subs, actor);
		free(first);
		free(subs);
		free(actor);
	}
	free(rows);
	show_list_print(res, t, "no webhooks", nmaybe);
	table_free(t);
	return 0;
}

static int
cmd_tailnet_webhooks(const struct cmd_entry *cmd, const struct cmd_args *a)
{
	return conn_query(cmd, a, NULL, cmd_tailnet_webhooks_show, NULL);
}

/* ---- dns, settings: one versioned object per tailnet ---- */

/* "since:" and "until:" rows from the bounds of O. */
static void
cmd_tailnet_since_until(struct table *t, json_t *o)
{
	char buf[2 * TSINVCTL_TIMELEN + 8];

	table_add_row(t, "since:", show_edge(o, 0, NULL, buf, sizeof buf));
	table_add_row(t, "until:", show_edge(o, 1, "now", buf, sizeof buf));
}

/* "8.8.8.8, 1.1.1.1": the strings of ARR, or the "address" of its objects (malloc'd, or NULL). */
static char *
cmd_tailnet_resolvers(json_t *arr)
{
	struct sbuf sb = {0};
	const char *s;
	json_t *v;
	size_t i;

	json_array_foreach(arr, i, v)
	{
		s = json_is_string(v) ? json_string_value(v) : show_str(v, "address");
		if (s != NULL)
			sbuf_addf(&sb, "%s%s", sb.len > 0 ? ", " : "", s);
	}
	if (sb.len == 0) {
		sbuf_free(&sb);
		return NULL;
	}
	return sbuf_steal(&sb);
}

static void
cmd_tailnet_dns_block(struct table *t, json_t *dns)
{
	json_t *split = json_object_get(dns, "splitDNS"), *v;
	const char *domain;
	char *s, *line;

	s = cmd_tailnet_resolvers(json_object_get(dns, "nameservers"));
	table_add_row(t, "nameservers:", s);
	free(s);
	table_add_row(t, "magicDNS:", show_yesno(dns, "magicDNS"));
	show_kv_list(t, "searchPaths:", json_object_get(dns, "searchPaths"));
	if (json_object_size(split) == 0)
		table_add_row(t, "splitDNS:", NULL);
	json_object_foreach(split, domain, v)
	{
		s = cmd_tailnet_resolvers(v);
		line = xasprintf("%s: %s", domain, s != NULL ? s : "(no resolvers)");
		table_add_row(t, "splitDNS:", line);
		free(line);
		free(s);
	}
}

static void
cmd_tailnet_settings_block(struct table *t, json_t *settings)
{
	const char *name;
	char *key, *val;
	json_t *v;

	json_object_foreach(settings, name, v)
	{
		/* The API withholds what the credential has no scope for. */
		val = json_is_null(v) ? xstrdup("(withheld)") : show_cell_json(v);
		key = xasprintf("%s:", name);
		table_add_row(t, key, val);
		free(key);
		free(val);
	}
}

typedef void (*cmd_tailnet_block_fn)(struct table *t, json_t *obj);

/* A "changed:" row per member that differs between OLD and NEW: "name: old -> new". */
static void
cmd_tailnet_diff_rows(struct table *t, json_t *old, json_t *new)
{
	const char *k;
	json_t *v;
	int any = 0;

	json_object_foreach(new, k, v)
	{
		if (json_equal(v, json_object_get(old, k)))
			continue;
		char *o = show_cell_json(json_object_get(old, k)), *n = show_cell_json(v);
		char *line = xasprintf("%s: %s \u2192 %s", k, o ? o : "-", n ? n : "-");

		table_add_row(t, "changed:", line);
		free(line);
		free(o);
		free(n);
		any = 1;
	}
	json_object_foreach(old, k, v)
	{
		if (json_object_get(new, k) != NULL)
			continue;
		char *o = show_cell_json(v), *line = xasprintf("%s: %s \u2192 -", k, o ? o : "-");

		table_add_row(t, "changed:", line);
		free(line);
		free(o);
		any = 1;
	}
	if (!any)
		table_add_row(t, "changed:", "(nothing recorded differs)");
}

/* dns and settings: the version in force now or at --at, its time bounds, and with --history
 * every version, oldest first. MEMBER names the object in the result and in each version. */
static void
cmd_tailnet_config_show(json_t *res, const struct cmd_args *a, const char *member, const char *what,
                        cmd_tailnet_block_fn block)
{
	json_t *obj = json_object_get(res, member), *versions = json_object_get(res, "versions");
	char when[TSINVCTL_TIMELEN], n[48], *reason, *note;
	struct table *t;
	json_t *v;
	size_t i;

	if (json_is_object(obj)) {
		t = table_new(2, NULL);
		if (show_is(res, "state", "maybe") && a->at != NULL) {
			note = xasprintf("maybe (it changed between two polls around %s)",
			                 show_time(a->at, when, sizeof when));
			table_add_row(t, "state:", note);
			free(note);
		}
		block(t, obj);
		cmd_tailnet_since_until(t, res);
		table_print(t, stdout);
		table_free(t);
	} else if (show_is(res, "coverage", "unknown")) {
		reason = show_reason(res);
		printf("unknown: %s\n", reason);
		free(reason);
	} else
		printf("no %s recorded%s\n", what, a->at != NULL ? " at that time" : "");
	show_note(res, show_is(res, "coverage", "unknown"));
	if (!json_is_array(versions))
		return;
	json_array_foreach(versions, i, v)
	{
		t = table_new(2, NULL);
		snprintf(n, sizeof n, "%zu of %zu", i + 1, json_array_size(versions));
		table_add_row(t, "version:", n);
		/* The first version whole; each later one as what changed from the one before. */
		if (i == 0)
			block(t, json_object_get(v, member));
		else
			cmd_tailnet_diff_rows(
			    t, json_object_get(json_array_get(versions, i - 1), member),
			    json_object_get(v, member));
		cmd_tailnet_since_until(t, v);
		if ((note = cmd_audit_attribution(json_object_get(v, "attribution"))) != NULL) {
			table_add_row(t, "actor:", note);
			free(note);
		}
		fputc('\n', stdout);
		table_print(t, stdout);
		table_free(t);
	}
}

static int
cmd_tailnet_dns_show(json_t *res, const struct cmd_args *a)
{
	cmd_tailnet_config_show(res, a, "dns", "DNS configuration", cmd_tailnet_dns_block);
	return 0;
}

static int
cmd_tailnet_dns(const struct cmd_entry *cmd, const struct cmd_args *a)
{
	return conn_query(cmd, a, NULL, cmd_tailnet_dns_show, NULL);
}

static int
cmd_tailnet_settings_show(json_t *res, const struct cmd_args *a)
{
	cmd_tailnet_config_show(res, a, "settings", "settings", cmd_tailnet_settings_block);
	return 0;
}

static int
cmd_tailnet_settings(const struct cmd_entry *cmd, const struct cmd_args *a)
{
	return conn_query(cmd, a, NULL, cmd_tailnet_settings_show, NULL);
}

const struct cmd_entry cmd_users_entry = {
    .name = "users",
    .op = PROTO_OP_users_list,
    .flags = CMD_F_LIST,
    .history = "also list every user's versions, oldest first, with what changed",
    .exec = cmd_tailnet_users,
};

const struct cmd_entry cmd_user_entry = {
    .name = "user",
    .op = PROTO_OP_user_get,
    .arg = "ID|LOGIN",
    .history = "also list every version of the user, with what changed",
    .exec = cmd_tailnet_user,
};

const struct cmd_entry cmd_keys_entry = {
    .name = "keys",
    .op = PROTO_OP_keys_list,
    .flags = CMD_F_LIST,
    .exec = cmd_tailnet_keys,
};

const struct cmd_entry cmd_webhooks_entry = {
    .name = "webhooks",
    .op = PROTO_OP_webhooks_list,
    .flags = CMD_F_LIST,
    .exec = cmd_tailnet_webhooks,
};

const struct cmd_entry cmd_dns_entry = {
    .name = "dns",
    .op = PROTO_OP_dns_get,
    .history = "also print every version, oldest first, with its time bounds",
    .exec = cmd_tailnet_dns,
};

const struct cmd_entry cmd_settings_entry = {
    .name = "settings",
    .op = PROTO_OP_settings_get,
    .history = "also print every version, oldest first, with its time bounds",
    .exec = cmd_tailnet_settings,
};
