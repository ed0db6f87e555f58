/*
 * Per-lcore network stack (see dp_net.h). Every frame is bounds-checked
 * before a header is read; anything that is not well-formed, not addressed
 * to this appliance or not supported is dropped and counted, never answered
 * with partial data. No allocation but mbufs; no syscalls.
 *
 * Fragments share the frame pool with RX and TX, so what they hold is bounded
 * (BB_FRAGMENT_MBUFS_PER_WORKER_MAX, counted in frag_mbufs_held) and expired:
 * rte_ip_frag only drops a timed-out datagram when a later fragment happens to
 * probe its slot, so incomplete datagrams with nobody probing would hold their
 * mbufs for good. Every mbuf the library gives back passes the death row, which
 * is freed and accounted for right away.
 */
#include "dp_net.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include "bb_limits.h"
#include "dp_config.h"

#define ETH_BYTES              ((uint32_t)sizeof(struct rte_ether_hdr))
#define IPV4_BYTES             ((uint32_t)sizeof(struct rte_ipv4_hdr))
#define UDP_BYTES              ((uint32_t)sizeof(struct rte_udp_hdr))
#define ARP_FRAME_BYTES        (ETH_BYTES + (uint32_t)sizeof(struct rte_arp_hdr))
#define DEFAULT_TTL            64
/* Each datagram waiting for reassembly holds at least one mbuf: no more flows than mbufs. */
#define FRAG_FLOWS_MAX         BB_FRAGMENT_MBUFS_PER_WORKER_MAX
#define FRAG_BUCKETS           FRAG_FLOWS_MAX
#define FRAG_BUCKET_ENTRIES    8u
/* rte_ip_frag_table_del_expired_entries stops when the death row might overflow; emptied,
 * the row takes this many datagrams of up to RTE_LIBRTE_IP_FRAG_MAX_FRAG fragments. */
#define FRAG_EXPIRED_PER_ROUND (RTE_IP_FRAG_DEATH_ROW_MBUF_LEN / RTE_LIBRTE_IP_FRAG_MAX_FRAG)
#define FRAG_EXPIRE_ROUNDS_MAX (FRAG_FLOWS_MAX / FRAG_EXPIRED_PER_ROUND + 1)
/* Fragments of the largest reply at the smallest MTU: 119 of 552 bytes at MTU 576. */
#define FRAGMENT_BYTES_MIN     ((DP_MTU_MIN - IPV4_BYTES) & ~7u)
#define DATAGRAM_FRAGMENTS_MAX                                                                     \
	((UDP_BYTES + BB_UDP_PAYLOAD_BYTES_MAX + FRAGMENT_BYTES_MIN - 1) / FRAGMENT_BYTES_MIN)

_Static_assert(BB_UDP_REQUEST_FRAGMENTS_MAX == RTE_LIBRTE_IP_FRAG_MAX_FRAG,
               "bb_limits.h states how many fragments this DPDK reassembles");
_Static_assert(BB_UDP_REQUEST_BYTES_MAX ==
                   BB_UDP_REQUEST_FRAGMENTS_MAX * ((1500 - IPV4_BYTES) & ~7u) - UDP_BYTES,
               "the largest UDP request at MTU 1500 is what those fragments carry");

void dp_tx_flush(struct dp_tx *tx)
{
	RTE_VERIFY(tx->flush != NULL && tx->count <= DP_TX_SLOTS);
	if (tx->count == 0)
		return;
	tx->flush(tx->context, tx->frames, tx->count);
	tx->count = 0;
}

void dp_tx_push(struct dp_tx *tx, struct rte_mbuf *frame)
{
	RTE_VERIFY(frame != NULL);
	if (tx->count == DP_TX_SLOTS)
		dp_tx_flush(tx);
	tx->frames[tx->count++] = frame;
}

