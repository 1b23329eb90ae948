/* hist.h: the device history (hist*.c): recording a devices answer, endpoint state, and asking
 * what was when (ip.at, device.get, devices.list, addresses). */
#ifndef TSINV_HIST_H
#define TSINV_HIST_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "addr.h"
#include "endpoint.h"
#include "store.h"
#include "tstime.h"

/* Return values of the queries. */
#define HIST_OK 0
#define HIST_ERR -1
#define HIST_NOTFOUND 1
#define HIST_AMBIGUOUS 2 /* a name or address that may mean several: *out lists "candidates" */

#define HIST_MAX_WARN 8

struct hist_poll_result;

/* A step run last in every successful poll's write transaction, so that what it records commits
 * with the poll or not at all (the compliance checks: checks_after_poll). PREV_OK: the
 * endpoint's previous successful poll; CHANGED: the poll recorded a new version. Adds the events
 * it records to *events; 0, or -1 with *cause (the poll is then not recorded). */
typedef int (*hist_after_fn)(struct store_txn *txn, const char *tailnet, tstime_t prev_ok,
                             tstime_t t, int changed, void *arg, size_t *events, char **cause);

struct hist_policy {
	int mass_delete_percent; /* a poll losing more than this share of the devices is held */
	int64_t max_gap;         /* us: two successful polls further apart leave a gap (unknown) */
	int64_t expiry_warn[HIST_MAX_WARN]; /* us, largest first: device.key.expiring thresholds */
	size_t nexpiry_warn;
	int presence; /* record device.online / device.offline */
	/* Record device.attributed when a change is attributed. */
	int attribution_events;
	/* The kind of credential that made the poll: "api_key" or "oauth" (NULL: not said). It
	 * decides what the API can show (an OAuth token lists no shared-in devices). */
	const char *credential;
	/* Keys: the ids of the access tokens the daemon's own OAuth client was given (a JSON
	 * array, borrowed; NULL: none), and whether other OAuth-minted tokens make events. */
	json_t *own_tokens;
	int oauth_token_events;
	/* us: how much later a second list must leave an entity out too to confirm its deletion
	 * when it was not fetched by id (0: the next list). */
	int64_t confirm_delay;
	/* The clock (poller.c measures it): why the wall clock cannot be trusted for this poll
	 * (NULL: it can), the monotonic time since the endpoint's previous poll and the API's
	 * Date: (0: not known). The span since the last poll becomes a gap; the other two place a
	 * poll that the wall clock would put at or before the last one. */
	const char *clock_unreliable;
	int64_t mono_elapsed;
	tstime_t api_date;
	hist_after_fn after; /* NULL: none */
	void *after_arg;
};

/* The thresholds used when a policy names none: 14d, 7d, 1d. */
void hist_policy_defaults(struct hist_policy *pol);

struct hist_poll_result {
	tstime_t time; /* the poll's time as recorded (strictly after the previous poll) */
	int held;      /* mass disappearance held back until a second poll confirms it */
	size_t seen, created, changed, deleted, vol_updates;
	size_t events; /* recorded by this poll */
	size_t hidden; /* devices this credential stopped showing: unknown, not deleted */
	/* Missing from the list, deletion not confirmed yet (not deleted); and missing from a
	 * list, then shown again or answered by id (never deleted). */
	size_t pending, refuted;
	/* Devices whose bytes were those of their current record: not parsed at all. */
	size_t unparsed;
};

/* The state of one endpoint of one tailnet, kept in the store so that it survives restarts. */
struct hist_endpoint {
	tstime_t last_poll; /* TSTIME_NONE: never */
	tstime_t last_ok;
	char result[8];    /* "ok", "error", "held", "never" */
	char *error;       /* malloc'd, NULL when none */
	unsigned failures; /* consecutive */
	uint64_t entities;
	int pending_mass;
	char credential[8]; /* of the last successful poll: "api_key", "oauth", "" unknown */
	uint64_t hidden;    /* devices not visible to the current credential, kept as unknown */
	uint64_t pending_confirm; /* entities missing from the last list, not confirmed gone yet */
	/* The hash (hex) of the last answer recorded whole: every entity it lists is current, no
	 * other is, nothing waits. The same bytes again record only the poll ("": none). */
	char raw[65];
	/* The last poll kept each listed device's raw record (hist-devices.c). Any other writer
	 * of the endpoint's state (an older tsinvd) drops it: then no raw record is trusted. */
	int raw_kept;
	/* This poll's, never stored: why the span to it is a gap (NULL: it is not). */
	const char *clock_why;
};

/* Applies a devices answer (BODY, borrowed: {"devices":[...]}, serialised compactly and then
 * read as hist_devices_apply_raw reads bytes) seen at time T in one write transaction. An answer
 * that does not check out changes nothing: -1 and *cause. The caller vouches that every device
 * missing from BODY is gone; the poller's hist_devices_answer deletes only what the API confirms (a
 * 404 by id, or a second list confirm_delay later). */
int hist_devices_apply(struct store *st, const char *tailnet, tstime_t t, json_t *body,
                       const struct hist_policy *pol, struct hist_poll_result *res, char **cause);

/* The same on the answer's bytes (BODY, LEN bytes: {"devices":[...]}), as the API sent them:
 * each element is parsed on its own, and one whose bytes a current record was made from is not
 * parsed at all. */
int hist_devices_apply_raw(struct store *st, const char *tailnet, tstime_t t, const char *body,
                           size_t len, const struct hist_policy *pol, struct hist_poll_result *res,
                           char **cause);

