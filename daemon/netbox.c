/* netbox.c: the IPAM export op and the NetBox sync: periodic and on demand, over the REST API. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "hist.h"
#include "ipam.h"
#include "nbplan.h"
#include "nbreply.h"
#include "curlev.h"
#include "http.h"
#include "log.h"
#include "config-diff.h"
#include "netbox.h"
#include "proto.h"
#include "sbuf.h"
#include "tstime.h"

#define NETBOX_PAGE 1000        /* asked per page; NetBox caps it at its MAX_PAGE_SIZE */
#define NETBOX_MAX_PAGES 100000 /* a "next" that never ends is a broken server */
#define NETBOX_ERRMSG_MAX 400   /* one error in a log line or an answer */
#define NETBOX_MAX_ERRORS 50    /* item errors kept per run */
#define NETBOX_FIRST_DELAY (60 * TSTIME_SEC)
#define NETBOX_MAX_REREADS 3 /* an offset-paged list that changed while read is read again */

static const char netbox_ip_path[] = "/api/ipam/ip-addresses/";

/* What a run is for: a sync, a dry run, or NetBox's ids for exports (no plan, no write). */
enum netbox_kind { NETBOX_SYNC, NETBOX_DRY, NETBOX_IDS };

struct netbox_waiter {
	struct ctl_req *req;
	int dry;        /* an enum netbox_kind */
	json_t *export; /* NETBOX_IDS: the export answer, owned until sent */
};

struct netbox_run;
typedef void (*netbox_http_fn)(struct netbox_run *run, long status, json_t *body);
typedef void (*netbox_step_fn)(struct netbox_run *run);

/* One sync: read NetBox's state, plan, write; every run plans afresh from what NetBox holds, so
 * a run cut short leaves nothing to remember: the next one converges. */
struct netbox_run {
	struct netbox *nb;
	int dry;
	tstime_t started;
	struct netbox_waiter *waiters;
	size_t nwaiters;

	json_t *tailnets; /* [{"tailnet","vrf","as_of","state","reason"}] */
	json_t *wants;    /* [{"tailnet","vrf","obj"}]: the records tsinv wants */
	json_t *tag_ids;  /* {"slug": id}: the tags NetBox has */
	json_t *tags;     /* the tags NetBox has, as it gave them */
	int api_version;  /* NetBox's API-Version header as major * 100 + minor; 0 unknown */
	json_t *vrf_ids;  /* {"name": id} */
	json_t *owned;    /* the records carrying the owner tag, as NetBox gave them */
	json_t *plan;     /* [{"action","address","vrf","tailnet","node_id","id","fields"}] */
	json_t *new_tags; /* [{"name","slug"}] to create */
	json_t *updates;  /* PATCH items, each with "_action" (not sent) */
	json_t *creates;  /* POST items */
	json_t *errors;   /* strings */
	size_t created, updated, deprecated, unchanged, tags_planned, tags_created, writes;
	int failed; /* a fatal error stopped it */

	/* The request in flight. */
	CURL *easy;
	struct curl_slist *hdrs;
	char *what; /* "GET /api/extras/tags/": errors name the request by it */
	char *url, *req_body;
	struct http_rx rx;
	netbox_http_fn done;

	/* A list being read page by page. */
	char *list_path, *list_query;
	json_t *acc;
	size_t pages, rereads;
	json_int_t list_count; /* the first page's count; -1 in cursor paging (no count) */
	int list_moved;        /* a later page counted otherwise */
	netbox_step_fn list_done;

	/* The writes: which list, where in it, one by one after a 400. */
	json_t *queue; /* updates or creates */
	size_t pos, batch_n;
	int single;
	int tags_single; /* tags one by one after a 400 */
};

struct netbox {
	struct event_base *base;
	const struct config *cf;
	const struct config_netbox *nc;
	struct store *st;
	struct http_limits lim;
	char *auth;          /* "Authorization: Token ...": wiped on free */
	struct curlev *cv;   /* its own multi and connection cache, on the same loop */
	CURLM *multi;        /* cv's */
	struct event *timer; /* the next periodic run */
	struct event *kick;  /* starts a queued run from the loop, not from a callback */
	struct netbox_run *run;
	struct netbox_waiter *queued;
	size_t nqueued;
};

static void netbox_run_finish(struct netbox_run *run);

/* ---- errors ---- */

static void netbox_error(struct netbox_run *run, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
netbox_error(struct netbox_run *run, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	log_warnx("netbox: %s", msg);
	if (json_array_size(run->errors) < NETBOX_MAX_ERRORS)
		json_array_append_new(run->errors, json_string(msg));
	free(msg);
}

/* A fatal error of the last request: the run stops here; NetBox keeps what the finished
 * requests wrote, and the next run reads it. */
static void
netbox_fail(struct netbox_run *run, char *error)
{
	netbox_error(run, "%s: %s", run->what ? run->what : "NetBox", error);
	free(error);
	run->failed = 1;
	netbox_run_finish(run);
}

/* ---- one request ---- */

static void
netbox_http_free(struct netbox_run *run)
{
	if (run->easy != NULL) {
		curl_multi_remove_handle(run->nb->multi, run->easy);
		curl_easy_cleanup(run->easy);
		run->easy = NULL;
	}
	curl_slist_free_all(run->hdrs);
	run->hdrs = NULL;
	free(run->url);
	free(run->req_body);
	run->url = run->req_body = NULL;
	http_rx_free(&run->rx);
}

/* METHOD PATH (with its query) of NetBox, with BODY (borrowed) as JSON; DONE gets the status
 * and the answer's JSON (NULL when it had none or it did not parse), or after a transport
 * failure the run fails here. */
static void
netbox_http(struct netbox_run *run, const char *method, const char *path, json_t *body,
            netbox_http_fn done)
{
	struct netbox *nb = run->nb;
	CURL *e;

	run->done = done;
	free(run->what);
	run->what = xasprintf("%s %.*s", method, (int)strcspn(path, "?"), path);
	run->url = xasprintf("%s%s", nb->lim.url, path);
	if ((e = http_easy(&nb->lim, run->url, run, &run->rx)) == NULL) {
		netbox_http_free(run);
		netbox_fail(run, xstrdup("cannot start a transfer"));
		return;
	}
	run->hdrs = curl_slist_append(NULL, nb->auth);
	run->hdrs = curl_slist_append(run->hdrs, "Accept: application/json");
	if (strcmp(method, "GET") != 0)
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	if (body != NULL) {
		run->req_body = json_dumps(body, JSON_COMPACT);
		run->hdrs = curl_slist_append(run->hdrs, "Content-Type: application/json");
		run->hdrs = curl_slist_append(run->hdrs, "Expect:");
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, run->req_body ? run->req_body : "null");
		run->writes++;
	}
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, run->hdrs);
	log_debug("netbox: %s %s", method, path);
	run->easy = e;
	if (curl_multi_add_handle(nb->multi, e) != CURLM_OK) {
		netbox_http_free(run);
		netbox_fail(run, xstrdup("cannot start a transfer"));
	}
}

