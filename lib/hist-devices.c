/* hist-devices.c: recording a devices answer: versions, address intervals, names and events. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event-log.h"
#include "hist-int.h"
#include "hist-raw.h"
#include "jscan.h"
#include "log.h"
#include "norm.h"

struct hist_change {
	enum hist_action action;
	struct norm_device *nd; /* the new state (NULL for GONE) */
	char id[NORM_MAX_ID + 1];
	struct hist_bounds cur; /* the open version's bounds (CHANGE, VOL, GONE) */
	int old_online;         /* VOL: connectedToControl before */
	int old_multi;          /* VOL, CHANGE: multipleConnections before */
	int hidden;             /* GONE: a shared-in device an OAuth token does not list */
	int returned;           /* NEW: a device that had been hidden so */
	char *old_stable;       /* CHANGE, GONE: malloc'd */
	/* CHANGE of a record an earlier release wrote: its stable part with the fields that release
	 * kept as volatile (norm_device_adopt), and whether that is all that changed. */
	json_t *old_adopted;
	int adopted;
	/* GONE: what confirms it, and the mark of its first absence (and that window). */
	enum hist_confirm confirm;
	int marked;
	tstime_t miss_lo, miss_hi;
};

struct hist_apply {
	const char *tailnet;
	tstime_t t;
	const struct hist_policy *pol;
	const char *body; /* the answer's bytes, as the API sent them */
	size_t len;
	unsigned char hash[HIST_RAW_HASH]; /* of the whole body */
	struct norm_device *devs;          /* sorted by id */
	size_t ndevs, nslots;
	struct hist_poll_result *res;
	struct hist_change *ch;
	size_t nch;
	const struct endpoint_answer *ans; /* the devices fetched by id (NULL: none) */
	int trust; /* the raw records are those this code keeps: unchanged bytes are not parsed */
	int stale; /* an unparsed device turned out to have no current record */
};

static void
hist_changes_free(struct hist_apply *a)
{
	for (size_t i = 0; i < a->nch; i++) {
		free(a->ch[i].old_stable);
		json_decref(a->ch[i].old_adopted);
	}
	free(a->ch);
	a->ch = NULL;
	a->nch = 0;
}

static struct hist_change *
hist_change_add(struct hist_apply *a, enum hist_action act, const char *id, struct norm_device *nd)
{
	struct hist_change *c;

	a->ch = xrealloc(a->ch, (a->nch + 1) * sizeof(*a->ch));
	c = &a->ch[a->nch++];
	memset(c, 0, sizeof(*c));
	c->action = act;
	c->nd = nd;
	snprintf(c->id, sizeof(c->id), "%s", id);
	return c;
}

static void
hist_dev_view(size_t i, void *arg, struct hist_item_view *out)
{
	const struct norm_device *nd = &((struct hist_apply *)arg)->devs[i];

	*out = (struct hist_item_view){nd->id, nd->stable, nd->vol, nd->stable_len, nd->vol_len};
}

static void
hist_dev_change(enum hist_action act, const char *id, size_t i, const struct hist_cur *cr,
                void *arg)
{
	struct hist_apply *a = arg;
	struct hist_change *c;

	/* Its bytes made a current record that is not there: no raw record can be trusted. */
	if (act == HIST_A_NEW && a->devs[i].same) {
		a->stale = 1;
		return;
	}
	c = hist_change_add(a, act, id, act == HIST_A_GONE ? NULL : &a->devs[i]);

	if (cr == NULL)
		return;
	c->cur = cr->b;
	/* The volatile part is our own compact, sorted dump: a substring test is exact. */
	c->old_online = memmem(cr->vol, cr->vol_len, "\"connectedToControl\":true",
	                       strlen("\"connectedToControl\":true")) != NULL;
	c->old_multi = memmem(cr->vol, cr->vol_len, "\"multipleConnections\":true",
	                      strlen("\"multipleConnections\":true")) != NULL;
	if (act != HIST_A_VOL)
		c->old_stable = hist_cur_stable_dup(cr);
	if (act == HIST_A_CHANGE) {
		json_t *old = json_loadb(cr->stable, cr->stable_len, 0, NULL), *new;

		if (old != NULL && norm_device_adopt(old, cr->vol, cr->vol_len) > 0) {
			new = json_loadb(a->devs[i].stable, a->devs[i].stable_len, 0, NULL);
			c->adopted = json_equal(old, new);
			c->old_adopted = old;
			json_decref(new);
		} else
			json_decref(old);
	}
}

/* Merges the sorted answer with the sorted current records into a list of changes. */
static int
hist_classify(struct store_txn *txn, struct hist_apply *a, uint64_t *ncur, char **cause)
{
	return hist_merge(txn, a->tailnet, HIST_DEVICES->kind, a->ndevs, hist_dev_view,
	                  hist_dev_change, a, ncur, cause);
}

/* Device ND's raw record. */
static int
hist_raw_put_dev(struct store_txn *txn, const char *tailnet, const struct norm_device *nd,
                 char **cause)
{
	return hist_raw_put(txn, tailnet, nd->id, nd->raw, nd->expires,
	                    (nd->key_expiry_disabled ? HIST_RAW_F_KEY_EXPIRY_DISABLED : 0) |
	                        (nd->online ? HIST_RAW_F_ONLINE : 0) |
	                        (nd->multiple_connections ? HIST_RAW_F_MULTI : 0),
	                    cause);
}

/* A device the poll did not parse: its bytes are those of the raw record E. */
static void
hist_raw_same(struct norm_device *nd, const struct hist_raw_ent *e, size_t order)
{
	memset(nd, 0, sizeof(*nd));
	snprintf(nd->id, sizeof(nd->id), "%s", e->id);
	memcpy(nd->raw, e->h, HIST_RAW_HASH);
	nd->same = 1;
	nd->order = order;
	nd->created = TSTIME_NONE;
	nd->expires = e->expires;
	nd->key_expiry_disabled = (e->flags & HIST_RAW_F_KEY_EXPIRY_DISABLED) != 0;
	nd->online = (e->flags & HIST_RAW_F_ONLINE) != 0;
	nd->multiple_connections = (e->flags & HIST_RAW_F_MULTI) != 0;
}

