/* hujson.c: a validating HuJSON standardiser: comments and trailing commas become spaces. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hujson.h"

/* The input, the output being blanked in place, and the error to fill in. */
struct hujson_state {
	const unsigned char *in;
	size_t len;
	size_t pos;
	char *out;
	int depth;
	struct hujson_error *err;
};

/* What a comma stands for where something else was expected: names the error. */
enum hujson_slot {
	HUJSON_FIRST, /* first element or member of a container, or the top-level value */
	HUJSON_NEXT,  /* after a comma */
};

static int hujson_value(struct hujson_state *st);

/* Fills *err for a rejection at byte offset off of in: line and column count bytes. */
static void __attribute__((format(printf, 4, 0)))
hujson_seterr(struct hujson_error *err, const unsigned char *in, size_t off, const char *fmt,
              va_list ap)
{
	size_t i, bol = 0;

	err->line = 1;
	for (i = 0; i < off; i++) {
		if (in[i] == '\n') {
			err->line++;
			bol = i + 1;
		}
	}
	err->column = (int)(off - bol) + 1;
	err->offset = off;
	vsnprintf(err->message, sizeof err->message, fmt, ap);
}

/* Records a rejection at off; returns -1 so that callers can "return hujson_fail(...)". */
static int __attribute__((format(printf, 3, 4)))
hujson_fail(struct hujson_state *st, size_t off, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	hujson_seterr(st->err, st->in, off, fmt, ap);
	va_end(ap);
	return -1;
}

/* Returns the length of the well-formed UTF-8 sequence at p (Unicode table 3-7: no overlong
 * forms, no surrogates, nothing above U+10FFFF), or 0 if there is none. */
static size_t
hujson_utf8_len(const unsigned char *p, size_t n)
{
	unsigned char lo = 0x80, hi = 0xBF;
	size_t need, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] < 0xC2 || p[0] > 0xF4)
		return 0;
	if (p[0] < 0xE0) {
		need = 1;
	} else if (p[0] < 0xF0) {
		need = 2;
		lo = p[0] == 0xE0 ? 0xA0 : 0x80;
		hi = p[0] == 0xED ? 0x9F : 0xBF;
	} else {
		need = 3;
		lo = p[0] == 0xF0 ? 0x90 : 0x80;
		hi = p[0] == 0xF4 ? 0x8F : 0xBF;
	}
	if (n <= need || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i <= need; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
	}
	return need + 1;
}

static bool
hujson_is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool
hujson_is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* Blanks one character of a comment at st->pos, keeping whitespace so that lines stay put. */
static int
hujson_blank_char(struct hujson_state *st)
{
	size_t n = hujson_utf8_len(st->in + st->pos, st->len - st->pos);

	if (n == 0)
		return hujson_fail(st, st->pos, "invalid UTF-8 in comment");
	if (!hujson_is_space(st->in[st->pos]))
		memset(st->out + st->pos, ' ', n);
	st->pos += n;
	return 0;
}

static int
hujson_line_comment(struct hujson_state *st)
{
	size_t start = st->pos;

	memset(st->out + st->pos, ' ', 2);
	st->pos += 2;
	while (st->pos < st->len) {
		if (st->in[st->pos] == '\n') {
			st->pos++;
			return 0;
		}
		if (hujson_blank_char(st) == -1)
			return -1;
	}
	/* tailscale/hujson wants the newline: a file cut short there is not taken as whole. */
	return hujson_fail(st, start, "line comment at end of file without a newline");
}

static int
hujson_block_comment(struct hujson_state *st)
{
	size_t start = st->pos;

	memset(st->out + st->pos, ' ', 2);
	st->pos += 2;
	while (st->pos < st->len) {
		if (st->in[st->pos] == '*' && st->pos + 1 < st->len && st->in[st->pos + 1] == '/') {
			memset(st->out + st->pos, ' ', 2);
			st->pos += 2;
			return 0;
		}
		if (hujson_blank_char(st) == -1)
			return -1;
	}
	return hujson_fail(st, start, "unterminated block comment");
}

/* Skips whitespace and comments; a '/' that starts neither is left for the caller to reject. */
static int
hujson_skip(struct hujson_state *st)
{
	while (st->pos < st->len) {
		const unsigned char *p = st->in + st->pos;

		if (hujson_is_space(*p)) {
			st->pos++;
		} else if (*p == '/' && st->pos + 1 < st->len && p[1] == '/') {
			if (hujson_line_comment(st) == -1)
				return -1;
		} else if (*p == '/' && st->pos + 1 < st->len && p[1] == '*') {
			if (hujson_block_comment(st) == -1)
				return -1;
		} else {
			break;
		}
	}
	return 0;
}

