/* config-diff.c: what changed between two loaded configurations, as a reload applies it. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "config-diff.h"
#include "sbuf.h"
#include "xmalloc.h"

enum config_diff_kind {
	CONFIG_DIFF_STR,
	CONFIG_DIFF_INT,
	CONFIG_DIFF_UINT,
	CONFIG_DIFF_I64,
	CONFIG_DIFF_SIZE,
	CONFIG_DIFF_MODE,
	CONFIG_DIFF_WARN,
};

/* One compared key: its name in the file, where it is, what it is. */
struct config_diff_key {
	const char *name;
	size_t off;
	enum config_diff_kind kind;
	int restart; /* [daemon]: only a restart applies it */
};

#define CONFIG_DIFF_D(name, kind, restart)                                                         \
	{                                                                                          \
#name, offsetof(struct config, name), kind, restart                                \
	}
static const struct config_diff_key config_diff_daemon[] = {
    CONFIG_DIFF_D(state_dir, CONFIG_DIFF_STR, 1),
    CONFIG_DIFF_D(socket, CONFIG_DIFF_STR, 1),
    CONFIG_DIFF_D(socket_mode, CONFIG_DIFF_MODE, 1),
    CONFIG_DIFF_D(socket_group, CONFIG_DIFF_STR, 1),
    CONFIG_DIFF_D(admin_group, CONFIG_DIFF_STR, 1),
    CONFIG_DIFF_D(map_size_max, CONFIG_DIFF_SIZE, 1),
    CONFIG_DIFF_D(max_clients, CONFIG_DIFF_INT, 1),
    CONFIG_DIFF_D(max_clients_per_uid, CONFIG_DIFF_INT, 1),
    CONFIG_DIFF_D(client_timeout, CONFIG_DIFF_I64, 1),
    CONFIG_DIFF_D(read_only, CONFIG_DIFF_INT, 1),
    {"log_level", offsetof(struct config, verbose), CONFIG_DIFF_INT, 0},
    CONFIG_DIFF_D(hook_concurrency, CONFIG_DIFF_INT, 0),
    CONFIG_DIFF_D(strict_permissions, CONFIG_DIFF_INT, 0),
    CONFIG_DIFF_D(default_tailnet, CONFIG_DIFF_STR, 0),
};

#define CONFIG_DIFF_T(name, kind)                                                                  \
	{                                                                                          \
#name, offsetof(struct config_tailnet, name), kind, 0                              \
	}
static const struct config_diff_key config_diff_tailnet[] = {
    CONFIG_DIFF_T(api_url, CONFIG_DIFF_STR),
    CONFIG_DIFF_T(tailnet, CONFIG_DIFF_STR),
    CONFIG_DIFF_T(api_key_file, CONFIG_DIFF_STR),
    CONFIG_DIFF_T(oauth_client_id, CONFIG_DIFF_STR),
    CONFIG_DIFF_T(oauth_client_secret_file, CONFIG_DIFF_STR),
    CONFIG_DIFF_T(endpoints, CONFIG_DIFF_UINT),
    /* The rebuild keys end here (config_tailnet_rebuild). */
    CONFIG_DIFF_T(poll_interval, CONFIG_DIFF_I64),
    CONFIG_DIFF_T(connect_timeout, CONFIG_DIFF_I64),
    CONFIG_DIFF_T(request_timeout, CONFIG_DIFF_I64),
    CONFIG_DIFF_T(max_response, CONFIG_DIFF_SIZE),
    CONFIG_DIFF_T(mass_delete_percent, CONFIG_DIFF_INT),
    CONFIG_DIFF_T(key_expiry_warn, CONFIG_DIFF_WARN),
    CONFIG_DIFF_T(presence_events, CONFIG_DIFF_INT),
    CONFIG_DIFF_T(attribution_events, CONFIG_DIFF_INT),
    CONFIG_DIFF_T(oauth_token_events, CONFIG_DIFF_INT),
    CONFIG_DIFF_T(confirm_delay, CONFIG_DIFF_I64),
    CONFIG_DIFF_T(retain, CONFIG_DIFF_I64),
    CONFIG_DIFF_T(audit_interval, CONFIG_DIFF_I64),
    CONFIG_DIFF_T(audit_overlap, CONFIG_DIFF_I64),
    CONFIG_DIFF_T(audit_backfill, CONFIG_DIFF_I64),
    CONFIG_DIFF_T(posture_interval, CONFIG_DIFF_I64),
    CONFIG_DIFF_T(posture_concurrency, CONFIG_DIFF_INT),
};
#define CONFIG_DIFF_REBUILD 6

#define CONFIG_DIFF_H(name, kind)                                                                  \
	{                                                                                          \
#name, offsetof(struct config_hook, name), kind, 0                                 \
	}
