/* cmd-check.c: check: the compliance checks' findings, their catalogue, their history and the
 * report for an auditor. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checks.h"
#include "client.h"

void
cmd_check_severity_words(struct sbuf *sb)
{
	for (int i = CHECK_NSEVERITIES - 1; i >= 0; i--)
		sbuf_addf(sb, "%s%s", i == CHECK_NSEVERITIES - 1 ? "" : " ",
		          check_severity_names[i]);
}

static int
cmd_check_sev(json_t *o)
{
	enum check_severity s;

	return check_severity_parse(show_str(o, "severity") ?: "", &s) == 0 ? (int)s : -1;
}

/* "device node123 (web-1)" of a finding's entity (malloc'd). */
static char *
cmd_check_entity(json_t *f)
{
	json_t *e = json_object_get(f, "entity");
	const char *name = show_str(e, "name");

	/* The tailnet-wide checks' entity: {"kind":"tailnet","id":"tailnet"}. */
	if (strcmp(show_str(e, "kind") ?: "", show_str(e, "id") ?: "?") == 0)
		return xstrdup(show_str(e, "kind"));
	if (name != NULL && strcmp(name, show_str(e, "id") ?: "") != 0)
		return xasprintf("%s %s (%s)", show_str(e, "kind") ?: "?", show_str(e, "id") ?: "?",
		                 name);
	return xasprintf("%s %s", show_str(e, "kind") ?: "?", show_str(e, "id") ?: "?");
}

/* When a finding started: its window, or "<= T (baseline)" when it was there at the first
 * evaluation and its start is unknown. Into BUF. */
static const char *
cmd_check_since(json_t *f, char *buf, size_t len)
{
	char t[TSINVCTL_TIMELEN];

	if (show_is(f, "before_baseline", "true") ||
	    json_is_true(json_object_get(f, "before_baseline"))) {
		snprintf(buf, len, "<= %s (baseline)",
		         show_time(show_str(f, "from_hi"), t, sizeof t));
		return buf;
	}
	if (show_str(f, "from_hi") == NULL && show_str(f, "since") != NULL)
		return show_time(show_str(f, "since"), buf, len);
	return show_window(show_str(f, "from_lo"), show_str(f, "from_hi"), NULL, buf, len);
}

/* ---- the catalogue ---- */

static int
cmd_check_listed(const struct check *c, const struct cmd_args *a, const char *pattern)
{
	enum check_severity least;

	if (pattern != NULL && !check_match(c, pattern))
		return 0;
	return a->severity == NULL ||
	       (check_severity_parse(a->severity, &least) == 0 && c->severity >= least);
}

static int
cmd_check_list(const struct cmd_args *a, const char *pattern)
{
	static const char *const hdr[] = {"ID", "SEVERITY", "GROUP", "TITLE"};
	struct table *t = table_new(4, hdr);
	json_t *all = json_array();

	for (size_t i = 0; i < CHECK_COUNT; i++) {
		const struct check *c = &check_table[i];

		if (!cmd_check_listed(c, a, pattern))
			continue;
		table_add_row(t, c->id, check_severity_names[c->severity],
		              check_group_names[c->group], c->title);
		json_array_append_new(all, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id",
		                                     c->id, "group", check_group_names[c->group],
		                                     "severity", check_severity_names[c->severity],
		                                     "title", c->title, "rationale", c->rationale,
		                                     "remediation", c->remediation, "kb", c->kb));
	}
	if (client_opts.json) {
		json_t *res = json_pack("{s:o}", "checks", all);

		show_print_json(res);
		json_decref(res);
	} else {
		table_print(t, stdout);
		json_decref(all);
	}
	table_free(t);
	return 0;
}

/* ---- findings ---- */

static int cmd_check_fail_on = -1;

/* The exit code: 1 when a finding reaches --fail-on. */
static int
cmd_check_verdict(json_t *res)
{
	json_t *f;
	size_t i;

	if (cmd_check_fail_on < 0)
		return 0;
	json_array_foreach(json_object_get(res, "findings"), i, f)
	{
		if (cmd_check_sev(f) >= cmd_check_fail_on)
			return 1;
	}
	return 0;
}

