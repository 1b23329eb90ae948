/* tssim.c: a simulated Tailscale API v2 with a control endpoint, for tests, benchmarks, demo. */
#include <sys/queue.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "log.h"
#include "simaudit.h"
#include "simgen.h"

#define TSSIM_NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define TSSIM_DEFAULT_TOKEN "tskey-api-test"
#define TSSIM_DUMP_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(15))
#define TSSIM_MAX_HEADERS (64 * 1024)
#define TSSIM_MAX_CONTROL_BODY (256L * 1024 * 1024)
#define TSSIM_MAX_OVERSIZE (2048L * 1024 * 1024)
#define TSSIM_MAX_DELAY_MS 600000
#define TSSIM_MAX_ARGS 2
#define TSSIM_V4_SPACE (1u << 22) /* 100.64.0.0/10 */
#define TSSIM_KEY_DAYS 180
#define TSSIM_OAUTH_LIFE 3600 /* seconds, as the real API issues them */
#define TSSIM_OAUTH_MAX_LIFE (366L * 86400)
#define TSSIM_OAUTH_SCOPE "all:read"
#define TSSIM_OAUTH_PATH "/api/v2/oauth/"
#define TSSIM_OAUTH_MARK "_oauthToken" /* a key that is an OAuth access token; never served */
#define TSSIM_MAX_FORM (64 * 1024)
#define TSSIM_AUTHKEY_LIFE (90L * 86400) /* auth keys and API tokens: the console's default */
#define TSSIM_MAX_ACL (16L * 1024 * 1024)
#define TSSIM_DEFAULT_ACL "{\"acls\":[{\"action\":\"accept\",\"src\":[\"*\"],\"dst\":[\"*:*\"]}]}"
#define TSSIM_DEFAULT_TAILNET_ID "T1234CNTRL"

/* API endpoints by name: faults and request counts are kept per endpoint. Adding one is an enum
 * value, a name, a route and a handler. */
enum tssim_ep {
	TSSIM_EP_DEVICES,
	TSSIM_EP_DEVICE,
	TSSIM_EP_OAUTH_TOKEN,
	TSSIM_EP_KEYS,
	TSSIM_EP_KEY,
	TSSIM_EP_USERS,
	TSSIM_EP_ACL,
	TSSIM_EP_DNS,
	TSSIM_EP_SETTINGS,
	TSSIM_EP_WEBHOOKS,
	TSSIM_EP_USER,
	TSSIM_EP_WEBHOOK,
	TSSIM_EP_AUDIT,
	TSSIM_EP_ATTRIBUTES,
	TSSIM_EP_COUNT
};

static const char *const tssim_ep_names[TSSIM_EP_COUNT] = {
    [TSSIM_EP_DEVICES] = "devices",
    [TSSIM_EP_DEVICE] = "device",
    [TSSIM_EP_OAUTH_TOKEN] = "oauth_token",
    [TSSIM_EP_KEYS] = "keys",
    [TSSIM_EP_KEY] = "key",
    [TSSIM_EP_USERS] = "users",
    [TSSIM_EP_ACL] = "acl",
    [TSSIM_EP_DNS] = "dns",
    [TSSIM_EP_SETTINGS] = "settings",
    [TSSIM_EP_WEBHOOKS] = "webhooks",
    [TSSIM_EP_USER] = "user",
    [TSSIM_EP_WEBHOOK] = "webhook",
    [TSSIM_EP_AUDIT] = "audit",
    [TSSIM_EP_ATTRIBUTES] = "attributes",
};

/* A serialised body shared by the cache and the responses still being written. */
struct tssim_blob {
	unsigned refs;
	size_t len;
	char *data;
};

struct tssim_tailnet {
	char *name;
	json_t *devices; /* array of device objects as stored (fields=all) */
	/* serialised list: [0] default fields, [1] fields=all; [2], [3] the same without the
	 * shared-in devices, as OAuth-derived tokens see it */
	struct tssim_blob *cache[4];
	uint32_t v4_next; /* next offset in 100.64.0.0/10 to hand out: freed ones are not reused */
	json_t *keys;     /* Key objects as stored: revoked and expired ones stay forever */
	json_t *users;
	json_t *webhooks;
	json_t *settings;
	json_t *dns; /* {nameservers:[{address,useWithExitNode}], magicDNS, overrideLocalDNS,
	                searchPaths, splitDNS:{domain: [resolver] or null}} */
	char *acl;   /* the policy file exactly as set (HuJSON) */
	char etag[2 * 32 + 1]; /* SHA-256 of acl, hex */
	char *token_user;      /* owner of the API token: lists keys without all=true; NULL: all */
	bool keys_ids;         /* list keys as {"id"} only, as the older docs show */
	bool invalid_short;    /* a revoked or expired key shows only what the docs' example does */
	bool null_lists;       /* an empty list is served as null, as a Go nil slice is */
	bool no_dns_configuration; /* dns/configuration answers 404, as on an older server */
	struct simaudit audit;     /* the configuration audit log */
	/* Posture attributes set by posture_set, by nodeId: {"attributes":{}, "expiries":{}} (the
	 * node: ones come from the device itself). */
	json_t *posture;
	TAILQ_ENTRY(tssim_tailnet) entry;
};

struct tssim_fault {
	int count;       /* requests left; -1 until cleared; 0 means no fault */
	char *tailnet;   /* NULL: any tailnet */
	int status;      /* 0: none */
	int retry_after; /* -1: no header */
	char *message;
	long delay_ms;
	bool truncate;
	bool invalid;
	size_t oversize;
	bool chunked; /* oversize without a Content-Length: only the client's own count stops it */
	char *path;   /* NULL: any request of the endpoint; else only paths ending with it */
	char *body;   /* NULL; else a 200 with exactly this body: an answer of the wrong shape */
	/* A list that leaves out its last omit items, or omit_percent of them (rounded up),
	 * while every other request still sees them: a short answer. */
	long omit, omit_percent;
};

/* An OAuth access token handed out by the token endpoint: tskey-api-{key_id}-{secret}, also a
 * key of tailnet "-" (or the first one) that only all/all:read credentials see in the list. */
struct tssim_token {
	char *token;
	char *key_id;
	json_t *scopes;     /* array of scope names it was issued with */
	int64_t expires_ms; /* wall clock; refused from then on */
	TAILQ_ENTRY(tssim_token) entry;
};

struct tssim;

/* One API request, kept while a delay fault holds it. */
struct tssim_call {
	struct tssim *sim;
	struct evhttp_request *req;
	const struct tssim_route *route;
	char *args[TSSIM_MAX_ARGS];
	struct evkeyvalq params; /* the query */
	bool fields_all;
	struct tssim_fault fault;
	struct event *timer;
	/* The credential, set by tssim_auth_api: scopes NULL for the API token (every scope);
	 * an OAuth token's scopes and key id otherwise. */
	json_t *scopes;
	char *key_id;
	TAILQ_ENTRY(tssim_call) entry;
};

struct tssim {
	struct event_base *base;
	struct evhttp *http;
	struct event *sigterm, *sigint;
	char *token;
	bool quiet;
	unsigned rng;
	unsigned long next_host;
	unsigned long next_user;
	TAILQ_HEAD(, tssim_tailnet) tailnets;
	TAILQ_HEAD(, tssim_call) pending;
	struct tssim_fault faults[TSSIM_EP_COUNT];
	unsigned long counts[TSSIM_EP_COUNT];
	/* Requests a delay fault holds now, and the most held at once (in flight at the server). */
	unsigned long held[TSSIM_EP_COUNT], held_max[TSSIM_EP_COUNT];
	char *oauth_id; /* NULL: no OAuth client, the token endpoint refuses everyone */
	char *oauth_secret;
	char *oauth_scope;
	long oauth_life;                  /* seconds, for tokens issued from now on */
	unsigned long oauth_serial;       /* tokens ever issued */
	unsigned long oauth_issued;       /* since start or the last requests reset */
	TAILQ_HEAD(, tssim_token) tokens; /* issued, maybe expired */
	long long date_skew; /* seconds added to the Date: of every answer (a server's clock) */
};

/* Authenticates a request for a route (noting the credential in the call): 0, or an error
 * status with *msg (NULL: the usual). */
typedef int (*tssim_auth_fn)(struct tssim *, struct tssim_call *, const char **msg);

/* An API handler produces the normal answer: 200 with *body, or an error status with *msg. */
typedef int (*tssim_api_fn)(struct tssim *, struct tssim_call *, struct tssim_blob **body,
                            const char **msg);

static int tssim_api_devices(struct tssim *, struct tssim_call *, struct tssim_blob **,
                             const char **);
static int tssim_api_device(struct tssim *, struct tssim_call *, struct tssim_blob **,
                            const char **);
static int tssim_api_oauth_token(struct tssim *, struct tssim_call *, struct tssim_blob **,
                                 const char **);
static int tssim_api_view(struct tssim *, struct tssim_call *, struct tssim_blob **, const char **);
static int tssim_api_acl(struct tssim *, struct tssim_call *, struct tssim_blob **, const char **);
static int tssim_api_user(struct tssim *, struct tssim_call *, struct tssim_blob **, const char **);
static int tssim_api_webhook(struct tssim *, struct tssim_call *, struct tssim_blob **,
                             const char **);
static int tssim_api_attributes(struct tssim *, struct tssim_call *, struct tssim_blob **,
                                const char **);
static int tssim_auth_api(struct tssim *, struct tssim_call *, const char **);
static int tssim_auth_client(struct tssim *, struct tssim_call *, const char **);

/* A JSON document of one tailnet for tssim_api_view (new reference), or NULL with an error
 * status and *msg. */
typedef json_t *(*tssim_view_fn)(struct tssim_tailnet *, struct tssim_call *, int *status,
                                 const char **msg);

static json_t *tssim_list(struct tssim_tailnet *, const char *, json_t *);
static json_t *tssim_view_keys(struct tssim_tailnet *, struct tssim_call *, int *, const char **);
static json_t *tssim_view_key(struct tssim_tailnet *, struct tssim_call *, int *, const char **);
static json_t *tssim_view_users(struct tssim_tailnet *, struct tssim_call *, int *, const char **);
static json_t *tssim_view_nameservers(struct tssim_tailnet *, struct tssim_call *, int *,
                                      const char **);
static json_t *tssim_view_preferences(struct tssim_tailnet *, struct tssim_call *, int *,
                                      const char **);
static json_t *tssim_view_searchpaths(struct tssim_tailnet *, struct tssim_call *, int *,
                                      const char **);
static json_t *tssim_view_split_dns(struct tssim_tailnet *, struct tssim_call *, int *,
                                    const char **);
static json_t *tssim_view_dns_configuration(struct tssim_tailnet *, struct tssim_call *, int *,
                                            const char **);
static json_t *tssim_view_settings(struct tssim_tailnet *, struct tssim_call *, int *,
                                   const char **);
static json_t *tssim_view_webhooks(struct tssim_tailnet *, struct tssim_call *, int *,
                                   const char **);
static json_t *tssim_view_audit(struct tssim_tailnet *, struct tssim_call *, int *, const char **);

#define TSSIM_TAILNET "/api/v2/tailnet/*/"

static const struct tssim_route {
	const char *pattern; /* each "*" matches one path segment, passed URL-decoded */
	enum tssim_ep ep;
	int tailnet_arg;             /* which "*" names the tailnet (for fault filters); -1: none */
	enum evhttp_cmd_type method; /* any other gets 405 */
	tssim_auth_fn auth;
	tssim_api_fn fn;
	tssim_view_fn view; /* the document, for fn tssim_api_view */
	const char *scope;  /* what an OAuth token needs (the API's names); NULL: the handler
	                       decides (keys) or no API token is involved */
} tssim_routes[] = {
    {TSSIM_TAILNET "devices", TSSIM_EP_DEVICES, 0, EVHTTP_REQ_GET, tssim_auth_api,
     tssim_api_devices, NULL, "devices:core:read"},
    {"/api/v2/device/*", TSSIM_EP_DEVICE, -1, EVHTTP_REQ_GET, tssim_auth_api, tssim_api_device,
     NULL, "devices:core:read"},
    {TSSIM_OAUTH_PATH "token", TSSIM_EP_OAUTH_TOKEN, -1, EVHTTP_REQ_POST, tssim_auth_client,
     tssim_api_oauth_token, NULL, NULL},
    {TSSIM_TAILNET "keys", TSSIM_EP_KEYS, 0, EVHTTP_REQ_GET, tssim_auth_api, tssim_api_view,
     tssim_view_keys, NULL},
    {TSSIM_TAILNET "keys/*", TSSIM_EP_KEY, 0, EVHTTP_REQ_GET, tssim_auth_api, tssim_api_view,
     tssim_view_key, NULL},
    {TSSIM_TAILNET "users", TSSIM_EP_USERS, 0, EVHTTP_REQ_GET, tssim_auth_api, tssim_api_view,
     tssim_view_users, "users:read"},
    {TSSIM_TAILNET "acl", TSSIM_EP_ACL, 0, EVHTTP_REQ_GET, tssim_auth_api, tssim_api_acl, NULL,
     "policy_file:read"},
    {TSSIM_TAILNET "dns/nameservers", TSSIM_EP_DNS, 0, EVHTTP_REQ_GET, tssim_auth_api,
     tssim_api_view, tssim_view_nameservers, "dns:read"},
    {TSSIM_TAILNET "dns/preferences", TSSIM_EP_DNS, 0, EVHTTP_REQ_GET, tssim_auth_api,
     tssim_api_view, tssim_view_preferences, "dns:read"},
    {TSSIM_TAILNET "dns/searchpaths", TSSIM_EP_DNS, 0, EVHTTP_REQ_GET, tssim_auth_api,
     tssim_api_view, tssim_view_searchpaths, "dns:read"},
    {TSSIM_TAILNET "dns/split-dns", TSSIM_EP_DNS, 0, EVHTTP_REQ_GET, tssim_auth_api, tssim_api_view,
     tssim_view_split_dns, "dns:read"},
    {TSSIM_TAILNET "dns/configuration", TSSIM_EP_DNS, 0, EVHTTP_REQ_GET, tssim_auth_api,
     tssim_api_view, tssim_view_dns_configuration, "dns:read"},
    {TSSIM_TAILNET "settings", TSSIM_EP_SETTINGS, 0, EVHTTP_REQ_GET, tssim_auth_api, tssim_api_view,
     tssim_view_settings, "feature_settings:read"},
    {TSSIM_TAILNET "webhooks", TSSIM_EP_WEBHOOKS, 0, EVHTTP_REQ_GET, tssim_auth_api, tssim_api_view,
     tssim_view_webhooks, "webhooks:read"},
    {"/api/v2/users/*", TSSIM_EP_USER, -1, EVHTTP_REQ_GET, tssim_auth_api, tssim_api_user, NULL,
     "users:read"},
    {"/api/v2/webhooks/*", TSSIM_EP_WEBHOOK, -1, EVHTTP_REQ_GET, tssim_auth_api, tssim_api_webhook,
     NULL, "webhooks:read"},
    {TSSIM_TAILNET "logging/configuration", TSSIM_EP_AUDIT, 0, EVHTTP_REQ_GET, tssim_auth_api,
     tssim_api_view, tssim_view_audit, "logs:configuration:read"},
    {"/api/v2/device/*/attributes", TSSIM_EP_ATTRIBUTES, -1, EVHTTP_REQ_GET, tssim_auth_api,
     tssim_api_attributes, NULL, "devices:posture_attributes:read"},
};

/* Control ops: each returns the members to add to {"ok":true} (new reference), or NULL and a
 * *cause for {"ok":false,"error":...}. */
typedef json_t *(*tssim_op_fn)(struct tssim *, json_t *args, char **cause);

static json_t *tssim_op_add(struct tssim *, json_t *, char **);
static json_t *tssim_op_delete(struct tssim *, json_t *, char **);
static json_t *tssim_op_set(struct tssim *, json_t *, char **);
static json_t *tssim_op_churn(struct tssim *, json_t *, char **);
static json_t *tssim_op_fault(struct tssim *, json_t *, char **);
static json_t *tssim_op_clear_faults(struct tssim *, json_t *, char **);
static json_t *tssim_op_requests(struct tssim *, json_t *, char **);
static json_t *tssim_op_generate(struct tssim *, json_t *, char **);
static json_t *tssim_op_get(struct tssim *, json_t *, char **);
static json_t *tssim_op_oauth(struct tssim *, json_t *, char **);
static json_t *tssim_op_oauth_revoke(struct tssim *, json_t *, char **);
static json_t *tssim_op_oauth_issue(struct tssim *, json_t *, char **);
static json_t *tssim_op_key_add(struct tssim *, json_t *, char **);
static json_t *tssim_op_key_revoke(struct tssim *, json_t *, char **);
static json_t *tssim_op_key_expire(struct tssim *, json_t *, char **);
static json_t *tssim_op_key_set(struct tssim *, json_t *, char **);
static json_t *tssim_op_keys_config(struct tssim *, json_t *, char **);
static json_t *tssim_op_null_lists(struct tssim *, json_t *, char **);
static json_t *tssim_op_legacy_dns(struct tssim *, json_t *, char **);
static json_t *tssim_op_user_add(struct tssim *, json_t *, char **);
static json_t *tssim_op_user_delete(struct tssim *, json_t *, char **);
static json_t *tssim_op_user_set(struct tssim *, json_t *, char **);
static json_t *tssim_op_acl_set(struct tssim *, json_t *, char **);
static json_t *tssim_op_dns_set(struct tssim *, json_t *, char **);
static json_t *tssim_op_settings_set(struct tssim *, json_t *, char **);
static json_t *tssim_op_webhook_add(struct tssim *, json_t *, char **);
static json_t *tssim_op_webhook_delete(struct tssim *, json_t *, char **);
static json_t *tssim_op_webhook_set(struct tssim *, json_t *, char **);
static json_t *tssim_op_date_skew(struct tssim *, json_t *, char **);
static json_t *tssim_op_audit_add(struct tssim *, json_t *, char **);
static json_t *tssim_op_audit_release(struct tssim *, json_t *, char **);
static json_t *tssim_op_posture_set(struct tssim *, json_t *, char **);
static json_t *tssim_op_audit_generate(struct tssim *, json_t *, char **);
static json_t *tssim_op_help(struct tssim *, json_t *, char **);

static const struct tssim_op {
	const char *name;
	tssim_op_fn fn;
	const char *help;
} tssim_ops[] = {
    {"add", tssim_op_add,
     "{tailnet, device}: add a device; missing fields get realistic defaults (new tailnet if "
     "needed)"},
    {"delete", tssim_op_delete, "{tailnet, nodeId}: remove a device"},
    {"set", tssim_op_set,
     "{tailnet, nodeId, fields}: merge fields into a device (null removes one)"},
    {"churn", tssim_op_churn,
     "{tailnet, multiple_connections?}: change only volatile fields: connectedToControl, "
     "lastSeen, clientConnectivity (and multipleConnections if asked) on every device; "
     "lastSeen, currentlyConnected, deviceCount, active/idle status on every user"},
    {"fault", tssim_op_fault,
     "{endpoint, tailnet?, status?, message?, retry_after?, delay_ms?, truncate?, invalid?, "
     "oversize?, chunked?, omit?, omit_percent?, count?}: fault the next count (1; -1 = until "
     "cleared) requests"},
    {"clear_faults", tssim_op_clear_faults, "{endpoint?}: remove faults"},
    {"requests", tssim_op_requests, "{reset?}: requests seen per endpoint, tokens issued"},
    {"generate", tssim_op_generate,
     "{tailnet, count, seed?}: replace the tailnet's devices with generated ones"},
    {"get", tssim_op_get,
     "{tailnet, nodeId?}: the tailnet as stored (devices, keys, users, acl, dns, settings, "
     "webhooks), or one device"},
    {"oauth", tssim_op_oauth,
     "{expires_in?, scope?}: lifetime in seconds and scopes (space-separated) of OAuth tokens "
     "issued from now on; the OAuth state"},
    {"oauth_revoke", tssim_op_oauth_revoke, "{}: invalidate every OAuth token issued"},
    {"oauth_issue", tssim_op_oauth_issue,
     "{}: issue an access token as another user of the OAuth client (a CI job) would"},
    {"key_add", tssim_op_key_add,
     "{tailnet, key}: add a key; missing fields get defaults for its keyType (auth)"},
    {"key_revoke", tssim_op_key_revoke,
     "{tailnet, id}: revoke a key (leaves the list; GET shows invalid)"},
    {"key_expire", tssim_op_key_expire,
     "{tailnet, id}: expire a key now (leaves the list; GET shows invalid)"},
    {"key_set", tssim_op_key_set, "{tailnet, id, fields}: merge fields into a key (null removes)"},
    {"null_lists", tssim_op_null_lists,
     "{tailnet, on}: serve an empty devices, keys, users or webhooks list as null"},
    {"legacy_dns", tssim_op_legacy_dns,
     "{tailnet, on}: answer 404 for dns/configuration, as a server without it would"},
    {"keys_config", tssim_op_keys_config,
     "{tailnet, token_user?, keys_list_shape?, invalid_key_shape?}: how keys are listed"},
    {"user_add", tssim_op_user_add, "{tailnet, user}: add a user; missing fields get defaults"},
    {"user_delete", tssim_op_user_delete, "{tailnet, id}: remove a user"},
    {"user_set", tssim_op_user_set,
     "{tailnet, id, fields}: merge fields into a user (null removes)"},
    {"acl_set", tssim_op_acl_set,
     "{tailnet, hujson}: replace the policy file with this text (it must parse)"},
    {"dns_set", tssim_op_dns_set,
     "{tailnet, nameservers?, magicDNS?, overrideLocalDNS?, searchPaths?, splitDNS?}: change "
     "the DNS configuration"},
    {"settings_set", tssim_op_settings_set,
     "{tailnet, fields}: merge fields into the tailnet settings (null is kept: withheld)"},
    {"webhook_add", tssim_op_webhook_add,
     "{tailnet, webhook}: add a webhook; missing fields get defaults"},
    {"webhook_delete", tssim_op_webhook_delete, "{tailnet, endpointId}: remove a webhook"},
    {"webhook_set", tssim_op_webhook_set,
     "{tailnet, endpointId, fields}: merge fields into a webhook (null removes)"},
    {"date_skew", tssim_op_date_skew,
     "{seconds}: send every answer's Date: that far from the real time (0: the real time)"},
    {"audit_add", tssim_op_audit_add,
     "{tailnet, entry}: add an audit log entry as given (eventTime defaults to now; a non-zero "
     "deferredAt holds it back until audit_release)"},
    {"audit_release", tssim_op_audit_release,
     "{tailnet}: serve the deferred audit log entries from now on"},
    {"posture_set", tssim_op_posture_set,
     "{tailnet, nodeId, name, value?, expiry?}: set a device's posture attribute name (any "
     "namespace but node:) to value (string, number, boolean; null or none removes it), with "
     "an expiry time or none"},
    {"audit_generate", tssim_op_audit_generate,
     "{tailnet, count, seconds?}: add count generated entries (renames, tags, roles, policy, "
     "keys) logged over the last seconds (60), for load"},
    {"help", tssim_op_help,
     "{}: this list. Ops that change the tailnet log an audit entry as the API would; their "
     "\"audit\" member: false for none (a node's own change), or an object whose members "
     "(actor, origin, eventTime, deferred: true, ...) replace the entry's"},
};

