/* check_jscan.c: unit tests for the element scanner, against jansson on the same bytes. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jscan.h"

/* Scans BODY for "devices" and checks every element against jansson's parse of the whole body:
 * same count, and each element's bytes parse to the same value. Returns jscan_member's answer. */
static int
check_jscan_vs_jansson(const char *body, size_t len)
{
	struct jscan js;
	char *cause = NULL;
	const char *el;
	size_t elen, i = 0;
	json_t *j, *list, *ej;
	int rc;

	rc = jscan_member(body, len, "devices", &js, &cause);
	j = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	if (rc == -1) {
		ck_assert_ptr_nonnull(cause);
		ck_assert_msg(strncmp(cause, "malformed JSON at byte ", 23) == 0, "cause: %s",
		              cause);
		free(cause);
		ck_assert_msg(j == NULL || !json_is_object(j),
		              "jscan refused what jansson took: %.*s", (int)len, body);
		json_decref(j);
		return rc;
	}
	ck_assert_ptr_null(cause);
	ck_assert_msg(json_is_object(j), "jscan took what jansson refused: %.*s", (int)len, body);
	list = json_object_get(j, "devices");
	if (rc == JSCAN_ABSENT)
		ck_assert_ptr_null(list);
	else if (rc == JSCAN_OTHER)
		ck_assert(list != NULL && !json_is_array(list));
	else {
		ck_assert(json_is_array(list));
		ck_assert_uint_eq(js.count, json_array_size(list));
		while (jscan_next(&js, &el, &elen) == 1) {
			ck_assert_uint_lt(i, json_array_size(list));
			ej = json_loadb(el, elen, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
			ck_assert_msg(ej != NULL, "element %zu does not parse: %.*s", i, (int)elen,
			              el);
			ck_assert_msg(json_equal(ej, json_array_get(list, i)),
			              "element %zu differs", i);
			json_decref(ej);
			i++;
		}
		ck_assert_uint_eq(i, json_array_size(list));
		ck_assert_int_eq(jscan_next(&js, &el, &elen), 0);
	}
	json_decref(j);
	return rc;
}

static const struct {
	const char *body;
	int rc;
} check_jscan_cases[] = {
    {"{\"devices\":[]}", JSCAN_ARRAY},
    {" \r\n\t{ \"devices\" : [ ] } \n", JSCAN_ARRAY},
    {"{\"devices\":[{\"id\":\"1\"},{\"id\":\"2\",\"tags\":[\"a\",\"b\"]}]}", JSCAN_ARRAY},
    {"{\"devices\":[1, -2.5e+3 ,\"x\",true,false,null,[],{}, [[]], {\"a\":{}}]}", JSCAN_ARRAY},
    /* Brackets, quotes and commas inside strings are no structure. */
    {"{\"devices\":[{\"n\":\"a]},{\\\"\"},\"]\",\"\\\\\",\"[{,\"]}", JSCAN_ARRAY},
    {"{\"a\":{\"devices\":[1,2]},\"devices\":[3]}", JSCAN_ARRAY},
    {"{\"dev\\u0069ces\":[3,4]}", JSCAN_ARRAY},
    {"{\"devices\":[\"\\ud83d\\ude00\",\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"]}", JSCAN_ARRAY},
    {"{\"devices\":[0,-0,0.5,1E2,1e-2]}", JSCAN_ARRAY},
    {"{}", JSCAN_ABSENT},
    {"{\"users\":[1]}", JSCAN_ABSENT},
    {"{\"devicesx\":[1],\"device\":[2]}", JSCAN_ABSENT},
    {"{\"devices\":{}}", JSCAN_OTHER},
    {"{\"devices\":null}", JSCAN_OTHER},
    {"{\"devices\":\"[1]\"}", JSCAN_OTHER},
    /* Malformed: each is refused, as jansson refuses it. */
    {"", -1},
    {"   ", -1},
    {"[]", -1},
    {"\"devices\"", -1},
    {"{", -1},
    {"{\"devices\":[1]", -1},
    {"{\"devices\":[1,]}", -1},
    {"{\"devices\":[,1]}", -1},
    {"{\"devices\":[1 2]}", -1},
    {"{\"devices\":[1]]}", -1},
    {"{\"devices\":[1}}", -1},
    {"{\"devices\":[1]} x", -1},
    {"{\"devices\":[1]}{}", -1},
    {"{\"a\":1,}", -1},
    {"{\"a\" 1}", -1},
    {"{1:2}", -1},
    {"{'a':1}", -1},
    {"{\"a\":01}", -1},
    {"{\"a\":-}", -1},
    {"{\"a\":1.}", -1},
    {"{\"a\":.5}", -1},
    {"{\"a\":1e}", -1},
    {"{\"a\":+1}", -1},
    {"{\"a\":tru}", -1},
    {"{\"a\":nul}", -1},
    {"{\"a\":True}", -1},
    {"{\"a\":\"x}", -1},
    {"{\"a\":\"x\\\"}", -1},
    {"{\"a\":\"\\x\"}", -1},
    {"{\"a\":\"\\u12\"}", -1},
    {"{\"a\":\"\\u12g4\"}", -1},
    {"{\"a\":\"\\u0000\"}", -1},
    {"{\"a\":\"\\ud800\"}", -1},
    {"{\"a\":\"\\ud800\\u0041\"}", -1},
    {"{\"a\":\"\\udc00\"}", -1},
    {"{\"a\":\"\x01\"}", -1},
    {"{\"a\":\"\t\"}", -1},
    {"{\"a\":\"\xff\"}", -1},
    {"{\"a\":\"\xc0\x80\"}", -1},
    {"{\"a\":\"\xc3\"}", -1},
    {"{\"a\":\"\xed\xa0\x80\"}", -1},
    {"{\"a\":\"\xf4\x90\x80\x80\"}", -1},
    {"{\"devices\":[],\"devices\":[]}", -1},
    {"{\"devices\":[1],\"dev\\u0069ces\":[2]}", -1},
};

