/* checks-store.c: the compliance checks over the store: snapshots read in one transaction, the
 * findings kept after each poll with their check.* events, and each finding's history. */
#include <stdlib.h>
#include <string.h>

#include "checks-store.h"
#include "entity.h"
#include "event-log.h"
#include "hist-int.h"
#include "log.h"
#include "xmalloc.h"

/* The per-tailnet state in the meta db: {"baseline": time, "known": {"CHECK-ID": true}}. */
#define CHECKS_META "checks/"

/* A time member of OBJ, TSTIME_NONE when absent. */
static tstime_t
checks_time(json_t *obj, const char *name)
{
	const char *s = json_string_value(json_object_get(obj, name));
	tstime_t t;

	return s != NULL && tstime_parse_rfc3339(s, &t) == 0 ? t : TSTIME_NONE;
}

/* ---- the snapshot ---- */

/* In a list of a past moment an entity may appear twice: between two polls, the version the
 * earlier poll saw and the one the later poll found ("maybe" both, or one "held"). The checks
 * judge one state per entity: the one held, else the one last seen before the moment. Rows of
 * one entity are adjacent, oldest first (key order). */
static void
checks_one_per_entity(json_t *list, const char *idkey)
{
	json_t *row, *vs, *pick, *ver;
	size_t i = 1, j;

	/* devices.list gives a device changed around the moment as one row with its candidate
	 * "versions": the same rule picks the one held, else the earlier. */
	json_array_foreach(list, j, row)
	{
		if (!json_is_array(vs = json_object_get(row, "versions")) ||
		    json_array_size(vs) == 0)
			continue;
		pick = json_array_get(vs, 0);
		for (size_t k = 0; k < json_array_size(vs); k++) {
			ver = json_array_get(vs, k);
			if (strcmp(json_string_value(json_object_get(ver, "state")) ?: "",
			           "held") == 0)
				pick = ver;
		}
		json_object_set(row, "device", json_object_get(pick, "device"));
		json_object_set(row, "state", json_object_get(pick, "state"));
	}

	while (i < json_array_size(list)) {
		json_t *a = json_array_get(list, i - 1), *b = json_array_get(list, i);
		const char *ia = json_string_value(json_object_get(a, idkey));
		const char *ib = json_string_value(json_object_get(b, idkey));

		if (ia == NULL || ib == NULL || strcmp(ia, ib) != 0) {
			i++;
			continue;
		}
		if (strcmp(json_string_value(json_object_get(b, "state")) ?: "", "held") == 0 &&
		    strcmp(json_string_value(json_object_get(a, "state")) ?: "", "held") != 0)
			json_array_remove(list, i - 1);
		else
			json_array_remove(list, i);
	}
}

/* Keeps ANSWER (stolen) and returns its MEMBER when the answer covers the moment, else NULL. */
static json_t *
checks_part(struct checks_view *v, json_t *answer, const char *member)
{
	json_t *p;

	if (answer == NULL)
		return NULL;
	json_array_append_new(v->owned, answer);
	p = checks_snapshot_part(answer, member);
	return json_is_null(p) ? NULL : p;
}

/* Keeps V (stolen) as a part of its own. */
static json_t *
checks_own(struct checks_view *v, json_t *part)
{
	if (part != NULL)
		json_array_append_new(v->owned, part);
	return part;
}

/* The policy in force, parsed; NULL when none is known then or its text does not parse. */
static json_t *
checks_policy(struct checks_view *v, struct store_txn *txn, const char *tailnet, tstime_t at,
              char **cause)
{
	json_t *ans = NULL, *text;
	int rc = entity_policy_get_in(txn, tailnet, at, &ans, cause);

	if (rc == HIST_NOTFOUND) {
		free(*cause);
		*cause = NULL;
		return NULL;
	}
	if (rc != HIST_OK)
		return NULL;
	if ((text = checks_part(v, ans, "text")) == NULL || !json_is_string(text))
		return NULL;
	/* Parsed once per revision: the text a sha256 names never changes. */
	v->snap.policy_sha256 = json_string_value(json_object_get(ans, "sha256"));
	return checks_own(v, checks_policy_parse(v->snap.policy_sha256, json_string_value(text),
	                                         json_string_length(text)));
}

