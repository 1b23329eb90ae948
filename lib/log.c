/* log.c: journald-prefixed one-line logging on stderr. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* journald reads "<N>" at the start of a line as the priority (sd-daemon(3)). */
#define LOG_P_ERR 3
#define LOG_P_WARNING 4
#define LOG_P_NOTICE 5
#define LOG_P_INFO 6
#define LOG_P_DEBUG 7

/* One line is built on the stack: logging must work when malloc does not. */
#define LOG_LINEMAX 8192

static const char *log_progname = "tsinv";
static int log_verbose;

void
log_init(const char *progname, int verbose)
{
	const char *slash;

	if (progname != NULL && *progname != '\0') {
		slash = strrchr(progname, '/');
		log_progname = slash != NULL && slash[1] != '\0' ? slash + 1 : progname;
	}
	log_verbose = verbose;
}

void
log_setverbose(int verbose)
{
	log_verbose = verbose;
}

/* Appends the message to out, starting a new prefixed line at each newline and escaping other
 * control bytes, so that one call never produces a line journald would file without priority. */
static size_t
log_escape(char *out, size_t off, size_t cap, const char *msg, const char *prefix)
{
	static const char hex[] = "0123456789abcdef";
	size_t plen = strlen(prefix);
	const unsigned char *p;

	for (p = (const unsigned char *)msg; *p != '\0' && off + 8 + plen < cap; p++) {
		if (*p == '\n') {
			if (p[1] == '\0')
				break;
			out[off++] = '\n';
			memcpy(out + off, prefix, plen);
			off += plen;
		} else if ((*p < 0x20 && *p != '\t') || *p == 0x7f) {
			out[off++] = '\\';
			out[off++] = 'x';
			out[off++] = hex[*p >> 4];
			out[off++] = hex[*p & 0xf];
		} else
			out[off++] = (char)*p;
	}
	return off;
}

static void log_vlog(int pri, int with_errno, const char *fmt, va_list ap) LOG_PRINTF(3, 0);

static void
log_vlog(int pri, int with_errno, const char *fmt, va_list ap)
{
	char msg[LOG_LINEMAX], line[LOG_LINEMAX + 512], prefix[128];
	int saved = errno;
	size_t off;
	ssize_t n;

	if (pri == LOG_P_DEBUG && !log_verbose)
		return;
	vsnprintf(msg, sizeof msg, fmt, ap);
	snprintf(prefix, sizeof prefix, "<%d>%s: ", pri, log_progname);
	off = strlen(prefix);
	memcpy(line, prefix, off);
	off = log_escape(line, off, sizeof line - 300, msg, prefix);
	if (with_errno) {
		snprintf(line + off, sizeof line - off - 1, ": %s", strerror(saved));
		off += strlen(line + off);
	}
	line[off++] = '\n';
	/* One write per line so that lines from several processes do not interleave. */
	do
		n = write(STDERR_FILENO, line, off);
	while (n < 0 && errno == EINTR);
	errno = saved;
}

#define LOG_FN(fn, pri, with_errno)                                                                \
	void fn(const char *fmt, ...)                                                              \
	{                                                                                          \
		va_list ap;                                                                        \
		va_start(ap, fmt);                                                                 \
		log_vlog(pri, with_errno, fmt, ap);                                                \
		va_end(ap);                                                                        \
	}

LOG_FN(log_warn, LOG_P_WARNING, 1)
LOG_FN(log_warnx, LOG_P_WARNING, 0)
LOG_FN(log_notice, LOG_P_NOTICE, 0)
LOG_FN(log_info, LOG_P_INFO, 0)
LOG_FN(log_debug, LOG_P_DEBUG, 0)

static void log_pri(int pri, const char *fmt, ...) LOG_PRINTF(2, 3);

static void
log_pri(int pri, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlog(pri, 0, fmt, ap);
	va_end(ap);
}

/* Mapped here, not in the daemon, so that every line comes out of log_vlog. */
void
log_libevent_cb(int severity, const char *msg)
{
	static const int pri[] = {LOG_P_DEBUG, LOG_P_INFO, LOG_P_WARNING, LOG_P_ERR};

	log_pri(severity < 0 || severity > 3 ? LOG_P_ERR : pri[severity], "libevent: %s",
	        msg != NULL ? msg : "");
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlog(LOG_P_ERR, 1, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlog(LOG_P_ERR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
