/* simgen.c: deterministic, realistic Tailscale device objects for the simulator and benchmarks. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "simgen.h"

#define SIMGEN_NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Every key and string here is ASCII we wrote, so the _nocheck calls skip jansson's UTF-8 scan:
 * it is a good part of the cost of a 100k-device tailnet. */

/* 100.64.0.0/10 is 16384 blocks of 256; these /24s are Tailscale's own (100.100.100.100, the
 * ChromeOS range 100.115.92.0/23) and never hold a device. Sorted. */
static const uint32_t simgen_reserved_blocks[] = {9316, 13148, 13149};
#define SIMGEN_BLOCKS (16384 - SIMGEN_NELEM(simgen_reserved_blocks))

/* Generated times are fixed, not relative to now, so that a seed always gives the same bytes. */
#define SIMGEN_EPOCH 1704067200L /* 2024-01-01T00:00:00Z */
#define SIMGEN_DAY 86400L

static const char *const simgen_users[] = {
    "alice@example.com",  "bob@example.com",    "carol@example.com",   "dave@example.com",
    "erin@example.com",   "frank@example.com",  "grace@example.com",   "heidi@example.com",
    "ivan@example.com",   "judy@example.com",   "mallory@example.com", "niaj@example.com",
    "olivia@example.com", "peggy@example.com",  "rupert@example.com",  "sybil@example.com",
    "trent@example.com",  "victor@example.com", "walter@example.com",  "yusuf@example.com",
};

static const char *const simgen_server_roles[] = {
    "web",   "db", "ci-runner", "k8s-node", "build", "vpn-gw",  "nas",     "gpu",
    "cache", "mq", "grafana",   "postgres", "redis", "ingress", "bastion",
};

static const char *const simgen_tags[] = {
    "tag:server", "tag:prod", "tag:staging", "tag:ci", "tag:k8s", "tag:db", "tag:monitoring",
};

static const char *const simgen_versions[] = {
    "1.76.6", "1.78.1", "1.80.3", "1.82.0", "1.74.1", "1.72.1",
};
#define SIMGEN_LATEST "1.82.0"

static const char *const simgen_regions[] = {
    "Amsterdam",     "Bangalore",   "Chicago",       "Dallas",    "Denver",
    "Dubai",         "Frankfurt",   "Hong Kong",     "Honolulu",  "Johannesburg",
    "London",        "Los Angeles", "Madrid",        "Miami",     "Nairobi",
    "New York City", "Paris",       "San Francisco", "Sao Paulo", "Seattle",
    "Singapore",     "Sydney",      "Tokyo",         "Toronto",   "Warsaw",
};

static const struct simgen_distro {
	const char *name, *version, *codename;
} simgen_distros[] = {
    {"ubuntu", "24.04", "noble"}, {"ubuntu", "22.04", "jammy"}, {"debian", "12", "bookworm"},
    {"fedora", "40", ""},         {"rhel", "9.4", "Plow"},      {"alpine", "3.20.3", ""},
    {"nixos", "24.05", "uakari"},
};

/* Weighted OS choice (percent): servers dominate a real tailnet. */
static const struct simgen_os {
	const char *name;
	int weight;
} simgen_oses[] = {
    {"linux", 52}, {"windows", 15}, {"macOS", 14}, {"iOS", 9}, {"android", 7}, {"freebsd", 3},
};

unsigned
simgen_rand(unsigned *state)
{
	uint32_t x = *state;

	if (x == 0)
		x = 0x9e3779b9u;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*state = x;
	return x;
}

/* 0 .. n-1 */
static unsigned
simgen_below(unsigned *st, unsigned n)
{
	return (unsigned)(((uint64_t)simgen_rand(st) * n) >> 32);
}

static int
simgen_percent(unsigned *st, unsigned p)
{
	return simgen_below(st, 100) < p;
}

/* A bijection on 32 bits (lowbias32): distinct n give distinct, scattered values. */
static uint32_t
simgen_perm32(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352du;
	x ^= x >> 15;
	x *= 0x846ca68bu;
	x ^= x >> 16;
	return x;
}

