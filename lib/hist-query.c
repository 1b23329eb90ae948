/* hist-query.c: what the device history answers: ip.at, device.get, devices.list, addresses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "entity.h"
#include "hist-int.h"
#include "jscan.h"
#include "log.h"
#include "norm.h"
#include "pin.h"
#include "sbuf.h"

/* The version of device ID in force at T: the last one that started by T, else the first.
 * Its device JSON's bytes in *JSON and *LEN (borrowed from TXN: valid until it ends or the next
 * cursor moves over them) and its bounds: 0, or -1 when the device is unknown. */
static int
hist_version_raw_at(struct store_txn *txn, const char *tailnet, const char *id, tstime_t t,
                    struct hist_bounds *bout, const char **json, size_t *len)
{
	struct store_cursor *cur;
	struct store_key prefix, k;
	struct store_val key, val;
	char *cause = NULL;
	int rc;

	hist_key_device(&prefix, tailnet, id);
	k = prefix;
	store_key_i64(&k, t);
	if (store_cursor_open(txn, STORE_VER, &cur, &cause) == -1) {
		free(cause);
		return -1;
	}
	/* The first version starting after T; the one before it is in force at T. */
	rc = store_cursor_seek(cur, &k, &prefix, &key, &val);
	if (rc == 0 && key.len < prefix.len + 8)
		rc = 1; /* damaged */
	if (rc == 0) {
		if (store_get_i64((const uint8_t *)key.data + prefix.len) > t &&
		    store_cursor_step(cur, -1, &key, &val) != 0)
			rc = store_cursor_seek(cur, &prefix, &prefix, &key, &val);
	} else
		rc = store_cursor_last(cur, &prefix, &key, &val);
	store_cursor_close(cur);
	if (rc != 0 || val.len < HIST_BOUNDS_LEN)
		return -1;
	hist_bounds_get(val.data, bout);
	*json = (const char *)val.data + HIST_BOUNDS_LEN;
	*len = val.len - HIST_BOUNDS_LEN;
	return 0;
}

/* The string member NAME of a stored device version (JSON, LEN: written by jansson, checked by
 * its checksum) as a new JSON value; null when absent. A plain string is copied from the bytes,
 * which is what makes an ip.at answer cheap: its holders need two members of a version of a
 * few kilobytes, not a tree of it. *DEV: the parsed version, made once when a member is not a
 * plain string (escaped, or no string at all). */
static json_t *
hist_version_member(const char *json, size_t len, const char *name, json_t **dev)
{
	const char *s;
	size_t slen;
	json_t *v;

	if (jscan_string_member(json, len, name, &s, &slen) == 1 &&
	    (v = json_stringn(s, slen)) != NULL)
		return v;
	if (*dev == NULL && (*dev = json_loadb(json, len, 0, NULL)) == NULL)
		return json_null();
	v = json_object_get(*dev, name);
	return v != NULL ? json_incref(v) : json_null();
}

static json_t *
hist_holder_json(struct store_txn *txn, const char *tailnet, const char *id,
                 const struct hist_bounds *b, tstime_t t, const char *state)
{
	struct hist_bounds vb;
	json_t *h = json_object(), *dev = NULL;
	const char *json;
	size_t len;
	int known = hist_version_raw_at(txn, tailnet, id, t, &vb, &json, &len) == 0;

	json_object_set_new(h, "nodeId", json_string(id));
	json_object_set_new(h, "name",
	                    known ? hist_version_member(json, len, "name", &dev) : json_null());
	json_object_set_new(h, "hostname",
	                    known ? hist_version_member(json, len, "hostname", &dev) : json_null());
	if (state != NULL)
		json_object_set_new(h, "state", json_string(state));
	hist_bounds_json(h, b);
	json_decref(dev);
	return h;
}

/* A query's read transaction and the devices endpoint's state. */
static int
hist_query_begin(struct store *st, const char *tailnet, struct store_txn **txn,
                 struct hist_endpoint *ep, char **cause)
{
	if (store_read_begin(st, txn, cause) == -1)
		return -1;
	if (hist_ep_read(*txn, tailnet, HIST_DEVICES->name, ep, cause) == -1) {
		store_read_end(*txn);
		return -1;
	}
	return 0;
}

