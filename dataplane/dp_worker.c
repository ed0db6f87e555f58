/*
 * The worker lcore loop and what it does with requests. Loop shape (STYLE.md):
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

#include "dp_chain.h"
#include "dp_request.h"

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

/* ---- body store: mbuf chains from this worker's store pool ---- */

static int store_put(void *ctx, const uint8_t *body, uint32_t body_bytes, uint64_t *ref_out)
{
	struct rte_mbuf *chain = dp_chain_from_bytes(ctx, body, body_bytes);
	if (chain == NULL)
		return -ENOMEM;
	*ref_out = (uint64_t)(uintptr_t)chain;
	return 0;
}

static void store_read(void *ctx, uint64_t ref, uint8_t *out, uint32_t body_bytes)
{
	dp_chain_copy_out((const struct rte_mbuf *)(uintptr_t)ref, out, body_bytes);
}

static void store_release(void *ctx, uint64_t ref)
{
	rte_pktmbuf_free((struct rte_mbuf *)(uintptr_t)ref);
}

/* Fields of one received message besides its body. */
#define RECEIVED_FIELDS_BYTES                                                                      \
	(7 * WIRE_FIELD_HEADER_BYTES + BB_MESSAGE_ID_BYTES + BB_RECEIPT_HANDLE_BYTES + 32 + 4 +    \
	 8 + 8)
/* The largest body a receive reply of reply_bytes can carry, as its only message. */
#define RECEIVE_BODY_BYTES_MAX(reply_bytes)                                                        \
	((reply_bytes) - BB_WIRE_HEADER_BYTES - RECEIVED_FIELDS_BYTES - WIRE_FIELD_HEADER_BYTES)
_Static_assert(RECEIVE_BODY_BYTES_MAX(DP_REQUEST_BYTES_MAX) >= BB_MESSAGE_BODY_BYTES_MAX,
               "every message fits a reply over the local socket");
_Static_assert(RECEIVE_BODY_BYTES_MAX(BB_UDP_PAYLOAD_BYTES_MAX) < BB_MESSAGE_BODY_BYTES_MAX,
               "larger ones do not fit a UDP reply: the engine keeps them apart");

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
	    .store = {w->store_pool, store_put, store_read, store_release},
	};
	int rc = w->store_pool == NULL ? -rte_errno : 0;
	if (rc == 0)
		w->sqs = sqs_engine_create(&engine_options, &rc);
	if (rc == 0)
		rc = dp_dedup_init(&w->dedup, BB_DEDUP_ENTRIES_PER_WORKER, BB_DEDUP_ARENA_BYTES);
	if (rc == 0 && options->index == 0) /* before any lcore runs: one key for all */
		rc = dp_cookie_key_init(&app->cookie_key);
	if (rc == 0)
		rc = dp_net_init(&w->net, &app->net_config, app->frame_pool, &w->stats,
		                 options->socket_id);
	w->wakes = calloc(BB_PARKED_RECEIVES_PER_WORKER, sizeof(*w->wakes));
	w->request_buf = malloc(DP_REQUEST_BYTES_MAX);
	w->reply_buf = malloc(DP_REQUEST_BYTES_MAX);
	if (rc == 0 && (w->wakes == NULL || w->request_buf == NULL || w->reply_buf == NULL))
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
	sqs_engine_destroy(w->sqs); /* releases every body into store_pool */
	rte_mempool_free(w->store_pool);
	free(w->wakes);
	free(w->request_buf);
	free(w->reply_buf);
	rte_free(w);
}

/* ---- replies ---- */

/*
 * Until requests are authenticated, a UDP source that has not shown a cookie
 * gets at most BB_UDP_UNPROVEN_REPLY_FACTOR bytes per request byte: busbard
 * must not amplify traffic toward a forged address. Every reply but a receive's
 * is that small by construction (the tests check each); this enforces it.
 */
static bool reply_too_large_for(struct rte_mbuf *request, size_t reply_bytes)
{
	const struct dp_request_meta *meta = dp_meta(request);
	return meta->source == DP_SOURCE_UDP && !meta->proven &&
	       reply_bytes > (size_t)BB_UDP_UNPROVEN_REPLY_FACTOR * rte_pktmbuf_pkt_len(request);
}