int
checks_view_load(struct store_txn *txn, const char *tailnet, tstime_t at, tstime_t now,
                 struct checks_view *v, char **cause)
{
	struct check_snapshot *s = &v->snap;
	json_t *a;

	memset(v, 0, sizeof(*v));
	v->owned = json_array();
	s->at = at == TSTIME_NONE ? now : at;
#define CHECKS_LOAD(fn, dst, member)                                                               \
	do {                                                                                       \
		a = NULL;                                                                          \
		if (fn(txn, tailnet, at, &a, cause) != HIST_OK)                                    \
			goto fail;                                                                 \
		dst = checks_part(v, a, member);                                                   \
	} while (0)
	s->policy = checks_policy(v, txn, tailnet, at, cause);
	if (*cause != NULL)
		goto fail;
	CHECKS_LOAD(hist_devices_list_in, s->devices, "devices");
	CHECKS_LOAD(entity_keys_list_in, s->keys, "keys");
	CHECKS_LOAD(entity_users_list_in, s->users, "users");
	CHECKS_LOAD(entity_webhooks_list_in, s->webhooks, "webhooks");
	CHECKS_LOAD(entity_settings_get_in, s->settings, "settings");
	CHECKS_LOAD(entity_dns_get_in, s->dns, "dns");
#undef CHECKS_LOAD
	if (at != TSTIME_NONE) {
		checks_one_per_entity(s->devices, "nodeId");
		checks_one_per_entity(s->keys, "id");
		checks_one_per_entity(s->users, "id");
		checks_one_per_entity(s->webhooks, "id");
	}
	/* Histories: as far back as tsinv recorded, when the moment itself is covered. */
	if (s->devices != NULL) {
		if (hist_device_histories_in(txn, tailnet, at, &a, cause) != HIST_OK)
			goto fail;
		s->device_histories = checks_own(v, a);
	}
	if (s->users != NULL) {
		if (entity_user_histories_in(txn, tailnet, at, &a, cause) != HIST_OK)
			goto fail;
		s->user_histories = checks_own(v, a);
	}
	if (s->policy != NULL) {
		if (entity_policy_revisions_in(txn, tailnet, at, &a, cause) != HIST_OK)
			goto fail;
		s->policy_revisions = checks_own(v, a);
	}
	return 0;
fail:
	if (*cause == NULL)
		*cause = xasprintf("store: the history of %s could not be read", tailnet);
	checks_view_free(v);
	return -1;
}

void
checks_view_free(struct checks_view *v)
{
	json_decref(v->owned);
	memset(v, 0, sizeof(*v));
}

/* ---- the findings kept ---- */

static void
checks_key(struct store_key *k, const char *tailnet, const char *check, const char *kind,
           const char *id)
{
	store_key_init(k);
	store_key_str(k, tailnet);
	store_key_u8(k, CHECKS_KIND);
	if (check == NULL)
		return;
	store_key_str(k, check);
	store_key_str(k, kind);
	store_key_str(k, id);
}

static const char *
checks_s(json_t *obj, const char *name)
{
	return json_string_value(json_object_get(obj, name)) ?: "";
}

char *
checks_kept_key(json_t *f)
{
	json_t *e = json_object_get(f, "entity");

	return xasprintf("%s %s %s", checks_s(f, "check"), checks_s(e, "kind"), checks_s(e, "id"));
}

