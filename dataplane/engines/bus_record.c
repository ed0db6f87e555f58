/*
 * The bus log record codec (bus_record.h). Decoding checks every field it can, so bytes
 * that passed the log's CRC but are not a bus record are refused, never half-applied.
 */
#include "bus_record.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

#include "bb_endian.h"

/* Written only when it says something, so every record has one encoding. */
static bool has_origin(const struct bus_record *r)
{
	return r->rule_id != 0 || r->hops != 0;
}

size_t bus_record_encode(const struct bus_record *r, uint8_t *out, size_t capacity)
{
	assert(r->kind == BUS_RECORD_PUT || r->kind == BUS_RECORD_DONE);
	assert(r->kind == BUS_RECORD_PUT ? r->event_bytes > 0 && r->event_bytes <= BUS_EVENT_BYTES_MAX
	                                 : r->event_bytes == 0 && r->replay_name_bytes == 0);
	assert(r->replay_name_bytes <= BB_BUS_REPLAY_NAME_BYTES_MAX && r->bus_id != 0);
	assert(r->hops <= BUS_HOPS_MAX && (r->kind == BUS_RECORD_PUT || !has_origin(r)));
	size_t origin_bytes = has_origin(r) ? BUS_RECORD_ORIGIN_BYTES : 0;
	size_t bytes = BUS_RECORD_HEADER_BYTES + (size_t)r->event_bytes + r->replay_name_bytes +
	               origin_bytes;
	if (bytes > capacity)
		return 0;
	out[0] = (uint8_t)r->kind;
	out[1] = (uint8_t)((r->replay_name_bytes > 0 ? BUS_RECORD_FLAG_REPLAY : 0) |
	                   (origin_bytes > 0 ? BUS_RECORD_FLAG_ORIGIN : 0));
	bb_put_le16(out + 2, (uint16_t)r->replay_name_bytes);
	bb_put_le32(out + 4, r->event_bytes);
	bb_put_le64(out + 8, r->bus_id);
	memcpy(out + 16, r->event_id, 16);
	bb_put_le64(out + 32, r->ingestion_ms);
	if (r->event_bytes > 0)
		memcpy(out + BUS_RECORD_HEADER_BYTES, r->event, r->event_bytes);
	if (r->replay_name_bytes > 0)
		memcpy(out + BUS_RECORD_HEADER_BYTES + r->event_bytes, r->replay_name,
		       r->replay_name_bytes);
	if (origin_bytes > 0) {
		uint8_t *origin = out + bytes - BUS_RECORD_ORIGIN_BYTES;
		bb_put_le64(origin, r->rule_id);
		bb_put_le32(origin + 8, r->hops);
		bb_put_le32(origin + 12, 0);
	}
	return bytes;
}

/* The sizes and flags a record of this kind may have. */
static bool consistent(uint8_t kind, uint8_t flags, uint32_t replay, uint32_t event)
{
	if (kind != BUS_RECORD_PUT && kind != BUS_RECORD_DONE)
		return false;
	if ((flags & ~(BUS_RECORD_FLAG_REPLAY | BUS_RECORD_FLAG_ORIGIN)) != 0 ||
	    ((flags & BUS_RECORD_FLAG_REPLAY) != 0) != (replay > 0))
		return false;
	if (kind == BUS_RECORD_DONE && (flags & BUS_RECORD_FLAG_ORIGIN) != 0)
		return false;
	if (replay > BB_BUS_REPLAY_NAME_BYTES_MAX)
		return false;
	if (kind == BUS_RECORD_DONE)
		return event == 0 && replay == 0;
	return event > 0 && event <= BUS_EVENT_BYTES_MAX;
}

/* The origin tail: canonical (not all zero), hops within the limit, the rest zero. */
static int decode_origin(const uint8_t *origin, struct bus_record *out)
{
	out->rule_id = bb_get_le64(origin);
	out->hops = bb_get_le32(origin + 8);
	if (out->hops > BUS_HOPS_MAX || bb_get_le32(origin + 12) != 0 || !has_origin(out))
		return -EBADMSG;
	return 0;
}

int bus_record_decode(const uint8_t *bytes, size_t length, struct bus_record *out)
{
	if (length < BUS_RECORD_HEADER_BYTES)
		return -EBADMSG;
	uint8_t kind = bytes[0];
	uint8_t flags = bytes[1];
	uint32_t replay = bb_get_le16(bytes + 2);
	uint32_t event = bb_get_le32(bytes + 4);
	size_t origin_bytes = (flags & BUS_RECORD_FLAG_ORIGIN) != 0 ? BUS_RECORD_ORIGIN_BYTES : 0;
	if (!consistent(kind, flags, replay, event) ||
	    length != BUS_RECORD_HEADER_BYTES + (size_t)event + replay + origin_bytes)
		return -EBADMSG;
	const uint8_t *body = bytes + BUS_RECORD_HEADER_BYTES;
	/* An event is a JSON object bus_event_write made: it opens and closes as one. */
	if (event > 0 && (body[0] != '{' || body[event - 1] != '}'))
		return -EBADMSG;
	*out = (struct bus_record){
	    .kind = (enum bus_record_kind)kind,
	    .bus_id = bb_get_le64(bytes + 8),
	    .ingestion_ms = bb_get_le64(bytes + 32),
	    .event = event > 0 ? (const char *)body : NULL,
	    .event_bytes = event,
	    .replay_name = replay > 0 ? (const char *)body + event : NULL,
	    .replay_name_bytes = replay,
	};
	memcpy(out->event_id, bytes + 16, 16);
	if (out->bus_id == 0)
		return -EBADMSG;
	return origin_bytes > 0 ? decode_origin(bytes + length - origin_bytes, out) : 0;
}
