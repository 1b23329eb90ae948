/* bench_entity.c: the cost of ingesting a users, keys and policy poll, as ratios to jansson's
 * bare parse of the same answer. */
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

#include "entity.h"
#include "hist.h"
#include "log.h"
#include "sbuf.h"
#include "store.h"
#include "tstime.h"

#define BENCH_TAILNET "bench"
#define BENCH_MAP_MAX ((size_t)4 << 30)
#define BENCH_POLL_STEP (5 * 60 * TSTIME_SEC)

/* What each round measures; each ingest has its own baseline, the bare parse of its answer. */
enum bench_what {
	BENCH_USERS_PARSE,
	BENCH_USERS_UNCHANGED,
	BENCH_USERS_CHURN,
	BENCH_KEYS_PARSE,
	BENCH_KEYS_UNCHANGED,
	BENCH_POLICY_PARSE,
	BENCH_POLICY_UNCHANGED,
	BENCH__N
};

static const struct {
	const char *name;
	enum bench_what base;
} bench_rows[BENCH__N] = {
    {"users: bare parse", BENCH_USERS_PARSE},
    {"users: ingest, unchanged poll", BENCH_USERS_PARSE},
    {"users: ingest, lastSeen etc. changed on all", BENCH_USERS_PARSE},
    {"keys: bare parse", BENCH_KEYS_PARSE},
    {"keys: ingest, unchanged poll", BENCH_KEYS_PARSE},
    {"policy: bare parse of its JSON rendering", BENCH_POLICY_PARSE},
    {"policy: ingest of the HuJSON text, unchanged", BENCH_POLICY_PARSE},
};

struct bench {
	struct store *st;
	struct hist_policy pol;
	tstime_t t;
	char *users, *users2, *keys, *policy, *policy_json; /* the answers, serialised */
	double *ms[BENCH__N];
};

static double
bench_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int
bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
bench_median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), bench_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* N users as the API lists them; ROUND moves the fields that move by themselves. */
static char *
bench_users(size_t n, unsigned round)
{
	static const char *const roles[] = {"member", "admin", "it-admin", "auditor"};
	json_t *list = json_array(), *root;
	char *out;

	for (size_t i = 0; i < n; i++) {
		char id[32], login[64], seen[32];

		snprintf(id, sizeof(id), "u%07zuCNTRL", i);
		snprintf(login, sizeof(login), "user%zu@example.com", i);
		snprintf(seen, sizeof(seen), "2026-11-%02uT10:%02zu:00Z", 1 + round % 28, i % 60);
		json_array_append_new(
		    list,
		    json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:b}", "id",
		              id, "displayName", login, "loginName", login, "profilePicUrl", "",
		              "tailnetId", "T1234CNTRL", "created", "2025-01-01T00:00:00Z", "type",
		              i % 50 ? "member" : "shared", "role", roles[i % 4], "status",
		              (i + round) % 3 ? "active" : "idle", "deviceCount",
		              (int)((i + round) % 5), "lastSeen", seen, "currentlyConnected",
		              (i + round) % 2));
	}
	root = json_pack("{s:o}", "users", list);
	out = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return out;
}

/* N keys of every type, full list shape. */
static char *
bench_keys(size_t n)
{
	static const char *const types[] = {"auth", "api", "client", "federated"};
	json_t *list = json_array(), *root;
	char *out;

	for (size_t i = 0; i < n; i++) {
		char id[32], user[32], desc[48];
		json_t *k;

		snprintf(id, sizeof(id), "k%09zuCNTRL", i);
		snprintf(user, sizeof(user), "u%07zuCNTRL", i % 500);
		snprintf(desc, sizeof(desc), "key number %zu", i);
		k = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "id", id, "keyType", types[i % 4],
		              "description", desc, "created", "2026-01-01T00:00:00Z", "updated",
		              "2026-01-01T00:00:00Z", "userId", user);
		if (i % 4 < 2) {
			json_object_set_new(k, "expires", json_string("2099-01-01T00:00:00Z"));
			json_object_set_new(k, "expirySeconds", json_integer(7776000));
		}
		if (i % 4 == 0)
			json_object_set_new(k, "capabilities",
			                    json_pack("{s:{s:{s:b, s:b, s:b, s:[s, s]}}}",
			                              "devices", "create", "reusable", i % 2,
			                              "ephemeral", i % 3 == 0, "preauthorized", 1,
			                              "tags", "tag:ci", "tag:prod"));
		else
			json_object_set_new(k, "scopes",
			                    json_pack("[s, s]", "devices:core", "all:read"));
		json_array_append_new(list, k);
	}
	root = json_pack("{s:o}", "keys", list);
	out = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return out;
}

