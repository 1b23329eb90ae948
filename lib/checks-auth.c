/* checks-auth.c: the checks of keys (auth keys, API tokens, OAuth clients) and of users. */
#include <string.h>

#include "checks-int.h"

/* Whether a keys.list or users.list entry was still there at the moment (not gone before it). */
static bool
auth_present(struct check_ctx *cx, json_t *entry)
{
	tstime_t to = check_time(entry, "to_lo");

	return to == TSTIME_NONE || to >= cx->snap->at;
}

/* The key of an entry if it was usable at the moment, else NULL. */
static json_t *
auth_live_key(struct check_ctx *cx, json_t *entry)
{
	json_t *k = json_object_get(entry, "key");
	const char *state = json_string_value(json_object_get(k, "state"));
	tstime_t exp = check_time(k, "expires");

	if (!json_is_object(k) || !auth_present(cx, entry))
		return NULL;
	if ((state != NULL && strcmp(state, "active") != 0) ||
	    (exp != TSTIME_NONE && exp <= cx->snap->at))
		return NULL;
	return k;
}

static bool
auth_type_is(json_t *k, const char *type)
{
	const char *t = json_string_value(json_object_get(k, "keyType"));

	return t != NULL && strcmp(t, type) == 0;
}

/* A capability flag of an auth key: capabilities.devices.create.<name>. */
static bool
auth_cap(json_t *k, const char *name)
{
	json_t *c = json_object_get(k, "capabilities");

	c = json_object_get(json_object_get(json_object_get(c, "devices"), "create"), name);
	return json_is_true(c);
}

/* How long a key is valid for, in µs, or -1 when it never expires or is not said. */
static int64_t
auth_validity(json_t *k)
{
	json_t *secs = json_object_get(k, "expirySeconds");
	tstime_t created = check_time(k, "created"), exp = check_time(k, "expires");

	if (json_is_integer(secs))
		return (int64_t)json_integer_value(secs) * TSTIME_SEC;
	if (created != TSTIME_NONE && exp != TSTIME_NONE)
		return exp - created;
	return -1;
}

static const char *
auth_key_desc(json_t *k)
{
	return json_string_value(json_object_get(k, "description"));
}

/* The key of a keys.list entry if it was usable at the moment and is of the type (NULL: any),
 * with its id; else NULL. */
static json_t *
auth_key_of(struct check_ctx *cx, json_t *entry, const char *type, const char **id)
{
	json_t *k = auth_live_key(cx, entry);

	if (k == NULL || (type != NULL && !auth_type_is(k, type)))
		return NULL;
	*id = json_string_value(json_object_get(entry, "id"));
	return *id != NULL ? k : NULL;
}

void
check_auth_reusable(struct check_ctx *cx)
{
	const char *id;
	json_t *e, *k;
	size_t i;

	if (!check_need(cx, CHECK_P_KEYS))
		return;
	json_array_foreach(cx->snap->keys, i, e)
	{
		if ((k = auth_key_of(cx, e, "auth", &id)) == NULL)
			continue;
		if (auth_cap(k, "reusable"))
			check_found(cx, "key", id, auth_key_desc(k), check_time(k, "created"),
			            "auth key %s is reusable", id);
	}
}

void
check_auth_long_expiry(struct check_ctx *cx)
{
	const char *id;
	json_t *e, *k;
	size_t i;

	if (!check_need(cx, CHECK_P_KEYS))
		return;
	json_array_foreach(cx->snap->keys, i, e)
	{
		int64_t v;

		if ((k = auth_key_of(cx, e, "auth", &id)) == NULL)
			continue;
		if ((v = auth_validity(k)) > cx->opts->key_max_age)
			check_found(cx, "key", id, auth_key_desc(k), check_time(k, "created"),
			            "auth key %s is valid for %lld days", id,
			            (long long)(v / (86400 * TSTIME_SEC)));
	}
}

