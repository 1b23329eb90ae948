/* store.c: the one place that speaks LMDB: open, named dbs, keys, map growth, cursors. */
#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <lmdb.h>

#include "crc32c.h"
#include "log.h"
#include "store.h"
#include "tstime.h"

#define STORE_MAP_START (64u << 20)
/* A map this large costs only address space on 64-bit Linux (the file grows with its data), so
 * a store opens at min(cap, this) and the first big poll is written once, not redone per
 * doubling. Growth remains for caps above it. */
#define STORE_MAP_OPEN ((size_t)1 << (sizeof(size_t) > 4 ? 36 : 30))
/* Below this much free space, a commit that failed with EIO is taken for a full disk. */
#define STORE_LOW_SPACE (4u << 20)
#define STORE_CRC_LEN 4

static const char *const store_db_names[STORE__NDB] = {
    [STORE_META] = "meta",     [STORE_CUR] = "cur",     [STORE_VER] = "ver",
    [STORE_ADDR] = "addr",     [STORE_NAME] = "name",   [STORE_BLOB] = "blob",
    [STORE_EVENT] = "event",   [STORE_COVER] = "cover", [STORE_HOOKPOS] = "hookpos",
    [STORE_EVTIME] = "evtime", [STORE_MARK] = "mark",
};

static size_t store_map_open = STORE_MAP_OPEN;

struct store {
	MDB_env *env;
	MDB_dbi dbi[STORE__NDB];
	size_t map_max;
	char *dir;
	int crc;          /* every value ends with a CRC-32C of its key and value (schema >= 2) */
	int rdonly;       /* opened with store_open_ro: no write, no upgrade */
	char *damage;     /* the first damaged record a read found, for store_damage */
	uint64_t ndamage; /* how many reads found a damaged record */
	/* Read transactions open now. A listing keeps one across loop turns, and the map must not
	 * move under it: mdb_env_set_mapsize is only safe with none open in this process. */
	atomic_int nreads;
};

struct store_txn {
	struct store *st;
	MDB_txn *txn;
	int mapfull; /* a put or the commit hit MDB_MAP_FULL: abort, grow, redo */
};

struct store_cursor {
	MDB_cursor *cur;
	struct store_key prefix;
	struct store_txn *t;
	enum store_db db;
};

void
store_key_init(struct store_key *k)
{
	k->len = 0;
	k->bad = 0;
}

void
store_key_bytes(struct store_key *k, const void *p, size_t n)
{
	if (k->bad || n > sizeof(k->b) - k->len) {
		k->bad = 1;
		return;
	}
	memcpy(k->b + k->len, p, n);
	k->len += n;
}

void
store_key_u8(struct store_key *k, uint8_t v)
{
	store_key_bytes(k, &v, 1);
}

void
store_put_u64(void *p, uint64_t v)
{
	uint8_t *b = p;

	for (int i = 7; i >= 0; i--) {
		b[i] = v & 0xff;
		v >>= 8;
	}
}

uint64_t
store_get_u64(const void *p)
{
	const uint8_t *b = p;
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | b[i];
	return v;
}

/* Flipping the sign bit makes signed values sort correctly as unsigned big-endian bytes. */
void
store_put_i64(void *p, int64_t v)
{
	store_put_u64(p, (uint64_t)v ^ (UINT64_C(1) << 63));
}

int64_t
store_get_i64(const void *p)
{
	return (int64_t)(store_get_u64(p) ^ (UINT64_C(1) << 63));
}

void
store_key_u64(struct store_key *k, uint64_t v)
{
	uint8_t b[8];

	store_put_u64(b, v);
	store_key_bytes(k, b, 8);
}

void
store_key_i64(struct store_key *k, int64_t v)
{
	uint8_t b[8];

	store_put_i64(b, v);
	store_key_bytes(k, b, 8);
}

void
store_key_str(struct store_key *k, const char *s)
{
	store_key_bytes(k, s, strlen(s) + 1);
}

static char *
store_err(const char *what, int rc)
{
	return xasprintf("store: %s: %s", what, mdb_strerror(rc));
}

static int store_grow(struct store *st, char **cause);