static void send_reply(struct dp_worker *w, struct rte_mbuf *request, const uint8_t *reply,
                       size_t reply_bytes)
{
	struct dp_request_meta *meta = dp_meta(request);
	if (reply_too_large_for(request, reply_bytes)) {
		w->stats.udp_replies_unproven_dropped++;
		return;
	}
	if (meta->source == DP_SOURCE_UDP) {
		if (dp_net_send_udp(&w->net, &meta->peer, reply, (uint32_t)reply_bytes, &w->tx) !=
		    0)
			w->stats.tx_dropped++;
		return;
	}
	struct rte_mbuf *chain =
	    dp_chain_from_bytes(w->app->frame_pool, reply, (uint32_t)reply_bytes);
	if (chain == NULL) {
		w->stats.tx_dropped++;
		return;
	}
	*dp_meta(chain) = *meta;
	if (rte_ring_sp_enqueue(w->app->local_replies[w->index], chain) != 0) {
		rte_pktmbuf_free(chain);
		w->stats.ring_full++;
	}
}

/* Sends the reply in reply_buf, remembers it for retries and frees the request. */
static void finish(struct dp_worker *w, struct rte_mbuf *request, const struct wire_header *h,
                   enum wire_status status, size_t reply_bytes)
{
	const uint8_t *reply = w->reply_buf;
	if (status != WIRE_OK)
		w->stats.replies_error++;
	send_reply(w, request, reply, reply_bytes);
	if (h->client_id != 0) {
		struct dp_dedup_key key = {h->client_id, h->request_id, dp_meta(request)->digest};
		dp_dedup_finish(&w->dedup, &key, reply, (uint32_t)reply_bytes);
	}
	rte_pktmbuf_free(request);
}

static void finish_error(struct dp_worker *w, struct rte_mbuf *request, const struct wire_header *h,
                         enum wire_status status, const char *why)
{
	size_t bytes = dp_reply_error(w->reply_buf, DP_REQUEST_BYTES_MAX, h, status, why);
	finish(w, request, h, status, bytes);
}

/* The request's bytes, contiguous: in the mbuf when it has one segment, else copied. */
static const uint8_t *request_bytes(struct dp_worker *w, struct rte_mbuf *m, uint32_t *length)
{
	*length = rte_pktmbuf_pkt_len(m);
	if (*length > DP_REQUEST_BYTES_MAX)
		return NULL;
	return rte_pktmbuf_read(m, 0, *length, w->request_buf);
}

/* ---- routing, on the lcore that received the request ---- */

/* Answers a request that goes no further than this lcore (an error, or Ping). */
static void answer_here(struct dp_worker *w, struct rte_mbuf *m, const uint8_t *bytes,
                        uint32_t length, const struct dp_request *req, enum wire_status status)
{
	if (bytes == NULL || !dp_request_is_answerable(bytes, length)) {
		w->stats.requests_malformed++; /* not ours to answer: no reflection of garbage */
		rte_pktmbuf_free(m);
		return;
	}
	if (status == WIRE_OK) {
		struct wire_writer writer;
		dp_reply_begin(&writer, w->reply_buf, DP_REQUEST_BYTES_MAX);
		send_reply(w, m, w->reply_buf, dp_reply_finish(&writer, &req->header, WIRE_OK));
		rte_pktmbuf_free(m);
		return;
	}
	w->stats.replies_error++;
	size_t reply_bytes =
	    dp_reply_error(w->reply_buf, DP_REQUEST_BYTES_MAX, &req->header, status, req->error);
	send_reply(w, m, w->reply_buf, reply_bytes);
	rte_pktmbuf_free(m);
}

/* What the cookie reply says to a person reading it; it must keep the reply small. */
#define COOKIE_REPLY_MESSAGE "send the same request again with this COOKIE"
/* The smallest ReceiveMessage: a header and a one-byte queue name. */
#define RECEIVE_REQUEST_BYTES_MIN (BB_WIRE_HEADER_BYTES + WIRE_FIELD_HEADER_BYTES + 1)
_Static_assert(BB_WIRE_HEADER_BYTES + 2 * WIRE_FIELD_HEADER_BYTES + 8 +
                       sizeof(COOKIE_REPLY_MESSAGE) <=
                   BB_UDP_UNPROVEN_REPLY_FACTOR * RECEIVE_REQUEST_BYTES_MIN,
               "a cookie reply is never more than the factor times its request");

