/* poller.c: timers per endpoint, fetches on curl multi (the hiperfifo recipe), answers applied. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include <curl/curl.h>

#include "curlev.h"
#include "entity.h"
#include "hist.h"
#include "log.h"
#include "notify.h"
#include "poller.h"
#include "sbuf.h"

#define POLLER_BACKOFF_MIN (5 * TSTIME_SEC)
#define POLLER_RETRY_AFTER_MAX (3600 * TSTIME_SEC)
#define POLLER_ERRMSG_MAX 200
#define POLLER_FORBIDDEN_MAX (86400 * TSTIME_SEC) /* a 403 endpoint is retried at least daily */

struct poller_group {
	int pending;
	json_t *results;
	poller_done_fn done;
	void *arg;
};

struct poller_waiters {
	struct poller_group **g;
	size_t n;
};

struct poller_tailnet;

/* What a curl handle's CURLINFO_PRIVATE points to: the first member of its owner. */
enum poller_xfer { POLLER_XFER_ENDPOINT, POLLER_XFER_TOKEN };

struct poller_endpoint;

/* What one endpoint polls: its requests and how their answers are recorded. */
struct poller_kind {
	const char *name;     /* one of config_endpoint_names, in that order */
	const char *paths[5]; /* the requests of one poll, after /api/v2/tailnet/{t}/ */
	int text;             /* the answer is the policy file's text, not JSON */
	/* After the listed requests: queues more (the keys to fetch one by one). */
	int (*more)(struct poller_endpoint *ep, char **cause);
	int (*apply)(struct poller_endpoint *ep, tstime_t t, const struct hist_policy *pol,
	             struct hist_poll_result *res, char **cause);
};

struct poller_endpoint {
	enum poller_xfer xfer;
	struct poller_tailnet *tn;
	const char *name;
	const struct poller_kind *kind;
	char *base; /* .../api/v2/tailnet/{t}/ */
	/* One poll: the answers so far, in request order; extra requests (keys by id). */
	size_t step;
	json_t *answers;
	json_t *extra; /* ids still to fetch, or NULL before the plan */
	size_t extra_i;
	json_t *fetched, *gone, *denied; /* keys by id: 200, 404, 403 */
	char *etag;                      /* of the policy file's answer */
	char *path;           /* of the request in flight, or the last one: for messages */
	struct sbuf text;     /* the policy file's answer */
	struct event *timer;  /* the next scheduled poll */
	struct event *finish; /* delivers a fetch that could not even start */
	tstime_t next;
	CURL *easy; /* in flight, or NULL */
	tstime_t started;
	struct sbuf body;
	int too_big;
	char errbuf[CURL_ERROR_SIZE];
	char *start_error;
	unsigned failures;
	long refused;       /* the last poll's 403 (the credential lacks the scope), else 0 */
	int awaiting_token; /* waits for an OAuth access token before it can start */
	int auth_retried;   /* a 401 with an OAuth token renews the token once */
	unsigned token_gen; /* the OAuth token the request went out with */
	struct poller_waiters cur, next_waiters;
};

/* OAuth client credentials: a 1-hour access token, fetched, cached, renewed before it ends. */
struct poller_oauth {
	enum poller_xfer xfer;
	struct poller_tailnet *tn;
	char *form; /* client_id=..&client_secret=..: holds the secret, wiped on free */
	char *url;
	CURL *easy; /* a token request in flight */
	struct sbuf body;
	char errbuf[CURL_ERROR_SIZE];
	tstime_t renew_at; /* TSTIME_NONE: no usable token */
	unsigned gen;      /* counts tokens: a 401 on an older one needs no new one */
};

