/* Request parsing: required fields per opcode, ranges, repeated and unknown fields. */
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

static enum wire_status parse(uint8_t opcode, uint32_t key_id)
{
	struct wire_header h = {.version = 1, .opcode = opcode, .client_id = 1, .request_id = 2,
	                        .key_id = key_id, .body_bytes = (uint32_t)fields.length};
	wire_header_encode(&h, buf);
	return dp_request_parse(buf, BB_WIRE_HEADER_BYTES + fields.length, &req);
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

Test(request, keys_are_refused_until_authentication_exists)
{
	begin();
	cr_assert_eq(parse(WIRE_OP_PING, 0), WIRE_OK);
	cr_assert_eq(parse(WIRE_OP_PING, 5), WIRE_ERR_INVALID_CLIENT_TOKEN);
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
