/*
 * Deliveries to udp endpoints (dp_udp_delivery.h has the life of one). Invariants: a slot is
 * in exactly one of the free stack and the live list; a live slot holds one count of its
 * pending publish until its Ack, its dead letter's return, or its giving up; nothing is sent
 * before the record it comes from is durable.
 */
#include "dp_worker_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "bb_endian.h"
#include "dp_chain.h"

/* The ATTEMPT field comes first in the body: each send writes its number there. */
#define ATTEMPT_OFFSET (BB_WIRE_HEADER_BYTES + WIRE_FIELD_HEADER_BYTES)

int dp_udp_init(struct dp_udp_table *t)
{
	*t = (struct dp_udp_table){0};
	t->slots = calloc(DP_UDP_DELIVERIES_MAX, sizeof(*t->slots));
	t->live = calloc(DP_UDP_DELIVERIES_MAX, sizeof(*t->live));
	t->free = calloc(DP_UDP_DELIVERIES_MAX, sizeof(*t->free));
	t->frame_buf = malloc(BB_UDP_PAYLOAD_BYTES_MAX);
	if (t->slots == NULL || t->live == NULL || t->free == NULL || t->frame_buf == NULL ||
	    RAND_bytes((uint8_t *)&t->serial, sizeof(t->serial)) != 1)
		return -ENOMEM;
	for (uint32_t i = 0; i < DP_UDP_DELIVERIES_MAX; i++)
		t->free[i] = DP_UDP_DELIVERIES_MAX - 1 - i;
	t->free_count = DP_UDP_DELIVERIES_MAX;
	return 0;
}

void dp_udp_free(struct dp_udp_table *t)
{
	for (uint32_t i = 0; t->live != NULL && i < t->live_count; i++)
		rte_pktmbuf_free(t->slots[t->live[i]].frame);
	free(t->slots);
	free(t->live);
	free(t->free);
	free(t->frame_buf);
	*t = (struct dp_udp_table){0};
}

bool dp_udp_has_room(const struct dp_udp_table *t, uint32_t deliveries)
{
	return t->free_count >= deliveries;
}

uint32_t dp_udp_owner_of(uint64_t delivery_id)
{
	return (uint32_t)(delivery_id >> DP_UDP_ID_WORKER_SHIFT);
}

/* ---- making one ---- */

/* "a.b.c.d:port" (what busbar-control accepts) into network order; false for anything else. */
static bool parse_endpoint(const char *text, uint32_t bytes, rte_be32_t *ip, rte_be16_t *port)
{
	uint32_t parts[5] = {0}, count = 0, digits = 0;
	for (uint32_t i = 0; i < bytes; i++) {
		char c = text[i];
		bool separator = (c == '.' && count < 3) || (c == ':' && count == 3);
		if (separator && digits > 0) {
			count++;
			digits = 0;
		} else if (c >= '0' && c <= '9' && digits < 5) {
			parts[count] = parts[count] * 10 + (uint32_t)(c - '0');
			digits++;
		} else {
			return false;
		}
	}
	bool ranges = parts[0] <= 255 && parts[1] <= 255 && parts[2] <= 255 && parts[3] <= 255 &&
	              parts[4] >= 1 && parts[4] <= 65535;
	if (count != 4 || digits == 0 || !ranges)
		return false;
	*ip = rte_cpu_to_be_32(parts[0] << 24 | parts[1] << 16 | parts[2] << 8 | parts[3]);
	*port = rte_cpu_to_be_16((uint16_t)parts[4]);
	return true;
}

/* The Deliver frame into the table's buffer: its length, or 0 when it passes a datagram. */
static size_t build_frame(struct dp_udp_table *t, uint64_t id, const struct dp_udp_message *msg,
                          uint64_t now_ms)
{
	struct wire_writer writer;
	wire_writer_init(&writer, t->frame_buf + BB_WIRE_HEADER_BYTES,
	                 BB_UDP_PAYLOAD_BYTES_MAX - BB_WIRE_HEADER_BYTES);
	wire_put_u32(&writer, WIRE_TAG_DELIVERY_ATTEMPT, 0); /* at ATTEMPT_OFFSET */
	wire_put_u64(&writer, WIRE_TAG_DELIVERY_ID, id);
	wire_put_str(&writer, WIRE_TAG_SOURCE_ARN, msg->source_arn);
	wire_put_bytes(&writer, WIRE_TAG_SUBSCRIPTION, msg->subscription, msg->subscription_bytes);
	wire_put_str(&writer, WIRE_TAG_MESSAGE_ID, msg->message_id);
	wire_put_bytes(&writer, WIRE_TAG_BODY, msg->body, msg->body_bytes);
	if (writer.overflow)
		return 0;
	struct wire_header h = {.version = WIRE_VERSION,
	                        .opcode = WIRE_OP_DELIVER,
	                        .body_bytes = (uint32_t)writer.length,
	                        .request_id = id,
	                        .timestamp_ms = now_ms};
	wire_header_encode(&h, t->frame_buf);
	return BB_WIRE_HEADER_BYTES + writer.length;
}

