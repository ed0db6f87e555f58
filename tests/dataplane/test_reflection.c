/*
 * busbard is no amplifier (issue 10, defect 3). A ReceiveMessage from an
 * address that has not shown its cookie gets a cookie reply no larger than
 * BB_UDP_UNPROVEN_REPLY_FACTOR times the request and receives nothing; with
 * the cookie it gets the full reply; a cookie from another address, port or
 * client id is refused, as is one two epochs old, and a retry from another
 * address is not answered with the stored full reply. Every other reply to a
 * request without a cookie stays within the factor as well.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "packet_harness.h"

TestSuite(reflection, .init = harness_setup, .fini = harness_teardown, .timeout = 60);

static struct replies replies;

/* Four messages (a queue's budget in the tiny-limits build) of 14,500 bytes: 58 KB. */
#define FILL_MESSAGES    4
#define FILL_BODY_BYTES  14500u

static void fill_queue(void)
{
	static uint8_t body[FILL_BODY_BYTES];
	memset(body, 'r', sizeof(body));
	harness_input(NULL, 0); /* reconciles the snapshot: the queue's slot opens */
	uint64_t now_ms = dp_now_ms(&h.app, h.now_tsc);
	for (int i = 0; i < FILL_MESSAGES; i++) {
		struct sqs_sent sent;
		enum wire_status status =
		    sqs_send(h.worker->sqs, 0, body, sizeof(body), now_ms, &sent);
		cr_assert_eq(status, WIRE_OK);
	}
}

/* A receive of every message that leaves them visible at once (VisibilityTimeout 0). */
static uint32_t receive_all(struct request *r, uint64_t request_id, bool without_cookie)
{
	request_begin(r, WIRE_OP_RECEIVE_MESSAGE, request_id);
	r->without_cookie = without_cookie;
	wire_put_str(&r->fields, WIRE_TAG_QUEUE_NAME, TEST_QUEUE);
	wire_put_u32(&r->fields, WIRE_TAG_MAX_MESSAGES, 10);
	wire_put_u32(&r->fields, WIRE_TAG_VISIBILITY_TIMEOUT_S, 0);
	return request_finish(r);
}

static void input_request(const uint8_t *bytes, uint32_t length)
{
	struct rte_mbuf *m = frame_udp(bytes, length);
	harness_input(&m, 1);
	take_replies(&replies);
	cr_assert_eq(replies.udp_datagrams, 1, "one reply");
}

/* The cookie of the last reply, which must be a small RetryWithCookie. */
static uint64_t cookie_reply(uint32_t request_bytes)
{
	cr_assert_eq(replies.header.status, WIRE_RETRY_WITH_COOKIE);
	cr_assert_leq(replies.datagram_bytes, BB_UDP_UNPROVEN_REPLY_FACTOR * request_bytes,
	              "%u bytes answered to a %u-byte request", replies.datagram_bytes,
	              request_bytes);
	const uint8_t *value;
	cr_assert_eq(reply_field(&replies, WIRE_TAG_COOKIE, &value), 8);
	cr_assert_eq(reply_field(&replies, WIRE_TAG_MESSAGE_BEGIN, &value), -1, "no message");
	uint64_t cookie;
	memcpy(&cookie, value, sizeof(cookie)); /* little-endian, as the machine */
	return cookie;
}

static uint32_t with_cookie(struct request *r, uint64_t cookie)
{
	wire_put_u64(&r->fields, WIRE_TAG_COOKIE, cookie);
	return request_finish(r);
}

static void assert_full_reply(void)
{
	cr_assert_eq(replies.header.status, WIRE_OK);
	cr_assert_gt(replies.datagram_bytes, FILL_MESSAGES * FILL_BODY_BYTES, "every message");
}

Test(reflection, a_receive_from_a_new_address_gets_only_a_small_cookie_reply)
{
	fill_queue();
	struct request r;
	uint32_t length = receive_all(&r, 1, true);
	input_request(r.bytes, length);
	uint64_t cookie = cookie_reply(length);
	cr_assert_eq(sqs_visible_count(h.worker->sqs, 0), FILL_MESSAGES, "nothing was received");
	cr_assert_eq(h.worker->stats.udp_cookies_sent, 1);
	cr_assert_eq(h.worker->stats.dedup_in_progress + h.worker->stats.dedup_replayed, 0);

	receive_all(&r, 1, true); /* the same request id: the cookie reply was not remembered */
	length = with_cookie(&r, cookie);
	input_request(r.bytes, length);
	assert_full_reply();
	cr_assert_eq(h.worker->stats.udp_replies_unproven_dropped, 0);
}

Test(reflection, a_cookie_from_another_address_or_port_is_refused)
{
	fill_queue();
	struct request r;
	uint32_t length = receive_all(&r, 1, true);
	input_request(r.bytes, length);
	uint64_t cookie = cookie_reply(length);

	h.client_port = TEST_CLIENT_PORT + 1;
	receive_all(&r, 2, true);
	length = with_cookie(&r, cookie);
	input_request(r.bytes, length);
	cr_assert_neq(cookie_reply(length), cookie, "another port has another cookie");

	h.client_port = TEST_CLIENT_PORT;
	h.client_ip = RTE_IPV4(10, 77, 0, 66);
	receive_all(&r, 3, true);
	length = with_cookie(&r, cookie);
	input_request(r.bytes, length);
	cr_assert_neq(cookie_reply(length), cookie, "another address has another cookie");

	h.client_ip = TEST_CLIENT_IP;
	receive_all(&r, 4, true);
	r.header.client_id = 100;
	length = with_cookie(&r, cookie);
	input_request(r.bytes, length);
	cookie_reply(length); /* the cookie also names the client id */

	receive_all(&r, 5, true);
	length = with_cookie(&r, cookie);
	input_request(r.bytes, length);
	assert_full_reply();
}