/* NetBox names its API version ("4.6") in every answer (netbox/middleware.py): what it takes
 * (add_tags and remove_tags from 4.6) follows from it. */
static void
netbox_api_version(struct netbox_run *run)
{
	unsigned major, minor;

	if (run->rx.header[0] != '\0' && sscanf(run->rx.header, "%u.%u", &major, &minor) == 2 &&
	    major < 1000 && minor < 100)
		run->api_version = (int)(major * 100 + minor);
}

static void
netbox_http_done(struct netbox_run *run, CURLcode code)
{
	long status = 0;
	json_t *body = NULL;
	char *error = NULL;

	curl_easy_getinfo(run->easy, CURLINFO_RESPONSE_CODE, &status);
	netbox_api_version(run);
	error = http_error(&run->nb->lim, code, &run->rx);
	if (error == NULL && run->rx.body.len > 0)
		body = json_loadb(run->rx.body.p, run->rx.body.len, 0, NULL);
	if (error == NULL && body == NULL && status != 204 && status < 300)
		error = xasprintf("HTTP %ld: the answer is not JSON", status);
	netbox_http_free(run);
	/* A write that timed out may yet be applied: the next run reads NetBox's state and
	 * converges either way. */
	if (error != NULL)
		netbox_fail(run, error);
	else
		run->done(run, status, body);
	json_decref(body);
}

static void
netbox_xfer_done_cb(CURL *easy, CURLcode result, void *arg)
{
	struct netbox_run *run;

	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&run);
	netbox_http_done(run, result);
}

/* ---- lists, all pages ---- */

static void netbox_list_page(struct netbox_run *run, const char *query);

static int
netbox_id_cmp(const void *a, const void *b)
{
	json_int_t x = *(const json_int_t *)a, y = *(const json_int_t *)b;

	return x < y ? -1 : x > y;
}

/* Offset paging (NetBox before 4.6) skips or repeats records when others write meanwhile: a
 * list read so holds exactly its count of records, no id twice, and no page counted
 * otherwise. */
static int
netbox_list_whole(struct netbox_run *run)
{
	size_t n = json_array_size(run->acc), i;
	json_int_t *ids;
	int ok = !run->list_moved && (json_int_t)n == run->list_count;

	if (!ok || n == 0)
		return ok;
	ids = xcalloc(n, sizeof(*ids));
	for (i = 0; i < n; i++)
		ids[i] = json_integer_value(json_object_get(json_array_get(run->acc, i), "id"));
	qsort(ids, n, sizeof(*ids), netbox_id_cmp);
	for (i = 1; i < n && ok; i++)
		ok = ids[i] != ids[i - 1];
	free(ids);
	return ok;
}

/* Starts reading the list (again) from its first page. */
static void
netbox_list_begin(struct netbox_run *run)
{
	json_decref(run->acc);
	run->acc = json_array();
	run->pages = 0;
	run->list_moved = 0;
	netbox_list_page(run, run->list_query);
}

static void
netbox_list_cb(struct netbox_run *run, long status, json_t *body)
{
	json_t *results = json_object_get(body, "results"), *r;
	json_t *count = json_object_get(body, "count");
	const char *next = json_string_value(json_object_get(body, "next"));
	size_t i;

	if (status != 200 || !json_is_array(results)) {
		netbox_fail(run, status == 200 ? xstrdup("not a NetBox list (no \"results\")")
		                               : nbreply_error(status, body));
		return;
	}
	/* NetBox 4.6 answers start= with cursor paging, by id and without a count; older
	 * versions ignore it and page by offset. */
	if (run->pages == 0)
		run->list_count = json_is_integer(count) ? json_integer_value(count) : -1;
	else if (run->list_count >= 0 &&
	         (!json_is_integer(count) || json_integer_value(count) != run->list_count))
		run->list_moved = 1;
	json_array_foreach(results, i, r) json_array_append(run->acc, r);
	/* Only the query of "next" is used: behind a proxy NetBox may name itself with another
	 * scheme or host, and the token must go nowhere but the configured url. */
	if (next != NULL && strchr(next, '?') != NULL && json_array_size(results) > 0) {
		if (++run->pages >= NETBOX_MAX_PAGES) {
			netbox_fail(run, xstrdup("too many pages"));
			return;
		}
		netbox_list_page(run, strchr(next, '?') + 1);
		return;
	}
	if (run->list_count >= 0 && !netbox_list_whole(run)) {
		if (++run->rereads > NETBOX_MAX_REREADS) {
			netbox_fail(run,
			            xstrdup("the list kept changing while it was read by offset "
			                    "(NetBox before 4.6 has no cursor paging): the next "
			                    "run reads it again"));
			return;
		}
		log_info("netbox: %s changed while it was read: reading it again", run->what);
		netbox_list_begin(run);
		return;
	}
	run->list_done(run);
}

