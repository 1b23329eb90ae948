/* ipam.c: addresses as IPAM records: tsinv's plain rows, NetBox's IP-address objects, writers. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipam.h"
#include "log.h"
#include "tstime.h"

/* The plain CSV's columns, in order: each a key of the row. */
static const char *const ipam_plain_columns[] = {
    "address", "family", "status", "tailnet", "vrf",     "node_id", "name",  "hostname",
    "user",    "tags",   "os",     "from_lo", "from_hi", "to_lo",   "to_hi", "last_seen",
};

static const char *
ipam_str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

static json_t *
ipam_str_or_null(const char *s)
{
	return s != NULL && *s != '\0' ? json_string(s) : json_null();
}

void
ipam_time_netbox(int64_t t, char *buf, size_t len)
{
	char tmp[TSTIME_STRLEN];
	size_t n;

	/* Whole seconds, rounded down: a fraction adds nothing and some parsers refuse it. */
	t -= ((t % TSTIME_SEC) + TSTIME_SEC) % TSTIME_SEC;
	tstime_format(t, tmp, sizeof(tmp));
	n = strlen(tmp);
	if (n > 0 && tmp[n - 1] == 'Z')
		tmp[n - 1] = '\0';
	snprintf(buf, len, "%s+00:00", tmp);
}

int
ipam_addr_key(const char *s, char *buf, size_t len, int *plen)
{
	char tmp[INET6_ADDRSTRLEN + 8];
	unsigned char bin[16];
	const char *slash;
	size_t n;
	int af, max, p;
	char *end;

	if (s == NULL || (n = strlen(s)) == 0 || n >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, n + 1);
	if ((slash = strchr(s, '/')) != NULL)
		tmp[slash - s] = '\0';
	if (inet_pton(AF_INET, tmp, bin) == 1) {
		af = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, tmp, bin) == 1) {
		af = AF_INET6;
		max = 128;
	} else
		return -1;
	p = max;
	if (slash != NULL) {
		long v;

		if (!isdigit((unsigned char)slash[1]))
			return -1;
		v = strtol(slash + 1, &end, 10);
		if (*end != '\0' || v < 0 || v > max)
			return -1;
		p = (int)v;
	}
	if (inet_ntop(af, bin, buf, (socklen_t)len) == NULL)
		return -1;
	*plen = p;
	return 0;
}

int
ipam_tag_slug(const char *tag, const char *prefix, char *buf, size_t len)
{
	size_t n = 0;
	int useful = 0;

	if (len == 0)
		return -1;
	if (strncmp(tag, "tag:", 4) == 0)
		tag += 4;
	for (int part = 0; part < 2; part++) {
		const char *p = part == 0 ? (prefix ? prefix : "") : tag;

		for (; *p != '\0' && n + 1 < len; p++) {
			unsigned char c = (unsigned char)tolower((unsigned char)*p);

			if (!(isalnum(c) || c == '_' || c == '-') || c >= 0x80)
				c = '-';
			buf[n++] = (char)c;
			if (part == 1 && c != '-')
				useful = 1;
		}
	}
	buf[n] = '\0';
	return useful ? 0 : -1;
}

/* NetBox's DNSValidator (ipam/validators.py): ^([0-9A-Za-z_-]+|\*)(\.[0-9A-Za-z_-]+)*\.?$ */
int
ipam_dns_name_ok(const char *s)
{
	size_t label = 0;

	if (s == NULL || *s == '\0' || strlen(s) > IPAM_DNS_NAME_MAX)
		return 0;
	if (s[0] == '*' && (s[1] == '\0' || s[1] == '.')) {
		s++;
		label = 1;
	}
	for (; *s != '\0'; s++) {
		if (*s == '.') {
			/* An empty label, or a trailing dot after nothing. */
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= 'A' && *s <= 'Z') || *s == '_' || *s == '-'))
			return 0;
		label++;
	}
	return 1;
}

void
ipam_cut_chars(char *s, size_t max)
{
	size_t chars = 0;

	for (char *p = s; *p != '\0'; p++) {
		if (((unsigned char)*p & 0xc0) == 0x80)
			continue;
		if (chars++ == max) {
			*p = '\0';
			return;
		}
	}
}