int dp_net_init(struct dp_net *net, const struct dp_net_config *config, struct rte_mempool *pool,
                struct dp_stats *stats, int socket_id)
{
	memset(net, 0, sizeof(*net));
	net->config = *config;
	net->pool = pool;
	net->stats = stats;
	net->reassembly_bytes_max =
	    BB_UDP_REQUEST_FRAGMENTS_MAX * ((uint32_t)(config->mtu - IPV4_BYTES) & ~7u);
	uint64_t frag_timeout_cycles = rte_get_tsc_hz() / 1000 * DP_FRAG_TIMEOUT_MS;
	net->frag_table = rte_ip_frag_table_create(FRAG_BUCKETS, FRAG_BUCKET_ENTRIES,
	                                           FRAG_FLOWS_MAX, frag_timeout_cycles, socket_id);
	return net->frag_table == NULL ? -ENOMEM : 0;
}

void dp_net_free(struct dp_net *net)
{
	/* Frees what the table still holds without the death row. */
	rte_ip_frag_table_destroy(net->frag_table);
	net->frag_table = NULL;
	net->frag_mbufs_held = 0;
}

/* Frees the death row; returns its mbufs, which fragments no longer hold. */
static uint32_t free_death_row(struct dp_net *net)
{
	uint32_t mbufs = 0;
	for (uint32_t i = 0; i < net->death_row.cnt; i++)
		mbufs += net->death_row.row[i]->nb_segs;
	RTE_VERIFY(mbufs <= net->frag_mbufs_held);
	rte_ip_frag_free_death_row(&net->death_row, 0);
	net->frag_mbufs_held -= mbufs;
	return mbufs;
}

/* Frees every datagram whose first fragment came more than DP_FRAG_TIMEOUT_MS ago. */
static void expire_fragments(struct dp_net *net, uint64_t now_tsc)
{
	RTE_VERIFY(net->death_row.cnt == 0);
	for (uint32_t round = 0; round < FRAG_EXPIRE_ROUNDS_MAX; round++) {
		rte_ip_frag_table_del_expired_entries(net->frag_table, &net->death_row, now_tsc);
		if (net->death_row.cnt == 0)
			return;
		net->stats->ip_fragments_expired += free_death_row(net);
	}
}

void dp_net_reap(struct dp_net *net, uint64_t now_tsc)
{
	expire_fragments(net, now_tsc);
}

/* Frees a frame that is not answered and counts why; NULL for `return drop(...)`. */
static struct rte_mbuf *drop(struct rte_mbuf *m, uint64_t *counter)
{
	(*counter)++;
	rte_pktmbuf_free(m);
	return NULL;
}

/* ---- ARP ---- */

static void arp_learn(struct dp_net *net, rte_be32_t ip, const struct rte_ether_addr *mac)
{
	if (ip == 0)
		return;
	for (uint32_t i = 0; i < DP_ARP_ENTRIES; i++) {
		if (net->arp[i].ip == ip) {
			net->arp[i].mac = *mac;
			return;
		}
	}
	struct dp_arp_entry *slot = &net->arp[net->arp_next++ % DP_ARP_ENTRIES];
	slot->ip = ip;
	slot->mac = *mac;
	net->stats->arp_learned++;
}

static bool arp_is_ethernet_ipv4(const struct rte_arp_hdr *arp)
{
	return arp->arp_hardware == rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) &&
	       arp->arp_protocol == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) &&
	       arp->arp_hlen == RTE_ETHER_ADDR_LEN && arp->arp_plen == sizeof(rte_be32_t);
}

