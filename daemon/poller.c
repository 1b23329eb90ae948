/* poller.c: timers per endpoint, fetches on curl multi (the hiperfifo recipe), answers applied. */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include <curl/curl.h>

#include "checks-store.h"
#include "curlev.h"
#include "audit.h"
#include "endpoint.h"
#include "entity.h"
#include "http.h"
#include "hist.h"
#include "jscan.h"
#include "log.h"
#include "notify.h"
#include "config-diff.h"
#include "poller.h"
#include "retain.h"
#include "sbuf.h"

#define POLLER_BACKOFF_MIN (5 * TSTIME_SEC)
#define POLLER_RETRY_AFTER_MAX (3600 * TSTIME_SEC)
#define POLLER_ERRMSG_MAX 200
#define POLLER_FORBIDDEN_MAX (86400 * TSTIME_SEC) /* a 403 endpoint is retried at least daily */
/* Clock sanity. Between two polls the wall clock may drift from the monotonic one by the
 * kernel's slew (at most 0.05%) plus scheduling noise: 2 s + 1% of the span is a step. The
 * API's Date: has a 1 s resolution and some transfer time: 60 s + 1 s apart is a wrong clock. */
#define POLLER_STEP_SLACK (2 * TSTIME_SEC)
#define POLLER_STEP_PERCENT 1
#define POLLER_DATE_SLACK (61 * TSTIME_SEC)
/* Retention: a pass after a poll at most this often (or every retain / 4 if shorter), each of
 * its write transactions visiting at most this many records, one per loop turn. */
#define POLLER_RETAIN_EVERY (3600 * TSTIME_SEC)
#define POLLER_RETAIN_BATCH 500

struct poller_group {
	int pending;
	json_t *results;
	poller_done_fn done;
	poller_each_fn each; /* or NULL */
	size_t total;        /* endpoints asked */
	void *arg;
};

struct poller_waiters {
	struct poller_group **g;
	size_t n;
};

struct poller_tailnet;

/* What a curl handle's CURLINFO_PRIVATE points to: the first member of its owner. */
enum poller_xfer { POLLER_XFER_ENDPOINT, POLLER_XFER_TOKEN, POLLER_XFER_SUB };

struct poller_endpoint;

/* One of the extra requests a concurrent row (posture) has in flight side by side. */
struct poller_sub {
	enum poller_xfer xfer;
	struct poller_endpoint *ep;
	CURL *easy; /* NULL: a free slot */
	struct http_rx rx;
	size_t idx; /* in ep->extra */
	char *path; /* for messages */
};

/* The most a tailnet's posture_concurrency can be (lib/config.c). */
#define POLLER_SUBS_MAX 64

struct poller_endpoint {
	enum poller_xfer xfer;
	struct poller_tailnet *tn;
	const char *name;
	const struct endpoint *kind;
	char *base; /* .../api/v2/tailnet/{t}/ */
	/* One poll: the answers so far, in request order; extra requests (keys by id). */
	size_t step;
	json_t *answers;
	json_t *extra; /* ids still to fetch, or NULL before the plan */
	size_t extra_i;
	json_t *fetched, *gone, *denied; /* keys by id: 200, 404, 403 */
	json_t *fetched_ids;             /* the ids of fetched, in order */
	/* A concurrent row's extra requests: the slots, how many are busy, the first failure and
	 * its Retry-After, and the event that records the poll once the last one is done. */
	struct poller_sub *subs;
	size_t nbusy;
	char *sub_error;
	int64_t sub_retry;
	struct event *apply_ev;
	char *etag;                  /* of the policy file's answer */
	tstime_t win_start, win_end; /* a window row's request: the span asked for */
	char *path;                  /* of the request in flight, or the last one: for messages */
	struct sbuf text;            /* the policy file's answer */
	struct event *timer;         /* the next scheduled poll */
	struct event *finish;        /* delivers a fetch that could not even start */
	tstime_t next;
	CURL *easy; /* in flight, or NULL */
	tstime_t started;
	struct http_rx rx;
	char *start_error;
	unsigned failures;
	long refused;       /* the last poll's 403 (the credential lacks the scope), else 0 */
	int awaiting_token; /* waits for an OAuth access token before it can start */
	int auth_retried;   /* a 401 with an OAuth token renews the token once */
	unsigned token_gen; /* the OAuth token the request went out with */
	struct poller_waiters cur, next_waiters;
	enum poller_error_class err_class; /* of the failure poller_finish is handed */
	struct poller_stats stats;
	/* The clock: the wall and boot-time readings at the end of the last fetch, why the wall
	 * clock is unreliable since the last recorded poll (malloc'd, NULL: it is not), and the
	 * Date: of this poll's last answer (0: none). */
	tstime_t clk_real;
	int64_t clk_mono;
	char *clk_why;
	tstime_t date;
	tstime_t date_seen; /* our wall clock when Date: arrived, to compare it with */
};

/* OAuth client credentials: a 1-hour access token, fetched, cached, renewed before it ends. */
struct poller_oauth {
	enum poller_xfer xfer;
	struct poller_tailnet *tn;
	char *form; /* client_id=..&client_secret=..: holds the secret, wiped on free */
	char *url;
	CURL *easy; /* a token request in flight */
	struct http_rx rx;
	tstime_t renew_at; /* TSTIME_NONE: no usable token */
	unsigned gen;      /* counts tokens: a 401 on an older one needs no new one */
};

struct poller_tailnet {
	struct poller *pl;
	const struct config_tailnet *cf;
	struct http_limits lim; /* of every transfer to the API, the token requests too */
	/* The API token or OAuth access token: wiped on free. Each transfer gets a copy (curl's
	 * CURLOPT_XOAUTH2_BEARER), so that a renewed token never pulls memory from under a
	 * transfer in flight. */
	char *bearer;
	struct curl_slist *headers;      /* Accept: application/json */
	struct curl_slist *headers_text; /* Accept: the policy file's HuJSON text */
	struct poller_oauth *oauth;      /* NULL with an API access token */
	json_t *own_tokens;              /* key ids of the last OAuth access tokens we were given */
	struct poller_endpoint *eps;
	size_t neps;
	/* Retention: the pass under way (one step per loop turn), and the recorded poll time that
	 * began the last one (0: none yet). */
	struct event *retain_ev;
	struct retain_run retain;
	int retain_active;
	tstime_t retain_began;
};

struct poller {
	struct event_base *base;
	const struct config *cf;
	struct store *st;
	struct curlev *cv;
	CURLM *multi; /* cv's */
	poller_commit_fn committed;
	void *committed_arg;
	struct poller_tailnet *tn;
	size_t ntn;
};

static void poller_fetch_start(struct poller_endpoint *ep);
static void poller_subs_fill(struct poller_endpoint *ep);
static size_t poller_header_cb(char *data, size_t size, size_t n, void *arg);
static void poller_request_start(struct poller_endpoint *ep);
static void poller_poll_reset(struct poller_endpoint *ep);
static void poller_oauth_start(struct poller_oauth *o);

static unsigned
poller_random(void)
{
	unsigned r = 0;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
		r = (unsigned)tstime_now();
	return r;
}

/* A poll of EP is under way: a request in flight, or its answers about to be recorded. */
static int
poller_busy(const struct poller_endpoint *ep)
{
	return ep->easy != NULL || ep->nbusy > 0 || (ep->kind->concurrent && ep->extra != NULL);
}

static void
poller_schedule(struct poller_endpoint *ep, int64_t delay)
{
	struct timeval tv = {.tv_sec = delay / TSTIME_SEC, .tv_usec = delay % TSTIME_SEC};

	ep->next = tstime_now() + delay;
	evtimer_add(ep->timer, &tv);
}

/* The interval, give or take 10%, so that tailnets and endpoints do not poll in lock-step. */
static int64_t
poller_jitter(int64_t interval)
{
	int64_t spread = interval / 10;

	if (spread <= 0)
		return interval;
	return interval - spread + (int64_t)(poller_random() % (uint64_t)(2 * spread + 1));
}

/* ---- results ---- */

static void
poller_waiters_drop(struct poller_waiters *w)
{
	for (size_t i = 0; i < w->n; i++) {
		if (--w->g[i]->pending == 0) {
			json_decref(w->g[i]->results);
			free(w->g[i]);
		}
	}
	free(w->g);
	*w = (struct poller_waiters){0};
}

static void
poller_waiters_add(struct poller_waiters *w, struct poller_group *g)
{
	w->g = xrealloc(w->g, (w->n + 1) * sizeof(*w->g));
	w->g[w->n++] = g;
}

static void
poller_deliver(struct poller_endpoint *ep, json_t *result)
{
	struct poller_waiters w = ep->cur;

	ep->cur = (struct poller_waiters){0};
	for (size_t i = 0; i < w.n; i++) {
		struct poller_group *g = w.g[i];

		json_array_append(g->results, result);
		if (g->each != NULL)
			g->each(result, json_array_size(g->results), g->total, g->arg);
		if (--g->pending == 0) {
			g->done(g->results, g->arg);
			json_decref(g->results);
			free(g);
		}
	}
	free(w.g);
}

