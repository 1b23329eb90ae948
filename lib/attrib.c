/* attrib.c: attribution: joins a recorded change (a new version, its window (from_lo, from_hi];
 * or a device's deletion, its version's end (to_lo, to_hi]) to the audit log entries on that
 * entity whose action fits the change, whichever arrives second, and stores who did it with the
 * change -- and, when exactly one entry explains all of it, the pin of its moment (pin.c). */
#include <stdlib.h>
#include <string.h>

#include "attrib.h"
#include "audit.h"
#include "event-log.h"
#include "hist-int.h"
#include "pin.h"
#include "xmalloc.h"

#define ATTRIB_MAX_FIELDS 5

/* The versions noted during the write transaction in hand: LMDB lets one write transaction run
 * at a time, and each poll's starts with attrib_reset. */
struct attrib_pending {
	uint8_t kind;
	char *id;
	tstime_t from_hi; /* the boundary: the version's start, or its end for a deletion */
	int end;          /* a deletion: the version ending at from_hi */
};
static struct attrib_pending *attrib_pend;
static size_t attrib_npend, attrib_cappend;

/* A property of an audit entry (or, for an entry without one, its action) and the stable
 * fields whose change it explains (none listed: any change of the entity). */
struct attrib_prop {
	const char *property, *action;
	const char *fields[ATTRIB_MAX_FIELDS];
};

static const struct attrib_prop attrib_device_props[] = {
    {.property = "MACHINE_NAME", .fields = {"name"}},
    {.property = "ACL_TAGS", .fields = {"tags"}},
    {.property = "ADDRESS", .fields = {"addresses"}},
    {.property = "KEY_EXPIRY_TIME", .fields = {"keyExpiryDisabled", "expires"}},
    {.property = "AUTHORIZED", .fields = {"authorized"}},
    {.property = "ALLOWED_IPS", .fields = {"enabledRoutes"}},
    {0},
};
static const struct attrib_prop attrib_user_props[] = {
    {.property = "USER_ROLE", .fields = {"role"}},
    {0},
};
/* A key's revocation (API_KEY.REVOKE, no property) sets these. */
static const struct attrib_prop attrib_key_props[] = {
    {.action = "REVOKE", .fields = {"state", "revoked", "invalid", "updated"}},
    {0},
};
static const struct attrib_prop attrib_policy_props[] = {{.property = "ACL"}, {0}};
static const struct attrib_prop attrib_dns_props[] = {{.property = "DNS_CONFIG"}, {0}};
/* The reference payloads show no settings property: these are a guess (each setting's name in
 * upper snake case), and tssim logs the same. A real entry with another name is not joined. */
static const struct attrib_prop attrib_settings_props[] = {
    {.property = "ACLS_EXTERNALLY_MANAGED_ON", .fields = {"aclsExternallyManagedOn"}},
    {.property = "ACLS_EXTERNAL_LINK", .fields = {"aclsExternalLink"}},
    {.property = "DEVICES_APPROVAL_ON", .fields = {"devicesApprovalOn"}},
    {.property = "DEVICES_AUTO_UPDATES_ON", .fields = {"devicesAutoUpdatesOn"}},
    {.property = "DEVICES_KEY_DURATION_DAYS", .fields = {"devicesKeyDurationDays"}},
    {.property = "USERS_APPROVAL_ON", .fields = {"usersApprovalOn"}},
    {.property = "USERS_ROLE_ALLOWED_TO_JOIN_EXTERNAL_TAILNETS",
     .fields = {"usersRoleAllowedToJoinExternalTailnets"}},
    {.property = "NETWORK_FLOW_LOGGING_ON", .fields = {"networkFlowLoggingOn"}},
    {.property = "REGIONAL_ROUTING_ON", .fields = {"regionalRoutingOn"}},
    {.property = "POSTURE_IDENTITY_COLLECTION_ON", .fields = {"postureIdentityCollectionOn"}},
    {.property = "HTTPS_ENABLED", .fields = {"httpsEnabled"}},
    {0},
};
/* WEBHOOK_ENDPOINT.CREATE is in the reference; these update properties are a guess. */
static const struct attrib_prop attrib_webhook_props[] = {
    {.property = "ENDPOINT_URL", .fields = {"endpointUrl"}},
    {.property = "SUBSCRIPTIONS", .fields = {"subscriptions"}},
    {0},
};

