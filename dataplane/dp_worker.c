/*
 * The worker lcore loop. Loop shape (STYLE.md):
 * reconcile the snapshot, RX burst, parse and route each request to its
 * queue's owner over an SPSC ring (even to itself), serve this lcore's rings,
 * expire visibility timeouts and parked receives, TX burst, report quiescent.
 * No malloc, lock, syscall or stdio on this path: everything was allocated in
 * dp_worker_create.
 */
#include "dp_worker.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>

#include "bb_endian.h"
#include "dp_siphash.h"
#include "dp_worker_int.h"

/*
 * dp_tx's flush: the frames go to this worker's TX queue of the port, in one burst or when a
 * batch fills mid-pass; what the port refuses is freed and counted.
 */
static void transmit(void *context, struct rte_mbuf **frames, uint16_t count)
{
	struct dp_worker *w = context;
	uint16_t sent = rte_eth_tx_burst(w->app->port_id, (uint16_t)w->index, frames, count);
	RTE_VERIFY(sent <= count);
	w->stats.tx_frames += sent;
	if (sent < count) {
		w->stats.tx_dropped += count - sent;
		rte_pktmbuf_free_bulk(frames + sent, count - sent);
	}
}

/*
 * A queue's share of its worker's store buffers (sqs.h), but never less than one message of
 * the largest size: a queue must be able to hold any message its worker's store can.
 */
static uint32_t queue_store_units_max(uint32_t store_mbufs)
{
	uint32_t largest = BB_MESSAGE_BODY_BYTES_MAX / RTE_MBUF_DEFAULT_DATAROOM + 1;
	return RTE_MAX(store_mbufs / SQS_QUEUE_SHARE_DIVISOR, largest);
}

/*
 * Parked receives hold their request's frame-pool mbuf for up to BB_WAIT_TIME_S_MAX, and RX
 * needs that pool (issue 10): a worker parks at most 1/BB_PARKED_FRAME_SHARE_DIVISOR of its
 * share of the pool, one source at most 1/BB_PARKED_SOURCE_SHARE_DIVISOR of those places.
 */
static uint32_t parking_places(const struct dp_app *app)
{
	uint32_t share = app->frame_pool->size / app->worker_count;
	return RTE_MIN(share / BB_PARKED_FRAME_SHARE_DIVISOR, BB_PARKED_RECEIVES_PER_WORKER);
}

static uint32_t parking_places_per_source(uint32_t places)
{
	return (places + BB_PARKED_SOURCE_SHARE_DIVISOR - 1) / BB_PARKED_SOURCE_SHARE_DIVISOR;
}

/* A receipt nonce: SipHash of (message id, receive count) under the worker's key. */
static uint64_t receipt_nonce(void *ctx, const uint8_t message_id[16], uint32_t receive_count)
{
	uint8_t input[20];
	memcpy(input, message_id, 16);
	bb_put_le32(input + 16, receive_count);
	return dp_siphash(ctx, input, sizeof(input));
}

