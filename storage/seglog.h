/*
 * The segment log: an append-only log per owner (one per dataplane lcore,
 * its own io_uring, nothing shared) that reports a record durable only after
 * its write and fdatasync completed. No DPDK dependency. See
 * docs/storage.md for the on-disk format and the recovery rules.
 */
#ifndef BB_SEGLOG_H
#define BB_SEGLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "seg_io.h"

#define SEG_PAYLOAD_BYTES_MAX   ((1u << 20) + 4096u) /* a 1 MiB message with its fields */
#define SEG_RECORD_HEADER_BYTES 32u

struct seg_log;

/* A record as recovery and readers see it. payload points into a caller or log buffer. */
struct seg_record_view {
	uint64_t sequence;
	uint64_t position; /* where it starts: segment_id * segment_bytes + offset */
	uint32_t segment_id;
	uint16_t type;
	uint32_t payload_bytes;
	const uint8_t *payload;
};

/* Called once per record, in order, while the log recovers. Nonzero stops recovery. */
typedef int (*seg_record_fn)(void *ctx, const struct seg_record_view *record);

struct seg_options {
	const char *dir;
	uint64_t segment_bytes;         /* default 64 MiB */
	uint32_t batch_bytes_max;       /* one commit; default 2 MiB (holds a 1 MiB record) */
	uint32_t commits_in_flight_max; /* default 8 (perf/RESULTS.md) */
	bool memory_only;               /* durability: memory — writes, never fdatasync */
	uint64_t cache_bytes;           /* recent records kept in memory for seg_read; 0: none */
	bool hugepages;    /* commit buffers from hugepages (libhugetlbfs) when there are some */
	struct seg_io *io; /* NULL: io_uring, owned by the log */
	seg_record_fn on_record; /* recovery callback, may be NULL */
	void *ctx;
	/*
	 * For power-loss tests (docs/storage.md): a file the log maps and keeps
	 * current with each segment's durable end as fdatasyncs complete, a store
	 * into shared memory per commit (no syscall), so it survives SIGKILL and
	 * tests/crash/powercut can cut the segments back to it. NULL: none.
	 */
	const char *durable_marks_path;
};

/*
 * Opens the log in dir, recovering what is there: records are replayed to
 * on_record, a torn tail is cut, and damage before the last acknowledged
 * record makes the open fail with -EUCLEAN and `why` naming file and offset.
 */
struct seg_log *seg_open(const struct seg_options *options, int *error_out, char *why,
                         size_t why_bytes);
/* Waits (bounded) for commits and removals in flight, removes the unused spare segment,
 * closes. May block (not for a worker's loop). */
void seg_close(struct seg_log *log);

/*
 * Adds a record to the open batch; never waits. Returns 0 with its sequence
 * and position; -EAGAIN when the batch is full and no commit slot is free, or
 * when the record needs the next segment and its creation in the background
 * has not finished (poll, then retry: on a worker, on the next pass);
 * -EMSGSIZE for a payload over SEG_PAYLOAD_BYTES_MAX; -EIO once the log has
 * stopped on an I/O error; -ENOSPC when the disk is full (the log stopped, or
 * the next segment could not be made: retried in the background, appending
 * goes on once there is space); -EMFILE when the record needs a new segment
 * and the log already keeps its most (SEG_SEGMENTS_MAX, 4,096): release
 * records or remove old segments, then retry; that refusal stops nothing,
 * what was taken before commits as usual.
 */
__attribute__((warn_unused_result)) int seg_append(struct seg_log *log, uint16_t type,
                                                   const void *payload, uint32_t payload_bytes,
                                                   uint64_t *sequence_out, uint64_t *position_out);
/* Submits the open batch as one write linked to one fdatasync; never waits. 0, -EAGAIN (no
 * slot), -EIO. */
__attribute__((warn_unused_result)) int seg_commit(struct seg_log *log);
/*
 * Reaps completions and drives the background work (segment creation and
 * removals, the checkpoint file); with wait, waits in io_uring_enter for one
 * when anything is in flight. Without wait it never blocks. 0, or
 * -EIO/-ENOSPC once stopped.
 */
__attribute__((warn_unused_result)) int seg_poll(struct seg_log *log, bool wait);
/* Every record with a sequence up to this one is durable (0: none yet). */
uint64_t seg_durable_sequence(const struct seg_log *log);
uint64_t seg_next_sequence(const struct seg_log *log);
/* Commits submitted and not yet complete. */
uint32_t seg_commits_in_flight(const struct seg_log *log);
/* Bytes framed into the open batch, not yet submitted (0: none). */
uint32_t seg_open_batch_bytes(const struct seg_log *log);