/* Fields the API sends only with ?fields=all. */
static const char *const tssim_all_only[] = {
    "enabledRoutes",   "advertisedRoutes", "clientConnectivity",
    "postureIdentity", "sshEnabled",       "distro",
};

static const struct tssim_status {
	int code;
	const char *reason;
	const char *message;
} tssim_statuses[] = {
    {400, "Bad Request", "bad request"},
    {401, "Unauthorized", "API token invalid"},
    {403, "Forbidden", "forbidden"},
    {404, "Not Found", "not found"},
    {405, "Method Not Allowed", "method not allowed"},
    {409, "Conflict", "conflict"},
    {429, "Too Many Requests", "rate limit exceeded"},
    {500, "Internal Server Error", "internal server error"},
    {501, "Not Implemented", "not implemented"},
    {502, "Bad Gateway", "bad gateway"},
    {503, "Service Unavailable", "service unavailable"},
    {504, "Gateway Timeout", "Request took too long to process"},
};

static const struct tssim_method {
	enum evhttp_cmd_type cmd;
	const char *name;
} tssim_methods[] = {
    {EVHTTP_REQ_GET, "GET"},     {EVHTTP_REQ_POST, "POST"},       {EVHTTP_REQ_HEAD, "HEAD"},
    {EVHTTP_REQ_PUT, "PUT"},     {EVHTTP_REQ_DELETE, "DELETE"},   {EVHTTP_REQ_OPTIONS, "OPTIONS"},
    {EVHTTP_REQ_TRACE, "TRACE"}, {EVHTTP_REQ_CONNECT, "CONNECT"}, {EVHTTP_REQ_PATCH, "PATCH"},
};

/* 100.64.0.0/10 blocks (/24) that Tailscale keeps for itself: 100.100.100.0/24 and
 * 100.115.92.0/23. */
static const uint32_t tssim_reserved_blocks[] = {9316, 13148, 13149};

static const char tssim_msg_no_tailnet[] = "Tailnet not found, or user does not have access";
static const char tssim_msg_bad_client[] = "invalid client credentials";
/* The API's wording for a credential that lacks the scope (tailscale/tailscale#15969). */
static const char tssim_msg_forbidden[] =
    "calling actor does not have enough permissions to perform this function";

/* --- small helpers --- */

static const char *
tssim_method_name(enum evhttp_cmd_type cmd)
{
	size_t i;

	for (i = 0; i < TSSIM_NELEM(tssim_methods); i++)
		if (tssim_methods[i].cmd == cmd)
			return tssim_methods[i].name;
	return "?";
}

static const struct tssim_status *
tssim_status_find(int code)
{
	size_t i;

	for (i = 0; i < TSSIM_NELEM(tssim_statuses); i++)
		if (tssim_statuses[i].code == code)
			return &tssim_statuses[i];
	return NULL;
}

/* RFC 3339 UTC, seconds precision, as the API writes times. */
static void
tssim_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Wall clock in milliseconds: OAuth token expiry. */
static int64_t
tssim_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* How much of the request target to log: not the query of an OAuth path, which could hold a
 * client secret. */
static int
tssim_log_len(const char *uri)
{
	if (strncmp(uri, TSSIM_OAUTH_PATH, strlen(TSSIM_OAUTH_PATH)) == 0)
		return (int)strcspn(uri, "?");
	return (int)strlen(uri);
}

static struct tssim_blob *
tssim_blob_new(char *data, size_t len)
{
	struct tssim_blob *b = xcalloc(1, sizeof *b);

	b->refs = 1;
	b->data = data;
	b->len = len;
	return b;
}

static void
tssim_blob_unref(struct tssim_blob *b)
{
	if (b == NULL || --b->refs > 0)
		return;
	free(b->data);
	free(b);
}

/* evbuffer cleanup: the response that referenced the blob has been written or dropped. */
static void
tssim_blob_cleanup_cb(const void *data, size_t len, void *arg)
{
	tssim_blob_unref(arg);
}

/* Serialises obj (not consumed) into a new blob; NULL if jansson cannot. */
static struct tssim_blob *
tssim_blob_dump(const json_t *obj)
{
	char *s = json_dumps(obj, TSSIM_DUMP_FLAGS);

	return s != NULL ? tssim_blob_new(s, strlen(s)) : NULL;
}

