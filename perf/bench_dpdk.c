/*
 * `busbar-bench dpdk`: the load generator as a DPDK program. It opens one
 * port (a vdev: net_memif as the memif client of busbard's server, net_af_packet
 * on a veth, net_tap), one RX/TX queue pair per lcore, and runs the load model
 * (bench_load.c) on each lcore over its own queue, framing requests as
 * Ethernet/IPv4/UDP and taking replies out of frames. It resolves the
 * server's MAC by ARP (off for echo baselines, which send to broadcast) and
 * answers ARP requests for its own address.
 *
 * Frames carry the IPv4 header checksum and a zero UDP checksum (IPv4 allows
 * it; busbard checks a UDP checksum only when one is given). Requests and
 * replies fit one frame: bodies are at most BENCH_BODY_BYTES_MAX; a fragmented
 * reply is dropped and counted, so its request shows as unanswered.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include "bb_hugepages.h"
#include "bench_cli.h"

#define BURST       32u
#define FRAME_MBUFS 8191u
#define MBUF_CACHE  256u
#define DESCRIPTORS 1024u
#define HEADERS_BYTES                                                                             \
	((uint32_t)(sizeof(struct rte_ether_hdr) + sizeof(struct rte_ipv4_hdr) +                  \
	            sizeof(struct rte_udp_hdr)))
#define ARP_FRAME_BYTES ((uint32_t)(sizeof(struct rte_ether_hdr) + sizeof(struct rte_arp_hdr)))
#define ARP_RETRY_MS    200u
#define ARP_WAIT_MS     5000u
#define EAL_ARGS_MAX    16
#define DEFAULT_TTL     64

_Static_assert(HEADERS_BYTES + BENCH_REQUEST_BYTES_MAX <= RTE_MBUF_DEFAULT_DATAROOM,
               "a request fits one mbuf");

/* What every lcore shares, read-only once the lcores run. */
struct gen_shared {
	uint16_t port;
	struct rte_mempool *pool;
	struct rte_ether_addr mac, server_mac;
	rte_be32_t ip, server_ip;
	double ns_per_tsc;
	bool resolving; /* ARP replies set server_mac only while resolve_server waits */
	const struct bench_cli *cli;
};

struct gen_lcore {
	uint16_t queue;
	const struct gen_shared *shared;
	uint64_t rx_fragments, rx_ignored, arp_answered;
	struct rte_mbuf *pending[BURST]; /* built, not yet taken by the port */
	uint16_t pending_count;
	struct rte_mbuf *stash[BURST]; /* allocated, not yet built */
	uint16_t stash_count;
	struct bench_result result;
	struct bench_load load;
} __rte_cache_aligned;

static struct gen_shared shared;
static struct gen_lcore *lcores[RTE_MAX_LCORE];

static uint64_t now_ns(void)
{
	return (uint64_t)((double)rte_rdtsc() * shared.ns_per_tsc);
}

/* ---- set-up ---- */

static int eal_start(const struct bench_cli *cli)
{
	char memory[16], prefix[32];
	char *argv[EAL_ARGS_MAX];
	int argc = 0;
	argv[argc++] = "busbar-bench";
	argv[argc++] = "-l";
	argv[argc++] = (char *)cli->cores;
	argv[argc++] = "--no-pci";
	argv[argc++] = "--vdev";
	argv[argc++] = (char *)cli->vdev;
	argv[argc++] = "--log-level";
	argv[argc++] = "lib.eal:error";
	bool huge = cli->hugepages && bb_hugepages_free() > 0;
	if (cli->hugepages && !huge)
		fprintf(stderr, "busbar-bench: no hugepages free; running with --no-huge\n");
	if (huge) {
		argv[argc++] = "--in-memory"; /* no hugepage files outlive the run */
	} else {
		/* --no-huge excludes --in-memory: a prefix of our own keeps clear of busbard's. */
		snprintf(memory, sizeof(memory), "%u", cli->memory_mb);
		snprintf(prefix, sizeof(prefix), "busbar-bench-%d", (int)getpid());
		argv[argc++] = "--no-huge";
		argv[argc++] = "-m";
		argv[argc++] = memory;
		argv[argc++] = "--file-prefix";
		argv[argc++] = prefix;
	}
	argv[argc] = NULL;
	if (rte_eal_init(argc, argv) < 0) {
		fprintf(stderr, "busbar-bench: EAL init: %s\n", rte_strerror(rte_errno));
		return -EINVAL;
	}
	return 0;
}