static void handle_arp(struct dp_net *net, struct rte_mbuf *m, struct dp_tx *tx)
{
	if (rte_pktmbuf_data_len(m) < ARP_FRAME_BYTES) {
		drop(m, &net->stats->dropped_malformed);
		return;
	}
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eth + 1);
	if (!arp_is_ethernet_ipv4(arp)) {
		drop(m, &net->stats->dropped_unsupported);
		return;
	}
	struct rte_arp_ipv4 *body = &arp->arp_data;
	arp_learn(net, body->arp_sip, &body->arp_sha);
	bool asks_for_us = arp->arp_opcode == rte_cpu_to_be_16(RTE_ARP_OP_REQUEST) &&
	                   body->arp_tip == net->config.ip;
	if (!asks_for_us) {
		rte_pktmbuf_free(m);
		return;
	}
	arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
	body->arp_tha = body->arp_sha;
	body->arp_tip = body->arp_sip;
	body->arp_sha = net->config.mac;
	body->arp_sip = net->config.ip;
	eth->dst_addr = body->arp_tha;
	eth->src_addr = net->config.mac;
	rte_pktmbuf_trim(m, rte_pktmbuf_pkt_len(m) - ARP_FRAME_BYTES);
	net->stats->arp_replied++;
	dp_tx_push(tx, m);
}

int dp_net_resolve(struct dp_net *net, rte_be32_t ip, struct rte_ether_addr *mac_out,
                   struct dp_tx *tx)
{
	for (uint32_t i = 0; i < DP_ARP_ENTRIES; i++) {
		if (net->arp[i].ip == ip) {
			*mac_out = net->arp[i].mac;
			return 0;
		}
	}
	struct rte_mbuf *m = rte_pktmbuf_alloc(net->pool);
	if (m == NULL)
		return -ENOBUFS;
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, ARP_FRAME_BYTES);
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eth + 1);
	memset(&eth->dst_addr, 0xff, sizeof(eth->dst_addr));
	eth->src_addr = net->config.mac;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
	arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = RTE_ETHER_ADDR_LEN;
	arp->arp_plen = sizeof(rte_be32_t);
	arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
	arp->arp_data.arp_sha = net->config.mac;
	arp->arp_data.arp_sip = net->config.ip;
	memset(&arp->arp_data.arp_tha, 0, sizeof(arp->arp_data.arp_tha));
	arp->arp_data.arp_tip = ip;
	net->stats->arp_requests_sent++;
	dp_tx_push(tx, m);
	return -EAGAIN;
}

/* ---- IPv4 ---- */

static void swap_addresses(struct dp_net *net, struct rte_ether_hdr *eth, struct rte_ipv4_hdr *ip)
{
	eth->dst_addr = eth->src_addr;
	eth->src_addr = net->config.mac;
	ip->dst_addr = ip->src_addr;
	ip->src_addr = net->config.ip;
	ip->time_to_live = DEFAULT_TTL;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
}

static void handle_icmp(struct dp_net *net, struct rte_mbuf *m, struct rte_ipv4_hdr *ip,
                        uint32_t ip_header_bytes, struct dp_tx *tx)
{
	uint32_t icmp_bytes = rte_be_to_cpu_16(ip->total_length) - ip_header_bytes;
	if (m->nb_segs != 1 || icmp_bytes < sizeof(struct rte_icmp_hdr)) {
		drop(m, &net->stats->dropped_unsupported);
		return;
	}
	struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)((uint8_t *)ip + ip_header_bytes);
	if (rte_raw_cksum(icmp, icmp_bytes) != 0xffff) {
		drop(m, &net->stats->dropped_bad_checksum);
		return;
	}
	if (icmp->icmp_type != RTE_IP_ICMP_ECHO_REQUEST || icmp->icmp_code != 0) {
		drop(m, &net->stats->dropped_unsupported);
		return;
	}
	icmp->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
	icmp->icmp_cksum = 0;
	icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, icmp_bytes);
	swap_addresses(net, rte_pktmbuf_mtod(m, struct rte_ether_hdr *), ip);
	net->stats->icmp_echo_replied++;
	dp_tx_push(tx, m);
}