int
checks_kept(struct store_txn *txn, const char *tailnet, json_t **out, tstime_t *baseline,
            char **cause)
{
	struct store_cursor *cur;
	struct store_key prefix;
	struct store_val key, val;
	char *state = NULL, *name = xasprintf(CHECKS_META "%s", tailnet);
	int rc;

	*baseline = TSTIME_NONE;
	rc = store_meta_get(txn, name, &state, cause);
	free(name);
	if (rc == -1)
		return -1;
	if (rc == 0) {
		json_t *j = json_loads(state, 0, NULL);

		*baseline = checks_time(j, "baseline");
		json_decref(j);
		free(state);
	}
	*out = json_object();
	checks_key(&prefix, tailnet, NULL, NULL, NULL);
	if (store_cursor_open(txn, STORE_CUR, &cur, cause) == -1) {
		json_decref(*out);
		return -1;
	}
	for (rc = store_cursor_seek(cur, &prefix, &prefix, &key, &val); rc == 0;
	     rc = store_cursor_step(cur, 1, &key, &val)) {
		json_t *f = json_loadb(val.data, val.len, 0, NULL);
		char *k;

		if (!json_is_object(f)) {
			json_decref(f);
			continue;
		}
		k = checks_kept_key(f);
		json_object_set_new(*out, k, f);
		free(k);
	}
	store_cursor_close(cur);
	return 0;
}

static int
checks_put(struct store_txn *txn, const char *tailnet, json_t *f, char **cause)
{
	json_t *e = json_object_get(f, "entity");
	struct store_key k;
	char *text;
	int rc;

	checks_key(&k, tailnet, checks_s(f, "check"), checks_s(e, "kind"), checks_s(e, "id"));
	if (k.bad) {
		/* An id too long for a key: the finding is shown, not kept. */
		log_warnx("tailnet %s: %s: a finding's entity id is too long to keep", tailnet,
		          checks_s(f, "check"));
		return 0;
	}
	text = json_dumps(f, JSON_COMPACT | JSON_SORT_KEYS);
	rc = store_put(txn, STORE_CUR, &k, text, strlen(text), cause);
	free(text);
	return rc;
}

static int
checks_del(struct store_txn *txn, const char *tailnet, json_t *f, char **cause)
{
	json_t *e = json_object_get(f, "entity");
	struct store_key k;

	checks_key(&k, tailnet, checks_s(f, "check"), checks_s(e, "kind"), checks_s(e, "id"));
	return !k.bad && store_del(txn, STORE_CUR, &k, cause) == -1 ? -1 : 0;
}

/* One check.failed or check.resolved: the check is the entity, what it found the subject. */
static int
checks_emit(struct store_txn *txn, const char *tailnet, tstime_t t, enum event_type_id type,
            json_t *f, json_t *data, size_t *events, char **cause)
{
	const struct check *c = check_find(checks_s(f, "check"));
	struct event_rec ev = {.time = t,
	                       .tailnet = tailnet,
	                       .type = type,
	                       .kind = "check",
	                       .id = checks_s(f, "check"),
	                       .name = c != NULL ? c->title : NULL,
	                       .data = data};
	uint64_t seq;

	json_object_set(data, "severity", json_object_get(f, "severity"));
	json_object_set(data, "group", json_object_get(f, "group"));
	json_object_set(data, "subject", json_object_get(f, "entity"));
	json_object_set(data, "detail", json_object_get(f, "detail"));
	if (event_append(txn, &ev, &seq, cause) == -1)
		return -1;
	(*events)++;
	return 0;
}

/* What one evaluation does to the findings kept. */
struct checks_step {
	struct store_txn *txn;
	const char *tailnet;
	tstime_t prev_ok, t;
	json_t *kept;  /* key -> finding, as stored */
	json_t *known; /* check id -> true: its findings are tracked */
	size_t adopted[CHECK_NSEVERITIES], nadopted_checks, *events;
};

static int
checks_sev(json_t *f)
{
	enum check_severity s;

	return check_severity_parse(checks_s(f, "severity"), &s) == 0 ? (int)s : CHECK_INFO;
}

/* The findings kept for check ID, removed from s->kept into a new object. */
static json_t *
checks_take(struct checks_step *s, const char *id)
{
	json_t *mine = json_object(), *f;
	const char *key;
	void *tmp;

	json_object_foreach_safe(s->kept, tmp, key, f)
	{
		if (strcmp(checks_s(f, "check"), id) != 0)
			continue;
		json_object_set(mine, key, f);
		json_object_del(s->kept, key);
	}
	return mine;
}

