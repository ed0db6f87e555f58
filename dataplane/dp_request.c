/*
 * Request parsing and reply framing (see dp_request.h). Every field is
 * checked for size and range here, once, so the engines below can assert.
 */
#include "dp_request.h"

#include <stddef.h>
#include <string.h>

#include "bb_endian.h"
#include "bb_limits.h"
#include "bb_snapshot.h"
#include "bb_utf8.h"
#include "dp_siphash.h"

_Static_assert(WIRE_REQUEST_FIELDS_MAX >=
                   2 + WIRE_BATCH_ENTRIES_MAX * (7 + 4 * (WIRE_ATTRIBUTES_MAX + 1)),
               "a full PublishBatch fits the field count");

static bool is_data_opcode(uint8_t opcode)
{
	switch (opcode) {
	case WIRE_OP_PING:
	case WIRE_OP_SEND_MESSAGE:
	case WIRE_OP_RECEIVE_MESSAGE:
	case WIRE_OP_DELETE_MESSAGE:
	case WIRE_OP_CHANGE_MESSAGE_VISIBILITY:
	case WIRE_OP_SEND_MESSAGE_BATCH:
	case WIRE_OP_DELETE_MESSAGE_BATCH:
	case WIRE_OP_CHANGE_MESSAGE_VISIBILITY_BATCH:
	case WIRE_OP_PUBLISH:
	case WIRE_OP_PUBLISH_BATCH:
	case WIRE_OP_PUT_EVENTS:
	case WIRE_OP_ACK: return true;
	case WIRE_OP_PURGE_QUEUE:
	case WIRE_OP_GET_QUEUE_COUNTS: return true;
	default: return false;
	}
}

/*
 * Queue operations of the local socket (PurgeQueue, the counts): parsed and routed to the
 * queue's owner as data requests are; the owner refuses them from anywhere else
 * (dp_execute.c), as the routing lcore parses UDP and local requests alike.
 */
static bool is_queue_control_opcode(uint8_t opcode)
{
	return opcode == WIRE_OP_PURGE_QUEUE || opcode == WIRE_OP_GET_QUEUE_COUNTS;
}

static enum wire_status invalid(struct dp_request *out, enum wire_status status, const char *why)
{
	out->error = why;
	return status;
}

static bool take_bytes(struct dp_bytes *slot, const struct wire_field *f)
{
	if (slot->present)
		return false; /* a field given twice is ambiguous */
	*slot = (struct dp_bytes){f->value, f->length, true};
	return true;
}

static bool take_u32(struct dp_u32 *slot, const struct wire_field *f)
{
	if (slot->present || !wire_field_u32(f, &slot->value))
		return false;
	slot->present = true;
	return true;
}

static bool take_u64(struct dp_u64 *slot, const struct wire_field *f)
{
	if (slot->present || !wire_field_u64(f, &slot->value))
		return false;
	slot->present = true;
	return true;
}

static bool is_attribute_tag(uint16_t tag)
{
	return tag >= WIRE_TAG_ATTRIBUTE_BEGIN && tag <= WIRE_TAG_ATTRIBUTE_BINARY_VALUE;
}

/*
 * A field of the message's current attribute, the one the last ATTRIBUTE_BEGIN started (none
 * yet: malformed). The fields of attributes past the limit are read and dropped: the check
 * fails the message. Every byte of name, type and value counts toward its size, as in AWS.
 */
static bool take_attribute_field(struct dp_attributes *a, const struct wire_field *f)
{
	if (f->tag == WIRE_TAG_ATTRIBUTE_BEGIN) {
		a->count++; /* bounded by the request's field count */
		return f->length == 0;
	}
	if (a->count == 0)
		return false;
	a->bytes += f->length;
	if (a->count > WIRE_ATTRIBUTES_MAX)
		return true;
	struct dp_attribute *at = &a->items[a->count - 1];
	switch (f->tag) {
	case WIRE_TAG_ATTRIBUTE_NAME: return take_bytes(&at->name, f);
	case WIRE_TAG_ATTRIBUTE_DATA_TYPE: return take_bytes(&at->data_type, f);
	case WIRE_TAG_ATTRIBUTE_STRING_VALUE: return take_bytes(&at->string_value, f);
	case WIRE_TAG_ATTRIBUTE_BINARY_VALUE: return take_bytes(&at->binary_value, f);
	default: return false;
	}
}

/* A MessageAttributeNames entry: those past the limit are counted, not kept (the check fails
 * the request). */
static bool take_attribute_name(struct dp_attribute_names *names, const struct wire_field *f)
{
	if (names->count < WIRE_MESSAGE_ATTRIBUTE_NAMES_MAX)
		names->items[names->count] = (struct dp_bytes){f->value, f->length, true};
	names->count++; /* bounded by the request's field count */
	return true;
}

static bool take_field(struct dp_request *out, const struct wire_field *f)
{
	if (is_attribute_tag(f->tag))
		return take_attribute_field(&out->attributes, f);
	switch (f->tag) {
	case WIRE_TAG_AWS_TRACE_HEADER: return take_bytes(&out->trace_header, f);
	case WIRE_TAG_DEAD_LETTER_QUEUE_SOURCE_ARN:
		return take_bytes(&out->dead_letter_source_arn, f);
	case WIRE_TAG_MESSAGE_ATTRIBUTE_NAME: return take_attribute_name(&out->attribute_names, f);
	case WIRE_TAG_QUEUE_NAME: return take_bytes(&out->queue_name, f);
	case WIRE_TAG_BODY: return take_bytes(&out->body, f);
	case WIRE_TAG_RECEIPT_HANDLE: return take_bytes(&out->receipt_handle, f);
	case WIRE_TAG_MAX_MESSAGES: return take_u32(&out->max_messages, f);
	case WIRE_TAG_VISIBILITY_TIMEOUT_S: return take_u32(&out->visibility_timeout_s, f);
	case WIRE_TAG_WAIT_TIME_S: return take_u32(&out->wait_time_s, f);
	case WIRE_TAG_RECEIVE_REQUEST_ATTEMPT_ID: return take_bytes(&out->attempt_id, f);
	case WIRE_TAG_COOKIE: return take_u64(&out->cookie, f);
	case WIRE_TAG_MESSAGE_GROUP_ID: return take_bytes(&out->group_id, f);
	case WIRE_TAG_MESSAGE_DEDUPLICATION_ID: return take_bytes(&out->dedup_id, f);
	case WIRE_TAG_DELAY_SECONDS: return take_u32(&out->delay_s, f);
	case WIRE_TAG_TOPIC_NAME: return take_bytes(&out->topic_name, f);
	case WIRE_TAG_SUBJECT: return take_bytes(&out->subject, f);
	case WIRE_TAG_MESSAGE_STRUCTURE: return take_bytes(&out->message_structure, f);
	case WIRE_TAG_BUS_NAME: return take_bytes(&out->bus_name, f);
	case WIRE_TAG_DELIVERY_ID: return take_u64(&out->delivery_id, f);
	default: return false;
	}
}

