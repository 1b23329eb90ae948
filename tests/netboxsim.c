/* netboxsim.c: a NetBox stand-in for the tests: the REST API's IP addresses, VRFs and tags.
 * Each behaviour follows NetBox's own source (v4.6.8; files named in the comments), not tsinv's
 * reading of it. */
#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
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

#include "ipam.h"
#include "log.h"

#define NETBOXSIM_MAX_BODY (16 << 20)
#define NETBOXSIM_PAGE_SIZE 50       /* NetBox's PAGINATE_COUNT */
#define NETBOXSIM_MAX_PAGE_SIZE 1000 /* NetBox's MAX_PAGE_SIZE */
#define NETBOXSIM_DESC_MAX 200
#define NETBOXSIM_NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define NETBOXSIM_DEFAULT_TOKEN "0123456789abcdef0123456789abcdef01234567"

static const char *const netboxsim_statuses[] = {"active", "reserved", "deprecated", "dhcp",
                                                 "slaac"};
static const char *const netboxsim_status_labels[] = {"Active", "Reserved", "Deprecated", "DHCP",
                                                      "SLAAC"};
static const char *const netboxsim_roles[] = {"loopback", "secondary", "anycast", "vip",
                                              "vrrp",     "hsrp",      "glbp",    "carp"};
/* Roles that may share an address (NetBox's IPADDRESS_ROLES_NONUNIQUE). */
static const char *const netboxsim_roles_nonunique[] = {"anycast", "vip",  "vrrp",
                                                        "hsrp",    "glbp", "carp"};

/* A fault: the next COUNT matching API requests (after SKIP of them) fail with STATUS, or are
 * held DELAY_MS before they are served. */
struct netboxsim_fault {
	int count; /* -1: every one */
	int skip;
	int status;
	long delay_ms;
	bool hold; /* held until the "release" control op */
	bool writes_only;
};

struct netboxsim;

/* An API request held by a delay fault. */
struct netboxsim_call {
	struct netboxsim *s;
	struct evhttp_request *req;
	struct event *timer;
	TAILQ_ENTRY(netboxsim_call) entry;
};

struct netboxsim {
	struct event_base *base;
	struct evhttp *http;
	struct event *sigterm, *sigint;
	char *token, *ro_token;
	char *self; /* http://127.0.0.1:PORT, or --next-base: the host "next" links name */
	bool quiet, global_unique;
	long page_size, max_page_size;
	int api_version;        /* --api-version as major * 100 + minor: 406 by default */
	char api_version_s[16]; /* as the API-Version header says it */
	json_int_t churn_id;    /* a record someone deletes before the next page after the first */
	json_t *last_write;     /* the body of the last write request, for the tests */
	json_t *vrfs, *tags, *cfs, *ips, *changelog;
	json_int_t next_ip, next_vrf, next_tag, next_change;
	unsigned long requests, reads, writes, applied, serial;
	struct netboxsim_fault fault;
	TAILQ_HEAD(, netboxsim_call) pending;
};

/* ---- small helpers ---- */

static const char *
netboxsim_method(enum evhttp_cmd_type cmd)
{
	static const struct {
		enum evhttp_cmd_type cmd;
		const char *name;
	} names[] = {{EVHTTP_REQ_GET, "GET"},       {EVHTTP_REQ_POST, "POST"},
	             {EVHTTP_REQ_PUT, "PUT"},       {EVHTTP_REQ_PATCH, "PATCH"},
	             {EVHTTP_REQ_DELETE, "DELETE"}, {EVHTTP_REQ_HEAD, "HEAD"}};

	for (size_t i = 0; i < NETBOXSIM_NELEM(names); i++)
		if (names[i].cmd == cmd)
			return names[i].name;
	return "OTHER";
}

static bool
netboxsim_is_write(enum evhttp_cmd_type cmd)
{
	return cmd == EVHTTP_REQ_POST || cmd == EVHTTP_REQ_PUT || cmd == EVHTTP_REQ_PATCH ||
	       cmd == EVHTTP_REQ_DELETE;
}

static void
netboxsim_now(char *buf, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%S.000000Z", &tm);
}

static int
netboxsim_in(const char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (s != NULL && strcmp(list[i], s) == 0)
			return (int)i;
	return -1;
}

/* Adds MSG to ERR[FIELD], a list of messages, as DRF reports field errors. */
static void netboxsim_err(json_t *err, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
netboxsim_err(json_t *err, const char *field, const char *fmt, ...)
{
	json_t *list = json_object_get(err, field);
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	if (list == NULL) {
		list = json_array();
		json_object_set_new(err, field, list);
	}
	/* A filter's bad value is reported once, not once per record. */
	for (size_t i = 0; i < json_array_size(list); i++)
		if (strcmp(json_string_value(json_array_get(list, i)), msg) == 0) {
			free(msg);
			return;
		}
	json_array_append_new(list, json_string(msg));
	free(msg);
}

static json_t *
netboxsim_find(json_t *list, json_int_t id)
{
	json_t *o;
	size_t i;

	json_array_foreach(list, i,
	                   o) if (json_integer_value(json_object_get(o, "id")) == id) return o;
	return NULL;
}

static json_t *
netboxsim_find_str(json_t *list, const char *key, const char *value)
{
	json_t *o;
	size_t i;

	json_array_foreach(list, i, o)
	{
		const char *v = json_string_value(json_object_get(o, key));

		if (v != NULL && value != NULL && strcmp(v, value) == 0)
			return o;
	}
	return NULL;
}

static int
netboxsim_parse_id(const char *s, json_int_t *out)
{
	char *end;
	long long v;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v <= 0)
		return -1;
	*out = v;
	return 0;
}

/* ---- replies ---- */

/* The X-Request-ID of the request being served; change records carry it too. */
static void
netboxsim_request_id(struct netboxsim *s, char *buf, size_t len)
{
	snprintf(buf, len, "00000000-0000-4000-8000-%012lu", s->serial);
}

static void
netboxsim_send(struct netboxsim *s, struct evhttp_request *req, int status, json_t *doc)
{
	struct evbuffer *buf = evbuffer_new();
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	const char *uri = evhttp_request_get_uri(req);
	char rid[64], *text = NULL;

	if (doc != NULL)
		text = json_dumps(doc, JSON_COMPACT | JSON_ENCODE_ANY);
	if (text != NULL) {
		evbuffer_add(buf, text, strlen(text));
		evhttp_add_header(h, "Content-Type", "application/json");
	}
	netboxsim_request_id(s, rid, sizeof(rid));
	evhttp_add_header(h, "X-Request-ID", rid);
	/* netbox/middleware.py: every API answer names the REST API's version. */
	if (uri != NULL && strncmp(uri, "/api/", 5) == 0)
		evhttp_add_header(h, "API-Version", s->api_version_s);
	if (!s->quiet)
		log_info("%s %.200s -> %d, %zu bytes",
		         netboxsim_method(evhttp_request_get_command(req)), uri, status,
		         evbuffer_get_length(buf));
	evhttp_send_reply(req, status, status < 300 ? "OK" : "Error", buf);
	evbuffer_free(buf);
	free(text);
}

static void
netboxsim_detail(struct netboxsim *s, struct evhttp_request *req, int status, const char *detail)
{
	json_t *doc = json_pack("{s:s}", "detail", detail);

	netboxsim_send(s, req, status, doc);
	json_decref(doc);
}

/* ---- views: stored records as NetBox answers them ---- */

static json_t *
netboxsim_vrf_brief(struct netboxsim *s, json_t *v)
{
	json_int_t id = json_integer_value(json_object_get(v, "id"));

	return json_pack("{s:I, s:o, s:O, s:O, s:O, s:s}", "id", id, "url",
	                 json_sprintf("%s/api/ipam/vrfs/%lld/", s->self, (long long)id), "display",
	                 json_object_get(v, "name"), "name", json_object_get(v, "name"), "rd",
	                 json_object_get(v, "rd"), "description", "");
}

static json_t *
netboxsim_tag_view(struct netboxsim *s, json_t *t)
{
	json_int_t id = json_integer_value(json_object_get(t, "id"));

	return json_pack("{s:I, s:o, s:O, s:O, s:O, s:O, s:O}", "id", id, "url",
	                 json_sprintf("%s/api/extras/tags/%lld/", s->self, (long long)id),
	                 "display", json_object_get(t, "name"), "name", json_object_get(t, "name"),
	                 "slug", json_object_get(t, "slug"), "color", json_object_get(t, "color"),
	                 "description", json_object_get(t, "description"));
}

static json_t *
netboxsim_vrf_view(struct netboxsim *s, json_t *v)
{
	json_t *o = netboxsim_vrf_brief(s, v);

	json_object_set(o, "enforce_unique", json_object_get(v, "enforce_unique"));
	return o;
}

