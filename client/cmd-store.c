/* cmd-store.c: the store itself: what it holds, a check of every record, a backup. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"

static void
cmd_store_bytes(double v, char *buf, size_t len)
{
	if (v >= 1024.0 * 1024 * 1024)
		snprintf(buf, len, "%.1f GiB", v / (1024.0 * 1024 * 1024));
	else if (v >= 1024.0 * 1024)
		snprintf(buf, len, "%.1f MiB", v / (1024.0 * 1024));
	else
		snprintf(buf, len, "%.0f KiB", v / 1024.0);
}

static int
cmd_store_info_show(json_t *res, const struct cmd_args *a)
{
	static const char *const hdr[] = {"KIND", "RECORDS", "BYTES"};
	struct table *t = table_new(2, NULL), *k = table_new(3, hdr);
	char buf[128], used[32], map[32];
	json_t *kind;
	double v, u = 0, m = 0;
	size_t i;

	table_add_row(t, "path:", show_str(res, "path"));
	snprintf(buf, sizeof buf, "?");
	if (show_num(res, "schema", &v) == 0)
		snprintf(buf, sizeof buf, "%.0f%s", v,
		         json_is_true(json_object_get(res, "read_only")) ? " (read-only)" : "");
	table_add_row(t, "schema:", buf);
	show_num(res, "used_bytes", &u);
	show_num(res, "map_bytes", &m);
	cmd_store_bytes(u, used, sizeof used);
	cmd_store_bytes(m, map, sizeof map);
	snprintf(buf, sizeof buf, "%s of a %s map", used, map);
	table_add_row(t, "size:", buf);
	if (show_num(res, "damaged_reads", &v) == 0 && v > 0) {
		snprintf(buf, sizeof buf, "%.0f (run tsinvctl store verify)", v);
		table_add_row(t, "damaged reads:", buf);
		table_add_row(t, "first:", show_str(res, "first_damage"));
	}
	json_array_foreach(json_object_get(res, "retention"), i, kind)
	{
		const char *h = json_string_value(json_object_get(kind, "horizon"));

		snprintf(buf, sizeof buf, "%s: retain %s, horizon %s", show_str(kind, "tailnet"),
		         show_str(kind, "retain"), h != NULL ? h : "none (nothing pruned)");
		table_add_row(t, i == 0 ? "retention:" : "", buf);
	}
	if (show_num(res, "events_from", &v) == 0 && v > 0) {
		snprintf(buf, sizeof buf, "from seq %.0f (older ones pruned)", v);
		table_add_row(t, "events:", buf);
	}
	table_print(t, stdout);
	table_free(t);
	json_array_foreach(json_object_get(res, "kinds"), i, kind)
	{
		char recs[32], bytes[32];

		show_num(kind, "records", &v);
		snprintf(recs, sizeof recs, "%.0f", v);
		show_num(kind, "bytes", &v);
		cmd_store_bytes(v, bytes, sizeof bytes);
		table_add_row(k, show_str(kind, "kind"), recs, bytes);
	}
	fputc('\n', stdout);
	table_print(k, stdout);
	table_free(k);
	return 0;
}

static int
cmd_store_info(const struct cmd_entry *cmd, const struct cmd_args *a)
{
	return conn_query(cmd, a, NULL, cmd_store_info_show, NULL);
}

static int
cmd_store_verify_show(json_t *res, const struct cmd_args *a)
{
	json_t *d;
	double n = 0, ms = 0;
	size_t i;

	show_num(res, "records", &n);
	show_num(res, "ms", &ms);
	json_array_foreach(json_object_get(res, "damaged"), i, d)
	    printf("damaged: %s: %s\n", show_str(d, "record"), show_str(d, "problem"));
	printf("%s: %.0f records checked in %.0f ms, %zu damaged\n", show_str(res, "path"), n, ms,
	       json_array_size(json_object_get(res, "damaged")));
	return 0;
}

/* Damage found is a failure of the command, for cron and monitoring. */
static int
cmd_store_verify_verdict(json_t *res)
{
	return json_is_true(json_object_get(res, "ok")) ? TSINVCTL_EXIT_OK : TSINVCTL_EXIT_ERROR;
}

static int
cmd_store_verify(const struct cmd_entry *cmd, const struct cmd_args *a)
{
	return conn_query(cmd, a, NULL, cmd_store_verify_show, cmd_store_verify_verdict);
}

static int
cmd_store_backup_show(json_t *res, const struct cmd_args *a)
{
	char bytes[32];
	double v = 0;

	show_num(res, "bytes", &v);
	cmd_store_bytes(v, bytes, sizeof bytes);
	printf("%s: %s written\n", show_str(res, "path"), bytes);
	return 0;
}

/* FILE is written by the daemon, on its host: a relative name is made absolute here, where the
 * user typed it. */
static int
cmd_store_backup(const struct cmd_entry *cmd, const struct cmd_args *a)
{
	char cwd[PATH_MAX], *path;
	json_t *args = json_object();
	int rc;

	if (a->arg[0] == '/')
		path = xstrdup(a->arg);
	else if (getcwd(cwd, sizeof cwd) != NULL)
		path = xasprintf("%s/%s", cwd, a->arg);
	else {
		json_decref(args);
		return tsinvctl_usage_error(cmd, "cannot make \"%s\" absolute: give a full path",
		                            a->arg);
	}
	rc = conn_arg_str(cmd, args, "path", path);
	free(path);
	if (rc != 0) {
		json_decref(args);
		return rc;
	}
	return conn_query(cmd, a, args, cmd_store_backup_show, NULL);
}

static const struct cmd_entry cmd_store_info_entry = {
    .name = "store info",
    .op = PROTO_OP_store_info,
    .help = "the store: its path, schema, size, records and bytes per kind, and any damaged "
            "record a query met",
    .exec = cmd_store_info,
};

static const struct cmd_entry cmd_store_verify_entry = {
    .name = "store verify",
    .op = PROTO_OP_store_verify,
    .flags = CMD_F_SLOW,
    .help = "read every record and check its checksum; lists the damaged ones and exits 1 if "
            "there are any",
    .exec = cmd_store_verify,
};

static const struct cmd_entry cmd_store_backup_entry = {
    .name = "store backup",
    .op = PROTO_OP_store_backup,
    .flags = CMD_F_SLOW,
    .help = "write a consistent, compacted copy of the store to FILE (a new file, written by "
            "the daemon on its host) while it keeps polling",
    .exec = cmd_store_backup,
};

static const struct cmd_entry *const cmd_store_subs[] = {
    &cmd_store_info_entry,
    &cmd_store_verify_entry,
    &cmd_store_backup_entry,
    NULL,
};

const struct cmd_entry cmd_store_entry = {
    .name = "store",
    .op = -1,
    .arg = "SUBCOMMAND [ARGS]",
    .help = "the store itself: its sizes (info), a check of every record (verify), a backup",
    .subs = cmd_store_subs,
};
