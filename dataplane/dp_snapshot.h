/*
 * A configuration snapshot as busbard runs it: the queues of one numbered
 * version from busbar-control, each with its owner lcore and its slot there.
 * The body is decoded by the common codec (bb_snapshot.h); what is here is the
 * dataplane's own: owners, slots, the name index, the copy in the state
 * directory. Built and published by the service thread; immutable once
 * published, so workers read it without locks (RCU, dp_app.h). No DPDK here.
 */
#ifndef BB_DP_SNAPSHOT_H
#define BB_DP_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bb_limits.h"
#include "bb_snapshot.h"
#include "dp_auth.h"
#include "dp_routing.h"
#include "wire.h"

#define DP_SNAPSHOT_INDEX_SLOTS (2 * BB_QUEUE_COUNT_MAX) /* open addressing, load <= 1/2 */
#define DP_SNAPSHOT_FILE        "snapshot.bbs"

struct dp_queue_entry {
	char name[BB_QUEUE_NAME_BYTES_MAX + 1];
	uint32_t name_bytes;
	uint64_t queue_id;
	uint32_t visibility_timeout_s;
	uint32_t receive_wait_time_s;
	uint32_t maximum_message_bytes;
	bool fifo;
	bool content_based_deduplication;
	bool dedup_per_group; /* DeduplicationScope=messageGroup */
	bool memory; /* busbar:Durability=memory: its messages are not logged */
	uint32_t delay_s;     /* DelaySeconds */
	uint32_t retention_s; /* MessageRetentionPeriod; 0: the default */
	/* RedrivePolicy: the dead-letter queue's position in the snapshot (DP_ROUTING_NONE: none,
	 * or it is not in this snapshot) and its maxReceiveCount (1-1000 with one). */
	uint32_t dead_letter_queue;
	uint32_t max_receive_count;
	uint32_t owner; /* worker index */
	uint32_t slot;  /* queue slot on the owner */
};

struct dp_snapshot {
	uint64_t version;    /* from busbar-control */
	uint64_t generation; /* busbard's own publish count: workers compare this */
	uint8_t store_id[BB_SNAPSHOT_STORE_ID_BYTES]; /* the control store it is of */
	bool adopt;                                   /* sent to replace another store's */
	uint32_t queue_count;
	struct dp_queue_entry queues[BB_QUEUE_COUNT_MAX];
	uint32_t index[DP_SNAPSHOT_INDEX_SLOTS]; /* queue position + 1; 0 is empty */
	struct dp_auth_keys keys; /* with secrets: the snapshot file is 0600 */
	struct dp_routing *routing; /* topics and buses; NULL when it has none */
};

/*
 * Decodes a snapshot body and indexes its queues by name, and builds its routing (topics
 * and buses) when it has any. Returns WIRE_OK, or a status with a reason in error
 * (error_bytes long) and out left unusable (nothing to release). A parsed snapshot is
 * released with dp_snapshot_release.
 */
__attribute__((warn_unused_result)) enum wire_status
dp_snapshot_parse(const uint8_t *body, size_t body_bytes, struct dp_snapshot *out, char *error,
                  size_t error_bytes);

/*
 * Gives every queue an owner (hash of its id) and a slot there. A queue that
 * was in `previous` keeps its slot, so its messages survive the change.
 * Returns 0 or -ENOSPC when an owner has no slot left.
 */
__attribute__((warn_unused_result)) int dp_snapshot_assign(struct dp_snapshot *next,
                                                           const struct dp_snapshot *previous,
                                                           uint32_t worker_count);

/* Frees what dp_snapshot_parse allocated besides the struct itself (its routing). */
void dp_snapshot_release(struct dp_snapshot *snapshot);

/* Its header, as bb_snapshot_decide compares them. */
struct bb_snapshot_header dp_snapshot_header(const struct dp_snapshot *snapshot);

const struct dp_queue_entry *dp_snapshot_find(const struct dp_snapshot *snapshot,
                                              const uint8_t *name, size_t name_bytes);

/* Where a data request goes: the owner of its queue, topic or bus, and what it finds there. */
struct dp_destination {
	uint32_t owner;
	uint32_t resource;   /* a topic's or bus's position in the routing */
	uint32_t queue_slot; /* a queue's slot on its owner */
	uint64_t id;         /* the queue's, topic's or bus's id */
	uint32_t receive_wait_time_s;
};

struct dp_request;
/*
 * Finds the destination of a parsed data request in the snapshot (NULL: none yet).
 * WIRE_OK, or the status naming what does not exist (a queue, topic or bus) with why.
 */
__attribute__((warn_unused_result)) enum wire_status
dp_snapshot_destination(const struct dp_snapshot *snapshot, const struct dp_request *req,
                        struct dp_destination *out, const char **why);

/* Writes the body to dir/snapshot.bbs durably (temporary file, fsync, rename, fsync dir),
 * readable by busbard's user alone: it holds the keys' secrets. */
__attribute__((warn_unused_result)) int dp_snapshot_save(const char *dir, const uint8_t *body,
                                                         size_t body_bytes);
/* Reads dir/snapshot.bbs into buf. Returns its length, -ENOENT, or another -errno. */
__attribute__((warn_unused_result)) long dp_snapshot_load(const char *dir, uint8_t *buf,
                                                          size_t capacity);

#endif
