/* check_ipam.c: unit tests for IPAM rows, NetBox objects and diffs, and the CSV/JSON writers. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipam.h"
#include "log.h"
#include "tstime.h"

static const struct ipam_map map = {
    .vrf = "ts-corp",
    .owner_tag = "tsinv",
    .tag_prefix = NULL,
    .cf_node_id = "tailscale_node_id",
    .cf_tailnet = "tailnet",
    .cf_last_seen = "last_seen",
};

/* An addresses.list answer: an offline device, a connected one with an awkward hostname, a
 * released address of a deleted device, and one row without a node id (skipped). */
static const char answer[] =
    "{\"tailnet\":\"corp\",\"at\":\"2026-11-20T14:05:00.250000Z\",\"window_s\":604800,"
    "\"addresses\":["
    "{\"address\":\"100.64.0.1\",\"family\":4,\"status\":\"active\",\"nodeId\":\"nA\","
    "\"from_lo\":null,\"from_hi\":\"2026-11-01T00:00:00Z\",\"to_lo\":null,\"to_hi\":null,"
    "\"device\":{\"name\":\"alpha.tail1.ts.net\",\"hostname\":\"alpha\",\"user\":\"a@example.com\","
    "\"tags\":[\"tag:prod\",\"tag:Web Server\"],\"os\":\"linux\"},"
    "\"volatile\":{\"lastSeen\":\"2026-11-20T13:00:00Z\",\"connectedToControl\":false}},"
    "{\"address\":\"fd7a:115c:a1e0::2\",\"family\":6,\"status\":\"active\",\"nodeId\":\"nB\","
    "\"from_lo\":\"2026-11-02T00:00:00Z\",\"from_hi\":\"2026-11-02T00:05:00Z\",\"to_lo\":null,"
    "\"to_hi\":null,"
    "\"device\":{\"name\":\"bob-mbp.tail1.ts.net\",\"hostname\":\"Bob's \\\"Mac\\\", new\\nline\","
    "\"user\":\"b@example.com\",\"tags\":[],\"os\":\"macOS\"},"
    "\"volatile\":{\"connectedToControl\":true}},"
    "{\"address\":\"100.64.0.3\",\"family\":4,\"status\":\"deprecated\",\"nodeId\":\"nC\","
    "\"from_lo\":\"2026-10-01T00:00:00Z\",\"from_hi\":\"2026-10-01T00:05:00Z\","
    "\"to_lo\":\"2026-11-19T10:00:00Z\",\"to_hi\":\"2026-11-19T10:05:00Z\","
    "\"device\":{\"name\":\"gone.tail1.ts.net\",\"hostname\":\"gone\",\"user\":\"c@example.com\","
    "\"tags\":[\"tag:ci\"],\"os\":\"linux\"}},"
    "{\"address\":\"100.64.0.4\",\"family\":4,\"status\":\"active\",\"device\":null}"
    "]}";

static json_t *
rows_of(const char *text, const struct ipam_map *m)
{
	json_error_t err;
	json_t *res = json_loads(text, 0, &err), *rows = json_array();

	ck_assert_msg(res != NULL, "fixture: %s", err.text);
	ipam_rows(res, m, rows);
	json_decref(res);
	return rows;
}

static json_t *
objects_of(json_t *rows, const struct ipam_map *m)
{
	json_t *objs = json_array(), *r;
	size_t i;

	json_array_foreach(rows, i, r) json_array_append_new(objs, ipam_netbox_object(r, m));
	return objs;
}

static char *
dump(json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

	ck_assert_ptr_nonnull(s);
	return s;
}

#define ck_assert_json(v, expect)                                                                  \
	do {                                                                                       \
		char *s_ = dump(v);                                                                \
		ck_assert_str_eq(s_, expect);                                                      \
		free(s_);                                                                          \
	} while (0)

