/*
 * The SNS topic engine's log records: what a Publish writes into its topic's owner log, and
 * what recovery reads back to match and render its deliveries again. One codec for both
 * directions, little-endian, with asserted sizes (STYLE.md, habit 6). The log frames and
 * checksums each record; this is its payload.
 *
 * A PUBLISH is TOPIC_RECORD_PUBLISH_BYTES of fixed fields, then its variable parts in this
 * order: subject, group id, deduplication id, attributes, message.
 *   0  u8  kind (1)          1 u8 flags (TOPIC_RECORD_FLAG_*)
 *   2  u8  attribute count   3 u8 subject bytes   4 u8 group id bytes   5 u8 dedup id bytes
 *   6  u8[2] zero
 *   8  u64 topic id          16 u8[16] message id
 *   32 u64 timestamp ms      40 u64 sequence number (FIFO, else 0)
 *   48 u32 message bytes     52 u32 attribute block bytes
 *   56 u8[32] deduplication key (SHA-256; FIFO, else zero)
 * Each attribute in the block: u16 name bytes, u16 type bytes, u32 value bytes, then the
 * name, the DataType and the value (Binary: the raw bytes).
 * A DONE is TOPIC_RECORD_DONE_BYTES: kind (2), u8[7] zero, u64 topic id, u8[16] message id.
 */
#ifndef BB_TOPIC_RECORD_H
#define BB_TOPIC_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bb_limits.h"

#define TOPIC_RECORD_PUBLISH_BYTES   88u
#define TOPIC_RECORD_DONE_BYTES      32u
#define TOPIC_RECORD_ATTRIBUTE_BYTES 8u /* the fixed part of one attribute */
#define TOPIC_DEDUP_KEY_BYTES        32u

/* The message is a JSON object of per-protocol messages (MessageStructure=json). */
#define TOPIC_RECORD_FLAG_JSON      0x01u
#define TOPIC_RECORD_FLAG_FIFO      0x02u /* sequence number, group id and dedup key are set */
#define TOPIC_RECORD_FLAGS_ALL      0x03u

/* The largest PUBLISH: every variable part at its limit. */
#define TOPIC_RECORD_BYTES_MAX                                                                     \
	(TOPIC_RECORD_PUBLISH_BYTES + BB_TOPIC_SUBJECT_BYTES_MAX + 2 * BB_FIFO_ID_BYTES_MAX +      \
	 BB_TOPIC_ATTRIBUTES_MAX * TOPIC_RECORD_ATTRIBUTE_BYTES + BB_TOPIC_MESSAGE_BYTES_MAX)
_Static_assert(BB_FIFO_ID_BYTES_MAX <= 255, "group and dedup id lengths fit their byte");
_Static_assert(BB_TOPIC_ATTRIBUTE_NAME_BYTES_MAX <= 65535 &&
                   BB_TOPIC_ATTRIBUTE_TYPE_BYTES_MAX <= 65535,
               "attribute name and type lengths fit their u16");

/* The log's record type for topic records: resource kind topic (2) in the high byte. */
#define TOPIC_RECORD_LOG_TYPE 0x0200u

enum topic_record_kind {
	/* An accepted Publish: everything matching and rendering need after a crash. */
	TOPIC_RECORD_PUBLISH = 1,
	/* Every delivery of that publish is durable where it went: recovery skips it. */
	TOPIC_RECORD_DONE = 2,
};

/* One message attribute (pointers into the request or the record; not NUL-terminated). */
struct topic_attribute {
	const char *name;
	uint32_t name_bytes;
	const char *type; /* String, Number, Binary or String.Array, each with an optional .label */
	uint32_t type_bytes;
	const uint8_t *value;
	uint32_t value_bytes;
};

struct topic_record {
	enum topic_record_kind kind;
	uint32_t flags;
	uint64_t topic_id;
	uint8_t message_id[16];
	/* PUBLISH only from here. */
	uint64_t timestamp_ms;
	uint64_t sequence_number;
	const char *subject; /* subject_bytes 0: no Subject */
	uint32_t subject_bytes;
	const char *group_id;
	uint32_t group_id_bytes;
	const char *dedup_id; /* the explicit MessageDeduplicationId; 0 bytes: content-based */
	uint32_t dedup_id_bytes;
	uint8_t dedup_key[TOPIC_DEDUP_KEY_BYTES];
	uint32_t attribute_count;
	struct topic_attribute attributes[BB_TOPIC_ATTRIBUTES_MAX];
	const uint8_t *message;
	uint32_t message_bytes;
};

/* Bytes topic_record_encode writes for this record. */
size_t topic_record_bytes(const struct topic_record *record);
/* Writes the record into out (capacity bytes); returns its size, 0 when it does not fit. */
size_t topic_record_encode(const struct topic_record *record, uint8_t *out, size_t capacity);
/*
 * Reads a record; its pointers point into bytes. 0, or -EBADMSG when the bytes are not a
 * record of a known kind with consistent sizes and limits.
 */
__attribute__((warn_unused_result)) int topic_record_decode(const uint8_t *bytes, size_t length,
                                                            struct topic_record *out);

#endif
