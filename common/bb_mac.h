/*
 * The wire protocol's MAC (docs/protocol.md, "Authentication"): HMAC-SHA256
 * keyed with the key's 40-byte secret, over the datagram's exact bytes with
 * the header's 16-byte MAC field taken as zeros, truncated to its first 16
 * bytes and placed in that field. Requests and replies alike.
 *
 * One struct bb_mac per thread (per lcore in busbard), made at start: signing
 * and verifying allocate nothing (the key's HMAC pad states are kept between
 * messages; bb_mac.c says why not EVP_MAC).
 */
#ifndef BB_MAC_H
#define BB_MAC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

struct bb_mac;

/*
 * Credentials: an access key id is "BB", 7 base32 characters (A-Z, 2-7) that
 * spell the wire key id (35 bits, big-endian, the top 3 zero), then 11 random
 * base32 characters. So a client holding the access key id and secret, as for
 * SigV4, knows the header's key id too.
 */
#define BB_ACCESS_KEY_ID_BYTES  20u
#define BB_ACCESS_KEY_ID_DIGITS 7u /* of the key id */

/* Writes the key-id part of an access key id (the 7 characters after "BB"). */
void bb_access_key_id_put(uint32_t key_id, char *out);
/* The wire key id of an access key id; false when it is not one. */
bool bb_access_key_id_parse(const char *access_key_id, uint32_t *key_id);

/* NULL when memory is short. Keys are at most 64 bytes (secrets are 40). */
struct bb_mac *bb_mac_new(void);
void bb_mac_free(struct bb_mac *mac);

/* The truncated MAC of a whole message (header and body, at least the header). */
__attribute__((warn_unused_result)) int bb_mac_compute(struct bb_mac *mac, const uint8_t *key,
                                                       size_t key_bytes, const uint8_t *message,
                                                       size_t message_bytes,
                                                       uint8_t out[WIRE_MAC_BYTES]);
/* Computes the MAC and writes it into the message's MAC field. 0 or -EINVAL/-EIO. */
__attribute__((warn_unused_result)) int bb_mac_sign(struct bb_mac *mac, const uint8_t *key,
                                                    size_t key_bytes, uint8_t *message,
                                                    size_t message_bytes);
/* 0 when the MAC field holds the message's MAC (compared in constant time), else -EBADMSG. */
__attribute__((warn_unused_result)) int bb_mac_verify(struct bb_mac *mac, const uint8_t *key,
                                                      size_t key_bytes, const uint8_t *message,
                                                      size_t message_bytes);

#endif