/* Answers a UDP receive without a valid cookie with one, from the routing lcore. */
static void answer_cookie(struct dp_worker *w, struct rte_mbuf *m, const struct dp_request *req,
                          const struct dp_cookie_source *source, uint64_t now_ms)
{
	struct wire_writer writer;
	dp_reply_begin(&writer, w->reply_buf, DP_REQUEST_BYTES_MAX);
	uint64_t cookie = dp_cookie_make(&w->app->cookie_key, source, now_ms);
	wire_put_u64(&writer, WIRE_TAG_COOKIE, cookie);
	wire_put_str(&writer, WIRE_TAG_ERROR_MESSAGE, COOKIE_REPLY_MESSAGE);
	size_t bytes = dp_reply_finish(&writer, &req->header, WIRE_RETRY_WITH_COOKIE);
	w->stats.udp_cookies_sent++;
	send_reply(w, m, w->reply_buf, bytes); /* not remembered: the retry must act */
	rte_pktmbuf_free(m);
}

/*
 * True when the request goes on. A UDP receive (the one reply that can exceed
 * the factor) goes on only with its source's cookie; else it is answered here.
 */
static bool proven_or_answered(struct dp_worker *w, struct rte_mbuf *m,
                               const struct dp_request *req, uint64_t now_ms)
{
	struct dp_request_meta *meta = dp_meta(m);
	if (req->header.opcode != WIRE_OP_RECEIVE_MESSAGE)
		return true;
	struct dp_cookie_source source = {meta->peer.ip, meta->peer.port, req->header.client_id};
	if (!req->cookie.present ||
	    !dp_cookie_check(&w->app->cookie_key, &source, now_ms, req->cookie.value)) {
		answer_cookie(w, m, req, &source, now_ms);
		return false;
	}
	meta->proven = 1;
	return true;
}

static void route(struct dp_worker *w, struct rte_mbuf *m, const struct dp_snapshot *snapshot,
                  uint64_t now_ms)
{
	w->stats.requests++;
	dp_meta(m)->proven = 0; /* the private area keeps what its last use left there */
	uint32_t length;
	const uint8_t *bytes = request_bytes(w, m, &length);
	struct dp_request req;
	enum wire_status status =
	    bytes == NULL ? WIRE_ERR_MALFORMED : dp_request_parse(bytes, length, &req);
	if (status != WIRE_OK || req.header.opcode == WIRE_OP_PING) {
		answer_here(w, m, bytes, length, &req, status);
		return;
	}
	if (!proven_or_answered(w, m, &req, now_ms))
		return;
	const struct dp_queue_entry *q =
	    snapshot == NULL
	        ? NULL
	        : dp_snapshot_find(snapshot, req.queue_name.data, req.queue_name.length);
	if (q == NULL) {
		req.error = "The specified queue does not exist.";
		answer_here(w, m, bytes, length, &req, WIRE_ERR_NONEXISTENT_QUEUE);
		return;
	}
	struct dp_request_meta *meta = dp_meta(m);
	meta->queue_slot = q->slot;
	meta->queue_id = q->queue_id;
	meta->receive_wait_time_s = q->receive_wait_time_s;
	if (q->owner != w->index)
		w->stats.requests_to_other_worker++;
	if (rte_ring_sp_enqueue(w->app->requests[w->index][q->owner], m) != 0) {
		w->stats.ring_full++;
		req.error = "the queue's owner is busy; retry";
		answer_here(w, m, bytes, length, &req, WIRE_ERR_SERVICE_UNAVAILABLE);
	}
}

/* ---- execution, on the queue's owner ---- */

static size_t put_received(struct wire_writer *writer, struct dp_worker *w,
                           const struct sqs_received *r)
{
	wire_put_bytes(writer, WIRE_TAG_MESSAGE_BEGIN, NULL, 0);
	wire_put_str(writer, WIRE_TAG_MESSAGE_ID, r->message_id);
	wire_put_str(writer, WIRE_TAG_RECEIPT_HANDLE, r->receipt_handle);
	wire_put_str(writer, WIRE_TAG_MD5_OF_BODY, r->md5_of_body);
	wire_put_u32(writer, WIRE_TAG_RECEIVE_COUNT, r->receive_count);
	wire_put_u64(writer, WIRE_TAG_SENT_TIMESTAMP_MS, r->sent_ms);
	wire_put_u64(writer, WIRE_TAG_FIRST_RECEIVE_TIMESTAMP_MS, r->first_receive_ms);
	uint8_t *body = wire_put_reserve(writer, WIRE_TAG_BODY, r->body_bytes);
	if (body != NULL)
		store_read(w->store_pool, r->body_ref, body, r->body_bytes);
	return writer->length;
}