/* The API's {"message": ...}, cut short and stripped of control characters, for a log line. */
static char *
poller_api_message(const struct sbuf *body)
{
	json_t *j = json_loadb(body->p ? body->p : "", body->len, 0, NULL);
	const char *m = json_string_value(json_object_get(j, "message"));
	char *out = xstrdup(m != NULL ? m : "");

	json_decref(j);
	if (strlen(out) > POLLER_ERRMSG_MAX)
		out[POLLER_ERRMSG_MAX] = '\0';
	for (char *p = out; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
	return out;
}

static const char *
poller_status_hint(long status)
{
	if (status == 401)
		return "the API refused the credentials";
	if (status == 403)
		return "the credential lacks the scope";
	if (status == 404)
		return "tailnet not found, or the credentials may not read it";
	if (status == 429)
		return "rate limited";
	if (status >= 500)
		return "server error";
	return "unexpected answer";
}

/* ---- metrics ---- */

const char *const poller_error_class_names[POLLER_E__COUNT] = {
#define POLLER_EC(sym) [POLLER_E_##sym] = #sym,
    POLLER_ERROR_CLASSES(POLLER_EC)
#undef POLLER_EC
};

const double poller_duration_bounds[POLLER_DURATION_BUCKETS] = {0.05, 0.1, 0.25, 0.5, 1,
                                                                2.5,  5,   10,   30,  60};

/* The class of a transfer that failed as a transfer (http_error said why). */
static enum poller_error_class
poller_transfer_class(CURLcode code, const struct http_rx *rx)
{
	if (rx->too_big || code == CURLE_FILESIZE_EXCEEDED)
		return POLLER_E_too_large;
	if (code == CURLE_OPERATION_TIMEDOUT)
		return POLLER_E_timeout;
	return POLLER_E_transport;
}

static enum poller_error_class
poller_status_class(long status)
{
	if (status >= 400 && status < 500)
		return POLLER_E_http_4xx;
	if (status >= 500 && status < 600)
		return POLLER_E_http_5xx;
	return POLLER_E_http_other;
}

/* Counts a poll that ends now, failed (ERROR) or not (RES). */
static void
poller_count(struct poller_endpoint *ep, const char *error, const struct hist_poll_result *res)
{
	struct poller_stats *s = &ep->stats;
	double d = (double)(tstime_now() - ep->started) / TSTIME_SEC;

	if (error != NULL) {
		s->failed++;
		s->errors[ep->err_class]++;
	} else if (res->held)
		s->held++;
	else
		s->ok++;
	ep->err_class = POLLER_E_transport;
	if (d < 0)
		d = 0;
	s->last_duration = d;
	s->duration_sum += d;
	for (size_t i = 0; i < POLLER_DURATION_BUCKETS; i++)
		if (d <= poller_duration_bounds[i])
			s->duration_le[i]++;
}

const struct poller_stats *
poller_stats(const struct poller *pl, const char *tailnet, const char *endpoint)
{
	for (size_t i = 0; pl != NULL && i < pl->ntn; i++)
		for (size_t j = 0; j < pl->tn[i].neps; j++)
			if (strcmp(pl->tn[i].cf->name, tailnet) == 0 &&
			    strcmp(pl->tn[i].eps[j].name, endpoint) == 0)
				return &pl->tn[i].eps[j].stats;
	return NULL;
}

static void
poller_finish(struct poller_endpoint *ep, char *error, int64_t retry_after,
              const struct hist_poll_result *res, tstime_t t)
{
	struct poller_tailnet *tn = ep->tn;
	json_t *result = json_object();
	char tbuf[TSTIME_STRLEN];
	char *cause = NULL;
	int64_t delay;

	poller_count(ep, error, res);
	if (error != NULL) {
		ep->failures++;
		log_warnx("tailnet %s: %s: poll failed: %s", tn->cf->name, ep->name, error);
		if (hist_poll_failed(tn->pl->st, tn->cf->name, ep->name, t, error, &cause) == -1) {
			log_warnx("tailnet %s: %s: %s", tn->cf->name, ep->name, cause);
			free(cause);
		}
		delay = POLLER_BACKOFF_MIN << (ep->failures > 10 ? 10 : ep->failures - 1);
		if (delay > tn->cf->poll_interval)
			delay = tn->cf->poll_interval;
		/* A missing scope does not come back by itself: ask less and less often, up to a
		 * day, rather than fail every poll. */
		if (ep->refused) {
			delay = tn->cf->poll_interval << (ep->failures > 6 ? 5 : ep->failures - 1);
			if (delay > POLLER_FORBIDDEN_MAX || delay <= 0)
				delay = POLLER_FORBIDDEN_MAX;
		}
		if (retry_after > delay)
			delay = retry_after;
		json_object_set_new(result, "result", json_string("error"));
		json_object_set_new(result, "changes", json_integer(0));
		json_object_set_new(result, "error", json_string(error));
		notify_status("%s/%s: poll failed: %s", tn->cf->name, ep->name, error);
	} else {
		size_t changes = res->created + res->changed + res->deleted;

		ep->failures = 0;
		ep->refused = 0;
		t = res->time;
		/* The audit log and posture have their own pace (audit_interval, posture_interval,
		 * default poll_interval). */
		delay = poller_jitter(
		    ep->kind->window && tn->cf->audit_interval > 0 ? tn->cf->audit_interval
		    : ep->kind == &endpoints[ENDPOINT_posture] && tn->cf->posture_interval > 0
		        ? tn->cf->posture_interval
		        : tn->cf->poll_interval);
		/* A list left entities out: the second list that may confirm it comes sooner. */
		if (res->pending > 0 && tn->cf->confirm_delay < delay)
			delay = tn->cf->confirm_delay;
		json_object_set_new(result, "result", json_string(res->held ? "held" : "ok"));
		json_object_set_new(result, "changes", json_integer((json_int_t)changes));
		json_object_set_new(result, "error",
		                    res->held ? json_string("mass disappearance held until the "
		                                            "next poll confirms it")
		                              : json_null());
		log_info("tailnet %s: %s: %s, %zu seen, %zu created, %zu changed, %zu deleted, "
		         "%zu events",
		         tn->cf->name, ep->name, res->held ? "held" : "ok", res->seen, res->created,
		         res->changed, res->deleted, res->events);
		if (res->pending > 0)
			log_notice("tailnet %s: %s: %zu missing from the list, not confirmed gone: "
			           "kept until a list %llds later agrees",
			           tn->cf->name, ep->name, res->pending,
			           (long long)(tn->cf->confirm_delay / TSTIME_SEC));
		json_object_set_new(result, "awaiting_confirmation",
		                    json_integer((json_int_t)res->pending));
		/* Devices whose bytes came again as they were recorded: not parsed. */
		if (ep->kind == &endpoints[ENDPOINT_devices])
			json_object_set_new(result, "unparsed",
			                    json_integer((json_int_t)res->unparsed));
		if (res->hidden > 0)
			log_notice("tailnet %s: %s: %zu shared-in device(s) not visible to this "
			           "credential: kept as unknown, not deleted",
			           tn->cf->name, ep->name, res->hidden);
		notify_status("%s/%s: %s, %zu seen", tn->cf->name, ep->name,
		              res->held ? "held" : "ok", res->seen);
	}
	ep->auth_retried = 0;
	poller_poll_reset(ep);
	tstime_format(t, tbuf, sizeof(tbuf));
	json_object_set_new(result, "tailnet", json_string(tn->cf->name));
	json_object_set_new(result, "endpoint", json_string(ep->name));
	json_object_set_new(result, "time", json_string(tbuf));
	free(error);
	poller_deliver(ep, result);
	json_decref(result);
	/* Someone asked for a poll while this one ran: it must see a fresh answer. */
	if (ep->next_waiters.n > 0) {
		ep->cur = ep->next_waiters;
		ep->next_waiters = (struct poller_waiters){0};
		poller_fetch_start(ep);
	} else
		poller_schedule(ep, delay);
}

/* ---- what each endpoint asks and records ---- */

/* The answers of the poll so far, as the endpoint's plan and apply functions take them. */
static void
poller_answer(const struct poller_endpoint *ep, struct endpoint_answer *ans)
{
	*ans = (struct endpoint_answer){.json = ep->answers,
	                                .text = ep->text.p ? ep->text.p : "",
	                                .text_len = ep->text.len,
	                                .etag = ep->etag,
	                                .fetched = ep->fetched,
	                                .gone = ep->gone,
	                                .denied = ep->denied,
	                                .fetched_ids = ep->fetched_ids,
	                                .start = ep->win_start,
	                                .end = ep->win_end};
}

const char *const *const poller_endpoints = config_endpoint_names;

static size_t
poller_npaths(const struct endpoint *k)
{
	return endpoint_npaths(k);
}

static char *poller_extra_url(struct poller_endpoint *ep, size_t i, char **path);

/* The request of the current step: the path (for messages) and the whole URL (malloc'd). */
static char *
poller_step_url(struct poller_endpoint *ep, char **path)
{
	const struct endpoint *k = ep->kind;
	size_t n = poller_npaths(k);

	if (ep->step < n && k->window) {
		char a[TSTIME_STRLEN], b[TSTIME_STRLEN];

		tstime_format(ep->win_start, a, sizeof(a));
		tstime_format(ep->win_end, b, sizeof(b));
		*path = xasprintf("%s?start=%s&end=%s", k->paths[ep->step], a, b);
		return xasprintf("%s%s", ep->base, *path);
	}
	if (ep->step < n) {
		*path = xstrdup(k->paths[ep->step]);
		return xasprintf("%s%s", ep->base, k->paths[ep->step]);
	}
	return poller_extra_url(ep, ep->extra_i, path);
}

/* The URL of extra request I (malloc'd) and its path (for messages). */
static char *
poller_extra_url(struct poller_endpoint *ep, size_t i, char **path)
{
	const struct endpoint *k = ep->kind;
	char *esc;

	/* curl escapes without a handle since 7.82. */
	esc = curl_easy_escape(NULL, json_string_value(json_array_get(ep->extra, i)), 0);
	*path = xasprintf("%s/%s%s", k->plan_path, esc ? esc : "", k->plan_suffix ?: "");
	curl_free(esc);
	/* A device, user or webhook by id lives outside the tailnet's path. */
	if (k->plan_path[0] == '/')
		return xasprintf("%s/api/v2%s", ep->tn->cf->api_url, *path);
	return xasprintf("%s%s", ep->base, *path);
}

static void
poller_poll_reset(struct poller_endpoint *ep)
{
	json_decref(ep->answers);
	json_decref(ep->extra);
	json_decref(ep->fetched);
	json_decref(ep->gone);
	json_decref(ep->denied);
	json_decref(ep->fetched_ids);
	ep->answers = ep->extra = ep->fetched = ep->gone = ep->denied = ep->fetched_ids = NULL;
	free(ep->sub_error);
	ep->sub_error = NULL;
	ep->sub_retry = 0;
	ep->step = ep->extra_i = 0;
	free(ep->etag);
	ep->etag = NULL;
	free(ep->path);
	ep->path = NULL;
	sbuf_free(&ep->text);
}

/* Takes one 200 answer (or a 404 or 403 of a key fetched by id). 1 when more requests follow, 0
 * when the poll has every answer, -1 with *error. */
static int
poller_take(struct poller_endpoint *ep, long status, char **error)
{
	const struct endpoint *k = ep->kind;
	size_t n = poller_npaths(k);
	json_error_t jerr;
	json_t *body = NULL;
	char *cause = NULL;

	if (ep->step >= n && status == 404) {
		/* A key the API no longer knows: what we recorded last is all there is. */
		json_array_append(ep->gone, json_array_get(ep->extra, ep->extra_i));
	} else if (ep->step >= n && status == 403) {
		/* Narrower scopes read only their own key: the others' end stays unknown. */
		json_array_append(ep->denied, json_array_get(ep->extra, ep->extra_i));
	} else if ((k->text || k->raw) && ep->step < n) {
		ep->text = ep->rx.body;
		sbuf_init(&ep->rx.body);
	} else if ((body = json_loadb(ep->rx.body.p ? ep->rx.body.p : "", ep->rx.body.len,
	                              JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		*error = xasprintf("the answer is not valid JSON (line %d, column %d: %s)",
		                   jerr.line, jerr.column, jerr.text);
		return -1;
	} else if (ep->step < n)
		json_array_append_new(ep->answers, body);
	else {
		json_array_append_new(ep->fetched, body);
		json_array_append(ep->fetched_ids, json_array_get(ep->extra, ep->extra_i));
	}
	if (ep->step >= n)
		ep->extra_i++;
	else
		ep->step++;
	if (ep->step == n && k->plan != NULL && ep->extra == NULL) {
		struct endpoint_answer ans;

		poller_answer(ep, &ans);
		if (k->plan(ep->tn->pl->st, ep->tn->cf->name, &ans, &ep->extra, &cause) == -1) {
			*error = xasprintf("answer not recorded: %s", cause);
			free(cause);
			return -1;
		}
	}
	return ep->step < n || ep->extra_i < json_array_size(ep->extra);
}

/* Boot time (it counts a suspend, as the wall clock does), in us; 0 if there is none. */
static int64_t
poller_mono(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_BOOTTIME, &ts) == -1)
		return 0;
	return (int64_t)ts.tv_sec * TSTIME_SEC + ts.tv_nsec / 1000;
}

/* Checks the wall clock at T, the end of a fetch, against the boot-time clock MONO read at the
 * same moment and at the last fetch, and against the API's Date:, and tells POL what it found.
 * Both readings are taken together: parsing a large answer or a loop held up by another
 * tailnet's ingest between them would otherwise read as a step. A reason stays until a poll is
 * recorded: the span to the last recorded poll holds the step. */
static void
poller_clock(struct poller_endpoint *ep, tstime_t t, int64_t mono, struct hist_policy *pol)
{
	int64_t dm, step, skew;
	char *why = NULL, d[32];

	if (ep->clk_mono > 0 && mono > 0) {
		dm = mono - ep->clk_mono;
		step = (t - ep->clk_real) - dm;
		if (llabs(step) > POLLER_STEP_SLACK + dm * POLLER_STEP_PERCENT / 100) {
			/* Whole seconds: a step is never known better than that. */
			tstime_format_duration(
			    (llabs(step) + TSTIME_SEC / 2) / TSTIME_SEC * TSTIME_SEC, d, sizeof(d));
			why = xasprintf("the wall clock stepped %s %s between polls",
			                step < 0 ? "back" : "forward", d);
		}
		pol->mono_elapsed = dm;
	}
	if (why == NULL && ep->date > 0 && llabs(ep->date_seen - ep->date) > POLLER_DATE_SLACK) {
		skew = ep->date_seen - ep->date;
		tstime_format_duration((llabs(skew) + TSTIME_SEC / 2) / TSTIME_SEC * TSTIME_SEC, d,
		                       sizeof(d));
		why = xasprintf("our clock is %s %s the API's Date:", d,
		                skew < 0 ? "behind" : "ahead of");
	}
	if (why != NULL) {
		log_warnx("tailnet %s: %s: clock unreliable: %s: the time since the last poll is a "
		          "gap",
		          ep->tn->cf->name, ep->name, why);
		free(ep->clk_why);
		ep->clk_why = why;
	}
	ep->clk_real = t;
	ep->clk_mono = mono;
	pol->clock_unreliable = ep->clk_why;
	pol->api_date = ep->date;
}

/* One step of the tailnet's retention pass; the next on a later loop turn. */
static void
poller_retain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct poller_tailnet *tn = arg;
	struct retain_run *r = &tn->retain;
	struct timeval now = {0, 0};
	char *cause = NULL, h[TSTIME_STRLEN];
	int rc = retain_step(tn->pl->st, r, POLLER_RETAIN_BATCH, &cause);

	if (rc == 1) {
		evtimer_add(tn->retain_ev, &now);
		return;
	}
	tstime_format(r->horizon, h, sizeof(h));
	if (rc == -1) {
		log_warnx("tailnet %s: retention: %s", tn->cf->name, cause);
		free(cause);
	} else if (r->versions + r->intervals + r->cover + r->events + r->blobs + r->pins +
	               r->attribs >
	           0)
		log_info(
		    "tailnet %s: retention: pruned %llu versions, %llu address intervals, %llu "
		    "poll log rows, %llu events, %llu policy texts and %llu audit log pins and "
		    "attributions that ended before %s",
		    tn->cf->name, (unsigned long long)r->versions, (unsigned long long)r->intervals,
		    (unsigned long long)r->cover, (unsigned long long)r->events,
		    (unsigned long long)r->blobs, (unsigned long long)(r->pins + r->attribs), h);
	retain_run_free(r);
	tn->retain_active = 0;
}

