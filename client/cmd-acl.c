/* cmd-acl.c: the acl sub-commands: the policy file's groups, rules, revisions, text and diffs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "hujson.h"
#include "policy.h"
#include "udiff.h"

#define TSINVCTL_SHORTHASH 12   /* hex digits of a hash shown in tables */
#define TSINVCTL_DIFF_CONTEXT 3 /* lines of context, as diff -u */

/* ---- acl: the policy file ---- */

/* Checks REV, a revision number or a SHA-256 prefix, and puts it lower-cased into BUF (at least
 * 65 bytes); 0 or the usage exit code. */
static int
cmd_acl_rev(const struct cmd_entry *cmd, const char *rev, char *buf, size_t len)
{
	size_t n = strlen(rev), i;

	/* The daemon's rule, and no revision 0 (counting starts at 1). */
	if (!proto_rev_ok(rev) || (n < PROTO_REV_HEX_MIN && strspn(rev, "0") == n))
		return tsinvctl_usage_error(
		    cmd,
		    "%s: bad REV \"%s\": a revision number (1, 2, ...) or at "
		    "least %d hex digits of its SHA-256",
		    cmd->name, rev, PROTO_REV_HEX_MIN);
	for (i = 0; i < n && i + 1 < len; i++)
		buf[i] = (char)(rev[i] >= 'A' && rev[i] <= 'F' ? rev[i] - 'A' + 'a' : rev[i]);
	buf[i] = '\0';
	return 0;
}

/* policy.get of revision REV (checked), or of --at, or the current one: 0 and *RESULT, a new
 * reference with a "text" string, or an exit code after saying why. */
static int
cmd_acl_policy_get(const struct cmd_entry *cmd, const struct cmd_args *a, const char *rev,
                   json_t **result)
{
	json_t *args = json_object();
	int rc;

	if (rev != NULL)
		json_object_set_new(args, "rev", json_string(rev));
	if ((rc = conn_fetch(cmd, a, args, result)) != 0)
		return rc;
	if (!json_is_string(json_object_get(*result, "text"))) {
		json_decref(*result);
		*result = NULL;
		return conn_bad_reply("the policy revision has no text");
	}
	return 0;
}

/* "policy rev 3 (sha256 abcd1234ef56, 2026-11-25T16:00:00Z)": the revision and when a poll
 * first saw it. Always into BUF. */
static const char *
cmd_acl_policy_label(json_t *res, char *buf, size_t len)
{
	const char *sha = show_str(res, "sha256");
	char when[TSINVCTL_TIMELEN];
	double rev;

	if (show_num(res, "rev", &rev) != 0 || !(rev >= 0 && rev < 1e15))
		rev = 0;
	show_time(show_str(res, "from_hi"), when, sizeof when);
	snprintf(buf, len, "policy rev %.0f (sha256 %.*s, %s)", rev, TSINVCTL_SHORTHASH,
	         sha != NULL ? sha : "?", when);
	return buf;
}

/* The policy text of RES parsed: a new reference to an object, or NULL after saying why. */
static json_t *
cmd_acl_policy_parse(json_t *res)
{
	json_t *text = json_object_get(res, "text"), *policy;
	struct hujson_error err;
	char label[128], *msg;

	cmd_acl_policy_label(res, label, sizeof label);
	policy = hujson_parse(json_string_value(text), json_string_length(text), &err);
	if (policy == NULL) {
		msg = table_clean(err.message);
		conn_fail(TSINVCTL_EXIT_ERROR, "bad_policy", "%s: line %d, column %d: %s", label,
		          err.line, err.column, msg);
		free(msg);
	} else if (!json_is_object(policy)) {
		conn_fail(TSINVCTL_EXIT_ERROR, "bad_policy", "%s: not a JSON object", label);
		json_decref(policy);
		policy = NULL;
	}
	return policy;
}

/* Sets KEY of O to RES's member KEY, or to null. */
static void
cmd_acl_copy_member(json_t *o, json_t *res, const char *key)
{
	json_t *v = json_object_get(res, key);

	json_object_set_new(o, key, v != NULL ? json_incref(v) : json_null());
}

