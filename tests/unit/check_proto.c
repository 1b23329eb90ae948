/* check_proto.c: unit tests for the wire format (op table, requests, replies) and sbuf. */
#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "sbuf.h"

START_TEST(test_op_table)
{
	size_t i, j;

	ck_assert_int_eq(PROTO_OP__COUNT, sizeof proto_ops / sizeof proto_ops[0]);
	for (i = 0; i < PROTO_OP__COUNT; i++) {
		ck_assert_ptr_nonnull(proto_ops[i].name);
		ck_assert_int_eq(proto_ops[i].need & ~proto_ops[i].args, 0);
		ck_assert_ptr_nonnull(proto_ops[i].help);
		ck_assert(*proto_ops[i].help != '\0');
		ck_assert_int_eq(proto_op_find(proto_ops[i].name), (int)i);
		for (j = i + 1; j < PROTO_OP__COUNT; j++)
			ck_assert_str_ne(proto_ops[i].name, proto_ops[j].name);
	}
	ck_assert_int_eq(proto_op_find("hello"), PROTO_OP_hello);
	ck_assert_int_eq(proto_op_find("ip.at"), PROTO_OP_ip_at);
	ck_assert_str_eq(proto_ops[PROTO_OP_ip_at].name, "ip.at");
	ck_assert_int_eq(proto_ops[PROTO_OP_poll].flags & PROTO_F_WRITE, PROTO_F_WRITE);
	ck_assert_int_eq(proto_ops[PROTO_OP_hello].flags & PROTO_F_WRITE, 0);
	ck_assert_int_eq(proto_op_find("nope"), -1);
	ck_assert_int_eq(proto_op_find(""), -1);
	ck_assert_int_eq(proto_op_find("HELLO"), -1);
	ck_assert_int_eq(proto_op_find(NULL), -1);
}
END_TEST

static int
parse(const char *line, struct proto_request *req, char **cause)
{
	*cause = NULL;
	return proto_parse_request(line, strlen(line), req, cause);
}

START_TEST(test_parse_good)
{
	struct proto_request req;
	const char *ip = NULL;
	char *cause;

	ck_assert_int_eq(
	    parse("{\"id\":7,\"op\":\"ip.at\",\"args\":{\"ip\":\"100.64.0.1\"}}", &req, &cause), 0);
	ck_assert_ptr_null(cause);
	ck_assert_str_eq(req.op, "ip.at");
	ck_assert(json_is_integer(req.id));
	ck_assert_int_eq(json_integer_value(req.id), 7);
	ck_assert(json_is_object(req.args));
	ck_assert_int_eq(proto_arg_string(req.args, "ip", &ip, &cause), 1);
	ck_assert_str_eq(ip, "100.64.0.1");
	proto_request_free(&req);
	ck_assert_ptr_null(req.root);

	/* No id: JSON null; no args: an empty object. Whitespace around is JSON's business. */
	ck_assert_int_eq(parse("  {\"op\":\"hello\"} \r", &req, &cause), 0);
	ck_assert(json_is_null(req.id));
	ck_assert(json_is_object(req.args));
	ck_assert_int_eq(json_object_size(req.args), 0);
	proto_request_free(&req);

	ck_assert_int_eq(parse("{\"op\":\"x\",\"id\":\"abc\"}", &req, &cause), 0);
	ck_assert_str_eq(json_string_value(req.id), "abc");
	proto_request_free(&req);
	ck_assert_int_eq(parse("{\"op\":\"x\",\"id\":null}", &req, &cause), 0);
	ck_assert(json_is_null(req.id));
	proto_request_free(&req);
	ck_assert_int_eq(parse("{\"op\":\"x\",\"id\":1.5,\"args\":{}}", &req, &cause), 0);
	ck_assert(json_is_real(req.id));
	proto_request_free(&req);
	/* An unknown op parses: telling it apart is the dispatcher's job (unknown_op). */
	ck_assert_int_eq(parse("{\"op\":\"no.such\"}", &req, &cause), 0);
	ck_assert_int_eq(proto_op_find(req.op), -1);
	proto_request_free(&req);
}
END_TEST

