/* bench_ingest.c: the cost of ingesting one devices poll, as a ratio to jansson's bare parse. */
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

#include "hist.h"
#include "log.h"
#include "simgen.h"
#include "store.h"
#include "tstime.h"

#define INGEST_TAILNET "bench"
#define INGEST_MAP_MAX ((size_t)8 << 30)
#define INGEST_POLL_STEP (5 * 60 * TSTIME_SEC)
/* The daemon's parse flags (daemon/poller.c), so that the baseline parses as it does. */
#define INGEST_JSON_FLAGS JSON_REJECT_DUPLICATES

/* What each round measures, in order; the bare parse is the baseline of the others. */
enum ingest_what { INGEST_PARSE, INGEST_UNCHANGED, INGEST_STABLE1, INGEST_CHURN, INGEST__N };

static const char *const ingest_names[INGEST__N] = {
    "bare parse (json_loadb + json_decref)",
    "ingest, unchanged poll",
    "ingest, 1% of devices retagged",
    "ingest, lastSeen changed on all devices",
};

struct ingest {
	json_t *body; /* {"devices":[...]}: the tailnet as the API shows it now */
	json_t *devs; /* borrowed from body */
	char *text;   /* body serialised (malloc'd) */
	size_t len;
	struct store *st;
	tstime_t t; /* the last poll's time */
	struct hist_policy pol;
	double *ms[INGEST__N];    /* one sample per round */
	double *wrote[INGEST__N]; /* bytes written to storage by each poll, per round */
};

static double
ingest_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int
ingest_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double
ingest_median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), ingest_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* This process's wchar (/proc/self/io): the bytes it handed to write(2) and its kin, which
 * around a poll are the commit's pages (LMDB writes them with pwrite and writev). Not
 * write_bytes: on ext4 that moves with the kernel's writeback of earlier commits, a poll's
 * figure then says little about that poll. -1 where the kernel does not say. */
static double
ingest_write_bytes(void)
{
	FILE *f = fopen("/proc/self/io", "r");
	char line[128];
	unsigned long long v;
	double out = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "wchar: %llu", &v) == 1)
			out = (double)v;
	fclose(f);
	return out;
}

/* Re-serialises the body after a change, as the API would answer the next poll. */
static void
ingest_serialise(struct ingest *in)
{
	free(in->text);
	if ((in->text = json_dumps(in->body, JSON_COMPACT)) == NULL)
		fatalx("cannot serialise the devices body");
	in->len = strlen(in->text);
}

static double
ingest_parse_once(struct ingest *in)
{
	json_error_t jerr;
	double t0 = ingest_now_ms();
	json_t *j = json_loadb(in->text, in->len, INGEST_JSON_FLAGS, &jerr);

	if (j == NULL)
		fatalx("parse: %s", jerr.text);
	json_decref(j);
	return ingest_now_ms() - t0;
}

/* One poll's ingest of the current text, timed, as the daemon does it: the answer's bytes
 * applied in one write txn (scan, parse what changed, diff, commit). */
static double
ingest_apply_once(struct ingest *in, struct hist_poll_result *res, double *wrote)
{
	char *cause = NULL;
	double t0, w0 = ingest_write_bytes(), w1, ms;

	in->t += INGEST_POLL_STEP;
	t0 = ingest_now_ms();
	if (hist_devices_apply_raw(in->st, INGEST_TAILNET, in->t, in->text, in->len, &in->pol, res,
	                           &cause) == -1)
		fatalx("apply: %s", cause);
	ms = ingest_now_ms() - t0;
	w1 = ingest_write_bytes();
	if (wrote != NULL)
		*wrote = w0 < 0 || w1 < 0 ? -1 : w1 - w0;
	return ms;
}

/* Devices with index i % 100 == SLICE get a new tag set: 1% of the tailnet changes a stable
 * field, and the next round changes another 1%. */
static void
ingest_retag(struct ingest *in, size_t round)
{
	size_t i, n = json_array_size(in->devs);
	char tag[32];

	snprintf(tag, sizeof(tag), "tag:bench%zu", round);
	for (i = round % 100; i < n; i += 100)
		json_object_set_new(json_array_get(in->devs, i), "tags",
		                    json_pack("[ss]", "tag:server", tag));
}

/* Every device was seen again at the poll's time: only volatile state changes. */
static void
ingest_churn(struct ingest *in, tstime_t seen)
{
	char buf[TSTIME_STRLEN];
	size_t i, n = json_array_size(in->devs);

	tstime_format(seen, buf, sizeof(buf));
	for (i = 0; i < n; i++)
		json_object_set_new(json_array_get(in->devs, i), "lastSeen", json_string(buf));
}

static void
ingest_check(const char *what, const struct hist_poll_result *res, size_t changed, size_t vol_min)
{
	if (res->held || res->created != 0 || res->deleted != 0 || res->changed != changed ||
	    res->vol_updates < vol_min)
		fatalx("%s: unexpected result: created %zu changed %zu (expected %zu) deleted %zu "
		       "volatile %zu held %d",
		       what, res->created, res->changed, changed, res->deleted, res->vol_updates,
		       res->held);
}

static void
ingest_round(struct ingest *in, size_t r, size_t ndev)
{
	struct hist_poll_result res;

	in->ms[INGEST_PARSE][r] = ingest_parse_once(in);
	in->ms[INGEST_UNCHANGED][r] = ingest_apply_once(in, &res, &in->wrote[INGEST_UNCHANGED][r]);
	ingest_check("unchanged poll", &res, 0, 0);
	if (res.vol_updates != 0)
		fatalx("unchanged poll: %zu volatile updates", res.vol_updates);

	ingest_retag(in, r);
	ingest_serialise(in);
	in->ms[INGEST_STABLE1][r] = ingest_apply_once(in, &res, &in->wrote[INGEST_STABLE1][r]);
	ingest_check("retag poll", &res, (ndev + 99 - r % 100) / 100, 0);

	ingest_churn(in, in->t + INGEST_POLL_STEP);
	ingest_serialise(in);
	in->ms[INGEST_CHURN][r] = ingest_apply_once(in, &res, &in->wrote[INGEST_CHURN][r]);
	ingest_check("churn poll", &res, 0, ndev);
}

