/* ops.c: the socket operations, dispatched through the one table in proto-ops.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "entity.h"
#include "events.h"
#include "hist.h"
#include "log.h"
#include "metrics.h"
#include "ops-checks.h"
#include "ops.h"
#include "proto.h"
#include "retain.h"
#include "sbuf.h"

typedef void (*ops_handler)(struct tsinvd *d, struct ctl_req *req);

#define PROTO_OP(sym, name, flags, args, need, help)                                               \
	static void ops_##sym(struct tsinvd *, struct ctl_req *);
#include "proto-ops.h"
#undef PROTO_OP

static const ops_handler ops_handlers[PROTO_OP__COUNT] = {
#define PROTO_OP(sym, name, flags, args, need, help) [PROTO_OP_##sym] = ops_##sym,
#include "proto-ops.h"
#undef PROTO_OP
};

void
ops_dispatch(struct ctl_req *req, void *arg)
{
	if (req->op < 0 || req->op >= PROTO_OP__COUNT) {
		ctl_reply_err(req, PROTO_E_UNKNOWN_OP, "unknown operation");
		return;
	}
	req->mark = store_damage(((struct tsinvd *)arg)->st, NULL);
	ops_handlers[req->op](arg, req);
}

int
ops_guard(struct ctl_req *req, void *arg, const char **code, char **msg)
{
	struct tsinvd *d = arg;
	const char *first;

	if (store_damage(d->st, &first) == req->mark)
		return 0;
	/* A read met a damaged record while this answer was made: it may be short or wrong. */
	*code = PROTO_E_DAMAGED;
	*msg = xasprintf("%s; this answer is not given (tsinvctl store verify lists the damage)",
	                 first != NULL ? first : "the store has a damaged record");
	return -1;
}

/* The helpers below read args that ctl checked against the op's spec (proto_check_args) before
 * dispatch: a member is absent or of its declared type. */

/* A string argument, or NULL when absent. */
static const char *
ops_str(struct ctl_req *req, const char *key)
{
	return json_string_value(json_object_get(req->args, key));
}

/* A boolean argument: 0 when absent. */
static int
ops_flag(struct ctl_req *req, const char *key)
{
	return json_is_true(json_object_get(req->args, key));
}

/* The tailnet a request names, checked to be configured, or NULL when it names none. -1 after
 * an error reply. */
static int
ops_tailnet_arg(struct tsinvd *d, struct ctl_req *req, const char **name)
{
	*name = ops_str(req, "tailnet");
	if (*name != NULL && config_tailnet_find(d->cf, *name) == NULL) {
		ctl_reply_err(req, PROTO_E_NOT_FOUND, "no tailnet \"%s\" in %s", *name,
		              d->cf->path);
		return -1;
	}
	return 0;
}

/* The tailnet a request names, else default_tailnet, else the only one. NULL after an error
 * reply, which lists the tailnets so that a client can ask each. */
static const char *
ops_tailnet(struct tsinvd *d, struct ctl_req *req)
{
	const char *name;
	struct sbuf sb;
	json_t *names;

	if (ops_tailnet_arg(d, req, &name) == -1)
		return NULL;
	if (name != NULL)
		return name;
	if (d->cf->default_tailnet != NULL)
		return d->cf->default_tailnet;
	if (d->cf->ntailnets == 1)
		return d->cf->tailnets[0].name;
	names = json_array();
	sbuf_init(&sb);
	for (size_t i = 0; i < d->cf->ntailnets; i++) {
		json_array_append_new(names, json_string(d->cf->tailnets[i].name));
		sbuf_addf(&sb, "%s%s", i > 0 ? ", " : "", d->cf->tailnets[i].name);
	}
	char *msg = xasprintf("this daemon keeps %zu tailnets (%s): name one with --tailnet NAME, "
	                      "or set default_tailnet in [daemon]",
	                      d->cf->ntailnets, sb.p);
	json_t *data = json_pack("{s:o}", "tailnets", names);

	ctl_reply_err_data(req, PROTO_E_TAILNET_REQUIRED, data, msg);
	json_decref(data);
	free(msg);
	sbuf_free(&sb);
	return NULL;
}

/* A time argument KEY: TSTIME_NONE when absent; -1 after an error reply. */
static int
ops_time_arg(struct ctl_req *req, const char *key, tstime_t *t)
{
	const char *s = ops_str(req, key);
	char *cause = NULL;

	*t = TSTIME_NONE;
	if (s != NULL && tstime_parse_any(s, tstime_now(), t, &cause) == -1) {
		ctl_reply_err(req, PROTO_E_BAD_REQUEST, "%s: %s", key, cause);
		free(cause);
		return -1;
	}
	return 0;
}

/* The "at" argument: TSTIME_NONE when absent; -1 after an error reply. */
static int
ops_at(struct ctl_req *req, tstime_t *at)
{
	const char *s = ops_str(req, "at");
	char *cause = NULL;

	*at = TSTIME_NONE;
	if (s != NULL && tstime_parse_any(s, tstime_now(), at, &cause) == -1) {
		ctl_reply_err(req, PROTO_E_BAD_REQUEST, "at: %s", cause);
		free(cause);
		return -1;
	}
	return 0;
}

/* A duration argument into *OUT, left alone when absent; -1 after an error reply. */
static int
ops_duration(struct ctl_req *req, const char *key, int64_t *out)
{
	const char *s = ops_str(req, key);
	char *cause = NULL;

	if (s != NULL && tstime_parse_duration(s, out, &cause) == -1) {
		ctl_reply_err(req, PROTO_E_BAD_REQUEST, "%s: %s", key, cause);
		free(cause);
		return -1;
	}
	return 0;
}

static void
ops_answer(struct ctl_req *req, int rc, json_t *res, char *cause)
{
	if (rc == HIST_OK)
		ctl_reply(req, res);
	else if (rc == HIST_AMBIGUOUS) {
		/* Never one picked silently: the error lists who it may be (RES's "candidates"). */
		ctl_reply_err_data(req, PROTO_E_AMBIGUOUS, res, cause);
		json_decref(res);
	} else
		ctl_reply_err(req, rc == HIST_NOTFOUND ? PROTO_E_NOT_FOUND : PROTO_E_INTERNAL, "%s",
		              cause ? cause : "failed");
	free(cause);
}

