/* entity-users.c: users and webhooks: their answers, their events and their lists. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "entity-int.h"
#include "pin.h"
#include "log.h"
#include "norm.h"

static int entity_user_events(struct store_txn *, struct entity_apply *, struct entity_change *,
                              char **);

static const struct entity_kind entity_users = {
    .ep = ENDPOINT_users,
    .name = "user",
    .list = "users",
    .idmember = "id",
    .label = "loginName",
    .created = EVENT_T_user_created,
    .deleted = EVENT_T_user_deleted,
    .changed = EVENT_T_user_updated,
    .events = entity_user_events,
};

static const struct entity_kind entity_webhooks = {
    .ep = ENDPOINT_webhooks,
    .name = "webhook",
    .list = "webhooks",
    .idmember = "endpointId",
    .label = "endpointUrl",
    .created = EVENT_T_webhook_created,
    .deleted = EVENT_T_webhook_deleted,
    .changed = EVENT_T_webhook_updated,
    .events = entity_doc_events,
};

static int
entity_user_events(struct store_txn *txn, struct entity_apply *a, struct entity_change *c,
                   char **cause)
{
	static const char *const role[] = {"role", NULL}, *const status[] = {"status", NULL};
	static const char *const rest[] = {"role", "status", NULL};
	json_t *old = c->old_stable ? json_loads(c->old_stable, 0, NULL) : NULL;
	json_t *new = c->it ? json_loads(c->it->stable, 0, NULL) : NULL, *changed;
	int rc;

	if (c->action != HIST_A_CHANGE) {
		rc = entity_whole_events(txn, a, c, old, new, cause);
	} else {
		changed = hist_changed_fields(old, new);
		rc = entity_emit_fields(txn, a, c, EVENT_T_user_role_changed, old, new, changed,
		                        role, NULL, NULL, cause);
		if (rc == 0)
			rc = entity_emit_fields(txn, a, c, EVENT_T_user_status_changed, old, new,
			                        changed, status, NULL, NULL, cause);
		if (rc == 0)
			rc = entity_emit_fields(txn, a, c, a->k->changed, old, new, changed, NULL,
			                        rest, NULL, cause);
		json_decref(changed);
	}
	json_decref(old);
	json_decref(new);
	return rc;
}

/* Fields of a user that move by themselves: kept as current state, never versioned. */
static const char *const entity_user_volatile[] = {"lastSeen", "currentlyConnected", "deviceCount",
                                                   NULL};

/* Users from BODY, and ANS's users fetched by id (NULL: none). */
static int
entity_users_apply_ans(struct store *st, const char *tailnet, tstime_t t, json_t *body,
                       const struct endpoint_answer *ans, const struct hist_policy *pol,
                       struct hist_poll_result *res, char **cause)
{
	json_t *list = json_is_object(body) ? json_object_get(body, "users") : NULL, *v;
	struct entity_apply a = {.ans = ans};
	struct entity_item *items;
	size_t i, n = 0;

	if (json_is_null(list))
		list = NULL; /* an empty list, as a Go server marshals it */
	else if (!json_is_array(list)) {
		*cause = xasprintf("the answer has no \"users\" list");
		return -1;
	}
	items = xcalloc(json_array_size(list) + 1, sizeof(*items));
	json_array_foreach(list, i, v)
	{
		const char *id = entity_id(v, "id", "user", i, cause), *status;
		json_t *stable, *vol;

		if (id == NULL ||
		    norm_members(v, norm_user_members, "users", "user", i, "id", cause) == -1) {
			entity_items_free(items, n);
			return -1;
		}
		stable = json_deep_copy(v);
		vol = json_object();
		for (const char *const *f = entity_user_volatile; *f != NULL; f++) {
			if (json_object_get(stable, *f) != NULL)
				json_object_set(vol, *f, json_object_get(stable, *f));
			json_object_del(stable, *f);
		}
		/* active and idle differ only by time since last seen: one stable "active". */
		status = json_string_value(json_object_get(stable, "status"));
		if (status != NULL &&
		    (strcmp(status, "active") == 0 || strcmp(status, "idle") == 0)) {
			json_object_set_new(vol, "status", json_string(status));
			json_object_set_new(stable, "status", json_string("active"));
		}
		entity_sort_lists(stable);
		entity_item_set(&items[n], id, stable, vol);
		items[n].order = n;
		n++;
		json_decref(stable);
		json_decref(vol);
	}
	return entity_apply(st, &entity_users, tailnet, t, items, n, pol, res, &a, cause);
}

