/*
 * Deliveries to `udp` subscriptions and `udp://a.b.c.d:port` rule targets, on the worker that
 * owns the topic or bus: each is a Deliver frame (docs/protocol.md, "Deliver and Ack") kept
 * in a bounded per-worker table until the subscriber's Ack, sent once the publish's record
 * is durable, again after each timeout (the fan-out's backoff, dp_fanout.h), and given up to
 * its dead-letter queue (or counted in fanout_failed) when its attempts or its age run out.
 * An entry holds one count of its publish's pending deliveries, so DONE and recovery work as
 * for queue deliveries. Nothing here allocates on the worker loop: frames live in the
 * fan-out's delivery pool, the table is made at start.
 */
#ifndef BB_DP_UDP_DELIVERY_H
#define BB_DP_UDP_DELIVERY_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_byteorder.h>
#include <rte_mbuf.h>

/* Unacknowledged deliveries a worker keeps; a publish or event that could need more is
 * refused for now (fanout_refused), as when the outbox is full. */
#ifndef BB_TINY_LIMITS
#define DP_UDP_DELIVERIES_MAX 4096u
#else
#define DP_UDP_DELIVERIES_MAX 12u /* three publishes to a topic of four subscriptions */
#endif
/* Sends of a udp subscription's delivery, the first included: the fan-out's backoff (100 ms
 * doubling to 20 s) between them gives a subscriber about 65 s to answer. A rule's udp
 * target follows its RetryPolicy instead. */
#define DP_UDP_SUBSCRIPTION_ATTEMPTS_MAX 10u
/* A delivery id: the worker that holds it, its slot there, and a serial that tells this
 * delivery from the slot's earlier and later ones (drawn at random at start, so an id from
 * before a restart names nothing). */
#define DP_UDP_ID_WORKER_SHIFT 56u
#define DP_UDP_ID_SLOT_SHIFT   32u
#define DP_UDP_ID_SLOT_MASK    0xffffffu
_Static_assert(DP_UDP_DELIVERIES_MAX - 1 <= DP_UDP_ID_SLOT_MASK, "a slot fits its id bits");

struct dp_udp_delivery {
	struct rte_mbuf *frame; /* the Deliver frame in the delivery pool; NULL: slot free */
	uint64_t id;
	uint64_t after_sequence; /* not sent before this log sequence is durable */
	uint64_t due_ms;         /* of the next send, or of giving up after the last */
	uint64_t first_ms;       /* when it was made: its age */
	uint32_t frame_bytes;
	rte_be32_t ip;
	rte_be16_t port;
	uint32_t pending; /* its publish's or event's dp_pending slot */
	uint32_t attempts, attempts_max;
	uint32_t event_age_ms_max;  /* 0: none */
	uint32_t dead_letter_queue; /* a queue position in the snapshot, or DP_ROUTING_NONE */
	uint32_t live_index;        /* its place in dp_udp_table.live */
};

struct dp_udp_table {
	struct dp_udp_delivery *slots; /* DP_UDP_DELIVERIES_MAX */
	uint32_t *live;                /* slots in use, unordered */
	uint32_t live_count;
	uint32_t *free; /* a stack of free slots */
	uint32_t free_count;
	uint32_t serial;     /* of the last id made */
	uint64_t next_scan_ms; /* no entry is due before it */
	uint8_t *frame_buf;  /* a frame being built or sent, BB_UDP_PAYLOAD_BYTES_MAX */
};

/* What one Deliver frame carries (text not NUL-terminated). */
struct dp_udp_message {
	const char *endpoint; /* "a.b.c.d:port" */
	uint32_t endpoint_bytes;
	const char *source_arn; /* the topic's or rule's ARN, NUL-terminated */
	const char *subscription; /* the SubscriptionArn or the target's Id */
	uint32_t subscription_bytes;
	const char *message_id; /* the publish's MessageId or the event's id, NUL-terminated */
	const uint8_t *body;
	uint32_t body_bytes;
};

struct dp_worker;
struct dp_request;
struct dp_delivery_policy;

/* At creation (0 or -ENOMEM) and with the fan-out. */
__attribute__((warn_unused_result)) int dp_udp_init(struct dp_udp_table *t);
void dp_udp_free(struct dp_udp_table *t);
/* The table can take `deliveries` more. */
bool dp_udp_has_room(const struct dp_udp_table *t, uint32_t deliveries);
/*
 * One delivery of publish/event `pending`, sent once after_sequence is durable. 0; -EINVAL
 * when the endpoint is not "a.b.c.d:port", -EMSGSIZE when the frame passes a datagram;
 * -ENOBUFS when the delivery pool is empty. Nothing is kept but on 0.
 */
int dp_udp_deliver(struct dp_worker *w, uint32_t pending, const struct dp_udp_message *message,
                   const struct dp_delivery_policy *policy, uint64_t after_sequence,
                   uint64_t now_ms);
/* Each pass: sends what is due, gives up what ran out of attempts or age. */
void dp_udp_pass(struct dp_worker *w, uint64_t durable_sequence, uint64_t now_ms);
/* The worker a delivery id names. */
uint32_t dp_udp_owner_of(uint64_t delivery_id);
/* On that worker: an Ack completes its delivery, or is answered MessageNotInflight (no such
 * delivery) or AccessDenied (it came from elsewhere than the Deliver went). */
void dp_udp_ack(struct dp_worker *w, struct rte_mbuf *m, const struct dp_request *req);

#endif