/* The trailer of a value: CRC-32C over the key, then the value, big-endian. */
static uint32_t
store_crc(const void *k, size_t klen, const void *v, size_t vlen)
{
	return crc32c(crc32c(0, k, klen), v, vlen);
}

static void
store_crc_put(uint8_t *p, uint32_t c)
{
	p[0] = (uint8_t)(c >> 24);
	p[1] = (uint8_t)(c >> 16);
	p[2] = (uint8_t)(c >> 8);
	p[3] = (uint8_t)c;
}

static int
store_crc_ok(const MDB_val *mk, const MDB_val *mv)
{
	const uint8_t *v = mv->mv_data;
	uint8_t want[STORE_CRC_LEN];

	if (mv->mv_size < STORE_CRC_LEN)
		return 0;
	store_crc_put(want, store_crc(mk->mv_data, mk->mv_size, v, mv->mv_size - STORE_CRC_LEN));
	return memcmp(want, v + mv->mv_size - STORE_CRC_LEN, STORE_CRC_LEN) == 0;
}

/* "db ver, key 0011aa…": names a record for an operator; the key in hex, cut at 48 bytes. */
static char *
store_record_name(enum store_db db, const MDB_val *mk)
{
	char hex[2 * 48 + 4];
	size_t n = mk->mv_size < 48 ? mk->mv_size : 48;

	for (size_t i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", ((const uint8_t *)mk->mv_data)[i]);
	if (n < mk->mv_size)
		strcpy(hex + 2 * n, "...");
	return xasprintf("db %s, key %s", store_db_names[db], n ? hex : "(empty)");
}

/* Checks a value read from DB and strips its trailer into OUT. A damaged one is remembered by the
 * store (the daemon reports it) and gets a cause that names it; 0 or -1. */
static int
store_check(struct store *st, enum store_db db, const MDB_val *mk, const MDB_val *mv,
            struct store_val *out, char **cause)
{
	char *what;

	if (!st->crc) {
		out->data = mv->mv_data;
		out->len = mv->mv_size;
		return 0;
	}
	if (store_crc_ok(mk, mv)) {
		out->data = mv->mv_data;
		out->len = mv->mv_size - STORE_CRC_LEN;
		return 0;
	}
	what = store_record_name(db, mk);
	st->ndamage++;
	if (st->damage == NULL)
		st->damage =
		    xasprintf("store %s: damaged record (%s): checksum mismatch", st->dir, what);
	if (cause != NULL)
		*cause = xasprintf("store %s: damaged record (%s): checksum mismatch; run "
		                   "\"tsinvctl store verify\" and restore a backup",
		                   st->dir, what);
	else
		log_warnx("store %s: damaged record (%s): checksum mismatch", st->dir, what);
	free(what);
	return -1;
}

/* A failed commit's cause. A full file system shows through LMDB as EIO as often as ENOSPC (a
 * short write), so the free space decides what the operator is told. */
static char *
store_commit_err(struct store *st, int rc)
{
	struct statvfs vfs;
	unsigned long long avail;

	if ((rc == EIO || rc == ENOSPC || rc == EFBIG) && statvfs(st->dir, &vfs) == 0) {
		avail = (unsigned long long)vfs.f_bavail * vfs.f_frsize;
		if (rc == ENOSPC || avail < STORE_LOW_SPACE)
			return xasprintf(
			    "store: commit: no space left on the device of %s (%llu KiB "
			    "free)",
			    st->dir, avail >> 10);
	}
	return store_err("commit", rc);
}

/* Puts KEY -> VALUE with its trailer when the store has checksums. */
static int
store_raw_put(struct store *st, MDB_txn *txn, MDB_dbi dbi, MDB_val *mk, const void *v, size_t vlen,
              unsigned flags)
{
	uint8_t stack[4096], *buf = stack;
	MDB_val mv;
	int rc;

	if (!st->crc) {
		mv.mv_size = vlen;
		mv.mv_data = (void *)v;
		return mdb_put(txn, dbi, mk, &mv, flags);
	}
	/* A copy, not MDB_RESERVE: V may point into the map, at a page this put moves. */
	if (vlen + STORE_CRC_LEN > sizeof stack)
		buf = xmalloc(vlen + STORE_CRC_LEN);
	if (vlen > 0)
		memcpy(buf, v, vlen);
	store_crc_put(buf + vlen, store_crc(mk->mv_data, mk->mv_size, v, vlen));
	mv.mv_size = vlen + STORE_CRC_LEN;
	mv.mv_data = buf;
	rc = mdb_put(txn, dbi, mk, &mv, flags);
	if (buf != stack)
		free(buf);
	return rc;
}

/* The schema number in VALUE (with or without a trailer: schema 1 had none), or -1. */
static int
store_schema_of(const MDB_val *mk, const MDB_val *mv)
{
	char buf[32], *end;
	size_t n = mv->mv_size;
	long have;

	if (store_crc_ok(mk, mv))
		n -= STORE_CRC_LEN;
	if (n == 0 || n >= sizeof buf)
		return -1;
	memcpy(buf, mv->mv_data, n);
	buf[n] = '\0';
	have = strtol(buf, &end, 10);
	if (*end != '\0' || have < 0 || have > 1000000)
		return -1;
	return (int)have;
}

/* Schema 1 -> 2: every value of every db gains its checksum, in one transaction. RECORDS counts
 * them. Each record is rewritten by key and the walk goes on from that key: a resized value can
 * split a page under a cursor. The result is walked once more before it may be committed.
 * MDB_MAP_FULL is returned as it is, so that the caller grows the map and runs it again. */
static int
store_upgrade_crc(struct store *st, MDB_txn *txn, uint64_t *records)
{
	MDB_cursor *cur;
	MDB_val mk, mv, nk, nv;
	uint8_t *copy = NULL, kbuf[STORE_KEYMAX];
	size_t cap = 0;
	uint64_t n, checked;
	int rc = 0;

	*records = 0;
	for (int i = 0; i < STORE__NDB && rc == 0; i++) {
		if ((rc = mdb_cursor_open(txn, st->dbi[i], &cur)) != 0)
			break;
		n = checked = 0;
		for (rc = mdb_cursor_get(cur, &mk, &mv, MDB_FIRST); rc == 0;
		     rc = mdb_cursor_get(cur, &mk, &mv, MDB_NEXT)) {
			if (mk.mv_size > sizeof kbuf) {
				rc = MDB_BAD_VALSIZE;
				break;
			}
			if (mv.mv_size + STORE_CRC_LEN > cap) {
				cap = mv.mv_size + STORE_CRC_LEN;
				copy = xrealloc(copy, cap);
			}
			memcpy(kbuf, mk.mv_data, mk.mv_size);
			if (mv.mv_size > 0)
				memcpy(copy, mv.mv_data, mv.mv_size);
			nk.mv_data = kbuf;
			nk.mv_size = mk.mv_size;
			store_crc_put(copy + mv.mv_size,
			              store_crc(kbuf, nk.mv_size, copy, mv.mv_size));
			nv.mv_data = copy;
			nv.mv_size = mv.mv_size + STORE_CRC_LEN;
			if ((rc = mdb_put(txn, st->dbi[i], &nk, &nv, 0)) != 0)
				break;
			n++;
			/* Back to where the walk was, whatever the put did to the pages. */
			mk = nk;
			if ((rc = mdb_cursor_get(cur, &mk, &mv, MDB_SET)) != 0)
				break;
		}
		if (rc == MDB_NOTFOUND)
			rc = 0;
		for (int r = rc ? 1 : mdb_cursor_get(cur, &mk, &mv, MDB_FIRST); r == 0;
		     r = mdb_cursor_get(cur, &mk, &mv, MDB_NEXT)) {
			checked++;
			if (!store_crc_ok(&mk, &mv)) {
				log_warnx("store %s: upgrade: db %s: a record was not rewritten",
				          st->dir, store_db_names[i]);
				rc = MDB_CORRUPTED;
				break;
			}
		}
		if (rc == 0 && checked != n) {
			log_warnx("store %s: upgrade: db %s: %llu records rewritten, %llu found",
			          st->dir, store_db_names[i], (unsigned long long)n,
			          (unsigned long long)checked);
			rc = MDB_CORRUPTED;
		}
		*records += n;
		mdb_cursor_close(cur);
	}
	free(copy);
	return rc;
}

static int
store_upgrade(struct store *st, int from, char **cause)
{
	MDB_val k = {.mv_size = 6, .mv_data = "schema"};
	char buf[16];
	uint64_t records = 0;
	tstime_t t0 = tstime_now();
	MDB_txn *txn;
	int rc;

	log_notice("store %s: upgrading from schema %d to %d in one transaction", st->dir, from,
	           STORE_SCHEMA);
	for (;;) {
		if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) != 0)
			break;
		st->crc = 0;
		rc = store_upgrade_crc(st, txn, &records);
		st->crc = 1;
		snprintf(buf, sizeof buf, "%d", STORE_SCHEMA);
		if (rc == 0)
			rc = store_raw_put(st, txn, st->dbi[STORE_META], &k, buf, strlen(buf), 0);
		if (rc == 0)
			rc = mdb_txn_commit(txn); /* frees the txn, whatever it returns */
		else
			mdb_txn_abort(txn);
		if (rc != MDB_MAP_FULL)
			break;
		if (store_grow(st, cause) == -1) {
			st->crc = 0;
			return -1;
		}
	}
	if (rc != 0) {
		st->crc = 0;
		*cause = xasprintf("store %s: upgrade from schema %d: %s (the store is as it was)",
		                   st->dir, from, mdb_strerror(rc));
		return -1;
	}
	log_notice("store %s: upgraded to schema %d: %llu records checksummed in %lld ms", st->dir,
	           STORE_SCHEMA, (unsigned long long)records,
	           (long long)((tstime_now() - t0) / 1000));
	return 0;
}

