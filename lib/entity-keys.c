/* entity-keys.c: auth keys, API tokens, OAuth clients: the plan, the apply, expiry, keys.list. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "entity-int.h"
#include "log.h"
#include "norm.h"

static int entity_key_events(struct store_txn *, struct entity_apply *, struct entity_change *,
                             char **);

static int entity_key_expiry(struct store_txn *, struct entity_apply *, int, char **);
static int entity_key_quiet(json_t *, const struct hist_policy *);

static const struct entity_kind entity_keys = {
    .ep = ENDPOINT_keys,
    .name = "key",
    .list = "keys",
    .keep_missing = 1,
    .label = "description",
    .created = EVENT_T_key_created,
    .deleted = EVENT_T_key_deleted,
    .changed = EVENT_T_key_updated,
    .events = entity_key_events,
    .after = entity_key_expiry,
};

/* A key's final state makes its own event: revoked, expired, deleted. */
static const struct {
	const char *state;
	enum event_type_id type;
} entity_key_states[] = {
    {"revoked", EVENT_T_key_revoked}, {"expired", EVENT_T_key_expired},
    {"deleted", EVENT_T_key_deleted}, {"gone", EVENT_T_key_deleted},
    {"invalid", EVENT_T_key_deleted},
};

static int
entity_key_events(struct store_txn *txn, struct entity_apply *a, struct entity_change *c,
                  char **cause)
{
	static const char *const rest[] = {"state", "invalid", "revoked", "updated", NULL};
	json_t *old = c->old_stable ? json_loads(c->old_stable, 0, NULL) : NULL;
	json_t *new = c->it ? json_loads(c->it->stable, 0, NULL) : NULL, *changed;
	const char *ostate = json_string_value(json_object_get(old, "state"));
	const char *nstate = json_string_value(json_object_get(new, "state"));
	enum event_type_id type = EVENT_T__COUNT; /* none */
	int rc = 0;

	/* An OAuth access token is created, expires and vanishes every hour. */
	if (entity_key_quiet(new != NULL ? new : old, a->pol) ||
	    (old != NULL && entity_key_quiet(old, a->pol)))
		goto out;
	if (c->action != HIST_A_CHANGE) {
		rc = entity_whole_events(txn, a, c, old, new, cause);
		goto out;
	}
	changed = hist_changed_fields(old, new);
	if (ostate != NULL && nstate != NULL && strcmp(ostate, nstate) != 0)
		for (size_t i = 0; i < sizeof(entity_key_states) / sizeof(entity_key_states[0]);
		     i++)
			if (strcmp(nstate, entity_key_states[i].state) == 0)
				type = entity_key_states[i].type;
	if (type != EVENT_T__COUNT) {
		/* The whole key: who made it and what it could do is what a defender asks next. */
		rc = entity_emit(txn, a, type, c->id,
		                 json_string_value(json_object_get(new, a->k->label)), old, new,
		                 changed, NULL, cause);
	} else
		/* Back to active (never seen from the API, but possible): say so, state included.
		 */
		rc = entity_emit_fields(
		    txn, a, c, a->k->changed, old, new, changed, NULL,
		    ostate != NULL && nstate != NULL && strcmp(ostate, nstate) != 0 ? NULL : rest,
		    NULL, cause);
	json_decref(changed);
out:
	json_decref(old);
	json_decref(new);
	return rc;
}

/* Active keys crossing a warning threshold: once per key (and expiry time) and threshold, at the
 * tightest one crossed; at the baseline the marks are set silently. */