void
check_auth_preauthorized(struct check_ctx *cx)
{
	const char *id;
	json_t *e, *k;
	size_t i;

	if (!check_need(cx, CHECK_P_KEYS))
		return;
	json_array_foreach(cx->snap->keys, i, e)
	{
		if ((k = auth_key_of(cx, e, "auth", &id)) == NULL)
			continue;
		if (auth_cap(k, "preauthorized"))
			check_found(cx, "key", id, auth_key_desc(k), check_time(k, "created"),
			            "auth key %s is pre-authorized", id);
	}
}

void
check_auth_reusable_not_ephemeral(struct check_ctx *cx)
{
	const char *id;
	json_t *e, *k;
	size_t i;

	if (!check_need(cx, CHECK_P_KEYS))
		return;
	json_array_foreach(cx->snap->keys, i, e)
	{
		if ((k = auth_key_of(cx, e, "auth", &id)) == NULL)
			continue;
		if (auth_cap(k, "reusable") && !auth_cap(k, "ephemeral"))
			check_found(cx, "key", id, auth_key_desc(k), check_time(k, "created"),
			            "auth key %s is reusable and its devices are not ephemeral",
			            id);
	}
}

void
check_auth_api_long_expiry(struct check_ctx *cx)
{
	const char *id;
	json_t *e, *k;
	size_t i;

	if (!check_need(cx, CHECK_P_KEYS))
		return;
	json_array_foreach(cx->snap->keys, i, e)
	{
		int64_t v;

		if ((k = auth_key_of(cx, e, "api", &id)) == NULL)
			continue;
		if ((v = auth_validity(k)) > cx->opts->key_max_age)
			check_found(cx, "key", id, auth_key_desc(k), check_time(k, "created"),
			            "API token %s is valid for %lld days", id,
			            (long long)(v / (86400 * TSTIME_SEC)));
	}
}

/* The user of a users.list entry present at the moment, with its login; else NULL. */
static json_t *
auth_user_of(struct check_ctx *cx, json_t *entry, const char **login)
{
	json_t *u = json_object_get(entry, "user");

	if (!auth_present(cx, entry) || !json_is_object(u))
		return NULL;
	*login = json_string_value(json_object_get(u, "loginName"));
	return *login != NULL ? u : NULL;
}

static const char *
auth_user_status(json_t *u)
{
	return json_string_value(json_object_get(u, "status")) ?: "";
}

void
check_auth_orphan_creator(struct check_ctx *cx)
{
	json_t *e, *k, *u, *by_id;
	const char *id, *uid, *login;
	size_t i;

	if (!check_need(cx, CHECK_P_KEYS | CHECK_P_USERS))
		return;
	by_id = json_object();
	json_array_foreach(cx->snap->users, i, e)
	{
		if ((u = auth_user_of(cx, e, &login)) != NULL &&
		    (uid = json_string_value(json_object_get(u, "id"))) != NULL)
			json_object_set(by_id, uid, u);
	}
	json_array_foreach(cx->snap->keys, i, e)
	{
		if ((k = auth_key_of(cx, e, NULL, &id)) == NULL)
			continue;
		uid = json_string_value(json_object_get(k, "userId"));
		if (uid == NULL || *uid == '\0')
			continue;
		u = json_object_get(by_id, uid);
		if (u == NULL)
			check_found(
			    cx, "key", id, auth_key_desc(k), TSTIME_NONE,
			    "key %s was created by user %s, who is no longer in the tailnet", id,
			    uid);
		else if (strcmp(auth_user_status(u), "suspended") == 0)
			check_found(cx, "key", id, auth_key_desc(k), TSTIME_NONE,
			            "key %s was created by %s, who is suspended", id,
			            json_string_value(json_object_get(u, "loginName")) ?: uid);
	}
	json_decref(by_id);
}

/* ---- USER ---- */

static const char *
auth_user_id(json_t *u)
{
	return json_string_value(json_object_get(u, "id")) ?: "";
}

