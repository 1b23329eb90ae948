/* main.c: tsinvctl's main: global options, the command line parsed against the command table,
 * dispatch. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checks.h"
#include "client.h"

#define TSINVCTL_LIMIT_MAX PROTO_LIMIT_MAX

/* The global options' getopt values (long-only ones outside the character range); a command's
 * own are CMD_OPT_BASE and up. */
enum {
	TSINVCTL_OPT_JSON = 256,
	TSINVCTL_OPT_TAILNET,
	TSINVCTL_OPT_TIMEOUT,
	TSINVCTL_OPT_VERSION,
};

struct client_opts client_opts;

/* getopt's messages carry argv[0]; they should say "tsinvctl" however it was started. */
static char tsinvctl_progname[] = "tsinvctl";

void
tsinvctl_print_help(FILE *f)
{
	const struct cmd_entry *const *cmd;

	fputs("usage: tsinvctl [OPTIONS] COMMAND [ARGS]\n"
	      "\n"
	      "Asks tsinvd, the Tailscale inventory daemon, who held an address, what a device\n"
	      "looked like, which keys existed and who made them, who used the tailnet, what the\n"
	      "policy file said: now or at any time in the past.\n"
	      "\n"
	      "options (before or after the command):\n"
	      "  -s, --socket PATH    the daemon's socket (default $TSINV_SOCKET, else\n"
	      "                       " TSINVCTL_SOCKET ")\n"
	      "      --json           print the daemon's result as JSON instead of a table\n"
	      "      --tailnet NAME   the tailnet to ask about, when the daemon serves several\n"
	      "      --timeout DUR    how long to wait for the daemon (default 30s; 5m for poll)\n"
	      "  -h, --help           this help; 'tsinvctl COMMAND --help' for a command's\n"
	      "      --version        print this client's version, and the daemon's if it answers\n"
	      "\n"
	      "commands:\n",
	      f);
	for (cmd = cmd_table; *cmd != NULL; cmd++)
		cmd_print_list(*cmd, f);
	fputs("\n"
	      "TIME is RFC 3339 (2026-11-20T14:05:00Z), a date (2026-11-20, midnight UTC), a date\n"
	      "and time (2026-11-20 14:05[:00], UTC unless +01:00 follows), @SECONDS since 1970,\n"
	      "now, today, yesterday, or a time ago: 90m, -3d, 1h30m. Never later than now.\n"
	      "DUR is a duration: 90s, 5m, 1h30m, 7d; a bare number is seconds.\n"
	      "REV is a policy revision: its number (1 is the first recorded) or a prefix of at\n"
	      "least 6 hex digits of its SHA-256, as 'tsinvctl acl log' lists them.\n"
	      "\n"
	      "exit status: 0 ok; 1 the daemon answered an error, or a poll failed; 2 usage\n"
	      "error; 3 the daemon cannot be reached; 4 not found (unknown device, address or\n"
	      "policy revision); 5 unknown: no poll covered the time asked, so a listing cannot\n"
	      "say what there was; 6 ambiguous: a name or address that may mean several devices\n"
	      "(the candidates are listed). 'ip' exits 0 whatever the answer: held, maybe, none\n"
	      "and unknown are all answers; 'acl diff' exits 0 whether or not the revisions\n"
	      "differ.\n",
	      f);
}

/* Prints "tsinvctl: ..." (when FMT is not NULL) and the hint; returns the usage exit code. */
int
tsinvctl_usage_error(const struct cmd_entry *cmd, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;

	if (fmt != NULL) {
		va_start(ap, fmt);
		msg = xvasprintf(fmt, ap);
		va_end(ap);
		fprintf(stderr, "tsinvctl: %s\n", msg);
	}
	if (cmd != NULL)
		fprintf(stderr, "try 'tsinvctl %s --help'\n", cmd->name);
	else
		fputs("try 'tsinvctl --help'\n", stderr);
	conn_json_error(TSINVCTL_EXIT_USAGE, "usage", msg != NULL ? msg : "bad usage");
	free(msg);
	return TSINVCTL_EXIT_USAGE;
}

