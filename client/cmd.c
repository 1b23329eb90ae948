/* cmd.c: the command table, and what is derived from it and the ops' argument spec: each
 * command's options, usage and help. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

#define CMD_HELP_COL 21 /* where an option's help starts */
#define CMD_HELP_WIDTH 79

/* The order of "tsinvctl --help". One entry added is one line (no reflow, for merges). */
/* clang-format off */
const struct cmd_entry *const cmd_table[] = {
    &cmd_status_entry,
    &cmd_poll_entry,
    &cmd_devices_entry,
    &cmd_device_entry,
    &cmd_ip_entry,
    &cmd_changes_entry,
    &cmd_users_entry,
    &cmd_user_entry,
    &cmd_keys_entry,
    &cmd_webhooks_entry,
    &cmd_dns_entry,
    &cmd_settings_entry,
    &cmd_acl_entry,
    &cmd_check_entry,
    &cmd_events_entry,
    &cmd_audit_entry,
    &cmd_hooks_entry,
    &cmd_export_entry,
    &cmd_netbox_entry,
    &cmd_ops_entry,
    &cmd_metrics_entry,
    &cmd_store_entry,
    &cmd_completion_entry,
    &cmd_help_entry,
    NULL,
};
/* clang-format on */

/* The commands' options in the order usage and help show them: an argument of the spec (its
 * form and help come from proto-args.h), or the client's own. --tailnet is a global option. */
const struct cmd_option cmd_options[] = {
    {.arg = PROTO_ARG_at},
    {.arg = PROTO_ARG_history},
    {.arg = PROTO_ARG_expiring},
    {.arg = PROTO_ARG_all},
    {.arg = PROTO_ARG_since},
    {.arg = PROTO_ARG_until},
    {.arg = PROTO_ARG_type, .many = 1, .values = cmd_events_type_words},
    {.arg = PROTO_ARG_actor},
    {.arg = PROTO_ARG_target},
    {.arg = PROTO_ARG_action, .values = cmd_audit_action_words},
    {.arg = PROTO_ARG_origin, .values = cmd_audit_origin_words},
    {.arg = PROTO_ARG_limit},
    {.arg = -1,
     .flag = CMD_F_FOLLOW,
     .cli = "--follow",
     .help = "then wait for new events and print each as it comes, until interrupted; "
             "reconnects if the daemon restarts"},
    {.arg = -1,
     .flag = CMD_F_FORMAT,
     .cli = "--format FORMAT",
     .help = "netbox-csv (default): the CSV NetBox's IP address import takes; netbox-json: a "
             "JSON array of objects for NetBox's REST API (POST /api/ipam/ip-addresses/); csv "
             "or json: every column",
     .values = cmd_export_format_words},
    {.arg = -1,
     .flag = CMD_F_ALLOW_UNKNOWN,
     .cli = "--allow-unknown",
     .help = "write the rows known even when no poll covered the time, with a warning and exit "
             "status 0; without it such an export writes nothing and exits 5"},
    {.arg = -1,
     .flag = CMD_F_FROM,
     .cli = "--from TIME",
     .help = "the start of the range: changes recorded after TIME"},
    {.arg = -1,
     .flag = CMD_F_TO,
     .cli = "--to TIME",
     .help = "the end of the range: changes recorded at or before TIME (default: now)"},
    {.arg = -1,
     .flag = CMD_F_TAG,
     .cli = "--tag TAG",
     .help = "only devices with TAG (tag:prod or prod)"},
    {.arg = -1,
     .flag = CMD_F_USER,
     .cli = "--user LOGIN",
     .help = "only the devices LOGIN owns (changes: and the user LOGIN)"},
    {.arg = -1,
     .flag = CMD_F_OS,
     .cli = "--os OS",
     .help = "only devices running OS (linux, windows, ...)"},
    {.arg = -1,
     .flag = CMD_F_STALE,
     .cli = "--stale DUR",
     .help = "only devices not seen for DUR or longer (offline since; now only, not with --at)"},
    {.arg = -1,
     .flag = CMD_F_LISTFMT,
     .cli = "--format FORMAT",
     .help = "table (default), csv (RFC 4180, with a header line), tsv, or json (as --json)",
     .values = cmd_list_format_words},
    {.arg = -1,
     .flag = CMD_F_COLUMNS,
     .cli = "--columns LIST",
     .help = "only these columns of the table, in this order: header names separated by commas "
             "(NAME,ADDRESSES)"},
    {.arg = PROTO_ARG_window},
    {.arg = PROTO_ARG_netbox_ids},
    {.arg = PROTO_ARG_dry_run},
    {.arg = PROTO_ARG_severity, .values = cmd_check_severity_words},
    {.arg = PROTO_ARG_check},
    {.arg = -1,
     .flag = CMD_F_FAILON,
     .cli = "--fail-on SEVERITY",
     .help = "exit 1 when a finding is of SEVERITY or higher (default: never)",
     .values = cmd_check_severity_words},
    {.arg = -1, .flag = CMD_F_CHECKLIST, .cli = "--list", .help = "print the catalogue of checks"},
    {.arg = -1,
     .flag = CMD_F_REPORT,
     .cli = "--report",
     .help = "write a report for an auditor (--format html or md): a summary by severity, "
             "each finding with its remediation and its history"},
    {.arg = -1,
     .flag = CMD_F_OUTPUT,
     .cli = "--output FILE",
     .help = "with --report, write it to FILE (also -o FILE) instead of the standard output"},
};
const size_t cmd_noptions = sizeof cmd_options / sizeof cmd_options[0];

