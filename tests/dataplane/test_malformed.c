/*
 * Malformed input at every layer: each frame is dropped and counted, or
 * answered with an error, and the worker keeps serving (a ping afterwards
 * is answered) without touching stored messages.
 */
#include <criterion/criterion.h>
#include <string.h>

#include <rte_ip.h>
#include <rte_udp.h>

#include "packet_harness.h"

TestSuite(malformed, .init = harness_setup, .fini = harness_teardown, .timeout = 60);

static struct replies replies;

static void input_frame(struct rte_mbuf *m)
{
	harness_input(&m, 1);
	take_replies(&replies);
}

static void assert_still_serving(void)
{
	struct request r;
	request_begin(&r, WIRE_OP_PING, 777);
	input_frame(frame_udp(r.bytes, request_finish(&r)));
	cr_assert_eq(replies.udp_datagrams, 1, "still serving");
	cr_assert_eq(replies.header.request_id, 777);
	cr_assert_eq(replies.header.status, WIRE_OK);
}

static uint32_t valid_send(uint8_t *out, uint64_t request_id)
{
	struct request r;
	request_begin(&r, WIRE_OP_SEND_MESSAGE, request_id);
	wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, TEST_QUEUE);
	wire_put_str(&r.fields, WIRE_TAG_BODY, "payload");
	uint32_t length = request_finish(&r);
	memcpy(out, r.bytes, length);
	return length;
}

/* A valid UDP frame carrying a valid request, for tests to damage. */
static uint32_t valid_frame(uint8_t *frame)
{
	uint8_t request[256];
	uint32_t length = valid_send(request, 1);
	struct rte_mbuf *m = frame_udp(request, length);
	uint32_t bytes = rte_pktmbuf_pkt_len(m);
	memcpy(frame, rte_pktmbuf_mtod(m, uint8_t *), bytes);
	rte_pktmbuf_free(m);
	return bytes;
}

Test(malformed, truncated_frames_are_dropped_and_counted)
{
	uint8_t frame[512];
	uint32_t length = valid_frame(frame);
	/* Every cut of the valid frame is dropped, never answered with half a request. */
	for (uint32_t cut = 1; cut < length; cut++) {
		input_frame(frame_raw(frame, cut));
		cr_assert_eq(replies.udp_datagrams, 0, "cut at %u answered", cut);
	}
	struct dp_stats *s = &h.worker->stats;
	cr_assert_eq(s->dropped_malformed, length - 1, "each cut counted once (%lu)",
	             (unsigned long)s->dropped_malformed);
	cr_assert_eq(sqs_visible_count(h.worker->sqs, 0), 0, "nothing was stored");
	assert_still_serving();
}

Test(malformed, bad_checksums_are_dropped)
{
	uint8_t frame[512];
	uint32_t length = valid_frame(frame);
	frame[14 + 10] ^= 0x01; /* IPv4 header checksum */
	input_frame(frame_raw(frame, length));
	frame[14 + 10] ^= 0x01;
	frame[length - 1] ^= 0x55; /* a payload byte: the UDP checksum no longer matches */
	input_frame(frame_raw(frame, length));
	cr_assert_eq(replies.udp_datagrams, 0);
	cr_assert_eq(h.worker->stats.dropped_bad_checksum, 2);
	cr_assert_eq(sqs_visible_count(h.worker->sqs, 0), 0);
	assert_still_serving();
}

Test(malformed, wrong_ip_version_and_foreign_addresses_are_dropped)
{
	uint8_t frame[512];
	uint32_t length = valid_frame(frame);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(frame + 14);
	ip->version_ihl = 0x65;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	input_frame(frame_raw(frame, length));
	cr_assert_eq(h.worker->stats.dropped_malformed, 1);
	length = valid_frame(frame);
	ip->dst_addr = rte_cpu_to_be_32(RTE_IPV4(10, 77, 0, 9));
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	input_frame(frame_raw(frame, length));
	cr_assert_eq(h.worker->stats.dropped_not_for_us, 1);
	cr_assert_eq(replies.udp_datagrams, 0);
	assert_still_serving();
}

Test(malformed, garbage_payload_is_dropped_without_reply)
{
	uint8_t garbage[300];
	for (uint32_t i = 0; i < sizeof(garbage); i++)
		garbage[i] = (uint8_t)(i * 73 + 11);
	input_frame(frame_udp(garbage, sizeof(garbage)));
	input_frame(frame_udp(garbage, 10));
	cr_assert_eq(replies.udp_datagrams, 0, "garbage is not answered");
	cr_assert_eq(h.worker->stats.requests_malformed, 2);
	assert_still_serving();
}