static void
ops_hello(struct tsinvd *d, struct ctl_req *req)
{
	json_t *res = json_object(), *ops = json_array();

	for (int i = 0; i < PROTO_OP__COUNT; i++) {
		char *args = proto_op_args_text(&proto_ops[i]);

		json_array_append_new(ops,
		                      json_pack("{s:s, s:s, s:s, s:b}", "name", proto_ops[i].name,
		                                "args", args, "help", proto_ops[i].help, "write",
		                                (proto_ops[i].flags & PROTO_F_WRITE) != 0));
		free(args);
	}
	json_object_set_new(res, "protocol", json_integer(PROTO_VERSION));
	json_object_set_new(res, "version", json_string(PACKAGE_VERSION));
	json_object_set_new(res, "ops", ops);
	ctl_reply(req, res);
}

/* Whether the credential may read the endpoint, and with which kind of credential the last
 * good poll was made: "access" is "ok", "refused" (HTTP 403: "scope_needed" names the scope)
 * or "unknown" (not polled successfully yet). */
static void
ops_status_access(json_t *j, struct tsinvd *d, const char *tailnet, const char *endpoint,
                  const struct hist_endpoint *ep)
{
	json_t *a = poller_access(d->pl, tailnet, endpoint);
	int refused = json_is_true(json_object_get(a, "refused"));

	json_object_set(j, "credential", json_object_get(a, "credential") ?: json_null());
	json_object_set_new(j, "last_ok_credential",
	                    ep->credential[0] != '\0' ? json_string(ep->credential) : json_null());
	json_object_set_new(j, "access",
	                    json_string(refused                         ? "refused"
	                                : strcmp(ep->result, "ok") == 0 ? "ok"
	                                                                : "unknown"));
	json_object_set(j, "scope_needed", refused ? json_object_get(a, "scope") : json_null());
	/* Devices the credential no longer shows, and why they are not counted as deleted. */
	if (ep->hidden > 0) {
		json_object_set_new(j, "not_visible", json_integer((json_int_t)ep->hidden));
		json_object_set_new(j, "not_visible_reason",
		                    json_string("devices shared into the tailnet are not listed to "
		                                "an OAuth credential: their presence is unknown, "
		                                "not deleted"));
	}
	/* Entities the last list left out whose deletion waits for confirmation. */
	json_object_set_new(j, "awaiting_confirmation",
	                    json_integer((json_int_t)ep->pending_confirm));
	json_decref(a);
}

static void
ops_status(struct tsinvd *d, struct ctl_req *req)
{
	json_t *res = json_object(), *tailnets = json_array();
	tstime_t now = tstime_now();
	uint64_t used, map;
	char *cause = NULL;

	store_sizes(d->st, &used, &map);
	json_object_set_new(res, "version", json_string(PACKAGE_VERSION));
	json_object_set_new(res, "pid", json_integer(getpid()));
	json_object_set_new(res, "started", tstime_json(d->started));
	json_object_set_new(res, "uptime_s", json_integer((now - d->started) / TSTIME_SEC));
	json_object_set_new(res, "store",
	                    json_pack("{s:s, s:I, s:I, s:i, s:b, s:I}", "path", store_path(d->st),
	                              "used_bytes", (json_int_t)used, "map_bytes", (json_int_t)map,
	                              "schema", store_schema(d->st), "read_only",
	                              store_read_only(d->st), "damaged_reads",
	                              (json_int_t)store_damage(d->st, NULL)));
	for (size_t i = 0; i < d->cf->ntailnets; i++) {
		const char *name = d->cf->tailnets[i].name;
		json_t *eps = json_array();

		for (const char *const *e = poller_endpoints; *e != NULL; e++) {
			struct hist_endpoint ep;
			json_t *j;

			if (!(d->cf->tailnets[i].endpoints & 1u << (e - poller_endpoints)))
				continue;
			if (hist_endpoint_get(d->st, name, *e, &ep, &cause) == -1) {
				ctl_reply_err(req, PROTO_E_INTERNAL, "%s", cause);
				free(cause);
				json_decref(eps);
				json_decref(tailnets);
				json_decref(res);
				return;
			}
			j = json_object();
			json_object_set_new(j, "name", json_string(*e));
			json_object_set_new(j, "last_poll", tstime_json(ep.last_poll));
			json_object_set_new(j, "last_ok", tstime_json(ep.last_ok));
			json_object_set_new(j, "result", json_string(ep.result));
			json_object_set_new(j, "error",
			                    ep.error ? json_string(ep.error) : json_null());
			json_object_set_new(j, "age_s",
			                    ep.last_poll == TSTIME_NONE
			                        ? json_null()
			                        : json_integer((now - ep.last_poll) / TSTIME_SEC));
			json_object_set_new(j, "next_poll",
			                    d->pl == NULL
			                        ? json_null()
			                        : tstime_json(poller_next(d->pl, name, *e)));
			json_object_set_new(j, "entities", json_integer((json_int_t)ep.entities));
			json_object_set_new(j, "failures", json_integer(ep.failures));
			ops_status_access(j, d, name, *e, &ep);
			json_array_append_new(eps, j);
			hist_endpoint_free(&ep);
		}
		json_array_append_new(tailnets,
		                      json_pack("{s:s, s:o}", "name", name, "endpoints", eps));
	}
	json_object_set_new(res, "tailnets", tailnets);
	ctl_reply(req, res);
}

/* A frame per endpoint as its poll ends: {"tailnet","endpoint","result",...,"n","total"}. */
static void
ops_poll_each(json_t *result, size_t n, size_t total, void *arg)
{
	json_t *p = json_copy(result);

	json_object_set_new(p, "n", json_integer((json_int_t)n));
	json_object_set_new(p, "total", json_integer((json_int_t)total));
	ctl_progress(arg, p);
}

static void
ops_poll_done(json_t *results, void *arg)
{
	ctl_reply(arg, json_pack("{s:O}", "polls", results));
}

