/* ops-checks.c: checks.run and checks.history, the compliance checks over the history. */
#include <stdlib.h>
#include <string.h>

#include "checks-store.h"
#include "log.h"
#include "ops-checks.h"
#include "proto.h"

/* The filters of both ops: the least severity (-1: all) and a check id or glob (NULL: all).
 * -1 after an error reply. */
static int
ops_checks_filter(struct ctl_req *req, int *least, const char **pattern)
{
	const char *sev = json_string_value(json_object_get(req->args, "severity"));
	enum check_severity s;
	size_t i;

	*least = -1;
	*pattern = json_string_value(json_object_get(req->args, "check"));
	if (sev != NULL) {
		if (check_severity_parse(sev, &s) == -1) {
			ctl_reply_err(
			    req, PROTO_E_BAD_REQUEST,
			    "severity: \"%.32s\" is not critical, high, medium, low or info", sev);
			return -1;
		}
		*least = (int)s;
	}
	if (*pattern == NULL)
		return 0;
	/* A pattern that names no check is a typo, not a filter that matches nothing. */
	for (i = 0; i < CHECK_COUNT; i++)
		if (check_match(&check_table[i], *pattern))
			return 0;
	ctl_reply_err(req, PROTO_E_BAD_REQUEST,
	              "check: \"%.64s\" matches no check (tsinvctl check --list)", *pattern);
	return -1;
}

/* Whether an entry (a result, a finding, an interval) passes the filters. */
static int
ops_checks_want(json_t *e, int least, const char *pattern)
{
	const struct check *c = check_find(json_string_value(json_object_get(e, "check")) ?: "");
	enum check_severity s;

	if (c == NULL)
		return 0;
	if (pattern != NULL && !check_match(c, pattern))
		return 0;
	if (least >= 0 && (check_severity_parse(
	                       json_string_value(json_object_get(e, "severity")) ?: "", &s) == -1 ||
	                   (int)s < least))
		return 0;
	return 1;
}

/* Keeps the entries of ARR that pass the filters. */
static void
ops_checks_keep(json_t *arr, int least, const char *pattern)
{
	size_t i = 0;

	while (i < json_array_size(arr)) {
		if (ops_checks_want(json_array_get(arr, i), least, pattern))
			i++;
		else
			json_array_remove(arr, i);
	}
}

/* The counts by severity and the unknown checks, again after the filters. */
static void
ops_checks_count(json_t *run)
{
	size_t n[CHECK_NSEVERITIES] = {0}, unknown = 0, i;
	json_t *counts = json_object(), *e;
	enum check_severity s;

	json_array_foreach(json_object_get(run, "findings"), i, e)
	{
		if (check_severity_parse(json_string_value(json_object_get(e, "severity")) ?: "",
		                         &s) == 0)
			n[s]++;
	}
	json_array_foreach(json_object_get(run, "results"), i, e)
	{
		unknown +=
		    strcmp(json_string_value(json_object_get(e, "status")) ?: "", "unknown") == 0;
	}
	for (int k = CHECK_NSEVERITIES - 1; k >= 0; k--)
		json_object_set_new(counts, check_severity_names[k],
		                    json_integer((json_int_t)n[k]));
	json_object_set_new(run, "counts", counts);
	json_object_set_new(run, "unknown", json_integer((json_int_t)unknown));
}

/* Now: each finding's start as kept (the window of the poll that found it). */
static void
ops_checks_since(json_t *run, json_t *kept)
{
	json_t *f, *k;
	size_t i;

	json_array_foreach(json_object_get(run, "findings"), i, f)
	{
		char *key = checks_kept_key(f);

		if ((k = json_object_get(kept, key)) != NULL) {
			json_object_set(f, "from_lo", json_object_get(k, "from_lo"));
			json_object_set(f, "from_hi", json_object_get(k, "from_hi"));
			json_object_set_new(
			    f, "before_baseline",
			    json_boolean(json_is_true(json_object_get(k, "baseline"))));
		}
		free(key);
	}
}

void
ops_checks_history_req(struct tsinvd *d, struct ctl_req *req, const char *tailnet)
{
	const char *pattern;
	char *cause = NULL;
	json_t *res = NULL;
	int least;

	if (ops_checks_filter(req, &least, &pattern) == -1)
		return;
	if (checks_history(d->st, tailnet, pattern, &res, &cause) == -1) {
		ctl_reply_err(req, PROTO_E_INTERNAL, "%s", cause ? cause : "failed");
		free(cause);
		return;
	}
	ops_checks_keep(json_object_get(res, "intervals"), least, NULL);
	ctl_reply(req, res);
}

void
ops_checks_run_req(struct tsinvd *d, struct ctl_req *req, const char *tailnet, tstime_t at)
{
	struct store_txn *txn;
	struct checks_view v;
	json_t *run, *kept = NULL;
	tstime_t baseline = TSTIME_NONE, now = tstime_now();
	const char *pattern;
	char *cause = NULL;
	int least;

	if (json_is_true(json_object_get(req->args, "history"))) {
		if (at != TSTIME_NONE) {
			ctl_reply_err(req, PROTO_E_BAD_REQUEST,
			              "history covers every time: give at or history, not both");
			return;
		}
		ops_checks_history_req(d, req, tailnet);
		return;
	}
	if (ops_checks_filter(req, &least, &pattern) == -1)
		return;
	/* One read transaction: every part of the snapshot is of the same moment. */
	if (store_read_begin(d->st, &txn, &cause) == -1)
		goto fail;
	if (checks_view_load(txn, tailnet, at, now, &v, &cause) == -1) {
		store_read_end(txn);
		goto fail;
	}
	if (at == TSTIME_NONE && checks_kept(txn, tailnet, &kept, &baseline, &cause) == -1) {
		checks_view_free(&v);
		store_read_end(txn);
		goto fail;
	}
	run = checks_run(&v.snap, &d->cf->checks);
	checks_view_free(&v);
	store_read_end(txn);
	if (kept != NULL)
		ops_checks_since(run, kept);
	json_decref(kept);
	ops_checks_keep(json_object_get(run, "results"), least, pattern);
	ops_checks_keep(json_object_get(run, "findings"), least, pattern);
	ops_checks_count(run);
	json_object_set_new(run, "tailnet", json_string(tailnet));
	json_object_set_new(run, "now", json_boolean(at == TSTIME_NONE));
	json_object_set_new(run, "baseline", tstime_json(baseline));
	ctl_reply(req, run);
	return;
fail:
	ctl_reply_err(req, PROTO_E_INTERNAL, "%s", cause ? cause : "failed");
	free(cause);
}