struct poller_tailnet {
	struct poller *pl;
	const struct config_tailnet *cf;
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
static void poller_request_start(struct poller_endpoint *ep);
static void poller_poll_reset(struct poller_endpoint *ep);
static void poller_oauth_start(struct poller_oauth *o);
static void poller_easy_setup(CURL *e, const struct config_tailnet *cf, void *owner, char *errbuf,
                              curl_write_callback write_cb);

static unsigned
poller_random(void)
{
	unsigned r = 0;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
		r = (unsigned)tstime_now();
	return r;
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

static size_t
poller_write_cb(char *data, size_t size, size_t n, void *arg)
{
	struct poller_endpoint *ep = arg;

	/* Debian's libcurl does not cap chunked or compressed bodies: the cap is ours. */
	if (ep->body.len + n > ep->tn->cf->max_response) {
		ep->too_big = 1;
		return 0;
	}
	sbuf_add(&ep->body, data, n);
	return n;
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

/* The OAuth scope each endpoint needs (kb/1623, the OpenAPI description's "OAuth Scope"). */
static const struct {
	const char *endpoint, *scope;
} poller_scopes[] = {
    {"devices", "devices:core:read"},
    {"keys", "auth_keys:read (and api_access_tokens:read, oauth_keys:read, "
             "federated_keys:read for the other key types)"},
    {"users", "users:read"},
    {"policy", "policy_file:read"},
    {"dns", "dns:read"},
    {"settings", "feature_settings:read"},
    {"webhooks", "webhooks:read"},
};

static const char *
poller_scope(const char *endpoint)
{
	for (size_t i = 0; i < sizeof(poller_scopes) / sizeof(poller_scopes[0]); i++)
		if (strcmp(poller_scopes[i].endpoint, endpoint) == 0)
			return poller_scopes[i].scope;
	return "all:read";
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

static void
poller_finish(struct poller_endpoint *ep, char *error, int64_t retry_after,
              const struct hist_poll_result *res, tstime_t t)
{
	struct poller_tailnet *tn = ep->tn;
	json_t *result = json_object();
	char tbuf[TSTIME_STRLEN];
	char *cause = NULL;
	int64_t delay;

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
		delay = poller_jitter(tn->cf->poll_interval);
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

static int
poller_apply_devices(struct poller_endpoint *ep, tstime_t t, const struct hist_policy *pol,
                     struct hist_poll_result *res, char **cause)
{
	return hist_devices_apply(ep->tn->pl->st, ep->tn->cf->name, t,
	                          json_array_get(ep->answers, 0), pol, res, cause);
}

static int
poller_plan_keys(struct poller_endpoint *ep, char **cause)
{
	return entity_keys_plan(ep->tn->pl->st, ep->tn->cf->name, json_array_get(ep->answers, 0),
	                        &ep->extra, cause);
}

static int
poller_apply_keys(struct poller_endpoint *ep, tstime_t t, const struct hist_policy *pol,
                  struct hist_poll_result *res, char **cause)
{
	return entity_keys_apply_denied(ep->tn->pl->st, ep->tn->cf->name, t,
	                                json_array_get(ep->answers, 0), ep->fetched, ep->gone,
	                                ep->denied, pol, res, cause);
}

static int
poller_apply_users(struct poller_endpoint *ep, tstime_t t, const struct hist_policy *pol,
                   struct hist_poll_result *res, char **cause)
{
	return entity_users_apply(ep->tn->pl->st, ep->tn->cf->name, t,
	                          json_array_get(ep->answers, 0), pol, res, cause);
}

static int
poller_apply_policy(struct poller_endpoint *ep, tstime_t t, const struct hist_policy *pol,
                    struct hist_poll_result *res, char **cause)
{
	return entity_policy_apply(ep->tn->pl->st, ep->tn->cf->name, t,
	                           ep->text.p ? ep->text.p : "", ep->text.len, ep->etag, pol, res,
	                           cause);
}

static int
poller_apply_dns(struct poller_endpoint *ep, tstime_t t, const struct hist_policy *pol,
                 struct hist_poll_result *res, char **cause)
{
	json_t *a = ep->answers;

	return entity_dns_apply(ep->tn->pl->st, ep->tn->cf->name, t, json_array_get(a, 0),
	                        json_array_get(a, 1), json_array_get(a, 2), json_array_get(a, 3),
	                        pol, res, cause);
}

static int
poller_apply_dns_config(struct poller_endpoint *ep, tstime_t t, const struct hist_policy *pol,
                        struct hist_poll_result *res, char **cause)
{
	return entity_dns_config_apply(ep->tn->pl->st, ep->tn->cf->name, t,
	                               json_array_get(ep->answers, 0), pol, res, cause);
}

static int
poller_apply_settings(struct poller_endpoint *ep, tstime_t t, const struct hist_policy *pol,
                      struct hist_poll_result *res, char **cause)
{
	return entity_settings_apply(ep->tn->pl->st, ep->tn->cf->name, t,
	                             json_array_get(ep->answers, 0), pol, res, cause);
}

static int
poller_apply_webhooks(struct poller_endpoint *ep, tstime_t t, const struct hist_policy *pol,
                      struct hist_poll_result *res, char **cause)
{
	return entity_webhooks_apply(ep->tn->pl->st, ep->tn->cf->name, t,
	                             json_array_get(ep->answers, 0), pol, res, cause);
}

/* In the order of config_endpoint_names. */
static const struct poller_kind poller_kinds[] = {
    {"devices", {"devices?fields=all"}, 0, NULL, poller_apply_devices},
    {"keys", {"keys?all=true"}, 0, poller_plan_keys, poller_apply_keys},
    {"users", {"users?type=all"}, 0, NULL, poller_apply_users},
    {"policy", {"acl"}, 1, NULL, poller_apply_policy},
    /* One read, one consistent state, the override and the exit-node flags included. */
    {"dns", {"dns/configuration"}, 0, NULL, poller_apply_dns_config},
    {"settings", {"settings"}, 0, NULL, poller_apply_settings},
    {"webhooks", {"webhooks"}, 0, NULL, poller_apply_webhooks},
};
#define POLLER_NKINDS (sizeof(poller_kinds) / sizeof(poller_kinds[0]))

/* DNS where dns/configuration answers 404 (an older server): four reads recorded together. */
static const struct poller_kind poller_kind_dns_legacy = {
    "dns",
    {"dns/nameservers", "dns/preferences", "dns/searchpaths", "dns/split-dns"},
    0,
    NULL,
    poller_apply_dns};

const char *const *const poller_endpoints = config_endpoint_names;

static size_t
poller_npaths(const struct poller_kind *k)
{
	size_t n = 0;

	while (n < sizeof(k->paths) / sizeof(k->paths[0]) && k->paths[n] != NULL)
		n++;
	return n;
}

/* The request of the current step: the path (for messages) and the whole URL (malloc'd). */
static char *
poller_step_url(struct poller_endpoint *ep, char **path)
{
	const struct poller_kind *k = ep->kind;
	size_t n = poller_npaths(k);
	char *esc;

	if (ep->step < n) {
		*path = xstrdup(k->paths[ep->step]);
		return xasprintf("%s%s", ep->base, k->paths[ep->step]);
	}
	/* curl escapes without a handle since 7.82. */
	esc = curl_easy_escape(NULL, json_string_value(json_array_get(ep->extra, ep->extra_i)), 0);
	*path = xasprintf("keys/%s", esc ? esc : "");
	curl_free(esc);
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
	ep->answers = ep->extra = ep->fetched = ep->gone = ep->denied = NULL;
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
	const struct poller_kind *k = ep->kind;
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
	} else if (k->text && ep->step < n) {
		ep->text = ep->body;
		sbuf_init(&ep->body);
	} else if ((body = json_loadb(ep->body.p ? ep->body.p : "", ep->body.len,
	                              JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		*error = xasprintf("the answer is not valid JSON (line %d, column %d: %s)",
		                   jerr.line, jerr.column, jerr.text);
		return -1;
	} else if (ep->step < n)
		json_array_append_new(ep->answers, body);
	else
		json_array_append_new(ep->fetched, body);
	if (ep->step >= n)
		ep->extra_i++;
	else
		ep->step++;
	if (ep->step == n && k->more != NULL && ep->extra == NULL) {
		if (k->more(ep, &cause) == -1) {
			*error = xasprintf("answer not recorded: %s", cause);
			free(cause);
			return -1;
		}
	}
	return ep->step < n || ep->extra_i < json_array_size(ep->extra);
}

static void
poller_fetch_done(struct poller_endpoint *ep, CURLcode code)
{
	struct poller_tailnet *tn = ep->tn;
	struct hist_poll_result res = {0};
	struct hist_policy pol = {.mass_delete_percent = tn->cf->mass_delete_percent,
	                          .max_gap = 3 * tn->cf->poll_interval};
	tstime_t t = tstime_now();
	long status = 0;
	curl_off_t retry = 0;
	int64_t retry_after = 0;
	char *error = NULL, *cause = NULL, *msg;
	int more = 0;

	/* The tailnet's own thresholds (config defaults are 14d 7d 1d). */
	for (size_t w = 0; w < tn->cf->key_expiry_warn.n && w < HIST_MAX_WARN; w++)
		pol.expiry_warn[pol.nexpiry_warn++] = tn->cf->key_expiry_warn.v[w];
	pol.presence = tn->cf->presence_events;
	pol.credential = tn->oauth != NULL ? "oauth" : "api_key";
	pol.own_tokens = tn->own_tokens;
	pol.oauth_token_events = tn->cf->oauth_token_events;
	curl_easy_getinfo(ep->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(ep->easy, CURLINFO_RETRY_AFTER, &retry);
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
		sbuf_free(&ep->body);
		poller_request_start(ep);
		return;
	}
	/* No dns/configuration on this server: the four older paths from now on. */
	if (status == 404 && code == CURLE_OK && ep->step == 0 &&
	    ep->kind->apply == poller_apply_dns_config) {
		log_notice("tailnet %s: dns: dns/configuration not found: reading the four older "
		           "DNS paths instead",
		           tn->cf->name);
		ep->kind = &poller_kind_dns_legacy;
		sbuf_free(&ep->body);
		poller_request_start(ep);
		return;
	}
	/* Retry-After can be negative on this libcurl for a date in the past: clamp it. */
	if (retry > 0)
		retry_after = retry > POLLER_RETRY_AFTER_MAX / TSTIME_SEC ? POLLER_RETRY_AFTER_MAX
		                                                          : retry * TSTIME_SEC;
	if (ep->too_big || code == CURLE_FILESIZE_EXCEEDED)
		error = xasprintf("answer larger than max_response (%zu bytes): ignored",
		                  tn->cf->max_response);
	else if (code != CURLE_OK)
		error = xasprintf("%s", ep->errbuf[0] ? ep->errbuf : curl_easy_strerror(code));
	else if (status != 200 &&
	         !((status == 404 || status == 403) && ep->step >= poller_npaths(ep->kind))) {
		msg = poller_api_message(&ep->body);
		ep->refused = status == 403;
		if (status == 403)
			error = xasprintf("HTTP 403 (the credential lacks the scope %s)%s%s",
			                  poller_scope(ep->name), *msg ? ": " : "", msg);
		else
			error = xasprintf("HTTP %ld (%s)%s%s", status, poller_status_hint(status),
			                  *msg ? ": " : "", msg);
		free(msg);
	} else
		more = poller_take(ep, status, &error);
	sbuf_free(&ep->body);
	ep->auth_retried = 0;
	if (more == 1) {
		poller_request_start(ep);
		return;
	}
	if (error == NULL) {
		if (ep->kind->apply(ep, t, &pol, &res, &cause) == -1) {
			error = xasprintf("answer not recorded: %s", cause);
			free(cause);
		} else if (res.events > 0 && tn->pl->committed != NULL)
			tn->pl->committed(tn->pl->committed_arg);
	} else if (ep->kind != &poller_kinds[0] && ep->path != NULL) {
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

static void poller_oauth_done(struct poller_oauth *o, CURLcode code);

/* A finished transfer: an endpoint's fetch or a tailnet's token request. */
static void
poller_xfer_done_cb(CURL *easy, CURLcode result, void *arg)
{
	enum poller_xfer *x;

	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
	if (*x == POLLER_XFER_TOKEN)
		poller_oauth_done((struct poller_oauth *)x, result);
	else
		poller_fetch_done((struct poller_endpoint *)x, result);
}

static void
poller_finish_cb(evutil_socket_t fd, short what, void *arg)
{
	struct poller_endpoint *ep = arg;
	char *error = ep->start_error;

	ep->start_error = NULL;
	poller_finish(ep, error, 0, NULL, tstime_now());
}

/* Keeps the policy file's ETag: the API's revision id, stored with the text. */
static size_t
poller_header_cb(char *data, size_t size, size_t n, void *arg)
{
	struct poller_endpoint *ep = arg;
	size_t len = n, skip;

	if (len > 5 && strncasecmp(data, "ETag:", 5) == 0) {
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
	const struct config_tailnet *cf = tn->cf;
	char *url, *path;
	CURL *e;

	ep->too_big = 0;
	ep->errbuf[0] = '\0';
	sbuf_init(&ep->body);
	if (tn->oauth != NULL &&
	    (tn->oauth->renew_at == TSTIME_NONE || tstime_now() >= tn->oauth->renew_at)) {
		ep->awaiting_token = 1;
		poller_oauth_start(tn->oauth);
		return;
	}
	if ((e = curl_easy_init()) == NULL) {
		ep->start_error = xstrdup("cannot start a transfer");
		event_active(ep->finish, EV_TIMEOUT, 0);
		return;
	}
	if (tn->oauth != NULL)
		ep->token_gen = tn->oauth->gen;
	url = poller_step_url(ep, &path);
	curl_easy_setopt(e, CURLOPT_URL, url);
	free(url);
	free(ep->path);
	ep->path = path;
	poller_easy_setup(e, cf, ep, ep->errbuf, poller_write_cb);
	curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
	curl_easy_setopt(e, CURLOPT_XOAUTH2_BEARER, tn->bearer);
	if (ep->kind->text && ep->step < poller_npaths(ep->kind)) {
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, tn->headers_text);
		curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, poller_header_cb);
		curl_easy_setopt(e, CURLOPT_HEADERDATA, ep);
	} else
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, tn->headers);
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
	poller_poll_reset(ep);
	ep->answers = json_array();
	ep->fetched = json_array();
	ep->gone = json_array();
	ep->denied = json_array();
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

/* Sets the common options of every transfer: protocols, TLS, timeouts, the size cap. */
static void
poller_easy_setup(CURL *e, const struct config_tailnet *cf, void *owner, char *errbuf,
                  curl_write_callback write_cb)
{
	curl_easy_setopt(e, CURLOPT_PRIVATE, owner);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, owner);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	/* config_url_allowed() let plain http through only for a loopback host. */
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR,
	                 strncmp(cf->api_url, "https:", 6) == 0 ? "https" : "http");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(cf->connect_timeout / 1000));
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(cf->request_timeout / 1000));
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, 30L);
	curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)cf->max_response);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(e, CURLOPT_USERAGENT, "tsinvd/" PACKAGE_VERSION);
}

