/* nbplan.c: the NetBox reconcile planner over C structs: match, diff, retire; no I/O. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "nbplan.h"

static const char *const nbplan_names[] = {
#define NBPLAN_NAME(sym, name) [NBPLAN_##sym] = name,
    NBPLAN_ACTIONS(NBPLAN_NAME)
#undef NBPLAN_NAME
};

const char *
nbplan_action_name(enum nbplan_action a)
{
	return nbplan_names[a];
}

/* A match key and the index it belongs to; sorted by key, then index. */
struct nbplan_key {
	char *key;
	size_t i;
};

/* The working state of one nbplan_make. */
struct nbplan_ctx {
	const struct nbplan_in *in;
	struct nbplan *out;
	struct nbplan_key *bykey;  /* recs by node, address, VRF */
	struct nbplan_key *byaddr; /* recs by address, VRF */
	struct nbplan_key *wanted; /* wants by node, address, VRF */
	size_t nwanted;
	char *used; /* recs already matched */
	size_t cap;
};

static const char *
nbplan_cf(json_t *obj, const char *name)
{
	return json_string_value(json_object_get(json_object_get(obj, "custom_fields"), name));
}

void
nbplan_rec_init(struct nbplan_rec *r, const struct ipam_map *m)
{
	json_t *vrf = json_object_get(r->rec, "vrf"), *st = json_object_get(r->rec, "status");

	r->id = json_integer_value(json_object_get(r->rec, "id"));
	r->address = json_string_value(json_object_get(r->rec, "address"));
	r->vrf_id = json_is_object(vrf) ? json_integer_value(json_object_get(vrf, "id"))
	                                : json_integer_value(vrf);
	r->vrf_name = json_string_value(json_object_get(vrf, "name"));
	r->node_id = nbplan_cf(r->rec, m->cf_node_id);
	r->tailnet = nbplan_cf(r->rec, m->cf_tailnet);
	r->status = json_string_value(json_is_object(st) ? json_object_get(st, "value") : st);
}

/* "node\naddress\nvrf id" (malloc'd): the address in one spelling; NODE NULL for the address
 * key alone. */
static char *
nbplan_key(const char *node, const char *address, int64_t vrf)
{
	char host[64];
	int plen;

	if (address == NULL || ipam_addr_key(address, host, sizeof(host), &plen) == -1)
		snprintf(host, sizeof(host), "?%.60s", address ? address : "");
	return xasprintf("%s\n%s\n%lld", node ? node : "", host, (long long)vrf);
}

static int
nbplan_key_cmp(const void *a, const void *b)
{
	const struct nbplan_key *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c != 0 ? c : x->i < y->i ? -1 : x->i > y->i;
}

/* The first entry of KEYS (sorted) with KEY, or N. */
static size_t
nbplan_key_find(const struct nbplan_key *keys, size_t n, const char *key)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(keys[mid].key, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && strcmp(keys[lo].key, key) == 0 ? lo : n;
}

static void
nbplan_keys_free(struct nbplan_key *keys, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(keys[i].key);
	free(keys);
}

json_t *
nbplan_changelog(const char *action, const char *address, const char *tailnet, const char *node)
{
	char *msg = xasprintf("tsinvd: %s %s (tailnet %s, node %s)", action, address,
	                      tailnet ? tailnet : "?", node ? node : "?");
	json_t *j;

	ipam_cut_chars(msg, NBPLAN_CHANGELOG_MAX);
	j = json_string(msg);
	free(msg);
	return j;
}

static int
nbplan_has(const char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			return 1;
	return 0;
}

static const struct nbplan_tag *
nbplan_tag_by(const struct nbplan_in *in, const char *slug, int by_name)
{
	for (size_t i = 0; i < in->ntags; i++) {
		const char *v = by_name ? in->tags[i].name : in->tags[i].slug;

		if (v != NULL && strcmp(v, slug) == 0)
			return &in->tags[i];
	}
	return NULL;
}

int
nbplan_tag_managed(const struct nbplan_in *in, const char *slug)
{
	const struct nbplan_tag *t = nbplan_tag_by(in, slug, 0);
	const char *prefix = in->m->tag_prefix, *owner = in->m->owner_tag;

	if (owner != NULL && strcmp(slug, owner) == 0)
		return 1;
	if (prefix != NULL && *prefix != '\0' && strncmp(slug, prefix, strlen(prefix)) == 0)
		return 1;
	return t != NULL && t->description != NULL &&
	       strcmp(t->description, NBPLAN_TAG_DESCRIPTION) == 0;
}

/* The slug NetBox knows for a wanted SLUG: its own, or that of the tag named so (a tag made
 * by hand, whose name NetBox would not give a second tag); else SLUG, to be created. */
