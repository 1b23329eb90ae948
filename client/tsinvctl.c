/* tsinvctl.c: the command-line client: one request to tsinvd per run, a table or JSON out. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>

#include "addr.h"
#include "entity.h"
#include "events.h"
#include "hujson.h"
#include "ipam.h"
#include "log.h"
#include "policy.h"
#include "proto.h"
#include "sbuf.h"
#include "table.h"
#include "tstime.h"
#include "udiff.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

#define TSINVCTL_SOCKET "/run/tsinv/tsinvd.sock"
#define TSINVCTL_TIMEOUT (30 * TSTIME_SEC)
#define TSINVCTL_SLOW_TIMEOUT (300 * TSTIME_SEC) /* a poll waits for every endpoint's API call */
#define TSINVCTL_MAX_REPLY ((size_t)1 << 30)     /* 100k devices make 60 to 100 MB */
#define TSINVCTL_MAX_TIMEOUT (366 * 86400 * TSTIME_SEC)
#define TSINVCTL_REQ_ID 1
#define TSINVCTL_TIMELEN 64
#define TSINVCTL_NEXTRA 6 /* most options a command adds to the global ones */
#define TSINVCTL_FOLLOW_MAX_LINE ((size_t)16 << 20) /* one event of a follow stream */
#define TSINVCTL_LIMIT_MAX 10000                    /* the daemon's cap on events.list */
#define TSINVCTL_SHORTHASH 12                       /* hex digits of a hash shown in tables */
#define TSINVCTL_DIFF_CONTEXT 3                     /* lines of context, as diff -u */

enum {
	TSINVCTL_EXIT_OK = 0,
	TSINVCTL_EXIT_ERROR = 1,       /* an error reply, a failed poll, a reply we cannot read */
	TSINVCTL_EXIT_USAGE = 2,       /* bad option, TIME or address */
	TSINVCTL_EXIT_UNREACHABLE = 3, /* no daemon, refused, timed out, hung up */
	TSINVCTL_EXIT_NOT_FOUND = 4,   /* error code not_found */
};

/* Long-only options get values outside the character range. */
enum {
	TSINVCTL_OPT_JSON = 256,
	TSINVCTL_OPT_TAILNET,
	TSINVCTL_OPT_TIMEOUT,
	TSINVCTL_OPT_VERSION,
	TSINVCTL_OPT_AT,
	TSINVCTL_OPT_HISTORY,
	TSINVCTL_OPT_SINCE,
	TSINVCTL_OPT_TYPE,
	TSINVCTL_OPT_LIMIT,
	TSINVCTL_OPT_FOLLOW,
	TSINVCTL_OPT_FORMAT,
	TSINVCTL_OPT_WINDOW,
	TSINVCTL_OPT_DRY_RUN,
	TSINVCTL_OPT_EXPIRING,
	TSINVCTL_OPT_ALL,
};

/* The global options; they may come before or after the command. */
static struct {
	const char *socket;
	int json;
	const char *tailnet;
	int64_t timeout; /* us; 0 = the command's default */
} opts;

/* What a command was given on its command line, checked. */
struct tsinvctl_args {
	const char *arg;  /* the positional argument, or NULL */
	const char *arg2; /* the second one, for a command with TSINVCTL_F_ARG2 */
	const char *at;   /* normalised RFC 3339, or NULL for now */
	char atbuf[TSTIME_STRLEN];
	int history;
	json_t *since; /* --since: a JSON integer (SEQ) or string (RFC 3339), a new reference */
	char *types;   /* --type globs joined by spaces (malloc'd), or NULL */
	int limit;     /* --limit, 0 for the daemon's default */
	int follow;
	const char *format; /* --format of export, NULL for the default */
	const char *window; /* --window DURATION of export, checked */
	int dry_run;
	const char *expiring; /* --expiring DURATION of keys, checked */
	int all;              /* --all of keys: OAuth access tokens too */
};

struct tsinvctl_cmd;
typedef int (*tsinvctl_cmd_fn)(const struct tsinvctl_cmd *cmd, const struct tsinvctl_args *a);
typedef int (*tsinvctl_show_fn)(json_t *result, const struct tsinvctl_args *a);

#define TSINVCTL_F_AT 0x1         /* takes --at TIME */
#define TSINVCTL_F_OPTARG 0x2     /* the positional argument may be left out */
#define TSINVCTL_F_TAILNET 0x4    /* the op takes args.tailnet */
#define TSINVCTL_F_SLOW 0x8       /* default timeout TSINVCTL_SLOW_TIMEOUT */
#define TSINVCTL_F_EVENTS 0x10    /* takes --since, --type, --limit and --follow */
#define TSINVCTL_F_EXPORT 0x20    /* takes --format and --window */
#define TSINVCTL_F_DRYRUN 0x40    /* takes --dry-run */
#define TSINVCTL_F_ARG2 0x80      /* takes a second positional argument, named by arg's last word */
#define TSINVCTL_F_EXPIRING 0x100 /* takes --expiring DURATION and --all (keys) */

struct tsinvctl_cmd {
	const char *name;
	tsinvctl_cmd_fn fn;
	int op;              /* PROTO_OP_*, or -1 for the client's own commands */
	const char *arg;     /* the positional argument's name, NULL for none */
	int flags;           /* TSINVCTL_F_* */
	const char *history; /* help for --history, NULL when the command has none */
	const char *help;    /* NULL: the op's help, the same text "hello" gives */
	/* The sub-commands ("acl groups", ...), ended by a NULL name; then fn is NULL. */
	const struct tsinvctl_cmd *subs;
};

static int tsinvctl_status(const struct tsinvctl_cmd *, const struct tsinvctl_args *);
static int tsinvctl_poll(const struct tsinvctl_cmd *, const struct tsinvctl_args *);
static int tsinvctl_devices(const struct tsinvctl_cmd *, const struct tsinvctl_args *);
static int tsinvctl_device(const struct tsinvctl_cmd *, const struct tsinvctl_args *);
static int tsinvctl_ip(const struct tsinvctl_cmd *, const struct tsinvctl_args *);
static int tsinvctl_users(const struct tsinvctl_cmd *, const struct tsinvctl_args *);
static int tsinvctl_keys(const struct tsinvctl_cmd *, const struct tsinvctl_args *);
static int tsinvctl_webhooks(const struct tsinvctl_cmd *, const struct tsinvctl_args *);
static int tsinvctl_dns(const struct tsinvctl_cmd *, const struct tsinvctl_args *);
static int tsinvctl_settings(const struct tsinvctl_cmd *, const struct tsinvctl_args *);
static int tsinvctl_acl_groups(const struct tsinvctl_cmd *, const struct tsinvctl_args *);
static int tsinvctl_acl_rules(const struct tsinvctl_cmd *, const struct tsinvctl_args *);
static int tsinvctl_acl_log(const struct tsinvctl_cmd *, const struct tsinvctl_args *);
static int tsinvctl_acl_show(const struct tsinvctl_cmd *, const struct tsinvctl_args *);
static int tsinvctl_acl_diff(const struct tsinvctl_cmd *, const struct tsinvctl_args *);
static int tsinvctl_events(const struct tsinvctl_cmd *, const struct tsinvctl_args *);
static int tsinvctl_hooks(const struct tsinvctl_cmd *, const struct tsinvctl_args *);
static int tsinvctl_ops(const struct tsinvctl_cmd *, const struct tsinvctl_args *);
static int tsinvctl_export(const struct tsinvctl_cmd *, const struct tsinvctl_args *);
static int tsinvctl_netbox(const struct tsinvctl_cmd *, const struct tsinvctl_args *);
static int tsinvctl_help(const struct tsinvctl_cmd *, const struct tsinvctl_args *);

/* The policy file's sub-commands, named in full so that usage and hints read as typed. */
static const struct tsinvctl_cmd tsinvctl_acl_cmds[] = {
    {"acl groups", tsinvctl_acl_groups, PROTO_OP_policy_get, NULL,
     TSINVCTL_F_AT | TSINVCTL_F_TAILNET, NULL,
     "the policy file's groups and their members, one row per member", NULL},
    {"acl rules", tsinvctl_acl_rules, PROTO_OP_policy_get, NULL, TSINVCTL_F_AT | TSINVCTL_F_TAILNET,
     NULL, "every rule of acls, grants and ssh, and whether the network is micro-segmented", NULL},
    {"acl log", tsinvctl_acl_log, PROTO_OP_policy_log, NULL, TSINVCTL_F_TAILNET, NULL, NULL, NULL},
    {"acl show", tsinvctl_acl_show, PROTO_OP_policy_get, "REV",
     TSINVCTL_F_AT | TSINVCTL_F_TAILNET | TSINVCTL_F_OPTARG, NULL,
     "a revision's text exactly as fetched: the current one, REV, or the one in force at TIME",
     NULL},
    {"acl diff", tsinvctl_acl_diff, PROTO_OP_policy_get, "REV1 REV2",
     TSINVCTL_F_TAILNET | TSINVCTL_F_ARG2, NULL,
     "what changed from revision REV1 to REV2, as a unified diff (diff -u)", NULL},
    {NULL, NULL, -1, NULL, 0, NULL, NULL, NULL},
};

static const struct tsinvctl_cmd tsinvctl_cmds[] = {
    {"status", tsinvctl_status, PROTO_OP_status, NULL, 0, NULL, NULL, NULL},
    {"poll", tsinvctl_poll, PROTO_OP_poll, NULL, TSINVCTL_F_TAILNET | TSINVCTL_F_SLOW, NULL, NULL,
     NULL},
    {"devices", tsinvctl_devices, PROTO_OP_devices_list, NULL, TSINVCTL_F_AT | TSINVCTL_F_TAILNET,
     NULL, NULL, NULL},
    {"device", tsinvctl_device, PROTO_OP_device_get, "ID|NAME|IP",
     TSINVCTL_F_AT | TSINVCTL_F_TAILNET, "also list every version and the fields that changed",
     NULL, NULL},
    {"ip", tsinvctl_ip, PROTO_OP_ip_at, "ADDR", TSINVCTL_F_AT | TSINVCTL_F_TAILNET,
     "also list every device that held the address, and when", NULL, NULL},
    {"users", tsinvctl_users, PROTO_OP_users_list, NULL, TSINVCTL_F_AT | TSINVCTL_F_TAILNET, NULL,
     NULL, NULL},
    {"keys", tsinvctl_keys, PROTO_OP_keys_list, NULL,
     TSINVCTL_F_AT | TSINVCTL_F_TAILNET | TSINVCTL_F_EXPIRING, NULL, NULL, NULL},
    {"webhooks", tsinvctl_webhooks, PROTO_OP_webhooks_list, NULL,
     TSINVCTL_F_AT | TSINVCTL_F_TAILNET, NULL, NULL, NULL},
    {"dns", tsinvctl_dns, PROTO_OP_dns_get, NULL, TSINVCTL_F_AT | TSINVCTL_F_TAILNET,
     "also print every version, oldest first, with its time bounds", NULL, NULL},
    {"settings", tsinvctl_settings, PROTO_OP_settings_get, NULL, TSINVCTL_F_AT | TSINVCTL_F_TAILNET,
     "also print every version, oldest first, with its time bounds", NULL, NULL},
    {"acl", NULL, -1, "SUBCOMMAND [ARGS]", 0, NULL,
     "the tailnet policy file: its groups, rules, revisions, text, and the changes between "
     "revisions",
     tsinvctl_acl_cmds},
    {"events", tsinvctl_events, PROTO_OP_events_list, NULL, TSINVCTL_F_TAILNET | TSINVCTL_F_EVENTS,
     NULL, "recorded change events, oldest first; with --follow, new ones as they happen", NULL},
    {"hooks", tsinvctl_hooks, PROTO_OP_hooks, NULL, 0, NULL, NULL, NULL},
    {"export", tsinvctl_export, PROTO_OP_ipam_export, NULL,
     TSINVCTL_F_AT | TSINVCTL_F_TAILNET | TSINVCTL_F_EXPORT, NULL,
     "every address held (and those released in the window before) as NetBox's import CSV or "
     "JSON, or tsinv's own CSV or JSON; all tailnets unless --tailnet",
     NULL},
    {"netbox", tsinvctl_netbox, PROTO_OP_netbox_sync, "sync", TSINVCTL_F_DRYRUN | TSINVCTL_F_SLOW,
     NULL,
     "sync the addresses into NetBox now and print what was done; with --dry-run only the "
     "plan",
     NULL},
    {"ops", tsinvctl_ops, PROTO_OP_hello, NULL, 0, NULL,
     "the operations the daemon knows, from its hello", NULL},
    {"help", tsinvctl_help, -1, "COMMAND [SUBCOMMAND]", TSINVCTL_F_OPTARG | TSINVCTL_F_ARG2, NULL,
     "this help, or a command's", NULL},
};
#define TSINVCTL_NCMDS (sizeof tsinvctl_cmds / sizeof tsinvctl_cmds[0])

/* A follow reconnecting every second says so once, not at each failed connect. */
static int tsinvctl_reconnecting;

/* getopt's messages carry argv[0]; they should say "tsinvctl" however it was started. */
static char tsinvctl_progname[] = "tsinvctl";

static const struct tsinvctl_cmd *
tsinvctl_find(const char *name)
{
	size_t i;

	for (i = 0; i < TSINVCTL_NCMDS; i++)
		if (strcmp(tsinvctl_cmds[i].name, name) == 0)
			return &tsinvctl_cmds[i];
	return NULL;
}

/* The sub-command of PARENT called NAME ("groups" of "acl"), or NULL. */
static const struct tsinvctl_cmd *
tsinvctl_find_sub(const struct tsinvctl_cmd *parent, const char *name)
{
	const struct tsinvctl_cmd *sub;

	for (sub = parent->subs; sub->name != NULL; sub++)
		if (strcmp(strrchr(sub->name, ' ') + 1, name) == 0)
			return sub;
	return NULL;
}

/* "groups, rules, log, show, diff" (malloc'd). */
static char *
tsinvctl_sub_names(const struct tsinvctl_cmd *parent)
{
	const struct tsinvctl_cmd *sub;
	struct sbuf sb = {0};

	for (sub = parent->subs; sub->name != NULL; sub++)
		sbuf_addf(&sb, "%s%s", sub == parent->subs ? "" : ", ",
		          strrchr(sub->name, ' ') + 1);
	return sbuf_steal(&sb);
}

static const char *
tsinvctl_cmd_help(const struct tsinvctl_cmd *cmd)
{
	return cmd->help != NULL ? cmd->help : proto_ops[cmd->op].help;
}

/* "ip ADDR [--at TIME] [--history]", built from the table entry (malloc'd). */
static char *
tsinvctl_usage(const struct tsinvctl_cmd *cmd)
{
	struct sbuf sb = {0};

	sbuf_adds(&sb, cmd->name);
	if (cmd->arg != NULL)
		sbuf_addf(&sb, (cmd->flags & TSINVCTL_F_OPTARG) ? " [%s]" : " %s", cmd->arg);
	if (cmd->flags & TSINVCTL_F_AT)
		sbuf_adds(&sb, " [--at TIME]");
	if (cmd->history != NULL)
		sbuf_adds(&sb, " [--history]");
	if (cmd->flags & TSINVCTL_F_EXPIRING)
		sbuf_adds(&sb, " [--expiring DUR] [--all]");
	if (cmd->flags & TSINVCTL_F_EVENTS)
		sbuf_adds(&sb, " [--since SEQ|TIME] [--type GLOB]... [--limit N] [--follow]");
	if (cmd->flags & TSINVCTL_F_EXPORT)
		sbuf_adds(&sb, " [--format FORMAT] [--window DUR]");
	if (cmd->flags & TSINVCTL_F_DRYRUN)
		sbuf_adds(&sb, " [--dry-run]");
	return sbuf_steal(&sb);
}

