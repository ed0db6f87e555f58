/*
 * A worker's body store: each message body is an mbuf chain from the worker's store pool,
 * so the engine's memory is allocated once, at start, and a body is copied in and out by
 * segments. The engine reaches it through struct sqs_store_ops (engines/sqs.h).
 */
#include "dp_worker_int.h"

#include <errno.h>
#include <string.h>

#include "dp_chain.h"

static int store_put(void *ctx, const uint8_t *body, uint32_t body_bytes, uint64_t *ref_out)
{
	struct rte_mbuf *chain = dp_chain_from_bytes(ctx, body, body_bytes);
	if (chain == NULL)
		return -ENOMEM;
	*ref_out = (uint64_t)(uintptr_t)chain;
	return 0;
}

void dp_store_read(void *ctx, uint64_t ref, uint8_t *out, uint32_t body_bytes)
{
	dp_chain_copy_out((const struct rte_mbuf *)(uintptr_t)ref, out, body_bytes);
}

void dp_store_read_at(void *ctx, uint64_t ref, uint32_t offset, uint8_t *out, uint32_t bytes)
{
	const struct rte_mbuf *chain = (const struct rte_mbuf *)(uintptr_t)ref;
	RTE_VERIFY((uint64_t)offset + bytes <= rte_pktmbuf_pkt_len(chain));
	const void *flat = rte_pktmbuf_read(chain, offset, bytes, out);
	if (flat != out)
		memcpy(out, flat, bytes);
}

static void store_release(void *ctx, uint64_t ref)
{
	rte_pktmbuf_free((struct rte_mbuf *)(uintptr_t)ref);
}

struct sqs_store_ops dp_store_ops(struct rte_mempool *pool)
{
	RTE_VERIFY(pool != NULL);
	return (struct sqs_store_ops){pool, store_put, dp_store_read, store_release};
}