/* Check ID's new findings (NEW, key -> finding) against those kept (OLD, taken). */
static int
checks_diff(struct checks_step *s, json_t *new, json_t *old, int tracked, char **cause)
{
	const char *key;
	json_t *f, *o;

	json_object_foreach(new, key, f)
	{
		o = json_object_get(old, key);
		if (o != NULL) {
			/* The same finding: its start stays, what it says may change quietly. */
			json_object_set(f, "from_lo", json_object_get(o, "from_lo"));
			json_object_set(f, "from_hi", json_object_get(o, "from_hi"));
			if (json_is_true(json_object_get(o, "baseline")))
				json_object_set_new(f, "baseline", json_true());
			if (!json_equal(f, o) && checks_put(s->txn, s->tailnet, f, cause) == -1)
				return -1;
			continue;
		}
		if (!tracked) {
			json_object_set_new(f, "from_lo", json_null());
			json_object_set_new(f, "from_hi", tstime_json(s->t));
			json_object_set_new(f, "baseline", json_true());
			s->adopted[checks_sev(f)]++;
		} else {
			json_t *data = json_pack("{s:o, s:o}", "from_lo", tstime_json(s->prev_ok),
			                         "from_hi", tstime_json(s->t));
			int rc;

			json_object_set(f, "from_lo", json_object_get(data, "from_lo"));
			json_object_set(f, "from_hi", json_object_get(data, "from_hi"));
			rc = checks_emit(s->txn, s->tailnet, s->t, EVENT_T_check_failed, f, data,
			                 s->events, cause);
			json_decref(data);
			if (rc == -1)
				return -1;
		}
		if (checks_put(s->txn, s->tailnet, f, cause) == -1)
			return -1;
	}
	json_object_foreach(old, key, o)
	{
		json_t *data;
		int rc;

		if (json_object_get(new, key) != NULL)
			continue;
		if (checks_del(s->txn, s->tailnet, o, cause) == -1)
			return -1;
		if (!tracked)
			continue;
		data = json_pack("{s:O?, s:O?, s:o, s:o}", "from_lo", json_object_get(o, "from_lo"),
		                 "from_hi", json_object_get(o, "from_hi"), "to_lo",
		                 tstime_json(s->prev_ok), "to_hi", tstime_json(s->t));
		if (json_is_true(json_object_get(o, "baseline")))
			json_object_set_new(data, "before_baseline", json_true());
		rc = checks_emit(s->txn, s->tailnet, s->t, EVENT_T_check_resolved, o, data,
		                 s->events, cause);
		json_decref(data);
		if (rc == -1)
			return -1;
	}
	return 0;
}

/* Applies one evaluation (RUN, checks_run's answer) to the findings kept. */
static int
checks_apply(struct checks_step *s, json_t *run, char **cause)
{
	json_t *r, *f, *bycheck = json_object();
	size_t i;
	int rc = 0;

	/* The new findings by check, each keyed as kept. */
	json_array_foreach(json_object_get(run, "findings"), i, f)
	{
		const char *id = checks_s(f, "check");
		json_t *mine = json_object_get(bycheck, id);
		char *key = checks_kept_key(f);

		if (mine == NULL) {
			mine = json_object();
			json_object_set_new(bycheck, id, mine);
		}
		json_object_set(mine, key, f);
		free(key);
	}
	json_array_foreach(json_object_get(run, "results"), i, r)
	{
		const char *id = checks_s(r, "check"), *status = checks_s(r, "status");
		int tracked = json_is_true(json_object_get(s->known, id));
		json_t *old, *new;

		/* Unknown now: what was found before is neither confirmed nor resolved. */
		if (strcmp(status, "unknown") == 0)
			continue;
		old = checks_take(s, id);
		if (strcmp(status, "disabled") == 0) {
			/* Not tracked any more: forgotten quietly, adopted again if enabled. */
			const char *key;

			json_object_foreach(old, key, f)
			{
				if ((rc = checks_del(s->txn, s->tailnet, f, cause)) == -1)
					break;
			}
			json_object_del(s->known, id);
			json_decref(old);
			if (rc == -1)
				break;
			continue;
		}
		new = json_object_get(bycheck, id);
		new = new != NULL ? json_incref(new) : json_object();
		rc = checks_diff(s, new, old, tracked, cause);
		json_decref(new);
		json_decref(old);
		if (rc == -1)
			break;
		if (!tracked) {
			json_object_set_new(s->known, id, json_true());
			s->nadopted_checks++;
		}
	}
	json_decref(bycheck);
	return rc;
}

