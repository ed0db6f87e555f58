/*
 * The busbar command's JSON output (see cli_output.h). Invariant: a receive prints every
 * message libbusbar handed over, or fails as a whole; jansson's silent NULL for a string
 * that is not UTF-8 never turns into a missing message.
 */
#include "cli_output.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

static const char base64_digits[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* RFC 4648 base64 with padding; `out` holds 4 * ((length + 2) / 3) + 1 bytes. */
static void base64_encode(const uint8_t *in, size_t length, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < length; i += 3) {
		size_t left = length - i;
		uint32_t group = (uint32_t)in[i] << 16;
		if (left > 1)
			group |= (uint32_t)in[i + 1] << 8;
		if (left > 2)
			group |= in[i + 2];
		out[o++] = base64_digits[group >> 18 & 63];
		out[o++] = base64_digits[group >> 12 & 63];
		out[o++] = left > 1 ? base64_digits[group >> 6 & 63] : '=';
		out[o++] = left > 2 ? base64_digits[group & 63] : '=';
	}
	out[o] = '\0';
	assert(o == 4 * ((length + 2) / 3));
}

/* Adds the body under "Body" when jansson takes it as a string, which it does exactly
 * for UTF-8 (overlong forms, surrogates and cut sequences refused); else "BodyBase64". */
static int add_body(json_t *object, const uint8_t *body, uint32_t body_bytes)
{
	const char *bytes = body_bytes > 0 ? (const char *)body : "";
	assert(body_bytes == 0 || body != NULL);
	json_t *text = json_stringn(bytes, body_bytes);
	if (text != NULL)
		return json_object_set_new(object, "Body", text) == 0 ? 0 : -ENOMEM;
	size_t encoded_bytes = 4 * (((size_t)body_bytes + 2) / 3);
	char *encoded = malloc(encoded_bytes + 1);
	if (encoded == NULL)
		return -ENOMEM;
	base64_encode(body, body_bytes, encoded);
	json_t *base64 = json_stringn(encoded, encoded_bytes);
	free(encoded);
	if (base64 == NULL)
		return -ENOMEM;
	return json_object_set_new(object, "BodyBase64", base64) == 0 ? 0 : -ENOMEM;
}

/* json_object_set_new with a NULL value (a text that is not UTF-8) fails: -EINVAL. */
static int add_text(json_t *object, const char *key, const char *text)
{
	return json_object_set_new(object, key, json_string(text)) == 0 ? 0 : -EINVAL;
}

static int add_attributes(json_t *object, const struct bb_message *m)
{
	json_t *attributes = json_pack("{s:I, s:I, s:I}", "ApproximateReceiveCount",
	                               (json_int_t)m->receive_count, "SentTimestamp",
	                               (json_int_t)m->sent_ms, "ApproximateFirstReceiveTimestamp",
	                               (json_int_t)m->first_receive_ms);
	int rc = 0;
	if (attributes != NULL && m->message_group_id[0] != '\0') { /* a FIFO queue's, as AWS */
		rc = add_text(attributes, "MessageGroupId", m->message_group_id);
		if (rc == 0)
			rc = add_text(attributes, "SequenceNumber", m->sequence_number);
	}
	if (attributes != NULL && rc == 0 && m->message_deduplication_id[0] != '\0')
		rc = add_text(attributes, "MessageDeduplicationId", m->message_deduplication_id);
	if (attributes != NULL && rc == 0 && m->aws_trace_header != NULL) {
		json_t *trace = json_stringn(m->aws_trace_header, m->aws_trace_header_bytes);
		rc = json_object_set_new(attributes, "AWSTraceHeader", trace) == 0 ? 0 : -EINVAL;
	}
	if (attributes != NULL && rc == 0 && m->dead_letter_queue_source_arn != NULL) {
		json_t *arn = json_stringn(m->dead_letter_queue_source_arn,
		                           m->dead_letter_queue_source_arn_bytes);
		rc = json_object_set_new(attributes, "DeadLetterQueueSourceArn", arn) == 0 ? 0
		                                                                            : -EINVAL;
	}
	if (rc != 0) {
		json_decref(attributes);
		return rc;
	}
	return json_object_set_new(object, "Attributes", attributes) == 0 ? 0 : -ENOMEM;
}

/* One received attribute as the AWS CLI prints it: DataType, then StringValue or a base64
 * BinaryValue. */
static json_t *message_attribute_json(const struct bb_received_attribute *a)
{
	json_t *value;
	if (a->binary) {
		size_t encoded_bytes = 4 * (((size_t)a->value_bytes + 2) / 3);
		char *encoded = malloc(encoded_bytes + 1);
		if (encoded == NULL)
			return NULL;
		base64_encode(a->value, a->value_bytes, encoded);
		value = json_stringn(encoded, encoded_bytes);
		free(encoded);
	} else {
		value = json_stringn((const char *)a->value, a->value_bytes);
	}
	return json_pack("{s:s%, s:o}", "DataType", a->data_type, (size_t)a->data_type_bytes,
	                 a->binary ? "BinaryValue" : "StringValue", value);
}