/* What is joined, per kind of entity: the audit log's target type for it, and whether the
 * entry names the entity by id (a node, key, user) or is the tailnet's own with a property
 * (ID: the one record, "policy", "dns"). */
static const struct attrib_rule {
	int endpoint; /* ENDPOINT_*: the entity's kind byte */
	const char *ttype;
	const char *id; /* NULL: target.id is the entity's id */
	const struct attrib_prop *props;
} attrib_rules[] = {
    {ENDPOINT_devices, "NODE", NULL, attrib_device_props},
    {ENDPOINT_users, "USER", NULL, attrib_user_props},
    {ENDPOINT_keys, "API_KEY", NULL, attrib_key_props},
    {ENDPOINT_policy, "TAILNET", "policy", attrib_policy_props},
    {ENDPOINT_dns, "TAILNET", "dns", attrib_dns_props},
    {ENDPOINT_settings, "TAILNET", "settings", attrib_settings_props},
    {ENDPOINT_webhooks, "WEBHOOK_ENDPOINT", NULL, attrib_webhook_props},
};
#define ATTRIB_NRULES (sizeof attrib_rules / sizeof attrib_rules[0])

static const struct attrib_rule *
attrib_rule(uint8_t kind)
{
	for (size_t i = 0; i < ATTRIB_NRULES; i++)
		if (endpoints[attrib_rules[i].endpoint].kind == kind)
			return &attrib_rules[i];
	return NULL;
}

/* The rule's entry in PROPS for PROPERTY (an entry without one: for ACTION), or NULL. */
static const struct attrib_prop *
attrib_prop(const struct attrib_rule *r, const char *property, const char *action)
{
	for (const struct attrib_prop *p = r->props; p->property != NULL || p->action != NULL; p++)
		if (p->property != NULL ? property != NULL && strcmp(p->property, property) == 0
		                        : action != NULL && strcmp(p->action, action) == 0)
			return p;
	return NULL;
}

void
attrib_reset(void)
{
	for (size_t i = 0; i < attrib_npend; i++)
		free(attrib_pend[i].id);
	free(attrib_pend);
	attrib_pend = NULL;
	attrib_npend = attrib_cappend = 0;
}

static void
attrib_note(uint8_t kind, const char *id, tstime_t from_hi, int end)
{
	/* Duplicates (several entries on one change) are dropped when the poll ends: a scan of
	 * every note here would make a poll of N new versions cost N * N. */
	if (attrib_rule(kind) == NULL)
		return;
	if (attrib_npend == attrib_cappend) {
		attrib_cappend = attrib_cappend ? attrib_cappend * 2 : 16;
		attrib_pend = xrealloc(attrib_pend, attrib_cappend * sizeof *attrib_pend);
	}
	attrib_pend[attrib_npend++] = (struct attrib_pending){kind, xstrdup(id), from_hi, end};
}

void
attrib_note_version(uint8_t kind, const char *id, tstime_t from_hi)
{
	attrib_note(kind, id, from_hi, 0);
}

void
attrib_note_end(uint8_t kind, const char *id, tstime_t to_hi)
{
	attrib_note(kind, id, to_hi, 1);
}

/* Is T the end of a deleted entity's version (not open, not unknown)? */
static int
attrib_real_end(tstime_t t)
{
	return t != TSTIME_NONE && t != HIST_UNSEEN_END && t != HIST_PENDING_END;
}

/* The deletion of ID (KIND) whose window holds NS: its last version ended in (to_lo, to_hi]
 * around it. 1 and *to_hi, 0 none, -1. */
