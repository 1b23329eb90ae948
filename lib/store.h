/* store.h: the LMDB environment behind one wrapper: named dbs, big-endian composite keys, map
 * growth on MDB_MAP_FULL (abort, grow, redo), stale-reader check at open, schema version. */
#ifndef TSINV_STORE_H
#define TSINV_STORE_H

#include <stddef.h>
#include <stdint.h>

/* 1: the first; 2: every value ends with a CRC-32C of its key and value (upgraded at open). */
#define STORE_SCHEMA 2
#define STORE_KEYMAX 511 /* LMDB's default maximum key size */

enum store_db {
	STORE_META,    /* name -> value */
	STORE_CUR,     /* tailnet, kind, id -> current record */
	STORE_VER,     /* tailnet, kind, id, from_hi -> version */
	STORE_ADDR,    /* tailnet, addr16, from_hi -> address interval */
	STORE_NAME,    /* tailnet, lower-cased name, from_hi, id -> nothing */
	STORE_BLOB,    /* sha256 -> bytes */
	STORE_EVENT,   /* seq -> event JSON */
	STORE_COVER,   /* tailnet, endpoint, poll time -> coverage row */
	STORE_HOOKPOS, /* hook name -> cursor */
	STORE_EVTIME,  /* event time, seq -> nothing: finds events by time */
	STORE_MARK, /* tailnet, kind, id, what -> when: one-shot facts (an expiry warning fired) */
	STORE__NDB
};

struct store;
struct store_txn;
struct store_cursor;

struct store_val {
	const void *data; /* valid until the transaction ends */
	size_t len;
};

/* A composite key under construction. Fields append in order; too long a key sets .bad. */
struct store_key {
	uint8_t b[STORE_KEYMAX];
	size_t len;
	int bad;
};

void store_key_init(struct store_key *k);
void store_key_u8(struct store_key *k, uint8_t v);
void store_key_u64(struct store_key *k, uint64_t v);    /* big-endian */
void store_key_i64(struct store_key *k, int64_t v);     /* big-endian, sign bit flipped: sorts */
void store_key_str(struct store_key *k, const char *s); /* bytes then a NUL */
void store_key_bytes(struct store_key *k, const void *p, size_t n);

uint64_t store_get_u64(const void *p); /* big-endian readers for values and keys */
int64_t store_get_i64(const void *p);
void store_put_u64(void *p, uint64_t v);
void store_put_i64(void *p, int64_t v);

/* Opens (creating) the environment in DIR with a map of MAP_MAX bytes (0: 64 MiB), or of 64 GiB
 * growing up to MAP_MAX when the cap is larger (the file grows with its data, not the map).
 * Checks the schema version (an older store is upgraded in place, in one transaction; a newer one
 * is refused), clears stale readers. 0, or -1 and *cause. */
int store_open(const char *dir, size_t map_max, struct store **out, char **cause);
/* Opens an existing store for reading only (a backup, last year's copy): no write, no upgrade;
 * an older schema is read as it is. */
int store_open_ro(const char *dir, struct store **out, char **cause);
void store_close(struct store *st);
/* The map a store opens with when its cap is larger (0: 64 GiB); tests lower it to reach the
 * growth path with little data. Affects later store_open calls. */
void store_set_map_open(size_t size);
/* Bytes used by the data file, and the current map size. */
void store_sizes(struct store *st, uint64_t *used, uint64_t *mapsize);
const char *store_path(struct store *st);

/* A write: FN runs inside one write transaction; returning 0 commits, anything else aborts and
 * is returned. If the map fills (in FN or at commit), the txn is aborted, the map doubled (up to
 * the cap) and FN run again from scratch, so FN must not keep state from a previous run. Returns
 * 0, FN's non-zero value, or -1 with *cause for a store error (map cap reached, I/O). */
typedef int (*store_write_fn)(struct store_txn *txn, void *arg, char **cause);
int store_write(struct store *st, store_write_fn fn, void *arg, char **cause);

/* A short read transaction; never held across loop turns. */
int store_read_begin(struct store *st, struct store_txn **out, char **cause);
void store_read_end(struct store_txn *txn);

/* 0 found, 1 not found, -1 error (cause set, write txn poisoned). */
int store_get(struct store_txn *txn, enum store_db db, const struct store_key *k,
              struct store_val *v, char **cause);
/* 0, or -1 with cause; MDB_MAP_FULL is reported so that store_write can grow and redo. */
int store_put(struct store_txn *txn, enum store_db db, const struct store_key *k, const void *v,
              size_t vlen, char **cause);
/* 0 deleted, 1 not found, -1 error. */
int store_del(struct store_txn *txn, enum store_db db, const struct store_key *k, char **cause);

/* Cursors over keys starting with a prefix, in key order (or reverse). */
int store_cursor_open(struct store_txn *txn, enum store_db db, struct store_cursor **out,
                      char **cause);
void store_cursor_close(struct store_cursor *c);
/* Positions at the first key >= K (SEEK) and reports it if it starts with PREFIX: 0 found, 1 no
 * such key. */
int store_cursor_seek(struct store_cursor *c, const struct store_key *k,
                      const struct store_key *prefix, struct store_val *key, struct store_val *val);
/* Positions at the last key that starts with PREFIX: 0 found, 1 none. */
int store_cursor_last(struct store_cursor *c, const struct store_key *prefix, struct store_val *key,
                      struct store_val *val);
/* Moves forward (dir 1) or back (dir -1) while keys start with the prefix of the last seek.
 * The three return -1 at a damaged record (see store_damage). */
int store_cursor_step(struct store_cursor *c, int dir, struct store_val *key,
                      struct store_val *val);

/* Damaged records that reads met since the store was opened (a checksum that does not match:
 * the read failed, naming the record), and the first one's description. */
uint64_t store_damage(struct store *st, const char **first);

/* Walks every record of every db in one read transaction and checks it; FN is told of each
 * damaged one (WHAT names the db and key, WHY says what is wrong). 0 all sound, 1 damage found,
 * -1 with *cause when the walk could not run. */
typedef void (*store_verify_fn)(void *arg, const char *what, const char *why);
int store_verify(struct store *st, store_verify_fn fn, void *arg, uint64_t *records, char **cause);

/* Writes a consistent, compacted copy of the data file to PATH (created; never overwritten),
 * while writers go on. Restore: the copy becomes data.mdb of an empty state_dir. */
int store_backup(struct store *st, const char *path, char **cause);

/* FN(ARG, db name, records, bytes in its pages) for each db, in one read transaction. */
typedef void (*store_stat_fn)(void *arg, const char *db, uint64_t records, uint64_t bytes);
int store_db_stats(struct store *st, store_stat_fn fn, void *arg, char **cause);
/* The schema the store is read as (an old one stays old when opened read-only). */
int store_schema(struct store *st);
int store_read_only(struct store *st);

/* meta helpers: values are NUL-terminated text (JSON). */
int store_meta_get(struct store_txn *txn, const char *name, char **out, char **cause);
int store_meta_put(struct store_txn *txn, const char *name, const char *value, char **cause);

#endif
