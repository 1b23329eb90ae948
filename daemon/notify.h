/* notify.h: systemd integration: READY/STATUS/STOPPING, the watchdog, socket activation. */
#ifndef TSINV_NOTIFY_H
#define TSINV_NOTIFY_H

#include <event2/event.h>

/* The listening socket passed by systemd (LISTEN_FDS), checked to be a Unix stream socket, or -1
 * when not socket-activated. Clears the LISTEN_* variables. Exits via fatalx on a bad handover. */
int notify_listen_fd(void);
void notify_ready(void);
/* A reload begins: READY=1 (notify_ready) ends it. */
void notify_reloading(void);
void notify_stopping(void);
void notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Pings the watchdog at half of WATCHDOG_USEC when the service has one; no-op otherwise. */
void notify_watchdog_start(struct event_base *base);
void notify_free(void);

#endif
