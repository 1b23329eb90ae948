/* check_policy.c: unit tests for group and rule rows and section counts of policy files. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hujson.h"
#include "policy.h"

#include "corpus.h"

/* A reference policy with hand-checked rows in tests/data/policy/NN.expected.json: Tailscale's
 * own documentation example (BSD-3-Clause), with legacy users/ports and capitalised keys. The
 * other reference files are not ours to copy, even as expected rows (they carry personal data);
 * they are checked for parsing and counts below. */
static const char *const checked[] = {
    "15-tailscale-api-md-legacy-capitalized.hujson",
};

/* New reference: the file parsed as HuJSON. */
static json_t *
load(const char *dir, const char *name)
{
	struct hujson_error err;
	char path[512], buf[65536];
	size_t n;
	json_t *v;
	FILE *f;

	/* The real policies are not ours to redistribute: they are read where the project keeps
	 * them (configure --with-policy-corpus), never copied into this tree. */
	if (strcmp(dir, "policies") == 0)
		snprintf(path, sizeof path, "%s/%s", corpus_dir(), name);
	else
		snprintf(path, sizeof path, "%s/%s/%s", TESTDATA, dir, name);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	n = fread(buf, 1, sizeof buf, f);
	ck_assert_int_eq(feof(f), 1);
	fclose(f);
	v = hujson_parse(buf, n, &err);
	ck_assert_msg(v != NULL, "%s:%d:%d: %s", path, err.line, err.column, err.message);
	return v;
}

/* Equal values with members in the same order: what a table printed from the rows shows. */
static void
assert_json_same(json_t *got, json_t *want)
{
	char *g = json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY);
	char *w = json_dumps(want, JSON_COMPACT | JSON_ENCODE_ANY);

	ck_assert_ptr_nonnull(g);
	ck_assert_ptr_nonnull(w);
	ck_assert_str_eq(g, w);
	free(g);
	free(w);
}

START_TEST(test_reference_policies)
{
	char name[32];
	json_t *policy = load("policies", checked[_i]);
	json_t *want, *got;

	snprintf(name, sizeof name, "%.2s.expected.json", checked[_i]);
	want = load("policy", name);

	got = policy_groups(policy);
	assert_json_same(got, json_object_get(want, "groups"));
	json_decref(got);
	got = policy_rules(policy);
	assert_json_same(got, json_object_get(want, "rules"));
	json_decref(got);
	got = policy_summary(policy);
	assert_json_same(got, json_object_get(want, "summary"));
	json_decref(got);

	json_decref(want);
	json_decref(policy);
}
END_TEST

/* Rows of the legacy, capitalised file (15) spelled out here too, as the reader sees them. */
START_TEST(test_legacy_capitalised)
{
	json_t *policy = load("policies", "15-tailscale-api-md-legacy-capitalized.hujson");
	json_t *rules = policy_rules(policy), *groups = policy_groups(policy);
	json_t *sum = policy_summary(policy);
	json_t *want;

	want =
	    json_loads("[{\"section\":\"acls\",\"index\":0,\"action\":\"accept\",\"src\":[\"*\"],"
	               "\"dst\":[\"*:*\"]}]",
	               0, NULL);
	assert_json_same(rules, want);
	json_decref(want);
	want = json_loads("[{\"group\":\"group:example\",\"member\":\"user1@example.com\"},"
	                  "{\"group\":\"group:example\",\"member\":\"user2@example.com\"}]",
	                  0, NULL);
	assert_json_same(groups, want);
	json_decref(want);
	ck_assert_int_eq(json_integer_value(json_object_get(sum, "acls")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(sum, "hosts")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(sum, "tests")), 0);
	ck_assert(json_is_false(json_object_get(sum, "micro_segmented")));
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(sum, "reasons"), 0)),
	                 "acls[0] lets src \"*\" reach dst \"*:*\" (any device, any port)");
	json_decref(sum);
	json_decref(groups);
	json_decref(rules);
	json_decref(policy);
}
END_TEST