/* "  usage\n      help\n" of CMD, or of each of its sub-commands. */
static void
tsinvctl_print_cmd_list(const struct tsinvctl_cmd *cmd, FILE *f)
{
	const struct tsinvctl_cmd *sub;
	char *usage;

	if (cmd->subs != NULL) {
		for (sub = cmd->subs; sub->name != NULL; sub++)
			tsinvctl_print_cmd_list(sub, f);
		return;
	}
	usage = tsinvctl_usage(cmd);
	fprintf(f, "  %s\n      %s\n", usage, tsinvctl_cmd_help(cmd));
	free(usage);
}

static void
tsinvctl_print_help(FILE *f)
{
	size_t i;

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
	      "      --version        print the version\n"
	      "\n"
	      "commands:\n",
	      f);
	for (i = 0; i < TSINVCTL_NCMDS; i++)
		tsinvctl_print_cmd_list(&tsinvctl_cmds[i], f);
	fputs("\n"
	      "TIME is RFC 3339 (2026-11-20T14:05:00Z), 'now', or a time ago: 90m, -3d, 1h30m.\n"
	      "DUR is a duration: 90s, 5m, 1h30m, 7d; a bare number is seconds.\n"
	      "REV is a policy revision: its number (1 is the first recorded) or a prefix of at\n"
	      "least 6 hex digits of its SHA-256, as 'tsinvctl acl log' lists them.\n"
	      "\n"
	      "exit status: 0 ok; 1 the daemon answered an error, or a poll failed; 2 usage\n"
	      "error; 3 the daemon cannot be reached; 4 not found (unknown device, address or\n"
	      "policy revision). 'ip' exits 0 whatever the answer: held, maybe, none and\n"
	      "unknown are all answers; 'acl diff' exits 0 whether or not the revisions differ.\n",
	      f);
}

static void
tsinvctl_print_events_help(FILE *f)
{
	fputs("  --since SEQ|TIME  events after sequence number SEQ, or recorded after TIME\n"
	      "                    (default: from the first; with --follow, from now)\n"
	      "  --type GLOB       only events whose type matches GLOB (device.*, *.expiring);\n"
	      "                    may be repeated\n"
	      "  --limit N         at most N events (default 1000, at most 10000)\n"
	      "  --follow          then wait for new events and print each as it comes, until\n"
	      "                    interrupted; reconnects if the daemon restarts\n",
	      f);
}

/* The event types, from the table the daemon records them by. */
static void
tsinvctl_print_event_types(FILE *f)
{
	int w = 0;
	size_t i;

	for (i = 0; i < event_ntypes; i++)
		if ((int)strlen(event_types[i].name) > w)
			w = (int)strlen(event_types[i].name);
	fputs("\nevent types (a type marked * is only matched by its full name):\n", f);
	for (i = 0; i < event_ntypes; i++)
		fprintf(f, "  %-*s %c %s\n", w, event_types[i].name, event_types[i].off ? '*' : ' ',
		        event_types[i].trigger);
}

/* Whether CMD, or one of its sub-commands, takes a policy revision. */
static int
tsinvctl_takes_rev(const struct tsinvctl_cmd *cmd)
{
	const struct tsinvctl_cmd *sub;

	if (cmd->arg != NULL && strstr(cmd->arg, "REV") != NULL)
		return 1;
	for (sub = cmd->subs; sub != NULL && sub->name != NULL; sub++)
		if (tsinvctl_takes_rev(sub))
			return 1;
	return 0;
}

static void
tsinvctl_print_cmd_help(const struct tsinvctl_cmd *cmd, FILE *f)
{
	char *usage = tsinvctl_usage(cmd);

	fprintf(f, "usage: tsinvctl [OPTIONS] %s\n\n%s\n\n", usage, tsinvctl_cmd_help(cmd));
	free(usage);
	if (cmd->subs != NULL) {
		fputs("sub-commands:\n", f);
		tsinvctl_print_cmd_list(cmd, f);
		fprintf(f, "\n'tsinvctl %s SUBCOMMAND --help' for a sub-command's options.\n\n",
		        cmd->name);
	}
	if (tsinvctl_takes_rev(cmd))
		fprintf(f,
		        "REV is a policy revision: its number (1 is the first recorded) or a "
		        "prefix of\nat least %d hex digits of its SHA-256, as 'tsinvctl acl log' "
		        "lists them.\n\n",
		        ENTITY_REV_HEX_MIN);
	if (cmd->flags & TSINVCTL_F_AT)
		fputs("  --at TIME    as things were at TIME instead of now\n", f);
	if (cmd->history != NULL)
		fprintf(f, "  --history    %s\n", cmd->history);
	if (cmd->flags & TSINVCTL_F_EXPIRING)
		fputs("  --expiring DUR\n"
		      "               only active keys that expire within DUR of the last poll "
		      "(7d, 36h)\n"
		      "  --all        also the hourly access tokens that OAuth clients mint\n",
		      f);
	if (cmd->flags & TSINVCTL_F_EVENTS)
		tsinvctl_print_events_help(f);
	if (cmd->flags & TSINVCTL_F_EXPORT)
		fputs("  --format F   netbox-csv (default): the CSV NetBox's IP address import "
		      "takes;\n"
		      "               netbox-json: a JSON array of objects for NetBox's REST API\n"
		      "               (POST /api/ipam/ip-addresses/); csv or json: every column\n"
		      "  --window DUR addresses released this long before TIME are listed as\n"
		      "               deprecated (default: the daemon's [netbox] "
		      "deprecated_window)\n",
		      f);
	if (cmd->flags & TSINVCTL_F_DRYRUN)
		fputs("  --dry-run    read NetBox and print the plan; write nothing\n", f);
	fputs("  -h, --help   this help\n"
	      "\n"
	      "Global options go before or after the command; see 'tsinvctl --help'.\n",
	      f);
	if (cmd->flags & TSINVCTL_F_EVENTS)
		tsinvctl_print_event_types(f);
}

static int tsinvctl_usage_error(const struct tsinvctl_cmd *cmd, const char *fmt, ...)
    LOG_PRINTF(2, 3);

/* Prints "tsinvctl: ..." (when FMT is not NULL) and the hint; returns the usage exit code. */
static int
tsinvctl_usage_error(const struct tsinvctl_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	if (fmt != NULL) {
		fputs("tsinvctl: ", stderr);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	if (cmd != NULL)
		fprintf(stderr, "try 'tsinvctl %s --help'\n", cmd->name);
	else
		fputs("try 'tsinvctl --help'\n", stderr);
	return TSINVCTL_EXIT_USAGE;
}

/* Checks the DURATION of option NAME (POSITIVE: more than 0); 0, or the usage exit code after
 * saying what is wrong. */
static int
tsinvctl_duration_opt(const struct tsinvctl_cmd *cmd, const char *name, const char *arg,
                      int positive)
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
tsinvctl_global_opt(const struct tsinvctl_cmd *cmd, int c, const char *arg)
{
	char *cause;

	switch (c) {
	case 's':
		opts.socket = arg;
		break;
	case TSINVCTL_OPT_JSON:
		opts.json = 1;
		break;
	case TSINVCTL_OPT_TAILNET:
		opts.tailnet = arg;
		break;
	case TSINVCTL_OPT_TIMEOUT:
		if (tstime_parse_duration(arg, &opts.timeout, &cause) != 0) {
			tsinvctl_usage_error(cmd, "bad DURATION \"%s\": %s", arg, cause);
			free(cause);
			return TSINVCTL_EXIT_USAGE;
		}
		if (opts.timeout <= 0)
			return tsinvctl_usage_error(cmd, "bad DURATION \"%s\": must be more than 0",
			                            arg);
		if (opts.timeout > TSINVCTL_MAX_TIMEOUT)
			opts.timeout =
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

/* The global options plus EXTRA, NULL-terminated, into OUT (TSINVCTL_NGLOBAL + TSINVCTL_NEXTRA
 * + 1 entries). */
static void
tsinvctl_longopts(struct option *out, const struct option *extra, size_t nextra)
{
	memcpy(out, tsinvctl_global_longopts, sizeof tsinvctl_global_longopts);
	if (nextra > 0)
		memcpy(out + TSINVCTL_NGLOBAL, extra, nextra * sizeof *extra);
	memset(out + TSINVCTL_NGLOBAL + nextra, 0, sizeof *out);
}

/* --since, --type, --limit, --follow of "events" into A; 0 or an exit code. */
static int
tsinvctl_events_opt(const struct tsinvctl_cmd *cmd, int c, const char *arg, struct tsinvctl_args *a)
{
	char buf[TSTIME_STRLEN], *cause, *end, *joined;
	unsigned long long v;
	tstime_t t;

	switch (c) {
	case TSINVCTL_OPT_SINCE:
		json_decref(a->since);
		a->since = NULL;
		/* All digits: a sequence number ("0" is the start); anything else is a TIME. */
		if (*arg != '\0' && strspn(arg, "0123456789") == strlen(arg)) {
			errno = 0;
			v = strtoull(arg, &end, 10);
			if (errno != 0 || v > INT64_MAX)
				return tsinvctl_usage_error(cmd, "bad SEQ \"%s\"", arg);
			a->since = json_integer((json_int_t)v);
			break;
		}
		if (tstime_parse(arg, tstime_now(), &t, &cause) != 0) {
			tsinvctl_usage_error(cmd, "bad --since \"%s\": not a SEQ, and %s", arg,
			                     cause);
			free(cause);
			return TSINVCTL_EXIT_USAGE;
		}
		tstime_format(t, buf, sizeof buf);
		a->since = json_string(buf);
		break;
	case TSINVCTL_OPT_TYPE:
		/* The daemon takes the globs space-separated. */
		if (*arg == '\0' || strpbrk(arg, " \t\n") != NULL)
			return tsinvctl_usage_error(cmd, "bad GLOB \"%s\"", arg);
		joined = a->types != NULL ? xasprintf("%s %s", a->types, arg) : xstrdup(arg);
		free(a->types);
		a->types = joined;
		break;
	case TSINVCTL_OPT_LIMIT:
		errno = 0;
		v = strtoull(arg, &end, 10);
		if (*arg < '0' || *arg > '9' || *end != '\0' || errno != 0 || v < 1 ||
		    v > TSINVCTL_LIMIT_MAX)
			return tsinvctl_usage_error(cmd,
			                            "bad --limit \"%s\": a number from 1 to %d",
			                            arg, TSINVCTL_LIMIT_MAX);
		a->limit = (int)v;
		break;
	case TSINVCTL_OPT_FOLLOW:
		a->follow = 1;
		break;
	}
	return 0;
}

/* Parses a command's own arguments (ARGV[0] is the command); 0, -1 after printing its help, or
 * an exit code. */
static int
tsinvctl_parse_cmd(const struct tsinvctl_cmd *cmd, int argc, char **argv, struct tsinvctl_args *a)
{
	struct option longopts[TSINVCTL_NGLOBAL + TSINVCTL_NEXTRA + 1], extra[TSINVCTL_NEXTRA];
	size_t n = 0;
	tstime_t t;
	char *cause;
	int c, rc;

	/* The global options, and those of the command's table entry. */
	if (cmd->flags & TSINVCTL_F_AT)
		extra[n++] = (struct option){"at", required_argument, NULL, TSINVCTL_OPT_AT};
	if (cmd->history != NULL)
		extra[n++] = (struct option){"history", no_argument, NULL, TSINVCTL_OPT_HISTORY};
	if (cmd->flags & TSINVCTL_F_EVENTS) {
		extra[n++] = (struct option){"since", required_argument, NULL, TSINVCTL_OPT_SINCE};
		extra[n++] = (struct option){"type", required_argument, NULL, TSINVCTL_OPT_TYPE};
		extra[n++] = (struct option){"limit", required_argument, NULL, TSINVCTL_OPT_LIMIT};
		extra[n++] = (struct option){"follow", no_argument, NULL, TSINVCTL_OPT_FOLLOW};
	}
	if (cmd->flags & TSINVCTL_F_EXPORT) {
		extra[n++] =
		    (struct option){"format", required_argument, NULL, TSINVCTL_OPT_FORMAT};
		extra[n++] =
		    (struct option){"window", required_argument, NULL, TSINVCTL_OPT_WINDOW};
	}
	if (cmd->flags & TSINVCTL_F_DRYRUN)
		extra[n++] = (struct option){"dry-run", no_argument, NULL, TSINVCTL_OPT_DRY_RUN};
	if (cmd->flags & TSINVCTL_F_EXPIRING)
		extra[n++] =
		    (struct option){"expiring", required_argument, NULL, TSINVCTL_OPT_EXPIRING};
	if (cmd->flags & TSINVCTL_F_EXPIRING)
		extra[n++] = (struct option){"all", no_argument, NULL, TSINVCTL_OPT_ALL};
	tsinvctl_longopts(longopts, extra, n);

	memset(a, 0, sizeof *a);
	argv[0] = tsinvctl_progname;
	optind = 0; /* GNU getopt: start over, with permutation, on a new vector */
	while ((c = getopt_long(argc, argv, "s:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			tsinvctl_print_cmd_help(cmd, stdout);
			return -1;
		case TSINVCTL_OPT_AT:
			if (tstime_parse(optarg, tstime_now(), &t, &cause) != 0) {
				tsinvctl_usage_error(cmd, "bad TIME \"%s\": %s", optarg, cause);
				free(cause);
				return TSINVCTL_EXIT_USAGE;
			}
			tstime_format(t, a->atbuf, sizeof a->atbuf);
			a->at = a->atbuf;
			break;
		case TSINVCTL_OPT_HISTORY:
			a->history = 1;
			break;
		case TSINVCTL_OPT_FORMAT:
			a->format = optarg;
			break;
		case TSINVCTL_OPT_WINDOW:
			if (tsinvctl_duration_opt(cmd, "--window", optarg, 0) != 0)
				return TSINVCTL_EXIT_USAGE;
			a->window = optarg;
			break;
		case TSINVCTL_OPT_DRY_RUN:
			a->dry_run = 1;
			break;
		case TSINVCTL_OPT_EXPIRING:
			if (tsinvctl_duration_opt(cmd, "--expiring", optarg, 1) != 0)
				return TSINVCTL_EXIT_USAGE;
			a->expiring = optarg;
			break;
		case TSINVCTL_OPT_ALL:
			a->all = 1;
			break;
		case TSINVCTL_OPT_SINCE:
		case TSINVCTL_OPT_TYPE:
		case TSINVCTL_OPT_LIMIT:
		case TSINVCTL_OPT_FOLLOW:
			if ((rc = tsinvctl_events_opt(cmd, c, optarg, a)) != 0)
				return rc;
			break;
		default:
			if ((rc = tsinvctl_global_opt(cmd, c, optarg)) != 0)
				return rc;
		}
	}
	if (optind < argc && cmd->arg != NULL)
		a->arg = argv[optind++];
	if (optind < argc && (cmd->flags & TSINVCTL_F_ARG2))
		a->arg2 = argv[optind++];
	if (optind < argc)
		return tsinvctl_usage_error(cmd, "%s: unexpected argument '%s'", cmd->name,
		                            argv[optind]);
	if (a->arg == NULL && cmd->arg != NULL && !(cmd->flags & TSINVCTL_F_OPTARG))
		return tsinvctl_usage_error(cmd, "%s: missing %s", cmd->name, cmd->arg);
	if (a->arg2 == NULL && (cmd->flags & TSINVCTL_F_ARG2) && !(cmd->flags & TSINVCTL_F_OPTARG))
		return tsinvctl_usage_error(cmd, "%s: missing %s", cmd->name,
		                            strrchr(cmd->arg, ' ') + 1);
	if (a->follow && a->limit > 0)
		return tsinvctl_usage_error(cmd, "%s: --limit and --follow do not go together",
		                            cmd->name);
	return 0;
}

/* For a command with sub-commands ("acl"): takes the global options that come before the
 * sub-command, then *CMD becomes the sub-command and *SKIP the number of words before it.
 * Returns 0, -1 after printing the command's help, or an exit code. */
static int
tsinvctl_parse_sub(const struct tsinvctl_cmd **cmd, int argc, char **argv, int *skip)
{
	const struct tsinvctl_cmd *parent = *cmd, *sub = NULL;
	struct option longopts[TSINVCTL_NGLOBAL + 1];
	char *names;
	int c, rc = 0;

	tsinvctl_longopts(longopts, NULL, 0);
	argv[0] = tsinvctl_progname;
	optind = 0;
	/* "+": stop at the sub-command, whose own options come after it. */
	while ((c = getopt_long(argc, argv, "+s:h", longopts, NULL)) != -1) {
		if (c == 'h') {
			tsinvctl_print_cmd_help(parent, stdout);
			return -1;
		}
		if ((rc = tsinvctl_global_opt(parent, c, optarg)) != 0)
			return rc;
	}
	names = tsinvctl_sub_names(parent);
	if (optind == argc)
		rc = tsinvctl_usage_error(parent, "%s: missing SUBCOMMAND (%s)", parent->name,
		                          names);
	else if ((sub = tsinvctl_find_sub(parent, argv[optind])) == NULL)
		rc = tsinvctl_usage_error(parent, "%s: unknown sub-command '%s' (%s)", parent->name,
		                          argv[optind], names);
	else {
		*cmd = sub;
		*skip = optind;
	}
	free(names);
	return rc;
}

static int64_t
tsinvctl_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * TSTIME_SEC + ts.tv_nsec / 1000;
}

static const char *
tsinvctl_duration(int64_t us, char *buf, size_t len)
{
	tstime_format_duration(us, buf, len);
	return buf;
}

/* A duration in seconds as the daemon sent it; out-of-range values must not reach the cast. */
static const char *
tsinvctl_seconds(double v, char *buf, size_t len)
{
	if (!(v > -1e12 && v < 1e12))
		snprintf(buf, len, "?");
	else
		tstime_format_duration((int64_t)(v * TSTIME_SEC), buf, len);
	return buf;
}

/* Waits until FD is ready for EVENTS or the deadline passes: 0 ready, -1 timed out. */
static int
tsinvctl_wait(int fd, short events, int64_t deadline)
{
	struct pollfd pfd = {.fd = fd, .events = events};
	int64_t left;
	int n;

	for (;;) {
		left = deadline - tsinvctl_mono();
		if (left <= 0)
			return -1;
		left = (left + 999) / 1000;
		n = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (n > 0)
			return 0; /* also POLLHUP and POLLERR: the next read or write says what */
		if (n == -1 && errno != EINTR)
			return -1;
	}
}

static int
tsinvctl_connect(int64_t timeout, int *fdp)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct timeval tv;
	char d[32];
	int fd;

	if (strlen(opts.socket) >= sizeof sun.sun_path) {
		fprintf(stderr, "tsinvctl: socket path too long: %s\n", opts.socket);
		return TSINVCTL_EXIT_USAGE;
	}
	strcpy(sun.sun_path, opts.socket);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		fprintf(stderr, "tsinvctl: socket: %s\n", strerror(errno));
		return TSINVCTL_EXIT_UNREACHABLE;
	}
	/* connect() waits while the daemon's backlog is full; SO_SNDTIMEO bounds that wait. */
	tv.tv_sec = (time_t)(timeout / TSTIME_SEC);
	tv.tv_usec = (suseconds_t)(timeout % TSTIME_SEC);
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		if (tsinvctl_reconnecting)
			; /* quiet */
		else if (errno == EAGAIN || errno == EINPROGRESS)
			fprintf(stderr,
			        "tsinvctl: %s: the daemon did not accept the connection within %s "
			        "(busy? see --timeout)\n",
			        opts.socket, tsinvctl_duration(timeout, d, sizeof d));
		else
			fprintf(stderr, "tsinvctl: cannot connect to %s: %s (%s)\n", opts.socket,
			        strerror(errno),
			        errno == EACCES ? "is this user in the socket's group?"
			                        : "is tsinvd running? another socket: -s PATH or "
			                          "TSINV_SOCKET");
		close(fd);
		return TSINVCTL_EXIT_UNREACHABLE;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1) {
		fprintf(stderr, "tsinvctl: fcntl: %s\n", strerror(errno));
		close(fd);
		return TSINVCTL_EXIT_UNREACHABLE;
	}
	*fdp = fd;
	return 0;
}

