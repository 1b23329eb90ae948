/* entity.c: what keys, users, webhooks and the singletons share: items, the apply transaction,
 * their events, and the queries' common parts. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attrib.h"
#include "entity-int.h"
#include "event-log.h"
#include "log.h"
#include "norm.h"
#include "pin.h"

/* Frees what one item holds (it is a void * for hist_sort_unique). */
static void
entity_item_drop(void *p)
{
	struct entity_item *it = p;

	free(it->stable);
	free(it->vol);
}

void
entity_items_free(struct entity_item *items, size_t n)
{
	for (size_t i = 0; i < n; i++)
		entity_item_drop(&items[i]);
	free(items);
}

/* Sorts every list of strings in V, at any depth: the API's order of tags, scopes and
 * subscriptions means nothing, and a reordering must not make a version. */
void
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
	qsort(e, n, sizeof(*e), norm_cmp_json_str);
	json_array_clear(v);
	for (i = 0; i < n; i++)
		json_array_append_new(v, e[i]);
	free(e);
}

/* Fills IT from STABLE and VOL (borrowed; VOL may be NULL). */
void
entity_item_set(struct entity_item *it, const char *id, json_t *stable, json_t *vol)
{
	snprintf(it->id, sizeof(it->id), "%s", id);
	it->stable = json_dumps(stable, JSON_COMPACT | JSON_SORT_KEYS);
	it->stable_len = strlen(it->stable);
	it->vol = vol != NULL ? json_dumps(vol, JSON_COMPACT | JSON_SORT_KEYS) : xstrdup("");
	it->vol_len = strlen(it->vol);
}

const char *
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

tstime_t
entity_time(json_t *obj, const char *member)
{
	const char *s = json_string_value(json_object_get(obj, member));
	tstime_t t;

	if (s == NULL || tstime_parse_rfc3339(s, &t) == -1 || t < ENTITY_TIME_MIN)
		return TSTIME_NONE;
	return t;
}

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
	return hist_merge(txn, a->tailnet, ENTITY_ROW(a->k)->kind, a->nitems, entity_view,
	                  entity_change, a, ncur, cause);
}

int
entity_put_cur(struct store_txn *txn, struct entity_apply *a, const struct entity_item *it,
               const struct hist_bounds *b, char **cause)
{
	struct store_key k;
	size_t len;
	uint8_t *v = hist_cur_encode(b, it->stable, it->stable_len, it->vol, it->vol_len, &len);
	int rc;

	hist_key_kind(&k, a->tailnet, ENTITY_ROW(a->k)->kind, it->id);
	rc = store_put(txn, STORE_CUR, &k, v, len, cause);
	free(v);
	return rc;
}

static int entity_missing(struct store_txn *, struct entity_apply *, struct entity_change *,
                          tstime_t, char **);

static int
entity_apply_change(struct store_txn *txn, struct entity_apply *a, struct entity_change *c,
                    tstime_t last_ok, char **cause)
{
	struct hist_bounds b = {last_ok, a->t,        TSTIME_NONE, TSTIME_NONE,
	                        0,       TSTIME_NONE, TSTIME_NONE};
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
		if (hist_version_close(txn, a->tailnet, ENTITY_ROW(a->k)->kind, c->id,
		                       c->cur.from_hi, last_ok, a->t, cause) == -1)
			return -1;
		break;
	case HIST_A_GONE:
		return entity_missing(txn, a, c, last_ok, cause);
	}
	if (a->blob != NULL) {
		store_key_init(&k);
		store_key_bytes(&k, a->hash, sizeof(a->hash));
		if (store_put(txn, STORE_BLOB, &k, a->blob, a->blob_len, cause) == -1)
			return -1;
	}
	if (hist_version_open(txn, a->tailnet, ENTITY_ROW(a->k)->kind, c->it->id, &b, c->it->stable,
	                      c->it->stable_len, cause) == -1)
		return -1;
	return entity_put_cur(txn, a, c->it, &b, cause);
}

/* An entity missing from an earlier list is there after all: its version is open again, as if
 * that list had never been. */
static int
entity_refute(struct store_txn *txn, struct entity_apply *a, const char *id, tstime_t from_hi,
              char **cause)
{
	log_notice("%s: %s %s was missing from a list but is there: not deleted", a->tailnet,
	           a->k->name, id);
	a->res->refuted++;
	return hist_confirm_refute(txn, a->tailnet, ENTITY_ROW(a->k)->kind, id, from_hi, cause);
}

