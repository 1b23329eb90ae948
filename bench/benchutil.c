/* benchutil.c: the clock and the address file of the benchmarks (benchutil.h). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "benchutil.h"
#include "log.h"
#include "xmalloc.h"

int64_t
bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void
bench_read_addrs(const char *path, struct bench_addrs *out)
{
	FILE *f = fopen(path, "r");
	char line[256];
	size_t cap = 0, len;

	if (f == NULL)
		fatal("%s", path);
	memset(out, 0, sizeof(*out));
	while (fgets(line, sizeof(line), f) != NULL) {
		len = strcspn(line, " \t\r\n");
		line[len] = '\0';
		if (len == 0)
			continue;
		if (len >= BENCH_ADDR_MAX || strspn(line, "0123456789abcdefABCDEF.:") != len)
			fatalx("%s: \"%.64s\" is not an address", path, line);
		if (out->n == cap) {
			cap = cap ? cap * 2 : 1024;
			out->a = xrealloc(out->a, cap * sizeof(*out->a));
		}
		memcpy(out->a[out->n++], line, len + 1);
	}
	if (ferror(f))
		fatal("%s", path);
	fclose(f);
	if (out->n == 0)
		fatalx("%s: no addresses", path);
}