int
hist_ip_at(struct store *st, const char *tailnet, const struct tsaddr *a, tstime_t at, int history,
           json_t **out, char **cause)
{
	struct store_txn *txn;
	struct store_cursor *cur;
	struct store_key prefix;
	struct store_val key, val;
	struct hist_endpoint ep;
	json_t *res, *holders, *intervals = NULL;
	enum hist_state best = HIST_NO;
	char abuf[ADDR_STRLEN], *reason = NULL;
	int rc, covered, pinned = 0;

	if (hist_query_begin(st, tailnet, &txn, &ep, cause) == -1)
		return HIST_ERR;
	if (at == TSTIME_NONE)
		at = ep.last_ok;
	addr_format(a, abuf, sizeof(abuf));
	res = json_object();
	json_object_set_new(res, "ip", json_string(abuf));
	json_object_set_new(res, "tailnet", json_string(tailnet));
	json_object_set_new(res, "at", hist_time_json(at));
	holders = json_array();
	if (history)
		intervals = json_array();
	covered = at != TSTIME_NONE && hist_covered(txn, tailnet, HIST_DEVICES->name, at, &reason);
	hist_key_addr(&prefix, tailnet, a);
	if (store_cursor_open(txn, STORE_ADDR, &cur, cause) == -1) {
		free(reason);
		json_decref(res);
		json_decref(holders);
		json_decref(intervals);
		hist_endpoint_free(&ep);
		store_read_end(txn);
		return HIST_ERR;
	}
	for (rc = store_cursor_seek(cur, &prefix, &prefix, &key, &val); rc == 0;
	     rc = store_cursor_step(cur, 1, &key, &val)) {
		struct hist_bounds b;
		const char *id = (const char *)key.data + prefix.len + 8;
		enum hist_state s;

		if (key.len <= prefix.len + 8 || val.len < HIST_BOUNDS_LEN ||
		    ((const char *)key.data)[key.len - 1] != '\0')
			continue;
		hist_bounds_get(val.data, &b);
		s = at == TSTIME_NONE ? HIST_NO : hist_state_cov(&b, at, ep.last_ok, covered);
		/* The audit log's moment of the change that opened or closed the interval: a
		 * maybe it turns into held or none is an answer the log decided. */
		if (pin_apply(txn, tailnet, HIST_DEVICES->kind, id, &b) && at != TSTIME_NONE) {
			enum hist_state ps = hist_state_cov(&b, at, ep.last_ok, covered);

			pinned |= s == HIST_MAYBE && ps != HIST_MAYBE;
			s = ps;
		}
		if (s != HIST_NO) {
			json_array_append_new(holders, hist_holder_json(txn, tailnet, id, &b, at,
			                                                hist_state_names[s]));
			if (s == HIST_HELD || best == HIST_NO)
				best = s;
		}
		if (intervals != NULL)
			json_array_append_new(
			    intervals, hist_holder_json(txn, tailnet, id, &b, b.from_hi, NULL));
	}
	store_cursor_close(cur);
	if (best == HIST_HELD) {
		/* Only the holder(s) for certain are answers; maybe-windows of others are noise. */
		json_t *only = json_array(), *h;
		size_t i;

		json_array_foreach(holders, i, h)
		{
			if (strcmp(json_string_value(json_object_get(h, "state")), "held") == 0)
				json_array_append(only, h);
		}
		json_decref(holders);
		holders = only;
		json_object_set_new(res, "answer", json_string("held"));
		if (pinned) {
			json_object_set_new(res, "reason", json_string(PIN_WHY));
			json_object_set_new(res, "exact_by", json_string(PIN_BY));
		}
	} else if (best == HIST_MAYBE) {
		json_object_set_new(res, "answer", json_string("maybe"));
		json_object_set_new(
		    res, "reason",
		    json_string(!covered && reason != NULL
		                    ? reason
		                    : "the address may have changed hands between two polls"));
	} else if (at == TSTIME_NONE) {
		json_object_set_new(res, "answer", json_string("unknown"));
		json_object_set_new(res, "reason", json_string("no successful poll yet"));
	} else if (covered) {
		json_object_set_new(res, "answer", json_string("none"));
		json_object_set_new(
		    res, "reason",
		    json_string(pinned ? PIN_WHY : "no device held it; polls cover that time"));
		if (pinned)
			json_object_set_new(res, "exact_by", json_string(PIN_BY));
	} else {
		json_object_set_new(res, "answer", json_string("unknown"));
		json_object_set_new(res, "reason", json_string(reason ?: "not covered by polls"));
	}
	free(reason);
	json_object_set_new(res, "holders", holders);
	if (intervals != NULL)
		json_object_set_new(res, "intervals", intervals);
	hist_endpoint_free(&ep);
	store_read_end(txn);
	*out = res;
	return HIST_OK;
}

/* Does device ID have any version? */
static int
hist_device_known(struct store_txn *txn, const char *tailnet, const char *id)
{
	struct store_cursor *cur;
	struct store_key prefix;
	char *cause = NULL;
	int rc;

	hist_key_device(&prefix, tailnet, id);
	if (store_cursor_open(txn, STORE_VER, &cur, &cause) == -1) {
		free(cause);
		return 0;
	}
	rc = store_cursor_seek(cur, &prefix, &prefix, NULL, NULL);
	store_cursor_close(cur);
	return rc == 0;
}

/* How well NAME (lower-cased) names the device version DEV: 0 its MagicDNS name, 1 that name's
 * first label, 2 its hostname; 3 not at all. */
static int
hist_name_rank_dev(json_t *dev, const char *name)
{
	const char *host = json_string_value(json_object_get(dev, "hostname"));
	char *names[3];
	size_t n = norm_device_names(dev, names);
	int rank = 3;

	for (size_t i = 0; i < n; i++) {
		if (strcmp(names[i], name) == 0 && rank == 3) {
			/* names[] holds the MagicDNS name, its label, the hostname, in that order.
			 */
			rank = (int)i;
			if (host != NULL && strcasecmp(host, name) == 0 && i + 1 == n)
				rank = 2;
		}
		free(names[i]);
	}
	return rank;
}

/* A device a name may mean. */
struct hist_name_cand {
	char id[NORM_MAX_ID + 1];
	tstime_t t; /* when it was last recorded with the name */
	int rank;   /* at the moment asked; 3: it did not bear the name then */
	enum hist_state s;
	struct hist_bounds b; /* of the version that bore it */
	json_t *dev;          /* that version (a new reference), or NULL */
};

/* How device C->id bore NAME at AT (TSTIME_NONE: now): its best rank among the versions that
 * were (or may have been) current then, preferring one certainly held. */
static void
hist_name_rank_at(struct store_txn *txn, const char *tailnet, struct hist_name_cand *c,
                  const char *name, tstime_t at, tstime_t last_ok, int covered)
{
	struct store_cursor *cur;
	struct store_key prefix;
	struct store_val key, val;
	char *cause = NULL;
	int rc;

	c->rank = 3;
	c->s = HIST_NO;
	hist_key_device(&prefix, tailnet, c->id);
	if (store_cursor_open(txn, STORE_VER, &cur, &cause) == -1) {
		free(cause);
		return;
	}
	for (rc = store_cursor_seek(cur, &prefix, &prefix, &key, &val); rc == 0;
	     rc = store_cursor_step(cur, 1, &key, &val)) {
		struct hist_bounds b;
		enum hist_state s;
		json_t *dev;
		int rank;

		if (key.len != prefix.len + 8 || val.len < HIST_BOUNDS_LEN)
			continue;
		hist_bounds_get(val.data, &b);
		/* Now: the open version, the device's current one. */
		s = at == TSTIME_NONE ? (b.to_hi == TSTIME_NONE ? HIST_HELD : HIST_NO)
		                      : hist_state_cov(&b, at, last_ok, covered);
		/* Only a window's maybe can a pin change. */
		if (s == HIST_MAYBE && pin_apply(txn, tailnet, HIST_DEVICES->kind, c->id, &b))
			s = hist_state_cov(&b, at, last_ok, covered);
		if (s == HIST_NO)
			continue;
		dev = json_loadb((const char *)val.data + HIST_BOUNDS_LEN,
		                 val.len - HIST_BOUNDS_LEN, 0, NULL);
		if (dev == NULL)
			continue;
		rank = hist_name_rank_dev(dev, name);
		if (rank < c->rank || (rank == c->rank && rank < 3 && s == HIST_HELD)) {
			c->rank = rank;
			c->s = s;
			c->b = b;
			json_decref(c->dev);
			c->dev = json_incref(dev);
		}
		json_decref(dev);
	}
	store_cursor_close(cur);
}