/* The findings kept after checks_apply, by severity, into STATE's "counts" (for the metrics):
 * RUN's findings of the checks it judged, and those kept for checks it could not judge. */
static void
checks_count_kept(struct checks_step *s, json_t *run, json_t *state)
{
	size_t n[CHECK_NSEVERITIES] = {0}, i;
	json_t *counts = json_object(), *f, *r, *unknown = json_object();
	const char *key;

	json_array_foreach(json_object_get(run, "results"), i, r)
	{
		if (strcmp(checks_s(r, "status"), "unknown") == 0)
			json_object_set_new(unknown, checks_s(r, "check"), json_true());
	}
	json_array_foreach(json_object_get(run, "findings"), i, f)
	{
		n[checks_sev(f)]++;
	}
	json_object_foreach(s->kept, key, f)
	{
		if (json_object_get(unknown, checks_s(f, "check")) != NULL)
			n[checks_sev(f)]++;
	}
	for (int k = CHECK_NSEVERITIES - 1; k >= 0; k--)
		json_object_set_new(counts, check_severity_names[k],
		                    json_integer((json_int_t)n[k]));
	json_object_set_new(state, "counts", counts);
	json_decref(unknown);
}

int
checks_counts(struct store *st, const char *tailnet, uint64_t counts[CHECK_NSEVERITIES],
              char **cause)
{
	struct store_txn *txn;
	char *name = xasprintf(CHECKS_META "%s", tailnet), *text = NULL;
	json_t *state, *c;
	int rc;

	if (store_read_begin(st, &txn, cause) == -1) {
		free(name);
		return -1;
	}
	rc = store_meta_get(txn, name, &text, cause);
	store_read_end(txn);
	free(name);
	if (rc != 0)
		return rc == -1 ? -1 : 0;
	state = json_loads(text, 0, NULL);
	free(text);
	if (!json_is_object(c = json_object_get(state, "counts"))) {
		json_decref(state);
		return 0;
	}
	for (int k = 0; k < CHECK_NSEVERITIES; k++)
		counts[k] =
		    (uint64_t)json_integer_value(json_object_get(c, check_severity_names[k]));
	json_decref(state);
	return 1;
}

/* Has every endpoint the tailnet polls been tried at least once? */
static int
checks_all_tried(struct store_txn *txn, const struct config_tailnet *tn, char **cause)
{
	for (size_t i = 0; config_endpoint_names[i] != NULL; i++) {
		struct hist_endpoint ep;
		int tried;

		if (!(tn->endpoints & 1u << i))
			continue;
		if (hist_ep_read(txn, tn->name, config_endpoint_names[i], &ep, cause) == -1)
			return -1;
		tried = ep.last_poll != TSTIME_NONE;
		hist_endpoint_free(&ep);
		if (!tried)
			return 0;
	}
	return 1;
}

