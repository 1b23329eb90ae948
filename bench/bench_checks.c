/* bench_checks.c: evaluating every compliance check on a large tailnet, as a ratio to one
 * unchanged devices ingest of the same tailnet. */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "checks-store.h"
#include "checks.h"
#include "hist.h"
#include "hujson.h"
#include "log.h"
#include "simgen.h"
#include "store.h"
#include "tstime.h"
#include "xmalloc.h"

#define BCHK_TAILNET "bench"
#define BCHK_MAP_MAX ((size_t)8 << 30)
#define BCHK_POLL_STEP (5 * 60 * TSTIME_SEC)
#define BCHK_DAY (86400 * TSTIME_SEC)

/* Fields of a device the daemon keeps as volatile state, not versions (lib/norm.c). */
static const char *const bchk_volatile[] = {"lastSeen", "connectedToControl", "updateAvailable",
                                            "clientConnectivity", NULL};

static double
bchk_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* CPU time of the process: the per-check breakdown on a busy machine. */
static double
bchk_cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int
bchk_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double
bchk_median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), bchk_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The hex sha256 of text, as the store names policy revisions. */
static void
bchk_sha256(const char *text, char hex[65])
{
	unsigned char h[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (EVP_Digest(text, strlen(text), h, &n, EVP_sha256(), NULL) != 1 || n != 32)
		fatalx("sha256 failed");
	for (unsigned int i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
}

/* Whether text parses as a policy (the bench's own generator may not go wrong quietly). */
static int
bchk_policy_check(const char *text, struct hujson_error *err)
{
	json_t *j = hujson_parse(text, strlen(text), err);

	json_decref(j);
	return j != NULL ? 0 : -1;
}

static void
bchk_time(tstime_t t, char *buf)
{
	tstime_format(t, buf, TSTIME_STRLEN);
}

/* New reference: the devices as devices.list answers, and their histories as device.get does. */
static json_t *
bchk_devices(json_t *devs, tstime_t now, json_t **histories)
{
	json_t *list = json_array(), *d;
	char from[TSTIME_STRLEN];
	size_t i;

	*histories = json_array();
	bchk_time(now - 200 * BCHK_DAY, from);
	json_array_foreach(devs, i, d)
	{
		json_t *stable = json_deep_copy(d), *vol = json_object();

		for (const char *const *f = bchk_volatile; *f != NULL; f++) {
			if (json_object_get(stable, *f) != NULL)
				json_object_set(vol, *f, json_object_get(stable, *f));
			json_object_del(stable, *f);
		}
		json_array_append_new(list, json_pack("{s:O, s:s, s:O, s:o}", "nodeId",
		                                      json_object_get(d, "nodeId"), "state", "held",
		                                      "device", stable, "volatile", vol));
		json_array_append_new(*histories,
		                      json_pack("{s:O, s:b, s:[{s:n, s:s, s:n, s:n, s:o}]}",
		                                "nodeId", json_object_get(d, "nodeId"), "deleted",
		                                0, "versions", "from_lo", "from_hi", from, "to_lo",
		                                "to_hi", "device", stable));
	}
	return list;
}

/* New reference: n keys as keys.list answers (auth keys, API tokens, OAuth clients). */
static json_t *
bchk_keys(size_t n, tstime_t now)
{
	static const char *const types[] = {"auth", "auth", "api", "client"};
	json_t *list = json_array();
	char created[TSTIME_STRLEN], expires[TSTIME_STRLEN], id[32], uid[32];

	for (size_t i = 0; i < n; i++) {
		json_t *k;

		bchk_time(now - (tstime_t)(i % 200) * BCHK_DAY, created);
		bchk_time(now + (tstime_t)(i % 120) * BCHK_DAY, expires);
		snprintf(id, sizeof id, "k%05zuCNTRL", i);
		snprintf(uid, sizeof uid, "u%04zuCNTRL", i % 600);
		k = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id", id, "keyType",
		              types[i % 4], "created", created, "expires", expires, "state",
		              "active", "userId", uid, "description", "bench key");
		if (i % 4 < 2)
			json_object_set_new(k, "capabilities",
			                    json_pack("{s:{s:{s:b, s:b, s:b, s:[s]}}}", "devices",
			                              "create", "reusable", i % 3 == 0, "ephemeral",
			                              i % 5 == 0, "preauthorized", i % 7 == 0,
			                              "tags", "tag:ci"));
		json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:n, s:n, s:n, s:o}", "id",
		                                      id, "state", "held", "from_hi", created,
		                                      "from_lo", "to_lo", "to_hi", "key", k));
	}
	return list;
}

