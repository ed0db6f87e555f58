/*
 * The dataplane's packet handling, fed frames built here (no port): ARP,
 * ICMP echo, requests over UDP through routing, rings and the queue engine,
 * IPv4 reassembly, retries, long polls, and every kind of malformed input.
 * Each bad input must be answered with an error or dropped and counted, and
 * the worker must go on serving.
 */
#include <criterion/criterion.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_icmp.h>
#include <rte_ip.h>

#include "packet_harness.h"

TestSuite(packets, .init = harness_setup, .fini = harness_teardown, .timeout = 60);

static struct replies replies;

static void send_request(struct request *r)
{
	struct rte_mbuf *m = frame_udp(r->bytes, request_finish(r));
	harness_input(&m, 1);
	take_replies(&replies);
}

static void send_message(uint64_t request_id, const char *body)
{
	struct request r;
	request_begin(&r, WIRE_OP_SEND_MESSAGE, request_id);
	wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, TEST_QUEUE);
	wire_put_str(&r.fields, WIRE_TAG_BODY, body);
	send_request(&r);
}

static void receive_messages(uint64_t request_id, uint32_t wait_s)
{
	struct request r;
	request_begin(&r, WIRE_OP_RECEIVE_MESSAGE, request_id);
	wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, TEST_QUEUE);
	wire_put_u32(&r.fields, WIRE_TAG_MAX_MESSAGES, 10);
	wire_put_u32(&r.fields, WIRE_TAG_WAIT_TIME_S, wait_s);
	send_request(&r);
}

Test(packets, arp_request_for_our_address_is_answered)
{
	uint8_t frame[60] = {0};
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)frame;
	memset(&eth->dst_addr, 0xff, 6);
	eth->src_addr = h.client_mac;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eth + 1);
	arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = 6;
	arp->arp_plen = 4;
	arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
	arp->arp_data.arp_sha = h.client_mac;
	arp->arp_data.arp_sip = rte_cpu_to_be_32(TEST_CLIENT_IP);
	arp->arp_data.arp_tip = rte_cpu_to_be_32(RTE_IPV4(10, 77, 0, 99));
	struct rte_mbuf *m = frame_raw(frame, sizeof(frame));
	harness_input(&m, 1);
	take_replies(&replies);
	cr_assert_eq(replies.frames, 0, "no answer for another address");

	arp->arp_data.arp_tip = rte_cpu_to_be_32(TEST_SERVER_IP);
	m = frame_raw(frame, sizeof(frame));
	harness_input(&m, 1);
	take_replies(&replies);
	cr_assert_eq(replies.frames, 1);
	struct rte_mbuf *reply = replies.first_non_udp;
	struct rte_arp_hdr *answer = rte_pktmbuf_mtod_offset(reply, struct rte_arp_hdr *, 14);
	cr_assert_eq(answer->arp_opcode, rte_cpu_to_be_16(RTE_ARP_OP_REPLY));
	cr_assert(rte_is_same_ether_addr(&answer->arp_data.arp_sha, &h.app.net_config.mac));
	cr_assert_eq(answer->arp_data.arp_sip, rte_cpu_to_be_32(TEST_SERVER_IP));
	cr_assert(rte_is_same_ether_addr(&answer->arp_data.arp_tha, &h.client_mac));
	rte_pktmbuf_free(reply);

	/* The request taught us the client's address: resolving it sends nothing. */
	struct rte_ether_addr mac;
	cr_assert_eq(dp_net_resolve(&h.worker->net, rte_cpu_to_be_32(TEST_CLIENT_IP), &mac,
	                            &h.worker->tx), 0);
	cr_assert(rte_is_same_ether_addr(&mac, &h.client_mac));
}

Test(packets, resolving_an_unknown_address_sends_an_arp_request)
{
	struct rte_ether_addr mac;
	cr_assert_eq(dp_net_resolve(&h.worker->net, rte_cpu_to_be_32(RTE_IPV4(10, 77, 0, 5)), &mac,
	                            &h.worker->tx), -EAGAIN);
	take_replies(&replies);
	cr_assert_eq(replies.frames, 1);
	struct rte_arp_hdr *arp = rte_pktmbuf_mtod_offset(replies.first_non_udp, struct rte_arp_hdr *, 14);
	cr_assert_eq(arp->arp_opcode, rte_cpu_to_be_16(RTE_ARP_OP_REQUEST));
	cr_assert_eq(arp->arp_data.arp_tip, rte_cpu_to_be_32(RTE_IPV4(10, 77, 0, 5)));
	rte_pktmbuf_free(replies.first_non_udp);
}

