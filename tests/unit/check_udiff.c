/* check_udiff.c: unit tests for unified diffs: GNU diff's own output, and random diffs applied. */
#include <check.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"
#include "udiff.h"

#define L2_4 "l2\nl3\nl4\n"
#define L6_9 "l6\nl7\nl8\nl9\n"
#define L14_19 "l14\nl15\nl16\nl17\nl18\nl19\n"
#define L20 "l1\n" L2_4 "l5\n" L6_9 "l10\nl11\nl12\nl13\n" L14_19 "l20\n"

/* Expected outputs are what "diff -U CTX -L old -L new" (GNU diffutils 3.8) printed. */
static const struct {
	const char *name, *a, *b;
	int ctx;
	const char *want;
} gnu_cases[] = {
    {"empty-empty", "", "", 3, ""},
    {"identical", L20, L20, 3, ""},
    {"empty-text", "", "a\nb\n", 3, "--- old\n+++ new\n@@ -0,0 +1,2 @@\n+a\n+b\n"},
    {"text-empty", "a\nb\n", "", 3, "--- old\n+++ new\n@@ -1,2 +0,0 @@\n-a\n-b\n"},
    {"empty-line", "", "\n", 3, "--- old\n+++ new\n@@ -0,0 +1 @@\n+\n"},
    {"middle", L20, "l1\n" L2_4 "l5\n" L6_9 "changed\nl11\nl12\nl13\n" L14_19 "l20\n", 3,
     "--- old\n+++ new\n@@ -7,7 +7,7 @@\n l7\n l8\n l9\n-l10\n+changed\n l11\n l12\n l13\n"},
    {"start", L20, "new\n" L2_4 "l5\n" L6_9 "l10\nl11\nl12\nl13\n" L14_19 "l20\n", 3,
     "--- old\n+++ new\n@@ -1,4 +1,4 @@\n-l1\n+new\n l2\n l3\n l4\n"},
    {"end", L20, "l1\n" L2_4 "l5\n" L6_9 "l10\nl11\nl12\nl13\n" L14_19 "last\n", 3,
     "--- old\n+++ new\n@@ -17,4 +17,4 @@\n l17\n l18\n l19\n-l20\n+last\n"},
    {"merge-gap-6", L20, "l1\n" L2_4 "X\n" L6_9 "l10\nl11\nY\nl13\n" L14_19 "l20\n", 3,
     "--- old\n+++ new\n@@ -2,14 +2,14 @@\n l2\n l3\n l4\n-l5\n+X\n l6\n l7\n l8\n l9\n l10\n"
     " l11\n-l12\n+Y\n l13\n l14\n l15\n"},
    {"split-gap-7", L20, "l1\n" L2_4 "X\n" L6_9 "l10\nl11\nl12\nY\n" L14_19 "l20\n", 3,
     "--- old\n+++ new\n@@ -2,7 +2,7 @@\n l2\n l3\n l4\n-l5\n+X\n l6\n l7\n l8\n@@ -10,7 +10,7 "
     "@@\n l10\n l11\n l12\n-l13\n+Y\n l14\n l15\n l16\n"},
    {"whole-file", L20, "l1\n" L2_4 "X\n" L6_9 "l10\nl11\nl12\nY\n" L14_19 "l20\n", INT_MAX,
     "--- old\n+++ new\n@@ -1,20 +1,20 @@\n l1\n l2\n l3\n l4\n-l5\n+X\n l6\n l7\n l8\n l9\n"
     " l10\n l11\n l12\n-l13\n+Y\n l14\n l15\n l16\n l17\n l18\n l19\n l20\n"},
    {"nonl-a", "a\nb\nc", "a\nb\nc\n", 3,
     "--- old\n+++ new\n@@ -1,3 +1,3 @@\n a\n b\n-c\n\\ No newline at end of file\n+c\n"},
    {"nonl-b", "a\nb\nc\n", "a\nb\nc", 3,
     "--- old\n+++ new\n@@ -1,3 +1,3 @@\n a\n b\n-c\n+c\n\\ No newline at end of file\n"},
    {"nonl-context", "a\nb\nc", "a\nB\nc", 3,
     "--- old\n+++ new\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n\\ No newline at end of file\n"},
    {"nonl-both", "a\nb\nc", "a\nb\nd", 1,
     "--- old\n+++ new\n@@ -2,2 +2,2 @@\n b\n-c\n\\ No newline at end of file\n+d\n\\ No "
     "newline at end of file\n"},
    {"crlf", "a\r\nb\r\nc\r\n", "a\r\nb\nc\r\n", 3,
     "--- old\n+++ new\n@@ -1,3 +1,3 @@\n a\r\n-b\r\n+b\n c\r\n"},
    {"one-line", "a\nb\nc\n", "a\nB\nc\n", 0, "--- old\n+++ new\n@@ -2 +2 @@\n-b\n+B\n"},
    {"insert-ctx0", "a\nb\nc\nd\n", "a\nb\nc\nd\nb\n", 0, "--- old\n+++ new\n@@ -4,0 +5 @@\n+b\n"},
    {"delete-ctx0", "a\nb\nc\nd\n", "a\nc\nd\n", 0, "--- old\n+++ new\n@@ -2 +1,0 @@\n-b\n"},
    {"insert-top-ctx0", "a\nb\n", "x\na\nb\n", 0, "--- old\n+++ new\n@@ -0,0 +1 @@\n+x\n"},
    {"json-member",
     "{\n  \"acls\": [\n    {\n      \"action\": \"accept\",\n      \"src\": [\"group:eng\"],\n"
     "      \"dst\": [\"tag:db:5432\"],\n    },\n  ],\n}\n",
     "{\n  \"acls\": [\n    {\n      \"action\": \"accept\",\n      \"src\": [\"group:eng\"],\n"
     "      \"dst\": [\"tag:db:5432\"],\n    },\n    {\n      \"action\": \"accept\",\n"
     "      \"src\": [\"group:ops\"],\n      \"dst\": [\"tag:db:5432\"],\n    },\n  ],\n}\n",
     3,
     "--- old\n+++ new\n@@ -5,5 +5,10 @@\n       \"src\": [\"group:eng\"],\n"
     "       \"dst\": [\"tag:db:5432\"],\n     },\n+    {\n+      \"action\": \"accept\",\n"
     "+      \"src\": [\"group:ops\"],\n+      \"dst\": [\"tag:db:5432\"],\n+    },\n   ],\n"
     " }\n"},
    /* Runs slid over equal lines: merged, then level with a change on the other side. */
    {"shift-insert", "b\n", "x\nb\nb\n", 2, "--- old\n+++ new\n@@ -1 +1,3 @@\n+x\n+b\n b\n"},
    {"shift-merge", "x4\nx4\nx3\nx1\nx1\nx4\na\nx8\nx5\nx4\nx5\n",
     "x4\nx4\nx1\nx4\nx5\nx0\na\nx9\n", 0,
     "--- old\n+++ new\n@@ -3,2 +2,0 @@\n-x3\n-x1\n@@ -7,4 +4,0 @@\n-a\n-x8\n-x5\n-x4\n@@ -11,0 "
     "+6,3 @@\n+x0\n+a\n+x9\n"},
    {"shift-to-change", "},\nx5\nx1\nx1\nx5\nx2\nx2\nx6\nx1\n",
     "},\nx9\na\n{\nx5\nx2\nx2\nx6\nx1\nx9\nx4\nx5\n}\nx9\nx1\nx1\nx0\nx2\n", 0,
     "--- old\n+++ new\n@@ -2,3 +2,3 @@\n-x5\n-x1\n-x1\n+x9\n+a\n+{\n@@ -9,0 +10,9 "
     "@@\n+x9\n+x4\n+x5\n+}\n+x9\n+x1\n+x1\n+x0\n+x2\n"},
};

