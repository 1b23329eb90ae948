/* client.h: what tsinvctl's files share: the command entry, the options, exit codes, and the
 * connection and display helpers the commands are made of. */
#ifndef TSINV_CLIENT_H
#define TSINV_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <jansson.h>

#include "log.h"
#include "proto.h"
#include "sbuf.h"
#include "table.h"
#include "tstime.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

#define TSINVCTL_SOCKET "/run/tsinv/tsinvd.sock"
#define TSINVCTL_TIMEOUT (30 * TSTIME_SEC)
#define TSINVCTL_SLOW_TIMEOUT (300 * TSTIME_SEC) /* a poll waits for every endpoint's API call */
#define TSINVCTL_MAX_TIMEOUT (366 * 86400 * TSTIME_SEC)
#define TSINVCTL_REQ_ID 1
#define TSINVCTL_TIMELEN 64

enum {
	TSINVCTL_EXIT_OK = 0,
	TSINVCTL_EXIT_ERROR = 1,       /* an error reply, a failed poll, a reply we cannot read */
	TSINVCTL_EXIT_USAGE = 2,       /* bad option, TIME or address */
	TSINVCTL_EXIT_UNREACHABLE = 3, /* no daemon, refused, timed out, hung up */
	TSINVCTL_EXIT_NOT_FOUND = 4,   /* error code not_found */
	TSINVCTL_EXIT_UNKNOWN = 5,     /* no poll covered the time asked: tsinv does not know */
	TSINVCTL_EXIT_AMBIGUOUS = 6, /* a name or address that may mean several: error ambiguous */
};

/* The global options; they may come before or after the command. */
struct client_opts {
	const char *socket;
	int json;
	const char *tailnet;
	int64_t timeout; /* us; 0 = the command's default */
};
extern struct client_opts client_opts;

/* What a command was given on its command line, checked. */
struct cmd_args {
	const char *arg;  /* the positional argument, or NULL */
	const char *arg2; /* the second one, for a command with CMD_F_ARG2 */
	const char *at;   /* normalised RFC 3339, or NULL for now */
	char atbuf[TSTIME_STRLEN];
	int history;
	json_t *since;     /* --since: a JSON integer (SEQ) or string (RFC 3339), a new reference */
	const char *until; /* --until: normalised RFC 3339, or NULL */
	char untilbuf[TSTIME_STRLEN];
	char *types; /* --type globs joined by spaces (malloc'd), or NULL */
	int limit;   /* --limit, 0 for the daemon's default */
	int follow;
	const char *format; /* --format of export, NULL for the default */
	const char *window; /* --window DURATION of export, checked */
	int dry_run;
	int netbox_ids;        /* --netbox-ids of export */
	const char *expiring;  /* --expiring DURATION of keys, checked */
	int all;               /* --all of keys: OAuth access tokens too */
	int allow_unknown;     /* --allow-unknown of export: write what is known anyway */
	const char *from, *to; /* --from, --to: normalised RFC 3339, or NULL */
	char frombuf[TSTIME_STRLEN], tobuf[TSTIME_STRLEN];
	const char *tag, *user, *os; /* --tag, --user, --os filters, or NULL */
	int64_t stale;               /* --stale: us not seen, 0 for none */
	const char *severity;        /* --severity of check, checked */
	const char *check;           /* --id of check */
	int fail_on;                 /* --fail-on of check: an enum check_severity, -1 for never */
	int list, report;            /* --list, --report of check */
	const char *output;          /* -o/--output FILE of check --report */
	const char *actor, *target, *action, *origin; /* audit's filters, or NULL */
};

