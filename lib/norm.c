/* norm.c: normalisation of API answers: volatile fields apart, lists sorted, compact and stable. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "norm.h"

/* Fields that change without anyone changing the tailnet. */
static const char *const norm_volatile[] = {
    "lastSeen",
    "connectedToControl",
    "clientConnectivity",
    "multipleConnections",
};

/* Fields an earlier release kept with the volatile ones and this one versions: a current record
 * written by that release holds them in its volatile part. updateAvailable changes rarely and
 * is a security fact (since when was this device out of date?). */
static const char *const norm_once_volatile[] = {
    "updateAvailable",
};

/* String lists whose order carries no meaning: sorted so that a reordering is no change. */
static const char *const norm_sorted_lists[] = {
    "addresses",
    "tags",
    "enabledRoutes",
    "advertisedRoutes",
};

/* Fields the history and the queries read as text. */
static const char *const norm_strings[] = {"name", "hostname", "user", "os"};

/* Members the API always sends (the OpenAPI examples and every capture under
 * shared/reference/tailscale-api agree), kept to those tsinv reads or keys on: dates are left
 * out, as third-party captures show them absent or null, and so is a device's user, which a
 * tagged device's record may one day drop. */
const struct norm_member norm_device_members[] = {
    {"id", 'S'}, {"addresses", 'a'},  {"name", 's'},       {"hostname", 's'},
    {"os", 's'}, {"authorized", 'b'}, {"isExternal", 'b'}, {"keyExpiryDisabled", 'b'},
    {NULL, 0},
};
const struct norm_member norm_user_members[] = {
    {"loginName", 'S'}, {"displayName", 's'}, {"type", 'S'},
    {"role", 'S'},      {"status", 'S'},      {NULL, 0},
};
const struct norm_member norm_webhook_members[] = {
    {"endpointUrl", 'S'},
    {"providerType", 's'},
    {"subscriptions", 'a'},
    {"creatorLoginName", 's'},
    {NULL, 0},
};
/* A key listed with its details, or fetched by id (even the short shape of a revoked one). */
const struct norm_member norm_key_members[] = {
    {"created", 'S'},
    {NULL, 0},
};

int
norm_members(json_t *obj, const struct norm_member *req, const char *list, const char *what,
             size_t i, const char *idmember, char **cause)
{
	const char *id = json_string_value(json_object_get(obj, idmember));

	for (; req->name != NULL; req++) {
		json_t *v = json_object_get(obj, req->name);
		const char *want = req->type == 'a'   ? "list"
		                   : req->type == 'b' ? "boolean"
		                                      : "string";
		int ok = req->type == 'a' ? json_is_array(v)
		         : req->type == 'b'
		             ? json_is_boolean(v)
		             : json_is_string(v) || (req->type == 's' && json_is_null(v));

		if (ok)
			continue;
		*cause = xasprintf("%s: %s %zu (%s \"%.*s\"): %s \"%s\"%s%s", list, what, i + 1,
		                   idmember, NORM_MAX_ID, id != NULL ? id : "?",
		                   v == NULL ? "no" : "a bad", req->name,
		                   v == NULL ? " " : ": not a ", want);
		return -1;
	}
	return 0;
}

int
norm_device_volatile(const char *key)
{
	for (size_t i = 0; i < sizeof(norm_volatile) / sizeof(norm_volatile[0]); i++)
		if (strcmp(key, norm_volatile[i]) == 0)
			return 1;
	return 0;
}

int
norm_device_adopt(json_t *old, const char *vol, size_t vol_len)
{
	json_t *v = NULL;
	int n = 0;

	for (size_t i = 0; i < sizeof(norm_once_volatile) / sizeof(norm_once_volatile[0]); i++) {
		const char *k = norm_once_volatile[i];

		char pat[64];

		/* Our own compact dump: the member's key in quotes and a colon is exact. */
		snprintf(pat, sizeof(pat), "\"%s\":", k);
		if (json_object_get(old, k) != NULL ||
		    memmem(vol, vol_len, pat, strlen(pat)) == NULL)
			continue;
		if (v == NULL && (v = json_loadb(vol, vol_len, 0, NULL)) == NULL)
			return 0;
		if (json_object_get(v, k) != NULL) {
			json_object_set(old, k, json_object_get(v, k));
			n++;
		}
	}
	json_decref(v);
	return n;
}

int
norm_cmp_json_str(const void *a, const void *b)
{
	return strcmp(json_string_value(*(json_t *const *)a),
	              json_string_value(*(json_t *const *)b));
}

/* Sorts a list of strings in place (new array in the object); -1 if it is not such a list. */
static int
norm_sort_list(json_t *obj, const char *key)
{
	json_t *list = json_object_get(obj, key), *sorted, **items;
	size_t n, i;

	if (list == NULL || json_is_null(list))
		return 0;
	if (!json_is_array(list))
		return -1;
	n = json_array_size(list);
	items = xcalloc(n ? n : 1, sizeof(*items));
	for (i = 0; i < n; i++) {
		items[i] = json_array_get(list, i);
		if (!json_is_string(items[i])) {
			free(items);
			return -1;
		}
	}
	qsort(items, n, sizeof(*items), norm_cmp_json_str);
	sorted = json_array();
	for (i = 0; i < n; i++)
		json_array_append(sorted, items[i]);
	free(items);
	json_object_set_new(obj, key, sorted);
	return 0;
}