struct tline {
	const char *p;
	size_t len; /* with the '\n', if any */
};

/* Splits S into lines, borrowed; returns how many. */
static size_t
split_lines(const char *s, size_t len, struct tline **out)
{
	const char *nl;
	size_t n = 0, off, next;

	*out = calloc(len + 1, sizeof **out);
	for (off = 0; off < len; off = next, n++) {
		nl = memchr(s + off, '\n', len - off);
		next = nl != NULL ? (size_t)(nl - s) + 1 : len;
		(*out)[n].p = s + off;
		(*out)[n].len = next - off;
	}
	return n;
}

/* Parses "l" or "l,s" and returns the 0-based index of the range's first line. */
static size_t
parse_range(const char **pp, size_t *count)
{
	char *end;
	unsigned long start;

	ck_assert_msg(**pp >= '0' && **pp <= '9', "range expected at \"%.20s\"", *pp);
	start = strtoul(*pp, &end, 10);
	*count = 1;
	if (*end == ',') {
		ck_assert(end[1] >= '0' && end[1] <= '9');
		*count = strtoul(end + 1, &end, 10);
		ck_assert_msg(*count != 1, "GNU writes a count of 1 as \"l\"");
	}
	*pp = end;
	if (*count == 0)
		return start; /* the line before an empty range */
	ck_assert_uint_ge(start, 1);
	return start - 1;
}