static const struct config_diff_key config_diff_hook[] = {
    CONFIG_DIFF_H(exec, CONFIG_DIFF_STR),         CONFIG_DIFF_H(events, CONFIG_DIFF_STR),
    CONFIG_DIFF_H(timeout, CONFIG_DIFF_I64),      CONFIG_DIFF_H(kill_grace, CONFIG_DIFF_I64),
    CONFIG_DIFF_H(retry_min, CONFIG_DIFF_I64),    CONFIG_DIFF_H(retry_max, CONFIG_DIFF_I64),
    CONFIG_DIFF_H(max_attempts, CONFIG_DIFF_INT), CONFIG_DIFF_H(wait_attribution, CONFIG_DIFF_I64),
};

#define CONFIG_DIFF_N(name, kind)                                                                  \
	{                                                                                          \
#name, offsetof(struct config_netbox, name), kind, 0                               \
	}
static const struct config_diff_key config_diff_netbox[] = {
    CONFIG_DIFF_N(url, CONFIG_DIFF_STR),
    CONFIG_DIFF_N(token_file, CONFIG_DIFF_STR),
    CONFIG_DIFF_N(owner_tag, CONFIG_DIFF_STR),
    CONFIG_DIFF_N(tag_prefix, CONFIG_DIFF_STR),
    CONFIG_DIFF_N(interval, CONFIG_DIFF_I64),
    CONFIG_DIFF_N(deprecated_window, CONFIG_DIFF_I64),
    CONFIG_DIFF_N(last_seen_slack, CONFIG_DIFF_I64),
    CONFIG_DIFF_N(cf_node_id, CONFIG_DIFF_STR),
    CONFIG_DIFF_N(cf_tailnet, CONFIG_DIFF_STR),
    CONFIG_DIFF_N(cf_last_seen, CONFIG_DIFF_STR),
    CONFIG_DIFF_N(connect_timeout, CONFIG_DIFF_I64),
    CONFIG_DIFF_N(request_timeout, CONFIG_DIFF_I64),
    CONFIG_DIFF_N(batch_size, CONFIG_DIFF_INT),
    CONFIG_DIFF_N(max_response, CONFIG_DIFF_SIZE),
};

#define CONFIG_DIFF_NKEYS(t) (sizeof t / sizeof t[0])

static int
config_diff_streq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* Is key K the same in the structs at A and B? */
static int
config_diff_key_equal(const struct config_diff_key *k, const void *a, const void *b)
{
	const char *pa = (const char *)a + k->off, *pb = (const char *)b + k->off;
	const struct config_warn *wa, *wb;

	switch (k->kind) {
	case CONFIG_DIFF_STR:
		return config_diff_streq(*(char *const *)(const void *)pa,
		                         *(char *const *)(const void *)pb);
	case CONFIG_DIFF_INT:
		return *(const int *)(const void *)pa == *(const int *)(const void *)pb;
	case CONFIG_DIFF_UINT:
		return *(const unsigned *)(const void *)pa == *(const unsigned *)(const void *)pb;
	case CONFIG_DIFF_I64:
		return *(const int64_t *)(const void *)pa == *(const int64_t *)(const void *)pb;
	case CONFIG_DIFF_SIZE:
		return *(const size_t *)(const void *)pa == *(const size_t *)(const void *)pb;
	case CONFIG_DIFF_MODE:
		return *(const mode_t *)(const void *)pa == *(const mode_t *)(const void *)pb;
	case CONFIG_DIFF_WARN:
		wa = (const struct config_warn *)(const void *)pa;
		wb = (const struct config_warn *)(const void *)pb;
		return wa->n == wb->n && memcmp(wa->v, wb->v, wa->n * sizeof wa->v[0]) == 0;
	}
	return 0;
}

/* The first N keys of TABLE that differ between A and B, as "k1, k2" appended to OUT; how
 * many. RESTART: only the keys with that flag. */
static size_t
config_diff_keys(const struct config_diff_key *table, size_t n, const void *a, const void *b,
                 int restart, struct sbuf *out)
{
	size_t found = 0;

	for (size_t i = 0; i < n; i++) {
		if (table[i].restart != restart || config_diff_key_equal(&table[i], a, b))
			continue;
		sbuf_addf(out, "%s%s", found++ > 0 ? ", " : "", table[i].name);
	}
	return found;
}

static int
config_diff_all_equal(const struct config_diff_key *table, size_t n, const void *a, const void *b)
{
	for (size_t i = 0; i < n; i++)
		if (!config_diff_key_equal(&table[i], a, b))
			return 0;
	return 1;
}

int
config_tailnet_equal(const struct config_tailnet *a, const struct config_tailnet *b)
{
	return config_diff_all_equal(config_diff_tailnet, CONFIG_DIFF_NKEYS(config_diff_tailnet), a,
	                             b);
}

int
config_tailnet_rebuild(const struct config_tailnet *a, const struct config_tailnet *b)
{
	return !config_diff_all_equal(config_diff_tailnet, CONFIG_DIFF_REBUILD, a, b);
}

int
config_hook_equal(const struct config_hook *a, const struct config_hook *b)
{
	return config_diff_all_equal(config_diff_hook, CONFIG_DIFF_NKEYS(config_diff_hook), a, b);
}

