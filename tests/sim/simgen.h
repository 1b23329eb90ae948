/* simgen.h: deterministic, realistic Tailscale device objects for the simulator and benchmarks. */
#ifndef TSINV_SIMGEN_H
#define TSINV_SIMGEN_H

#include <stddef.h>

#include <jansson.h>

/* Devices with distinct n below this have distinct addresses inside 100.64.0.0/10. */
#define SIMGEN_MAX_DEVICES 4160774UL

/* The MagicDNS suffix of every generated name. */
#define SIMGEN_DNS_SUFFIX ".tail1234.ts.net"

/* Device number n as GET /devices?fields=all shows it (new reference). nodeId, id, hostname,
 * name and addresses depend on n alone and differ for distinct n (addresses: below
 * SIMGEN_MAX_DEVICES); every other field is drawn from *seed_state, which advances. */
json_t *simgen_device(unsigned long n, unsigned *seed_state);

/* Devices 0 .. count-1 drawn from seed (new reference: an array); NULL if count is above
 * SIMGEN_MAX_DEVICES. The same count and seed give the same array. */
json_t *simgen_devices(size_t count, unsigned seed);

/* The generator's PRNG (xorshift32), shared so that the simulator's defaults look the same. */
unsigned simgen_rand(unsigned *state);

/* prefix followed by 64 random hex digits ("mkey:", "nodekey:", "tlpub:"); len >= prefix + 65. */
void simgen_key(char *buf, size_t len, const char *prefix, unsigned *state);

/* Random parts of clientConnectivity (new references): "endpoints" (ip:port strings) and
 * "latency" (DERP region -> {latencyMs, preferred on the fastest}). */
json_t *simgen_endpoints(unsigned *state);
json_t *simgen_latency(unsigned *state);

/* A whole clientConnectivity object (new reference). */
json_t *simgen_connectivity(unsigned *state);

#endif
