/*
 * CRC32C. Debian has no maintained C library for it; it sits on the storage
 * hot path (every record), so it is written here: the SSE4.2 crc32
 * instruction when the build targets it, a table otherwise.
 */
#include "bb_crc32c.h"

#include <string.h>

#if defined(__SSE4_2__)
#include <nmmintrin.h>

uint32_t bb_crc32c(uint32_t crc, const void *data, size_t length)
{
	const uint8_t *p = data;
	uint64_t c = ~crc;
	while (length >= 8) {
		uint64_t word;
		memcpy(&word, p, 8);
		c = _mm_crc32_u64(c, word);
		p += 8;
		length -= 8;
	}
	uint32_t c32 = (uint32_t)c;
	while (length-- > 0)
		c32 = _mm_crc32_u8(c32, *p++);
	return ~c32;
}

#else

static uint32_t table[256];

__attribute__((constructor)) static void build_table(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1)));
		table[i] = c;
	}
}

uint32_t bb_crc32c(uint32_t crc, const void *data, size_t length)
{
	const uint8_t *p = data;
	uint32_t c = ~crc;
	while (length-- > 0)
		c = table[(c ^ *p++) & 0xff] ^ (c >> 8);
	return ~c;
}

#endif
