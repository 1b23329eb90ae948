/* entity-docs.c: the one-record kinds: the policy file (revisions, texts), DNS and settings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include <openssl/evp.h>

#include "entity-int.h"
#include "pin.h"
#include "hujson.h"
#include "log.h"
#include "proto.h"

/* A singleton is new only at its endpoint's first poll and never leaves: it only changes. */
static const struct entity_kind entity_policy = {
    .ep = ENDPOINT_policy,
    .name = "policy",
    .changed = EVENT_T_policy_changed,
    .events = entity_doc_events,
};

static int entity_dns_upgrade(struct store_txn *, struct entity_apply *, char **);

static const struct entity_kind entity_dns = {
    .ep = ENDPOINT_dns,
    .name = "dns",
    .changed = EVENT_T_dns_changed,
    .events = entity_doc_events,
    .before = entity_dns_upgrade,
};

static const struct entity_kind entity_settings = {
    .ep = ENDPOINT_settings,
    .name = "settings",
    .changed = EVENT_T_settings_changed,
    .events = entity_doc_events,
};

static int
entity_apply_one(struct store *st, const struct entity_kind *k, const char *tailnet, tstime_t t,
                 json_t *doc, struct entity_apply *a, const struct hist_policy *pol,
                 struct hist_poll_result *res, char **cause)
{
	struct entity_item *it = xcalloc(1, sizeof(*it));

	entity_item_set(it, k->name, doc, NULL); /* the one record: "policy", "dns" */
	return entity_apply(st, k, tailnet, t, it, 1, pol, res, a, cause);
}

static void
entity_hex(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", p[i]);
}

/* If the current revision's text has the hash HEX, replaces *DOC with its record. */
static int
entity_policy_same(struct store *st, const char *tailnet, const char *hex, json_t **doc,
                   char **cause)
{
	struct store_txn *txn;
	json_t *cur;

	if (store_read_begin(st, &txn, cause) == -1)
		return -1;
	cur =
	    entity_cur_get(txn, tailnet, endpoints[ENDPOINT_policy].kind, entity_policy.name, NULL);
	store_read_end(txn);
	if (cur != NULL &&
	    strcmp(json_string_value(json_object_get(cur, "sha256")) ?: "", hex) == 0) {
		json_decref(*doc);
		*doc = cur;
	} else
		json_decref(cur);
	return 0;
}

/* 0 when STD (the standardised text) is a JSON object and ETAG is there, else -1 and *cause.
 * STD is valid JSON (the standardiser checked it, comments became spaces): it is an object when
 * its first non-blank byte is '{', so only a refusal parses it, to say what it is. */
static int
entity_policy_shape(const char *std, const char *etag, char **cause)
{
	int object = std[strspn(std, " \t\r\n")] == '{';
	json_t *v;

	if (object && etag != NULL && *etag != '\0')
		return 0;
	v = json_loads(std, JSON_DECODE_ANY, NULL);
	if (!object)
		*cause = xasprintf("the policy answer is not a policy file (a JSON object) but %s",
		                   v == NULL            ? "no JSON value"
		                   : json_is_null(v)    ? "null"
		                   : json_is_array(v)   ? "an array"
		                   : json_is_string(v)  ? "a string"
		                   : json_is_boolean(v) ? "a boolean"
		                                        : "a number");
	else
		*cause =
		    xasprintf("the policy answer has no ETag header (the API always sends one)%s",
		              json_object_size(v) == 1 && json_object_get(v, "message") != NULL
		                  ? ": it looks like the API's error shape {\"message\": ...}"
		                  : "");
	json_decref(v);
	return -1;
}