/* One candidate as the ambiguity error lists it: id, name, state at the moment, bounds. */
static json_t *
hist_name_cand_json(const struct hist_name_cand *c)
{
	json_t *o = json_object();

	json_object_set_new(o, "nodeId", json_string(c->id));
	json_object_set_new(o, "name", json_incref(json_object_get(c->dev, "name")) ?: json_null());
	json_object_set_new(o, "hostname",
	                    json_incref(json_object_get(c->dev, "hostname")) ?: json_null());
	json_object_set_new(o, "state", json_string(c->rank < 3 ? hist_state_names[c->s] : "none"));
	if (c->dev != NULL)
		hist_bounds_json(o, &c->b);
	return o;
}

/*
 * The device NAME finds at AT (TSTIME_NONE: now): the one that bore it then (a MagicDNS name
 * before a label, a label before a hostname). Nobody bore it then: the only device that ever
 * did, or -- now -- the one that bore it most recently. Several devices fit equally well: none is
 * picked; *ambiguous (a new reference) lists them. The id (malloc'd), or NULL.
 */
static char *
hist_find_name(struct store_txn *txn, const char *tailnet, const char *name, tstime_t at,
               tstime_t last_ok, int covered, json_t **ambiguous)
{
	struct store_cursor *cur;
	struct store_key prefix;
	struct store_val key;
	struct hist_name_cand *c = NULL;
	char *lower = xstrdup(name), *found = NULL, *cause = NULL;
	size_t n = 0, i, best = 0, nbest = 0, latest = 0;
	int rc;

	*ambiguous = NULL;
	for (char *p = lower; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	hist_key_name(&prefix, tailnet, lower);
	if (store_cursor_open(txn, STORE_NAME, &cur, &cause) == -1) {
		free(cause);
		free(lower);
		return NULL;
	}
	/* Every device ever recorded with the name, once, with the last time it was. */
	for (rc = store_cursor_seek(cur, &prefix, &prefix, &key, NULL); rc == 0;
	     rc = store_cursor_step(cur, 1, &key, NULL)) {
		const uint8_t *p = key.data;
		const char *id;

		if (key.len <= prefix.len + 8 || p[key.len - 1] != '\0' ||
		    strlen((const char *)p + prefix.len + 8) > NORM_MAX_ID)
			continue;
		id = (const char *)p + prefix.len + 8;
		for (i = 0; i < n && strcmp(c[i].id, id) != 0; i++)
			;
		if (i == n) {
			c = xrealloc(c, (n + 1) * sizeof(*c));
			memset(&c[n], 0, sizeof(*c));
			snprintf(c[n].id, sizeof(c[n].id), "%s", id);
			c[n].t = TSTIME_NONE;
			n++;
		}
		if (store_get_i64(p + prefix.len) >= c[i].t)
			c[i].t = store_get_i64(p + prefix.len);
	}
	store_cursor_close(cur);
	for (i = 0; i < n; i++) {
		hist_name_rank_at(txn, tailnet, &c[i], lower, at, last_ok, covered);
		if (c[i].rank < c[best].rank)
			best = i;
		if (c[i].t >= c[latest].t)
			latest = i;
	}
	for (i = 0; i < n; i++)
		nbest += c[i].rank == c[best].rank;
	if (n == 0)
		;
	else if (c[best].rank < 3 && nbest == 1)
		found = xstrdup(c[best].id);
	else if (c[best].rank == 3 && (n == 1 || at == TSTIME_NONE))
		found = xstrdup(c[latest].id);
	else {
		*ambiguous = json_array();
		for (i = 0; i < n; i++)
			if (c[i].rank == c[best].rank)
				json_array_append_new(*ambiguous, hist_name_cand_json(&c[i]));
	}
	for (i = 0; i < n; i++)
		json_decref(c[i].dev);
	free(c);
	free(lower);
	return found;
}

static json_t *
hist_versions(struct store_txn *txn, const char *tailnet, const char *id, tstime_t at, int covered,
              tstime_t last_ok, json_t **at_version)
{
	struct store_cursor *cur;
	struct store_key prefix;
	struct store_val key, val;
	json_t *list = json_array(), *prev = NULL, *a;
	struct hist_bounds last = {0};
	char *cause = NULL;
	int rc;

	hist_key_device(&prefix, tailnet, id);
	if (store_cursor_open(txn, STORE_VER, &cur, &cause) == -1) {
		free(cause);
		return list;
	}
	for (rc = store_cursor_seek(cur, &prefix, &prefix, &key, &val); rc == 0;
	     rc = store_cursor_step(cur, 1, &key, &val)) {
		struct hist_bounds b;
		json_t *dev, *v;

		if (key.len != prefix.len + 8 || val.len < HIST_BOUNDS_LEN)
			continue;
		hist_bounds_get(val.data, &b);
		dev = json_loadb((const char *)val.data + HIST_BOUNDS_LEN,
		                 val.len - HIST_BOUNDS_LEN, 0, NULL);
		if (dev == NULL)
			continue;
		pin_apply(txn, tailnet, HIST_DEVICES->kind, id, &b);
		last = b;
		v = json_object();
		hist_bounds_json(v, &b);
		if (at != TSTIME_NONE) {
			enum hist_state s = hist_state_cov(&b, at, last_ok, covered);

			json_object_set_new(v, "state", json_string(hist_state_names[s]));
			if (s != HIST_NO && at_version != NULL &&
			    (*at_version == NULL || s == HIST_HELD)) {
				json_decref(*at_version);
				*at_version = json_incref(v);
			}
		}
		json_object_set_new(v, "changed",
		                    prev ? hist_changed_fields(prev, dev) : json_array());
		/* Who made the change, as joined when it was recorded (attrib.c). */
		if ((a = attrib_get(txn, tailnet, HIST_DEVICES->kind, id, b.from_hi)) != NULL)
			json_object_set_new(v, "attribution", a);
		json_object_set(v, "device", dev);
		json_decref(prev);
		prev = dev;
		json_array_append_new(list, v);
	}
	json_decref(prev);
	store_cursor_close(cur);
	/* Who deleted it: kept under the last version's end, where no version starts. */
	if (json_array_size(list) > 0 && last.to_hi != TSTIME_NONE &&
	    last.to_hi != HIST_UNSEEN_END && last.to_hi != HIST_PENDING_END &&
	    (a = attrib_get(txn, tailnet, HIST_DEVICES->kind, id, last.to_hi)) != NULL)
		json_object_set_new(json_array_get(list, json_array_size(list) - 1),
		                    "end_attribution", a);
	return list;
}

/* The device address A finds at AT: its holder then, else its most recent holder (malloc'd),
 * or NULL. Several possible holders then: none is picked, *ambiguous lists them. */
static char *
hist_find_addr(struct store *st, const char *tailnet, const struct tsaddr *a, tstime_t at,
               json_t **ambiguous)
{
	json_t *ipres = NULL, *h, *holders;
	char *id = NULL, *cause = NULL;

	*ambiguous = NULL;
	if (hist_ip_at(st, tailnet, a, at, 1, &ipres, &cause) == HIST_OK) {
		holders = json_object_get(ipres, "holders");
		if (json_array_size(holders) > 1) {
			*ambiguous = json_incref(holders);
			json_decref(ipres);
			return NULL;
		}
		h = json_array_get(holders, 0);
		if (h == NULL) {
			json_t *iv = json_object_get(ipres, "intervals");

			h = json_array_get(iv, json_array_size(iv) - 1);
		}
		if (h != NULL)
			id = xstrdup(json_string_value(json_object_get(h, "nodeId")));
	}
	free(cause);
	json_decref(ipres);
	return id;
}

int
hist_device_get(struct store *st, const char *tailnet, const char *query, tstime_t at, int history,
                json_t **out, char **cause)
{
	struct store_txn *txn;
	struct store_key k;
	struct store_val val;
	struct hist_endpoint ep;
	struct tsaddr addr;
	struct hist_cur cr;
	const char *matched = "id";
	char *id = NULL, when[TSTIME_STRLEN];
	json_t *res, *versions, *atv = NULL, *ambiguous = NULL;
	int rc, covered = 1;

	if (hist_query_begin(st, tailnet, &txn, &ep, cause) == -1)
		return HIST_ERR;
	if (at != TSTIME_NONE) {
		char *reason = NULL;

		covered = hist_covered(txn, tailnet, HIST_DEVICES->name, at, &reason);
		free(reason);
	}
	if (strlen(query) <= NORM_MAX_ID && hist_device_known(txn, tailnet, query)) {
		id = xstrdup(query);
	} else if (addr_parse(query, &addr) == 0) {
		/* hist_ip_at opens its own read transaction. */
		store_read_end(txn);
		txn = NULL;
		id = hist_find_addr(st, tailnet, &addr, at, &ambiguous);
		matched = "ip";
		if (store_read_begin(st, &txn, cause) == -1) {
			free(id);
			json_decref(ambiguous);
			hist_endpoint_free(&ep);
			return HIST_ERR;
		}
	} else {
		/* A name means the device that bore it at the moment asked. */
		id = hist_find_name(txn, tailnet, query, at, ep.last_ok, covered, &ambiguous);
		matched = "name";
	}
	if (id == NULL) {
		hist_endpoint_free(&ep);
		store_read_end(txn);
		if (at != TSTIME_NONE)
			tstime_format(at, when, sizeof(when));
		else
			snprintf(when, sizeof(when), "now");
		if (ambiguous == NULL) {
			*cause =
			    xasprintf("no device matches \"%s\" in tailnet %s", query, tailnet);
			return HIST_NOTFOUND;
		}
		*cause =
		    xasprintf("\"%s\" may mean %zu devices of tailnet %s at %s: ask by node id",
		              query, json_array_size(ambiguous), tailnet, when);
		*out = json_pack("{s:o}", "candidates", ambiguous);
		return HIST_AMBIGUOUS;
	}
	res = json_object();
	json_object_set_new(res, "nodeId", json_string(id));
	json_object_set_new(res, "tailnet", json_string(tailnet));
	json_object_set_new(res, "matched_by", json_string(matched));
	hist_key_device(&k, tailnet, id);
	rc = store_get(txn, STORE_CUR, &k, &val, cause);
	if (rc == -1) {
		free(id);
		json_decref(res);
		hist_endpoint_free(&ep);
		store_read_end(txn);
		return HIST_ERR;
	}
	if (rc == 1) {
		tstime_t from_hi, to_lo;
		char *why = NULL;

		/* Hidden from the credential: not deleted, just not known any more. */
		int hidden = hist_hidden_get(txn, tailnet, id, &from_hi, &to_lo, &why) == 1;

		free(why);
		json_object_set_new(res, "deleted", json_boolean(!hidden));
		if (hidden)
			json_object_set_new(res, "presence", json_string(HIST_UNSEEN_WHY));
	} else
		json_object_set_new(res, "deleted", json_false());
	versions = hist_versions(txn, tailnet, id, at, covered, ep.last_ok, &atv);
	if (at != TSTIME_NONE) {
		json_object_set_new(res, "at", hist_time_json(at));
		json_object_set_new(res, "current", atv ? atv : json_null());
	} else if (rc == 0 && hist_cur_decode(&val, &cr) == 0) {
		json_t *c = json_object();

		pin_apply(txn, tailnet, HIST_DEVICES->kind, id, &cr.b);
		hist_bounds_json(c, &cr.b);
		json_object_set_new(c, "device", json_loadb(cr.stable, cr.stable_len, 0, NULL));
		json_object_set_new(c, "volatile", json_loadb(cr.vol, cr.vol_len, 0, NULL));
		json_object_set_new(res, "current", c);
	} else {
		json_object_set_new(res, "current", json_null());
		/* A deleted device: its last version says what it was. */
		json_object_set(res, "last",
		                json_array_get(versions, json_array_size(versions) - 1)
		                    ?: json_null());
	}
	/* Posture attributes, a versioned part of the device when the posture endpoint polls. */
	entity_posture_device_in(txn, tailnet, id, at, history, res);
	if (history)
		json_object_set_new(res, "versions", versions);
	else
		json_decref(versions);
	free(id);
	hist_endpoint_free(&ep);
	store_read_end(txn);
	*out = res;
	return HIST_OK;
}

/* A device's versions that were (or may have been) current at the moment a listing asks about. */
struct hist_devrow {
	char id[NORM_MAX_ID + 1];
	struct hist_devrow_v {
		struct hist_bounds b;
		enum hist_state s;
		char *dev; /* the version's JSON, malloc'd */
		size_t dlen;
	} * v;
	size_t n, cap;
};

/* The members a listing keeps of each device object (devices.list's "fields"), or none: all. */
struct hist_fields {
	char *names[HIST_FIELDS_MAX];
	size_t len[HIST_FIELDS_MAX];
	size_t n;
	int on;
};

/* F from CSV: names of letters, digits and "_" separated by commas, at most HIST_FIELDS_MAX.
 * 0, or -1 and *cause. */
static int
hist_fields_parse(struct hist_fields *f, const char *csv, char **cause)
{
	const char *p = csv;
	size_t n;

	for (;;) {
		n = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_");
		if (n == 0 || (p[n] != ',' && p[n] != '\0')) {
			*cause =
			    xstrdup("fields: names of letters, digits and _ separated by commas "
			            "are needed");
			return -1;
		}
		if (f->n == HIST_FIELDS_MAX) {
			*cause = xasprintf("fields: at most %d names", HIST_FIELDS_MAX);
			return -1;
		}
		f->names[f->n] = xmalloc(n + 1);
		memcpy(f->names[f->n], p, n);
		f->names[f->n][n] = '\0';
		f->len[f->n++] = n;
		f->on = 1;
		if (p[n] == '\0')
			return 0;
		p += n + 1;
	}
}

static void
hist_fields_free(struct hist_fields *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->names[i]);
	f->n = 0;
	f->on = 0;
}