/* New reference: users as users.list answers, and their versions. */
static json_t *
bchk_users(size_t n, json_t **histories)
{
	static const char *const roles[] = {"member", "member", "member", "admin", "auditor"};
	json_t *list = json_array();
	char id[32], login[64];

	*histories = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *u;

		snprintf(id, sizeof id, "u%04zuCNTRL", i);
		snprintf(login, sizeof login, "user%zu@example.com", i);
		u = json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", id, "loginName", login, "role",
		              roles[i % 5], "status", i % 50 == 0 ? "suspended" : "active", "type",
		              "member");
		json_array_append_new(list, json_pack("{s:s, s:s, s:n, s:O}", "id", id, "state",
		                                      "held", "to_lo", "user", u));
		json_array_append_new(*histories,
		                      json_pack("{s:s, s:[{s:s, s:n, s:n, s:o}]}", "id", id,
		                                "versions", "from_hi", "2026-01-01T00:00:00Z",
		                                "to_lo", "to_hi", "user", u));
	}
	return list;
}

/* A policy file of about target bytes: groups, acls, grants, SSH rules, tag owners, tests. */
static char *
bchk_policy_text(size_t target, int with_tests)
{
	struct sbuf sb = {0};
	size_t i;

	sbuf_adds(&sb, "{\n  // generated for bench_checks\n  \"groups\": {\n");
	for (i = 0; i < 200; i++)
		sbuf_addf(
		    &sb,
		    "    \"group:team%zu\": [\"user%zu@example.com\", \"user%zu@example.com\"],\n",
		    i, i, i + 1);
	sbuf_adds(&sb, "  },\n  \"tagOwners\": {\n");
	for (i = 0; i < 200; i++)
		sbuf_addf(&sb, "    \"tag:svc%zu\": [\"group:team%zu\"],\n", i, i);
	sbuf_adds(&sb, "  },\n  \"ssh\": [\n");
	for (i = 0; i < 200; i++)
		sbuf_addf(&sb,
		          "    {\"action\": \"%s\", \"src\": [\"group:team%zu\"], \"dst\": "
		          "[\"tag:svc%zu\"], \"users\": [\"autogroup:nonroot\", \"root\"]},\n",
		          i % 2 ? "check" : "accept", i, i);
	sbuf_adds(&sb, "  ],\n");
	if (with_tests) {
		sbuf_adds(&sb, "  \"tests\": [\n");
		for (i = 0; i < 200; i++)
			sbuf_addf(&sb,
			          "    {\"src\": \"user%zu@example.com\", \"accept\": "
			          "[\"tag:svc%zu:443\"], \"deny\": [\"tag:svc%zu:22\"]},\n",
			          i, i, (i + 1) % 200);
		sbuf_adds(&sb, "  ],\n");
	}
	sbuf_adds(&sb, "  \"grants\": [\n");
	for (i = 0; i < 500; i++)
		sbuf_addf(&sb,
		          "    {\"src\": [\"group:team%zu\"], \"dst\": [\"tag:svc%zu\"], \"ip\": "
		          "[\"tcp:443\", \"tcp:8443\"]},\n",
		          i % 200, (i * 7) % 200);
	sbuf_adds(&sb, "  ],\n  \"acls\": [\n");
	for (i = 0; sb.len < target; i++)
		sbuf_addf(&sb,
		          "    {\"action\": \"accept\", \"src\": [\"group:team%zu\", "
		          "\"user%zu@example.com\"], \"dst\": [\"tag:svc%zu:443,8443\", "
		          "\"10.%zu.%zu.0/24:*\"]}, // rule %zu\n",
		          i % 200, i % 600, (i * 3) % 200, i % 250, (i / 250) % 250, i);
	sbuf_adds(&sb, "  ],\n}\n");
	return sbuf_steal(&sb);
}