static int
attrib_end_at(struct store_txn *txn, const char *tailnet, uint8_t kind, const char *id, int64_t ns,
              tstime_t *to_hi, char **cause)
{
	struct store_cursor *cur;
	struct store_key prefix;
	struct store_val key, val;
	struct hist_bounds b;
	int rc, found = 0;

	hist_key_kind(&prefix, tailnet, kind, id);
	if (prefix.bad)
		return 0;
	if (store_cursor_open(txn, STORE_VER, &cur, cause) == -1)
		return -1;
	rc = store_cursor_last(cur, &prefix, &key, &val);
	if (rc == 0 && key.len == prefix.len + 8 && val.len >= HIST_BOUNDS_LEN) {
		hist_bounds_get(val.data, &b);
		if (attrib_real_end(b.to_hi) && b.to_lo != TSTIME_NONE &&
		    ns > b.to_lo * 1000 + 999 && ns <= b.to_hi * 1000 + 999) {
			*to_hi = b.to_hi;
			found = 1;
		}
	}
	store_cursor_close(cur);
	return rc == -1 ? -1 : found;
}

/* The version of ID (KIND) whose window holds NS: 1 and *from_hi, 0 none, -1. */
static int
attrib_version_at(struct store_txn *txn, const char *tailnet, uint8_t kind, const char *id,
                  int64_t ns, tstime_t *from_hi, char **cause)
{
	struct store_cursor *cur;
	struct store_key prefix, k;
	struct store_val key, val;
	struct hist_bounds b;
	int rc, found = 0;

	hist_key_kind(&prefix, tailnet, kind, id);
	if (prefix.bad)
		return 0;
	k = prefix;
	/* The first version that started at or after the entry's microsecond. */
	store_key_i64(&k, ns / 1000);
	if (store_cursor_open(txn, STORE_VER, &cur, cause) == -1)
		return -1;
	rc = store_cursor_seek(cur, &k, &prefix, &key, &val);
	if (rc == 0 && key.len == prefix.len + 8 && val.len >= HIST_BOUNDS_LEN) {
		hist_bounds_get(val.data, &b);
		if (b.from_lo != TSTIME_NONE && ns > b.from_lo * 1000 + 999 &&
		    ns <= b.from_hi * 1000 + 999) {
			*from_hi = b.from_hi;
			found = 1;
		}
	}
	store_cursor_close(cur);
	return rc == -1 ? -1 : found;
}

int
attrib_note_entry(struct store_txn *txn, const char *tailnet, json_t *entry, int64_t ns,
                  char **cause)
{
	json_t *target = json_object_get(entry, "target");
	const char *tid = json_string_value(json_object_get(target, "id"));
	const char *type = json_string_value(json_object_get(target, "type"));
	const char *prop = json_string_value(json_object_get(target, "property"));
	const char *action = json_string_value(json_object_get(entry, "action"));
	tstime_t from_hi;
	int rc;

	if (type == NULL)
		return 0;
	/* A device's deletion: the end of its last version. */
	if (action != NULL && strcmp(action, "DELETE") == 0 && strcmp(type, "NODE") == 0 &&
	    tid != NULL && *tid != '\0') {
		uint8_t kind = endpoints[ENDPOINT_devices].kind;

		if ((rc = attrib_end_at(txn, tailnet, kind, tid, ns, &from_hi, cause)) == -1)
			return -1;
		if (rc == 1)
			attrib_note_end(kind, tid, from_hi);
		return 0;
	}
	for (size_t i = 0; i < ATTRIB_NRULES; i++) {
		const struct attrib_rule *r = &attrib_rules[i];
		const char *id = r->id != NULL ? r->id : tid;
		uint8_t kind = endpoints[r->endpoint].kind;

		if (strcmp(type, r->ttype) != 0 || id == NULL || *id == '\0' ||
		    (r->id != NULL && attrib_prop(r, prop, action) == NULL))
			continue;
		if ((rc = attrib_version_at(txn, tailnet, kind, id, ns, &from_hi, cause)) == -1)
			return -1;
		if (rc == 1)
			attrib_note_version(kind, id, from_hi);
	}
	return 0;
}

/* The fields of the change from PREV (NULL: none, a creation) whose fields CHANGED that ENTRY
 * explains by rule R, as a new array (empty for a creation), or NULL when it explains none. */
