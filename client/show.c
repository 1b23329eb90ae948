/* show.c: reading the daemon's answers leniently and turning their values into table cells. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

const char *
show_duration(int64_t us, char *buf, size_t len)
{
	tstime_format_duration(us, buf, len);
	return buf;
}

/* A duration in seconds as the daemon sent it; out-of-range values must not reach the cast. */
const char *
show_seconds(double v, char *buf, size_t len)
{
	if (!(v > -1e12 && v < 1e12))
		snprintf(buf, len, "?");
	else
		tstime_format_duration((int64_t)(v * TSTIME_SEC), buf, len);
	return buf;
}

void
show_print_json(json_t *v)
{
	json_dumpf(v, stdout, JSON_INDENT(2) | JSON_ENCODE_ANY);
	fputc('\n', stdout);
}

/* V as show_print_json prints it, each line after the first indented by INDENT more spaces:
 * how it looks nested in an object printed whole. */
static void
show_json_nested(json_t *v, int indent)
{
	char *text = json_dumps(v, JSON_INDENT(2) | JSON_ENCODE_ANY), *p, *nl;

	if (text == NULL)
		fatalx("cannot print the result");
	/* A newline in the text is always jansson's own: strings have theirs escaped. */
	for (p = text; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		fwrite(p, 1, (size_t)(nl - p) + 1, stdout);
		printf("%*s", indent, "");
	}
	fputs(p, stdout);
	free(text);
}

/* The member KEY: V of an object printed by show_print_json, after what came before it. */
static void
show_json_member(const char *key, json_t *v, int first)
{
	json_t *k = json_string(key);

	fputs(first ? "{\n  " : ",\n  ", stdout);
	show_json_nested(k, 0);
	fputs(": ", stdout);
	json_decref(k);
	if (v != NULL)
		show_json_nested(v, 2);
}

void
show_json_begin(json_t *result)
{
	size_t i = 0, n = json_object_size(result);
	const char *key;
	json_t *v;

	json_object_foreach(result, key, v)
	{
		show_json_member(key, i + 1 < n ? v : NULL, i == 0);
		i++;
	}
	fputc('[', stdout);
}

void
show_json_element(json_t *e, size_t i)
{
	fputs(i > 0 ? ",\n    " : "\n    ", stdout);
	show_json_nested(e, 4);
}

void
show_json_end(json_t *result, size_t nbefore, size_t count)
{
	const char *key;
	size_t i = 0;
	json_t *v;

	fputs(count > 0 ? "\n  ]" : "]", stdout);
	json_object_foreach(result, key, v)
	{
		if (i++ > nbefore)
			show_json_member(key, v, 0);
	}
	fputs("\n}\n", stdout);
}

/* Accessors that accept whatever the daemon sent: a missing or mistyped field is "absent". */
const char *
show_str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

int
show_num(json_t *o, const char *key, double *out)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_number(v))
		return -1;
	*out = json_number_value(v);
	return 0;
}

int
show_is(json_t *o, const char *key, const char *value)
{
	const char *s = show_str(o, key);

	return s != NULL && strcmp(s, value) == 0;
}

/* "yes", "no", or NULL (shown as "-") when absent. */
const char *
show_yesno(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_boolean(v) ? (json_is_true(v) ? "yes" : "no") : NULL;
}

/* The strings of array ARR joined by SEP (malloc'd), or NULL when there are none. */
char *
show_join(json_t *arr, const char *sep)
{
	struct sbuf sb = {0};
	json_t *v;
	size_t i;

	json_array_foreach(arr, i, v)
	{
		if (!json_is_string(v))
			continue;
		if (sb.len > 0)
			sbuf_adds(&sb, sep);
		sbuf_adds(&sb, json_string_value(v));
	}
	if (sb.len == 0) {
		sbuf_free(&sb);
		return NULL;
	}
	return sbuf_steal(&sb);
}

/* T as given, to the second: "2026-11-20T14:05:00.25Z" -> "2026-11-20T14:05:00Z"; "-" if none.
 * Always into BUF, which it returns. */
