/* sbuf.c: a growable byte buffer, and the JSON string escaper that replies are built with. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sbuf.h"

void
sbuf_init(struct sbuf *sb)
{
	sb->p = NULL;
	sb->len = sb->cap = 0;
}

/* Makes room for n more bytes plus the terminating NUL. */
static void
sbuf_grow(struct sbuf *sb, size_t n)
{
	size_t need, cap;

	if (n > SIZE_MAX - sb->len - 1)
		fatalx("sbuf: size overflow");
	need = sb->len + n + 1;
	if (need <= sb->cap)
		return;
	cap = sb->cap < 64 ? 64 : sb->cap;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	sb->p = xrealloc(sb->p, cap);
	sb->cap = cap;
}

void
sbuf_add(struct sbuf *sb, const void *data, size_t n)
{
	sbuf_grow(sb, n);
	if (n > 0)
		memcpy(sb->p + sb->len, data, n);
	sb->len += n;
	sb->p[sb->len] = '\0';
}

void
sbuf_adds(struct sbuf *sb, const char *s)
{
	sbuf_add(sb, s, strlen(s));
}

void
sbuf_addc(struct sbuf *sb, int c)
{
	char ch = (char)c;

	sbuf_add(sb, &ch, 1);
}

void
sbuf_vaddf(struct sbuf *sb, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	sbuf_grow(sb, 0);
	va_copy(ap2, ap);
	n = vsnprintf(sb->p + sb->len, sb->cap - sb->len, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		fatalx("sbuf: bad format");
	if ((size_t)n >= sb->cap - sb->len) {
		sbuf_grow(sb, (size_t)n);
		vsnprintf(sb->p + sb->len, sb->cap - sb->len, fmt, ap);
	}
	sb->len += (size_t)n;
}

void
sbuf_addf(struct sbuf *sb, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sbuf_vaddf(sb, fmt, ap);
	va_end(ap);
}

/* Length of the well-formed UTF-8 sequence at s (RFC 3629, Unicode table 3-7), or 0 with *bad set
 * to the length of its maximal ill-formed prefix (at least 1), which becomes one U+FFFD. */
static size_t
sbuf_utf8_len(const unsigned char *s, size_t n, size_t *bad)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t need, i;

	if (c >= 0xc2 && c <= 0xdf)
		need = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		need = 3;
		if (c == 0xe0)
			lo = 0xa0; /* overlong */
		else if (c == 0xed)
			hi = 0x9f; /* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 4;
		if (c == 0xf0)
			lo = 0x90; /* overlong */
		else if (c == 0xf4)
			hi = 0x8f; /* above U+10FFFF */
	} else {
		*bad = 1;
		return 0;
	}
	for (i = 1; i < need; i++) {
		if (i >= n || s[i] < lo || s[i] > hi) {
			*bad = i;
			return 0;
		}
		lo = 0x80;
		hi = 0xbf;
	}
	return need;
}

void
sbuf_add_json_stringn(struct sbuf *sb, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run, k, bad;
	char esc[6];

	sbuf_grow(sb, n + 2);
	sbuf_addc(sb, '"');
	while (i < n) {
		/* Copy the longest run that needs no escaping in one go. */
		for (run = i;
		     run < n && p[run] >= 0x20 && p[run] < 0x80 && p[run] != '"' && p[run] != '\\';
		     run++)
			;
		sbuf_add(sb, p + i, run - i);
		if ((i = run) >= n)
			break;
		if (p[i] == '"' || p[i] == '\\') {
			esc[0] = '\\';
			esc[1] = (char)p[i];
			sbuf_add(sb, esc, 2);
			i++;
		} else if (p[i] < 0x20) {
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[p[i] >> 4];
			esc[5] = hex[p[i] & 0xf];
			sbuf_add(sb, esc, 6);
			i++;
		} else if ((k = sbuf_utf8_len(p + i, n - i, &bad)) > 0) {
			sbuf_add(sb, p + i, k);
			i += k;
		} else {
			sbuf_add(sb, "\xef\xbf\xbd", 3);
			i += bad;
		}
	}
	sbuf_addc(sb, '"');
}

void
sbuf_add_json_string(struct sbuf *sb, const char *s)
{
	sbuf_add_json_stringn(sb, s, strlen(s));
}

char *
sbuf_steal(struct sbuf *sb)
{
	char *p = sb->p;

	if (p == NULL)
		p = xstrdup("");
	sbuf_init(sb);
	return p;
}

void
sbuf_free(struct sbuf *sb)
{
	free(sb->p);
	sbuf_init(sb);
}
