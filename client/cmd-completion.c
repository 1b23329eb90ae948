/* cmd-completion.c: completion: a bash or zsh completion script made from the command table, so
 * that what the shell offers is what the parser accepts. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

/* Appends the words that may follow CMD: its options, and the values of a positional argument
 * that is spelt out in lower case ("sync", "bash|zsh"). */
static void
cmd_completion_words(const struct cmd_entry *cmd, struct sbuf *sb)
{
	const char *arg = cmd_arg_name(cmd), *p;
	char name[CMD_OPTION_NAME_MAX];
	size_t i;

	if (arg != NULL && islower((unsigned char)*arg)) {
		for (p = arg; *p != '\0' && *p != ' '; p++)
			sbuf_addc(sb, *p == '|' ? ' ' : *p);
		sbuf_addc(sb, ' ');
	}
	for (i = 0; i < cmd_noptions; i++) {
		if (!cmd_takes(cmd, &cmd_options[i]))
			continue;
		cmd_option_name(&cmd_options[i], name, sizeof name);
		sbuf_addf(sb, "--%s ", name);
	}
	tsinvctl_global_words(sb, " ", 0);
}

/* One case of the script: the words after the command CMD (and its arguments so far). */
static void
cmd_completion_case(const struct cmd_entry *cmd, struct sbuf *sb)
{
	const struct cmd_entry *const *sub;

	if (cmd->subs != NULL) {
		for (sub = cmd->subs; *sub != NULL; sub++)
			cmd_completion_case(*sub, sb);
		sbuf_addf(sb, "\t\"%s\") words=\"", cmd->name);
		for (sub = cmd->subs; *sub != NULL; sub++)
			sbuf_addf(sb, "%s ", strrchr((*sub)->name, ' ') + 1);
		tsinvctl_global_words(sb, " ", 0);
		sbuf_adds(sb, "\" ;;\n");
		return;
	}
	sbuf_addf(sb, "\t\"%s\" | \"%s \"*) words=\"", cmd->name, cmd->name);
	if (cmd == &cmd_help_entry) {
		const struct cmd_entry *const *c;

		for (c = cmd_table; *c != NULL; c++)
			sbuf_addf(sb, "%s ", (*c)->name);
	}
	cmd_completion_words(cmd, sb);
	sbuf_adds(sb, "\" ;;\n");
}

/* The value completions of the options that take one: words for some, nothing for the rest. */
static void
cmd_completion_values(struct sbuf *sb)
{
	char name[CMD_OPTION_NAME_MAX];
	size_t i;

	sbuf_adds(sb, "\tcase $prev in\n"
	              "\t-s | --socket)\n"
	              "\t\tCOMPREPLY=($(compgen -f -- \"$cur\"))\n"
	              "\t\treturn\n"
	              "\t\t;;\n");
	for (i = 0; i < cmd_noptions; i++) {
		if (cmd_options[i].values == NULL)
			continue;
		cmd_option_name(&cmd_options[i], name, sizeof name);
		sbuf_addf(sb, "\t--%s)\n\t\tCOMPREPLY=($(compgen -W \"", name);
		cmd_options[i].values(sb);
		sbuf_adds(sb, "\" -- \"$cur\"))\n\t\treturn\n\t\t;;\n");
	}
	/* The other values are free text (-s and --socket matched above already). */
	sbuf_adds(sb, "\t");
	tsinvctl_global_words(sb, " | ", 1);
	for (i = 0; i < cmd_noptions; i++) {
		if (cmd_options[i].values != NULL || !strchr(cmd_option_cli(&cmd_options[i]), ' '))
			continue;
		cmd_option_name(&cmd_options[i], name, sizeof name);
		sbuf_addf(sb, " | --%s", name);
	}
	sbuf_adds(sb, ")\n\t\tCOMPREPLY=()\n\t\treturn\n\t\t;;\n\tesac\n");
}

/* The bash script (malloc'd). */
static char *
cmd_completion_bash(void)
{
	const struct cmd_entry *const *c;
	char name[CMD_OPTION_NAME_MAX];
	struct sbuf sb;
	size_t i;

	sbuf_init(&sb);
	sbuf_adds(&sb, "# tsinvctl completion, made by 'tsinvctl completion' from its command "
	               "table.\n"
	               "_tsinvctl() {\n"
	               "\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}\n"
	               "\tlocal i w cmd= words\n"
	               "\t# The command and its arguments so far, less the options and their "
	               "values.\n"
	               "\tfor ((i = 1; i < COMP_CWORD; i++)); do\n"
	               "\t\tw=${COMP_WORDS[i]}\n"
	               "\t\tcase $w in\n");
	sbuf_adds(&sb, "\t\t");
	tsinvctl_global_words(&sb, " | ", 1);
	for (i = 0; i < cmd_noptions; i++) {
		if (!strchr(cmd_option_cli(&cmd_options[i]), ' '))
			continue;
		cmd_option_name(&cmd_options[i], name, sizeof name);
		sbuf_addf(&sb, " | --%s", name);
	}
	sbuf_adds(&sb, ") ((i++)) ;;\n"
	               "\t\t-*) ;;\n"
	               "\t\t*) cmd=\"${cmd:+$cmd }$w\" ;;\n"
	               "\t\tesac\n"
	               "\tdone\n");
	cmd_completion_values(&sb);
	sbuf_adds(&sb, "\tcase $cmd in\n\t\"\") words=\"");
	for (c = cmd_table; *c != NULL; c++)
		sbuf_addf(&sb, "%s ", (*c)->name);
	tsinvctl_global_words(&sb, " ", 0);
	sbuf_adds(&sb, " --version\" ;;\n");
	for (c = cmd_table; *c != NULL; c++)
		cmd_completion_case(*c, &sb);
	sbuf_adds(&sb, "\t*) words=\"\" ;;\n"
	               "\tesac\n"
	               "\tCOMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
	               "}\n"
	               "complete -F _tsinvctl tsinvctl\n");
	return sbuf_steal(&sb);
}

static int
cmd_completion_exec(const struct cmd_entry *cmd, const struct cmd_args *a)
{
	char *script;

	if (strcmp(a->arg, "bash") != 0 && strcmp(a->arg, "zsh") != 0)
		return tsinvctl_usage_error(cmd, "completion: unknown shell '%s' (bash or zsh)",
		                            a->arg);
	script = cmd_completion_bash();
	/* zsh runs the bash function through its bashcompinit emulation. */
	if (strcmp(a->arg, "zsh") == 0)
		fputs("autoload -U +X bashcompinit && bashcompinit\n", stdout);
	fputs(script, stdout);
	free(script);
	return 0;
}

const struct cmd_entry cmd_completion_entry = {
    .name = "completion",
    .op = -1,
    .arg = "bash|zsh",
    .help = "a completion script for bash or zsh, made from this command table",
    .exec = cmd_completion_exec,
};
