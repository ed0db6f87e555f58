/*
 * Fuzz target: the segment log's checkpoint file (seg_checkpoint_decode).
 * Whatever the bytes, decoding stays inside them and within the live-count
 * table; what it accepts encodes back to the same bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "seg_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct seg_checkpoint decoded;
	static uint8_t encoded[SEG_CHECKPOINT_BYTES_MAX];
	if (!seg_checkpoint_decode(data, size, &decoded))
		return 0;
	if (decoded.count > SEG_SEGMENTS_MAX)
		abort();
	size_t length = seg_checkpoint_encode(&decoded, encoded);
	if (length != size || memcmp(encoded, data, size) != 0)
		abort();
	return 0;
}
