/* fixture.c: temporary directories, stores and text helpers for the store-backed unit tests. */
#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fixture.h"

#define FIXTURE_NBUF 16
#define FIXTURE_BUFLEN 4096

static char fixture_root[256];

static int
fixture_rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path);
}

void
fixture_root_setup(void)
{
	snprintf(fixture_root, sizeof(fixture_root), "/tmp/%.64s.XXXXXX",
	         program_invocation_short_name);
	if (mkdtemp(fixture_root) == NULL)
		abort();
}

void
fixture_root_teardown(void)
{
	nftw(fixture_root, fixture_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

const char *
fixture_dir_new(void)
{
	static char dir[sizeof(fixture_root) + 16];

	snprintf(dir, sizeof(dir), "%s/s.XXXXXX", fixture_root);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	return dir;
}

void
fixture_dir_remove(const char *dir)
{
	nftw(dir, fixture_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

struct store *
fixture_store_open(const char *path, size_t map_max)
{
	struct store *s = NULL;
	char *cause = NULL;

	ck_assert_msg(store_open(path, map_max, &s, &cause) == 0, "store_open %s: %s", path, cause);
	return s;
}

char *
fixture_buf(void)
{
	static char bufs[FIXTURE_NBUF][FIXTURE_BUFLEN];
	static int next;

	next = (next + 1) % FIXTURE_NBUF;
	bufs[next][0] = '\0';
	return bufs[next];
}

const char *
fixture_ts(tstime_t t)
{
	char *b = fixture_buf();

	tstime_format(t, b, TSTIME_STRLEN);
	return b;
}

json_t *
fixture_json(const char *fmt, ...)
{
	char *text = fixture_buf();
	json_error_t err;
	json_t *j;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, FIXTURE_BUFLEN, fmt, ap);
	va_end(ap);
	for (char *p = text; *p != '\0'; p++)
		if (*p == '\'')
			*p = '"';
	j = json_loads(text, 0, &err);
	ck_assert_msg(j != NULL, "bad test JSON: %s: %s", err.text, text);
	return j;
}

const char *
fixture_dump(json_t *j)
{
	char *b = fixture_buf(), *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);

	snprintf(b, FIXTURE_BUFLEN, "%s", s ? s : "(null)");
	free(s);
	return b;
}