/* One unchanged devices poll, timed as bench_ingest times it: parse, apply, free. */
static double
bchk_ingest_once(struct store *st, const char *text, size_t len, tstime_t *t,
                 const struct hist_policy *pol)
{
	struct hist_poll_result res;
	json_error_t jerr;
	char *cause = NULL;
	double t0;
	json_t *j;

	*t += BCHK_POLL_STEP;
	t0 = bchk_now_ms();
	if ((j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL)
		fatalx("parse: %s", jerr.text);
	if (hist_devices_apply(st, BCHK_TAILNET, *t, j, pol, &res, &cause) == -1)
		fatalx("apply: %s", cause);
	json_decref(j);
	return bchk_now_ms() - t0;
}

/* CPU ms of one checks_run with the given options, the least of three (a busy machine). */
static double
bchk_run_min(const struct check_snapshot *snap, const struct check_opts *o, size_t *nfind)
{
	double best = -1;

	for (int k = 0; k < 3; k++) {
		double c0 = bchk_cpu_ms(), c;
		json_t *out = checks_run(snap, o);

		c = bchk_cpu_ms() - c0;
		*nfind = json_array_size(json_object_get(out, "findings"));
		json_decref(out);
		best = best < 0 || c < best ? c : best;
	}
	return best;
}

/* -v: each check alone, less the preparation every run shares, to see where time goes. */
static void
bchk_each(const struct check_snapshot *snap)
{
	struct check_opts o;
	double none, dev;
	size_t nf;

	checks_opts_init(&o);
	for (size_t i = 0; i < CHECK_COUNT; i++)
		o.disabled[i] = true;
	none = bchk_run_min(snap, &o, &nf);
	printf("%-16s %8.1f ms CPU (preparation only)\n", "none", none);
	/* TSINV-DEV-011 reads settings only: with DEV-005, the devices' one lookup pass. */
	o.disabled[check_find("TSINV-DEV-005") - check_table] = false;
	dev = bchk_run_min(snap, &o, &nf) - none;
	o.disabled[check_find("TSINV-DEV-005") - check_table] = true;
	printf("%-16s %8.1f ms CPU (the devices' lookup pass, with DEV-005)\n", "devices", dev);
	for (size_t i = 0; i < CHECK_COUNT; i++) {
		double c;

		o.disabled[i] = false;
		c = bchk_run_min(snap, &o, &nf) - none;
		printf("%-16s %8.1f ms CPU %6zu findings\n", check_table[i].id, c, nf);
		o.disabled[i] = true;
	}
}

static int
bchk_rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	if (remove(path) == -1)
		log_warn("remove %s", path);
	return 0;
}

