/* jscan.c: finds the elements of a JSON body's top-level array member without building a tree. */
#include <stdint.h>
#include <string.h>

#include "jscan.h"
#include "xmalloc.h"

struct jscan_ctx {
	const char *b, *p, *end;
	const char *err;
};

static int
jscan_fail(struct jscan_ctx *c, const char *err)
{
	c->err = err;
	return -1;
}

static void
jscan_ws(struct jscan_ctx *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
		c->p++;
}

static int
jscan_hex4(const char *p, unsigned *out)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		char h = p[i];

		v <<= 4;
		if (h >= '0' && h <= '9')
			v |= (unsigned)(h - '0');
		else if (h >= 'a' && h <= 'f')
			v |= (unsigned)(h - 'a' + 10);
		else if (h >= 'A' && h <= 'F')
			v |= (unsigned)(h - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

/* One UTF-8 sequence at c->p (its first byte >= 0x80): no overlongs, surrogates or > U+10FFFF. */
static int
jscan_utf8(struct jscan_ctx *c)
{
	const unsigned char *p = (const unsigned char *)c->p;
	size_t left = (size_t)(c->end - c->p), n;
	unsigned char lo = 0x80, hi = 0xbf;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		if (p[0] == 0xe0)
			lo = 0xa0;
		else if (p[0] == 0xed)
			hi = 0x9f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		if (p[0] == 0xf0)
			lo = 0x90;
		else if (p[0] == 0xf4)
			hi = 0x8f;
	} else
		return jscan_fail(c, "invalid UTF-8");
	if (left < n || p[1] < lo || p[1] > hi)
		return jscan_fail(c, "invalid UTF-8");
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return jscan_fail(c, "invalid UTF-8");
	c->p += n;
	return 0;
}

/* A string at c->p (on its quote), as jansson takes it: escapes, no control characters, no
 * \u0000, surrogates paired. Its raw content in [*s, *e). */
static int
jscan_string(struct jscan_ctx *c, const char **s, const char **e)
{
	unsigned u, u2;

	*s = ++c->p;
	for (;;) {
		if (c->p >= c->end)
			return jscan_fail(c, "unterminated string");
		unsigned char ch = (unsigned char)*c->p;
		if (ch == '"')
			break;
		if (ch < 0x20)
			return jscan_fail(c, "control character in a string");
		if (ch >= 0x80) {
			if (jscan_utf8(c) == -1)
				return -1;
			continue;
		}
		if (ch != '\\') {
			c->p++;
			continue;
		}
		if (c->end - c->p < 2)
			return jscan_fail(c, "unterminated string");
		switch (c->p[1]) {
		case '"':
		case '\\':
		case '/':
		case 'b':
		case 'f':
		case 'n':
		case 'r':
		case 't':
			c->p += 2;
			continue;
		case 'u':
			break;
		default:
			return jscan_fail(c, "invalid escape");
		}
		if (c->end - c->p < 6 || jscan_hex4(c->p + 2, &u) == -1)
			return jscan_fail(c, "invalid \\u escape");
		if (u == 0)
			return jscan_fail(c, "\\u0000 in a string");
		if (u >= 0xdc00 && u <= 0xdfff)
			return jscan_fail(c, "unpaired surrogate");
		if (u >= 0xd800 && u <= 0xdbff) {
			if (c->end - c->p < 12 || c->p[6] != '\\' || c->p[7] != 'u' ||
			    jscan_hex4(c->p + 8, &u2) == -1 || u2 < 0xdc00 || u2 > 0xdfff)
				return jscan_fail(c, "unpaired surrogate");
			c->p += 6;
		}
		c->p += 6;
	}
	*e = c->p++;
	return 0;
}

static int
jscan_digits(struct jscan_ctx *c)
{
	const char *p = c->p;

	while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
		c->p++;
	return c->p > p ? 0 : jscan_fail(c, "invalid number");
}

static int
jscan_number(struct jscan_ctx *c)
{
	if (*c->p == '-')
		c->p++;
	if (c->p < c->end && *c->p == '0')
		c->p++;
	else if (jscan_digits(c) == -1)
		return -1;
	if (c->p < c->end && *c->p == '.') {
		c->p++;
		if (jscan_digits(c) == -1)
			return -1;
	}
	if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
		c->p++;
		if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
			c->p++;
		if (jscan_digits(c) == -1)
			return -1;
	}
	return 0;
}

