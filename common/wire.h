/*
 * The busbar wire protocol, version 1 (docs/protocol.md is the reference).
 * A 64-byte little-endian header, then a body of tagged fields. The same
 * bytes travel over UDP and over the local Unix socket.
 */
#ifndef BB_WIRE_H
#define BB_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WIRE_MAGIC              0x6262u /* "bb" */
#define WIRE_VERSION            1u
#define WIRE_MAC_BYTES          16u
#define WIRE_MAC_OFFSET         40u /* of the MAC field in the header (common/bb_mac.h) */
#define WIRE_FIELD_HEADER_BYTES 6u /* u16 tag, u32 length */
#define WIRE_FLAG_RESPONSE      0x0001u

enum wire_opcode {
	WIRE_OP_PING = 0x01,
	WIRE_OP_SEND_MESSAGE = 0x10,
	WIRE_OP_RECEIVE_MESSAGE = 0x11,
	WIRE_OP_DELETE_MESSAGE = 0x12,
	WIRE_OP_CHANGE_MESSAGE_VISIBILITY = 0x13,
	/* Batches of up to WIRE_BATCH_ENTRIES_MAX entries, each answered on its own. */
	WIRE_OP_SEND_MESSAGE_BATCH = 0x14,
	WIRE_OP_DELETE_MESSAGE_BATCH = 0x15,
	WIRE_OP_CHANGE_MESSAGE_VISIBILITY_BATCH = 0x16,
	/* SNS and EventBridge (docs/protocol.md, "Publish" and "PutEvents"). */
	WIRE_OP_PUBLISH = 0x20,
	WIRE_OP_PUBLISH_BATCH = 0x21,
	WIRE_OP_PUT_EVENTS = 0x30,
	/* udp subscriptions and rule targets (docs/protocol.md, "Deliver and Ack"): busbard
	 * sends DELIVER to the subscriber, which answers with an ACK request. */
	WIRE_OP_DELIVER = 0x40,
	WIRE_OP_ACK = 0x41,
	/* Control opcodes: accepted only on the Unix socket. */
	WIRE_OP_APPLY_SNAPSHOT = 0x80,
	WIRE_OP_GET_STATS = 0x81,
	/* SQS queue management that acts on busbard's messages (docs/protocol.md, "Queue
	 * operations"): PurgeQueue, and the approximate counts of GetQueueAttributes. */
	WIRE_OP_PURGE_QUEUE = 0x82,
	WIRE_OP_GET_QUEUE_COUNTS = 0x83,
};

/* One-to-one with AWS error codes; wire_status_name() gives the AWS name. */
enum wire_status {
	WIRE_OK = 0,
	WIRE_ERR_MALFORMED = 1,
	WIRE_ERR_UNSUPPORTED_VERSION = 2,
	WIRE_ERR_INVALID_ACTION = 3,
	WIRE_ERR_INVALID_PARAMETER = 4,
	WIRE_ERR_MISSING_PARAMETER = 5,
	WIRE_ERR_NONEXISTENT_QUEUE = 6,
	WIRE_ERR_RECEIPT_HANDLE_INVALID = 7,
	WIRE_ERR_MESSAGE_NOT_INFLIGHT = 8,
	WIRE_ERR_OVER_LIMIT = 9,
	WIRE_ERR_MESSAGE_TOO_LONG = 10,
	WIRE_ERR_INVALID_CLIENT_TOKEN = 11,
	WIRE_ERR_ACCESS_DENIED = 12,
	WIRE_ERR_SERVICE_UNAVAILABLE = 13,
	WIRE_ERR_INTERNAL = 14,
	/* Not an error: a UDP ReceiveMessage must be sent again with the reply's COOKIE. */
	WIRE_RETRY_WITH_COOKIE = 15,
	/* A request id the window remembers for a different request (EC2's name for it). */
	WIRE_ERR_IDEMPOTENT_PARAMETER_MISMATCH = 16,
	/* A SendMessage body with a character SQS does not allow (common/bb_utf8.h). */
	WIRE_ERR_INVALID_MESSAGE_CONTENTS = 17,
	/* Authentication (docs/protocol.md): no key id or client id, a MAC that does not
	 * verify, a timestamp outside the allowed skew. */
	WIRE_ERR_MISSING_AUTHENTICATION_TOKEN = 18,
	WIRE_ERR_SIGNATURE_DOES_NOT_MATCH = 19,
	WIRE_ERR_REQUEST_EXPIRED = 20,
	/* Batches: the request as a whole (docs/protocol.md, "Batches"). */
	WIRE_ERR_EMPTY_BATCH_REQUEST = 21,
	WIRE_ERR_TOO_MANY_ENTRIES_IN_BATCH_REQUEST = 22,
	WIRE_ERR_BATCH_ENTRY_IDS_NOT_DISTINCT = 23,
	WIRE_ERR_BATCH_REQUEST_TOO_LONG = 24,
	WIRE_ERR_INVALID_BATCH_ENTRY_ID = 25,
	/* SNS: its own names for a missing topic, bad parameters and the batch errors. */
	WIRE_ERR_SNS_NOT_FOUND = 26,
	WIRE_ERR_SNS_INVALID_PARAMETER = 27,
	WIRE_ERR_SNS_PARAMETER_VALUE_INVALID = 28,
	WIRE_ERR_SNS_EMPTY_BATCH_REQUEST = 29,
	WIRE_ERR_SNS_TOO_MANY_ENTRIES_IN_BATCH_REQUEST = 30,
	WIRE_ERR_SNS_BATCH_ENTRY_IDS_NOT_DISTINCT = 31,
	WIRE_ERR_SNS_BATCH_REQUEST_TOO_LONG = 32,
	WIRE_ERR_SNS_INVALID_BATCH_ENTRY_ID = 33,
	/* EventBridge: a missing bus, a request that breaks a constraint, and the codes of a
	 * PutEvents entry that failed alone. */
	WIRE_ERR_EVENTS_RESOURCE_NOT_FOUND = 34,
	WIRE_ERR_EVENTS_VALIDATION = 35,
	WIRE_ERR_EVENTS_INVALID_ARGUMENT = 36,
	WIRE_ERR_EVENTS_MALFORMED_DETAIL = 37,
	/* PurgeQueue within WIRE_PURGE_INTERVAL_MS of the queue's last purge. */
	WIRE_ERR_PURGE_QUEUE_IN_PROGRESS = 38,
	WIRE_STATUS_COUNT
};