static uint32_t take_slot(struct dp_udp_table *t)
{
	RTE_VERIFY(t->free_count > 0); /* the caller saw dp_fanout_has_room */
	uint32_t slot = t->free[--t->free_count];
	t->slots[slot].live_index = t->live_count;
	t->live[t->live_count++] = slot;
	return slot;
}

int dp_udp_deliver(struct dp_worker *w, uint32_t pending, const struct dp_udp_message *message,
                   const struct dp_delivery_policy *policy, uint64_t after_sequence,
                   uint64_t now_ms)
{
	struct dp_udp_table *t = &w->fanout.udp;
	rte_be32_t ip;
	rte_be16_t port;
	if (!parse_endpoint(message->endpoint, message->endpoint_bytes, &ip, &port))
		return -EINVAL;
	RTE_VERIFY(t->free_count > 0);
	uint32_t slot = t->free[t->free_count - 1];
	uint64_t id = (uint64_t)w->index << DP_UDP_ID_WORKER_SHIFT |
	              (uint64_t)slot << DP_UDP_ID_SLOT_SHIFT | ++t->serial;
	size_t bytes = build_frame(t, id, message, now_ms);
	if (bytes == 0)
		return -EMSGSIZE;
	struct rte_mbuf *frame = dp_chain_from_bytes(w->fanout.pool, t->frame_buf, (uint32_t)bytes);
	if (frame == NULL) {
		w->stats.fanout_no_buffer++;
		return -ENOBUFS;
	}
	t->slots[slot] = (struct dp_udp_delivery){
	    .frame = frame, .id = id, .after_sequence = after_sequence, .first_ms = now_ms,
	    .frame_bytes = (uint32_t)bytes, .ip = ip, .port = port, .pending = pending,
	    .attempts_max = policy->attempts_max, .event_age_ms_max = policy->event_age_ms_max,
	    .dead_letter_queue = policy->dead_letter_queue};
	RTE_VERIFY(take_slot(t) == slot);
	t->next_scan_ms = 0; /* due as soon as its record is durable */
	dp_fanout_outside_began(w, pending);
	return 0;
}

/* ---- sending, giving up, completing ---- */

static void release_slot(struct dp_udp_table *t, uint32_t slot)
{
	struct dp_udp_delivery *d = &t->slots[slot];
	RTE_VERIFY(d->frame != NULL && d->live_index < t->live_count);
	rte_pktmbuf_free(d->frame);
	uint32_t moved = t->live[--t->live_count];
	t->live[d->live_index] = moved;
	t->slots[moved].live_index = d->live_index;
	*d = (struct dp_udp_delivery){0};
	t->free[t->free_count++] = slot;
}

/*
 * One attempt: the frame to the endpoint when its MAC is known, else an ARP request for it
 * (the reply is learned by dp_net; the next attempt finds it). Either way the attempt is
 * made and the next one waits for its backoff, so an endpoint that never answers ARP costs
 * one request per attempt.
 */
static void send_attempt(struct dp_worker *w, struct dp_udp_delivery *d, uint64_t now_ms)
{
	struct dp_udp_table *t = &w->fanout.udp;
	d->attempts++;
	d->due_ms = now_ms + dp_fanout_backoff_ms(d->attempts);
	if (d->attempts > 1)
		w->stats.fanout_retries++;
	struct dp_peer peer = {.ip = d->ip, .port = d->port};
	if (dp_net_resolve(&w->net, d->ip, &peer.mac, &w->tx) != 0) {
		w->stats.udp_deliveries_unresolved++;
		return;
	}
	dp_chain_copy_out(d->frame, t->frame_buf, d->frame_bytes);
	bb_put_le32(t->frame_buf + ATTEMPT_OFFSET, d->attempts);
	if (dp_net_send_udp(&w->net, &peer, t->frame_buf, d->frame_bytes, &w->tx) != 0) {
		w->stats.tx_dropped++;
		return;
	}
	w->stats.udp_deliveries_sent++;
}

/* The frame's body and message id, read back for its dead-letter queue. */
static bool frame_body(struct dp_udp_table *t, const struct dp_udp_delivery *d,
                       struct dp_delivery_body *out)
{
	dp_chain_copy_out(d->frame, t->frame_buf, d->frame_bytes);
	struct wire_reader reader;
	struct wire_field f;
	*out = (struct dp_delivery_body){0};
	wire_reader_init(&reader, t->frame_buf + BB_WIRE_HEADER_BYTES,
	                 d->frame_bytes - BB_WIRE_HEADER_BYTES);
	while (wire_reader_next(&reader, &f) == 1) {
		if (f.tag == WIRE_TAG_BODY) {
			out->body = f.value;
			out->body_bytes = f.length;
		} else if (f.tag == WIRE_TAG_MESSAGE_ID) {
			/* A FIFO dead-letter queue drops a repeat of the same publish or event. */
			out->dedup_id = (const char *)f.value;
			out->dedup_id_bytes = f.length;
		}
	}
	return out->body != NULL;
}

