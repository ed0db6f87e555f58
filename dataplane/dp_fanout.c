/*
 * Fan-out's deliveries on a worker lcore (dp_fanout.h has the life of one). Invariants: a
 * delivery mbuf is in exactly one place: this worker's outbox or retries, a ring, the
 * target owner's engine or reply stage, or that owner's returns; a pending publish is freed
 * only when nothing is being added to it and no delivery of it is outstanding; the outbox
 * goes out in order, and nothing in it goes before its source record is durable.
 */
#include "dp_worker_int.h"

#include <errno.h>
#include <string.h>

#include <rte_malloc.h>

#include "bus_record.h"
#include "dp_chain.h"
#include "dp_dead_letter.h"
#include "topic.h"

/*
 * Deliveries to this worker's own queues and topics executed per pass, without a ring: as
 * many as a ring to another worker holds, so that a pass's burst of publishes or events
 * (up to 32, each with tens of deliveries) is delivered in about a pass. Through the ring to
 * itself each delivery and its answer took two hops and a pass each, and shared the ring's
 * places and its 32 a pass with the clients' requests: at 64 publishes of 10 deliveries in
 * flight it filled and publishes were refused (perf/RESULTS.md, "Fan-out: where the time
 * went"). With 32 a pass here the deliveries fell behind and the delivery pool ran out.
 */
#define DP_LOCAL_DELIVERIES_PER_PASS BB_RING_SLOTS

int dp_fanout_init(struct dp_fanout *f, uint32_t worker_index, int socket_id)
{
	char name[RTE_MEMPOOL_NAMESIZE];
	*f = (struct dp_fanout){0};
	snprintf(name, sizeof(name), "deliveries%u", worker_index);
	f->pool = rte_pktmbuf_pool_create(name, DP_DELIVERY_MBUFS, 256, DP_MBUF_PRIV_BYTES,
	                                  RTE_MBUF_DEFAULT_BUF_SIZE, socket_id);
	f->pending = calloc(DP_PENDING_MAX, sizeof(*f->pending));
	f->pending_free = calloc(DP_PENDING_MAX, sizeof(*f->pending_free));
	f->outbox = calloc(DP_OUTBOX_MAX, sizeof(*f->outbox));
	f->retries = calloc(DP_OUTBOX_MAX, sizeof(*f->retries));
	f->returns = calloc(DP_RETURNS_MAX, sizeof(*f->returns));
	f->frame_buf = malloc(DP_REQUEST_BYTES_MAX);
	f->record_buf = malloc(DP_RECORD_BYTES_MAX);
	f->event_buf = malloc(DP_EVENT_BYTES_MAX);
	f->render_buf = malloc(DP_RENDER_BYTES_MAX);
	f->render_scratch = malloc(TOPIC_RENDER_SCRATCH_BYTES);
	f->deliveries = calloc(BUS_DELIVERIES_MAX, sizeof(*f->deliveries));
	f->random_used = sizeof(f->random_bytes); /* drawn at the first use */
	if (dp_archive_init(&f->archive) != 0)
		return -ENOMEM;
	bool buffers = f->frame_buf != NULL && f->record_buf != NULL && f->event_buf != NULL &&
	               f->render_buf != NULL && f->render_scratch != NULL && f->deliveries != NULL;
	if (f->pool == NULL || f->pending == NULL || f->pending_free == NULL ||
	    f->outbox == NULL || f->retries == NULL || f->returns == NULL || !buffers ||
	    dp_moves_init(&f->moves) != 0 || dp_udp_init(&f->udp) != 0)
		return -ENOMEM;
	for (uint32_t i = 0; i < DP_PENDING_MAX; i++)
		f->pending_free[i] = DP_PENDING_MAX - 1 - i;
	f->pending_free_count = DP_PENDING_MAX;
	return 0;
}

