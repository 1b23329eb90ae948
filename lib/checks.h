/* checks.h: the compliance catalogue (check-table.h) and its evaluation over a snapshot of the
 * history at one moment. */
#ifndef TSINV_CHECKS_H
#define TSINV_CHECKS_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "sbuf.h"
#include "tstime.h"

enum check_severity {
	CHECK_INFO,
	CHECK_LOW,
	CHECK_MEDIUM,
	CHECK_HIGH,
	CHECK_CRITICAL,
};
#define CHECK_NSEVERITIES 5

enum check_group {
	CHECK_G_ACL,
	CHECK_G_SSH,
	CHECK_G_AUTH,
	CHECK_G_DEV,
	CHECK_G_NET,
	CHECK_G_USER,
	CHECK_G_DNS,
	CHECK_G_LOG,
	CHECK_G_HIST,
};
#define CHECK_NGROUPS 9

struct check {
	const char *id;
	enum check_group group;
	enum check_severity severity; /* the default; check_opts may override it */
	const char *title;
	const char *rationale;
	const char *remediation;
	const char *kb; /* "" when no page is known */
};

/* Every check, in table order (ids sorted by group, then number). */
enum check_index {
#define CHECK(sym, id, group, sev, title, why, fix, kb) CHECK_I_##sym,
#include "check-table.h"
#undef CHECK
	CHECK_COUNT
};

extern const struct check check_table[CHECK_COUNT];
extern const char *const check_severity_names[CHECK_NSEVERITIES]; /* "info" ... "critical" */
extern const char *const check_group_names[CHECK_NGROUPS];        /* "ACL" ... "HIST" */

/* The check with this id (exact, case-sensitive), or NULL. */
const struct check *check_find(const char *id);

/* A severity by name ("high"); returns 0, or -1 for an unknown name. */
int check_severity_parse(const char *name, enum check_severity *out);

/* Whether the check's id matches a glob ("TSINV-ACL-*", "*SSH*") or equals pat exactly. */
bool check_match(const struct check *c, const char *pat);

/* Thresholds and per-check choices: the [checks] section of the configuration. */
struct check_opts {
	int64_t stale_after; /* µs since lastSeen: DEV-004 (default 30 days) */
	int64_t key_max_age; /* µs of key validity or life: AUTH-002/005, HIST-001 (90 days) */
	int64_t node_key_max_age;  /* µs of node key duration: DEV-013 (180 days) */
	int64_t window;            /* µs before the moment that HIST checks look back (90 days) */
	int64_t reuse_window;      /* µs between a release and a reuse: HIST-006 (1 day) */
	int minor_versions_behind; /* minor numbers a client may trail the newest: DEV-009 (4) */
	int max_admins;            /* USER-002 (3) */
	bool record; /* the daemon keeps findings and records check.* events after polls (yes) */
	bool disabled[CHECK_COUNT];
	int severity[CHECK_COUNT]; /* an enum check_severity, or -1 for the table's */
};

void checks_opts_init(struct check_opts *o);

/* One key = value of the [checks] section: stale_after, key_max_age, node_key_max_age, window,
 * reuse_window (durations), minor_versions_behind, max_admins (integers), record (yes or no),
 * "disable" (ids
 * separated by spaces or commas; may be given again), "severity.ID" (a severity name). Returns 0,
 * or -1 with *cause (malloc'd, without file or line: the caller adds them). Unknown keys and ids
 * are errors. */
int checks_option(struct check_opts *o, const char *key, const char *value, char **cause);

/*
 * What the checks read: the history as of one moment, in the shapes the daemon's operations
 * answer with. All values are borrowed. A NULL part was not known at that moment (never polled,
 * or the moment is outside what tsinv covered): the checks that need it say "unknown".
 */
