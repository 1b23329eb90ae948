/* checks-dev.c: the checks of devices and of the tailnet's device settings. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "checks-int.h"

/* Runs the loop body over each device c of the snapshot (n, i: locals of the caller). */
#define DEV_LOOP(cx, c, n, i) for ((c) = check_devices((cx), &(n)), (i) = 0; (i) < (n); (i)++)

void
check_dev_tagged_no_expiry(struct check_ctx *cx)
{
	const struct check_device *c;
	size_t n, i;

	if (!check_need(cx, CHECK_P_DEVICES))
		return;
	DEV_LOOP(cx, c, n, i)
	{
		if (c[i].tagged && c[i].expiry_off)
			check_found(cx, "device", c[i].id, c[i].name, TSTIME_NONE,
			            "tagged device %s never has to renew its key", c[i].name);
	}
}

void
check_dev_user_no_expiry(struct check_ctx *cx)
{
	const struct check_device *c;
	size_t n, i;

	if (!check_need(cx, CHECK_P_DEVICES))
		return;
	DEV_LOOP(cx, c, n, i)
	{
		if (!c[i].tagged && !c[i].external && c[i].expiry_off)
			check_found(cx, "device", c[i].id, c[i].name, TSTIME_NONE,
			            "%s of %s never has to renew its key", c[i].name, c[i].user);
	}
}

/* Whether lower-cased s contains one of the words. */
static bool
dev_name_has(const char *s, const char *const *words, const char **which)
{
	char low[256];
	size_t i;

	for (i = 0; s[i] != '\0' && i < sizeof low - 1; i++)
		low[i] = (char)tolower((unsigned char)s[i]);
	low[i] = '\0';
	for (i = 0; words[i] != NULL; i++) {
		if (strstr(low, words[i]) != NULL) {
			*which = words[i];
			return true;
		}
	}
	return false;
}

void
check_dev_tagged_personal(struct check_ctx *cx)
{
	static const char *const personal[] = {"macbook", "iphone", "ipad",     "pixel",
	                                       "galaxy",  "laptop", "desktop-", NULL};
	const struct check_device *c;
	const char *which;
	size_t n, i;

	if (!check_need(cx, CHECK_P_DEVICES))
		return;
	DEV_LOOP(cx, c, n, i)
	{
		if (!c[i].tagged)
			continue;
		if (dev_name_has(c[i].host, personal, &which))
			check_found(cx, "device", c[i].id, c[i].name, TSTIME_NONE,
			            "tagged device %s looks personal (\"%s\" in its name)",
			            c[i].host, which);
		else if (strcmp(c[i].os, "iOS") == 0 || strcmp(c[i].os, "android") == 0)
			check_found(cx, "device", c[i].id, c[i].name, TSTIME_NONE,
			            "tagged device %s runs %s", c[i].host, c[i].os);
	}
}

void
check_dev_stale(struct check_ctx *cx)
{
	const struct check_device *c;
	size_t n, i;
	char ago[32];

	if (!check_need(cx, CHECK_P_DEVICES) || !check_need_volatile(cx))
		return;
	DEV_LOOP(cx, c, n, i)
	{
		/* Stale once stale_after has passed since it was last seen: if a connected device
		 * went away now, that is stale_after from now. */
		if (c[i].connected)
			check_due(cx, cx->snap->at + cx->opts->stale_after + 1);
		if (c[i].connected || c[i].last_seen == TSTIME_NONE)
			continue;
		if (cx->snap->at - c[i].last_seen <= cx->opts->stale_after) {
			check_due(cx, c[i].last_seen + cx->opts->stale_after + 1);
			continue;
		}
		tstime_format_duration(cx->snap->at - c[i].last_seen, ago, sizeof ago);
		check_found(cx, "device", c[i].id, c[i].name, c[i].last_seen, "%s last seen %s ago",
		            c[i].name, ago);
	}
}

void
check_dev_unauthorized(struct check_ctx *cx)
{
	const struct check_device *c;
	size_t n, i;

	if (!check_need(cx, CHECK_P_DEVICES))
		return;
	DEV_LOOP(cx, c, n, i)
	{
		if (c[i].unauthorized)
			check_found(cx, "device", c[i].id, c[i].name, c[i].created,
			            "%s is waiting for approval", c[i].name);
	}
}

void
check_dev_external(struct check_ctx *cx)
{
	const struct check_device *c;
	size_t n, i;

	if (!check_need(cx, CHECK_P_DEVICES))
		return;
	DEV_LOOP(cx, c, n, i)
	{
		if (c[i].external)
			check_found(cx, "device", c[i].id, c[i].name, TSTIME_NONE,
			            "%s is shared in by %s", c[i].name,
			            *c[i].user != '\0' ? c[i].user : "another tailnet");
	}
}

