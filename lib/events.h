/* events.h: change events: one table of types, the event log in the store, globs and scans. */
#ifndef TSINV_EVENTS_H
#define TSINV_EVENTS_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "store.h"
#include "tstime.h"

struct event_type {
	const char *name;    /* "device.renamed" */
	const char *kind;    /* the entity kind: "device", "tailnet" */
	const char *trigger; /* what makes it fire */
	int off;             /* off unless a hook or a follower asks for it by name (presence) */
};

/* The recorders name a type by its symbol: a misspelt one does not compile. */
enum event_type_id {
#define EVENT_TYPE(sym, name, kind, off, trigger) EVENT_T_##sym,
#include "event-types.h"
#undef EVENT_TYPE
	EVENT_T__COUNT
};

extern const struct event_type event_types[EVENT_T__COUNT];
extern const size_t event_ntypes;

const struct event_type *event_type_find(const char *name);

/* Does TYPE match GLOB ("device.*", "*.expiring", "policy.changed")? fnmatch rules, and a
 * type that is off matches only a glob without wildcards that names it. */
int event_match(const char *glob, const char *type);
/* Does TYPE match any of the space-separated GLOBS? NULL or "" matches every type that is on. */
int event_match_list(const char *globs, const char *type);
/* The next glob of a space-separated list at *P, copied into BUF: 1, 0 at the end, or -1 when
 * it does not fit in SIZE bytes (then skipped). Advances *P. */
int event_glob_next(const char **p, char *buf, size_t size);
/* Does GLOB match at least one event type? (A glob that matches none is a typo.) */
int event_glob_known(const char *glob);

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
