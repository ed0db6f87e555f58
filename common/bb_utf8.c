/*
 * SQS body characters (see bb_utf8.h). Decodes one sequence at a time and checks the code
 * point against the allowed ranges; a run of plain printable ASCII, the common case, takes
 * one comparison per byte. Never reads past `length`.
 */
#include "bb_utf8.h"

#include <assert.h>

static bool is_continuation(uint8_t byte)
{
	return (byte & 0xc0u) == 0x80u;
}

static bool is_allowed(uint32_t code_point)
{
	if (code_point < 0x20u)
		return code_point == 0x9u || code_point == 0xau || code_point == 0xdu;
	if (code_point <= 0xd7ffu)
		return true;
	if (code_point < 0xe000u)
		return false; /* UTF-16 surrogates */
	if (code_point <= 0xfffdu)
		return true;
	return code_point >= 0x10000u && code_point <= 0x10ffffu;
}

/*
 * Length of the sequence at p (1-4) when it is the shortest encoding of an allowed code
 * point, else 0. `left` >= 1 bytes are readable.
 */
static size_t sequence_bytes(const uint8_t *p, size_t left)
{
	assert(left >= 1);
	uint8_t lead = p[0];
	size_t count = lead < 0x80u ? 1 : lead >= 0xf0u ? 4 : lead >= 0xe0u ? 3 : 2;
	uint32_t code_point = count == 1 ? lead : lead & (0x7fu >> count);
	if ((lead & 0xc0u) == 0x80u || lead >= 0xf8u || count > left)
		return 0; /* a stray continuation, a lead no UTF-8 has, or cut short */
	for (size_t i = 1; i < count; i++) {
		if (!is_continuation(p[i]))
			return 0;
		code_point = code_point << 6 | (p[i] & 0x3fu);
	}
	static const uint32_t shortest_from[5] = {0, 0, 0x80u, 0x800u, 0x10000u};
	if (code_point < shortest_from[count])
		return 0; /* overlong: the same code point has a shorter encoding */
	return is_allowed(code_point) ? count : 0;
}

size_t bb_utf8_sqs_valid_prefix(const uint8_t *bytes, size_t length)
{
	size_t at = 0;
	/* Bounded: every pass moves `at` forward by 1-4 bytes, or returns. */
	while (at < length) {
		if (bytes[at] >= 0x20u && bytes[at] < 0x80u) {
			at++;
			continue;
		}
		size_t step = sequence_bytes(bytes + at, length - at);
		if (step == 0)
			return at;
		at += step;
	}
	assert(at == length);
	return at;
}