static int
entity_key_expiry(struct store_txn *txn, struct entity_apply *a, int baseline, char **cause)
{
	const struct hist_policy *pol = a->pol;

	if (pol->nexpiry_warn == 0)
		return 0;
	for (size_t i = 0; i < a->nitems; i++) {
		json_t *key = json_loads(a->items[i].stable, 0, NULL), *data;
		const char *state = json_string_value(json_object_get(key, "state"));
		tstime_t exp = entity_time(key, "expires");
		char what[96], dur[32], expbuf[TSTIME_STRLEN];
		size_t w, tight = pol->nexpiry_warn;
		int64_t left = exp == TSTIME_NONE ? 0 : exp - a->t;
		int rc = 0;

		if (state == NULL || strcmp(state, "active") != 0 || exp == TSTIME_NONE ||
		    left <= 0 || left > pol->expiry_warn[0] || entity_key_quiet(key, pol)) {
			json_decref(key);
			continue;
		}
		for (w = 0; w < pol->nexpiry_warn; w++)
			if (left <= pol->expiry_warn[w])
				tight = w;
		for (w = 0; w <= tight && rc >= 0; w++) {
			snprintf(what, sizeof(what), "expiring/%lld/%lld", (long long)exp,
			         (long long)pol->expiry_warn[w]);
			rc = hist_mark(txn, a->tailnet, ENTITY_ROW(a->k)->kind, a->items[i].id,
			               what, a->t, cause);
		}
		/* rc is the tightest threshold's mark: 1 when it had fired already. */
		if (rc == 0 && !baseline) {
			tstime_format(exp, expbuf, sizeof(expbuf));
			tstime_format_duration(pol->expiry_warn[tight], dur, sizeof(dur));
			data = json_pack("{s:s, s:s, s:I}", "expires", expbuf, "threshold", dur,
			                 "remaining_s", (json_int_t)(left / TSTIME_SEC));
			rc = entity_emit(txn, a, EVENT_T_key_expiring, a->items[i].id,
			                 json_string_value(json_object_get(key, "description")),
			                 NULL, NULL, NULL, data, cause);
			json_decref(data);
		}
		json_decref(key);
		if (rc == -1)
			return -1;
	}
	return 0;
}

/* The lifetime of the access tokens OAuth clients mint (kb/1215: one hour, not configurable),
 * and a little slack for how the API rounds created and expires. */
#define ENTITY_OAUTH_TOKEN_LIFE ((3600 + 60) * TSTIME_SEC)

/* Whether KEY is an access token minted by an OAuth client: "own" (one of tsinvd's, by id, or
 * recorded as such), "other", or NULL. The API's key type "api" covers them and user tokens;
 * they have no user and live an hour (an inference: no capture of such a list was found). */
static const char *
entity_key_token(json_t *key, json_t *known, json_t *own)
{
	const char *type = json_string_value(json_object_get(key, "keyType"));
	const char *user = json_string_value(json_object_get(key, "userId"));
	const char *id = json_string_value(json_object_get(key, "id"));
	tstime_t created = entity_time(key, "created"), expires = entity_time(key, "expires");
	json_t *v;
	size_t i;

	if (strcmp(json_string_value(json_object_get(known, "oauthToken")) ?: "", "own") == 0)
		return "own";
	json_array_foreach(own, i, v) if (id != NULL &&
	                                  strcmp(id, json_string_value(v) ?: "") == 0) return "own";
	if (type == NULL || strcmp(type, "api") != 0 || (user != NULL && *user != '\0') ||
	    created == TSTIME_NONE || expires == TSTIME_NONE ||
	    expires - created > ENTITY_OAUTH_TOKEN_LIFE)
		return NULL;
	return "other";
}

/* Marks the OAuth access tokens among ITEMS ("oauthToken": "own" or "other"), so that their
 * hourly churn can be kept out of the events and the default key list. */
static void
entity_keys_mark_tokens(struct store_txn *txn, const char *tailnet, struct entity_item *items,
                        size_t n, const struct hist_policy *pol)
{
	for (size_t i = 0; i < n; i++) {
		json_t *key = json_loadb(items[i].stable, items[i].stable_len, 0, NULL);
		json_t *known =
		    entity_cur_get(txn, tailnet, endpoints[ENDPOINT_keys].kind, items[i].id, NULL);
		const char *tok = entity_key_token(key, known, pol->own_tokens);

		if (tok != NULL && key != NULL) {
			char id[ENTITY_ID_MAX + 1];

			snprintf(id, sizeof(id), "%s", items[i].id);
			json_object_set_new(key, "oauthToken", json_string(tok));
			free(items[i].stable);
			free(items[i].vol);
			entity_item_set(&items[i], id, key, NULL);
		}
		json_decref(known);
		json_decref(key);
	}
}

/* Whether a key's changes make events: never for tsinvd's own tokens, for other OAuth tokens
 * only when asked (oauth_token_events). */
static int
entity_key_quiet(json_t *key, const struct hist_policy *pol)
{
	const char *tok = json_string_value(json_object_get(key, "oauthToken"));

	return tok != NULL && (strcmp(tok, "own") == 0 || !pol->oauth_token_events);
}

/* A key's state from what the API shows of it at T. */
static const char *
entity_key_state(json_t *key, tstime_t t)
{
	tstime_t exp = entity_time(key, "expires");

	if (entity_time(key, "revoked") != TSTIME_NONE)
		return "revoked";
	if (exp != TSTIME_NONE && exp <= t)
		return "expired";
	if (json_is_true(json_object_get(key, "invalid")))
		return "invalid";
	return "active";
}