/* A receive's reply: one datagram over UDP, one frame over the local socket. */
static size_t receive_reply_bytes(const struct dp_request_meta *meta)
{
	return meta->source == DP_SOURCE_UDP ? BB_UDP_PAYLOAD_BYTES_MAX : DP_REQUEST_BYTES_MAX;
}

/*
 * True when the local client of a request has closed its connection since it asked: a
 * receive's reply would be dropped, and the messages in it hidden for their visibility
 * timeout (issue 10, defect 7).
 */
static bool local_client_gone(const struct dp_worker *w, const struct dp_request_meta *meta)
{
	if (meta->source != DP_SOURCE_LOCAL)
		return false;
	uint32_t slot = meta->local_connection & 0xffffu;
	RTE_VERIFY(slot < BB_LOCAL_CONNECTIONS_MAX);
	/* Pairs with the store-release of dp_service.c's connection_close. */
	uint16_t now = atomic_load_explicit(&w->app->local_generations[slot], memory_order_acquire);
	return now != (uint16_t)(meta->local_connection >> 16);
}

/*
 * Answers a receive with the messages that fit its reply, oldest first: a message too
 * large for this reply is passed over and stays for a receive that can take it.
 */
static void answer_receive(struct dp_worker *w, struct rte_mbuf *m, const struct wire_header *h,
                           const struct sqs_receive_options *receive, uint64_t now_ms)
{
	struct dp_request_meta *meta = dp_meta(m);
	struct wire_writer writer;
	dp_reply_begin(&writer, w->reply_buf, receive_reply_bytes(meta));
	uint32_t max = local_client_gone(w, meta) ? 0 : receive->max_messages;
	for (uint32_t i = 0; i < max; i++) {
		size_t room = writer.capacity - writer.length;
		if (room <= RECEIVED_FIELDS_BYTES + WIRE_FIELD_HEADER_BYTES)
			break;
		struct sqs_receive_options one = *receive;
		one.max_messages = 1;
		one.body_bytes_max = (uint32_t)RTE_MIN(
		    (size_t)one.body_bytes_max, room - RECEIVED_FIELDS_BYTES - WIRE_FIELD_HEADER_BYTES);
		struct sqs_received r;
		if (sqs_receive(w->sqs, meta->queue_slot, &one, now_ms, &r) == 0)
			break;
		put_received(&writer, w, &r);
	}
	finish(w, m, h, WIRE_OK, dp_reply_finish(&writer, h, WIRE_OK));
}

/*
 * Who a parked receive counts against: a UDP source by its address, whatever its port (its
 * cookie proved it receives there); a local client by its connection.
 */
static uint64_t park_source(const struct dp_request_meta *meta)
{
	if (meta->source == DP_SOURCE_UDP)
		return (uint64_t)1 << 32 | meta->peer.ip;
	return (uint64_t)2 << 32 | (meta->local_connection & 0xffffu);
}

/* Parks a receive: 0, or why it cannot be (sqs_park's -errno, or -EMSGSIZE for a chain). */
static int park(struct dp_worker *w, struct rte_mbuf *m, const struct sqs_receive_options *receive,
                uint64_t deadline_ms)
{
	/* A place holds one mbuf of the frame pool; a request that came in fragments is a chain. */
	if (m->nb_segs != 1)
		return -EMSGSIZE;
	const struct dp_request_meta *meta = dp_meta(m);
	return sqs_park(w->sqs, meta->queue_slot, m, park_source(meta), receive, deadline_ms);
}