Test(reflection, a_cookie_serves_its_epoch_and_the_next_only)
{
	fill_queue();
	struct request r;
	uint32_t length = receive_all(&r, 1, true);
	input_request(r.bytes, length);
	uint64_t cookie = cookie_reply(length);
	harness_advance_ms(DP_COOKIE_EPOCH_MS);
	receive_all(&r, 2, true);
	length = with_cookie(&r, cookie);
	input_request(r.bytes, length);
	assert_full_reply();
	harness_advance_ms(DP_COOKIE_EPOCH_MS);
	receive_all(&r, 3, true);
	length = with_cookie(&r, cookie);
	input_request(r.bytes, length);
	cr_assert_neq(cookie_reply(length), cookie, "two epochs on, a new cookie");
}

Test(reflection, a_retry_from_another_address_does_not_get_the_stored_reply)
{
	fill_queue();
	struct request r;
	uint32_t length = receive_all(&r, 1, false); /* with the cookie of TEST_CLIENT_IP */
	input_request(r.bytes, length);
	assert_full_reply();
	/* The same bytes, forged from another address: the window holds a 58 KB reply. */
	h.client_ip = RTE_IPV4(10, 77, 0, 66);
	input_request(r.bytes, length);
	cookie_reply(length);
	cr_assert_eq(h.worker->stats.dedup_replayed, 0);
	h.client_ip = TEST_CLIENT_IP;
	input_request(r.bytes, length);
	assert_full_reply();
	cr_assert_eq(h.worker->stats.dedup_replayed, 1, "the true source gets its retry answered");
}

/* Sends r without a cookie and checks the reply is within the factor; returns its status. */
static uint16_t bounded_reply(struct request *r)
{
	r->without_cookie = true;
	uint32_t length = request_finish(r);
	input_request(r->bytes, length);
	cr_assert_leq(replies.datagram_bytes, BB_UDP_UNPROVEN_REPLY_FACTOR * length,
	              "opcode %u: %u bytes answered to %u", r->header.opcode,
	              replies.datagram_bytes, length);
	return replies.header.status;
}

Test(reflection, every_other_reply_without_a_cookie_is_bounded)
{
	struct request r;
	request_begin(&r, WIRE_OP_PING, 1);
	cr_assert_eq(bounded_reply(&r), WIRE_OK);
	request_begin(&r, WIRE_OP_SEND_MESSAGE, 2); /* the longest error message of a send */
	cr_assert_eq(bounded_reply(&r), WIRE_ERR_MISSING_PARAMETER);
	request_begin(&r, WIRE_OP_SEND_MESSAGE, 3);
	wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, "q");
	wire_put_str(&r.fields, WIRE_TAG_BODY, "b");
	cr_assert_eq(bounded_reply(&r), WIRE_ERR_NONEXISTENT_QUEUE);
	request_begin(&r, WIRE_OP_SEND_MESSAGE, 4);
	wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, TEST_QUEUE);
	wire_put_str(&r.fields, WIRE_TAG_BODY, "b");
	cr_assert_eq(bounded_reply(&r), WIRE_OK);
	request_begin(&r, WIRE_OP_SEND_MESSAGE, 4); /* the same id for another body */
	wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, TEST_QUEUE);
	wire_put_str(&r.fields, WIRE_TAG_BODY, "c");
	cr_assert_eq(bounded_reply(&r), WIRE_ERR_IDEMPOTENT_PARAMETER_MISMATCH);
	request_begin(&r, WIRE_OP_DELETE_MESSAGE, 5);
	wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, TEST_QUEUE);
	wire_put_str(&r.fields, WIRE_TAG_RECEIPT_HANDLE, "h");
	cr_assert_eq(bounded_reply(&r), WIRE_ERR_RECEIPT_HANDLE_INVALID);
	request_begin(&r, WIRE_OP_CHANGE_MESSAGE_VISIBILITY, 6);
	wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, TEST_QUEUE);
	wire_put_str(&r.fields, WIRE_TAG_RECEIPT_HANDLE, "h");
	wire_put_u32(&r.fields, WIRE_TAG_VISIBILITY_TIMEOUT_S, 1);
	cr_assert_eq(bounded_reply(&r), WIRE_ERR_RECEIPT_HANDLE_INVALID);
	request_begin(&r, WIRE_OP_RECEIVE_MESSAGE, 7);
	wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, "q");
	cr_assert_eq(bounded_reply(&r), WIRE_RETRY_WITH_COOKIE, "the smallest receive");
	request_begin(&r, WIRE_OP_APPLY_SNAPSHOT, 8);
	cr_assert_eq(bounded_reply(&r), WIRE_ERR_ACCESS_DENIED);
	request_begin(&r, 0x7e, 9);
	cr_assert_eq(bounded_reply(&r), WIRE_ERR_INVALID_ACTION);
	request_begin(&r, WIRE_OP_PING, 10);
	r.header.key_id = 1;
	cr_assert_eq(bounded_reply(&r), WIRE_ERR_INVALID_CLIENT_TOKEN);
	request_begin(&r, WIRE_OP_PING, 11);
	r.header.version = 2;
	cr_assert_eq(bounded_reply(&r), WIRE_ERR_UNSUPPORTED_VERSION);
	cr_assert_eq(h.worker->stats.udp_replies_unproven_dropped, 0);
}
