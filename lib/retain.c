/* retain.c: retention: versions, address intervals, poll log rows and events that ended before a
 * tailnet's horizon are deleted, a bounded number of records per write transaction. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "entity-int.h"
#include "hist-int.h"
#include "log.h"
#include "pin.h"
#include "retain.h"
#include "xmalloc.h"

#define RETAIN_META_EVENTS "retain/events"

static char *
retain_meta_name(const char *tailnet)
{
	return xasprintf("retain/tailnet/%s", tailnet);
}

/* Two integer members of a meta value; 1 when absent, -1 damaged. */
static int
retain_meta_read(struct store_txn *txn, const char *name, const char *a, int64_t *va, const char *b,
                 int64_t *vb)
{
	char *text = NULL, *cause = NULL;
	json_t *j;
	int rc = store_meta_get(txn, name, &text, &cause);

	free(cause);
	if (rc != 0)
		return rc;
	j = json_loads(text, 0, NULL);
	free(text);
	if (!json_is_integer(json_object_get(j, a)) || !json_is_integer(json_object_get(j, b))) {
		json_decref(j);
		return -1;
	}
	*va = json_integer_value(json_object_get(j, a));
	*vb = json_integer_value(json_object_get(j, b));
	json_decref(j);
	return 0;
}

static int
retain_meta_write(struct store_txn *txn, const char *name, const char *a, int64_t va, const char *b,
                  int64_t vb, char **cause)
{
	json_t *j = json_pack("{s:I, s:I}", a, (json_int_t)va, b, (json_int_t)vb);
	char *text = json_dumps(j, JSON_COMPACT);
	int rc = store_meta_put(txn, name, text, cause);

	free(text);
	json_decref(j);
	return rc;
}

tstime_t
retain_horizon(struct store_txn *txn, const char *tailnet, int64_t *retain)
{
	char *name = retain_meta_name(tailnet);
	int64_t h, r;
	int rc = retain_meta_read(txn, name, "horizon", &h, "retain", &r);

	free(name);
	if (rc != 0)
		return TSTIME_NONE;
	if (retain != NULL)
		*retain = r;
	return h;
}

uint64_t
retain_events_from(struct store_txn *txn, int64_t *retain)
{
	int64_t first, r;

	if (retain_meta_read(txn, RETAIN_META_EVENTS, "first", &first, "retain", &r) != 0 ||
	    first <= 0)
		return 0;
	if (retain != NULL)
		*retain = r;
	return (uint64_t)first;
}

char *
retain_events_gap(struct store *st, uint64_t after, uint64_t *firstp)
{
	struct store_txn *txn;
	char *cause = NULL, d[32];
	int64_t retain = 0;
	uint64_t first;

	if (store_read_begin(st, &txn, &cause) == -1) {
		free(cause);
		return NULL;
	}
	first = retain_events_from(txn, &retain);
	store_read_end(txn);
	if (first == 0 || after + 1 >= first)
		return NULL;
	if (firstp != NULL)
		*firstp = first;
	tstime_format_duration(retain, d, sizeof(d));
	return xasprintf("events before seq %llu were pruned by retention (retain = %s)",
	                 (unsigned long long)first, d);
}

void
retain_run_init(struct retain_run *r, const char *tailnet, int64_t retain, tstime_t now)
{
	memset(r, 0, sizeof(*r));
	r->tailnet = xstrdup(tailnet);
	r->retain = retain;
	r->horizon = now - retain;
	r->phase = RETAIN_VERSIONS;
	/* Made here, so that every try of a transaction appends to the same one. */
	r->texts = json_array();
	store_key_init(&r->resume);
}

void
retain_run_free(struct retain_run *r)
{
	free(r->tailnet);
	r->tailnet = NULL;
	json_decref(r->texts);
	r->texts = NULL;
}