static void
netbox_list_page(struct netbox_run *run, const char *query)
{
	char *path = xasprintf("%s?%s", run->list_path, query);

	netbox_http(run, "GET", path, NULL, netbox_list_cb);
	free(path);
}

/* Reads every page of PATH?QUERY into run->acc (a new empty array), then runs DONE. */
static void
netbox_list(struct netbox_run *run, const char *path, const char *query, netbox_step_fn done)
{
	free(run->list_path);
	free(run->list_query);
	run->list_path = xstrdup(path);
	run->list_query = xasprintf("start=0&limit=%d%s%s", NETBOX_PAGE, *query ? "&" : "", query);
	run->rereads = 0;
	run->list_done = done;
	netbox_list_begin(run);
}

static char *
netbox_escape(const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0), *out = xstrdup(e ? e : "");

	curl_free(e);
	return out;
}

/* ---- what tsinv wants ---- */

void
netbox_map(const struct config_netbox *nc, const char *vrf, struct ipam_map *m)
{
	*m = (struct ipam_map){.vrf = vrf,
	                       .owner_tag = nc->owner_tag,
	                       .tag_prefix = nc->tag_prefix,
	                       .cf_node_id = nc->cf_node_id,
	                       .cf_tailnet = nc->cf_tailnet,
	                       .cf_last_seen = nc->cf_last_seen};
}

