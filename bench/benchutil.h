/* benchutil.h: what several benchmarks share: a monotonic clock and the address file. */
#ifndef TSINV_BENCHUTIL_H
#define TSINV_BENCHUTIL_H

#include <stddef.h>
#include <stdint.h>

#define BENCH_ADDR_MAX 64

/* The addresses bench/run listed, one a line: only address characters, so that each can go
 * into a JSON string as it is. */
struct bench_addrs {
	char (*a)[BENCH_ADDR_MAX];
	size_t n;
};

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t bench_now_ns(void);

/* Reads PATH into OUT; exits with a message naming the file and line on anything else. */
void bench_read_addrs(const char *path, struct bench_addrs *out);

#endif
