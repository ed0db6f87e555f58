/*
 * The SQS queue engine of one worker lcore, standard and FIFO: message state (ready,
 * in flight until a deadline), receipt handles, visibility changes, parked long-poll
 * receives, and for FIFO queues message groups, the deduplication window and sequence
 * numbers. Pure C with no DPDK: time comes in as an argument, message
 * bodies live behind struct sqs_store_ops, and every operation on a durable queue
 * is written through struct sqs_log_ops (the owner's segment log in busbard) as the
 * records of sqs_record.h, from which sqs_replay rebuilds the engine at start.
 * One engine is touched by one thread only.
 */
#ifndef BB_SQS_H
#define BB_SQS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bb_limits.h"
#include "sqs_record.h"
#include "wire.h"

struct sqs_engine;

/* Where bodies live, each behind its message's attribute block (sqs_attrs.h) when it has one:
 * what is stored is the block's bytes, then the body's. put returns 0 or -ENOMEM when the
 * store is full. */
struct sqs_store_ops {
	void *ctx;
	int (*put)(void *ctx, const uint8_t *body, uint32_t body_bytes, uint64_t *ref_out);
	void (*read)(void *ctx, uint64_t ref, uint8_t *out, uint32_t body_bytes);
	void (*release)(void *ctx, uint64_t ref);
};

/*
 * Where a durable queue's operations go. append writes a record (it need not be durable
 * yet: the caller holds the answer until it is) and returns 0 with the record's sequence
 * and position, or -errno, in which case the operation is refused and nothing changes.
 * release says the record at position is no longer needed to rebuild the engine.
 */
struct sqs_log_ops {
	void *ctx;
	int (*append)(void *ctx, const struct sqs_record *record, uint64_t *sequence_out,
	              uint64_t *position_out);
	void (*release)(void *ctx, uint64_t position);
};

/* What a logged operation wrote: its record's sequence (0: nothing), or the log's error. */
struct sqs_logged {
	uint64_t sequence;
	int error; /* -errno from append when the operation was refused for the log */
};

/*
 * Budgets per queue. A queue holds at most 1/SQS_QUEUE_SHARE_DIVISOR of its worker's
 * message slots and body store, so a full queue refuses its own sends and leaves the other
 * queues of its worker room (issue 10, defect 10). The worker's totals are the global cap
 * all its queues share (docs/operations.md).
 */
#define SQS_QUEUE_SHARE_DIVISOR 4u
#define SQS_QUEUE_MESSAGES_MAX  (BB_MESSAGE_SLOTS_PER_WORKER / SQS_QUEUE_SHARE_DIVISOR)
_Static_assert(SQS_QUEUE_MESSAGES_MAX >= 1, "a queue holds at least one message");
_Static_assert(SQS_QUEUE_MESSAGES_MAX < BB_MESSAGE_SLOTS_PER_WORKER,
               "a full queue leaves message slots to the other queues of its worker");

struct sqs_engine_options {
	uint32_t queue_slots;
	uint32_t message_slots;
	uint32_t waiter_slots;
	/* At most this many parked receives of one source (see sqs_park); 0 for no bound below
	 * waiter_slots. */
	uint32_t waiter_slots_per_source;
	uint32_t queue_messages_max;    /* per queue, visible and in flight */
	uint32_t queue_store_units_max; /* per queue, in store units */
	uint32_t store_unit_bytes;      /* a body of n bytes takes max(1, ceil(n / this)) units */
	/*
	 * Bodies of at least this many bytes wait in a ready list of their own, so a receive
	 * that cannot take them (body_bytes_max below this) passes over them at no cost.
	 */
	uint32_t large_body_bytes_min;
	struct sqs_store_ops store;
	struct sqs_log_ops log; /* append NULL: no queue can be durable */
	/*
	 * Receipt nonces: a keyed hash of (message id, receive count) from the caller, whose key
	 * outlives a restart, so a handle whose RECEIVE record a crash lost is still known to
	 * be ours and deletes its message. NULL: random nonces (nothing to recover).
	 */
	uint64_t (*handle_nonce)(void *ctx, const uint8_t message_id[16], uint32_t receive_count);
	void *handle_nonce_ctx;
	/* FIFO queues, all of the engine's together: message groups holding messages, and
	 * deduplication ids in their window (kept after their message is deleted). 0 and 0:
	 * no queue can be FIFO. */
	uint32_t fifo_group_slots;
	uint32_t fifo_dedup_slots;
	/* RedrivePolicy: messages receives took to move and sqs_take_moves has not handed out
	 * yet. 0: no queue moves its messages (max_receive_count is ignored). */
	uint32_t move_slots;
	/* ReceiveRequestAttemptIds kept for a retry, all FIFO queues (a ring: when it is full
	 * the oldest is forgotten, and its retry is a new receive). 0: none is kept. */
	uint32_t attempt_slots;
};