/* A field of an SQS batch's or a PublishBatch's entry; which fit its opcode is checked later. */
static bool take_entry_field(struct dp_batch_entry *e, const struct wire_field *f)
{
	if (is_attribute_tag(f->tag))
		return take_attribute_field(&e->attributes, f);
	switch (f->tag) {
	case WIRE_TAG_ENTRY_ID: return take_bytes(&e->id, f);
	case WIRE_TAG_AWS_TRACE_HEADER: return take_bytes(&e->trace_header, f);
	case WIRE_TAG_BODY: return take_bytes(&e->body, f);
	case WIRE_TAG_RECEIPT_HANDLE: return take_bytes(&e->receipt_handle, f);
	case WIRE_TAG_VISIBILITY_TIMEOUT_S: return take_u32(&e->visibility_timeout_s, f);
	case WIRE_TAG_DELAY_SECONDS: return take_u32(&e->delay_s, f);
	case WIRE_TAG_SUBJECT: return take_bytes(&e->subject, f);
	case WIRE_TAG_MESSAGE_STRUCTURE: return take_bytes(&e->message_structure, f);
	case WIRE_TAG_MESSAGE_GROUP_ID: return take_bytes(&e->group_id, f);
	case WIRE_TAG_MESSAGE_DEDUPLICATION_ID: return take_bytes(&e->dedup_id, f);
	default: return false;
	}
}

/* A field of a PutEvents entry, adding to the entry's size as AWS counts it (a given Time
 * counts 14 bytes); resources past the limit are counted, not kept (the check fails the
 * entry). Sizes are bounded by the request's bytes. */
static bool take_event_field(struct dp_event *e, const struct wire_field *f)
{
	switch (f->tag) {
	case WIRE_TAG_EVENT_TIME_MS:
		e->size_bytes += WIRE_EVENT_TIME_SIZE_BYTES;
		return take_u64(&e->time_ms, f);
	case WIRE_TAG_EVENT_RESOURCE:
		if (e->resource_count < WIRE_EVENT_RESOURCES_MAX)
			e->resources[e->resource_count] = (struct dp_bytes){f->value, f->length, true};
		e->resource_count++;
		e->size_bytes += f->length;
		return true;
	default: break;
	}
	e->size_bytes += f->length;
	switch (f->tag) {
	case WIRE_TAG_EVENT_SOURCE: return take_bytes(&e->source, f);
	case WIRE_TAG_EVENT_DETAIL_TYPE: return take_bytes(&e->detail_type, f);
	case WIRE_TAG_EVENT_DETAIL: return take_bytes(&e->detail, f);
	default: return false;
	}
}

/*
 * A batch's fields: before its first ENTRY_BEGIN the request's (its queue, topic or bus, and
 * the cookie), after it the current entry's; a cookie anywhere is the request's (libbusbar
 * appends it last). Returns WIRE_OK, WIRE_ERR_MALFORMED or TooManyEntriesInBatchRequest.
 */
static enum wire_status take_batch_field(struct dp_request *out, const struct wire_field *f)
{
	bool events = out->header.opcode == WIRE_OP_PUT_EVENTS;
	if (f->tag == WIRE_TAG_ENTRY_BEGIN) {
		if (f->length != 0)
			return WIRE_ERR_MALFORMED;
		if (out->entry_count == WIRE_BATCH_ENTRIES_MAX)
			return WIRE_ERR_TOO_MANY_ENTRIES_IN_BATCH_REQUEST;
		if (events)
			out->events[out->entry_count++] = (struct dp_event){.status = WIRE_OK};
		else
			out->entries[out->entry_count++] = (struct dp_batch_entry){.status = WIRE_OK};
		return WIRE_OK;
	}
	bool target = f->tag == WIRE_TAG_QUEUE_NAME || f->tag == WIRE_TAG_TOPIC_NAME ||
	              f->tag == WIRE_TAG_BUS_NAME;
	/* A PutEvents with a body: an event a rule of another bus sends whole (dp_publish.c). */
	bool forwarded = events && f->tag == WIRE_TAG_BODY;
	if (f->tag == WIRE_TAG_COOKIE || (out->entry_count == 0 && (target || forwarded)))
		return take_field(out, f) ? WIRE_OK : WIRE_ERR_MALFORMED;
	if (out->entry_count == 0)
		return WIRE_ERR_MALFORMED;
	bool taken = events ? take_event_field(&out->events[out->entry_count - 1], f)
	                    : take_entry_field(&out->entries[out->entry_count - 1], f);
	return taken ? WIRE_OK : WIRE_ERR_MALFORMED;
}

/* True when the entry holds only fields its batch's operation takes: FIFO ids on sends to
 * queues and topics, subjects and structures on PublishBatch's. */
static bool entry_fields_fit(uint8_t opcode, const struct dp_batch_entry *e)
{
	bool handle_fields = e->receipt_handle.present || e->visibility_timeout_s.present;
	bool sns_fields = e->subject.present || e->message_structure.present;
	bool fifo_fields = e->group_id.present || e->dedup_id.present;
	if ((e->delay_s.present || e->trace_header.present) && opcode != WIRE_OP_SEND_MESSAGE_BATCH)
		return false;
	if (opcode == WIRE_OP_PUBLISH_BATCH)
		return !handle_fields;
	if (opcode == WIRE_OP_SEND_MESSAGE_BATCH)
		return !handle_fields && !sns_fields;
	if (sns_fields || fifo_fields || e->attributes.count > 0)
		return false;
	if (opcode == WIRE_OP_DELETE_MESSAGE_BATCH)
		return !e->body.present && !e->visibility_timeout_s.present;
	return !e->body.present;
}

