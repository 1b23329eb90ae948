/* hooks.h: hook scripts run on events: durable cursors, in order, at least once, bounded. */
#ifndef TSINV_HOOKS_H
#define TSINV_HOOKS_H

#include <event2/event.h>
#include <jansson.h>

#include "config.h"
#include "store.h"

struct hooks;

/* Reads each hook's cursor from the store (a new hook starts at the newest event: it is not
 * handed the whole past) and starts delivering what is pending. NULL and *cause on error. */
struct hooks *hooks_new(struct event_base *base, const struct config *cf, struct store *st,
                        char **cause);
/* Kills running hooks (their whole process groups) without advancing their cursors. */
void hooks_free(struct hooks *hk);
/* A reload: CF (which outlives the hooks, as the first did) replaces the configuration. Added
 * hooks start from their stored cursor, or at the newest event; removed ones stop as at
 * shutdown (a script running is killed, its event stays unacknowledged); kept ones keep their
 * cursor, the event in hand and a script running, and take their new settings. -1 and *cause,
 * and nothing changed, when the store cannot be read. */
int hooks_reconfigure(struct hooks *hk, const struct config *cf, char **cause);
/* New events were committed: hooks that are idle look for their next event. */
void hooks_wake(struct hooks *hk);
/* {"hooks":[{"name","exec","events","cursor","lag","running","last_run","last_exit",
 * "last_error","attempts","next_retry","parked":[seq,...]}],"last_seq":N}; a new reference. */
json_t *hooks_status(struct hooks *hk);

/* What the metrics show of a hook: no store read, no scan. */
struct hooks_stat {
	const char *name;
	uint64_t cursor;       /* every event up to it is handled */
	uint64_t runs;         /* runs that ended since the daemon started */
	uint64_t failed_runs;  /* of those, the failed ones */
	uint64_t parked_total; /* events given up on, ever (kept with the cursor) */
	int running;
};
typedef void (*hooks_stat_fn)(void *arg, const struct hooks_stat *st);
/* FN for each configured hook, in configuration order; nothing when HK is NULL. */
void hooks_stats(struct hooks *hk, hooks_stat_fn fn, void *arg);

#endif