int
entity_policy_apply(struct store *st, const char *tailnet, tstime_t t, const char *text, size_t len,
                    const char *etag, const struct hist_policy *pol, struct hist_poll_result *res,
                    char **cause)
{
	struct entity_apply a = {0};
	struct hujson_error err;
	char hex[2 * ENTITY_HASH_LEN + 1], *std = NULL;
	unsigned hlen = 0;
	json_t *doc;
	int rc;

	if (len > ENTITY_POLICY_MAX) {
		*cause = xasprintf("the policy file is larger than %zu bytes", ENTITY_POLICY_MAX);
		return -1;
	}
	if (hujson_standardize(text, len, &std, NULL, &err) == -1) {
		*cause = xasprintf("the policy file is not valid HuJSON (line %d, column %d: %s)",
		                   err.line, err.column, err.message);
		return -1;
	}
	/* A policy file is an object, and the API always sends its ETag: null, [], or the API's
	 * {"message": ...} without one are an answer of the wrong shape, never a revision. */
	rc = entity_policy_shape(std, etag, cause);
	free(std);
	if (rc == -1)
		return -1;
	if (EVP_Digest(text, len, a.hash, &hlen, EVP_sha256(), NULL) != 1 ||
	    hlen != ENTITY_HASH_LEN) {
		*cause = xasprintf("cannot hash the policy file");
		return -1;
	}
	entity_hex(a.hash, sizeof(a.hash), hex);
	a.blob = text;
	a.blob_len = len;
	doc = json_pack("{s:s, s:I}", "sha256", hex, "size", (json_int_t)len);
	/* The ETag as the API sends it, quotes and a weak "W/" taken off. */
	if (etag != NULL) {
		size_t n;

		if (strncmp(etag, "W/", 2) == 0)
			etag += 2;
		n = strlen(etag);
		if (n >= 2 && etag[0] == '"' && etag[n - 1] == '"') {
			etag++;
			n -= 2;
		}
		json_object_set_new(doc, "etag", json_stringn(etag, n) ?: json_null());
	} else
		json_object_set_new(doc, "etag", json_null());
	/* A revision is its text: the same text under another ETag (or none) is no change, and
	 * keeps the ETag it was first seen with. */
	if (entity_policy_same(st, tailnet, hex, &doc, cause) == -1) {
		json_decref(doc);
		return -1;
	}
	rc = entity_apply_one(st, &entity_policy, tailnet, t, doc, &a, pol, res, cause);
	json_decref(doc);
	return rc;
}

static int
entity_is_strings(json_t *v)
{
	json_t *e;
	size_t i;

	if (!json_is_array(v))
		return 0;
	json_array_foreach(v, i, e) if (!json_is_string(e)) return 0;
	return 1;
}

/* The members only dns/configuration shows, in the record: the override and the resolvers used
 * with an exit node. */
static const char *const entity_dns_config_only[] = {"overrideLocalDNS", "useWithExitNode", NULL};

/* Lays the config-only members of the recorded DNS over DOC (from the four older paths). */
static int
entity_dns_carry(struct store *st, const char *tailnet, json_t *doc, char **cause)
{
	struct store_txn *txn;
	json_t *cur;

	if (store_read_begin(st, &txn, cause) == -1)
		return -1;
	cur = entity_cur_get(txn, tailnet, ENTITY_ROW(&entity_dns)->kind, "dns", NULL);
	store_read_end(txn);
	for (size_t i = 0; entity_dns_config_only[i] != NULL; i++) {
		json_t *v = json_object_get(cur, entity_dns_config_only[i]);

		if (v != NULL)
			json_object_set(doc, entity_dns_config_only[i], v);
	}
	json_decref(cur);
	return 0;
}

