/* Dataplane test harness (see packet_harness.h). */
#include "packet_harness.h"

#include <criterion/criterion.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include "dp_chain.h"
#include "dp_request.h"

struct harness h;

static void publish_snapshot(void)
{
	uint8_t body[256];
	struct wire_writer w;
	wire_writer_init(&w, body, sizeof(body));
	wire_put_u64(&w, WIRE_TAG_SNAPSHOT_VERSION, 1);
	wire_put_bytes(&w, WIRE_TAG_QUEUE_BEGIN, NULL, 0);
	wire_put_str(&w, WIRE_TAG_QUEUE_NAME, TEST_QUEUE);
	wire_put_u64(&w, WIRE_TAG_QUEUE_ID, 7);
	wire_put_u32(&w, WIRE_TAG_VISIBILITY_TIMEOUT_S, 30);
	wire_put_u32(&w, WIRE_TAG_WAIT_TIME_S, 0);
	wire_put_u32(&w, WIRE_TAG_MAXIMUM_MESSAGE_BYTES, 262144);
	static struct dp_snapshot snapshot;
	char error[128];
	cr_assert_eq(dp_snapshot_parse(body, w.length, &snapshot, error, sizeof(error)), WIRE_OK);
	cr_assert_eq(dp_snapshot_assign(&snapshot, NULL, 1), 0);
	snapshot.generation = 1;
	atomic_store(&h.app.snapshot, &snapshot);
}

/* The worker's dp_tx flush: keeps the frames in h.sent, as a port would take them. */
static void capture_tx(void *context, struct rte_mbuf **frames, uint16_t count)
{
	struct harness *harness = context;
	cr_assert_leq(harness->sent_count + count, HARNESS_SENT_MAX);
	memcpy(&harness->sent[harness->sent_count], frames, count * sizeof(*frames));
	harness->sent_count += count;
	harness->worker->stats.tx_frames += count;
}

void harness_flush_tx(void)
{
	dp_tx_flush(&h.worker->tx);
}

void harness_setup(void)
{
	/* --no-shconf: no config file locked in /var/run/dpdk, so test binaries run side by side. */
	char *argv[] = {"test", "--no-huge", "--no-shconf", "-m", "512", "--no-pci", "-l", "0",
	                "--no-telemetry", "--log-level", "lib.eal:error", NULL};
	cr_assert_geq(rte_eal_init(11, argv), 0, "EAL init");
	memset(&h, 0, sizeof(h));
	h.app.worker_count = 1;
	h.app.net_config = (struct dp_net_config){
		.mac = {{0x02, 0, 0, 0, 0, 0x01}},
		.ip = rte_cpu_to_be_32(TEST_SERVER_IP),
		.udp_port = rte_cpu_to_be_16(TEST_UDP_PORT),
		.mtu = 1500,
	};
	h.client_mac = (struct rte_ether_addr){{0x02, 0, 0, 0, 0, 0x02}};
	h.client_ip = TEST_CLIENT_IP;
	h.client_port = TEST_CLIENT_PORT;
	h.app.tsc_per_ms = rte_get_tsc_hz() / 1000;
	h.app.wall_ms_at_tsc0 = 0;
	h.app.frame_pool = rte_pktmbuf_pool_create("frames", 4095, 0, DP_MBUF_PRIV_BYTES,
	                                           RTE_PKTMBUF_HEADROOM + 9216, SOCKET_ID_ANY);
	cr_assert_not_null(h.app.frame_pool);
	h.app.requests[0][0] = rte_ring_create("r00", 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	h.app.requests[1][0] = rte_ring_create("r10", 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	h.app.local_replies[0] =
		rte_ring_create("l0", 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	struct dp_worker_options options = {.index = 0, .store_mbufs = 4095, .socket_id = 0};
	int rc;
	h.worker = dp_worker_create(&h.app, &options, &rc);
	cr_assert_not_null(h.worker, "worker: %d", rc);
	h.app.workers[0] = h.worker;
	h.worker->tx.flush = capture_tx;
	h.worker->tx.context = &h;
	publish_snapshot();
	h.now_tsc = rte_rdtsc();
}

void harness_teardown(void)
{
	rte_pktmbuf_free_bulk(h.sent, h.sent_count);
	dp_worker_destroy(h.worker);
	rte_eal_cleanup();
}

void harness_input(struct rte_mbuf **frames, uint16_t count)
{
	dp_worker_input(h.worker, frames, count, h.now_tsc);
	dp_worker_serve(h.worker, h.now_tsc);
}

void harness_advance_ms(uint64_t ms)
{
	h.now_tsc += ms * h.app.tsc_per_ms;
	dp_worker_serve(h.worker, h.now_tsc);
}

static struct rte_ipv4_hdr *put_headers(uint8_t *frame, uint32_t ip_payload_bytes)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)frame;
	eth->dst_addr = h.app.net_config.mac;
	eth->src_addr = h.client_mac;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	*ip = (struct rte_ipv4_hdr){
		.version_ihl = RTE_IPV4_VHL_DEF,
		.total_length = rte_cpu_to_be_16((uint16_t)(20 + ip_payload_bytes)),
		.time_to_live = 64,
		.next_proto_id = IPPROTO_UDP,
		.src_addr = rte_cpu_to_be_32(h.client_ip),
		.dst_addr = rte_cpu_to_be_32(TEST_SERVER_IP),
	};
	return ip;
}

/* Builds [eth][ip][udp][payload] contiguously with correct checksums. */
static uint32_t build_datagram(uint8_t *frame, const uint8_t *payload, uint32_t bytes)
{
	struct rte_ipv4_hdr *ip = put_headers(frame, 8 + bytes);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
	udp->src_port = rte_cpu_to_be_16(h.client_port);
	udp->dst_port = rte_cpu_to_be_16(TEST_UDP_PORT);
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(8 + bytes));
	udp->dgram_cksum = 0;
	memcpy(udp + 1, payload, bytes);
	udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	return 14 + 20 + 8 + bytes;
}