static void netbox_tailnet_skip(struct netbox_run *run, json_t *tn, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A tailnet left out of this run: its records are neither written nor deprecated. */
static void
netbox_tailnet_skip(struct netbox_run *run, json_t *tn, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	json_object_set_new(tn, "state", json_string("skipped"));
	json_object_set_new(tn, "reason", json_string(msg));
	netbox_error(run, "tailnet %s: %s", json_string_value(json_object_get(tn, "tailnet")), msg);
	free(msg);
}

/* The records tsinv wants, from the store as of each tailnet's last successful poll. */
static void
netbox_wants(struct netbox_run *run)
{
	const struct config *cf = run->nb->cf;
	const struct config_netbox *nc = run->nb->nc;

	for (size_t i = 0; i < cf->ntailnets; i++) {
		const char *name = cf->tailnets[i].name, *vrf = config_netbox_vrf(cf, name);
		json_t *res = NULL, *rows, *row, *tn;
		struct ipam_rows x;
		struct ipam_map m;
		char *cause = NULL;
		size_t j;

		tn = json_pack("{s:s, s:s?, s:n, s:s}", "tailnet", name, "vrf", vrf, "as_of",
		               "state", "ok");
		json_array_append_new(run->tailnets, tn);
		netbox_map(nc, vrf, &m);
		x.m = &m;
		x.rows = rows = json_array();
		if (hist_addresses_each(run->nb->st, name, TSTIME_NONE, nc->deprecated_window,
		                        IPAM_FIELDS, &res, ipam_row_fn, &x, &cause) != HIST_OK) {
			netbox_tailnet_skip(run, tn, "%s", cause ? cause : "cannot read the store");
			free(cause);
			json_decref(rows);
			continue;
		}
		/* Without a successful poll nothing is known: an empty list would retire every
		 * record. */
		if (json_is_null(json_object_get(res, "at"))) {
			netbox_tailnet_skip(run, tn, "no successful poll yet");
			json_decref(rows);
			json_decref(res);
			continue;
		}
		json_object_set(tn, "as_of", json_object_get(res, "at"));
		json_array_foreach(rows, j, row)
		{
			json_array_append_new(run->wants,
			                      json_pack("{s:s, s:s?, s:o}", "tailnet", name, "vrf",
			                                vrf, "obj", ipam_netbox_object(row, &m)));
		}
		json_decref(rows);
		json_decref(res);
	}
}

/* ---- the steps ---- */

static void netbox_step_vrfs(struct netbox_run *run);
static void netbox_step_owned(struct netbox_run *run);
static void netbox_step_plan(struct netbox_run *run);
static void netbox_write_next(struct netbox_run *run);

static void
netbox_step_tags_done(struct netbox_run *run)
{
	json_t *t;
	size_t i;

	json_array_foreach(run->acc, i, t)
	{
		const char *slug = json_string_value(json_object_get(t, "slug"));

		if (slug != NULL && json_is_integer(json_object_get(t, "id")))
			json_object_set(run->tag_ids, slug, json_object_get(t, "id"));
	}
	json_decref(run->tags);
	run->tags = json_incref(run->acc);
	netbox_step_vrfs(run);
}

static void
netbox_step_vrfs_done(struct netbox_run *run)
{
	json_t *v, *tn;
	size_t i;

	json_array_foreach(run->acc, i, v)
	{
		const char *name = json_string_value(json_object_get(v, "name"));

		if (name == NULL)
			continue;
		/* VRF names need not be unique in NetBox: then the mapping cannot be kept. */
		if (json_object_get(run->vrf_ids, name) != NULL)
			json_object_set_new(run->vrf_ids, name, json_integer(-1));
		else
			json_object_set(run->vrf_ids, name, json_object_get(v, "id"));
	}
	json_array_foreach(run->tailnets, i, tn)
	{
		const char *vrf = json_string_value(json_object_get(tn, "vrf"));
		json_t *id = vrf ? json_object_get(run->vrf_ids, vrf) : NULL;

		if (vrf == NULL ||
		    strcmp(json_string_value(json_object_get(tn, "state")), "ok") != 0)
			continue;
		if (id == NULL)
			netbox_tailnet_skip(
			    run, tn,
			    "NetBox has no VRF \"%s\": create it (tsinv does not create "
			    "VRFs)",
			    vrf);
		else if (json_integer_value(id) < 0)
			netbox_tailnet_skip(
			    run, tn,
			    "NetBox has several VRFs named \"%s\": rename them or map "
			    "the tailnet to another",
			    vrf);
	}
	netbox_step_owned(run);
}

static void
netbox_step_vrfs(struct netbox_run *run)
{
	struct sbuf q = {0};
	json_t *tn;
	size_t i;

	sbuf_adds(&q, "");
	json_array_foreach(run->tailnets, i, tn)
	{
		const char *vrf = json_string_value(json_object_get(tn, "vrf"));
		char *e;

		if (vrf == NULL)
			continue;
		e = netbox_escape(vrf);
		sbuf_addf(&q, "%sname=%s", q.len ? "&" : "", e);
		free(e);
	}
	if (q.len == 0) {
		sbuf_free(&q);
		netbox_step_owned(run);
		return;
	}
	netbox_list(run, "/api/ipam/vrfs/", q.p, netbox_step_vrfs_done);
	sbuf_free(&q);
}

static void
netbox_step_owned_done(struct netbox_run *run)
{
	json_decref(run->owned);
	run->owned = json_incref(run->acc);
	netbox_step_plan(run);
}

static void
netbox_step_owned(struct netbox_run *run)
{
	char *tag, *q;

	/* NetBox answers 400 to a filter on a tag it does not have: then nothing is ours yet. */
	if (json_object_get(run->tag_ids, run->nb->nc->owner_tag) == NULL) {
		netbox_step_plan(run);
		return;
	}
	tag = netbox_escape(run->nb->nc->owner_tag);
	q = xasprintf("tag=%s", tag);
	netbox_list(run, netbox_ip_path, q, netbox_step_owned_done);
	free(q);
	free(tag);
}

/* ---- the plan ---- */

static int
netbox_tailnet_ok(struct netbox_run *run, const char *name)
{
	json_t *tn;
	size_t i;

	json_array_foreach(run->tailnets, i, tn)
	{
		if (name != NULL &&
		    strcmp(json_string_value(json_object_get(tn, "tailnet")), name) == 0)
			return strcmp(json_string_value(json_object_get(tn, "state")), "ok") == 0;
	}
	return 0;
}

/* Each write as its queue takes it, with our notes "_action" and "_address" (not sent). */
static void
netbox_plan_queue(struct netbox_run *run, const struct nbplan_step *s)
{
	json_t *item = json_copy(s->body);

	if (s->action == NBPLAN_CREATE) {
		json_array_append_new(run->creates, item);
		return;
	}
	json_object_set_new(item, "_action", json_string(nbplan_action_name(s->action)));
	json_object_set_new(item, "_address", json_string(s->rec->address ? s->rec->address : ""));
	json_array_append_new(run->updates, item);
}

static void netbox_ids_answer(struct netbox_run *run);

/* The tags NetBox has, for the planner (strings borrowed from run->tags; free the array). */
static struct nbplan_tag *
netbox_plan_tags(struct netbox_run *run, size_t *n)
{
	struct nbplan_tag *tags = xcalloc(json_array_size(run->tags) + 1, sizeof(*tags));
	json_t *t;
	size_t i;

	*n = 0;
	json_array_foreach(run->tags, i, t)
	{
		tags[(*n)++] = (struct nbplan_tag){
		    .slug = json_string_value(json_object_get(t, "slug")),
		    .name = json_string_value(json_object_get(t, "name")),
		    .description = json_string_value(json_object_get(t, "description")),
		};
	}
	return tags;
}

/* The plan's steps by action: create, update, deprecate. */
static void
netbox_planned(struct netbox_run *run, size_t planned[3])
{
	json_t *p;
	size_t i;

	planned[0] = planned[1] = planned[2] = 0;
	json_array_foreach(run->plan, i, p)
	{
		const char *a = json_string_value(json_object_get(p, "action"));

		planned[strcmp(a, "create") == 0 ? 0 : strcmp(a, "deprecate") == 0 ? 2 : 1]++;
	}
}

/* A progress frame P (stolen) to each request riding on RUN; an export's ids get none. */
static void
netbox_progress(struct netbox_run *run, json_t *p)
{
	for (size_t i = 0; i < run->nwaiters; i++)
		if (run->waiters[i].dry != NETBOX_IDS)
			ctl_progress(run->waiters[i].req, json_incref(p));
	json_decref(p);
}

/* The writes done (sent and answered, refused ones included) of those planned. */
static void
netbox_progress_writes(struct netbox_run *run)
{
	size_t total = json_array_size(run->updates) + json_array_size(run->creates);
	size_t done =
	    run->queue == run->creates ? json_array_size(run->updates) + run->pos : run->pos;

	netbox_progress(run, json_pack("{s:s, s:I, s:I, s:I}", "phase", "write", "done",
	                               (json_int_t)done, "total", (json_int_t)total, "errors",
	                               (json_int_t)json_array_size(run->errors)));
}

static void
netbox_step_plan(struct netbox_run *run)
{
	size_t nrecs = json_array_size(run->owned), nwants = 0, nheld = 0, ntags = 0, i;
	struct nbplan_rec *recs = xcalloc(nrecs ? nrecs : 1, sizeof(*recs));
	struct nbplan_want *wants = xcalloc(json_array_size(run->wants) + 1, sizeof(*wants));
	const char **held = xcalloc(json_array_size(run->tailnets) + 1, sizeof(*held));
	size_t planned[3];
	struct nbplan_tag *tags;
	struct nbplan plan;
	struct nbplan_in in;
	struct ipam_map m;
	json_t *w, *tn;

	if (run->dry == NETBOX_IDS) {
		free(recs);
		free(wants);
		free(held);
		netbox_ids_answer(run);
		return;
	}
	netbox_map(run->nb->nc, NULL, &m);
	for (i = 0; i < nrecs; i++) {
		recs[i].rec = json_array_get(run->owned, i);
		nbplan_rec_init(&recs[i], &m);
	}
	/* The wants of tailnets left out of this run are dropped; the others get their VRF's
	 * id. */
	json_array_foreach(run->wants, i, w)
	{
		const char *vrf = json_string_value(json_object_get(w, "vrf"));
		json_int_t vid = vrf ? json_integer_value(json_object_get(run->vrf_ids, vrf)) : 0;
		json_t *obj = json_object_get(w, "obj");

		if (!netbox_tailnet_ok(run, json_string_value(json_object_get(w, "tailnet"))))
			continue;
		json_object_set_new(obj, "vrf", vid > 0 ? json_integer(vid) : json_null());
		wants[nwants++] = (struct nbplan_want){
		    .obj = obj,
		    .tailnet = json_string_value(json_object_get(w, "tailnet")),
		    .vrf = vrf,
		    .vrf_id = vid,
		};
	}
	json_array_foreach(run->tailnets, i, tn)
	{
		if (strcmp(json_string_value(json_object_get(tn, "state")), "ok") != 0)
			held[nheld++] = json_string_value(json_object_get(tn, "tailnet"));
	}
	tags = netbox_plan_tags(run, &ntags);
	in = (struct nbplan_in){.m = &m,
	                        .slack = run->nb->nc->last_seen_slack,
	                        .recs = recs,
	                        .nrecs = nrecs,
	                        .wants = wants,
	                        .nwants = nwants,
	                        .held = held,
	                        .nheld = nheld,
	                        .tags = tags,
	                        .ntags = ntags,
	                        .tag_ops = run->api_version >= 406};
	nbplan_make(&in, &plan);
	for (i = 0; i < plan.nsteps; i++) {
		json_array_append_new(run->plan, nbplan_step_json(&plan.steps[i], &m));
		netbox_plan_queue(run, &plan.steps[i]);
	}
	for (i = 0; i < plan.nnew_tags; i++)
		json_array_append_new(run->new_tags,
		                      json_pack("{s:s, s:s, s:s, s:s}", "name", plan.new_tags[i],
		                                "slug", plan.new_tags[i], "description",
		                                NBPLAN_TAG_DESCRIPTION, "changelog_message",
		                                "tsinvd: a tag of Tailscale addresses"));
	run->unchanged += plan.unchanged;
	run->tags_planned = plan.nnew_tags;
	nbplan_free(&plan);
	free(recs);
	free(wants);
	free(held);
	free(tags);
	/* What was read and planned, before the writes. */
	netbox_planned(run, planned);
	netbox_progress(
	    run,
	    json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "phase", "plan", "read",
	              (json_int_t)nrecs, "create", (json_int_t)planned[0], "update",
	              (json_int_t)planned[1], "deprecate", (json_int_t)planned[2], "unchanged",
	              (json_int_t)run->unchanged, "tags", (json_int_t)run->tags_planned, "writes",
	              (json_int_t)(json_array_size(run->updates) + json_array_size(run->creates))));
	if (run->dry) {
		netbox_run_finish(run);
		return;
	}
	run->queue = NULL;
	run->pos = 0;
	netbox_write_next(run);
}

