/* fuzz_devices.c: libFuzzer target: a devices answer, as the API's bytes, through the element
 * scanner, the raw-hash skip, normalisation and the diff into a real LMDB store that lives for
 * many inputs, so that each answer is diffed against what the previous ones left (and its
 * elements' hashes too). Invariants: an answer is either recorded (and then listed back as valid
 * JSON) or refused with a cause; bytes jansson refuses are refused; the store's checksums always
 * verify. The element scanner agrees with jansson on the same bytes: it refuses no object
 * jansson takes, and finds the same elements. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <jansson.h>

#include "hist.h"
#include "jscan.h"
#include "log.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_TAILNET "fuzz.example.com"
#define FUZZ_MAP_MAX ((size_t)1 << 30)
#define FUZZ_STORE_INPUTS 20000 /* inputs per store, then a fresh one: bounded disk */
#define FUZZ_VERIFY_EVERY 1024

static char fuzz_dir[4096];
static struct store *fuzz_st;
static unsigned long fuzz_inputs;
static tstime_t fuzz_t;

static void
fuzz_rmdir(void)
{
	char path[4400];
	DIR *d;
	struct dirent *e;

	if ((d = opendir(fuzz_dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", fuzz_dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(fuzz_dir);
}

static void
fuzz_atexit(void)
{
	if (fuzz_st != NULL)
		store_close(fuzz_st);
	fuzz_st = NULL;
	fuzz_rmdir();
}

static void
fuzz_verify_cb(void *arg, const char *what, const char *why)
{
	(void)arg;
	fprintf(stderr, "fuzz_devices: damaged record %s: %s\n", what, why);
	abort();
}

/* Where the store goes: /dev/shm when it has room (every commit syncs; memory is fast), else the
 * temporary directory. A full disk would only make every answer a refusal: fuzzing nothing. */
static const char *
fuzz_tmpdir(void)
{
	struct statvfs sv;
	const char *tmp = getenv("TMPDIR");

	if (statvfs("/dev/shm", &sv) == 0 && (uint64_t)sv.f_bavail * sv.f_frsize >= FUZZ_MAP_MAX &&
	    access("/dev/shm", W_OK) == 0)
		return "/dev/shm";
	return tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp";
}

/* jscan against jansson's parse of the same bytes (BODY, or NULL when jansson refused them). */
static void
fuzz_jscan(const uint8_t *data, size_t size, json_t *body)
{
	json_t *list = json_is_object(body) ? json_object_get(body, "devices") : NULL, *el;
	struct jscan js;
	const char *p;
	size_t len, i = 0;
	char *cause = NULL;
	int rc = jscan_member((const char *)data, size, "devices", &js, &cause);

	if (rc == -1) {
		/* jansson skips a NUL byte after a number or literal (its stream takes NUL for "no
		 * byte buffered"); the scanner refuses a NUL wherever it is. */
		if ((json_is_object(body) && memchr(data, '\0', size) == NULL) || cause == NULL)
			abort();
		free(cause);
		return;
	}
	if (!json_is_object(body))
		return; /* jansson refuses more: integers and reals out of range outside elements */
	if ((rc == JSCAN_ABSENT) != (list == NULL) || (rc == JSCAN_ARRAY) != json_is_array(list))
		abort();
	if (rc != JSCAN_ARRAY)
		return;
	if (js.count != json_array_size(list))
		abort();
	while (jscan_next(&js, &p, &len) == 1) {
		el = json_loadb(p, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
		if (el == NULL || !json_equal(el, json_array_get(list, i)))
			abort();
		json_decref(el);
		i++;
	}
	if (i != js.count)
		abort();
}

/* A fresh store every FUZZ_STORE_INPUTS inputs. */
static void
fuzz_store(void)
{
	char *cause = NULL;

	if (fuzz_st != NULL && fuzz_inputs % FUZZ_STORE_INPUTS != 0)
		return;
	if (fuzz_st == NULL) {
		log_init("fuzz_devices", 0);
		atexit(fuzz_atexit);
	} else {
		store_close(fuzz_st);
		fuzz_rmdir();
	}
	snprintf(fuzz_dir, sizeof fuzz_dir, "%s/fuzz-devices-XXXXXX", fuzz_tmpdir());
	if (mkdtemp(fuzz_dir) == NULL ||
	    store_open(fuzz_dir, FUZZ_MAP_MAX, &fuzz_st, &cause) == -1) {
		fprintf(stderr, "fuzz_devices: %s: %s\n", fuzz_dir, cause ? cause : "mkdtemp");
		abort();
	}
	fuzz_t = tstime_now();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The daemon's defaults for a tailnet polled every minute. */
	struct hist_policy pol = {.mass_delete_percent = 50, .max_gap = 3 * 60 * TSTIME_SEC};
	struct hist_poll_result res;
	char *cause = NULL, *list = NULL;
	size_t len = 0;
	uint64_t records = 0;
	json_t *body;
	int rc;

	fuzz_store();
	fuzz_inputs++;
	body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	fuzz_jscan(data, size, body);
	hist_policy_defaults(&pol);
	fuzz_t += 60 * TSTIME_SEC;
	/* What the poller hands over: the answer's bytes. */
	rc = hist_devices_apply_raw(fuzz_st, FUZZ_TAILNET, fuzz_t, (const char *)data, size, &pol,
	                            &res, &cause);
	/* Whatever jansson refuses as a whole body is refused, element by element or not. */
	if (body == NULL && rc == 0)
		abort();
	json_decref(body);
	if (rc == -1) {
		/* A refusal always says why. */
		if (cause == NULL || cause[0] == '\0')
			abort();
		free(cause);
		return 0;
	}
	if (rc != 0 || cause != NULL)
		abort();
	/* What was recorded reads back, as JSON, at the poll's time and now. */
	if (hist_devices_list(fuzz_st, FUZZ_TAILNET, res.time, &list, &len, &cause) == -1) {
		fprintf(stderr, "fuzz_devices: list after a recorded answer: %s\n", cause);
		abort();
	}
	body = json_loadb(list, len, 0, NULL);
	if (body == NULL)
		abort();
	json_decref(body);
	free(list);
	if (fuzz_inputs % FUZZ_VERIFY_EVERY == 0 &&
	    store_verify(fuzz_st, fuzz_verify_cb, NULL, &records, &cause) == -1) {
		fprintf(stderr, "fuzz_devices: verify: %s\n", cause);
		abort();
	}
	return 0;
}