#define CMD_F_OPTARG 0x1         /* the positional argument may be left out */
#define CMD_F_ARG2 0x2           /* takes a second positional argument, named by arg's last word */
#define CMD_F_SLOW 0x4           /* default timeout TSINVCTL_SLOW_TIMEOUT */
#define CMD_F_FOLLOW 0x8         /* takes --follow */
#define CMD_F_FORMAT 0x10        /* takes --format */
#define CMD_F_ALLOW_UNKNOWN 0x20 /* takes --allow-unknown */
#define CMD_F_FROM 0x40          /* takes --from TIME */
#define CMD_F_TO 0x80            /* takes --to TIME */
#define CMD_F_TAG 0x100          /* takes --tag TAG */
#define CMD_F_USER 0x200         /* takes --user LOGIN */
#define CMD_F_OS 0x400           /* takes --os OS */
#define CMD_F_STALE 0x800        /* takes --stale DUR */
#define CMD_F_LISTFMT 0x1000     /* takes --format table|csv|tsv|json */
#define CMD_F_COLUMNS 0x2000     /* takes --columns LIST */
#define CMD_F_LIST (CMD_F_LISTFMT | CMD_F_COLUMNS) /* a listing: a table to print */
#define CMD_F_RANGE (CMD_F_FROM | CMD_F_TO)
#define CMD_F_FILTER (CMD_F_TAG | CMD_F_USER | CMD_F_OS)
/* check's own: --fail-on SEVERITY, --list, --report, -o/--output FILE */
#define CMD_F_FAILON 0x4000
#define CMD_F_CHECKLIST 0x8000
#define CMD_F_REPORT 0x10000
#define CMD_F_OUTPUT 0x20000

/* One argument's form and help as one command shows them. */
struct cmd_argtext {
	int arg; /* PROTO_ARG_*, -1 ends a list */
	const char *cli, *help;
};

struct cmd_entry;
typedef int (*cmd_exec_fn)(const struct cmd_entry *cmd, const struct cmd_args *a);

/* One command, as tmux's cmd_entry: its options, usage and completion come from the op's
 * argument spec (proto-args.h) less HIDE, plus the client's own options in FLAGS. */
struct cmd_entry {
	const char *name;    /* "ip", or "acl groups" for a sub-command */
	int op;              /* PROTO_OP_*, or -1 for the client's own commands */
	unsigned hide;       /* PROTO_A() bits of the op's spec this command does not offer */
	const char *arg;     /* the positional argument's name; NULL: the spec's, if any */
	int flags;           /* CMD_F_* */
	const char *history; /* help for --history; NULL: the spec's */
	const char *format;  /* help for --format; NULL: export's */
	const char *help;    /* NULL: the op's help, the same text "hello" gives */
	cmd_exec_fn exec;    /* NULL for a command made of sub-commands */
	const struct cmd_entry *const *subs; /* the sub-commands, NULL-terminated */
	/* Shows one progress frame of the op on a terminal (progress.c); NULL: none asked. */
	void (*progress)(json_t *frame);
	/* The form and help of spec arguments this command reads its own way ("--since TIME"
	 * where events take a SEQ too), ended by an entry of arg -1; NULL: none. */
	const struct cmd_argtext *argtext;
};

/* cmd.c: the command table and what is derived from it. */
extern const struct cmd_entry *const cmd_table[];
/* A client option: an argument of the spec, or the client's own (arg -1, FLAG). */
struct cmd_option {
	int arg;          /* PROTO_ARG_*, or -1 */
	int flag;         /* CMD_F_* of the client's own option */
	int many;         /* may be repeated */
	const char *cli;  /* "--format FORMAT" when arg is -1 */
	const char *help; /* when arg is -1 */
	/* Appends the words the option's value may be, space-separated (completion). */
	void (*values)(struct sbuf *sb);
};
extern const struct cmd_option cmd_options[];
extern const size_t cmd_noptions;
#define CMD_OPTION_NAME_MAX 32 /* "dry-run" */
#define CMD_OPT_BASE 512       /* getopt's value of cmd_options[i] is CMD_OPT_BASE + i */

const struct cmd_entry *cmd_find(const char *name);
const struct cmd_entry *cmd_find_sub(const struct cmd_entry *parent, const char *name);
char *cmd_sub_names(const struct cmd_entry *parent);
const char *cmd_help_text(const struct cmd_entry *cmd);
unsigned cmd_spec(const struct cmd_entry *cmd);
const char *cmd_arg_name(const struct cmd_entry *cmd);
int cmd_takes(const struct cmd_entry *cmd, const struct cmd_option *o);
const char *cmd_option_cli(const struct cmd_option *o);
size_t cmd_option_name(const struct cmd_option *o, char *buf, size_t len);
const char *cmd_option_help(const struct cmd_entry *cmd, const struct cmd_option *o);
const char *cmd_option_form(const struct cmd_entry *cmd, const struct cmd_option *o);
char *cmd_usage(const struct cmd_entry *cmd);
void cmd_print_list(const struct cmd_entry *cmd, FILE *f);
void cmd_print_help(const struct cmd_entry *cmd, FILE *f);

