/*
 * Parked long polls and the frame pool (issue 10: every resource a client can hold has a
 * bound and a timeout). A parked receive holds its request's mbuf, from the pool RX
 * receives into, for up to 20 s. One source parking receive after receive used to take the
 * whole pool; now a worker parks at most 1/BB_PARKED_FRAME_SHARE_DIVISOR of its share of the
 * pool, one source at most 1/BB_PARKED_SOURCE_SHARE_DIVISOR of those places, a request in
 * fragments (a chain of mbufs) is not parked, and each refused receive is answered at once,
 * as a short poll, and counted (long_polls_refused). What parked receives hold is read from
 * the frame pool's use; time moves with the harness's now_tsc, never by sleeping.
 */
#include <criterion/criterion.h>
#include <string.h>

#include <rte_ip.h>

#include "packet_harness.h"

TestSuite(parking, .init = harness_setup, .fini = harness_teardown, .timeout = 300);

/* Source n sends from 10.77.0.(SOURCE_HOST_FIRST + n), port TEST_CLIENT_PORT + n. */
#define SOURCE_HOST_FIRST 10u
#define SOURCES_MAX       (BB_PARKED_SOURCE_SHARE_DIVISOR + 1)

static uint64_t request_id_next = 1;
/* UDP datagrams the worker sent to each host, by the last byte of its address. */
static uint32_t datagrams_to[256];

static void from_source(uint32_t n)
{
	h.client_ip = RTE_IPV4(10, 77, 0, SOURCE_HOST_FIRST + n);
	h.client_port = (uint16_t)(TEST_CLIENT_PORT + n);
}

/* Frees what the worker transmitted, counting in datagrams_to; returns the datagrams. */
static uint32_t take_datagrams(void)
{
	uint32_t datagrams = 0;
	harness_flush_tx();
	for (uint32_t i = 0; i < h.sent_count; i++) {
		struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(h.sent[i], struct rte_ipv4_hdr *, 14);
		uint16_t fragment = rte_be_to_cpu_16(ip->fragment_offset);
		if (ip->next_proto_id == IPPROTO_UDP && !(fragment & RTE_IPV4_HDR_MF_FLAG)) {
			datagrams_to[rte_be_to_cpu_32(ip->dst_addr) & 0xff]++;
			datagrams++;
		}
		rte_pktmbuf_free(h.sent[i]);
	}
	h.sent_count = 0;
	return datagrams;
}

/* Lets the worker's wait end for every parked receive; returns the datagrams it answers. */
static uint32_t end_every_wait(void)
{
	harness_advance_ms(BB_WAIT_TIME_S_MAX * 1000);
	return take_datagrams(); /* one pass answers them all (test_tx.c) */
}

static uint32_t long_poll_request(struct request *r)
{
	request_begin(r, WIRE_OP_RECEIVE_MESSAGE, request_id_next++);
	wire_put_str(&r->fields, WIRE_TAG_QUEUE_NAME, TEST_QUEUE);
	wire_put_u32(&r->fields, WIRE_TAG_WAIT_TIME_S, BB_WAIT_TIME_S_MAX);
	return request_finish(r);
}

/* A ReceiveMessage with the longest wait from the current source; returns replies sent. */
static uint32_t long_poll(void)
{
	struct request r;
	struct rte_mbuf *m = frame_udp(r.bytes, long_poll_request(&r));
	harness_input(&m, 1);
	return take_datagrams();
}

static uint32_t simple_request(uint8_t opcode, const char *body)
{
	struct request r;
	request_begin(&r, opcode, request_id_next++);
	if (body != NULL) {
		wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, TEST_QUEUE);
		wire_put_str(&r.fields, WIRE_TAG_BODY, body);
	}
	struct rte_mbuf *m = frame_udp(r.bytes, request_finish(&r));
	harness_input(&m, 1);
	return take_datagrams();
}

