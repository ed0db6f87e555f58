/*
 * Request parsing: required fields per opcode, ranges, repeated and unknown
 * fields, the queue-name rule, header flags and status that must be 0, the
 * cookie field, the digest the retry window keeps, and batches with their limits.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bb_limits.h"
#include "dp_request.h"

static uint8_t buf[512];
static struct wire_writer fields;
static struct dp_request req;

static void begin(void)
{
	wire_writer_init(&fields, buf + BB_WIRE_HEADER_BYTES, sizeof(buf) - BB_WIRE_HEADER_BYTES);
}

static enum wire_status parse_header(struct wire_header h)
{
	h.body_bytes = (uint32_t)fields.length;
	wire_header_encode(&h, buf);
	return dp_request_parse(buf, BB_WIRE_HEADER_BYTES + fields.length, &req);
}

static enum wire_status parse(uint8_t opcode, uint32_t key_id)
{
	struct wire_header h = {.version = 1, .opcode = opcode, .client_id = 1, .request_id = 2,
	                        .key_id = key_id};
	return parse_header(h);
}

Test(request, send_needs_a_queue_and_a_body)
{
	begin();
	cr_assert_eq(parse(WIRE_OP_SEND_MESSAGE, 0), WIRE_ERR_MISSING_PARAMETER);
	wire_put_str(&fields, WIRE_TAG_QUEUE_NAME, "q");
	cr_assert_eq(parse(WIRE_OP_SEND_MESSAGE, 0), WIRE_ERR_MISSING_PARAMETER);
	cr_assert_str_eq(req.error, "MessageBody is required");
	wire_put_str(&fields, WIRE_TAG_BODY, "b");
	cr_assert_eq(parse(WIRE_OP_SEND_MESSAGE, 0), WIRE_OK);
	cr_assert_eq(req.body.length, 1);
}

Test(request, repeated_or_unknown_fields_are_malformed)
{
	begin();
	wire_put_str(&fields, WIRE_TAG_QUEUE_NAME, "q");
	wire_put_str(&fields, WIRE_TAG_QUEUE_NAME, "r");
	cr_assert_eq(parse(WIRE_OP_RECEIVE_MESSAGE, 0), WIRE_ERR_MALFORMED);
	begin();
	wire_put_str(&fields, WIRE_TAG_QUEUE_NAME, "q");
	wire_put_str(&fields, 999, "?");
	cr_assert_eq(parse(WIRE_OP_RECEIVE_MESSAGE, 0), WIRE_ERR_MALFORMED);
	begin();
	wire_put_str(&fields, WIRE_TAG_QUEUE_NAME, "q");
	wire_put_u64(&fields, WIRE_TAG_MAX_MESSAGES, 1);
	cr_assert_eq(parse(WIRE_OP_RECEIVE_MESSAGE, 0), WIRE_ERR_MALFORMED, "wrong width");
}

Test(request, ranges_follow_sqs)
{
	uint32_t cases[][3] = {
		{WIRE_TAG_MAX_MESSAGES, 0, WIRE_ERR_INVALID_PARAMETER},
		{WIRE_TAG_MAX_MESSAGES, 10, WIRE_OK},
		{WIRE_TAG_WAIT_TIME_S, 20, WIRE_OK},
		{WIRE_TAG_WAIT_TIME_S, 21, WIRE_ERR_INVALID_PARAMETER},
		{WIRE_TAG_VISIBILITY_TIMEOUT_S, 43200, WIRE_OK},
		{WIRE_TAG_VISIBILITY_TIMEOUT_S, 43201, WIRE_ERR_INVALID_PARAMETER},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		begin();
		wire_put_str(&fields, WIRE_TAG_QUEUE_NAME, "q");
		wire_put_u32(&fields, (uint16_t)cases[i][0], cases[i][1]);
		cr_assert_eq(parse(WIRE_OP_RECEIVE_MESSAGE, 0), cases[i][2], "case %zu", i);
	}
}

/* RECEIVE_REQUEST_ATTEMPT_ID: a receive's, 1-128 letters, digits or punctuation (SQS's). */
Test(request, an_attempt_id_is_a_receive_s_of_sqs_characters)
{
	char longest[BB_FIFO_ID_BYTES_MAX + 2];
	memset(longest, 'a', sizeof(longest));
	longest[BB_FIFO_ID_BYTES_MAX] = '\0';
	const char *good[] = {"x", "try-1!~", longest};
	for (size_t i = 0; i < 3; i++) {
		begin();
		wire_put_str(&fields, WIRE_TAG_QUEUE_NAME, "q.fifo");
		wire_put_str(&fields, WIRE_TAG_RECEIVE_REQUEST_ATTEMPT_ID, good[i]);
		cr_assert_eq(parse(WIRE_OP_RECEIVE_MESSAGE, 0), WIRE_OK, "%s", good[i]);
		cr_assert_eq(req.attempt_id.length, strlen(good[i]));
	}
	longest[BB_FIFO_ID_BYTES_MAX] = 'a';
	longest[BB_FIFO_ID_BYTES_MAX + 1] = '\0';
	const char *bad[] = {"", "has space", longest};
	for (size_t i = 0; i < 3; i++) {
		begin();
		wire_put_str(&fields, WIRE_TAG_QUEUE_NAME, "q.fifo");
		wire_put_str(&fields, WIRE_TAG_RECEIVE_REQUEST_ATTEMPT_ID, bad[i]);
		cr_assert_eq(parse(WIRE_OP_RECEIVE_MESSAGE, 0), WIRE_ERR_INVALID_PARAMETER, "%zu", i);
	}
	begin();
	wire_put_str(&fields, WIRE_TAG_QUEUE_NAME, "q.fifo");
	wire_put_str(&fields, WIRE_TAG_BODY, "b");
	wire_put_str(&fields, WIRE_TAG_RECEIVE_REQUEST_ATTEMPT_ID, "x");
	cr_assert_eq(parse(WIRE_OP_SEND_MESSAGE, 0), WIRE_ERR_MALFORMED, "a send does not take it");
}

