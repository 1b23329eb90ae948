/* check_store_crc.c: unit tests for the store's record checksums, the upgrade of a schema-1 store
 * (the fixture written by the schema-1 code), read-only opening, verify and backup. */
#include <check.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32c.h"
#include "fixture.h"
#include "store.h"

#define MIB ((size_t)1 << 20)
#define FIXTURE_V1 TESTDATA "/store-v1/data.mdb"

static const char *dir;

static void
setup(void)
{
	dir = fixture_dir_new();
}

static void
teardown(void)
{
	fixture_dir_remove(dir);
}

static void
copy_file(const char *from, const char *to)
{
	char buf[65536];
	size_t n;
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");

	ck_assert_msg(in != NULL, "cannot open %s", from);
	ck_assert_msg(out != NULL, "cannot create %s", to);
	while ((n = fread(buf, 1, sizeof buf, in)) > 0)
		ck_assert_uint_eq(fwrite(buf, 1, n, out), n);
	fclose(in);
	ck_assert_int_eq(fclose(out), 0);
}

struct put_arg {
	enum store_db db;
	const char *key, *value;
	int raw; /* the key's bytes without the NUL store_key_str adds */
};

static int
put_fn(struct store_txn *t, void *arg, char **cause)
{
	struct put_arg *p = arg;
	struct store_key k;

	store_key_init(&k);
	if (p->raw)
		store_key_bytes(&k, p->key, strlen(p->key));
	else
		store_key_str(&k, p->key);
	return store_put(t, p->db, &k, p->value, strlen(p->value), cause);
}

static void
put_text(struct store *st, enum store_db db, const char *key, const char *value)
{
	struct put_arg p = {db, key, value, 0};
	char *cause = NULL;

	ck_assert_msg(store_write(st, put_fn, &p, &cause) == 0, "%s", cause);
}

/* 0 and the value as text (in a fixture buffer), 1 not found, -1 with the cause in *cause. */
static int
get_text(struct store *st, enum store_db db, const char *key, const char **out, char **cause)
{
	struct store_txn *txn;
	struct store_key k;
	struct store_val v;
	int rc;

	ck_assert_int_eq(store_read_begin(st, &txn, cause), 0);
	store_key_init(&k);
	store_key_str(&k, key);
	rc = store_get(txn, db, &k, &v, cause);
	if (rc == 0) {
		char *b = fixture_buf();

		ck_assert_uint_lt(v.len, 4096);
		memcpy(b, v.data, v.len);
		b[v.len] = '\0';
		*out = b;
	}
	store_read_end(txn);
	return rc;
}

/* The number of records a cursor walk over DB yields before it ends (0) or meets damage (-1). */
static int
walk(struct store *st, enum store_db db, size_t *n)
{
	struct store_txn *txn;
	struct store_cursor *cur;
	struct store_key prefix, first;
	struct store_val key, val;
	char *cause = NULL;
	int rc;

	*n = 0;
	ck_assert_int_eq(store_read_begin(st, &txn, &cause), 0);
	ck_assert_int_eq(store_cursor_open(txn, db, &cur, &cause), 0);
	/* LMDB has no empty key: seek to the smallest one-byte key, with no prefix to keep. */
	store_key_init(&prefix);
	store_key_init(&first);
	store_key_u8(&first, 0);
	for (rc = store_cursor_seek(cur, &first, &prefix, &key, &val); rc == 0;
	     rc = store_cursor_step(cur, 1, &key, &val))
		(*n)++;
	store_cursor_close(cur);
	store_read_end(txn);
	return rc == 1 ? 0 : rc;
}

/* Flips one byte of every occurrence of NEEDLE in the data file of DIR (freed pages may hold
 * older copies of the record). */
static void
flip_in_file(const char *d, const char *needle)
{
	char path[512];
	struct stat sb;
	char *buf, *hit;
	int fd;

	snprintf(path, sizeof path, "%s/data.mdb", d);
	ck_assert_int_eq(stat(path, &sb), 0);
	buf = malloc((size_t)sb.st_size);
	fd = open(path, O_RDWR);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, buf, (size_t)sb.st_size, 0), sb.st_size);
	hit = memmem(buf, (size_t)sb.st_size, needle, strlen(needle));
	ck_assert_msg(hit != NULL, "%s not in the data file", needle);
	for (; hit != NULL;
	     hit = memmem(hit + 1, (size_t)(buf + sb.st_size - hit - 1), needle, strlen(needle))) {
		hit[1] ^= 0x20;
		ck_assert_int_eq(pwrite(fd, hit + 1, 1, hit + 1 - buf), 1);
	}
	close(fd);
	free(buf);
}

struct damage_seen {
	int n;
	char what[256];
};

static void
seen_cb(void *arg, const char *what, const char *why)
{
	struct damage_seen *s = arg;

	if (s->n++ == 0)
		snprintf(s->what, sizeof s->what, "%s: %s", what, why);
}