static void
cmd_check_unknown(json_t *res, FILE *out)
{
	json_t *r;
	size_t i, n = 0, total = json_array_size(json_object_get(res, "results"));

	json_array_foreach(json_object_get(res, "results"), i, r)
	{
		n += show_is(r, "status", "unknown");
	}
	if (n == 0)
		return;
	if (n == total) {
		fprintf(out,
		        "unknown: tsinv did not cover this time; no check can say pass or fail\n");
		return;
	}
	fprintf(out, "unknown (the data they need was not recorded then):\n");
	json_array_foreach(json_object_get(res, "results"), i, r)
	{
		char *missing;

		if (!show_is(r, "status", "unknown"))
			continue;
		missing = show_join(json_object_get(r, "missing"), ", ");
		fprintf(out, "  %s (%s)\n", show_str(r, "check"), missing ?: "-");
		free(missing);
	}
}

static int
cmd_check_show(json_t *res, const struct cmd_args *a)
{
	static const char *const hdr[] = {"SEVERITY", "CHECK", "ENTITY", "DETAIL", "SINCE"};
	struct table *t = table_new(5, hdr);
	json_t *f, *counts = json_object_get(res, "counts");
	size_t i;

	(void)a;
	/* Most severe first; the daemon lists them in table order. */
	for (int s = CHECK_NSEVERITIES - 1; s >= 0; s--) {
		json_array_foreach(json_object_get(res, "findings"), i, f)
		{
			char since[2 * TSINVCTL_TIMELEN + 16], *entity;

			if (cmd_check_sev(f) != s)
				continue;
			entity = cmd_check_entity(f);
			table_add_row(t, show_str(f, "severity"), show_str(f, "check"), entity,
			              show_str(f, "detail"),
			              cmd_check_since(f, since, sizeof since));
			free(entity);
		}
	}
	if (table_nrows(t) > 0)
		table_print(t, stdout);
	else
		printf("no findings\n");
	printf("%s: ", show_str(res, "tailnet") ?: "?");
	for (int s = CHECK_NSEVERITIES - 1; s >= 0; s--) {
		double n = 0;

		show_num(counts, check_severity_names[s], &n);
		printf("%s%.0f %s", s == CHECK_NSEVERITIES - 1 ? "" : ", ", n,
		       check_severity_names[s]);
	}
	printf("\n");
	cmd_check_unknown(res, stdout);
	table_free(t);
	return 0;
}

/* ---- history ---- */

static int
cmd_check_history_show(json_t *res, const struct cmd_args *a)
{
	static const char *const hdr[] = {"CHECK", "SEVERITY", "ENTITY", "FROM", "TO", "DETAIL"};
	struct table *t = table_new(6, hdr);
	char tb[TSINVCTL_TIMELEN];
	json_t *iv;
	size_t i;

	(void)a;
	json_array_foreach(json_object_get(res, "intervals"), i, iv)
	{
		char from[2 * TSINVCTL_TIMELEN + 16], to[2 * TSINVCTL_TIMELEN + 16], *entity;

		entity = cmd_check_entity(iv);
		cmd_check_since(iv, from, sizeof from);
		show_window(show_str(iv, "to_lo"), show_str(iv, "to_hi"), "now", to, sizeof to);
		table_add_row(t, show_str(iv, "check"), show_str(iv, "severity"), entity, from, to,
		              show_str(iv, "detail"));
		free(entity);
	}
	if (table_nrows(t) > 0)
		table_print(t, stdout);
	else
		printf("no findings recorded\n");
	if (show_str(res, "baseline") != NULL)
		printf("known since the baseline at %s: a finding there then started at an "
		       "unknown time before it\n",
		       show_time(show_str(res, "baseline"), tb, sizeof tb));
	else
		printf("no baseline yet: the checks are evaluated once every endpoint has been "
		       "polled\n");
	table_free(t);
	return 0;
}

/* ---- the report ---- */

static void
cmd_check_esc(struct sbuf *sb, const char *s, int md)
{
	for (; s != NULL && *s != '\0'; s++) {
		if (!md && *s == '<')
			sbuf_adds(sb, "&lt;");
		else if (!md && *s == '>')
			sbuf_adds(sb, "&gt;");
		else if (!md && *s == '&')
			sbuf_adds(sb, "&amp;");
		else if (!md && *s == '"')
			sbuf_adds(sb, "&quot;");
		else if (md && (*s == '|' || *s == '\\' || *s == '*' || *s == '_' || *s == '`' ||
		                *s == '<' || *s == '['))
			sbuf_addf(sb, "\\%c", *s);
		else if (md && (*s == '\n' || *s == '\r'))
			sbuf_addc(sb, ' ');
		else
			sbuf_addc(sb, *s);
	}
}

