/*
 * IPv4 reassembly under attack (issue 10, defects 1 and 13). Incomplete datagrams must not
 * take the frame pool (they may hold BB_FRAGMENT_MBUFS_PER_WORKER_MAX of it; the rest is
 * dropped and counted), must give their mbufs back once DP_FRAG_TIMEOUT_MS has passed even
 * when no other fragment arrives, and a request needing more fragments than busbard joins
 * is dropped and counted; a datagram whose first fragment alone has IP options is joined and
 * answered. Time moves with the harness's now_tsc, never by sleeping; what fragments hold
 * is read from the frame pool's use.
 */
#include <criterion/criterion.h>
#include <string.h>

#include <rte_icmp.h>
#include <rte_ip.h>

#include "packet_harness.h"

TestSuite(fragments, .init = harness_setup, .fini = harness_teardown, .timeout = 120);

#define ATTACK_FLOWS          1100u
#define ATTACK_FRAGMENTS      7u  /* per flow, each with MF set: the last never comes */
#define ATTACK_FRAGMENT_BYTES 16u

static struct replies replies;

/* Sends the first ATTACK_FRAGMENTS fragments of an (ATTACK_FRAGMENTS + 1)-fragment datagram. */
static void send_incomplete_datagram(uint16_t ip_id)
{
	uint8_t payload[(ATTACK_FRAGMENTS + 1) * ATTACK_FRAGMENT_BYTES - 8];
	memset(payload, 'a', sizeof(payload));
	uint32_t sizes[ATTACK_FRAGMENTS + 1];
	for (uint32_t i = 0; i <= ATTACK_FRAGMENTS; i++)
		sizes[i] = ATTACK_FRAGMENT_BYTES;
	struct rte_mbuf *frames[ATTACK_FRAGMENTS + 1];
	frames_fragmented(payload, sizeof(payload), sizes, ATTACK_FRAGMENTS + 1, ip_id, frames);
	rte_pktmbuf_free(frames[ATTACK_FRAGMENTS]);
	harness_input(frames, ATTACK_FRAGMENTS);
}

static void send_message(uint64_t request_id, const char *body)
{
	struct request r;
	request_begin(&r, WIRE_OP_SEND_MESSAGE, request_id);
	wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, TEST_QUEUE);
	wire_put_str(&r.fields, WIRE_TAG_BODY, body);
	struct rte_mbuf *m = frame_udp(r.bytes, request_finish(&r));
	harness_input(&m, 1);
	take_replies(&replies);
}

/* A SendMessage of exactly request_bytes bytes, sent in fragments of 1,480 (MTU 1500). */
static void send_request_of(uint32_t request_bytes, uint64_t request_id, uint16_t ip_id)
{
	static struct request r;
	request_begin(&r, WIRE_OP_SEND_MESSAGE, request_id);
	wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, TEST_QUEUE);
	uint32_t used = BB_WIRE_HEADER_BYTES + (uint32_t)r.fields.length;
	uint32_t body_bytes = request_bytes - used - WIRE_FIELD_HEADER_BYTES;
	memset(wire_put_reserve(&r.fields, WIRE_TAG_BODY, body_bytes), 'b', body_bytes);
	cr_assert_eq(request_finish(&r), request_bytes);
	uint32_t count = (8 + request_bytes + 1479) / 1480;
	uint32_t sizes[16];
	for (uint32_t i = 0; i < count; i++)
		sizes[i] = 1480;
	struct rte_mbuf *frames[16];
	frames_fragmented(r.bytes, request_bytes, sizes, (uint16_t)count, ip_id, frames);
	harness_input(frames, (uint16_t)count);
	take_replies(&replies);
}

static void expect_icmp_echo_answered(void)
{
	struct rte_mbuf *m = frame_icmp_echo(0);
	harness_input(&m, 1);
	take_replies(&replies);
	cr_assert_eq(replies.frames, 1, "the echo request is answered");
	cr_assert_not_null(replies.first_non_udp);
	rte_pktmbuf_free(replies.first_non_udp);
}

Test(fragments, incomplete_datagrams_neither_starve_the_pool_nor_outlive_their_timeout)
{
	const struct dp_stats *stats = &h.worker->stats;
	uint32_t baseline = harness_frames_in_use();
	for (uint32_t flow = 0; flow < ATTACK_FLOWS; flow++) {
		cr_assert_geq(rte_mempool_avail_count(h.app.frame_pool), ATTACK_FRAGMENTS + 1,
		              "the frame pool ran dry after %u flows: fragments hold %u mbufs, "
		              "so nothing more could be received",
		              flow, harness_frames_in_use() - baseline);
		send_incomplete_datagram((uint16_t)(0x8000 + flow));
	}
	uint32_t held = harness_frames_in_use() - baseline;
	cr_assert_leq(held, BB_FRAGMENT_MBUFS_PER_WORKER_MAX, "fragments hold %u mbufs", held);
	cr_assert_eq(stats->ip_fragments, ATTACK_FLOWS * ATTACK_FRAGMENTS);
	cr_assert_eq(stats->ip_fragments_over_limit, ATTACK_FLOWS * ATTACK_FRAGMENTS - held,
	             "every fragment beyond the bound is counted");

	/* Meanwhile UDP requests and pings are answered. */
	send_message(1, "still here");
	cr_assert_eq(replies.udp_datagrams, 1, "the request is answered");
	cr_assert_eq(replies.header.status, WIRE_OK);
	expect_icmp_echo_answered();

	/* Once the timeout has passed, every fragment's mbuf is back, with no traffic needed. */
	harness_advance_ms(DP_FRAG_TIMEOUT_MS + 1);
	cr_assert_eq(harness_frames_in_use(), baseline, "%u mbufs still held after the timeout",
	             harness_frames_in_use() - baseline);
	cr_assert_eq(stats->ip_fragments_expired, held);
	cr_assert_eq(stats->ip_reassembled, 0);

	/* And reassembly works again. */
	send_request_of(4000, 2, 0x1234);
	cr_assert_eq(replies.udp_datagrams, 1, "the fragmented request is answered");
	cr_assert_eq(replies.header.status, WIRE_OK);
	cr_assert_eq(stats->ip_reassembled, 1);
}