/* The stable JSON of ND: its own, or its current record's when it was not parsed (NULL if that
 * cannot be read). A new reference. */
static json_t *
hist_dev_stable(struct store_txn *txn, const char *tailnet, const struct norm_device *nd)
{
	struct store_key k;
	struct store_val v;
	struct hist_cur cr;
	char *cause = NULL;

	if (nd->stable != NULL)
		return json_loads(nd->stable, 0, NULL);
	hist_key_device(&k, tailnet, nd->id);
	if (store_get(txn, STORE_CUR, &k, &v, &cause) != 0 || hist_cur_decode(&v, &cr) == -1) {
		free(cause);
		return NULL;
	}
	return json_loadb(cr.stable, cr.stable_len, 0, NULL);
}

static int
hist_put_cur(struct store_txn *txn, const char *tailnet, const struct norm_device *nd,
             tstime_t from_lo, tstime_t from_hi, uint32_t flags, char **cause)
{
	struct hist_bounds b = {from_lo, from_hi,     TSTIME_NONE, TSTIME_NONE,
	                        flags,   TSTIME_NONE, TSTIME_NONE};
	size_t len;
	uint8_t *v = hist_cur_encode(&b, nd->stable, nd->stable_len, nd->vol, nd->vol_len, &len);
	struct store_key k;
	int rc;

	hist_key_device(&k, tailnet, nd->id);
	rc = store_put(txn, STORE_CUR, &k, v, len, cause);
	free(v);
	return rc;
}

static int
hist_open_version(struct store_txn *txn, const char *tailnet, const struct norm_device *nd,
                  const struct hist_bounds *b, char **cause)
{
	return hist_version_open(txn, tailnet, HIST_DEVICES->kind, nd->id, b, nd->stable,
	                         nd->stable_len, cause);
}

static int
hist_close_version(struct store_txn *txn, const char *tailnet, const char *id, tstime_t from_hi,
                   tstime_t to_lo, tstime_t to_hi, char **cause)
{
	return hist_version_close(txn, tailnet, HIST_DEVICES->kind, id, from_hi, to_lo, to_hi,
	                          cause);
}

static int
hist_open_addr(struct store_txn *txn, const char *tailnet, const struct tsaddr *a, const char *id,
               const struct hist_bounds *b, char **cause)
{
	uint8_t v[HIST_BOUNDS_LEN];
	struct store_key k;

	hist_key_addr(&k, tailnet, a);
	store_key_i64(&k, b->from_hi);
	store_key_str(&k, id);
	hist_bounds_put(v, b);
	return store_put(txn, STORE_ADDR, &k, v, sizeof(v), cause);
}

/* Sets the end of ID's interval of address A whose to_hi is now WHICH (TSTIME_NONE: the open
 * one; HIST_UNSEEN_END: the one hidden from the credential). */
static int
hist_end_addr(struct store_txn *txn, const char *tailnet, const struct tsaddr *a, const char *id,
              tstime_t which, tstime_t to_lo, tstime_t to_hi, char **cause)
{
	struct store_cursor *cur;
	struct store_key prefix, k;
	struct store_val key, val;
	struct hist_bounds b;
	int rc, found = 0;

	hist_key_addr(&prefix, tailnet, a);
	if (store_cursor_open(txn, STORE_ADDR, &cur, cause) == -1)
		return -1;
	for (rc = store_cursor_seek(cur, &prefix, &prefix, &key, &val); rc == 0;
	     rc = store_cursor_step(cur, 1, &key, &val)) {
		/* A damaged key (no NUL at its end) is passed over, never read past. */
		if (key.len <= prefix.len + 8 || val.len < HIST_BOUNDS_LEN ||
		    ((const char *)key.data)[key.len - 1] != '\0')
			continue;
		if (strcmp((const char *)key.data + prefix.len + 8, id) != 0)
			continue;
		hist_bounds_get(val.data, &b);
		if (b.to_hi != which)
			continue;
		store_key_init(&k);
		store_key_bytes(&k, key.data, key.len);
		found = 1;
		break;
	}
	store_cursor_close(cur);
	if (!found)
		return 0; /* nothing open: nothing to close */
	b.to_lo = to_lo;
	b.to_hi = to_hi;
	uint8_t v[HIST_BOUNDS_LEN];
	hist_bounds_put(v, &b);
	return store_put(txn, STORE_ADDR, &k, v, sizeof(v), cause);
}

/* Closes the open interval of address A held by ID. */
static int
hist_close_addr(struct store_txn *txn, const char *tailnet, const struct tsaddr *a, const char *id,
                tstime_t to_lo, tstime_t to_hi, char **cause)
{
	return hist_end_addr(txn, tailnet, a, id, TSTIME_NONE, to_lo, to_hi, cause);
}

static size_t
hist_stable_addrs(const char *stable, struct tsaddr *out, size_t max)
{
	json_t *j = json_loads(stable, 0, NULL), *v;
	size_t i, n = 0;

	json_array_foreach(json_object_get(j, "addresses"), i, v)
	{
		if (n < max && json_is_string(v) && addr_parse(json_string_value(v), &out[n]) == 0)
			n++;
	}
	json_decref(j);
	return n;
}

static int
hist_addr_in(const struct tsaddr *a, const struct tsaddr *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (memcmp(a->b, set[i].b, sizeof(a->b)) == 0)
			return 1;
	return 0;
}

