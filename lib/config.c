/* config.c: the INI configuration (inih): every key checked, every error with file:line. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <ini.h>

#include "config-int.h"
#include "config.h"
#include "event-type.h"
#include "log.h"
#include "sbuf.h"
#include "tstime.h"

#define CONFIG_AUTH_ERR "needs api_key_file or oauth_client_id with oauth_client_secret_file"
#define CONFIG_URL_ERR "%s must be https:// (plain http only for a loopback host)"

enum config_kind {
	CONFIG_ABSPATH,  /* char *, an absolute path */
	CONFIG_SOCKPATH, /* char *, an absolute path that fits in sun_path */
	CONFIG_PATH,     /* char *, any path (secrets: relative ones are credentials) */
	CONFIG_WORD,     /* char *, printable, no spaces */
	CONFIG_TAILNET,  /* char *, the API's tailnet path segment */
	CONFIG_URL,      /* char *, https:// or loopback http:// */
	CONFIG_MODE,     /* mode_t, octal */
	CONFIG_SIZE,     /* size_t, at least min */
	CONFIG_INT,      /* int, from min to max */
	CONFIG_DURATION, /* int64_t us, from min to max */
	CONFIG_LOGLEVEL, /* int verbose */
	CONFIG_GLOBS,    /* char *, space-separated globs, each matching an event type */
	CONFIG_BOOL,     /* int, yes/no */
	CONFIG_WARN,     /* int64_t[CONFIG_WARN_MAX] us, largest first, then a count: "14d 7d 1d" */
	CONFIG_SLUG,     /* char *, a NetBox slug: A-Z a-z 0-9 _ - */
	CONFIG_CFNAME,   /* char *, a NetBox custom field name: a-z 0-9 _ */
	CONFIG_VRF,      /* struct config_vrf[], "TAILNET:VRF NAME"; the key may repeat */
	CONFIG_ENDPOINTS, /* unsigned, a bit per name of config_endpoint_names */
};

const char *const config_endpoint_names[] = {
#define ENDPOINT(sym, name) name,
#include "endpoint-list.h"
#undef ENDPOINT
    NULL};

struct config_key {
	const char *name;
	size_t off;
	enum config_kind kind;
	int64_t min, max;
};

/* One table per section: the key, where it goes, what it must be. */
#define CONFIG_D(name) #name, offsetof(struct config, name)
static const struct config_key config_daemon_keys[] = {
    {CONFIG_D(state_dir), CONFIG_ABSPATH, 0, 0},
    {CONFIG_D(socket), CONFIG_SOCKPATH, 0, 0},
    {CONFIG_D(socket_mode), CONFIG_MODE, 0, 0},
    {CONFIG_D(socket_group), CONFIG_WORD, 0, 0},
    {CONFIG_D(admin_group), CONFIG_WORD, 0, 0},
    {CONFIG_D(default_tailnet), CONFIG_WORD, 0, 0},
    {CONFIG_D(map_size_max), CONFIG_SIZE, 1 << 20, 0},
    {CONFIG_D(max_clients), CONFIG_INT, 1, 65536},
    {CONFIG_D(max_clients_per_uid), CONFIG_INT, 1, 65536},
    {CONFIG_D(client_timeout), CONFIG_DURATION, TSTIME_SEC / 10, CONFIG_DURMAX},
    {"log_level", offsetof(struct config, verbose), CONFIG_LOGLEVEL, 0, 0},
    {CONFIG_D(hook_concurrency), CONFIG_INT, 1, 64},
    {CONFIG_D(strict_permissions), CONFIG_BOOL, 0, 1},
    {CONFIG_D(read_only), CONFIG_BOOL, 0, 1},
};