/* What confirms each entity missing from the answer. */
static int
entity_confirm(struct store_txn *txn, struct entity_apply *a, char **cause)
{
	for (size_t i = 0; i < a->nch; i++) {
		struct entity_change *c = &a->ch[i];
		int rc;

		if (c->action != HIST_A_GONE)
			continue;
		rc = hist_confirm_check(txn, a->tailnet, ENTITY_ROW(a->k)->kind, c->id, a->ans,
		                        a->k->idmember, a->t, a->pol, &c->marked, &c->miss_lo,
		                        &c->miss_hi, cause);
		if (rc == -1)
			return -1;
		c->confirm = (enum hist_confirm)rc;
	}
	return 0;
}

/* Listed entities whose absence from an earlier list waited for confirmation: refuted. */
static int
entity_refute_listed(struct store_txn *txn, struct entity_apply *a, char **cause)
{
	for (size_t i = 0; i < a->nitems; i++) {
		struct hist_cur cr;
		int rc = hist_confirm_marked(txn, a->tailnet, ENTITY_ROW(a->k)->kind,
		                             a->items[i].id, &cr, cause);

		if (rc == 1)
			rc = entity_refute(txn, a, a->items[i].id, cr.b.from_hi, cause);
		if (rc == -1)
			return -1;
	}
	return 0;
}

/* A missing entity: deleted when confirmed (in the window of its first absence), else waiting
 * for confirmation or refuted. 1 when it is deleted now. */
static int
entity_missing(struct store_txn *txn, struct entity_apply *a, struct entity_change *c,
               tstime_t last_ok, char **cause)
{
	uint8_t kind = ENTITY_ROW(a->k)->kind;
	struct store_key k;
	tstime_t lo = last_ok, hi = a->t;

	switch (c->confirm) {
	case HIST_CONFIRM_THERE:
		if (c->marked)
			return entity_refute(txn, a, c->id, c->cur.from_hi, cause);
		log_notice("%s: %s %s is missing from the list but answered by id: not deleted",
		           a->tailnet, a->k->name, c->id);
		a->res->refuted++;
		return 0;
	case HIST_CONFIRM_WAIT:
		a->res->pending++;
		return hist_confirm_wait(txn, a->tailnet, kind, c->id, c->cur.from_hi, last_ok,
		                         a->t, cause) == -1
		           ? -1
		           : 0;
	case HIST_CONFIRM_GONE:
		break;
	}
	if (c->marked) {
		lo = c->miss_lo;
		hi = c->miss_hi;
		if (hist_confirm_done(txn, a->tailnet, kind, c->id, cause) == -1)
			return -1;
	}
	a->res->deleted++;
	if (hist_version_close(txn, a->tailnet, kind, c->id, c->cur.from_hi, lo, hi, cause) == -1)
		return -1;
	hist_key_kind(&k, a->tailnet, kind, c->id);
	return store_del(txn, STORE_CUR, &k, cause) == -1 ? -1 : 1;
}

int
entity_confirm_plan(struct store *st, const struct entity_kind *k, const char *tailnet,
                    const struct endpoint_answer *ans, json_t **ids, char **cause)
{
	json_t *body = json_array_get(ans->json, 0);

	return hist_confirm_plan(st, tailnet, ENTITY_ROW(k)->kind,
	                         json_is_object(body) ? json_object_get(body, k->list) : NULL,
	                         k->idmember, ids, cause);
}

static int
entity_apply_txn(struct store_txn *txn, void *arg, char **cause)
{
	struct entity_apply *a = arg;
	struct hist_endpoint ep;
	uint64_t ncur = 0;
	size_t gone = 0, i;
	int rc = -1, baseline, hold;
	tstime_t prev_ok;

	entity_changes_free(a);
	memset(a->res, 0, sizeof(*a->res));
	if (hist_poll_begin(txn, a->tailnet, ENTITY_ROW(a->k)->name, &a->t, &ep, a->pol, cause) ==
	    -1)
		return -1;
	a->res->time = a->t;
	a->res->seen = a->nitems;
	if (a->k->before != NULL && a->k->before(txn, a, cause) == -1)
		goto out;
	if (entity_classify(txn, a, &ncur, cause) == -1 || entity_confirm(txn, a, cause) == -1)
		goto out;
	/* Only a confirmed absence is a deletion; the guard weighs those. */
	for (i = 0; i < a->nch; i++)
		gone += a->ch[i].action == HIST_A_GONE && a->ch[i].confirm == HIST_CONFIRM_GONE;
	/* Held: the endpoint's state is written and committed, nothing else. */
	if (ENTITY_ROW(a->k)->mass_guard &&
	    (hold = hist_poll_hold(txn, a->tailnet, ENTITY_ROW(a->k)->name, a->k->list, &ep, gone,
	                           ncur, a->pol, a->res, cause)) != 0) {
		rc = hold == 1 ? 0 : -1;
		goto out;
	}
	/* The first poll of an endpoint is what was there: no events. */
	baseline = ep.last_ok == TSTIME_NONE;
	if (ep.pending_confirm > 0 && entity_refute_listed(txn, a, cause) == -1)
		goto out;
	for (i = 0; i < a->nch; i++) {
		int done = entity_apply_change(txn, a, &a->ch[i], ep.last_ok, cause);

		if (done == -1)
			goto out;
		/* A missing entity makes its event only once its deletion is confirmed. */
		if (a->ch[i].action == HIST_A_GONE && done != 1)
			continue;
		if (!baseline && a->ch[i].action != HIST_A_VOL &&
		    a->k->events(txn, a, &a->ch[i], cause) == -1)
			goto out;
	}
	ep.pending_confirm = a->res->pending;
	if (a->k->after != NULL && a->k->after(txn, a, baseline, cause) == -1)
		goto out;
	prev_ok = ep.last_ok;
	rc = hist_poll_end(txn, a->tailnet, ENTITY_ROW(a->k)->name, &ep, a->t, a->nitems, a->pol,
	                   cause);
	if (rc == 0)
		rc = hist_poll_after(txn, a->tailnet, prev_ok, a->t, a->pol, a->res, cause);
out:
	hist_endpoint_free(&ep);
	return rc;
}