int
checks_after_poll(struct store_txn *txn, const char *tailnet, tstime_t prev_ok, tstime_t t,
                  int changed, void *arg, size_t *events, char **cause)
{
	const struct config *cf = arg;
	const struct config_tailnet *tn = config_tailnet_find(cf, tailnet);
	struct checks_step s = {.txn = txn, .tailnet = tailnet, .prev_ok = prev_ok, .t = t};
	char *name, *text = NULL;
	struct checks_view v;
	struct check_eval e;
	json_t *state = NULL, *run = NULL;
	tstime_t baseline = TSTIME_NONE, due;
	int rc;

	s.events = events;
	if (tn == NULL || !cf->checks.record)
		return 0;
	name = xasprintf(CHECKS_META "%s", tailnet);
	if ((rc = store_meta_get(txn, name, &text, cause)) == -1)
		goto out;
	if (rc == 0) {
		state = json_loads(text, 0, NULL);
		baseline = checks_time(state, "baseline");
	}
	if (!json_is_object(state)) {
		json_decref(state);
		state = json_object();
	}
	rc = 0;
	/* Before the baseline, wait until each endpoint has had its first poll; after it, a poll
	 * that changed nothing cannot change what the checks say, unless time did: the last
	 * evaluation said when ("due": a device goes stale, a key outlives key_max_age). */
	due = checks_time(state, "due");
	if (baseline == TSTIME_NONE ? checks_all_tried(txn, tn, cause) != 1
	                            : !changed && (due == TSTIME_NONE || t < due)) {
		rc = *cause != NULL ? -1 : 0;
		goto out;
	}
	if ((rc = checks_view_load(txn, tailnet, TSTIME_NONE, t, &v, cause)) == -1)
		goto out;
	checks_eval(&v.snap, &cf->checks, &e);
	checks_view_free(&v);
	run = checks_eval_json(&e);
	json_object_set_new(state, "due", tstime_json(e.due));
	checks_eval_free(&e);
	if ((rc = checks_kept(txn, tailnet, &s.kept, &baseline, cause)) == -1)
		goto out;
	s.known = json_object_get(state, "known");
	if (!json_is_object(s.known)) {
		s.known = json_object();
		json_object_set_new(state, "known", s.known);
	}
	if ((rc = checks_apply(&s, run, cause)) == -1)
		goto out;
	checks_count_kept(&s, run, state);
	if (s.nadopted_checks > 0) {
		/* One summary of what was found where nothing was tracked before. */
		json_t *counts = json_object(), *data;
		struct event_rec ev = {.time = t,
		                       .tailnet = tailnet,
		                       .type = EVENT_T_check_baseline,
		                       .kind = "check",
		                       .id = "*",
		                       .name = "the compliance checks"};
		uint64_t seq;
		size_t total = 0;

		for (int i = CHECK_NSEVERITIES - 1; i >= 0; i--) {
			json_object_set_new(counts, check_severity_names[i],
			                    json_integer((json_int_t)s.adopted[i]));
			total += s.adopted[i];
		}
		data =
		    json_pack("{s:o, s:I, s:I, s:O, s:b}", "counts", counts, "findings",
		              (json_int_t)total, "checks", (json_int_t)s.nadopted_checks, "unknown",
		              json_object_get(run, "unknown"), "first", baseline == TSTIME_NONE);
		ev.data = data;
		rc = event_append(txn, &ev, &seq, cause);
		json_decref(data);
		if (rc == -1)
			goto out;
		(*events)++;
		if (baseline == TSTIME_NONE)
			json_object_set_new(state, "baseline", tstime_json(t));
	}
	json_object_set_new(state, "last", tstime_json(t));
	free(text);
	text = json_dumps(state, JSON_COMPACT | JSON_SORT_KEYS);
	rc = store_meta_put(txn, name, text, cause);
out:
	json_decref(s.kept);
	json_decref(run);
	json_decref(state);
	free(text);
	free(name);
	return rc;
}

/* ---- history ---- */

struct checks_hist {
	const char *tailnet, *pattern;
	json_t *open;      /* "check kind id" -> the open interval */
	json_t *intervals; /* closed ones, then the open ones appended */
};