static const char cmd_check_css[] =
    "body{font-family:sans-serif;margin:2em;color:#222}"
    "table{border-collapse:collapse;margin-bottom:1.5em}"
    "th,td{border:1px solid #bbb;padding:.3em .6em;text-align:left;vertical-align:top}"
    "th{background:#eee}.sev{font-weight:bold;text-transform:uppercase}"
    ".critical .sev{color:#fff;background:#8b0000}.high .sev{color:#fff;background:#d04000}"
    ".medium .sev{background:#f0c000}.low .sev{background:#9cd}.info .sev{background:#ddd}"
    ".unknown .sev{background:#ccc;font-style:italic}.note{color:#555}";

/* One report into SB: HTML (MD = 0) or Markdown, from checks.run's answer (RUN) and the
 * history's (HIST). */
static void
cmd_check_report(struct sbuf *sb, json_t *run, json_t *hist, int md)
{
	json_t *counts = json_object_get(run, "counts"), *f, *r;
	const char *tailnet = show_str(run, "tailnet") ?: "?";
	char at[TSINVCTL_TIMELEN], since[2 * TSINVCTL_TIMELEN + 16];
	size_t i, unknown = 0;

	show_time(show_str(run, "at"), at, sizeof at);
	if (md) {
		sbuf_adds(sb, "# Compliance report: tailnet ");
		cmd_check_esc(sb, tailnet, 1);
		sbuf_addf(sb, "\n\nAs of %s, from tsinv's history (tsinvctl %s).\n\n", at,
		          PACKAGE_VERSION);
		sbuf_adds(sb, "## Summary\n\n| Severity | Findings |\n|---|---|\n");
	} else {
		sbuf_adds(sb, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		              "<title>Compliance report: ");
		cmd_check_esc(sb, tailnet, 0);
		sbuf_addf(sb,
		          "</title><style>%s</style></head><body>\n<h1>Compliance report: "
		          "tailnet ",
		          cmd_check_css);
		cmd_check_esc(sb, tailnet, 0);
		sbuf_addf(sb,
		          "</h1>\n<p class=\"note\">As of %s, from tsinv's history (tsinvctl "
		          "%s).</p>\n<h2>Summary</h2>\n<table id=\"summary\"><tr><th>Severity</th>"
		          "<th>Findings</th></tr>\n",
		          at, PACKAGE_VERSION);
	}
	json_array_foreach(json_object_get(run, "results"), i, r)
	{
		unknown += show_is(r, "status", "unknown");
	}
	for (int s = CHECK_NSEVERITIES - 1; s >= 0; s--) {
		double n = 0;

		show_num(counts, check_severity_names[s], &n);
		if (md)
			sbuf_addf(sb, "| %s | %.0f |\n", check_severity_names[s], n);
		else
			sbuf_addf(sb,
			          "<tr class=\"%s\" data-severity=\"%s\"><td class=\"sev\">%s</td>"
			          "<td class=\"count\">%.0f</td></tr>\n",
			          check_severity_names[s], check_severity_names[s],
			          check_severity_names[s], n);
	}
	if (md)
		sbuf_addf(sb, "| checks unknown | %zu |\n\n## Findings\n\n", unknown);
	else
		sbuf_addf(
		    sb,
		    "<tr class=\"unknown\" data-severity=\"unknown\"><td class=\"sev\">checks "
		    "unknown</td><td class=\"count\">%zu</td></tr>\n</table>\n<h2>Findings</h2>\n",
		    unknown);
	if (json_array_size(json_object_get(run, "findings")) == 0)
		sbuf_adds(sb, md ? "No findings.\n\n" : "<p id=\"no-findings\">No findings.</p>\n");
	else if (md)
		sbuf_adds(sb, "| Severity | Check | Entity | Detail | Since | Remediation |\n"
		              "|---|---|---|---|---|---|\n");
	else
		sbuf_adds(
		    sb, "<table id=\"findings\"><tr><th>Severity</th><th>Check</th>"
		        "<th>Entity</th><th>Detail</th><th>Since</th><th>Remediation</th></tr>\n");
	for (int s = CHECK_NSEVERITIES - 1; s >= 0; s--) {
		json_array_foreach(json_object_get(run, "findings"), i, f)
		{
			const struct check *c = check_find(show_str(f, "check") ?: "");
			char *entity;

			if (cmd_check_sev(f) != s || c == NULL)
				continue;
			entity = cmd_check_entity(f);
			cmd_check_since(f, since, sizeof since);
			if (md) {
				sbuf_addf(sb, "| %s | %s: ", check_severity_names[s], c->id);
				cmd_check_esc(sb, c->title, 1);
				sbuf_adds(sb, " | ");
				cmd_check_esc(sb, entity, 1);
				sbuf_adds(sb, " | ");
				cmd_check_esc(sb, show_str(f, "detail"), 1);
				sbuf_addf(sb, " | %s | ", since);
				cmd_check_esc(sb, c->remediation, 1);
				sbuf_adds(sb, " |\n");
			} else {
				sbuf_addf(sb,
				          "<tr class=\"finding %s\" data-check=\"%s\" "
				          "data-entity=\"",
				          check_severity_names[s], c->id);
				cmd_check_esc(sb, entity, 0);
				sbuf_addf(sb, "\"><td class=\"sev\">%s</td><td>%s<br>",
				          check_severity_names[s], c->id);
				cmd_check_esc(sb, c->title, 0);
				sbuf_adds(sb, "</td><td>");
				cmd_check_esc(sb, entity, 0);
				sbuf_adds(sb, "</td><td>");
				cmd_check_esc(sb, show_str(f, "detail"), 0);
				sbuf_adds(sb, "</td><td>");
				cmd_check_esc(sb, since, 0);
				sbuf_adds(sb, "</td><td>");
				cmd_check_esc(sb, c->remediation, 0);
				if (*c->kb != '\0') {
					sbuf_adds(sb, " <span class=\"note\">(");
					cmd_check_esc(sb, c->kb, 0);
					sbuf_adds(sb, ")</span>");
				}
				sbuf_adds(sb, "</td></tr>\n");
			}
			free(entity);
		}
	}
	if (!md && json_array_size(json_object_get(run, "findings")) > 0)
		sbuf_adds(sb, "</table>\n");
	if (unknown > 0) {
		sbuf_adds(
		    sb, md ? "\n## Checks that could not be evaluated\n\n"
		           : "<h2>Checks that could not be evaluated</h2>\n<ul id=\"unknown\">\n");
		json_array_foreach(json_object_get(run, "results"), i, r)
		{
			char *missing;

			if (!show_is(r, "status", "unknown"))
				continue;
			missing = show_join(json_object_get(r, "missing"), ", ");
			sbuf_addf(sb,
			          md ? "- %s: unknown (no record of %s)\n"
			             : "<li>%s: unknown (no record of %s)</li>\n",
			          show_str(r, "check"), missing ?: "-");
			free(missing);
		}
		if (!md)
			sbuf_adds(sb, "</ul>\n");
	}
	/* The history: each finding's intervals, as the check events recorded them. */
	sbuf_adds(sb, md ? "\n## History\n\n" : "<h2>History</h2>\n");
	if (show_str(hist, "baseline") != NULL) {
		char b[TSINVCTL_TIMELEN];

		show_time(show_str(hist, "baseline"), b, sizeof b);
		sbuf_addf(sb,
		          md ? "Known since the baseline at %s: what was found then started at an "
		               "unknown time before it.\n\n"
		             : "<p class=\"note\">Known since the baseline at %s: what was found "
		               "then started at an unknown time before it.</p>\n",
		          b);
	}
	if (json_array_size(json_object_get(hist, "intervals")) == 0) {
		sbuf_adds(sb, md ? "No findings recorded.\n" : "<p>No findings recorded.</p>\n");
	} else {
		sbuf_adds(sb,
		          md ? "| Check | Severity | Entity | From | To |\n|---|---|---|---|---|\n"
		             : "<table id=\"history\"><tr><th>Check</th><th>Severity</th>"
		               "<th>Entity</th><th>From</th><th>To</th></tr>\n");
		json_array_foreach(json_object_get(hist, "intervals"), i, f)
		{
			char to[2 * TSINVCTL_TIMELEN + 16], *entity = cmd_check_entity(f);

			cmd_check_since(f, since, sizeof since);
			show_window(show_str(f, "to_lo"), show_str(f, "to_hi"), "now", to,
			            sizeof to);
			sbuf_adds(sb, md ? "| " : "<tr class=\"interval\"><td>");
			cmd_check_esc(sb, show_str(f, "check"), md);
			sbuf_adds(sb, md ? " | " : "</td><td>");
			cmd_check_esc(sb, show_str(f, "severity"), md);
			sbuf_adds(sb, md ? " | " : "</td><td>");
			cmd_check_esc(sb, entity, md);
			sbuf_adds(sb, md ? " | " : "</td><td>");
			cmd_check_esc(sb, since, md);
			sbuf_adds(sb, md ? " | " : "</td><td>");
			cmd_check_esc(sb, to, md);
			sbuf_adds(sb, md ? " |\n" : "</td></tr>\n");
			free(entity);
		}
		if (!md)
			sbuf_adds(sb, "</table>\n");
	}
	if (!md)
		sbuf_adds(sb, "</body></html>\n");
}