/* A policy file of N acls rules (and as many groups), commented and with trailing commas as
 * people write them; *json gets its JSON rendering, the baseline's input. */
static char *
bench_policy(size_t n, char **json)
{
	struct sbuf sb, js;

	sbuf_init(&sb);
	sbuf_init(&js);
	sbuf_adds(&sb, "// Generated for the benchmark.\n{\n\t// Teams.\n\t\"groups\": {\n");
	sbuf_adds(&js, "{\"groups\":{");
	for (size_t i = 0; i < n; i++) {
		sbuf_addf(&sb,
		          "\t\t\"group:team%zu\": [\"a%zu@example.com\", \"b%zu@example.com\"],\n",
		          i, i, i);
		sbuf_addf(&js, "%s\"group:team%zu\":[\"a%zu@example.com\",\"b%zu@example.com\"]",
		          i ? "," : "", i, i, i);
	}
	sbuf_adds(&sb, "\t},\n\t\"acls\": [\n");
	sbuf_adds(&js, "},\"acls\":[");
	for (size_t i = 0; i < n; i++) {
		sbuf_addf(
		    &sb,
		    "\t\t// team %zu reaches its servers\n\t\t{\"action\": \"accept\", \"src\": "
		    "[\"group:team%zu\"], \"dst\": [\"tag:srv%zu:22,443\"]},\n",
		    i, i, i);
		sbuf_addf(
		    &js,
		    "%s{\"action\":\"accept\",\"src\":[\"group:team%zu\"],\"dst\":[\"tag:srv%zu:"
		    "22,443\"]}",
		    i ? "," : "", i, i);
	}
	sbuf_adds(&sb, "\t],\n}\n");
	sbuf_adds(&js, "]}");
	*json = sbuf_steal(&js);
	return sbuf_steal(&sb);
}

static double
bench_parse(const char *text)
{
	json_error_t jerr;
	double t0 = bench_now_ms();
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);

	if (j == NULL)
		fatalx("parse: %s", jerr.text);
	json_decref(j);
	return bench_now_ms() - t0;
}

/* One poll of an endpoint, timed as the daemon does it: parse, apply, free. */
static double
bench_apply(struct bench *b, enum bench_what w, const char *text, struct hist_poll_result *res)
{
	json_error_t jerr;
	char *cause = NULL;
	json_t *j = NULL, *none = json_array();
	double t0;
	int rc;

	b->t += BENCH_POLL_STEP;
	t0 = bench_now_ms();
	if (w != BENCH_POLICY_UNCHANGED &&
	    (j = json_loads(text, JSON_REJECT_DUPLICATES, &jerr)) == NULL)
		fatalx("parse: %s", jerr.text);
	if (w == BENCH_KEYS_UNCHANGED)
		rc = entity_keys_apply(b->st, BENCH_TAILNET, b->t, j, none, none, &b->pol, res,
		                       &cause);
	else if (w == BENCH_POLICY_UNCHANGED)
		rc = entity_policy_apply(b->st, BENCH_TAILNET, b->t, text, strlen(text), "\"etag\"",
		                         &b->pol, res, &cause);
	else
		rc = entity_users_apply(b->st, BENCH_TAILNET, b->t, j, &b->pol, res, &cause);
	if (rc == -1)
		fatalx("apply: %s", cause);
	json_decref(j);
	json_decref(none);
	return bench_now_ms() - t0;
}

static void
bench_expect(const char *what, const struct hist_poll_result *res, size_t vol)
{
	if (res->created + res->changed + res->deleted != 0 || res->vol_updates != vol)
		fatalx("%s: %zu created, %zu changed, %zu deleted, %zu volatile (expected %zu)",
		       what, res->created, res->changed, res->deleted, res->vol_updates, vol);
}

static int
bench_rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	if (remove(path) == -1)
		log_warn("remove %s", path);
	return 0;
}

static size_t
bench_number(const char *s, size_t min, size_t max)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "usage: bench_entity [-n USERS] [-r ROUNDS]\n");
		exit(2);
	}
	return (size_t)v;
}

