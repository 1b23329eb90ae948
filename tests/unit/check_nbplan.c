/* check_nbplan.c: unit tests for the NetBox reconcile planner: match, diff, reassign, retire. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "nbplan.h"

static const struct ipam_map map = {
    .owner_tag = "tsinv",
    .cf_node_id = "node",
    .cf_tailnet = "tailnet",
    .cf_last_seen = "seen",
};

/* A want as ipam_netbox_object makes it, in VRF 7. */
static json_t *
want_obj(const char *addr, const char *node, const char *status, const char *dns)
{
	return json_pack("{s:s, s:i, s:s, s:s, s:s, s:[{s:s}], s:{s:s, s:s, s:s}}", "address", addr,
	                 "vrf", 7, "status", status, "dns_name", dns, "description", "d", "tags",
	                 "slug", "tsinv", "custom_fields", "node", node, "tailnet", "corp", "seen",
	                 "2026-11-20T14:05:00+00:00");
}

/* A record as NetBox's GET returns it. */
static json_t *
rec_obj(int id, const char *addr, const char *node, const char *tailnet, const char *status,
        const char *dns)
{
	return json_pack("{s:i, s:s, s:{s:i, s:s}, s:{s:s, s:s}, s:s, s:s, s:[{s:i, s:s}],"
	                 " s:{s:s, s:s, s:s}}",
	                 "id", id, "address", addr, "vrf", "id", 7, "name", "ts-corp", "status",
	                 "value", status, "label", status, "dns_name", dns, "description", "d",
	                 "tags", "id", 1, "slug", "tsinv", "custom_fields", "node", node, "tailnet",
	                 tailnet, "seen", "2026-11-20T14:05:00+00:00");
}

struct fixture {
	struct nbplan_rec recs[8];
	struct nbplan_want wants[8];
	size_t nrecs, nwants;
	const char *held[2];
	size_t nheld;
	struct nbplan_tag tags[4];
	size_t ntags;
	int tag_ops;
	struct nbplan plan;
};

static void
fx_rec(struct fixture *fx, json_t *rec)
{
	fx->recs[fx->nrecs].rec = rec;
	nbplan_rec_init(&fx->recs[fx->nrecs++], &map);
}

static void
fx_want(struct fixture *fx, json_t *obj)
{
	fx->wants[fx->nwants++] =
	    (struct nbplan_want){.obj = obj, .tailnet = "corp", .vrf = "ts-corp", .vrf_id = 7};
}

static void
fx_plan(struct fixture *fx)
{
	struct nbplan_in in = {.m = &map,
	                       .slack = 0,
	                       .recs = fx->recs,
	                       .nrecs = fx->nrecs,
	                       .wants = fx->wants,
	                       .nwants = fx->nwants,
	                       .held = fx->held,
	                       .nheld = fx->nheld,
	                       .tags = fx->tags,
	                       .ntags = fx->ntags,
	                       .tag_ops = fx->tag_ops};

	nbplan_make(&in, &fx->plan);
}

static void
fx_free(struct fixture *fx)
{
	nbplan_free(&fx->plan);
	for (size_t i = 0; i < fx->nrecs; i++)
		json_decref(fx->recs[i].rec);
	for (size_t i = 0; i < fx->nwants; i++)
		json_decref(fx->wants[i].obj);
}

static char *
dump(json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

	ck_assert_ptr_nonnull(s);
	return s;
}

#define ck_assert_json(v, expect)                                                                  \
	do {                                                                                       \
		char *s_ = dump(v);                                                                \
		ck_assert_str_eq(s_, expect);                                                      \
		free(s_);                                                                          \
	} while (0)

static const char *
body_str(const struct nbplan_step *s, const char *key)
{
	return json_string_value(json_object_get(s->body, key));
}

START_TEST(test_rec_init)
{
	struct fixture fx = {0};

	fx_rec(&fx, rec_obj(12, "100.64.0.1/32", "nA", "corp", "active", "a"));
	ck_assert_int_eq(fx.recs[0].id, 12);
	ck_assert_int_eq(fx.recs[0].vrf_id, 7);
	ck_assert_str_eq(fx.recs[0].vrf_name, "ts-corp");
	ck_assert_str_eq(fx.recs[0].node_id, "nA");
	ck_assert_str_eq(fx.recs[0].tailnet, "corp");
	ck_assert_str_eq(fx.recs[0].status, "active");
	fx_free(&fx);
}
END_TEST

