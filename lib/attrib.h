/* attrib.h: attribution: a recorded change of a device joined to the audit log entries that
 * explain it, stored with the change whichever of the two arrived second. */
#ifndef TSINV_ATTRIB_H
#define TSINV_ATTRIB_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "store.h"
#include "tstime.h"

/* The attribution records' kind byte in the cur db: tailnet, ATTRIB_KIND, entity id, the
 * entity's kind byte, the version's from_hi -> {"state", ...} (compact JSON). A key space of its
 * own: no existing value changes format. */
#define ATTRIB_KIND 'E'

/* A poll starts: what the last one noted is forgotten (a transaction run again starts over). */
void attrib_reset(void);

/* A new version of entity ID of KIND starting at FROM_HI was written: joined when the poll ends
 * (attrib_flush), after the poll's own events. */
void attrib_note_version(uint8_t kind, const char *id, tstime_t from_hi);
/* A deletion of entity ID of KIND: its last version ended at TO_HI (a real end), joined to the
 * entries that log it when the poll ends. */
void attrib_note_end(uint8_t kind, const char *id, tstime_t to_hi);

/* An audit log entry (ENTRY, at NS nanoseconds) was stored: notes the version whose window holds
 * it, if any, for attrib_flush. 0, or -1 with *cause. */
int attrib_note_entry(struct store_txn *txn, const char *tailnet, json_t *entry, int64_t ns,
                      char **cause);

/* Joins each noted version to the entries in its window and, where the result changed, stores
 * it, completes the change's own events with it ("attribution") and, when ANNOUNCE, records a
 * device.attributed event at time T. *EVENTS counts the events recorded or completed (what
 * wakes followers and hooks). 0, or -1. */
int attrib_flush(struct store_txn *txn, const char *tailnet, tstime_t t, int announce,
                 size_t *events, char **cause);

/* Is TYPE an event type that attribution completes (a change's own event)? */
int attrib_event_type(const char *type);

/* The stored attribution of version FROM_HI of ID as a new reference, or NULL. A deletion's is
 * kept under the end (to_hi) of the last version. */
json_t *attrib_get(struct store_txn *txn, const char *tailnet, uint8_t kind, const char *id,
                   tstime_t from_hi);

#endif