static const char *
nbplan_tag_resolve(const struct nbplan_in *in, const char *slug)
{
	const struct nbplan_tag *t;

	if (nbplan_tag_by(in, slug, 0) != NULL)
		return slug;
	if ((t = nbplan_tag_by(in, slug, 1)) != NULL && t->slug != NULL)
		return t->slug;
	return slug;
}

/* Notes each slug TAGS name that NetBox lacks and no earlier step named. */
static void
nbplan_tags(struct nbplan_ctx *c, json_t *tags)
{
	struct nbplan *out = c->out;
	json_t *t;
	size_t i;

	json_array_foreach(tags, i, t)
	{
		const char *slug = json_string_value(json_object_get(t, "slug"));

		if (slug == NULL || nbplan_tag_by(c->in, slug, 0) != NULL ||
		    nbplan_has((const char *const *)out->new_tags, out->nnew_tags, slug))
			continue;
		out->new_tags = xrealloc(out->new_tags, (out->nnew_tags + 1) * sizeof(char *));
		out->new_tags[out->nnew_tags++] = xstrdup(slug);
	}
}

static void
nbplan_add(struct nbplan_ctx *c, enum nbplan_action action, const struct nbplan_want *w,
           const struct nbplan_rec *r, json_t *body)
{
	struct nbplan *out = c->out;
	const char *addr =
	    w != NULL ? json_string_value(json_object_get(w->obj, "address")) : r->address;
	const char *tn = w != NULL ? w->tailnet : r->tailnet;
	const char *node = w != NULL ? nbplan_cf(w->obj, c->in->m->cf_node_id) : r->node_id;

	json_object_set_new(body, "changelog_message",
	                    nbplan_changelog(nbplan_names[action], addr, tn, node));
	nbplan_tags(c, json_object_get(body, "tags"));
	nbplan_tags(c, json_object_get(body, "add_tags"));
	if (out->nsteps == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 16;
		out->steps = xrealloc(out->steps, c->cap * sizeof(*out->steps));
	}
	out->steps[out->nsteps++] = (struct nbplan_step){action, w, r, body};
}

/* Indexes the records and the wanted keys. */
static void
nbplan_index(struct nbplan_ctx *c)
{
	const struct nbplan_in *in = c->in;
	size_t n = in->nrecs ? in->nrecs : 1;

	c->bykey = xcalloc(n, sizeof(*c->bykey));
	c->byaddr = xcalloc(n, sizeof(*c->byaddr));
	c->used = xcalloc(n, 1);
	for (size_t i = 0; i < in->nrecs; i++) {
		const struct nbplan_rec *r = &in->recs[i];

		c->bykey[i] = (struct nbplan_key){nbplan_key(r->node_id, r->address, r->vrf_id), i};
		c->byaddr[i] = (struct nbplan_key){nbplan_key(NULL, r->address, r->vrf_id), i};
	}
	qsort(c->bykey, in->nrecs, sizeof(*c->bykey), nbplan_key_cmp);
	qsort(c->byaddr, in->nrecs, sizeof(*c->byaddr), nbplan_key_cmp);
	c->wanted = xcalloc(in->nwants ? in->nwants : 1, sizeof(*c->wanted));
	for (size_t i = 0; i < in->nwants; i++) {
		const struct nbplan_want *w = &in->wants[i];

		c->wanted[c->nwanted++] = (struct nbplan_key){
		    nbplan_key(nbplan_cf(w->obj, in->m->cf_node_id),
		               json_string_value(json_object_get(w->obj, "address")), w->vrf_id),
		    i};
	}
	qsort(c->wanted, c->nwanted, sizeof(*c->wanted), nbplan_key_cmp);
}

/* The record a want takes: its own (same node, address, VRF), or for an active address one
 * that holds the address for a node no one wants there. NULL for none. */
static const struct nbplan_rec *
nbplan_match(struct nbplan_ctx *c, const struct nbplan_want *w, int deprecated)
{
	const struct nbplan_in *in = c->in;
	const char *addr = json_string_value(json_object_get(w->obj, "address"));
	char *key = nbplan_key(nbplan_cf(w->obj, in->m->cf_node_id), addr, w->vrf_id);
	size_t k = nbplan_key_find(c->bykey, in->nrecs, key), rec = in->nrecs;

	free(key);
	if (k < in->nrecs && !c->used[c->bykey[k].i])
		rec = c->bykey[k].i;
	/* An address that passed to another node: its record, if no one wants it as it is,
	 * follows the address (NetBox would refuse a second one in the VRF). */
	if (rec == in->nrecs && !deprecated) {
		char *akey = nbplan_key(NULL, addr, w->vrf_id);

		for (k = nbplan_key_find(c->byaddr, in->nrecs, akey);
		     k < in->nrecs && strcmp(c->byaddr[k].key, akey) == 0; k++) {
			const struct nbplan_rec *r = &in->recs[c->byaddr[k].i];
			char *rkey;
			int taken;

			if (c->used[c->byaddr[k].i])
				continue;
			rkey = nbplan_key(r->node_id, addr, w->vrf_id);
			taken = nbplan_key_find(c->wanted, c->nwanted, rkey) < c->nwanted;
			free(rkey);
			if (!taken) {
				rec = c->byaddr[k].i;
				break;
			}
		}
		free(akey);
	}
	if (rec == in->nrecs)
		return NULL;
	c->used[rec] = 1;
	return &in->recs[rec];
}