void dp_fanout_free(struct dp_fanout *f)
{
	for (uint32_t i = 0; f->outbox != NULL && i < f->outbox_count; i++)
		rte_pktmbuf_free(f->outbox[(f->outbox_head + i) % DP_OUTBOX_MAX].m);
	for (uint32_t i = 0; f->retries != NULL && i < f->retry_count; i++)
		rte_pktmbuf_free(f->retries[i].m);
	for (uint32_t i = 0; f->returns != NULL && i < f->returns_count; i++)
		rte_pktmbuf_free(f->returns[(f->returns_head + i) % DP_RETURNS_MAX]);
	free(f->pending);
	free(f->pending_free);
	free(f->outbox);
	free(f->retries);
	free(f->returns);
	free(f->frame_buf);
	free(f->record_buf);
	free(f->event_buf);
	free(f->render_buf);
	free(f->render_scratch);
	dp_archive_free(&f->archive);
	free(f->deliveries);
	dp_moves_free(&f->moves);
	dp_udp_free(&f->udp); /* its frames are the pool's: before the pool goes */
	rte_mempool_free(f->pool);
	*f = (struct dp_fanout){0};
}

bool dp_fanout_has_room(const struct dp_worker *w, uint32_t deliveries)
{
	const struct dp_fanout *f = &w->fanout;
	return f->pending_free_count > 0 && f->outbox_count + deliveries <= DP_OUTBOX_MAX &&
	       dp_udp_has_room(&f->udp, deliveries);
}

uint32_t dp_fanout_begin(struct dp_worker *w, enum dp_fanout_kind kind, uint64_t resource_id,
                         const uint8_t message_id[16], uint64_t record_position)
{
	struct dp_fanout *f = &w->fanout;
	RTE_VERIFY(f->pending_free_count > 0); /* the caller saw dp_fanout_has_room */
	uint32_t slot = f->pending_free[--f->pending_free_count];
	struct dp_pending *p = &f->pending[slot];
	*p = (struct dp_pending){.record_position = record_position,
	                         .resource_id = resource_id,
	                         .kind = (uint16_t)kind,
	                         .adding = true};
	memcpy(p->message_id, message_id, sizeof(p->message_id));
	return slot;
}

/* ---- a pending publish's end ---- */

/* The DONE record of a publish or event: what tells recovery it needs no delivery. */
static size_t done_record(const struct dp_pending *p, uint8_t *out, size_t capacity,
                          uint16_t *type)
{
	if (p->kind == DP_FANOUT_TOPIC) {
		struct topic_record publish = {.kind = TOPIC_RECORD_PUBLISH, .topic_id = p->resource_id};
		memcpy(publish.message_id, p->message_id, sizeof(publish.message_id));
		struct topic_record done;
		topic_done_record(&publish, &done);
		*type = TOPIC_RECORD_LOG_TYPE;
		return topic_record_encode(&done, out, capacity);
	}
	struct bus_record done = {.kind = BUS_RECORD_DONE, .bus_id = p->resource_id};
	memcpy(done.event_id, p->message_id, sizeof(done.event_id));
	*type = BUS_RECORD_LOG_TYPE;
	return bus_record_encode(&done, out, capacity);
}

/* An event of a bus with an archive keeps its PUT record (dp_archive.h); the rest go. */
static void release_or_archive(struct dp_worker *w, const struct dp_pending *p)
{
	const struct dp_snapshot *s = atomic_load_explicit(&w->app->snapshot, memory_order_acquire);
	if (p->kind == DP_FANOUT_BUS && dp_archive_has(s, p->resource_id))
		dp_archive_keep(w, p->resource_id, p->record_position, DP_ARCHIVE_KEPT_NOW);
	else
		dp_log_release(&w->log, p->record_position);
}

/*
 * Every delivery is durable where it went (or given up): a DONE record, and the publish's
 * record released behind it. Without the DONE record (the log refused it) the release still
 * happens: the deliveries are done, a crash before the segment goes only delivers again.
 */
static void finish(struct dp_worker *w, uint32_t slot)
{
	struct dp_fanout *f = &w->fanout;
	struct dp_pending *p = &f->pending[slot];
	RTE_VERIFY(p->outstanding == 0 && !p->adding);
	if (p->keep_record)
		w->stats.fanout_failed++; /* its record stays live: the next start delivers it */
	else if (p->record_position != UINT64_MAX && w->log.seg != NULL) {
		uint8_t record[64];
		uint16_t type;
		size_t bytes = done_record(p, record, sizeof(record), &type);
		RTE_VERIFY(bytes > 0);
		uint64_t sequence, position;
		if (dp_log_append(&w->log, type, record, (uint32_t)bytes, &sequence, &position) == 0)
			dp_log_release(&w->log, position);
		else
			w->stats.fanout_done_unlogged++;
		release_or_archive(w, p);
	}
	w->stats.fanout_done++;
	f->pending_free[f->pending_free_count++] = slot;
}

