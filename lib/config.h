/* config.h: the INI configuration (inih), checked completely, every error with file:line. */
#ifndef TSINV_CONFIG_H
#define TSINV_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "checks.h"
#include "endpoint.h"

#define CONFIG_WARN_MAX 8

/* Warning thresholds, largest first. */
struct config_warn {
	int64_t v[CONFIG_WARN_MAX]; /* us */
	size_t n;
};

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
	int64_t confirm_delay;   /* us, default 30s: a second list this much later confirms */
	struct config_warn key_expiry_warn; /* default 14d 7d 1d: device.key.expiring thresholds */
	int presence_events;                /* default no: record device.online / device.offline */
	int attribution_events; /* default no: record device.attributed (the actor, joined later) */
	int oauth_token_events; /* default no: key events for access tokens OAuth clients mint */
	unsigned endpoints;     /* bit i: poll config_endpoint_names[i]; default all but posture */
	/* us: history that ended longer ago than this is pruned; 0 (the default): kept forever.
	 * At least 1s: values under a day are for tests. */
	int64_t retain;
	/* The audit log: us between its polls (0, the default: poll_interval), how far each
	 * window reaches back before the last one's end (default 15m: entries the rate limiter
	 * deferred arrive late), how far the first reaches back (default 90d, the API's horizon).
	 */
	int64_t audit_interval, audit_overlap, audit_backfill;
	/* Posture attributes (endpoint posture): us between its polls (0, the default:
	 * poll_interval), and how many devices' requests are in flight at once (default 4). */
	int64_t posture_interval;
	int posture_concurrency;
};

/* The endpoints a tailnet may poll, NULL-terminated, in the order of enum endpoint_id: devices
 * keys users policy dns settings webhooks audit posture. */
extern const char *const config_endpoint_names[];
#define CONFIG_ENDPOINTS_ALL ((1u << ENDPOINT__COUNT) - 1)
/* Posture asks once per device per poll: only on request. */
#define CONFIG_ENDPOINTS_DEFAULT (CONFIG_ENDPOINTS_ALL & ~(1u << ENDPOINT_posture))

/* "[hook NAME]": a script run once per matching event, in order, until it exits 0. */
struct config_hook {
	char *name;         /* from "[hook NAME]": its cursor in the store is kept under it */
	int line;           /* line of the section header */
	char *exec;         /* absolute path of the executable (required) */
	char *events;       /* space-separated globs over the event types, default "*" */
	int64_t timeout;    /* us, default 30s: then SIGTERM to its process group */
	int64_t kill_grace; /* us, default 5s: from SIGTERM to SIGKILL */
	int64_t retry_min;  /* us, default 10s: the first retry's delay, doubled each time ... */
	int64_t retry_max;  /* us, default 10m: ... up to this */
	int max_attempts;   /* default 10, 0 = forever: then the event is parked and skipped */
	int64_t wait_attribution; /* us, default 0: how long a change's event waits for its actor */
};

/* "vrf = TAILNET:VRF NAME" in [netbox]: the NetBox VRF a tailnet's addresses go into. */
struct config_vrf {
	char *tailnet;
	char *vrf;
	int line;
};

/* "[netbox]": how addresses map to NetBox records (exports use it too), and the sync. */
struct config_netbox {
	int line;                /* line of the section header, 0 without one */
	char *url;               /* NULL: no sync, the mapping is only for exports */
	char *token_file;        /* required with url */
	struct config_vrf *vrfs; /* tailnets without one go into the global table */
	size_t nvrfs;
	char *owner_tag;           /* default "tsinv": the tag slug marking tsinv's records */
	char *tag_prefix;          /* NULL: a Tailscale tag "tag:web" becomes the slug "web" */
	int64_t interval;          /* us, default 1h; 0 = only when asked */
	int64_t deprecated_window; /* us, default 7d: released addresses kept as deprecated */
	int64_t last_seen_slack;   /* us, default 1d: a smaller change of last seen is no change */
	char *cf_node_id;          /* custom field names; default tailscale_node_id, ... */
	char *cf_tailnet;          /* ... tailnet, ... */
	char *cf_last_seen;        /* ... last_seen */
	int64_t connect_timeout;   /* us, default 10s */
	int64_t request_timeout;   /* us, default 60s */
	int batch_size;            /* default 100: objects per bulk write */
	size_t max_response;       /* bytes, default 64 MiB: one page of records */
};

struct config {
	char *path;
	char *state_dir;         /* default /var/lib/tsinv */
	char *socket;            /* default /run/tsinv/tsinvd.sock */
	mode_t socket_mode;      /* default 0660 */
	char *socket_group;      /* NULL: keep the daemon's group */
	char *admin_group;       /* NULL: whoever can connect may run write ops */
	char *default_tailnet;   /* the tailnet a request that names none means; NULL: none */
	size_t map_size_max;     /* bytes, default 16 GiB: the cap on LMDB map growth */
	int max_clients;         /* default 256 */
	int max_clients_per_uid; /* default 32 */
	int64_t client_timeout;  /* us, default 30s: read and write timeout on the socket */
	int verbose;             /* log_level = debug */
	int hook_concurrency;    /* default 4: hook scripts running at once */
	int strict_permissions;  /* a secret file readable by group or others is an error */
	int read_only; /* serve an existing store for queries only: no poll, hook, write */
	struct config_tailnet *tailnets;
	size_t ntailnets;
	struct config_hook *hooks;
	size_t nhooks;
	struct config_netbox netbox;
	struct check_opts checks; /* [checks]: thresholds, disabled checks, severities */
};

/* Reads and checks FILE. On error returns NULL and sets *errors to every problem found, one per
 * line, each "FILE:LINE: reason" (malloc'd). Unknown sections and keys are errors. */
struct config *config_load(const char *path, char **errors);
/* config_load, then what the file names outside itself, as "tsinvd -n" and start-up check it:
 * each secret file can be read (and is not readable by group or others: a warning, an error with
 * strict_permissions), state_dir exists or can be created, each hook's exec is an executable.
 * All problems go to *errors in file order; warnings, "FILE:LINE: warning: ..." one per line,
 * to *warnings (malloc'd, NULL when there are none), even when the load fails. */
struct config *config_load_checked(const char *path, char **errors, char **warnings);
void config_free(struct config *cf);
const struct config_tailnet *config_tailnet_find(const struct config *cf, const char *name);
const struct config_hook *config_hook_find(const struct config *cf, const char *name);
/* The NetBox VRF of TAILNET, or NULL for the global table. */
const char *config_netbox_vrf(const struct config *cf, const char *tailnet);

/* Checks that each hook's exec names an executable regular file: for "tsinvd -n" and start-up,
 * not config_load, since a script may be installed after the file is written. 0, or -1 and
 * *errors with one "FILE:LINE: [hook NAME] exec: reason" per problem (malloc'd). */
int config_check_hooks(const struct config *cf, char **errors);

/* Reads a secret from PATH (relative paths are looked up in $CREDENTIALS_DIRECTORY first),
 * strips one trailing newline. Returns 0 and *out (malloc'd), or -1 and *cause; the cause never
 * contains the secret. */
int config_read_secret(const char *path, char **out, char **cause);

/* "64M", "4G", "512k", "1048576". 0 or -1. */
int config_parse_size(const char *s, size_t *out);

/* Is URL https://..., or http:// on a loopback host (127.0.0.0/8, localhost, [::1])? */
int config_url_allowed(const char *url);

#endif
