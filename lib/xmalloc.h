/* xmalloc.h: allocators and a malloc'd printf that never return NULL (they die on OOM). */
#ifndef TSINV_XMALLOC_H
#define TSINV_XMALLOC_H

#include <stdarg.h>
#include <stddef.h>

/* A malloc'd printf: the "char **cause" convention of the whole code base. Never NULL. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

#endif
