/* proto.h: the socket's wire format: newline-delimited JSON, one request per line, 64 KiB max. */
#ifndef TSINV_PROTO_H
#define TSINV_PROTO_H

#include <stddef.h>
#include <jansson.h>

#define PROTO_VERSION 1
#define PROTO_MAX_LINE 65536

#define PROTO_F_WRITE 0x1 /* the op changes the store or polls */

enum proto_op_id {
#define PROTO_OP(sym, name, flags, args, help) PROTO_OP_##sym,
#include "proto-ops.h"
#undef PROTO_OP
	PROTO_OP__COUNT
};

struct proto_op {
	const char *name;
	int flags;
	const char *args;
	const char *help;
};

extern const struct proto_op proto_ops[PROTO_OP__COUNT];

/* Index into proto_ops, or -1. */
int proto_op_find(const char *name);

/* Error codes of an error reply. */
#define PROTO_E_BAD_REQUEST "bad_request"
#define PROTO_E_UNKNOWN_OP "unknown_op"
#define PROTO_E_NOT_FOUND "not_found"
#define PROTO_E_TOO_LARGE "too_large"
#define PROTO_E_BUSY "busy"
#define PROTO_E_DENIED "denied"
#define PROTO_E_INTERNAL "internal"

struct proto_request {
	json_t *root;   /* owned: the parsed line */
	json_t *id;     /* borrowed from root; JSON null when the request had none */
	const char *op; /* borrowed from root */
	json_t *args;   /* borrowed from root; an empty object when absent */
};

/* Parses one line (without its newline). On error returns -1, sets *cause (malloc'd) and leaves
 * req->id set to the request's id when it could be read (or NULL), so the reply can carry it. */
int proto_parse_request(const char *line, size_t len, struct proto_request *req, char **cause);
void proto_request_free(struct proto_request *req);

/* Reply lines, newline-terminated, malloc'd. id may be NULL (sent as null). result is stolen. */
char *proto_reply_ok(json_t *id, json_t *result, size_t *len);
/* As above, with the result already serialised as compact JSON text (not copied into a tree). */
char *proto_reply_ok_raw(json_t *id, const char *result, size_t rlen, size_t *len);
char *proto_reply_err(json_t *id, const char *code, const char *message, size_t *len);

/* Argument helpers: 0 when absent (leaves *out), 1 when present and valid, -1 with *cause. */
int proto_arg_string(json_t *args, const char *key, const char **out, char **cause);
int proto_arg_bool(json_t *args, const char *key, int *out, char **cause);

#endif