/* OBJ, a stored object (written by jansson, checked by its checksum), whole or with only the
 * members F names: one pass over its members, their bytes copied as they are. */
static void
hist_sbuf_object(struct sbuf *sb, const char *obj, size_t len, const struct hist_fields *f)
{
	const char *pos = obj, *k, *v;
	size_t klen, vlen;
	int first = 1;

	if (f == NULL || !f->on) {
		sbuf_add(sb, obj, len);
		return;
	}
	sbuf_addc(sb, '{');
	while (jscan_object_next(&pos, obj + len, &k, &klen, &v, &vlen) == 1) {
		for (size_t i = 0; i < f->n; i++) {
			if (f->len[i] == klen && memcmp(f->names[i], k, klen) == 0) {
				if (!first)
					sbuf_addc(sb, ',');
				first = 0;
				sbuf_addc(sb, '"');
				sbuf_add(sb, k, klen);
				sbuf_adds(sb, "\":");
				sbuf_add(sb, v, vlen);
				break;
			}
		}
	}
	sbuf_addc(sb, '}');
}

/* One row per device: PRESENCE says whether it was on the network at AT, VERSION whether which
 * of its versions was current is known. Two versions fit when a change fell in the window
 * around AT; if the first certainly began before AT and the last certainly ended after it (or
 * is current), the device was certainly there -- present, with its version uncertain. */
