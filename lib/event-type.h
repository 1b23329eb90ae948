/* event-type.h: the event types (one table, an enum for the recorders) and globs over them.
 * Common to the daemon and the client: no store. */
#ifndef TSINV_EVENT_TYPE_H
#define TSINV_EVENT_TYPE_H

#include <stddef.h>

struct event_type {
	const char *name;    /* "device.renamed" */
	const char *kind;    /* the entity kind: "device", "tailnet" */
	const char *trigger; /* what makes it fire */
	int off;             /* off unless a hook or a follower asks for it by name (presence) */
};

/* The recorders name a type by its symbol: a misspelt one does not compile. */
enum event_type_id {
#define EVENT_TYPE(sym, name, kind, off, trigger) EVENT_T_##sym,
#include "event-list.h"
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

#endif
