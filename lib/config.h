/* config.h: the INI configuration (inih), checked completely, every error with file:line. */
#ifndef TSINV_CONFIG_H
#define TSINV_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct config_tailnet {
	char *name;            /* from "[tailnet NAME]": how the store and tsinvctl call it */
	int line;              /* line of the section header */
	char *api_url;         /* default https://api.tailscale.com, no trailing slash */
	char *tailnet;         /* the API's path segment, default "-" */
	char *api_key_file;    /* either this ... */
	char *oauth_client_id; /* ... or these two */
	char *oauth_client_secret_file;
	int64_t poll_interval;   /* us, devices endpoint; default 5m, at least 1s */
	int64_t connect_timeout; /* us, default 10s */
	int64_t request_timeout; /* us, default 60s */
	size_t max_response;     /* bytes, default 64 MiB */
	int mass_delete_percent; /* default 50: a poll losing more than this is held once */
};

struct config {
	char *path;
	char *state_dir;         /* default /var/lib/tsinv */
	char *socket;            /* default /run/tsinv/tsinvd.sock */
	mode_t socket_mode;      /* default 0660 */
	char *socket_group;      /* NULL: keep the daemon's group */
	size_t map_size_max;     /* bytes, default 16 GiB: the cap on LMDB map growth */
	int max_clients;         /* default 256 */
	int max_clients_per_uid; /* default 32 */
	int64_t client_timeout;  /* us, default 30s: read and write timeout on the socket */
	int verbose;             /* log_level = debug */
	struct config_tailnet *tailnets;
	size_t ntailnets;
};

/* Reads and checks FILE. On error returns NULL and sets *errors to every problem found, one per
 * line, each "FILE:LINE: reason" (malloc'd). Unknown sections and keys are errors. */
struct config *config_load(const char *path, char **errors);
void config_free(struct config *cf);
const struct config_tailnet *config_tailnet_find(const struct config *cf, const char *name);

/* Reads a secret from PATH (relative paths are looked up in $CREDENTIALS_DIRECTORY first),
 * strips one trailing newline. Returns 0 and *out (malloc'd), or -1 and *cause; the cause never
 * contains the secret. */
int config_read_secret(const char *path, char **out, char **cause);

/* "64M", "4G", "512k", "1048576". 0 or -1. */
int config_parse_size(const char *s, size_t *out);

/* Is URL https://..., or http:// on a loopback host (127.0.0.0/8, localhost, [::1])? */
int config_url_allowed(const char *url);

#endif