/* Indexes the names of a new version that the previous version (OLD, may be NULL) lacked. */
static int
hist_index_names(struct store_txn *txn, const char *tailnet, const struct norm_device *nd,
                 const char *old, tstime_t from_hi, char **cause)
{
	json_t *js = json_loads(nd->stable, 0, NULL), *jo = old ? json_loads(old, 0, NULL) : NULL;
	char *names[3], *onames[3];
	size_t n = norm_device_names(js, names), on = jo ? norm_device_names(jo, onames) : 0;
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		int known = 0;
		struct store_key k;

		for (size_t j = 0; j < on; j++)
			known |= strcmp(names[i], onames[j]) == 0;
		if (!known && rc == 0) {
			hist_key_name(&k, tailnet, names[i]);
			store_key_i64(&k, from_hi);
			store_key_str(&k, nd->id);
			/* A name too long for a key is not findable by name; the poll still counts.
			 */
			if (k.bad)
				log_warnx("%s: device %s: a name of %zu bytes is too long to index",
				          tailnet, nd->id, strlen(names[i]));
			else
				rc = store_put(txn, STORE_NAME, &k, "", 0, cause);
		}
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	for (size_t j = 0; j < on; j++)
		free(onames[j]);
	json_decref(js);
	json_decref(jo);
	return rc;
}

/* The mark of a device hidden from the credential: its version's from_hi and to_lo. */
static void
hist_hidden_key(struct store_key *k, const char *tailnet, const char *id)
{
	hist_key_device(k, tailnet, id);
	store_key_str(k, "hidden");
}

static int
hist_hidden_put(struct store_txn *txn, struct hist_apply *a, const char *id, tstime_t from_hi,
                tstime_t to_lo, char **cause)
{
	struct store_key k;
	uint8_t v[16];

	hist_hidden_key(&k, a->tailnet, id);
	store_put_i64(v, from_hi);
	store_put_i64(v + 8, to_lo);
	return store_put(txn, STORE_MARK, &k, v, sizeof(v), cause);
}

int
hist_hidden_get(struct store_txn *txn, const char *tailnet, const char *id, tstime_t *from_hi,
                tstime_t *to_lo, char **cause)
{
	struct store_key k;
	struct store_val v;
	int rc;

	hist_hidden_key(&k, tailnet, id);
	if ((rc = store_get(txn, STORE_MARK, &k, &v, cause)) != 0)
		return rc == 1 ? 0 : -1;
	if (v.len != 16)
		return 0;
	*from_hi = store_get_i64(v.data);
	*to_lo = store_get_i64((const uint8_t *)v.data + 8);
	return 1;
}

/* A hidden device is seen again at T: its unknown end becomes T (its version's and its
 * addresses'), and the mark goes. */
static int
hist_hidden_end(struct store_txn *txn, struct hist_apply *a, const char *id, tstime_t t,
                char **cause)
{
	struct tsaddr addrs[NORM_MAX_ADDRS];
	struct store_key k;
	struct store_val v;
	tstime_t from_hi, to_lo;
	size_t n = 0;
	char *stable;
	int rc = hist_hidden_get(txn, a->tailnet, id, &from_hi, &to_lo, cause);

	if (rc <= 0)
		return rc;
	hist_key_device(&k, a->tailnet, id);
	store_key_i64(&k, from_hi);
	if ((rc = store_get(txn, STORE_VER, &k, &v, cause)) == -1)
		return -1;
	if (rc == 0 && v.len > HIST_BOUNDS_LEN) {
		stable = xmalloc(v.len - HIST_BOUNDS_LEN + 1);
		memcpy(stable, (const uint8_t *)v.data + HIST_BOUNDS_LEN, v.len - HIST_BOUNDS_LEN);
		stable[v.len - HIST_BOUNDS_LEN] = '\0';
		n = hist_stable_addrs(stable, addrs, NORM_MAX_ADDRS);
		free(stable);
	}
	for (size_t i = 0; i < n; i++)
		if (hist_end_addr(txn, a->tailnet, &addrs[i], id, HIST_UNSEEN_END, to_lo, t,
		                  cause) == -1)
			return -1;
	if (hist_close_version(txn, a->tailnet, id, from_hi, to_lo, t, cause) == -1)
		return -1;
	hist_hidden_key(&k, a->tailnet, id);
	return store_del(txn, STORE_MARK, &k, cause) == -1 ? -1 : 0;
}

/* A device missing from an earlier list is there after all: its version and addresses are open
 * again, as if that list had never been, and its mark goes. */
static int
hist_devices_refute(struct store_txn *txn, struct hist_apply *a, const char *id, const char *stable,
                    tstime_t from_hi, char **cause)
{
	struct tsaddr addrs[NORM_MAX_ADDRS];
	size_t n = hist_stable_addrs(stable, addrs, NORM_MAX_ADDRS);

	for (size_t i = 0; i < n; i++)
		if (hist_end_addr(txn, a->tailnet, &addrs[i], id, HIST_PENDING_END, TSTIME_NONE,
		                  TSTIME_NONE, cause) == -1)
			return -1;
	log_notice("%s: device %s was missing from a list but is there: not deleted", a->tailnet,
	           id);
	a->res->refuted++;
	return hist_confirm_refute(txn, a->tailnet, HIST_DEVICES->kind, id, from_hi, cause);
}

/* Listed devices whose absence from an earlier list waited for confirmation: refuted. */
static int
hist_devices_refute_listed(struct store_txn *txn, struct hist_apply *a, char **cause)
{
	for (size_t i = 0; i < a->ndevs; i++) {
		struct hist_cur cr;
		char *stable;
		int rc = hist_confirm_marked(txn, a->tailnet, HIST_DEVICES->kind, a->devs[i].id,
		                             &cr, cause);

		if (rc == 0)
			continue;
		if (rc == -1)
			return -1;
		stable = hist_cur_stable_dup(&cr);
		rc = hist_devices_refute(txn, a, a->devs[i].id, stable, cr.b.from_hi, cause);
		free(stable);
		if (rc == -1)
			return -1;
	}
	return 0;
}

