/* entity.c: keys, users, webhooks, the policy file, DNS and settings: versions, events, queries. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include <openssl/evp.h>

#include "entity.h"
#include "events.h"
#include "hist-int.h"
#include "hujson.h"
#include "log.h"

#define ENTITY_ID_MAX 128
#define ENTITY_HASH_LEN 32
/* Times before this are the API's zero time ("0001-01-01T00:00:00Z"): no time at all. */
#define ENTITY_TIME_MIN ((tstime_t)86400 * TSTIME_SEC)

/* One entity of an answer, normalised: stable JSON (versioned) and volatile JSON (now only). */
struct entity_item {
	char *id;
	char *stable, *vol; /* compact, keys sorted; vol may be "" */
	size_t stable_len, vol_len;
	size_t order; /* position in the answer: the first of duplicates wins */
};

struct entity_change {
	enum hist_action action;
	struct entity_item *it; /* the new state (NULL for GONE) */
	char *id;
	struct hist_bounds cur; /* the open version's bounds (CHANGE, VOL, GONE) */
	char *old_stable;       /* CHANGE, GONE */
};

struct entity_apply;

/* What differs between the parts: their key byte, endpoint, names, and how they make events. */
struct entity_kind {
	uint8_t kind;
	const char *endpoint;
	const char *name;  /* "key": the events' entity kind, the record's member in answers */
	const char *list;  /* "keys": the list member in answers */
	int keep_missing;  /* missing from an answer is not gone: the record stays (keys) */
	int mass_guard;    /* a poll losing more than mass_delete_percent is held once */
	const char *label; /* the record member that names an entity in events */
	int (*events)(struct store_txn *txn, struct entity_apply *a, struct entity_change *c,
	              char **cause);
	/* Runs after the changes, with every item of the answer: time-driven events. */
	int (*after)(struct store_txn *txn, struct entity_apply *a, int baseline, char **cause);
	/* Runs before the answer is compared: upgrades a record of an older shape in place. */
	int (*before)(struct store_txn *txn, struct entity_apply *a, char **cause);
};

struct entity_apply {
	const struct entity_kind *k;
	const char *tailnet;
	tstime_t t;
	const struct hist_policy *pol;
	struct entity_item *items; /* sorted by id */
	size_t nitems;
	struct hist_poll_result *res;
	struct entity_change *ch;
	size_t nch;
	const char *blob; /* the policy text, stored under its hash when a version uses it */
	size_t blob_len;
	uint8_t hash[ENTITY_HASH_LEN];
};

static int entity_key_events(struct store_txn *, struct entity_apply *, struct entity_change *,
                             char **);
static int entity_key_expiry(struct store_txn *, struct entity_apply *, int, char **);
static int entity_user_events(struct store_txn *, struct entity_apply *, struct entity_change *,
                              char **);
static int entity_doc_events(struct store_txn *, struct entity_apply *, struct entity_change *,
                             char **);
static int entity_dns_upgrade(struct store_txn *, struct entity_apply *, char **);
static int entity_key_quiet(json_t *, const struct hist_policy *);
static json_t *entity_cur_get(struct store_txn *, const char *, uint8_t, const char *,
                              struct hist_cur *);
static int entity_dns_carry(struct store *, const char *, json_t *, char **);

static const struct entity_kind entity_keys = {
    HIST_KIND_KEY,     ENTITY_EP_KEYS,    "key", "keys", 1, 0, "description",
    entity_key_events, entity_key_expiry, NULL};
static const struct entity_kind entity_users = {
    HIST_KIND_USER, ENTITY_EP_USERS,    "user", "users", 0, 1,
    "loginName",    entity_user_events, NULL,   NULL};
static const struct entity_kind entity_webhooks = {
    HIST_KIND_WEBHOOK, ENTITY_EP_WEBHOOKS, "webhook", "webhooks", 0, 1,
    "endpointUrl",     entity_doc_events,  NULL,      NULL};
static const struct entity_kind entity_policy = {
    HIST_KIND_POLICY, ENTITY_EP_POLICY, "policy", NULL, 0, 0, NULL, entity_doc_events, NULL, NULL};
static const struct entity_kind entity_dns = {
    HIST_KIND_DNS, ENTITY_EP_DNS,     "dns", NULL, 0, 0, NULL, entity_doc_events,
    NULL,          entity_dns_upgrade};
static const struct entity_kind entity_settings = {HIST_KIND_SETTINGS,
                                                   ENTITY_EP_SETTINGS,
                                                   "settings",
                                                   NULL,
                                                   0,
                                                   0,
                                                   NULL,
                                                   entity_doc_events,
                                                   NULL,
                                                   NULL};

/* ---- items ---- */

static void
entity_items_free(struct entity_item *items, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(items[i].id);
		free(items[i].stable);
		free(items[i].vol);
	}
	free(items);
}

static int
entity_cmp_str(const void *a, const void *b)
{
	return strcmp(json_string_value(*(json_t *const *)a),
	              json_string_value(*(json_t *const *)b));
}

/* Sorts every list of strings in V, at any depth: the API's order of tags, scopes and
 * subscriptions means nothing, and a reordering must not make a version. */
static void
entity_sort_lists(json_t *v)
{
	const char *key;
	json_t *m;
	size_t i, n;

	if (json_is_object(v)) {
		json_object_foreach(v, key, m) entity_sort_lists(m);
		return;
	}
	if (!json_is_array(v) || (n = json_array_size(v)) < 2)
		return;
	json_t **e = xcalloc(n, sizeof(*e));

	for (i = 0; i < n; i++) {
		e[i] = json_array_get(v, i);
		if (!json_is_string(e[i])) {
			free(e);
			json_array_foreach(v, i, m) entity_sort_lists(m);
			return;
		}
	}
	for (i = 0; i < n; i++)
		json_incref(e[i]);
	qsort(e, n, sizeof(*e), entity_cmp_str);
	json_array_clear(v);
	for (i = 0; i < n; i++)
		json_array_append_new(v, e[i]);
	free(e);
}

/* Fills IT from STABLE and VOL (borrowed; VOL may be NULL). */
static void
entity_item_set(struct entity_item *it, const char *id, json_t *stable, json_t *vol)
{
	it->id = xstrdup(id);
	it->stable = json_dumps(stable, JSON_COMPACT | JSON_SORT_KEYS);
	it->stable_len = strlen(it->stable);
	it->vol = vol != NULL ? json_dumps(vol, JSON_COMPACT | JSON_SORT_KEYS) : xstrdup("");
	it->vol_len = strlen(it->vol);
}

static const char *
entity_id(json_t *obj, const char *member, const char *what, size_t i, char **cause)
{
	const char *id = json_string_value(json_object_get(obj, member));

	if (!json_is_object(obj)) {
		*cause = xasprintf("%s %zu of the answer is not an object", what, i + 1);
		return NULL;
	}
	if (id == NULL || *id == '\0' || strlen(id) > ENTITY_ID_MAX) {
		*cause =
		    xasprintf("%s %zu of the answer has no usable \"%s\"", what, i + 1, member);
		return NULL;
	}
	return id;
}

