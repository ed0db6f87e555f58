/*
 * The load loop shared by busbar-bench's peers (RabbitMQ, NATS JetStream, Redis):
 * the same window, durations and open-loop pacing as the busbard generator, over
 * a client library instead of wire frames. A driver submits one operation per
 * token and reports completions by token; this loop decides when each token goes
 * out, matches completions to tokens, keeps the histogram and prints the run's
 * JSON line (bench_result_print) and progress lines.
 *
 * Closed loop: `window` lanes, each submitting its next operation when the last
 * completes. Open loop (send only): token i is due at start + i/rate and its
 * latency is counted from that intended time, so a stalled server shows in the
 * percentiles rather than lowering the rate (coordinated omission).
 */
#ifndef BB_BENCH_PEER_H
#define BB_BENCH_PEER_H

#include <stdbool.h>
#include <stdint.h>

#include "bench_cli.h"

/* Operations in flight at once in open loop (as in closed loop, at most the largest window). */
#define BENCH_PEER_IN_FLIGHT_MAX BENCH_WINDOW_MAX
/* Completions a driver may hand over from one poll: all in flight (one multiple ack). */
#define BENCH_PEER_DONE_MAX BENCH_PEER_IN_FLIGHT_MAX
/* How long a poll may block when nothing is due: bounds the progress lines' lateness. */
#define BENCH_PEER_POLL_NS 10000000ull

struct bench_peer_done {
	uint64_t token;
	bool ok;         /* false: the peer refused or failed the operation */
	bool cycle_done; /* cycle: the lane's last step (the ack) completed with this */
};

struct bench_peer_driver {
	void *state;
	/* Sends the lane's next operation (for send: one durable publish of body `body`);
	 * returns 0 or -errno (the run stops). The completion must carry `token`. */
	int (*submit)(void *state, uint64_t token, uint32_t lane, uint32_t body);
	/* Waits at most timeout_ns for completions; writes up to max into done and returns
	 * how many, or -errno when the connection failed. */
	int (*poll)(void *state, uint64_t timeout_ns, struct bench_peer_done *done, uint32_t max);
	/* The clock, in ns; NULL: CLOCK_MONOTONIC (a test passes a stepped one). */
	uint64_t (*now_ns)(void *state);
};

/* Runs the load the options describe against the driver and prints the JSON line.
 * Returns 0, or 1 when the connection failed (said on stderr). */
int bench_peer_run(const struct bench_cli *cli, const struct bench_peer_driver *d);
/* The same run without the printing: the counters into out; 0 or the driver's -errno. */
__attribute__((warn_unused_result)) int bench_peer_measure(const struct bench_cli *cli,
                                                           const struct bench_peer_driver *d,
                                                           struct bench_result *out);

uint64_t bench_peer_now_ns(void);
/* Waits up to timeout_ns (to the nanosecond, unlike the clients' millisecond waits, so an
 * open loop sleeps until its next operation is due instead of spinning) for fd to be
 * readable: 1 readable, 0 not yet, -errno. */
int bench_peer_wait_fd(int fd, uint64_t timeout_ns);

/* RabbitMQ quorum queues (bench_rabbitmq.c) and NATS JetStream (bench_nats.c); each is
 * built when its Debian client library is installed (perf/setup_peers.sh). */
int bench_rabbitmq_run(struct bench_cli *cli);
int bench_nats_run(struct bench_cli *cli);

#endif