enum wire_tag {
	WIRE_TAG_QUEUE_NAME = 1,
	WIRE_TAG_BODY = 2,
	WIRE_TAG_MESSAGE_ID = 3,
	WIRE_TAG_RECEIPT_HANDLE = 4,
	WIRE_TAG_MD5_OF_BODY = 5,
	WIRE_TAG_MAX_MESSAGES = 6,                /* u32 */
	WIRE_TAG_VISIBILITY_TIMEOUT_S = 7,        /* u32 */
	WIRE_TAG_WAIT_TIME_S = 8,                 /* u32 */
	WIRE_TAG_RECEIVE_COUNT = 9,               /* u32 */
	WIRE_TAG_SENT_TIMESTAMP_MS = 10,          /* u64 */
	WIRE_TAG_FIRST_RECEIVE_TIMESTAMP_MS = 11, /* u64 */
	WIRE_TAG_ERROR_MESSAGE = 12,
	WIRE_TAG_MESSAGE_BEGIN = 13,         /* empty; starts one message of a receive reply */
	WIRE_TAG_COOKIE = 14,                /* u64; proves a UDP source receives (protocol.md) */
	WIRE_TAG_SNAPSHOT_VERSION = 20,      /* u64 */
	WIRE_TAG_QUEUE_BEGIN = 21,           /* empty; starts one queue of a snapshot */
	WIRE_TAG_QUEUE_ID = 22,              /* u64 */
	WIRE_TAG_MAXIMUM_MESSAGE_BYTES = 23, /* u32 */
	WIRE_TAG_STAT_NAME = 30,
	WIRE_TAG_STAT_VALUE = 31, /* u64 */
	WIRE_TAG_ENTRY_BEGIN = 40,  /* empty; starts one entry of a batch request or reply */
	WIRE_TAG_ENTRY_ID = 41,     /* text; the client's id of the entry */
	WIRE_TAG_ENTRY_STATUS = 42, /* u32; a failed entry's wire_status */
	/* SQS DelaySeconds of a SendMessage or a batch entry, and a queue's approximate counts
	 * (GET_QUEUE_COUNTS replies). */
	WIRE_TAG_DELAY_SECONDS = 80,          /* u32, 0-WIRE_DELAY_S_MAX */
	WIRE_TAG_MESSAGES_VISIBLE = 81,       /* u32: ApproximateNumberOfMessages */
	WIRE_TAG_MESSAGES_NOT_VISIBLE = 82,   /* u32: ...NotVisible (in flight) */
	WIRE_TAG_MESSAGES_DELAYED = 83,       /* u32: ...Delayed */
	/* SQS message attributes (docs/protocol.md, "Message attributes"): the MD5 AWS gives
	 * of a message's attributes (SendMessage and batch entry replies, received messages),
	 * the names a ReceiveMessage asks for (repeated: a name, "All", ".*" or "prefix.*"),
	 * and the AWSTraceHeader system attribute (sends, batch entries, received messages). */
	WIRE_TAG_MD5_OF_MESSAGE_ATTRIBUTES = 84, /* text, 32 hex digits */
	WIRE_TAG_MESSAGE_ATTRIBUTE_NAME = 85,    /* text, 1-WIRE_ATTRIBUTE_NAME_BYTES_MAX */
	WIRE_TAG_AWS_TRACE_HEADER = 86,          /* text, 1-WIRE_TRACE_HEADER_BYTES_MAX */
	/* The DeadLetterQueueSourceArn system attribute of a message a RedrivePolicy moved:
	 * busbard's own internal sends carry it, received messages return it. */
	WIRE_TAG_DEAD_LETTER_QUEUE_SOURCE_ARN = 87, /* text, 1-WIRE_DLQ_SOURCE_ARN_BYTES_MAX */
	/* FIFO queues (docs/protocol.md, "FIFO queues"). */
	WIRE_TAG_MESSAGE_GROUP_ID = 50,         /* text, 1-BB_FIFO_ID_BYTES_MAX */
	WIRE_TAG_MESSAGE_DEDUPLICATION_ID = 51, /* text, 1-BB_FIFO_ID_BYTES_MAX */
	WIRE_TAG_SEQUENCE_NUMBER = 52,          /* decimal text, in replies */
	WIRE_TAG_RECEIVE_REQUEST_ATTEMPT_ID = 53, /* text, 1-BB_FIFO_ID_BYTES_MAX, ReceiveMessage */
	/* SNS Publish (the message itself is BODY). */
	WIRE_TAG_TOPIC_NAME = 60,
	WIRE_TAG_SUBJECT = 61,
	WIRE_TAG_MESSAGE_STRUCTURE = 62, /* "json" or absent */
	/* Message attributes of SendMessage and Publish: the fields after an ATTRIBUTE_BEGIN,
	 * up to the next one or the next ENTRY_BEGIN, are that attribute's. */
	WIRE_TAG_ATTRIBUTE_BEGIN = 63, /* empty */
	WIRE_TAG_ATTRIBUTE_NAME = 64,
	WIRE_TAG_ATTRIBUTE_DATA_TYPE = 65,
	WIRE_TAG_ATTRIBUTE_STRING_VALUE = 66,
	WIRE_TAG_ATTRIBUTE_BINARY_VALUE = 67, /* bytes */
	/* EventBridge PutEvents. */
	WIRE_TAG_BUS_NAME = 70,
	WIRE_TAG_EVENT_SOURCE = 71,
	WIRE_TAG_EVENT_DETAIL_TYPE = 72,
	WIRE_TAG_EVENT_DETAIL = 73,   /* a JSON object */
	WIRE_TAG_EVENT_RESOURCE = 74, /* repeated, one per resource */
	WIRE_TAG_EVENT_TIME_MS = 75,  /* u64, ms since the epoch */
	WIRE_TAG_EVENT_ID = 76,       /* reply: the event's id */
	WIRE_TAG_ERROR_CODE = 77,     /* reply: a failed PutEvents entry's ErrorCode */
	WIRE_TAG_FAILED_ENTRY_COUNT = 78, /* u32, reply of PutEvents */
	/* Deliver and Ack (the message is BODY, its MessageId or event id MESSAGE_ID). */
	WIRE_TAG_DELIVERY_ID = 90,      /* u64: which delivery an Ack completes */
	WIRE_TAG_DELIVERY_ATTEMPT = 91, /* u32: 1 for the first send, then each resend */
	WIRE_TAG_SOURCE_ARN = 92,       /* the topic's or the rule's ARN */
	WIRE_TAG_SUBSCRIPTION = 93,     /* the SubscriptionArn or the rule target's Id */
};