static int
nbplan_slug_in(json_t *tags, const char *slug)
{
	json_t *t;
	size_t i;

	json_array_foreach(tags, i, t)
	{
		const char *s = json_string_value(json_object_get(t, "slug"));

		if (s != NULL && strcmp(s, slug) == 0)
			return 1;
	}
	return 0;
}

/* WANT's object with each tag as NetBox knows it (new reference). */
static json_t *
nbplan_resolved(const struct nbplan_in *in, json_t *want)
{
	json_t *obj = json_deep_copy(want), *tags = json_array(), *t;
	size_t i;

	json_array_foreach(json_object_get(want, "tags"), i, t)
	{
		const char *s = json_string_value(json_object_get(t, "slug"));

		if (s == NULL)
			continue;
		s = nbplan_tag_resolve(in, s);
		if (!nbplan_slug_in(tags, s))
			json_array_append_new(tags, json_pack("{s:s}", "slug", s));
	}
	json_object_set_new(obj, "tags", tags);
	return obj;
}

/* Sets in PATCH the tag change from HAVE's tags to WANT's: what is missing added, what tsinv
 * manages and no longer wants removed, the rest kept. */
static void
nbplan_tag_patch(struct nbplan_ctx *c, json_t *have, json_t *want, json_t *patch)
{
	json_t *ht = json_object_get(have, "tags"), *wt = json_object_get(want, "tags");
	json_t *add = json_array(), *remove = json_array(), *keep = json_array(), *t;
	size_t i;

	json_array_foreach(wt, i, t)
	{
		const char *s = json_string_value(json_object_get(t, "slug"));

		if (s != NULL && !nbplan_slug_in(ht, s))
			json_array_append_new(add, json_pack("{s:s}", "slug", s));
	}
	json_array_foreach(ht, i, t)
	{
		const char *s = json_string_value(json_object_get(t, "slug"));

		if (s == NULL)
			continue;
		if (!nbplan_slug_in(wt, s) && nbplan_tag_managed(c->in, s))
			json_array_append_new(remove, json_pack("{s:s}", "slug", s));
		else
			json_array_append_new(keep, json_pack("{s:s}", "slug", s));
	}
	if (json_array_size(add) + json_array_size(remove) > 0 && c->in->tag_ops) {
		if (json_array_size(add) > 0)
			json_object_set(patch, "add_tags", add);
		if (json_array_size(remove) > 0)
			json_object_set(patch, "remove_tags", remove);
	} else if (json_array_size(add) + json_array_size(remove) > 0) {
		json_array_extend(keep, add);
		json_object_set(patch, "tags", keep);
	}
	json_decref(add);
	json_decref(remove);
	json_decref(keep);
}

json_t *
nbplan_tag_set(const struct nbplan_in *in, json_t *have, json_t *want)
{
	json_t *obj = nbplan_resolved(in, want), *out = json_array(), *t;
	json_t *wt = json_object_get(obj, "tags");
	size_t i;

	json_array_foreach(wt, i, t) json_array_append(out, t);
	json_array_foreach(json_object_get(have, "tags"), i, t)
	{
		const char *s = json_string_value(json_object_get(t, "slug"));

		if (s != NULL && !nbplan_slug_in(wt, s) && !nbplan_tag_managed(in, s))
			json_array_append_new(out, json_pack("{s:s}", "slug", s));
	}
	json_decref(obj);
	return out;
}

const struct nbplan_rec *
nbplan_find(const struct nbplan_rec *recs, size_t n, const char *node, const char *address,
            int64_t vrf)
{
	const struct nbplan_rec *any = NULL;
	char want[64], have[64];
	int plen;

	if (address == NULL || ipam_addr_key(address, want, sizeof(want), &plen) == -1)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (recs[i].vrf_id != vrf || recs[i].address == NULL ||
		    ipam_addr_key(recs[i].address, have, sizeof(have), &plen) == -1 ||
		    strcmp(want, have) != 0)
			continue;
		if (node != NULL && recs[i].node_id != NULL && strcmp(node, recs[i].node_id) == 0)
			return &recs[i];
		if (any == NULL)
			any = &recs[i];
	}
	return any;
}

