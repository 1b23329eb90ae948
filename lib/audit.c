/* audit.c: the configuration audit log: entry times in nanoseconds, entry identity, and a
 * window's answer recorded byte for byte, indexed by time, target id and actor id. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "attrib.h"
#include "audit.h"
#include "hist-int.h"
#include "tstime.h"
#include "xmalloc.h"

int
audit_time_parse(const char *s, int64_t *ns)
{
	const char *dot;
	tstime_t us;
	int64_t extra = 0, scale = 100;
	int n = 0;

	if (s == NULL || tstime_parse_rfc3339(s, &us) == -1)
		return -1;
	/* tstime keeps six fraction digits; the seventh to ninth are added here. */
	if ((dot = strchr(s, '.')) != NULL)
		for (const char *p = dot + 1; *p >= '0' && *p <= '9'; p++, n++)
			if (n >= 6) {
				extra += (*p - '0') * scale;
				scale /= 10;
			}
	if (__builtin_mul_overflow(us, 1000, ns) || __builtin_add_overflow(*ns, extra, ns))
		return -1;
	return 0;
}

/* A member of OBJ (or of its object member SUB) as text for the hash: a string as is, anything
 * else (absent included) as empty. */
static const char *
audit_member(json_t *obj, const char *sub, const char *name)
{
	const char *s;

	if (sub != NULL)
		obj = json_object_get(obj, sub);
	s = json_string_value(json_object_get(obj, name));
	return s != NULL ? s : "";
}

int
audit_entry_hash(json_t *entry, uint8_t hash[AUDIT_HASH_LEN])
{
	static const struct {
		const char *sub, *name;
	} parts[] = {
	    {NULL, "eventTime"}, {NULL, "eventGroupID"}, {NULL, "action"},
	    {"target", "id"},    {"target", "property"}, {"actor", "id"},
	};
	EVP_MD_CTX *ctx;
	unsigned int hlen = 0;
	int ok;

	if (!json_is_object(entry) || !json_is_string(json_object_get(entry, "eventTime")))
		return -1;
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
	/* Each part ends with a NUL: ("ab", "c") and ("a", "bc") differ. */
	for (size_t i = 0; ok && i < sizeof parts / sizeof parts[0]; i++) {
		const char *s = audit_member(entry, parts[i].sub, parts[i].name);

		ok = EVP_DigestUpdate(ctx, s, strlen(s) + 1) == 1;
	}
	ok = ok && EVP_DigestFinal_ex(ctx, hash, &hlen) == 1 && hlen == AUDIT_HASH_LEN;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}

/* ---- recording a window's answer ---- */

/* Skips JSON whitespace from P; returns where it stops. */
static const char *
audit_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* Skips one JSON value starting at P (the text is known to parse): where it ends, or NULL. */
static const char *
audit_skip(const char *p, const char *end)
{
	int depth = 0;

	do {
		if (p >= end)
			return NULL;
		if (*p == '"') {
			for (p++; p < end && *p != '"'; p++)
				if (*p == '\\')
					p++;
			if (p >= end)
				return NULL;
			p++;
		} else if (*p == '{' || *p == '[') {
			depth++;
			p++;
		} else if (*p == '}' || *p == ']') {
			depth--;
			p++;
		} else if (depth > 0)
			p++;
		else
			while (p < end && strchr(",}] \t\r\n", *p) == NULL)
				p++;
	} while (depth > 0);
	return p;
}

/* The byte spans of the elements of the top-level "logs" array of BYTES (a valid JSON object):
 * N spans in *spans (malloc'd, pairs of offsets). 0, or -1 when there is no such array. */
