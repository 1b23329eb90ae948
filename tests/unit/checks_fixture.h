/* checks_fixture.h: snapshots for the compliance check tests, from JSON fixtures. */
#ifndef TSINV_TEST_CHECKS_FIXTURE_H
#define TSINV_TEST_CHECKS_FIXTURE_H

#include <jansson.h>

#include "checks.h"

/* New reference: a JSON file, or a failed test. */
json_t *checks_fixture_load(const char *path);

/* Points snap at the parts of obj (borrowed): "at" (RFC 3339), "policy", "devices", "keys",
 * "users", "settings", "dns", "webhooks", "device_histories", "user_histories",
 * "policy_revisions"; a part obj does not have stays NULL. */
void checks_fixture_snapshot(json_t *obj, struct check_snapshot *snap);

/* The result of one check in a checks_run answer (borrowed), or a failed test. */
json_t *checks_fixture_result(json_t *run, const char *id);

/* New reference: the sorted "kind/id" of a check's findings, as a JSON array. */
json_t *checks_fixture_entities(json_t *run, const char *id);

/* Equal as compact JSON text, or a failed test naming what. */
void checks_fixture_same(json_t *got, json_t *want, const char *what);

#endif