/* What confirms each device missing from the answer. */
static int
hist_devices_confirm(struct store_txn *txn, struct hist_apply *a, char **cause)
{
	for (size_t i = 0; i < a->nch; i++) {
		struct hist_change *c = &a->ch[i];
		int rc;

		if (c->action != HIST_A_GONE)
			continue;
		rc =
		    hist_confirm_check(txn, a->tailnet, HIST_DEVICES->kind, c->id, a->ans, "nodeId",
		                       a->t, a->pol, &c->marked, &c->miss_lo, &c->miss_hi, cause);
		if (rc == -1)
			return -1;
		c->confirm = (enum hist_confirm)rc;
	}
	return 0;
}

static int
hist_apply_change(struct store_txn *txn, struct hist_apply *a, struct hist_change *c,
                  tstime_t last_ok, char **cause)
{
	tstime_t t = a->t, old_from_hi = c->cur.from_hi;
	struct tsaddr old[NORM_MAX_ADDRS];
	size_t nold = 0, i;
	struct hist_bounds b = {last_ok, t, TSTIME_NONE, TSTIME_NONE, 0, TSTIME_NONE, TSTIME_NONE};
	struct norm_device *nd = c->nd;

	switch (c->action) {
	case HIST_A_VOL:
		a->res->vol_updates++;
		return hist_put_cur(txn, a->tailnet, nd, c->cur.from_lo, c->cur.from_hi,
		                    c->cur.flags, cause);
	case HIST_A_NEW:
		a->res->created++;
		/* The API's creation time is exact when it falls in the window since the last
		 * poll; before the first poll we cannot know this was the device's first state. */
		if (last_ok != TSTIME_NONE && nd->created != TSTIME_NONE && nd->created > last_ok &&
		    nd->created <= t) {
			b.from_lo = nd->created;
			b.flags |= HIST_F_EXACT_FROM;
		}
		break;
	case HIST_A_CHANGE:
		a->res->changed++;
		if (hist_close_version(txn, a->tailnet, c->id, old_from_hi, last_ok, t, cause) ==
		    -1)
			return -1;
		nold = hist_stable_addrs(c->old_stable, old, NORM_MAX_ADDRS);
		if (c->adopted)
			b.flags |= HIST_F_ADOPTED;
		break;
	case HIST_A_GONE: {
		struct store_key k;
		/* Hidden, not gone: seen until last_ok, unknown from then on. */
		tstime_t lo = last_ok, end = c->hidden ? HIST_UNSEEN_END : t, which = TSTIME_NONE;

		/* A device whose absence was waiting for confirmation ends as it would have. */
		if (c->marked && (c->hidden || c->confirm == HIST_CONFIRM_THERE)) {
			if (hist_devices_refute(txn, a, c->id, c->old_stable, old_from_hi, cause) ==
			    -1)
				return -1;
		} else if (c->marked && c->confirm == HIST_CONFIRM_GONE) {
			lo = c->miss_lo;
			end = c->miss_hi;
			which = HIST_PENDING_END;
			if (hist_confirm_done(txn, a->tailnet, HIST_DEVICES->kind, c->id, cause) ==
			    -1)
				return -1;
		}
		if (!c->hidden && c->confirm == HIST_CONFIRM_THERE) {
			if (!c->marked) {
				log_notice("%s: device %s is missing from the list but answered "
				           "by id: not deleted",
				           a->tailnet, c->id);
				a->res->refuted++;
			}
			return 0;
		}
		nold = hist_stable_addrs(c->old_stable, old, NORM_MAX_ADDRS);
		if (!c->hidden && c->confirm == HIST_CONFIRM_WAIT) {
			int rc = hist_confirm_wait(txn, a->tailnet, HIST_DEVICES->kind, c->id,
			                           old_from_hi, last_ok, t, cause);

			a->res->pending++;
			for (i = 0; rc == 1 && i < nold; i++)
				if (hist_end_addr(txn, a->tailnet, &old[i], c->id, TSTIME_NONE,
				                  last_ok, HIST_PENDING_END, cause) == -1)
					return -1;
			return rc == -1 ? -1 : 0;
		}
		if (c->hidden)
			a->res->hidden++;
		else
			a->res->deleted++;
		if (hist_close_version(txn, a->tailnet, c->id, old_from_hi, lo, end, cause) == -1)
			return -1;
		/* A deletion: joined to the audit log entry that logs it, when the poll ends. */
		if (!c->hidden)
			attrib_note_end(HIST_DEVICES->kind, c->id, end);
		for (i = 0; i < nold; i++)
			if (hist_end_addr(txn, a->tailnet, &old[i], c->id, which, lo, end, cause) ==
			    -1)
				return -1;
		if (c->hidden && hist_hidden_put(txn, a, c->id, old_from_hi, last_ok, cause) == -1)
			return -1;
		hist_key_device(&k, a->tailnet, c->id);
		if (store_del(txn, STORE_CUR, &k, cause) == -1)
			return -1;
		return hist_raw_del(txn, a->tailnet, c->id, cause);
	}
	}
	/* Back in sight: the hidden version ends where this one starts. */
	if (c->returned && hist_hidden_end(txn, a, c->id, t, cause) == -1)
		return -1;
	if (hist_open_version(txn, a->tailnet, nd, &b, cause) == -1 ||
	    hist_put_cur(txn, a->tailnet, nd, b.from_lo, b.from_hi, b.flags, cause) == -1 ||
	    hist_index_names(txn, a->tailnet, nd, c->old_stable, t, cause) == -1)
		return -1;
	for (i = 0; i < nold; i++)
		if (!hist_addr_in(&old[i], nd->addrs, nd->naddrs) &&
		    hist_close_addr(txn, a->tailnet, &old[i], c->id, last_ok, t, cause) == -1)
			return -1;
	for (i = 0; i < nd->naddrs; i++)
		if (!hist_addr_in(&nd->addrs[i], old, nold) &&
		    hist_open_addr(txn, a->tailnet, &nd->addrs[i], nd->id, &b, cause) == -1)
			return -1;
	return 0;
}