int
entity_dns_apply(struct store *st, const char *tailnet, tstime_t t, json_t *nameservers,
                 json_t *preferences, json_t *searchpaths, json_t *splitdns,
                 const struct hist_policy *pol, struct hist_poll_result *res, char **cause)
{
	json_t *ns = json_object_get(nameservers, "dns");
	json_t *magic = json_object_get(preferences, "magicDNS");
	json_t *paths = json_object_get(searchpaths, "searchPaths"), *doc, *v;
	struct entity_apply a = {0};
	const char *domain;
	int rc;

	/* An empty list may come as null, but a missing member is a broken answer. */
	if (json_is_null(ns))
		ns = NULL;
	else if (ns == NULL)
		ns = json_true(); /* fails the check below */
	if (json_is_null(paths))
		paths = NULL;
	else if (paths == NULL)
		paths = json_true();
	if (!json_is_object(nameservers) || (ns != NULL && !entity_is_strings(ns))) {
		*cause = xasprintf("dns/nameservers: the answer has no \"dns\" list of addresses");
		return -1;
	}
	if (!json_is_boolean(magic)) {
		*cause = xasprintf("dns/preferences: the answer has no \"magicDNS\" true or false");
		return -1;
	}
	if (!json_is_object(searchpaths) || (paths != NULL && !entity_is_strings(paths))) {
		*cause = xasprintf("dns/searchpaths: the answer has no \"searchPaths\" list");
		return -1;
	}
	if (!json_is_object(splitdns)) {
		*cause = xasprintf("dns/split-dns: the answer is not an object of domains");
		return -1;
	}
	json_object_foreach(splitdns, domain, v)
	{
		if (!json_is_null(v) && !entity_is_strings(v)) {
			*cause = xasprintf("dns/split-dns: domain \"%s\" has no list of resolvers",
			                   domain);
			return -1;
		}
	}
	/* Resolver order matters (it is the order of use): lists are kept as they come. */
	doc = json_pack("{s:o, s:O, s:o, s:O}", "nameservers", ns ? json_incref(ns) : json_array(),
	                "magicDNS", magic, "searchPaths", paths ? json_incref(paths) : json_array(),
	                "splitDNS", splitdns);
	/* These paths do not show the override or the exit-node flags: what dns/configuration
	 * said last is kept rather than read as a change. */
	if (entity_dns_carry(st, tailnet, doc, cause) == -1) {
		json_decref(doc);
		return -1;
	}
	rc = entity_apply_one(st, &entity_dns, tailnet, t, doc, &a, pol, res, cause);
	json_decref(doc);
	return rc;
}

/* One resolver list of dns/configuration (null: none) as addresses into *addrs, and those
 * with useWithExitNode into *exit (new references). -1 with *cause if it does not check. */
static int
entity_dns_resolvers(json_t *list, const char *what, json_t **addrs, json_t **exit, char **cause)
{
	json_t *r, *addr, *use;
	size_t i;

	*addrs = json_array();
	*exit = json_array();
	if (json_is_null(list))
		return 0;
	if (!json_is_array(list))
		goto bad;
	json_array_foreach(list, i, r)
	{
		addr = json_object_get(r, "address");
		use = json_object_get(r, "useWithExitNode");
		if (!json_is_string(addr) || (use != NULL && !json_is_boolean(use)))
			goto bad;
		json_array_append(*addrs, addr);
		if (json_is_true(use))
			json_array_append(*exit, addr);
	}
	return 0;
bad:
	json_decref(*addrs);
	json_decref(*exit);
	*cause = xasprintf("dns/configuration: %s is not a list of resolvers", what);
	return -1;
}