/* After a poll recorded at T on a clock found sane: a retention pass, if one is due. The
 * horizon and the pace follow the recorded poll times, never a clock that jumped. */
static void
poller_retain_kick(struct poller_tailnet *tn, tstime_t t)
{
	int64_t every = tn->cf->retain / 4;
	struct timeval now = {0, 0};

	if (tn->cf->retain <= 0 || tn->retain_active)
		return;
	/* Made at the first pass: a reload may have set retain on a tailnet that kept running. */
	if (tn->retain_ev == NULL)
		tn->retain_ev = evtimer_new(tn->pl->base, poller_retain_cb, tn);
	if (every > POLLER_RETAIN_EVERY)
		every = POLLER_RETAIN_EVERY;
	if (tn->retain_began != 0 && t >= tn->retain_began && t - tn->retain_began < every)
		return;
	tn->retain_began = t;
	retain_run_init(&tn->retain, tn->cf->name, tn->cf->retain, t);
	tn->retain_active = 1;
	evtimer_add(tn->retain_ev, &now);
}

/* The tailnet's policy for recording a poll. */
static void
poller_policy(struct poller_tailnet *tn, struct hist_policy *pol)
{
	*pol = (struct hist_policy){.mass_delete_percent = tn->cf->mass_delete_percent,
	                            .max_gap = 3 * tn->cf->poll_interval};
	/* The tailnet's own thresholds (config defaults are 14d 7d 1d). */
	for (size_t w = 0; w < tn->cf->key_expiry_warn.n && w < HIST_MAX_WARN; w++)
		pol->expiry_warn[pol->nexpiry_warn++] = tn->cf->key_expiry_warn.v[w];
	pol->presence = tn->cf->presence_events;
	pol->attribution_events = tn->cf->attribution_events;
	pol->credential = tn->oauth != NULL ? "oauth" : "api_key";
	pol->own_tokens = tn->own_tokens;
	pol->oauth_token_events = tn->cf->oauth_token_events;
	pol->confirm_delay = tn->cf->confirm_delay;
	/* The compliance checks, evaluated in the poll's own transaction. */
	pol->after = checks_after_poll;
	pol->after_arg = (void *)tn->pl->cf;
}

/* A poll whose requests are all done, ERROR (taken) NULL when every one went well: its answers
 * recorded (at T, the wall clock read with MONO at the end of its last fetch) or its failure,
 * and the next one scheduled. */