START_TEST(test_crc32c_vectors)
{
	/* RFC 3720 B.4 check value, and the all-zero 32-byte vector. */
	uint8_t zeros[32] = {0};

	ck_assert_uint_eq(crc32c(0, "123456789", 9), 0xE3069283u);
	ck_assert_uint_eq(crc32c(0, zeros, sizeof zeros), 0x8A9136AAu);
	/* Continuing over two parts is the CRC of the whole. */
	ck_assert_uint_eq(crc32c(crc32c(0, "1234", 4), "56789", 5), 0xE3069283u);
}
END_TEST

/* A flipped byte in a stored value: the read that meets it fails naming the record, the walk
 * stops with -1 instead of a short answer, verify reports it, other records still read. */
START_TEST(test_flipped_byte_detected)
{
	struct store *st = fixture_store_open(dir, 64 * MIB);
	struct damage_seen seen = {0};
	const char *v = NULL;
	char *cause = NULL;
	uint64_t records;
	size_t n;

	put_text(st, STORE_VER, "rec-a", "value-of-record-a-UNIQUEMARK");
	put_text(st, STORE_VER, "rec-b", "value-of-record-b");
	put_text(st, STORE_BLOB, "blob-c", "value-of-blob-c");
	store_close(st);
	flip_in_file(dir, "UNIQUEMARK");

	st = fixture_store_open(dir, 64 * MIB);
	ck_assert_int_eq(get_text(st, STORE_VER, "rec-a", &v, &cause), -1);
	ck_assert_ptr_nonnull(cause);
	ck_assert_msg(strstr(cause, "damaged record") != NULL, "%s", cause);
	ck_assert_msg(strstr(cause, "db ver") != NULL, "the cause names the db: %s", cause);
	ck_assert_msg(strstr(cause, "7265632d61") != NULL, "the cause names the key: %s", cause);
	free(cause);
	cause = NULL;
	ck_assert_uint_eq(store_damage(st, NULL), 1);
	/* The others are sound. */
	ck_assert_int_eq(get_text(st, STORE_VER, "rec-b", &v, &cause), 0);
	ck_assert_str_eq(v, "value-of-record-b");
	ck_assert_int_eq(get_text(st, STORE_BLOB, "blob-c", &v, &cause), 0);
	/* A walk over the damaged db ends in -1, never as if the list were shorter. */
	ck_assert_int_eq(walk(st, STORE_VER, &n), -1);
	ck_assert_int_eq(walk(st, STORE_BLOB, &n), 0);
	ck_assert_uint_eq(n, 1);

	ck_assert_int_eq(store_verify(st, seen_cb, &seen, &records, &cause), 1);
	ck_assert_int_eq(seen.n, 1);
	ck_assert_msg(strstr(seen.what, "db ver") && strstr(seen.what, "checksum"), "%s",
	              seen.what);
	ck_assert_uint_ge(records, 3);
	store_close(st);
}
END_TEST

START_TEST(test_sound_store_verifies)
{
	struct store *st = fixture_store_open(dir, 64 * MIB);
	struct damage_seen seen = {0};
	char *cause = NULL;
	uint64_t records;

	put_text(st, STORE_EVENT, "e1", "{}");
	put_text(st, STORE_NAME, "n1", "");
	ck_assert_int_eq(store_verify(st, seen_cb, &seen, &records, &cause), 0);
	ck_assert_int_eq(seen.n, 0);
	/* schema and instance, and the two. */
	ck_assert_uint_eq(records, 4);
	store_close(st);
}
END_TEST

/* The store written by the schema-1 code is upgraded in place at open: every record gains its
 * checksum, nothing else changes; the next open finds schema 2 and does nothing. */
START_TEST(test_upgrade_v1_fixture)
{
	char path[512];
	struct store *st;
	struct damage_seen seen = {0};
	char *cause = NULL, *schema = NULL;
	struct store_txn *txn;
	uint64_t records, again;
	size_t nver;

	snprintf(path, sizeof path, "%s/data.mdb", dir);
	copy_file(FIXTURE_V1, path);
	st = fixture_store_open(dir, 64 * MIB);
	ck_assert_int_eq(store_verify(st, seen_cb, &seen, &records, &cause), 0);
	ck_assert_uint_gt(records, 100);
	ck_assert_int_eq(walk(st, STORE_VER, &nver), 0);
	ck_assert_uint_gt(nver, 0);
	ck_assert_int_eq(store_read_begin(st, &txn, &cause), 0);
	ck_assert_int_eq(store_meta_get(txn, "schema", &schema, &cause), 0);
	store_read_end(txn);
	ck_assert_str_eq(schema, "2");
	free(schema);
	store_close(st);

	st = fixture_store_open(dir, 64 * MIB);
	ck_assert_int_eq(store_verify(st, seen_cb, &seen, &again, &cause), 0);
	ck_assert_uint_eq(again, records);
	store_close(st);
}
END_TEST