int
entity_dns_config_apply(struct store *st, const char *tailnet, tstime_t t, json_t *body,
                        const struct hist_policy *pol, struct hist_poll_result *res, char **cause)
{
	json_t *prefs = json_object_get(body, "preferences"),
	       *split = json_object_get(body, "splitDNS");
	json_t *paths = json_object_get(body, "searchPaths"), *ns, *ns_exit, *doc, *sd, *sd_exit,
	       *v;
	json_t *override = json_object_get(prefs, "overrideLocalDNS");
	json_t *magic = json_object_get(prefs, "magicDNS");
	struct entity_apply a = {0};
	const char *domain;
	char what[300];
	int rc;

	/* A Go server may leave a false boolean out (omitempty, as the Go client's own struct
	 * does): absent is false, anything else but a boolean is a broken answer. */
	if (!json_is_object(body) || !json_is_object(prefs) ||
	    (override != NULL && !json_is_boolean(override)) ||
	    (magic != NULL && !json_is_boolean(magic))) {
		*cause = xasprintf("dns/configuration: the answer has no \"preferences\" with "
		                   "\"overrideLocalDNS\" and \"magicDNS\"");
		return -1;
	}
	if (override == NULL)
		override = json_false();
	if (magic == NULL)
		magic = json_false();
	if ((paths != NULL && !json_is_null(paths) && !entity_is_strings(paths)) ||
	    (split != NULL && !json_is_null(split) && !json_is_object(split))) {
		*cause = xasprintf("dns/configuration: bad \"searchPaths\" or \"splitDNS\"");
		return -1;
	}
	if (entity_dns_resolvers(json_object_get(body, "nameservers"), "\"nameservers\"", &ns,
	                         &ns_exit, cause) == -1)
		return -1;
	sd = json_object();
	sd_exit = json_object();
	json_object_foreach(split, domain, v)
	{
		json_t *addrs, *exit;

		snprintf(what, sizeof(what), "split DNS domain \"%.200s\"", domain);
		if (entity_dns_resolvers(v, what, &addrs, &exit, cause) == -1) {
			json_decref(ns);
			json_decref(ns_exit);
			json_decref(sd);
			json_decref(sd_exit);
			return -1;
		}
		/* The older split-dns path shows a domain without resolvers as null: so do we. */
		json_object_set_new(sd, domain, json_is_null(v) ? json_null() : json_incref(addrs));
		if (json_array_size(exit) > 0)
			json_object_set(sd_exit, domain, exit);
		json_decref(addrs);
		json_decref(exit);
	}
	/* The same members as from the four older paths, and what only this one shows. */
	doc = json_pack("{s:o, s:O, s:o, s:o, s:O, s:{s:o, s:o}}", "nameservers", ns, "magicDNS",
	                magic, "searchPaths",
	                json_is_array(paths) ? json_incref(paths) : json_array(), "splitDNS", sd,
	                "overrideLocalDNS", override, "useWithExitNode", "nameservers", ns_exit,
	                "splitDNS", sd_exit);
	rc = entity_apply_one(st, &entity_dns, tailnet, t, doc, &a, pol, res, cause);
	json_decref(doc);
	return rc;
}

/* A record written before the override and the exit-node flags were read: when the new answer
 * says the same about everything the old one knew, the open version gains the new members in
 * place. History gets no version and no event for what was only never asked. */
static int
entity_dns_upgrade(struct store_txn *txn, struct entity_apply *a, char **cause)
{
	struct hist_cur cr;
	json_t *old, *proj;
	int same;

	if (a->nitems != 1 ||
	    (old = entity_cur_get(txn, a->tailnet, ENTITY_ROW(a->k)->kind, "dns", &cr)) == NULL)
		return 0;
	proj = json_loadb(a->items[0].stable, a->items[0].stable_len, 0, NULL);
	/* Only an old record, and only an answer that has the new members. */
	same = proj != NULL && json_object_get(old, "overrideLocalDNS") == NULL &&
	       json_object_get(proj, "overrideLocalDNS") != NULL;
	for (size_t i = 0; same && entity_dns_config_only[i] != NULL; i++)
		json_object_del(proj, entity_dns_config_only[i]);
	same = same && json_equal(old, proj);
	json_decref(proj);
	json_decref(old);
	if (!same)
		return 0;
	if (hist_version_open(txn, a->tailnet, ENTITY_ROW(a->k)->kind, "dns", &cr.b,
	                      a->items[0].stable, a->items[0].stable_len, cause) == -1)
		return -1;
	return entity_put_cur(txn, a, &a->items[0], &cr.b, cause);
}

/* A settings answer carries at least one of the settings every answer has had; a narrower scope
 * may leave some out, so no single member is required. */