START_TEST(test_cases)
{
	const char *body = check_jscan_cases[_i].body;
	int rc = check_jscan_vs_jansson(body, strlen(body));

	ck_assert_msg(rc == check_jscan_cases[_i].rc, "case %d (%s): %d, not %d", _i, body, rc,
	              check_jscan_cases[_i].rc);
}
END_TEST

/* Every proper prefix of a well-formed body is refused: a cut answer records nothing. */
START_TEST(test_truncated)
{
	const char *body =
	    "{\"devices\":[{\"id\":\"1\",\"addresses\":[\"100.64.0.1\"],\"n\":-1.5e3},"
	    "{\"id\":\"\\u00e9\\\"]\",\"b\":true,\"c\":null,\"d\":{}}],\"x\":[]}";
	size_t len = strlen(body);
	struct jscan js;
	char *cause = NULL;

	ck_assert_int_eq(check_jscan_vs_jansson(body, len), JSCAN_ARRAY);
	for (size_t n = 0; n < len; n++) {
		ck_assert_msg(jscan_member(body, n, "devices", &js, &cause) == -1,
		              "prefix %zu taken", n);
		free(cause);
		cause = NULL;
	}
}
END_TEST

/* A NUL byte in the body is refused wherever it is; the scan never reads past LEN. */
START_TEST(test_nul_and_bounds)
{
	const char body[] = "{\"devices\":[\"a\"]}";
	size_t len = sizeof(body) - 1;
	struct jscan js;
	char *cause = NULL, *copy;

	for (size_t i = 0; i < len; i++) {
		copy = malloc(len);
		ck_assert_ptr_nonnull(copy);
		memcpy(copy, body, len);
		copy[i] = '\0';
		ck_assert_int_eq(check_jscan_vs_jansson(copy, len), -1);
		free(copy);
	}
	/* Exactly LEN bytes, no terminator: ASan catches any read past them. */
	copy = malloc(len);
	ck_assert_ptr_nonnull(copy);
	memcpy(copy, body, len);
	ck_assert_int_eq(jscan_member(copy, len, "devices", &js, &cause), JSCAN_ARRAY);
	ck_assert_uint_eq(js.count, 1);
	free(copy);
}
END_TEST

