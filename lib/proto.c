/* proto.c: the socket's wire format: the op table, request parsing checked field by field, replies.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "log.h"
#include "proto.h"
#include "sbuf.h"

const struct proto_arg proto_args[PROTO_ARG__COUNT] = {
#define PROTO_ARG(sym, t, n, c, h)                                                                 \
	[PROTO_ARG_##sym] = {.name = #sym, .type = t, .need = n, .cli = c, .help = h},
#include "proto-args.h"
#undef PROTO_ARG
};

const struct proto_op proto_ops[PROTO_OP__COUNT] = {
#define PROTO_OP(sym, n, f, a, nd, h)                                                              \
	[PROTO_OP_##sym] = {.name = n, .flags = f, .args = a, .need = nd, .help = h},
#include "proto-ops.h"
#undef PROTO_OP
};

/* The longest member name echoed back in an error: the rest is the client's own text anyway. */
#define PROTO_ECHO_MAX 64

int
proto_op_find(const char *name)
{
	size_t i;

	if (name == NULL)
		return -1;
	for (i = 0; i < PROTO_OP__COUNT; i++) {
		if (strcmp(proto_ops[i].name, name) == 0)
			return (int)i;
	}
	return -1;
}

/* A copy of S cut to at most PROTO_ECHO_MAX bytes on a UTF-8 character boundary (malloc'd). */
static char *
proto_echo(const char *s)
{
	size_t n = strlen(s);

	if (n <= PROTO_ECHO_MAX)
		return xstrdup(s);
	n = PROTO_ECHO_MAX;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return xasprintf("%.*s...", (int)n, s);
}

/* Always leaves req in a state proto_request_free accepts, success or not: req->id is borrowed
 * from req->root, which is kept on error so that the error reply can carry the id. */
int
proto_parse_request(const char *line, size_t len, struct proto_request *req, char **cause)
{
	json_error_t jerr;
	json_t *root, *id, *op, *args, *v;
	const char *key;
	char *echo;

	memset(req, 0, sizeof *req);
	if (len > PROTO_MAX_LINE) {
		*cause = xasprintf("request longer than %d bytes", PROTO_MAX_LINE);
		return -1;
	}
	if (memchr(line, '\0', len) != NULL) {
		*cause = xasprintf("request contains a NUL byte");
		return -1;
	}
	if ((root = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr)) ==
	    NULL) {
		*cause = xasprintf("invalid JSON at column %d: %s", jerr.column, jerr.text);
		return -1;
	}
	req->root = root;
	if (!json_is_object(root)) {
		*cause = xasprintf("request must be a JSON object");
		return -1;
	}

	/* The id first, so that any later error can be answered with it. */
	id = json_object_get(root, "id");
	if (id == NULL)
		req->id = json_null();
	else if (json_is_number(id) || json_is_string(id) || json_is_null(id))
		req->id = id;
	else {
		*cause = xasprintf("\"id\" must be a number, a string or null");
		return -1;
	}

	json_object_foreach(root, key, v)
	{
		if (strcmp(key, "id") != 0 && strcmp(key, "op") != 0 && strcmp(key, "args") != 0) {
			echo = proto_echo(key);
			*cause = xasprintf("unknown member \"%s\"", echo);
			free(echo);
			return -1;
		}
	}

	if ((op = json_object_get(root, "op")) == NULL) {
		*cause = xasprintf("missing \"op\"");
		return -1;
	}
	if (!json_is_string(op) || json_string_length(op) == 0) {
		*cause = xasprintf("\"op\" must be a non-empty string");
		return -1;
	}
	req->op = json_string_value(op);

	if ((args = json_object_get(root, "args")) == NULL) {
		/* Owned by root like everything else that req borrows. */
		args = json_object();
		if (args == NULL || json_object_set_new(root, "args", args) != 0)
			fatalx("out of memory");
	} else if (!json_is_object(args)) {
		*cause = xasprintf("\"args\" must be an object");
		return -1;
	}
	req->args = args;
	return 0;
}

void
proto_request_free(struct proto_request *req)
{
	json_decref(req->root);
	memset(req, 0, sizeof *req);
}

