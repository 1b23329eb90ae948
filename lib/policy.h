/* policy.h: rows and counts from a parsed tailnet policy file, for "tsinvctl acl ...". */
#ifndef TSINV_POLICY_H
#define TSINV_POLICY_H

#include <jansson.h>

/*
 * The policy is any JSON value (from hujson_parse); it is borrowed and never changed, and the
 * results hold copies of its values. Section and member names are matched case-insensitively
 * (older files say "ACLs", "Groups", "Action", "Users", "Ports"), the last match winning as in
 * Tailscale's parser. Each function returns a new reference, NULL only when policy is not an
 * object; a missing section, or one of the wrong shape, gives no rows.
 */

/* [{"group":"group:x","member":"alice@example.com"}, ...] in file order; an empty group gives
 * one row with "member": null so that it still shows. */
json_t *policy_groups(json_t *policy);

/* One row per rule of "acls", then "grants", then "ssh" (index counts from 0 in its section):
 * {"section","index","action",...}. Known members under their current names (legacy acls
 * "users"/"ports" become "src"/"dst"; grants get "action":"accept"), any other member in
 * "other":{...}, and a rule that is not an object as "invalid": value. */
json_t *policy_rules(json_t *policy);

/* {"acls":N,"grants":N,"ssh":N,"groups":N,"tagOwners":N,"hosts":N,"ipsets":N,"postures":N,
 *  "nodeAttrs":N,"tests":N,"sshTests":N,"micro_segmented":bool,"reasons":[string]}: entries per
 * section (0 when absent); micro_segmented is false when an acls rule has src "*" and dst "*:*"
 * or a grant has src, dst and ip "*", and reasons say which rules, or why it is true. */
json_t *policy_summary(json_t *policy);

/* Borrowed: the value of OBJ's last member named NAME in any ASCII case (Go's decoder ends the
 * same), or NULL: how Tailscale reads a policy file's sections and fields. */
json_t *policy_get(json_t *obj, const char *name);

#endif
