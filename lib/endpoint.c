/* endpoint.c: one row per API endpoint: its requests, its kind byte, its guard, its recorder. */
#include <string.h>

#include "audit.h"
#include "endpoint.h"
#include "entity.h"
#include "hist.h"

/* The names are spelt once, in endpoint-list.h; a row refers to its own by symbol. */
#define ENDPOINT(sym, name) static const char endpoint_name_##sym[] = name;
#include "endpoint-list.h"
#undef ENDPOINT

/* DNS where dns/configuration answers 404: the four older paths, recorded together. They show
 * no override and no exit-node flags; the record keeps what dns/configuration said last. */
static const struct endpoint endpoint_dns_legacy = {
    .name = endpoint_name_dns,
    .kind = 'n',
    .paths = {"dns/nameservers", "dns/preferences", "dns/searchpaths", "dns/split-dns"},
    .apply = entity_dns_answer,
    .scope = "dns:read",
    .what = "the four older DNS paths",
};

/* The scopes are those of kb/1623 and the OpenAPI description's "OAuth Scope". */
const struct endpoint endpoints[ENDPOINT__COUNT] = {
    [ENDPOINT_devices] =
        {
            .name = endpoint_name_devices,
            .kind = 'd',
            .mass_guard = 1,
            .raw = 1, /* parsed one device at a time (hist_devices_answer) */
            .paths = {"devices?fields=all"},
            .plan_path = "/device",
            .plan = hist_devices_plan_answer,
            .apply = hist_devices_answer,
            .scope = "devices:core:read",
        },
    [ENDPOINT_keys] =
        {
            .name = endpoint_name_keys,
            .kind = 'k',
            .paths = {"keys?all=true"},
            .plan_path = "keys",
            .plan = entity_keys_plan_answer,
            .apply = entity_keys_answer,
            .scope = "auth_keys:read (and api_access_tokens:read, oauth_keys:read, "
                     "federated_keys:read for the other key types)",
        },
    [ENDPOINT_users] =
        {
            .name = endpoint_name_users,
            .kind = 'u',
            .mass_guard = 1,
            .paths = {"users?type=all"},
            .plan_path = "/users",
            .plan = entity_users_plan_answer,
            .apply = entity_users_answer,
            .scope = "users:read",
        },
    [ENDPOINT_policy] =
        {
            .name = endpoint_name_policy,
            .kind = 'p',
            .text = 1,
            .paths = {"acl"},
            .apply = entity_policy_answer,
            .scope = "policy_file:read",
        },
    [ENDPOINT_dns] =
        {
            .name = endpoint_name_dns,
            .kind = 'n',
            /* One read, one consistent state, the override and the exit-node flags too. */
            .paths = {"dns/configuration"},
            .apply = entity_dns_config_answer,
            .scope = "dns:read",
            .fallback = &endpoint_dns_legacy,
        },
    [ENDPOINT_settings] =
        {
            .name = endpoint_name_settings,
            .kind = 's',
            .paths = {"settings"},
            .apply = entity_settings_answer,
            .scope = "feature_settings:read",
        },
    [ENDPOINT_webhooks] =
        {
            .name = endpoint_name_webhooks,
            .kind = 'w',
            .mass_guard = 1,
            .paths = {"webhooks"},
            .plan_path = "/webhooks",
            .plan = entity_webhooks_plan_answer,
            .apply = entity_webhooks_answer,
            .scope = "webhooks:read",
        },
    [ENDPOINT_audit] =
        {
            .name = endpoint_name_audit,
            .kind = AUDIT_KIND_TIME,
            .raw = 1,
            .window = 1,
            .paths = {"logging/configuration"},
            .apply = audit_answer,
            .scope = "logs:configuration:read",
        },
    [ENDPOINT_posture] =
        {
            .name = endpoint_name_posture,
            .kind = 'a',
            /* No list: one request per current device, as GET /device/{id}/attributes. */
            .plan_path = "/device",
            .plan_suffix = "/attributes",
            .plan = entity_posture_plan_answer,
            .concurrent = 1,
            .apply = entity_posture_answer,
            .scope = "devices:posture_attributes:read",
        },
};

const struct endpoint *
endpoint_find(const char *name)
{
	for (size_t i = 0; i < ENDPOINT__COUNT; i++)
		if (strcmp(endpoints[i].name, name) == 0)
			return &endpoints[i];
	return NULL;
}

size_t
endpoint_npaths(const struct endpoint *e)
{
	size_t n = 0;

	while (n < ENDPOINT_MAX_PATHS && e->paths[n] != NULL)
		n++;
	return n;
}
