/*
 * The transmit path (issue 10's hardening): one loop pass may produce more frames than a TX
 * batch holds (DP_TX_SLOTS). dp_tx_push used to free and count every frame past the batch,
 * so a reply was lost and the messages in it hidden for their visibility timeout; now a
 * full batch is flushed mid-pass. The harness's flush keeps what the worker transmits in
 * h.sent, so each test reads every frame of its pass, in order, and checks none is missing.
 */
#include <criterion/criterion.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_icmp.h>
#include <rte_ip.h>

#include "dp_config.h"
#include "packet_harness.h"

TestSuite(tx, .init = harness_setup, .fini = harness_teardown, .timeout = 300);

#define UDP_OFFSET  (14u + 20u)
#define WIRE_OFFSET (UDP_OFFSET + 8u)
/* A message body whose receive reply is one datagram of 41 fragments at MTU 1500. */
#define LARGE_BODY_BYTES   60000u
#define LARGE_REPLY_FRAMES 41u
/* Receives in one pass whose replies together are more frames than a TX batch; a queue
 * holds 4 messages with tiny limits, and pings ahead of them make up the rest. */
#define LARGE_RECEIVES    (SQS_QUEUE_MESSAGES_MAX < 8u ? SQS_QUEUE_MESSAGES_MAX : 8u)
#define SOURCE_HOST_FIRST 10u

static uint64_t request_id_next = 1;

static void from_source(uint32_t n)
{
	h.client_ip = RTE_IPV4(10, 77, 0, SOURCE_HOST_FIRST + n);
	h.client_port = (uint16_t)(TEST_CLIENT_PORT + n);
}

static void free_sent(void)
{
	harness_flush_tx();
	rte_pktmbuf_free_bulk(h.sent, h.sent_count);
	h.sent_count = 0;
}

static struct rte_mbuf *receive_frame(uint32_t wait_s)
{
	struct request r;
	request_begin(&r, WIRE_OP_RECEIVE_MESSAGE, request_id_next++);
	wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, TEST_QUEUE);
	wire_put_u32(&r.fields, WIRE_TAG_WAIT_TIME_S, wait_s);
	return frame_udp(r.bytes, request_finish(&r));
}

/* Parks `count` long polls, from as many sources as their per-source bound needs. */
static void park_receives(uint32_t count)
{
	for (uint32_t i = 0; i < count; i++) {
		from_source(i / harness_parking_places_per_source());
		struct rte_mbuf *m = receive_frame(BB_WAIT_TIME_S_MAX);
		harness_input(&m, 1);
	}
	harness_flush_tx();
	cr_assert_eq(h.sent_count, 0, "every long poll is parked, none answered");
	cr_assert_eq(h.worker->stats.long_polls_parked, count);
}

static struct rte_mbuf *arp_request_frame(void)
{
	uint8_t frame[60] = {0};
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)frame;
	memset(&eth->dst_addr, 0xff, sizeof(eth->dst_addr));
	eth->src_addr = h.client_mac;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eth + 1);
	arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = RTE_ETHER_ADDR_LEN;
	arp->arp_plen = sizeof(rte_be32_t);
	arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
	arp->arp_data.arp_sha = h.client_mac;
	arp->arp_data.arp_sip = rte_cpu_to_be_32(TEST_CLIENT_IP);
	arp->arp_data.arp_tip = rte_cpu_to_be_32(TEST_SERVER_IP);
	return frame_raw(frame, sizeof(frame));
}

/* What a pass sent, by kind. */
struct sent_kinds {
	uint32_t nonexistent_queue; /* unfragmented UDP replies with that status */
	uint32_t other_udp;
	uint32_t arp_replies;
	uint32_t echo_replies;
};

static void count_frame(struct rte_mbuf *m, struct sent_kinds *kinds)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP)) {
		kinds->arp_replies++;
		return;
	}
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	if (ip->next_proto_id == IPPROTO_ICMP) {
		kinds->echo_replies++;
		return;
	}
	struct wire_header header;
	bool whole = ip->fragment_offset == 0 && rte_pktmbuf_data_len(m) >= WIRE_OFFSET;
	bool decoded =
	    whole && wire_header_decode(rte_pktmbuf_mtod_offset(m, uint8_t *, WIRE_OFFSET),
	                                rte_pktmbuf_data_len(m) - WIRE_OFFSET, &header) == WIRE_OK;
	if (decoded && header.status == WIRE_ERR_NONEXISTENT_QUEUE)
		kinds->nonexistent_queue++;
	else
		kinds->other_udp++;
}