static bool same_bytes(const struct dp_bytes *a, const struct dp_bytes *b)
{
	return a->length == b->length && memcmp(a->data, b->data, a->length) == 0;
}

/* any_case: the bytes' letters are compared in lower case (so is `prefix` written). */
static bool starts_with(const struct dp_bytes *b, const char *prefix, bool any_case)
{
	size_t n = strlen(prefix);
	if (b->length < n)
		return false;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = b->data[i];
		if (any_case && c >= 'A' && c <= 'Z')
			c = (uint8_t)(c + ('a' - 'A'));
		if (c != (uint8_t)prefix[i])
			return false;
	}
	return true;
}

static bool is_name_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '.';
}

/* SQS's and SNS's rule: 1-256 of A-Z a-z 0-9 _ - ., no AWS. or Amazon. prefix (any case),
 * no period first, last or twice in a row. */
static bool attribute_name_is_valid(const struct dp_bytes *name)
{
	if (!name->present || name->length == 0 || name->length > WIRE_ATTRIBUTE_NAME_BYTES_MAX)
		return false;
	if (starts_with(name, "aws.", true) || starts_with(name, "amazon.", true))
		return false;
	if (name->data[0] == '.' || name->data[name->length - 1] == '.')
		return false;
	for (uint32_t i = 0; i < name->length; i++) {
		if (!is_name_char(name->data[i]))
			return false;
		if (i > 0 && name->data[i] == '.' && name->data[i - 1] == '.')
			return false;
	}
	return true;
}

/* A decimal number as SQS's Number type takes it: sign, digits, fraction, exponent. */
static bool is_number_text(const struct dp_bytes *v)
{
	uint32_t i = 0, digits = 0;
	if (i < v->length && (v->data[i] == '-' || v->data[i] == '+'))
		i++;
	for (; i < v->length && v->data[i] >= '0' && v->data[i] <= '9'; i++)
		digits++;
	if (i < v->length && v->data[i] == '.')
		for (i++; i < v->length && v->data[i] >= '0' && v->data[i] <= '9'; i++)
			digits++;
	if (digits == 0)
		return false;
	if (i < v->length && (v->data[i] == 'e' || v->data[i] == 'E')) {
		i++;
		if (i < v->length && (v->data[i] == '-' || v->data[i] == '+'))
			i++;
		uint32_t exponent_digits = 0;
		for (; i < v->length && v->data[i] >= '0' && v->data[i] <= '9'; i++)
			exponent_digits++;
		if (exponent_digits == 0)
			return false;
	}
	return i == v->length;
}

/* The base type of a DataType (String, Number or Binary, then optionally "." and a custom
 * name), or NULL when it is none of them. */
static const char *attribute_base_type(const struct dp_bytes *type)
{
	static const char *const bases[] = {"String", "Number", "Binary"};
	if (!type->present || type->length > WIRE_ATTRIBUTE_DATA_TYPE_BYTES_MAX)
		return NULL;
	for (uint32_t b = 0; b < 3; b++) {
		size_t n = strlen(bases[b]);
		if (!starts_with(type, bases[b], false))
			continue;
		if (type->length == n)
			return bases[b];
		if (type->data[n] != '.' || type->length == n + 1)
			return NULL;
		for (uint32_t i = (uint32_t)n + 1; i < type->length; i++) {
			if (!is_name_char(type->data[i]))
				return NULL;
		}
		return bases[b];
	}
	return NULL;
}

/* A value that fits its type: Binary ones bytes, the others text as a body's, Number's a
 * number; never both values, never an empty one. */
static bool attribute_value_fits(const struct dp_attribute *at)
{
	const char *base = attribute_base_type(&at->data_type);
	if (base == NULL)
		return false;
	if (base[0] == 'B')
		return at->binary_value.present && at->binary_value.length > 0 &&
		       !at->string_value.present;
	const struct dp_bytes *v = &at->string_value;
	if (!v->present || v->length == 0 || at->binary_value.present)
		return false;
	if (!bb_utf8_is_sqs_text(v->data, v->length))
		return false;
	return base[0] != 'N' || is_number_text(v);
}

/* What fails a message's attributes; `bad` is the service's status for it. */
static enum wire_status check_attributes(const struct dp_attributes *a, enum wire_status bad,
                                         const char **why)
{
	if (a->count > WIRE_ATTRIBUTES_MAX) {
		*why = "a message has at most 10 attributes";
		return bad;
	}
	for (uint32_t i = 0; i < a->count; i++) {
		const struct dp_attribute *at = &a->items[i];
		if (!attribute_name_is_valid(&at->name)) {
			*why = "an attribute Name is 1-256 of A-Z, a-z, 0-9, _, - and . (not first, "
			       "last or doubled), without an AWS. or Amazon. prefix";
			return bad;
		}
		for (uint32_t j = 0; j < i; j++) {
			if (same_bytes(&a->items[j].name, &at->name)) {
				*why = "two attributes of a message have the same Name";
				return bad;
			}
		}
		if (!attribute_value_fits(at)) {
			*why = "an attribute needs a DataType (String, Number or Binary, with an "
			       "optional .suffix) and one non-empty value of that type";
			return bad;
		}
	}
	return WIRE_OK;
}

/* An AWSTraceHeader: 1-WIRE_TRACE_HEADER_BYTES_MAX of printable ASCII (busbar checks no more
 * of X-Ray's format). */
static bool trace_header_is_valid(const struct dp_bytes *trace)
{
	if (trace->length == 0 || trace->length > WIRE_TRACE_HEADER_BYTES_MAX)
		return false;
	for (uint32_t i = 0; i < trace->length; i++) {
		if (trace->data[i] < 0x20 || trace->data[i] > 0x7e)
			return false;
	}
	return true;
}

/* A MessageGroupId or MessageDeduplicationId, when given, is 1-128 bytes. */
static bool fifo_id_is_sized(const struct dp_bytes *id)
{
	return !id->present || (id->length > 0 && id->length <= BB_FIFO_ID_BYTES_MAX);
}