struct rte_mbuf *frame_raw(const void *bytes, uint32_t length)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(h.app.frame_pool);
	cr_assert_not_null(m);
	void *data = rte_pktmbuf_append(m, (uint16_t)length);
	cr_assert_not_null(data);
	memcpy(data, bytes, length);
	return m;
}

struct rte_mbuf *frame_icmp_echo(uint16_t ident)
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
	icmp->icmp_ident = rte_cpu_to_be_16(ident);
	memset(icmp + 1, 'p', 32);
	icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, 8 + 32);
	return frame_raw(frame, sizeof(frame));
}

uint32_t harness_frames_in_use(void)
{
	return rte_mempool_in_use_count(h.app.frame_pool);
}

uint32_t harness_parking_places(void)
{
	uint32_t share = h.app.frame_pool->size / BB_PARKED_FRAME_SHARE_DIVISOR;
	return share < BB_PARKED_RECEIVES_PER_WORKER ? share : BB_PARKED_RECEIVES_PER_WORKER;
}

uint32_t harness_parking_places_per_source(void)
{
	uint32_t places = harness_parking_places();
	return (places + BB_PARKED_SOURCE_SHARE_DIVISOR - 1) / BB_PARKED_SOURCE_SHARE_DIVISOR;
}

struct rte_mbuf *frame_udp(const uint8_t *payload, uint32_t bytes)
{
	static uint8_t frame[9300];
	cr_assert_leq(bytes, sizeof(frame) - 42);
	return frame_raw(frame, build_datagram(frame, payload, bytes));
}

