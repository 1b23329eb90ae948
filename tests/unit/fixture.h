/* fixture.h: what the store-backed unit tests share: a temporary root per tcase, a fresh
 * directory per test, stores opened or failing loudly, and text helpers for messages. */
#ifndef TSINV_FIXTURE_H
#define TSINV_FIXTURE_H

#include <stddef.h>
#include <jansson.h>

#include "store.h"
#include "tstime.h"

/* Unchecked fixture (made and removed in the parent process, so that it goes away even when a
 * forked test fails): /tmp/PROGRAM.XXXXXX. */
void fixture_root_setup(void);
void fixture_root_teardown(void);

/* A new empty directory below the root for one test, and its removal with all it holds. */
const char *fixture_dir_new(void);
void fixture_dir_remove(const char *dir);

/* store_open of PATH, failing the test with the cause if it fails. */
struct store *fixture_store_open(const char *path, size_t map_max);

/* One of 16 rotating 4 KiB buffers, so that several results can sit in one assert. */
char *fixture_buf(void);
/* T as RFC 3339, in a rotating buffer. */
const char *fixture_ts(tstime_t t);
/* JSON written with single quotes (readable in C), printf-style, parsed: a new reference. */
json_t *fixture_json(const char *fmt, ...);
/* J compact with sorted keys, in a rotating buffer. */
const char *fixture_dump(json_t *j);

#endif
