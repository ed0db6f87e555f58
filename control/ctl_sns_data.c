/*
 * Publish and PublishBatch between the AWS API and busbard (see ctl_sns_data.h).
 * The query protocol's nested lists arrive flat ("PublishBatchRequestEntries.member.2.
 * MessageAttributes.entry.1.Value.DataType"); they are read here by name, N from 1 up to
 * the first gap, rather than folded into objects first. Binary attribute values come
 * base64-encoded, as AWS sends them, and go to busbard as bytes.
 */
#include "ctl_sns_data.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "bb_limits.h"
#include "bb_snapshot.h"

#define NAME_BYTES_MAX   160u  /* a flat parameter name this file builds */
#define FIELD_OVERHEAD   16u   /* what a field takes on the wire besides its value, at most */
#define FIXED_BYTES      1024u /* the topic and the fields of no parameter */

#define SNS_ERROR(status, code) {status, code, code, true}
static const struct ctl_aws_error NOT_FOUND = SNS_ERROR(404, "NotFound");
static const struct ctl_aws_error INVALID_PARAMETER = SNS_ERROR(400, "InvalidParameter");
static const struct ctl_aws_error PARAMETER_VALUE_INVALID =
    SNS_ERROR(400, "ParameterValueInvalid");
static const struct ctl_aws_error EMPTY_BATCH = SNS_ERROR(400, "EmptyBatchRequest");
static const struct ctl_aws_error TOO_MANY_ENTRIES =
    SNS_ERROR(400, "TooManyEntriesInBatchRequest");
static const struct ctl_aws_error IDS_NOT_DISTINCT = SNS_ERROR(400, "BatchEntryIdsNotDistinct");
static const struct ctl_aws_error BATCH_TOO_LONG = SNS_ERROR(400, "BatchRequestTooLong");
static const struct ctl_aws_error INVALID_BATCH_ID = SNS_ERROR(400, "InvalidBatchEntryId");

const struct ctl_aws_error *ctl_sns_data_status_error(enum wire_status status)
{
	switch (status) {
	case WIRE_ERR_SNS_NOT_FOUND: return &NOT_FOUND;
	case WIRE_ERR_SNS_INVALID_PARAMETER: return &INVALID_PARAMETER;
	case WIRE_ERR_SNS_PARAMETER_VALUE_INVALID: return &PARAMETER_VALUE_INVALID;
	case WIRE_ERR_SNS_EMPTY_BATCH_REQUEST: return &EMPTY_BATCH;
	case WIRE_ERR_SNS_TOO_MANY_ENTRIES_IN_BATCH_REQUEST: return &TOO_MANY_ENTRIES;
	case WIRE_ERR_SNS_BATCH_ENTRY_IDS_NOT_DISTINCT: return &IDS_NOT_DISTINCT;
	case WIRE_ERR_SNS_BATCH_REQUEST_TOO_LONG: return &BATCH_TOO_LONG;
	case WIRE_ERR_SNS_INVALID_BATCH_ENTRY_ID: return &INVALID_BATCH_ID;
	default: return NULL;
	}
}

static int refuse(const struct ctl_aws_error *e, const char *text,
                  const struct ctl_aws_error **error, char *message, size_t message_bytes)
{
	*error = e;
	snprintf(message, message_bytes, "%s", text);
	return -EINVAL;
}

/* params[prefix + name], a string, or NULL. */
static const char *get(json_t *params, const char *prefix, const char *name)
{
	char key[2 * NAME_BYTES_MAX]; /* a prefix of NAME_BYTES_MAX and a field's name */
	snprintf(key, sizeof(key), "%s%s", prefix, name);
	return json_string_value(json_object_get(params, key));
}