/* An entry's own failures: they fail that entry alone, as SQS and SNS answer them. */
static void check_entry(uint8_t opcode, struct dp_batch_entry *e)
{
	const char *why;
	if (opcode == WIRE_OP_SEND_MESSAGE_BATCH) {
		if (!e->body.present || e->body.length == 0)
			e->status = WIRE_ERR_MISSING_PARAMETER;
		else if (e->delay_s.present && e->delay_s.value > WIRE_DELAY_S_MAX)
			e->status = WIRE_ERR_INVALID_PARAMETER;
		else if (!fifo_id_is_sized(&e->group_id) || !fifo_id_is_sized(&e->dedup_id))
			e->status = WIRE_ERR_INVALID_PARAMETER; /* their characters: the engine's */
		else if (e->trace_header.present && !trace_header_is_valid(&e->trace_header))
			e->status = WIRE_ERR_INVALID_PARAMETER;
		else
			e->status = check_attributes(&e->attributes, WIRE_ERR_INVALID_PARAMETER, &why);
		return;
	}
	if (!e->receipt_handle.present)
		e->status = WIRE_ERR_MISSING_PARAMETER;
	else if (opcode == WIRE_OP_CHANGE_MESSAGE_VISIBILITY_BATCH && !e->visibility_timeout_s.present)
		e->status = WIRE_ERR_MISSING_PARAMETER;
	else if (e->visibility_timeout_s.value > BB_VISIBILITY_TIMEOUT_S_MAX)
		e->status = WIRE_ERR_INVALID_PARAMETER;
}

/* One SNS message's fields: a Publish's, or a PublishBatch entry's. */
struct sns_message {
	const struct dp_bytes *body;
	const struct dp_bytes *subject;
	const struct dp_bytes *structure;
	const struct dp_bytes *ids[2]; /* MessageGroupId, MessageDeduplicationId */
	const struct dp_attributes *attributes;
};

/* ASCII from a letter, digit or punctuation on, no control characters or line breaks. */
static bool subject_is_valid(const struct dp_bytes *subject)
{
	if (subject->length == 0 || subject->length > WIRE_SUBJECT_BYTES_MAX)
		return false;
	if (subject->data[0] == ' ')
		return false;
	for (uint32_t i = 0; i < subject->length; i++) {
		if (subject->data[i] < 0x20 || subject->data[i] > 0x7e)
			return false;
	}
	return true;
}

/* What fails one SNS message, with SNS's names (docs/protocol.md, "Publish"). */
static enum wire_status check_sns_message(const struct sns_message *m, const char **why)
{
	if (!m->body->present) {
		*why = "Message is required";
		return WIRE_ERR_MISSING_PARAMETER;
	}
	if (m->body->length == 0) {
		*why = "Invalid parameter: Empty message";
		return WIRE_ERR_SNS_INVALID_PARAMETER;
	}
	if (m->subject->present && !subject_is_valid(m->subject)) {
		*why = "Subject must be 1-100 printable ASCII characters, not starting with a space";
		return WIRE_ERR_SNS_INVALID_PARAMETER;
	}
	bool json = m->structure->length == 4 && starts_with(m->structure, "json", false);
	if (m->structure->present && !json) {
		*why = "MessageStructure must be json";
		return WIRE_ERR_SNS_INVALID_PARAMETER;
	}
	for (uint32_t i = 0; i < 2; i++) {
		if (m->ids[i]->present &&
		    (m->ids[i]->length == 0 || m->ids[i]->length > BB_FIFO_ID_BYTES_MAX)) {
			*why = "MessageGroupId and MessageDeduplicationId are 1-128 characters";
			return WIRE_ERR_SNS_INVALID_PARAMETER;
		}
	}
	enum wire_status status =
	    check_attributes(m->attributes, WIRE_ERR_SNS_PARAMETER_VALUE_INVALID, why);
	if (status != WIRE_OK)
		return status;
	if ((uint64_t)m->body->length + m->attributes->bytes > WIRE_SNS_MESSAGE_BYTES_MAX) {
		*why = "Invalid parameter: Message too long (256 KiB with its attributes)";
		return WIRE_ERR_SNS_INVALID_PARAMETER;
	}
	return WIRE_OK;
}

/* SNS and EventBridge name the errors of a batch as a whole their own way. */
static enum wire_status for_service(uint8_t opcode, enum wire_status status)
{
	if (opcode == WIRE_OP_PUT_EVENTS)
		return WIRE_ERR_EVENTS_VALIDATION;
	if (!wire_opcode_is_sns(opcode))
		return status;
	switch (status) {
	case WIRE_ERR_EMPTY_BATCH_REQUEST: return WIRE_ERR_SNS_EMPTY_BATCH_REQUEST;
	case WIRE_ERR_TOO_MANY_ENTRIES_IN_BATCH_REQUEST:
		return WIRE_ERR_SNS_TOO_MANY_ENTRIES_IN_BATCH_REQUEST;
	case WIRE_ERR_BATCH_ENTRY_IDS_NOT_DISTINCT: return WIRE_ERR_SNS_BATCH_ENTRY_IDS_NOT_DISTINCT;
	case WIRE_ERR_BATCH_REQUEST_TOO_LONG: return WIRE_ERR_SNS_BATCH_REQUEST_TOO_LONG;
	case WIRE_ERR_INVALID_BATCH_ENTRY_ID: return WIRE_ERR_SNS_INVALID_BATCH_ENTRY_ID;
	case WIRE_ERR_INVALID_PARAMETER: return WIRE_ERR_SNS_INVALID_PARAMETER;
	default: return status;
	}
}

static struct sns_message entry_message(const struct dp_batch_entry *e)
{
	return (struct sns_message){&e->body, &e->subject, &e->message_structure,
	                            {&e->group_id, &e->dedup_id}, &e->attributes};
}

/* The entries of an SQS batch or a PublishBatch, after the checks of the batch as a whole. */
static void check_entries(struct dp_request *out)
{
	uint8_t op = out->header.opcode;
	for (uint32_t i = 0; i < out->entry_count; i++) {
		struct dp_batch_entry *e = &out->entries[i];
		const char *why;
		if (op != WIRE_OP_PUBLISH_BATCH) {
			check_entry(op, e);
			continue;
		}
		struct sns_message m = entry_message(e);
		e->status = check_sns_message(&m, &why);
	}
}

/*
 * What fails a batch as a whole: no entries, a bad or repeated id, messages over the total
 * (bodies and attributes: 1 MiB for SQS, 256 KiB for SNS).
 */