static const struct {
	const char *line;
	const char *cause; /* a substring of the cause */
	const char *id;    /* the id kept for the reply, as JSON text, or NULL */
} bad_requests[] = {
    {"", "invalid JSON", NULL},
    {"{", "invalid JSON", NULL},
    {"{\"op\":\"hello\"} x", "invalid JSON", NULL},
    {"{\"op\":\"hello\"}{}", "invalid JSON", NULL},
    {"[1]", "must be a JSON object", NULL},
    {"\"hello\"", "must be a JSON object", NULL},
    {"7", "must be a JSON object", NULL},
    {"null", "must be a JSON object", NULL},
    {"{\"op\":\"a\",\"op\":\"b\"}", "duplicate", NULL},
    {"{\"id\":3,\"op\":\"a\",\"x\":1}", "unknown member \"x\"", "3"},
    {"{\"id\":\"q\",\"op\":\"a\",\"Op\":1}", "unknown member \"Op\"", "\"q\""},
    {"{\"id\":{},\"op\":\"a\"}", "\"id\" must be a number, a string or null", NULL},
    {"{\"id\":[1],\"op\":\"a\"}", "\"id\" must be a number, a string or null", NULL},
    {"{\"id\":true,\"op\":\"a\"}", "\"id\" must be a number, a string or null", NULL},
    {"{\"id\":\"a\"}", "missing \"op\"", "\"a\""},
    {"{}", "missing \"op\"", "null"},
    {"{\"id\":9,\"op\":1}", "\"op\" must be a non-empty string", "9"},
    {"{\"id\":9,\"op\":null}", "\"op\" must be a non-empty string", "9"},
    {"{\"id\":9,\"op\":\"\"}", "\"op\" must be a non-empty string", "9"},
    {"{\"id\":9,\"op\":\"a\",\"args\":[]}", "\"args\" must be an object", "9"},
    {"{\"id\":9,\"op\":\"a\",\"args\":\"ip=1\"}", "\"args\" must be an object", "9"},
    {"{\"id\":9,\"op\":\"a\",\"args\":null}", "\"args\" must be an object", "9"},
    {"{\"op\":\"a\\u0000b\"}", "invalid JSON", NULL},
    {"{\"op\":\"\xff\"}", "invalid JSON", NULL},
    {"{\"op\":\"hello\",}", "invalid JSON", NULL},
    {"{op:\"hello\"}", "invalid JSON", NULL},
};

START_TEST(test_parse_bad)
{
	struct proto_request req;
	char *cause, *id;

	ck_assert_int_eq(parse(bad_requests[_i].line, &req, &cause), -1);
	ck_assert_ptr_nonnull(cause);
	ck_assert_msg(strstr(cause, bad_requests[_i].cause) != NULL, "%s: cause \"%s\"",
	              bad_requests[_i].line, cause);
	if (bad_requests[_i].id == NULL)
		ck_assert_ptr_null(req.id);
	else {
		ck_assert_ptr_nonnull(req.id);
		id = json_dumps(req.id, JSON_ENCODE_ANY | JSON_COMPACT);
		ck_assert_str_eq(id, bad_requests[_i].id);
		free(id);
	}
	free(cause);
	proto_request_free(&req);
	proto_request_free(&req); /* harmless twice */
}
END_TEST

START_TEST(test_parse_limits)
{
	struct proto_request req;
	static const char nul[] = "{\"op\":\"hello\"}\0{}";
	char *cause = NULL, *big, *longkey;
	size_t n;

	/* A NUL byte inside the line, even where JSON would have stopped. */
	ck_assert_int_eq(proto_parse_request(nul, sizeof nul - 1, &req, &cause), -1);
	ck_assert_str_eq(cause, "request contains a NUL byte");
	free(cause);
	proto_request_free(&req);

	/* Over the line cap: refused before parsing. At the cap: parsed. */
	big = malloc(PROTO_MAX_LINE + 2);
	memset(big, ' ', PROTO_MAX_LINE + 1);
	memcpy(big, "{\"op\":\"hello\"}", 14);
	ck_assert_int_eq(proto_parse_request(big, PROTO_MAX_LINE + 1, &req, &cause), -1);
	ck_assert_str_eq(cause, "request longer than 65536 bytes");
	free(cause);
	proto_request_free(&req);
	ck_assert_int_eq(proto_parse_request(big, PROTO_MAX_LINE, &req, &cause), 0);
	ck_assert_str_eq(req.op, "hello");
	proto_request_free(&req);
	free(big);

	/* A long unknown member is not echoed whole, and is cut on a character boundary. */
	n = 1000;
	longkey = malloc(n + 64);
	strcpy(longkey, "{\"op\":\"a\",\"");
	for (size_t i = 0; i < 300; i++)
		strcat(longkey, "\xc3\xa9"); /* é */
	strcat(longkey, "\":1}");
	ck_assert_int_eq(parse(longkey, &req, &cause), -1);
	ck_assert_int_lt(strlen(cause), 100);
	ck_assert_ptr_nonnull(strstr(cause, "\xc3\xa9...\""));
	free(cause);
	proto_request_free(&req);
	free(longkey);
}
END_TEST

