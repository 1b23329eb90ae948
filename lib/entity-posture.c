/* entity-posture.c: devices' posture attributes (GET /device/{id}/attributes) as a versioned part
 * of each device: the plan, the shape check, the record, its events and its history. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "entity-int.h"
#include "log.h"
#include "norm.h"

static int entity_posture_events(struct store_txn *, struct entity_apply *, struct entity_change *,
                                 char **);

/* A record's events are the device's: kind "device", id its nodeId. A posture that appears or
 * ends goes with its device (device.created, device.deleted) and fires nothing of its own. */
static const struct entity_kind entity_posture = {
    .ep = ENDPOINT_posture,
    .name = "device",
    .list = "posture",
    .changed = EVENT_T_device_posture_changed,
    .events = entity_posture_events,
};

int
entity_posture_plan_answer(struct store *st, const char *tailnet, const struct endpoint_answer *ans,
                           json_t **ids, char **cause)
{
	struct store_txn *txn;
	struct store_cursor *cur;
	struct store_key prefix;
	struct store_val key, val;
	int rc;

	(void)ans;
	*ids = NULL;
	if (store_read_begin(st, &txn, cause) == -1)
		return -1;
	if (store_cursor_open(txn, STORE_CUR, &cur, cause) == -1) {
		store_read_end(txn);
		return -1;
	}
	/* Every device the history holds as current: one request each. */
	*ids = json_array();
	hist_key_kind(&prefix, tailnet, endpoints[ENDPOINT_devices].kind, NULL);
	for (rc = store_cursor_seek(cur, &prefix, &prefix, &key, &val); rc == 0;
	     rc = store_cursor_step(cur, 1, &key, &val)) {
		const char *id = (const char *)key.data + prefix.len;

		if (key.len <= prefix.len + 1 || key.len - prefix.len > NORM_MAX_ID + 1 ||
		    ((const char *)key.data)[key.len - 1] != '\0')
			continue;
		json_array_append_new(*ids, json_string(id));
	}
	store_cursor_close(cur);
	store_read_end(txn);
	return 0;
}

/* The record of one answer (BODY, borrowed) for device ID: its attributes by name, and
 * "expiries" when the answer has any; a new reference, or NULL and *cause when the answer is
 * not of the API's shape. */
json_t *
entity_posture_record(json_t *body, const char *id, char **cause)
{
	json_t *attrs = json_object_get(body, "attributes"),
	       *exp = json_object_get(body, "expiries");
	json_t *rec, *v;
	const char *k;

	if (!json_is_object(body)) {
		*cause = xasprintf("device/%s/attributes: the answer is not an object", id);
		return NULL;
	}
	/* A Go nil map marshals as null: no attributes. */
	if (attrs == NULL || (!json_is_object(attrs) && !json_is_null(attrs))) {
		*cause = xasprintf("device/%s/attributes: %s \"attributes\" object", id,
		                   attrs == NULL ? "no" : "a bad");
		return NULL;
	}
	if (exp != NULL && !json_is_object(exp) && !json_is_null(exp)) {
		*cause = xasprintf("device/%s/attributes: \"expiries\" is not an object", id);
		return NULL;
	}
	rec = json_object();
	json_object_foreach(attrs, k, v)
	{
		/* "expiries" is no attribute name (they are namespace:name): it would collide. */
		if ((!json_is_string(v) && !json_is_number(v) && !json_is_boolean(v)) ||
		    strcmp(k, "expiries") == 0 || *k == '\0') {
			*cause = xasprintf("device/%s/attributes: attribute \"%.64s\" is not a "
			                   "string, number or boolean",
			                   id, k);
			json_decref(rec);
			return NULL;
		}
		json_object_set(rec, k, v);
	}
	json_object_foreach(exp, k, v)
	{
		if (!json_is_string(v)) {
			*cause = xasprintf("device/%s/attributes: the expiry of \"%.64s\" is not a "
			                   "time",
			                   id, k);
			json_decref(rec);
			return NULL;
		}
	}
	if (json_object_size(exp) > 0)
		json_object_set(rec, "expiries", exp);
	return rec;
}

int
entity_posture_answer(struct store *st, const char *tailnet, tstime_t t,
                      const struct endpoint_answer *ans, const struct hist_policy *pol,
                      struct hist_poll_result *res, char **cause)
{
	size_t n = json_array_size(ans->fetched), i;
	struct entity_item *items;
	struct entity_apply a = {0};

	/* Without the scope every device's answer is a 403: nothing is known, nothing recorded. */
	if (json_array_size(ans->denied) > 0) {
		*cause = xasprintf("device/%s/attributes: HTTP 403 (the credential lacks the scope "
		                   "%s)",
		                   json_string_value(json_array_get(ans->denied, 0)),
		                   endpoints[ENDPOINT_posture].scope);
		return -1;
	}
	if (json_array_size(ans->fetched_ids) != n) {
		*cause = xstrdup("the answers and the devices asked do not pair up");
		return -1;
	}
	items = xcalloc(n ? n : 1, sizeof(*items));
	for (i = 0; i < n; i++) {
		const char *id = json_string_value(json_array_get(ans->fetched_ids, i));
		json_t *rec =
		    id != NULL ? entity_posture_record(json_array_get(ans->fetched, i), id, cause)
		               : NULL;

		if (rec == NULL) {
			if (id == NULL)
				*cause = xstrdup("a device asked has no id");
			entity_items_free(items, i);
			return -1;
		}
		entity_item_set(&items[i], id, rec, NULL);
		items[i].order = i;
		json_decref(rec);
	}
	/* A.ans stays NULL: every record missing from the answers is gone with its device (it
	 * answered 404, or the history no longer holds it as current). */
	return entity_apply(st, &entity_posture, tailnet, t, items, n, pol, res, &a, cause);
}