static int
store_init_meta(struct store *st, char **cause)
{
	MDB_txn *txn;
	MDB_val k, v;
	char buf[64];
	int rc, have;

	if ((rc = mdb_txn_begin(st->env, NULL, st->rdonly ? MDB_RDONLY : 0, &txn)) != 0) {
		*cause = store_err("begin", rc);
		return -1;
	}
	for (int i = 0; i < STORE__NDB; i++) {
		rc = mdb_dbi_open(txn, store_db_names[i], st->rdonly ? 0 : MDB_CREATE, &st->dbi[i]);
		if (rc != 0) {
			mdb_txn_abort(txn);
			*cause = rc == MDB_NOTFOUND
			             ? xasprintf("store %s is not a tsinv store (no \"%s\" db)",
			                         st->dir, store_db_names[i])
			             : store_err(store_db_names[i], rc);
			return -1;
		}
	}
	k.mv_data = "schema";
	k.mv_size = strlen("schema");
	rc = mdb_get(txn, st->dbi[STORE_META], &k, &v);
	if (rc == 0) {
		have = store_schema_of(&k, &v);
		if (have != 1 && have != STORE_SCHEMA) {
			mdb_txn_abort(txn);
			if (have > STORE_SCHEMA)
				*cause = xasprintf("store %s has schema %d, newer than this "
				                   "tsinvd's schema %d: it was "
				                   "written by a later release; run that release "
				                   "(or restore a backup "
				                   "this one wrote)",
				                   st->dir, have, STORE_SCHEMA);
			else
				*cause =
				    xasprintf("store %s has schema %d; this tsinvd knows schema %d",
				              st->dir, have, STORE_SCHEMA);
			return -1;
		}
		st->crc = have >= 2;
		/* Committed, not aborted: the dbi handles opened here must outlive the txn. */
		if ((rc = mdb_txn_commit(txn)) != 0) {
			*cause = store_err("open databases", rc);
			return -1;
		}
		if (have < STORE_SCHEMA && st->rdonly) {
			log_notice("store %s: schema %d, read as it is (read-only: not upgraded)",
			           st->dir, have);
			return 0;
		}
		return have < STORE_SCHEMA ? store_upgrade(st, have, cause) : 0;
	}
	if (rc != MDB_NOTFOUND || st->rdonly) {
		mdb_txn_abort(txn);
		*cause = rc == MDB_NOTFOUND
		             ? xasprintf("store %s is empty: nothing to read", st->dir)
		             : store_err("read schema", rc);
		return -1;
	}
	/* A new store: record the schema and a random instance id. */
	uint8_t rnd[16];
	char id[33];
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		mdb_txn_abort(txn);
		*cause = xasprintf("store: getrandom: %s", strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(id + 2 * i, 3, "%02x", rnd[i]);
	snprintf(buf, sizeof(buf), "%d", STORE_SCHEMA);
	st->crc = 1;
	rc = store_raw_put(st, txn, st->dbi[STORE_META], &k, buf, strlen(buf), 0);
	if (rc == 0) {
		k.mv_data = "instance";
		k.mv_size = strlen("instance");
		rc = store_raw_put(st, txn, st->dbi[STORE_META], &k, id, strlen(id), 0);
	}
	if (rc == 0)
		rc = mdb_txn_commit(txn);
	else
		mdb_txn_abort(txn);
	if (rc != 0) {
		*cause = store_err("initialise", rc);
		return -1;
	}
	return 0;
}

static int
store_open_env(const char *dir, size_t map_max, int rdonly, struct store **out, char **cause)
{
	struct store *st;
	struct stat sb;
	int rc, dead = 0;

	if (stat(dir, &sb) == -1) {
		if (rdonly || errno != ENOENT || mkdir(dir, 0750) == -1) {
			*cause = xasprintf("store: %s: %s", dir, strerror(errno));
			return -1;
		}
	} else if (!S_ISDIR(sb.st_mode)) {
		*cause = xasprintf("store: %s is not a directory", dir);
		return -1;
	}
	st = xcalloc(1, sizeof(*st));
	st->dir = xstrdup(dir);
	st->rdonly = rdonly;
	/* map_size_max is honoured down to the configuration's minimum: a small cap starts small.
	 */
	st->map_max = map_max == 0 ? STORE_MAP_START : map_max;
	if ((rc = mdb_env_create(&st->env)) != 0 ||
	    (rc = mdb_env_set_maxdbs(st->env, STORE__NDB)) != 0 ||
	    (rc = mdb_env_set_mapsize(
	         st->env, st->map_max < store_map_open ? st->map_max : store_map_open)) != 0) {
		*cause = store_err("create", rc);
		goto fail;
	}
	/* MDB_NOTLS: read txns are tied to their handle, not the thread. Default sync: every
	 * commit is durable (one commit per poll costs ~1 ms here). */
	if ((rc = mdb_env_open(st->env, dir, MDB_NOTLS | (rdonly ? MDB_RDONLY : 0), 0640)) != 0) {
		*cause = xasprintf("store: open %s: %s", dir, mdb_strerror(rc));
		goto fail;
	}
	if ((rc = mdb_reader_check(st->env, &dead)) != 0) {
		*cause = store_err("reader check", rc);
		goto fail;
	}
	if (dead > 0)
		log_notice("store: cleared %d stale reader slot(s)", dead);
	if (store_init_meta(st, cause) == -1)
		goto fail;
	*out = st;
	return 0;
fail:
	store_close(st);
	return -1;
}

void
store_set_map_open(size_t size)
{
	store_map_open = size == 0 ? STORE_MAP_OPEN : size;
}

int
store_open(const char *dir, size_t map_max, struct store **out, char **cause)
{
	return store_open_env(dir, map_max, 0, out, cause);
}

int
store_open_ro(const char *dir, struct store **out, char **cause)
{
	return store_open_env(dir, 0, 1, out, cause);
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	if (st->env != NULL)
		mdb_env_close(st->env);
	free(st->damage);
	free(st->dir);
	free(st);
}

const char *
store_path(struct store *st)
{
	return st->dir;
}

void
store_sizes(struct store *st, uint64_t *used, uint64_t *mapsize)
{
	MDB_envinfo info;
	MDB_stat stat;

	mdb_env_info(st->env, &info);
	mdb_env_stat(st->env, &stat);
	*used = (uint64_t)(info.me_last_pgno + 1) * stat.ms_psize;
	*mapsize = info.me_mapsize;
}

static int
store_grow(struct store *st, char **cause)
{
	MDB_envinfo info;
	size_t next;
	int rc, n;

	mdb_env_info(st->env, &info);
	if (info.me_mapsize >= st->map_max) {
		*cause = xasprintf("store: full at %zu MiB (map_size_max)", info.me_mapsize >> 20);
		return -1;
	}
	if ((n = atomic_load(&st->nreads)) > 0) {
		*cause = xasprintf("store: the map (%zu MiB) is full and cannot grow while %d "
		                   "read%s open (a long reply); nothing was written",
		                   info.me_mapsize >> 20, n, n == 1 ? " is" : "s are");
		return -1;
	}
	next = info.me_mapsize * 2;
	if (next > st->map_max)
		next = st->map_max;
	if ((rc = mdb_env_set_mapsize(st->env, next)) != 0) {
		*cause = store_err("grow map", rc);
		return -1;
	}
	log_info("store: map grown to %zu MiB", next >> 20);
	return 0;
}

int
store_write(struct store *st, store_write_fn fn, void *arg, char **cause)
{
	struct store_txn t = {.st = st};
	int rc;

	for (;;) {
		t.mapfull = 0;
		if ((rc = mdb_txn_begin(st->env, NULL, 0, &t.txn)) != 0) {
			if (rc == MDB_MAP_RESIZED && mdb_env_set_mapsize(st->env, 0) == 0)
				continue;
			*cause = store_err("begin", rc);
			return -1;
		}
		char *fcause = NULL;
		rc = fn(&t, arg, &fcause);
		if (rc != 0 && !t.mapfull) {
			mdb_txn_abort(t.txn);
			*cause = fcause;
			return rc;
		}
		free(fcause);
		if (!t.mapfull) {
			rc = mdb_txn_commit(t.txn);
			if (rc == 0)
				return 0;
			if (rc != MDB_MAP_FULL) {
				*cause = store_commit_err(st, rc);
				return -1;
			}
		} else
			mdb_txn_abort(t.txn);
		if (store_grow(st, cause) == -1)
			return -1;
	}
}

int
store_read_begin(struct store *st, struct store_txn **out, char **cause)
{
	struct store_txn *t = xcalloc(1, sizeof(*t));
	int rc;

	t->st = st;
	if ((rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &t->txn)) != 0) {
		free(t);
		*cause = store_err("read", rc);
		return -1;
	}
	atomic_fetch_add(&st->nreads, 1);
	*out = t;
	return 0;
}