/* Read-only: a schema-1 copy is read as it is and left as it is. */
START_TEST(test_read_only_v1)
{
	char path[512];
	struct store *st = NULL;
	struct store_txn *txn;
	char *cause = NULL, *schema = NULL;
	size_t n1, n2;
	struct stat before, after;

	snprintf(path, sizeof path, "%s/data.mdb", dir);
	copy_file(FIXTURE_V1, path);
	ck_assert_int_eq(stat(path, &before), 0);
	ck_assert_msg(store_open_ro(dir, &st, &cause) == 0, "%s", cause);
	ck_assert_int_eq(walk(st, STORE_VER, &n1), 0);
	ck_assert_uint_gt(n1, 0);
	ck_assert_int_eq(store_read_begin(st, &txn, &cause), 0);
	ck_assert_int_eq(store_meta_get(txn, "schema", &schema, &cause), 0);
	store_read_end(txn);
	ck_assert_str_eq(schema, "1");
	free(schema);
	store_close(st);
	ck_assert_int_eq(stat(path, &after), 0);
	ck_assert_int_eq(after.st_mtime, before.st_mtime);
	ck_assert_int_eq(after.st_size, before.st_size);

	/* The same records once upgraded. */
	st = fixture_store_open(dir, 64 * MIB);
	ck_assert_int_eq(walk(st, STORE_VER, &n2), 0);
	ck_assert_uint_eq(n2, n1);
	store_close(st);
}
END_TEST

START_TEST(test_read_only_missing)
{
	struct store *st = NULL;
	char *cause = NULL, path[512];

	snprintf(path, sizeof path, "%s/none", dir);
	ck_assert_int_eq(store_open_ro(path, &st, &cause), -1);
	ck_assert_ptr_null(st);
	ck_assert_msg(strstr(cause, path) != NULL, "%s", cause);
	free(cause);
	/* Nothing was created. */
	ck_assert_int_eq(access(path, F_OK), -1);
}
END_TEST

/* A newer store than this code knows is refused, saying so; the store is left as it is. */
START_TEST(test_newer_schema_refused)
{
	struct store *st = fixture_store_open(dir, 64 * MIB), *s2 = NULL;
	struct put_arg p = {STORE_META, "schema", "7", 1};
	char *cause = NULL;

	ck_assert_int_eq(store_write(st, put_fn, &p, &cause), 0);
	store_close(st);
	ck_assert_int_eq(store_open(dir, 64 * MIB, &s2, &cause), -1);
	ck_assert_ptr_null(s2);
	ck_assert_msg(strstr(cause, "schema 7, newer than this tsinvd's schema 2") != NULL, "%s",
	              cause);
	free(cause);
	cause = NULL;
	ck_assert_int_eq(store_open_ro(dir, &s2, &cause), -1);
	ck_assert_msg(strstr(cause, "newer") != NULL, "%s", cause);
	free(cause);
}
END_TEST

/* A backup while the store is open: a compacted, consistent copy that opens read-only with the
 * same records; an existing file is never overwritten. */
START_TEST(test_backup)
{
	struct store *st = fixture_store_open(dir, 64 * MIB), *copy = NULL;
	char file[1024], bdir[512], *cause = NULL;
	const char *v = NULL;
	size_t n;

	for (int i = 0; i < 50; i++) {
		char k[16], val[32];

		snprintf(k, sizeof k, "k%02d", i);
		snprintf(val, sizeof val, "value %d", i);
		put_text(st, STORE_VER, k, val);
	}
	snprintf(bdir, sizeof bdir, "%s/restore", dir);
	ck_assert_int_eq(mkdir(bdir, 0750), 0);
	snprintf(file, sizeof file, "%s/data.mdb", bdir);
	ck_assert_msg(store_backup(st, file, &cause) == 0, "%s", cause);
	ck_assert_int_eq(store_backup(st, file, &cause), -1);
	ck_assert_msg(strstr(cause, "exists") != NULL, "%s", cause);
	free(cause);
	cause = NULL;
	store_close(st);

	ck_assert_msg(store_open_ro(bdir, &copy, &cause) == 0, "%s", cause);
	ck_assert_int_eq(walk(copy, STORE_VER, &n), 0);
	ck_assert_uint_eq(n, 50);
	ck_assert_int_eq(get_text(copy, STORE_VER, "k42", &v, &cause), 0);
	ck_assert_str_eq(v, "value 42");
	store_close(copy);
}
END_TEST

static Suite *
store_crc_suite(void)
{
	Suite *s = suite_create("store_crc");
	TCase *tc = tcase_create("crc");

	tcase_add_unchecked_fixture(tc, fixture_root_setup, fixture_root_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_crc32c_vectors);
	tcase_add_test(tc, test_flipped_byte_detected);
	tcase_add_test(tc, test_sound_store_verifies);
	tcase_add_test(tc, test_upgrade_v1_fixture);
	tcase_add_test(tc, test_read_only_v1);
	tcase_add_test(tc, test_read_only_missing);
	tcase_add_test(tc, test_newer_schema_refused);
	tcase_add_test(tc, test_backup);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(store_crc_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
