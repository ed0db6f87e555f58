/*
 * The message-id map of a replay (sqs_replay.h): open addressing with linear probing and
 * backward-shift deletion, at least twice as many entries as the engine has message slots,
 * so it is never full (every entry names a live message of the engine).
 */
#include "sqs_replay.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "bb_endian.h"

struct replay_entry {
	uint64_t queue_id; /* 0: a free entry (queue ids are never 0) */
	uint8_t message_id[16];
	uint32_t index;
};

struct sqs_replay {
	struct replay_entry *entries;
	uint32_t mask;
	uint32_t count;
};

struct sqs_replay *sqs_replay_create(uint32_t message_slots)
{
	assert(message_slots > 0 && message_slots <= (1u << 30));
	uint32_t slots = 2;
	while (slots < 2 * message_slots) /* at most 31 doublings */
		slots *= 2;
	struct sqs_replay *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	r->entries = calloc(slots, sizeof(*r->entries));
	if (r->entries == NULL) {
		free(r);
		return NULL;
	}
	r->mask = slots - 1;
	return r;
}

void sqs_replay_destroy(struct sqs_replay *r)
{
	if (r == NULL)
		return;
	free(r->entries);
	free(r);
}

static uint32_t home_of(const struct sqs_replay *r, uint64_t queue_id, const uint8_t id[16])
{
	/* Message ids are random: their bytes are a hash already. */
	return (uint32_t)((bb_get_le64(id) ^ queue_id) & r->mask);
}

static bool entry_is(const struct replay_entry *e, uint64_t queue_id, const uint8_t id[16])
{
	return e->queue_id == queue_id && memcmp(e->message_id, id, 16) == 0;
}

/* The entry of (queue, id) or the free one where it would go. */
static uint32_t find(const struct sqs_replay *r, uint64_t queue_id, const uint8_t id[16])
{
	uint32_t i = home_of(r, queue_id, id);
	for (uint32_t probes = 0; probes <= r->mask; probes++) {
		const struct replay_entry *e = &r->entries[i];
		if (e->queue_id == 0 || entry_is(e, queue_id, id))
			return i;
		i = (i + 1) & r->mask;
	}
	assert(!"the map is never full");
	abort();
}

static void remove_at(struct sqs_replay *r, uint32_t i)
{
	uint32_t hole = i;
	uint32_t j = (i + 1) & r->mask;
	for (uint32_t probes = 0; probes < r->mask && r->entries[j].queue_id != 0; probes++) {
		const struct replay_entry *e = &r->entries[j];
		uint32_t home = home_of(r, e->queue_id, e->message_id);
		/* j may fill the hole when the hole lies on its way from home to j. */
		if (((j - home) & r->mask) >= ((j - hole) & r->mask)) {
			r->entries[hole] = r->entries[j];
			hole = j;
		}
		j = (j + 1) & r->mask;
	}
	r->entries[hole].queue_id = 0;
	assert(r->count > 0);
	r->count--;
}

/*
 * Forgets every message of a purged queue. A backward shift only moves entries into places
 * from i on (or, past the table's end, into places already walked, which hold none of the
 * queue's any more), so looking at i again after a removal misses none.
 */
static void forget_queue(struct sqs_replay *r, uint64_t queue_id)
{
	uint32_t i = 0;
	while (i <= r->mask) { /* bounded: each pass removes an entry or moves on */
		if (r->entries[i].queue_id == queue_id)
			remove_at(r, i);
		else
			i++;
	}
	assert(r->count <= r->mask / 2 + 1);
}

enum wire_status sqs_replay_apply(struct sqs_replay *r, struct sqs_engine *engine, uint32_t slot,
                                  const struct sqs_record *record, uint64_t position,
                                  uint64_t now_ms)
{
	if (record->kind == SQS_RECORD_ATTEMPT) { /* of no one message: the map is not needed */
		uint32_t none = SQS_NO_MESSAGE;
		return sqs_replay_record(engine, slot, record, position, now_ms, &none);
	}
	if (record->kind == SQS_RECORD_PURGE) {
		uint32_t none = SQS_NO_MESSAGE;
		enum wire_status status =
		    sqs_replay_record(engine, slot, record, position, now_ms, &none);
		if (status == WIRE_OK)
			forget_queue(r, record->queue_id);
		return status;
	}
	uint32_t i = find(r, record->queue_id, record->message_id);
	struct replay_entry *e = &r->entries[i];
	bool known = e->queue_id != 0;
	uint32_t index = known ? e->index : SQS_NO_MESSAGE;
	enum wire_status status =
	    sqs_replay_record(engine, slot, record, position, now_ms, &index);
	if (status != WIRE_OK)
		return status;
	if (known && index == SQS_NO_MESSAGE) {
		remove_at(r, i);
	} else if (!known && index != SQS_NO_MESSAGE) {
		*e = (struct replay_entry){.queue_id = record->queue_id, .index = index};
		memcpy(e->message_id, record->message_id, 16);
		r->count++;
		assert(r->count <= r->mask / 2 + 1);
	} else if (known) {
		e->index = index; /* unchanged today; kept true if the engine ever moves it */
	}
	return WIRE_OK;
}

uint32_t sqs_replay_message_count(const struct sqs_replay *r)
{
	return r->count;
}
