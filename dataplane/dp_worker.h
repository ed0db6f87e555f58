/*
 * One worker lcore: its RX/TX queue pair, network stack, SQS engine, body
 * store, retry window and counters. Nothing here is written by another lcore.
 */
#ifndef BB_DP_WORKER_H
#define BB_DP_WORKER_H

#include <stdint.h>

#include <rte_common.h>

#include "dp_app.h"
#include "dp_dedup.h"
#include "dp_net.h"
#include "dp_stats.h"
#include "sqs.h"

#define DP_REQUEST_BYTES_MAX (BB_WIRE_HEADER_BYTES + BB_LOCAL_BODY_BYTES_MAX)

struct dp_worker {
	uint32_t index;
	struct dp_app *app;
	struct dp_net net;
	struct dp_tx tx;
	struct sqs_engine *sqs;
	struct rte_mempool *store_pool; /* message bodies */
	uint64_t applied_generation;    /* snapshot reconciled last */
	struct dp_dedup dedup;
	struct sqs_wake *wakes; /* BB_PARKED_RECEIVES_PER_WORKER entries */
	uint8_t *request_buf;   /* a chained request made contiguous */
	uint8_t *reply_buf;
	struct dp_stats stats;
} __rte_cache_aligned;

struct dp_worker_options {
	uint32_t index;
	uint32_t store_mbufs; /* bounds what the queues of this worker hold */
	int socket_id;
};

struct dp_worker *dp_worker_create(struct dp_app *app, const struct dp_worker_options *options,
                                   int *error_out);
void dp_worker_destroy(struct dp_worker *worker);

/* The lcore function: the fixed loop until app->stopping. */
int dp_worker_main(void *arg);

/* One pass without the port, for tests: reconcile, handle frames, serve rings and timers. */
void dp_worker_input(struct dp_worker *worker, struct rte_mbuf **frames, uint16_t count,
                     uint64_t now_tsc);
void dp_worker_serve(struct dp_worker *worker, uint64_t now_tsc);

#endif
