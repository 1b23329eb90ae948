/* udiff.h: line-based unified diffs in GNU "diff -u" format, for comparing policy revisions. */
#ifndef TSINV_UDIFF_H
#define TSINV_UDIFF_H

#include <stddef.h>

/*
 * Writes a unified diff of A to B into *out (malloc'd, NUL-terminated): "--- LABEL_A\n+++
 * LABEL_B\n" then hunks "@@ -l,s +l,s @@" with CONTEXT lines of context, exactly as GNU
 * "diff -u -U CONTEXT -L LABEL_A -L LABEL_B" prints them (a range of one line is written "l",
 * an empty one "l,0" with l the line before it; changes at most 2*CONTEXT lines apart share a
 * hunk; a last line without a newline is followed by "\ No newline at end of file").
 *
 * Lines are compared byte for byte, CR and NUL included. Identical inputs give "". The edit
 * script is minimal (Myers) unless the edit distance runs into the thousands, where it may be
 * coarser, never wrong. Returns 0, or -1 with *cause (malloc'd) and *out NULL.
 */
int udiff(const char *a, size_t alen, const char *b, size_t blen, const char *label_a,
          const char *label_b, int context, char **out, char **cause);

#endif
