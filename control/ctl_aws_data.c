/*
 * SQS data calls to and from busbard's frames (see ctl_aws_data.h). What
 * busbard checks itself (a queue's existence, MaximumMessageSize, the
 * characters of a body, a receipt handle's validity) is left to it, so there
 * is one rule in one place; what only the HTTP API has (a QueueUrl, AWS's
 * parameter types and ranges, features busbar does not have yet) is checked
 * here and refused by name rather than ignored.
 */
#include "ctl_aws_data.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "bb_limits.h"
#include "bb_snapshot.h"
#include "ctl_aws_batch.h"
#include "ctl_aws_data_int.h"
#include "ctl_events_data.h"
#include "ctl_sns_data.h"

#define FIELDS_BYTES_MAX 512u /* a request's fields besides its body */

static const struct ctl_aws_error RECEIPT_HANDLE_INVALID = {
    400, "ReceiptHandleIsInvalid", "com.amazonaws.sqs#ReceiptHandleIsInvalid", true};
static const struct ctl_aws_error MESSAGE_NOT_INFLIGHT = {
    400, "AWS.SimpleQueueService.MessageNotInflight", "com.amazonaws.sqs#MessageNotInflight", true};
static const struct ctl_aws_error OVER_LIMIT = {403, "OverLimit", "com.amazonaws.sqs#OverLimit",
                                                true};
static const struct ctl_aws_error INVALID_MESSAGE_CONTENTS = {
    400, "InvalidMessageContents", "com.amazonaws.sqs#InvalidMessageContents", true};
static const struct ctl_aws_error PURGE_IN_PROGRESS = {
    403, "AWS.SimpleQueueService.PurgeQueueInProgress", "com.amazonaws.sqs#PurgeQueueInProgress",
    true};

const struct ctl_aws_error *ctl_aws_data_status_error(enum wire_status status)
{
	assert(status != WIRE_OK);
	switch (status) {
	case WIRE_ERR_INVALID_PARAMETER:
	case WIRE_ERR_MESSAGE_TOO_LONG: return &CTL_AWS_INVALID_PARAMETER;
	case WIRE_ERR_MISSING_PARAMETER: return &CTL_AWS_MISSING_PARAMETER;
	case WIRE_ERR_NONEXISTENT_QUEUE: return &CTL_AWS_NONEXISTENT_QUEUE;
	case WIRE_ERR_RECEIPT_HANDLE_INVALID: return &RECEIPT_HANDLE_INVALID;
	case WIRE_ERR_MESSAGE_NOT_INFLIGHT: return &MESSAGE_NOT_INFLIGHT;
	case WIRE_ERR_OVER_LIMIT: return &OVER_LIMIT;
	case WIRE_ERR_INVALID_MESSAGE_CONTENTS: return &INVALID_MESSAGE_CONTENTS;
	case WIRE_ERR_SERVICE_UNAVAILABLE: return &CTL_AWS_SERVICE_UNAVAILABLE;
	case WIRE_ERR_PURGE_QUEUE_IN_PROGRESS: return &PURGE_IN_PROGRESS;
	case WIRE_ERR_EMPTY_BATCH_REQUEST:
	case WIRE_ERR_TOO_MANY_ENTRIES_IN_BATCH_REQUEST:
	case WIRE_ERR_BATCH_ENTRY_IDS_NOT_DISTINCT:
	case WIRE_ERR_BATCH_REQUEST_TOO_LONG:
	case WIRE_ERR_INVALID_BATCH_ENTRY_ID: return ctl_aws_batch_status_error(status);
	default: /* SNS's statuses have SNS's codes (ctl_sns_data.c) */
		return ctl_sns_data_status_error(status) ? ctl_sns_data_status_error(status)
		                                         : &CTL_AWS_INTERNAL;
	}
}

int ctl_aws_data_refuse(const struct ctl_aws_error *e, const struct ctl_aws_error **error,
                        char *message, size_t message_bytes, const char *format, const char *name)
{
	*error = e;
	if (name == NULL)
		snprintf(message, message_bytes, "%s", format);
	else
		snprintf(message, message_bytes, format, name);
	return -EINVAL;
}

#define REFUSE(e, format, name)                                                                    \
	ctl_aws_data_refuse((e), error, message, message_bytes, (format), (name))

/*
 * The queue a QueueUrl names: [scheme://host[:port]]/ACCOUNT/NAME, any host (SDKs send
 * the endpoint's or AWS's), this account only. NULL when none.
 */
static const char *queue_of(const char *url, const struct ctl_aws_config *config,
                            const struct ctl_aws_error **error, char *message, size_t message_bytes)
{
	const char *path = url;
	const char *scheme_end = strstr(url, "://");
	if (scheme_end != NULL)
		path = strchr(scheme_end + 3, '/');
	const char *slash = path != NULL && path[0] == '/' ? strchr(path + 1, '/') : NULL;
	if (slash == NULL || (size_t)(slash - path - 1) != CTL_AWS_ACCOUNT_ID_BYTES ||
	    !bb_queue_name_is_valid((const uint8_t *)slash + 1, strlen(slash + 1))) {
		REFUSE(&CTL_AWS_INVALID_ADDRESS, "The address %s is not valid for this endpoint.",
		       url);
		return NULL;
	}
	if (strncmp(path + 1, config->account_id, CTL_AWS_ACCOUNT_ID_BYTES) != 0) {
		REFUSE(&CTL_AWS_NONEXISTENT_QUEUE, "The specified queue does not exist.", NULL);
		return NULL;
	}
	return slash + 1;
}

