/*
 * The topic log record codec (topic_record.h). Decoding checks every size and limit against
 * the bytes it has, so a record that passed the log's CRC but was written by other code is
 * refused whole, never half-applied; what the record carries was checked at Publish and is
 * not checked again here (the log's CRC guards it).
 */
#include "topic_record.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

#include "bb_endian.h"

static size_t attributes_bytes(const struct topic_record *r)
{
	size_t bytes = 0;
	for (uint32_t i = 0; i < r->attribute_count; i++) {
		const struct topic_attribute *a = &r->attributes[i];
		bytes += TOPIC_RECORD_ATTRIBUTE_BYTES + a->name_bytes + a->type_bytes + a->value_bytes;
	}
	return bytes;
}

size_t topic_record_bytes(const struct topic_record *r)
{
	assert(r->kind == TOPIC_RECORD_PUBLISH || r->kind == TOPIC_RECORD_DONE);
	if (r->kind == TOPIC_RECORD_DONE)
		return TOPIC_RECORD_DONE_BYTES;
	return TOPIC_RECORD_PUBLISH_BYTES + r->subject_bytes + r->group_id_bytes +
	       r->dedup_id_bytes + attributes_bytes(r) + r->message_bytes;
}

static uint8_t *put_bytes(uint8_t *at, const void *bytes, size_t count)
{
	if (count > 0)
		memcpy(at, bytes, count);
	return at + count;
}

static void encode_publish(const struct topic_record *r, uint8_t *out)
{
	out[1] = (uint8_t)r->flags;
	out[2] = (uint8_t)r->attribute_count;
	out[3] = (uint8_t)r->subject_bytes;
	out[4] = (uint8_t)r->group_id_bytes;
	out[5] = (uint8_t)r->dedup_id_bytes;
	bb_put_le64(out + 32, r->timestamp_ms);
	bb_put_le64(out + 40, r->sequence_number);
	bb_put_le32(out + 48, r->message_bytes);
	bb_put_le32(out + 52, (uint32_t)attributes_bytes(r));
	memcpy(out + 56, r->dedup_key, TOPIC_DEDUP_KEY_BYTES);
	uint8_t *at = out + TOPIC_RECORD_PUBLISH_BYTES;
	at = put_bytes(at, r->subject, r->subject_bytes);
	at = put_bytes(at, r->group_id, r->group_id_bytes);
	at = put_bytes(at, r->dedup_id, r->dedup_id_bytes);
	for (uint32_t i = 0; i < r->attribute_count; i++) {
		const struct topic_attribute *a = &r->attributes[i];
		bb_put_le16(at, (uint16_t)a->name_bytes);
		bb_put_le16(at + 2, (uint16_t)a->type_bytes);
		bb_put_le32(at + 4, a->value_bytes);
		at = put_bytes(at + TOPIC_RECORD_ATTRIBUTE_BYTES, a->name, a->name_bytes);
		at = put_bytes(at, a->type, a->type_bytes);
		at = put_bytes(at, a->value, a->value_bytes);
	}
	put_bytes(at, r->message, r->message_bytes);
}

size_t topic_record_encode(const struct topic_record *r, uint8_t *out, size_t capacity)
{
	assert(r->attribute_count <= BB_TOPIC_ATTRIBUTES_MAX);
	assert(r->subject_bytes <= BB_TOPIC_SUBJECT_BYTES_MAX &&
	       r->group_id_bytes <= BB_FIFO_ID_BYTES_MAX && r->dedup_id_bytes <= BB_FIFO_ID_BYTES_MAX);
	size_t bytes = topic_record_bytes(r);
	if (bytes > capacity)
		return 0;
	size_t fixed = r->kind == TOPIC_RECORD_DONE ? TOPIC_RECORD_DONE_BYTES
	                                            : TOPIC_RECORD_PUBLISH_BYTES;
	memset(out, 0, fixed);
	out[0] = (uint8_t)r->kind;
	bb_put_le64(out + 8, r->topic_id);
	memcpy(out + 16, r->message_id, 16);
	if (r->kind == TOPIC_RECORD_PUBLISH)
		encode_publish(r, out);
	return bytes;
}

static bool all_zero(const uint8_t *bytes, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		if (bytes[i] != 0)
			return false;
	}
	return true;
}