static size_t
poller_oauth_write_cb(char *data, size_t size, size_t n, void *arg)
{
	struct poller_oauth *o = arg;

	if (o->body.len + n > 64 * 1024)
		return 0;
	sbuf_add(&o->body, data, n);
	return n;
}

static void
poller_oauth_start(struct poller_oauth *o)
{
	CURL *e;

	if (o->easy != NULL)
		return;
	o->errbuf[0] = '\0';
	sbuf_init(&o->body);
	if ((e = curl_easy_init()) == NULL) {
		poller_oauth_done(o, CURLE_OUT_OF_MEMORY);
		return;
	}
	poller_easy_setup(e, o->tn->cf, o, o->errbuf, poller_oauth_write_cb);
	curl_easy_setopt(e, CURLOPT_URL, o->url);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, o->form);
	o->easy = e;
	if (curl_multi_add_handle(o->tn->pl->multi, e) != CURLM_OK) {
		curl_easy_cleanup(e);
		o->easy = NULL;
		o->errbuf[0] = '\0';
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

	if (o->easy != NULL) {
		curl_easy_getinfo(o->easy, CURLINFO_RESPONSE_CODE, &status);
		curl_multi_remove_handle(tn->pl->multi, o->easy);
		curl_easy_cleanup(o->easy);
		o->easy = NULL;
	}
	if (code != CURLE_OK)
		error = xasprintf("OAuth token request failed: %s",
		                  o->errbuf[0] ? o->errbuf : curl_easy_strerror(code));
	else if (status != 200) {
		msg = poller_api_message(&o->body);
		error = xasprintf("OAuth token request: HTTP %ld (%s)%s%s", status,
		                  status == 401 || status == 400 ? "client id or secret refused"
		                                                 : poller_status_hint(status),
		                  *msg ? ": " : "", msg);
		free(msg);
	} else {
		j = json_loadb(o->body.p ? o->body.p : "", o->body.len, 0, NULL);
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
		if (o->body.p != NULL)
			explicit_bzero(o->body.p, o->body.len);
		json_decref(j);
	}
	sbuf_free(&o->body);
	/* Every endpoint of the tailnet that waited for it goes on, or fails with it. */
	for (size_t i = 0; i < tn->neps; i++) {
		struct poller_endpoint *ep = &tn->eps[i];

		if (!ep->awaiting_token)
			continue;
		ep->awaiting_token = 0;
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
		sbuf_free(&o->body);
	}
	if (o->form != NULL) {
		explicit_bzero(o->form, strlen(o->form));
		free(o->form);
	}
	free(o->url);
	free(o);
}