/* Checks the DURATION of option NAME (POSITIVE: more than 0); 0, or the usage exit code after
 * saying what is wrong. */
static int
tsinvctl_duration_opt(const struct cmd_entry *cmd, const char *name, const char *arg, int positive)
{
	char *cause = NULL;
	int64_t us;

	if (tstime_parse_duration(arg, &us, &cause) != 0) {
		tsinvctl_usage_error(cmd, "%s: bad DURATION \"%s\": %s", name, arg, cause);
		free(cause);
		return TSINVCTL_EXIT_USAGE;
	}
	if (positive && us <= 0)
		return tsinvctl_usage_error(cmd, "%s: bad DURATION \"%s\": must be more than 0",
		                            name, arg);
	return 0;
}

/* Handles one global option; 0, or an exit code. */
static int
tsinvctl_global_opt(const struct cmd_entry *cmd, int c, const char *arg)
{
	char *cause;

	switch (c) {
	case 's':
		client_opts.socket = arg;
		break;
	case TSINVCTL_OPT_JSON:
		client_opts.json = 1;
		break;
	case TSINVCTL_OPT_TAILNET:
		client_opts.tailnet = arg;
		break;
	case TSINVCTL_OPT_TIMEOUT:
		if (tstime_parse_duration(arg, &client_opts.timeout, &cause) != 0) {
			tsinvctl_usage_error(cmd, "bad DURATION \"%s\": %s", arg, cause);
			free(cause);
			return TSINVCTL_EXIT_USAGE;
		}
		if (client_opts.timeout <= 0)
			return tsinvctl_usage_error(cmd, "bad DURATION \"%s\": must be more than 0",
			                            arg);
		if (client_opts.timeout > TSINVCTL_MAX_TIMEOUT)
			client_opts.timeout =
			    TSINVCTL_MAX_TIMEOUT; /* keeps the deadline arithmetic sane */
		break;
	default:
		return tsinvctl_usage_error(cmd, NULL);
	}
	return 0;
}

/* The global options, which every command accepts too. */
static const struct option tsinvctl_global_longopts[] = {
    {"socket", required_argument, NULL, 's'},
    {"json", no_argument, NULL, TSINVCTL_OPT_JSON},
    {"tailnet", required_argument, NULL, TSINVCTL_OPT_TAILNET},
    {"timeout", required_argument, NULL, TSINVCTL_OPT_TIMEOUT},
    {"help", no_argument, NULL, 'h'},
};
#define TSINVCTL_NGLOBAL (sizeof tsinvctl_global_longopts / sizeof tsinvctl_global_longopts[0])

/* The global options' long names into SB, separated by SEP: all, or only those that take a value
 * (with their short form); for the completion script. */
void
tsinvctl_global_words(struct sbuf *sb, const char *sep, int valued)
{
	size_t i, n = 0;

	for (i = 0; i < TSINVCTL_NGLOBAL; i++) {
		const struct option *o = &tsinvctl_global_longopts[i];

		if (valued && o->has_arg == no_argument)
			continue;
		if (valued && o->val < 256)
			sbuf_addf(sb, "%s-%c", n++ > 0 ? sep : "", o->val);
		sbuf_addf(sb, "%s--%s", n++ > 0 ? sep : "", o->name);
	}
}

/* The global options plus EXTRA, NULL-terminated, into OUT (TSINVCTL_NGLOBAL + NEXTRA + 1
 * entries). */
static void
tsinvctl_longopts(struct option *out, const struct option *extra, size_t nextra)
{
	memcpy(out, tsinvctl_global_longopts, sizeof tsinvctl_global_longopts);
	if (nextra > 0)
		memcpy(out + TSINVCTL_NGLOBAL, extra, nextra * sizeof *extra);
	memset(out + TSINVCTL_NGLOBAL + nextra, 0, sizeof *out);
}

