/* checks-net.c: the checks of exposure and routing, DNS, and alerting and logging. */
#include <arpa/inet.h>
#include <string.h>

#include "checks-int.h"
#include "policy.h"

static const char *const net_exit_routes[] = {"0.0.0.0/0", "::/0", NULL};

void
check_net_funnel(struct check_ctx *cx)
{
	json_t *attrs, *a, *v;
	size_t i, j;
	char id[64];

	if (!check_need(cx, CHECK_P_POLICY))
		return;
	attrs = policy_get(cx->snap->policy, "nodeAttrs");
	json_array_foreach(attrs, i, a)
	{
		json_array_foreach(policy_get(a, "attr"), j, v)
		{
			if (json_is_string(v) && strcmp(json_string_value(v), "funnel") == 0) {
				json_t *t = json_array_get(policy_get(a, "target"), 0);

				snprintf(id, sizeof id, "nodeAttrs[%zu]", i);
				check_found(
				    cx, "rule", id, NULL, TSTIME_NONE, "%s grants funnel to %s%s",
				    id, json_string_value(t) ?: "?",
				    json_array_size(policy_get(a, "target")) > 1 ? ", ..." : "");
				break;
			}
		}
	}
}

/* Runs the loop body over each device c of the snapshot (n, i: locals of the caller). */
#define NET_LOOP(cx, c, n, i) for ((c) = check_devices((cx), &(n)), (i) = 0; (i) < (n); (i)++)

void
check_net_exit_node(struct check_ctx *cx)
{
	const struct check_device *c;
	size_t n, i;

	if (!check_need(cx, CHECK_P_DEVICES))
		return;
	NET_LOOP(cx, c, n, i)
	{
		if (check_has_any(c[i].advertised, net_exit_routes))
			check_found(cx, "device", c[i].id, c[i].name, TSTIME_NONE,
			            "%s offers itself as an exit node%s", c[i].name,
			            check_has_any(c[i].enabled, net_exit_routes) ? " (approved)"
			                                                         : "");
	}
}

void
check_net_subnet_routes(struct check_ctx *cx)
{
	const struct check_device *c;
	size_t n, i, j;
	json_t *r;

	if (!check_need(cx, CHECK_P_DEVICES))
		return;
	NET_LOOP(cx, c, n, i)
	{
		const char *first = NULL;
		size_t routes = 0;

		json_array_foreach(c[i].enabled, j, r)
		{
			const char *s = json_string_value(r);

			if (s != NULL && strcmp(s, net_exit_routes[0]) != 0 &&
			    strcmp(s, net_exit_routes[1]) != 0) {
				first = first ?: s;
				routes++;
			}
		}
		if (routes > 0)
			check_found(cx, "device", c[i].id, c[i].name, TSTIME_NONE,
			            "%s routes %s%s into the tailnet", c[i].name, first,
			            routes > 1 ? " and more" : "");
	}
}

void
check_net_routes_pending(struct check_ctx *cx)
{
	const struct check_device *c;
	size_t n, i, j;
	json_t *r;

	if (!check_need(cx, CHECK_P_DEVICES))
		return;
	NET_LOOP(cx, c, n, i)
	{
		json_array_foreach(c[i].advertised, j, r)
		{
			const char *want[] = {json_string_value(r), NULL};

			if (want[0] != NULL && !check_has_any(c[i].enabled, want)) {
				check_found(cx, "device", c[i].id, c[i].name, TSTIME_NONE,
				            "%s advertises %s, not approved", c[i].name, want[0]);
				break;
			}
		}
	}
}

void
check_net_shields_down_server(struct check_ctx *cx)
{
	const struct check_device *c;
	size_t n, i;

	if (!check_need(cx, CHECK_P_DEVICES))
		return;
	NET_LOOP(cx, c, n, i)
	{
		if (c[i].tagged && c[i].shields_down)
			check_found(cx, "device", c[i].id, c[i].name, TSTIME_NONE,
			            "tagged server %s accepts incoming connections", c[i].name);
	}
}

void
check_net_https_names(struct check_ctx *cx)
{
	if (!check_need(cx, CHECK_P_SETTINGS))
		return;
	if (json_is_true(json_object_get(cx->snap->settings, "httpsEnabled")))
		check_found(cx, "tailnet", "tailnet", NULL, TSTIME_NONE, "httpsEnabled is true");
}

void
check_net_internet_access(struct check_ctx *cx)
{
	json_t *row, *v;
	size_t i, j;
	char id[64];

	if (!check_need(cx, CHECK_P_POLICY))
		return;
	json_array_foreach(cx->rules, i, row)
	{
		json_array_foreach(json_object_get(row, "dst"), j, v)
		{
			const char *s = json_string_value(v);

			if (s != NULL && strncmp(s, "autogroup:internet", 18) == 0 &&
			    (s[18] == '\0' || s[18] == ':')) {
				check_found(cx, "rule", check_rule_id(row, id, sizeof id), NULL,
				            TSTIME_NONE, "%s allows exit node use", id);
				break;
			}
		}
	}
}

