/* retain.h: retention: what ended before a tailnet's horizon (now - retain) leaves the store, a
 * few hundred records per write transaction. */
#ifndef TSINV_RETAIN_H
#define TSINV_RETAIN_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "store.h"
#include "tstime.h"

/* The reason every answer before the horizon gives. */
#define RETAIN_WHY "before the retention horizon"

enum retain_phase {
	RETAIN_VERSIONS,  /* closed versions that ended before the horizon */
	RETAIN_INTERVALS, /* address intervals that ended before it */
	RETAIN_NAMES,     /* name index rows of devices with no version left */
	RETAIN_PINS,      /* pins of changes before it that no version starts with any more */
	RETAIN_ATTRIBS,   /* attributions of the same */
	RETAIN_COVER,     /* poll log rows before it (each endpoint keeps its last) */
	RETAIN_EVENTS,    /* the oldest events, while older than their tailnet's horizon */
	RETAIN_BLOBS,     /* policy texts no version refers to any more */
	RETAIN_DONE
};

/* One pass of pruning over a tailnet: where it stands and what it has pruned so far. */
struct retain_run {
	char *tailnet; /* malloc'd */
	int64_t retain;
	tstime_t horizon;
	enum retain_phase phase;
	struct store_key resume; /* the last key visited in the phase (len 0: its start) */
	int resume_incl;         /* the next step starts at resume itself, not after it */
	uint64_t versions, intervals, names, cover, events, blobs; /* pruned by this pass */
	uint64_t pins, attribs;
	json_t *texts; /* sha256 (hex) of the policy texts of the versions pruned: candidates */
};

/* A pass over TAILNET: its horizon becomes NOW - RETAIN (or stays, if later already). */
void retain_run_init(struct retain_run *r, const char *tailnet, int64_t retain, tstime_t now);
void retain_run_free(struct retain_run *r);
/* One write transaction that visits at most MAX records of the pass. 1: more to do (call again
 * on a later loop turn), 0: the pass is done, -1 with *cause. */
int retain_step(struct store *st, struct retain_run *r, size_t max, char **cause);
/* A whole pass at once (tests, tools): retain_step until done. */
int retain_prune(struct store *st, const char *tailnet, int64_t retain, tstime_t now, size_t max,
                 struct retain_run *out, char **cause);

/* TAILNET's horizon in TXN (TSTIME_NONE: nothing ever pruned) and the retain that set it. */
tstime_t retain_horizon(struct store_txn *txn, const char *tailnet, int64_t *retain);
/* The first event kept (0: none was ever pruned) and the retain that pruned the ones before. */
uint64_t retain_events_from(struct store_txn *txn, int64_t *retain);
/* "events before seq N were pruned by retention (retain = 30d)" (malloc'd) and N in *FIRST
 * (may be NULL), or NULL when the events after AFTER are all there. */
char *retain_events_gap(struct store *st, uint64_t after, uint64_t *first);

#endif