/* The topic of TopicArn (or TargetArn): this account's and region's only. */
static const char *topic_of(json_t *params, const struct ctl_aws_config *config,
                            const struct ctl_aws_error **error, char *message,
                            size_t message_bytes)
{
	const char *arn = get(params, "", "TopicArn");
	arn = arn != NULL ? arn : get(params, "", "TargetArn");
	if (arn == NULL) {
		refuse(get(params, "", "PhoneNumber") != NULL ? &INVALID_PARAMETER
		                                             : &CTL_AWS_MISSING_PARAMETER,
		       get(params, "", "PhoneNumber") != NULL
		           ? "Invalid parameter: PhoneNumber Reason: busbar does not send SMS"
		           : "The request must contain the parameter TopicArn.",
		       error, message, message_bytes);
		return NULL;
	}
	char prefix[96];
	snprintf(prefix, sizeof(prefix), "arn:aws:sns:%s:%s:", config->region, config->account_id);
	bool ours = strncmp(arn, prefix, strlen(prefix)) == 0;
	const char *name = arn + (ours ? strlen(prefix) : 0);
	if (strncmp(arn, "arn:aws:sns:", 12) != 0 ||
	    (ours && !bb_topic_name_is_valid((const uint8_t *)name, strlen(name)))) {
		refuse(&INVALID_PARAMETER, "Invalid parameter: TopicArn", error, message,
		       message_bytes);
		return NULL;
	}
	if (!ours)
		refuse(&NOT_FOUND, "Topic does not exist", error, message, message_bytes);
	return ours ? name : NULL;
}

int ctl_sns_base64_decode(const char *text, uint8_t *out)
{
	size_t length = strlen(text);
	if (length % 4 != 0 || length > INT32_MAX)
		return -1;
	int n = EVP_DecodeBlock(out, (const unsigned char *)text, (int)length);
	if (n < 0)
		return -1;
	for (size_t i = length; i > 0 && text[i - 1] == '='; i--)
		n--; /* EVP_DecodeBlock counts the padding as zero bytes */
	return n;
}

/* One attribute of "<prefix>MessageAttributes.entry.N." (query) into the frame. */
static int put_attribute(struct wire_writer *w, json_t *params, const char *entry,
                         const struct ctl_aws_error **error, char *message, size_t bytes)
{
	const char *name = get(params, entry, "Name");
	const char *type = get(params, entry, "Value.DataType");
	const char *string = get(params, entry, "Value.StringValue");
	const char *binary = get(params, entry, "Value.BinaryValue");
	wire_put_bytes(w, WIRE_TAG_ATTRIBUTE_BEGIN, NULL, 0);
	wire_put_str(w, WIRE_TAG_ATTRIBUTE_NAME, name);
	if (type != NULL)
		wire_put_str(w, WIRE_TAG_ATTRIBUTE_DATA_TYPE, type);
	if (string != NULL)
		wire_put_str(w, WIRE_TAG_ATTRIBUTE_STRING_VALUE, string);
	if (binary == NULL)
		return 0;
	uint8_t *value = malloc(strlen(binary) / 4 * 3 + 3);
	int n = value != NULL ? ctl_sns_base64_decode(binary, value) : -1;
	if (n >= 0)
		wire_put_bytes(w, WIRE_TAG_ATTRIBUTE_BINARY_VALUE, value, (size_t)n);
	free(value);
	if (n < 0)
		return refuse(&PARAMETER_VALUE_INVALID,
		              "The message attribute's BinaryValue is not base64", error, message,
		              bytes);
	return 0;
}