#define CONFIG_T(name) #name, offsetof(struct config_tailnet, name)
static const struct config_key config_tailnet_keys[] = {
    {CONFIG_T(api_url), CONFIG_URL, 0, 0},
    {CONFIG_T(tailnet), CONFIG_TAILNET, 0, 0},
    {CONFIG_T(api_key_file), CONFIG_PATH, 0, 0},
    {CONFIG_T(oauth_client_id), CONFIG_WORD, 0, 0},
    {CONFIG_T(oauth_client_secret_file), CONFIG_PATH, 0, 0},
    {CONFIG_T(poll_interval), CONFIG_DURATION, TSTIME_SEC, CONFIG_DURMAX},
    {CONFIG_T(connect_timeout), CONFIG_DURATION, 1000, CONFIG_DURMAX},
    {CONFIG_T(request_timeout), CONFIG_DURATION, 1000, CONFIG_DURMAX},
    {CONFIG_T(max_response), CONFIG_SIZE, 1024, 0},
    {CONFIG_T(mass_delete_percent), CONFIG_INT, 1, 100},
    {CONFIG_T(confirm_delay), CONFIG_DURATION, 0, CONFIG_DURMAX},
    {CONFIG_T(key_expiry_warn), CONFIG_WARN, TSTIME_SEC, CONFIG_DURMAX},
    {CONFIG_T(presence_events), CONFIG_BOOL, 0, 1},
    {CONFIG_T(attribution_events), CONFIG_BOOL, 0, 1},
    {CONFIG_T(oauth_token_events), CONFIG_BOOL, 0, 1},
    {CONFIG_T(endpoints), CONFIG_ENDPOINTS, 0, 0},
    {CONFIG_T(retain), CONFIG_DURATION, TSTIME_SEC, CONFIG_DURMAX},
    {CONFIG_T(audit_interval), CONFIG_DURATION, TSTIME_SEC, CONFIG_DURMAX},
    {CONFIG_T(audit_overlap), CONFIG_DURATION, 0, 90 * 86400 * TSTIME_SEC},
    {CONFIG_T(audit_backfill), CONFIG_DURATION, TSTIME_SEC, 90 * 86400 * TSTIME_SEC},
    {CONFIG_T(posture_interval), CONFIG_DURATION, TSTIME_SEC, CONFIG_DURMAX},
    {CONFIG_T(posture_concurrency), CONFIG_INT, 1, 64},
};
#define CONFIG_H(name) #name, offsetof(struct config_hook, name)
static const struct config_key config_hook_keys[] = {
    {CONFIG_H(exec), CONFIG_ABSPATH, 0, 0},
    {CONFIG_H(events), CONFIG_GLOBS, 0, 0},
    {CONFIG_H(timeout), CONFIG_DURATION, TSTIME_SEC / 10, CONFIG_DURMAX},
    {CONFIG_H(kill_grace), CONFIG_DURATION, 0, 3600 * TSTIME_SEC},
    {CONFIG_H(retry_min), CONFIG_DURATION, TSTIME_SEC / 100, CONFIG_DURMAX},
    {CONFIG_H(retry_max), CONFIG_DURATION, TSTIME_SEC / 100, CONFIG_DURMAX},
    {CONFIG_H(max_attempts), CONFIG_INT, 0, 1000000},
    {CONFIG_H(wait_attribution), CONFIG_DURATION, 0, 7 * 86400 * TSTIME_SEC},
};
#define CONFIG_N(name) #name, offsetof(struct config_netbox, name)
static const struct config_key config_netbox_keys[] = {
    {CONFIG_N(url), CONFIG_URL, 0, 0},
    {CONFIG_N(token_file), CONFIG_PATH, 0, 0},
    {"vrf", 0, CONFIG_VRF, 0, 0},
    {CONFIG_N(owner_tag), CONFIG_SLUG, 0, 0},
    {CONFIG_N(tag_prefix), CONFIG_SLUG, 0, 0},
    {CONFIG_N(interval), CONFIG_DURATION, 0, CONFIG_DURMAX},
    {CONFIG_N(deprecated_window), CONFIG_DURATION, 0, CONFIG_DURMAX},
    {CONFIG_N(last_seen_slack), CONFIG_DURATION, 0, CONFIG_DURMAX},
    {CONFIG_N(cf_node_id), CONFIG_CFNAME, 0, 0},
    {CONFIG_N(cf_tailnet), CONFIG_CFNAME, 0, 0},
    {CONFIG_N(cf_last_seen), CONFIG_CFNAME, 0, 0},
    {CONFIG_N(connect_timeout), CONFIG_DURATION, 1000, CONFIG_DURMAX},
    {CONFIG_N(request_timeout), CONFIG_DURATION, 1000, CONFIG_DURMAX},
    {CONFIG_N(batch_size), CONFIG_INT, 1, 1000},
    {CONFIG_N(max_response), CONFIG_SIZE, 1024, 0},
};
#define CONFIG_NKEYS(t) (sizeof t / sizeof t[0])
_Static_assert(CONFIG_NKEYS(config_daemon_keys) <= CONFIG_KEYSMAX, "too many daemon keys");
_Static_assert(CONFIG_NKEYS(config_tailnet_keys) <= CONFIG_KEYSMAX, "too many tailnet keys");
_Static_assert(CONFIG_NKEYS(config_hook_keys) <= CONFIG_KEYSMAX, "too many hook keys");
_Static_assert(CONFIG_NKEYS(config_netbox_keys) <= CONFIG_KEYSMAX, "too many netbox keys");

void
config_err(struct config_parse *ps, int line, const char *fmt, ...)
{
	va_list ap;

	if (ps->nerrs == CONFIG_MAXERR) {
		ps->toomany = 1;
		return;
	}
	ps->errs = xrealloc(ps->errs, (ps->nerrs + 1) * sizeof *ps->errs);
	ps->errs[ps->nerrs].line = line;
	ps->errs[ps->nerrs].seq = ps->nerrs;
	va_start(ap, fmt);
	ps->errs[ps->nerrs].msg = xvasprintf(fmt, ap);
	va_end(ap);
	ps->nerrs++;
}

