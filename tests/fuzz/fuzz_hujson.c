/* fuzz_hujson.c: libFuzzer target: HuJSON standardiser and policy row invariants on any input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hujson.h"
#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A rejection must point inside the input, with line and column that match the offset. */
static void
fuzz_check_error(const char *in, size_t len, const struct hujson_error *err)
{
	size_t i, bol = 0;
	int line = 1;

	if (err->offset > len || err->message[0] == '\0' ||
	    memchr(err->message, '\0', sizeof err->message) == NULL)
		abort();
	for (i = 0; i < err->offset; i++) {
		if (in[i] == '\n') {
			line++;
			bol = i + 1;
		}
	}
	if (err->line != line || err->column != (int)(err->offset - bol) + 1)
		abort();
}

/* The policy functions take any object without failing. */
static void
fuzz_policy(json_t *v)
{
	json_t *g = policy_groups(v), *r = policy_rules(v), *s = policy_summary(v);

	if (json_is_object(v) != (g != NULL) || json_is_object(v) != (r != NULL) ||
	    json_is_object(v) != (s != NULL))
		abort();
	json_decref(g);
	json_decref(r);
	json_decref(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	struct hujson_error err, err2;
	size_t outlen = 0, len2, i;
	char *out, *again;
	json_error_t jerr;
	json_t *raw, *std, *parsed;

	/* jansson on the raw bytes is the oracle for plain JSON (its own depth limit is 2048), but
	 * not with NUL bytes: it takes a NUL at the very end for the end of the input. */
	raw = memchr(in, '\0', size) == NULL ? json_loadb(in, size, JSON_DECODE_ANY, &jerr) : NULL;

	if (hujson_standardize(in, size, &out, &outlen, &err) == -1) {
		fuzz_check_error(in, size, &err);
		if (raw != NULL && strstr(err.message, "nesting deeper") == NULL)
			abort(); /* rejected JSON that jansson takes */
		if (hujson_parse(in, size, &err2) != NULL || err2.offset != err.offset ||
		    err2.line != err.line || err2.column != err.column ||
		    strcmp(err2.message, err.message) != 0)
			abort();
		json_decref(raw);
		return 0;
	}

	/* Same length, every byte kept or blanked, newlines where they were. */
	if (outlen != size || out[size] != '\0')
		abort();
	for (i = 0; i < size; i++) {
		if ((out[i] != in[i] && out[i] != ' ') || ((in[i] == '\n') != (out[i] == '\n')))
			abort();
	}
	/* Plain JSON goes through untouched. */
	if (raw != NULL && memcmp(out, in, size) != 0)
		abort();
	/* jansson always loads the output: the standardiser rejects what jansson would. */
	std = json_loadb(out, outlen, JSON_DECODE_ANY, &jerr);
	if (std == NULL)
		abort();
	/* Standardising is idempotent. */
	if (hujson_standardize(out, outlen, &again, &len2, &err2) == -1 || len2 != outlen ||
	    memcmp(again, out, outlen) != 0)
		abort();
	free(again);
	/* hujson_parse gives the same value. */
	parsed = hujson_parse(in, size, &err2);
	if (parsed == NULL || !json_equal(parsed, std))
		abort();
	fuzz_policy(parsed);

	json_decref(parsed);
	json_decref(std);
	json_decref(raw);
	free(out);
	return 0;
}