static int
checks_hist_cb(uint64_t seq, const char *text, size_t len, void *arg)
{
	struct checks_hist *h = arg;
	json_t *ev = json_loadb(text, len, 0, NULL), *iv, *f;
	const char *type = checks_s(ev, "type"), *id;
	const struct check *c;
	char *key;

	(void)seq;
	if (strncmp(type, "check.", 6) != 0 || strcmp(checks_s(ev, "tailnet"), h->tailnet) != 0 ||
	    strcmp(type, "check.baseline") == 0) {
		json_decref(ev);
		return 0;
	}
	id = checks_s(json_object_get(ev, "entity"), "id");
	c = check_find(id);
	if (c == NULL || (h->pattern != NULL && !check_match(c, h->pattern))) {
		json_decref(ev);
		return 0;
	}
	f = json_pack("{s:s, s:O?, s:O?, s:O?, s:O?}", "check", id, "severity",
	              json_object_get(ev, "severity"), "group", json_object_get(ev, "group"),
	              "entity", json_object_get(ev, "subject"), "detail",
	              json_object_get(ev, "detail"));
	key = checks_kept_key(f);
	if (strcmp(type, "check.failed") == 0) {
		json_object_set(f, "from_lo", json_object_get(ev, "from_lo"));
		json_object_set(f, "from_hi", json_object_get(ev, "from_hi"));
		json_object_set_new(f, "to_lo", json_null());
		json_object_set_new(f, "to_hi", json_null());
		json_object_set_new(f, "open", json_true());
		json_object_set_new(f, "before_baseline", json_false());
		json_object_set_new(h->open, key, f);
	} else {
		/* A resolved event carries the start of what it ends. */
		iv = json_object_get(h->open, key);
		json_object_set(f, "from_lo", json_object_get(ev, "from_lo"));
		json_object_set(f, "from_hi", json_object_get(ev, "from_hi"));
		json_object_set(f, "to_lo", json_object_get(ev, "to_lo"));
		json_object_set(f, "to_hi", json_object_get(ev, "to_hi"));
		json_object_set_new(f, "open", json_false());
		json_object_set_new(f, "before_baseline",
		                    json_boolean(iv == NULL && json_is_true(json_object_get(
		                                                   ev, "before_baseline"))));
		json_array_append_new(h->intervals, f);
		json_object_del(h->open, key);
	}
	free(key);
	json_decref(ev);
	return 0;
}

int
checks_history(struct store *st, const char *tailnet, const char *pattern, json_t **out,
               char **cause)
{
	struct checks_hist h = {.tailnet = tailnet, .pattern = pattern};
	struct store_txn *txn;
	json_t *kept = NULL, *f, *iv;
	const char *key;
	tstime_t baseline;

	h.open = json_object();
	h.intervals = json_array();
	if (event_scan(st, 0, 0, checks_hist_cb, &h, cause) == -1)
		goto fail;
	if (store_read_begin(st, &txn, cause) == -1)
		goto fail;
	if (checks_kept(txn, tailnet, &kept, &baseline, cause) == -1) {
		store_read_end(txn);
		goto fail;
	}
	store_read_end(txn);
	/* Open now: the findings kept, with the start their events gave (or the baseline's). */
	json_object_foreach(kept, key, f)
	{
		const struct check *c = check_find(checks_s(f, "check"));

		if (c == NULL || (pattern != NULL && !check_match(c, pattern)))
			continue;
		iv = json_object_get(h.open, key);
		iv = iv != NULL ? json_incref(iv) : json_deep_copy(f);
		json_object_del(iv, "baseline");
		json_object_set(iv, "detail", json_object_get(f, "detail"));
		json_object_set(iv, "severity", json_object_get(f, "severity"));
		json_object_set(iv, "from_lo", json_object_get(f, "from_lo"));
		json_object_set(iv, "from_hi", json_object_get(f, "from_hi"));
		json_object_set_new(iv, "to_lo", json_null());
		json_object_set_new(iv, "to_hi", json_null());
		json_object_set_new(iv, "open", json_true());
		json_object_set_new(iv, "before_baseline",
		                    json_boolean(json_is_true(json_object_get(f, "baseline"))));
		json_array_append_new(h.intervals, iv);
	}
	json_decref(kept);
	json_decref(h.open);
	*out = json_pack("{s:s, s:o, s:o}", "tailnet", tailnet, "baseline", tstime_json(baseline),
	                 "intervals", h.intervals);
	return 0;
fail:
	json_decref(h.open);
	json_decref(h.intervals);
	return -1;
}
