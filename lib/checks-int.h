/* checks-int.h: what the check functions of checks-*.c share with the driver in checks.c. */
#ifndef TSINV_CHECKS_INT_H
#define TSINV_CHECKS_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "checks.h"

/* The parts of a snapshot a check may need. */
enum check_part {
	CHECK_P_POLICY = 1 << 0,
	CHECK_P_DEVICES = 1 << 1,
	CHECK_P_KEYS = 1 << 2,
	CHECK_P_USERS = 1 << 3,
	CHECK_P_SETTINGS = 1 << 4,
	CHECK_P_DNS = 1 << 5,
	CHECK_P_WEBHOOKS = 1 << 6,
	CHECK_P_DEVICE_HIST = 1 << 7,
	CHECK_P_USER_HIST = 1 << 8,
	CHECK_P_POLICY_REVS = 1 << 9,
	CHECK_P_DEVICE_VOL = 1 << 10, /* devices' volatile state (lastSeen, updateAvailable) */
};

/* One policy revision, summarised, and when it was in force. */
struct check_rev {
	json_t *summary; /* owned: policy_summary of its text; NULL when the text did not parse */
	long rev;
	tstime_t from, to; /* from_hi (or from_lo), to_lo; TSTIME_NONE when open */
};

/* One device of the snapshot with the members the checks read, looked up once for all checks:
 * on a big tailnet the lookups, not the tests, are the cost. Strings are borrowed, never NULL
 * ("" when absent) except name, which falls back to the hostname. */
struct check_device {
	json_t *dev;
	const char *id, *name, *host, *user, *os, *lock_error;
	json_t *advertised, *enabled; /* route arrays, or NULL */
	tstime_t last_seen, created;  /* TSTIME_NONE when not known */
	long version;                 /* major * 100000 + minor, or -1 */
	bool tagged, expiry_off, external, unauthorized, update, connected, shields_down;
};

/* One key of the snapshot, looked up once for all checks. */
struct check_key {
	json_t *key;
	const char *id, *type, *desc,
	    *user_id; /* type and user_id "" when absent; desc may be NULL */
	tstime_t created, expires, revoked, gone; /* gone: last seen before it went (to_lo) */
	int64_t validity;                         /* µs, or -1 when it never expires */
	bool live; /* usable at the moment: active, not expired, not gone */
	bool reusable, ephemeral, preauthorized;
};

struct check_ctx {
	const struct check_snapshot *snap;
	const struct check_opts *opts;
	const struct check *cur; /* the check being run */
	unsigned missing;        /* parts the current check needed and did not get */
	struct check_eval *ev;   /* where check_found appends */
	int sev;                 /* the current check's severity */
	uint32_t *seen;          /* open addressing: 1 + index of the current check's findings */
	size_t seen_cap;         /* a power of two, or 0 */
	json_t *rules;           /* policy_rules(snap->policy), or NULL */
	struct check_rev *revs;  /* snap->policy_revisions parsed, oldest first (check_revs_load) */
	size_t nrevs;
	struct check_device *devs; /* check_devices: snap->devices, looked up */
	size_t ndevs;
	size_t ndevs_vol;       /* how many of them have a volatile part */
	struct check_key *keys; /* check_keys: snap->keys, looked up */
	size_t nkeys;
};

/* Notes that a finding of the current check may start or end at T with no change recorded,
 * only time passing: the daemon evaluates again at the first poll after the earliest such T. */
void check_due(struct check_ctx *cx, tstime_t t);

/* The snapshot's keys (those with an id), looked up once. */
const struct check_key *check_keys(struct check_ctx *cx, size_t *n);

/* The snapshot's devices (those with a node id), looked up once. */
const struct check_device *check_devices(struct check_ctx *cx, size_t *n);

/* Whether the devices come with their volatile state: the daemon keeps only the latest, so a
 * snapshot of a past moment should leave it out, and the checks reading it say unknown. */
bool check_need_volatile(struct check_ctx *cx);

/* Parses snap->policy_revisions into cx->revs, once, for the checks that need them. */
void check_revs_load(struct check_ctx *cx);

/* New references from checks-cache.c: policy_rules of a policy that checks_policy_parse gave
 * for SHA (else made afresh), and policy_summary of a revision (its TEXT, or POLICY already
 * parsed), NULL when the text does not parse. */
json_t *check_cache_rules(const char *sha, json_t *policy);
json_t *check_cache_summary(const char *sha, const char *text, json_t *policy);

/* Check functions, one per table row. */
#define CHECK(sym, id, group, sev, title, why, fix, kb) void check_##sym(struct check_ctx *cx);
#include "check-table.h"
#undef CHECK

/* Whether the snapshot has every part in mask; otherwise the check's result is unknown and it
 * should return without findings. */
bool check_need(struct check_ctx *cx, unsigned mask);

/* Records one finding of the current check; name may be NULL. A second finding for the same
 * entity is dropped (one per check and entity). */
void check_found(struct check_ctx *cx, const char *kind, const char *id, const char *name,
                 tstime_t since, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Policy members are read with policy_get (policy.h): any ASCII case, the last one wins. */

/* Whether v is an array holding one of the NULL-terminated strings. */
bool check_has_any(json_t *v, const char *const *strs);

/* A time member of obj (RFC 3339), or TSTIME_NONE. */
tstime_t check_time(json_t *obj, const char *name);

/* The "device" object of a devices.list entry, its "volatile" one, and a display name. */
json_t *check_dev(json_t *entry);
json_t *check_vol(json_t *entry);
const char *check_dev_name(json_t *dev);

/* The device of a devices.list entry and its node id; NULL when it has none. */
json_t *check_dev_of(json_t *entry, const char **id);

/* The entity name of a rule row: "acls[3]", "ssh[0]" (into a caller's buffer). */
const char *check_rule_id(json_t *row, char *buf, size_t len);

/* Whether a rule row allows everyone to reach everything (acls "*" → "*:*", grants "*" → "*"
 * with ip "*"), and whether its destination is everything (whatever the source). */
bool check_rule_allow_all(json_t *row);
bool check_rule_any_dst(json_t *row);

/* Selectors that match every user: "*", autogroup:member(s), autogroup:danger-all. */
extern const char *const check_everyone[];

#endif