/* Webhooks from BODY, and ANS's webhooks fetched by id (NULL: none). */
static int
entity_webhooks_apply_ans(struct store *st, const char *tailnet, tstime_t t, json_t *body,
                          const struct endpoint_answer *ans, const struct hist_policy *pol,
                          struct hist_poll_result *res, char **cause)
{
	json_t *list = json_is_object(body) ? json_object_get(body, "webhooks") : NULL, *v;
	struct entity_apply a = {.ans = ans};
	struct entity_item *items;
	size_t i, n = 0;

	/* No webhooks at all may come as null; no member at all is a broken answer (an error
	 * message with a 200?), never "every webhook is gone". */
	if (json_is_null(list))
		list = NULL;
	else if (!json_is_array(list)) {
		*cause = xasprintf("the answer has no \"webhooks\" list");
		return -1;
	}
	items = xcalloc(json_array_size(list) + 1, sizeof(*items));
	json_array_foreach(list, i, v)
	{
		const char *id = entity_id(v, "endpointId", "webhook", i, cause);
		json_t *stable;

		if (id == NULL || norm_members(v, norm_webhook_members, "webhooks", "webhook", i,
		                               "endpointId", cause) == -1) {
			entity_items_free(items, n);
			return -1;
		}
		stable = json_deep_copy(v);
		json_object_del(stable, "secret");
		entity_sort_lists(stable);
		entity_item_set(&items[n], id, stable, NULL);
		items[n].order = n;
		n++;
		json_decref(stable);
	}
	return entity_apply(st, &entity_webhooks, tailnet, t, items, n, pol, res, &a, cause);
}

int
entity_users_apply(struct store *st, const char *tailnet, tstime_t t, json_t *body,
                   const struct hist_policy *pol, struct hist_poll_result *res, char **cause)
{
	return entity_users_apply_ans(st, tailnet, t, body, NULL, pol, res, cause);
}

int
entity_webhooks_apply(struct store *st, const char *tailnet, tstime_t t, json_t *body,
                      const struct hist_policy *pol, struct hist_poll_result *res, char **cause)
{
	return entity_webhooks_apply_ans(st, tailnet, t, body, NULL, pol, res, cause);
}

int
entity_users_answer(struct store *st, const char *tailnet, tstime_t t,
                    const struct endpoint_answer *ans, const struct hist_policy *pol,
                    struct hist_poll_result *res, char **cause)
{
	return entity_users_apply_ans(st, tailnet, t, json_array_get(ans->json, 0), ans, pol, res,
	                              cause);
}

int
entity_webhooks_answer(struct store *st, const char *tailnet, tstime_t t,
                       const struct endpoint_answer *ans, const struct hist_policy *pol,
                       struct hist_poll_result *res, char **cause)
{
	return entity_webhooks_apply_ans(st, tailnet, t, json_array_get(ans->json, 0), ans, pol,
	                                 res, cause);
}

int
entity_users_plan_answer(struct store *st, const char *tailnet, const struct endpoint_answer *ans,
                         json_t **ids, char **cause)
{
	return entity_confirm_plan(st, &entity_users, tailnet, ans, ids, cause);
}

int
entity_webhooks_plan_answer(struct store *st, const char *tailnet,
                            const struct endpoint_answer *ans, json_t **ids, char **cause)
{
	return entity_confirm_plan(st, &entity_webhooks, tailnet, ans, ids, cause);
}

int
entity_users_list(struct store *st, const char *tailnet, tstime_t at, json_t **out, char **cause)
{
	return entity_list(st, NULL, tailnet, &entity_users, at, out, cause);
}

int
entity_webhooks_list(struct store *st, const char *tailnet, tstime_t at, json_t **out, char **cause)
{
	return entity_list(st, NULL, tailnet, &entity_webhooks, at, out, cause);
}

int
entity_users_list_in(struct store_txn *txn, const char *tailnet, tstime_t at, json_t **out,
                     char **cause)
{
	return entity_list(NULL, txn, tailnet, &entity_users, at, out, cause);
}

int
entity_webhooks_list_in(struct store_txn *txn, const char *tailnet, tstime_t at, json_t **out,
                        char **cause)
{
	return entity_list(NULL, txn, tailnet, &entity_webhooks, at, out, cause);
}