static void
hist_devrow_flush(struct sbuf *sb, struct hist_devrow *r, tstime_t at, int covered, size_t *n,
                  const struct hist_fields *f)
{
	const struct hist_devrow_v *first, *last;
	int open_end, present;
	struct hist_bounds b;

	if (r->n == 0)
		return;
	first = &r->v[0];
	last = &r->v[r->n - 1];
	open_end = last->b.to_lo == TSTIME_NONE && last->b.to_hi == TSTIME_NONE;
	if (r->n == 1)
		present = first->s == HIST_HELD;
	else
		present = covered && first->b.from_hi != TSTIME_NONE && first->b.from_hi <= at &&
		          last->b.to_hi != HIST_UNSEEN_END &&
		          (open_end || (last->b.to_lo != TSTIME_NONE && last->b.to_lo >= at));
	/* The row's bounds: from the first version's start to the last one's end. */
	b = first->b;
	b.to_lo = last->b.to_lo;
	b.to_hi = last->b.to_hi;
	sbuf_adds(sb, (*n)++ ? ",{\"nodeId\":" : "{\"nodeId\":");
	sbuf_add_json_string(sb, r->id);
	sbuf_addf(sb, ",\"state\":\"%s\",\"presence\":\"%s\",\"version\":\"%s\",",
	          hist_state_names[r->n == 1 ? first->s : HIST_MAYBE],
	          present ? "present" : "maybe", r->n == 1 ? "certain" : "uncertain");
	hist_bounds_sbuf(sb, &b);
	sbuf_adds(sb, ",\"device\":");
	hist_sbuf_object(sb, last->dev, last->dlen, f);
	if (r->n > 1) {
		sbuf_adds(sb, ",\"versions\":[");
		for (size_t i = 0; i < r->n; i++) {
			sbuf_adds(sb, i ? ",{" : "{");
			hist_bounds_sbuf(sb, &r->v[i].b);
			sbuf_addf(sb, ",\"state\":\"%s\",\"device\":", hist_state_names[r->v[i].s]);
			hist_sbuf_object(sb, r->v[i].dev, r->v[i].dlen, f);
			sbuf_addc(sb, '}');
		}
		sbuf_addc(sb, ']');
	}
	sbuf_addc(sb, '}');
	for (size_t i = 0; i < r->n; i++)
		free(r->v[i].dev);
	r->n = 0;
}

/* A devices listing written a slice at a time, every row from one read transaction. */
struct hist_devlist {
	struct store *st; /* set when the listing began its own transaction */
	struct store_txn *txn;
	struct hist_endpoint ep;
	struct store_cursor *cur;
	struct store_key prefix;
	struct store_val key, val; /* where the cursor stands */
	int rc;                    /* its last move: 0 on a record */
	struct hist_devrow row;
	char *tailnet;
	tstime_t at;
	int covered;
	size_t n;  /* rows written */
	int state; /* 0 nothing written, 1 in the rows, 2 done */
	struct hist_fields fields;
};

/* The listing's head, up to the devices array's "[". */
static void
hist_devlist_head(struct hist_devlist *dl, struct sbuf *sb)
{
	char *reason = NULL;

	sbuf_adds(sb, "{\"tailnet\":");
	sbuf_add_json_string(sb, dl->tailnet);
	sbuf_adds(sb, ",\"at\":");
	hist_sbuf_time(sb, dl->at);
	sbuf_adds(sb, ",\"as_of\":");
	hist_sbuf_time(sb, dl->at == TSTIME_NONE ? dl->ep.last_ok : dl->at);
	if (dl->at == TSTIME_NONE && dl->ep.last_ok == TSTIME_NONE) {
		sbuf_adds(sb, ",\"coverage\":\"unknown\",\"reason\":\"no successful poll yet\"");
	} else if (dl->at != TSTIME_NONE &&
	           !(dl->covered =
	                 hist_covered(dl->txn, dl->tailnet, HIST_DEVICES->name, dl->at, &reason))) {
		sbuf_adds(sb, ",\"coverage\":\"unknown\",\"reason\":");
		sbuf_add_json_string(sb, reason ? reason : "not covered by polls");
	} else
		sbuf_adds(sb, ",\"coverage\":\"covered\"");
	free(reason);
	sbuf_adds(sb, ",\"devices\":[");
}

