/* Helpers shared by the storage tests: deterministic payloads and a recording callback. */
#ifndef BB_TEST_LOG_HELPERS_H
#define BB_TEST_LOG_HELPERS_H

#include <stdint.h>
#include <string.h>

#include "seglog.h"

#define RECORDED_MAX 100000u

/* The payload of sequence n: its length and bytes both derive from n. */
static inline uint32_t payload_for(uint64_t n, uint8_t *out, uint32_t max_bytes)
{
	uint32_t length = 1 + (uint32_t)((n * 2654435761u) % max_bytes);
	for (uint32_t i = 0; i < length; i++)
		out[i] = (uint8_t)(n * 31 + i);
	return length;
}

struct recorded {
	uint32_t count;
	uint64_t sequences[RECORDED_MAX];
	uint64_t positions[RECORDED_MAX];
	uint32_t max_payload;
	int bad; /* payloads that did not match their sequence */
};

static inline int record_cb(void *ctx, const struct seg_record_view *r)
{
	struct recorded *rec = ctx;
	static uint8_t expected[1 << 20];
	uint32_t length = payload_for(r->sequence, expected, rec->max_payload);
	if (length != r->payload_bytes || memcmp(expected, r->payload, length) != 0)
		rec->bad++;
	if (rec->count < RECORDED_MAX) {
		rec->sequences[rec->count] = r->sequence;
		rec->positions[rec->count] = r->position;
		rec->count++;
	}
	return 0;
}

#endif