/* A bijection on 14 bits (odd multipliers and xorshifts are invertible modulo 2^14). */
static uint32_t
simgen_perm14(uint32_t x)
{
	x = (x * 0x2c5bu + 0x1a3fu) & 0x3fff;
	x ^= x >> 7;
	x = (x * 0x1d35u) & 0x3fff;
	x ^= x >> 5;
	return x;
}

static int
simgen_block_reserved(uint32_t b)
{
	size_t i;

	for (i = 0; i < SIMGEN_NELEM(simgen_reserved_blocks); i++)
		if (simgen_reserved_blocks[i] == b)
			return 1;
	return 0;
}

/* Device n's IPv4: n picks a usable block (cycle-walking keeps the permutation inside the usable
 * blocks) and a host 1..254 in it, so that distinct n below SIMGEN_MAX_DEVICES never collide. */
static void
simgen_v4(unsigned long n, char *buf, size_t len)
{
	uint32_t b = (uint32_t)(n % SIMGEN_BLOCKS), h = (uint32_t)(n / SIMGEN_BLOCKS % 254);
	uint32_t host;
	size_t i;

	for (i = 0; i < SIMGEN_NELEM(simgen_reserved_blocks); i++)
		if (b >= simgen_reserved_blocks[i])
			b++;
	do
		b = simgen_perm14(b);
	while (simgen_block_reserved(b));
	host = (h + simgen_perm32(b) % 254) % 254 + 1;
	snprintf(buf, len, "100.%u.%u.%u", 64 + (b >> 8), b & 0xff, host);
}

static void
simgen_v6(unsigned long n, char *buf, size_t len)
{
	static const unsigned char prefix[6] = {0xfd, 0x7a, 0x11, 0x5c, 0xa1, 0xe0};
	uint32_t w = simgen_perm32((uint32_t)n ^ 0x5bd1e995u);
	unsigned char a[16];

	memset(a, 0, sizeof a);
	memcpy(a, prefix, sizeof prefix);
	a[12] = (unsigned char)(w >> 24);
	a[13] = (unsigned char)(w >> 16);
	a[14] = (unsigned char)(w >> 8);
	a[15] = (unsigned char)w;
	if (inet_ntop(AF_INET6, a, buf, (socklen_t)len) == NULL)
		snprintf(buf, len, "fd7a:115c:a1e0::1");
}

static void
simgen_base62(uint32_t v, char *out, size_t digits)
{
	static const char alpha[] =
	    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	size_t i;

	/* Least significant digit first, so that the string does not start with a small digit. */
	for (i = 0; i < digits; i++) {
		out[i] = alpha[v % 62];
		v /= 62;
	}
	out[digits] = '\0';
}

void
simgen_key(char *buf, size_t len, const char *prefix, unsigned *state)
{
	static const char hex[] = "0123456789abcdef";
	size_t off = strlen(prefix), i;

	if (len < off + 65) {
		if (len > 0)
			buf[0] = '\0';
		return;
	}
	memcpy(buf, prefix, off);
	for (i = 0; i < 64; i += 8) {
		unsigned r = simgen_rand(state);
		int j;

		for (j = 0; j < 8; j++, r >>= 4)
			buf[off + i + (size_t)j] = hex[r & 0xf];
	}
	buf[off + 64] = '\0';
}