/* The horizon as stored: it never moves back, since what is gone cannot come back. */
static int
retain_publish(struct store_txn *txn, struct retain_run *w, char **cause)
{
	char *name = retain_meta_name(w->tailnet);
	tstime_t h = retain_horizon(txn, w->tailnet, NULL);
	int rc = 0;

	if (h != TSTIME_NONE && h >= w->horizon)
		w->horizon = h;
	else
		rc =
		    retain_meta_write(txn, name, "horizon", w->horizon, "retain", w->retain, cause);
	free(name);
	return rc;
}

/* Keys to delete once the cursor that found them is closed. */
struct retain_dels {
	struct store_key *k;
	size_t n;
};

static void
retain_dels_add(struct retain_dels *d, const struct store_val *key)
{
	d->k = xrealloc(d->k, (d->n + 1) * sizeof(*d->k));
	store_key_init(&d->k[d->n]);
	store_key_bytes(&d->k[d->n++], key->data, key->len);
}

static int
retain_dels_run(struct store_txn *txn, enum store_db db, struct retain_dels *d, char **cause)
{
	int rc = 0;

	for (size_t i = 0; i < d->n && rc == 0; i++)
		if (store_del(txn, db, &d->k[i], cause) == -1)
			rc = -1;
	free(d->k);
	*d = (struct retain_dels){0};
	return rc;
}

static void
retain_resume(struct retain_run *w, const struct store_val *key, int incl)
{
	store_key_init(&w->resume);
	store_key_bytes(&w->resume, key->data, key->len);
	w->resume_incl = incl;
}

/* The first record of the phase still to visit. */
static int
retain_first(struct store_cursor *cur, const struct retain_run *w, const struct store_key *prefix,
             struct store_val *key, struct store_val *val)
{
	int rc = store_cursor_seek(cur, w->resume.len > 0 ? &w->resume : prefix, prefix, key, val);

	if (rc == 0 && w->resume.len > 0 && !w->resume_incl && key->len == w->resume.len &&
	    memcmp(key->data, w->resume.b, key->len) == 0)
		rc = store_cursor_step(cur, 1, key, val);
	return rc;
}

static int
retain_damaged(struct retain_run *w, const char *what, char **cause)
{
	*cause = xasprintf("store: a damaged %s record stops retention of %s", what, w->tailnet);
	return -1;
}

/* A pruned policy version's text may be no one's now: noted, decided in the last phase. */
static void
retain_text_candidate(struct retain_run *w, const struct store_val *val)
{
	json_t *j = json_loadb((const char *)val->data + HIST_BOUNDS_LEN,
	                       val->len - HIST_BOUNDS_LEN, 0, NULL);
	json_t *hex = json_object_get(j, "sha256");

	if (json_is_string(hex) && w->texts != NULL)
		json_array_append(w->texts, hex);
	json_decref(j);
}

/* Versions or address intervals (bounds first in the value) closed before the horizon. 1 more,
 * 0 phase done, -1. */
static int
retain_bounds(struct store_txn *txn, struct retain_run *w, enum store_db db, size_t max,
              uint64_t *count, char **cause)
{
	struct retain_dels del = {0};
	struct store_cursor *cur;
	struct store_key prefix;
	struct store_val key, val;
	struct hist_bounds b;
	size_t seen = 0;
	int rc;

	store_key_init(&prefix);
	store_key_str(&prefix, w->tailnet);
	if (store_cursor_open(txn, db, &cur, cause) == -1)
		return -1;
	for (rc = retain_first(cur, w, &prefix, &key, &val); rc == 0 && seen < max;
	     rc = store_cursor_step(cur, 1, &key, &val)) {
		seen++;
		retain_resume(w, &key, 0);
		if (val.len < HIST_BOUNDS_LEN)
			continue;
		hist_bounds_get(val.data, &b);
		/* Open, or its end unknown (a device hidden from the credential): still current. */
		if (b.to_hi == TSTIME_NONE || b.to_hi == HIST_UNSEEN_END || b.to_hi >= w->horizon)
			continue;
		retain_dels_add(&del, &key);
		if (db == STORE_VER && key.len > prefix.len &&
		    ((const uint8_t *)key.data)[prefix.len] == endpoints[ENDPOINT_policy].kind)
			retain_text_candidate(w, &val);
	}
	store_cursor_close(cur);
	if (rc == -1) {
		free(del.k);
		return retain_damaged(w, db == STORE_VER ? "version" : "address", cause);
	}
	*count += del.n;
	if (retain_dels_run(txn, db, &del, cause) == -1)
		return -1;
	return rc == 0;
}

