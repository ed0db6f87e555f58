/*
 * The busbar command's JSON output (client/cli_output.c) for every kind of body bytes
 * (issue 10, defect 8): a received message is always printed, as "Body" when the bytes are
 * UTF-8 (control characters and NUL escaped) and as "BodyBase64" otherwise, and an output
 * that cannot be built or written is an error, never a shorter or empty list. Each test
 * feeds messages to cli_receive_json and compares the exact text cli_print_json writes.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_output.h"

#define ATTRIBUTES                                                                            \
	"\"Attributes\":{\"ApproximateReceiveCount\":1,\"SentTimestamp\":1700000000000,"     \
	"\"ApproximateFirstReceiveTimestamp\":1700000000500}"

static struct bb_message message_with(const void *body, uint32_t body_bytes)
{
	struct bb_message m = {
		.message_id = "8f1c1b43-3a3e-4c38-9d1f-0f6f54b0d1a2",
		.receipt_handle = "0100000000000000010000000000000001000000510ca288",
		.md5_of_body = "5d41402abc4b2a76b9719d911017c592",
		.body = body,
		.body_bytes = body_bytes,
		.receive_count = 1,
		.sent_ms = 1700000000000,
		.first_receive_ms = 1700000000500,
	};
	return m;
}

/* The line the command prints for `count` messages; the caller frees it. */
static char *printed(const struct bb_message *messages, uint32_t count)
{
	json_t *reply;
	cr_assert_eq(cli_receive_json(messages, count, &reply), 0);
	char *text = NULL;
	size_t text_bytes = 0;
	FILE *out = open_memstream(&text, &text_bytes);
	cr_assert_not_null(out);
	cr_assert_eq(cli_print_json(out, reply), 0);
	fclose(out);
	return text;
}

/* The "Body" or "BodyBase64" member printed for one body of `length` bytes. */
static void expect_body(const char *body, uint32_t length, const char *member)
{
	struct bb_message m = message_with(body, length);
	char *text = printed(&m, 1);
	char want[512];
	snprintf(want, sizeof(want),
	         "{\"Messages\":[{\"MessageId\":\"%s\",\"ReceiptHandle\":\"%s\",\"MD5OfBody\":"
	         "\"%s\",%s," ATTRIBUTES "}]}\n",
	         m.message_id, m.receipt_handle, m.md5_of_body, member);
	cr_assert_str_eq(text, want);
	free(text);
}