void
store_read_end(struct store_txn *t)
{
	if (t == NULL)
		return;
	atomic_fetch_sub(&t->st->nreads, 1);
	mdb_txn_abort(t->txn);
	free(t);
}

static int
store_txn_fail(struct store_txn *t, const char *what, int rc, char **cause)
{
	if (rc == MDB_MAP_FULL)
		t->mapfull = 1;
	if (cause != NULL)
		*cause = store_err(what, rc);
	return -1;
}

int
store_get(struct store_txn *t, enum store_db db, const struct store_key *k, struct store_val *v,
          char **cause)
{
	MDB_val mk = {.mv_size = k->len, .mv_data = (void *)k->b}, mv;
	int rc;

	if (k->bad) {
		*cause = xasprintf("store: key too long");
		return -1;
	}
	rc = mdb_get(t->txn, t->st->dbi[db], &mk, &mv);
	if (rc == MDB_NOTFOUND)
		return 1;
	if (rc != 0)
		return store_txn_fail(t, "get", rc, cause);
	return store_check(t->st, db, &mk, &mv, v, cause);
}

int
store_put(struct store_txn *t, enum store_db db, const struct store_key *k, const void *v,
          size_t vlen, char **cause)
{
	MDB_val mk = {.mv_size = k->len, .mv_data = (void *)k->b};
	int rc;

	if (k->bad) {
		*cause = xasprintf("store: key too long");
		return -1;
	}
	if ((rc = store_raw_put(t->st, t->txn, t->st->dbi[db], &mk, v, vlen, 0)) != 0)
		return store_txn_fail(t, "put", rc, cause);
	return 0;
}