/* Name index rows (tailnet, name, from_hi, node id) from before the horizon whose device has no
 * version left: a name that leads nowhere would only say "not found" more slowly. */
static int
retain_names(struct store_txn *txn, struct retain_run *w, size_t max, char **cause)
{
	struct retain_dels del = {0};
	struct store_cursor *cur, *vc;
	struct store_key prefix, vprefix;
	struct store_val key;
	size_t seen = 0;
	int rc;

	store_key_init(&prefix);
	store_key_str(&prefix, w->tailnet);
	if (store_cursor_open(txn, STORE_NAME, &cur, cause) == -1)
		return -1;
	if (store_cursor_open(txn, STORE_VER, &vc, cause) == -1) {
		store_cursor_close(cur);
		return -1;
	}
	for (rc = retain_first(cur, w, &prefix, &key, NULL); rc == 0 && seen < max;
	     rc = store_cursor_step(cur, 1, &key, NULL)) {
		const char *p = key.data, *name = p + prefix.len, *id;
		size_t nlen;

		seen++;
		retain_resume(w, &key, 0);
		if (key.len <= prefix.len || p[key.len - 1] != '\0')
			continue;
		nlen = strnlen(name, key.len - prefix.len);
		if (prefix.len + nlen + 1 + 8 >= key.len ||
		    store_get_i64(name + nlen + 1) >= w->horizon)
			continue;
		id = name + nlen + 1 + 8;
		hist_key_device(&vprefix, w->tailnet, id);
		if (store_cursor_seek(vc, &vprefix, &vprefix, NULL, NULL) == 1)
			retain_dels_add(&del, &key);
	}
	store_cursor_close(vc);
	store_cursor_close(cur);
	if (rc == -1) {
		free(del.k);
		return retain_damaged(w, "name", cause);
	}
	w->names += del.n;
	if (retain_dels_run(txn, STORE_NAME, &del, cause) == -1)
		return -1;
	return rc == 0;
}

/* Records kept beside a change under the key tailnet, KIND, id, the entity's kind byte, the
 * change's boundary (pins, PIN_KIND; attributions, ATTRIB_KIND) from before the horizon whose
 * change no version starts with any more: the versions on both sides of it are gone (a deletion
 * has no version after it). */
static int
retain_joins(struct store_txn *txn, struct retain_run *w, uint8_t kind, size_t max, uint64_t *count,
             char **cause)
{
	struct retain_dels del = {0};
	struct store_cursor *cur;
	struct store_key prefix, vk;
	struct store_val key, v;
	size_t seen = 0;
	int rc, g = 0;

	hist_key_kind(&prefix, w->tailnet, kind, NULL);
	if (store_cursor_open(txn, STORE_CUR, &cur, cause) == -1)
		return -1;
	for (rc = retain_first(cur, w, &prefix, &key, NULL); rc == 0 && seen < max;
	     rc = store_cursor_step(cur, 1, &key, NULL)) {
		const char *id = (const char *)key.data + prefix.len;
		size_t idlen = key.len > prefix.len ? strnlen(id, key.len - prefix.len) : 0;
		const uint8_t *p = (const uint8_t *)id + idlen + 1;

		seen++;
		retain_resume(w, &key, 0);
		if (idlen == 0 || key.len != prefix.len + idlen + 1 + 1 + 8 ||
		    store_get_i64(p + 1) >= w->horizon)
			continue;
		hist_key_kind(&vk, w->tailnet, p[0], id);
		store_key_i64(&vk, store_get_i64(p + 1));
		if ((g = store_get(txn, STORE_VER, &vk, &v, cause)) == -1)
			break;
		if (g == 1)
			retain_dels_add(&del, &key);
	}
	store_cursor_close(cur);
	if (rc == -1 || g == -1) {
		free(del.k);
		return g == -1 ? -1
		               : retain_damaged(w, kind == PIN_KIND ? "pin" : "attribution", cause);
	}
	*count += del.n;
	if (retain_dels_run(txn, STORE_CUR, &del, cause) == -1)
		return -1;
	return rc == 0;
}