static int
entity_settings_shape(json_t *body)
{
	static const char *const known[] = {
	    "devicesApprovalOn",
	    "devicesAutoUpdatesOn",
	    "devicesKeyDurationDays",
	    "usersApprovalOn",
	    "usersRoleAllowedToJoinExternalTailnets",
	    "networkFlowLoggingOn",
	    "regionalRoutingOn",
	    "postureIdentityCollectionOn",
	    "aclsExternallyManagedOn",
	    "httpsEnabled",
	};

	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if (json_object_get(body, known[i]) != NULL)
			return 1;
	return 0;
}

int
entity_settings_apply(struct store *st, const char *tailnet, tstime_t t, json_t *body,
                      const struct hist_policy *pol, struct hist_poll_result *res, char **cause)
{
	struct entity_apply a = {0};

	if (!json_is_object(body)) {
		*cause = xasprintf("the settings answer is not an object");
		return -1;
	}
	if (!entity_settings_shape(body)) {
		*cause = xasprintf("the settings answer has none of the settings the API sends "
		                   "(devicesApprovalOn, usersApprovalOn, ...)%s",
		                   json_object_get(body, "message") != NULL
		                       ? ": it looks like the API's error shape {\"message\": ...}"
		                       : "");
		return -1;
	}
	return entity_apply_one(st, &entity_settings, tailnet, t, body, &a, pol, res, cause);
}

int
entity_policy_answer(struct store *st, const char *tailnet, tstime_t t,
                     const struct endpoint_answer *ans, const struct hist_policy *pol,
                     struct hist_poll_result *res, char **cause)
{
	return entity_policy_apply(st, tailnet, t, ans->text ? ans->text : "", ans->text_len,
	                           ans->etag, pol, res, cause);
}

int
entity_dns_answer(struct store *st, const char *tailnet, tstime_t t,
                  const struct endpoint_answer *ans, const struct hist_policy *pol,
                  struct hist_poll_result *res, char **cause)
{
	json_t *a = ans->json;

	return entity_dns_apply(st, tailnet, t, json_array_get(a, 0), json_array_get(a, 1),
	                        json_array_get(a, 2), json_array_get(a, 3), pol, res, cause);
}

int
entity_dns_config_answer(struct store *st, const char *tailnet, tstime_t t,
                         const struct endpoint_answer *ans, const struct hist_policy *pol,
                         struct hist_poll_result *res, char **cause)
{
	return entity_dns_config_apply(st, tailnet, t, json_array_get(ans->json, 0), pol, res,
	                               cause);
}

int
entity_settings_answer(struct store *st, const char *tailnet, tstime_t t,
                       const struct endpoint_answer *ans, const struct hist_policy *pol,
                       struct hist_poll_result *res, char **cause)
{
	return entity_settings_apply(st, tailnet, t, json_array_get(ans->json, 0), pol, res, cause);
}

/* Every version of the singleton of K, oldest first, as {bounds..., NAME: record}. */
static json_t *
entity_versions(struct store_txn *txn, const char *tailnet, const struct entity_kind *k)
{
	struct store_cursor *cur;
	struct store_key prefix;
	struct store_val key, val;
	json_t *list = json_array();
	char *cause = NULL;
	int rc;

	hist_key_kind(&prefix, tailnet, ENTITY_ROW(k)->kind, k->name);
	if (store_cursor_open(txn, STORE_VER, &cur, &cause) == -1) {
		free(cause);
		return list;
	}
	for (rc = store_cursor_seek(cur, &prefix, &prefix, &key, &val); rc == 0;
	     rc = store_cursor_step(cur, 1, &key, &val)) {
		struct hist_bounds b;
		json_t *v, *a;

		if (key.len != prefix.len + 8 || val.len < HIST_BOUNDS_LEN)
			continue;
		hist_bounds_get(val.data, &b);
		pin_apply(txn, tailnet, ENTITY_ROW(k)->kind, k->name, &b);
		v = json_object();
		hist_bounds_json(v, &b);
		json_object_set_new(v, k->name,
		                    json_loadb((const char *)val.data + HIST_BOUNDS_LEN,
		                               val.len - HIST_BOUNDS_LEN, 0, NULL)
		                        ?: json_null());
		/* Who made the change, as joined when it was recorded (attrib.c). */
		if ((a = attrib_get(txn, tailnet, ENTITY_ROW(k)->kind, k->name, b.from_hi)))
			json_object_set_new(v, "attribution", a);
		json_array_append_new(list, v);
	}
	store_cursor_close(cur);
	return list;
}

