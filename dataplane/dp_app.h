/*
 * The state busbard shares between its lcores: rings, the published
 * snapshot and the stop flag. Everything else belongs to one lcore.
 *
 * Rings: requests[from][to] carries request mbufs from the lcore that
 * received them (a worker, or the service thread at index worker_count) to
 * the queue's owner; every ring has one producer and one consumer.
 * local_replies[worker] carries replies for Unix-socket clients back to the
 * service thread.
 */
#ifndef BB_DP_APP_H
#define BB_DP_APP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "bb_limits.h"
#include "dp_config.h"
#include "dp_cookie.h"
#include "dp_net.h"
#include "dp_snapshot.h"

struct dp_worker;

struct dp_app {
	uint16_t port_id;
	uint32_t worker_count;
	struct dp_worker *workers[BB_WORKER_COUNT_MAX];
	struct rte_ring *requests[BB_WORKER_COUNT_MAX + 1][BB_WORKER_COUNT_MAX];
	struct rte_ring *local_replies[BB_WORKER_COUNT_MAX];
	/* Published with release by the service thread, read with acquire by workers;
	 * the old one is freed after rte_rcu_qsbr_synchronize. */
	_Atomic(struct dp_snapshot *) snapshot;
	struct rte_rcu_qsbr *rcu;
	atomic_bool stopping;
	struct rte_mempool *frame_pool;
	struct dp_net_config net_config;
	uint64_t tsc_per_ms;
	uint64_t wall_ms_at_tsc0; /* wall clock = wall_ms_at_tsc0 + tsc / tsc_per_ms */
	/*
	 * Per local-connection slot: bumped by the service thread when it closes the
	 * connection (store-release), read by a queue's owner (load-acquire) before it
	 * answers a receive for that slot, so a client that has gone is given no messages.
	 */
	_Atomic(uint16_t) local_generations[BB_LOCAL_CONNECTIONS_MAX];
	/* Keys the UDP cookies; drawn by the first worker's creation, read-only after. */
	struct dp_siphash_key cookie_key;
	/* busbar-control's address as subscribers reach it (config control_url), for the SNS
	 * envelope's SigningCertURL and UnsubscribeURL; read-only once workers run. */
	char control_url[DP_CONFIG_PATH_BYTES];
};

static inline uint64_t dp_now_ms(const struct dp_app *app, uint64_t tsc)
{
	return app->wall_ms_at_tsc0 + tsc / app->tsc_per_ms;
}

#endif