int
store_del(struct store_txn *t, enum store_db db, const struct store_key *k, char **cause)
{
	MDB_val mk = {.mv_size = k->len, .mv_data = (void *)k->b};
	int rc;

	if (k->bad) {
		*cause = xasprintf("store: key too long");
		return -1;
	}
	rc = mdb_del(t->txn, t->st->dbi[db], &mk, NULL);
	if (rc == MDB_NOTFOUND)
		return 1;
	if (rc != 0)
		return store_txn_fail(t, "del", rc, cause);
	return 0;
}

int
store_cursor_open(struct store_txn *t, enum store_db db, struct store_cursor **out, char **cause)
{
	struct store_cursor *c = xcalloc(1, sizeof(*c));
	int rc;

	if ((rc = mdb_cursor_open(t->txn, t->st->dbi[db], &c->cur)) != 0) {
		free(c);
		return store_txn_fail(t, "cursor", rc, cause);
	}
	c->t = t;
	c->db = db;
	*out = c;
	return 0;
}

void
store_cursor_close(struct store_cursor *c)
{
	if (c == NULL)
		return;
	mdb_cursor_close(c->cur);
	free(c);
}

static int
store_cursor_report(struct store_cursor *c, int rc, MDB_val *mk, MDB_val *mv, struct store_val *key,
                    struct store_val *val)
{
	if (rc != 0)
		return 1;
	if (mk->mv_size < c->prefix.len || memcmp(mk->mv_data, c->prefix.b, c->prefix.len) != 0)
		return 1;
	if (key != NULL) {
		key->data = mk->mv_data;
		key->len = mk->mv_size;
	}
	/* A damaged record ends the walk: -1, and the store remembers it (store_damage). */
	if (c->t->st->crc) {
		struct store_val v;

		if (store_check(c->t->st, c->db, mk, mv, &v, NULL) == -1)
			return -1;
		if (val != NULL)
			*val = v;
		return 0;
	}
	if (val != NULL) {
		val->data = mv->mv_data;
		val->len = mv->mv_size;
	}
	return 0;
}

