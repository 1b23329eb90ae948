/* check_hujson.c: unit tests for the HuJSON standardiser against real and malformed files. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hujson.h"

#include "corpus.h"

/* Filled by main() from the corpus directory. */
static char **policies;
static size_t npolicies;

/* Reads a whole file (malloc'd, NUL-terminated). */
static char *
slurp(const char *dir, const char *name, size_t *len)
{
	char path[512];
	char *buf;
	FILE *f;
	long n;

	/* The real policies are not ours to redistribute: they are read where the project keeps
	 * them (configure --with-policy-corpus), never copied into this tree. */
	if (strcmp(dir, "policies") == 0)
		snprintf(path, sizeof path, "%s/%s", corpus_dir(), name);
	else
		snprintf(path, sizeof path, "%s/%s/%s", TESTDATA, dir, name);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	ck_assert_int_ge(n, 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* The offset-keeping contract: same length, bytes unchanged or blanked, newlines in place. */
static void
assert_same_layout(const char *in, const char *out, size_t len)
{
	size_t i;

	ck_assert_uint_eq(strlen(out), len);
	for (i = 0; i < len; i++) {
		ck_assert_msg(out[i] == in[i] || out[i] == ' ', "byte %zu changed to 0x%02x", i,
		              (unsigned char)out[i]);
		ck_assert_msg((in[i] == '\n') == (out[i] == '\n'), "newline moved at %zu", i);
	}
}

/* Standardises, checks the layout and that jansson loads the result; returns the output. */
static char *
std_ok(const char *in, size_t len)
{
	struct hujson_error err;
	json_error_t jerr;
	size_t outlen = 0;
	char *out;
	json_t *v;

	ck_assert_msg(hujson_standardize(in, len, &out, &outlen, &err) == 0, "%d:%d: %s", err.line,
	              err.column, err.message);
	ck_assert_uint_eq(outlen, len);
	assert_same_layout(in, out, len);
	v = json_loadb(out, outlen, JSON_DECODE_ANY, &jerr);
	ck_assert_msg(v != NULL, "jansson: %d:%d %s", jerr.line, jerr.column, jerr.text);
	json_decref(v);
	return out;
}

START_TEST(test_policy_files)
{
	size_t len, i, changed = 0;
	char *in = slurp("policies", policies[_i], &len);
	char *out = std_ok(in, len);
	struct hujson_error err;
	json_t *v;

	for (i = 0; i < len; i++)
		changed += in[i] != out[i];
	ck_assert_uint_gt(changed, 0); /* every one of them has a comment or a trailing comma */
	v = hujson_parse(in, len, &err);
	ck_assert_msg(json_is_object(v), "%s", err.message);
	json_decref(v);
	free(out);
	free(in);
}
END_TEST

/* Plain JSON goes through unchanged, byte for byte: the reference API answers and the policies
 * re-serialised by jansson in several styles. */
START_TEST(test_plain_json_unchanged)
{
	static const size_t flags[] = {0, JSON_COMPACT, JSON_INDENT(2) | JSON_ENSURE_ASCII,
	                               JSON_INDENT(8) | JSON_SORT_KEYS};
	static const char *const plain[] = {"acl.json", "acl-clientgo-fixture.json"};
	size_t len, f;
	char *in, *out, *dumped;
	json_t *v;

	if ((size_t)_i < sizeof plain / sizeof plain[0]) {
		in = slurp("policy", plain[_i], &len);
		out = std_ok(in, len);
		ck_assert_mem_eq(in, out, len);
		free(out);
		free(in);
		return;
	}
	in = slurp("policies", policies[_i - 2], &len);
	v = hujson_parse(in, len, NULL);
	ck_assert_ptr_nonnull(v);
	for (f = 0; f < sizeof flags / sizeof flags[0]; f++) {
		dumped = json_dumps(v, flags[f]);
		out = std_ok(dumped, strlen(dumped));
		ck_assert_str_eq(out, dumped);
		free(out);
		free(dumped);
	}
	json_decref(v);
	free(in);
}
END_TEST

/* A token found in the input is found at the same offset in the output, and a block comment's
 * lines are kept. */
START_TEST(test_positions_kept)
{
	static const char in[] =
	    "/*\n * A policy.\n * With a block comment.\n */\n"
	    "{\n\t// groups\n\t\"groups\": {\"group:tier-1-support\": "
	    "[\"a@example.com\",],},\n\t\"ssh\": [{\"users\": "
	    "[\"ubuntu\"], /* who */ \"dst\": [\"svc:customer-database\"]}],\n}\n";
	static const char *const tokens[] = {"\"group:tier-1-support\"",
	                                     "\"svc:customer-database\"", "\"ubuntu\""};
	size_t len = sizeof in - 1, i;
	char *out = std_ok(in, len);
	const char *p;

	for (i = 0; i < sizeof tokens / sizeof tokens[0]; i++) {
		p = strstr(in, tokens[i]);
		ck_assert_ptr_nonnull(p);
		ck_assert_mem_eq(out + (p - in), tokens[i], strlen(tokens[i]));
	}
	/* The block comment on lines 1-4 is blank but its newlines are still there. */
	for (i = 0, p = out; i < 4; i++, p++)
		ck_assert_ptr_nonnull(p = strchr(p, '\n'));
	ck_assert_int_eq(strspn(out, " \n"), p - out);
	ck_assert_int_eq(*p, '{');
	free(out);
}
END_TEST

/* The configured corpus is the whole corpus: CI reads all fifteen real files. */
START_TEST(test_corpus_complete)
{
	ck_assert_msg(npolicies == (POLICY_CORPUS[0] != '\0' ? CORPUS_SIZE : 2),
	              "%zu policy files in %s", npolicies, corpus_dir());
}
END_TEST

static const struct {
	const char *in;
	const char *out;
} exact[] = {
    {"{\"a\":1, // c\n}", "{\"a\":1      \n}"},
    {"/* \xc3\xa9 */[1,]", "        [1 ]"},
    {"/*\t\r\n*/1", "  \t\r\n  1"},
    {"[1 /* c */ , ]", "[1           ]"},
    {"{\"a\":[1,2,],}", "{\"a\":[1,2 ] }"},
    {"[\"// not a comment\", \"/* nor this */\",]", "[\"// not a comment\", \"/* nor this */\" ]"},
    {"// c\r\n\"x\"\t", "    \r\n\"x\"\t"},
    {"[/**/]", "[    ]"},
    {"{/* a */\"k\"/* b */:/* c */true/* d */,/* e */}", "{       \"k\"       :       true"
                                                         "               }"},
    {"[0,-0,1.5e3,-2E-2,123456789012345678,9223372036854775807,-9223372036854775808,1e308,1e-400]",
     NULL},
    {"\"\\u00e9\\ud83d\\ude00\\\"\\\\\\/\\b\\f\\n\\r\\t\"", NULL},
    {"\"\xf0\x9f\x98\x80 \xe2\x82\xac \xc3\xa9 \xef\xbf\xbf \xf4\x8f\xbf\xbf\"", NULL},
    {"null", NULL},
    {" true ", NULL},
    {"{}", NULL},
    {"[[[[]]]]", NULL},
};

START_TEST(test_exact_output)
{
	size_t len = strlen(exact[_i].in);
	char *out = std_ok(exact[_i].in, len);

	ck_assert_str_eq(out, exact[_i].out != NULL ? exact[_i].out : exact[_i].in);
	free(out);
}
END_TEST

static const struct {
	const char *in;
	int line, column;
	const char *message;
} bad[] = {
    {"{\n  /* open\n  \"a\": 1\n}\n", 2, 3, "unterminated block comment"},
    {"[1,\n 2,,\n]", 2, 4, "two trailing commas"},
    {"{\"a\":1,,,}", 1, 8, "two trailing commas"},
    {"[1,,2]", 1, 4, "comma without a value before it"},
    {"{\"a\": 1}\n// end", 2, 1, "line comment at end of file without a newline"},
    {"{\"a\": \"x\xff\"}", 1, 9, "invalid UTF-8 in string"},
    {"{\"a\": \"\xc0\xaf\"}", 1, 8, "invalid UTF-8 in string"},  /* overlong '/' */
    {"[\"\xed\xa0\x80\"]", 1, 3, "invalid UTF-8 in string"},     /* UTF-16 surrogate */
    {"[\"\xf4\x90\x80\x80\"]", 1, 3, "invalid UTF-8 in string"}, /* above U+10FFFF */
    {"[\"\xe2\x82\"]", 1, 3, "invalid UTF-8 in string"},         /* truncated */
    {"// caf\xc3\x28\n{}", 1, 7, "invalid UTF-8 in comment"},
    {"{}\n/* \xe2\x82", 2, 4, "invalid UTF-8 in comment"},
    {"[1]\n\xff", 2, 1, "invalid UTF-8"},
    {",", 1, 1, "comma without a value before it"},
    {"[,]", 1, 2, "comma without a value before it"},
    {"{ , }", 1, 3, "comma without a value before it"},
    {"[\n  ,1]", 2, 3, "comma without a value before it"},
    {"{\"a\":,}", 1, 6, "missing value after ':'"},
    {"{\"a\": }", 1, 7, "missing value after ':'"},
    {"{\n  /* a /* b */ */\n  \"k\": 1\n}", 2, 16,
     "stray \"*/\" where an object name is expected (block comments do not nest)"},
    {"/* a /* b */ */ 1", 1, 14,
     "stray \"*/\" where a value is expected (block comments do not nest)"},
    {"{\"a\": \"tab\there\"}", 1, 11, "control character 0x09 in string"},
    {"[\"a\nb\"]", 1, 4, "control character 0x0A in string"},
    {"[\"\x7f\x01\"]", 1, 4, "control character 0x01 in string"},
    {"", 1, 1, "unexpected end of input where a value is expected"},
    {"  // only a comment\n", 2, 1, "unexpected end of input where a value is expected"},
    {"[1, 2", 1, 6, "unexpected end of input after an array element (expecting ',' or ']')"},
    {"{\"a\":1", 1, 7, "unexpected end of input after an object member (expecting ',' or '}')"},
    {"{\"a\"", 1, 5, "unexpected end of input after an object name (expecting ':')"},
    {"[1 2]", 1, 4, "invalid character '2' after an array element (expecting ',' or ']')"},
    {"{\"a\" 1}", 1, 6, "invalid character '1' after an object name (expecting ':')"},
    {"{1: 2}", 1, 2, "invalid character '1' where an object name is expected"},
    {"{} {}", 1, 4, "invalid character '{' after the top-level value"},
    {"[1],", 1, 4, "invalid character ',' after the top-level value"},
    {"[1}", 1, 3, "invalid character '}' after an array element (expecting ',' or ']')"},
    {"/", 1, 1, "invalid character '/' where a value is expected"},
    {"[1 / 2]", 1, 4, "invalid character '/' after an array element (expecting ',' or ']')"},
    {"\xef\xbb\xbf{}", 1, 1, "invalid character '\xef\xbb\xbf' where a value is expected"},
    {"[\x01]", 1, 2, "invalid byte 0x01 where a value is expected"},
    {"[\"abc", 1, 2, "unterminated string"},
    {"[\"abc\\", 1, 2, "unterminated string"},
    {"[\"\\x\"]", 1, 3, "invalid escape in string"},
    {"[\"\\u12G4\"]", 1, 3, "invalid \\u escape in string"},
    {"[\"\\u12\"]", 1, 3, "invalid \\u escape in string"},
    {"[\"\\u0000\"]", 1, 3, "\\u0000 in a string is not supported"},
    {"[\"\\ud800\"]", 1, 3, "unpaired surrogate \\uD800 in string"},
    {"[\"\\uDC00\"]", 1, 3, "unpaired surrogate \\uDC00 in string"},
    {"[\"\\ud800\\u0041\"]", 1, 3, "unpaired surrogate \\uD800 in string"},
    {"[\"x\\ud800\"]", 1, 4, "unpaired surrogate \\uD800 in string"},
    {"[01]", 1, 2, "invalid number"},
    {"[1.]", 1, 2, "invalid number"},
    {"[.5]", 1, 2, "invalid character '.' where a value is expected"},
    {"[+1]", 1, 2, "invalid character '+' where a value is expected"},
    {"[-]", 1, 2, "invalid number"},
    {"[1e]", 1, 2, "invalid number"},
    {"[1e+]", 1, 2, "invalid number"},
    {"[0x10]", 1, 2, "invalid number"},
    {"[1.2.3]", 1, 2, "invalid number"},
    {"[9223372036854775808]", 1, 2, "number out of range"},
    {"[-9223372036854775809]", 1, 2, "number out of range"},
    {"[1e309]", 1, 2, "number out of range"},
    {"[-2e308]", 1, 2, "number out of range"},
    {"[tru]", 1, 2, "invalid literal (expecting true, false or null)"},
    {"[truex]", 1, 2, "invalid literal (expecting true, false or null)"},
    {"[True]", 1, 2, "invalid character 'T' where a value is expected"},
    {"[nul", 1, 2, "invalid literal (expecting true, false or null)"},
    {"{'a': 1}", 1, 2, "invalid character ''' where an object name is expected"},
};

START_TEST(test_malformed)
{
	struct hujson_error err;
	char *out = (char *)"untouched";
	json_t *v;

	memset(&err, 0, sizeof err);
	ck_assert_int_eq(hujson_standardize(bad[_i].in, strlen(bad[_i].in), &out, NULL, &err), -1);
	ck_assert_ptr_null(out);
	ck_assert_str_eq(err.message, bad[_i].message);
	ck_assert_int_eq(err.line, bad[_i].line);
	ck_assert_int_eq(err.column, bad[_i].column);
	/* hujson_parse says the same. */
	memset(&err, 0, sizeof err);
	v = hujson_parse(bad[_i].in, strlen(bad[_i].in), &err);
	ck_assert_ptr_null(v);
	ck_assert_str_eq(err.message, bad[_i].message);
	ck_assert_int_eq(err.line, bad[_i].line);
	ck_assert_int_eq(err.column, bad[_i].column);
}
END_TEST

/* The offset is the byte before which line and column were counted. */
START_TEST(test_error_offset)
{
	static const char in[] = "{\n\t\"a\": [1,\n\t\t2,,\n\t],\n}\n";
	struct hujson_error err;
	char *out;

	ck_assert_int_eq(hujson_standardize(in, sizeof in - 1, &out, NULL, &err), -1);
	ck_assert_uint_eq(err.offset, (size_t)(strstr(in, ",,") - in) + 1);
	ck_assert_int_eq(err.line, 3);
	ck_assert_int_eq(err.column, 5);
	/* err may be NULL. */
	ck_assert_int_eq(hujson_standardize(in, sizeof in - 1, &out, NULL, NULL), -1);
	ck_assert_ptr_null(hujson_parse(in, sizeof in - 1, NULL));
}
END_TEST

/* NUL bytes are input like any other: invalid outside comments, blanked inside. */
START_TEST(test_nul_bytes)
{
	static const char in_comment[] = "/* \0 */ [1]";
	static const char in_string[] = "[\"a\0\"]";
	struct hujson_error err;
	char *out;

	out = std_ok(in_comment, sizeof in_comment - 1);
	ck_assert_mem_eq(out, "        [1]", sizeof in_comment - 1);
	free(out);
	ck_assert_int_eq(hujson_standardize(in_string, sizeof in_string - 1, &out, NULL, &err), -1);
	ck_assert_str_eq(err.message, "control character 0x00 in string");
	ck_assert_int_eq(err.column, 4);
	ck_assert_int_eq(hujson_standardize("[1]\0", 4, &out, NULL, &err), -1);
	ck_assert_str_eq(err.message, "invalid byte 0x00 after the top-level value");
}
END_TEST

/* Deep nesting is an error, not a stack overflow; up to the limit is fine. */
START_TEST(test_depth)
{
	size_t n = 100000, d;
	char *in = malloc(2 * n), *out;
	struct hujson_error err;

	ck_assert_ptr_nonnull(in);
	memset(in, '[', n);
	memset(in + n, ']', n);
	ck_assert_int_eq(hujson_standardize(in, 2 * n, &out, NULL, &err), -1);
	ck_assert_str_eq(err.message, "nesting deeper than 1000 arrays and objects");
	ck_assert_int_eq(err.line, 1);
	ck_assert_int_eq(err.column, HUJSON_MAX_DEPTH + 1);
	ck_assert_uint_eq(err.offset, HUJSON_MAX_DEPTH);

	d = HUJSON_MAX_DEPTH;
	memset(in, '[', d);
	memset(in + d, ']', d);
	out = std_ok(in, 2 * d);
	free(out);

	/* Objects count too. */
	for (d = 0; d <= HUJSON_MAX_DEPTH; d++)
		memcpy(in + 5 * d, "{\"a\":", 5);
	ck_assert_int_eq(hujson_standardize(in, 5 * d, &out, NULL, &err), -1);
	ck_assert_str_eq(err.message, "nesting deeper than 1000 arrays and objects");
	free(in);
}
END_TEST

/* Duplicate names load, the last one winning (Tailscale's parser does not reject them). */
START_TEST(test_parse_duplicates)
{
	static const char in[] = "{\"a\": 1, \"a\": 2, /* x */ \"b\": [true, null,],}";
	struct hujson_error err;
	json_t *v = hujson_parse(in, sizeof in - 1, &err);

	ck_assert_ptr_nonnull(v);
	ck_assert_int_eq(json_object_size(v), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(v, "a")), 2);
	ck_assert_int_eq(json_array_size(json_object_get(v, "b")), 2);
	json_decref(v);

	/* Any top-level value, not only objects and arrays. */
	v = hujson_parse("// n\n42\n", 8, &err);
	ck_assert_int_eq(json_integer_value(v), 42);
	json_decref(v);
}
END_TEST

/* The HuJSON and JSON forms of the client-go fixture are the same policy, but for the members
 * the JSON form leaves out. */
START_TEST(test_fixture_pair)
{
	size_t hl, jl;
	char *h = slurp("policy", "acl-clientgo-fixture.hujson", &hl);
	char *j = slurp("policy", "acl-clientgo-fixture.json", &jl);
	json_t *hv = hujson_parse(h, hl, NULL), *jv = hujson_parse(j, jl, NULL), *ssh;

	ck_assert_ptr_nonnull(hv);
	ck_assert_ptr_nonnull(jv);
	json_object_del(hv, "attrConfig");
	ssh = json_object_get(hv, "ssh");
	ck_assert_int_eq(json_array_size(ssh), 4);
	json_array_remove(ssh, 3);
	ck_assert(json_equal(hv, jv));
	json_decref(hv);
	json_decref(jv);
	free(h);
	free(j);
}
END_TEST

#define ADD_LOOP(tc, fn, table) tcase_add_loop_test(tc, fn, 0, sizeof table / sizeof table[0])

static Suite *
hujson_suite(void)
{
	Suite *s = suite_create("hujson");
	TCase *tc;

	tc = tcase_create("files");
	tcase_add_test(tc, test_corpus_complete);
	tcase_add_loop_test(tc, test_policy_files, 0, (int)npolicies);
	tcase_add_loop_test(tc, test_plain_json_unchanged, 0, 2 + (int)npolicies);
	tcase_add_test(tc, test_positions_kept);
	tcase_add_test(tc, test_fixture_pair);
	suite_add_tcase(s, tc);

	tc = tcase_create("standardize");
	ADD_LOOP(tc, test_exact_output, exact);
	ADD_LOOP(tc, test_malformed, bad);
	tcase_add_test(tc, test_error_offset);
	tcase_add_test(tc, test_nul_bytes);
	tcase_add_test(tc, test_depth);
	tcase_add_test(tc, test_parse_duplicates);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	policies = corpus_list(&npolicies);
	sr = srunner_create(hujson_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	corpus_free(policies);
	return failed == 0 ? 0 : 1;
}