struct poller *
poller_new(struct event_base *base, const struct config *cf, struct store *st,
           poller_commit_fn committed, void *arg, char **cause)
{
	struct poller *pl = xcalloc(1, sizeof(*pl));
	size_t i;

	pl->committed = committed;
	pl->committed_arg = arg;

	pl->base = base;
	pl->cf = cf;
	pl->st = st;
	pl->cv = curlev_new(base, poller_xfer_done_cb, pl);
	pl->multi = curlev_multi(pl->cv);
	pl->tn = xcalloc(cf->ntailnets, sizeof(*pl->tn));
	for (i = 0; i < cf->ntailnets; i++) {
		struct poller_tailnet *tn = &pl->tn[i];
		char *key = NULL;

		tn->pl = pl;
		tn->cf = &cf->tailnets[i];
		tn->headers = curl_slist_append(NULL, "Accept: application/json");
		/* The policy file as written, comments and all: not the API's JSON rendering. */
		tn->headers_text = curl_slist_append(NULL, "Accept: application/hujson");
		if (tn->cf->api_key_file != NULL) {
			if (config_read_secret(tn->cf->api_key_file, &key, cause) == -1)
				goto fail;
			poller_set_bearer(tn, key);
			explicit_bzero(key, strlen(key));
			free(key);
		} else if (poller_oauth_new(tn, cause) == -1)
			goto fail;
		pl->ntn++;
		tn->eps = xcalloc(POLLER_NKINDS, sizeof(*tn->eps));
		for (size_t k = 0; k < POLLER_NKINDS; k++) {
			struct poller_endpoint *ep = &tn->eps[tn->neps];

			if (!(tn->cf->endpoints & 1u << k))
				continue;
			tn->neps++;
			ep->xfer = POLLER_XFER_ENDPOINT;
			ep->tn = tn;
			ep->kind = &poller_kinds[k];
			ep->name = poller_kinds[k].name;
			ep->base = poller_base(tn->cf);
			ep->timer = evtimer_new(base, poller_timer_cb, ep);
			ep->finish = evtimer_new(base, poller_finish_cb, ep);
			poller_schedule(ep, 0);
		}
	}
	return pl;
fail:
	poller_free(pl);
	return NULL;
}