static enum wire_status check_batch(struct dp_request *out)
{
	uint8_t op = out->header.opcode;
	if (out->entry_count == 0)
		return invalid(out, for_service(op, WIRE_ERR_EMPTY_BATCH_REQUEST),
		               "a batch needs at least one entry");
	uint64_t body_bytes = 0;
	for (uint32_t i = 0; i < out->entry_count; i++) {
		const struct dp_batch_entry *e = &out->entries[i];
		if (!e->id.present)
			return invalid(out, WIRE_ERR_MISSING_PARAMETER, "every batch entry needs an Id");
		if (!wire_batch_entry_id_is_valid(e->id.data, e->id.length))
			return invalid(out, for_service(op, WIRE_ERR_INVALID_BATCH_ENTRY_ID),
			               "a batch entry Id must be 1-80 of A-Z, a-z, 0-9, - and _");
		for (uint32_t j = 0; j < i; j++) {
			if (same_bytes(&out->entries[j].id, &e->id))
				return invalid(out, for_service(op, WIRE_ERR_BATCH_ENTRY_IDS_NOT_DISTINCT),
				               "two entries of the batch have the same Id");
		}
		if (!entry_fields_fit(op, e))
			return invalid(out, WIRE_ERR_MALFORMED, "a field this batch's entries do not take");
		body_bytes += (uint64_t)e->body.length + e->attributes.bytes;
	}
	if (op == WIRE_OP_PUBLISH_BATCH && body_bytes > WIRE_SNS_MESSAGE_BYTES_MAX)
		return invalid(out, WIRE_ERR_SNS_BATCH_REQUEST_TOO_LONG,
		               "the messages of a PublishBatch may total at most 256 KiB");
	if (body_bytes > WIRE_BATCH_BODY_BYTES_MAX)
		return invalid(out, WIRE_ERR_BATCH_REQUEST_TOO_LONG,
		               "the message bodies of a batch may total at most 1 MiB");
	check_entries(out);
	return WIRE_OK;
}

/* A PutEvents entry's own failures, with EventBridge's code and message. */
static void check_event(struct dp_event *e)
{
	if (!e->source.present || e->source.length == 0)
		e->error = "Parameter Source is not valid. Reason: Source is a required argument.";
	else if (!e->detail_type.present || e->detail_type.length == 0)
		e->error = "Parameter DetailType is not valid. Reason: DetailType is a required "
		           "argument.";
	else if (!e->detail.present || e->detail.length == 0)
		e->error = "Parameter Detail is not valid. Reason: Detail is a required argument.";
	else if (e->resource_count > WIRE_EVENT_RESOURCES_MAX)
		e->error = "Parameter Resources is not valid. Reason: busbar takes at most 10.";
	e->status = e->error == NULL ? WIRE_OK : WIRE_ERR_EVENTS_INVALID_ARGUMENT;
}

/* PutEvents: a valid bus name if any, 1-10 entries, under 256 KiB together (AWS's rule). */
static enum wire_status check_put_events(struct dp_request *out)
{
	if (out->bus_name.present && !bb_bus_name_is_valid(out->bus_name.data, out->bus_name.length))
		return invalid(out, WIRE_ERR_EVENTS_VALIDATION,
		               "EventBusName must be 1-256 of A-Z, a-z, 0-9, ., -, _ and /");
	if (out->body.present && out->entry_count == 0 && out->body.length > 0)
		return WIRE_OK; /* a forwarded event, alone: only busbard's own deliveries send it */
	if (out->entry_count == 0 || out->body.present)
		return invalid(out, WIRE_ERR_EVENTS_VALIDATION, "Entries must have 1 to 10 members");
	uint64_t size_bytes = 0;
	for (uint32_t i = 0; i < out->entry_count; i++) {
		check_event(&out->events[i]);
		size_bytes += out->events[i].size_bytes;
	}
	if (size_bytes >= WIRE_PUT_EVENTS_BYTES_LIMIT)
		return invalid(out, WIRE_ERR_EVENTS_VALIDATION,
		               "Total size of the entries in the request is over the limit "
		               "(under 256 KiB)");
	return WIRE_OK;
}

static enum wire_status check_publish(struct dp_request *out)
{
	struct sns_message m = {&out->body, &out->subject, &out->message_structure,
	                        {&out->group_id, &out->dedup_id}, &out->attributes};
	const char *why = NULL;
	enum wire_status status = check_sns_message(&m, &why);
	return status == WIRE_OK ? WIRE_OK : invalid(out, status, why);
}

/* SNS's operations: the topic first. */
static enum wire_status check_sns(struct dp_request *out)
{
	if (!out->topic_name.present)
		return invalid(out, WIRE_ERR_MISSING_PARAMETER, "TopicName is required");
	if (!bb_topic_name_is_valid(out->topic_name.data, out->topic_name.length))
		return invalid(out, WIRE_ERR_SNS_INVALID_PARAMETER,
		               "Invalid parameter: TopicName must be 1-256 of A-Z, a-z, 0-9, - and _"
		               " (a FIFO topic's ending in .fifo)");
	return out->header.opcode == WIRE_OP_PUBLISH ? check_publish(out) : check_batch(out);
}

/*
 * The request-level fields each operation takes beside its own: SNS and EventBridge fields
 * only on theirs, SQS fields only on SQS's, attributes only on the single sends.
 */
static bool request_fields_fit(const struct dp_request *out)
{
	uint8_t op = out->header.opcode;
	bool sns = wire_opcode_is_sns(op), events = op == WIRE_OP_PUT_EVENTS;
	bool sqs_fields = out->queue_name.present || out->receipt_handle.present ||
	                  out->max_messages.present || out->visibility_timeout_s.present ||
	                  out->wait_time_s.present;
	if ((sns || events) && sqs_fields)
		return false;
	if (out->topic_name.present && !sns)
		return false;
	if ((out->subject.present || out->message_structure.present) && op != WIRE_OP_PUBLISH)
		return false;
	if (out->attributes.count > 0 && op != WIRE_OP_PUBLISH && op != WIRE_OP_SEND_MESSAGE)
		return false;
	if ((out->delay_s.present || out->trace_header.present ||
	     out->dead_letter_source_arn.present) &&
	    op != WIRE_OP_SEND_MESSAGE)
		return false;
	if ((out->attribute_names.count > 0 || out->attempt_id.present) &&
	    op != WIRE_OP_RECEIVE_MESSAGE)
		return false;
	if (out->delivery_id.present && op != WIRE_OP_ACK)
		return false;
	return !out->bus_name.present || events;
}

