/* bench_audit.c: the cost of the audit log's backfill (100k entries in one window), as a ratio
 * to jansson's bare parse of the same bytes. */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "audit.h"
#include "hist.h"
#include "log.h"
#include "sbuf.h"
#include "simaudit.h"
#include "simgen.h"
#include "store.h"
#include "tstime.h"
#include "xmalloc.h"

#define AUDIT_B_TAILNET "bench"
#define AUDIT_B_MAP_MAX ((size_t)8 << 30)
#define AUDIT_B_DEVICES 10000
/* The daemon's parse flags (audit_apply), so that the baseline parses as it does. */
#define AUDIT_B_JSON_FLAGS JSON_REJECT_DUPLICATES

enum audit_b_what { AUDIT_B_PARSE, AUDIT_B_BACKFILL, AUDIT_B_REPEAT, AUDIT_B__N };

static const char *const audit_b_names[AUDIT_B__N] = {
    "bare parse (json_loadb + json_decref)",
    "backfill: every entry new",
    "the same window again: every entry known",
};

static double
audit_b_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int
audit_b_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double
audit_b_median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), audit_b_cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int
audit_b_rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	if (remove(path) == -1)
		log_warn("remove %s", path);
	return 0;
}

static void
audit_b_usage(void)
{
	fprintf(stderr, "usage: bench_audit [-n ENTRIES] [-r ROUNDS]\n");
	exit(2);
}

static size_t
audit_b_number(const char *s, size_t min, size_t max)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		audit_b_usage();
	return (size_t)v;
}

/* The answer of one window holding N generated entries over the 90 days before NOW, as the API
 * sends it ({"version","tailnet","logs":[...]}, compact): malloc'd, *len. */
static char *
audit_b_answer(size_t n, tstime_t now, json_t *devices, size_t *len)
{
	int64_t to = (int64_t)now * 1000, from = to - (int64_t)89 * 86400 * 1000000000;
	int64_t step = (to - from) / (int64_t)n;
	struct sbuf sb;

	sbuf_init(&sb);
	sbuf_adds(&sb, "{\"version\":\"1.1\",\"tailnet\":\"" AUDIT_B_TAILNET "\",\"logs\":[");
	for (size_t i = 0; i < n; i++) {
		json_t *e = simaudit_generate_entry(i, from + (int64_t)i * step, devices);
		char *text = json_dumps(e, JSON_COMPACT);

		if (i > 0)
			sbuf_addc(&sb, ',');
		sbuf_adds(&sb, text);
		free(text);
		json_decref(e);
	}
	sbuf_adds(&sb, "]}");
	*len = sb.len;
	return sbuf_steal(&sb);
}

/* A fresh store in DIR holding a first devices poll at T (the devices the entries name). */
static struct store *
audit_b_store(const char *dir, json_t *devices, tstime_t t, const struct hist_policy *pol)
{
	struct hist_poll_result res = {0};
	struct store *st;
	char *cause = NULL;
	json_t *body = json_pack("{s:O}", "devices", devices);

	if (store_open(dir, AUDIT_B_MAP_MAX, &st, &cause) == -1)
		fatalx("store: %s", cause);
	if (hist_devices_apply(st, AUDIT_B_TAILNET, t, body, pol, &res, &cause) == -1)
		fatalx("devices poll: %s", cause);
	json_decref(body);
	return st;
}

static double
audit_b_apply(struct store *st, tstime_t start, tstime_t end, const char *text, size_t len,
              const struct hist_policy *pol, size_t want_created)
{
	struct hist_poll_result res = {0};
	char *cause = NULL;
	double t0 = audit_b_now_ms();

	if (audit_apply(st, AUDIT_B_TAILNET, start, end, text, len, pol, &res, &cause) == -1)
		fatalx("audit_apply: %s", cause);
	t0 = audit_b_now_ms() - t0;
	if (res.created != want_created)
		fatalx("audit_apply stored %zu entries, not %zu", res.created, want_created);
	return t0;
}

