/* checks-auth.c: the checks of keys (auth keys, API tokens, OAuth clients) and of users. */
#include <string.h>

#include "checks-int.h"

/* Whether a key was usable at the moment and is of type kt (NULL: any type). */
static bool
auth_live(const struct check_key *c, const char *kt)
{
	return c->live && (kt == NULL || strcmp(c->type, kt) == 0);
}

/* Runs the loop body over each key c[i] of the snapshot usable at the moment whose type is kt
 * (NULL: any); n, i: locals of the caller. */
#define AUTH_LOOP(cx, c, n, i, kt)                                                                 \
	for ((c) = check_keys((cx), &(n)), (i) = 0; (i) < (n); (i)++)                              \
		if (auth_live(&(c)[i], (kt)))

void
check_auth_reusable(struct check_ctx *cx)
{
	const struct check_key *c;
	size_t n, i;

	if (!check_need(cx, CHECK_P_KEYS))
		return;
	AUTH_LOOP(cx, c, n, i, "auth")
	{
		if (c[i].reusable)
			check_found(cx, "key", c[i].id, c[i].desc, c[i].created,
			            "auth key %s is reusable", c[i].id);
	}
}

void
check_auth_long_expiry(struct check_ctx *cx)
{
	const struct check_key *c;
	size_t n, i;

	if (!check_need(cx, CHECK_P_KEYS))
		return;
	AUTH_LOOP(cx, c, n, i, "auth")
	{
		if (c[i].validity > cx->opts->key_max_age)
			check_found(cx, "key", c[i].id, c[i].desc, c[i].created,
			            "auth key %s is valid for %lld days", c[i].id,
			            (long long)(c[i].validity / (86400 * TSTIME_SEC)));
	}
}

void
check_auth_preauthorized(struct check_ctx *cx)
{
	const struct check_key *c;
	size_t n, i;

	if (!check_need(cx, CHECK_P_KEYS))
		return;
	AUTH_LOOP(cx, c, n, i, "auth")
	{
		if (c[i].preauthorized)
			check_found(cx, "key", c[i].id, c[i].desc, c[i].created,
			            "auth key %s is pre-authorized", c[i].id);
	}
}

void
check_auth_reusable_not_ephemeral(struct check_ctx *cx)
{
	const struct check_key *c;
	size_t n, i;

	if (!check_need(cx, CHECK_P_KEYS))
		return;
	AUTH_LOOP(cx, c, n, i, "auth")
	{
		if (c[i].reusable && !c[i].ephemeral)
			check_found(cx, "key", c[i].id, c[i].desc, c[i].created,
			            "auth key %s is reusable and its devices are not ephemeral",
			            c[i].id);
	}
}

void
check_auth_api_long_expiry(struct check_ctx *cx)
{
	const struct check_key *c;
	size_t n, i;

	if (!check_need(cx, CHECK_P_KEYS))
		return;
	AUTH_LOOP(cx, c, n, i, "api")
	{
		if (c[i].validity > cx->opts->key_max_age)
			check_found(cx, "key", c[i].id, c[i].desc, c[i].created,
			            "API token %s is valid for %lld days", c[i].id,
			            (long long)(c[i].validity / (86400 * TSTIME_SEC)));
	}
}

/* Whether a users.list entry was still there at the moment (not gone before it). */
static bool
auth_present(struct check_ctx *cx, json_t *entry)
{
	tstime_t to = check_time(entry, "to_lo");

	return to == TSTIME_NONE || to >= cx->snap->at;
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
	const struct check_key *c;
	json_t *e, *u, *by_id;
	const char *uid, *login;
	size_t n, i;

	if (!check_need(cx, CHECK_P_KEYS | CHECK_P_USERS))
		return;
	by_id = json_object();
	json_array_foreach(cx->snap->users, i, e)
	{
		if ((u = auth_user_of(cx, e, &login)) != NULL &&
		    (uid = json_string_value(json_object_get(u, "id"))) != NULL)
			json_object_set(by_id, uid, u);
	}
	AUTH_LOOP(cx, c, n, i, NULL)
	{
		if (*c[i].user_id == '\0')
			continue;
		u = json_object_get(by_id, c[i].user_id);
		if (u == NULL)
			check_found(
			    cx, "key", c[i].id, c[i].desc, TSTIME_NONE,
			    "key %s was created by user %s, who is no longer in the tailnet",
			    c[i].id, c[i].user_id);
		else if (strcmp(auth_user_status(u), "suspended") == 0)
			check_found(cx, "key", c[i].id, c[i].desc, TSTIME_NONE,
			            "key %s was created by %s, who is suspended", c[i].id,
			            json_string_value(json_object_get(u, "loginName"))
			                ?: c[i].user_id);
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