/* An optional integer parameter in [min, max]; absent leaves *out. */
static int integer(json_t *params, const char *name, long long min, long long max, uint32_t *out,
                   bool *present, const struct ctl_aws_error **error, char *message,
                   size_t message_bytes)
{
	json_t *value = json_object_get(params, name);
	*present = value != NULL;
	if (value == NULL)
		return 0;
	long long n = json_is_integer(value) ? json_integer_value(value) : min - 1;
	if (n < min || n > max) {
		*error = &CTL_AWS_INVALID_PARAMETER;
		snprintf(
		    message, message_bytes,
		    "Value for parameter %s is invalid. Reason: Must be between %lld and %lld.",
		    name, min, max);
		return -EINVAL;
	}
	*out = (uint32_t)n;
	return 0;
}

static const char *required_string(json_t *params, const char *name,
                                   const struct ctl_aws_error **error, char *message,
                                   size_t message_bytes)
{
	const char *value = json_string_value(json_object_get(params, name));
	if (value == NULL)
		REFUSE(&CTL_AWS_MISSING_PARAMETER, "The request must contain the parameter %s.",
		       name);
	return value;
}

/* An optional string parameter: NULL when absent, refused when it is not a string. */
static int optional_string(json_t *params, const char *name, const char **out,
                           const struct ctl_aws_error **error, char *message,
                           size_t message_bytes)
{
	json_t *value = json_object_get(params, name);
	*out = json_string_value(value);
	if (value != NULL && *out == NULL)
		return REFUSE(&CTL_AWS_INVALID_PARAMETER,
		              "Value for parameter %s is invalid. Reason: Must be a string.", name);
	return 0;
}

/* A part of a message attribute: JSON 1.0's "StringValue", query's "Value.StringValue". */
static const char *attribute_part(json_t *value, const char *part)
{
	char dotted[32];
	snprintf(dotted, sizeof(dotted), "Value.%s", part);
	const char *text = json_string_value(json_object_get(value, part));
	return text != NULL ? text : json_string_value(json_object_get(value, dotted));
}

/* One message attribute into the frame; its rules (name, type, value) are busbard's, but a
 * BinaryValue must be base64 to be bytes at all. */
static int put_message_attribute(struct wire_writer *w, const char *name, json_t *value,
                                 const struct ctl_aws_error **error, char *message,
                                 size_t message_bytes)
{
	const char *type = attribute_part(value, "DataType");
	const char *string = attribute_part(value, "StringValue");
	const char *binary = attribute_part(value, "BinaryValue");
	wire_put_bytes(w, WIRE_TAG_ATTRIBUTE_BEGIN, NULL, 0);
	wire_put_str(w, WIRE_TAG_ATTRIBUTE_NAME, name);
	if (type != NULL)
		wire_put_str(w, WIRE_TAG_ATTRIBUTE_DATA_TYPE, type);
	if (string != NULL)
		wire_put_str(w, WIRE_TAG_ATTRIBUTE_STRING_VALUE, string);
	if (binary == NULL)
		return 0;
	uint8_t *bytes = malloc(strlen(binary) / 4 * 3 + 3);
	int n = bytes != NULL ? ctl_sns_base64_decode(binary, bytes) : -1;
	if (n >= 0)
		wire_put_bytes(w, WIRE_TAG_ATTRIBUTE_BINARY_VALUE, bytes, (size_t)n);
	free(bytes);
	if (n < 0)
		return REFUSE(&CTL_AWS_INVALID_PARAMETER,
		              "The message attribute '%s' has a BinaryValue that is not base64.",
		              name);
	return 0;
}

/* MessageAttributes (at most WIRE_ATTRIBUTES_MAX, as AWS) and the one system attribute
 * SQS takes on a send, AWSTraceHeader. */
static int put_message_attributes(json_t *params, struct wire_writer *w,
                                  const struct ctl_aws_error **error, char *message,
                                  size_t message_bytes)
{
	json_t *attributes = json_object_get(params, "MessageAttributes");
	if (json_object_size(attributes) > WIRE_ATTRIBUTES_MAX)
		return REFUSE(&CTL_AWS_INVALID_PARAMETER,
		              "Number of message attributes exceeds the allowed maximum [%s].", "10");
	const char *name;
	json_t *value;
	json_object_foreach(attributes, name, value)
	{
		int rc = put_message_attribute(w, name, value, error, message, message_bytes);
		if (rc != 0)
			return rc;
	}
	json_object_foreach(json_object_get(params, "MessageSystemAttributes"), name, value)
	{
		const char *trace = attribute_part(value, "StringValue");
		if (strcmp(name, "AWSTraceHeader") != 0 || trace == NULL)
			return REFUSE(&CTL_AWS_INVALID_PARAMETER,
			              "Message system attribute name '%s' is invalid.", name);
		wire_put_str(w, WIRE_TAG_AWS_TRACE_HEADER, trace);
	}
	return 0;
}

/*
 * SendMessage's optional fields: DelaySeconds (0-delay_max: 900, the message's own, over
 * the queue's), a FIFO queue's MessageGroupId and MessageDeduplicationId, whose rules
 * (which queue takes them, their characters and length) are busbard's, and the message's
 * attributes.
 */
