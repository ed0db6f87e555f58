/*
 * Request parsing: required fields per opcode, ranges, repeated and unknown
 * fields, the queue-name rule, header flags and status that must be 0, the
 * cookie field, and the digest the retry window keeps.
 */
#include <criterion/criterion.h>
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