/* The bounds back from a version's JSON. */
static void
entity_bounds_of(json_t *v, struct hist_bounds *b)
{
	static const char *const names[] = {"from_lo", "from_hi", "to_lo", "to_hi"};
	tstime_t *t[] = {&b->from_lo, &b->from_hi, &b->to_lo, &b->to_hi};

	for (size_t i = 0; i < 4; i++)
		*t[i] = entity_time(v, names[i]);
	b->flags = json_is_true(json_object_get(v, "exact_from")) ? HIST_F_EXACT_FROM : 0;
	hist_bounds_pins_json(v, b);
}

/* The index in VERSIONS of the version in force at Q->at (held, else maybe), or -1. */
static ssize_t
entity_version_at(struct entity_query *q, json_t *versions, enum hist_state *state)
{
	ssize_t found = -1;
	json_t *v;
	size_t i;

	*state = HIST_NO;
	json_array_foreach(versions, i, v)
	{
		struct hist_bounds b;
		enum hist_state s;

		entity_bounds_of(v, &b);
		s = hist_state_cov(&b, q->at, q->ep.last_ok, q->covered);
		if (s == HIST_HELD || (s == HIST_MAYBE && found == -1)) {
			found = (ssize_t)i;
			*state = s;
		}
	}
	return found;
}

static int
entity_doc_get(struct store *st, struct store_txn *txn, const char *tailnet,
               const struct entity_kind *k, tstime_t at, int history, json_t **out, char **cause)
{
	struct entity_query q;
	enum hist_state s = HIST_NO;
	json_t *versions, *v = NULL, *m;
	const char *key;
	ssize_t i;

	if (entity_query_begin(st, txn, tailnet, k, at, &q, out, cause) == -1)
		return HIST_ERR;
	versions = entity_versions(q.txn, tailnet, k);
	if (at == TSTIME_NONE) {
		v = json_array_get(versions, json_array_size(versions) - 1);
		s = v != NULL && json_is_null(json_object_get(v, "to_hi")) ? HIST_HELD : HIST_NO;
	} else if ((i = entity_version_at(&q, versions, &s)) >= 0)
		v = json_array_get(versions, (size_t)i);
	if (s != HIST_NO) {
		json_object_set_new(*out, "state", json_string(hist_state_names[s]));
		json_object_foreach(v, key, m) json_object_set(*out, key, m);
	} else {
		json_object_set_new(*out, "state", json_null());
		json_object_set_new(*out, k->name, json_null());
	}
	if (history)
		json_object_set_new(*out, "versions", versions);
	else
		json_decref(versions);
	entity_query_end(&q);
	return HIST_OK;
}

int
entity_dns_get(struct store *st, const char *tailnet, tstime_t at, int history, json_t **out,
               char **cause)
{
	return entity_doc_get(st, NULL, tailnet, &entity_dns, at, history, out, cause);
}

int
entity_settings_get(struct store *st, const char *tailnet, tstime_t at, int history, json_t **out,
                    char **cause)
{
	return entity_doc_get(st, NULL, tailnet, &entity_settings, at, history, out, cause);
}

