/*
 * SQS batches between the AWS API and busbard (see ctl_aws_batch.h). A batch is checked as a
 * whole here first, so its refusals carry AWS's messages ("Id x repeated."), then each entry
 * is written as the single call's fields would be (ctl_aws_data_int.h), with the ranges an
 * entry may fail alone (DelaySeconds over 900, VisibilityTimeout over 43200) left to busbard,
 * which fails that entry and does the others, as SQS does. Per-entry answers carry busbard's
 * status; the code and SenderFault are the single call's AWS error, the message is busbar's
 * (busbard's batch reply carries no per-entry text: docs/protocol.md, "Batches").
 */
#include "ctl_aws_batch.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctl_aws_data.h"
#include "ctl_aws_data_int.h"

#define SQS_BATCH_ERROR(code) {400, "AWS.SimpleQueueService." code, "com.amazonaws.sqs#" code, true}
static const struct ctl_aws_error EMPTY_BATCH = SQS_BATCH_ERROR("EmptyBatchRequest");
static const struct ctl_aws_error TOO_MANY_ENTRIES =
    SQS_BATCH_ERROR("TooManyEntriesInBatchRequest");
static const struct ctl_aws_error IDS_NOT_DISTINCT = SQS_BATCH_ERROR("BatchEntryIdsNotDistinct");
static const struct ctl_aws_error BATCH_TOO_LONG = SQS_BATCH_ERROR("BatchRequestTooLong");
static const struct ctl_aws_error INVALID_BATCH_ID = SQS_BATCH_ERROR("InvalidBatchEntryId");

#define NUMBER_TEXT_BYTES 24u /* a size_t in decimal */

bool ctl_aws_batch_is_sqs(uint8_t opcode)
{
	return opcode == WIRE_OP_SEND_MESSAGE_BATCH || opcode == WIRE_OP_DELETE_MESSAGE_BATCH ||
	       opcode == WIRE_OP_CHANGE_MESSAGE_VISIBILITY_BATCH;
}

const struct ctl_aws_error *ctl_aws_batch_status_error(enum wire_status status)
{
	switch (status) {
	case WIRE_ERR_EMPTY_BATCH_REQUEST: return &EMPTY_BATCH;
	case WIRE_ERR_TOO_MANY_ENTRIES_IN_BATCH_REQUEST: return &TOO_MANY_ENTRIES;
	case WIRE_ERR_BATCH_ENTRY_IDS_NOT_DISTINCT: return &IDS_NOT_DISTINCT;
	case WIRE_ERR_BATCH_REQUEST_TOO_LONG: return &BATCH_TOO_LONG;
	case WIRE_ERR_INVALID_BATCH_ENTRY_ID: return &INVALID_BATCH_ID;
	default: return NULL;
	}
}

/* The name AWS gives one entry of the batch, as its EmptyBatchRequest message says it. */
static const char *entry_name(uint8_t opcode)
{
	if (opcode == WIRE_OP_SEND_MESSAGE_BATCH)
		return "SendMessageBatchRequestEntry";
	if (opcode == WIRE_OP_DELETE_MESSAGE_BATCH)
		return "DeleteMessageBatchRequestEntry";
	return "ChangeMessageVisibilityBatchRequestEntry";
}

/* The bytes of a base64 text once decoded (4 characters are 3 bytes, less the padding). */
static size_t decoded_bytes(const char *base64)
{
	size_t length = strlen(base64);
	size_t bytes = length / 4 * 3;
	for (size_t i = length; i > 0 && bytes > 0 && base64[i - 1] == '='; i--)
		bytes--;
	return bytes;
}

/* What a message's attributes add to its size, as AWS counts it: names, types, values (a
 * BinaryValue's bytes, not its base64). Either JSON 1.0's parts or query's "Value.*" ones. */
static size_t attributes_bytes(json_t *attributes)
{
	size_t bytes = 0;
	const char *name, *part;
	json_t *value, *text;
	json_object_foreach(attributes, name, value)
	{
		bytes += strlen(name);
		json_object_foreach(value, part, text)
		{
			const char *t = json_string_value(text);
			if (t == NULL)
				continue;
			size_t part_bytes = strlen(part);
			bool binary = part_bytes >= 11 && strcmp(part + part_bytes - 11, "BinaryValue") == 0;
			bytes += binary ? decoded_bytes(t) : strlen(t);
		}
	}
	return bytes;
}