/* File order; errors about the whole file (line 0) last. */
static int
config_err_cmp(const void *a, const void *b)
{
	const struct config_err *x = a, *y = b;
	unsigned lx = (unsigned)x->line - 1, ly = (unsigned)y->line - 1;

	if (lx != ly)
		return lx < ly ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static char *
config_err_join(struct config_parse *ps, const char *path)
{
	struct sbuf sb;
	size_t i;

	qsort(ps->errs, ps->nerrs, sizeof *ps->errs, config_err_cmp);
	sbuf_init(&sb);
	for (i = 0; i < ps->nerrs; i++) {
		if (i > 0)
			sbuf_addc(&sb, '\n');
		if (ps->errs[i].line > 0)
			sbuf_addf(&sb, "%s:%d: %s", path, ps->errs[i].line, ps->errs[i].msg);
		else
			sbuf_addf(&sb, "%s: %s", path, ps->errs[i].msg);
	}
	if (ps->toomany)
		sbuf_addf(&sb, "\n%s: too many errors, stopped after %d", path, CONFIG_MAXERR);
	return sbuf_steal(&sb);
}

static int
config_name_ok(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= CONFIG_NAMEMAX &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

static void
config_tailnet_new(struct config_parse *ps, const char *name)
{
	struct config *cf = ps->cf;
	struct config_tailnet *tn;

	cf->tailnets = xrealloc(cf->tailnets, (cf->ntailnets + 1) * sizeof *cf->tailnets);
	ps->seen = xrealloc(ps->seen, (cf->ntailnets + 1) * sizeof *ps->seen);
	ps->seen[cf->ntailnets] = 0;
	tn = &cf->tailnets[cf->ntailnets++];
	memset(tn, 0, sizeof *tn);
	tn->name = xstrdup(name);
	tn->line = ps->line;
	tn->api_url = xstrdup("https://api.tailscale.com");
	tn->tailnet = xstrdup("-");
	tn->poll_interval = 300 * TSTIME_SEC;
	tn->connect_timeout = 10 * TSTIME_SEC;
	tn->request_timeout = 60 * TSTIME_SEC;
	tn->max_response = (size_t)64 << 20;
	tn->mass_delete_percent = 50;
	tn->confirm_delay = 30 * TSTIME_SEC;
	tn->endpoints = CONFIG_ENDPOINTS_DEFAULT;
	tn->posture_concurrency = 4;
	tn->audit_overlap = 15 * 60 * TSTIME_SEC;
	tn->audit_backfill = 90 * 86400 * TSTIME_SEC;
	/* Node-key expiry warnings, as tsinv has always given them. */
	tn->key_expiry_warn = (struct config_warn){
	    {14 * 86400 * TSTIME_SEC, 7 * 86400 * TSTIME_SEC, 86400 * TSTIME_SEC}, 3};
}

static void
config_hook_new(struct config_parse *ps, const char *name)
{
	struct config *cf = ps->cf;
	struct config_hook *hk;

	cf->hooks = xrealloc(cf->hooks, (cf->nhooks + 1) * sizeof *cf->hooks);
	ps->hseen = xrealloc(ps->hseen, (cf->nhooks + 1) * sizeof *ps->hseen);
	ps->hseen[cf->nhooks] = 0;
	hk = &cf->hooks[cf->nhooks++];
	memset(hk, 0, sizeof *hk);
	hk->name = xstrdup(name);
	hk->line = ps->line;
	hk->events = xstrdup("*");
	hk->timeout = 30 * TSTIME_SEC;
	hk->kill_grace = 5 * TSTIME_SEC;
	hk->retry_min = 10 * TSTIME_SEC;
	hk->retry_max = 600 * TSTIME_SEC;
	hk->max_attempts = 10;
}

/* "[tailnet NAME]" or "[hook NAME]" with NAME in REST: checked, then the section is opened. */
static void
config_named_section(struct config_parse *ps, const char *word, const char *rest)
{
	int hook = strcmp(word, "hook") == 0;
	size_t i, n = hook ? ps->cf->nhooks : ps->cf->ntailnets;
	const char *name;

	if (*rest == '\0') {
		config_err(ps, ps->line, "[%s] needs a name: [%s NAME]", word, word);
		return;
	}
	if (!config_name_ok(rest)) {
		config_err(ps, ps->line,
		           "bad %s name \"%s\": use 1 to %d characters of A-Z a-z 0-9 . _ -", word,
		           rest, CONFIG_NAMEMAX);
		return;
	}
	for (i = 0; i < n; i++) {
		name = hook ? ps->cf->hooks[i].name : ps->cf->tailnets[i].name;
		if (strcmp(name, rest) == 0) {
			config_err(ps, ps->line, "duplicate section [%s %s] (first on line %d)",
			           word, rest,
			           hook ? ps->cf->hooks[i].line : ps->cf->tailnets[i].line);
			return;
		}
	}
	if (hook) {
		config_hook_new(ps, rest);
		ps->sec = CONFIG_SEC_HOOK;
	} else {
		config_tailnet_new(ps, rest);
		ps->sec = CONFIG_SEC_TAILNET;
	}
	snprintf(ps->secname, sizeof ps->secname, "[%s %s]", word, rest);
}

/* A section header: "[daemon]", "[tailnet NAME]" or "[hook NAME]". S starts at the '['. */
static void
config_section(struct config_parse *ps, char *s)
{
	char *e = s + strlen(s), *word, *rest;
	size_t i;

	memset(ps->keylines, 0, sizeof ps->keylines);
	ps->sec = CONFIG_SEC_SKIP;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	if (e - s < 2 || e[-1] != ']' || memchr(s + 1, ']', (size_t)(e - s - 2)) != NULL) {
		config_err(ps, ps->line,
		           "bad section header: expected [daemon], [tailnet NAME], [hook NAME], "
		           "[netbox] or [checks]");
		return;
	}
	*--e = '\0';
	word = s + 1 + strspn(s + 1, " \t");
	rest = word + strcspn(word, " \t");
	if (*rest != '\0')
		*rest++ = '\0';
	rest += strspn(rest, " \t");
	for (i = strlen(rest); i > 0 && (rest[i - 1] == ' ' || rest[i - 1] == '\t'); i--)
		rest[i - 1] = '\0';

	if (strcmp(word, "daemon") == 0 && *rest == '\0') {
		if (ps->daemon_line != 0) {
			config_err(ps, ps->line, "duplicate section [daemon] (first on line %d)",
			           ps->daemon_line);
			return;
		}
		ps->daemon_line = ps->line;
		ps->sec = CONFIG_SEC_DAEMON;
		snprintf(ps->secname, sizeof ps->secname, "[daemon]");
		return;
	}
	if (strcmp(word, "netbox") == 0 && *rest == '\0') {
		if (ps->cf->netbox.line != 0) {
			config_err(ps, ps->line, "duplicate section [netbox] (first on line %d)",
			           ps->cf->netbox.line);
			return;
		}
		ps->cf->netbox.line = ps->line;
		ps->sec = CONFIG_SEC_NETBOX;
		snprintf(ps->secname, sizeof ps->secname, "[netbox]");
		return;
	}
	if (strcmp(word, "checks") == 0 && *rest == '\0') {
		if (ps->checks_line != 0) {
			config_err(ps, ps->line, "duplicate section [checks] (first on line %d)",
			           ps->checks_line);
			return;
		}
		ps->checks_line = ps->line;
		ps->sec = CONFIG_SEC_CHECKS;
		snprintf(ps->secname, sizeof ps->secname, "[checks]");
		return;
	}
	if (strcmp(word, "tailnet") != 0 && strcmp(word, "hook") != 0) {
		config_err(ps, ps->line, "unknown section [%s%s%s]", word, *rest ? " " : "", rest);
		return;
	}
	config_named_section(ps, word, rest);
}

/* Parses an unsigned decimal number into [min, max]; 0 or -1. */
static int
config_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
	int64_t v = 0;

	if (*s == '\0' || strspn(s, "0123456789") != strlen(s))
		return -1;
	for (; *s != '\0'; s++) {
		if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, *s - '0', &v))
			return -1;
	}
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
config_printable(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f)
			return 0;
	}
	return 1;
}

/* Each space-separated glob of VALUE must match at least one event type: a typo would otherwise
 * silently deliver nothing. 0, or -1 after reporting. */
