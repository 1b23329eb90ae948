/* cmd-export.c: export and netbox sync: the addresses for an IPAM, and a sync into NetBox. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "ipam.h"

/* ---- export ---- */

typedef void (*cmd_export_fn)(json_t *rows, const struct ipam_map *m, struct sbuf *sb);

/* NetBox's objects for the rows, each in its own VRF (a new reference). */
static json_t *
cmd_export_netbox_objects(json_t *rows, const struct ipam_map *m)
{
	json_t *objs = json_array(), *row;
	size_t i;

	json_array_foreach(rows, i, row) json_array_append_new(objs, ipam_netbox_object(row, m));
	return objs;
}

static void
cmd_export_netbox_csv(json_t *rows, const struct ipam_map *m, struct sbuf *sb)
{
	json_t *objs = cmd_export_netbox_objects(rows, m);

	ipam_write_netbox_csv(objs, m, sb);
	json_decref(objs);
}

static void
cmd_export_netbox_json(json_t *rows, const struct ipam_map *m, struct sbuf *sb)
{
	json_t *objs = cmd_export_netbox_objects(rows, m);

	ipam_write_json(objs, sb);
	json_decref(objs);
}

static void
cmd_export_csv(json_t *rows, const struct ipam_map *m, struct sbuf *sb)
{
	ipam_write_csv(rows, sb);
}

static void
cmd_export_json(json_t *rows, const struct ipam_map *m, struct sbuf *sb)
{
	ipam_write_json(rows, sb);
}

static const struct {
	const char *name;
	cmd_export_fn fn;
} cmd_export_formats[] = {
    {"netbox-csv", cmd_export_netbox_csv},
    {"netbox-json", cmd_export_netbox_json},
    {"csv", cmd_export_csv},
    {"json", cmd_export_json},
};

static int
cmd_export_exec(const struct cmd_entry *cmd, const struct cmd_args *a)
{
	const char *format = a->format != NULL ? a->format : "netbox-csv";
	json_t *args = json_object(), *result, *map;
	struct sbuf sb = {0};
	struct ipam_map m;
	char *reason;
	size_t i;
	int rc, unknown = 0;

	for (i = 0; i < sizeof(cmd_export_formats) / sizeof(cmd_export_formats[0]); i++)
		if (strcmp(cmd_export_formats[i].name, format) == 0)
			break;
	if (i == sizeof(cmd_export_formats) / sizeof(cmd_export_formats[0])) {
		json_decref(args);
		return tsinvctl_usage_error(cmd,
		                            "export: bad FORMAT \"%s\": netbox-csv, netbox-json, "
		                            "csv or json",
		                            format);
	}
	if (client_opts.tailnet != NULL &&
	    (rc = conn_arg_str(cmd, args, "tailnet", client_opts.tailnet)) != 0) {
		json_decref(args);
		return rc;
	}
	if (a->at != NULL)
		json_object_set_new(args, "at", json_string(a->at));
	if (a->window != NULL)
		json_object_set_new(args, "window", json_string(a->window));
	if (a->netbox_ids)
		json_object_set_new(args, "netbox_ids", json_true());
	if ((rc = conn_call(cmd, args, &result)) != 0)
		return rc;
	/* An export is fed to a CMDB: rows of a time no poll covered would read as "these and no
	 * others", so none are written unless asked for. */
	if (show_is(result, "coverage", "unknown")) {
		reason = show_reason(result);
		if (!a->allow_unknown && !client_opts.json) {
			conn_fail(
			    TSINVCTL_EXIT_UNKNOWN, "unknown",
			    "unknown: %s; nothing written (--allow-unknown writes what is known)",
			    reason);
			free(reason);
			json_decref(result);
			return TSINVCTL_EXIT_UNKNOWN;
		}
		fprintf(stderr, "tsinvctl: unknown: %s; the rows may be incomplete\n", reason);
		free(reason);
		unknown = !a->allow_unknown;
	}
	if (client_opts.json) {
		show_print_json(result);
		json_decref(result);
		return unknown ? TSINVCTL_EXIT_UNKNOWN : 0;
	}
	map = json_object_get(result, "map");
	m = (struct ipam_map){
	    .owner_tag = show_str(map, "owner_tag"),
	    .tag_prefix = show_str(map, "tag_prefix"),
	    .cf_node_id = show_str(map, "cf_node_id"),
	    .cf_tailnet = show_str(map, "cf_tailnet"),
	    .cf_last_seen = show_str(map, "cf_last_seen"),
	};
	if (m.cf_node_id == NULL || m.cf_tailnet == NULL || m.cf_last_seen == NULL ||
	    !json_is_array(json_object_get(result, "rows"))) {
		json_decref(result);
		return conn_bad_reply("the export has no rows or no mapping");
	}
	sbuf_init(&sb);
	sbuf_adds(&sb, "");
	cmd_export_formats[i].fn(json_object_get(result, "rows"), &m, &sb);
	fwrite(sb.p, 1, sb.len, stdout);
	sbuf_free(&sb);
	json_decref(result);
	return unknown ? TSINVCTL_EXIT_UNKNOWN : 0;
}