static json_t *
netboxsim_ip_view(struct netboxsim *s, json_t *r)
{
	json_int_t id = json_integer_value(json_object_get(r, "id"));
	const char *addr = json_string_value(json_object_get(r, "address"));
	const char *status = json_string_value(json_object_get(r, "status"));
	json_t *vrf = json_object_get(r, "vrf"), *tags = json_array(), *t, *v;
	int si = netboxsim_in(netboxsim_statuses, NETBOXSIM_NELEM(netboxsim_statuses), status);
	size_t i;

	json_array_foreach(json_object_get(r, "tags"), i, t)
	{
		json_t *tag = netboxsim_find(s->tags, json_integer_value(t));

		if (tag != NULL)
			json_array_append_new(tags, netboxsim_tag_view(s, tag));
	}
	v = json_pack("{s:I, s:o, s:s, s:{s:i, s:s}, s:s}", "id", id, "url",
	              json_sprintf("%s/api/ipam/ip-addresses/%lld/", s->self, (long long)id),
	              "display", addr, "family", "value", strchr(addr, ':') ? 6 : 4, "label",
	              strchr(addr, ':') ? "IPv6" : "IPv4", "address", addr);
	json_object_set_new(
	    v, "vrf",
	    json_is_integer(vrf)
	        ? netboxsim_vrf_brief(s, netboxsim_find(s->vrfs, json_integer_value(vrf)))
	        : json_null());
	json_object_set_new(v, "tenant", json_null());
	json_object_set_new(v, "status",
	                    json_pack("{s:s, s:s}", "value", status, "label",
	                              si >= 0 ? netboxsim_status_labels[si] : status));
	json_object_set(v, "role", json_object_get(r, "role"));
	json_object_set_new(v, "assigned_object_type", json_null());
	json_object_set_new(v, "assigned_object_id", json_null());
	json_object_set_new(v, "assigned_object", json_null());
	json_object_set_new(v, "nat_inside", json_null());
	json_object_set_new(v, "nat_outside", json_array());
	json_object_set(v, "dns_name", json_object_get(r, "dns_name"));
	json_object_set(v, "description", json_object_get(r, "description"));
	json_object_set(v, "comments", json_object_get(r, "comments"));
	json_object_set_new(v, "tags", tags);
	json_object_set(v, "custom_fields", json_object_get(r, "custom_fields"));
	json_object_set(v, "created", json_object_get(r, "created"));
	json_object_set(v, "last_updated", json_object_get(r, "last_updated"));
	return v;
}

/* ---- writes: checked as NetBox's serializers and model clean() check them ---- */

/* A related object given by numeric id or by a dict of unique attributes. NULL after an error. */
static json_t *
netboxsim_related(json_t *list, json_t *given, const char *field, const char *const *attrs,
                  size_t nattrs, json_t *err)
{
	json_t *o = NULL;

	if (json_is_integer(given)) {
		if ((o = netboxsim_find(list, json_integer_value(given))) == NULL)
			netboxsim_err(
			    err, field,
			    "Related object not found using the provided numeric ID: %lld",
			    (long long)json_integer_value(given));
		return o;
	}
	if (json_is_object(given) && json_object_size(given) > 0) {
		const char *k;
		json_t *v, *c;
		size_t i;

		json_array_foreach(list, i, c)
		{
			int match = 1;

			json_object_foreach(given, k, v)
			{
				if (strcmp(k, "id") == 0)
					match &= json_integer_value(json_object_get(c, "id")) ==
					         json_integer_value(v);
				else if (netboxsim_in(attrs, nattrs, k) >= 0)
					match &= json_equal(json_object_get(c, k), v);
				else
					match = 0;
			}
			if (match) {
				o = c;
				break;
			}
		}
		if (o == NULL) {
			char *text = json_dumps(given, JSON_COMPACT | JSON_SORT_KEYS);

			netboxsim_err(err, field,
			              "Related object not found using the provided attributes: %s",
			              text ? text : "?");
			free(text);
		}
		return o;
	}
	netboxsim_err(
	    err, field,
	    "Related objects must be referenced by numeric ID or by dictionary of attributes. "
	    "Received an unrecognized value: %s",
	    json_is_string(given) ? json_string_value(given) : "?");
	return NULL;
}

static const char *const netboxsim_vrf_attrs[] = {"name", "rd"};
static const char *const netboxsim_tag_attrs[] = {"name", "slug"};

/* ipam/validators.py DNSValidator: ^([0-9A-Za-z_-]+|\*)(\.[0-9A-Za-z_-]+)*\.?$ (blank allowed) */
static int
netboxsim_dns_ok(const char *s)
{
	static const char label[] =
	    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-";
	size_t n;

	if (*s == '\0')
		return 1;
	n = s[0] == '*' ? 1 : strspn(s, label);
	if (n == 0)
		return 0;
	for (s += n; *s == '.' && (n = strspn(s + 1, label)) > 0; s += n + 1)
		;
	return strcmp(s, "") == 0 || strcmp(s, ".") == 0;
}