static int
cmd_check_write_report(const struct cmd_entry *cmd, const struct cmd_args *a, json_t *args)
{
	json_t *run = NULL, *hist = NULL, *hargs;
	struct cmd_args ha = *a;
	struct sbuf sb = {0};
	FILE *f = stdout;
	int rc, md;

	md = strcmp(a->format, "md") == 0;
	hargs = json_deep_copy(args);
	json_object_del(hargs, "severity");
	if ((rc = conn_fetch(cmd, a, args, &run)) != 0) {
		json_decref(hargs);
		return rc;
	}
	ha.at = NULL;
	ha.history = 1;
	if ((rc = conn_fetch(cmd, &ha, hargs, &hist)) != 0) {
		json_decref(run);
		return rc;
	}
	cmd_check_report(&sb, run, hist, md);
	if (a->output != NULL && (f = fopen(a->output, "w")) == NULL) {
		fprintf(stderr, "tsinvctl: %s: %s\n", a->output, strerror(errno));
		rc = TSINVCTL_EXIT_ERROR;
	} else {
		fwrite(sb.p, 1, sb.len, f);
		if (f != stdout && fclose(f) != 0) {
			fprintf(stderr, "tsinvctl: %s: %s\n", a->output, strerror(errno));
			rc = TSINVCTL_EXIT_ERROR;
		}
	}
	if (rc == 0)
		rc = cmd_check_verdict(run);
	sbuf_free(&sb);
	json_decref(run);
	json_decref(hist);
	return rc;
}

