/* udiff.c: unified diffs of two texts by lines: Myers' linear-space O(ND) search, GNU format. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sbuf.h"
#include "udiff.h"

/*
 * Edit steps one search may take before it gives up on a minimal answer and splits its box at
 * the furthest point reached: time stays O((N + M) * limit) for texts that share little. The
 * limit grows like the square root of the size, as in GNU diff, from this floor.
 */
#define UDIFF_MIN_EXPENSIVE 1024

struct udiff_line {
	const char *p;
	size_t len; /* with its '\n'; only a text's last line may lack one */
	size_t id;  /* equal lines, in either text, have equal ids */
};

struct udiff_text {
	struct udiff_line *line;
	size_t n;
	char *chg; /* chg[-1 .. n]: 1 if line i is deleted (A) or inserted (B); both ends stay 0 */
};

/* One run of changes: lines [a0, a1) of A replaced by lines [b0, b1) of B. */
struct udiff_change {
	size_t a0, a1, b0, b1;
};

/* The search sees only lines that occur in both texts, by id, and maps back to line numbers. */
struct udiff_search {
	const size_t *xv, *yv;
	const size_t *xmap, *ymap;
	char *xchg, *ychg;
	ptrdiff_t *fd, *bd; /* furthest x reached on each diagonal, forwards and backwards */
	ptrdiff_t too_expensive;
};

/* Where a box is cut in two, and whether each half still deserves a minimal search. */
struct udiff_split {
	ptrdiff_t x, y;
	bool lo_minimal, hi_minimal;
};

/* Splits S into lines; the text stays borrowed. */
static void
udiff_lines(const char *s, size_t len, struct udiff_text *t)
{
	const char *nl;
	size_t n = 0, off, next;

	for (off = 0; off < len; off = next, n++) {
		nl = memchr(s + off, '\n', len - off);
		next = nl != NULL ? (size_t)(nl - s) + 1 : len;
	}
	t->n = n;
	t->line = xcalloc(n + 1, sizeof *t->line);
	t->chg = (char *)xcalloc(n + 2, 1) + 1;
	for (off = 0, n = 0; off < len; off = next, n++) {
		nl = memchr(s + off, '\n', len - off);
		next = nl != NULL ? (size_t)(nl - s) + 1 : len;
		t->line[n].p = s + off;
		t->line[n].len = next - off;
	}
}

static void
udiff_text_free(struct udiff_text *t)
{
	free(t->line);
	if (t->chg != NULL)
		free(t->chg - 1);
}

/* FNV-1a: lines are short, and a collision only costs a memcmp. */
static uint64_t
udiff_hash(const char *p, size_t len)
{
	uint64_t h = UINT64_C(14695981039346656037);
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)p[i];
		h *= UINT64_C(1099511628211);
	}
	return h;
}

/* Gives equal lines of both texts the same id; returns how many ids there are. */
static size_t
udiff_number(struct udiff_text *t[2])
{
	struct udiff_slot {
		uint64_t h;
		const struct udiff_line *first; /* NULL: empty slot */
	} * tab;
	struct udiff_line *l;
	size_t cap = 16, mask, k, f, i, nids = 0;
	uint64_t h;

	while (cap < 2 * (t[0]->n + t[1]->n))
		cap *= 2;
	mask = cap - 1;
	tab = xcalloc(cap, sizeof *tab);
	for (f = 0; f < 2; f++) {
		for (i = 0; i < t[f]->n; i++) {
			l = &t[f]->line[i];
			h = udiff_hash(l->p, l->len);
			for (k = (size_t)h & mask; tab[k].first != NULL; k = (k + 1) & mask) {
				if (tab[k].h == h && tab[k].first->len == l->len &&
				    memcmp(tab[k].first->p, l->p, l->len) == 0)
					break;
			}
			if (tab[k].first == NULL) {
				tab[k].h = h;
				tab[k].first = l;
				l->id = nids++;
			} else
				l->id = tab[k].first->id;
		}
	}
	free(tab);
	return nids;
}