static struct rte_mbuf *handle_udp(struct dp_net *net, struct rte_mbuf *m, struct rte_ipv4_hdr *ip,
                                   uint32_t ip_header_bytes)
{
	uint32_t l4_offset = ETH_BYTES + ip_header_bytes;
	uint32_t udp_bytes = rte_be_to_cpu_16(ip->total_length) - ip_header_bytes;
	if (udp_bytes < UDP_BYTES || rte_pktmbuf_data_len(m) < l4_offset + UDP_BYTES)
		return drop(m, &net->stats->dropped_malformed);
	struct rte_udp_hdr *udp = rte_pktmbuf_mtod_offset(m, struct rte_udp_hdr *, l4_offset);
	if (rte_be_to_cpu_16(udp->dgram_len) != udp_bytes)
		return drop(m, &net->stats->dropped_malformed);
	if (udp->dst_port != net->config.udp_port)
		return drop(m, &net->stats->dropped_not_for_us);
	if (udp->dgram_cksum != 0 && rte_ipv4_udptcp_cksum_mbuf_verify(m, ip, l4_offset) != 0)
		return drop(m, &net->stats->dropped_bad_checksum);
	struct dp_request_meta *meta = dp_meta(m);
	meta->source = DP_SOURCE_UDP;
	meta->local_connection = 0;
	meta->peer.mac = rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->src_addr;
	meta->peer.ip = ip->src_addr;
	meta->peer.port = udp->src_port;
	rte_pktmbuf_adj(m, (uint16_t)(l4_offset + UDP_BYTES));
	return m;
}

/* Checks the IPv4 header; returns its length in bytes, or 0 after dropping the frame. */
static uint32_t check_ipv4(struct dp_net *net, struct rte_mbuf *m, struct rte_ipv4_hdr *ip)
{
	uint32_t header_bytes = (uint32_t)(ip->version_ihl & 0x0f) * 4;
	uint32_t total_bytes = rte_be_to_cpu_16(ip->total_length);
	bool well_formed = (ip->version_ihl >> 4) == 4 && header_bytes >= IPV4_BYTES &&
	                   rte_pktmbuf_data_len(m) >= ETH_BYTES + header_bytes &&
	                   total_bytes >= header_bytes &&
	                   total_bytes <= rte_pktmbuf_pkt_len(m) - ETH_BYTES;
	if (!well_formed) {
		drop(m, &net->stats->dropped_malformed);
		return 0;
	}
	if (rte_raw_cksum(ip, header_bytes) != 0xffff) {
		drop(m, &net->stats->dropped_bad_checksum);
		return 0;
	}
	if (ip->dst_addr != net->config.ip) {
		drop(m, &net->stats->dropped_not_for_us);
		return 0;
	}
	/* Ethernet pads short frames; the IP length is the truth. */
	rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_pkt_len(m) - ETH_BYTES - total_bytes));
	return header_bytes;
}

/*
 * True when the fragment reaches past what BB_UDP_REQUEST_FRAGMENTS_MAX fragments of our
 * MTU carry: its datagram can never be joined. Its last fragment counts it once.
 */
static bool fragment_past_reassembly(struct dp_net *net, const struct rte_ipv4_hdr *ip,
                                     uint32_t header_bytes)
{
	uint16_t fragment = rte_be_to_cpu_16(ip->fragment_offset);
	uint32_t offset_bytes = (uint32_t)(fragment & RTE_IPV4_HDR_OFFSET_MASK) * 8;
	uint32_t payload_bytes = rte_be_to_cpu_16(ip->total_length) - header_bytes;
	if (offset_bytes + payload_bytes <= net->reassembly_bytes_max)
		return false;
	bool last = (fragment & RTE_IPV4_HDR_MF_FLAG) == 0;
	if (last && ip->next_proto_id == IPPROTO_UDP)
		net->stats->udp_requests_too_large++;
	return true;
}

