/* mbuf chains as byte buffers (see dp_chain.h). Allocation is from mempools only. */
#include "dp_chain.h"

#include <string.h>

#define CHAIN_SEGMENTS_MAX 1024u /* 1 MiB bodies in 2 KiB segments, with room */

struct rte_mbuf *dp_chain_from_bytes(struct rte_mempool *pool, const uint8_t *bytes,
                                     uint32_t length)
{
	uint32_t room = rte_pktmbuf_data_room_size(pool) - RTE_PKTMBUF_HEADROOM;
	uint32_t count = length == 0 ? 1 : (length + room - 1) / room;
	struct rte_mbuf *segments[CHAIN_SEGMENTS_MAX];
	if (count > CHAIN_SEGMENTS_MAX || rte_pktmbuf_alloc_bulk(pool, segments, count) != 0)
		return NULL;
	for (uint32_t i = 0; i < count; i++) {
		uint32_t part = RTE_MIN(room, length - i * room);
		memcpy(rte_pktmbuf_mtod(segments[i], uint8_t *), bytes + (size_t)i * room, part);
		segments[i]->data_len = (uint16_t)part;
		segments[i]->next = i + 1 < count ? segments[i + 1] : NULL;
	}
	segments[0]->nb_segs = (uint16_t)count;
	segments[0]->pkt_len = length;
	return segments[0];
}

void dp_chain_copy_out(const struct rte_mbuf *chain, uint8_t *out, uint32_t length)
{
	const void *flat = rte_pktmbuf_read(chain, 0, length, out);
	if (flat != out)
		memcpy(out, flat, length);
}