/* Every reference policy gives rows and counts that agree with each other. */
START_TEST(test_all_policies_consistent)
{
	size_t nall;
	char **all = corpus_list(&nall);
	size_t f, i, per[3];
	json_t *policy, *rules, *sum, *row;

	ck_assert_uint_gt(nall, 0);
	for (f = 0; f < nall; f++) {
		policy = load("policies", all[f]);
		rules = policy_rules(policy);
		sum = policy_summary(policy);
		memset(per, 0, sizeof per);
		json_array_foreach(rules, i, row)
		{
			const char *s = json_string_value(json_object_get(row, "section"));

			per[strcmp(s, "acls") == 0 ? 0 : strcmp(s, "grants") == 0 ? 1 : 2]++;
			/* The real files use no member these tables do not know. */
			ck_assert_msg(json_object_get(row, "other") == NULL, "%s: rule %zu", all[f],
			              i);
			ck_assert_ptr_nonnull(json_object_get(row, "action"));
		}
		ck_assert_int_eq(per[0], json_integer_value(json_object_get(sum, "acls")));
		ck_assert_int_eq(per[1], json_integer_value(json_object_get(sum, "grants")));
		ck_assert_int_eq(per[2], json_integer_value(json_object_get(sum, "ssh")));
		/* Only 12 (a grant) and 15 (an acl) open everything to everyone. */
		ck_assert_int_eq(json_is_false(json_object_get(sum, "micro_segmented")),
		                 strncmp(all[f], "12-", 3) == 0 || strncmp(all[f], "15-", 3) == 0);
		if (strncmp(all[f], "12-", 3) == 0)
			ck_assert_str_eq(
			    json_string_value(json_array_get(json_object_get(sum, "reasons"), 0)),
			    "grants[0] lets src \"*\" reach dst \"*\" with ip \"*\" (any device, "
			    "any port)");
		json_decref(sum);
		json_decref(rules);
		json_decref(policy);
	}
	corpus_free(all);
}
END_TEST

static const char synthetic[] =
    "{\n"
    "  // names in any case, legacy names, unknown members, odd shapes\n"
    "  \"Groups\": {\"group:a\": [\"x@example.com\", \"y@example.com\"], \"group:empty\": [],\n"
    "             \"group:bad\": \"not a list\"},\n"
    "  \"ACLS\": [\n"
    "    {\"Action\": \"accept\", \"Users\": [\"group:a\"], \"Ports\": [\"tag:web:443\"],\n"
    "     \"proto\": \"tcp\", \"comment\": \"web\"},\n"
    "    {\"action\": \"accept\", \"src\": [\"*\"], \"users\": [\"legacy\"], \"dst\": [\"*:*\"]},\n"
    "    \"not an object\",\n"
    "  ],\n"
    "  \"grants\": [\n"
    "    {\"src\": [\"*\"], \"dst\": [\"*\"], \"ip\": [\"*\"], \"action\": \"drop\"},\n"
    "    {\"src\": [\"*\"], \"dst\": [\"tag:x\"], \"ip\": [\"*\"]},\n"
    "  ],\n"
    "  \"SSH\": [{\"action\": \"check\", \"src\": [\"group:a\"], \"dst\": [\"tag:web\"],\n"
    "           \"users\": [\"root\"], \"checkPeriod\": \"always\", \"acceptEnv\": [\"GIT_*\"],\n"
    "           \"recorder\": [\"tag:rec\"], \"enforceRecorder\": true, \"extra\": 1}],\n"
    "  \"tagOwners\": {\"tag:web\": [], \"tag:x\": [\"group:a\"]},\n"
    "  \"hosts\": \"not an object\",\n"
    "}\n";

