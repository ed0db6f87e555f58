/*
 * Between the files of one worker lcore, which a request walks in this order:
 * dp_worker.c (the loop) -> dp_route.c (parse, route to the owner) -> dp_execute.c (the
 * retry window, the queue engine) -> dp_reply.c (answers). dp_store.c keeps message bodies.
 * Nothing here is called by another lcore.
 */
#ifndef BB_DP_WORKER_INT_H
#define BB_DP_WORKER_INT_H

#include "dp_worker.h"
#include "dp_request.h"

/* Fields of one received message besides its body (a FIFO one's group and sequence too). */
#define RECEIVED_FIELDS_BYTES                                                                      \
	(9 * WIRE_FIELD_HEADER_BYTES + BB_MESSAGE_ID_BYTES + BB_RECEIPT_HANDLE_BYTES + 32 + 4 +    \
	 8 + 8 + BB_FIFO_ID_BYTES_MAX + WIRE_SEQUENCE_NUMBER_BYTES_MAX)
/* The largest body a receive reply of reply_bytes can carry, as its only message. */
#define RECEIVE_BODY_BYTES_MAX(reply_bytes)                                                        \
	((reply_bytes) - BB_WIRE_HEADER_BYTES - RECEIVED_FIELDS_BYTES - WIRE_FIELD_HEADER_BYTES)
_Static_assert(RECEIVE_BODY_BYTES_MAX(DP_REQUEST_BYTES_MAX) >= BB_MESSAGE_BODY_BYTES_MAX,
               "every message fits a reply over the local socket");
_Static_assert(RECEIVE_BODY_BYTES_MAX(BB_UDP_PAYLOAD_BYTES_MAX) < BB_MESSAGE_BODY_BYTES_MAX,
               "larger ones do not fit a UDP reply: the engine keeps them apart");

/* ---- dp_route.c ---- */

/* The request's bytes, contiguous: in the mbuf when it has one segment, else copied. */
const uint8_t *dp_request_bytes(struct dp_worker *w, struct rte_mbuf *m, uint32_t *length);
/* Parses a request and answers it here or passes it to its queue's owner. */
void dp_route(struct dp_worker *w, struct rte_mbuf *m, const struct dp_snapshot *snapshot,
              uint64_t now_ms);

/* ---- dp_execute.c ---- */

/* Executes a request this worker owns (it came over a ring) and answers it. */
void dp_execute(struct dp_worker *w, struct rte_mbuf *m, uint64_t now_ms);
/* Answers the parked receives in w->wakes[0, count). */
void dp_answer_wakes(struct dp_worker *w, uint32_t count, uint64_t now_ms);

/* ---- dp_reply.c ---- */

/* Sends a reply now (not remembered); the request stays the caller's. */
void dp_send_reply(struct dp_worker *w, struct rte_mbuf *request, const uint8_t *reply,
                   size_t reply_bytes);
/* Sends the reply in w->reply_buf, remembers it for retries and frees the request. */
void dp_finish(struct dp_worker *w, struct rte_mbuf *request, const struct wire_header *h,
               enum wire_status status, size_t reply_bytes);
void dp_finish_error(struct dp_worker *w, struct rte_mbuf *request, const struct wire_header *h,
                     enum wire_status status, const char *why);
/* Answers ServiceUnavailable and forgets the request, so that its retry acts. */
void dp_refuse_for_now(struct dp_worker *w, struct rte_mbuf *request, const struct wire_header *h,
                       const char *why);
/*
 * dp_finish, once the log's durable sequence reaches `sequence` (0: now). The caller saw
 * dp_stage_has_room before it acted.
 */
void dp_finish_when_durable(struct dp_worker *w, struct rte_mbuf *request,
                            const struct wire_header *h, size_t reply_bytes, uint64_t sequence);
bool dp_stage_has_room(const struct dp_worker *w);
/* Sends the held replies whose records are durable now, in order. */
void dp_stage_release(struct dp_worker *w, uint64_t durable_sequence);

/* ---- dp_store.c ---- */

struct sqs_store_ops dp_store_ops(struct rte_mempool *pool);
void dp_store_read(void *pool, uint64_t ref, uint8_t *out, uint32_t body_bytes);

#endif
