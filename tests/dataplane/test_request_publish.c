/*
 * Request parsing of SNS Publish and PublishBatch, EventBridge PutEvents and message
 * attributes (docs/protocol.md): every field lands in struct dp_request, each limit is taken
 * at its value and refused one past it, with the status AWS names; malformed placements
 * (attribute fields outside an attribute, fields of another operation) are refused; a
 * failed entry fails alone; the digest tells apart requests that differ in any new field.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bb_limits.h"
#include "dp_request.h"

static uint8_t *buf;
static struct wire_writer w;
static struct dp_request req;
static const size_t buf_bytes = BB_WIRE_HEADER_BYTES + (1u << 20);

static void begin(void)
{
	if (buf == NULL)
		buf = malloc(buf_bytes);
	cr_assert_not_null(buf);
	wire_writer_init(&w, buf + BB_WIRE_HEADER_BYTES, buf_bytes - BB_WIRE_HEADER_BYTES);
}

static enum wire_status parse(uint8_t opcode)
{
	cr_assert_not(w.overflow);
	struct wire_header h = {.version = 1, .opcode = opcode, .client_id = 1, .request_id = 2,
	                        .body_bytes = (uint32_t)w.length};
	wire_header_encode(&h, buf);
	return dp_request_parse(buf, BB_WIRE_HEADER_BYTES + w.length, &req);
}

static void str(uint16_t tag, const char *value)
{
	wire_put_str(&w, tag, value);
}

static void empty(uint16_t tag)
{
	wire_put_bytes(&w, tag, NULL, 0);
}

static void attribute(const char *name, const char *type, const char *value)
{
	empty(WIRE_TAG_ATTRIBUTE_BEGIN);
	if (name != NULL)
		str(WIRE_TAG_ATTRIBUTE_NAME, name);
	if (type != NULL)
		str(WIRE_TAG_ATTRIBUTE_DATA_TYPE, type);
	if (value == NULL)
		return;
	if (type != NULL && strncmp(type, "Binary", 6) == 0)
		str(WIRE_TAG_ATTRIBUTE_BINARY_VALUE, value);
	else
		str(WIRE_TAG_ATTRIBUTE_STRING_VALUE, value);
}

static void publish_begin(const char *topic, const char *message)
{
	begin();
	str(WIRE_TAG_TOPIC_NAME, topic);
	str(WIRE_TAG_BODY, message);
}

static bool is(const struct dp_bytes *b, const char *text)
{
	return b->present && b->length == strlen(text) && memcmp(b->data, text, b->length) == 0;
}

Test(publish, every_field_of_a_publish_is_parsed)
{
	publish_begin("orders.fifo", "hello");
	str(WIRE_TAG_SUBJECT, "Re: order");
	str(WIRE_TAG_MESSAGE_STRUCTURE, "json");
	str(WIRE_TAG_MESSAGE_GROUP_ID, "g");
	str(WIRE_TAG_MESSAGE_DEDUPLICATION_ID, "d");
	attribute("color", "String", "red");
	attribute("size", "Number.int", "-1.5e3");
	empty(WIRE_TAG_ATTRIBUTE_BEGIN);
	str(WIRE_TAG_ATTRIBUTE_BINARY_VALUE, "\x01\x02");
	str(WIRE_TAG_ATTRIBUTE_DATA_TYPE, "Binary");
	str(WIRE_TAG_ATTRIBUTE_NAME, "blob");
	cr_assert_eq(parse(WIRE_OP_PUBLISH), WIRE_OK, "%s", req.error);
	cr_assert(is(&req.topic_name, "orders.fifo"));
	cr_assert(is(&req.body, "hello"));
	cr_assert(is(&req.subject, "Re: order"));
	cr_assert(is(&req.message_structure, "json"));
	cr_assert(is(&req.group_id, "g") && is(&req.dedup_id, "d"));
	cr_assert_eq(req.attributes.count, 3);
	cr_assert(is(&req.attributes.items[0].name, "color"));
	cr_assert(is(&req.attributes.items[0].data_type, "String"));
	cr_assert(is(&req.attributes.items[0].string_value, "red"));
	cr_assert(is(&req.attributes.items[1].string_value, "-1.5e3"));
	cr_assert(is(&req.attributes.items[2].name, "blob"), "fields in any order");
	cr_assert(is(&req.attributes.items[2].binary_value, "\x01\x02"));
	cr_assert_not(req.attributes.items[2].string_value.present);
	cr_assert_eq(req.attributes.bytes, 5 + 6 + 3 + 4 + 10 + 6 + 4 + 6 + 2);
	cr_assert_not(req.bus_name.present);
	cr_assert_not(req.queue_name.present);
}

Test(publish, a_publish_needs_a_valid_topic_and_a_message)
{
	begin();
	str(WIRE_TAG_BODY, "m");
	cr_assert_eq(parse(WIRE_OP_PUBLISH), WIRE_ERR_MISSING_PARAMETER);
	cr_assert_str_eq(req.error, "TopicName is required");
	const char *bad[] = {"", "a b", "a.b", ".fifo", "t\xc3\xa9"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		publish_begin(bad[i], "m");
		cr_assert_eq(parse(WIRE_OP_PUBLISH), WIRE_ERR_SNS_INVALID_PARAMETER, "%zu", i);
	}
	char topic[BB_TOPIC_NAME_BYTES_MAX + 2];
	memset(topic, 't', sizeof(topic));
	topic[BB_TOPIC_NAME_BYTES_MAX] = '\0';
	publish_begin(topic, "m");
	cr_assert_eq(parse(WIRE_OP_PUBLISH), WIRE_OK, "256 characters");
	topic[BB_TOPIC_NAME_BYTES_MAX] = 't';
	topic[BB_TOPIC_NAME_BYTES_MAX + 1] = '\0';
	publish_begin(topic, "m");
	cr_assert_eq(parse(WIRE_OP_PUBLISH), WIRE_ERR_SNS_INVALID_PARAMETER, "257");
	begin();
	str(WIRE_TAG_TOPIC_NAME, "t");
	cr_assert_eq(parse(WIRE_OP_PUBLISH), WIRE_ERR_MISSING_PARAMETER);
	publish_begin("t", "");
	cr_assert_eq(parse(WIRE_OP_PUBLISH), WIRE_ERR_SNS_INVALID_PARAMETER);
	cr_assert_str_eq(req.error, "Invalid parameter: Empty message");
	cr_assert_str_eq(wire_status_name(WIRE_ERR_SNS_INVALID_PARAMETER), "InvalidParameter");
}

Test(publish, subject_and_structure_follow_sns)
{
	char subject[WIRE_SUBJECT_BYTES_MAX + 2];
	memset(subject, 's', sizeof(subject));
	subject[WIRE_SUBJECT_BYTES_MAX] = '\0';
	publish_begin("t", "m");
	str(WIRE_TAG_SUBJECT, subject);
	cr_assert_eq(parse(WIRE_OP_PUBLISH), WIRE_OK, "100 characters");
	subject[WIRE_SUBJECT_BYTES_MAX] = 's';
	subject[WIRE_SUBJECT_BYTES_MAX + 1] = '\0';
	const char *bad[] = {subject, "", " leading space", "line\nbreak", "tab\t", "\xc3\xa9"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		publish_begin("t", "m");
		str(WIRE_TAG_SUBJECT, bad[i]);
		cr_assert_eq(parse(WIRE_OP_PUBLISH), WIRE_ERR_SNS_INVALID_PARAMETER, "%zu", i);
	}
	const char *structures[] = {"JSON", "jsonx", "", "raw"};
	for (size_t i = 0; i < sizeof(structures) / sizeof(structures[0]); i++) {
		publish_begin("t", "m");
		str(WIRE_TAG_MESSAGE_STRUCTURE, structures[i]);
		cr_assert_eq(parse(WIRE_OP_PUBLISH), WIRE_ERR_SNS_INVALID_PARAMETER, "%zu", i);
	}
	char id[BB_FIFO_ID_BYTES_MAX + 2];
	memset(id, 'i', sizeof(id));
	id[BB_FIFO_ID_BYTES_MAX] = '\0';
	publish_begin("t.fifo", "m");
	str(WIRE_TAG_MESSAGE_GROUP_ID, id);
	str(WIRE_TAG_MESSAGE_DEDUPLICATION_ID, id);
	cr_assert_eq(parse(WIRE_OP_PUBLISH), WIRE_OK, "128 characters");
	id[BB_FIFO_ID_BYTES_MAX] = 'i';
	id[BB_FIFO_ID_BYTES_MAX + 1] = '\0';
	publish_begin("t.fifo", "m");
	str(WIRE_TAG_MESSAGE_GROUP_ID, id);
	cr_assert_eq(parse(WIRE_OP_PUBLISH), WIRE_ERR_SNS_INVALID_PARAMETER, "129");
}

Test(publish, a_message_with_its_attributes_is_at_most_256_kib)
{
	static char body[WIRE_SNS_MESSAGE_BYTES_MAX + 1];
	size_t attribute_bytes = strlen("a") + strlen("String") + strlen("v");
	memset(body, 'b', sizeof(body) - 1);
	body[WIRE_SNS_MESSAGE_BYTES_MAX - attribute_bytes] = '\0';
	publish_begin("t", body);
	attribute("a", "String", "v");
	cr_assert_eq(parse(WIRE_OP_PUBLISH), WIRE_OK, "exactly 256 KiB");
	publish_begin("t", body);
	attribute("a", "String", "vv");
	cr_assert_eq(parse(WIRE_OP_PUBLISH), WIRE_ERR_SNS_INVALID_PARAMETER, "one byte more");
	cr_assert_not_null(strstr(req.error, "Message too long"));
}

/* An attribute test case: the status a Publish and a SendMessage get with it. */
static void expect_attribute(const char *name, const char *type, const char *value,
                             bool valid)
{
	publish_begin("t", "m");
	attribute(name, type, value);
	cr_assert_eq(parse(WIRE_OP_PUBLISH), valid ? WIRE_OK : WIRE_ERR_SNS_PARAMETER_VALUE_INVALID,
	             "%s %s %s", name, type, value);
	begin();
	str(WIRE_TAG_QUEUE_NAME, "q");
	str(WIRE_TAG_BODY, "m");
	attribute(name, type, value);
	cr_assert_eq(parse(WIRE_OP_SEND_MESSAGE), valid ? WIRE_OK : WIRE_ERR_INVALID_PARAMETER,
	             "%s %s %s", name, type, value);
}