/* jansson skips a NUL byte after a number or literal (its stream buffer takes NUL for "empty");
 * the scanner refuses it like any other NUL: no API answer has one. */
START_TEST(test_nul_after_literal)
{
	const char body[] = "{\"devices\":[1\0,false\0]}";
	struct jscan js;
	char *cause = NULL;

	ck_assert_int_eq(jscan_member(body, sizeof(body) - 1, "devices", &js, &cause), -1);
	ck_assert_msg(strstr(cause, "byte 13") != NULL, "%s", cause);
	free(cause);
}
END_TEST

static char *
check_jscan_nest(size_t depth, size_t *len)
{
	char *b = malloc(2 * depth + 32), *p = b;

	ck_assert_ptr_nonnull(b);
	p += sprintf(p, "{\"devices\":");
	for (size_t i = 0; i < depth; i++)
		*p++ = '[';
	for (size_t i = 0; i < depth; i++)
		*p++ = ']';
	*p++ = '}';
	*len = (size_t)(p - b);
	return b;
}

/* Deep nesting is bounded, not a stack overflow. */
START_TEST(test_depth)
{
	struct jscan js;
	char *cause = NULL, *b;
	size_t len;

	b = check_jscan_nest(100, &len);
	ck_assert_int_eq(check_jscan_vs_jansson(b, len), JSCAN_ARRAY);
	free(b);
	b = check_jscan_nest(1000000, &len);
	ck_assert_int_eq(jscan_member(b, len, "devices", &js, &cause), -1);
	ck_assert_msg(strstr(cause, "nested too deeply") != NULL, "%s", cause);
	free(cause);
	free(b);
}
END_TEST

/* A generated 5,000-device body: every element found, in order, byte for byte. */
START_TEST(test_large)
{
	size_t cap = 5000 * 200 + 64, len = 0;
	char *b = malloc(cap);

	ck_assert_ptr_nonnull(b);
	len += (size_t)sprintf(b + len, "{\"devices\": [\n");
	for (int i = 0; i < 5000; i++)
		len +=
		    (size_t)sprintf(b + len,
		                    "%s  {\"id\": \"%d\", \"name\": \"h%d.ts.net\", \"addresses\": "
		                    "[\"100.64.%d.%d\"], \"tags\": [\"tag:a\\\"]\"], \"n\": %d.5}",
		                    i ? ",\n" : "", i, i, i / 256, i % 256, -i);
	len += (size_t)sprintf(b + len, "\n]}\n");
	ck_assert_uint_lt(len, cap);
	ck_assert_int_eq(check_jscan_vs_jansson(b, len), JSCAN_ARRAY);
	free(b);
}
END_TEST

/* A member that is no array: its bytes are told, so that null can be told from the rest. */
START_TEST(test_other_span)
{
	static const char *const bodies[] = {
	    "{\"devices\": null }", "{\"a\":1,\"devices\":{\"x\":[1]}}", "{\"devices\":\"s,]\"}"};
	static const char *const spans[] = {"null", "{\"x\":[1]}", "\"s,]\""};
	struct jscan js;
	char *cause = NULL;

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		ck_assert_int_eq(jscan_member(bodies[i], strlen(bodies[i]), "devices", &js, &cause),
		                 JSCAN_OTHER);
		ck_assert_uint_eq((size_t)(js.end - js.p), strlen(spans[i]));
		ck_assert(memcmp(js.p, spans[i], strlen(spans[i])) == 0);
	}
}
END_TEST

/* The nodeId of an element without a parse: top level only, unescaped strings only. */
START_TEST(test_string_member)
{
	static const struct {
		const char *obj, *want; /* want NULL: 0 */
	} cases[] = {
	    {"{\"nodeId\":\"n1\"}", "n1"},
	    {"{ \"a\" : {\"nodeId\":\"inner\"} , \"nodeId\" :\t\"n2\" }", "n2"},
	    {"{\"a\":[\"nodeId\",\"x\"],\"b\":\"}\",\"nodeId\":\"n3\"}", "n3"},
	    {"{\"node\\u0049d\":\"n4\"}", "n4"},
	    {"{\"nodeId\":\"n\\u0035\"}", NULL},
	    {"{\"nodeId\":5}", NULL},
	    {"{\"a\":1e5,\"b\":true}", NULL},
	    {"{}", NULL},
	};
	const char *s;
	size_t n;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = jscan_string_member(cases[i].obj, strlen(cases[i].obj), "nodeId", &s, &n);

		ck_assert_msg(rc == (cases[i].want != NULL), "case %zu: %d", i, rc);
		if (rc == 1) {
			ck_assert_uint_eq(n, strlen(cases[i].want));
			ck_assert(memcmp(s, cases[i].want, n) == 0);
		}
	}
}
END_TEST