static struct rte_mbuf *reassemble(struct dp_net *net, struct rte_mbuf *m, struct rte_ipv4_hdr *ip,
                                   uint32_t header_bytes, uint64_t now_tsc)
{
	net->stats->ip_fragments++;
	if (fragment_past_reassembly(net, ip, header_bytes))
		return drop(m, &net->stats->ip_fragments_dropped);
	/* Timed-out datagrams go first, so they count as expired and make room. */
	expire_fragments(net, now_tsc);
	if (net->frag_mbufs_held + m->nb_segs > BB_FRAGMENT_MBUFS_PER_WORKER_MAX)
		return drop(m, &net->stats->ip_fragments_over_limit);
	m->l2_len = ETH_BYTES;
	m->l3_len = header_bytes;
	net->frag_mbufs_held += m->nb_segs;
	struct rte_mbuf *whole =
	    rte_ipv4_frag_reassemble_packet(net->frag_table, &net->death_row, m, now_tsc, ip);
	/* What the library rejected (overlap, duplicates, more than it joins, no free slot). */
	net->stats->ip_fragments_dropped += free_death_row(net);
	if (whole == NULL)
		return NULL;
	RTE_VERIFY(whole->nb_segs <= net->frag_mbufs_held);
	net->frag_mbufs_held -= whole->nb_segs;
	net->stats->ip_reassembled++;
	return whole;
}

static struct rte_mbuf *handle_ipv4(struct dp_net *net, struct rte_mbuf *m, uint64_t now_tsc,
                                    struct dp_tx *tx)
{
	if (rte_pktmbuf_data_len(m) < ETH_BYTES + IPV4_BYTES)
		return drop(m, &net->stats->dropped_malformed);
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, ETH_BYTES);
	uint32_t header_bytes = check_ipv4(net, m, ip);
	if (header_bytes == 0)
		return NULL;
	if (rte_ipv4_frag_pkt_is_fragmented(ip)) {
		m = reassemble(net, m, ip, header_bytes, now_tsc);
		if (m == NULL)
			return NULL;
		/* The joined datagram starts with its first fragment's header, whose length
		 * may differ from the last fragment's (options are copied selectively). */
		ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, ETH_BYTES);
		header_bytes = (uint32_t)(ip->version_ihl & 0x0f) * 4;
	}
	switch (ip->next_proto_id) {
	case IPPROTO_UDP: return handle_udp(net, m, ip, header_bytes);
	case IPPROTO_ICMP: handle_icmp(net, m, ip, header_bytes, tx); return NULL;
	default: return drop(m, &net->stats->dropped_unsupported);
	}
}

struct rte_mbuf *dp_net_input(struct dp_net *net, struct rte_mbuf *m, uint64_t now_tsc,
                              struct dp_tx *tx)
{
	net->stats->rx_frames++;
	if (rte_pktmbuf_data_len(m) < ETH_BYTES)
		return drop(m, &net->stats->dropped_malformed);
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	bool to_us = rte_is_same_ether_addr(&eth->dst_addr, &net->config.mac) ||
	             rte_is_broadcast_ether_addr(&eth->dst_addr);
	if (!to_us)
		return drop(m, &net->stats->dropped_not_for_us);
	switch (rte_be_to_cpu_16(eth->ether_type)) {
	case RTE_ETHER_TYPE_ARP: handle_arp(net, m, tx); return NULL;
	case RTE_ETHER_TYPE_IPV4: return handle_ipv4(net, m, now_tsc, tx);
	default: return drop(m, &net->stats->dropped_unsupported);
	}
}

/* ---- UDP output ---- */

static uint16_t udp_checksum(rte_be32_t src, rte_be32_t dst, const struct rte_udp_hdr *udp,
                             const uint8_t *payload, uint32_t payload_bytes)
{
	struct {
		rte_be32_t src, dst;
		uint8_t zero, proto;
		rte_be16_t length;
	} __rte_packed pseudo = {src, dst, 0, IPPROTO_UDP, udp->dgram_len};
	uint32_t sum = __rte_raw_cksum(&pseudo, sizeof(pseudo), 0);
	sum = __rte_raw_cksum(udp, UDP_BYTES, sum);
	sum = __rte_raw_cksum(payload, payload_bytes, sum);
	uint16_t folded = (uint16_t)~__rte_raw_cksum_reduce(sum);
	return folded == 0 ? 0xffff : folded;
}