Test(publish, attribute_names_types_and_values_follow_aws)
{
	char name[WIRE_ATTRIBUTE_NAME_BYTES_MAX + 2];
	memset(name, 'n', sizeof(name));
	name[WIRE_ATTRIBUTE_NAME_BYTES_MAX] = '\0';
	expect_attribute(name, "String", "v", true);
	name[WIRE_ATTRIBUTE_NAME_BYTES_MAX] = 'n';
	name[WIRE_ATTRIBUTE_NAME_BYTES_MAX + 1] = '\0';
	expect_attribute(name, "String", "v", false);
	const char *good_names[] = {"a", "A-b_c.d", "awsx", "my.AWS.x", "Amazonia"};
	for (size_t i = 0; i < sizeof(good_names) / sizeof(good_names[0]); i++)
		expect_attribute(good_names[i], "String", "v", true);
	const char *bad_names[] = {NULL, "", ".a", "a.", "a..b", "AWS.x", "aws.x", "Amazon.x",
	                           "amazon.y", "a b", "a/b", "\xc3\xa9"};
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++)
		expect_attribute(bad_names[i], "String", "v", false);
	char type[WIRE_ATTRIBUTE_DATA_TYPE_BYTES_MAX + 2];
	memset(type, 'x', sizeof(type));
	memcpy(type, "String.", 7);
	type[WIRE_ATTRIBUTE_DATA_TYPE_BYTES_MAX] = '\0';
	expect_attribute("a", type, "v", true);
	type[WIRE_ATTRIBUTE_DATA_TYPE_BYTES_MAX] = 'x';
	type[WIRE_ATTRIBUTE_DATA_TYPE_BYTES_MAX + 1] = '\0';
	expect_attribute("a", type, "v", false);
	const char *good_types[] = {"String", "String.Array", "Number", "Number.float",
	                            "Binary", "Binary.gif"};
	for (size_t i = 0; i < sizeof(good_types) / sizeof(good_types[0]); i++)
		expect_attribute("a", good_types[i], "1", true);
	const char *bad_types[] = {NULL, "", "string", "Str", "Stringx", "String.", "Bool",
	                           "Number. x"};
	for (size_t i = 0; i < sizeof(bad_types) / sizeof(bad_types[0]); i++)
		expect_attribute("a", bad_types[i], "1", false);
	const char *numbers[] = {"0", "-1", "+2.5", "1e10", "3.", ".5", "-7E-3"};
	for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++)
		expect_attribute("a", "Number", numbers[i], true);
	const char *not_numbers[] = {"", "x", "1e", "--1", "1.2.3", " 1", "e5", "."};
	for (size_t i = 0; i < sizeof(not_numbers) / sizeof(not_numbers[0]); i++)
		expect_attribute("a", "Number", not_numbers[i], false);
	expect_attribute("a", "String", NULL, false);
	expect_attribute("a", "String", "", false);
	expect_attribute("a", "String", "\x01", false);
	expect_attribute("a", "Binary", NULL, false);
	expect_attribute("a", "Binary", "", false);
}

