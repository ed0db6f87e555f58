/*
 * The retry window of one owner lcore: recent (key id, client id, request id)
 * triples with a digest of each request and its first reply, so a retried
 * request is answered again and never acts twice, and a different request that
 * reuses the ids is told so instead of getting another request's answer. The
 * key id is the principal's (the key whose MAC verified the request, 0 when none
 * did): ids are the client's own under its key, so another key holder's request
 * under the same client and request ids is another request, run on its own, and
 * never given this one's remembered answer (docs/protocol.md, "Retries"). Entries
 * live in 4-way sets (the oldest of a set is replaced); reply bytes live in a
 * circular arena, and an entry whose bytes were overwritten is forgotten. A
 * triple's set is a SipHash of it under a secret drawn at init, so a key holder
 * cannot choose ids that all land in one set and evict a given client's entries
 * (whose retries would then act twice) with a few requests: it takes about as many
 * as the whole window holds, as for anyone's traffic. Pure C, allocated once.
 */
#ifndef BB_DP_DEDUP_H
#define BB_DP_DEDUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dp_siphash.h"

#define DP_DEDUP_WAYS 4u

enum dp_dedup_state {
	DP_DEDUP_UNKNOWN = 0, /* not seen recently: execute it */
	DP_DEDUP_PENDING = 1, /* being executed (a parked long poll): drop the retry */
	DP_DEDUP_DONE = 2,    /* answered: send the stored reply again */
	DP_DEDUP_CONFLICT = 3, /* the ids belong to a different request: refuse it */
};

struct dp_dedup_entry {
	uint32_t key_id;
	uint64_t client_id;
	uint64_t request_id;
	uint64_t digest; /* dp_request_digest of the request */
	uint64_t arena_position;
	uint64_t stamp; /* insertion order, for replacement */
	uint32_t reply_bytes;
	uint8_t state;
};

struct dp_dedup {
	struct dp_dedup_entry *entries;
	uint32_t set_count;
	uint8_t *arena;
	uint64_t arena_bytes;
	uint64_t arena_written; /* total bytes ever written; positions are absolute */
	uint64_t stamp;
	struct dp_siphash_key index_key; /* the sets' secret, from getrandom at init */
};

/* 0, or -ENOMEM, or getrandom's -errno (the index's secret could not be drawn). */
int dp_dedup_init(struct dp_dedup *dedup, uint32_t entry_count, uint64_t arena_bytes);
void dp_dedup_free(struct dp_dedup *dedup);

/* Who sent a request (its verified key id, 0: none), its ids, the digest of what it asks. */
struct dp_dedup_key {
	uint32_t key_id;
	uint64_t client_id;
	uint64_t request_id;
	uint64_t digest;
};

/* The set a request's ids live in, 0 to set_count - 1 (keyed: see above). */
uint32_t dp_dedup_set_index(const struct dp_dedup *dedup, const struct dp_dedup_key *key);

/*
 * The state of a request; for DONE, reply and reply_bytes are set. CONFLICT
 * when the ids are remembered for the same key id with another digest (pending or done): the
 * entry is left as it is, for the request that owns it.
 */
enum dp_dedup_state dp_dedup_lookup(struct dp_dedup *dedup, const struct dp_dedup_key *key,
                                    const uint8_t **reply, uint32_t *reply_bytes);
/* Records that a request is being executed. */
void dp_dedup_begin(struct dp_dedup *dedup, const struct dp_dedup_key *key);
/* Stores the reply of a request begun earlier, if its entry is still there and pending. */
void dp_dedup_finish(struct dp_dedup *dedup, const struct dp_dedup_key *key, const uint8_t *reply,
                     uint32_t reply_bytes);
/*
 * Forgets a request begun earlier, if its entry is still there and pending: its answer said
 * "retry" (ServiceUnavailable), so the retry must act rather than get that answer again.
 */
void dp_dedup_forget(struct dp_dedup *dedup, const struct dp_dedup_key *key);

#endif
