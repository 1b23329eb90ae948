/* notify.c: systemd integration: readiness, status, the watchdog, socket activation. */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "log.h"
#include "notify.h"

static struct event *notify_watchdog_ev;

/* sd_notify is a no-op without NOTIFY_SOCKET; a failure is not worth more than a debug line. */
static void
notify_send(const char *msg)
{
	int r;

	if ((r = sd_notify(0, msg)) < 0)
		log_debug("sd_notify: %s", strerror(-r));
}

int
notify_listen_fd(void)
{
	int n, fd, r, flags;

	/* 1: unset LISTEN_* so that nothing we spawn believes it was activated. */
	if ((n = sd_listen_fds(1)) < 0) {
		errno = -n;
		fatal("socket activation: LISTEN_FDS");
	}
	if (n == 0)
		return -1;
	if (n > 1)
		fatalx(
		    "socket activation: %d sockets passed, expected exactly one (ListenStream= in "
		    "tsinvd.socket)",
		    n);
	fd = SD_LISTEN_FDS_START;
	if ((r = sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0)) < 0) {
		errno = -r;
		fatal("socket activation: fd %d", fd);
	}
	if (r == 0)
		fatalx("socket activation: fd %d is not a listening Unix stream socket", fd);
	if ((flags = fcntl(fd, F_GETFL)) == -1 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1)
		fatal("socket activation: fd %d: fcntl", fd);
	log_debug("socket activation: listening on fd %d", fd);
	return fd;
}

void
notify_ready(void)
{
	notify_send("READY=1\nSTATUS=running");
}

void
notify_reloading(void)
{
	struct timespec ts;
	char msg[96];

	/* systemd 253 and later tie the reload to this clock reading; older ones ignore it. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof msg, "RELOADING=1\nSTATUS=reloading\nMONOTONIC_USEC=%llu",
	         (unsigned long long)ts.tv_sec * 1000000ULL +
	             (unsigned long long)ts.tv_nsec / 1000);
	notify_send(msg);
}

void
notify_stopping(void)
{
	notify_send("STOPPING=1\nSTATUS=stopping");
}

void
notify_status(const char *fmt, ...)
{
	va_list ap;
	char *text, *msg, *p;

	va_start(ap, fmt);
	text = xvasprintf(fmt, ap);
	va_end(ap);
	/* STATUS= is one line; a newline (say from an API error text) would start another
	 * assignment such as READY=1. */
	for (p = text; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	}
	msg = xasprintf("STATUS=%s", text);
	notify_send(msg);
	free(msg);
	free(text);
}

static void
notify_watchdog_cb(evutil_socket_t fd, short events, void *arg)
{
	notify_send("WATCHDOG=1");
}

void
notify_watchdog_start(struct event_base *base)
{
	struct timeval tv;
	uint64_t usec;
	int r;

	if (notify_watchdog_ev != NULL)
		return;
	if ((r = sd_watchdog_enabled(0, &usec)) < 0) {
		errno = -r;
		log_warn("watchdog: WATCHDOG_USEC");
		return;
	}
	if (r == 0 || usec == 0)
		return;
	/* Half the interval, as sd_watchdog_enabled(3) advises; driven by the loop alone, so that
	 * only a stuck loop (not an API outage) gets us restarted. */
	usec /= 2;
	tv.tv_sec = (time_t)(usec / 1000000);
	tv.tv_usec = (suseconds_t)(usec % 1000000);
	notify_watchdog_ev = event_new(base, -1, EV_PERSIST, notify_watchdog_cb, NULL);
	if (notify_watchdog_ev == NULL || event_add(notify_watchdog_ev, &tv) != 0)
		fatalx("watchdog: cannot add the timer");
	notify_send("WATCHDOG=1");
	log_debug("watchdog: ping every %lld ms", (long long)(usec / 1000));
}

void
notify_free(void)
{
	if (notify_watchdog_ev != NULL) {
		event_free(notify_watchdog_ev);
		notify_watchdog_ev = NULL;
	}
}