void
poller_free(struct poller *pl)
{
	if (pl == NULL)
		return;
	for (size_t i = 0; i < pl->ntn; i++) {
		for (size_t j = 0; j < pl->tn[i].neps; j++) {
			struct poller_endpoint *ep = &pl->tn[i].eps[j];

			if (ep->easy != NULL) {
				curl_multi_remove_handle(pl->multi, ep->easy);
				curl_easy_cleanup(ep->easy);
				sbuf_free(&ep->body);
			}
			/* Pending "poll" requests are answered by the socket server's shutdown. */
			poller_waiters_drop(&ep->cur);
			poller_waiters_drop(&ep->next_waiters);
			poller_poll_reset(ep);
			free(ep->start_error);
			free(ep->base);
			if (ep->timer)
				event_free(ep->timer);
			if (ep->finish)
				event_free(ep->finish);
		}
		free(pl->tn[i].eps);
		json_decref(pl->tn[i].own_tokens);
		poller_tailnet_free_auth(&pl->tn[i]);
		poller_oauth_free(pl, pl->tn[i].oauth);
	}
	/* The tailnet whose set-up failed half-way. */
	if (pl->tn != NULL && pl->ntn < pl->cf->ntailnets) {
		poller_tailnet_free_auth(&pl->tn[pl->ntn]);
		poller_oauth_free(pl, pl->tn[pl->ntn].oauth);
	}
	free(pl->tn);
	curlev_free(pl->cv);
	free(pl);
}