/*
 * Reads the record at position into buf (capacity bytes). Returns 0, -ENOENT
 * past the end, -EUCLEAN when the bytes there do not frame a valid record,
 * -ENOBUFS when buf is too small.
 */
__attribute__((warn_unused_result)) int seg_read(struct seg_log *log, uint64_t position,
                                                 uint8_t *buf, size_t capacity,
                                                 struct seg_record_view *out);
/*
 * The same read without waiting, for a worker's loop: starts reading the
 * record at position into buf (capacity bytes, valid and untouched until the
 * read is reaped). 0 when started (a record in the cache is done at once),
 * -EAGAIN when SEG_READS_MAX reads are under way (reap, then retry), -ENOENT
 * for a position outside the log, -ENOBUFS for a capacity under a header,
 * or the -errno that stopped the log. seg_poll completes them.
 */
#define SEG_READS_MAX 16u
__attribute__((warn_unused_result)) int seg_read_submit(struct seg_log *log, uint64_t position,
                                                        uint8_t *buf, size_t capacity,
                                                        uint64_t tag);

/* A read seg_read_submit started, finished. */
struct seg_read_done {
	uint64_t tag; /* as submitted */
	int result;   /* 0, or what seg_read would return: -ENOENT, -EUCLEAN, -ENOBUFS, -EIO */
	struct seg_record_view record; /* when 0; its payload points into the caller's buf */
};
/* Collects finished reads (any order), up to capacity; returns how many. */
uint32_t seg_read_reap(struct seg_log *log, struct seg_read_done *out, uint32_t capacity);

/* The position after a record, for iteration with seg_read. */
uint64_t seg_next_position(const struct seg_log *log, const struct seg_record_view *record);

/*
 * Removes whole segments that end at or before position (retention). Like
 * seg_release and seg_enforce_retention it never waits: the segments leave
 * the log at once (reads say -ENOENT) and the disk in the background, oldest
 * first, each unlink followed by a directory fsync (seg_poll drives them; a
 * failure stops the log with -EIO). 0 or the -errno that stopped the log.
 */
__attribute__((warn_unused_result)) int seg_remove_before(struct seg_log *log, uint64_t position);

/*
 * Live accounting. Every record appended or recovered counts as live until
 * the caller releases it (deleted, or superseded by a later state record).
 * The oldest segments with nothing live left are removed, in order, so
 * recovery always finds a contiguous run of segments.
 */
__attribute__((warn_unused_result)) int seg_release(struct seg_log *log, uint64_t position);

/* The oldest segment and what keeps it: compaction re-appends these few live records. */
struct seg_pin {
	uint32_t segment_id;
	uint32_t live_records;
	uint64_t first_position; /* the segment spans [first_position, end_position) */
	uint64_t end_position;
};
/* False when the oldest segment is the one being written (nothing to compact). */
bool seg_oldest_pin(const struct seg_log *log, struct seg_pin *out);
/*
 * Makes the record at (position, sequence), which the caller appended with
 * what it needs to rebuild its state up to there, a checkpoint: once that
 * record is durable, recovery replays from it instead of from the oldest
 * segment (segments before it are opened, not scanned; their records stay
 * readable and releasable). If the checkpoint's segment is gone when the log
 * is opened, recovery replays everything retained, so callers rebuild from
 * any record. The newest checkpoint wins.
 */
__attribute__((warn_unused_result)) int seg_checkpoint(struct seg_log *log, uint64_t position,
                                                       uint64_t sequence);

/*
 * Retention for logs whose records expire rather than get released (streams,
 * archives): removes the oldest segments, live records or not, while the log
 * takes more than max_bytes of disk, or while the oldest was sealed (appends
 * moved past it) more than max_age_ms before now_ms (wall clock, ms). The
 * segment being written is never removed; 0 disables a bound. Segments found
 * at recovery count as sealed then.
 */
__attribute__((warn_unused_result)) int seg_enforce_retention(struct seg_log *log,
                                                              uint64_t max_bytes,
                                                              uint64_t max_age_ms, uint64_t now_ms);

/* Segments on disk, the one being written included. */
uint32_t seg_segment_count(const struct seg_log *log);
/* The size of each segment file (seg_options' segment_bytes, or its default). */
uint64_t seg_segment_bytes(const struct seg_log *log);

#endif
