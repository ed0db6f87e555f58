/*
 * The one small interface all of the log's I/O goes through, so that a
 * deterministic simulator (seg_io_sim.c) can stand in for io_uring
 * (seg_io_uring.c) in tests. Synchronous calls are for opening, recovery,
 * closing and reads; everything a worker's loop needs is asynchronous (submit,
 * reap completions later): commits (a write linked to an fdatasync), creating
 * the next segment, removing a segment, replacing the checkpoint file.
 */
#ifndef BB_SEG_IO_H
#define BB_SEG_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum seg_io_kind {
	SEG_IO_WRITE = 1,
	SEG_IO_FSYNC = 2,
	SEG_IO_CREATE = 3,
	SEG_IO_REMOVE = 4,
	SEG_IO_META = 5,
	SEG_IO_READ = 6,
};

struct seg_io_completion {
	uint64_t tag;   /* as submitted */
	uint8_t kind;   /* enum seg_io_kind */
	int32_t result; /* bytes written, 0, or -errno (-ECANCELED: the write before it failed) */
};

struct seg_io;

struct seg_io_ops {
	/* Opens (creating and preallocating to `bytes` of zeros when create) a segment file. */
	int (*open_file)(struct seg_io *io, const char *path, bool create, uint64_t bytes);
	int (*close_file)(struct seg_io *io, int file);
	int (*remove_file)(struct seg_io *io, const char *path);
	/* Segment ids present in dir (files named like seg_segment_path), up to capacity. */
	int (*list_segments)(struct seg_io *io, const char *dir, uint32_t *ids, uint32_t capacity);
	int (*sync_dir)(struct seg_io *io, const char *dir);
	/* Reads up to length bytes; returns bytes read or -errno. */
	long (*read)(struct seg_io *io, int file, void *buf, size_t length, uint64_t offset);
	/* Maps a whole file read-only for recovery's scan (NULL with -errno in *error); its
	 * data (next_data) is read in at once, its zeros only if they are touched. */
	const uint8_t *(*map)(struct seg_io *io, int file, uint64_t bytes, int *error);
	void (*unmap)(struct seg_io *io, const uint8_t *mapped, uint64_t bytes);
	/*
	 * The first range at or after `offset` (below `size`) that may hold nonzero bytes,
	 * as [*start, *end); false when the rest reads as zeros. Recovery scans only these:
	 * a segment's preallocated tail is never read or scanned. An answer of
	 * [offset, size) is always correct, only slower.
	 */
	bool (*next_data)(struct seg_io *io, int file, uint64_t offset, uint64_t size,
	                  uint64_t *start, uint64_t *end);
	/* Asks for a file to be read ahead in the background (a hint; may do nothing). */
	void (*prefetch)(struct seg_io *io, int file, uint64_t bytes);
	/* Reads a small named file in dir (the checkpoint, see submit_meta): the length
	 * read, -ENOENT when there is none, or -errno. */
	long (*read_meta)(struct seg_io *io, const char *dir, const char *name, void *buf,
	                  size_t capacity);
	/* Zeroes [offset, offset + length) and makes it durable (recovery's truncation). */
	int (*zero)(struct seg_io *io, int file, uint64_t offset, uint64_t length);
	/* Makes what was written to a file durable now (fdatasync): recovery, for every
	 * segment it keeps. */
	int (*sync_file)(struct seg_io *io, int file);
	/* Queues a write of buf (registered buffer index buffer_index) and, with sync, an
	 * fdatasync linked after it. Returns 0 or -errno (-EBUSY: no room, reap first). */
	int (*submit_write)(struct seg_io *io, int file, uint32_t buffer_index, const void *buf,
	                    uint32_t length, uint64_t offset, bool sync, uint64_t tag);
	/*
	 * Starts creating a segment in the background: open, preallocate `bytes` of
	 * zeros, fsync it and its directory. Returns the file handle it will have,
	 * or -errno. One SEG_IO_CREATE completion follows (result 0 or -errno); the
	 * handle is usable only after it. One creation at a time.
	 */
	int (*submit_create)(struct seg_io *io, const char *dir, const char *path, uint64_t bytes,
	                     uint64_t tag);
	/*
	 * Starts removing a segment in the background: closes its handle, unlinks
	 * path, fsyncs the directory, in that order. One SEG_IO_REMOVE completion
	 * follows (0, or the first step's -errno). One removal at a time.
	 */
	int (*submit_remove)(struct seg_io *io, const char *dir, const char *path, int file,
	                     uint64_t tag);
	/*
	 * Starts replacing the small named file in dir atomically and durably
	 * (temporary file, write, fsync, rename, directory fsync). bytes must stay
	 * unchanged until its SEG_IO_META completion. One at a time.
	 */
	int (*submit_meta)(struct seg_io *io, const char *dir, const char *name, const void *bytes,
	                   uint32_t length, uint64_t tag);
	/* Queues a read of up to length bytes at offset into buf, which must stay valid until
	 * its SEG_IO_READ completion (bytes read, or -errno). */
	int (*submit_read)(struct seg_io *io, int file, void *buf, uint32_t length,
	                   uint64_t offset, uint64_t tag);
	/* Collects finished operations; waits for at least one when wait. */
	int (*reap)(struct seg_io *io, struct seg_io_completion *out, uint32_t capacity, bool wait);
	/* Registers the commit buffers (io_uring fixed buffers); optional. */
	int (*register_buffers)(struct seg_io *io, void *const *buffers, uint32_t count,
	                        uint32_t buffer_bytes);
	void (*destroy)(struct seg_io *io);
};

struct seg_io {
	const struct seg_io_ops *ops;
};

/* io_uring with `entries` submission slots. NULL with *error_out on failure. */
struct seg_io *seg_io_uring_create(uint32_t entries, int *error_out);

#endif
