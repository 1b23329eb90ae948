/* hist-raw.c: a devices answer as bytes: raw records (the hash of the element each current
 * record was made from), the check of what lies outside the elements, and the plan. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hist-int.h"
#include "hist-raw.h"
#include "log.h"
#include "norm.h"

/* A raw record's value: the hash, the key expiry (i64), the flags (u32). */
#define HIST_RAW_LEN (HIST_RAW_HASH + 8 + 4)
/* Hashed ahead of the bytes. Change it with anything that changes what the same bytes make
 * (normalisation, the checks of an element): every hash is then new, and each device is
 * parsed once more at the next poll, which writes the new hashes. */
#define HIST_RAW_SALT "tsinv/devices/2\n" /* 2: updateAvailable is versioned */

void
hist_raw_hash(EVP_MD_CTX *ctx, const char *bytes, size_t len, unsigned char h[HIST_RAW_HASH])
{
	EVP_MD_CTX *own = ctx == NULL ? EVP_MD_CTX_new() : NULL;
	unsigned int hl = 0;

	if (ctx == NULL)
		ctx = own;
	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, HIST_RAW_SALT, strlen(HIST_RAW_SALT)) != 1 ||
	    EVP_DigestUpdate(ctx, bytes, len) != 1 || EVP_DigestFinal_ex(ctx, h, &hl) != 1 ||
	    hl != HIST_RAW_HASH)
		fatalx("sha256 failed");
	EVP_MD_CTX_free(own);
}