Test(request, handle_operations_need_their_fields)
{
	begin();
	wire_put_str(&fields, WIRE_TAG_QUEUE_NAME, "q");
	cr_assert_eq(parse(WIRE_OP_DELETE_MESSAGE, 0), WIRE_ERR_MISSING_PARAMETER);
	wire_put_str(&fields, WIRE_TAG_RECEIPT_HANDLE, "h");
	cr_assert_eq(parse(WIRE_OP_DELETE_MESSAGE, 0), WIRE_OK);
	cr_assert_eq(parse(WIRE_OP_CHANGE_MESSAGE_VISIBILITY, 0), WIRE_ERR_MISSING_PARAMETER);
	wire_put_u32(&fields, WIRE_TAG_VISIBILITY_TIMEOUT_S, 5);
	cr_assert_eq(parse(WIRE_OP_CHANGE_MESSAGE_VISIBILITY, 0), WIRE_OK);
}

/* Key ids and MACs are dp_auth's, before parsing (test_auth.c); the parser takes them as they
 * are, as the local socket does. */
Test(request, key_ids_are_left_to_authentication)
{
	begin();
	cr_assert_eq(parse(WIRE_OP_PING, 0), WIRE_OK);
	cr_assert_eq(parse(WIRE_OP_PING, 5), WIRE_OK);
}

Test(request, replies_echo_the_request_ids)
{
	begin();
	cr_assert_eq(parse(WIRE_OP_PING, 0), WIRE_OK);
	uint8_t reply[256];
	size_t n = dp_reply_error(reply, sizeof(reply), &req.header, WIRE_ERR_OVER_LIMIT, "full");
	struct wire_header h;
	cr_assert_eq(wire_header_decode(reply, n, &h), WIRE_OK);
	cr_assert_eq(h.request_id, 2);
	cr_assert_eq(h.client_id, 1);
	cr_assert_eq(h.status, WIRE_ERR_OVER_LIMIT);
	cr_assert(h.flags & WIRE_FLAG_RESPONSE);
}

