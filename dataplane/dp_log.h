/*
 * A worker's segment log as its SQS engine sees it (struct sqs_log_ops): records appended
 * during a loop pass are committed once at its end (one write linked to one fdatasync),
 * completions are reaped without waiting, and a released record is released in the log
 * only once everything appended before the release is durable - compaction writes a
 * message again and lets its old copy go, and the old copy must not go first. At start
 * the log is replayed into the engine (dp_log_open). No DPDK here.
 */
#ifndef BB_DP_LOG_H
#define BB_DP_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dp_snapshot.h"
#include "seglog.h"
#include "sqs.h"

/* Releases waiting for durability: enough for every record of the commits in flight. */
#define DP_LOG_RELEASES_MAX (1u << 18)
/*
 * Commit buffers of a worker's log (storage's commits_in_flight_max). One is always kept
 * for the open batch: with every buffer in flight an append has nowhere to go and a send
 * would be refused; instead the pass's records wait in the open batch and go out together
 * when a commit completes (group commit under load).
 */
#define DP_LOG_BATCHES 8u
/*
 * When a pass commits (group commit): at once when no commit is in flight (an idle log
 * answers in one fdatasync); while one is, only once the open batch holds this much, else
 * the pass's records wait in it for the commit in flight to finish. Committing every pass
 * put one RX burst (32 records) in each commit: seven small commits in flight whose
 * fdatasyncs the filesystem serves one journal commit after another, each 2-3 times slower
 * than one commit of them all (perf/RESULTS.md, "Durable sends: where the time went"). At
 * this size (about the storage benchmark's 512 records of 256 bytes a commit, which
 * reach 1 M records/s with 8 in flight) commits overlap again under a heavy load.
 */
#define DP_LOG_OVERLAP_BYTES_MIN (128u << 10)
/*
 * Compaction: while the log's segments take more than twice the bytes its messages keep
 * live (sqs_log_live_bytes) plus DP_LOG_SLACK_SEGMENTS, each pass writes up to
 * DP_LOG_RELOG_PER_PASS messages of the oldest segment again, so it can go. Segments leave
 * the disk oldest first: without this, a queue's few messages nobody receives would keep
 * every later segment on disk however dead (the disk fills while almost nothing is live),
 * and recovery would read all of it. With it the log takes at most about twice what is live
 * and a few segments, each byte is written at most about twice, and recovery reads no more.
 */
#define DP_LOG_RELOG_PER_PASS  64u
#define DP_LOG_SLACK_SEGMENTS  3u

struct dp_log_release {
	uint64_t position;
	uint64_t after_sequence; /* released once the durable sequence reaches it */
};

struct dp_log_counters {
	uint64_t appends_refused;   /* a record the log did not take (full, no space, stopped) */
	uint64_t releases_leaked;   /* the release ring was full: kept live until a restart */
	uint64_t messages_relogged; /* compaction */
	uint64_t messages_recovered;
	uint64_t records_recovered;
	uint64_t commits;           /* submitted by dp_log_pass (one write + one fdatasync) */
	uint64_t records_committed; /* records those commits carried */
};

struct dp_log {
	struct seg_log *seg; /* NULL until open, and with durability memory */
	uint8_t *record_buf; /* SQS_RECORD_BYTES_MAX */
	struct dp_log_release *releases;
	uint32_t release_head, release_count;
	bool dirty; /* appended since the last commit */
	uint64_t committed_sequence; /* the last record a commit of dp_log_pass carried */
	struct dp_log_counters counters;
};

struct dp_log_open_options {
	const char *dir;
	uint32_t worker_index;
	uint64_t segment_bytes;
	struct sqs_engine *engine; /* its queues opened from snapshot already */
	const struct dp_snapshot *snapshot; /* NULL: none yet, records of unknown queues kept */
	uint64_t now_ms;
	struct seg_io *io;              /* NULL: io_uring; tests pass the simulator */
	const char *durable_marks_path; /* NULL: none; else seg_options' (power-loss tests) */
	/* Records of the other kinds (topics, buses: dp_fanout.c), in log order; returns 0 or
	 * a -errno refusal with why filled. NULL: such a record is damage. */
	int (*on_other_record)(void *ctx, const struct seg_record_view *view, char *why,
	                       size_t why_bytes);
	void *other_ctx;
};

/* Allocates the buffers; the log itself is opened by dp_log_open. 0 or -ENOMEM. */
__attribute__((warn_unused_result)) int dp_log_init(struct dp_log *log);
/* The engine's view of this log (valid from dp_log_init on). */
struct sqs_log_ops dp_log_ops(struct dp_log *log);
/*
 * Appends a record of another resource kind (a topic's or bus's; `type` says which) to the
 * open batch: 0 with its sequence and position, or seg_append's -errno (counted). The log
 * is open (dp_log_open).
 */
__attribute__((warn_unused_result)) int dp_log_append(struct dp_log *log, uint16_t type,
                                                      const uint8_t *payload, uint32_t bytes,
                                                      uint64_t *sequence_out,
                                                      uint64_t *position_out);
/* Why the log refused a record, for the client (seg_append's -errno). */
const char *dp_log_refusal(int error);
/* Releases a record once everything appended before this call is durable. */
void dp_log_release(struct dp_log *log, uint64_t position);
/* Compaction's rule (above): a log of disk_bytes whose messages keep live_bytes live. */
bool dp_log_needs_compaction(uint64_t disk_bytes, uint64_t live_bytes, uint64_t segment_bytes);
/*
 * Opens (creating) the log in options->dir and replays it into the engine. 0, or -errno
 * with why filled: a damaged log (-EUCLEAN), messages of a queue another worker owns
 * (-EXDEV: the worker count changed), more messages than the engine holds (-ENOSPC).
 */
__attribute__((warn_unused_result)) int dp_log_open(struct dp_log *log,
                                                    const struct dp_log_open_options *options,
                                                    char *why, size_t why_bytes);
/*
 * Once per loop pass: commits what was appended when it is due (DP_LOG_OVERLAP_BYTES_MIN),
 * reaps completions, applies the releases now durable and compacts a little. Returns the durable sequence (every record
 * up to it is on disk); a failed write or fdatasync stops the log and returns -EIO.
 */
__attribute__((warn_unused_result)) int64_t dp_log_pass(struct dp_log *log,
                                                        struct sqs_engine *engine);
/*
 * At a clean stop, after the loop: commits what is open and waits (bounded) for every
 * commit in flight, so the answers held for them can still go. Returns the durable
 * sequence, or -EIO.
 */
__attribute__((warn_unused_result)) int64_t dp_log_drain(struct dp_log *log);
void dp_log_close(struct dp_log *log);

#endif
