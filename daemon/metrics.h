/* metrics.h: the metrics op: what the daemon counts, as Prometheus text. */
#ifndef TSINV_METRICS_H
#define TSINV_METRICS_H

#include <stdint.h>

#include "checks.h"
#include "ops.h"

/* Answers REQ with {"content_type","text"}: counters kept in memory and a few short store reads
 * (the endpoints' last polls, LMDB's own entry counts); never a walk of the store. */
void metrics_reply(struct tsinvd *d, struct ctl_req *req);

/* Where the compliance findings count comes from, once the daemon keeps one: COUNTS[i] is the
 * number of open findings of severity i (check_severity_names). 0, or -1 when none is known yet
 * (the gauge is then left out). Until a source is set, tsinv_check_findings is not written. */
typedef int (*metrics_findings_fn)(void *arg, uint64_t counts[CHECK_NSEVERITIES]);
void metrics_set_findings(metrics_findings_fn fn, void *arg);

#endif
