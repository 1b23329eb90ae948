/* norm.h: an API device split into its stable part (history) and its volatile part (now only). */
#ifndef TSINV_NORM_H
#define TSINV_NORM_H

#include <stddef.h>
#include <jansson.h>

#include "addr.h"
#include "tstime.h"

#define NORM_MAX_ADDRS 16
#define NORM_MAX_ID 128

struct norm_device {
	char id[NORM_MAX_ID + 1]; /* nodeId */
	char *stable;             /* compact JSON, keys sorted, string lists sorted; malloc'd */
	size_t stable_len;
	char *vol; /* compact JSON of the volatile fields; malloc'd */
	size_t vol_len;
	struct tsaddr addrs[NORM_MAX_ADDRS];
	size_t naddrs;
	tstime_t created; /* TSTIME_NONE when absent, "" or unparsable */
	size_t order;     /* the caller's: position in the answer */
	tstime_t expires; /* node key expiry; TSTIME_NONE when absent or the zero time */
	int key_expiry_disabled;
	int online;               /* connectedToControl */
	int multiple_connections; /* multipleConnections: the node key is in use twice */
	/* The caller's: the hash of the element's bytes as the API sent them, and whether they
	 * are those its current record was made from (then only the id and the four fields above
	 * are set: nothing was parsed). */
	unsigned char raw[32];
	int same;
};

/* A qsort comparator of strings held as json_t * (lists of tags, scopes, subscriptions). */
int norm_cmp_json_str(const void *a, const void *b);

/* Is KEY one of a device's volatile fields (never versioned)? */
int norm_device_volatile(const char *key);

/* A device's stable part OLD (borrowed) as an earlier release recorded it, with VOL (LEN
 * bytes) its volatile part then: the fields that release kept as volatile and this one
 * versions are copied from VOL into OLD where OLD lacks them, so that comparing OLD with a
 * device normalised now shows what changed, not what tsinv began to record. Returns how many
 * were copied (0: OLD was recorded by this release, or VOL holds none). */
int norm_device_adopt(json_t *old, const char *vol, size_t vol_len);

/* Checks and splits one API device object (borrowed). 0, or -1 with *cause saying what is wrong
 * with which device. */
int norm_device(json_t *dev, struct norm_device *out, char **cause);
void norm_device_free(struct norm_device *nd);

/* A member an element of a list always carries, and what it must be: 's' a string (or null,
 * as the API withholds some), 'S' a string, 'a' a list, 'b' a boolean. */
struct norm_member {
	const char *name;
	char type;
};

/* What the API always sends in each element of its lists (a NULL name ends a table). */
extern const struct norm_member norm_device_members[], norm_user_members[], norm_webhook_members[],
    norm_key_members[];

/* Does OBJ, the I-th WHAT of the answer to LIST (named by its IDMEMBER), carry every member of
 * REQ? 0, or -1 with *cause naming the request, the element and the member: devices: device 3
 * (nodeId "n1"): no "addresses" list. New members are fine. */
int norm_members(json_t *obj, const struct norm_member *req, const char *list, const char *what,
                 size_t i, const char *idmember, char **cause);

/* The names a device can be found by: its MagicDNS name, that name's first label and its
 * hostname, lower-cased, without duplicates. Returns how many were written (at most 3); each
 * is malloc'd. STABLE is a normalised device (borrowed). */
size_t norm_device_names(json_t *stable, char *names[3]);

#endif