static int
proto_dump_cb(const char *buf, size_t size, void *arg)
{
	sbuf_add(arg, buf, size);
	return 0;
}

/* Appends the compact serialisation of J (any JSON value; NULL is null). 0, or -1. */
static int
proto_add_json(struct sbuf *sb, json_t *j)
{
	if (j == NULL) {
		sbuf_adds(sb, "null");
		return 0;
	}
	return json_dump_callback(j, proto_dump_cb, sb, JSON_COMPACT | JSON_ENCODE_ANY);
}

static char *
proto_finish(struct sbuf *sb, size_t *len)
{
	sbuf_adds(sb, "}\n");
	if (len != NULL)
		*len = sb->len;
	return sbuf_steal(sb);
}

char *
proto_reply_err(json_t *id, const char *code, const char *message, size_t *len)
{
	return proto_reply_err_data(id, code, message, NULL, len);
}

char *
proto_reply_err_data(json_t *id, const char *code, const char *message, json_t *data, size_t *len)
{
	const char *key;
	json_t *v;
	struct sbuf sb;

	sbuf_init(&sb);
	sbuf_adds(&sb, "{\"id\":");
	if (proto_add_json(&sb, id) != 0) {
		sb.len = 0;
		sbuf_adds(&sb, "{\"id\":null");
	}
	sbuf_adds(&sb, ",\"ok\":false,\"error\":{\"code\":");
	sbuf_add_json_string(&sb, code != NULL ? code : PROTO_E_INTERNAL);
	sbuf_adds(&sb, ",\"message\":");
	sbuf_add_json_string(&sb, message != NULL ? message : "");
	json_object_foreach(data, key, v)
	{
		if (strcmp(key, "code") == 0 || strcmp(key, "message") == 0)
			continue;
		sbuf_addc(&sb, ',');
		sbuf_add_json_string(&sb, key);
		sbuf_addc(&sb, ':');
		if (proto_add_json(&sb, v) != 0)
			sbuf_adds(&sb, "null");
	}
	sbuf_addc(&sb, '}');
	return proto_finish(&sb, len);
}

char *
proto_reply_ok(json_t *id, json_t *result, size_t *len)
{
	struct sbuf sb;
	int rc;

	sbuf_init(&sb);
	sbuf_adds(&sb, "{\"id\":");
	if (proto_add_json(&sb, id) != 0) {
		json_decref(result);
		sbuf_free(&sb);
		return proto_reply_err(NULL, PROTO_E_INTERNAL, "the id could not be serialised",
		                       len);
	}
	sbuf_adds(&sb, ",\"ok\":true,\"result\":");
	rc = proto_add_json(&sb, result);
	json_decref(result);
	if (rc != 0) {
		sbuf_free(&sb);
		return proto_reply_err(id, PROTO_E_INTERNAL, "the result could not be serialised",
		                       len);
	}
	return proto_finish(&sb, len);
}

char *
proto_progress(json_t *id, json_t *progress, size_t *len)
{
	struct sbuf sb;
	int rc;

	sbuf_init(&sb);
	sbuf_adds(&sb, "{\"id\":");
	rc = proto_add_json(&sb, id);
	sbuf_adds(&sb, ",\"progress\":");
	rc |= proto_add_json(&sb, progress);
	json_decref(progress);
	if (rc != 0) {
		sbuf_free(&sb);
		return NULL;
	}
	return proto_finish(&sb, len);
}

char *
proto_reply_ok_raw(json_t *id, const char *result, size_t rlen, size_t *len)
{
	struct sbuf sb;

	/* A newline inside would end the reply early and desynchronise the client. */
	if (result == NULL || rlen == 0 || memchr(result, '\n', rlen) != NULL ||
	    memchr(result, '\0', rlen) != NULL)
		return proto_reply_err(id, PROTO_E_INTERNAL, "the result could not be serialised",
		                       len);
	sbuf_init(&sb);
	sbuf_adds(&sb, "{\"id\":");
	if (proto_add_json(&sb, id) != 0) {
		sbuf_free(&sb);
		return proto_reply_err(NULL, PROTO_E_INTERNAL, "the id could not be serialised",
		                       len);
	}
	sbuf_adds(&sb, ",\"ok\":true,\"result\":");
	sbuf_add(&sb, result, rlen);
	return proto_finish(&sb, len);
}

