/* hist.c: the history core every kind shares: bounds, current records, versions, the merge,
 * endpoint state, coverage and one-shot marks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attrib.h"
#include "hist-int.h"
#include "log.h"
#include "pin.h"
#include "retain.h"

/* A coverage row: the previous successful poll, duration, whether the span to it is covered. */
#define HIST_COVER_LEN 24
#define HIST_COVER_SPAN_OK 0x1
#define HIST_COVER_OAUTH 0x2 /* the poll was made with an OAuth access token */
/* The wall clock was unreliable between the previous poll and this one: a gap, and the poll's
 * own time is an estimate. Rows written before this bit existed simply lack it. */
#define HIST_COVER_CLOCK 0x4

const char *const hist_state_names[] = {"none", "held", "maybe"};

void
hist_bounds_put(uint8_t *p, const struct hist_bounds *b)
{
	uint32_t flags = b->flags & ~(uint32_t)HIST_F_PINS; /* what a reader applied stays out */

	store_put_i64(p, b->from_lo);
	store_put_i64(p + 8, b->from_hi);
	store_put_i64(p + 16, b->to_lo);
	store_put_i64(p + 24, b->to_hi);
	p[32] = (uint8_t)(flags >> 24);
	p[33] = (uint8_t)(flags >> 16);
	p[34] = (uint8_t)(flags >> 8);
	p[35] = (uint8_t)flags;
}

void
hist_bounds_get(const uint8_t *p, struct hist_bounds *b)
{
	b->from_lo = store_get_i64(p);
	b->from_hi = store_get_i64(p + 8);
	b->to_lo = store_get_i64(p + 16);
	b->to_hi = store_get_i64(p + 24);
	b->flags = (uint32_t)p[32] << 24 | (uint32_t)p[33] << 16 | (uint32_t)p[34] << 8 | p[35];
	b->flags &= ~(uint32_t)HIST_F_PINS;
	b->pin_from = b->pin_to = TSTIME_NONE;
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
	c->b = (struct hist_bounds){store_get_i64(v),
	                            store_get_i64(v + 8),
	                            TSTIME_NONE,
	                            TSTIME_NONE,
	                            (uint32_t)(word >> 32) & ~(uint32_t)HIST_F_PINS,
	                            TSTIME_NONE,
	                            TSTIME_NONE};
	c->stable = (const char *)v + HIST_CUR_HEAD;
	c->vol = c->stable + c->stable_len;
	c->vol_len = val->len - HIST_CUR_HEAD - c->stable_len;
	return 0;
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
	store_put_u64(v + 16, (uint64_t)(b->flags & ~(uint32_t)HIST_F_PINS) << 32 | stable_len);
	memcpy(v + HIST_CUR_HEAD, stable, stable_len);
	if (vol_len > 0)
		memcpy(v + HIST_CUR_HEAD + stable_len, vol, vol_len);
	return v;
}

char *
hist_cur_stable_dup(const struct hist_cur *c)
{
	char *s = xmalloc(c->stable_len + 1);

	memcpy(s, c->stable, c->stable_len);
	s[c->stable_len] = '\0';
	return s;
}

/* Where a version stands at T, given the last successful poll of its endpoint. A pinned start
 * holds from its microsecond on; a pinned end holds until the microsecond before it (the new
 * state holds at it): no window is left on that side. */
static enum hist_state
hist_state_at(const struct hist_bounds *b, tstime_t t, tstime_t last_ok)
{
	int open = b->to_hi == TSTIME_NONE, pin_to = (b->flags & HIST_F_PIN_TO) != 0;
	tstime_t start = (b->flags & HIST_F_PIN_FROM)     ? b->pin_from
	                 : (b->flags & HIST_F_EXACT_FROM) ? b->from_lo
	                                                  : b->from_hi;

	if (t >= start && (open ? t <= last_ok : pin_to ? t < b->pin_to : t <= b->to_lo))
		return HIST_HELD;
	/* At from_lo itself a poll saw the previous state: the window is open at both ends. */
	if (!(b->flags & HIST_F_PIN_FROM) && b->from_lo != TSTIME_NONE && t > b->from_lo &&
	    t < b->from_hi)
		return HIST_MAYBE;
	if (!open && !pin_to && t > b->to_lo && t < b->to_hi)
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
	/* An end nobody saw (a device hidden from the credential) is no time. */
	if (t == HIST_UNSEEN_END || t == HIST_PENDING_END)
		return json_null();
	return tstime_json(t);
}