/* What a read-only daemon answers to an op that would poll or write. */
static void
ops_read_only(struct tsinvd *d, struct ctl_req *req)
{
	ctl_reply_err(req, PROTO_E_DENIED,
	              "this tsinvd serves %s read-only (--read-only or read_only = yes): it polls, "
	              "runs and writes nothing",
	              d->cf->state_dir);
}

static void
ops_poll(struct tsinvd *d, struct ctl_req *req)
{
	const char *name;

	if (ops_tailnet_arg(d, req, &name) == -1)
		return;
	if (d->pl == NULL) {
		ops_read_only(d, req);
		return;
	}
	log_info("poll requested by uid %u", (unsigned)req->uid);
	poller_poll_each(d->pl, name, ops_poll_each, ops_poll_done, req);
}

static int
ops_devices_slice(void *arg, struct sbuf *sb, size_t max)
{
	return hist_devices_list_next(arg, sb, max);
}

static void
ops_devices_done(void *arg)
{
	hist_devices_list_close(arg);
}

/* A slice at a time: 100k devices make 150 MB that would hold the loop and the memory. */
static void
ops_devices_list(struct tsinvd *d, struct ctl_req *req)
{
	const char *tailnet = ops_tailnet(d, req);
	struct hist_devlist *dl;
	char *cause = NULL;
	tstime_t at;

	if (tailnet == NULL || ops_at(req, &at) == -1)
		return;
	if (hist_devices_list_open(d->st, tailnet, at, &dl, &cause) != HIST_OK) {
		ops_answer(req, HIST_ERR, NULL, cause);
		return;
	}
	if (ops_str(req, "fields") != NULL &&
	    hist_devices_list_fields(dl, ops_str(req, "fields"), &cause) == -1) {
		hist_devices_list_close(dl);
		ctl_reply_err(req, PROTO_E_BAD_REQUEST, "%s", cause);
		free(cause);
		return;
	}
	ctl_reply_sliced(req, ops_devices_slice, ops_devices_done, dl);
}

static void
ops_device_get(struct tsinvd *d, struct ctl_req *req)
{
	const char *tailnet = ops_tailnet(d, req), *query;
	char *cause = NULL;
	json_t *res = NULL;
	int rc;
	tstime_t at;

	/* After an error reply req is gone: read nothing more from it. */
	if (tailnet == NULL || ops_at(req, &at) == -1)
		return;
	query = ops_str(req, "query");
	rc = hist_device_get(d->st, tailnet, query, at, ops_flag(req, "history"), &res, &cause);
	ops_answer(req, rc, res, cause);
}

static void
ops_ip_at(struct tsinvd *d, struct ctl_req *req)
{
	const char *tailnet = ops_tailnet(d, req), *ip;
	struct tsaddr addr;
	char *cause = NULL;
	json_t *res = NULL;
	int rc;
	tstime_t at;

	if (tailnet == NULL || ops_at(req, &at) == -1)
		return;
	ip = ops_str(req, "ip");
	if (addr_parse(ip, &addr) == -1) {
		ctl_reply_err(req, PROTO_E_BAD_REQUEST,
		              "ip: \"%.64s\" is not an IPv4 or IPv6 address", ip);
		return;
	}
	rc = hist_ip_at(d->st, tailnet, &addr, at, ops_flag(req, "history"), &res, &cause);
	ops_answer(req, rc, res, cause);
}

void
ops_committed(void *arg)
{
	struct tsinvd *d = arg;

	follow_wake(d->fw);
	hooks_wake(d->hk);
}

#define OPS_EVENTS_LIMIT 1000
#define OPS_EVENTS_SCAN 100000 /* events looked at by one events.list, matching or not */

/* A since behind what retention kept: an error that says so, never a list with a hole. -1
 * after the error reply. */
static int
ops_events_pruned(struct tsinvd *d, struct ctl_req *req, uint64_t since)
{
	char *gap = retain_events_gap(d->st, since, NULL);

	if (gap == NULL)
		return 0;
	ctl_reply_err(req, PROTO_E_NOT_FOUND, "since: %s", gap);
	free(gap);
	return -1;
}

/* The filters of events.list and events.follow: since (a seq or a TIME), type globs, tailnet.
 * -1 after an error reply. */
static int
ops_event_filter(struct tsinvd *d, struct ctl_req *req, uint64_t *since, const char **types,
                 const char **tailnet, int since_default_newest)
{
	json_t *s = json_object_get(req->args, "since");
	char *cause = NULL;
	tstime_t t;

	*types = ops_str(req, "type");
	if (ops_tailnet_arg(d, req, tailnet) == -1)
		return -1;
	/* A glob that names no event type is a typo, not a filter that matches nothing. */
	if (*types != NULL) {
		const char *p = *types;
		char buf[128];
		int rc;

		while ((rc = event_glob_next(&p, buf, sizeof(buf))) != 0) {
			if (rc == -1) {
				ctl_reply_err(req, PROTO_E_BAD_REQUEST, "type: a glob is too long");
				return -1;
			}
			if (!event_glob_known(buf)) {
				ctl_reply_err(
				    req, PROTO_E_BAD_REQUEST,
				    "type: \"%s\" matches no event type (see tsinvctl events "
				    "--help)",
				    buf);
				return -1;
			}
		}
	}
	if (s == NULL) {
		*since = 0;
		if (since_default_newest && event_last_seq(d->st, since, &cause) == -1)
			goto internal;
		return 0;
	}
	if (json_is_integer(s)) {
		*since = (uint64_t)json_integer_value(s);
		return ops_events_pruned(d, req, *since);
	}
	if (tstime_parse_any(json_string_value(s), tstime_now(), &t, &cause) == -1) {
		ctl_reply_err(req, PROTO_E_BAD_REQUEST, "since: %s", cause);
		free(cause);
		return -1;
	}
	if (event_seq_before(d->st, t, since, &cause) == 0)
		return ops_events_pruned(d, req, *since);
internal:
	ctl_reply_err(req, PROTO_E_INTERNAL, "%s", cause);
	free(cause);
	return -1;
}