/* --since of "events" into A: a SEQ, or a TIME; 0 or an exit code. */
static int
tsinvctl_since_opt(const struct cmd_entry *cmd, const char *arg, struct cmd_args *a)
{
	char buf[TSTIME_STRLEN], *cause, *end;
	unsigned long long v;
	tstime_t t;

	json_decref(a->since);
	a->since = NULL;
	/* All digits: a sequence number ("0" is the start); anything else is a TIME. */
	if (*arg != '\0' && strspn(arg, "0123456789") == strlen(arg)) {
		errno = 0;
		v = strtoull(arg, &end, 10);
		if (errno != 0 || v > INT64_MAX)
			return tsinvctl_usage_error(cmd, "bad SEQ \"%s\"", arg);
		a->since = json_integer((json_int_t)v);
		return 0;
	}
	if (tstime_parse(arg, tstime_now(), &t, &cause) != 0) {
		tsinvctl_usage_error(cmd, "bad --since \"%s\": not a SEQ, and %s", arg, cause);
		free(cause);
		return TSINVCTL_EXIT_USAGE;
	}
	tstime_format(t, buf, sizeof buf);
	a->since = json_string(buf);
	return 0;
}

/* One of the command's own options, O, with its value ARG, into A; 0 or an exit code. */
static int
tsinvctl_cmd_opt(const struct cmd_entry *cmd, const struct cmd_option *o, const char *arg,
                 struct cmd_args *a)
{
	unsigned long long v;
	char *cause, *end, *joined;
	enum check_severity sev;
	tstime_t t;