void
hist_sbuf_time(struct sbuf *sb, tstime_t t)
{
	char buf[TSTIME_STRLEN];

	if (t == TSTIME_NONE || t == HIST_UNSEEN_END || t == HIST_PENDING_END) {
		sbuf_adds(sb, "null");
		return;
	}
	tstime_format(t, buf, sizeof(buf));
	sbuf_addf(sb, "\"%s\"", buf);
}

/* The bounds as answered: a pinned side collapses to its moment (lo = hi). */
static void
hist_bounds_shown(const struct hist_bounds *b, struct hist_bounds *out)
{
	*out = *b;
	if (b->flags & HIST_F_PIN_FROM)
		out->from_lo = out->from_hi = b->pin_from;
	if (b->flags & HIST_F_PIN_TO)
		out->to_lo = out->to_hi = b->pin_to;
}

void
hist_bounds_json(json_t *obj, const struct hist_bounds *b)
{
	struct hist_bounds s;

	hist_bounds_shown(b, &s);
	json_object_set_new(obj, "from_lo", hist_time_json(s.from_lo));
	json_object_set_new(obj, "from_hi", hist_time_json(s.from_hi));
	json_object_set_new(obj, "to_lo", hist_time_json(s.to_lo));
	json_object_set_new(obj, "to_hi", hist_time_json(s.to_hi));
	if (b->flags & (HIST_F_EXACT_FROM | HIST_F_PIN_FROM))
		json_object_set_new(obj, "exact_from", json_true());
	if (b->flags & HIST_F_ADOPTED)
		json_object_set_new(obj, "adopted", json_true());
	if (b->flags & HIST_F_PIN_FROM)
		json_object_set_new(obj, "exact_from_by", json_string(PIN_BY));
	if (b->flags & HIST_F_PIN_TO) {
		json_object_set_new(obj, "exact_to", json_true());
		json_object_set_new(obj, "exact_to_by", json_string(PIN_BY));
	}
	/* The polls' own window beside the pinned one: what was observed, and what the log adds. */
	if (b->flags & HIST_F_PINS)
		json_object_set_new(
		    obj, "polled",
		    json_pack("{s:o, s:o, s:o, s:o}", "from_lo", hist_time_json(b->from_lo),
		              "from_hi", hist_time_json(b->from_hi), "to_lo",
		              hist_time_json(b->to_lo), "to_hi", hist_time_json(b->to_hi)));
	if (b->to_hi == HIST_UNSEEN_END)
		json_object_set_new(obj, "end", json_string(HIST_UNSEEN_WHY));
	if (b->to_hi == HIST_PENDING_END)
		json_object_set_new(obj, "end", json_string(HIST_PENDING_WHY));
}

void
hist_bounds_pins_json(json_t *v, struct hist_bounds *b)
{
	b->flags &= ~(uint32_t)HIST_F_PINS;
	if (json_is_string(json_object_get(v, "exact_from_by")) && b->from_hi != TSTIME_NONE) {
		b->flags |= HIST_F_PIN_FROM;
		b->pin_from = b->from_hi;
	}
	if (json_is_string(json_object_get(v, "exact_to_by")) && b->to_hi != TSTIME_NONE) {
		b->flags |= HIST_F_PIN_TO;
		b->pin_to = b->to_hi;
	}
}