static int
config_globs(struct config_parse *ps, const struct config_key *k, const char *value)
{
	char glob[CONFIG_GLOBMAX + 1];
	const char *p = value;
	int bad = 0, rc;

	while ((rc = event_glob_next(&p, glob, sizeof(glob))) != 0) {
		if (rc == -1) {
			config_err(ps, ps->line, "%s: a glob longer than %d characters", k->name,
			           CONFIG_GLOBMAX);
			return -1;
		}
		if (!event_glob_known(glob)) {
			config_err(ps, ps->line, "%s: \"%s\" matches no event type", k->name, glob);
			bad = 1;
		}
	}
	return bad ? -1 : 0;
}

static int
config_cmp_desc(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? 1 : x > y ? -1 : 0;
}

/* "14d 7d 1d" (any order, stored largest first) or "none". 0, or -1 after reporting. */
static int
config_warn(struct config_parse *ps, const struct config_key *k, const char *value,
            struct config_warn *out)
{
	struct config_warn w = {0};
	char buf[64], *cause = NULL;
	const char *p = value;

	if (strcmp(value, "none") == 0) {
		*out = w;
		return 0;
	}
	while (*p != '\0') {
		size_t n;
		int64_t v;

		p += strspn(p, " \t");
		if ((n = strcspn(p, " \t")) == 0)
			break;
		if (n >= sizeof(buf) || w.n == CONFIG_WARN_MAX) {
			config_err(ps, ps->line, "%s: at most %d durations", k->name,
			           CONFIG_WARN_MAX);
			return -1;
		}
		memcpy(buf, p, n);
		buf[n] = '\0';
		if (tstime_parse_duration(buf, &v, &cause) != 0 || v < k->min || v > k->max) {
			config_err(ps, ps->line, "%s: %s", k->name,
			           cause ? cause : "a threshold must be from 1s to 365d");
			free(cause);
			return -1;
		}
		w.v[w.n++] = v;
		p += n;
	}
	if (w.n == 0) {
		config_err(ps, ps->line, "%s: durations such as \"14d 7d 1d\", or none", k->name);
		return -1;
	}
	qsort(w.v, w.n, sizeof(w.v[0]), config_cmp_desc);
	*out = w;
	return 0;
}

/* " devices keys users ...": every name, for messages. */
static const char config_endpoint_list[] =
#define ENDPOINT(sym, name) " " name
#include "endpoint-list.h"
#undef ENDPOINT
    ;

/* "devices keys users ...": the endpoints to poll, at least one, each known. */
static void
config_endpoints(struct config_parse *ps, const struct config_key *k, const char *value,
                 unsigned *out)
{
	const char *p = value;
	unsigned set = 0;
	size_t n, i;

	for (;;) {
		p += strspn(p, " \t");
		if ((n = strcspn(p, " \t")) == 0)
			break;
		for (i = 0; config_endpoint_names[i] != NULL; i++)
			if (strlen(config_endpoint_names[i]) == n &&
			    strncmp(config_endpoint_names[i], p, n) == 0)
				break;
		if (config_endpoint_names[i] == NULL) {
			config_err(ps, ps->line, "%s: \"%.*s\" is not one of%s", k->name, (int)n, p,
			           config_endpoint_list);
			return;
		}
		set |= 1u << i;
		p += n;
	}
	if (set == 0) {
		config_err(ps, ps->line, "%s: name at least one of%s", k->name,
		           config_endpoint_list);
		return;
	}
	/* Posture asks each device the devices endpoint recorded: without it, stale ones. */
	if ((set & 1u << ENDPOINT_posture) && !(set & 1u << ENDPOINT_devices)) {
		config_err(ps, ps->line,
		           "%s: posture needs devices (it asks each device they list)", k->name);
		return;
	}
	*out = set;
}

/* "TAILNET:VRF NAME": one more mapping; the tailnet is checked once the file is read. 0 or -1. */
static int
config_vrf(struct config_parse *ps, const char *value)
{
	struct config_netbox *nb = &ps->cf->netbox;
	const char *colon = strchr(value, ':');
	char *tn;

	if (colon == NULL || colon == value || colon[1] == '\0') {
		config_err(ps, ps->line, "vrf: \"%s\" is not TAILNET:VRF NAME", value);
		return -1;
	}
	tn = xasprintf("%.*s", (int)(colon - value), value);
	if (!config_name_ok(tn) || strlen(colon + 1) > 100) {
		config_err(ps, ps->line, "vrf: \"%s\" is not TAILNET:VRF NAME", value);
		free(tn);
		return -1;
	}
	for (size_t i = 0; i < nb->nvrfs; i++) {
		if (strcmp(nb->vrfs[i].tailnet, tn) == 0) {
			config_err(ps, ps->line, "vrf: tailnet %s has a VRF already (line %d)", tn,
			           nb->vrfs[i].line);
			free(tn);
			return -1;
		}
	}
	nb->vrfs = xrealloc(nb->vrfs, (nb->nvrfs + 1) * sizeof *nb->vrfs);
	nb->vrfs[nb->nvrfs].tailnet = tn;
	nb->vrfs[nb->nvrfs].vrf = xstrdup(colon + 1);
	nb->vrfs[nb->nvrfs++].line = ps->line;
	return 0;
}