/* One entry's Id: present, 1-80 of [A-Za-z0-9_-], not among the entries before it. */
static int check_id(json_t *entries, size_t index, const struct ctl_aws_error **error,
                    char *message, size_t message_bytes)
{
	json_t *entry = json_array_get(entries, index);
	const char *id = json_string_value(json_object_get(entry, "Id"));
	if (!json_is_object(entry))
		return ctl_aws_data_refuse(&CTL_AWS_INVALID_PARAMETER, error, message, message_bytes,
		                           "Value for parameter Entries is invalid. Reason: an entry "
		                           "is not a structure.",
		                           NULL);
	if (id == NULL)
		return ctl_aws_data_refuse(&CTL_AWS_MISSING_PARAMETER, error, message, message_bytes,
		                           "The request must contain the parameter %s.Id.",
		                           "Entries");
	if (!wire_batch_entry_id_is_valid((const uint8_t *)id, strlen(id)))
		return ctl_aws_data_refuse(&INVALID_BATCH_ID, error, message, message_bytes,
		                           "A batch entry id can only contain alphanumeric "
		                           "characters, hyphens and underscores. It can be at most "
		                           "80 letters long.",
		                           NULL);
	for (size_t j = 0; j < index; j++) {
		const char *other = json_string_value(json_object_get(json_array_get(entries, j), "Id"));
		if (strcmp(other, id) == 0) /* ids are case-sensitive */
			return ctl_aws_data_refuse(&IDS_NOT_DISTINCT, error, message, message_bytes,
			                           "Id %s repeated.", id);
	}
	return 0;
}

int ctl_aws_batch_check(json_t *params, uint8_t opcode, const struct ctl_aws_error **error,
                        char *message, size_t message_bytes)
{
	assert(ctl_aws_batch_is_sqs(opcode) && error != NULL);
	json_t *entries = json_object_get(params, "Entries");
	char number[NUMBER_TEXT_BYTES];
	if (entries != NULL && !json_is_array(entries))
		return ctl_aws_data_refuse(&CTL_AWS_INVALID_PARAMETER, error, message, message_bytes,
		                           "Value for parameter Entries is invalid. Reason: Must be a "
		                           "list.",
		                           NULL);
	size_t count = json_array_size(entries);
	if (count == 0)
		return ctl_aws_data_refuse(&EMPTY_BATCH, error, message, message_bytes,
		                           "There should be at least one %s in the request.",
		                           entry_name(opcode));
	snprintf(number, sizeof(number), "%zu", count);
	if (count > WIRE_BATCH_ENTRIES_MAX)
		return ctl_aws_data_refuse(&TOO_MANY_ENTRIES, error, message, message_bytes,
		                           "Maximum number of entries per request are 10. You have "
		                           "sent %s.",
		                           number);
	size_t bytes = 0;
	for (size_t i = 0; i < count; i++) {
		int rc = check_id(entries, i, error, message, message_bytes);
		if (rc != 0)
			return rc;
		json_t *entry = json_array_get(entries, i);
		bytes += json_string_length(json_object_get(entry, "MessageBody")) +
		         attributes_bytes(json_object_get(entry, "MessageAttributes"));
	}
	snprintf(number, sizeof(number), "%zu", bytes);
	if (opcode == WIRE_OP_SEND_MESSAGE_BATCH && bytes > WIRE_BATCH_BODY_BYTES_MAX)
		return ctl_aws_data_refuse(&BATCH_TOO_LONG, error, message, message_bytes,
		                           "Batch requests cannot be longer than 1048576 bytes. You "
		                           "have sent %s bytes.",
		                           number);
	return 0;
}

