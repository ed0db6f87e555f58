/*
 * Encoding and decoding of wire protocol v1. Pure byte work with explicit
 * little-endian order: no allocation, no I/O, safe on any input. Every
 * decoder checks lengths before it reads.
 */
#include "wire.h"

#include <errno.h>
#include <string.h>

#include "bb_endian.h"
#include "bb_limits.h"

/* Header layout: offsets of each field in the 64-byte header. */
enum {
	OFF_MAGIC = 0,
	OFF_VERSION = 2,
	OFF_OPCODE = 3,
	OFF_FLAGS = 4,
	OFF_STATUS = 6,
	OFF_BODY_BYTES = 8,
	OFF_KEY_ID = 12,
	OFF_CLIENT_ID = 16,
	OFF_REQUEST_ID = 24,
	OFF_TIMESTAMP_MS = 32,
	OFF_MAC = 40,
	OFF_RESERVED = 56,
	OFF_END = 64,
};
_Static_assert(OFF_END == BB_WIRE_HEADER_BYTES, "header layout matches its size");
_Static_assert(OFF_RESERVED - OFF_MAC == WIRE_MAC_BYTES, "MAC field size");
_Static_assert(OFF_MAC == WIRE_MAC_OFFSET, "MAC field offset");

void wire_header_encode(const struct wire_header *header, uint8_t *out)
{
	bb_put_le16(out + OFF_MAGIC, WIRE_MAGIC);
	out[OFF_VERSION] = header->version;
	out[OFF_OPCODE] = header->opcode;
	bb_put_le16(out + OFF_FLAGS, header->flags);
	bb_put_le16(out + OFF_STATUS, header->status);
	bb_put_le32(out + OFF_BODY_BYTES, header->body_bytes);
	bb_put_le32(out + OFF_KEY_ID, header->key_id);
	bb_put_le64(out + OFF_CLIENT_ID, header->client_id);
	bb_put_le64(out + OFF_REQUEST_ID, header->request_id);
	bb_put_le64(out + OFF_TIMESTAMP_MS, header->timestamp_ms);
	memcpy(out + OFF_MAC, header->mac, WIRE_MAC_BYTES);
	bb_put_le64(out + OFF_RESERVED, 0);
}

enum wire_status wire_header_decode(const uint8_t *buf, size_t length, struct wire_header *out)
{
	if (length < BB_WIRE_HEADER_BYTES)
		return WIRE_ERR_MALFORMED;
	if (bb_get_le16(buf + OFF_MAGIC) != WIRE_MAGIC)
		return WIRE_ERR_MALFORMED;
	out->version = buf[OFF_VERSION];
	out->opcode = buf[OFF_OPCODE];
	out->flags = bb_get_le16(buf + OFF_FLAGS);
	out->status = bb_get_le16(buf + OFF_STATUS);
	out->body_bytes = bb_get_le32(buf + OFF_BODY_BYTES);
	out->key_id = bb_get_le32(buf + OFF_KEY_ID);
	out->client_id = bb_get_le64(buf + OFF_CLIENT_ID);
	out->request_id = bb_get_le64(buf + OFF_REQUEST_ID);
	out->timestamp_ms = bb_get_le64(buf + OFF_TIMESTAMP_MS);
	memcpy(out->mac, buf + OFF_MAC, WIRE_MAC_BYTES);
	if (out->version != WIRE_VERSION)
		return WIRE_ERR_UNSUPPORTED_VERSION;
	if (bb_get_le64(buf + OFF_RESERVED) != 0)
		return WIRE_ERR_MALFORMED;
	if (out->body_bytes != length - BB_WIRE_HEADER_BYTES)
		return WIRE_ERR_MALFORMED;
	return WIRE_OK;
}

void wire_reader_init(struct wire_reader *reader, const uint8_t *body, size_t body_bytes)
{
	reader->next = body;
	reader->bytes_left = body_bytes;
}

int wire_reader_next(struct wire_reader *reader, struct wire_field *out)
{
	if (reader->bytes_left == 0)
		return 0;
	if (reader->bytes_left < WIRE_FIELD_HEADER_BYTES)
		return -EBADMSG;
	uint32_t length = bb_get_le32(reader->next + 2);
	if (length > reader->bytes_left - WIRE_FIELD_HEADER_BYTES)
		return -EBADMSG;
	out->tag = bb_get_le16(reader->next);
	out->length = length;
	out->value = reader->next + WIRE_FIELD_HEADER_BYTES;
	reader->next += WIRE_FIELD_HEADER_BYTES + length;
	reader->bytes_left -= WIRE_FIELD_HEADER_BYTES + length;
	return 1;
}

