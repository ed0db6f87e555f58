/*
 * The service thread on the main lcore: the Unix-socket endpoint (data
 * requests from local tools, control opcodes from busbar-control), snapshot
 * intake and publication, counters. It may allocate and make syscalls.
 */
#ifndef BB_DP_SERVICE_H
#define BB_DP_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bb_limits.h"
#include "dp_app.h"

struct dp_local_connection {
	int fd; /* -1 when free */
	uint16_t generation; /* tells a reply for an earlier connection in this slot */
	_Atomic(uint16_t) *published_generation; /* the slot's app->local_generations */
	uint8_t *in;
	size_t in_bytes;
	uint8_t *out;
	size_t out_bytes;
	size_t out_capacity; /* at most BB_LOCAL_OUT_BYTES_MAX */
	uint32_t requests_in_flight; /* routed to a worker, reply not back: 0 or 1 */
	uint64_t last_active_ms;     /* a byte read or written, or a reply back */
	bool reserved;               /* in DP_SERVICE_RESERVED_SLOT */
	bool closing;                /* closed once its output is written */
};

/*
 * The last slot takes a connection only when every other one is taken, and
 * then serves it one control request (ApplySnapshot, GetStats) and closes
 * it: busy local clients cannot lock busbar-control out.
 */
#define DP_SERVICE_RESERVED_SLOT (BB_LOCAL_CONNECTIONS_MAX - 1)

struct dp_service {
	struct dp_app *app;
	int listen_fd;
	char state_dir[512];
	struct dp_snapshot *current;
	uint64_t generation;
	uint8_t *reply_buf;
	uint64_t now_ms; /* CLOCK_MONOTONIC at the start of the poll */
	struct dp_local_connection connections[BB_LOCAL_CONNECTIONS_MAX];
};

__attribute__((warn_unused_result)) int dp_service_init(struct dp_service *service,
                                                        struct dp_app *app,
                                                        const char *socket_path,
                                                        const char *state_dir);
/* Loads the last snapshot from the state directory, if there is one. */
__attribute__((warn_unused_result)) int dp_service_load_snapshot(struct dp_service *service);
/*
 * One round: socket I/O (waiting up to timeout_ms), requests, replies from
 * workers, idle connections closed. A connection is read only while it has
 * no request at a worker and no unwritten output, so what it holds is at
 * most one reply, and a client that does not read its replies is not read.
 */
void dp_service_poll(struct dp_service *service, int timeout_ms);
/* Closes connections idle past BB_LOCAL_IDLE_TIMEOUT_MS (the reserved slot's sooner). */
void dp_service_expire(struct dp_service *service, uint64_t now_ms);
/* The clock of last_active_ms and dp_service_expire: CLOCK_MONOTONIC in ms. */
uint64_t dp_service_now_ms(void);
void dp_service_close(struct dp_service *service);

#endif
