/* ipam.h: addresses as IPAM records: tsinv's plain rows, NetBox's IP-address objects, writers. */
#ifndef TSINV_IPAM_H
#define TSINV_IPAM_H

#include <stdint.h>
#include <jansson.h>

#include "sbuf.h"

/* How a tailnet's addresses become NetBox records. Strings are borrowed. */
struct ipam_map {
	const char *vrf;        /* the tailnet's VRF by name; NULL or "" for the global table */
	const char *owner_tag;  /* slug put on every record, marking it tsinv's; NULL for none */
	const char *tag_prefix; /* put before each Tailscale tag's slug; NULL for none */
	const char *cf_node_id; /* custom field names, without "cf_" */
	const char *cf_tailnet;
	const char *cf_last_seen;
};

#define IPAM_DESCRIPTION_MAX 200 /* characters, NetBox's limit */
#define IPAM_SLUG_MAX 100
#define IPAM_DNS_NAME_MAX 255 /* NetBox's dns_name column */

/* Appends to ROWS one plain row per address of an addresses.list answer RES (borrowed):
 * {"address","family","status","tailnet","vrf","node_id","name","hostname","user","tags",
 *  "os","from_lo","from_hi","to_lo","to_hi","last_seen"}. last_seen is the device's lastSeen
 * when that is no later than the time the address is known held (the answer's time; for a
 * released address the last poll that saw it held), else that time: a connected device, one
 * deleted since, or an export of the past. Rows without an address or a node id are skipped. */
void ipam_rows(json_t *res, const struct ipam_map *m, json_t *rows);
/* The same for one address A of the answer RES (its "addresses" need not be there). */
void ipam_row(json_t *res, json_t *a, const struct ipam_map *m, json_t *rows);
/* ipam_row as hist_addresses_each's row function: ARG is a struct ipam_rows. */
struct ipam_rows {
	const struct ipam_map *m;
	json_t *rows;
};
void ipam_row_fn(void *arg, json_t *head, json_t *a);

/* The members of a row's device and volatile objects that ipam_row reads
 * (hist_addresses_each's FIELDS). */
#define IPAM_FIELDS "name,hostname,user,tags,os,lastSeen"

/* NetBox's tag slug for a Tailscale tag: "tag:" dropped, the prefix put before, lower case,
 * anything but [a-z0-9_-] turned into '-'. 0, or -1 when nothing usable is left. */
int ipam_tag_slug(const char *tag, const char *prefix, char *buf, size_t len);

/* Is S a name NetBox takes as dns_name: dot-separated non-empty labels of letters, digits, '_'
 * and '-', the first of which may be a lone '*', an optional final dot, at most 255
 * characters (NetBox's DNSValidator)? */
int ipam_dns_name_ok(const char *s);

/* A plain row as the object NetBox's REST API takes for a create (new reference), in the row's
 * VRF (M's vrf is not used); a row of an export with NetBox's ids gives its "netbox_id" as "id"
 * and its "netbox_tags" as the tags:
 * {"address":"100.64.0.1/32","vrf":{"name":..}|null,"status","dns_name","description",
 *  "tags":[{"slug":..}],"custom_fields":{node id, tailnet, last seen}}. */
json_t *ipam_netbox_object(json_t *row, const struct ipam_map *m);

/* The fields of WANT (as ipam_netbox_object makes it) that differ from HAVE (a record as NetBox's
 * GET returns it), as a new object to PATCH, or NULL when none does. The address and the VRF are
 * the match's key and never compared. A last seen time that moved by SLACK (us) or less is no
 * difference, so that a sync does not rewrite every record at each poll. */
json_t *ipam_netbox_diff(json_t *have, json_t *want, const struct ipam_map *m, int64_t slack);

/* Cuts S to at most MAX characters (UTF-8 code points, as NetBox counts), in place. */
void ipam_cut_chars(char *s, size_t max);

/* The plain rows as CSV with a header line; RFC 4180 quoting, LF line ends. */
void ipam_write_csv(json_t *rows, struct sbuf *sb);
/* NetBox objects as the CSV NetBox's IP-address bulk import takes: address,vrf,status,dns_name,
 * description,tags,cf_<node id>,cf_<tailnet>,cf_<last seen>; led by an id column when any object
 * has an "id" (empty for the others): NetBox updates the rows with one and creates the rest. */
void ipam_write_netbox_csv(json_t *objs, const struct ipam_map *m, struct sbuf *sb);
/* Any JSON value, indented, with a final newline. */
void ipam_write_json(json_t *v, struct sbuf *sb);

/* One CSV field, quoted when it holds a comma, a quote, CR or LF (or starts or ends in a space,
 * which readers would strip). */
void ipam_csv_field(struct sbuf *sb, const char *s);

/* NetBox's form of a time in custom fields: "2026-11-20T14:05:00+00:00" (what Python's
 * datetime.fromisoformat takes on every version NetBox runs on), seconds only. */
void ipam_time_netbox(int64_t t, char *buf, size_t len);

/* The address part of "100.64.0.1/32" or "fd7a::1/128" as a canonical string and prefix length,
 * so that a record's address compares whatever spelling NetBox gave it. 0 or -1. */
int ipam_addr_key(const char *s, char *buf, size_t len, int *plen);

#endif
