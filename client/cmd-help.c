/* cmd-help.c: help: the summary of every command, or one command's usage and options. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

static int
cmd_help_exec(const struct cmd_entry *cmd, const struct cmd_args *a)
{
	const struct cmd_entry *other;

	if (a->arg == NULL) {
		tsinvctl_print_help(stdout);
		return 0;
	}
	if ((other = cmd_find(a->arg)) == NULL)
		return tsinvctl_usage_error(NULL, "unknown command '%s'", a->arg);
	/* "help netbox sync": a command whose argument is a fixed word is asked about as typed. */
	if (a->arg2 != NULL && other->subs == NULL && other->arg != NULL &&
	    strcmp(other->arg, a->arg2) == 0)
		a = NULL;
	else if (a->arg2 != NULL && other->subs == NULL)
		return tsinvctl_usage_error(cmd, "help: '%s' has no sub-commands", a->arg);
	if (a == NULL) {
		cmd_print_help(other, stdout);
		return 0;
	}
	if (a->arg2 != NULL && (other = cmd_find_sub(other, a->arg2)) == NULL)
		return tsinvctl_usage_error(cmd, "help: unknown sub-command '%s %s'", a->arg,
		                            a->arg2);
	cmd_print_help(other, stdout);
	return 0;
}

const struct cmd_entry cmd_help_entry = {
    .name = "help",
    .op = -1,
    .arg = "COMMAND [SUBCOMMAND]",
    .flags = CMD_F_OPTARG | CMD_F_ARG2,
    .help = "this help, or a command's",
    .exec = cmd_help_exec,
};
