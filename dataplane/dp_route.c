/*
 * Routing, on the lcore that received a request: parse it, answer here what goes no further
 * (malformed, Ping, no such queue, topic or bus, a UDP receive without its cookie), and pass
 * the rest to the owner of its queue, topic or bus over the SPSC ring from this lcore to it,
 * even when that is this lcore.
 */
#include "dp_worker_int.h"

#include "dp_auth_route.h"
#include "dp_request.h"

/* The request's bytes, contiguous: in the mbuf when it has one segment, else copied. */
const uint8_t *dp_request_bytes(struct dp_worker *w, struct rte_mbuf *m, uint32_t *length)
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
		dp_send_reply(w, m, w->reply_buf, dp_reply_finish(&writer, &req->header, WIRE_OK));
		rte_pktmbuf_free(m);
		return;
	}
	w->stats.replies_error++;
	size_t reply_bytes =
	    dp_reply_error(w->reply_buf, DP_REQUEST_BYTES_MAX, &req->header, status, req->error);
	dp_send_reply(w, m, w->reply_buf, reply_bytes);
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
	dp_send_reply(w, m, w->reply_buf, bytes); /* not remembered: the retry must act */
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

/* Passes a request on to its owner over the ring from this lcore; a full ring refuses it. */
static void pass_to_owner(struct dp_worker *w, struct rte_mbuf *m, const uint8_t *bytes,
                          uint32_t length, struct dp_request *req, uint32_t owner)
{
	if (owner != w->index)
		w->stats.requests_to_other_worker++;
	if (rte_ring_sp_enqueue(w->app->requests[w->index][owner], m) != 0) {
		w->stats.ring_full++;
		req->error = "the resource's owner is busy; retry";
		answer_here(w, m, bytes, length, req, WIRE_ERR_SERVICE_UNAVAILABLE);
	}
}

/* An Ack goes to the worker its delivery id names, which holds the delivery. */
static void pass_ack(struct dp_worker *w, struct rte_mbuf *m, const uint8_t *bytes,
                     uint32_t length, struct dp_request *req)
{
	uint32_t owner = dp_udp_owner_of(req->delivery_id.value);
	if (owner >= w->app->worker_count) {
		w->stats.udp_acks_refused++;
		req->error = "no delivery in flight has this id";
		answer_here(w, m, bytes, length, req, WIRE_ERR_MESSAGE_NOT_INFLIGHT);
		return;
	}
	pass_to_owner(w, m, bytes, length, req, owner);
}

void dp_route(struct dp_worker *w, struct rte_mbuf *m, const struct dp_snapshot *snapshot,
                  uint64_t now_ms)
{
	w->stats.requests++;
	dp_meta(m)->proven = 0; /* the private area keeps what its last use left there */
	uint32_t length;
	const uint8_t *bytes = dp_request_bytes(w, m, &length);
	struct dp_auth_result auth;
	if (!dp_auth_route(w, m, bytes, length, snapshot, now_ms, &auth))
		return; /* refused or dropped before a byte of the body was parsed */
	struct dp_request req;
	enum wire_status status =
	    bytes == NULL ? WIRE_ERR_MALFORMED : dp_request_parse(bytes, length, &req);
	if (status != WIRE_OK || req.header.opcode == WIRE_OP_PING) {
		answer_here(w, m, bytes, length, &req, status);
		return;
	}
	if (!proven_or_answered(w, m, &req, now_ms))
		return;
	if (!dp_auth_route_permits(w, m, bytes, length, &req, &auth))
		return;
	if (req.header.opcode == WIRE_OP_ACK) {
		pass_ack(w, m, bytes, length, &req);
		return;
	}
	struct dp_destination to;
	status = dp_snapshot_destination(snapshot, &req, &to, &req.error);
	if (status != WIRE_OK) {
		answer_here(w, m, bytes, length, &req, status);
		return;
	}
	struct dp_request_meta *meta = dp_meta(m);
	meta->resource = to.resource;
	meta->queue_slot = to.queue_slot;
	meta->queue_id = to.id;
	meta->receive_wait_time_s = to.receive_wait_time_s;
	pass_to_owner(w, m, bytes, length, &req, to.owner);
}