int
store_cursor_seek(struct store_cursor *c, const struct store_key *k, const struct store_key *prefix,
                  struct store_val *key, struct store_val *val)
{
	MDB_val mk = {.mv_size = k->len, .mv_data = (void *)k->b}, mv;

	c->prefix = *prefix;
	if (k->bad || prefix->bad)
		return 1;
	return store_cursor_report(c, mdb_cursor_get(c->cur, &mk, &mv, MDB_SET_RANGE), &mk, &mv,
	                           key, val);
}

int
store_cursor_last(struct store_cursor *c, const struct store_key *prefix, struct store_val *key,
                  struct store_val *val)
{
	struct store_key past = *prefix;
	MDB_val mk, mv;
	int rc, i;

	c->prefix = *prefix;
	if (prefix->bad)
		return 1;
	/* Seek to the first key after every key with this prefix, then step back one. */
	for (i = (int)past.len - 1; i >= 0 && past.b[i] == 0xff; i--)
		past.len--;
	if (i < 0) {
		rc = mdb_cursor_get(c->cur, &mk, &mv, MDB_LAST);
	} else {
		past.b[i]++;
		past.len = (size_t)i + 1;
		mk.mv_size = past.len;
		mk.mv_data = past.b;
		rc = mdb_cursor_get(c->cur, &mk, &mv, MDB_SET_RANGE);
		if (rc == 0)
			rc = mdb_cursor_get(c->cur, &mk, &mv, MDB_PREV);
		else if (rc == MDB_NOTFOUND)
			rc = mdb_cursor_get(c->cur, &mk, &mv, MDB_LAST);
	}
	return store_cursor_report(c, rc, &mk, &mv, key, val);
}

