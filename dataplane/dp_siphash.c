/*
 * SipHash-2-4 (see dp_siphash.h), after the reference implementation. Written
 * here rather than taken from OpenSSL because it runs on every UDP receive:
 * an EVP_MAC HMAC costs several times more per call for a 24-byte input (see
 * docs/protocol.md, "Cookies"), and DPDK has no keyed hash.
 */
#include "dp_siphash.h"

#include "bb_endian.h"

static inline uint64_t rotl(uint64_t x, unsigned int b)
{
	return (x << b) | (x >> (64 - b));
}

static inline void sip_round(uint64_t *v)
{
	v[0] += v[1];
	v[1] = rotl(v[1], 13);
	v[1] ^= v[0];
	v[0] = rotl(v[0], 32);
	v[2] += v[3];
	v[3] = rotl(v[3], 16);
	v[3] ^= v[2];
	v[0] += v[3];
	v[3] = rotl(v[3], 21);
	v[3] ^= v[0];
	v[2] += v[1];
	v[1] = rotl(v[1], 17);
	v[1] ^= v[2];
	v[2] = rotl(v[2], 32);
}

static inline void compress(uint64_t *v, uint64_t word)
{
	v[3] ^= word;
	sip_round(v);
	sip_round(v);
	v[0] ^= word;
}

void dp_siphash_init(struct dp_siphash *s, const struct dp_siphash_key *key)
{
	s->v[0] = key->k0 ^ 0x736f6d6570736575ull;
	s->v[1] = key->k1 ^ 0x646f72616e646f6dull;
	s->v[2] = key->k0 ^ 0x6c7967656e657261ull;
	s->v[3] = key->k1 ^ 0x7465646279746573ull;
	s->tail = 0;
	s->total_bytes = 0;
}

void dp_siphash_update(struct dp_siphash *s, const void *data, size_t bytes)
{
	const uint8_t *p = data;
	/* Bytes first complete the partial word left by the previous update. */
	while (bytes > 0 && s->total_bytes % 8 != 0) {
		s->tail |= (uint64_t)*p++ << (8 * (s->total_bytes % 8));
		s->total_bytes++;
		bytes--;
		if (s->total_bytes % 8 == 0) {
			compress(s->v, s->tail);
			s->tail = 0;
		}
	}
	for (; bytes >= 8; bytes -= 8, p += 8) {
		compress(s->v, bb_get_le64(p));
		s->total_bytes += 8;
	}
	for (size_t i = 0; i < bytes; i++)
		s->tail |= (uint64_t)p[i] << (8 * i);
	s->total_bytes += bytes;
}

uint64_t dp_siphash_final(struct dp_siphash *s)
{
	compress(s->v, s->tail | s->total_bytes << 56);
	s->v[2] ^= 0xff;
	for (int i = 0; i < 4; i++)
		sip_round(s->v);
	return s->v[0] ^ s->v[1] ^ s->v[2] ^ s->v[3];
}

uint64_t dp_siphash(const struct dp_siphash_key *key, const void *data, size_t bytes)
{
	struct dp_siphash s;
	dp_siphash_init(&s, key);
	dp_siphash_update(&s, data, bytes);
	return dp_siphash_final(&s);
}