static int
tssim_parse_ulong(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (s == NULL || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Canonical text of an address (so that "fd7a:115c:a1e0:0::1" and "fd7a:115c:a1e0::1" are one);
 * anything that does not parse is kept as it is. */
static void
tssim_addr_canon(const char *s, char *out, size_t len)
{
	unsigned char a[16];

	if (inet_pton(AF_INET, s, a) == 1 && inet_ntop(AF_INET, a, out, (socklen_t)len) != NULL)
		return;
	if (inet_pton(AF_INET6, s, a) == 1 && inet_ntop(AF_INET6, a, out, (socklen_t)len) != NULL)
		return;
	snprintf(out, len, "%s", s);
}

/* {key: value} (new reference; takes value). */
static json_t *
tssim_result(const char *key, json_t *value)
{
	json_t *res = json_object();

	json_object_set_new(res, key, value);
	return res;
}

/* Sets each member of fields on obj (copies), removing those that are null. */
static void
tssim_merge(json_t *obj, json_t *fields)
{
	const char *key;
	json_t *v;

	json_object_foreach(fields, key, v)
	{
		if (json_is_null(v))
			json_object_del(obj, key);
		else
			json_object_set_new(obj, key, json_deep_copy(v));
	}
}

/* RFC 3339 time as the API writes it (a fraction and an offset allowed); -1 if it is not. */
static int
tssim_time_parse(const char *s, time_t *out)
{
	struct tm tm;
	const char *p;
	time_t t;
	int off;

	memset(&tm, 0, sizeof tm);
	if (s == NULL || !isdigit((unsigned char)*s) ||
	    (p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return -1;
	if (*p == '.') {
		if (!isdigit((unsigned char)*++p))
			return -1;
		while (isdigit((unsigned char)*p))
			p++;
	}
	t = timegm(&tm);
	if (*p == 'Z')
		p++;
	else if ((*p == '+' || *p == '-') && isdigit((unsigned char)p[1]) &&
	         isdigit((unsigned char)p[2]) && p[3] == ':' && isdigit((unsigned char)p[4]) &&
	         isdigit((unsigned char)p[5])) {
		off =
		    ((p[1] - '0') * 10 + p[2] - '0') * 3600 + ((p[4] - '0') * 10 + p[5] - '0') * 60;
		t += *p == '+' ? -off : off;
		p += 6;
	} else
		return -1;
	if (*p != '\0')
		return -1;
	*out = t;
	return 0;
}

/* A time as the API writes it (new reference). */
static json_t *
tssim_time_json(time_t t)
{
	char buf[32];

	tssim_time(t, buf, sizeof buf);
	return json_string(buf);
}

static bool
tssim_enum_has(const char *const *values, const char *s)
{
	for (; s != NULL && *values != NULL; values++)
		if (strcmp(*values, s) == 0)
			return true;
	return false;
}

/* --- args of control ops --- */

static int
tssim_arg_str(json_t *args, const char *key, const char *def, const char **out, char **cause)
{
	json_t *v = json_object_get(args, key);

	if (v == NULL) {
		if (def == NULL) {
			*cause = xasprintf("\"%s\" is required", key);
			return -1;
		}
		*out = def;
		return 0;
	}
	if (!json_is_string(v) || json_string_length(v) == 0) {
		*cause = xasprintf("\"%s\" must be a non-empty string", key);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

static int
tssim_arg_int(json_t *args, const char *key, long long def, long long min, long long max,
              long long *out, char **cause)
{
	json_t *v = json_object_get(args, key);

	if (v == NULL) {
		*out = def;
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
		*cause = xasprintf("\"%s\" must be an integer from %lld to %lld", key, min, max);
		return -1;
	}
	*out = json_integer_value(v);
	return 0;
}

static int
tssim_arg_bool(json_t *args, const char *key, bool *out, char **cause)
{
	json_t *v = json_object_get(args, key);

	if (v == NULL) {
		*out = false;
		return 0;
	}
	if (!json_is_boolean(v)) {
		*cause = xasprintf("\"%s\" must be true or false", key);
		return -1;
	}
	*out = json_is_true(v);
	return 0;
}

/* --- tailnet state: keys, users, webhooks, policy file, DNS, settings --- */

enum tssim_kind {
	TSSIM_K_STR,
	TSSIM_K_TIME,
	TSSIM_K_BOOL,
	TSSIM_K_INT,
	TSSIM_K_STRS,
	TSSIM_K_OBJ,
	TSSIM_K_ENUM,
	TSSIM_K_CAPS,
	TSSIM_K_COUNT
};

/* A known member of an API object, checked whenever a scenario or an op sets it; members not
 * listed are kept unchecked. */
struct tssim_field {
	const char *name;
	enum tssim_kind kind;
	bool nullable;
	const char *const *values; /* TSSIM_K_ENUM: NULL-terminated */
	long long min, max;        /* TSSIM_K_INT */
};

#define TSSIM_F(name, kind)                                                                        \
	{                                                                                          \
		name, kind, false, NULL, 0, 0                                                      \
	}
#define TSSIM_F_NULL(name, kind)                                                                   \
	{                                                                                          \
		name, kind, true, NULL, 0, 0                                                       \
	}
#define TSSIM_F_ENUM(name, values, nullable)                                                       \
	{                                                                                          \
		name, TSSIM_K_ENUM, nullable, values, 0, 0                                         \
	}
#define TSSIM_F_INT(name, min, max, nullable)                                                      \
	{                                                                                          \
		name, TSSIM_K_INT, nullable, NULL, min, max                                        \
	}

static const char *const tssim_key_types[] = {"auth", "client", "api", "federated", NULL};
static const char *const tssim_user_types[] = {"member", "shared", NULL};
static const char *const tssim_user_roles[] = {
    "owner", "member", "admin", "it-admin", "network-admin", "billing-admin", "auditor", NULL};
static const char *const tssim_user_statuses[] = {
    "active", "idle", "suspended", "needs-approval", "over-billing-limit", NULL};
static const char *const tssim_providers[] = {"",           "slack",   "mattermost",
                                              "googlechat", "discord", NULL};
static const char *const tssim_join_roles[] = {"none", "admin", "member", NULL};

static const struct tssim_field tssim_key_fields[] = {
    TSSIM_F("key", TSSIM_K_STR),
    TSSIM_F_ENUM("keyType", tssim_key_types, false),
    TSSIM_F("description", TSSIM_K_STR),
    TSSIM_F("created", TSSIM_K_TIME),
    TSSIM_F("updated", TSSIM_K_TIME),
    TSSIM_F("expires", TSSIM_K_TIME),
    TSSIM_F("revoked", TSSIM_K_TIME),
    TSSIM_F("invalid", TSSIM_K_BOOL),
    TSSIM_F("capabilities", TSSIM_K_CAPS),
    TSSIM_F("scopes", TSSIM_K_STRS),
    TSSIM_F("tags", TSSIM_K_STRS),
    TSSIM_F("userId", TSSIM_K_STR),
    TSSIM_F_INT("expirySeconds", 0, INT64_MAX, false),
    TSSIM_F("audience", TSSIM_K_STR),
    TSSIM_F("issuer", TSSIM_K_STR),
    TSSIM_F("subject", TSSIM_K_STR),
    TSSIM_F("customClaimRules", TSSIM_K_OBJ),
};

static const struct tssim_field tssim_user_fields[] = {
    TSSIM_F("displayName", TSSIM_K_STR),
    TSSIM_F("loginName", TSSIM_K_STR),
    TSSIM_F("profilePicUrl", TSSIM_K_STR),
    TSSIM_F("tailnetId", TSSIM_K_STR),
    TSSIM_F("created", TSSIM_K_TIME),
    TSSIM_F_ENUM("type", tssim_user_types, false),
    TSSIM_F_ENUM("role", tssim_user_roles, false),
    TSSIM_F_ENUM("status", tssim_user_statuses, false),
    TSSIM_F_INT("deviceCount", 0, INT32_MAX, false),
    TSSIM_F("lastSeen", TSSIM_K_TIME),
    TSSIM_F("currentlyConnected", TSSIM_K_BOOL),
};

static const struct tssim_field tssim_webhook_fields[] = {
    TSSIM_F("endpointUrl", TSSIM_K_STR),      TSSIM_F_ENUM("providerType", tssim_providers, false),
    TSSIM_F("creatorLoginName", TSSIM_K_STR), TSSIM_F("created", TSSIM_K_TIME),
    TSSIM_F("lastModified", TSSIM_K_TIME),    TSSIM_F("subscriptions", TSSIM_K_STRS),
    TSSIM_F("secret", TSSIM_K_STR),
};

/* Booleans may be null: the API withholds what the credential may not read. */
static const struct tssim_field tssim_settings_fields[] = {
    TSSIM_F_NULL("aclsExternallyManagedOn", TSSIM_K_BOOL),
    TSSIM_F_NULL("aclsExternalLink", TSSIM_K_STR),
    TSSIM_F_NULL("devicesApprovalOn", TSSIM_K_BOOL),
    TSSIM_F_NULL("devicesAutoUpdatesOn", TSSIM_K_BOOL),
    TSSIM_F_INT("devicesKeyDurationDays", 1, 180, true),
    TSSIM_F_NULL("usersApprovalOn", TSSIM_K_BOOL),
    TSSIM_F_ENUM("usersRoleAllowedToJoinExternalTailnets", tssim_join_roles, true),
    TSSIM_F_NULL("networkFlowLoggingOn", TSSIM_K_BOOL),
    TSSIM_F_NULL("regionalRoutingOn", TSSIM_K_BOOL),
    TSSIM_F_NULL("postureIdentityCollectionOn", TSSIM_K_BOOL),
    TSSIM_F_NULL("httpsEnabled", TSSIM_K_BOOL),
};

static bool
tssim_ok_str(const struct tssim_field *f, json_t *v)
{
	return json_is_string(v);
}

static bool
tssim_ok_time(const struct tssim_field *f, json_t *v)
{
	time_t t;

	return tssim_time_parse(json_string_value(v), &t) == 0;
}

static bool
tssim_ok_bool(const struct tssim_field *f, json_t *v)
{
	return json_is_boolean(v);
}

static bool
tssim_ok_int(const struct tssim_field *f, json_t *v)
{
	return json_is_integer(v) && json_integer_value(v) >= f->min &&
	       json_integer_value(v) <= f->max;
}

static bool
tssim_ok_strs(const struct tssim_field *f, json_t *v)
{
	json_t *s;
	size_t i;

	if (!json_is_array(v))
		return false;
	json_array_foreach(v, i, s)
	{
		if (!json_is_string(s))
			return false;
	}
	return true;
}

static bool
tssim_ok_obj(const struct tssim_field *f, json_t *v)
{
	return json_is_object(v);
}

static bool
tssim_ok_enum(const struct tssim_field *f, json_t *v)
{
	return tssim_enum_has(f->values, json_string_value(v));
}

/* An auth key's {devices:{create:{reusable, ephemeral, preauthorized, tags}}}. */
static bool
tssim_ok_caps(const struct tssim_field *f, json_t *v)
{
	static const char *const flags[] = {"reusable", "ephemeral", "preauthorized"};
	json_t *create = json_object_get(json_object_get(v, "devices"), "create"), *m;
	size_t i;

	if (!json_is_object(v) || !json_is_object(create))
		return false;
	for (i = 0; i < TSSIM_NELEM(flags); i++)
		if ((m = json_object_get(create, flags[i])) != NULL && !json_is_boolean(m))
			return false;
	return (m = json_object_get(create, "tags")) == NULL || tssim_ok_strs(f, m);
}

static const struct tssim_kind_check {
	bool (*ok)(const struct tssim_field *, json_t *);
	const char *want;
} tssim_kinds[TSSIM_K_COUNT] = {
    [TSSIM_K_STR] = {tssim_ok_str, "a string"},
    [TSSIM_K_TIME] = {tssim_ok_time, "an RFC 3339 time"},
    [TSSIM_K_BOOL] = {tssim_ok_bool, "true or false"},
    [TSSIM_K_INT] = {tssim_ok_int, "an integer"},
    [TSSIM_K_STRS] = {tssim_ok_strs, "an array of strings"},
    [TSSIM_K_OBJ] = {tssim_ok_obj, "an object"},
    [TSSIM_K_ENUM] = {tssim_ok_enum, "one of"},
    [TSSIM_K_CAPS] = {tssim_ok_caps,
                      "{\"devices\":{\"create\":{\"reusable\",\"ephemeral\",\"preauthorized\","
                      "\"tags\"}}}"},
};

/* Checks the known members of obj; the cause names the first bad one and what it must be. */
static int
tssim_fields_check(const struct tssim_field *fields, size_t n, json_t *obj, char **cause)
{
	const struct tssim_field *f;
	char *want, *more;
	json_t *v;
	size_t i, j;

	for (i = 0; i < n; i++) {
		f = &fields[i];
		v = json_object_get(obj, f->name);
		if (v == NULL || (f->nullable && json_is_null(v)) || tssim_kinds[f->kind].ok(f, v))
			continue;
		want = xstrdup(tssim_kinds[f->kind].want);
		for (j = 0; f->kind == TSSIM_K_ENUM && f->values[j] != NULL; j++) {
			more = xasprintf("%s%s\"%s\"", want, j > 0 ? ", " : " ", f->values[j]);
			free(want);
			want = more;
		}
		if (f->kind == TSSIM_K_INT) {
			more = xasprintf("%s from %lld to %lld", want, f->min, f->max);
			free(want);
			want = more;
		}
		*cause =
		    xasprintf("\"%s\" must be %s%s", f->name, want, f->nullable ? " or null" : "");
		free(want);
		return -1;
	}
	return 0;
}

/* The state of a tailnet kept as a list of objects with a unique id: keys, users, webhooks. */
typedef json_t *(*tssim_defaults_fn)(struct tssim *, struct tssim_tailnet *, json_t *given,
                                     const char *id);

struct tssim_coll {
	const char *what;  /* the op argument holding a new item, and the answers' member */
	const char *id;    /* the member that names an item */
	char prefix;       /* of generated ids */
	size_t offset;     /* of the item array in struct tssim_tailnet */
	const char *touch; /* set to now by any change that does not give it; NULL: none */
	const struct tssim_field *fields;
	size_t nfields;
	tssim_defaults_fn defaults; /* an item with every member the API shows */
};

static json_t *tssim_key_defaults(struct tssim *, struct tssim_tailnet *, json_t *, const char *);
static json_t *tssim_user_defaults(struct tssim *, struct tssim_tailnet *, json_t *, const char *);
static json_t *tssim_webhook_defaults(struct tssim *, struct tssim_tailnet *, json_t *,
                                      const char *);

static const struct tssim_coll tssim_coll_keys = {
    "key",
    "id",
    'k',
    offsetof(struct tssim_tailnet, keys),
    "updated",
    tssim_key_fields,
    TSSIM_NELEM(tssim_key_fields),
    tssim_key_defaults,
};

static const struct tssim_coll tssim_coll_users = {
    "user",
    "id",
    'u',
    offsetof(struct tssim_tailnet, users),
    NULL,
    tssim_user_fields,
    TSSIM_NELEM(tssim_user_fields),
    tssim_user_defaults,
};

static const struct tssim_coll tssim_coll_webhooks = {
    "webhook",
    "endpointId",
    'e',
    offsetof(struct tssim_tailnet, webhooks),
    "lastModified",
    tssim_webhook_fields,
    TSSIM_NELEM(tssim_webhook_fields),
    tssim_webhook_defaults,
};

static json_t **
tssim_coll_items(struct tssim_tailnet *tn, const struct tssim_coll *co)
{
	return (json_t **)(void *)((char *)tn + co->offset);
}

/* The item whose id is id (borrowed), NULL if none. */
static json_t *
tssim_coll_find(struct tssim_tailnet *tn, const struct tssim_coll *co, const char *id, size_t *pos)
{
	json_t *item;
	size_t i;

	json_array_foreach(*tssim_coll_items(tn, co), i, item)
	{
		const char *s = json_string_value(json_object_get(item, co->id));

		if (s != NULL && strcmp(s, id) == 0) {
			if (pos != NULL)
				*pos = i;
			return item;
		}
	}
	return NULL;
}

/* An item must have a non-empty id no other item (but self) has, and well-typed members. */
static int
tssim_coll_check(struct tssim_tailnet *tn, const struct tssim_coll *co, json_t *item, json_t *self,
                 char **cause)
{
	const char *id = json_string_value(json_object_get(item, co->id));
	json_t *other;

	if (!json_is_object(item)) {
		*cause = xasprintf("a %s must be an object", co->what);
		return -1;
	}
	if (id == NULL || *id == '\0') {
		*cause = xasprintf("a %s needs a non-empty string \"%s\"", co->what, co->id);
		return -1;
	}
	if ((other = tssim_coll_find(tn, co, id, NULL)) != NULL && other != self) {
		*cause = xasprintf("%s %s exists", co->what, id);
		return -1;
	}
	return tssim_fields_check(co->fields, co->nfields, item, cause);
}

/* A fresh id: the prefix, 10 random characters, CNTRL (as the API's ids look). */
static void
tssim_coll_new_id(struct tssim *sim, struct tssim_tailnet *tn, const struct tssim_coll *co,
                  char *buf, size_t len)
{
	static const char alpha[] =
	    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	char r[11];
	size_t i;

	do {
		for (i = 0; i < sizeof r - 1; i++)
			r[i] = alpha[simgen_rand(&sim->rng) % (sizeof alpha - 1)];
		r[i] = '\0';
		snprintf(buf, len, "%c%sCNTRL", co->prefix, r);
	} while (tssim_coll_find(tn, co, buf, NULL) != NULL);
}

/* Keys: each type's defaults. */
static const struct tssim_key_type {
	const char *type;
	bool expires;      /* auth keys and API tokens expire; trust credentials do not */
	const char *scope; /* NULL: device capabilities instead of scopes */
} tssim_key_type_defaults[] = {
    {"auth", true, NULL},
    {"api", true, "all"},
    {"client", false, "all:read"},
    {"federated", false, "all:read"},
};

static json_t *
tssim_key_defaults(struct tssim *sim, struct tssim_tailnet *tn, json_t *given, const char *id)
{
	const struct tssim_key_type *kt = &tssim_key_type_defaults[0];
	const char *type = json_string_value(json_object_get(given, "keyType"));
	const char *user = json_string_value(json_object_get(json_array_get(tn->users, 0), "id"));
	json_t *k = json_object();
	time_t now = time(NULL);
	size_t i;

	for (i = 0; type != NULL && i < TSSIM_NELEM(tssim_key_type_defaults); i++)
		if (strcmp(tssim_key_type_defaults[i].type, type) == 0)
			kt = &tssim_key_type_defaults[i];
	json_object_set_new(k, "id", json_string(id));
	json_object_set_new(k, "keyType", json_string(kt->type));
	json_object_set_new(k, "description", json_string(""));
	json_object_set_new(k, "created", tssim_time_json(now));
	json_object_set_new(k, "updated", tssim_time_json(now));
	if (kt->expires) {
		json_object_set_new(k, "expires", tssim_time_json(now + TSSIM_AUTHKEY_LIFE));
		json_object_set_new(k, "expirySeconds", json_integer(TSSIM_AUTHKEY_LIFE));
	}
	if (kt->scope == NULL)
		json_object_set_new(k, "capabilities",
		                    json_pack("{s:{s:{s:b, s:b, s:b, s:[]}}}", "devices", "create",
		                              "reusable", 0, "ephemeral", 0, "preauthorized", 0,
		                              "tags"));
	else {
		json_object_set_new(k, "scopes", json_pack("[s]", kt->scope));
		if (!kt->expires)
			json_object_set_new(k, "tags", json_array());
	}
	json_object_set_new(k, "userId", json_string(user != NULL ? user : ""));
	if (strcmp(kt->type, "federated") == 0) {
		json_object_set_new(k, "audience",
		                    json_string("api.tailscale.com/" TSSIM_DEFAULT_TAILNET_ID));
		json_object_set_new(k, "issuer",
		                    json_string("https://token.actions.githubusercontent.com"));
		json_object_set_new(k, "subject",
		                    json_string("repo:example/infra:ref:refs/heads/main"));
		json_object_set_new(k, "customClaimRules", json_object());
	}
	return k;
}

/* Revoked, expired, or marked invalid: out of the lists, still answered by id. */
static bool
tssim_key_invalid(json_t *key, time_t now)
{
	const char *revoked = json_string_value(json_object_get(key, "revoked"));
	const char *expires = json_string_value(json_object_get(key, "expires"));
	time_t t;

	return json_is_true(json_object_get(key, "invalid")) ||
	       (revoked != NULL && *revoked != '\0') ||
	       (expires != NULL && tssim_time_parse(expires, &t) == 0 && t <= now);
}

/* What the API shows of a stored key (new reference): never the secret; invalid only when
 * true; with invalid_short, only the members of the docs' revoked-key example. */
static json_t *
tssim_key_view(struct tssim_tailnet *tn, json_t *key, time_t now)
{
	static const char *const short_members[] = {"id",      "created", "expires",
	                                            "revoked", "invalid", NULL};
	json_t *v = json_copy(key), *m;
	const char *name;
	void *tmp;

	json_object_del(v, "key");
	json_object_del(v, TSSIM_OAUTH_MARK);
	if (!tssim_key_invalid(key, now)) {
		json_object_del(v, "invalid");
		return v;
	}
	json_object_set_new(v, "invalid", json_true());
	json_object_foreach_safe(v, tmp, name, m)
	{
		if (tn->invalid_short && !tssim_enum_has(short_members, name))
			json_object_del(v, name);
	}
	return v;
}

static json_t *
tssim_user_defaults(struct tssim *sim, struct tssim_tailnet *tn, json_t *given, const char *id)
{
	const char *login = json_string_value(json_object_get(given, "loginName"));
	const char *tid =
	    json_string_value(json_object_get(json_array_get(tn->users, 0), "tailnetId"));
	json_t *u = json_object(), *other;
	time_t now = time(NULL);
	char buf[64], *display;
	size_t i;

	while (login == NULL) {
		snprintf(buf, sizeof buf, "user%lu@example.com", ++sim->next_user);
		login = buf;
		json_array_foreach(tn->users, i, other)
		{
			const char *s = json_string_value(json_object_get(other, "loginName"));

			if (s != NULL && strcasecmp(s, buf) == 0)
				login = NULL;
		}
	}
	if (tid == NULL)
		tid = strcmp(tn->name, "-") == 0 ? TSSIM_DEFAULT_TAILNET_ID : tn->name;
	display = xasprintf("%.*s", (int)strcspn(login, "@"), login);
	json_object_set_new(u, "id", json_string(id));
	json_object_set_new(u, "displayName", json_string(display));
	json_object_set_new(u, "loginName", json_string(login));
	json_object_set_new(u, "profilePicUrl", json_string(""));
	json_object_set_new(u, "tailnetId", json_string(tid));
	json_object_set_new(u, "created", tssim_time_json(now));
	json_object_set_new(u, "type", json_string("member"));
	json_object_set_new(u, "role", json_string("member"));
	json_object_set_new(u, "status", json_string("active"));
	json_object_set_new(u, "deviceCount", json_integer(0));
	json_object_set_new(u, "lastSeen", tssim_time_json(now));
	json_object_set_new(u, "currentlyConnected", json_false());
	free(display);
	return u;
}

static json_t *
tssim_webhook_defaults(struct tssim *sim, struct tssim_tailnet *tn, json_t *given, const char *id)
{
	const char *creator =
	    json_string_value(json_object_get(json_array_get(tn->users, 0), "loginName"));
	json_t *w = json_object();
	time_t now = time(NULL);
	char *url = xasprintf("https://hooks.example.com/tailscale/%s", id);

	json_object_set_new(w, "endpointId", json_string(id));
	json_object_set_new(w, "endpointUrl", json_string(url));
	json_object_set_new(w, "providerType", json_string(""));
	json_object_set_new(w, "creatorLoginName", json_string(creator != NULL ? creator : ""));
	json_object_set_new(w, "created", tssim_time_json(now));
	json_object_set_new(w, "lastModified", tssim_time_json(now));
	json_object_set_new(
	    w, "subscriptions",
	    json_pack("[s, s, s, s]", "nodeCreated", "nodeDeleted", "userCreated", "policyUpdate"));
	free(url);
	return w;
}

/* Keys without all=true, the list's shape, a revoked key's shape: from a scenario (its root,
 * then each tailnet) or keys_config. Nothing changes unless all of them are good. */
static int
tssim_keys_options(struct tssim_tailnet *tn, json_t *obj, char **cause)
{
	static const char *const shapes[] = {"full", "ids", NULL};
	static const char *const invalid_shapes[] = {"full", "short", NULL};
	json_t *user = json_object_get(obj, "token_user");
	json_t *shape = json_object_get(obj, "keys_list_shape");
	json_t *inv = json_object_get(obj, "invalid_key_shape");

	if (user != NULL && !json_is_null(user) &&
	    (!json_is_string(user) || json_string_length(user) == 0)) {
		*cause = xstrdup("\"token_user\" must be a user id or null");
		return -1;
	}
	if (shape != NULL && !tssim_enum_has(shapes, json_string_value(shape))) {
		*cause = xstrdup("\"keys_list_shape\" must be \"full\" or \"ids\"");
		return -1;
	}
	if (inv != NULL && !tssim_enum_has(invalid_shapes, json_string_value(inv))) {
		*cause = xstrdup("\"invalid_key_shape\" must be \"full\" or \"short\"");
		return -1;
	}
	if (user != NULL) {
		free(tn->token_user);
		tn->token_user = json_is_string(user) ? xstrdup(json_string_value(user)) : NULL;
	}
	if (shape != NULL)
		tn->keys_ids = strcmp(json_string_value(shape), "ids") == 0;
	if (inv != NULL)
		tn->invalid_short = strcmp(json_string_value(inv), "short") == 0;
	return 0;
}

static json_t *
tssim_keys_options_json(struct tssim_tailnet *tn)
{
	return json_pack("{s:o, s:s, s:s}", "token_user",
	                 tn->token_user != NULL ? json_string(tn->token_user) : json_null(),
	                 "keys_list_shape", tn->keys_ids ? "ids" : "full", "invalid_key_shape",
	                 tn->invalid_short ? "short" : "full");
}

/* Policy-file sections by their JSON spelling: the API renders old capitalised keys ("ACLs",
 * "Groups") this way. */
static const char *const tssim_policy_sections[] = {
    "acls",
    "grants",
    "groups",
    "tagOwners",
    "hosts",
    "ipsets",
    "autoApprovers",
    "ssh",
    "nodeAttrs",
    "tests",
    "sshTests",
    "postures",
    "defaultSrcPosture",
    "attrConfig",
    "derpMap",
    "disableIPv4",
    "OneCGNATRoute",
    "randomizeClientPort",
};

/* Whether c is JSON whitespace. */
static bool
tssim_json_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Standard JSON from HuJSON (JWCC): comments become spaces (line breaks kept), a trailing comma
 * before } or ] goes. New string, or NULL and *cause. */
static char *
tssim_hujson_standardize(const char *in, char **cause)
{
	size_t len = strlen(in), i, j;
	char *s = xstrdup(in);
	const char *end;
	bool str = false;

	for (i = 0; i < len; i++) {
		if (str) {
			if (s[i] == '\\' && i + 1 < len)
				i++;
			else if (s[i] == '"')
				str = false;
		} else if (s[i] == '"')
			str = true;
		else if (s[i] == '/' && s[i + 1] == '/') {
			for (; i < len && s[i] != '\n'; i++)
				s[i] = ' ';
			if (i == len) {
				*cause = xstrdup("a line comment must end with a newline");
				goto fail;
			}
		} else if (s[i] == '/' && s[i + 1] == '*') {
			if ((end = strstr(s + i + 2, "*/")) == NULL) {
				*cause = xstrdup("unterminated block comment");
				goto fail;
			}
			for (; s + i < end + 2; i++)
				if (s[i] != '\n')
					s[i] = ' ';
			i--;
		}
	}
	for (str = false, i = 0; i < len; i++) {
		if (str) {
			if (s[i] == '\\' && i + 1 < len)
				i++;
			else if (s[i] == '"')
				str = false;
		} else if (s[i] == '"')
			str = true;
		else if (s[i] == ',') {
			for (j = i + 1; j < len && tssim_json_space(s[j]); j++)
				;
			if (j < len && (s[j] == '}' || s[j] == ']'))
				s[i] = ' ';
		}
	}
	return s;
fail:
	free(s);
	return NULL;
}

/* The policy file as the API renders it in JSON (new reference), or NULL and *cause. */
static json_t *
tssim_acl_json(const char *text, char **cause)
{
	char *std = tssim_hujson_standardize(text, cause);
	json_t *doc, *out, *v;
	json_error_t err;
	const char *key, *name;
	size_t i;

	if (std == NULL)
		return NULL;
	doc = json_loads(std, JSON_REJECT_DUPLICATES, &err);
	free(std);
	if (doc == NULL) {
		*cause = xasprintf("policy file %d:%d: %s", err.line, err.column, err.text);
		return NULL;
	}
	if (!json_is_object(doc)) {
		*cause = xstrdup("the policy file must be an object");
		json_decref(doc);
		return NULL;
	}
	out = json_object();
	json_object_foreach(doc, key, v)
	{
		name = key;
		for (i = 0; i < TSSIM_NELEM(tssim_policy_sections); i++)
			if (strcasecmp(tssim_policy_sections[i], key) == 0)
				name = tssim_policy_sections[i];
		if (json_object_get(out, name) != NULL) {
			*cause = xasprintf("policy section \"%s\" given twice", name);
			json_decref(out);
			json_decref(doc);
			return NULL;
		}
		json_object_set(out, name, v);
	}
	json_decref(doc);
	return out;
}

static void
tssim_sha256_hex(const char *s, char *out, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;

	if (EVP_Digest(s, strlen(s), md, &n, EVP_sha256(), NULL) != 1)
		fatalx("SHA-256 failed");
	for (i = 0; i < n && 2 * i + 2 < len; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Replaces the policy file with text, if it parses; the ETag follows. */
static int
tssim_acl_store(struct tssim_tailnet *tn, const char *text, char **cause)
{
	json_t *doc;

	if (strlen(text) > TSSIM_MAX_ACL) {
		*cause = xasprintf("the policy file is over %ld bytes", TSSIM_MAX_ACL);
		return -1;
	}
	if ((doc = tssim_acl_json(text, cause)) == NULL)
		return -1;
	json_decref(doc);
	free(tn->acl);
	tn->acl = xstrdup(text);
	tssim_sha256_hex(text, tn->etag, sizeof tn->etag);
	return 0;
}

/* A DNS resolver as the configuration shows it, from "1.1.1.1" or {address, useWithExitNode?}
 * (new reference); NULL if it is neither. */
static json_t *
tssim_dns_resolver(json_t *v)
{
	json_t *a = v, *use = NULL;

	if (json_is_object(v)) {
		a = json_object_get(v, "address");
		use = json_object_get(v, "useWithExitNode");
		if ((use != NULL && !json_is_boolean(use)) ||
		    json_object_size(v) != 1 + (size_t)(use != NULL))
			return NULL;
	}
	if (!json_is_string(a) || json_string_length(a) == 0)
		return NULL;
	return json_pack("{s:O, s:b}", "address", a, "useWithExitNode", json_is_true(use));
}

static json_t *
tssim_dns_resolvers(json_t *v)
{
	json_t *out, *r, *e;
	size_t i;

	if (!json_is_array(v))
		return NULL;
	out = json_array();
	json_array_foreach(v, i, e)
	{
		if ((r = tssim_dns_resolver(e)) == NULL) {
			json_decref(out);
			return NULL;
		}
		json_array_append_new(out, r);
	}
	return out;
}

static json_t *
tssim_dns_bool(json_t *v)
{
	return json_is_boolean(v) ? json_incref(v) : NULL;
}

static json_t *
tssim_dns_domains(json_t *v)
{
	json_t *e;
	size_t i;

	if (!json_is_array(v))
		return NULL;
	json_array_foreach(v, i, e)
	{
		if (!json_is_string(e) || json_string_length(e) == 0)
			return NULL;
	}
	return json_deep_copy(v);
}

/* {domain: [resolver] or null}: null is a domain kept away from the global nameservers. */
static json_t *
tssim_dns_split(json_t *v)
{
	json_t *out, *r, *e;
	const char *dom;

	if (!json_is_object(v))
		return NULL;
	out = json_object();
	json_object_foreach(v, dom, e)
	{
		r = json_is_null(e) ? json_null() : tssim_dns_resolvers(e);
		if (*dom == '\0' || r == NULL) {
			json_decref(r);
			json_decref(out);
			return NULL;
		}
		json_object_set_new(out, dom, r);
	}
	return out;
}

static const struct tssim_dns_member {
	const char *name;
	json_t *(*parse)(json_t *); /* the stored form (new reference), NULL if bad */
	const char *want;
} tssim_dns_members[] = {
    {"nameservers", tssim_dns_resolvers,
     "an array of addresses or {\"address\", \"useWithExitNode\"}"},
    {"magicDNS", tssim_dns_bool, "true or false"},
    {"overrideLocalDNS", tssim_dns_bool, "true or false"},
    {"searchPaths", tssim_dns_domains, "an array of domains"},
    {"splitDNS", tssim_dns_split, "an object of domain: [resolvers] or null"},
};

/* dns with given's members applied (new reference), or NULL and *cause. With op, the op's own
 * arguments are skipped. */
static json_t *
tssim_dns_apply(json_t *dns, json_t *given, bool op, char **cause)
{
	json_t *next = json_deep_copy(dns), *v, *parsed;
	const char *key;
	size_t i;

	json_object_foreach(given, key, v)
	{
		if (op && (strcmp(key, "op") == 0 || strcmp(key, "tailnet") == 0 ||
		           strcmp(key, "audit") == 0))
			continue;
		for (i = 0; i < TSSIM_NELEM(tssim_dns_members); i++)
			if (strcmp(tssim_dns_members[i].name, key) == 0)
				break;
		if (i == TSSIM_NELEM(tssim_dns_members)) {
			*cause = xasprintf("unknown DNS member \"%s\"", key);
			goto fail;
		}
		if ((parsed = tssim_dns_members[i].parse(v)) == NULL) {
			*cause = xasprintf("\"%s\" must be %s", key, tssim_dns_members[i].want);
			goto fail;
		}
		json_object_set_new(next, key, parsed);
	}
	return next;
fail:
	json_decref(next);
	return NULL;
}

/* A new tailnet's state besides its devices: no keys or webhooks, one owner (alice, as
 * devices added without a user), the default policy file, DNS and settings. */
static void
tssim_tailnet_defaults(struct tssim_tailnet *tn)
{
	static const char login[] = "alice@example.com";
	json_int_t count = 0;
	json_t *dev;
	char *why = NULL;
	size_t i;

	json_array_foreach(tn->devices, i, dev)
	{
		const char *u = json_string_value(json_object_get(dev, "user"));

		if (u != NULL && strcmp(u, login) == 0)
			count++;
	}
	tn->keys = json_array();
	tn->webhooks = json_array();
	tn->users = json_pack("[{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:o, s:b}]",
	                      "id", "uK8v2mQ1CNTRL", "displayName", "Alice Example", "loginName",
	                      login, "profilePicUrl", "", "tailnetId",
	                      strcmp(tn->name, "-") == 0 ? TSSIM_DEFAULT_TAILNET_ID : tn->name,
	                      "created", "2024-01-15T09:00:00Z", "type", "member", "role", "owner",
	                      "status", "active", "deviceCount", count, "lastSeen",
	                      tssim_time_json(time(NULL)), "currentlyConnected", count > 0);
	tn->dns = json_pack("{s:[], s:b, s:b, s:[], s:{}}", "nameservers", "magicDNS", 1,
	                    "overrideLocalDNS", 0, "searchPaths", "splitDNS");
	tn->settings =
	    json_pack("{s:b, s:b, s:b, s:i, s:b, s:s, s:b, s:b, s:b, s:b}",
	              "aclsExternallyManagedOn", 0, "devicesApprovalOn", 0, "devicesAutoUpdatesOn",
	              0, "devicesKeyDurationDays", 180, "usersApprovalOn", 0,
	              "usersRoleAllowedToJoinExternalTailnets", "member", "networkFlowLoggingOn", 0,
	              "regionalRoutingOn", 0, "postureIdentityCollectionOn", 0, "httpsEnabled", 0);
	if (tn->users == NULL || tn->dns == NULL || tn->settings == NULL ||
	    tssim_acl_store(tn, TSSIM_DEFAULT_ACL, &why) != 0)
		fatalx("tailnet defaults: %s", why != NULL ? why : "json_pack failed");
}

/* --- scenario parts of a tailnet --- */

static int
tssim_load_coll(struct tssim *sim, struct tssim_tailnet *tn, const struct tssim_coll *co, json_t *v,
                char **cause)
{
	json_t **items = tssim_coll_items(tn, co), *item;
	size_t i;
	char *why = NULL;

	if (!json_is_array(v)) {
		*cause = xasprintf("\"%ss\" must be an array", co->what);
		return -1;
	}
	json_decref(*items);
	*items = json_array();
	json_array_foreach(v, i, item)
	{
		if (tssim_coll_check(tn, co, item, NULL, &why) != 0) {
			*cause = xasprintf("%s %zu: %s", co->what, i, why);
			free(why);
			return -1;
		}
		json_array_append_new(*items, json_deep_copy(item));
	}
	return 0;
}

static int
tssim_load_acl(struct tssim_tailnet *tn, json_t *v, const char *path, char **cause)
{
	if (!json_is_string(v)) {
		*cause = xstrdup("\"acl\" must be the policy file's text");
		return -1;
	}
	return tssim_acl_store(tn, json_string_value(v), cause);
}

/* "acl_file": a path relative to the scenario's folder. */
static int
tssim_load_acl_file(struct tssim_tailnet *tn, json_t *v, const char *path, char **cause)
{
	const char *name = json_string_value(v), *slash = strrchr(path, '/');
	char *file, *text = NULL, *why = NULL;
	size_t len = 0;
	FILE *f;
	int rc = -1;

	if (name == NULL || *name == '\0') {
		*cause = xstrdup("\"acl_file\" must be a path");
		return -1;
	}
	if (*name == '/' || slash == NULL)
		file = xstrdup(name);
	else
		file = xasprintf("%.*s/%s", (int)(slash - path), path, name);
	if ((f = fopen(file, "r")) == NULL) {
		*cause = xasprintf("%s: %s", file, strerror(errno));
		free(file);
		return -1;
	}
	text = xmalloc(TSSIM_MAX_ACL + 2);
	len = fread(text, 1, TSSIM_MAX_ACL + 1, f);
	text[len] = '\0';
	if (ferror(f))
		*cause = xasprintf("%s: read error", file);
	else if (len > TSSIM_MAX_ACL || strlen(text) != len)
		*cause = xasprintf("%s: over %ld bytes or holds a NUL", file, TSSIM_MAX_ACL);
	else if (tssim_acl_store(tn, text, &why) != 0) {
		*cause = xasprintf("%s: %s", file, why);
		free(why);
	} else
		rc = 0;
	fclose(f);
	free(text);
	free(file);
	return rc;
}

static int
tssim_load_dns(struct tssim_tailnet *tn, json_t *v, const char *path, char **cause)
{
	json_t *next;

	if (!json_is_object(v)) {
		*cause = xstrdup("\"dns\" must be an object");
		return -1;
	}
	if ((next = tssim_dns_apply(tn->dns, v, false, cause)) == NULL)
		return -1;
	json_decref(tn->dns);
	tn->dns = next;
	return 0;
}

/* Given settings are laid over the defaults. */
static int
tssim_load_settings(struct tssim_tailnet *tn, json_t *v, const char *path, char **cause)
{
	if (!json_is_object(v)) {
		*cause = xstrdup("\"settings\" must be an object");
		return -1;
	}
	if (tssim_fields_check(tssim_settings_fields, TSSIM_NELEM(tssim_settings_fields), v,
	                       cause) != 0)
		return -1;
	v = json_deep_copy(v);
	json_object_update(tn->settings, v);
	json_decref(v);
	return 0;
}

/* Members of a scenario's tailnet: a collection, or a loader, or neither (read elsewhere). */
static const struct tssim_part {
	const char *name;
	const struct tssim_coll *coll;
	int (*load)(struct tssim_tailnet *, json_t *, const char *path, char **cause);
} tssim_parts[] = {
    {"devices", NULL, NULL},
    {"keys", &tssim_coll_keys, NULL},
    {"users", &tssim_coll_users, NULL},
    {"webhooks", &tssim_coll_webhooks, NULL},
    {"acl", NULL, tssim_load_acl},
    {"acl_file", NULL, tssim_load_acl_file},
    {"dns", NULL, tssim_load_dns},
    {"settings", NULL, tssim_load_settings},
    {"token_user", NULL, NULL},
    {"keys_list_shape", NULL, NULL},
    {"invalid_key_shape", NULL, NULL},
};

/* Everything of a scenario's tailnet t but its devices; root's key options first. */
static int
tssim_tailnet_load(struct tssim *sim, struct tssim_tailnet *tn, json_t *root, json_t *t,
                   const char *path, char **cause)
{
	const struct tssim_part *part;
	const char *key;
	json_t *v;
	size_t i;

	if (json_object_get(t, "acl") != NULL && json_object_get(t, "acl_file") != NULL) {
		*cause = xstrdup("\"acl\" and \"acl_file\" are exclusive");
		return -1;
	}
	/* Users first: keys and webhooks default to the first one. */
	if (json_object_get(t, "users") != NULL &&
	    tssim_load_coll(sim, tn, &tssim_coll_users, json_object_get(t, "users"), cause) != 0)
		return -1;
	if (tssim_keys_options(tn, root, cause) != 0 || tssim_keys_options(tn, t, cause) != 0)
		return -1;
	json_object_foreach(t, key, v)
	{
		for (i = 0, part = NULL; i < TSSIM_NELEM(tssim_parts) && part == NULL; i++)
			if (strcmp(tssim_parts[i].name, key) == 0)
				part = &tssim_parts[i];
		if (part == NULL) {
			*cause = xasprintf("unknown member \"%s\"", key);
			return -1;
		}
		if (part->coll != NULL && part->coll != &tssim_coll_users &&
		    tssim_load_coll(sim, tn, part->coll, v, cause) != 0)
			return -1;
		if (part->load != NULL && part->load(tn, v, path, cause) != 0)
			return -1;
	}
	return 0;
}

/* --- tailnets and devices --- */

static struct tssim_tailnet *
tssim_tailnet_find(struct tssim *sim, const char *name)
{
	struct tssim_tailnet *tn;

	TAILQ_FOREACH(tn, &sim->tailnets, entry)
	{
		if (strcmp(tn->name, name) == 0)
			return tn;
	}
	return NULL;
}

/* Takes devices (an array). */
static struct tssim_tailnet *
tssim_tailnet_add(struct tssim *sim, const char *name, json_t *devices)
{
	struct tssim_tailnet *tn = xcalloc(1, sizeof *tn);

	tn->name = xstrdup(name);
	tn->devices = devices;
	tn->v4_next = 1;
	tn->posture = json_object();
	tssim_tailnet_defaults(tn);
	TAILQ_INSERT_TAIL(&sim->tailnets, tn, entry);
	return tn;
}

/* Any change to a tailnet goes through here so that no stale list is ever served. */
static void
tssim_tailnet_changed(struct tssim_tailnet *tn)
{
	size_t i;

	for (i = 0; i < TSSIM_NELEM(tn->cache); i++) {
		tssim_blob_unref(tn->cache[i]);
		tn->cache[i] = NULL;
	}
}

static void
tssim_tailnet_free(struct tssim_tailnet *tn)
{
	tssim_tailnet_changed(tn);
	json_decref(tn->devices);
	json_decref(tn->keys);
	json_decref(tn->users);
	json_decref(tn->webhooks);
	json_decref(tn->settings);
	json_decref(tn->dns);
	json_decref(tn->posture);
	free(tn->acl);
	free(tn->token_user);
	free(tn->name);
	simaudit_free(&tn->audit);
	free(tn);
}

/* The tailnet named by args' "tailnet" ("-" if absent); with create, made if missing. */
static struct tssim_tailnet *
tssim_arg_tailnet(struct tssim *sim, json_t *args, bool create, char **cause)
{
	struct tssim_tailnet *tn;
	const char *name;

	if (tssim_arg_str(args, "tailnet", "-", &name, cause) != 0)
		return NULL;
	if ((tn = tssim_tailnet_find(sim, name)) != NULL)
		return tn;
	if (create)
		return tssim_tailnet_add(sim, name, json_array());
	*cause = xasprintf("no tailnet \"%s\"", name);
	return NULL;
}

/* A device in tn (or, with tn NULL, in any tailnet) whose nodeId or legacy id is id (borrowed). */
static json_t *
tssim_device_find(struct tssim *sim, struct tssim_tailnet *tn, const char *id, size_t *pos)
{
	struct tssim_tailnet *t;
	json_t *dev;
	size_t i;

	TAILQ_FOREACH(t, &sim->tailnets, entry)
	{
		if (tn != NULL && t != tn)
			continue;
		json_array_foreach(t->devices, i, dev)
		{
			const char *nid = json_string_value(json_object_get(dev, "nodeId"));
			const char *lid = json_string_value(json_object_get(dev, "id"));

			if ((nid != NULL && strcmp(nid, id) == 0) ||
			    (lid != NULL && strcmp(lid, id) == 0)) {
				if (pos != NULL)
					*pos = i;
				return dev;
			}
		}
	}
	return NULL;
}

static bool
tssim_tailnet_has(struct tssim_tailnet *tn, const char *key, const char *value)
{
	json_t *dev;
	size_t i;

	json_array_foreach(tn->devices, i, dev)
	{
		const char *s = json_string_value(json_object_get(dev, key));

		if (s != NULL && strcasecmp(s, value) == 0)
			return true;
	}
	return false;
}

/* What the API shows of a stored device (new reference): lastSeen goes while the device is
 * connected, and the fields=all extras without all. */
static json_t *
tssim_device_view(json_t *dev, bool all)
{
	bool hide_seen = json_is_true(json_object_get(dev, "connectedToControl")) &&
	                 json_object_get(dev, "lastSeen") != NULL;
	bool hide_all = false;
	json_t *v;
	size_t i;

	for (i = 0; !all && i < TSSIM_NELEM(tssim_all_only); i++)
		if (json_object_get(dev, tssim_all_only[i]) != NULL)
			hide_all = true;
	if (!hide_seen && !hide_all)
		return json_incref(dev);
	v = json_copy(dev);
	if (hide_seen)
		json_object_del(v, "lastSeen");
	for (i = 0; !all && i < TSSIM_NELEM(tssim_all_only); i++)
		json_object_del(v, tssim_all_only[i]);
	return v;
}

/* The tailnet's device list as served, with or without the shared-in devices (a new reference
 * to the cached blob). */
static struct tssim_blob *
tssim_tailnet_body(struct tssim_tailnet *tn, bool all, bool shared)
{
	size_t slot = (all ? 1 : 0) + (shared ? 0 : 2), i;
	json_t *list, *doc, *dev;

	if (tn->cache[slot] == NULL) {
		list = json_array();
		json_array_foreach(tn->devices, i, dev)
		{
			if (shared || !json_is_true(json_object_get(dev, "isExternal")))
				json_array_append_new(list, tssim_device_view(dev, all));
		}
		doc = tssim_list(tn, "devices", list);
		tn->cache[slot] = tssim_blob_dump(doc);
		json_decref(doc);
		if (tn->cache[slot] == NULL)
			return NULL;
	}
	tn->cache[slot]->refs++;
	return tn->cache[slot];
}

/* --- the API --- */

/* JSON unless the handler said otherwise (the policy file's HuJSON). */
static void
tssim_content_type(struct evhttp_request *req)
{
	struct evkeyvalq *hdr = evhttp_request_get_output_headers(req);

	if (evhttp_find_header(hdr, "Content-Type") == NULL)
		evhttp_add_header(hdr, "Content-Type", "application/json");
}

/* A Date: off the real time when asked: the clock of a server that is wrong, or of a daemon
 * that is. evhttp adds the true one to the others. */
static void
tssim_date(struct tssim *sim, struct evhttp_request *req)
{
	struct evkeyvalq *hdr = evhttp_request_get_output_headers(req);
	time_t t = time(NULL) + (time_t)sim->date_skew;
	struct tm tm;
	char buf[64];

	if (sim->date_skew == 0 || evhttp_find_header(hdr, "Date") != NULL)
		return;
	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	evhttp_add_header(hdr, "Date", buf);
}

static void
tssim_send(struct tssim *sim, struct evhttp_request *req, int status, struct evbuffer *buf,
           const char *note)
{
	const struct tssim_status *st = tssim_status_find(status);
	const char *uri = evhttp_request_get_uri(req);

	tssim_content_type(req);
	tssim_date(sim, req);
	if (!sim->quiet)
		log_info("%s %.*s -> %d, %zu bytes%s%s",
		         tssim_method_name(evhttp_request_get_command(req)), tssim_log_len(uri),
		         uri, status, evbuffer_get_length(buf), note != NULL ? ", " : "",
		         note != NULL ? note : "");
	evhttp_send_reply(req, status, st != NULL ? st->reason : NULL, buf);
}

static void
tssim_send_json(struct tssim *sim, struct evhttp_request *req, int status, json_t *doc)
{
	struct evbuffer *buf = evbuffer_new();
	char *s = json_dumps(doc, TSSIM_DUMP_FLAGS);

	if (s == NULL) {
		status = 500;
		s = xstrdup("{\"message\":\"cannot serialise the answer\"}");
	}
	evbuffer_add(buf, s, strlen(s));
	free(s);
	tssim_send(sim, req, status, buf, NULL);
	evbuffer_free(buf);
}

/* An API error: {"message": msg}, or the usual message for the status. */
static void
tssim_send_message(struct tssim *sim, struct evhttp_request *req, int status, const char *msg,
                   int retry_after)
{
	const struct tssim_status *st = tssim_status_find(status);
	json_t *doc = json_object();
	char ra[16];

	if (msg == NULL)
		msg = st != NULL ? st->message : "simulated error";
	json_object_set_new(doc, "message", json_string(msg));
	if (retry_after >= 0) {
		snprintf(ra, sizeof ra, "%d", retry_after);
		evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", ra);
	}
	tssim_send_json(sim, req, status, doc);
	json_decref(doc);
}

static void
tssim_send_blob(struct tssim *sim, struct evhttp_request *req, struct tssim_blob *b)
{
	struct evbuffer *buf = evbuffer_new();

	b->refs++;
	evbuffer_add_reference(buf, b->data, b->len, tssim_blob_cleanup_cb, b);
	tssim_send(sim, req, 200, buf, NULL);
	evbuffer_free(buf);
}

/* The half body has left: drop the connection so that the client sees a short transfer. */
static void
tssim_truncated_cb(struct evhttp_connection *evcon, void *arg)
{
	evhttp_connection_free(evcon);
}

/* A 200 announcing the whole length, half the body, then the connection closes: an incomplete
 * transfer for any client, never a shorter valid document. */
static void
tssim_send_truncated(struct tssim *sim, struct evhttp_request *req, struct tssim_blob *b)
{
	struct evkeyvalq *hdr = evhttp_request_get_output_headers(req);
	const char *uri = evhttp_request_get_uri(req);
	struct evbuffer *buf;
	size_t half = b->len / 2 > 0 ? b->len / 2 : 1;
	char len[32];

	if (evhttp_request_get_connection(req) == NULL) {
		/* The client went away; a normal send frees the request. */
		tssim_send_message(sim, req, 500, NULL, -1);
		return;
	}
	snprintf(len, sizeof len, "%zu", b->len);
	tssim_content_type(req);
	evhttp_add_header(hdr, "Content-Length", len);
	if (!sim->quiet)
		log_info("%s %.*s -> 200, %zu of %zu bytes, truncated",
		         tssim_method_name(evhttp_request_get_command(req)), tssim_log_len(uri),
		         uri, half, b->len);
	evhttp_send_reply_start(req, 200, "OK");
	buf = evbuffer_new();
	evbuffer_add(buf, b->data, half);
	evhttp_send_reply_chunk_with_cb(req, buf, tssim_truncated_cb, NULL);
	evbuffer_free(buf);
}

static void
tssim_send_invalid(struct tssim *sim, struct evhttp_request *req, struct tssim_blob *b)
{
	static const char garbage[] = "<!-- not json -->";
	struct evbuffer *buf = evbuffer_new();

	evbuffer_add(buf, b->data, b->len / 2);
	evbuffer_add(buf, garbage, sizeof garbage - 1);
	tssim_send(sim, req, 200, buf, "invalid JSON");
	evbuffer_free(buf);
}

/* The normal document with a "padding" member that brings it to size bytes: valid JSON, and
 * only the size tells it apart. */
static void
tssim_send_oversize(struct tssim *sim, struct evhttp_request *req, struct tssim_blob *b,
                    size_t size, bool chunked)
{
	static char pad[65536];
	static const char tail[] = "\"}";
	struct evbuffer *buf = evbuffer_new();
	const char *end = memrchr(b->data, '}', b->len);
	size_t keep = end != NULL ? (size_t)(end - b->data) : 0, have, n;
	const char *opening = ",\"padding\":\"";
	char note[64];

	if (pad[0] == '\0')
		memset(pad, 'x', sizeof pad);
	if (keep == 0) {
		evbuffer_add(buf, "{", 1);
		opening = "\"padding\":\"";
	} else {
		size_t j = keep;

		evbuffer_add(buf, b->data, keep);
		while (j > 0 && isspace((unsigned char)b->data[j - 1]))
			j--;
		/* HuJSON may end its last member with a comma already. */
		if (j > 0 && (b->data[j - 1] == '{' || b->data[j - 1] == ','))
			opening = "\"padding\":\"";
	}
	evbuffer_add(buf, opening, strlen(opening));
	have = evbuffer_get_length(buf) + sizeof tail - 1;
	for (n = size > have ? size - have : 0; n > 0;) {
		size_t chunk = n < sizeof pad ? n : sizeof pad;

		evbuffer_add_reference(buf, pad, chunk, NULL, NULL);
		n -= chunk;
	}
	evbuffer_add(buf, tail, sizeof tail - 1);
	snprintf(note, sizeof note, "oversize %zu%s", size, chunked ? ", chunked" : "");
	if (chunked) {
		tssim_content_type(req);
		if (!sim->quiet)
			log_info("GET %.*s -> 200, %zu bytes, %s",
			         tssim_log_len(evhttp_request_get_uri(req)),
			         evhttp_request_get_uri(req), size, note);
		evhttp_send_reply_start(req, 200, "OK");
		evhttp_send_reply_chunk(req, buf);
		evhttp_send_reply_end(req);
	} else
		tssim_send(sim, req, 200, buf, note);
	evbuffer_free(buf);
}

static int
tssim_api_devices(struct tssim *sim, struct tssim_call *c, struct tssim_blob **body,
                  const char **msg)
{
	struct tssim_tailnet *tn = tssim_tailnet_find(sim, c->args[0]);

	if (tn == NULL) {
		*msg = tssim_msg_no_tailnet;
		return 404;
	}
	/* OAuth-derived tokens do not list shared-in devices (tailscale/tailscale#16911). */
	if ((*body = tssim_tailnet_body(tn, c->fields_all, c->scopes == NULL)) == NULL)
		return 500;
	return 200;
}

static int
tssim_api_device(struct tssim *sim, struct tssim_call *c, struct tssim_blob **body,
                 const char **msg)
{
	json_t *dev = tssim_device_find(sim, NULL, c->args[0], NULL), *view;

	if (dev == NULL) {
		*msg = "not found";
		return 404;
	}
	view = tssim_device_view(dev, c->fields_all);
	*body = tssim_blob_dump(view);
	json_decref(view);
	return *body != NULL ? 200 : 500;
}

/* GET /device/{id}/attributes: the node: attributes the device reports (from its record) and
 * those posture_set gave it; "expiries" only when one has an expiry, as the API's second
 * example shows it absent. */
static int
tssim_api_attributes(struct tssim *sim, struct tssim_call *c, struct tssim_blob **body,
                     const char **msg)
{
	struct tssim_tailnet *t;
	json_t *dev = NULL, *attrs, *exp, *doc, *set = NULL;
	const char *os, *ver;
	char *lower;

	TAILQ_FOREACH(t, &sim->tailnets, entry)
	{
		if ((dev = tssim_device_find(sim, t, c->args[0], NULL)) != NULL)
			break;
	}
	if (dev == NULL) {
		*msg = "not found";
		return 404;
	}
	attrs = json_object();
	if ((os = json_string_value(json_object_get(dev, "os"))) != NULL && *os != '\0') {
		lower = xstrdup(os);
		for (char *p = lower; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		json_object_set_new(attrs, "node:os", json_string(lower));
		free(lower);
	}
	if ((ver = json_string_value(json_object_get(dev, "clientVersion"))) != NULL &&
	    *ver != '\0') {
		json_object_set_new(attrs, "node:tsVersion", json_stringn(ver, strcspn(ver, "-")));
		json_object_set_new(attrs, "node:tsReleaseTrack", json_string("stable"));
		json_object_set_new(attrs, "node:tsAutoUpdate", json_false());
	}
	exp = json_object();
	set = json_object_get(t->posture, json_string_value(json_object_get(dev, "nodeId")));
	json_object_update(attrs, json_object_get(set, "attributes"));
	json_object_update(exp, json_object_get(set, "expiries"));
	doc = json_object();
	json_object_set_new(doc, "attributes", attrs);
	if (json_object_size(exp) > 0)
		json_object_set(doc, "expiries", exp);
	json_decref(exp);
	*body = tssim_blob_dump(doc);
	json_decref(doc);
	return *body != NULL ? 200 : 500;
}

/* One item of a collection by id, in any tailnet (a new reference, never a secret), or NULL. */
static json_t *
tssim_item_any(struct tssim *sim, const struct tssim_coll *co, const char *id)
{
	struct tssim_tailnet *t;
	json_t *item;

	TAILQ_FOREACH(t, &sim->tailnets, entry)
	{
		if ((item = tssim_coll_find(t, co, id, NULL)) != NULL) {
			item = json_copy(item);
			json_object_del(item, "secret");
			return item;
		}
	}
	return NULL;
}

/* GET /users/{id} and /webhooks/{id}: the item, or 404 as for a device. */
static int
tssim_api_item(const struct tssim_coll *co, struct tssim *sim, struct tssim_call *c,
               struct tssim_blob **body, const char **msg)
{
	json_t *item = tssim_item_any(sim, co, c->args[0]);

	if (item == NULL) {
		*msg = "not found";
		return 404;
	}
	*body = tssim_blob_dump(item);
	json_decref(item);
	return *body != NULL ? 200 : 500;
}

static int
tssim_api_user(struct tssim *sim, struct tssim_call *c, struct tssim_blob **body, const char **msg)
{
	return tssim_api_item(&tssim_coll_users, sim, c, body, msg);
}

static int
tssim_api_webhook(struct tssim *sim, struct tssim_call *c, struct tssim_blob **body,
                  const char **msg)
{
	return tssim_api_item(&tssim_coll_webhooks, sim, c, body, msg);
}

/* A tailnet's document built by the route's view. */
static int
tssim_api_view(struct tssim *sim, struct tssim_call *c, struct tssim_blob **body, const char **msg)
{
	struct tssim_tailnet *tn = tssim_tailnet_find(sim, c->args[0]);
	json_t *doc;
	int status = 500;

	if (tn == NULL) {
		*msg = tssim_msg_no_tailnet;
		return 404;
	}
	if ((doc = c->route->view(tn, c, &status, msg)) == NULL)
		return status;
	*body = tssim_blob_dump(doc);
	json_decref(doc);
	return *body != NULL ? 200 : 500;
}

/* Whether a credential with these scopes (NULL: the API token, every scope) may do what needs
 * the scope need: all and all:read cover every read, a scope covers its own :read. */
static bool
tssim_scope_allows(json_t *scopes, const char *need)
{
	size_t i, len = strlen(need);
	json_t *v;

	if (scopes == NULL)
		return true;
	json_array_foreach(scopes, i, v)
	{
		const char *s = json_string_value(v);

		if (s == NULL)
			continue;
		if (strcmp(s, "all") == 0 || strcmp(s, "all:read") == 0 || strcmp(s, need) == 0)
			return true;
		if (len > 5 && strcmp(need + len - 5, ":read") == 0 && strlen(s) == len - 5 &&
		    strncmp(s, need, len - 5) == 0)
			return true;
	}
	return false;
}

/* all or all:read: the only scopes that list every access token and read any key by id. */
static bool
tssim_scope_all(json_t *scopes)
{
	return tssim_scope_allows(scopes, "an:unknown:read");
}

/* The scopes of a space-separated list (new reference). */
static json_t *
tssim_scope_list(const char *s)
{
	json_t *list = json_array();
	size_t n;

	for (;;) {
		s += strspn(s, " ");
		if ((n = strcspn(s, " ")) == 0)
			return list;
		json_array_append_new(list, json_stringn(s, n));
		s += n;
	}
}

/* Whether an OAuth token with these scopes sees this key: each key type has its own scope
 * (listTailnetKeys), and only all/all:read see the access tokens minted by OAuth clients. */
static bool
tssim_key_visible(json_t *scopes, json_t *key)
{
	static const struct {
		const char *type, *scope;
	} by_type[] = {
	    {"auth", "auth_keys:read"},
	    {"api", "api_access_tokens:read"},
	    {"client", "oauth_keys:read"},
	    {"federated", "federated_keys:read"},
	};
	const char *type = json_string_value(json_object_get(key, "keyType"));
	size_t i;

	if (json_object_get(key, TSSIM_OAUTH_MARK) != NULL)
		return tssim_scope_all(scopes);
	for (i = 0; i < TSSIM_NELEM(by_type); i++)
		if (type != NULL && strcmp(type, by_type[i].type) == 0)
			return tssim_scope_allows(scopes, by_type[i].scope);
	return tssim_scope_all(scopes);
}

/* Whether the credential may list keys at all: it needs one key type's scope. */
static bool
tssim_keys_allowed(json_t *scopes)
{
	return tssim_scope_allows(scopes, "auth_keys:read") ||
	       tssim_scope_allows(scopes, "api_access_tokens:read") ||
	       tssim_scope_allows(scopes, "oauth_keys:read") ||
	       tssim_scope_allows(scopes, "federated_keys:read");
}

/* {member: list}, or {member: null} for an empty list when the tailnet serves nil slices. */
static json_t *
tssim_list(struct tssim_tailnet *tn, const char *member, json_t *list)
{
	if (tn->null_lists && json_array_size(list) == 0) {
		json_decref(list);
		list = json_null();
	}
	return tssim_result(member, list);
}

/* Active keys only; without all=true only the token owner's; full objects or ids only; of an
 * OAuth token, only the types its scopes cover. */
static json_t *
tssim_view_keys(struct tssim_tailnet *tn, struct tssim_call *c, int *status, const char **msg)
{
	const char *all = evhttp_find_header(&c->params, "all");
	bool mine = all == NULL || strcmp(all, "true") != 0;
	json_t *list, *key;
	time_t now = time(NULL);
	size_t i;

	if (!tssim_keys_allowed(c->scopes)) {
		*status = 403;
		*msg = tssim_msg_forbidden;
		return NULL;
	}
	list = json_array();
	json_array_foreach(tn->keys, i, key)
	{
		const char *user = json_string_value(json_object_get(key, "userId"));

		if (tssim_key_invalid(key, now) || !tssim_key_visible(c->scopes, key) ||
		    (mine && tn->token_user != NULL &&
		     (user == NULL || strcmp(user, tn->token_user) != 0)))
			continue;
		if (tn->keys_ids)
			json_array_append_new(list,
			                      json_pack("{s:O}", "id", json_object_get(key, "id")));
		else
			json_array_append_new(list, tssim_key_view(tn, key, now));
	}
	return tssim_list(tn, "keys", list);
}

/* Every credential may read its own key; all and all:read any key; a key type's scope the keys
 * of that type (inferred: kb/1623 states the first two only). Otherwise 403, before any 404. */
static json_t *
tssim_view_key(struct tssim_tailnet *tn, struct tssim_call *c, int *status, const char **msg)
{
	json_t *key = tssim_coll_find(tn, &tssim_coll_keys, c->args[1], NULL);

	if (c->scopes != NULL && !tssim_scope_all(c->scopes) &&
	    strcmp(c->args[1], c->key_id) != 0 &&
	    (key == NULL || !tssim_key_visible(c->scopes, key))) {
		*status = 403;
		*msg = tssim_msg_forbidden;
		return NULL;
	}
	if (key == NULL) {
		*status = 404;
		*msg = "not found";
		return NULL;
	}
	return tssim_key_view(tn, key, time(NULL));
}

/* type defaults to member (shared users only when asked for), role to all. */
static json_t *
tssim_view_users(struct tssim_tailnet *tn, struct tssim_call *c, int *status, const char **msg)
{
	const char *type = evhttp_find_header(&c->params, "type");
	const char *role = evhttp_find_header(&c->params, "role");
	json_t *list, *u;
	size_t i;

	if (type == NULL)
		type = "member";
	if (role == NULL)
		role = "all";
	*status = 400;
	if (strcmp(type, "all") != 0 && !tssim_enum_has(tssim_user_types, type)) {
		*msg = "invalid user type";
		return NULL;
	}
	if (strcmp(role, "all") != 0 && !tssim_enum_has(tssim_user_roles, role)) {
		*msg = "invalid user role";
		return NULL;
	}
	list = json_array();
	json_array_foreach(tn->users, i, u)
	{
		const char *ut = json_string_value(json_object_get(u, "type"));
		const char *ur = json_string_value(json_object_get(u, "role"));

		if ((strcmp(type, "all") == 0 || (ut != NULL && strcmp(ut, type) == 0)) &&
		    (strcmp(role, "all") == 0 || (ur != NULL && strcmp(ur, role) == 0)))
			json_array_append(list, u);
	}
	return tssim_list(tn, "users", list);
}

/* The addresses of resolvers (new reference). */
static json_t *
tssim_dns_addresses(json_t *resolvers)
{
	json_t *out = json_array(), *r;
	size_t i;

	json_array_foreach(resolvers, i, r)
	{
		json_array_append(out, json_object_get(r, "address"));
	}
	return out;
}

static json_t *
tssim_view_nameservers(struct tssim_tailnet *tn, struct tssim_call *c, int *status,
                       const char **msg)
{
	return tssim_result("dns", tssim_dns_addresses(json_object_get(tn->dns, "nameservers")));
}

static json_t *
tssim_view_preferences(struct tssim_tailnet *tn, struct tssim_call *c, int *status,
                       const char **msg)
{
	return json_pack("{s:O}", "magicDNS", json_object_get(tn->dns, "magicDNS"));
}

static json_t *
tssim_view_searchpaths(struct tssim_tailnet *tn, struct tssim_call *c, int *status,
                       const char **msg)
{
	return json_pack("{s:O}", "searchPaths", json_object_get(tn->dns, "searchPaths"));
}

/* A bare map: {domain: [address] or null}. */
static json_t *
tssim_view_split_dns(struct tssim_tailnet *tn, struct tssim_call *c, int *status, const char **msg)
{
	json_t *out = json_object(), *v;
	const char *dom;

	json_object_foreach(json_object_get(tn->dns, "splitDNS"), dom, v)
	{
		json_object_set_new(out, dom,
		                    json_is_null(v) ? json_null() : tssim_dns_addresses(v));
	}
	return out;
}

static json_t *
tssim_view_dns_configuration(struct tssim_tailnet *tn, struct tssim_call *c, int *status,
                             const char **msg)
{
	if (tn->no_dns_configuration) {
		*status = 404;
		*msg = "not found";
		return NULL;
	}
	return json_pack("{s:O, s:O, s:O, s:{s:O, s:O}}", "nameservers",
	                 json_object_get(tn->dns, "nameservers"), "splitDNS",
	                 json_object_get(tn->dns, "splitDNS"), "searchPaths",
	                 json_object_get(tn->dns, "searchPaths"), "preferences", "overrideLocalDNS",
	                 json_object_get(tn->dns, "overrideLocalDNS"), "magicDNS",
	                 json_object_get(tn->dns, "magicDNS"));
}

static json_t *
tssim_view_settings(struct tssim_tailnet *tn, struct tssim_call *c, int *status, const char **msg)
{
	return json_incref(tn->settings);
}

/* Never the secret: it is shown only when a webhook is made or its secret rotated. */
static json_t *
tssim_view_webhooks(struct tssim_tailnet *tn, struct tssim_call *c, int *status, const char **msg)
{
	json_t *list = json_array(), *w, *v;
	size_t i;

	json_array_foreach(tn->webhooks, i, w)
	{
		v = json_copy(w);
		json_object_del(v, "secret");
		json_array_append_new(list, v);
	}
	return tssim_list(tn, "webhooks", list);
}

/* The configuration audit log of the window the query names. */
static json_t *
tssim_view_audit(struct tssim_tailnet *tn, struct tssim_call *c, int *status, const char **msg)
{
	return simaudit_query(&tn->audit,
	                      strcmp(tn->name, "-") == 0 ? TSSIM_DEFAULT_TAILNET_ID : tn->name,
	                      evhttp_find_header(&c->params, "start"),
	                      evhttp_find_header(&c->params, "end"), simaudit_now(), status, msg);
}

/* Who the audit log names for a control op's change unless it says otherwise: the tailnet's
 * first user in the admin console, or an OAuth client through the API. */
enum tssim_actor { TSSIM_ACTOR_USER, TSSIM_ACTOR_OAUTH };

/* Logs one change made by a control op (ARGS: its "audit" member may turn it off or replace
 * members of the entry). TID: the target's id; OLD and NEW borrowed, NULL: none. */
static void
tssim_audit(struct tssim_tailnet *tn, json_t *args, enum tssim_actor who, const char *ttype,
            const char *tid, const char *tname, const char *property, const char *action,
            json_t *old, json_t *new)
{
	json_t *flag = json_object_get(args, "audit"), *actor, *u;
	const char *origin;

	if (json_is_false(flag) || tid == NULL)
		return;
	if (who == TSSIM_ACTOR_OAUTH) {
		actor = json_pack("{s:s, s:s, s:s, s:s}", "id", "kSimOAuth1CNTRL", "type",
		                  "OAUTH_CLIENT", "loginName", "", "displayName", "OAuth client");
		origin = "CONFIG_API";
	} else {
		u = json_array_get(tn->users, 0);
		actor = json_pack(
		    "{s:s, s:s, s:s, s:s}", "id",
		    json_string_value(json_object_get(u, "id")) ?: "uSimAdmin1CNTRL", "type",
		    "USER", "loginName",
		    json_string_value(json_object_get(u, "loginName")) ?: "admin@example.com",
		    "displayName", json_string_value(json_object_get(u, "displayName")) ?: "Admin");
		origin = "ADMIN_CONSOLE";
	}
	simaudit_record(&tn->audit, origin, actor, ttype, tid, tname, property, action, old, new,
	                json_is_object(flag) ? flag : NULL);
	json_decref(actor);
}

/* A device's fields whose change the audit log records: the property, the action, who does
 * it unless the op says otherwise. Others (os, clientVersion, lastSeen...) are the node's own. */
static const struct tssim_audit_field {
	const char *field, *property, *action;
	enum tssim_actor who;
} tssim_audit_fields[] = {
    {"name", "MACHINE_NAME", "UPDATE", TSSIM_ACTOR_USER},
    {"tags", "ACL_TAGS", "UPDATE", TSSIM_ACTOR_OAUTH},
    {"addresses", "ADDRESS", "UPDATE", TSSIM_ACTOR_USER},
    {"keyExpiryDisabled", "KEY_EXPIRY_TIME", "UPDATE", TSSIM_ACTOR_USER},
    {"authorized", "AUTHORIZED", "APPROVE", TSSIM_ACTOR_USER},
    {"enabledRoutes", "ALLOWED_IPS", "UPDATE", TSSIM_ACTOR_USER},
};

/* The entries of a device's change from BEFORE to DEV. */
static void
tssim_audit_device(struct tssim_tailnet *tn, json_t *args, json_t *before, json_t *dev)
{
	const char *id = json_string_value(json_object_get(dev, "nodeId"));
	const char *name = json_string_value(json_object_get(dev, "name"));

	for (size_t i = 0; i < TSSIM_NELEM(tssim_audit_fields); i++) {
		const struct tssim_audit_field *f = &tssim_audit_fields[i];
		json_t *o = json_object_get(before, f->field), *n = json_object_get(dev, f->field);

		if (json_equal(o, n) || (o == NULL && n == NULL))
			continue;
		tssim_audit(tn, args, f->who, "NODE", id, name, f->property, f->action, o, n);
	}
}

/* The policy file: HuJSON as stored, or JSON for Accept: application/json, or details=true's
 * base64 HuJSON with warnings; always its ETag. */
static int
tssim_api_acl(struct tssim *sim, struct tssim_call *c, struct tssim_blob **body, const char **msg)
{
	struct tssim_tailnet *tn = tssim_tailnet_find(sim, c->args[0]);
	struct evkeyvalq *out = evhttp_request_get_output_headers(c->req);
	const char *details = evhttp_find_header(&c->params, "details");
	const char *accept = evhttp_find_header(evhttp_request_get_input_headers(c->req), "Accept");
	json_t *doc = NULL;
	char etag[sizeof tn->etag + 2], *why = NULL, *s;
	unsigned char *b64;
	size_t len;

	if (tn == NULL) {
		*msg = tssim_msg_no_tailnet;
		return 404;
	}
	if (details != NULL && strcmp(details, "true") == 0) {
		len = strlen(tn->acl);
		b64 = xmalloc(4 * ((len + 2) / 3) + 1);
		EVP_EncodeBlock(b64, (const unsigned char *)tn->acl, (int)len);
		doc = json_pack("{s:s, s:[], s:n}", "acl", (const char *)b64, "warnings", "errors");
		free(b64);
		*body = tssim_blob_dump(doc);
	} else if (accept != NULL && strcasestr(accept, "application/json") != NULL) {
		if ((doc = tssim_acl_json(tn->acl, &why)) == NULL) {
			log_warnx("tailnet %s: policy file: %s", tn->name, why);
			free(why);
			*msg = "cannot render the policy file as JSON";
			return 500;
		}
		if ((s = json_dumps(doc, JSON_INDENT(2) | JSON_REAL_PRECISION(15))) != NULL)
			*body = tssim_blob_new(s, strlen(s));
	} else {
		*body = tssim_blob_new(xstrdup(tn->acl), strlen(tn->acl));
		evhttp_add_header(out, "Content-Type", "application/hujson");
	}
	json_decref(doc);
	if (*body == NULL)
		return 500;
	snprintf(etag, sizeof etag, "\"%s\"", tn->etag);
	evhttp_add_header(out, "ETag", etag);
	return 200;
}

/* The list of a list answer (its first array member) without its last OMIT items, or
 * OMIT_PERCENT of them rounded up: takes B over, returns the short answer. */
static struct tssim_blob *
tssim_blob_omit(struct tssim_blob *b, long omit, long omit_percent)
{
	json_t *doc = json_loadb(b->data, b->len, 0, NULL), *list = NULL, *v;
	struct tssim_blob *out;
	const char *name;
	size_t n, drop;

	json_object_foreach(doc, name, v) if (list == NULL && json_is_array(v)) list = v;
	if (list == NULL) {
		json_decref(doc);
		return b;
	}
	n = json_array_size(list);
	drop = omit > 0 ? (size_t)omit : (n * (size_t)omit_percent + 99) / 100;
	while (drop-- > 0 && json_array_size(list) > 0)
		json_array_remove(list, json_array_size(list) - 1);
	out = tssim_blob_dump(doc);
	json_decref(doc);
	if (out == NULL)
		return b;
	tssim_blob_unref(b);
	return out;
}

/* The answer once any delay is over: the fault's status, or the handler's document, whole or
 * spoilt as the fault says. */
static void
tssim_api_answer(struct tssim_call *c)
{
	struct tssim *sim = c->sim;
	struct tssim_fault *f = &c->fault;
	struct tssim_blob *body = NULL;
	const char *msg = NULL;
	int status;

	if (f->status != 0) {
		tssim_send_message(sim, c->req, f->status, f->message, f->retry_after);
		return;
	}
	if (f->body != NULL) {
		body = tssim_blob_new(xstrdup(f->body), strlen(f->body));
		tssim_send_blob(sim, c->req, body);
		tssim_blob_unref(body);
		return;
	}
	status = c->route->fn(sim, c, &body, &msg);
	if (status == 200 && (f->omit > 0 || f->omit_percent > 0))
		body = tssim_blob_omit(body, f->omit, f->omit_percent);
	if (status != 200)
		tssim_send_message(sim, c->req, status, msg, -1);
	else if (f->truncate)
		tssim_send_truncated(sim, c->req, body);
	else if (f->invalid)
		tssim_send_invalid(sim, c->req, body);
	else if (f->oversize > 0)
		tssim_send_oversize(sim, c->req, body, f->oversize, f->chunked);
	else
		tssim_send_blob(sim, c->req, body);
	tssim_blob_unref(body);
}

static void
tssim_fault_clear(struct tssim_fault *f)
{
	free(f->tailnet);
	free(f->message);
	free(f->path);
	free(f->body);
	memset(f, 0, sizeof *f);
	f->retry_after = -1;
}

/* Copies the endpoint's fault into out if it applies to this request (its tailnet, its PATH),
 * and counts it down. */
static void
tssim_fault_take(struct tssim *sim, enum tssim_ep ep, const char *tailnet, const char *path,
                 struct tssim_fault *out)
{
	struct tssim_fault *f = &sim->faults[ep];
	size_t plen = path != NULL ? strlen(path) : 0;

	if (f->count == 0)
		return;
	if (f->tailnet != NULL && tailnet != NULL && strcmp(f->tailnet, tailnet) != 0)
		return;
	if (f->path != NULL &&
	    (plen < strlen(f->path) || strcmp(path + plen - strlen(f->path), f->path) != 0))
		return;
	*out = *f;
	out->tailnet = NULL;
	out->path = NULL;
	out->body = f->body != NULL ? xstrdup(f->body) : NULL;
	out->message = f->message != NULL ? xstrdup(f->message) : NULL;
	if (f->count > 0 && --f->count == 0)
		tssim_fault_clear(f);
}

static void
tssim_call_free(struct tssim_call *c)
{
	size_t i;

	for (i = 0; i < TSSIM_NELEM(c->args); i++)
		free(c->args[i]);
	evhttp_clear_headers(&c->params);
	if (c->timer != NULL)
		event_free(c->timer);
	tssim_fault_clear(&c->fault);
	json_decref(c->scopes);
	free(c->key_id);
	free(c);
}

static void
tssim_delay_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tssim_call *c = arg;

	TAILQ_REMOVE(&c->sim->pending, c, entry);
	c->sim->held[c->route->ep]--;
	tssim_api_answer(c);
	tssim_call_free(c);
}

static char *
tssim_b64decode(const char *s)
{
	static const char alpha[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t len = strlen(s), o = 0;
	unsigned acc = 0;
	int bits = 0;
	char *out = xmalloc(len + 1);

	for (; *s != '\0' && *s != '='; s++) {
		const char *p = strchr(alpha, *s);

		if (p == NULL) {
			free(out);
			return NULL;
		}
		acc = (acc << 6) | (unsigned)(p - alpha);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	out[o] = '\0';
	if (strlen(out) != o) { /* a NUL inside */
		free(out);
		return NULL;
	}
	return out;
}

enum tssim_authz { TSSIM_AUTHZ_NONE, TSSIM_AUTHZ_BEARER, TSSIM_AUTHZ_BASIC };

/* The Authorization header: Bearer's token in *user, or Basic's user and password (malloc'd;
 * both NULL when there is none or it does not parse). */
static enum tssim_authz
tssim_authz_parse(struct evhttp_request *req, char **user, char **pass)
{
	const char *h = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
	char *dec, *colon;

	*user = *pass = NULL;
	if (h == NULL)
		return TSSIM_AUTHZ_NONE;
	if (strncasecmp(h, "Bearer ", 7) == 0) {
		for (h += 7; *h == ' '; h++)
			;
		*user = xstrdup(h);
		return TSSIM_AUTHZ_BEARER;
	}
	if (strncasecmp(h, "Basic ", 6) != 0)
		return TSSIM_AUTHZ_NONE;
	for (h += 6; *h == ' '; h++)
		;
	if ((dec = tssim_b64decode(h)) == NULL || (colon = strchr(dec, ':')) == NULL) {
		free(dec);
		return TSSIM_AUTHZ_NONE;
	}
	*colon = '\0';
	*user = dec;
	*pass = xstrdup(colon + 1);
	return TSSIM_AUTHZ_BASIC;
}

/* The token if it was issued here, is not revoked and has not expired (borrowed). */
static struct tssim_token *
tssim_oauth_live(struct tssim *sim, const char *token)
{
	struct tssim_token *t;
	int64_t now = tssim_now_ms();

	TAILQ_FOREACH(t, &sim->tokens, entry)
	{
		if (strcmp(t->token, token) == 0)
			return now < t->expires_ms ? t : NULL;
	}
	return NULL;
}

/* The API token or a live OAuth access token, as "Bearer CRED" or as Basic with CRED as the
 * user and an empty password; an OAuth token needs the route's scope (403 otherwise). */
static int
tssim_auth_api(struct tssim *sim, struct tssim_call *c, const char **msg)
{
	char *cred, *pass;
	enum tssim_authz kind = tssim_authz_parse(c->req, &cred, &pass);
	bool form = kind == TSSIM_AUTHZ_BEARER || (kind == TSSIM_AUTHZ_BASIC && *pass == '\0');
	struct tssim_token *t = form ? tssim_oauth_live(sim, cred) : NULL;
	int status = form && (t != NULL || strcmp(cred, sim->token) == 0) ? 0 : 401;

	free(cred);
	free(pass);
	if (status != 0 || t == NULL)
		return status;
	c->scopes = json_incref(t->scopes);
	c->key_id = xstrdup(t->key_id);
	if (c->route->scope != NULL && !tssim_scope_allows(c->scopes, c->route->scope)) {
		*msg = tssim_msg_forbidden;
		return 403;
	}
	return 0;
}

/* A form-encoded body (application/x-www-form-urlencoded) into form; any other type is no
 * form, as Go's ParseForm has it. -1 if it does not parse. */
static int
tssim_form_parse(struct evhttp_request *req, struct evkeyvalq *form)
{
	static const char type[] = "application/x-www-form-urlencoded";
	const char *ct = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	char *body;
	int rc;

	TAILQ_INIT(form);
	if (ct == NULL || strncasecmp(ct, type, sizeof type - 1) != 0 ||
	    (ct[sizeof type - 1] != '\0' && ct[sizeof type - 1] != ';') || len == 0)
		return 0;
	if (len > TSSIM_MAX_FORM)
		return -1;
	body = xmalloc(len + 1);
	evbuffer_copyout(in, body, len);
	body[len] = '\0';
	/* evhttp decodes into C strings: a NUL, raw or encoded, would cut a value short. */
	rc = strlen(body) == len && strcasestr(body, "%00") == NULL
	         ? evhttp_parse_query_str(body, form)
	         : -1;
	free(body);
	return rc;
}

/* A form-decoded copy of s, NULL if it holds a NUL. */
static char *
tssim_form_decode(const char *s)
{
	size_t len;
	char *d = evhttp_uridecode(s, 1, &len);

	if (d != NULL && strlen(d) != len) {
		free(d);
		d = NULL;
	}
	return d;
}

/* OAuth client authentication (RFC 6749 2.3.1): Basic with the form-encoded id and secret, or
 * else client_id and client_secret in the form body. */
static int
tssim_auth_client(struct tssim *sim, struct tssim_call *c, const char **msg)
{
	struct evhttp_request *req = c->req;
	struct evkeyvalq form;
	char *user, *pass, *id = NULL, *secret = NULL;
	int status = 401;

	*msg = tssim_msg_bad_client;
	if (tssim_form_parse(req, &form) != 0) {
		*msg = "malformed form body";
		status = 400;
	} else if (tssim_authz_parse(req, &user, &pass) == TSSIM_AUTHZ_BASIC) {
		id = tssim_form_decode(user);
		secret = tssim_form_decode(pass);
		free(user);
		free(pass);
	} else {
		free(user);
		if (evhttp_find_header(&form, "client_id") != NULL &&
		    evhttp_find_header(&form, "client_secret") != NULL) {
			id = xstrdup(evhttp_find_header(&form, "client_id"));
			secret = xstrdup(evhttp_find_header(&form, "client_secret"));
		}
	}
	if (sim->oauth_id != NULL && id != NULL && secret != NULL &&
	    strcmp(id, sim->oauth_id) == 0 && strcmp(secret, sim->oauth_secret) == 0)
		status = 0;
	free(id);
	free(secret);
	evhttp_clear_headers(&form);
	return status;
}

/* The tailnet whose keys list the OAuth client's tokens: "-", else the first one. */
static struct tssim_tailnet *
tssim_oauth_tailnet(struct tssim *sim)
{
	struct tssim_tailnet *tn = tssim_tailnet_find(sim, "-");

	return tn != NULL ? tn : TAILQ_FIRST(&sim->tailnets);
}

/* Drops every token issued, or (all false) only the expired ones; returns how many went. A
 * dropped live token is revoked: its key leaves the list and GET shows it invalid. */
static unsigned long
tssim_oauth_drop(struct tssim *sim, bool all)
{
	struct tssim_tailnet *tn = tssim_oauth_tailnet(sim);
	struct tssim_token *t, *next;
	int64_t now = tssim_now_ms();
	unsigned long n = 0;
	json_t *key;
	char ts[32];

	tssim_time(time(NULL), ts, sizeof ts);
	for (t = TAILQ_FIRST(&sim->tokens); t != NULL; t = next) {
		next = TAILQ_NEXT(t, entry);
		if (!all && now < t->expires_ms)
			continue;
		if (now < t->expires_ms && tn != NULL &&
		    (key = tssim_coll_find(tn, &tssim_coll_keys, t->key_id, NULL)) != NULL) {
			json_object_set_new(key, "revoked", json_string(ts));
			json_object_set_new(key, "invalid", json_true());
		}
		TAILQ_REMOVE(&sim->tokens, t, entry);
		free(t->token);
		free(t->key_id);
		json_decref(t->scopes);
		free(t);
		n++;
	}
	return n;
}

/* A new access token with these scopes (borrowed), living oauth_life seconds, shaped as the
 * real ones: tskey-api-{key id}-{secret}. Its key joins the tailnet's keys, marked so that only
 * all/all:read see it listed. Returns the token (borrowed: the list owns it). */
static const char *
tssim_oauth_issue(struct tssim *sim, json_t *scopes)
{
	struct tssim_tailnet *tn = tssim_oauth_tailnet(sim);
	struct tssim_token *t = xcalloc(1, sizeof *t);
	char id[32], created[32], expires[32];
	time_t now = time(NULL);
	unsigned r[4];
	size_t i;

	/* Expired ones are refused like unknown ones: a long run need not keep them. */
	tssim_oauth_drop(sim, false);
	for (i = 0; i < TSSIM_NELEM(r); i++)
		r[i] = simgen_rand(&sim->rng);
	if (tn != NULL)
		tssim_coll_new_id(sim, tn, &tssim_coll_keys, id, sizeof id);
	else
		snprintf(id, sizeof id, "k%08xCNTRL", r[0]);
	t->token = xasprintf("tskey-api-%s-%08x%08x%08x%08x", id, r[0], r[1], r[2], r[3]);
	t->key_id = xstrdup(id);
	t->scopes = json_incref(scopes);
	t->expires_ms = tssim_now_ms() + (int64_t)sim->oauth_life * 1000;
	TAILQ_INSERT_TAIL(&sim->tokens, t, entry);
	sim->oauth_serial++;
	sim->oauth_issued++;
	if (tn != NULL) {
		tssim_time(now, created, sizeof created);
		tssim_time(now + sim->oauth_life, expires, sizeof expires);
		json_array_append_new(
		    tn->keys,
		    json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:O, s:b}", "id", id, "keyType",
		              "api", "description", "", "created", created, "expires", expires,
		              "expirySeconds", (json_int_t)sim->oauth_life, "userId", "", "scopes",
		              scopes, TSSIM_OAUTH_MARK, 1));
	}
	return t->token;
}

/* Client credentials grant; the client was authenticated by tssim_auth_client. A requested
 * scope must be one the client holds. */
static int
tssim_api_oauth_token(struct tssim *sim, struct tssim_call *c, struct tssim_blob **body,
                      const char **msg)
{
	struct evkeyvalq form;
	const char *grant, *scope;
	json_t *doc, *held, *want, *v;
	size_t i;

	if (tssim_form_parse(c->req, &form) != 0) {
		evhttp_clear_headers(&form);
		*msg = "malformed form body";
		return 400;
	}
	grant = evhttp_find_header(&form, "grant_type");
	if (grant != NULL && strcmp(grant, "client_credentials") != 0) {
		evhttp_clear_headers(&form);
		*msg = "unsupported grant_type";
		return 400;
	}
	held = tssim_scope_list(sim->oauth_scope);
	scope = evhttp_find_header(&form, "scope");
	want = scope != NULL && *scope != '\0' ? tssim_scope_list(scope) : json_incref(held);
	json_array_foreach(want, i, v)
	{
		if (!tssim_scope_allows(held, json_string_value(v))) {
			json_decref(held);
			json_decref(want);
			evhttp_clear_headers(&form);
			*msg = "OAuth client cannot grant scopes that it does not have";
			return 403;
		}
	}
	doc = json_object();
	json_object_set_new(doc, "access_token", json_string(tssim_oauth_issue(sim, want)));
	json_object_set_new(doc, "token_type", json_string("Bearer"));
	json_object_set_new(doc, "expires_in", json_integer(sim->oauth_life));
	json_object_set_new(
	    doc, "scope", json_string(scope != NULL && *scope != '\0' ? scope : sim->oauth_scope));
	json_object_set_new(doc, "tags", json_string(""));
	*body = tssim_blob_dump(doc);
	json_decref(doc);
	json_decref(held);
	json_decref(want);
	evhttp_clear_headers(&form);
	evhttp_add_header(evhttp_request_get_output_headers(c->req), "Cache-Control", "no-store");
	return *body != NULL ? 200 : 500;
}

/* Matches path against pattern; captured segments go to args (malloc'd, URL-decoded). */
static bool
tssim_route_match(const char *pattern, const char *path, char **args)
{
	size_t n = 0, seglen, declen;
	char *seg;

	while (*pattern != '\0') {
		if (*pattern != '*') {
			if (*pattern++ != *path++)
				goto fail;
			continue;
		}
		pattern++;
		seglen = strcspn(path, "/");
		if (seglen == 0 || n == TSSIM_MAX_ARGS)
			goto fail;
		seg = xasprintf("%.*s", (int)seglen, path);
		args[n] = evhttp_uridecode(seg, 0, &declen);
		free(seg);
		if (args[n] == NULL || strlen(args[n]) != declen || declen == 0) {
			free(args[n]);
			args[n] = NULL;
			goto fail;
		}
		n++;
		path += seglen;
	}
	if (*path == '\0')
		return true;
fail:
	while (n > 0) {
		free(args[--n]);
		args[n] = NULL;
	}
	return false;
}

static void
tssim_api(struct tssim *sim, struct evhttp_request *req, const struct tssim_route *route,
          char **args)
{
	struct tssim_call *c = xcalloc(1, sizeof *c);
	const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req)), *fields;
	struct timeval tv;
	const char *msg = NULL;
	int status;

	c->sim = sim;
	c->req = req;
	c->route = route;
	TAILQ_INIT(&c->params);
	memcpy(c->args, args, sizeof c->args);
	c->fault.retry_after = -1;
	sim->counts[route->ep]++;
	if (evhttp_request_get_command(req) != route->method) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
		                  tssim_method_name(route->method));
		tssim_send_message(sim, req, 405, NULL, -1);
		goto done;
	}
	if ((status = route->auth(sim, c, &msg)) != 0) {
		tssim_send_message(sim, req, status, msg, -1);
		goto done;
	}
	if (query != NULL && evhttp_parse_query_str(query, &c->params) == 0) {
		fields = evhttp_find_header(&c->params, "fields");
		c->fields_all = fields != NULL && strcmp(fields, "all") == 0;
	}
	tssim_fault_take(sim, route->ep, route->tailnet_arg >= 0 ? args[route->tailnet_arg] : NULL,
	                 evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req)), &c->fault);
	if (c->fault.delay_ms > 0) {
		/* Held on a timer, never by blocking: other requests go on meanwhile. */
		c->timer = evtimer_new(sim->base, tssim_delay_cb, c);
		tv.tv_sec = c->fault.delay_ms / 1000;
		tv.tv_usec = c->fault.delay_ms % 1000 * 1000;
		evtimer_add(c->timer, &tv);
		TAILQ_INSERT_TAIL(&sim->pending, c, entry);
		if (++sim->held[route->ep] > sim->held_max[route->ep])
			sim->held_max[route->ep] = sim->held[route->ep];
		return;
	}
	tssim_api_answer(c);
done:
	tssim_call_free(c);
}

