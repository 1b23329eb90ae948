/* checks-store.h: the compliance checks over the store: the history as of one moment read in one
 * transaction, the findings kept per tailnet with their check.* events, and their history. */
#ifndef TSINV_CHECKS_STORE_H
#define TSINV_CHECKS_STORE_H

#include <stddef.h>
#include <jansson.h>

#include "checks.h"
#include "config.h"
#include "hist.h"
#include "store.h"
#include "tstime.h"

/* The byte after the tailnet in the keys of kept findings (STORE_CUR): no endpoint row uses it.
 * A finding's key: tailnet, 'F', check id, entity kind, entity id (each with its NUL). */
#define CHECKS_KIND 'F'

/* A snapshot and the answers it borrows from. */
struct checks_view {
	struct check_snapshot snap;
	json_t *owned; /* every answer the snapshot's parts point into */
};

/* Reads TAILNET's history as of AT (TSTIME_NONE: the latest polls, with devices' volatile state;
 * the checks then judge the moment NOW) in TXN, the caller's, read or write. Parts tsinv did not
 * cover at that moment are NULL. 0, or -1 with *cause. */
int checks_view_load(struct store_txn *txn, const char *tailnet, tstime_t at, tstime_t now,
                     struct checks_view *v, char **cause);
void checks_view_free(struct checks_view *v);

/*
 * The step after a successful poll, run in its write transaction (hist_policy's after; ARG is
 * the daemon's const struct config *). Once every endpoint the tailnet polls has been tried,
 * the first evaluation keeps the findings and records one check.baseline; from then on each
 * poll that changed the history is evaluated again and each finding that starts or ends is a
 * check.failed or check.resolved event, bounded by (PREV_OK, T]: the change that caused it.
 * A check seen for the first time (its data was missing, or it was disabled) is adopted the same
 * way as the baseline, with a check.baseline of its own. *events counts what was recorded.
 */
int checks_after_poll(struct store_txn *txn, const char *tailnet, tstime_t prev_ok, tstime_t t,
                      int changed, void *arg, size_t *events, char **cause);

/* The findings kept for TAILNET by severity, as the last evaluation after a poll left them (one
 * short read): 1, 0 when no evaluation has counted them yet, or -1 with *cause. */
int checks_counts(struct store *st, const char *tailnet, uint64_t counts[CHECK_NSEVERITIES],
                  char **cause);

/* The findings kept for TAILNET, a new reference: {"CHECK-ID kind id": {check, severity, group,
 * entity, detail, from_lo, from_hi, baseline}}, and the baseline's time (TSTIME_NONE: none). */
int checks_kept(struct store_txn *txn, const char *tailnet, json_t **out, tstime_t *baseline,
                char **cause);

/* The key of a finding in checks_kept's answer, malloc'd. */
char *checks_kept_key(json_t *finding);

/* Each finding's intervals for the checks matching PATTERN (an id or a glob; NULL: all), from
 * the check.* events and the findings kept. *out, a new reference: {"tailnet", "baseline",
 * "intervals":[{check, severity, entity, detail, from_lo, from_hi, to_lo, to_hi, "open",
 * "before_baseline"}]}. */
int checks_history(struct store *st, const char *tailnet, const char *pattern, json_t **out,
                   char **cause);

#endif
