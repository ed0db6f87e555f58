/*
 * The SQS data calls of the AWS API in busbard's terms: SendMessage,
 * ReceiveMessage, DeleteMessage and ChangeMessageVisibility, from their JSON
 * 1.0 parameters to a local-socket request frame (docs/protocol.md), and from
 * busbard's reply back to the JSON 1.0 answer or AWS's error. Pure, so tests
 * and the fuzzer run both directions without busbard.
 */
#ifndef BB_CTL_AWS_DATA_H
#define BB_CTL_AWS_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ctl_aws.h"
#include "wire.h"

#define CTL_AWS_RECEIPT_HANDLE_BYTES_MAX 1024u /* longer ones are not ours: refused unsent */

/* The message attributes a receive asked for (AttributeNames / MessageSystemAttributeNames). */
enum {
	CTL_AWS_ATTR_SENT_TIMESTAMP = 1u << 0,
	CTL_AWS_ATTR_RECEIVE_COUNT = 1u << 1,
	CTL_AWS_ATTR_FIRST_RECEIVE = 1u << 2,
	CTL_AWS_ATTR_GROUP_ID = 1u << 3,        /* FIFO: MessageGroupId */
	CTL_AWS_ATTR_SEQUENCE_NUMBER = 1u << 4, /* FIFO: SequenceNumber */
	CTL_AWS_ATTR_TRACE_HEADER = 1u << 5,    /* AWSTraceHeader */
	CTL_AWS_ATTR_DEDUP_ID = 1u << 6,        /* FIFO: MessageDeduplicationId */
	CTL_AWS_ATTR_DLQ_SOURCE_ARN = 1u << 7,  /* DeadLetterQueueSourceArn */
};

struct ctl_aws_data_op {
	uint8_t opcode;      /* enum wire_opcode */
	uint32_t wait_s;     /* the most a receive may wait, for the pool's deadline */
	uint32_t attributes; /* CTL_AWS_ATTR_* */
};

/*
 * A request frame for busbard (malloc'd, request id left for the pool). 0, or
 * -EINVAL with AWS's error when a parameter is missing or wrong, or the queue
 * URL names no queue of this account.
 */
__attribute__((warn_unused_result)) int
ctl_aws_data_encode(const struct ctl_aws_request *request, const struct ctl_aws_config *config,
                    uint8_t **frame, size_t *frame_bytes, struct ctl_aws_data_op *op,
                    const struct ctl_aws_error **error, char *message, size_t message_bytes);

/*
 * busbard's reply as the JSON 1.0 answer (*result, owned by the caller), or
 * -EPROTO / -EINVAL with AWS's error (busbard's status, or a reply that does
 * not parse).
 */
__attribute__((warn_unused_result)) int
ctl_aws_data_decode(const struct ctl_aws_data_op *op, const struct wire_header *reply,
                    const uint8_t *body, size_t body_bytes, json_t **result,
                    const struct ctl_aws_error **error, char *message, size_t message_bytes);

/*
 * GetQueueAttributes' ApproximateNumberOfMessages, ...NotVisible and ...Delayed are
 * busbard's (WIRE_OP_GET_QUEUE_COUNTS); the rest is the store's. Whether a request asks
 * for any of them (by name or "All").
 */
bool ctl_aws_counts_wanted(const struct ctl_aws_request *request);
/* The GET_QUEUE_COUNTS frame for the request's QueueUrl (malloc'd); as ctl_aws_data_encode. */
__attribute__((warn_unused_result)) int
ctl_aws_counts_encode(const struct ctl_aws_request *request, const struct ctl_aws_config *config,
                      uint8_t **frame, size_t *frame_bytes, const struct ctl_aws_error **error,
                      char *message, size_t message_bytes);
/*
 * busbard's counts as GetQueueAttributes' attributes, values as decimal strings (*counts,
 * owned by the caller); a queue busbard has not been given yet (NonExistentQueue: the store
 * has it, or its own answer is that error) holds nothing. -EINVAL with AWS's error otherwise.
 */
__attribute__((warn_unused_result)) int
ctl_aws_counts_decode(const struct wire_header *reply, const uint8_t *body, size_t body_bytes,
                      json_t **counts, const struct ctl_aws_error **error, char *message,
                      size_t message_bytes);
/* Adds the counts the request asked for to a GetQueueAttributes answer's Attributes. */
void ctl_aws_counts_merge(const struct ctl_aws_request *request, json_t *counts, json_t *answer);

/* AWS's error for a busbard status (never WIRE_OK). */
const struct ctl_aws_error *ctl_aws_data_status_error(enum wire_status status);

#endif
