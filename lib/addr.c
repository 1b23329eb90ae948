/* addr.c: parsing and printing Tailscale addresses as 16 bytes, IPv4 mapped into ::ffff:0:0/96. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"

static const uint8_t addr_v4prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

int
addr_parse(const char *s, struct tsaddr *out)
{
	char buf[ADDR_STRLEN];
	struct in_addr a4;
	struct in6_addr a6;
	const char *slash;
	size_t len;

	if (s == NULL || (len = strlen(s)) == 0 || len >= sizeof buf)
		return -1;
	memcpy(buf, s, len + 1);
	/* A host prefix is the only one allowed: it names one address, not a network. */
	if ((slash = strchr(s, '/')) != NULL)
		buf[slash - s] = '\0';
	if (inet_pton(AF_INET, buf, &a4) == 1) {
		if (slash != NULL && strcmp(slash, "/32") != 0)
			return -1;
		memcpy(out->b, addr_v4prefix, sizeof addr_v4prefix);
		memcpy(out->b + 12, &a4, 4);
		return 0;
	}
	if (inet_pton(AF_INET6, buf, &a6) == 1) {
		if (slash != NULL && strcmp(slash, "/128") != 0)
			return -1;
		memcpy(out->b, &a6, sizeof out->b);
		return 0;
	}
	return -1;
}

int
addr_is_v4(const struct tsaddr *a)
{
	return memcmp(a->b, addr_v4prefix, sizeof addr_v4prefix) == 0;
}

void
addr_format(const struct tsaddr *a, char *buf, size_t len)
{
	char tmp[ADDR_STRLEN];

	if (len == 0)
		return;
	if (addr_is_v4(a))
		snprintf(tmp, sizeof tmp, "%u.%u.%u.%u", a->b[12], a->b[13], a->b[14], a->b[15]);
	else if (inet_ntop(AF_INET6, a->b, tmp, sizeof tmp) == NULL)
		tmp[0] = '\0';
	snprintf(buf, len, "%s", tmp);
}