int
main(int argc, char **argv)
{
	struct hist_policy pol = {.mass_delete_percent = 50, .max_gap = 3 * BCHK_POLL_STEP};
	size_t ndev = 10000, nkeys = 2500, rounds = 7, r, nfind = 0;
	struct check_snapshot snap = {0};
	struct check_opts opts;
	const char *tmp = getenv("TMPDIR");
	char dir[PATH_MAX], *cause = NULL, *text, *ptext[2], sha[2][65];
	double *ms_ingest, *ms_checks, *cpu_ingest, *cpu_checks, *ms_store, *cpu_store, *ms_eval,
	    *cpu_eval, mi, mc, ci, cc, ms, cs, me, ce, first;
	json_t *devs, *body, *revs;
	struct hujson_error herr;
	struct store *st;
	size_t len;
	tstime_t t;

	if (argc > 2 || (argc == 2 && strcmp(argv[1], "-v") != 0)) {
		fprintf(stderr, "usage: bench_checks [-v]\n");
		return 2;
	}
	log_init("bench_checks", 0);
	hist_policy_defaults(&pol);
	checks_opts_init(&opts);
	if ((devs = simgen_devices(ndev, 1)) == NULL)
		fatalx("cannot generate %zu devices", ndev);
	body = json_pack("{s:O}", "devices", devs);
	if ((text = json_dumps(body, JSON_COMPACT)) == NULL)
		fatalx("cannot serialise the devices body");
	len = strlen(text);

	snprintf(dir, sizeof(dir), "%s/tsinv-bench-checks.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		fatal("mkdtemp %s", dir);
	if (store_open(dir, BCHK_MAP_MAX, &st, &cause) == -1)
		fatalx("store: %s", cause);
	t = tstime_now();
	first = bchk_ingest_once(st, text, len, &t, &pol);

	/* The snapshot the daemon would build from its queries (not timed: those are queries). */
	snap.at = t;
	snap.devices = bchk_devices(devs, t, &snap.device_histories);
	snap.keys = bchk_keys(nkeys, t);
	snap.users = bchk_users(600, &snap.user_histories);
	snap.settings = json_pack("{s:b, s:b, s:i, s:b, s:b}", "devicesApprovalOn", 1,
	                          "devicesAutoUpdatesOn", 0, "devicesKeyDurationDays", 180,
	                          "httpsEnabled", 1, "networkFlowLoggingOn", 0);
	snap.dns = json_pack("{s:b, s:[s], s:{s:[s]}}", "magicDNS", 1, "nameservers", "10.0.0.53",
	                     "splitDNS", "corp.example.com", "8.8.8.8");
	snap.webhooks = json_pack("[{s:s, s:{s:[s, s]}}]", "id", "e1", "webhook", "subscriptions",
	                          "nodeCreated", "policyUpdate");
	ptext[0] = bchk_policy_text(900000, 1);
	ptext[1] = bchk_policy_text(900000, 0);
	if (bchk_policy_check(ptext[1], &herr) == -1)
		fatalx("policy: %d:%d: %s", herr.line, herr.column, herr.message);
	/* As the daemon reads them: each revision's text with its sha256 (the store's key for it),
	 * the one in force parsed through the checks' cache. */
	bchk_sha256(ptext[0], sha[0]);
	bchk_sha256(ptext[1], sha[1]);
	snap.policy = checks_policy_parse(sha[1], ptext[1], strlen(ptext[1]));
	snap.policy_sha256 = sha[1];
	revs = json_array();
	for (int i = 0; i < 2; i++) {
		char from[TSTIME_STRLEN];

		bchk_time(t - (tstime_t)(60 - 30 * i) * BCHK_DAY, from);
		json_array_append_new(revs,
		                      json_pack("{s:i, s:s, s:n, s:n, s:n}", "rev", i + 1,
		                                "from_hi", from, "from_lo", "to_lo", "to_hi"));
	}
	for (int i = 0; i < 2; i++) {
		json_object_set_new(json_array_get(revs, i), "text", json_string(ptext[i]));
		json_object_set_new(json_array_get(revs, i), "sha256", json_string(sha[i]));
	}
	snap.policy_revisions = revs;

	ms_ingest = xcalloc(rounds, sizeof(double));
	ms_checks = xcalloc(rounds, sizeof(double));
	cpu_ingest = xcalloc(rounds, sizeof(double));
	cpu_checks = xcalloc(rounds, sizeof(double));
	ms_store = xcalloc(rounds, sizeof(double));
	cpu_store = xcalloc(rounds, sizeof(double));
	ms_eval = xcalloc(rounds, sizeof(double));
	cpu_eval = xcalloc(rounds, sizeof(double));
	/* Interleaved, so that a noisy neighbour slows both alike. */
	for (r = 0; r < rounds; r++) {
		struct check_eval ev;
		json_t *out;
		double t0, c0 = bchk_cpu_ms();

		ms_ingest[r] = bchk_ingest_once(st, text, len, &t, &pol);
		cpu_ingest[r] = bchk_cpu_ms() - c0;
		/* The evaluation alone, as the daemon runs it after a poll (findings in C). */
		c0 = bchk_cpu_ms();
		t0 = bchk_now_ms();
		checks_eval(&snap, &opts, &ev);
		ms_eval[r] = bchk_now_ms() - t0;
		cpu_eval[r] = bchk_cpu_ms() - c0;
		checks_eval_free(&ev);
		c0 = bchk_cpu_ms();
		t0 = bchk_now_ms();
		out = checks_run(&snap, &opts);
		ms_checks[r] = bchk_now_ms() - t0;
		cpu_checks[r] = bchk_cpu_ms() - c0;
		nfind = json_array_size(json_object_get(out, "findings"));
		json_decref(out);
		/* What the daemon does after a poll that changed the devices: the snapshot read
		 * from the store in one transaction (here only devices were polled), then every
		 * check. */
		{
			struct store_txn *txn;
			struct checks_view v;

			c0 = bchk_cpu_ms();
			t0 = bchk_now_ms();
			if (store_read_begin(st, &txn, &cause) == -1 ||
			    checks_view_load(txn, BCHK_TAILNET, TSTIME_NONE, t, &v, &cause) == -1)
				fatalx("snapshot: %s", cause);
			out = checks_run(&v.snap, &opts);
			checks_view_free(&v);
			store_read_end(txn);
			ms_store[r] = bchk_now_ms() - t0;
			cpu_store[r] = bchk_cpu_ms() - c0;
			json_decref(out);
		}
	}
	if (argc == 2)
		bchk_each(&snap);
	mi = bchk_median(ms_ingest, rounds);
	mc = bchk_median(ms_checks, rounds);
	ci = bchk_median(cpu_ingest, rounds);
	cc = bchk_median(cpu_checks, rounds);
	ms = bchk_median(ms_store, rounds);
	cs = bchk_median(cpu_store, rounds);
	me = bchk_median(ms_eval, rounds);
	ce = bchk_median(cpu_eval, rounds);
	printf("devices: %zu; keys: %zu; users: 600; policy: %.2f MB (%zu revisions); "
	       "checks: %d; findings: %zu; rounds: %zu (median of each)\n",
	       ndev, nkeys, (double)strlen(ptext[1]) / 1e6, json_array_size(revs), CHECK_COUNT,
	       nfind, rounds);
	printf("first poll (creates every device, not in the ratio): %.1f ms\n\n", first);
	printf("%-34s %10s %8s %10s %8s\n", "what", "median ms", "ratio", "CPU ms", "ratio");
	printf("%-34s %10.1f %8s %10.1f %8s\n", "ingest, unchanged devices poll", mi, "", ci, "");
	printf("%-34s %10.1f %7.2fx %10.1f %7.2fx\n", "every check (checks_eval)", me, me / mi, ce,
	       ce / ci);
	printf("%-34s %10.1f %7.2fx %10.1f %7.2fx\n", "every check, as JSON (checks_run)", mc,
	       mc / mi, cc, cc / ci);
	printf("%-34s %10.1f %7.2fx %10.1f %7.2fx\n", "snapshot from the store + checks", ms,
	       ms / mi, cs, cs / ci);
	printf("RESULT checks_ratio=%.2f checks_cpu_ratio=%.2f checks_ms=%.1f "
	       "ingest_unchanged_ms=%.1f findings=%zu store_checks_ratio=%.2f "
	       "store_checks_cpu_ratio=%.2f eval_ratio=%.2f eval_cpu_ratio=%.2f\n",
	       mc / mi, cc / ci, mc, mi, nfind, ms / mi, cs / ci, me / mi, ce / ci);

	store_close(st);
	if (nftw(dir, bchk_rm_cb, 16, FTW_DEPTH | FTW_PHYS) == -1)
		log_warn("cannot remove %s", dir);
	free(ms_ingest);
	free(ms_checks);
	free(cpu_ingest);
	free(cpu_checks);
	free(ms_store);
	free(cpu_store);
	free(ms_eval);
	free(cpu_eval);
	free(text);
	free(ptext[0]);
	free(ptext[1]);
	json_decref(body);
	json_decref(snap.devices);
	json_decref(snap.device_histories);
	json_decref(snap.keys);
	json_decref(snap.users);
	json_decref(snap.user_histories);
	json_decref(snap.settings);
	json_decref(snap.dns);
	json_decref(snap.webhooks);
	json_decref(snap.policy);
	json_decref(revs);
	return 0;
}