/* Checks VALUE for KEY and stores it in BASE; a problem is reported, never fatal. */
/* The checks of the kinds whose value is kept as a string: 0, or -1 after reporting. */
static int
config_check_string(struct config_parse *ps, const struct config_key *k, const char *value)
{
	switch (k->kind) {
	case CONFIG_ABSPATH:
	case CONFIG_SOCKPATH:
		if (value[0] != '/') {
			config_err(ps, ps->line, "%s: \"%s\" is not an absolute path", k->name,
			           value);
			return -1;
		}
		if (k->kind == CONFIG_SOCKPATH && strlen(value) >= CONFIG_SUNPATH) {
			config_err(ps, ps->line, "%s: a socket path must be shorter than %zu bytes",
			           k->name, CONFIG_SUNPATH);
			return -1;
		}
		break;
	case CONFIG_PATH:
		break;
	case CONFIG_SLUG:
	case CONFIG_CFNAME:
		if (strlen(value) > 50 ||
		    strspn(value, k->kind == CONFIG_SLUG
		                      ? "abcdefghijklmnopqrstuvwxyz"
		                        "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"
		                      : "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(value)) {
			config_err(ps, ps->line, "%s: \"%s\" is not a NetBox %s (%s)", k->name,
			           value, k->kind == CONFIG_SLUG ? "slug" : "custom field name",
			           k->kind == CONFIG_SLUG ? "A-Z a-z 0-9 _ -" : "a-z 0-9 _");
			return -1;
		}
		break;
	case CONFIG_GLOBS:
		return config_globs(ps, k, value) != 0 ? -1 : 0;
	case CONFIG_WORD:
		if (!config_printable(value)) {
			config_err(ps, ps->line,
			           "%s: \"%s\" must be printable ASCII without spaces", k->name,
			           value);
			return -1;
		}
		break;
	case CONFIG_TAILNET:
		if (strlen(value) > 253 ||
		    strspn(value,
		           "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._@+-") !=
		        strlen(value)) {
			config_err(ps, ps->line,
			           "tailnet: \"%s\" is not a tailnet name (e.g. - or example.com)",
			           value);
			return -1;
		}
		break;
	case CONFIG_URL:
		if (!config_url_allowed(value)) {
			config_err(ps, ps->line, CONFIG_URL_ERR, k->name);
			return -1;
		}
		break;
	default:
		break;
	}
	return 0;
}

static void
config_set(struct config_parse *ps, const struct config_key *k, void *base, const char *value)
{
	char *cause = NULL, *p = (char *)base + k->off, *s, dmin[32];
	int64_t v;
	size_t sz;

	switch (k->kind) {
	case CONFIG_ABSPATH:
	case CONFIG_SOCKPATH:
	case CONFIG_PATH:
	case CONFIG_SLUG:
	case CONFIG_CFNAME:
	case CONFIG_GLOBS:
	case CONFIG_WORD:
	case CONFIG_TAILNET:
	case CONFIG_URL:
		if (config_check_string(ps, k, value) != 0)
			return;
		break;
	case CONFIG_VRF:
		config_vrf(ps, value);
		return;
	case CONFIG_MODE:
		if (strlen(value) > 4 || strspn(value, "01234567") != strlen(value) ||
		    (v = strtol(value, NULL, 8)) > 0777) {
			config_err(ps, ps->line, "%s: \"%s\" is not an octal mode (e.g. 0660)",
			           k->name, value);
			return;
		}
		*(mode_t *)(void *)p = (mode_t)v;
		return;
	case CONFIG_SIZE:
		if (config_parse_size(value, &sz) != 0) {
			config_err(ps, ps->line, "%s: \"%s\" is not a size (e.g. 512k, 64M, 4G)",
			           k->name, value);
			return;
		}
		if (sz < (size_t)k->min) {
			config_err(ps, ps->line, "%s: \"%s\" is below the minimum of %lld%c",
			           k->name, value,
			           (long long)(k->min % (1 << 20) ? k->min >> 10 : k->min >> 20),
			           k->min % (1 << 20) ? 'k' : 'M');
			return;
		}
		*(size_t *)(void *)p = sz;
		return;
	case CONFIG_INT:
		if (config_int(value, k->min, k->max, &v) != 0) {
			config_err(ps, ps->line, "%s: \"%s\" is not a number from %lld to %lld",
			           k->name, value, (long long)k->min, (long long)k->max);
			return;
		}
		*(int *)(void *)p = (int)v;
		return;
	case CONFIG_DURATION:
		if (tstime_parse_duration(value, &v, &cause) != 0) {
			config_err(ps, ps->line, "%s: %s", k->name, cause);
			free(cause);
			return;
		}
		if (v < k->min || v > k->max) {
			tstime_format_duration(v < k->min ? k->min : k->max, dmin, sizeof dmin);
			config_err(ps, ps->line, "%s: \"%s\" is %s the %s of %s", k->name, value,
			           v < k->min ? "below" : "above",
			           v < k->min ? "minimum" : "maximum", dmin);
			return;
		}
		*(int64_t *)(void *)p = v;
		return;
	case CONFIG_BOOL:
		if (strcmp(value, "yes") != 0 && strcmp(value, "no") != 0) {
			config_err(ps, ps->line, "%s: \"%s\" is not yes or no", k->name, value);
			return;
		}
		*(int *)(void *)p = strcmp(value, "yes") == 0;
		return;
	case CONFIG_WARN:
		if (config_warn(ps, k, value, (struct config_warn *)(void *)p) != 0)
			return;
		return;
	case CONFIG_ENDPOINTS:
		config_endpoints(ps, k, value, (unsigned *)(void *)p);
		return;
	case CONFIG_LOGLEVEL:
		if (strcmp(value, "info") != 0 && strcmp(value, "debug") != 0) {
			config_err(ps, ps->line, "%s: \"%s\" is not info or debug", k->name, value);
			return;
		}
		*(int *)(void *)p = strcmp(value, "debug") == 0;
		return;
	}

	/* The string kinds. */
	s = xstrdup(value);
	if (k->kind == CONFIG_URL) {
		for (sz = strlen(s); sz > 0 && s[sz - 1] == '/'; sz--)
			s[sz - 1] = '\0';
	}
	free(*(char **)(void *)p);
	*(char **)(void *)p = s;
}

/* The edit distance of A and B, ignoring case; anything over CONFIG_NAMEMAX is "far". */
static size_t
config_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[CONFIG_NAMEMAX + 1], i, j, diag, up;

	if (la > CONFIG_NAMEMAX || lb > CONFIG_NAMEMAX)
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		diag = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			up = row[j];
			row[j] = diag + (tolower((unsigned char)a[i - 1]) !=
			                 tolower((unsigned char)b[j - 1]));
			if (up + 1 < row[j])
				row[j] = up + 1;
			if (row[j - 1] + 1 < row[j])
				row[j] = row[j - 1] + 1;
			diag = up;
		}
	}
	return row[lb];
}

/* An unknown key: names the nearest key of the section ("did you mean log_level?"), one it is
 * the start of ("api_key" for api_key_file), or the section where it belongs. */