/* Whether s holds something shaped like an IPv4 address: four numbers joined by '.' or '-'. */
static bool
dev_name_has_address(const char *s)
{
	for (; *s != '\0'; s++) {
		const char *p = s;
		int parts = 0;

		while (isdigit((unsigned char)*p)) {
			int digits = 0;

			while (isdigit((unsigned char)*p) && digits < 4) {
				p++;
				digits++;
			}
			if (digits > 3)
				break;
			if (++parts == 4)
				return true;
			if (*p != '.' && *p != '-')
				break;
			p++;
		}
	}
	return false;
}

void
check_dev_sensitive_name(struct check_ctx *cx)
{
	static const char *const words[] = {"password", "passwd", "secret", "credential",
	                                    "api-key",  "apikey", "token",  "vault",
	                                    "prod-db",  "admin",  NULL};
	const struct check_device *c;
	const char *which;
	size_t n, i;

	if (!check_need(cx, CHECK_P_DEVICES))
		return;
	DEV_LOOP(cx, c, n, i)
	{
		if (dev_name_has(c[i].host, words, &which))
			check_found(cx, "device", c[i].id, c[i].name, TSTIME_NONE,
			            "%s has \"%s\" in its name", c[i].host, which);
		else if (dev_name_has_address(c[i].host))
			check_found(cx, "device", c[i].id, c[i].name, TSTIME_NONE,
			            "%s has an address in its name", c[i].host);
	}
}

void
check_dev_update_available(struct check_ctx *cx)
{
	const struct check_device *c;
	size_t n, i;

	if (!check_need(cx, CHECK_P_DEVICES) || !check_need_volatile(cx))
		return;
	DEV_LOOP(cx, c, n, i)
	{
		if (c[i].update)
			check_found(cx, "device", c[i].id, c[i].name, TSTIME_NONE,
			            "%s runs %s and an update is available", c[i].name,
			            json_string_value(json_object_get(c[i].dev, "clientVersion"))
			                ?: "?");
	}
}

void
check_dev_client_behind(struct check_ctx *cx)
{
	const struct check_device *c;
	long newest = -1;
	size_t n, i;

	if (!check_need(cx, CHECK_P_DEVICES))
		return;
	/* Shared-in devices follow another tailnet's updates: neither the newest nor behind. */
	DEV_LOOP(cx, c, n, i)
	{
		if (!c[i].external && c[i].version > newest)
			newest = c[i].version;
	}
	DEV_LOOP(cx, c, n, i)
	{
		long ver = c[i].version;

		if (ver < 0 || c[i].external || newest - ver <= cx->opts->minor_versions_behind)
			continue;
		check_found(cx, "device", c[i].id, c[i].name, TSTIME_NONE,
		            "%s runs %ld.%ld; the newest in the tailnet is %ld.%ld", c[i].name,
		            ver / 100000, ver % 100000, newest / 100000, newest % 100000);
	}
}

void
check_dev_lock_error(struct check_ctx *cx)
{
	const struct check_device *c;
	size_t n, i;

	if (!check_need(cx, CHECK_P_DEVICES))
		return;
	DEV_LOOP(cx, c, n, i)
	{
		if (*c[i].lock_error != '\0')
			check_found(cx, "device", c[i].id, c[i].name, TSTIME_NONE,
			            "%s: Tailnet Lock says \"%s\"", c[i].name, c[i].lock_error);
	}
}

void
check_dev_approval_off(struct check_ctx *cx)
{
	if (!check_need(cx, CHECK_P_SETTINGS))
		return;
	if (json_is_false(json_object_get(cx->snap->settings, "devicesApprovalOn")))
		check_found(cx, "tailnet", "tailnet", NULL, TSTIME_NONE,
		            "devicesApprovalOn is false");
}

void
check_dev_auto_updates_off(struct check_ctx *cx)
{
	if (!check_need(cx, CHECK_P_SETTINGS))
		return;
	if (json_is_false(json_object_get(cx->snap->settings, "devicesAutoUpdatesOn")))
		check_found(cx, "tailnet", "tailnet", NULL, TSTIME_NONE,
		            "devicesAutoUpdatesOn is false");
}

void
check_dev_long_key_duration(struct check_ctx *cx)
{
	json_t *days;

	if (!check_need(cx, CHECK_P_SETTINGS))
		return;
	days = json_object_get(cx->snap->settings, "devicesKeyDurationDays");
	if (json_is_integer(days) &&
	    json_integer_value(days) * 86400 * TSTIME_SEC > cx->opts->node_key_max_age)
		check_found(cx, "tailnet", "tailnet", NULL, TSTIME_NONE, "node keys last %lld days",
		            (long long)json_integer_value(days));
}