/* Poll log rows before the horizon; each endpoint keeps its last row, which says when it was
 * last polled. A row's key: tailnet, endpoint, poll time. */
static int
retain_cover(struct store_txn *txn, struct retain_run *w, size_t max, char **cause)
{
	struct retain_dels del = {0};
	struct store_cursor *cur;
	struct store_key prefix, pend;
	struct store_val key, val;
	size_t seen = 0;
	int rc, pending = 0;

	store_key_init(&prefix);
	store_key_str(&prefix, w->tailnet);
	if (store_cursor_open(txn, STORE_COVER, &cur, cause) == -1)
		return -1;
	for (rc = retain_first(cur, w, &prefix, &key, &val); rc == 0 && seen < max;
	     rc = store_cursor_step(cur, 1, &key, &val)) {
		seen++;
		retain_resume(w, &key, 0);
		if (key.len < prefix.len + 9)
			continue;
		/* The row before this one, of the same endpoint, is not the endpoint's last. */
		if (pending && pend.len == key.len && memcmp(pend.b, key.data, key.len - 8) == 0) {
			struct store_val pv = {pend.b, pend.len};

			retain_dels_add(&del, &pv);
		}
		pending = store_get_i64((const uint8_t *)key.data + key.len - 8) < w->horizon;
		if (pending) {
			store_key_init(&pend);
			store_key_bytes(&pend, key.data, key.len);
		}
	}
	store_cursor_close(cur);
	if (rc == -1) {
		free(del.k);
		return retain_damaged(w, "poll log", cause);
	}
	/* Stopped with a row undecided: the next step starts at it. */
	if (rc == 0 && pending) {
		struct store_val pv = {pend.b, pend.len};

		retain_resume(w, &pv, 1);
	}
	w->cover += del.n;
	if (retain_dels_run(txn, STORE_COVER, &del, cause) == -1)
		return -1;
	return rc == 0;
}

/* The oldest events, while each is older than its tailnet's horizon; never the newest, which
 * numbers the next. Events are one log for every tailnet, so this prunes a prefix of it. */
static int
retain_events(struct store_txn *txn, struct retain_run *w, size_t max, char **cause)
{
	struct retain_dels del = {0}, deltime = {0};
	struct store_cursor *cur;
	struct store_key prefix, k;
	struct store_val key, val;
	uint64_t last = 0, first = 0;
	int64_t retain = w->retain, eretain = 0;
	char *tn = NULL;
	tstime_t h = TSTIME_NONE;
	size_t seen = 0;
	int rc, done = 0;

	store_key_init(&prefix);
	if (store_cursor_open(txn, STORE_EVENT, &cur, cause) == -1)
		return -1;
	if (store_cursor_last(cur, &prefix, &key, NULL) == 0 && key.len == 8)
		last = store_get_u64(key.data);
	store_key_init(&k);
	store_key_u64(&k, 0);
	for (rc = store_cursor_seek(cur, &k, &prefix, &key, &val); rc == 0 && seen < max;
	     rc = store_cursor_step(cur, 1, &key, &val)) {
		json_t *j;
		const char *etn, *ets;
		tstime_t t;
		uint64_t seq;

		seen++;
		if (key.len != 8 || (seq = store_get_u64(key.data)) == last) {
			done = 1;
			break;
		}
		j = json_loadb(val.data, val.len, 0, NULL);
		etn = json_string_value(json_object_get(j, "tailnet"));
		ets = json_string_value(json_object_get(j, "time"));
		if (etn == NULL || ets == NULL || tstime_parse_rfc3339(ets, &t) == -1) {
			json_decref(j);
			done = 1;
			break;
		}
		if (tn == NULL || strcmp(tn, etn) != 0) {
			free(tn);
			tn = xstrdup(etn);
			h = retain_horizon(txn, tn, &eretain);
		}
		json_decref(j);
		if (h == TSTIME_NONE || t >= h) {
			done = 1;
			break;
		}
		retain_dels_add(&del, &key);
		{
			struct store_key tk;
			struct store_val tv;

			store_key_init(&tk);
			store_key_i64(&tk, t);
			store_key_u64(&tk, seq);
			tv = (struct store_val){tk.b, tk.len};
			retain_dels_add(&deltime, &tv);
		}
		first = seq + 1;
		retain = eretain;
	}
	store_cursor_close(cur);
	free(tn);
	if (rc == -1) {
		free(del.k);
		free(deltime.k);
		return retain_damaged(w, "event", cause);
	}
	w->events += del.n;
	if (retain_dels_run(txn, STORE_EVENT, &del, cause) == -1 ||
	    retain_dels_run(txn, STORE_EVTIME, &deltime, cause) == -1)
		return -1;
	if (first > 0 && retain_meta_write(txn, RETAIN_META_EVENTS, "first", (int64_t)first,
	                                   "retain", retain, cause) == -1)
		return -1;
	return !done && rc == 0;
}

