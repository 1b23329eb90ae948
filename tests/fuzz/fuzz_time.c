/* fuzz_time.c: libFuzzer target: TIME, DURATION and address parsing, and their round trips. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "tstime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A parsed time prints as RFC 3339 and parses back to the same microsecond. */
static void
fuzz_time_roundtrip(tstime_t t)
{
	char buf[64];
	tstime_t back;

	tstime_format(t, buf, sizeof buf);
	if (memchr(buf, '\0', sizeof buf) == NULL)
		abort();
	if (tstime_parse_rfc3339(buf, &back) == 0 && back != t)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, *cause = NULL, buf[ADDR_STRLEN];
	struct tsaddr a, b;
	tstime_t t, now = 1764547200000000LL;
	int64_t us;

	/* Every parser reads C strings: the input up to its first NUL. */
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	if (tstime_parse_rfc3339(s, &t) == 0)
		fuzz_time_roundtrip(t);
	if (tstime_parse(s, now, &t, &cause) == 0) {
		if (cause != NULL)
			abort();
	} else if (cause == NULL || *cause == '\0')
		abort(); /* a refusal always says why */
	free(cause);
	cause = NULL;
	if (tstime_parse_duration(s, &us, &cause) == 0) {
		if (us < 0)
			abort();
		tstime_format_duration(us, buf, sizeof buf);
	} else if (cause == NULL || *cause == '\0')
		abort();
	free(cause);

	/* An address that parses prints in one canonical form, which parses to the same bytes. */
	if (addr_parse(s, &a) == 0) {
		addr_format(&a, buf, sizeof buf);
		if (addr_parse(buf, &b) != 0 || memcmp(&a, &b, sizeof a) != 0)
			abort();
	}
	free(s);
	return 0;
}