static json_t *
attrib_fits(const struct attrib_rule *r, json_t *entry, json_t *prev, json_t *changed)
{
	json_t *target = json_object_get(entry, "target"), *f, *out;
	const char *action = json_string_value(json_object_get(entry, "action"));
	const char *type = json_string_value(json_object_get(target, "type"));
	const struct attrib_prop *p =
	    attrib_prop(r, json_string_value(json_object_get(target, "property")), action);
	size_t j, k;

	if (action == NULL || type == NULL || strcmp(type, r->ttype) != 0)
		return NULL;
	if (r->id == NULL && prev == NULL)
		return strcmp(action, "CREATE") == 0 ? json_array() : NULL;
	if (p == NULL || strcmp(action, "CREATE") == 0 || strcmp(action, "DELETE") == 0)
		return NULL;
	if (p->fields[0] == NULL)
		return json_array_size(changed) > 0 ? json_deep_copy(changed) : NULL;
	out = json_array();
	for (j = 0; j < ATTRIB_MAX_FIELDS && p->fields[j] != NULL; j++)
		json_array_foreach(changed, k, f)
		{
			const char *s = json_string_value(f);

			if (s != NULL && strcmp(s, p->fields[j]) == 0)
				json_array_append(out, f);
		}
	if (json_array_size(out) == 0) {
		json_decref(out);
		return NULL;
	}
	return out;
}

/* What the attribution keeps of an entry, with the FIELDS it explains (stolen; empty: a
 * creation). A new reference. */
static json_t *
attrib_who(json_t *e, json_t *fields)
{
	json_t *o = json_object(), *v;
	static const char *const keep[] = {"eventTime", "actor",         "origin",
	                                   "action",    "actionDetails", "eventGroupID"};

	for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
		if ((v = json_object_get(e, keep[i])) != NULL && !json_is_null(v))
			json_object_set(o, keep[i], v);
	v = json_object_get(json_object_get(e, "target"), "property");
	if (json_is_string(v))
		json_object_set(o, "property", v);
	json_object_set_new(o, "fields", fields);
	return o;
}

/* Does a field (or a creation: an empty list) appear in two of the candidates CANDS? */
static int
attrib_overlap(json_t *cands)
{
	json_t *a, *b, *f, *g;
	size_t i, j, k, l;

	json_array_foreach(cands, i, a)
	{
		json_array_foreach(cands, j, b)
		{
			json_t *fa = json_object_get(a, "fields"),
			       *fb = json_object_get(b, "fields");

			if (j <= i)
				continue;
			if (json_array_size(fa) == 0 || json_array_size(fb) == 0)
				return 1;
			json_array_foreach(fa, k, f)
			    json_array_foreach(fb, l, g) if (json_equal(f, g)) return 1;
		}
	}
	return 0;
}

/* The record CANDS (borrowed, not empty) make: one candidate attributes the change; several
 * that each explain other fields split it ("split", every one an actor of its fields); several
 * for one field leave it "ambiguous", none picked. A new reference. */
static json_t *
attrib_record(json_t *cands)
{
	json_t *rec;

	if (json_array_size(cands) == 1) {
		rec = json_pack("{s:s}", "state", "attributed");
		json_object_update(rec, json_array_get(cands, 0));
		return rec;
	}
	return json_pack("{s:s, s:O}", "state", attrib_overlap(cands) ? "ambiguous" : "split",
	                 "candidates", cands);
}

/* The record for one event of the change (its CHANGED fields; CREATED: a *.created event):
 * the candidates that explain what it reports. A new reference, or NULL for none. */
static json_t *
attrib_event_record(json_t *cands, json_t *changed, int created)
{
	json_t *mine = json_array(), *c, *f, *g, *rec = NULL;
	size_t i, k, l;

	json_array_foreach(cands, i, c)
	{
		json_t *fields = json_object_get(c, "fields");
		int fit = created && json_array_size(fields) == 0;

		json_array_foreach(fields, k, f)
		    json_array_foreach(changed, l, g) if (json_equal(f, g)) fit = 1;
		if (fit)
			json_array_append(mine, c);
	}
	if (json_array_size(mine) > 0)
		rec = attrib_record(mine);
	json_decref(mine);
	return rec;
}

