/*
 * SQS message move tasks (StartMessageMoveTask, ListMessageMoveTasks,
 * CancelMessageMoveTask; docs/operations.md "Message move tasks"): a task
 * moves the messages of a dead-letter queue to a destination queue, by
 * default back to the queue they were dead-lettered from. Tasks are rows of
 * busbar-control's SQLite store, so ListMessageMoveTasks outlives a restart;
 * one runner thread moves their messages through busbard's local socket
 * (ctl_aws_pool.h): receive from the dead-letter queue, send to the
 * destination, and only once busbard acknowledged the send (durably, for a
 * durable queue) delete from the dead-letter queue. At least once, never
 * lost; the HTTP server never waits for a task.
 */
#ifndef BB_CTL_MOVE_H
#define BB_CTL_MOVE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctl_aws.h"
#include "ctl_aws_pool.h"
#include "ctl_sqs.h"
#include "ctl_store.h"

#define CTL_MOVE_RATE_MAX         500u /* MaxNumberOfMessagesPerSecond, as SQS */
#define CTL_MOVE_RATE_DEFAULT     500u /* without one: busbar moves at SQS's most */
#define CTL_MOVE_LIST_MAX         10u  /* ListMessageMoveTasks' MaxResults, as SQS */
#define CTL_MOVE_KEPT_PER_SOURCE  10u  /* older tasks of a queue are forgotten */
#define CTL_MOVE_ACTIVE_MAX       64u  /* tasks running at once (one per source queue) */
#define CTL_MOVE_BATCH_MAX        10u  /* messages one receive takes (SQS's most) */
/* A received message stays invisible in the dead-letter queue this long: a move that
 * stopped half way (busbar-control killed) leaves it there, visible again after. */
#define CTL_MOVE_VISIBILITY_S     30u
#define CTL_MOVE_HANDLE_BYTES_MAX 256u
#define CTL_MOVE_REASON_BYTES_MAX 160u

_Static_assert(CTL_MOVE_KEPT_PER_SOURCE >= CTL_MOVE_LIST_MAX,
               "ListMessageMoveTasks can show as many tasks as it may ask for");

struct ctl_move {
	struct ctl_store *store;
	struct ctl_aws_config config;
	/* The runner's (ctl_move_start): */
	struct ctl_pool *pool;
	pthread_mutex_t *store_lock;
	pthread_t thread;
	pthread_mutex_t lock; /* guards stop; wake pairs with it */
	pthread_cond_t wake;  /* a task started or was cancelled, or stop */
	bool stop;
	bool started;
};

/*
 * Makes the tasks' table and ends the tasks a stopped busbar-control left running: they
 * are FAILED (FailureReason "busbar-control stopped"); start a new one to go on.
 */
__attribute__((warn_unused_result)) int ctl_move_open(struct ctl_move *move,
                                                      struct ctl_store *store,
                                                      const struct ctl_aws_config *config);
/* The wall clock in ms since 1970 (StartedTimestamp's). */
int64_t ctl_move_now_ms(void);
/* The request's target ("AmazonSQS.StartMessageMoveTask", ...) is one of this module's. */
bool ctl_move_handles(const char *target);
/* Answers it from the store (called with the store lock held); wakes the runner. */
void ctl_move_handle(struct ctl_move *move, const char *target, const char *json,
                     size_t json_bytes, int64_t now_ms, struct ctl_sqs_result *out);

/* Starts the runner thread, which takes store_lock for each read or write of the store. */
__attribute__((warn_unused_result)) int ctl_move_start(struct ctl_move *move, struct ctl_pool *pool,
                                                       pthread_mutex_t *store_lock);
/* Stops the runner (a task under way stays RUNNING in the store: FAILED at next open). */
void ctl_move_stop(struct ctl_move *move);

#endif
