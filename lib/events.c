/* events.c: the event types table and the event log: append, scan, find by time. */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "log.h"

/* Every event tsinv records; the client's help and the documentation list this table. */
const struct event_type event_types[] = {
    {"tailnet.baseline", "tailnet",
     "the first successful poll of a tailnet: one summary, not one "
     "event per device",
     0},
    {"device.created", "device", "a device joined the tailnet", 0},
    {"device.deleted", "device", "a device left the tailnet (deleted, or expired and removed)", 0},
    {"device.renamed", "device", "a device's MagicDNS name or hostname changed", 0},
    {"device.address.added", "device", "a device gained a Tailscale address", 0},
    {"device.address.removed", "device", "a device lost a Tailscale address", 0},
    {"device.tags.changed", "device", "a device's tags changed", 0},
    {"device.owner.changed", "device", "a device's user (owner) changed", 0},
    {"device.authorized.changed", "device", "a device was authorised or de-authorised", 0},
    {"device.key.expiry.changed", "device",
     "a device's node key expiry changed, or key expiry was disabled or enabled", 0},
    {"device.routes.changed", "device", "a device's advertised or enabled subnet routes changed",
     0},
    {"device.updated", "device",
     "any other recorded field of a device changed (OS, client "
     "version, node key, ...)",
     0},
    {"device.key.expiring", "device",
     "a device's node key expires within a threshold (14d, 7d, 1d by default); once per key "
     "and threshold",
     0},
    {"device.key.expired", "device", "a device's node key expiry time has passed; once per key", 0},
    {"device.online", "device",
     "a device connected to the control plane (presence: off by "
     "default)",
     1},
    {"device.offline", "device",
     "a device lost its connection to the control plane "
     "(presence: off by default)",
     1},
    {"device.multiple.connections", "device",
     "the API says several machines connect with a device's node key at once (its state was "
     "probably copied), or no longer does; once per transition",
     0},
    {"key.created", "key", "an auth key, API token, OAuth client or federated identity appeared",
     0},
    {"key.revoked", "key",
     "a key was revoked (seen by fetching it once more after it left the list)", 0},
    {"key.expired", "key", "a key expired and left the list", 0},
    {"key.deleted", "key",
     "a key left the list and the API no longer knows it (no revocation or expiry seen)", 0},
    {"key.updated", "key", "any other recorded field of a key changed (description, scopes, ...)",
     0},
    {"key.expiring", "key",
     "an active key expires within a threshold (as device.key.expiring); once per key and "
     "threshold",
     0},
    {"user.created", "user", "a user joined the tailnet (members and shared users)", 0},
    {"user.deleted", "user", "a user left the tailnet's users list", 0},
    {"user.role.changed", "user", "a user's role changed", 0},
    {"user.status.changed", "user",
     "a user was suspended, restored, approved or needs approval (not active <-> idle)", 0},
    {"user.updated", "user",
     "any other recorded field of a user changed (login, display name, ...)", 0},
    {"policy.changed", "policy", "the policy file (ACL) changed: a new revision", 0},
    {"dns.changed", "dns",
     "nameservers, MagicDNS, search paths, split DNS, the override of local DNS or a resolver's "
     "use with exit nodes changed",
     0},
    {"settings.changed", "settings",
     "a tailnet setting changed (device approval, key duration, ...)", 0},
    {"webhook.created", "webhook", "a webhook endpoint was added", 0},
    {"webhook.deleted", "webhook", "a webhook endpoint was removed (alerting may be gone)", 0},
    {"webhook.updated", "webhook", "a webhook's URL, subscriptions or provider changed", 0},
};
const size_t event_ntypes = sizeof(event_types) / sizeof(event_types[0]);

const struct event_type *
event_type_find(const char *name)
{
	for (size_t i = 0; i < event_ntypes; i++)
		if (strcmp(event_types[i].name, name) == 0)
			return &event_types[i];
	return NULL;
}

int
event_match(const char *glob, const char *type)
{
	const struct event_type *et = event_type_find(type);

	if (et != NULL && et->off)
		return strcmp(glob, type) == 0;
	return fnmatch(glob, type, 0) == 0;
}

int
event_glob_next(const char **p, char *buf, size_t size)
{
	size_t n;

	*p += strspn(*p, " \t");
	if ((n = strcspn(*p, " \t")) == 0)
		return 0;
	if (n >= size) {
		*p += n;
		return -1;
	}
	memcpy(buf, *p, n);
	buf[n] = '\0';
	*p += n;
	return 1;
}

int
event_glob_known(const char *glob)
{
	for (size_t i = 0; i < event_ntypes; i++)
		if (event_match(glob, event_types[i].name))
			return 1;
	return 0;
}

