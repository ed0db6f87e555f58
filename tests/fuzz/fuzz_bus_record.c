/*
 * Fuzz target: the bus log record decoder (dataplane/engines/bus_record.h). What it accepts
 * encodes back to the same bytes, and what it points at lies inside the input.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bus_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bus_record r;
	if (bus_record_decode(data, size, &r) != 0)
		return 0;
	static uint8_t again[BUS_RECORD_BYTES_MAX];
	size_t n = bus_record_encode(&r, again, sizeof(again));
	if (n != size || memcmp(again, data, size) != 0)
		__builtin_trap();
	return 0;
}