static int
jscan_literal(struct jscan_ctx *c)
{
	static const char *const lits[] = {"true", "false", "null"};
	size_t left = (size_t)(c->end - c->p);

	for (size_t i = 0; i < sizeof(lits) / sizeof(lits[0]); i++) {
		size_t n = strlen(lits[i]);

		if (left >= n && memcmp(c->p, lits[i], n) == 0) {
			c->p += n;
			return 0;
		}
	}
	return jscan_fail(c, "invalid literal");
}

/* Whether the raw key [s, e) decodes to NAME (ASCII): escapes are decoded, so "dev\u0069ces"
 * is "devices" as it is to jansson. */
static int
jscan_key_is(const char *s, const char *e, const char *name)
{
	unsigned u;

	if (memchr(s, '\\', (size_t)(e - s)) == NULL)
		return (size_t)(e - s) == strlen(name) && memcmp(s, name, (size_t)(e - s)) == 0;
	while (s < e) {
		char ch = *s++;

		if (ch == '\\') {
			ch = *s++;
			if (ch == 'u') {
				if (jscan_hex4(s, &u) == -1 || u >= 0x80)
					return 0;
				ch = (char)u;
				s += 4;
			} else if (ch != '"' && ch != '\\' && ch != '/')
				return 0; /* \b, \n... are in no member name we look for */
		}
		if (*name++ != ch)
			return 0;
	}
	return *name == '\0';
}

int
jscan_member(const char *body, size_t len, const char *name, struct jscan *js, char **cause)
{
	struct jscan_ctx c = {.b = body, .p = body, .end = body + len};
	char stack[JSCAN_MAX_DEPTH];
	size_t depth = 0, count = 0;
	const char *mstart = NULL, *mend = NULL, *s, *e;
	int key = 0, pending = 0, capturing = 0;

	jscan_ws(&c);
	if (c.p == c.end || *c.p != '{') {
		c.err = c.p == c.end ? "empty body" : "not a JSON object";
		goto fail;
	}
	for (;;) {
		if (key) {
			/* In an object, after '{' or ',': "key" : */
			jscan_ws(&c);
			if (c.p == c.end || *c.p != '"') {
				c.err = "expected a string key";
				goto fail;
			}
			if (jscan_string(&c, &s, &e) == -1)
				goto fail;
			if (depth == 1 && jscan_key_is(s, e, name)) {
				if (mstart != NULL) {
					c.err = "duplicate member";
					goto fail;
				}
				pending = 1;
			}
			jscan_ws(&c);
			if (c.p == c.end || *c.p != ':') {
				c.err = "expected ':'";
				goto fail;
			}
			c.p++;
			key = 0;
		}
		/* A value. */
		jscan_ws(&c);
		if (c.p == c.end) {
			c.err = "unexpected end";
			goto fail;
		}
		if (pending) {
			mstart = c.p;
			pending = 0;
			capturing = 1;
		} else if (capturing && depth == 2 && *mstart == '[')
			count++;
		switch (*c.p) {
		case '{':
		case '[':
			if (depth == JSCAN_MAX_DEPTH) {
				c.err = "nested too deeply";
				goto fail;
			}
			stack[depth++] = *c.p++;
			jscan_ws(&c);
			if (c.p < c.end && *c.p == (stack[depth - 1] == '{' ? '}' : ']')) {
				c.p++;
				depth--;
				break;
			}
			key = stack[depth - 1] == '{';
			continue;
		case '"':
			if (jscan_string(&c, &s, &e) == -1)
				goto fail;
			break;
		case 't':
		case 'f':
		case 'n':
			if (jscan_literal(&c) == -1)
				goto fail;
			break;
		default:
			if ((*c.p != '-' && (*c.p < '0' || *c.p > '9')) || jscan_number(&c) == -1) {
				c.err = "invalid value";
				goto fail;
			}
			break;
		}
		/* After a complete value: ',' or the end of its container. */
		for (;;) {
			if (capturing && depth == 1) {
				mend = c.p;
				capturing = 0;
			}
			jscan_ws(&c);
			if (depth == 0) {
				if (c.p != c.end) {
					c.err = "data after the object";
					goto fail;
				}
				goto done;
			}
			if (c.p == c.end) {
				c.err = "unexpected end";
				goto fail;
			}
			if (*c.p == ',') {
				c.p++;
				key = stack[depth - 1] == '{';
				break;
			}
			if (*c.p != (stack[depth - 1] == '{' ? '}' : ']')) {
				c.err = stack[depth - 1] == '{' ? "expected ',' or '}'"
				                                : "expected ',' or ']'";
				goto fail;
			}
			c.p++;
			depth--;
		}
	}
done:
	if (mstart == NULL)
		return JSCAN_ABSENT;
	if (*mstart != '[') {
		js->p = mstart;
		js->end = mend;
		js->count = 0;
		return JSCAN_OTHER;
	}
	js->p = mstart + 1;
	js->end = mend;
	js->count = count;
	return JSCAN_ARRAY;
fail:
	*cause = xasprintf("malformed JSON at byte %zu: %s", (size_t)(c.p - c.b), c.err);
	return -1;
}