/* Applies ITEMS (taken over and freed) to the store in one write transaction. */
int
entity_apply(struct store *st, const struct entity_kind *k, const char *tailnet, tstime_t t,
             struct entity_item *items, size_t n, const struct hist_policy *pol,
             struct hist_poll_result *res, struct entity_apply *a, char **cause)
{
	int rc;

	/* Sorted by id; a duplicate (the first one listed is kept) is dropped. */
	n = hist_sort_unique(items, n, sizeof(*items), offsetof(struct entity_item, id),
	                     offsetof(struct entity_item, order), tailnet, k->name,
	                     entity_item_drop);
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

int
entity_emit(struct store_txn *txn, struct entity_apply *a, enum event_type_id type, const char *id,
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
int
entity_emit_fields(struct store_txn *txn, struct entity_apply *a, struct entity_change *c,
                   enum event_type_id type, json_t *old, json_t *new, json_t *changed,
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
int
entity_whole_events(struct store_txn *txn, struct entity_apply *a, struct entity_change *c,
                    json_t *old, json_t *new, char **cause)
{
	const char *label = a->k->label;

	if (c->action == HIST_A_NEW)
		return entity_emit(txn, a, a->k->created, c->id,
		                   label ? json_string_value(json_object_get(new, label)) : NULL,
		                   NULL, new, NULL, NULL, cause);
	return entity_emit(txn, a, a->k->deleted, c->id,
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

	hist_key_kind(&prefix, a->tailnet, ENTITY_ROW(a->k)->kind, id);
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
int
entity_doc_events(struct store_txn *txn, struct entity_apply *a, struct entity_change *c,
                  char **cause)
{
	json_t *old = c->old_stable ? json_loads(c->old_stable, 0, NULL) : NULL;
	json_t *new = c->it ? json_loads(c->it->stable, 0, NULL) : NULL, *changed, *data = NULL;
	int rc, singleton = a->k->list == NULL;

	if (c->action != HIST_A_CHANGE) {
		/* A singleton is new only at its endpoint's first poll, which records no event. */
		rc = singleton ? 0 : entity_whole_events(txn, a, c, old, new, cause);
	} else {
		changed = hist_changed_fields(old, new);
		/* Revision numbers, so that a hook can run "tsinvctl acl diff OLD NEW". */
		if (a->k->ep == ENDPOINT_policy) {
			json_int_t n = (json_int_t)entity_count_versions(txn, a, c->id);

			data = json_pack("{s:I, s:I}", "rev_before", n - 1, "rev_after", n);
		}
		rc = entity_emit_fields(txn, a, c, a->k->changed, old, new, changed, NULL, NULL,
		                        data, cause);
		json_decref(changed);
	}
	json_decref(data);
	json_decref(old);
	json_decref(new);
	return rc;
}

/* The current record of entity ID of KIND: its stable JSON (new reference), or NULL. */
json_t *
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

/* Opens the read transaction and starts the answer: tailnet, at, as_of, coverage. */
int
entity_query_begin(struct store *st, struct store_txn *txn, const char *tailnet,
                   const struct entity_kind *k, tstime_t at, struct entity_query *q, json_t **res,
                   char **cause)
{
	char *reason = NULL;

	q->at = at;
	q->covered = 1;
	q->txn = txn;
	q->own = txn == NULL;
	if (q->own && store_read_begin(st, &q->txn, cause) == -1)
		return -1;
	if (hist_ep_read(q->txn, tailnet, ENTITY_ROW(k)->name, &q->ep, cause) == -1) {
		if (q->own)
			store_read_end(q->txn);
		return -1;
	}
	*res = json_object();
	json_object_set_new(*res, "tailnet", json_string(tailnet));
	json_object_set_new(*res, "at", hist_time_json(at));
	json_object_set_new(*res, "as_of", hist_time_json(at == TSTIME_NONE ? q->ep.last_ok : at));
	if (at == TSTIME_NONE && q->ep.last_ok == TSTIME_NONE)
		reason = xasprintf("no successful poll of %s yet", ENTITY_ROW(k)->name);
	else if (at != TSTIME_NONE)
		q->covered = hist_covered(q->txn, tailnet, ENTITY_ROW(k)->name, at, &reason);
	json_object_set_new(*res, "coverage", json_string(reason == NULL ? "covered" : "unknown"));
	if (reason != NULL)
		json_object_set_new(*res, "reason", json_string(reason));
	free(reason);
	return 0;
}

void
entity_query_end(struct entity_query *q)
{
	hist_endpoint_free(&q->ep);
	if (q->own)
		store_read_end(q->txn);
}

/* One listed entity: id, state, bounds, the record under its kind's name, volatile part, and
 * who made the change that started the version listed (attrib.c), when the log says. */
static json_t *
entity_row(struct entity_query *q, const char *tailnet, const struct entity_kind *k, const char *id,
           enum hist_state s, const struct hist_bounds *b, const char *stable, size_t slen,
           const char *vol, size_t vlen)
{
	json_t *row = json_object();
	json_t *a = attrib_get(q->txn, tailnet, ENTITY_ROW(k)->kind, id, b->from_hi);
	struct hist_bounds pb = *b;

	/* Only an attributed change has a pin: no other row costs a lookup. */
	if (json_is_string(json_object_get(a, "state")) &&
	    strcmp(json_string_value(json_object_get(a, "state")), "attributed") == 0)
		pin_apply(q->txn, tailnet, ENTITY_ROW(k)->kind, id, &pb);
	json_object_set_new(row, "id", json_string(id));
	json_object_set_new(row, "state", json_string(hist_state_names[s]));
	hist_bounds_json(row, &pb);
	json_object_set_new(row, k->name, json_loadb(stable, slen, 0, NULL) ?: json_null());
	if (vol != NULL && vlen > 0)
		json_object_set_new(row, "volatile", json_loadb(vol, vlen, 0, NULL) ?: json_null());
	if (a != NULL)
		json_object_set_new(row, "attribution", a);
	return row;
}

/* Every entity of K now (from cur) or at Q->at (every version held or maybe then). */
json_t *
entity_rows(struct entity_query *q, const char *tailnet, const struct entity_kind *k)
{
	struct store_cursor *cur;
	struct store_key prefix;
	struct store_val key, val;
	json_t *rows = json_array();
	char *cause = NULL;
	int rc, now = q->at == TSTIME_NONE;

	hist_key_kind(&prefix, tailnet, ENTITY_ROW(k)->kind, NULL);
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
			json_array_append_new(rows, entity_row(q, tailnet, k, id, HIST_HELD, &cr.b,
			                                       cr.stable, cr.stable_len, cr.vol,
			                                       cr.vol_len));
			continue;
		}
		if (val.len < HIST_BOUNDS_LEN)
			continue;
		hist_bounds_get(val.data, &b);
		s = hist_state_cov(&b, q->at, q->ep.last_ok, q->covered);
		/* Only a window's maybe can a pin change: the other rows cost no lookup. */
		if (s == HIST_MAYBE && pin_apply(q->txn, tailnet, ENTITY_ROW(k)->kind, id, &b))
			s = hist_state_cov(&b, q->at, q->ep.last_ok, q->covered);
		if (s == HIST_NO)
			continue;
		json_array_append_new(rows, entity_row(q, tailnet, k, id, s, &b,
		                                       (const char *)val.data + HIST_BOUNDS_LEN,
		                                       val.len - HIST_BOUNDS_LEN, NULL, 0));
	}
	store_cursor_close(cur);
	return rows;
}

int
entity_list(struct store *st, struct store_txn *txn, const char *tailnet,
            const struct entity_kind *k, tstime_t at, json_t **out, char **cause)
{
	struct entity_query q;

	if (entity_query_begin(st, txn, tailnet, k, at, &q, out, cause) == -1)
		return HIST_ERR;
	json_object_set_new(*out, k->list, entity_rows(&q, tailnet, k));
	entity_query_end(&q);
	return HIST_OK;
}
