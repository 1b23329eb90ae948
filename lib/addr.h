/* addr.h: Tailscale addresses (100.x IPv4, fd7a: IPv6) as 16 bytes, IPv4 mapped into ::ffff:0:0/96.
 */
#ifndef TSINV_ADDR_H
#define TSINV_ADDR_H

#include <stddef.h>
#include <stdint.h>

#define ADDR_STRLEN 64

struct tsaddr {
	uint8_t b[16];
};

/* Accepts "100.64.0.1", "fd7a:115c:a1e0::1", and the same with "/32" or "/128". 0 or -1. */
int addr_parse(const char *s, struct tsaddr *out);
/* Dotted quad for IPv4, RFC 5952 text for IPv6. */
void addr_format(const struct tsaddr *a, char *buf, size_t len);
int addr_is_v4(const struct tsaddr *a);

#endif