static int encode_send_options(json_t *params, struct wire_writer *w, uint32_t delay_max,
                               const struct ctl_aws_error **error, char *message,
                               size_t message_bytes)
{
	uint32_t delay = 0;
	bool has_delay;
	const char *group, *dedup;
	int rc = integer(params, "DelaySeconds", 0, delay_max, &delay, &has_delay, error,
	                 message, message_bytes);
	if (rc == 0)
		rc = optional_string(params, "MessageGroupId", &group, error, message,
		                     message_bytes);
	if (rc == 0)
		rc = optional_string(params, "MessageDeduplicationId", &dedup, error, message,
		                     message_bytes);
	if (rc != 0)
		return rc;
	if (has_delay)
		wire_put_u32(w, WIRE_TAG_DELAY_SECONDS, delay);
	if (group != NULL)
		wire_put_str(w, WIRE_TAG_MESSAGE_GROUP_ID, group);
	if (dedup != NULL)
		wire_put_str(w, WIRE_TAG_MESSAGE_DEDUPLICATION_ID, dedup);
	return put_message_attributes(params, w, error, message, message_bytes);
}

/* Which of SentTimestamp, ApproximateReceiveCount, ApproximateFirstReceiveTimestamp,
 * AWSTraceHeader, and a FIFO message's MessageGroupId, SequenceNumber and
 * MessageDeduplicationId. */
static uint32_t wanted_attributes(json_t *params)
{
	static const char *const lists[] = {"AttributeNames", "MessageSystemAttributeNames"};
	uint32_t wanted = 0;
	for (size_t l = 0; l < 2; l++) {
		size_t i;
		json_t *name;
		json_array_foreach(json_object_get(params, lists[l]), i, name)
		{
			const char *n = json_string_value(name);
			if (n == NULL)
				continue;
			if (strcmp(n, "All") == 0)
				wanted |= CTL_AWS_ATTR_SENT_TIMESTAMP | CTL_AWS_ATTR_RECEIVE_COUNT |
				          CTL_AWS_ATTR_FIRST_RECEIVE | CTL_AWS_ATTR_GROUP_ID |
				          CTL_AWS_ATTR_SEQUENCE_NUMBER | CTL_AWS_ATTR_TRACE_HEADER |
				          CTL_AWS_ATTR_DEDUP_ID | CTL_AWS_ATTR_DLQ_SOURCE_ARN;
			else if (strcmp(n, "AWSTraceHeader") == 0)
				wanted |= CTL_AWS_ATTR_TRACE_HEADER;
			else if (strcmp(n, "DeadLetterQueueSourceArn") == 0)
				wanted |= CTL_AWS_ATTR_DLQ_SOURCE_ARN;
			else if (strcmp(n, "MessageGroupId") == 0)
				wanted |= CTL_AWS_ATTR_GROUP_ID;
			else if (strcmp(n, "SequenceNumber") == 0)
				wanted |= CTL_AWS_ATTR_SEQUENCE_NUMBER;
			else if (strcmp(n, "MessageDeduplicationId") == 0)
				wanted |= CTL_AWS_ATTR_DEDUP_ID;
			else if (strcmp(n, "SentTimestamp") == 0)
				wanted |= CTL_AWS_ATTR_SENT_TIMESTAMP;
			else if (strcmp(n, "ApproximateReceiveCount") == 0)
				wanted |= CTL_AWS_ATTR_RECEIVE_COUNT;
			else if (strcmp(n, "ApproximateFirstReceiveTimestamp") == 0)
				wanted |= CTL_AWS_ATTR_FIRST_RECEIVE;
		}
	}
	return wanted;
}

/* MessageAttributeNames, each a MESSAGE_ATTRIBUTE_NAME (busbard selects: docs/protocol.md,
 * "Message attributes"); bounded here as there, so the frame is. */
static int put_attribute_names(json_t *params, struct wire_writer *w,
                               const struct ctl_aws_error **error, char *message,
                               size_t message_bytes)
{
	json_t *names = json_object_get(params, "MessageAttributeNames");
	if (json_array_size(names) > WIRE_MESSAGE_ATTRIBUTE_NAMES_MAX)
		return REFUSE(&CTL_AWS_INVALID_PARAMETER,
		              "Value for parameter MessageAttributeNames is invalid. Reason: at most "
		              "%s names.",
		              "32");
	size_t i;
	json_t *name;
	json_array_foreach(names, i, name)
	{
		size_t length = json_string_length(name);
		if (!json_is_string(name) || length == 0 || length > WIRE_ATTRIBUTE_NAME_BYTES_MAX)
			return REFUSE(&CTL_AWS_INVALID_PARAMETER,
			              "Value for parameter MessageAttributeNames is invalid.", NULL);
		wire_put_str(w, WIRE_TAG_MESSAGE_ATTRIBUTE_NAME, json_string_value(name));
	}
	return 0;
}

/* ReceiveRequestAttemptId: 1-128 of letters, digits and punctuation, as SQS (busbard applies
 * it to FIFO queues only). */
static int put_attempt_id(json_t *params, struct wire_writer *w,
                          const struct ctl_aws_error **error, char *message, size_t message_bytes)
{
	const char *id;
	int rc = optional_string(params, "ReceiveRequestAttemptId", &id, error, message,
	                         message_bytes);
	if (rc != 0 || id == NULL)
		return rc;
	size_t length = strlen(id);
	bool valid = length >= 1 && length <= BB_FIFO_ID_BYTES_MAX;
	for (size_t i = 0; valid && i < length; i++)
		valid = id[i] >= '!' && id[i] <= '~';
	if (!valid)
		return REFUSE(&CTL_AWS_INVALID_PARAMETER,
		              "Value for parameter ReceiveRequestAttemptId is invalid. Reason: it must "
		              "be 1-128 alphanumeric or punctuation characters.",
		              NULL);
	wire_put_str(w, WIRE_TAG_RECEIVE_REQUEST_ATTEMPT_ID, id);
	return 0;
}

