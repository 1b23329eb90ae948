/* entity.h: the history of everything but devices (entity*.c): keys, users, webhooks, the
 * policy file, DNS and tailnet settings. Same versions, bounds, coverage and events as devices
 * (hist.h). */
#ifndef TSINV_ENTITY_H
#define TSINV_ENTITY_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "endpoint.h"
#include "hist.h"
#include "store.h"
#include "tstime.h"

/* The largest policy file kept (the API's own limit is lower). */
#define ENTITY_POLICY_MAX ((size_t)16 << 20)

/*
 * Applying answers. Each runs in one write transaction; an answer that does not check out
 * changes nothing (-1 and *cause). The first successful poll of an endpoint records no events.
 */

/* Keys: which ids to GET one by one after the list (BODY, {"keys":[...]}): those the list gives
 * without details and that are not known yet, and those recorded active that left the list (to
 * record why: revoked, expired). *ids is a new array of strings. */
int entity_keys_plan(struct store *st, const char *tailnet, json_t *body, json_t **ids,
                     char **cause);
/* Keys: the list (BODY), the per-key answers (FETCHED, Key objects) and the ids the API answered
 * 404 for (GONE). A key that leaves the list is kept for good, with its final state. */
int entity_keys_apply(struct store *st, const char *tailnet, tstime_t t, json_t *body,
                      json_t *fetched, json_t *gone, const struct hist_policy *pol,
                      struct hist_poll_result *res, char **cause);
/* The same, and the ids the credential may not read by id (DENIED, 403): recorded once as
 * "unknown" (not permitted), never asked for again. A 404 records "gone" (revoked or deleted:
 * the API does not say) unless the key's expiry has passed. */
int entity_keys_apply_denied(struct store *st, const char *tailnet, tstime_t t, json_t *body,
                             json_t *fetched, json_t *gone, json_t *denied,
                             const struct hist_policy *pol, struct hist_poll_result *res,
                             char **cause);
/* Users and webhooks missing from BODY are taken as confirmed gone, as by hist_devices_apply;
 * the *_answer recorders confirm them first. */
/* Users ({"users":[...]}, type=all): lastSeen, currentlyConnected, deviceCount and the
 * active/idle status are kept as current state only. */
int entity_users_apply(struct store *st, const char *tailnet, tstime_t t, json_t *body,
                       const struct hist_policy *pol, struct hist_poll_result *res, char **cause);
/* Webhooks ({"webhooks":[...]}); a secret, if any, is never stored. */
int entity_webhooks_apply(struct store *st, const char *tailnet, tstime_t t, json_t *body,
                          const struct hist_policy *pol, struct hist_poll_result *res,
                          char **cause);
/* The policy file: TEXT exactly as fetched (it must be HuJSON), and its ETag (NULL: none). */
int entity_policy_apply(struct store *st, const char *tailnet, tstime_t t, const char *text,
                        size_t len, const char *etag, const struct hist_policy *pol,
                        struct hist_poll_result *res, char **cause);
/* DNS from the four answers of dns/nameservers, dns/preferences, dns/searchpaths and
 * dns/split-dns. */
int entity_dns_apply(struct store *st, const char *tailnet, tstime_t t, json_t *nameservers,
                     json_t *preferences, json_t *searchpaths, json_t *splitdns,
                     const struct hist_policy *pol, struct hist_poll_result *res, char **cause);
/* DNS from GET dns/configuration (BODY: nameservers and split DNS as {address, useWithExitNode},
 * searchPaths, preferences {overrideLocalDNS, magicDNS}): one read, one consistent state. The
 * record has the members of the four older paths plus "overrideLocalDNS" and "useWithExitNode"
 * ({"nameservers":[addresses], "splitDNS":{domain:[addresses]}}, the resolvers flagged). A
 * record from before has them added in place when the rest is the same: no version, no event. */
int entity_dns_config_apply(struct store *st, const char *tailnet, tstime_t t, json_t *body,
                            const struct hist_policy *pol, struct hist_poll_result *res,
                            char **cause);
/* Tailnet settings (the settings object). */
int entity_settings_apply(struct store *st, const char *tailnet, tstime_t t, json_t *body,
                          const struct hist_policy *pol, struct hist_poll_result *res,
                          char **cause);

/* The rows' recorders (lib/endpoint.c): the functions above on the poller's answers. */
int entity_keys_plan_answer(struct store *st, const char *tailnet,
                            const struct endpoint_answer *ans, json_t **ids, char **cause);
int entity_keys_answer(struct store *st, const char *tailnet, tstime_t t,
                       const struct endpoint_answer *ans, const struct hist_policy *pol,
                       struct hist_poll_result *res, char **cause);
int entity_users_answer(struct store *st, const char *tailnet, tstime_t t,
                        const struct endpoint_answer *ans, const struct hist_policy *pol,
                        struct hist_poll_result *res, char **cause);
/* Users and webhooks missing from the list, fetched by id to confirm their deletion. */
int entity_users_plan_answer(struct store *st, const char *tailnet,
                             const struct endpoint_answer *ans, json_t **ids, char **cause);
int entity_webhooks_plan_answer(struct store *st, const char *tailnet,
                                const struct endpoint_answer *ans, json_t **ids, char **cause);
int entity_webhooks_answer(struct store *st, const char *tailnet, tstime_t t,
                           const struct endpoint_answer *ans, const struct hist_policy *pol,
                           struct hist_poll_result *res, char **cause);
int entity_policy_answer(struct store *st, const char *tailnet, tstime_t t,
                         const struct endpoint_answer *ans, const struct hist_policy *pol,
                         struct hist_poll_result *res, char **cause);
int entity_dns_answer(struct store *st, const char *tailnet, tstime_t t,
                      const struct endpoint_answer *ans, const struct hist_policy *pol,
                      struct hist_poll_result *res, char **cause);
