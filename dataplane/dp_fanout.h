/*
 * Fan-out on a worker lcore: a publish to a topic or an event on a bus becomes deliveries,
 * each an internal request (a SendMessage today) to the owner of its target. A delivery
 * waits in the outbox until the record it comes from is durable, then crosses the SPSC ring
 * to the target's owner (a full ring holds it here, never drops it). The owner executes it
 * like any request and, once what it wrote is durable, hands the same mbuf back over its
 * ring to this worker, which counts the publish's deliveries down; the last one writes the
 * publish's DONE record, so recovery delivers again exactly the publishes that were not
 * done (at least once). A delivery refused for now (queue full, log busy) is tried again
 * with backoff; one refused for good, or out of attempts, goes to its dead-letter queue when
 * it has one, else is counted and dropped.
 */
#ifndef BB_DP_FANOUT_H
#define BB_DP_FANOUT_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>

#include "bb_limits.h"
#include "bus.h"
#include "dp_archive.h"
#include "dp_snapshot.h"
#include "dp_udp_delivery.h"
#include "sqs.h"
#include "topic.h"

#ifndef BB_TINY_LIMITS
#define DP_PENDING_MAX         4096u  /* publishes and events not yet done, per worker */
#define DP_OUTBOX_MAX          16384u /* deliveries waiting to go, per worker */
#define DP_DELIVERY_MBUFS      32768u /* the worker's pool for delivery requests */
#else
#define DP_PENDING_MAX         4u
#define DP_OUTBOX_MAX          16u
#define DP_DELIVERY_MBUFS      4096u /* one rule's deliveries at their largest (assert below) */
#endif
/* Answered deliveries waiting for room on the ring back: at most every delivery mbuf of
 * every worker, so it never overflows. */
#define DP_RETURNS_MAX         (BB_WORKER_COUNT_MAX * DP_DELIVERY_MBUFS)
/* Buffers of a worker's fan-out: a record (a bus's PUT holds its event), an event, a
 * rendered delivery (at most an SQS message), an event's (rule, target) pairs. */
#define DP_EVENT_BYTES_MAX  BUS_EVENT_BYTES_MAX
#define DP_RECORD_BYTES_MAX                                                                        \
	(TOPIC_RECORD_BYTES_MAX > BUS_EVENT_BYTES_MAX + 256 ? TOPIC_RECORD_BYTES_MAX             \
	                                                     : BUS_EVENT_BYTES_MAX + 256)
#define DP_RENDER_BYTES_MAX BB_MESSAGE_BODY_BYTES_MAX
/* A failed PutEvents entry's ErrorMessage is cut to this: ten fit the held reply. */
#define PUT_EVENTS_MESSAGE_BYTES_MAX 96u
/* Backoff of a delivery refused for now: doubling from the first to the last delay. */
#define DP_RETRY_DELAY_MS_FIRST 100u
#define DP_RETRY_DELAY_MS_LAST  20000u
/* Attempts of a subscription's delivery (SNS tries an SQS endpoint 100,015 times over 23
 * days; busbar keeps a delivery at most this many attempts, documented in docs/sns.md). */
#define DP_SUBSCRIPTION_ATTEMPTS_MAX 1000u
#define DP_PENDING_NONE UINT32_MAX

_Static_assert(DP_OUTBOX_MAX >= BB_TARGETS_PER_RULE_MAX * 2,
               "the outbox holds at least one rule's deliveries");
/* PutEvents reserves a delivery's largest render in mbufs before it accepts an entry: a pool
 * smaller than one rule's reservation refuses every event that matches (ThrottlingException). */
_Static_assert(DP_DELIVERY_MBUFS >=
                   BB_TARGETS_PER_RULE_MAX * (DP_RENDER_BYTES_MAX / RTE_MBUF_DEFAULT_DATAROOM + 1),
               "the delivery pool holds one rule's deliveries at their largest");

enum dp_fanout_kind { DP_FANOUT_TOPIC = 1, DP_FANOUT_BUS = 2 };

/* A publish or event whose deliveries are not all done. */
struct dp_pending {
	uint64_t record_position; /* its record in this worker's log; UINT64_MAX: none */
	uint64_t resource_id;     /* the topic's or bus's id */
	uint32_t outstanding;     /* deliveries not yet back done (or given up) */
	uint16_t kind;            /* enum dp_fanout_kind */
	bool adding;              /* dp_fanout_end has not been called yet */
	bool keep_record;         /* a delivery could not be made: recovery makes it again */
	uint8_t message_id[16];
};

/* A delivery waiting: for its source record to be durable, for ring room, or for its time. */
struct dp_outgoing {
	struct rte_mbuf *m;
	uint64_t after_sequence;
	uint64_t not_before_ms;
	uint32_t owner;
};

/* How a delivery is tried: the target's retry policy and dead-letter queue. */
struct dp_delivery_policy {
	uint32_t attempts_max;      /* 1 + retries */
	uint32_t event_age_ms_max;  /* 0: no limit */
	uint32_t dead_letter_queue; /* a queue position in the snapshot, or DP_ROUTING_NONE */
	uint64_t rule_id;           /* a rule target's: its rule (0: a subscription's) */
	uint32_t target_index;      /* and its position in the rule */
};