void
check_user_suspended_devices(struct check_ctx *cx)
{
	json_t *e, *u, *owned = json_object();
	const struct check_device *devs;
	const char *login;
	size_t i, n;

	if (!check_need(cx, CHECK_P_USERS | CHECK_P_DEVICES)) {
		json_decref(owned);
		return;
	}
	/* Suspended logins first, then one pass over the devices: 10k devices, not 10k per user. */
	json_array_foreach(cx->snap->users, i, e)
	{
		if ((u = auth_user_of(cx, e, &login)) != NULL &&
		    strcmp(auth_user_status(u), "suspended") == 0)
			json_object_set_new(owned, login, json_integer(0));
	}
	devs = check_devices(cx, &n);
	for (i = 0; i < n; i++) {
		json_t *count = json_object_get(owned, devs[i].user);

		if (count != NULL)
			json_integer_set(count, json_integer_value(count) + 1);
	}
	json_array_foreach(cx->snap->users, i, e)
	{
		if ((u = auth_user_of(cx, e, &login)) == NULL ||
		    strcmp(auth_user_status(u), "suspended") != 0)
			continue;
		n = (size_t)json_integer_value(json_object_get(owned, login));
		if (n > 0)
			check_found(cx, "user", auth_user_id(u), login, TSTIME_NONE,
			            "%s is suspended and still has %zu device%s", login, n,
			            n == 1 ? "" : "s");
	}
	json_decref(owned);
}

static bool
auth_role_in(json_t *u, const char *const *roles)
{
	const char *r = json_string_value(json_object_get(u, "role"));

	for (size_t i = 0; r != NULL && roles[i] != NULL; i++) {
		if (strcmp(r, roles[i]) == 0)
			return true;
	}
	return false;
}

static const char *const auth_full_admin[] = {"owner", "admin", NULL};

void
check_user_many_admins(struct check_ctx *cx)
{
	const char *login;
	size_t n = 0, i;
	json_t *e, *u;

	if (!check_need(cx, CHECK_P_USERS))
		return;
	json_array_foreach(cx->snap->users, i, e)
	{
		if ((u = auth_user_of(cx, e, &login)) == NULL)
			continue;
		if (auth_role_in(u, auth_full_admin))
			n++;
	}
	if (n > (size_t)cx->opts->max_admins)
		check_found(cx, "tailnet", "tailnet", NULL, TSTIME_NONE,
		            "%zu users are owners or admins (at most %d wanted)", n,
		            cx->opts->max_admins);
}

void
check_user_no_delegated_roles(struct check_ctx *cx)
{
	static const char *const delegated[] = {"network-admin", "it-admin", "auditor",
	                                        "billing-admin", NULL};
	const char *login;
	size_t admins = 0, i;
	json_t *e, *u;

	if (!check_need(cx, CHECK_P_USERS))
		return;
	json_array_foreach(cx->snap->users, i, e)
	{
		if ((u = auth_user_of(cx, e, &login)) == NULL)
			continue;
		if (auth_role_in(u, delegated))
			return;
		if (auth_role_in(u, auth_full_admin))
			admins++;
	}
	/* A single owner running the tailnet alone has nobody to delegate to. */
	if (admins > 1)
		check_found(cx, "tailnet", "tailnet", NULL, TSTIME_NONE,
		            "%zu owners or admins and no network admin, IT admin or auditor",
		            admins);
}

void
check_user_shared(struct check_ctx *cx)
{
	const char *login;
	json_t *e, *u;
	size_t i;

	if (!check_need(cx, CHECK_P_USERS))
		return;
	json_array_foreach(cx->snap->users, i, e)
	{
		if ((u = auth_user_of(cx, e, &login)) == NULL)
			continue;
		if (strcmp(json_string_value(json_object_get(u, "type")) ?: "", "shared") == 0)
			check_found(cx, "user", auth_user_id(u), login, check_time(u, "created"),
			            "%s is a shared user from another tailnet", login);
	}
}

void
check_user_pending(struct check_ctx *cx)
{
	const char *login;
	json_t *e, *u;
	size_t i;

	if (!check_need(cx, CHECK_P_USERS))
		return;
	json_array_foreach(cx->snap->users, i, e)
	{
		if ((u = auth_user_of(cx, e, &login)) == NULL)
			continue;
		if (strcmp(auth_user_status(u), "needs-approval") == 0)
			check_found(cx, "user", auth_user_id(u), login, check_time(u, "created"),
			            "%s is waiting for approval", login);
	}
}
