/* curlev.c: curl multi on libevent: a persistent event per socket, one re-armed timer. */
#include <stdlib.h>

#include "curlev.h"
#include "log.h"

struct curlev {
	struct event_base *base;
	CURLM *multi;
	struct event *timer;
	curlev_done_fn done;
	void *arg;
};

static void
curlev_check(struct curlev *cv)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(cv->multi, &left)) != NULL)
		if (m->msg == CURLMSG_DONE)
			cv->done(m->easy_handle, m->data.result, cv->arg);
}

/* curl_multi_socket_action's result: a failure is curl's own (out of memory, a bad handle)
 * and ends no transfer by itself, so it is logged and the loop goes on. */
static void
curlev_action(struct curlev *cv, curl_socket_t s, int flags)
{
	CURLMcode rc;
	int running;

	if ((rc = curl_multi_socket_action(cv->multi, s, flags, &running)) != CURLM_OK)
		log_warnx("curl: socket action on %s: %s",
		          s == CURL_SOCKET_TIMEOUT ? "the timer" : "a socket",
		          curl_multi_strerror(rc));
	curlev_check(cv);
}

static void
curlev_sock_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct curlev *cv = arg;
	int flags = 0;

	if (what & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	curlev_action(cv, fd, flags);
}

/* curl says which socket to watch for what; socketp is that socket's event, or NULL. */
static int
curlev_sock_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct curlev *cv = userp;
	struct event *ev = socketp;
	short kind = EV_PERSIST;

	if (ev != NULL)
		event_free(ev);
	if (what == CURL_POLL_REMOVE) {
		curl_multi_assign(cv->multi, s, NULL);
		return 0;
	}
	if (what & CURL_POLL_IN)
		kind |= EV_READ;
	if (what & CURL_POLL_OUT)
		kind |= EV_WRITE;
	ev = event_new(cv->base, s, kind, curlev_sock_event_cb, cv);
	event_add(ev, NULL);
	curl_multi_assign(cv->multi, s, ev);
	return 0;
}

static void
curlev_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	curlev_action(arg, CURL_SOCKET_TIMEOUT, 0);
}

/* curl asks for one timer; it is re-armed here and fires from the loop, never from inside. */
static int
curlev_multi_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct curlev *cv = userp;
	struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};

	if (timeout_ms < 0)
		evtimer_del(cv->timer);
	else
		evtimer_add(cv->timer, &tv);
	return 0;
}

struct curlev *
curlev_new(struct event_base *base, curlev_done_fn done, void *arg)
{
	struct curlev *cv = xcalloc(1, sizeof(*cv));

	cv->base = base;
	cv->done = done;
	cv->arg = arg;
	if ((cv->multi = curl_multi_init()) == NULL)
		fatalx("cannot create a curl multi handle");
	cv->timer = evtimer_new(base, curlev_timer_cb, cv);
	curl_multi_setopt(cv->multi, CURLMOPT_SOCKETFUNCTION, curlev_sock_cb);
	curl_multi_setopt(cv->multi, CURLMOPT_SOCKETDATA, cv);
	curl_multi_setopt(cv->multi, CURLMOPT_TIMERFUNCTION, curlev_multi_timer_cb);
	curl_multi_setopt(cv->multi, CURLMOPT_TIMERDATA, cv);
	return cv;
}

void
curlev_free(struct curlev *cv)
{
	if (cv == NULL)
		return;
	curl_multi_cleanup(cv->multi);
	event_free(cv->timer);
	free(cv);
}

CURLM *
curlev_multi(struct curlev *cv)
{
	return cv->multi;
}
