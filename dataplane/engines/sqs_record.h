/*
 * The SQS engine's log records: what a queue's operations write into its owner's segment
 * log, and what recovery reads back. One codec for both directions, little-endian, with
 * asserted sizes (STYLE.md, habit 6). The log frames and checksums each record; this is
 * its payload.
 *
 * Every record is SQS_RECORD_HEADER_BYTES of fixed fields; a SEND is followed by its body:
 *   0  u8  kind (enum sqs_record_kind)     1 u8[7] zero
 *   8  u64 queue id                        16 u8[16] message id
 *   32 u64 sent ms                         40 u64 first receive ms (0: never)
 *   48 u64 visibility deadline ms (0: visible)
 *   56 u32 receive count                   60 u32 body bytes (SEND only, else 0)
 *   64 u8[16] MD5 of the body (SEND only)
 *   80 u32 the message's engine slot       84 u32 the slot's generation
 *   88 u64 receipt nonce of its last receive (0: none)
 * (slot, generation and nonce are what a receipt handle names: recovery gives them back,
 * so a handle given before a restart still deletes the message after it)
 * A SEND whose receive count is 0 and deadline is set is a delayed message (DelaySeconds):
 * it becomes visible at the deadline.
 * A SEND of a FIFO queue has flag SQS_RECORD_FLAG_FIFO in byte 1 and, between the header
 * and the body, SQS_RECORD_FIFO_BYTES of FIFO fields and then its group id:
 *   96 u64 sequence number                 104 u8[32] deduplication key (SHA-256)
 *   136 u8 group id bytes (1-128)          137 u8 1 when the key is set, else 0
 *   138 u8[6] zero                         144 group id
 * A SEND of a message with attributes (or an AWSTraceHeader) has flag
 * SQS_RECORD_FLAG_ATTRIBUTES in byte 1 and, after the FIFO fields if any and right before the
 * body, SQS_RECORD_ATTRIBUTES_BYTES of fields and then the attribute block (sqs_attrs.h):
 *   u32 block bytes (1 or more)            u32 zero
 * A record without the flag is a message without attributes, as every record written before
 * the flag existed: those replay as they did.
 * An ATTEMPT (a FIFO receive with a ReceiveRequestAttemptId, sqs.h) has only queue id and
 * sent ms (when the attempt began) of the header, then SQS_RECORD_ATTEMPT_BYTES of fields and
 * a message's SQS_RECORD_ATTEMPT_MESSAGE_BYTES for each message its receive took, in order:
 *   96 u8[32] SHA-256 of the attempt id    128 u32 messages (1-10)   132 u32 zero
 *   each: u32 engine slot, u32 generation, u32 receive count, u32 zero, u64 deadline ms
 * (busbard before ATTEMPT records refuses a log that has one).
 */
#ifndef BB_SQS_RECORD_H
#define BB_SQS_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bb_limits.h"
#include "sqs_attrs.h"

#define SQS_RECORD_HEADER_BYTES     96u
#define SQS_RECORD_FIFO_BYTES       48u
#define SQS_RECORD_ATTRIBUTES_BYTES 8u
#define SQS_RECORD_ATTEMPT_BYTES    40u
#define SQS_RECORD_ATTEMPT_MESSAGE_BYTES 24u
#define SQS_RECORD_FLAG_FIFO        0x01u
#define SQS_RECORD_FLAG_ATTRIBUTES  0x02u
#define SQS_RECORD_BYTES_MAX                                                                       \
	(SQS_RECORD_HEADER_BYTES + SQS_RECORD_FIFO_BYTES + BB_FIFO_ID_BYTES_MAX +                  \
	 SQS_RECORD_ATTRIBUTES_BYTES + SQS_STORED_BYTES_MAX)
_Static_assert(BB_FIFO_ID_BYTES_MAX <= 255, "a group id's length fits its byte");

/* The log's record type for queue records: resource kind queue (1) in the high byte. */
#define SQS_RECORD_LOG_TYPE 0x0100u

enum sqs_record_kind {
	/* A message and its state: written by SendMessage, and again by compaction. */
	SQS_RECORD_SEND = 1,
	/* A receive: the new receive count and when the message becomes visible again. */
	SQS_RECORD_RECEIVE = 2,
	/* The message is gone: DeleteMessage, or its retention period ended. */
	SQS_RECORD_DELETE = 3,
	/* PurgeQueue: every message of the queue written before it is gone. Only queue id and
	 * sent ms (the purge's time) are set; the message id is zero. */
	SQS_RECORD_PURGE = 4,
	/* A ReceiveRequestAttemptId's receive: what a retry with the same id gives again. */
	SQS_RECORD_ATTEMPT = 5,
};

/* A message an attempt received, as that receive left it (sqs.h, sqs_attempt_begin). */
struct sqs_record_attempt_message {
	uint32_t index; /* the engine's slot */
	uint32_t generation;
	uint32_t receive_count;
	uint64_t deadline_ms;
};

struct sqs_record {
	enum sqs_record_kind kind;
	uint64_t queue_id;
	uint8_t message_id[16];
	uint64_t sent_ms;
	uint64_t first_receive_ms;
	uint64_t deadline_ms;
	uint32_t receive_count;
	uint32_t body_bytes;
	uint8_t md5[16];
	const uint8_t *body; /* SEND: body_bytes bytes, else NULL */
	/* A SEND's attribute block (sqs_attrs.h), 0 bytes for none; decoded, it lies right
	 * before the body, so block and body are one run of bytes. */
	const uint8_t *attributes;
	uint32_t attributes_bytes;
	uint32_t message_index; /* the engine's slot of the message */
	uint32_t generation;
	uint64_t receipt_nonce;
	/* A SEND of a FIFO queue: group_id_bytes > 0 (group_id points at them). */
	uint64_t sequence_number;
	const char *group_id;
	uint32_t group_id_bytes;
	bool has_dedup_key; /* its deduplication window was open when written */
	uint8_t dedup_key[32];
	/* An ATTEMPT: the SHA-256 of its id and the messages it received. */
	uint8_t attempt_key[32];
	uint32_t attempt_count;
	struct sqs_record_attempt_message attempt_messages[BB_RECEIVE_COUNT_MAX];
};

/* Writes the record into out (capacity bytes); returns its size, 0 when it does not fit. */
size_t sqs_record_encode(const struct sqs_record *record, uint8_t *out, size_t capacity);
/*
 * Reads a record; body points into bytes. 0, or -EBADMSG when the bytes are not a record
 * of a known kind with a consistent size.
 */
__attribute__((warn_unused_result)) int sqs_record_decode(const uint8_t *bytes, size_t length,
                                                          struct sqs_record *out);

#endif
