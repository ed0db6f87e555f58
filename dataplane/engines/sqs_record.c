/*
 * The SQS log record codec (sqs_record.h). Decoding checks every field it can, so a record
 * that passed the log's CRC but was written by other code is refused, never half-applied.
 */
#include "sqs_record.h"

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "bb_endian.h"

/* Writes a SEND's attribute fields and block at out; returns their bytes (0: none). */
static size_t encode_attributes(const struct sqs_record *r, uint8_t *out)
{
	if (r->attributes_bytes == 0)
		return 0;
	bb_put_le32(out, r->attributes_bytes);
	bb_put_le32(out + 4, 0);
	memcpy(out + SQS_RECORD_ATTRIBUTES_BYTES, r->attributes, r->attributes_bytes);
	return SQS_RECORD_ATTRIBUTES_BYTES + r->attributes_bytes;
}

/* Writes an ATTEMPT's fields after its header; returns their bytes. */
static size_t encode_attempt(const struct sqs_record *r, uint8_t *out)
{
	assert(r->attempt_count >= 1 && r->attempt_count <= BB_RECEIVE_COUNT_MAX);
	memcpy(out, r->attempt_key, 32);
	bb_put_le32(out + 32, r->attempt_count);
	bb_put_le32(out + 36, 0);
	for (uint32_t i = 0; i < r->attempt_count; i++) {
		const struct sqs_record_attempt_message *a = &r->attempt_messages[i];
		uint8_t *at = out + SQS_RECORD_ATTEMPT_BYTES + i * SQS_RECORD_ATTEMPT_MESSAGE_BYTES;
		bb_put_le32(at, a->index);
		bb_put_le32(at + 4, a->generation);
		bb_put_le32(at + 8, a->receive_count);
		bb_put_le32(at + 12, 0);
		bb_put_le64(at + 16, a->deadline_ms);
	}
	return SQS_RECORD_ATTEMPT_BYTES + r->attempt_count * SQS_RECORD_ATTEMPT_MESSAGE_BYTES;
}

static size_t attempt_bytes(const struct sqs_record *r)
{
	return SQS_RECORD_ATTEMPT_BYTES + r->attempt_count * SQS_RECORD_ATTEMPT_MESSAGE_BYTES;
}

size_t sqs_record_encode(const struct sqs_record *r, uint8_t *out, size_t capacity)
{
	assert(r->kind >= SQS_RECORD_SEND && r->kind <= SQS_RECORD_ATTEMPT);
	if (r->kind == SQS_RECORD_ATTEMPT) {
		size_t bytes = SQS_RECORD_HEADER_BYTES + attempt_bytes(r);
		if (bytes > capacity)
			return 0;
		memset(out, 0, SQS_RECORD_HEADER_BYTES);
		out[0] = (uint8_t)r->kind;
		bb_put_le64(out + 8, r->queue_id);
		bb_put_le64(out + 32, r->sent_ms);
		return SQS_RECORD_HEADER_BYTES + encode_attempt(r, out + SQS_RECORD_HEADER_BYTES);
	}
	assert(r->kind == SQS_RECORD_SEND ||
	       (r->body_bytes == 0 && r->group_id_bytes == 0 && r->attributes_bytes == 0));
	assert(r->group_id_bytes <= BB_FIFO_ID_BYTES_MAX);
	size_t fifo_bytes = r->group_id_bytes > 0 ? SQS_RECORD_FIFO_BYTES + r->group_id_bytes : 0;
	size_t attributes_bytes =
	    r->attributes_bytes > 0 ? SQS_RECORD_ATTRIBUTES_BYTES + r->attributes_bytes : 0;
	size_t bytes = SQS_RECORD_HEADER_BYTES + fifo_bytes + attributes_bytes + r->body_bytes;
	if (bytes > capacity)
		return 0;
	memset(out, 0, SQS_RECORD_HEADER_BYTES + fifo_bytes);
	out[0] = (uint8_t)r->kind;
	if (attributes_bytes > 0)
		out[1] = SQS_RECORD_FLAG_ATTRIBUTES;
	if (fifo_bytes > 0) {
		uint8_t *f = out + SQS_RECORD_HEADER_BYTES;
		out[1] |= SQS_RECORD_FLAG_FIFO;
		bb_put_le64(f, r->sequence_number);
		if (r->has_dedup_key)
			memcpy(f + 8, r->dedup_key, 32);
		f[40] = (uint8_t)r->group_id_bytes;
		f[41] = r->has_dedup_key ? 1 : 0;
		memcpy(f + SQS_RECORD_FIFO_BYTES, r->group_id, r->group_id_bytes);
	}
	bb_put_le64(out + 8, r->queue_id);
	memcpy(out + 16, r->message_id, 16);
	bb_put_le64(out + 32, r->sent_ms);
	bb_put_le64(out + 40, r->first_receive_ms);
	bb_put_le64(out + 48, r->deadline_ms);
	bb_put_le32(out + 56, r->receive_count);
	bb_put_le32(out + 60, r->body_bytes);
	memcpy(out + 64, r->md5, 16);
	bb_put_le32(out + 80, r->message_index);
	bb_put_le32(out + 84, r->generation);
	bb_put_le64(out + 88, r->receipt_nonce);
	encode_attributes(r, out + SQS_RECORD_HEADER_BYTES + fifo_bytes);
	if (r->body_bytes > 0)
		memcpy(out + SQS_RECORD_HEADER_BYTES + fifo_bytes + attributes_bytes, r->body,
		       r->body_bytes);
	return bytes;
}