int ctl_aws_batch_put_entries(json_t *params, uint8_t opcode, struct wire_writer *w,
                              const struct ctl_aws_error **error, char *message,
                              size_t message_bytes)
{
	assert(ctl_aws_batch_is_sqs(opcode) && w != NULL);
	json_t *entries = json_object_get(params, "Entries");
	assert(json_array_size(entries) <= WIRE_BATCH_ENTRIES_MAX); /* ctl_aws_batch_check's */
	size_t i;
	json_t *entry;
	json_array_foreach(entries, i, entry)
	{
		wire_put_bytes(w, WIRE_TAG_ENTRY_BEGIN, NULL, 0);
		wire_put_str(w, WIRE_TAG_ENTRY_ID, json_string_value(json_object_get(entry, "Id")));
		/* Any u32 goes: an entry out of range fails alone, in busbard (dp_request.c). */
		int rc = opcode == WIRE_OP_SEND_MESSAGE_BATCH
		             ? ctl_aws_data_put_send(entry, w, UINT32_MAX, error, message,
		                                     message_bytes)
		             : ctl_aws_data_put_handle(
		                   entry, w, opcode == WIRE_OP_CHANGE_MESSAGE_VISIBILITY_BATCH,
		                   UINT32_MAX, error, message, message_bytes);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* Why an entry failed, in words: the code is AWS's (the single call's), the text busbar's. */
static const char *failure_text(uint8_t opcode, uint32_t status)
{
	bool send = opcode == WIRE_OP_SEND_MESSAGE_BATCH;
	switch (status) {
	case WIRE_ERR_MISSING_PARAMETER:
		return send ? "The message needs a non-empty MessageBody and, on a FIFO queue, a "
		              "MessageGroupId."
		            : "The request must contain the parameter ReceiptHandle.";
	case WIRE_ERR_INVALID_PARAMETER:
		return send ? "A parameter of the message is invalid: DelaySeconds (0-900, standard "
		              "queues), MessageGroupId or MessageDeduplicationId (1-128, FIFO only, "
		              "one of them or ContentBasedDeduplication), or a message attribute."
		            : "Value for parameter VisibilityTimeout is invalid. Reason: Must be "
		              "between 0 and 43200, and at most 12 hours since the receive.";
	case WIRE_ERR_MESSAGE_TOO_LONG:
		return "One or more parameters are invalid. Reason: Message must be shorter than the "
		       "queue's MaximumMessageSize (with its attributes).";
	case WIRE_ERR_INVALID_MESSAGE_CONTENTS:
		return "Invalid characters found: the message body must be #x9 | #xA | #xD | #x20 to "
		       "#xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF.";
	case WIRE_ERR_RECEIPT_HANDLE_INVALID: return "The receipt handle is not valid.";
	case WIRE_ERR_MESSAGE_NOT_INFLIGHT: return "The message is not in flight.";
	case WIRE_ERR_OVER_LIMIT: return "The queue, or the message store it shares, is full.";
	case WIRE_ERR_SERVICE_UNAVAILABLE:
		return "busbard could not take it for now: send this entry again.";
	default: return wire_status_name((enum wire_status)status);
	}
}

/* Ends an entry of the reply: into Successful as it is, or Failed in AWS's shape. */
static void finish_entry(uint8_t opcode, json_t *entry, uint32_t status, json_t *successful,
                         json_t *failed)
{
	if (status == WIRE_OK) {
		json_array_append(successful, entry);
		return;
	}
	const struct ctl_aws_error *e = ctl_aws_data_status_error((enum wire_status)status);
	json_t *failure = json_object();
	json_object_set(failure, "Id", json_object_get(entry, "Id"));
	json_object_set_new(failure, "SenderFault", json_boolean(e->sender));
	json_object_set_new(failure, "Code", json_string(e->code));
	json_object_set_new(failure, "Message", json_string(failure_text(opcode, status)));
	json_array_append_new(failed, failure);
}

/* True when an ended entry is whole: an Id, and a successful send's id and digest. */
static bool entry_whole(uint8_t opcode, json_t *entry, uint32_t status)
{
	if (json_object_get(entry, "Id") == NULL)
		return false;
	if (status != WIRE_OK || opcode != WIRE_OP_SEND_MESSAGE_BATCH)
		return true;
	return json_object_get(entry, "MessageId") != NULL &&
	       json_object_get(entry, "MD5OfMessageBody") != NULL;
}

/* The reply field of an entry's answer into the entry (other fields: a later busbard's). */
static bool entry_field(json_t *entry, const struct wire_field *f, uint32_t *status)
{
	static const struct {
		uint16_t tag;
		const char *name;
	} texts[] = {
	    {WIRE_TAG_ENTRY_ID, "Id"},
	    {WIRE_TAG_MESSAGE_ID, "MessageId"},
	    {WIRE_TAG_MD5_OF_BODY, "MD5OfMessageBody"},
	    {WIRE_TAG_MD5_OF_MESSAGE_ATTRIBUTES, "MD5OfMessageAttributes"},
	    {WIRE_TAG_SEQUENCE_NUMBER, "SequenceNumber"},
	};
	if (f->tag == WIRE_TAG_ENTRY_STATUS)
		return wire_field_u32(f, status);
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		if (f->tag == texts[i].tag)
			return json_object_set_new(entry, texts[i].name,
			                           json_stringn((const char *)f->value, f->length)) == 0;
	}
	return true;
}

int ctl_aws_batch_decode(uint8_t opcode, struct wire_reader *r, json_t *result)
{
	assert(ctl_aws_batch_is_sqs(opcode) && json_is_object(result));
	json_t *successful = json_array(), *failed = json_array(), *entry = NULL;
	uint32_t status = WIRE_OK, fields = 0, entries = 0;
	struct wire_field f;
	int rc;
	while ((rc = wire_reader_next(r, &f)) == 1 && ++fields <= BB_FIELD_COUNT_MAX) {
		bool ends = f.tag == WIRE_TAG_ENTRY_BEGIN && entry != NULL;
		if (ends && !entry_whole(opcode, entry, status))
			break;
		if (ends)
			finish_entry(opcode, entry, status, successful, failed);
		if (f.tag == WIRE_TAG_ENTRY_BEGIN) {
			json_decref(entry);
			entry = json_object();
			status = WIRE_OK;
			entries++;
		} else if (entry != NULL && !entry_field(entry, &f, &status)) {
			break;
		}
	}
	bool whole = rc == 0 && entries > 0 && entries <= WIRE_BATCH_ENTRIES_MAX &&
	             entry_whole(opcode, entry, status);
	if (whole)
		finish_entry(opcode, entry, status, successful, failed);
	json_decref(entry);
	json_object_set_new(result, "Successful", successful);
	json_object_set_new(result, "Failed", failed);
	return whole ? 0 : -EBADMSG;
}