Test(fragments, a_few_incomplete_datagrams_expire_without_other_traffic)
{
	const struct dp_stats *stats = &h.worker->stats;
	uint32_t baseline = harness_frames_in_use();
	send_incomplete_datagram(1);
	send_incomplete_datagram(2);
	cr_assert_eq(harness_frames_in_use() - baseline, 2 * ATTACK_FRAGMENTS, "both are waiting");

	harness_advance_ms(DP_FRAG_TIMEOUT_MS / 2);
	cr_assert_eq(harness_frames_in_use() - baseline, 2 * ATTACK_FRAGMENTS, "not before the timeout");
	cr_assert_eq(stats->ip_fragments_expired, 0);

	harness_advance_ms(DP_FRAG_TIMEOUT_MS / 2 + 1);
	cr_assert_eq(harness_frames_in_use(), baseline, "%u mbufs still held after the timeout",
	             harness_frames_in_use() - baseline);
	cr_assert_eq(stats->ip_fragments_expired, 2 * ATTACK_FRAGMENTS);
}

Test(fragments, a_request_needing_more_fragments_than_busbard_joins_is_counted)
{
	const struct dp_stats *stats = &h.worker->stats;
	uint32_t baseline = harness_frames_in_use();
	send_request_of(BB_UDP_REQUEST_BYTES_MAX, 1, 0x100);
	cr_assert_eq(replies.udp_datagrams, 1, "the largest request (8 fragments) is answered");
	cr_assert_eq(replies.header.status, WIRE_OK);
	cr_assert_eq(stats->udp_requests_too_large, 0);

	send_request_of(BB_UDP_REQUEST_BYTES_MAX + 1, 2, 0x101);
	cr_assert_eq(replies.frames, 0, "a request in 9 fragments is not answered");
	cr_assert_eq(stats->udp_requests_too_large, 1, "it is counted");
	cr_assert_eq(harness_frames_in_use(), baseline, "and nothing of it is held");
}

/*
 * Copies a fragment's frame with IPv4 options inserted after its header: IHL 6, one option
 * word of three NOPs and an EOL, the header checksum over all 24 bytes.
 */
static struct rte_mbuf *with_ip_options(struct rte_mbuf *fragment)
{
	static const uint8_t options[4] = {1, 1, 1, 0}; /* NOP, NOP, NOP, EOL */
	static uint8_t frame[1600];
	uint32_t length = rte_pktmbuf_pkt_len(fragment);
	cr_assert_leq(length + sizeof(options), sizeof(frame));
	const uint8_t *old = rte_pktmbuf_mtod(fragment, const uint8_t *);
	memcpy(frame, old, 14 + 20);
	memcpy(frame + 14 + 20, options, sizeof(options));
	memcpy(frame + 14 + 20 + sizeof(options), old + 14 + 20, length - 14 - 20);
	rte_pktmbuf_free(fragment);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(frame + 14);
	ip->version_ihl = 0x46;
	ip->total_length = rte_cpu_to_be_16(rte_be_to_cpu_16(ip->total_length) + sizeof(options));
	ip->hdr_checksum = 0;
	ip->hdr_checksum = (uint16_t)~rte_raw_cksum(ip, 24);
	return frame_raw(frame, length + sizeof(options));
}

/*
 * The joined datagram starts with its first fragment's IPv4 header. When only that one
 * carries options (a sender copies options without the copy flag to the first fragment
 * alone), the UDP header was looked for after the last fragment's shorter header: the
 * request was dropped as malformed and never answered.
 */
Test(fragments, a_request_whose_first_fragment_alone_has_ip_options_is_answered)
{
	const struct dp_stats *stats = &h.worker->stats;
	static struct request r;
	static char body[3000];
	memset(body, 'o', sizeof(body) - 1);
	request_begin(&r, WIRE_OP_SEND_MESSAGE, 1);
	wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, TEST_QUEUE);
	wire_put_str(&r.fields, WIRE_TAG_BODY, body);
	uint32_t length = request_finish(&r);
	/* The first fragment carries 8 bytes less, so that with its options it fits MTU 1500. */
	const uint32_t sizes[] = {1472, 1480, 0};
	struct rte_mbuf *frames[3];
	frames_fragmented(r.bytes, length, sizes, 3, 0x4242, frames);
	frames[0] = with_ip_options(frames[0]);
	harness_input(frames, 3);
	take_replies(&replies);
	cr_assert_eq(stats->ip_reassembled, 1, "the fragments are joined");
	cr_assert_eq(stats->dropped_malformed, 0, "the joined datagram is well-formed");
	cr_assert_eq(replies.udp_datagrams, 1, "the request is answered");
	cr_assert_eq(replies.header.status, WIRE_OK);
	cr_assert_eq(replies.header.request_id, 1);
	cr_assert_eq(sqs_visible_count(h.worker->sqs, 0), 1, "the message is stored");
}