START_TEST(test_create_unchanged_update)
{
	struct fixture fx = {.tags = {{.slug = "tsinv", .name = "tsinv"}}, .ntags = 1};

	fx_rec(&fx, rec_obj(1, "100.64.0.1/32", "nA", "corp", "active", "a"));
	fx_rec(&fx, rec_obj(2, "100.64.0.2/32", "nB", "corp", "active", "b"));
	fx_want(&fx, want_obj("100.64.0.1/32", "nA", "active", "a"));
	fx_want(&fx, want_obj("100.64.0.2/32", "nB", "active", "b2"));
	fx_want(&fx, want_obj("100.64.0.3/32", "nC", "active", "c"));
	fx_plan(&fx);
	ck_assert_uint_eq(fx.plan.unchanged, 1);
	ck_assert_uint_eq(fx.plan.nsteps, 2);
	ck_assert_int_eq(fx.plan.steps[0].action, NBPLAN_UPDATE);
	ck_assert_ptr_eq(fx.plan.steps[0].rec, &fx.recs[1]);
	ck_assert_str_eq(body_str(&fx.plan.steps[0], "dns_name"), "b2");
	ck_assert_int_eq(json_integer_value(json_object_get(fx.plan.steps[0].body, "id")), 2);
	/* Only what differs is sent. */
	ck_assert_ptr_null(json_object_get(fx.plan.steps[0].body, "status"));
	ck_assert_int_eq(fx.plan.steps[1].action, NBPLAN_CREATE);
	ck_assert_ptr_null(fx.plan.steps[1].rec);
	ck_assert_str_eq(body_str(&fx.plan.steps[1], "address"), "100.64.0.3/32");
	ck_assert_str_eq(body_str(&fx.plan.steps[1], "changelog_message"),
	                 "tsinvd: create 100.64.0.3/32 (tailnet corp, node nC)");
	ck_assert_uint_eq(fx.plan.nnew_tags, 0);
	fx_free(&fx);
}
END_TEST

START_TEST(test_reassign_and_retire)
{
	struct fixture fx = {0};

	/* nA's address passed to nX; nB is gone; nC's record is already retired. */
	fx_rec(&fx, rec_obj(1, "100.64.0.1/32", "nA", "corp", "active", "a"));
	fx_rec(&fx, rec_obj(2, "100.64.0.2/32", "nB", "corp", "active", "b"));
	fx_rec(&fx, rec_obj(3, "100.64.0.3/32", "nC", "corp", "deprecated", "c"));
	fx_want(&fx, want_obj("100.64.0.1/32", "nX", "active", "x"));
	fx_plan(&fx);
	ck_assert_uint_eq(fx.plan.nsteps, 2);
	ck_assert_int_eq(fx.plan.steps[0].action, NBPLAN_REASSIGN);
	ck_assert_ptr_eq(fx.plan.steps[0].rec, &fx.recs[0]);
	ck_assert_str_eq(json_string_value(json_object_get(
	                     json_object_get(fx.plan.steps[0].body, "custom_fields"), "node")),
	                 "nX");
	ck_assert_int_eq(fx.plan.steps[1].action, NBPLAN_DEPRECATE);
	ck_assert_ptr_null(fx.plan.steps[1].want);
	ck_assert_ptr_eq(fx.plan.steps[1].rec, &fx.recs[1]);
	ck_assert_str_eq(body_str(&fx.plan.steps[1], "status"), "deprecated");
	ck_assert_uint_eq(fx.plan.unchanged, 1);
	fx_free(&fx);
}
END_TEST

START_TEST(test_wanted_record_not_taken)
{
	struct fixture fx = {0};

	/* Both nodes are wanted at the address (one released, one new): nA's record stays nA's
	 * and is retired through its own want; nX gets no record of nA's. */
	fx_rec(&fx, rec_obj(1, "100.64.0.1/32", "nA", "corp", "active", "a"));
	fx_want(&fx, want_obj("100.64.0.1/32", "nX", "active", "x"));
	fx_want(&fx, want_obj("100.64.0.1/32", "nA", "deprecated", "a"));
	fx_plan(&fx);
	ck_assert_uint_eq(fx.plan.nsteps, 2);
	ck_assert_int_eq(fx.plan.steps[0].action, NBPLAN_CREATE);
	ck_assert_int_eq(fx.plan.steps[1].action, NBPLAN_DEPRECATE);
	ck_assert_ptr_eq(fx.plan.steps[1].rec, &fx.recs[0]);
	/* The tag NetBox lacks is named once, though two writes carry it. */
	ck_assert_uint_eq(fx.plan.nnew_tags, 1);
	ck_assert_str_eq(fx.plan.new_tags[0], "tsinv");
	fx_free(&fx);
}
END_TEST

