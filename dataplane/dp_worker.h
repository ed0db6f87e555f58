/*
 * One worker lcore: its RX/TX queue pair, network stack, SQS engine, body
 * store, segment log, reply stage, retry window and counters. Nothing here is
 * written by another lcore.
 */
#ifndef BB_DP_WORKER_H
#define BB_DP_WORKER_H

#include <stdint.h>

#include <rte_common.h>

#include "dp_app.h"
#include "dp_dedup.h"
#include "dp_fanout.h"
#include "dp_log.h"
#include "dp_net.h"
#include "dp_schedule.h"
#include "dp_sign.h"
#include "dp_stats.h"
#include "sqs.h"

#define DP_REQUEST_BYTES_MAX (BB_WIRE_HEADER_BYTES + BB_LOCAL_BODY_BYTES_MAX)
#define DP_SIGNATURE_CACHE_BYTES DP_SIGN_BASE64_BYTES_MAX

/*
 * The reply stage: answers that wait until the log's durable sequence reaches their
 * record (a send's, a delete's, a batch's). At most DP_HELD_REPLIES_MAX wait; each is
 * small, the largest a 10-entry SendMessageBatch's (dp_execute.c asserts it fits).
 */
#define DP_HELD_REPLIES_MAX     4096u
#define DP_HELD_REPLY_BYTES_MAX 2432u

struct dp_held {
	struct rte_mbuf *request;
	uint64_t sequence;
	struct wire_header header;
	uint32_t reply_bytes;
	uint8_t reply[DP_HELD_REPLY_BYTES_MAX];
};

struct dp_worker {
	uint32_t index;
	struct dp_app *app;
	struct dp_net net;
	struct dp_tx tx;
	struct sqs_engine *sqs;
	struct rte_mempool *store_pool; /* message bodies */
	uint64_t applied_generation;    /* snapshot reconciled last */
	struct dp_dedup dedup;
	bool durable;       /* its queues are logged (dp_worker_recover opened the log) */
	/* Keys its receipt nonces (sqs_engine_options.handle_nonce): random at creation,
	 * busbard's persisted one from dp_worker_recover, so handles outlive a restart. */
	struct dp_siphash_key receipt_key;
	struct dp_log log;  /* log.seg NULL: durability memory, nothing is held */
	uint64_t durable_sequence; /* the log's, as of the last pass; UINT64_MAX without one */
	struct dp_fanout fanout;   /* deliveries of the topics and buses it owns */
	struct dp_schedules schedules; /* the due times of its buses' scheduled rules */
	struct topic_engine *topics; /* the SNS topics it owns (engines/topic.h) */
	struct dp_signer *signer;    /* signs SNS envelopes (dp_sign.h); NULL: none are sent */
	uint64_t signed_digest;      /* the string signed last, and its signature: one per */
	uint32_t signed_bytes;       /* publish serves every subscription of it */
	unsigned signed_version;     /* SignatureVersion 1 or 2 */
	char signature[DP_SIGNATURE_CACHE_BYTES];
	size_t signature_bytes;
	struct dp_held *held; /* DP_HELD_REPLIES_MAX, a FIFO in sequence order */
	uint32_t held_head, held_count;
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

/* Where a worker's log is and how it is written (dp_log_open_options has the meaning). */
struct dp_worker_log_options {
	const char *dir; /* NULL: durability memory, no log */
	uint64_t segment_bytes;
	const char *durable_marks_path;
	struct seg_io *io;
	const struct dp_siphash_key *receipt_key; /* NULL: keep the random one */
};

/*
 * Opens the worker's log and replays it into its queues, which it opens from the
 * published snapshot first; on the main thread, before the lcore starts. With durability
 * memory (options->dir NULL) only the queues are opened. 0 or -errno with why filled.
 */
__attribute__((warn_unused_result)) int
dp_worker_recover(struct dp_worker *worker, const struct dp_worker_log_options *options,
                  char *why, size_t why_bytes);

/* Gives the worker its SNS envelope signer (made on the main thread from busbard's key). */
void dp_worker_set_signer(struct dp_worker *worker, struct dp_signer *signer);

/* The lcore function: the fixed loop until app->stopping. */
int dp_worker_main(void *arg);

/* One pass without the port, for tests: reconcile, handle frames, serve rings and timers. */
void dp_worker_input(struct dp_worker *worker, struct rte_mbuf **frames, uint16_t count,
                     uint64_t now_tsc);
void dp_worker_serve(struct dp_worker *worker, uint64_t now_tsc);

#endif
