/* nbreply.c: NetBox's error answers as people read them: field by field, one line. */
#include <string.h>

#include "log.h"
#include "nbreply.h"
#include "sbuf.h"

#define NBREPLY_MAX 400 /* one error in a log line or an answer */

/* S cut to a length and stripped of control characters, for a log line (malloc'd). */
static char *
nbreply_clean(const char *s)
{
	char *out = xstrdup(s != NULL ? s : "");

	size_t n = strlen(out);

	/* Cut before a whole UTF-8 sequence, never inside one. */
	if (n > NBREPLY_MAX) {
		n = NBREPLY_MAX;
		while (n > 0 && ((unsigned char)out[n] & 0xc0) == 0x80)
			n--;
		out[n] = '\0';
	}
	for (char *p = out; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
	return out;
}

/* NetBox's errors as "field: msg; field: msg": DRF's lists of messages, and the nested objects
 * of custom fields ({"custom_fields": {"name": "msg"}}, extras/api/customfields.py) as
 * "custom_fields: name: msg". */
static void
nbreply_fields(struct sbuf *sb, json_t *err)
{
	const char *k;
	json_t *v;
	size_t i, n = 0;

	if (json_is_string(err)) {
		sbuf_adds(sb, json_string_value(err));
		return;
	}
	json_array_foreach(err, i, v)
	{
		if (i > 0)
			sbuf_adds(sb, " ");
		nbreply_fields(sb, v);
	}
	json_object_foreach(err, k, v)
	{
		if (n++ > 0)
			sbuf_adds(sb, "; ");
		if (strcmp(k, "non_field_errors") != 0 && strcmp(k, "detail") != 0)
			sbuf_addf(sb, "%s: ", k);
		nbreply_fields(sb, v);
	}
}

static const struct {
	long lo, hi;
	const char *hint;
} nbreply_hints[] = {
    {400, 400, "NetBox refused the data"},
    {401, 403, "the token was refused, or may not do this"},
    {404, 404, "not found: is url NetBox's base URL?"},
    {405, 405, "method not allowed: is url NetBox's base URL?"},
    {429, 429, "rate limited"},
    {500, 599, "NetBox server error"},
};

char *
nbreply_error(long status, json_t *body)
{
	struct sbuf sb = {0};
	const char *hint = "unexpected answer";
	json_t *item;
	size_t i;
	char *msg, *out;

	for (i = 0; i < sizeof(nbreply_hints) / sizeof(nbreply_hints[0]); i++)
		if (status >= nbreply_hints[i].lo && status <= nbreply_hints[i].hi)
			hint = nbreply_hints[i].hint;
	sbuf_adds(&sb, "");
	if (json_is_array(body)) {
		/* A bulk create's errors, one object per item: only the items that failed. */
		json_array_foreach(body, i, item)
		{
			if (json_object_size(item) == 0)
				continue;
			if (sb.len > 0)
				sbuf_adds(&sb, "; ");
			if (json_array_size(body) > 1)
				sbuf_addf(&sb, "item %zu: ", i + 1);
			nbreply_fields(&sb, item);
		}
	} else if (json_is_string(json_object_get(body, "error")))
		sbuf_adds(&sb, json_string_value(json_object_get(body, "error")));
	else if (json_is_object(body))
		nbreply_fields(&sb, body);
	msg = nbreply_clean(sb.p);
	sbuf_free(&sb);
	out = xasprintf("HTTP %ld (%s)%s%s", status, hint, *msg ? ": " : "", msg);
	free(msg);
	return out;
}
