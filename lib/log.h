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

/* For libevent's event_set_log_callback: its messages as ours, prefixed "libevent: ".
 * SEVERITY is libevent's: 0 debug, 1 message, 2 warning, 3 error (EVENT_LOG_DEBUG ..
 * EVENT_LOG_ERR); an error is logged, not fatal: libevent decides what happens next. */
void log_libevent_cb(int severity, const char *msg);

/* The allocators are used wherever logging is; their home is xmalloc.h. */
#include "xmalloc.h"

#endif