static void
poller_complete(struct poller_endpoint *ep, char *error, int64_t retry_after, tstime_t t,
                int64_t mono)
{
	struct poller_tailnet *tn = ep->tn;
	struct hist_poll_result res = {0};
	struct hist_policy pol;
	char *cause = NULL, *msg;

	poller_policy(tn, &pol);
	poller_clock(ep, t, mono, &pol);
	if (error == NULL) {
		struct endpoint_answer ans;

		poller_answer(ep, &ans);
		if (ep->kind->apply(tn->pl->st, tn->cf->name, t, &ans, &pol, &res, &cause) == -1) {
			error = xasprintf("answer not recorded: %s", cause);
			free(cause);
		} else {
			if (ep->clk_why == NULL)
				poller_retain_kick(tn, res.time);
			free(ep->clk_why);
			ep->clk_why = NULL;
			if (res.events > 0 && tn->pl->committed != NULL)
				tn->pl->committed(tn->pl->committed_arg);
		}
	} else if (ep->path != NULL && (ep->kind != &endpoints[ENDPOINT_devices] ||
	                                ep->step >= poller_npaths(ep->kind))) {
		/* Which of an endpoint's requests failed. */
		msg = xasprintf("%.*s: %s", (int)strcspn(ep->path, "?"), ep->path, error);
		free(error);
		error = msg;
	}
	/* A large tailnet's answer is parsed into many small blocks that glibc would keep: free
	 * the answers and give the blocks back, so that the daemon's size between polls is its
	 * real working set. */
	poller_poll_reset(ep);
	malloc_trim(0);
	poller_finish(ep, error, retry_after, &res, t);
}

/* Retry-After in us; this libcurl can say a negative number for a date in the past. */
static int64_t
poller_retry_after(CURL *easy)
{
	curl_off_t retry = 0;

	curl_easy_getinfo(easy, CURLINFO_RETRY_AFTER, &retry);
	if (retry <= 0)
		return 0;
	return retry > POLLER_RETRY_AFTER_MAX / TSTIME_SEC ? POLLER_RETRY_AFTER_MAX
	                                                   : retry * TSTIME_SEC;
}

static void
poller_fetch_done(struct poller_endpoint *ep, CURLcode code)
{
	struct poller_tailnet *tn = ep->tn;
	tstime_t t = tstime_now();
	int64_t mono = poller_mono();
	long status = 0;
	int64_t retry_after;
	char *error = NULL, *msg;
	int more = 0;

	curl_easy_getinfo(ep->easy, CURLINFO_RESPONSE_CODE, &status);
	retry_after = poller_retry_after(ep->easy);
	curl_multi_remove_handle(tn->pl->multi, ep->easy);
	curl_easy_cleanup(ep->easy);
	ep->easy = NULL;
	/* An OAuth token can be revoked or cut short: renew it once, then report. */
	if (status == 401 && tn->oauth != NULL && !ep->auth_retried && code == CURLE_OK) {
		log_info("tailnet %s: %s: access token refused: renewing it", tn->cf->name,
		         ep->name);
		ep->auth_retried = 1;
		/* Several endpoints may be refused the same token: it is renewed once. */
		if (ep->token_gen == tn->oauth->gen)
			tn->oauth->renew_at = TSTIME_NONE;
		http_rx_free(&ep->rx);
		poller_request_start(ep);
		return;
	}
	/* No dns/configuration on this server: the older paths from now on. */
	if (status == 404 && code == CURLE_OK && ep->step == 0 && ep->kind->fallback != NULL) {
		log_notice("tailnet %s: %s: %s not found: reading %s instead", tn->cf->name,
		           ep->name, ep->kind->paths[0], ep->kind->fallback->what);
		ep->kind = ep->kind->fallback;
		http_rx_free(&ep->rx);
		poller_request_start(ep);
		return;
	}
	error = http_error(&tn->lim, code, &ep->rx);
	ep->err_class = error != NULL ? poller_transfer_class(code, &ep->rx) : POLLER_E_shape;
	if (error == NULL && status != 200 &&
	    !((status == 404 || status == 403) && ep->step >= poller_npaths(ep->kind))) {
		msg = poller_api_message(&ep->rx.body);
		ep->refused = status == 403;
		ep->err_class = poller_status_class(status);
		if (status == 403)
			error = xasprintf("HTTP 403 (the credential lacks the scope %s)%s%s",
			                  ep->kind->scope, *msg ? ": " : "", msg);
		else
			error = xasprintf("HTTP %ld (%s)%s%s", status, poller_status_hint(status),
			                  *msg ? ": " : "", msg);
		free(msg);
	} else if (error == NULL)
		more = poller_take(ep, status, &error);
	http_rx_free(&ep->rx);
	ep->auth_retried = 0;
	if (more == 1) {
		poller_request_start(ep);
		return;
	}
	poller_complete(ep, error, retry_after, t, mono);
}

/* ---- a concurrent row's extra requests (posture: one per device) ---- */

/* One extra request done: its answer kept (200, or the id under gone or denied for a 404 or a
 * 403), or the first failure noted; then the next one starts, or the poll completes. */
static void
poller_sub_done(struct poller_sub *s, CURLcode code)
{
	struct poller_endpoint *ep = s->ep;
	struct poller_tailnet *tn = ep->tn;
	json_t *id = json_array_get(ep->extra, s->idx), *body;
	json_error_t jerr;
	long status = 0;
	int64_t retry_after;
	char *error, *msg;

	curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
	retry_after = poller_retry_after(s->easy);
	curl_multi_remove_handle(tn->pl->multi, s->easy);
	curl_easy_cleanup(s->easy);
	s->easy = NULL;
	ep->nbusy--;
	if ((error = http_error(&tn->lim, code, &s->rx)) != NULL) {
		ep->err_class = poller_transfer_class(code, &s->rx);
	} else if (status == 200) {
		body = json_loadb(s->rx.body.p ? s->rx.body.p : "", s->rx.body.len,
		                  JSON_REJECT_DUPLICATES, &jerr);
		if (body == NULL) {
			ep->err_class = POLLER_E_shape;
			error = xasprintf("the answer is not valid JSON (line %d, column %d: %s)",
			                  jerr.line, jerr.column, jerr.text);
		} else {
			json_array_append_new(ep->fetched, body);
			json_array_append(ep->fetched_ids, id);
		}
	} else if (status == 404) {
		/* The device left since the history last listed it: nothing to ask it. */
		json_array_append(ep->gone, id);
	} else if (status == 403) {
		json_array_append(ep->denied, id);
	} else {
		/* A revoked or cut-short OAuth token: the next poll starts with a new one. */
		if (status == 401 && tn->oauth != NULL)
			tn->oauth->renew_at = TSTIME_NONE;
		msg = poller_api_message(&s->rx.body);
		ep->err_class = poller_status_class(status);
		error = xasprintf("HTTP %ld (%s)%s%s", status, poller_status_hint(status),
		                  *msg ? ": " : "", msg);
		free(msg);
	}
	http_rx_free(&s->rx);
	if (error != NULL && ep->sub_error == NULL) {
		/* The first failure is the poll's; the requests in flight end, no more start. */
		ep->sub_error = xasprintf("%s: %s", s->path, error);
		ep->sub_retry = retry_after;
	}
	free(error);
	free(s->path);
	s->path = NULL;
	poller_subs_fill(ep);
}

/* Starts extra requests until posture_concurrency are in flight; with none left to start and
 * none in flight, the poll completes (on a later loop turn). */
static void
poller_subs_fill(struct poller_endpoint *ep)
{
	struct poller_tailnet *tn = ep->tn;
	size_t cap = (size_t)tn->cf->posture_concurrency, i;

	if (cap < 1)
		cap = 1;
	if (cap > POLLER_SUBS_MAX)
		cap = POLLER_SUBS_MAX;
	if (ep->subs == NULL)
		ep->subs = xcalloc(POLLER_SUBS_MAX, sizeof(*ep->subs));
	while (ep->sub_error == NULL && ep->extra_i < json_array_size(ep->extra) &&
	       ep->nbusy < cap) {
		struct poller_sub *s = NULL;
		char *url;

		for (i = 0; i < POLLER_SUBS_MAX && s == NULL; i++)
			if (ep->subs[i].easy == NULL)
				s = &ep->subs[i];
		*s = (struct poller_sub){.xfer = POLLER_XFER_SUB, .ep = ep, .idx = ep->extra_i++};
		url = poller_extra_url(ep, s->idx, &s->path);
		s->easy = http_easy(&tn->lim, url, s, &s->rx);
		free(url);
		if (s->easy != NULL) {
			curl_easy_setopt(s->easy, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
			curl_easy_setopt(s->easy, CURLOPT_XOAUTH2_BEARER, tn->bearer);
			curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, tn->headers);
			curl_easy_setopt(s->easy, CURLOPT_HEADERFUNCTION, poller_header_cb);
			curl_easy_setopt(s->easy, CURLOPT_HEADERDATA, ep);
			if (curl_multi_add_handle(tn->pl->multi, s->easy) == CURLM_OK) {
				ep->nbusy++;
				continue;
			}
			curl_easy_cleanup(s->easy);
			s->easy = NULL;
		}
		http_rx_free(&s->rx);
		ep->sub_error = xasprintf("%s: cannot start a transfer", s->path);
		free(s->path);
		s->path = NULL;
	}
	if (ep->nbusy == 0)
		event_active(ep->apply_ev, EV_TIMEOUT, 0);
}

