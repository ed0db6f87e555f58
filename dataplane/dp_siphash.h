/*
 * SipHash-2-4 (Aumasson and Bernstein, 2012): a keyed 64-bit hash, fast on
 * short inputs, used for the UDP cookies (a MAC of the source) and for the
 * digest of a request kept in the retry window. Incremental, so a request's
 * fields can be hashed where they lie. Pure C, no allocation.
 */
#ifndef BB_DP_SIPHASH_H
#define BB_DP_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

struct dp_siphash_key {
	uint64_t k0;
	uint64_t k1;
};

struct dp_siphash {
	uint64_t v[4];
	uint64_t tail;      /* bytes not yet a whole word, little-endian */
	uint64_t total_bytes;
};

void dp_siphash_init(struct dp_siphash *state, const struct dp_siphash_key *key);
void dp_siphash_update(struct dp_siphash *state, const void *data, size_t bytes);
uint64_t dp_siphash_final(struct dp_siphash *state);

/* The hash of one buffer. */
uint64_t dp_siphash(const struct dp_siphash_key *key, const void *data, size_t bytes);

#endif