/* Fields that make an event of their own when they change; the rest make device.updated. */
static const struct {
	enum event_type_id type;
	const char *fields[3];
} hist_device_groups[] = {
    {EVENT_T_device_renamed, {"name", "hostname", NULL}},
    {EVENT_T_device_tags_changed, {"tags", NULL}},
    {EVENT_T_device_owner_changed, {"user", NULL}},
    {EVENT_T_device_authorized_changed, {"authorized", NULL}},
    {EVENT_T_device_key_expiry_changed, {"expires", "keyExpiryDisabled", NULL}},
    {EVENT_T_device_routes_changed, {"enabledRoutes", "advertisedRoutes", NULL}},
};

static int
hist_emit(struct store_txn *txn, struct hist_apply *a, enum event_type_id type, const char *kind,
          const char *id, const char *name, json_t *before, json_t *after, json_t *changed,
          json_t *data, char **cause)
{
	struct event_rec ev = {a->t, a->tailnet, type,  kind,    id,
	                       name, before,     after, changed, data};
	uint64_t seq;

	if (event_append(txn, &ev, &seq, cause) == -1)
		return -1;
	a->res->events++;
	return 0;
}

/* The members of OBJ named in FIELDS that CHANGED lists; a new reference. */
static json_t *
hist_pick(json_t *obj, json_t *changed, const char *const *fields)
{
	json_t *out = json_object(), *v;
	size_t i;

	json_array_foreach(changed, i, v)
	{
		for (const char *const *f = fields; *f != NULL; f++)
			if (strcmp(json_string_value(v), *f) == 0 &&
			    json_object_get(obj, *f) != NULL)
				json_object_set(out, *f, json_object_get(obj, *f));
	}
	return out;
}

static int
hist_in_list(json_t *list, const char *s)
{
	json_t *v;
	size_t i;

	json_array_foreach(list, i, v)
	{
		if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
			return 1;
	}
	return 0;
}

/* One event per address that is in FROM's list and not in TO's. */
static int
hist_addr_events(struct store_txn *txn, struct hist_apply *a, enum event_type_id type,
                 const char *id, const char *name, json_t *from, json_t *to, char **cause)
{
	json_t *fl = json_object_get(from, "addresses"), *tl = json_object_get(to, "addresses"), *v;
	size_t i;

	json_array_foreach(fl, i, v)
	{
		json_t *data;
		int rc;

		if (!json_is_string(v) || hist_in_list(tl, json_string_value(v)))
			continue;
		data = json_pack("{s:O}", "address", v);
		rc = hist_emit(txn, a, type, "device", id, name, NULL, NULL, NULL, data, cause);
		json_decref(data);
		if (rc == -1)
			return -1;
	}
	return 0;
}

/* The events one version change of a device makes: before and after hold only the fields that
 * concern each event. */
static int
hist_change_events(struct store_txn *txn, struct hist_apply *a, struct hist_change *c, char **cause)
{
	/* A record an earlier release wrote is compared with what that release knew of the
	 * fields it kept apart: tsinv recording more is no change of the device, and fires none. */
	json_t *old = c->old_adopted != NULL  ? json_incref(c->old_adopted)
	              : c->old_stable != NULL ? json_loads(c->old_stable, 0, NULL)
	                                      : NULL;
	json_t *new = c->nd != NULL ? json_loads(c->nd->stable, 0, NULL) : NULL;
	json_t *changed = NULL, *rest = NULL, *v;
	const char *name = json_string_value(json_object_get(new ? new : old, "name"));
	int rc = 0;
	size_t i, g;

	switch (c->action) {
	case HIST_A_NEW:
		/* A shared-in device seen again after a credential switch was never gone. */
		if (!c->returned)
			rc = hist_emit(txn, a, EVENT_T_device_created, "device", c->id, name, NULL,
			               new, NULL, NULL, cause);
		break;
	case HIST_A_GONE:
		if (!c->hidden && c->confirm == HIST_CONFIRM_GONE)
			rc = hist_emit(txn, a, EVENT_T_device_deleted, "device", c->id, name, old,
			               NULL, NULL, NULL, cause);
		break;
	case HIST_A_VOL:
		break;
	case HIST_A_CHANGE:
		changed = hist_changed_fields(old, new);
		rest = json_array();
		json_array_foreach(changed, i, v)
		{
			int grouped = strcmp(json_string_value(v), "addresses") == 0;

			for (g = 0; g < sizeof(hist_device_groups) / sizeof(hist_device_groups[0]);
			     g++)
				for (const char *const *f = hist_device_groups[g].fields; *f; f++)
					grouped |= strcmp(json_string_value(v), *f) == 0;
			if (!grouped)
				json_array_append(rest, v);
		}
		if (hist_in_list(changed, "addresses") &&
		    (hist_addr_events(txn, a, EVENT_T_device_address_added, c->id, name, new, old,
		                      cause) == -1 ||
		     hist_addr_events(txn, a, EVENT_T_device_address_removed, c->id, name, old, new,
		                      cause) == -1))
			rc = -1;
		for (g = 0;
		     rc == 0 && g < sizeof(hist_device_groups) / sizeof(hist_device_groups[0]);
		     g++) {
			json_t *b = hist_pick(old, changed, hist_device_groups[g].fields);
			json_t *f = hist_pick(new, changed, hist_device_groups[g].fields);
			json_t *ch = json_array();
			const char *key;

			json_object_foreach(b, key, v) json_array_append_new(ch, json_string(key));
			json_object_foreach(f, key, v) if (!hist_in_list(ch, key))
			    json_array_append_new(ch, json_string(key));
			if (json_array_size(ch) > 0)
				rc = hist_emit(txn, a, hist_device_groups[g].type, "device", c->id,
				               name, b, f, ch, NULL, cause);
			json_decref(b);
			json_decref(f);
			json_decref(ch);
		}
		if (rc == 0 && json_array_size(rest) > 0) {
			const char **fields = xcalloc(json_array_size(rest) + 1, sizeof(*fields));
			json_t *b, *f;

			json_array_foreach(rest, i, v) fields[i] = json_string_value(v);
			b = hist_pick(old, rest, fields);
			f = hist_pick(new, rest, fields);
			rc = hist_emit(txn, a, EVENT_T_device_updated, "device", c->id, name, b, f,
			               rest, NULL, cause);
			json_decref(b);
			json_decref(f);
			free(fields);
		}
		break;
	}
	/* Presence moves with or without a version change. */
	if (rc == 0 && a->pol->presence &&
	    (c->action == HIST_A_VOL || c->action == HIST_A_CHANGE) &&
	    c->old_online != c->nd->online)
		rc = hist_emit(txn, a,
		               c->nd->online ? EVENT_T_device_online : EVENT_T_device_offline,
		               "device", c->id, name, NULL, NULL, NULL, NULL, cause);
	/* Cloned node state shows only while both copies connect: each transition is kept, on
	 * or off presence events, since the value itself is never versioned. */
	if (rc == 0 && c->action != HIST_A_GONE && c->old_multi != c->nd->multiple_connections) {
		json_t *data =
		    json_pack("{s:b}", "multipleConnections", c->nd->multiple_connections);

		rc = hist_emit(txn, a, EVENT_T_device_multiple_connections, "device", c->id, name,
		               NULL, NULL, NULL, data, cause);
		json_decref(data);
	}
	json_decref(changed);
	json_decref(rest);
	json_decref(old);
	json_decref(new);
	return rc;
}