/* Does ENTRY log the deletion of an entity of rule R? Its (empty) fields, or NULL. */
static json_t *
attrib_fits_end(const struct attrib_rule *r, json_t *entry)
{
	const char *action = json_string_value(json_object_get(entry, "action"));
	const char *type =
	    json_string_value(json_object_get(json_object_get(entry, "target"), "type"));

	if (action == NULL || type == NULL || strcmp(type, r->ttype) != 0 ||
	    strcmp(action, "DELETE") != 0)
		return NULL;
	return json_array();
}

/* The entries on ID logged in (FROM_LO, FROM_HI] that fit the change by rule R (END: a
 * deletion, B its window): a new array. An entity the log names by id is found through the
 * target index, the tailnet's own records (policy, DNS) by time. */
static json_t *
attrib_candidates(struct store_txn *txn, const char *tailnet, const struct attrib_rule *r,
                  const char *id, const struct hist_bounds *b, json_t *prev, json_t *changed,
                  int end, char **cause)
{
	struct store_cursor *cur;
	struct store_key prefix, k;
	struct store_val key, val;
	json_t *out = json_array();
	int rc, g = 0;

	hist_key_kind(&prefix, tailnet, r->id != NULL ? AUDIT_KIND_TIME : AUDIT_KIND_TARGET,
	              r->id != NULL ? NULL : id);
	if (prefix.bad)
		return out;
	k = prefix;
	store_key_i64(&k, b->from_lo * 1000 + 1000);
	if (store_cursor_open(txn, STORE_CUR, &cur, cause) == -1) {
		json_decref(out);
		return NULL;
	}
	for (rc = store_cursor_seek(cur, &k, &prefix, &key, &val); rc == 0;
	     rc = store_cursor_step(cur, 1, &key, &val)) {
		const uint8_t *p = (const uint8_t *)key.data + prefix.len;
		struct store_key ek;
		struct store_val ev;
		int64_t ns;
		json_t *e, *fields;

		if (key.len != prefix.len + 8 + AUDIT_HASH_LEN)
			continue;
		if ((ns = store_get_i64(p)) > b->from_hi * 1000 + 999)
			break;
		ev = val;
		if (r->id == NULL) {
			hist_key_kind(&ek, tailnet, AUDIT_KIND_TIME, NULL);
			store_key_bytes(&ek, p, 8 + AUDIT_HASH_LEN);
			if ((g = store_get(txn, STORE_CUR, &ek, &ev, cause)) == -1)
				break;
			if (g == 1)
				continue;
		}
		if ((e = json_loadb(ev.data, ev.len, 0, NULL)) == NULL)
			continue;
		fields = end ? attrib_fits_end(r, e) : attrib_fits(r, e, prev, changed);
		if (fields != NULL)
			json_array_append_new(out, attrib_who(e, fields));
		json_decref(e);
	}
	store_cursor_close(cur);
	/* A damaged index row is passed over (store verify reports it); a failed read is not. */
	if (g == -1) {
		json_decref(out);
		return NULL;
	}
	return out;
}

/* The key of the attribution of version FROM_HI of ID. */
static void
attrib_key(struct store_key *k, const char *tailnet, uint8_t kind, const char *id, tstime_t from_hi)
{
	hist_key_kind(k, tailnet, ATTRIB_KIND, id);
	store_key_u8(k, kind);
	store_key_i64(k, from_hi);
}

json_t *
attrib_get(struct store_txn *txn, const char *tailnet, uint8_t kind, const char *id,
           tstime_t from_hi)
{
	struct store_key k;
	struct store_val v;
	char *cause = NULL;

	attrib_key(&k, tailnet, kind, id, from_hi);
	if (k.bad || store_get(txn, STORE_CUR, &k, &v, &cause) != 0) {
		free(cause);
		return NULL;
	}
	return json_loadb(v.data, v.len, 0, NULL);
}

/* The event types a new version records: the change an attribution explains. */
static const char *const attrib_change_types[] = {
    "device.created",
    "device.renamed",
    "device.address.added",
    "device.address.removed",
    "device.tags.changed",
    "device.owner.changed",
    "device.authorized.changed",
    "device.key.expiry.changed",
    "device.routes.changed",
    "device.updated",
    "key.created",
    "key.revoked",
    "key.updated",
    "user.created",
    "user.role.changed",
    "user.status.changed",
    "user.updated",
    "policy.changed",
    "dns.changed",
    "settings.changed",
    "webhook.created",
    "webhook.updated",
};