static size_t
netboxsim_chars(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* A string field: checked and set, or an error. */
static void
netboxsim_string_field(json_t *rec, json_t *data, const char *field, size_t max, json_t *err)
{
	json_t *v = json_object_get(data, field);

	if (v == NULL)
		return;
	if (json_is_null(v))
		v = json_string("");
	else if (!json_is_string(v)) {
		netboxsim_err(err, field, "Not a valid string.");
		return;
	} else
		json_incref(v);
	if (max > 0 && netboxsim_chars(json_string_value(v)) > max)
		netboxsim_err(err, field, "Ensure this field has no more than %zu characters.",
		              max);
	else if (strcmp(field, "dns_name") == 0 && !netboxsim_dns_ok(json_string_value(v)))
		netboxsim_err(err, field,
		              "Only alphanumeric characters, asterisks, hyphens, periods, and "
		              "underscores are allowed in DNS names");
	else if (strcmp(field, "dns_name") == 0) {
		/* ipam/models/ip.py IPAddress.clean(): "Force dns_name to lowercase". */
		char *low = xstrdup(json_string_value(v));

		for (char *p = low; *p != '\0'; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		json_object_set_new(rec, field, json_string(low));
		free(low);
	} else
		json_object_set(rec, field, v);
	json_decref(v);
}

/* A list of tags (by id, or a dict of name and/or slug) as their ids (new reference). */
static json_t *
netboxsim_tag_ids(struct netboxsim *s, json_t *v, const char *field, json_t *err)
{
	json_t *ids = json_array(), *t, *o;
	size_t i;

	if (!json_is_array(v))
		netboxsim_err(err, field, "Expected a list of items but got type \"%s\".",
		              json_is_object(v) ? "dict" : "str");
	json_array_foreach(v, i, t)
	{
		if ((o = netboxsim_related(s->tags, t, field, netboxsim_tag_attrs,
		                           NETBOXSIM_NELEM(netboxsim_tag_attrs), err)) != NULL)
			json_array_append(ids, json_object_get(o, "id"));
	}
	return ids;
}

static bool
netboxsim_has_id(json_t *ids, json_t *id)
{
	json_t *x;
	size_t i;

	json_array_foreach(ids, i, x) if (json_equal(x, id)) return true;
	return false;
}

/* netbox/api/serializers/features.py TaggableModelSerializer: "tags" sets the whole set;
 * from 4.6, "add_tags" and "remove_tags" change it, never with "tags", remove_tags never on a
 * create, no tag in both. Before 4.6 the two are unknown fields, ignored as DRF ignores them. */
static void
netboxsim_ip_tags(struct netboxsim *s, json_t *rec, json_t *data, bool create, json_t *err)
{
	json_t *tags = json_object_get(data, "tags"), *add = NULL, *rm = NULL, *ids, *x;
	size_t i;

	if (s->api_version >= 406) {
		add = json_object_get(data, "add_tags");
		rm = json_object_get(data, "remove_tags");
	}
	if (json_array_size(tags) > 0 && (json_array_size(add) > 0 || json_array_size(rm) > 0)) {
		netboxsim_err(err, "tags",
		              "Cannot specify \"tags\" together with \"add_tags\" or "
		              "\"remove_tags\".");
		return;
	}
	if (create && json_array_size(rm) > 0) {
		netboxsim_err(err, "remove_tags",
		              "Cannot use \"remove_tags\" when creating a new object.");
		return;
	}
	if (tags != NULL) {
		json_object_set_new(rec, "tags", netboxsim_tag_ids(s, tags, "tags", err));
		return;
	}
	ids = json_copy(json_object_get(rec, "tags"));
	if (add != NULL) {
		json_t *a = netboxsim_tag_ids(s, add, "add_tags", err);

		json_array_foreach(a, i, x) if (!netboxsim_has_id(ids, x))
		    json_array_append(ids, x);
		json_decref(a);
	}
	if (rm != NULL) {
		json_t *r = netboxsim_tag_ids(s, rm, "remove_tags", err), *keep = json_array();

		json_array_foreach(r, i, x) if (add != NULL && netboxsim_has_id(add, x))
		    netboxsim_err(
		        err, "remove_tags",
		        "Tags may not be present in both \"add_tags\" and \"remove_tags\"");
		json_array_foreach(ids, i, x) if (!netboxsim_has_id(r, x))
		    json_array_append(keep, x);
		json_decref(ids);
		ids = keep;
		json_decref(r);
	}
	json_object_set_new(rec, "tags", ids);
}

/* Applies DATA (a create, or a partial update) to REC, reporting problems into ERR. */
static void
netboxsim_ip_apply(struct netboxsim *s, json_t *rec, json_t *data, bool create, json_t *err)
{
	json_t *v, *o;
	const char *k;

	if ((v = json_object_get(data, "address")) != NULL) {
		char buf[64];
		int plen;

		if (!json_is_string(v) ||
		    ipam_addr_key(json_string_value(v), buf, sizeof(buf), &plen) == -1)
			netboxsim_err(err, "address",
			              "Enter a valid IPv4 or IPv6 address with optional mask.");
		else
			json_object_set_new(rec, "address", json_sprintf("%s/%d", buf, plen));
	} else if (create)
		netboxsim_err(err, "address", "This field is required.");
	if ((v = json_object_get(data, "vrf")) != NULL) {
		if (json_is_null(v))
			json_object_set_new(rec, "vrf", json_null());
		else if ((o = netboxsim_related(s->vrfs, v, "vrf", netboxsim_vrf_attrs,
		                                NETBOXSIM_NELEM(netboxsim_vrf_attrs), err)) != NULL)
			json_object_set(rec, "vrf", json_object_get(o, "id"));
	}
	if ((v = json_object_get(data, "status")) != NULL) {
		if (netboxsim_in(netboxsim_statuses, NETBOXSIM_NELEM(netboxsim_statuses),
		                 json_string_value(v)) < 0)
			netboxsim_err(err, "status", "\"%s\" is not a valid choice.",
			              json_is_string(v) ? json_string_value(v) : "?");
		else
			json_object_set(rec, "status", v);
	}
	if ((v = json_object_get(data, "role")) != NULL) {
		if (json_is_null(v) || (json_is_string(v) && *json_string_value(v) == '\0'))
			json_object_set_new(rec, "role", json_null());
		else if (netboxsim_in(netboxsim_roles, NETBOXSIM_NELEM(netboxsim_roles),
		                      json_string_value(v)) < 0)
			netboxsim_err(err, "role", "\"%s\" is not a valid choice.",
			              json_is_string(v) ? json_string_value(v) : "?");
		else
			json_object_set(rec, "role", v);
	}
	netboxsim_string_field(rec, data, "dns_name", 255, err);
	netboxsim_string_field(rec, data, "description", NETBOXSIM_DESC_MAX, err);
	netboxsim_string_field(rec, data, "comments", 0, err);
	if ((v = json_object_get(data, "changelog_message")) != NULL &&
	    (!json_is_string(v) || netboxsim_chars(json_string_value(v)) > 200))
		netboxsim_err(err, "changelog_message",
		              "Ensure this field has no more than 200 characters.");
	netboxsim_ip_tags(s, rec, data, create, err);
	if ((v = json_object_get(data, "custom_fields")) != NULL) {
		/* An update merges into the stored data, as NetBox does. */
		json_t *cf = json_deep_copy(json_object_get(rec, "custom_fields"));
		json_t *unknown = json_object();

		if (!json_is_object(v))
			netboxsim_err(err, "custom_fields",
			              "Invalid data format. Custom field data must be passed as a "
			              "dictionary mapping field names to their values.");
		/* extras/api/customfields.py CustomFieldsDataField.to_internal_value(): unknown
		 * names are refused as one nested object, {"custom_fields": {name: msg}}. */
		json_object_foreach(v, k, o)
		{
			size_t j;
			json_t *name;
			bool known = false;

			json_array_foreach(s->cfs, j, name) known |=
			    strcmp(json_string_value(name), k) == 0;
			if (!known)
				json_object_set_new(
				    unknown, k,
				    json_sprintf(
				        "Custom field '%s' does not exist for this object type.",
				        k));
		}
		if (json_object_size(unknown) > 0 &&
		    json_object_get(err, "custom_fields") == NULL) {
			json_object_set_new(err, "custom_fields", unknown);
			unknown = NULL;
		}
		json_decref(unknown);
		json_object_foreach(v, k, o)
		{
			size_t j;
			json_t *name;
			bool known = false;

			json_array_foreach(s->cfs, j, name) known |=
			    strcmp(json_string_value(name), k) == 0;
			if (!known)
				continue;
			else if (!json_is_string(o) && !json_is_null(o))
				netboxsim_err(err, "custom_fields", "Value must be a string.");
			else
				json_object_set(cf, k, o);
		}
		json_object_set_new(rec, "custom_fields", cf);
	}
}

/* NetBox's IPAddress.clean(): no duplicate address in a VRF that enforces uniqueness, nor in
 * the global table while ENFORCE_GLOBAL_UNIQUE is on (the default). */
static void
netboxsim_ip_unique(struct netboxsim *s, json_t *ips, json_t *rec, json_t *err)
{
	const char *addr = json_string_value(json_object_get(rec, "address"));
	json_t *vrf = json_object_get(rec, "vrf"), *v = NULL, *o;
	char host[64], other[64];
	int plen;
	size_t i;
	bool nonunique =
	    netboxsim_in(netboxsim_roles_nonunique, NETBOXSIM_NELEM(netboxsim_roles_nonunique),
	                 json_string_value(json_object_get(rec, "role"))) >= 0;

	if (addr == NULL || ipam_addr_key(addr, host, sizeof(host), &plen) == -1)
		return;
	if (json_is_integer(vrf)) {
		v = netboxsim_find(s->vrfs, json_integer_value(vrf));
		if (v == NULL || !json_is_true(json_object_get(v, "enforce_unique")))
			return;
	} else if (!s->global_unique)
		return;
	json_array_foreach(ips, i, o)
	{
		if (o == rec || json_integer_value(json_object_get(o, "id")) ==
		                    json_integer_value(json_object_get(rec, "id")))
			continue;
		if (!json_equal(json_object_get(o, "vrf"), vrf) ||
		    ipam_addr_key(json_string_value(json_object_get(o, "address")), other,
		                  sizeof(other), &plen) == -1 ||
		    strcmp(host, other) != 0)
			continue;
		if (nonunique && netboxsim_in(netboxsim_roles_nonunique,
		                              NETBOXSIM_NELEM(netboxsim_roles_nonunique),
		                              json_string_value(json_object_get(o, "role"))) >= 0)
			continue;
		if (v != NULL)
			netboxsim_err(err, "address", "Duplicate IP address found in VRF %s: %s",
			              json_string_value(json_object_get(v, "name")), addr);
		else
			netboxsim_err(err, "address",
			              "Duplicate IP address found in global table: %s", addr);
		return;
	}
}

static json_t *
netboxsim_ip_new(struct netboxsim *s, json_int_t id)
{
	json_t *cf = json_object(), *name;
	char now[64];
	size_t i;

	json_array_foreach(s->cfs, i, name)
	    json_object_set_new(cf, json_string_value(name), json_null());
	netboxsim_now(now, sizeof(now));
	return json_pack("{s:I, s:n, s:n, s:s, s:n, s:s, s:s, s:s, s:[], s:o, s:s, s:s}", "id", id,
	                 "address", "vrf", "status", "active", "role", "dns_name", "",
	                 "description", "", "comments", "", "tags", "custom_fields", cf, "created",
	                 now, "last_updated", now);
}

static void
netboxsim_log_change(struct netboxsim *s, json_t *log, const char *action, json_t *rec,
                     json_t *data)
{
	json_t *msg = json_object_get(data, "changelog_message");
	char rid[64];

	netboxsim_request_id(s, rid, sizeof(rid));
	json_array_append_new(
	    log, json_pack("{s:I, s:s, s:s, s:O, s:s, s:s}", "id", ++s->next_change, "request_id",
	                   rid, "action", action, "object_id", json_object_get(rec, "id"),
	                   "address", json_string_value(json_object_get(rec, "address")), "message",
	                   json_is_string(msg) ? json_string_value(msg) : ""));
}

/* A write to the IP addresses: ITEMS (a list, or one object when !many) created or updated
 * all or nothing. Answers the request. */
static void
netboxsim_ip_write(struct netboxsim *s, struct evhttp_request *req, json_t *body,
                   json_int_t path_id)
{
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	bool many = json_is_array(body), create = cmd == EVHTTP_REQ_POST, failed = false;
	json_t *items = many ? json_incref(body) : json_pack("[O]", body);
	json_t *ips = json_deep_copy(s->ips), *errs = json_array(), *done = json_array();
	json_t *log = json_array(), *item, *first_err = NULL;
	json_int_t next = s->next_ip;
	char now[64];
	size_t i;

	netboxsim_now(now, sizeof(now));
	if (!json_is_array(body) && !json_is_object(body)) {
		netboxsim_detail(s, req, 400, "Invalid data. Expected a dictionary or a list.");
		goto out;
	}
	json_array_foreach(items, i, item)
	{
		json_t *err = json_object(), *rec;

		if (!json_is_object(item)) {
			netboxsim_err(err, "non_field_errors",
			              "Invalid data. Expected a dictionary.");
			rec = NULL;
		} else if (create) {
			rec = netboxsim_ip_new(s, ++next);
			json_array_append_new(ips, rec);
		} else {
			json_t *jid = json_object_get(item, "id");

			rec = NULL;
			if (path_id == 0 && !json_is_integer(jid))
				netboxsim_err(err, "id", "This field is required.");
			/* Bulk updates skip ids that do not exist, as NetBox's filter does. */
			else if ((rec = netboxsim_find(
			              ips, path_id ? path_id : json_integer_value(jid))) == NULL &&
			         path_id != 0) {
				json_decref(err);
				netboxsim_detail(s, req, 404,
				                 "No IPAddress matches the given query.");
				goto out;
			}
		}
		if (rec != NULL) {
			netboxsim_ip_apply(s, rec, item, create || cmd == EVHTTP_REQ_PUT, err);
			if (json_object_size(err) == 0)
				netboxsim_ip_unique(s, ips, rec, err);
			json_object_set_new(rec, "last_updated", json_string(now));
			json_array_append(done, rec);
			netboxsim_log_change(s, log, create ? "create" : "update", rec, item);
		}
		if (json_object_size(err) > 0 && first_err == NULL) {
			first_err = err;
			failed = true;
		}
		json_array_append_new(errs, err);
	}
	if (failed) {
		/* Bulk create reports a list aligned with the items; an update, the first error. */
		netboxsim_send(s, req, 400, many && create ? errs : first_err);
		goto out;
	}
	json_decref(s->ips);
	s->ips = json_incref(ips);
	s->next_ip = next;
	json_array_extend(s->changelog, log);
	s->applied++;
	{
		json_t *res = json_array(), *r;

		json_array_foreach(done, i, r) json_array_append_new(res, netboxsim_ip_view(s, r));
		netboxsim_send(s, req, create ? 201 : 200, many ? res : json_array_get(res, 0));
		json_decref(res);
	}
out:
	json_decref(items);
	json_decref(ips);
	json_decref(errs);
	json_decref(done);
	json_decref(log);
}

static void
netboxsim_ip_delete(struct netboxsim *s, struct evhttp_request *req, json_t *body,
                    json_int_t path_id)
{
	json_t *ids = json_array(), *item;
	size_t i;

	if (path_id != 0)
		json_array_append_new(ids, json_integer(path_id));
	else if (json_is_array(body))
		json_array_foreach(body, i, item)
		    json_array_append(ids, json_object_get(item, "id"));
	json_array_foreach(ids, i, item)
	{
		if (netboxsim_find(s->ips, json_integer_value(item)) == NULL) {
			if (path_id != 0)
				netboxsim_detail(s, req, 404,
				                 "No IPAddress matches the given query.");
			else
				netboxsim_send(s, req, 400,
				               json_pack("{s:[s]}", "id", "Invalid id."));
			json_decref(ids);
			return;
		}
	}
	json_array_foreach(ids, i, item)
	{
		json_t *o;
		size_t j;

		json_array_foreach(s->ips, j, o)
		{
			if (json_integer_value(json_object_get(o, "id")) ==
			    json_integer_value(item)) {
				netboxsim_log_change(s, s->changelog, "delete", o, NULL);
				json_array_remove(s->ips, j);
				break;
			}
		}
	}
	s->applied++;
	json_decref(ids);
	netboxsim_send(s, req, 204, NULL);
}

/* ---- lists: filters and limit/offset pagination ---- */

typedef int (*netboxsim_filter_fn)(struct netboxsim *s, json_t *rec, struct evkeyvalq *q,
                                   json_t *err);

static bool
netboxsim_any_value(struct evkeyvalq *q, const char *key)
{
	struct evkeyval *kv;

	TAILQ_FOREACH(kv, q, next) if (strcmp(kv->key, key) == 0) return true;
	return false;
}

/* Does REC match the multi-valued filter KEY (any of its values, or all when ALL)? MATCH tells
 * one value; it may report a bad value into ERR. */
static int
netboxsim_multi(struct netboxsim *s, json_t *rec, struct evkeyvalq *q, const char *key, bool all,
                int (*match)(struct netboxsim *, json_t *, const char *, json_t *), json_t *err)
{
	struct evkeyval *kv;
	int any = 0, every = 1;

	if (!netboxsim_any_value(q, key))
		return 1;
	TAILQ_FOREACH(kv, q, next)
	{
		int m;

		if (strcmp(kv->key, key) != 0)
			continue;
		m = match(s, rec, kv->value, err);
		any |= m;
		every &= m;
	}
	return all ? every : any;
}

static int
netboxsim_m_id(struct netboxsim *s, json_t *rec, const char *v, json_t *err)
{
	json_int_t id;

	if (netboxsim_parse_id(v, &id) == -1) {
		netboxsim_err(err, "id", "Enter a number.");
		return 0;
	}
	return json_integer_value(json_object_get(rec, "id")) == id;
}

static int
netboxsim_m_address(struct netboxsim *s, json_t *rec, const char *v, json_t *err)
{
	char a[64], b[64];
	int pa, pb;

	if (ipam_addr_key(v, a, sizeof(a), &pa) == -1) {
		netboxsim_err(err, "address", "Enter a valid IPv4 or IPv6 address.");
		return 0;
	}
	return ipam_addr_key(json_string_value(json_object_get(rec, "address")), b, sizeof(b),
	                     &pb) == 0 &&
	       strcmp(a, b) == 0 && (strchr(v, '/') == NULL || pa == pb);
}

static int
netboxsim_m_vrf_id(struct netboxsim *s, json_t *rec, const char *v, json_t *err)
{
	json_t *vrf = json_object_get(rec, "vrf");
	json_int_t id;

	if (strcmp(v, "null") == 0)
		return json_is_null(vrf);
	if (netboxsim_parse_id(v, &id) == -1 || netboxsim_find(s->vrfs, id) == NULL) {
		netboxsim_err(err, "vrf_id",
		              "Select a valid choice. %s is not one of the available choices.", v);
		return 0;
	}
	return json_integer_value(vrf) == id;
}

static int
netboxsim_m_status(struct netboxsim *s, json_t *rec, const char *v, json_t *err)
{
	if (netboxsim_in(netboxsim_statuses, NETBOXSIM_NELEM(netboxsim_statuses), v) < 0) {
		netboxsim_err(err, "status",
		              "Select a valid choice. %s is not one of the available choices.", v);
		return 0;
	}
	return strcmp(json_string_value(json_object_get(rec, "status")), v) == 0;
}

static int
netboxsim_m_tag(struct netboxsim *s, json_t *rec, const char *v, json_t *err)
{
	json_t *tag = netboxsim_find_str(s->tags, "slug", v), *t;
	size_t i;

	if (tag == NULL) {
		netboxsim_err(err, "tag",
		              "Select a valid choice. %s is not one of the available choices.", v);
		return 0;
	}
	json_array_foreach(json_object_get(rec, "tags"), i,
	                   t) if (json_integer_value(t) ==
	                          json_integer_value(json_object_get(tag, "id"))) return 1;
	return 0;
}

static int
netboxsim_m_name(struct netboxsim *s, json_t *rec, const char *v, json_t *err)
{
	return strcmp(json_string_value(json_object_get(rec, "name")), v) == 0;
}

static int
netboxsim_m_slug(struct netboxsim *s, json_t *rec, const char *v, json_t *err)
{
	return strcmp(json_string_value(json_object_get(rec, "slug")), v) == 0;
}

static int
netboxsim_m_dns_name(struct netboxsim *s, json_t *rec, const char *v, json_t *err)
{
	return strcmp(json_string_value(json_object_get(rec, "dns_name")), v) == 0;
}

static int
netboxsim_filter_ip(struct netboxsim *s, json_t *rec, struct evkeyvalq *q, json_t *err)
{
	struct evkeyval *kv;
	int ok = netboxsim_multi(s, rec, q, "id", false, netboxsim_m_id, err) &
	         netboxsim_multi(s, rec, q, "address", false, netboxsim_m_address, err) &
	         netboxsim_multi(s, rec, q, "vrf_id", false, netboxsim_m_vrf_id, err) &
	         netboxsim_multi(s, rec, q, "status", false, netboxsim_m_status, err) &
	         netboxsim_multi(s, rec, q, "tag", true, netboxsim_m_tag, err) &
	         netboxsim_multi(s, rec, q, "dns_name", false, netboxsim_m_dns_name, err);

	/* cf_NAME=VALUE: exact match on a custom field; unknown names are ignored, as NetBox
	 * makes filters only for the fields it has. */
	TAILQ_FOREACH(kv, q, next)
	{
		json_t *v;

		if (strncmp(kv->key, "cf_", 3) != 0)
			continue;
		v = json_object_get(json_object_get(rec, "custom_fields"), kv->key + 3);
		if (v != NULL &&
		    (!json_is_string(v) || strcmp(json_string_value(v), kv->value) != 0))
			ok = 0;
	}
	return ok;
}

static int
netboxsim_filter_vrf(struct netboxsim *s, json_t *rec, struct evkeyvalq *q, json_t *err)
{
	return netboxsim_multi(s, rec, q, "id", false, netboxsim_m_id, err) &
	       netboxsim_multi(s, rec, q, "name", false, netboxsim_m_name, err);
}

static int
netboxsim_filter_tag(struct netboxsim *s, json_t *rec, struct evkeyvalq *q, json_t *err)
{
	return netboxsim_multi(s, rec, q, "id", false, netboxsim_m_id, err) &
	       netboxsim_multi(s, rec, q, "name", false, netboxsim_m_name, err) &
	       netboxsim_multi(s, rec, q, "slug", false, netboxsim_m_slug, err);
}

/* The same query with another offset, as NetBox's "next" and "previous" links spell it. */
static json_t *
netboxsim_page_link(struct netboxsim *s, const char *path, struct evkeyvalq *q, long limit,
                    long offset)
{
	struct evkeyval *kv;
	char *link = xasprintf("%s%s?limit=%ld", s->self, path, limit), *tmp;

	if (offset > 0) {
		tmp = xasprintf("%s&offset=%ld", link, offset);
		free(link);
		link = tmp;
	}
	TAILQ_FOREACH(kv, q, next)
	{
		char *k, *v;

		if (strcmp(kv->key, "limit") == 0 || strcmp(kv->key, "offset") == 0)
			continue;
		k = evhttp_encode_uri(kv->key);
		v = evhttp_encode_uri(kv->value);
		tmp = xasprintf("%s&%s=%s", link, k, v);
		free(k);
		free(v);
		free(link);
		link = tmp;
	}
	{
		json_t *j = json_string(link);

		free(link);
		return j;
	}
}

/* netbox/api/pagination.py (4.6): start= pages by id from START, ordered by id, without a
 * count; not with offset= nor ordering=; "next" starts after the last id of a full page. */
static void
netboxsim_cursor(struct netboxsim *s, struct evhttp_request *req, const char *path,
                 struct evkeyvalq *q, json_t *list, netboxsim_filter_fn filter,
                 json_t *(*view)(struct netboxsim *, json_t *), long limit)
{
	const char *st = evhttp_find_header(q, "start");
	json_t *err = json_object(), *res, *results, *o, *pick = json_array();
	json_int_t start = 0, last = 0;
	char *end;
	size_t i;

	errno = 0;
	start = strtoll(st, &end, 10);
	if (*st == '\0' || *end != '\0' || errno != 0 || start < 0) {
		json_t *e = json_pack("[s]", "Invalid 'start' parameter: must be a non-negative "
		                             "integer.");

		netboxsim_send(s, req, 400, e);
		json_decref(e);
		goto out;
	}
	if (evhttp_find_header(q, "offset") != NULL || evhttp_find_header(q, "ordering") != NULL) {
		json_t *e = json_pack("[s]", evhttp_find_header(q, "offset") != NULL
		                                 ? "'start' and 'offset' are mutually exclusive."
		                                 : "Ordering cannot be specified in conjunction "
		                                   "with cursor-based pagination.");

		netboxsim_send(s, req, 400, e);
		json_decref(e);
		goto out;
	}
	/* The stored lists are in id order already. */
	json_array_foreach(list, i, o)
	{
		if (json_integer_value(json_object_get(o, "id")) >= start && filter(s, o, q, err) &&
		    (long)json_array_size(pick) < limit)
			json_array_append(pick, o);
	}
	if (json_object_size(err) > 0) {
		netboxsim_send(s, req, 400, err);
		goto out;
	}
	results = json_array();
	json_array_foreach(pick, i, o)
	{
		json_array_append_new(results, view(s, o));
		last = json_integer_value(json_object_get(o, "id"));
	}
	res = json_pack("{s:n, s:n, s:n, s:o}", "count", "next", "previous", "results", results);
	if ((long)json_array_size(pick) == limit) {
		struct evkeyval *kv;
		char *link = xasprintf("%s%s?start=%lld&limit=%ld", s->self, path,
		                       (long long)(last + 1), limit),
		     *tmp;

		TAILQ_FOREACH(kv, q, next)
		{
			char *k, *v;

			if (strcmp(kv->key, "limit") == 0 || strcmp(kv->key, "start") == 0)
				continue;
			k = evhttp_encode_uri(kv->key);
			v = evhttp_encode_uri(kv->value);
			tmp = xasprintf("%s&%s=%s", link, k, v);
			free(k);
			free(v);
			free(link);
			link = tmp;
		}
		json_object_set_new(res, "next", json_string(link));
		free(link);
	}
	netboxsim_send(s, req, 200, res);
	json_decref(res);
out:
	json_decref(err);
	json_decref(pick);
}

static void
netboxsim_list(struct netboxsim *s, struct evhttp_request *req, const char *path, json_t *list,
               netboxsim_filter_fn filter, json_t *(*view)(struct netboxsim *, json_t *))
{
	const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	struct evkeyvalq q;
	json_t *err = json_object(), *matched = json_array(), *res, *o;
	const char *ls, *os;
	long limit = s->page_size, offset = 0, count;
	size_t i;

	TAILQ_INIT(&q);
	if (query != NULL && evhttp_parse_query_str(query, &q) != 0) {
		netboxsim_detail(s, req, 400, "bad query string");
		goto out;
	}
	if ((ls = evhttp_find_header(&q, "limit")) != NULL) {
		json_int_t v;

		if (strcmp(ls, "0") == 0)
			limit = s->max_page_size;
		else if (netboxsim_parse_id(ls, &v) == 0)
			limit = v > s->max_page_size ? s->max_page_size : (long)v;
	}
	if ((os = evhttp_find_header(&q, "offset")) != NULL) {
		json_int_t v;

		if (netboxsim_parse_id(os, &v) == 0)
			offset = (long)v;
	}
	/* Someone deletes a record between two pages (offset paging then skips one). */
	if ((offset > 0 || (evhttp_find_header(&q, "start") != NULL &&
	                    strcmp(evhttp_find_header(&q, "start"), "0") != 0)) &&
	    s->churn_id != 0 && list == s->ips) {
		json_array_foreach(s->ips, i, o) if (json_integer_value(json_object_get(o, "id")) ==
		                                     s->churn_id)
		{
			json_array_remove(s->ips, i);
			break;
		}
		s->churn_id = 0;
	}
	if (s->api_version >= 406 && evhttp_find_header(&q, "start") != NULL) {
		netboxsim_cursor(s, req, path, &q, list, filter, view, limit);
		goto out;
	}
	json_array_foreach(list, i, o) if (filter(s, o, &q, err)) json_array_append(matched, o);
	if (json_object_size(err) > 0) {
		netboxsim_send(s, req, 400, err);
		goto out;
	}
	count = (long)json_array_size(matched);
	res = json_pack("{s:i, s:n, s:n, s:[]}", "count", (json_int_t)count, "next", "previous",
	                "results");
	for (long k = offset; k < count && k < offset + limit; k++)
		json_array_append_new(json_object_get(res, "results"),
		                      view(s, json_array_get(matched, (size_t)k)));
	if (offset + limit < count)
		json_object_set_new(res, "next",
		                    netboxsim_page_link(s, path, &q, limit, offset + limit));
	if (offset > 0)
		json_object_set_new(res, "previous",
		                    netboxsim_page_link(s, path, &q, limit,
		                                        offset - limit > 0 ? offset - limit : 0));
	netboxsim_send(s, req, 200, res);
	json_decref(res);
out:
	evhttp_clear_headers(&q);
	json_decref(err);
	json_decref(matched);
}

/* ---- VRFs and tags ---- */

static json_t *
netboxsim_vrf_add(struct netboxsim *s, json_t *data, json_t *err)
{
	const char *name = json_string_value(json_object_get(data, "name"));
	json_t *v;

	if (name == NULL || *name == '\0' || netboxsim_chars(name) > 100) {
		netboxsim_err(err, "name", "This field is required.");
		return NULL;
	}
	v = json_pack("{s:I, s:s, s:O?, s:b}", "id", ++s->next_vrf, "name", name, "rd",
	              json_object_get(data, "rd"), "enforce_unique",
	              !json_is_false(json_object_get(data, "enforce_unique")));
	if (json_is_null(json_object_get(v, "rd")) || json_object_get(v, "rd") == NULL)
		json_object_set_new(v, "rd", json_null());
	json_array_append_new(s->vrfs, v);
	return v;
}

static json_t *
netboxsim_tag_add(struct netboxsim *s, json_t *data, json_t *err)
{
	const char *name = json_string_value(json_object_get(data, "name"));
	const char *slug = json_string_value(json_object_get(data, "slug"));
	const char *color = json_string_value(json_object_get(data, "color"));
	json_t *t;

	if (name == NULL || *name == '\0')
		netboxsim_err(err, "name", "This field is required.");
	else if (netboxsim_find_str(s->tags, "name", name) != NULL)
		netboxsim_err(err, "name", "tag with this name already exists.");
	if (slug == NULL || *slug == '\0')
		netboxsim_err(err, "slug", "This field is required.");
	else if (strspn(slug, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") !=
	         strlen(slug))
		netboxsim_err(err, "slug",
		              "Enter a valid \"slug\" consisting of letters, numbers, "
		              "underscores or hyphens.");
	else if (netboxsim_find_str(s->tags, "slug", slug) != NULL)
		netboxsim_err(err, "slug", "tag with this slug already exists.");
	if (json_object_size(err) > 0)
		return NULL;
	t = json_pack("{s:I, s:s, s:s, s:s, s:s}", "id", ++s->next_tag, "name", name, "slug", slug,
	              "color", color ? color : "9e9e9e", "description",
	              json_is_string(json_object_get(data, "description"))
	                  ? json_string_value(json_object_get(data, "description"))
	                  : "");
	json_array_append_new(s->tags, t);
	return t;
}

/* POST of one object or a list to the VRFs or the tags: all or nothing. */
static void
netboxsim_simple_create(struct netboxsim *s, struct evhttp_request *req, json_t *body, bool tags)
{
	json_t *saved = json_deep_copy(tags ? s->tags : s->vrfs), *items, *item;
	json_t *errs = json_array(), *res = json_array();
	json_int_t saved_next = tags ? s->next_tag : s->next_vrf;
	bool failed = false;
	size_t i;

	items = json_is_array(body) ? json_incref(body) : json_pack("[O]", body);
	json_array_foreach(items, i, item)
	{
		json_t *err = json_object(), *o;

		o = tags ? netboxsim_tag_add(s, item, err) : netboxsim_vrf_add(s, item, err);
		if (o != NULL)
			json_array_append_new(res, tags ? netboxsim_tag_view(s, o)
			                                : netboxsim_vrf_view(s, o));
		failed |= json_object_size(err) > 0;
		json_array_append_new(errs, err);
	}
	if (failed) {
		json_t **list = tags ? &s->tags : &s->vrfs;

		json_decref(*list);
		*list = json_incref(saved);
		if (tags)
			s->next_tag = saved_next;
		else
			s->next_vrf = saved_next;
		netboxsim_send(s, req, 400, json_is_array(body) ? errs : json_array_get(errs, 0));
	} else {
		s->applied++;
		netboxsim_send(s, req, 201, json_is_array(body) ? res : json_array_get(res, 0));
	}
	json_decref(items);
	json_decref(saved);
	json_decref(errs);
	json_decref(res);
}

/* ---- the API ---- */

/* netbox/api/authentication.py: "Token" or "Bearer" (either case); the token's version is
 * inferred from its prefix: "nbt_<key>.<plaintext>" is v2, anything else v1. A refusal is a
 * 403 naming the version. Returns 0 when the request may go on (after a reply otherwise). */
static int
netboxsim_auth(struct netboxsim *s, struct evhttp_request *req)
{
	const char *h = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
	bool write = netboxsim_is_write(evhttp_request_get_command(req));
	const char *tok;
	char msg[64];
	int version;

	if (h == NULL || (strncasecmp(h, "Token ", 6) != 0 && strncasecmp(h, "Bearer ", 7) != 0)) {
		netboxsim_detail(s, req, 403, "Authentication credentials were not provided.");
		return -1;
	}
	tok = h + (strncasecmp(h, "Token ", 6) == 0 ? 6 : 7);
	if (*tok == '\0' || strchr(tok, ' ') != NULL) {
		netboxsim_detail(s, req, 403,
		                 "Invalid authorization header: Must be in the form \"Bearer "
		                 "<key>.<token>\" or \"Token <token>\"");
		return -1;
	}
	version = strncmp(tok, "nbt_", 4) == 0 ? 2 : 1;
	if (version == 2 && strchr(tok + 4, '.') == NULL) {
		netboxsim_detail(s, req, 403,
		                 "Invalid authorization header: Could not parse key from v2 token. "
		                 "Did you mean to use 'Token' instead of 'Bearer'?");
		return -1;
	}
	if (strcmp(tok, s->token) == 0)
		return 0;
	if (s->ro_token != NULL && strcmp(tok, s->ro_token) == 0) {
		if (!write)
			return 0;
		netboxsim_detail(s, req, 403, "You do not have permission to perform this action.");
		return -1;
	}
	snprintf(msg, sizeof(msg), "Invalid v%d token", version);
	netboxsim_detail(s, req, 403, msg);
	return -1;
}

static json_t *
netboxsim_body(struct evhttp_request *req, char **cause)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	json_error_t err;
	json_t *j;

	if (len == 0)
		return json_null();
	if ((j = json_loadb((const char *)evbuffer_pullup(in, -1), len, JSON_DECODE_ANY, &err)) ==
	    NULL)
		*cause = xasprintf("JSON parse error - %s", err.text);
	return j;
}

/* The path's "{collection}/" or "{collection}/{id}/" (trailing slash optional). 0 no match, 1
 * the list, 2 one object with *id. */
static int
netboxsim_route(const char *path, const char *base, json_int_t *id)
{
	size_t n = strlen(base);
	char buf[32];

	if (strncmp(path, base, n) != 0)
		return 0;
	path += n;
	if (*path == '\0' || strcmp(path, "/") == 0)
		return 1;
	if (*path++ != '/' || strlen(path) >= sizeof(buf))
		return 0;
	snprintf(buf, sizeof(buf), "%s", path);
	if (buf[0] != '\0' && buf[strlen(buf) - 1] == '/')
		buf[strlen(buf) - 1] = '\0';
	return netboxsim_parse_id(buf, id) == 0 ? 2 : 0;
}

static void
netboxsim_one(struct netboxsim *s, struct evhttp_request *req, json_t *list, json_int_t id,
              json_t *(*view)(struct netboxsim *, json_t *))
{
	json_t *o = netboxsim_find(list, id), *v;

	if (o == NULL) {
		netboxsim_detail(s, req, 404, "Not found.");
		return;
	}
	v = view(s, o);
	netboxsim_send(s, req, 200, v);
	json_decref(v);
}

static void
netboxsim_api(struct netboxsim *s, struct evhttp_request *req)
{
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	char *cause = NULL;
	json_t *body = NULL;
	json_int_t id = 0;
	int r;

	if (netboxsim_is_write(cmd) && cmd != EVHTTP_REQ_DELETE &&
	    (body = netboxsim_body(req, &cause)) == NULL) {
		netboxsim_detail(s, req, 400, cause);
		free(cause);
		return;
	}
	if (cmd == EVHTTP_REQ_DELETE)
		body = netboxsim_body(req, &cause);
	free(cause);
	if (body != NULL && netboxsim_is_write(cmd)) {
		json_decref(s->last_write);
		s->last_write = json_incref(body);
	}
	if ((r = netboxsim_route(path, "/api/ipam/ip-addresses", &id)) != 0) {
		if (cmd == EVHTTP_REQ_GET && r == 1)
			netboxsim_list(s, req, "/api/ipam/ip-addresses/", s->ips,
			               netboxsim_filter_ip, netboxsim_ip_view);
		else if (cmd == EVHTTP_REQ_GET)
			netboxsim_one(s, req, s->ips, id, netboxsim_ip_view);
		else if (cmd == EVHTTP_REQ_POST && r == 1)
			netboxsim_ip_write(s, req, body, 0);
		else if ((cmd == EVHTTP_REQ_PATCH || cmd == EVHTTP_REQ_PUT) &&
		         (r == 2 ? json_is_object(body) : json_is_array(body)))
			netboxsim_ip_write(s, req, body, r == 2 ? id : 0);
		else if (cmd == EVHTTP_REQ_DELETE)
			netboxsim_ip_delete(s, req, body, r == 2 ? id : 0);
		else if (cmd == EVHTTP_REQ_PATCH || cmd == EVHTTP_REQ_PUT)
			netboxsim_detail(s, req, 400, "Bulk update requires a list of objects.");
		else
			netboxsim_detail(s, req, 405, "Method not allowed.");
	} else if ((r = netboxsim_route(path, "/api/ipam/vrfs", &id)) != 0) {
		if (cmd == EVHTTP_REQ_GET && r == 1)
			netboxsim_list(s, req, "/api/ipam/vrfs/", s->vrfs, netboxsim_filter_vrf,
			               netboxsim_vrf_view);
		else if (cmd == EVHTTP_REQ_GET)
			netboxsim_one(s, req, s->vrfs, id, netboxsim_vrf_view);
		else if (cmd == EVHTTP_REQ_POST && r == 1)
			netboxsim_simple_create(s, req, body, false);
		else
			netboxsim_detail(s, req, 405, "Method not allowed.");
	} else if ((r = netboxsim_route(path, "/api/extras/tags", &id)) != 0) {
		if (cmd == EVHTTP_REQ_GET && r == 1)
			netboxsim_list(s, req, "/api/extras/tags/", s->tags, netboxsim_filter_tag,
			               netboxsim_tag_view);
		else if (cmd == EVHTTP_REQ_GET)
			netboxsim_one(s, req, s->tags, id, netboxsim_tag_view);
		else if (cmd == EVHTTP_REQ_POST && r == 1)
			netboxsim_simple_create(s, req, body, true);
		else
			netboxsim_detail(s, req, 405, "Method not allowed.");
	} else if (strcmp(path, "/api/status/") == 0 && cmd == EVHTTP_REQ_GET) {
		json_t *st = json_pack("{s:o, s:s}", "netbox-version",
		                       json_sprintf("%s.0-netboxsim", s->api_version_s),
		                       "python-version", "3.12.0");

		netboxsim_send(s, req, 200, st);
		json_decref(st);
	} else
		netboxsim_detail(s, req, 404, "Not found.");
	json_decref(body);
}

/* Takes the fault for this request, if one applies: 1 when it is taken into *F. */
static int
netboxsim_fault_take(struct netboxsim *s, bool write, struct netboxsim_fault *f)
{
	if (s->fault.count == 0 || (s->fault.writes_only && !write))
		return 0;
	if (s->fault.skip > 0) {
		s->fault.skip--;
		return 0;
	}
	*f = s->fault;
	if (s->fault.count > 0)
		s->fault.count--;
	return 1;
}

static void
netboxsim_delay_cb(evutil_socket_t fd, short what, void *arg)
{
	struct netboxsim_call *c = arg;

	TAILQ_REMOVE(&c->s->pending, c, entry);
	netboxsim_api(c->s, c->req);
	event_free(c->timer);
	free(c);
}

static void
netboxsim_api_request(struct netboxsim *s, struct evhttp_request *req)
{
	bool write = netboxsim_is_write(evhttp_request_get_command(req));
	struct netboxsim_fault f;

	s->requests++;
	if (netboxsim_auth(s, req) == -1)
		return;
	if (write)
		s->writes++;
	else
		s->reads++;
	if (netboxsim_fault_take(s, write, &f)) {
		if (f.status != 0) {
			json_t *doc =
			    json_pack("{s:s, s:s, s:s, s:s}", "error", "simulated server error",
			              "exception", "OperationalError", "netbox_version",
			              "4.4.0-netboxsim", "python_version", "3.12.0");

			netboxsim_send(s, req, f.status, doc);
			json_decref(doc);
			return;
		}
		if (f.delay_ms > 0 || f.hold) {
			/* Held on a timer (or until released), never by blocking; served (and
			 * applied) afterwards. */
			struct netboxsim_call *c = xcalloc(1, sizeof(*c));
			struct timeval tv = {.tv_sec = f.delay_ms / 1000,
			                     .tv_usec = f.delay_ms % 1000 * 1000};

			c->s = s;
			c->req = req;
			c->timer = evtimer_new(s->base, netboxsim_delay_cb, c);
			TAILQ_INSERT_TAIL(&s->pending, c, entry);
			if (!f.hold)
				evtimer_add(c->timer, &tv);
			return;
		}
	}
	netboxsim_api(s, req);
}

/* ---- control: POST /_sim/control {"op": ...} ---- */

static json_t *
netboxsim_state(struct netboxsim *s)
{
	json_t *ips = json_array(), *vrfs = json_array(), *tags = json_array(), *o;
	size_t i;

	json_array_foreach(s->ips, i, o) json_array_append_new(ips, netboxsim_ip_view(s, o));
	json_array_foreach(s->vrfs, i, o) json_array_append_new(vrfs, netboxsim_vrf_view(s, o));
	json_array_foreach(s->tags, i, o) json_array_append_new(tags, netboxsim_tag_view(s, o));
	struct netboxsim_call *c;
	json_int_t pending = 0;

	TAILQ_FOREACH(c, &s->pending, entry) pending++;
	return json_pack("{s:o, s:o, s:o, s:O, s:O?, s:{s:I, s:I, s:I, s:I, s:I}}", "ip_addresses",
	                 ips, "vrfs", vrfs, "tags", tags, "changelog", s->changelog, "last_write",
	                 s->last_write, "counters", "requests", (json_int_t)s->requests, "reads",
	                 (json_int_t)s->reads, "writes", (json_int_t)s->writes, "applied",
	                 (json_int_t)s->applied, "pending", pending);
}

static json_t *
netboxsim_control_op(struct netboxsim *s, json_t *args, char **cause)
{
	const char *op = json_string_value(json_object_get(args, "op"));
	json_t *err = json_object(), *res = NULL;

	if (op == NULL)
		*cause = xstrdup("a request is an object with a string \"op\"");
	else if (strcmp(op, "state") == 0)
		res = netboxsim_state(s);
	else if (strcmp(op, "fault") == 0) {
		json_t *c = json_object_get(args, "count");

		s->fault = (struct netboxsim_fault){
		    .count = c == NULL ? 1 : (int)json_integer_value(c),
		    .skip = (int)json_integer_value(json_object_get(args, "skip")),
		    .status = (int)json_integer_value(json_object_get(args, "status")),
		    .delay_ms = (long)json_integer_value(json_object_get(args, "delay_ms")),
		    .hold = json_is_true(json_object_get(args, "hold")),
		    .writes_only = json_is_true(json_object_get(args, "writes_only")),
		};
		if ((s->fault.status != 0) + (s->fault.delay_ms != 0) + s->fault.hold != 1)
			*cause = xstrdup("fault: status, delay_ms or hold, one of them");
		else
			res = json_object();
	} else if (strcmp(op, "release") == 0) {
		/* Serves the held requests now, from the loop. */
		struct netboxsim_call *c;
		struct timeval now = {0, 0};

		TAILQ_FOREACH(c, &s->pending, entry) evtimer_add(c->timer, &now);
		res = json_object();
	} else if (strcmp(op, "delete") == 0) {
		/* Someone deletes a record. */
		json_int_t id = json_integer_value(json_object_get(args, "id"));
		json_t *o;
		size_t i;

		json_array_foreach(s->ips, i,
		                   o) if (json_integer_value(json_object_get(o, "id")) == id)
		{
			netboxsim_log_change(s, s->changelog, "delete", o, NULL);
			json_array_remove(s->ips, i);
			res = json_object();
			break;
		}
		if (res == NULL)
			*cause = xasprintf("delete: no record %lld", (long long)id);
	} else if (strcmp(op, "churn") == 0) {
		/* Someone deletes record ID while the next list is read: before its second
		 * page. */
		s->churn_id = json_integer_value(json_object_get(args, "id"));
		res = json_object();
	} else if (strcmp(op, "token") == 0) {
		/* Rotates the tokens: what a client had is refused from now on. */
		const char *t = json_string_value(json_object_get(args, "token"));
		const char *ro = json_string_value(json_object_get(args, "read_only_token"));

		if (t == NULL || *t == '\0')
			*cause = xstrdup("token: a non-empty \"token\"");
		else {
			free(s->token);
			s->token = xstrdup(t);
			free(s->ro_token);
			s->ro_token = ro != NULL ? xstrdup(ro) : NULL;
			res = json_object();
		}
	} else if (strcmp(op, "clear") == 0) {
		s->fault = (struct netboxsim_fault){0};
		res = json_object();
	} else if (strcmp(op, "vrf") == 0 || strcmp(op, "tag") == 0) {
		json_t *o = strcmp(op, "vrf") == 0 ? netboxsim_vrf_add(s, args, err)
		                                   : netboxsim_tag_add(s, args, err);

		if (o != NULL)
			res = json_pack("{s:O}", "id", json_object_get(o, "id"));
	} else if (strcmp(op, "add") == 0 || strcmp(op, "set") == 0) {
		/* A record made or changed by someone else, through the same checks. */
		json_t *data = json_object_get(args, "object"), *rec;
		bool add = strcmp(op, "add") == 0;

		rec = add ? netboxsim_ip_new(s, s->next_ip + 1)
		          : json_deep_copy(netboxsim_find(
		                s->ips, json_integer_value(json_object_get(args, "id"))));
		if (rec == NULL || !json_is_object(data))
			*cause = xstrdup("add {object} or set {id, object}");
		else {
			netboxsim_ip_apply(s, rec, data, add, err);
			if (json_object_size(err) == 0)
				netboxsim_ip_unique(s, s->ips, rec, err);
			if (json_object_size(err) == 0) {
				json_int_t id = json_integer_value(json_object_get(rec, "id"));
				size_t i;
				json_t *o;

				if (add) {
					s->next_ip++;
					json_array_append(s->ips, rec);
				} else
					json_array_foreach(
					    s->ips, i,
					    o) if (json_integer_value(json_object_get(o, "id")) ==
					           id) json_array_set(s->ips, i, rec);
				res = json_pack("{s:I}", "id", id);
			}
		}
		json_decref(rec);
	} else
		*cause = xasprintf("unknown op \"%s\"", op);
	if (res == NULL && *cause == NULL)
		*cause = json_dumps(err, JSON_COMPACT);
	json_decref(err);
	return res;
}

static void
netboxsim_control(struct netboxsim *s, struct evhttp_request *req)
{
	char *cause = NULL;
	json_t *args = netboxsim_body(req, &cause), *res = NULL, *doc;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST)
		cause = xstrdup("use POST");
	else if (args != NULL)
		res = netboxsim_control_op(s, args, &cause);
	if (res != NULL) {
		doc = res;
		json_object_set_new(doc, "ok", json_true());
	} else {
		doc = json_pack("{s:b, s:s}", "ok", 0, "error", cause ? cause : "failed");
		log_warnx("control: %s", cause ? cause : "failed");
	}
	netboxsim_send(s, req, res != NULL ? 200 : 400, doc);
	json_decref(doc);
	json_decref(args);
	free(cause);
}

static void
netboxsim_request_cb(struct evhttp_request *req, void *arg)
{
	struct netboxsim *s = arg;
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));

	s->serial++;
	if (path != NULL && strcmp(path, "/_sim/control") == 0)
		netboxsim_control(s, req);
	else if (path != NULL && strncmp(path, "/api/", 5) == 0)
		netboxsim_api_request(s, req);
	else
		netboxsim_detail(s, req, 404, "Not found.");
}

