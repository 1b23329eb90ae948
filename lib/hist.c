/* hist.c: the history model: versions with four time bounds, address intervals, names, coverage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "events.h"
#include "hist-int.h"
#include "log.h"
#include "norm.h"
#include "sbuf.h"

#define HIST_EP_DEVICES "devices"

/* A coverage row: the previous successful poll, duration, whether the span to it is covered. */
#define HIST_COVER_LEN 24
#define HIST_COVER_SPAN_OK 0x1
#define HIST_COVER_OAUTH 0x2 /* the poll was made with an OAuth access token */

const char *const hist_state_names[] = {"none", "held", "maybe"};

void
hist_bounds_put(uint8_t *p, const struct hist_bounds *b)
{
	store_put_i64(p, b->from_lo);
	store_put_i64(p + 8, b->from_hi);
	store_put_i64(p + 16, b->to_lo);
	store_put_i64(p + 24, b->to_hi);
	p[32] = (uint8_t)(b->flags >> 24);
	p[33] = (uint8_t)(b->flags >> 16);
	p[34] = (uint8_t)(b->flags >> 8);
	p[35] = (uint8_t)b->flags;
}

void
hist_bounds_get(const uint8_t *p, struct hist_bounds *b)
{
	b->from_lo = store_get_i64(p);
	b->from_hi = store_get_i64(p + 8);
	b->to_lo = store_get_i64(p + 16);
	b->to_hi = store_get_i64(p + 24);
	b->flags = (uint32_t)p[32] << 24 | (uint32_t)p[33] << 16 | (uint32_t)p[34] << 8 | p[35];
}

int
hist_cur_decode(const struct store_val *val, struct hist_cur *c)
{
	const uint8_t *v = val->data;
	uint64_t word;

	if (val->len < HIST_CUR_HEAD)
		return -1;
	word = store_get_u64(v + 16);
	c->stable_len = (size_t)(word & 0xffffffffu);
	if (HIST_CUR_HEAD + c->stable_len > val->len)
		return -1;
	c->b = (struct hist_bounds){store_get_i64(v), store_get_i64(v + 8), TSTIME_NONE,
	                            TSTIME_NONE, (uint32_t)(word >> 32)};
	c->stable = (const char *)v + HIST_CUR_HEAD;
	c->vol = c->stable + c->stable_len;
	c->vol_len = val->len - HIST_CUR_HEAD - c->stable_len;
	return 0;
}

/* Where a version stands at T, given the last successful poll of its endpoint. */
static enum hist_state
hist_state_at(const struct hist_bounds *b, tstime_t t, tstime_t last_ok)
{
	int open = b->to_hi == TSTIME_NONE;
	tstime_t start = (b->flags & HIST_F_EXACT_FROM) ? b->from_lo : b->from_hi;

	if (t >= start && (open ? t <= last_ok : t <= b->to_lo))
		return HIST_HELD;
	/* At from_lo itself a poll saw the previous state: the window is open at both ends. */
	if (b->from_lo != TSTIME_NONE && t > b->from_lo && t < b->from_hi)
		return HIST_MAYBE;
	if (!open && t > b->to_lo && t < b->to_hi)
		return HIST_MAYBE;
	/* After the last poll an open version may or may not still hold. */
	if (open && t > last_ok && t >= b->from_hi)
		return HIST_MAYBE;
	return HIST_NO;
}

/* As hist_state_at, knowing whether polls cover T: across a gap in polling even what was there
 * at both ends is only a maybe (it may have gone and come back). */
enum hist_state
hist_state_cov(const struct hist_bounds *b, tstime_t t, tstime_t last_ok, int covered)
{
	enum hist_state s = hist_state_at(b, t, last_ok);

	return s == HIST_HELD && !covered ? HIST_MAYBE : s;
}

json_t *
hist_time_json(tstime_t t)
{
	char buf[TSTIME_STRLEN];

	if (t == TSTIME_NONE || t == HIST_UNSEEN_END)
		return json_null();
	tstime_format(t, buf, sizeof(buf));
	return json_string(buf);
}

void
hist_sbuf_time(struct sbuf *sb, tstime_t t)
{
	char buf[TSTIME_STRLEN];

	if (t == TSTIME_NONE || t == HIST_UNSEEN_END) {
		sbuf_adds(sb, "null");
		return;
	}
	tstime_format(t, buf, sizeof(buf));
	sbuf_addf(sb, "\"%s\"", buf);
}

void
hist_bounds_json(json_t *obj, const struct hist_bounds *b)
{
	json_object_set_new(obj, "from_lo", hist_time_json(b->from_lo));
	json_object_set_new(obj, "from_hi", hist_time_json(b->from_hi));
	json_object_set_new(obj, "to_lo", hist_time_json(b->to_lo));
	json_object_set_new(obj, "to_hi", hist_time_json(b->to_hi));
	if (b->flags & HIST_F_EXACT_FROM)
		json_object_set_new(obj, "exact_from", json_true());
	if (b->to_hi == HIST_UNSEEN_END)
		json_object_set_new(obj, "end", json_string(HIST_UNSEEN_WHY));
}

static void
hist_bounds_sbuf(struct sbuf *sb, const struct hist_bounds *b)
{
	sbuf_adds(sb, "\"from_lo\":");
	hist_sbuf_time(sb, b->from_lo);
	sbuf_adds(sb, ",\"from_hi\":");
	hist_sbuf_time(sb, b->from_hi);
	sbuf_adds(sb, ",\"to_lo\":");
	hist_sbuf_time(sb, b->to_lo);
	sbuf_adds(sb, ",\"to_hi\":");
	hist_sbuf_time(sb, b->to_hi);
	if (b->flags & HIST_F_EXACT_FROM)
		sbuf_adds(sb, ",\"exact_from\":true");
	if (b->to_hi == HIST_UNSEEN_END)
		sbuf_adds(sb, ",\"end\":\"" HIST_UNSEEN_WHY "\"");
}

/* ---- keys ---- */

void
hist_key_kind(struct store_key *k, const char *tailnet, uint8_t kind, const char *id)
{
	store_key_init(k);
	store_key_str(k, tailnet);
	store_key_u8(k, kind);
	if (id != NULL)
		store_key_str(k, id);
}

static void
hist_key_entity(struct store_key *k, const char *tailnet, const char *id)
{
	hist_key_kind(k, tailnet, HIST_KIND_DEVICE, id);
}

static void
hist_key_addr(struct store_key *k, const char *tailnet, const struct tsaddr *a)
{
	store_key_init(k);
	store_key_str(k, tailnet);
	store_key_bytes(k, a->b, sizeof(a->b));
}

static void
hist_key_name(struct store_key *k, const char *tailnet, const char *name)
{
	store_key_init(k);
	store_key_str(k, tailnet);
	store_key_str(k, name);
}

static void
hist_key_cover(struct store_key *k, const char *tailnet, const char *endpoint)
{
	store_key_init(k);
	store_key_str(k, tailnet);
	store_key_str(k, endpoint);
}

static char *
hist_ep_name(const char *tailnet, const char *endpoint)
{
	return xasprintf("ep/%s/%s", tailnet, endpoint);
}

/* ---- endpoint state ---- */

static tstime_t
hist_json_time(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_integer(v) ? (tstime_t)json_integer_value(v) : TSTIME_NONE;
}

int
hist_ep_read(struct store_txn *txn, const char *tailnet, const char *endpoint,
             struct hist_endpoint *ep, char **cause)
{
	char *name = hist_ep_name(tailnet, endpoint), *text = NULL;
	json_t *j;
	int rc;

