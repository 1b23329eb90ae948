/* event-log.h: the event log in the store: recording an event, scanning after a number,
 * finding the last number and the number at a time. */
#ifndef TSINV_EVENT_LOG_H
#define TSINV_EVENT_LOG_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "event-type.h"
#include "store.h"
#include "tstime.h"

/* An event about to be recorded. The JSON members are borrowed. */
struct event_rec {
	tstime_t time;
	const char *tailnet;
	enum event_type_id type;
	const char *kind, *id, *name;
	json_t *before, *after; /* NULL: omitted */
	json_t *changed;        /* NULL: omitted */
	json_t *data;           /* NULL: omitted; extra members of the event (counts, thresholds) */
};

/* Records EV in the write transaction TXN with the next sequence number (*seq). */
int event_append(struct store_txn *txn, const struct event_rec *ev, uint64_t *seq, char **cause);

/* The newest sequence number, 0 when there is no event. */
int event_last_seq(struct store *st, uint64_t *seq, char **cause);
/* The sequence number of the last event recorded before T (0 when none): --since TIME. */
int event_seq_before(struct store *st, tstime_t t, uint64_t *seq, char **cause);

/* Calls FN for each event after AFTER, oldest first, at most MAX (0: no limit), with the
 * stored JSON text (not NUL-terminated). FN returns non-zero to stop. */
typedef int (*event_fn)(uint64_t seq, const char *json, size_t len, void *arg);
int event_scan(struct store *st, uint64_t after, size_t max, event_fn fn, void *arg, char **cause);

#endif