/* A SequenceNumber's text: AWS's are up to 128 bits, so up to 39 digits. */
#define WIRE_SEQUENCE_NUMBER_BYTES_MAX 40u

/* SQS queue attributes as AWS bounds them (docs/operations.md, "Queue attributes"):
 * DelaySeconds, MessageRetentionPeriod, and how often a queue may be purged. */
#define WIRE_DELAY_S_MAX          900u
#define WIRE_RETENTION_S_MIN      60u
#define WIRE_RETENTION_S_MAX      1209600u /* 14 days */
#define WIRE_RETENTION_S_DEFAULT  345600u  /* 4 days */
#define WIRE_PURGE_INTERVAL_MS    60000u

/* Batches, as SQS limits them: entries, entry id length, bodies of a SendMessageBatch. */
#define WIRE_BATCH_ENTRIES_MAX        10u
#define WIRE_BATCH_ENTRY_ID_BYTES_MAX 80u
#define WIRE_BATCH_BODY_BYTES_MAX     (1u << 20)

/* Message attributes, as SQS and SNS limit them: per message, name and data type length. */
#define WIRE_ATTRIBUTES_MAX               10u
#define WIRE_ATTRIBUTE_NAME_BYTES_MAX     256u
#define WIRE_ATTRIBUTE_DATA_TYPE_BYTES_MAX 256u
/* MessageAttributeNames of one ReceiveMessage (AWS sets no number; busbar's, to keep a
 * parsed request fixed-size), and an AWSTraceHeader's length (printable ASCII). */