/* The record the cursor stands on: a row now, or a version kept for the device's row. */
static void
hist_devlist_record(struct hist_devlist *dl, struct sbuf *sb)
{
	const char *id = (const char *)dl->key.data + dl->prefix.len;
	const uint8_t *v = dl->val.data;
	struct hist_devrow *row = &dl->row;
	struct hist_bounds b;
	struct hist_cur cr;
	enum hist_state s;

	if (dl->key.len <= dl->prefix.len ||
	    memchr(id, '\0', dl->key.len - dl->prefix.len) == NULL || strlen(id) > NORM_MAX_ID)
		return;
	if (dl->at == TSTIME_NONE) {
		if (hist_cur_decode(&dl->val, &cr) == -1)
			return;
		sbuf_adds(sb, dl->n++ ? ",{\"nodeId\":" : "{\"nodeId\":");
		sbuf_add_json_string(sb, id);
		sbuf_adds(sb, ",\"state\":\"held\",\"presence\":\"present\","
		              "\"version\":\"certain\",");
		hist_bounds_sbuf(sb, &cr.b);
		sbuf_adds(sb, ",\"device\":");
		hist_sbuf_object(sb, cr.stable, cr.stable_len, &dl->fields);
		sbuf_adds(sb, ",\"volatile\":");
		hist_sbuf_object(sb, cr.vol, cr.vol_len, &dl->fields);
		sbuf_addc(sb, '}');
		return;
	}
	if (dl->val.len < HIST_BOUNDS_LEN)
		return;
	hist_bounds_get(v, &b);
	s = hist_state_cov(&b, dl->at, dl->ep.last_ok, dl->covered);
	/* Only a window's maybe can a pin change: the other rows cost no lookup. */
	if (s == HIST_MAYBE && pin_apply(dl->txn, dl->tailnet, HIST_DEVICES->kind, id, &b))
		s = hist_state_cov(&b, dl->at, dl->ep.last_ok, dl->covered);
	if (s == HIST_NO)
		return;
	/* Versions come in order, device by device: a new id ends the previous row. */
	if (row->n > 0 && strcmp(row->id, id) != 0)
		hist_devrow_flush(sb, row, dl->at, dl->covered, &dl->n, &dl->fields);
	if (row->n == row->cap) {
		row->cap = row->cap ? row->cap * 2 : 4;
		row->v = xrealloc(row->v, row->cap * sizeof(*row->v));
	}
	snprintf(row->id, sizeof(row->id), "%s", id);
	row->v[row->n].b = b;
	row->v[row->n].s = s;
	row->v[row->n].dlen = dl->val.len - HIST_BOUNDS_LEN;
	row->v[row->n].dev = xmalloc(row->v[row->n].dlen + 1);
	memcpy(row->v[row->n].dev, v + HIST_BOUNDS_LEN, row->v[row->n].dlen);
	row->n++;
}

/* Begins a listing in TXN (the caller's when ST is NULL) whose devices endpoint state EP is
 * taken over. */
static int
hist_devlist_begin(struct store *st, struct store_txn *txn, struct hist_endpoint *ep,
                   const char *tailnet, tstime_t at, struct hist_devlist **out, char **cause)
{
	struct hist_devlist *dl = xcalloc(1, sizeof *dl);

	dl->st = st;
	dl->txn = txn;
	dl->ep = *ep;
	dl->tailnet = xstrdup(tailnet);
	dl->at = at;
	dl->covered = 1;
	hist_key_device(&dl->prefix, tailnet, NULL);
	if (store_cursor_open(txn, at == TSTIME_NONE ? STORE_CUR : STORE_VER, &dl->cur, cause) ==
	    -1) {
		dl->cur = NULL;
		hist_devices_list_close(dl);
		return HIST_ERR;
	}
	*out = dl;
	return HIST_OK;
}

int
hist_devices_list_open(struct store *st, const char *tailnet, tstime_t at,
                       struct hist_devlist **out, char **cause)
{
	struct store_txn *txn;
	struct hist_endpoint ep;

	if (hist_query_begin(st, tailnet, &txn, &ep, cause) == -1)
		return HIST_ERR;
	return hist_devlist_begin(st, txn, &ep, tailnet, at, out, cause);
}

int
hist_devices_list_next(struct hist_devlist *dl, struct sbuf *sb, size_t max)
{
	if (dl->state == 0) {
		hist_devlist_head(dl, sb);
		dl->rc = store_cursor_seek(dl->cur, &dl->prefix, &dl->prefix, &dl->key, &dl->val);
		dl->state = 1;
	}
	while (dl->state == 1 && sb->len < max) {
		if (dl->rc != 0) {
			hist_devrow_flush(sb, &dl->row, dl->at, dl->covered, &dl->n, &dl->fields);
			sbuf_adds(sb, "]}");
			dl->state = 2;
			break;
		}
		hist_devlist_record(dl, sb);
		dl->rc = store_cursor_step(dl->cur, 1, &dl->key, &dl->val);
	}
	return dl->state == 2 ? 0 : 1;
}

int
hist_devices_list_fields(struct hist_devlist *dl, const char *csv, char **cause)
{
	return hist_fields_parse(&dl->fields, csv, cause);
}

void
hist_devices_list_close(struct hist_devlist *dl)
{
	if (dl == NULL)
		return;
	hist_fields_free(&dl->fields);
	for (size_t i = 0; i < dl->row.n; i++)
		free(dl->row.v[i].dev);
	free(dl->row.v);
	if (dl->cur != NULL)
		store_cursor_close(dl->cur);
	hist_endpoint_free(&dl->ep);
	if (dl->st != NULL)
		store_read_end(dl->txn);
	free(dl->tailnet);
	free(dl);
}

int
hist_devices_list(struct store *st, const char *tailnet, tstime_t at, char **out, size_t *len,
                  char **cause)
{
	struct hist_devlist *dl;
	struct sbuf sb;

	if (hist_devices_list_open(st, tailnet, at, &dl, cause) != HIST_OK)
		return HIST_ERR;
	sbuf_init(&sb);
	while (hist_devices_list_next(dl, &sb, SIZE_MAX) == 1)
		;
	hist_devices_list_close(dl);
	*len = sb.len;
	*out = sbuf_steal(&sb);
	return HIST_OK;
}