/* The members of OBJ that CHANGED names; a new reference. */
static json_t *
entity_posture_pick(json_t *obj, json_t *changed)
{
	json_t *out = json_object(), *v;
	size_t i;

	json_array_foreach(changed, i, v)
	{
		json_t *m = json_object_get(obj, json_string_value(v));

		if (m != NULL)
			json_object_set(out, json_string_value(v), m);
	}
	return out;
}

static int
entity_posture_events(struct store_txn *txn, struct entity_apply *a, struct entity_change *c,
                      char **cause)
{
	json_t *old, *new, *changed, *b, *f, *dev;
	int rc;

	if (c->action != HIST_A_CHANGE)
		return 0;
	old = json_loads(c->old_stable, 0, NULL);
	new = json_loads(c->it->stable, 0, NULL);
	changed = hist_changed_fields(old, new);
	b = entity_posture_pick(old, changed);
	f = entity_posture_pick(new, changed);
	dev = entity_cur_get(txn, a->tailnet, endpoints[ENDPOINT_devices].kind, c->id, NULL);
	rc = entity_emit(txn, a, a->k->changed, c->id,
	                 json_string_value(json_object_get(dev, "name")), b, f, changed, NULL,
	                 cause);
	json_decref(dev);
	json_decref(b);
	json_decref(f);
	json_decref(changed);
	json_decref(old);
	json_decref(new);
	return rc;
}

void
entity_posture_device_in(struct store_txn *txn, const char *tailnet, const char *id, tstime_t at,
                         int history, json_t *res)
{
	uint8_t kind = endpoints[ENDPOINT_posture].kind;
	struct store_cursor *cur;
	struct store_key prefix;
	struct store_val key, val;
	struct hist_endpoint ep;
	json_t *list = json_array(), *prev = NULL, *now = NULL;
	char *cause = NULL;
	int rc, covered = 1;

	/* Never polled: nothing to say, not even "none". */
	if (hist_ep_read(txn, tailnet, endpoints[ENDPOINT_posture].name, &ep, &cause) == -1 ||
	    ep.last_ok == TSTIME_NONE) {
		free(cause);
		hist_endpoint_free(&ep);
		json_decref(list);
		return;
	}
	if (at != TSTIME_NONE) {
		char *reason = NULL;

		covered = hist_covered(txn, tailnet, endpoints[ENDPOINT_posture].name, at, &reason);
		free(reason);
	}
	hist_key_kind(&prefix, tailnet, kind, id);
	if (store_cursor_open(txn, STORE_VER, &cur, &cause) == -1) {
		free(cause);
		hist_endpoint_free(&ep);
		json_decref(list);
		return;
	}
	for (rc = store_cursor_seek(cur, &prefix, &prefix, &key, &val); rc == 0;
	     rc = store_cursor_step(cur, 1, &key, &val)) {
		struct hist_bounds b;
		json_t *p, *v;

		if (key.len != prefix.len + 8 || val.len < HIST_BOUNDS_LEN)
			continue;
		hist_bounds_get(val.data, &b);
		p = json_loadb((const char *)val.data + HIST_BOUNDS_LEN, val.len - HIST_BOUNDS_LEN,
		               0, NULL);
		if (p == NULL)
			continue;
		v = json_object();
		hist_bounds_json(v, &b);
		if (at != TSTIME_NONE) {
			enum hist_state s = hist_state_cov(&b, at, ep.last_ok, covered);

			json_object_set_new(v, "state", json_string(hist_state_names[s]));
			if (s != HIST_NO && (now == NULL || s == HIST_HELD)) {
				json_decref(now);
				now = json_incref(v);
			}
		} else if (b.to_hi == TSTIME_NONE) {
			json_decref(now);
			now = json_incref(v);
		}
		json_object_set_new(v, "changed",
		                    prev ? hist_changed_fields(prev, p) : json_array());
		/* The record keeps the expiries among the attributes; an answer shows them apart,
		 * as the API does. */
		json_t *attrs = json_copy(p);

		json_object_del(attrs, "expiries");
		json_object_set_new(v, "attributes", attrs);
		json_object_set_new(v, "expiries",
		                    json_object_get(p, "expiries") != NULL
		                        ? json_incref(json_object_get(p, "expiries"))
		                        : json_object());
		json_decref(prev);
		prev = p;
		json_array_append_new(list, v);
	}
	json_decref(prev);
	store_cursor_close(cur);
	hist_endpoint_free(&ep);
	json_object_set_new(res, "posture", now != NULL ? now : json_null());
	if (history)
		json_object_set_new(res, "posture_versions", list);
	else
		json_decref(list);
}
