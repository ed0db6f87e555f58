/* Byte buffers kept in mbuf chains: message bodies, and replies to local clients. */
#ifndef BB_DP_CHAIN_H
#define BB_DP_CHAIN_H

#include <stdint.h>

#include <rte_mbuf.h>

/* A chain holding a copy of bytes, or NULL when the pool has too few mbufs. */
struct rte_mbuf *dp_chain_from_bytes(struct rte_mempool *pool, const uint8_t *bytes,
                                     uint32_t length);
/* Copies the first `length` bytes of a chain to out. */
void dp_chain_copy_out(const struct rte_mbuf *chain, uint8_t *out, uint32_t length);

#endif