static void
simgen_time(long t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

json_t *
simgen_endpoints(unsigned *state)
{
	json_t *a = json_array();
	unsigned port = 41641, i, count = 1 + simgen_below(state, 3);
	char buf[64];

	if (!simgen_percent(state, 60))
		port = 1024 + simgen_below(state, 64000);
	/* The public address (documentation ranges), then LAN addresses. */
	for (i = 0; i < count; i++) {
		if (i == 0)
			snprintf(buf, sizeof buf, "%u.%u.%u.%u:%u", 203, 0, 113,
			         1 + simgen_below(state, 254), 1024 + simgen_below(state, 64000));
		else if (i == 1)
			snprintf(buf, sizeof buf, "192.168.%u.%u:%u", simgen_below(state, 4),
			         2 + simgen_below(state, 250), port);
		else
			snprintf(buf, sizeof buf, "10.%u.%u.%u:%u", simgen_below(state, 256),
			         simgen_below(state, 256), 2 + simgen_below(state, 250), port);
		json_array_append_new(a, json_string_nocheck(buf));
	}
	return a;
}

json_t *
simgen_latency(unsigned *state)
{
	json_t *lat = json_object(), *best = NULL;
	unsigned i, count = 3 + simgen_below(state, 4), first = simgen_below(state, 25);
	double bestms = 1e9;

	for (i = 0; i < count; i++) {
		const char *region = simgen_regions[(first + i * 7) % SIMGEN_NELEM(simgen_regions)];
		/* A multiple of 1/1024 prints short and exact ("60.4638671875"), as the API's do.
		 */
		double ms = 4.0 + simgen_below(state, 256000) / 1024.0;
		json_t *o = json_object();

		json_object_set_new_nocheck(o, "latencyMs", json_real(ms));
		json_object_set_new_nocheck(lat, region, o);
		if (ms < bestms) {
			bestms = ms;
			best = o;
		}
	}
	if (best != NULL)
		json_object_set_new_nocheck(best, "preferred", json_true());
	return lat;
}

json_t *
simgen_connectivity(unsigned *state)
{
	json_t *cc = json_object(), *sup = json_object();

	json_object_set_new_nocheck(cc, "endpoints", simgen_endpoints(state));
	json_object_set_new_nocheck(cc, "mappingVariesByDestIP",
	                            json_boolean(simgen_percent(state, 8)));
	json_object_set_new_nocheck(cc, "latency", simgen_latency(state));
	json_object_set_new_nocheck(sup, "hairPinning", json_null());
	json_object_set_new_nocheck(sup, "ipv6", json_boolean(simgen_percent(state, 40)));
	json_object_set_new_nocheck(sup, "pcp", json_boolean(simgen_percent(state, 5)));
	json_object_set_new_nocheck(sup, "pmp", json_boolean(simgen_percent(state, 20)));
	json_object_set_new_nocheck(sup, "udp", json_boolean(!simgen_percent(state, 3)));
	json_object_set_new_nocheck(sup, "upnp", json_boolean(simgen_percent(state, 25)));
	json_object_set_new_nocheck(cc, "clientSupports", sup);
	return cc;
}

static const char *
simgen_pick_os(unsigned *st)
{
	unsigned r = simgen_below(st, 100), acc = 0;
	size_t i;

	for (i = 0; i < SIMGEN_NELEM(simgen_oses); i++) {
		acc += (unsigned)simgen_oses[i].weight;
		if (r < acc)
			return simgen_oses[i].name;
	}
	return "linux";
}

/* hostname as the OS reports it; n keeps it unique. */
static void
simgen_hostname(unsigned long n, const char *os, const char *user, unsigned *st, char *buf,
                size_t len)
{
	char b36[8];
	size_t ulen = strcspn(user, "@");
	uint32_t v = simgen_perm32((uint32_t)n ^ 0x27d4eb2fu);
	int i;

	if (strcmp(os, "windows") == 0) {
		for (i = 0; i < 7; i++, v /= 36)
			b36[i] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[v % 36];
		b36[7] = '\0';
		snprintf(buf, len, "DESKTOP-%s", b36);
	} else if (strcmp(os, "macOS") == 0)
		snprintf(buf, len, "%.*s-macbook-%lu", (int)ulen, user, n);
	else if (strcmp(os, "iOS") == 0)
		snprintf(buf, len, "%s-%lu", simgen_percent(st, 70) ? "iphone" : "ipad", n);
	else if (strcmp(os, "android") == 0)
		snprintf(buf, len, "pixel-%lu", n);
	else
		snprintf(buf, len, "%s-%lu",
		         simgen_server_roles[simgen_below(st, SIMGEN_NELEM(simgen_server_roles))],
		         n);
}

static json_t *
simgen_strings(const char *const *v, size_t count)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < count; i++)
		json_array_append_new(a, json_string_nocheck(v[i]));
	return a;
}