/* The policy's versions as revisions: {"rev", "sha256", "etag", "size", bounds..., "current"}. */
static json_t *
entity_revisions(struct store_txn *txn, const char *tailnet)
{
	json_t *versions = entity_versions(txn, tailnet, &entity_policy), *v, *revs = json_array();
	size_t i;

	json_array_foreach(versions, i, v)
	{
		json_t *r = json_object(), *doc = json_object_get(v, "policy"), *m;
		const char *key;

		json_object_set_new(r, "rev", json_integer((json_int_t)i + 1));
		json_object_foreach(doc, key, m) json_object_set(r, key, m);
		json_object_foreach(v, key, m) if (strcmp(key, "policy") != 0)
		    json_object_set(r, key, m);
		json_object_set_new(r, "current",
		                    json_boolean(json_is_null(json_object_get(v, "to_hi"))));
		json_array_append_new(revs, r);
	}
	json_decref(versions);
	return revs;
}

int
entity_policy_log(struct store *st, const char *tailnet, json_t **out, char **cause)
{
	struct entity_query q;

	if (entity_query_begin(st, NULL, tailnet, &entity_policy, TSTIME_NONE, &q, out, cause) ==
	    -1)
		return HIST_ERR;
	json_object_set_new(*out, "revisions", entity_revisions(q.txn, tailnet));
	entity_query_end(&q);
	return HIST_OK;
}

/* Finds revision REV ("3", or a hash prefix) in REVS: its index, -1 none, -2 ambiguous. */
static ssize_t
entity_rev_find(json_t *revs, const char *rev)
{
	size_t i, n = strlen(rev), digits = strspn(rev, "0123456789");
	ssize_t found = -1;
	json_t *r;

	if (digits == n && n > 0 && n < 10) {
		long num = strtol(rev, NULL, 10);

		if (num >= 1 && (size_t)num <= json_array_size(revs))
			return (ssize_t)num - 1;
		/* "123456" may also be the start of a hash. */
		if (n < PROTO_REV_HEX_MIN)
			return -1;
	}
	json_array_foreach(revs, i, r)
	{
		const char *h = json_string_value(json_object_get(r, "sha256"));

		if (h == NULL || strncasecmp(h, rev, n) != 0)
			continue;
		/* A text that came back is the same text: its latest revision. Only prefixes of
		 * different texts are ambiguous. */
		if (found >= 0 &&
		    strcmp(h, json_string_value(json_object_get(json_array_get(revs, (size_t)found),
		                                                "sha256"))) != 0)
			return -2;
		found = (ssize_t)i;
	}
	return found;
}

/* New reference: the text of revision R (a JSON string), or NULL when its blob is missing. */
static json_t *
entity_policy_text(struct store_txn *txn, json_t *r, char **cause)
{
	const char *hex = json_string_value(json_object_get(r, "sha256"));
	uint8_t hash[ENTITY_HASH_LEN];
	struct store_key k;
	struct store_val val;

	if (hex == NULL || strlen(hex) != 2 * ENTITY_HASH_LEN)
		return NULL;
	for (size_t b = 0; b < ENTITY_HASH_LEN; b++) {
		unsigned x;

		sscanf(hex + 2 * b, "%2x", &x);
		hash[b] = (uint8_t)x;
	}
	store_key_init(&k);
	store_key_bytes(&k, hash, sizeof(hash));
	if (store_get(txn, STORE_BLOB, &k, &val, cause) != 0)
		return NULL;
	return json_stringn(val.data, val.len);
}