/*
 * When the search took too long: split at the point that got furthest from its corner,
 * forwards or backwards, pulled back into the box where a diagonal at its edge overshot.
 */
static void
udiff_giveup(const struct udiff_search *s, ptrdiff_t xoff, ptrdiff_t xlim, ptrdiff_t yoff,
             ptrdiff_t ylim, ptrdiff_t fmin, ptrdiff_t fmax, ptrdiff_t bmin, ptrdiff_t bmax,
             struct udiff_split *part)
{
	ptrdiff_t d, x, y, fbest = -1, fx = xoff, bbest = PTRDIFF_MAX, bx = xlim;

	for (d = fmax; d >= fmin; d -= 2) {
		x = s->fd[d] < xlim ? s->fd[d] : xlim;
		y = x - d;
		if (y > ylim) {
			x = ylim + d;
			y = ylim;
		}
		if (x + y > fbest) {
			fbest = x + y;
			fx = x;
		}
	}
	for (d = bmax; d >= bmin; d -= 2) {
		x = s->bd[d] > xoff ? s->bd[d] : xoff;
		y = x - d;
		if (y < yoff) {
			x = yoff + d;
			y = yoff;
		}
		if (x + y < bbest) {
			bbest = x + y;
			bx = x;
		}
	}
	/* The half behind the chosen point is known to be cheap: search it exactly. */
	if ((xlim + ylim) - bbest < fbest - (xoff + yoff)) {
		part->x = fx;
		part->y = fbest - fx;
		part->lo_minimal = true;
		part->hi_minimal = false;
	} else {
		part->x = bx;
		part->y = bbest - bx;
		part->lo_minimal = false;
		part->hi_minimal = true;
	}
}

/*
 * Finds the middle snake of box [xoff, xlim) x [yoff, ylim) (Myers 1986, section 4b): forward
 * and backward searches one edit step at a time until they meet on a diagonal. Both sides are
 * non-empty and their first and last elements differ.
 */
static void
udiff_find_split(const struct udiff_search *s, ptrdiff_t xoff, ptrdiff_t xlim, ptrdiff_t yoff,
                 ptrdiff_t ylim, bool minimal, struct udiff_split *part)
{
	ptrdiff_t *fd = s->fd, *bd = s->bd;
	const size_t *xv = s->xv, *yv = s->yv;
	const ptrdiff_t dmin = xoff - ylim, dmax = xlim - yoff;
	const ptrdiff_t fmid = xoff - yoff, bmid = xlim - ylim;
	const bool odd = ((fmid - bmid) & 1) != 0;
	ptrdiff_t fmin = fmid, fmax = fmid, bmin = bmid, bmax = bmid;
	ptrdiff_t cost, d, x, y, x0;

	fd[fmid] = xoff;
	bd[bmid] = xlim;
	for (cost = 1;; cost++) {
		/* Widen the band of diagonals while it fits the box; a fresh neighbour never wins.
		 */
		if (fmin > dmin)
			fd[--fmin - 1] = -1;
		else
			fmin++;
		if (fmax < dmax)
			fd[++fmax + 1] = -1;
		else
			fmax--;
		for (d = fmax; d >= fmin; d -= 2) {
			x0 = fd[d - 1] >= fd[d + 1] ? fd[d - 1] + 1 : fd[d + 1];
			for (x = x0, y = x0 - d; x < xlim && y < ylim && xv[x] == yv[y]; x++, y++)
				;
			fd[d] = x;
			if (odd && bmin <= d && d <= bmax && bd[d] <= x) {
				part->x = x;
				part->y = y;
				part->lo_minimal = part->hi_minimal = true;
				return;
			}
		}

		if (bmin > dmin)
			bd[--bmin - 1] = PTRDIFF_MAX;
		else
			bmin++;
		if (bmax < dmax)
			bd[++bmax + 1] = PTRDIFF_MAX;
		else
			bmax--;
		for (d = bmax; d >= bmin; d -= 2) {
			x0 = bd[d - 1] < bd[d + 1] ? bd[d - 1] : bd[d + 1] - 1;
			for (x = x0, y = x0 - d; x > xoff && y > yoff && xv[x - 1] == yv[y - 1];
			     x--, y--)
				;
			bd[d] = x;
			if (!odd && fmin <= d && d <= fmax && x <= fd[d]) {
				part->x = x;
				part->y = y;
				part->lo_minimal = part->hi_minimal = true;
				return;
			}
		}

		if (!minimal && cost >= s->too_expensive) {
			udiff_giveup(s, xoff, xlim, yoff, ylim, fmin, fmax, bmin, bmax, part);
			return;
		}
	}
}

