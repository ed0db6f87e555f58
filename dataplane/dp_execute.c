/*
 * Execution of SQS requests, on the queue's owner: the retry window first, then the queue
 * engine (engines/sqs.h), then the answer through dp_reply.c. Receives that find nothing
 * park in the engine and are answered from dp_answer_wakes when a message arrives, their
 * wait ends or their queue goes.
 */
#include "dp_worker_int.h"

#include <errno.h>

#include "dp_auth_route.h"
#include "dp_request.h"

/*
 * A send's attribute block (engines/sqs_attrs.h) is built in the reply buffer past the most a
 * send's or batch's reply takes (DP_HELD_REPLY_BYTES_MAX), so the reply written while the
 * engine stores each entry never meets it.
 */
#define ATTRIBUTE_BLOCK_OFFSET DP_HELD_REPLY_BYTES_MAX
_Static_assert(DP_REQUEST_BYTES_MAX - ATTRIBUTE_BLOCK_OFFSET >= SQS_STORED_BYTES_MAX,
               "a message's attribute block fits the reply buffer beside a send's reply");

/*
 * A send to a FIFO queue keeps its MessageDeduplicationId in its block, so a receive can
 * return it (the engine's window keeps only its hash): the one given, else the body's
 * SHA-256 in hex, as content-based deduplication makes it (a queue without it refuses the
 * send anyway).
 */
static size_t add_dedup_id(struct dp_worker *w, uint32_t slot, const struct dp_bytes *body,
                           const struct dp_bytes *dedup, uint8_t *block, size_t bytes)
{
	if (!sqs_queue_is_fifo(w->sqs, slot))
		return bytes;
	char content[SQS_CONTENT_DEDUP_ID_CHARS + 1];
	const uint8_t *id = dedup->data;
	uint32_t id_bytes = dedup->length;
	if (!dedup->present) {
		sqs_content_dedup_id(w->sqs, body->data, body->length, content);
		id = (const uint8_t *)content;
		id_bytes = SQS_CONTENT_DEDUP_ID_CHARS;
	}
	RTE_VERIFY(id_bytes > 0 && id_bytes <= BB_FIFO_ID_BYTES_MAX); /* dp_request.c's */
	size_t capacity = DP_REQUEST_BYTES_MAX - ATTRIBUTE_BLOCK_OFFSET;
	size_t with = sqs_attrs_add_dedup_id(block, bytes, capacity, id, id_bytes);
	RTE_VERIFY(with > bytes); /* SQS_STORED_BYTES_MAX has room for the id */
	return with;
}

/*
 * Makes a send's attribute block from its parsed (valid) attributes, AWSTraceHeader, a moved
 * message's DeadLetterQueueSourceArn and, on a FIFO queue, MessageDeduplicationId. False when
 * the body with the attributes is over the largest message (MessageTooLong): only then could
 * the block be over what the buffer holds.
 */
static bool make_attribute_block(struct dp_worker *w, uint32_t slot, const struct dp_bytes *body,
                                 const struct dp_attributes *a, const struct dp_bytes *trace,
                                 const struct dp_bytes *source, const struct dp_bytes *dedup,
                                 struct sqs_send_options *options)
{
	RTE_VERIFY(a->count <= WIRE_ATTRIBUTES_MAX);
	if ((uint64_t)body->length + a->bytes > BB_MESSAGE_BODY_BYTES_MAX)
		return false;
	struct sqs_attr attrs[WIRE_ATTRIBUTES_MAX];
	for (uint32_t i = 0; i < a->count; i++) {
		const struct dp_attribute *at = &a->items[i];
		bool binary = at->binary_value.present;
		const struct dp_bytes *v = binary ? &at->binary_value : &at->string_value;
		attrs[i] = (struct sqs_attr){at->name.data,      at->name.length, at->data_type.data,
		                             at->data_type.length, v->data,        v->length,
		                             binary};
	}
	uint32_t trace_bytes = trace->present ? trace->length : 0;
	uint8_t *block = w->reply_buf + ATTRIBUTE_BLOCK_OFFSET;
	size_t bytes = sqs_attrs_encode(attrs, a->count, trace->data, trace_bytes, block,
	                                DP_REQUEST_BYTES_MAX - ATTRIBUTE_BLOCK_OFFSET);
	RTE_VERIFY(bytes == sqs_attrs_encoded_bytes(attrs, a->count, trace_bytes));
	if (source->present) {
		bytes = sqs_attrs_add_source_arn(block, bytes,
		                                 DP_REQUEST_BYTES_MAX - ATTRIBUTE_BLOCK_OFFSET,
		                                 source->data, source->length);
		RTE_VERIFY(bytes > 0); /* SQS_STORED_BYTES_MAX has room for it */
	}
	bytes = add_dedup_id(w, slot, body, dedup, block, bytes);
	options->attributes = block;
	options->attributes_bytes = (uint32_t)bytes;
	return true;
}