START_TEST(test_rows)
{
	json_t *rows = rows_of(answer, &map);

	ck_assert_uint_eq(json_array_size(rows), 3);
	ck_assert_json(
	    json_array_get(rows, 0),
	    "{\"address\":\"100.64.0.1\",\"family\":4,\"status\":\"active\",\"tailnet\":\"corp\","
	    "\"vrf\":\"ts-corp\",\"node_id\":\"nA\",\"name\":\"alpha.tail1.ts.net\",\"hostname\":"
	    "\"alpha\",\"user\":\"a@example.com\",\"tags\":[\"tag:prod\",\"tag:Web Server\"],"
	    "\"os\":\"linux\",\"from_lo\":null,\"from_hi\":\"2026-11-01T00:00:00Z\",\"to_lo\":null,"
	    "\"to_hi\":null,\"last_seen\":\"2026-11-20T13:00:00Z\"}");
	/* Connected: seen at the answer's time. */
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(rows, 1), "last_seen")),
	                 "2026-11-20T14:05:00.250000Z");
	/* Released: last seen holding it at the last poll that saw it. */
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(rows, 2), "last_seen")),
	                 "2026-11-19T10:00:00Z");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(rows, 2), "status")),
	                 "deprecated");
	json_decref(rows);
}
END_TEST

/* A device's lastSeen is now's: it dates an address of the past only when it is older. */
START_TEST(test_rows_last_seen)
{
	static const char past[] =
	    "{\"tailnet\":\"t\",\"at\":\"2026-11-20T12:00:00Z\",\"addresses\":["
	    "{\"address\":\"100.64.0.1\",\"status\":\"active\",\"nodeId\":\"n1\","
	    "\"volatile\":{\"lastSeen\":\"2026-11-20T13:00:00Z\"}},"
	    "{\"address\":\"100.64.0.2\",\"status\":\"deprecated\",\"nodeId\":\"n2\","
	    "\"to_lo\":\"2026-11-19T00:00:00Z\",\"volatile\":{\"lastSeen\":\"2026-11-18T00:00:"
	    "00Z\"}},"
	    "{\"address\":\"100.64.0.3\",\"status\":\"deprecated\",\"nodeId\":\"n3\","
	    "\"to_lo\":\"2026-11-19T00:00:00Z\",\"volatile\":{\"lastSeen\":\"2026-11-20T00:00:"
	    "00Z\"}},"
	    "{\"address\":\"100.64.0.4\",\"status\":\"deprecated\",\"nodeId\":\"n4\"}]}";
	json_t *rows = rows_of(past, &map);

	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(rows, 0), "last_seen")),
	                 "2026-11-20T12:00:00Z");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(rows, 1), "last_seen")),
	                 "2026-11-18T00:00:00Z");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(rows, 2), "last_seen")),
	                 "2026-11-19T00:00:00Z");
	ck_assert(json_is_null(json_object_get(json_array_get(rows, 3), "last_seen")));
	json_decref(rows);
}
END_TEST

START_TEST(test_rows_global_table)
{
	struct ipam_map m = map;
	json_t *rows;

	m.vrf = "";
	rows = rows_of(answer, &m);
	ck_assert(json_is_null(json_object_get(json_array_get(rows, 0), "vrf")));
	json_decref(rows);
}
END_TEST

START_TEST(test_netbox_object)
{
	json_t *rows = rows_of(answer, &map), *o;

	o = ipam_netbox_object(json_array_get(rows, 0), &map);
	ck_assert_json(o,
	               "{\"address\":\"100.64.0.1/32\",\"vrf\":{\"name\":\"ts-corp\"},"
	               "\"status\":\"active\",\"dns_name\":\"alpha.tail1.ts.net\","
	               "\"description\":\"alpha (a@example.com)\",\"tags\":[{\"slug\":\"tsinv\"},"
	               "{\"slug\":\"prod\"},{\"slug\":\"web-server\"}],\"custom_fields\":{"
	               "\"tailscale_node_id\":\"nA\",\"tailnet\":\"corp\",\"last_seen\":"
	               "\"2026-11-20T13:00:00+00:00\"}}");
	json_decref(o);
	o = ipam_netbox_object(json_array_get(rows, 1), &map);
	ck_assert_str_eq(json_string_value(json_object_get(o, "address")), "fd7a:115c:a1e0::2/128");
	ck_assert_str_eq(
	    json_string_value(json_object_get(json_object_get(o, "custom_fields"), "last_seen")),
	    "2026-11-20T14:05:00+00:00");
	json_decref(o);
	json_decref(rows);
}
END_TEST

