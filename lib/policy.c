/* policy.c: rows (groups, rules) and per-section counts from a parsed tailnet policy file. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "policy.h"

/* A rule member we know: its current name and, for acls, the name it had before. */
struct policy_field {
	const char *name;
	const char *legacy;
};

#define POLICY_MAX_FIELDS 8

static const struct policy_field policy_acl_fields[] = {
    {"action", NULL}, {"src", "users"},     {"dst", "ports"},
    {"proto", NULL},  {"srcPosture", NULL}, {NULL, NULL},
};

static const struct policy_field policy_grant_fields[] = {
    {"src", NULL}, {"dst", NULL},        {"ip", NULL}, {"app", NULL},
    {"via", NULL}, {"srcPosture", NULL}, {NULL, NULL},
};

static const struct policy_field policy_ssh_fields[] = {
    {"action", NULL},          {"src", NULL},         {"dst", NULL},
    {"users", NULL},           {"checkPeriod", NULL}, {"recorder", NULL},
    {"enforceRecorder", NULL}, {"acceptEnv", NULL},   {NULL, NULL},
};

#define POLICY_NFIELDS(t) (sizeof t / sizeof t[0] - 1)
_Static_assert(POLICY_NFIELDS(policy_acl_fields) <= POLICY_MAX_FIELDS, "acls fields");
_Static_assert(POLICY_NFIELDS(policy_grant_fields) <= POLICY_MAX_FIELDS, "grants fields");
_Static_assert(POLICY_NFIELDS(policy_ssh_fields) <= POLICY_MAX_FIELDS, "ssh fields");

/* The rule sections, in the order policy_rules lists them; action is implied when not NULL. */
static const struct {
	const char *name;
	const char *action;
	const struct policy_field *fields;
} policy_rule_sections[] = {
    {"acls", NULL, policy_acl_fields},
    {"grants", "accept", policy_grant_fields},
    {"ssh", NULL, policy_ssh_fields},
};

/* The sections policy_summary counts (arrays count elements, objects count members). */
static const char *const policy_counted[] = {
    "acls",   "grants",   "ssh",       "groups", "tagOwners", "hosts",
    "ipsets", "postures", "nodeAttrs", "tests",  "sshTests",
};

/* ASCII case-insensitive equality: strcasecmp would follow the locale. */
static bool
policy_name_eq(const char *a, const char *b)
{
	for (; *a != '\0' && *b != '\0'; a++, b++) {
		unsigned char x = (unsigned char)*a, y = (unsigned char)*b;

		if (x >= 'A' && x <= 'Z')
			x += 'a' - 'A';
		if (y >= 'A' && y <= 'Z')
			y += 'a' - 'A';
		if (x != y)
			return false;
	}
	return *a == *b;
}

json_t *
policy_get(json_t *obj, const char *name)
{
	json_t *v, *found = NULL;
	const char *key;

	json_object_foreach(obj, key, v)
	{
		if (policy_name_eq(key, name))
			found = v;
	}
	return found;
}

/* Whether arr is an array holding the string s. */
static bool
policy_has_string(json_t *arr, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v)
	{
		if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
			return true;
	}
	return false;
}

json_t *
policy_groups(json_t *policy)
{
	json_t *rows, *groups, *members, *m;
	const char *group;
	size_t i;

	if (!json_is_object(policy))
		return NULL;
	rows = json_array();
	groups = policy_get(policy, "groups");
	json_object_foreach(groups, group, members)
	{
		if (!json_is_array(members))
			continue;
		if (json_array_size(members) == 0)
			json_array_append_new(rows,
			                      json_pack("{s:s, s:n}", "group", group, "member"));
		json_array_foreach(members, i, m)
		{
			json_array_append_new(rows, json_pack("{s:s, s:o}", "group", group,
			                                      "member", json_deep_copy(m)));
		}
	}
	return rows;
}

/* Index into fields of the member called key (current or legacy name), or -1. */
static int
policy_field_index(const struct policy_field *fields, const char *key)
{
	int i;

	for (i = 0; fields[i].name != NULL; i++) {
		if (policy_name_eq(key, fields[i].name) ||
		    (fields[i].legacy != NULL && policy_name_eq(key, fields[i].legacy)))
			return i;
	}
	return -1;
}

/* New reference: the row for one rule. A member given twice (as "src" and "users", or in two
 * cases) is taken from its last occurrence, as Tailscale's decoder does; the others go to
 * "other" so that nothing is lost. */
