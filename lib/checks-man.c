/* checks-man.c: the tsinv-checks(7) manual page, written from the catalogue so that the two
 * cannot drift ("make checks-man" regenerates doc/tsinv-checks.7; a unit test compares). */
#include <string.h>

#include "checks.h"

/* Text for roff: backslashes and hyphens escaped, a leading dot or quote guarded. */
static void
checks_man_text(struct sbuf *sb, const char *s)
{
	if (*s == '.' || *s == '\'')
		sbuf_adds(sb, "\\&");
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			sbuf_adds(sb, "\\e");
		else if (*s == '-')
			sbuf_adds(sb, "\\-");
		else
			sbuf_addc(sb, *s);
	}
	sbuf_addc(sb, '\n');
}

static const char *const checks_man_groups[CHECK_NGROUPS] = {
    "ACL: access rules, tags and tests of the policy file",
    "SSH: Tailscale SSH rules",
    "AUTH: auth keys, API tokens and OAuth clients",
    "DEV: devices and device settings",
    "NET: exposure and routing",
    "USER: users and roles",
    "DNS",
    "LOG: alerting and logging",
    "HIST: what only the history shows",
};

static const char checks_man_head[] =
    ".\\\" Generated from lib/check-table.h by \"make checks-man\"; do not edit.\n"
    ".TH TSINV-CHECKS 7 \"\" \"tsinv\" \"tsinv manual\"\n"
    ".SH NAME\n"
    "tsinv-checks \\- the compliance checks tsinv evaluates over its history\n"
    ".SH DESCRIPTION\n"
    "Each check has an id that never changes, a group, a default severity (critical, high,\n"
    "medium, low or info), a title, why it matters, what to do, and a Tailscale knowledge base\n"
    "page where one is known.\n"
    "Checks read the history as of one moment: the policy file, devices, keys, users, settings,\n"
    "DNS and webhooks in force then.\n"
    "A check that needs something tsinv did not know at that moment (never polled, or a moment\n"
    "outside what tsinv covered) reports\n"
    ".IR unknown ,\n"
    "never a pass.\n"
    "Each finding names one entity (a device, key, user, rule, tag, route, domain, policy\n"
    "revision, or the tailnet itself) and is reported once per check and entity.\n"
    ".SH OPTIONS\n"
    "The\n"
    ".B [checks]\n"
    "section of\n"
    ".BR tsinvd.conf (5)\n"
    "sets:\n"
    ".TP\n"
    ".BI stale_after \" = DURATION\"\n"
    "a device not seen for longer is stale (TSINV\\-DEV\\-004); default 30d.\n"
    ".TP\n"
    ".BI key_max_age \" = DURATION\"\n"
    "the longest a key may be valid or in use (TSINV\\-AUTH\\-002, TSINV\\-AUTH\\-005,\n"
    "TSINV\\-HIST\\-001); default 90d.\n"
    ".TP\n"
    ".BI node_key_max_age \" = DURATION\"\n"
    "the longest node key duration (TSINV\\-DEV\\-013); default 180d.\n"
    ".TP\n"
    ".BI window \" = DURATION\"\n"
    "how far back the HIST checks look from the moment; default 90d.\n"
    ".TP\n"
    ".BI reuse_window \" = DURATION\"\n"
    "an address taken within this time of its release by a deleted device is a reuse\n"
    "(TSINV\\-HIST\\-006); default 1d.\n"
    ".TP\n"
    ".BI minor_versions_behind \" = N\"\n"
    "how many minor version numbers a client may trail the newest client in the tailnet\n"
    "(TSINV\\-DEV\\-009); default 4, two stable releases (stable minor numbers are even).\n"
    ".TP\n"
    ".BI max_admins \" = N\"\n"
    "the most owners and admins wanted (TSINV\\-USER\\-002); default 3.\n"
    ".TP\n"
    ".BI disable \" = ID ...\"\n"
    "checks not to run; may be given more than once.\n"
    ".TP\n"
    ".BI severity. ID \" = SEVERITY\"\n"
    "a severity other than the default for one check.\n"
    ".TP\n"
    ".BI record \" = yes|no\"\n"
    "whether tsinvd keeps the findings after each poll that changed the history and records\n"
    "check.baseline, check.failed and check.resolved events; default yes.\n"
    ".PP\n"
    "An unknown option or check id is a configuration error.\n"
    ".SH USE\n"
    ".B tsinvctl check\n"
    "lists the findings now or at a time,\n"
    ".B \\-\\-fail\\-on\n"
    "makes it exit 1 when one is severe enough,\n"
    ".B \\-\\-history\n"
    "gives each finding's intervals and\n"
    ".B \\-\\-report\n"
    "writes a report for an auditor; see\n"
    ".BR tsinvctl (1).\n"
    "tsinvd evaluates the checks again after each poll that changed the history, in the same\n"
    "transaction, and records a check.failed event when a finding starts and a check.resolved\n"
    "event when it ends; the first evaluation of a tailnet records one check.baseline.\n"
    "Findings that only time starts or ends (a device stale after stale_after, a key older\n"
    "than key_max_age or expired) are evaluated at the first poll after their moment, even\n"
    "when that poll changed nothing.\n";

static const char checks_man_tail[] = ".SH SEE ALSO\n"
                                      ".BR tsinvctl (1),\n"
                                      ".BR tsinvd (8),\n"
                                      ".BR tsinvd.conf (5)\n";

void
checks_man_page(struct sbuf *sb)
{
	size_t counts[CHECK_NGROUPS] = {0};
	int group = -1;

	for (size_t i = 0; i < CHECK_COUNT; i++)
		counts[check_table[i].group]++;
	sbuf_adds(sb, checks_man_head);
	sbuf_addf(sb, ".SH CHECKS\nThere are %d checks:", CHECK_COUNT);
	for (int g = 0; g < CHECK_NGROUPS; g++)
		sbuf_addf(sb, " %zu %s%s", counts[g], check_group_names[g],
		          g == CHECK_NGROUPS - 1 ? ".\n" : ",");
	for (size_t i = 0; i < CHECK_COUNT; i++) {
		const struct check *c = &check_table[i];

		if ((int)c->group != group) {
			group = (int)c->group;
			sbuf_adds(sb, ".SS ");
			checks_man_text(sb, checks_man_groups[group]);
		}
		sbuf_adds(sb, ".TP\n.B ");
		checks_man_text(sb, c->id);
		sbuf_addf(sb, "(%s)\n", check_severity_names[c->severity]);
		checks_man_text(sb, c->title);
		sbuf_adds(sb, ".RS\n.PP\n");
		checks_man_text(sb, c->rationale);
		sbuf_adds(sb, ".PP\n.I Remediation:\n");
		checks_man_text(sb, c->remediation);
		if (c->kb[0] != '\0') {
			sbuf_adds(sb, ".PP\n.I See\n");
			checks_man_text(sb, c->kb);
		}
		sbuf_adds(sb, ".RE\n");
	}
	sbuf_adds(sb, checks_man_tail);
}