int
attrib_event_type(const char *type)
{
	for (size_t j = 0;
	     type != NULL && j < sizeof attrib_change_types / sizeof *attrib_change_types; j++)
		if (strcmp(type, attrib_change_types[j]) == 0)
			return 1;
	return 0;
}

/* Completes the events the change of ID seen at FROM_HI recorded with the member
 * "attribution": each with the candidates of CANDS that explain what it reports. They keep
 * their numbers; a reader (events, a hook not yet run) sees who. */
static int
attrib_complete_events(struct store_txn *txn, const char *tailnet, const char *id, tstime_t from_hi,
                       size_t *events, json_t *cands, char **cause)
{
	struct store_cursor *cur;
	struct store_key prefix, k;
	struct store_val key, val;
	uint64_t *seqs = NULL;
	size_t n = 0, cap = 0;
	int rc = 0, r;

	store_key_init(&prefix);
	k = prefix;
	store_key_i64(&k, from_hi);
	if (store_cursor_open(txn, STORE_EVTIME, &cur, cause) == -1)
		return -1;
	for (r = store_cursor_seek(cur, &k, &prefix, &key, &val); r == 0;
	     r = store_cursor_step(cur, 1, &key, &val)) {
		if (key.len != 16 || store_get_i64(key.data) != from_hi)
			break;
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			seqs = xrealloc(seqs, cap * sizeof *seqs);
		}
		seqs[n++] = store_get_u64((const uint8_t *)key.data + 8);
	}
	store_cursor_close(cur);
	if (r == -1) {
		free(seqs);
		return -1;
	}
	for (size_t i = 0; rc == 0 && i < n; i++) {
		const char *type, *tn, *eid;
		json_t *ev, *mine;
		char *text;
		size_t j;

		store_key_init(&k);
		store_key_u64(&k, seqs[i]);
		if (store_get(txn, STORE_EVENT, &k, &val, cause) != 0)
			continue;
		if ((ev = json_loadb(val.data, val.len, 0, NULL)) == NULL)
			continue;
		type = json_string_value(json_object_get(ev, "type"));
		tn = json_string_value(json_object_get(ev, "tailnet"));
		eid = json_string_value(json_object_get(json_object_get(ev, "entity"), "id"));
		for (j = 0;
		     type != NULL && j < sizeof attrib_change_types / sizeof *attrib_change_types;
		     j++)
			if (strcmp(type, attrib_change_types[j]) == 0)
				break;
		if (type != NULL && j < sizeof attrib_change_types / sizeof *attrib_change_types &&
		    tn != NULL && strcmp(tn, tailnet) == 0 && eid != NULL && strcmp(eid, id) == 0 &&
		    (mine = attrib_event_record(cands, json_object_get(ev, "changed"),
		                                strstr(type, ".created") != NULL)) != NULL) {
			json_object_set_new(ev, "attribution", mine);
			text = json_dumps(ev, JSON_COMPACT);
			rc = store_put(txn, STORE_EVENT, &k, text, strlen(text), cause);
			(*events)++; /* a change of the log: followers and hooks are woken */
			free(text);
		}
		json_decref(ev);
	}
	free(seqs);
	return rc;
}

/* The pin the record REC (borrowed) makes for the change of P seen in (FROM_LO, P->from_hi]
 * (CHANGED: its fields, NULL for a deletion): exactly one entry that explains every changed
 * field pins it to the entry's eventTime; anything else removes the pin an earlier join stored
 * (a late entry can make an attributed change ambiguous). Several entries, or one that explains
 * only part of the change, leave the polls' window: the parts may have happened apart. */