START_TEST(test_netbox_object_edges)
{
	struct ipam_map m = map;
	json_t *row = json_pack("{s:s, s:s, s:s, s:n, s:s, s:s, s:s, s:[s,s,s], s:n}", "address",
	                        "100.64.0.9", "status", "active", "tailnet", "t", "vrf", "node_id",
	                        "n9", "name", "bad name!.ts.net.", "hostname", "", "tags", "tag:x",
	                        "tag:X", "tag:", "last_seen");
	json_t *o;
	char longname[400];

	m.owner_tag = NULL;
	m.tag_prefix = "ts-";
	o = ipam_netbox_object(row, &m);
	ck_assert(json_is_null(json_object_get(o, "vrf")));
	/* Not a DNS name NetBox takes: left empty rather than refused. */
	ck_assert_str_eq(json_string_value(json_object_get(o, "dns_name")), "");
	/* No hostname, no user: the MagicDNS name describes it. */
	ck_assert_str_eq(json_string_value(json_object_get(o, "description")), "bad name!.ts.net.");
	ck_assert_json(json_object_get(o, "tags"), "[{\"slug\":\"ts-x\"}]");
	ck_assert(json_is_null(json_object_get(json_object_get(o, "custom_fields"), "last_seen")));
	json_decref(o);

	/* A trailing dot goes; the description stops at 200 characters, not bytes. */
	json_object_set_new(row, "name", json_string("host.tail1.ts.net."));
	memset(longname, 0, sizeof(longname));
	for (size_t i = 0; i < 190; i++)
		memcpy(longname + 2 * i, "\xc3\xa9", 2); /* é */
	json_object_set_new(row, "hostname", json_string(longname));
	json_object_set_new(row, "user", json_string("someone@example.com"));
	o = ipam_netbox_object(row, &m);
	ck_assert_str_eq(json_string_value(json_object_get(o, "dns_name")), "host.tail1.ts.net");
	json_decref(o);
	/* In lower case, as NetBox stores it: compared so, a mixed-case name settles. */
	json_object_set_new(row, "name", json_string("Web-1.Tail1.ts.net"));
	o = ipam_netbox_object(row, &m);
	ck_assert_str_eq(json_string_value(json_object_get(o, "dns_name")), "web-1.tail1.ts.net");
	{
		const char *d = json_string_value(json_object_get(o, "description"));
		size_t chars = 0;

		for (const char *p = d; *p; p++)
			chars += ((unsigned char)*p & 0xc0) != 0x80;
		ck_assert_uint_eq(chars, IPAM_DESCRIPTION_MAX);
		ck_assert_str_eq(d + 2 * 190, " (someone@");
	}
	json_decref(o);
	json_decref(row);
}
END_TEST