Test(publish, a_value_of_the_other_kind_or_a_repeated_name_is_refused)
{
	publish_begin("t", "m");
	attribute("a", "String", "v");
	str(WIRE_TAG_ATTRIBUTE_BINARY_VALUE, "b");
	cr_assert_eq(parse(WIRE_OP_PUBLISH), WIRE_ERR_SNS_PARAMETER_VALUE_INVALID, "both values");
	publish_begin("t", "m");
	attribute("a", "Binary", "b");
	str(WIRE_TAG_ATTRIBUTE_STRING_VALUE, "v");
	cr_assert_eq(parse(WIRE_OP_PUBLISH), WIRE_ERR_SNS_PARAMETER_VALUE_INVALID, "both values");
	publish_begin("t", "m");
	attribute("a", "String", "v");
	attribute("b", "String", "v");
	attribute("a", "Number", "1");
	cr_assert_eq(parse(WIRE_OP_PUBLISH), WIRE_ERR_SNS_PARAMETER_VALUE_INVALID, "repeated");
	cr_assert_str_eq(req.error, "two attributes of a message have the same Name");
	publish_begin("t", "m");
	attribute("a", "String", "v");
	attribute("A", "String", "v");
	cr_assert_eq(parse(WIRE_OP_PUBLISH), WIRE_OK, "names are case-sensitive");
}

/* A Publish with `count` attributes a0, a1, ... */
static enum wire_status publish_with_attributes(uint32_t count)
{
	publish_begin("t", "m");
	for (uint32_t i = 0; i < count; i++) {
		char name[16];
		snprintf(name, sizeof(name), "a%u", i);
		attribute(name, "String", "v");
	}
	return parse(WIRE_OP_PUBLISH);
}

Test(publish, a_message_has_at_most_ten_attributes)
{
	cr_assert_eq(publish_with_attributes(WIRE_ATTRIBUTES_MAX), WIRE_OK);
	cr_assert_eq(req.attributes.count, WIRE_ATTRIBUTES_MAX);
	cr_assert_eq(publish_with_attributes(WIRE_ATTRIBUTES_MAX + 1),
	             WIRE_ERR_SNS_PARAMETER_VALUE_INVALID);
	cr_assert_str_eq(req.error, "a message has at most 10 attributes");
	cr_assert_eq(publish_with_attributes(3 * WIRE_ATTRIBUTES_MAX),
	             WIRE_ERR_SNS_PARAMETER_VALUE_INVALID, "far past it, nothing overruns");
	cr_assert_str_eq(wire_status_name(WIRE_ERR_SNS_PARAMETER_VALUE_INVALID),
	                 "ParameterValueInvalid");
}

Test(publish, attribute_fields_outside_an_attribute_are_malformed)
{
	publish_begin("t", "m");
	str(WIRE_TAG_ATTRIBUTE_NAME, "a");
	cr_assert_eq(parse(WIRE_OP_PUBLISH), WIRE_ERR_MALFORMED, "before any ATTRIBUTE_BEGIN");
	publish_begin("t", "m");
	attribute("a", "String", "v");
	str(WIRE_TAG_ATTRIBUTE_NAME, "b");
	cr_assert_eq(parse(WIRE_OP_PUBLISH), WIRE_ERR_MALFORMED, "a name given twice");
	publish_begin("t", "m");
	str(WIRE_TAG_ATTRIBUTE_BEGIN, "x");
	cr_assert_eq(parse(WIRE_OP_PUBLISH), WIRE_ERR_MALFORMED, "a begin that is not empty");
	begin();
	str(WIRE_TAG_QUEUE_NAME, "q");
	attribute("a", "String", "v");
	cr_assert_eq(parse(WIRE_OP_RECEIVE_MESSAGE), WIRE_ERR_MALFORMED, "not a send");
	begin();
	str(WIRE_TAG_QUEUE_NAME, "q");
	str(WIRE_TAG_RECEIPT_HANDLE, "h");
	attribute("a", "String", "v");
	cr_assert_eq(parse(WIRE_OP_DELETE_MESSAGE), WIRE_ERR_MALFORMED);
}