/* The devices row's recorder: hist_devices_apply_raw on the one answer's bytes. */
int hist_devices_answer(struct store *st, const char *tailnet, tstime_t t,
                        const struct endpoint_answer *ans, const struct hist_policy *pol,
                        struct hist_poll_result *res, char **cause);

/* The devices row's plan: the devices the list leaves out, fetched by id to confirm. */
int hist_devices_plan_answer(struct store *st, const char *tailnet,
                             const struct endpoint_answer *ans, json_t **ids, char **cause);

/* Records a failed poll of ENDPOINT (its time and reason) without touching the history. */
int hist_poll_failed(struct store *st, const char *tailnet, const char *endpoint, tstime_t t,
                     const char *error, char **cause);

int hist_endpoint_get(struct store *st, const char *tailnet, const char *endpoint,
                      struct hist_endpoint *out, char **cause);
void hist_endpoint_free(struct hist_endpoint *ep);

/* Who held address A at AT (TSTIME_NONE: as of the last successful poll). *out is a new
 * reference: {"ip","tailnet","at","answer","holders":[...],"reason",["intervals"]}. */
int hist_ip_at(struct store *st, const char *tailnet, const struct tsaddr *a, tstime_t at,
               int history, json_t **out, char **cause);

/* One device by node id, name (MagicDNS name, its first label, hostname; past names too) or
 * address, as of AT: the device that bore the name or held the address then. HIST_NOTFOUND when
 * nothing matches; HIST_AMBIGUOUS (with *cause, and *out {"candidates":[{nodeId, name, state,
 * bounds}]}) when several devices may be meant. *out is a new reference. */
int hist_device_get(struct store *st, const char *tailnet, const char *query, tstime_t at,
                    int history, json_t **out, char **cause);

/* Every device now (AT = TSTIME_NONE) or at AT, as JSON text (malloc'd) built from the stored
 * bytes without re-parsing them. */
int hist_devices_list(struct store *st, const char *tailnet, tstime_t at, char **out, size_t *len,
                      char **cause);

/* The same a slice at a time, every row from the one read transaction the listing holds until
 * it is closed: hist_devices_list_next appends the next rows to SB until it holds MAX bytes or
 * more (the head first, the closing "]}" last): 1 while more is to come, 0 once all is written.
 */
struct hist_devlist;
struct sbuf;
int hist_devices_list_open(struct store *st, const char *tailnet, tstime_t at,
                           struct hist_devlist **out, char **cause);
int hist_devices_list_next(struct hist_devlist *dl, struct sbuf *sb, size_t max);
/* Before the first slice: each device's "device" and "volatile" objects (a version's too) keep
 * only the members named in CSV (names separated by commas, each of letters, digits and "_"),
 * in the stored order. 0, or -1 and *cause when CSV is no such list (at most
 * HIST_FIELDS_MAX names). */
#define HIST_FIELDS_MAX 64
int hist_devices_list_fields(struct hist_devlist *dl, const char *csv, char **cause);
void hist_devices_list_close(struct hist_devlist *dl);

/* The same in a transaction the caller holds (a write one too), parsed: *out is a new
 * reference. For one consistent view over several kinds (the compliance checks' snapshot). */
int hist_devices_list_in(struct store_txn *txn, const char *tailnet, tstime_t at, json_t **out,
                         char **cause);
/* *out: [{"nodeId", "deleted", "versions":[{bounds..., "device":{}}]}] of every device ever
 * recorded (deleted ones too), the versions that started by AT (TSTIME_NONE: all), oldest
 * first. In TXN, the caller's. */
int hist_device_histories_in(struct store_txn *txn, const char *tailnet, tstime_t at, json_t **out,
                             char **cause);

/* Every address held at AT (TSTIME_NONE: as of the last successful poll) as "active", and each
 * address released in the WINDOW (us) before AT and not held since as "deprecated", with its
 * holder's device as recorded then: the IPAM export. *out is a new reference:
 * {"tailnet","at","window_s","addresses":[{"address","family","status","nodeId",bounds...,
 * "device":{...},"volatile":{...}}]}. */
int hist_addresses(struct store *st, const char *tailnet, tstime_t at, int64_t window, json_t **out,
                   char **cause);
/* The same one row at a time, never the whole list: *HEAD gets the answer without "addresses"
 * (a new reference; FN sees it as HEAD too), FN each row (borrowed) in turn. FIELDS (NULL: all)
 * as devices.list's: each row's device and volatile objects keep only those members, which is
 * what makes an export of many addresses cheap (IPAM_FIELDS: what an IPAM row reads). */
typedef void (*hist_address_fn)(void *arg, json_t *head, json_t *row);
int hist_addresses_each(struct store *st, const char *tailnet, tstime_t at, int64_t window,
                        const char *fields, json_t **head, hist_address_fn fn, void *arg,
                        char **cause);
/* The same a slice at a time from the one read transaction it holds until closed:
 * hist_addresses_next hands FN at most MAX rows (about: a row is handed once the next address
 * begins) and returns 1 while more may come, 0 at the end. The head (borrowed) is ready at
 * once. */
struct hist_addrlist;
int hist_addresses_open(struct store *st, const char *tailnet, tstime_t at, int64_t window,
                        const char *fields, struct hist_addrlist **out, char **cause);
json_t *hist_addresses_head(struct hist_addrlist *al);
int hist_addresses_next(struct hist_addrlist *al, hist_address_fn fn, void *arg, size_t max);
void hist_addresses_close(struct hist_addrlist *al);

#endif