int
proto_arg_string(json_t *args, const char *key, const char **out, char **cause)
{
	json_t *v = json_object_get(args, key);

	if (v == NULL)
		return 0;
	if (!json_is_string(v)) {
		*cause = xasprintf("\"%s\" must be a string", key);
		return -1;
	}
	*out = json_string_value(v);
	return 1;
}

int
proto_arg_bool(json_t *args, const char *key, int *out, char **cause)
{
	json_t *v = json_object_get(args, key);

	if (v == NULL)
		return 0;
	if (!json_is_boolean(v)) {
		*cause = xasprintf("\"%s\" must be true or false", key);
		return -1;
	}
	*out = json_is_true(v);
	return 1;
}

/* The index of the argument called NAME, or -1. */
static int
proto_arg_find(const char *name)
{
	size_t i;

	for (i = 0; i < PROTO_ARG__COUNT; i++)
		if (strcmp(proto_args[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* Whether V has the type of argument A. */
static int
proto_arg_typed(const struct proto_arg *a, json_t *v)
{
	switch (a->type) {
	case PROTO_T_STRING:
		return json_is_string(v);
	case PROTO_T_BOOL:
		return json_is_boolean(v);
	case PROTO_T_SEQ:
		return (json_is_integer(v) && json_integer_value(v) >= 0) || json_is_string(v);
	case PROTO_T_REV:
		return json_is_integer(v) || json_is_string(v) || json_is_null(v);
	case PROTO_T_COUNT:
		return json_is_integer(v) && json_integer_value(v) >= 1 &&
		       json_integer_value(v) <= PROTO_LIMIT_MAX;
	}
	return 0;
}

int
proto_check_args(const struct proto_op *op, json_t *args, char **cause)
{
	const struct proto_arg *a;
	const char *key;
	char *echo;
	json_t *v;
	int i;

	json_object_foreach(args, key, v)
	{
		if ((i = proto_arg_find(key)) == -1 || !(op->args & 1u << i)) {
			echo = proto_echo(key);
			*cause = xasprintf("args: unknown member \"%s\" for %s", echo, op->name);
			free(echo);
			return -1;
		}
		a = &proto_args[i];
		if (proto_arg_typed(a, v))
			continue;
		/* The messages of the old per-handler checks, which clients may know. */
		if (a->type == PROTO_T_STRING)
			*cause = xasprintf("\"%s\" must be a string", a->name);
		else if (a->type == PROTO_T_BOOL)
			*cause = xasprintf("\"%s\" must be true or false", a->name);
		else
			*cause = xasprintf("%s: %s", a->name, a->need);
		return -1;
	}
	for (i = 0; i < PROTO_ARG__COUNT; i++) {
		v = json_object_get(args, proto_args[i].name);
		if ((op->need & 1u << i) && (v == NULL || json_is_null(v))) {
			*cause = xasprintf("%s: %s", proto_args[i].name, proto_args[i].need);
			return -1;
		}
	}
	return 0;
}

char *
proto_op_args_text(const struct proto_op *op)
{
	struct sbuf sb;
	int i;

	sbuf_init(&sb);
	sbuf_adds(&sb, "");
	for (i = 0; i < PROTO_ARG__COUNT; i++) {
		if (!(op->args & 1u << i))
			continue;
		sbuf_addf(&sb, (op->need & 1u << i) ? "%s%s" : "%s[%s]", sb.len > 0 ? " " : "",
		          proto_args[i].name);
	}
	return sbuf_steal(&sb);
}

int
proto_rev_ok(const char *rev)
{
	size_t n = strlen(rev);

	if (n == 0 || n > PROTO_REV_HEX_MAX || strspn(rev, "0123456789abcdefABCDEF") != n)
		return 0;
	return strspn(rev, "0123456789") == n || n >= PROTO_REV_HEX_MIN;
}