/* Copies bytes [offset, offset + length) of "UDP header then payload" to out. */
static void copy_datagram_range(uint8_t *out, const struct rte_udp_hdr *udp, const uint8_t *payload,
                                uint32_t offset, uint32_t length)
{
	if (offset < UDP_BYTES) {
		uint32_t header_part = RTE_MIN(length, UDP_BYTES - offset);
		memcpy(out, (const uint8_t *)udp + offset, header_part);
		out += header_part;
		length -= header_part;
		offset = UDP_BYTES;
	}
	memcpy(out, payload + (offset - UDP_BYTES), length);
}

static struct rte_mbuf *build_fragment(struct dp_net *net, const struct dp_peer *to,
                                       uint32_t offset, uint32_t length, bool more,
                                       const struct rte_udp_hdr *udp, const uint8_t *payload)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(net->pool);
	if (m == NULL)
		return NULL;
	uint8_t *frame =
	    (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(ETH_BYTES + IPV4_BYTES + length));
	if (frame == NULL) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)frame;
	eth->dst_addr = to->mac;
	eth->src_addr = net->config.mac;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	uint16_t fragment = (uint16_t)(offset / 8) | (more ? RTE_IPV4_HDR_MF_FLAG : 0);
	*ip = (struct rte_ipv4_hdr){
	    .version_ihl = RTE_IPV4_VHL_DEF,
	    .total_length = rte_cpu_to_be_16((uint16_t)(IPV4_BYTES + length)),
	    .packet_id = rte_cpu_to_be_16(net->ip_id),
	    .fragment_offset = rte_cpu_to_be_16(fragment),
	    .time_to_live = DEFAULT_TTL,
	    .next_proto_id = IPPROTO_UDP,
	    .src_addr = net->config.ip,
	    .dst_addr = to->ip,
	};
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	copy_datagram_range((uint8_t *)(ip + 1), udp, payload, offset, length);
	return m;
}

int dp_net_send_udp(struct dp_net *net, const struct dp_peer *to, const uint8_t *payload,
                    uint32_t payload_bytes, struct dp_tx *tx)
{
	uint32_t datagram_bytes = UDP_BYTES + payload_bytes;
	if (payload_bytes > UINT16_MAX - UDP_BYTES - IPV4_BYTES)
		return -EMSGSIZE;
	struct rte_udp_hdr udp = {
	    .src_port = net->config.udp_port,
	    .dst_port = to->port,
	    .dgram_len = rte_cpu_to_be_16((uint16_t)datagram_bytes),
	};
	udp.dgram_cksum = udp_checksum(net->config.ip, to->ip, &udp, payload, payload_bytes);
	uint32_t chunk_max = (uint32_t)(net->config.mtu - IPV4_BYTES) & ~7u;
	struct rte_mbuf *fragments[DATAGRAM_FRAGMENTS_MAX];
	uint32_t count = 0;
	net->ip_id++;
	for (uint32_t offset = 0; offset < datagram_bytes; offset += chunk_max) {
		uint32_t length = RTE_MIN(chunk_max, datagram_bytes - offset);
		bool more = offset + length < datagram_bytes;
		struct rte_mbuf *m =
		    count < DATAGRAM_FRAGMENTS_MAX
		        ? build_fragment(net, to, offset, length, more, &udp, payload)
		        : NULL;
		if (m == NULL) {
			rte_pktmbuf_free_bulk(fragments, count);
			return -ENOBUFS;
		}
		fragments[count++] = m;
	}
	for (uint32_t i = 0; i < count; i++)
		dp_tx_push(tx, fragments[i]);
	return 0;
}