/* Reads the attribute block (block_bytes at p): 0, or -EBADMSG when it is inconsistent. */
static int decode_attributes(const uint8_t *p, size_t block_bytes, struct topic_record *out)
{
	size_t left = block_bytes;
	for (uint32_t i = 0; i < out->attribute_count; i++) {
		if (left < TOPIC_RECORD_ATTRIBUTE_BYTES)
			return -EBADMSG;
		struct topic_attribute *a = &out->attributes[i];
		a->name_bytes = bb_get_le16(p);
		a->type_bytes = bb_get_le16(p + 2);
		a->value_bytes = bb_get_le32(p + 4);
		bool sized = a->name_bytes >= 1 &&
		             a->name_bytes <= BB_TOPIC_ATTRIBUTE_NAME_BYTES_MAX &&
		             a->type_bytes >= 1 && a->type_bytes <= BB_TOPIC_ATTRIBUTE_TYPE_BYTES_MAX &&
		             a->value_bytes <= BB_TOPIC_MESSAGE_BYTES_MAX;
		left -= TOPIC_RECORD_ATTRIBUTE_BYTES;
		if (!sized || (size_t)a->name_bytes + a->type_bytes + a->value_bytes > left)
			return -EBADMSG;
		a->name = (const char *)p + TOPIC_RECORD_ATTRIBUTE_BYTES;
		a->type = a->name + a->name_bytes;
		a->value = (const uint8_t *)a->type + a->type_bytes;
		size_t whole = TOPIC_RECORD_ATTRIBUTE_BYTES + a->name_bytes + a->type_bytes +
		               a->value_bytes;
		left -= whole - TOPIC_RECORD_ATTRIBUTE_BYTES;
		p += whole;
	}
	return left == 0 ? 0 : -EBADMSG;
}

static int decode_publish(const uint8_t *bytes, size_t length, struct topic_record *out)
{
	if (length < TOPIC_RECORD_PUBLISH_BYTES || !all_zero(bytes + 6, 2))
		return -EBADMSG;
	out->flags = bytes[1];
	out->attribute_count = bytes[2];
	out->subject_bytes = bytes[3];
	out->group_id_bytes = bytes[4];
	out->dedup_id_bytes = bytes[5];
	out->timestamp_ms = bb_get_le64(bytes + 32);
	out->sequence_number = bb_get_le64(bytes + 40);
	out->message_bytes = bb_get_le32(bytes + 48);
	uint32_t block_bytes = bb_get_le32(bytes + 52);
	memcpy(out->dedup_key, bytes + 56, TOPIC_DEDUP_KEY_BYTES);
	bool fifo = (out->flags & TOPIC_RECORD_FLAG_FIFO) != 0;
	bool fields_ok = (out->flags & ~TOPIC_RECORD_FLAGS_ALL) == 0 &&
	                 out->attribute_count <= BB_TOPIC_ATTRIBUTES_MAX &&
	                 out->subject_bytes <= BB_TOPIC_SUBJECT_BYTES_MAX &&
	                 out->group_id_bytes <= BB_FIFO_ID_BYTES_MAX &&
	                 out->dedup_id_bytes <= BB_FIFO_ID_BYTES_MAX && out->message_bytes >= 1 &&
	                 (uint64_t)out->message_bytes + block_bytes <= BB_TOPIC_MESSAGE_BYTES_MAX;
	/* A FIFO publish has a group and a sequence number; a standard one neither, nor ids. */
	bool fifo_ok = fifo ? out->group_id_bytes >= 1 && out->sequence_number > 0
	                    : out->group_id_bytes == 0 && out->dedup_id_bytes == 0 &&
	                          out->sequence_number == 0 &&
	                          all_zero(out->dedup_key, TOPIC_DEDUP_KEY_BYTES);
	size_t variable = (size_t)out->subject_bytes + out->group_id_bytes + out->dedup_id_bytes +
	                  block_bytes + out->message_bytes;
	if (!fields_ok || !fifo_ok || length != TOPIC_RECORD_PUBLISH_BYTES + variable)
		return -EBADMSG;
	const uint8_t *p = bytes + TOPIC_RECORD_PUBLISH_BYTES;
	out->subject = out->subject_bytes > 0 ? (const char *)p : NULL;
	p += out->subject_bytes;
	out->group_id = out->group_id_bytes > 0 ? (const char *)p : NULL;
	p += out->group_id_bytes;
	out->dedup_id = out->dedup_id_bytes > 0 ? (const char *)p : NULL;
	p += out->dedup_id_bytes;
	if (decode_attributes(p, block_bytes, out) != 0)
		return -EBADMSG;
	out->message = p + block_bytes;
	return 0;
}

int topic_record_decode(const uint8_t *bytes, size_t length, struct topic_record *out)
{
	assert(bytes != NULL || length == 0);
	memset(out, 0, sizeof(*out));
	if (length < TOPIC_RECORD_DONE_BYTES)
		return -EBADMSG;
	out->kind = (enum topic_record_kind)bytes[0];
	out->topic_id = bb_get_le64(bytes + 8);
	memcpy(out->message_id, bytes + 16, 16);
	if (out->topic_id == 0)
		return -EBADMSG;
	if (bytes[0] == TOPIC_RECORD_DONE) {
		bool ok = length == TOPIC_RECORD_DONE_BYTES && all_zero(bytes + 1, 7);
		return ok ? 0 : -EBADMSG;
	}
	if (bytes[0] != TOPIC_RECORD_PUBLISH)
		return -EBADMSG;
	int rc = decode_publish(bytes, length, out);
	assert(rc == 0 || rc == -EBADMSG);
	return rc;
}