Test(packets, icmp_echo_is_answered_with_a_valid_checksum)
{
	uint8_t frame[14 + 20 + 8 + 32] = {0};
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)frame;
	eth->dst_addr = h.app.net_config.mac;
	eth->src_addr = h.client_mac;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16(20 + 8 + 32);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_ICMP;
	ip->src_addr = rte_cpu_to_be_32(TEST_CLIENT_IP);
	ip->dst_addr = rte_cpu_to_be_32(TEST_SERVER_IP);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)(ip + 1);
	icmp->icmp_type = RTE_IP_ICMP_ECHO_REQUEST;
	icmp->icmp_ident = rte_cpu_to_be_16(77);
	memset(icmp + 1, 'p', 32);
	icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, 40);
	struct rte_mbuf *m = frame_raw(frame, sizeof(frame));
	harness_input(&m, 1);
	take_replies(&replies);
	cr_assert_eq(replies.frames, 1);
	struct rte_ipv4_hdr *rip = rte_pktmbuf_mtod_offset(replies.first_non_udp, struct rte_ipv4_hdr *, 14);
	struct rte_icmp_hdr *ricmp = (struct rte_icmp_hdr *)(rip + 1);
	cr_assert_eq(rip->dst_addr, rte_cpu_to_be_32(TEST_CLIENT_IP));
	cr_assert_eq(rte_ipv4_cksum(rip), 0);
	cr_assert_eq(ricmp->icmp_type, RTE_IP_ICMP_ECHO_REPLY);
	cr_assert_eq(rte_raw_cksum(ricmp, 40), 0xffff, "ICMP checksum");
	cr_assert_eq(ricmp->icmp_ident, rte_cpu_to_be_16(77));
	rte_pktmbuf_free(replies.first_non_udp);
	cr_assert_eq(h.worker->stats.icmp_echo_replied, 1);
}

Test(packets, send_receive_delete_over_udp)
{
	send_message(1, "hello");
	cr_assert_eq(replies.udp_datagrams, 1);
	cr_assert_eq(replies.header.status, WIRE_OK);
	cr_assert_eq(replies.header.request_id, 1);
	cr_assert(replies.header.flags & WIRE_FLAG_RESPONSE);
	const uint8_t *value;
	cr_assert_eq(reply_field(&replies, WIRE_TAG_MESSAGE_ID, &value), 36);
	char message_id[37];
	memcpy(message_id, value, 36);
	message_id[36] = '\0';
	cr_assert_eq(reply_field(&replies, WIRE_TAG_MD5_OF_BODY, &value), 32);
	cr_assert_eq(memcmp(value, "5d41402abc4b2a76b9719d911017c592", 32), 0);

	receive_messages(2, 0);
	cr_assert_eq(replies.header.status, WIRE_OK);
	cr_assert_eq(reply_field(&replies, WIRE_TAG_MESSAGE_ID, &value), 36);
	cr_assert_eq(memcmp(value, message_id, 36), 0);
	cr_assert_eq(reply_field(&replies, WIRE_TAG_BODY, &value), 5);
	cr_assert_eq(memcmp(value, "hello", 5), 0);
	cr_assert_eq(reply_field(&replies, WIRE_TAG_RECEIPT_HANDLE, &value), BB_RECEIPT_HANDLE_BYTES);
	char handle[BB_RECEIPT_HANDLE_BYTES];
	memcpy(handle, value, sizeof(handle));

	struct request r;
	request_begin(&r, WIRE_OP_DELETE_MESSAGE, 3);
	wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, TEST_QUEUE);
	wire_put_bytes(&r.fields, WIRE_TAG_RECEIPT_HANDLE, handle, sizeof(handle));
	send_request(&r);
	cr_assert_eq(replies.header.status, WIRE_OK);
	harness_advance_ms(31000);
	receive_messages(4, 0);
	cr_assert_eq(reply_field(&replies, WIRE_TAG_MESSAGE_ID, &value), -1, "deleted for good");
}

