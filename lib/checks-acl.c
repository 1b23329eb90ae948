/* checks-acl.c: the checks of the policy file's rules, tags, tests and SSH rules. */
#include <string.h>

#include "checks-int.h"
#include "policy.h"

/* The policy's entity: the whole file. */
#define ACL_POLICY "policy", "policy", NULL

static const char *const acl_danger[] = {"autogroup:danger-all", NULL};
static const char *const acl_member[] = {"autogroup:member", "autogroup:members", NULL};

static bool
acl_section_is(json_t *row, const char *section)
{
	const char *s = json_string_value(json_object_get(row, "section"));

	return s != NULL && strcmp(s, section) == 0;
}

static const char *
acl_action(json_t *row)
{
	return json_string_value(json_object_get(row, "action")) ?: "";
}

/* A section's entries: an array's length, an object's members. */
static size_t
acl_count(json_t *policy, const char *section)
{
	json_t *v = policy_get(policy, section);

	return json_is_array(v) ? json_array_size(v) : json_is_object(v) ? json_object_size(v) : 0;
}

void
check_acl_no_rules(struct check_ctx *cx)
{
	json_t *p = cx->snap->policy;

	if (!check_need(cx, CHECK_P_POLICY))
		return;
	if (policy_get(p, "acls") == NULL && policy_get(p, "grants") == NULL)
		check_found(cx, ACL_POLICY, TSTIME_NONE,
		            "no acls and no grants: the default policy allows all traffic");
}

void
check_acl_allow_all(struct check_ctx *cx)
{
	json_t *row;
	char id[64];
	size_t i;

	if (!check_need(cx, CHECK_P_POLICY))
		return;
	json_array_foreach(cx->rules, i, row)
	{
		if (check_rule_allow_all(row))
			check_found(cx, "rule", check_rule_id(row, id, sizeof id), NULL,
			            TSTIME_NONE, "%s lets \"*\" reach every port of every device",
			            id);
	}
}

/* Where a selector may appear outside the rules: tag owners and auto-approvers. */
static bool
acl_owner_lists_match(json_t *obj, const char *const *sel, const char **where)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v)
	{
		if (json_is_object(v) ? acl_owner_lists_match(v, sel, where)
		                      : check_has_any(v, sel)) {
			if (*where == NULL)
				*where = key;
			return true;
		}
	}
	return false;
}

void
check_acl_danger_all(struct check_ctx *cx)
{
	const char *where = NULL;
	json_t *row;
	char id[64];
	size_t i;

	if (!check_need(cx, CHECK_P_POLICY))
		return;
	json_array_foreach(cx->rules, i, row)
	{
		if (check_has_any(json_object_get(row, "src"), acl_danger) ||
		    check_has_any(json_object_get(row, "dst"), acl_danger))
			check_found(cx, "rule", check_rule_id(row, id, sizeof id), NULL,
			            TSTIME_NONE, "%s names autogroup:danger-all", id);
	}
	if (acl_owner_lists_match(policy_get(cx->snap->policy, "tagOwners"), acl_danger, &where))
		check_found(cx, "policy", "tagOwners", NULL, TSTIME_NONE,
		            "tagOwners of %s names autogroup:danger-all", where);
	where = NULL;
	if (acl_owner_lists_match(policy_get(cx->snap->policy, "autoApprovers"), acl_danger,
	                          &where))
		check_found(cx, "policy", "autoApprovers", NULL, TSTIME_NONE,
		            "autoApprovers for %s names autogroup:danger-all", where);
}

void
check_acl_broad_tag_owners(struct check_ctx *cx)
{
	json_t *owners, *v;
	const char *tag;

	if (!check_need(cx, CHECK_P_POLICY))
		return;
	owners = policy_get(cx->snap->policy, "tagOwners");
	json_object_foreach(owners, tag, v)
	{
		if (check_has_any(v, check_everyone))
			check_found(cx, "tag", tag, NULL, TSTIME_NONE,
			            "%s can be applied by every user", tag);
	}
}

