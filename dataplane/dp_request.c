/*
 * Request parsing and reply framing (see dp_request.h). Every field is
 * checked for size and range here, once, so the engines below can assert.
 */
#include "dp_request.h"

#include <stddef.h>
#include <string.h>

#include "bb_endian.h"
#include "bb_limits.h"
#include "bb_snapshot.h"
#include "dp_siphash.h"

static bool is_data_opcode(uint8_t opcode)
{
	switch (opcode) {
	case WIRE_OP_PING:
	case WIRE_OP_SEND_MESSAGE:
	case WIRE_OP_RECEIVE_MESSAGE:
	case WIRE_OP_DELETE_MESSAGE:
	case WIRE_OP_CHANGE_MESSAGE_VISIBILITY:
	case WIRE_OP_SEND_MESSAGE_BATCH:
	case WIRE_OP_DELETE_MESSAGE_BATCH:
	case WIRE_OP_CHANGE_MESSAGE_VISIBILITY_BATCH: return true;
	default: return false;
	}
}

static enum wire_status invalid(struct dp_request *out, enum wire_status status, const char *why)
{
	out->error = why;
	return status;
}

static bool take_bytes(struct dp_bytes *slot, const struct wire_field *f)
{
	if (slot->present)
		return false; /* a field given twice is ambiguous */
	*slot = (struct dp_bytes){f->value, f->length, true};
	return true;
}

static bool take_u32(struct dp_u32 *slot, const struct wire_field *f)
{
	if (slot->present || !wire_field_u32(f, &slot->value))
		return false;
	slot->present = true;
	return true;
}

static bool take_u64(struct dp_u64 *slot, const struct wire_field *f)
{
	if (slot->present || !wire_field_u64(f, &slot->value))
		return false;
	slot->present = true;
	return true;
}

static bool take_field(struct dp_request *out, const struct wire_field *f)
{
	switch (f->tag) {
	case WIRE_TAG_QUEUE_NAME: return take_bytes(&out->queue_name, f);
	case WIRE_TAG_BODY: return take_bytes(&out->body, f);
	case WIRE_TAG_RECEIPT_HANDLE: return take_bytes(&out->receipt_handle, f);
	case WIRE_TAG_MAX_MESSAGES: return take_u32(&out->max_messages, f);
	case WIRE_TAG_VISIBILITY_TIMEOUT_S: return take_u32(&out->visibility_timeout_s, f);
	case WIRE_TAG_WAIT_TIME_S: return take_u32(&out->wait_time_s, f);
	case WIRE_TAG_COOKIE: return take_u64(&out->cookie, f);
	case WIRE_TAG_MESSAGE_GROUP_ID: return take_bytes(&out->group_id, f);
	case WIRE_TAG_MESSAGE_DEDUPLICATION_ID: return take_bytes(&out->dedup_id, f);
	default: return false;
	}
}

/*
 * A batch's fields: before its first ENTRY_BEGIN the request's (queue and cookie only), after
 * it the current entry's; a cookie anywhere is the request's (libbusbar appends it last).
 * Returns WIRE_OK, WIRE_ERR_MALFORMED or TooManyEntriesInBatchRequest.
 */
static enum wire_status take_batch_field(struct dp_request *out, const struct wire_field *f)
{
	if (f->tag == WIRE_TAG_ENTRY_BEGIN) {
		if (f->length != 0)
			return WIRE_ERR_MALFORMED;
		if (out->entry_count == WIRE_BATCH_ENTRIES_MAX)
			return WIRE_ERR_TOO_MANY_ENTRIES_IN_BATCH_REQUEST;
		out->entries[out->entry_count++] = (struct dp_batch_entry){.status = WIRE_OK};
		return WIRE_OK;
	}
	if (f->tag == WIRE_TAG_COOKIE || (out->entry_count == 0 && f->tag == WIRE_TAG_QUEUE_NAME))
		return take_field(out, f) ? WIRE_OK : WIRE_ERR_MALFORMED;
	if (out->entry_count == 0)
		return WIRE_ERR_MALFORMED;
	struct dp_batch_entry *e = &out->entries[out->entry_count - 1];
	bool taken;
	switch (f->tag) {
	case WIRE_TAG_ENTRY_ID: taken = take_bytes(&e->id, f); break;
	case WIRE_TAG_BODY: taken = take_bytes(&e->body, f); break;
	case WIRE_TAG_RECEIPT_HANDLE: taken = take_bytes(&e->receipt_handle, f); break;
	case WIRE_TAG_VISIBILITY_TIMEOUT_S: taken = take_u32(&e->visibility_timeout_s, f); break;
	default: taken = false; break;
	}
	return taken ? WIRE_OK : WIRE_ERR_MALFORMED;
}

