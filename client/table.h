/* table.h: column-aligned text tables for tsinvctl's human output. */
#ifndef TSINV_TABLE_H
#define TSINV_TABLE_H

#include <stddef.h>
#include <stdio.h>

struct table;

/* A table of NCOLS columns under HEADERS (NCOLS strings), or without a header row when NULL. */
struct table *table_new(size_t ncols, const char *const *headers);
/* Appends a row of exactly NCOLS strings, copied and made terminal-safe; NULL or "" shows "-". */
void table_add_row(struct table *t, ...);
void table_add_rowv(struct table *t, const char *const *cells);
size_t table_nrows(const struct table *t);
/* Columns two spaces apart, the last one unpadded. Width counts code points, not display cells:
 * wide characters misalign a column but are never cut. */
void table_print(const struct table *t, FILE *f);
void table_free(struct table *t);

/* A copy of S (malloc'd) safe to print to a terminal: C0 and C1 control characters and DEL
 * become '?'. S must be valid UTF-8 (jansson guarantees it for strings it decoded). */
char *table_clean(const char *s);

#endif