struct ops_events {
	struct sbuf sb;
	const char *types, *tailnet;
	size_t n, limit;
	uint64_t last;
	tstime_t until; /* TSTIME_NONE: up to the newest */
	int past_until; /* the scan met an event recorded after until: the list is complete */
};

static int
ops_events_cb(uint64_t seq, const char *text, size_t len, void *arg)
{
	struct ops_events *e = arg;

	/* Events are kept in the order they were recorded, so the first one after until ends the
	 * list (its seq is not passed: "next" stays before it). */
	if (e->until != TSTIME_NONE) {
		const char *p = memmem(text, len, "\"time\":\"", 8);
		char buf[TSTIME_STRLEN];
		size_t n;
		tstime_t t;

		if (p != NULL && (n = strcspn(p + 8, "\"")) < sizeof(buf)) {
			memcpy(buf, p + 8, n);
			buf[n] = '\0';
			if (tstime_parse_rfc3339(buf, &t) == 0 && t > e->until) {
				e->past_until = 1;
				return 1;
			}
		}
	}
	e->last = seq;
	if (e->types != NULL || e->tailnet != NULL) {
		json_t *ev = json_loadb(text, len, 0, NULL);
		const char *type = json_string_value(json_object_get(ev, "type"));
		const char *tn = json_string_value(json_object_get(ev, "tailnet"));
		int want = (e->types == NULL || event_match_list(e->types, type ? type : "")) &&
		           (e->tailnet == NULL || (tn != NULL && strcmp(tn, e->tailnet) == 0));

		json_decref(ev);
		if (!want)
			return 0;
	}
	if (e->n++ > 0)
		sbuf_addc(&e->sb, ',');
	sbuf_add(&e->sb, text, len);
	return e->n == e->limit;
}

static void
ops_events_list(struct tsinvd *d, struct ctl_req *req)
{
	struct ops_events e = {.limit = OPS_EVENTS_LIMIT};
	json_t *lim = json_object_get(req->args, "limit");
	uint64_t since, newest;
	char *cause = NULL, *text;

	if (ops_event_filter(d, req, &since, &e.types, &e.tailnet, 0) == -1)
		return;
	/* until is read as at is: the same forms, and never later than now. */
	if (ops_time_arg(req, "until", &e.until) == -1)
		return;
	if (lim != NULL)
		e.limit = (size_t)json_integer_value(lim);
	e.last = since;
	sbuf_init(&e.sb);
	sbuf_adds(&e.sb, "{\"events\":[");
	/* Bounded work per request: a rare filter on a long log answers with "more" and "next". */
	if (event_scan(d->st, since, OPS_EVENTS_SCAN, ops_events_cb, &e, &cause) == -1 ||
	    event_last_seq(d->st, &newest, &cause) == -1) {
		sbuf_free(&e.sb);
		ctl_reply_err(req, PROTO_E_INTERNAL, "%s", cause);
		free(cause);
		return;
	}
	/* "next": where a client continues from; "more": the limit cut the list. */
	sbuf_addf(&e.sb, "],\"last_seq\":%llu,\"next\":%llu,\"more\":%s}",
	          (unsigned long long)newest, (unsigned long long)e.last,
	          e.last < newest && !e.past_until ? "true" : "false");
	text = sbuf_steal(&e.sb);
	ctl_reply_raw(req, text, strlen(text));
	free(text);
}

static void
ops_events_follow(struct tsinvd *d, struct ctl_req *req)
{
	const char *types, *tailnet;
	uint64_t since;

	if (ops_event_filter(d, req, &since, &types, &tailnet, 1) == -1)
		return;
	log_info("event follower (uid %u) from seq %llu", (unsigned)req->uid,
	         (unsigned long long)since);
	follow_start(d->fw, req, since, types, tailnet);
}

static void
ops_hooks(struct tsinvd *d, struct ctl_req *req)
{
	ctl_reply(req, d->hk != NULL ? hooks_status(d->hk) : json_pack("{s:[]}", "hooks"));
}

#define OPS_RELEASED_WINDOW (7 * 86400 * TSTIME_SEC)

static void
ops_addresses_list(struct tsinvd *d, struct ctl_req *req)
{
	const char *tailnet = ops_tailnet(d, req);
	int64_t window = OPS_RELEASED_WINDOW;
	char *cause = NULL;
	json_t *res = NULL;
	tstime_t at;

	if (tailnet == NULL || ops_at(req, &at) == -1 || ops_duration(req, "window", &window) == -1)
		return;
	int rc = hist_addresses(d->st, tailnet, at, window, &res, &cause);

	ops_answer(req, rc, res, cause);
}

/* Rows looked at per slice of an export before the clock is read again, and the time a slice
 * may take: an export of 100k addresses is written in turns of the loop that each leave it to
 * the other clients within about a millisecond. */
#define OPS_EXPORT_STEP 8
#define OPS_EXPORT_TURN_NS 1000000L

/* Nanoseconds on the monotonic clock. */
static int64_t
ops_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* An export written a slice at a time: each tailnet's addresses from one read transaction
 * opened before the reply began, so that a failure can still be a clean error. */
struct ops_export {
	struct hist_addrlist **al; /* one per tailnet exported */
	char **names, **vrfs;      /* copies: a reload may free the configuration meanwhile */
	size_t n, i;
	struct ipam_map *maps; /* only .vrf, all that ipam_row reads */
	json_t *tns;           /* the "tailnets" member, built as each one ends */
	char *unknown;         /* why the export is not covered, or NULL */
	json_t *tail;          /* at, window_s, map: written after the rows */
	size_t nrows;
	int state; /* 0 nothing written, 1 in the rows, 2 done */
};

static void
ops_export_free(void *arg)
{
	struct ops_export *x = arg;

	for (size_t i = 0; i < x->n; i++) {
		hist_addresses_close(x->al[i]);
		free(x->names[i]);
		free(x->vrfs[i]);
	}
	free(x->al);
	free(x->names);
	free(x->vrfs);
	free(x->maps);
	json_decref(x->tns);
	json_decref(x->tail);
	free(x->unknown);
	free(x);
}