Test(publish, each_operation_takes_only_its_own_fields)
{
	publish_begin("t", "m");
	str(WIRE_TAG_QUEUE_NAME, "q");
	cr_assert_eq(parse(WIRE_OP_PUBLISH), WIRE_ERR_MALFORMED, "a queue on a publish");
	publish_begin("t", "m");
	str(WIRE_TAG_BUS_NAME, "b");
	cr_assert_eq(parse(WIRE_OP_PUBLISH), WIRE_ERR_MALFORMED, "a bus on a publish");
	publish_begin("t", "m");
	wire_put_u32(&w, WIRE_TAG_VISIBILITY_TIMEOUT_S, 1);
	cr_assert_eq(parse(WIRE_OP_PUBLISH), WIRE_ERR_MALFORMED, "an SQS field");
	begin();
	str(WIRE_TAG_QUEUE_NAME, "q");
	str(WIRE_TAG_BODY, "m");
	str(WIRE_TAG_TOPIC_NAME, "t");
	cr_assert_eq(parse(WIRE_OP_SEND_MESSAGE), WIRE_ERR_MALFORMED, "a topic on a send");
	begin();
	str(WIRE_TAG_QUEUE_NAME, "q");
	str(WIRE_TAG_BODY, "m");
	str(WIRE_TAG_SUBJECT, "s");
	cr_assert_eq(parse(WIRE_OP_SEND_MESSAGE), WIRE_ERR_MALFORMED, "a subject on a send");
	begin();
	str(WIRE_TAG_QUEUE_NAME, "q");
	str(WIRE_TAG_BUS_NAME, "b");
	cr_assert_eq(parse(WIRE_OP_RECEIVE_MESSAGE), WIRE_ERR_MALFORMED, "a bus on a receive");
	begin();
	str(WIRE_TAG_QUEUE_NAME, "q");
	str(WIRE_TAG_BODY, "m");
	attribute("a", "String", "v");
	cr_assert_eq(parse(WIRE_OP_SEND_MESSAGE), WIRE_OK, "attributes on a send");
	cr_assert_eq(req.attributes.count, 1);
}

/* Batches: PublishBatch with SNS's names for the errors of a batch as a whole. */
static void entry(const char *id)
{
	empty(WIRE_TAG_ENTRY_BEGIN);
	if (id != NULL)
		str(WIRE_TAG_ENTRY_ID, id);
}

static enum wire_status publish_batch_of(uint32_t count)
{
	begin();
	str(WIRE_TAG_TOPIC_NAME, "t");
	for (uint32_t i = 0; i < count; i++) {
		char id[16];
		snprintf(id, sizeof(id), "e%u", i);
		entry(id);
		str(WIRE_TAG_BODY, "m");
	}
	return parse(WIRE_OP_PUBLISH_BATCH);
}

Test(publish_batch, every_field_of_an_entry_is_parsed)
{
	begin();
	str(WIRE_TAG_TOPIC_NAME, "t.fifo");
	entry("one");
	str(WIRE_TAG_BODY, "m1");
	str(WIRE_TAG_SUBJECT, "s1");
	str(WIRE_TAG_MESSAGE_STRUCTURE, "json");
	str(WIRE_TAG_MESSAGE_GROUP_ID, "g1");
	str(WIRE_TAG_MESSAGE_DEDUPLICATION_ID, "d1");
	attribute("a", "String", "v");
	attribute("b", "Binary", "x");
	entry("two");
	str(WIRE_TAG_BODY, "m2");
	attribute("c", "Number", "2");
	wire_put_u64(&w, WIRE_TAG_COOKIE, 7);
	cr_assert_eq(parse(WIRE_OP_PUBLISH_BATCH), WIRE_OK, "%s", req.error);
	cr_assert(is(&req.topic_name, "t.fifo"));
	cr_assert_eq(req.entry_count, 2);
	const struct dp_batch_entry *e = &req.entries[0];
	cr_assert(is(&e->id, "one") && is(&e->body, "m1") && is(&e->subject, "s1"));
	cr_assert(is(&e->message_structure, "json"));
	cr_assert(is(&e->group_id, "g1") && is(&e->dedup_id, "d1"));
	cr_assert_eq(e->attributes.count, 2);
	cr_assert(is(&e->attributes.items[1].binary_value, "x"));
	cr_assert_eq(e->status, WIRE_OK);
	e = &req.entries[1];
	cr_assert(is(&e->id, "two") && is(&e->body, "m2"));
	cr_assert_not(e->subject.present);
	cr_assert_eq(e->attributes.count, 1);
	cr_assert(is(&e->attributes.items[0].name, "c"));
	cr_assert(req.cookie.present && req.cookie.value == 7);
	cr_assert_eq(req.attributes.count, 0, "the request's own attributes stay empty");
}