/* A key as kept: the API's object without its secret, plus its state. */
static void
entity_key_item(struct entity_item *it, const char *id, json_t *key, const char *state)
{
	json_t *k = json_deep_copy(key);

	json_object_del(k, "key");
	json_object_set_new(k, "state", json_string(state));
	entity_sort_lists(k);
	entity_item_set(it, id, k, NULL);
	json_decref(k);
}

/* Does a list entry carry the key's details, or only its id (the older list shape)? */
static int
entity_key_detailed(json_t *key)
{
	return json_object_get(key, "keyType") != NULL || json_object_get(key, "created") != NULL;
}

/* The keys list in *list (borrowed; NULL for null, as a Go server marshals an empty list):
 * 0, or -1 when the answer has none. */
static int
entity_keys_of(json_t *body, json_t **list, char **cause)
{
	*list = json_is_object(body) ? json_object_get(body, "keys") : NULL;
	if (json_is_null(*list)) {
		*list = NULL;
		return 0;
	}
	if (!json_is_array(*list)) {
		*cause = xasprintf("the answer has no \"keys\" list");
		return -1;
	}
	return 0;
}

int
entity_keys_plan(struct store *st, const char *tailnet, json_t *body, json_t **ids, char **cause)
{
	json_t *list, *v, *listed;
	struct store_txn *txn;
	struct store_cursor *cur;
	struct store_key prefix;
	struct store_val key, val;
	size_t i;
	int rc;

	if (entity_keys_of(body, &list, cause) == -1)
		return -1;
	if (store_read_begin(st, &txn, cause) == -1)
		return -1;
	*ids = json_array();
	listed = json_object();
	json_array_foreach(list, i, v)
	{
		const char *id = entity_id(v, "id", "key", i, cause);
		json_t *known;

		if (id == NULL) {
			json_decref(listed);
			json_decref(*ids);
			*ids = NULL;
			store_read_end(txn);
			return -1;
		}
		json_object_set_new(listed, id, json_true());
		if (entity_key_detailed(v))
			continue;
		known = entity_cur_get(txn, tailnet, endpoints[ENDPOINT_keys].kind, id, NULL);
		if (known == NULL ||
		    strcmp(json_string_value(json_object_get(known, "state")) ?: "", "active") != 0)
			json_array_append_new(*ids, json_string(id));
		json_decref(known);
	}
	/* Keys recorded active that the list no longer shows: fetched once more to see why. */
	hist_key_kind(&prefix, tailnet, endpoints[ENDPOINT_keys].kind, NULL);
	if (store_cursor_open(txn, STORE_CUR, &cur, cause) == -1) {
		json_decref(listed);
		json_decref(*ids);
		*ids = NULL;
		store_read_end(txn);
		return -1;
	}
	for (rc = store_cursor_seek(cur, &prefix, &prefix, &key, &val); rc == 0;
	     rc = store_cursor_step(cur, 1, &key, &val)) {
		const char *id = (const char *)key.data + prefix.len;
		struct hist_cur cr;

		if (key.len <= prefix.len || ((const char *)key.data)[key.len - 1] != '\0' ||
		    hist_cur_decode(&val, &cr) == -1 || json_object_get(listed, id) != NULL)
			continue;
		if (memmem(cr.stable, cr.stable_len, "\"state\":\"active\"", 16) != NULL)
			json_array_append_new(*ids, json_string(id));
	}
	store_cursor_close(cur);
	store_read_end(txn);
	json_decref(listed);
	return 0;
}

/* Is key ID among the keys fetched one by one? */
static int
entity_fetched(json_t *fetched, const char *id)
{
	json_t *v;
	size_t i;

	json_array_foreach(fetched, i, v)
	{
		const char *fid = json_string_value(json_object_get(v, "id"));

		if (fid != NULL && strcmp(fid, id) == 0)
			return 1;
	}
	return 0;
}

int
entity_keys_apply(struct store *st, const char *tailnet, tstime_t t, json_t *body, json_t *fetched,
                  json_t *gone, const struct hist_policy *pol, struct hist_poll_result *res,
                  char **cause)
{
	return entity_keys_apply_denied(st, tailnet, t, body, fetched, gone, NULL, pol, res, cause);
}