/* A tailnet's listing ended: its entry in "tailnets", and its coverage in the export's. */
static void
ops_export_tailnet_done(struct ops_export *x, size_t i)
{
	json_t *one = hist_addresses_head(x->al[i]);

	json_array_append_new(x->tns,
	                      json_pack("{s:s, s:s?, s:O, s:O, s:O?}", "tailnet", x->names[i],
	                                "vrf", x->vrfs[i], "at", json_object_get(one, "at"),
	                                "coverage", json_object_get(one, "coverage"), "reason",
	                                json_object_get(one, "reason")));
	if (strcmp(json_string_value(json_object_get(one, "coverage")), "unknown") == 0) {
		const char *why = json_string_value(json_object_get(one, "reason"));
		char *both = x->unknown != NULL
		                 ? xasprintf("%s; tailnet %s: %s", x->unknown, x->names[i], why)
		                 : xasprintf("tailnet %s: %s", x->names[i], why);

		free(x->unknown);
		x->unknown = both;
	}
}

static int
ops_export_slice(void *arg, struct sbuf *sb, size_t max)
{
	struct ops_export *x = arg;
	int64_t until = ops_mono_ns() + OPS_EXPORT_TURN_NS;
	json_t *rows = json_array(), *row;
	struct ipam_rows r;
	size_t k;
	char *text;

	if (x->state == 0) {
		sbuf_adds(sb, "{\"rows\":[");
		x->state = 1;
	}
	while (x->state == 1 && sb->len < max && ops_mono_ns() < until) {
		if (x->i == x->n) {
			/* The members that depend on every row come after them. */
			json_object_set(x->tail, "tailnets", x->tns);
			json_object_set_new(
			    x->tail, "coverage",
			    json_string(x->unknown != NULL ? "unknown" : "covered"));
			if (x->unknown != NULL)
				json_object_set_new(x->tail, "reason", json_string(x->unknown));
			if ((text = json_dumps(x->tail, JSON_COMPACT)) == NULL) {
				json_decref(rows);
				return -1;
			}
			sbuf_adds(sb, "],");
			sbuf_adds(sb, text + 1); /* without its "{" */
			free(text);
			x->state = 2;
			break;
		}
		r.m = &x->maps[x->i];
		r.rows = rows;
		if (hist_addresses_next(x->al[x->i], ipam_row_fn, &r, OPS_EXPORT_STEP) == 0) {
			ops_export_tailnet_done(x, x->i);
			x->i++;
		}
		json_array_foreach(rows, k, row)
		{
			if ((text = json_dumps(row, JSON_COMPACT)) == NULL) {
				json_decref(rows);
				return -1;
			}
			if (x->nrows++ > 0)
				sbuf_addc(sb, ',');
			sbuf_adds(sb, text);
			free(text);
		}
		json_array_clear(rows);
	}
	json_decref(rows);
	return x->state == 2 ? 0 : 1;
}

/* What an export says besides its rows: the time, the window and the NetBox mapping. */
static json_t *
ops_export_head(const struct config_netbox *nc, tstime_t at, int64_t window)
{
	return json_pack("{s:o, s:I, s:{s:s, s:s?, s:s, s:s, s:s}}", "at", tstime_json(at),
	                 "window_s", (json_int_t)(window / TSTIME_SEC), "map", "owner_tag",
	                 nc->owner_tag, "tag_prefix", nc->tag_prefix, "cf_node_id", nc->cf_node_id,
	                 "cf_tailnet", nc->cf_tailnet, "cf_last_seen", nc->cf_last_seen);
}

/* The export with NetBox's ids: built whole, since the ids are read from NetBox before the
 * reply. */
static void
ops_ipam_export_whole(struct tsinvd *d, struct ctl_req *req, const char *tailnet, tstime_t at,
                      int64_t window)
{
	const struct config_netbox *nc = &d->cf->netbox;
	json_t *res, *rows, *tns;
	char *cause = NULL, *unknown = NULL;
	struct ipam_rows x;

	rows = json_array();
	tns = json_array();
	x.rows = rows;
	for (size_t i = 0; i < d->cf->ntailnets; i++) {
		const char *name = d->cf->tailnets[i].name, *vrf = config_netbox_vrf(d->cf, name);
		struct ipam_map m;
		json_t *one = NULL;

		if (tailnet != NULL && strcmp(tailnet, name) != 0)
			continue;
		netbox_map(nc, vrf, &m);
		x.m = &m;
		if (hist_addresses_each(d->st, name, at, window, IPAM_FIELDS, &one, ipam_row_fn, &x,
		                        &cause) != HIST_OK) {
			ctl_reply_err(req, PROTO_E_INTERNAL, "%s", cause ? cause : "failed");
			free(cause);
			free(unknown);
			json_decref(rows);
			json_decref(tns);
			return;
		}
		json_array_append_new(tns, json_pack("{s:s, s:s?, s:O, s:O, s:O?}", "tailnet", name,
		                                     "vrf", vrf, "at", json_object_get(one, "at"),
		                                     "coverage", json_object_get(one, "coverage"),
		                                     "reason", json_object_get(one, "reason")));
		if (strcmp(json_string_value(json_object_get(one, "coverage")), "unknown") == 0) {
			const char *why = json_string_value(json_object_get(one, "reason"));
			char *both = unknown != NULL
			                 ? xasprintf("%s; tailnet %s: %s", unknown, name, why)
			                 : xasprintf("tailnet %s: %s", name, why);

			free(unknown);
			unknown = both;
		}
		json_decref(one);
	}
	res = ops_export_head(nc, at, window);
	json_object_set_new(res, "tailnets", tns);
	json_object_set_new(res, "rows", rows);
	/* One tailnet not covered makes the whole export unknown: a CMDB must not take it whole. */
	json_object_set_new(res, "coverage", json_string(unknown != NULL ? "unknown" : "covered"));
	if (unknown != NULL)
		json_object_set_new(res, "reason", json_string(unknown));
	free(unknown);
	if (d->nb == NULL) {
		json_decref(res);
		ops_read_only(d, req);
	} else
		netbox_export_ids(d->nb, req, res);
}

