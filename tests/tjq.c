/* tjq.c: a tiny JSON path printer for the shell tests: "tjq [-S] PATH [FILE]". */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

/*
 * PATH is ".", or a chain of steps: ".key", "[N]" (negative counts from the end), "[]" (every
 * element of an array or value of an object), "[KEY=VALUE]" (the elements of an array whose
 * member KEY is the string VALUE, or whose compact JSON is VALUE; "[K1=V1&K2=V2]" wants both;
 * "[a.b=V]" looks into a). An optional "|length" suffix prints the length of each result instead.
 * Strings print raw, everything else as compact JSON. Exit 0 when every step found something, 1
 * when some step found nothing, 2 on bad input.
 */

#define TJQ_MAX_STEPS 64

enum tjq_kind {
	TJQ_KEY,
	TJQ_INDEX,
	TJQ_EACH,
	TJQ_SELECT,
};

struct tjq_step {
	enum tjq_kind kind;
	char *key;   /* TJQ_KEY, TJQ_SELECT: owned */
	char *value; /* TJQ_SELECT: owned */
	long index;  /* TJQ_INDEX */
};

struct tjq {
	struct tjq_step steps[TJQ_MAX_STEPS];
	size_t nsteps;
	int length;
	size_t flags;
	int missing;
	int ungroup; /* -V */
};

static json_t *tjq_ungroup(json_t *rows);

static void
tjq_usage(void)
{
	fprintf(stderr, "usage: tjq [-S] [-V] PATH [FILE]\n"
	                "       tjq -e [FILE]   (the bytes of FILE as one JSON string)\n"
	                "  PATH: . | .key | [N] | [] | [KEY=VALUE], chained; optional |length\n");
	exit(2);
}

static void
tjq_bad_path(const char *path, const char *why)
{
	fprintf(stderr, "tjq: bad path \"%s\": %s\n", path, why);
	exit(2);
}

static char *
tjq_strndup(const char *s, size_t n)
{
	char *p = strndup(s, n);

	if (p == NULL) {
		perror("tjq");
		exit(2);
	}
	return p;
}

/* Parses the bracketed step starting after '['; returns the position after ']'. */
static const char *
tjq_parse_bracket(const char *path, const char *p, struct tjq_step *st)
{
	const char *end = strchr(p, ']');
	const char *eq;
	char *stop;

	if (end == NULL)
		tjq_bad_path(path, "missing ]");
	if (end == p) {
		st->kind = TJQ_EACH;
		return end + 1;
	}
	eq = memchr(p, '=', (size_t)(end - p));
	if (eq != NULL) {
		if (eq == p)
			tjq_bad_path(path, "empty key in [KEY=VALUE]");
		st->kind = TJQ_SELECT;
		st->key = tjq_strndup(p, (size_t)(eq - p));
		st->value = tjq_strndup(eq + 1, (size_t)(end - eq - 1));
		return end + 1;
	}
	errno = 0;
	st->kind = TJQ_INDEX;
	st->index = strtol(p, &stop, 10);
	if (errno != 0 || stop != end)
		tjq_bad_path(path, "index is not a number");
	return end + 1;
}

static void
tjq_parse_path(struct tjq *q, const char *path)
{
	const char *p = path;
	const char *bar = strstr(path, "|length");
	size_t plen = strlen(path);

	if (bar != NULL) {
		if (bar[strlen("|length")] != '\0')
			tjq_bad_path(path, "|length must come last");
		q->length = 1;
		plen = (size_t)(bar - path);
	}
	if (plen == 0 || path[0] != '.')
		tjq_bad_path(path, "must start with .");
	if (plen == 1)
		return;
	while (p < path + plen) {
		struct tjq_step *st;
		size_t n;

		if (q->nsteps == TJQ_MAX_STEPS)
			tjq_bad_path(path, "too many steps");
		st = &q->steps[q->nsteps++];
		memset(st, 0, sizeof(*st));
		if (*p == '[') {
			p = tjq_parse_bracket(path, p + 1, st);
			continue;
		}
		if (*p != '.')
			tjq_bad_path(path, "expected . or [");
		p++;
		if (*p == '[') {
			/* ".[0]" is the same as "[0]" */
			p = tjq_parse_bracket(path, p + 1, st);
			continue;
		}
		n = strcspn(p, ".[|");
		if (p + n > path + plen)
			n = (size_t)(path + plen - p);
		if (n == 0)
			tjq_bad_path(path, "empty key");
		st->kind = TJQ_KEY;
		st->key = tjq_strndup(p, n);
		p += n;
	}
}