static int
audit_spans(const char *bytes, size_t len, size_t **spans, size_t *n)
{
	const char *p = bytes, *end = bytes + len, *k, *v;
	size_t cap = 0, klen;

	*spans = NULL;
	*n = 0;
	p = audit_ws(p, end);
	if (p >= end || *p++ != '{')
		return -1;
	while ((p = audit_ws(p, end)) < end && *p == '"') {
		k = p;
		if ((p = audit_skip(p, end)) == NULL)
			return -1;
		klen = (size_t)(p - k);
		p = audit_ws(p, end);
		if (p >= end || *p++ != ':')
			return -1;
		v = p = audit_ws(p, end);
		if (klen == 6 && memcmp(k, "\"logs\"", 6) == 0 && p < end && *p == '[') {
			for (p = audit_ws(p + 1, end); p < end && *p != ']';) {
				const char *e = audit_skip(p, end);

				if (e == NULL)
					return -1;
				if (*n == cap) {
					cap = cap ? cap * 2 : 64;
					*spans = xrealloc(*spans, cap * 2 * sizeof **spans);
				}
				(*spans)[2 * *n] = (size_t)(p - bytes);
				(*spans)[2 * *n + 1] = (size_t)(e - p);
				(*n)++;
				p = audit_ws(e, end);
				if (p < end && *p == ',')
					p = audit_ws(p + 1, end);
			}
			return 0;
		}
		if ((p = audit_skip(v, end)) == NULL)
			return -1;
		p = audit_ws(p, end);
		if (p < end && *p == ',')
			p++;
	}
	return -1;
}

int
audit_answer_check(json_t *body, char **cause)
{
	json_t *logs = json_object_get(body, "logs"), *e;
	size_t i;
	int64_t ns;

	if (!json_is_array(logs)) {
		*cause = xasprintf("the audit log answer has no \"logs\" list%s",
		                   json_object_get(body, "message") != NULL
		                       ? ": it looks like the API's error shape {\"message\": ...}"
		                       : "");
		return -1;
	}
	json_array_foreach(logs, i, e)
	{
		if (!json_is_object(e) ||
		    audit_time_parse(json_string_value(json_object_get(e, "eventTime")), &ns) ==
		        -1 ||
		    !json_is_string(json_object_get(e, "action")) ||
		    !json_is_object(json_object_get(e, "target")) ||
		    !json_is_object(json_object_get(e, "actor"))) {
			*cause = xasprintf(
			    "audit log entry %zu lacks eventTime, action, target or actor", i);
			return -1;
		}
	}
	return 0;
}

struct audit_apply {
	const char *tailnet;
	tstime_t start, end;
	const char *bytes;
	size_t *spans, n;
	json_t *logs;
	const struct hist_policy *pol;
	struct hist_poll_result *res;
	size_t added;
};

static int
audit_apply_txn(struct store_txn *txn, void *arg, char **cause)
{
	struct audit_apply *a = arg;
	struct hist_endpoint ep;
	struct store_key k;
	struct store_val v;
	tstime_t t = a->end, prev_ok;
	int rc;

	a->added = 0;
	if (hist_poll_begin(txn, a->tailnet, AUDIT_ENDPOINT, &t, &ep, a->pol, cause) == -1)
		return -1;
	for (size_t i = 0; i < a->n; i++) {
		json_t *e = json_array_get(a->logs, i);
		uint8_t h[AUDIT_HASH_LEN];
		int64_t ns;
		const char *ids[2] = {
		    json_string_value(json_object_get(json_object_get(e, "target"), "id")),
		    json_string_value(json_object_get(json_object_get(e, "actor"), "id"))};
		static const uint8_t kinds[2] = {AUDIT_KIND_TARGET, AUDIT_KIND_ACTOR};

		audit_time_parse(json_string_value(json_object_get(e, "eventTime")), &ns);
		if (audit_entry_hash(e, h) == -1) {
			*cause = xasprintf("cannot hash audit log entry %zu", i);
			goto fail;
		}
		hist_key_kind(&k, a->tailnet, AUDIT_KIND_TIME, NULL);
		store_key_i64(&k, ns);
		store_key_bytes(&k, h, sizeof h);
		if ((rc = store_get(txn, STORE_CUR, &k, &v, cause)) == -1)
			goto fail;
		if (rc == 0)
			continue; /* an overlapping window's repeat */
		if (store_put(txn, STORE_CUR, &k, a->bytes + a->spans[2 * i], a->spans[2 * i + 1],
		              cause) == -1)
			goto fail;
		for (int j = 0; j < 2; j++) {
			if (ids[j] == NULL || *ids[j] == '\0')
				continue;
			hist_key_kind(&k, a->tailnet, kinds[j], ids[j]);
			store_key_i64(&k, ns);
			store_key_bytes(&k, h, sizeof h);
			if (k.bad)
				continue; /* an id too long to index: found by time alone */
			if (store_put(txn, STORE_CUR, &k, "", 0, cause) == -1)
				goto fail;
		}
		/* The change it may explain is joined when the poll ends (hist_poll_after). */
		if (attrib_note_entry(txn, a->tailnet, e, ns, cause) == -1)
			goto fail;
		a->added++;
	}
	/* The window is what the poll covers, not the span since the last one. */
	if (hist_put_cover(txn, a->tailnet, AUDIT_ENDPOINT, t, a->start, 1, a->n,
	                   a->pol->credential != NULL && strcmp(a->pol->credential, "oauth") == 0,
	                   ep.clock_why != NULL, cause) == -1)
		goto fail;
	prev_ok = ep.last_ok;
	ep.last_ok = t;
	strcpy(ep.result, "ok");
	ep.failures = 0;
	ep.entities += a->added;
	rc = hist_ep_write(txn, a->tailnet, AUDIT_ENDPOINT, &ep, cause);
	/* As every endpoint: the after step (the checks' baseline waits for every endpoint's first
	 * poll, and this one may be the last). Entries change no entity: RES counts none. */
	a->res->events = 0;
	if (rc == 0)
		rc = hist_poll_after(txn, a->tailnet, prev_ok, t, a->pol, a->res, cause);
	hist_endpoint_free(&ep);
	return rc;
fail:
	hist_endpoint_free(&ep);
	return -1;
}

