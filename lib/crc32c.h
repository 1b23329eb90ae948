/* crc32c.h: CRC-32C (Castagnoli), the checksum of every record in the store. */
#ifndef TSINV_CRC32C_H
#define TSINV_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continues CRC (0 to start) over N bytes at P. */
uint32_t crc32c(uint32_t crc, const void *p, size_t n);

#endif