/* ---- the writes ---- */

static void netbox_write_cb(struct netbox_run *run, long status, json_t *body);

/* Tags go in one bulk create; after a 400 (NetBox's all or nothing), one by one, so that a
 * tag NetBox refuses (its name taken meanwhile) is reported and the others made: the writes
 * that name it are then refused, each with NetBox's reason, and the rest go on. */
static void
netbox_tags_cb(struct netbox_run *run, long status, json_t *body)
{
	size_t n = run->tags_single ? 1 : json_array_size(run->new_tags);

	if (status == 201) {
		run->tags_created += n;
	} else if (status == 400 && n > 1) {
		run->tags_single = 1;
		netbox_write_next(run);
		return;
	} else if (status == 400) {
		char *e = nbreply_error(status, body);

		netbox_error(
		    run, "create tag %s: %s",
		    json_string_value(json_object_get(json_array_get(run->new_tags, 0), "slug")),
		    e);
		free(e);
	} else {
		netbox_fail(run, nbreply_error(status, body));
		return;
	}
	for (size_t i = 0; i < n; i++)
		json_array_remove(run->new_tags, 0);
	netbox_write_next(run);
}

/* A PATCH of a record deleted meanwhile is skipped by NetBox without an error
 * (netbox/api/viewsets/mixins.py): only what its answer holds was updated. */
static int
netbox_answered(json_t *body, json_t *item)
{
	json_int_t id = json_integer_value(json_object_get(item, "id"));
	json_t *r;
	size_t i;

	json_array_foreach(body, i, r)
	{
		if (json_integer_value(json_object_get(r, "id")) == id)
			return 1;
	}
	return 0;
}

/* "deprecate 100.64.0.1/32 #12": a write, as errors name it. */
static char *
netbox_item_name(json_t *item)
{
	const char *action = json_string_value(json_object_get(item, "_action"));
	const char *addr = json_string_value(json_object_get(item, "address"));
	char id[32] = "";

	if (json_is_integer(json_object_get(item, "id")))
		snprintf(id, sizeof(id), " #%lld",
		         (long long)json_integer_value(json_object_get(item, "id")));
	if (addr == NULL)
		addr = json_string_value(json_object_get(item, "_address"));
	return xasprintf("%s %s%s", action ? action : "create", addr ? addr : "record", id);
}