int
main(int argc, char **argv)
{
	struct bench b = {.pol = {.mass_delete_percent = 50, .max_gap = 3 * BENCH_POLL_STEP}};
	struct hist_poll_result res;
	const char *tmp = getenv("TMPDIR");
	char dir[PATH_MAX], *cause = NULL;
	size_t nusers = 5000, nkeys, nrules, rounds = 9, r, w;
	double med[BENCH__N];
	int ch;

	hist_policy_defaults(&b.pol);
	log_init("bench_entity", 0);
	while ((ch = getopt(argc, argv, "n:r:")) != -1) {
		if (ch == 'n')
			nusers = bench_number(optarg, 10, 1000000);
		else if (ch == 'r')
			rounds = bench_number(optarg, 1, 1000);
		else
			bench_number("", 1, 0);
	}
	nkeys = nusers / 2;
	nrules = nusers;
	b.users = bench_users(nusers, 0);
	b.users2 = bench_users(nusers, 1);
	b.keys = bench_keys(nkeys);
	b.policy = bench_policy(nrules, &b.policy_json);
	for (w = 0; w < BENCH__N; w++)
		b.ms[w] = xcalloc(rounds, sizeof(double));

	snprintf(dir, sizeof(dir), "%s/tsinv-bench-entity.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		fatal("mkdtemp %s", dir);
	if (store_open(dir, BENCH_MAP_MAX, &b.st, &cause) == -1)
		fatalx("store: %s", cause);

	/* The first polls create everything: not part of the figures. */
	b.t = tstime_now();
	bench_apply(&b, BENCH_USERS_UNCHANGED, b.users, &res);
	bench_apply(&b, BENCH_KEYS_UNCHANGED, b.keys, &res);
	bench_apply(&b, BENCH_POLICY_UNCHANGED, b.policy, &res);
	if (res.created != 1)
		fatalx("the policy was not recorded");

	/* Rounds interleave each baseline with its polls: a noisy neighbour slows both alike. */
	for (r = 0; r < rounds; r++) {
		const char *now = r % 2 ? b.users2 : b.users, *next = r % 2 ? b.users : b.users2;

		b.ms[BENCH_USERS_PARSE][r] = bench_parse(now);
		b.ms[BENCH_USERS_UNCHANGED][r] = bench_apply(&b, BENCH_USERS_UNCHANGED, now, &res);
		bench_expect("users, unchanged", &res, 0);
		b.ms[BENCH_USERS_CHURN][r] = bench_apply(&b, BENCH_USERS_CHURN, next, &res);
		bench_expect("users, churn", &res, nusers);
		b.ms[BENCH_KEYS_PARSE][r] = bench_parse(b.keys);
		b.ms[BENCH_KEYS_UNCHANGED][r] = bench_apply(&b, BENCH_KEYS_UNCHANGED, b.keys, &res);
		bench_expect("keys, unchanged", &res, 0);
		b.ms[BENCH_POLICY_PARSE][r] = bench_parse(b.policy_json);
		b.ms[BENCH_POLICY_UNCHANGED][r] =
		    bench_apply(&b, BENCH_POLICY_UNCHANGED, b.policy, &res);
		bench_expect("policy, unchanged", &res, 0);
	}

	printf("users: %zu (%.1f MB); keys: %zu (%.1f MB); policy: %zu rules (%.1f MB of HuJSON); "
	       "rounds: %zu (median of each)\n\n",
	       nusers, strlen(b.users) / 1e6, nkeys, strlen(b.keys) / 1e6, nrules,
	       strlen(b.policy) / 1e6, rounds);
	printf("%-46s %10s %8s\n", "what", "median ms", "ratio");
	for (w = 0; w < BENCH__N; w++)
		med[w] = bench_median(b.ms[w], rounds);
	for (w = 0; w < BENCH__N; w++)
		printf("%-46s %10.2f %7.2fx\n", bench_rows[w].name, med[w],
		       med[w] / med[bench_rows[w].base]);
	printf("RESULT users_unchanged_ratio=%.2f users_churn_ratio=%.2f keys_unchanged_ratio=%.2f "
	       "policy_unchanged_ratio=%.2f\n",
	       med[BENCH_USERS_UNCHANGED] / med[BENCH_USERS_PARSE],
	       med[BENCH_USERS_CHURN] / med[BENCH_USERS_PARSE],
	       med[BENCH_KEYS_UNCHANGED] / med[BENCH_KEYS_PARSE],
	       med[BENCH_POLICY_UNCHANGED] / med[BENCH_POLICY_PARSE]);

	store_close(b.st);
	if (nftw(dir, bench_rm_cb, 16, FTW_DEPTH | FTW_PHYS) == -1)
		log_warn("cannot remove %s", dir);
	for (w = 0; w < BENCH__N; w++)
		free(b.ms[w]);
	free(b.users);
	free(b.users2);
	free(b.keys);
	free(b.policy);
	free(b.policy_json);
	return 0;
}
