/* config-int.h: what the configuration parser (config.c) and its checks of the files a
 * configuration names (config-files.c) share; nothing outside lib/config*.c includes it. */
#ifndef TSINV_CONFIG_INT_H
#define TSINV_CONFIG_INT_H

#include <stdint.h>
#include <stdio.h>
#include <sys/un.h>

#include "config.h"
#include "sbuf.h"
#include "tstime.h"

#define CONFIG_MAXERR 100      /* a binary file given by mistake must not flood the terminal */
#define CONFIG_LINEMAX 4096    /* inih's line buffer */
#define CONFIG_NAMEMAX 64      /* [tailnet NAME], [hook NAME] */
#define CONFIG_GLOBMAX 255     /* event_match_list's buffer */
#define CONFIG_SECRETMAX 65536 /* a token is a few hundred bytes */
#define CONFIG_DURMAX (365 * 86400 * TSTIME_SEC)
#define CONFIG_SUNPATH sizeof(((struct sockaddr_un *)0)->sun_path)

#define CONFIG_KEYSMAX 24

enum config_sec {
	CONFIG_SEC_NONE,
	CONFIG_SEC_DAEMON,
	CONFIG_SEC_TAILNET,
	CONFIG_SEC_HOOK,
	CONFIG_SEC_NETBOX,
	CONFIG_SEC_CHECKS,
	CONFIG_SEC_SKIP
};

struct config_err {
	int line;
	size_t seq;
	char *msg;
};

struct config_parse {
	struct config *cf;
	FILE *f;
	int line;
	char *buf; /* getline's */
	size_t bufsz;
	int pending; /* a key line inih has not yet passed to the handler: malformed */
	int readerr; /* errno of a read error */
	enum config_sec sec;
	char secname[CONFIG_NAMEMAX + 16]; /* "[tailnet NAME]" for messages */
	int daemon_line;
	int nbseen;                   /* [netbox] keys given, as bits of config_netbox_keys */
	int checks_line;              /* where [checks] opened, 0 when absent */
	int keylines[CONFIG_KEYSMAX]; /* where each key of the current section was set */
	uint32_t *seen;               /* per tailnet: keys given, with a good value or not */
	uint32_t *hseen;              /* the same per hook */
	struct config_err *errs;
	size_t nerrs;
	int toomany;
	int state_dir_line; /* where state_dir was set, 0 for the default, -1 for a bad value */
	int default_tailnet_line; /* where default_tailnet was set */
	struct sbuf warns;        /* "FILE:LINE: warning: ..." lines */
};

/* Records an error at LINE of the file (0: no line), in file order when they are joined. */
void config_err(struct config_parse *ps, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The same, as a warning that does not fail the load. */
void config_warn_add(struct config_parse *ps, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* S is printable ASCII without spaces. */
int config_printable(const char *s);
/* The checks of config_load_checked: secrets, state_dir, hooks' programs. */
void config_check_files(struct config_parse *ps);

#endif