/* {tailnet, at, window, netbox_ids}: every address of one tailnet (or of all) held at AT, and those
 * released in WINDOW before it (default deprecated_window), as plain rows, with the mapping
 * the client needs to write NetBox's formats. */
static void
ops_ipam_export(struct tsinvd *d, struct ctl_req *req)
{
	const struct config_netbox *nc = &d->cf->netbox;
	const char *tailnet = NULL, *ats = NULL, *ws = NULL;
	int64_t window = nc->deprecated_window;
	tstime_t at = TSTIME_NONE;
	struct ops_export *ex;
	const char *vrf;
	char *cause = NULL;
	int ids = 0;

	if (proto_arg_string(req->args, "tailnet", &tailnet, &cause) == -1 ||
	    proto_arg_bool(req->args, "netbox_ids", &ids, &cause) == -1 ||
	    proto_arg_string(req->args, "at", &ats, &cause) == -1 ||
	    proto_arg_string(req->args, "window", &ws, &cause) == -1 ||
	    (ats != NULL && tstime_parse_any(ats, tstime_now(), &at, &cause) == -1) ||
	    (ws != NULL && tstime_parse_duration(ws, &window, &cause) == -1)) {
		ctl_reply_err(req, PROTO_E_BAD_REQUEST, "%s", cause);
		free(cause);
		return;
	}
	if (tailnet != NULL && config_tailnet_find(d->cf, tailnet) == NULL) {
		ctl_reply_err(req, PROTO_E_NOT_FOUND, "no tailnet \"%s\" in %s", tailnet,
		              d->cf->path);
		return;
	}
	if (ids && nc->url == NULL) {
		ctl_reply_err(req, PROTO_E_BAD_REQUEST,
		              "NetBox's ids need NetBox: set url and token_file in [netbox] of %s",
		              d->cf->path);
		return;
	}
	if (ids) {
		ops_ipam_export_whole(d, req, tailnet, at, window);
		return;
	}
	/* Every tailnet's read transaction first: a store that cannot be read is an error
	 * reply, not a reply cut short. */
	ex = xcalloc(1, sizeof *ex);
	ex->al = xcalloc(d->cf->ntailnets, sizeof *ex->al);
	ex->names = xcalloc(d->cf->ntailnets, sizeof *ex->names);
	ex->vrfs = xcalloc(d->cf->ntailnets, sizeof *ex->vrfs);
	ex->maps = xcalloc(d->cf->ntailnets, sizeof *ex->maps);
	ex->tns = json_array();
	for (size_t i = 0; i < d->cf->ntailnets; i++) {
		const char *name = d->cf->tailnets[i].name;

		if (tailnet != NULL && strcmp(tailnet, name) != 0)
			continue;
		if (hist_addresses_open(d->st, name, at, window, IPAM_FIELDS, &ex->al[ex->n],
		                        &cause) != HIST_OK) {
			ctl_reply_err(req, PROTO_E_INTERNAL, "%s", cause ? cause : "failed");
			free(cause);
			ops_export_free(ex);
			return;
		}
		vrf = config_netbox_vrf(d->cf, name);
		ex->names[ex->n] = xstrdup(name);
		ex->vrfs[ex->n] = vrf != NULL ? xstrdup(vrf) : NULL;
		ex->maps[ex->n].vrf = ex->vrfs[ex->n];
		ex->n++;
	}
	ex->tail = ops_export_head(nc, at, window);
	ctl_reply_sliced(req, ops_export_slice, ops_export_free, ex);
}

/* {dry_run}: a NetBox sync now, or after the run in flight. */
static void
ops_netbox_sync(struct tsinvd *d, struct ctl_req *req)
{
	char *cause = NULL;
	int dry = 0;

	if (proto_arg_bool(req->args, "dry_run", &dry, &cause) == -1) {
		ctl_reply_err(req, PROTO_E_BAD_REQUEST, "%s", cause);
		free(cause);
		return;
	}
	if (d->cf->netbox.url == NULL) {
		ctl_reply_err(req, PROTO_E_BAD_REQUEST,
		              "no NetBox configured: set url and token_file in [netbox] of %s",
		              d->cf->path);
		return;
	}
	if (d->nb == NULL) {
		ops_read_only(d, req);
		return;
	}
	netbox_request(d->nb, req, dry);
}

/* audit.list: the stored audit log entries, each as received. since is a time here: the log's
 * entries have no sequence numbers. */
static void
ops_audit_list(struct tsinvd *d, struct ctl_req *req)
{
	struct audit_query q = {.limit = OPS_EVENTS_LIMIT};
	const char *tailnet = ops_tailnet(d, req);
	json_t *lim = json_object_get(req->args, "limit");
	char *cause = NULL, *out;
	size_t len;

	if (tailnet == NULL)
		return;
	if (json_is_integer(json_object_get(req->args, "since"))) {
		ctl_reply_err(
		    req, PROTO_E_BAD_REQUEST,
		    "since: a time is needed (audit log entries have no sequence numbers)");
		return;
	}
	if (ops_time_arg(req, "since", &q.since) == -1 ||
	    ops_time_arg(req, "until", &q.until) == -1)
		return;
	if (q.since != TSTIME_NONE && q.until != TSTIME_NONE && q.since > q.until) {
		ctl_reply_err(req, PROTO_E_BAD_REQUEST, "since is after until");
		return;
	}
	q.actor = ops_str(req, "actor");
	q.target = ops_str(req, "target");
	q.action = ops_str(req, "action");
	q.origin = ops_str(req, "origin");
	if (lim != NULL)
		q.limit = (size_t)json_integer_value(lim);
	if (audit_list(d->st, tailnet, &q, &out, &len, &cause) != HIST_OK) {
		ctl_reply_err(req, PROTO_E_INTERNAL, "%s", cause != NULL ? cause : "failed");
		free(cause);
		return;
	}
	ctl_reply_raw(req, out, len);
	free(out);
}

/* ---- keys, users, webhooks, policy, DNS, settings ---- */

typedef int (*ops_list_fn)(struct store *, const char *, tstime_t, json_t **, char **);
typedef int (*ops_doc_fn)(struct store *, const char *, tstime_t, int, json_t **, char **);