/* A receive's MessageAttributeNames as the engine's selection takes them. */
static void attribute_names_of(const struct dp_request *req, struct sqs_attr_names *out)
{
	const struct dp_attribute_names *names = &req->attribute_names;
	RTE_VERIFY(names->count <= WIRE_MESSAGE_ATTRIBUTE_NAMES_MAX);
	out->count = names->count;
	for (uint32_t i = 0; i < names->count; i++) {
		out->names[i] = names->items[i].data;
		out->bytes[i] = names->items[i].length;
	}
}

/*
 * The selected part of a message's attribute block, with its AWSTraceHeader: read from the
 * store into the reply as it is, then kept in place (sqs_attrs_select). The receive made
 * room for the whole block (sqs_receive_options.body_bytes_max counts it).
 */
static void put_attributes(struct wire_writer *writer, struct dp_worker *w,
                           const struct sqs_received *r, const struct sqs_attr_names *names)
{
	if (r->attributes_bytes == 0 || writer->overflow)
		return;
	if (writer->capacity - writer->length < r->attributes_bytes) {
		writer->overflow = true;
		return;
	}
	uint8_t *block = writer->buf + writer->length;
	dp_store_read(w->store_pool, r->body_ref, block, r->attributes_bytes);
	writer->length += sqs_attrs_select(block, r->attributes_bytes, names);
}

