/*
 * A data request as the dataplane sees it: header checks, the fields of each
 * opcode with their ranges, and reply framing. Pure byte work, no DPDK, so
 * the same code serves UDP and the Unix socket and is fuzzed directly.
 */
#ifndef BB_DP_REQUEST_H
#define BB_DP_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

struct dp_bytes {
	const uint8_t *data;
	uint32_t length;
	bool present;
};

struct dp_u32 {
	uint32_t value;
	bool present;
};

struct dp_u64 {
	uint64_t value;
	bool present;
};

/* One message attribute (docs/protocol.md, "Message attributes"): String and Number types
 * (with any custom suffix) carry string_value, Binary ones binary_value. */
struct dp_attribute {
	struct dp_bytes name;
	struct dp_bytes data_type;
	struct dp_bytes string_value;
	struct dp_bytes binary_value;
};

/* The attributes of one message, in request order, names distinct. count passes
 * WIRE_ATTRIBUTES_MAX (those past it not kept) only where the parse failed the request or
 * entry; bytes is what they add to the message's size, as AWS counts it. */
struct dp_attributes {
	uint32_t count;
	uint32_t bytes;
	struct dp_attribute items[WIRE_ATTRIBUTES_MAX];
};

/* A ReceiveMessage's MessageAttributeNames, in request order; count passes
 * WIRE_MESSAGE_ATTRIBUTE_NAMES_MAX (those past it not kept) only where the parse failed. */
struct dp_attribute_names {
	uint32_t count;
	struct dp_bytes items[WIRE_MESSAGE_ATTRIBUTE_NAMES_MAX];
};

/*
 * One entry of a batch (SQS batches, PublishBatch); status is WIRE_OK unless the parse
 * already failed it alone. subject, message_structure, group_id and dedup_id are
 * PublishBatch's; attributes SendMessageBatch's and PublishBatch's.
 */
struct dp_batch_entry {
	struct dp_bytes id;
	struct dp_bytes body;
	struct dp_bytes receipt_handle;
	struct dp_u32 visibility_timeout_s;
	struct dp_u32 delay_s; /* SendMessageBatch: DelaySeconds */
	struct dp_bytes subject;
	struct dp_bytes message_structure;
	struct dp_bytes group_id;
	struct dp_bytes dedup_id;
	struct dp_attributes attributes;
	struct dp_bytes trace_header; /* SendMessageBatch: AWSTraceHeader */
	enum wire_status status;
};

/*
 * One PutEvents entry. status is WIRE_OK, or the code it fails with alone
 * (WIRE_ERR_EVENTS_INVALID_ARGUMENT) and error its ErrorMessage. resource_count passes
 * WIRE_EVENT_RESOURCES_MAX only in an entry that failed. size_bytes is AWS's entry size.
 */
struct dp_event {
	struct dp_bytes source;
	struct dp_bytes detail_type;
	struct dp_bytes detail;
	struct dp_u64 time_ms;
	uint32_t resource_count;
	struct dp_bytes resources[WIRE_EVENT_RESOURCES_MAX];
	uint32_t size_bytes;
	enum wire_status status;
	const char *error;
};

struct dp_request {
	struct wire_header header;
	struct dp_bytes queue_name;
	struct dp_bytes body;
	struct dp_bytes receipt_handle;
	struct dp_u32 max_messages;
	struct dp_u32 visibility_timeout_s;
	struct dp_u32 wait_time_s;
	struct dp_u64 cookie; /* UDP receives: proof that the source receives (dp_cookie.h) */
	struct dp_bytes group_id; /* SendMessage: MessageGroupId */
	struct dp_bytes dedup_id; /* SendMessage: MessageDeduplicationId */
	struct dp_u32 delay_s;    /* SendMessage: DelaySeconds, 0-WIRE_DELAY_S_MAX */
	struct dp_bytes topic_name;        /* Publish, PublishBatch */
	struct dp_bytes subject;           /* Publish */
	struct dp_bytes message_structure; /* Publish: "json" when present */
	struct dp_attributes attributes;   /* SendMessage, Publish */
	struct dp_bytes bus_name;          /* PutEvents; absent: the default bus */
	struct dp_bytes trace_header;      /* SendMessage: AWSTraceHeader */
	/* SendMessage: DeadLetterQueueSourceArn, busbard's own moves only (dp_redrive.c) */
	struct dp_bytes dead_letter_source_arn;
	struct dp_attribute_names attribute_names; /* ReceiveMessage: MessageAttributeNames */
	struct dp_u64 delivery_id; /* Ack: the Deliver frame's DELIVERY_ID */
	struct dp_bytes attempt_id; /* ReceiveMessage: ReceiveRequestAttemptId */
	const char *error;    /* why the status is not WIRE_OK */
	/* Batches: kept last, so a request that is not one zeroes none of the entries.
	 * entry_count counts entries[] or, for PutEvents, events[]. */
	uint32_t entry_count;
	struct dp_batch_entry entries[WIRE_BATCH_ENTRIES_MAX];
	struct dp_event events[WIRE_BATCH_ENTRIES_MAX];
};

/*
 * Checks the header and the fields of a data request (not control opcodes).
 * Returns WIRE_OK or the status to reply with, with out->error set. When the
 * bytes are not a busbar request at all (too short, wrong magic) it returns
 * WIRE_ERR_MALFORMED with header.request_id 0: callers drop those silently.
 */
__attribute__((warn_unused_result)) enum wire_status
dp_request_parse(const uint8_t *bytes, size_t length, struct dp_request *out);

/*
 * A digest of what the request asks for: its opcode and every field but the
 * cookie, which a client may renew between attempts. The retry window keeps
 * it to tell a retry from a different request that reuses a request id.
 */
uint64_t dp_request_digest(const struct dp_request *req);

/* True when a reply can be addressed (the header decoded far enough) and may be: not to a
 * response or a Deliver frame, which would make a loop between two peers. */
bool dp_request_is_answerable(const uint8_t *bytes, size_t length);

/* Starts a reply in buf: the body goes to the returned writer's buffer. */
void dp_reply_begin(struct wire_writer *writer, uint8_t *buf, size_t capacity);
/* Writes the reply header for request; returns the reply's total length. */
size_t dp_reply_finish(struct wire_writer *writer, const struct wire_header *request,
                       enum wire_status status);
/* A complete error reply with a message. Returns its length. */
size_t dp_reply_error(uint8_t *buf, size_t capacity, const struct wire_header *request,
                      enum wire_status status, const char *message);

#endif