Test(tx, deleting_a_queue_answers_every_parked_receive_and_arp_and_icmp_after_them)
{
	/* More than a TX batch of parked receives; with tiny limits pings make up the rest. */
	const uint32_t parked =
	    RTE_MIN(DP_TX_SLOTS + harness_parking_places_per_source(), harness_parking_places());
	const uint32_t pings = parked > DP_TX_SLOTS ? 1 : DP_TX_SLOTS + 1 - parked;
	uint32_t baseline = harness_frames_in_use();
	park_receives(parked);

	/* The queue is deleted; in the same pass an ARP request and pings arrive. */
	harness_publish_queues(NULL, 0);
	h.client_ip = TEST_CLIENT_IP;
	static struct rte_mbuf *frames[DP_TX_SLOTS + 2];
	frames[0] = arp_request_frame();
	for (uint32_t i = 1; i <= pings; i++)
		frames[i] = frame_icmp_echo(0);
	harness_input(frames, (uint16_t)(1 + pings));

	harness_flush_tx();
	struct sent_kinds kinds = {0};
	for (uint32_t i = 0; i < h.sent_count; i++)
		count_frame(h.sent[i], &kinds);
	free_sent();
	cr_assert_eq(kinds.nonexistent_queue, parked,
	             "each of %u parked receives is answered NonExistentQueue: %u were", parked,
	             kinds.nonexistent_queue);
	cr_assert_eq(kinds.other_udp, 0);
	cr_assert_eq(kinds.arp_replies, 1, "the ARP request behind them is answered");
	cr_assert_eq(kinds.echo_replies, pings, "every ping behind them is answered");
	cr_assert_eq(h.worker->stats.tx_dropped, 0);
	cr_assert_eq(harness_frames_in_use(), baseline, "%u mbufs still held",
	             harness_frames_in_use() - baseline);
}

/* Stores LARGE_RECEIVES messages of LARGE_BODY_BYTES, byte i of message n being 'a' + n. */
static void store_large_messages(void)
{
	static struct request r;
	static char body[LARGE_BODY_BYTES];
	for (uint32_t n = 0; n < LARGE_RECEIVES; n++) {
		memset(body, 'a' + (int)n, sizeof(body));
		request_begin(&r, WIRE_OP_SEND_MESSAGE, request_id_next++);
		wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, TEST_QUEUE);
		wire_put_bytes(&r.fields, WIRE_TAG_BODY, body, sizeof(body));
		harness_local_request(&r, 1);
		struct replies reply;
		uint32_t connection;
		cr_assert(take_local_reply(&reply, &connection));
		cr_assert_eq(reply.header.status, WIRE_OK, "message %u stored", n);
	}
}

/*
 * Joins the datagram whose fragments start at h.sent[*next] (they are sent one after the
 * other) and returns its body's first byte, or 0 when a fragment is missing or it has none.
 */
static uint8_t join_receive_reply(uint32_t *next)
{
	static uint8_t l4[70000];
	uint32_t expected_offset = 0;
	while (*next < h.sent_count) {
		struct rte_mbuf *m = h.sent[*next];
		struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14);
		(*next)++;
		uint16_t fragment = rte_be_to_cpu_16(ip->fragment_offset);
		uint32_t offset = (uint32_t)(fragment & RTE_IPV4_HDR_OFFSET_MASK) * 8;
		uint32_t length = rte_be_to_cpu_16(ip->total_length) - 20u;
		if (offset != expected_offset || offset + length > sizeof(l4))
			return 0;
		memcpy(l4 + offset, ip + 1, length);
		expected_offset += length;
		if (!(fragment & RTE_IPV4_HDR_MF_FLAG))
			break;
	}
	static struct replies reply;
	reply.datagram_bytes = expected_offset - 8;
	memcpy(reply.datagram, l4 + 8, reply.datagram_bytes);
	if (wire_header_decode(reply.datagram, reply.datagram_bytes, &reply.header) != WIRE_OK)
		return 0;
	const uint8_t *body;
	if (reply_field(&reply, WIRE_TAG_BODY, &body) != (int)LARGE_BODY_BYTES)
		return 0;
	return body[0];
}