static int
cmd_check(const struct cmd_entry *cmd, const struct cmd_args *a)
{
	const char *pattern = a->check != NULL ? a->check : a->arg;
	json_t *args;

	if (a->check != NULL && a->arg != NULL)
		return tsinvctl_usage_error(cmd, "check: give ID|GLOB or --id, not both");
	if (a->list)
		return cmd_check_list(a, pattern);
	if (a->output != NULL && !a->report)
		return tsinvctl_usage_error(cmd, "check: --output goes with --report");
	if (a->format != NULL && !a->report)
		return tsinvctl_usage_error(cmd, "check: --format goes with --report");
	if (a->report &&
	    (a->format == NULL || (strcmp(a->format, "html") != 0 && strcmp(a->format, "md") != 0)))
		return tsinvctl_usage_error(cmd, "check --report needs --format html or md");
	cmd_check_fail_on = a->fail_on;
	args = json_object();
	if (a->severity != NULL)
		json_object_set_new(args, "severity", json_string(a->severity));
	if (pattern != NULL && conn_arg_str(cmd, args, "check", pattern) != 0) {
		json_decref(args);
		return TSINVCTL_EXIT_USAGE;
	}
	if (a->report)
		return cmd_check_write_report(cmd, a, args);
	if (a->history)
		return conn_query(cmd, a, args, cmd_check_history_show, NULL);
	return conn_query(cmd, a, args, cmd_check_show, cmd_check_verdict);
}

const struct cmd_entry cmd_check_entry = {
    .name = "check",
    .op = PROTO_OP_checks_run,
    .arg = "ID|GLOB",
    .flags =
        CMD_F_OPTARG | CMD_F_FAILON | CMD_F_CHECKLIST | CMD_F_REPORT | CMD_F_FORMAT | CMD_F_OUTPUT,
    .history = "each finding's intervals (from its check.failed and check.resolved events) "
               "instead of the findings at one time",
    .format = "html or md: the report's format",
    .help = "the compliance checks as of now or a time: findings by severity (exit 1 with "
            "--fail-on when one reaches it), the catalogue, each finding's history, a report",
    .exec = cmd_check,
};