struct dp_worker *dp_worker_create(struct dp_app *app, const struct dp_worker_options *options,
                                   int *error_out)
{
	char name[RTE_MEMPOOL_NAMESIZE];
	struct dp_worker *w =
	    rte_zmalloc_socket("dp_worker", sizeof(*w), RTE_CACHE_LINE_SIZE, options->socket_id);
	if (w == NULL) {
		*error_out = -ENOMEM;
		return NULL;
	}
	w->index = options->index;
	w->app = app;
	w->tx.flush = transmit;
	w->tx.context = w;
	if (dp_log_init(&w->log) != 0) {
		rte_free(w);
		*error_out = -ENOMEM;
		return NULL;
	}
	snprintf(name, sizeof(name), "store%u", options->index);
	w->store_pool = rte_pktmbuf_pool_create(name, options->store_mbufs, 256, 0,
	                                        RTE_MBUF_DEFAULT_BUF_SIZE, options->socket_id);
	struct sqs_engine_options engine_options = {
	    .queue_slots = BB_QUEUE_SLOTS_PER_WORKER,
	    .message_slots = BB_MESSAGE_SLOTS_PER_WORKER,
	    .waiter_slots = parking_places(app),
	    .waiter_slots_per_source = parking_places_per_source(parking_places(app)),
	    .queue_messages_max = SQS_QUEUE_MESSAGES_MAX,
	    .queue_store_units_max = queue_store_units_max(options->store_mbufs),
	    .store_unit_bytes = RTE_MBUF_DEFAULT_DATAROOM, /* what dp_chain puts in one mbuf */
	    .large_body_bytes_min = RECEIVE_BODY_BYTES_MAX(BB_UDP_PAYLOAD_BYTES_MAX) + 1,
	    .store = dp_store_ops(w->store_pool),
	    .log = dp_log_ops(&w->log),
	    .fifo_group_slots = BB_FIFO_GROUPS_PER_WORKER,
	    .fifo_dedup_slots = BB_FIFO_DEDUP_PER_WORKER,
	    .attempt_slots = BB_FIFO_ATTEMPTS_PER_WORKER,
	    .handle_nonce = receipt_nonce,
	    .handle_nonce_ctx = &w->receipt_key,
	    .move_slots = DP_MOVES_MAX,
	};
	int rc = w->store_pool == NULL ? -rte_errno : 0;
	if (rc == 0)
		rc = dp_cookie_key_init(&w->receipt_key); /* a random key: any one will do */
	if (rc == 0)
		w->sqs = sqs_engine_create(&engine_options, &rc);
	if (rc == 0)
		rc = dp_dedup_init(&w->dedup, BB_DEDUP_ENTRIES_PER_WORKER, BB_DEDUP_ARENA_BYTES);
	if (rc == 0)
		rc = dp_fanout_init(&w->fanout, options->index, options->socket_id);
	if (rc == 0)
		rc = dp_schedules_init(&w->schedules);
	struct topic_engine_options topic_options = {
	    .topic_slots = BB_TOPIC_SLOTS_PER_WORKER,
	    .dedup_slots = BB_TOPIC_DEDUP_PER_WORKER,
	    .log = {w, dp_topic_log_append},
	};
	if (rc == 0)
		w->topics = topic_engine_create(&topic_options, &rc);
	w->durable_sequence = UINT64_MAX; /* no log until dp_worker_recover opens one */
	if (rc == 0 && options->index == 0) /* before any lcore runs: one key for all */
		rc = dp_cookie_key_init(&app->cookie_key);
	if (rc == 0)
		rc = dp_net_init(&w->net, &app->net_config, app->frame_pool, &w->stats,
		                 options->socket_id);
	w->wakes = calloc(BB_PARKED_RECEIVES_PER_WORKER, sizeof(*w->wakes));
	w->request_buf = malloc(DP_REQUEST_BYTES_MAX);
	w->reply_buf = malloc(DP_REQUEST_BYTES_MAX);
	w->held = calloc(DP_HELD_REPLIES_MAX, sizeof(*w->held));
	if (rc == 0 && (w->wakes == NULL || w->request_buf == NULL || w->reply_buf == NULL ||
	                w->held == NULL))
		rc = -ENOMEM;
	if (rc != 0) {
		dp_worker_destroy(w);
		*error_out = rc;
		return NULL;
	}
	*error_out = 0;
	return w;
}

void dp_worker_destroy(struct dp_worker *w)
{
	if (w == NULL)
		return;
	rte_pktmbuf_free_bulk(w->tx.frames, w->tx.count);
	if (w->net.frag_table != NULL)
		dp_net_free(&w->net);
	dp_dedup_free(&w->dedup);
	for (uint32_t i = 0; i < w->held_count; i++) /* never answered: not durable */
		rte_pktmbuf_free(w->held[(w->held_head + i) % DP_HELD_REPLIES_MAX].request);
	sqs_engine_destroy(w->sqs); /* releases every body into store_pool */
	dp_replay_free(&w->fanout.recovery);
	dp_fanout_free(&w->fanout);
	dp_schedules_free(&w->schedules);
	topic_engine_destroy(w->topics);
	dp_signer_free(w->signer);
	dp_log_close(&w->log);
	free(w->held);
	rte_mempool_free(w->store_pool);
	free(w->wakes);
	free(w->request_buf);
	free(w->reply_buf);
	rte_free(w);
}

/* ---- the loop ---- */