/* ---- DNS ---- */

void
check_dns_magicdns_off(struct check_ctx *cx)
{
	json_t *m;

	if (!check_need(cx, CHECK_P_DNS))
		return;
	m = json_object_get(cx->snap->dns, "magicDNS");
	if (m == NULL)
		m = json_object_get(json_object_get(cx->snap->dns, "preferences"), "magicDNS");
	if (json_is_false(m))
		check_found(cx, "tailnet", "tailnet", NULL, TSTIME_NONE, "MagicDNS is off");
}

void
check_dns_no_nameservers(struct check_ctx *cx)
{
	if (!check_need(cx, CHECK_P_DNS))
		return;
	if (json_array_size(json_object_get(cx->snap->dns, "nameservers")) == 0)
		check_found(cx, "tailnet", "tailnet", NULL, TSTIME_NONE, "no global nameservers");
}

/* Whether an address is a public one: not private, shared (CGNAT, Tailscale's), loopback or
 * link-local. Anything that does not parse counts as not public. */
static bool
net_public(const char *s)
{
	unsigned char a[16];

	if (inet_pton(AF_INET, s, a) == 1)
		return !(a[0] == 10 || a[0] == 127 || (a[0] == 172 && (a[1] & 0xf0) == 16) ||
		         (a[0] == 192 && a[1] == 168) || (a[0] == 100 && (a[1] & 0xc0) == 64) ||
		         (a[0] == 169 && a[1] == 254));
	if (inet_pton(AF_INET6, s, a) == 1) {
		static const unsigned char loop[16] = {[15] = 1};

		return !((a[0] & 0xfe) == 0xfc || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) ||
		         memcmp(a, loop, 16) == 0);
	}
	return false;
}

void
check_dns_split_public(struct check_ctx *cx)
{
	json_t *split, *list, *r;
	const char *domain;
	size_t i;

	if (!check_need(cx, CHECK_P_DNS))
		return;
	split = json_object_get(cx->snap->dns, "splitDNS");
	json_object_foreach(split, domain, list)
	{
		json_array_foreach(list, i, r)
		{
			const char *addr = json_is_object(r)
			                       ? json_string_value(json_object_get(r, "address"))
			                       : json_string_value(r);

			if (addr != NULL && net_public(addr)) {
				check_found(cx, "domain", domain, NULL, TSTIME_NONE,
				            "%s is resolved by public resolver %s", domain, addr);
				break;
			}
		}
	}
}

/* ---- LOG ---- */

void
check_log_no_webhooks(struct check_ctx *cx)
{
	if (!check_need(cx, CHECK_P_WEBHOOKS))
		return;
	if (json_array_size(cx->snap->webhooks) == 0)
		check_found(cx, "tailnet", "tailnet", NULL, TSTIME_NONE, "no webhook endpoints");
}

void
check_log_webhook_events_missing(struct check_ctx *cx)
{
	static const char *const wanted[] = {"nodeCreated",     "nodeDeleted", "nodeApproved",
	                                     "policyUpdate",    "userCreated", "userDeleted",
	                                     "userRoleUpdated", NULL};
	char missing[256] = "";
	json_t *w;
	size_t i, j;

	if (!check_need(cx, CHECK_P_WEBHOOKS) || json_array_size(cx->snap->webhooks) == 0)
		return;
	for (i = 0; wanted[i] != NULL; i++) {
		const char *one[] = {wanted[i], NULL};
		bool found = false;

		json_array_foreach(cx->snap->webhooks, j, w)
		{
			json_t *hook = json_object_get(w, "webhook") ?: w;

			found = found || check_has_any(json_object_get(hook, "subscriptions"), one);
		}
		if (!found) {
			if (missing[0] != '\0')
				strcat(missing, ", ");
			strcat(missing, wanted[i]);
		}
	}
	if (missing[0] != '\0')
		check_found(cx, "tailnet", "tailnet", NULL, TSTIME_NONE,
		            "no webhook subscribes to %s", missing);
}

void
check_log_flow_logs_off(struct check_ctx *cx)
{
	if (!check_need(cx, CHECK_P_SETTINGS))
		return;
	if (json_is_false(json_object_get(cx->snap->settings, "networkFlowLoggingOn")))
		check_found(cx, "tailnet", "tailnet", NULL, TSTIME_NONE,
		            "networkFlowLoggingOn is false");
}