static void
poller_apply_cb(evutil_socket_t fd, short what, void *arg)
{
	struct poller_endpoint *ep = arg;
	char *error = ep->sub_error;

	ep->sub_error = NULL;
	poller_complete(ep, error, ep->sub_retry, tstime_now(), poller_mono());
}

/* Cancels the extra requests in flight. */
static void
poller_subs_cancel(struct poller *pl, struct poller_endpoint *ep)
{
	for (size_t i = 0; ep->subs != NULL && i < POLLER_SUBS_MAX; i++) {
		struct poller_sub *s = &ep->subs[i];

		if (s->easy == NULL)
			continue;
		curl_multi_remove_handle(pl->multi, s->easy);
		curl_easy_cleanup(s->easy);
		s->easy = NULL;
		http_rx_free(&s->rx);
		free(s->path);
		s->path = NULL;
	}
	ep->nbusy = 0;
}

static void poller_oauth_done(struct poller_oauth *o, CURLcode code);

/* A finished transfer: an endpoint's fetch or a tailnet's token request. */
static void
poller_xfer_done_cb(CURL *easy, CURLcode result, void *arg)
{
	enum poller_xfer *x;

	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
	if (*x == POLLER_XFER_TOKEN)
		poller_oauth_done((struct poller_oauth *)x, result);
	else if (*x == POLLER_XFER_SUB)
		poller_sub_done((struct poller_sub *)x, result);
	else
		poller_fetch_done((struct poller_endpoint *)x, result);
}

static void
poller_finish_cb(evutil_socket_t fd, short what, void *arg)
{
	struct poller_endpoint *ep = arg;
	char *error = ep->start_error;

	ep->start_error = NULL;
	ep->err_class = POLLER_E_transport;
	poller_finish(ep, error, 0, NULL, tstime_now());
}

/* Keeps the policy file's ETag (the API's revision id, stored with the text) and every answer's
 * Date: (the API's clock, to check ours by). */
static size_t
poller_header_cb(char *data, size_t size, size_t n, void *arg)
{
	struct poller_endpoint *ep = arg;
	size_t len = n, skip;

	if (len > 5 && strncasecmp(data, "Date:", 5) == 0 && len < 128) {
		char buf[128];
		time_t d;

		memcpy(buf, data + 5, len - 5);
		buf[len - 5] = '\0';
		if ((d = curl_getdate(buf, NULL)) > 0) {
			ep->date = (tstime_t)d * TSTIME_SEC;
			ep->date_seen = tstime_now();
		}
	}
	if (len > 5 && strncasecmp(data, "ETag:", 5) == 0 && ep->kind->text &&
	    ep->step < poller_npaths(ep->kind)) {
		data += 5;
		len -= 5;
		skip = strspn(data, " \t");
		data += skip;
		len -= skip < len ? skip : len;
		while (len > 0 && (data[len - 1] == '\r' || data[len - 1] == '\n' ||
		                   data[len - 1] == ' ' || data[len - 1] == '\t'))
			len--;
		free(ep->etag);
		ep->etag = NULL;
		/* Printable and short, or not kept: it is shown to users and stored. */
		if (len > 0 && len <= 256) {
			ep->etag = xasprintf("%.*s", (int)len, data);
			for (char *p = ep->etag; *p; p++)
				if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e) {
					free(ep->etag);
					ep->etag = NULL;
					break;
				}
		}
	}
	return n;
}

/* Starts the request of the current step of a poll. */
static void
poller_request_start(struct poller_endpoint *ep)
{
	struct poller_tailnet *tn = ep->tn;
	char *url, *path;
	CURL *e;

	if (tn->oauth != NULL &&
	    (tn->oauth->renew_at == TSTIME_NONE || tstime_now() >= tn->oauth->renew_at)) {
		ep->awaiting_token = 1;
		poller_oauth_start(tn->oauth);
		return;
	}
	if (ep->kind->concurrent && ep->step >= poller_npaths(ep->kind)) {
		poller_subs_fill(ep);
		return;
	}
	url = poller_step_url(ep, &path);
	free(ep->path);
	ep->path = path;
	e = http_easy(&tn->lim, url, ep, &ep->rx);
	free(url);
	if (e == NULL) {
		ep->start_error = xstrdup("cannot start a transfer");
		event_active(ep->finish, EV_TIMEOUT, 0);
		return;
	}
	if (tn->oauth != NULL)
		ep->token_gen = tn->oauth->gen;
	curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
	curl_easy_setopt(e, CURLOPT_XOAUTH2_BEARER, tn->bearer);
	if (ep->kind->text && ep->step < poller_npaths(ep->kind))
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, tn->headers_text);
	else
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, tn->headers);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, poller_header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, ep);
	ep->easy = e;
	if (curl_multi_add_handle(tn->pl->multi, e) != CURLM_OK) {
		curl_easy_cleanup(e);
		ep->easy = NULL;
		ep->start_error = xstrdup("cannot start a transfer");
		event_active(ep->finish, EV_TIMEOUT, 0);
	}
}

/* Starts a poll: its first request. */
static void
poller_fetch_start(struct poller_endpoint *ep)
{
	evtimer_del(ep->timer);
	ep->next = TSTIME_NONE;
	ep->started = tstime_now();
	ep->refused = 0;
	ep->date = 0;
	poller_poll_reset(ep);
	ep->answers = json_array();
	ep->fetched = json_array();
	ep->gone = json_array();
	ep->denied = json_array();
	ep->fetched_ids = json_array();
	/* A row without paths of its own (posture) starts with its plan. */
	if (poller_npaths(ep->kind) == 0 && ep->kind->plan != NULL) {
		struct endpoint_answer ans;
		char *cause = NULL;

		poller_answer(ep, &ans);
		if (ep->kind->plan(ep->tn->pl->st, ep->tn->cf->name, &ans, &ep->extra, &cause) ==
		    -1) {
			ep->start_error = xasprintf("answer not recorded: %s", cause);
			free(cause);
			event_active(ep->finish, EV_TIMEOUT, 0);
			return;
		}
	}
	if (ep->kind->window) {
		const struct config_tailnet *cf = ep->tn->cf;
		char *cause = NULL;

		if (audit_window(ep->tn->pl->st, cf->name, tstime_now(), cf->audit_overlap,
		                 cf->audit_backfill, &ep->win_start, &ep->win_end, &cause) == -1) {
			ep->start_error = xasprintf("cannot read the last window: %s", cause);
			free(cause);
			event_active(ep->finish, EV_TIMEOUT, 0);
			return;
		}
	}
	poller_request_start(ep);
}

/* ---- OAuth client credentials ---- */

static void
poller_set_bearer(struct poller_tailnet *tn, const char *token)
{
	if (tn->bearer != NULL) {
		explicit_bzero(tn->bearer, strlen(tn->bearer));
		free(tn->bearer);
	}
	tn->bearer = xstrdup(token);
}

/* A token answer is a few hundred bytes: anything near this is not one. */
#define POLLER_OAUTH_MAX (64 * 1024)

static void
poller_oauth_start(struct poller_oauth *o)
{
	CURL *e;

	if (o->easy != NULL)
		return;
	if ((e = http_easy(&o->tn->lim, o->url, o, &o->rx)) == NULL) {
		poller_oauth_done(o, CURLE_OUT_OF_MEMORY);
		return;
	}
	if (o->rx.max > POLLER_OAUTH_MAX)
		o->rx.max = POLLER_OAUTH_MAX;
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, o->form);
	o->easy = e;
	if (curl_multi_add_handle(o->tn->pl->multi, e) != CURLM_OK) {
		curl_easy_cleanup(e);
		o->easy = NULL;
		o->rx.errbuf[0] = '\0';
		poller_oauth_done(o, CURLE_FAILED_INIT);
	}
}

/* Notes the key id of an access token we were given (tskey-api-{id}-{secret}): the keys list
 * may show it, and it is ours, not a key someone made. The last few are enough: a token lives
 * an hour and is fetched by id once after it leaves the list. */
static void
poller_own_token(struct poller_tailnet *tn, const char *token)
{
	static const char prefix[] = "tskey-api-";
	size_t n;

	if (strncmp(token, prefix, sizeof(prefix) - 1) != 0)
		return;
	token += sizeof(prefix) - 1;
	if ((n = strcspn(token, "-")) == 0 || token[n] != '-')
		return;
	if (tn->own_tokens == NULL)
		tn->own_tokens = json_array();
	json_array_append_new(tn->own_tokens, json_stringn(token, n));
	while (json_array_size(tn->own_tokens) > 16)
		json_array_remove(tn->own_tokens, 0);
}