void
poller_poll_now(struct poller *pl, const char *tailnet, poller_done_fn done, void *arg)
{
	struct poller_group *g = xcalloc(1, sizeof(*g));

	g->results = json_array();
	g->done = done;
	g->arg = arg;
	/* This loop holds a reference: a fetch that ends at once must not free g under it. */
	g->pending = 1;
	for (size_t i = 0; i < pl->ntn; i++) {
		if (tailnet != NULL && strcmp(tailnet, pl->tn[i].cf->name) != 0)
			continue;
		for (size_t j = 0; j < pl->tn[i].neps; j++) {
			struct poller_endpoint *ep = &pl->tn[i].eps[j];

			g->pending++;
			if (ep->easy != NULL || ep->start_error != NULL || ep->awaiting_token) {
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

json_t *
poller_access(struct poller *pl, const char *tailnet, const char *endpoint)
{
	for (size_t i = 0; i < pl->ntn; i++)
		for (size_t j = 0; j < pl->tn[i].neps; j++) {
			struct poller_endpoint *ep = &pl->tn[i].eps[j];

			if (strcmp(pl->tn[i].cf->name, tailnet) != 0 ||
			    strcmp(ep->name, endpoint) != 0)
				continue;
			return json_pack("{s:s, s:b, s:s}", "credential",
			                 pl->tn[i].oauth != NULL ? "oauth" : "api_key", "refused",
			                 ep->refused != 0, "scope", poller_scope(endpoint));
		}
	return NULL;
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

/* ---- tsinvd -n --check-api: one blocking request per endpoint, outside any loop ---- */

/* One GET or (with form) POST; the status, the body in *body. -1 with *error if no answer. */
static long
poller_check_get(const struct config_tailnet *cf, const char *url, const char *bearer,
                 const char *form, struct sbuf *body, char **error)
{
	struct poller_endpoint fake = {.tn = &(struct poller_tailnet){.cf = cf}};
	struct curl_slist *h = curl_slist_append(NULL, "Accept: application/json");
	CURL *e = curl_easy_init();
	CURLcode code;
	long status = -1;

	if (e == NULL) {
		*error = xstrdup("cannot start a transfer");
		curl_slist_free_all(h);
		return -1;
	}
	sbuf_init(&fake.body);
	poller_easy_setup(e, cf, &fake, fake.errbuf, poller_write_cb);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	if (form != NULL)
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, form);
	else {
		curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
		curl_easy_setopt(e, CURLOPT_XOAUTH2_BEARER, bearer);
	}
	if ((code = curl_easy_perform(e)) != CURLE_OK)
		*error = xstrdup(fake.errbuf[0] ? fake.errbuf : curl_easy_strerror(code));
	else
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(e);
	curl_slist_free_all(h);
	*body = fake.body;
	return status;
}

/* The tailnet's bearer token (malloc'd), fetching an OAuth access token if need be. */
static char *
poller_check_bearer(const struct config_tailnet *cf, FILE *out)
{
	struct poller_tailnet tn = {.cf = cf};
	struct sbuf body;
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
	status = poller_check_get(cf, tn.oauth->url, NULL, tn.oauth->form, &body, &error);
	poller_oauth_free(NULL, tn.oauth);
	j = status == 200 ? json_loadb(body.p ? body.p : "", body.len, 0, NULL) : NULL;
	if (json_string_value(json_object_get(j, "access_token")) != NULL) {
		token = xstrdup(json_string_value(json_object_get(j, "access_token")));
		fprintf(out, "tailnet %s: OAuth client %s: token granted, scope \"%s\"\n", cf->name,
		        cf->oauth_client_id,
		        json_string_value(json_object_get(j, "scope")) ?: "(not said)");
	} else if (error != NULL)
		fprintf(out, "tailnet %s: OAuth token request failed: %s\n", cf->name, error);
	else {
		msg = poller_api_message(&body);
		fprintf(out, "tailnet %s: OAuth token request: HTTP %ld%s%s\n", cf->name, status,
		        *msg ? ": " : "", msg);
		free(msg);
	}
	if (body.p != NULL)
		explicit_bzero(body.p, body.len);
	json_decref(j);
	sbuf_free(&body);
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

		for (size_t k = 0; bearer != NULL && k < POLLER_NKINDS; k++) {
			const struct poller_kind *kind = &poller_kinds[k];
			char *url, *error = NULL, *msg;
			struct sbuf body;
			long status;

			if (!(tc->endpoints & 1u << k))
				continue;
			url = xasprintf("%s%s", base, kind->paths[0]);
			status = poller_check_get(tc, url, bearer, NULL, &body, &error);
			msg = poller_api_message(&body);
			if (status == 200)
				fprintf(out, "tailnet %s: %s: ok\n", tc->name, kind->name);
			else if (status == 403)
				fprintf(out, "tailnet %s: %s: refused (HTTP 403): needs scope %s\n",
				        tc->name, kind->name, poller_scope(kind->name));
			else if (error != NULL)
				fprintf(out, "tailnet %s: %s: %s\n", tc->name, kind->name, error);
			else
				fprintf(out, "tailnet %s: %s: HTTP %ld (%s)%s%s\n", tc->name,
				        kind->name, status, poller_status_hint(status),
				        *msg ? ": " : "", msg);
			bad |= status != 200;
			free(msg);
			free(error);
			free(url);
			sbuf_free(&body);
		}
		bad |= bearer == NULL;
		if (bearer != NULL)
			explicit_bzero(bearer, strlen(bearer));
		free(bearer);
		free(base);
	}
	return bad ? -1 : 0;
}
