/* table.c: column-aligned text tables for tsinvctl's human output. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

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

static char *
table_cell(const char *s)
{
	return table_clean(s == NULL || *s == '\0' ? "-" : s);
}

/* Code points, not bytes, so that accented names still line up. */
static size_t
table_width(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
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

static void
table_print_row(const struct table *t, char *const *row, const size_t *widths, FILE *f)
{
	size_t i, w;

	for (i = 0; i < t->ncols; i++) {
		fputs(row[i], f);
		if (i + 1 == t->ncols)
			break;
		for (w = table_width(row[i]); w < widths[i] + 2; w++)
			fputc(' ', f);
	}
	fputc('\n', f);
}

void
table_print(const struct table *t, FILE *f)
{
	size_t *widths = xcalloc(t->ncols, sizeof *widths);
	size_t i, r, w;

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
		table_print_row(t, t->header, widths, f);
	for (r = 0; r < t->nrows; r++)
		table_print_row(t, t->rows[r], widths, f);
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
