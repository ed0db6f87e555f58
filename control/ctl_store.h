/*
 * busbar-control's store: the desired configuration in SQLite. Every change
 * bumps the configuration version in the same transaction, so each version
 * names exactly one set of queues.
 */
#ifndef BB_CTL_STORE_H
#define BB_CTL_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bb_limits.h"

struct ctl_store;

/* A RedriveAllowPolicy with its 10 source queue ARNs at their longest fits. */
#define CTL_REDRIVE_ALLOW_POLICY_BYTES 1280u

struct ctl_queue {
	int64_t id; /* never reused: a re-created queue is a new queue */
	char name[BB_QUEUE_NAME_BYTES_MAX + 1];
	uint32_t visibility_timeout_s;
	uint32_t receive_wait_time_s;
	uint32_t maximum_message_bytes;
	bool fifo; /* FifoQueue: fixed when the queue is made */
	bool content_based_deduplication;
	/* FIFO: DeduplicationScope=messageGroup (false: queue) and
	 * FifoThroughputLimit=perMessageGroupId (false: perQueue; only with messageGroup) */
	bool dedup_per_group;
	bool throughput_per_group;
	bool memory; /* busbar:Durability=memory: fixed when the queue is made */
	uint32_t delay_s;     /* DelaySeconds */
	uint32_t retention_s; /* MessageRetentionPeriod */
	/* RedrivePolicy: the dead-letter queue's name ("": none) and maxReceiveCount (1-1000
	 * with one, 0 without). */
	char dead_letter_queue[BB_QUEUE_NAME_BYTES_MAX + 1];
	uint32_t max_receive_count;
	/* RedriveAllowPolicy as ctl_sqs.c writes it back ("": none, which allows every queue). */
	char redrive_allow_policy[CTL_REDRIVE_ALLOW_POLICY_BYTES];
	int64_t created_s;
	int64_t modified_s;
};

#define CTL_STORE_PATH_BYTES 4096 /* PATH_MAX */

struct ctl_store *ctl_store_open(const char *path, char *error, size_t error_bytes);
void ctl_store_close(struct ctl_store *store);
/* The connection and the path it was opened with, for modules with tables of their own
 * (ctl_keys); the caller holds whatever lock serialises the store. */
struct sqlite3 *ctl_store_db(struct ctl_store *store);
const char *ctl_store_path(const struct ctl_store *store);

/* 0 created; -EEXIST with *existing filled when the name is taken; -ENOSPC when
 * BB_QUEUE_COUNT_MAX queues exist (a snapshot names every queue, never fewer). */
__attribute__((warn_unused_result)) int ctl_store_create_queue(struct ctl_store *store,
                                                               const struct ctl_queue *queue,
                                                               struct ctl_queue *existing);
/* SetQueueAttributes: a queue's changeable settings, found by id. 0 or -ENOENT. */
__attribute__((warn_unused_result)) int ctl_store_update_queue(struct ctl_store *store,
                                                               const struct ctl_queue *queue);
/* 0 or -ENOENT. */
__attribute__((warn_unused_result)) int ctl_store_delete_queue(struct ctl_store *store,
                                                               const char *name);
__attribute__((warn_unused_result)) int
ctl_store_get_queue(struct ctl_store *store, const char *name, struct ctl_queue *out);
/*
 * At most limit (> 0) queues whose name starts with prefix and sorts after
 * `after` (NULL: from the first), by name; *out is malloc'd.
 */
__attribute__((warn_unused_result)) int
ctl_store_list_queues(struct ctl_store *store, const char *prefix, const char *after,
                      size_t limit, struct ctl_queue **out, size_t *count);
/*
 * ListDeadLetterSourceQueues: at most limit (> 0) queues whose RedrivePolicy names the queue
 * dead_letter_queue and whose name sorts after `after` (NULL: from the first), by name;
 * *out is malloc'd.
 */
__attribute__((warn_unused_result)) int
ctl_store_list_dead_letter_sources(struct ctl_store *store, const char *dead_letter_queue,
                                   const char *after, size_t limit, struct ctl_queue **out,
                                   size_t *count);
uint64_t ctl_store_version(struct ctl_store *store);
/* Makes the version at least at_least (never lower): for numbering after busbard's. */
__attribute__((warn_unused_result)) int ctl_store_advance_version(struct ctl_store *store,
                                                                  uint64_t at_least);
/* The store's identity (BB_SNAPSHOT_STORE_ID_BYTES), random, made with the database. */
__attribute__((warn_unused_result)) int ctl_store_identity(struct ctl_store *store,
                                                           uint8_t *store_id);

/*
 * The current configuration as a snapshot body (bb_snapshot.h) of this store,
 * saying ADOPT if asked; *body is malloc'd, *version is the one it carries.
 * -E2BIG when the store holds more queues than a snapshot may name.
 */
__attribute__((warn_unused_result)) int ctl_store_snapshot(struct ctl_store *store, bool adopt,
                                                           uint8_t **body, size_t *body_bytes,
                                                           uint64_t *version);

#endif