static void
netbox_count(struct netbox_run *run, json_t *item, json_t *body)
{
	const char *action = json_string_value(json_object_get(item, "_action"));

	if (action != NULL && !netbox_answered(body, item)) {
		char *what = netbox_item_name(item);

		netbox_error(run,
		             "%s: NetBox no longer has this record (deleted meanwhile?); the "
		             "next run plans afresh",
		             what);
		free(what);
	} else if (action == NULL)
		run->created++;
	else if (strcmp(action, "deprecate") == 0)
		run->deprecated++;
	else
		run->updated++;
}

/* Sends the next batch: new tags first, then the updates, then the creates. */
static void
netbox_write_next(struct netbox_run *run)
{
	json_t *batch, *item;
	size_t n, i;
	int create;

	if (json_array_size(run->new_tags) > 0) {
		json_t *tags = run->tags_single ? json_pack("[O]", json_array_get(run->new_tags, 0))
		                                : json_incref(run->new_tags);

		netbox_http(run, "POST", "/api/extras/tags/", tags, netbox_tags_cb);
		json_decref(tags);
		return;
	}
	if (run->queue == NULL) {
		run->queue = run->updates;
		run->pos = 0;
	}
	if (run->pos >= json_array_size(run->queue)) {
		if (run->queue == run->creates) {
			netbox_run_finish(run);
			return;
		}
		run->queue = run->creates;
		run->pos = 0;
		run->single = 0;
		netbox_write_next(run);
		return;
	}
	create = run->queue == run->creates;
	n = run->single ? 1 : (size_t)run->nb->nc->batch_size;
	if (n > json_array_size(run->queue) - run->pos)
		n = json_array_size(run->queue) - run->pos;
	batch = json_array();
	for (i = 0; i < n; i++) {
		const char *k;
		json_t *v;
		void *tmp;

		/* Our own notes ("_action", "_address") are not NetBox's. */
		item = json_copy(json_array_get(run->queue, run->pos + i));
		json_object_foreach_safe(item, tmp, k, v)
		{
			if (k[0] == '_')
				json_object_del(item, k);
		}
		json_array_append_new(batch, item);
	}
	run->batch_n = n;
	netbox_http(run, create ? "POST" : "PATCH", netbox_ip_path, batch, netbox_write_cb);
	json_decref(batch);
}

static void
netbox_write_cb(struct netbox_run *run, long status, json_t *body)
{
	int create = run->queue == run->creates;
	size_t i;

	if (status == (create ? 201 : 200)) {
		for (i = 0; i < run->batch_n; i++)
			netbox_count(run, json_array_get(run->queue, run->pos + i), body);
		run->pos += run->batch_n;
		netbox_progress_writes(run);
		/* One by one until the end of the batch that failed, then batches again. */
		if (run->single > 0)
			run->single--;
		netbox_write_next(run);
		return;
	}
	if (status == 400 && run->batch_n > 1) {
		/* Bulk writes are all or nothing: find the items NetBox refuses, write the rest. */
		run->single = (int)run->batch_n;
		netbox_write_next(run);
		return;
	}
	if (status == 400) {
		char *e = nbreply_error(status, body);
		char *what = netbox_item_name(json_array_get(run->queue, run->pos));

		netbox_error(run, "%s: %s", what, e);
		free(e);
		free(what);
		run->pos++;
		netbox_progress_writes(run);
		if (run->single > 0)
			run->single--;
		netbox_write_next(run);
		return;
	}
	netbox_fail(run, nbreply_error(status, body));
}

/* ---- a run's life ---- */

static void netbox_schedule(struct netbox *nb, int64_t delay);

static void
netbox_run_free(struct netbox_run *run)
{
	netbox_http_free(run);
	free(run->what);
	json_decref(run->tailnets);
	json_decref(run->wants);
	json_decref(run->tag_ids);
	json_decref(run->tags);
	json_decref(run->vrf_ids);
	json_decref(run->owned);
	json_decref(run->plan);
	json_decref(run->new_tags);
	json_decref(run->updates);
	json_decref(run->creates);
	json_decref(run->errors);
	json_decref(run->acc);
	free(run->list_path);
	free(run->list_query);
	free(run->waiters);
	free(run);
}

static void
netbox_run_finish(struct netbox_run *run)
{
	struct netbox *nb = run->nb;
	tstime_t now = tstime_now();
	size_t planned[3], i;
	json_t *res;

	netbox_planned(run, planned);
	res = json_pack("{s:b, s:s, s:o, s:o, s:I, s:O, s:O, s:{s:I, s:I, s:I, s:I},"
	                " s:I, s:I, s:I, s:I, s:I, s:I, s:O}",
	                "dry_run", run->dry, "result",
	                run->failed || json_array_size(run->errors) > 0 ? "error" : "ok", "started",
	                tstime_json(run->started), "finished", tstime_json(now), "duration_ms",
	                (json_int_t)((now - run->started) / 1000), "tailnets", run->tailnets,
	                "plan", run->plan, "planned", "create", (json_int_t)planned[0], "update",
	                (json_int_t)planned[1], "deprecate", (json_int_t)planned[2], "tags",
	                (json_int_t)run->tags_planned, "created", (json_int_t)run->created,
	                "updated", (json_int_t)run->updated, "deprecated",
	                (json_int_t)run->deprecated, "unchanged", (json_int_t)run->unchanged,
	                "tags_created", (json_int_t)run->tags_created, "writes",
	                (json_int_t)run->writes, "errors", run->errors);
	if (run->dry == NETBOX_IDS)
		log_debug("netbox: ids read");
	else if (run->dry)
		log_info(
		    "netbox: dry run: would create %zu, update %zu, deprecate %zu; %zu unchanged; "
		    "%zu errors",
		    planned[0], planned[1], planned[2], run->unchanged,
		    json_array_size(run->errors));
	else
		log_info(
		    "netbox: sync %s: %zu created, %zu updated, %zu deprecated, %zu unchanged, "
		    "%zu tags created, %zu writes, %zu errors",
		    run->failed ? "stopped" : "done", run->created, run->updated, run->deprecated,
		    run->unchanged, run->tags_created, run->writes, json_array_size(run->errors));
	for (i = 0; i < run->nwaiters; i++) {
		struct netbox_waiter *w = &run->waiters[i];

		/* An export waits for ids that a failed run could not read. */
		if (w->dry == NETBOX_IDS) {
			const char *e = json_string_value(json_array_get(run->errors, 0));

			ctl_reply_err(w->req, PROTO_E_INTERNAL, "NetBox: %s",
			              e != NULL ? e : "the run failed");
		} else
			ctl_reply(w->req, json_incref(res));
		json_decref(w->export);
	}
	json_decref(res);
	nb->run = NULL;
	netbox_run_free(run);
	if (nb->nqueued > 0)
		event_active(nb->kick, EV_TIMEOUT, 0);
	else if (nb->nc->interval > 0)
		netbox_schedule(nb, nb->nc->interval);
}