static int encode_receive(json_t *params, struct wire_writer *w, struct ctl_aws_data_op *op,
                          const struct ctl_aws_error **error, char *message, size_t message_bytes)
{
	uint32_t count = 1, visibility = 0, wait = 0;
	bool has_count, has_visibility, has_wait;
	int rc = integer(params, "MaxNumberOfMessages", 1, BB_RECEIVE_COUNT_MAX, &count, &has_count,
	                 error, message, message_bytes);
	if (rc == 0)
		rc = integer(params, "VisibilityTimeout", 0, BB_VISIBILITY_TIMEOUT_S_MAX,
		             &visibility, &has_visibility, error, message, message_bytes);
	if (rc == 0)
		rc = integer(params, "WaitTimeSeconds", 0, BB_WAIT_TIME_S_MAX, &wait, &has_wait,
		             error, message, message_bytes);
	if (rc != 0)
		return rc;
	rc = put_attribute_names(params, w, error, message, message_bytes);
	if (rc == 0)
		rc = put_attempt_id(params, w, error, message, message_bytes);
	if (rc != 0)
		return rc;
	wire_put_u32(w, WIRE_TAG_MAX_MESSAGES, count);
	if (has_visibility)
		wire_put_u32(w, WIRE_TAG_VISIBILITY_TIMEOUT_S, visibility);
	if (has_wait)
		wire_put_u32(w, WIRE_TAG_WAIT_TIME_S, wait);
	/* Without WaitTimeSeconds the queue's applies: up to the longest. */
	op->wait_s = has_wait ? wait : BB_WAIT_TIME_S_MAX;
	op->attributes = wanted_attributes(params);
	return 0;
}

int ctl_aws_data_put_handle(json_t *params, struct wire_writer *w, bool visibility,
                            uint32_t timeout_max, const struct ctl_aws_error **error,
                            char *message, size_t message_bytes)
{
	const char *handle =
	    required_string(params, "ReceiptHandle", error, message, message_bytes);
	if (handle == NULL)
		return -EINVAL;
	if (strlen(handle) > CTL_AWS_RECEIPT_HANDLE_BYTES_MAX)
		return REFUSE(&RECEIPT_HANDLE_INVALID,
		              "The input receipt handle \"%.64s...\" is "
		              "not a valid receipt handle.",
		              handle);
	wire_put_str(w, WIRE_TAG_RECEIPT_HANDLE, handle);
	if (!visibility)
		return 0;
	uint32_t timeout = 0;
	bool present;
	int rc = integer(params, "VisibilityTimeout", 0, timeout_max, &timeout, &present, error,
	                 message, message_bytes);
	if (rc == 0 && !present)
		rc = REFUSE(&CTL_AWS_MISSING_PARAMETER,
		            "The request must contain the parameter %s.", "VisibilityTimeout");
	if (rc == 0)
		wire_put_u32(w, WIRE_TAG_VISIBILITY_TIMEOUT_S, timeout);
	return rc;
}

/* The text of an object's string values and keys, nested, each with a field's overhead. */
static size_t text_bytes(json_t *value)
{
	if (json_is_string(value))
		return WIRE_FIELD_HEADER_BYTES + json_string_length(value);
	size_t bytes = WIRE_FIELD_HEADER_BYTES;
	const char *key;
	json_t *part;
	json_object_foreach(value, key, part) bytes += strlen(key) + text_bytes(part);
	size_t i;
	json_array_foreach(value, i, part) bytes += text_bytes(part);
	return bytes;
}

/* Room for what a request's fields may take beyond FIELDS_BYTES_MAX: a send's FIFO ids and
 * attributes (a BinaryValue is shorter as bytes than as base64), a receive's names, a
 * batch's entries (each number counted as its name and a field, more than its u32 takes). */
static size_t variable_bytes(json_t *params)
{
	static const char *const names[] = {"MessageGroupId",          "MessageDeduplicationId",
	                                    "MessageAttributes",       "MessageSystemAttributes",
	                                    "MessageAttributeNames",   "Entries"};
	size_t bytes = 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		bytes += text_bytes(json_object_get(params, names[i]));
	return bytes;
}

static uint8_t opcode_of(const char *action)
{
	if (strcmp(action, "SendMessage") == 0)
		return WIRE_OP_SEND_MESSAGE;
	if (strcmp(action, "ReceiveMessage") == 0)
		return WIRE_OP_RECEIVE_MESSAGE;
	if (strcmp(action, "DeleteMessage") == 0)
		return WIRE_OP_DELETE_MESSAGE;
	if (strcmp(action, "PurgeQueue") == 0)
		return WIRE_OP_PURGE_QUEUE; /* busbard accepts it on the local socket only */
	if (strcmp(action, "SendMessageBatch") == 0)
		return WIRE_OP_SEND_MESSAGE_BATCH;
	if (strcmp(action, "DeleteMessageBatch") == 0)
		return WIRE_OP_DELETE_MESSAGE_BATCH;
	if (strcmp(action, "ChangeMessageVisibilityBatch") == 0)
		return WIRE_OP_CHANGE_MESSAGE_VISIBILITY_BATCH;
	return WIRE_OP_CHANGE_MESSAGE_VISIBILITY;
}

