/*
 * CRC32C. Debian has no maintained C library for it; it sits on the storage
 * hot path (every record written and recovered), so it is written here: the
 * SSE4.2 crc32 instruction, chosen at run time so it does not depend on the
 * build's -march, and a table where the CPU lacks it.
 */
#include "bb_crc32c.h"

#include <string.h>

static uint32_t table[256];

static uint32_t crc32c_table(uint32_t crc, const uint8_t *p, size_t length)
{
	uint32_t c = ~crc;
	while (length-- > 0)
		c = table[(c ^ *p++) & 0xff] ^ (c >> 8);
	return ~c;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc32c_sse42(uint32_t crc, const uint8_t *p,
                                                                size_t length)
{
	uint64_t c = ~crc;
	while (length >= 8) {
		uint64_t word;
		memcpy(&word, p, 8);
		c = __builtin_ia32_crc32di(c, word);
		p += 8;
		length -= 8;
	}
	uint32_t c32 = (uint32_t)c;
	while (length-- > 0)
		c32 = __builtin_ia32_crc32qi(c32, *p++);
	return ~c32;
}
#endif

static uint32_t (*crc32c_impl)(uint32_t, const uint8_t *, size_t) = crc32c_table;

__attribute__((constructor)) static void crc32c_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1)));
		table[i] = c;
	}
#if defined(__x86_64__)
	__builtin_cpu_init();
	if (__builtin_cpu_supports("sse4.2"))
		crc32c_impl = crc32c_sse42;
#endif
}

uint32_t bb_crc32c(uint32_t crc, const void *data, size_t length)
{
	return crc32c_impl(crc, data, length);
}