/* The policy texts some version of some tailnet still refers to, as a set of sha256 (hex). The
 * tailnets that poll a policy are those with its endpoint state ("ep/TAILNET/policy"). */
static int
retain_texts_used(struct store_txn *txn, json_t *used, char **cause)
{
	static const char ep[] = "ep/", pol[] = "/policy";
	struct store_cursor *mc, *vc;
	struct store_key mprefix, vprefix;
	struct store_val key, val;
	int rc;

	store_key_init(&mprefix);
	store_key_bytes(&mprefix, ep, sizeof(ep) - 1);
	if (store_cursor_open(txn, STORE_META, &mc, cause) == -1)
		return -1;
	if (store_cursor_open(txn, STORE_VER, &vc, cause) == -1) {
		store_cursor_close(mc);
		return -1;
	}
	for (rc = store_cursor_seek(mc, &mprefix, &mprefix, &key, NULL); rc == 0;
	     rc = store_cursor_step(mc, 1, &key, NULL)) {
		size_t tl = key.len - (sizeof(ep) - 1) - (sizeof(pol) - 1);
		char tn[STORE_KEYMAX + 1];
		int vrc;

		if (key.len <= sizeof(ep) - 1 + sizeof(pol) - 1 ||
		    memcmp((const char *)key.data + key.len - (sizeof(pol) - 1), pol,
		           sizeof(pol) - 1) != 0)
			continue;
		memcpy(tn, (const char *)key.data + sizeof(ep) - 1, tl);
		tn[tl] = '\0';
		hist_key_kind(&vprefix, tn, endpoints[ENDPOINT_policy].kind, NULL);
		for (vrc = store_cursor_seek(vc, &vprefix, &vprefix, NULL, &val); vrc == 0;
		     vrc = store_cursor_step(vc, 1, NULL, &val)) {
			json_t *j;
			const char *hex;

			if (val.len <= HIST_BOUNDS_LEN)
				continue;
			j = json_loadb((const char *)val.data + HIST_BOUNDS_LEN,
			               val.len - HIST_BOUNDS_LEN, 0, NULL);
			if ((hex = json_string_value(json_object_get(j, "sha256"))) != NULL)
				json_object_set_new(used, hex, json_true());
			json_decref(j);
		}
		if (vrc == -1)
			rc = -1;
		if (rc == -1)
			break;
	}
	store_cursor_close(vc);
	store_cursor_close(mc);
	if (rc == -1) {
		*cause = xasprintf("store: a damaged record stops retention of policy texts");
		return -1;
	}
	return 0;
}