static void
config_unknown_key(struct config_parse *ps, const struct config_key *keys, size_t n,
                   const char *name)
{
	static const struct {
		const struct config_key *keys;
		size_t n;
		const char *sec;
	} sections[] = {
	    {config_daemon_keys, CONFIG_NKEYS(config_daemon_keys), "[daemon]"},
	    {config_tailnet_keys, CONFIG_NKEYS(config_tailnet_keys), "[tailnet NAME]"},
	    {config_hook_keys, CONFIG_NKEYS(config_hook_keys), "[hook NAME]"},
	    {config_netbox_keys, CONFIG_NKEYS(config_netbox_keys), "[netbox]"},
	};
	const char *best = NULL;
	size_t i, k, d, bestd = SIZE_MAX, len = strlen(name);

	for (i = 0; i < n; i++) {
		/* Lengths further apart than 2 are further apart than any suggestion we make. */
		d = strlen(keys[i].name);
		if (d > len + 2 || len > d + 2)
			continue;
		if ((d = config_distance(name, keys[i].name)) < bestd) {
			bestd = d;
			best = keys[i].name;
		}
	}
	if (bestd > 2 || 2 * bestd >= len) {
		best = NULL;
		for (i = 0; i < n && best == NULL && len >= 4; i++)
			if (strncasecmp(keys[i].name, name, len) == 0)
				best = keys[i].name;
	}
	if (best != NULL) {
		config_err(ps, ps->line, "unknown key \"%s\" in %s (did you mean %s?)", name,
		           ps->secname, best);
		return;
	}
	for (i = 0; i < CONFIG_NKEYS(sections); i++) {
		if (sections[i].keys == keys)
			continue;
		for (k = 0; k < sections[i].n; k++) {
			if (strcmp(sections[i].keys[k].name, name) == 0) {
				config_err(ps, ps->line,
				           "unknown key \"%s\" in %s: it belongs in %s", name,
				           ps->secname, sections[i].sec);
				return;
			}
		}
	}
	config_err(ps, ps->line, "unknown key \"%s\" in %s", name, ps->secname);
}

/* A key of [checks]: the catalogue's own parser (checks_option) knows its keys and ids. */
static void
config_checks_key(struct config_parse *ps, const char *name, const char *value)
{
	char *cause = NULL;

	if (*value == '\0')
		config_err(ps, ps->line, "%s: empty value", name);
	else if (checks_option(&ps->cf->checks, name, value, &cause) == -1) {
		config_err(ps, ps->line, "[checks] %s", cause);
		free(cause);
	}
}

static int
config_handler(void *arg, const char *section, const char *name, const char *value)
{
	struct config_parse *ps = arg;
	const struct config_key *keys;
	void *base;
	size_t n, i, errs;

	(void)section; /* inih never sees a header: config_reader handles them */
	ps->pending = 0;
	switch (ps->sec) {
	case CONFIG_SEC_NONE:
		config_err(ps, ps->line, "\"%s\" is outside any section", name);
		return 1;
	case CONFIG_SEC_SKIP:
		return 1;
	case CONFIG_SEC_CHECKS:
		config_checks_key(ps, name, value);
		return 1;
	case CONFIG_SEC_DAEMON:
		keys = config_daemon_keys;
		n = CONFIG_NKEYS(config_daemon_keys);
		base = ps->cf;
		break;
	case CONFIG_SEC_HOOK:
		keys = config_hook_keys;
		n = CONFIG_NKEYS(config_hook_keys);
		base = &ps->cf->hooks[ps->cf->nhooks - 1];
		break;
	case CONFIG_SEC_NETBOX:
		keys = config_netbox_keys;
		n = CONFIG_NKEYS(config_netbox_keys);
		base = &ps->cf->netbox;
		break;
	case CONFIG_SEC_TAILNET:
	default:
		keys = config_tailnet_keys;
		n = CONFIG_NKEYS(config_tailnet_keys);
		base = &ps->cf->tailnets[ps->cf->ntailnets - 1];
		break;
	}
	for (i = 0; i < n && strcmp(keys[i].name, name) != 0; i++)
		;
	if (i == n) {
		config_unknown_key(ps, keys, n, name);
		return 1;
	}
	if (ps->keylines[i] != 0 && keys[i].kind != CONFIG_VRF) {
		config_err(ps, ps->line, "duplicate key \"%s\" in %s (first on line %d)", name,
		           ps->secname, ps->keylines[i]);
		return 1;
	}
	ps->keylines[i] = ps->line;
	if (ps->sec == CONFIG_SEC_TAILNET)
		ps->seen[ps->cf->ntailnets - 1] |= UINT32_C(1) << i;
	if (ps->sec == CONFIG_SEC_HOOK)
		ps->hseen[ps->cf->nhooks - 1] |= UINT32_C(1) << i;
	if (ps->sec == CONFIG_SEC_NETBOX)
		ps->nbseen |= 1 << i;
	if (*value == '\0') {
		config_err(ps, ps->line, "%s: empty value", name);
		return 1;
	}
	errs = ps->nerrs;
	config_set(ps, &keys[i], base, value);
	if (base == ps->cf && keys[i].off == offsetof(struct config, state_dir))
		ps->state_dir_line = ps->nerrs == errs ? ps->line : -1;
	if (base == ps->cf && keys[i].off == offsetof(struct config, default_tailnet))
		ps->default_tailnet_line = ps->line;
	return 1;
}

/* Cuts a comment that follows a value or header: ';' or '#' after a space, so that "a;b" and
 * "https://host/#x" stay whole. */
static void
config_strip_comment(char *s)
{
	char *p;

	for (p = s + 1; *p != '\0'; p++) {
		if ((*p == ';' || *p == '#') && (p[-1] == ' ' || p[-1] == '\t')) {
			*p = '\0';
			break;
		}
	}
}

/* inih's line source. It counts lines (Debian's inih gives the handler no line number), takes
 * section headers itself (inih cuts names at 50 bytes and does not report empty sections) and
 * passes on only "key = value" lines, which inih splits and trims. */