/* Marks the changes that turn box [xoff, xlim) of X into box [yoff, ylim) of Y. */
static void
udiff_compare(const struct udiff_search *s, ptrdiff_t xoff, ptrdiff_t xlim, ptrdiff_t yoff,
              ptrdiff_t ylim, bool minimal)
{
	struct udiff_split part;

	for (;;) {
		while (xoff < xlim && yoff < ylim && s->xv[xoff] == s->yv[yoff]) {
			xoff++;
			yoff++;
		}
		while (xoff < xlim && yoff < ylim && s->xv[xlim - 1] == s->yv[ylim - 1]) {
			xlim--;
			ylim--;
		}
		if (xoff == xlim || yoff == ylim)
			break;
		udiff_find_split(s, xoff, xlim, yoff, ylim, minimal, &part);
		/* A cut that does not shrink the box would never end: replace the block whole. */
		if (part.x < xoff || part.x > xlim || part.y < yoff || part.y > ylim ||
		    part.x + part.y == xoff + yoff || part.x + part.y == xlim + ylim)
			break;
		/* Recurse into the smaller half and loop on the other: the stack stays O(log N). */
		if ((part.x - xoff) + (part.y - yoff) <= (xlim - part.x) + (ylim - part.y)) {
			udiff_compare(s, xoff, part.x, yoff, part.y, part.lo_minimal);
			xoff = part.x;
			yoff = part.y;
			minimal = part.hi_minimal;
		} else {
			udiff_compare(s, part.x, xlim, part.y, ylim, part.hi_minimal);
			xlim = part.x;
			ylim = part.y;
			minimal = part.lo_minimal;
		}
	}
	for (; xoff < xlim; xoff++)
		s->xchg[s->xmap[xoff]] = 1;
	for (; yoff < ylim; yoff++)
		s->ychg[s->ymap[yoff]] = 1;
}

/*
 * Fills a->chg and b->chg. A line found in only one text cannot be kept, so it is marked at
 * once and left out of the search: a rewritten file then costs next to nothing.
 */