struct sqs_queue_config {
	uint64_t queue_id;
	uint32_t visibility_timeout_s;
	uint32_t maximum_message_bytes;
	bool durable; /* its operations go to the log (needs options.log) */
	bool fifo;    /* FifoQueue (needs options.fifo_*_slots); fixed for a queue's life */
	bool content_based_deduplication; /* FIFO: the dedup id is the SHA-256 of the body */
	/* FIFO: DeduplicationScope=messageGroup: the window holds (group id, dedup id), so one id
	 * may be sent once in each group. A change applies to the sends after it. */
	bool dedup_per_group;
	uint32_t delay_s;     /* DelaySeconds of a send without its own (a FIFO send has none) */
	uint32_t retention_s; /* MessageRetentionPeriod; 0: WIRE_RETENTION_S_DEFAULT */
	/* RedrivePolicy's maxReceiveCount: a receive that comes to a message received this many
	 * times takes it to move to the dead-letter queue instead (sqs_take_moves). 0: none. */
	uint32_t max_receive_count;
};

/* A FIFO SequenceNumber: a 64-bit number in 20 decimal digits (AWS's type holds 128 bits). */
#define SQS_SEQUENCE_NUMBER_CHARS 20u
_Static_assert(SQS_SEQUENCE_NUMBER_CHARS <= WIRE_SEQUENCE_NUMBER_BYTES_MAX,
               "a sequence number fits what clients take");

/* What SendMessage carries besides the body (ids not NUL-terminated; 0 bytes: absent). */
struct sqs_send_options {
	const char *group_id; /* MessageGroupId: required on FIFO, ignored on standard */
	uint32_t group_id_bytes;
	const char *dedup_id; /* MessageDeduplicationId: FIFO only */
	uint32_t dedup_id_bytes;
	uint32_t delay_s; /* DelaySeconds of the message (when delay_given): refused on FIFO */
	bool delay_given; /* delay_s replaces the queue's DelaySeconds, 0 included (standard) */
	/* Its MessageAttributes and AWSTraceHeader as a valid block (sqs_attrs_encode); 0 bytes:
	 * none. The attributes' names, types and values count toward MaximumMessageSize. */
	const uint8_t *attributes;
	uint32_t attributes_bytes;
};

struct sqs_sent {
	char message_id[BB_MESSAGE_ID_BYTES + 1];
	char md5_of_body[33];
	char sequence_number[SQS_SEQUENCE_NUMBER_CHARS + 1]; /* FIFO, else "" */
	char md5_of_attributes[33]; /* AWS's MD5OfMessageAttributes; "" without attributes */
	bool duplicate; /* FIFO: the window held its id; message_id is the first send's */
	struct sqs_logged logged; /* a duplicate: the first send's record */
};

struct sqs_received {
	char message_id[BB_MESSAGE_ID_BYTES + 1];
	char receipt_handle[BB_RECEIPT_HANDLE_BYTES + 1];
	char md5_of_body[33];
	uint64_t body_ref;          /* the stored bytes: the attribute block, then the body */
	uint32_t attributes_bytes;  /* the block's (sqs_attrs.h), 0 for none */
	uint32_t body_bytes;
	char md5_of_attributes[33]; /* of all its attributes, "" without any */
	uint32_t receive_count;
	uint64_t sent_ms;
	uint64_t first_receive_ms;
	char sequence_number[SQS_SEQUENCE_NUMBER_CHARS + 1]; /* FIFO, else "" */
	char group_id[BB_FIFO_ID_BYTES_MAX + 1];             /* FIFO, else "" */
};

/* What one ReceiveMessage asks for. */
struct sqs_receive_options {
	uint32_t max_messages;        /* at most BB_RECEIVE_COUNT_MAX */
	int64_t visibility_timeout_s; /* < 0: the queue's default */
	uint32_t body_bytes_max;      /* the largest body with its attribute block it can return */
};

/* A parked receive that can now be answered (messages arrived, or its wait ended). */
struct sqs_wake {
	void *token;
	uint32_t queue_slot;
	struct sqs_receive_options receive; /* as parked */
	bool queue_closed;                  /* from sqs_queue_close: answer with NonExistentQueue */
};