static json_t *
policy_rule_row(const char *section, const char *action, const struct policy_field *fields,
                size_t index, json_t *rule)
{
	const char *keys[POLICY_MAX_FIELDS] = {NULL};
	json_t *vals[POLICY_MAX_FIELDS] = {NULL};
	json_t *row, *other, *v;
	const char *key;
	int i;

	row = json_pack("{s:s, s:I}", "section", section, "index", (json_int_t)index);
	if (!json_is_object(rule)) {
		json_object_set_new(row, "invalid", json_deep_copy(rule));
		return row;
	}
	json_object_foreach(rule, key, v)
	{
		if ((i = policy_field_index(fields, key)) >= 0) {
			keys[i] = key;
			vals[i] = v;
		}
	}
	other = json_object();
	json_object_foreach(rule, key, v)
	{
		i = policy_field_index(fields, key);
		if (i < 0 || keys[i] != key)
			json_object_set_new(other, key, json_deep_copy(v));
	}
	if (action != NULL)
		json_object_set_new(row, "action", json_string(action));
	for (i = 0; fields[i].name != NULL; i++) {
		if (vals[i] != NULL)
			json_object_set_new(row, fields[i].name, json_deep_copy(vals[i]));
	}
	if (json_object_size(other) > 0)
		json_object_set_new(row, "other", other);
	else
		json_decref(other);
	return row;
}

json_t *
policy_rules(json_t *policy)
{
	json_t *rows, *rules, *rule;
	size_t s, i;

	if (!json_is_object(policy))
		return NULL;
	rows = json_array();
	for (s = 0; s < sizeof policy_rule_sections / sizeof policy_rule_sections[0]; s++) {
		rules = policy_get(policy, policy_rule_sections[s].name);
		json_array_foreach(rules, i, rule)
		{
			json_array_append_new(rows, policy_rule_row(policy_rule_sections[s].name,
			                                            policy_rule_sections[s].action,
			                                            policy_rule_sections[s].fields,
			                                            i, rule));
		}
	}
	return rows;
}

/* Borrowed: the member of rule called name (any case, or its legacy name); the last wins. */
static json_t *
policy_rule_get(json_t *rule, const struct policy_field *fields, const char *name)
{
	int want = policy_field_index(fields, name);
	json_t *v, *found = NULL;
	const char *key;

	json_object_foreach(rule, key, v)
	{
		if (policy_field_index(fields, key) == want)
			found = v;
	}
	return found;
}

/* Appends to reasons every rule that lets any source reach any destination on any port. */
static void
policy_wide_open(json_t *policy, json_t *reasons)
{
	char buf[160];
	json_t *rule;
	size_t i;

	json_array_foreach(policy_get(policy, "acls"), i, rule)
	{
		if (policy_has_string(policy_rule_get(rule, policy_acl_fields, "src"), "*") &&
		    policy_has_string(policy_rule_get(rule, policy_acl_fields, "dst"), "*:*")) {
			snprintf(
			    buf, sizeof buf,
			    "acls[%zu] lets src \"*\" reach dst \"*:*\" (any device, any port)", i);
			json_array_append_new(reasons, json_string(buf));
		}
	}
	json_array_foreach(policy_get(policy, "grants"), i, rule)
	{
		if (policy_has_string(policy_rule_get(rule, policy_grant_fields, "src"), "*") &&
		    policy_has_string(policy_rule_get(rule, policy_grant_fields, "dst"), "*") &&
		    policy_has_string(policy_rule_get(rule, policy_grant_fields, "ip"), "*")) {
			snprintf(
			    buf, sizeof buf,
			    "grants[%zu] lets src \"*\" reach dst \"*\" with ip \"*\" (any device, "
			    "any port)",
			    i);
			json_array_append_new(reasons, json_string(buf));
		}
	}
}

json_t *
policy_summary(json_t *policy)
{
	json_t *sum, *v, *reasons;
	size_t i, n;

	if (!json_is_object(policy))
		return NULL;
	sum = json_object();
	for (i = 0; i < sizeof policy_counted / sizeof policy_counted[0]; i++) {
		v = policy_get(policy, policy_counted[i]);
		n = json_is_array(v) ? json_array_size(v) : json_object_size(v);
		json_object_set_new(sum, policy_counted[i], json_integer((json_int_t)n));
	}
	reasons = json_array();
	policy_wide_open(policy, reasons);
	json_object_set_new(sum, "micro_segmented", json_boolean(json_array_size(reasons) == 0));
	if (json_array_size(reasons) == 0)
		json_array_append_new(
		    reasons, json_string("no acls rule from src \"*\" to dst \"*:*\" and no "
		                         "grant with src, dst and ip \"*\""));
	json_object_set_new(sum, "reasons", reasons);
	return sum;
}