static int
ingest_rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	if (remove(path) == -1)
		log_warn("remove %s", path);
	return 0;
}

static void
ingest_usage(void)
{
	fprintf(stderr, "usage: bench_ingest [-n DEVICES] [-r ROUNDS]\n");
	exit(2);
}

static size_t
ingest_number(const char *s, size_t min, size_t max)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		ingest_usage();
	return (size_t)v;
}

int
main(int argc, char **argv)
{
	struct ingest in = {.pol = {.mass_delete_percent = 50, .max_gap = 3 * INGEST_POLL_STEP}};
	struct hist_poll_result res;
	const char *tmp = getenv("TMPDIR");
	char dir[PATH_MAX], *cause = NULL;
	size_t ndev = 10000, rounds = 9, r, w;
	double med[INGEST__N], wmed[INGEST__N] = {0}, first;
	uint64_t first_used, used, mapsize;
	int ch;

	hist_policy_defaults(&in.pol); /* the daemon's expiry thresholds: the same work */
	log_init("bench_ingest", 0);
	while ((ch = getopt(argc, argv, "n:r:")) != -1) {
		switch (ch) {
		case 'n':
			ndev = ingest_number(optarg, 1, SIMGEN_MAX_DEVICES);
			break;
		case 'r':
			rounds = ingest_number(optarg, 1, 1000);
			break;
		default:
			ingest_usage();
		}
	}
	if (optind != argc)
		ingest_usage();

	if ((in.devs = simgen_devices(ndev, 1)) == NULL)
		fatalx("cannot generate %zu devices", ndev);
	in.body = json_pack("{s:o}", "devices", in.devs);
	ingest_serialise(&in);
	for (w = 0; w < INGEST__N; w++) {
		in.ms[w] = xcalloc(rounds, sizeof(double));
		in.wrote[w] = xcalloc(rounds, sizeof(double));
	}

	snprintf(dir, sizeof(dir), "%s/tsinv-bench-ingest.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		fatal("mkdtemp %s", dir);
	if (store_open(dir, INGEST_MAP_MAX, &in.st, &cause) == -1)
		fatalx("store: %s", cause);

	/* The first poll creates everything: timed for context, not part of the figures. */
	in.t = tstime_now();
	first = ingest_apply_once(&in, &res, NULL);
	if (res.created != ndev)
		fatalx("first poll created %zu devices of %zu", res.created, ndev);
	store_sizes(in.st, &first_used, &mapsize);

	/* Rounds interleave the baseline with the measured polls, so that a noisy neighbour
	 * slows both alike. Each round's unchanged poll repeats the previous round's last body. */
	for (r = 0; r < rounds; r++)
		ingest_round(&in, r, ndev);
	store_sizes(in.st, &used, &mapsize);

	printf("devices: %zu; body: %.1f MB; rounds: %zu (median of each)\n", ndev,
	       (double)in.len / 1e6, rounds);
	printf("first poll (creates every device, not in the ratios): %.1f ms\n\n", first);
	printf("%-42s %10s %8s\n", "what", "median ms", "ratio");
	for (w = 0; w < INGEST__N; w++)
		med[w] = ingest_median(in.ms[w], rounds);
	for (w = 0; w < INGEST__N; w++)
		printf("%-42s %10.1f %7.2fx\n", ingest_names[w], med[w],
		       med[w] / med[INGEST_PARSE]);
	/* Bytes written, in a table of their own (bench/run reads the first by its last column). */
	printf("\n%-42s %10s %8s\n", "written by the commit per poll", "median MB", "/ body");
	for (w = INGEST_UNCHANGED; w < INGEST__N; w++) {
		wmed[w] = ingest_median(in.wrote[w], rounds);
		printf("written, %-33s %10.2f %7.3fx\n", ingest_names[w] + strlen("ingest, "),
		       wmed[w] / 1e6, wmed[w] / (double)in.len);
	}
	printf("\nstore: %.1f MiB used after the first poll, %.1f MiB after %zu polls (map %.0f "
	       "MiB)\n",
	       (double)first_used / (1 << 20), (double)used / (1 << 20), 1 + 3 * rounds,
	       (double)mapsize / (1 << 20));
	/* One machine-readable line for bench/run's summary. */
	printf("RESULT ingest_unchanged_ratio=%.2f parse_ms=%.1f unchanged_ms=%.1f "
	       "store_first_bytes=%llu unchanged_written_ratio=%.4f retag_written_ratio=%.4f "
	       "churn_written_ratio=%.4f\n",
	       med[INGEST_UNCHANGED] / med[INGEST_PARSE], med[INGEST_PARSE], med[INGEST_UNCHANGED],
	       (unsigned long long)first_used, wmed[INGEST_UNCHANGED] / (double)in.len,
	       wmed[INGEST_STABLE1] / (double)in.len, wmed[INGEST_CHURN] / (double)in.len);

	store_close(in.st);
	if (nftw(dir, ingest_rm_cb, 16, FTW_DEPTH | FTW_PHYS) == -1)
		log_warn("cannot remove %s", dir);
	for (w = 0; w < INGEST__N; w++) {
		free(in.ms[w]);
		free(in.wrote[w]);
	}
	free(in.text);
	json_decref(in.body);
	return 0;
}