/* Out of attempts or age: to its dead-letter queue (which takes over its count), else
 * counted in fanout_failed. */
static void give_up(struct dp_worker *w, uint32_t slot, uint64_t now_ms)
{
	struct dp_udp_table *t = &w->fanout.udp;
	struct dp_udp_delivery *d = &t->slots[slot];
	uint32_t pending = d->pending;
	const struct dp_snapshot *s = atomic_load_explicit(&w->app->snapshot, memory_order_acquire);
	struct dp_delivery_body body;
	bool dead_lettered = d->dead_letter_queue != DP_ROUTING_NONE && s != NULL &&
	                     d->dead_letter_queue < s->queue_count && frame_body(t, d, &body) &&
	                     dp_fanout_dead_letter_to(w, pending, &s->queues[d->dead_letter_queue],
	                                              &body, now_ms) == 0;
	release_slot(t, slot);
	if (dead_lettered)
		return;
	w->stats.fanout_failed++;
	dp_fanout_outside_done(w, pending);
}

static bool out_of_time(const struct dp_udp_delivery *d, uint64_t now_ms)
{
	bool too_old = d->event_age_ms_max != 0 && now_ms - d->first_ms >= d->event_age_ms_max;
	return d->attempts >= d->attempts_max || too_old;
}

void dp_udp_pass(struct dp_worker *w, uint64_t durable_sequence, uint64_t now_ms)
{
	struct dp_udp_table *t = &w->fanout.udp;
	if (now_ms < t->next_scan_ms)
		return;
	uint64_t next = UINT64_MAX;
	for (uint32_t i = 0; i < t->live_count;) {
		uint32_t slot = t->live[i];
		struct dp_udp_delivery *d = &t->slots[slot];
		if (d->after_sequence > durable_sequence) {
			next = 0; /* look again next pass */
		} else if (d->due_ms <= now_ms && out_of_time(d, now_ms)) {
			give_up(w, slot, now_ms);
			continue; /* the last live slot moved to i */
		} else if (d->due_ms <= now_ms) {
			send_attempt(w, d, now_ms);
		}
		if (d->after_sequence <= durable_sequence && d->due_ms < next)
			next = d->due_ms;
		i++;
	}
	t->next_scan_ms = next;
}

/* The live delivery an id names on this worker, or NULL. */
static struct dp_udp_delivery *find(struct dp_udp_table *t, uint64_t id)
{
	uint32_t slot = (uint32_t)(id >> DP_UDP_ID_SLOT_SHIFT) & DP_UDP_ID_SLOT_MASK;
	if (slot >= DP_UDP_DELIVERIES_MAX || t->slots[slot].frame == NULL ||
	    t->slots[slot].id != id)
		return NULL;
	return &t->slots[slot];
}

void dp_udp_ack(struct dp_worker *w, struct rte_mbuf *m, const struct dp_request *req)
{
	struct dp_udp_table *t = &w->fanout.udp;
	RTE_VERIFY(req->header.opcode == WIRE_OP_ACK && req->delivery_id.present);
	struct dp_udp_delivery *d = find(t, req->delivery_id.value);
	const struct dp_request_meta *meta = dp_meta(m);
	if (d == NULL || d->attempts == 0) {
		w->stats.udp_acks_refused++;
		dp_finish_error(w, m, &req->header, WIRE_ERR_MESSAGE_NOT_INFLIGHT,
		                "no delivery in flight has this id (acknowledged already, given up, "
		                "or from before a restart)");
		return;
	}
	if (meta->source != DP_SOURCE_UDP || meta->peer.ip != d->ip || meta->peer.port != d->port) {
		w->stats.udp_acks_refused++;
		dp_finish_error(w, m, &req->header, WIRE_ERR_ACCESS_DENIED,
		                "an Ack comes from the address its Deliver went to");
		return;
	}
	uint32_t pending = d->pending;
	release_slot(t, (uint32_t)(d - t->slots));
	w->stats.udp_deliveries_acked++;
	dp_fanout_outside_done(w, pending);
	struct wire_writer writer;
	dp_reply_begin(&writer, w->reply_buf, DP_REQUEST_BYTES_MAX);
	dp_finish(w, m, &req->header, WIRE_OK, dp_reply_finish(&writer, &req->header, WIRE_OK));
}