int
store_cursor_step(struct store_cursor *c, int dir, struct store_val *key, struct store_val *val)
{
	MDB_val mk, mv;

	return store_cursor_report(
	    c, mdb_cursor_get(c->cur, &mk, &mv, dir > 0 ? MDB_NEXT : MDB_PREV), &mk, &mv, key, val);
}

int
store_meta_get(struct store_txn *t, const char *name, char **out, char **cause)
{
	struct store_key k;
	struct store_val v;
	int rc;

	store_key_init(&k);
	store_key_bytes(&k, name, strlen(name));
	if ((rc = store_get(t, STORE_META, &k, &v, cause)) != 0)
		return rc;
	*out = xmalloc(v.len + 1);
	memcpy(*out, v.data, v.len);
	(*out)[v.len] = '\0';
	return 0;
}

int
store_meta_put(struct store_txn *t, const char *name, const char *value, char **cause)
{
	struct store_key k;

	store_key_init(&k);
	store_key_bytes(&k, name, strlen(name));
	return store_put(t, STORE_META, &k, value, strlen(value), cause);
}

uint64_t
store_damage(struct store *st, const char **first)
{
	if (first != NULL)
		*first = st->damage;
	return st->ndamage;
}

int
store_verify(struct store *st, store_verify_fn fn, void *arg, uint64_t *records, char **cause)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val mk, mv;
	uint64_t bad = 0;
	int rc = 0;

	*records = 0;
	if ((rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn)) != 0) {
		*cause = store_err("verify", rc);
		return -1;
	}
	for (int i = 0; i < STORE__NDB; i++) {
		if ((rc = mdb_cursor_open(txn, st->dbi[i], &cur)) != 0)
			break;
		for (rc = mdb_cursor_get(cur, &mk, &mv, MDB_FIRST); rc == 0;
		     rc = mdb_cursor_get(cur, &mk, &mv, MDB_NEXT)) {
			(*records)++;
			if (st->crc && !store_crc_ok(&mk, &mv)) {
				char *what = store_record_name((enum store_db)i, &mk);

				bad++;
				fn(arg, what, "checksum mismatch");
				free(what);
			}
		}
		mdb_cursor_close(cur);
		if (rc != MDB_NOTFOUND) {
			/* The tree itself is damaged: what is past this point cannot be walked. */
			char *what = xasprintf("db %s", store_db_names[i]);

			bad++;
			fn(arg, what, mdb_strerror(rc));
			free(what);
		}
		rc = 0;
	}
	mdb_txn_abort(txn);
	if (rc != 0) {
		*cause = store_err("verify", rc);
		return -1;
	}
	return bad > 0 ? 1 : 0;
}

