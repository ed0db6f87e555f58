/*
 * EventBridge's data call on the AWS API: PutEvents from its JSON 1.1 parameters
 * to a busbard request frame (docs/protocol.md, "PutEvents": one bus a request,
 * entries in order), and busbard's reply back to EventBridge's answer (Entries with
 * EventId or ErrorCode and ErrorMessage, FailedEntryCount). ctl_aws_data.c calls it for
 * EventBridge requests; what busbard checks (the envelope, Detail, the size rule) is
 * left to it, so both ways to PutEvents answer alike.
 */
#ifndef BB_CTL_EVENTS_DATA_H
#define BB_CTL_EVENTS_DATA_H

#include <jansson.h>

#include "ctl_aws.h"
#include "ctl_aws_data.h"
#include "wire.h"

#define CTL_EVENTS_PUT_ENTRIES_MAX 10u /* PutEvents Entries, as AWS */

/* As ctl_aws_data_encode, for request->service CTL_AWS_EVENTS (PutEvents). */
__attribute__((warn_unused_result)) int
ctl_events_data_encode(const struct ctl_aws_request *request, const struct ctl_aws_config *config,
                       uint8_t **frame, size_t *frame_bytes, struct ctl_aws_data_op *op,
                       const struct ctl_aws_error **error, char *message, size_t message_bytes);

/* A PutEvents reply's fields into *result; 0 or -EBADMSG. */
__attribute__((warn_unused_result)) int ctl_events_data_decode(struct wire_reader *reader,
                                                               json_t *result);

#endif