int ctl_aws_data_put_send(json_t *params, struct wire_writer *w, uint32_t delay_max,
                          const struct ctl_aws_error **error, char *message, size_t message_bytes)
{
	const char *body = required_string(params, "MessageBody", error, message, message_bytes);
	if (body == NULL)
		return -EINVAL;
	wire_put_bytes(w, WIRE_TAG_BODY, body,
	               json_string_length(json_object_get(params, "MessageBody")));
	return encode_send_options(params, w, delay_max, error, message, message_bytes);
}

static int encode_fields(const struct ctl_aws_request *request, struct wire_writer *w,
                         struct ctl_aws_data_op *op, const struct ctl_aws_error **error,
                         char *message, size_t message_bytes)
{
	json_t *params = request->params;
	switch (op->opcode) {
	case WIRE_OP_SEND_MESSAGE:
		return ctl_aws_data_put_send(params, w, WIRE_DELAY_S_MAX, error, message,
		                             message_bytes);
	case WIRE_OP_RECEIVE_MESSAGE:
		return encode_receive(params, w, op, error, message, message_bytes);
	case WIRE_OP_DELETE_MESSAGE:
		return ctl_aws_data_put_handle(params, w, false, BB_VISIBILITY_TIMEOUT_S_MAX, error,
		                               message, message_bytes);
	case WIRE_OP_PURGE_QUEUE: return 0; /* the queue's name is all it takes */
	case WIRE_OP_SEND_MESSAGE_BATCH:
	case WIRE_OP_DELETE_MESSAGE_BATCH:
	case WIRE_OP_CHANGE_MESSAGE_VISIBILITY_BATCH:
		return ctl_aws_batch_put_entries(params, op->opcode, w, error, message, message_bytes);
	default:
		return ctl_aws_data_put_handle(params, w, true, BB_VISIBILITY_TIMEOUT_S_MAX, error,
		                               message, message_bytes);
	}
}

int ctl_aws_data_encode(const struct ctl_aws_request *request, const struct ctl_aws_config *config,
                        uint8_t **frame, size_t *frame_bytes, struct ctl_aws_data_op *op,
                        const struct ctl_aws_error **error, char *message, size_t message_bytes)
{
	assert(request != NULL && request->kind == CTL_AWS_DATA && config != NULL);
	if (request->service == CTL_AWS_EVENTS) /* PutEvents */
		return ctl_events_data_encode(request, config, frame, frame_bytes, op, error, message,
		                              message_bytes);
	if (request->service == CTL_AWS_SNS) /* Publish, PublishBatch */
		return ctl_sns_data_encode(request, config, frame, frame_bytes, op, error, message,
		                           message_bytes);
	*op = (struct ctl_aws_data_op){.opcode = opcode_of(request->action)};
	*frame = NULL;
	json_t *params = request->params;
	const char *url = required_string(params, "QueueUrl", error, message, message_bytes);
	const char *queue = url ? queue_of(url, config, error, message, message_bytes) : NULL;
	if (queue == NULL)
		return -EINVAL;
	if (ctl_aws_batch_is_sqs(op->opcode) &&
	    ctl_aws_batch_check(params, op->opcode, error, message, message_bytes) != 0)
		return -EINVAL;
	size_t body_bytes = json_string_length(json_object_get(params, "MessageBody"));
	if (body_bytes > BB_MESSAGE_BODY_BYTES_MAX)
		return REFUSE(&CTL_AWS_INVALID_PARAMETER,
		              "One or more parameters are invalid. Reason: Message must be shorter "
		              "than %s bytes.",
		              "1048576");
	size_t capacity = BB_WIRE_HEADER_BYTES + FIELDS_BYTES_MAX + CTL_AWS_RECEIPT_HANDLE_BYTES_MAX +
	                  body_bytes + variable_bytes(params);
	/* What busbard's local socket takes; busbard itself holds a message to 1 MiB with its
	 * attributes, so anything refused here is refused there too. */
	if (capacity > BB_WIRE_HEADER_BYTES + BB_LOCAL_BODY_BYTES_MAX)
		return REFUSE(&CTL_AWS_INVALID_PARAMETER,
		              "One or more parameters are invalid. Reason: Message must be shorter "
		              "than %s bytes.",
		              "1048576");
	uint8_t *buffer = malloc(capacity);
	if (buffer == NULL)
		return REFUSE(&CTL_AWS_INTERNAL, "out of memory", NULL);
	struct wire_writer w;
	wire_writer_init(&w, buffer + BB_WIRE_HEADER_BYTES, capacity - BB_WIRE_HEADER_BYTES);
	wire_put_str(&w, WIRE_TAG_QUEUE_NAME, queue);
	int rc = encode_fields(request, &w, op, error, message, message_bytes);
	if (rc != 0 || w.overflow) {
		free(buffer);
		return rc != 0 ? rc : REFUSE(&CTL_AWS_INTERNAL, "the request does not fit", NULL);
	}
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	struct wire_header h = {.version = WIRE_VERSION,
	                        .opcode = op->opcode,
	                        .body_bytes = (uint32_t)w.length,
	                        .timestamp_ms = (uint64_t)now.tv_sec * 1000u +
	                                        (uint64_t)now.tv_nsec / 1000000u};
	wire_header_encode(&h, buffer);
	*frame = buffer;
	*frame_bytes = BB_WIRE_HEADER_BYTES + w.length;
	return 0;
}