/* Subnet routers and exit nodes; an admin has not always approved everything advertised. */
static void
simgen_routes(json_t *d, unsigned long n, unsigned *st)
{
	char net16[32], net24[32];
	const char *adv[4];
	size_t nadv = 0, nen;
	unsigned kind = simgen_below(st, 100);

	snprintf(net16, sizeof net16, "10.%lu.0.0/16", n % 250 + 1);
	snprintf(net24, sizeof net24, "192.168.%lu.0/24", n % 250 + 1);
	if (kind < 3) {
		adv[nadv++] = net16;
		adv[nadv++] = net24;
	} else if (kind < 5) {
		adv[nadv++] = "0.0.0.0/0";
		adv[nadv++] = "::/0";
	} else if (kind < 6) {
		adv[nadv++] = net16;
		adv[nadv++] = "0.0.0.0/0";
		adv[nadv++] = "::/0";
	}
	nen = nadv > 0 && simgen_percent(st, 20) ? nadv - 1 : nadv;
	json_object_set_new_nocheck(d, "enabledRoutes", simgen_strings(adv, nen));
	json_object_set_new_nocheck(d, "advertisedRoutes", simgen_strings(adv, nadv));
}

static json_t *
simgen_tagset(unsigned *st)
{
	const char *t[2];
	size_t count = 1 + simgen_below(st, 2);

	t[0] = simgen_tags[simgen_below(st, SIMGEN_NELEM(simgen_tags))];
	t[1] = simgen_tags[simgen_below(st, SIMGEN_NELEM(simgen_tags))];
	if (count == 2 && strcmp(t[0], t[1]) == 0)
		count = 1;
	return simgen_strings(t, count);
}

static json_t *
simgen_posture(const char *os, unsigned *st)
{
	json_t *p = json_object(), *serials;
	char serial[16];
	int i;

	if (strcmp(os, "linux") == 0 && simgen_percent(st, 30)) {
		json_object_set_new_nocheck(p, "disabled", json_true());
		return p;
	}
	for (i = 0; i < 10; i++)
		serial[i] = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"[simgen_below(st, 34)];
	serial[10] = '\0';
	serials = json_array();
	json_array_append_new(serials, json_string_nocheck(serial));
	json_object_set_new_nocheck(p, "serialNumbers", serials);
	return p;
}