static int
tsinvctl_timed_out(int64_t timeout)
{
	char d[32];

	fprintf(stderr, "tsinvctl: no reply from %s within %s (see --timeout)\n", opts.socket,
	        tsinvctl_duration(timeout, d, sizeof d));
	return TSINVCTL_EXIT_UNREACHABLE;
}

static int
tsinvctl_send(int fd, const char *buf, size_t len, int64_t deadline, int64_t timeout)
{
	ssize_t n;

	while (len > 0) {
		n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
		} else if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (tsinvctl_wait(fd, POLLOUT, deadline) != 0)
				return tsinvctl_timed_out(timeout);
		} else if (n == -1 && errno != EINTR) {
			fprintf(stderr, "tsinvctl: %s: %s\n", opts.socket, strerror(errno));
			return TSINVCTL_EXIT_UNREACHABLE;
		}
	}
	return 0;
}

/* Reads one reply line, without its newline, into *LINE (malloc'd, *LEN bytes). */
static int
tsinvctl_recv(int fd, int64_t deadline, int64_t timeout, char **line, size_t *len)
{
	size_t cap = 65536, have = 0;
	char *buf = xmalloc(cap), *nl;
	ssize_t n;

	for (;;) {
		if (have == cap) {
			/* The buffer holds at most TSINVCTL_MAX_REPLY bytes and the newline. */
			if (cap > TSINVCTL_MAX_REPLY) {
				fprintf(stderr, "tsinvctl: the reply is longer than %zu GiB\n",
				        TSINVCTL_MAX_REPLY >> 30);
				free(buf);
				return TSINVCTL_EXIT_ERROR;
			}
			cap = cap * 2 > TSINVCTL_MAX_REPLY + 1 ? TSINVCTL_MAX_REPLY + 1 : cap * 2;
			buf = xrealloc(buf, cap);
		}
		n = recv(fd, buf + have, cap - have, 0);
		if (n > 0) {
			nl = memchr(buf + have, '\n', (size_t)n);
			have += (size_t)n;
			if (nl != NULL) {
				*line = buf;
				*len = (size_t)(nl - buf);
				return 0;
			}
		} else if (n == 0) {
			fprintf(stderr, "tsinvctl: %s: the daemon closed the connection %s\n",
			        opts.socket, have == 0 ? "without a reply" : "in mid-reply");
			free(buf);
			return TSINVCTL_EXIT_UNREACHABLE;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if (tsinvctl_wait(fd, POLLIN, deadline) != 0) {
				free(buf);
				return tsinvctl_timed_out(timeout);
			}
		} else if (errno != EINTR) {
			fprintf(stderr, "tsinvctl: %s: %s\n", opts.socket, strerror(errno));
			free(buf);
			return TSINVCTL_EXIT_UNREACHABLE;
		}
	}
}

static int
tsinvctl_bad_reply(const char *why)
{
	char *p, *s = xstrdup(why);

	/* jansson's message may quote the bad input, which need not even be UTF-8. */
	for (p = s; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
	fprintf(stderr, "tsinvctl: malformed reply from the daemon: %s\n", s);
	free(s);
	return TSINVCTL_EXIT_ERROR;
}

/* Checks a reply line. On success *RESULT is a new reference; an error reply is printed. */
static int
tsinvctl_reply(const char *line, size_t len, json_t **result)
{
	json_t *root, *id, *ok, *err;
	json_error_t jerr;
	const char *code, *msg;
	char *ccode, *cmsg;
	int rc;

	/* NUL is allowed: a policy text is printed byte for byte, whatever it holds. */
	if ((root = json_loadb(line, len, JSON_ALLOW_NUL, &jerr)) == NULL)
		return tsinvctl_bad_reply(jerr.text);
	rc = TSINVCTL_EXIT_ERROR;
	id = json_object_get(root, "id");
	ok = json_object_get(root, "ok");
	if (!json_is_object(root))
		tsinvctl_bad_reply("not an object");
	else if (!json_is_integer(id) || json_integer_value(id) != TSINVCTL_REQ_ID)
		tsinvctl_bad_reply("wrong id");
	else if (!json_is_boolean(ok))
		tsinvctl_bad_reply("no \"ok\"");
	else if (json_is_true(ok)) {
		/* Every op answers with an object; anything else is not a daemon we understand. */
		if (!json_is_object(*result = json_object_get(root, "result")))
			tsinvctl_bad_reply("no \"result\" object");
		else {
			json_incref(*result);
			rc = TSINVCTL_EXIT_OK;
		}
	} else {
		err = json_object_get(root, "error");
		code = json_string_value(json_object_get(err, "code"));
		msg = json_string_value(json_object_get(err, "message"));
		ccode = table_clean(code != NULL ? code : "error");
		cmsg = table_clean(msg != NULL ? msg : "(no message)");
		fprintf(stderr, "tsinvctl: %s: %s\n", ccode, cmsg);
		free(ccode);
		free(cmsg);
		if (code != NULL && strcmp(code, PROTO_E_NOT_FOUND) == 0)
			rc = TSINVCTL_EXIT_NOT_FOUND;
	}
	json_decref(root);
	return rc;
}

/* Sends CMD's op with ARGS (stolen) and reads the answer: 0 and *RESULT (a new reference), or
 * an exit code after printing why. */
static int
tsinvctl_call(const struct tsinvctl_cmd *cmd, json_t *args, json_t **result)
{
	int64_t timeout, deadline;
	json_t *req;
	char *text, *line;
	size_t len;
	int fd, rc;

	req = json_pack("{s:i, s:s, s:o}", "id", TSINVCTL_REQ_ID, "op", proto_ops[cmd->op].name,
	                "args", args);
	if (req == NULL || (text = json_dumps(req, JSON_COMPACT)) == NULL)
		fatalx("cannot build the request");
	json_decref(req);
	len = strlen(text);
	if (len + 1 > PROTO_MAX_LINE) {
		free(text);
		return tsinvctl_usage_error(cmd, "the request is longer than %d bytes",
		                            PROTO_MAX_LINE);
	}
	text[len++] = '\n'; /* replaces the NUL; the length is what counts from here on */

	timeout = opts.timeout;
	if (timeout == 0)
		timeout = (cmd->flags & TSINVCTL_F_SLOW) ? TSINVCTL_SLOW_TIMEOUT : TSINVCTL_TIMEOUT;
	deadline = tsinvctl_mono() + timeout;
	if ((rc = tsinvctl_connect(timeout, &fd)) != 0) {
		free(text);
		return rc;
	}
	rc = tsinvctl_send(fd, text, len, deadline, timeout);
	free(text);
	if (rc == 0 && (rc = tsinvctl_recv(fd, deadline, timeout, &line, &len)) == 0) {
		rc = tsinvctl_reply(line, len, result);
		free(line);
	}
	close(fd);
	return rc;
}

/* Adds KEY: S to ARGS; argv may hold anything, but JSON strings must be UTF-8. */
static int
tsinvctl_arg_str(const struct tsinvctl_cmd *cmd, json_t *args, const char *key, const char *s)
{
	json_t *v = json_string(s);

	if (v == NULL)
		return tsinvctl_usage_error(cmd, "%s: not valid UTF-8", key);
	json_object_set_new(args, key, v);
	return 0;
}

/* Runs CMD with ARGS (stolen, NULL for none) plus the common arguments: 0 and *RESULT (a new
 * reference), or an exit code after printing why. */
static int
tsinvctl_fetch(const struct tsinvctl_cmd *cmd, const struct tsinvctl_args *a, json_t *args,
               json_t **result)
{
	int rc;

	if (args == NULL)
		args = json_object();
	if ((cmd->flags & TSINVCTL_F_TAILNET) && opts.tailnet != NULL &&
	    (rc = tsinvctl_arg_str(cmd, args, "tailnet", opts.tailnet)) != 0) {
		json_decref(args);
		return rc;
	}
	if (a->at != NULL)
		json_object_set_new(args, "at", json_string(a->at));
	if (a->history)
		json_object_set_new(args, "history", json_true());
	return tsinvctl_call(cmd, args, result);
}

static void
tsinvctl_print_json(json_t *v)
{
	json_dumpf(v, stdout, JSON_INDENT(2) | JSON_ENCODE_ANY);
	fputc('\n', stdout);
}

/* Runs CMD with ARGS (stolen) plus the common arguments, then shows the result: as JSON with
 * --json, else through SHOW. VERDICT, when set, turns a successful result into an exit code. */
static int
tsinvctl_query(const struct tsinvctl_cmd *cmd, const struct tsinvctl_args *a, json_t *args,
               tsinvctl_show_fn show, int (*verdict)(json_t *))
{
	json_t *result;
	int rc;

	if ((rc = tsinvctl_fetch(cmd, a, args, &result)) != 0)
		return rc;
	if (opts.json)
		tsinvctl_print_json(result);
	else
		rc = show(result, a);
	if (rc == 0 && verdict != NULL)
		rc = verdict(result);
	json_decref(result);
	return rc;
}

/* Accessors that accept whatever the daemon sent: a missing or mistyped field is "absent". */
static const char *
tsinvctl_str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static int
tsinvctl_num(json_t *o, const char *key, double *out)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_number(v))
		return -1;
	*out = json_number_value(v);
	return 0;
}

static int
tsinvctl_is(json_t *o, const char *key, const char *value)
{
	const char *s = tsinvctl_str(o, key);

	return s != NULL && strcmp(s, value) == 0;
}

/* "yes", "no", or NULL (shown as "-") when absent. */
static const char *
tsinvctl_yesno(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_boolean(v) ? (json_is_true(v) ? "yes" : "no") : NULL;
}

/* The strings of array ARR joined by SEP (malloc'd), or NULL when there are none. */
static char *
tsinvctl_join(json_t *arr, const char *sep)
{
	struct sbuf sb = {0};
	json_t *v;
	size_t i;

	json_array_foreach(arr, i, v)
	{
		if (!json_is_string(v))
			continue;
		if (sb.len > 0)
			sbuf_adds(&sb, sep);
		sbuf_adds(&sb, json_string_value(v));
	}
	if (sb.len == 0) {
		sbuf_free(&sb);
		return NULL;
	}
	return sbuf_steal(&sb);
}

/* T as given, to the second: "2026-11-20T14:05:00.25Z" -> "2026-11-20T14:05:00Z"; "-" if none.
 * Always into BUF, which it returns. */
static const char *
tsinvctl_time(const char *t, char *buf, size_t len)
{
	const char *p;

	if (t == NULL || *t == '\0')
		snprintf(buf, len, "-");
	else if (strlen(t) > 20 && t[19] == '.') {
		for (p = t + 20; *p >= '0' && *p <= '9'; p++)
			continue;
		snprintf(buf, len, "%.19s%s", t, p);
	} else
		snprintf(buf, len, "%s", t);
	return buf;
}

/* A time window into BUF: "lo .. hi", just "hi" when lo is absent or the same second, OPEN when
 * there is no hi (an interval still running). */
static const char *
tsinvctl_window(const char *lo, const char *hi, const char *open, char *buf, size_t len)
{
	char l[TSINVCTL_TIMELEN], h[TSINVCTL_TIMELEN];

	if (hi == NULL || *hi == '\0') {
		if (open != NULL)
			snprintf(buf, len, "%s", open);
		else
			tsinvctl_time(lo, buf, len);
		return buf;
	}
	tsinvctl_time(hi, h, sizeof h);
	if (lo == NULL || *lo == '\0' || strcmp(tsinvctl_time(lo, l, sizeof l), h) == 0)
		snprintf(buf, len, "%s", h);
	else
		snprintf(buf, len, "%s .. %s", l, h);
	return buf;
}

/* The FROM and TO windows of an object carrying the four bounds. */
static void
tsinvctl_bounds(json_t *o, char *from, char *to, size_t len)
{
	tsinvctl_window(tsinvctl_str(o, "from_lo"), tsinvctl_str(o, "from_hi"), NULL, from, len);
	tsinvctl_window(tsinvctl_str(o, "to_lo"), tsinvctl_str(o, "to_hi"), "now", to, len);
}