int
hist_devices_list_in(struct store_txn *txn, const char *tailnet, tstime_t at, json_t **out,
                     char **cause)
{
	struct hist_devlist *dl;
	struct hist_endpoint ep;
	json_error_t jerr;
	struct sbuf sb;

	if (hist_ep_read(txn, tailnet, HIST_DEVICES->name, &ep, cause) == -1)
		return HIST_ERR;
	if (hist_devlist_begin(NULL, txn, &ep, tailnet, at, &dl, cause) != HIST_OK)
		return HIST_ERR;
	sbuf_init(&sb);
	while (hist_devices_list_next(dl, &sb, SIZE_MAX) == 1)
		;
	hist_devices_list_close(dl);
	*out = json_loadb(sb.p, sb.len, 0, &jerr);
	sbuf_free(&sb);
	if (*out == NULL) {
		*cause = xasprintf("store: devices.list: %s", jerr.text);
		return HIST_ERR;
	}
	return HIST_OK;
}

int
hist_device_histories_in(struct store_txn *txn, const char *tailnet, tstime_t at, json_t **out,
                         char **cause)
{
	struct store_cursor *cur;
	struct store_key prefix, k;
	struct store_val key, val;
	json_t *list = json_array(), *one = NULL;
	const char *last = NULL;
	int rc;

	hist_key_device(&prefix, tailnet, NULL);
	if (store_cursor_open(txn, STORE_VER, &cur, cause) == -1) {
		json_decref(list);
		return HIST_ERR;
	}
	/* Version keys: tailnet, kind, node id and its NUL, from_hi; in id order, oldest first. */
	for (rc = store_cursor_seek(cur, &prefix, &prefix, &key, &val); rc == 0;
	     rc = store_cursor_step(cur, 1, &key, &val)) {
		const char *id = (const char *)key.data + prefix.len;
		size_t idlen = key.len > prefix.len ? strnlen(id, key.len - prefix.len) : 0;
		struct hist_bounds b;
		struct store_val cv;
		json_t *v;

		if (idlen == 0 || key.len != prefix.len + idlen + 1 + 8 ||
		    val.len < HIST_BOUNDS_LEN)
			continue;
		hist_bounds_get(val.data, &b);
		if (at != TSTIME_NONE && b.from_lo != TSTIME_NONE && b.from_lo > at)
			continue;
		if (last == NULL || strcmp(last, id) != 0) {
			/* Deleted: no current record. A device hidden from the credential is not.
			 */
			hist_key_device(&k, tailnet, id);
			int gone = store_get(txn, STORE_CUR, &k, &cv, cause) == 1;
			tstime_t fh, tl;
			char *why = NULL;

			if (gone && hist_hidden_get(txn, tailnet, id, &fh, &tl, &why) == 1)
				gone = 0;
			free(why);
			one = json_pack("{s:s, s:b, s:[]}", "nodeId", id, "deleted", gone,
			                "versions");
			json_array_append_new(list, one);
			last = json_string_value(json_object_get(one, "nodeId"));
		}
		v = json_object();
		hist_bounds_json(v, &b);
		json_object_set_new(v, "device",
		                    json_loadb((const char *)val.data + HIST_BOUNDS_LEN,
		                               val.len - HIST_BOUNDS_LEN, 0, NULL)
		                        ?: json_null());
		json_array_append_new(json_object_get(one, "versions"), v);
	}
	store_cursor_close(cur);
	*out = list;
	return HIST_OK;
}

/* Stored object bytes OBJ (LEN) parsed, whole or with only F's members: a new reference, or
 * NULL. A few members of a device take a tenth of the parse of all of them. */
static json_t *
hist_object_load(const char *obj, size_t len, const struct hist_fields *f)
{
	struct sbuf sb;
	json_t *j;

	if (f == NULL || !f->on)
		return json_loadb(obj, len, 0, NULL);
	sbuf_init(&sb);
	hist_sbuf_object(&sb, obj, len, f);
	j = json_loadb(sb.p, sb.len, 0, NULL);
	sbuf_free(&sb);
	return j;
}

/* The current record's volatile part of device ID (F's members only, when F), a new
 * reference, or NULL. */
static json_t *
hist_volatile(struct store_txn *txn, const char *tailnet, const char *id,
              const struct hist_fields *f)
{
	struct store_key k;
	struct store_val val;
	struct hist_cur cr;
	char *cause = NULL;

	hist_key_device(&k, tailnet, id);
	if (store_get(txn, STORE_CUR, &k, &val, &cause) != 0 || hist_cur_decode(&val, &cr) == -1) {
		free(cause);
		return NULL;
	}
	return hist_object_load(cr.vol, cr.vol_len, f);
}

/* One address's row: its holder as recorded at T, its device and volatile part with F's
 * members only when F. */
static json_t *
hist_address_row(struct store_txn *txn, const char *tailnet, const struct tsaddr *a, const char *id,
                 const struct hist_bounds *b, const char *status, tstime_t t,
                 const struct hist_fields *f)
{
	struct hist_bounds vb;
	char abuf[ADDR_STRLEN];
	const char *json;
	size_t len;
	json_t *row = json_object(), *dev = NULL, *vol;

	if (hist_version_raw_at(txn, tailnet, id, t, &vb, &json, &len) == 0)
		dev = hist_object_load(json, len, f);
	addr_format(a, abuf, sizeof(abuf));
	json_object_set_new(row, "address", json_string(abuf));
	json_object_set_new(row, "family", json_integer(addr_is_v4(a) ? 4 : 6));
	json_object_set_new(row, "status", json_string(status));
	json_object_set_new(row, "nodeId", json_string(id));
	hist_bounds_json(row, b);
	json_object_set_new(row, "device", dev ? dev : json_null());
	if ((vol = hist_volatile(txn, tailnet, id, f)) != NULL)
		json_object_set_new(row, "volatile", vol);
	return row;
}

/* An address listing read a slice at a time from one read transaction. */
struct hist_addrlist {
	struct store_txn *txn;
	struct store_cursor *cur;
	struct store_key prefix;
	struct store_val key, val;
	int rc; /* the cursor's last move: 0 on a record; -2 before the first */
	struct hist_endpoint ep;
	struct hist_fields f;
	json_t *head;
	char *tailnet;
	tstime_t at;
	int64_t window;
	int covered;
	struct tsaddr addr;
	/* The best candidate for the address being scanned: held, else maybe, else released. */
	struct {
		int have;
		enum hist_state s;
		struct hist_bounds b;
		char id[NORM_MAX_ID + 1];
	} best;
};

