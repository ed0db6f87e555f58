/*
 * The service thread on the main lcore: the Unix-socket endpoint (data
 * requests from local tools, control opcodes from busbar-control), snapshot
 * intake and publication, counters. It may allocate and make syscalls.
 */
#ifndef BB_DP_SERVICE_H
#define BB_DP_SERVICE_H

#include <stddef.h>
#include <stdint.h>

#include "bb_limits.h"
#include "dp_app.h"

struct dp_local_connection {
	int fd; /* -1 when free */
	uint16_t generation; /* tells a reply for an earlier connection in this slot */
	uint8_t *in;
	_Atomic(uint16_t) *published_generation; /* the slot's app->local_generations */
	size_t in_bytes;
	uint8_t *out;
	size_t out_bytes;
	size_t out_capacity;
};

struct dp_service {
	struct dp_app *app;
	int listen_fd;
	char state_dir[512];
	struct dp_snapshot *current;
	uint64_t generation;
	uint8_t *reply_buf;
	struct dp_local_connection connections[BB_LOCAL_CONNECTIONS_MAX];
};

__attribute__((warn_unused_result)) int dp_service_init(struct dp_service *service,
                                                        struct dp_app *app,
                                                        const char *socket_path,
                                                        const char *state_dir);
/* Loads the last snapshot from the state directory, if there is one. */
__attribute__((warn_unused_result)) int dp_service_load_snapshot(struct dp_service *service);
/* One round: socket I/O (waiting up to timeout_ms), requests, replies from workers. */
void dp_service_poll(struct dp_service *service, int timeout_ms);
void dp_service_close(struct dp_service *service);

#endif