json_t *
simgen_device(unsigned long n, unsigned *seed_state)
{
	unsigned *st = seed_state;
	json_t *d = json_object(), *addrs = json_array();
	char buf[160], host[96], v4[32], v6[64], id[8];
	const char *os = simgen_pick_os(st);
	const char *user = simgen_users[simgen_below(st, SIMGEN_NELEM(simgen_users))];
	const char *version = simgen_versions[simgen_below(st, SIMGEN_NELEM(simgen_versions))];
	int external = simgen_percent(st, 1);
	int tagged = !external && strcmp(os, "linux") == 0 && simgen_percent(st, 58);
	int connected = simgen_percent(st, 60);
	long created = SIMGEN_EPOCH + (long)simgen_below(st, 600) * SIMGEN_DAY +
	               (long)simgen_below(st, (unsigned)SIMGEN_DAY);
	size_t i;

	simgen_v4(n, v4, sizeof v4);
	simgen_v6(n, v6, sizeof v6);
	json_array_append_new(addrs, json_string_nocheck(v4));
	json_array_append_new(addrs, json_string_nocheck(v6));
	json_object_set_new_nocheck(d, "addresses", addrs);
	snprintf(buf, sizeof buf, "%llu",
	         100000000000ULL +
	             (unsigned long long)simgen_perm32((uint32_t)n ^ 0x9e3779b9u) * 13);
	json_object_set_new_nocheck(d, "id", json_string_nocheck(buf));
	simgen_base62(simgen_perm32((uint32_t)n ^ 0x1b873593u), id, 6);
	snprintf(buf, sizeof buf, "n%sCNTRL", id);
	json_object_set_new_nocheck(d, "nodeId", json_string_nocheck(buf));
	json_object_set_new_nocheck(d, "user", json_string_nocheck(user));
	simgen_hostname(n, os, user, st, host, sizeof host);
	snprintf(buf, sizeof buf, "%s" SIMGEN_DNS_SUFFIX, host);
	for (i = 0; buf[i] != '\0'; i++)
		if (buf[i] >= 'A' && buf[i] <= 'Z')
			buf[i] = (char)(buf[i] - 'A' + 'a');
	json_object_set_new_nocheck(d, "name", json_string_nocheck(buf));
	json_object_set_new_nocheck(d, "hostname", json_string_nocheck(host));
	if (external)
		json_object_set_new_nocheck(d, "clientVersion", json_string_nocheck(""));
	else {
		snprintf(buf, sizeof buf, "%s-t%08x%x-g%08x%x", version, simgen_rand(st),
		         simgen_below(st, 16), simgen_rand(st), simgen_below(st, 16));
		json_object_set_new_nocheck(d, "clientVersion", json_string_nocheck(buf));
	}
	json_object_set_new_nocheck(d, "updateAvailable",
	                            json_boolean(!external && strcmp(version, SIMGEN_LATEST) != 0));
	json_object_set_new_nocheck(d, "os", json_string_nocheck(os));
	simgen_time(created, buf, sizeof buf);
	json_object_set_new_nocheck(d, "created", json_string_nocheck(external ? "" : buf));
	json_object_set_new_nocheck(d, "connectedToControl", json_boolean(connected));
	if (!connected) {
		simgen_time(created + (long)simgen_below(st, 120) * SIMGEN_DAY +
		                (long)simgen_below(st, (unsigned)SIMGEN_DAY),
		            buf, sizeof buf);
		json_object_set_new_nocheck(d, "lastSeen", json_string_nocheck(buf));
	}
	json_object_set_new_nocheck(d, "keyExpiryDisabled",
	                            json_boolean(external || tagged || simgen_percent(st, 15)));
	simgen_time(created + 180 * SIMGEN_DAY, buf, sizeof buf);
	json_object_set_new_nocheck(d, "expires",
	                            json_string_nocheck(external ? "0001-01-01T00:00:00Z" : buf));
	json_object_set_new_nocheck(d, "authorized", json_boolean(!simgen_percent(st, 2)));
	json_object_set_new_nocheck(d, "isExternal", json_boolean(external));
	simgen_key(buf, sizeof buf, "mkey:", st);
	json_object_set_new_nocheck(d, "machineKey", json_string_nocheck(external ? "" : buf));
	simgen_key(buf, sizeof buf, "nodekey:", st);
	json_object_set_new_nocheck(d, "nodeKey", json_string_nocheck(buf));
	json_object_set_new_nocheck(d, "blocksIncomingConnections",
	                            json_boolean(simgen_percent(st, 4)));
	simgen_routes(d, n, st);
	json_object_set_new_nocheck(d, "clientConnectivity", simgen_connectivity(st));
	json_object_set_new_nocheck(d, "tags", tagged ? simgen_tagset(st) : json_array());
	json_object_set_new_nocheck(d, "tailnetLockError", json_string_nocheck(""));
	simgen_key(buf, sizeof buf, "tlpub:", st);
	json_object_set_new_nocheck(d, "tailnetLockKey", json_string_nocheck(buf));
	json_object_set_new_nocheck(
	    d, "sshEnabled", json_boolean(strcmp(os, "linux") == 0 && simgen_percent(st, 50)));
	json_object_set_new_nocheck(d, "postureIdentity", simgen_posture(os, st));
	json_object_set_new_nocheck(d, "isEphemeral",
	                            json_boolean(tagged && simgen_percent(st, 5)));
	if (strcmp(os, "linux") == 0) {
		const struct simgen_distro *ds =
		    &simgen_distros[simgen_below(st, SIMGEN_NELEM(simgen_distros))];
		json_t *o = json_object();

		json_object_set_new_nocheck(o, "name", json_string_nocheck(ds->name));
		json_object_set_new_nocheck(o, "version", json_string_nocheck(ds->version));
		json_object_set_new_nocheck(o, "codeName", json_string_nocheck(ds->codename));
		json_object_set_new_nocheck(d, "distro", o);
	}
	return d;
}

json_t *
simgen_devices(size_t count, unsigned seed)
{
	unsigned st = seed * 2654435761u ^ 0x6d2b79f5u;
	json_t *a;
	size_t i;

	if (count > SIMGEN_MAX_DEVICES)
		return NULL;
	for (i = 0; i < 8; i++)
		simgen_rand(&st);
	a = json_array();
	for (i = 0; i < count; i++)
		json_array_append_new(a, simgen_device((unsigned long)i, &st));
	return a;
}