/* The closing quote of the string whose opening quote is at P, which END bounds: memchr to each
 * quote, which closes the string unless an odd run of backslashes stands before it. */
static const char *
jscan_string_end(const char *p, const char *end)
{
	const char *q = p + 1, *b;

	for (;;) {
		q = memchr(q, '"', (size_t)(end - q));
		if (q == NULL)
			return end - 1; /* not well-formed: cannot happen in a checked value */
		for (b = q; b[-1] == '\\'; b--)
			;
		if ((q - b) % 2 == 0)
			return q;
		q++;
	}
}

/* The end of the well-formed value at P (checked by jscan_member), within END. */
static const char *
jscan_skip(const char *p, const char *end)
{
	size_t depth = 0;

	for (;; p++) {
		switch (*p) {
		case '"':
			p = jscan_string_end(p, end);
			if (depth == 0)
				return p + 1;
			break;
		case '{':
		case '[':
			depth++;
			break;
		case '}':
		case ']':
			if (depth == 0)
				return p;
			if (--depth == 0)
				return p + 1;
			break;
		case ',':
		case ' ':
		case '\t':
		case '\n':
		case '\r':
			if (depth == 0)
				return p;
			break;
		default:
			break;
		}
	}
}

int
jscan_next(struct jscan *js, const char **elem, size_t *elen)
{
	const char *p = js->p, *q;

	while (p < js->end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == ','))
		p++;
	if (p >= js->end || *p == ']') {
		js->p = js->end;
		return 0;
	}
	q = jscan_skip(p, js->end);
	*elem = p;
	*elen = (size_t)(q - p);
	js->p = q;
	return 1;
}

/* The start of the value of OBJ's top-level member NAME (OBJ checked as jscan_string_member
 * says), or NULL when it is absent. */
static const char *
jscan_find(const char *obj, size_t len, const char *name)
{
	const char *p = obj, *end = obj + len, *ks, *ke;

	if (len < 2 || *p != '{')
		return NULL;
	p++;
	for (;;) {
		while (p < end && *p != '"' && *p != '}')
			p++;
		if (p >= end || *p == '}')
			return NULL;
		/* A key: its raw bytes up to the closing quote. */
		ks = ++p;
		while (*p != '"')
			p += *p == '\\' ? 2 : 1;
		ke = p++;
		while (*p != ':')
			p++;
		p++;
		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			p++;
		if (jscan_key_is(ks, ke, name))
			return p;
		p = jscan_skip(p, end);
	}
}

int
jscan_string_member(const char *obj, size_t len, const char *name, const char **s, size_t *slen)
{
	const char *p = jscan_find(obj, len, name), *v;

	if (p == NULL || *p != '"')
		return 0;
	v = ++p;
	while (*p != '"') {
		if (*p == '\\')
			return 0; /* escaped: the caller asks jansson */
		p++;
	}
	*s = v;
	*slen = (size_t)(p - v);
	return 1;
}

int
jscan_object_next(const char **pos, const char *end, const char **k, size_t *klen, const char **v,
                  size_t *vlen)
{
	const char *p = *pos;

	if (p < end && *p == '{')
		p++;
	while (p < end && *p != '"' && *p != '}')
		p++;
	if (p >= end || *p == '}') {
		*pos = end;
		return 0;
	}
	*k = ++p;
	while (*p != '"')
		p += *p == '\\' ? 2 : 1;
	*klen = (size_t)(p - *k);
	p++;
	while (*p != ':')
		p++;
	p++;
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	*v = p;
	p = jscan_skip(p, end);
	*vlen = (size_t)(p - *v);
	*pos = p;
	return 1;
}

int
jscan_value_member(const char *obj, size_t len, const char *name, const char **v, size_t *vlen)
{
	const char *p = jscan_find(obj, len, name);

	if (p == NULL)
		return 0;
	*v = p;
	*vlen = (size_t)(jscan_skip(p, obj + len) - p);
	return 1;
}