/* ---- replies ---- */

static json_t *text(const struct wire_field *f)
{
	return json_stringn((const char *)f->value, f->length);
}

static void set_attribute_text(json_t *message, const char *name, json_t *value)
{
	json_t *attributes = json_object_get(message, "Attributes");
	if (attributes == NULL) {
		attributes = json_object();
		json_object_set_new(message, "Attributes", attributes);
	}
	json_object_set_new(attributes, name, value);
}

static void set_attribute(json_t *message, const char *name, uint64_t value)
{
	set_attribute_text(message, name, json_sprintf("%llu", (unsigned long long)value));
}

/*
 * A received message's attributes are gathered in a list while its fields come (an
 * attribute's fields may come in any order), then made its MessageAttributes map.
 */
#define GATHERED "attributes being read"

static bool attribute_field(json_t *m, const struct wire_field *f)
{
	json_t *list = json_object_get(m, GATHERED);
	if (f->tag == WIRE_TAG_ATTRIBUTE_BEGIN) {
		if (list == NULL) {
			list = json_array();
			json_object_set_new(m, GATHERED, list);
		}
		return json_array_append_new(list, json_object()) == 0;
	}
	json_t *attribute = json_array_get(list, json_array_size(list) - 1);
	if (attribute == NULL)
		return false; /* a part before any ATTRIBUTE_BEGIN */
	if (f->tag != WIRE_TAG_ATTRIBUTE_BINARY_VALUE) {
		const char *key = f->tag == WIRE_TAG_ATTRIBUTE_NAME        ? "Name"
		                  : f->tag == WIRE_TAG_ATTRIBUTE_DATA_TYPE ? "DataType"
		                                                           : "StringValue";
		return json_object_set_new(attribute, key, text(f)) == 0;
	}
	char *base64 = malloc(((size_t)f->length + 2) / 3 * 4 + 1);
	if (base64 == NULL)
		return false;
	EVP_EncodeBlock((unsigned char *)base64, f->value, (int)f->length);
	json_object_set_new(attribute, "BinaryValue", json_string(base64));
	free(base64);
	return true;
}

/* The gathered attributes as MessageAttributes; false when one has no name. */
static bool finish_attributes(json_t *m)
{
	json_t *list = json_object_get(m, GATHERED);
	if (list == NULL)
		return true;
	json_t *map = json_object();
	json_object_set_new(m, "MessageAttributes", map);
	size_t i;
	json_t *attribute;
	bool whole = true;
	json_array_foreach(list, i, attribute)
	{
		const char *name = json_string_value(json_object_get(attribute, "Name"));
		if (name == NULL) {
			whole = false;
			break;
		}
		json_object_set(map, name, attribute);
		json_object_del(attribute, "Name");
	}
	json_object_del(m, GATHERED);
	return whole;
}

/* One field of a receive reply into the current message; false when it is malformed. */
static bool message_field(json_t *m, const struct wire_field *f, uint32_t wanted)
{
	uint32_t u32;
	uint64_t u64;
	switch (f->tag) {
	case WIRE_TAG_MESSAGE_ID: return json_object_set_new(m, "MessageId", text(f)) == 0;
	case WIRE_TAG_RECEIPT_HANDLE: return json_object_set_new(m, "ReceiptHandle", text(f)) == 0;
	case WIRE_TAG_MD5_OF_BODY: return json_object_set_new(m, "MD5OfBody", text(f)) == 0;
	case WIRE_TAG_BODY: return json_object_set_new(m, "Body", text(f)) == 0;
	case WIRE_TAG_RECEIVE_COUNT:
		if (!wire_field_u32(f, &u32))
			return false;
		if (wanted & CTL_AWS_ATTR_RECEIVE_COUNT)
			set_attribute(m, "ApproximateReceiveCount", u32);
		return true;
	case WIRE_TAG_SENT_TIMESTAMP_MS:
		if (!wire_field_u64(f, &u64))
			return false;
		if (wanted & CTL_AWS_ATTR_SENT_TIMESTAMP)
			set_attribute(m, "SentTimestamp", u64);
		return true;
	case WIRE_TAG_FIRST_RECEIVE_TIMESTAMP_MS:
		if (!wire_field_u64(f, &u64))
			return false;
		if (wanted & CTL_AWS_ATTR_FIRST_RECEIVE)
			set_attribute(m, "ApproximateFirstReceiveTimestamp", u64);
		return true;
	case WIRE_TAG_AWS_TRACE_HEADER:
		if (wanted & CTL_AWS_ATTR_TRACE_HEADER)
			set_attribute_text(m, "AWSTraceHeader", text(f));
		return true;
	case WIRE_TAG_DEAD_LETTER_QUEUE_SOURCE_ARN:
		if (wanted & CTL_AWS_ATTR_DLQ_SOURCE_ARN)
			set_attribute_text(m, "DeadLetterQueueSourceArn", text(f));
		return true;
	case WIRE_TAG_MD5_OF_MESSAGE_ATTRIBUTES:
		return json_object_set_new(m, "MD5OfMessageAttributes", text(f)) == 0;
	case WIRE_TAG_ATTRIBUTE_BEGIN:
	case WIRE_TAG_ATTRIBUTE_NAME:
	case WIRE_TAG_ATTRIBUTE_DATA_TYPE:
	case WIRE_TAG_ATTRIBUTE_STRING_VALUE:
	case WIRE_TAG_ATTRIBUTE_BINARY_VALUE: return attribute_field(m, f);
	case WIRE_TAG_MESSAGE_GROUP_ID:
		if (wanted & CTL_AWS_ATTR_GROUP_ID)
			set_attribute_text(m, "MessageGroupId", text(f));
		return true;
	case WIRE_TAG_SEQUENCE_NUMBER:
		if (wanted & CTL_AWS_ATTR_SEQUENCE_NUMBER)
			set_attribute_text(m, "SequenceNumber", text(f));
		return true;
	case WIRE_TAG_MESSAGE_DEDUPLICATION_ID:
		if (wanted & CTL_AWS_ATTR_DEDUP_ID)
			set_attribute_text(m, "MessageDeduplicationId", text(f));
		return true;
	default: return true; /* a field a later busbard adds */
	}
}