/* {"tailnet","rev","sha256","at"} of the revision RES, and "state" when the daemon gave one:
 * the head of acl groups and acl rules as JSON (a new reference). */
static json_t *
cmd_acl_policy_head(json_t *res, const struct cmd_args *a)
{
	json_t *o = json_object();

	cmd_acl_copy_member(o, res, "tailnet");
	cmd_acl_copy_member(o, res, "rev");
	cmd_acl_copy_member(o, res, "sha256");
	json_object_set_new(o, "at", a->at != NULL ? json_string(a->at) : json_null());
	if (json_object_get(res, "state") != NULL)
		cmd_acl_copy_member(o, res, "state");
	return o;
}

/* The revision read, after a table made from it; says so when it may not have been the one in
 * force at --at. */
static void
cmd_acl_policy_footer(json_t *res, const struct cmd_args *a)
{
	char label[128], when[TSINVCTL_TIMELEN];

	printf("\n%s", cmd_acl_policy_label(res, label, sizeof label));
	if (show_is(res, "state", "maybe") && a->at != NULL)
		printf(": maybe in force at %s (it changed between two polls around then)",
		       show_time(a->at, when, sizeof when));
	fputc('\n', stdout);
}

static void
cmd_acl_groups_show(json_t *res, json_t *policy, const struct cmd_args *a)
{
	static const char *const hdr[] = {"TAILNET", "GROUP", "MEMBER"};
	struct table *t = table_new(3, hdr);
	json_t *rows = policy_groups(policy), *r;
	size_t i;
	char *member;

	if (client_opts.json) {
		json_t *o = cmd_acl_policy_head(res, a);

		json_object_set(o, "groups", rows);
		show_print_json(o);
		json_decref(o);
	} else {
		json_array_foreach(rows, i, r)
		{
			member = show_cell_json(json_object_get(r, "member"));
			table_add_row(t, show_str(res, "tailnet"), show_str(r, "group"), member);
			free(member);
		}
		if (table_nrows(t) > 0)
			table_print(t, stdout);
		else
			puts("no groups");
		cmd_acl_policy_footer(res, a);
	}
	json_decref(rows);
	table_free(t);
}