/* Node keys crossing a warning threshold or their expiry: each fires once per key (device and
 * expiry time) and threshold, across restarts. At the baseline the marks are set silently. */
static int
hist_expiry_events(struct store_txn *txn, struct hist_apply *a, int baseline, size_t *expiring,
                   size_t *expired, char **cause)
{
	const struct hist_policy *pol = a->pol;

	*expiring = *expired = 0;
	for (size_t i = 0; i < a->ndevs; i++) {
		const struct norm_device *nd = &a->devs[i];
		int64_t left;
		char what[96], dur[32], exp[TSTIME_STRLEN];
		size_t w, tight = pol->nexpiry_warn;
		int rc;

		if (nd->key_expiry_disabled || nd->expires == TSTIME_NONE)
			continue;
		left = nd->expires - a->t;
		/* Expiry itself is reported even when no warning threshold is configured. */
		if (left > 0 && (pol->nexpiry_warn == 0 || left > pol->expiry_warn[0]))
			continue;
		(*(left > 0 ? expiring : expired))++;
		for (w = 0; w < pol->nexpiry_warn; w++)
			if (left <= pol->expiry_warn[w])
				tight = w;
		if (left <= 0)
			snprintf(what, sizeof(what), "expired/%lld", (long long)nd->expires);
		else
			snprintf(what, sizeof(what), "expiring/%lld/%lld", (long long)nd->expires,
			         (long long)pol->expiry_warn[tight]);
		if ((rc = hist_mark(txn, a->tailnet, HIST_DEVICES->kind, nd->id, what, a->t,
		                    cause)) == -1)
			return -1;
		if (rc == 1 || baseline)
			continue;
		/* A key first seen past several thresholds warns once, at the tightest. */
		for (w = 0; left > 0 && w < tight; w++) {
			snprintf(what, sizeof(what), "expiring/%lld/%lld", (long long)nd->expires,
			         (long long)pol->expiry_warn[w]);
			if (hist_mark(txn, a->tailnet, HIST_DEVICES->kind, nd->id, what, a->t,
			              cause) == -1)
				return -1;
		}
		json_t *dev = hist_dev_stable(txn, a->tailnet, nd), *data;

		tstime_format(nd->expires, exp, sizeof(exp));
		if (left > 0) {
			tstime_format_duration(pol->expiry_warn[tight], dur, sizeof(dur));
			data = json_pack("{s:s, s:s, s:I}", "expires", exp, "threshold", dur,
			                 "remaining_s", (json_int_t)(left / TSTIME_SEC));
		} else
			data = json_pack("{s:s}", "expires", exp);
		rc = hist_emit(txn, a,
		               left > 0 ? EVENT_T_device_key_expiring : EVENT_T_device_key_expired,
		               "device", nd->id, json_string_value(json_object_get(dev, "name")),
		               NULL, NULL, NULL, data, cause);
		json_decref(data);
		json_decref(dev);
		if (rc == -1)
			return -1;
	}
	return 0;
}

/* What the credential cannot see is not gone: an OAuth-derived token does not list devices
 * shared into the tailnet (tailscale/tailscale#16911), so a shared-in device missing from its
 * answer is hidden (unknown from now on), never deleted. A device that comes back after that is
 * no new device. */
static int
hist_visibility(struct store_txn *txn, struct hist_apply *a, char **cause)
{
	static const char ext[] = "\"isExternal\":true";
	int oauth = a->pol->credential != NULL && strcmp(a->pol->credential, "oauth") == 0;
	tstime_t from_hi, to_lo;

	for (size_t i = 0; i < a->nch; i++) {
		struct hist_change *c = &a->ch[i];
		int rc;

		if (c->action == HIST_A_GONE && oauth && c->old_stable != NULL &&
		    strstr(c->old_stable, ext) != NULL)
			c->hidden = 1;
		if (c->action != HIST_A_NEW)
			continue;
		if ((rc = hist_hidden_get(txn, a->tailnet, c->id, &from_hi, &to_lo, cause)) == -1)
			return -1;
		c->returned = rc == 1;
	}
	return 0;
}

static void
hist_devs_free(struct hist_apply *a)
{
	for (size_t i = 0; i < a->nslots; i++)
		norm_device_free(&a->devs[i]);
	free(a->devs);
	a->devs = NULL;
	a->ndevs = a->nslots = 0;
}

static void
hist_drop_dev(void *nd)
{
	norm_device_free(nd);
}

