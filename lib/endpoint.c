/* endpoint.c: one row per API endpoint: its requests, its kind byte, its guard, its recorder. */
#include <string.h>

#include "endpoint.h"
#include "entity.h"
#include "hist.h"

/* The names are spelt once, in endpoint-list.h; a row refers to its own by symbol. */
#define ENDPOINT(sym, name) static const char endpoint_name_##sym[] = name;
#include "endpoint-list.h"
#undef ENDPOINT

const struct endpoint endpoints[ENDPOINT__COUNT] = {
    [ENDPOINT_devices] =
        {
            .name = endpoint_name_devices,
            .kind = 'd',
            .mass_guard = 1,
            .paths = {"devices?fields=all"},
            .apply = hist_devices_answer,
        },
    [ENDPOINT_keys] =
        {
            .name = endpoint_name_keys,
            .kind = 'k',
            .paths = {"keys?all=true"},
            .plan_path = "keys",
            .plan = entity_keys_plan_answer,
            .apply = entity_keys_answer,
        },
    [ENDPOINT_users] =
        {
            .name = endpoint_name_users,
            .kind = 'u',
            .mass_guard = 1,
            .paths = {"users?type=all"},
            .apply = entity_users_answer,
        },
    [ENDPOINT_policy] =
        {
            .name = endpoint_name_policy,
            .kind = 'p',
            .text = 1,
            .paths = {"acl"},
            .apply = entity_policy_answer,
        },
    [ENDPOINT_dns] =
        {
            .name = endpoint_name_dns,
            .kind = 'n',
            .paths = {"dns/nameservers", "dns/preferences", "dns/searchpaths", "dns/split-dns"},
            .apply = entity_dns_answer,
        },
    [ENDPOINT_settings] =
        {
            .name = endpoint_name_settings,
            .kind = 's',
            .paths = {"settings"},
            .apply = entity_settings_answer,
        },
    [ENDPOINT_webhooks] =
        {
            .name = endpoint_name_webhooks,
            .kind = 'w',
            .mass_guard = 1,
            .paths = {"webhooks"},
            .apply = entity_webhooks_answer,
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