/* True when the entry holds only fields its batch's operation takes. */
static bool entry_fields_fit(uint8_t opcode, const struct dp_batch_entry *e)
{
	if (opcode == WIRE_OP_SEND_MESSAGE_BATCH)
		return !e->receipt_handle.present && !e->visibility_timeout_s.present;
	if (opcode == WIRE_OP_DELETE_MESSAGE_BATCH)
		return !e->body.present && !e->visibility_timeout_s.present;
	return !e->body.present;
}

/* An entry's own failures: they fail that entry alone, as SQS answers them. */
static void check_entry(uint8_t opcode, struct dp_batch_entry *e)
{
	if (opcode == WIRE_OP_SEND_MESSAGE_BATCH) {
		if (!e->body.present || e->body.length == 0)
			e->status = WIRE_ERR_MISSING_PARAMETER;
		return;
	}
	if (!e->receipt_handle.present)
		e->status = WIRE_ERR_MISSING_PARAMETER;
	else if (opcode == WIRE_OP_CHANGE_MESSAGE_VISIBILITY_BATCH && !e->visibility_timeout_s.present)
		e->status = WIRE_ERR_MISSING_PARAMETER;
	else if (e->visibility_timeout_s.value > BB_VISIBILITY_TIMEOUT_S_MAX)
		e->status = WIRE_ERR_INVALID_PARAMETER;
}

static bool same_bytes(const struct dp_bytes *a, const struct dp_bytes *b)
{
	return a->length == b->length && memcmp(a->data, b->data, a->length) == 0;
}

/* What fails a batch as a whole: no entries, a bad or repeated id, bodies over the total. */
static enum wire_status check_batch(struct dp_request *out)
{
	if (out->entry_count == 0)
		return invalid(out, WIRE_ERR_EMPTY_BATCH_REQUEST, "a batch needs at least one entry");
	uint64_t body_bytes = 0;
	for (uint32_t i = 0; i < out->entry_count; i++) {
		const struct dp_batch_entry *e = &out->entries[i];
		if (!e->id.present)
			return invalid(out, WIRE_ERR_MISSING_PARAMETER, "every batch entry needs an Id");
		if (!wire_batch_entry_id_is_valid(e->id.data, e->id.length))
			return invalid(out, WIRE_ERR_INVALID_BATCH_ENTRY_ID,
			               "a batch entry Id must be 1-80 of A-Z, a-z, 0-9, - and _");
		for (uint32_t j = 0; j < i; j++) {
			if (same_bytes(&out->entries[j].id, &e->id))
				return invalid(out, WIRE_ERR_BATCH_ENTRY_IDS_NOT_DISTINCT,
				               "two entries of the batch have the same Id");
		}
		if (!entry_fields_fit(out->header.opcode, e))
			return invalid(out, WIRE_ERR_MALFORMED, "a field this batch's entries do not take");
		body_bytes += e->body.length;
	}
	if (body_bytes > WIRE_BATCH_BODY_BYTES_MAX)
		return invalid(out, WIRE_ERR_BATCH_REQUEST_TOO_LONG,
		               "the message bodies of a batch may total at most 1 MiB");
	for (uint32_t i = 0; i < out->entry_count; i++)
		check_entry(out->header.opcode, &out->entries[i]);
	return WIRE_OK;
}

/* Group and dedup ids: on a send only, 1-128 bytes (the queue engine checks the characters). */
static enum wire_status check_fifo_ids(struct dp_request *out)
{
	const struct dp_bytes *ids[] = {&out->group_id, &out->dedup_id};
	for (uint32_t i = 0; i < 2; i++) {
		if (ids[i]->present && (ids[i]->length == 0 || ids[i]->length > BB_FIFO_ID_BYTES_MAX))
			return invalid(out, WIRE_ERR_INVALID_PARAMETER,
			               "MessageGroupId and MessageDeduplicationId are 1-128 characters");
	}
	return WIRE_OK;
}

static enum wire_status check_receive(struct dp_request *out)
{
	if (out->max_messages.present &&
	    (out->max_messages.value < 1 || out->max_messages.value > BB_RECEIVE_COUNT_MAX))
		return invalid(out, WIRE_ERR_INVALID_PARAMETER, "MaxNumberOfMessages must be 1-10");
	if (out->wait_time_s.present && out->wait_time_s.value > BB_WAIT_TIME_S_MAX)
		return invalid(out, WIRE_ERR_INVALID_PARAMETER, "WaitTimeSeconds must be 0-20");
	return WIRE_OK;
}