void
hist_bounds_sbuf(struct sbuf *sb, const struct hist_bounds *b)
{
	struct hist_bounds s;

	hist_bounds_shown(b, &s);
	sbuf_adds(sb, "\"from_lo\":");
	hist_sbuf_time(sb, s.from_lo);
	sbuf_adds(sb, ",\"from_hi\":");
	hist_sbuf_time(sb, s.from_hi);
	sbuf_adds(sb, ",\"to_lo\":");
	hist_sbuf_time(sb, s.to_lo);
	sbuf_adds(sb, ",\"to_hi\":");
	hist_sbuf_time(sb, s.to_hi);
	if (b->flags & (HIST_F_EXACT_FROM | HIST_F_PIN_FROM))
		sbuf_adds(sb, ",\"exact_from\":true");
	if (b->flags & HIST_F_ADOPTED)
		sbuf_adds(sb, ",\"adopted\":true");
	if (b->flags & HIST_F_PIN_FROM)
		sbuf_adds(sb, ",\"exact_from_by\":\"" PIN_BY "\"");
	if (b->flags & HIST_F_PIN_TO)
		sbuf_adds(sb, ",\"exact_to\":true,\"exact_to_by\":\"" PIN_BY "\"");
	if (b->flags & HIST_F_PINS) {
		sbuf_adds(sb, ",\"polled\":{\"from_lo\":");
		hist_sbuf_time(sb, b->from_lo);
		sbuf_adds(sb, ",\"from_hi\":");
		hist_sbuf_time(sb, b->from_hi);
		sbuf_adds(sb, ",\"to_lo\":");
		hist_sbuf_time(sb, b->to_lo);
		sbuf_adds(sb, ",\"to_hi\":");
		hist_sbuf_time(sb, b->to_hi);
		sbuf_addc(sb, '}');
	}
	if (b->to_hi == HIST_UNSEEN_END)
		sbuf_adds(sb, ",\"end\":\"" HIST_UNSEEN_WHY "\"");
	if (b->to_hi == HIST_PENDING_END)
		sbuf_adds(sb, ",\"end\":\"" HIST_PENDING_WHY "\"");
}

void
hist_key_kind(struct store_key *k, const char *tailnet, uint8_t kind, const char *id)
{
	store_key_init(k);
	store_key_str(k, tailnet);
	store_key_u8(k, kind);
	if (id != NULL)
		store_key_str(k, id);
}

void
hist_key_device(struct store_key *k, const char *tailnet, const char *id)
{
	hist_key_kind(k, tailnet, HIST_DEVICES->kind, id);
}

void
hist_key_addr(struct store_key *k, const char *tailnet, const struct tsaddr *a)
{
	store_key_init(k);
	store_key_str(k, tailnet);
	store_key_bytes(k, a->b, sizeof(a->b));
}

void
hist_key_name(struct store_key *k, const char *tailnet, const char *name)
{
	store_key_init(k);
	store_key_str(k, tailnet);
	store_key_str(k, name);
}

void
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
	ep->pending_confirm = (uint64_t)json_integer_value(json_object_get(j, "pending_confirm"));
	snprintf(ep->credential, sizeof(ep->credential), "%s",
	         json_string_value(json_object_get(j, "credential")) ?: "");
	snprintf(ep->raw, sizeof(ep->raw), "%s",
	         json_string_value(json_object_get(j, "raw")) ?: "");
	ep->raw_kept = json_is_true(json_object_get(j, "raw_kept"));
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
	if (ep->pending_confirm > 0)
		json_object_set_new(j, "pending_confirm",
		                    json_integer((json_int_t)ep->pending_confirm));
	if (ep->raw[0] != '\0')
		json_object_set_new(j, "raw", json_string(ep->raw));
	if (ep->raw_kept)
		json_object_set_new(j, "raw_kept", json_true());
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
		/* (An unparsed item without a current record is the caller's to notice.) */
		if (cmp > 0) {
			change(HIST_A_NEW, v.id, i, NULL, arg);
			i++;
			continue;
		}
		(*ncur)++;
		if (cmp < 0)
			change(HIST_A_GONE, curid, 0, &cr, arg);
		else if (v.stable == NULL)
			i++;
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
	if (rc == 0)
		attrib_note_version(kind, id, b->from_hi); /* joined when the poll ends */
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

int
hist_put_cover(struct store_txn *txn, const char *tailnet, const char *endpoint, tstime_t t,
               tstime_t prev, int span_ok, uint64_t count, int oauth, int clock, char **cause)
{
	uint8_t v[HIST_COVER_LEN];
	struct store_key k;

	hist_key_cover(&k, tailnet, endpoint);
	store_key_i64(&k, t);
	store_put_i64(v, prev);
	store_put_u64(v + 8, count);
	store_put_u64(v + 16, (span_ok && !clock ? HIST_COVER_SPAN_OK : 0) |
	                          (oauth ? HIST_COVER_OAUTH : 0) | (clock ? HIST_COVER_CLOCK : 0));
	return store_put(txn, STORE_COVER, &k, v, sizeof(v), cause);
}