/* Group and dedup ids: on a send only, 1-128 bytes (the queue engine checks the characters). */
static enum wire_status check_fifo_ids(struct dp_request *out)
{
	const struct dp_bytes *ids[] = {&out->group_id, &out->dedup_id};
	for (uint32_t i = 0; i < 2; i++) {
		if (!fifo_id_is_sized(ids[i]))
			return invalid(out, WIRE_ERR_INVALID_PARAMETER,
			               "MessageGroupId and MessageDeduplicationId are 1-128 characters");
	}
	return WIRE_OK;
}

/* 1-128 of ASCII's letters, digits and punctuation (SQS's ReceiveRequestAttemptId). */
static bool printable_id(const struct dp_bytes *id)
{
	if (id->length == 0 || id->length > BB_FIFO_ID_BYTES_MAX)
		return false;
	for (uint32_t i = 0; i < id->length; i++) {
		if (id->data[i] < '!' || id->data[i] > '~')
			return false;
	}
	return true;
}

static enum wire_status check_receive(struct dp_request *out)
{
	if (out->max_messages.present &&
	    (out->max_messages.value < 1 || out->max_messages.value > BB_RECEIVE_COUNT_MAX))
		return invalid(out, WIRE_ERR_INVALID_PARAMETER, "MaxNumberOfMessages must be 1-10");
	if (out->wait_time_s.present && out->wait_time_s.value > BB_WAIT_TIME_S_MAX)
		return invalid(out, WIRE_ERR_INVALID_PARAMETER, "WaitTimeSeconds must be 0-20");
	if (out->attempt_id.present && !printable_id(&out->attempt_id))
		return invalid(out, WIRE_ERR_INVALID_PARAMETER,
		               "ReceiveRequestAttemptId is 1-128 alphanumeric or punctuation "
		               "characters");
	const struct dp_attribute_names *names = &out->attribute_names;
	if (names->count > WIRE_MESSAGE_ATTRIBUTE_NAMES_MAX)
		return invalid(out, WIRE_ERR_INVALID_PARAMETER,
		               "busbar takes at most 32 MessageAttributeNames");
	for (uint32_t i = 0; i < names->count; i++) {
		uint32_t length = names->items[i].length;
		if (length == 0 || length > WIRE_ATTRIBUTE_NAME_BYTES_MAX)
			return invalid(out, WIRE_ERR_INVALID_PARAMETER,
			               "a MessageAttributeNames entry is 1-256 characters");
	}
	return WIRE_OK;
}

static enum wire_status check_sqs_send(struct dp_request *out)
{
	if (!out->body.present || out->body.length == 0)
		return invalid(out, WIRE_ERR_MISSING_PARAMETER, "MessageBody is required");
	if (out->delay_s.present && out->delay_s.value > WIRE_DELAY_S_MAX)
		return invalid(out, WIRE_ERR_INVALID_PARAMETER, "DelaySeconds must be 0-900");
	enum wire_status status = check_fifo_ids(out);
	if (status != WIRE_OK)
		return status;
	if (out->trace_header.present && !trace_header_is_valid(&out->trace_header))
		return invalid(out, WIRE_ERR_INVALID_PARAMETER,
		               "AWSTraceHeader is 1-256 characters of printable ASCII");
	const struct dp_bytes *source = &out->dead_letter_source_arn;
	if (source->present &&
	    (source->length == 0 || source->length > WIRE_DLQ_SOURCE_ARN_BYTES_MAX))
		return invalid(out, WIRE_ERR_INVALID_PARAMETER,
		               "DeadLetterQueueSourceArn is 1-256 characters");
	const char *why = NULL;
	status = check_attributes(&out->attributes, WIRE_ERR_INVALID_PARAMETER, &why);
	return status == WIRE_OK ? WIRE_OK : invalid(out, status, why);
}

/* An Ack: its delivery id and nothing else. */
static enum wire_status check_ack(struct dp_request *out)
{
	if (!out->delivery_id.present)
		return invalid(out, WIRE_ERR_MISSING_PARAMETER, "DELIVERY_ID is required");
	bool others = out->queue_name.present || out->body.present || out->receipt_handle.present ||
	              out->max_messages.present || out->visibility_timeout_s.present ||
	              out->wait_time_s.present || out->cookie.present || out->group_id.present ||
	              out->dedup_id.present || out->topic_name.present;
	return others ? invalid(out, WIRE_ERR_MALFORMED, "an Ack takes only its DELIVERY_ID")
	              : WIRE_OK;
}

static enum wire_status check_opcode_fields(struct dp_request *out)
{
	uint8_t op = out->header.opcode;
	if (op == WIRE_OP_PING)
		return WIRE_OK;
	if (!request_fields_fit(out))
		return invalid(out, WIRE_ERR_MALFORMED, "a field this operation does not take");
	if (wire_opcode_is_sns(op))
		return check_sns(out);
	if (op == WIRE_OP_PUT_EVENTS)
		return check_put_events(out);
	if (op == WIRE_OP_ACK)
		return check_ack(out);
	if (!out->queue_name.present)
		return invalid(out, WIRE_ERR_MISSING_PARAMETER, "QueueName is required");
	if (!bb_queue_name_is_valid(out->queue_name.data, out->queue_name.length))
		return invalid(out, WIRE_ERR_INVALID_PARAMETER,
		               "QueueName must be 1-80 of A-Z, a-z, 0-9, - and _");
	if (out->visibility_timeout_s.present &&
	    out->visibility_timeout_s.value > BB_VISIBILITY_TIMEOUT_S_MAX)
		return invalid(out, WIRE_ERR_INVALID_PARAMETER,
		               "VisibilityTimeout must be 0-43200");
	switch (op) {
	case WIRE_OP_SEND_MESSAGE: return check_sqs_send(out);
	case WIRE_OP_RECEIVE_MESSAGE: return check_receive(out);
	case WIRE_OP_PURGE_QUEUE:
	case WIRE_OP_GET_QUEUE_COUNTS: return WIRE_OK;
	case WIRE_OP_SEND_MESSAGE_BATCH:
	case WIRE_OP_DELETE_MESSAGE_BATCH:
	case WIRE_OP_CHANGE_MESSAGE_VISIBILITY_BATCH: return check_batch(out);
	case WIRE_OP_DELETE_MESSAGE:
	case WIRE_OP_CHANGE_MESSAGE_VISIBILITY:
		if (!out->receipt_handle.present)
			return invalid(out, WIRE_ERR_MISSING_PARAMETER,
			               "ReceiptHandle is required");
		if (op == WIRE_OP_CHANGE_MESSAGE_VISIBILITY && !out->visibility_timeout_s.present)
			return invalid(out, WIRE_ERR_MISSING_PARAMETER,
			               "VisibilityTimeout is required");
		return WIRE_OK;
	default: return invalid(out, WIRE_ERR_INVALID_ACTION, "unknown opcode");
	}
}