#define WIRE_MESSAGE_ATTRIBUTE_NAMES_MAX  32u
#define WIRE_TRACE_HEADER_BYTES_MAX       256u
#define WIRE_DLQ_SOURCE_ARN_BYTES_MAX     256u /* arn:aws:sqs:REGION:ACCOUNT:QUEUE */
/* SNS: a Subject, a message (attributes included), a PublishBatch's messages together. */
#define WIRE_SUBJECT_BYTES_MAX            100u
#define WIRE_SNS_MESSAGE_BYTES_MAX        (256u << 10)
/* EventBridge: a PutEvents' entries together (AWS's size rule), resources per entry (AWS
 * sets none; busbar's, to keep a parsed request fixed-size). */
#define WIRE_PUT_EVENTS_BYTES_LIMIT       (256u << 10) /* the total must stay under it */
#define WIRE_EVENT_RESOURCES_MAX          10u
#define WIRE_EVENT_TIME_SIZE_BYTES        14u /* what a given Time adds to an entry's size */
#define WIRE_EVENT_ID_BYTES               36u /* UUID text */
#define WIRE_ERROR_CODE_BYTES_MAX         64u
/* Fields of one request body: a full PublishBatch (10 entries of 10 attributes and every
 * optional field) takes 472. */
#define WIRE_REQUEST_FIELDS_MAX           512u

struct wire_header {
	uint8_t version;
	uint8_t opcode;
	uint16_t flags;
	uint16_t status;
	uint32_t body_bytes;
	uint32_t key_id;
	uint64_t client_id;
	uint64_t request_id;
	uint64_t timestamp_ms;
	uint8_t mac[WIRE_MAC_BYTES];
};

struct wire_field {
	uint16_t tag;
	uint32_t length;
	const uint8_t *value;
};

struct wire_reader {
	const uint8_t *next;
	size_t bytes_left;
};

struct wire_writer {
	uint8_t *buf;
	size_t capacity;
	size_t length;
	bool overflow; /* a put did not fit; the message is unusable */
};

void wire_header_encode(const struct wire_header *header, uint8_t *out);

/*
 * Decodes and checks a header against the datagram or frame length. Returns
 * WIRE_OK or the status to answer with; on WIRE_ERR_UNSUPPORTED_VERSION the
 * header is still filled so the reply can echo the request id.
 */
__attribute__((warn_unused_result)) enum wire_status
wire_header_decode(const uint8_t *buf, size_t length, struct wire_header *out);

void wire_reader_init(struct wire_reader *reader, const uint8_t *body, size_t body_bytes);
/* 1: a field was read; 0: end of body; -EBADMSG: a field runs past the end. */
__attribute__((warn_unused_result)) int wire_reader_next(struct wire_reader *reader,
                                                         struct wire_field *out);

bool wire_field_u32(const struct wire_field *field, uint32_t *out);
bool wire_field_u64(const struct wire_field *field, uint64_t *out);

void wire_writer_init(struct wire_writer *writer, uint8_t *buf, size_t capacity);
void wire_put_bytes(struct wire_writer *writer, uint16_t tag, const void *value, size_t length);
/* Writes a field header and returns where its `length` value bytes go, or NULL on overflow. */
uint8_t *wire_put_reserve(struct wire_writer *writer, uint16_t tag, size_t length);
void wire_put_str(struct wire_writer *writer, uint16_t tag, const char *value);
void wire_put_u32(struct wire_writer *writer, uint16_t tag, uint32_t value);
void wire_put_u64(struct wire_writer *writer, uint16_t tag, uint64_t value);
/* Bytes that a field of `length` value bytes takes on the wire. */
size_t wire_field_bytes(size_t length);

const char *wire_status_name(enum wire_status status);
const char *wire_opcode_name(uint8_t opcode);
bool wire_opcode_is_local_only(uint8_t opcode);
/* Requests made of entries, each begun by ENTRY_BEGIN (the SQS batches, PublishBatch,
 * PutEvents). */
bool wire_opcode_is_batch(uint8_t opcode);
/* Publish and PublishBatch: SNS's error names apply. */
bool wire_opcode_is_sns(uint8_t opcode);
/* True for 1-80 of A-Z, a-z, 0-9, - and _: a batch entry id as SQS allows it. */
bool wire_batch_entry_id_is_valid(const uint8_t *id, size_t length);

#endif
