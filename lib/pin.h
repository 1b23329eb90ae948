/* pin.h: pins: the exact moment of a change, as the audit log gives it, kept beside the history
 * so that the window (from_lo, from_hi] of a version, and of the address intervals its change
 * opened or closed, collapses to that moment when the history is read. */
#ifndef TSINV_PIN_H
#define TSINV_PIN_H

#include <stdint.h>

#include "store.h"
#include "tstime.h"

struct hist_bounds;

/* The pins' kind byte in the cur db: tailnet, PIN_KIND, entity id, the entity's kind byte, the
 * boundary (the poll that first saw the change: the new version's from_hi, the old one's to_hi)
 * -> the pinned microsecond and the logged nanosecond (2 x i64 big-endian). A key space of its
 * own: no existing value changes format. */
#define PIN_KIND 'T'
#define PIN_LEN 16

/* What made a pinned bound exact (--json "exact_from_by", "exact_to_by"), and the reason an
 * answer that a pin decided gives. */
#define PIN_BY "audit log"
#define PIN_WHY "pinned by the audit log"

/* The microsecond a change logged at NS nanoseconds is pinned to: the first microsecond at which
 * the new state held (rounded up), so that "before" and "after" stay exact at every microsecond
 * asked. */
tstime_t pin_time(int64_t ns);

/* Stores the pin of the change of ID (of KIND) first seen at BOUNDARY, logged at NS: 0, or -1
 * with *cause. A change whose window (FROM_LO, BOUNDARY] does not hold the pinned microsecond is
 * not pinned (0). */
int pin_put(struct store_txn *txn, const char *tailnet, uint8_t kind, const char *id,
            tstime_t from_lo, tstime_t boundary, int64_t ns, char **cause);
/* Removes it (a change no longer attributed to one entry): 0, or -1 with *cause. */
int pin_del(struct store_txn *txn, const char *tailnet, uint8_t kind, const char *id,
            tstime_t boundary, char **cause);
/* The pin of that change: 1 and *t (and *ns, may be NULL), 0 none (or damaged), -1. */
int pin_get(struct store_txn *txn, const char *tailnet, uint8_t kind, const char *id,
            tstime_t boundary, tstime_t *t, int64_t *ns);

/* Applies the pins of a version or address interval of ID (of KIND) to B: its start
 * (HIST_F_PIN_FROM, b->pin_from) unless the API gave it exactly already, its end
 * (HIST_F_PIN_TO, b->pin_to) when it has one. Returns whether any applied. */
int pin_apply(struct store_txn *txn, const char *tailnet, uint8_t kind, const char *id,
              struct hist_bounds *b);

#endif