/* Where a record's id (a char array) and its position in the answer (a size_t) sit. */
struct hist_sort_spec {
	size_t id_off, order_off;
};

/* By id, then by position in the answer: the first of duplicates sorts first. */
static int
hist_cmp_id(const void *a, const void *b, void *arg)
{
	const struct hist_sort_spec *sp = arg;
	int c = strcmp((const char *)a + sp->id_off, (const char *)b + sp->id_off);
	size_t x, y;

	if (c != 0)
		return c;
	memcpy(&x, (const char *)a + sp->order_off, sizeof(x));
	memcpy(&y, (const char *)b + sp->order_off, sizeof(y));
	return x < y ? -1 : x > y;
}

size_t
hist_sort_unique(void *base, size_t n, size_t size, size_t id_off, size_t order_off,
                 const char *tailnet, const char *what, void (*drop)(void *))
{
	struct hist_sort_spec sp = {id_off, order_off};
	char *p = base;
	size_t i, kept = 0;

	qsort_r(base, n, size, hist_cmp_id, &sp);
	for (i = 0; i < n; i++) {
		char *r = p + i * size;

		if (kept > 0 && strcmp(r + id_off, p + (kept - 1) * size + id_off) == 0) {
			log_warnx("%s: %s %s listed twice; keeping the first", tailnet, what,
			          r + id_off);
			drop(r);
			memset(r, 0, size);
			continue;
		}
		if (i != kept) {
			memcpy(p + kept * size, r, size);
			memset(r, 0, size);
		}
		kept++;
	}
	return kept;
}

void
hist_policy_defaults(struct hist_policy *pol)
{
	pol->expiry_warn[0] = 14 * 86400 * TSTIME_SEC;
	pol->expiry_warn[1] = 7 * 86400 * TSTIME_SEC;
	pol->expiry_warn[2] = 86400 * TSTIME_SEC;
	pol->nexpiry_warn = 3;
}

int
hist_poll_begin(struct store_txn *txn, const char *tailnet, const char *endpoint, tstime_t *t,
                struct hist_endpoint *ep, const struct hist_policy *pol, char **cause)
{
	tstime_t last;

	attrib_reset(); /* what a run of this transaction before a map growth noted */
	if (hist_ep_read(txn, tailnet, endpoint, ep, cause) == -1)
		return -1;
	last = ep->last_poll;
	if (pol->clock_unreliable != NULL && last != TSTIME_NONE)
		ep->clock_why = pol->clock_unreliable;
	else if (ep->last_ok != TSTIME_NONE && *t < ep->last_ok)
		ep->clock_why = "the wall clock is before the last recorded poll";
	/* Poll times are strictly increasing: they are keys, and bounds compare them. A clock that
	 * cannot be trusted places the poll by what can: the monotonic time since the last poll,
	 * the API's Date:. Never one microsecond after the last: that is invented precision. (A
	 * failed poll stamped later is only the endpoint's state: windows start at last_ok. The
	 * same reading twice is no step: the same answer applied again, a microsecond later.) */
	if (ep->clock_why == NULL && last != TSTIME_NONE && *t <= last)
		*t = last + 1;
	if (ep->clock_why != NULL) {
		if (pol->mono_elapsed > 0 && last + pol->mono_elapsed > *t)
			*t = last + pol->mono_elapsed;
		/* The API's clock only when ours has nothing: it may be the wrong one. */
		if (*t <= last && pol->api_date > last)
			*t = pol->api_date;
		if (*t <= last) {
			char a[TSTIME_STRLEN];

			tstime_format(last, a, sizeof(a));
			*cause = xasprintf("clock unreliable (%s) and nothing to place this poll "
			                   "after the last one (%s): not recorded",
			                   ep->clock_why, a);
			hist_endpoint_free(ep);
			return -1;
		}
	}
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
	                   ep->clock_why != NULL, cause) == -1)
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
	int64_t retain = 0;
	tstime_t horizon = retain_horizon(txn, tailnet, &retain);

	/* What ended before it is gone: nothing there can be "none". */
	if (horizon != TSTIME_NONE && t < horizon) {
		tstime_format(horizon, a, sizeof(a));
		tstime_format_duration(retain, b, sizeof(b));
		*reason = xasprintf(RETAIN_WHY " (%s, retain = %s)", a, b);
		return 0;
	}
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
		if (flags & HIST_COVER_CLOCK) {
			/* Not even the poll's own time is known better than the span. */
			if (prev == TSTIME_NONE)
				*reason = xasprintf("clock unreliable until %s", b);
			else {
				tstime_format(prev, a, sizeof(a));
				*reason = xasprintf("clock unreliable between %s and %s", a, b);
			}
		} else if (at == t ||
		           (prev != TSTIME_NONE && prev <= t && (flags & HIST_COVER_SPAN_OK)))
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

