/*
 * SNS's data calls on the AWS API: Publish and PublishBatch from their parameters
 * (the query protocol's MessageAttributes.entry.N and PublishBatchRequestEntries.member.N,
 * or busbar's JSON shape) to a busbard request frame (docs/protocol.md, "Publish"), and
 * busbard's reply back to SNS's answer. ctl_aws_data.c calls it for SNS requests; what
 * busbard checks (the message, Subject, attributes, FIFO ids, batch rules) is left to it.
 */
#ifndef BB_CTL_SNS_DATA_H
#define BB_CTL_SNS_DATA_H

#include <jansson.h>

#include "ctl_aws.h"
#include "ctl_aws_data.h"
#include "wire.h"

/* As ctl_aws_data_encode, for request->service CTL_AWS_SNS. */
__attribute__((warn_unused_result)) int
ctl_sns_data_encode(const struct ctl_aws_request *request, const struct ctl_aws_config *config,
                    uint8_t **frame, size_t *frame_bytes, struct ctl_aws_data_op *op,
                    const struct ctl_aws_error **error, char *message, size_t message_bytes);

/* A Publish or PublishBatch reply's fields into *result; 0 or -EBADMSG. */
__attribute__((warn_unused_result)) int ctl_sns_data_decode(const struct ctl_aws_data_op *op,
                                                            struct wire_reader *reader,
                                                            json_t *result);

/* Base64 text to bytes in out (at least 3/4 of its length + 3); -1 when it is not base64.
 * A message attribute's BinaryValue, SNS's and SQS's (ctl_aws_data.c). */
int ctl_sns_base64_decode(const char *text, uint8_t *out);

/* SNS's error for an SNS status of busbard's (NotFound ... InvalidBatchEntryId), else NULL. */
const struct ctl_aws_error *ctl_sns_data_status_error(enum wire_status status);

#endif
