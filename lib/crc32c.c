/* crc32c.c: CRC-32C, with SSE 4.2's crc32 instruction where the CPU has it, else bytewise over a
 * table computed once (the polynomial 0x82F63B78, reflected). */
#include <pthread.h>
#include <string.h>

#include "crc32c.h"

static uint32_t crc32c_table[256];
static pthread_once_t crc32c_once = PTHREAD_ONCE_INIT;
static uint32_t (*crc32c_fn)(uint32_t, const uint8_t *, size_t);

static uint32_t
crc32c_sw(uint32_t crc, const uint8_t *b, size_t n)
{
	while (n-- > 0)
		crc = crc32c_table[(crc ^ *b++) & 0xff] ^ (crc >> 8);
	return crc;
}

#if defined(__x86_64__) && defined(__GNUC__)
/* Every read checks a record's checksum: bytewise, it was most of a 10k-row listing's time in the
 * daemon; the instruction does 8 bytes a step. */
__attribute__((target("sse4.2"))) static uint32_t
crc32c_hw(uint32_t crc, const uint8_t *b, size_t n)
{
	uint64_t c = crc, v;

	for (; n >= 8; b += 8, n -= 8) {
		memcpy(&v, b, 8);
		c = __builtin_ia32_crc32di(c, v);
	}
	while (n-- > 0)
		c = __builtin_ia32_crc32qi((uint32_t)c, *b++);
	return (uint32_t)c;
}
#endif

static void
crc32c_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
		crc32c_table[i] = c;
	}
	crc32c_fn = crc32c_sw;
#if defined(__x86_64__) && defined(__GNUC__)
	if (__builtin_cpu_supports("sse4.2"))
		crc32c_fn = crc32c_hw;
#endif
}

uint32_t
crc32c(uint32_t crc, const void *p, size_t n)
{
	pthread_once(&crc32c_once, crc32c_init);
	return ~crc32c_fn(~crc, p, n);
}