struct sqs_engine *sqs_engine_create(const struct sqs_engine_options *options, int *error_out);
void sqs_engine_destroy(struct sqs_engine *engine);

/*
 * Opens `slot` for a queue, or only updates its config when it already holds
 * that queue. A different queue in the slot is closed first (see below).
 */
uint32_t sqs_queue_open(struct sqs_engine *engine, uint32_t slot,
                        const struct sqs_queue_config *config, struct sqs_wake *closed_out);
/*
 * Closes a slot and frees every message in it. Its parked receives are
 * written to closed_out (room for waiter_slots entries) with queue_closed set.
 */
uint32_t sqs_queue_close(struct sqs_engine *engine, uint32_t slot, struct sqs_wake *closed_out);
bool sqs_queue_holds(const struct sqs_engine *engine, uint32_t slot, uint64_t queue_id);
bool sqs_queue_is_fifo(const struct sqs_engine *engine, uint32_t slot);
/* A MessageGroupId or MessageDeduplicationId: 1-128 of ASCII's printable characters. */
bool sqs_fifo_id_is_valid(const char *id, uint32_t bytes);
/* The MessageDeduplicationId content-based deduplication gives a body: its SHA-256 in hex. */
#define SQS_CONTENT_DEDUP_ID_CHARS 64u
void sqs_content_dedup_id(struct sqs_engine *engine, const uint8_t *body, uint32_t body_bytes,
                          char out[SQS_CONTENT_DEDUP_ID_CHARS + 1]);

/*
 * Stores a message (sqs_send_message without options). MissingParameter when empty,
 * MessageTooLong over the queue's maximum (with its attributes' names, types and values),
 * InvalidMessageContents when SQS would refuse a character (bb_utf8.h), OverLimit when the queue's budget or the engine's slots or store
 * are used up (sqs_queue_has_room tells), ServiceUnavailable when the log refused its
 * record (out->logged.error says why).
 */
__attribute__((warn_unused_result)) enum wire_status sqs_send(struct sqs_engine *engine,
                                                              uint32_t slot, const uint8_t *body,
                                                              uint32_t body_bytes, uint64_t now_ms,
                                                              struct sqs_sent *out);
/*
 * Stores a message with its options. On a FIFO queue: MissingParameter without a group id;
 * InvalidParameterValue for an id that is not 1-128 of AWS's characters, a delay, or no
 * dedup id on a queue without content-based deduplication; a dedup id (explicit, or the
 * SHA-256 of the body) seen in the last 5 minutes stores nothing and answers as the first
 * send did (out->duplicate); OverLimit when the engine has no group or dedup place left;
 * the queue's DelaySeconds delays the message, and never to before its group's last
 * delayed message, so a group's messages become visible in their order.
 * On a standard queue a dedup id, or a delay over WIRE_DELAY_S_MAX, is InvalidParameterValue;
 * a message with a delay (its own, else the queue's) is DELAYED until then: not received,
 * not counted visible.
 */
__attribute__((warn_unused_result)) enum wire_status
sqs_send_message(struct sqs_engine *engine, uint32_t slot, const uint8_t *body,
                 uint32_t body_bytes, const struct sqs_send_options *options, uint64_t now_ms,
                 struct sqs_sent *out);
/*
 * PurgeQueue: deletes every message of the queue (visible, in flight, delayed); FIFO dedup
 * windows stay, as in SQS. A durable queue writes one PURGE record first (logged_out), and
 * recovery deletes what it had read of the queue before it. PurgeQueueInProgress within
 * WIRE_PURGE_INTERVAL_MS of the last purge; ServiceUnavailable when the log refused it.
 */
__attribute__((warn_unused_result)) enum wire_status
sqs_purge(struct sqs_engine *engine, uint32_t slot, uint64_t now_ms,
          struct sqs_logged *logged_out);

/* GetQueueAttributes' ApproximateNumberOfMessages, ...NotVisible and ...Delayed. */
struct sqs_queue_counts {
	uint32_t visible;
	uint32_t not_visible;
	uint32_t delayed;
};
void sqs_queue_counts(const struct sqs_engine *engine, uint32_t slot,
                      struct sqs_queue_counts *out);

/* True when the queue's own budget has room for a body of that size. */
bool sqs_queue_has_room(const struct sqs_engine *engine, uint32_t slot, uint32_t body_bytes);