/* ---- netbox sync ---- */

static int
cmd_export_netbox_show(json_t *res, const struct cmd_args *a)
{
	static const char *const hdr[] = {"ACTION", "ADDRESS", "VRF", "TAILNET", "NODE", "FIELDS"};
	struct table *t = table_new(6, hdr);
	json_t *p, *tn, *e, *planned = json_object_get(res, "planned");
	int dry = json_is_true(json_object_get(res, "dry_run"));
	double v[4] = {0};
	size_t i;

	json_array_foreach(json_object_get(res, "tailnets"), i, tn)
	{
		if (!show_is(tn, "state", "ok"))
			printf("tailnet %s: skipped: %s\n", show_str(tn, "tailnet"),
			       show_str(tn, "reason") ? show_str(tn, "reason") : "?");
	}
	json_array_foreach(json_object_get(res, "plan"), i, p)
	{
		char *fields = show_join(json_object_get(p, "fields"), ",");
		char id[32] = "";

		if (json_is_integer(json_object_get(p, "id")))
			snprintf(id, sizeof(id), " #%lld",
			         (long long)json_integer_value(json_object_get(p, "id")));
		table_add_row(t, show_str(p, "action"), show_str(p, "address"),
		              show_str(p, "vrf") ? show_str(p, "vrf") : "-", show_str(p, "tailnet"),
		              show_str(p, "node_id"),
		              fields && *fields ? fields : (*id ? id + 1 : "-"));
		free(fields);
	}
	if (table_nrows(t) > 0)
		table_print(t, stdout);
	table_free(t);
	if (dry) {
		show_num(planned, "create", &v[0]);
		show_num(planned, "update", &v[1]);
		show_num(planned, "deprecate", &v[2]);
		show_num(planned, "tags", &v[3]);
		printf(
		    "dry run: would create %.0f, update %.0f, deprecate %.0f; create %.0f tags\n",
		    v[0], v[1], v[2], v[3]);
	} else {
		show_num(res, "created", &v[0]);
		show_num(res, "updated", &v[1]);
		show_num(res, "deprecated", &v[2]);
		show_num(res, "writes", &v[3]);
		printf("created %.0f, updated %.0f, deprecated %.0f; %.0f write requests\n", v[0],
		       v[1], v[2], v[3]);
	}
	json_array_foreach(json_object_get(res, "errors"), i, e)
	{
		if (json_is_string(e))
			fprintf(stderr, "tsinvctl: netbox: %s\n", json_string_value(e));
	}
	return 0;
}

/* A run that stopped or met errors fails the command; its plan was printed already. */
static int
cmd_export_netbox_verdict(json_t *res)
{
	return show_is(res, "result", "ok") ? TSINVCTL_EXIT_OK : TSINVCTL_EXIT_ERROR;
}

static int
cmd_export_netbox(const struct cmd_entry *cmd, const struct cmd_args *a)
{
	json_t *args = json_object();

	if (strcmp(a->arg, "sync") != 0) {
		json_decref(args);
		return tsinvctl_usage_error(cmd, "netbox: unknown action '%s' (sync)", a->arg);
	}
	if (a->dry_run)
		json_object_set_new(args, "dry_run", json_true());
	return conn_query(cmd, a, args, cmd_export_netbox_show, cmd_export_netbox_verdict);
}

void
cmd_export_format_words(struct sbuf *sb)
{
	size_t i;

	for (i = 0; i < sizeof(cmd_export_formats) / sizeof(cmd_export_formats[0]); i++)
		sbuf_addf(sb, "%s%s", i > 0 ? " " : "", cmd_export_formats[i].name);
}

const struct cmd_entry cmd_export_entry = {
    .name = "export",
    .op = PROTO_OP_ipam_export,
    .flags = CMD_F_FORMAT | CMD_F_ALLOW_UNKNOWN,
    .help = "every address held (and those released in the window before) as NetBox's import "
            "CSV or JSON, or tsinv's own CSV or JSON; all tailnets unless --tailnet",
    .exec = cmd_export_exec,
};

const struct cmd_entry cmd_netbox_entry = {
    .name = "netbox",
    .op = PROTO_OP_netbox_sync,
    .arg = "sync",
    .flags = CMD_F_SLOW,
    .help = "sync the addresses into NetBox now and print what was done; with --dry-run only "
            "the plan",
    .exec = cmd_export_netbox,
    .progress = progress_netbox,
};