static void
poller_oauth_done(struct poller_oauth *o, CURLcode code)
{
	struct poller_tailnet *tn = o->tn;
	long status = 0;
	json_t *j = NULL;
	const char *token;
	json_int_t life;
	char *error = NULL, *msg;
	enum poller_error_class class = POLLER_E_shape;

	if (o->easy != NULL) {
		curl_easy_getinfo(o->easy, CURLINFO_RESPONSE_CODE, &status);
		curl_multi_remove_handle(tn->pl->multi, o->easy);
		curl_easy_cleanup(o->easy);
		o->easy = NULL;
	}
	if ((msg = http_error(&tn->lim, code, &o->rx)) != NULL) {
		class = poller_transfer_class(code, &o->rx);
		error = xasprintf("OAuth token request failed: %s", msg);
		free(msg);
	} else if (status != 200) {
		class = poller_status_class(status);
		msg = poller_api_message(&o->rx.body);
		error = xasprintf("OAuth token request: HTTP %ld (%s)%s%s", status,
		                  status == 401 || status == 400 ? "client id or secret refused"
		                                                 : poller_status_hint(status),
		                  *msg ? ": " : "", msg);
		free(msg);
	} else {
		j = json_loadb(o->rx.body.p ? o->rx.body.p : "", o->rx.body.len, 0, NULL);
		token = json_string_value(json_object_get(j, "access_token"));
		life = json_integer_value(json_object_get(j, "expires_in"));
		if (token == NULL || *token == '\0' || strpbrk(token, "\r\n") != NULL || life <= 0)
			error =
			    xstrdup("OAuth token request: the answer has no usable access_token "
			            "and expires_in");
		else {
			/* Tokens live an hour; a broken answer must not overflow or defer renewal.
			 */
			int64_t lifetime = (int64_t)(life > 86400 ? 86400 : life) * TSTIME_SEC;
			int64_t margin =
			    lifetime / 4 < 300 * TSTIME_SEC ? lifetime / 4 : 300 * TSTIME_SEC;

			/* Renewed ahead of its end, so that no poll runs on a dying token. */
			o->renew_at = tstime_now() + lifetime - margin;
			o->gen++;
			poller_set_bearer(tn, token);
			poller_own_token(tn, token);
			log_info("tailnet %s: new OAuth access token, valid %llds", tn->cf->name,
			         (long long)life);
		}
	}
	if (j != NULL) {
		/* The token was copied into the header; wipe the answer that carried it. */
		if (o->rx.body.p != NULL)
			explicit_bzero(o->rx.body.p, o->rx.body.len);
		json_decref(j);
	}
	http_rx_free(&o->rx);
	/* Every endpoint of the tailnet that waited for it goes on, or fails with it. */
	for (size_t i = 0; i < tn->neps; i++) {
		struct poller_endpoint *ep = &tn->eps[i];

		if (!ep->awaiting_token)
			continue;
		ep->awaiting_token = 0;
		ep->err_class = class;
		if (error != NULL)
			poller_finish(ep, xstrdup(error), 0, NULL, tstime_now());
		else
			poller_request_start(ep);
	}
	free(error);
}

static void
poller_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	poller_fetch_start(arg);
}

/* ---- life cycle ---- */

/* The tailnet's part of every URL: .../api/v2/tailnet/{t}/ */
static char *
poller_base(const struct config_tailnet *cf)
{
	char *seg = curl_easy_escape(NULL, cf->tailnet, 0), *url;

	url = xasprintf("%s/api/v2/tailnet/%s/", cf->api_url, seg ? seg : "-");
	curl_free(seg);
	return url;
}

/* The tailnet's token (wiped) and header lists. */
static void
poller_tailnet_free_auth(struct poller_tailnet *tn)
{
	if (tn->bearer != NULL) {
		explicit_bzero(tn->bearer, strlen(tn->bearer));
		free(tn->bearer);
		tn->bearer = NULL;
	}
	curl_slist_free_all(tn->headers);
	curl_slist_free_all(tn->headers_text);
	tn->headers = tn->headers_text = NULL;
}

static int
poller_oauth_new(struct poller_tailnet *tn, char **cause)
{
	struct poller_oauth *o = xcalloc(1, sizeof(*o));
	char *secret = NULL, *id_esc, *secret_esc;
	CURL *e;

	o->xfer = POLLER_XFER_TOKEN;
	o->tn = tn;
	o->renew_at = TSTIME_NONE;
	tn->oauth = o;
	if (config_read_secret(tn->cf->oauth_client_secret_file, &secret, cause) == -1)
		return -1;
	e = curl_easy_init();
	id_esc = curl_easy_escape(e, tn->cf->oauth_client_id, 0);
	secret_esc = curl_easy_escape(e, secret, 0);
	o->form = xasprintf("client_id=%s&client_secret=%s&grant_type=client_credentials", id_esc,
	                    secret_esc);
	o->url = xasprintf("%s/api/v2/oauth/token", tn->cf->api_url);
	explicit_bzero(secret, strlen(secret));
	explicit_bzero(secret_esc, strlen(secret_esc));
	free(secret);
	curl_free(id_esc);
	curl_free(secret_esc);
	curl_easy_cleanup(e);
	return 0;
}

static void
poller_oauth_free(struct poller *pl, struct poller_oauth *o)
{
	if (o == NULL)
		return;
	if (o->easy != NULL) {
		curl_multi_remove_handle(pl->multi, o->easy);
		curl_easy_cleanup(o->easy);
		http_rx_free(&o->rx);
	}
	if (o->form != NULL) {
		explicit_bzero(o->form, strlen(o->form));
		free(o->form);
	}
	free(o->url);
	free(o);
}

/* The tailnet's limits, headers and credential (the API key, or the OAuth client's form): what
 * can fail, before any timer. 0, or -1 and *cause; TN is then freed by poller_tailnet_free. */
static int
poller_tailnet_init(struct poller *pl, struct poller_tailnet *tn, const struct config_tailnet *cf,
                    char **cause)
{
	char *key = NULL;

	tn->pl = pl;
	tn->cf = cf;
	tn->lim = (struct http_limits){.url = cf->api_url,
	                               .connect_timeout = cf->connect_timeout,
	                               .request_timeout = cf->request_timeout,
	                               .max_response = cf->max_response};
	tn->headers = curl_slist_append(NULL, "Accept: application/json");
	/* The policy file as written, comments and all: not the API's JSON rendering. */
	tn->headers_text = curl_slist_append(NULL, "Accept: application/hujson");
	if (cf->api_key_file == NULL)
		return poller_oauth_new(tn, cause);
	if (config_read_secret(cf->api_key_file, &key, cause) == -1)
		return -1;
	poller_set_bearer(tn, key);
	explicit_bzero(key, strlen(key));
	free(key);
	return 0;
}

/* Arms a timer per endpoint the tailnet polls: the first poll runs at once. */
static void
poller_tailnet_start(struct poller_tailnet *tn)
{
	struct event_base *base = tn->pl->base;

	tn->eps = xcalloc(ENDPOINT__COUNT, sizeof(*tn->eps));
	for (size_t k = 0; k < ENDPOINT__COUNT; k++) {
		struct poller_endpoint *ep = &tn->eps[tn->neps];

		if (!(tn->cf->endpoints & 1u << k))
			continue;
		tn->neps++;
		ep->xfer = POLLER_XFER_ENDPOINT;
		ep->tn = tn;
		ep->kind = &endpoints[k];
		ep->name = endpoints[k].name;
		ep->err_class = POLLER_E_transport;
		ep->stats.last_duration = -1;
		ep->base = poller_base(tn->cf);
		ep->timer = evtimer_new(base, poller_timer_cb, ep);
		ep->finish = evtimer_new(base, poller_finish_cb, ep);
		ep->apply_ev = evtimer_new(base, poller_apply_cb, ep);
		poller_schedule(ep, 0);
	}
}

/* Cancels the tailnet's transfers and frees what it holds, the struct itself excepted. Pending
 * "poll" requests are dropped: the socket server's shutdown answers them. */
static void
poller_tailnet_free(struct poller *pl, struct poller_tailnet *tn)
{
	for (size_t j = 0; j < tn->neps; j++) {
		struct poller_endpoint *ep = &tn->eps[j];

		if (ep->easy != NULL) {
			curl_multi_remove_handle(pl->multi, ep->easy);
			curl_easy_cleanup(ep->easy);
			http_rx_free(&ep->rx);
		}
		poller_subs_cancel(pl, ep);
		free(ep->subs);
		if (ep->apply_ev)
			event_free(ep->apply_ev);
		poller_waiters_drop(&ep->cur);
		poller_waiters_drop(&ep->next_waiters);
		poller_poll_reset(ep);
		free(ep->start_error);
		free(ep->clk_why);
		free(ep->base);
		if (ep->timer)
			event_free(ep->timer);
		if (ep->finish)
			event_free(ep->finish);
	}
	free(tn->eps);
	if (tn->retain_ev != NULL)
		event_free(tn->retain_ev);
	if (tn->retain_active)
		retain_run_free(&tn->retain);
	json_decref(tn->own_tokens);
	poller_tailnet_free_auth(tn);
	poller_oauth_free(pl, tn->oauth);
	*tn = (struct poller_tailnet){0};
}

struct poller *
poller_new(struct event_base *base, const struct config *cf, struct store *st,
           poller_commit_fn committed, void *arg, char **cause)
{
	struct poller *pl = xcalloc(1, sizeof(*pl));

	pl->committed = committed;
	pl->committed_arg = arg;

	pl->base = base;
	pl->cf = cf;
	pl->st = st;
	pl->cv = curlev_new(base, poller_xfer_done_cb, pl);
	pl->multi = curlev_multi(pl->cv);
	pl->tn = xcalloc(cf->ntailnets, sizeof(*pl->tn));
	for (size_t i = 0; i < cf->ntailnets; i++) {
		if (poller_tailnet_init(pl, &pl->tn[i], &cf->tailnets[i], cause) == -1) {
			/* The tailnet whose set-up failed half-way. */
			poller_tailnet_free(pl, &pl->tn[i]);
			poller_free(pl);
			return NULL;
		}
		pl->ntn++;
		poller_tailnet_start(&pl->tn[i]);
	}
	return pl;
}

