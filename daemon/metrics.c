/* metrics.c: the metrics op: polls, API errors, entities, events, hooks, store and socket as
 * Prometheus text, from counters in memory and short store reads, never a walk of the store. */
#include <stdlib.h>
#include <string.h>

#include "checks-store.h"
#include "endpoint.h"
#include "event-log.h"
#include "hist.h"
#include "log.h"
#include "metrics.h"
#include "prom.h"
#include "proto.h"

/* The last poll of each endpoint a tailnet polls, as the store keeps it. */
struct metrics_ep {
	const char *tailnet, *endpoint;
	struct hist_endpoint h;
	const struct poller_stats *st; /* NULL when nothing polls it (read-only) */
};

struct metrics {
	struct sbuf sb;
	struct tsinvd *d;
	struct metrics_ep *eps;
	size_t neps;
	uint64_t last_seq;
};

static const char *const metrics_results[] = {"ok", "held", "error", "never"};
#define METRICS_NRESULTS (sizeof metrics_results / sizeof metrics_results[0])

static double
metrics_seconds(tstime_t t)
{
	return (double)t / TSTIME_SEC;
}

/* Reads the endpoints' last polls; -1 with *cause. */
static int
metrics_load(struct metrics *m, char **cause)
{
	const struct config *cf = m->d->cf;

	m->eps = xcalloc(cf->ntailnets * ENDPOINT__COUNT, sizeof *m->eps);
	for (size_t i = 0; i < cf->ntailnets; i++)
		for (size_t k = 0; k < ENDPOINT__COUNT; k++) {
			struct metrics_ep *e = &m->eps[m->neps];

			if (!(cf->tailnets[i].endpoints & 1u << k))
				continue;
			e->tailnet = cf->tailnets[i].name;
			e->endpoint = endpoints[k].name;
			if (hist_endpoint_get(m->d->st, e->tailnet, e->endpoint, &e->h, cause) ==
			    -1)
				return -1;
			m->neps++;
			e->st = poller_stats(m->d->pl, e->tailnet, e->endpoint);
		}
	return event_last_seq(m->d->st, &m->last_seq, cause);
}

static void
metrics_free(struct metrics *m)
{
	for (size_t i = 0; i < m->neps; i++)
		hist_endpoint_free(&m->eps[i].h);
	free(m->eps);
	sbuf_free(&m->sb);
}

static void
metrics_daemon(struct metrics *m)
{
	struct prom_label v = {"version", PACKAGE_VERSION};

	prom_family(&m->sb, "tsinv_build_info", "gauge", "tsinvd's version, as a label; always 1");
	prom_sample(&m->sb, "tsinv_build_info", &v, 1, 1);
	prom_family(&m->sb, "tsinv_start_time_seconds", "gauge",
	            "when tsinvd started, in seconds since the epoch; every _total counter but "
	            "tsinv_events_total starts from 0 then");
	prom_sample(&m->sb, "tsinv_start_time_seconds", NULL, 0, metrics_seconds(m->d->started));
}

