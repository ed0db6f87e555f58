/* Fuzz target: snapshot parsing, owner/slot assignment and lookup. */
#include <stdint.h>
#include <stdlib.h>

#include "dp_snapshot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dp_snapshot snapshot, previous;
	char error[256];
	if (dp_snapshot_parse(data, size, &snapshot, error, sizeof(error)) != WIRE_OK)
		return 0;
	if (dp_snapshot_assign(&snapshot, &previous, 2) != 0)
		return 0;
	for (uint32_t i = 0; i < snapshot.queue_count; i++) {
		const struct dp_queue_entry *q = &snapshot.queues[i];
		if (dp_snapshot_find(&snapshot, (const uint8_t *)q->name, q->name_bytes) != q)
			abort(); /* every queue must be found under its own name */
	}
	previous = snapshot;
	return 0;
}
