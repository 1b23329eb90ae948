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
/* As poller_poll_now, and EACH (when not NULL) runs as each endpoint's poll ends, before DONE:
 * RESULT (borrowed) is that endpoint's entry of DONE's array, N of TOTAL have ended. */
typedef void (*poller_each_fn)(json_t *result, size_t n, size_t total, void *arg);
void poller_poll_each(struct poller *pl, const char *tailnet, poller_each_fn each,
                      poller_done_fn done, void *arg);

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

/* Why a poll failed, for the metrics: the first failure of its last request. */
#define POLLER_ERROR_CLASSES(X)                                                                    \
	X(http_4xx)   /* the API answered 4xx */                                                   \
	X(http_5xx)   /* the API answered 5xx */                                                   \
	X(http_other) /* any other status but 200 */                                               \
	X(timeout)    /* no answer within request_timeout */                                       \
	X(transport)  /* connect, TLS, a cut transfer, a transfer that could not start */          \
	X(too_large)  /* an answer over max_response */                                            \
	X(shape)      /* not valid JSON, or an answer its recorder refused */
enum poller_error_class {
#define POLLER_EC(sym) POLLER_E_##sym,
	POLLER_ERROR_CLASSES(POLLER_EC)
#undef POLLER_EC
	    POLLER_E__COUNT
};
extern const char *const poller_error_class_names[POLLER_E__COUNT];

/* Upper bounds (seconds) of the poll duration histogram's buckets; +Inf is implied. */
#define POLLER_DURATION_BUCKETS 10
extern const double poller_duration_bounds[POLLER_DURATION_BUCKETS];

/* One endpoint's polls since the daemon started: counters in memory, nothing stored. */
struct poller_stats {
	uint64_t ok, held, failed; /* polls by result */
	uint64_t errors[POLLER_E__COUNT];
	double last_duration; /* seconds, of the last poll that ended; < 0 before any */
	double duration_sum;
	uint64_t duration_le[POLLER_DURATION_BUCKETS]; /* cumulative, as Prometheus counts */
};

/* The counters of one endpoint's polls, or NULL if TAILNET does not poll ENDPOINT. */
const struct poller_stats *poller_stats(const struct poller *pl, const char *tailnet,
                                        const char *endpoint);

/* The endpoints a tailnet can poll, NULL-terminated (config_endpoint_names); each tailnet's
 * "endpoints" option says which it does. */
extern const char *const *const poller_endpoints;

#endif
