/*
 * Fuzz target: busbard's replies to the AWS API's data calls and to /metrics'
 * GetStats. The input's first byte picks the call (send, receive, delete,
 * change visibility) and the attributes asked for, its second the status; the
 * rest is the reply body. Whatever busbard sends, the answer is a JSON result
 * or AWS's error, and /metrics renders.
 */
#include <stdint.h>
#include <stdlib.h>

#include "ctl_aws_data.h"
#include "ctl_metrics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t opcodes[] = {WIRE_OP_SEND_MESSAGE, WIRE_OP_RECEIVE_MESSAGE,
	                                  WIRE_OP_DELETE_MESSAGE,
	                                  WIRE_OP_CHANGE_MESSAGE_VISIBILITY};
	if (size < 2)
		return 0;
	struct ctl_aws_data_op op = {.opcode = opcodes[data[0] & 3], .attributes = data[0] >> 2};
	struct wire_header reply = {.version = WIRE_VERSION,
	                            .opcode = op.opcode,
	                            .flags = WIRE_FLAG_RESPONSE,
	                            .status = (uint16_t)(data[1] % (WIRE_STATUS_COUNT + 1))};
	json_t *result = NULL;
	const struct ctl_aws_error *error = NULL;
	char message[CTL_AWS_ERROR_BYTES_MAX];
	int rc = ctl_aws_data_decode(&op, &reply, data + 2, size - 2, &result, &error, message,
	                             sizeof(message));
	if ((rc == 0) != (result != NULL) || (rc != 0 && error == NULL))
		abort(); /* a result or an error, never neither */
	json_decref(result);
	static struct ctl_metrics metrics;
	size_t bytes;
	char *text = ctl_metrics_render(&metrics, data + 2, size - 2, &bytes);
	if (text == NULL)
		abort();
	free(text);
	return 0;
}
