/* fuzz_proto.c: libFuzzer target: the socket's request parser and reply builders on any line. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_request req;
	char *cause = NULL, *reply;
	size_t len;

	memset(&req, 0, sizeof req);
	if (proto_parse_request((const char *)data, size, &req, &cause) == 0) {
		/* A request that parses names an op and has an args object and an id. */
		if (cause != NULL || req.root == NULL || req.op == NULL || req.id == NULL ||
		    !json_is_object(req.args))
			abort();
		proto_op_find(req.op);
		reply = proto_reply_ok(req.id, json_object(), &len);
	} else {
		/* A refusal says why, and its reply carries the id when one could be read. */
		if (cause == NULL || *cause == '\0')
			abort();
		reply = proto_reply_err(req.id, PROTO_E_BAD_REQUEST, cause, &len);
	}
	/* Every reply is one line of JSON. */
	if (reply == NULL || len == 0 || reply[len - 1] != '\n' ||
	    memchr(reply, '\n', len) != reply + len - 1)
		abort();
	free(reply);
	free(cause);
	proto_request_free(&req);
	return 0;
}
