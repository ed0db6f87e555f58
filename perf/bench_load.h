/*
 * The load model of busbar-bench, apart from any transport: it decides which
 * request goes out when (closed loop: a window of requests in flight; open
 * loop: a fixed offered rate), writes each request's wire bytes where the
 * transport asks, matches replies to requests by request id, resends what
 * went unanswered, and keeps the counters and latency histograms. The DPDK
 * generator (bench_dpdk.c) and the kernel UDP client (bench_udp.c) both drive
 * it; the unit test drives it with an in-memory echo.
 *
 * Time is whatever nanosecond clock the caller passes in, so the tests can step it.
 */
#ifndef BB_BENCH_LOAD_H
#define BB_BENCH_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bench_hist.h"
#include "bb_limits.h"
#include "bb_mac.h"

/* Requests a generator lcore may have in flight: request id modulo this names the slot. */
#define BENCH_SLOTS      (1u << 16)
#define BENCH_WINDOW_MAX 4096u
/* Bodies are sized so that a request, and the reply of a receive, fit one 1500-byte frame. */
#define BENCH_BODY_BYTES_MAX 1024u
#define BENCH_BODIES_MAX     4096u /* lines kept from a body file */
/* PutEvents entries: the corpus line is the Detail, under this Source and DetailType. */
#define BENCH_EVENT_SOURCE      "busbar.bench"
#define BENCH_EVENT_DETAIL_TYPE "citylots"
#define BENCH_REQUEST_BYTES_MAX                                                                   \
	(BB_WIRE_HEADER_BYTES + 3 * 6u + BB_QUEUE_NAME_BYTES_MAX + BENCH_BODY_BYTES_MAX + 64u)
/* The largest request, PutEvents: bus name, entry, source, detail type and detail fields. */
_Static_assert(5 * 6u + sizeof(BENCH_EVENT_SOURCE) + sizeof(BENCH_EVENT_DETAIL_TYPE) <=
                   3 * 6u + 64u,
               "a PutEvents request of the largest body fits BENCH_REQUEST_BYTES_MAX");
/*
 * The key a signed run uses (--signed): a throwaway busbard's, which `busbar-bench scenario`
 * gives it in its snapshot (system busbard-signed); never a real credential.
 */
#define BENCH_KEY_ID     1u
#define BENCH_KEY_SECRET "busbar-bench-throwaway-key-0000000000000"
_Static_assert(sizeof(BENCH_KEY_SECRET) == BB_KEY_SECRET_BYTES + 1, "a key's secret size");
#define BENCH_RESEND_AFTER_NS 500000000ull /* a request unanswered this long goes out again */
#define BENCH_RESEND_SCAN_NS  100000000ull
#define BENCH_DRAIN_NS        2000000000ull /* after the run, time to wait for late replies */
#define BENCH_PROGRESS_NS     1000000000ull
/* A run whose answers are more than this share refusals (errors, ServiceUnavailable) measured
 * something else than the operation (a full queue answers OverLimit fast): it has no rate. */
#define BENCH_REFUSALS_PERCENT_MAX 1u

_Static_assert(BENCH_WINDOW_MAX <= BENCH_SLOTS / 4, "ids in flight never reuse a busy slot");
_Static_assert((BENCH_SLOTS & (BENCH_SLOTS - 1)) == 0, "slot = request id & (SLOTS - 1)");

enum bench_op {
	BENCH_OP_PING,
	BENCH_OP_SEND,
	BENCH_OP_RECEIVE,
	BENCH_OP_CYCLE, /* SendMessage, ReceiveMessage, DeleteMessage of what was received */
	BENCH_OP_PUBLISH,
	BENCH_OP_PUT_EVENTS,
};

struct bench_bodies {
	uint32_t count;
	uint32_t bytes[BENCH_BODIES_MAX];
	uint8_t *data[BENCH_BODIES_MAX];
};

struct bench_load_options {
	enum bench_op op;
	const char *queue;                 /* every op but ping */
	uint32_t window;                   /* closed loop */
	double rate_per_s;                 /* > 0: open loop at this offered rate */
	uint64_t warmup_ns;                /* run, but count nothing */
	uint64_t duration_ns;              /* counted part, at most */
	uint64_t requests_max;             /* > 0: the counted part ends after this many replies */
	/* send: closed-loop lanes beside the senders that receive a message and delete it, so
	 * the queue does not fill; their requests are not replies, their deletes `consumed`. */
	uint32_t consumers;
	bool baseline;                     /* an echo answers: the request itself comes back */
	uint64_t client_id;                /* never 0: busbard deduplicates resends by it */
	/* Non-NULL (the caller's, one per generator lcore): sign each request with BENCH_KEY_ID
	 * (docs/protocol.md, Authentication) and take a reply only when it is authentic, as a
	 * client must (its MAC verifies, or it is an unsigned refusal); else it is an error. */
	struct bb_mac *mac;
	const struct bench_bodies *bodies; /* send, cycle, publish, put-events */
	FILE *progress;                    /* a JSON line per second, or NULL */
	const char *progress_label;        /* names the run in those lines */
};