/* Answers, saying so when TAILNET does not poll ENDPOINT: what it shows (or lacks) is then
 * history from before, not "nothing yet". */
static void
ops_answer_ep(struct tsinvd *d, struct ctl_req *req, const char *tailnet, const char *endpoint,
              int rc, json_t *res, char *cause)
{
	const struct config_tailnet *tn = config_tailnet_find(d->cf, tailnet);
	char *note = NULL;
	size_t i;

	for (i = 0; poller_endpoints[i] != NULL; i++)
		if (strcmp(poller_endpoints[i], endpoint) == 0)
			break;
	if (tn != NULL && poller_endpoints[i] != NULL && !(tn->endpoints & 1u << i))
		note =
		    xasprintf("tailnet %s does not poll %s (its endpoints option leaves it out): "
		              "only what was recorded before",
		              tailnet, endpoint);
	if (note != NULL && rc == HIST_OK) {
		json_object_set_new(res, "note", json_string(note));
		if (strcmp(json_string_value(json_object_get(res, "coverage")) ?: "", "unknown") ==
		    0)
			json_object_set_new(res, "reason", json_string(note));
	} else if (note != NULL && cause != NULL) {
		char *both = xasprintf("%s; %s", cause, note);

		free(cause);
		cause = both;
	}
	free(note);
	ops_answer(req, rc, res, cause);
}

static void
ops_list(struct tsinvd *d, struct ctl_req *req, const char *endpoint, ops_list_fn fn)
{
	const char *tailnet = ops_tailnet(d, req);
	char *cause = NULL;
	json_t *res = NULL;
	int rc;
	tstime_t at;

	if (tailnet == NULL || ops_at(req, &at) == -1)
		return;
	rc = fn(d->st, tailnet, at, &res, &cause);
	ops_answer_ep(d, req, tailnet, endpoint, rc, res, cause);
}

static void
ops_doc(struct tsinvd *d, struct ctl_req *req, const char *endpoint, ops_doc_fn fn)
{
	const char *tailnet = ops_tailnet(d, req);
	char *cause = NULL;
	json_t *res = NULL;
	int rc;
	tstime_t at;

	if (tailnet == NULL || ops_at(req, &at) == -1)
		return;
	rc = fn(d->st, tailnet, at, ops_flag(req, "history"), &res, &cause);
	ops_answer_ep(d, req, tailnet, endpoint, rc, res, cause);
}

/* users.list with history: the list, and "histories", every user's versions. */
static int
ops_users_histories(struct store *st, const char *tailnet, tstime_t at, json_t **out, char **cause)
{
	struct store_txn *txn;
	json_t *h = NULL;
	int rc;

	if ((rc = entity_users_list(st, tailnet, at, out, cause)) != HIST_OK)
		return rc;
	if (store_read_begin(st, &txn, cause) == -1)
		return HIST_ERR;
	rc = entity_user_histories_in(txn, tailnet, TSTIME_NONE, &h, cause);
	store_read_end(txn);
	if (rc == HIST_OK)
		json_object_set_new(*out, "histories", h);
	return rc;
}

static void
ops_user_get(struct tsinvd *d, struct ctl_req *req)
{
	const char *tailnet = ops_tailnet(d, req), *query;
	char *cause = NULL;
	json_t *res = NULL;
	int rc;
	tstime_t at;

	if (tailnet == NULL || ops_at(req, &at) == -1)
		return;
	query = ops_str(req, "query");
	rc = entity_user_get(d->st, tailnet, query, at, ops_flag(req, "history"), &res, &cause);
	ops_answer(req, rc, res, cause);
}

static void
ops_users_list(struct tsinvd *d, struct ctl_req *req)
{
	if (ops_flag(req, "history")) {
		ops_list(d, req, endpoints[ENDPOINT_users].name, ops_users_histories);
		return;
	}
	ops_list(d, req, endpoints[ENDPOINT_users].name, entity_users_list);
}

static void
ops_webhooks_list(struct tsinvd *d, struct ctl_req *req)
{
	ops_list(d, req, endpoints[ENDPOINT_webhooks].name, entity_webhooks_list);
}

static void
ops_dns_get(struct tsinvd *d, struct ctl_req *req)
{
	ops_doc(d, req, endpoints[ENDPOINT_dns].name, entity_dns_get);
}

static void
ops_settings_get(struct tsinvd *d, struct ctl_req *req)
{
	ops_doc(d, req, endpoints[ENDPOINT_settings].name, entity_settings_get);
}

static void
ops_keys_list(struct tsinvd *d, struct ctl_req *req)
{
	const char *tailnet = ops_tailnet(d, req);
	int64_t expiring = -1;
	char *cause = NULL;
	json_t *res = NULL;
	int rc;
	tstime_t at;

	if (tailnet == NULL || ops_at(req, &at) == -1 ||
	    ops_duration(req, "expiring", &expiring) == -1)
		return;
	rc = entity_keys_list_all(d->st, tailnet, at, expiring, ops_flag(req, "all"), &res, &cause);
	ops_answer_ep(d, req, tailnet, endpoints[ENDPOINT_keys].name, rc, res, cause);
}

static void
ops_policy_log(struct tsinvd *d, struct ctl_req *req)
{
	const char *tailnet = ops_tailnet(d, req);
	char *cause = NULL;
	json_t *res = NULL;
	int rc;

	if (tailnet == NULL)
		return;
	rc = entity_policy_log(d->st, tailnet, &res, &cause);
	ops_answer_ep(d, req, tailnet, endpoints[ENDPOINT_policy].name, rc, res, cause);
}

