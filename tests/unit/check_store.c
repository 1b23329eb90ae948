/* check_store.c: unit tests for the LMDB wrapper: keys, cursors, writes, map growth, schema. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"
#include "store.h"

#define MIB ((size_t)1 << 20)

/* Every tcase gets one parent directory (made and removed in the parent process, so that it
 * goes away even when a forked test fails); each test makes its own store below it. */
static const char *dir;
static struct store *st;

static void
check_store_setup(void)
{
	dir = fixture_dir_new();
	st = fixture_store_open(dir, 256 * MIB);
}

static void
check_store_teardown(void)
{
	store_close(st);
	st = NULL;
	fixture_dir_remove(dir);
}

static void
check_store_grow_setup(void)
{
	store_set_map_open(64 * MIB);
	check_store_setup();
}

static void
check_store_grow_teardown(void)
{
	check_store_teardown();
	store_set_map_open(0);
}

/* ---- a generic write: a list of puts (and deletes) into one db ---- */

struct check_store_kv {
	enum store_db db;
	const struct store_key *k;
	const void *v;
	size_t vlen;
};

struct check_store_puts {
	const struct check_store_kv *kv;
	size_t n;
	int ret;  /* what the fn returns after its puts */
	int runs; /* how many times the fn ran */
	int del;  /* delete instead of put */
};

static int
check_store_puts_fn(struct store_txn *txn, void *arg, char **cause)
{
	struct check_store_puts *p = arg;

	p->runs++;
	for (size_t i = 0; i < p->n; i++) {
		const struct check_store_kv *kv = &p->kv[i];

		if (p->del) {
			if (store_del(txn, kv->db, kv->k, cause) == -1)
				return -1;
		} else if (store_put(txn, kv->db, kv->k, kv->v, kv->vlen, cause) == -1)
			return -1;
	}
	if (p->ret != 0)
		*cause = strdup("the fn said no");
	return p->ret;
}

static void
check_store_put1(enum store_db db, const struct store_key *k, const char *v)
{
	struct check_store_kv kv = {db, k, v, strlen(v)};
	struct check_store_puts p = {&kv, 1, 0, 0, 0};
	char *cause = NULL;

	ck_assert_msg(store_write(st, check_store_puts_fn, &p, &cause) == 0, "%s", cause);
}

static void
check_store_put_str(enum store_db db, const char *key, const char *v)
{
	struct store_key k;

	store_key_init(&k);
	store_key_str(&k, key);
	check_store_put1(db, &k, v);
}

/* Reads K from DB into a malloc'd string, or NULL when absent. */
static char *
check_store_get(enum store_db db, const struct store_key *k)
{
	struct store_txn *txn;
	struct store_val v;
	char *cause = NULL, *out = NULL;
	int rc;

	ck_assert_msg(store_read_begin(st, &txn, &cause) == 0, "%s", cause);
	rc = store_get(txn, db, k, &v, &cause);
	ck_assert_msg(rc == 0 || rc == 1, "store_get: %s", cause);
	if (rc == 0) {
		out = malloc(v.len + 1);
		memcpy(out, v.data, v.len);
		out[v.len] = '\0';
	}
	store_read_end(txn);
	return out;
}

static char *
check_store_get_str(enum store_db db, const char *key)
{
	struct store_key k;

	store_key_init(&k);
	store_key_str(&k, key);
	return check_store_get(db, &k);
}

/* ---- open, close, reopen ---- */

START_TEST(test_reopen_keeps_data)
{
	struct store_txn *txn;
	char *cause = NULL, *inst1 = NULL, *inst2 = NULL, *v;

	check_store_put_str(STORE_CUR, "cur-key", "cur-value");
	check_store_put_str(STORE_VER, "ver-key", "ver-value");
	check_store_put_str(STORE_HOOKPOS, "hook", "42");
	ck_assert_int_eq(store_read_begin(st, &txn, &cause), 0);
	ck_assert_int_eq(store_meta_get(txn, "instance", &inst1, &cause), 0);
	store_read_end(txn);
	ck_assert_uint_eq(strlen(inst1), 32);
	ck_assert_uint_eq(strspn(inst1, "0123456789abcdef"), 32);
	ck_assert_str_eq(store_path(st), dir);

	store_close(st);
	st = fixture_store_open(dir, 256 * MIB);
	v = check_store_get_str(STORE_CUR, "cur-key");
	ck_assert_str_eq(v, "cur-value");
	free(v);
	v = check_store_get_str(STORE_VER, "ver-key");
	ck_assert_str_eq(v, "ver-value");
	free(v);
	v = check_store_get_str(STORE_HOOKPOS, "hook");
	ck_assert_str_eq(v, "42");
	free(v);
	/* Databases are separate: the same key is absent from the others. */
	ck_assert_ptr_null(check_store_get_str(STORE_ADDR, "cur-key"));
	ck_assert_ptr_null(check_store_get_str(STORE_VER, "cur-key"));
	/* The instance id is made once, at creation. */
	ck_assert_int_eq(store_read_begin(st, &txn, &cause), 0);
	ck_assert_int_eq(store_meta_get(txn, "instance", &inst2, &cause), 0);
	store_read_end(txn);
	ck_assert_str_eq(inst1, inst2);
	free(inst1);
	free(inst2);
}
END_TEST

START_TEST(test_open_creates_dir)
{
	char sub[200];
	struct store *s2;
	struct stat sb;

	snprintf(sub, sizeof(sub), "%s/new", dir);
	ck_assert_int_eq(stat(sub, &sb), -1);
	s2 = fixture_store_open(sub, 0);
	ck_assert_int_eq(stat(sub, &sb), 0);
	ck_assert(S_ISDIR(sb.st_mode));
	store_close(s2);
}
END_TEST

