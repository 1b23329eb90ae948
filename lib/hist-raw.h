/* hist-raw.h: a devices answer as bytes: the raw record kept beside each device's current record
 * (the hash of the element it was made from), and the answer's checks and plan without a tree. */
#ifndef TSINV_HIST_RAW_H
#define TSINV_HIST_RAW_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>

#include "jscan.h"
#include "store.h"
#include "tstime.h"

/* A device's raw record, in STORE_CUR beside its current record under this kind byte: the hash
 * of the element's bytes that record was made from, and what a poll needs of a device whose
 * bytes come again unchanged (node key expiry, flags) without parsing them. */
#define HIST_RAW_KIND 'r'
#define HIST_RAW_HASH 32
#define HIST_RAW_F_KEY_EXPIRY_DISABLED 0x1
#define HIST_RAW_F_ONLINE 0x2
#define HIST_RAW_F_MULTI 0x4

/* The raw records of a tailnet, by hash: open addressing, a power of two slots. */
struct hist_raw_ent {
	unsigned char h[HIST_RAW_HASH];
	char *id; /* NULL: a free slot */
	tstime_t expires;
	uint32_t flags;
};
struct hist_raw_tab {
	struct hist_raw_ent *e;
	size_t mask, n;
};

/* The hash of BYTES (LEN) under the salt, into H, with CTX (NULL: one of its own). */
void hist_raw_hash(EVP_MD_CTX *ctx, const char *bytes, size_t len, unsigned char h[HIST_RAW_HASH]);
void hist_raw_hex(const unsigned char h[HIST_RAW_HASH], char out[2 * HIST_RAW_HASH + 1]);
/* Device ID's raw record: the hash H of the bytes it was made from, its key expiry, its flags. */
int hist_raw_put(struct store_txn *txn, const char *tailnet, const char *id,
                 const unsigned char h[HIST_RAW_HASH], tstime_t expires, uint32_t flags,
                 char **cause);
int hist_raw_del(struct store_txn *txn, const char *tailnet, const char *id, char **cause);
/* The raw records of TAILNET into *T, by hash (hist_raw_tab_free frees it). 0, or -1. */
int hist_raw_load(struct store_txn *txn, const char *tailnet, struct hist_raw_tab *t, char **cause);
/* Deletes every raw record of TAILNET (none is to be trusted). 0, or -1 with *cause. */
int hist_raw_clear(struct store_txn *txn, const char *tailnet, char **cause);
const struct hist_raw_ent *hist_raw_find(struct hist_raw_tab *t,
                                         const unsigned char h[HIST_RAW_HASH]);
void hist_raw_tab_free(struct hist_raw_tab *t);

/* Outside the elements of its list (JS; NULL: there is none), BODY is checked as jansson checks
 * a whole body (duplicate keys, numbers out of range): the answers refused are the same as when
 * the whole body was parsed. 0, or -1 with *cause. */
int hist_raw_rest(const char *body, size_t len, const struct jscan *js, char **cause);

#endif
