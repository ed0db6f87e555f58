/*
 * Authentication on the lcores (see dp_auth_route.h). A refusal before the MAC
 * verified is a short error reply, never signed (no key vouches for it), sent
 * only when the request is answerable at all, so garbage is not reflected; a
 * drop (a flood, a request id older than the replay window, a replay the retry
 * window forgot) gets nothing. Everything after the MAC verified is signed.
 */
#include "dp_auth_route.h"

#include <assert.h>
#include <errno.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_mbuf_dyn.h>

#include "dp_request.h"

/* What routing learnt of a request, for its owner and its reply (the mbuf's field). */
struct dp_auth_mark {
	uint32_t key_id; /* the key whose MAC verified; 0: none (unsigned replies) */
	uint8_t replay;  /* its request id was seen: only the retry window may answer */
};

static int mark_offset = -1; /* registered by dp_auth_setup */

/* The mark of a request, NULL without dp_auth_setup (nothing authenticated). */
static struct dp_auth_mark *mark_of(struct rte_mbuf *m)
{
	if (mark_offset < 0)
		return NULL;
	return RTE_MBUF_DYNFIELD(m, mark_offset, struct dp_auth_mark *);
}

/* ---- busbard's workers ---- */

static struct dp_auth workers[BB_WORKER_COUNT_MAX];
static uint8_t *sign_bufs[BB_WORKER_COUNT_MAX]; /* a signed copy of the reply going out */
static uint32_t workers_ready;

int dp_auth_setup(uint32_t worker_count, const struct dp_auth_options *options)
{
	assert(worker_count <= BB_WORKER_COUNT_MAX);
	assert(workers_ready == 0);
	static const struct rte_mbuf_dynfield field = {.name = "busbar_dp_auth_mark",
	                                               .size = sizeof(struct dp_auth_mark),
	                                               .align = alignof(struct dp_auth_mark)};
	mark_offset = rte_mbuf_dynfield_register(&field);
	if (mark_offset < 0)
		return -rte_errno;
	for (uint32_t i = 0; i < worker_count; i++) {
		int rc = dp_auth_init(&workers[i], options);
		sign_bufs[i] = rc == 0 ? malloc(BB_UDP_PAYLOAD_BYTES_MAX) : NULL;
		if (rc == 0 && sign_bufs[i] == NULL) {
			dp_auth_free(&workers[i]);
			rc = -ENOMEM;
		}
		if (rc != 0) {
			dp_auth_teardown();
			return rc;
		}
		workers_ready = i + 1;
	}
	return 0;
}

struct dp_auth *dp_auth_of(uint32_t worker)
{
	return worker < workers_ready ? &workers[worker] : NULL;
}

void dp_auth_teardown(void)
{
	for (uint32_t i = 0; i < workers_ready; i++) {
		dp_auth_free(&workers[i]);
		explicit_bzero(sign_bufs[i], BB_UDP_PAYLOAD_BYTES_MAX); /* replies only, but */
		free(sign_bufs[i]);
		sign_bufs[i] = NULL;
	}
	workers_ready = 0;
	mark_offset = -1; /* a later setup registers it again (the same offset) */
}

/* ---- routing ---- */

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
	struct dp_auth_mark *mark = mark_of(m);
	*out = (struct dp_auth_result){.verdict = DP_AUTH_PASS};
	if (mark != NULL) /* the mbuf's last use left its mark: none until verified */
		*mark = (struct dp_auth_mark){0};
	if (meta->source != DP_SOURCE_UDP)
		return true;
	struct dp_auth *auth = dp_auth_of(w->index);
	if (auth == NULL)
		dp_auth_check_unauthenticated(bytes, length, out);
	else
		dp_auth_check(auth, snapshot != NULL ? &snapshot->keys : NULL, bytes, length,
		              rte_be_to_cpu_32(meta->peer.ip), now_ms, out);
	if (mark != NULL && out->key != NULL) {
		mark->key_id = out->key->key_id;
		mark->replay = out->verdict == DP_AUTH_REPLAY;
	}
	switch (out->verdict) {
	case DP_AUTH_PASS: return true;
	/* Verified, its id seen: the owner's retry window answers a retry with its first
	 * answer, or nobody does (dp_auth_route_replay_forgotten). */
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
	/* An Ack needs a verified key and no policy action: it can only complete a delivery
	 * sent to the address it comes from (dp_udp_ack), whose id it must know. */
	if (req->header.opcode == WIRE_OP_ACK && auth_result->key != NULL)
		return true;
	/* The resource it acts on: its topic, bus or queue. */
	struct dp_bytes name = req->queue_name;
	if (req->header.opcode == WIRE_OP_PUBLISH || req->header.opcode == WIRE_OP_PUBLISH_BATCH)
		name = req->topic_name;
	else if (req->header.opcode == WIRE_OP_PUT_EVENTS)
		name = dp_bus_name_of(req);
	if (dp_auth_allows(auth, auth_result->key, req->header.opcode, name.data, name.length))
		return true;
	struct dp_auth_result denied = {.verdict = DP_AUTH_REFUSE,
	                                .status = WIRE_ERR_ACCESS_DENIED,
	                                .why = "the key's policy does not allow this action on "
	                                       "this resource"};
	answer_refusal(w, m, bytes, length, &denied);
	return false;
}