/* main.c */
int tsinvctl_usage_error(const struct cmd_entry *cmd, const char *fmt, ...) LOG_PRINTF(2, 3);
void tsinvctl_print_help(FILE *f);
void tsinvctl_global_words(struct sbuf *sb, const char *sep, int valued);

/* The commands, each in its cmd-<group>.c. */
extern const struct cmd_entry cmd_status_entry, cmd_poll_entry, cmd_hooks_entry, cmd_ops_entry;
extern const struct cmd_entry cmd_metrics_entry;
/* tsinvctl --version: the client's version and the daemon's; 0 even when it does not answer. */
int cmd_daemon_version(void);
extern const struct cmd_entry cmd_devices_entry, cmd_device_entry, cmd_ip_entry;
extern const struct cmd_entry cmd_users_entry, cmd_keys_entry, cmd_webhooks_entry, cmd_dns_entry,
    cmd_settings_entry;
extern const struct cmd_entry cmd_acl_entry, cmd_events_entry, cmd_export_entry, cmd_netbox_entry,
    cmd_help_entry, cmd_completion_entry, cmd_store_entry, cmd_changes_entry;
extern const struct cmd_entry cmd_check_entry, cmd_user_entry;
extern const struct cmd_entry cmd_audit_entry;
void cmd_check_severity_words(struct sbuf *sb);
void cmd_events_type_words(struct sbuf *sb);
void cmd_audit_action_words(struct sbuf *sb);
/* The ACTOR cell of a change's "attribution" (malloc'd): the actor; the actors, when each made
 * another part of it; "? (N candidates)" when several audit log entries fit one part; NULL
 * when there is none. */
char *cmd_audit_attribution(json_t *attr);
void cmd_audit_origin_words(struct sbuf *sb);
/* cmd-changes.c: the filters --tag, --user and --os. Does an entity of KIND (with NAME; DEV the
 * device it is or was, or NULL) pass them? */
int cmd_entity_wanted(const char *kind, const char *name, json_t *dev, const struct cmd_args *a);
/* Every tailnet's devices at T (RFC 3339, NULL: as of the last poll) as {"TAILNET\tNODEID":
 * device} in *DEVICES (a new reference): 0, or an exit code after saying why. */
int cmd_devices_map(const char *t, json_t **devices);
void cmd_events_print_types(FILE *f);
void cmd_export_format_words(struct sbuf *sb);
void cmd_list_format_words(struct sbuf *sb);

/* conn.c */
/* Shows a successful result as a table; returns an exit code. */
typedef int (*conn_show_fn)(json_t *result, const struct cmd_args *a);
/* When set, a successful reply's line is kept in conn_raw (malloc'd, no newline): for a command
 * that passes on bytes the daemon sends as received (audit --json). */
extern int conn_keep_raw;
extern char *conn_raw;
/* A follow reconnecting every second says so once, not at each failed connect. */
extern int conn_reconnecting;
/* Says "tsinvctl: MESSAGE" on stderr and, with --json, {"error":{"code","message","status"}} on
 * stdout; CODE NULL: one named after STATUS ("usage", "unreachable", "error"). Returns STATUS. */
int conn_fail(int status, const char *code, const char *fmt, ...) LOG_PRINTF(3, 4);
void conn_json_error(int status, const char *code, const char *msg);
int64_t conn_mono(void);
int conn_connect(int64_t timeout, int *fdp);
int conn_timed_out(int64_t timeout);
int conn_send(int fd, const char *buf, size_t len, int64_t deadline, int64_t timeout);
int conn_bad_reply(const char *why);
/* Checks a reply line. On success *RESULT is a new reference; an error reply is printed. */
int conn_reply(const char *line, size_t len, json_t **result);
/* Sends CMD's op with ARGS (stolen) and reads the answer: 0 and *RESULT (a new reference), or
 * an exit code after printing why. */