/* The families read from the store: when, how and how much each endpoint last polled. */
static void
metrics_last_polls(struct metrics *m)
{
	struct sbuf *sb = &m->sb;
	size_t i, r;

	prom_family(sb, "tsinv_poll_last_success_timestamp_seconds", "gauge",
	            "the last successful poll of the endpoint (kept in the store); absent before "
	            "the first");
	for (i = 0; i < m->neps; i++) {
		struct prom_label l[] = {{"tailnet", m->eps[i].tailnet},
		                         {"endpoint", m->eps[i].endpoint}};

		if (m->eps[i].h.last_ok != TSTIME_NONE)
			prom_sample(sb, "tsinv_poll_last_success_timestamp_seconds", l, 2,
			            metrics_seconds(m->eps[i].h.last_ok));
	}
	prom_family(sb, "tsinv_poll_last_timestamp_seconds", "gauge",
	            "the last poll of the endpoint, successful or not; absent before the first");
	for (i = 0; i < m->neps; i++) {
		struct prom_label l[] = {{"tailnet", m->eps[i].tailnet},
		                         {"endpoint", m->eps[i].endpoint}};

		if (m->eps[i].h.last_poll != TSTIME_NONE)
			prom_sample(sb, "tsinv_poll_last_timestamp_seconds", l, 2,
			            metrics_seconds(m->eps[i].h.last_poll));
	}
	prom_family(sb, "tsinv_poll_result", "gauge",
	            "1 for the result of the endpoint's last poll (ok, held: a mass disappearance "
	            "waits for confirmation, error, never), 0 for the others");
	for (i = 0; i < m->neps; i++)
		for (r = 0; r < METRICS_NRESULTS; r++) {
			struct prom_label l[] = {{"tailnet", m->eps[i].tailnet},
			                         {"endpoint", m->eps[i].endpoint},
			                         {"result", metrics_results[r]}};

			prom_sample(sb, "tsinv_poll_result", l, 3,
			            strcmp(m->eps[i].h.result, metrics_results[r]) == 0);
		}
	prom_family(sb, "tsinv_poll_consecutive_failures", "gauge",
	            "failed polls of the endpoint since its last successful one");
	for (i = 0; i < m->neps; i++) {
		struct prom_label l[] = {{"tailnet", m->eps[i].tailnet},
		                         {"endpoint", m->eps[i].endpoint}};

		prom_sample(sb, "tsinv_poll_consecutive_failures", l, 2, m->eps[i].h.failures);
	}
	prom_family(sb, "tsinv_entities", "gauge",
	            "devices, keys, users and webhooks the last successful poll of the tailnet "
	            "listed");
	for (i = 0; i < m->neps; i++) {
		const char *e = m->eps[i].endpoint;
		struct prom_label l[] = {{"tailnet", m->eps[i].tailnet}, {"kind", e}};

		if (m->eps[i].h.last_ok == TSTIME_NONE ||
		    (strcmp(e, endpoints[ENDPOINT_devices].name) != 0 &&
		     strcmp(e, endpoints[ENDPOINT_keys].name) != 0 &&
		     strcmp(e, endpoints[ENDPOINT_users].name) != 0 &&
		     strcmp(e, endpoints[ENDPOINT_webhooks].name) != 0))
			continue;
		prom_sample(sb, "tsinv_entities", l, 2, (double)m->eps[i].h.entities);
	}
}

/* The families counted in memory by the poller since the daemon started. */
static void
metrics_poll_counters(struct metrics *m)
{
	struct sbuf *sb = &m->sb;
	size_t i, c;

	prom_family(sb, "tsinv_polls_total", "counter",
	            "polls of the endpoint that ended since tsinvd started, by result");
	for (i = 0; i < m->neps; i++) {
		const struct poller_stats *st = m->eps[i].st;
		const uint64_t v[] = {st ? st->ok : 0, st ? st->held : 0, st ? st->failed : 0};

		if (st == NULL)
			continue;
		for (c = 0; c < 3; c++) {
			struct prom_label l[] = {{"tailnet", m->eps[i].tailnet},
			                         {"endpoint", m->eps[i].endpoint},
			                         {"result", metrics_results[c]}};

			prom_sample(sb, "tsinv_polls_total", l, 3, (double)v[c]);
		}
	}
	prom_family(sb, "tsinv_api_errors_total", "counter",
	            "failed polls since tsinvd started, by the class of the failure: http_4xx, "
	            "http_5xx, http_other (a status but 200), timeout, transport (connect, TLS, a "
	            "cut transfer), too_large (over max_response), shape (not JSON, or refused by "
	            "its recorder)");
	for (i = 0; i < m->neps; i++)
		for (c = 0; m->eps[i].st != NULL && c < POLLER_E__COUNT; c++) {
			struct prom_label l[] = {{"tailnet", m->eps[i].tailnet},
			                         {"endpoint", m->eps[i].endpoint},
			                         {"class", poller_error_class_names[c]}};

			prom_sample(sb, "tsinv_api_errors_total", l, 3,
			            (double)m->eps[i].st->errors[c]);
		}
	prom_family(sb, "tsinv_poll_last_duration_seconds", "gauge",
	            "how long the endpoint's last poll took, every request of it included");
	for (i = 0; i < m->neps; i++) {
		struct prom_label l[] = {{"tailnet", m->eps[i].tailnet},
		                         {"endpoint", m->eps[i].endpoint}};

		if (m->eps[i].st != NULL && m->eps[i].st->last_duration >= 0)
			prom_sample(sb, "tsinv_poll_last_duration_seconds", l, 2,
			            m->eps[i].st->last_duration);
	}
	prom_family(sb, "tsinv_poll_duration_seconds", "histogram",
	            "how long the endpoint's polls took since tsinvd started");
	for (i = 0; i < m->neps; i++) {
		const struct poller_stats *st = m->eps[i].st;
		struct prom_label l[] = {{"tailnet", m->eps[i].tailnet},
		                         {"endpoint", m->eps[i].endpoint}};
		unsigned long long cum[POLLER_DURATION_BUCKETS];

		if (st == NULL)
			continue;
		for (c = 0; c < POLLER_DURATION_BUCKETS; c++)
			cum[c] = st->duration_le[c];
		prom_histogram(sb, "tsinv_poll_duration_seconds", l, 2, poller_duration_bounds, cum,
		               POLLER_DURATION_BUCKETS, st->duration_sum,
		               st->ok + st->held + st->failed);
	}
}