/* The policy texts of the pruned versions that no version refers to any more. */
static int
retain_blobs(struct store_txn *txn, struct retain_run *w, char **cause)
{
	json_t *used, *hex;
	size_t i;
	int rc = 0;

	if (json_array_size(w->texts) == 0)
		return 0;
	used = json_object();
	if (retain_texts_used(txn, used, cause) == -1) {
		json_decref(used);
		return -1;
	}
	json_array_foreach(w->texts, i, hex)
	{
		const char *s = json_string_value(hex);
		uint8_t hash[ENTITY_HASH_LEN];
		struct store_key k;
		int drc;

		if (json_object_get(used, s) != NULL || strlen(s) != 2 * ENTITY_HASH_LEN)
			continue;
		for (size_t b = 0; b < ENTITY_HASH_LEN; b++) {
			unsigned x = 0;

			sscanf(s + 2 * b, "%2x", &x);
			hash[b] = (uint8_t)x;
		}
		store_key_init(&k);
		store_key_bytes(&k, hash, sizeof(hash));
		/* Listed twice (two versions of one text): gone already the second time. */
		if ((drc = store_del(txn, STORE_BLOB, &k, cause)) == -1) {
			rc = -1;
			break;
		}
		if (drc == 0) {
			w->blobs++;
			json_object_set_new(used, s, json_false());
		}
	}
	json_decref(used);
	return rc;
}

struct retain_ctx {
	const struct retain_run *r;
	struct retain_run w; /* the run as this transaction leaves it: kept only if it commits */
	size_t max;
};

static int
retain_txn(struct store_txn *txn, void *arg, char **cause)
{
	struct retain_ctx *c = arg;
	struct retain_run *w = &c->w;
	int rc = 0;

	*w = *c->r;
	if (retain_publish(txn, w, cause) == -1)
		return -1;
	switch (w->phase) {
	case RETAIN_VERSIONS:
		rc = retain_bounds(txn, w, STORE_VER, c->max, &w->versions, cause);
		break;
	case RETAIN_INTERVALS:
		rc = retain_bounds(txn, w, STORE_ADDR, c->max, &w->intervals, cause);
		break;
	case RETAIN_NAMES:
		rc = retain_names(txn, w, c->max, cause);
		break;
	case RETAIN_PINS:
		rc = retain_joins(txn, w, PIN_KIND, c->max, &w->pins, cause);
		break;
	case RETAIN_ATTRIBS:
		rc = retain_joins(txn, w, ATTRIB_KIND, c->max, &w->attribs, cause);
		break;
	case RETAIN_COVER:
		rc = retain_cover(txn, w, c->max, cause);
		break;
	case RETAIN_EVENTS:
		rc = retain_events(txn, w, c->max, cause);
		break;
	case RETAIN_BLOBS:
		rc = retain_blobs(txn, w, cause);
		break;
	case RETAIN_DONE:
		break;
	}
	if (rc == -1)
		return -1;
	if (rc == 0 && w->phase != RETAIN_DONE) {
		w->phase++;
		store_key_init(&w->resume);
		w->resume_incl = 0;
	}
	return 0;
}

int
retain_step(struct store *st, struct retain_run *r, size_t max, char **cause)
{
	struct retain_ctx c = {.r = r, .max = max < 2 ? 2 : max};

	if (r->phase == RETAIN_DONE)
		return 0;
	if (store_write(st, retain_txn, &c, cause) != 0)
		return -1;
	*r = c.w;
	/* The candidates are shared with every try of the transaction: freed only now. */
	if (r->phase == RETAIN_DONE && r->texts != NULL) {
		json_decref(r->texts);
		r->texts = NULL;
	}
	return r->phase != RETAIN_DONE;
}

int
retain_prune(struct store *st, const char *tailnet, int64_t retain, tstime_t now, size_t max,
             struct retain_run *out, char **cause)
{
	struct retain_run r;
	int rc;

	retain_run_init(&r, tailnet, retain, now);
	while ((rc = retain_step(st, &r, max, cause)) == 1)
		;
	if (out != NULL)
		*out = r;
	else
		retain_run_free(&r);
	return rc;
}