START_TEST(test_tag_slug)
{
	char buf[IPAM_SLUG_MAX + 1];

	ck_assert_int_eq(ipam_tag_slug("tag:prod", NULL, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "prod");
	ck_assert_int_eq(ipam_tag_slug("tag:Web_Server.2", "ts-", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "ts-web_server-2");
	ck_assert_int_eq(ipam_tag_slug("tag:", "ts-", buf, sizeof(buf)), -1);
	ck_assert_int_eq(ipam_tag_slug("tag:...", NULL, buf, sizeof(buf)), -1);
	ck_assert_int_eq(ipam_tag_slug("tag:\xc3\xa9t\xc3\xa9", NULL, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "--t--");
	ck_assert_int_eq(ipam_tag_slug("tag:abcdef", NULL, buf, 4), 0);
	ck_assert_str_eq(buf, "abc");
}
END_TEST

START_TEST(test_dns_name)
{
	ck_assert(ipam_dns_name_ok("a-b_c.tail1.ts.net"));
	ck_assert(ipam_dns_name_ok("*.example.com"));
	ck_assert(!ipam_dns_name_ok(""));
	ck_assert(!ipam_dns_name_ok("a b"));
	ck_assert(!ipam_dns_name_ok("caf\xc3\xa9"));
	/* NetBox's validator: labels are never empty, '*' only as the whole first label. */
	ck_assert(ipam_dns_name_ok("*"));
	ck_assert(ipam_dns_name_ok("host.example.com."));
	ck_assert(!ipam_dns_name_ok("a..b"));
	ck_assert(!ipam_dns_name_ok(".x"));
	ck_assert(!ipam_dns_name_ok("a*b"));
	ck_assert(!ipam_dns_name_ok("*x.example.com"));
	ck_assert(!ipam_dns_name_ok("a.*.b"));
	ck_assert(!ipam_dns_name_ok("."));
	ck_assert(!ipam_dns_name_ok("a.."));
}
END_TEST

START_TEST(test_csv_field)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"", ""},
	    {"plain", "plain"},
	    {"a,b", "\"a,b\""},
	    {"say \"hi\"", "\"say \"\"hi\"\"\""},
	    {"two\nlines", "\"two\nlines\""},
	    {"cr\rhere", "\"cr\rhere\""},
	    {" padded", "\" padded\""},
	    {"it's", "it's"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sbuf sb = {0};

		sbuf_adds(&sb, "");
		ipam_csv_field(&sb, cases[i].in);
		ck_assert_str_eq(sb.p, cases[i].out);
		sbuf_free(&sb);
	}
}
END_TEST

START_TEST(test_write_netbox_csv)
{
	json_t *rows = rows_of(answer, &map), *objs = objects_of(rows, &map);
	struct sbuf sb = {0};

	ipam_write_netbox_csv(objs, &map, &sb);
	ck_assert_str_eq(
	    sb.p, "address,vrf,status,dns_name,description,tags,cf_tailscale_node_id,cf_tailnet,"
	          "cf_last_seen\n"
	          "100.64.0.1/32,ts-corp,active,alpha.tail1.ts.net,alpha (a@example.com),"
	          "\"tsinv,prod,web-server\",nA,corp,2026-11-20T13:00:00+00:00\n"
	          "fd7a:115c:a1e0::2/128,ts-corp,active,bob-mbp.tail1.ts.net,"
	          "\"Bob's \"\"Mac\"\", new\nline (b@example.com)\",tsinv,nB,corp,"
	          "2026-11-20T14:05:00+00:00\n"
	          "100.64.0.3/32,ts-corp,deprecated,gone.tail1.ts.net,gone (c@example.com),"
	          "\"tsinv,ci\",nC,corp,2026-11-19T10:00:00+00:00\n");
	sbuf_free(&sb);
	json_decref(objs);
	json_decref(rows);
}
END_TEST

START_TEST(test_write_netbox_csv_ids)
{
	json_t *rows = rows_of(answer, &map), *objs;
	struct sbuf sb = {0};

	/* Rows NetBox holds carry its id and the record's tags (a person's rack-4 kept): the
	 * import updates them; a row without an id is created. */
	json_object_set_new(json_array_get(rows, 0), "netbox_id", json_integer(17));
	json_object_set_new(json_array_get(rows, 0), "netbox_tags",
	                    json_pack("[{s:s},{s:s}]", "slug", "tsinv", "slug", "rack-4"));
	json_object_set_new(json_array_get(rows, 2), "netbox_id", json_integer(9));
	objs = objects_of(rows, &map);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(objs, 0), "id")), 17);
	ipam_write_netbox_csv(objs, &map, &sb);
	ck_assert_str_eq(
	    sb.p, "id,address,vrf,status,dns_name,description,tags,cf_tailscale_node_id,cf_tailnet,"
	          "cf_last_seen\n"
	          "17,100.64.0.1/32,ts-corp,active,alpha.tail1.ts.net,alpha (a@example.com),"
	          "\"tsinv,rack-4\",nA,corp,2026-11-20T13:00:00+00:00\n"
	          ",fd7a:115c:a1e0::2/128,ts-corp,active,bob-mbp.tail1.ts.net,"
	          "\"Bob's \"\"Mac\"\", new\nline (b@example.com)\",tsinv,nB,corp,"
	          "2026-11-20T14:05:00+00:00\n"
	          "9,100.64.0.3/32,ts-corp,deprecated,gone.tail1.ts.net,gone (c@example.com),"
	          "\"tsinv,ci\",nC,corp,2026-11-19T10:00:00+00:00\n");
	sbuf_free(&sb);
	json_decref(objs);
	json_decref(rows);
}
END_TEST

START_TEST(test_write_netbox_csv_names)
{
	struct ipam_map m = map;
	json_t *objs = json_array();
	struct sbuf sb = {0};

	m.cf_node_id = "ts_node";
	m.cf_tailnet = "ts_net";
	m.cf_last_seen = "ts_seen";
	ipam_write_netbox_csv(objs, &m, &sb);
	ck_assert_str_eq(sb.p, "address,vrf,status,dns_name,description,tags,cf_ts_node,cf_ts_net,"
	                       "cf_ts_seen\n");
	sbuf_free(&sb);
	json_decref(objs);
}
END_TEST