Test(parking, one_source_cannot_take_the_frame_pool_from_the_others)
{
	const struct dp_stats *stats = &h.worker->stats;
	struct rte_mempool *pool = h.app.frame_pool;
	uint32_t baseline = harness_frames_in_use();
	/* As many as a worker could ever park: far more than one source's share. */
	const uint32_t attempts = BB_PARKED_RECEIVES_PER_WORKER;
	uint32_t answered_at_once = 0;
	from_source(0);
	for (uint32_t i = 0; i < attempts; i++) {
		cr_assert_geq(rte_mempool_avail_count(pool), pool->size / 2,
		              "after %u long polls of one source, %u of the frame pool's %u mbufs "
		              "are left for RX",
		              i, rte_mempool_avail_count(pool), pool->size);
		answered_at_once += long_poll();
	}
	uint32_t parked = (uint32_t)stats->long_polls_parked;
	cr_assert_eq(parked, harness_parking_places_per_source(), "one source parks its share: %u",
	             parked);
	cr_assert_eq(stats->long_polls_refused, attempts - parked, "the rest are counted");
	cr_assert_eq(answered_at_once, attempts - parked, "and answered at once");
	cr_assert_eq(harness_frames_in_use() - baseline, parked, "each parked receive holds one mbuf");

	/* Another source is served: a ping, a send (which wakes one parked receive), a park. */
	from_source(1);
	cr_assert_eq(simple_request(WIRE_OP_PING, NULL), 1, "a ping is answered");
	memset(datagrams_to, 0, sizeof(datagrams_to));
	cr_assert_eq(simple_request(WIRE_OP_SEND_MESSAGE, "for the first waiter"), 2);
	cr_assert_eq(datagrams_to[SOURCE_HOST_FIRST + 1], 1, "the send is answered");
	cr_assert_eq(datagrams_to[SOURCE_HOST_FIRST], 1, "a parked receive took the message");
	cr_assert_eq(long_poll(), 0, "another source's long poll is parked");
	cr_assert_eq(stats->long_polls_parked, parked + 1);

	/* At the end of their wait every one is answered and every mbuf is back. */
	cr_assert_eq(end_every_wait(), parked, "the parked receives left end empty");
	cr_assert_eq(stats->tx_dropped, 0);
	cr_assert_eq(harness_frames_in_use(), baseline, "%u mbufs still held",
	             harness_frames_in_use() - baseline);
}

Test(parking, no_set_of_sources_parks_more_than_the_workers_places)
{
	const struct dp_stats *stats = &h.worker->stats;
	uint32_t baseline = harness_frames_in_use();
	/* Each source asks for one more than its share; together more than the places. */
	uint32_t asked = 0;
	for (uint32_t n = 0; n < SOURCES_MAX; n++) {
		from_source(n);
		for (uint32_t i = 0; i <= harness_parking_places_per_source(); i++, asked++)
			long_poll();
	}
	cr_assert_gt(SOURCES_MAX * harness_parking_places_per_source(), harness_parking_places());
	cr_assert_eq(stats->long_polls_parked, harness_parking_places(), "every place is taken, no more");
	cr_assert_eq(stats->long_polls_refused, asked - harness_parking_places());
	cr_assert_eq(harness_frames_in_use() - baseline, harness_parking_places());
	cr_assert_leq(harness_frames_in_use() - baseline,
	              h.app.frame_pool->size / BB_PARKED_FRAME_SHARE_DIVISOR);

	/* A message wakes the oldest (source 0's first): its place goes to the next asking. */
	from_source(SOURCES_MAX - 1);
	cr_assert_eq(long_poll(), 1, "the last source finds no place");
	cr_assert_eq(simple_request(WIRE_OP_SEND_MESSAGE, "wake"), 2);
	cr_assert_eq(long_poll(), 0, "the place given back is taken");
	cr_assert_eq(stats->long_polls_parked, harness_parking_places() + 1);
	from_source(0);
	cr_assert_eq(long_poll(), 1, "places are full again");

	cr_assert_eq(end_every_wait(), harness_parking_places(), "every parked receive is answered");
	cr_assert_eq(stats->tx_dropped, 0, "none of the answers is dropped for want of TX room");
	cr_assert_eq(harness_frames_in_use(), baseline, "%u mbufs still held",
	             harness_frames_in_use() - baseline);
	/* Every source's count went back to none: each may park again. */
	for (uint32_t n = 0; n < SOURCES_MAX && n < harness_parking_places(); n++) {
		from_source(n);
		cr_assert_eq(long_poll(), 0, "source %u parks again", n);
	}
}

Test(parking, a_long_poll_that_came_in_fragments_is_answered_at_once)
{
	const struct dp_stats *stats = &h.worker->stats;
	uint32_t baseline = harness_frames_in_use();
	struct request r;
	uint32_t length = long_poll_request(&r);
	const uint32_t sizes[] = {16, 0}; /* the UDP header and 8 bytes, then the rest */
	struct rte_mbuf *frames[2];
	frames_fragmented(r.bytes, length, sizes, 2, 0x5151, frames);
	harness_input(frames, 2);
	cr_assert_eq(stats->ip_reassembled, 1);
	cr_assert_eq(take_datagrams(), 1, "answered now, as a short poll");
	cr_assert_eq(stats->long_polls_parked, 0, "a chain of mbufs is not parked");
	cr_assert_eq(stats->long_polls_refused, 1);
	cr_assert_eq(harness_frames_in_use(), baseline, "nothing of it is held");
}