/* Sets the one-shot mark WHAT of entity ID of KIND at T: 1 if it was set already, 0 now set,
 * -1 error. */
int
hist_mark(struct store_txn *txn, const char *tailnet, uint8_t kind, const char *id,
          const char *what, tstime_t t, char **cause)
{
	struct store_key k;
	struct store_val v;
	uint8_t when[8];
	int rc;

	hist_key_kind(&k, tailnet, kind, id);
	store_key_str(&k, what);
	if ((rc = store_get(txn, STORE_MARK, &k, &v, cause)) != 1)
		return rc == 0 ? 1 : -1;
	store_put_i64(when, t);
	return store_put(txn, STORE_MARK, &k, when, sizeof(when), cause);
}

/* The mark of an entity's first absence from a list: its window, until confirmed or refuted. */
static void
hist_confirm_key(struct store_key *k, const char *tailnet, uint8_t kind, const char *id)
{
	hist_key_kind(k, tailnet, kind, id);
	store_key_str(k, "missing");
}

/* 1 and the window of ID's mark, 0 without one, -1. */
static int
hist_confirm_get(struct store_txn *txn, const char *tailnet, uint8_t kind, const char *id,
                 tstime_t *to_lo, tstime_t *to_hi, char **cause)
{
	struct store_key k;
	struct store_val v;
	int rc;

	hist_confirm_key(&k, tailnet, kind, id);
	if (k.bad)
		return 0;
	if ((rc = store_get(txn, STORE_MARK, &k, &v, cause)) != 0)
		return rc == 1 ? 0 : -1;
	if (v.len != 16) {
		*cause = xasprintf("store: a damaged mark of absence of %s", id);
		return -1;
	}
	*to_lo = store_get_i64(v.data);
	*to_hi = store_get_i64((const uint8_t *)v.data + 8);
	return 1;
}

/* Is ID among the strings of LIST, or among its objects' IDMEMBER? */
static int
hist_confirm_in(json_t *list, const char *idmember, const char *id)
{
	json_t *v;
	size_t i;

	json_array_foreach(list, i, v)
	{
		const char *s = idmember != NULL ? json_string_value(json_object_get(v, idmember))
		                                 : json_string_value(v);

		if (s != NULL && strcmp(s, id) == 0)
			return 1;
	}
	return 0;
}

int
hist_confirm_check(struct store_txn *txn, const char *tailnet, uint8_t kind, const char *id,
                   const struct endpoint_answer *ans, const char *idmember, tstime_t t,
                   const struct hist_policy *pol, int *marked, tstime_t *to_lo, tstime_t *to_hi,
                   char **cause)
{
	int rc = hist_confirm_get(txn, tailnet, kind, id, to_lo, to_hi, cause);

	if (rc == -1)
		return -1;
	*marked = rc;
	/* No answer at all: the caller vouches for every absence (a library user, a test). */
	if (ans == NULL || hist_confirm_in(ans->gone, NULL, id))
		return HIST_CONFIRM_GONE;
	if (hist_confirm_in(ans->fetched, idmember, id))
		return HIST_CONFIRM_THERE;
	/* A second list, long enough after the first, agrees. */
	if (*marked && t - *to_hi >= pol->confirm_delay)
		return HIST_CONFIRM_GONE;
	return HIST_CONFIRM_WAIT;
}