int
store_backup(struct store *st, const char *path, char **cause)
{
	int fd, rc;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640)) == -1) {
		*cause = xasprintf("backup %s: %s", path, strerror(errno));
		return -1;
	}
	/* A compacting copy in one read transaction: consistent, and free pages left out. */
	if ((rc = mdb_env_copyfd2(st->env, fd, MDB_CP_COMPACT)) != 0 || fsync(fd) == -1) {
		*cause = xasprintf("backup %s: %s", path, rc ? mdb_strerror(rc) : strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	if (close(fd) == -1) {
		*cause = xasprintf("backup %s: %s", path, strerror(errno));
		unlink(path);
		return -1;
	}
	return 0;
}

int
store_db_stats(struct store *st, store_stat_fn fn, void *arg, char **cause)
{
	MDB_txn *txn;
	MDB_stat ms;
	int rc;

	if ((rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn)) != 0) {
		*cause = store_err("stat", rc);
		return -1;
	}
	for (int i = 0; i < STORE__NDB; i++) {
		if ((rc = mdb_stat(txn, st->dbi[i], &ms)) != 0) {
			mdb_txn_abort(txn);
			*cause = store_err(store_db_names[i], rc);
			return -1;
		}
		fn(arg, store_db_names[i], (uint64_t)ms.ms_entries,
		   (uint64_t)(ms.ms_branch_pages + ms.ms_leaf_pages + ms.ms_overflow_pages) *
		       ms.ms_psize);
	}
	mdb_txn_abort(txn);
	return 0;
}

int
store_schema(struct store *st)
{
	return st->crc ? STORE_SCHEMA : 1;
}

int
store_read_only(struct store *st)
{
	return st->rdonly;
}