void dp_fanout_keep_record(struct dp_worker *w, uint32_t slot)
{
	RTE_VERIFY(slot < DP_PENDING_MAX && w->fanout.pending[slot].adding);
	w->fanout.pending[slot].keep_record = true;
}

void dp_fanout_end(struct dp_worker *w, uint32_t slot)
{
	struct dp_pending *p = &w->fanout.pending[slot];
	RTE_VERIFY(p->adding);
	p->adding = false;
	if (p->outstanding == 0)
		finish(w, slot);
}

static void one_done(struct dp_worker *w, uint32_t slot)
{
	struct dp_pending *p = &w->fanout.pending[slot];
	RTE_VERIFY(slot < DP_PENDING_MAX && p->outstanding > 0);
	if (--p->outstanding == 0 && !p->adding)
		finish(w, slot);
}

void dp_fanout_outside_began(struct dp_worker *w, uint32_t slot)
{
	struct dp_pending *p = &w->fanout.pending[slot];
	RTE_VERIFY(slot < DP_PENDING_MAX && p->adding);
	p->outstanding++;
	w->stats.fanout_deliveries++;
}

void dp_fanout_outside_done(struct dp_worker *w, uint32_t slot)
{
	one_done(w, slot);
}

/* ---- building deliveries ---- */

/* Where a delivery goes: a queue (SendMessage) or a topic (Publish), and its owner. */
struct destination {
	uint8_t opcode;
	uint16_t name_tag;
	const char *name;
	uint32_t name_bytes;
	bool fifo;
	uint32_t owner, slot, resource;
	uint64_t id;
};

static struct destination queue_destination(const struct dp_queue_entry *q)
{
	return (struct destination){WIRE_OP_SEND_MESSAGE, WIRE_TAG_QUEUE_NAME, q->name,
	                            q->name_bytes, q->fifo, q->owner, q->slot, 0, q->queue_id};
}

/* The delivery as an internal request in the worker's pool: the body, and a FIFO
 * destination's group and deduplication ids. */
static struct rte_mbuf *delivery_request(struct dp_worker *w, const struct destination *d,
                                         const struct dp_delivery_body *b)
{
	struct dp_fanout *f = &w->fanout;
	struct wire_writer writer;
	wire_writer_init(&writer, f->frame_buf + BB_WIRE_HEADER_BYTES,
	                 DP_REQUEST_BYTES_MAX - BB_WIRE_HEADER_BYTES);
	wire_put_bytes(&writer, d->name_tag, d->name, d->name_bytes);
	wire_put_bytes(&writer, WIRE_TAG_BODY, b->body, b->body_bytes);
	if (d->fifo && b->group_id_bytes > 0)
		wire_put_bytes(&writer, WIRE_TAG_MESSAGE_GROUP_ID, b->group_id, b->group_id_bytes);
	if (d->fifo && b->dedup_id_bytes > 0)
		wire_put_bytes(&writer, WIRE_TAG_MESSAGE_DEDUPLICATION_ID, b->dedup_id,
		               b->dedup_id_bytes);
	if (b->source_arn_bytes > 0)
		wire_put_bytes(&writer, WIRE_TAG_DEAD_LETTER_QUEUE_SOURCE_ARN, b->source_arn,
		               b->source_arn_bytes);
	if (writer.overflow || writer.capacity - writer.length < b->fields_bytes)
		return NULL;
	if (b->fields_bytes > 0) /* fields already: copied as they are */
		memcpy(writer.buf + writer.length, b->fields, b->fields_bytes);
	writer.length += b->fields_bytes;
	struct wire_header h = {.version = WIRE_VERSION,
	                        .opcode = d->opcode,
	                        .body_bytes = (uint32_t)writer.length,
	                        .request_id = ++f->next_request_id};
	wire_header_encode(&h, f->frame_buf);
	return dp_chain_from_bytes(f->pool, f->frame_buf,
	                           (uint32_t)(BB_WIRE_HEADER_BYTES + writer.length));
}

