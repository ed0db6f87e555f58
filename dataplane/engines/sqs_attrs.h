/*
 * An SQS message's attributes as the engine keeps them: one encoded block, stored in front of
 * the body and written in the message's SEND record. The block is made of wire fields
 * (common/wire.h), so a receive copies the selected part of it into its reply as it is:
 *   [MESSAGE_DEDUPLICATION_ID]           a FIFO message's, explicit or content-based (the
 *                                        body's SHA-256 in hex), which a receive returns
 *   [AWS_TRACE_HEADER]                   the AWSTraceHeader system attribute, when given
 *   [DEAD_LETTER_QUEUE_SOURCE_ARN]       DeadLetterQueueSourceArn: the queue a RedrivePolicy
 *                                        moved the message from (busbard's moves only)
 *   then per attribute, sorted by name (bytewise, as AWS sorts them for the MD5):
 *   ATTRIBUTE_BEGIN (empty), ATTRIBUTE_NAME, ATTRIBUTE_DATA_TYPE,
 *   ATTRIBUTE_STRING_VALUE or ATTRIBUTE_BINARY_VALUE
 * Names are distinct and at most WIRE_ATTRIBUTES_MAX; no field is empty.
 */
#ifndef BB_SQS_ATTRS_H
#define BB_SQS_ATTRS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bb_limits.h"
#include "wire.h"

/* One message attribute (bytes not NUL-terminated). */
struct sqs_attr {
	const uint8_t *name;
	uint32_t name_bytes;
	const uint8_t *data_type;
	uint32_t data_type_bytes;
	const uint8_t *value;
	uint32_t value_bytes;
	bool binary; /* a BinaryValue (transport type 2 in the MD5), else a StringValue */
};

/* What a block adds to its attributes' own bytes: four field headers per attribute, the
 * trace header's field, the source ARN's and the deduplication id's. */
#define SQS_ATTRS_FRAMING_BYTES_MAX                                                                \
	(WIRE_ATTRIBUTES_MAX * 4u * WIRE_FIELD_HEADER_BYTES + WIRE_FIELD_HEADER_BYTES +            \
	 WIRE_TRACE_HEADER_BYTES_MAX + WIRE_FIELD_HEADER_BYTES + WIRE_DLQ_SOURCE_ARN_BYTES_MAX +   \
	 WIRE_FIELD_HEADER_BYTES + BB_FIFO_ID_BYTES_MAX)
/* A message's stored bytes (block and body) at most: AWS counts the attributes' names, types
 * and values toward MaximumMessageSize, so together they are at most a body's maximum. */
#define SQS_STORED_BYTES_MAX (BB_MESSAGE_BODY_BYTES_MAX + SQS_ATTRS_FRAMING_BYTES_MAX)

/* The MessageAttributeNames of a receive: a name, "All", ".*" or "prefix.*" each. */
struct sqs_attr_names {
	uint32_t count; /* at most WIRE_MESSAGE_ATTRIBUTE_NAMES_MAX */
	const uint8_t *names[WIRE_MESSAGE_ATTRIBUTE_NAMES_MAX];
	uint32_t bytes[WIRE_MESSAGE_ATTRIBUTE_NAMES_MAX];
};

/* The bytes of the block of these attributes and a trace header of trace_bytes (0: none). */
size_t sqs_attrs_encoded_bytes(const struct sqs_attr *attrs, uint32_t count,
                               uint32_t trace_bytes);
/*
 * Writes the block (attributes sorted by name; names distinct, count at most
 * WIRE_ATTRIBUTES_MAX) into out; returns its bytes, 0 when it does not fit capacity.
 */
size_t sqs_attrs_encode(const struct sqs_attr *attrs, uint32_t count, const uint8_t *trace,
                        uint32_t trace_bytes, uint8_t *out, size_t capacity);

/*
 * Puts a FIFO message's deduplication id (1-BB_FIFO_ID_BYTES_MAX bytes) in front of a valid
 * block of bytes that has none; returns the block's new bytes, 0 when it does not fit
 * capacity.
 */
size_t sqs_attrs_add_dedup_id(uint8_t *block, size_t bytes, size_t capacity, const uint8_t *id,
                              uint32_t id_bytes);
/*
 * Puts a moved message's DeadLetterQueueSourceArn (1-WIRE_DLQ_SOURCE_ARN_BYTES_MAX bytes)
 * into a valid block that has neither it nor a deduplication id, after its trace header;
 * returns the block's new bytes, 0 when it does not fit capacity.
 */
size_t sqs_attrs_add_source_arn(uint8_t *block, size_t bytes, size_t capacity,
                                const uint8_t *arn, uint32_t arn_bytes);
/* Takes a valid block's DeadLetterQueueSourceArn out, if it has one (a message moved again
 * gets its new source's): returns the block's new bytes. */
size_t sqs_attrs_drop_source_arn(uint8_t *block, size_t bytes);
/*
 * Where a valid block's send fields begin: past its dedup id, which a SendMessage carries as
 * a field of its own (a redrive's delivery sends the rest as they are, dp_redrive.c).
 */
size_t sqs_attrs_send_fields_offset(const uint8_t *block, size_t bytes);

/* True when bytes are a block as this header describes (what a record decoder accepts). */
bool sqs_attrs_valid(const uint8_t *block, size_t bytes);

/* Walks a valid block's attributes in order. */
struct sqs_attrs_reader {
	const uint8_t *next;
	size_t bytes_left;
};
void sqs_attrs_reader_init(struct sqs_attrs_reader *reader, const uint8_t *block, size_t bytes);
/* True with the next attribute in out; false at the end. */
bool sqs_attrs_next(struct sqs_attrs_reader *reader, struct sqs_attr *out);

/* The attributes' size as AWS counts it toward MaximumMessageSize (names, types, values). */
uint32_t sqs_attrs_size_bytes(const uint8_t *block, size_t bytes);
/* True when the block holds message attributes (not only a trace header). */
bool sqs_attrs_has_attributes(const uint8_t *block, size_t bytes);

/* True when a receive asking for names takes the attribute of this name. */
bool sqs_attr_selected(const struct sqs_attr_names *names, const uint8_t *name,
                       uint32_t name_bytes);
/*
 * Keeps in place what a receive asking for names returns of a valid block: the trace header,
 * the source ARN and the deduplication id (system attributes, sent as SentTimestamp is) and
 * the selected attributes. Returns the bytes kept, which stay a valid block.
 */
size_t sqs_attrs_select(uint8_t *block, size_t bytes, const struct sqs_attr_names *names);

#endif