static int
norm_id_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > NORM_MAX_ID)
		return 0;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.')
			return 0;
	return 1;
}

int
norm_device(json_t *dev, struct norm_device *out, char **cause)
{
	json_t *stable = NULL, *vol = NULL, *v, *addrs;
	const char *key, *id;
	size_t i;

	memset(out, 0, sizeof(*out));
	out->created = TSTIME_NONE;
	if (!json_is_object(dev)) {
		*cause = xasprintf("a device is not an object");
		return -1;
	}
	id = json_string_value(json_object_get(dev, "nodeId"));
	if (id == NULL || !norm_id_ok(id)) {
		*cause = xasprintf("a device has no valid nodeId");
		return -1;
	}
	strcpy(out->id, id);
	addrs = json_object_get(dev, "addresses");
	if (addrs != NULL && !json_is_array(addrs)) {
		*cause = xasprintf("device %s: addresses is not a list", id);
		return -1;
	}
	json_array_foreach(addrs, i, v)
	{
		if (out->naddrs == NORM_MAX_ADDRS) {
			*cause = xasprintf("device %s: more than %d addresses", id, NORM_MAX_ADDRS);
			return -1;
		}
		if (!json_is_string(v) ||
		    addr_parse(json_string_value(v), &out->addrs[out->naddrs]) != 0) {
			*cause = xasprintf("device %s: a bad address", id);
			return -1;
		}
		out->naddrs++;
	}
	for (i = 0; i < sizeof(norm_strings) / sizeof(norm_strings[0]); i++) {
		v = json_object_get(dev, norm_strings[i]);
		if (v != NULL && !json_is_string(v) && !json_is_null(v)) {
			*cause = xasprintf("device %s: %s is not a string", id, norm_strings[i]);
			return -1;
		}
	}
	v = json_object_get(dev, "created");
	if (json_is_string(v) && tstime_parse_rfc3339(json_string_value(v), &out->created) != 0)
		out->created = TSTIME_NONE;
	/* The API's zero time ("0001-01-01T00:00:00Z") means no expiry, as for shared-in nodes. */
	out->expires = TSTIME_NONE;
	v = json_object_get(dev, "expires");
	if (json_is_string(v) &&
	    (tstime_parse_rfc3339(json_string_value(v), &out->expires) != 0 || out->expires <= 0))
		out->expires = TSTIME_NONE;
	out->key_expiry_disabled = json_is_true(json_object_get(dev, "keyExpiryDisabled"));
	out->online = json_is_true(json_object_get(dev, "connectedToControl"));
	/* Volatile (it flaps, and it is not sticky), but a security signal: the history raises
	 * an event on each transition, so its own value is kept apart here. */
	out->multiple_connections = json_is_true(json_object_get(dev, "multipleConnections"));

	stable = json_object();
	vol = json_object();
	json_object_foreach(dev, key, v)
	{
		json_object_set(norm_device_volatile(key) ? vol : stable, key, v);
	}
	for (i = 0; i < sizeof(norm_sorted_lists) / sizeof(norm_sorted_lists[0]); i++) {
		if (norm_sort_list(stable, norm_sorted_lists[i]) == -1) {
			*cause = xasprintf("device %s: %s is not a list of strings", id,
			                   norm_sorted_lists[i]);
			goto fail;
		}
	}
	out->stable = json_dumps(stable, JSON_COMPACT | JSON_SORT_KEYS);
	out->vol = json_dumps(vol, JSON_COMPACT | JSON_SORT_KEYS);
	if (out->stable == NULL || out->vol == NULL) {
		*cause = xasprintf("device %s: cannot serialise", id);
		goto fail;
	}
	out->stable_len = strlen(out->stable);
	out->vol_len = strlen(out->vol);
	json_decref(stable);
	json_decref(vol);
	return 0;
fail:
	json_decref(stable);
	json_decref(vol);
	norm_device_free(out);
	return -1;
}

void
norm_device_free(struct norm_device *nd)
{
	free(nd->stable);
	free(nd->vol);
	nd->stable = nd->vol = NULL;
}

static char *
norm_lower(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	for (size_t i = 0; i < n; i++)
		p[i] = (char)tolower((unsigned char)s[i]);
	p[n] = '\0';
	return p;
}

static size_t
norm_add_name(char *names[3], size_t n, const char *s, size_t len)
{
	char *l;

	if (s == NULL || len == 0)
		return n;
	l = norm_lower(s, len);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(names[i], l) == 0) {
			free(l);
			return n;
		}
	}
	names[n] = l;
	return n + 1;
}

size_t
norm_device_names(json_t *stable, char *names[3])
{
	const char *name = json_string_value(json_object_get(stable, "name"));
	const char *host = json_string_value(json_object_get(stable, "hostname"));
	size_t n = 0;

	if (name != NULL) {
		n = norm_add_name(names, n, name, strlen(name));
		n = norm_add_name(names, n, name, strcspn(name, "."));
	}
	if (host != NULL)
		n = norm_add_name(names, n, host, strlen(host));
	return n;
}
