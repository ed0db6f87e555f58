/*
 * EventBridge archives on a bus's owner worker: the bus's log is the archive. An event of
 * a bus with an archive (the snapshot's BB_SNAPSHOT_BUS_ARCHIVED) keeps its PUT record live
 * once its deliveries are done, instead of releasing it, for the bus's archive_days (0: for
 * ever), so the segments holding it stay on disk and a replay can read it back. The worker
 * remembers each kept record (position, bus, when its retention began) in a FIFO in the
 * order they were kept, and each pass releases the records at its head whose time is up or
 * whose bus no longer has an archive (or is gone). Records behind a head that is not due
 * wait for it. A kept record keeps its segment, and segments leave the disk oldest first:
 * it keeps every later segment of the worker's log, its queues' records included. So the
 * archive takes at most DP_ARCHIVE_LOG_SEGMENTS_MAX segments: past them, the kept records of
 * the oldest segment are released early (archive_evicted). Recovery keeps the PUT records it finds done (with their DONE) the same
 * way, so an archive outlives a restart. Nothing here allocates on the worker loop.
 */
#ifndef BB_DP_ARCHIVE_H
#define BB_DP_ARCHIVE_H

#include <stdbool.h>
#include <stdint.h>

#include "dp_snapshot.h"

#ifndef BB_TINY_LIMITS
#define DP_ARCHIVE_KEPT_MAX (1u << 18) /* archived events a worker keeps: 6 MiB of index */
#define DP_ARCHIVE_LOG_SEGMENTS_MAX 64u /* 4 GiB of log with the default 64 MiB segments */
#else
#define DP_ARCHIVE_KEPT_MAX 4u
#define DP_ARCHIVE_LOG_SEGMENTS_MAX 4u
#endif
#define DP_ARCHIVE_RELEASES_PER_PASS 64u
#define DP_ARCHIVE_DAY_MS            86400000ull

/* A PUT record kept for an archive. */
struct dp_archived {
	uint64_t position; /* in the worker's log */
	uint64_t bus_id;
	uint64_t kept_ms; /* when its retention began: the event's ingestion, or its DONE */
};

struct dp_archive {
	struct dp_archived *kept; /* DP_ARCHIVE_KEPT_MAX, a FIFO */
	uint32_t head, count; /* those kept since the last pass are the newest, not stamped */
};

struct dp_worker;

__attribute__((warn_unused_result)) int dp_archive_init(struct dp_archive *archive);
void dp_archive_free(struct dp_archive *archive);

/* Whether the bus (by id) of the snapshot has an archive. */
bool dp_archive_has(const struct dp_snapshot *snapshot, uint64_t bus_id);
/* Whether an event of this bus, whose retention began at kept_ms, is still kept at now_ms. */
bool dp_archive_keeps(const struct dp_snapshot *snapshot, uint64_t bus_id, uint64_t kept_ms,
                      uint64_t now_ms);

/* Keeps the record at position instead of releasing it; its retention begins at kept_ms, or
 * (DP_ARCHIVE_KEPT_NOW) at the next pass's time. A full FIFO releases its oldest record
 * early (counted in archive_evicted) to take this one. */
#define DP_ARCHIVE_KEPT_NOW UINT64_MAX
void dp_archive_keep(struct dp_worker *w, uint64_t bus_id, uint64_t position, uint64_t kept_ms);

/* Stamps what was kept since the last pass with now_ms, then releases what is due at the
 * head (its time is up, or its bus has no archive now, or the log holds more than
 * DP_ARCHIVE_LOG_SEGMENTS_MAX segments and it is in the oldest), up to
 * DP_ARCHIVE_RELEASES_PER_PASS. */
void dp_archive_pass(struct dp_worker *w, const struct dp_snapshot *snapshot, uint64_t now_ms);

#endif