/* The topic engine's slots as the snapshot places the topics this worker owns. */
static void reconcile_topics(struct dp_worker *w, const struct dp_snapshot *snapshot)
{
	bool kept[BB_TOPIC_SLOTS_PER_WORKER] = {false};
	const struct dp_routing *r = snapshot->routing;
	for (uint32_t i = 0; r != NULL && i < r->topic_count; i++) {
		const struct dp_topic *t = &r->topics[i];
		if (t->owner != w->index)
			continue;
		struct topic_config config = {
		    .topic_id = t->topic_id,
		    .fifo = (t->flags & BB_SNAPSHOT_TOPIC_FIFO) != 0,
		    .content_based_deduplication = (t->flags & BB_SNAPSHOT_TOPIC_CONTENT_DEDUP) != 0,
		    .durable = w->durable && (t->flags & BB_SNAPSHOT_TOPIC_MEMORY) == 0,
		};
		/* The snapshot's flags are the codec's, checked: the engine takes every config. */
		RTE_VERIFY(topic_open(w->topics, t->slot, &config) == 0);
		kept[t->slot] = true;
	}
	for (uint32_t slot = 0; slot < BB_TOPIC_SLOTS_PER_WORKER; slot++) {
		if (!kept[slot])
			topic_close(w->topics, slot);
	}
}

static void reconcile(struct dp_worker *w, const struct dp_snapshot *snapshot, uint64_t now_ms)
{
	if (snapshot == NULL || snapshot->generation == w->applied_generation)
		return;
	bool kept[BB_QUEUE_SLOTS_PER_WORKER] = {false};
	for (uint32_t i = 0; i < snapshot->queue_count; i++) {
		const struct dp_queue_entry *q = &snapshot->queues[i];
		if (q->owner != w->index)
			continue;
		struct sqs_queue_config config = {
		    .queue_id = q->queue_id,
		    .visibility_timeout_s = q->visibility_timeout_s,
		    .maximum_message_bytes = q->maximum_message_bytes,
		    .durable = w->durable && !q->memory,
		    .fifo = q->fifo,
		    .content_based_deduplication = q->content_based_deduplication,
		    .dedup_per_group = q->dedup_per_group,
		    .delay_s = q->delay_s,
		    .retention_s = q->retention_s,
		    .max_receive_count = q->max_receive_count, /* 0 without a dead-letter queue */
		};
		dp_answer_wakes(w, sqs_queue_open(w->sqs, q->slot, &config, w->wakes), now_ms);
		kept[q->slot] = true;
	}
	for (uint32_t slot = 0; slot < BB_QUEUE_SLOTS_PER_WORKER; slot++) {
		if (!kept[slot])
			dp_answer_wakes(w, sqs_queue_close(w->sqs, slot, w->wakes), now_ms);
	}
	reconcile_topics(w, snapshot);
	w->applied_generation = snapshot->generation;
}

/* The log's counters, where GetStats reads a worker's. */
static void copy_log_counters(struct dp_worker *w)
{
	const struct dp_log_counters *c = &w->log.counters;
	w->stats.log_appends_refused = c->appends_refused;
	w->stats.log_releases_leaked = c->releases_leaked;
	w->stats.log_messages_relogged = c->messages_relogged;
	w->stats.log_messages_recovered = c->messages_recovered;
	w->stats.log_records_recovered = c->records_recovered;
	w->stats.log_commits = c->commits;
	w->stats.log_records_committed = c->records_committed;
}

void dp_worker_set_signer(struct dp_worker *w, struct dp_signer *signer)
{
	RTE_VERIFY(w->signer == NULL);
	w->signer = signer;
}

int dp_worker_recover(struct dp_worker *w, const struct dp_worker_log_options *log_options,
                      char *why, size_t why_bytes)
{
	const struct dp_snapshot *snapshot =
	    atomic_load_explicit(&w->app->snapshot, memory_order_acquire);
	uint64_t now_ms = dp_now_ms(w->app, rte_rdtsc());
	RTE_VERIFY(w->log.seg == NULL && w->applied_generation == 0);
	w->durable = log_options->dir != NULL;
	if (log_options->receipt_key != NULL)
		w->receipt_key = *log_options->receipt_key;
	reconcile(w, snapshot, now_ms); /* the queues the records name */
	if (!w->durable)
		return 0;
	struct dp_log_open_options options = {
	    .dir = log_options->dir,
	    .worker_index = w->index,
	    .segment_bytes = log_options->segment_bytes,
	    .engine = w->sqs,
	    .snapshot = snapshot,
	    .now_ms = now_ms,
	    .io = log_options->io,
	    .durable_marks_path = log_options->durable_marks_path,
	    .on_other_record = dp_replay_record,
	    .other_ctx = w,
	};
	int rc = dp_log_open(&w->log, &options, why, why_bytes);
	copy_log_counters(w);
	if (rc == 0)
		w->durable_sequence = seg_durable_sequence(w->log.seg);
	return rc;
}