static int
entity_cmp_item(const void *a, const void *b)
{
	const struct entity_item *x = a, *y = b;
	int c = strcmp(x->id, y->id);

	if (c != 0)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* Sorts the items by id and drops duplicates (the first one listed is kept). */
static void
entity_items_sort(const char *tailnet, const struct entity_kind *k, struct entity_item *items,
                  size_t *n)
{
	size_t i, kept = 0;

	qsort(items, *n, sizeof(*items), entity_cmp_item);
	for (i = 0; i < *n; i++) {
		if (kept > 0 && strcmp(items[i].id, items[kept - 1].id) == 0) {
			log_warnx("%s: %s %s listed twice; keeping the first", tailnet, k->name,
			          items[i].id);
			free(items[i].id);
			free(items[i].stable);
			free(items[i].vol);
			continue;
		}
		items[kept++] = items[i];
	}
	*n = kept;
}

static tstime_t
entity_time(json_t *obj, const char *member)
{
	const char *s = json_string_value(json_object_get(obj, member));
	tstime_t t;

	if (s == NULL || tstime_parse_rfc3339(s, &t) == -1 || t < ENTITY_TIME_MIN)
		return TSTIME_NONE;
	return t;
}

/* ---- the store ---- */

static void
entity_changes_free(struct entity_apply *a)
{
	for (size_t i = 0; i < a->nch; i++) {
		free(a->ch[i].id);
		free(a->ch[i].old_stable);
	}
	free(a->ch);
	a->ch = NULL;
	a->nch = 0;
}

static struct entity_change *
entity_change_add(struct entity_apply *a, enum hist_action act, const char *id,
                  struct entity_item *it)
{
	struct entity_change *c;

	a->ch = xrealloc(a->ch, (a->nch + 1) * sizeof(*a->ch));
	c = &a->ch[a->nch++];
	memset(c, 0, sizeof(*c));
	c->action = act;
	c->it = it;
	c->id = xstrdup(id);
	return c;
}

static void
entity_view(size_t i, void *arg, struct hist_item_view *out)
{
	const struct entity_item *it = &((struct entity_apply *)arg)->items[i];

	*out = (struct hist_item_view){it->id, it->stable, it->vol, it->stable_len, it->vol_len};
}

static void
entity_change(enum hist_action act, const char *id, size_t i, const struct hist_cur *cr, void *arg)
{
	struct entity_apply *a = arg;
	struct entity_change *c;

	/* Missing from the answer is not gone for keys: the record stays as it is. */
	if (act == HIST_A_GONE && a->k->keep_missing)
		return;
	c = entity_change_add(a, act, id, act == HIST_A_GONE ? NULL : &a->items[i]);
	if (cr == NULL)
		return;
	c->cur = cr->b;
	if (act != HIST_A_VOL)
		c->old_stable = hist_cur_stable_dup(cr);
}

/* Merges the sorted answer with the sorted current records into a list of changes. */
static int
entity_classify(struct store_txn *txn, struct entity_apply *a, uint64_t *ncur, char **cause)
{
	return hist_merge(txn, a->tailnet, a->k->kind, a->nitems, entity_view, entity_change, a,
	                  ncur, cause);
}

static int
entity_put_cur(struct store_txn *txn, struct entity_apply *a, const struct entity_item *it,
               const struct hist_bounds *b, char **cause)
{
	struct store_key k;
	size_t len;
	uint8_t *v = hist_cur_encode(b, it->stable, it->stable_len, it->vol, it->vol_len, &len);
	int rc;

	hist_key_kind(&k, a->tailnet, a->k->kind, it->id);
	rc = store_put(txn, STORE_CUR, &k, v, len, cause);
	free(v);
	return rc;
}

static int
entity_apply_change(struct store_txn *txn, struct entity_apply *a, struct entity_change *c,
                    tstime_t last_ok, char **cause)
{
	struct hist_bounds b = {last_ok, a->t, TSTIME_NONE, TSTIME_NONE, 0};
	struct store_key k;

	switch (c->action) {
	case HIST_A_VOL:
		a->res->vol_updates++;
		return entity_put_cur(txn, a, c->it, &c->cur, cause);
	case HIST_A_NEW:
		a->res->created++;
		break;
	case HIST_A_CHANGE:
		a->res->changed++;
		if (hist_version_close(txn, a->tailnet, a->k->kind, c->id, c->cur.from_hi, last_ok,
		                       a->t, cause) == -1)
			return -1;
		break;
	case HIST_A_GONE:
		a->res->deleted++;
		if (hist_version_close(txn, a->tailnet, a->k->kind, c->id, c->cur.from_hi, last_ok,
		                       a->t, cause) == -1)
			return -1;
		hist_key_kind(&k, a->tailnet, a->k->kind, c->id);
		return store_del(txn, STORE_CUR, &k, cause) == -1 ? -1 : 0;
	}
	if (a->blob != NULL) {
		store_key_init(&k);
		store_key_bytes(&k, a->hash, sizeof(a->hash));
		if (store_put(txn, STORE_BLOB, &k, a->blob, a->blob_len, cause) == -1)
			return -1;
	}
	if (hist_version_open(txn, a->tailnet, a->k->kind, c->it->id, &b, c->it->stable,
	                      c->it->stable_len, cause) == -1)
		return -1;
	return entity_put_cur(txn, a, c->it, &b, cause);
}

static int
entity_apply_txn(struct store_txn *txn, void *arg, char **cause)
{
	struct entity_apply *a = arg;
	struct hist_endpoint ep;
	uint64_t ncur = 0;
	size_t gone = 0, i;
	int rc = -1, baseline, hold;

	entity_changes_free(a);
	memset(a->res, 0, sizeof(*a->res));
	if (hist_poll_begin(txn, a->tailnet, a->k->endpoint, &a->t, &ep, cause) == -1)
		return -1;
	a->res->time = a->t;
	a->res->seen = a->nitems;
	if (a->k->before != NULL && a->k->before(txn, a, cause) == -1)
		goto out;
	if (entity_classify(txn, a, &ncur, cause) == -1)
		goto out;
	for (i = 0; i < a->nch; i++)
		gone += a->ch[i].action == HIST_A_GONE;
	/* Held: the endpoint's state is written and committed, nothing else. */
	if (a->k->mass_guard &&
	    (hold = hist_poll_hold(txn, a->tailnet, a->k->endpoint, a->k->list, &ep, gone, ncur,
	                           a->pol, a->res, cause)) != 0) {
		rc = hold == 1 ? 0 : -1;
		goto out;
	}
	/* The first poll of an endpoint is what was there: no events. */
	baseline = ep.last_ok == TSTIME_NONE;
	for (i = 0; i < a->nch; i++) {
		if (entity_apply_change(txn, a, &a->ch[i], ep.last_ok, cause) == -1)
			goto out;
		if (!baseline && a->ch[i].action != HIST_A_VOL &&
		    a->k->events(txn, a, &a->ch[i], cause) == -1)
			goto out;
	}
	if (a->k->after != NULL && a->k->after(txn, a, baseline, cause) == -1)
		goto out;
	rc = hist_poll_end(txn, a->tailnet, a->k->endpoint, &ep, a->t, a->nitems, a->pol, cause);
out:
	hist_endpoint_free(&ep);
	return rc;
}

/* Applies ITEMS (taken over and freed) to the store in one write transaction. */
static int
entity_apply(struct store *st, const struct entity_kind *k, const char *tailnet, tstime_t t,
             struct entity_item *items, size_t n, const struct hist_policy *pol,
             struct hist_poll_result *res, struct entity_apply *a, char **cause)
{
	int rc;

	entity_items_sort(tailnet, k, items, &n);
	a->k = k;
	a->tailnet = tailnet;
	a->t = t;
	a->pol = pol;
	a->items = items;
	a->nitems = n;
	a->res = res;
	rc = store_write(st, entity_apply_txn, a, cause);
	entity_changes_free(a);
	entity_items_free(items, n);
	return rc;
}

/* ---- events ---- */

static int
entity_emit(struct store_txn *txn, struct entity_apply *a, const char *type, const char *id,
            const char *name, json_t *before, json_t *after, json_t *changed, json_t *data,
            char **cause)
{
	struct event_rec ev = {a->t, a->tailnet, type,  a->k->name, id,
	                       name, before,     after, changed,    data};
	uint64_t seq;

	if (event_append(txn, &ev, &seq, cause) == -1)
		return -1;
	a->res->events++;
	return 0;
}

/* The members of OBJ that CHANGED names; a new reference. */
static json_t *
entity_pick(json_t *obj, json_t *changed)
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

/* One event of TYPE for the fields of CHANGED (all of them, or only those in ONLY, or all but
 * those in EXCEPT); nothing when no field is left. */
static int
entity_emit_fields(struct store_txn *txn, struct entity_apply *a, struct entity_change *c,
                   const char *type, json_t *old, json_t *new, json_t *changed,
                   const char *const *only, const char *const *except, json_t *data, char **cause)
{
	json_t *fields = json_array(), *v, *b, *f;
	const char *name =
	    a->k->label ? json_string_value(json_object_get(new, a->k->label)) : NULL;
	size_t i;
	int rc = 0;

	json_array_foreach(changed, i, v)
	{
		const char *s = json_string_value(v);
		int keep = only == NULL;

		for (const char *const *o = only; o != NULL && *o != NULL; o++)
			keep |= strcmp(*o, s) == 0;
		for (const char *const *e = except; e != NULL && *e != NULL; e++)
			keep &= strcmp(*e, s) != 0;
		if (keep)
			json_array_append(fields, v);
	}
	if (json_array_size(fields) > 0) {
		b = entity_pick(old, fields);
		f = entity_pick(new, fields);
		rc = entity_emit(txn, a, type, c->id, name, b, f, fields, data, cause);
		json_decref(b);
		json_decref(f);
	}
	json_decref(fields);
	return rc;
}

/* Created and deleted carry the whole record; a change carries the fields that changed. */
static int
entity_whole_events(struct store_txn *txn, struct entity_apply *a, struct entity_change *c,
                    json_t *old, json_t *new, char **cause)
{
	const char *label = a->k->label;
	char type[64];

	if (c->action == HIST_A_NEW) {
		snprintf(type, sizeof(type), "%s.created", a->k->name);
		return entity_emit(txn, a, type, c->id,
		                   label ? json_string_value(json_object_get(new, label)) : NULL,
		                   NULL, new, NULL, NULL, cause);
	}
	snprintf(type, sizeof(type), "%s.deleted", a->k->name);
	return entity_emit(txn, a, type, c->id,
	                   label ? json_string_value(json_object_get(old, label)) : NULL, old, NULL,
	                   NULL, NULL, cause);
}

/* How many versions entity ID has (the new one included). */
static size_t
entity_count_versions(struct store_txn *txn, struct entity_apply *a, const char *id)
{
	struct store_cursor *cur;
	struct store_key prefix;
	struct store_val key, val;
	char *cause = NULL;
	size_t n = 0;

	hist_key_kind(&prefix, a->tailnet, a->k->kind, id);
	if (store_cursor_open(txn, STORE_VER, &cur, &cause) == -1) {
		free(cause);
		return 0;
	}
	for (int rc = store_cursor_seek(cur, &prefix, &prefix, &key, &val); rc == 0;
	     rc = store_cursor_step(cur, 1, &key, &val))
		n += key.len == prefix.len + 8;
	store_cursor_close(cur);
	return n;
}

/* Webhooks, the policy file, DNS and settings: created, deleted, or one "changed"/"updated". */
static int
entity_doc_events(struct store_txn *txn, struct entity_apply *a, struct entity_change *c,
                  char **cause)
{
	json_t *old = c->old_stable ? json_loads(c->old_stable, 0, NULL) : NULL;
	json_t *new = c->it ? json_loads(c->it->stable, 0, NULL) : NULL, *changed, *data = NULL;
	int rc, singleton = a->k->list == NULL;
	char type[64];

	if (c->action != HIST_A_CHANGE) {
		/* A singleton is new only at its endpoint's first poll, which records no event. */
		rc = singleton ? 0 : entity_whole_events(txn, a, c, old, new, cause);
	} else {
		snprintf(type, sizeof(type), "%s.%s", a->k->name,
		         singleton ? "changed" : "updated");
		changed = hist_changed_fields(old, new);
		/* Revision numbers, so that a hook can run "tsinvctl acl diff OLD NEW". */
		if (a->k == &entity_policy) {
			json_int_t n = (json_int_t)entity_count_versions(txn, a, c->id);

			data = json_pack("{s:I, s:I}", "rev_before", n - 1, "rev_after", n);
		}
		rc =
		    entity_emit_fields(txn, a, c, type, old, new, changed, NULL, NULL, data, cause);
		json_decref(changed);
	}
	json_decref(data);
	json_decref(old);
	json_decref(new);
	return rc;
}

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
		rc = entity_emit_fields(txn, a, c, "user.role.changed", old, new, changed, role,
		                        NULL, NULL, cause);
		if (rc == 0)
			rc = entity_emit_fields(txn, a, c, "user.status.changed", old, new, changed,
			                        status, NULL, NULL, cause);
		if (rc == 0)
			rc = entity_emit_fields(txn, a, c, "user.updated", old, new, changed, NULL,
			                        rest, NULL, cause);
		json_decref(changed);
	}
	json_decref(old);
	json_decref(new);
	return rc;
}