static int decode_messages(const struct ctl_aws_data_op *op, struct wire_reader *r, json_t *result)
{
	json_t *messages = json_array();
	json_t *current = NULL;
	struct wire_field f;
	int rc;
	uint32_t fields = 0;
	while ((rc = wire_reader_next(r, &f)) == 1 && ++fields <= BB_FIELD_COUNT_MAX) {
		if (f.tag == WIRE_TAG_MESSAGE_BEGIN) {
			if (current != NULL && !finish_attributes(current)) {
				rc = -EBADMSG;
				break;
			}
			current = json_object();
			json_array_append_new(messages, current);
		} else if (current != NULL && !message_field(current, &f, op->attributes)) {
			rc = -EBADMSG;
			break;
		}
	}
	if (rc == 1)
		rc = -EBADMSG; /* more fields than a reply has */
	if (rc == 0 && current != NULL && !finish_attributes(current))
		rc = -EBADMSG;
	if (rc == 0 && json_array_size(messages) > 0)
		json_object_set(result, "Messages", messages);
	json_decref(messages);
	return rc;
}

static int decode_sent(struct wire_reader *r, json_t *result)
{
	struct wire_field f;
	int rc;
	uint32_t fields = 0;
	while ((rc = wire_reader_next(r, &f)) == 1 && ++fields <= BB_FIELD_COUNT_MAX) {
		if (f.tag == WIRE_TAG_MESSAGE_ID)
			json_object_set_new(result, "MessageId", text(&f));
		else if (f.tag == WIRE_TAG_MD5_OF_BODY)
			json_object_set_new(result, "MD5OfMessageBody", text(&f));
		else if (f.tag == WIRE_TAG_SEQUENCE_NUMBER) /* a FIFO queue's */
			json_object_set_new(result, "SequenceNumber", text(&f));
		else if (f.tag == WIRE_TAG_MD5_OF_MESSAGE_ATTRIBUTES)
			json_object_set_new(result, "MD5OfMessageAttributes", text(&f));
	}
	bool whole = json_object_get(result, "MessageId") != NULL &&
	             json_object_get(result, "MD5OfMessageBody") != NULL;
	return rc == 0 && whole ? 0 : -EBADMSG;
}

static void error_text(const uint8_t *body, size_t body_bytes, char *message, size_t bytes)
{
	struct wire_reader r;
	struct wire_field f;
	wire_reader_init(&r, body, body_bytes);
	for (uint32_t i = 0; i < BB_FIELD_COUNT_MAX && wire_reader_next(&r, &f) == 1; i++) {
		if (f.tag == WIRE_TAG_ERROR_MESSAGE) {
			int length = f.length < bytes ? (int)f.length : (int)bytes - 1;
			snprintf(message, bytes, "%.*s", length, (const char *)f.value);
			return;
		}
	}
}

int ctl_aws_data_decode(const struct ctl_aws_data_op *op, const struct wire_header *reply,
                        const uint8_t *body, size_t body_bytes, json_t **result,
                        const struct ctl_aws_error **error, char *message, size_t message_bytes)
{
	assert(op != NULL && reply != NULL && result != NULL);
	*result = NULL;
	if (reply->status != WIRE_OK) {
		*error = ctl_aws_data_status_error((enum wire_status)reply->status);
		snprintf(message, message_bytes, "%s",
		         wire_status_name((enum wire_status)reply->status));
		error_text(body, body_bytes, message, message_bytes);
		return -EINVAL;
	}
	struct wire_reader r;
	wire_reader_init(&r, body, body_bytes);
	json_t *out = json_object();
	int rc = 0;
	if (op->opcode == WIRE_OP_SEND_MESSAGE)
		rc = decode_sent(&r, out);
	else if (op->opcode == WIRE_OP_RECEIVE_MESSAGE)
		rc = decode_messages(op, &r, out);
	else if (ctl_aws_batch_is_sqs(op->opcode))
		rc = ctl_aws_batch_decode(op->opcode, &r, out);
	else if (op->opcode == WIRE_OP_PUT_EVENTS)
		rc = ctl_events_data_decode(&r, out);
	else if (op->opcode == WIRE_OP_PUBLISH || op->opcode == WIRE_OP_PUBLISH_BATCH)
		rc = ctl_sns_data_decode(op, &r, out);
	if (rc != 0) {
		json_decref(out);
		*error = &CTL_AWS_INTERNAL;
		snprintf(message, message_bytes, "busbard's reply does not parse");
		return -EPROTO;
	}
	*result = out;
	return 0;
}