	switch (o->arg) {
	case PROTO_ARG_at:
		if (tstime_parse(arg, tstime_now(), &t, &cause) != 0) {
			tsinvctl_usage_error(cmd, "bad TIME \"%s\": %s", arg, cause);
			free(cause);
			return TSINVCTL_EXIT_USAGE;
		}
		tstime_format(t, a->atbuf, sizeof a->atbuf);
		a->at = a->atbuf;
		break;
	case PROTO_ARG_history:
		a->history = 1;
		break;
	case PROTO_ARG_window:
		if (tsinvctl_duration_opt(cmd, "--window", arg, 0) != 0)
			return TSINVCTL_EXIT_USAGE;
		a->window = arg;
		break;
	case PROTO_ARG_dry_run:
		a->dry_run = 1;
		break;
	case PROTO_ARG_netbox_ids:
		a->netbox_ids = 1;
		break;
	case PROTO_ARG_all:
		a->all = 1;
		break;
	case PROTO_ARG_expiring:
		if (tsinvctl_duration_opt(cmd, "--expiring", arg, 1) != 0)
			return TSINVCTL_EXIT_USAGE;
		a->expiring = arg;
		break;
	case PROTO_ARG_since:
		return tsinvctl_since_opt(cmd, arg, a);
	case PROTO_ARG_until:
		if (tstime_parse(arg, tstime_now(), &t, &cause) != 0) {
			tsinvctl_usage_error(cmd, "bad --until \"%s\": %s", arg, cause);
			free(cause);
			return TSINVCTL_EXIT_USAGE;
		}
		tstime_format(t, a->untilbuf, sizeof a->untilbuf);
		a->until = a->untilbuf;
		break;
	case PROTO_ARG_type:
		/* The daemon takes the globs space-separated. */
		if (*arg == '\0' || strpbrk(arg, " \t\n") != NULL)
			return tsinvctl_usage_error(cmd, "bad GLOB \"%s\"", arg);
		joined = a->types != NULL ? xasprintf("%s %s", a->types, arg) : xstrdup(arg);
		free(a->types);
		a->types = joined;
		break;
	case PROTO_ARG_limit:
		errno = 0;
		v = strtoull(arg, &end, 10);
		if (*arg < '0' || *arg > '9' || *end != '\0' || errno != 0 || v < 1 ||
		    v > TSINVCTL_LIMIT_MAX)
			return tsinvctl_usage_error(cmd,
			                            "bad --limit \"%s\": a number from 1 to %d",
			                            arg, TSINVCTL_LIMIT_MAX);
		a->limit = (int)v;
		break;
	case PROTO_ARG_severity:
		if (check_severity_parse(arg, &sev) != 0)
			return tsinvctl_usage_error(
			    cmd, "bad --severity \"%s\": critical, high, medium, low or info", arg);
		a->severity = arg;
		break;
	case PROTO_ARG_check:
		a->check = arg;
		break;
	case PROTO_ARG_actor:
	case PROTO_ARG_target:
	case PROTO_ARG_action:
	case PROTO_ARG_origin:
		if (*arg == '\0')
			return tsinvctl_usage_error(cmd, "%s: an empty value matches nothing",
			                            cmd_option_cli(o));
		*(o->arg == PROTO_ARG_actor    ? &a->actor
		  : o->arg == PROTO_ARG_target ? &a->target
		  : o->arg == PROTO_ARG_action ? &a->action
		                               : &a->origin) = arg;
		break;
	case -1:
		if (o->flag == CMD_F_FOLLOW)
			a->follow = 1;
		else if (o->flag == CMD_F_FORMAT)
			a->format = arg;
		else if (o->flag == CMD_F_ALLOW_UNKNOWN)
			a->allow_unknown = 1;
		else if (o->flag == CMD_F_FROM || o->flag == CMD_F_TO) {
			char *buf = o->flag == CMD_F_FROM ? a->frombuf : a->tobuf;

			if (tstime_parse(arg, tstime_now(), &t, &cause) != 0) {
				tsinvctl_usage_error(cmd, "bad %s \"%s\": %s",
				                     o->flag == CMD_F_FROM ? "--from" : "--to", arg,
				                     cause);
				free(cause);
				return TSINVCTL_EXIT_USAGE;
			}
			tstime_format(t, buf, TSTIME_STRLEN);
			*(o->flag == CMD_F_FROM ? &a->from : &a->to) = buf;
		} else if (o->flag == CMD_F_LISTFMT) {
			if (strcmp(arg, "table") == 0)
				table_format = TABLE_TEXT;
			else if (strcmp(arg, "csv") == 0)
				table_format = TABLE_CSV;
			else if (strcmp(arg, "tsv") == 0)
				table_format = TABLE_TSV;
			else if (strcmp(arg, "json") == 0)
				client_opts.json = 1;
			else
				return tsinvctl_usage_error(
				    cmd, "bad --format \"%s\": table, csv, tsv or json", arg);
		} else if (o->flag == CMD_F_COLUMNS) {
			if (*arg == '\0' || strspn(arg, ",") == strlen(arg))
				return tsinvctl_usage_error(cmd,
				                            "bad --columns \"%s\": column names "
				                            "separated by commas",
				                            arg);
			table_columns = arg;
		} else if (o->flag == CMD_F_STALE) {
			if (tsinvctl_duration_opt(cmd, "--stale", arg, 1) != 0)
				return TSINVCTL_EXIT_USAGE;
			if (tstime_parse_duration(arg, &a->stale, &cause) != 0)
				free(cause);
		} else if (o->flag == CMD_F_TAG)
			a->tag = arg;
		else if (o->flag == CMD_F_USER)
			a->user = arg;
		else if (o->flag == CMD_F_OS)
			a->os = arg;
		else if (o->flag == CMD_F_CHECKLIST)
			a->list = 1;
		else if (o->flag == CMD_F_REPORT)
			a->report = 1;
		else if (o->flag == CMD_F_OUTPUT)
			a->output = arg;
		else if (o->flag == CMD_F_FAILON) {
			if (check_severity_parse(arg, &sev) != 0)
				return tsinvctl_usage_error(cmd,
				                            "bad --fail-on \"%s\": critical, high, "
				                            "medium, low or info",
				                            arg);
			a->fail_on = (int)sev;
		}
		break;
	}
	return 0;
}