int
hist_confirm_wait(struct store_txn *txn, const char *tailnet, uint8_t kind, const char *id,
                  tstime_t from_hi, tstime_t to_lo, tstime_t to_hi, char **cause)
{
	struct store_key k;
	uint8_t v[16];
	tstime_t lo, hi;
	int rc = hist_confirm_get(txn, tailnet, kind, id, &lo, &hi, cause);

	/* The first absence's window is the one kept. */
	if (rc != 0)
		return rc == 1 ? 0 : -1;
	hist_confirm_key(&k, tailnet, kind, id);
	store_put_i64(v, to_lo);
	store_put_i64(v + 8, to_hi);
	if (store_put(txn, STORE_MARK, &k, v, sizeof(v), cause) == -1 ||
	    hist_version_close(txn, tailnet, kind, id, from_hi, to_lo, HIST_PENDING_END, cause) ==
	        -1)
		return -1;
	return 1;
}

int
hist_confirm_done(struct store_txn *txn, const char *tailnet, uint8_t kind, const char *id,
                  char **cause)
{
	struct store_key k;

	hist_confirm_key(&k, tailnet, kind, id);
	return store_del(txn, STORE_MARK, &k, cause) == -1 ? -1 : 0;
}

int
hist_confirm_refute(struct store_txn *txn, const char *tailnet, uint8_t kind, const char *id,
                    tstime_t from_hi, char **cause)
{
	if (hist_version_close(txn, tailnet, kind, id, from_hi, TSTIME_NONE, TSTIME_NONE, cause) ==
	    -1)
		return -1;
	return hist_confirm_done(txn, tailnet, kind, id, cause);
}

int
hist_confirm_marked(struct store_txn *txn, const char *tailnet, uint8_t kind, const char *id,
                    struct hist_cur *cur, char **cause)
{
	struct store_key k;
	struct store_val v;
	tstime_t lo, hi;
	int rc = hist_confirm_get(txn, tailnet, kind, id, &lo, &hi, cause);

	if (rc != 1)
		return rc;
	hist_key_kind(&k, tailnet, kind, id);
	if ((rc = store_get(txn, STORE_CUR, &k, &v, cause)) == -1)
		return -1;
	if (rc == 1 || hist_cur_decode(&v, cur) == -1) {
		*cause = xasprintf("store: %s is marked missing but has no current record", id);
		return -1;
	}
	return 1;
}

int
hist_confirm_plan(struct store *st, const char *tailnet, uint8_t kind, json_t *list,
                  const char *idmember, json_t **ids, char **cause)
{
	json_t *listed, *v;
	size_t i;
	int rc;

	/* No list at all is a broken answer that fetches nothing; null is an empty list. */
	if (!json_is_array(list) && !json_is_null(list)) {
		*ids = json_array();
		return 0;
	}
	listed = json_object();
	json_array_foreach(list, i, v)
	{
		const char *id = json_string_value(json_object_get(v, idmember));

		if (id != NULL)
			json_object_set_new(listed, id, json_true());
	}
	rc = hist_confirm_plan_set(st, tailnet, kind, listed, ids, cause);
	json_decref(listed);
	return rc;
}

int
hist_confirm_plan_set(struct store *st, const char *tailnet, uint8_t kind, json_t *listed,
                      json_t **ids, char **cause)
{
	struct store_txn *txn;
	struct store_cursor *cur;
	struct store_key prefix;
	struct store_val key, val;
	int rc;

	*ids = json_array();
	if (store_read_begin(st, &txn, cause) == -1) {
		json_decref(*ids);
		*ids = NULL;
		return -1;
	}
	hist_key_kind(&prefix, tailnet, kind, NULL);
	if (store_cursor_open(txn, STORE_CUR, &cur, cause) == -1) {
		store_read_end(txn);
		json_decref(*ids);
		*ids = NULL;
		return -1;
	}
	for (rc = store_cursor_seek(cur, &prefix, &prefix, &key, &val); rc == 0;
	     rc = store_cursor_step(cur, 1, &key, &val)) {
		const char *id = (const char *)key.data + prefix.len;

		if (key.len <= prefix.len || ((const char *)key.data)[key.len - 1] != '\0' ||
		    json_object_get(listed, id) != NULL)
			continue;
		/* Too many to ask one by one: a second list decides. */
		if (json_array_size(*ids) == HIST_CONFIRM_MAX) {
			json_array_clear(*ids);
			break;
		}
		json_array_append_new(*ids, json_string(id));
	}
	store_cursor_close(cur);
	store_read_end(txn);
	return 0;
}
