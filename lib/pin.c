/* pin.c: pins: the moment the audit log gives a change that exactly one entry explains, stored
 * beside the history (never in a version's value) and applied to its bounds when read. */
#include <stdlib.h>
#include <string.h>

#include "hist-int.h"
#include "pin.h"

tstime_t
pin_time(int64_t ns)
{
	/* Rounded up: at the microsecond before it the old state still held (ns > t * 1000 for
	 * every earlier t), at it the new one did. */
	return ns / 1000 + (ns % 1000 > 0 ? 1 : 0);
}

static void
pin_key(struct store_key *k, const char *tailnet, uint8_t kind, const char *id, tstime_t boundary)
{
	hist_key_kind(k, tailnet, PIN_KIND, id);
	store_key_u8(k, kind);
	store_key_i64(k, boundary);
}

int
pin_put(struct store_txn *txn, const char *tailnet, uint8_t kind, const char *id, tstime_t from_lo,
        tstime_t boundary, int64_t ns, char **cause)
{
	struct store_key k;
	uint8_t v[PIN_LEN];
	tstime_t t = pin_time(ns);

	/* Logged in the poll's own microsecond: the poll saw the change, so it was no later. */
	if (t > boundary)
		t = boundary;
	if (from_lo == TSTIME_NONE || t <= from_lo)
		return 0;
	pin_key(&k, tailnet, kind, id, boundary);
	if (k.bad) /* an id too long to key: left unpinned, as it is left unattributed */
		return 0;
	store_put_i64(v, t);
	store_put_i64(v + 8, ns);
	return store_put(txn, STORE_CUR, &k, v, sizeof v, cause);
}

int
pin_del(struct store_txn *txn, const char *tailnet, uint8_t kind, const char *id, tstime_t boundary,
        char **cause)
{
	struct store_key k;

	pin_key(&k, tailnet, kind, id, boundary);
	if (k.bad)
		return 0;
	return store_del(txn, STORE_CUR, &k, cause) == -1 ? -1 : 0;
}

int
pin_get(struct store_txn *txn, const char *tailnet, uint8_t kind, const char *id, tstime_t boundary,
        tstime_t *t, int64_t *ns)
{
	struct store_key k;
	struct store_val v;
	char *cause = NULL;
	int rc;

	pin_key(&k, tailnet, kind, id, boundary);
	if (k.bad)
		return 0;
	if ((rc = store_get(txn, STORE_CUR, &k, &v, &cause)) != 0) {
		free(cause);
		return rc == 1 ? 0 : -1;
	}
	/* A damaged pin is no pin: the polls' window stands (store verify reports it). */
	if (v.len != PIN_LEN)
		return 0;
	*t = store_get_i64(v.data);
	if (ns != NULL)
		*ns = store_get_i64((const uint8_t *)v.data + 8);
	return 1;
}

/* Is T a real end (not open, not unknown)? */
static int
pin_real_end(tstime_t t)
{
	return t != TSTIME_NONE && t != HIST_UNSEEN_END && t != HIST_PENDING_END;
}

int
pin_apply(struct store_txn *txn, const char *tailnet, uint8_t kind, const char *id,
          struct hist_bounds *b)
{
	tstime_t t;
	int any = 0;

	/* The API's own exact start (a device's created) needs no pin. */
	if (!(b->flags & HIST_F_EXACT_FROM) && b->from_lo != TSTIME_NONE &&
	    pin_get(txn, tailnet, kind, id, b->from_hi, &t, NULL) == 1 && t > b->from_lo &&
	    t <= b->from_hi) {
		b->flags |= HIST_F_PIN_FROM;
		b->pin_from = t;
		any = 1;
	}
	if (pin_real_end(b->to_hi) && b->to_lo != TSTIME_NONE &&
	    pin_get(txn, tailnet, kind, id, b->to_hi, &t, NULL) == 1 && t > b->to_lo &&
	    t <= b->to_hi) {
		b->flags |= HIST_F_PIN_TO;
		b->pin_to = t;
		any = 1;
	}
	return any;
}
