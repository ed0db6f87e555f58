/*
 * What ctl_aws_data.c shares with ctl_aws_batch.c: AWS's errors with their messages, and
 * the fields of one message or one receipt handle, written the same for a single call and
 * for each entry of a batch.
 */
#ifndef BB_CTL_AWS_DATA_INT_H
#define BB_CTL_AWS_DATA_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ctl_aws.h"
#include "wire.h"

/* Sets AWS's error with a message: format has one %s for name, or is the message when name
 * is NULL. Returns -EINVAL. */
int ctl_aws_data_refuse(const struct ctl_aws_error *e, const struct ctl_aws_error **error,
                        char *message, size_t message_bytes, const char *format, const char *name);

/*
 * A send's BODY and options (DelaySeconds 0-delay_max, FIFO ids, attributes) from its JSON
 * 1.0 parameters. 0, or -EINVAL with AWS's error.
 */
__attribute__((warn_unused_result)) int
ctl_aws_data_put_send(json_t *params, struct wire_writer *w, uint32_t delay_max,
                      const struct ctl_aws_error **error, char *message, size_t message_bytes);

/* ReceiptHandle, and VisibilityTimeout (0-timeout_max) when visibility: as above. */
__attribute__((warn_unused_result)) int
ctl_aws_data_put_handle(json_t *params, struct wire_writer *w, bool visibility,
                        uint32_t timeout_max, const struct ctl_aws_error **error, char *message,
                        size_t message_bytes);

#endif