struct metrics_hooks {
	struct hooks_stat *h;
	size_t n;
};

static void
metrics_hook_cb(void *arg, const struct hooks_stat *st)
{
	struct metrics_hooks *hs = arg;

	hs->h = xrealloc(hs->h, (hs->n + 1) * sizeof *hs->h);
	hs->h[hs->n++] = *st;
}

/* Hooks: lag, runs, failures, parked events; the format wants each family's lines together. */
static void
metrics_hooks(struct metrics *m)
{
	static const struct {
		const char *name, *type, *help;
	} fam[] = {
	    {"tsinv_hook_lag_events", "gauge",
	     "events recorded after the hook's cursor, of any type (the hook may want only some)"},
	    {"tsinv_hook_runs_total", "counter",
	     "runs of the hook that ended since tsinvd started"},
	    {"tsinv_hook_failures_total", "counter",
	     "runs of the hook that failed (exit status, signal, timeout) since tsinvd started"},
	    {"tsinv_hook_parked_events", "gauge",
	     "events the hook gave up on after max_attempts failures, ever (kept with its cursor)"},
	    {"tsinv_hook_running", "gauge", "1 while the hook's script runs"},
	};
	struct metrics_hooks hs = {0};

	hooks_stats(m->d->hk, metrics_hook_cb, &hs);
	for (size_t f = 0; f < sizeof fam / sizeof fam[0]; f++) {
		prom_family(&m->sb, fam[f].name, fam[f].type, fam[f].help);
		for (size_t i = 0; i < hs.n; i++) {
			const struct hooks_stat *h = &hs.h[i];
			struct prom_label l = {"hook", h->name};
			const double v[] = {
			    (double)(m->last_seq > h->cursor ? m->last_seq - h->cursor : 0),
			    (double)h->runs, (double)h->failed_runs, (double)h->parked_total,
			    h->running};

			prom_sample(&m->sb, fam[f].name, &l, 1, v[f]);
		}
	}
	free(hs.h);
}

static void
metrics_store_cb(void *arg, const char *db, uint64_t records, uint64_t bytes)
{
	struct prom_label l = {"db", db};

	prom_sample(arg, "tsinv_store_records", &l, 1, (double)records);
}