static void address_to(struct rte_mbuf *m, const struct destination *d)
{
	struct dp_request_meta *meta = dp_meta(m);
	meta->queue_slot = d->slot;
	meta->resource = d->resource;
	meta->queue_id = d->id;
	meta->receive_wait_time_s = 0;
	meta->owner = (uint16_t)d->owner;
}

static void push_outbox(struct dp_worker *w, struct rte_mbuf *m, uint32_t owner,
                        uint64_t after_sequence)
{
	struct dp_fanout *f = &w->fanout;
	RTE_VERIFY(f->outbox_count < DP_OUTBOX_MAX);
	uint32_t tail = (f->outbox_head + f->outbox_count) % DP_OUTBOX_MAX;
	/* A dead-letter delivery goes after what is queued already: sequences stay in order. */
	if (f->outbox_count > 0) {
		uint32_t last = (tail + DP_OUTBOX_MAX - 1) % DP_OUTBOX_MAX;
		if (f->outbox[last].after_sequence > after_sequence)
			after_sequence = f->outbox[last].after_sequence;
	}
	f->outbox[tail] = (struct dp_outgoing){m, after_sequence, 0, owner};
	f->outbox_count++;
}

static int deliver(struct dp_worker *w, uint32_t slot, const struct destination *d,
                   const struct dp_delivery_body *body, const struct dp_delivery_policy *policy,
                   uint64_t after_sequence, uint64_t now_ms)
{
	RTE_VERIFY(w->fanout.pending[slot].adding);
	struct rte_mbuf *m = delivery_request(w, d, body);
	if (m == NULL) {
		w->stats.fanout_no_buffer++;
		return -ENOBUFS;
	}
	struct dp_request_meta *meta = dp_meta(m);
	*meta = (struct dp_request_meta){
	    .source = DP_SOURCE_INTERNAL,
	    .origin = (uint16_t)w->index,
	    .pending = slot,
	    .attempts = 1,
	    .attempts_max = policy->attempts_max,
	    .event_age_ms_max = policy->event_age_ms_max,
	    .dead_letter_queue = policy->dead_letter_queue,
	    .first_sent_ms = now_ms,
	    .rule_id = policy->rule_id,
	    .target_index = policy->target_index,
	};
	address_to(m, d);
	w->fanout.pending[slot].outstanding++;
	w->stats.fanout_deliveries++;
	push_outbox(w, m, d->owner, after_sequence);
	return 0;
}

int dp_fanout_to_queue(struct dp_worker *w, uint32_t pending, const struct dp_queue_entry *q,
                       const struct dp_delivery_body *body, const struct dp_delivery_policy *policy,
                       uint64_t after_sequence, uint64_t now_ms)
{
	struct destination d = queue_destination(q);
	return deliver(w, pending, &d, body, policy, after_sequence, now_ms);
}

int dp_fanout_to_topic(struct dp_worker *w, uint32_t pending, const struct dp_routing *r,
                       uint32_t topic, const struct dp_delivery_body *body,
                       const struct dp_delivery_policy *policy, uint64_t after_sequence,
                       uint64_t now_ms)
{
	const struct dp_topic *t = &r->topics[topic];
	struct destination d = {WIRE_OP_PUBLISH,
	                        WIRE_TAG_TOPIC_NAME,
	                        t->name.data,
	                        t->name.bytes,
	                        (t->flags & BB_SNAPSHOT_TOPIC_FIFO) != 0,
	                        t->owner,
	                        0,
	                        topic,
	                        t->topic_id};
	return deliver(w, pending, &d, body, policy, after_sequence, now_ms);
}

int dp_fanout_to_bus(struct dp_worker *w, uint32_t pending, const struct dp_routing *r,
                     uint32_t bus, const struct dp_delivery_body *body,
                     const struct dp_delivery_policy *policy, uint64_t after_sequence,
                     uint64_t now_ms)
{
	const struct dp_bus *b = &r->buses[bus];
	/* A PutEvents whose body is the event whole (dp_publish.c, execute_forwarded_event). */
	struct destination d = {WIRE_OP_PUT_EVENTS, WIRE_TAG_BUS_NAME, b->name.data, b->name.bytes,
	                        false, b->owner, 0, bus, b->bus_id};
	return deliver(w, pending, &d, body, policy, after_sequence, now_ms);
}