/* Tallies a diff's '-' and '+' lines. */
struct stats {
	size_t hunks, minus, plus;
};

/*
 * Applies DIFF (labels "old" and "new") to A strictly, as patch would with no fuzz, and checks
 * GNU's layout on the way: counts match the bodies, both numberings agree, removals come
 * before additions, CTX lines of context wherever the file has them, hunks that could have
 * merged did. Returns the result (malloc'd).
 */
static char *
apply(const char *a, size_t alen, const char *diff, int ctx, size_t *outlen, struct stats *st)
{
	struct tline *al;
	struct sbuf out = {0};
	const char *p = diff, *nl;
	size_t na = split_lines(a, alen, &al), apos = 0, bpos = 0, aidx, bidx, acnt, bcnt;
	size_t lead, run, len;
	int tag, prev;
	bool nonl;

	memset(st, 0, sizeof *st);
	if (*p != '\0') {
		ck_assert_msg(strncmp(p, "--- old\n+++ new\n", 16) == 0, "bad header: %s", p);
		p += 16;
		ck_assert_msg(*p != '\0', "header without hunks");
	}
	while (*p != '\0') {
		ck_assert_msg(strncmp(p, "@@ -", 4) == 0, "hunk expected at \"%.20s\"", p);
		p += 4;
		aidx = parse_range(&p, &acnt);
		ck_assert_msg(strncmp(p, " +", 2) == 0, "bad hunk header");
		p += 2;
		bidx = parse_range(&p, &bcnt);
		ck_assert_msg(strncmp(p, " @@\n", 4) == 0, "bad hunk header end");
		p += 4;
		/* Touching hunks would have been merged. */
		ck_assert_msg(st->hunks == 0 || aidx > apos, "hunk at %zu touches previous", aidx);
		ck_assert_uint_ge(aidx, apos);
		ck_assert_uint_le(aidx + acnt, na);
		for (; apos < aidx; apos++, bpos++)
			sbuf_add(&out, al[apos].p, al[apos].len);
		ck_assert_msg(bidx == bpos, "new start %zu, want %zu", bidx, bpos);
		st->hunks++;

		lead = SIZE_MAX;
		run = 0;
		prev = 0;
		while (acnt > 0 || bcnt > 0) {
			tag = *p++;
			ck_assert_msg(tag == ' ' || tag == '-' || tag == '+', "bad line tag %d",
			              tag);
			nl = strchr(p, '\n');
			ck_assert_ptr_nonnull(nl);
			len = (size_t)(nl - p) + 1;
			nonl = strncmp(nl + 1, "\\ No newline at end of file\n", 28) == 0;
			if (nonl)
				len--; /* the '\n' is the diff's, not the text's */
			if (tag == ' ') {
				run++;
			} else {
				if (lead == SIZE_MAX)
					lead = run;
				else if (run > 0)
					ck_assert_uint_le(run, 2 * (size_t)ctx);
				run = 0;
			}
			ck_assert_msg(!(prev == '+' && tag == '-'), "'-' after '+'");
			if (tag != '+') {
				ck_assert_uint_gt(acnt, 0);
				ck_assert_uint_lt(apos, na);
				ck_assert_msg(al[apos].len == len &&
				                  memcmp(al[apos].p, p, len) == 0,
				              "line %zu does not match", apos + 1);
				apos++;
				acnt--;
			}
			if (tag != '-') {
				ck_assert_uint_gt(bcnt, 0);
				sbuf_add(&out, p, len);
				bpos++;
				bcnt--;
			}
			if (tag == '-')
				st->minus++;
			if (tag == '+')
				st->plus++;
			prev = tag;
			p = nl + 1 + (nonl ? 28 : 0);
		}
		ck_assert_msg(lead != SIZE_MAX, "hunk without changes");
		ck_assert_msg(lead == (size_t)ctx || aidx == 0, "leading context %zu", lead);
		ck_assert_msg(run == (size_t)ctx || apos == na, "trailing context %zu", run);
	}
	for (; apos < na; apos++)
		sbuf_add(&out, al[apos].p, al[apos].len);
	free(al);
	*outlen = out.len;
	return sbuf_steal(&out);
}