static int port_start(uint16_t queues)
{
	if (rte_eth_dev_count_avail() != 1) {
		fprintf(stderr, "busbar-bench: expected exactly one DPDK port\n");
		return -ENODEV;
	}
	RTE_ETH_FOREACH_DEV(shared.port) break;
	struct rte_eth_conf conf = {.rxmode = {.mtu = RTE_ETHER_MTU}};
	uint16_t rx_descriptors = DESCRIPTORS, tx_descriptors = DESCRIPTORS;
	int rc = rte_eth_dev_configure(shared.port, queues, queues, &conf);
	if (rc == 0)
		rc = rte_eth_dev_adjust_nb_rx_tx_desc(shared.port, &rx_descriptors,
		                                      &tx_descriptors);
	for (uint16_t q = 0; rc == 0 && q < queues; q++) {
		rc = rte_eth_rx_queue_setup(shared.port, q, rx_descriptors,
		                            (unsigned)SOCKET_ID_ANY, NULL, shared.pool);
		if (rc == 0)
			rc = rte_eth_tx_queue_setup(shared.port, q, tx_descriptors,
			                            (unsigned)SOCKET_ID_ANY, NULL);
	}
	/* A memif client cannot start before its server listens: retry while the link may wait. */
	uint64_t deadline = rte_get_timer_cycles() + rte_get_timer_hz() * shared.cli->link_wait_s;
	int start_rc = rc == 0 ? rte_eth_dev_start(shared.port) : 0;
	while (rc == 0 && start_rc != 0 && rte_get_timer_cycles() < deadline) {
		rte_delay_ms(100);
		start_rc = rte_eth_dev_start(shared.port);
	}
	if (rc == 0)
		rc = start_rc;
	if (rc == 0)
		rc = rte_eth_macaddr_get(shared.port, &shared.mac);
	if (rc != 0)
		fprintf(stderr, "busbar-bench: port set-up: %s\n", rte_strerror(-rc));
	return rc;
}

static int link_wait(uint32_t seconds)
{
	uint64_t deadline = rte_get_timer_cycles() + rte_get_timer_hz() * seconds;
	while (rte_get_timer_cycles() < deadline) {
		struct rte_eth_link link;
		if (rte_eth_link_get_nowait(shared.port, &link) == 0 && link.link_status)
			return 0;
		rte_delay_ms(10);
	}
	fprintf(stderr,
	        "busbar-bench: the port's link did not come up in %u s (is the server "
	        "running?)\n",
	        seconds);
	return -ETIMEDOUT;
}

/* ---- frames ---- */

static void arp_fill(struct rte_mbuf *m, uint16_t opcode, const struct rte_ether_addr *to_mac,
                     rte_be32_t to_ip)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eth + 1);
	eth->dst_addr = *to_mac;
	eth->src_addr = shared.mac;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
	arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = RTE_ETHER_ADDR_LEN;
	arp->arp_plen = sizeof(rte_be32_t);
	arp->arp_opcode = rte_cpu_to_be_16(opcode);
	arp->arp_data.arp_sha = shared.mac;
	arp->arp_data.arp_sip = shared.ip;
	arp->arp_data.arp_tha = *to_mac;
	arp->arp_data.arp_tip = to_ip;
	m->data_len = (uint16_t)ARP_FRAME_BYTES;
	m->pkt_len = ARP_FRAME_BYTES;
}