/* --- control --- */

static void
tssim_control_reply(struct tssim *sim, struct evhttp_request *req, const char *opname, json_t *res,
                    char *cause)
{
	json_t *doc = json_object();
	struct evbuffer *buf = evbuffer_new();
	int status = res != NULL ? 200 : 400;
	char *s;

	json_object_set_new(doc, "ok", json_boolean(res != NULL));
	if (res != NULL)
		json_object_update(doc, res);
	else
		json_object_set_new(doc, "error", json_string(cause != NULL ? cause : "failed"));
	if (res == NULL)
		log_warnx("control %s: %s", opname, cause != NULL ? cause : "failed");
	else if (!sim->quiet)
		log_info("control %s: ok", opname);
	json_decref(res);
	free(cause);
	if ((s = json_dumps(doc, TSSIM_DUMP_FLAGS)) == NULL) {
		status = 500;
		s = xstrdup("{\"ok\":false,\"error\":\"cannot serialise the answer\"}");
	}
	evbuffer_add(buf, s, strlen(s));
	free(s);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	                  "application/json");
	evhttp_send_reply(
	    req, status,
	    tssim_status_find(status) != NULL ? tssim_status_find(status)->reason : "OK", buf);
	evbuffer_free(buf);
	json_decref(doc);
}

static void
tssim_control(struct tssim *sim, struct evhttp_request *req)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in), i;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	const char *body, *opname = "?";
	json_error_t err;
	json_t *args = NULL, *res = NULL;
	char *cause = NULL;

	if (cmd == EVHTTP_REQ_GET) {
		tssim_control_reply(sim, req, "help", tssim_op_help(sim, NULL, &cause), NULL);
		return;
	}
	if (cmd != EVHTTP_REQ_POST) {
		cause = xasprintf("%s: use POST", tssim_method_name(cmd));
		goto out;
	}
	if (len == 0 || (body = (const char *)evbuffer_pullup(in, -1)) == NULL) {
		cause = xstrdup("empty request");
		goto out;
	}
	if ((args = json_loadb(body, len, 0, &err)) == NULL) {
		cause = xasprintf("bad JSON at %d:%d: %s", err.line, err.column, err.text);
		goto out;
	}
	if (!json_is_object(args) || !json_is_string(json_object_get(args, "op"))) {
		cause = xstrdup("a request is an object with a string \"op\"");
		goto out;
	}
	opname = json_string_value(json_object_get(args, "op"));
	for (i = 0; i < TSSIM_NELEM(tssim_ops); i++)
		if (strcmp(tssim_ops[i].name, opname) == 0)
			break;
	if (i == TSSIM_NELEM(tssim_ops)) {
		cause = xasprintf("unknown op \"%s\"", opname);
		goto out;
	}
	opname = tssim_ops[i].name;
	res = tssim_ops[i].fn(sim, args, &cause);
	if (res == NULL && cause == NULL)
		cause = xstrdup("failed");