/* A key's final state makes its own event: revoked, expired, deleted. */
static const struct {
	const char *state, *type;
} entity_key_states[] = {
    {"revoked", "key.revoked"}, {"expired", "key.expired"}, {"deleted", "key.deleted"},
    {"gone", "key.deleted"},    {"invalid", "key.deleted"},
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
	const char *type = NULL;
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
	if (type != NULL) {
		/* The whole key: who made it and what it could do is what a defender asks next. */
		rc = entity_emit(txn, a, type, c->id,
		                 json_string_value(json_object_get(new, a->k->label)), old, new,
		                 changed, NULL, cause);
	} else
		/* Back to active (never seen from the API, but possible): say so, state included.
		 */
		rc = entity_emit_fields(
		    txn, a, c, "key.updated", old, new, changed, NULL,
		    ostate != NULL && nstate != NULL && strcmp(ostate, nstate) != 0 ? NULL : rest,
		    NULL, cause);
	json_decref(changed);
out:
	json_decref(old);
	json_decref(new);
	return rc;
}

/* Sets the one-shot mark WHAT of entity ID: 1 if it was set already, 0 now set, -1 error. */
static int
entity_mark(struct store_txn *txn, struct entity_apply *a, const char *id, const char *what,
            char **cause)
{
	struct store_key k;
	struct store_val v;
	uint8_t when[8];
	int rc;

	hist_key_kind(&k, a->tailnet, a->k->kind, id);
	store_key_str(&k, what);
	if ((rc = store_get(txn, STORE_MARK, &k, &v, cause)) != 1)
		return rc == 0 ? 1 : -1;
	store_put_i64(when, a->t);
	return store_put(txn, STORE_MARK, &k, when, sizeof(when), cause);
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
			rc = entity_mark(txn, a, a->items[i].id, what, cause);
		}
		/* rc is the tightest threshold's mark: 1 when it had fired already. */
		if (rc == 0 && !baseline) {
			tstime_format(exp, expbuf, sizeof(expbuf));
			tstime_format_duration(pol->expiry_warn[tight], dur, sizeof(dur));
			data = json_pack("{s:s, s:s, s:I}", "expires", expbuf, "threshold", dur,
			                 "remaining_s", (json_int_t)(left / TSTIME_SEC));
			rc = entity_emit(txn, a, "key.expiring", a->items[i].id,
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

/* ---- keys ---- */

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
		json_t *known = entity_cur_get(txn, tailnet, HIST_KIND_KEY, items[i].id, NULL);
		const char *tok = entity_key_token(key, known, pol->own_tokens);

		if (tok != NULL && key != NULL) {
			char *id = items[i].id;

			json_object_set_new(key, "oauthToken", json_string(tok));
			free(items[i].stable);
			free(items[i].vol);
			entity_item_set(&items[i], id, key, NULL);
			free(id);
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

/* The current record of entity ID of KIND: its stable JSON (new reference), or NULL. */
static json_t *
entity_cur_get(struct store_txn *txn, const char *tailnet, uint8_t kind, const char *id,
               struct hist_cur *out)
{
	struct store_key k;
	struct store_val val;
	struct hist_cur cr;
	char *cause = NULL;

	hist_key_kind(&k, tailnet, kind, id);
	if (k.bad || store_get(txn, STORE_CUR, &k, &val, &cause) != 0 ||
	    hist_cur_decode(&val, &cr) == -1) {
		free(cause);
		return NULL;
	}
	if (out != NULL)
		*out = cr;
	return json_loadb(cr.stable, cr.stable_len, 0, NULL);
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
		known = entity_cur_get(txn, tailnet, HIST_KIND_KEY, id, NULL);
		if (known == NULL ||
		    strcmp(json_string_value(json_object_get(known, "state")) ?: "", "active") != 0)
			json_array_append_new(*ids, json_string(id));
		json_decref(known);
	}
	/* Keys recorded active that the list no longer shows: fetched once more to see why. */
	hist_key_kind(&prefix, tailnet, HIST_KIND_KEY, NULL);
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

		if (id == NULL) {
			store_read_end(txn);
			goto fail;
		}
		if ((key = entity_cur_get(txn, tailnet, HIST_KIND_KEY, id, NULL)) == NULL)
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

		if (id == NULL) {
			store_read_end(txn);
			goto fail;
		}
		/* An entry without details is known already (the plan fetched the others): it
		 * stays as recorded, but it is in the answer, for the counts and the expiry
		 * warnings. */
		if (!entity_key_detailed(v)) {
			json_t *known = entity_cur_get(txn, tailnet, HIST_KIND_KEY, id, NULL);

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
			json_t *key = entity_cur_get(txn, tailnet, HIST_KIND_KEY,
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
		json_t *key =
		    entity_cur_get(txn, tailnet, HIST_KIND_KEY, json_string_value(v) ?: "", NULL);
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

/* ---- users, webhooks ---- */

/* Fields of a user that move by themselves: kept as current state, never versioned. */
static const char *const entity_user_volatile[] = {"lastSeen", "currentlyConnected", "deviceCount",
                                                   NULL};

int
entity_users_apply(struct store *st, const char *tailnet, tstime_t t, json_t *body,
                   const struct hist_policy *pol, struct hist_poll_result *res, char **cause)
{
	json_t *list = json_is_object(body) ? json_object_get(body, "users") : NULL, *v;
	struct entity_apply a = {0};
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

		if (id == NULL) {
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

int
entity_webhooks_apply(struct store *st, const char *tailnet, tstime_t t, json_t *body,
                      const struct hist_policy *pol, struct hist_poll_result *res, char **cause)
{
	json_t *list = json_is_object(body) ? json_object_get(body, "webhooks") : NULL, *v;
	struct entity_apply a = {0};
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

		if (id == NULL) {
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

/* ---- the policy file, DNS, settings: one record each ---- */

static int
entity_apply_one(struct store *st, const struct entity_kind *k, const char *tailnet, tstime_t t,
                 json_t *doc, struct entity_apply *a, const struct hist_policy *pol,
                 struct hist_poll_result *res, char **cause)
{
	struct entity_item *it = xcalloc(1, sizeof(*it));

	entity_item_set(it, k->name, doc, NULL); /* the one record: "policy", "dns" */
	return entity_apply(st, k, tailnet, t, it, 1, pol, res, a, cause);
}

static void
entity_hex(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", p[i]);
}

/* If the current revision's text has the hash HEX, replaces *DOC with its record. */
static int
entity_policy_same(struct store *st, const char *tailnet, const char *hex, json_t **doc,
                   char **cause)
{
	struct store_txn *txn;
	json_t *cur;

	if (store_read_begin(st, &txn, cause) == -1)
		return -1;
	cur = entity_cur_get(txn, tailnet, HIST_KIND_POLICY, entity_policy.name, NULL);
	store_read_end(txn);
	if (cur != NULL &&
	    strcmp(json_string_value(json_object_get(cur, "sha256")) ?: "", hex) == 0) {
		json_decref(*doc);
		*doc = cur;
	} else
		json_decref(cur);
	return 0;
}

int
entity_policy_apply(struct store *st, const char *tailnet, tstime_t t, const char *text, size_t len,
                    const char *etag, const struct hist_policy *pol, struct hist_poll_result *res,
                    char **cause)
{
	struct entity_apply a = {0};
	struct hujson_error err;
	char hex[2 * ENTITY_HASH_LEN + 1], *std = NULL;
	unsigned hlen = 0;
	json_t *doc;
	int rc;

	if (len > ENTITY_POLICY_MAX) {
		*cause = xasprintf("the policy file is larger than %zu bytes", ENTITY_POLICY_MAX);
		return -1;
	}
	if (hujson_standardize(text, len, &std, NULL, &err) == -1) {
		*cause = xasprintf("the policy file is not valid HuJSON (line %d, column %d: %s)",
		                   err.line, err.column, err.message);
		return -1;
	}
	free(std);
	if (EVP_Digest(text, len, a.hash, &hlen, EVP_sha256(), NULL) != 1 ||
	    hlen != ENTITY_HASH_LEN) {
		*cause = xasprintf("cannot hash the policy file");
		return -1;
	}
	entity_hex(a.hash, sizeof(a.hash), hex);
	a.blob = text;
	a.blob_len = len;
	doc = json_pack("{s:s, s:I}", "sha256", hex, "size", (json_int_t)len);
	/* The ETag as the API sends it, quotes and a weak "W/" taken off. */
	if (etag != NULL) {
		size_t n;

		if (strncmp(etag, "W/", 2) == 0)
			etag += 2;
		n = strlen(etag);
		if (n >= 2 && etag[0] == '"' && etag[n - 1] == '"') {
			etag++;
			n -= 2;
		}
		json_object_set_new(doc, "etag", json_stringn(etag, n) ?: json_null());
	} else
		json_object_set_new(doc, "etag", json_null());
	/* A revision is its text: the same text under another ETag (or none) is no change, and
	 * keeps the ETag it was first seen with. */
	if (entity_policy_same(st, tailnet, hex, &doc, cause) == -1) {
		json_decref(doc);
		return -1;
	}
	rc = entity_apply_one(st, &entity_policy, tailnet, t, doc, &a, pol, res, cause);
	json_decref(doc);
	return rc;
}

static int
entity_is_strings(json_t *v)
{
	json_t *e;
	size_t i;

	if (!json_is_array(v))
		return 0;
	json_array_foreach(v, i, e) if (!json_is_string(e)) return 0;
	return 1;
}

int
entity_dns_apply(struct store *st, const char *tailnet, tstime_t t, json_t *nameservers,
                 json_t *preferences, json_t *searchpaths, json_t *splitdns,
                 const struct hist_policy *pol, struct hist_poll_result *res, char **cause)
{
	json_t *ns = json_object_get(nameservers, "dns");
	json_t *magic = json_object_get(preferences, "magicDNS");
	json_t *paths = json_object_get(searchpaths, "searchPaths"), *doc, *v;
	struct entity_apply a = {0};
	const char *domain;
	int rc;

	/* An empty list may come as null, but a missing member is a broken answer. */
	if (json_is_null(ns))
		ns = NULL;
	else if (ns == NULL)
		ns = json_true(); /* fails the check below */
	if (json_is_null(paths))
		paths = NULL;
	else if (paths == NULL)
		paths = json_true();
	if (!json_is_object(nameservers) || (ns != NULL && !entity_is_strings(ns))) {
		*cause = xasprintf("dns/nameservers: the answer has no \"dns\" list of addresses");
		return -1;
	}
	if (!json_is_boolean(magic)) {
		*cause = xasprintf("dns/preferences: the answer has no \"magicDNS\" true or false");
		return -1;
	}
	if (!json_is_object(searchpaths) || (paths != NULL && !entity_is_strings(paths))) {
		*cause = xasprintf("dns/searchpaths: the answer has no \"searchPaths\" list");
		return -1;
	}
	if (!json_is_object(splitdns)) {
		*cause = xasprintf("dns/split-dns: the answer is not an object of domains");
		return -1;
	}
	json_object_foreach(splitdns, domain, v)
	{
		if (!json_is_null(v) && !entity_is_strings(v)) {
			*cause = xasprintf("dns/split-dns: domain \"%s\" has no list of resolvers",
			                   domain);
			return -1;
		}
	}
	/* Resolver order matters (it is the order of use): lists are kept as they come. */
	doc = json_pack("{s:o, s:O, s:o, s:O}", "nameservers", ns ? json_incref(ns) : json_array(),
	                "magicDNS", magic, "searchPaths", paths ? json_incref(paths) : json_array(),
	                "splitDNS", splitdns);
	/* These paths do not show the override or the exit-node flags: what dns/configuration
	 * said last is kept rather than read as a change. */
	if (entity_dns_carry(st, tailnet, doc, cause) == -1) {
		json_decref(doc);
		return -1;
	}
	rc = entity_apply_one(st, &entity_dns, tailnet, t, doc, &a, pol, res, cause);
	json_decref(doc);
	return rc;
}

/* One resolver list of dns/configuration (null: none) as addresses into *addrs, and those
 * with useWithExitNode into *exit (new references). -1 with *cause if it does not check. */
static int
entity_dns_resolvers(json_t *list, const char *what, json_t **addrs, json_t **exit, char **cause)
{
	json_t *r, *addr, *use;
	size_t i;

	*addrs = json_array();
	*exit = json_array();
	if (json_is_null(list))
		return 0;
	if (!json_is_array(list))
		goto bad;
	json_array_foreach(list, i, r)
	{
		addr = json_object_get(r, "address");
		use = json_object_get(r, "useWithExitNode");
		if (!json_is_string(addr) || (use != NULL && !json_is_boolean(use)))
			goto bad;
		json_array_append(*addrs, addr);
		if (json_is_true(use))
			json_array_append(*exit, addr);
	}
	return 0;
bad:
	json_decref(*addrs);
	json_decref(*exit);
	*cause = xasprintf("dns/configuration: %s is not a list of resolvers", what);
	return -1;
}

/* The members only dns/configuration shows, in the record: the override and the resolvers used
 * with an exit node. */
static const char *const entity_dns_config_only[] = {"overrideLocalDNS", "useWithExitNode", NULL};

/* Lays the config-only members of the recorded DNS over DOC (from the four older paths). */
static int
entity_dns_carry(struct store *st, const char *tailnet, json_t *doc, char **cause)
{
	struct store_txn *txn;
	json_t *cur;

	if (store_read_begin(st, &txn, cause) == -1)
		return -1;
	cur = entity_cur_get(txn, tailnet, HIST_KIND_DNS, "dns", NULL);
	store_read_end(txn);
	for (size_t i = 0; entity_dns_config_only[i] != NULL; i++) {
		json_t *v = json_object_get(cur, entity_dns_config_only[i]);

		if (v != NULL)
			json_object_set(doc, entity_dns_config_only[i], v);
	}
	json_decref(cur);
	return 0;
}

int
entity_dns_config_apply(struct store *st, const char *tailnet, tstime_t t, json_t *body,
                        const struct hist_policy *pol, struct hist_poll_result *res, char **cause)
{
	json_t *prefs = json_object_get(body, "preferences"),
	       *split = json_object_get(body, "splitDNS");
	json_t *paths = json_object_get(body, "searchPaths"), *ns, *ns_exit, *doc, *sd, *sd_exit,
	       *v;
	json_t *override = json_object_get(prefs, "overrideLocalDNS");
	json_t *magic = json_object_get(prefs, "magicDNS");
	struct entity_apply a = {0};
	const char *domain;
	char what[300];
	int rc;

	/* A Go server may leave a false boolean out (omitempty, as the Go client's own struct
	 * does): absent is false, anything else but a boolean is a broken answer. */
	if (!json_is_object(body) || !json_is_object(prefs) ||
	    (override != NULL && !json_is_boolean(override)) ||
	    (magic != NULL && !json_is_boolean(magic))) {
		*cause = xasprintf("dns/configuration: the answer has no \"preferences\" with "
		                   "\"overrideLocalDNS\" and \"magicDNS\"");
		return -1;
	}
	if (override == NULL)
		override = json_false();
	if (magic == NULL)
		magic = json_false();
	if ((paths != NULL && !json_is_null(paths) && !entity_is_strings(paths)) ||
	    (split != NULL && !json_is_null(split) && !json_is_object(split))) {
		*cause = xasprintf("dns/configuration: bad \"searchPaths\" or \"splitDNS\"");
		return -1;
	}
	if (entity_dns_resolvers(json_object_get(body, "nameservers"), "\"nameservers\"", &ns,
	                         &ns_exit, cause) == -1)
		return -1;
	sd = json_object();
	sd_exit = json_object();
	json_object_foreach(split, domain, v)
	{
		json_t *addrs, *exit;

		snprintf(what, sizeof(what), "split DNS domain \"%.200s\"", domain);
		if (entity_dns_resolvers(v, what, &addrs, &exit, cause) == -1) {
			json_decref(ns);
			json_decref(ns_exit);
			json_decref(sd);
			json_decref(sd_exit);
			return -1;
		}
		/* The older split-dns path shows a domain without resolvers as null: so do we. */
		json_object_set_new(sd, domain, json_is_null(v) ? json_null() : json_incref(addrs));
		if (json_array_size(exit) > 0)
			json_object_set(sd_exit, domain, exit);
		json_decref(addrs);
		json_decref(exit);
	}
	/* The same members as from the four older paths, and what only this one shows. */
	doc = json_pack("{s:o, s:O, s:o, s:o, s:O, s:{s:o, s:o}}", "nameservers", ns, "magicDNS",
	                magic, "searchPaths",
	                json_is_array(paths) ? json_incref(paths) : json_array(), "splitDNS", sd,
	                "overrideLocalDNS", override, "useWithExitNode", "nameservers", ns_exit,
	                "splitDNS", sd_exit);
	rc = entity_apply_one(st, &entity_dns, tailnet, t, doc, &a, pol, res, cause);
	json_decref(doc);
	return rc;
}

/* A record written before the override and the exit-node flags were read: when the new answer
 * says the same about everything the old one knew, the open version gains the new members in
 * place. History gets no version and no event for what was only never asked. */
static int
entity_dns_upgrade(struct store_txn *txn, struct entity_apply *a, char **cause)
{
	struct hist_cur cr;
	json_t *old, *proj;
	int same;

	if (a->nitems != 1 ||
	    (old = entity_cur_get(txn, a->tailnet, HIST_KIND_DNS, "dns", &cr)) == NULL)
		return 0;
	proj = json_loadb(a->items[0].stable, a->items[0].stable_len, 0, NULL);
	/* Only an old record, and only an answer that has the new members. */
	same = proj != NULL && json_object_get(old, "overrideLocalDNS") == NULL &&
	       json_object_get(proj, "overrideLocalDNS") != NULL;
	for (size_t i = 0; same && entity_dns_config_only[i] != NULL; i++)
		json_object_del(proj, entity_dns_config_only[i]);
	same = same && json_equal(old, proj);
	json_decref(proj);
	json_decref(old);
	if (!same)
		return 0;
	if (hist_version_open(txn, a->tailnet, HIST_KIND_DNS, "dns", &cr.b, a->items[0].stable,
	                      a->items[0].stable_len, cause) == -1)
		return -1;
	return entity_put_cur(txn, a, &a->items[0], &cr.b, cause);
}

int
entity_settings_apply(struct store *st, const char *tailnet, tstime_t t, json_t *body,
                      const struct hist_policy *pol, struct hist_poll_result *res, char **cause)
{
	struct entity_apply a = {0};

	if (!json_is_object(body)) {
		*cause = xasprintf("the settings answer is not an object");
		return -1;
	}
	return entity_apply_one(st, &entity_settings, tailnet, t, body, &a, pol, res, cause);
}

/* ---- queries ---- */

struct entity_query {
	struct store_txn *txn;
	struct hist_endpoint ep;
	tstime_t at;
	int covered;
};

/* Opens the read transaction and starts the answer: tailnet, at, as_of, coverage. */
static int
entity_query_begin(struct store *st, const char *tailnet, const struct entity_kind *k, tstime_t at,
                   struct entity_query *q, json_t **res, char **cause)
{
	char *reason = NULL;

	q->at = at;
	q->covered = 1;
	if (store_read_begin(st, &q->txn, cause) == -1)
		return -1;
	if (hist_ep_read(q->txn, tailnet, k->endpoint, &q->ep, cause) == -1) {
		store_read_end(q->txn);
		return -1;
	}
	*res = json_object();
	json_object_set_new(*res, "tailnet", json_string(tailnet));
	json_object_set_new(*res, "at", hist_time_json(at));
	json_object_set_new(*res, "as_of", hist_time_json(at == TSTIME_NONE ? q->ep.last_ok : at));
	if (at == TSTIME_NONE && q->ep.last_ok == TSTIME_NONE)
		reason = xasprintf("no successful poll of %s yet", k->endpoint);
	else if (at != TSTIME_NONE)
		q->covered = hist_covered(q->txn, tailnet, k->endpoint, at, &reason);
	json_object_set_new(*res, "coverage", json_string(reason == NULL ? "covered" : "unknown"));
	if (reason != NULL)
		json_object_set_new(*res, "reason", json_string(reason));
	free(reason);
	return 0;
}

static void
entity_query_end(struct entity_query *q)
{
	hist_endpoint_free(&q->ep);
	store_read_end(q->txn);
}

/* One listed entity: id, state, bounds, the record under its kind's name, volatile part. */
static json_t *
entity_row(const struct entity_kind *k, const char *id, enum hist_state s,
           const struct hist_bounds *b, const char *stable, size_t slen, const char *vol,
           size_t vlen)
{
	json_t *row = json_object();

	json_object_set_new(row, "id", json_string(id));
	json_object_set_new(row, "state", json_string(hist_state_names[s]));
	hist_bounds_json(row, b);
	json_object_set_new(row, k->name, json_loadb(stable, slen, 0, NULL) ?: json_null());
	if (vol != NULL && vlen > 0)
		json_object_set_new(row, "volatile", json_loadb(vol, vlen, 0, NULL) ?: json_null());
	return row;
}

/* Every entity of K now (from cur) or at Q->at (every version held or maybe then). */
static json_t *
entity_rows(struct entity_query *q, const char *tailnet, const struct entity_kind *k)
{
	struct store_cursor *cur;
	struct store_key prefix;
	struct store_val key, val;
	json_t *rows = json_array();
	char *cause = NULL;
	int rc, now = q->at == TSTIME_NONE;

	hist_key_kind(&prefix, tailnet, k->kind, NULL);
	if (store_cursor_open(q->txn, now ? STORE_CUR : STORE_VER, &cur, &cause) == -1) {
		free(cause);
		return rows;
	}
	for (rc = store_cursor_seek(cur, &prefix, &prefix, &key, &val); rc == 0;
	     rc = store_cursor_step(cur, 1, &key, &val)) {
		const char *id = (const char *)key.data + prefix.len;
		size_t idlen = key.len > prefix.len ? strnlen(id, key.len - prefix.len) : 0;
		struct hist_bounds b;
		struct hist_cur cr;
		enum hist_state s;

		/* cur keys end with the id's NUL; ver keys have the 8-byte start after it. */
		if (idlen == 0 || key.len != prefix.len + idlen + 1 + (now ? 0 : 8))
			continue;
		if (now) {
			if (hist_cur_decode(&val, &cr) == -1)
				continue;
			json_array_append_new(rows, entity_row(k, id, HIST_HELD, &cr.b, cr.stable,
			                                       cr.stable_len, cr.vol, cr.vol_len));
			continue;
		}
		if (val.len < HIST_BOUNDS_LEN)
			continue;
		hist_bounds_get(val.data, &b);
		if ((s = hist_state_cov(&b, q->at, q->ep.last_ok, q->covered)) == HIST_NO)
			continue;
		json_array_append_new(rows, entity_row(k, id, s, &b,
		                                       (const char *)val.data + HIST_BOUNDS_LEN,
		                                       val.len - HIST_BOUNDS_LEN, NULL, 0));
	}
	store_cursor_close(cur);
	return rows;
}

static int
entity_list(struct store *st, const char *tailnet, const struct entity_kind *k, tstime_t at,
            json_t **out, char **cause)
{
	struct entity_query q;

	if (entity_query_begin(st, tailnet, k, at, &q, out, cause) == -1)
		return HIST_ERR;
	json_object_set_new(*out, k->list, entity_rows(&q, tailnet, k));
	entity_query_end(&q);
	return HIST_OK;
}

int
entity_users_list(struct store *st, const char *tailnet, tstime_t at, json_t **out, char **cause)
{
	return entity_list(st, tailnet, &entity_users, at, out, cause);
}

int
entity_webhooks_list(struct store *st, const char *tailnet, tstime_t at, json_t **out, char **cause)
{
	return entity_list(st, tailnet, &entity_webhooks, at, out, cause);
}

/* The login name of user ID: as now, else as last recorded; NULL when never seen. */
static json_t *
entity_login(struct store_txn *txn, const char *tailnet, const char *id)
{
	struct store_cursor *cur;
	struct store_key prefix;
	struct store_val key, val;
	json_t *user = entity_cur_get(txn, tailnet, HIST_KIND_USER, id, NULL), *login = NULL;
	char *cause = NULL;

	if (user == NULL) {
		hist_key_kind(&prefix, tailnet, HIST_KIND_USER, id);
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

int
entity_keys_list_all(struct store *st, const char *tailnet, tstime_t at, int64_t expiring, int all,
                     json_t **out, char **cause)
{
	struct entity_query q;
	json_t *rows, *row, *kept;
	tstime_t as_of;
	size_t i, hidden = 0;

	if (entity_query_begin(st, tailnet, &entity_keys, at, &q, out, cause) == -1)
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

/* Every version of the singleton of K, oldest first, as {bounds..., NAME: record}. */
static json_t *
entity_versions(struct store_txn *txn, const char *tailnet, const struct entity_kind *k)
{
	struct store_cursor *cur;
	struct store_key prefix;
	struct store_val key, val;
	json_t *list = json_array();
	char *cause = NULL;
	int rc;

	hist_key_kind(&prefix, tailnet, k->kind, k->name);
	if (store_cursor_open(txn, STORE_VER, &cur, &cause) == -1) {
		free(cause);
		return list;
	}
	for (rc = store_cursor_seek(cur, &prefix, &prefix, &key, &val); rc == 0;
	     rc = store_cursor_step(cur, 1, &key, &val)) {
		struct hist_bounds b;
		json_t *v;

		if (key.len != prefix.len + 8 || val.len < HIST_BOUNDS_LEN)
			continue;
		hist_bounds_get(val.data, &b);
		v = json_object();
		hist_bounds_json(v, &b);
		json_object_set_new(v, k->name,
		                    json_loadb((const char *)val.data + HIST_BOUNDS_LEN,
		                               val.len - HIST_BOUNDS_LEN, 0, NULL)
		                        ?: json_null());
		json_array_append_new(list, v);
	}
	store_cursor_close(cur);
	return list;
}

/* The bounds back from a version's JSON. */
static void
entity_bounds_of(json_t *v, struct hist_bounds *b)
{
	static const char *const names[] = {"from_lo", "from_hi", "to_lo", "to_hi"};
	tstime_t *t[] = {&b->from_lo, &b->from_hi, &b->to_lo, &b->to_hi};

	for (size_t i = 0; i < 4; i++)
		*t[i] = entity_time(v, names[i]);
	b->flags = json_is_true(json_object_get(v, "exact_from")) ? HIST_F_EXACT_FROM : 0;
}

/* The index in VERSIONS of the version in force at Q->at (held, else maybe), or -1. */
static ssize_t
entity_version_at(struct entity_query *q, json_t *versions, enum hist_state *state)
{
	ssize_t found = -1;
	json_t *v;
	size_t i;

	*state = HIST_NO;
	json_array_foreach(versions, i, v)
	{
		struct hist_bounds b;
		enum hist_state s;

		entity_bounds_of(v, &b);
		s = hist_state_cov(&b, q->at, q->ep.last_ok, q->covered);
		if (s == HIST_HELD || (s == HIST_MAYBE && found == -1)) {
			found = (ssize_t)i;
			*state = s;
		}
	}
	return found;
}

static int
entity_doc_get(struct store *st, const char *tailnet, const struct entity_kind *k, tstime_t at,
               int history, json_t **out, char **cause)
{
	struct entity_query q;
	enum hist_state s = HIST_NO;
	json_t *versions, *v = NULL, *m;
	const char *key;
	ssize_t i;

	if (entity_query_begin(st, tailnet, k, at, &q, out, cause) == -1)
		return HIST_ERR;
	versions = entity_versions(q.txn, tailnet, k);
	if (at == TSTIME_NONE) {
		v = json_array_get(versions, json_array_size(versions) - 1);
		s = v != NULL && json_is_null(json_object_get(v, "to_hi")) ? HIST_HELD : HIST_NO;
	} else if ((i = entity_version_at(&q, versions, &s)) >= 0)
		v = json_array_get(versions, (size_t)i);
	if (s != HIST_NO) {
		json_object_set_new(*out, "state", json_string(hist_state_names[s]));
		json_object_foreach(v, key, m) json_object_set(*out, key, m);
	} else {
		json_object_set_new(*out, "state", json_null());
		json_object_set_new(*out, k->name, json_null());
	}
	if (history)
		json_object_set_new(*out, "versions", versions);
	else
		json_decref(versions);
	entity_query_end(&q);
	return HIST_OK;
}

int
entity_dns_get(struct store *st, const char *tailnet, tstime_t at, int history, json_t **out,
               char **cause)
{
	return entity_doc_get(st, tailnet, &entity_dns, at, history, out, cause);
}

int
entity_settings_get(struct store *st, const char *tailnet, tstime_t at, int history, json_t **out,
                    char **cause)
{
	return entity_doc_get(st, tailnet, &entity_settings, at, history, out, cause);
}

/* The policy's versions as revisions: {"rev", "sha256", "etag", "size", bounds..., "current"}. */
static json_t *
entity_revisions(struct store_txn *txn, const char *tailnet)
{
	json_t *versions = entity_versions(txn, tailnet, &entity_policy), *v, *revs = json_array();
	size_t i;

	json_array_foreach(versions, i, v)
	{
		json_t *r = json_object(), *doc = json_object_get(v, "policy"), *m;
		const char *key;

		json_object_set_new(r, "rev", json_integer((json_int_t)i + 1));
		json_object_foreach(doc, key, m) json_object_set(r, key, m);
		json_object_foreach(v, key, m) if (strcmp(key, "policy") != 0)
		    json_object_set(r, key, m);
		json_object_set_new(r, "current",
		                    json_boolean(json_is_null(json_object_get(v, "to_hi"))));
		json_array_append_new(revs, r);
	}
	json_decref(versions);
	return revs;
}

int
entity_policy_log(struct store *st, const char *tailnet, json_t **out, char **cause)
{
	struct entity_query q;

	if (entity_query_begin(st, tailnet, &entity_policy, TSTIME_NONE, &q, out, cause) == -1)
		return HIST_ERR;
	json_object_set_new(*out, "revisions", entity_revisions(q.txn, tailnet));
	entity_query_end(&q);
	return HIST_OK;
}

/* Finds revision REV ("3", or a hash prefix) in REVS: its index, -1 none, -2 ambiguous. */
static ssize_t
entity_rev_find(json_t *revs, const char *rev)
{
	size_t i, n = strlen(rev), digits = strspn(rev, "0123456789");
	ssize_t found = -1;
	json_t *r;

	if (digits == n && n > 0 && n < 10) {
		long num = strtol(rev, NULL, 10);

		if (num >= 1 && (size_t)num <= json_array_size(revs))
			return (ssize_t)num - 1;
		/* "123456" may also be the start of a hash. */
		if (n < ENTITY_REV_HEX_MIN)
			return -1;
	}
	json_array_foreach(revs, i, r)
	{
		const char *h = json_string_value(json_object_get(r, "sha256"));

		if (h == NULL || strncasecmp(h, rev, n) != 0)
			continue;
		/* A text that came back is the same text: its latest revision. Only prefixes of
		 * different texts are ambiguous. */
		if (found >= 0 &&
		    strcmp(h, json_string_value(json_object_get(json_array_get(revs, (size_t)found),
		                                                "sha256"))) != 0)
			return -2;
		found = (ssize_t)i;
	}
	return found;
}

int
entity_rev_ok(const char *rev)
{
	size_t n = strlen(rev);

	if (n == 0 || n > 2 * ENTITY_HASH_LEN || strspn(rev, "0123456789abcdefABCDEF") != n)
		return 0;
	return strspn(rev, "0123456789") == n || n >= ENTITY_REV_HEX_MIN;
}

int
entity_policy_get(struct store *st, const char *tailnet, const char *rev, tstime_t at, json_t **out,
                  char **cause)
{
	struct entity_query q;
	enum hist_state s = HIST_HELD;
	json_t *revs, *r;
	ssize_t i;
	size_t n;
	int rc = HIST_OK;

	if (rev != NULL && !entity_rev_ok(rev)) {
		*cause =
		    xasprintf("revision \"%s\": give its number or at least 6 hex digits of its "
		              "sha256",
		              rev);
		return HIST_NOTFOUND;
	}
	if (entity_query_begin(st, tailnet, &entity_policy, at, &q, out, cause) == -1)
		return HIST_ERR;
	revs = entity_revisions(q.txn, tailnet);
	n = json_array_size(revs);
	if (rev != NULL)
		i = entity_rev_find(revs, rev);
	else if (at != TSTIME_NONE)
		i = entity_version_at(&q, revs, &s);
	else
		i = n > 0 && json_is_true(json_object_get(json_array_get(revs, n - 1), "current"))
		        ? (ssize_t)n - 1
		        : -1;
	if (i < 0) {
		if (i == -2)
			*cause =
			    xasprintf("revision \"%s\" matches more than one policy revision", rev);
		else if (rev != NULL)
			*cause =
			    xasprintf("tailnet %s has no policy revision \"%s\" (%zu recorded)",
			              tailnet, rev, n);
		else if (at != TSTIME_NONE)
			*cause = xasprintf(
			    "no policy revision of tailnet %s is known at that time%s%s", tailnet,
			    json_string_value(json_object_get(*out, "reason")) ? ": " : "",
			    json_string_value(json_object_get(*out, "reason")) ?: "");
		else
			*cause = xasprintf("no policy file of tailnet %s recorded yet", tailnet);
		json_decref(*out);
		*out = NULL;
		rc = HIST_NOTFOUND;
		goto out;
	}
	r = json_array_get(revs, (size_t)i);
	{
		const char *key, *hex = json_string_value(json_object_get(r, "sha256"));
		uint8_t hash[ENTITY_HASH_LEN];
		struct store_key k;
		struct store_val val;
		json_t *m, *text = NULL;

		for (size_t b = 0;
		     hex != NULL && strlen(hex) == 2 * ENTITY_HASH_LEN && b < ENTITY_HASH_LEN;
		     b++) {
			unsigned x;

			sscanf(hex + 2 * b, "%2x", &x);
			hash[b] = (uint8_t)x;
		}
		store_key_init(&k);
		store_key_bytes(&k, hash, sizeof(hash));
		if (hex != NULL && strlen(hex) == 2 * ENTITY_HASH_LEN &&
		    store_get(q.txn, STORE_BLOB, &k, &val, cause) == 0)
			text = json_stringn(val.data, val.len);
		if (text == NULL) {
			if (*cause == NULL)
				*cause =
				    xasprintf("store: the text of policy revision %zd is missing "
				              "or damaged",
				              i + 1);
			json_decref(*out);
			*out = NULL;
			rc = HIST_ERR;
			goto out;
		}
		json_object_foreach(r, key, m) json_object_set(*out, key, m);
		if (at != TSTIME_NONE && rev == NULL)
			json_object_set_new(*out, "state", json_string(hist_state_names[s]));
		json_object_set_new(*out, "text", text);
	}
out:
	json_decref(revs);
	entity_query_end(&q);
	return rc;
}
