/*
 * busbar-control's connections to busbard's local socket for the AWS data
 * calls: one thread with an epoll loop drives a pool of Unix-socket
 * connections, each carrying one request at a time (busbard's rule,
 * docs/protocol.md), so up to CTL_POOL_CONNECTIONS requests are in flight and
 * the rest wait in order. Callers are never blocked: a call's completion runs
 * its callback on the pool thread, which hands the answer back (for HTTP, by
 * resuming a suspended connection). Long polls may take at most
 * CTL_POOL_LONG_POLLS_MAX connections, so sends and deletes always find one.
 */
#ifndef BB_CTL_AWS_POOL_H
#define BB_CTL_AWS_POOL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bb_limits.h"
#include "wire.h"

/* busbard serves BB_LOCAL_CONNECTIONS_MAX local clients and keeps the last for the push;
 * this pool takes half, leaving the rest to the busbar command and tools. */
#define CTL_POOL_CONNECTIONS    (BB_LOCAL_CONNECTIONS_MAX / 2u)
#define CTL_POOL_LONG_POLLS_MAX (CTL_POOL_CONNECTIONS * 3u / 4u)
#define CTL_POOL_WAITING_MAX    4096u /* calls waiting for a connection */
/* A call's answer may take its long poll plus this (a durable send waits for fdatasync on
 * a loaded disk); then the connection is dropped and the call answered ServiceUnavailable. */
#define CTL_POOL_ANSWER_SLACK_MS 30000u
#define CTL_POOL_FRAME_BYTES_MAX (BB_WIRE_HEADER_BYTES + BB_LOCAL_BODY_BYTES_MAX)

_Static_assert(CTL_POOL_CONNECTIONS + 1u < BB_LOCAL_CONNECTIONS_MAX,
               "the pool leaves busbard's reserved slot and others free");
_Static_assert(CTL_POOL_LONG_POLLS_MAX < CTL_POOL_CONNECTIONS,
               "long polls never take every connection");

/*
 * A call's end: status 0 with busbard's reply (header and body, valid during
 * the callback only), or -errno (-ECONNREFUSED: busbard is not there,
 * -ETIMEDOUT, -ECANCELED: the pool stops, -ENOBUFS: too many waiting).
 */
typedef void ctl_pool_done(void *context, int status, const struct wire_header *reply,
                           const uint8_t *body, size_t body_bytes);

struct ctl_pool_call {
	uint8_t *frame; /* the request, malloc'd; the pool frees it */
	size_t frame_bytes;
	uint32_t wait_s; /* its long poll: 0 for anything but a waiting receive */
	ctl_pool_done *done;
	void *context;
	/* The pool's own. */
	uint64_t deadline_ms;
	struct ctl_pool_call *next;
};

struct ctl_pool_connection;

struct ctl_pool {
	pthread_t thread;
	pthread_mutex_t lock; /* guards the waiting list and stop */
	struct ctl_pool_call *waiting_head, *waiting_tail;
	uint32_t waiting_count;
	bool stop;
	int epoll_fd;
	int wake_fd; /* eventfd: a call was queued or stop was asked */
	char socket_path[108];
	struct ctl_pool_connection *connections; /* CTL_POOL_CONNECTIONS */
	uint32_t long_polls;
	/* Counters for /metrics, read without the lock (monotonic, approximate). */
	uint64_t calls_completed;
	uint64_t calls_failed;
};

__attribute__((warn_unused_result)) int ctl_pool_start(struct ctl_pool *pool,
                                                       const char *socket_path);
/* Cancels what waits or is in flight (their callbacks run) and joins the thread. */
void ctl_pool_stop(struct ctl_pool *pool);
/*
 * Queues a call (taking frame); its callback runs later on the pool thread,
 * never inside this function. -ENOBUFS or -ECANCELED (the caller still owns
 * nothing: the frame is freed) when it cannot be queued.
 */
__attribute__((warn_unused_result)) int ctl_pool_submit(struct ctl_pool *pool,
                                                        struct ctl_pool_call *call);

#endif
