/* table.h: column-aligned text tables for tsinvctl's human output. */
#ifndef TSINV_TABLE_H
#define TSINV_TABLE_H

#include <stddef.h>
#include <stdio.h>

struct table;

/* How table_print writes: aligned text, CSV (RFC 4180) or TSV; set once from --format. */
enum table_format { TABLE_TEXT, TABLE_CSV, TABLE_TSV };
extern enum table_format table_format;
/* --columns: header names separated by commas (any case), in the order to print; NULL all. */
extern const char *table_columns;
/* Set when a table had no column of a name --columns gave (said on stderr, nothing printed). */
extern int table_columns_bad;

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
