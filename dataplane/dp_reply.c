/*
 * Replies, on the lcore that answers: to a UDP peer through this worker's TX batch, or to a
 * local client through the worker's ring to the service thread; a finished request's answer
 * is remembered in the retry window. Every reply of this worker leaves through here.
 */
#include "dp_worker_int.h"

#include <string.h>

#include "dp_auth_route.h"
#include "dp_chain.h"
#include "dp_request.h"

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

void dp_send_reply(struct dp_worker *w, struct rte_mbuf *request, const uint8_t *reply,
                       size_t reply_bytes)
{
	struct dp_request_meta *meta = dp_meta(request);
	if (meta->source == DP_SOURCE_INTERNAL)
		return; /* a delivery's answer goes back with it (dp_finish) */
	if (reply_too_large_for(request, reply_bytes)) {
		w->stats.udp_replies_unproven_dropped++;
		return;
	}
	if (meta->source == DP_SOURCE_UDP) {
		reply = dp_auth_route_signed(w, request, reply, reply_bytes); /* where it leaves */
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
void dp_finish(struct dp_worker *w, struct rte_mbuf *request, const struct wire_header *h,
                   enum wire_status status, size_t reply_bytes)
{
	const uint8_t *reply = w->reply_buf;
	if (dp_meta(request)->source == DP_SOURCE_INTERNAL) {
		dp_fanout_return(w, request, status);
		return;
	}
	if (status != WIRE_OK)
		w->stats.replies_error++;
	dp_send_reply(w, request, reply, reply_bytes);
	if (h->client_id != 0) {
		struct dp_dedup_key key = {dp_auth_route_key_id(request), h->client_id,
		                           h->request_id, dp_meta(request)->digest};
		dp_dedup_finish(&w->dedup, &key, reply, (uint32_t)reply_bytes);
	}
	rte_pktmbuf_free(request);
}

void dp_finish_error(struct dp_worker *w, struct rte_mbuf *request, const struct wire_header *h,
                         enum wire_status status, const char *why)
{
	size_t bytes = dp_reply_error(w->reply_buf, DP_REQUEST_BYTES_MAX, h, status, why);
	dp_finish(w, request, h, status, bytes);
}

void dp_refuse_for_now(struct dp_worker *w, struct rte_mbuf *request, const struct wire_header *h,
                       const char *why)
{
	if (dp_meta(request)->source == DP_SOURCE_INTERNAL) {
		dp_fanout_return(w, request, WIRE_ERR_SERVICE_UNAVAILABLE);
		return;
	}
	size_t bytes = dp_reply_error(w->reply_buf, DP_REQUEST_BYTES_MAX, h,
	                              WIRE_ERR_SERVICE_UNAVAILABLE, why);
	w->stats.replies_error++;
	dp_send_reply(w, request, w->reply_buf, bytes);
	if (h->client_id != 0) {
		struct dp_dedup_key key = {dp_auth_route_key_id(request), h->client_id,
		                           h->request_id, dp_meta(request)->digest};
		dp_dedup_forget(&w->dedup, &key);
	}
	rte_pktmbuf_free(request);
}

/* ---- the reply stage: no acknowledgement before its record is durable ---- */

bool dp_stage_has_room(const struct dp_worker *w)
{
	return w->held_count < DP_HELD_REPLIES_MAX;
}

void dp_finish_when_durable(struct dp_worker *w, struct rte_mbuf *request,
                            const struct wire_header *h, size_t reply_bytes, uint64_t sequence)
{
#ifdef BB_TEST_ACK_EARLY
	sequence = 0; /* the broken writer the power-loss test must catch (meson_options.txt) */
#endif
	if (sequence == 0) {
		dp_finish(w, request, h, WIRE_OK, reply_bytes);
		return;
	}
	RTE_VERIFY(dp_stage_has_room(w) && reply_bytes <= DP_HELD_REPLY_BYTES_MAX);
	uint32_t tail = (w->held_head + w->held_count) % DP_HELD_REPLIES_MAX;
	struct dp_held *held = &w->held[tail];
	/* Sequences grow with appends: the FIFO stays in order. */
	RTE_VERIFY(w->held_count == 0 ||
	           w->held[(tail + DP_HELD_REPLIES_MAX - 1) % DP_HELD_REPLIES_MAX].sequence <
	               sequence);
	held->request = request;
	held->sequence = sequence;
	held->header = *h;
	held->reply_bytes = (uint32_t)reply_bytes;
	memcpy(held->reply, w->reply_buf, reply_bytes);
	w->held_count++;
	w->stats.replies_held++;
}

void dp_stage_release(struct dp_worker *w, uint64_t durable_sequence)
{
	while (w->held_count > 0) {
		struct dp_held *held = &w->held[w->held_head];
		if (held->sequence > durable_sequence)
			return;
		memcpy(w->reply_buf, held->reply, held->reply_bytes);
		dp_finish(w, held->request, &held->header, WIRE_OK, held->reply_bytes);
		w->held_head = (w->held_head + 1) % DP_HELD_REPLIES_MAX;
		w->held_count--;
	}
}