static void
tjq_print(struct tjq *q, json_t *v)
{
	char *s;

	if (q->ungroup) {
		json_t *flat = tjq_ungroup(v);

		q->ungroup = 0;
		tjq_print(q, flat);
		q->ungroup = 1;
		json_decref(flat);
		return;
	}
	if (q->length) {
		if (json_is_array(v))
			printf("%zu\n", json_array_size(v));
		else if (json_is_object(v))
			printf("%zu\n", json_object_size(v));
		else if (json_is_string(v))
			printf("%zu\n", json_string_length(v));
		else if (json_is_null(v))
			printf("0\n");
		else {
			fprintf(stderr, "tjq: length of a number or boolean\n");
			q->missing = 1;
		}
		return;
	}
	if (json_is_string(v)) {
		fwrite(json_string_value(v), 1, json_string_length(v), stdout);
		putchar('\n');
		return;
	}
	s = json_dumps(v, q->flags);
	if (s == NULL) {
		fprintf(stderr, "tjq: cannot encode\n");
		exit(2);
	}
	printf("%s\n", s);
	free(s);
}

/* Does array element V match [KEY=VALUE]? */
static int
tjq_selects_one(json_t *v, const char *key, const char *value)
{
	json_t *m = v;
	char *s;
	int same;

	/* KEY may name a nested member: "entity.id". */
	for (const char *p = key; m != NULL && *p != '\0';) {
		size_t n = strcspn(p, ".");
		char *part = tjq_strndup(p, n);

		m = json_object_get(m, part);
		free(part);
		p += n;
		if (*p == '.')
			p++;
	}

	if (m == NULL)
		return 0;
	if (json_is_string(m))
		return strcmp(json_string_value(m), value) == 0;
	s = json_dumps(m, JSON_COMPACT | JSON_ENCODE_ANY);
	same = s != NULL && strcmp(s, value) == 0;
	free(s);
	return same;
}

/* KEY=VALUE, or KEY=VALUE&KEY2=VALUE2...: every pair must match. */
static int
tjq_selects(const struct tjq_step *st, json_t *v)
{
	char *rest = tjq_strndup(st->value, strlen(st->value)), *amp, *key = st->key, *value;
	char *copy = rest;
	int ok = 1;

	for (value = rest; ok && value != NULL; value = rest) {
		char *eq;

		if ((amp = strchr(value, '&')) != NULL && (eq = strchr(amp + 1, '=')) != NULL) {
			*amp = '\0';
			*eq = '\0';
			ok = tjq_selects_one(v, key, value);
			key = amp + 1;
			rest = eq + 1;
		} else {
			ok = tjq_selects_one(v, key, value);
			rest = NULL;
		}
	}
	free(copy);
	return ok;
}

static void
tjq_eval(struct tjq *q, json_t *v, size_t i)
{
	const struct tjq_step *st;
	json_t *m;
	size_t k;

	if (i == q->nsteps) {
		tjq_print(q, v);
		return;
	}
	st = &q->steps[i];
	switch (st->kind) {
	case TJQ_KEY:
		m = json_object_get(v, st->key);
		if (m == NULL)
			q->missing = 1;
		else
			tjq_eval(q, m, i + 1);
		return;
	case TJQ_INDEX: {
		long n = (long)json_array_size(v);
		long at = st->index < 0 ? n + st->index : st->index;

		if (!json_is_array(v) || at < 0 || at >= n)
			q->missing = 1;
		else
			tjq_eval(q, json_array_get(v, (size_t)at), i + 1);
		return;
	}
	case TJQ_EACH:
		if (json_is_array(v)) {
			json_array_foreach(v, k, m) tjq_eval(q, m, i + 1);
		} else if (json_is_object(v)) {
			const char *key;

			json_object_foreach(v, key, m) tjq_eval(q, m, i + 1);
		} else
			q->missing = 1;
		return;
	case TJQ_SELECT: {
		int found = 0;

		if (json_is_array(v)) {
			json_array_foreach(v, k, m)
			{
				if (tjq_selects(st, m)) {
					found = 1;
					tjq_eval(q, m, i + 1);
				}
			}
		}
		if (!found)
			q->missing = 1;
		return;
	}
	}
}

