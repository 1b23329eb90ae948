/* checks-hist.c: the checks only a history can answer: what was true at some time in the window
 * before the moment, and what changed. */
#include <stdio.h>
#include <string.h>

#include "checks-int.h"

/* When a version began: its first sighting (from_hi), else its earliest possible start. */
static tstime_t
hist_from(json_t *v)
{
	tstime_t t = check_time(v, "from_hi");

	return t != TSTIME_NONE ? t : check_time(v, "from_lo");
}

/* The start of the window the checks look back over. */
static tstime_t
hist_window_start(struct check_ctx *cx)
{
	return cx->snap->at - cx->opts->window;
}

void
check_hist_key_lived_long(struct check_ctx *cx)
{
	const struct check_key *c;
	size_t n, i;

	if (!check_need(cx, CHECK_P_KEYS))
		return;
	c = check_keys(cx, &n);
	for (i = 0; i < n; i++) {
		tstime_t start = c[i].created, end = cx->snap->at;

		if (start == TSTIME_NONE ||
		    (strcmp(c[i].type, "auth") != 0 && strcmp(c[i].type, "api") != 0))
			continue;
		/* It ended at the first of: revoked, expired, last seen before it went. */
		if (c[i].revoked != TSTIME_NONE && c[i].revoked < end)
			end = c[i].revoked;
		if (c[i].expires != TSTIME_NONE && c[i].expires < end)
			end = c[i].expires;
		if (c[i].gone != TSTIME_NONE && c[i].gone < end)
			end = c[i].gone;
		if (end == cx->snap->at && end - start <= cx->opts->key_max_age)
			check_due(cx, start + cx->opts->key_max_age + 1);
		if (end < hist_window_start(cx) || end - start <= cx->opts->key_max_age)
			continue;
		check_found(cx, "key", c[i].id, c[i].desc, start + cx->opts->key_max_age,
		            "%s key %s was usable for %lld days", c[i].type, c[i].id,
		            (long long)((end - start) / (86400 * TSTIME_SEC)));
	}
}

/* The last version of a device history that began by the moment, or NULL. */
static json_t *
hist_version_at(struct check_ctx *cx, json_t *versions, size_t *index)
{
	json_t *v, *found = NULL;
	size_t i;

	json_array_foreach(versions, i, v)
	{
		tstime_t from = hist_from(v);

		if (from != TSTIME_NONE && from > cx->snap->at)
			break;
		found = v;
		*index = i;
	}
	return found;
}

static bool
hist_expiry_off(json_t *v)
{
	return json_is_true(json_object_get(json_object_get(v, "device"), "keyExpiryDisabled"));
}

static size_t
hist_ntags(json_t *v)
{
	return json_array_size(json_object_get(json_object_get(v, "device"), "tags"));
}

void
check_hist_expiry_disabled_later(struct check_ctx *cx)
{
	json_t *h;
	size_t i;

	if (!check_need(cx, CHECK_P_DEVICE_HIST))
		return;
	json_array_foreach(cx->snap->device_histories, i, h)
	{
		json_t *versions = json_object_get(h, "versions"), *cur, *v;
		const char *id = json_string_value(json_object_get(h, "nodeId"));
		size_t at = 0, j;

		cur = hist_version_at(cx, versions, &at);
		if (id == NULL || cur == NULL || !hist_expiry_off(cur))
			continue;
		/* Gone before the moment: nothing left to fix. */
		if (check_time(cur, "to_lo") != TSTIME_NONE &&
		    check_time(cur, "to_lo") < cx->snap->at)
			continue;
		/* The last switch from on to off, unless tagging the device switched it. */
		for (j = at; j > 0; j--) {
			json_t *prev = json_array_get(versions, j - 1);

			v = json_array_get(versions, j);
			if (!hist_expiry_off(prev)) {
				if (hist_ntags(prev) == 0 && hist_ntags(v) > 0)
					break;
				check_found(cx, "device", id,
				            check_dev_name(json_object_get(cur, "device")),
				            hist_from(v),
				            "key expiry of %s was disabled after it joined",
				            check_dev_name(json_object_get(cur, "device")) ?: id);
				break;
			}
		}
	}
}

static size_t
hist_ntests(struct check_rev *r)
{
	return (size_t)json_integer_value(json_object_get(r->summary, "tests"));
}

void
check_hist_tests_removed(struct check_ctx *cx)
{
	char id[32];

	if (!check_need(cx, CHECK_P_POLICY_REVS))
		return;
	check_revs_load(cx);
	for (size_t i = 1; i < cx->nrevs; i++) {
		struct check_rev *prev = &cx->revs[i - 1], *r = &cx->revs[i];

		if (r->summary == NULL || prev->summary == NULL || r->from == TSTIME_NONE ||
		    r->from > cx->snap->at || r->from < hist_window_start(cx))
			continue;
		if (hist_ntests(prev) > 0 && hist_ntests(r) == 0) {
			snprintf(id, sizeof id, "rev %ld", r->rev);
			check_found(cx, "policy", id, NULL, r->from,
			            "revision %ld removed all %zu tests of revision %ld", r->rev,
			            hist_ntests(prev), prev->rev);
		}
	}
}