/* Pings ahead of the receives, so that the batch fills in the middle of their replies. */
static uint32_t large_reply_pings(void)
{
	uint32_t reply_frames = LARGE_RECEIVES * LARGE_REPLY_FRAMES;
	return reply_frames > DP_TX_SLOTS ? 0 : DP_TX_SLOTS - reply_frames / 2;
}

Test(tx, a_pass_of_large_receive_replies_loses_no_frame)
{
	const uint32_t pings = large_reply_pings();
	store_large_messages();
	uint32_t baseline = harness_frames_in_use();
	static struct rte_mbuf *frames[DP_TX_SLOTS + LARGE_RECEIVES];
	for (uint32_t i = 0; i < pings; i++)
		frames[i] = frame_icmp_echo(0);
	for (uint32_t i = 0; i < LARGE_RECEIVES; i++)
		frames[pings + i] = receive_frame(0);
	/* One pass: the pings' replies, then a reply of 41 frames to each receive. */
	harness_input(frames, (uint16_t)(pings + LARGE_RECEIVES));

	harness_flush_tx();
	cr_assert_eq(h.sent_count, pings + LARGE_RECEIVES * LARGE_REPLY_FRAMES,
	             "%u frames, more than a TX batch", h.sent_count);
	cr_assert_gt(h.sent_count, DP_TX_SLOTS);
	for (uint32_t i = 0; i < pings; i++) {
		struct rte_ipv4_hdr *ip =
		    rte_pktmbuf_mtod_offset(h.sent[i], struct rte_ipv4_hdr *, 14);
		cr_assert_eq(ip->next_proto_id, IPPROTO_ICMP, "frame %u answers a ping", i);
	}
	bool seen[LARGE_RECEIVES] = {false};
	uint32_t next = pings, datagrams = 0;
	while (next < h.sent_count) {
		uint8_t first = join_receive_reply(&next);
		cr_assert(first >= 'a' && first < 'a' + LARGE_RECEIVES,
		          "reply %u is whole and carries a message", datagrams);
		cr_assert_not(seen[first - 'a'], "message %c came once", first);
		seen[first - 'a'] = true;
		datagrams++;
	}
	free_sent();
	cr_assert_eq(datagrams, LARGE_RECEIVES, "every receive got its message");
	cr_assert_eq(h.worker->stats.tx_dropped, 0);
	cr_assert_eq(harness_frames_in_use(), baseline, "%u mbufs still held",
	             harness_frames_in_use() - baseline);
}

Test(tx, a_reply_without_a_frame_mbuf_is_counted_once)
{
	park_receives(1);
	/* Every free mbuf of the frame pool taken: the wait's end has none for its reply. */
	static struct rte_mbuf *taken[HARNESS_SENT_MAX];
	uint32_t count = 0;
	while (count < HARNESS_SENT_MAX && (taken[count] = rte_pktmbuf_alloc(h.app.frame_pool)))
		count++;
	cr_assert_eq(rte_mempool_avail_count(h.app.frame_pool), 0);
	harness_advance_ms(BB_WAIT_TIME_S_MAX * 1000);
	rte_pktmbuf_free_bulk(taken, count);
	free_sent();
	cr_assert_eq(h.worker->stats.tx_dropped, 1, "one reply lost, counted once: %lu",
	             (unsigned long)h.worker->stats.tx_dropped);
}

/*
 * Proves a receive reply of LARGE_BODY_BYTES leaves whole at the smallest MTU busbard takes
 * (576, RFC 791's minimum): 110 fragments, where dp_net_send_udp used to stop at 64 and
 * answer nothing, hiding the message for its visibility timeout.
 */
Test(tx, a_large_reply_at_the_smallest_mtu_leaves_in_every_fragment)
{
	h.worker->net.config.mtu = DP_MTU_MIN;
	store_large_messages();
	struct rte_mbuf *m = receive_frame(0);
	harness_input(&m, 1);
	harness_flush_tx();
	cr_assert_gt(h.sent_count, 64u, "%u fragments", h.sent_count);
	uint32_t next = 0;
	cr_assert_eq(join_receive_reply(&next), 'a', "the reply is whole and carries message a");
	cr_assert_eq(next, h.sent_count, "one datagram");
	free_sent();
	cr_assert_eq(h.worker->stats.tx_dropped, 0);
}
