/*
 * The retry window through the packet path. A different request under the
 * ids of an earlier one is refused with IdempotentParameterMismatch, is not
 * stored, and leaves the earlier answer in place (issue 10, defect 12). The
 * retransmits a client sends while its long poll is parked are dropped, and
 * once the poll answers they get that answer, so a client may retransmit for
 * as long as the poll lasts (defect 7, client side).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "packet_harness.h"

TestSuite(retry, .init = harness_setup, .fini = harness_teardown, .timeout = 60);

static struct replies replies;
static uint8_t first[70000];

static uint32_t input_request(struct request *r)
{
	uint32_t length = request_finish(r);
	struct rte_mbuf *m = frame_udp(r->bytes, length);
	harness_input(&m, 1);
	take_replies(&replies);
	return length;
}

static void send_body(struct request *r, uint64_t request_id, const char *body)
{
	request_begin(r, WIRE_OP_SEND_MESSAGE, request_id);
	wire_put_str(&r->fields, WIRE_TAG_QUEUE_NAME, TEST_QUEUE);
	wire_put_str(&r->fields, WIRE_TAG_BODY, body);
	input_request(r);
	cr_assert_eq(replies.udp_datagrams, 1);
}

Test(retry, a_different_send_under_the_same_ids_is_refused_and_not_stored)
{
	struct request r;
	send_body(&r, 5, "first");
	cr_assert_eq(replies.header.status, WIRE_OK);
	uint32_t first_bytes = replies.datagram_bytes;
	memcpy(first, replies.datagram, first_bytes);

	send_body(&r, 5, "second");
	cr_assert_eq(replies.header.status, WIRE_ERR_IDEMPOTENT_PARAMETER_MISMATCH,
	             "not the first request's answer");
	cr_assert_eq(replies.header.request_id, 5);
	const uint8_t *why;
	cr_assert_gt(reply_field(&replies, WIRE_TAG_ERROR_MESSAGE, &why), 0);
	cr_assert_eq(h.worker->stats.dedup_conflicts, 1);
	cr_assert_eq(sqs_visible_count(h.worker->sqs, 0), 1, "the second body was not stored");

	send_body(&r, 5, "first");
	cr_assert_eq(replies.datagram_bytes, first_bytes);
	cr_assert_eq(memcmp(replies.datagram, first, first_bytes), 0,
	             "a true retry still gets the first answer");
	cr_assert_eq(sqs_visible_count(h.worker->sqs, 0), 1);

	send_body(&r, 6, "second");
	cr_assert_eq(replies.header.status, WIRE_OK, "under a new id it is stored");
	cr_assert_eq(sqs_visible_count(h.worker->sqs, 0), 2);
}

static void long_poll(struct request *r, uint64_t request_id, uint32_t max_messages)
{
	request_begin(r, WIRE_OP_RECEIVE_MESSAGE, request_id);
	wire_put_str(&r->fields, WIRE_TAG_QUEUE_NAME, TEST_QUEUE);
	wire_put_u32(&r->fields, WIRE_TAG_MAX_MESSAGES, max_messages);
	wire_put_u32(&r->fields, WIRE_TAG_WAIT_TIME_S, 10);
	input_request(r);
}

Test(retry, retransmits_of_a_parked_receive_wait_for_its_answer)
{
	struct request r;
	long_poll(&r, 9, 1);
	cr_assert_eq(replies.udp_datagrams, 0, "parked");
	cr_assert_eq(h.worker->stats.long_polls_parked, 1);
	for (int i = 0; i < 3; i++) {
		harness_advance_ms(1000); /* libbusbar's retransmit interval */
		long_poll(&r, 9, 1);
		cr_assert_eq(replies.udp_datagrams, 0, "no answer to a retransmit while parked");
	}
	cr_assert_eq(h.worker->stats.dedup_in_progress, 3);
	cr_assert_eq(h.worker->stats.long_polls_parked, 1, "and parks nothing more");

	long_poll(&r, 9, 2); /* the same ids for another request */
	cr_assert_eq(replies.udp_datagrams, 1);
	cr_assert_eq(replies.header.status, WIRE_ERR_IDEMPOTENT_PARAMETER_MISMATCH);

	struct sqs_sent sent;
	cr_assert_eq(sqs_send(h.worker->sqs, 0, (const uint8_t *)"late", 4,
	                      dp_now_ms(&h.app, h.now_tsc), &sent),
	             WIRE_OK);
	harness_advance_ms(0);
	take_replies(&replies);
	cr_assert_eq(replies.udp_datagrams, 1, "the poll answers once");
	cr_assert_eq(replies.header.request_id, 9);
	const uint8_t *body;
	cr_assert_eq(reply_field(&replies, WIRE_TAG_BODY, &body), 4);
	uint32_t answer_bytes = replies.datagram_bytes;
	memcpy(first, replies.datagram, answer_bytes);

	long_poll(&r, 9, 1);
	cr_assert_eq(replies.udp_datagrams, 1, "a late retransmit gets the answer");
	cr_assert_eq(replies.datagram_bytes, answer_bytes);
	cr_assert_eq(memcmp(replies.datagram, first, answer_bytes), 0);
	cr_assert_eq(sqs_inflight_count(h.worker->sqs, 0), 1, "received once");
}
