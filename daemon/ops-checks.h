/* ops-checks.h: the compliance checks' socket operations (ops-checks.c), called by ops.c's
 * dispatch once the tailnet and the time are read. */
#ifndef TSINV_OPS_CHECKS_H
#define TSINV_OPS_CHECKS_H

#include "ops.h"

/* checks.run: the checks on TAILNET as of AT (TSTIME_NONE: now); with history, as
 * checks.history. */
void ops_checks_run_req(struct tsinvd *d, struct ctl_req *req, const char *tailnet, tstime_t at);
/* checks.history: each finding's intervals. */
void ops_checks_history_req(struct tsinvd *d, struct ctl_req *req, const char *tailnet);

#endif