void
cmd_list_format_words(struct sbuf *sb)
{
	sbuf_adds(sb, "table csv tsv json");
}

const struct cmd_entry *
cmd_find(const char *name)
{
	const struct cmd_entry *const *cmd;

	for (cmd = cmd_table; *cmd != NULL; cmd++)
		if (strcmp((*cmd)->name, name) == 0)
			return *cmd;
	return NULL;
}

/* The sub-command of PARENT called NAME ("groups" of "acl"), or NULL. */
const struct cmd_entry *
cmd_find_sub(const struct cmd_entry *parent, const char *name)
{
	const struct cmd_entry *const *sub;

	for (sub = parent->subs; *sub != NULL; sub++)
		if (strcmp(strrchr((*sub)->name, ' ') + 1, name) == 0)
			return *sub;
	return NULL;
}

/* "groups, rules, log, show, diff" (malloc'd). */
char *
cmd_sub_names(const struct cmd_entry *parent)
{
	const struct cmd_entry *const *sub;
	struct sbuf sb = {0};

	for (sub = parent->subs; *sub != NULL; sub++)
		sbuf_addf(&sb, "%s%s", sub == parent->subs ? "" : ", ",
		          strrchr((*sub)->name, ' ') + 1);
	return sbuf_steal(&sb);
}

const char *
cmd_help_text(const struct cmd_entry *cmd)
{
	return cmd->help != NULL ? cmd->help : proto_ops[cmd->op].help;
}

/* The PROTO_A() bits of the arguments CMD offers: its op's spec less what it hides. */
unsigned
cmd_spec(const struct cmd_entry *cmd)
{
	return cmd->op >= 0 ? proto_ops[cmd->op].args & ~cmd->hide : 0;
}

/* The name of CMD's positional argument ("ADDR"), or NULL when it takes none. */
const char *
cmd_arg_name(const struct cmd_entry *cmd)
{
	unsigned spec = cmd_spec(cmd);
	int i;

	if (cmd->arg != NULL)
		return cmd->arg;
	for (i = 0; i < PROTO_ARG__COUNT; i++)
		if ((spec & 1u << i) && proto_args[i].cli[0] != '-')
			return proto_args[i].cli;
	return NULL;
}

const char *
cmd_option_cli(const struct cmd_option *o)
{
	return o->arg >= 0 ? proto_args[o->arg].cli : o->cli;
}

/* Whether CMD takes option O. */
int
cmd_takes(const struct cmd_entry *cmd, const struct cmd_option *o)
{
	if (o->arg < 0)
		return (cmd->flags & o->flag) != 0;
	return (cmd_spec(cmd) & 1u << o->arg) && cmd_option_cli(o)[0] == '-';
}

/* O's long name ("dry-run") into BUF; its length. */
size_t
cmd_option_name(const struct cmd_option *o, char *buf, size_t len)
{
	const char *cli = cmd_option_cli(o) + 2;

	snprintf(buf, len, "%.*s", (int)strcspn(cli, " "), cli);
	return strlen(buf);
}

/* CMD's own text for spec argument ARG, or NULL. */
static const struct cmd_argtext *
cmd_argtext(const struct cmd_entry *cmd, int arg)
{
	const struct cmd_argtext *t;

	for (t = cmd->argtext; arg >= 0 && t != NULL && t->arg >= 0; t++)
		if (t->arg == arg)
			return t;
	return NULL;
}

/* O's form in CMD's usage and help: "--since TIME". */
const char *
cmd_option_form(const struct cmd_entry *cmd, const struct cmd_option *o)
{
	const struct cmd_argtext *t = cmd_argtext(cmd, o->arg);

	return t != NULL ? t->cli : cmd_option_cli(o);
}