void
poller_free(struct poller *pl)
{
	if (pl == NULL)
		return;
	for (size_t i = 0; i < pl->ntn; i++)
		poller_tailnet_free(pl, &pl->tn[i]);
	free(pl->tn);
	curlev_free(pl->cv);
	free(pl);
}

/* ---- reload ---- */

/* Answers the "poll" requests waiting on EP with ERROR (they ask for a tailnet or an endpoint
 * a reload took away), or hands them to HEIR, the endpoint that polls in its place. */
static void
poller_waiters_move(struct poller_endpoint *ep, struct poller_endpoint *heir, const char *error)
{
	char tbuf[TSTIME_STRLEN];
	json_t *result;

	for (size_t i = 0; i < ep->next_waiters.n; i++)
		poller_waiters_add(&ep->cur, ep->next_waiters.g[i]);
	free(ep->next_waiters.g);
	ep->next_waiters = (struct poller_waiters){0};
	if (heir != NULL) {
		for (size_t i = 0; i < ep->cur.n; i++)
			poller_waiters_add(&heir->cur, ep->cur.g[i]);
		free(ep->cur.g);
		ep->cur = (struct poller_waiters){0};
		return;
	}
	tstime_format(tstime_now(), tbuf, sizeof(tbuf));
	result =
	    json_pack("{s:s, s:s, s:s, s:i, s:s, s:s}", "tailnet", ep->tn->cf->name, "endpoint",
	              ep->name, "result", "error", "changes", 0, "error", error, "time", tbuf);
	poller_deliver(ep, result);
	json_decref(result);
}

static struct poller_endpoint *
poller_endpoint_find(struct poller_tailnet *tn, const char *name)
{
	for (size_t k = 0; tn != NULL && k < tn->neps; k++)
		if (strcmp(tn->eps[k].name, name) == 0)
			return &tn->eps[k];
	return NULL;
}

/* Stops a tailnet a reload removed or set up afresh (as HEIR): its transfers are cancelled, its
 * waiters answered or handed over, and it is freed. Its history stays in the store. */
static void
poller_tailnet_stop(struct poller *pl, struct poller_tailnet *tn, struct poller_tailnet *heir)
{
	for (size_t k = 0; k < tn->neps; k++) {
		struct poller_endpoint *ep = &tn->eps[k];

		if (poller_busy(ep))
			log_info("tailnet %s: %s: poll in flight cancelled by the reload",
			         tn->cf->name, ep->name);
		poller_waiters_move(ep, poller_endpoint_find(heir, ep->name),
		                    heir != NULL ? "the reload stopped polling this endpoint"
		                                 : "the reload removed this tailnet");
	}
	poller_tailnet_free(pl, tn);
}

/* A kept tailnet takes its new settings (CF, whose OAuth secret is in FRESH, NULL with an API
 * key, and whose API key is in KEY): the next transfers use them, the ones in flight finish. */
static void
poller_tailnet_retune(struct poller *pl, struct poller_tailnet *tn, const struct config_tailnet *cf,
                      const char *key, struct poller_oauth *fresh)
{
	int64_t old_interval = tn->cf->poll_interval;
	tstime_t now = tstime_now();

	tn->cf = cf;
	tn->lim = (struct http_limits){.url = cf->api_url,
	                               .connect_timeout = cf->connect_timeout,
	                               .request_timeout = cf->request_timeout,
	                               .max_response = cf->max_response};
	if (key != NULL)
		poller_set_bearer(tn, key);
	/* The same client and secret keep their token; another asks for a new one, and a
	 * request in flight for the old one (whose form it reads) is cancelled. */
	if (fresh != NULL && strcmp(fresh->form, tn->oauth->form) == 0 &&
	    strcmp(fresh->url, tn->oauth->url) == 0) {
		poller_oauth_free(pl, fresh);
	} else if (fresh != NULL) {
		int waiting = tn->oauth->easy != NULL;

		fresh->tn = tn;
		poller_oauth_free(pl, tn->oauth);
		tn->oauth = fresh;
		if (waiting)
			poller_oauth_start(fresh);
	}
	if (cf->poll_interval >= old_interval)
		return;
	/* A shorter interval applies now, not after the longer wait already armed. */
	for (size_t k = 0; k < tn->neps; k++) {
		struct poller_endpoint *ep = &tn->eps[k];

		if (ep->next != TSTIME_NONE && ep->failures == 0 &&
		    ep->next - now > cf->poll_interval)
			poller_schedule(ep, poller_jitter(cf->poll_interval));
	}
}

int
poller_reconfigure(struct poller *pl, const struct config *cf, char **cause)
{
	size_t n = cf->ntailnets, i, j;
	struct poller_tailnet *tn = xcalloc(n ? n : 1, sizeof(*tn));
	/* For each new tailnet: the old one it keeps (SIZE_MAX: none), its secrets. */
	size_t *from = xcalloc(n ? n : 1, sizeof(*from));
	char **keys = xcalloc(n ? n : 1, sizeof(*keys));
	struct poller_oauth **fresh = xcalloc(n ? n : 1, sizeof(*fresh));
	int *kept = xcalloc(pl->ntn ? pl->ntn : 1, sizeof(*kept));
	int rc = -1;

	/* First everything that can fail, the secrets: until it all went well nothing changes. */
	for (i = 0; i < n; i++) {
		const struct config_tailnet *c = &cf->tailnets[i];

		from[i] = SIZE_MAX;
		for (j = 0; j < pl->ntn; j++)
			if (strcmp(pl->tn[j].cf->name, c->name) == 0 &&
			    !config_tailnet_rebuild(pl->tn[j].cf, c))
				from[i] = j;
		if (from[i] == SIZE_MAX) {
			if (poller_tailnet_init(pl, &tn[i], c, cause) == -1)
				goto out;
		} else if (c->api_key_file != NULL) {
			if (config_read_secret(c->api_key_file, &keys[i], cause) == -1)
				goto out;
		} else {
			struct poller_tailnet tmp = {.pl = pl, .cf = c};

			if (poller_oauth_new(&tmp, cause) == -1) {
				poller_oauth_free(pl, tmp.oauth);
				goto out;
			}
			fresh[i] = tmp.oauth;
		}
	}
	for (i = 0; i < n; i++)
		if (from[i] != SIZE_MAX)
			kept[from[i]] = 1;
	/* Those that go: a tailnet set up afresh hands its waiters to its new self. */
	for (j = 0; j < pl->ntn; j++) {
		struct poller_tailnet *heir = NULL;

		if (kept[j])
			continue;
		for (i = 0; i < n; i++)
			if (strcmp(cf->tailnets[i].name, pl->tn[j].cf->name) == 0)
				heir = &tn[i];
		if (heir != NULL)
			poller_tailnet_start(heir);
		poller_tailnet_stop(pl, &pl->tn[j], heir);
	}
	/* Those that stay move into the new array: only their endpoints and OAuth state point
	 * back at them. */
	for (i = 0; i < n; i++) {
		if (from[i] == SIZE_MAX)
			continue;
		tn[i] = pl->tn[from[i]];
		for (size_t k = 0; k < tn[i].neps; k++)
			tn[i].eps[k].tn = &tn[i];
		if (tn[i].oauth != NULL)
			tn[i].oauth->tn = &tn[i];
		poller_tailnet_retune(pl, &tn[i], &cf->tailnets[i], keys[i], fresh[i]);
		fresh[i] = NULL;
	}
	free(pl->tn);
	pl->tn = tn;
	pl->ntn = n;
	pl->cf = cf;
	tn = NULL;
	/* The new ones poll at once. */
	for (i = 0; i < n; i++)
		if (from[i] == SIZE_MAX && pl->tn[i].eps == NULL)
			poller_tailnet_start(&pl->tn[i]);
	rc = 0;
out:
	for (i = 0; tn != NULL && i < n; i++)
		if (from[i] == SIZE_MAX)
			poller_tailnet_free(pl, &tn[i]);
	for (i = 0; i < n; i++) {
		if (keys[i] != NULL)
			explicit_bzero(keys[i], strlen(keys[i]));
		free(keys[i]);
		poller_oauth_free(pl, fresh[i]);
	}
	free(tn);
	free(from);
	free(keys);
	free(fresh);
	free(kept);
	return rc;
}

void
poller_poll_now(struct poller *pl, const char *tailnet, poller_done_fn done, void *arg)
{
	poller_poll_each(pl, tailnet, NULL, done, arg);
}

void
poller_poll_each(struct poller *pl, const char *tailnet, poller_each_fn each, poller_done_fn done,
                 void *arg)
{
	struct poller_group *g = xcalloc(1, sizeof(*g));

	g->results = json_array();
	g->done = done;
	g->each = each;
	g->arg = arg;
	/* Counted first: a poll may end within the loop below (a token request that cannot start).
	 */
	for (size_t i = 0; i < pl->ntn; i++)
		if (tailnet == NULL || strcmp(tailnet, pl->tn[i].cf->name) == 0)
			g->total += pl->tn[i].neps;
	/* This loop holds a reference: a fetch that ends at once must not free g under it. */
	g->pending = 1;
	for (size_t i = 0; i < pl->ntn; i++) {
		if (tailnet != NULL && strcmp(tailnet, pl->tn[i].cf->name) != 0)
			continue;
		for (size_t j = 0; j < pl->tn[i].neps; j++) {
			struct poller_endpoint *ep = &pl->tn[i].eps[j];

			g->pending++;
			if (poller_busy(ep) || ep->start_error != NULL || ep->awaiting_token) {
				poller_waiters_add(&ep->next_waiters, g);
			} else {
				poller_waiters_add(&ep->cur, g);
				poller_fetch_start(ep);
			}
		}
	}
	if (--g->pending == 0) {
		done(g->results, arg);
		json_decref(g->results);
		free(g);
	}
}

