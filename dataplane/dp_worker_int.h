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

/* Fields of one received message besides its body and attribute block (a FIFO one's group
 * and sequence too, the MD5 of its attributes). */
#define RECEIVED_FIELDS_BYTES                                                                      \
	(10 * WIRE_FIELD_HEADER_BYTES + BB_MESSAGE_ID_BYTES + BB_RECEIPT_HANDLE_BYTES + 32 + 4 +   \
	 8 + 8 + BB_FIFO_ID_BYTES_MAX + WIRE_SEQUENCE_NUMBER_BYTES_MAX + 32)
/* The largest body with its attribute block a receive reply of reply_bytes can carry, as its
 * only message. */
#define RECEIVE_BODY_BYTES_MAX(reply_bytes)                                                        \
	((reply_bytes) - BB_WIRE_HEADER_BYTES - RECEIVED_FIELDS_BYTES - WIRE_FIELD_HEADER_BYTES)
_Static_assert(RECEIVE_BODY_BYTES_MAX(DP_REQUEST_BYTES_MAX) >= SQS_STORED_BYTES_MAX,
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

/* ---- dp_fanout.c ---- */

/* At creation: the delivery pool and the tables (0 or -ENOMEM); freed with the worker. */
__attribute__((warn_unused_result)) int dp_fanout_init(struct dp_fanout *fanout,
                                                       uint32_t worker_index, int socket_id);
void dp_fanout_free(struct dp_fanout *fanout);
/* A pending slot is free and the outbox has room for `deliveries` more. */
bool dp_fanout_has_room(const struct dp_worker *w, uint32_t deliveries);
/* Starts a publish's or event's deliveries; its record's position (UINT64_MAX: none). */
uint32_t dp_fanout_begin(struct dp_worker *w, enum dp_fanout_kind kind, uint64_t resource_id,
                         const uint8_t message_id[16], uint64_t record_position);
/* One delivery to queue q, sent once `after_sequence` is durable. 0, or -ENOBUFS when the
 * worker's delivery pool is empty (nothing was added). */
int dp_fanout_to_queue(struct dp_worker *w, uint32_t pending, const struct dp_queue_entry *q,
                       const struct dp_delivery_body *body,
                       const struct dp_delivery_policy *policy, uint64_t after_sequence,
                       uint64_t now_ms);
/* No more deliveries of it: done at once when it had none, else when the last returns. */
void dp_fanout_end(struct dp_worker *w, uint32_t pending);
/* Each pass: answers back to their origins, the outbox up to `durable_sequence`, retries
 * whose time has come. */
void dp_fanout_pass(struct dp_worker *w, uint64_t durable_sequence, uint64_t now_ms);
/* On the target's owner: the delivery's answer goes back to its origin with it. */
void dp_fanout_return(struct dp_worker *w, struct rte_mbuf *m, enum wire_status status);
/* On the origin: a delivery came back answered: done, retried, dead-lettered or dropped. */
void dp_fanout_returned(struct dp_worker *w, struct rte_mbuf *m, uint64_t now_ms);
/* A dead-letter move's delivery to dlq (dp_redrive.c): 0, or -ENOBUFS (nothing was added). */
int dp_fanout_move(struct dp_worker *w, uint32_t move, const struct dp_queue_entry *dlq,
                   const struct dp_delivery_body *body, uint64_t now_ms);

/* ---- dp_redrive.c: RedrivePolicy's moves to dead-letter queues ---- */

/* The tables of a worker's moves (0 or -ENOMEM); freed with dp_moves_free. */
__attribute__((warn_unused_result)) int dp_moves_init(struct dp_moves *moves);
void dp_moves_free(struct dp_moves *moves);
/* Each pass: the messages the worker's receives took to move go to their dead-letter queues,
 * as far as the outbox and the move slots have room. */
void dp_redrive_pass(struct dp_worker *w, const struct dp_snapshot *s, uint64_t now_ms);
/* A move's delivery came back: durable in the dead-letter queue (the message is deleted
 * here), or refused for good (it becomes visible at its deadline and is moved again). */
void dp_redrive_returned(struct dp_worker *w, uint32_t move, enum wire_status status);

/* One delivery published to topic (a position in r): a rule's topic target. */
int dp_fanout_to_topic(struct dp_worker *w, uint32_t pending, const struct dp_routing *r,
                       uint32_t topic, const struct dp_delivery_body *body,
                       const struct dp_delivery_policy *policy, uint64_t after_sequence,
                       uint64_t now_ms);
/* One delivery put to bus (a position in r): a rule's bus target, the event whole. */
int dp_fanout_to_bus(struct dp_worker *w, uint32_t pending, const struct dp_routing *r,
                     uint32_t bus, const struct dp_delivery_body *body,
                     const struct dp_delivery_policy *policy, uint64_t after_sequence,
                     uint64_t now_ms);
/* No more deliveries of this pending publish can be made now: its record stays live. */
void dp_fanout_keep_record(struct dp_worker *w, uint32_t pending);
/* A delivery of a pending publish kept outside the fan-out's rings (a udp endpoint's,
 * dp_udp_delivery.c): counted when it begins, counted down when it is done or given up. */
void dp_fanout_outside_began(struct dp_worker *w, uint32_t pending);
void dp_fanout_outside_done(struct dp_worker *w, uint32_t pending);
/* A delivery given up, to its dead-letter queue dlq, once and not retried; it keeps the
 * pending publish's count. 0, or -ENOBUFS (no room or no mbuf: nothing was added). */
int dp_fanout_dead_letter_to(struct dp_worker *w, uint32_t pending,
                             const struct dp_queue_entry *dlq,
                             const struct dp_delivery_body *body, uint64_t now_ms);
/* The delay before attempt attempts + 1: DP_RETRY_DELAY_MS_FIRST doubling to _LAST. */
uint64_t dp_fanout_backoff_ms(uint32_t attempts);

/* ---- dp_publish.c ---- */

/* Executes a Publish, PublishBatch or PutEvents this worker's topic or bus owns. */
void dp_execute_routing(struct dp_worker *w, struct rte_mbuf *m, const struct dp_request *req,
                        uint64_t now_ms);
/* A publish's deliveries, after it was accepted or when recovery finds it not done. */
void dp_fanout_publish(struct dp_worker *w, const struct dp_snapshot *s, const struct dp_topic *t,
                       const struct topic_record *record, uint64_t position,
                       uint64_t after_sequence, uint64_t now_ms);
/* An event's deliveries to the (rule, target) pairs it matched. */
void dp_fanout_event(struct dp_worker *w, const struct dp_snapshot *s, const struct dp_bus *bus,
                     const struct dp_event_view *event, const struct bus_delivery *deliveries,
                     uint32_t count, uint64_t position, uint64_t after_sequence,
                     uint64_t now_ms);
struct bus_record;
/* Where a PUT record's event goes: the targets of the scheduled rule that fired it, else
 * the bus's matches. A count, or bus_match's -errno. */
int dp_event_targets(const struct dp_snapshot *s, const struct dp_bus *bus,
                     const struct bus_record *record, struct bus_delivery *out);
/* Puts the scheduled event of rule rule_index of bus for due_ms: false when it could not be
 * accepted now (the fan-out is full, the log refused), nothing kept. */
bool dp_fire_scheduled(struct dp_worker *w, const struct dp_snapshot *s, const struct dp_bus *bus,
                       uint32_t rule_index, uint64_t due_ms, uint64_t now_ms);

/* ---- dp_schedule.c ---- */

/* Each pass: the firings of the scheduled rules this worker's buses have, whose time came. */
void dp_schedule_pass(struct dp_worker *w, const struct dp_snapshot *s, uint64_t now_ms);

/* The topic engine's log (topic_log_ops.append). */
int dp_topic_log_append(void *ctx, const struct topic_record *record, uint64_t *sequence_out);
/* The topic engine's signer (topic_sign_fn): the worker's, one signature per publish. */
int dp_sign_envelope(void *ctx, unsigned version, const uint8_t *string_to_sign, size_t bytes,
                     char *out, size_t capacity, size_t *length_out);

/* PutEvents names its bus or means the default one. */
static inline struct dp_bytes dp_bus_name_of(const struct dp_request *req)
{
	if (req->bus_name.present)
		return req->bus_name;
	return (struct dp_bytes){(const uint8_t *)"default", 7, true};
}

/* ---- dp_replay.c ---- */

/* dp_log_open_options.on_other_record: a topic's or bus's record met by recovery. */
int dp_replay_record(void *ctx, const struct seg_record_view *view, char *why, size_t why_bytes);
/* Delivers again, as far as the outbox has room, what recovery found not done. */
void dp_replay_pass(struct dp_worker *w, const struct dp_snapshot *s, uint64_t now_ms);
void dp_replay_free(struct dp_recovery *recovery);

/* ---- dp_store.c ---- */

struct sqs_store_ops dp_store_ops(struct rte_mempool *pool);
void dp_store_read(void *pool, uint64_t ref, uint8_t *out, uint32_t body_bytes);
/* Reads `bytes` stored bytes from offset on: a body behind its attribute block. */
void dp_store_read_at(void *pool, uint64_t ref, uint32_t offset, uint8_t *out, uint32_t bytes);

#endif
