/* poller.h: per-endpoint timers, HTTP fetches on curl multi driven by libevent, results applied. */
#ifndef TSINV_POLLER_H
#define TSINV_POLLER_H

#include <event2/event.h>
#include <jansson.h>

#include "config.h"
#include "store.h"
#include "tstime.h"

struct poller;

/* Called once every requested poll has finished; RESULTS (borrowed) is an array of
 * {"tailnet","endpoint","result":"ok"|"error"|"held","time","changes","error"}. */
typedef void (*poller_done_fn)(json_t *results, void *arg);

/* Called after a poll's answer has been committed to the store (events may be new). */
typedef void (*poller_commit_fn)(void *arg);

/* Reads each tailnet's secret and arms the timers (the first poll runs at once). */
struct poller *poller_new(struct event_base *base, const struct config *cf, struct store *st,
                          poller_commit_fn committed, void *arg, char **cause);
void poller_free(struct poller *pl);
/* A reload: CF (which outlives the poller, as the first did) replaces the configuration. New
 * tailnets poll at once; removed ones stop, their transfers cancelled and their waiters
 * answered with an error; kept ones keep their timers, back-off and token and take the new
 * settings; one with another server, credential or set of endpoints starts afresh. Every
 * secret is read first: -1 and *cause, and nothing changed, when one cannot be. */
int poller_reconfigure(struct poller *pl, const struct config *cf, char **cause);

/* Polls every endpoint of TAILNET (NULL: of every tailnet) now. A fetch already in flight is
 * not reused: the answer must postdate the request. DONE runs later, from the loop. */
void poller_poll_now(struct poller *pl, const char *tailnet, poller_done_fn done, void *arg);

/* tsinvd -n --check-api: asks each configured endpoint of each tailnet once (blocking, outside
 * any loop) and prints on OUT whether the credential may read it, with the scope it lacks on a
 * 403. 0 if every one answered 200. */
int poller_check_api(const struct config *cf, FILE *out);

/* How the tailnet's credential fares with ENDPOINT, a new reference or NULL if it is not polled:
 * {"credential":"api_key"|"oauth","refused":true if its last poll got 403,"scope":the OAuth
 * scope it needs}. */
json_t *poller_access(struct poller *pl, const char *tailnet, const char *endpoint);

/* When the next scheduled poll of an endpoint is due (TSTIME_NONE if one is running or the
 * endpoint is not polled). */
tstime_t poller_next(struct poller *pl, const char *tailnet, const char *endpoint);

/* The endpoints a tailnet can poll, NULL-terminated (config_endpoint_names); each tailnet's
 * "endpoints" option says which it does. */
extern const char *const *const poller_endpoints;

#endif