/* MessageAttributes {Name: {...}} and MD5OfMessageAttributes, when the message has them. */
static int add_message_attributes(json_t *object, const struct bb_message *m)
{
	int rc = 0;
	if (m->md5_of_message_attributes[0] != '\0')
		rc = add_text(object, "MD5OfMessageAttributes", m->md5_of_message_attributes);
	if (rc != 0 || m->attribute_count == 0)
		return rc;
	json_t *attributes = json_object();
	for (uint32_t i = 0; i < m->attribute_count && rc == 0; i++) {
		const struct bb_received_attribute *a = &m->attributes[i];
		json_t *one = message_attribute_json(a);
		if (one == NULL || json_object_setn_new(attributes, a->name, a->name_bytes, one) != 0)
			rc = -EINVAL;
	}
	if (rc != 0) {
		json_decref(attributes);
		return rc;
	}
	return json_object_set_new(object, "MessageAttributes", attributes) == 0 ? 0 : -ENOMEM;
}

static int message_json(const struct bb_message *m, json_t **out)
{
	json_t *object = json_object();
	int rc = object != NULL ? 0 : -ENOMEM;
	if (rc == 0)
		rc = add_text(object, "MessageId", m->message_id);
	if (rc == 0)
		rc = add_text(object, "ReceiptHandle", m->receipt_handle);
	if (rc == 0)
		rc = add_text(object, "MD5OfBody", m->md5_of_body);
	if (rc == 0)
		rc = add_body(object, m->body, m->body_bytes);
	if (rc == 0)
		rc = add_attributes(object, m);
	if (rc == 0)
		rc = add_message_attributes(object, m);
	if (rc != 0) {
		json_decref(object);
		object = NULL;
	}
	*out = object;
	return rc;
}

int cli_receive_json(const struct bb_message *messages, uint32_t count, json_t **out)
{
	assert(count <= BB_RECEIVE_COUNT_MAX);
	*out = NULL;
	json_t *list = json_array();
	json_t *object = json_object();
	/* On failure json_object_set_new releases list; object is released below. */
	int rc = json_object_set_new(object, "Messages", list) == 0 ? 0 : -ENOMEM;
	for (uint32_t i = 0; i < count && rc == 0; i++) {
		json_t *message;
		rc = message_json(&messages[i], &message);
		if (rc == 0 && json_array_append_new(list, message) != 0)
			rc = -ENOMEM;
	}
	if (rc != 0) {
		json_decref(object);
		return rc;
	}
	assert(json_array_size(list) == count);
	*out = object;
	return 0;
}

static json_t *batch_entry_json(const struct bb_batch_entry *e)
{
	if (e->status != WIRE_OK) {
		/* As SQS: the sender is at fault unless busbard could not do it for now. */
		bool sender = e->status != WIRE_ERR_SERVICE_UNAVAILABLE && e->status != WIRE_ERR_INTERNAL;
		return json_pack("{s:s, s:s, s:b}", "Id", e->id, "Code",
		                 wire_status_name((enum wire_status)e->status), "SenderFault", sender);
	}
	if (e->message_id[0] == '\0')
		return json_pack("{s:s}", "Id", e->id);
	json_t *entry = json_pack("{s:s, s:s, s:s}", "Id", e->id, "MessageId", e->message_id,
	                          "MD5OfMessageBody", e->md5_of_body);
	if (entry != NULL && e->sequence_number[0] != '\0' &&
	    add_text(entry, "SequenceNumber", e->sequence_number) != 0) {
		json_decref(entry);
		return NULL;
	}
	return entry;
}

int cli_batch_json(const struct bb_batch_entry *entries, uint32_t count, json_t **out)
{
	assert(count <= WIRE_BATCH_ENTRIES_MAX);
	json_t *successful = json_array(), *failed = json_array();
	*out = json_pack("{s:o, s:o}", "Successful", successful, "Failed", failed);
	for (uint32_t i = 0; *out != NULL && i < count; i++) {
		json_t *entry = batch_entry_json(&entries[i]);
		json_t *list = entries[i].status == WIRE_OK ? successful : failed;
		if (entry == NULL || json_array_append_new(list, entry) != 0) {
			json_decref(*out);
			*out = NULL;
		}
	}
	return *out == NULL ? -ENOMEM : 0;
}

int cli_published_json(const struct bb_published *published, json_t **out)
{
	assert(published->message_id[0] != '\0');
	*out = json_object();
	int rc = *out != NULL ? add_text(*out, "MessageId", published->message_id) : -ENOMEM;
	if (rc == 0 && published->sequence_number[0] != '\0')
		rc = add_text(*out, "SequenceNumber", published->sequence_number);
	if (rc != 0) {
		json_decref(*out);
		*out = NULL;
	}
	return rc;
}

