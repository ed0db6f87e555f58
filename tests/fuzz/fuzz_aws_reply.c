/*
 * Fuzz target: busbard's replies to the AWS API's data calls, to GetQueueAttributes' counts
 * and to /metrics' GetStats. The input's first byte picks the call (its low 3 bits: send,
 * receive, delete, change visibility, the three SQS batches, GET_QUEUE_COUNTS) and the
 * attributes asked for (the rest), its second the status; the rest is the reply body.
 * Whatever busbard sends, the answer is a JSON result or AWS's error, the counts merge into
 * an answer, and /metrics renders.
 */
#include <stdint.h>
#include <stdlib.h>

#include "ctl_aws_data.h"
#include "ctl_metrics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* GetQueueAttributes' counts: decoded, or AWS's error; merged into an answer asking All. */
static void counts(const struct wire_header *reply, const uint8_t *body, size_t body_bytes)
{
	json_t *decoded = NULL;
	const struct ctl_aws_error *error = NULL;
	char message[CTL_AWS_ERROR_BYTES_MAX];
	int rc = ctl_aws_counts_decode(reply, body, body_bytes, &decoded, &error, message,
	                               sizeof(message));
	if ((rc == 0) != (decoded != NULL) || (rc != 0 && error == NULL))
		abort(); /* counts or an error, never neither */
	if (decoded == NULL)
		return;
	struct ctl_aws_request request = {.service = CTL_AWS_SQS,
	                                  .action = "GetQueueAttributes",
	                                  .params = json_pack("{s:[s]}", "AttributeNames", "All")};
	json_t *answer = json_object();
	ctl_aws_counts_merge(&request, decoded, answer);
	if (json_object_size(json_object_get(answer, "Attributes")) != 3)
		abort(); /* All asks for the three counts */
	json_decref(answer);
	json_decref(request.params);
	json_decref(decoded);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t opcodes[] = {
	    WIRE_OP_SEND_MESSAGE,       WIRE_OP_RECEIVE_MESSAGE,
	    WIRE_OP_DELETE_MESSAGE,     WIRE_OP_CHANGE_MESSAGE_VISIBILITY,
	    WIRE_OP_SEND_MESSAGE_BATCH, WIRE_OP_DELETE_MESSAGE_BATCH,
	    WIRE_OP_CHANGE_MESSAGE_VISIBILITY_BATCH, WIRE_OP_GET_QUEUE_COUNTS};
	if (size < 2)
		return 0;
	/* Five bits of the first byte spread over the seven CTL_AWS_ATTR_* (some go together). */
	uint32_t bits = data[0] >> 3;
	struct ctl_aws_data_op op = {.opcode = opcodes[data[0] & 7], .attributes = bits | bits << 2};
	struct wire_header reply = {.version = WIRE_VERSION,
	                            .opcode = op.opcode,
	                            .flags = WIRE_FLAG_RESPONSE,
	                            .status = (uint16_t)(data[1] % (WIRE_STATUS_COUNT + 1))};
	if (op.opcode == WIRE_OP_GET_QUEUE_COUNTS) {
		counts(&reply, data + 2, size - 2);
		return 0;
	}
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
