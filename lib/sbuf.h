/* sbuf.h: a growable byte buffer for building replies by concatenation; always NUL-terminated. */
#ifndef TSINV_SBUF_H
#define TSINV_SBUF_H

#include <stdarg.h>
#include <stddef.h>

/* p is NULL until the first add; after any add p[len] == '\0'. A zeroed struct is initialised. */
struct sbuf {
	char *p;
	size_t len, cap;
};

void sbuf_init(struct sbuf *sb);
void sbuf_add(struct sbuf *sb, const void *data, size_t n);
void sbuf_adds(struct sbuf *sb, const char *s);
void sbuf_addc(struct sbuf *sb, int c);
void sbuf_addf(struct sbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sbuf_vaddf(struct sbuf *sb, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* Appends S as a quoted JSON string: '"', '\\' and control characters escaped (\u00XX), each
 * ill-formed UTF-8 sequence replaced by U+FFFD. The _n form takes a length and escapes NULs. */
void sbuf_add_json_string(struct sbuf *sb, const char *s);
void sbuf_add_json_stringn(struct sbuf *sb, const char *s, size_t n);

/* Returns the contents (malloc'd, NUL-terminated, "" when empty) and resets the buffer. */
char *sbuf_steal(struct sbuf *sb);
void sbuf_free(struct sbuf *sb);

#endif