void
hist_raw_hex(const unsigned char h[HIST_RAW_HASH], char out[2 * HIST_RAW_HASH + 1])
{
	for (size_t i = 0; i < HIST_RAW_HASH; i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
}

static void
hist_raw_key(struct store_key *k, const char *tailnet, const char *id)
{
	hist_key_kind(k, tailnet, HIST_RAW_KIND, id);
}

int
hist_raw_put(struct store_txn *txn, const char *tailnet, const char *id,
             const unsigned char h[HIST_RAW_HASH], tstime_t expires, uint32_t flags, char **cause)
{
	uint8_t v[HIST_RAW_LEN];
	struct store_key k;

	memcpy(v, h, HIST_RAW_HASH);
	store_put_i64(v + HIST_RAW_HASH, expires);
	v[HIST_RAW_HASH + 8] = (uint8_t)(flags >> 24);
	v[HIST_RAW_HASH + 9] = (uint8_t)(flags >> 16);
	v[HIST_RAW_HASH + 10] = (uint8_t)(flags >> 8);
	v[HIST_RAW_HASH + 11] = (uint8_t)flags;
	hist_raw_key(&k, tailnet, id);
	return store_put(txn, STORE_CUR, &k, v, sizeof(v), cause);
}

int
hist_raw_del(struct store_txn *txn, const char *tailnet, const char *id, char **cause)
{
	struct store_key k;

	hist_raw_key(&k, tailnet, id);
	return store_del(txn, STORE_CUR, &k, cause) == -1 ? -1 : 0;
}

void
hist_raw_tab_free(struct hist_raw_tab *t)
{
	for (size_t i = 0; t->e != NULL && i <= t->mask; i++)
		free(t->e[i].id);
	free(t->e);
	memset(t, 0, sizeof(*t));
}

static struct hist_raw_ent *
hist_raw_slot(struct hist_raw_tab *t, const unsigned char h[HIST_RAW_HASH])
{
	uint64_t x;
	size_t i;

	memcpy(&x, h, sizeof(x));
	for (i = (size_t)x & t->mask; t->e[i].id != NULL; i = (i + 1) & t->mask)
		if (memcmp(t->e[i].h, h, HIST_RAW_HASH) == 0)
			break;
	return &t->e[i];
}

static void
hist_raw_add(struct hist_raw_tab *t, const unsigned char h[HIST_RAW_HASH], const char *id,
             tstime_t expires, uint32_t flags)
{
	struct hist_raw_ent *e;

	if (t->e == NULL || 2 * (t->n + 1) > t->mask + 1) {
		struct hist_raw_tab bigger = {0};
		size_t size = t->e == NULL ? 1024 : 2 * (t->mask + 1);

		bigger.e = xcalloc(size, sizeof(*bigger.e));
		bigger.mask = size - 1;
		for (size_t i = 0; t->e != NULL && i <= t->mask; i++)
			if (t->e[i].id != NULL) {
				*hist_raw_slot(&bigger, t->e[i].h) = t->e[i];
				bigger.n++;
			}
		free(t->e);
		*t = bigger;
	}
	e = hist_raw_slot(t, h);
	if (e->id != NULL)
		return; /* two devices from the same bytes cannot be: the first stays */
	memcpy(e->h, h, HIST_RAW_HASH);
	e->id = xstrdup(id);
	e->expires = expires;
	e->flags = flags;
	t->n++;
}

int
hist_raw_load(struct store_txn *txn, const char *tailnet, struct hist_raw_tab *t, char **cause)
{
	struct store_cursor *cur;
	struct store_key prefix;
	struct store_val key, val;
	int rc;

	memset(t, 0, sizeof(*t));
	hist_raw_key(&prefix, tailnet, NULL);
	if (store_cursor_open(txn, STORE_CUR, &cur, cause) == -1)
		return -1;
	for (rc = store_cursor_seek(cur, &prefix, &prefix, &key, &val); rc == 0;
	     rc = store_cursor_step(cur, 1, &key, &val)) {
		const uint8_t *v = val.data;
		const char *id = (const char *)key.data + prefix.len;

		/* A damaged one only costs a parse. */
		if (key.len <= prefix.len + 1 || key.len - prefix.len > NORM_MAX_ID + 1 ||
		    ((const char *)key.data)[key.len - 1] != '\0' || val.len != HIST_RAW_LEN)
			continue;
		hist_raw_add(t, v, id, store_get_i64(v + HIST_RAW_HASH),
		             (uint32_t)v[HIST_RAW_HASH + 8] << 24 |
		                 (uint32_t)v[HIST_RAW_HASH + 9] << 16 |
		                 (uint32_t)v[HIST_RAW_HASH + 10] << 8 | v[HIST_RAW_HASH + 11]);
	}
	store_cursor_close(cur);
	return 0;
}

int
hist_raw_clear(struct store_txn *txn, const char *tailnet, char **cause)
{
	struct store_cursor *cur;
	struct store_key prefix, k;
	struct store_val key, val;
	char **ids = NULL;
	size_t n = 0, i;
	int rc;

	hist_raw_key(&prefix, tailnet, NULL);
	if (store_cursor_open(txn, STORE_CUR, &cur, cause) == -1)
		return -1;
	for (rc = store_cursor_seek(cur, &prefix, &prefix, &key, &val); rc == 0;
	     rc = store_cursor_step(cur, 1, &key, &val)) {
		if (key.len <= prefix.len || ((const char *)key.data)[key.len - 1] != '\0')
			continue;
		ids = xrealloc(ids, (n + 1) * sizeof(*ids));
		ids[n++] = xstrdup((const char *)key.data + prefix.len);
	}
	store_cursor_close(cur);
	for (i = 0, rc = 0; i < n; i++) {
		hist_raw_key(&k, tailnet, ids[i]);
		if (rc == 0 && store_del(txn, STORE_CUR, &k, cause) == -1)
			rc = -1;
		free(ids[i]);
	}
	free(ids);
	return rc;
}

const struct hist_raw_ent *
hist_raw_find(struct hist_raw_tab *t, const unsigned char h[HIST_RAW_HASH])
{
	struct hist_raw_ent *e;

	if (t->e == NULL)
		return NULL;
	e = hist_raw_slot(t, h);
	return e->id != NULL ? e : NULL;
}

int
hist_raw_rest(const char *body, size_t len, const struct jscan *js, char **cause)
{
	size_t head = js != NULL ? (size_t)(js->p - body) : len;
	size_t tail = js != NULL ? len - (size_t)(js->end - body) : 0;
	char *rest = xmalloc(head + 1 + tail);
	json_error_t jerr;
	json_t *j;

	memcpy(rest, body, head);
	if (js != NULL) {
		rest[head] = ']';
		memcpy(rest + head + 1, js->end, tail);
	}
	j = json_loadb(rest, head + (js != NULL) + tail, JSON_REJECT_DUPLICATES, &jerr);
	free(rest);
	if (j == NULL) {
		*cause = xasprintf("the answer is not valid JSON (line %d, column %d: %s)",
		                   jerr.line, jerr.column, jerr.text);
		return -1;
	}
	json_decref(j);
	return 0;
}

/* Adds the nodeId of the device EL (LEN bytes, checked by jscan) to LISTED. */
static void
hist_plan_listed(json_t *listed, const char *el, size_t len)
{
	char id[NORM_MAX_ID + 1];
	const char *s;
	size_t n;
	json_t *dev;

	if (jscan_string_member(el, len, "nodeId", &s, &n) == 1) {
		if (n > 0 && n <= NORM_MAX_ID) {
			memcpy(id, s, n);
			id[n] = '\0';
			json_object_set_new(listed, id, json_true());
		}
		return;
	}
	/* Escaped, or no string: jansson says what it is. */
	dev = json_loadb(el, len, JSON_DECODE_ANY, NULL);
	if (json_is_string(json_object_get(dev, "nodeId")))
		json_object_set_new(listed, json_string_value(json_object_get(dev, "nodeId")),
		                    json_true());
	json_decref(dev);
}

int
hist_devices_plan_answer(struct store *st, const char *tailnet, const struct endpoint_answer *ans,
                         json_t **ids, char **cause)
{
	struct hist_endpoint ep;
	unsigned char h[HIST_RAW_HASH];
	char hex[2 * HIST_RAW_HASH + 1], *why = NULL;
	struct jscan js;
	const char *el;
	size_t len;
	json_t *listed;
	int rc;

	/* The last answer recorded whole, again: every current device is listed. */
	hist_raw_hash(NULL, ans->text, ans->text_len, h);
	hist_raw_hex(h, hex);
	if (hist_endpoint_get(st, tailnet, HIST_DEVICES->name, &ep, cause) == -1)
		return -1;
	rc = ep.raw_kept && ep.raw[0] != '\0' && strcmp(ep.raw, hex) == 0 && !ep.pending_mass &&
	     ep.pending_confirm == 0;
	hist_endpoint_free(&ep);
	if (rc) {
		*ids = json_array();
		return 0;
	}
	rc = jscan_member(ans->text, ans->text_len, "devices", &js, &why);
	free(why);
	/* No list at all is a broken answer that fetches nothing (its apply says why); null is
	 * an empty list. */
	if (rc != JSCAN_ARRAY &&
	    !(rc == JSCAN_OTHER && js.end - js.p == 4 && memcmp(js.p, "null", 4) == 0)) {
		*ids = json_array();
		return 0;
	}
	listed = json_object();
	while (rc == JSCAN_ARRAY && jscan_next(&js, &el, &len) == 1)
		hist_plan_listed(listed, el, len);
	rc = hist_confirm_plan_set(st, tailnet, HIST_DEVICES->kind, listed, ids, cause);
	json_decref(listed);
	return rc;
}