/*
 * The log's part of a pass: commit what the pass wrote, then answer what is durable. A log
 * that stopped on an I/O error cannot keep a promise any more: the process ends, and
 * recovery starts from what is on disk (STYLE.md, habit 6).
 */
static void serve_log(struct dp_worker *w)
{
	if (w->log.seg == NULL)
		return;
	int64_t durable = dp_log_pass(&w->log, w->sqs);
	if (durable < 0)
		rte_panic("busbard: worker %u: the message log stopped after an I/O error\n",
		          w->index);
	w->durable_sequence = (uint64_t)durable;
	dp_stage_release(w, (uint64_t)durable);
	copy_log_counters(w);
}

void dp_worker_input(struct dp_worker *w, struct rte_mbuf **frames, uint16_t count,
                     uint64_t now_tsc)
{
	const struct dp_snapshot *snapshot =
	    atomic_load_explicit(&w->app->snapshot, memory_order_acquire);
	uint64_t now_ms = dp_now_ms(w->app, now_tsc);
	reconcile(w, snapshot, now_ms);
	for (uint16_t i = 0; i < count; i++) {
		struct rte_mbuf *request = dp_net_input(&w->net, frames[i], now_tsc, &w->tx);
		if (request != NULL)
			dp_route(w, request, snapshot, now_ms);
	}
}

void dp_worker_serve(struct dp_worker *w, uint64_t now_tsc)
{
	uint64_t now_ms = dp_now_ms(w->app, now_tsc);
	struct rte_mbuf *requests[BB_BURST_MAX];
	for (uint32_t from = 0; from <= w->app->worker_count; from++) {
		struct rte_ring *ring = w->app->requests[from][w->index];
		unsigned int n =
		    rte_ring_sc_dequeue_burst(ring, (void **)requests, BB_BURST_MAX, NULL);
		for (unsigned int i = 0; i < n; i++)
			dp_execute(w, requests[i], now_ms);
	}
	sqs_expire(w->sqs, now_ms);
	/* However many frames the answers take: a full TX batch is flushed, not dropped. */
	uint32_t woken =
	    sqs_take_waiters(w->sqs, now_ms, w->wakes, BB_PARKED_RECEIVES_PER_WORKER);
	dp_answer_wakes(w, woken, now_ms);
	serve_log(w);
	if (w->fanout.recovery.next < w->fanout.recovery.count)
		dp_replay_pass(w, atomic_load_explicit(&w->app->snapshot, memory_order_acquire),
		               now_ms);
	dp_schedule_pass(w, atomic_load_explicit(&w->app->snapshot, memory_order_acquire), now_ms);
	if (w->fanout.archive.count > 0)
		dp_archive_pass(w, atomic_load_explicit(&w->app->snapshot, memory_order_acquire),
		                now_ms);
	dp_redrive_pass(w, atomic_load_explicit(&w->app->snapshot, memory_order_acquire), now_ms);
	dp_fanout_pass(w, w->durable_sequence, now_ms);
	dp_net_reap(&w->net, now_tsc);
}

int dp_worker_main(void *arg)
{
	struct dp_worker *w = arg;
	struct dp_app *app = w->app;
	struct rte_mbuf *frames[BB_BURST_MAX];
	rte_rcu_qsbr_thread_register(app->rcu, w->index);
	rte_rcu_qsbr_thread_online(app->rcu, w->index);
	while (!atomic_load_explicit(&app->stopping, memory_order_relaxed)) {
		uint64_t now_tsc = rte_rdtsc();
		uint16_t count =
		    rte_eth_rx_burst(app->port_id, (uint16_t)w->index, frames, BB_BURST_MAX);
		dp_worker_input(w, frames, count, now_tsc);
		dp_worker_serve(w, now_tsc);
		dp_tx_flush(&w->tx);
		rte_rcu_qsbr_quiescent(app->rcu, w->index);
	}
	/* A clean stop: what was written is made durable and its answers still go. */
	if (w->log.seg != NULL) {
		int64_t durable = dp_log_drain(&w->log);
		if (durable >= 0)
			dp_stage_release(w, (uint64_t)durable);
		dp_tx_flush(&w->tx);
	}
	rte_rcu_qsbr_thread_offline(app->rcu, w->index);
	rte_rcu_qsbr_thread_unregister(app->rcu, w->index);
	return 0;
}