static void digest_bytes(struct dp_siphash *s, uint16_t tag, const struct dp_bytes *field)
{
	uint8_t prefix[7];
	bb_put_le16(prefix, tag);
	prefix[2] = field->present;
	bb_put_le32(prefix + 3, field->length);
	dp_siphash_update(s, prefix, sizeof(prefix));
	if (field->present)
		dp_siphash_update(s, field->data, field->length);
}

static void digest_u32(struct dp_siphash *s, uint16_t tag, const struct dp_u32 *field)
{
	uint8_t bytes[7];
	bb_put_le16(bytes, tag);
	bytes[2] = field->present;
	bb_put_le32(bytes + 3, field->present ? field->value : 0);
	dp_siphash_update(s, bytes, sizeof(bytes));
}

/* Fields newer than the SQS operations count only when present, so the digests of requests
 * without them stay what they were. */
static void digest_present(struct dp_siphash *s, uint16_t tag, const struct dp_bytes *field)
{
	if (field->present)
		digest_bytes(s, tag, field);
}

static void digest_u64_present(struct dp_siphash *s, uint16_t tag, const struct dp_u64 *field)
{
	uint8_t bytes[10];
	if (!field->present)
		return;
	bb_put_le16(bytes, tag);
	bb_put_le64(bytes + 2, field->value);
	dp_siphash_update(s, bytes, sizeof(bytes));
}

static void digest_attributes(struct dp_siphash *s, const struct dp_attributes *a)
{
	uint32_t kept = a->count < WIRE_ATTRIBUTES_MAX ? a->count : WIRE_ATTRIBUTES_MAX;
	for (uint32_t i = 0; i < kept; i++) {
		const struct dp_attribute *at = &a->items[i];
		digest_bytes(s, WIRE_TAG_ATTRIBUTE_NAME, &at->name);
		digest_bytes(s, WIRE_TAG_ATTRIBUTE_DATA_TYPE, &at->data_type);
		digest_bytes(s, WIRE_TAG_ATTRIBUTE_STRING_VALUE, &at->string_value);
		digest_bytes(s, WIRE_TAG_ATTRIBUTE_BINARY_VALUE, &at->binary_value);
	}
}

static void digest_event(struct dp_siphash *s, const struct dp_event *e)
{
	uint8_t time[10];
	bb_put_le16(time, WIRE_TAG_EVENT_TIME_MS);
	bb_put_le64(time + 2, e->time_ms.present ? e->time_ms.value : UINT64_MAX);
	dp_siphash_update(s, time, sizeof(time));
	digest_bytes(s, WIRE_TAG_EVENT_SOURCE, &e->source);
	digest_bytes(s, WIRE_TAG_EVENT_DETAIL_TYPE, &e->detail_type);
	digest_bytes(s, WIRE_TAG_EVENT_DETAIL, &e->detail);
	uint32_t kept = e->resource_count < WIRE_EVENT_RESOURCES_MAX ? e->resource_count
	                                                             : WIRE_EVENT_RESOURCES_MAX;
	for (uint32_t i = 0; i < kept; i++)
		digest_bytes(s, WIRE_TAG_EVENT_RESOURCE, &e->resources[i]);
}

static void digest_entry(struct dp_siphash *s, const struct dp_batch_entry *e)
{
	digest_bytes(s, WIRE_TAG_ENTRY_ID, &e->id);
	digest_bytes(s, WIRE_TAG_BODY, &e->body);
	digest_bytes(s, WIRE_TAG_RECEIPT_HANDLE, &e->receipt_handle);
	digest_u32(s, WIRE_TAG_VISIBILITY_TIMEOUT_S, &e->visibility_timeout_s);
	digest_u32(s, WIRE_TAG_DELAY_SECONDS, &e->delay_s);
	digest_present(s, WIRE_TAG_SUBJECT, &e->subject);
	digest_present(s, WIRE_TAG_MESSAGE_STRUCTURE, &e->message_structure);
	digest_present(s, WIRE_TAG_MESSAGE_GROUP_ID, &e->group_id);
	digest_present(s, WIRE_TAG_MESSAGE_DEDUPLICATION_ID, &e->dedup_id);
	digest_attributes(s, &e->attributes);
	digest_present(s, WIRE_TAG_AWS_TRACE_HEADER, &e->trace_header);
}