/* ---- GetQueueAttributes' counts ---- */

static const struct {
	uint16_t tag;
	const char *name;
} COUNTS[] = {
    {WIRE_TAG_MESSAGES_VISIBLE, "ApproximateNumberOfMessages"},
    {WIRE_TAG_MESSAGES_NOT_VISIBLE, "ApproximateNumberOfMessagesNotVisible"},
    {WIRE_TAG_MESSAGES_DELAYED, "ApproximateNumberOfMessagesDelayed"},
};
#define COUNTS_COUNT (sizeof(COUNTS) / sizeof(COUNTS[0]))

/* Whether AttributeNames holds name or "All". */
static bool names_ask_for(json_t *names, const char *name)
{
	size_t i;
	json_t *item;
	json_array_foreach(names, i, item)
	{
		const char *n = json_string_value(item);
		if (n != NULL && (strcmp(n, "All") == 0 || strcmp(n, name) == 0))
			return true;
	}
	return false;
}

bool ctl_aws_counts_wanted(const struct ctl_aws_request *request)
{
	assert(request != NULL);
	if (request->service != CTL_AWS_SQS || strcmp(request->action, "GetQueueAttributes") != 0)
		return false;
	json_t *names = json_object_get(request->params, "AttributeNames");
	for (size_t i = 0; i < COUNTS_COUNT; i++)
		if (names_ask_for(names, COUNTS[i].name))
			return true;
	return false;
}

int ctl_aws_counts_encode(const struct ctl_aws_request *request, const struct ctl_aws_config *config,
                          uint8_t **frame, size_t *frame_bytes, const struct ctl_aws_error **error,
                          char *message, size_t message_bytes)
{
	assert(request != NULL && config != NULL && frame != NULL);
	*frame = NULL;
	const char *url =
	    required_string(request->params, "QueueUrl", error, message, message_bytes);
	const char *queue = url ? queue_of(url, config, error, message, message_bytes) : NULL;
	if (queue == NULL)
		return -EINVAL;
	size_t capacity = BB_WIRE_HEADER_BYTES + wire_field_bytes(strlen(queue));
	uint8_t *buffer = malloc(capacity);
	if (buffer == NULL)
		return REFUSE(&CTL_AWS_INTERNAL, "out of memory", NULL);
	struct wire_writer w;
	wire_writer_init(&w, buffer + BB_WIRE_HEADER_BYTES, capacity - BB_WIRE_HEADER_BYTES);
	wire_put_str(&w, WIRE_TAG_QUEUE_NAME, queue);
	assert(!w.overflow);
	struct wire_header h = {.version = WIRE_VERSION,
	                        .opcode = WIRE_OP_GET_QUEUE_COUNTS,
	                        .body_bytes = (uint32_t)w.length};
	wire_header_encode(&h, buffer);
	*frame = buffer;
	*frame_bytes = BB_WIRE_HEADER_BYTES + w.length;
	return 0;
}

int ctl_aws_counts_decode(const struct wire_header *reply, const uint8_t *body, size_t body_bytes,
                          json_t **counts, const struct ctl_aws_error **error, char *message,
                          size_t message_bytes)
{
	assert(reply != NULL && counts != NULL);
	*counts = NULL;
	bool unknown = reply->status == WIRE_ERR_NONEXISTENT_QUEUE;
	if (reply->status != WIRE_OK && !unknown) {
		*error = ctl_aws_data_status_error((enum wire_status)reply->status);
		snprintf(message, message_bytes, "%s",
		         wire_status_name((enum wire_status)reply->status));
		error_text(body, body_bytes, message, message_bytes);
		return -EINVAL;
	}
	uint32_t values[COUNTS_COUNT] = {0};
	struct wire_reader r;
	struct wire_field f;
	wire_reader_init(&r, unknown ? NULL : body, unknown ? 0 : body_bytes);
	int rc;
	uint32_t fields = 0;
	while ((rc = wire_reader_next(&r, &f)) == 1 && ++fields <= BB_FIELD_COUNT_MAX) {
		for (size_t i = 0; i < COUNTS_COUNT; i++)
			if (f.tag == COUNTS[i].tag && !wire_field_u32(&f, &values[i]))
				rc = -EBADMSG;
		if (rc != 1)
			break;
	}
	if (rc != 0)
		return REFUSE(&CTL_AWS_INTERNAL, "busbard's reply does not parse", NULL);
	json_t *out = json_object();
	for (size_t i = 0; i < COUNTS_COUNT; i++)
		json_object_set_new(out, COUNTS[i].name, json_sprintf("%u", values[i]));
	*counts = out;
	return 0;
}

void ctl_aws_counts_merge(const struct ctl_aws_request *request, json_t *counts, json_t *answer)
{
	assert(request != NULL && json_is_object(counts) && json_is_object(answer));
	json_t *names = json_object_get(request->params, "AttributeNames");
	json_t *attributes = json_object_get(answer, "Attributes");
	if (attributes == NULL) {
		attributes = json_object();
		json_object_set_new(answer, "Attributes", attributes);
	}
	for (size_t i = 0; i < COUNTS_COUNT; i++)
		if (names_ask_for(names, COUNTS[i].name))
			json_object_set(attributes, COUNTS[i].name,
			                json_object_get(counts, COUNTS[i].name));
}