/* Rejects whatever stands at st->pos; where says what was expected there. */
static int
hujson_unexpected(struct hujson_state *st, const char *where)
{
	const unsigned char *p = st->in + st->pos;
	size_t left = st->len - st->pos, n;

	if (left == 0)
		return hujson_fail(st, st->pos, "unexpected end of input %s", where);
	if (*p == '*' && left > 1 && p[1] == '/')
		return hujson_fail(st, st->pos, "stray \"*/\" %s (block comments do not nest)",
		                   where);
	if (*p >= 0x20 && *p < 0x7F)
		return hujson_fail(st, st->pos, "invalid character '%c' %s", *p, where);
	if (*p < 0x80)
		return hujson_fail(st, st->pos, "invalid byte 0x%02X %s", *p, where);
	n = hujson_utf8_len(p, left);
	if (n == 0)
		return hujson_fail(st, st->pos, "invalid UTF-8");
	return hujson_fail(st, st->pos, "invalid character '%.*s' %s", (int)n, (const char *)p,
	                   where);
}

/* A comma stands where an element or a member should start: name the mistake precisely. */
static int
hujson_comma(struct hujson_state *st, enum hujson_slot slot)
{
	size_t at = st->pos;

	if (slot == HUJSON_NEXT) {
		do {
			st->pos++;
			if (hujson_skip(st) == -1)
				return -1;
		} while (st->pos < st->len && st->in[st->pos] == ',');
		if (st->pos < st->len && (st->in[st->pos] == ']' || st->in[st->pos] == '}'))
			return hujson_fail(st, at, "two trailing commas");
	}
	return hujson_fail(st, at, "comma without a value before it");
}

/* Checks a number's range the way jansson will, by letting it load the token alone. */
static bool
hujson_number_loads(const unsigned char *tok, size_t n)
{
	json_error_t jerr;
	json_t *v = json_loadb((const char *)tok, n, JSON_DECODE_ANY, &jerr);
	bool ok = v != NULL;

	json_decref(v);
	return ok;
}

static int
hujson_number(struct hujson_state *st)
{
	const unsigned char *in = st->in;
	size_t start = st->pos, p = st->pos, digits;
	bool real = false, exp = false;

	if (in[p] == '-')
		p++;
	if (p < st->len && in[p] == '0') {
		p++;
	} else if (p < st->len && hujson_is_digit(in[p])) {
		while (p < st->len && hujson_is_digit(in[p]))
			p++;
	} else {
		return hujson_fail(st, start, "invalid number");
	}
	digits = p - start - (in[start] == '-');
	if (p < st->len && in[p] == '.') {
		p++;
		if (p >= st->len || !hujson_is_digit(in[p]))
			return hujson_fail(st, start, "invalid number");
		while (p < st->len && hujson_is_digit(in[p]))
			p++;
		real = true;
	}
	if (p < st->len && (in[p] == 'e' || in[p] == 'E')) {
		p++;
		if (p < st->len && (in[p] == '+' || in[p] == '-'))
			p++;
		if (p >= st->len || !hujson_is_digit(in[p]))
			return hujson_fail(st, start, "invalid number");
		while (p < st->len && hujson_is_digit(in[p]))
			p++;
		real = exp = true;
	}
	/* "01", "1.2.3", "1x": one token to the reader, so one error at its start. */
	if (p < st->len && (hujson_is_digit(in[p]) || in[p] == '.' || in[p] == '+' ||
	                    in[p] == '-' || ((in[p] | 0x20) >= 'a' && (in[p] | 0x20) <= 'z')))
		return hujson_fail(st, start, "invalid number");
	/* Only these can leave int64 (jansson's integers) or overflow a double. */
	if ((real ? exp || digits > 308 : digits >= 19) &&
	    !hujson_number_loads(in + start, p - start))
		return hujson_fail(st, start, "number out of range");
	st->pos = p;
	return 0;
}

static int
hujson_hex4(const unsigned char *p, size_t left, unsigned *cp)
{
	size_t i;

	*cp = 0;
	if (left < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		unsigned char c = p[i];

		if (hujson_is_digit(c))
			*cp = *cp << 4 | (unsigned)(c - '0');
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			*cp = *cp << 4 | (unsigned)((c | 0x20) - 'a' + 10);
		else
			return -1;
	}
	return 0;
}