static int
config_diff_vrfs_equal(const struct config_netbox *a, const struct config_netbox *b)
{
	if (a->nvrfs != b->nvrfs)
		return 0;
	for (size_t i = 0; i < a->nvrfs; i++)
		if (!config_diff_streq(a->vrfs[i].tailnet, b->vrfs[i].tailnet) ||
		    !config_diff_streq(a->vrfs[i].vrf, b->vrfs[i].vrf))
			return 0;
	return 1;
}

int
config_netbox_equal(const struct config_netbox *a, const struct config_netbox *b)
{
	return config_diff_all_equal(config_diff_netbox, CONFIG_DIFF_NKEYS(config_diff_netbox), a,
	                             b) &&
	       config_diff_vrfs_equal(a, b);
}

char *
config_diff_restart(const struct config *old, const struct config *new)
{
	struct sbuf s;

	sbuf_init(&s);
	if (config_diff_keys(config_diff_daemon, CONFIG_DIFF_NKEYS(config_diff_daemon), old, new, 1,
	                     &s) == 0) {
		sbuf_free(&s);
		return NULL;
	}
	return sbuf_steal(&s);
}

void
config_keep_restart(struct config *new, struct config *old)
{
	for (size_t i = 0; i < CONFIG_DIFF_NKEYS(config_diff_daemon); i++) {
		const struct config_diff_key *k = &config_diff_daemon[i];
		char *pn = (char *)new + k->off, *po = (char *)old + k->off, tmp[sizeof(int64_t)];
		size_t n;

		if (!k->restart)
			continue;
		switch (k->kind) {
		case CONFIG_DIFF_STR:
			n = sizeof(char *);
			break;
		case CONFIG_DIFF_INT:
			n = sizeof(int);
			break;
		case CONFIG_DIFF_I64:
			n = sizeof(int64_t);
			break;
		case CONFIG_DIFF_SIZE:
			n = sizeof(size_t);
			break;
		case CONFIG_DIFF_MODE:
			n = sizeof(mode_t);
			break;
		default:
			continue;
		}
		/* Swapped, not copied: each config still owns (and frees) one of the two. */
		memcpy(tmp, pn, n);
		memcpy(pn, po, n);
		memcpy(po, tmp, n);
	}
}

/* Appends ", " to S unless it is empty. */
static void
config_diff_sep(struct sbuf *s)
{
	if (s->len > 0)
		sbuf_add(s, ", ", 2);
}

char *
config_diff_summary(const struct config *old, const struct config *new)
{
	const struct config_tailnet *ot, *nt;
	const struct config_hook *oh, *nh;
	struct sbuf s, keys;
	size_t i;

	sbuf_init(&s);
	for (i = 0; i < old->ntailnets; i++) {
		if (config_tailnet_find(new, old->tailnets[i].name) == NULL) {
			config_diff_sep(&s);
			sbuf_addf(&s, "tailnet %s removed", old->tailnets[i].name);
		}
	}
	for (i = 0; i < new->ntailnets; i++) {
		nt = &new->tailnets[i];
		if ((ot = config_tailnet_find(old, nt->name)) == NULL) {
			config_diff_sep(&s);
			sbuf_addf(&s, "tailnet %s added", nt->name);
			continue;
		}
		sbuf_init(&keys);
		if (config_diff_keys(config_diff_tailnet, CONFIG_DIFF_NKEYS(config_diff_tailnet),
		                     ot, nt, 0, &keys) > 0) {
			config_diff_sep(&s);
			sbuf_addf(&s, "tailnet %s: %s changed", nt->name, keys.p);
		}
		sbuf_free(&keys);
	}
	for (i = 0; i < old->nhooks; i++) {
		if (config_hook_find(new, old->hooks[i].name) == NULL) {
			config_diff_sep(&s);
			sbuf_addf(&s, "hook %s removed", old->hooks[i].name);
		}
	}
	for (i = 0; i < new->nhooks; i++) {
		nh = &new->hooks[i];
		if ((oh = config_hook_find(old, nh->name)) == NULL) {
			config_diff_sep(&s);
			sbuf_addf(&s, "hook %s added", nh->name);
		} else if (!config_hook_equal(oh, nh)) {
			sbuf_init(&keys);
			config_diff_keys(config_diff_hook, CONFIG_DIFF_NKEYS(config_diff_hook), oh,
			                 nh, 0, &keys);
			config_diff_sep(&s);
			sbuf_addf(&s, "hook %s: %s changed", nh->name, keys.p);
			sbuf_free(&keys);
		}
	}
	if (!config_netbox_equal(&old->netbox, &new->netbox)) {
		config_diff_sep(&s);
		sbuf_adds(&s, "[netbox] changed");
	}
	sbuf_init(&keys);
	if (config_diff_keys(config_diff_daemon, CONFIG_DIFF_NKEYS(config_diff_daemon), old, new, 0,
	                     &keys) > 0) {
		config_diff_sep(&s);
		sbuf_addf(&s, "%s changed", keys.p);
	}
	sbuf_free(&keys);
	if (s.len == 0)
		sbuf_adds(&s, "no change");
	return sbuf_steal(&s);
}