/*
 * A response (another busbard's error reply) or a Deliver frame (a subscription that names
 * a busbard or an echo service) is never answered: two busbards would otherwise answer
 * each other's error replies for ever.
 */
Test(malformed, responses_and_deliver_frames_are_not_answered)
{
	uint8_t request[256];
	uint32_t length = valid_send(request, 22);
	request[4] |= WIRE_FLAG_RESPONSE;
	input_frame(frame_udp(request, length));
	cr_assert_eq(replies.udp_datagrams, 0, "a response gets no reply");
	length = valid_send(request, 23);
	request[3] = WIRE_OP_DELIVER;
	input_frame(frame_udp(request, length));
	cr_assert_eq(replies.udp_datagrams, 0, "a Deliver frame gets no reply");
	cr_assert_eq(h.worker->stats.requests_malformed, 2);
	cr_assert_eq(sqs_visible_count(h.worker->sqs, 0), 0);
	assert_still_serving();
}

Test(malformed, wrong_wire_version_gets_an_error_reply)
{
	uint8_t request[256];
	uint32_t length = valid_send(request, 21);
	request[2] = 9;
	input_frame(frame_udp(request, length));
	cr_assert_eq(replies.udp_datagrams, 1);
	cr_assert_eq(replies.header.status, WIRE_ERR_UNSUPPORTED_VERSION);
	cr_assert_eq(replies.header.request_id, 21);
	cr_assert_eq(sqs_visible_count(h.worker->sqs, 0), 0);
	assert_still_serving();
}

Test(malformed, inconsistent_lengths_and_fields_get_error_replies)
{
	uint8_t request[256];
	uint32_t length = valid_send(request, 22);
	/* Declares more body than the datagram holds (an "oversized" request). */
	request[8] = (uint8_t)(request[8] + 50);
	input_frame(frame_udp(request, length));
	cr_assert_eq(replies.header.status, WIRE_ERR_MALFORMED);
	/* A field running past the end of the body. */
	length = valid_send(request, 23);
	request[BB_WIRE_HEADER_BYTES + 2] = 0xff;
	input_frame(frame_udp(request, length));
	cr_assert_eq(replies.header.status, WIRE_ERR_MALFORMED);
	cr_assert_eq(sqs_visible_count(h.worker->sqs, 0), 0);
	assert_still_serving();
}

Test(malformed, unknown_and_control_opcodes_are_refused_over_udp)
{
	struct request r;
	request_begin(&r, 0x7e, 31);
	input_frame(frame_udp(r.bytes, request_finish(&r)));
	cr_assert_eq(replies.header.status, WIRE_ERR_INVALID_ACTION);
	request_begin(&r, WIRE_OP_APPLY_SNAPSHOT, 32);
	input_frame(frame_udp(r.bytes, request_finish(&r)));
	cr_assert_eq(replies.header.status, WIRE_ERR_ACCESS_DENIED);
	assert_still_serving();
}

Test(malformed, out_of_range_parameters_are_invalid)
{
	struct request r;
	request_begin(&r, WIRE_OP_RECEIVE_MESSAGE, 41);
	wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, TEST_QUEUE);
	wire_put_u32(&r.fields, WIRE_TAG_MAX_MESSAGES, 11);
	input_frame(frame_udp(r.bytes, request_finish(&r)));
	cr_assert_eq(replies.header.status, WIRE_ERR_INVALID_PARAMETER);
	request_begin(&r, WIRE_OP_RECEIVE_MESSAGE, 42);
	wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, TEST_QUEUE);
	wire_put_u32(&r.fields, WIRE_TAG_WAIT_TIME_S, 21);
	input_frame(frame_udp(r.bytes, request_finish(&r)));
	cr_assert_eq(replies.header.status, WIRE_ERR_INVALID_PARAMETER);
	request_begin(&r, WIRE_OP_SEND_MESSAGE, 43);
	wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, TEST_QUEUE);
	input_frame(frame_udp(r.bytes, request_finish(&r)));
	cr_assert_eq(replies.header.status, WIRE_ERR_MISSING_PARAMETER);
	assert_still_serving();
}