/* Answers an ARP request for our address in place; learns the server's MAC from any ARP. */
static struct rte_mbuf *arp_input(struct gen_lcore *g, struct rte_mbuf *m)
{
	if (rte_pktmbuf_data_len(m) < ARP_FRAME_BYTES)
		return m;
	struct rte_arp_hdr *arp =
	    rte_pktmbuf_mtod_offset(m, struct rte_arp_hdr *, sizeof(struct rte_ether_hdr));
	struct rte_arp_ipv4 *body = &arp->arp_data;
	if (body->arp_sip == shared.server_ip && shared.resolving)
		shared.server_mac = body->arp_sha; /* only before the lcores start */
	bool asks_for_us =
	    arp->arp_opcode == rte_cpu_to_be_16(RTE_ARP_OP_REQUEST) && body->arp_tip == shared.ip;
	if (!asks_for_us)
		return m;
	struct rte_ether_addr asker = body->arp_sha;
	rte_be32_t asker_ip = body->arp_sip;
	arp_fill(m, RTE_ARP_OP_REPLY, &asker, asker_ip);
	if (rte_eth_tx_burst(shared.port, g->queue, &m, 1) == 1) {
		g->arp_answered++;
		return NULL;
	}
	return m;
}

/* The wire datagram of a frame, or NULL when it is not an unfragmented IPv4/UDP one. */
static const uint8_t *udp_payload(struct gen_lcore *g, struct rte_mbuf *m, size_t *length)
{
	uint32_t frame_bytes = rte_pktmbuf_data_len(m);
	if (frame_bytes < HEADERS_BYTES)
		return NULL;
	struct rte_ipv4_hdr *ip =
	    rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, sizeof(struct rte_ether_hdr));
	if (ip->next_proto_id != IPPROTO_UDP)
		return NULL;
	uint16_t fragment_bits = RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK;
	if ((ip->fragment_offset & rte_cpu_to_be_16(fragment_bits)) != 0) {
		g->rx_fragments++;
		return NULL;
	}
	uint32_t ip_header_bytes = (uint32_t)(ip->version_ihl & 0x0f) * 4;
	uint32_t udp_offset = (uint32_t)sizeof(struct rte_ether_hdr) + ip_header_bytes;
	if (frame_bytes < udp_offset + sizeof(struct rte_udp_hdr))
		return NULL;
	struct rte_udp_hdr *udp = rte_pktmbuf_mtod_offset(m, struct rte_udp_hdr *, udp_offset);
	uint32_t datagram_bytes = rte_be_to_cpu_16(udp->dgram_len);
	if (datagram_bytes < sizeof(*udp) || udp_offset + datagram_bytes > frame_bytes)
		return NULL;
	*length = datagram_bytes - sizeof(*udp);
	return (const uint8_t *)(udp + 1);
}

/* Handles one frame; returns it to be freed, or NULL when it went out again (ARP reply). */
static struct rte_mbuf *frame_input(struct gen_lcore *g, struct rte_mbuf *m, uint64_t now)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	if (rte_pktmbuf_data_len(m) < sizeof(*eth)) {
		g->rx_ignored++;
		return m;
	}
	if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP))
		return arp_input(g, m);
	size_t length = 0;
	const uint8_t *payload = eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4)
	                             ? udp_payload(g, m, &length)
	                             : NULL;
	if (payload != NULL)
		bench_load_reply(&g->load, payload, length, now);
	else
		g->rx_ignored++;
	return m;
}

static void receive(struct gen_lcore *g, uint64_t now)
{
	struct rte_mbuf *frames[BURST];
	uint16_t count = rte_eth_rx_burst(shared.port, g->queue, frames, BURST);
	uint16_t spent = 0;
	for (uint16_t i = 0; i < count; i++) {
		struct rte_mbuf *m = frame_input(g, frames[i], now);
		if (m != NULL)
			frames[spent++] = m;
	}
	rte_pktmbuf_free_bulk(frames, spent);
}