int conn_call(const struct cmd_entry *cmd, json_t *args, json_t **result);
/* Adds KEY: S to ARGS; argv may hold anything, but JSON strings must be UTF-8. */
int conn_arg_str(const struct cmd_entry *cmd, json_t *args, const char *key, const char *s);
/* Runs CMD with ARGS (stolen, NULL for none) plus the common arguments: 0 and *RESULT (a new
 * reference), or an exit code after printing why. */
int conn_fetch(const struct cmd_entry *cmd, const struct cmd_args *a, json_t *args,
               json_t **result);
/* Runs CMD with ARGS (stolen) plus the common arguments, then shows the result: as JSON with
 * --json, else through SHOW. VERDICT, when set, turns a successful result into an exit code. */
int conn_query(const struct cmd_entry *cmd, const struct cmd_args *a, json_t *args,
               conn_show_fn show, int (*verdict)(json_t *));
/* conn_call and conn_fetch that print no error reply: *err gets the daemon's error object (a
 * new reference, or NULL) and the exit status it means is returned. */
int conn_call_quiet(const struct cmd_entry *cmd, json_t *args, json_t **result, json_t **err);
int conn_fetch_quiet(const struct cmd_entry *cmd, const struct cmd_args *a, json_t *args,
                     json_t **result, json_t **err);
int conn_print_err(json_t *err, int rc);
/* conn_query for a lookup that makes sense across tailnets (ip, device): without --tailnet,
 * a daemon with several tailnets and no default is asked about each. ARGS is stolen. */
int conn_query_tailnets(const struct cmd_entry *cmd, const struct cmd_args *a, json_t *args,
                        conn_show_fn show);
/* conn_reply of a reply already parsed (ROOT stolen). */
int conn_reply_json(json_t *root, json_t **result);
/* CMD's request line with ARGS (stolen, NULL for none) and the common arguments, its newline
 * included, in *TEXT (malloc'd) and *LEN; or an exit code after saying why. */
int conn_request(const struct cmd_entry *cmd, const struct cmd_args *a, json_t *args, char **text,
                 size_t *len);

/* listing.c: a listing's reply read as it arrives, element by element. */
/* A JSON value's bytes inside a reply. */
struct lspan {
	const char *p;
	size_t len;
};
struct listing {
	const char *list; /* the result's array member handed out element by element */
	/* When the list begins: RESULT holds the members before it, then LIST itself (empty). */
	int (*begin)(void *arg, json_t *result);
	/* Each element of the list, in order; a non-zero exit code stops the walk. */
	int (*element)(void *arg, const char *p, size_t len);
	void *arg;
	int whole; /* nothing handed out before the whole reply is in (--json: a cut reply prints
	            * nothing) */
	/* Set by listing_fetch: the result (a new reference) with LIST empty at its place, the
	 * number of members before LIST, and of elements handed out. */
	json_t *result;
	size_t nbefore, count;
};
/* Runs CMD with ARGS (stolen) plus the common arguments, handing out the list's elements: 0 and
 * L->result, or an exit code after printing why (an error reply, a reply cut short). */
int listing_fetch(const struct cmd_entry *cmd, const struct cmd_args *a, json_t *args,
                  struct listing *l);
/* The end of the JSON value at P before E: 1 and *NEXT, 0 when E comes first, -1 when it cannot
 * be JSON. Strings, escapes and nesting are checked, the rest by whoever decodes it. */
int listing_value_end(const char *p, const char *e, const char **next);
/* Of the object OBJ, the values of the members NAMES (N of them) in OUT (len 0: absent): 0,
 * or -1 when OBJ is no object. */
int listing_members(struct lspan obj, const char *const *names, size_t n, struct lspan *out);
/* The next element of the array whose rest is *ARR: 1 and *ELEM, or 0 at its end. */
int listing_next(struct lspan *arr, struct lspan *elem);
/* A string's text (malloc'd; NULL for anything else or bad UTF-8); a boolean's value (-1 for
 * anything else); an array's strings joined by SEP (malloc'd, NULL when there are none). */