uint16_t frames_fragmented(const uint8_t *payload, uint32_t bytes, const uint32_t *sizes,
                           uint16_t count, uint16_t ip_id, struct rte_mbuf **out)
{
	static uint8_t whole[70000], frame[9300];
	build_datagram(whole, payload, bytes);
	const uint8_t *l4 = whole + 14 + 20;
	uint32_t l4_bytes = 8 + bytes, offset = 0;
	for (uint16_t i = 0; i < count; i++) {
		uint32_t size = i + 1 == count ? l4_bytes - offset : sizes[i];
		struct rte_ipv4_hdr *ip = put_headers(frame, size);
		uint16_t more = offset + size < l4_bytes ? RTE_IPV4_HDR_MF_FLAG : 0;
		ip->packet_id = rte_cpu_to_be_16(ip_id);
		ip->fragment_offset = rte_cpu_to_be_16((uint16_t)(offset / 8) | more);
		ip->hdr_checksum = rte_ipv4_cksum(ip);
		memcpy(ip + 1, l4 + offset, size);
		out[i] = frame_raw(frame, 14 + 20 + size);
		offset += size;
	}
	return count;
}

void request_begin(struct request *r, uint8_t opcode, uint64_t request_id)
{
	r->header = (struct wire_header){
		.version = WIRE_VERSION,
		.opcode = opcode,
		.client_id = 99,
		.request_id = request_id,
	};
	r->without_cookie = false;
	wire_writer_init(&r->fields, r->bytes + BB_WIRE_HEADER_BYTES,
	                 sizeof(r->bytes) - BB_WIRE_HEADER_BYTES);
}

uint32_t request_finish(struct request *r)
{
	if (r->header.opcode == WIRE_OP_RECEIVE_MESSAGE && !r->without_cookie) {
		struct dp_cookie_source source = {rte_cpu_to_be_32(h.client_ip),
		                                  rte_cpu_to_be_16(h.client_port),
		                                  r->header.client_id};
		uint64_t now_ms = dp_now_ms(&h.app, h.now_tsc);
		wire_put_u64(&r->fields, WIRE_TAG_COOKIE,
		             dp_cookie_make(&h.app.cookie_key, &source, now_ms));
	}
	cr_assert_not(r->fields.overflow);
	r->header.body_bytes = (uint32_t)r->fields.length;
	wire_header_encode(&r->header, r->bytes);
	return BB_WIRE_HEADER_BYTES + (uint32_t)r->fields.length;
}

static void collect_udp(struct replies *out, struct rte_mbuf *m, uint8_t *l4, uint32_t *l4_total)
{
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14);
	cr_assert_eq(rte_ipv4_cksum(ip), 0, "reply IP checksum");
	cr_assert_eq(ip->dst_addr, rte_cpu_to_be_32(h.client_ip));
	uint16_t fragment = rte_be_to_cpu_16(ip->fragment_offset);
	uint32_t offset = (uint32_t)(fragment & RTE_IPV4_HDR_OFFSET_MASK) * 8;
	uint32_t length = rte_be_to_cpu_16(ip->total_length) - 20;
	memcpy(l4 + offset, ip + 1, length);
	if (!(fragment & RTE_IPV4_HDR_MF_FLAG)) {
		*l4_total = offset + length;
		out->udp_datagrams++;
	}
}

void take_replies(struct replies *out)
{
	static uint8_t l4[70000];
	uint32_t l4_total = 0;
	memset(out, 0, offsetof(struct replies, datagram));
	out->first_non_udp = NULL;
	harness_flush_tx();
	for (uint32_t i = 0; i < h.sent_count; i++) {
		struct rte_mbuf *m = h.sent[i];
		struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
		out->frames++;
		if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) &&
		    ip->next_proto_id == IPPROTO_UDP) {
			collect_udp(out, m, l4, &l4_total);
			rte_pktmbuf_free(m);
		} else if (out->first_non_udp == NULL) {
			out->first_non_udp = m;
		} else {
			rte_pktmbuf_free(m);
		}
	}
	h.sent_count = 0;
	out->datagram_bytes = l4_total > 8 ? l4_total - 8 : 0;
	memcpy(out->datagram, l4 + 8, out->datagram_bytes);
	if (out->udp_datagrams == 1)
		cr_assert_eq(wire_header_decode(out->datagram, out->datagram_bytes, &out->header),
		             WIRE_OK, "the reply is a well-formed wire message");
}

