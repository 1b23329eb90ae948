/* endpoint.h: the API endpoints tsinv polls: an enum, and one row each saying what to request,
 * which kind byte its records carry in the store and how its answer is recorded. */
#ifndef TSINV_ENDPOINT_H
#define TSINV_ENDPOINT_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "tstime.h"

enum endpoint_id {
#define ENDPOINT(sym, name) ENDPOINT_##sym,
#include "endpoint-list.h"
#undef ENDPOINT
	ENDPOINT__COUNT
};

struct store;
struct hist_policy;
struct hist_poll_result;

/* One poll's answers as the poller collected them; everything is borrowed. */
struct endpoint_answer {
	json_t *json; /* the JSON answers of the row's paths, in order */
	/* A text row: the one answer's bytes, and its ETag (NULL: none). */
	const char *text, *etag;
	size_t text_len;
	/* After a plan: the extra answers, and the ids the API answered 404 and 403 for. */
	json_t *fetched, *gone, *denied;
	/* The ids the answers in fetched are for, in the same order. */
	json_t *fetched_ids;
	/* A window row: the time span the request asked for. */
	tstime_t start, end;
};

/* Records a poll's answer seen at T in one write transaction; an answer that does not check
 * out changes nothing: -1 and *cause. */
typedef int (*endpoint_apply_fn)(struct store *st, const char *tailnet, tstime_t t,
                                 const struct endpoint_answer *ans, const struct hist_policy *pol,
                                 struct hist_poll_result *res, char **cause);
/* After the row's paths: the ids to fetch one by one under "<plan_path>/" (*ids, new). */
typedef int (*endpoint_plan_fn)(struct store *st, const char *tailnet,
                                const struct endpoint_answer *ans, json_t **ids, char **cause);

#define ENDPOINT_MAX_PATHS 5

struct endpoint {
	const char *name;
	uint8_t kind;   /* the byte after the tailnet in every cur, ver and mark key */
	int mass_guard; /* a poll losing more than mass_delete_percent is held until the next */
	int text;       /* the answer is text (the policy file as written), not JSON */
	int raw;        /* a JSON answer kept as its bytes too (in .text): stored as received */
	int window;     /* the request asks ?start=&end= (the audit log): see audit_window */
	/* The requests of a poll, after .../tailnet/{t}/; none: only the plan's. */
	const char *paths[ENDPOINT_MAX_PATHS];
	/* With plan: where the extra ids are fetched, after .../tailnet/{t}/, or after .../api/v2
	 * when it starts with "/" (a device, user or webhook by id). */
	const char *plan_path;
	/* Added after the id of each extra request ("/attributes"), or NULL. */
	const char *plan_suffix;
	endpoint_plan_fn plan; /* NULL: no extra requests */
	/* The extra requests run side by side, at most the tailnet's posture_concurrency at once
	 * (otherwise one after the other). */
	int concurrent;
	endpoint_apply_fn apply;
	/* The OAuth scope a credential needs to read it: what a 403 is said to lack. */
	const char *scope;
	/* Polled instead, from then on, when the first path answers 404 (an older server). */
	const struct endpoint *fallback;
	const char *what; /* of a fallback row: what it reads, for the log */
};

/* Indexed by enum endpoint_id. */
extern const struct endpoint endpoints[ENDPOINT__COUNT];

/* The endpoint named NAME, or NULL. */
const struct endpoint *endpoint_find(const char *name);
/* How many paths a row requests before any plan. */
size_t endpoint_npaths(const struct endpoint *e);

#endif
