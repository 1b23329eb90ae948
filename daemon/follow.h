/* follow.h: live event streams (events.follow): each follower reads the log from its cursor. */
#ifndef TSINV_FOLLOW_H
#define TSINV_FOLLOW_H

#include <stdint.h>

#include <event2/event.h>

#include "ctl.h"
#include "store.h"

struct follow;

struct follow *follow_new(struct event_base *base, struct store *st);
/* Ends every stream (their connections close once flushed). */
void follow_free(struct follow *fw);
/* Answers REQ and streams every event after SINCE that matches TYPES (space-separated globs,
 * NULL: all) and TAILNET (NULL: all), then every new one as it is recorded. */
void follow_start(struct follow *fw, struct ctl_req *req, uint64_t since, const char *types,
                  const char *tailnet);
/* New events were committed. */
void follow_wake(struct follow *fw);
size_t follow_count(const struct follow *fw);

#endif