/* Diffs A to B, applies the diff to A and checks that gives B; the diff is returned. */
static char *
roundtrip(const char *a, size_t alen, const char *b, size_t blen, int ctx, struct stats *st)
{
	char *d, *cause = NULL, *got;
	size_t glen;

	ck_assert_int_eq(udiff(a, alen, b, blen, "old", "new", ctx, &d, &cause), 0);
	ck_assert_ptr_nonnull(d);
	got = apply(a, alen, d, ctx, &glen, st);
	ck_assert_msg(glen == blen && memcmp(got, b, blen) == 0, "patched text differs\n%s", d);
	free(got);
	return d;
}

START_TEST(test_gnu)
{
	struct stats st;
	char *d;

	d = roundtrip(gnu_cases[_i].a, strlen(gnu_cases[_i].a), gnu_cases[_i].b,
	              strlen(gnu_cases[_i].b), gnu_cases[_i].ctx, &st);
	ck_assert_msg(strcmp(d, gnu_cases[_i].want) == 0, "%s: got\n%s\nwant\n%s",
	              gnu_cases[_i].name, d, gnu_cases[_i].want);
	free(d);
}
END_TEST

START_TEST(test_errors)
{
	char *out = (char *)"x", *cause = NULL;

	ck_assert_int_eq(udiff("a\n", 2, "b\n", 2, "old", "new", -1, &out, &cause), -1);
	ck_assert_ptr_null(out);
	ck_assert_ptr_nonnull(cause);
	free(cause);
	cause = NULL;
	ck_assert_int_eq(udiff(NULL, 2, "b\n", 2, "old", "new", 3, &out, &cause), -1);
	ck_assert_ptr_nonnull(cause);
	free(cause);
	cause = NULL;
	ck_assert_int_eq(udiff("a\n", 2, "b\n", 2, NULL, "new", 3, &out, &cause), -1);
	ck_assert_ptr_nonnull(cause);
	free(cause);

	/* NULL with length 0 is an empty text. */
	ck_assert_int_eq(udiff(NULL, 0, "b\n", 2, "old", "new", 3, &out, &cause), 0);
	ck_assert_str_eq(out, "--- old\n+++ new\n@@ -0,0 +1 @@\n+b\n");
	free(out);
	ck_assert_int_eq(udiff(NULL, 0, NULL, 0, "old", "new", 3, &out, &cause), 0);
	ck_assert_str_eq(out, "");
	free(out);
}
END_TEST

START_TEST(test_labels)
{
	char *out, *cause = NULL;

	ck_assert_int_eq(udiff("a\n", 2, "b\n", 2, "rev 3", "rev 4 (2026-11-20)", 3, &out, &cause),
	                 0);
	ck_assert_str_eq(out, "--- rev 3\n+++ rev 4 (2026-11-20)\n@@ -1 +1 @@\n-a\n+b\n");
	free(out);
}
END_TEST