out:
	tssim_control_reply(sim, req, opname, res, cause);
	json_decref(args);
}

/* --- control ops --- */

/* Next free IPv4 in 100.64.0.0/10 (after the last one handed out) and a random free fd7a:
 * address; held addresses are never handed out. */
static json_t *
tssim_alloc_addresses(struct tssim *sim, struct tssim_tailnet *tn, char **cause)
{
	char v4[INET6_ADDRSTRLEN], v6[INET6_ADDRSTRLEN], canon[INET6_ADDRSTRLEN];
	json_t *held = json_object(), *dev, *a, *out;
	uint32_t tries, off, block;
	unsigned char b6[16] = {0xfd, 0x7a, 0x11, 0x5c, 0xa1, 0xe0};
	size_t i, j, k;

	json_array_foreach(tn->devices, i, dev)
	{
		json_array_foreach(json_object_get(dev, "addresses"), j, a)
		{
			if (!json_is_string(a))
				continue;
			tssim_addr_canon(json_string_value(a), canon, sizeof canon);
			json_object_set_new(held, canon, json_true());
		}
	}
	for (tries = 0; tries < TSSIM_V4_SPACE; tries++) {
		off = tn->v4_next++ % TSSIM_V4_SPACE;
		block = off >> 8;
		if ((off & 0xff) == 0 || (off & 0xff) == 255)
			continue;
		for (k = 0; k < TSSIM_NELEM(tssim_reserved_blocks); k++)
			if (tssim_reserved_blocks[k] == block)
				break;
		if (k < TSSIM_NELEM(tssim_reserved_blocks))
			continue;
		snprintf(v4, sizeof v4, "100.%u.%u.%u", 64 + (off >> 16), (off >> 8) & 0xff,
		         off & 0xff);
		if (json_object_get(held, v4) == NULL)
			break;
	}
	for (k = 0; tries < TSSIM_V4_SPACE && k < 1000; k++) {
		unsigned r = simgen_rand(&sim->rng);

		b6[12] = (unsigned char)(r >> 24);
		b6[13] = (unsigned char)(r >> 16);
		b6[14] = (unsigned char)(r >> 8);
		b6[15] = (unsigned char)r;
		inet_ntop(AF_INET6, b6, v6, sizeof v6);
		if (r != 0 && json_object_get(held, v6) == NULL)
			break;
	}
	json_decref(held);
	if (tries == TSSIM_V4_SPACE || k == 1000) {
		*cause = xstrdup("no free address in 100.64.0.0/10");
		return NULL;
	}
	out = json_array();
	json_array_append_new(out, json_string(v4));
	json_array_append_new(out, json_string(v6));
	return out;
}