static enum wire_status check_opcode_fields(struct dp_request *out)
{
	uint8_t op = out->header.opcode;
	if (op == WIRE_OP_PING)
		return WIRE_OK;
	if (!out->queue_name.present)
		return invalid(out, WIRE_ERR_MISSING_PARAMETER, "QueueName is required");
	if (!bb_queue_name_is_valid(out->queue_name.data, out->queue_name.length))
		return invalid(out, WIRE_ERR_INVALID_PARAMETER,
		               "QueueName must be 1-80 of A-Z, a-z, 0-9, - and _");
	if (out->visibility_timeout_s.present &&
	    out->visibility_timeout_s.value > BB_VISIBILITY_TIMEOUT_S_MAX)
		return invalid(out, WIRE_ERR_INVALID_PARAMETER,
		               "VisibilityTimeout must be 0-43200");
	switch (op) {
	case WIRE_OP_SEND_MESSAGE:
		if (!out->body.present || out->body.length == 0)
			return invalid(out, WIRE_ERR_MISSING_PARAMETER, "MessageBody is required");
		return check_fifo_ids(out);
	case WIRE_OP_RECEIVE_MESSAGE: return check_receive(out);
	case WIRE_OP_SEND_MESSAGE_BATCH:
	case WIRE_OP_DELETE_MESSAGE_BATCH:
	case WIRE_OP_CHANGE_MESSAGE_VISIBILITY_BATCH: return check_batch(out);
	case WIRE_OP_DELETE_MESSAGE:
	case WIRE_OP_CHANGE_MESSAGE_VISIBILITY:
		if (!out->receipt_handle.present)
			return invalid(out, WIRE_ERR_MISSING_PARAMETER,
			               "ReceiptHandle is required");
		if (op == WIRE_OP_CHANGE_MESSAGE_VISIBILITY && !out->visibility_timeout_s.present)
			return invalid(out, WIRE_ERR_MISSING_PARAMETER,
			               "VisibilityTimeout is required");
		return WIRE_OK;
	default: return invalid(out, WIRE_ERR_INVALID_ACTION, "unknown opcode");
	}
}

static void digest_bytes(struct dp_siphash *s, uint16_t tag, const struct dp_bytes *field)
{
	uint8_t prefix[7];
	bb_put_le16(prefix, tag);
	prefix[2] = field->present;
	bb_put_le32(prefix + 3, field->length);
	dp_siphash_update(s, prefix, sizeof(prefix));
	if (field->present)
		dp_siphash_update(s, field->data, field->length);
}

static void digest_u32(struct dp_siphash *s, uint16_t tag, const struct dp_u32 *field)
{
	uint8_t bytes[7];
	bb_put_le16(bytes, tag);
	bytes[2] = field->present;
	bb_put_le32(bytes + 3, field->present ? field->value : 0);
	dp_siphash_update(s, bytes, sizeof(bytes));
}

uint64_t dp_request_digest(const struct dp_request *req)
{
	/*
	 * A fixed key: only the sender of both requests chooses their ids, so a
	 * crafted collision could only confuse the requests of its own maker.
	 */
	static const struct dp_siphash_key key = {0x6275736261722d31ull, 0x6469676573742d31ull};
	struct dp_siphash s;
	dp_siphash_init(&s, &key);
	dp_siphash_update(&s, &req->header.opcode, 1);
	digest_bytes(&s, WIRE_TAG_QUEUE_NAME, &req->queue_name);
	digest_bytes(&s, WIRE_TAG_BODY, &req->body);
	digest_bytes(&s, WIRE_TAG_RECEIPT_HANDLE, &req->receipt_handle);
	digest_u32(&s, WIRE_TAG_MAX_MESSAGES, &req->max_messages);
	digest_u32(&s, WIRE_TAG_VISIBILITY_TIMEOUT_S, &req->visibility_timeout_s);
	digest_u32(&s, WIRE_TAG_WAIT_TIME_S, &req->wait_time_s);
	digest_bytes(&s, WIRE_TAG_MESSAGE_GROUP_ID, &req->group_id);
	digest_bytes(&s, WIRE_TAG_MESSAGE_DEDUPLICATION_ID, &req->dedup_id);
	for (uint32_t i = 0; i < req->entry_count; i++) {
		const struct dp_batch_entry *e = &req->entries[i];
		digest_bytes(&s, WIRE_TAG_ENTRY_ID, &e->id);
		digest_bytes(&s, WIRE_TAG_BODY, &e->body);
		digest_bytes(&s, WIRE_TAG_RECEIPT_HANDLE, &e->receipt_handle);
		digest_u32(&s, WIRE_TAG_VISIBILITY_TIMEOUT_S, &e->visibility_timeout_s);
	}
	return dp_siphash_final(&s);
}