const char *
show_time(const char *t, char *buf, size_t len)
{
	const char *p;

	if (t == NULL || *t == '\0')
		snprintf(buf, len, "-");
	else if (strlen(t) > 20 && t[19] == '.') {
		for (p = t + 20; *p >= '0' && *p <= '9'; p++)
			continue;
		snprintf(buf, len, "%.19s%s", t, p);
	} else
		snprintf(buf, len, "%s", t);
	return buf;
}

/* A time window into BUF: "lo .. hi", just "hi" when lo is absent or the same second, OPEN when
 * there is no hi (an interval still running). */
const char *
show_window(const char *lo, const char *hi, const char *open, char *buf, size_t len)
{
	char l[TSINVCTL_TIMELEN], h[TSINVCTL_TIMELEN];

	if (hi == NULL || *hi == '\0') {
		if (open != NULL)
			snprintf(buf, len, "%s", open);
		else
			show_time(lo, buf, len);
		return buf;
	}
	show_time(hi, h, sizeof h);
	if (lo == NULL || *lo == '\0' || strcmp(show_time(lo, l, sizeof l), h) == 0)
		snprintf(buf, len, "%s", h);
	else
		snprintf(buf, len, "%s .. %s", l, h);
	return buf;
}

/* One side (TO: the end) of an object's bounds into BUF: a moment the audit log pinned in full,
 * to the microsecond, with what pinned it; else the polls' window (OPEN when it has no end). */
const char *
show_edge(json_t *o, int to, const char *open, char *buf, size_t len)
{
	const char *by = show_str(o, to ? "exact_to_by" : "exact_from_by");
	const char *hi = show_str(o, to ? "to_hi" : "from_hi");

	if (by != NULL && hi != NULL) {
		snprintf(buf, len, "%s (%s)", hi, by);
		return buf;
	}
	return show_window(show_str(o, to ? "to_lo" : "from_lo"), hi, open, buf, len);
}

/* The FROM and TO windows of an object carrying the four bounds. */
void
show_bounds(json_t *o, char *from, char *to, size_t len)
{
	show_edge(o, 0, NULL, from, len);
	show_edge(o, 1, "now", to, len);
}

/* The short name (malloc'd): the first label of the MagicDNS name, else the hostname, else the
 * node id. O is a device or anything with the same three fields. */
char *
show_shortname(json_t *o)
{
	const char *s = show_str(o, "name");
	size_t n;

	if (s == NULL || *s == '\0')
		s = show_str(o, "hostname");
	if (s == NULL || *s == '\0')
		s = show_str(o, "nodeId");
	if (s == NULL || *s == '\0')
		s = "-";
	n = strcspn(s, ".");
	if (n == 0)
		n = strlen(s); /* ".foo": keep it whole rather than print nothing */
	return xasprintf("%.*s", (int)(n > INT_MAX ? INT_MAX : n), s);
}

/* Adds "KEY: joined array" to a key-value table. */
void
show_kv_list(struct table *t, const char *key, json_t *arr)
{
	char *s = show_join(arr, ", ");

	table_add_row(t, key, s);
	free(s);
}

/* The text of a JSON value for a cell (malloc'd): a string as it is, anything else but null as
 * compact JSON; NULL for null or nothing. */