/* ---- netboxsim ctl URL JSON ---- */

static size_t
netboxsim_ctl_write_cb(char *ptr, size_t size, size_t n, void *arg)
{
	return evbuffer_add(arg, ptr, n) == 0 ? n : 0;
}

static int
netboxsim_ctl_main(int argc, char **argv)
{
	struct evbuffer *resp = evbuffer_new();
	struct curl_slist *hdrs = NULL;
	char errbuf[CURL_ERROR_SIZE] = "", *url;
	json_t *doc;
	CURL *h;
	int ret = 1;

	if (argc != 3) {
		fprintf(stderr, "usage: netboxsim ctl URL JSON\n");
		evbuffer_free(resp);
		return 2;
	}
	url = xasprintf("%s/_sim/control", argv[1]);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	h = curl_easy_init();
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, argv[2]);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, netboxsim_ctl_write_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
	if (curl_easy_perform(h) != CURLE_OK)
		fprintf(stderr, "netboxsim ctl: %s: %s\n", url, errbuf);
	else {
		evbuffer_add(resp, "", 1);
		printf("%s\n", (const char *)evbuffer_pullup(resp, -1));
		doc = json_loads((const char *)evbuffer_pullup(resp, -1), 0, NULL);
		ret = json_is_true(json_object_get(doc, "ok")) ? 0 : 1;
		json_decref(doc);
	}
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	curl_global_cleanup();
	evbuffer_free(resp);
	free(url);
	return ret;
}