START_TEST(test_write_csv)
{
	json_t *rows = rows_of(answer, &map);
	struct sbuf sb = {0};

	ipam_write_csv(rows, &sb);
	ck_assert_str_eq(
	    sb.p,
	    "address,family,status,tailnet,vrf,node_id,name,hostname,user,tags,os,from_lo,from_hi,"
	    "to_lo,to_hi,last_seen\n"
	    "100.64.0.1,4,active,corp,ts-corp,nA,alpha.tail1.ts.net,alpha,a@example.com,"
	    "\"tag:prod,tag:Web Server\",linux,,2026-11-01T00:00:00Z,,,2026-11-20T13:00:00Z\n"
	    "fd7a:115c:a1e0::2,6,active,corp,ts-corp,nB,bob-mbp.tail1.ts.net,"
	    "\"Bob's \"\"Mac\"\", new\nline\",b@example.com,,macOS,2026-11-02T00:00:00Z,"
	    "2026-11-02T00:05:00Z,,,2026-11-20T14:05:00.250000Z\n"
	    "100.64.0.3,4,deprecated,corp,ts-corp,nC,gone.tail1.ts.net,gone,c@example.com,tag:ci,"
	    "linux,2026-10-01T00:00:00Z,2026-10-01T00:05:00Z,2026-11-19T10:00:00Z,"
	    "2026-11-19T10:05:00Z,2026-11-19T10:00:00Z\n");
	sbuf_free(&sb);
	json_decref(rows);
}
END_TEST

START_TEST(test_write_json)
{
	json_t *v = json_pack("[{s:s}]", "a", "b,\"c\"");
	struct sbuf sb = {0};
	json_t *back;

	ipam_write_json(v, &sb);
	ck_assert_str_eq(sb.p, "[\n  {\n    \"a\": \"b,\\\"c\\\"\"\n  }\n]\n");
	back = json_loads(sb.p, 0, NULL);
	ck_assert(json_equal(back, v));
	json_decref(back);
	json_decref(v);
	sbuf_free(&sb);
}
END_TEST

/* A record as NetBox's GET answers it, for the diff. */
static json_t *
netbox_record(const char *status, const char *dns, const char *desc, const char *tags_json,
              const char *node, const char *seen)
{
	json_t *r =
	    json_pack("{s:i, s:s, s:{s:s, s:s}, s:s, s:s, s:{s:s, s:s, s:s?, s:n}}", "id", 7,
	              "address", "100.64.0.1/32", "status", "value", status, "label", "X",
	              "dns_name", dns, "description", desc, "custom_fields", "tailscale_node_id",
	              node, "tailnet", "corp", "last_seen", seen, "other_field");

	json_object_set_new(r, "tags", json_loads(tags_json, 0, NULL));
	return r;
}