	memset(ep, 0, sizeof(*ep));
	ep->last_poll = ep->last_ok = TSTIME_NONE;
	strcpy(ep->result, "never");
	rc = store_meta_get(txn, name, &text, cause);
	free(name);
	if (rc != 0)
		return rc == 1 ? 0 : -1;
	j = json_loads(text, 0, NULL);
	free(text);
	if (!json_is_object(j)) {
		json_decref(j);
		*cause = xasprintf("store: endpoint state of %s/%s is damaged", tailnet, endpoint);
		return -1;
	}
	ep->last_poll = hist_json_time(j, "last_poll");
	ep->last_ok = hist_json_time(j, "last_ok");
	snprintf(ep->result, sizeof(ep->result), "%s",
	         json_string_value(json_object_get(j, "result")) ?: "never");
	if (json_is_string(json_object_get(j, "error")))
		ep->error = xstrdup(json_string_value(json_object_get(j, "error")));
	ep->failures = (unsigned)json_integer_value(json_object_get(j, "failures"));
	ep->entities = (uint64_t)json_integer_value(json_object_get(j, "entities"));
	ep->pending_mass = json_is_true(json_object_get(j, "pending_mass"));
	ep->hidden = (uint64_t)json_integer_value(json_object_get(j, "hidden"));
	snprintf(ep->credential, sizeof(ep->credential), "%s",
	         json_string_value(json_object_get(j, "credential")) ?: "");
	json_decref(j);
	return 0;
}

int
hist_ep_write(struct store_txn *txn, const char *tailnet, const char *endpoint,
              const struct hist_endpoint *ep, char **cause)
{
	char *name = hist_ep_name(tailnet, endpoint), *text;
	json_t *j = json_object();
	int rc;

	if (ep->last_poll != TSTIME_NONE)
		json_object_set_new(j, "last_poll", json_integer(ep->last_poll));
	if (ep->last_ok != TSTIME_NONE)
		json_object_set_new(j, "last_ok", json_integer(ep->last_ok));
	json_object_set_new(j, "result", json_string(ep->result));
	if (ep->error != NULL)
		json_object_set_new(j, "error", json_string(ep->error));
	json_object_set_new(j, "failures", json_integer(ep->failures));
	json_object_set_new(j, "entities", json_integer((json_int_t)ep->entities));
	if (ep->pending_mass)
		json_object_set_new(j, "pending_mass", json_true());
	if (ep->hidden > 0)
		json_object_set_new(j, "hidden", json_integer((json_int_t)ep->hidden));
	if (ep->credential[0] != '\0')
		json_object_set_new(j, "credential", json_string(ep->credential));
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	rc = store_meta_put(txn, name, text, cause);
	free(text);
	free(name);
	return rc;
}

void
hist_endpoint_free(struct hist_endpoint *ep)
{
	free(ep->error);
	ep->error = NULL;
}

int
hist_endpoint_get(struct store *st, const char *tailnet, const char *endpoint,
                  struct hist_endpoint *out, char **cause)
{
	struct store_txn *txn;
	int rc;

	if (store_read_begin(st, &txn, cause) == -1)
		return -1;
	rc = hist_ep_read(txn, tailnet, endpoint, out, cause);
	store_read_end(txn);
	return rc;
}

struct hist_fail_ctx {
	const char *tailnet, *endpoint, *error;
	tstime_t t;
};

static int
hist_poll_failed_txn(struct store_txn *txn, void *arg, char **cause)
{
	struct hist_fail_ctx *c = arg;
	struct hist_endpoint ep;
	int rc;

	if (hist_ep_read(txn, c->tailnet, c->endpoint, &ep, cause) == -1)
		return -1;
	/* Poll times only move forward, even when the clock steps back. */
	ep.last_poll =
	    ep.last_poll != TSTIME_NONE && c->t <= ep.last_poll ? ep.last_poll + 1 : c->t;
	strcpy(ep.result, "error");
	free(ep.error);
	ep.error = xstrdup(c->error);
	ep.failures++;
	rc = hist_ep_write(txn, c->tailnet, c->endpoint, &ep, cause);
	hist_endpoint_free(&ep);
	return rc;
}

int
hist_poll_failed(struct store *st, const char *tailnet, const char *endpoint, tstime_t t,
                 const char *error, char **cause)
{
	struct hist_fail_ctx c = {tailnet, endpoint, error, t};

	return store_write(st, hist_poll_failed_txn, &c, cause);
}

/* ---- applying a devices answer ---- */

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
};

struct hist_apply {
	const char *tailnet;
	tstime_t t;
	const struct hist_policy *pol;
	struct norm_device *devs; /* sorted by id */
	size_t ndevs;
	struct hist_poll_result *res;
	struct hist_change *ch;
	size_t nch;
};