/* A hostname as a MagicDNS label: "Alice's MacBook Pro" -> "alices-macbook-pro". */
static void
tssim_dns_label(const char *host, char *out, size_t len)
{
	size_t o = 0;

	for (; *host != '\0' && *host != '.' && o + 1 < len; host++) {
		if (isalnum((unsigned char)*host))
			out[o++] = (char)tolower((unsigned char)*host);
		else if ((*host == '-' || *host == ' ' || *host == '_') && o > 0 &&
		         out[o - 1] != '-')
			out[o++] = '-';
	}
	while (o > 0 && out[o - 1] == '-')
		o--;
	if (o == 0)
		o = (size_t)snprintf(out, len, "host");
	out[o] = '\0';
}

/* A device with every field the API shows, in the API's order, for what the caller did not
 * give (new reference). */
static json_t *
tssim_device_defaults(struct tssim *sim, struct tssim_tailnet *tn, json_t *given, char **cause)
{
	json_t *d = json_object(), *o, *addrs = NULL;
	const char *hostname = json_string_value(json_object_get(given, "hostname"));
	const char *name = json_string_value(json_object_get(given, "name"));
	const char *os = json_string_value(json_object_get(given, "os"));
	char host[256], label[64], fqdn[128], buf[128];
	time_t now = time(NULL);
	size_t i, dot;
	int suffix;

	if (json_object_get(given, "addresses") == NULL &&
	    (addrs = tssim_alloc_addresses(sim, tn, cause)) == NULL) {
		json_decref(d);
		return NULL;
	}
	if (hostname != NULL)
		snprintf(host, sizeof host, "%s", hostname);
	else if (name != NULL) {
		dot = strcspn(name, ".");
		snprintf(host, sizeof host, "%.*s", (int)(dot < 200 ? dot : 200), name);
	} else {
		do
			snprintf(host, sizeof host, "host-%lu", ++sim->next_host);
		while (tssim_tailnet_has(tn, "hostname", host));
	}
	/* MagicDNS makes names unique with -1, -2, ... as the control plane does. */
	tssim_dns_label(host, label, sizeof label);
	snprintf(fqdn, sizeof fqdn, "%s" SIMGEN_DNS_SUFFIX, label);
	for (suffix = 1; name == NULL && tssim_tailnet_has(tn, "name", fqdn); suffix++)
		snprintf(fqdn, sizeof fqdn, "%s-%d" SIMGEN_DNS_SUFFIX, label, suffix);

	json_object_set_new(d, "addresses", addrs != NULL ? addrs : json_array());
	do
		snprintf(buf, sizeof buf, "%u%06u", 100000 + simgen_rand(&sim->rng) % 900000,
		         simgen_rand(&sim->rng) % 1000000);
	while (tssim_device_find(sim, NULL, buf, NULL) != NULL);
	json_object_set_new(d, "id", json_string(buf));
	do {
		static const char alpha[] =
		    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

		buf[0] = 'n';
		for (i = 1; i <= 7; i++)
			buf[i] = alpha[simgen_rand(&sim->rng) % 62];
		snprintf(buf + 8, sizeof buf - 8, "CNTRL");
	} while (tssim_device_find(sim, NULL, buf, NULL) != NULL);
	json_object_set_new(d, "nodeId", json_string(buf));
	json_object_set_new(d, "user", json_string("alice@example.com"));
	json_object_set_new(d, "name", json_string(fqdn));
	json_object_set_new(d, "hostname", json_string(host));
	snprintf(buf, sizeof buf, "1.76.6-t%08x%x-g%08x%x", simgen_rand(&sim->rng),
	         simgen_rand(&sim->rng) % 16, simgen_rand(&sim->rng), simgen_rand(&sim->rng) % 16);
	json_object_set_new(d, "clientVersion", json_string(buf));
	json_object_set_new(d, "updateAvailable", json_false());
	json_object_set_new(d, "os", json_string("linux"));
	tssim_time(now, buf, sizeof buf);
	json_object_set_new(d, "created", json_string(buf));
	json_object_set_new(d, "connectedToControl", json_true());
	json_object_set_new(d, "keyExpiryDisabled", json_false());
	tssim_time(now + TSSIM_KEY_DAYS * 86400L, buf, sizeof buf);
	json_object_set_new(d, "expires", json_string(buf));
	json_object_set_new(d, "authorized", json_true());
	json_object_set_new(d, "isExternal", json_false());
	simgen_key(buf, sizeof buf, "mkey:", &sim->rng);
	json_object_set_new(d, "machineKey", json_string(buf));
	simgen_key(buf, sizeof buf, "nodekey:", &sim->rng);
	json_object_set_new(d, "nodeKey", json_string(buf));
	json_object_set_new(d, "blocksIncomingConnections", json_false());
	json_object_set_new(d, "enabledRoutes", json_array());
	json_object_set_new(d, "advertisedRoutes", json_array());
	json_object_set_new(d, "clientConnectivity", simgen_connectivity(&sim->rng));
	json_object_set_new(d, "tags", json_array());
	json_object_set_new(d, "tailnetLockError", json_string(""));
	json_object_set_new(d, "tailnetLockKey", json_string(""));
	json_object_set_new(d, "sshEnabled", json_false());
	o = json_object();
	json_object_set_new(o, "disabled", json_true());
	json_object_set_new(d, "postureIdentity", o);
	json_object_set_new(d, "isEphemeral", json_false());
	if (os == NULL || strcmp(os, "linux") == 0) {
		o = json_object();
		json_object_set_new(o, "name", json_string("debian"));
		json_object_set_new(o, "version", json_string("12"));
		json_object_set_new(o, "codeName", json_string("bookworm"));
		json_object_set_new(d, "distro", o);
	}
	return d;
}

static json_t *
tssim_op_add(struct tssim *sim, json_t *args, char **cause)
{
	json_t *given = json_object_get(args, "device"), *dev, *nid;
	struct tssim_tailnet *tn;
	char buf[32];

	if (given != NULL && !json_is_object(given)) {
		*cause = xstrdup("\"device\" must be an object");
		return NULL;
	}
	if (given == NULL)
		given = json_object();
	else
		json_incref(given);
	nid = json_object_get(given, "nodeId");
	if (nid != NULL && (!json_is_string(nid) || json_string_length(nid) == 0)) {
		*cause = xstrdup("\"nodeId\" must be a non-empty string");
		goto fail;
	}
	if (nid != NULL && tssim_device_find(sim, NULL, json_string_value(nid), NULL) != NULL) {
		*cause = xasprintf("nodeId %s exists", json_string_value(nid));
		goto fail;
	}
	if ((tn = tssim_arg_tailnet(sim, args, true, cause)) == NULL)
		goto fail;
	if ((dev = tssim_device_defaults(sim, tn, given, cause)) == NULL)
		goto fail;
	tssim_merge(dev, given);
	if (json_is_false(json_object_get(dev, "connectedToControl")) &&
	    json_object_get(given, "lastSeen") == NULL) {
		tssim_time(time(NULL), buf, sizeof buf);
		json_object_set_new(dev, "lastSeen", json_string(buf));
	}
	json_array_append(tn->devices, dev);
	tssim_tailnet_changed(tn);
	json_decref(given);
	tssim_audit(tn, args, TSSIM_ACTOR_USER, "NODE",
	            json_string_value(json_object_get(dev, "nodeId")),
	            json_string_value(json_object_get(dev, "name")), NULL, "CREATE", NULL, NULL);
	return tssim_result("device", dev);
fail:
	json_decref(given);
	return NULL;
}

/* The device named by args' "nodeId" (borrowed), in tn. */
static json_t *
tssim_arg_device(struct tssim *sim, struct tssim_tailnet *tn, json_t *args, size_t *pos,
                 char **cause)
{
	const char *id;
	json_t *dev;

	if (tssim_arg_str(args, "nodeId", NULL, &id, cause) != 0)
		return NULL;
	if ((dev = tssim_device_find(sim, tn, id, pos)) == NULL)
		*cause = xasprintf("no device %s in tailnet \"%s\"", id, tn->name);
	return dev;
}

static json_t *
tssim_op_posture_set(struct tssim *sim, json_t *args, char **cause)
{
	struct tssim_tailnet *tn = tssim_arg_tailnet(sim, args, false, cause);
	json_t *dev, *value = json_object_get(args, "value"),
	             *expiry = json_object_get(args, "expiry");
	json_t *p, *attrs, *exp;
	const char *name, *nid;

	if (tn == NULL || (dev = tssim_arg_device(sim, tn, args, NULL, cause)) == NULL ||
	    tssim_arg_str(args, "name", NULL, &name, cause) != 0)
		return NULL;
	if (strchr(name, ':') == NULL || strncmp(name, "node:", 5) == 0) {
		*cause = xstrdup("\"name\" must be namespace:name, and node: attributes are the "
		                 "device's own");
		return NULL;
	}
	if (value != NULL && !json_is_null(value) && !json_is_string(value) &&
	    !json_is_number(value) && !json_is_boolean(value)) {
		*cause = xstrdup("\"value\" must be a string, a number, a boolean or null");
		return NULL;
	}
	if (expiry != NULL && !json_is_null(expiry) && !json_is_string(expiry)) {
		*cause = xstrdup("\"expiry\" must be a time (RFC 3339) or null");
		return NULL;
	}
	nid = json_string_value(json_object_get(dev, "nodeId"));
	if ((p = json_object_get(tn->posture, nid)) == NULL) {
		p = json_pack("{s:{}, s:{}}", "attributes", "expiries");
		json_object_set_new(tn->posture, nid, p);
	}
	attrs = json_object_get(p, "attributes");
	exp = json_object_get(p, "expiries");
	if (value == NULL || json_is_null(value)) {
		json_object_del(attrs, name);
		json_object_del(exp, name);
	} else {
		json_object_set(attrs, name, value);
		if (expiry != NULL && !json_is_null(expiry))
			json_object_set(exp, name, expiry);
		else
			json_object_del(exp, name);
	}
	return tssim_result("posture", json_incref(p));
}

static json_t *
tssim_op_delete(struct tssim *sim, json_t *args, char **cause)
{
	struct tssim_tailnet *tn = tssim_arg_tailnet(sim, args, false, cause);
	json_t *dev;
	size_t pos;

	if (tn == NULL || (dev = tssim_arg_device(sim, tn, args, &pos, cause)) == NULL)
		return NULL;
	json_incref(dev);
	json_array_remove(tn->devices, pos);
	tssim_tailnet_changed(tn);
	tssim_audit(tn, args, TSSIM_ACTOR_USER, "NODE",
	            json_string_value(json_object_get(dev, "nodeId")),
	            json_string_value(json_object_get(dev, "name")), NULL, "DELETE", NULL, NULL);
	return tssim_result("device", dev);
}

static json_t *
tssim_op_set(struct tssim *sim, json_t *args, char **cause)
{
	struct tssim_tailnet *tn = tssim_arg_tailnet(sim, args, false, cause);
	json_t *dev, *fields = json_object_get(args, "fields"), *nid, *before;

	if (tn == NULL || (dev = tssim_arg_device(sim, tn, args, NULL, cause)) == NULL)
		return NULL;
	if (!json_is_object(fields)) {
		*cause = xstrdup("\"fields\" must be an object");
		return NULL;
	}
	nid = json_object_get(fields, "nodeId");
	if (nid != NULL && (!json_is_string(nid) || json_string_length(nid) == 0 ||
	                    tssim_device_find(sim, NULL, json_string_value(nid), NULL) != NULL)) {
		*cause = xstrdup("a new \"nodeId\" must be a string no device has");
		return NULL;
	}
	before = json_deep_copy(dev);
	tssim_merge(dev, fields);
	tssim_tailnet_changed(tn);
	tssim_audit_device(tn, args, before, dev);
	json_decref(before);
	return tssim_result("device", json_incref(dev));
}

static json_t *
tssim_op_churn(struct tssim *sim, json_t *args, char **cause)
{
	struct tssim_tailnet *tn = tssim_arg_tailnet(sim, args, false, cause);
	json_t *dev, *cc, *u, *res;
	bool multi = false;
	char now[32];
	size_t i;

	if (tn == NULL || tssim_arg_bool(args, "multiple_connections", &multi, cause) != 0)
		return NULL;
	tssim_time(time(NULL), now, sizeof now);
	json_array_foreach(tn->devices, i, dev)
	{
		if (json_is_true(json_object_get(dev, "connectedToControl"))) {
			json_object_set_new(dev, "connectedToControl", json_false());
			json_object_set_new(dev, "lastSeen", json_string(now));
		} else {
			json_object_set_new(dev, "connectedToControl", json_true());
			json_object_del(dev, "lastSeen");
		}
		if (json_is_object(cc = json_object_get(dev, "clientConnectivity"))) {
			json_object_set_new(cc, "endpoints", simgen_endpoints(&sim->rng));
			json_object_set_new(cc, "latency", simgen_latency(&sim->rng));
		}
		/* A security signal, not noise: it moves only when the test asks. */
		if (!multi)
			continue;
		if (simgen_rand(&sim->rng) % 4 == 0)
			json_object_set_new(dev, "multipleConnections", json_true());
		else
			json_object_del(dev, "multipleConnections");
	}
	json_array_foreach(tn->users, i, u)
	{
		const char *status = json_string_value(json_object_get(u, "status"));
		json_t *count = json_object_get(u, "deviceCount");
		json_int_t n = json_integer_value(count);

		json_object_set_new(
		    u, "currentlyConnected",
		    json_boolean(!json_is_true(json_object_get(u, "currentlyConnected"))));
		json_object_set_new(u, "lastSeen", json_string(now));
		if (json_is_integer(count))
			json_object_set_new(
			    u, "deviceCount",
			    json_integer(n > 0 && simgen_rand(&sim->rng) % 2 == 0 ? n - 1 : n + 1));
		/* Only time moves a user between active and idle; other statuses are decisions. */
		if (status != NULL && strcmp(status, "active") == 0)
			json_object_set_new(u, "status", json_string("idle"));
		else if (status != NULL && strcmp(status, "idle") == 0)
			json_object_set_new(u, "status", json_string("active"));
	}
	tssim_tailnet_changed(tn);
	res = tssim_result("count", json_integer((json_int_t)json_array_size(tn->devices)));
	json_object_set_new(res, "users", json_integer((json_int_t)json_array_size(tn->users)));
	return res;
}