bool wire_field_u32(const struct wire_field *field, uint32_t *out)
{
	if (field->length != 4)
		return false;
	*out = bb_get_le32(field->value);
	return true;
}

bool wire_field_u64(const struct wire_field *field, uint64_t *out)
{
	if (field->length != 8)
		return false;
	*out = bb_get_le64(field->value);
	return true;
}

void wire_writer_init(struct wire_writer *writer, uint8_t *buf, size_t capacity)
{
	writer->buf = buf;
	writer->capacity = capacity;
	writer->length = 0;
	writer->overflow = false;
}

size_t wire_field_bytes(size_t length)
{
	return WIRE_FIELD_HEADER_BYTES + length;
}

uint8_t *wire_put_reserve(struct wire_writer *writer, uint16_t tag, size_t length)
{
	if (length > UINT32_MAX || wire_field_bytes(length) > writer->capacity - writer->length) {
		writer->overflow = true;
		return NULL;
	}
	uint8_t *p = writer->buf + writer->length;
	bb_put_le16(p, tag);
	bb_put_le32(p + 2, (uint32_t)length);
	writer->length += wire_field_bytes(length);
	return p + WIRE_FIELD_HEADER_BYTES;
}

void wire_put_bytes(struct wire_writer *writer, uint16_t tag, const void *value, size_t length)
{
	uint8_t *p = wire_put_reserve(writer, tag, length);
	if (p != NULL && length > 0)
		memcpy(p, value, length);
}

void wire_put_str(struct wire_writer *writer, uint16_t tag, const char *value)
{
	wire_put_bytes(writer, tag, value, strlen(value));
}

void wire_put_u32(struct wire_writer *writer, uint16_t tag, uint32_t value)
{
	uint8_t le[4];
	bb_put_le32(le, value);
	wire_put_bytes(writer, tag, le, sizeof(le));
}

void wire_put_u64(struct wire_writer *writer, uint16_t tag, uint64_t value)
{
	uint8_t le[8];
	bb_put_le64(le, value);
	wire_put_bytes(writer, tag, le, sizeof(le));
}

static const char *const status_names[WIRE_STATUS_COUNT] = {
    [WIRE_OK] = "OK",
    [WIRE_ERR_MALFORMED] = "MalformedQueryString",
    [WIRE_ERR_UNSUPPORTED_VERSION] = "UnsupportedProtocol",
    [WIRE_ERR_INVALID_ACTION] = "InvalidAction",
    [WIRE_ERR_INVALID_PARAMETER] = "InvalidParameterValue",
    [WIRE_ERR_MISSING_PARAMETER] = "MissingParameter",
    [WIRE_ERR_NONEXISTENT_QUEUE] = "AWS.SimpleQueueService.NonExistentQueue",
    [WIRE_ERR_RECEIPT_HANDLE_INVALID] = "ReceiptHandleIsInvalid",
    [WIRE_ERR_MESSAGE_NOT_INFLIGHT] = "AWS.SimpleQueueService.MessageNotInflight",
    [WIRE_ERR_OVER_LIMIT] = "OverLimit",
    [WIRE_ERR_MESSAGE_TOO_LONG] = "InvalidParameterValue.MessageTooLong",
    [WIRE_ERR_INVALID_CLIENT_TOKEN] = "InvalidClientTokenId",
    [WIRE_ERR_ACCESS_DENIED] = "AccessDenied",
    [WIRE_ERR_SERVICE_UNAVAILABLE] = "ServiceUnavailable",
    [WIRE_ERR_INTERNAL] = "InternalFailure",
    [WIRE_RETRY_WITH_COOKIE] = "RetryWithCookie",
    [WIRE_ERR_IDEMPOTENT_PARAMETER_MISMATCH] = "IdempotentParameterMismatch",
    [WIRE_ERR_INVALID_MESSAGE_CONTENTS] = "InvalidMessageContents",
    [WIRE_ERR_MISSING_AUTHENTICATION_TOKEN] = "MissingAuthenticationToken",
    [WIRE_ERR_SIGNATURE_DOES_NOT_MATCH] = "SignatureDoesNotMatch",
    [WIRE_ERR_REQUEST_EXPIRED] = "RequestExpired",
    [WIRE_ERR_EMPTY_BATCH_REQUEST] = "AWS.SimpleQueueService.EmptyBatchRequest",
    [WIRE_ERR_TOO_MANY_ENTRIES_IN_BATCH_REQUEST] =
        "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
    [WIRE_ERR_BATCH_ENTRY_IDS_NOT_DISTINCT] = "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
    [WIRE_ERR_BATCH_REQUEST_TOO_LONG] = "AWS.SimpleQueueService.BatchRequestTooLong",
    [WIRE_ERR_INVALID_BATCH_ENTRY_ID] = "AWS.SimpleQueueService.InvalidBatchEntryId",
    [WIRE_ERR_PURGE_QUEUE_IN_PROGRESS] = "AWS.SimpleQueueService.PurgeQueueInProgress",
    [WIRE_ERR_SNS_NOT_FOUND] = "NotFound",
    [WIRE_ERR_SNS_INVALID_PARAMETER] = "InvalidParameter",
    [WIRE_ERR_SNS_PARAMETER_VALUE_INVALID] = "ParameterValueInvalid",
    [WIRE_ERR_SNS_EMPTY_BATCH_REQUEST] = "EmptyBatchRequest",
    [WIRE_ERR_SNS_TOO_MANY_ENTRIES_IN_BATCH_REQUEST] = "TooManyEntriesInBatchRequest",
    [WIRE_ERR_SNS_BATCH_ENTRY_IDS_NOT_DISTINCT] = "BatchEntryIdsNotDistinct",
    [WIRE_ERR_SNS_BATCH_REQUEST_TOO_LONG] = "BatchRequestTooLong",
    [WIRE_ERR_SNS_INVALID_BATCH_ENTRY_ID] = "InvalidBatchEntryId",
    [WIRE_ERR_EVENTS_RESOURCE_NOT_FOUND] = "ResourceNotFoundException",
    [WIRE_ERR_EVENTS_VALIDATION] = "ValidationException",
    [WIRE_ERR_EVENTS_INVALID_ARGUMENT] = "InvalidArgument",
    [WIRE_ERR_EVENTS_MALFORMED_DETAIL] = "MalformedDetail",
};