int
entity_user_histories_in(struct store_txn *txn, const char *tailnet, tstime_t at, json_t **out,
                         char **cause)
{
	struct store_cursor *cur;
	struct store_key prefix;
	struct store_val key, val;
	json_t *list = json_array(), *one = NULL;
	const char *last = NULL;
	int rc;

	hist_key_kind(&prefix, tailnet, ENTITY_ROW(&entity_users)->kind, NULL);
	if (store_cursor_open(txn, STORE_VER, &cur, cause) == -1) {
		json_decref(list);
		return HIST_ERR;
	}
	/* Version keys: tailnet, kind, id and its NUL, from_hi; in id order, oldest first. */
	for (rc = store_cursor_seek(cur, &prefix, &prefix, &key, &val); rc == 0;
	     rc = store_cursor_step(cur, 1, &key, &val)) {
		const char *id = (const char *)key.data + prefix.len;
		size_t idlen = key.len > prefix.len ? strnlen(id, key.len - prefix.len) : 0;
		struct hist_bounds b;
		json_t *v, *a;

		if (idlen == 0 || key.len != prefix.len + idlen + 1 + 8 ||
		    val.len < HIST_BOUNDS_LEN)
			continue;
		hist_bounds_get(val.data, &b);
		if (at != TSTIME_NONE && b.from_lo != TSTIME_NONE && b.from_lo > at)
			continue;
		if (last == NULL || strcmp(last, id) != 0) {
			one = json_pack("{s:s, s:[]}", "id", id, "versions");
			json_array_append_new(list, one);
			last = json_string_value(json_object_get(one, "id"));
		}
		pin_apply(txn, tailnet, ENTITY_ROW(&entity_users)->kind, id, &b);
		v = json_object();
		hist_bounds_json(v, &b);
		json_object_set_new(v, "user",
		                    json_loadb((const char *)val.data + HIST_BOUNDS_LEN,
		                               val.len - HIST_BOUNDS_LEN, 0, NULL)
		                        ?: json_null());
		/* Who made the change, as joined when it was recorded (attrib.c). */
		if ((a = attrib_get(txn, tailnet, ENTITY_ROW(&entity_users)->kind, id, b.from_hi)))
			json_object_set_new(v, "attribution", a);
		json_array_append_new(json_object_get(one, "versions"), v);
	}
	store_cursor_close(cur);
	*out = list;
	return HIST_OK;
}

/* ---- one user: user.get ---- */

/* BOUNDS read back from their JSON (hist_bounds_json): null is no time. */
static void
entity_bounds_from_json(json_t *v, struct hist_bounds *b)
{
	static const char *const names[4] = {"from_lo", "from_hi", "to_lo", "to_hi"};
	tstime_t *t[4] = {&b->from_lo, &b->from_hi, &b->to_lo, &b->to_hi};

	memset(b, 0, sizeof(*b));
	for (int i = 0; i < 4; i++) {
		const char *s = json_string_value(json_object_get(v, names[i]));

		if (s == NULL || tstime_parse_rfc3339(s, t[i]) != 0)
			*t[i] = TSTIME_NONE;
	}
	hist_bounds_pins_json(v, b);
}

/* The state at AT (TSTIME_NONE: now, the open version) of a version V. */
static enum hist_state
entity_version_state(json_t *v, tstime_t at, tstime_t last_ok)
{
	struct hist_bounds b;

	entity_bounds_from_json(v, &b);
	if (at == TSTIME_NONE)
		return b.to_lo == TSTIME_NONE && b.to_hi == TSTIME_NONE ? HIST_HELD : HIST_NO;
	return hist_state_cov(&b, at, last_ok, 1);
}

/* The version of HISTORY (one user's {id, versions}) current at AT, held before maybe; NULL. */
static json_t *
entity_user_version_at(json_t *history, tstime_t at, tstime_t last_ok)
{
	json_t *v, *best = NULL;
	size_t i;

	json_array_foreach(json_object_get(history, "versions"), i, v)
	{
		enum hist_state s = entity_version_state(v, at, last_ok);

		if (s == HIST_HELD || (s == HIST_MAYBE && best == NULL))
			best = v;
	}
	return best;
}