void
check_acl_broad_auto_approvers(struct check_ctx *cx)
{
	json_t *aa, *routes, *v;
	const char *route;

	if (!check_need(cx, CHECK_P_POLICY))
		return;
	aa = policy_get(cx->snap->policy, "autoApprovers");
	routes = policy_get(aa, "routes");
	json_object_foreach(routes, route, v)
	{
		if (check_has_any(v, check_everyone))
			check_found(cx, "route", route, NULL, TSTIME_NONE,
			            "route %s is approved for every user", route);
	}
	if (check_has_any(policy_get(aa, "exitNode"), check_everyone))
		check_found(cx, "route", "exitNode", NULL, TSTIME_NONE,
		            "exit nodes are approved for every user");
}

void
check_acl_no_tests(struct check_ctx *cx)
{
	if (!check_need(cx, CHECK_P_POLICY))
		return;
	if (acl_count(cx->snap->policy, "tests") == 0)
		check_found(cx, ACL_POLICY, TSTIME_NONE, "the policy file has no tests");
}

void
check_acl_tests_no_deny(struct check_ctx *cx)
{
	json_t *tests, *t;
	size_t i;

	if (!check_need(cx, CHECK_P_POLICY))
		return;
	tests = policy_get(cx->snap->policy, "tests");
	if (json_array_size(tests) == 0)
		return; /* TSINV-ACL-006 says so */
	json_array_foreach(tests, i, t)
	{
		if (json_array_size(policy_get(t, "deny")) > 0)
			return;
	}
	check_found(cx, ACL_POLICY, TSTIME_NONE, "%zu tests, none with a deny assertion",
	            json_array_size(tests));
}

void
check_acl_member_source(struct check_ctx *cx)
{
	json_t *row;
	char id[64];
	size_t i;

	if (!check_need(cx, CHECK_P_POLICY))
		return;
	json_array_foreach(cx->rules, i, row)
	{
		if (acl_section_is(row, "ssh"))
			continue; /* SSH-003 judges SSH sources */
		if (check_has_any(json_object_get(row, "src"), acl_member))
			check_found(cx, "rule", check_rule_id(row, id, sizeof id), NULL,
			            TSTIME_NONE, "%s has autogroup:member as a source", id);
	}
}

void
check_acl_named_users(struct check_ctx *cx)
{
	json_t *row, *s;
	char id[64];
	size_t i, j;

	if (!check_need(cx, CHECK_P_POLICY))
		return;
	json_array_foreach(cx->rules, i, row)
	{
		size_t n = 0;
		const char *first = NULL;

		json_array_foreach(json_object_get(row, "src"), j, s)
		{
			const char *v = json_string_value(s);

			/* A login, not group:, tag:, autogroup: or an address. */
			if (v != NULL && strchr(v, '@') != NULL && strchr(v, ':') == NULL) {
				first = first ?: v;
				n++;
			}
		}
		if (n > 0)
			check_found(cx, "rule", check_rule_id(row, id, sizeof id), NULL,
			            TSTIME_NONE, "%s names %zu user%s directly (%s%s)", id, n,
			            n == 1 ? "" : "s", first, n > 1 ? ", ..." : "");
	}
}

void
check_acl_legacy_only(struct check_ctx *cx)
{
	if (!check_need(cx, CHECK_P_POLICY))
		return;
	if (acl_count(cx->snap->policy, "acls") > 0 && acl_count(cx->snap->policy, "grants") == 0)
		check_found(cx, ACL_POLICY, TSTIME_NONE, "%zu acls rules and no grants",
		            acl_count(cx->snap->policy, "acls"));
}

void
check_acl_any_port_any_device(struct check_ctx *cx)
{
	json_t *row;
	char id[64];
	size_t i;

	if (!check_need(cx, CHECK_P_POLICY))
		return;
	json_array_foreach(cx->rules, i, row)
	{
		/* The rule from "*" is TSINV-ACL-002's. */
		if (check_rule_any_dst(row) && !check_rule_allow_all(row))
			check_found(cx, "rule", check_rule_id(row, id, sizeof id), NULL,
			            TSTIME_NONE, "%s reaches every port of every device", id);
	}
}