static int
tssim_arg_endpoint(json_t *args, bool required, int *ep, char **cause)
{
	const char *name;
	int i;

	if (!required && json_object_get(args, "endpoint") == NULL) {
		*ep = -1;
		return 0;
	}
	if (tssim_arg_str(args, "endpoint", NULL, &name, cause) != 0)
		return -1;
	for (i = 0; i < TSSIM_EP_COUNT; i++)
		if (strcmp(tssim_ep_names[i], name) == 0) {
			*ep = i;
			return 0;
		}
	*cause = xasprintf("unknown endpoint \"%s\"", name);
	return -1;
}

static json_t *
tssim_fault_json(const struct tssim_fault *f, int ep)
{
	json_t *o = json_object();

	json_object_set_new(o, "endpoint", json_string(tssim_ep_names[ep]));
	if (f->tailnet != NULL)
		json_object_set_new(o, "tailnet", json_string(f->tailnet));
	json_object_set_new(o, "count", json_integer(f->count));
	if (f->status != 0)
		json_object_set_new(o, "status", json_integer(f->status));
	if (f->message != NULL)
		json_object_set_new(o, "message", json_string(f->message));
	if (f->retry_after >= 0)
		json_object_set_new(o, "retry_after", json_integer(f->retry_after));
	if (f->delay_ms > 0)
		json_object_set_new(o, "delay_ms", json_integer(f->delay_ms));
	if (f->truncate)
		json_object_set_new(o, "truncate", json_true());
	if (f->invalid)
		json_object_set_new(o, "invalid", json_true());
	if (f->oversize > 0)
		json_object_set_new(o, "oversize", json_integer((json_int_t)f->oversize));
	if (f->chunked)
		json_object_set_new(o, "chunked", json_true());
	if (f->path != NULL)
		json_object_set_new(o, "path", json_string(f->path));
	if (f->body != NULL)
		json_object_set_new(o, "body", json_string(f->body));
	if (f->omit > 0)
		json_object_set_new(o, "omit", json_integer(f->omit));
	if (f->omit_percent > 0)
		json_object_set_new(o, "omit_percent", json_integer(f->omit_percent));
	return o;
}

static json_t *
tssim_op_fault(struct tssim *sim, json_t *args, char **cause)
{
	struct tssim_fault f;
	long long status, retry, delay, oversize, count, omit, omit_percent;
	const char *tailnet = NULL, *message = NULL, *path = NULL, *body = NULL;
	int ep;

	memset(&f, 0, sizeof f);
	if (tssim_arg_endpoint(args, true, &ep, cause) != 0 ||
	    (json_object_get(args, "path") != NULL &&
	     tssim_arg_str(args, "path", NULL, &path, cause) != 0) ||
	    (json_object_get(args, "body") != NULL &&
	     tssim_arg_str(args, "body", NULL, &body, cause) != 0) ||
	    (json_object_get(args, "tailnet") != NULL &&
	     tssim_arg_str(args, "tailnet", NULL, &tailnet, cause) != 0) ||
	    (json_object_get(args, "message") != NULL &&
	     tssim_arg_str(args, "message", NULL, &message, cause) != 0) ||
	    tssim_arg_int(args, "status", 0, 0, 599, &status, cause) != 0 ||
	    tssim_arg_int(args, "retry_after", -1, 0, 86400, &retry, cause) != 0 ||
	    tssim_arg_int(args, "delay_ms", 0, 0, TSSIM_MAX_DELAY_MS, &delay, cause) != 0 ||
	    tssim_arg_int(args, "oversize", 0, 0, TSSIM_MAX_OVERSIZE, &oversize, cause) != 0 ||
	    tssim_arg_int(args, "count", 1, -1, INT32_MAX, &count, cause) != 0 ||
	    tssim_arg_int(args, "omit", 0, 0, INT32_MAX, &omit, cause) != 0 ||
	    tssim_arg_int(args, "omit_percent", 0, 0, 100, &omit_percent, cause) != 0 ||
	    tssim_arg_bool(args, "truncate", &f.truncate, cause) != 0 ||
	    tssim_arg_bool(args, "invalid", &f.invalid, cause) != 0 ||
	    tssim_arg_bool(args, "chunked", &f.chunked, cause) != 0)
		return NULL;
	if (status != 0 && status < 100) {
		*cause = xstrdup("\"status\" must be an HTTP status (100-599)");
		return NULL;
	}
	if (count == 0) {
		*cause = xstrdup("\"count\" must be -1 or at least 1");
		return NULL;
	}
	if (status == 0 && delay == 0 && oversize == 0 && !f.truncate && !f.invalid &&
	    body == NULL && omit == 0 && omit_percent == 0) {
		*cause =
		    xstrdup("a fault needs status, delay_ms, truncate, invalid, oversize, body, "
		            "omit or omit_percent");
		return NULL;
	}
	f.omit = (long)omit;
	f.omit_percent = (long)omit_percent;
	f.count = (int)count;
	f.status = (int)status;
	f.retry_after = (int)retry;
	f.delay_ms = (long)delay;
	f.oversize = (size_t)oversize;
	f.tailnet = tailnet != NULL ? xstrdup(tailnet) : NULL;
	f.message = message != NULL ? xstrdup(message) : NULL;
	f.path = path != NULL && *path != '\0' ? xstrdup(path) : NULL;
	f.body = body != NULL ? xstrdup(body) : NULL;
	tssim_fault_clear(&sim->faults[ep]);
	sim->faults[ep] = f;
	return tssim_result("fault", tssim_fault_json(&f, ep));
}

static json_t *
tssim_op_clear_faults(struct tssim *sim, json_t *args, char **cause)
{
	int ep, i;

	if (tssim_arg_endpoint(args, false, &ep, cause) != 0)
		return NULL;
	for (i = 0; i < TSSIM_EP_COUNT; i++)
		if (ep < 0 || ep == i)
			tssim_fault_clear(&sim->faults[i]);
	return json_object();
}

static json_t *
tssim_op_requests(struct tssim *sim, json_t *args, char **cause)
{
	json_t *counts = json_object(), *faults = json_array(), *held = json_object(), *res;
	bool reset;
	int i;

	if (tssim_arg_bool(args, "reset", &reset, cause) != 0) {
		json_decref(counts);
		json_decref(faults);
		json_decref(held);
		return NULL;
	}
	for (i = 0; i < TSSIM_EP_COUNT; i++) {
		json_object_set_new(counts, tssim_ep_names[i],
		                    json_integer((json_int_t)sim->counts[i]));
		json_object_set_new(held, tssim_ep_names[i],
		                    json_integer((json_int_t)sim->held_max[i]));
		if (reset)
			sim->held_max[i] = sim->held[i];
		if (sim->faults[i].count != 0)
			json_array_append_new(faults, tssim_fault_json(&sim->faults[i], i));
		if (reset)
			sim->counts[i] = 0;
	}
	res = tssim_result("counts", counts);
	json_object_set_new(res, "faults", faults);
	json_object_set_new(res, "max_held", held);
	json_object_set_new(res, "tokens_issued", json_integer((json_int_t)sim->oauth_issued));
	if (reset)
		sim->oauth_issued = 0;
	return res;
}

static json_t *
tssim_op_generate(struct tssim *sim, json_t *args, char **cause)
{
	struct tssim_tailnet *tn;
	long long count, seed;
	json_t *devices;

	if (tssim_arg_int(args, "count", -1, 0, (long long)SIMGEN_MAX_DEVICES, &count, cause) !=
	        0 ||
	    tssim_arg_int(args, "seed", 1, 0, UINT32_MAX, &seed, cause) != 0)
		return NULL;
	if (count < 0) {
		*cause = xstrdup("\"count\" is required");
		return NULL;
	}
	if ((tn = tssim_arg_tailnet(sim, args, true, cause)) == NULL)
		return NULL;
	/* The old set goes first: its memory is then reused rather than faulted in anew. */
	json_decref(tn->devices);
	tn->devices = json_array();
	tssim_tailnet_changed(tn);
	if ((devices = simgen_devices((size_t)count, (unsigned)seed)) == NULL) {
		*cause = xstrdup("cannot generate that many devices");
		return NULL;
	}
	json_decref(tn->devices);
	tn->devices = devices;
	tssim_tailnet_changed(tn);
	return tssim_result("count", json_integer(count));
}

static json_t *
tssim_op_get(struct tssim *sim, json_t *args, char **cause)
{
	struct tssim_tailnet *tn = tssim_arg_tailnet(sim, args, false, cause);
	json_t *dev, *res;

	if (tn == NULL)
		return NULL;
	if (json_object_get(args, "nodeId") == NULL) {
		res = tssim_result("devices", json_incref(tn->devices));
		json_object_set(res, "keys", tn->keys);
		json_object_set_new(res, "keys_config", tssim_keys_options_json(tn));
		json_object_set(res, "users", tn->users);
		json_object_set_new(res, "acl",
		                    json_pack("{s:s, s:s}", "text", tn->acl, "etag", tn->etag));
		json_object_set(res, "dns", tn->dns);
		json_object_set(res, "settings", tn->settings);
		json_object_set(res, "webhooks", tn->webhooks);
		return res;
	}
	if ((dev = tssim_arg_device(sim, tn, args, NULL, cause)) == NULL)
		return NULL;
	return tssim_result("device", json_incref(dev));
}

static json_t *
tssim_op_oauth(struct tssim *sim, json_t *args, char **cause)
{
	json_t *o;
	long long life;
	struct tssim_token *t;
	int64_t now = tssim_now_ms();
	unsigned long live = 0;
	const char *scope;

	if (sim->oauth_id == NULL) {
		*cause = xstrdup("no OAuth client: give the scenario an \"oauth\" block or start "
		                 "with --oauth-client-id and --oauth-client-secret");
		return NULL;
	}
	if (tssim_arg_int(args, "expires_in", sim->oauth_life, 1, TSSIM_OAUTH_MAX_LIFE, &life,
	                  cause) != 0 ||
	    tssim_arg_str(args, "scope", sim->oauth_scope, &scope, cause) != 0)
		return NULL;
	sim->oauth_life = (long)life;
	if (scope != sim->oauth_scope) {
		char *copy = xstrdup(scope);

		free(sim->oauth_scope);
		sim->oauth_scope = copy;
	}
	TAILQ_FOREACH(t, &sim->tokens, entry)
	{
		if (now < t->expires_ms)
			live++;
	}
	/* Never the secret. */
	o = json_object();
	json_object_set_new(o, "client_id", json_string(sim->oauth_id));
	json_object_set_new(o, "scope", json_string(sim->oauth_scope));
	json_object_set_new(o, "expires_in", json_integer(sim->oauth_life));
	json_object_set_new(o, "live", json_integer((json_int_t)live));
	return tssim_result("oauth", o);
}

static json_t *
tssim_op_oauth_issue(struct tssim *sim, json_t *args, char **cause)
{
	json_t *scopes, *res;

	if (sim->oauth_id == NULL) {
		*cause = xstrdup("no OAuth client");
		return NULL;
	}
	scopes = tssim_scope_list(sim->oauth_scope);
	res = tssim_result("access_token", json_string(tssim_oauth_issue(sim, scopes)));
	json_decref(scopes);
	return res;
}

static json_t *
tssim_op_oauth_revoke(struct tssim *sim, json_t *args, char **cause)
{
	return tssim_result("revoked", json_integer((json_int_t)tssim_oauth_drop(sim, true)));
}

/* The item named by args' id member (borrowed). */
static json_t *
tssim_coll_arg(struct tssim_tailnet *tn, const struct tssim_coll *co, json_t *args, size_t *pos,
               char **cause)
{
	const char *id;
	json_t *item;

	if (tssim_arg_str(args, co->id, NULL, &id, cause) != 0)
		return NULL;
	if ((item = tssim_coll_find(tn, co, id, pos)) == NULL)
		*cause = xasprintf("no %s %s in tailnet \"%s\"", co->what, id, tn->name);
	return item;
}

/* Adds args[co->what] laid over the defaults (null leaves a default out). */
static json_t *
tssim_coll_add(struct tssim *sim, json_t *args, const struct tssim_coll *co, char **cause)
{
	json_t *given = json_object_get(args, co->what), *item, *id;
	struct tssim_tailnet *tn;
	char buf[32];

	if (given != NULL && !json_is_object(given)) {
		*cause = xasprintf("\"%s\" must be an object", co->what);
		return NULL;
	}
	if ((tn = tssim_arg_tailnet(sim, args, false, cause)) == NULL)
		return NULL;
	if ((id = json_object_get(given, co->id)) != NULL && !json_is_string(id)) {
		*cause = xasprintf("\"%s\" must be a non-empty string", co->id);
		return NULL;
	}
	if (id == NULL)
		tssim_coll_new_id(sim, tn, co, buf, sizeof buf);
	item = co->defaults(sim, tn, given, id != NULL ? json_string_value(id) : buf);
	if (given != NULL)
		tssim_merge(item, given);
	if (tssim_coll_check(tn, co, item, NULL, cause) != 0) {
		json_decref(item);
		return NULL;
	}
	json_array_append(*tssim_coll_items(tn, co), item);
	return tssim_result(co->what, item);
}

/* Merges fields into an item (null removes a member), as a whole or not at all. */
static json_t *
tssim_coll_set(struct tssim *sim, json_t *args, const struct tssim_coll *co, char **cause)
{
	struct tssim_tailnet *tn = tssim_arg_tailnet(sim, args, false, cause);
	json_t *fields = json_object_get(args, "fields"), *item, *next;
	size_t pos;

	if (tn == NULL || (item = tssim_coll_arg(tn, co, args, &pos, cause)) == NULL)
		return NULL;
	if (!json_is_object(fields)) {
		*cause = xstrdup("\"fields\" must be an object");
		return NULL;
	}
	next = json_deep_copy(item);
	tssim_merge(next, fields);
	if (co->touch != NULL && json_object_get(fields, co->touch) == NULL)
		json_object_set_new(next, co->touch, tssim_time_json(time(NULL)));
	if (tssim_coll_check(tn, co, next, item, cause) != 0) {
		json_decref(next);
		return NULL;
	}
	json_array_set(*tssim_coll_items(tn, co), pos, next);
	return tssim_result(co->what, next);
}

static json_t *
tssim_coll_delete(struct tssim *sim, json_t *args, const struct tssim_coll *co, char **cause)
{
	struct tssim_tailnet *tn = tssim_arg_tailnet(sim, args, false, cause);
	json_t *item;
	size_t pos;

	if (tn == NULL || (item = tssim_coll_arg(tn, co, args, &pos, cause)) == NULL)
		return NULL;
	json_incref(item);
	json_array_remove(*tssim_coll_items(tn, co), pos);
	return tssim_result(co->what, item);
}

/* Logs what a collection op did (RES: its result, {what: item}): ACTION on the item, or, with
 * FIELD, an UPDATE of PROPERTY when the item's FIELD differs from BEFORE's. */
static json_t *
tssim_audit_coll(struct tssim *sim, json_t *args, const struct tssim_coll *co, const char *ttype,
                 const char *action, const char *field, const char *property, json_t *before,
                 json_t *res)
{
	struct tssim_tailnet *tn =
	    tssim_tailnet_find(sim, json_string_value(json_object_get(args, "tailnet")) ?: "-");
	json_t *item = json_object_get(res, co->what), *o, *n;
	const char *id = json_string_value(json_object_get(item, co->id));
	const char *name = json_string_value(json_object_get(item, "loginName"))
	                       ?: json_string_value(json_object_get(item, "description"));

	if (res == NULL || tn == NULL)
		return res;
	if (field == NULL) {
		tssim_audit(tn, args, TSSIM_ACTOR_USER, ttype, id, name, NULL, action, NULL, NULL);
		return res;
	}
	o = json_object_get(before, field);
	n = json_object_get(item, field);
	if (!json_equal(o, n) && (o != NULL || n != NULL))
		tssim_audit(tn, args, TSSIM_ACTOR_USER, ttype, id, name, property, "UPDATE", o, n);
	return res;
}

/* The item the op names, as it is before the op changes it (new reference), or NULL. */
static json_t *
tssim_coll_before(struct tssim *sim, json_t *args, const struct tssim_coll *co)
{
	struct tssim_tailnet *tn =
	    tssim_tailnet_find(sim, json_string_value(json_object_get(args, "tailnet")) ?: "-");
	const char *id = json_string_value(json_object_get(args, co->id));
	json_t *item = tn != NULL && id != NULL ? tssim_coll_find(tn, co, id, NULL) : NULL;

	return item != NULL ? json_deep_copy(item) : NULL;
}

static json_t *
tssim_op_key_add(struct tssim *sim, json_t *args, char **cause)
{
	return tssim_audit_coll(sim, args, &tssim_coll_keys, "API_KEY", "CREATE", NULL, NULL, NULL,
	                        tssim_coll_add(sim, args, &tssim_coll_keys, cause));
}

static json_t *
tssim_op_key_set(struct tssim *sim, json_t *args, char **cause)
{
	return tssim_coll_set(sim, args, &tssim_coll_keys, cause);
}

static json_t *
tssim_op_key_revoke(struct tssim *sim, json_t *args, char **cause)
{
	struct tssim_tailnet *tn = tssim_arg_tailnet(sim, args, false, cause);
	json_t *key;
	time_t now = time(NULL);

	if (tn == NULL || (key = tssim_coll_arg(tn, &tssim_coll_keys, args, NULL, cause)) == NULL)
		return NULL;
	if (json_object_get(key, "revoked") != NULL) {
		*cause = xasprintf("key %s is revoked already",
		                   json_string_value(json_object_get(key, "id")));
		return NULL;
	}
	json_object_set_new(key, "updated", tssim_time_json(now));
	json_object_set_new(key, "revoked", tssim_time_json(now));
	json_object_set_new(key, "invalid", json_true());
	tssim_audit(
	    tn, args, TSSIM_ACTOR_USER, "API_KEY", json_string_value(json_object_get(key, "id")),
	    json_string_value(json_object_get(key, "description")), NULL, "REVOKE", NULL, NULL);
	return tssim_result("key", json_incref(key));
}

/* Expired a second ago: out of the lists from this very request on. */
static json_t *
tssim_op_key_expire(struct tssim *sim, json_t *args, char **cause)
{
	struct tssim_tailnet *tn = tssim_arg_tailnet(sim, args, false, cause);
	json_t *key;

	if (tn == NULL || (key = tssim_coll_arg(tn, &tssim_coll_keys, args, NULL, cause)) == NULL)
		return NULL;
	json_object_set_new(key, "expires", tssim_time_json(time(NULL) - 1));
	return tssim_result("key", json_incref(key));
}

static json_t *
tssim_op_keys_config(struct tssim *sim, json_t *args, char **cause)
{
	struct tssim_tailnet *tn = tssim_arg_tailnet(sim, args, false, cause);

	if (tn == NULL || tssim_keys_options(tn, args, cause) != 0)
		return NULL;
	return tssim_result("keys_config", tssim_keys_options_json(tn));
}

static json_t *
tssim_op_null_lists(struct tssim *sim, json_t *args, char **cause)
{
	struct tssim_tailnet *tn = tssim_arg_tailnet(sim, args, false, cause);
	bool on = false;

	if (tn == NULL || tssim_arg_bool(args, "on", &on, cause) != 0)
		return NULL;
	tn->null_lists = on;
	tssim_tailnet_changed(tn);
	return tssim_result("null_lists", json_boolean(on));
}

static json_t *
tssim_op_legacy_dns(struct tssim *sim, json_t *args, char **cause)
{
	struct tssim_tailnet *tn = tssim_arg_tailnet(sim, args, false, cause);
	bool on = false;

	if (tn == NULL || tssim_arg_bool(args, "on", &on, cause) != 0)
		return NULL;
	tn->no_dns_configuration = on;
	return tssim_result("legacy_dns", json_boolean(on));
}

static json_t *
tssim_op_user_add(struct tssim *sim, json_t *args, char **cause)
{
	return tssim_audit_coll(sim, args, &tssim_coll_users, "USER", "CREATE", NULL, NULL, NULL,
	                        tssim_coll_add(sim, args, &tssim_coll_users, cause));
}

static json_t *
tssim_op_user_delete(struct tssim *sim, json_t *args, char **cause)
{
	return tssim_audit_coll(sim, args, &tssim_coll_users, "USER", "DELETE", NULL, NULL, NULL,
	                        tssim_coll_delete(sim, args, &tssim_coll_users, cause));
}

static json_t *
tssim_op_user_set(struct tssim *sim, json_t *args, char **cause)
{
	json_t *before = tssim_coll_before(sim, args, &tssim_coll_users), *res;

	res = tssim_audit_coll(sim, args, &tssim_coll_users, "USER", NULL, "role", "USER_ROLE",
	                       before, tssim_coll_set(sim, args, &tssim_coll_users, cause));
	json_decref(before);
	return res;
}

static json_t *
tssim_op_acl_set(struct tssim *sim, json_t *args, char **cause)
{
	struct tssim_tailnet *tn = tssim_arg_tailnet(sim, args, false, cause);
	const char *text;

	if (tn == NULL || tssim_arg_str(args, "hujson", NULL, &text, cause) != 0 ||
	    tssim_acl_store(tn, text, cause) != 0)
		return NULL;
	tssim_audit(tn, args, TSSIM_ACTOR_USER, "TAILNET",
	            strcmp(tn->name, "-") == 0 ? TSSIM_DEFAULT_TAILNET_ID : tn->name, tn->name,
	            "ACL", "UPDATE", NULL, NULL);
	return tssim_result("etag", json_string(tn->etag));
}

/* Replaces the members given; emptying the nameservers turns MagicDNS off unless magicDNS is
 * given too, as the API does. */
static json_t *
tssim_op_dns_set(struct tssim *sim, json_t *args, char **cause)
{
	struct tssim_tailnet *tn = tssim_arg_tailnet(sim, args, false, cause);
	json_t *next;

	if (tn == NULL || (next = tssim_dns_apply(tn->dns, args, true, cause)) == NULL)
		return NULL;
	if (json_array_size(json_object_get(args, "nameservers")) == 0 &&
	    json_is_array(json_object_get(args, "nameservers")) &&
	    json_object_get(args, "magicDNS") == NULL)
		json_object_set_new(next, "magicDNS", json_false());
	tssim_audit(tn, args, TSSIM_ACTOR_USER, "TAILNET",
	            strcmp(tn->name, "-") == 0 ? TSSIM_DEFAULT_TAILNET_ID : tn->name, tn->name,
	            "DNS_CONFIG", "UPDATE", tn->dns, next);
	json_decref(tn->dns);
	tn->dns = next;
	return tssim_result("dns", json_incref(next));
}

/* A setting's audit log property: its name in upper snake case ("devicesApprovalOn" ->
 * "DEVICES_APPROVAL_ON"). A guess, as tsinv's attribution makes it: the reference payloads show
 * no settings entry. */
static void
tssim_settings_property(const char *name, char *buf, size_t len)
{
	size_t n = 0;

	for (; *name != '\0' && n + 2 < len; name++) {
		if (*name >= 'A' && *name <= 'Z' && n > 0)
			buf[n++] = '_';
		buf[n++] = (char)(*name >= 'a' && *name <= 'z' ? *name - 'a' + 'A' : *name);
	}
	buf[n] = '\0';
}