bool dp_request_is_answerable(const uint8_t *bytes, size_t length)
{
	return length >= BB_WIRE_HEADER_BYTES && bb_get_le16(bytes) == WIRE_MAGIC;
}

enum wire_status dp_request_parse(const uint8_t *bytes, size_t length, struct dp_request *out)
{
	memset(out, 0, offsetof(struct dp_request, entries)); /* entries: as they begin */
	enum wire_status status = wire_header_decode(bytes, length, &out->header);
	if (status == WIRE_ERR_UNSUPPORTED_VERSION)
		return invalid(out, status, "this server speaks wire protocol version 1");
	if (status != WIRE_OK)
		return invalid(out, status, "malformed header");
	if (out->header.flags & WIRE_FLAG_RESPONSE)
		return invalid(out, WIRE_ERR_MALFORMED, "a response is not a request");
	if (out->header.flags != 0)
		return invalid(out, WIRE_ERR_MALFORMED, "request flags must be 0");
	if (out->header.status != 0)
		return invalid(out, WIRE_ERR_MALFORMED, "a request's status must be 0");
	if (wire_opcode_is_local_only(out->header.opcode))
		return invalid(out, WIRE_ERR_ACCESS_DENIED,
		               "control opcodes only on the local socket");
	if (!is_data_opcode(out->header.opcode))
		return invalid(out, WIRE_ERR_INVALID_ACTION, "unknown opcode");
	/* The key id and MAC are dp_auth's (UDP, before this parse); the local socket's guard is
	 * its file mode, so a signed request there is taken as it is. */
	struct wire_reader reader;
	struct wire_field f;
	int more;
	uint32_t fields = 0;
	wire_reader_init(&reader, bytes + BB_WIRE_HEADER_BYTES, out->header.body_bytes);
	bool batch = wire_opcode_is_batch(out->header.opcode);
	while ((more = wire_reader_next(&reader, &f)) == 1) {
		enum wire_status taken = batch                ? take_batch_field(out, &f)
		                         : take_field(out, &f) ? WIRE_OK
		                                               : WIRE_ERR_MALFORMED;
		if (taken == WIRE_ERR_TOO_MANY_ENTRIES_IN_BATCH_REQUEST)
			return invalid(out, taken, "a batch has at most 10 entries");
		if (++fields > BB_FIELD_COUNT_MAX || taken != WIRE_OK)
			return invalid(out, WIRE_ERR_MALFORMED,
			               "unknown, repeated or ill-sized field");
	}
	if (more < 0)
		return invalid(out, WIRE_ERR_MALFORMED, "truncated field");
	return check_opcode_fields(out);
}

void dp_reply_begin(struct wire_writer *writer, uint8_t *buf, size_t capacity)
{
	wire_writer_init(writer, buf + BB_WIRE_HEADER_BYTES, capacity - BB_WIRE_HEADER_BYTES);
}

size_t dp_reply_finish(struct wire_writer *writer, const struct wire_header *request,
                       enum wire_status status)
{
	if (writer->overflow) {
		writer->length = 0;
		status = WIRE_ERR_INTERNAL;
	}
	struct wire_header reply = *request;
	reply.version = WIRE_VERSION;
	reply.flags = WIRE_FLAG_RESPONSE;
	reply.status = (uint16_t)status;
	reply.body_bytes = (uint32_t)writer->length;
	reply.key_id = 0;
	memset(reply.mac, 0, sizeof(reply.mac));
	wire_header_encode(&reply, writer->buf - BB_WIRE_HEADER_BYTES);
	return BB_WIRE_HEADER_BYTES + writer->length;
}

size_t dp_reply_error(uint8_t *buf, size_t capacity, const struct wire_header *request,
                      enum wire_status status, const char *message)
{
	struct wire_writer writer;
	dp_reply_begin(&writer, buf, capacity);
	wire_put_str(&writer, WIRE_TAG_ERROR_MESSAGE, message);
	return dp_reply_finish(&writer, request, status);
}