int
main(int argc, char **argv)
{
	struct hist_policy pol = {.mass_delete_percent = 50, .max_gap = 3600 * TSTIME_SEC};
	const char *tmp = getenv("TMPDIR");
	char dir[PATH_MAX], *text;
	size_t n = 100000, rounds = 3, len, r, w;
	double *ms[AUDIT_B__N], med[AUDIT_B__N];
	uint64_t used = 0, mapsize;
	tstime_t now = tstime_now();
	json_t *devices;
	int ch;

	hist_policy_defaults(&pol);
	log_init("bench_audit", 0);
	while ((ch = getopt(argc, argv, "n:r:")) != -1) {
		switch (ch) {
		case 'n':
			n = audit_b_number(optarg, 1, 10000000);
			break;
		case 'r':
			rounds = audit_b_number(optarg, 1, 100);
			break;
		default:
			audit_b_usage();
		}
	}
	if (optind != argc)
		audit_b_usage();
	if ((devices = simgen_devices(AUDIT_B_DEVICES, 1)) == NULL)
		fatalx("cannot generate the devices");
	text = audit_b_answer(n, now, devices, &len);
	for (w = 0; w < AUDIT_B__N; w++)
		ms[w] = xcalloc(rounds, sizeof(double));

	/* An untimed parse first: the allocator's first growth is no part of either figure. */
	{
		json_t *j = json_loadb(text, len, AUDIT_B_JSON_FLAGS, NULL);

		if (j == NULL)
			fatalx("the generated answer does not parse");
		json_decref(j);
	}
	/* Each round: the bare parse, then a backfill into a new store (its devices recorded
	 * first, untimed) and the same window again, back to back so that noise hits all alike. */
	for (r = 0; r < rounds; r++) {
		struct store *st;
		json_error_t jerr;
		json_t *j;
		double t0 = audit_b_now_ms();

		if ((j = json_loadb(text, len, AUDIT_B_JSON_FLAGS, &jerr)) == NULL)
			fatalx("parse: %s", jerr.text);
		json_decref(j);
		ms[AUDIT_B_PARSE][r] = audit_b_now_ms() - t0;

		snprintf(dir, sizeof(dir), "%s/tsinv-bench-audit.XXXXXX",
		         tmp && *tmp ? tmp : "/tmp");
		if (mkdtemp(dir) == NULL)
			fatal("mkdtemp %s", dir);
		st = audit_b_store(dir, devices, now - 90 * 86400 * TSTIME_SEC, &pol);
		ms[AUDIT_B_BACKFILL][r] =
		    audit_b_apply(st, now - 90 * 86400 * TSTIME_SEC, now, text, len, &pol, n);
		ms[AUDIT_B_REPEAT][r] = audit_b_apply(st, now - 90 * 86400 * TSTIME_SEC,
		                                      now + TSTIME_SEC, text, len, &pol, 0);
		store_sizes(st, &used, &mapsize);
		store_close(st);
		if (nftw(dir, audit_b_rm_cb, 16, FTW_DEPTH | FTW_PHYS) == -1)
			log_warn("cannot remove %s", dir);
	}

	printf("entries: %zu in one window; answer: %.1f MB; rounds: %zu (median of each)\n", n,
	       (double)len / 1e6, rounds);
	printf("%-44s %10s %8s\n", "what", "median ms", "ratio");
	for (w = 0; w < AUDIT_B__N; w++)
		med[w] = audit_b_median(ms[w], rounds);
	for (w = 0; w < AUDIT_B__N; w++)
		printf("%-44s %10.1f %7.2fx\n", audit_b_names[w], med[w],
		       med[w] / med[AUDIT_B_PARSE]);
	printf("\nstore after the backfill: %.1f MiB used (%zu devices, %zu entries)\n",
	       (double)used / (1 << 20), (size_t)AUDIT_B_DEVICES, n);
	printf("RESULT audit_backfill_ratio=%.2f audit_repeat_ratio=%.2f parse_ms=%.1f "
	       "backfill_ms=%.1f repeat_ms=%.1f\n",
	       med[AUDIT_B_BACKFILL] / med[AUDIT_B_PARSE], med[AUDIT_B_REPEAT] / med[AUDIT_B_PARSE],
	       med[AUDIT_B_PARSE], med[AUDIT_B_BACKFILL], med[AUDIT_B_REPEAT]);
	for (w = 0; w < AUDIT_B__N; w++)
		free(ms[w]);
	free(text);
	json_decref(devices);
	return 0;
}