static int tsinvctl_positional(const struct cmd_entry *, int, char **, struct cmd_args *);

/* Parses a command's own arguments (ARGV[0] is the command); 0, -1 after printing its help, or
 * an exit code. */
static int
tsinvctl_parse_cmd(const struct cmd_entry *cmd, int argc, char **argv, struct cmd_args *a)
{
	struct option *longopts, *extra;
	char *names, *p;
	size_t i, n = 0;
	int c, rc;

	/* The global options, and those the command takes of cmd_options. */
	extra = xcalloc(cmd_noptions, sizeof *extra);
	names = xcalloc(cmd_noptions, CMD_OPTION_NAME_MAX);
	for (i = 0; i < cmd_noptions; i++) {
		if (!cmd_takes(cmd, &cmd_options[i]))
			continue;
		p = names + n * CMD_OPTION_NAME_MAX;
		cmd_option_name(&cmd_options[i], p, CMD_OPTION_NAME_MAX);
		extra[n++] = (struct option){p,
		                             strchr(cmd_option_cli(&cmd_options[i]), ' ') != NULL
		                                 ? required_argument
		                                 : no_argument,
		                             NULL, CMD_OPT_BASE + (int)i};
	}
	longopts = xcalloc(TSINVCTL_NGLOBAL + n + 1, sizeof *longopts);
	tsinvctl_longopts(longopts, extra, n);
	free(extra);

	memset(a, 0, sizeof *a);
	a->fail_on = -1;
	argv[0] = tsinvctl_progname;
	optind = 0; /* GNU getopt: start over, with permutation, on a new vector */
	rc = 0;
	while (rc == 0 &&
	       (c = getopt_long(argc, argv, (cmd->flags & CMD_F_OUTPUT) ? "s:ho:" : "s:h", longopts,
	                        NULL)) != -1) {
		if (c == 'o')
			a->output = optarg;
		else if (c == 'h') {
			cmd_print_help(cmd, stdout);
			rc = -1;
		} else if (c >= CMD_OPT_BASE && c < CMD_OPT_BASE + (int)cmd_noptions)
			rc = tsinvctl_cmd_opt(cmd, &cmd_options[c - CMD_OPT_BASE], optarg, a);
		else
			rc = tsinvctl_global_opt(cmd, c, optarg);
	}
	free(longopts);
	free(names);
	if (rc != 0)
		return rc;
	return tsinvctl_positional(cmd, argc, argv, a);
}

/* The positional arguments after getopt has moved them to the end; 0 or an exit code. */
static int
tsinvctl_positional(const struct cmd_entry *cmd, int argc, char **argv, struct cmd_args *a)
{
	const char *arg = cmd_arg_name(cmd);

	if (optind < argc && arg != NULL)
		a->arg = argv[optind++];
	if (optind < argc && (cmd->flags & CMD_F_ARG2))
		a->arg2 = argv[optind++];
	if (optind < argc)
		return tsinvctl_usage_error(cmd, "%s: unexpected argument '%s'", cmd->name,
		                            argv[optind]);
	if (a->arg == NULL && arg != NULL && !(cmd->flags & CMD_F_OPTARG))
		return tsinvctl_usage_error(cmd, "%s: missing %s", cmd->name, arg);
	if (a->arg2 == NULL && (cmd->flags & CMD_F_ARG2) && !(cmd->flags & CMD_F_OPTARG))
		return tsinvctl_usage_error(cmd, "%s: missing %s", cmd->name,
		                            strrchr(arg, ' ') + 1);
	if (a->follow && a->limit > 0)
		return tsinvctl_usage_error(cmd, "%s: --limit and --follow do not go together",
		                            cmd->name);
	if (a->follow && a->until != NULL)
		return tsinvctl_usage_error(cmd, "%s: --until and --follow do not go together",
		                            cmd->name);
	return 0;
}

/* For a command with sub-commands ("acl"): takes the global options that come before the
 * sub-command, then *CMD becomes the sub-command and *SKIP the number of words before it.
 * Returns 0, -1 after printing the command's help, or an exit code. */
