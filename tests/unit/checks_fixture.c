/* checks_fixture.c: snapshots for the compliance check tests, from JSON fixtures. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "checks_fixture.h"

json_t *
checks_fixture_load(const char *path)
{
	json_error_t err;
	json_t *v = json_load_file(path, 0, &err);

	ck_assert_msg(v != NULL, "%s:%d: %s", path, err.line, err.text);
	return v;
}

void
checks_fixture_snapshot(json_t *obj, struct check_snapshot *snap)
{
	const char *at = json_string_value(json_object_get(obj, "at"));

	memset(snap, 0, sizeof(*snap));
	ck_assert_msg(at != NULL && tstime_parse_rfc3339(at, &snap->at) == 0, "fixture without at");
	snap->policy = json_object_get(obj, "policy");
	snap->devices = json_object_get(obj, "devices");
	snap->keys = json_object_get(obj, "keys");
	snap->users = json_object_get(obj, "users");
	snap->settings = json_object_get(obj, "settings");
	snap->dns = json_object_get(obj, "dns");
	snap->webhooks = json_object_get(obj, "webhooks");
	snap->device_histories = json_object_get(obj, "device_histories");
	snap->user_histories = json_object_get(obj, "user_histories");
	snap->policy_revisions = json_object_get(obj, "policy_revisions");
}

json_t *
checks_fixture_result(json_t *run, const char *id)
{
	json_t *r;
	size_t i;

	json_array_foreach(json_object_get(run, "results"), i, r)
	{
		if (strcmp(json_string_value(json_object_get(r, "check")), id) == 0)
			return r;
	}
	ck_abort_msg("no result for %s", id);
	return NULL;
}

static int
checks_fixture_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

json_t *
checks_fixture_entities(json_t *run, const char *id)
{
	json_t *f, *out = json_array();
	char *names[4096];
	size_t i, n = 0;

	json_array_foreach(json_object_get(run, "findings"), i, f)
	{
		json_t *e = json_object_get(f, "entity");

		if (strcmp(json_string_value(json_object_get(f, "check")), id) != 0)
			continue;
		ck_assert_uint_lt(n, sizeof names / sizeof names[0]);
		ck_assert_int_ne(asprintf(&names[n++], "%s/%s",
		                          json_string_value(json_object_get(e, "kind")),
		                          json_string_value(json_object_get(e, "id"))),
		                 -1);
	}
	qsort(names, n, sizeof names[0], checks_fixture_cmp);
	for (i = 0; i < n; i++) {
		json_array_append_new(out, json_string(names[i]));
		free(names[i]);
	}
	return out;
}

void
checks_fixture_same(json_t *got, json_t *want, const char *what)
{
	char *g = json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY);
	char *w = json_dumps(want, JSON_COMPACT | JSON_ENCODE_ANY);

	ck_assert_msg(g != NULL && w != NULL && strcmp(g, w) == 0, "%s:\n  got:  %s\n  want: %s",
	              what, g, w);
	free(g);
	free(w);
}