Test(publish_batch, one_to_ten_entries_with_sns_error_names)
{
	cr_assert_eq(publish_batch_of(0), WIRE_ERR_SNS_EMPTY_BATCH_REQUEST);
	cr_assert_str_eq(wire_status_name(WIRE_ERR_SNS_EMPTY_BATCH_REQUEST), "EmptyBatchRequest");
	cr_assert_eq(publish_batch_of(1), WIRE_OK);
	cr_assert_eq(publish_batch_of(WIRE_BATCH_ENTRIES_MAX), WIRE_OK);
	cr_assert_eq(publish_batch_of(WIRE_BATCH_ENTRIES_MAX + 1),
	             WIRE_ERR_SNS_TOO_MANY_ENTRIES_IN_BATCH_REQUEST);
	cr_assert_str_eq(wire_status_name(WIRE_ERR_SNS_TOO_MANY_ENTRIES_IN_BATCH_REQUEST),
	                 "TooManyEntriesInBatchRequest");
	begin();
	str(WIRE_TAG_TOPIC_NAME, "t");
	entry("a b");
	str(WIRE_TAG_BODY, "m");
	cr_assert_eq(parse(WIRE_OP_PUBLISH_BATCH), WIRE_ERR_SNS_INVALID_BATCH_ENTRY_ID);
	begin();
	str(WIRE_TAG_TOPIC_NAME, "t");
	entry("x");
	str(WIRE_TAG_BODY, "m");
	entry("x");
	str(WIRE_TAG_BODY, "m");
	cr_assert_eq(parse(WIRE_OP_PUBLISH_BATCH), WIRE_ERR_SNS_BATCH_ENTRY_IDS_NOT_DISTINCT);
	cr_assert_str_eq(wire_status_name(WIRE_ERR_SNS_BATCH_ENTRY_IDS_NOT_DISTINCT),
	                 "BatchEntryIdsNotDistinct");
	begin();
	entry("x");
	str(WIRE_TAG_BODY, "m");
	cr_assert_eq(parse(WIRE_OP_PUBLISH_BATCH), WIRE_ERR_MISSING_PARAMETER, "no topic");
}

Test(publish_batch, the_messages_total_at_most_256_kib)
{
	/* Two bodies of 131,071 bytes and an attribute's name and type of one byte each. */
	static char body[WIRE_SNS_MESSAGE_BYTES_MAX / 2];
	memset(body, 'b', sizeof(body) - 1);
	begin();
	str(WIRE_TAG_TOPIC_NAME, "t");
	entry("a");
	str(WIRE_TAG_BODY, body);
	entry("b");
	str(WIRE_TAG_BODY, body);
	empty(WIRE_TAG_ATTRIBUTE_BEGIN);
	str(WIRE_TAG_ATTRIBUTE_NAME, "n");
	str(WIRE_TAG_ATTRIBUTE_DATA_TYPE, "S");
	cr_assert_eq(parse(WIRE_OP_PUBLISH_BATCH), WIRE_OK, "exactly 256 KiB");
	cr_assert_eq(req.entries[1].status, WIRE_ERR_SNS_PARAMETER_VALUE_INVALID, "a bad type");
	str(WIRE_TAG_ATTRIBUTE_STRING_VALUE, "v");
	cr_assert_eq(parse(WIRE_OP_PUBLISH_BATCH), WIRE_ERR_SNS_BATCH_REQUEST_TOO_LONG);
	cr_assert_str_eq(wire_status_name(WIRE_ERR_SNS_BATCH_REQUEST_TOO_LONG),
	                 "BatchRequestTooLong");
}

Test(publish_batch, an_entry_fails_alone)
{
	begin();
	str(WIRE_TAG_TOPIC_NAME, "t");
	entry("ok");
	str(WIRE_TAG_BODY, "m");
	entry("nobody");
	entry("empty");
	str(WIRE_TAG_BODY, "");
	entry("subject");
	str(WIRE_TAG_BODY, "m");
	str(WIRE_TAG_SUBJECT, "a\nb");
	entry("attribute");
	str(WIRE_TAG_BODY, "m");
	attribute("AWS.x", "String", "v");
	cr_assert_eq(parse(WIRE_OP_PUBLISH_BATCH), WIRE_OK);
	cr_assert_eq(req.entries[0].status, WIRE_OK);
	cr_assert_eq(req.entries[1].status, WIRE_ERR_MISSING_PARAMETER);
	cr_assert_eq(req.entries[2].status, WIRE_ERR_SNS_INVALID_PARAMETER);
	cr_assert_eq(req.entries[3].status, WIRE_ERR_SNS_INVALID_PARAMETER);
	cr_assert_eq(req.entries[4].status, WIRE_ERR_SNS_PARAMETER_VALUE_INVALID);
}

Test(publish_batch, fields_belong_to_their_place)
{
	begin();
	str(WIRE_TAG_TOPIC_NAME, "t");
	entry("a");
	str(WIRE_TAG_BODY, "m");
	str(WIRE_TAG_RECEIPT_HANDLE, "h");
	cr_assert_eq(parse(WIRE_OP_PUBLISH_BATCH), WIRE_ERR_MALFORMED, "a handle");
	begin();
	str(WIRE_TAG_TOPIC_NAME, "t");
	str(WIRE_TAG_SUBJECT, "s");
	entry("a");
	str(WIRE_TAG_BODY, "m");
	cr_assert_eq(parse(WIRE_OP_PUBLISH_BATCH), WIRE_ERR_MALFORMED, "a subject before");
	begin();
	str(WIRE_TAG_QUEUE_NAME, "q");
	entry("a");
	str(WIRE_TAG_BODY, "m");
	cr_assert_eq(parse(WIRE_OP_PUBLISH_BATCH), WIRE_ERR_MALFORMED, "a queue");
	begin();
	str(WIRE_TAG_TOPIC_NAME, "t");
	entry("a");
	str(WIRE_TAG_BODY, "m");
	attribute("a", "String", "v");
	str(WIRE_TAG_TOPIC_NAME, "t");
	cr_assert_eq(parse(WIRE_OP_PUBLISH_BATCH), WIRE_ERR_MALFORMED, "a topic in an entry");
	begin();
	str(WIRE_TAG_TOPIC_NAME, "t");
	entry("a");
	str(WIRE_TAG_BODY, "m");
	entry("b");
	str(WIRE_TAG_ATTRIBUTE_NAME, "n");
	cr_assert_eq(parse(WIRE_OP_PUBLISH_BATCH), WIRE_ERR_MALFORMED,
	             "an entry begins without an attribute");
}