/* Starts a run for the queued requests of the first one's kind, or for the timer. */
static void
netbox_run_start(struct netbox *nb, int dry)
{
	struct netbox_run *run = xcalloc(1, sizeof(*run));
	size_t i, k = 0;

	run->nb = nb;
	run->dry = dry;
	run->started = tstime_now();
	run->rx.keep_header = "API-Version";
	run->tailnets = json_array();
	run->wants = json_array();
	run->tag_ids = json_object();
	run->vrf_ids = json_object();
	run->owned = json_array();
	run->plan = json_array();
	run->new_tags = json_array();
	run->updates = json_array();
	run->creates = json_array();
	run->errors = json_array();
	/* Those who asked for this kind of run ride on it; the others wait for the next. */
	run->waiters = xcalloc(nb->nqueued ? nb->nqueued : 1, sizeof(*run->waiters));
	for (i = 0; i < nb->nqueued; i++) {
		if (nb->queued[i].dry == dry)
			run->waiters[run->nwaiters++] = nb->queued[i];
		else
			nb->queued[k++] = nb->queued[i];
	}
	nb->nqueued = k;
	nb->run = run;
	evtimer_del(nb->timer);
	log_info("netbox: %s started", dry ? "dry run" : "sync");
	netbox_wants(run);
	netbox_list(run, "/api/extras/tags/", "", netbox_step_tags_done);
}

static void
netbox_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct netbox *nb = arg;

	if (nb->run == NULL && nb->nqueued > 0)
		netbox_run_start(nb, nb->queued[0].dry);
}

static void
netbox_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct netbox *nb = arg;

	if (nb->run == NULL)
		netbox_run_start(nb, 0);
}

static void
netbox_schedule(struct netbox *nb, int64_t delay)
{
	struct timeval tv = {.tv_sec = delay / TSTIME_SEC, .tv_usec = delay % TSTIME_SEC};

	evtimer_add(nb->timer, &tv);
}

/* ---- life cycle ---- */

/* The Authorization header of NC's token (malloc'd, wiped by its user), or -1 and *cause. */
static int
netbox_auth(const struct config_netbox *nc, char **auth, char **cause)
{
	char *token = NULL, *why = NULL;

	if (config_read_secret(nc->token_file, &token, &why) == -1) {
		*cause = xasprintf("[netbox] token_file: %s", why);
		free(why);
		return -1;
	}
	/* NetBox 4.5's v2 tokens ("nbt_...") are bearer tokens; older ones use "Token". */
	*auth = xasprintf("Authorization: %s %s",
	                  strncmp(token, "nbt_", 4) == 0 ? "Bearer" : "Token", token);
	explicit_bzero(token, strlen(token));
	free(token);
	return 0;
}

static void
netbox_auth_free(char *auth)
{
	if (auth == NULL)
		return;
	explicit_bzero(auth, strlen(auth));
	free(auth);
}

/* The settings of NB->nc that every request reads. */
static void
netbox_limits(struct netbox *nb)
{
	nb->lim = (struct http_limits){.url = nb->nc->url,
	                               .connect_timeout = nb->nc->connect_timeout,
	                               .request_timeout = nb->nc->request_timeout,
	                               .max_response = nb->nc->max_response};
}

struct netbox *
netbox_new(struct event_base *base, const struct config *cf, struct store *st, char **cause)
{
	struct netbox *nb = xcalloc(1, sizeof(*nb));

	nb->base = base;
	nb->cf = cf;
	nb->nc = &cf->netbox;
	nb->st = st;
	netbox_limits(nb);
	if (nb->nc->url != NULL && netbox_auth(nb->nc, &nb->auth, cause) == -1) {
		free(nb);
		return NULL;
	}
	/* Made without a url too: a reload may add one. */
	nb->cv = curlev_new(base, netbox_xfer_done_cb, nb);
	nb->multi = curlev_multi(nb->cv);
	nb->timer = evtimer_new(base, netbox_timer_cb, nb);
	nb->kick = evtimer_new(base, netbox_kick_cb, nb);
	if (nb->nc->url == NULL)
		return nb;
	/* The first run waits for the start-up polls; then every interval. */
	if (nb->nc->interval > 0)
		netbox_schedule(nb, nb->nc->interval < NETBOX_FIRST_DELAY ? nb->nc->interval
		                                                          : NETBOX_FIRST_DELAY);
	log_info("netbox: %s, %s", nb->nc->url,
	         nb->nc->interval > 0 ? "periodic sync" : "sync only when asked");
	return nb;
}

