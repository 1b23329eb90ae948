/* simaudit.h: the simulator's configuration audit log: entries kept per tailnet, served by
 * time window as GET /tailnet/{t}/logging/configuration does, generated for the changes the
 * control ops make. */
#ifndef TSINV_SIMAUDIT_H
#define TSINV_SIMAUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* The API's horizon: entries older than this are not served. */
#define SIMAUDIT_HORIZON_NS ((int64_t)90 * 86400 * 1000000000)

struct simaudit_entry {
	int64_t ns;    /* eventTime */
	bool deferred; /* non-zero deferredAt: not served until simaudit_release */
	json_t *entry; /* as served */
};

struct simaudit {
	struct simaudit_entry *v; /* by eventTime, then in the order added */
	size_t n, cap;
};

void simaudit_free(struct simaudit *a);

/* Adds ENTRY (borrowed; copied): an object; eventTime (RFC 3339, up to 9 fraction digits)
 * defaults to now, type to CONFIG, deferredAt to the zero time. Any other member, unknown enum
 * values included, is kept as given. 0, or -1 with *cause (malloc'd). */
int simaudit_add(struct simaudit *a, json_t *entry, char **cause);

/* Makes an entry now: ORIGIN, ACTOR (borrowed), the target (TTYPE, TID, TNAME, PROPERTY NULL:
 * none), ACTION, OLD and NEW (borrowed, NULL: none). OVERRIDE (borrowed, NULL: none) replaces
 * any top-level member, and its "deferred": true makes the entry deferred. */
void simaudit_record(struct simaudit *a, const char *origin, json_t *actor, const char *ttype,
                     const char *tid, const char *tname, const char *property, const char *action,
                     json_t *old, json_t *new, json_t *override);

/* Deferred entries are served from now on (their eventTime unchanged): how many. */
size_t simaudit_release(struct simaudit *a);

/* The answer for START and END (the query's values, NULL when absent): a new reference
 * {"version", "tailnet", "logs"}, or NULL with *status 400 and *msg. NOW_NS: the clock. */
json_t *simaudit_query(const struct simaudit *a, const char *tailnet_id, const char *start,
                       const char *end, int64_t now_ns, int *status, const char **msg);

/* Generated entries, for load: entry I logged at NS, its NODE target the I-th of DEVICES (a
 * JSON array, borrowed; others target made-up users, keys and the tailnet). A new reference. */
json_t *simaudit_generate_entry(size_t i, int64_t ns, json_t *devices);
/* COUNT of them spread over [FROM_NS, TO_NS], served at once: how many entries A holds. */
size_t simaudit_generate(struct simaudit *a, size_t count, int64_t from_ns, int64_t to_ns,
                         json_t *devices);

/* Wall clock in nanoseconds, and its RFC 3339 form with nine digits (BUF of 40 or more). */
int64_t simaudit_now(void);
void simaudit_format(int64_t ns, char *buf, size_t len);

#endif