static json_t *publish_entry_json(const struct bb_publish_entry *e)
{
	if (e->status != WIRE_OK) {
		/* As SNS: the sender is at fault unless busbard could not do it for now. */
		bool sender = e->status != WIRE_ERR_SERVICE_UNAVAILABLE && e->status != WIRE_ERR_INTERNAL;
		return json_pack("{s:s, s:s, s:b}", "Id", e->id, "Code",
		                 wire_status_name((enum wire_status)e->status), "SenderFault", sender);
	}
	json_t *entry = json_pack("{s:s, s:s}", "Id", e->id, "MessageId", e->message_id);
	if (entry != NULL && e->sequence_number[0] != '\0' &&
	    add_text(entry, "SequenceNumber", e->sequence_number) != 0) {
		json_decref(entry);
		return NULL;
	}
	return entry;
}

int cli_publish_batch_json(const struct bb_publish_entry *entries, uint32_t count, json_t **out)
{
	assert(count <= WIRE_BATCH_ENTRIES_MAX);
	json_t *successful = json_array(), *failed = json_array();
	*out = json_pack("{s:o, s:o}", "Successful", successful, "Failed", failed);
	for (uint32_t i = 0; *out != NULL && i < count; i++) {
		json_t *entry = publish_entry_json(&entries[i]);
		json_t *list = entries[i].status == WIRE_OK ? successful : failed;
		if (entry == NULL || json_array_append_new(list, entry) != 0) {
			json_decref(*out);
			*out = NULL;
		}
	}
	return *out == NULL ? -ENOMEM : 0;
}

static json_t *event_entry_json(const struct bb_event *e)
{
	if (e->status == WIRE_OK)
		return json_pack("{s:s}", "EventId", e->event_id);
	/* An answer without an ErrorCode still names its status. */
	const char *code = e->error_code[0] != '\0' ? e->error_code
	                                           : wire_status_name((enum wire_status)e->status);
	json_t *entry = json_pack("{s:s}", "ErrorCode", code);
	if (entry != NULL && add_text(entry, "ErrorMessage", e->error_message) != 0) {
		json_decref(entry);
		return NULL;
	}
	return entry;
}

int cli_put_events_json(const struct bb_event *events, uint32_t count, uint32_t failed_count,
                        json_t **out)
{
	assert(count <= WIRE_BATCH_ENTRIES_MAX);
	assert(failed_count <= count);
	json_t *list = json_array();
	*out = json_pack("{s:I, s:o}", "FailedEntryCount", (json_int_t)failed_count, "Entries",
	                 list);
	for (uint32_t i = 0; *out != NULL && i < count; i++) {
		json_t *entry = event_entry_json(&events[i]);
		if (entry == NULL || json_array_append_new(list, entry) != 0) {
			json_decref(*out);
			*out = NULL;
		}
	}
	return *out == NULL ? -ENOMEM : 0;
}

int cli_print_json(FILE *out, json_t *value)
{
	char *text = value != NULL ? json_dumps(value, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(value);
	if (text == NULL)
		return -EINVAL;
	errno = 0;
	int written = fprintf(out, "%s\n", text);
	free(text);
	if (written >= 0 && fflush(out) == 0)
		return 0;
	/* -EINVAL already means "cannot encode": a write failing with it reports -EIO. */
	return errno != 0 && errno != EINVAL ? -errno : -EIO;
}

/* A delivery's text field: -EINVAL when it is not UTF-8. */
static int add_text_bytes(json_t *object, const char *key, const char *text, uint32_t bytes)
{
	return json_object_set_new(object, key, json_stringn(text, bytes)) == 0 ? 0 : -EINVAL;
}

int cli_delivery_json(const struct bb_delivery *d, json_t **out)
{
	char id[24];
	snprintf(id, sizeof(id), "%" PRIu64, d->delivery_id);
	*out = json_pack("{s:s, s:I}", "DeliveryId", id, "Attempt", (json_int_t)d->attempt);
	int rc = *out != NULL ? 0 : -ENOMEM;
	if (rc == 0)
		rc = add_text_bytes(*out, "SourceArn", d->source_arn, d->source_arn_bytes);
	if (rc == 0)
		rc = add_text_bytes(*out, "Subscription", d->subscription, d->subscription_bytes);
	if (rc == 0)
		rc = add_text_bytes(*out, "MessageId", d->message_id, d->message_id_bytes);
	if (rc == 0)
		rc = add_body(*out, d->body, d->body_bytes);
	if (rc != 0) {
		json_decref(*out);
		*out = NULL;
	}
	return rc;
}