START_TEST(test_open_not_a_dir)
{
	char file[200], deep[220];
	struct store *s2 = NULL;
	char *cause = NULL;
	FILE *f;

	snprintf(file, sizeof(file), "%s/plain", dir);
	f = fopen(file, "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);
	ck_assert_int_eq(store_open(file, 0, &s2, &cause), -1);
	ck_assert_ptr_nonnull(cause);
	ck_assert_ptr_nonnull(strstr(cause, "not a directory"));
	free(cause);
	cause = NULL;
	/* A missing parent is reported, not created. */
	snprintf(deep, sizeof(deep), "%s/no/such", dir);
	ck_assert_int_eq(store_open(deep, 0, &s2, &cause), -1);
	ck_assert_ptr_nonnull(cause);
	ck_assert_ptr_nonnull(strstr(cause, deep));
	free(cause);
}
END_TEST

static void
check_store_set_schema(const char *value)
{
	struct store_key k;

	store_key_init(&k);
	store_key_bytes(&k, "schema", 6);
	check_store_put1(STORE_META, &k, value);
}

START_TEST(test_schema_current)
{
	struct store_txn *txn;
	char *cause = NULL, *v = NULL, want[16];

	ck_assert_int_eq(store_read_begin(st, &txn, &cause), 0);
	ck_assert_int_eq(store_meta_get(txn, "schema", &v, &cause), 0);
	store_read_end(txn);
	snprintf(want, sizeof(want), "%d", STORE_SCHEMA);
	ck_assert_str_eq(v, want);
	free(v);
}
END_TEST

static const struct {
	const char *value;
	const char *have; /* what the cause must say the store has */
} bad_schemas[] = {
    {"3", "schema 3"}, {"0", "schema 0"}, {"999", "schema 999"},
    {"", "schema"},    {"abc", "schema"}, {"-1", "schema -1"},
};

START_TEST(test_schema_mismatch)
{
	struct store *s2 = NULL;
	char *cause = NULL, want[64];

	check_store_set_schema(bad_schemas[_i].value);
	store_close(st);
	st = NULL;
	ck_assert_int_eq(store_open(dir, 0, &s2, &cause), -1);
	ck_assert_ptr_null(s2);
	ck_assert_ptr_nonnull(cause);
	ck_assert_msg(strstr(cause, bad_schemas[_i].have) != NULL, "cause: %s", cause);
	snprintf(want, sizeof(want), "schema %d", STORE_SCHEMA);
	ck_assert_msg(strstr(cause, want) != NULL, "cause lacks what we know: %s", cause);
	ck_assert_msg(strstr(cause, dir) != NULL, "cause lacks the path: %s", cause);
	free(cause);
	cause = NULL;
	/* Failing twice is the same failure; nothing was rewritten. */
	ck_assert_int_eq(store_open(dir, 0, &s2, &cause), -1);
	free(cause);
	/* The teardown must not close a store that never opened. */
}
END_TEST

/* ---- keys ---- */

static const int64_t i64_sorted[] = {
    INT64_MIN,
    INT64_MIN + 1,
    -1700000000000000,
    -4294967296,
    -65536,
    -256,
    -255,
    -2,
    -1,
    0,
    1,
    2,
    255,
    256,
    65536,
    4294967296,
    1700000000000000,
    INT64_MAX - 1,
    INT64_MAX,
};
#define N_I64 (sizeof(i64_sorted) / sizeof(i64_sorted[0]))

START_TEST(test_key_i64_order)
{
	struct store_key a, b;

	for (size_t i = 0; i < N_I64; i++) {
		store_key_init(&a);
		store_key_i64(&a, i64_sorted[i]);
		ck_assert_uint_eq(a.len, 8);
		ck_assert_int_eq(a.bad, 0);
		ck_assert_int_eq(store_get_i64(a.b), i64_sorted[i]);
		for (size_t j = 0; j < N_I64; j++) {
			int c;

			store_key_init(&b);
			store_key_i64(&b, i64_sorted[j]);
			c = memcmp(a.b, b.b, 8);
			ck_assert_msg(i < j   ? c < 0
			              : i > j ? c > 0
			                      : c == 0,
			              "%lld vs %lld: memcmp %d", (long long)i64_sorted[i],
			              (long long)i64_sorted[j], c);
		}
	}
	/* The sign bit is flipped: 0 is 0x80 then zeros, -1 is 0x7f then 0xff. */
	store_key_init(&a);
	store_key_i64(&a, 0);
	ck_assert_mem_eq(a.b, "\x80\0\0\0\0\0\0\0", 8);
	store_key_init(&a);
	store_key_i64(&a, -1);
	ck_assert_mem_eq(a.b, "\x7f\xff\xff\xff\xff\xff\xff\xff", 8);
	store_key_init(&a);
	store_key_i64(&a, INT64_MIN);
	ck_assert_mem_eq(a.b, "\0\0\0\0\0\0\0\0", 8);
}
END_TEST

/* The same order must come back from LMDB itself, whatever the insertion order. */
START_TEST(test_key_i64_db_order)
{
	struct check_store_kv kv[N_I64];
	struct store_key keys[N_I64], prefix;
	struct check_store_puts p = {kv, N_I64, 0, 0, 0};
	struct store_txn *txn;
	struct store_cursor *cur;
	struct store_val key;
	char *cause = NULL;
	size_t n = 0;
	int rc;

	for (size_t i = 0; i < N_I64; i++) {
		size_t j = (i * 7) % N_I64; /* N_I64 is prime: a permutation */

		store_key_init(&keys[i]);
		store_key_str(&keys[i], "t");
		store_key_i64(&keys[i], i64_sorted[j]);
		kv[i] = (struct check_store_kv){STORE_COVER, &keys[i], "", 0};
	}
	ck_assert_msg(store_write(st, check_store_puts_fn, &p, &cause) == 0, "%s", cause);
	ck_assert_int_eq(store_read_begin(st, &txn, &cause), 0);
	ck_assert_int_eq(store_cursor_open(txn, STORE_COVER, &cur, &cause), 0);
	store_key_init(&prefix);
	store_key_str(&prefix, "t");
	for (rc = store_cursor_seek(cur, &prefix, &prefix, &key, NULL); rc == 0;
	     rc = store_cursor_step(cur, 1, &key, NULL)) {
		ck_assert_uint_eq(key.len, 10);
		ck_assert_uint_lt(n, N_I64);
		ck_assert_int_eq(store_get_i64((const uint8_t *)key.data + 2), i64_sorted[n]);
		n++;
	}
	ck_assert_uint_eq(n, N_I64);
	store_cursor_close(cur);
	store_read_end(txn);
}
END_TEST

START_TEST(test_key_u64)
{
	static const uint64_t sorted[] = {0,
	                                  1,
	                                  255,
	                                  256,
	                                  65535,
	                                  65536,
	                                  UINT64_C(1) << 32,
	                                  (UINT64_C(1) << 63) - 1,
	                                  UINT64_C(1) << 63,
	                                  UINT64_MAX};
	struct store_key a, b;
	uint8_t raw[8];

	store_key_init(&a);
	store_key_u64(&a, UINT64_C(0x0102030405060708));
	ck_assert_uint_eq(a.len, 8);
	ck_assert_mem_eq(a.b, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	store_put_u64(raw, UINT64_C(0xa1b2c3d4e5f60718));
	ck_assert_mem_eq(raw, "\xa1\xb2\xc3\xd4\xe5\xf6\x07\x18", 8);
	ck_assert_uint_eq(store_get_u64(raw), UINT64_C(0xa1b2c3d4e5f60718));
	for (size_t i = 0; i < sizeof(sorted) / sizeof(sorted[0]); i++) {
		store_key_init(&a);
		store_key_u64(&a, sorted[i]);
		ck_assert_uint_eq(store_get_u64(a.b), sorted[i]);
		if (i == 0)
			continue;
		store_key_init(&b);
		store_key_u64(&b, sorted[i - 1]);
		ck_assert_int_lt(memcmp(b.b, a.b, 8), 0);
	}
	store_put_i64(raw, -5);
	ck_assert_int_eq(store_get_i64(raw), -5);
	store_key_init(&a);
	store_key_u8(&a, 0xfe);
	store_key_u8(&a, 0);
	ck_assert_uint_eq(a.len, 2);
	ck_assert_mem_eq(a.b, "\xfe\0", 2);
}
END_TEST

START_TEST(test_key_str)
{
	struct store_key a, b;

	store_key_init(&a);
	store_key_str(&a, "ab");
	ck_assert_uint_eq(a.len, 3);
	ck_assert_mem_eq(a.b, "ab\0", 3);
	store_key_init(&b);
	store_key_str(&b, "abc");
	ck_assert_uint_eq(b.len, 4);
	/* "ab" sorts before "abc", and "ab\0" is not a prefix of "abc\0". */
	ck_assert_int_lt(memcmp(a.b, b.b, a.len < b.len ? a.len : b.len), 0);
	ck_assert_int_ne(memcmp(a.b, b.b, a.len), 0);
	store_key_init(&a);
	store_key_str(&a, "");
	ck_assert_uint_eq(a.len, 1);
	ck_assert_int_eq(a.b[0], 0);
	/* Composite: string then integer. */
	store_key_init(&a);
	store_key_str(&a, "t");
	store_key_u8(&a, 'd');
	store_key_str(&a, "n1");
	store_key_i64(&a, 0);
	ck_assert_uint_eq(a.len, 2 + 1 + 3 + 8);
	ck_assert_mem_eq(a.b, "t\0dn1\0\x80\0\0\0\0\0\0\0", a.len);
}
END_TEST

START_TEST(test_key_too_long)
{
	struct store_key k;
	struct store_txn *txn;
	struct store_cursor *cur;
	struct store_val v;
	char big[STORE_KEYMAX + 2], *cause = NULL, *got;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	/* Exactly the maximum fits (510 bytes and the NUL), one more does not. */
	big[STORE_KEYMAX - 1] = '\0';
	store_key_init(&k);
	store_key_str(&k, big);
	ck_assert_int_eq(k.bad, 0);
	ck_assert_uint_eq(k.len, STORE_KEYMAX);
	check_store_put1(STORE_CUR, &k, "max");
	got = check_store_get(STORE_CUR, &k);
	ck_assert_str_eq(got, "max");
	free(got);
	store_key_u8(&k, 1);
	ck_assert_int_eq(k.bad, 1);
	ck_assert_uint_eq(k.len, STORE_KEYMAX);
	/* Once bad, a key stays bad even if a later field would fit. */
	store_key_init(&k);
	big[STORE_KEYMAX - 1] = 'x';
	store_key_str(&k, big);
	ck_assert_int_eq(k.bad, 1);
	store_key_bytes(&k, "", 0);
	ck_assert_int_eq(k.bad, 1);

	/* A bad key is an error everywhere, never a truncated key. */
	ck_assert_int_eq(store_read_begin(st, &txn, &cause), 0);
	ck_assert_int_eq(store_get(txn, STORE_CUR, &k, &v, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "too long"));
	free(cause);
	cause = NULL;
	ck_assert_int_eq(store_cursor_open(txn, STORE_CUR, &cur, &cause), 0);
	ck_assert_int_eq(store_cursor_seek(cur, &k, &k, &v, NULL), 1);
	store_cursor_close(cur);
	store_read_end(txn);

	struct check_store_kv kv = {STORE_CUR, &k, "v", 1};
	struct check_store_puts p = {&kv, 1, 0, 0, 0};
	ck_assert_int_eq(store_write(st, check_store_puts_fn, &p, &cause), -1);
	ck_assert_ptr_nonnull(cause);
	ck_assert_ptr_nonnull(strstr(cause, "too long"));
	free(cause);
	cause = NULL;
	p.del = 1;
	ck_assert_int_eq(store_write(st, check_store_puts_fn, &p, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "too long"));
	free(cause);
}
END_TEST

/* ---- cursors ---- */

/* Keys in sorted order; the cursor tests check positions against indexes into this table. */
static const struct {
	const char *k;
	size_t len;
} cur_keys[] = {
    {"\x00", 1},         {"\x01", 1},         {"\x01\x00", 2},         {"\x01\x00\x05", 3},
    {"\x01\xfe", 2},     {"\x01\xfe\xff", 3}, {"\x01\xff", 2},         {"\x01\xff\x00", 3},
    {"\x01\xff\x7f", 3}, {"\x01\xff\xff", 3}, {"\x01\xff\xff\x01", 4}, {"\x01\xff\xff\xff", 4},
    {"\x02", 1},         {"\x02\x00", 2},     {"\xfe\xff", 2},         {"\xff", 1},
    {"\xff\x00", 2},     {"\xff\xff", 2},
};
#define N_CUR (sizeof(cur_keys) / sizeof(cur_keys[0]))

static void
check_store_fill_cursor_keys(void)
{
	struct check_store_kv kv[N_CUR];
	struct store_key keys[N_CUR];
	static size_t idx[N_CUR];
	struct check_store_puts p = {kv, N_CUR, 0, 0, 0};
	char *cause = NULL;

	for (size_t i = 0; i < N_CUR; i++) {
		size_t j = N_CUR - 1 - i; /* inserted in reverse */

		idx[i] = j;
		store_key_init(&keys[i]);
		store_key_bytes(&keys[i], cur_keys[j].k, cur_keys[j].len);
		kv[i] = (struct check_store_kv){STORE_ADDR, &keys[i], &idx[i], sizeof(idx[i])};
	}
	ck_assert_msg(store_write(st, check_store_puts_fn, &p, &cause) == 0, "%s", cause);
}

/* Which table index a reported key is (the value holds it). */
static size_t
check_store_idx(const struct store_val *key, const struct store_val *val)
{
	size_t j;

	ck_assert_uint_eq(val->len, sizeof(j));
	memcpy(&j, val->data, sizeof(j));
	ck_assert_uint_lt(j, N_CUR);
	ck_assert_uint_eq(key->len, cur_keys[j].len);
	ck_assert_mem_eq(key->data, cur_keys[j].k, key->len);
	return j;
}

static void
check_store_mkkey(struct store_key *k, const char *b, size_t n)
{
	store_key_init(k);
	store_key_bytes(k, b, n);
}

/* A prefix, and the first and last table indexes under it (-1: none). */
static const struct {
	const char *p;
	size_t len;
	int first, last;
} prefixes[] = {
    {"\x00", 1, 0, 0},
    {"\x01", 1, 1, 11},
    {"\x01\x00", 2, 2, 3},
    {"\x01\xfe", 2, 4, 5},
    {"\x01\xff", 2, 6, 11},
    {"\x01\xff\xff", 3, 9, 11},
    {"\x01\xff\xff\xff", 4, 11, 11},
    {"\x01\xff\xff\xff\xff", 5, -1, -1},
    {"\x01\x80", 2, -1, -1},
    {"\x02", 1, 12, 13},
    {"\x03", 1, -1, -1},
    {"\xfe", 1, 14, 14},
    {"\xfe\xff", 2, 14, 14},
    {"\xff", 1, 15, 17},
    {"\xff\xff", 2, 17, 17},
    {"\xff\xff\xff", 3, -1, -1},
};

START_TEST(test_cursor_prefix)
{
	struct store_txn *txn;
	struct store_cursor *cur;
	struct store_key prefix;
	struct store_val key, val;
	char *cause = NULL;
	int rc, first = prefixes[_i].first, last = prefixes[_i].last, j;

	check_store_fill_cursor_keys();
	check_store_mkkey(&prefix, prefixes[_i].p, prefixes[_i].len);
	ck_assert_int_eq(store_read_begin(st, &txn, &cause), 0);
	ck_assert_int_eq(store_cursor_open(txn, STORE_ADDR, &cur, &cause), 0);

	/* Forward from the prefix: exactly first..last. */
	rc = store_cursor_seek(cur, &prefix, &prefix, &key, &val);
	if (first < 0) {
		ck_assert_int_eq(rc, 1);
	} else {
		for (j = first; j <= last; j++) {
			ck_assert_msg(rc == 0, "prefix %d: lost at %d", _i, j);
			ck_assert_int_eq(check_store_idx(&key, &val), j);
			rc = store_cursor_step(cur, 1, &key, &val);
		}
		ck_assert_int_eq(rc, 1);
	}

	/* Backward from the last: exactly last..first. */
	rc = store_cursor_last(cur, &prefix, &key, &val);
	if (last < 0) {
		ck_assert_int_eq(rc, 1);
	} else {
		for (j = last; j >= first; j--) {
			ck_assert_msg(rc == 0, "prefix %d: lost at %d going back", _i, j);
			ck_assert_int_eq(check_store_idx(&key, &val), j);
			rc = store_cursor_step(cur, -1, &key, &val);
		}
		ck_assert_int_eq(rc, 1);
	}
	store_cursor_close(cur);
	store_read_end(txn);
}
END_TEST

START_TEST(test_cursor_seek_inside)
{
	struct store_txn *txn;
	struct store_cursor *cur;
	struct store_key prefix, k;
	struct store_val key, val;
	char *cause = NULL;

	check_store_fill_cursor_keys();
	ck_assert_int_eq(store_read_begin(st, &txn, &cause), 0);
	ck_assert_int_eq(store_cursor_open(txn, STORE_ADDR, &cur, &cause), 0);
	check_store_mkkey(&prefix, "\x01\xff", 2);
	/* Seek to a key in the middle of the prefix: the first key >= it. */
	check_store_mkkey(&k, "\x01\xff\x10", 3);
	ck_assert_int_eq(store_cursor_seek(cur, &k, &prefix, &key, &val), 0);
	ck_assert_int_eq(check_store_idx(&key, &val), 8);
	ck_assert_int_eq(store_cursor_step(cur, -1, &key, &val), 0);
	ck_assert_int_eq(check_store_idx(&key, &val), 7);
	ck_assert_int_eq(store_cursor_step(cur, 1, &key, &val), 0);
	ck_assert_int_eq(check_store_idx(&key, &val), 8);
	/* Exact match. */
	check_store_mkkey(&k, "\x01\xff\xff", 3);
	ck_assert_int_eq(store_cursor_seek(cur, &k, &prefix, &key, &val), 0);
	ck_assert_int_eq(check_store_idx(&key, &val), 9);
	/* Past every key under the prefix: the next key exists but is outside. */
	check_store_mkkey(&k, "\x01\xff\xff\xff\x00", 5);
	ck_assert_int_eq(store_cursor_seek(cur, &k, &prefix, &key, &val), 1);
	/* Key and value may be NULL. */
	ck_assert_int_eq(store_cursor_seek(cur, &prefix, &prefix, NULL, NULL), 0);
	ck_assert_int_eq(store_cursor_step(cur, 1, NULL, NULL), 0);
	ck_assert_int_eq(store_cursor_last(cur, &prefix, NULL, &val), 0);
	ck_assert_uint_eq(val.len, sizeof(size_t));
	/* An empty prefix: the last key of the db. */
	check_store_mkkey(&prefix, "", 0);
	ck_assert_int_eq(store_cursor_last(cur, &prefix, &key, &val), 0);
	ck_assert_int_eq(check_store_idx(&key, &val), N_CUR - 1);
	ck_assert_int_eq(store_cursor_step(cur, -1, &key, &val), 0);
	ck_assert_int_eq(check_store_idx(&key, &val), N_CUR - 2);
	/* A later seek with another prefix replaces the prefix for steps. */
	check_store_mkkey(&prefix, "\x02", 1);
	ck_assert_int_eq(store_cursor_seek(cur, &prefix, &prefix, &key, &val), 0);
	ck_assert_int_eq(check_store_idx(&key, &val), 12);
	ck_assert_int_eq(store_cursor_step(cur, -1, &key, &val), 1);
	store_cursor_close(cur);
	store_read_end(txn);
}
END_TEST

/* Past the very last key of the db there is no key at all; stepping on must not wrap around to
 * the first key (which here matches the prefix). */
START_TEST(test_cursor_seek_past_end)
{
	struct store_txn *txn;
	struct store_cursor *cur;
	struct store_key prefix, k;
	struct store_val key, val;
	char *cause = NULL;

	check_store_put_str(STORE_NAME, "a1", "1");
	check_store_put_str(STORE_NAME, "a2", "2");
	ck_assert_int_eq(store_read_begin(st, &txn, &cause), 0);
	ck_assert_int_eq(store_cursor_open(txn, STORE_NAME, &cur, &cause), 0);
	check_store_mkkey(&prefix, "a", 1);
	check_store_mkkey(&k, "a3", 2);
	ck_assert_int_eq(store_cursor_seek(cur, &k, &prefix, &key, &val), 1);
	ck_assert_int_eq(store_cursor_step(cur, 1, &key, &val), 1);
	store_cursor_close(cur);
	/* An empty db: nothing anywhere. */
	ck_assert_int_eq(store_cursor_open(txn, STORE_BLOB, &cur, &cause), 0);
	ck_assert_int_eq(store_cursor_seek(cur, &prefix, &prefix, &key, &val), 1);
	ck_assert_int_eq(store_cursor_last(cur, &prefix, &key, &val), 1);
	check_store_mkkey(&k, "", 0);
	ck_assert_int_eq(store_cursor_last(cur, &k, &key, &val), 1);
	store_cursor_close(cur);
	store_read_end(txn);
}
END_TEST

/* A cursor in a write txn sees the txn's own puts. */
static int
check_store_cursor_in_write_fn(struct store_txn *txn, void *arg, char **cause)
{
	struct store_cursor *cur;
	struct store_key k, prefix;
	struct store_val key;
	int *n = arg;

	for (int i = 0; i < 5; i++) {
		store_key_init(&k);
		store_key_str(&k, "w");
		store_key_u64(&k, (uint64_t)i);
		if (store_put(txn, STORE_EVENT, &k, "", 0, cause) == -1)
			return -1;
	}
	if (store_cursor_open(txn, STORE_EVENT, &cur, cause) == -1)
		return -1;
	store_key_init(&prefix);
	store_key_str(&prefix, "w");
	*n = 0;
	for (int rc = store_cursor_last(cur, &prefix, &key, NULL); rc == 0;
	     rc = store_cursor_step(cur, -1, &key, NULL)) {
		if (store_get_u64((const uint8_t *)key.data + 2) != (uint64_t)(4 - *n))
			break;
		(*n)++;
	}
	store_cursor_close(cur);
	return 0;
}

START_TEST(test_cursor_in_write)
{
	char *cause = NULL;
	int n = -1;

	ck_assert_int_eq(store_write(st, check_store_cursor_in_write_fn, &n, &cause), 0);
	ck_assert_int_eq(n, 5);
}
END_TEST

/* ---- writes ---- */

START_TEST(test_write_commit_abort)
{
	struct store_key k1, k2;
	struct check_store_kv kv[2] = {{STORE_CUR, &k1, "one", 3}, {STORE_CUR, &k2, "two", 3}};
	struct check_store_puts p = {kv, 2, 0, 0, 0};
	char *cause = NULL, *v;

	store_key_init(&k1);
	store_key_str(&k1, "k1");
	store_key_init(&k2);
	store_key_str(&k2, "k2");
	/* A non-zero return aborts: neither put is visible, and the value and cause come back. */
	p.ret = 7;
	ck_assert_int_eq(store_write(st, check_store_puts_fn, &p, &cause), 7);
	ck_assert_ptr_nonnull(cause);
	ck_assert_str_eq(cause, "the fn said no");
	free(cause);
	cause = NULL;
	ck_assert_int_eq(p.runs, 1);
	ck_assert_ptr_null(check_store_get(STORE_CUR, &k1));
	ck_assert_ptr_null(check_store_get(STORE_CUR, &k2));
	p.ret = -1;
	ck_assert_int_eq(store_write(st, check_store_puts_fn, &p, &cause), -1);
	ck_assert_str_eq(cause, "the fn said no");
	free(cause);
	cause = NULL;
	ck_assert_ptr_null(check_store_get(STORE_CUR, &k1));

	/* Zero commits both. */
	p.ret = 0;
	ck_assert_int_eq(store_write(st, check_store_puts_fn, &p, &cause), 0);
	ck_assert_ptr_null(cause);
	v = check_store_get(STORE_CUR, &k1);
	ck_assert_str_eq(v, "one");
	free(v);
	v = check_store_get(STORE_CUR, &k2);
	ck_assert_str_eq(v, "two");
	free(v);

	/* An aborted overwrite and an aborted delete leave the committed values. */
	kv[0].v = "ONE";
	p.ret = 1;
	ck_assert_int_eq(store_write(st, check_store_puts_fn, &p, &cause), 1);
	free(cause);
	cause = NULL;
	p.del = 1;
	ck_assert_int_eq(store_write(st, check_store_puts_fn, &p, &cause), 1);
	free(cause);
	cause = NULL;
	v = check_store_get(STORE_CUR, &k1);
	ck_assert_str_eq(v, "one");
	free(v);

	/* A committed delete. */
	p.ret = 0;
	ck_assert_int_eq(store_write(st, check_store_puts_fn, &p, &cause), 0);
	ck_assert_ptr_null(check_store_get(STORE_CUR, &k1));
	ck_assert_ptr_null(check_store_get(STORE_CUR, &k2));
}
END_TEST

static int
check_store_del_missing_fn(struct store_txn *txn, void *arg, char **cause)
{
	struct store_key k;
	int *rc = arg;

	store_key_init(&k);
	store_key_str(&k, "missing");
	*rc = store_del(txn, STORE_CUR, &k, cause);
	return 0;
}

START_TEST(test_del_missing)
{
	char *cause = NULL;
	int rc = -5;

	ck_assert_int_eq(store_write(st, check_store_del_missing_fn, &rc, &cause), 0);
	ck_assert_int_eq(rc, 1);
}
END_TEST

/* A read txn is a snapshot: a write committed after it began is not seen through it. */
START_TEST(test_read_snapshot)
{
	struct store_txn *txn;
	struct store_key k;
	struct store_val v;
	char *cause = NULL;

	store_key_init(&k);
	store_key_str(&k, "snap");
	ck_assert_int_eq(store_read_begin(st, &txn, &cause), 0);
	check_store_put1(STORE_CUR, &k, "after");
	ck_assert_int_eq(store_get(txn, STORE_CUR, &k, &v, &cause), 1);
	store_read_end(txn);
	ck_assert_int_eq(store_read_begin(st, &txn, &cause), 0);
	ck_assert_int_eq(store_get(txn, STORE_CUR, &k, &v, &cause), 0);
	ck_assert_uint_eq(v.len, 5);
	ck_assert_mem_eq(v.data, "after", 5);
	store_read_end(txn);
}
END_TEST

/* ---- map growth ---- */

struct check_store_big {
	int nvals;
	size_t vlen;
	int runs;
	uint8_t *buf;
};

static int
check_store_big_fn(struct store_txn *txn, void *arg, char **cause)
{
	struct check_store_big *b = arg;

	b->runs++;
	for (int i = 0; i < b->nvals; i++) {
		struct store_key k;

		store_key_init(&k);
		store_key_str(&k, "big");
		store_key_u64(&k, (uint64_t)i);
		memset(b->buf, 'a' + i % 26, b->vlen);
		b->buf[0] = (uint8_t)i;
		if (store_put(txn, STORE_BLOB, &k, b->buf, b->vlen, cause) == -1)
			return -1;
	}
	return 0;
}

static void
check_store_big_check(int nvals, size_t vlen, int present)
{
	struct store_txn *txn;
	char *cause = NULL;

	ck_assert_int_eq(store_read_begin(st, &txn, &cause), 0);
	for (int i = 0; i < nvals; i++) {
		struct store_key k;
		struct store_val v;
		const uint8_t *p;

		store_key_init(&k);
		store_key_str(&k, "big");
		store_key_u64(&k, (uint64_t)i);
		ck_assert_int_eq(store_get(txn, STORE_BLOB, &k, &v, &cause), present ? 0 : 1);
		if (!present)
			continue;
		ck_assert_uint_eq(v.len, vlen);
		p = v.data;
		ck_assert_int_eq(p[0], (uint8_t)i);
		ck_assert_int_eq(p[1], 'a' + i % 26);
		ck_assert_int_eq(p[vlen - 1], 'a' + i % 26);
	}
	store_read_end(txn);
}

/* The map opens at the cap: 100 MiB is written once, with no grow-and-redo, and the file holds
 * only the data, not the map. */
START_TEST(test_map_opens_at_cap)
{
	struct check_store_big b = {100, MIB, 0, malloc(MIB)};
	uint64_t used, mapsize;
	char *cause = NULL, path[4096];
	struct stat sb;

	store_sizes(st, &used, &mapsize);
	ck_assert_uint_eq(mapsize, 256 * MIB);
	ck_assert_msg(store_write(st, check_store_big_fn, &b, &cause) == 0, "%s", cause);
	ck_assert_int_eq(b.runs, 1);
	store_sizes(st, &used, &mapsize);
	ck_assert_uint_eq(mapsize, 256 * MIB);
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_uint_lt((uint64_t)sb.st_size, 200 * MIB);
	check_store_big_check(100, MIB, 1);
	free(b.buf);
}
END_TEST

START_TEST(test_map_grows)
{
	struct check_store_big b = {100, MIB, 0, malloc(MIB)};
	uint64_t used, mapsize;
	char *cause = NULL;

	store_sizes(st, &used, &mapsize);
	ck_assert_uint_eq(mapsize, 64 * MIB);
	ck_assert_msg(store_write(st, check_store_big_fn, &b, &cause) == 0, "%s", cause);
	ck_assert_ptr_null(cause);
	/* 100 MiB cannot fit the 64 MiB start: the fn ran again after the map grew. */
	ck_assert_int_ge(b.runs, 2);
	store_sizes(st, &used, &mapsize);
	ck_assert_uint_ge(used, 100 * MIB);
	ck_assert_uint_ge(mapsize, 128 * MIB);
	ck_assert_uint_le(mapsize, 256 * MIB);
	ck_assert_uint_le(used, mapsize);
	check_store_big_check(100, MIB, 1);

	/* After a restart the data is there and the map holds it. */
	store_close(st);
	st = fixture_store_open(dir, 256 * MIB);
	store_sizes(st, &used, &mapsize);
	ck_assert_uint_ge(mapsize, used);
	check_store_big_check(100, MIB, 1);
	/* And it can still grow, up to the cap. */
	check_store_put_str(STORE_CUR, "small", "x");
	free(b.buf);
}
END_TEST

START_TEST(test_map_cap)
{
	struct check_store_big b = {100, MIB, 0, malloc(MIB)};
	uint64_t used, mapsize;
	char *cause = NULL, *v;

	store_close(st);
	st = fixture_store_open(dir, 64 * MIB);
	check_store_put_str(STORE_CUR, "before", "kept");
	ck_assert_int_eq(store_write(st, check_store_big_fn, &b, &cause), -1);
	ck_assert_ptr_nonnull(cause);
	ck_assert_msg(strstr(cause, "full") != NULL && strstr(cause, "map") != NULL,
	              "cause does not name the full map: %s", cause);
	free(cause);
	cause = NULL;
	check_store_big_check(100, MIB, 0);
	store_sizes(st, &used, &mapsize);
	ck_assert_uint_eq(mapsize, 64 * MIB);
	/* The store is still usable: earlier data is there, small writes work. */
	v = check_store_get_str(STORE_CUR, "before");
	ck_assert_str_eq(v, "kept");
	free(v);
	check_store_put_str(STORE_CUR, "after", "fine");
	v = check_store_get_str(STORE_CUR, "after");
	ck_assert_str_eq(v, "fine");
	free(v);
	/* A write that fits after all. */
	b.nvals = 20;
	ck_assert_msg(store_write(st, check_store_big_fn, &b, &cause) == 0, "%s", cause);
	check_store_big_check(20, MIB, 1);
	free(b.buf);
}
END_TEST

/* A read held across the write (a listing sent a slice at a time) pins the map: the write that
 * would grow it fails, says why and writes nothing; once the read ends, the same write grows the
 * map and lands. The read saw its snapshot throughout. */
START_TEST(test_map_no_grow_under_read)
{
	struct check_store_big b = {100, MIB, 0, malloc(MIB)};
	struct store_txn *rd;
	struct store_key k;
	struct store_val v;
	uint64_t used, mapsize;
	char *cause = NULL;

	check_store_put_str(STORE_CUR, "before", "kept");
	ck_assert_int_eq(store_read_begin(st, &rd, &cause), 0);
	ck_assert_int_eq(store_write(st, check_store_big_fn, &b, &cause), -1);
	ck_assert_ptr_nonnull(cause);
	ck_assert_msg(strstr(cause, "cannot grow while 1 read is open") != NULL, "cause: %s",
	              cause);
	free(cause);
	cause = NULL;
	store_sizes(st, &used, &mapsize);
	ck_assert_uint_eq(mapsize, 64 * MIB);
	store_key_init(&k);
	store_key_str(&k, "before");
	ck_assert_int_eq(store_get(rd, STORE_CUR, &k, &v, &cause), 0);
	ck_assert_uint_eq(v.len, 4);
	ck_assert_int_eq(memcmp(v.data, "kept", 4), 0);
	store_read_end(rd);
	check_store_big_check(100, MIB, 0);

	b.runs = 0;
	ck_assert_msg(store_write(st, check_store_big_fn, &b, &cause) == 0, "%s", cause);
	ck_assert_int_ge(b.runs, 2);
	check_store_big_check(100, MIB, 1);
	free(b.buf);
}
END_TEST

/* Growth that needs several doublings: 64 -> 128 -> 256 MiB for 200 MiB. */
START_TEST(test_map_grows_twice)
{
	struct check_store_big b = {200, MIB, 0, malloc(MIB)};
	uint64_t used, mapsize;
	char *cause = NULL;

	store_close(st);
	st = fixture_store_open(dir, 300 * MIB);
	ck_assert_msg(store_write(st, check_store_big_fn, &b, &cause) == 0, "%s", cause);
	ck_assert_int_ge(b.runs, 3);
	store_sizes(st, &used, &mapsize);
	ck_assert_uint_ge(mapsize, 256 * MIB);
	ck_assert_uint_le(mapsize, 300 * MIB);
	check_store_big_check(200, MIB, 1);
	free(b.buf);
}
END_TEST

/* Another process grew the map: our next write must adopt the new size, not fail. */
START_TEST(test_map_resized_elsewhere)
{
	struct check_store_big b = {100, MIB, 0, NULL};
	char *cause = NULL, *v;
	pid_t pid;
	int status;

	check_store_put_str(STORE_CUR, "parent", "1");
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		struct store *s2 = NULL;

		b.buf = malloc(MIB);
		if (store_open(dir, 256 * MIB, &s2, &cause) != 0 ||
		    store_write(s2, check_store_big_fn, &b, &cause) != 0)
			_exit(1);
		store_close(s2);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	check_store_put_str(STORE_CUR, "parent2", "2");
	v = check_store_get_str(STORE_CUR, "parent2");
	ck_assert_str_eq(v, "2");
	free(v);
	check_store_big_check(100, MIB, 1);
}
END_TEST

/* ---- meta and sizes ---- */

static int
check_store_meta_fn(struct store_txn *txn, void *arg, char **cause)
{
	const char *const *kv = arg;

	for (; kv[0] != NULL; kv += 2)
		if (store_meta_put(txn, kv[0], kv[1], cause) == -1)
			return -1;
	return 0;
}

START_TEST(test_meta)
{
	const char *kv1[] = {"ep/t/devices", "{\"a\":1}", "etag", "W/\"x\"", "empty", "", NULL};
	const char *kv2[] = {"etag", "W/\"y\"", NULL};
	struct store_txn *txn;
	char *cause = NULL, *v = NULL;

	ck_assert_int_eq(store_read_begin(st, &txn, &cause), 0);
	ck_assert_int_eq(store_meta_get(txn, "etag", &v, &cause), 1);
	ck_assert_ptr_null(v);
	store_read_end(txn);
	ck_assert_int_eq(store_write(st, check_store_meta_fn, kv1, &cause), 0);
	ck_assert_int_eq(store_write(st, check_store_meta_fn, kv2, &cause), 0);
	store_close(st);
	st = fixture_store_open(dir, 0);
	ck_assert_int_eq(store_read_begin(st, &txn, &cause), 0);
	ck_assert_int_eq(store_meta_get(txn, "ep/t/devices", &v, &cause), 0);
	ck_assert_str_eq(v, "{\"a\":1}");
	free(v);
	ck_assert_int_eq(store_meta_get(txn, "etag", &v, &cause), 0);
	ck_assert_str_eq(v, "W/\"y\"");
	free(v);
	ck_assert_int_eq(store_meta_get(txn, "empty", &v, &cause), 0);
	ck_assert_str_eq(v, "");
	free(v);
	/* Names are whole: a prefix of a name is another name. */
	ck_assert_int_eq(store_meta_get(txn, "eta", &v, &cause), 1);
	ck_assert_int_eq(store_meta_get(txn, "etagx", &v, &cause), 1);
	store_read_end(txn);
}
END_TEST

START_TEST(test_sizes)
{
	struct check_store_big b = {4, MIB, 0, malloc(MIB)};
	uint64_t used0, used1, mapsize;
	char *cause = NULL;

	store_sizes(st, &used0, &mapsize);
	ck_assert_uint_gt(used0, 0);
	ck_assert_uint_eq(used0 % 4096, 0);
	ck_assert_uint_eq(mapsize, 256 * MIB);
	ck_assert_int_eq(store_write(st, check_store_big_fn, &b, &cause), 0);
	ck_assert_int_eq(b.runs, 1);
	store_sizes(st, &used1, &mapsize);
	ck_assert_uint_ge(used1, used0 + 4 * MIB);
	ck_assert_uint_eq(mapsize, 256 * MIB);
	free(b.buf);
}
END_TEST

static Suite *
store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc;

	tc = tcase_create("open");
	tcase_add_unchecked_fixture(tc, fixture_root_setup, fixture_root_teardown);
	tcase_add_checked_fixture(tc, check_store_setup, check_store_teardown);
	tcase_add_test(tc, test_reopen_keeps_data);
	tcase_add_test(tc, test_open_creates_dir);
	tcase_add_test(tc, test_open_not_a_dir);
	tcase_add_test(tc, test_schema_current);
	tcase_add_loop_test(tc, test_schema_mismatch, 0,
	                    sizeof(bad_schemas) / sizeof(bad_schemas[0]));
	tcase_add_test(tc, test_meta);
	tcase_add_test(tc, test_sizes);
	suite_add_tcase(s, tc);

	tc = tcase_create("keys");
	tcase_add_unchecked_fixture(tc, fixture_root_setup, fixture_root_teardown);
	tcase_add_checked_fixture(tc, check_store_setup, check_store_teardown);
	tcase_add_test(tc, test_key_i64_order);
	tcase_add_test(tc, test_key_i64_db_order);
	tcase_add_test(tc, test_key_u64);
	tcase_add_test(tc, test_key_str);
	tcase_add_test(tc, test_key_too_long);
	suite_add_tcase(s, tc);

	tc = tcase_create("cursor");
	tcase_add_unchecked_fixture(tc, fixture_root_setup, fixture_root_teardown);
	tcase_add_checked_fixture(tc, check_store_setup, check_store_teardown);
	tcase_add_loop_test(tc, test_cursor_prefix, 0, sizeof(prefixes) / sizeof(prefixes[0]));
	tcase_add_test(tc, test_cursor_seek_inside);
	tcase_add_test(tc, test_cursor_seek_past_end);
	tcase_add_test(tc, test_cursor_in_write);
	suite_add_tcase(s, tc);

	tc = tcase_create("write");
	tcase_add_unchecked_fixture(tc, fixture_root_setup, fixture_root_teardown);
	tcase_add_checked_fixture(tc, check_store_setup, check_store_teardown);
	tcase_add_test(tc, test_write_commit_abort);
	tcase_add_test(tc, test_del_missing);
	tcase_add_test(tc, test_read_snapshot);
	suite_add_tcase(s, tc);

	tc = tcase_create("map");
	tcase_set_timeout(tc, 120);
	tcase_add_unchecked_fixture(tc, fixture_root_setup, fixture_root_teardown);
	tcase_add_checked_fixture(tc, check_store_setup, check_store_teardown);
	tcase_add_test(tc, test_map_opens_at_cap);
	suite_add_tcase(s, tc);

	/* Growth, for caps above the opening map: opened at 64 MiB to reach it with little data. */
	tc = tcase_create("grow");
	tcase_set_timeout(tc, 120);
	tcase_add_unchecked_fixture(tc, fixture_root_setup, fixture_root_teardown);
	tcase_add_checked_fixture(tc, check_store_grow_setup, check_store_grow_teardown);
	tcase_add_test(tc, test_map_grows);
	tcase_add_test(tc, test_map_no_grow_under_read);
	tcase_add_test(tc, test_map_cap);
	tcase_add_test(tc, test_map_grows_twice);
	tcase_add_test(tc, test_map_resized_elsewhere);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(store_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