static void
ops_policy_get(struct tsinvd *d, struct ctl_req *req)
{
	const char *tailnet = ops_tailnet(d, req);
	json_t *rev, *res = NULL;
	int rc;
	char *cause = NULL, num[32];
	const char *r = NULL;
	tstime_t at;

	if (tailnet == NULL || ops_at(req, &at) == -1)
		return;
	rev = json_object_get(req->args, "rev");
	/* A revision by number ("rev":3 or "3") or by a prefix of its hash. */
	if (json_is_integer(rev)) {
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(rev));
		r = num;
	} else if (json_is_string(rev))
		r = json_string_value(rev);
	if (r != NULL && !proto_rev_ok(r)) {
		ctl_reply_err(
		    req, PROTO_E_BAD_REQUEST,
		    "rev: \"%s\" is neither a revision number nor at least 6 hex digits of "
		    "a sha256",
		    r);
		return;
	}
	if (r != NULL && at != TSTIME_NONE) {
		ctl_reply_err(req, PROTO_E_BAD_REQUEST, "give rev or at, not both");
		return;
	}
	rc = entity_policy_get(d->st, tailnet, r, at, &res, &cause);
	ops_answer_ep(d, req, tailnet, endpoints[ENDPOINT_policy].name, rc, res, cause);
}

static void
ops_store_stat_cb(void *arg, const char *db, uint64_t records, uint64_t bytes)
{
	json_array_append_new(arg, json_pack("{s:s, s:I, s:I}", "kind", db, "records",
	                                     (json_int_t)records, "bytes", (json_int_t)bytes));
}

/* Each tailnet's retain setting and horizon (null: nothing pruned yet), and the first event
 * the log still holds after pruning (0: none pruned). */
static json_t *
ops_store_retention(struct tsinvd *d, uint64_t *events_from)
{
	json_t *out = json_array();
	struct store_txn *txn;
	char *cause = NULL, dur[32];

	*events_from = 0;
	if (store_read_begin(d->st, &txn, &cause) == -1) {
		free(cause);
		return out;
	}
	for (size_t i = 0; i < d->cf->ntailnets; i++) {
		const struct config_tailnet *tc = &d->cf->tailnets[i];

		snprintf(dur, sizeof(dur), "forever");
		if (tc->retain > 0)
			tstime_format_duration(tc->retain, dur, sizeof(dur));
		json_array_append_new(
		    out, json_pack("{s:s, s:s, s:o}", "tailnet", tc->name, "retain", dur, "horizon",
		                   tstime_json(retain_horizon(txn, tc->name, NULL))));
	}
	*events_from = retain_events_from(txn, NULL);
	store_read_end(txn);
	return out;
}

static void
ops_store_info(struct tsinvd *d, struct ctl_req *req)
{
	json_t *kinds = json_array(), *retention;
	uint64_t events_from;
	uint64_t used, map, damaged;
	const char *first = NULL;
	char *cause = NULL;

	if (store_db_stats(d->st, ops_store_stat_cb, kinds, &cause) == -1) {
		json_decref(kinds);
		ctl_reply_err(req, PROTO_E_INTERNAL, "%s", cause);
		free(cause);
		return;
	}
	store_sizes(d->st, &used, &map);
	damaged = store_damage(d->st, &first);
	retention = ops_store_retention(d, &events_from);
	ctl_reply(req, json_pack("{s:s, s:i, s:b, s:I, s:I, s:o, s:I, s:s?, s:o, s:I}", "path",
	                         store_path(d->st), "schema", store_schema(d->st), "read_only",
	                         store_read_only(d->st), "used_bytes", (json_int_t)used,
	                         "map_bytes", (json_int_t)map, "kinds", kinds, "damaged_reads",
	                         (json_int_t)damaged, "first_damage", first, "retention", retention,
	                         "events_from", (json_int_t)events_from));
}

static void
ops_store_verify_cb(void *arg, const char *what, const char *why)
{
	json_array_append_new(arg, json_pack("{s:s, s:s}", "record", what, "problem", why));
}

/* The whole store in one read transaction, on the loop: seconds for a large store (see
 * tsinvctl(1)); the answer lists what is damaged, and "ok" says whether anything is. */
static void
ops_store_verify(struct tsinvd *d, struct ctl_req *req)
{
	json_t *damaged = json_array();
	uint64_t records = 0;
	tstime_t t0 = tstime_now();
	char *cause = NULL;
	int rc;

	if ((rc = store_verify(d->st, ops_store_verify_cb, damaged, &records, &cause)) == -1) {
		json_decref(damaged);
		ctl_reply_err(req, PROTO_E_INTERNAL, "%s", cause);
		free(cause);
		return;
	}
	if (rc == 1)
		log_warnx("store verify: %zu damaged record(s) in %s", json_array_size(damaged),
		          store_path(d->st));
	ctl_reply(req, json_pack("{s:s, s:b, s:I, s:I, s:o}", "path", store_path(d->st), "ok",
	                         rc == 0, "records", (json_int_t)records, "ms",
	                         (json_int_t)((tstime_now() - t0) / 1000), "damaged", damaged));
}

static void
ops_store_backup(struct tsinvd *d, struct ctl_req *req)
{
	const char *path = json_string_value(json_object_get(req->args, "path"));
	tstime_t t0 = tstime_now();
	char *cause = NULL;
	struct stat sb;

	if (path == NULL || path[0] != '/') {
		ctl_reply_err(req, PROTO_E_BAD_REQUEST,
		              "path: an absolute file name on the daemon's host is needed");
		return;
	}
	if (store_backup(d->st, path, &cause) == -1) {
		ctl_reply_err(req, PROTO_E_DENIED, "%s", cause);
		free(cause);
		return;
	}
	log_info("store backup written to %s", path);
	ctl_reply(req, json_pack("{s:s, s:I, s:I}", "path", path, "bytes",
	                         (json_int_t)(stat(path, &sb) == 0 ? sb.st_size : -1), "ms",
	                         (json_int_t)((tstime_now() - t0) / 1000)));
}

/* ---- compliance checks: ops-checks.c ---- */

static void
ops_checks_run(struct tsinvd *d, struct ctl_req *req)
{
	const char *tailnet = ops_tailnet(d, req);
	tstime_t at;

	if (tailnet == NULL || ops_at(req, &at) == -1)
		return;
	ops_checks_run_req(d, req, tailnet, at);
}

static void
ops_checks_history(struct tsinvd *d, struct ctl_req *req)
{
	const char *tailnet = ops_tailnet(d, req);

	if (tailnet != NULL)
		ops_checks_history_req(d, req, tailnet);
}

static void
ops_metrics(struct tsinvd *d, struct ctl_req *req)
{
	metrics_reply(d, req);
}
