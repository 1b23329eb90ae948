/* table.c: column-aligned text tables for tsinvctl's human output. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "table.h"

struct table {
	size_t ncols;
	char **header; /* NULL: no header row */
	char ***rows;
	size_t nrows;
	size_t cap;
};

char *
table_clean(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	char *out = xmalloc(strlen(s) + 1), *o = out;

	while (*p != '\0') {
		/* Names and error texts come from devices and the API: no escape sequence may reach
		 * the terminal. C1 controls are U+0080..U+009F, encoded C2 80..C2 9F. */
		if (*p < 0x20 || *p == 0x7f) {
			*o++ = '?';
			p++;
		} else if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			*o++ = '?';
			p += 2;
		} else
			*o++ = (char)*p++;
	}
	*o = '\0';
	return out;
}

enum table_format table_format = TABLE_TEXT;
const char *table_columns;
int table_columns_bad;

/* An empty cell is kept empty: the text table shows it as "-", CSV and TSV leave it empty. */
static char *
table_cell(const char *s)
{
	return table_clean(s == NULL ? "" : s);
}

/* What the text table shows for a cell. */
static const char *
table_text(const char *s)
{
	return *s == '\0' ? "-" : s;
}

/* Code points, not bytes, so that accented names still line up. */
static size_t
table_width(const char *s)
{
	size_t n = 0;

	for (s = table_text(s); *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

struct table *
table_new(size_t ncols, const char *const *headers)
{
	struct table *t = xcalloc(1, sizeof *t);
	size_t i;

	t->ncols = ncols;
	if (headers != NULL) {
		t->header = xcalloc(ncols, sizeof *t->header);
		for (i = 0; i < ncols; i++)
			t->header[i] = table_cell(headers[i]);
	}
	return t;
}

void
table_add_rowv(struct table *t, const char *const *cells)
{
	char **row = xcalloc(t->ncols, sizeof *row);
	size_t i;

	for (i = 0; i < t->ncols; i++)
		row[i] = table_cell(cells[i]);
	if (t->nrows == t->cap) {
		t->cap = t->cap == 0 ? 16 : t->cap * 2;
		t->rows = xrealloc(t->rows, t->cap * sizeof *t->rows);
	}
	t->rows[t->nrows++] = row;
}

void
table_add_row(struct table *t, ...)
{
	const char **cells = xcalloc(t->ncols, sizeof *cells);
	va_list ap;
	size_t i;

	va_start(ap, t);
	for (i = 0; i < t->ncols; i++)
		cells[i] = va_arg(ap, const char *);
	va_end(ap);
	table_add_rowv(t, cells);
	free(cells);
}

size_t
table_nrows(const struct table *t)
{
	return t->nrows;
}

/* One cell of a CSV row (RFC 4180: quoted when it holds a comma, a quote or a line break) or a
 * TSV row (tabs and line breaks become spaces: TSV has no quoting). */
static void
table_print_cell(const char *s, FILE *f)
{
	if (table_format == TABLE_TSV) {
		for (; *s != '\0'; s++)
			fputc(*s == '\t' || *s == '\n' || *s == '\r' ? ' ' : *s, f);
		return;
	}
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s != '\0'; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static void
table_print_row(const struct table *t, char *const *row, const size_t *cols, size_t ncols,
                const size_t *widths, FILE *f)
{
	size_t i, w;

	(void)t;
	for (i = 0; i < ncols; i++) {
		const char *cell = row[cols[i]];

		if (table_format != TABLE_TEXT) {
			if (i > 0)
				fputc(table_format == TABLE_CSV ? ',' : '\t', f);
			table_print_cell(cell, f);
			continue;
		}
		fputs(table_text(cell), f);
		if (i + 1 == ncols)
			break;
		for (w = table_width(cell); w < widths[cols[i]] + 2; w++)
			fputc(' ', f);
	}
	fputc('\n', f);
}

/* The columns --columns names, as indexes into T's header (*n of them, malloc'd); NULL after
 * saying on stderr which name matches no column. */
static size_t *
table_pick(const struct table *t, size_t *n)
{
	size_t *cols = xcalloc(t->ncols + 64, sizeof *cols), i;
	char *list, *name, *save = NULL;

	*n = 0;
	if (table_columns == NULL || t->header == NULL) {
		for (i = 0; i < t->ncols; i++)
			cols[(*n)++] = i;
		return cols;
	}
	list = xstrdup(table_columns);
	for (name = strtok_r(list, ",", &save); name != NULL; name = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < t->ncols && strcasecmp(t->header[i], name) != 0; i++)
			;
		if (i == t->ncols || *n == t->ncols + 64) {
			fprintf(stderr,
			        "tsinvctl: --columns: no column \"%s\" here; the columns are",
			        name);
			for (i = 0; i < t->ncols; i++)
				fprintf(stderr, "%s%s", i ? ", " : " ", t->header[i]);
			fputc('\n', stderr);
			table_columns_bad = 1;
			free(list);
			free(cols);
			return NULL;
		}
		cols[(*n)++] = i;
	}
	free(list);
	return cols;
}

void
table_print(const struct table *t, FILE *f)
{
	size_t *widths = xcalloc(t->ncols, sizeof *widths), *cols, ncols;
	size_t i, r, w;

	if ((cols = table_pick(t, &ncols)) == NULL) {
		free(widths);
		return;
	}
	for (i = 0; i < t->ncols; i++) {
		if (t->header != NULL)
			widths[i] = table_width(t->header[i]);
		for (r = 0; r < t->nrows; r++) {
			w = table_width(t->rows[r][i]);
			if (w > widths[i])
				widths[i] = w;
		}
	}
	if (t->header != NULL)
		table_print_row(t, t->header, cols, ncols, widths, f);
	for (r = 0; r < t->nrows; r++)
		table_print_row(t, t->rows[r], cols, ncols, widths, f);
	free(cols);
	free(widths);
}

static void
table_free_row(char **row, size_t ncols)
{
	size_t i;

	if (row == NULL)
		return;
	for (i = 0; i < ncols; i++)
		free(row[i]);
	free(row);
}

void
table_free(struct table *t)
{
	size_t r;

	if (t == NULL)
		return;
	table_free_row(t->header, t->ncols);
	for (r = 0; r < t->nrows; r++)
		table_free_row(t->rows[r], t->ncols);
	free(t->rows);
	free(t);
}