START_TEST(test_held_tailnet_and_released)
{
	struct fixture fx = {
	    .held = {"lab"}, .nheld = 1, .tags = {{.slug = "tsinv", .name = "tsinv"}}, .ntags = 1};

	/* A record of a tailnet left out of the run stays; one of a tailnet no longer
	 * configured is retired; a released address NetBox never held gets no record. */
	fx_rec(&fx, rec_obj(1, "100.64.0.1/32", "nA", "lab", "active", "a"));
	fx_rec(&fx, rec_obj(2, "100.64.0.2/32", "nB", "old", "active", "b"));
	fx_want(&fx, want_obj("100.64.0.9/32", "nZ", "deprecated", "z"));
	fx_plan(&fx);
	ck_assert_uint_eq(fx.plan.nsteps, 1);
	ck_assert_int_eq(fx.plan.steps[0].action, NBPLAN_DEPRECATE);
	ck_assert_ptr_eq(fx.plan.steps[0].rec, &fx.recs[1]);
	ck_assert_str_eq(body_str(&fx.plan.steps[0], "changelog_message"),
	                 "tsinvd: deprecate 100.64.0.2/32 (tailnet old, node nB)");
	fx_free(&fx);
}
END_TEST

START_TEST(test_address_spelling)
{
	struct fixture fx = {.tags = {{.slug = "tsinv", .name = "tsinv"}}, .ntags = 1};

	/* NetBox may spell an IPv6 address its own way: the match does not care. */
	fx_rec(&fx, rec_obj(1, "fd7a:115c:a1e0:0::1/128", "nA", "corp", "active", "a"));
	fx_want(&fx, want_obj("fd7a:115c:a1e0::1/128", "nA", "active", "a"));
	fx_plan(&fx);
	ck_assert_uint_eq(fx.plan.nsteps, 0);
	ck_assert_uint_eq(fx.plan.unchanged, 1);
	fx_free(&fx);
}
END_TEST

/* A record whose tags are TAGS (a JSON list of slugs). */
static json_t *
rec_tags(const char *tags)
{
	json_t *r = rec_obj(1, "100.64.0.1/32", "nA", "corp", "active", "a"), *list = json_array();
	json_t *slugs = json_loads(tags, 0, NULL), *t;
	size_t i;

	json_array_foreach(slugs, i, t) json_array_append_new(list, json_pack("{s:O}", "slug", t));
	json_decref(slugs);
	json_object_set_new(r, "tags", list);
	return r;
}

START_TEST(test_tags_merged)
{
	struct fixture fx = {
	    .tags = {{.slug = "tsinv", .name = "tsinv"},
	             {.slug = "rack-4", .name = "rack-4"},
	             {.slug = "old", .name = "old", .description = NBPLAN_TAG_DESCRIPTION}},
	    .ntags = 3};
	json_t *want = want_obj("100.64.0.1/32", "nA", "active", "a");

	/* Wanted: tsinv and web. Held: tsinv, a person's rack-4 and tsinv's stale "old". */
	json_array_append_new(json_object_get(want, "tags"), json_pack("{s:s}", "slug", "web"));
	fx_rec(&fx, rec_tags("[\"tsinv\", \"rack-4\", \"old\"]"));
	fx_want(&fx, want);
	fx_plan(&fx);
	ck_assert_uint_eq(fx.plan.nsteps, 1);
	/* Without add_tags, the whole set: the person's tag kept, tsinv's stale one gone. */
	ck_assert_json(json_object_get(fx.plan.steps[0].body, "tags"),
	               "[{\"slug\":\"tsinv\"},{\"slug\":\"rack-4\"},{\"slug\":\"web\"}]");
	ck_assert_uint_eq(fx.plan.nnew_tags, 1);
	ck_assert_str_eq(fx.plan.new_tags[0], "web");
	nbplan_free(&fx.plan);

	/* NetBox 4.6: only the change. */
	fx.tag_ops = 1;
	fx_plan(&fx);
	ck_assert_uint_eq(fx.plan.nsteps, 1);
	ck_assert_ptr_null(json_object_get(fx.plan.steps[0].body, "tags"));
	ck_assert_json(json_object_get(fx.plan.steps[0].body, "add_tags"), "[{\"slug\":\"web\"}]");
	ck_assert_json(json_object_get(fx.plan.steps[0].body, "remove_tags"),
	               "[{\"slug\":\"old\"}]");
	ck_assert_uint_eq(fx.plan.nnew_tags, 1);
	{
		json_t *j = nbplan_step_json(&fx.plan.steps[0], &map);

		ck_assert_json(j, "{\"action\":\"update\",\"address\":\"100.64.0.1/32\","
		                  "\"vrf\":\"ts-corp\",\"tailnet\":\"corp\",\"node_id\":\"nA\","
		                  "\"id\":1,\"fields\":[\"tags\"]}");
		json_decref(j);
	}
	fx_free(&fx);
}
END_TEST