/* The short name (malloc'd): the first label of the MagicDNS name, else the hostname, else the
 * node id. O is a device or anything with the same three fields. */
static char *
tsinvctl_shortname(json_t *o)
{
	const char *s = tsinvctl_str(o, "name");
	size_t n;

	if (s == NULL || *s == '\0')
		s = tsinvctl_str(o, "hostname");
	if (s == NULL || *s == '\0')
		s = tsinvctl_str(o, "nodeId");
	if (s == NULL || *s == '\0')
		s = "-";
	n = strcspn(s, ".");
	if (n == 0)
		n = strlen(s); /* ".foo": keep it whole rather than print nothing */
	return xasprintf("%.*s", (int)(n > INT_MAX ? INT_MAX : n), s);
}

static void
tsinvctl_status_endpoints(json_t *tailnets)
{
	static const char *const hdr[] = {"TAILNET", "ENDPOINT", "RESULT", "LAST-POLL",
	                                  "AGE",     "ENTITIES", "ERROR"};
	struct table *t = table_new(7, hdr);
	char last[TSINVCTL_TIMELEN], age[32], ents[32];
	json_t *tn, *ep;
	size_t i, j;
	double v;

	json_array_foreach(tailnets, i, tn)
	{
		json_array_foreach(json_object_get(tn, "endpoints"), j, ep)
		{
			snprintf(age, sizeof age, "-");
			if (tsinvctl_num(ep, "age_s", &v) == 0)
				tsinvctl_seconds(v, age, sizeof age);
			snprintf(ents, sizeof ents, "-");
			if (tsinvctl_num(ep, "entities", &v) == 0)
				snprintf(ents, sizeof ents, "%.0f", v);
			table_add_row(
			    t, tsinvctl_str(tn, "name"), tsinvctl_str(ep, "name"),
			    tsinvctl_str(ep, "result"),
			    tsinvctl_time(tsinvctl_str(ep, "last_poll"), last, sizeof last), age,
			    ents, tsinvctl_str(ep, "error"));
		}
	}
	if (table_nrows(t) > 0) {
		fputc('\n', stdout);
		table_print(t, stdout);
	}
	table_free(t);
}

static int
tsinvctl_status_show(json_t *res, const struct tsinvctl_args *a)
{
	struct table *t = table_new(2, NULL);
	json_t *store = json_object_get(res, "store");
	char buf[256], d[32], when[TSINVCTL_TIMELEN];
	double v, used, map;

	table_add_row(t, "version:", tsinvctl_str(res, "version"));
	buf[0] = '\0';
	if (tsinvctl_num(res, "pid", &v) == 0)
		snprintf(buf, sizeof buf, "%.0f", v);
	table_add_row(t, "pid:", buf);
	buf[0] = '\0';
	if (tsinvctl_num(res, "uptime_s", &v) == 0)
		snprintf(buf, sizeof buf, "%s (since %s)", tsinvctl_seconds(v, d, sizeof d),
		         tsinvctl_time(tsinvctl_str(res, "started"), when, sizeof when));
	table_add_row(t, "uptime:", buf);
	buf[0] = '\0';
	if (tsinvctl_num(store, "used_bytes", &used) == 0 &&
	    tsinvctl_num(store, "map_bytes", &map) == 0)
		snprintf(buf, sizeof buf, "%.1f MiB used of a %.1f MiB map", used / 1048576,
		         map / 1048576);
	table_add_row(t, "store:", tsinvctl_str(store, "path"));
	table_add_row(t, "store size:", buf);
	table_print(t, stdout);
	table_free(t);
	tsinvctl_status_endpoints(json_object_get(res, "tailnets"));
	return 0;
}

static int
tsinvctl_status(const struct tsinvctl_cmd *cmd, const struct tsinvctl_args *a)
{
	return tsinvctl_query(cmd, a, NULL, tsinvctl_status_show, NULL);
}

static int
tsinvctl_poll_show(json_t *res, const struct tsinvctl_args *a)
{
	static const char *const hdr[] = {"TAILNET", "ENDPOINT", "RESULT",
	                                  "TIME",    "CHANGES",  "ERROR"};
	struct table *t = table_new(6, hdr);
	char when[TSINVCTL_TIMELEN], changes[32];
	json_t *p;
	size_t i;
	double v;

	json_array_foreach(json_object_get(res, "polls"), i, p)
	{
		snprintf(changes, sizeof changes, "-");
		if (tsinvctl_num(p, "changes", &v) == 0)
			snprintf(changes, sizeof changes, "%.0f", v);
		table_add_row(t, tsinvctl_str(p, "tailnet"), tsinvctl_str(p, "endpoint"),
		              tsinvctl_str(p, "result"),
		              tsinvctl_time(tsinvctl_str(p, "time"), when, sizeof when), changes,
		              tsinvctl_str(p, "error"));
	}
	if (table_nrows(t) > 0)
		table_print(t, stdout);
	else
		puts("no endpoint to poll");
	table_free(t);
	return 0;
}

/* A poll that was not "ok" (failed, or held back as a suspicious shrink) fails the command. */
static int
tsinvctl_poll_verdict(json_t *res)
{
	size_t i, bad = 0;
	json_t *p, *polls = json_object_get(res, "polls");

	json_array_foreach(polls, i, p)
	{
		if (!tsinvctl_is(p, "result", "ok"))
			bad++;
	}
	if (bad == 0)
		return TSINVCTL_EXIT_OK;
	fprintf(stderr, "tsinvctl: %zu of %zu polls did not succeed\n", bad,
	        json_array_size(polls));
	return TSINVCTL_EXIT_ERROR;
}

static int
tsinvctl_poll(const struct tsinvctl_cmd *cmd, const struct tsinvctl_args *a)
{
	return tsinvctl_query(cmd, a, NULL, tsinvctl_poll_show, tsinvctl_poll_verdict);
}

struct tsinvctl_devrow {
	char *name; /* the short name */
	const char *node;
	json_t *entry;
	int maybe; /* shown with a "?" */
};

static int
tsinvctl_devrow_cmp(const void *va, const void *vb)
{
	const struct tsinvctl_devrow *a = va, *b = vb;
	int c = strcmp(a->name, b->name);

	return c != 0 ? c : strcmp(a->node, b->node);
}

/* "2026-05-30", "never" when expiry is disabled, "-" for none or Go's zero time. */
static void
tsinvctl_expiry(json_t *dev, char *buf, size_t len)
{
	const char *e = tsinvctl_str(dev, "expires");

	if (json_is_true(json_object_get(dev, "keyExpiryDisabled")))
		snprintf(buf, len, "never");
	else if (e == NULL || strlen(e) < 10 || strncmp(e, "0001-01-01", 10) == 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.10s", e);
}

static void
tsinvctl_devices_row(struct table *t, const struct tsinvctl_devrow *r)
{
	json_t *dev = json_object_get(r->entry, "device");
	const char *ver = tsinvctl_str(dev, "clientVersion");
	char *addrs = tsinvctl_join(json_object_get(dev, "addresses"), ",");
	char *tags = tsinvctl_join(json_object_get(dev, "tags"), ",");
	char expiry[16], *version, *name;

	name = xasprintf("%s%s", r->name, r->maybe ? "?" : "");
	tsinvctl_expiry(dev, expiry, sizeof expiry);
	/* "1.76.1-t1234abcd-g5678" -> "1.76.1": the rest is build detail. */
	version =
	    xasprintf("%.*s", ver != NULL ? (int)strcspn(ver, "-") : 0, ver != NULL ? ver : "");
	table_add_row(t, name, tsinvctl_str(dev, "os"), tsinvctl_str(dev, "user"), addrs, tags,
	              tsinvctl_yesno(dev, "authorized"), expiry, version);
	free(name);
	free(version);
	free(addrs);
	free(tags);
}

static int
tsinvctl_devices_show(json_t *res, const struct tsinvctl_args *a)
{
	static const char *const hdr[] = {"NAME", "OS",   "USER",       "ADDRESSES",
	                                  "TAGS", "AUTH", "KEY-EXPIRY", "VERSION"};
	json_t *list = json_object_get(res, "devices"), *e;
	size_t i, n = 0, nmaybe = 0;
	struct tsinvctl_devrow *rows;
	struct table *t;

	rows = xcalloc(json_array_size(list) + 1, sizeof *rows);
	json_array_foreach(list, i, e)
	{
		if (!json_is_object(e))
			continue;
		rows[n].name = tsinvctl_shortname(json_object_get(e, "device"));
		if ((rows[n].maybe = tsinvctl_is(e, "state", "maybe")))
			nmaybe++;
		rows[n].node = tsinvctl_str(e, "nodeId");
		if (rows[n].node == NULL)
			rows[n].node = "";
		rows[n++].entry = e;
	}
	qsort(rows, n, sizeof *rows, tsinvctl_devrow_cmp);

	t = table_new(8, hdr);
	for (i = 0; i < n; i++) {
		tsinvctl_devices_row(t, &rows[i]);
		free(rows[i].name);
	}
	free(rows);
	if (n > 0)
		table_print(t, stdout);
	else
		puts("no devices");
	table_free(t);
	if (nmaybe > 0)
		puts("\n? = may have been present (the change happened between two polls)");
	return 0;
}

static int
tsinvctl_devices(const struct tsinvctl_cmd *cmd, const struct tsinvctl_args *a)
{
	return tsinvctl_query(cmd, a, NULL, tsinvctl_devices_show, NULL);
}

/* Adds "KEY: joined array" to a key-value table. */
static void
tsinvctl_kv_list(struct table *t, const char *key, json_t *arr)
{
	char *s = tsinvctl_join(arr, ", ");

	table_add_row(t, key, s);
	free(s);
}

/* The key: value block of one version of a device, VOL its volatile part (or NULL). */
static void
tsinvctl_device_block(struct table *t, json_t *ver, json_t *vol)
{
	json_t *dev = json_object_get(ver, "device");
	char when[TSINVCTL_TIMELEN], buf[2 * TSINVCTL_TIMELEN + 8];
	const char *seen;

	table_add_row(t, "name:", tsinvctl_str(dev, "name"));
	table_add_row(t, "hostname:", tsinvctl_str(dev, "hostname"));
	table_add_row(t, "os:", tsinvctl_str(dev, "os"));
	table_add_row(t, "user:", tsinvctl_str(dev, "user"));
	tsinvctl_kv_list(t, "addresses:", json_object_get(dev, "addresses"));
	tsinvctl_kv_list(t, "tags:", json_object_get(dev, "tags"));
	table_add_row(t, "authorized:", tsinvctl_yesno(dev, "authorized"));
	if (json_is_true(json_object_get(dev, "keyExpiryDisabled")))
		table_add_row(t, "key expiry:", "never (disabled)");
	else
		table_add_row(t, "key expiry:",
		              tsinvctl_time(tsinvctl_str(dev, "expires"), when, sizeof when));
	table_add_row(t, "client version:", tsinvctl_str(dev, "clientVersion"));
	table_add_row(t,
	              "created:", tsinvctl_time(tsinvctl_str(dev, "created"), when, sizeof when));
	tsinvctl_kv_list(t, "routes:", json_object_get(dev, "enabledRoutes"));
	tsinvctl_kv_list(t, "advertised routes:", json_object_get(dev, "advertisedRoutes"));
	/* Presence is volatile, kept for the current state only: a past version has none. */
	if (json_is_object(vol)) {
		seen = tsinvctl_str(vol, "lastSeen");
		if (json_is_true(json_object_get(vol, "connectedToControl")))
			table_add_row(t, "last seen:", "online now");
		else
			table_add_row(t, "last seen:", tsinvctl_time(seen, when, sizeof when));
	}
	table_add_row(t, "since:",
	              tsinvctl_window(tsinvctl_str(ver, "from_lo"), tsinvctl_str(ver, "from_hi"),
	                              NULL, buf, sizeof buf));
	table_add_row(t, "until:",
	              tsinvctl_window(tsinvctl_str(ver, "to_lo"), tsinvctl_str(ver, "to_hi"), "now",
	                              buf, sizeof buf));
}

static void
tsinvctl_device_history(json_t *versions)
{
	static const char *const hdr[] = {"FROM", "TO", "CHANGED"};
	struct table *t = table_new(3, hdr);
	char from[2 * TSINVCTL_TIMELEN + 8], to[2 * TSINVCTL_TIMELEN + 8], *changed;
	json_t *v;
	size_t i;

	json_array_foreach(versions, i, v)
	{
		tsinvctl_bounds(v, from, to, sizeof from);
		changed = tsinvctl_join(json_object_get(v, "changed"), ",");
		table_add_row(t, from, to,
		              changed != NULL ? changed : (i == 0 ? "(first seen)" : NULL));
		free(changed);
	}
	fputc('\n', stdout);
	table_print(t, stdout);
	table_free(t);
}

static int
tsinvctl_device_show(json_t *res, const struct tsinvctl_args *a)
{
	struct table *t = table_new(2, NULL);
	json_t *cur = json_object_get(res, "current");
	json_t *versions = json_object_get(res, "versions");
	int deleted = json_is_true(json_object_get(res, "deleted"));
	char when[TSINVCTL_TIMELEN], *note;

	if (a->at != NULL)
		note = xasprintf("%s at %s", json_is_object(cur) ? "present" : "not present",
		                 tsinvctl_time(a->at, when, sizeof when));
	else
		note = xstrdup(json_is_object(cur) ? "present"
		               : deleted           ? "deleted"
		                                   : "not present");
	table_add_row(t, "node id:", tsinvctl_str(res, "nodeId"));
	table_add_row(t, "matched by:", tsinvctl_str(res, "matched_by"));
	table_add_row(t, "state:", note);
	table_add_row(t, "deleted:", deleted ? "yes" : "no");
	free(note);
	if (json_is_object(cur)) {
		tsinvctl_device_block(t, cur, json_object_get(cur, "volatile"));
	} else if (json_is_object(json_object_get(res, "last"))) {
		/* A deleted device: what it was when last seen. */
		table_add_row(t, "last version:", "(as last seen, before it was deleted)");
		tsinvctl_device_block(t, json_object_get(res, "last"), NULL);
	}
	table_print(t, stdout);
	table_free(t);
	if (json_is_array(versions))
		tsinvctl_device_history(versions);
	return 0;
}

static int
tsinvctl_device(const struct tsinvctl_cmd *cmd, const struct tsinvctl_args *a)
{
	json_t *args = json_object();
	int rc;

	if ((rc = tsinvctl_arg_str(cmd, args, "query", a->arg)) != 0) {
		json_decref(args);
		return rc;
	}
	return tsinvctl_query(cmd, a, args, tsinvctl_device_show, NULL);
}

/* "laptop (nAbc123CNTRL)", cleaned for the terminal (malloc'd). */
static char *
tsinvctl_holder(json_t *h)
{
	char *name = tsinvctl_shortname(h), *s, *c;
	const char *node = tsinvctl_str(h, "nodeId");

	s = xasprintf("%s (%s)", name, node != NULL ? node : "-");
	c = table_clean(s);
	free(name);
	free(s);
	return c;
}

/* The window a "maybe" falls in: the holder's arrival if AT is before from_hi, else its leaving. */
static void
tsinvctl_maybe_window(json_t *h, const char *at, struct sbuf *sb)
{
	const char *lo = tsinvctl_str(h, "from_lo"), *hi = tsinvctl_str(h, "from_hi");
	char l[TSINVCTL_TIMELEN], r[TSINVCTL_TIMELEN];
	tstime_t t, thi;

	if (at == NULL || tstime_parse_rfc3339(at, &t) != 0 || hi == NULL ||
	    tstime_parse_rfc3339(hi, &thi) != 0 || t >= thi) {
		lo = tsinvctl_str(h, "to_lo");
		hi = tsinvctl_str(h, "to_hi");
	}
	if (lo != NULL && hi != NULL)
		sbuf_addf(sb, " (changed between %s and %s)", tsinvctl_time(lo, l, sizeof l),
		          tsinvctl_time(hi, r, sizeof r));
}

static void
tsinvctl_ip_answer(json_t *res, const char *at, struct sbuf *sb)
{
	const char *answer = tsinvctl_str(res, "answer"), *reason = tsinvctl_str(res, "reason");
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
		if (held && tsinvctl_is(h, "state", "maybe"))
			continue;
		if (n++ > 0)
			sbuf_adds(sb, held ? ", " : "; or ");
		who = tsinvctl_holder(h);
		sbuf_adds(sb, who);
		free(who);
		if (!held)
			tsinvctl_maybe_window(h, at, sb);
	}
	if (n == 0)
		sbuf_adds(sb, "(no holder listed)");
}