static bool zero(const uint8_t *bytes, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		if (bytes[i] != 0)
			return false;
	}
	return true;
}

/*
 * Reads the FIFO fields of a SEND that has them: returns their size with the group id, 0
 * when they are not consistent.
 */
static size_t decode_fifo(const uint8_t *bytes, size_t length, struct sqs_record *out)
{
	if (length < SQS_RECORD_HEADER_BYTES + SQS_RECORD_FIFO_BYTES)
		return 0;
	const uint8_t *f = bytes + SQS_RECORD_HEADER_BYTES;
	uint32_t group_bytes = f[40];
	bool sized = group_bytes > 0 && group_bytes <= BB_FIFO_ID_BYTES_MAX &&
	             length >= SQS_RECORD_HEADER_BYTES + SQS_RECORD_FIFO_BYTES + group_bytes;
	if (!sized || f[41] > 1 || !zero(f + 42, 6))
		return 0;
	out->sequence_number = bb_get_le64(f);
	out->has_dedup_key = f[41] == 1;
	memcpy(out->dedup_key, f + 8, 32);
	out->group_id = (const char *)f + SQS_RECORD_FIFO_BYTES;
	out->group_id_bytes = group_bytes;
	return SQS_RECORD_FIFO_BYTES + group_bytes;
}

/*
 * Reads the attribute fields and block of a SEND that has them, at offset `at`: returns their
 * size with the block, 0 when they are not consistent (a block sqs_attrs_valid refuses, or
 * larger than a message may store with its body).
 */
static size_t decode_attributes(const uint8_t *bytes, size_t length, size_t at,
                                struct sqs_record *out)
{
	if (length < at + SQS_RECORD_ATTRIBUTES_BYTES)
		return 0;
	uint32_t block_bytes = bb_get_le32(bytes + at);
	const uint8_t *block = bytes + at + SQS_RECORD_ATTRIBUTES_BYTES;
	bool sized = block_bytes > 0 && block_bytes <= SQS_STORED_BYTES_MAX &&
	             block_bytes <= length - at - SQS_RECORD_ATTRIBUTES_BYTES;
	if (!sized || bb_get_le32(bytes + at + 4) != 0 || !sqs_attrs_valid(block, block_bytes))
		return 0;
	out->attributes = block;
	out->attributes_bytes = block_bytes;
	return SQS_RECORD_ATTRIBUTES_BYTES + block_bytes;
}

/*
 * Reads an ATTEMPT: 0, or -EBADMSG when its fields are not consistent (a header field an
 * ATTEMPT does not have set, a count outside 1-10, a size that is not its count's).
 */