/* ---- on the owner ---- */

uint32_t dp_auth_route_key_id(struct rte_mbuf *request)
{
	const struct dp_auth_mark *mark = mark_of(request);
	return mark == NULL ? 0 : mark->key_id;
}

bool dp_auth_route_replay_forgotten(struct dp_worker *w, struct rte_mbuf *request)
{
	const struct dp_auth_mark *mark = mark_of(request);
	struct dp_auth *auth = dp_auth_of(w->index);
	if (mark == NULL || !mark->replay || dp_meta(request)->source != DP_SOURCE_UDP)
		return false;
	assert(mark->key_id != 0); /* only a verified request is marked a replay */
	assert(auth != NULL);
	/* Its first answer is gone: running it again would act twice on one signature. */
	auth->stats.replay_forgotten++;
	rte_pktmbuf_free(request);
	return true;
}

/*
 * A RetryWithCookie ran nothing, and the client sends the request again under the same
 * id with the cookie (docs/protocol.md, "Cookies"): its id goes back to the replay
 * window, or the retry would be a replay its owner's retry window never saw, dropped.
 * Only on the id's first arrival: a replay of it may come after that retry ran.
 */
static void give_back_if_nothing_ran(struct dp_auth *auth, const struct dp_auth_mark *mark,
                                     const uint8_t *reply, size_t reply_bytes)
{
	struct wire_header h;
	if (mark->replay || wire_header_decode(reply, reply_bytes, &h) != WIRE_OK)
		return;
	if (h.status == WIRE_RETRY_WITH_COOKIE)
		dp_auth_replay_release(auth, mark->key_id, h.client_id, h.request_id);
}

const uint8_t *dp_auth_route_signed(struct dp_worker *w, struct rte_mbuf *request,
                                    const uint8_t *reply, size_t reply_bytes)
{
	const struct dp_auth_mark *mark = mark_of(request);
	struct dp_auth *auth = dp_auth_of(w->index);
	if (mark == NULL || mark->key_id == 0 || auth == NULL)
		return reply; /* nothing verified it: unauthenticated mode, or a refusal */
	give_back_if_nothing_ran(auth, mark, reply, reply_bytes);
	if (reply_bytes > BB_UDP_PAYLOAD_BYTES_MAX)
		return reply; /* no UDP datagram: the port refuses to send it */
	/* The snapshot of this loop pass: the key may have gone since routing (revoked). */
	const struct dp_snapshot *snapshot =
	    atomic_load_explicit(&w->app->snapshot, memory_order_acquire);
	const struct dp_auth_key *key =
	    dp_auth_keys_find(snapshot != NULL ? &snapshot->keys : NULL, mark->key_id);
	if (key == NULL) {
		auth->stats.replies_key_gone++;
		return reply;
	}
	uint8_t *signed_reply = sign_bufs[w->index];
	memcpy(signed_reply, reply, reply_bytes);
	/* A reply is a whole message with a key: signing cannot fail but by a bug. */
	RTE_VERIFY(dp_auth_sign_reply(auth, key, signed_reply, reply_bytes) == 0);
	auth->stats.replies_signed++;
	return signed_reply;
}
