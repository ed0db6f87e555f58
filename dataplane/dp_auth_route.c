/*
 * Authentication on the routing lcore (see dp_auth_route.h). A refusal is a
 * short error reply (never signed: no key vouches for it) sent only when the
 * request is answerable at all, so garbage is not reflected; a drop (a flood,
 * a request id older than the replay window) gets nothing.
 */
#include "dp_auth_route.h"

#include "dp_request.h"

static void answer_refusal(struct dp_worker *w, struct rte_mbuf *m, const uint8_t *bytes,
                           uint32_t length, const struct dp_auth_result *r)
{
	struct wire_header h;
	if (bytes != NULL && dp_request_is_answerable(bytes, length) &&
	    wire_header_decode(bytes, length, &h) == WIRE_OK) {
		w->stats.replies_error++;
		size_t reply_bytes =
		    dp_reply_error(w->reply_buf, DP_REQUEST_BYTES_MAX, &h, r->status, r->why);
		dp_send_reply(w, m, w->reply_buf, reply_bytes);
	} else {
		w->stats.requests_malformed++;
	}
	rte_pktmbuf_free(m);
}

bool dp_auth_route(struct dp_worker *w, struct rte_mbuf *m, const uint8_t *bytes, uint32_t length,
                   const struct dp_snapshot *snapshot, uint64_t now_ms, struct dp_auth_result *out)
{
	const struct dp_request_meta *meta = dp_meta(m);
	*out = (struct dp_auth_result){.verdict = DP_AUTH_PASS};
	if (meta->source != DP_SOURCE_UDP)
		return true;
	struct dp_auth *auth = dp_auth_of(w->index);
	if (auth == NULL)
		dp_auth_check_unauthenticated(bytes, length, out);
	else
		dp_auth_check(auth, snapshot != NULL ? &snapshot->keys : NULL, bytes, length,
		              rte_be_to_cpu_32(meta->peer.ip), now_ms, out);
	switch (out->verdict) {
	case DP_AUTH_PASS: return true;
	/* Verified, its id seen: the owner's retry window answers a retry with its first
	 * answer (docs/protocol.md, "Replay window"). */
	case DP_AUTH_REPLAY: return true;
	case DP_AUTH_REFUSE: answer_refusal(w, m, bytes, length, out); return false;
	case DP_AUTH_DROP: rte_pktmbuf_free(m); return false;
	}
	return false;
}

bool dp_auth_route_permits(struct dp_worker *w, struct rte_mbuf *m, const uint8_t *bytes,
                           uint32_t length, const struct dp_request *req,
                           const struct dp_auth_result *auth_result)
{
	struct dp_auth *auth = dp_auth_of(w->index);
	if (dp_meta(m)->source != DP_SOURCE_UDP || auth == NULL)
		return true;
	if (dp_auth_allows(auth, auth_result->key, req->header.opcode, req->queue_name.data,
	                   req->queue_name.length))
		return true;
	struct dp_auth_result denied = {.verdict = DP_AUTH_REFUSE,
	                                .status = WIRE_ERR_ACCESS_DENIED,
	                                .why = "the key's policy does not allow this action on "
	                                       "this queue"};
	answer_refusal(w, m, bytes, length, &denied);
	return false;
}