/*
 * Takes up to max_messages visible messages, oldest first, none with a body over
 * body_bytes_max: messages of large_body_bytes_min or more are passed over when
 * body_bytes_max is below that; otherwise the receive stops at the first that does not
 * fit. On a FIFO queue it takes from groups with nothing in flight, each from its oldest
 * message on, as many of one group as it can before the next (a group whose next message
 * does not fit is passed over). Returns messages written to out.
 */
uint32_t sqs_receive(struct sqs_engine *engine, uint32_t slot,
                     const struct sqs_receive_options *options, uint64_t now_ms,
                     struct sqs_received *out);
/* True when a receive of bodies up to body_bytes_max would take a message now. */
bool sqs_can_receive(const struct sqs_engine *engine, uint32_t slot, uint32_t body_bytes_max);

/*
 * ReceiveRequestAttemptId, on a FIFO queue (the caller checked it is 1-128 of ASCII's
 * printable characters, sqs_fifo_id_is_valid). When a receive with this id on the queue began
 * less than SQS_ATTEMPT_WINDOW_MS ago and each message it took is still in flight from it
 * (not deleted, not received again, its visibility neither ended nor changed), writes those
 * messages to out again (at most BB_RECEIVE_COUNT_MAX) with the same receipt handles, starts
 * their visibility timeouts again (visibility_timeout_s < 0: the queue's) and returns how
 * many. Otherwise returns 0, and the receives on the slot until sqs_attempt_end are that
 * attempt's (an earlier one of the id is forgotten). Either way sqs_attempt_end follows.
 */
#define SQS_ATTEMPT_WINDOW_MS BB_FIFO_DEDUP_WINDOW_MS
/* True when sqs_attempt_begin with this id would give an earlier receive's messages again (a
 * caller that would park the receive answers it now). */
bool sqs_attempt_repeats(struct sqs_engine *engine, uint32_t slot, const char *id,
                         uint32_t id_bytes, uint64_t now_ms);
uint32_t sqs_attempt_begin(struct sqs_engine *engine, uint32_t slot, const char *id,
                           uint32_t id_bytes, int64_t visibility_timeout_s, uint64_t now_ms,
                           struct sqs_received *out);
/*
 * Ends the attempt sqs_attempt_begin began. One that took messages is kept for a retry, and a
 * durable queue writes its ATTEMPT record so that a restart keeps it. As with a receive's
 * RECEIVE records, the answer does not wait for it: a crash that loses it makes the retry a
 * new receive. One that took nothing is forgotten.
 */
void sqs_attempt_end(struct sqs_engine *engine);

/*
 * Dead-letter moves (RedrivePolicy). A receive that comes to a message already received
 * max_receive_count times does not hand it out: it takes it as the system's receive (a new
 * receive count, a RECEIVE record, in flight for SQS_MOVE_VISIBILITY_MS) and queues it here.
 * The caller sends it to the dead-letter queue and, once that is durable, deletes it with
 * the move's receipt handle. A crash or a failed send leaves it in flight until the deadline:
 * then the next receive moves it again (at least once). A FIFO group stays blocked while its
 * message is moved. With every move slot taken a receive stops at the message.
 */
#define SQS_MOVE_VISIBILITY_MS 30000u
struct sqs_move {
	uint32_t queue_slot;
	uint64_t queue_id;
	char message_id[BB_MESSAGE_ID_BYTES + 1];
	char receipt_handle[BB_RECEIPT_HANDLE_BYTES + 1];
	uint64_t body_ref; /* the stored bytes (attribute block, then body): valid until the
	                    * caller's next engine call */
	uint32_t attributes_bytes;
	uint32_t body_bytes;
	uint32_t receive_count;
	uint64_t sent_ms;
	char group_id[BB_FIFO_ID_BYTES_MAX + 1]; /* FIFO, else "" */
};
/* Hands out up to out_max of the messages receives took to move, oldest first (one deleted
 * or received again since is skipped). Returns how many were written. */
uint32_t sqs_take_moves(struct sqs_engine *engine, struct sqs_move *out, uint32_t out_max);

/*
 * Deletes the message of a current receipt handle. On a durable queue the delete is logged
 * first (logged_out->sequence); ServiceUnavailable when the log refused it, and the message
 * stays.
 */
__attribute__((warn_unused_result)) enum wire_status
sqs_delete(struct sqs_engine *engine, uint32_t slot, const char *handle, size_t handle_bytes,
           struct sqs_logged *logged_out);

