/*
 * Test harness for the dataplane without a port: an EAL in memory (no
 * hugepages, no devices), one worker with its rings, a snapshot with one
 * queue, and helpers that build frames and read the worker's replies.
 */
#ifndef BB_TEST_PACKET_HARNESS_H
#define BB_TEST_PACKET_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>

#include "dp_worker.h"
#include "wire.h"

#define TEST_QUEUE "orders"
#define TEST_SERVER_IP RTE_IPV4(10, 77, 0, 2)
#define TEST_CLIENT_IP RTE_IPV4(10, 77, 0, 1)
#define TEST_UDP_PORT 7600
#define TEST_CLIENT_PORT 40000

/* More than the harness's frame pool holds: every frame the worker sends is one of them. */
#define HARNESS_SENT_MAX 4096u

struct harness {
	struct dp_app app;
	struct dp_worker *worker;
	/* What the worker transmitted, oldest first: its dp_tx flushes here instead of a port. */
	struct rte_mbuf *sent[HARNESS_SENT_MAX];
	uint32_t sent_count;
	uint64_t now_tsc;
	struct rte_ether_addr client_mac;
	/* Where frames come from and replies go: TEST_CLIENT_IP and _PORT unless a test moves. */
	uint32_t client_ip;
	uint16_t client_port;
};

extern struct harness h;

void harness_setup(void);
void harness_teardown(void);

/* Flushes the worker's TX batch into h.sent; who takes frames from there frees them. */
void harness_flush_tx(void);

/* Feeds frames to the worker, then runs one serve pass. */
void harness_input(struct rte_mbuf **frames, uint16_t count);
void harness_advance_ms(uint64_t ms);

/* A frame from the client: Ethernet + IPv4 + UDP around payload. */
struct rte_mbuf *frame_udp(const uint8_t *payload, uint32_t bytes);
/* The same split into IPv4 fragments whose payload sizes are `sizes` (multiples of 8). */
uint16_t frames_fragmented(const uint8_t *payload, uint32_t bytes, const uint32_t *sizes,
                           uint16_t count, uint16_t ip_id, struct rte_mbuf **out);
struct rte_mbuf *frame_raw(const void *bytes, uint32_t length);
/* An ICMP echo request from the client with 32 bytes of 'p' and the given identifier. */
struct rte_mbuf *frame_icmp_echo(uint16_t ident);

/* Mbufs of the frame pool in use now. */
uint32_t harness_frames_in_use(void);
/* The places the harness's one worker has to park receives in, as docs/operations.md states
 * them, and what one source may take of them. */
uint32_t harness_parking_places(void);
uint32_t harness_parking_places_per_source(void);

/*
 * A wire request with the given opcode and fields written by the caller.
 * request_finish gives a ReceiveMessage the cookie of the current client
 * address and port unless without_cookie is set.
 */
struct request {
	uint8_t bytes[70000];
	struct wire_writer fields;
	struct wire_header header;
	bool without_cookie;
};
void request_begin(struct request *r, uint8_t opcode, uint64_t request_id);
uint32_t request_finish(struct request *r); /* returns total length */

/*
 * Takes the worker's transmitted frames: UDP replies are reassembled into
 * reply (one datagram expected); returns the number of frames, and counts
 * ARP/ICMP frames apart. Frees the frames.
 */
struct replies {
	uint32_t frames;
	uint32_t udp_datagrams;
	uint8_t datagram[70000];
	uint32_t datagram_bytes;
	struct wire_header header;
	struct rte_mbuf *first_non_udp; /* kept for inspection; caller frees */
};
void take_replies(struct replies *out);

/* Finds a field of the reply body; returns its length or -1. */
int reply_field(const struct replies *r, uint16_t tag, const uint8_t **value);

/*
 * Publishes a new snapshot of the queues `names` (ids 7, 8, ...: keep TEST_QUEUE first; a
 * name ending in .fifo is a FIFO queue, with content-based deduplication when it begins with
 * "content"); queues of the previous snapshot keep their slots. The worker applies it on its next input.
 */
void harness_publish_queues(const char *const *names, uint32_t count);

/*
 * Plays the service thread: routes the request to the worker as one from local
 * connection `connection` (slot | generation << 16), then runs one input and serve pass.
 */
void harness_local_request(struct request *r, uint32_t connection);
/* Takes one reply for a local connection into out (as take_replies); false when none. */
bool take_local_reply(struct replies *out, uint32_t *connection_out);

#endif