/* xorshift64*: the random cases must be the same on every run. */
static uint64_t
rnd_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * UINT64_C(2685821657736338717);
}

static size_t
rnd_below(uint64_t *s, size_t n)
{
	return (size_t)(rnd_next(s) % n);
}

/* Short lines, many repeats, as in a policy file; CR and empty lines included. */
static const char *pieces[] = {"x\n",    "y\n",      "{\n",    "},\n", "}\n",  "\n",
                               "\r\n",   "a\r\n",    "z\n",    "w\n",  "v1\n", "v2\n",
                               "  ],\n", "\"k\":\n", "// c\n", "y",    "x"};

/* Appends N random lines drawn from the first NALPHA pieces (bare ones only at the end). */
static void
gen_lines(struct sbuf *sb, uint64_t *s, size_t n, size_t nalpha)
{
	size_t i;

	for (i = 0; i < n; i++)
		sbuf_adds(sb, pieces[rnd_below(s, nalpha)]);
}

/* A random text, and a variant of it: a few edits, or now and then an unrelated text. */
static void
gen_pair(uint64_t *s, size_t maxlines, struct sbuf *a, struct sbuf *b)
{
	size_t nalpha = 2 + rnd_below(s, 13), na, nedit, e, k;
	struct tline *al;

	gen_lines(a, s, rnd_below(s, maxlines + 1), nalpha);
	if (rnd_below(s, 4) == 0)
		sbuf_adds(a, pieces[15 + rnd_below(s, 2)]); /* no final newline */
	sbuf_adds(a, "");
	if (rnd_below(s, 8) == 0) {
		gen_lines(b, s, rnd_below(s, maxlines + 1), nalpha);
	} else {
		/* About NEDIT edits at random places: insert, delete or replace 1 to 3 lines. */
		na = split_lines(a->p, a->len, &al);
		nedit = rnd_below(s, 7);
		for (k = 0; k <= na;) {
			e = rnd_below(s, na + 1) < nedit ? rnd_below(s, 3) : 3;
			if (e == 0 || e == 2)
				gen_lines(b, s, 1 + rnd_below(s, 3), nalpha);
			if (e == 1 || e == 2) {
				k += 1 + rnd_below(s, 3);
				continue;
			}
			if (k < na)
				sbuf_add(b, al[k].p, al[k].len);
			k++;
		}
		free(al);
	}
	if (rnd_below(s, 4) == 0)
		sbuf_adds(b, pieces[15 + rnd_below(s, 2)]);
	sbuf_adds(b, "");
}

/* Length of a longest common subsequence of lines, by dynamic programming. */
static size_t
lcs(const char *a, size_t alen, const char *b, size_t blen)
{
	struct tline *al, *bl;
	size_t na = split_lines(a, alen, &al), nb = split_lines(b, blen, &bl), i, j, r;
	size_t *t = calloc((na + 1) * (nb + 1), sizeof *t);

	for (i = na; i-- > 0;) {
		for (j = nb; j-- > 0;) {
			if (al[i].len == bl[j].len && memcmp(al[i].p, bl[j].p, al[i].len) == 0)
				t[i * (nb + 1) + j] = 1 + t[(i + 1) * (nb + 1) + j + 1];
			else
				t[i * (nb + 1) + j] =
				    t[(i + 1) * (nb + 1) + j] > t[i * (nb + 1) + j + 1]
				        ? t[(i + 1) * (nb + 1) + j]
				        : t[i * (nb + 1) + j + 1];
		}
	}
	r = t[0];
	free(t);
	free(al);
	free(bl);
	return r;
}

static size_t
count_lines(const char *s, size_t len)
{
	struct tline *l;
	size_t n = split_lines(s, len, &l);

	free(l);
	return n;
}

#define RANDOM_BATCHES 40
#define RANDOM_PER_BATCH 100