/* A "\uXXXX" escape at st->pos (and its low surrogate if it is a high one). */
static int
hujson_unicode_escape(struct hujson_state *st)
{
	const unsigned char *p = st->in + st->pos;
	size_t left = st->len - st->pos;
	unsigned cp, lo;

	if (hujson_hex4(p + 2, left - 2, &cp) == -1)
		return hujson_fail(st, st->pos, "invalid \\u escape in string");
	/* jansson refuses these (NUL would also cut every C string made from the value). */
	if (cp == 0)
		return hujson_fail(st, st->pos, "\\u0000 in a string is not supported");
	if (cp >= 0xDC00 && cp <= 0xDFFF)
		return hujson_fail(st, st->pos, "unpaired surrogate \\u%04X in string", cp);
	if (cp >= 0xD800 && cp <= 0xDBFF) {
		if (left < 12 || p[6] != '\\' || p[7] != 'u' ||
		    hujson_hex4(p + 8, left - 8, &lo) == -1 || lo < 0xDC00 || lo > 0xDFFF)
			return hujson_fail(st, st->pos, "unpaired surrogate \\u%04X in string", cp);
		st->pos += 12;
		return 0;
	}
	st->pos += 6;
	return 0;
}

static int
hujson_string(struct hujson_state *st)
{
	static const char simple_escapes[] = "\"\\/bfnrt";
	size_t start = st->pos, n;

	st->pos++;
	for (;;) {
		unsigned char c;

		if (st->pos >= st->len)
			return hujson_fail(st, start, "unterminated string");
		c = st->in[st->pos];
		if (c == '"') {
			st->pos++;
			return 0;
		}
		if (c < 0x20)
			return hujson_fail(st, st->pos, "control character 0x%02X in string", c);
		if (c == '\\') {
			if (st->pos + 1 >= st->len)
				return hujson_fail(st, start, "unterminated string");
			c = st->in[st->pos + 1];
			if (c == 'u') {
				if (hujson_unicode_escape(st) == -1)
					return -1;
			} else if (c != '\0' && strchr(simple_escapes, c) != NULL) {
				st->pos += 2;
			} else {
				return hujson_fail(st, st->pos, "invalid escape in string");
			}
			continue;
		}
		n = hujson_utf8_len(st->in + st->pos, st->len - st->pos);
		if (n == 0)
			return hujson_fail(st, st->pos, "invalid UTF-8 in string");
		st->pos += n;
	}
}

static int
hujson_literal(struct hujson_state *st)
{
	static const char *const literals[] = {"true", "false", "null"};
	const unsigned char *p = st->in + st->pos;
	size_t i, n, left = st->len - st->pos;

	for (i = 0; i < sizeof literals / sizeof literals[0]; i++) {
		n = strlen(literals[i]);
		if (left >= n && memcmp(p, literals[i], n) == 0 &&
		    (left == n ||
		     (!((p[n] | 0x20) >= 'a' && (p[n] | 0x20) <= 'z') && !hujson_is_digit(p[n])))) {
			st->pos += n;
			return 0;
		}
	}
	return hujson_fail(st, st->pos, "invalid literal (expecting true, false or null)");
}

/* Opens an array or object: counts the depth that protects the stack. */
static int
hujson_enter(struct hujson_state *st)
{
	if (++st->depth > HUJSON_MAX_DEPTH)
		return hujson_fail(st, st->pos, "nesting deeper than %d arrays and objects",
		                   HUJSON_MAX_DEPTH);
	st->pos++;
	return hujson_skip(st);
}

/* After an element or member: ',' then maybe the (trailing-comma) close, or the close. Sets
 * *done when the container is closed. */
static int
hujson_after_item(struct hujson_state *st, unsigned char close, const char *where, bool *done)
{
	size_t comma;

	if (hujson_skip(st) == -1)
		return -1;
	*done = st->pos < st->len && st->in[st->pos] == close;
	if (*done) {
		st->pos++;
		return 0;
	}
	if (st->pos >= st->len || st->in[st->pos] != ',')
		return hujson_unexpected(st, where);
	comma = st->pos++;
	if (hujson_skip(st) == -1)
		return -1;
	*done = st->pos < st->len && st->in[st->pos] == close;
	if (*done) {
		st->out[comma] = ' ';
		st->pos++;
	}
	return 0;
}