START_TEST(test_tags_foreign_only)
{
	struct fixture fx = {
	    .tags = {{.slug = "tsinv", .name = "tsinv"}, {.slug = "rack-4", .name = "rack-4"}},
	    .ntags = 2};

	/* A tag people added is no difference: nothing to write, at every run. */
	fx_rec(&fx, rec_tags("[\"tsinv\", \"rack-4\"]"));
	fx_want(&fx, want_obj("100.64.0.1/32", "nA", "active", "a"));
	fx_plan(&fx);
	ck_assert_uint_eq(fx.plan.nsteps, 0);
	ck_assert_uint_eq(fx.plan.unchanged, 1);
	fx_free(&fx);
}
END_TEST

START_TEST(test_tag_found_by_name)
{
	struct fixture fx = {
	    .tags = {{.slug = "tsinv", .name = "tsinv"}, {.slug = "production", .name = "prod"}},
	    .ntags = 2};
	json_t *want = want_obj("100.64.0.2/32", "nB", "active", "b");

	/* NetBox has a tag named "prod" (slug "production"): it is used, none is created,
	 * whose name NetBox would refuse. */
	json_array_append_new(json_object_get(want, "tags"), json_pack("{s:s}", "slug", "prod"));
	fx_want(&fx, want);
	fx_plan(&fx);
	ck_assert_uint_eq(fx.plan.nsteps, 1);
	ck_assert_uint_eq(fx.plan.nnew_tags, 0);
	ck_assert_json(json_object_get(fx.plan.steps[0].body, "tags"),
	               "[{\"slug\":\"tsinv\"},{\"slug\":\"production\"}]");
	fx_free(&fx);
}
END_TEST

START_TEST(test_changelog_chars)
{
	char node[400] = "n";
	json_t *j;
	const char *m;
	size_t chars = 0;

	/* 150 two-byte characters: the cut at 200 characters falls inside none of them. */
	for (size_t i = 0; i < 150; i++)
		strcat(node, "\xc3\xa9");
	j = nbplan_changelog("create", "100.64.0.1/32", "corp", node);
	ck_assert_ptr_nonnull(j);
	m = json_string_value(j);
	for (const char *p = m; *p; p++)
		chars += ((unsigned char)*p & 0xc0) != 0x80;
	ck_assert_uint_eq(chars, NBPLAN_CHANGELOG_MAX);
	ck_assert_uint_gt(strlen(m), NBPLAN_CHANGELOG_MAX);
	json_decref(j);
}
END_TEST

START_TEST(test_action_names)
{
	ck_assert_str_eq(nbplan_action_name(NBPLAN_CREATE), "create");
	ck_assert_str_eq(nbplan_action_name(NBPLAN_REASSIGN), "reassign");
	ck_assert_str_eq(nbplan_action_name(NBPLAN_DEPRECATE), "deprecate");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("nbplan");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_rec_init);
	tcase_add_test(tc, test_create_unchanged_update);
	tcase_add_test(tc, test_reassign_and_retire);
	tcase_add_test(tc, test_wanted_record_not_taken);
	tcase_add_test(tc, test_held_tailnet_and_released);
	tcase_add_test(tc, test_address_spelling);
	tcase_add_test(tc, test_tags_merged);
	tcase_add_test(tc, test_tags_foreign_only);
	tcase_add_test(tc, test_tag_found_by_name);
	tcase_add_test(tc, test_changelog_chars);
	tcase_add_test(tc, test_action_names);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