void
check_hist_allow_all(struct check_ctx *cx)
{
	char id[32];

	if (!check_need(cx, CHECK_P_POLICY_REVS))
		return;
	check_revs_load(cx);
	for (size_t i = 0; i < cx->nrevs; i++) {
		struct check_rev *r = &cx->revs[i];

		/* In force at some time in [window start, moment]; policy_summary's reasons say
		 * which rule opened everything. */
		if (r->summary == NULL || (r->from != TSTIME_NONE && r->from > cx->snap->at) ||
		    (r->to != TSTIME_NONE && r->to < hist_window_start(cx)) ||
		    !json_is_false(json_object_get(r->summary, "micro_segmented")))
			continue;
		snprintf(id, sizeof id, "rev %ld", r->rev);
		check_found(
		    cx, "policy", id, NULL, r->from, "revision %ld: %s", r->rev,
		    json_string_value(json_array_get(json_object_get(r->summary, "reasons"), 0))
		        ?: "wide open");
	}
}

static bool
hist_is_admin(json_t *v)
{
	const char *r = json_string_value(json_object_get(json_object_get(v, "user"), "role"));

	return r != NULL && (strcmp(r, "admin") == 0 || strcmp(r, "owner") == 0);
}

void
check_hist_role_raised(struct check_ctx *cx)
{
	json_t *h;
	size_t i;

	if (!check_need(cx, CHECK_P_USER_HIST))
		return;
	json_array_foreach(cx->snap->user_histories, i, h)
	{
		json_t *versions = json_object_get(h, "versions");
		const char *id = json_string_value(json_object_get(h, "id"));

		for (size_t j = json_array_size(versions); id != NULL && j > 1; j--) {
			json_t *v = json_array_get(versions, j - 1);
			json_t *prev = json_array_get(versions, j - 2);
			tstime_t from = hist_from(v);

			if (from == TSTIME_NONE || from > cx->snap->at ||
			    from < hist_window_start(cx))
				continue;
			if (hist_is_admin(v) && !hist_is_admin(prev)) {
				json_t *u = json_object_get(v, "user");
				const char *login =
				    json_string_value(json_object_get(u, "loginName"));

				check_found(cx, "user", id, login, from, "%s became %s (was %s)",
				            login ?: id,
				            json_string_value(json_object_get(u, "role")),
				            json_string_value(json_object_get(
				                json_object_get(prev, "user"), "role"))
				                ?: "?");
				break;
			}
		}
	}
}

/* New reference: {address: [[deleted nodeId, released (µs), name], ...]}: the addresses deleted
 * devices held last, and when they were last seen with them. */
static json_t *
hist_released(json_t *histories)
{
	json_t *by = json_object(), *h, *a;
	size_t i, j;

	json_array_foreach(histories, i, h)
	{
		json_t *versions = json_object_get(h, "versions"), *last, *dev, *list;
		const char *id = json_string_value(json_object_get(h, "nodeId"));
		tstime_t released;

		if (id == NULL || !json_is_true(json_object_get(h, "deleted")) ||
		    json_array_size(versions) == 0)
			continue;
		last = json_array_get(versions, json_array_size(versions) - 1);
		dev = json_object_get(last, "device");
		if ((released = check_time(last, "to_lo")) == TSTIME_NONE &&
		    (released = check_time(last, "to_hi")) == TSTIME_NONE)
			continue;
		json_array_foreach(json_object_get(dev, "addresses"), j, a)
		{
			const char *ip = json_string_value(a);

			if (ip == NULL)
				continue;
			if ((list = json_object_get(by, ip)) == NULL) {
				list = json_array();
				json_object_set_new(by, ip, list);
			}
			json_array_append_new(list, json_pack("[s, I, s]", id, (json_int_t)released,
			                                      check_dev_name(dev) ?: "?"));
		}
	}
	return by;
}

/* Records a reuse when the device id first held ip at from, soon after a deleted device let it
 * go. */
static void
hist_reuse(struct check_ctx *cx, json_t *released, const char *id, const char *ip, tstime_t from)
{
	json_t *r;
	size_t i;

	json_array_foreach(json_object_get(released, ip), i, r)
	{
		const char *gone = json_string_value(json_array_get(r, 0));
		tstime_t at = (tstime_t)json_integer_value(json_array_get(r, 1));

		if (strcmp(gone, id) == 0 || from < at || from > cx->snap->at ||
		    from - at > cx->opts->reuse_window || from < hist_window_start(cx))
			continue;
		check_found(cx, "device", id, NULL, from,
		            "%s was given %s, released by deleted device %s (%s) shortly before",
		            id, ip, json_string_value(json_array_get(r, 2)), gone);
	}
}

void
check_hist_address_reuse(struct check_ctx *cx)
{
	json_t *released, *h, *v, *a;
	size_t i, j, k;

	if (!check_need(cx, CHECK_P_DEVICE_HIST))
		return;
	/* Few devices are deleted: only their addresses are looked for in every history. */
	released = hist_released(cx->snap->device_histories);
	json_array_foreach(cx->snap->device_histories, i, h)
	{
		const char *id = json_string_value(json_object_get(h, "nodeId"));
		json_t *seen;

		if (id == NULL || json_object_size(released) == 0)
			continue;
		seen = json_object();
		json_array_foreach(json_object_get(h, "versions"), j, v)
		{
			json_array_foreach(
			    json_object_get(json_object_get(v, "device"), "addresses"), k, a)
			{
				const char *ip = json_string_value(a);

				/* The first version holding it is when the device got it. */
				if (ip == NULL || json_object_get(released, ip) == NULL ||
				    json_object_get(seen, ip) != NULL)
					continue;
				json_object_set_new(seen, ip, json_true());
				hist_reuse(cx, released, id, ip, hist_from(v));
			}
		}
		json_decref(seen);
	}
	json_decref(released);
}
