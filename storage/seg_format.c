/* The record frame (see seg_int.h): explicit little-endian fields, CRC32C over all but the crc. */
#include <stdio.h>
#include <string.h>

#include "bb_crc32c.h"
#include "bb_endian.h"
#include "seg_int.h"

_Static_assert(SEG_RECORD_HEADER_BYTES == 32, "frame header layout");

static uint32_t frame_crc(const uint8_t *frame, uint32_t payload_bytes)
{
	return bb_crc32c(0, frame + 4, SEG_RECORD_HEADER_BYTES - 4 + payload_bytes);
}

/* A gap too large for a u32 is stored as GAP_UNKNOWN and decodes to 0 (no
 * watermark): saturating it instead would decode to a higher watermark than
 * the true one and vouch for records that were never acknowledged. */
#define GAP_UNKNOWN UINT32_MAX

static uint32_t sequence_gap(uint64_t sequence, uint64_t earlier)
{
	return sequence - earlier >= GAP_UNKNOWN ? GAP_UNKNOWN : (uint32_t)(sequence - earlier);
}

void seg_frame_encode(const struct seg_header *h, const void *payload, uint8_t *out)
{
	bb_put_le16(out + 4, SEG_RECORD_MAGIC);
	bb_put_le16(out + 6, h->type);
	bb_put_le32(out + 8, h->payload_bytes);
	bb_put_le32(out + 12, h->segment_id);
	bb_put_le64(out + 16, h->sequence);
	bb_put_le32(out + 24, sequence_gap(h->sequence, h->durable_sequence));
	bb_put_le32(out + 28, sequence_gap(h->sequence, h->segment_first_sequence));
	memcpy(out + SEG_RECORD_HEADER_BYTES, payload, h->payload_bytes);
	bb_put_le32(out, frame_crc(out, h->payload_bytes));
}

static bool all_zero(const uint8_t *bytes, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		if (bytes[i] != 0)
			return false;
	}
	return true;
}

static uint64_t minus_gap(uint64_t sequence, uint32_t gap)
{
	return gap == GAP_UNKNOWN || gap > sequence ? 0 : sequence - gap;
}

enum seg_frame_check seg_frame_decode(const uint8_t *bytes, size_t available, struct seg_header *h)
{
	if (available < SEG_RECORD_HEADER_BYTES)
		return all_zero(bytes, available) ? SEG_FRAME_EMPTY : SEG_FRAME_SHORT;
	/* The magic first: a frame is the common case, an empty header the rare one. */
	bool magic = bb_get_le16(bytes + 4) == SEG_RECORD_MAGIC;
	if (!magic && all_zero(bytes, SEG_RECORD_HEADER_BYTES))
		return SEG_FRAME_EMPTY;
	uint32_t payload_bytes = bb_get_le32(bytes + 8);
	if (!magic || payload_bytes > SEG_PAYLOAD_BYTES_MAX)
		return SEG_FRAME_BAD;
	if (available - SEG_RECORD_HEADER_BYTES < payload_bytes)
		return SEG_FRAME_SHORT;
	if (bb_get_le32(bytes) != frame_crc(bytes, payload_bytes))
		return SEG_FRAME_BAD;
	h->payload_bytes = payload_bytes;
	h->type = bb_get_le16(bytes + 6);
	h->segment_id = bb_get_le32(bytes + 12);
	h->sequence = bb_get_le64(bytes + 16);
	h->durable_sequence = minus_gap(h->sequence, bb_get_le32(bytes + 24));
	h->segment_first_sequence = minus_gap(h->sequence, bb_get_le32(bytes + 28));
	return SEG_FRAME_OK;
}

void seg_segment_path(const char *dir, uint32_t segment_id, char *out, size_t out_bytes)
{
	snprintf(out, out_bytes, "%s/%010u" SEG_FILE_SUFFIX, dir, segment_id);
}

size_t seg_checkpoint_encode(const struct seg_checkpoint *c, uint8_t *out)
{
	bb_put_le32(out, SEG_CHECKPOINT_MAGIC);
	bb_put_le32(out + 8, 1); /* format version */
	bb_put_le32(out + 12, c->count);
	bb_put_le64(out + 16, c->position);
	bb_put_le64(out + 24, c->sequence);
	bb_put_le32(out + 32, c->first_id);
	bb_put_le32(out + 36, 0);
	for (uint32_t i = 0; i < c->count; i++)
		bb_put_le32(out + SEG_CHECKPOINT_HEADER_BYTES + 4 * i, c->live[i]);
	size_t length = SEG_CHECKPOINT_HEADER_BYTES + 4 * (size_t)c->count;
	bb_put_le32(out + 4, bb_crc32c(0, out + 8, length - 8));
	return length;
}

bool seg_checkpoint_decode(const uint8_t *bytes, size_t length, struct seg_checkpoint *out)
{
	if (length < SEG_CHECKPOINT_HEADER_BYTES || bb_get_le32(bytes) != SEG_CHECKPOINT_MAGIC ||
	    bb_get_le32(bytes + 8) != 1 || bb_get_le32(bytes + 36) != 0)
		return false; /* the reserved word is 0 in version 1 */
	uint32_t count = bb_get_le32(bytes + 12);
	if (count > SEG_SEGMENTS_MAX || length != SEG_CHECKPOINT_HEADER_BYTES + 4 * (size_t)count ||
	    bb_get_le32(bytes + 4) != bb_crc32c(0, bytes + 8, length - 8))
		return false;
	out->count = count;
	out->position = bb_get_le64(bytes + 16);
	out->sequence = bb_get_le64(bytes + 24);
	out->first_id = bb_get_le32(bytes + 32);
	for (uint32_t i = 0; i < count; i++)
		out->live[i] = bb_get_le32(bytes + SEG_CHECKPOINT_HEADER_BYTES + 4 * i);
	return true;
}
