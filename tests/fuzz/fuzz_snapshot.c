/*
 * Fuzz target: snapshot decoding (the common codec and busbard's name index),
 * owner/slot assignment and lookup. Whatever decodes must re-encode, through
 * the encoder busbar-control uses, to a body that decodes to the same queues.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dp_snapshot.h"

#define BODY_BYTES_MAX                                                                             \
	(BB_SNAPSHOT_HEADER_BYTES_MAX + BB_QUEUE_COUNT_MAX * BB_SNAPSHOT_QUEUE_BYTES_MAX)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same_queue(const struct dp_queue_entry *a, const struct dp_queue_entry *b)
{
	return a->name_bytes == b->name_bytes && memcmp(a->name, b->name, a->name_bytes) == 0 &&
	       a->queue_id == b->queue_id && a->visibility_timeout_s == b->visibility_timeout_s &&
	       a->receive_wait_time_s == b->receive_wait_time_s &&
	       a->maximum_message_bytes == b->maximum_message_bytes;
}

static void round_trip(const struct dp_snapshot *s)
{
	static struct bb_snapshot_entry entries[BB_QUEUE_COUNT_MAX];
	static uint8_t body[BODY_BYTES_MAX];
	static struct dp_snapshot again;
	for (uint32_t i = 0; i < s->queue_count; i++) {
		const struct dp_queue_entry *q = &s->queues[i];
		entries[i] = (struct bb_snapshot_entry){
		    .kind = BB_SNAPSHOT_KIND_QUEUE,
		    .queue = {.name_bytes = q->name_bytes, .queue_id = q->queue_id,
		              .visibility_timeout_s = q->visibility_timeout_s,
		              .receive_wait_time_s = q->receive_wait_time_s,
		              .maximum_message_bytes = q->maximum_message_bytes},
		};
		memcpy(entries[i].queue.name, q->name, sizeof(q->name));
	}
	struct bb_snapshot_header header = {.version = s->version};
	size_t length;
	char error[256];
	if (bb_snapshot_encode(&header, entries, s->queue_count, body, sizeof(body), &length) != 0)
		abort(); /* what was accepted must be writable */
	if (dp_snapshot_parse(body, length, &again, error, sizeof(error)) != WIRE_OK)
		abort();
	if (again.version != s->version || again.queue_count != s->queue_count)
		abort();
	for (uint32_t i = 0; i < s->queue_count; i++) {
		if (!same_queue(&again.queues[i], &s->queues[i]))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dp_snapshot snapshot, previous;
	char error[256];
	if (dp_snapshot_parse(data, size, &snapshot, error, sizeof(error)) != WIRE_OK)
		return 0;
	round_trip(&snapshot);
	int assigned = dp_snapshot_assign(&snapshot, &previous, 2);
	for (uint32_t i = 0; assigned == 0 && i < snapshot.queue_count; i++) {
		const struct dp_queue_entry *q = &snapshot.queues[i];
		if (dp_snapshot_find(&snapshot, (const uint8_t *)q->name, q->name_bytes) != q)
			abort(); /* every queue must be found under its own name */
	}
	dp_snapshot_release(&snapshot); /* its routing: the next input is parsed over it */
	if (assigned == 0)
		previous = snapshot;
	return 0;
}
