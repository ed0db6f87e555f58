/*
 * The network stack of one worker lcore: Ethernet, ARP (answer, learn,
 * resolve), IPv4 with fragment reassembly (rte_ip_frag), ICMP echo and UDP.
 * It turns frames into request datagrams and request replies into frames.
 */
#ifndef BB_DP_NET_H
#define BB_DP_NET_H

#include <stdint.h>

#include <rte_ether.h>
#include <rte_ip_frag.h>
#include <rte_mbuf.h>

#include "bb_limits.h"
#include "dp_stats.h"

#define DP_TX_SLOTS        BB_TX_BATCH_FRAMES
#define DP_ARP_ENTRIES     64u
#define DP_FRAG_TIMEOUT_MS 2000u

/* Internal: a delivery of a publish or event from another resource's owner (dp_fanout.h). */
enum dp_source { DP_SOURCE_UDP = 1, DP_SOURCE_LOCAL = 2, DP_SOURCE_INTERNAL = 3 };

struct dp_peer {
	struct rte_ether_addr mac;
	rte_be32_t ip;
	rte_be16_t port;
};

/* Kept in each request mbuf's private area, from arrival to reply. */
struct dp_request_meta {
	uint8_t source; /* enum dp_source */
	uint8_t proven; /* set when routed: a UDP source showed a valid cookie (dp_cookie.h) */
	uint8_t moving; /* DP_SOURCE_INTERNAL: a dead-letter move (pending: its move slot) */
	uint8_t reserved;
	uint32_t local_connection; /* DP_SOURCE_LOCAL: who gets the reply */
	struct dp_peer peer;       /* DP_SOURCE_UDP: where the reply goes */
	/* Set when routed: the queue as the routing lcore's snapshot knew it (queue_id is a
	 * topic's or bus's id for Publish and PutEvents, resource its position). */
	uint32_t resource;
	uint32_t queue_slot;
	uint32_t receive_wait_time_s;
	uint64_t queue_id;
	uint64_t digest; /* set by the owner: dp_request_digest, for the retry window */
	/* DP_SOURCE_INTERNAL: the delivery's way back and how it is tried (dp_fanout.c). */
	uint16_t origin;            /* the worker that made it and counts it down */
	uint16_t owner;             /* the worker its destination belongs to */
	uint16_t status;            /* the owner's answer, once returned */
	uint8_t returned;           /* the owner has answered and sent it back */
	uint8_t dead_lettered;      /* it goes to its dead-letter queue now */
	uint16_t attempts;
	uint32_t pending;           /* its dp_pending slot on the origin */
	uint32_t attempts_max;
	uint32_t event_age_ms_max;  /* 0: none */
	uint32_t dead_letter_queue; /* a queue position in the snapshot, or DP_ROUTING_NONE */
	uint64_t first_sent_ms;
	/* A rule target's delivery: its rule and the target's position in it, which name it
	 * in its dead letter's attributes (dp_dead_letter.h); rule_id 0 for anything else. */
	uint64_t rule_id;
	uint32_t target_index;
};

static inline struct dp_request_meta *dp_meta(struct rte_mbuf *m)
{
	return rte_mbuf_to_priv(m);
}

#define DP_MBUF_PRIV_BYTES RTE_ALIGN(sizeof(struct dp_request_meta), RTE_MBUF_PRIV_ALIGN)

struct dp_net_config {
	struct rte_ether_addr mac;
	rte_be32_t ip;
	rte_be16_t udp_port;
	uint16_t mtu;
};

struct dp_arp_entry {
	rte_be32_t ip;
	struct rte_ether_addr mac;
};

/*
 * Frames waiting for transmission. A full batch is handed to `flush` rather than a frame
 * dropped: one pass can produce far more than DP_TX_SLOTS frames (a queue deleted with all
 * its parked receives, a burst of receive replies of up to 45 fragments each).
 */
struct dp_tx {
	struct rte_mbuf *frames[DP_TX_SLOTS];
	uint16_t count;
	/* Takes every one of the `count` frames: transmits them, or frees and counts them. */
	void (*flush)(void *context, struct rte_mbuf **frames, uint16_t count);
	void *context;
};

struct dp_net {
	struct dp_net_config config;
	struct rte_mempool *pool;
	struct rte_ip_frag_tbl *frag_table;
	struct rte_ip_frag_death_row death_row; /* empty between calls */
	uint32_t frag_mbufs_held;               /* by datagrams waiting for reassembly */
	uint32_t reassembly_bytes_max;          /* IP payload of the most fragments joined */
	struct dp_arp_entry arp[DP_ARP_ENTRIES];
	uint32_t arp_next; /* replacement cursor */
	uint16_t ip_id;
	struct dp_stats *stats;
};

int dp_net_init(struct dp_net *net, const struct dp_net_config *config, struct rte_mempool *pool,
                struct dp_stats *stats, int socket_id);
void dp_net_free(struct dp_net *net);

/*
 * Handles one received frame. Returns a request datagram: an mbuf whose data
 * starts at the wire header, with its dp_request_meta filled. Returns NULL
 * when the frame was consumed: answered (ARP, ICMP), kept for reassembly, or
 * dropped and counted.
 */
struct rte_mbuf *dp_net_input(struct dp_net *net, struct rte_mbuf *frame, uint64_t now_tsc,
                              struct dp_tx *tx);

/*
 * Sends `payload` as one UDP datagram to `to`, in IPv4 fragments when it exceeds the MTU: all
 * of them, or none and -ENOBUFS / -EMSGSIZE, which the caller counts.
 */
__attribute__((warn_unused_result)) int dp_net_send_udp(struct dp_net *net,
                                                        const struct dp_peer *to,
                                                        const uint8_t *payload,
                                                        uint32_t payload_bytes, struct dp_tx *tx);

/* 0 with mac_out filled when ip is known; else sends an ARP request and returns -EAGAIN. */
__attribute__((warn_unused_result)) int
dp_net_resolve(struct dp_net *net, rte_be32_t ip, struct rte_ether_addr *mac_out, struct dp_tx *tx);

/* Frees datagrams whose reassembly timed out (DP_FRAG_TIMEOUT_MS); call once per loop pass. */
void dp_net_reap(struct dp_net *net, uint64_t now_tsc);

/* Queues a frame for transmission, flushing the batch first when it is full. */
void dp_tx_push(struct dp_tx *tx, struct rte_mbuf *frame);
/* Hands what the batch holds to its flush function; the batch is empty after. */
void dp_tx_flush(struct dp_tx *tx);

#endif