int
hist_addresses_open(struct store *st, const char *tailnet, tstime_t at, int64_t window,
                    const char *fields, struct hist_addrlist **out, char **cause)
{
	struct hist_addrlist *al = xcalloc(1, sizeof *al);
	char *reason = NULL;
	json_t *res;

	if (fields != NULL && hist_fields_parse(&al->f, fields, cause) == -1) {
		hist_fields_free(&al->f);
		free(al);
		return HIST_ERR;
	}
	if (hist_query_begin(st, tailnet, &al->txn, &al->ep, cause) == -1) {
		hist_fields_free(&al->f);
		free(al);
		return HIST_ERR;
	}
	if (at == TSTIME_NONE)
		at = al->ep.last_ok;
	if (at != TSTIME_NONE)
		al->covered = hist_covered(al->txn, tailnet, HIST_DEVICES->name, at, &reason);
	al->head = res = json_object();
	json_object_set_new(res, "tailnet", json_string(tailnet));
	json_object_set_new(res, "at", hist_time_json(at));
	json_object_set_new(res, "window_s", json_integer(window / TSTIME_SEC));
	/* Rows of a time no poll covered are not "these and no others": the export says so. */
	json_object_set_new(res, "coverage", json_string(al->covered ? "covered" : "unknown"));
	if (!al->covered)
		json_object_set_new(res, "reason",
		                    json_string(at == TSTIME_NONE ? "no successful poll yet"
		                                : reason != NULL  ? reason
		                                                  : "not covered by polls"));
	free(reason);
	al->tailnet = xstrdup(tailnet);
	al->at = at;
	al->window = window;
	al->rc = -2;
	if (store_cursor_open(al->txn, STORE_ADDR, &al->cur, cause) == -1) {
		al->cur = NULL;
		hist_addresses_close(al);
		return HIST_ERR;
	}
	store_key_init(&al->prefix);
	store_key_str(&al->prefix, tailnet);
	*out = al;
	return HIST_OK;
}

json_t *
hist_addresses_head(struct hist_addrlist *al)
{
	return al->head;
}

int
hist_addresses_next(struct hist_addrlist *al, hist_address_fn fn, void *arg, size_t max)
{
	size_t n = 0;
	json_t *row;

	if (al->rc == -2)
		al->rc = al->at == TSTIME_NONE ? 1
		                               : store_cursor_seek(al->cur, &al->prefix,
		                                                   &al->prefix, &al->key, &al->val);
	else if (al->rc == 0)
		al->rc = store_cursor_step(al->cur, 1, &al->key, &al->val);
	else
		return 0;
	for (;; al->rc = store_cursor_step(al->cur, 1, &al->key, &al->val)) {
		const uint8_t *p = al->key.data;
		size_t plen = al->prefix.len;
		struct tsaddr a;
		struct hist_bounds b;
		enum hist_state s;
		int rank;

		if (al->rc == 0 && (al->key.len <= plen + 24 || al->val.len < HIST_BOUNDS_LEN ||
		                    p[al->key.len - 1] != '\0'))
			continue;
		if (al->rc == 0)
			memcpy(a.b, p + plen, sizeof(a.b));
		/* A new address (or the end): the previous one's row. */
		if (al->best.have && (al->rc != 0 || memcmp(a.b, al->addr.b, sizeof(a.b)) != 0)) {
			const char *status = al->best.s == HIST_NO ? "deprecated" : "active";
			tstime_t t = al->best.s == HIST_NO ? al->best.b.to_lo : al->at;

			/* One row at a time: 100k devices' rows, each with its device and volatile
			 * part, would make gigabytes of tree. */
			row = hist_address_row(al->txn, al->tailnet, &al->addr, al->best.id,
			                       &al->best.b, status, t, &al->f);
			fn(arg, al->head, row);
			json_decref(row);
			al->best.have = 0;
			n++;
		}
		if (al->rc != 0)
			return 0;
		hist_bounds_get(al->val.data, &b);
		s = hist_state_cov(&b, al->at, al->ep.last_ok, al->covered);
		if (s == HIST_MAYBE && pin_apply(al->txn, al->tailnet, HIST_DEVICES->kind,
		                                 (const char *)p + plen + 24, &b))
			s = hist_state_cov(&b, al->at, al->ep.last_ok, al->covered);
		/* Released recently enough to be retired by a sync, not forgotten. */
		if (s == HIST_NO && !(b.to_hi != TSTIME_NONE && b.to_lo <= al->at &&
		                      al->at - b.to_lo <= al->window)) {
			if (n >= max)
				return 1;
			continue;
		}
		rank = s == HIST_HELD ? 3 : s == HIST_MAYBE ? 2 : 1;
		if (al->best.have) {
			int brank = al->best.s == HIST_HELD ? 3 : al->best.s == HIST_MAYBE ? 2 : 1;

			/* Intervals come oldest first: a later one of the same rank wins. */
			if (rank < brank) {
				if (n >= max)
					return 1;
				continue;
			}
		}
		al->addr = a;
		al->best.have = 1;
		al->best.s = s;
		al->best.b = b;
		snprintf(al->best.id, sizeof(al->best.id), "%s", (const char *)p + plen + 24);
		/* Stop on a record that was taken in: the next call steps past it. */
		if (n >= max)
			return 1;
	}
}

void
hist_addresses_close(struct hist_addrlist *al)
{
	if (al == NULL)
		return;
	if (al->cur != NULL)
		store_cursor_close(al->cur);
	hist_endpoint_free(&al->ep);
	store_read_end(al->txn);
	hist_fields_free(&al->f);
	json_decref(al->head);
	free(al->tailnet);
	free(al);
}

int
hist_addresses_each(struct store *st, const char *tailnet, tstime_t at, int64_t window,
                    const char *fields, json_t **head, hist_address_fn fn, void *arg, char **cause)
{
	struct hist_addrlist *al;

	if (hist_addresses_open(st, tailnet, at, window, fields, &al, cause) != HIST_OK)
		return HIST_ERR;
	while (hist_addresses_next(al, fn, arg, SIZE_MAX) == 1)
		;
	*head = json_incref(al->head);
	hist_addresses_close(al);
	return HIST_OK;
}

static void
hist_addresses_add(void *arg, json_t *head, json_t *row)
{
	json_array_append(arg, row);
}

int
hist_addresses(struct store *st, const char *tailnet, tstime_t at, int64_t window, json_t **out,
               char **cause)
{
	json_t *rows = json_array();

	if (hist_addresses_each(st, tailnet, at, window, NULL, out, hist_addresses_add, rows,
	                        cause) != HIST_OK) {
		json_decref(rows);
		return HIST_ERR;
	}
	json_object_set_new(*out, "addresses", rows);
	return HIST_OK;
}
