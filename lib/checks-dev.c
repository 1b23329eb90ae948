/* checks-dev.c: the checks of devices and of the tailnet's device settings. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checks-int.h"

static bool
dev_tagged(json_t *d)
{
	return json_array_size(json_object_get(d, "tags")) > 0;
}

/* A member of the device or, for volatile ones, of its volatile part. */
static json_t *
dev_field(json_t *d, json_t *v, const char *name)
{
	json_t *x = json_object_get(v, name);

	return x != NULL ? x : json_object_get(d, name);
}

void
check_dev_tagged_no_expiry(struct check_ctx *cx)
{
	const char *id;
	json_t *e, *d;
	size_t i;

	if (!check_need(cx, CHECK_P_DEVICES))
		return;
	json_array_foreach(cx->snap->devices, i, e)
	{
		if ((d = check_dev_of(e, &id)) == NULL)
			continue;
		if (dev_tagged(d) && json_is_true(json_object_get(d, "keyExpiryDisabled")))
			check_found(cx, "device", id, check_dev_name(d), TSTIME_NONE,
			            "tagged device %s never has to renew its key",
			            check_dev_name(d));
	}
}

void
check_dev_user_no_expiry(struct check_ctx *cx)
{
	const char *id;
	json_t *e, *d;
	size_t i;

	if (!check_need(cx, CHECK_P_DEVICES))
		return;
	json_array_foreach(cx->snap->devices, i, e)
	{
		if ((d = check_dev_of(e, &id)) == NULL)
			continue;
		if (!dev_tagged(d) && !json_is_true(json_object_get(d, "isExternal")) &&
		    json_is_true(json_object_get(d, "keyExpiryDisabled")))
			check_found(cx, "device", id, check_dev_name(d), TSTIME_NONE,
			            "%s of %s never has to renew its key", check_dev_name(d),
			            json_string_value(json_object_get(d, "user")) ?: "?");
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
	static const char *const mobile[] = {"iOS", "android", NULL};
	const char *id, *which;
	json_t *e, *d;
	size_t i;

	if (!check_need(cx, CHECK_P_DEVICES))
		return;
	json_array_foreach(cx->snap->devices, i, e)
	{
		if ((d = check_dev_of(e, &id)) == NULL)
			continue;
		const char *host = json_string_value(json_object_get(d, "hostname")) ?: "";
		const char *os = json_string_value(json_object_get(d, "os")) ?: "";

		if (!dev_tagged(d))
			continue;
		if (dev_name_has(host, personal, &which))
			check_found(cx, "device", id, check_dev_name(d), TSTIME_NONE,
			            "tagged device %s looks personal (\"%s\" in its name)", host,
			            which);
		else if (strcmp(os, mobile[0]) == 0 || strcmp(os, mobile[1]) == 0)
			check_found(cx, "device", id, check_dev_name(d), TSTIME_NONE,
			            "tagged device %s runs %s", host, os);
	}
}

void
check_dev_stale(struct check_ctx *cx)
{
	const char *id;
	json_t *e, *d;
	size_t i;

	if (!check_need(cx, CHECK_P_DEVICES))
		return;
	json_array_foreach(cx->snap->devices, i, e)
	{
		if ((d = check_dev_of(e, &id)) == NULL)
			continue;
		json_t *v = check_vol(e);
		tstime_t seen = check_time(v, "lastSeen");
		char ago[32];

		if (seen == TSTIME_NONE)
			seen = check_time(d, "lastSeen");
		if (json_is_true(dev_field(d, v, "connectedToControl")) || seen == TSTIME_NONE ||
		    cx->snap->at - seen <= cx->opts->stale_after)
			continue;
		tstime_format_duration(cx->snap->at - seen, ago, sizeof ago);
		check_found(cx, "device", id, check_dev_name(d), seen, "%s last seen %s ago",
		            check_dev_name(d), ago);
	}
}

void
check_dev_unauthorized(struct check_ctx *cx)
{
	const char *id;
	json_t *e, *d;
	size_t i;

	if (!check_need(cx, CHECK_P_DEVICES))
		return;
	json_array_foreach(cx->snap->devices, i, e)
	{
		if ((d = check_dev_of(e, &id)) == NULL)
			continue;
		if (json_is_false(json_object_get(d, "authorized")))
			check_found(cx, "device", id, check_dev_name(d), check_time(d, "created"),
			            "%s is waiting for approval", check_dev_name(d));
	}
}

void
check_dev_external(struct check_ctx *cx)
{
	const char *id;
	json_t *e, *d;
	size_t i;

	if (!check_need(cx, CHECK_P_DEVICES))
		return;
	json_array_foreach(cx->snap->devices, i, e)
	{
		if ((d = check_dev_of(e, &id)) == NULL)
			continue;
		if (json_is_true(json_object_get(d, "isExternal")))
			check_found(cx, "device", id, check_dev_name(d), TSTIME_NONE,
			            "%s is shared in by %s", check_dev_name(d),
			            json_string_value(json_object_get(d, "user"))
			                ?: "another tailnet");
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
	const char *id, *which;
	json_t *e, *d;
	size_t i;

	if (!check_need(cx, CHECK_P_DEVICES))
		return;
	json_array_foreach(cx->snap->devices, i, e)
	{
		if ((d = check_dev_of(e, &id)) == NULL)
			continue;
		const char *host = json_string_value(json_object_get(d, "hostname")) ?: "";

		if (dev_name_has(host, words, &which))
			check_found(cx, "device", id, check_dev_name(d), TSTIME_NONE,
			            "%s has \"%s\" in its name", host, which);
		else if (dev_name_has_address(host))
			check_found(cx, "device", id, check_dev_name(d), TSTIME_NONE,
			            "%s has an address in its name", host);
	}
}

void
check_dev_update_available(struct check_ctx *cx)
{
	const char *id;
	json_t *e, *d;
	size_t i;

	if (!check_need(cx, CHECK_P_DEVICES))
		return;
	json_array_foreach(cx->snap->devices, i, e)
	{
		if ((d = check_dev_of(e, &id)) == NULL)
			continue;
		if (json_is_true(dev_field(d, check_vol(e), "updateAvailable")))
			check_found(cx, "device", id, check_dev_name(d), TSTIME_NONE,
			            "%s runs %s and an update is available", check_dev_name(d),
			            json_string_value(json_object_get(d, "clientVersion")) ?: "?");
	}
}

/* "1.82.0-t1a9..." as 1 * 100000 + 82; -1 when it is not a version. */
static long
dev_version(json_t *d)
{
	const char *s = json_string_value(json_object_get(d, "clientVersion"));
	long major, minor;
	char *end;

	if (s == NULL || !isdigit((unsigned char)*s))
		return -1;
	major = strtol(s, &end, 10);
	if (*end != '.' || !isdigit((unsigned char)end[1]) || major > 1000)
		return -1;
	minor = strtol(end + 1, &end, 10);
	if (minor > 99999)
		return -1;
	return major * 100000 + minor;
}

void
check_dev_client_behind(struct check_ctx *cx)
{
	long newest = -1;
	const char *id;
	json_t *e, *d;
	size_t i;

	if (!check_need(cx, CHECK_P_DEVICES))
		return;
	json_array_foreach(cx->snap->devices, i, e)
	{
		long ver = dev_version(check_dev(e));

		if (ver > newest && !json_is_true(json_object_get(check_dev(e), "isExternal")))
			newest = ver;
	}
	json_array_foreach(cx->snap->devices, i, e)
	{
		long ver;

		if ((d = check_dev_of(e, &id)) == NULL ||
		    json_is_true(json_object_get(d, "isExternal")))
			continue;
		if ((ver = dev_version(d)) < 0)
			continue;
		if (newest - ver > cx->opts->minor_versions_behind)
			check_found(cx, "device", id, check_dev_name(d), TSTIME_NONE,
			            "%s runs %ld.%ld; the newest in the tailnet is %ld.%ld",
			            check_dev_name(d), ver / 100000, ver % 100000, newest / 100000,
			            newest % 100000);
	}
}

void
check_dev_lock_error(struct check_ctx *cx)
{
	const char *id;
	json_t *e, *d;
	size_t i;

	if (!check_need(cx, CHECK_P_DEVICES))
		return;
	json_array_foreach(cx->snap->devices, i, e)
	{
		if ((d = check_dev_of(e, &id)) == NULL)
			continue;
		const char *err = json_string_value(json_object_get(d, "tailnetLockError"));

		if (err != NULL && *err != '\0')
			check_found(cx, "device", id, check_dev_name(d), TSTIME_NONE,
			            "%s: Tailnet Lock says \"%s\"", check_dev_name(d), err);
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
