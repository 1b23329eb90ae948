/* check_checks_corpus.c: the policy checks over the fifteen real policy files, with what each
 * file is expected to fail written down, so that a change in any check's meaning shows. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checks.h"
#include "hujson.h"

#include "corpus.h"

TCase *checks_corpus_tcase(void);

/* Per file (by its number): every failed check with its number of findings, in table order.
 * Only the policy is given, so checks of other parts are unknown and not listed. After a change
 * of meaning, CHECKS_CORPUS_PRINT=1 prints the rows as they now are, to review and paste. */
static const struct {
	const char *file;
	const char *fails;
} corpus_expected[CORPUS_SIZE] = {
    {"01", "ACL-006:1 ACL-009:1 ACL-010:1 SSH-001:1 SSH-005:1"},
    {"02", "ACL-007:1 ACL-010:1 SSH-001:1 SSH-005:1"},
    {"03", "ACL-007:1 ACL-008:2 ACL-011:1 SSH-001:1 SSH-002:1 NET-001:1 NET-007:2"},
    {"04", "ACL-008:2 ACL-009:2 ACL-011:1 SSH-001:2 NET-001:1 NET-007:2"},
    {"05", "ACL-006:1 ACL-008:2 ACL-011:1 SSH-005:1 NET-007:3"},
    {"06", "ACL-007:1 ACL-010:1 SSH-001:1 SSH-005:1 NET-007:1"},
    {"07", "ACL-008:1 ACL-009:1 ACL-010:1 NET-007:1"},
    {"08", "ACL-006:1 ACL-010:1"},
    {"09", "ACL-006:1 ACL-008:2 SSH-001:1 SSH-004:1 SSH-005:1 NET-001:1"},
    {"10", "ACL-008:3 ACL-009:5 SSH-001:3 SSH-002:3 SSH-005:1 NET-001:1 NET-007:2"},
    {"11", "ACL-007:1 SSH-005:1 NET-001:1"},
    {"12", "ACL-002:1 ACL-007:1 ACL-008:1 ACL-009:1 SSH-005:1 NET-001:1"},
    {"13", "ACL-006:1 ACL-008:1 SSH-005:1"},
    {"14", "ACL-006:1"},
    {"15", "ACL-002:1 ACL-006:1 ACL-010:1"},
};

/* New reference: the file parsed as HuJSON. */
static json_t *
corpus_load(const char *name)
{
	struct hujson_error err;
	char path[512], *buf;
	size_t n;
	json_t *v;
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", corpus_dir(), name);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	buf = malloc(1 << 20);
	n = fread(buf, 1, 1 << 20, f);
	ck_assert_int_eq(feof(f), 1);
	fclose(f);
	v = hujson_parse(buf, n, &err);
	ck_assert_msg(v != NULL, "%s:%d:%d: %s", path, err.line, err.column, err.message);
	free(buf);
	return v;
}

/* "ACL-006:1 SSH-002:2": the failed checks of a run without the "TSINV-" prefix. */
static void
corpus_fails(json_t *run, char *out, size_t len)
{
	json_t *r, *f;
	size_t i, j, o = 0;

	out[0] = '\0';
	json_array_foreach(json_object_get(run, "results"), i, r)
	{
		const char *id = json_string_value(json_object_get(r, "check"));
		size_t n = 0;

		if (strcmp(json_string_value(json_object_get(r, "status")), "fail") != 0)
			continue;
		json_array_foreach(json_object_get(run, "findings"), j, f)
		{
			n += strcmp(json_string_value(json_object_get(f, "check")), id) == 0;
		}
		o += (size_t)snprintf(out + o, len - o, "%s%s:%zu", o > 0 ? " " : "", id + 6, n);
		ck_assert_uint_lt(o, len);
	}
}

START_TEST(test_corpus_findings)
{
	size_t nall, f, used = 0;
	char **all = corpus_list(&nall), got[1024];
	struct check_opts opts;

	checks_opts_init(&opts);
	if (POLICY_CORPUS[0] != '\0')
		ck_assert_uint_eq(nall, CORPUS_SIZE);
	ck_assert_uint_gt(nall, 0);
	for (f = 0; f < nall; f++) {
		struct check_snapshot snap = {.at = 1};
		json_t *run;
		size_t i;

		snap.policy = corpus_load(all[f]);
		run = checks_run(&snap, &opts);
		corpus_fails(run, got, sizeof got);
		if (getenv("CHECKS_CORPUS_PRINT") != NULL)
			printf("    {\"%.2s\", \"%s\"},\n", all[f], got);
		for (i = 0; i < CORPUS_SIZE; i++) {
			if (strncmp(all[f], corpus_expected[i].file, 2) == 0)
				break;
		}
		ck_assert_msg(i < CORPUS_SIZE, "%s is not in the table", all[f]);
		ck_assert_msg(strcmp(got, corpus_expected[i].fails) == 0,
		              "%s:\n  got:  %s\n  want: %s", all[f], got, corpus_expected[i].fails);
		used++;
		json_decref(run);
		json_decref(snap.policy);
	}
	ck_assert_uint_eq(used, nall);
	corpus_free(all);
}
END_TEST

TCase *
checks_corpus_tcase(void)
{
	TCase *tc = tcase_create("corpus");

	tcase_add_test(tc, test_corpus_findings);
	return tc;
}