static void
hist_changes_free(struct hist_apply *a)
{
	for (size_t i = 0; i < a->nch; i++)
		free(a->ch[i].old_stable);
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

int
hist_merge(struct store_txn *txn, const char *tailnet, uint8_t kind, size_t n, hist_item_fn item,
           hist_change_fn change, void *arg, uint64_t *ncur, char **cause)
{
	struct store_cursor *cur;
	struct store_key prefix;
	struct store_val key, val;
	struct hist_item_view v = {0};
	size_t i = 0, plen;
	int rc;

	hist_key_kind(&prefix, tailnet, kind, NULL);
	plen = prefix.len;
	if (store_cursor_open(txn, STORE_CUR, &cur, cause) == -1)
		return -1;
	*ncur = 0;
	rc = store_cursor_seek(cur, &prefix, &prefix, &key, &val);
	for (;;) {
		const char *curid = NULL;
		struct hist_cur cr;
		int cmp;

		if (rc == 0) {
			curid = (const char *)key.data + plen;
			if (key.len <= plen || ((const char *)key.data)[key.len - 1] != '\0' ||
			    hist_cur_decode(&val, &cr) == -1) {
				store_cursor_close(cur);
				*cause = xasprintf("store: a damaged current record");
				return -1;
			}
		}
		if (curid == NULL && i == n)
			break;
		if (i < n)
			item(i, arg, &v);
		cmp = curid == NULL ? 1 : i == n ? -1 : strcmp(curid, v.id);
		if (cmp > 0) {
			change(HIST_A_NEW, v.id, i, NULL, arg);
			i++;
			continue;
		}
		(*ncur)++;
		if (cmp < 0)
			change(HIST_A_GONE, curid, 0, &cr, arg);
		else if (cr.stable_len != v.stable_len ||
		         memcmp(cr.stable, v.stable, cr.stable_len) != 0)
			change(HIST_A_CHANGE, curid, i++, &cr, arg);
		else if (cr.vol_len != v.vol_len || memcmp(cr.vol, v.vol, cr.vol_len) != 0)
			change(HIST_A_VOL, curid, i++, &cr, arg);
		else
			i++;
		rc = store_cursor_step(cur, 1, &key, &val);
	}
	store_cursor_close(cur);
	return 0;
}

char *
hist_cur_stable_dup(const struct hist_cur *c)
{
	char *s = xmalloc(c->stable_len + 1);

	memcpy(s, c->stable, c->stable_len);
	s[c->stable_len] = '\0';
	return s;
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
	struct hist_change *c =
	    hist_change_add(a, act, id, act == HIST_A_GONE ? NULL : &a->devs[i]);

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
}

/* Merges the sorted answer with the sorted current records into a list of changes. */
static int
hist_classify(struct store_txn *txn, struct hist_apply *a, uint64_t *ncur, char **cause)
{
	return hist_merge(txn, a->tailnet, HIST_KIND_DEVICE, a->ndevs, hist_dev_view,
	                  hist_dev_change, a, ncur, cause);
}

uint8_t *
hist_cur_encode(const struct hist_bounds *b, const char *stable, size_t stable_len, const char *vol,
                size_t vol_len, size_t *len)
{
	uint8_t *v;

	*len = HIST_CUR_HEAD + stable_len + vol_len;
	v = xmalloc(*len);
	store_put_i64(v, b->from_lo);
	store_put_i64(v + 8, b->from_hi);
	store_put_u64(v + 16, (uint64_t)b->flags << 32 | stable_len);
	memcpy(v + HIST_CUR_HEAD, stable, stable_len);
	if (vol_len > 0)
		memcpy(v + HIST_CUR_HEAD + stable_len, vol, vol_len);
	return v;
}

static int
hist_put_cur(struct store_txn *txn, const char *tailnet, const struct norm_device *nd,
             tstime_t from_lo, tstime_t from_hi, uint32_t flags, char **cause)
{
	struct hist_bounds b = {from_lo, from_hi, TSTIME_NONE, TSTIME_NONE, flags};
	size_t len;
	uint8_t *v = hist_cur_encode(&b, nd->stable, nd->stable_len, nd->vol, nd->vol_len, &len);
	struct store_key k;
	int rc;

	hist_key_entity(&k, tailnet, nd->id);
	rc = store_put(txn, STORE_CUR, &k, v, len, cause);
	free(v);
	return rc;
}

int
hist_version_open(struct store_txn *txn, const char *tailnet, uint8_t kind, const char *id,
                  const struct hist_bounds *b, const char *stable, size_t stable_len, char **cause)
{
	size_t len = HIST_BOUNDS_LEN + stable_len;
	uint8_t *v = xmalloc(len);
	struct store_key k;
	int rc;

	hist_bounds_put(v, b);
	memcpy(v + HIST_BOUNDS_LEN, stable, stable_len);
	hist_key_kind(&k, tailnet, kind, id);
	store_key_i64(&k, b->from_hi);
	rc = store_put(txn, STORE_VER, &k, v, len, cause);
	free(v);
	return rc;
}

int
hist_version_close(struct store_txn *txn, const char *tailnet, uint8_t kind, const char *id,
                   tstime_t from_hi, tstime_t to_lo, tstime_t to_hi, char **cause)
{
	struct store_key k;
	struct store_val val;
	struct hist_bounds b;
	uint8_t *v;
	int rc;

	hist_key_kind(&k, tailnet, kind, id);
	store_key_i64(&k, from_hi);
	if ((rc = store_get(txn, STORE_VER, &k, &val, cause)) != 0) {
		if (rc == 1)
			*cause = xasprintf("store: %s has no open version", id);
		return -1;
	}
	if (val.len < HIST_BOUNDS_LEN) {
		*cause = xasprintf("store: a damaged version of %s", id);
		return -1;
	}
	v = xmalloc(val.len);
	memcpy(v, val.data, val.len);
	hist_bounds_get(v, &b);
	b.to_lo = to_lo;
	b.to_hi = to_hi;
	hist_bounds_put(v, &b);
	rc = store_put(txn, STORE_VER, &k, v, val.len, cause);
	free(v);
	return rc;
}

static int
hist_open_version(struct store_txn *txn, const char *tailnet, const struct norm_device *nd,
                  const struct hist_bounds *b, char **cause)
{
	return hist_version_open(txn, tailnet, HIST_KIND_DEVICE, nd->id, b, nd->stable,
	                         nd->stable_len, cause);
}

static int
hist_close_version(struct store_txn *txn, const char *tailnet, const char *id, tstime_t from_hi,
                   tstime_t to_lo, tstime_t to_hi, char **cause)
{
	return hist_version_close(txn, tailnet, HIST_KIND_DEVICE, id, from_hi, to_lo, to_hi, cause);
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

static int hist_end_addr(struct store_txn *, const char *, const struct tsaddr *, const char *,
                         tstime_t, tstime_t, tstime_t, char **);

/* Closes the open interval of address A held by ID. */
static int
hist_close_addr(struct store_txn *txn, const char *tailnet, const struct tsaddr *a, const char *id,
                tstime_t to_lo, tstime_t to_hi, char **cause)
{
	return hist_end_addr(txn, tailnet, a, id, TSTIME_NONE, to_lo, to_hi, cause);
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
	hist_key_entity(k, tailnet, id);
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

/* Is ID a device hidden from an earlier credential? 1 (and its mark in from_hi, to_lo), 0, -1. */
static int
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
	hist_key_entity(&k, a->tailnet, id);
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

static int
hist_apply_change(struct store_txn *txn, struct hist_apply *a, struct hist_change *c,
                  tstime_t last_ok, char **cause)
{
	tstime_t t = a->t, old_from_hi = c->cur.from_hi;
	struct tsaddr old[NORM_MAX_ADDRS];
	size_t nold = 0, i;
	struct hist_bounds b = {last_ok, t, TSTIME_NONE, TSTIME_NONE, 0};
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
		break;
	case HIST_A_GONE: {
		struct store_key k;
		/* Hidden, not gone: seen until last_ok, unknown from then on. */
		tstime_t end = c->hidden ? HIST_UNSEEN_END : t;

		if (c->hidden)
			a->res->hidden++;
		else
			a->res->deleted++;
		if (hist_close_version(txn, a->tailnet, c->id, old_from_hi, last_ok, end, cause) ==
		    -1)
			return -1;
		nold = hist_stable_addrs(c->old_stable, old, NORM_MAX_ADDRS);
		for (i = 0; i < nold; i++)
			if (hist_close_addr(txn, a->tailnet, &old[i], c->id, last_ok, end, cause) ==
			    -1)
				return -1;
		if (c->hidden && hist_hidden_put(txn, a, c->id, old_from_hi, last_ok, cause) == -1)
			return -1;
		hist_key_entity(&k, a->tailnet, c->id);
		return store_del(txn, STORE_CUR, &k, cause) == -1 ? -1 : 0;
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

int
hist_put_cover(struct store_txn *txn, const char *tailnet, const char *endpoint, tstime_t t,
               tstime_t prev, int span_ok, uint64_t count, int oauth, char **cause)
{
	uint8_t v[HIST_COVER_LEN];
	struct store_key k;

	hist_key_cover(&k, tailnet, endpoint);
	store_key_i64(&k, t);
	store_put_i64(v, prev);
	store_put_u64(v + 8, count);
	store_put_u64(v + 16, (span_ok ? HIST_COVER_SPAN_OK : 0) | (oauth ? HIST_COVER_OAUTH : 0));
	return store_put(txn, STORE_COVER, &k, v, sizeof(v), cause);
}

/* ---- events ---- */

/* Fields that make an event of their own when they change; the rest make device.updated. */
static const struct {
	const char *type;
	const char *fields[3];
} hist_device_groups[] = {
    {"device.renamed", {"name", "hostname", NULL}},
    {"device.tags.changed", {"tags", NULL}},
    {"device.owner.changed", {"user", NULL}},
    {"device.authorized.changed", {"authorized", NULL}},
    {"device.key.expiry.changed", {"expires", "keyExpiryDisabled", NULL}},
    {"device.routes.changed", {"enabledRoutes", "advertisedRoutes", NULL}},
};

void
hist_policy_defaults(struct hist_policy *pol)
{
	pol->expiry_warn[0] = 14 * 86400 * TSTIME_SEC;
	pol->expiry_warn[1] = 7 * 86400 * TSTIME_SEC;
	pol->expiry_warn[2] = 86400 * TSTIME_SEC;
	pol->nexpiry_warn = 3;
}

static int
hist_emit(struct store_txn *txn, struct hist_apply *a, const char *type, const char *kind,
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
hist_addr_events(struct store_txn *txn, struct hist_apply *a, const char *type, const char *id,
                 const char *name, json_t *from, json_t *to, char **cause)
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
	json_t *old = c->old_stable ? json_loads(c->old_stable, 0, NULL) : NULL;
	json_t *new = c->nd != NULL ? json_loads(c->nd->stable, 0, NULL) : NULL;
	json_t *changed = NULL, *rest = NULL, *v;
	const char *name = json_string_value(json_object_get(new ? new : old, "name"));
	int rc = 0;
	size_t i, g;

	switch (c->action) {
	case HIST_A_NEW:
		/* A shared-in device seen again after a credential switch was never gone. */
		if (!c->returned)
			rc = hist_emit(txn, a, "device.created", "device", c->id, name, NULL, new,
			               NULL, NULL, cause);
		break;
	case HIST_A_GONE:
		if (!c->hidden)
			rc = hist_emit(txn, a, "device.deleted", "device", c->id, name, old, NULL,
			               NULL, NULL, cause);
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
		    (hist_addr_events(txn, a, "device.address.added", c->id, name, new, old,
		                      cause) == -1 ||
		     hist_addr_events(txn, a, "device.address.removed", c->id, name, old, new,
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
			rc = hist_emit(txn, a, "device.updated", "device", c->id, name, b, f, rest,
			               NULL, cause);
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
		rc = hist_emit(txn, a, c->nd->online ? "device.online" : "device.offline", "device",
		               c->id, name, NULL, NULL, NULL, NULL, cause);
	/* Cloned node state shows only while both copies connect: each transition is kept, on
	 * or off presence events, since the value itself is never versioned. */
	if (rc == 0 && c->action != HIST_A_GONE && c->old_multi != c->nd->multiple_connections) {
		json_t *data =
		    json_pack("{s:b}", "multipleConnections", c->nd->multiple_connections);

		rc = hist_emit(txn, a, "device.multiple.connections", "device", c->id, name, NULL,
		               NULL, NULL, data, cause);
		json_decref(data);
	}
	json_decref(changed);
	json_decref(rest);
	json_decref(old);
	json_decref(new);
	return rc;
}

/* Sets the one-shot mark WHAT of device ID: 1 if it was set already, 0 now set, -1 error. */
static int
hist_mark(struct store_txn *txn, struct hist_apply *a, const char *id, const char *what,
          char **cause)
{
	struct store_key k;
	struct store_val v;
	uint8_t when[8];
	int rc;

	hist_key_entity(&k, a->tailnet, id);
	store_key_str(&k, what);
	if ((rc = store_get(txn, STORE_MARK, &k, &v, cause)) != 1)
		return rc == 0 ? 1 : -1;
	store_put_i64(when, a->t);
	return store_put(txn, STORE_MARK, &k, when, sizeof(when), cause);
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
		if ((rc = hist_mark(txn, a, nd->id, what, cause)) == -1)
			return -1;
		if (rc == 1 || baseline)
			continue;
		/* A key first seen past several thresholds warns once, at the tightest. */
		for (w = 0; left > 0 && w < tight; w++) {
			snprintf(what, sizeof(what), "expiring/%lld/%lld", (long long)nd->expires,
			         (long long)pol->expiry_warn[w]);
			if (hist_mark(txn, a, nd->id, what, cause) == -1)
				return -1;
		}
		json_t *dev = json_loads(nd->stable, 0, NULL), *data;

		tstime_format(nd->expires, exp, sizeof(exp));
		if (left > 0) {
			tstime_format_duration(pol->expiry_warn[tight], dur, sizeof(dur));
			data = json_pack("{s:s, s:s, s:I}", "expires", exp, "threshold", dur,
			                 "remaining_s", (json_int_t)(left / TSTIME_SEC));
		} else
			data = json_pack("{s:s}", "expires", exp);
		rc = hist_emit(txn, a, left > 0 ? "device.key.expiring" : "device.key.expired",
		               "device", nd->id, json_string_value(json_object_get(dev, "name")),
		               NULL, NULL, NULL, data, cause);
		json_decref(data);
		json_decref(dev);
		if (rc == -1)
			return -1;
	}
	return 0;
}

int
hist_poll_begin(struct store_txn *txn, const char *tailnet, const char *endpoint, tstime_t *t,
                struct hist_endpoint *ep, char **cause)
{
	if (hist_ep_read(txn, tailnet, endpoint, ep, cause) == -1)
		return -1;
	/* Poll times are strictly increasing: they are keys, and bounds compare them. */
	if (ep->last_poll != TSTIME_NONE && *t <= ep->last_poll)
		*t = ep->last_poll + 1;
	ep->last_poll = *t;
	free(ep->error);
	ep->error = NULL;
	return 0;
}

int
hist_poll_hold(struct store_txn *txn, const char *tailnet, const char *endpoint, const char *what,
               struct hist_endpoint *ep, size_t gone, uint64_t ncur, const struct hist_policy *pol,
               struct hist_poll_result *res, char **cause)
{
	if (gone == 0 || gone * 100 <= (uint64_t)pol->mass_delete_percent * ncur ||
	    ep->pending_mass)
		return 0;
	ep->pending_mass = 1;
	strcpy(ep->result, "held");
	ep->error = xasprintf("%zu of %llu %s disappeared at once: held until the next poll "
	                      "confirms it",
	                      gone, (unsigned long long)ncur, what);
	res->held = 1;
	return hist_ep_write(txn, tailnet, endpoint, ep, cause) == -1 ? -1 : 1;
}

int
hist_poll_end(struct store_txn *txn, const char *tailnet, const char *endpoint,
              struct hist_endpoint *ep, tstime_t t, size_t count, const struct hist_policy *pol,
              char **cause)
{
	if (hist_put_cover(txn, tailnet, endpoint, t, ep->last_ok,
	                   ep->last_ok != TSTIME_NONE && t - ep->last_ok <= pol->max_gap, count,
	                   pol->credential != NULL && strcmp(pol->credential, "oauth") == 0,
	                   cause) == -1)
		return -1;
	/* Every poll's row says which kind of credential made it; the endpoint keeps the last. */
	if (pol->credential != NULL)
		snprintf(ep->credential, sizeof(ep->credential), "%s", pol->credential);
	ep->pending_mass = 0;
	ep->last_ok = t;
	strcpy(ep->result, "ok");
	ep->failures = 0;
	ep->entities = count;
	return hist_ep_write(txn, tailnet, endpoint, ep, cause);
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

static int
hist_apply_txn(struct store_txn *txn, void *arg, char **cause)
{
	struct hist_apply *a = arg;
	struct hist_endpoint ep;
	uint64_t ncur = 0;
	size_t gone = 0, expiring = 0, expired = 0, i;
	int rc = -1, baseline, hold;

	hist_changes_free(a);
	memset(a->res, 0, sizeof(*a->res));
	if (hist_poll_begin(txn, a->tailnet, HIST_EP_DEVICES, &a->t, &ep, cause) == -1)
		return -1;
	a->res->time = a->t;
	a->res->seen = a->ndevs;
	if (hist_classify(txn, a, &ncur, cause) == -1)
		goto out;
	if (hist_visibility(txn, a, cause) == -1)
		goto out;
	for (i = 0; i < a->nch; i++)
		gone += a->ch[i].action == HIST_A_GONE && !a->ch[i].hidden;
	/* Held: the endpoint's state is written and committed, nothing else. */
	if ((hold = hist_poll_hold(txn, a->tailnet, HIST_EP_DEVICES, "devices", &ep, gone, ncur,
	                           a->pol, a->res, cause)) != 0) {
		rc = hold == 1 ? 0 : -1;
		goto out;
	}
	baseline = ep.last_ok == TSTIME_NONE;
	for (i = 0; i < a->nch; i++) {
		if (hist_apply_change(txn, a, &a->ch[i], ep.last_ok, cause) == -1)
			goto out;
		/* The first poll of a tailnet is one summary, not one event per device. */
		if (!baseline && hist_change_events(txn, a, &a->ch[i], cause) == -1)
			goto out;
	}
	if (hist_expiry_events(txn, a, baseline, &expiring, &expired, cause) == -1)
		goto out;
	if (baseline) {
		json_t *data = json_pack("{s:I, s:I, s:I}", "devices", (json_int_t)a->ndevs,
		                         "node_keys_expiring", (json_int_t)expiring,
		                         "node_keys_expired", (json_int_t)expired);

		int erc = hist_emit(txn, a, "tailnet.baseline", "tailnet", a->tailnet, a->tailnet,
		                    NULL, NULL, NULL, data, cause);

		json_decref(data);
		if (erc == -1)
			goto out;
	}
	for (i = 0; i < a->nch; i++)
		ep.hidden = ep.hidden + a->ch[i].hidden - (ep.hidden > 0 && a->ch[i].returned);
	rc = hist_poll_end(txn, a->tailnet, HIST_EP_DEVICES, &ep, a->t, a->ndevs, a->pol, cause);
out:
	hist_endpoint_free(&ep);
	return rc;
}

/* By id, then by position in the answer: the first of duplicates sorts first. */
static int
hist_cmp_dev(const void *a, const void *b)
{
	const struct norm_device *x = a, *y = b;
	int c = strcmp(x->id, y->id);

	if (c != 0)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

int
hist_devices_apply(struct store *st, const char *tailnet, tstime_t t, json_t *body,
                   const struct hist_policy *pol, struct hist_poll_result *res, char **cause)
{
	json_t *list = json_is_object(body) ? json_object_get(body, "devices") : NULL, *dev;
	struct hist_apply a = {.tailnet = tailnet, .t = t, .pol = pol, .res = res};
	size_t i, n, kept = 0;
	int rc = -1;

	/* A Go server marshals an empty list as null (a new tailnet): no devices, not a broken
	 * answer; the deletion guards still apply. */
	if (json_is_null(list))
		list = NULL;
	else if (!json_is_array(list)) {
		*cause = xasprintf("the answer has no \"devices\" list");
		return -1;
	}
	n = json_array_size(list);
	a.devs = xcalloc(n ? n : 1, sizeof(*a.devs));
	json_array_foreach(list, i, dev)
	{
		if (norm_device(dev, &a.devs[i], cause) == -1)
			goto out;
		a.devs[i].order = i;
	}
	qsort(a.devs, n, sizeof(*a.devs), hist_cmp_dev);
	/* The API never lists a node twice; if it does, the first entry is kept. Moved slots are
	 * zeroed so that every slot is freed exactly once below. */
	for (i = 0; i < n; i++) {
		if (kept > 0 && strcmp(a.devs[i].id, a.devs[kept - 1].id) == 0) {
			log_warnx("%s: device %s listed twice; keeping the first", tailnet,
			          a.devs[i].id);
			norm_device_free(&a.devs[i]);
			continue;
		}
		if (i != kept) {
			a.devs[kept] = a.devs[i];
			memset(&a.devs[i], 0, sizeof(a.devs[i]));
		}
		kept++;
	}
	a.ndevs = kept;
	rc = store_write(st, hist_apply_txn, &a, cause);
out:
	hist_changes_free(&a);
	for (i = 0; i < n; i++)
		norm_device_free(&a.devs[i]);
	free(a.devs);
	return rc;
}

/* ---- queries ---- */

/* Is T covered by polls of ENDPOINT? If not, *reason (malloc'd) says why. */
int
hist_covered(struct store_txn *txn, const char *tailnet, const char *endpoint, tstime_t t,
             char **reason)
{
	struct store_cursor *cur;
	struct store_key prefix, k;
	struct store_val key, val;
	char a[TSTIME_STRLEN], b[TSTIME_STRLEN];
	int covered = 0;

	hist_key_cover(&prefix, tailnet, endpoint);
	k = prefix;
	store_key_i64(&k, t);
	if (store_cursor_open(txn, STORE_COVER, &cur, reason) == -1)
		return 0;
	if (store_cursor_seek(cur, &k, &prefix, &key, &val) == 0 && val.len >= HIST_COVER_LEN &&
	    key.len == prefix.len + 8) {
		tstime_t at = store_get_i64((const uint8_t *)key.data + prefix.len);
		tstime_t prev = store_get_i64(val.data);
		uint64_t flags = store_get_u64((const uint8_t *)val.data + 16);

		tstime_format(at, b, sizeof(b));
		if (at == t || (prev != TSTIME_NONE && prev <= t && (flags & HIST_COVER_SPAN_OK)))
			covered = 1;
		else if (prev == TSTIME_NONE)
			*reason = xasprintf("before the first successful poll (%s)", b);
		else {
			tstime_format(prev, a, sizeof(a));
			*reason = xasprintf(
			    "in a gap in polling: no successful poll between %s and %s", a, b);
		}
	} else if (store_cursor_last(cur, &prefix, &key, &val) == 0 && key.len == prefix.len + 8) {
		tstime_format(store_get_i64((const uint8_t *)key.data + prefix.len), a, sizeof(a));
		*reason = xasprintf("after the last successful poll (%s)", a);
	} else
		*reason = xasprintf("no successful poll yet");
	store_cursor_close(cur);
	return covered;
}

/* The version of device ID in force at T: the last one that started by T, else the first.
 * Returns a new reference to its device JSON, and its bounds; NULL if the device is unknown. */
static json_t *
hist_version_at(struct store_txn *txn, const char *tailnet, const char *id, tstime_t t,
                struct hist_bounds *bout)
{
	struct store_cursor *cur;
	struct store_key prefix, k;
	struct store_val key, val;
	json_t *dev = NULL;
	char *cause = NULL;
	int rc;

	hist_key_entity(&prefix, tailnet, id);
	k = prefix;
	store_key_i64(&k, t);
	if (store_cursor_open(txn, STORE_VER, &cur, &cause) == -1) {
		free(cause);
		return NULL;
	}
	/* The first version starting after T; the one before it is in force at T. */
	rc = store_cursor_seek(cur, &k, &prefix, &key, &val);
	if (rc == 0 && key.len < prefix.len + 8)
		rc = 1; /* damaged */
	if (rc == 0) {
		if (store_get_i64((const uint8_t *)key.data + prefix.len) > t &&
		    store_cursor_step(cur, -1, &key, &val) != 0)
			rc = store_cursor_seek(cur, &prefix, &prefix, &key, &val);
	} else
		rc = store_cursor_last(cur, &prefix, &key, &val);
	if (rc == 0 && val.len >= HIST_BOUNDS_LEN) {
		hist_bounds_get(val.data, bout);
		dev = json_loadb((const char *)val.data + HIST_BOUNDS_LEN,
		                 val.len - HIST_BOUNDS_LEN, 0, NULL);
	}
	store_cursor_close(cur);
	return dev;
}

static json_t *
hist_holder_json(struct store_txn *txn, const char *tailnet, const char *id,
                 const struct hist_bounds *b, tstime_t t, const char *state)
{
	struct hist_bounds vb;
	json_t *h = json_object(), *dev = hist_version_at(txn, tailnet, id, t, &vb);

	json_object_set_new(h, "nodeId", json_string(id));
	json_object_set(h, "name", json_object_get(dev, "name") ?: json_null());
	json_object_set(h, "hostname", json_object_get(dev, "hostname") ?: json_null());
	if (state != NULL)
		json_object_set_new(h, "state", json_string(state));
	hist_bounds_json(h, b);
	json_decref(dev);
	return h;
}

static void
hist_set_time(json_t *obj, const char *key, tstime_t t)
{
	json_object_set_new(obj, key, hist_time_json(t));
}

/* A query's read transaction and the devices endpoint's state. */
static int
hist_query_begin(struct store *st, const char *tailnet, struct store_txn **txn,
                 struct hist_endpoint *ep, char **cause)
{
	if (store_read_begin(st, txn, cause) == -1)
		return -1;
	if (hist_ep_read(*txn, tailnet, HIST_EP_DEVICES, ep, cause) == -1) {
		store_read_end(*txn);
		return -1;
	}
	return 0;
}

int
hist_ip_at(struct store *st, const char *tailnet, const struct tsaddr *a, tstime_t at, int history,
           json_t **out, char **cause)
{
	struct store_txn *txn;
	struct store_cursor *cur;
	struct store_key prefix;
	struct store_val key, val;
	struct hist_endpoint ep;
	json_t *res, *holders, *intervals = NULL;
	enum hist_state best = HIST_NO;
	char abuf[ADDR_STRLEN], *reason = NULL;
	int rc, covered;

	if (hist_query_begin(st, tailnet, &txn, &ep, cause) == -1)
		return HIST_ERR;
	if (at == TSTIME_NONE)
		at = ep.last_ok;
	addr_format(a, abuf, sizeof(abuf));
	res = json_object();
	json_object_set_new(res, "ip", json_string(abuf));
	json_object_set_new(res, "tailnet", json_string(tailnet));
	hist_set_time(res, "at", at);
	holders = json_array();
	if (history)
		intervals = json_array();
	covered = at != TSTIME_NONE && hist_covered(txn, tailnet, HIST_EP_DEVICES, at, &reason);
	hist_key_addr(&prefix, tailnet, a);
	if (store_cursor_open(txn, STORE_ADDR, &cur, cause) == -1) {
		free(reason);
		json_decref(res);
		json_decref(holders);
		json_decref(intervals);
		hist_endpoint_free(&ep);
		store_read_end(txn);
		return HIST_ERR;
	}
	for (rc = store_cursor_seek(cur, &prefix, &prefix, &key, &val); rc == 0;
	     rc = store_cursor_step(cur, 1, &key, &val)) {
		struct hist_bounds b;
		const char *id = (const char *)key.data + prefix.len + 8;
		enum hist_state s;

		if (key.len <= prefix.len + 8 || val.len < HIST_BOUNDS_LEN ||
		    ((const char *)key.data)[key.len - 1] != '\0')
			continue;
		hist_bounds_get(val.data, &b);
		s = at == TSTIME_NONE ? HIST_NO : hist_state_cov(&b, at, ep.last_ok, covered);
		if (s != HIST_NO) {
			json_array_append_new(holders, hist_holder_json(txn, tailnet, id, &b, at,
			                                                hist_state_names[s]));
			if (s == HIST_HELD || best == HIST_NO)
				best = s;
		}
		if (intervals != NULL)
			json_array_append_new(
			    intervals, hist_holder_json(txn, tailnet, id, &b, b.from_hi, NULL));
	}
	store_cursor_close(cur);
	if (best == HIST_HELD) {
		/* Only the holder(s) for certain are answers; maybe-windows of others are noise. */
		json_t *only = json_array(), *h;
		size_t i;

		json_array_foreach(holders, i, h)
		{
			if (strcmp(json_string_value(json_object_get(h, "state")), "held") == 0)
				json_array_append(only, h);
		}
		json_decref(holders);
		holders = only;
		json_object_set_new(res, "answer", json_string("held"));
	} else if (best == HIST_MAYBE) {
		json_object_set_new(res, "answer", json_string("maybe"));
		json_object_set_new(
		    res, "reason",
		    json_string(!covered && reason != NULL
		                    ? reason
		                    : "the address may have changed hands between two polls"));
	} else if (at == TSTIME_NONE) {
		json_object_set_new(res, "answer", json_string("unknown"));
		json_object_set_new(res, "reason", json_string("no successful poll yet"));
	} else if (covered) {
		json_object_set_new(res, "answer", json_string("none"));
		json_object_set_new(res, "reason",
		                    json_string("no device held it; polls cover that time"));
	} else {
		json_object_set_new(res, "answer", json_string("unknown"));
		json_object_set_new(res, "reason", json_string(reason ?: "not covered by polls"));
	}
	free(reason);
	json_object_set_new(res, "holders", holders);
	if (intervals != NULL)
		json_object_set_new(res, "intervals", intervals);
	hist_endpoint_free(&ep);
	store_read_end(txn);
	*out = res;
	return HIST_OK;
}

/* Does device ID have any version? */
static int
hist_device_known(struct store_txn *txn, const char *tailnet, const char *id)
{
	struct store_cursor *cur;
	struct store_key prefix;
	char *cause = NULL;
	int rc;

	hist_key_entity(&prefix, tailnet, id);
	if (store_cursor_open(txn, STORE_VER, &cur, &cause) == -1) {
		free(cause);
		return 0;
	}
	rc = store_cursor_seek(cur, &prefix, &prefix, NULL, NULL);
	store_cursor_close(cur);
	return rc == 0;
}

/* How well NAME (lower-cased) names device ID now: 0 its MagicDNS name, 1 that name's first
 * label, 2 its hostname; 3 when the device is gone or no longer bears it. */
static int
hist_name_rank(struct store_txn *txn, const char *tailnet, const char *id, const char *name)
{
	struct store_key k;
	struct store_val val;
	struct hist_cur cr;
	char *names[3], *cause = NULL;
	const char *host;
	json_t *dev;
	size_t n;
	int rank = 3;

	hist_key_entity(&k, tailnet, id);
	if (store_get(txn, STORE_CUR, &k, &val, &cause) != 0 || hist_cur_decode(&val, &cr) == -1) {
		free(cause);
		return 3;
	}
	dev = json_loadb(cr.stable, cr.stable_len, 0, NULL);
	host = json_string_value(json_object_get(dev, "hostname"));
	n = norm_device_names(dev, names);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(names[i], name) == 0 && rank == 3) {
			/* names[] holds the MagicDNS name, its label, the hostname, in that order.
			 */
			rank = (int)i;
			if (host != NULL && strcasecmp(host, name) == 0 && i + 1 == n)
				rank = 2;
		}
		free(names[i]);
	}
	json_decref(dev);
	return rank;
}

/* The device NAME (lower-cased) finds: one that bears it now (the MagicDNS name before a label,
 * a label before a hostname), else the one that bore it most recently. */
static char *
hist_find_name(struct store_txn *txn, const char *tailnet, const char *name)
{
	struct store_cursor *cur;
	struct store_key prefix;
	struct store_val key;
	char *lower = xstrdup(name), *best = NULL, *cause = NULL;
	tstime_t best_t = TSTIME_NONE;
	int best_rank = 4, rc;

	for (char *p = lower; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	hist_key_name(&prefix, tailnet, lower);
	if (store_cursor_open(txn, STORE_NAME, &cur, &cause) == -1) {
		free(cause);
		free(lower);
		return NULL;
	}
	for (rc = store_cursor_seek(cur, &prefix, &prefix, &key, NULL); rc == 0;
	     rc = store_cursor_step(cur, 1, &key, NULL)) {
		const uint8_t *p = key.data;
		const char *id;
		tstime_t t;
		int rank;

		if (key.len <= prefix.len + 8 || p[key.len - 1] != '\0')
			continue;
		t = store_get_i64(p + prefix.len);
		id = (const char *)p + prefix.len + 8;
		rank = hist_name_rank(txn, tailnet, id, lower);
		if (best == NULL || rank < best_rank || (rank == best_rank && t >= best_t)) {
			free(best);
			best = xstrdup(id);
			best_t = t;
			best_rank = rank;
		}
	}
	store_cursor_close(cur);
	free(lower);
	return best;
}

/* Top-level keys whose values differ between two versions. */
json_t *
hist_changed_fields(json_t *prev, json_t *dev)
{
	json_t *changed = json_array(), *v;
	const char *key;

	json_object_foreach(dev, key, v)
	{
		if (!json_equal(v, json_object_get(prev, key)))
			json_array_append_new(changed, json_string(key));
	}
	json_object_foreach(prev, key, v)
	{
		if (json_object_get(dev, key) == NULL)
			json_array_append_new(changed, json_string(key));
	}
	return changed;
}

static json_t *
hist_versions(struct store_txn *txn, const char *tailnet, const char *id, tstime_t at, int covered,
              tstime_t last_ok, json_t **at_version)
{
	struct store_cursor *cur;
	struct store_key prefix;
	struct store_val key, val;
	json_t *list = json_array(), *prev = NULL;
	char *cause = NULL;
	int rc;

	hist_key_entity(&prefix, tailnet, id);
	if (store_cursor_open(txn, STORE_VER, &cur, &cause) == -1) {
		free(cause);
		return list;
	}
	for (rc = store_cursor_seek(cur, &prefix, &prefix, &key, &val); rc == 0;
	     rc = store_cursor_step(cur, 1, &key, &val)) {
		struct hist_bounds b;
		json_t *dev, *v;

		if (key.len != prefix.len + 8 || val.len < HIST_BOUNDS_LEN)
			continue;
		hist_bounds_get(val.data, &b);
		dev = json_loadb((const char *)val.data + HIST_BOUNDS_LEN,
		                 val.len - HIST_BOUNDS_LEN, 0, NULL);
		if (dev == NULL)
			continue;
		v = json_object();
		hist_bounds_json(v, &b);
		if (at != TSTIME_NONE) {
			enum hist_state s = hist_state_cov(&b, at, last_ok, covered);

			json_object_set_new(v, "state", json_string(hist_state_names[s]));
			if (s != HIST_NO && at_version != NULL &&
			    (*at_version == NULL || s == HIST_HELD)) {
				json_decref(*at_version);
				*at_version = json_incref(v);
			}
		}
		json_object_set_new(v, "changed",
		                    prev ? hist_changed_fields(prev, dev) : json_array());
		json_object_set(v, "device", dev);
		json_decref(prev);
		prev = dev;
		json_array_append_new(list, v);
	}
	json_decref(prev);
	store_cursor_close(cur);
	return list;
}

int
hist_device_get(struct store *st, const char *tailnet, const char *query, tstime_t at, int history,
                json_t **out, char **cause)
{
	struct store_txn *txn;
	struct store_key k;
	struct store_val val;
	struct hist_endpoint ep;
	struct tsaddr addr;
	struct hist_cur cr;
	const char *matched = "id";
	char *id = NULL;
	json_t *res, *versions, *atv = NULL;
	int rc, covered = 1;

	if (hist_query_begin(st, tailnet, &txn, &ep, cause) == -1)
		return HIST_ERR;
	if (strlen(query) <= NORM_MAX_ID && hist_device_known(txn, tailnet, query)) {
		id = xstrdup(query);
	} else if (addr_parse(query, &addr) == 0) {
		json_t *ipres = NULL, *h;
		char *ic = NULL;

		store_read_end(txn);
		txn = NULL;
		if (hist_ip_at(st, tailnet, &addr, at, 1, &ipres, &ic) == HIST_OK) {
			/* The holder at that time, else the address's most recent holder. */
			h = json_array_get(json_object_get(ipres, "holders"), 0);
			if (h == NULL) {
				json_t *iv = json_object_get(ipres, "intervals");

				h = json_array_get(iv, json_array_size(iv) - 1);
			}
			if (h != NULL)
				id = xstrdup(json_string_value(json_object_get(h, "nodeId")));
		}
		free(ic);
		json_decref(ipres);
		matched = "ip";
		if (store_read_begin(st, &txn, cause) == -1) {
			free(id);
			hist_endpoint_free(&ep);
			return HIST_ERR;
		}
	} else {
		id = hist_find_name(txn, tailnet, query);
		matched = "name";
	}
	if (id == NULL) {
		hist_endpoint_free(&ep);
		store_read_end(txn);
		*cause = xasprintf("no device matches \"%s\" in tailnet %s", query, tailnet);
		return HIST_NOTFOUND;
	}
	res = json_object();
	json_object_set_new(res, "nodeId", json_string(id));
	json_object_set_new(res, "tailnet", json_string(tailnet));
	json_object_set_new(res, "matched_by", json_string(matched));
	hist_key_entity(&k, tailnet, id);
	rc = store_get(txn, STORE_CUR, &k, &val, cause);
	if (rc == -1) {
		free(id);
		json_decref(res);
		hist_endpoint_free(&ep);
		store_read_end(txn);
		return HIST_ERR;
	}
	if (rc == 1) {
		tstime_t from_hi, to_lo;
		char *why = NULL;

		/* Hidden from the credential: not deleted, just not known any more. */
		int hidden = hist_hidden_get(txn, tailnet, id, &from_hi, &to_lo, &why) == 1;

		free(why);
		json_object_set_new(res, "deleted", json_boolean(!hidden));
		if (hidden)
			json_object_set_new(res, "presence", json_string(HIST_UNSEEN_WHY));
	} else
		json_object_set_new(res, "deleted", json_false());
	if (at != TSTIME_NONE) {
		char *reason = NULL;

		covered = hist_covered(txn, tailnet, HIST_EP_DEVICES, at, &reason);
		free(reason);
	}
	versions = hist_versions(txn, tailnet, id, at, covered, ep.last_ok, &atv);
	if (at != TSTIME_NONE) {
		hist_set_time(res, "at", at);
		json_object_set_new(res, "current", atv ? atv : json_null());
	} else if (rc == 0 && hist_cur_decode(&val, &cr) == 0) {
		json_t *c = json_object();

		hist_bounds_json(c, &cr.b);
		json_object_set_new(c, "device", json_loadb(cr.stable, cr.stable_len, 0, NULL));
		json_object_set_new(c, "volatile", json_loadb(cr.vol, cr.vol_len, 0, NULL));
		json_object_set_new(res, "current", c);
	} else {
		json_object_set_new(res, "current", json_null());
		/* A deleted device: its last version says what it was. */
		json_object_set(res, "last",
		                json_array_get(versions, json_array_size(versions) - 1)
		                    ?: json_null());
	}
	if (history)
		json_object_set_new(res, "versions", versions);
	else
		json_decref(versions);
	free(id);
	hist_endpoint_free(&ep);
	store_read_end(txn);
	*out = res;
	return HIST_OK;
}

int
hist_devices_list(struct store *st, const char *tailnet, tstime_t at, char **out, size_t *len,
                  char **cause)
{
	struct store_txn *txn;
	struct store_cursor *cur;
	struct store_key prefix;
	struct store_val key, val;
	struct hist_endpoint ep;
	struct sbuf sb;
	char *reason = NULL;
	size_t n = 0;
	int rc, covered = 1;

	if (hist_query_begin(st, tailnet, &txn, &ep, cause) == -1)
		return HIST_ERR;
	sbuf_init(&sb);
	sbuf_adds(&sb, "{\"tailnet\":");
	sbuf_add_json_string(&sb, tailnet);
	sbuf_adds(&sb, ",\"at\":");
	hist_sbuf_time(&sb, at);
	sbuf_adds(&sb, ",\"as_of\":");
	hist_sbuf_time(&sb, at == TSTIME_NONE ? ep.last_ok : at);
	hist_key_entity(&prefix, tailnet, NULL);
	if (store_cursor_open(txn, at == TSTIME_NONE ? STORE_CUR : STORE_VER, &cur, cause) == -1) {
		sbuf_free(&sb);
		hist_endpoint_free(&ep);
		store_read_end(txn);
		return HIST_ERR;
	}
	if (at == TSTIME_NONE && ep.last_ok == TSTIME_NONE) {
		sbuf_adds(&sb, ",\"coverage\":\"unknown\",\"reason\":\"no successful poll yet\"");
	} else if (at != TSTIME_NONE &&
	           !(covered = hist_covered(txn, tailnet, HIST_EP_DEVICES, at, &reason))) {
		sbuf_adds(&sb, ",\"coverage\":\"unknown\",\"reason\":");
		sbuf_add_json_string(&sb, reason ? reason : "not covered by polls");
	} else
		sbuf_adds(&sb, ",\"coverage\":\"covered\"");
	free(reason);
	sbuf_adds(&sb, ",\"devices\":[");
	for (rc = store_cursor_seek(cur, &prefix, &prefix, &key, &val); rc == 0;
	     rc = store_cursor_step(cur, 1, &key, &val)) {
		const char *id = (const char *)key.data + prefix.len;
		const uint8_t *v = val.data;
		struct hist_bounds b;
		const char *dev, *vol = NULL;
		size_t dlen, vlen = 0;
		enum hist_state s = HIST_HELD;

		if (key.len <= prefix.len || memchr(id, '\0', key.len - prefix.len) == NULL)
			continue;

		if (at == TSTIME_NONE) {
			struct hist_cur cr;

			if (hist_cur_decode(&val, &cr) == -1)
				continue;
			b = cr.b;
			dev = cr.stable;
			dlen = cr.stable_len;
			vol = cr.vol;
			vlen = cr.vol_len;
		} else {
			if (val.len < HIST_BOUNDS_LEN)
				continue;
			hist_bounds_get(v, &b);
			if ((s = hist_state_cov(&b, at, ep.last_ok, covered)) == HIST_NO)
				continue;
			dev = (const char *)v + HIST_BOUNDS_LEN;
			dlen = val.len - HIST_BOUNDS_LEN;
		}
		sbuf_adds(&sb, n++ ? ",{\"nodeId\":" : "{\"nodeId\":");
		sbuf_add_json_string(&sb, id);
		sbuf_addf(&sb, ",\"state\":\"%s\",", hist_state_names[s]);
		hist_bounds_sbuf(&sb, &b);
		sbuf_adds(&sb, ",\"device\":");
		sbuf_add(&sb, dev, dlen);
		if (vol != NULL) {
			sbuf_adds(&sb, ",\"volatile\":");
			sbuf_add(&sb, vol, vlen);
		}
		sbuf_addc(&sb, '}');
	}
	sbuf_adds(&sb, "]}");
	store_cursor_close(cur);
	hist_endpoint_free(&ep);
	store_read_end(txn);
	*len = sb.len;
	*out = sbuf_steal(&sb);
	return HIST_OK;
}

/* The current record's volatile part of device ID, a new reference, or NULL. */
static json_t *
hist_volatile(struct store_txn *txn, const char *tailnet, const char *id)
{
	struct store_key k;
	struct store_val val;
	struct hist_cur cr;
	char *cause = NULL;

	hist_key_entity(&k, tailnet, id);
	if (store_get(txn, STORE_CUR, &k, &val, &cause) != 0 || hist_cur_decode(&val, &cr) == -1) {
		free(cause);
		return NULL;
	}
	return json_loadb(cr.vol, cr.vol_len, 0, NULL);
}

/* One address's row: its holder as recorded at T. */
static json_t *
hist_address_row(struct store_txn *txn, const char *tailnet, const struct tsaddr *a, const char *id,
                 const struct hist_bounds *b, const char *status, tstime_t t)
{
	struct hist_bounds vb;
	char abuf[ADDR_STRLEN];
	json_t *row = json_object(), *dev = hist_version_at(txn, tailnet, id, t, &vb), *vol;

	addr_format(a, abuf, sizeof(abuf));
	json_object_set_new(row, "address", json_string(abuf));
	json_object_set_new(row, "family", json_integer(addr_is_v4(a) ? 4 : 6));
	json_object_set_new(row, "status", json_string(status));
	json_object_set_new(row, "nodeId", json_string(id));
	hist_bounds_json(row, b);
	json_object_set_new(row, "device", dev ? dev : json_null());
	if ((vol = hist_volatile(txn, tailnet, id)) != NULL)
		json_object_set_new(row, "volatile", vol);
	return row;
}

int
hist_addresses(struct store *st, const char *tailnet, tstime_t at, int64_t window, json_t **out,
               char **cause)
{
	struct store_txn *txn;
	struct store_cursor *cur;
	struct store_key prefix;
	struct store_val key, val;
	struct hist_endpoint ep;
	json_t *res, *rows;
	struct tsaddr addr;
	/* The best candidate for the address being scanned: held, else maybe, else released. */
	struct {
		int have;
		enum hist_state s;
		struct hist_bounds b;
		char id[NORM_MAX_ID + 1];
	} best = {0};
	int rc, covered = 1;

	if (hist_query_begin(st, tailnet, &txn, &ep, cause) == -1)
		return HIST_ERR;
	if (at == TSTIME_NONE)
		at = ep.last_ok;
	if (at != TSTIME_NONE) {
		char *reason = NULL;

		covered = hist_covered(txn, tailnet, HIST_EP_DEVICES, at, &reason);
		free(reason);
	}
	res = json_object();
	rows = json_array();
	json_object_set_new(res, "tailnet", json_string(tailnet));
	hist_set_time(res, "at", at);
	json_object_set_new(res, "window_s", json_integer(window / TSTIME_SEC));
	if (store_cursor_open(txn, STORE_ADDR, &cur, cause) == -1) {
		json_decref(res);
		json_decref(rows);
		hist_endpoint_free(&ep);
		store_read_end(txn);
		return HIST_ERR;
	}
	store_key_init(&prefix);
	store_key_str(&prefix, tailnet);
	for (rc = at == TSTIME_NONE ? 1 : store_cursor_seek(cur, &prefix, &prefix, &key, &val);;
	     rc = store_cursor_step(cur, 1, &key, &val)) {
		const uint8_t *p = key.data;
		struct tsaddr a;
		struct hist_bounds b;
		enum hist_state s;
		int rank;

		if (rc == 0 && (key.len <= prefix.len + 24 || val.len < HIST_BOUNDS_LEN ||
		                p[key.len - 1] != '\0'))
			continue;
		if (rc == 0)
			memcpy(a.b, p + prefix.len, sizeof(a.b));
		/* A new address (or the end): the previous one's row. */
		if (best.have && (rc != 0 || memcmp(a.b, addr.b, sizeof(a.b)) != 0)) {
			const char *status = best.s == HIST_NO ? "deprecated" : "active";
			tstime_t t = best.s == HIST_NO ? best.b.to_lo : at;

			json_array_append_new(rows, hist_address_row(txn, tailnet, &addr, best.id,
			                                             &best.b, status, t));
			best.have = 0;
		}
		if (rc != 0)
			break;
		hist_bounds_get(val.data, &b);
		s = hist_state_cov(&b, at, ep.last_ok, covered);
		/* Released recently enough to be retired by a sync, not forgotten. */
		if (s == HIST_NO &&
		    !(b.to_hi != TSTIME_NONE && b.to_lo <= at && at - b.to_lo <= window))
			continue;
		rank = s == HIST_HELD ? 3 : s == HIST_MAYBE ? 2 : 1;
		if (best.have) {
			int brank = best.s == HIST_HELD ? 3 : best.s == HIST_MAYBE ? 2 : 1;

			/* Intervals come oldest first: a later one of the same rank wins. */
			if (rank < brank)
				continue;
		}
		addr = a;
		best.have = 1;
		best.s = s;
		best.b = b;
		snprintf(best.id, sizeof(best.id), "%s", (const char *)p + prefix.len + 24);
	}
	store_cursor_close(cur);
	json_object_set_new(res, "addresses", rows);
	hist_endpoint_free(&ep);
	store_read_end(txn);
	*out = res;
	return HIST_OK;
}