int reply_field(const struct replies *r, uint16_t tag, const uint8_t **value)
{
	struct wire_reader reader;
	struct wire_field f;
	wire_reader_init(&reader, r->datagram + BB_WIRE_HEADER_BYTES, r->header.body_bytes);
	while (wire_reader_next(&reader, &f) == 1) {
		if (f.tag == tag) {
			*value = f.value;
			return (int)f.length;
		}
	}
	return -1;
}

void harness_publish_queues(const char *const *names, uint32_t count)
{
	static uint8_t body[4096];
	static struct dp_snapshot snapshots[2];
	static uint32_t published;
	const struct dp_snapshot *previous = atomic_load(&h.app.snapshot);
	struct wire_writer w;
	wire_writer_init(&w, body, sizeof(body));
	wire_put_u64(&w, WIRE_TAG_SNAPSHOT_VERSION, previous->version + 1);
	for (uint32_t i = 0; i < count; i++) {
		wire_put_bytes(&w, WIRE_TAG_QUEUE_BEGIN, NULL, 0);
		wire_put_str(&w, WIRE_TAG_QUEUE_NAME, names[i]);
		wire_put_u64(&w, WIRE_TAG_QUEUE_ID, 7 + i);
		wire_put_u32(&w, WIRE_TAG_VISIBILITY_TIMEOUT_S, 30);
		wire_put_u32(&w, WIRE_TAG_WAIT_TIME_S, 0);
		wire_put_u32(&w, WIRE_TAG_MAXIMUM_MESSAGE_BYTES, 262144);
		bool content = strncmp(names[i], "content", 7) == 0;
		if (bb_queue_name_is_fifo((const uint8_t *)names[i], strlen(names[i])))
			wire_put_u32(&w, BB_SNAPSHOT_TAG_QUEUE_FLAGS,
			             BB_SNAPSHOT_QUEUE_FIFO | (content ? BB_SNAPSHOT_QUEUE_CONTENT_DEDUP : 0));
	}
	cr_assert_not(w.overflow);
	struct dp_snapshot *next = &snapshots[published++ % 2];
	char error[128];
	cr_assert_eq(dp_snapshot_parse(body, w.length, next, error, sizeof(error)), WIRE_OK, "%s",
	             error);
	cr_assert_eq(dp_snapshot_assign(next, previous, 1), 0);
	next->generation = previous->generation + 1;
	atomic_store(&h.app.snapshot, next);
}

void harness_local_request(struct request *r, uint32_t connection)
{
	uint32_t length = request_finish(r);
	struct dp_request req;
	cr_assert_eq(dp_request_parse(r->bytes, length, &req), WIRE_OK, "a valid request");
	const struct dp_queue_entry *q = dp_snapshot_find(atomic_load(&h.app.snapshot),
	                                                  req.queue_name.data, req.queue_name.length);
	cr_assert_not_null(q, "the queue is in the snapshot");
	struct rte_mbuf *m = dp_chain_from_bytes(h.app.frame_pool, r->bytes, length);
	cr_assert_not_null(m);
	*dp_meta(m) = (struct dp_request_meta){
		.source = DP_SOURCE_LOCAL,
		.local_connection = connection,
		.queue_slot = q->slot,
		.queue_id = q->queue_id,
		.receive_wait_time_s = q->receive_wait_time_s,
	};
	cr_assert_eq(rte_ring_sp_enqueue(h.app.requests[h.app.worker_count][q->owner], m), 0);
	harness_input(NULL, 0);
}

bool take_local_reply(struct replies *out, uint32_t *connection_out)
{
	struct rte_mbuf *m;
	memset(out, 0, offsetof(struct replies, datagram));
	if (rte_ring_sc_dequeue(h.app.local_replies[0], (void **)&m) != 0)
		return false;
	*connection_out = dp_meta(m)->local_connection;
	out->datagram_bytes = rte_pktmbuf_pkt_len(m);
	cr_assert_leq(out->datagram_bytes, sizeof(out->datagram));
	dp_chain_copy_out(m, out->datagram, out->datagram_bytes);
	rte_pktmbuf_free(m);
	cr_assert_eq(wire_header_decode(out->datagram, out->datagram_bytes, &out->header), WIRE_OK,
	             "the local reply is a well-formed wire message");
	return true;
}