/* Unlike the other sets, null is stored: it is how the API withholds a setting. Each setting
 * that changes logs a TAILNET entry with the setting's property. */
static json_t *
tssim_op_settings_set(struct tssim *sim, json_t *args, char **cause)
{
	struct tssim_tailnet *tn = tssim_arg_tailnet(sim, args, false, cause);
	json_t *fields = json_object_get(args, "fields"), *v;
	const char *name;
	char prop[64];

	if (tn == NULL)
		return NULL;
	if (!json_is_object(fields)) {
		*cause = xstrdup("\"fields\" must be an object");
		return NULL;
	}
	if (tssim_fields_check(tssim_settings_fields, TSSIM_NELEM(tssim_settings_fields), fields,
	                       cause) != 0)
		return NULL;
	json_object_foreach(fields, name, v)
	{
		json_t *o = json_object_get(tn->settings, name);

		if (json_equal(o, v))
			continue;
		tssim_settings_property(name, prop, sizeof prop);
		tssim_audit(tn, args, TSSIM_ACTOR_USER, "TAILNET",
		            strcmp(tn->name, "-") == 0 ? TSSIM_DEFAULT_TAILNET_ID : tn->name,
		            tn->name, prop, "UPDATE", o, v);
	}
	fields = json_deep_copy(fields);
	json_object_update(tn->settings, fields);
	json_decref(fields);
	return tssim_result("settings", json_incref(tn->settings));
}

static json_t *
tssim_op_webhook_add(struct tssim *sim, json_t *args, char **cause)
{
	return tssim_audit_coll(sim, args, &tssim_coll_webhooks, "WEBHOOK_ENDPOINT", "CREATE", NULL,
	                        NULL, NULL, tssim_coll_add(sim, args, &tssim_coll_webhooks, cause));
}

static json_t *
tssim_op_webhook_delete(struct tssim *sim, json_t *args, char **cause)
{
	return tssim_audit_coll(sim, args, &tssim_coll_webhooks, "WEBHOOK_ENDPOINT", "DELETE", NULL,
	                        NULL, NULL,
	                        tssim_coll_delete(sim, args, &tssim_coll_webhooks, cause));
}

/* A change of a webhook's URL or subscriptions logs an UPDATE (the properties are a guess: the
 * reference shows only WEBHOOK_ENDPOINT.CREATE). */
static json_t *
tssim_op_webhook_set(struct tssim *sim, json_t *args, char **cause)
{
	json_t *before = tssim_coll_before(sim, args, &tssim_coll_webhooks), *res;

	res = tssim_coll_set(sim, args, &tssim_coll_webhooks, cause);
	tssim_audit_coll(sim, args, &tssim_coll_webhooks, "WEBHOOK_ENDPOINT", NULL, "endpointUrl",
	                 "ENDPOINT_URL", before, res);
	tssim_audit_coll(sim, args, &tssim_coll_webhooks, "WEBHOOK_ENDPOINT", NULL, "subscriptions",
	                 "SUBSCRIPTIONS", before, res);
	json_decref(before);
	return res;
}

static json_t *
tssim_op_date_skew(struct tssim *sim, json_t *args, char **cause)
{
	long long s;

	if (tssim_arg_int(args, "seconds", 0, -86400LL * 365, 86400LL * 365, &s, cause) != 0)
		return NULL;
	sim->date_skew = s;
	return tssim_result("date_skew", json_integer(s));
}

static json_t *
tssim_op_audit_add(struct tssim *sim, json_t *args, char **cause)
{
	struct tssim_tailnet *tn = tssim_arg_tailnet(sim, args, false, cause);

	if (tn == NULL || simaudit_add(&tn->audit, json_object_get(args, "entry"), cause) != 0)
		return NULL;
	return tssim_result("entries", json_integer((json_int_t)tn->audit.n));
}

static json_t *
tssim_op_audit_generate(struct tssim *sim, json_t *args, char **cause)
{
	struct tssim_tailnet *tn = tssim_arg_tailnet(sim, args, false, cause);
	long long count, secs;
	int64_t now = simaudit_now();

	if (tn == NULL || tssim_arg_int(args, "count", 0, 1, 10000000, &count, cause) != 0 ||
	    tssim_arg_int(args, "seconds", 60, 1, 86400LL * 90, &secs, cause) != 0)
		return NULL;
	if (count == 0) {
		*cause = xstrdup("\"count\" is required");
		return NULL;
	}
	return tssim_result(
	    "entries", json_integer((json_int_t)simaudit_generate(
	                   &tn->audit, (size_t)count, now - secs * 1000000000, now, tn->devices)));
}

static json_t *
tssim_op_audit_release(struct tssim *sim, json_t *args, char **cause)
{
	struct tssim_tailnet *tn = tssim_arg_tailnet(sim, args, false, cause);

	if (tn == NULL)
		return NULL;
	return tssim_result("released", json_integer((json_int_t)simaudit_release(&tn->audit)));
}

static json_t *
tssim_op_help(struct tssim *sim, json_t *args, char **cause)
{
	json_t *ops = json_array(), *eps = json_array(), *res, *o;
	size_t i;

	for (i = 0; i < TSSIM_NELEM(tssim_ops); i++) {
		o = json_object();
		json_object_set_new(o, "op", json_string(tssim_ops[i].name));
		json_object_set_new(o, "help", json_string(tssim_ops[i].help));
		json_array_append_new(ops, o);
	}
	for (i = 0; i < TSSIM_EP_COUNT; i++)
		json_array_append_new(eps, json_string(tssim_ep_names[i]));
	res = tssim_result("ops", ops);
	json_object_set_new(res, "endpoints", eps);
	return res;
}

/* --- the server --- */

static void
tssim_request_cb(struct evhttp_request *req, void *arg)
{
	struct tssim *sim = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	char *args[TSSIM_MAX_ARGS] = {NULL};
	size_t i;

	if (path == NULL || *path == '\0')
		path = "/";
	if (strcmp(path, "/sim/control") == 0) {
		tssim_control(sim, req);
		return;
	}
	for (i = 0; i < TSSIM_NELEM(tssim_routes); i++)
		if (tssim_route_match(tssim_routes[i].pattern, path, args)) {
			tssim_api(sim, req, &tssim_routes[i], args);
			return;
		}
	tssim_send_message(sim, req, 404, NULL, -1);
}

static void
tssim_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct tssim *sim = arg;

	log_info("signal %d: exiting", (int)sig);
	event_base_loopbreak(sim->base);
}

/* The scenario's "oauth" block: the one OAuth client. Error messages never quote a value. */
static int
tssim_load_oauth(struct tssim *sim, const char *path, json_t *o, char **cause)
{
	const char *id, *secret, *scope;
	long long life;
	char *why = NULL;

	if (!json_is_object(o)) {
		*cause = xasprintf("%s: \"oauth\" must be an object", path);
		return -1;
	}
	if (tssim_arg_str(o, "client_id", NULL, &id, &why) != 0 ||
	    tssim_arg_str(o, "client_secret", NULL, &secret, &why) != 0 ||
	    tssim_arg_str(o, "scope", TSSIM_OAUTH_SCOPE, &scope, &why) != 0 ||
	    tssim_arg_int(o, "expires_in", TSSIM_OAUTH_LIFE, 1, TSSIM_OAUTH_MAX_LIFE, &life,
	                  &why) != 0) {
		*cause = xasprintf("%s: oauth: %s", path, why);
		free(why);
		return -1;
	}
	free(sim->oauth_id);
	free(sim->oauth_secret);
	free(sim->oauth_scope);
	sim->oauth_id = xstrdup(id);
	sim->oauth_secret = xstrdup(secret);
	sim->oauth_scope = xstrdup(scope);
	sim->oauth_life = (long)life;
	return 0;
}

static int
tssim_load_scenario(struct tssim *sim, const char *path, bool keep_token, char **cause)
{
	json_error_t err;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &err), *tailnets, *t, *devs, *d;
	json_t *seen = NULL;
	struct tssim_tailnet *tn;
	const char *name;
	char *why = NULL;
	size_t i;

	if (root == NULL) {
		if (err.line > 0)
			*cause = xasprintf("%s:%d: %s", path, err.line, err.text);
		else
			*cause = xstrdup(err.text);
		return -1;
	}
	if (!json_is_object(root) ||
	    !json_is_object(tailnets = json_object_get(root, "tailnets"))) {
		*cause = xasprintf("%s: expected {\"tailnets\": {...}}", path);
		goto fail;
	}
	if (json_object_get(root, "token") != NULL) {
		if (!json_is_string(json_object_get(root, "token"))) {
			*cause = xasprintf("%s: \"token\" must be a string", path);
			goto fail;
		}
		if (!keep_token) {
			free(sim->token);
			sim->token = xstrdup(json_string_value(json_object_get(root, "token")));
		}
	}
	if (json_object_get(root, "oauth") != NULL &&
	    tssim_load_oauth(sim, path, json_object_get(root, "oauth"), cause) != 0)
		goto fail;
	seen = json_object();
	json_object_foreach(tailnets, name, t)
	{
		devs = json_object_get(t, "devices");
		if (!json_is_object(t) || (devs != NULL && !json_is_array(devs))) {
			*cause = xasprintf("%s: tailnet \"%s\": expected {\"devices\": [...]}",
			                   path, name);
			goto fail;
		}
		json_array_foreach(devs, i, d)
		{
			const char *nid = json_string_value(json_object_get(d, "nodeId"));

			if (!json_is_object(d) || nid == NULL || *nid == '\0') {
				*cause = xasprintf("%s: tailnet \"%s\": device %zu has no nodeId",
				                   path, name, i);
				goto fail;
			}
			if (json_object_get(seen, nid) != NULL) {
				*cause = xasprintf("%s: nodeId %s appears twice", path, nid);
				goto fail;
			}
			json_object_set_new(seen, nid, json_true());
		}
		if (tssim_tailnet_find(sim, name) != NULL) {
			*cause = xasprintf("%s: tailnet \"%s\" given twice", path, name);
			goto fail;
		}
		tn = tssim_tailnet_add(sim, name,
		                       devs != NULL ? json_deep_copy(devs) : json_array());
		if (tssim_tailnet_load(sim, tn, root, t, path, &why) != 0) {
			*cause = xasprintf("%s: tailnet \"%s\": %s", path, name, why);
			free(why);
			goto fail;
		}
	}
	json_decref(seen);
	json_decref(root);
	return 0;
fail:
	json_decref(seen);
	json_decref(root);
	return -1;
}

/* Written whole then renamed, so that a test waiting for the file never reads half a number. */
static int
tssim_write_port_file(const char *path, int port, char **cause)
{
	char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid()), line[16];
	int fd, len = snprintf(line, sizeof line, "%d\n", port);

	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) == -1 ||
	    write(fd, line, (size_t)len) != len || close(fd) != 0 || rename(tmp, path) != 0) {
		*cause = xasprintf("%s: %s", path, strerror(errno));
		if (fd != -1)
			unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	return 0;
}

static int
tssim_bound_port(struct evhttp_bound_socket *bound)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;

	if (getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&ss, &len) != 0)
		return -1;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return -1;
}

static void
tssim_free(struct tssim *sim)
{
	struct tssim_tailnet *tn;
	struct tssim_call *c;
	int i;

	/* Held requests are answered so that evhttp_free can release them with their connections.
	 */
	while ((c = TAILQ_FIRST(&sim->pending)) != NULL) {
		TAILQ_REMOVE(&sim->pending, c, entry);
		tssim_send_message(sim, c->req, 503, "shutting down", -1);
		tssim_call_free(c);
	}
	if (sim->http != NULL)
		evhttp_free(sim->http);
	while ((tn = TAILQ_FIRST(&sim->tailnets)) != NULL) {
		TAILQ_REMOVE(&sim->tailnets, tn, entry);
		tssim_tailnet_free(tn);
	}
	for (i = 0; i < TSSIM_EP_COUNT; i++)
		tssim_fault_clear(&sim->faults[i]);
	if (sim->sigterm != NULL)
		event_free(sim->sigterm);
	if (sim->sigint != NULL)
		event_free(sim->sigint);
	if (sim->base != NULL)
		event_base_free(sim->base);
	tssim_oauth_drop(sim, true);
	free(sim->token);
	free(sim->oauth_id);
	free(sim->oauth_secret);
	free(sim->oauth_scope);
}

/* --- tssim ctl --- */

static size_t
tssim_ctl_write_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct evbuffer *out = arg;

	return evbuffer_add(out, ptr, size * nmemb) == 0 ? size * nmemb : 0;
}

static char *
tssim_ctl_read_port(const char *path)
{
	char line[32];
	unsigned long port;
	FILE *f = fopen(path, "r");

	if (f == NULL) {
		fprintf(stderr, "tssim ctl: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	if (fgets(line, sizeof line, f) == NULL)
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\n")] = '\0';
	if (tssim_parse_ulong(line, 65535, &port) != 0 || port == 0) {
		fprintf(stderr, "tssim ctl: %s: no port number\n", path);
		return NULL;
	}
	return xasprintf("http://127.0.0.1:%lu", port);
}

/* tssim ctl URL JSON | tssim ctl --port-file FILE JSON; JSON "-" is read from stdin. */
static int
tssim_ctl_main(int argc, char **argv)
{
	struct evbuffer *req = evbuffer_new(), *resp = evbuffer_new();
	struct curl_slist *hdrs = NULL;
	char *base = NULL, *url = NULL, errbuf[CURL_ERROR_SIZE] = "";
	const char *json, *body;
	json_t *doc = NULL;
	CURL *h = NULL;
	CURLcode rc;
	long code = 0;
	int ret = 1;

	if (argc == 3 && strncmp(argv[1], "--", 2) != 0)
		base = xstrdup(argv[1]);
	else if (argc == 4 && strcmp(argv[1], "--port-file") == 0) {
		if ((base = tssim_ctl_read_port(argv[2])) == NULL)
			goto out;
	} else {
		fprintf(stderr,
		        "usage: tssim ctl URL JSON\n       tssim ctl --port-file FILE JSON\n"
		        "(JSON \"-\" reads the request from stdin)\n");
		goto out;
	}
	json = argv[argc - 1];
	if (strcmp(json, "-") == 0) {
		while (evbuffer_read(req, STDIN_FILENO, 65536) > 0)
			if (evbuffer_get_length(req) > (size_t)TSSIM_MAX_CONTROL_BODY)
				break;
	} else
		evbuffer_add(req, json, strlen(json));
	url = xasprintf("%.*s/sim/control",
	                (int)(strlen(base) - (base[0] != '\0' && base[strlen(base) - 1] == '/')),
	                base);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 || (h = curl_easy_init()) == NULL) {
		fprintf(stderr, "tssim ctl: cannot start libcurl\n");
		goto out;
	}
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	hdrs = curl_slist_append(hdrs, "Expect:");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)evbuffer_get_length(req));
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, evbuffer_pullup(req, -1));
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, tssim_ctl_write_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 300L);
	if ((rc = curl_easy_perform(h)) != CURLE_OK) {
		fprintf(stderr, "tssim ctl: %s: %s\n", url,
		        errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	evbuffer_add(resp, "", 1);
	body = (const char *)evbuffer_pullup(resp, -1);
	printf("%s\n", body);
	doc = json_loads(body, 0, NULL);
	if (json_is_true(json_object_get(doc, "ok")))
		ret = 0;
	else if (json_is_string(json_object_get(doc, "error")))
		fprintf(stderr, "tssim ctl: %s\n",
		        json_string_value(json_object_get(doc, "error")));
	else
		fprintf(stderr, "tssim ctl: HTTP %ld from %s\n", code, url);
out:
	json_decref(doc);
	curl_slist_free_all(hdrs);
	if (h != NULL) {
		curl_easy_cleanup(h);
		curl_global_cleanup();
	}
	evbuffer_free(req);
	evbuffer_free(resp);
	free(url);
	free(base);
	return ret;
}

/* --- main --- */

static void
tssim_usage(FILE *f)
{
	size_t i;

	fprintf(
	    f,
	    "usage: tssim [--listen ADDR] [--port N] [--port-file FILE] [--token TOKEN]\n"
	    "             [--oauth-client-id ID --oauth-client-secret SECRET]\n"
	    "             [--scenario FILE] [--generate N] [--seed S] [--quiet]\n"
	    "       tssim ctl URL JSON | tssim ctl --port-file FILE JSON\n\n"
	    "A simulated Tailscale API v2 on http://ADDR:N/api/v2/ (default 127.0.0.1, port 0 =\n"
	    "any free port, written to FILE once listening). Token default %s.\n"
	    "OAuth client credentials: POST /api/v2/oauth/token (scenario \"oauth\" or the "
	    "options).\n"
	    "Control: POST /sim/control with {\"op\": ...}:\n",
	    TSSIM_DEFAULT_TOKEN);
	for (i = 0; i < TSSIM_NELEM(tssim_ops); i++)
		fprintf(f, "  %-15s %s\n", tssim_ops[i].name, tssim_ops[i].help);
	fprintf(f, "Fault endpoints:");
	for (i = 0; i < TSSIM_EP_COUNT; i++)
		fprintf(f, " %s", tssim_ep_names[i]);
	fprintf(f, "\n");
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"listen", required_argument, NULL, 'l'},
	    {"port", required_argument, NULL, 'p'},
	    {"port-file", required_argument, NULL, 'f'},
	    {"token", required_argument, NULL, 't'},
	    {"oauth-client-id", required_argument, NULL, 'i'},
	    {"oauth-client-secret", required_argument, NULL, 'c'},
	    {"scenario", required_argument, NULL, 's'},
	    {"generate", required_argument, NULL, 'g'},
	    {"seed", required_argument, NULL, 'S'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct tssim sim;
	struct evhttp_bound_socket *bound;
	const char *addr = "127.0.0.1", *port_file = NULL, *scenario = NULL, *token = NULL;
	const char *oauth_id = NULL, *oauth_secret = NULL;
	unsigned long port = 0, generate = 0, seed = 1;
	bool do_generate = false;
	char *cause = NULL;
	json_t *devices;
	struct tssim_tailnet *tn;
	int ch, bport;

	if (argc > 1 && strcmp(argv[1], "ctl") == 0)
		return tssim_ctl_main(argc - 1, argv + 1);
	log_init(argv[0], 0);
	memset(&sim, 0, sizeof sim);
	TAILQ_INIT(&sim.tailnets);
	TAILQ_INIT(&sim.pending);
	TAILQ_INIT(&sim.tokens);
	sim.oauth_life = TSSIM_OAUTH_LIFE;
	for (ch = 0; ch < TSSIM_EP_COUNT; ch++)
		tssim_fault_clear(&sim.faults[ch]);
	while ((ch = getopt_long(argc, argv, "l:p:f:t:i:c:s:g:S:qh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'l':
			addr = optarg;
			break;
		case 'p':
			if (tssim_parse_ulong(optarg, 65535, &port) != 0)
				fatalx("--port: not a port number: %s", optarg);
			break;
		case 'f':
			port_file = optarg;
			break;
		case 't':
			token = optarg;
			break;
		case 'i':
			oauth_id = optarg;
			break;
		case 'c':
			oauth_secret = optarg;
			break;
		case 's':
			scenario = optarg;
			break;
		case 'g':
			if (tssim_parse_ulong(optarg, SIMGEN_MAX_DEVICES, &generate) != 0)
				fatalx("--generate: not a device count: %s", optarg);
			do_generate = true;
			break;
		case 'S':
			if (tssim_parse_ulong(optarg, UINT32_MAX, &seed) != 0)
				fatalx("--seed: not a number: %s", optarg);
			break;
		case 'q':
			sim.quiet = true;
			break;
		case 'h':
			tssim_usage(stdout);
			return 0;
		default:
			tssim_usage(stderr);
			return 1;
		}
	}
	if (optind != argc) {
		tssim_usage(stderr);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	/* A big tailnet is millions of small jansson allocations; with fastbins, freeing one and
	 * building the next spends most of its time in malloc_consolidate (twice as slow). */
	mallopt(M_MXFAST, 0);
	sim.token = xstrdup(token != NULL ? token : TSSIM_DEFAULT_TOKEN);
	sim.rng = (unsigned)time(NULL) ^ ((unsigned)getpid() << 16);
	if (scenario != NULL && tssim_load_scenario(&sim, scenario, token != NULL, &cause) != 0)
		fatalx("scenario %s", cause);
	if ((oauth_id != NULL && *oauth_id == '\0') ||
	    (oauth_secret != NULL && *oauth_secret == '\0'))
		fatalx("--oauth-client-id and --oauth-client-secret must not be empty");
	if (oauth_id != NULL) {
		free(sim.oauth_id);
		sim.oauth_id = xstrdup(oauth_id);
	}
	if (oauth_secret != NULL) {
		free(sim.oauth_secret);
		sim.oauth_secret = xstrdup(oauth_secret);
	}
	if ((sim.oauth_id == NULL) != (sim.oauth_secret == NULL))
		fatalx("an OAuth client needs both --oauth-client-id and --oauth-client-secret");
	if (sim.oauth_id != NULL && sim.oauth_scope == NULL)
		sim.oauth_scope = xstrdup(TSSIM_OAUTH_SCOPE);
	if (do_generate) {
		if ((devices = simgen_devices(generate, (unsigned)seed)) == NULL)
			fatalx("--generate: too many devices");
		if ((tn = tssim_tailnet_find(&sim, "-")) == NULL)
			tssim_tailnet_add(&sim, "-", devices);
		else {
			json_decref(tn->devices);
			tn->devices = devices;
		}
	}
	if (TAILQ_EMPTY(&sim.tailnets))
		tssim_tailnet_add(&sim, "-", json_array());

	if ((sim.base = event_base_new()) == NULL || (sim.http = evhttp_new(sim.base)) == NULL)
		fatalx("cannot start libevent");
	/* Every method reaches the callback, so that the API answers 405 as the real one does. */
	evhttp_set_allowed_methods(sim.http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
	                                         EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	                                         EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
	                                         EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_max_headers_size(sim.http, TSSIM_MAX_HEADERS);
	evhttp_set_max_body_size(sim.http, TSSIM_MAX_CONTROL_BODY);
	evhttp_set_timeout(sim.http, 120);
	evhttp_set_default_content_type(sim.http, "application/json");
	evhttp_set_gencb(sim.http, tssim_request_cb, &sim);
	if ((bound = evhttp_bind_socket_with_handle(sim.http, addr, (ev_uint16_t)port)) == NULL)
		fatal("cannot listen on %s port %lu", addr, port);
	if ((bport = tssim_bound_port(bound)) < 0)
		fatal("getsockname");
	if (port_file != NULL && tssim_write_port_file(port_file, bport, &cause) != 0)
		fatalx("port file %s", cause);
	sim.sigterm = evsignal_new(sim.base, SIGTERM, tssim_signal_cb, &sim);
	sim.sigint = evsignal_new(sim.base, SIGINT, tssim_signal_cb, &sim);
	if (sim.sigterm == NULL || sim.sigint == NULL || evsignal_add(sim.sigterm, NULL) != 0 ||
	    evsignal_add(sim.sigint, NULL) != 0)
		fatalx("cannot watch signals");
	log_notice("listening on http://%s:%d/", addr, bport);

	event_base_dispatch(sim.base);

	if (port_file != NULL)
		unlink(port_file);
	tssim_free(&sim);
	return 0;
}
