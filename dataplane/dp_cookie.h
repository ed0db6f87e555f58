/*
 * Return-routability cookies for UDP (the idea of QUIC's Retry token and of
 * DNS cookies): a ReceiveMessage, whose reply can be hundreds of times its
 * request, is served only to a source that has shown it receives what is sent
 * to its address. The cookie is a keyed hash of (source IPv4, source port,
 * client id, time epoch): stateless, so proving costs busbard no memory, and
 * useless from any other address, port or client id. A cookie stays valid for
 * the epoch it was made in and the next. Pure C.
 */
#ifndef BB_DP_COOKIE_H
#define BB_DP_COOKIE_H

#include <stdbool.h>
#include <stdint.h>

#include "dp_siphash.h"

/* A cookie is accepted from 60 s to 120 s after it was made. */
#define DP_COOKIE_EPOCH_MS 60000u

/* Where a request came from, as the network stack saw it. */
struct dp_cookie_source {
	uint32_t ip_be;   /* IPv4 address, network order as received */
	uint16_t port_be; /* UDP port, network order */
	uint64_t client_id;
};

/* Draws a random key from the kernel (getrandom). Returns 0 or -errno. */
__attribute__((warn_unused_result)) int dp_cookie_key_init(struct dp_siphash_key *key);

/* The cookie for source at now_ms. */
uint64_t dp_cookie_make(const struct dp_siphash_key *key, const struct dp_cookie_source *source,
                        uint64_t now_ms);

/* True when cookie was made for source in this epoch or the previous one. */
bool dp_cookie_check(const struct dp_siphash_key *key, const struct dp_cookie_source *source,
                     uint64_t now_ms, uint64_t cookie);

#endif