Test(packets, unknown_queue_is_an_error_reply)
{
	struct request r;
	request_begin(&r, WIRE_OP_SEND_MESSAGE, 5);
	wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, "missing");
	wire_put_str(&r.fields, WIRE_TAG_BODY, "x");
	send_request(&r);
	cr_assert_eq(replies.header.status, WIRE_ERR_NONEXISTENT_QUEUE);
	const uint8_t *value;
	cr_assert_gt(reply_field(&replies, WIRE_TAG_ERROR_MESSAGE, &value), 0, "with a message");
}

Test(packets, fragmented_request_is_reassembled_in_any_order)
{
	static char body[6000];
	memset(body, 'f', sizeof(body) - 1);
	body[sizeof(body) - 1] = '\0';
	struct request r;
	request_begin(&r, WIRE_OP_SEND_MESSAGE, 6);
	wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, TEST_QUEUE);
	wire_put_str(&r.fields, WIRE_TAG_BODY, body);
	uint32_t length = request_finish(&r);
	uint32_t sizes[] = {1480, 1480, 1480, 1480, 0};
	struct rte_mbuf *frames[5];
	frames_fragmented(r.bytes, length, sizes, 5, 0x1234, frames);
	struct rte_mbuf *shuffled[5] = {frames[3], frames[0], frames[4], frames[2], frames[1]};
	harness_input(shuffled, 5);
	take_replies(&replies);
	cr_assert_eq(replies.header.status, WIRE_OK);
	cr_assert_eq(h.worker->stats.ip_reassembled, 1);

	receive_messages(7, 0);
	const uint8_t *value;
	cr_assert_gt(replies.frames, 1, "a 6 KB reply leaves in fragments");
	cr_assert_eq(reply_field(&replies, WIRE_TAG_BODY, &value), (int)strlen(body));
	cr_assert_eq(memcmp(value, body, strlen(body)), 0);
}

Test(packets, retry_with_the_same_request_id_acts_once)
{
	send_message(8, "once");
	const uint8_t *value;
	char first_id[37] = {0};
	cr_assert_eq(reply_field(&replies, WIRE_TAG_MESSAGE_ID, &value), 36);
	memcpy(first_id, value, 36);
	send_message(8, "once");
	cr_assert_eq(replies.header.status, WIRE_OK);
	cr_assert_eq(reply_field(&replies, WIRE_TAG_MESSAGE_ID, &value), 36);
	cr_assert_eq(memcmp(value, first_id, 36), 0, "the first answer, again");
	cr_assert_eq(h.worker->stats.dedup_replayed, 1);
	cr_assert_eq(sqs_visible_count(h.worker->sqs, 0), 1, "one message, not two");
	send_message(9, "once");
	cr_assert_eq(sqs_visible_count(h.worker->sqs, 0), 2, "a new request id acts");
}

Test(packets, long_poll_is_answered_when_a_message_arrives)
{
	receive_messages(10, 5);
	cr_assert_eq(replies.udp_datagrams, 0, "parked: no answer yet");
	receive_messages(10, 5);
	cr_assert_eq(replies.udp_datagrams, 0, "a retry of a parked receive waits with it");
	cr_assert_eq(h.worker->stats.dedup_in_progress, 1);
	harness_advance_ms(1000);
	take_replies(&replies);
	cr_assert_eq(replies.udp_datagrams, 0);
	send_message(11, "wake");
	/* Two datagrams: the send's reply and the parked receive's. */
	cr_assert_eq(replies.udp_datagrams, 2);
	cr_assert_eq(sqs_inflight_count(h.worker->sqs, 0), 1, "the parked receive took it");
}

Test(packets, long_poll_ends_empty_at_its_wait_time)
{
	receive_messages(12, 2);
	cr_assert_eq(replies.udp_datagrams, 0);
	harness_advance_ms(1999);
	take_replies(&replies);
	cr_assert_eq(replies.udp_datagrams, 0);
	harness_advance_ms(1);
	take_replies(&replies);
	cr_assert_eq(replies.udp_datagrams, 1);
	cr_assert_eq(replies.header.request_id, 12);
	cr_assert_eq(replies.header.status, WIRE_OK);
	const uint8_t *value;
	cr_assert_eq(reply_field(&replies, WIRE_TAG_MESSAGE_BEGIN, &value), -1, "no messages");
}