tstime_t
poller_next(struct poller *pl, const char *tailnet, const char *endpoint)
{
	for (size_t i = 0; i < pl->ntn; i++)
		for (size_t j = 0; j < pl->tn[i].neps; j++)
			if (strcmp(pl->tn[i].cf->name, tailnet) == 0 &&
			    strcmp(pl->tn[i].eps[j].name, endpoint) == 0)
				return pl->tn[i].eps[j].next;
	return TSTIME_NONE;
}

json_t *
poller_access(struct poller *pl, const char *tailnet, const char *endpoint)
{
	for (size_t i = 0; pl != NULL && i < pl->ntn; i++)
		for (size_t j = 0; j < pl->tn[i].neps; j++) {
			struct poller_endpoint *ep = &pl->tn[i].eps[j];

			if (strcmp(pl->tn[i].cf->name, tailnet) != 0 ||
			    strcmp(ep->name, endpoint) != 0)
				continue;
			return json_pack("{s:s, s:b, s:s}", "credential",
			                 pl->tn[i].oauth != NULL ? "oauth" : "api_key", "refused",
			                 ep->refused != 0, "scope", ep->kind->scope);
		}
	return NULL;
}

/* ---- tsinvd -n --check-api: one blocking request per endpoint, outside any loop ---- */

/* One GET or (with FORM) POST; the status, the body in RX. -1 with *error if no answer. */
static long
poller_check_get(const struct config_tailnet *cf, const char *url, const char *bearer,
                 const char *form, struct http_rx *rx, char **error)
{
	struct http_limits lim = {.url = cf->api_url,
	                          .connect_timeout = cf->connect_timeout,
	                          .request_timeout = cf->request_timeout,
	                          .max_response = cf->max_response};
	struct curl_slist *h = curl_slist_append(NULL, "Accept: application/json");
	CURL *e = http_easy(&lim, url, NULL, rx);
	CURLcode code;
	long status = -1;

	if (e == NULL) {
		*error = xstrdup("cannot start a transfer");
		curl_slist_free_all(h);
		return -1;
	}
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	if (form != NULL)
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, form);
	else {
		curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
		curl_easy_setopt(e, CURLOPT_XOAUTH2_BEARER, bearer);
	}
	code = curl_easy_perform(e);
	if ((*error = http_error(&lim, code, rx)) == NULL)
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(e);
	curl_slist_free_all(h);
	return status;
}

/* For a row without paths of its own (posture, asked per device): the URL of its request for the
 * first device the devices list names (malloc'd), or NULL with *why (malloc'd) when there is no
 * device to ask. */
static char *
poller_check_item_url(const struct config_tailnet *cf, const struct endpoint *e, const char *base,
                      const char *bearer, char **why)
{
	struct http_rx rx = {0};
	struct jscan js;
	const char *el, *s;
	size_t elen, n;
	char *url = xasprintf("%s%s", base, endpoints[ENDPOINT_devices].paths[0]), *error = NULL;
	char *cause = NULL, *id, *esc;
	long status = poller_check_get(cf, url, bearer, NULL, &rx, &error);

	free(url);
	url = NULL;
	if (status != 200)
		*why = error != NULL
		           ? xasprintf("not checked: the devices list failed: %s", error)
		           : xasprintf("not checked: the devices list answered HTTP %ld", status);
	else if (jscan_member(rx.body.p ? rx.body.p : "", rx.body.len, "devices", &js, &cause) !=
	             JSCAN_ARRAY ||
	         jscan_next(&js, &el, &elen) != 1 ||
	         jscan_string_member(el, elen, "nodeId", &s, &n) != 1 || n == 0)
		*why = xstrdup("not checked: no device to ask");
	else {
		id = xasprintf("%.*s", (int)n, s);
		esc = curl_easy_escape(NULL, id, 0);
		url = xasprintf("%s/api/v2%s/%s%s", cf->api_url, e->plan_path, esc ? esc : "",
		                e->plan_suffix ?: "");
		curl_free(esc);
		free(id);
	}
	free(cause);
	free(error);
	http_rx_free(&rx);
	return url;
}

/* The tailnet's bearer token (malloc'd), fetching an OAuth access token if need be. */
static char *
poller_check_bearer(const struct config_tailnet *cf, FILE *out)
{
	struct poller_tailnet tn = {.cf = cf};
	struct http_rx rx = {0};
	char *key = NULL, *cause = NULL, *error = NULL, *token = NULL, *msg;
	json_t *j;
	long status;

	if (cf->api_key_file != NULL) {
		if (config_read_secret(cf->api_key_file, &key, &cause) == -1) {
			fprintf(out, "tailnet %s: %s\n", cf->name, cause);
			free(cause);
		}
		return key;
	}
	if (poller_oauth_new(&tn, &cause) == -1) {
		fprintf(out, "tailnet %s: %s\n", cf->name, cause);
		free(cause);
		poller_oauth_free(NULL, tn.oauth);
		return NULL;
	}
	status = poller_check_get(cf, tn.oauth->url, NULL, tn.oauth->form, &rx, &error);
	poller_oauth_free(NULL, tn.oauth);
	j = status == 200 ? json_loadb(rx.body.p ? rx.body.p : "", rx.body.len, 0, NULL) : NULL;
	if (json_string_value(json_object_get(j, "access_token")) != NULL) {
		token = xstrdup(json_string_value(json_object_get(j, "access_token")));
		fprintf(out, "tailnet %s: OAuth client %s: token granted, scope \"%s\"\n", cf->name,
		        cf->oauth_client_id,
		        json_string_value(json_object_get(j, "scope")) ?: "(not said)");
	} else if (error != NULL)
		fprintf(out, "tailnet %s: OAuth token request failed: %s\n", cf->name, error);
	else {
		msg = poller_api_message(&rx.body);
		fprintf(out, "tailnet %s: OAuth token request: HTTP %ld%s%s\n", cf->name, status,
		        *msg ? ": " : "", msg);
		free(msg);
	}
	if (rx.body.p != NULL)
		explicit_bzero(rx.body.p, rx.body.len);
	json_decref(j);
	http_rx_free(&rx);
	free(error);
	return token;
}

int
poller_check_api(const struct config *cf, FILE *out)
{
	int bad = 0;

	for (size_t i = 0; i < cf->ntailnets; i++) {
		const struct config_tailnet *tc = &cf->tailnets[i];
		char *bearer = poller_check_bearer(tc, out), *base = poller_base(tc);

		for (size_t k = 0; bearer != NULL && k < ENDPOINT__COUNT; k++) {
			const struct endpoint *e = &endpoints[k];
			struct http_rx rx = {0};
			char *url, *error = NULL, *msg;
			long status;

			if (!(tc->endpoints & 1u << k))
				continue;
			if (endpoint_npaths(e) == 0) {
				/* No path of its own: asked for the first device listed. */
				char *why = NULL;

				if ((url = poller_check_item_url(tc, e, base, bearer, &why)) ==
				    NULL) {
					fprintf(out, "tailnet %s: %s: %s\n", tc->name, e->name,
					        why);
					free(why);
					continue;
				}
			} else if (e->window) {
				/* The last minute: a window is required, a short one is cheap. */
				char a[TSTIME_STRLEN], b[TSTIME_STRLEN];
				tstime_t now = tstime_now();

				tstime_format(now - 60 * TSTIME_SEC, a, sizeof(a));
				tstime_format(now, b, sizeof(b));
				url = xasprintf("%s%s?start=%s&end=%s", base, e->paths[0], a, b);
			} else
				url = xasprintf("%s%s", base, e->paths[0]);
			status = poller_check_get(tc, url, bearer, NULL, &rx, &error);
			/* A server without the first path: its fallback is what is polled. */
			if (status == 404 && e->fallback != NULL) {
				free(url);
				http_rx_free(&rx);
				url = xasprintf("%s%s", base, e->fallback->paths[0]);
				status = poller_check_get(tc, url, bearer, NULL, &rx, &error);
			}
			msg = poller_api_message(&rx.body);
			if (status == 200)
				fprintf(out, "tailnet %s: %s: ok\n", tc->name, e->name);
			else if (status == 403)
				fprintf(out, "tailnet %s: %s: refused (HTTP 403): needs scope %s\n",
				        tc->name, e->name, e->scope);
			else if (error != NULL)
				fprintf(out, "tailnet %s: %s: %s\n", tc->name, e->name, error);
			else
				fprintf(out, "tailnet %s: %s: HTTP %ld (%s)%s%s\n", tc->name,
				        e->name, status, poller_status_hint(status),
				        *msg ? ": " : "", msg);
			bad |= status != 200;
			free(msg);
			free(error);
			free(url);
			http_rx_free(&rx);
		}
		bad |= bearer == NULL;
		if (bearer != NULL)
			explicit_bzero(bearer, strlen(bearer));
		free(bearer);
		free(base);
	}
	return bad ? -1 : 0;
}