static size_t put_received(struct wire_writer *writer, struct dp_worker *w,
                           const struct sqs_received *r, const struct sqs_attr_names *names)
{
	wire_put_bytes(writer, WIRE_TAG_MESSAGE_BEGIN, NULL, 0);
	wire_put_str(writer, WIRE_TAG_MESSAGE_ID, r->message_id);
	wire_put_str(writer, WIRE_TAG_RECEIPT_HANDLE, r->receipt_handle);
	wire_put_str(writer, WIRE_TAG_MD5_OF_BODY, r->md5_of_body);
	wire_put_u32(writer, WIRE_TAG_RECEIVE_COUNT, r->receive_count);
	wire_put_u64(writer, WIRE_TAG_SENT_TIMESTAMP_MS, r->sent_ms);
	wire_put_u64(writer, WIRE_TAG_FIRST_RECEIVE_TIMESTAMP_MS, r->first_receive_ms);
	if (r->group_id[0] != '\0') { /* a FIFO queue's */
		wire_put_str(writer, WIRE_TAG_MESSAGE_GROUP_ID, r->group_id);
		wire_put_str(writer, WIRE_TAG_SEQUENCE_NUMBER, r->sequence_number);
	}
	if (r->md5_of_attributes[0] != '\0')
		wire_put_str(writer, WIRE_TAG_MD5_OF_MESSAGE_ATTRIBUTES, r->md5_of_attributes);
	put_attributes(writer, w, r, names);
	uint8_t *body = wire_put_reserve(writer, WIRE_TAG_BODY, r->body_bytes);
	if (body != NULL)
		dp_store_read_at(w->store_pool, r->body_ref, r->attributes_bytes, body, r->body_bytes);
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

/* A receive's ReceiveRequestAttemptId as the engine takes it: a FIFO queue's only (SQS's). */
static bool has_attempt(const struct dp_worker *w, const struct dp_request_meta *meta,
                        const struct dp_bytes *attempt_id)
{
	return attempt_id->present && sqs_queue_is_fifo(w->sqs, meta->queue_slot);
}

/* True when an attempt's messages given again all fit a reply of reply_bytes. */
static bool again_fits(const struct sqs_received *again, uint32_t count, size_t reply_bytes)
{
	size_t needed = BB_WIRE_HEADER_BYTES;
	for (uint32_t i = 0; i < count; i++)
		needed += RECEIVED_FIELDS_BYTES + WIRE_FIELD_HEADER_BYTES +
		          (size_t)again[i].attributes_bytes + again[i].body_bytes;
	return needed < reply_bytes;
}

/* Puts an attempt's messages given again (again_fits said they fit). */
static void put_again(struct wire_writer *writer, struct dp_worker *w,
                      const struct sqs_received *again, uint32_t count,
                      const struct sqs_attr_names *names)
{
	for (uint32_t i = 0; i < count; i++) {
		size_t room = writer->capacity - writer->length;
		size_t stored = (size_t)again[i].attributes_bytes + again[i].body_bytes;
		assert(room > RECEIVED_FIELDS_BYTES + WIRE_FIELD_HEADER_BYTES + stored);
		put_received(writer, w, &again[i], names);
	}
}

/*
 * Answers a receive with the messages that fit its reply, oldest first: a message too
 * large for this reply is passed over and stays for a receive that can take it. A FIFO
 * receive with a ReceiveRequestAttemptId is that attempt's (sqs_attempt_begin): a retry gets
 * the attempt's messages again.
 */
static void answer_receive(struct dp_worker *w, struct rte_mbuf *m, const struct wire_header *h,
                           const struct sqs_receive_options *receive,
                           const struct sqs_attr_names *names, const struct dp_bytes *attempt_id,
                           uint64_t now_ms)
{
	struct dp_request_meta *meta = dp_meta(m);
	struct wire_writer writer;
	dp_reply_begin(&writer, w->reply_buf, receive_reply_bytes(meta));
	uint32_t max = local_client_gone(w, meta) ? 0 : receive->max_messages;
	bool attempt = max > 0 && has_attempt(w, meta, attempt_id);
	struct sqs_received again[BB_RECEIVE_COUNT_MAX];
	uint32_t again_count =
	    attempt ? sqs_attempt_begin(w->sqs, meta->queue_slot, (const char *)attempt_id->data,
	                                attempt_id->length, receive->visibility_timeout_s, now_ms,
	                                again)
	            : 0;
	if (!again_fits(again, again_count, receive_reply_bytes(meta))) {
		/* The first receive came where replies are larger (the local socket): never a part
		 * of the attempt, which would hide the rest from every later retry. */
		sqs_attempt_end(w->sqs);
		dp_finish_error(w, m, h, WIRE_ERR_INVALID_PARAMETER,
		                "this attempt's messages do not fit a reply here: retry where the "
		                "first receive was made, or with a new ReceiveRequestAttemptId");
		return;
	}
	put_again(&writer, w, again, again_count, names);
	for (uint32_t i = 0; i < max && again_count == 0; i++) {
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
		put_received(&writer, w, &r, names);
	}
	if (attempt)
		sqs_attempt_end(w->sqs);
	dp_finish(w, m, h, WIRE_OK, dp_reply_finish(&writer, h, WIRE_OK));
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
	bool repeats = has_attempt(w, meta, &req->attempt_id) &&
	               sqs_attempt_repeats(w->sqs, meta->queue_slot,
	                                   (const char *)req->attempt_id.data, req->attempt_id.length,
	                                   now_ms);
	bool nothing_now =
	    !repeats && !sqs_can_receive(w->sqs, meta->queue_slot, receive.body_bytes_max);
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
	struct sqs_attr_names names;
	attribute_names_of(req, &names);
	answer_receive(w, m, &req->header, &receive, &names, &req->attempt_id, now_ms);
}

/* Why the log refused an operation's record, for the client (seg_append's errors). */
static const char *log_refusal(int error)
{
	switch (error) {
	case -ENOSPC: return "the disk of the message log is full; retry later";
	case -EMFILE: return "the message log keeps as many segments as it may; retry later";
	case -EAGAIN: return "the message log is busy; retry";
	default: return "the message log stopped after an I/O error";
	}
}

static bool is_publish_or_put(uint8_t opcode)
{
	return opcode == WIRE_OP_PUBLISH || opcode == WIRE_OP_PUBLISH_BATCH ||
	       opcode == WIRE_OP_PUT_EVENTS;
}

/* Sends and deletes of a durable queue wait in the reply stage: room is checked first. */
static bool stage_refused(struct dp_worker *w, struct rte_mbuf *m, const struct dp_request *req)
{
	uint8_t opcode = req->header.opcode;
	/* A batch waits as one reply, for the highest sequence among its entries. */
	bool held = opcode == WIRE_OP_SEND_MESSAGE || opcode == WIRE_OP_DELETE_MESSAGE ||
	            opcode == WIRE_OP_SEND_MESSAGE_BATCH || opcode == WIRE_OP_DELETE_MESSAGE_BATCH ||
	            opcode == WIRE_OP_PURGE_QUEUE;
	held = held || is_publish_or_put(opcode); /* their answers wait for their records */
	if (!held || w->log.seg == NULL || dp_stage_has_room(w))
		return false;
	w->stats.replies_stage_full++;
	dp_refuse_for_now(w, m, &req->header, "too many writes wait for the disk; retry");
	return true;
}

/* Why a send's options were refused (sqs_send_message's InvalidParameterValue), as AWS says. */
static const char *fifo_refusal(const struct dp_worker *w, uint32_t slot,
                                const struct dp_request *req)
{
	const struct dp_bytes *group = &req->group_id, *dedup = &req->dedup_id;
	if (!sqs_queue_is_fifo(w->sqs, slot) && dedup->present)
		return "The request include parameter MessageDeduplicationId that is not valid for "
		       "this queue type";
	bool group_valid =
	    !group->present || sqs_fifo_id_is_valid((const char *)group->data, group->length);
	bool dedup_valid =
	    !dedup->present || sqs_fifo_id_is_valid((const char *)dedup->data, dedup->length);
	if (group_valid && dedup_valid)
		return "The queue should either have ContentBasedDeduplication enabled or "
		       "MessageDeduplicationId provided explicitly";
	return "MessageGroupId and MessageDeduplicationId are 1-128 of A-Z, a-z, 0-9 and "
	       "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
}

static void execute_send(struct dp_worker *w, struct rte_mbuf *m, const struct dp_request *req,
                         uint64_t now_ms)
{
	struct sqs_sent sent;
	uint32_t slot = dp_meta(m)->queue_slot;
	struct sqs_send_options options = {
	    .group_id = (const char *)req->group_id.data,
	    .group_id_bytes = req->group_id.length,
	    .dedup_id = (const char *)req->dedup_id.data,
	    .dedup_id_bytes = req->dedup_id.length,
	    .delay_s = req->delay_s.value,
	    .delay_given = req->delay_s.present,
	};
	/* DeadLetterQueueSourceArn is a system attribute: only busbard's own moves set it. */
	if (req->dead_letter_source_arn.present && dp_meta(m)->source != DP_SOURCE_INTERNAL) {
		dp_finish_error(w, m, &req->header, WIRE_ERR_INVALID_PARAMETER,
		                "DeadLetterQueueSourceArn is set by a RedrivePolicy's move only");
		return;
	}
	enum wire_status status =
	    make_attribute_block(w, slot, &req->body, &req->attributes, &req->trace_header,
	                         &req->dead_letter_source_arn, &req->dedup_id, &options)
	        ? sqs_send_message(w->sqs, slot, req->body.data, req->body.length, &options, now_ms,
	                           &sent)
	        : WIRE_ERR_MESSAGE_TOO_LONG;
	if (status == WIRE_ERR_MISSING_PARAMETER && req->body.length > 0) {
		dp_finish_error(w, m, &req->header, status,
		                "The request must contain the parameter MessageGroupId.");
		return;
	}
	if (status == WIRE_ERR_INVALID_PARAMETER) {
		dp_finish_error(w, m, &req->header, status, fifo_refusal(w, slot, req));
		return;
	}
	if (status == WIRE_ERR_OVER_LIMIT) {
		dp_finish_error(w, m, &req->header, status,
		             sqs_queue_has_room(w->sqs, slot, req->body.length)
		                 ? "the message store its queue shares with others is full"
		                 : "the queue is full: it holds as many messages or bytes as "
		                   "one queue may (docs/operations.md)");
		return;
	}
	if (status == WIRE_ERR_INVALID_MESSAGE_CONTENTS) {
		dp_finish_error(w, m, &req->header, status,
		             "the message body must be UTF-8 of the allowed characters #x9 | #xA | "
		             "#xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF");
		return;
	}
	if (status == WIRE_ERR_SERVICE_UNAVAILABLE) {
		dp_refuse_for_now(w, m, &req->header, log_refusal(sent.logged.error));
		return;
	}
	if (status != WIRE_OK) {
		dp_finish_error(w, m, &req->header, status,
		                "message body is empty or too long (with its attributes)");
		return;
	}
	struct wire_writer writer;
	dp_reply_begin(&writer, w->reply_buf, DP_HELD_REPLY_BYTES_MAX);
	wire_put_str(&writer, WIRE_TAG_MESSAGE_ID, sent.message_id);
	wire_put_str(&writer, WIRE_TAG_MD5_OF_BODY, sent.md5_of_body);
	if (sent.md5_of_attributes[0] != '\0')
		wire_put_str(&writer, WIRE_TAG_MD5_OF_MESSAGE_ATTRIBUTES, sent.md5_of_attributes);
	if (sent.sequence_number[0] != '\0')
		wire_put_str(&writer, WIRE_TAG_SEQUENCE_NUMBER, sent.sequence_number);
	size_t reply_bytes = dp_reply_finish(&writer, &req->header, WIRE_OK);
	dp_finish_when_durable(w, m, &req->header, reply_bytes, sent.logged.sequence);
}

static void execute_handle_op(struct dp_worker *w, struct rte_mbuf *m, const struct dp_request *req,
                              uint64_t now_ms)
{
	uint32_t slot = dp_meta(m)->queue_slot;
	const char *handle = (const char *)req->receipt_handle.data;
	struct sqs_logged logged = {0, 0};
	enum wire_status status =
	    req->header.opcode == WIRE_OP_DELETE_MESSAGE
	        ? sqs_delete(w->sqs, slot, handle, req->receipt_handle.length, &logged)
	        : sqs_change_visibility(w->sqs, slot, handle, req->receipt_handle.length,
	                                req->visibility_timeout_s.value, now_ms);
	if (status == WIRE_ERR_SERVICE_UNAVAILABLE) {
		dp_refuse_for_now(w, m, &req->header, log_refusal(logged.error));
		return;
	}
	if (status == WIRE_ERR_RECEIPT_HANDLE_INVALID) {
		dp_finish_error(w, m, &req->header, status, "The receipt handle is not valid.");
		return;
	}
	if (status == WIRE_ERR_MESSAGE_NOT_INFLIGHT) {
		dp_finish_error(w, m, &req->header, status, "The message is not in flight.");
		return;
	}
	if (status != WIRE_OK) {
		dp_finish_error(w, m, &req->header, status,
		             "VisibilityTimeout exceeds 12 hours since the receive");
		return;
	}
	struct wire_writer writer;
	dp_reply_begin(&writer, w->reply_buf, DP_HELD_REPLY_BYTES_MAX);
	size_t reply_bytes = dp_reply_finish(&writer, &req->header, WIRE_OK);
	dp_finish_when_durable(w, m, &req->header, reply_bytes, logged.sequence);
}

/* The most one entry of a batch adds to its reply: ENTRY_BEGIN, ENTRY_ID, a send's id, its
 * two MD5s and a FIFO queue's sequence number. */
#define BATCH_ENTRY_REPLY_BYTES_MAX                                                                \
	(6 * WIRE_FIELD_HEADER_BYTES + WIRE_BATCH_ENTRY_ID_BYTES_MAX + BB_MESSAGE_ID_BYTES + 32 +  \
	 32 + SQS_SEQUENCE_NUMBER_CHARS)
_Static_assert(BB_WIRE_HEADER_BYTES + WIRE_BATCH_ENTRIES_MAX * BATCH_ENTRY_REPLY_BYTES_MAX <=
                   DP_HELD_REPLY_BYTES_MAX,
               "a whole batch's reply waits in the reply stage");

/*
 * Over UDP from a source that showed no cookie a reply may be at most
 * BB_UDP_UNPROVEN_REPLY_FACTOR times its request (dp_reply.c drops it otherwise). A batch
 * of short bodies could be answered with more: it is refused before any entry acts, so
 * nothing is done that could not be acknowledged.
 */
static bool batch_reply_may_amplify(struct rte_mbuf *m, const struct dp_request *req)
{
	const struct dp_request_meta *meta = dp_meta(m);
	if (meta->source != DP_SOURCE_UDP || meta->proven)
		return false;
	bool send = req->header.opcode == WIRE_OP_SEND_MESSAGE_BATCH;
	size_t bytes = BB_WIRE_HEADER_BYTES;
	for (uint32_t i = 0; i < req->entry_count; i++) {
		bool md5_of_attributes = send && req->entries[i].attributes.count > 0;
		bool sequence_number = send && req->entries[i].group_id.present; /* FIFO */
		bytes += (send ? 4 * WIRE_FIELD_HEADER_BYTES + BB_MESSAGE_ID_BYTES + 32
		               : 3 * WIRE_FIELD_HEADER_BYTES + 4) +
		         (md5_of_attributes ? WIRE_FIELD_HEADER_BYTES + 32 : 0) +
		         (sequence_number ? WIRE_FIELD_HEADER_BYTES + SQS_SEQUENCE_NUMBER_CHARS : 0) +
		         req->entries[i].id.length;
	}
	return bytes > (size_t)BB_UDP_UNPROVEN_REPLY_FACTOR * rte_pktmbuf_pkt_len(m);
}

/* Runs one entry of a batch unless the parse failed it; a send's ids go to sent. */
static enum wire_status run_entry(struct dp_worker *w, uint32_t slot, uint8_t opcode,
                                  const struct dp_batch_entry *e, uint64_t now_ms,
                                  struct sqs_sent *sent)
{
	sent->logged = (struct sqs_logged){0, 0};
	if (e->status != WIRE_OK)
		return e->status;
	if (opcode == WIRE_OP_SEND_MESSAGE_BATCH) {
		struct sqs_send_options options = {.group_id = (const char *)e->group_id.data,
		                                   .group_id_bytes = e->group_id.length,
		                                   .dedup_id = (const char *)e->dedup_id.data,
		                                   .dedup_id_bytes = e->dedup_id.length,
		                                   .delay_s = e->delay_s.value,
		                                   .delay_given = e->delay_s.present};
		if (!make_attribute_block(w, slot, &e->body, &e->attributes, &e->trace_header,
		                          &(const struct dp_bytes){0}, &e->dedup_id, &options))
			return WIRE_ERR_MESSAGE_TOO_LONG;
		return sqs_send_message(w->sqs, slot, e->body.data, e->body.length, &options, now_ms,
		                        sent);
	}
	const char *handle = (const char *)e->receipt_handle.data;
	if (opcode == WIRE_OP_DELETE_MESSAGE_BATCH)
		return sqs_delete(w->sqs, slot, handle, e->receipt_handle.length, &sent->logged);
	return sqs_change_visibility(w->sqs, slot, handle, e->receipt_handle.length,
	                             e->visibility_timeout_s.value, now_ms);
}

/*
 * A batch: every entry runs on its own and gets its own answer, in request order (an
 * ENTRY_STATUS when it failed). The one reply waits in the stage for the highest sequence
 * its entries wrote, so no entry is acknowledged before everything the batch wrote is
 * durable.
 */
static void execute_batch(struct dp_worker *w, struct rte_mbuf *m, const struct dp_request *req,
                          uint64_t now_ms)
{
	RTE_VERIFY(req->entry_count >= 1 && req->entry_count <= WIRE_BATCH_ENTRIES_MAX);
	if (batch_reply_may_amplify(m, req)) {
		dp_finish_error(w, m, &req->header, WIRE_ERR_INVALID_PARAMETER,
		                "over UDP a batch's answer may be at most 3 times its request: send "
		                "short bodies over the local socket or one by one");
		return;
	}
	uint8_t opcode = req->header.opcode;
	uint32_t slot = dp_meta(m)->queue_slot;
	uint64_t sequence = 0;
	struct wire_writer writer;
	dp_reply_begin(&writer, w->reply_buf, DP_HELD_REPLY_BYTES_MAX);
	for (uint32_t i = 0; i < req->entry_count; i++) {
		const struct dp_batch_entry *e = &req->entries[i];
		struct sqs_sent sent;
		enum wire_status status = run_entry(w, slot, opcode, e, now_ms, &sent);
		wire_put_bytes(&writer, WIRE_TAG_ENTRY_BEGIN, NULL, 0);
		wire_put_bytes(&writer, WIRE_TAG_ENTRY_ID, e->id.data, e->id.length);
		if (status != WIRE_OK) {
			wire_put_u32(&writer, WIRE_TAG_ENTRY_STATUS, (uint32_t)status);
			continue;
		}
		if (opcode == WIRE_OP_SEND_MESSAGE_BATCH) {
			wire_put_str(&writer, WIRE_TAG_MESSAGE_ID, sent.message_id);
			wire_put_str(&writer, WIRE_TAG_MD5_OF_BODY, sent.md5_of_body);
			if (sent.md5_of_attributes[0] != '\0')
				wire_put_str(&writer, WIRE_TAG_MD5_OF_MESSAGE_ATTRIBUTES,
				             sent.md5_of_attributes);
			if (sent.sequence_number[0] != '\0') /* a FIFO queue's, in request order */
				wire_put_str(&writer, WIRE_TAG_SEQUENCE_NUMBER, sent.sequence_number);
		}
		sequence = RTE_MAX(sequence, sent.logged.sequence);
	}
	RTE_VERIFY(!writer.overflow);
	size_t reply_bytes = dp_reply_finish(&writer, &req->header, WIRE_OK);
	dp_finish_when_durable(w, m, &req->header, reply_bytes, sequence);
}

/*
 * PurgeQueue (its reply waits for its PURGE record) and a queue's approximate counts:
 * busbar-control's, so only from the local socket (dp_request.c lets them through to here).
 */
static void execute_queue_control(struct dp_worker *w, struct rte_mbuf *m,
                                  const struct dp_request *req, uint64_t now_ms)
{
	uint32_t slot = dp_meta(m)->queue_slot;
	if (dp_meta(m)->source != DP_SOURCE_LOCAL) {
		dp_finish_error(w, m, &req->header, WIRE_ERR_ACCESS_DENIED,
		                "control opcodes only on the local socket");
		return;
	}
	struct wire_writer writer;
	dp_reply_begin(&writer, w->reply_buf, DP_HELD_REPLY_BYTES_MAX);
	if (req->header.opcode == WIRE_OP_GET_QUEUE_COUNTS) {
		struct sqs_queue_counts counts;
		sqs_queue_counts(w->sqs, slot, &counts);
		wire_put_u32(&writer, WIRE_TAG_MESSAGES_VISIBLE, counts.visible);
		wire_put_u32(&writer, WIRE_TAG_MESSAGES_NOT_VISIBLE, counts.not_visible);
		wire_put_u32(&writer, WIRE_TAG_MESSAGES_DELAYED, counts.delayed);
		dp_finish(w, m, &req->header, WIRE_OK,
		          dp_reply_finish(&writer, &req->header, WIRE_OK));
		return;
	}
	struct sqs_logged logged;
	enum wire_status status = sqs_purge(w->sqs, slot, now_ms, &logged);
	if (status == WIRE_ERR_SERVICE_UNAVAILABLE) {
		dp_refuse_for_now(w, m, &req->header, log_refusal(logged.error));
		return;
	}
	if (status != WIRE_OK) {
		dp_finish_error(w, m, &req->header, status,
		                "Only one PurgeQueue operation on a queue is allowed every 60 seconds.");
		return;
	}
	size_t reply_bytes = dp_reply_finish(&writer, &req->header, WIRE_OK);
	dp_finish_when_durable(w, m, &req->header, reply_bytes, logged.sequence);
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
	struct dp_dedup_key key = {dp_auth_route_key_id(m), h->client_id, h->request_id,
	                           dp_request_digest(req)};
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
		dp_send_reply(w, m, w->reply_buf, reply_bytes);
		rte_pktmbuf_free(m);
		return true;
	case DP_DEDUP_DONE:
		w->stats.dedup_replayed++;
		dp_send_reply(w, m, reply, reply_bytes);
		rte_pktmbuf_free(m);
		return true;
	case DP_DEDUP_PENDING:
		w->stats.dedup_in_progress++; /* the first attempt will answer */
		rte_pktmbuf_free(m);
		return true;
	case DP_DEDUP_UNKNOWN: break;
	}
	if (dp_auth_route_replay_forgotten(w, m))
		return true; /* a replay whose first answer is gone is dropped, never run again */
	dp_dedup_begin(&w->dedup, &key);
	return false;
}