static void
check_reply(char *reply, size_t len, const char *want)
{
	ck_assert_ptr_nonnull(reply);
	ck_assert_str_eq(reply, want);
	ck_assert_uint_eq(len, strlen(want));
	free(reply);
}

START_TEST(test_reply_ok)
{
	json_t *id = json_integer(7);
	size_t len = 0;
	char *r;

	r = proto_reply_ok(id, json_pack("{s:i}", "a", 1), &len);
	check_reply(r, len, "{\"id\":7,\"ok\":true,\"result\":{\"a\":1}}\n");
	r = proto_reply_ok(NULL, json_pack("[s,s]", "x", "y"), &len);
	check_reply(r, len, "{\"id\":null,\"ok\":true,\"result\":[\"x\",\"y\"]}\n");
	r = proto_reply_ok(id, NULL, &len);
	check_reply(r, len, "{\"id\":7,\"ok\":true,\"result\":null}\n");
	r = proto_reply_ok(id, json_pack("{s:s}", "t", "a\nb\"c"), NULL);
	ck_assert_str_eq(r, "{\"id\":7,\"ok\":true,\"result\":{\"t\":\"a\\nb\\\"c\"}}\n");
	free(r);
	json_decref(id);

	id = json_string("req \"1\"");
	r = proto_reply_ok(id, json_true(), &len);
	check_reply(r, len, "{\"id\":\"req \\\"1\\\"\",\"ok\":true,\"result\":true}\n");
	json_decref(id);
}
END_TEST

START_TEST(test_reply_ok_raw)
{
	json_t *id = json_integer(8);
	const char *res = "{\"devices\":[]}";
	size_t len = 0;
	char *r;

	r = proto_reply_ok_raw(id, res, strlen(res), &len);
	check_reply(r, len, "{\"id\":8,\"ok\":true,\"result\":{\"devices\":[]}}\n");
	/* Only rlen bytes are used. */
	r = proto_reply_ok_raw(id, "[1,2]garbage", 5, &len);
	check_reply(r, len, "{\"id\":8,\"ok\":true,\"result\":[1,2]}\n");
	/* A newline would break framing: an internal error instead. */
	r = proto_reply_ok_raw(id, "{\n}", 3, &len);
	ck_assert_ptr_nonnull(strstr(r, "\"ok\":false"));
	ck_assert_ptr_nonnull(strstr(r, "\"code\":\"internal\""));
	ck_assert_ptr_eq(strchr(r, '\n'), r + len - 1);
	free(r);
	json_decref(id);
}
END_TEST

START_TEST(test_reply_err)
{
	json_t *id = json_integer(7), *root, *err;
	json_error_t jerr;
	static const char msg[] = "bad \"x\"\\ \n\t\x01 caf\xc3\xa9 \xff\xfe end";
	size_t len = 0;
	char *r;

	r = proto_reply_err(id, PROTO_E_BAD_REQUEST, "missing \"op\"", &len);
	check_reply(r, len,
	            "{\"id\":7,\"ok\":false,\"error\":{\"code\":\"bad_request\",\"message\":"
	            "\"missing \\\"op\\\"\"}}\n");
	r = proto_reply_err(NULL, PROTO_E_UNKNOWN_OP, NULL, &len);
	check_reply(
	    r, len,
	    "{\"id\":null,\"ok\":false,\"error\":{\"code\":\"unknown_op\",\"message\":\"\"}}\n");

	/* User text with quotes, control characters and invalid UTF-8: still one line of JSON. */
	r = proto_reply_err(id, PROTO_E_BAD_REQUEST, msg, &len);
	ck_assert_uint_eq(strlen(r), len);
	ck_assert_ptr_eq(strchr(r, '\n'), r + len - 1);
	root = json_loadb(r, len - 1, JSON_REJECT_DUPLICATES, &jerr);
	ck_assert_msg(root != NULL, "%s: %s", r, jerr.text);
	ck_assert_int_eq(json_integer_value(json_object_get(root, "id")), 7);
	ck_assert(json_is_false(json_object_get(root, "ok")));
	err = json_object_get(root, "error");
	ck_assert_str_eq(json_string_value(json_object_get(err, "code")), "bad_request");
	ck_assert_str_eq(json_string_value(json_object_get(err, "message")),
	                 "bad \"x\"\\ \n\t\x01 caf\xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd end");
	json_decref(root);
	free(r);
	json_decref(id);
}
END_TEST