/*
 * A dead-letter move (dp_redrive.c): a delivery with no pending publish, tried a few times
 * and never dead-lettered itself; it comes back to dp_redrive_returned. 0, or -ENOBUFS.
 */
int dp_fanout_move(struct dp_worker *w, uint32_t move, const struct dp_queue_entry *dlq,
                   const struct dp_delivery_body *body, uint64_t now_ms)
{
	struct destination d = queue_destination(dlq);
	struct rte_mbuf *m = delivery_request(w, &d, body);
	if (m == NULL) {
		w->stats.fanout_no_buffer++;
		return -ENOBUFS;
	}
	*dp_meta(m) = (struct dp_request_meta){
	    .source = DP_SOURCE_INTERNAL,
	    .moving = 1,
	    .origin = (uint16_t)w->index,
	    .pending = move,
	    .attempts = 1,
	    .attempts_max = DP_MOVE_ATTEMPTS_MAX,
	    .dead_letter_queue = DP_ROUTING_NONE,
	    .first_sent_ms = now_ms,
	};
	address_to(m, &d);
	push_outbox(w, m, d.owner, 0);
	return 0;
}

/* ---- on the target's owner: the answer goes back with the delivery ---- */

static void push_return(struct dp_worker *w, struct rte_mbuf *m)
{
	struct dp_fanout *f = &w->fanout;
	RTE_VERIFY(f->returns_count < DP_RETURNS_MAX);
	f->returns[(f->returns_head + f->returns_count) % DP_RETURNS_MAX] = m;
	f->returns_count++;
}

void dp_fanout_return(struct dp_worker *w, struct rte_mbuf *m, enum wire_status status)
{
	struct dp_request_meta *meta = dp_meta(m);
	RTE_VERIFY(meta->source == DP_SOURCE_INTERNAL && !meta->returned);
	meta->status = (uint16_t)status;
	meta->returned = 1;
	struct dp_fanout *f = &w->fanout;
	/* Behind any waiting already, so that one origin's answers keep their order; this
	 * worker's own deliveries come back in its next pass without a ring (send_returns). */
	if (f->returns_count > 0 || meta->origin == w->index ||
	    rte_ring_sp_enqueue(w->app->requests[w->index][meta->origin], m) != 0)
		push_return(w, m);
}

/* ---- back on the origin ---- */

static bool refused_for_now(enum wire_status status)
{
	return status == WIRE_ERR_SERVICE_UNAVAILABLE || status == WIRE_ERR_OVER_LIMIT ||
	       status == WIRE_ERR_INTERNAL;
}

uint64_t dp_fanout_backoff_ms(uint32_t attempts)
{
	uint64_t delay = DP_RETRY_DELAY_MS_FIRST;
	for (uint32_t i = 1; i < attempts && delay < DP_RETRY_DELAY_MS_LAST; i++)
		delay *= 2;
	return delay < DP_RETRY_DELAY_MS_LAST ? delay : DP_RETRY_DELAY_MS_LAST;
}

static bool may_retry(const struct dp_request_meta *meta, uint64_t now_ms)
{
	bool attempts_left = meta->attempts < meta->attempts_max;
	bool young = meta->event_age_ms_max == 0 ||
	             now_ms - meta->first_sent_ms < meta->event_age_ms_max;
	return refused_for_now((enum wire_status)meta->status) && attempts_left && young &&
	       !meta->dead_lettered;
}

static void retry_later(struct dp_worker *w, struct rte_mbuf *m, uint64_t now_ms)
{
	struct dp_fanout *f = &w->fanout;
	struct dp_request_meta *meta = dp_meta(m);
	meta->returned = 0;
	f->retries[f->retry_count++] =
	    (struct dp_outgoing){m, 0, now_ms + dp_fanout_backoff_ms(meta->attempts), meta->owner};
	meta->attempts++;
	w->stats.fanout_retries++;
}

