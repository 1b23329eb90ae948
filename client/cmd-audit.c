/* cmd-audit.c: audit: the configuration audit log as the daemon recorded it, oldest first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

/* The words --action and --origin complete to: the API's values today. Both are open sets; any
 * other word is passed on as it is. */
void
cmd_audit_action_words(struct sbuf *sb)
{
	sbuf_adds(sb, "CREATE UPDATE DELETE REVOKE APPROVE ENABLE DISABLE EXPIRED");
}

void
cmd_audit_origin_words(struct sbuf *sb)
{
	sbuf_adds(sb, "ADMIN_CONSOLE CONFIG_API CONTROL IDENTITY_PROVIDER NODE SUPPORT_REQUEST "
	              "STRIPE SECURITY_NOTIFICATION LEGAL_NOTIFICATION");
}

/* Who: the login name, else the display name, else the id; the actor type when it is not a
 * user (OAUTH_CLIENT, NODE, AUTOMATED_WORKER, SCIM...). malloc'd. */
static char *
cmd_audit_actor(json_t *actor)
{
	const char *who = show_str(actor, "loginName"), *type = show_str(actor, "type");

	if (who == NULL || *who == '\0')
		who = show_str(actor, "displayName");
	if (who == NULL || *who == '\0')
		who = show_str(actor, "id");
	if (who == NULL || *who == '\0')
		who = "-";
	if (type != NULL && *type != '\0' && strcmp(type, "USER") != 0)
		return xasprintf("%s (%s)", who, type);
	return xstrdup(who);
}

char *
cmd_audit_attribution(json_t *attr)
{
	size_t n = json_array_size(json_object_get(attr, "candidates"));

	if (show_is(attr, "state", "attributed"))
		return cmd_audit_actor(json_object_get(attr, "actor"));
	if (show_is(attr, "state", "ambiguous"))
		return xasprintf("? (%zu candidates)", n);
	if (show_is(attr, "state", "split")) {
		/* Each candidate made another part of the change: every one is an actor. */
		struct sbuf sb;
		json_t *c;
		size_t i;

		sbuf_init(&sb);
		json_array_foreach(json_object_get(attr, "candidates"), i, c)
		{
			char *who = cmd_audit_actor(json_object_get(c, "actor"));

			sbuf_addf(&sb, "%s%s", i > 0 ? ", " : "", who);
			free(who);
		}
		return sbuf_steal(&sb);
	}
	return NULL;
}

/* What: a node by its first label, anything else by its name, else its id. malloc'd. */
static char *
cmd_audit_target(json_t *target)
{
	const char *name = show_str(target, "name"), *id = show_str(target, "id");

	if (name == NULL || *name == '\0')
		return xstrdup(id != NULL && *id != '\0' ? id : "-");
	if (show_is(target, "type", "NODE"))
		return xasprintf("%.*s", (int)strcspn(name, "."), name);
	return xstrdup(name);
}

/* "old → new", else actionDetails, else the error; NULL when the entry carries none. */
static char *
cmd_audit_change(json_t *e)
{
	json_t *o = json_object_get(e, "old"), *n = json_object_get(e, "new");
	const char *s;

	if ((o != NULL && !json_is_null(o)) || (n != NULL && !json_is_null(n))) {
		char *os = show_cell_json(o), *ns = show_cell_json(n), *r;

		r = xasprintf("%s \u2192 %s", os != NULL ? os : "-", ns != NULL ? ns : "-");
		free(os);
		free(ns);
		return r;
	}
	if ((s = show_str(e, "actionDetails")) != NULL && *s != '\0')
		return xstrdup(s);
	if ((s = show_str(e, "error")) != NULL && *s != '\0')
		return xasprintf("error: %s", s);
	return NULL;
}

/* S for a shell command line: as it is when it is plain, else in single quotes. malloc'd. */
static char *
cmd_audit_quote(const char *s)
{
	struct sbuf sb;

	if (*s != '\0' && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                            "0123456789@%+=:,./_-") == strlen(s))
		return xstrdup(s);
	sbuf_init(&sb);
	sbuf_addc(&sb, '\'');
	for (; *s != '\0'; s++)
		if (*s == '\'')
			sbuf_adds(&sb, "'\\''");
		else
			sbuf_addc(&sb, *s);
	sbuf_addc(&sb, '\'');
	return sbuf_steal(&sb);
}

/* The command that asks for the next page: the same filters, from NEXT. */
static void
cmd_audit_more(const char *next, const struct cmd_args *a)
{
	const struct {
		const char *opt, *v;
	} f[] = {{"--until", a->until},
	         {"--actor", a->actor},
	         {"--target", a->target},
	         {"--action", a->action},
	         {"--origin", a->origin}};
	FILE *out = show_notes();
	char *q;

	fprintf(out, "\nmore: tsinvctl");
	if (client_opts.tailnet != NULL) {
		q = cmd_audit_quote(client_opts.tailnet);
		fprintf(out, " --tailnet %s", q);
		free(q);
	}
	fprintf(out, " audit --since %s", next);
	for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
		if (f[i].v != NULL) {
			q = cmd_audit_quote(f[i].v);
			fprintf(out, " %s %s", f[i].opt, q);
			free(q);
		}
	if (a->limit > 0)
		fprintf(out, " --limit %d", a->limit);
	fputc('\n', out);
}

