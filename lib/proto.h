/* proto.h: the socket's wire format: newline-delimited JSON, one request per line, 64 KiB max. */
#ifndef TSINV_PROTO_H
#define TSINV_PROTO_H

#include <stddef.h>
#include <jansson.h>

#define PROTO_VERSION 1
#define PROTO_MAX_LINE 65536

#define PROTO_F_WRITE 0x1 /* the op changes the store or polls: admin_group enforces it */

#define PROTO_LIMIT_MAX 10000 /* the most events one events.list returns */
#define PROTO_STR(x) PROTO_STR_(x)
#define PROTO_STR_(x) #x

/* The JSON types of arguments. */
enum proto_arg_type {
	PROTO_T_STRING,
	PROTO_T_BOOL,
	PROTO_T_SEQ,   /* a sequence number (an integer >= 0), or a string (a time) */
	PROTO_T_REV,   /* an integer or a string; null counts as absent */
	PROTO_T_COUNT, /* an integer from 1 to PROTO_LIMIT_MAX */
};

enum proto_arg_id {
#define PROTO_ARG(sym, type, need, cli, help) PROTO_ARG_##sym,
#include "proto-args.h"
#undef PROTO_ARG
	PROTO_ARG__COUNT
};

#define PROTO_A(sym) (1u << PROTO_ARG_##sym)

struct proto_arg {
	const char *name;         /* the member of "args" */
	enum proto_arg_type type; /* PROTO_T_* */
	const char *need;         /* what a value must be, for error replies */
	const char *cli;          /* tsinvctl's "--at TIME", "--history", or positional "ADDR" */
	const char *help;         /* tsinvctl's help of the option; NULL for a positional one */
};

extern const struct proto_arg proto_args[PROTO_ARG__COUNT];

enum proto_op_id {
#define PROTO_OP(sym, name, flags, args, need, help) PROTO_OP_##sym,
#include "proto-ops.h"
#undef PROTO_OP
	PROTO_OP__COUNT
};

struct proto_op {
	const char *name;
	int flags;     /* PROTO_F_* */
	unsigned args; /* PROTO_A() bits: the members its "args" may hold */
	unsigned need; /* those it must hold */
	const char *help;
};

extern const struct proto_op proto_ops[PROTO_OP__COUNT];

/* Index into proto_ops, or -1. */
int proto_op_find(const char *name);

/* A policy revision as the wire names it: its number ("3") or a prefix of at least
 * PROTO_REV_HEX_MIN hex digits of its SHA-256. The client checks it before asking; the daemon
 * again before looking it up. */
#define PROTO_REV_HEX_MIN 6
#define PROTO_REV_HEX_MAX 64
int proto_rev_ok(const char *rev);

/* Error codes of an error reply. */
#define PROTO_E_BAD_REQUEST "bad_request"
#define PROTO_E_UNKNOWN_OP "unknown_op"
#define PROTO_E_NOT_FOUND "not_found"
#define PROTO_E_TOO_LARGE "too_large"
#define PROTO_E_BUSY "busy"
#define PROTO_E_DENIED "denied"
#define PROTO_E_FORBIDDEN "forbidden" /* a write op from a client outside admin_group */
#define PROTO_E_INTERNAL "internal"
#define PROTO_E_DAMAGED "damaged"     /* the answer met a record whose checksum does not match */
#define PROTO_E_AMBIGUOUS "ambiguous" /* a name or address that may mean several: "candidates" */
/* Several tailnets, none named and no default_tailnet: "tailnets" lists them. */
#define PROTO_E_TAILNET_REQUIRED "tailnet_required"

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
/* An error reply whose error object also carries DATA's members (borrowed; may be NULL). */
char *proto_reply_err_data(json_t *id, const char *code, const char *message, json_t *data,
                           size_t *len);
/* A progress frame, {"id":ID,"progress":PROGRESS} and a newline (PROGRESS stolen), sent before
 * the reply to a request whose args hold "progress": true; NULL if it cannot be serialised. */
char *proto_progress(json_t *id, json_t *progress, size_t *len);

/* Checks ARGS (an object) against OP's spec: no unknown member, each of the right type, the
 * needed ones there. 0, or -1 and *cause (malloc'd) naming the member. */
int proto_check_args(const struct proto_op *op, json_t *args, char **cause);
/* "query [tailnet] [at] [history]": OP's arguments as hello lists them (malloc'd). */
char *proto_op_args_text(const struct proto_op *op);

/* Argument helpers: 0 when absent (leaves *out), 1 when present and valid, -1 with *cause. */
int proto_arg_string(json_t *args, const char *key, const char **out, char **cause);
int proto_arg_bool(json_t *args, const char *key, int *out, char **cause);

#endif