/* Frames one request in the mbuf: headers around the bytes the load model wrote. */
static void frame_request(struct gen_lcore *g, struct rte_mbuf *m, size_t request_bytes)
{
	uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)frame;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
	eth->dst_addr = shared.server_mac;
	eth->src_addr = shared.mac;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	*ip = (struct rte_ipv4_hdr){
	    .version_ihl = RTE_IPV4_VHL_DEF,
	    .total_length =
	        rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + sizeof(*udp) + request_bytes)),
	    .time_to_live = DEFAULT_TTL,
	    .next_proto_id = IPPROTO_UDP,
	    .src_addr = shared.ip,
	    .dst_addr = shared.server_ip,
	};
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	*udp = (struct rte_udp_hdr){
	    .src_port = rte_cpu_to_be_16((uint16_t)(shared.cli->source_port + g->queue)),
	    .dst_port = rte_cpu_to_be_16(shared.cli->server_port),
	    .dgram_len = rte_cpu_to_be_16((uint16_t)(sizeof(*udp) + request_bytes)),
	};
	m->data_len = (uint16_t)(HEADERS_BYTES + request_bytes);
	m->pkt_len = m->data_len;
}

static void transmit(struct gen_lcore *g, uint64_t now)
{
	if (g->pending_count == 0) {
		if (g->stash_count == 0 &&
		    rte_pktmbuf_alloc_bulk(shared.pool, g->stash, BURST) == 0)
			g->stash_count = BURST;
		while (g->stash_count > 0) {
			struct rte_mbuf *m = g->stash[g->stash_count - 1];
			size_t bytes = bench_load_next(
			    &g->load, now, rte_pktmbuf_mtod(m, uint8_t *) + HEADERS_BYTES);
			if (bytes == 0)
				break;
			frame_request(g, m, bytes);
			g->pending[g->pending_count++] = m;
			g->stash_count--;
		}
	}
	if (g->pending_count == 0)
		return;
	uint16_t sent = rte_eth_tx_burst(shared.port, g->queue, g->pending, g->pending_count);
	memmove(g->pending, g->pending + sent, (g->pending_count - sent) * sizeof(g->pending[0]));
	g->pending_count = (uint16_t)(g->pending_count - sent);
}

/* ---- lcores ---- */

static int lcore_main(void *arg)
{
	struct gen_lcore *g = arg;
	bench_load_start(&g->load, now_ns());
	for (;;) {
		uint64_t now = now_ns();
		if (bench_load_done(&g->load, now))
			break;
		receive(g, now);
		transmit(g, now);
		bench_load_tick(&g->load, now);
	}
	bench_load_finish(&g->load, &g->result);
	rte_pktmbuf_free_bulk(g->pending, g->pending_count);
	rte_pktmbuf_free_bulk(g->stash, g->stash_count);
	return 0;
}

static int resolve_server(struct gen_lcore *g)
{
	if (!shared.cli->arp) {
		memset(&shared.server_mac, 0xff, sizeof(shared.server_mac));
		return 0;
	}
	static const struct rte_ether_addr broadcast = {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
	shared.resolving = true;
	for (uint32_t waited_ms = 0; waited_ms < ARP_WAIT_MS; waited_ms += ARP_RETRY_MS) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(shared.pool);
		if (m == NULL)
			return -ENOMEM;
		arp_fill(m, RTE_ARP_OP_REQUEST, &broadcast, shared.server_ip);
		memset(
		    &rte_pktmbuf_mtod_offset(m, struct rte_arp_hdr *, sizeof(struct rte_ether_hdr))
		         ->arp_data.arp_tha,
		    0, RTE_ETHER_ADDR_LEN);
		if (rte_eth_tx_burst(shared.port, 0, &m, 1) != 1)
			rte_pktmbuf_free(m);
		uint64_t until = rte_get_timer_cycles() + rte_get_timer_hz() * ARP_RETRY_MS / 1000;
		while (rte_get_timer_cycles() < until) {
			receive(g, now_ns());
			if (!rte_is_zero_ether_addr(&shared.server_mac)) {
				shared.resolving = false;
				return 0;
			}
		}
	}
	fprintf(stderr, "busbar-bench: no ARP reply from %s in %u ms\n", shared.cli->server_ip,
	        ARP_WAIT_MS);
	return -EHOSTUNREACH;
}