/* Plans one want: an update of its record, or a create. */
static void
nbplan_want(struct nbplan_ctx *c, const struct nbplan_want *w)
{
	const struct nbplan_in *in = c->in;
	const char *status = json_string_value(json_object_get(w->obj, "status"));
	const char *node = nbplan_cf(w->obj, in->m->cf_node_id);
	int deprecated = status != NULL && strcmp(status, "deprecated") == 0;
	const struct nbplan_rec *r = nbplan_match(c, w, deprecated);
	enum nbplan_action action = NBPLAN_UPDATE;
	json_t *patch, *obj = nbplan_resolved(in, w->obj);

	if (r == NULL) {
		/* A released address NetBox never held is not worth a record. */
		if (!deprecated)
			nbplan_add(c, NBPLAN_CREATE, w, NULL, obj);
		else
			json_decref(obj);
		return;
	}
	patch = ipam_netbox_diff(r->rec, obj, in->m, in->slack);
	if (patch != NULL) {
		/* The diff compares whole tag sets; tsinv merges them. */
		json_object_del(patch, "tags");
		nbplan_tag_patch(c, r->rec, obj, patch);
	}
	json_decref(obj);
	if (patch == NULL || json_object_size(patch) == 0) {
		json_decref(patch);
		c->out->unchanged++;
		return;
	}
	json_object_set_new(patch, "id", json_integer(r->id));
	if (strcmp(r->node_id ? r->node_id : "", node ? node : "") != 0)
		action = NBPLAN_REASSIGN;
	else if (deprecated && json_object_get(patch, "status") != NULL)
		action = NBPLAN_DEPRECATE;
	nbplan_add(c, action, w, r, patch);
}

void
nbplan_make(const struct nbplan_in *in, struct nbplan *out)
{
	struct nbplan_ctx c = {.in = in, .out = out};

	*out = (struct nbplan){0};
	nbplan_index(&c);
	for (size_t i = 0; i < in->nwants; i++)
		nbplan_want(&c, &in->wants[i]);
	/* What is ours and no longer wanted is retired, never deleted; records of a tailnet left
	 * out of this run stay as they are. */
	for (size_t i = 0; i < in->nrecs; i++) {
		const struct nbplan_rec *r = &in->recs[i];

		if (c.used[i] ||
		    (r->tailnet != NULL && nbplan_has(in->held, in->nheld, r->tailnet)))
			continue;
		if (r->status != NULL && strcmp(r->status, "deprecated") == 0) {
			out->unchanged++;
			continue;
		}
		nbplan_add(
		    &c, NBPLAN_DEPRECATE, NULL, r,
		    json_pack("{s:I, s:s}", "id", (json_int_t)r->id, "status", "deprecated"));
	}
	nbplan_keys_free(c.bykey, in->nrecs);
	nbplan_keys_free(c.byaddr, in->nrecs);
	nbplan_keys_free(c.wanted, c.nwanted);
	free(c.used);
}

json_t *
nbplan_step_json(const struct nbplan_step *s, const struct ipam_map *m)
{
	int create = s->action == NBPLAN_CREATE;
	json_t *obj = s->want != NULL ? s->want->obj : s->rec->rec;
	json_t *p = json_pack(
	    "{s:s, s:O, s:s?, s:s?, s:s?}", "action", nbplan_action_name(s->action), "address",
	    json_object_get(obj, "address"), "vrf", s->want ? s->want->vrf : s->rec->vrf_name,
	    "tailnet", s->want ? s->want->tailnet : s->rec->tailnet, "node_id",
	    json_string_value(
	        json_object_get(json_object_get(obj, "custom_fields"), m->cf_node_id)));
	json_t *fields, *v;
	const char *k;
	int tags_listed = 0;

	if (!create) {
		json_object_set_new(p, "id", json_integer(s->rec->id));
		fields = json_array();
		json_object_foreach(s->body, k, v)
		{
			if (strcmp(k, "custom_fields") == 0) {
				const char *ck;
				json_t *cv;

				json_object_foreach(v, ck, cv)
				{
					json_array_append_new(fields, json_sprintf("cf_%s", ck));
				}
			} else if (strcmp(k, "add_tags") == 0 || strcmp(k, "remove_tags") == 0) {
				if (!json_object_get(s->body, "tags") && !tags_listed++)
					json_array_append_new(fields, json_string("tags"));
			} else if (strcmp(k, "id") != 0 && strcmp(k, "changelog_message") != 0)
				json_array_append_new(fields, json_string(k));
		}
		json_object_set_new(p, "fields", fields);
	}
	return p;
}

void
nbplan_free(struct nbplan *p)
{
	for (size_t i = 0; i < p->nsteps; i++)
		json_decref(p->steps[i].body);
	free(p->steps);
	for (size_t i = 0; i < p->nnew_tags; i++)
		free(p->new_tags[i]);
	free(p->new_tags);
	*p = (struct nbplan){0};
}