const char *
cmd_option_help(const struct cmd_entry *cmd, const struct cmd_option *o)
{
	const struct cmd_argtext *t = cmd_argtext(cmd, o->arg);

	if (t != NULL)
		return t->help;
	if (o->arg == PROTO_ARG_history && cmd->history != NULL)
		return cmd->history;
	if (o->arg == -1 && o->flag == CMD_F_FORMAT && cmd->format != NULL)
		return cmd->format;
	return o->arg >= 0 ? proto_args[o->arg].help : o->help;
}

/* "ip ADDR [--at TIME] [--history]", built from the table entry (malloc'd). */
char *
cmd_usage(const struct cmd_entry *cmd)
{
	const char *arg = cmd_arg_name(cmd);
	struct sbuf sb = {0};
	size_t i;

	sbuf_adds(&sb, cmd->name);
	if (arg != NULL)
		sbuf_addf(&sb, (cmd->flags & CMD_F_OPTARG) ? " [%s]" : " %s", arg);
	for (i = 0; i < cmd_noptions; i++)
		if (cmd_takes(cmd, &cmd_options[i]))
			sbuf_addf(&sb, " [%s]%s", cmd_option_form(cmd, &cmd_options[i]),
			          cmd_options[i].many ? "..." : "");
	return sbuf_steal(&sb);
}

/* "  usage\n      help\n" of CMD, or of each of its sub-commands. */
void
cmd_print_list(const struct cmd_entry *cmd, FILE *f)
{
	const struct cmd_entry *const *sub;
	char *usage;

	if (cmd->subs != NULL) {
		for (sub = cmd->subs; *sub != NULL; sub++)
			cmd_print_list(*sub, f);
		return;
	}
	usage = cmd_usage(cmd);
	fprintf(f, "  %s\n      %s\n", usage, cmd_help_text(cmd));
	free(usage);
}

/* "  FORM  HELP", the help wrapped at CMD_HELP_WIDTH under column CMD_HELP_COL. */
static void
cmd_print_option(const char *form, const char *help, FILE *f)
{
	int col = fprintf(f, "  %s", form), w;

	if (col >= CMD_HELP_COL - 1) {
		fputc('\n', f);
		col = 0;
	}
	fprintf(f, "%*s", CMD_HELP_COL - col, "");
	col = CMD_HELP_COL;
	while (*help != '\0') {
		w = (int)strcspn(help, " ");
		if (col > CMD_HELP_COL && col + 1 + w > CMD_HELP_WIDTH) {
			fprintf(f, "\n%*s", CMD_HELP_COL, "");
			col = CMD_HELP_COL;
		} else if (col > CMD_HELP_COL) {
			fputc(' ', f);
			col++;
		}
		fprintf(f, "%.*s", w, help);
		col += w;
		help += w;
		while (*help == ' ')
			help++;
	}
	fputc('\n', f);
}

/* Whether CMD, or one of its sub-commands, takes a policy revision. */
static int
cmd_takes_rev(const struct cmd_entry *cmd)
{
	const struct cmd_entry *const *sub;
	const char *arg = cmd_arg_name(cmd);

	if (arg != NULL && strstr(arg, "REV") != NULL)
		return 1;
	for (sub = cmd->subs; sub != NULL && *sub != NULL; sub++)
		if (cmd_takes_rev(*sub))
			return 1;
	return 0;
}

void
cmd_print_help(const struct cmd_entry *cmd, FILE *f)
{
	char *usage = cmd_usage(cmd);
	size_t i;

	fprintf(f, "usage: tsinvctl [OPTIONS] %s\n\n%s\n\n", usage, cmd_help_text(cmd));
	free(usage);
	if (cmd->subs != NULL) {
		fputs("sub-commands:\n", f);
		cmd_print_list(cmd, f);
		fprintf(f, "\n'tsinvctl %s SUBCOMMAND --help' for a sub-command's options.\n\n",
		        cmd->name);
	}
	if (cmd_takes_rev(cmd))
		fprintf(f,
		        "REV is a policy revision: its number (1 is the first recorded) or a "
		        "prefix of\nat least %d hex digits of its SHA-256, as 'tsinvctl acl log' "
		        "lists them.\n\n",
		        PROTO_REV_HEX_MIN);
	for (i = 0; i < cmd_noptions; i++)
		if (cmd_takes(cmd, &cmd_options[i]))
			cmd_print_option(cmd_option_form(cmd, &cmd_options[i]),
			                 cmd_option_help(cmd, &cmd_options[i]), f);
	cmd_print_option("-h, --help", "this help", f);
	fputs("\nGlobal options go before or after the command; see 'tsinvctl --help'.\n", f);
	if (cmd_spec(cmd) & PROTO_A(type))
		cmd_events_print_types(f);
}
