/* event-log.c: the event log in the store: append, scan, the last number, find by time. */
#include <stdlib.h>
#include <string.h>

#include "event-log.h"
#include "log.h"

static int
event_last_in(struct store_txn *txn, uint64_t *seq, char **cause)
{
	struct store_cursor *cur;
	struct store_key prefix;
	struct store_val key;

	*seq = 0;
	store_key_init(&prefix);
	if (store_cursor_open(txn, STORE_EVENT, &cur, cause) == -1)
		return -1;
	if (store_cursor_last(cur, &prefix, &key, NULL) == 0 && key.len == 8)
		*seq = store_get_u64(key.data);
	store_cursor_close(cur);
	return 0;
}

int
event_append(struct store_txn *txn, const struct event_rec *ev, uint64_t *seq, char **cause)
{
	char tbuf[TSTIME_STRLEN], *text;
	struct store_key k;
	json_t *j, *entity;
	int rc;

	if (event_last_in(txn, seq, cause) == -1)
		return -1;
	(*seq)++;
	tstime_format(ev->time, tbuf, sizeof(tbuf));
	entity = json_pack("{s:s, s:s}", "kind", ev->kind, "id", ev->id);
	if (ev->name != NULL)
		json_object_set_new(entity, "name", json_string(ev->name));
	j = json_pack("{s:I, s:s, s:s, s:s, s:o}", "seq", (json_int_t)*seq, "time", tbuf, "tailnet",
	              ev->tailnet, "type", event_types[ev->type].name, "entity", entity);
	if (ev->before != NULL)
		json_object_set(j, "before", ev->before);
	if (ev->after != NULL)
		json_object_set(j, "after", ev->after);
	if (ev->changed != NULL)
		json_object_set(j, "changed", ev->changed);
	if (ev->data != NULL)
		json_object_update_missing(j, ev->data);
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	store_key_init(&k);
	store_key_u64(&k, *seq);
	rc = store_put(txn, STORE_EVENT, &k, text, strlen(text), cause);
	free(text);
	if (rc == -1)
		return -1;
	store_key_init(&k);
	store_key_i64(&k, ev->time);
	store_key_u64(&k, *seq);
	return store_put(txn, STORE_EVTIME, &k, "", 0, cause);
}

int
event_last_seq(struct store *st, uint64_t *seq, char **cause)
{
	struct store_txn *txn;
	int rc;

	if (store_read_begin(st, &txn, cause) == -1)
		return -1;
	rc = event_last_in(txn, seq, cause);
	store_read_end(txn);
	return rc;
}

int
event_seq_before(struct store *st, tstime_t t, uint64_t *seq, char **cause)
{
	struct store_txn *txn;
	struct store_cursor *cur;
	struct store_key k, prefix;
	struct store_val key;
	int rc;

	*seq = 0;
	if (store_read_begin(st, &txn, cause) == -1)
		return -1;
	if (store_cursor_open(txn, STORE_EVTIME, &cur, cause) == -1) {
		store_read_end(txn);
		return -1;
	}
	store_key_init(&prefix);
	store_key_init(&k);
	store_key_i64(&k, t);
	/* The first event at or after T; the one before it is the answer. */
	rc = store_cursor_seek(cur, &k, &prefix, &key, NULL);
	if (rc == 0)
		rc = store_cursor_step(cur, -1, &key, NULL);
	else
		rc = store_cursor_last(cur, &prefix, &key, NULL);
	if (rc == 0 && key.len == 16)
		*seq = store_get_u64((const uint8_t *)key.data + 8);
	store_cursor_close(cur);
	store_read_end(txn);
	return 0;
}

int
event_scan(struct store *st, uint64_t after, size_t max, event_fn fn, void *arg, char **cause)
{
	struct store_txn *txn;
	struct store_cursor *cur;
	struct store_key k, prefix;
	struct store_val key, val;
	size_t n = 0;
	int rc;

	if (store_read_begin(st, &txn, cause) == -1)
		return -1;
	if (store_cursor_open(txn, STORE_EVENT, &cur, cause) == -1) {
		store_read_end(txn);
		return -1;
	}
	store_key_init(&prefix);
	store_key_init(&k);
	store_key_u64(&k, after + 1);
	for (rc = store_cursor_seek(cur, &k, &prefix, &key, &val); rc == 0 && (max == 0 || n < max);
	     rc = store_cursor_step(cur, 1, &key, &val)) {
		if (key.len != 8)
			continue;
		n++;
		if (fn(store_get_u64(key.data), val.data, val.len, arg) != 0)
			break;
	}
	store_cursor_close(cur);
	store_read_end(txn);
	return 0;
}