/* dns/configuration's one answer; entity_dns_answer reads the four older paths instead. */
int entity_dns_config_answer(struct store *st, const char *tailnet, tstime_t t,
                             const struct endpoint_answer *ans, const struct hist_policy *pol,
                             struct hist_poll_result *res, char **cause);
int entity_settings_answer(struct store *st, const char *tailnet, tstime_t t,
                           const struct endpoint_answer *ans, const struct hist_policy *pol,
                           struct hist_poll_result *res, char **cause);

/* Posture: the ids of the devices the history holds as current, each asked for its attributes;
 * the answers (ANS->fetched, paired with ANS->fetched_ids; a 404 in ANS->gone) recorded as a
 * versioned part of each device (kind byte of the posture row), "device.posture.changed" when
 * it changes. A wrong-shaped answer or a 403 records nothing. */
int entity_posture_plan_answer(struct store *st, const char *tailnet,
                               const struct endpoint_answer *ans, json_t **ids, char **cause);
int entity_posture_answer(struct store *st, const char *tailnet, tstime_t t,
                          const struct endpoint_answer *ans, const struct hist_policy *pol,
                          struct hist_poll_result *res, char **cause);
/* One attributes answer (BODY, borrowed) of device ID as recorded: its attributes by name, and
 * "expiries" when it has any (a new reference), or NULL and *cause when it is not of the API's
 * shape ({"attributes": {name: string|number|bool}, "expiries": {name: time}}). */
json_t *entity_posture_record(json_t *body, const char *id, char **cause);
/* Adds to RES, a device answer, the posture of device ID at AT (TSTIME_NONE: now) as "posture"
 * (null: none known then) and, with HISTORY, "posture_versions"; nothing when the posture
 * endpoint was never polled. */
void entity_posture_device_in(struct store_txn *txn, const char *tailnet, const char *id,
                              tstime_t at, int history, json_t *res);

/*
 * Queries. AT = TSTIME_NONE means now (the last successful poll). Results are new references,
 * shaped as the socket ops users.list, keys.list, webhooks.list, dns.get, settings.get,
 * policy.log and policy.get answer them (see doc/tsinvctl.1). HIST_OK, HIST_NOTFOUND or
 * HIST_ERR with *cause.
 */
int entity_users_list(struct store *st, const char *tailnet, tstime_t at, json_t **out,
                      char **cause);
/* EXPIRING >= 0 (us): only active keys that expire by the time answered + EXPIRING. */
int entity_keys_list(struct store *st, const char *tailnet, tstime_t at, int64_t expiring,
                     json_t **out, char **cause);
/* The same; without ALL, the access tokens OAuth clients mint ("oauthToken" in the record) are
 * left out and counted in "oauth_tokens_hidden". */
int entity_keys_list_all(struct store *st, const char *tailnet, tstime_t at, int64_t expiring,
                         int all, json_t **out, char **cause);
int entity_webhooks_list(struct store *st, const char *tailnet, tstime_t at, json_t **out,
                         char **cause);
int entity_dns_get(struct store *st, const char *tailnet, tstime_t at, int history, json_t **out,
                   char **cause);
int entity_settings_get(struct store *st, const char *tailnet, tstime_t at, int history,
                        json_t **out, char **cause);
int entity_policy_log(struct store *st, const char *tailnet, json_t **out, char **cause);
/* REV: NULL, a revision number ("3") or a SHA-256 prefix of at least 6 hex digits. */
int entity_policy_get(struct store *st, const char *tailnet, const char *rev, tstime_t at,
                      json_t **out, char **cause);

/*
 * The same queries inside a transaction the caller holds (a write one too), for one consistent
 * view over several kinds: the compliance checks' snapshot (checks-store.c). Keys come all of
 * them, OAuth access tokens included; DNS and settings without their versions.
 */
int entity_users_list_in(struct store_txn *txn, const char *tailnet, tstime_t at, json_t **out,
                         char **cause);
int entity_webhooks_list_in(struct store_txn *txn, const char *tailnet, tstime_t at, json_t **out,
                            char **cause);
int entity_keys_list_in(struct store_txn *txn, const char *tailnet, tstime_t at, json_t **out,
                        char **cause);
int entity_dns_get_in(struct store_txn *txn, const char *tailnet, tstime_t at, json_t **out,
                      char **cause);
int entity_settings_get_in(struct store_txn *txn, const char *tailnet, tstime_t at, json_t **out,
                           char **cause);
/* The policy revision in force at AT (TSTIME_NONE: the current one) with its text, as policy.get
 * answers; HIST_NOTFOUND when none is known then. */
int entity_policy_get_in(struct store_txn *txn, const char *tailnet, tstime_t at, json_t **out,
                         char **cause);
/* *out: policy.log's revisions that started by AT (TSTIME_NONE: all), each with its "text". */
int entity_policy_revisions_in(struct store_txn *txn, const char *tailnet, tstime_t at,
                               json_t **out, char **cause);
/* *out: [{"id", "versions":[{bounds..., "user":{}}]}] of every user ever recorded, the versions
 * that started by AT (TSTIME_NONE: all), oldest first. */
/* One user by id or login, as of AT (TSTIME_NONE: now): the version then (and with HISTORY
 * every version), the devices owned under any of its logins with their bounds, and the keys it
 * created. HIST_NOTFOUND; HIST_AMBIGUOUS (*out {"candidates"}) when a login may mean several. */
int entity_user_get(struct store *st, const char *tailnet, const char *query, tstime_t at,
                    int history, json_t **out, char **cause);
int entity_user_histories_in(struct store_txn *txn, const char *tailnet, tstime_t at, json_t **out,
                             char **cause);

#endif