int
entity_user_get(struct store *st, const char *tailnet, const char *query, tstime_t at, int history,
                json_t **out, char **cause)
{
	struct store_txn *txn;
	struct hist_endpoint ep;
	json_t *users = NULL, *devs = NULL, *keys = NULL, *h, *cands, *user = NULL, *owned, *made;
	json_t *d, *v, *k;
	const char *id = NULL, *login;
	size_t i, j;
	int rc = HIST_ERR;
	char when[TSTIME_STRLEN];

	if (store_read_begin(st, &txn, cause) == -1)
		return HIST_ERR;
	if (hist_ep_read(txn, tailnet, endpoints[ENDPOINT_users].name, &ep, cause) == -1) {
		store_read_end(txn);
		return HIST_ERR;
	}
	if (entity_user_histories_in(txn, tailnet, TSTIME_NONE, &users, cause) != HIST_OK ||
	    hist_device_histories_in(txn, tailnet, TSTIME_NONE, &devs, cause) != HIST_OK ||
	    entity_keys_list_in(txn, tailnet, TSTIME_NONE, &keys, cause) != HIST_OK)
		goto out;
	/* By id, else by login as of AT: the user whose version then bore it. */
	cands = json_array();
	json_array_foreach(users, i, h)
	{
		json_t *cur = entity_user_version_at(h, at, ep.last_ok);
		const char *l =
		    json_string_value(json_object_get(json_object_get(cur, "user"), "loginName"));

		if (strcmp(json_string_value(json_object_get(h, "id")), query) == 0) {
			json_array_clear(cands);
			json_array_append(cands, h);
			break;
		}
		if (l != NULL && strcasecmp(l, query) == 0)
			json_array_append(cands, h);
	}
	if (json_array_size(cands) == 0) {
		/* Nobody bore it then: whoever ever did, if one user did. */
		json_array_foreach(users, i, h)
		{
			json_array_foreach(json_object_get(h, "versions"), j, v)
			{
				login = json_string_value(
				    json_object_get(json_object_get(v, "user"), "loginName"));
				if (login != NULL && strcasecmp(login, query) == 0) {
					json_array_append(cands, h);
					break;
				}
			}
		}
	}
	if (at != TSTIME_NONE)
		tstime_format(at, when, sizeof(when));
	else
		snprintf(when, sizeof(when), "now");
	if (json_array_size(cands) != 1) {
		rc = json_array_size(cands) == 0 ? HIST_NOTFOUND : HIST_AMBIGUOUS;
		if (rc == HIST_NOTFOUND)
			*cause = xasprintf("no user matches \"%s\" in tailnet %s", query, tailnet);
		else {
			json_t *list = json_array();

			json_array_foreach(cands, i, h)
			{
				json_t *cur = entity_user_version_at(h, at, ep.last_ok);

				json_array_append_new(
				    list,
				    json_pack(
				        "{s:O, s:O?, s:s}", "id", json_object_get(h, "id"), "name",
				        json_object_get(json_object_get(cur, "user"), "loginName"),
				        "state", cur != NULL ? "held" : "none"));
			}
			*cause =
			    xasprintf("\"%s\" may mean %zu users of tailnet %s at %s: ask by id",
			              query, json_array_size(cands), tailnet, when);
			*out = json_pack("{s:o}", "candidates", list);
		}
		json_decref(cands);
		goto out;
	}
	h = json_array_get(cands, 0);
	id = json_string_value(json_object_get(h, "id"));
	user = entity_user_version_at(h, at, ep.last_ok);
	/* Every login the user had: its devices are those owned under any of them. */
	owned = json_array();
	json_array_foreach(devs, i, d)
	{
		json_array_foreach(json_object_get(d, "versions"), j, v)
		{
			const char *owner = json_string_value(
			    json_object_get(json_object_get(v, "device"), "user"));
			int mine = 0;
			size_t n;
			json_t *uv;

			json_array_foreach(json_object_get(h, "versions"), n, uv)
			{
				login = json_string_value(
				    json_object_get(json_object_get(uv, "user"), "loginName"));
				mine |=
				    owner != NULL && login != NULL && strcasecmp(owner, login) == 0;
			}
			if (!mine)
				continue;
			json_t *row =
			    json_pack("{s:O, s:O?, s:O?}", "nodeId", json_object_get(d, "nodeId"),
			              "name", json_object_get(json_object_get(v, "device"), "name"),
			              "deleted", json_object_get(d, "deleted"));
			static const char *const b[4] = {"from_lo", "from_hi", "to_lo", "to_hi"};

			for (int x = 0; x < 4; x++)
				json_object_set(row, b[x], json_object_get(v, b[x]) ?: json_null());
			json_array_append_new(owned, row);
		}
	}
	made = json_array();
	json_array_foreach(json_object_get(keys, "keys"), i, k)
	{
		const char *uid =
		    json_string_value(json_object_get(json_object_get(k, "key"), "userId"));

		if (uid != NULL && strcmp(uid, id) == 0)
			json_array_append(made, k);
	}
	*out = json_pack("{s:s, s:s, s:o, s:O?, s:o, s:o}", "tailnet", tailnet, "id", id, "at",
	                 tstime_json(at), "current", user, "devices", owned, "keys", made);
	if (history)
		json_object_set(*out, "versions", json_object_get(h, "versions"));
	json_decref(cands);
	rc = HIST_OK;
out:
	json_decref(users);
	json_decref(devs);
	json_decref(keys);
	hist_endpoint_free(&ep);
	store_read_end(txn);
	return rc;
}