/* Any member's value as bytes: objects, arrays, strings with escapes, numbers, literals. */
START_TEST(test_value_member)
{
	static const struct {
		const char *obj, *name, *want; /* want NULL: 0 */
	} cases[] = {
	    {"{\"tags\":[\"tag:a\",\"tag:]\"],\"n\":1}", "tags", "[\"tag:a\",\"tag:]\"]"},
	    {"{\"a\":{\"b\":{}},\"c\":2}", "a", "{\"b\":{}}"},
	    {"{ \"n\" : -1.5e3 , \"x\":0}", "n", "-1.5e3"},
	    {"{\"n\":true}", "n", "true"},
	    {"{\"n\":null,\"m\":1}", "n", "null"},
	    {"{\"s\":\"a\\\"}\"}", "s", "\"a\\\"}\""},
	    {"{\"a\":{\"n\":1}}", "n", NULL},
	    {"{}", "n", NULL},
	};
	const char *v;
	size_t n;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc =
		    jscan_value_member(cases[i].obj, strlen(cases[i].obj), cases[i].name, &v, &n);

		ck_assert_msg(rc == (cases[i].want != NULL), "case %zu: %d", i, rc);
		if (rc == 1)
			ck_assert_msg(n == strlen(cases[i].want) &&
			                  memcmp(v, cases[i].want, n) == 0,
			              "case %zu: %.*s", i, (int)n, v);
	}
}
END_TEST

/* The members of an object in order, keys raw, values whole, nested members not among them. */
START_TEST(test_object_next)
{
	static const char obj[] = "{ \"a\" : {\"b\":1,\"c\":[2,{}]} ,\"k\\\"q\":\"x,}\",\"n\":-2 }";
	static const char *const want[][2] = {
	    {"a", "{\"b\":1,\"c\":[2,{}]}"}, {"k\\\"q", "\"x,}\""}, {"n", "-2"}};
	const char *pos = obj, *k, *v;
	size_t klen, vlen, i = 0;

	while (jscan_object_next(&pos, obj + sizeof obj - 1, &k, &klen, &v, &vlen) == 1) {
		ck_assert_uint_lt(i, 3);
		ck_assert_msg(klen == strlen(want[i][0]) && memcmp(k, want[i][0], klen) == 0,
		              "key %zu: %.*s", i, (int)klen, k);
		ck_assert_msg(vlen == strlen(want[i][1]) && memcmp(v, want[i][1], vlen) == 0,
		              "value %zu: %.*s", i, (int)vlen, v);
		i++;
	}
	ck_assert_uint_eq(i, 3);
	pos = "{}";
	ck_assert_int_eq(jscan_object_next(&pos, pos + 2, &k, &klen, &v, &vlen), 0);
}
END_TEST

static Suite *
jscan_suite(void)
{
	Suite *s = suite_create("jscan");
	TCase *tc = tcase_create("scan");

	tcase_add_loop_test(tc, test_cases, 0,
	                    (int)(sizeof(check_jscan_cases) / sizeof(check_jscan_cases[0])));
	tcase_add_test(tc, test_truncated);
	tcase_add_test(tc, test_nul_and_bounds);
	tcase_add_test(tc, test_nul_after_literal);
	tcase_add_test(tc, test_depth);
	tcase_add_test(tc, test_large);
	tcase_add_test(tc, test_other_span);
	tcase_add_test(tc, test_string_member);
	tcase_add_test(tc, test_value_member);
	tcase_add_test(tc, test_object_next);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(jscan_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