/* ---- SSH ---- */

static bool
acl_has_prefix(json_t *arr, const char *prefix)
{
	json_t *v;
	size_t i;

	json_array_foreach(arr, i, v)
	{
		const char *s = json_string_value(v);

		if (s != NULL && strncmp(s, prefix, strlen(prefix)) == 0)
			return true;
	}
	return false;
}

void
check_ssh_nonroot_tagged(struct check_ctx *cx)
{
	static const char *const nonroot[] = {"autogroup:nonroot", NULL};
	static const char *const tagged[] = {"autogroup:tagged", "*", NULL};
	json_t *row;
	char id[64];
	size_t i;

	if (!check_need(cx, CHECK_P_POLICY))
		return;
	json_array_foreach(cx->rules, i, row)
	{
		json_t *dst = json_object_get(row, "dst");

		if (!acl_section_is(row, "ssh") ||
		    !check_has_any(json_object_get(row, "users"), nonroot))
			continue;
		if (acl_has_prefix(dst, "tag:") || check_has_any(dst, tagged))
			check_found(cx, "rule", check_rule_id(row, id, sizeof id), NULL,
			            TSTIME_NONE, "%s allows autogroup:nonroot on tagged devices",
			            id);
	}
}

/* Whether an SSH rule reaches only the source's own devices. */
static bool
acl_self_only(json_t *row)
{
	static const char *const self[] = {"autogroup:self", NULL};
	json_t *dst = json_object_get(row, "dst");

	return json_array_size(dst) == 1 && check_has_any(dst, self);
}

void
check_ssh_root_no_check(struct check_ctx *cx)
{
	static const char *const root[] = {"root", NULL};
	json_t *row;
	char id[64];
	size_t i;

	if (!check_need(cx, CHECK_P_POLICY))
		return;
	json_array_foreach(cx->rules, i, row)
	{
		if (acl_section_is(row, "ssh") && strcmp(acl_action(row), "accept") == 0 &&
		    !acl_self_only(row) && check_has_any(json_object_get(row, "users"), root))
			check_found(cx, "rule", check_rule_id(row, id, sizeof id), NULL,
			            TSTIME_NONE, "%s accepts root logins without check mode", id);
	}
}

void
check_ssh_broad_no_check(struct check_ctx *cx)
{
	json_t *row;
	char id[64];
	size_t i;

	if (!check_need(cx, CHECK_P_POLICY))
		return;
	json_array_foreach(cx->rules, i, row)
	{
		if (acl_section_is(row, "ssh") && strcmp(acl_action(row), "accept") == 0 &&
		    !acl_self_only(row) &&
		    check_has_any(json_object_get(row, "src"), check_everyone))
			check_found(cx, "rule", check_rule_id(row, id, sizeof id), NULL,
			            TSTIME_NONE, "%s accepts every user without check mode", id);
	}
}

void
check_ssh_recorder_not_enforced(struct check_ctx *cx)
{
	json_t *row;
	char id[64];
	size_t i;

	if (!check_need(cx, CHECK_P_POLICY))
		return;
	json_array_foreach(cx->rules, i, row)
	{
		if (acl_section_is(row, "ssh") &&
		    json_array_size(json_object_get(row, "recorder")) > 0 &&
		    !json_is_true(json_object_get(row, "enforceRecorder")))
			check_found(cx, "rule", check_rule_id(row, id, sizeof id), NULL,
			            TSTIME_NONE, "%s records sessions but lets them run unrecorded",
			            id);
	}
}

void
check_ssh_no_tests(struct check_ctx *cx)
{
	if (!check_need(cx, CHECK_P_POLICY))
		return;
	if (acl_count(cx->snap->policy, "ssh") > 0 && acl_count(cx->snap->policy, "sshTests") == 0)
		check_found(cx, ACL_POLICY, TSTIME_NONE, "%zu SSH rules and no sshTests",
		            acl_count(cx->snap->policy, "ssh"));
}
