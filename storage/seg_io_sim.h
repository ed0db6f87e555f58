/*
 * A deterministic stand-in for io_uring and the disk, for tests. Files live
 * in memory twice: what the process sees, and what would survive a power
 * cut (updated only by a completed fdatasync). Faults: fail operation N with
 * an errno, hold operation N's completion back until released, short
 * writes, completions in a seeded random order, no space for new segments,
 * and a crash that keeps the durable image plus a random part of everything
 * written since, with a garbled sector now and then, cuts background
 * operations off half done (a segment created but not preallocated, unlinked
 * before its directory fsync) and keeps or loses each name change not yet
 * made durable by a directory fsync.
 */
#ifndef BB_SEG_IO_SIM_H
#define BB_SEG_IO_SIM_H

#include <stdbool.h>
#include <stdint.h>

#include "seg_io.h"

struct seg_io_sim_faults {
	uint64_t seed;
	uint64_t fail_op; /* 1-based number of the background operation to fail (a write,
	                   * fsync, segment creation or removal, checkpoint); 0: none */
	int fail_errno;   /* EIO or ENOSPC */
	uint64_t hold_op; /* 1-based number of the operation that does not complete
	                   * until seg_io_sim_release; 0: none */
	uint32_t short_write_percent;
	bool reorder;
	bool no_space_for_new_segments;
};

struct seg_io_sim_stats {
	uint64_t writes;
	uint64_t fsyncs;
	uint64_t short_writes;
	uint64_t reads; /* synchronous reads (seg_read from disk) */
	/* Calls outside submit and reap: the open, recovery, close and reads make
	 * them; a worker's loop (append, commit, poll, release) must not. */
	uint64_t sync_calls;
	uint64_t creates; /* background operations completed */
	uint64_t removes;
	uint64_t metas;
	uint64_t ops;              /* operations submitted (what fail_op and hold_op count) */
	uint8_t failed_kind;       /* the enum seg_io_kind of the operation failed; 0: none */
	uint64_t cut_ops[7];       /* by enum seg_io_kind: cut off by a crash, half done */
	uint64_t async_reads;      /* reads through submit and reap (seg_read_submit) */
	uint64_t names_restored;   /* unlinked without a directory fsync, back after a crash */
	uint64_t names_lost;       /* created without a directory fsync, gone after a crash */
};

struct seg_io *seg_io_sim_create(const struct seg_io_sim_faults *faults);
void seg_io_sim_set_faults(struct seg_io *io, const struct seg_io_sim_faults *faults);
/* Lets the held operation complete at the next reap. */
void seg_io_sim_release(struct seg_io *io);
struct seg_io_sim_stats seg_io_sim_stats(struct seg_io *io);
/* Power cut: drops what is in flight, keeps durable bytes plus a random part of the rest. */
void seg_io_sim_crash(struct seg_io *io);
/* The checkpoint file's bytes and length (-ENOENT when none), for corruption tests. */
uint8_t *seg_io_sim_meta_bytes(struct seg_io *io, long *length_out);
/* Direct access to a file's bytes (as the process sees them), for corruption tests. */
uint8_t *seg_io_sim_file_bytes(struct seg_io *io, const char *path, uint64_t *size_out);

#endif