int
audit_apply(struct store *st, const char *tailnet, tstime_t start, tstime_t end, const char *bytes,
            size_t len, const struct hist_policy *pol, struct hist_poll_result *res, char **cause)
{
	struct audit_apply a = {
	    .tailnet = tailnet, .start = start, .end = end, .bytes = bytes, .pol = pol, .res = res};
	json_error_t jerr;
	json_t *body;
	int rc = -1;

	if ((body = json_loadb(bytes, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		*cause = xasprintf("the audit log answer is not valid JSON (line %d: %s)",
		                   jerr.line, jerr.text);
		return -1;
	}
	if (audit_answer_check(body, cause) == -1)
		goto out;
	a.logs = json_object_get(body, "logs");
	if (audit_spans(bytes, len, &a.spans, &a.n) == -1 || a.n != json_array_size(a.logs)) {
		*cause = xstrdup("the audit log answer's entries cannot be delimited");
		goto out;
	}
	if ((rc = store_write(st, audit_apply_txn, &a, cause)) == 0) {
		res->time = end;
		res->seen = a.n;
		res->created = a.added;
	}
out:
	free(a.spans);
	json_decref(body);
	return rc;
}

int
audit_answer(struct store *st, const char *tailnet, tstime_t t, const struct endpoint_answer *ans,
             const struct hist_policy *pol, struct hist_poll_result *res, char **cause)
{
	(void)t; /* the window's end is the poll's time: what it covers up to */
	return audit_apply(st, tailnet, ans->start, ans->end, ans->text ? ans->text : "",
	                   ans->text_len, pol, res, cause);
}

int
audit_window(struct store *st, const char *tailnet, tstime_t now, int64_t overlap, int64_t backfill,
             tstime_t *start, tstime_t *end, char **cause)
{
	struct hist_endpoint ep;

	if (hist_endpoint_get(st, tailnet, AUDIT_ENDPOINT, &ep, cause) == -1)
		return -1;
	*start = ep.last_ok == TSTIME_NONE ? now - backfill : ep.last_ok - overlap;
	/* A clock stepped back behind the last window: the API refuses a start after the end.
	 * The poll records the step (hist_poll_begin) and its coverage says so. */
	if (*start > now - overlap)
		*start = now - overlap;
	if (*start < now - backfill)
		*start = now - backfill;
	*end = now;
	hist_endpoint_free(&ep);
	return 0;
}

/* ---- audit.list ---- */

/* Appends the entry P, LEN (valid JSON) without the whitespace between its tokens: the reply is
 * one line, and an API that pretty-prints puts newlines inside an entry. Every other byte is
 * as received: member order, escapes, numbers. */
static void
audit_add_compact(struct sbuf *sb, const char *p, size_t len)
{
	const char *end = p + len, *run = p;
	int in_str = 0;

	for (; p < end; p++) {
		if (in_str) {
			if (*p == '\\')
				p++;
			else if (*p == '"')
				in_str = 0;
		} else if (*p == '"')
			in_str = 1;
		else if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
			sbuf_add(sb, run, (size_t)(p - run));
			run = p + 1;
		}
	}
	if (end > run)
		sbuf_add(sb, run, (size_t)(end - run));
}

/* Does member NAME of ENTRY's object SUB (or the entry itself) equal WANT? */
static int
audit_is(json_t *entry, const char *sub, const char *name, const char *want)
{
	json_t *o = sub != NULL ? json_object_get(entry, sub) : entry;
	const char *s = json_string_value(json_object_get(o, name));

	return s != NULL && strcmp(s, want) == 0;
}

/* Is WANT the first label of ENTRY's target name (a device's short name: "box" for
 * "box.tail1234.ts.net")? */
static int
audit_is_label(json_t *entry, const char *want)
{
	const char *s =
	    json_string_value(json_object_get(json_object_get(entry, "target"), "name"));
	size_t n = strlen(want);

	return s != NULL && n > 0 && strncmp(s, want, n) == 0 && s[n] == '.';
}

static int
audit_wanted(json_t *e, const struct audit_query *q)
{
	if (q->actor != NULL && !audit_is(e, "actor", "id", q->actor) &&
	    !audit_is(e, "actor", "loginName", q->actor))
		return 0;
	if (q->target != NULL && !audit_is(e, "target", "id", q->target) &&
	    !audit_is(e, "target", "name", q->target) && !audit_is_label(e, q->target))
		return 0;
	if (q->action != NULL && !audit_is(e, NULL, "action", q->action))
		return 0;
	if (q->origin != NULL && !audit_is(e, NULL, "origin", q->origin))
		return 0;
	return 1;
}

/* Why T is not covered, in the audit log's terms (malloc'd): each poll covers its window, from
 * its start (the coverage row's "prev") to the poll, so a gap lies between one window's end and
 * the next one's start. HIST_WHY: what hist_covered said, kept for the retention horizon and an
 * unreliable clock. */
static char *
audit_uncovered_why(struct store_txn *txn, const char *tailnet, tstime_t t, char *hist_why)
{
	struct store_cursor *cur;
	struct store_key prefix, k;
	struct store_val key, val;
	char a[TSTIME_STRLEN], b[TSTIME_STRLEN], *why = NULL, *err = NULL;

	if (hist_why != NULL && strncmp(hist_why, "in a gap", 8) != 0 &&
	    strncmp(hist_why, "before the first", 16) != 0)
		return hist_why;
	hist_key_cover(&prefix, tailnet, AUDIT_ENDPOINT);
	k = prefix;
	store_key_i64(&k, t);
	if (store_cursor_open(txn, STORE_COVER, &cur, &err) == -1) {
		free(err);
		return hist_why;
	}
	if (store_cursor_seek(cur, &k, &prefix, &key, &val) == 0 && val.len >= 8) {
		tstime_format(store_get_i64(val.data), b, sizeof(b));
		if (store_cursor_step(cur, -1, &key, &val) == 0 && key.len == prefix.len + 8) {
			tstime_format(store_get_i64((const uint8_t *)key.data + prefix.len), a,
			              sizeof(a));
			why = xasprintf("in a gap: no audit poll's window covers %s to %s", a, b);
		} else
			why = xasprintf("before the first audit poll's window (from %s)", b);
	}
	store_cursor_close(cur);
	if (why == NULL)
		return hist_why;
	free(hist_why);
	return why;
}

/* "since"/"until": null when audit polls covered T (or no T was asked), else why it is unknown;
 * the first such reason into *REASON (malloc'd) for the answer's "reason". A whole list asked
 * of a log no audit poll has read yet is unknown too. */
static void
audit_coverage(struct sbuf *sb, struct store_txn *txn, const char *tailnet, const char *name,
               tstime_t t, char **reason)
{
	struct hist_endpoint ep;
	char *why = NULL, *err = NULL;

	sbuf_addf(sb, "%s\"%s\":", strcmp(name, "since") == 0 ? "" : ",", name);
	if (t == TSTIME_NONE) {
		/* No time asked: unknown only while no audit poll has succeeded. */
		if (strcmp(name, "since") == 0 &&
		    hist_ep_read(txn, tailnet, AUDIT_ENDPOINT, &ep, &err) == 0) {
			if (ep.last_ok == TSTIME_NONE)
				why = xstrdup("no successful audit poll yet");
			hist_endpoint_free(&ep);
		}
		free(err);
	} else if (!hist_covered(txn, tailnet, AUDIT_ENDPOINT, t, &why))
		why = audit_uncovered_why(txn, tailnet, t, why);
	if (why == NULL) {
		sbuf_adds(sb, "null");
		return;
	}
	sbuf_add_json_string(sb, why);
	if (*reason == NULL)
		*reason = t == TSTIME_NONE ? xstrdup(why) : xasprintf("%s: %s", name, why);
	free(why);
}

int
audit_list(struct store *st, const char *tailnet, const struct audit_query *q, char **out,
           size_t *len, char **cause)
{
	struct store_txn *txn;
	struct store_cursor *cur;
	struct store_key prefix, k;
	struct store_val key, val;
	struct sbuf sb;
	char *reason = NULL;
	size_t n = 0, looked = 0;
	int rc, more = 0;
	int64_t next = 0;

	if (store_read_begin(st, &txn, cause) == -1)
		return HIST_ERR;
	if (store_cursor_open(txn, STORE_CUR, &cur, cause) == -1) {
		store_read_end(txn);
		return HIST_ERR;
	}
	hist_key_kind(&prefix, tailnet, AUDIT_KIND_TIME, NULL);
	k = prefix;
	store_key_i64(&k, q->since == TSTIME_NONE ? INT64_MIN : q->since * 1000);
	sbuf_init(&sb);
	sbuf_adds(&sb, "{\"tailnet\":");
	sbuf_add_json_string(&sb, tailnet);
	sbuf_adds(&sb, ",\"entries\":[");
	for (rc = store_cursor_seek(cur, &k, &prefix, &key, &val); rc == 0;
	     rc = store_cursor_step(cur, 1, &key, &val)) {
		int64_t ns;
		json_t *e;

		if (key.len != prefix.len + 8 + AUDIT_HASH_LEN)
			continue;
		ns = store_get_i64((const uint8_t *)key.data + prefix.len);
		if (q->until != TSTIME_NONE && ns > q->until * 1000 + 999)
			break;
		if (++looked > (q->scan > 0 ? q->scan : AUDIT_LIST_SCAN)) {
			more = 1;
			next = ns;
			break;
		}
		if ((e = json_loadb(val.data, val.len, 0, NULL)) == NULL)
			continue;
		if (audit_wanted(e, q)) {
			if (q->limit > 0 && n == q->limit) {
				more = 1;
				next = ns;
				json_decref(e);
				break;
			}
			if (n++ > 0)
				sbuf_addc(&sb, ',');
			audit_add_compact(&sb, val.data, val.len);
		}
		json_decref(e);
	}
	store_cursor_close(cur);
	if (rc == -1) {
		store_read_end(txn);
		sbuf_free(&sb);
		*cause = xstrdup("a damaged audit log record");
		return HIST_ERR;
	}
	sbuf_addf(&sb, "],\"more\":%s,\"next\":", more ? "true" : "false");
	if (more) {
		char t[TSTIME_STRLEN];

		/* The next page starts at the first entry left out (microseconds: it may repeat
		 * entries of the same microsecond, never skip one). */
		tstime_format(next / 1000, t, sizeof(t));
		sbuf_add_json_string(&sb, t);
	} else
		sbuf_adds(&sb, "null");
	sbuf_adds(&sb, ",\"unknown\":{");
	audit_coverage(&sb, txn, tailnet, "since", q->since, &reason);
	audit_coverage(&sb, txn, tailnet, "until", q->until, &reason);
	/* "coverage" and "reason" as every listing has them: tsinvctl's exit status 5. */
	sbuf_addf(&sb, "},\"coverage\":\"%s\"", reason != NULL ? "unknown" : "known");
	if (reason != NULL) {
		sbuf_adds(&sb, ",\"reason\":");
		sbuf_add_json_string(&sb, reason);
		free(reason);
	}
	sbuf_addc(&sb, '}');
	store_read_end(txn);
	*len = sb.len;
	*out = sbuf_steal(&sb);
	return HIST_OK;
}