static int
entity_policy_query(struct store *st, struct store_txn *txn, const char *tailnet, const char *rev,
                    tstime_t at, json_t **out, char **cause)
{
	struct entity_query q;
	enum hist_state s = HIST_HELD;
	json_t *revs, *r;
	ssize_t i;
	size_t n;
	int rc = HIST_OK;

	if (rev != NULL && !proto_rev_ok(rev)) {
		*cause =
		    xasprintf("revision \"%s\": give its number or at least 6 hex digits of its "
		              "sha256",
		              rev);
		return HIST_NOTFOUND;
	}
	if (entity_query_begin(st, txn, tailnet, &entity_policy, at, &q, out, cause) == -1)
		return HIST_ERR;
	revs = entity_revisions(q.txn, tailnet);
	n = json_array_size(revs);
	if (rev != NULL)
		i = entity_rev_find(revs, rev);
	else if (at != TSTIME_NONE)
		i = entity_version_at(&q, revs, &s);
	else
		i = n > 0 && json_is_true(json_object_get(json_array_get(revs, n - 1), "current"))
		        ? (ssize_t)n - 1
		        : -1;
	if (i < 0) {
		if (i == -2)
			*cause =
			    xasprintf("revision \"%s\" matches more than one policy revision", rev);
		else if (rev != NULL)
			*cause =
			    xasprintf("tailnet %s has no policy revision \"%s\" (%zu recorded)",
			              tailnet, rev, n);
		else if (at != TSTIME_NONE)
			*cause = xasprintf(
			    "no policy revision of tailnet %s is known at that time%s%s", tailnet,
			    json_string_value(json_object_get(*out, "reason")) ? ": " : "",
			    json_string_value(json_object_get(*out, "reason")) ?: "");
		else
			*cause = xasprintf("no policy file of tailnet %s recorded yet", tailnet);
		json_decref(*out);
		*out = NULL;
		rc = HIST_NOTFOUND;
		goto out;
	}
	r = json_array_get(revs, (size_t)i);
	{
		const char *key;
		json_t *m, *text = entity_policy_text(q.txn, r, cause);

		if (text == NULL) {
			if (*cause == NULL)
				*cause =
				    xasprintf("store: the text of policy revision %zd is missing "
				              "or damaged",
				              i + 1);
			json_decref(*out);
			*out = NULL;
			rc = HIST_ERR;
			goto out;
		}
		json_object_foreach(r, key, m) json_object_set(*out, key, m);
		if (at != TSTIME_NONE && rev == NULL)
			json_object_set_new(*out, "state", json_string(hist_state_names[s]));
		json_object_set_new(*out, "text", text);
	}
out:
	json_decref(revs);
	entity_query_end(&q);
	return rc;
}

int
entity_policy_get(struct store *st, const char *tailnet, const char *rev, tstime_t at, json_t **out,
                  char **cause)
{
	return entity_policy_query(st, NULL, tailnet, rev, at, out, cause);
}

int
entity_policy_get_in(struct store_txn *txn, const char *tailnet, tstime_t at, json_t **out,
                     char **cause)
{
	return entity_policy_query(NULL, txn, tailnet, NULL, at, out, cause);
}

int
entity_dns_get_in(struct store_txn *txn, const char *tailnet, tstime_t at, json_t **out,
                  char **cause)
{
	return entity_doc_get(NULL, txn, tailnet, &entity_dns, at, 0, out, cause);
}

int
entity_settings_get_in(struct store_txn *txn, const char *tailnet, tstime_t at, json_t **out,
                       char **cause)
{
	return entity_doc_get(NULL, txn, tailnet, &entity_settings, at, 0, out, cause);
}

int
entity_policy_revisions_in(struct store_txn *txn, const char *tailnet, tstime_t at, json_t **out,
                           char **cause)
{
	json_t *revs = entity_revisions(txn, tailnet), *r, *kept = json_array();
	size_t i;

	json_array_foreach(revs, i, r)
	{
		tstime_t from = entity_time(r, "from_lo");
		json_t *text;

		if (at != TSTIME_NONE && from != TSTIME_NONE && from > at)
			continue;
		if ((text = entity_policy_text(txn, r, cause)) == NULL) {
			if (*cause == NULL)
				*cause =
				    xasprintf("store: the text of policy revision %zu is missing "
				              "or damaged",
				              i + 1);
			json_decref(revs);
			json_decref(kept);
			return HIST_ERR;
		}
		json_object_set_new(r, "text", text);
		json_array_append(kept, r);
	}
	json_decref(revs);
	*out = kept;
	return HIST_OK;
}