START_TEST(test_args)
{
	json_t *args = json_pack("{s:s,s:i,s:b,s:b,s:n,s:s}", "at", "now", "n", 3, "history", 1,
	                         "no", 0, "nul", "b", "true");
	const char *s = "unset";
	char *cause = NULL;
	int b = 42;

	ck_assert_int_eq(proto_arg_string(args, "missing", &s, &cause), 0);
	ck_assert_str_eq(s, "unset");
	ck_assert_int_eq(proto_arg_string(args, "at", &s, &cause), 1);
	ck_assert_str_eq(s, "now");
	ck_assert_int_eq(proto_arg_string(args, "n", &s, &cause), -1);
	ck_assert_str_eq(cause, "\"n\" must be a string");
	free(cause);
	ck_assert_int_eq(proto_arg_string(args, "nul", &s, &cause), -1);
	free(cause);
	ck_assert_int_eq(proto_arg_string(args, "history", &s, &cause), -1);
	free(cause);

	ck_assert_int_eq(proto_arg_bool(args, "missing", &b, &cause), 0);
	ck_assert_int_eq(b, 42);
	ck_assert_int_eq(proto_arg_bool(args, "history", &b, &cause), 1);
	ck_assert_int_eq(b, 1);
	ck_assert_int_eq(proto_arg_bool(args, "no", &b, &cause), 1);
	ck_assert_int_eq(b, 0);
	ck_assert_int_eq(proto_arg_bool(args, "b", &b, &cause), -1);
	ck_assert_str_eq(cause, "\"b\" must be true or false");
	free(cause);
	ck_assert_int_eq(proto_arg_bool(args, "n", &b, &cause), -1);
	free(cause);
	ck_assert_int_eq(b, 0);
	json_decref(args);
}
END_TEST

START_TEST(test_sbuf_basic)
{
	struct sbuf sb;
	char *s;
	size_t i;

	sbuf_init(&sb);
	s = sbuf_steal(&sb);
	ck_assert_str_eq(s, "");
	free(s);

	sbuf_add(&sb, "ab", 2);
	ck_assert_uint_eq(sb.len, 2);
	ck_assert_int_eq(sb.p[2], '\0');
	sbuf_addc(&sb, 'c');
	sbuf_adds(&sb, "def");
	sbuf_addf(&sb, "-%d-%s", 42, "x");
	ck_assert_str_eq(sb.p, "abcdef-42-x");
	ck_assert_uint_eq(sb.len, 11);
	for (i = 0; i < 1000; i++)
		sbuf_addf(&sb, "%05zu", i);
	ck_assert_uint_eq(sb.len, 11 + 5000);
	ck_assert_int_eq(sb.p[sb.len], '\0');
	ck_assert_int_eq(memcmp(sb.p + 11 + 5 * 999, "00999", 5), 0);
	sbuf_addf(&sb, "%s", "");
	ck_assert_uint_eq(sb.len, 5011);
	sbuf_add(&sb, "\0z", 2);
	ck_assert_uint_eq(sb.len, 5013);
	s = sbuf_steal(&sb);
	ck_assert_ptr_null(sb.p);
	ck_assert_uint_eq(sb.len, 0);
	ck_assert_int_eq(s[5012], 'z');
	free(s);

	/* One long formatted add, larger than any initial capacity. */
	sbuf_addf(&sb, "%4000s|", "x");
	ck_assert_uint_eq(sb.len, 4001);
	ck_assert_int_eq(sb.p[4000], '|');
	sbuf_free(&sb);
	ck_assert_ptr_null(sb.p);
	sbuf_free(&sb);
}
END_TEST