Test(malformed, overlapping_fragments_are_dropped_and_counted)
{
	static char body[3000];
	memset(body, 'o', sizeof(body) - 1);
	struct request r;
	request_begin(&r, WIRE_OP_SEND_MESSAGE, 51);
	wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, TEST_QUEUE);
	wire_put_str(&r.fields, WIRE_TAG_BODY, body);
	uint32_t length = request_finish(&r);
	/* Fragments of 1480 and 1480 bytes, plus a third that starts inside the second. */
	uint32_t sizes[] = {1480, 1480, 0};
	struct rte_mbuf *frames[3];
	frames_fragmented(r.bytes, length, sizes, 3, 0x4321, frames);
	struct rte_mbuf *overlap = rte_pktmbuf_copy(frames[1], h.app.frame_pool, 0, UINT32_MAX);
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(overlap, struct rte_ipv4_hdr *, 14);
	ip->fragment_offset = rte_cpu_to_be_16((1480 - 800) / 8 | RTE_IPV4_HDR_MF_FLAG);
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	struct rte_mbuf *ordered[4] = {frames[0], overlap, frames[1], frames[2]};
	harness_input(ordered, 4);
	take_replies(&replies);
	cr_assert_eq(replies.udp_datagrams, 0, "no request is made of overlapping pieces");
	cr_assert_gt(h.worker->stats.ip_fragments_dropped, 0);
	cr_assert_eq(h.worker->stats.ip_reassembled, 0);
	cr_assert_eq(sqs_visible_count(h.worker->sqs, 0), 0);
	assert_still_serving();
}

Test(malformed, too_many_fragments_are_dropped)
{
	/* Debian's DPDK reassembles at most 8 fragments (RTE_LIBRTE_IP_FRAG_MAX_FRAG). */
	static char body[9000];
	memset(body, 'x', sizeof(body) - 1);
	struct request r;
	request_begin(&r, WIRE_OP_SEND_MESSAGE, 61);
	wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, TEST_QUEUE);
	wire_put_str(&r.fields, WIRE_TAG_BODY, body);
	uint32_t length = request_finish(&r);
	uint32_t sizes[10] = {1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 0};
	struct rte_mbuf *frames[10];
	frames_fragmented(r.bytes, length, sizes, 10, 0x5555, frames);
	harness_input(frames, 10);
	take_replies(&replies);
	cr_assert_eq(replies.udp_datagrams, 0);
	cr_assert_gt(h.worker->stats.ip_fragments_dropped, 0);
	cr_assert_eq(sqs_visible_count(h.worker->sqs, 0), 0);
	assert_still_serving();
}

Test(malformed, stale_receipt_handle_over_udp_leaves_the_message)
{
	uint8_t request[256];
	input_frame(frame_udp(request, valid_send(request, 71)));
	struct request r;
	request_begin(&r, WIRE_OP_RECEIVE_MESSAGE, 72);
	wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, TEST_QUEUE);
	wire_put_u32(&r.fields, WIRE_TAG_VISIBILITY_TIMEOUT_S, 1);
	input_frame(frame_udp(r.bytes, request_finish(&r)));
	const uint8_t *value;
	char stale[BB_RECEIPT_HANDLE_BYTES];
	cr_assert_eq(reply_field(&replies, WIRE_TAG_RECEIPT_HANDLE, &value), BB_RECEIPT_HANDLE_BYTES);
	memcpy(stale, value, sizeof(stale));
	harness_advance_ms(1000);
	request_begin(&r, WIRE_OP_RECEIVE_MESSAGE, 73);
	wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, TEST_QUEUE);
	input_frame(frame_udp(r.bytes, request_finish(&r)));
	cr_assert_eq(reply_field(&replies, WIRE_TAG_RECEIPT_HANDLE, &value), BB_RECEIPT_HANDLE_BYTES);
	request_begin(&r, WIRE_OP_DELETE_MESSAGE, 74);
	wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, TEST_QUEUE);
	wire_put_bytes(&r.fields, WIRE_TAG_RECEIPT_HANDLE, stale, sizeof(stale));
	input_frame(frame_udp(r.bytes, request_finish(&r)));
	cr_assert_eq(replies.header.status, WIRE_OK, "as SQS, a stale handle is not an error");
	cr_assert_eq(sqs_inflight_count(h.worker->sqs, 0), 1, "but deletes nothing");
}