static int
attrib_pin(struct store_txn *txn, const char *tailnet, const struct attrib_pending *p,
           tstime_t from_lo, json_t *rec, json_t *changed, char **cause)
{
	const char *state = json_string_value(json_object_get(rec, "state"));
	const char *when = json_string_value(json_object_get(rec, "eventTime"));
	json_t *fields = json_object_get(rec, "fields"), *f, *g;
	int64_t ns = 0;
	size_t i, j;
	int all = state != NULL && strcmp(state, "attributed") == 0 && when != NULL &&
	          audit_time_parse(when, &ns) == 0;

	json_array_foreach(changed, i, f)
	{
		int in = 0;

		json_array_foreach(fields, j, g) in |= json_equal(f, g);
		all &= in;
	}
	if (!all)
		return pin_del(txn, tailnet, p->kind, p->id, p->from_hi, cause);
	return pin_put(txn, tailnet, p->kind, p->id, from_lo, p->from_hi, ns, cause);
}

/* A noted deletion: the entries that log it in its window (to_lo, to_hi], the record they make
 * (kept under the end's time: no version starts there) and the pin of its moment. */
static int
attrib_join_end(struct store_txn *txn, const char *tailnet, const struct attrib_pending *p,
                const struct attrib_rule *rule, char **cause)
{
	struct store_cursor *cur;
	struct store_key prefix, k;
	struct store_val key, val;
	struct hist_bounds b = {0}, w;
	json_t *cands, *rec, *old;
	char *text;
	int rc, r;

	hist_key_kind(&prefix, tailnet, p->kind, p->id);
	if (prefix.bad)
		return 0;
	if (store_cursor_open(txn, STORE_VER, &cur, cause) == -1)
		return -1;
	r = store_cursor_last(cur, &prefix, &key, &val);
	if (r == 0 && key.len == prefix.len + 8 && val.len >= HIST_BOUNDS_LEN)
		hist_bounds_get(val.data, &b);
	else
		b.to_hi = TSTIME_NONE;
	store_cursor_close(cur);
	if (r == -1)
		return -1;
	if (b.to_hi != p->from_hi || !attrib_real_end(b.to_hi) || b.to_lo == TSTIME_NONE)
		return 0;
	w = b;
	w.from_lo = b.to_lo;
	w.from_hi = b.to_hi;
	if ((cands = attrib_candidates(txn, tailnet, rule, p->id, &w, NULL, NULL, 1, cause)) ==
	    NULL)
		return -1;
	if (json_array_size(cands) == 0) {
		json_decref(cands);
		return 0;
	}
	rec = attrib_record(cands);
	rc = attrib_pin(txn, tailnet, p, b.to_lo, rec, NULL, cause);
	old = attrib_get(txn, tailnet, p->kind, p->id, p->from_hi);
	attrib_key(&k, tailnet, p->kind, p->id, p->from_hi);
	if (rc == 0 && !k.bad && !(old != NULL && json_equal(old, rec))) {
		text = json_dumps(rec, JSON_COMPACT);
		rc = store_put(txn, STORE_CUR, &k, text, strlen(text), cause);
		free(text);
	}
	json_decref(old);
	json_decref(rec);
	json_decref(cands);
	return rc;
}