struct check_snapshot {
	tstime_t at;
	json_t *policy; /* the policy file in force, as JSON (hujson_parse of policy.get's text) */
	const char *policy_sha256; /* its text's, when policy came from checks_policy_parse: its
	                              rules are then taken apart once, not at every run */
	json_t *devices;  /* devices.list "devices": [{nodeId, state, device:{}, volatile:{}}];
	                     volatile only at the present: the daemon keeps just the latest */
	json_t *keys;     /* keys.list "keys": [{id, state, from_*, to_*, key:{}, creator}] */
	json_t *users;    /* users.list "users": [{id, state, user:{}, volatile:{}}] */
	json_t *settings; /* settings.get "settings": {} */
	json_t *dns;      /* dns.get "dns": {} */
	json_t *webhooks; /* webhooks.list "webhooks": [{id, webhook:{}}] */
	/* History up to the moment, for the HIST checks. */
	json_t *device_histories; /* [device.get with history: {nodeId, deleted, versions:[{from_lo,
	                             from_hi, to_lo, to_hi, device:{}}]}], deleted devices too */
	json_t *user_histories;   /* [{id, versions:[{from_lo, from_hi, to_lo, to_hi, user:{}}]}] */
	json_t *policy_revisions; /* policy.log "revisions", each with "text" from policy.get */
};

/* New reference: a policy text parsed (hujson), NULL when it does not parse. With SHA256 (the
 * text's, as the store names revisions) the result is shared through a cache, never to be
 * modified: a revision never changes, and the checks read it at every poll. */
json_t *checks_policy_parse(const char *sha256, const char *text, size_t len);

/* Empties that cache. */
void checks_cache_clear(void);

/* Borrowed: the member of a daemon answer (devices.list, keys.list, settings.get, ...) when the
 * answer says the moment was covered, else NULL. An answer about a moment tsinv did not cover
 * has empty lists, which the checks would read as "nothing wrong"; NULL makes them unknown. */
json_t *checks_snapshot_part(json_t *answer, const char *member);

/* One finding of an evaluation. kind is a string constant; id, name and detail live in the
 * evaluation's arena (checks_eval_free frees them). */
struct check_finding {
	const char *kind, *id, *name, *detail; /* name may be NULL */
	tstime_t since;                        /* TSTIME_NONE when not known */
	uint32_t hash;                         /* of kind and id */
	uint16_t check;                        /* index into check_table */
	uint8_t severity;                      /* an enum check_severity, options applied */
};

enum check_status {
	CHECK_S_PASS,
	CHECK_S_FAIL,
	CHECK_S_UNKNOWN,
	CHECK_S_DISABLED,
};

/* One evaluation in C: what the daemon diffs after a poll, and what checks_run turns into
 * JSON. The findings are in table order; check i's are findings[first .. first + n). */
struct check_eval {
	tstime_t at;
	struct check_finding *findings;
	size_t nfindings, cap;
	struct check_eval_result {
		enum check_status status;
		enum check_severity severity;
		unsigned missing; /* the parts it needed and did not get */
		size_t first, n;
	} results[CHECK_COUNT];
	size_t counts[CHECK_NSEVERITIES], unknown;
	/* The first moment after AT at which a finding may start or end with no change recorded
	 * (a device goes stale, a key outlives key_max_age or expires): TSTIME_NONE, none known. */
	tstime_t due;
	void *arena; /* the strings of the findings */
};

/* Runs every enabled check into E (the caller's, uninitialised). Free with checks_eval_free. */
void checks_eval(const struct check_snapshot *snap, const struct check_opts *opts,
                 struct check_eval *e);
void checks_eval_free(struct check_eval *e);

/* New reference: E as checks_run answers. */
json_t *checks_eval_json(const struct check_eval *e);

/*
 * Runs every enabled check. Returns a new reference:
 * {"at", "counts":{"critical":N,...,"info":N}, "unknown":N,
 *  "results":[{"check","severity","status":"pass"|"fail"|"unknown"|"disabled","missing":[..]}],
 *  "findings":[{"check","severity","group","entity":{"kind","id","name"},"detail"[,"since"]}]}
 * One finding per (check, entity), in table order; tailnet-wide checks use the entity
 * {"kind":"tailnet","id":"tailnet"}.
 */
json_t *checks_run(const struct check_snapshot *snap, const struct check_opts *opts);

/* The tsinv-checks(7) manual page, generated from the table. */
void checks_man_page(struct sbuf *sb);

#endif