Test(send_batch, entries_carry_attributes_that_can_fail_them_alone)
{
	begin();
	str(WIRE_TAG_QUEUE_NAME, "q");
	entry("a");
	str(WIRE_TAG_BODY, "m");
	attribute("n", "String", "v");
	entry("b");
	str(WIRE_TAG_BODY, "m");
	attribute("n", "Nope", "v");
	cr_assert_eq(parse(WIRE_OP_SEND_MESSAGE_BATCH), WIRE_OK);
	cr_assert_eq(req.entries[0].status, WIRE_OK);
	cr_assert_eq(req.entries[0].attributes.count, 1);
	cr_assert_eq(req.entries[1].status, WIRE_ERR_INVALID_PARAMETER);
	begin();
	str(WIRE_TAG_QUEUE_NAME, "q");
	entry("a");
	str(WIRE_TAG_BODY, "m");
	str(WIRE_TAG_SUBJECT, "s");
	cr_assert_eq(parse(WIRE_OP_SEND_MESSAGE_BATCH), WIRE_ERR_MALFORMED, "an SNS field");
	begin();
	str(WIRE_TAG_QUEUE_NAME, "q");
	entry("a");
	str(WIRE_TAG_RECEIPT_HANDLE, "h");
	attribute("n", "String", "v");
	cr_assert_eq(parse(WIRE_OP_DELETE_MESSAGE_BATCH), WIRE_ERR_MALFORMED, "not a send");
}

/* PutEvents: entries without ids, answered in order; EventBridge's codes. */
static void event(const char *source, const char *type, const char *detail)
{
	empty(WIRE_TAG_ENTRY_BEGIN);
	if (source != NULL)
		str(WIRE_TAG_EVENT_SOURCE, source);
	if (type != NULL)
		str(WIRE_TAG_EVENT_DETAIL_TYPE, type);
	if (detail != NULL)
		str(WIRE_TAG_EVENT_DETAIL, detail);
}

static enum wire_status put_events_of(uint32_t count)
{
	begin();
	for (uint32_t i = 0; i < count; i++)
		event("s", "t", "{}");
	return parse(WIRE_OP_PUT_EVENTS);
}

Test(put_events, every_field_of_an_entry_is_parsed)
{
	begin();
	str(WIRE_TAG_BUS_NAME, "orders/eu.1");
	event("com.shop", "OrderPlaced", "{\"id\":1}");
	str(WIRE_TAG_EVENT_RESOURCE, "arn:a");
	str(WIRE_TAG_EVENT_RESOURCE, "arn:b");
	wire_put_u64(&w, WIRE_TAG_EVENT_TIME_MS, 1700000000123ull);
	event("s", "t", "{}");
	cr_assert_eq(parse(WIRE_OP_PUT_EVENTS), WIRE_OK, "%s", req.error);
	cr_assert(is(&req.bus_name, "orders/eu.1"));
	cr_assert_eq(req.entry_count, 2);
	const struct dp_event *e = &req.events[0];
	cr_assert(is(&e->source, "com.shop") && is(&e->detail_type, "OrderPlaced"));
	cr_assert(is(&e->detail, "{\"id\":1}"));
	cr_assert_eq(e->resource_count, 2);
	cr_assert(is(&e->resources[0], "arn:a") && is(&e->resources[1], "arn:b"));
	cr_assert(e->time_ms.present && e->time_ms.value == 1700000000123ull);
	cr_assert_eq(e->size_bytes, 8 + 11 + 8 + 5 + 5 + WIRE_EVENT_TIME_SIZE_BYTES);
	cr_assert_eq(e->status, WIRE_OK);
	cr_assert_not(req.events[1].time_ms.present);
	cr_assert_eq(req.events[1].size_bytes, 4);
	begin();
	event("s", "t", "{}");
	cr_assert_eq(parse(WIRE_OP_PUT_EVENTS), WIRE_OK);
	cr_assert_not(req.bus_name.present, "the default bus");
}

Test(put_events, one_to_ten_entries_on_a_valid_bus)
{
	cr_assert_eq(put_events_of(0), WIRE_ERR_EVENTS_VALIDATION);
	cr_assert_str_eq(wire_status_name(WIRE_ERR_EVENTS_VALIDATION), "ValidationException");
	cr_assert_eq(put_events_of(1), WIRE_OK);
	cr_assert_eq(put_events_of(WIRE_BATCH_ENTRIES_MAX), WIRE_OK);
	cr_assert_eq(put_events_of(WIRE_BATCH_ENTRIES_MAX + 1), WIRE_ERR_EVENTS_VALIDATION);
	char bus[BB_BUS_NAME_BYTES_MAX + 2];
	memset(bus, 'b', sizeof(bus));
	bus[BB_BUS_NAME_BYTES_MAX] = '\0';
	begin();
	str(WIRE_TAG_BUS_NAME, bus);
	event("s", "t", "{}");
	cr_assert_eq(parse(WIRE_OP_PUT_EVENTS), WIRE_OK, "256 characters");
	bus[BB_BUS_NAME_BYTES_MAX] = 'b';
	bus[BB_BUS_NAME_BYTES_MAX + 1] = '\0';
	const char *bad[] = {bus, "", "a b", "a:b"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		begin();
		str(WIRE_TAG_BUS_NAME, bad[i]);
		event("s", "t", "{}");
		cr_assert_eq(parse(WIRE_OP_PUT_EVENTS), WIRE_ERR_EVENTS_VALIDATION, "%zu", i);
	}
	cr_assert_str_eq(wire_status_name(WIRE_ERR_EVENTS_RESOURCE_NOT_FOUND),
	                 "ResourceNotFoundException");
}