static const struct {
	const char *in;
	size_t inlen;
	const char *out;
} json_strings[] = {
#define J(in, out)                                                                                 \
	{                                                                                          \
		in, sizeof in - 1, out                                                             \
	}
    J("", "\"\""),
    J("plain text", "\"plain text\""),
    J("q\"b\\s/", "\"q\\\"b\\\\s/\""),
    J("\n\r\t\b\f", "\"\\u000a\\u000d\\u0009\\u0008\\u000c\""),
    J("\x01\x1f\x7f", "\"\\u0001\\u001f\x7f\""),
    J("a\0b", "\"a\\u0000b\""),
    J("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\""),
    J("\xff", "\"\xef\xbf\xbd\""),
    J("a\x80z", "\"a\xef\xbf\xbdz\""),
    J("\xc0\xaf", "\"\xef\xbf\xbd\xef\xbf\xbd\""),                 /* overlong '/' */
    J("\xe0\x80\xaf", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""), /* overlong */
    J("\xed\xa0\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""), /* surrogate */
    J("\xf4\x90\x80\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""),
    J("\xe2\x82"
      "A",
      "\"\xef\xbf\xbd"
      "A\""),                                      /* truncated: one U+FFFD */
    J("\xf0\x9f\x98", "\"\xef\xbf\xbd\""),         /* truncated at the end */
    J("\xed\x9f\xbf", "\"\xed\x9f\xbf\""),         /* U+D7FF, just below the surrogates */
    J("\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\""), /* U+10FFFF */
    J("\xef\xbf\xbd", "\"\xef\xbf\xbd\""),
#undef J
};

START_TEST(test_sbuf_json_string)
{
	struct sbuf sb;
	json_error_t jerr;
	json_t *j;

	sbuf_init(&sb);
	sbuf_add_json_stringn(&sb, json_strings[_i].in, json_strings[_i].inlen);
	ck_assert_uint_eq(sb.len, strlen(json_strings[_i].out));
	ck_assert_mem_eq(sb.p, json_strings[_i].out, sb.len);
	ck_assert_int_eq(sb.p[sb.len], '\0');
	/* What comes out is always valid JSON. */
	j = json_loadb(sb.p, sb.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	ck_assert_msg(j != NULL, "%s", jerr.text);
	ck_assert(json_is_string(j));
	json_decref(j);
	sbuf_free(&sb);

	if (memchr(json_strings[_i].in, '\0', json_strings[_i].inlen) == NULL) {
		sbuf_add_json_string(&sb, json_strings[_i].in);
		ck_assert_str_eq(sb.p, json_strings[_i].out);
		sbuf_free(&sb);
	}
}
END_TEST

/* Every byte value in every position: the output always parses and is never short. */
START_TEST(test_sbuf_json_fuzz)
{
	uint64_t x = 0x2545f4914f6cdd1dULL;
	unsigned char in[16];
	struct sbuf sb;
	json_error_t jerr;
	json_t *j;
	int i, k;

	sbuf_init(&sb);
	for (i = 0; i < 50000; i++) {
		for (k = 0; k < 16; k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			in[k] = (unsigned char)x;
			if (i % 2 == 0 && (in[k] & 0x40))
				in[k] = (unsigned char)(0x80 | (in[k] & 0x3f)); /* continuations */
		}
		sb.len = 0;
		sbuf_add_json_stringn(&sb, (const char *)in, sizeof in);
		j = json_loadb(sb.p, sb.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
		ck_assert_msg(j != NULL, "%s", jerr.text);
		json_decref(j);
	}
	sbuf_free(&sb);
}
END_TEST

/* check_spec OP ARGS: the cause of proto_check_args (malloc'd), or NULL when ARGS passes. */
static char *
check_spec(int op, const char *args)
{
	json_t *j = json_loads(args, 0, NULL);
	char *cause = NULL;

	ck_assert_ptr_nonnull(j);
	if (proto_check_args(&proto_ops[op], j, &cause) == 0)
		ck_assert_ptr_null(cause);
	else
		ck_assert_ptr_nonnull(cause);
	json_decref(j);
	return cause;
}

static void
check_spec_err(int op, const char *args, const char *want)
{
	char *cause = check_spec(op, args);

	ck_assert_msg(cause != NULL, "%s %s passed", proto_ops[op].name, args);
	ck_assert_str_eq(cause, want);
	free(cause);
}

START_TEST(test_arg_spec)
{
	char *t;

	ck_assert_ptr_null(check_spec(PROTO_OP_status, "{}"));
	ck_assert_ptr_null(
	    check_spec(PROTO_OP_ip_at, "{\"ip\":\"1.2.3.4\",\"at\":\"now\",\"history\":false}"));
	ck_assert_ptr_null(check_spec(PROTO_OP_events_list, "{\"since\":0,\"limit\":10000}"));
	ck_assert_ptr_null(
	    check_spec(PROTO_OP_events_list, "{\"since\":\"3d\",\"type\":\"device.*\"}"));
	ck_assert_ptr_null(check_spec(PROTO_OP_policy_get, "{\"rev\":3}"));
	ck_assert_ptr_null(check_spec(PROTO_OP_policy_get, "{\"rev\":null}"));

	check_spec_err(PROTO_OP_status, "{\"tailnet\":\"a\"}",
	               "args: unknown member \"tailnet\" for status");
	check_spec_err(PROTO_OP_ip_at, "{\"ip\":\"1.2.3.4\",\"query\":\"x\"}",
	               "args: unknown member \"query\" for ip.at");
	check_spec_err(PROTO_OP_ip_at, "{\"ip\":\"1.2.3.4\",\"bogus\":1}",
	               "args: unknown member \"bogus\" for ip.at");
	check_spec_err(PROTO_OP_ip_at, "{}", "ip: an address is needed");
	check_spec_err(PROTO_OP_ip_at, "{\"ip\":5}", "\"ip\" must be a string");
	check_spec_err(PROTO_OP_ip_at, "{\"ip\":null}", "\"ip\" must be a string");
	check_spec_err(PROTO_OP_device_get, "{\"query\":\"x\",\"history\":\"yes\"}",
	               "\"history\" must be true or false");
	check_spec_err(PROTO_OP_device_get, "{}", "query: a node id, name or address is needed");
	check_spec_err(PROTO_OP_events_list, "{\"limit\":0}", "limit: a number from 1 to 10000");
	check_spec_err(PROTO_OP_events_list, "{\"limit\":10001}",
	               "limit: a number from 1 to 10000");
	check_spec_err(PROTO_OP_events_list, "{\"limit\":\"5\"}",
	               "limit: a number from 1 to 10000");
	check_spec_err(PROTO_OP_events_list, "{\"since\":-1}",
	               "since: a sequence number or a time is needed");
	check_spec_err(PROTO_OP_policy_get, "{\"rev\":[1]}",
	               "rev: a revision number or a sha256 prefix is needed");
	check_spec_err(PROTO_OP_netbox_sync, "{\"dry_run\":1}",
	               "\"dry_run\" must be true or false");

	/* hello's args column, as it was when it was written by hand. */
	t = proto_op_args_text(&proto_ops[PROTO_OP_device_get]);
	ck_assert_str_eq(t, "query [tailnet] [at] [history]");
	free(t);
	t = proto_op_args_text(&proto_ops[PROTO_OP_events_list]);
	ck_assert_str_eq(t, "[since] [until] [type] [tailnet] [limit]");
	free(t);
	t = proto_op_args_text(&proto_ops[PROTO_OP_policy_get]);
	ck_assert_str_eq(t, "[tailnet] [rev] [at]");
	free(t);
	t = proto_op_args_text(&proto_ops[PROTO_OP_hello]);
	ck_assert_str_eq(t, "");
	free(t);
	/* Every arg has a form for tsinvctl; the write ops are those that call an API, write a
	 * CMDB or write a file on the daemon's host. */
	for (int i = 0; i < PROTO_ARG__COUNT; i++)
		ck_assert_ptr_nonnull(proto_args[i].cli);
	for (int i = 0; i < PROTO_OP__COUNT; i++)
		ck_assert_int_eq((proto_ops[i].flags & PROTO_F_WRITE) != 0,
		                 i == PROTO_OP_poll || i == PROTO_OP_netbox_sync ||
		                     i == PROTO_OP_store_backup);
}
END_TEST

static Suite *
proto_suite(void)
{
	Suite *s = suite_create("proto");
	TCase *tc;

	tc = tcase_create("request");
	tcase_add_test(tc, test_op_table);
	tcase_add_test(tc, test_parse_good);
	tcase_add_loop_test(tc, test_parse_bad, 0, sizeof bad_requests / sizeof bad_requests[0]);
	tcase_add_test(tc, test_parse_limits);
	tcase_add_test(tc, test_args);
	tcase_add_test(tc, test_arg_spec);
	suite_add_tcase(s, tc);

	tc = tcase_create("reply");
	tcase_add_test(tc, test_reply_ok);
	tcase_add_test(tc, test_reply_ok_raw);
	tcase_add_test(tc, test_reply_err);
	suite_add_tcase(s, tc);

	tc = tcase_create("sbuf");
	tcase_add_test(tc, test_sbuf_basic);
	tcase_add_loop_test(tc, test_sbuf_json_string, 0,
	                    sizeof json_strings / sizeof json_strings[0]);
	tcase_add_test(tc, test_sbuf_json_fuzz);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(proto_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