/* "hostname (user)": who the address belongs to, as a person reads it. */
static char *
ipam_description(json_t *dev)
{
	const char *host = ipam_str(dev, "hostname"), *user = ipam_str(dev, "user");
	char *d;

	if (*host == '\0')
		host = ipam_str(dev, "name");
	if (*user != '\0')
		d = *host != '\0' ? xasprintf("%s (%s)", host, user) : xstrdup(user);
	else
		d = xstrdup(host);
	ipam_cut_chars(d, IPAM_DESCRIPTION_MAX);
	return d;
}

/* The last time the address was seen in use, as described in ipam.h; TSTIME_NONE if unknown. */
static tstime_t
ipam_last_seen(json_t *res, json_t *a, int active)
{
	const char *cs = json_string_value(json_object_get(a, "to_lo"));
	const char *ls =
	    json_string_value(json_object_get(json_object_get(a, "volatile"), "lastSeen"));
	tstime_t cap, seen;

	/* Held at the answer's time, or until the last poll that saw it held. */
	if (active)
		cs = json_string_value(json_object_get(res, "at"));
	if (cs == NULL || tstime_parse_rfc3339(cs, &cap) == -1)
		return TSTIME_NONE;
	/* The device's own lastSeen is now's; it tells about the past only if it is older. */
	if (ls != NULL && tstime_parse_rfc3339(ls, &seen) == 0 && seen <= cap)
		return seen;
	return cap;
}

void
ipam_row(json_t *res, json_t *a, const struct ipam_map *m, json_t *rows)
{
	const char *tailnet = ipam_str(res, "tailnet");
	json_t *dev = json_object_get(a, "device"), *row, *tags = json_array(), *t;
	const char *status = ipam_str(a, "status");
	int active = strcmp(status, "deprecated") != 0;
	char tbuf[TSTIME_STRLEN];
	tstime_t seen;
	size_t j;

	if (*ipam_str(a, "address") == '\0' || *ipam_str(a, "nodeId") == '\0') {
		json_decref(tags);
		return;
	}
	json_array_foreach(json_object_get(dev, "tags"), j, t)
	{
		if (json_is_string(t))
			json_array_append(tags, t);
	}
	row = json_object();
	json_object_set_new(row, "address", json_string(ipam_str(a, "address")));
	json_object_set(row, "family", json_object_get(a, "family"));
	json_object_set_new(row, "status", json_string(active ? "active" : "deprecated"));
	json_object_set_new(row, "tailnet", json_string(tailnet));
	json_object_set_new(row, "vrf", ipam_str_or_null(m->vrf));
	json_object_set_new(row, "node_id", json_string(ipam_str(a, "nodeId")));
	json_object_set_new(row, "name", json_string(ipam_str(dev, "name")));
	json_object_set_new(row, "hostname", json_string(ipam_str(dev, "hostname")));
	json_object_set_new(row, "user", json_string(ipam_str(dev, "user")));
	json_object_set_new(row, "tags", tags);
	json_object_set_new(row, "os", json_string(ipam_str(dev, "os")));
	for (j = 0; j < 4; j++) {
		static const char *const bounds[] = {"from_lo", "from_hi", "to_lo", "to_hi"};
		json_t *v = json_object_get(a, bounds[j]);

		json_object_set_new(row, bounds[j], json_is_string(v) ? json_copy(v) : json_null());
	}
	seen = ipam_last_seen(res, a, active);
	if (seen != TSTIME_NONE) {
		tstime_format(seen, tbuf, sizeof(tbuf));
		json_object_set_new(row, "last_seen", json_string(tbuf));
	} else
		json_object_set_new(row, "last_seen", json_null());
	json_array_append_new(rows, row);
}

void
ipam_row_fn(void *arg, json_t *head, json_t *a)
{
	struct ipam_rows *x = arg;

	ipam_row(head, a, x->m, x->rows);
}

void
ipam_rows(json_t *res, const struct ipam_map *m, json_t *rows)
{
	json_t *a;
	size_t i;

	json_array_foreach(json_object_get(res, "addresses"), i, a) ipam_row(res, a, m, rows);
}