char *listing_str(struct lspan v);
int listing_bool(struct lspan v);
char *listing_join(struct lspan arr, const char *sep);

/* progress.c */
/* Whether to ask CMD's op for progress frames: CMD shows them, no --json, stdout and stderr are
 * terminals. */
int progress_wanted(const struct cmd_entry *cmd);
void progress_poll(json_t *frame);
void progress_netbox(json_t *frame);

/* show.c */
/* One entry of a listing and the strings it is sorted by. */
struct show_listrow {
	const char *k1, *k2;
	json_t *entry;
};
const char *show_duration(int64_t us, char *buf, size_t len);
/* A duration in seconds as the daemon sent it; out-of-range values must not reach the cast. */
const char *show_seconds(double v, char *buf, size_t len);
void show_print_json(json_t *v);
/* show_print_json of a result whose list comes element by element: RESULT's members up to the
 * list (its last one) and the list's "["; each element (I counts them from 0); then the list's
 * end and the members after it (NBEFORE came before it). The same bytes as the whole result. */
void show_json_begin(json_t *result);
void show_json_element(json_t *e, size_t i);
void show_json_end(json_t *result, size_t nbefore, size_t count);
/* Accessors that accept whatever the daemon sent: a missing or mistyped field is "absent". */
const char *show_str(json_t *o, const char *key);
int show_num(json_t *o, const char *key, double *out);
int show_is(json_t *o, const char *key, const char *value);
/* "yes", "no", or NULL (shown as "-") when absent. */
const char *show_yesno(json_t *o, const char *key);
/* The strings of array ARR joined by SEP (malloc'd), or NULL when there are none. */
char *show_join(json_t *arr, const char *sep);
/* T as given, to the second: "2026-11-20T14:05:00.25Z" -> "2026-11-20T14:05:00Z"; "-" if none.
 * Always into BUF, which it returns. */
const char *show_time(const char *t, char *buf, size_t len);
/* A time window into BUF: "lo .. hi", just "hi" when lo is absent or the same second, OPEN when
 * there is no hi (an interval still running). */
const char *show_window(const char *lo, const char *hi, const char *open, char *buf, size_t len);
/* The FROM and TO windows of an object carrying the four bounds. */
const char *show_edge(json_t *o, int to, const char *open, char *buf, size_t len);
void show_bounds(json_t *o, char *from, char *to, size_t len);
/* The short name (malloc'd): the first label of the MagicDNS name, else the hostname, else the
 * node id. O is a device or anything with the same three fields. */
char *show_shortname(json_t *o);
/* Adds "KEY: joined array" to a key-value table. */
void show_kv_list(struct table *t, const char *key, json_t *arr);
/* The text of a JSON value for a cell (malloc'd): a string as it is, anything else but null as
 * compact JSON; NULL for null or nothing. */
char *show_cell_json(json_t *v);
/* The elements of array V joined by ",", or V itself when it is not an array (malloc'd, or
 * NULL when there is nothing to show). */
char *show_cell_list(json_t *v);
/* S with a "?" when it may not have held at the time asked about (malloc'd). */
char *show_marked(const char *s, int maybe);
/* The date of an RFC 3339 time, "-" for none or Go's zero time. Always into BUF (>= 11). */
const char *show_date(const char *t, char *buf, size_t len);
/* Why the daemon cannot tell, cleaned for the terminal (malloc'd). */
char *show_reason(json_t *res);
/* The object entries of RES's array LIST sorted by the members K1, then K2, of their object
 * INNER: an array (malloc'd) of *N rows whose entries are borrowed from RES. */
struct show_listrow *show_list_sorted(json_t *res, const char *list, const char *inner,
                                      const char *k1, const char *k2, size_t *n);
/* The daemon's note on an answer (an endpoint it no longer polls), unless the reason for an
 * unknown coverage said it already. */
void show_note(json_t *res, int unknown);
/* Prints the table, or NONE when it is empty, or why the daemon cannot tell; then the notes
 * that "maybe" rows and an unknown coverage call for. */
void show_list_print(json_t *res, struct table *t, const char *none, size_t nmaybe);
/* Where notes around a table go: stdout for the text table, stderr with --format csv|tsv. */
FILE *show_notes(void);

#endif