void dp_execute(struct dp_worker *w, struct rte_mbuf *m, uint64_t now_ms)
{
	if (dp_meta(m)->source == DP_SOURCE_INTERNAL && dp_meta(m)->returned) {
		dp_fanout_returned(w, m, now_ms); /* one of this worker's deliveries, answered */
		return;
	}
	uint32_t length;
	const uint8_t *bytes = dp_request_bytes(w, m, &length);
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
	if (stage_refused(w, m, &req))
		return;
	if (is_publish_or_put(req.header.opcode)) {
		dp_execute_routing(w, m, &req, now_ms); /* a topic's or bus's: dp_publish.c */
		return;
	}
	if (req.header.opcode == WIRE_OP_ACK) {
		dp_udp_ack(w, m, &req); /* a udp delivery of this worker's: dp_udp_delivery.c */
		return;
	}
	if (!sqs_queue_holds(w->sqs, meta->queue_slot, meta->queue_id)) {
		dp_finish_error(w, m, &req.header, WIRE_ERR_NONEXISTENT_QUEUE,
		             "The specified queue does not exist.");
		return;
	}
	switch (req.header.opcode) {
	case WIRE_OP_SEND_MESSAGE: execute_send(w, m, &req, now_ms); break;
	case WIRE_OP_RECEIVE_MESSAGE: execute_receive(w, m, &req, now_ms); break;
	case WIRE_OP_SEND_MESSAGE_BATCH:
	case WIRE_OP_DELETE_MESSAGE_BATCH:
	case WIRE_OP_CHANGE_MESSAGE_VISIBILITY_BATCH: execute_batch(w, m, &req, now_ms); break;
	case WIRE_OP_PURGE_QUEUE:
	case WIRE_OP_GET_QUEUE_COUNTS: execute_queue_control(w, m, &req, now_ms); break;
	default: execute_handle_op(w, m, &req, now_ms); break;
	}
}

void dp_answer_wakes(struct dp_worker *w, uint32_t count, uint64_t now_ms)
{
	for (uint32_t i = 0; i < count; i++) {
		const struct sqs_wake *wake = &w->wakes[i];
		struct rte_mbuf *m = wake->token;
		/* Parsed again for its MessageAttributeNames: a parked request is one mbuf, and
		 * it parsed when it came. */
		uint32_t length;
		const uint8_t *bytes = dp_request_bytes(w, m, &length);
		struct dp_request req;
		RTE_VERIFY(bytes != NULL && dp_request_parse(bytes, length, &req) == WIRE_OK);
		struct sqs_attr_names names;
		attribute_names_of(&req, &names);
		if (wake->queue_closed)
			dp_finish_error(w, m, &req.header, WIRE_ERR_NONEXISTENT_QUEUE,
			             "The specified queue does not exist.");
		else
			answer_receive(w, m, &req.header, &wake->receive, &names, &req.attempt_id,
			               now_ms);
	}
}
