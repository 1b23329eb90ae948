/* jscan.h: finds the elements of a JSON body's top-level array member without building a tree. */
#ifndef TSINV_JSCAN_H
#define TSINV_JSCAN_H

#include <stddef.h>

/* Nesting deeper than this is refused (jansson's own default limit). */
#define JSCAN_MAX_DEPTH 2048

enum jscan_found {
	JSCAN_ARRAY = 0,  /* the member is an array: jscan_next walks it */
	JSCAN_ABSENT = 1, /* the body is an object without the member */
	JSCAN_OTHER = 2,  /* the member is there but is no array: its bytes in [p, end) */
};

/* A walk over one array's elements; borrowed from the body, which must outlive it. */
struct jscan {
	const char *p;   /* the next element, or the closing bracket */
	const char *end; /* one past the closing bracket */
	size_t count;    /* how many elements the array has */
};

/* Checks that BODY (LEN bytes, not NUL-terminated) is one well-formed JSON object (strings,
 * escapes, UTF-8, numbers, literals and nesting; duplicates of NAME, but not of other keys,
 * are refused) and finds its member NAME. Returns an enum jscan_found and readies JS for
 * JSCAN_ARRAY; -1 and *cause when the body is malformed or no object. */
int jscan_member(const char *body, size_t len, const char *name, struct jscan *js, char **cause);
/* The next element's bytes (no surrounding white space) in *ELEM, *ELEN: 1, or 0 at the end. */
int jscan_next(struct jscan *js, const char **elem, size_t *elen);

/* In OBJ, an object that jscan_member has checked (an element it found), the value of the
 * top-level member NAME when it is a string without escapes: its bytes, unquoted, in *S and
 * *SLEN, and 1; 0 when it is absent, no string or escaped (jansson decides then). */
int jscan_string_member(const char *obj, size_t len, const char *name, const char **s,
                        size_t *slen);

/* In OBJ as for jscan_string_member, the value of the top-level member NAME, whatever its type:
 * its bytes (no surrounding white space) in *V and *VLEN, and 1; 0 when it is absent. */
int jscan_value_member(const char *obj, size_t len, const char *name, const char **v, size_t *vlen);

/* The members of an object checked as for jscan_string_member, one at a time: *POS starts at
 * the object's "{" and END is one past its "}". The next member's key as raw bytes (between its
 * quotes, escapes as written) in *K and *KLEN and its value in *V and *VLEN: 1, or 0 at the
 * end. */
int jscan_object_next(const char **pos, const char *end, const char **k, size_t *klen,
                      const char **v, size_t *vlen);

#endif
