/* entity-int.h: what entity.c shares with the files of each kind (entity-keys.c,
 * entity-users.c, entity-docs.c): items, kinds, the apply transaction, events, queries. */
#ifndef TSINV_ENTITY_INT_H
#define TSINV_ENTITY_INT_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "entity.h"
#include "event-type.h"
#include "hist-int.h"

#define ENTITY_ID_MAX 128
#define ENTITY_HASH_LEN 32
/* Times before this are the API's zero time ("0001-01-01T00:00:00Z"): no time at all. */
#define ENTITY_TIME_MIN ((tstime_t)86400 * TSTIME_SEC)

/* One entity of an answer, normalised: stable JSON (versioned) and volatile JSON (now only). */
struct entity_item {
	char id[ENTITY_ID_MAX + 1];
	char *stable, *vol; /* compact, keys sorted; vol may be "" */
	size_t stable_len, vol_len;
	size_t order; /* position in the answer: the first of duplicates wins */
};

struct entity_change {
	enum hist_action action;
	struct entity_item *it; /* the new state (NULL for GONE) */
	char *id;
	struct hist_bounds cur; /* the open version's bounds (CHANGE, VOL, GONE) */
	char *old_stable;       /* CHANGE, GONE */
	/* GONE: what confirms it, and the mark of its first absence (and that window). */
	enum hist_confirm confirm;
	int marked;
	tstime_t miss_lo, miss_hi;
};

struct entity_apply;

/* The endpoint row of an entity kind. */
#define ENTITY_ROW(k) (&endpoints[(k)->ep])

/* What differs between the parts: their key byte, endpoint, names, and how they make events. */
struct entity_kind {
	enum endpoint_id ep; /* its endpoint's row: name, kind byte, mass guard */
	const char *name;    /* "key": the events' entity kind, the record's member in answers */
	const char *list;    /* "keys": the list member in answers */
	int keep_missing;    /* missing from an answer is not gone: the record stays (keys) */
	const char *label;   /* the record member that names an entity in events */
	/* The member of an item that holds its id (users and webhooks: fetched by it). */
	const char *idmember;
	/* Its events: a record appeared, left, or changed (one "changed"/"updated" event). */
	enum event_type_id created, deleted, changed;
	int (*events)(struct store_txn *txn, struct entity_apply *a, struct entity_change *c,
	              char **cause);
	/* Runs after the changes, with every item of the answer: time-driven events. */
	int (*after)(struct store_txn *txn, struct entity_apply *a, int baseline, char **cause);
	/* Runs before the answer is compared: upgrades a record of an older shape in place. */
	int (*before)(struct store_txn *txn, struct entity_apply *a, char **cause);
};

struct entity_apply {
	const struct entity_kind *k;
	const char *tailnet;
	tstime_t t;
	const struct hist_policy *pol;
	struct entity_item *items; /* sorted by id */
	size_t nitems;
	struct hist_poll_result *res;
	struct entity_change *ch;
	size_t nch;
	const struct endpoint_answer *ans; /* the items fetched by id to confirm (NULL: none) */
	const char *blob; /* the policy text, stored under its hash when a version uses it */
	size_t blob_len;
	uint8_t hash[ENTITY_HASH_LEN];
};

/* A query's read transaction, its endpoint's state, and whether polls cover AT. */
struct entity_query {
	struct store_txn *txn;
	int own; /* txn is the query's own, ended with it (else the caller's) */
	struct hist_endpoint ep;
	tstime_t at;
	int covered;
};

/* Items: the answer's entities, normalised. */
void entity_items_free(struct entity_item *items, size_t n);
/* Sorts every list of strings in V, at any depth. */
void entity_sort_lists(json_t *v);
/* Fills IT from STABLE and VOL (borrowed; VOL may be NULL). */
void entity_item_set(struct entity_item *it, const char *id, json_t *stable, json_t *vol);
/* The id member of the answer's I-th WHAT, or NULL and *cause. */
const char *entity_id(json_t *obj, const char *member, const char *what, size_t i, char **cause);
/* A time member, TSTIME_NONE when absent, unparsable or the API's zero time. */
tstime_t entity_time(json_t *obj, const char *member);
/* The current record of entity ID of KIND: its stable JSON (new reference), or NULL. */
json_t *entity_cur_get(struct store_txn *txn, const char *tailnet, uint8_t kind, const char *id,
                       struct hist_cur *out);

/* Writes IT as the current record of A's kind with the open version's bounds B. */
int entity_put_cur(struct store_txn *txn, struct entity_apply *a, const struct entity_item *it,
                   const struct hist_bounds *b, char **cause);

/* Applies ITEMS (taken over and freed) of kind K in one write transaction; A is zeroed or
 * carries the policy blob. */
int entity_apply(struct store *st, const struct entity_kind *k, const char *tailnet, tstime_t t,
                 struct entity_item *items, size_t n, const struct hist_policy *pol,
                 struct hist_poll_result *res, struct entity_apply *a, char **cause);

/* The row's plan of a kind whose deletions are confirmed: the items its list (member LIST of
 * the first answer) leaves out, to fetch by id. */
int entity_confirm_plan(struct store *st, const struct entity_kind *k, const char *tailnet,
                        const struct endpoint_answer *ans, json_t **ids, char **cause);

/* Records one event about entity ID. */
int entity_emit(struct store_txn *txn, struct entity_apply *a, enum event_type_id type,
                const char *id, const char *name, json_t *before, json_t *after, json_t *changed,
                json_t *data, char **cause);
/* One event of TYPE for the fields of CHANGED (all of them, or only those in ONLY, or all but
 * those in EXCEPT); nothing when no field is left. */
int entity_emit_fields(struct store_txn *txn, struct entity_apply *a, struct entity_change *c,
                       enum event_type_id type, json_t *old, json_t *new, json_t *changed,
                       const char *const *only, const char *const *except, json_t *data,
                       char **cause);
/* Created and deleted carry the whole record. */
int entity_whole_events(struct store_txn *txn, struct entity_apply *a, struct entity_change *c,
                        json_t *old, json_t *new, char **cause);
/* Webhooks and the singletons: created, deleted, or one "changed"/"updated". */
int entity_doc_events(struct store_txn *txn, struct entity_apply *a, struct entity_change *c,
                      char **cause);

/* Opens the read transaction (or reads in TXN, the caller's, when it is not NULL) and starts
 * the answer: tailnet, at, as_of, coverage. */
int entity_query_begin(struct store *st, struct store_txn *txn, const char *tailnet,
                       const struct entity_kind *k, tstime_t at, struct entity_query *q,
                       json_t **res, char **cause);
void entity_query_end(struct entity_query *q);
/* Every entity of K now (from cur) or at Q->at (every version held or maybe then). */
json_t *entity_rows(struct entity_query *q, const char *tailnet, const struct entity_kind *k);
/* The list answer of K: entity_query_begin, then its rows under K's list name. */
int entity_list(struct store *st, struct store_txn *txn, const char *tailnet,
                const struct entity_kind *k, tstime_t at, json_t **out, char **cause);

#endif