static int lcores_create(const struct bench_cli *cli, uint32_t queues)
{
	for (uint32_t q = 0; q < queues; q++) {
		struct gen_lcore *g = rte_zmalloc("gen_lcore", sizeof(*g), RTE_CACHE_LINE_SIZE);
		if (g == NULL)
			return -ENOMEM;
		lcores[q] = g;
		g->queue = (uint16_t)q;
		g->shared = &shared;
		struct bench_load_options o = cli->load;
		o.client_id = cli->load.client_id + q; /* a client per queue: ids never collide */
		if (o.rate_per_s > 0)
			o.rate_per_s /= queues;
		o.progress = q == 0 ? cli->load.progress : NULL;
		o.mac = cli->signed_requests ? bb_mac_new() : NULL; /* freed at exit, with the EAL */
		if (cli->signed_requests && o.mac == NULL)
			return -ENOMEM;
		int rc = bench_load_init(&g->load, &o);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int run_lcores(uint32_t queues)
{
	uint32_t next = 1;
	unsigned int lcore;
	RTE_LCORE_FOREACH_WORKER(lcore)
	{
		int rc = rte_eal_remote_launch(lcore_main, lcores[next++], lcore);
		if (rc != 0)
			return rc;
	}
	lcore_main(lcores[0]);
	rte_eal_mp_wait_lcore();
	return next == queues ? 0 : -EINVAL;
}

/* Prints the run's line; -EPROTO when refusals dominate it (bench_result_print). */
static int report(const struct bench_cli *cli, uint32_t queues)
{
	static struct bench_result total;
	uint64_t fragments = 0, ignored = 0;
	total = lcores[0]->result;
	for (uint32_t q = 1; q < queues; q++)
		bench_result_merge(&total, &lcores[q]->result);
	for (uint32_t q = 0; q < queues; q++) {
		fragments += lcores[q]->rx_fragments;
		ignored += lcores[q]->rx_ignored;
	}
	if (fragments > 0 || ignored > 0)
		fprintf(stderr,
		        "busbar-bench: %llu fragmented replies dropped, %llu frames ignored\n",
		        (unsigned long long)fragments, (unsigned long long)ignored);
	struct bench_labels labels = cli->labels;
	labels.queues = queues;
	return bench_result_print(stdout, &labels, &cli->load, &total);
}

int bench_dpdk_run(struct bench_cli *cli)
{
	struct in_addr ip, server_ip;
	if (inet_pton(AF_INET, cli->source_ip, &ip) != 1 ||
	    inet_pton(AF_INET, cli->server_ip, &server_ip) != 1 || cli->vdev == NULL) {
		fprintf(stderr, "busbar-bench dpdk: needs --vdev, and IPv4 addresses\n");
		return 2;
	}
	shared.cli = cli;
	shared.ip = ip.s_addr;
	shared.server_ip = server_ip.s_addr;
	if (eal_start(cli) != 0)
		return 1;
	shared.ns_per_tsc = 1e9 / (double)rte_get_tsc_hz();
	uint32_t queues = rte_lcore_count();
	shared.pool = rte_pktmbuf_pool_create("bench_frames", FRAME_MBUFS * queues, MBUF_CACHE, 0,
	                                      RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	int rc = shared.pool == NULL ? -ENOMEM : 0;
	if (rc == 0)
		rc = port_start((uint16_t)queues);
	if (rc == 0)
		rc = lcores_create(cli, queues);
	if (rc == 0)
		rc = link_wait(cli->link_wait_s);
	if (rc == 0)
		rc = resolve_server(lcores[0]);
	if (rc == 0)
		rc = run_lcores(queues);
	bool refused = rc == 0 && report(cli, queues) == -EPROTO;
	rte_eth_dev_stop(shared.port);
	rte_eth_dev_close(shared.port);
	rte_eal_cleanup();
	return rc != 0 ? 1 : refused ? BENCH_EXIT_REFUSED : 0;
}