START_TEST(test_synthetic)
{
	json_t *policy = hujson_parse(synthetic, sizeof synthetic - 1, NULL);
	json_t *got, *want;

	ck_assert_ptr_nonnull(policy);
	got = policy_groups(policy);
	want = json_loads("["
	                  "{\"group\":\"group:a\",\"member\":\"x@example.com\"},"
	                  "{\"group\":\"group:a\",\"member\":\"y@example.com\"},"
	                  "{\"group\":\"group:empty\",\"member\":null}]",
	                  0, NULL);
	assert_json_same(got, want);
	json_decref(want);
	json_decref(got);

	got = policy_rules(policy);
	want = json_loads(
	    "["
	    "{\"section\":\"acls\",\"index\":0,\"action\":\"accept\",\"src\":[\"group:a\"],"
	    "\"dst\":[\"tag:web:443\"],\"proto\":\"tcp\",\"other\":{\"comment\":\"web\"}},"
	    "{\"section\":\"acls\",\"index\":1,\"action\":\"accept\",\"src\":[\"legacy\"],"
	    "\"dst\":[\"*:*\"],\"other\":{\"src\":[\"*\"]}},"
	    "{\"section\":\"acls\",\"index\":2,\"invalid\":\"not an object\"},"
	    "{\"section\":\"grants\",\"index\":0,\"action\":\"accept\",\"src\":[\"*\"],"
	    "\"dst\":[\"*\"],\"ip\":[\"*\"],\"other\":{\"action\":\"drop\"}},"
	    "{\"section\":\"grants\",\"index\":1,\"action\":\"accept\",\"src\":[\"*\"],"
	    "\"dst\":[\"tag:x\"],\"ip\":[\"*\"]},"
	    "{\"section\":\"ssh\",\"index\":0,\"action\":\"check\",\"src\":[\"group:a\"],"
	    "\"dst\":[\"tag:web\"],\"users\":[\"root\"],\"checkPeriod\":\"always\","
	    "\"recorder\":[\"tag:rec\"],\"enforceRecorder\":true,\"acceptEnv\":[\"GIT_*\"],"
	    "\"other\":{\"extra\":1}}]",
	    0, NULL);
	ck_assert_ptr_nonnull(want);
	assert_json_same(got, want);
	json_decref(want);

	/* The rows are copies: emptying one leaves the policy alone. */
	json_array_clear(json_object_get(json_array_get(got, 0), "src"));
	ck_assert_int_eq(json_array_size(json_object_get(
	                     json_array_get(json_object_get(policy, "ACLS"), 0), "Users")),
	                 1);
	json_decref(got);

	got = policy_summary(policy);
	want = json_loads(
	    "{\"acls\":3,\"grants\":2,\"ssh\":1,\"groups\":3,\"tagOwners\":2,\"hosts\":0,"
	    "\"ipsets\":0,\"postures\":0,\"nodeAttrs\":0,\"tests\":0,\"sshTests\":0,"
	    "\"micro_segmented\":false,"
	    "\"reasons\":[\"grants[0] lets src \\\"*\\\" reach dst \\\"*\\\" with ip \\\"*\\\" "
	    "(any device, any port)\"]}",
	    0, NULL);
	ck_assert_ptr_nonnull(want);
	assert_json_same(got, want);
	json_decref(want);
	json_decref(got);
	json_decref(policy);
}
END_TEST

/* Two spellings of one section: the last wins, as in Tailscale's decoder. */
START_TEST(test_section_spellings)
{
	static const char in[] = "{\"acls\": [{\"action\": \"accept\", \"src\": [\"*\"], "
	                         "\"dst\": [\"*:*\"]}], \"ACLs\": []}";
	json_t *policy = hujson_parse(in, sizeof in - 1, NULL);
	json_t *rules = policy_rules(policy), *sum = policy_summary(policy);

	ck_assert_int_eq(json_array_size(rules), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(sum, "acls")), 0);
	ck_assert(json_is_true(json_object_get(sum, "micro_segmented")));
	json_decref(sum);
	json_decref(rules);
	json_decref(policy);
}
END_TEST

START_TEST(test_not_a_policy)
{
	json_t *v = json_loads("[1, 2]", 0, NULL), *empty = json_object(), *got;

	ck_assert_ptr_null(policy_groups(v));
	ck_assert_ptr_null(policy_rules(v));
	ck_assert_ptr_null(policy_summary(v));
	ck_assert_ptr_null(policy_groups(NULL));
	ck_assert_ptr_null(policy_rules(NULL));
	ck_assert_ptr_null(policy_summary(NULL));

	got = policy_groups(empty);
	ck_assert_int_eq(json_array_size(got), 0);
	json_decref(got);
	got = policy_rules(empty);
	ck_assert_int_eq(json_array_size(got), 0);
	json_decref(got);
	got = policy_summary(empty);
	ck_assert_int_eq(json_integer_value(json_object_get(got, "acls")), 0);
	ck_assert(json_is_true(json_object_get(got, "micro_segmented")));
	ck_assert_int_eq(json_array_size(json_object_get(got, "reasons")), 1);
	json_decref(got);
	json_decref(empty);
	json_decref(v);
}
END_TEST

static Suite *
policy_suite(void)
{
	Suite *s = suite_create("policy");
	TCase *tc;

	tc = tcase_create("policy");
	tcase_add_loop_test(tc, test_reference_policies, 0, sizeof checked / sizeof checked[0]);
	tcase_add_test(tc, test_legacy_capitalised);
	tcase_add_test(tc, test_all_policies_consistent);
	tcase_add_test(tc, test_synthetic);
	tcase_add_test(tc, test_section_spellings);
	tcase_add_test(tc, test_not_a_policy);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(policy_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