Test(put_events, an_entry_fails_alone_with_eventbridge_codes)
{
	begin();
	event("s", "t", "{}");
	event(NULL, "t", "{}");
	event("s", NULL, "{}");
	event("s", "t", NULL);
	event("", "t", "{}");
	event("s", "t", "{}");
	for (uint32_t i = 0; i < WIRE_EVENT_RESOURCES_MAX; i++)
		str(WIRE_TAG_EVENT_RESOURCE, "r");
	event("s", "t", "{}");
	for (uint32_t i = 0; i <= WIRE_EVENT_RESOURCES_MAX; i++)
		str(WIRE_TAG_EVENT_RESOURCE, "r");
	cr_assert_eq(parse(WIRE_OP_PUT_EVENTS), WIRE_OK);
	enum wire_status expected[] = {
	    WIRE_OK, WIRE_ERR_EVENTS_INVALID_ARGUMENT, WIRE_ERR_EVENTS_INVALID_ARGUMENT,
	    WIRE_ERR_EVENTS_INVALID_ARGUMENT, WIRE_ERR_EVENTS_INVALID_ARGUMENT, WIRE_OK,
	    WIRE_ERR_EVENTS_INVALID_ARGUMENT};
	for (uint32_t i = 0; i < 7; i++)
		cr_assert_eq(req.events[i].status, expected[i], "entry %u", i);
	cr_assert_null(req.events[0].error);
	cr_assert_str_eq(req.events[1].error,
	                 "Parameter Source is not valid. Reason: Source is a required argument.");
	cr_assert_not_null(strstr(req.events[2].error, "DetailType"));
	cr_assert_not_null(strstr(req.events[3].error, "Detail is"));
	cr_assert_eq(req.events[5].resource_count, WIRE_EVENT_RESOURCES_MAX, "10 resources");
	cr_assert_eq(req.events[6].resource_count, WIRE_EVENT_RESOURCES_MAX + 1);
	cr_assert_not_null(strstr(req.events[6].error, "Resources"));
	cr_assert_str_eq(wire_status_name(WIRE_ERR_EVENTS_INVALID_ARGUMENT), "InvalidArgument");
}

Test(put_events, the_entries_stay_under_256_kib)
{
	static char detail[WIRE_PUT_EVENTS_BYTES_LIMIT];
	memset(detail, ' ', sizeof(detail));
	/* Two entries of source "s", type "t": their details leave one byte under the limit. */
	size_t detail_bytes = (WIRE_PUT_EVENTS_BYTES_LIMIT - 1 - 4 - WIRE_EVENT_TIME_SIZE_BYTES);
	detail[detail_bytes / 2] = '\0';
	begin();
	event("s", "t", detail);
	wire_put_u64(&w, WIRE_TAG_EVENT_TIME_MS, 1);
	detail[detail_bytes / 2] = ' ';
	detail[detail_bytes - detail_bytes / 2] = '\0';
	event("s", "t", detail);
	cr_assert_eq(parse(WIRE_OP_PUT_EVENTS), WIRE_OK, "%s", req.error);
	cr_assert_eq(req.events[0].size_bytes + req.events[1].size_bytes,
	             WIRE_PUT_EVENTS_BYTES_LIMIT - 1);
	str(WIRE_TAG_EVENT_RESOURCE, "r");
	cr_assert_eq(parse(WIRE_OP_PUT_EVENTS), WIRE_ERR_EVENTS_VALIDATION, "at the limit");
	cr_assert_not_null(strstr(req.error, "Total size"));
}

Test(put_events, fields_belong_to_their_place)
{
	begin();
	event("s", "t", "{}");
	str(WIRE_TAG_ENTRY_ID, "0");
	cr_assert_eq(parse(WIRE_OP_PUT_EVENTS), WIRE_ERR_MALFORMED, "entries have no ids");
	begin();
	event("s", "t", "{}");
	str(WIRE_TAG_EVENT_SOURCE, "s");
	cr_assert_eq(parse(WIRE_OP_PUT_EVENTS), WIRE_ERR_MALFORMED, "a source twice");
	begin();
	str(WIRE_TAG_EVENT_SOURCE, "s");
	event("s", "t", "{}");
	cr_assert_eq(parse(WIRE_OP_PUT_EVENTS), WIRE_ERR_MALFORMED, "before the first entry");
	begin();
	event("s", "t", "{}");
	wire_put_u32(&w, WIRE_TAG_EVENT_TIME_MS, 1);
	cr_assert_eq(parse(WIRE_OP_PUT_EVENTS), WIRE_ERR_MALFORMED, "a time of the wrong width");
	begin();
	event("s", "t", "{}");
	str(WIRE_TAG_BODY, "m");
	cr_assert_eq(parse(WIRE_OP_PUT_EVENTS), WIRE_ERR_MALFORMED, "a body");
	begin();
	event("s", "t", "{}");
	str(WIRE_TAG_BUS_NAME, "b");
	cr_assert_eq(parse(WIRE_OP_PUT_EVENTS), WIRE_ERR_MALFORMED, "a bus in an entry");
	begin();
	str(WIRE_TAG_TOPIC_NAME, "t");
	event("s", "t", "{}");
	cr_assert_eq(parse(WIRE_OP_PUT_EVENTS), WIRE_ERR_MALFORMED, "a topic");
}

