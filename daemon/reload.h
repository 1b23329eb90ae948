/* reload.h: SIGHUP: the configuration read again and applied without a restart. */
#ifndef TSINV_RELOAD_H
#define TSINV_RELOAD_H

#include "ops.h"

/* Reads PATH with the checks of start-up (tsinvd -n's) and applies it to D: tailnets, hooks,
 * NetBox, secrets, thresholds and log_level; a key only a restart applies is logged as such and
 * keeps its running value. An invalid file is refused, every problem logged with its file:line,
 * and the old configuration runs on. VERBOSE and READ_ONLY are tsinvd's -v and -r. Tells
 * systemd RELOADING=1, then READY=1. 0, or -1 when refused. */
int reload_run(struct tsinvd *d, const char *path, int verbose, int read_only);

/* Frees the configurations a half-failed reload had to keep (at exit, after the modules). */
void reload_free(void);

#endif