char *
show_cell_json(json_t *v)
{
	if (v == NULL || json_is_null(v))
		return NULL;
	if (json_is_string(v))
		return xstrdup(json_string_value(v));
	return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* The elements of array V joined by ",", or V itself when it is not an array (malloc'd, or
 * NULL when there is nothing to show). */
char *
show_cell_list(json_t *v)
{
	struct sbuf sb = {0};
	json_t *e;
	size_t i;
	char *s;

	if (!json_is_array(v))
		return show_cell_json(v);
	json_array_foreach(v, i, e)
	{
		if ((s = show_cell_json(e)) == NULL)
			continue;
		sbuf_addf(&sb, "%s%s", sb.len > 0 ? "," : "", s);
		free(s);
	}
	if (sb.len == 0) {
		sbuf_free(&sb);
		return NULL;
	}
	return sbuf_steal(&sb);
}

/* S with a "?" when it may not have held at the time asked about (malloc'd). */
char *
show_marked(const char *s, int maybe)
{
	return xasprintf("%s%s", s != NULL && *s != '\0' ? s : "-", maybe ? "?" : "");
}

/* The date of an RFC 3339 time, "-" for none or Go's zero time. Always into BUF (>= 11). */
const char *
show_date(const char *t, char *buf, size_t len)
{
	if (t == NULL || strlen(t) < 10 || strncmp(t, "0001-01-01", 10) == 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.10s", t);
	return buf;
}

/* Why the daemon cannot tell, cleaned for the terminal (malloc'd). */
char *
show_reason(json_t *res)
{
	const char *reason = show_str(res, "reason");

	return table_clean(reason != NULL ? reason : "no reason given");
}

static int
show_listrow_cmp(const void *va, const void *vb)
{
	const struct show_listrow *a = va, *b = vb;
	int c = strcmp(a->k1, b->k1);

	return c != 0 ? c : strcmp(a->k2, b->k2);
}

/* The object entries of RES's array LIST sorted by the members K1, then K2, of their object
 * INNER: an array (malloc'd) of *N rows whose entries are borrowed from RES. */
struct show_listrow *
show_list_sorted(json_t *res, const char *list, const char *inner, const char *k1, const char *k2,
                 size_t *n)
{
	json_t *arr = json_object_get(res, list), *e, *o;
	struct show_listrow *rows = xcalloc(json_array_size(arr) + 1, sizeof *rows);
	const char *s;
	size_t i;

	*n = 0;
	json_array_foreach(arr, i, e)
	{
		if (!json_is_object(e))
			continue;
		o = json_object_get(e, inner);
		rows[*n].k1 = (s = show_str(o, k1)) != NULL ? s : "";
		rows[*n].k2 = (s = show_str(o, k2)) != NULL ? s : "";
		rows[(*n)++].entry = e;
	}
	qsort(rows, *n, sizeof *rows, show_listrow_cmp);
	return rows;
}

/* The daemon's note on an answer (an endpoint it no longer polls), unless the reason for an
 * unknown coverage said it already. */
void
show_note(json_t *res, int unknown)
{
	const char *note = show_str(res, "note");

	if (note != NULL && !unknown)
		printf("\nnote: %s\n", note);
}

/* Prints the table, or NONE when it is empty, or why the daemon cannot tell; then the notes
 * that "maybe" rows and an unknown coverage call for. */
FILE *
show_notes(void)
{
	return table_format == TABLE_TEXT ? stdout : stderr;
}

void
show_list_print(json_t *res, struct table *t, const char *none, size_t nmaybe)
{
	int unknown = show_is(res, "coverage", "unknown");
	char *reason = show_reason(res);

	/* CSV and TSV: the rows (a header alone for a known empty list) and nothing else on
	 * stdout, so that a script can read them; what tsinv does not know goes to stderr. */
	if (table_format != TABLE_TEXT) {
		if (!unknown)
			table_print(t, stdout);
		else
			fprintf(stderr, "tsinvctl: unknown: %s\n", reason);
		if (nmaybe > 0)
			fputs(
			    "tsinvctl: ? = may have been present (the change happened between two "
			    "polls)\n",
			    stderr);
		free(reason);
		return;
	}

	if (table_nrows(t) > 0)
		table_print(t, stdout);
	else if (unknown)
		printf("unknown: %s\n", reason);
	else
		puts(none);
	if (table_nrows(t) > 0 && unknown)
		printf("\nunknown: %s; the list may be incomplete\n", reason);
	if (nmaybe > 0)
		puts("\n? = may have been present (the change happened between two polls)");
	show_note(res, unknown);
	free(reason);
}
