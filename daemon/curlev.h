/* curlev.h: curl's multi interface driven by a libevent loop (curl's hiperfifo recipe). */
#ifndef TSINV_CURLEV_H
#define TSINV_CURLEV_H

#include <curl/curl.h>
#include <event2/event.h>

struct curlev;

/* Called from the loop for each finished transfer; the handle is still in the multi. */
typedef void (*curlev_done_fn)(CURL *easy, CURLcode result, void *arg);

struct curlev *curlev_new(struct event_base *base, curlev_done_fn done, void *arg);
/* Every handle must have been removed first. */
void curlev_free(struct curlev *cv);
/* The multi handle, to add and remove transfers. */
CURLM *curlev_multi(struct curlev *cv);

#endif