struct bench_result {
	uint64_t sent; /* requests, resends not included */
	uint64_t resends;
	uint64_t replies; /* acknowledged (status OK) within the counted part */
	uint64_t cycles;  /* completed send-receive-delete cycles within it */
	uint64_t consumed; /* messages the consumer lanes deleted within it */
	uint64_t errors;  /* replies with a status other than OK, or not a reply to the request */
	uint64_t duplicates; /* second replies to one request (after a resend) */
	uint64_t unanswered; /* still without a reply when the drain ended */
	uint64_t empty_receives;
	uint64_t cookie_retries; /* receives answered RetryWithCookie: sent again with it */
	uint64_t unavailable;    /* answered ServiceUnavailable: refused for now, resent later */
	double seconds;
	struct bench_hist latency_ns;
};

struct bench_slot {
	uint64_t request_id;
	uint64_t intended_ns; /* open loop: when it should have gone; closed: when it went */
	uint64_t sent_ns;
	uint32_t lane;
	uint8_t opcode;
	bool busy;
	bool laned;    /* its answer makes its lane ready again (closed loop, consumers) */
	bool consumer; /* a consumer lane's receive or delete */
};

struct bench_lane {
	uint8_t next_opcode;
	bool consumer;
	char handle[BB_RECEIPT_HANDLE_BYTES];
};

struct bench_load {
	struct bench_load_options o;
	uint64_t measure_ns, stop_ns, drain_end_ns;
	uint64_t next_id;
	uint64_t issued_counted; /* requests issued in the counted part */
	uint64_t answered_counted; /* of those, answered (acknowledged or refused) */
	double next_intended_ns; /* open loop */
	double period_ns;
	uint32_t in_flight;
	uint32_t ready[BENCH_WINDOW_MAX]; /* closed loop: lanes waiting to send, a FIFO */
	uint32_t ready_head, ready_count;
	uint64_t resend_scan_at_ns;
	uint32_t resend_cursor; /* BENCH_SLOTS when no scan is under way */
	uint64_t progress_at_ns;
	uint64_t progress_replies;
	uint32_t progress_second;
	uint64_t cookie; /* busbard's return-routability cookie for this source (protocol.md) */
	bool cookie_known;
	struct bench_lane lanes[BENCH_WINDOW_MAX];
	struct bench_slot slots[BENCH_SLOTS];
	struct bench_result result;
	struct bench_hist second_ns; /* this second's latencies, for the progress line */
};

/* Checks the options; -EINVAL with a reason on stderr. Does not allocate. */
__attribute__((warn_unused_result)) int bench_load_init(struct bench_load *l,
                                                        const struct bench_load_options *o);
void bench_load_start(struct bench_load *l, uint64_t now_ns);
/*
 * Writes the next request due at now_ns into out (BENCH_REQUEST_BYTES_MAX bytes) and
 * returns its length, or 0 when nothing is due. Resends come before new requests.
 */
size_t bench_load_next(struct bench_load *l, uint64_t now_ns, uint8_t *out);
/* Takes one datagram that arrived; anything that is not a reply to us is ignored. */
void bench_load_reply(struct bench_load *l, const uint8_t *bytes, size_t length, uint64_t now_ns);
/* Prints a progress line when a second has passed; cheap enough to call every loop pass. */
void bench_load_tick(struct bench_load *l, uint64_t now_ns);
/* True once the run and its drain are over. */
bool bench_load_done(const struct bench_load *l, uint64_t now_ns);
/* The counters at the end (unanswered is filled here). */
void bench_load_finish(struct bench_load *l, struct bench_result *out);
void bench_result_merge(struct bench_result *into, const struct bench_result *from);
/* True when refusals are over BENCH_REFUSALS_PERCENT_MAX of the answers: no rate to report. */
bool bench_result_refused(const struct bench_result *r);

/* Names an op for the command line and the JSON; bench_op_parse returns -EINVAL if unknown. */
const char *bench_op_name(enum bench_op op);
/* send, cycle, publish and put-events carry a body (put-events: as its Detail). */
bool bench_op_has_body(enum bench_op op);
__attribute__((warn_unused_result)) int bench_op_parse(const char *name, enum bench_op *out);

/* Bodies: `bytes` of a generated pattern, or one per line of a file (a JSON-lines corpus). */
__attribute__((warn_unused_result)) int bench_bodies_generate(struct bench_bodies *b,
                                                              uint32_t bytes);
__attribute__((warn_unused_result)) int bench_bodies_load(struct bench_bodies *b,
                                                          const char *path);
void bench_bodies_free(struct bench_bodies *b);

/* What describes a run in its JSON line besides the figures. */
struct bench_labels {
	const char *system;    /* busbard, testpmd-5tswap, kernel-udp-echo, ... */
	const char *transport; /* memif, af_packet, tap-kernel-udp, loopback-kernel-udp */
	bool baseline;
	const char *scenario; /* or NULL */
	uint32_t body_bytes;
	uint32_t queues;
};

/*
 * The final JSON line of a run. When refusals dominate (bench_result_refused) the line has
 * "failed", null rates, and -EPROTO is returned: the program then exits BENCH_EXIT_REFUSED.
 */
#define BENCH_EXIT_REFUSED 4
__attribute__((warn_unused_result)) int bench_result_print(FILE *out,
                                                           const struct bench_labels *labels,
                                                           const struct bench_load_options *o,
                                                           const struct bench_result *r);

#endif