Test(cli_output, utf8_bodies_print_as_body)
{
	expect_body("hello", 5, "\"Body\":\"hello\"");
	expect_body("", 0, "\"Body\":\"\"");
	expect_body("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14,
	            "\"Body\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
	expect_body("quote\" back\\slash", 17, "\"Body\":\"quote\\\" back\\\\slash\"");
}

Test(cli_output, control_characters_and_nul_are_escaped_not_dropped)
{
	expect_body("a\tb\r\n", 5, "\"Body\":\"a\\tb\\r\\n\"");
	expect_body("\x01\x1f\x7f", 3, "\"Body\":\"\\u0001\\u001F\x7f\"");
	expect_body("a\0b", 3, "\"Body\":\"a\\u0000b\"");
	expect_body("\0", 1, "\"Body\":\"\\u0000\"");
}

Test(cli_output, invalid_utf8_prints_as_base64)
{
	expect_body("ok\xff", 3, "\"BodyBase64\":\"b2v/\""); /* the reproduction */
	expect_body("\xff", 1, "\"BodyBase64\":\"/w==\"");
	expect_body("\xff\xfe", 2, "\"BodyBase64\":\"//4=\"");
	expect_body("\xff\xfe\xfd", 3, "\"BodyBase64\":\"//79\"");
	expect_body("\xc0\x80", 2, "\"BodyBase64\":\"wIA=\"");         /* overlong NUL */
	expect_body("\xed\xa0\x80", 3, "\"BodyBase64\":\"7aCA\"");     /* a surrogate */
	expect_body("\xe2\x82", 2, "\"BodyBase64\":\"4oI=\"");         /* cut short */
	expect_body("\xf4\x90\x80\x80", 4, "\"BodyBase64\":\"9JCAgA==\""); /* past U+10FFFF */
	expect_body("a\0\xff", 3, "\"BodyBase64\":\"YQD/\"");
}

static int base64_value(char digit)
{
	static const char digits[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *at = strchr(digits, digit);
	cr_assert(digit != '\0' && at != NULL, "not a base64 digit: %d", digit);
	return (int)(at - digits);
}

/* Decodes padded base64 into out; returns the byte count. */
static size_t base64_decode(const char *text, uint8_t *out)
{
	size_t length = strlen(text), n = 0;
	cr_assert_eq(length % 4, 0);
	for (size_t i = 0; i < length; i += 4) {
		uint32_t group = 0;
		int pad = (text[i + 2] == '=') + (text[i + 3] == '=');
		for (int j = 0; j < 4; j++)
			group = group << 6 | (uint32_t)(j < 4 - pad ? base64_value(text[i + j]) : 0);
		out[n++] = (uint8_t)(group >> 16);
		if (pad < 2)
			out[n++] = (uint8_t)(group >> 8);
		if (pad < 1)
			out[n++] = (uint8_t)group;
	}
	return n;
}

Test(cli_output, every_byte_value_survives_base64)
{
	uint8_t body[256 * 3 + 2];
	for (size_t i = 0; i < sizeof(body); i++)
		body[i] = (uint8_t)(255 - i % 256);
	struct bb_message m = message_with(body, sizeof(body));
	char *text = printed(&m, 1);
	json_t *reply = json_loads(text, 0, NULL);
	cr_assert_not_null(reply);
	json_t *first = json_array_get(json_object_get(reply, "Messages"), 0);
	cr_assert_null(json_object_get(first, "Body"));
	const char *encoded = json_string_value(json_object_get(first, "BodyBase64"));
	cr_assert_not_null(encoded);
	uint8_t decoded[sizeof(body)];
	cr_assert_eq(base64_decode(encoded, decoded), sizeof(body));
	cr_assert_arr_eq(decoded, body, sizeof(body));
	json_decref(reply);
	free(text);
}

Test(cli_output, a_full_receive_of_mixed_bodies_prints_every_message)
{
	struct bb_message messages[BB_RECEIVE_COUNT_MAX];
	for (uint32_t i = 0; i < BB_RECEIVE_COUNT_MAX; i++)
		messages[i] = i % 2 ? message_with("ok\xff", 3) : message_with("ok", 2);
	char *text = printed(messages, BB_RECEIVE_COUNT_MAX);
	json_t *reply = json_loads(text, 0, NULL);
	cr_assert_not_null(reply);
	json_t *list = json_object_get(reply, "Messages");
	cr_assert_eq(json_array_size(list), BB_RECEIVE_COUNT_MAX);
	for (uint32_t i = 0; i < BB_RECEIVE_COUNT_MAX; i++) {
		const char *key = i % 2 ? "BodyBase64" : "Body";
		const char *want = i % 2 ? "b2v/" : "ok";
		json_t *message = json_array_get(list, i);
		cr_assert_str_eq(json_string_value(json_object_get(message, key)), want);
	}
	json_decref(reply);
	free(text);
}

Test(cli_output, a_field_json_cannot_carry_is_an_error_not_a_shorter_list)
{
	struct bb_message messages[2] = {message_with("ok", 2), message_with("ok", 2)};
	messages[1].message_id[0] = (char)0xff; /* a reply field that is not UTF-8 */
	json_t *reply = (json_t *)&messages; /* must be replaced */
	cr_assert_eq(cli_receive_json(messages, 2, &reply), -EINVAL);
	cr_assert_null(reply);
}

Test(cli_output, output_that_cannot_be_written_is_an_error)
{
	cr_assert_eq(cli_print_json(stdout, NULL), -EINVAL);
	FILE *full = fopen("/dev/full", "w"); /* every write to it fails with ENOSPC */
	cr_assert_not_null(full);
	struct bb_message m = message_with("ok", 2);
	json_t *reply;
	cr_assert_eq(cli_receive_json(&m, 1, &reply), 0);
	cr_assert_eq(cli_print_json(full, reply), -ENOSPC);
	fclose(full);
}

/* The line cli_print_json writes for a value built by one of the functions below. */
static char *line_of(json_t *value)
{
	char *text = NULL;
	size_t text_bytes = 0;
	FILE *out = open_memstream(&text, &text_bytes);
	cr_assert_not_null(out);
	cr_assert_eq(cli_print_json(out, value), 0);
	fclose(out);
	return text;
}

/* publish prints SNS's PublishResponse: a FIFO topic's SequenceNumber only when there. */
Test(cli_output, publish_prints_message_id_and_a_fifo_sequence_number)
{
	struct bb_published p = {.message_id = "8f1c1b43-3a3e-4c38-9d1f-0f6f54b0d1a2"};
	json_t *reply;
	cr_assert_eq(cli_published_json(&p, &reply), 0);
	char *text = line_of(reply);
	cr_assert_str_eq(text, "{\"MessageId\":\"8f1c1b43-3a3e-4c38-9d1f-0f6f54b0d1a2\"}\n");
	free(text);
	snprintf(p.sequence_number, sizeof(p.sequence_number), "10000000000000000001");
	cr_assert_eq(cli_published_json(&p, &reply), 0);
	text = line_of(reply);
	cr_assert_str_eq(text, "{\"MessageId\":\"8f1c1b43-3a3e-4c38-9d1f-0f6f54b0d1a2\","
	                       "\"SequenceNumber\":\"10000000000000000001\"}\n");
	free(text);
}

/* publish-batch prints SNS's PublishBatchResponse: each entry under Successful or Failed,
 * a failure with SNS's code and whose fault it is. */
Test(cli_output, publish_batch_sorts_entries_into_successful_and_failed)
{
	struct bb_publish_entry entries[3] = {
		{.id = "a", .message_id = "m-1"},
		{.id = "b", .status = WIRE_ERR_INVALID_PARAMETER},
		{.id = "c", .message_id = "m-3", .sequence_number = "7"},
	};
	json_t *reply;
	cr_assert_eq(cli_publish_batch_json(entries, 3, &reply), 0);
	char *text = line_of(reply);
	char want[512];
	snprintf(want, sizeof(want),
	         "{\"Successful\":[{\"Id\":\"a\",\"MessageId\":\"m-1\"},{\"Id\":\"c\","
	         "\"MessageId\":\"m-3\",\"SequenceNumber\":\"7\"}],\"Failed\":[{\"Id\":\"b\","
	         "\"Code\":\"%s\",\"SenderFault\":true}]}\n",
	         wire_status_name(WIRE_ERR_INVALID_PARAMETER));
	cr_assert_str_eq(text, want);
	free(text);
}

/* send-batch prints SendMessageBatchResponse: a FIFO queue's entries with their
 * SequenceNumber, a standard queue's without. */
Test(cli_output, send_batch_prints_a_fifo_entrys_sequence_number)
{
	struct bb_batch_entry entries[2] = {
		{.id = "0", .message_id = "m-0", .md5_of_body = "d0", .sequence_number = "7"},
		{.id = "1", .message_id = "m-1", .md5_of_body = "d1"},
	};
	json_t *reply;
	cr_assert_eq(cli_batch_json(entries, 2, &reply), 0);
	char *text = line_of(reply);
	cr_assert_str_eq(text, "{\"Successful\":[{\"Id\":\"0\",\"MessageId\":\"m-0\","
	                       "\"MD5OfMessageBody\":\"d0\",\"SequenceNumber\":\"7\"},{\"Id\":\"1\","
	                       "\"MessageId\":\"m-1\",\"MD5OfMessageBody\":\"d1\"}],\"Failed\":[]}\n");
	free(text);
}

/* A FIFO message prints its MessageGroupId, SequenceNumber and MessageDeduplicationId among
 * its Attributes, as the AWS CLI does with AttributeNames All. */
Test(cli_output, a_fifo_message_prints_its_ids_among_its_attributes)
{
	struct bb_message m = message_with("ok", 2);
	snprintf(m.message_group_id, sizeof(m.message_group_id), "g");
	snprintf(m.sequence_number, sizeof(m.sequence_number), "7");
	snprintf(m.message_deduplication_id, sizeof(m.message_deduplication_id), "d");
	char *text = printed(&m, 1);
	cr_assert(strstr(text, "\"MessageGroupId\":\"g\",\"SequenceNumber\":\"7\","
	                       "\"MessageDeduplicationId\":\"d\"") != NULL,
	          "%s", text);
	free(text);
}

/* put-events prints EventBridge's PutEventsResponse: one entry per event in order. */
Test(cli_output, put_events_answers_every_event_in_order)
{
	struct bb_event events[2] = {
		{.event_id = "11111111-2222-3333-4444-555555555555"},
		{.status = WIRE_ERR_EVENTS_INVALID_ARGUMENT, .error_code = "InvalidArgument",
		 .error_message = "Parameter Source is not valid."},
	};
	json_t *reply;
	cr_assert_eq(cli_put_events_json(events, 2, 1, &reply), 0);
	char *text = line_of(reply);
	cr_assert_str_eq(text, "{\"FailedEntryCount\":1,\"Entries\":[{\"EventId\":"
	                       "\"11111111-2222-3333-4444-555555555555\"},{\"ErrorCode\":"
	                       "\"InvalidArgument\",\"ErrorMessage\":\"Parameter Source is not "
	                       "valid.\"}]}\n");
	free(text);
}

/* Message attributes print as the AWS CLI prints them (issue 11): MD5OfMessageAttributes,
 * MessageAttributes by name with DataType and StringValue or a base64 BinaryValue, and the
 * trace header among the Attributes. */
Test(cli_output, message_attributes_print_as_the_aws_cli_prints_them)
{
	struct bb_message m = message_with("hi", 2);
	snprintf(m.md5_of_message_attributes, sizeof(m.md5_of_message_attributes), "%s",
	         "cd28f3b68aeee4b2eac9c66f2f694b58");
	m.attribute_count = 2;
	m.attributes[0] = (struct bb_received_attribute){"SellerNameXX", 10, "StringXX", 6,
	                                                 (const uint8_t *)"Example Store", 13,
	                                                 false};
	m.attributes[1] = (struct bb_received_attribute){"raw", 3, "Binary", 6,
	                                                 (const uint8_t *)"\x00\xff", 2, true};
	m.aws_trace_header = "Root=1;Sampled=1 and more";
	m.aws_trace_header_bytes = 16;
	char *text = printed(&m, 1);
	const char *want =
	    "{\"Messages\":[{\"MessageId\":\"8f1c1b43-3a3e-4c38-9d1f-0f6f54b0d1a2\","
	    "\"ReceiptHandle\":\"0100000000000000010000000000000001000000510ca288\","
	    "\"MD5OfBody\":\"5d41402abc4b2a76b9719d911017c592\",\"Body\":\"hi\","
	    "\"Attributes\":{\"ApproximateReceiveCount\":1,\"SentTimestamp\":1700000000000,"
	    "\"ApproximateFirstReceiveTimestamp\":1700000000500,\"AWSTraceHeader\":"
	    "\"Root=1;Sampled=1\"},\"MD5OfMessageAttributes\":\"cd28f3b68aeee4b2eac9c66f2f694b58\","
	    "\"MessageAttributes\":{\"SellerName\":{\"DataType\":\"String\",\"StringValue\":"
	    "\"Example Store\"},\"raw\":{\"DataType\":\"Binary\",\"BinaryValue\":\"AP8=\"}}}]}\n";
	cr_assert_str_eq(text, want);
	free(text);
}