static void execute_receive(struct dp_worker *w, struct rte_mbuf *m, const struct dp_request *req,
                            uint64_t now_ms)
{
	struct dp_request_meta *meta = dp_meta(m);
	struct sqs_receive_options receive = {
	    .max_messages = req->max_messages.present ? req->max_messages.value : 1,
	    .visibility_timeout_s =
	        req->visibility_timeout_s.present ? (int64_t)req->visibility_timeout_s.value : -1,
	    .body_bytes_max = (uint32_t)RECEIVE_BODY_BYTES_MAX(receive_reply_bytes(meta)),
	};
	uint32_t wait_s =
	    req->wait_time_s.present ? req->wait_time_s.value : meta->receive_wait_time_s;
	bool nothing_now = !sqs_can_receive(w->sqs, meta->queue_slot, receive.body_bytes_max);
	if (nothing_now && wait_s > 0 && !local_client_gone(w, meta)) {
		uint64_t deadline_ms = now_ms + (uint64_t)wait_s * 1000;
		if (park(w, m, &receive, deadline_ms) == 0) {
			w->stats.long_polls_parked++;
			return; /* answered from serve_waiters */
		}
		/* No place for it (all taken, its source's share taken, or a chain): answered
		 * now, as a short poll. */
		w->stats.long_polls_refused++;
	}
	answer_receive(w, m, &req->header, &receive, now_ms);
}

static void execute_send(struct dp_worker *w, struct rte_mbuf *m, const struct dp_request *req,
                         uint64_t now_ms)
{
	struct sqs_sent sent;
	uint32_t slot = dp_meta(m)->queue_slot;
	enum wire_status status =
	    sqs_send(w->sqs, slot, req->body.data, req->body.length, now_ms, &sent);
	if (status == WIRE_ERR_OVER_LIMIT) {
		finish_error(w, m, &req->header, status,
		             sqs_queue_has_room(w->sqs, slot, req->body.length)
		                 ? "the message store its queue shares with others is full"
		                 : "the queue is full: it holds as many messages or bytes as "
		                   "one queue may (docs/operations.md)");
		return;
	}
	if (status == WIRE_ERR_INVALID_MESSAGE_CONTENTS) {
		finish_error(w, m, &req->header, status,
		             "the message body must be UTF-8 of the allowed characters #x9 | #xA | "
		             "#xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF");
		return;
	}
	if (status != WIRE_OK) {
		finish_error(w, m, &req->header, status, "message body is empty or too long");
		return;
	}
	struct wire_writer writer;
	dp_reply_begin(&writer, w->reply_buf, DP_REQUEST_BYTES_MAX);
	wire_put_str(&writer, WIRE_TAG_MESSAGE_ID, sent.message_id);
	wire_put_str(&writer, WIRE_TAG_MD5_OF_BODY, sent.md5_of_body);
	finish(w, m, &req->header, WIRE_OK, dp_reply_finish(&writer, &req->header, WIRE_OK));
}

static void execute_handle_op(struct dp_worker *w, struct rte_mbuf *m, const struct dp_request *req,
                              uint64_t now_ms)
{
	uint32_t slot = dp_meta(m)->queue_slot;
	const char *handle = (const char *)req->receipt_handle.data;
	enum wire_status status =
	    req->header.opcode == WIRE_OP_DELETE_MESSAGE
	        ? sqs_delete(w->sqs, slot, handle, req->receipt_handle.length)
	        : sqs_change_visibility(w->sqs, slot, handle, req->receipt_handle.length,
	                                req->visibility_timeout_s.value, now_ms);
	if (status == WIRE_ERR_RECEIPT_HANDLE_INVALID) {
		finish_error(w, m, &req->header, status, "The receipt handle is not valid.");
		return;
	}
	if (status == WIRE_ERR_MESSAGE_NOT_INFLIGHT) {
		finish_error(w, m, &req->header, status, "The message is not in flight.");
		return;
	}
	if (status != WIRE_OK) {
		finish_error(w, m, &req->header, status,
		             "VisibilityTimeout exceeds 12 hours since the receive");
		return;
	}
	struct wire_writer writer;
	dp_reply_begin(&writer, w->reply_buf, DP_REQUEST_BYTES_MAX);
	finish(w, m, &req->header, WIRE_OK, dp_reply_finish(&writer, &req->header, WIRE_OK));
}

/*
 * Answers a retry from the window; returns true when the request must not run
 * again. A different request under remembered ids is refused, and that answer
 * is not remembered: the ids stay with the request that has them.
 */