/* What one delivery to a queue carries (text not NUL-terminated; 0 bytes: absent). */
struct dp_delivery_body {
	const uint8_t *body;
	uint32_t body_bytes;
	const char *group_id; /* a FIFO queue's MessageGroupId */
	uint32_t group_id_bytes;
	const char *dedup_id; /* a FIFO queue's MessageDeduplicationId */
	uint32_t dedup_id_bytes;
	/* Wire fields the request carries as they are: a moved message's attribute block
	 * (engines/sqs_attrs.h), which is the fields of a SendMessage's attributes. */
	const uint8_t *fields;
	uint32_t fields_bytes;
	/* A moved message's DeadLetterQueueSourceArn: the queue it leaves (dp_redrive.c). */
	const char *source_arn;
	uint32_t source_arn_bytes;
};

/* A publish or event recovery found without its DONE record (dp_replay.c). */
struct dp_recovered {
	uint16_t type; /* TOPIC_RECORD_LOG_TYPE or BUS_RECORD_LOG_TYPE */
	uint64_t resource_id;
	uint8_t id[16];
	uint64_t position;
	uint8_t *payload; /* a copy of the record; NULL once its DONE was found */
	uint32_t payload_bytes;
};

struct dp_recovery {
	struct dp_recovered *items; /* in log order; allocated at recovery, freed at the end */
	uint32_t count, capacity;
	uint32_t next; /* the first not delivered again yet */
};

/*
 * Dead-letter moves (dp_redrive.c): a message of one of this worker's queues that a receive
 * took to move (sqs_take_moves) travels as a delivery to its dead-letter queue; once that is
 * durable there, the move's receipt handle deletes it here. DP_MOVES_MAX is the engine's move
 * slots and the moves in flight at once; a move refused for now is tried
 * DP_MOVE_ATTEMPTS_MAX times in all (backoff 100 ms doubling: about 1.5 s, well within the
 * message's SQS_MOVE_VISIBILITY_MS), then left to become visible and be moved again.
 */
#ifndef BB_TINY_LIMITS
#define DP_MOVES_MAX 256u
#else
#define DP_MOVES_MAX 4u
#endif
#define DP_MOVE_ATTEMPTS_MAX 5u
_Static_assert(DP_MOVES_MAX <= DP_OUTBOX_MAX, "one pass's moves fit the outbox");

struct dp_move {
	uint64_t queue_id;
	uint32_t queue_slot;
	char receipt_handle[BB_RECEIPT_HANDLE_BYTES + 1];
};

struct dp_moves {
	struct dp_move *slots; /* DP_MOVES_MAX: the moves in flight */
	uint32_t *free;        /* a stack of free slots */
	uint32_t free_count;
	struct sqs_move *taken; /* DP_MOVES_MAX: what one pass takes from the engine */
	uint8_t *stored_buf;    /* a moved message's stored bytes (attribute block and body) */
};

struct dp_fanout {
	struct rte_mempool *pool;
	struct dp_pending *pending; /* DP_PENDING_MAX */
	uint32_t *pending_free;     /* a stack of free pending slots */
	uint32_t pending_free_count;
	struct dp_outgoing *outbox; /* DP_OUTBOX_MAX, a FIFO in after_sequence order */
	uint32_t outbox_head, outbox_count;
	struct dp_outgoing *retries; /* DP_OUTBOX_MAX, unordered */
	uint32_t retry_count;
	struct rte_mbuf **returns; /* DP_RETURNS_MAX, a FIFO */
	uint32_t returns_head, returns_count;
	uint8_t *frame_buf; /* a delivery request being built */
	uint64_t next_request_id;
	uint64_t last_position; /* of the record the topic engine appended last */
	uint8_t *record_buf;    /* DP_RECORD_BYTES_MAX */
	char *event_buf;        /* DP_EVENT_BYTES_MAX */
	uint8_t *render_buf;    /* DP_RENDER_BYTES_MAX */
	uint8_t *render_scratch; /* TOPIC_RENDER_SCRATCH_BYTES */
	struct bus_delivery *deliveries; /* BUS_DELIVERIES_MAX */
	uint8_t random_bytes[1024]; /* event ids, drawn in batches */
	uint32_t random_used;
	struct dp_recovery recovery;
	struct dp_archive archive; /* the PUT records kept for archives (dp_archive.h) */
	struct dp_moves moves;
	struct dp_udp_table udp; /* deliveries to udp endpoints waiting for their Ack */
};

/* An event on its way to its targets: its JSON, id and when the bus accepted it. */
struct dp_event_view {
	const char *json;
	size_t bytes;
	uint64_t ingestion_ms;
	uint8_t id_bytes[16];
	char id[BUS_EVENT_ID_CHARS + 1];
	uint32_t hops; /* bus-to-bus hops it made to get here (bus_record.h, BUS_HOPS_MAX) */
};

#endif