/* Finds each element of the body's list and parses it alone, unless its bytes are those a
 * current record was made from; then the devices are sorted by id. 0, or -1 with *cause when
 * the answer does not check out (then nothing is recorded). */
static int
hist_devices_scan(struct store_txn *txn, struct hist_apply *a, char **cause)
{
	struct hist_raw_tab tab;
	struct jscan js;
	const char *el;
	size_t elen, i;
	int rc = jscan_member(a->body, a->len, "devices", &js, cause);
	EVP_MD_CTX *ctx;

	if (rc == -1) {
		char *why = *cause;

		*cause = xasprintf("the answer is not valid JSON (%s)", why);
		free(why);
		return -1;
	}
	if (hist_raw_rest(a->body, a->len, rc == JSCAN_ARRAY ? &js : NULL, cause) == -1)
		return -1;
	/* A Go server marshals an empty list as null (a new tailnet): no devices, not a broken
	 * answer; the deletion guards still apply. */
	if (rc == JSCAN_OTHER && js.end - js.p == 4 && memcmp(js.p, "null", 4) == 0)
		return 0;
	if (rc != JSCAN_ARRAY) {
		*cause = xasprintf("the answer has no \"devices\" list");
		return -1;
	}
	/* Raw records this code did not keep (an older tsinvd polled since) all go: the
	 * devices parsed now write theirs again. */
	memset(&tab, 0, sizeof(tab));
	if ((a->trust ? hist_raw_load(txn, a->tailnet, &tab, cause)
	              : hist_raw_clear(txn, a->tailnet, cause)) == -1)
		return -1;
	a->devs = xcalloc(js.count ? js.count : 1, sizeof(*a->devs));
	a->nslots = js.count;
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		fatalx("out of memory");
	rc = 0;
	for (i = 0; rc == 0 && i < js.count && jscan_next(&js, &el, &elen) == 1; i++) {
		struct norm_device *nd = &a->devs[i];
		const struct hist_raw_ent *e;
		unsigned char h[HIST_RAW_HASH];
		json_error_t jerr;
		json_t *dev;

		hist_raw_hash(ctx, el, elen, h);
		if ((e = hist_raw_find(&tab, h)) != NULL) {
			hist_raw_same(nd, e, i);
			continue;
		}
		if ((dev = json_loadb(el, elen, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr)) ==
		    NULL) {
			*cause = xasprintf("the answer is not valid JSON (devices: device %zu: %s)",
			                   i + 1, jerr.text);
			rc = -1;
			break;
		}
		rc = norm_device(dev, nd, cause);
		/* A device without what the API always sends is a broken answer, not a device. */
		if (rc == 0)
			rc = norm_members(dev, norm_device_members, "devices", "device", i,
			                  "nodeId", cause);
		json_decref(dev);
		memcpy(nd->raw, h, HIST_RAW_HASH);
		nd->order = i;
	}
	EVP_MD_CTX_free(ctx);
	hist_raw_tab_free(&tab);
	if (rc == -1)
		return -1;
	/* The API never lists a node twice; if it does, the first entry is kept. Moved slots are
	 * zeroed so that every slot is freed exactly once. */
	a->ndevs = hist_sort_unique(
	    a->devs, a->nslots, sizeof(*a->devs), offsetof(struct norm_device, id),
	    offsetof(struct norm_device, order), a->tailnet, "device", hist_drop_dev);
	return 0;
}

/* The body's bytes are those of the last answer recorded whole, and nothing waits (no mass
 * disappearance held, no absence to confirm): every current device is listed unchanged. Then
 * the devices are those of the raw records, none parsed: 1. 0 when this does not hold. */
static int
hist_devices_quick(struct store_txn *txn, struct hist_apply *a, const struct hist_endpoint *ep,
                   char **cause)
{
	struct hist_raw_tab tab;
	char hex[2 * HIST_RAW_HASH + 1];
	size_t i, n = 0;

	hist_raw_hex(a->hash, hex);
	if (!ep->raw_kept || ep->raw[0] == '\0' || strcmp(ep->raw, hex) != 0 || ep->pending_mass ||
	    ep->pending_confirm > 0 || ep->last_ok == TSTIME_NONE)
		return 0;
	if (hist_raw_load(txn, a->tailnet, &tab, cause) == -1)
		return -1;
	if (tab.n != ep->entities) {
		hist_raw_tab_free(&tab);
		return 0;
	}
	a->devs = xcalloc(tab.n ? tab.n : 1, sizeof(*a->devs));
	a->nslots = tab.n;
	for (i = 0; tab.e != NULL && i <= tab.mask; i++)
		if (tab.e[i].id != NULL) {
			hist_raw_same(&a->devs[n], &tab.e[i], n);
			n++;
		}
	hist_raw_tab_free(&tab);
	a->ndevs = hist_sort_unique(
	    a->devs, a->nslots, sizeof(*a->devs), offsetof(struct norm_device, id),
	    offsetof(struct norm_device, order), a->tailnet, "device", hist_drop_dev);
	return 1;
}