int
entity_keys_apply_denied(struct store *st, const char *tailnet, tstime_t t, json_t *body,
                         json_t *fetched, json_t *gone, json_t *denied,
                         const struct hist_policy *pol, struct hist_poll_result *res, char **cause)
{
	json_t *list, *v;
	struct entity_apply a = {0};
	struct entity_item *items;
	struct store_txn *txn;
	size_t i, n = 0, cap;

	if (entity_keys_of(body, &list, cause) == -1)
		return -1;
	cap = json_array_size(list) + json_array_size(fetched) + json_array_size(gone) +
	      json_array_size(denied) + 1;
	items = xcalloc(cap, sizeof(*items));
	if (store_read_begin(st, &txn, cause) == -1)
		goto fail;
	/* Fetched keys first: a per-key answer is newer than the list and wins over it. A
	 * revoked key's answer may be short (id, times, invalid): what it leaves out is laid over
	 * what we had, so that the creator, type and capabilities stay known. */
	json_array_foreach(fetched, i, v)
	{
		const char *id = entity_id(v, "id", "fetched key", i, cause);
		json_t *key;

		if (id == NULL || norm_members(v, norm_key_members, "keys", "fetched key", i, "id",
		                               cause) == -1) {
			store_read_end(txn);
			goto fail;
		}
		if ((key = entity_cur_get(txn, tailnet, endpoints[ENDPOINT_keys].kind, id, NULL)) ==
		    NULL)
			key = json_object();
		json_object_update(key, v);
		entity_key_item(&items[n], id, key, entity_key_state(key, t));
		items[n].order = n;
		n++;
		json_decref(key);
	}
	json_array_foreach(list, i, v)
	{
		const char *id = entity_id(v, "id", "key", i, cause);

		if (id == NULL ||
		    (entity_key_detailed(v) &&
		     norm_members(v, norm_key_members, "keys", "key", i, "id", cause) == -1)) {
			store_read_end(txn);
			goto fail;
		}
		/* An entry without details is known already (the plan fetched the others): it
		 * stays as recorded, but it is in the answer, for the counts and the expiry
		 * warnings. */
		if (!entity_key_detailed(v)) {
			json_t *known =
			    entity_cur_get(txn, tailnet, endpoints[ENDPOINT_keys].kind, id, NULL);

			/* Its state moves on with time even when its details do not (an expiry
			 * passed while the API still lists it). */
			if (known != NULL && !entity_fetched(fetched, id)) {
				entity_key_item(&items[n], id, known, entity_key_state(known, t));
				items[n].order = n;
				n++;
			}
			json_decref(known);
			continue;
		}
		entity_key_item(&items[n], id, v, entity_key_state(v, t));
		items[n].order = n;
		n++;
	}
	/* Keys the API no longer knows at all: the last record we have, with its end. */
	if (json_array_size(gone) > 0) {
		json_array_foreach(gone, i, v)
		{
			json_t *key = entity_cur_get(txn, tailnet, endpoints[ENDPOINT_keys].kind,
			                             json_string_value(v) ?: "", NULL);
			tstime_t exp = entity_time(key, "expires");

			if (key == NULL)
				continue; /* listed without details and never seen: nothing to keep
				           */
			/* A 404 does not say whether it was revoked or deleted. */
			entity_key_item(&items[n], json_string_value(v), key,
			                exp != TSTIME_NONE && exp <= t ? "expired" : "gone");
			items[n].order = n;
			n++;
			json_decref(key);
		}
	}
	/* Keys this credential may not read by id (403): their end is unknown. Recorded once, and
	 * never planned again: only an "active" key is fetched. */
	json_array_foreach(denied, i, v)
	{
		json_t *key = entity_cur_get(txn, tailnet, endpoints[ENDPOINT_keys].kind,
		                             json_string_value(v) ?: "", NULL);
		tstime_t exp = entity_time(key, "expires");

		if (key == NULL)
			continue;
		if (exp == TSTIME_NONE || exp > t)
			json_object_set_new(key, "stateReason",
			                    json_string("final state unknown (not permitted)"));
		entity_key_item(&items[n], json_string_value(v), key,
		                exp != TSTIME_NONE && exp <= t ? "expired" : "unknown");
		items[n].order = n;
		n++;
		json_decref(key);
	}
	entity_keys_mark_tokens(txn, tailnet, items, n, pol);
	store_read_end(txn);
	return entity_apply(st, &entity_keys, tailnet, t, items, n, pol, res, &a, cause);
fail:
	entity_items_free(items, n);
	return -1;
}