static int
hujson_array(struct hujson_state *st)
{
	enum hujson_slot slot = HUJSON_FIRST;
	bool done;

	if (hujson_enter(st) == -1)
		return -1;
	done = st->pos < st->len && st->in[st->pos] == ']';
	if (done)
		st->pos++;
	while (!done) {
		if (st->pos < st->len && st->in[st->pos] == ',')
			return hujson_comma(st, slot);
		if (hujson_value(st) == -1)
			return -1;
		if (hujson_after_item(st, ']', "after an array element (expecting ',' or ']')",
		                      &done) == -1)
			return -1;
		slot = HUJSON_NEXT;
	}
	st->depth--;
	return 0;
}

static int
hujson_object(struct hujson_state *st)
{
	enum hujson_slot slot = HUJSON_FIRST;
	bool done;

	if (hujson_enter(st) == -1)
		return -1;
	done = st->pos < st->len && st->in[st->pos] == '}';
	if (done)
		st->pos++;
	while (!done) {
		if (st->pos < st->len && st->in[st->pos] == ',')
			return hujson_comma(st, slot);
		if (st->pos >= st->len || st->in[st->pos] != '"')
			return hujson_unexpected(st, "where an object name is expected");
		if (hujson_string(st) == -1 || hujson_skip(st) == -1)
			return -1;
		if (st->pos >= st->len || st->in[st->pos] != ':')
			return hujson_unexpected(st, "after an object name (expecting ':')");
		st->pos++;
		if (hujson_skip(st) == -1)
			return -1;
		if (st->pos < st->len && strchr(",}]", st->in[st->pos]) != NULL &&
		    st->in[st->pos] != '\0')
			return hujson_fail(st, st->pos, "missing value after ':'");
		if (hujson_value(st) == -1)
			return -1;
		if (hujson_after_item(st, '}', "after an object member (expecting ',' or '}')",
		                      &done) == -1)
			return -1;
		slot = HUJSON_NEXT;
	}
	st->depth--;
	return 0;
}

/* Which bytes can start which value. */
static const struct {
	const char *first;
	int (*parse)(struct hujson_state *);
} hujson_starts[] = {
    {"{", hujson_object},           {"[", hujson_array},     {"\"", hujson_string},
    {"-0123456789", hujson_number}, {"tfn", hujson_literal},
};

/* Parses the value at st->pos (whitespace and comments already skipped). */
static int
hujson_value(struct hujson_state *st)
{
	size_t i;
	unsigned char c;

	if (st->pos >= st->len)
		return hujson_unexpected(st, "where a value is expected");
	c = st->in[st->pos];
	for (i = 0; c != '\0' && i < sizeof hujson_starts / sizeof hujson_starts[0]; i++) {
		if (strchr(hujson_starts[i].first, c) != NULL)
			return hujson_starts[i].parse(st);
	}
	if (c == ',')
		return hujson_comma(st, HUJSON_FIRST);
	return hujson_unexpected(st, "where a value is expected");
}

int
hujson_standardize(const char *in, size_t len, char **out, size_t *outlen, struct hujson_error *err)
{
	struct hujson_error dummy;
	struct hujson_state st = {.in = (const unsigned char *)in, .len = len, .err = err};

	if (st.err == NULL)
		st.err = &dummy;
	*out = NULL;
	if ((st.out = malloc(len + 1)) == NULL) {
		st.in = (const unsigned char *)"";
		return hujson_fail(&st, 0, "out of memory");
	}
	if (len > 0)
		memcpy(st.out, in, len);
	st.out[len] = '\0';
	if (hujson_skip(&st) == -1 || hujson_value(&st) == -1 || hujson_skip(&st) == -1 ||
	    (st.pos < st.len && hujson_unexpected(&st, "after the top-level value") == -1)) {
		free(st.out);
		return -1;
	}
	*out = st.out;
	if (outlen != NULL)
		*outlen = len;
	return 0;
}

json_t *
hujson_parse(const char *in, size_t len, struct hujson_error *err)
{
	struct hujson_state st = {.in = (const unsigned char *)in, .len = len, .err = err};
	struct hujson_error dummy;
	json_error_t jerr;
	json_t *v;
	char *std;

	if (st.err == NULL)
		st.err = &dummy;
	if (hujson_standardize(in, len, &std, NULL, st.err) == -1)
		return NULL;
	/* No JSON_REJECT_DUPLICATES: Tailscale's parser takes the last of duplicate names. */
	v = json_loadb(std, len, JSON_DECODE_ANY, &jerr);
	free(std);
	if (v == NULL) {
		/* Not expected (the standardiser rejects what jansson would), but map it anyway. */
		size_t off = jerr.position < 0 ? 0 : (size_t)jerr.position;

		hujson_fail(&st, off > len ? len : off, "%s", jerr.text);
	}
	return v;
}