/* The slugs a row's record carries: the owner tag, then each mapped Tailscale tag, once. */
static json_t *
ipam_slugs(json_t *row, const struct ipam_map *m)
{
	json_t *out = json_array(), *t;
	char slug[IPAM_SLUG_MAX + 1];
	size_t i;

	if (m->owner_tag != NULL && *m->owner_tag != '\0')
		json_array_append_new(out, json_string(m->owner_tag));
	json_array_foreach(json_object_get(row, "tags"), i, t)
	{
		json_t *s;
		size_t k;
		int dup = 0;

		if (ipam_tag_slug(json_string_value(t), m->tag_prefix, slug, sizeof(slug)) == -1)
			continue;
		json_array_foreach(out, k, s) dup |= strcmp(json_string_value(s), slug) == 0;
		if (!dup)
			json_array_append_new(out, json_string(slug));
	}
	return out;
}

json_t *
ipam_netbox_object(json_t *row, const struct ipam_map *m)
{
	json_t *o = json_object(), *slugs = ipam_slugs(row, m), *tags = json_array(), *cf, *s;
	const char *addr = ipam_str(row, "address"), *name = ipam_str(row, "name");
	const char *seen = json_string_value(json_object_get(row, "last_seen"));
	char buf[TSTIME_STRLEN + 8], *desc, *dns;
	size_t i, n;
	tstime_t t;

	json_object_set_new(o, "address",
	                    json_sprintf("%s/%d", addr, strchr(addr, ':') != NULL ? 128 : 32));
	json_object_set_new(o, "vrf",
	                    *ipam_str(row, "vrf") != '\0'
	                        ? json_pack("{s:s}", "name", ipam_str(row, "vrf"))
	                        : json_null());
	json_object_set_new(o, "status", json_string(ipam_str(row, "status")));
	/* MagicDNS names end without a dot in the API; NetBox takes either, but one spelling. */
	dns = xstrdup(name);
	n = strlen(dns);
	if (n > 1 && dns[n - 1] == '.')
		dns[n - 1] = '\0';
	/* NetBox stores it in lower case (IPAddress.clean); compared so, it settles. */
	for (char *p = dns; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	json_object_set_new(o, "dns_name", json_string(ipam_dns_name_ok(dns) ? dns : ""));
	free(dns);
	desc = ipam_description(row);
	json_object_set_new(o, "description", json_string(desc));
	free(desc);
	json_array_foreach(slugs, i, s) json_array_append_new(tags, json_pack("{s:O}", "slug", s));
	json_decref(slugs);
	/* The record NetBox holds (an export with NetBox's ids): its id, and its tag set. */
	if (json_is_integer(json_object_get(row, "netbox_id")))
		json_object_set(o, "id", json_object_get(row, "netbox_id"));
	if (json_is_array(json_object_get(row, "netbox_tags"))) {
		json_decref(tags);
		tags = json_deep_copy(json_object_get(row, "netbox_tags"));
	}
	json_object_set_new(o, "tags", tags);
	cf = json_object();
	json_object_set_new(cf, m->cf_node_id, json_string(ipam_str(row, "node_id")));
	json_object_set_new(cf, m->cf_tailnet, json_string(ipam_str(row, "tailnet")));
	if (seen != NULL && tstime_parse_rfc3339(seen, &t) == 0) {
		ipam_time_netbox(t, buf, sizeof(buf));
		json_object_set_new(cf, m->cf_last_seen, json_string(buf));
	} else
		json_object_set_new(cf, m->cf_last_seen, json_null());
	json_object_set_new(o, "custom_fields", cf);
	return o;
}

/* A tag list, as slugs: [{"slug":..}] (ours) or NetBox's full tag objects, or plain strings. */
static int
ipam_has_slug(json_t *tags, const char *slug)
{
	json_t *t;
	size_t i;

	json_array_foreach(tags, i, t)
	{
		const char *s = json_is_string(t) ? json_string_value(t)
		                                  : json_string_value(json_object_get(t, "slug"));

		if (s != NULL && strcmp(s, slug) == 0)
			return 1;
	}
	return 0;
}

static int
ipam_same_slugs(json_t *a, json_t *b)
{
	json_t *t;
	size_t i;

	if (json_array_size(a) != json_array_size(b))
		return 0;
	json_array_foreach(a, i, t)
	{
		const char *s = json_is_string(t) ? json_string_value(t)
		                                  : json_string_value(json_object_get(t, "slug"));

		if (s == NULL || !ipam_has_slug(b, s))
			return 0;
	}
	return 1;
}

/* NetBox answers a choice field as {"value","label"}; a plain string is taken too. */
static const char *
ipam_choice(json_t *v)
{
	if (json_is_object(v))
		v = json_object_get(v, "value");
	return json_is_string(v) ? json_string_value(v) : "";
}

/* Do two custom field values differ? Strings and null ("" counts as null). */
static int
ipam_cf_differs(json_t *have, json_t *want)
{
	const char *h = json_string_value(have), *w = json_string_value(want);

	if (h == NULL && !json_is_null(have) && have != NULL)
		return 1; /* a number or an object where a string belongs */
	return strcmp(h ? h : "", w ? w : "") != 0;
}

json_t *
ipam_netbox_diff(json_t *have, json_t *want, const struct ipam_map *m, int64_t slack)
{
	static const char *const plain[] = {"dns_name", "description"};
	json_t *patch = json_object(), *hcf = json_object_get(have, "custom_fields"), *wcf, *cf;
	const char *names[2] = {m->cf_node_id, m->cf_tailnet};
	const char *hs, *ws;
	tstime_t ht, wt;

	if (strcmp(ipam_choice(json_object_get(have, "status")), ipam_str(want, "status")) != 0)
		json_object_set_new(patch, "status", json_string(ipam_str(want, "status")));
	for (size_t i = 0; i < 2; i++)
		if (strcmp(ipam_str(have, plain[i]), ipam_str(want, plain[i])) != 0)
			json_object_set_new(patch, plain[i], json_string(ipam_str(want, plain[i])));
	if (!ipam_same_slugs(json_object_get(have, "tags"), json_object_get(want, "tags")))
		json_object_set(patch, "tags", json_object_get(want, "tags"));
	wcf = json_object_get(want, "custom_fields");
	cf = json_object();
	for (size_t i = 0; i < 2; i++)
		if (ipam_cf_differs(json_object_get(hcf, names[i]), json_object_get(wcf, names[i])))
			json_object_set(cf, names[i], json_object_get(wcf, names[i]));
	/* A last seen time is compared as a time, whatever its spelling, and within SLACK. An
	 * unknown one never erases a known one. */
	hs = json_string_value(json_object_get(hcf, m->cf_last_seen));
	ws = json_string_value(json_object_get(wcf, m->cf_last_seen));
	if (ws != NULL && tstime_parse_rfc3339(ws, &wt) == 0 &&
	    (hs == NULL || tstime_parse_rfc3339(hs, &ht) == -1 ||
	     (wt > ht ? wt - ht : ht - wt) > slack))
		json_object_set_new(cf, m->cf_last_seen, json_string(ws));
	if (json_object_size(cf) > 0)
		json_object_set(patch, "custom_fields", cf);
	json_decref(cf);
	if (json_object_size(patch) == 0) {
		json_decref(patch);
		return NULL;
	}
	return patch;
}

void
ipam_csv_field(struct sbuf *sb, const char *s)
{
	size_t n = strlen(s);

	if (strpbrk(s, ",\"\r\n") == NULL && (n == 0 || (s[0] != ' ' && s[n - 1] != ' '))) {
		sbuf_add(sb, s, n);
		return;
	}
	sbuf_addc(sb, '"');
	for (; *s != '\0'; s++) {
		if (*s == '"')
			sbuf_addc(sb, '"');
		sbuf_addc(sb, *s);
	}
	sbuf_addc(sb, '"');
}

/* A JSON value as one CSV field: strings as they are, numbers in decimal, string lists joined
 * by commas, null empty. */
static void
ipam_csv_value(struct sbuf *sb, json_t *v, const char *key)
{
	struct sbuf tmp = {0};
	json_t *t;
	size_t i;

	if (json_is_string(v)) {
		ipam_csv_field(sb, json_string_value(v));
		return;
	}
	if (json_is_integer(v)) {
		sbuf_addf(sb, "%lld", (long long)json_integer_value(v));
		return;
	}
	if (!json_is_array(v))
		return;
	sbuf_init(&tmp);
	sbuf_adds(&tmp, "");
	json_array_foreach(v, i, t)
	{
		const char *s = json_is_string(t) ? json_string_value(t)
		                                  : json_string_value(json_object_get(t, key));

		if (s == NULL)
			continue;
		if (tmp.len > 0)
			sbuf_addc(&tmp, ',');
		sbuf_adds(&tmp, s);
	}
	ipam_csv_field(sb, tmp.p);
	sbuf_free(&tmp);
}

void
ipam_write_csv(json_t *rows, struct sbuf *sb)
{
	const size_t ncol = sizeof(ipam_plain_columns) / sizeof(ipam_plain_columns[0]);
	json_t *row;
	size_t i;

	for (size_t c = 0; c < ncol; c++) {
		if (c > 0)
			sbuf_addc(sb, ',');
		sbuf_adds(sb, ipam_plain_columns[c]);
	}
	sbuf_addc(sb, '\n');
	json_array_foreach(rows, i, row)
	{
		for (size_t c = 0; c < ncol; c++) {
			if (c > 0)
				sbuf_addc(sb, ',');
			ipam_csv_value(sb, json_object_get(row, ipam_plain_columns[c]), NULL);
		}
		sbuf_addc(sb, '\n');
	}
}

void
ipam_write_netbox_csv(json_t *objs, const struct ipam_map *m, struct sbuf *sb)
{
	const char *cfs[3] = {m->cf_node_id, m->cf_tailnet, m->cf_last_seen};
	json_t *o;
	size_t i;
	int ids = 0;

	/* NetBox's bulk import updates a row with an id and creates one without
	 * (netbox/views/generic/bulk_views.py). */
	json_array_foreach(objs, i, o) ids |= json_object_get(o, "id") != NULL;
	if (ids)
		sbuf_adds(sb, "id,");
	sbuf_adds(sb, "address,vrf,status,dns_name,description,tags");
	for (size_t c = 0; c < 3; c++)
		sbuf_addf(sb, ",cf_%s", cfs[c]);
	sbuf_addc(sb, '\n');
	json_array_foreach(objs, i, o)
	{
		json_t *cf = json_object_get(o, "custom_fields");

		if (ids) {
			if (json_is_integer(json_object_get(o, "id")))
				sbuf_addf(sb, "%lld",
				          (long long)json_integer_value(json_object_get(o, "id")));
			sbuf_addc(sb, ',');
		}
		ipam_csv_value(sb, json_object_get(o, "address"), NULL);
		sbuf_addc(sb, ',');
		ipam_csv_value(sb, json_object_get(json_object_get(o, "vrf"), "name"), NULL);
		sbuf_addc(sb, ',');
		ipam_csv_value(sb, json_object_get(o, "status"), NULL);
		sbuf_addc(sb, ',');
		ipam_csv_value(sb, json_object_get(o, "dns_name"), NULL);
		sbuf_addc(sb, ',');
		ipam_csv_value(sb, json_object_get(o, "description"), NULL);
		sbuf_addc(sb, ',');
		ipam_csv_value(sb, json_object_get(o, "tags"), "slug");
		for (size_t c = 0; c < 3; c++) {
			sbuf_addc(sb, ',');
			ipam_csv_value(sb, json_object_get(cf, cfs[c]), NULL);
		}
		sbuf_addc(sb, '\n');
	}
}

void
ipam_write_json(json_t *v, struct sbuf *sb)
{
	char *s = json_dumps(v, JSON_INDENT(2) | JSON_ENCODE_ANY);

	if (s != NULL) {
		sbuf_adds(sb, s);
		free(s);
	}
	sbuf_addc(sb, '\n');
}