/* -V: a devices listing (devices.list's "devices") in the shape it had before one row per
 * device: a row with "versions" becomes a row per version (its nodeId added), and "presence"
 * and "version" are dropped. The upgrade test compares today's answers with answers an older
 * release wrote in that shape. A new reference. */
static json_t *
tjq_ungroup(json_t *rows)
{
	json_t *out = json_array(), *row, *v;
	size_t i, j;

	if (!json_is_array(rows))
		return json_incref(rows);
	json_array_foreach(rows, i, row)
	{
		json_t *vs = json_object_get(row, "versions");

		if (!json_is_array(vs)) {
			json_t *r = json_deep_copy(row);

			json_object_del(r, "presence");
			json_object_del(r, "version");
			json_array_append_new(out, r);
			continue;
		}
		json_array_foreach(vs, j, v)
		{
			json_t *r = json_deep_copy(v);

			json_object_set(r, "nodeId", json_object_get(row, "nodeId"));
			json_array_append_new(out, r);
		}
	}
	return out;
}

/* Prints the bytes of FILE (NULL: stdin) as one JSON string: a test sends a file's exact text
 * in a JSON request with it. */
static int
tjq_encode(const char *name)
{
	FILE *f = name != NULL ? fopen(name, "rb") : stdin;
	char *buf = NULL, *out;
	size_t len = 0, n;
	json_t *s;
	char chunk[65536];

	if (f == NULL) {
		fprintf(stderr, "tjq: %s: %s\n", name, strerror(errno));
		return 2;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		buf = realloc(buf, len + n);
		if (buf == NULL)
			abort();
		memcpy(buf + len, chunk, n);
		len += n;
	}
	if (f != stdin)
		fclose(f);
	s = json_stringn(buf ? buf : "", len);
	free(buf);
	if (s == NULL) {
		fprintf(stderr, "tjq: %s: not valid UTF-8 (or holds a NUL)\n",
		        name ? name : "<stdin>");
		return 2;
	}
	out = json_dumps(s, JSON_ENCODE_ANY);
	json_decref(s);
	fputs(out, stdout);
	free(out);
	return fflush(stdout) == 0 ? 0 : 2;
}

int
main(int argc, char **argv)
{
	struct tjq q;
	json_error_t err;
	json_t *root;
	FILE *f = stdin;
	const char *name = "<stdin>";
	size_t i;
	int c, encode = 0;

	memset(&q, 0, sizeof(q));
	q.flags = JSON_COMPACT | JSON_ENCODE_ANY;
	while ((c = getopt(argc, argv, "SeV")) != -1) {
		if (c == 'S')
			q.flags |= JSON_SORT_KEYS;
		else if (c == 'V')
			q.ungroup = 1;
		else if (c == 'e')
			encode = 1;
		else
			tjq_usage();
	}
	argc -= optind;
	argv += optind;
	if (encode)
		return tjq_encode(argc > 0 ? argv[0] : NULL);
	if (argc < 1 || argc > 2)
		tjq_usage();
	tjq_parse_path(&q, argv[0]);
	if (argc == 2) {
		name = argv[1];
		f = fopen(name, "r");
		if (f == NULL) {
			fprintf(stderr, "tjq: %s: %s\n", name, strerror(errno));
			return 2;
		}
	}
	root = json_loadf(f, JSON_DECODE_ANY, &err);
	if (f != stdin)
		fclose(f);
	if (root == NULL) {
		fprintf(stderr, "tjq: %s:%d:%d: invalid JSON: %s\n", name, err.line, err.column,
		        err.text);
		return 2;
	}
	tjq_eval(&q, root, 0);
	json_decref(root);
	for (i = 0; i < q.nsteps; i++) {
		free(q.steps[i].key);
		free(q.steps[i].value);
	}
	if (fflush(stdout) != 0) {
		perror("tjq: stdout");
		return 2;
	}
	return q.missing ? 1 : 0;
}