int
netbox_reconfigure(struct netbox *nb, const struct config *cf, char **cause)
{
	const struct config_netbox *nc = &cf->netbox;
	int had_url = nb->nc->url != NULL, changed;
	char *auth = NULL;

	if (nc->url != NULL && netbox_auth(nc, &auth, cause) == -1)
		return -1;
	changed = !config_netbox_equal(nb->nc, nc) || (auth == NULL) != (nb->auth == NULL) ||
	          (auth != NULL && strcmp(auth, nb->auth) != 0);
	nb->cf = cf;
	nb->nc = nc;
	if (!changed) {
		netbox_auth_free(auth);
		return 0;
	}
	netbox_auth_free(nb->auth);
	nb->auth = auth;
	netbox_limits(nb);
	/* A run plans and writes with one set of settings: one in flight stops (NetBox keeps
	 * what it wrote; the next run converges), and those waiting on it get its errors. */
	if (nb->run != NULL) {
		netbox_http_free(nb->run);
		netbox_error(nb->run, "stopped: a reload changed [netbox]");
		nb->run->failed = 1;
		netbox_run_finish(nb->run);
	}
	evtimer_del(nb->timer);
	if (nc->url == NULL) {
		event_del(nb->kick);
		for (size_t i = 0; i < nb->nqueued; i++) {
			ctl_reply_err(nb->queued[i].req, PROTO_E_BAD_REQUEST,
			              "a reload removed the NetBox url from %s", cf->path);
			json_decref(nb->queued[i].export);
		}
		nb->nqueued = 0;
		if (had_url)
			log_info("netbox: no url any more: no sync");
		return 0;
	}
	if (nb->run == NULL && nb->nqueued == 0 && nc->interval > 0)
		netbox_schedule(nb, had_url || nc->interval < NETBOX_FIRST_DELAY
		                        ? nc->interval
		                        : NETBOX_FIRST_DELAY);
	log_info("netbox: %s, %s", nc->url,
	         nc->interval > 0 ? "periodic sync" : "sync only when asked");
	return 0;
}

void
netbox_free(struct netbox *nb)
{
	if (nb == NULL)
		return;
	if (nb->run != NULL) {
		/* Its requests belong to the socket server, which frees them unanswered. */
		for (size_t i = 0; i < nb->run->nwaiters; i++)
			json_decref(nb->run->waiters[i].export);
		nb->run->nwaiters = 0;
		netbox_run_free(nb->run);
	}
	for (size_t i = 0; i < nb->nqueued; i++)
		json_decref(nb->queued[i].export);
	free(nb->queued);
	curlev_free(nb->cv);
	if (nb->timer != NULL)
		event_free(nb->timer);
	if (nb->kick != NULL)
		event_free(nb->kick);
	netbox_auth_free(nb->auth);
	free(nb);
}

/* ---- ids for an export ---- */

/* Each export row that NetBox holds gets "netbox_id" and "netbox_tags" (the slugs the record
 * should carry: the row's and those people added), so that an import updates and retires. */
static void
netbox_ids_answer(struct netbox_run *run)
{
	size_t nrecs = json_array_size(run->owned), ntags, i, j;
	struct nbplan_rec *recs = xcalloc(nrecs ? nrecs : 1, sizeof(*recs));
	struct nbplan_tag *tags = netbox_plan_tags(run, &ntags);
	struct nbplan_in in = {0};
	struct ipam_map m;
	json_t *row;

	in = (struct nbplan_in){.m = &m, .tags = tags, .ntags = ntags};
	netbox_map(run->nb->nc, NULL, &m);
	for (i = 0; i < nrecs; i++) {
		recs[i].rec = json_array_get(run->owned, i);
		nbplan_rec_init(&recs[i], &m);
	}
	for (i = 0; i < run->nwaiters; i++) {
		struct netbox_waiter *w = &run->waiters[i];

		json_array_foreach(json_object_get(w->export, "rows"), j, row)
		{
			const char *vrf = json_string_value(json_object_get(row, "vrf"));
			json_int_t vid =
			    vrf && *vrf ? json_integer_value(json_object_get(run->vrf_ids, vrf))
			                : 0;
			const struct nbplan_rec *r;
			json_t *obj;

			/* A VRF NetBox lacks, or has twice, holds none of our records. */
			if (vrf != NULL && *vrf != '\0' && vid <= 0)
				continue;
			netbox_map(run->nb->nc, vrf, &m);
			if ((r = nbplan_find(
			         recs, nrecs, json_string_value(json_object_get(row, "node_id")),
			         json_string_value(json_object_get(row, "address")), vid)) == NULL)
				continue;
			obj = ipam_netbox_object(row, &m);
			json_object_set_new(row, "netbox_id", json_integer(r->id));
			json_object_set_new(row, "netbox_tags", nbplan_tag_set(&in, r->rec, obj));
			json_decref(obj);
		}
		ctl_reply(w->req, w->export);
		w->export = NULL;
	}
	log_info("netbox: ids read for %zu export(s)", run->nwaiters);
	run->nwaiters = 0;
	free(recs);
	free(tags);
	netbox_run_finish(run);
}

void
netbox_export_ids(struct netbox *nb, struct ctl_req *req, json_t *res)
{
	nb->queued = xrealloc(nb->queued, (nb->nqueued + 1) * sizeof(*nb->queued));
	nb->queued[nb->nqueued++] = (struct netbox_waiter){req, NETBOX_IDS, res};
	if (nb->run == NULL)
		netbox_run_start(nb, NETBOX_IDS);
}

/* ---- a request ---- */

void
netbox_request(struct netbox *nb, struct ctl_req *req, int dry)
{
	log_info("netbox: %s requested by uid %u", dry ? "dry run" : "sync", (unsigned)req->uid);
	nb->queued = xrealloc(nb->queued, (nb->nqueued + 1) * sizeof(*nb->queued));
	nb->queued[nb->nqueued++] = (struct netbox_waiter){req, dry, NULL};
	if (nb->run == NULL)
		netbox_run_start(nb, dry);
}