START_TEST(test_diff)
{
	json_t *rows = rows_of(answer, &map);
	json_t *want = ipam_netbox_object(json_array_get(rows, 0), &map), *have, *d;
	const char *tags = "[{\"id\":3,\"name\":\"web-server\",\"slug\":\"web-server\"},"
	                   "{\"id\":1,\"name\":\"tsinv\",\"slug\":\"tsinv\"},"
	                   "{\"id\":2,\"name\":\"prod\",\"slug\":\"prod\"}]";

	/* The same record, tags in another order and the time spelt with Z: nothing to do. */
	have = netbox_record("active", "alpha.tail1.ts.net", "alpha (a@example.com)", tags, "nA",
	                     "2026-11-20T13:00:00Z");
	ck_assert_ptr_null(ipam_netbox_diff(have, want, &map, 0));
	json_decref(have);

	/* Last seen a little earlier: within the slack, nothing; beyond it, only that field. */
	have = netbox_record("active", "alpha.tail1.ts.net", "alpha (a@example.com)", tags, "nA",
	                     "2026-11-20T12:30:00+00:00");
	ck_assert_ptr_null(ipam_netbox_diff(have, want, &map, 3600 * TSTIME_SEC));
	d = ipam_netbox_diff(have, want, &map, 60 * TSTIME_SEC);
	ck_assert_json(d, "{\"custom_fields\":{\"last_seen\":\"2026-11-20T13:00:00+00:00\"}}");
	json_decref(d);
	json_decref(have);

	/* Everything else different: each field, only the changed custom fields. */
	have = netbox_record("deprecated", "", "old", "[{\"slug\":\"tsinv\"}]", "nA", NULL);
	d = ipam_netbox_diff(have, want, &map, 0);
	ck_assert_json(d,
	               "{\"status\":\"active\",\"dns_name\":\"alpha.tail1.ts.net\","
	               "\"description\":\"alpha (a@example.com)\",\"tags\":[{\"slug\":\"tsinv\"},"
	               "{\"slug\":\"prod\"},{\"slug\":\"web-server\"}],\"custom_fields\":{"
	               "\"last_seen\":\"2026-11-20T13:00:00+00:00\"}}");
	json_decref(d);
	json_decref(have);

	/* Another node id (an address reassigned): the node id is written. */
	have = netbox_record("active", "alpha.tail1.ts.net", "alpha (a@example.com)", tags, "nZ",
	                     "2026-11-20T13:00:00Z");
	d = ipam_netbox_diff(have, want, &map, 0);
	ck_assert_json(d, "{\"custom_fields\":{\"tailscale_node_id\":\"nA\"}}");
	json_decref(d);
	json_decref(have);

	/* An unknown last seen never erases a known one. */
	json_object_set_new(json_object_get(want, "custom_fields"), "last_seen", json_null());
	have = netbox_record("active", "alpha.tail1.ts.net", "alpha (a@example.com)", tags, "nA",
	                     "2026-01-01T00:00:00Z");
	ck_assert_ptr_null(ipam_netbox_diff(have, want, &map, 0));
	json_decref(have);
	json_decref(want);
	json_decref(rows);
}
END_TEST

START_TEST(test_addr_key)
{
	char buf[64];
	int plen;

	ck_assert_int_eq(ipam_addr_key("100.64.0.1/32", buf, sizeof(buf), &plen), 0);
	ck_assert_str_eq(buf, "100.64.0.1");
	ck_assert_int_eq(plen, 32);
	ck_assert_int_eq(ipam_addr_key("FD7A:115C:A1E0:0:0:0:0:2/128", buf, sizeof(buf), &plen), 0);
	ck_assert_str_eq(buf, "fd7a:115c:a1e0::2");
	ck_assert_int_eq(plen, 128);
	ck_assert_int_eq(ipam_addr_key("100.64.0.1", buf, sizeof(buf), &plen), 0);
	ck_assert_int_eq(plen, 32);
	ck_assert_int_eq(ipam_addr_key("10.0.0.0/8", buf, sizeof(buf), &plen), 0);
	ck_assert_int_eq(plen, 8);
	ck_assert_int_eq(ipam_addr_key("100.64.0.1/33", buf, sizeof(buf), &plen), -1);
	ck_assert_int_eq(ipam_addr_key("100.64.0.1/", buf, sizeof(buf), &plen), -1);
	ck_assert_int_eq(ipam_addr_key("100.64.0.1/-1", buf, sizeof(buf), &plen), -1);
	ck_assert_int_eq(ipam_addr_key("host/32", buf, sizeof(buf), &plen), -1);
	ck_assert_int_eq(ipam_addr_key("", buf, sizeof(buf), &plen), -1);
}
END_TEST

START_TEST(test_time_netbox)
{
	char buf[64];

	ipam_time_netbox(1795183500 * TSTIME_SEC + 999999, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2026-11-20T14:05:00+00:00");
	ipam_time_netbox(-1, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1969-12-31T23:59:59+00:00");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("ipam");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_rows);
	tcase_add_test(tc, test_rows_last_seen);
	tcase_add_test(tc, test_rows_global_table);
	tcase_add_test(tc, test_netbox_object);
	tcase_add_test(tc, test_netbox_object_edges);
	tcase_add_test(tc, test_tag_slug);
	tcase_add_test(tc, test_dns_name);
	tcase_add_test(tc, test_csv_field);
	tcase_add_test(tc, test_write_netbox_csv);
	tcase_add_test(tc, test_write_netbox_csv_ids);
	tcase_add_test(tc, test_write_netbox_csv_names);
	tcase_add_test(tc, test_write_csv);
	tcase_add_test(tc, test_write_json);
	tcase_add_test(tc, test_diff);
	tcase_add_test(tc, test_addr_key);
	tcase_add_test(tc, test_time_netbox);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