__attribute__((warn_unused_result)) enum wire_status
sqs_change_visibility(struct sqs_engine *engine, uint32_t slot, const char *handle,
                      size_t handle_bytes, uint32_t timeout_s, uint64_t now_ms);

/*
 * Makes in-flight and delayed messages whose deadline passed visible, ends FIFO dedup windows
 * that passed (releasing the records they kept), and deletes messages older than their
 * queue's retention period (at most SQS_EXPIRE_BATCH_MAX a call; on a durable queue each
 * through a DELETE record, so they stay gone after a restart: when the log refuses one, the
 * rest wait SQS_EXPIRE_RETRY_MS). Returns how many messages became visible.
 */
#define SQS_EXPIRE_BATCH_MAX 1024u
#define SQS_EXPIRE_RETRY_MS  1000u
uint32_t sqs_expire(struct sqs_engine *engine, uint64_t now_ms);

/*
 * Parks a receive of `source` (whoever asks: the caller's key) until a message arrives or
 * deadline_ms. 0; -ENOSPC when every place is taken; -EDQUOT when that source already has
 * waiter_slots_per_source parked.
 */
__attribute__((warn_unused_result)) int sqs_park(struct sqs_engine *engine, uint32_t slot,
                                                 void *token, uint64_t source,
                                                 const struct sqs_receive_options *options,
                                                 uint64_t deadline_ms);
/*
 * Unparks receives that can be answered now: their queue has visible
 * messages they can take or their wait ended. The caller answers
 * each with sqs_receive (possibly empty). Returns how many were written.
 */
uint32_t sqs_take_waiters(struct sqs_engine *engine, uint64_t now_ms, struct sqs_wake *out,
                          uint32_t out_max);

/* The slot holding the queue with this id: true, or false when this engine has none. */
bool sqs_queue_find(const struct sqs_engine *engine, uint64_t queue_id, uint32_t *slot_out);

/*
 * Recovery: applies one record read back from the log, in log order, to the queue in slot.
 * *index_io is the engine's index of the record's message as an earlier record left it
 * (SQS_NO_MESSAGE for none; sqs_replay.h keeps the map) and is updated. A SEND makes or
 * moves the message (compaction writes one again), a RECEIVE sets its receive count and
 * hides it until its deadline if that is after now_ms (as the visibility timeout would),
 * a DELETE frees it, a PURGE frees every message of the queue (the caller's map forgets
 * them: sqs_replay does), an ATTEMPT keeps its ReceiveRequestAttemptId's receive for a retry
 * while its window lasts (index_io unused). Records no message needs are released.
 * OverLimit when the engine has no room for the message.
 */
#define SQS_NO_MESSAGE UINT32_MAX
__attribute__((warn_unused_result)) enum wire_status
sqs_replay_record(struct sqs_engine *engine, uint32_t slot, const struct sqs_record *record,
                  uint64_t position, uint64_t now_ms, uint32_t *index_io);

/*
 * Compaction: writes the messages whose record lies before position_end again (with their
 * current state), at most max, so the oldest segments hold nothing live and can go.
 * Returns how many; stops early when the log refuses.
 */
uint32_t sqs_relog_before(struct sqs_engine *engine, uint64_t position_end, uint32_t max);

/*
 * The log bytes the engine's logged messages keep live: each message's stored bytes and
 * SQS_LOG_MESSAGE_OVERHEAD_BYTES for its records' headers and ids (its SEND record and its
 * last RECEIVE), at least what they take (dataplane/dp_log.c asserts it): compaction
 * compares it with the disk the log takes, and an estimate below the truth would make it
 * write the same messages again and again.
 */
#define SQS_LOG_MESSAGE_OVERHEAD_BYTES 512u
uint64_t sqs_log_live_bytes(const struct sqs_engine *engine);

uint32_t sqs_visible_count(const struct sqs_engine *engine, uint32_t slot);
/* FIFO: deduplication ids the engine holds in their window, all queues. */
uint32_t sqs_dedup_count(const struct sqs_engine *engine);
/* FIFO: message groups the engine holds, all queues. */
uint32_t sqs_group_count(const struct sqs_engine *engine);
uint32_t sqs_inflight_count(const struct sqs_engine *engine, uint32_t slot);
uint32_t sqs_delayed_count(const struct sqs_engine *engine, uint32_t slot);
uint32_t sqs_free_message_slots(const struct sqs_engine *engine);

#endif