static void
udiff_run(struct udiff_text *a, struct udiff_text *b, size_t nids)
{
	struct udiff_search s;
	char *in_a = xcalloc(nids + 1, 1), *in_b = xcalloc(nids + 1, 1);
	size_t *xv = xcalloc(a->n + 1, sizeof *xv), *xmap = xcalloc(a->n + 1, sizeof *xmap);
	size_t *yv = xcalloc(b->n + 1, sizeof *yv), *ymap = xcalloc(b->n + 1, sizeof *ymap);
	ptrdiff_t *fbuf, *bbuf, lim;
	size_t i, nx = 0, ny = 0, v;

	for (i = 0; i < a->n; i++)
		in_a[a->line[i].id] = 1;
	for (i = 0; i < b->n; i++)
		in_b[b->line[i].id] = 1;
	for (i = 0; i < a->n; i++) {
		if (!in_b[a->line[i].id]) {
			a->chg[i] = 1;
			continue;
		}
		xv[nx] = a->line[i].id;
		xmap[nx++] = i;
	}
	for (i = 0; i < b->n; i++) {
		if (!in_a[b->line[i].id]) {
			b->chg[i] = 1;
			continue;
		}
		yv[ny] = b->line[i].id;
		ymap[ny++] = i;
	}

	/* Diagonals run from -ny to nx, with one sentinel beyond each end. */
	fbuf = xcalloc(nx + ny + 3, sizeof *fbuf);
	bbuf = xcalloc(nx + ny + 3, sizeof *bbuf);
	for (lim = 1, v = nx + ny; v != 0; v >>= 2)
		lim <<= 1;
	s.xv = xv;
	s.yv = yv;
	s.xmap = xmap;
	s.ymap = ymap;
	s.xchg = a->chg;
	s.ychg = b->chg;
	s.fd = fbuf + ny + 1;
	s.bd = bbuf + ny + 1;
	s.too_expensive = lim < UDIFF_MIN_EXPENSIVE ? UDIFF_MIN_EXPENSIVE : lim;
	udiff_compare(&s, 0, (ptrdiff_t)nx, 0, (ptrdiff_t)ny, false);

	free(fbuf);
	free(bbuf);
	free(xv);
	free(yv);
	free(xmap);
	free(ymap);
	free(in_a);
	free(in_b);
}

/*
 * Slides each run of changes in F over equal neighbouring lines, which keeps the script as
 * small, so that runs merge; then leaves it as low as it goes, or level with a change in the
 * other text O, so that it reads as one block. An added JSON object then shows as "+  {" ..
 * "+  }," rather than "+  }," .. "+  {". GNU diff does the same.
 */
static void
udiff_shift(struct udiff_text *f, const struct udiff_text *o)
{
	const struct udiff_line *l = f->line;
	const char *oc = o->chg;
	char *c = f->chg;
	size_t n = f->n, i = 0, j = 0, start, len, corr;

	for (;;) {
		/* While line i is kept, O's line j is the one it is kept as. */
		while (i < n && !c[i]) {
			while (oc[j])
				j++;
			i++;
			j++;
		}
		if (i == n)
			break;
		start = i;
		while (c[i])
			i++;
		while (oc[j])
			j++;

		do {
			len = i - start;
			while (start > 0 && l[start - 1].id == l[i - 1].id) {
				c[--start] = 1;
				c[--i] = 0;
				while (start > 0 && c[start - 1])
					start--;
				do
					j--;
				while (oc[j]);
			}
			corr = oc[j - 1] ? i : n; /* oc[-1] is 0 */
			while (i < n && l[start].id == l[i].id) {
				c[start++] = 0;
				c[i++] = 1;
				while (c[i])
					i++;
				j++;
				while (oc[j]) {
					j++;
					corr = i;
				}
			}
		} while (len != i - start);

		while (corr < i) {
			c[--start] = 1;
			c[--i] = 0;
			do
				j--;
			while (oc[j]);
		}
	}
}

/* Collects the runs of changes in order; returns a new array of *n entries. */
static struct udiff_change *
udiff_changes(const struct udiff_text *a, const struct udiff_text *b, size_t *n)
{
	struct udiff_change *ch = NULL;
	size_t i = 0, j = 0, cap = 0;

	*n = 0;
	while (i < a->n || j < b->n) {
		if (!a->chg[i] && !b->chg[j]) {
			i++;
			j++;
			continue;
		}
		if (*n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			ch = xrealloc(ch, cap * sizeof *ch);
		}
		ch[*n].a0 = i;
		ch[*n].b0 = j;
		while (a->chg[i])
			i++;
		while (b->chg[j])
			j++;
		ch[*n].a1 = i;
		ch[*n].b1 = j;
		(*n)++;
	}
	return ch;
}