/* The body a delivery request carries, read back from it. */
static bool delivery_body(struct dp_worker *w, struct rte_mbuf *m, struct dp_request *req)
{
	uint32_t length;
	const uint8_t *bytes = dp_request_bytes(w, m, &length);
	return bytes != NULL && dp_request_parse(bytes, length, req) == WIRE_OK;
}

/* Which of a rule target's retry limits ended its delivery, if one did. */
static const char *exhausted_condition(const struct dp_request_meta *meta, uint64_t now_ms)
{
	if (!refused_for_now((enum wire_status)meta->status))
		return NULL;
	if (meta->attempts >= meta->attempts_max)
		return "MaximumRetryAttempts";
	bool old = meta->event_age_ms_max != 0 &&
	           now_ms - meta->first_sent_ms >= meta->event_age_ms_max;
	return old ? "MaximumEventAgeInSeconds" : NULL;
}

/* A rule target's dead letter's attributes (dp_dead_letter.h) into out: their bytes, 0 for
 * a subscription's delivery (SNS adds none). */
static size_t dead_letter_fields(struct dp_worker *w, const struct dp_snapshot *s,
                                 const struct dp_request_meta *meta, uint64_t now_ms,
                                 uint8_t *out, size_t capacity)
{
	const struct dp_pending *p = &w->fanout.pending[meta->pending];
	if (meta->rule_id == 0 || p->kind != DP_FANOUT_BUS)
		return 0;
	struct dp_dead_letter_reason why = dp_dead_letter_refused(
	    (enum wire_status)meta->status, meta->attempts, exhausted_condition(meta, now_ms));
	return dp_dead_letter_fields(s, p->resource_id, meta->rule_id, meta->target_index, &why,
	                             out, capacity);
}

/* Sends a delivery that failed for good to its dead-letter queue instead, once. */
static bool dead_letter(struct dp_worker *w, struct rte_mbuf *m, uint64_t now_ms)
{
	struct dp_request_meta *meta = dp_meta(m);
	const struct dp_snapshot *s = atomic_load_explicit(&w->app->snapshot, memory_order_acquire);
	struct dp_request req;
	if (meta->dead_lettered || meta->dead_letter_queue == DP_ROUTING_NONE || s == NULL ||
	    meta->dead_letter_queue >= s->queue_count || !delivery_body(w, m, &req))
		return false;
	struct destination d = queue_destination(&s->queues[meta->dead_letter_queue]);
	uint8_t fields[DP_DEAD_LETTER_FIELDS_BYTES_MAX];
	struct dp_delivery_body body = {.body = req.body.data, .body_bytes = req.body.length,
	                                .group_id = (const char *)req.group_id.data,
	                                .group_id_bytes = req.group_id.length,
	                                /* A FIFO dead-letter queue without content-based
	                                 * deduplication refuses a message without it. */
	                                .dedup_id = (const char *)req.dedup_id.data,
	                                .dedup_id_bytes = req.dedup_id.length,
	                                .fields = fields};
	body.fields_bytes =
	    (uint32_t)dead_letter_fields(w, s, meta, now_ms, fields, sizeof(fields));
	struct rte_mbuf *to_dlq = delivery_request(w, &d, &body);
	if (to_dlq == NULL)
		return false;
	*dp_meta(to_dlq) = *meta;
	dp_meta(to_dlq)->returned = 0;
	dp_meta(to_dlq)->dead_lettered = 1;
	address_to(to_dlq, &d);
	rte_pktmbuf_free(m);
	w->stats.fanout_dead_lettered++;
	push_outbox(w, to_dlq, d.owner, 0);
	return true;
}

int dp_fanout_dead_letter_to(struct dp_worker *w, uint32_t pending,
                             const struct dp_queue_entry *dlq,
                             const struct dp_delivery_body *body, uint64_t now_ms)
{
	struct destination d = queue_destination(dlq);
	struct rte_mbuf *m = w->fanout.outbox_count < DP_OUTBOX_MAX
	                         ? delivery_request(w, &d, body)
	                         : NULL;
	if (m == NULL)
		return -ENOBUFS;
	*dp_meta(m) = (struct dp_request_meta){
	    .source = DP_SOURCE_INTERNAL,
	    .origin = (uint16_t)w->index,
	    .pending = pending,
	    .attempts = 1,
	    .attempts_max = 1,
	    .dead_letter_queue = DP_ROUTING_NONE,
	    .dead_lettered = 1, /* not retried, not dead-lettered again */
	    .first_sent_ms = now_ms,
	};
	address_to(m, &d);
	w->stats.fanout_dead_lettered++;
	push_outbox(w, m, d.owner, 0);
	return 0;
}