static bool answered_from_window(struct dp_worker *w, struct rte_mbuf *m,
                                 const struct dp_request *req)
{
	const struct wire_header *h = &req->header;
	if (h->client_id == 0)
		return false;
	struct dp_dedup_key key = {h->client_id, h->request_id, dp_request_digest(req)};
	dp_meta(m)->digest = key.digest;
	const uint8_t *reply;
	uint32_t reply_bytes;
	switch (dp_dedup_lookup(&w->dedup, &key, &reply, &reply_bytes)) {
	case DP_DEDUP_CONFLICT:
		w->stats.dedup_conflicts++;
		w->stats.replies_error++;
		reply_bytes = (uint32_t)dp_reply_error(
		    w->reply_buf, DP_REQUEST_BYTES_MAX, h, WIRE_ERR_IDEMPOTENT_PARAMETER_MISMATCH,
		    "this request id was used for a different request: use a new id");
		send_reply(w, m, w->reply_buf, reply_bytes);
		rte_pktmbuf_free(m);
		return true;
	case DP_DEDUP_DONE:
		w->stats.dedup_replayed++;
		send_reply(w, m, reply, reply_bytes);
		rte_pktmbuf_free(m);
		return true;
	case DP_DEDUP_PENDING:
		w->stats.dedup_in_progress++; /* the first attempt will answer */
		rte_pktmbuf_free(m);
		return true;
	case DP_DEDUP_UNKNOWN: break;
	}
	dp_dedup_begin(&w->dedup, &key);
	return false;
}

static void execute(struct dp_worker *w, struct rte_mbuf *m, uint64_t now_ms)
{
	uint32_t length;
	const uint8_t *bytes = request_bytes(w, m, &length);
	struct dp_request req;
	/*
	 * Parsed again, on purpose: the routing lcore's field pointers may point
	 * into its own scratch copy of a chained request, which this lcore cannot
	 * use. Routing parsed these same bytes successfully, so this cannot fail.
	 */
	RTE_VERIFY(bytes != NULL && dp_request_parse(bytes, length, &req) == WIRE_OK);
	/* The window first: every answer below is then remembered under its digest. */
	if (answered_from_window(w, m, &req))
		return;
	struct dp_request_meta *meta = dp_meta(m);
	if (!sqs_queue_holds(w->sqs, meta->queue_slot, meta->queue_id)) {
		finish_error(w, m, &req.header, WIRE_ERR_NONEXISTENT_QUEUE,
		             "The specified queue does not exist.");
		return;
	}
	switch (req.header.opcode) {
	case WIRE_OP_SEND_MESSAGE: execute_send(w, m, &req, now_ms); break;
	case WIRE_OP_RECEIVE_MESSAGE: execute_receive(w, m, &req, now_ms); break;
	default: execute_handle_op(w, m, &req, now_ms); break;
	}
}

static void answer_wakes(struct dp_worker *w, uint32_t count, uint64_t now_ms)
{
	for (uint32_t i = 0; i < count; i++) {
		const struct sqs_wake *wake = &w->wakes[i];
		struct rte_mbuf *m = wake->token;
		uint8_t header_bytes[BB_WIRE_HEADER_BYTES];
		const uint8_t *bytes = rte_pktmbuf_read(m, 0, sizeof(header_bytes), header_bytes);
		struct wire_header h;
		RTE_VERIFY(wire_header_decode(bytes, rte_pktmbuf_pkt_len(m), &h) == WIRE_OK);
		if (wake->queue_closed)
			finish_error(w, m, &h, WIRE_ERR_NONEXISTENT_QUEUE,
			             "The specified queue does not exist.");
		else
			answer_receive(w, m, &h, &wake->receive, now_ms);
	}
}

/* ---- the loop ---- */

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
		};
		answer_wakes(w, sqs_queue_open(w->sqs, q->slot, &config, w->wakes), now_ms);
		kept[q->slot] = true;
	}
	for (uint32_t slot = 0; slot < BB_QUEUE_SLOTS_PER_WORKER; slot++) {
		if (!kept[slot])
			answer_wakes(w, sqs_queue_close(w->sqs, slot, w->wakes), now_ms);
	}
	w->applied_generation = snapshot->generation;
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
			route(w, request, snapshot, now_ms);
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
			execute(w, requests[i], now_ms);
	}
	sqs_expire(w->sqs, now_ms);
	/* However many frames the answers take: a full TX batch is flushed, not dropped. */
	uint32_t woken =
	    sqs_take_waiters(w->sqs, now_ms, w->wakes, BB_PARKED_RECEIVES_PER_WORKER);
	answer_wakes(w, woken, now_ms);
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
	rte_rcu_qsbr_thread_offline(app->rcu, w->index);
	rte_rcu_qsbr_thread_unregister(app->rcu, w->index);
	return 0;
}