static int
cmd_audit_show(json_t *res, const struct cmd_args *a)
{
	static const char *const hdr[] = {"TIME",   "ACTOR",    "ORIGIN", "ACTION",
	                                  "TARGET", "PROPERTY", "CHANGE"};
	struct table *t = table_new(7, hdr);
	char when[TSINVCTL_TIMELEN];
	const char *next = show_str(res, "next");
	json_t *e;
	size_t i;

	json_array_foreach(json_object_get(res, "entries"), i, e)
	{
		json_t *target = json_object_get(e, "target");
		char *actor = cmd_audit_actor(json_object_get(e, "actor"));
		char *tg = cmd_audit_target(target), *change = cmd_audit_change(e);
		const char *origin = show_str(e, "origin"), *action = show_str(e, "action");
		const char *prop = show_str(target, "property");

		show_time(show_str(e, "eventTime"), when, sizeof when);
		table_add_row(t, when, actor, origin != NULL && *origin ? origin : "-",
		              action != NULL ? action : "-", tg, prop != NULL && *prop ? prop : "-",
		              change != NULL ? change : "-");
		free(actor);
		free(tg);
		free(change);
	}
	show_list_print(res, t, "no audit log entries", 0);
	table_free(t);
	if (json_is_true(json_object_get(res, "more")) && next != NULL)
		cmd_audit_more(next, a);
	return 0;
}

/* The result as the daemon sent it: each entry's bytes as the API gave them (less the
 * whitespace between tokens: the reply is one line). */
static void
cmd_audit_print_raw(json_t *res)
{
	static const char head[] = "{\"id\":" PROTO_STR(TSINVCTL_REQ_ID) ",\"ok\":true,\"result\":";
	size_t len = conn_raw != NULL ? strlen(conn_raw) : 0;

	if (len > sizeof head && strncmp(conn_raw, head, sizeof head - 1) == 0 &&
	    conn_raw[len - 1] == '}') {
		fwrite(conn_raw + sizeof head - 1, 1, len - sizeof head, stdout);
		fputc('\n', stdout);
	} else
		show_print_json(res);
}

static int
cmd_audit_exec(const struct cmd_entry *cmd, const struct cmd_args *a)
{
	const struct {
		const char *key, *v;
	} f[] = {{"until", a->until},
	         {"actor", a->actor},
	         {"target", a->target},
	         {"action", a->action},
	         {"origin", a->origin}};
	json_t *args = json_object(), *res;
	int rc;

	if (json_is_integer(a->since)) {
		json_decref(args);
		return tsinvctl_usage_error(cmd, "audit: --since takes a TIME; audit log entries "
		                                 "have no sequence numbers");
	}
	if (a->since != NULL)
		json_object_set(args, "since", a->since);
	for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
		if (f[i].v != NULL && (rc = conn_arg_str(cmd, args, f[i].key, f[i].v)) != 0) {
			json_decref(args);
			return rc;
		}
	if (a->limit > 0)
		json_object_set_new(args, "limit", json_integer(a->limit));
	conn_keep_raw = client_opts.json;
	rc = conn_fetch(cmd, a, args, &res);
	conn_keep_raw = 0;
	if (rc != 0)
		return rc;
	if (client_opts.json)
		cmd_audit_print_raw(res);
	else
		rc = cmd_audit_show(res, a);
	/* A time no audit poll covered: what is listed may not be all there was. */
	if (rc == 0 && show_is(res, "coverage", "unknown"))
		rc = TSINVCTL_EXIT_UNKNOWN;
	json_decref(res);
	free(conn_raw);
	conn_raw = NULL;
	return rc;
}

static const struct cmd_argtext cmd_audit_argtext[] = {
    {.arg = PROTO_ARG_since,
     .cli = "--since TIME",
     .help = "entries logged at or after TIME (default: from the first recorded)"},
    {.arg = PROTO_ARG_until,
     .cli = "--until TIME",
     .help = "entries logged at or before TIME (default: up to the last audit poll)"},
    {.arg = PROTO_ARG_limit,
     .cli = "--limit N",
     .help = "at most N entries (default 1000, at most " PROTO_STR(PROTO_LIMIT_MAX) ")"},
    {.arg = -1},
};

const struct cmd_entry cmd_audit_entry = {
    .name = "audit",
    .op = PROTO_OP_audit_list,
    .flags = CMD_F_LIST,
    .help = "the configuration audit log (who changed what, from where), oldest first",
    .argtext = cmd_audit_argtext,
    .exec = cmd_audit_exec,
};
