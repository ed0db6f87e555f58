/*
 * The busbar command's JSON output, apart from main so tests can feed it any bytes. A
 * received message is never dropped from the output: a body that is UTF-8 is printed as
 * "Body" (JSON escapes control characters and NUL), any other body as "BodyBase64".
 * When output cannot be built or written the caller gets an error to exit with.
 */
#ifndef BB_CLI_OUTPUT_H
#define BB_CLI_OUTPUT_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "busbar.h"

/* {"Messages":[...]} for `count` received messages: 0, or -EINVAL when one of them has
 * a field JSON cannot carry, -ENOMEM; *out is then NULL, never a shorter list. */
__attribute__((warn_unused_result)) int cli_receive_json(const struct bb_message *messages,
                                                         uint32_t count, json_t **out);

/* A batch's answer as SQS gives it: {"Successful":[{"Id", and a send's "MessageId",
 * "MD5OfMessageBody"}], "Failed":[{"Id","Code","SenderFault"}]}. 0 or -ENOMEM. */
__attribute__((warn_unused_result)) int cli_batch_json(const struct bb_batch_entry *entries,
                                                       uint32_t count, json_t **out);

/* Publish's answer as SNS gives it: {"MessageId", and a FIFO topic's "SequenceNumber"}.
 * 0, -EINVAL (a field JSON cannot carry) or -ENOMEM. */
__attribute__((warn_unused_result)) int cli_published_json(const struct bb_published *published,
                                                           json_t **out);

/* PublishBatch's answer as SNS gives it: {"Successful":[{"Id","MessageId", a FIFO topic's
 * "SequenceNumber"}], "Failed":[{"Id","Code","SenderFault"}]}. 0 or -ENOMEM. */
__attribute__((warn_unused_result)) int cli_publish_batch_json(
	const struct bb_publish_entry *entries, uint32_t count, json_t **out);

/* PutEvents' answer as EventBridge gives it: {"FailedEntryCount", "Entries":[{"EventId"} or
 * {"ErrorCode","ErrorMessage"}]} in the order of the events. 0 or -ENOMEM. */
__attribute__((warn_unused_result)) int cli_put_events_json(const struct bb_event *events,
                                                            uint32_t count,
                                                            uint32_t failed_count,
                                                            json_t **out);

/* A delivery as `busbar listen` prints it: {"DeliveryId" (decimal text: a u64),
 * "Attempt", "SourceArn", "Subscription", "MessageId", and "Body" or "BodyBase64"}. 0,
 * -EINVAL (a text field that is not UTF-8) or -ENOMEM; *out is then NULL. */
__attribute__((warn_unused_result)) int cli_delivery_json(const struct bb_delivery *delivery,
                                                          json_t **out);

/* Writes `value` as one compact line and flushes; takes the reference. 0, -EINVAL when
 * value is NULL or cannot be encoded, else the -errno of the write that failed. */
__attribute__((warn_unused_result)) int cli_print_json(FILE *out, json_t *value);

#endif