static char *
config_reader(char *str, int num, void *arg)
{
	struct config_parse *ps = arg;
	ssize_t n;
	char *s;
	size_t i;

	/* A key line that inih read without calling the handler had no '=' or ':'. */
	if (ps->pending != 0) {
		config_err(ps, ps->pending, "expected \"key = value\"");
		ps->pending = 0;
	}
	errno = 0;
	if ((n = getline(&ps->buf, &ps->bufsz, ps->f)) < 0) {
		if (ferror(ps->f))
			ps->readerr = errno != 0 ? errno : EIO;
		return NULL;
	}
	ps->line++;
	if (n > 0 && ps->buf[n - 1] == '\n')
		ps->buf[--n] = '\0';
	if (n > 0 && ps->buf[n - 1] == '\r')
		ps->buf[--n] = '\0';
	s = ps->buf;
	if (ps->line == 1 && strncmp(s, "\xef\xbb\xbf", 3) == 0)
		s += 3;
	snprintf(str, (size_t)num, "\n");
	for (i = 0; s + i < ps->buf + n; i++) {
		if (((unsigned char)s[i] < ' ' && s[i] != '\t') || s[i] == 0x7f) {
			config_err(ps, ps->line, "control character in line");
			return str;
		}
	}
	if (strlen(s) + 2 > (size_t)num) {
		config_err(ps, ps->line, "line longer than %d characters", num - 2);
		return str;
	}
	s += strspn(s, " \t");
	if (*s == '\0' || *s == ';' || *s == '#')
		return str;
	config_strip_comment(s);
	if (*s == '[') {
		config_section(ps, s);
		return str;
	}
	ps->pending = ps->line;
	snprintf(str, (size_t)num, "%s\n", s);
	return str;
}

/* Was the tailnet key NAME given in section I (even with a bad value, already reported)? */
static int
config_seen(const struct config_parse *ps, size_t i, const char *name)
{
	size_t k;

	for (k = 0; strcmp(config_tailnet_keys[k].name, name) != 0; k++)
		;
	return (ps->seen[i] >> k) & 1;
}

/* A hook's cross-checks: exec given (a bad one was reported already), retries that grow. */
static void
config_check_hook(struct config_parse *ps, size_t i)
{
	const struct config_hook *hk = &ps->cf->hooks[i];
	char lo[32], hi[32];

	/* exec is the first key of config_hook_keys. */
	if (!(ps->hseen[i] & 1))
		config_err(ps, hk->line, "[hook %s] needs exec = /path/to/program", hk->name);
	if (hk->retry_max < hk->retry_min) {
		tstime_format_duration(hk->retry_min, lo, sizeof lo);
		tstime_format_duration(hk->retry_max, hi, sizeof hi);
		config_err(ps, hk->line, "[hook %s] retry_max (%s) is below retry_min (%s)",
		           hk->name, hi, lo);
	}
}

/* [netbox]'s cross-checks: a token with the URL, mappings of known tailnets into distinct VRFs,
 * and a VRF for each tailnet when there are several (NetBox refuses an address twice in its
 * global table, and two tailnets can hand out the same one). */
static void
config_check_netbox(struct config_parse *ps)
{
	const struct config_netbox *nb = &ps->cf->netbox;
	const struct config *cf = ps->cf;
	size_t i, j;

	if (nb->line == 0)
		return;
	/* url and token_file are the first two keys of config_netbox_keys. */
	if ((ps->nbseen & 1) && !(ps->nbseen & 2))
		config_err(ps, nb->line, "[netbox] url needs token_file");
	if (!(ps->nbseen & 1) && (ps->nbseen & 2))
		config_err(ps, nb->line, "[netbox] token_file needs url");
	if (nb->interval > 0 && nb->interval < TSTIME_SEC)
		config_err(ps, nb->line,
		           "[netbox] interval must be 0 (only when asked) or 1s or more");
	for (i = 0; i < nb->nvrfs; i++) {
		if (config_tailnet_find(cf, nb->vrfs[i].tailnet) == NULL)
			config_err(ps, nb->vrfs[i].line, "vrf: no [tailnet %s] section",
			           nb->vrfs[i].tailnet);
		for (j = 0; j < i; j++)
			if (strcmp(nb->vrfs[i].vrf, nb->vrfs[j].vrf) == 0)
				config_err(ps, nb->vrfs[i].line,
				           "vrf: tailnets %s and %s both in VRF \"%s\": each needs "
				           "its own, they can hand out the same address",
				           nb->vrfs[j].tailnet, nb->vrfs[i].tailnet,
				           nb->vrfs[i].vrf);
	}
	if (nb->url == NULL || cf->ntailnets < 2)
		return;
	for (i = 0; i < cf->ntailnets; i++)
		if (config_netbox_vrf(cf, cf->tailnets[i].name) == NULL)
			config_err(
			    ps, nb->line,
			    "[netbox] needs vrf = %s:VRF NAME: with several tailnets each needs "
			    "its own VRF",
			    cf->tailnets[i].name);
}

/* Cross-checks that need the whole section. */
static void
config_check(struct config_parse *ps)
{
	const char *name;
	size_t i;
	int key, id, secret;

	if (ps->cf->ntailnets == 0)
		config_err(ps, 0, "no [tailnet NAME] section");
	for (i = 0; i < ps->cf->ntailnets; i++) {
		name = ps->cf->tailnets[i].name;
		key = config_seen(ps, i, "api_key_file");
		id = config_seen(ps, i, "oauth_client_id");
		secret = config_seen(ps, i, "oauth_client_secret_file");
		if (key && (id || secret))
			config_err(ps, ps->cf->tailnets[i].line,
			           "[tailnet %s] has both api_key_file and oauth_client_*: use one",
			           name);
		else if (!key && !(id && secret))
			config_err(ps, ps->cf->tailnets[i].line, "[tailnet %s] " CONFIG_AUTH_ERR,
			           name);
	}
	for (i = 0; i < ps->cf->nhooks; i++)
		config_check_hook(ps, i);
	config_check_netbox(ps);
	if (ps->cf->default_tailnet != NULL &&
	    config_tailnet_find(ps->cf, ps->cf->default_tailnet) == NULL)
		config_err(ps, ps->default_tailnet_line,
		           "default_tailnet = %s: no [tailnet %s] section in this file",
		           ps->cf->default_tailnet, ps->cf->default_tailnet);
}

