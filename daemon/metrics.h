/* metrics.h: the metrics op: what the daemon counts, as Prometheus text. */
#ifndef TSINV_METRICS_H
#define TSINV_METRICS_H

#include <stdint.h>

#include "checks.h"
#include "ops.h"

/* Answers REQ with {"content_type","text"}: counters kept in memory and a few short store reads
 * (the endpoints' last polls, LMDB's own entry counts); never a walk of the store. */
void metrics_reply(struct tsinvd *d, struct ctl_req *req);

#endif