/* ---- main ---- */

static void
netboxsim_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	event_base_loopbreak(((struct netboxsim *)arg)->base);
}

static int
netboxsim_write_port_file(const char *path, int port)
{
	char *tmp = xasprintf("%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	int rc = -1;

	if (f != NULL && fprintf(f, "%d\n", port) > 0 && fclose(f) == 0)
		rc = rename(tmp, path);
	else if (f != NULL)
		fclose(f);
	free(tmp);
	return rc;
}

static void
netboxsim_usage(FILE *f)
{
	fprintf(f,
	        "usage: netboxsim [--listen ADDR] [--port N] [--port-file FILE] [--token T]\n"
	        "                 [--read-only-token T] [--page-size N] [--max-page-size N]\n"
	        "                 [--next-base URL]\n"
	        "                 [--vrf NAME]... [--tag SLUG]... [--custom-field NAME]...\n"
	        "                 [--no-global-unique] [--api-version MAJOR.MINOR] [--quiet]\n"
	        "       netboxsim ctl URL JSON\n\n"
	        "A NetBox stand-in: /api/ipam/ip-addresses/, /api/ipam/vrfs/, /api/extras/tags/\n"
	        "with token auth, filters, limit/offset pagination, bulk writes and NetBox's\n"
	        "checks (uniqueness per VRF, choices, related objects, custom fields).\n"
	        "Custom fields default to tailscale_node_id, tailnet and last_seen.\n"
	        "Control: POST /_sim/control {\"op\": ...}:\n"
	        "  state                        every record, VRF, tag, change and counter\n"
	        "  fault {status|delay_ms|hold, count?, skip?, writes_only?}\n"
	        "                               fail (or hold) the next API requests\n"
	        "  release                      serve the requests held by a hold fault\n"
	        "  delete {id}                  someone deletes a record\n"
	        "  churn {id}                   ... while the next list is read, before page 2\n"
	        "--api-version (default 4.6): below 4.6, no add_tags/remove_tags and no start=\n"
	        "cursor paging, as those NetBox versions.\n"
	        "  clear                        no more faults\n"
	        "  token {token, read_only_token?}  new tokens: the old ones are refused\n"
	        "  vrf {name, enforce_unique?}, tag {name, slug}   add one\n"
	        "  add {object}, set {id, object}  a record made or changed by someone else\n");
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"listen", required_argument, NULL, 'l'},
	    {"port", required_argument, NULL, 'p'},
	    {"port-file", required_argument, NULL, 'f'},
	    {"token", required_argument, NULL, 't'},
	    {"read-only-token", required_argument, NULL, 'r'},
	    {"page-size", required_argument, NULL, 'P'},
	    {"max-page-size", required_argument, NULL, 'M'},
	    {"next-base", required_argument, NULL, 'n'},
	    {"vrf", required_argument, NULL, 'v'},
	    {"tag", required_argument, NULL, 'T'},
	    {"custom-field", required_argument, NULL, 'c'},
	    {"no-global-unique", no_argument, NULL, 'G'},
	    {"api-version", required_argument, NULL, 'A'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct netboxsim s = {0};
	struct evhttp_bound_socket *bound;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	const char *addr = "127.0.0.1", *port_file = NULL, *next_base = NULL;
	json_t *err, *data;
	long port = 0;
	int ch, bport;
	struct netboxsim_call *c;

	if (argc > 1 && strcmp(argv[1], "ctl") == 0)
		return netboxsim_ctl_main(argc - 1, argv + 1);
	log_init("netboxsim", 0);
	err = json_object();
	TAILQ_INIT(&s.pending);
	s.token = xstrdup(NETBOXSIM_DEFAULT_TOKEN);
	s.page_size = NETBOXSIM_PAGE_SIZE;
	s.max_page_size = NETBOXSIM_MAX_PAGE_SIZE;
	s.global_unique = true;
	s.api_version = 406;
	s.vrfs = json_array();
	s.tags = json_array();
	s.cfs = json_array();
	s.ips = json_array();
	s.changelog = json_array();
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'l':
			addr = optarg;
			break;
		case 'p':
			port = strtol(optarg, NULL, 10);
			break;
		case 'f':
			port_file = optarg;
			break;
		case 't':
			free(s.token);
			s.token = xstrdup(optarg);
			break;
		case 'r':
			s.ro_token = xstrdup(optarg);
			break;
		case 'P':
			if ((s.page_size = strtol(optarg, NULL, 10)) < 1 ||
			    s.page_size > NETBOXSIM_MAX_PAGE_SIZE)
				fatalx("--page-size: 1 to %d", NETBOXSIM_MAX_PAGE_SIZE);
			break;
		case 'M':
			if ((s.max_page_size = strtol(optarg, NULL, 10)) < 1 ||
			    s.max_page_size > NETBOXSIM_MAX_PAGE_SIZE)
				fatalx("--max-page-size: 1 to %d", NETBOXSIM_MAX_PAGE_SIZE);
			break;
		case 'n':
			next_base = optarg;
			break;
		case 'v':
		case 'T':
			data = json_pack("{s:s, s:s}", "name", optarg, "slug", optarg);
			if ((ch == 'v' ? netboxsim_vrf_add(&s, data, err)
			               : netboxsim_tag_add(&s, data, err)) == NULL)
				fatalx("--%s %s: bad or duplicate", ch == 'v' ? "vrf" : "tag",
				       optarg);
			json_decref(data);
			break;
		case 'c':
			json_array_append_new(s.cfs, json_string(optarg));
			break;
		case 'G':
			s.global_unique = false;
			break;
		case 'A': {
			unsigned major, minor;

			if (sscanf(optarg, "%u.%u", &major, &minor) != 2 || major > 99 ||
			    minor > 99)
				fatalx("--api-version: MAJOR.MINOR, as 4.6");
			s.api_version = (int)(major * 100 + minor);
			break;
		}
		case 'q':
			s.quiet = true;
			break;
		case 'h':
			netboxsim_usage(stdout);
			return 0;
		default:
			netboxsim_usage(stderr);
			return 2;
		}
	}
	json_decref(err);
	snprintf(s.api_version_s, sizeof(s.api_version_s), "%d.%d", s.api_version / 100,
	         s.api_version % 100);
	if (json_array_size(s.cfs) == 0) {
		json_array_append_new(s.cfs, json_string("tailscale_node_id"));
		json_array_append_new(s.cfs, json_string("tailnet"));
		json_array_append_new(s.cfs, json_string("last_seen"));
	}
	signal(SIGPIPE, SIG_IGN);
	if ((s.base = event_base_new()) == NULL || (s.http = evhttp_new(s.base)) == NULL)
		fatalx("cannot start libevent");
	evhttp_set_allowed_methods(s.http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
	                                       EVHTTP_REQ_PATCH | EVHTTP_REQ_DELETE |
	                                       EVHTTP_REQ_HEAD);
	evhttp_set_max_body_size(s.http, NETBOXSIM_MAX_BODY);
	evhttp_set_timeout(s.http, 120);
	evhttp_set_gencb(s.http, netboxsim_request_cb, &s);
	if ((bound = evhttp_bind_socket_with_handle(s.http, addr, (ev_uint16_t)port)) == NULL)
		fatal("cannot listen on %s port %ld", addr, port);
	if (getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&ss, &sl) != 0)
		fatal("getsockname");
	bport = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
	                                       : ((struct sockaddr_in *)&ss)->sin_port);
	s.self = next_base ? xstrdup(next_base) : xasprintf("http://%s:%d", addr, bport);
	if (port_file != NULL && netboxsim_write_port_file(port_file, bport) != 0)
		fatal("port file %s", port_file);
	s.sigterm = evsignal_new(s.base, SIGTERM, netboxsim_signal_cb, &s);
	s.sigint = evsignal_new(s.base, SIGINT, netboxsim_signal_cb, &s);
	evsignal_add(s.sigterm, NULL);
	evsignal_add(s.sigint, NULL);
	log_notice("listening on http://%s:%d/", addr, bport);

	event_base_dispatch(s.base);

	while ((c = TAILQ_FIRST(&s.pending)) != NULL) {
		TAILQ_REMOVE(&s.pending, c, entry);
		netboxsim_detail(&s, c->req, 503, "shutting down");
		event_free(c->timer);
		free(c);
	}
	if (port_file != NULL)
		unlink(port_file);
	evhttp_free(s.http);
	event_free(s.sigterm);
	event_free(s.sigint);
	event_base_free(s.base);
	json_decref(s.vrfs);
	json_decref(s.tags);
	json_decref(s.cfs);
	json_decref(s.ips);
	json_decref(s.changelog);
	json_decref(s.last_write);
	free(s.token);
	free(s.ro_token);
	free(s.self);
	return 0;
}