static void
tsinvctl_ip_history(json_t *intervals)
{
	static const char *const hdr[] = {"NODE", "NAME", "FROM", "TO"};
	struct table *t = table_new(4, hdr);
	char from[2 * TSINVCTL_TIMELEN + 8], to[2 * TSINVCTL_TIMELEN + 8], *name;
	json_t *v;
	size_t i;

	json_array_foreach(intervals, i, v)
	{
		tsinvctl_bounds(v, from, to, sizeof from);
		name = tsinvctl_shortname(v);
		table_add_row(t, tsinvctl_str(v, "nodeId"), name, from, to);
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
tsinvctl_ip_show(json_t *res, const struct tsinvctl_args *a)
{
	const char *ip = tsinvctl_str(res, "ip"), *at = tsinvctl_str(res, "at");
	char when[TSINVCTL_TIMELEN], *line, *clean;
	struct sbuf sb = {0};

	if (at == NULL)
		at = a->at;
	sbuf_addf(&sb, "%s at %s: ", ip != NULL ? ip : a->arg,
	          at != NULL ? tsinvctl_time(at, when, sizeof when) : "now");
	tsinvctl_ip_answer(res, at, &sb);
	line = sbuf_steal(&sb);
	clean = table_clean(line);
	puts(clean);
	free(clean);
	free(line);
	if (a->history)
		tsinvctl_ip_history(json_object_get(res, "intervals"));
	return 0;
}

static int
tsinvctl_ip(const struct tsinvctl_cmd *cmd, const struct tsinvctl_args *a)
{
	char buf[ADDR_STRLEN];
	struct tsaddr addr;

	if (addr_parse(a->arg, &addr) != 0)
		return tsinvctl_usage_error(cmd, "bad address \"%s\"", a->arg);
	addr_format(&addr, buf, sizeof buf);
	return tsinvctl_query(cmd, a, json_pack("{s:s}", "ip", buf), tsinvctl_ip_show, NULL);
}

/* ---- users, keys, webhooks: lists of versioned records ---- */

/* The text of a JSON value for a cell (malloc'd): a string as it is, anything else but null as
 * compact JSON; NULL for null or nothing. */
static char *
tsinvctl_cell_json(json_t *v)
{
	if (v == NULL || json_is_null(v))
		return NULL;
	if (json_is_string(v))
		return xstrdup(json_string_value(v));
	return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* The elements of array V joined by ",", or V itself when it is not an array (malloc'd, or
 * NULL when there is nothing to show). */
static char *
tsinvctl_cell_list(json_t *v)
{
	struct sbuf sb = {0};
	json_t *e;
	size_t i;
	char *s;

	if (!json_is_array(v))
		return tsinvctl_cell_json(v);
	json_array_foreach(v, i, e)
	{
		if ((s = tsinvctl_cell_json(e)) == NULL)
			continue;
		sbuf_addf(&sb, "%s%s", sb.len > 0 ? "," : "", s);
		free(s);
	}
	if (sb.len == 0) {
		sbuf_free(&sb);
		return NULL;
	}
	return sbuf_steal(&sb);
}

/* S with a "?" when it may not have held at the time asked about (malloc'd). */
static char *
tsinvctl_marked(const char *s, int maybe)
{
	return xasprintf("%s%s", s != NULL && *s != '\0' ? s : "-", maybe ? "?" : "");
}

/* The date of an RFC 3339 time, "-" for none or Go's zero time. Always into BUF (>= 11). */
static const char *
tsinvctl_date(const char *t, char *buf, size_t len)
{
	if (t == NULL || strlen(t) < 10 || strncmp(t, "0001-01-01", 10) == 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.10s", t);
	return buf;
}

/* Why the daemon cannot tell, cleaned for the terminal (malloc'd). */
static char *
tsinvctl_reason(json_t *res)
{
	const char *reason = tsinvctl_str(res, "reason");

	return table_clean(reason != NULL ? reason : "no reason given");
}

/* One entry of a listing and the strings it is sorted by. */
struct tsinvctl_listrow {
	const char *k1, *k2;
	json_t *entry;
};

static int
tsinvctl_listrow_cmp(const void *va, const void *vb)
{
	const struct tsinvctl_listrow *a = va, *b = vb;
	int c = strcmp(a->k1, b->k1);

	return c != 0 ? c : strcmp(a->k2, b->k2);
}

/* The object entries of RES's array LIST sorted by the members K1, then K2, of their object
 * INNER: an array (malloc'd) of *N rows whose entries are borrowed from RES. */
static struct tsinvctl_listrow *
tsinvctl_list_sorted(json_t *res, const char *list, const char *inner, const char *k1,
                     const char *k2, size_t *n)
{
	json_t *arr = json_object_get(res, list), *e, *o;
	struct tsinvctl_listrow *rows = xcalloc(json_array_size(arr) + 1, sizeof *rows);
	const char *s;
	size_t i;

	*n = 0;
	json_array_foreach(arr, i, e)
	{
		if (!json_is_object(e))
			continue;
		o = json_object_get(e, inner);
		rows[*n].k1 = (s = tsinvctl_str(o, k1)) != NULL ? s : "";
		rows[*n].k2 = (s = tsinvctl_str(o, k2)) != NULL ? s : "";
		rows[(*n)++].entry = e;
	}
	qsort(rows, *n, sizeof *rows, tsinvctl_listrow_cmp);
	return rows;
}

/* The daemon's note on an answer (an endpoint it no longer polls), unless the reason for an
 * unknown coverage said it already. */
static void
tsinvctl_note(json_t *res, int unknown)
{
	const char *note = tsinvctl_str(res, "note");

	if (note != NULL && !unknown)
		printf("\nnote: %s\n", note);
}

/* Prints the table, or NONE when it is empty, or why the daemon cannot tell; then the notes
 * that "maybe" rows and an unknown coverage call for. */
static void
tsinvctl_list_print(json_t *res, struct table *t, const char *none, size_t nmaybe)
{
	int unknown = tsinvctl_is(res, "coverage", "unknown");
	char *reason = tsinvctl_reason(res);

	if (table_nrows(t) > 0)
		table_print(t, stdout);
	else if (unknown)
		printf("unknown: %s\n", reason);
	else
		puts(none);
	if (table_nrows(t) > 0 && unknown)
		printf("\nunknown: %s; the list may be incomplete\n", reason);
	if (nmaybe > 0)
		puts("\n? = may have been present (the change happened between two polls)");
	tsinvctl_note(res, unknown);
	free(reason);
}

static int
tsinvctl_users_show(json_t *res, const struct tsinvctl_args *a)
{
	static const char *const hdr[] = {"LOGIN", "NAME", "ROLE", "STATUS", "DEVICES", "TYPE"};
	struct table *t = table_new(6, hdr);
	struct tsinvctl_listrow *rows;
	size_t i, n, nmaybe = 0;

	rows = tsinvctl_list_sorted(res, "users", "user", "loginName", "id", &n);
	for (i = 0; i < n; i++) {
		json_t *u = json_object_get(rows[i].entry, "user");
		json_t *vol = json_object_get(rows[i].entry, "volatile");
		const char *login = tsinvctl_str(u, "loginName"),
		           *status = tsinvctl_str(u, "status");
		int maybe = tsinvctl_is(rows[i].entry, "state", "maybe");
		char devices[24] = "-", *first;
		double v;

		/* The recorded status holds idle as active; the live one tells them apart. */
		if (tsinvctl_str(vol, "status") != NULL)
			status = tsinvctl_str(vol, "status");
		if (tsinvctl_num(vol, "deviceCount", &v) == 0)
			snprintf(devices, sizeof devices, "%.0f", v);
		if (login == NULL || *login == '\0')
			login = tsinvctl_str(u, "id");
		first = tsinvctl_marked(login, maybe);
		nmaybe += maybe;
		table_add_row(t, first, tsinvctl_str(u, "displayName"), tsinvctl_str(u, "role"),
		              status, devices, tsinvctl_str(u, "type"));
		free(first);
	}
	free(rows);
	tsinvctl_list_print(res, t, "no users", nmaybe);
	table_free(t);
	return 0;
}

static int
tsinvctl_users(const struct tsinvctl_cmd *cmd, const struct tsinvctl_args *a)
{
	return tsinvctl_query(cmd, a, NULL, tsinvctl_users_show, NULL);
}

/* "reusable,preauthorized,tags=tag:ci+tag:x": what an auth key lets a device do, the true flags
 * only; an OAuth client's own tags when it has no device capabilities (malloc'd, or NULL). */
static char *
tsinvctl_key_caps(json_t *key)
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
	tags = tsinvctl_join(json_object_get(create, "tags"), "+");
	if (tags == NULL)
		tags = tsinvctl_join(json_object_get(key, "tags"), "+");
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
tsinvctl_keys_show(json_t *res, const struct tsinvctl_args *a)
{
	static const char *const hdr[] = {"ID",          "TYPE",         "CREATOR",
	                                  "DESCRIPTION", "CREATED",      "EXPIRES",
	                                  "STATE",       "CAPABILITIES", "SCOPES"};
	struct table *t = table_new(9, hdr);
	const char *within = tsinvctl_str(res, "expiring_within");
	struct tsinvctl_listrow *rows;
	size_t i, n, nmaybe = 0;
	char *none;

	rows = tsinvctl_list_sorted(res, "keys", "key", "created", "id", &n);
	for (i = 0; i < n; i++) {
		json_t *e = rows[i].entry, *k = json_object_get(e, "key");
		const char *id = tsinvctl_str(k, "id"), *creator = tsinvctl_str(e, "creator");
		int maybe = tsinvctl_is(e, "state", "maybe");
		char created[TSINVCTL_TIMELEN], expires[TSINVCTL_TIMELEN], *first, *caps, *scopes;

		if (id == NULL)
			id = tsinvctl_str(e, "id");
		/* The creator's login when the users history knows it, else the bare user id. */
		if (creator == NULL || *creator == '\0')
			creator = tsinvctl_str(k, "userId");
		first = tsinvctl_marked(id, maybe);
		caps = tsinvctl_key_caps(k);
		scopes = tsinvctl_join(json_object_get(k, "scopes"), ",");
		nmaybe += maybe;
		table_add_row(t, first, tsinvctl_str(k, "keyType"), creator,
		              tsinvctl_str(k, "description"),
		              tsinvctl_date(tsinvctl_str(k, "created"), created, sizeof created),
		              tsinvctl_date(tsinvctl_str(k, "expires"), expires, sizeof expires),
		              tsinvctl_str(k, "state"), caps, scopes);
		free(first);
		free(caps);
		free(scopes);
	}
	free(rows);
	if (within == NULL)
		within = a->expiring;
	none = within != NULL ? xasprintf("no active key expires within %s", within)
	                      : xstrdup("no keys");
	tsinvctl_list_print(res, t, none, nmaybe);
	free(none);
	table_free(t);
	return 0;
}

static int
tsinvctl_keys(const struct tsinvctl_cmd *cmd, const struct tsinvctl_args *a)
{
	json_t *args = json_object();

	if (a->expiring != NULL)
		json_object_set_new(args, "expiring", json_string(a->expiring));
	if (a->all)
		json_object_set_new(args, "all", json_true());
	return tsinvctl_query(cmd, a, args, tsinvctl_keys_show, NULL);
}

static int
tsinvctl_webhooks_show(json_t *res, const struct tsinvctl_args *a)
{
	static const char *const hdr[] = {"ID", "URL", "PROVIDER", "CREATOR", "SUBSCRIPTIONS"};
	struct table *t = table_new(5, hdr);
	struct tsinvctl_listrow *rows;
	size_t i, n, nmaybe = 0;

	rows = tsinvctl_list_sorted(res, "webhooks", "webhook", "endpointUrl", "endpointId", &n);
	for (i = 0; i < n; i++) {
		json_t *e = rows[i].entry, *w = json_object_get(e, "webhook");
		const char *id = tsinvctl_str(w, "endpointId");
		int maybe = tsinvctl_is(e, "state", "maybe");
		char *first, *subs;

		if (id == NULL)
			id = tsinvctl_str(e, "id");
		first = tsinvctl_marked(id, maybe);
		subs = tsinvctl_join(json_object_get(w, "subscriptions"), ",");
		nmaybe += maybe;
		table_add_row(t, first, tsinvctl_str(w, "endpointUrl"),
		              tsinvctl_str(w, "providerType"), tsinvctl_str(w, "creatorLoginName"),
		              subs);
		free(first);
		free(subs);
	}
	free(rows);
	tsinvctl_list_print(res, t, "no webhooks", nmaybe);
	table_free(t);
	return 0;
}

static int
tsinvctl_webhooks(const struct tsinvctl_cmd *cmd, const struct tsinvctl_args *a)
{
	return tsinvctl_query(cmd, a, NULL, tsinvctl_webhooks_show, NULL);
}

/* ---- dns, settings: one versioned object per tailnet ---- */

/* "since:" and "until:" rows from the bounds of O. */
static void
tsinvctl_since_until(struct table *t, json_t *o)
{
	char buf[2 * TSINVCTL_TIMELEN + 8];

	table_add_row(t, "since:",
	              tsinvctl_window(tsinvctl_str(o, "from_lo"), tsinvctl_str(o, "from_hi"), NULL,
	                              buf, sizeof buf));
	table_add_row(t, "until:",
	              tsinvctl_window(tsinvctl_str(o, "to_lo"), tsinvctl_str(o, "to_hi"), "now",
	                              buf, sizeof buf));
}

/* "8.8.8.8, 1.1.1.1": the strings of ARR, or the "address" of its objects (malloc'd, or NULL). */
static char *
tsinvctl_resolvers(json_t *arr)
{
	struct sbuf sb = {0};
	const char *s;
	json_t *v;
	size_t i;

	json_array_foreach(arr, i, v)
	{
		s = json_is_string(v) ? json_string_value(v) : tsinvctl_str(v, "address");
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
tsinvctl_dns_block(struct table *t, json_t *dns)
{
	json_t *split = json_object_get(dns, "splitDNS"), *v;
	const char *domain;
	char *s, *line;

	s = tsinvctl_resolvers(json_object_get(dns, "nameservers"));
	table_add_row(t, "nameservers:", s);
	free(s);
	table_add_row(t, "magicDNS:", tsinvctl_yesno(dns, "magicDNS"));
	tsinvctl_kv_list(t, "searchPaths:", json_object_get(dns, "searchPaths"));
	if (json_object_size(split) == 0)
		table_add_row(t, "splitDNS:", NULL);
	json_object_foreach(split, domain, v)
	{
		s = tsinvctl_resolvers(v);
		line = xasprintf("%s: %s", domain, s != NULL ? s : "(no resolvers)");
		table_add_row(t, "splitDNS:", line);
		free(line);
		free(s);
	}
}

static void
tsinvctl_settings_block(struct table *t, json_t *settings)
{
	const char *name;
	char *key, *val;
	json_t *v;

	json_object_foreach(settings, name, v)
	{
		/* The API withholds what the credential has no scope for. */
		val = json_is_null(v) ? xstrdup("(withheld)") : tsinvctl_cell_json(v);
		key = xasprintf("%s:", name);
		table_add_row(t, key, val);
		free(key);
		free(val);
	}
}

typedef void (*tsinvctl_block_fn)(struct table *t, json_t *obj);

/* dns and settings: the version in force now or at --at, its time bounds, and with --history
 * every version, oldest first. MEMBER names the object in the result and in each version. */
static void
tsinvctl_config_show(json_t *res, const struct tsinvctl_args *a, const char *member,
                     const char *what, tsinvctl_block_fn block)
{
	json_t *obj = json_object_get(res, member), *versions = json_object_get(res, "versions");
	char when[TSINVCTL_TIMELEN], n[48], *reason, *note;
	struct table *t;
	json_t *v;
	size_t i;

	if (json_is_object(obj)) {
		t = table_new(2, NULL);
		if (tsinvctl_is(res, "state", "maybe") && a->at != NULL) {
			note = xasprintf("maybe (it changed between two polls around %s)",
			                 tsinvctl_time(a->at, when, sizeof when));
			table_add_row(t, "state:", note);
			free(note);
		}
		block(t, obj);
		tsinvctl_since_until(t, res);
		table_print(t, stdout);
		table_free(t);
	} else if (tsinvctl_is(res, "coverage", "unknown")) {
		reason = tsinvctl_reason(res);
		printf("unknown: %s\n", reason);
		free(reason);
	} else
		printf("no %s recorded%s\n", what, a->at != NULL ? " at that time" : "");
	tsinvctl_note(res, tsinvctl_is(res, "coverage", "unknown"));
	if (!json_is_array(versions))
		return;
	json_array_foreach(versions, i, v)
	{
		t = table_new(2, NULL);
		snprintf(n, sizeof n, "%zu of %zu", i + 1, json_array_size(versions));
		table_add_row(t, "version:", n);
		block(t, json_object_get(v, member));
		tsinvctl_since_until(t, v);
		fputc('\n', stdout);
		table_print(t, stdout);
		table_free(t);
	}
}

static int
tsinvctl_dns_show(json_t *res, const struct tsinvctl_args *a)
{
	tsinvctl_config_show(res, a, "dns", "DNS configuration", tsinvctl_dns_block);
	return 0;
}

static int
tsinvctl_dns(const struct tsinvctl_cmd *cmd, const struct tsinvctl_args *a)
{
	return tsinvctl_query(cmd, a, NULL, tsinvctl_dns_show, NULL);
}

static int
tsinvctl_settings_show(json_t *res, const struct tsinvctl_args *a)
{
	tsinvctl_config_show(res, a, "settings", "settings", tsinvctl_settings_block);
	return 0;
}

static int
tsinvctl_settings(const struct tsinvctl_cmd *cmd, const struct tsinvctl_args *a)
{
	return tsinvctl_query(cmd, a, NULL, tsinvctl_settings_show, NULL);
}

/* ---- acl: the policy file ---- */

/* Checks REV, a revision number or a SHA-256 prefix, and puts it lower-cased into BUF (at least
 * 65 bytes); 0 or the usage exit code. */
static int
tsinvctl_rev(const struct tsinvctl_cmd *cmd, const char *rev, char *buf, size_t len)
{
	size_t n = strlen(rev), i;

	/* The daemon's rule, and no revision 0 (counting starts at 1). */
	if (!entity_rev_ok(rev) || (n < ENTITY_REV_HEX_MIN && strspn(rev, "0") == n))
		return tsinvctl_usage_error(
		    cmd,
		    "%s: bad REV \"%s\": a revision number (1, 2, ...) or at "
		    "least %d hex digits of its SHA-256",
		    cmd->name, rev, ENTITY_REV_HEX_MIN);
	for (i = 0; i < n && i + 1 < len; i++)
		buf[i] = (char)(rev[i] >= 'A' && rev[i] <= 'F' ? rev[i] - 'A' + 'a' : rev[i]);
	buf[i] = '\0';
	return 0;
}

/* policy.get of revision REV (checked), or of --at, or the current one: 0 and *RESULT, a new
 * reference with a "text" string, or an exit code after saying why. */
static int
tsinvctl_policy_get(const struct tsinvctl_cmd *cmd, const struct tsinvctl_args *a, const char *rev,
                    json_t **result)
{
	json_t *args = json_object();
	int rc;

	if (rev != NULL)
		json_object_set_new(args, "rev", json_string(rev));
	if ((rc = tsinvctl_fetch(cmd, a, args, result)) != 0)
		return rc;
	if (!json_is_string(json_object_get(*result, "text"))) {
		json_decref(*result);
		*result = NULL;
		return tsinvctl_bad_reply("the policy revision has no text");
	}
	return 0;
}

/* "policy rev 3 (sha256 abcd1234ef56, 2026-11-25T16:00:00Z)": the revision and when a poll
 * first saw it. Always into BUF. */
static const char *
tsinvctl_policy_label(json_t *res, char *buf, size_t len)
{
	const char *sha = tsinvctl_str(res, "sha256");
	char when[TSINVCTL_TIMELEN];
	double rev;

	if (tsinvctl_num(res, "rev", &rev) != 0 || !(rev >= 0 && rev < 1e15))
		rev = 0;
	tsinvctl_time(tsinvctl_str(res, "from_hi"), when, sizeof when);
	snprintf(buf, len, "policy rev %.0f (sha256 %.*s, %s)", rev, TSINVCTL_SHORTHASH,
	         sha != NULL ? sha : "?", when);
	return buf;
}

/* The policy text of RES parsed: a new reference to an object, or NULL after saying why. */
static json_t *
tsinvctl_policy_parse(json_t *res)
{
	json_t *text = json_object_get(res, "text"), *policy;
	struct hujson_error err;
	char label[128], *msg;

	tsinvctl_policy_label(res, label, sizeof label);
	policy = hujson_parse(json_string_value(text), json_string_length(text), &err);
	if (policy == NULL) {
		msg = table_clean(err.message);
		fprintf(stderr, "tsinvctl: %s: line %d, column %d: %s\n", label, err.line,
		        err.column, msg);
		free(msg);
	} else if (!json_is_object(policy)) {
		fprintf(stderr, "tsinvctl: %s: not a JSON object\n", label);
		json_decref(policy);
		policy = NULL;
	}
	return policy;
}

/* Sets KEY of O to RES's member KEY, or to null. */
static void
tsinvctl_copy_member(json_t *o, json_t *res, const char *key)
{
	json_t *v = json_object_get(res, key);

	json_object_set_new(o, key, v != NULL ? json_incref(v) : json_null());
}

/* {"tailnet","rev","sha256","at"} of the revision RES, and "state" when the daemon gave one:
 * the head of acl groups and acl rules as JSON (a new reference). */
static json_t *
tsinvctl_policy_head(json_t *res, const struct tsinvctl_args *a)
{
	json_t *o = json_object();

	tsinvctl_copy_member(o, res, "tailnet");
	tsinvctl_copy_member(o, res, "rev");
	tsinvctl_copy_member(o, res, "sha256");
	json_object_set_new(o, "at", a->at != NULL ? json_string(a->at) : json_null());
	if (json_object_get(res, "state") != NULL)
		tsinvctl_copy_member(o, res, "state");
	return o;
}

/* The revision read, after a table made from it; says so when it may not have been the one in
 * force at --at. */
static void
tsinvctl_policy_footer(json_t *res, const struct tsinvctl_args *a)
{
	char label[128], when[TSINVCTL_TIMELEN];

	printf("\n%s", tsinvctl_policy_label(res, label, sizeof label));
	if (tsinvctl_is(res, "state", "maybe") && a->at != NULL)
		printf(": maybe in force at %s (it changed between two polls around then)",
		       tsinvctl_time(a->at, when, sizeof when));
	fputc('\n', stdout);
}

static void
tsinvctl_acl_groups_show(json_t *res, json_t *policy, const struct tsinvctl_args *a)
{
	static const char *const hdr[] = {"TAILNET", "GROUP", "MEMBER"};
	struct table *t = table_new(3, hdr);
	json_t *rows = policy_groups(policy), *r;
	size_t i;
	char *member;

	if (opts.json) {
		json_t *o = tsinvctl_policy_head(res, a);

		json_object_set(o, "groups", rows);
		tsinvctl_print_json(o);
		json_decref(o);
	} else {
		json_array_foreach(rows, i, r)
		{
			member = tsinvctl_cell_json(json_object_get(r, "member"));
			table_add_row(t, tsinvctl_str(res, "tailnet"), tsinvctl_str(r, "group"),
			              member);
			free(member);
		}
		if (table_nrows(t) > 0)
			table_print(t, stdout);
		else
			puts("no groups");
		tsinvctl_policy_footer(res, a);
	}
	json_decref(rows);
	table_free(t);
}

/* PROTO/IP of a grant: its ip list, then "app:NAME" for each application capability. */
static char *
tsinvctl_grant_ip(json_t *rule)
{
	char *ip = tsinvctl_cell_list(json_object_get(rule, "ip"));
	struct sbuf sb = {0};
	const char *name;
	json_t *v;

	if (ip != NULL)
		sbuf_adds(&sb, ip);
	free(ip);
	json_object_foreach(json_object_get(rule, "app"), name, v)
	{
		sbuf_addf(&sb, "%sapp:%s", sb.len > 0 ? "," : "", name);
	}
	if (sb.len == 0) {
		sbuf_free(&sb);
		return NULL;
	}
	return sbuf_steal(&sb);
}

static void
tsinvctl_acl_rule_row(struct table *t, json_t *r)
{
	const char *section = tsinvctl_str(r, "section");
	char *where, *src, *dst, *ip, *users, *check;
	double index = 0;

	if (tsinvctl_num(r, "index", &index) != 0 || !(index >= 0 && index < 1e15))
		index = 0;
	where = xasprintf("%s[%.0f]", section != NULL ? section : "?", index);
	if (json_object_get(r, "invalid") != NULL) {
		table_add_row(t, where, "(not an object)", NULL, NULL, NULL, NULL, NULL);
		free(where);
		return;
	}
	src = tsinvctl_cell_list(json_object_get(r, "src"));
	dst = tsinvctl_cell_list(json_object_get(r, "dst"));
	if (section != NULL && strcmp(section, "grants") == 0)
		ip = tsinvctl_grant_ip(r);
	else
		ip = tsinvctl_cell_list(json_object_get(r, "proto"));
	users = tsinvctl_cell_list(json_object_get(r, "users"));
	check = tsinvctl_cell_json(json_object_get(r, "checkPeriod"));
	table_add_row(t, where, tsinvctl_str(r, "action"), src, dst, ip, users, check);
	free(where);
	free(src);
	free(dst);
	free(ip);
	free(users);
	free(check);
}

static void
tsinvctl_acl_rules_show(json_t *res, json_t *policy, const struct tsinvctl_args *a)
{
	static const char *const hdr[] = {"SECTION",  "ACTION", "SRC",  "DST",
	                                  "PROTO/IP", "USERS",  "CHECK"};
	struct table *t = table_new(7, hdr);
	json_t *rows = policy_rules(policy), *sum = policy_summary(policy), *r, *why;
	size_t i;
	char *s;

	if (opts.json) {
		json_t *o = tsinvctl_policy_head(res, a);

		json_object_set(o, "rules", rows);
		json_object_set(o, "summary", sum);
		tsinvctl_print_json(o);
		json_decref(o);
	} else {
		json_array_foreach(rows, i, r) tsinvctl_acl_rule_row(t, r);
		if (table_nrows(t) > 0)
			table_print(t, stdout);
		else
			puts("no rules: nothing is allowed");
		tsinvctl_policy_footer(res, a);
		printf("micro-segmented: %s\n",
		       json_is_true(json_object_get(sum, "micro_segmented")) ? "yes" : "no");
		json_array_foreach(json_object_get(sum, "reasons"), i, why)
		{
			s = table_clean(json_is_string(why) ? json_string_value(why) : "?");
			printf("  %s\n", s);
			free(s);
		}
	}
	json_decref(rows);
	json_decref(sum);
	table_free(t);
}

typedef void (*tsinvctl_policy_show_fn)(json_t *res, json_t *policy, const struct tsinvctl_args *a);

/* acl groups and acl rules: the revision in force now or at --at, parsed and shown by SHOW. */
static int
tsinvctl_acl_parsed(const struct tsinvctl_cmd *cmd, const struct tsinvctl_args *a,
                    tsinvctl_policy_show_fn show)
{
	json_t *res, *policy;
	int rc;

	if ((rc = tsinvctl_policy_get(cmd, a, NULL, &res)) != 0)
		return rc;
	if ((policy = tsinvctl_policy_parse(res)) == NULL) {
		json_decref(res);
		return TSINVCTL_EXIT_ERROR;
	}
	show(res, policy, a);
	json_decref(policy);
	json_decref(res);
	return 0;
}

static int
tsinvctl_acl_groups(const struct tsinvctl_cmd *cmd, const struct tsinvctl_args *a)
{
	return tsinvctl_acl_parsed(cmd, a, tsinvctl_acl_groups_show);
}

static int
tsinvctl_acl_rules(const struct tsinvctl_cmd *cmd, const struct tsinvctl_args *a)
{
	return tsinvctl_acl_parsed(cmd, a, tsinvctl_acl_rules_show);
}

static int
tsinvctl_acl_log_show(json_t *res, const struct tsinvctl_args *a)
{
	static const char *const hdr[] = {"REV", "FROM", "TO", "SHA256", "ETAG", "SIZE"};
	struct table *t = table_new(6, hdr);
	char from[2 * TSINVCTL_TIMELEN + 8], to[2 * TSINVCTL_TIMELEN + 8], rev[32], size[32];
	char sha[TSINVCTL_SHORTHASH + 1], etag[TSINVCTL_SHORTHASH + 1];
	const char *e;
	int ncurrent = 0;
	json_t *r;
	size_t i;
	double v;

	json_array_foreach(json_object_get(res, "revisions"), i, r)
	{
		int current = json_is_true(json_object_get(r, "current"));

		snprintf(rev, sizeof rev, "?%s", current ? "*" : "");
		if (tsinvctl_num(r, "rev", &v) == 0)
			snprintf(rev, sizeof rev, "%.0f%s", v, current ? "*" : "");
		ncurrent += current;
		tsinvctl_bounds(r, from, to, sizeof from);
		snprintf(sha, sizeof sha, "%s",
		         tsinvctl_str(r, "sha256") != NULL ? tsinvctl_str(r, "sha256") : "");
		/* Tailscale's ETags are hex digests too: shortened alike; any other shown whole. */
		e = tsinvctl_str(r, "etag");
		if (e != NULL && strspn(e, "0123456789abcdefABCDEF") == strlen(e)) {
			snprintf(etag, sizeof etag, "%s", e);
			e = etag;
		}
		snprintf(size, sizeof size, "-");
		if (tsinvctl_num(r, "size", &v) == 0)
			snprintf(size, sizeof size, "%.0f", v);
		table_add_row(t, rev, from, to, sha, e, size);
	}
	if (table_nrows(t) > 0)
		table_print(t, stdout);
	else
		puts("no policy revisions recorded");
	if (ncurrent > 0)
		puts("\n* = the current revision");
	table_free(t);
	return 0;
}

static int
tsinvctl_acl_log(const struct tsinvctl_cmd *cmd, const struct tsinvctl_args *a)
{
	return tsinvctl_query(cmd, a, NULL, tsinvctl_acl_log_show, NULL);
}

static int
tsinvctl_acl_show(const struct tsinvctl_cmd *cmd, const struct tsinvctl_args *a)
{
	char rev[65];
	json_t *res, *text;
	int rc;

	if (a->arg != NULL && a->at != NULL)
		return tsinvctl_usage_error(cmd, "%s: REV and --at do not go together", cmd->name);
	if (a->arg != NULL && (rc = tsinvctl_rev(cmd, a->arg, rev, sizeof rev)) != 0)
		return rc;
	if ((rc = tsinvctl_policy_get(cmd, a, a->arg != NULL ? rev : NULL, &res)) != 0)
		return rc;
	if (opts.json)
		tsinvctl_print_json(res);
	else {
		/* Byte for byte, comments and all, so that it can be saved and compared. */
		text = json_object_get(res, "text");
		fwrite(json_string_value(text), 1, json_string_length(text), stdout);
	}
	json_decref(res);
	return 0;
}

/* A revision as the JSON of acl diff shows it: all but its text (a new reference). */
static json_t *
tsinvctl_policy_meta(json_t *res)
{
	json_t *o = json_copy(res);

	json_object_del(o, "text");
	return o;
}

static int
tsinvctl_acl_diff(const struct tsinvctl_cmd *cmd, const struct tsinvctl_args *a)
{
	char rev1[65], rev2[65], label1[128], label2[128], *out, *cause;
	json_t *r1, *r2, *t1, *t2, *o;
	int rc;

	if ((rc = tsinvctl_rev(cmd, a->arg, rev1, sizeof rev1)) != 0 ||
	    (rc = tsinvctl_rev(cmd, a->arg2, rev2, sizeof rev2)) != 0)
		return rc;
	if ((rc = tsinvctl_policy_get(cmd, a, rev1, &r1)) != 0)
		return rc;
	if ((rc = tsinvctl_policy_get(cmd, a, rev2, &r2)) != 0) {
		json_decref(r1);
		return rc;
	}
	t1 = json_object_get(r1, "text");
	t2 = json_object_get(r2, "text");
	tsinvctl_policy_label(r1, label1, sizeof label1);
	tsinvctl_policy_label(r2, label2, sizeof label2);
	if (udiff(json_string_value(t1), json_string_length(t1), json_string_value(t2),
	          json_string_length(t2), label1, label2, TSINVCTL_DIFF_CONTEXT, &out,
	          &cause) != 0) {
		fprintf(stderr, "tsinvctl: %s: %s\n", cmd->name, cause);
		free(cause);
		rc = TSINVCTL_EXIT_ERROR;
	} else if (opts.json) {
		o = json_pack("{s:O?, s:o, s:o, s:s}", "tailnet", json_object_get(r2, "tailnet"),
		              "from", tsinvctl_policy_meta(r1), "to", tsinvctl_policy_meta(r2),
		              "diff", out);
		if (o == NULL)
			rc = tsinvctl_bad_reply("the diff is not valid UTF-8");
		else
			tsinvctl_print_json(o);
		json_decref(o);
		free(out);
	} else {
		/* Like diff(1): nothing at all when the two are the same. */
		fputs(out, stdout);
		free(out);
	}
	json_decref(r1);
	json_decref(r2);
	return rc;
}

/* One event as the cells of a row: SEQ TIME TAILNET TYPE ENTITY CHANGE. */
struct tsinvctl_evrow {
	char seq[24];
	char time[TSINVCTL_TIMELEN];
	const char *tailnet, *type;
	char *entity; /* malloc'd */
	char *change; /* malloc'd, or NULL */
};

/* A device's first label; a user's or key's name whole (malloc'd, or NULL). */
static char *
tsinvctl_ev_name(json_t *o, const char *kind)
{
	const char *s = tsinvctl_str(o, "name");

	if (s == NULL || *s == '\0')
		return NULL;
	if (kind != NULL && strcmp(kind, "device") == 0)
		return tsinvctl_shortname(o);
	return xstrdup(s);
}

/* "old → new", or NULL when neither is known. */
static char *
tsinvctl_ev_pair(const char *before, const char *after)
{
	if (before == NULL && after == NULL)
		return NULL;
	return xasprintf("%s \u2192 %s", before != NULL && *before != '\0' ? before : "-",
	                 after != NULL && *after != '\0' ? after : "-");
}

static char *
tsinvctl_change_renamed(json_t *ev)
{
	json_t *b = json_object_get(ev, "before"), *a = json_object_get(ev, "after");
	char *bn = tsinvctl_ev_name(b, "device"), *an = tsinvctl_ev_name(a, "device"), *s;

	/* A hostname-only change keeps the name: show what moved. */
	if (bn != NULL && an != NULL && strcmp(bn, an) == 0)
		s = tsinvctl_ev_pair(tsinvctl_str(b, "hostname"), tsinvctl_str(a, "hostname"));
	else
		s = tsinvctl_ev_pair(bn, an);
	free(bn);
	free(an);
	return s;
}

static char *
tsinvctl_change_address(json_t *ev)
{
	const char *addr = tsinvctl_str(ev, "address");

	return addr != NULL ? xstrdup(addr) : NULL;
}

static char *
tsinvctl_change_tags(json_t *ev)
{
	char *b = tsinvctl_join(json_object_get(json_object_get(ev, "before"), "tags"), ",");
	char *a = tsinvctl_join(json_object_get(json_object_get(ev, "after"), "tags"), ",");
	char *s = xasprintf("%s \u2192 %s", b != NULL ? b : "none", a != NULL ? a : "none");

	free(b);
	free(a);
	return s;
}

static char *
tsinvctl_change_expiry(json_t *ev)
{
	const char *exp = tsinvctl_str(ev, "expires"), *within = tsinvctl_str(ev, "threshold");
	char t[TSINVCTL_TIMELEN];

	if (exp == NULL)
		return NULL;
	tsinvctl_time(exp, t, sizeof t);
	return within != NULL ? xasprintf("expires %s (within %s)", t, within)
	                      : xasprintf("expired %s", t);
}

static char *
tsinvctl_change_baseline(json_t *ev)
{
	double n;

	return tsinvctl_num(ev, "devices", &n) == 0 ? xasprintf("%.0f devices", n) : NULL;
}

/* What the CHANGE column shows, by event type; any other type lists the changed fields. */
static const struct {
	const char *type;
	char *(*fn)(json_t *ev);
} tsinvctl_changes[] = {
    {"device.renamed", tsinvctl_change_renamed},
    {"device.address.added", tsinvctl_change_address},
    {"device.address.removed", tsinvctl_change_address},
    {"device.tags.changed", tsinvctl_change_tags},
    {"device.key.expiring", tsinvctl_change_expiry},
    {"device.key.expired", tsinvctl_change_expiry},
    {"tailnet.baseline", tsinvctl_change_baseline},
};

static void
tsinvctl_evrow(json_t *ev, struct tsinvctl_evrow *r)
{
	json_t *entity = json_object_get(ev, "entity");
	const char *id = tsinvctl_str(entity, "id");
	double seq;
	size_t i;

	snprintf(r->seq, sizeof r->seq, "-");
	if (tsinvctl_num(ev, "seq", &seq) == 0)
		snprintf(r->seq, sizeof r->seq, "%.0f", seq);
	tsinvctl_time(tsinvctl_str(ev, "time"), r->time, sizeof r->time);
	r->tailnet = tsinvctl_str(ev, "tailnet");
	r->type = tsinvctl_str(ev, "type");
	r->entity = tsinvctl_ev_name(entity, tsinvctl_str(entity, "kind"));
	if (r->entity == NULL)
		r->entity = xstrdup(id != NULL ? id : "-");
	r->change = NULL;
	for (i = 0; i < sizeof tsinvctl_changes / sizeof tsinvctl_changes[0]; i++)
		if (r->type != NULL && strcmp(r->type, tsinvctl_changes[i].type) == 0)
			r->change = tsinvctl_changes[i].fn(ev);
	if (r->change == NULL)
		r->change = tsinvctl_join(json_object_get(ev, "changed"), ",");
}

static void
tsinvctl_evrow_free(struct tsinvctl_evrow *r)
{
	free(r->entity);
	free(r->change);
}

static int
tsinvctl_events_show(json_t *res, const struct tsinvctl_args *a)
{
	static const char *const hdr[] = {"SEQ", "TIME", "TAILNET", "TYPE", "ENTITY", "CHANGE"};
	struct table *t = table_new(6, hdr);
	struct tsinvctl_evrow r;
	json_t *ev;
	size_t i;
	double next;

	json_array_foreach(json_object_get(res, "events"), i, ev)
	{
		tsinvctl_evrow(ev, &r);
		table_add_row(t, r.seq, r.time, r.tailnet, r.type, r.entity, r.change);
		tsinvctl_evrow_free(&r);
	}
	if (table_nrows(t) > 0)
		table_print(t, stdout);
	else
		puts("no events");
	table_free(t);
	if (json_is_true(json_object_get(res, "more")) && tsinvctl_num(res, "next", &next) == 0)
		printf("\nmore: tsinvctl events --since %.0f\n", next);
	return 0;
}

/* The arguments of events.list and events.follow (a new reference), or NULL after a usage
 * error (*RC set). */
static json_t *
tsinvctl_events_args(const struct tsinvctl_cmd *cmd, const struct tsinvctl_args *a, int *rc)
{
	json_t *args = json_object();

	if (a->since != NULL)
		json_object_set(args, "since", a->since);
	if (a->types != NULL && (*rc = tsinvctl_arg_str(cmd, args, "type", a->types)) != 0) {
		json_decref(args);
		return NULL;
	}
	if (a->limit > 0)
		json_object_set_new(args, "limit", json_integer(a->limit));
	return args;
}

static volatile sig_atomic_t tsinvctl_stopped;

static void
tsinvctl_stop_handler(int sig)
{
	tsinvctl_stopped = 1;
}

/* A line reader over the stream of events.follow. */
struct tsinvctl_lines {
	char *buf;
	size_t len, cap, skip; /* skip: the line handed out last, dropped on the next call */
};

enum { TSINVCTL_LINE_OK, TSINVCTL_LINE_EOF, TSINVCTL_LINE_STOP, TSINVCTL_LINE_ERROR };

/* The next line (without its newline, valid until the next call); waits until DEADLINE (0: for
 * ever), or until SIGINT/SIGTERM. */
static int
tsinvctl_lines_next(struct tsinvctl_lines *lr, int fd, int64_t deadline, char **line, size_t *len)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	int64_t left;
	char *nl;
	ssize_t n;
	int ms;

	if (lr->skip > 0) {
		memmove(lr->buf, lr->buf + lr->skip, lr->len - lr->skip);
		lr->len -= lr->skip;
		lr->skip = 0;
	}
	for (;;) {
		if (lr->len > 0 && (nl = memchr(lr->buf, '\n', lr->len)) != NULL) {
			*line = lr->buf;
			*len = (size_t)(nl - lr->buf);
			lr->skip = *len + 1;
			return TSINVCTL_LINE_OK;
		}
		if (tsinvctl_stopped)
			return TSINVCTL_LINE_STOP;
		if (lr->len == lr->cap) {
			if (lr->cap >= TSINVCTL_FOLLOW_MAX_LINE) {
				fprintf(stderr, "tsinvctl: an event longer than %zu MiB\n",
				        TSINVCTL_FOLLOW_MAX_LINE >> 20);
				return TSINVCTL_LINE_ERROR;
			}
			lr->cap = lr->cap == 0 ? 65536 : lr->cap * 2;
			lr->buf = xrealloc(lr->buf, lr->cap);
		}
		n = recv(fd, lr->buf + lr->len, lr->cap - lr->len, 0);
		if (n > 0) {
			lr->len += (size_t)n;
			continue;
		}
		if (n == 0)
			return TSINVCTL_LINE_EOF;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return TSINVCTL_LINE_EOF; /* ECONNRESET: the daemon went away */
		ms = -1;
		if (deadline != 0) {
			if ((left = deadline - tsinvctl_mono()) <= 0) {
				tsinvctl_timed_out(opts.timeout ? opts.timeout : TSINVCTL_TIMEOUT);
				return TSINVCTL_LINE_ERROR;
			}
			ms = (int)((left + 999) / 1000);
		}
		if (poll(&pfd, 1, ms) == -1 && errno != EINTR)
			return TSINVCTL_LINE_EOF;
	}
}

/* One streamed event: printed unless seen already (a resumed stream starts after *LAST). */
static void
tsinvctl_follow_event(const char *line, size_t len, uint64_t *last)
{
	struct tsinvctl_evrow r;
	json_t *ev = json_loadb(line, len, 0, NULL), *seq = json_object_get(ev, "seq");
	char *cells[6];
	size_t i;

	if (!json_is_integer(seq)) {
		tsinvctl_bad_reply("a streamed line is not an event");
		json_decref(ev);
		return;
	}
	if ((uint64_t)json_integer_value(seq) <= *last) {
		json_decref(ev);
		return;
	}
	*last = (uint64_t)json_integer_value(seq);
	if (opts.json) {
		fwrite(line, 1, len, stdout);
		fputc('\n', stdout);
	} else {
		tsinvctl_evrow(ev, &r);
		cells[0] = table_clean(r.seq);
		cells[1] = table_clean(r.time);
		cells[2] = table_clean(r.tailnet != NULL ? r.tailnet : "-");
		cells[3] = table_clean(r.type != NULL ? r.type : "-");
		cells[4] = table_clean(r.entity);
		cells[5] = table_clean(r.change != NULL ? r.change : "-");
		printf("%-6s  %-20s  %-10s  %-26s  %-20s  %s\n", cells[0], cells[1], cells[2],
		       cells[3], cells[4], cells[5]);
		for (i = 0; i < 6; i++)
			free(cells[i]);
		tsinvctl_evrow_free(&r);
	}
	fflush(stdout);
	json_decref(ev);
}

/* One connection of a follow: the request, its reply, then events until the stream ends.
 * *LAST is the last seq printed (or the daemon's starting point); *STARTED says whether a
 * stream was ever opened. Returns an exit code, or -1 when the connection ended and the caller
 * should reconnect. */
static int
tsinvctl_follow_once(json_t *args, uint64_t *last, int *started)
{
	int64_t timeout = opts.timeout != 0 ? opts.timeout : TSINVCTL_TIMEOUT;
	struct tsinvctl_lines lr = {0};
	json_t *req, *result = NULL, *since;
	char *text, *line;
	size_t len;
	int fd, rc;

	if (*started)
		json_object_set_new(args, "since", json_integer((json_int_t)*last));
	req = json_pack("{s:i, s:s, s:O}", "id", TSINVCTL_REQ_ID, "op",
	                proto_ops[PROTO_OP_events_follow].name, "args", args);
	if (req == NULL || (text = json_dumps(req, JSON_COMPACT)) == NULL)
		fatalx("cannot build the request");
	json_decref(req);
	len = strlen(text);
	text[len++] = '\n';
	if ((rc = tsinvctl_connect(timeout, &fd)) != 0) {
		free(text);
		return *started ? -1 : rc;
	}
	rc = tsinvctl_send(fd, text, len, tsinvctl_mono() + timeout, timeout);
	free(text);
	if (rc == 0) {
		rc = tsinvctl_lines_next(&lr, fd, tsinvctl_mono() + timeout, &line, &len);
		if (rc == TSINVCTL_LINE_OK)
			rc = tsinvctl_reply(line, len, &result);
		else if (rc == TSINVCTL_LINE_STOP)
			rc = TSINVCTL_EXIT_OK;
		else if (rc == TSINVCTL_LINE_EOF)
			rc = *started ? -1 : TSINVCTL_EXIT_UNREACHABLE;
		else
			rc = TSINVCTL_EXIT_UNREACHABLE;
	} else if (*started)
		rc = -1;
	if (result != NULL) {
		since = json_object_get(result, "since");
		if (!*started && json_is_integer(since) && json_integer_value(since) >= 0)
			*last = (uint64_t)json_integer_value(since);
		*started = 1;
		json_decref(result);
		/* The stream: until the daemon goes, or a signal. */
		while ((rc = tsinvctl_lines_next(&lr, fd, 0, &line, &len)) == TSINVCTL_LINE_OK)
			tsinvctl_follow_event(line, len, last);
		rc = rc == TSINVCTL_LINE_STOP    ? TSINVCTL_EXIT_OK
		     : rc == TSINVCTL_LINE_ERROR ? TSINVCTL_EXIT_ERROR
		                                 : -1;
	}
	free(lr.buf);
	close(fd);
	return rc;
}

/* events --follow: streams, and reconnects every second while the daemon is away, resuming
 * after the last event printed so that nothing is skipped or repeated. SIGINT and SIGTERM end
 * it with status 0. */
static int
tsinvctl_follow(json_t *args)
{
	struct sigaction sa = {.sa_handler = tsinvctl_stop_handler};
	struct timespec ts = {1, 0};
	uint64_t last = 0;
	int started = 0, noted = 0, rc;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL); /* no SA_RESTART: poll() must return */
	sigaction(SIGTERM, &sa, NULL);
	while ((rc = tsinvctl_follow_once(args, &last, &started)) == -1) {
		if (!noted) {
			fprintf(stderr,
			        "tsinvctl: the daemon went away after event %llu; reconnecting "
			        "every second\n",
			        (unsigned long long)last);
			noted = 1;
		}
		tsinvctl_reconnecting = 1;
		while (!tsinvctl_stopped && nanosleep(&ts, &ts) == -1 && errno == EINTR)
			;
		ts.tv_sec = 1;
		ts.tv_nsec = 0;
		if (tsinvctl_stopped) {
			rc = TSINVCTL_EXIT_OK;
			break;
		}
	}
	json_decref(args);
	return rc;
}

static int
tsinvctl_events(const struct tsinvctl_cmd *cmd, const struct tsinvctl_args *a)
{
	json_t *args;
	int rc = 0;

	if ((args = tsinvctl_events_args(cmd, a, &rc)) == NULL)
		return rc;
	if (!a->follow)
		return tsinvctl_query(cmd, a, args, tsinvctl_events_show, NULL);
	if (opts.tailnet != NULL &&
	    (rc = tsinvctl_arg_str(cmd, args, "tailnet", opts.tailnet)) != 0) {
		json_decref(args);
		return rc;
	}
	return tsinvctl_follow(args);
}

/* "12, 15, 20" of the newest parked seqs; "40 (12 more)" when some are left out. */
static char *
tsinvctl_parked(json_t *h)
{
	json_t *parked = json_object_get(h, "parked");
	size_t n = json_array_size(parked), i, from = n > 5 ? n - 5 : 0;
	struct sbuf sb = {0};
	double total = (double)n;

	if (n == 0)
		return NULL;
	tsinvctl_num(h, "parked_total", &total);
	for (i = from; i < n; i++) {
		json_t *v = json_array_get(parked, i);

		if (json_is_integer(v))
			sbuf_addf(&sb, "%s%lld", sb.len > 0 ? "," : "",
			          (long long)json_integer_value(v));
	}
	if (total > (double)(n - from))
		sbuf_addf(&sb, " (%.0f more)", total - (double)(n - from));
	return sbuf_steal(&sb);
}

static int
tsinvctl_hooks_show(json_t *res, const struct tsinvctl_args *a)
{
	static const char *const hdr[] = {"NAME",     "CURSOR",    "LAG",      "RUNNING",
	                                  "LAST-RUN", "EXIT",      "ATTEMPTS", "NEXT-RETRY",
	                                  "PARKED",   "LAST-ERROR"};
	struct table *t = table_new(10, hdr);
	char cursor[24], lag[24], running[40], exitc[16], attempts[16];
	char last[TSINVCTL_TIMELEN], next[TSINVCTL_TIMELEN], *parked;
	json_t *h;
	size_t i;
	double v, ev;

	json_array_foreach(json_object_get(res, "hooks"), i, h)
	{
		snprintf(cursor, sizeof cursor, "-");
		if (tsinvctl_num(h, "cursor", &v) == 0)
			snprintf(cursor, sizeof cursor, "%.0f", v);
		snprintf(lag, sizeof lag, "-");
		if (tsinvctl_num(h, "lag", &v) == 0)
			snprintf(lag, sizeof lag, "%.0f%s", v,
			         json_is_true(json_object_get(h, "lag_capped")) ? "+" : "");
		snprintf(running, sizeof running, "no");
		if (json_is_true(json_object_get(h, "running"))) {
			if (tsinvctl_num(h, "event", &ev) == 0)
				snprintf(running, sizeof running, "yes (%.0f)", ev);
			else
				snprintf(running, sizeof running, "yes");
		}
		snprintf(exitc, sizeof exitc, "-");
		if (tsinvctl_num(h, "last_exit", &v) == 0)
			snprintf(exitc, sizeof exitc, "%.0f", v);
		snprintf(attempts, sizeof attempts, "-");
		if (tsinvctl_num(h, "attempts", &v) == 0)
			snprintf(attempts, sizeof attempts, "%.0f", v);
		parked = tsinvctl_parked(h);
		table_add_row(t, tsinvctl_str(h, "name"), cursor, lag, running,
		              tsinvctl_time(tsinvctl_str(h, "last_run"), last, sizeof last), exitc,
		              attempts,
		              tsinvctl_time(tsinvctl_str(h, "next_retry"), next, sizeof next),
		              parked, tsinvctl_str(h, "last_error"));
		free(parked);
	}
	if (table_nrows(t) > 0)
		table_print(t, stdout);
	else
		puts("no hooks configured");
	table_free(t);
	return 0;
}

static int
tsinvctl_hooks(const struct tsinvctl_cmd *cmd, const struct tsinvctl_args *a)
{
	return tsinvctl_query(cmd, a, NULL, tsinvctl_hooks_show, NULL);
}

static int
tsinvctl_ops_show(json_t *res, const struct tsinvctl_args *a)
{
	static const char *const hdr[] = {"OP", "ARGS", "HELP"};
	struct table *t = table_new(3, hdr);
	const char *version = tsinvctl_str(res, "version");
	char *cv;
	json_t *op;
	size_t i;
	double proto = 0;

	cv = table_clean(version != NULL ? version : "?");
	tsinvctl_num(res, "protocol", &proto);
	printf("tsinvd %s, protocol %.0f\n\n", cv, proto);
	free(cv);
	if (proto != PROTO_VERSION)
		fprintf(stderr,
		        "tsinvctl: warning: the daemon speaks protocol %.0f, this client %d\n",
		        proto, PROTO_VERSION);
	json_array_foreach(json_object_get(res, "ops"), i, op)
	{
		table_add_row(t, tsinvctl_str(op, "name"), tsinvctl_str(op, "args"),
		              tsinvctl_str(op, "help"));
	}
	table_print(t, stdout);
	table_free(t);
	return 0;
}

static int
tsinvctl_ops(const struct tsinvctl_cmd *cmd, const struct tsinvctl_args *a)
{
	return tsinvctl_query(cmd, a, NULL, tsinvctl_ops_show, NULL);
}

/* ---- export ---- */

typedef void (*tsinvctl_export_fn)(json_t *rows, const struct ipam_map *m, struct sbuf *sb);

/* NetBox's objects for the rows, each in its own VRF (a new reference). */
static json_t *
tsinvctl_netbox_objects(json_t *rows, const struct ipam_map *m)
{
	json_t *objs = json_array(), *row;
	size_t i;

	json_array_foreach(rows, i, row) json_array_append_new(objs, ipam_netbox_object(row, m));
	return objs;
}

static void
tsinvctl_export_netbox_csv(json_t *rows, const struct ipam_map *m, struct sbuf *sb)
{
	json_t *objs = tsinvctl_netbox_objects(rows, m);

	ipam_write_netbox_csv(objs, m, sb);
	json_decref(objs);
}

static void
tsinvctl_export_netbox_json(json_t *rows, const struct ipam_map *m, struct sbuf *sb)
{
	json_t *objs = tsinvctl_netbox_objects(rows, m);

	ipam_write_json(objs, sb);
	json_decref(objs);
}

static void
tsinvctl_export_csv(json_t *rows, const struct ipam_map *m, struct sbuf *sb)
{
	ipam_write_csv(rows, sb);
}

static void
tsinvctl_export_json(json_t *rows, const struct ipam_map *m, struct sbuf *sb)
{
	ipam_write_json(rows, sb);
}

static const struct {
	const char *name;
	tsinvctl_export_fn fn;
} tsinvctl_formats[] = {
    {"netbox-csv", tsinvctl_export_netbox_csv},
    {"netbox-json", tsinvctl_export_netbox_json},
    {"csv", tsinvctl_export_csv},
    {"json", tsinvctl_export_json},
};

static int
tsinvctl_export(const struct tsinvctl_cmd *cmd, const struct tsinvctl_args *a)
{
	const char *format = a->format != NULL ? a->format : "netbox-csv";
	json_t *args = json_object(), *result, *map;
	struct sbuf sb = {0};
	struct ipam_map m;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(tsinvctl_formats) / sizeof(tsinvctl_formats[0]); i++)
		if (strcmp(tsinvctl_formats[i].name, format) == 0)
			break;
	if (i == sizeof(tsinvctl_formats) / sizeof(tsinvctl_formats[0])) {
		json_decref(args);
		return tsinvctl_usage_error(cmd,
		                            "export: bad FORMAT \"%s\": netbox-csv, netbox-json, "
		                            "csv or json",
		                            format);
	}
	if (opts.tailnet != NULL &&
	    (rc = tsinvctl_arg_str(cmd, args, "tailnet", opts.tailnet)) != 0) {
		json_decref(args);
		return rc;
	}
	if (a->at != NULL)
		json_object_set_new(args, "at", json_string(a->at));
	if (a->window != NULL)
		json_object_set_new(args, "window", json_string(a->window));
	if ((rc = tsinvctl_call(cmd, args, &result)) != 0)
		return rc;
	if (opts.json) {
		tsinvctl_print_json(result);
		json_decref(result);
		return 0;
	}
	map = json_object_get(result, "map");
	m = (struct ipam_map){
	    .owner_tag = tsinvctl_str(map, "owner_tag"),
	    .tag_prefix = tsinvctl_str(map, "tag_prefix"),
	    .cf_node_id = tsinvctl_str(map, "cf_node_id"),
	    .cf_tailnet = tsinvctl_str(map, "cf_tailnet"),
	    .cf_last_seen = tsinvctl_str(map, "cf_last_seen"),
	};
	if (m.cf_node_id == NULL || m.cf_tailnet == NULL || m.cf_last_seen == NULL ||
	    !json_is_array(json_object_get(result, "rows"))) {
		json_decref(result);
		return tsinvctl_bad_reply("the export has no rows or no mapping");
	}
	sbuf_init(&sb);
	sbuf_adds(&sb, "");
	tsinvctl_formats[i].fn(json_object_get(result, "rows"), &m, &sb);
	fwrite(sb.p, 1, sb.len, stdout);
	sbuf_free(&sb);
	json_decref(result);
	return 0;
}

/* ---- netbox sync ---- */

static int
tsinvctl_netbox_show(json_t *res, const struct tsinvctl_args *a)
{
	static const char *const hdr[] = {"ACTION", "ADDRESS", "VRF", "TAILNET", "NODE", "FIELDS"};
	struct table *t = table_new(6, hdr);
	json_t *p, *tn, *e, *planned = json_object_get(res, "planned");
	int dry = json_is_true(json_object_get(res, "dry_run"));
	double v[4] = {0};
	size_t i;

	json_array_foreach(json_object_get(res, "tailnets"), i, tn)
	{
		if (!tsinvctl_is(tn, "state", "ok"))
			printf("tailnet %s: skipped: %s\n", tsinvctl_str(tn, "tailnet"),
			       tsinvctl_str(tn, "reason") ? tsinvctl_str(tn, "reason") : "?");
	}
	json_array_foreach(json_object_get(res, "plan"), i, p)
	{
		char *fields = tsinvctl_join(json_object_get(p, "fields"), ",");
		char id[32] = "";

		if (json_is_integer(json_object_get(p, "id")))
			snprintf(id, sizeof(id), " #%lld",
			         (long long)json_integer_value(json_object_get(p, "id")));
		table_add_row(t, tsinvctl_str(p, "action"), tsinvctl_str(p, "address"),
		              tsinvctl_str(p, "vrf") ? tsinvctl_str(p, "vrf") : "-",
		              tsinvctl_str(p, "tailnet"), tsinvctl_str(p, "node_id"),
		              fields && *fields ? fields : (*id ? id + 1 : "-"));
		free(fields);
	}
	if (table_nrows(t) > 0)
		table_print(t, stdout);
	table_free(t);
	if (dry) {
		tsinvctl_num(planned, "create", &v[0]);
		tsinvctl_num(planned, "update", &v[1]);
		tsinvctl_num(planned, "deprecate", &v[2]);
		tsinvctl_num(planned, "tags", &v[3]);
		printf(
		    "dry run: would create %.0f, update %.0f, deprecate %.0f; create %.0f tags\n",
		    v[0], v[1], v[2], v[3]);
	} else {
		tsinvctl_num(res, "created", &v[0]);
		tsinvctl_num(res, "updated", &v[1]);
		tsinvctl_num(res, "deprecated", &v[2]);
		tsinvctl_num(res, "writes", &v[3]);
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
tsinvctl_netbox_verdict(json_t *res)
{
	return tsinvctl_is(res, "result", "ok") ? TSINVCTL_EXIT_OK : TSINVCTL_EXIT_ERROR;
}

static int
tsinvctl_netbox(const struct tsinvctl_cmd *cmd, const struct tsinvctl_args *a)
{
	json_t *args = json_object();

	if (strcmp(a->arg, "sync") != 0) {
		json_decref(args);
		return tsinvctl_usage_error(cmd, "netbox: unknown action '%s' (sync)", a->arg);
	}
	if (a->dry_run)
		json_object_set_new(args, "dry_run", json_true());
	return tsinvctl_query(cmd, a, args, tsinvctl_netbox_show, tsinvctl_netbox_verdict);
}

static int
tsinvctl_help(const struct tsinvctl_cmd *cmd, const struct tsinvctl_args *a)
{
	const struct tsinvctl_cmd *other;

	if (a->arg == NULL) {
		tsinvctl_print_help(stdout);
		return 0;
	}
	if ((other = tsinvctl_find(a->arg)) == NULL)
		return tsinvctl_usage_error(NULL, "unknown command '%s'", a->arg);
	if (a->arg2 != NULL && other->subs == NULL)
		return tsinvctl_usage_error(cmd, "help: '%s' has no sub-commands", a->arg);
	if (a->arg2 != NULL && (other = tsinvctl_find_sub(other, a->arg2)) == NULL)
		return tsinvctl_usage_error(cmd, "help: unknown sub-command '%s %s'", a->arg,
		                            a->arg2);
	tsinvctl_print_cmd_help(other, stdout);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option version = {"version", no_argument, NULL, TSINVCTL_OPT_VERSION};
	struct option longopts[TSINVCTL_NGLOBAL + TSINVCTL_NEXTRA + 1];
	const struct tsinvctl_cmd *cmd;
	struct tsinvctl_args a;
	const char *env;
	int c, rc, first, skip = 0;

	log_init("tsinvctl", 0);
	memset(&a, 0, sizeof a);
	tsinvctl_longopts(longopts, &version, 1);
	env = getenv("TSINV_SOCKET");
	opts.socket = env != NULL && *env != '\0' ? env : TSINVCTL_SOCKET;

	argv[0] = tsinvctl_progname;
	/* "+": stop at the command; its own options are parsed by the command. */
	while ((c = getopt_long(argc, argv, "+s:h", longopts, NULL)) != -1) {
		if (c == 'h') {
			tsinvctl_print_help(stdout);
			return 0;
		}
		if (c == TSINVCTL_OPT_VERSION) {
			printf("tsinvctl %s\n", PACKAGE_VERSION);
			return 0;
		}
		if ((rc = tsinvctl_global_opt(NULL, c, optarg)) != 0)
			return rc;
	}
	if (optind == argc)
		return tsinvctl_usage_error(NULL, "no command");
	if ((cmd = tsinvctl_find(argv[optind])) == NULL)
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
		rc = cmd->fn(cmd, &a);
	else if (rc == -1)
		rc = 0; /* the command's --help */
	json_decref(a.since);
	free(a.types);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "tsinvctl: stdout: %s\n", strerror(errno));
		rc = TSINVCTL_EXIT_ERROR;
	}
	return rc;
}