int
event_match_list(const char *globs, const char *type)
{
	char buf[256];
	const char *p = globs;
	int rc;

	if (globs == NULL || *globs == '\0')
		return event_match("*", type);
	/* A glob too long for the buffer matches nothing (config and ops refuse them). */
	while ((rc = event_glob_next(&p, buf, sizeof(buf))) != 0)
		if (rc == 1 && event_match(buf, type))
			return 1;
	return 0;
}

static int
event_last_in(struct store_txn *txn, uint64_t *seq, char **cause)
{
	struct store_cursor *cur;
	struct store_key prefix;
	struct store_val key;

	*seq = 0;
	store_key_init(&prefix);
	if (store_cursor_open(txn, STORE_EVENT, &cur, cause) == -1)
		return -1;
	if (store_cursor_last(cur, &prefix, &key, NULL) == 0 && key.len == 8)
		*seq = store_get_u64(key.data);
	store_cursor_close(cur);
	return 0;
}

int
event_append(struct store_txn *txn, const struct event_rec *ev, uint64_t *seq, char **cause)
{
	char tbuf[TSTIME_STRLEN], *text;
	struct store_key k;
	json_t *j, *entity;
	int rc;

	if (event_last_in(txn, seq, cause) == -1)
		return -1;
	(*seq)++;
	tstime_format(ev->time, tbuf, sizeof(tbuf));
	entity = json_pack("{s:s, s:s}", "kind", ev->kind, "id", ev->id);
	if (ev->name != NULL)
		json_object_set_new(entity, "name", json_string(ev->name));
	j = json_pack("{s:I, s:s, s:s, s:s, s:o}", "seq", (json_int_t)*seq, "time", tbuf, "tailnet",
	              ev->tailnet, "type", ev->type, "entity", entity);
	if (ev->before != NULL)
		json_object_set(j, "before", ev->before);
	if (ev->after != NULL)
		json_object_set(j, "after", ev->after);
	if (ev->changed != NULL)
		json_object_set(j, "changed", ev->changed);
	if (ev->data != NULL)
		json_object_update_missing(j, ev->data);
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	store_key_init(&k);
	store_key_u64(&k, *seq);
	rc = store_put(txn, STORE_EVENT, &k, text, strlen(text), cause);
	free(text);
	if (rc == -1)
		return -1;
	store_key_init(&k);
	store_key_i64(&k, ev->time);
	store_key_u64(&k, *seq);
	return store_put(txn, STORE_EVTIME, &k, "", 0, cause);
}

int
event_last_seq(struct store *st, uint64_t *seq, char **cause)
{
	struct store_txn *txn;
	int rc;

	if (store_read_begin(st, &txn, cause) == -1)
		return -1;
	rc = event_last_in(txn, seq, cause);
	store_read_end(txn);
	return rc;
}

int
event_seq_before(struct store *st, tstime_t t, uint64_t *seq, char **cause)
{
	struct store_txn *txn;
	struct store_cursor *cur;
	struct store_key k, prefix;
	struct store_val key;
	int rc;

	*seq = 0;
	if (store_read_begin(st, &txn, cause) == -1)
		return -1;
	if (store_cursor_open(txn, STORE_EVTIME, &cur, cause) == -1) {
		store_read_end(txn);
		return -1;
	}
	store_key_init(&prefix);
	store_key_init(&k);
	store_key_i64(&k, t);
	/* The first event at or after T; the one before it is the answer. */
	rc = store_cursor_seek(cur, &k, &prefix, &key, NULL);
	if (rc == 0)
		rc = store_cursor_step(cur, -1, &key, NULL);
	else
		rc = store_cursor_last(cur, &prefix, &key, NULL);
	if (rc == 0 && key.len == 16)
		*seq = store_get_u64((const uint8_t *)key.data + 8);
	store_cursor_close(cur);
	store_read_end(txn);
	return 0;
}

int
event_scan(struct store *st, uint64_t after, size_t max, event_fn fn, void *arg, char **cause)
{
	struct store_txn *txn;
	struct store_cursor *cur;
	struct store_key k, prefix;
	struct store_val key, val;
	size_t n = 0;
	int rc;

	if (store_read_begin(st, &txn, cause) == -1)
		return -1;
	if (store_cursor_open(txn, STORE_EVENT, &cur, cause) == -1) {
		store_read_end(txn);
		return -1;
	}
	store_key_init(&prefix);
	store_key_init(&k);
	store_key_u64(&k, after + 1);
	for (rc = store_cursor_seek(cur, &k, &prefix, &key, &val); rc == 0 && (max == 0 || n < max);
	     rc = store_cursor_step(cur, 1, &key, &val)) {
		if (key.len != 8)
			continue;
		n++;
		if (fn(store_get_u64(key.data), val.data, val.len, arg) != 0)
			break;
	}
	store_cursor_close(cur);
	store_read_end(txn);
	return 0;
}