static int
hist_apply_txn(struct store_txn *txn, void *arg, char **cause)
{
	struct hist_apply *a = arg;
	struct hist_endpoint ep;
	uint64_t ncur = 0;
	size_t gone = 0, expiring = 0, expired = 0, i;
	int rc = -1, baseline, hold, quick, whole = 1;
	tstime_t prev_ok;

	/* A redo after the map grew starts again from the bytes. */
	hist_changes_free(a);
	hist_devs_free(a);
	memset(a->res, 0, sizeof(*a->res));
	if (hist_poll_begin(txn, a->tailnet, HIST_DEVICES->name, &a->t, &ep, a->pol, cause) == -1)
		return -1;
	a->res->time = a->t;
	a->trust = ep.raw_kept;
	a->stale = 0;
	if ((quick = hist_devices_quick(txn, a, &ep, cause)) == -1 ||
	    (!quick && hist_devices_scan(txn, a, cause) == -1))
		goto out;
	if (!quick && hist_classify(txn, a, &ncur, cause) == -1)
		goto out;
	if (a->stale) {
		log_warnx("%s: devices: a raw record without its device: every device is parsed",
		          a->tailnet);
		hist_changes_free(a);
		hist_devs_free(a);
		a->trust = 0;
		if (hist_devices_scan(txn, a, cause) == -1 ||
		    hist_classify(txn, a, &ncur, cause) == -1)
			goto out;
	}
	a->res->seen = a->ndevs;
	for (i = 0; i < a->ndevs; i++)
		a->res->unparsed += a->devs[i].same;
	if (hist_visibility(txn, a, cause) == -1 || hist_devices_confirm(txn, a, cause) == -1)
		goto out;
	/* Only a confirmed absence is a deletion; the guard weighs those. */
	for (i = 0; i < a->nch; i++)
		gone += a->ch[i].action == HIST_A_GONE && !a->ch[i].hidden &&
		        a->ch[i].confirm == HIST_CONFIRM_GONE;
	/* Held: the endpoint's state is written and committed, nothing else. */
	if (HIST_DEVICES->mass_guard &&
	    (hold = hist_poll_hold(txn, a->tailnet, HIST_DEVICES->name, HIST_DEVICES->name, &ep,
	                           gone, ncur, a->pol, a->res, cause)) != 0) {
		rc = hold == 1 ? 0 : -1;
		goto out;
	}
	baseline = ep.last_ok == TSTIME_NONE;
	if (ep.pending_confirm > 0 && hist_devices_refute_listed(txn, a, cause) == -1)
		goto out;
	for (i = 0; i < a->nch; i++) {
		if (hist_apply_change(txn, a, &a->ch[i], ep.last_ok, cause) == -1)
			goto out;
		/* The first poll of a tailnet is one summary, not one event per device. */
		if (!baseline && hist_change_events(txn, a, &a->ch[i], cause) == -1)
			goto out;
		whole &= a->ch[i].action != HIST_A_GONE;
	}
	/* Each device parsed keeps the hash of its bytes, changed or not (a reordering of its
	 * members makes no version, but its new bytes must not be parsed again). Under churn this
	 * writes the raw records of the devices that moved: about 6% of the payload at 10k, where
	 * their current records cost 2.8 times it; in exchange, bytes that come again are never
	 * parsed twice. */
	for (i = 0; i < a->ndevs; i++)
		if (!a->devs[i].same && hist_raw_put_dev(txn, a->tailnet, &a->devs[i], cause) == -1)
			goto out;
	if (hist_expiry_events(txn, a, baseline, &expiring, &expired, cause) == -1)
		goto out;
	if (baseline) {
		json_t *data = json_pack("{s:I, s:I, s:I}", "devices", (json_int_t)a->ndevs,
		                         "node_keys_expiring", (json_int_t)expiring,
		                         "node_keys_expired", (json_int_t)expired);

		int erc = hist_emit(txn, a, EVENT_T_tailnet_baseline, "tailnet", a->tailnet,
		                    a->tailnet, NULL, NULL, NULL, data, cause);

		json_decref(data);
		if (erc == -1)
			goto out;
	}
	for (i = 0; i < a->nch; i++)
		ep.hidden = ep.hidden + a->ch[i].hidden - (ep.hidden > 0 && a->ch[i].returned);
	ep.pending_confirm = a->res->pending;
	/* Every listed device is current and no other is: the same bytes again need no parse. */
	if (whole && ep.pending_confirm == 0)
		hist_raw_hex(a->hash, ep.raw);
	else
		ep.raw[0] = '\0';
	ep.raw_kept = 1;
	prev_ok = ep.last_ok;
	rc = hist_poll_end(txn, a->tailnet, HIST_DEVICES->name, &ep, a->t, a->ndevs, a->pol, cause);
	if (rc == 0)
		rc = hist_poll_after(txn, a->tailnet, prev_ok, a->t, a->pol, a->res, cause);
out:
	hist_endpoint_free(&ep);
	return rc;
}

/* As hist_devices_apply_raw, with the devices ANS fetched by id (NULL: none). */
static int
hist_devices_apply_ans(struct store *st, const char *tailnet, tstime_t t, const char *body,
                       size_t len, const struct endpoint_answer *ans, const struct hist_policy *pol,
                       struct hist_poll_result *res, char **cause)
{
	struct hist_apply a = {.tailnet = tailnet,
	                       .t = t,
	                       .pol = pol,
	                       .res = res,
	                       .ans = ans,
	                       .body = body,
	                       .len = len};
	int rc;

	hist_raw_hash(NULL, body, len, a.hash);
	rc = store_write(st, hist_apply_txn, &a, cause);
	hist_changes_free(&a);
	hist_devs_free(&a);
	return rc;
}

int
hist_devices_apply_raw(struct store *st, const char *tailnet, tstime_t t, const char *body,
                       size_t len, const struct hist_policy *pol, struct hist_poll_result *res,
                       char **cause)
{
	return hist_devices_apply_ans(st, tailnet, t, body, len, NULL, pol, res, cause);
}

int
hist_devices_apply(struct store *st, const char *tailnet, tstime_t t, json_t *body,
                   const struct hist_policy *pol, struct hist_poll_result *res, char **cause)
{
	char *text = body != NULL ? json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	int rc;

	if (text == NULL) {
		*cause = xasprintf("the answer has no \"devices\" list");
		return -1;
	}
	rc = hist_devices_apply_ans(st, tailnet, t, text, strlen(text), NULL, pol, res, cause);
	free(text);
	return rc;
}

int
hist_devices_answer(struct store *st, const char *tailnet, tstime_t t,
                    const struct endpoint_answer *ans, const struct hist_policy *pol,
                    struct hist_poll_result *res, char **cause)
{
	return hist_devices_apply_ans(st, tailnet, t, ans->text, ans->text_len, ans, pol, res,
	                              cause);
}
