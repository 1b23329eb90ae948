/* ops.h: the daemon's state and the handlers of the socket operations. */
#ifndef TSINV_OPS_H
#define TSINV_OPS_H

#include <event2/event.h>

#include "config.h"
#include "ctl.h"
#include "follow.h"
#include "hooks.h"
#include "netbox.h"
#include "poller.h"
#include "store.h"
#include "tstime.h"

struct tsinvd {
	struct event_base *base;
	struct config *cf;
	struct store *st;
	struct ctl *ctl;
	struct poller *pl;
	struct follow *fw;
	struct hooks *hk;
	struct netbox *nb;
	tstime_t started;
};

/* After a poll committed new events: wakes the followers and the hooks. ARG: struct tsinvd. */
void ops_committed(void *arg);

/* The ctl dispatch function: ARG is the struct tsinvd. */
void ops_dispatch(struct ctl_req *req, void *arg);
/* The ctl reply guard: fails an answer during which a read met a damaged record. */
int ops_guard(struct ctl_req *req, void *arg, const char **code, char **msg);

#endif