static int decode_attempt(const uint8_t *bytes, size_t length, struct sqs_record *out)
{
	const uint8_t *f = bytes + SQS_RECORD_HEADER_BYTES;
	if (length < SQS_RECORD_HEADER_BYTES + SQS_RECORD_ATTEMPT_BYTES || !zero(bytes + 16, 16) ||
	    !zero(bytes + 40, SQS_RECORD_HEADER_BYTES - 40))
		return -EBADMSG;
	uint32_t count = bb_get_le32(f + 32);
	if (count < 1 || count > BB_RECEIVE_COUNT_MAX || bb_get_le32(f + 36) != 0 ||
	    length != SQS_RECORD_HEADER_BYTES + SQS_RECORD_ATTEMPT_BYTES +
	                  (size_t)count * SQS_RECORD_ATTEMPT_MESSAGE_BYTES)
		return -EBADMSG;
	*out = (struct sqs_record){.kind = SQS_RECORD_ATTEMPT,
	                           .queue_id = bb_get_le64(bytes + 8),
	                           .sent_ms = bb_get_le64(bytes + 32),
	                           .attempt_count = count};
	memcpy(out->attempt_key, f, 32);
	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *at = f + SQS_RECORD_ATTEMPT_BYTES + i * SQS_RECORD_ATTEMPT_MESSAGE_BYTES;
		if (bb_get_le32(at + 12) != 0)
			return -EBADMSG;
		out->attempt_messages[i] = (struct sqs_record_attempt_message){
		    bb_get_le32(at), bb_get_le32(at + 4), bb_get_le32(at + 8), bb_get_le64(at + 16)};
	}
	return out->queue_id == 0 ? -EBADMSG : 0;
}

int sqs_record_decode(const uint8_t *bytes, size_t length, struct sqs_record *out)
{
	if (length < SQS_RECORD_HEADER_BYTES || !zero(bytes + 2, 6))
		return -EBADMSG;
	uint8_t kind = bytes[0];
	uint8_t flags = bytes[1];
	uint8_t known = SQS_RECORD_FLAG_FIFO | SQS_RECORD_FLAG_ATTRIBUTES;
	if (kind == SQS_RECORD_ATTEMPT)
		return flags == 0 ? decode_attempt(bytes, length, out) : -EBADMSG;
	if (kind < SQS_RECORD_SEND || kind > SQS_RECORD_PURGE)
		return -EBADMSG;
	if ((flags & ~known) != 0 || (flags != 0 && kind != SQS_RECORD_SEND))
		return -EBADMSG;
	*out = (struct sqs_record){
	    .kind = (enum sqs_record_kind)kind,
	    .queue_id = bb_get_le64(bytes + 8),
	    .sent_ms = bb_get_le64(bytes + 32),
	    .first_receive_ms = bb_get_le64(bytes + 40),
	    .deadline_ms = bb_get_le64(bytes + 48),
	    .receive_count = bb_get_le32(bytes + 56),
	    .body_bytes = bb_get_le32(bytes + 60),
	    .message_index = bb_get_le32(bytes + 80),
	    .generation = bb_get_le32(bytes + 84),
	    .receipt_nonce = bb_get_le64(bytes + 88),
	};
	memcpy(out->message_id, bytes + 16, 16);
	memcpy(out->md5, bytes + 64, 16);
	size_t fifo_bytes = 0;
	if (flags & SQS_RECORD_FLAG_FIFO) {
		fifo_bytes = decode_fifo(bytes, length, out);
		if (fifo_bytes == 0)
			return -EBADMSG;
	}
	size_t fixed = SQS_RECORD_HEADER_BYTES + fifo_bytes;
	if (flags & SQS_RECORD_FLAG_ATTRIBUTES) {
		size_t attributes_bytes = decode_attributes(bytes, length, fixed, out);
		if (attributes_bytes == 0)
			return -EBADMSG;
		fixed += attributes_bytes;
	}
	bool sized = kind == SQS_RECORD_SEND
	                 ? out->body_bytes > 0 && out->body_bytes <= BB_MESSAGE_BODY_BYTES_MAX &&
	                       out->body_bytes <= SQS_STORED_BYTES_MAX - out->attributes_bytes &&
	                       length == fixed + out->body_bytes
	                 : out->body_bytes == 0 && length == SQS_RECORD_HEADER_BYTES;
	if (!sized || out->queue_id == 0)
		return -EBADMSG;
	out->body = kind == SQS_RECORD_SEND ? bytes + fixed : NULL;
	return 0;
}
