/* log.h: one line per event on stderr, prefixed with a journald priority (<3> .. <7>). */
#ifndef TSINV_LOG_H
#define TSINV_LOG_H

#include <stdarg.h>

#define LOG_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* verbose: 0 = info and above, 1 = debug too. */
void log_init(const char *progname, int verbose);
void log_setverbose(int verbose);

/* log_warn appends ": strerror(errno)"; errno is preserved across all calls. */
void log_warn(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_warnx(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_info(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_notice(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_debug(const char *fmt, ...) LOG_PRINTF(1, 2);
void fatal(const char *fmt, ...) LOG_PRINTF(1, 2) __attribute__((noreturn));
void fatalx(const char *fmt, ...) LOG_PRINTF(1, 2) __attribute__((noreturn));

/* The allocators are used wherever logging is; their home is xmalloc.h. */
#include "xmalloc.h"

#endif