/* PROTO/IP of a grant: its ip list, then "app:NAME" for each application capability. */
static char *
cmd_acl_grant_ip(json_t *rule)
{
	char *ip = show_cell_list(json_object_get(rule, "ip"));
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
cmd_acl_rule_row(struct table *t, json_t *r)
{
	const char *section = show_str(r, "section");
	char *where, *src, *dst, *ip, *users, *check;
	double index = 0;

	if (show_num(r, "index", &index) != 0 || !(index >= 0 && index < 1e15))
		index = 0;
	where = xasprintf("%s[%.0f]", section != NULL ? section : "?", index);
	if (json_object_get(r, "invalid") != NULL) {
		table_add_row(t, where, "(not an object)", NULL, NULL, NULL, NULL, NULL);
		free(where);
		return;
	}
	src = show_cell_list(json_object_get(r, "src"));
	dst = show_cell_list(json_object_get(r, "dst"));
	if (section != NULL && strcmp(section, "grants") == 0)
		ip = cmd_acl_grant_ip(r);
	else
		ip = show_cell_list(json_object_get(r, "proto"));
	users = show_cell_list(json_object_get(r, "users"));
	check = show_cell_json(json_object_get(r, "checkPeriod"));
	table_add_row(t, where, show_str(r, "action"), src, dst, ip, users, check);
	free(where);
	free(src);
	free(dst);
	free(ip);
	free(users);
	free(check);
}

static void
cmd_acl_rules_show(json_t *res, json_t *policy, const struct cmd_args *a)
{
	static const char *const hdr[] = {"SECTION",  "ACTION", "SRC",  "DST",
	                                  "PROTO/IP", "USERS",  "CHECK"};
	struct table *t = table_new(7, hdr);
	json_t *rows = policy_rules(policy), *sum = policy_summary(policy), *r, *why;
	size_t i;
	char *s;

	if (client_opts.json) {
		json_t *o = cmd_acl_policy_head(res, a);

		json_object_set(o, "rules", rows);
		json_object_set(o, "summary", sum);
		show_print_json(o);
		json_decref(o);
	} else {
		json_array_foreach(rows, i, r) cmd_acl_rule_row(t, r);
		if (table_nrows(t) > 0)
			table_print(t, stdout);
		else
			puts("no rules: nothing is allowed");
		cmd_acl_policy_footer(res, a);
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

typedef void (*cmd_acl_policy_show_fn)(json_t *res, json_t *policy, const struct cmd_args *a);

/* acl groups and acl rules: the revision in force now or at --at, parsed and shown by SHOW. */
static int
cmd_acl_parsed(const struct cmd_entry *cmd, const struct cmd_args *a, cmd_acl_policy_show_fn show)
{
	json_t *res, *policy;
	int rc;

	if ((rc = cmd_acl_policy_get(cmd, a, NULL, &res)) != 0)
		return rc;
	if ((policy = cmd_acl_policy_parse(res)) == NULL) {
		json_decref(res);
		return TSINVCTL_EXIT_ERROR;
	}
	show(res, policy, a);
	json_decref(policy);
	json_decref(res);
	return 0;
}

static int
cmd_acl_groups(const struct cmd_entry *cmd, const struct cmd_args *a)
{
	return cmd_acl_parsed(cmd, a, cmd_acl_groups_show);
}

static int
cmd_acl_rules(const struct cmd_entry *cmd, const struct cmd_args *a)
{
	return cmd_acl_parsed(cmd, a, cmd_acl_rules_show);
}

static int
cmd_acl_log_show(json_t *res, const struct cmd_args *a)
{
	static const char *const hdr[] = {"REV", "FROM", "TO", "SHA256", "ETAG", "SIZE", "ACTOR"};
	struct table *t = table_new(7, hdr);
	char from[2 * TSINVCTL_TIMELEN + 8], to[2 * TSINVCTL_TIMELEN + 8], rev[32], size[32];
	char sha[TSINVCTL_SHORTHASH + 1], etag[TSINVCTL_SHORTHASH + 1];
	const char *e;
	char *actor;
	int ncurrent = 0;
	json_t *r;
	size_t i;
	double v;

	json_array_foreach(json_object_get(res, "revisions"), i, r)
	{
		int current = json_is_true(json_object_get(r, "current"));

		snprintf(rev, sizeof rev, "?%s", current ? "*" : "");
		if (show_num(r, "rev", &v) == 0)
			snprintf(rev, sizeof rev, "%.0f%s", v, current ? "*" : "");
		ncurrent += current;
		show_bounds(r, from, to, sizeof from);
		snprintf(sha, sizeof sha, "%s",
		         show_str(r, "sha256") != NULL ? show_str(r, "sha256") : "");
		/* Tailscale's ETags are hex digests too: shortened alike; any other shown whole. */
		e = show_str(r, "etag");
		if (e != NULL && strspn(e, "0123456789abcdefABCDEF") == strlen(e)) {
			snprintf(etag, sizeof etag, "%s", e);
			e = etag;
		}
		snprintf(size, sizeof size, "-");
		if (show_num(r, "size", &v) == 0)
			snprintf(size, sizeof size, "%.0f", v);
		/* Who changed the policy, as the audit log says. */
		actor = cmd_audit_attribution(json_object_get(r, "attribution"));
		table_add_row(t, rev, from, to, sha, e, size, actor);
		free(actor);
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
cmd_acl_log(const struct cmd_entry *cmd, const struct cmd_args *a)
{
	return conn_query(cmd, a, NULL, cmd_acl_log_show, NULL);
}

static int
cmd_acl_show(const struct cmd_entry *cmd, const struct cmd_args *a)
{
	char rev[65];
	json_t *res, *text;
	int rc;

	if (a->arg != NULL && a->at != NULL)
		return tsinvctl_usage_error(cmd, "%s: REV and --at do not go together", cmd->name);
	if (a->arg != NULL && (rc = cmd_acl_rev(cmd, a->arg, rev, sizeof rev)) != 0)
		return rc;
	if ((rc = cmd_acl_policy_get(cmd, a, a->arg != NULL ? rev : NULL, &res)) != 0)
		return rc;
	if (client_opts.json)
		show_print_json(res);
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
cmd_acl_policy_meta(json_t *res)
{
	json_t *o = json_copy(res);

	json_object_del(o, "text");
	return o;
}

static int
cmd_acl_diff(const struct cmd_entry *cmd, const struct cmd_args *a)
{
	char rev1[65], rev2[65], label1[128], label2[128], *out, *cause;
	json_t *r1, *r2, *t1, *t2, *o;
	int rc;

	if ((rc = cmd_acl_rev(cmd, a->arg, rev1, sizeof rev1)) != 0 ||
	    (rc = cmd_acl_rev(cmd, a->arg2, rev2, sizeof rev2)) != 0)
		return rc;
	if ((rc = cmd_acl_policy_get(cmd, a, rev1, &r1)) != 0)
		return rc;
	if ((rc = cmd_acl_policy_get(cmd, a, rev2, &r2)) != 0) {
		json_decref(r1);
		return rc;
	}
	t1 = json_object_get(r1, "text");
	t2 = json_object_get(r2, "text");
	cmd_acl_policy_label(r1, label1, sizeof label1);
	cmd_acl_policy_label(r2, label2, sizeof label2);
	if (udiff(json_string_value(t1), json_string_length(t1), json_string_value(t2),
	          json_string_length(t2), label1, label2, TSINVCTL_DIFF_CONTEXT, &out,
	          &cause) != 0) {
		rc = conn_fail(TSINVCTL_EXIT_ERROR, NULL, "%s: %s", cmd->name, cause);
		free(cause);
	} else if (client_opts.json) {
		o = json_pack("{s:O?, s:o, s:o, s:s}", "tailnet", json_object_get(r2, "tailnet"),
		              "from", cmd_acl_policy_meta(r1), "to", cmd_acl_policy_meta(r2),
		              "diff", out);
		if (o == NULL)
			rc = conn_bad_reply("the diff is not valid UTF-8");
		else
			show_print_json(o);
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

/* The sub-commands are named in full so that usage and hints read as typed. */
static const struct cmd_entry cmd_acl_groups_entry = {
    .name = "acl groups",
    .op = PROTO_OP_policy_get,
    .hide = PROTO_A(rev),
    .help = "the policy file's groups and their members, one row per member",
    .exec = cmd_acl_groups,
};

static const struct cmd_entry cmd_acl_rules_entry = {
    .name = "acl rules",
    .op = PROTO_OP_policy_get,
    .hide = PROTO_A(rev),
    .help = "every rule of acls, grants and ssh, and whether the network is micro-segmented",
    .exec = cmd_acl_rules,
};

static const struct cmd_entry cmd_acl_log_entry = {
    .name = "acl log",
    .op = PROTO_OP_policy_log,
    .flags = CMD_F_LIST,
    .exec = cmd_acl_log,
};

static const struct cmd_entry cmd_acl_show_entry = {
    .name = "acl show",
    .op = PROTO_OP_policy_get,
    .flags = CMD_F_OPTARG,
    .help = "a revision's text exactly as fetched: the current one, REV, or the one in force at "
            "TIME",
    .exec = cmd_acl_show,
};

static const struct cmd_entry cmd_acl_diff_entry = {
    .name = "acl diff",
    .op = PROTO_OP_policy_get,
    .hide = PROTO_A(at),
    .arg = "REV1 REV2",
    .flags = CMD_F_ARG2,
    .help = "what changed from revision REV1 to REV2, as a unified diff (diff -u)",
    .exec = cmd_acl_diff,
};

static const struct cmd_entry *const cmd_acl_subs[] = {
    &cmd_acl_groups_entry, &cmd_acl_rules_entry, &cmd_acl_log_entry,
    &cmd_acl_show_entry,   &cmd_acl_diff_entry,  NULL,
};

const struct cmd_entry cmd_acl_entry = {
    .name = "acl",
    .op = -1,
    .arg = "SUBCOMMAND [ARGS]",
    .help = "the tailnet policy file: its groups, rules, revisions, text, and the changes "
            "between revisions",
    .subs = cmd_acl_subs,
};