const char *wire_status_name(enum wire_status status)
{
	if ((unsigned)status >= WIRE_STATUS_COUNT)
		return "UnknownStatus";
	return status_names[status];
}

const char *wire_opcode_name(uint8_t opcode)
{
	switch (opcode) {
	case WIRE_OP_PING: return "Ping";
	case WIRE_OP_SEND_MESSAGE: return "SendMessage";
	case WIRE_OP_RECEIVE_MESSAGE: return "ReceiveMessage";
	case WIRE_OP_DELETE_MESSAGE: return "DeleteMessage";
	case WIRE_OP_CHANGE_MESSAGE_VISIBILITY: return "ChangeMessageVisibility";
	case WIRE_OP_SEND_MESSAGE_BATCH: return "SendMessageBatch";
	case WIRE_OP_DELETE_MESSAGE_BATCH: return "DeleteMessageBatch";
	case WIRE_OP_CHANGE_MESSAGE_VISIBILITY_BATCH: return "ChangeMessageVisibilityBatch";
	case WIRE_OP_PUBLISH: return "Publish";
	case WIRE_OP_PUBLISH_BATCH: return "PublishBatch";
	case WIRE_OP_PUT_EVENTS: return "PutEvents";
	case WIRE_OP_DELIVER: return "Deliver";
	case WIRE_OP_ACK: return "Ack";
	case WIRE_OP_APPLY_SNAPSHOT: return "ApplySnapshot";
	case WIRE_OP_GET_STATS: return "GetStats";
	case WIRE_OP_PURGE_QUEUE: return "PurgeQueue";
	case WIRE_OP_GET_QUEUE_COUNTS: return "GetQueueCounts";
	default: return "Unknown";
	}
}

bool wire_opcode_is_local_only(uint8_t opcode)
{
	return opcode >= 0x80;
}

bool wire_opcode_is_batch(uint8_t opcode)
{
	return opcode == WIRE_OP_SEND_MESSAGE_BATCH || opcode == WIRE_OP_DELETE_MESSAGE_BATCH ||
	       opcode == WIRE_OP_CHANGE_MESSAGE_VISIBILITY_BATCH ||
	       opcode == WIRE_OP_PUBLISH_BATCH || opcode == WIRE_OP_PUT_EVENTS;
}

bool wire_opcode_is_sns(uint8_t opcode)
{
	return opcode == WIRE_OP_PUBLISH || opcode == WIRE_OP_PUBLISH_BATCH;
}

bool wire_batch_entry_id_is_valid(const uint8_t *id, size_t length)
{
	if (length == 0 || length > WIRE_BATCH_ENTRY_ID_BYTES_MAX)
		return false;
	for (size_t i = 0; i < length; i++) {
		uint8_t c = id[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (!alnum && c != '-' && c != '_')
			return false;
	}
	return true;
}