/* Small random pairs: the diff applies, and it is minimal (checked against a plain LCS). */
START_TEST(test_random_small)
{
	uint64_t s = UINT64_C(0x9e3779b97f4a7c15) * (uint64_t)(_i + 1);
	struct sbuf a = {0}, b = {0};
	struct stats st;
	char *d;
	int n, ctx;

	for (n = 0; n < RANDOM_PER_BATCH; n++) {
		gen_pair(&s, 40, &a, &b);
		ctx = (int)rnd_below(&s, 5);
		d = roundtrip(a.p, a.len, b.p, b.len, ctx, &st);
		ck_assert_uint_eq(st.minus + st.plus, count_lines(a.p, a.len) +
		                                          count_lines(b.p, b.len) -
		                                          2 * lcs(a.p, a.len, b.p, b.len));
		ck_assert_int_eq(*d == '\0', a.len == b.len && memcmp(a.p, b.p, a.len) == 0);
		free(d);
		sbuf_free(&a);
		sbuf_free(&b);
	}
}
END_TEST

/* Larger random pairs, some past the point where the search stops being exact. */
START_TEST(test_random_large)
{
	uint64_t s = UINT64_C(0x2545f4914f6cdd1d) * (uint64_t)(_i + 1);
	struct sbuf a = {0}, b = {0};
	struct stats st;
	char *d;
	int n;

	for (n = 0; n < 4; n++) {
		gen_pair(&s, 1500, &a, &b);
		d = roundtrip(a.p, a.len, b.p, b.len, (int)rnd_below(&s, 5), &st);
		free(d);
		sbuf_free(&a);
		sbuf_free(&b);
	}
}
END_TEST

/* Two unrelated 3000-line texts over 4 lines: thousands of edits, well past the exact search. */
START_TEST(test_expensive)
{
	uint64_t s = 77;
	struct sbuf a = {0}, b = {0};
	struct stats st;
	char *d;

	gen_lines(&a, &s, 3000, 4);
	gen_lines(&b, &s, 3000, 4);
	d = roundtrip(a.p, a.len, b.p, b.len, 3, &st);
	ck_assert_uint_gt(st.minus + st.plus, 2000);
	ck_assert_uint_lt(st.minus + st.plus, 6000);
	free(d);
	sbuf_free(&a);
	sbuf_free(&b);
}
END_TEST

/* The policy-like line number I of a generated file. */
static void
add_policy_line(struct sbuf *sb, int i)
{
	if (i % 4 == 0)
		sbuf_adds(sb, "  {\n");
	else if (i % 4 == 3)
		sbuf_adds(sb, "  },\n");
	else
		sbuf_addf(sb, "    \"dst\": [\"tag:s%d:*\"],\n", i % 977);
}

/* A 20000-line policy-like file with five far-apart edits: five hunks, quickly. */
START_TEST(test_big_file)
{
	struct sbuf a = {0}, b = {0};
	struct stats st;
	char *d;
	int i;

	for (i = 0; i < 20000; i++) {
		add_policy_line(&a, i);
		if (i > 0 && i % 4000 == 0)
			sbuf_addf(&b, "    // edit %d\n", i);
		if (i != 19997)
			add_policy_line(&b, i);
	}
	d = roundtrip(a.p, a.len, b.p, b.len, 3, &st);
	ck_assert_uint_eq(st.hunks, 5);
	ck_assert_uint_eq(st.plus, 4);
	ck_assert_uint_eq(st.minus, 1);
	free(d);
	sbuf_free(&a);
	sbuf_free(&b);
}
END_TEST

#define ADD_LOOP(tc, fn, n) tcase_add_loop_test(tc, fn, 0, (int)(n))

static Suite *
udiff_suite(void)
{
	Suite *s = suite_create("udiff");
	TCase *tc;

	tc = tcase_create("format");
	ADD_LOOP(tc, test_gnu, sizeof gnu_cases / sizeof gnu_cases[0]);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_labels);
	suite_add_tcase(s, tc);

	tc = tcase_create("random");
	tcase_set_timeout(tc, 30);
	ADD_LOOP(tc, test_random_small, RANDOM_BATCHES);
	ADD_LOOP(tc, test_random_large, 10);
	tcase_add_test(tc, test_expensive);
	tcase_add_test(tc, test_big_file);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(udiff_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