static void
udiff_add_line(struct sbuf *sb, char tag, const struct udiff_line *l)
{
	sbuf_addc(sb, tag);
	sbuf_add(sb, l->p, l->len);
	if (l->p[l->len - 1] != '\n')
		sbuf_adds(sb, "\n\\ No newline at end of file\n");
}

/* GNU's numbering: "l" for one line, "l,0" with l the line before for none, else "l,s". */
static void
udiff_add_range(struct sbuf *sb, size_t start, size_t count)
{
	if (count == 1)
		sbuf_addf(sb, "%zu", start + 1);
	else if (count == 0)
		sbuf_addf(sb, "%zu,0", start);
	else
		sbuf_addf(sb, "%zu,%zu", start + 1, count);
}

/* Writes the hunks: changes at most 2 * CTX kept lines apart share one. */
static void
udiff_add_hunks(struct sbuf *sb, const struct udiff_text *a, const struct udiff_text *b,
                const struct udiff_change *ch, size_t nch, size_t ctx)
{
	size_t g, h, k, i, j, before, after, alo, ahi, blo, bhi;

	for (g = 0; g < nch; g = h) {
		for (h = g + 1; h < nch && ch[h].a0 - ch[h - 1].a1 <= 2 * ctx; h++)
			;
		/* Kept lines pair one to one, so context is as long on both sides. */
		before = ch[g].a0 < ctx ? ch[g].a0 : ctx;
		after = a->n - ch[h - 1].a1 < ctx ? a->n - ch[h - 1].a1 : ctx;
		alo = ch[g].a0 - before;
		ahi = ch[h - 1].a1 + after;
		blo = ch[g].b0 - before;
		bhi = ch[h - 1].b1 + after;

		sbuf_adds(sb, "@@ -");
		udiff_add_range(sb, alo, ahi - alo);
		sbuf_adds(sb, " +");
		udiff_add_range(sb, blo, bhi - blo);
		sbuf_adds(sb, " @@\n");
		for (i = alo, k = g; k < h; k++) {
			for (; i < ch[k].a0; i++)
				udiff_add_line(sb, ' ', &a->line[i]);
			for (; i < ch[k].a1; i++)
				udiff_add_line(sb, '-', &a->line[i]);
			for (j = ch[k].b0; j < ch[k].b1; j++)
				udiff_add_line(sb, '+', &b->line[j]);
		}
		for (; i < ahi; i++)
			udiff_add_line(sb, ' ', &a->line[i]);
	}
}

int
udiff(const char *a, size_t alen, const char *b, size_t blen, const char *label_a,
      const char *label_b, int context, char **out, char **cause)
{
	struct udiff_text ta, tb, *t[2] = {&ta, &tb};
	struct udiff_change *ch;
	struct sbuf sb;
	size_t nch;

	*out = NULL;
	if (context < 0) {
		*cause = xasprintf("negative context: %d", context);
		return -1;
	}
	if ((a == NULL && alen > 0) || (b == NULL && blen > 0) || label_a == NULL ||
	    label_b == NULL) {
		*cause = xasprintf("udiff: missing text or label");
		return -1;
	}
	if (alen == blen && (alen == 0 || memcmp(a, b, alen) == 0)) {
		*out = xstrdup("");
		return 0;
	}

	udiff_lines(a, alen, &ta);
	udiff_lines(b, blen, &tb);
	udiff_run(&ta, &tb, udiff_number(t));
	udiff_shift(&ta, &tb);
	udiff_shift(&tb, &ta);
	ch = udiff_changes(&ta, &tb, &nch);

	sbuf_init(&sb);
	sbuf_addf(&sb, "--- %s\n+++ %s\n", label_a, label_b);
	udiff_add_hunks(&sb, &ta, &tb, ch, nch, (size_t)context);
	*out = sbuf_steal(&sb);

	free(ch);
	udiff_text_free(&ta);
	udiff_text_free(&tb);
	return 0;
}