uint64_t dp_request_digest(const struct dp_request *req)
{
	/*
	 * A fixed key: only the sender of both requests chooses their ids, so a
	 * crafted collision could only confuse the requests of its own maker.
	 */
	static const struct dp_siphash_key key = {0x6275736261722d31ull, 0x6469676573742d31ull};
	struct dp_siphash s;
	dp_siphash_init(&s, &key);
	dp_siphash_update(&s, &req->header.opcode, 1);
	digest_bytes(&s, WIRE_TAG_QUEUE_NAME, &req->queue_name);
	digest_bytes(&s, WIRE_TAG_BODY, &req->body);
	digest_bytes(&s, WIRE_TAG_RECEIPT_HANDLE, &req->receipt_handle);
	digest_u32(&s, WIRE_TAG_MAX_MESSAGES, &req->max_messages);
	digest_u32(&s, WIRE_TAG_VISIBILITY_TIMEOUT_S, &req->visibility_timeout_s);
	digest_u32(&s, WIRE_TAG_WAIT_TIME_S, &req->wait_time_s);
	digest_bytes(&s, WIRE_TAG_RECEIVE_REQUEST_ATTEMPT_ID, &req->attempt_id);
	digest_bytes(&s, WIRE_TAG_MESSAGE_GROUP_ID, &req->group_id);
	digest_bytes(&s, WIRE_TAG_MESSAGE_DEDUPLICATION_ID, &req->dedup_id);
	digest_u32(&s, WIRE_TAG_DELAY_SECONDS, &req->delay_s);
	digest_present(&s, WIRE_TAG_TOPIC_NAME, &req->topic_name);
	digest_present(&s, WIRE_TAG_SUBJECT, &req->subject);
	digest_present(&s, WIRE_TAG_MESSAGE_STRUCTURE, &req->message_structure);
	digest_present(&s, WIRE_TAG_BUS_NAME, &req->bus_name);
	digest_attributes(&s, &req->attributes);
	digest_present(&s, WIRE_TAG_AWS_TRACE_HEADER, &req->trace_header);
	digest_present(&s, WIRE_TAG_DEAD_LETTER_QUEUE_SOURCE_ARN, &req->dead_letter_source_arn);
	digest_u64_present(&s, WIRE_TAG_DELIVERY_ID, &req->delivery_id);
	uint32_t names = req->attribute_names.count < WIRE_MESSAGE_ATTRIBUTE_NAMES_MAX
	                     ? req->attribute_names.count
	                     : WIRE_MESSAGE_ATTRIBUTE_NAMES_MAX;
	for (uint32_t i = 0; i < names; i++)
		digest_bytes(&s, WIRE_TAG_MESSAGE_ATTRIBUTE_NAME, &req->attribute_names.items[i]);
	bool events = req->header.opcode == WIRE_OP_PUT_EVENTS;
	for (uint32_t i = 0; i < req->entry_count; i++) {
		if (events)
			digest_event(&s, &req->events[i]);
		else
			digest_entry(&s, &req->entries[i]);
	}
	return dp_siphash_final(&s);
}

bool dp_request_is_answerable(const uint8_t *bytes, size_t length)
{
	if (length < BB_WIRE_HEADER_BYTES || bb_get_le16(bytes) != WIRE_MAGIC)
		return false;
	/* A response or a Deliver frame (another busbard's, or this one's sent back by an echo
	 * service a subscription names) is never answered: two busbards would answer each
	 * other's error replies for ever. */
	return (bb_get_le16(bytes + 4) & WIRE_FLAG_RESPONSE) == 0 && bytes[3] != WIRE_OP_DELIVER;
}

enum wire_status dp_request_parse(const uint8_t *bytes, size_t length, struct dp_request *out)
{
	memset(out, 0, offsetof(struct dp_request, entries)); /* entries: as they begin */
	enum wire_status status = wire_header_decode(bytes, length, &out->header);
	if (status == WIRE_ERR_UNSUPPORTED_VERSION)
		return invalid(out, status, "this server speaks wire protocol version 1");
	if (status != WIRE_OK)
		return invalid(out, status, "malformed header");
	if (out->header.flags & WIRE_FLAG_RESPONSE)
		return invalid(out, WIRE_ERR_MALFORMED, "a response is not a request");
	if (out->header.flags != 0)
		return invalid(out, WIRE_ERR_MALFORMED, "request flags must be 0");
	if (out->header.status != 0)
		return invalid(out, WIRE_ERR_MALFORMED, "a request's status must be 0");
	if (wire_opcode_is_local_only(out->header.opcode) &&
	    !is_queue_control_opcode(out->header.opcode))
		return invalid(out, WIRE_ERR_ACCESS_DENIED,
		               "control opcodes only on the local socket");
	if (!is_data_opcode(out->header.opcode))
		return invalid(out, WIRE_ERR_INVALID_ACTION, "unknown opcode");
	/* The key id and MAC are dp_auth's (UDP, before this parse); the local socket's guard is
	 * its file mode, so a signed request there is taken as it is. */
	struct wire_reader reader;
	struct wire_field f;
	int more;
	uint32_t fields = 0;
	wire_reader_init(&reader, bytes + BB_WIRE_HEADER_BYTES, out->header.body_bytes);
	bool batch = wire_opcode_is_batch(out->header.opcode);
	while ((more = wire_reader_next(&reader, &f)) == 1) {
		enum wire_status taken = batch                ? take_batch_field(out, &f)
		                         : take_field(out, &f) ? WIRE_OK
		                                               : WIRE_ERR_MALFORMED;
		if (taken == WIRE_ERR_TOO_MANY_ENTRIES_IN_BATCH_REQUEST)
			return invalid(out, for_service(out->header.opcode, taken),
			               "a batch has at most 10 entries");
		if (++fields > WIRE_REQUEST_FIELDS_MAX || taken != WIRE_OK)
			return invalid(out, WIRE_ERR_MALFORMED,
			               "unknown, repeated or ill-sized field");
	}
	if (more < 0)
		return invalid(out, WIRE_ERR_MALFORMED, "truncated field");
	return check_opcode_fields(out);
}

void dp_reply_begin(struct wire_writer *writer, uint8_t *buf, size_t capacity)
{
	wire_writer_init(writer, buf + BB_WIRE_HEADER_BYTES, capacity - BB_WIRE_HEADER_BYTES);
}

size_t dp_reply_finish(struct wire_writer *writer, const struct wire_header *request,
                       enum wire_status status)
{
	if (writer->overflow) {
		writer->length = 0;
		status = WIRE_ERR_INTERNAL;
	}
	struct wire_header reply = *request;
	reply.version = WIRE_VERSION;
	reply.flags = WIRE_FLAG_RESPONSE;
	reply.status = (uint16_t)status;
	reply.body_bytes = (uint32_t)writer->length;
	reply.key_id = 0;
	memset(reply.mac, 0, sizeof(reply.mac));
	wire_header_encode(&reply, writer->buf - BB_WIRE_HEADER_BYTES);
	return BB_WIRE_HEADER_BYTES + writer->length;
}

size_t dp_reply_error(uint8_t *buf, size_t capacity, const struct wire_header *request,
                      enum wire_status status, const char *message)
{
	struct wire_writer writer;
	dp_reply_begin(&writer, buf, capacity);
	wire_put_str(&writer, WIRE_TAG_ERROR_MESSAGE, message);
	return dp_reply_finish(&writer, request, status);
}