/* Digests: the same request twice agrees; each new field, changed, disagrees. */
static uint64_t publish_digest(const char *topic, const char *subject, const char *name,
                               const char *type, const char *value)
{
	publish_begin(topic, "m");
	if (subject != NULL)
		str(WIRE_TAG_SUBJECT, subject);
	if (name != NULL)
		attribute(name, type, value);
	cr_assert_eq(parse(WIRE_OP_PUBLISH), WIRE_OK, "%s", req.error);
	return dp_request_digest(&req);
}

static uint64_t event_digest(const char *bus, const char *source, const char *detail,
                             const char *resource, uint64_t time_ms)
{
	begin();
	if (bus != NULL)
		str(WIRE_TAG_BUS_NAME, bus);
	event(source, "t", detail);
	if (resource != NULL)
		str(WIRE_TAG_EVENT_RESOURCE, resource);
	if (time_ms != 0)
		wire_put_u64(&w, WIRE_TAG_EVENT_TIME_MS, time_ms);
	cr_assert_eq(parse(WIRE_OP_PUT_EVENTS), WIRE_OK, "%s", req.error);
	return dp_request_digest(&req);
}

Test(digest, covers_every_new_field)
{
	uint64_t base = publish_digest("t", "s", "a", "String", "v");
	cr_assert_eq(publish_digest("t", "s", "a", "String", "v"), base);
	cr_assert_neq(publish_digest("u", "s", "a", "String", "v"), base, "topic");
	cr_assert_neq(publish_digest("t", "S", "a", "String", "v"), base, "subject");
	cr_assert_neq(publish_digest("t", NULL, "a", "String", "v"), base, "no subject");
	cr_assert_neq(publish_digest("t", "s", "b", "String", "v"), base, "attribute name");
	cr_assert_neq(publish_digest("t", "s", "a", "String.x", "v"), base, "attribute type");
	cr_assert_neq(publish_digest("t", "s", "a", "String", "w"), base, "attribute value");
	cr_assert_neq(publish_digest("t", "s", "a", "Binary", "v"), base, "binary value");
	cr_assert_neq(publish_digest("t", "s", NULL, NULL, NULL), base, "no attribute");
	publish_begin("t", "m");
	str(WIRE_TAG_SUBJECT, "s");
	attribute("a", "String", "v");
	str(WIRE_TAG_MESSAGE_STRUCTURE, "json");
	cr_assert_eq(parse(WIRE_OP_PUBLISH), WIRE_OK);
	cr_assert_neq(dp_request_digest(&req), base, "structure");
	uint64_t event_base = event_digest("b", "s", "{}", "r", 5);
	cr_assert_eq(event_digest("b", "s", "{}", "r", 5), event_base);
	cr_assert_neq(event_digest(NULL, "s", "{}", "r", 5), event_base, "bus");
	cr_assert_neq(event_digest("b", "x", "{}", "r", 5), event_base, "source");
	cr_assert_neq(event_digest("b", "s", "{ }", "r", 5), event_base, "detail");
	cr_assert_neq(event_digest("b", "s", "{}", "q", 5), event_base, "resource");
	cr_assert_neq(event_digest("b", "s", "{}", NULL, 5), event_base, "no resource");
	cr_assert_neq(event_digest("b", "s", "{}", "r", 6), event_base, "time");
	cr_assert_neq(event_digest("b", "s", "{}", "r", 0), event_base, "no time");
}

Test(digest, batch_entries_count_their_sns_fields)
{
	cr_assert_eq(publish_batch_of(2), WIRE_OK);
	uint64_t two = dp_request_digest(&req);
	begin();
	str(WIRE_TAG_TOPIC_NAME, "t");
	entry("e0");
	str(WIRE_TAG_BODY, "m");
	entry("e1");
	str(WIRE_TAG_BODY, "m");
	str(WIRE_TAG_MESSAGE_GROUP_ID, "g");
	cr_assert_eq(parse(WIRE_OP_PUBLISH_BATCH), WIRE_OK);
	cr_assert_neq(dp_request_digest(&req), two, "a group id");
	begin();
	str(WIRE_TAG_TOPIC_NAME, "t");
	entry("e0");
	str(WIRE_TAG_BODY, "m");
	entry("e1");
	str(WIRE_TAG_BODY, "m");
	attribute("a", "String", "v");
	cr_assert_eq(parse(WIRE_OP_PUBLISH_BATCH), WIRE_OK);
	cr_assert_neq(dp_request_digest(&req), two, "an attribute");
}

Test(opcodes, have_their_aws_names)
{
	cr_assert_str_eq(wire_opcode_name(WIRE_OP_PUBLISH), "Publish");
	cr_assert_str_eq(wire_opcode_name(WIRE_OP_PUBLISH_BATCH), "PublishBatch");
	cr_assert_str_eq(wire_opcode_name(WIRE_OP_PUT_EVENTS), "PutEvents");
	cr_assert_str_eq(wire_status_name(WIRE_ERR_SNS_NOT_FOUND), "NotFound");
	cr_assert_str_eq(wire_status_name(WIRE_ERR_EVENTS_MALFORMED_DETAIL), "MalformedDetail");
	cr_assert(wire_opcode_is_sns(WIRE_OP_PUBLISH_BATCH));
	cr_assert_not(wire_opcode_is_sns(WIRE_OP_PUT_EVENTS));
}