int
entity_keys_plan_answer(struct store *st, const char *tailnet, const struct endpoint_answer *ans,
                        json_t **ids, char **cause)
{
	return entity_keys_plan(st, tailnet, json_array_get(ans->json, 0), ids, cause);
}

int
entity_keys_answer(struct store *st, const char *tailnet, tstime_t t,
                   const struct endpoint_answer *ans, const struct hist_policy *pol,
                   struct hist_poll_result *res, char **cause)
{
	return entity_keys_apply_denied(st, tailnet, t, json_array_get(ans->json, 0), ans->fetched,
	                                ans->gone, ans->denied, pol, res, cause);
}

/* The login name of user ID: as now, else as last recorded; NULL when never seen. */
static json_t *
entity_login(struct store_txn *txn, const char *tailnet, const char *id)
{
	struct store_cursor *cur;
	struct store_key prefix;
	struct store_val key, val;
	json_t *user = entity_cur_get(txn, tailnet, endpoints[ENDPOINT_users].kind, id, NULL),
	       *login = NULL;
	char *cause = NULL;

	if (user == NULL) {
		hist_key_kind(&prefix, tailnet, endpoints[ENDPOINT_users].kind, id);
		if (prefix.bad || store_cursor_open(txn, STORE_VER, &cur, &cause) == -1) {
			free(cause);
			return NULL;
		}
		if (store_cursor_last(cur, &prefix, &key, &val) == 0 && key.len == prefix.len + 8 &&
		    val.len > HIST_BOUNDS_LEN)
			user = json_loadb((const char *)val.data + HIST_BOUNDS_LEN,
			                  val.len - HIST_BOUNDS_LEN, 0, NULL);
		store_cursor_close(cur);
	}
	if (json_is_string(json_object_get(user, "loginName")))
		login = json_incref(json_object_get(user, "loginName"));
	json_decref(user);
	return login;
}

int
entity_keys_list(struct store *st, const char *tailnet, tstime_t at, int64_t expiring, json_t **out,
                 char **cause)
{
	return entity_keys_list_all(st, tailnet, at, expiring, 1, out, cause);
}

static int
entity_keys_query(struct store *st, struct store_txn *txn, const char *tailnet, tstime_t at,
                  int64_t expiring, int all, json_t **out, char **cause)
{
	struct entity_query q;
	json_t *rows, *row, *kept;
	tstime_t as_of;
	size_t i, hidden = 0;

	if (entity_query_begin(st, txn, tailnet, &entity_keys, at, &q, out, cause) == -1)
		return HIST_ERR;
	as_of = at == TSTIME_NONE ? q.ep.last_ok : at;
	rows = entity_rows(&q, tailnet, &entity_keys);
	kept = json_array();
	json_array_foreach(rows, i, row)
	{
		json_t *key = json_object_get(row, "key");
		const char *uid = json_string_value(json_object_get(key, "userId"));
		const char *state = json_string_value(json_object_get(key, "state"));
		tstime_t exp = entity_time(key, "expires");

		if (expiring >= 0 &&
		    (state == NULL || strcmp(state, "active") != 0 || exp == TSTIME_NONE ||
		     as_of == TSTIME_NONE || exp - as_of > expiring))
			continue;
		/* OAuth access tokens come and go hourly: listed only when all keys are asked for.
		 */
		if (!all && json_object_get(key, "oauthToken") != NULL) {
			hidden++;
			continue;
		}
		json_object_set_new(row, "creator",
		                    uid != NULL && *uid != '\0'
		                        ? entity_login(q.txn, tailnet, uid) ?: json_null()
		                        : json_null());
		json_array_append(kept, row);
	}
	json_decref(rows);
	if (expiring >= 0) {
		char dur[32];

		tstime_format_duration(expiring, dur, sizeof(dur));
		json_object_set_new(*out, "expiring_within", json_string(dur));
	}
	json_object_set_new(*out, "keys", kept);
	if (!all)
		json_object_set_new(*out, "oauth_tokens_hidden", json_integer((json_int_t)hidden));
	entity_query_end(&q);
	return HIST_OK;
}

int
entity_keys_list_all(struct store *st, const char *tailnet, tstime_t at, int64_t expiring, int all,
                     json_t **out, char **cause)
{
	return entity_keys_query(st, NULL, tailnet, at, expiring, all, out, cause);
}

int
entity_keys_list_in(struct store_txn *txn, const char *tailnet, tstime_t at, json_t **out,
                    char **cause)
{
	return entity_keys_query(NULL, txn, tailnet, at, -1, 1, out, cause);
}
