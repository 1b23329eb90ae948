/* audit.h: the configuration audit log (GET /tailnet/{t}/logging/configuration): its entries'
 * times and identity, recording a window's answer, and the audit.list query. */
#ifndef TSINV_AUDIT_H
#define TSINV_AUDIT_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "endpoint.h"
#include "hist.h"
#include "store.h"
#include "tstime.h"

/* The endpoint's name in the coverage log and the endpoint state. */
#define AUDIT_ENDPOINT "audit"

/* The entries' kind bytes in the cur db (beside the entities' 'd', 'k', ...): the entries by
 * time, and the indexes by target id and by actor id. */
#define AUDIT_KIND_TIME 'A'
#define AUDIT_KIND_TARGET 'B'
#define AUDIT_KIND_ACTOR 'C'

#define AUDIT_HASH_LEN 32

/* An RFC 3339 time with up to nine fraction digits, in nanoseconds since 1970 (the log's
 * precision; tstime_t keeps microseconds). 0, or -1 when S is no such time. */
int audit_time_parse(const char *s, int64_t *ns);

/* The identity of an entry (which has no id): SHA-256 of its eventTime, eventGroupID, action,
 * target.id, target.property and actor.id, each as sent (an absent one as empty). 0, or -1 when
 * the entry lacks eventTime or is not an object. */
int audit_entry_hash(json_t *entry, uint8_t hash[AUDIT_HASH_LEN]);

/* Checks an answer's shape ({"logs":[entry...]}, each entry an object with a parseable
 * eventTime, string action, object target and actor): 0, or -1 and *cause (new). */
int audit_answer_check(json_t *body, char **cause);

/* Records one answer (BYTES, LEN: as received) of the window [START, END] in one write
 * transaction: each entry not stored yet, byte for byte as it stands in the answer, with its
 * target and actor index rows, and the window's coverage row. An answer that does not check
 * out records nothing: -1 and *cause. RES: time END, seen (entries), created (new ones). */
int audit_apply(struct store *st, const char *tailnet, tstime_t start, tstime_t end,
                const char *bytes, size_t len, const struct hist_policy *pol,
                struct hist_poll_result *res, char **cause);

/* The audit endpoint's recorder (lib/endpoint.c): audit_apply on the answer's bytes and the
 * window it asked for. */
int audit_answer(struct store *st, const char *tailnet, tstime_t t,
                 const struct endpoint_answer *ans, const struct hist_policy *pol,
                 struct hist_poll_result *res, char **cause);

/* The window the next poll asks for at NOW: from the end of the last successful one less
 * OVERLAP, or NOW - BACKFILL for the first; never earlier than NOW - BACKFILL (the API's
 * horizon: what lies before it is a gap). 0, or -1 with *cause. */
int audit_window(struct store *st, const char *tailnet, tstime_t now, int64_t overlap,
                 int64_t backfill, tstime_t *start, tstime_t *end, char **cause);

/* What audit.list filters on; NULL or TSTIME_NONE: no filter. ACTOR: an id or login name;
 * TARGET: an id or name; ACTION, ORIGIN: as the API writes them. */
struct audit_query {
	tstime_t since, until;
	const char *actor, *target, *action, *origin;
	size_t limit; /* 0: no limit */
	size_t scan;  /* entries looked at, matching or not, at most (0: AUDIT_LIST_SCAN) */
};

/* Bounded work per audit.list on the daemon's loop: a rare filter over a long log answers with
 * "more" and "next" rather than walking it all. */
#define AUDIT_LIST_SCAN 100000

/* The entries matching Q, oldest first, as JSON text (malloc'd, *len): {"tailnet", "entries":
 * [each as received], "more", "next" (where the next page starts, or null), "unknown":
 * {"since", "until": null when audit polls covered the time, else why not}}. HIST_OK or
 * HIST_ERR with *cause. */
int audit_list(struct store *st, const char *tailnet, const struct audit_query *q, char **out,
               size_t *len, char **cause);

#endif