/* One noted version: its candidates, the record they make, stored and announced when new. */
static int
attrib_join(struct store_txn *txn, const char *tailnet, const struct attrib_pending *p, tstime_t t,
            int announce, size_t *events, char **cause)
{
	struct store_cursor *cur;
	struct store_key prefix, k;
	struct store_val key, val;
	struct hist_bounds b;
	json_t *dev = NULL, *prev = NULL, *changed = NULL, *cands = NULL, *rec = NULL, *old;
	const struct attrib_rule *rule = attrib_rule(p->kind);
	char *text = NULL;
	int rc = -1, r;

	if (rule == NULL)
		return 0;
	if (p->end)
		return attrib_join_end(txn, tailnet, p, rule, cause);

	hist_key_kind(&prefix, tailnet, p->kind, p->id);
	k = prefix;
	store_key_i64(&k, p->from_hi);
	if (store_cursor_open(txn, STORE_VER, &cur, cause) == -1)
		return -1;
	r = store_cursor_seek(cur, &k, &prefix, &key, &val);
	if (r != 0 || key.len != prefix.len + 8 || val.len < HIST_BOUNDS_LEN ||
	    store_get_i64((const uint8_t *)key.data + prefix.len) != p->from_hi) {
		store_cursor_close(cur);
		return r == -1 ? -1 : 0;
	}
	hist_bounds_get(val.data, &b);
	dev = json_loadb((const char *)val.data + HIST_BOUNDS_LEN, val.len - HIST_BOUNDS_LEN, 0,
	                 NULL);
	if (store_cursor_step(cur, -1, &key, &val) == 0 && key.len == prefix.len + 8 &&
	    val.len >= HIST_BOUNDS_LEN)
		prev = json_loadb((const char *)val.data + HIST_BOUNDS_LEN,
		                  val.len - HIST_BOUNDS_LEN, 0, NULL);
	store_cursor_close(cur);
	/* A version with no known start (the first poll's) is no change to explain. */
	if (dev == NULL || b.from_lo == TSTIME_NONE) {
		rc = 0;
		goto out;
	}
	changed = prev != NULL ? hist_changed_fields(prev, dev) : json_array();
	if ((cands = attrib_candidates(txn, tailnet, rule, p->id, &b, prev, changed, 0, cause)) ==
	    NULL)
		goto out;
	if (json_array_size(cands) == 0) {
		rc = 0;
		goto out;
	}
	rec = attrib_record(cands);
	if (attrib_pin(txn, tailnet, p, b.from_lo, rec, changed, cause) == -1)
		goto out;
	old = attrib_get(txn, tailnet, p->kind, p->id, p->from_hi);
	r = old != NULL && json_equal(old, rec);
	json_decref(old);
	if (r) {
		rc = 0;
		goto out;
	}
	text = json_dumps(rec, JSON_COMPACT);
	attrib_key(&k, tailnet, p->kind, p->id, p->from_hi);
	if (k.bad) { /* an id too long to key: left unattributed */
		rc = 0;
		goto out;
	}
	if (store_put(txn, STORE_CUR, &k, text, strlen(text), cause) == -1 ||
	    attrib_complete_events(txn, tailnet, p->id, p->from_hi, events, cands, cause) == -1)
		goto out;
	/* device.attributed: the other kinds have no such event yet. */
	if (announce && rule->endpoint == ENDPOINT_devices) {
		json_t *data = json_object(), *change = json_object();
		struct event_rec ev = {
		    .time = t,
		    .tailnet = tailnet,
		    .type = EVENT_T_device_attributed,
		    .kind = "device",
		    .id = p->id,
		    .name = json_string_value(json_object_get(dev, "name")),
		    .changed = changed,
		    .data = data,
		};
		uint64_t seq;

		pin_apply(txn, tailnet, p->kind, p->id,
		          &b); /* the change's exact time, if pinned */
		hist_bounds_json(change, &b);
		json_object_set_new(data, "change", change);
		json_object_set(data, "attribution", rec);
		r = event_append(txn, &ev, &seq, cause);
		json_decref(data);
		if (r == -1)
			goto out;
		(*events)++;
	}
	rc = 0;
out:
	free(text);
	json_decref(rec);
	json_decref(cands);
	json_decref(changed);
	json_decref(prev);
	json_decref(dev);
	return rc;
}

/* Notes in a stable order: by id, kind, boundary, a deletion after a version. */
static int
attrib_pend_cmp(const void *a, const void *b)
{
	const struct attrib_pending *x = a, *y = b;
	int c = strcmp(x->id, y->id);

	if (c != 0)
		return c;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if (x->from_hi != y->from_hi)
		return x->from_hi < y->from_hi ? -1 : 1;
	return (x->end > y->end) - (x->end < y->end);
}

int
attrib_flush(struct store_txn *txn, const char *tailnet, tstime_t t, int announce, size_t *events,
             char **cause)
{
	int rc = 0;

	if (attrib_npend > 1)
		qsort(attrib_pend, attrib_npend, sizeof *attrib_pend, attrib_pend_cmp);
	for (size_t i = 0; rc == 0 && i < attrib_npend; i++) {
		if (i > 0 && attrib_pend_cmp(&attrib_pend[i - 1], &attrib_pend[i]) == 0)
			continue; /* noted twice */
		rc = attrib_join(txn, tailnet, &attrib_pend[i], t, announce, events, cause);
	}
	attrib_reset();
	return rc;
}