/* busbar's JSON shape: "MessageAttributes": {"name": {"DataType", "StringValue", ...}}. */
static int put_json_attributes(struct wire_writer *w, json_t *attributes,
                               const struct ctl_aws_error **error, char *message, size_t bytes)
{
	const char *name;
	json_t *value;
	json_object_foreach(attributes, name, value)
	{
		json_t *flat = json_pack("{s:s}", "Name", name);
		const char *key;
		json_t *part;
		json_object_foreach(value, key, part)
		{
			char field[NAME_BYTES_MAX];
			snprintf(field, sizeof(field), "Value.%s", key);
			if (json_is_string(part))
				json_object_set(flat, field, part);
		}
		int rc = put_attribute(w, flat, "", error, message, bytes);
		json_decref(flat);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* A message's fields: those of Publish, or of one PublishBatch entry (prefix). */
static int put_message(struct wire_writer *w, json_t *params, const char *prefix,
                       const struct ctl_aws_error **error, char *message, size_t bytes)
{
	static const struct {
		const char *name;
		uint16_t tag;
	} fields[] = {
	    {"Message", WIRE_TAG_BODY},
	    {"Subject", WIRE_TAG_SUBJECT},
	    {"MessageStructure", WIRE_TAG_MESSAGE_STRUCTURE},
	    {"MessageGroupId", WIRE_TAG_MESSAGE_GROUP_ID},
	    {"MessageDeduplicationId", WIRE_TAG_MESSAGE_DEDUPLICATION_ID},
	};
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const char *value = get(params, prefix, fields[i].name);
		if (value != NULL)
			wire_put_str(w, fields[i].tag, value);
	}
	char key[NAME_BYTES_MAX];
	snprintf(key, sizeof(key), "%sMessageAttributes", prefix);
	json_t *attributes = json_object_get(params, key);
	if (json_is_object(attributes))
		return put_json_attributes(w, attributes, error, message, bytes);
	/* Up to the first gap; more than WIRE_ATTRIBUTES_MAX are busbard's to refuse. */
	for (unsigned n = 1; n <= CTL_AWS_FORM_PARAMS_MAX; n++) {
		char entry[NAME_BYTES_MAX];
		snprintf(entry, sizeof(entry), "%sMessageAttributes.entry.%u.", prefix, n);
		if (get(params, entry, "Name") == NULL)
			break;
		int rc = put_attribute(w, params, entry, error, message, bytes);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* PublishBatchRequestEntries.member.N (query) or busbar's JSON array of entries. */
static int put_entries(struct wire_writer *w, json_t *params, const struct ctl_aws_error **error,
                       char *message, size_t bytes)
{
	json_t *list = json_object_get(params, "PublishBatchRequestEntries");
	size_t i;
	json_t *entry;
	json_array_foreach(list, i, entry)
	{
		const char *id = get(entry, "", "Id");
		wire_put_bytes(w, WIRE_TAG_ENTRY_BEGIN, NULL, 0);
		if (id != NULL)
			wire_put_str(w, WIRE_TAG_ENTRY_ID, id);
		int rc = put_message(w, entry, "", error, message, bytes);
		if (rc != 0)
			return rc;
	}
	/* Past WIRE_BATCH_ENTRIES_MAX too: busbard answers TooManyEntriesInBatchRequest. */
	for (unsigned n = 1; list == NULL && n <= CTL_AWS_FORM_PARAMS_MAX; n++) {
		char prefix[NAME_BYTES_MAX];
		snprintf(prefix, sizeof(prefix), "PublishBatchRequestEntries.member.%u.", n);
		const char *id = get(params, prefix, "Id");
		if (id == NULL)
			break;
		wire_put_bytes(w, WIRE_TAG_ENTRY_BEGIN, NULL, 0);
		wire_put_str(w, WIRE_TAG_ENTRY_ID, id);
		int rc = put_message(w, params, prefix, error, message, bytes);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* What the frame may take: every parameter's value with a field's overhead (base64 only
 * shrinks), and the fixed fields. */
static size_t capacity_of(json_t *params)
{
	size_t bytes = BB_WIRE_HEADER_BYTES + FIXED_BYTES;
	const char *name;
	json_t *value;
	json_object_foreach(params, name, value)
	{
		char *text = json_dumps(value, JSON_ENCODE_ANY);
		bytes += (text != NULL ? strlen(text) : 0) + FIELD_OVERHEAD * 4;
		free(text);
	}
	return bytes;
}

int ctl_sns_data_encode(const struct ctl_aws_request *request, const struct ctl_aws_config *config,
                        uint8_t **frame, size_t *frame_bytes, struct ctl_aws_data_op *op,
                        const struct ctl_aws_error **error, char *message, size_t message_bytes)
{
	assert(request != NULL && request->service == CTL_AWS_SNS);
	assert(frame != NULL && op != NULL);
	bool batch = strcmp(request->action, "PublishBatch") == 0;
	*op = (struct ctl_aws_data_op){.opcode = batch ? WIRE_OP_PUBLISH_BATCH : WIRE_OP_PUBLISH};
	*frame = NULL;
	const char *topic = topic_of(request->params, config, error, message, message_bytes);
	if (topic == NULL)
		return -EINVAL;
	size_t capacity = capacity_of(request->params);
	uint8_t *buffer = malloc(capacity);
	if (buffer == NULL)
		return refuse(&CTL_AWS_INTERNAL, "out of memory", error, message, message_bytes);
	struct wire_writer w;
	wire_writer_init(&w, buffer + BB_WIRE_HEADER_BYTES, capacity - BB_WIRE_HEADER_BYTES);
	wire_put_str(&w, WIRE_TAG_TOPIC_NAME, topic);
	int rc = batch ? put_entries(&w, request->params, error, message, message_bytes)
	               : put_message(&w, request->params, "", error, message, message_bytes);
	if (rc == 0 && w.overflow)
		rc = refuse(&CTL_AWS_INTERNAL, "the request does not fit", error, message,
		            message_bytes);
	if (rc != 0) {
		free(buffer);
		return rc;
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

/* Ends a batch entry: into Successful, or Failed with its status's SNS code. */
static void finish_entry(json_t *entry, uint32_t status, json_t *successful, json_t *failed)
{
	if (entry == NULL)
		return;
	if (status == WIRE_OK) {
		json_array_append(successful, entry);
		return;
	}
	json_object_del(entry, "MessageId");
	json_object_set_new(entry, "Code",
	                    json_string(wire_status_name((enum wire_status)status)));
	if (json_object_get(entry, "Message") == NULL)
		json_object_set_new(entry, "Message",
		                    json_string(wire_status_name((enum wire_status)status)));
	const struct ctl_aws_error *e = ctl_sns_data_status_error((enum wire_status)status);
	json_object_set_new(entry, "SenderFault", json_boolean(e == NULL || e->sender));
	json_array_append(failed, entry);
}

static int decode_batch(struct wire_reader *r, json_t *result)
{
	json_t *successful = json_array(), *failed = json_array(), *entry = NULL;
	uint32_t status = WIRE_OK, fields = 0;
	struct wire_field f;
	int rc;
	while ((rc = wire_reader_next(r, &f)) == 1 && ++fields <= BB_FIELD_COUNT_MAX) {
		if (f.tag == WIRE_TAG_ENTRY_BEGIN) {
			finish_entry(entry, status, successful, failed);
			json_decref(entry);
			entry = json_object();
			status = WIRE_OK;
		} else if (entry == NULL) {
			continue; /* a request-level field a later busbard adds */
		} else if (f.tag == WIRE_TAG_ENTRY_ID) {
			json_object_set_new(entry, "Id", text(&f));
		} else if (f.tag == WIRE_TAG_MESSAGE_ID) {
			json_object_set_new(entry, "MessageId", text(&f));
		} else if (f.tag == WIRE_TAG_SEQUENCE_NUMBER) {
			json_object_set_new(entry, "SequenceNumber", text(&f));
		} else if (f.tag == WIRE_TAG_ERROR_MESSAGE) {
			json_object_set_new(entry, "Message", text(&f));
		} else if (f.tag == WIRE_TAG_ENTRY_STATUS && !wire_field_u32(&f, &status)) {
			rc = -EBADMSG;
			break;
		}
	}
	finish_entry(entry, status, successful, failed);
	json_decref(entry);
	json_object_set_new(result, "Successful", successful);
	json_object_set_new(result, "Failed", failed);
	return rc == 0 ? 0 : -EBADMSG;
}

int ctl_sns_data_decode(const struct ctl_aws_data_op *op, struct wire_reader *r, json_t *result)
{
	assert(op != NULL && r != NULL && result != NULL);
	assert(op->opcode == WIRE_OP_PUBLISH || op->opcode == WIRE_OP_PUBLISH_BATCH);
	if (op->opcode == WIRE_OP_PUBLISH_BATCH)
		return decode_batch(r, result);
	struct wire_field f;
	int rc;
	uint32_t fields = 0;
	while ((rc = wire_reader_next(r, &f)) == 1 && ++fields <= BB_FIELD_COUNT_MAX) {
		if (f.tag == WIRE_TAG_MESSAGE_ID)
			json_object_set_new(result, "MessageId", text(&f));
		else if (f.tag == WIRE_TAG_SEQUENCE_NUMBER)
			json_object_set_new(result, "SequenceNumber", text(&f));
	}
	return rc == 0 && json_object_get(result, "MessageId") != NULL ? 0 : -EBADMSG;
}