static int
tsinvctl_parse_sub(const struct cmd_entry **cmd, int argc, char **argv, int *skip)
{
	const struct cmd_entry *parent = *cmd, *sub = NULL;
	struct option longopts[TSINVCTL_NGLOBAL + 1];
	char *names;
	int c, rc = 0;

	tsinvctl_longopts(longopts, NULL, 0);
	argv[0] = tsinvctl_progname;
	optind = 0;
	/* "+": stop at the sub-command, whose own options come after it. */
	while ((c = getopt_long(argc, argv, "+s:h", longopts, NULL)) != -1) {
		if (c == 'h') {
			cmd_print_help(parent, stdout);
			return -1;
		}
		if ((rc = tsinvctl_global_opt(parent, c, optarg)) != 0)
			return rc;
	}
	names = cmd_sub_names(parent);
	if (optind == argc)
		rc = tsinvctl_usage_error(parent, "%s: missing SUBCOMMAND (%s)", parent->name,
		                          names);
	else if ((sub = cmd_find_sub(parent, argv[optind])) == NULL)
		rc = tsinvctl_usage_error(parent, "%s: unknown sub-command '%s' (%s)", parent->name,
		                          argv[optind], names);
	else {
		*cmd = sub;
		*skip = optind;
	}
	free(names);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option version = {"version", no_argument, NULL, TSINVCTL_OPT_VERSION};
	struct option longopts[TSINVCTL_NGLOBAL + 2];
	const struct cmd_entry *cmd;
	struct cmd_args a;
	const char *env;
	int c, rc, first, skip = 0, version_asked = 0;

	log_init("tsinvctl", 0);
	memset(&a, 0, sizeof a);
	tsinvctl_longopts(longopts, &version, 1);
	env = getenv("TSINV_SOCKET");
	client_opts.socket = env != NULL && *env != '\0' ? env : TSINVCTL_SOCKET;

	argv[0] = tsinvctl_progname;
	/* --json may come anywhere, also after a mistake it should report as JSON. */
	for (c = 1; c < argc && strcmp(argv[c], "--") != 0; c++)
		if (strcmp(argv[c], "--json") == 0)
			client_opts.json = 1;
	/* "+": stop at the command; its own options are parsed by the command. */
	while ((c = getopt_long(argc, argv, "+s:h", longopts, NULL)) != -1) {
		if (c == 'h') {
			tsinvctl_print_help(stdout);
			return 0;
		}
		if (c == TSINVCTL_OPT_VERSION) {
			version_asked = 1;
			continue;
		}
		if ((rc = tsinvctl_global_opt(NULL, c, optarg)) != 0)
			return rc;
	}
	/* After the loop: -s and --timeout may come after --version. */
	if (version_asked)
		return cmd_daemon_version();
	if (optind == argc)
		return tsinvctl_usage_error(NULL, "no command");
	if ((cmd = cmd_find(argv[optind])) == NULL)
		return tsinvctl_usage_error(NULL, "unknown command '%s'", argv[optind]);
	rc = 0;
	/* getopt's optind is reused below: the command's position is kept apart. */
	first = optind;
	if (cmd->subs != NULL &&
	    (rc = tsinvctl_parse_sub(&cmd, argc - first, argv + first, &skip)) == 0)
		first += skip;
	if (rc == 0)
		rc = tsinvctl_parse_cmd(cmd, argc - first, argv + first, &a);
	if (rc == 0)
		rc = cmd->exec(cmd, &a);
	else if (rc == -1)
		rc = 0; /* the command's --help */
	/* --columns named a column the table did not have: said, nothing printed. */
	if (table_columns_bad && rc == 0)
		rc = TSINVCTL_EXIT_USAGE;
	json_decref(a.since);
	free(a.types);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "tsinvctl: stdout: %s\n", strerror(errno));
		rc = TSINVCTL_EXIT_ERROR;
	}
	return rc;
}