/* Debian's inih turns its compile-time options into globals; set the ones relied on here. */
static void
config_ini_options(void)
{
	ini_allow_multiline = false;       /* an indented line is a mistake, not a continuation */
	ini_allow_inline_comments = false; /* config_strip_comment's job */
	ini_allow_no_value = false;
	ini_stop_on_first_error = false;
	ini_use_stack = false;
	ini_allow_realloc = false;
	ini_max_line = CONFIG_LINEMAX;
	ini_initial_alloc = CONFIG_LINEMAX;
}

/* Reads and checks PATH; with FILES, also what it names outside itself. */
static struct config *
config_load_flags(const char *path, char **errors, char **warnings, int files)
{
	struct config_parse ps;
	struct config *cf;
	size_t i;
	int rc;

	*errors = NULL;
	if (warnings != NULL)
		*warnings = NULL;
	cf = xcalloc(1, sizeof *cf);
	cf->path = xstrdup(path);
	cf->state_dir = xstrdup("/var/lib/tsinv");
	cf->socket = xstrdup("/run/tsinv/tsinvd.sock");
	cf->socket_mode = 0660;
	cf->map_size_max = (size_t)16 << 30;
	cf->max_clients = 256;
	cf->max_clients_per_uid = 32;
	cf->client_timeout = 30 * TSTIME_SEC;
	cf->hook_concurrency = 4;
	cf->netbox.owner_tag = xstrdup("tsinv");
	cf->netbox.interval = 3600 * TSTIME_SEC;
	cf->netbox.deprecated_window = 7 * 86400 * TSTIME_SEC;
	cf->netbox.last_seen_slack = 86400 * TSTIME_SEC;
	cf->netbox.cf_node_id = xstrdup("tailscale_node_id");
	cf->netbox.cf_tailnet = xstrdup("tailnet");
	cf->netbox.cf_last_seen = xstrdup("last_seen");
	cf->netbox.connect_timeout = 10 * TSTIME_SEC;
	cf->netbox.request_timeout = 60 * TSTIME_SEC;
	cf->netbox.batch_size = 100;
	cf->netbox.max_response = (size_t)64 << 20;
	checks_opts_init(&cf->checks);

	memset(&ps, 0, sizeof ps);
	ps.cf = cf;
	if ((ps.f = fopen(path, "re")) == NULL) {
		*errors = xasprintf("%s: cannot open: %s", path, strerror(errno));
		config_free(cf);
		return NULL;
	}
	config_ini_options();
	rc = ini_parse_stream(config_reader, &ps, config_handler, &ps);
	if (rc == -2)
		fatalx("out of memory reading %s", path);
	if (ps.readerr != 0)
		config_err(&ps, 0, "cannot read: %s", strerror(ps.readerr));
	else {
		if (rc > 0 && ps.nerrs == 0)
			config_err(&ps, rc, "syntax error");
		config_check(&ps);
		if (files)
			config_check_files(&ps);
	}
	fclose(ps.f);
	free(ps.buf);
	free(ps.seen);
	free(ps.hseen);
	if (warnings != NULL && ps.warns.len > 0)
		*warnings = sbuf_steal(&ps.warns);
	sbuf_free(&ps.warns);

	if (ps.nerrs == 0 && !ps.toomany)
		return cf;
	*errors = config_err_join(&ps, path);
	for (i = 0; i < ps.nerrs; i++)
		free(ps.errs[i].msg);
	free(ps.errs);
	config_free(cf);
	return NULL;
}

struct config *
config_load(const char *path, char **errors)
{
	return config_load_flags(path, errors, NULL, 0);
}

struct config *
config_load_checked(const char *path, char **errors, char **warnings)
{
	return config_load_flags(path, errors, warnings, 1);
}

void
config_free(struct config *cf)
{
	struct config_tailnet *tn;
	size_t i;

	if (cf == NULL)
		return;
	for (i = 0; i < cf->ntailnets; i++) {
		tn = &cf->tailnets[i];
		free(tn->name);
		free(tn->api_url);
		free(tn->tailnet);
		free(tn->api_key_file);
		free(tn->oauth_client_id);
		free(tn->oauth_client_secret_file);
	}
	free(cf->tailnets);
	for (i = 0; i < cf->nhooks; i++) {
		free(cf->hooks[i].name);
		free(cf->hooks[i].exec);
		free(cf->hooks[i].events);
	}
	free(cf->hooks);
	for (i = 0; i < cf->netbox.nvrfs; i++) {
		free(cf->netbox.vrfs[i].tailnet);
		free(cf->netbox.vrfs[i].vrf);
	}
	free(cf->netbox.vrfs);
	free(cf->netbox.url);
	free(cf->netbox.token_file);
	free(cf->netbox.owner_tag);
	free(cf->netbox.tag_prefix);
	free(cf->netbox.cf_node_id);
	free(cf->netbox.cf_tailnet);
	free(cf->netbox.cf_last_seen);
	free(cf->path);
	free(cf->state_dir);
	free(cf->socket);
	free(cf->socket_group);
	free(cf->admin_group);
	free(cf->default_tailnet);
	free(cf);
}

const struct config_tailnet *
config_tailnet_find(const struct config *cf, const char *name)
{
	size_t i;

	for (i = 0; i < cf->ntailnets; i++) {
		if (strcmp(cf->tailnets[i].name, name) == 0)
			return &cf->tailnets[i];
	}
	return NULL;
}

const struct config_hook *
config_hook_find(const struct config *cf, const char *name)
{
	size_t i;

	for (i = 0; i < cf->nhooks; i++) {
		if (strcmp(cf->hooks[i].name, name) == 0)
			return &cf->hooks[i];
	}
	return NULL;
}

const char *
config_netbox_vrf(const struct config *cf, const char *tailnet)
{
	for (size_t i = 0; i < cf->netbox.nvrfs; i++)
		if (strcmp(cf->netbox.vrfs[i].tailnet, tailnet) == 0)
			return cf->netbox.vrfs[i].vrf;
	return NULL;
}