Test(request, queue_names_follow_the_sqs_rule)
{
	const char *good[] = {"q", "orders-2_b", "ABCxyz09", "q.fifo"};
	const char *bad[] = {"bad name", ".fifo", "q.fifo.fifo", "dots.in.it", "slash/q",
	                     "\xc3\xa9t\xc3\xa9"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		begin();
		wire_put_str(&fields, WIRE_TAG_QUEUE_NAME, good[i]);
		cr_assert_eq(parse(WIRE_OP_RECEIVE_MESSAGE, 0), WIRE_OK, "%s", good[i]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		begin();
		wire_put_str(&fields, WIRE_TAG_QUEUE_NAME, bad[i]);
		cr_assert_eq(parse(WIRE_OP_RECEIVE_MESSAGE, 0), WIRE_ERR_INVALID_PARAMETER, "%s",
		             bad[i]);
		cr_assert_not_null(strstr(req.error, "QueueName"));
	}
	char name[BB_QUEUE_NAME_BYTES_MAX + 2];
	memset(name, 'n', sizeof(name));
	name[BB_QUEUE_NAME_BYTES_MAX] = '\0';
	begin();
	wire_put_str(&fields, WIRE_TAG_QUEUE_NAME, name);
	cr_assert_eq(parse(WIRE_OP_RECEIVE_MESSAGE, 0), WIRE_OK, "80 characters");
	name[BB_QUEUE_NAME_BYTES_MAX] = 'n';
	name[BB_QUEUE_NAME_BYTES_MAX + 1] = '\0';
	begin();
	wire_put_str(&fields, WIRE_TAG_QUEUE_NAME, name);
	cr_assert_eq(parse(WIRE_OP_RECEIVE_MESSAGE, 0), WIRE_ERR_INVALID_PARAMETER, "81 bytes");
	begin();
	wire_put_str(&fields, WIRE_TAG_QUEUE_NAME, "");
	wire_put_str(&fields, WIRE_TAG_BODY, "b");
	cr_assert_eq(parse(WIRE_OP_SEND_MESSAGE, 0), WIRE_ERR_INVALID_PARAMETER, "empty");
}

Test(request, flag_bits_and_a_status_in_a_request_are_malformed)
{
	struct wire_header h = {
	    .version = 1, .opcode = WIRE_OP_PING, .client_id = 1, .request_id = 2};
	begin();
	cr_assert_eq(parse_header(h), WIRE_OK);
	for (unsigned int bit = 1; bit < 16; bit++) {
		h.flags = (uint16_t)(1u << bit);
		cr_assert_eq(parse_header(h), WIRE_ERR_MALFORMED, "flag bit %u", bit);
		cr_assert_str_eq(req.error, "request flags must be 0");
	}
	h.flags = 0;
	h.status = WIRE_ERR_INTERNAL;
	cr_assert_eq(parse_header(h), WIRE_ERR_MALFORMED);
	cr_assert_str_eq(req.error, "a request's status must be 0");
}

Test(request, the_cookie_is_a_u64_given_once)
{
	begin();
	wire_put_str(&fields, WIRE_TAG_QUEUE_NAME, "q");
	wire_put_u64(&fields, WIRE_TAG_COOKIE, 0x1122334455667788ull);
	cr_assert_eq(parse(WIRE_OP_RECEIVE_MESSAGE, 0), WIRE_OK);
	cr_assert(req.cookie.present);
	cr_assert_eq(req.cookie.value, 0x1122334455667788ull);
	wire_put_u64(&fields, WIRE_TAG_COOKIE, 1);
	cr_assert_eq(parse(WIRE_OP_RECEIVE_MESSAGE, 0), WIRE_ERR_MALFORMED, "given twice");
	begin();
	wire_put_str(&fields, WIRE_TAG_QUEUE_NAME, "q");
	wire_put_u32(&fields, WIRE_TAG_COOKIE, 1);
	cr_assert_eq(parse(WIRE_OP_RECEIVE_MESSAGE, 0), WIRE_ERR_MALFORMED, "wrong width");
}

/* The digest of a SendMessage to queue q with body b, with or without a cookie. */
static uint64_t send_digest(const char *q, const char *b, bool with_cookie, uint64_t cookie)
{
	begin();
	if (with_cookie)
		wire_put_u64(&fields, WIRE_TAG_COOKIE, cookie);
	wire_put_str(&fields, WIRE_TAG_QUEUE_NAME, q);
	wire_put_str(&fields, WIRE_TAG_BODY, b);
	cr_assert_eq(parse(WIRE_OP_SEND_MESSAGE, 0), WIRE_OK);
	return dp_request_digest(&req);
}

Test(request, the_digest_tells_requests_apart_but_not_their_cookies)
{
	uint64_t base = send_digest("q", "hello", false, 0);
	cr_assert_eq(send_digest("q", "hello", true, 1), base, "a cookie is not the request");
	cr_assert_eq(send_digest("q", "hello", true, 2), base);
	cr_assert_neq(send_digest("q", "hellO", false, 0), base, "another body");
	cr_assert_neq(send_digest("r", "hello", false, 0), base, "another queue");
	cr_assert_neq(send_digest("qh", "ello", false, 0), base, "field boundaries count");
	begin();
	wire_put_str(&fields, WIRE_TAG_QUEUE_NAME, "q");
	wire_put_str(&fields, WIRE_TAG_RECEIPT_HANDLE, "hello");
	cr_assert_eq(parse(WIRE_OP_DELETE_MESSAGE, 0), WIRE_OK);
	cr_assert_neq(dp_request_digest(&req), base, "another opcode and field");
	begin();
	wire_put_str(&fields, WIRE_TAG_QUEUE_NAME, "q");
	wire_put_u32(&fields, WIRE_TAG_MAX_MESSAGES, 2);
	cr_assert_eq(parse(WIRE_OP_RECEIVE_MESSAGE, 0), WIRE_OK);
	uint64_t two = dp_request_digest(&req);
	begin();
	wire_put_str(&fields, WIRE_TAG_QUEUE_NAME, "q");
	wire_put_u32(&fields, WIRE_TAG_MAX_MESSAGES, 3);
	cr_assert_eq(parse(WIRE_OP_RECEIVE_MESSAGE, 0), WIRE_OK);
	cr_assert_neq(dp_request_digest(&req), two, "another count");
}

/*
 * Batches (docs/protocol.md, "Batches"): what fails the request as a whole (no entries, more
 * than 10, a bad or repeated entry id, bodies over 1 MiB in total) and what fails one entry
 * alone (a missing body or handle, a timeout out of range), each at its limit.
 */
static uint8_t *batch_buf;
static struct wire_writer batch_fields;
static const size_t batch_buf_bytes = BB_WIRE_HEADER_BYTES + (2u << 20);

static void batch_begin(void)
{
	if (batch_buf == NULL)
		batch_buf = malloc(batch_buf_bytes);
	cr_assert_not_null(batch_buf);
	wire_writer_init(&batch_fields, batch_buf + BB_WIRE_HEADER_BYTES,
	                 batch_buf_bytes - BB_WIRE_HEADER_BYTES);
	wire_put_str(&batch_fields, WIRE_TAG_QUEUE_NAME, "q");
}

static void batch_entry(const char *id)
{
	wire_put_bytes(&batch_fields, WIRE_TAG_ENTRY_BEGIN, NULL, 0);
	if (id != NULL)
		wire_put_str(&batch_fields, WIRE_TAG_ENTRY_ID, id);
}

static enum wire_status batch_parse(uint8_t opcode)
{
	cr_assert_not(batch_fields.overflow);
	struct wire_header h = {.version = 1, .opcode = opcode, .client_id = 1, .request_id = 2,
	                        .body_bytes = (uint32_t)batch_fields.length};
	wire_header_encode(&h, batch_buf);
	return dp_request_parse(batch_buf, BB_WIRE_HEADER_BYTES + batch_fields.length, &req);
}

/* A SendMessageBatch of `count` entries with ids e0, e1, ... and one-byte bodies. */
static enum wire_status send_batch_of(uint32_t count)
{
	batch_begin();
	for (uint32_t i = 0; i < count; i++) {
		char id[16];
		snprintf(id, sizeof(id), "e%u", i);
		batch_entry(id);
		wire_put_str(&batch_fields, WIRE_TAG_BODY, "b");
	}
	return batch_parse(WIRE_OP_SEND_MESSAGE_BATCH);
}

Test(request, a_batch_has_one_to_ten_entries)
{
	cr_assert_eq(send_batch_of(0), WIRE_ERR_EMPTY_BATCH_REQUEST);
	cr_assert_eq(send_batch_of(1), WIRE_OK);
	cr_assert_eq(send_batch_of(WIRE_BATCH_ENTRIES_MAX), WIRE_OK);
	cr_assert_eq(req.entry_count, WIRE_BATCH_ENTRIES_MAX);
	cr_assert_eq(send_batch_of(WIRE_BATCH_ENTRIES_MAX + 1),
	             WIRE_ERR_TOO_MANY_ENTRIES_IN_BATCH_REQUEST);
	cr_assert_str_eq(wire_status_name(WIRE_ERR_TOO_MANY_ENTRIES_IN_BATCH_REQUEST),
	                 "AWS.SimpleQueueService.TooManyEntriesInBatchRequest");
	batch_begin();
	cr_assert_eq(batch_parse(WIRE_OP_DELETE_MESSAGE_BATCH), WIRE_ERR_EMPTY_BATCH_REQUEST);
}

Test(request, batch_entry_ids_follow_sqs_rules_and_are_distinct)
{
	char id[WIRE_BATCH_ENTRY_ID_BYTES_MAX + 2];
	memset(id, 'a', sizeof(id) - 1);
	id[WIRE_BATCH_ENTRY_ID_BYTES_MAX] = '\0';
	batch_begin();
	batch_entry(id);
	wire_put_str(&batch_fields, WIRE_TAG_BODY, "b");
	batch_entry("A-z_09");
	wire_put_str(&batch_fields, WIRE_TAG_BODY, "b");
	cr_assert_eq(batch_parse(WIRE_OP_SEND_MESSAGE_BATCH), WIRE_OK, "80 characters");
	id[WIRE_BATCH_ENTRY_ID_BYTES_MAX] = 'a';
	id[WIRE_BATCH_ENTRY_ID_BYTES_MAX + 1] = '\0';
	const char *bad[] = {id, "", "a.b", "a b", "é"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		batch_begin();
		batch_entry(bad[i]);
		wire_put_str(&batch_fields, WIRE_TAG_BODY, "b");
		cr_assert_eq(batch_parse(WIRE_OP_SEND_MESSAGE_BATCH), WIRE_ERR_INVALID_BATCH_ENTRY_ID,
		             "id %zu", i);
	}
	batch_begin();
	batch_entry(NULL);
	wire_put_str(&batch_fields, WIRE_TAG_BODY, "b");
	cr_assert_eq(batch_parse(WIRE_OP_SEND_MESSAGE_BATCH), WIRE_ERR_MISSING_PARAMETER);
	batch_begin();
	batch_entry("x");
	wire_put_str(&batch_fields, WIRE_TAG_RECEIPT_HANDLE, "h");
	batch_entry("y");
	wire_put_str(&batch_fields, WIRE_TAG_RECEIPT_HANDLE, "h");
	batch_entry("x");
	wire_put_str(&batch_fields, WIRE_TAG_RECEIPT_HANDLE, "h");
	cr_assert_eq(batch_parse(WIRE_OP_DELETE_MESSAGE_BATCH),
	             WIRE_ERR_BATCH_ENTRY_IDS_NOT_DISTINCT);
	batch_begin();
	batch_entry("x");
	wire_put_str(&batch_fields, WIRE_TAG_RECEIPT_HANDLE, "h");
	batch_entry("X");
	wire_put_str(&batch_fields, WIRE_TAG_RECEIPT_HANDLE, "h");
	cr_assert_eq(batch_parse(WIRE_OP_DELETE_MESSAGE_BATCH), WIRE_OK, "ids are case-sensitive");
}

Test(request, the_bodies_of_a_send_batch_total_at_most_1_mib)
{
	static uint8_t body[WIRE_BATCH_BODY_BYTES_MAX / 2];
	memset(body, 'x', sizeof(body));
	batch_begin();
	batch_entry("a");
	wire_put_bytes(&batch_fields, WIRE_TAG_BODY, body, sizeof(body));
	batch_entry("b");
	wire_put_bytes(&batch_fields, WIRE_TAG_BODY, body, sizeof(body));
	cr_assert_eq(batch_parse(WIRE_OP_SEND_MESSAGE_BATCH), WIRE_OK, "exactly 1 MiB");
	batch_entry("c");
	wire_put_str(&batch_fields, WIRE_TAG_BODY, "!");
	cr_assert_eq(batch_parse(WIRE_OP_SEND_MESSAGE_BATCH), WIRE_ERR_BATCH_REQUEST_TOO_LONG);
}

Test(request, an_entry_can_fail_alone)
{
	batch_begin();
	batch_entry("ok");
	wire_put_str(&batch_fields, WIRE_TAG_BODY, "b");
	batch_entry("nobody");
	batch_entry("empty");
	wire_put_str(&batch_fields, WIRE_TAG_BODY, "");
	cr_assert_eq(batch_parse(WIRE_OP_SEND_MESSAGE_BATCH), WIRE_OK);
	cr_assert_eq(req.entries[0].status, WIRE_OK);
	cr_assert_eq(req.entries[1].status, WIRE_ERR_MISSING_PARAMETER);
	cr_assert_eq(req.entries[2].status, WIRE_ERR_MISSING_PARAMETER);

	batch_begin();
	batch_entry("ok");
	wire_put_str(&batch_fields, WIRE_TAG_RECEIPT_HANDLE, "h");
	wire_put_u32(&batch_fields, WIRE_TAG_VISIBILITY_TIMEOUT_S, BB_VISIBILITY_TIMEOUT_S_MAX);
	batch_entry("long");
	wire_put_str(&batch_fields, WIRE_TAG_RECEIPT_HANDLE, "h");
	wire_put_u32(&batch_fields, WIRE_TAG_VISIBILITY_TIMEOUT_S, BB_VISIBILITY_TIMEOUT_S_MAX + 1);
	batch_entry("notimeout");
	wire_put_str(&batch_fields, WIRE_TAG_RECEIPT_HANDLE, "h");
	batch_entry("nohandle");
	wire_put_u32(&batch_fields, WIRE_TAG_VISIBILITY_TIMEOUT_S, 1);
	cr_assert_eq(batch_parse(WIRE_OP_CHANGE_MESSAGE_VISIBILITY_BATCH), WIRE_OK);
	cr_assert_eq(req.entries[0].status, WIRE_OK);
	cr_assert_eq(req.entries[1].status, WIRE_ERR_INVALID_PARAMETER);
	cr_assert_eq(req.entries[2].status, WIRE_ERR_MISSING_PARAMETER);
	cr_assert_eq(req.entries[3].status, WIRE_ERR_MISSING_PARAMETER);
}

Test(request, batch_fields_belong_to_their_place)
{
	batch_begin();
	wire_put_str(&batch_fields, WIRE_TAG_BODY, "top");
	batch_entry("a");
	wire_put_str(&batch_fields, WIRE_TAG_BODY, "b");
	cr_assert_eq(batch_parse(WIRE_OP_SEND_MESSAGE_BATCH), WIRE_ERR_MALFORMED, "a body before");
	batch_begin();
	batch_entry("a");
	wire_put_str(&batch_fields, WIRE_TAG_BODY, "b");
	wire_put_str(&batch_fields, WIRE_TAG_BODY, "c");
	cr_assert_eq(batch_parse(WIRE_OP_SEND_MESSAGE_BATCH), WIRE_ERR_MALFORMED, "twice");
	batch_begin();
	batch_entry("a");
	wire_put_str(&batch_fields, WIRE_TAG_RECEIPT_HANDLE, "h");
	wire_put_str(&batch_fields, WIRE_TAG_BODY, "b");
	cr_assert_eq(batch_parse(WIRE_OP_DELETE_MESSAGE_BATCH), WIRE_ERR_MALFORMED, "a body");
	batch_begin();
	batch_entry("a");
	wire_put_str(&batch_fields, WIRE_TAG_QUEUE_NAME, "q");
	cr_assert_eq(batch_parse(WIRE_OP_SEND_MESSAGE_BATCH), WIRE_ERR_MALFORMED, "a queue");
	batch_begin();
	wire_put_str(&batch_fields, WIRE_TAG_ENTRY_BEGIN, "x");
	cr_assert_eq(batch_parse(WIRE_OP_SEND_MESSAGE_BATCH), WIRE_ERR_MALFORMED, "not empty");
	batch_begin();
	batch_entry("a");
	wire_put_str(&batch_fields, WIRE_TAG_BODY, "b");
	wire_put_u64(&batch_fields, WIRE_TAG_COOKIE, 42);
	cr_assert_eq(batch_parse(WIRE_OP_SEND_MESSAGE_BATCH), WIRE_OK, "a cookie appended last");
	cr_assert(req.cookie.present && req.cookie.value == 42);
	cr_assert_eq(req.entry_count, 1);
}

Test(request, a_batch_digest_covers_its_entries)
{
	cr_assert_eq(send_batch_of(2), WIRE_OK);
	uint64_t two = dp_request_digest(&req);
	cr_assert_eq(send_batch_of(2), WIRE_OK);
	cr_assert_eq(dp_request_digest(&req), two);
	cr_assert_eq(send_batch_of(3), WIRE_OK);
	cr_assert_neq(dp_request_digest(&req), two, "another entry");
	batch_begin();
	batch_entry("e1");
	wire_put_str(&batch_fields, WIRE_TAG_BODY, "b");
	batch_entry("e0");
	wire_put_str(&batch_fields, WIRE_TAG_BODY, "b");
	cr_assert_eq(batch_parse(WIRE_OP_SEND_MESSAGE_BATCH), WIRE_OK);
	cr_assert_neq(dp_request_digest(&req), two, "the ids of the entries");
}