static void
metrics_store(struct metrics *m)
{
	struct sbuf *sb = &m->sb;
	uint64_t used, map;
	char *cause = NULL;

	store_sizes(m->d->st, &used, &map);
	prom_family(sb, "tsinv_store_used_bytes", "gauge", "bytes the store's data file uses");
	prom_sample(sb, "tsinv_store_used_bytes", NULL, 0, (double)used);
	prom_family(sb, "tsinv_store_map_bytes", "gauge",
	            "the store's current map size (it doubles when full, up to map_size_max)");
	prom_sample(sb, "tsinv_store_map_bytes", NULL, 0, (double)map);
	prom_family(sb, "tsinv_store_map_used_ratio", "gauge",
	            "used bytes over the map size, from 0 to 1");
	prom_sample(sb, "tsinv_store_map_used_ratio", NULL, 0,
	            map > 0 ? (double)used / (double)map : 0);
	prom_family(sb, "tsinv_store_records", "gauge",
	            "records in each database of the store (LMDB's own count)");
	if (store_db_stats(m->d->st, metrics_store_cb, sb, &cause) == -1) {
		log_warnx("metrics: %s", cause);
		free(cause);
	}
	prom_family(sb, "tsinv_store_damaged_reads_total", "counter",
	            "reads that met a record whose checksum does not match, since tsinvd started");
	prom_sample(sb, "tsinv_store_damaged_reads_total", NULL, 0,
	            (double)store_damage(m->d->st, NULL));
	prom_family(sb, "tsinv_events_total", "counter",
	            "change events recorded, ever: the newest event's sequence number");
	prom_sample(sb, "tsinv_events_total", NULL, 0, (double)m->last_seq);
}

static void
metrics_socket(struct metrics *m)
{
	struct sbuf *sb = &m->sb;
	uint64_t accepted, refused;

	ctl_counts(m->d->ctl, &accepted, &refused);
	prom_family(sb, "tsinv_socket_clients", "gauge",
	            "clients connected to the socket now, this one included");
	prom_sample(sb, "tsinv_socket_clients", NULL, 0, (double)ctl_nclients(m->d->ctl));
	prom_family(sb, "tsinv_socket_connections_total", "counter",
	            "connections accepted since tsinvd started");
	prom_sample(sb, "tsinv_socket_connections_total", NULL, 0, (double)accepted);
	prom_family(sb, "tsinv_socket_refused_total", "counter",
	            "connections refused over max_clients or max_clients_per_uid since tsinvd "
	            "started");
	prom_sample(sb, "tsinv_socket_refused_total", NULL, 0, (double)refused);
}

/* The compliance findings kept, by tailnet and severity, as the last evaluation after a poll
 * counted them (one meta read per tailnet); a tailnet not evaluated yet is left out. */
static void
metrics_checks(struct metrics *m)
{
	const struct config *cf = m->d->cf;
	bool family = false;

	for (size_t t = 0; t < cf->ntailnets; t++) {
		uint64_t counts[CHECK_NSEVERITIES] = {0};
		char *cause = NULL;

		if (checks_counts(m->d->st, cf->tailnets[t].name, counts, &cause) != 1) {
			if (cause != NULL)
				log_warnx("metrics: findings of %s: %s", cf->tailnets[t].name,
				          cause);
			free(cause);
			continue;
		}
		if (!family)
			prom_family(
			    &m->sb, "tsinv_check_findings", "gauge",
			    "open compliance findings, by tailnet and the severity of their "
			    "check");
		family = true;
		for (size_t i = 0; i < CHECK_NSEVERITIES; i++) {
			struct prom_label l[] = {{"tailnet", cf->tailnets[t].name},
			                         {"severity", check_severity_names[i]}};

			prom_sample(&m->sb, "tsinv_check_findings", l, 2, (double)counts[i]);
		}
	}
}

void
metrics_reply(struct tsinvd *d, struct ctl_req *req)
{
	struct metrics m = {.d = d};
	char *cause = NULL;
	json_t *text;

	sbuf_init(&m.sb);
	if (metrics_load(&m, &cause) == -1) {
		ctl_reply_err(req, PROTO_E_INTERNAL, "%s", cause);
		free(cause);
		metrics_free(&m);
		return;
	}
	metrics_daemon(&m);
	metrics_last_polls(&m);
	metrics_poll_counters(&m);
	metrics_hooks(&m);
	metrics_store(&m);
	metrics_socket(&m);
	metrics_checks(&m);
	/* Tailnet and hook names are the configuration's: UTF-8, or no JSON string. */
	if ((text = json_stringn(m.sb.p ? m.sb.p : "", m.sb.len)) == NULL)
		ctl_reply_err(req, PROTO_E_INTERNAL, "a tailnet or hook name is not valid UTF-8");
	else
		ctl_reply(req,
		          json_pack("{s:s, s:o}", "content_type", PROM_CONTENT_TYPE, "text", text));
	metrics_free(&m);
}