void dp_fanout_returned(struct dp_worker *w, struct rte_mbuf *m, uint64_t now_ms)
{
	struct dp_request_meta *meta = dp_meta(m);
	RTE_VERIFY(meta->returned && meta->origin == w->index);
	enum wire_status status = (enum wire_status)meta->status;
	if (status != WIRE_OK && may_retry(meta, now_ms) && w->fanout.retry_count < DP_OUTBOX_MAX) {
		retry_later(w, m, now_ms);
		return;
	}
	if (meta->moving) {
		dp_redrive_returned(w, meta->pending, status);
		rte_pktmbuf_free(m);
		return;
	}
	if (status != WIRE_OK && w->fanout.outbox_count < DP_OUTBOX_MAX &&
	    dead_letter(w, m, now_ms))
		return;
	uint32_t slot = meta->pending;
	if (status != WIRE_OK)
		w->stats.fanout_failed++;
	rte_pktmbuf_free(m);
	one_done(w, slot);
}

/* ---- each pass ---- */

static void send_returns(struct dp_worker *w, uint64_t now_ms)
{
	struct dp_fanout *f = &w->fanout;
	while (f->returns_count > 0) {
		struct rte_mbuf *m = f->returns[f->returns_head];
		bool mine = dp_meta(m)->origin == w->index;
		if (!mine && rte_ring_sp_enqueue(w->app->requests[w->index][dp_meta(m)->origin],
		                                 m) != 0)
			return;
		f->returns_head = (f->returns_head + 1) % DP_RETURNS_MAX;
		f->returns_count--;
		if (mine)
			dp_fanout_returned(w, m, now_ms);
	}
}

/* Up to the durable sequence: to other owners over their rings, this worker's executed here
 * (DP_LOCAL_DELIVERIES_PER_PASS). */
static void send_outbox(struct dp_worker *w, uint64_t durable_sequence, uint64_t now_ms)
{
	struct dp_fanout *f = &w->fanout;
	uint32_t local = 0;
	while (f->outbox_count > 0) {
		struct dp_outgoing *o = &f->outbox[f->outbox_head];
		bool mine = o->owner == w->index;
		if (o->after_sequence > durable_sequence ||
		    (mine && local == DP_LOCAL_DELIVERIES_PER_PASS))
			return;
		if (!mine && rte_ring_sp_enqueue(w->app->requests[w->index][o->owner], o->m) != 0) {
			w->stats.fanout_ring_full++;
			return; /* held: the next pass tries again */
		}
		struct rte_mbuf *m = o->m;
		f->outbox_head = (f->outbox_head + 1) % DP_OUTBOX_MAX;
		f->outbox_count--;
		if (mine) {
			local++;
			dp_execute(w, m, now_ms); /* may add to the outbox: after what it holds */
		}
	}
}

static void send_retries(struct dp_worker *w, uint64_t now_ms)
{
	struct dp_fanout *f = &w->fanout;
	for (uint32_t i = 0; i < f->retry_count;) {
		struct dp_outgoing *o = &f->retries[i];
		if (o->not_before_ms > now_ms ||
		    rte_ring_sp_enqueue(w->app->requests[w->index][o->owner], o->m) != 0) {
			i++;
			continue;
		}
		f->retries[i] = f->retries[--f->retry_count];
	}
}

void dp_fanout_pass(struct dp_worker *w, uint64_t durable_sequence, uint64_t now_ms)
{
	send_returns(w, now_ms);
	send_outbox(w, durable_sequence, now_ms);
	if (w->fanout.retry_count > 0)
		send_retries(w, now_ms);
	if (w->fanout.udp.live_count > 0)
		dp_udp_pass(w, durable_sequence, now_ms);
}
