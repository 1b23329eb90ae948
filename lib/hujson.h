/* hujson.h: HuJSON (JWCC: JSON with commas and comments) to strict JSON, offsets kept. */
#ifndef TSINV_HUJSON_H
#define TSINV_HUJSON_H

#include <stddef.h>

#include <jansson.h>

/*
 * The rules are those of tailscale/hujson: "//" line comments (ended by a newline; one that runs
 * to the end of the input is an error), C block comments (they do not nest), comments in valid
 * UTF-8, at most one trailing comma after the last array element or object member. All
 * else is RFC 8259 JSON, and the whole input must be valid UTF-8. On top of the grammar, the
 * standardiser also rejects what jansson cannot load, so that its output always loads:
 * "\u0000", unpaired surrogate escapes, integers outside int64 and reals beyond double.
 * Nesting is limited to HUJSON_MAX_DEPTH arrays and objects.
 *
 * Standardising replaces every byte of a comment other than space, tab, CR and LF, and each
 * trailing comma, with a space: the output has the input's length and every token keeps its
 * byte offset, line and column, so any position in the output is a position in the input.
 */

#define HUJSON_MAX_DEPTH 1000

/* Where and why input was rejected: line and column are 1-based, the column counts bytes, the
 * offset is 0-based. */
struct hujson_error {
	int line;
	int column;
	size_t offset;
	char message[160];
};

/* Returns 0 with *out (malloc'd, NUL-terminated, outlen == len) holding strict JSON, or -1
 * with *err filled in (*out is then NULL). outlen and err may be NULL. */
int hujson_standardize(const char *in, size_t len, char **out, size_t *outlen,
                       struct hujson_error *err);

/* Standardises and loads any JSON value; returns a new reference, or NULL with *err filled in.
 * Duplicate object names are allowed, the last one wins, as in Tailscale's own parser. */
json_t *hujson_parse(const char *in, size_t len, struct hujson_error *err);

#endif
