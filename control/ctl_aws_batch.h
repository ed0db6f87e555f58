/*
 * SQS's batches over the AWS API: SendMessageBatch, DeleteMessageBatch and
 * ChangeMessageVisibilityBatch from their JSON 1.0 "Entries" (query's
 * <Action>RequestEntry.N.* arrive folded into it: ctl_aws.c) to busbard's batch
 * frames (docs/protocol.md, "Batches"), and busbard's per-entry answers back to
 * AWS's Successful and Failed lists. The rules of a batch as a whole are checked
 * here with AWS's texts (busbard checks them too); an entry's own failures are
 * busbard's. Pure, so tests and the fuzzer run it without busbard.
 */
#ifndef BB_CTL_AWS_BATCH_H
#define BB_CTL_AWS_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ctl_aws.h"
#include "wire.h"

/* True for the three SQS batch opcodes. */
bool ctl_aws_batch_is_sqs(uint8_t opcode);

/*
 * What fails a batch as a whole, in AWS's order and words: no entries (EmptyBatchRequest),
 * more than 10 (TooManyEntriesInBatchRequest), an entry without an object or an Id
 * (InvalidParameterValue, MissingParameter), an Id that is not 1-80 of [A-Za-z0-9_-]
 * (InvalidBatchEntryId) or repeated (BatchEntryIdsNotDistinct), a SendMessageBatch whose
 * bodies and attributes total more than 1 MiB (BatchRequestTooLong). 0, or -EINVAL.
 */
__attribute__((warn_unused_result)) int
ctl_aws_batch_check(json_t *params, uint8_t opcode, const struct ctl_aws_error **error,
                    char *message, size_t message_bytes);

/* The checked entries into the frame: ENTRY_BEGIN, ENTRY_ID and the operation's fields. */
__attribute__((warn_unused_result)) int
ctl_aws_batch_put_entries(json_t *params, uint8_t opcode, struct wire_writer *w,
                          const struct ctl_aws_error **error, char *message,
                          size_t message_bytes);

/*
 * busbard's OK reply to a batch into result's Successful (Id, and a send's MessageId,
 * MD5OfMessageBody, MD5OfMessageAttributes, SequenceNumber) and Failed (Id, SenderFault,
 * Code, Message) lists. 0, or -EBADMSG when the reply does not parse.
 */
__attribute__((warn_unused_result)) int
ctl_aws_batch_decode(uint8_t opcode, struct wire_reader *r, json_t *result);

/* AWS's error for busbard's refusal of a batch as a whole (statuses 21-25); NULL for others. */
const struct ctl_aws_error *ctl_aws_batch_status_error(enum wire_status status);

#endif
