/*
 * The segment log's write path (see seglog.h). Invariants:
 * - records are framed into the open batch; a batch never spans segments;
 * - a batch is submitted as one write linked to one fdatasync, and at most
 *   commits_in_flight_max batches are in flight;
 * - the durable watermark advances only in submission order, past batches
 *   whose write and fdatasync both completed: fdatasync covers only writes
 *   that had completed before it, so a later batch's sync says nothing
 *   about an earlier batch still being written;
 * - a failed fdatasync (or write) stops the log for good: no retry, since
 *   after a failed fsync the page cache state is unknown; the process
 *   recovers from disk;
 * - nothing seg_append, seg_commit, seg_poll(log, false), seg_release,
 *   seg_remove_before or seg_enforce_retention calls waits or makes a syscall
 *   other than io_uring's: the next segment is created in the background
 *   (seg_append says -EAGAIN until it is ready), segments are removed and the
 *   checkpoint file replaced by chains in the ring;
 * - segments leave the disk oldest first, one at a time, each removal durable
 *   (directory fsync) before the next starts, so a crash leaves a contiguous
 *   run of segments for recovery.
 * All memory is allocated in seg_open.
 */
#include "seglog.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <hugetlbfs.h>

#include "bb_endian.h"
#include "seg_int.h"

#define DEFAULT_SEGMENT_BYTES (64ull << 20)
#define DEFAULT_BATCH_BYTES   (2u << 20)
#define DEFAULT_COMMITS       8u
#define REAP_BATCH            64u
#define NIL                   UINT32_MAX
/* Room in the ring for all that can be in flight at once: a write and an fdatasync per
 * commit, the longest chain of each background operation (a creation and its clean-up
 * 8 steps, a removal 4, a checkpoint 6) and the reads. */
#define RING_ENTRIES (2 * COMMITS_MAX + 8 + 4 + 6 + SEG_READS_MAX)

static bool fail(struct seg_log *log, int error)
{
	if (log->failed == 0)
		log->failed = error;
	return false;
}

/* Creates the first segment of an empty log, synchronously: seg_open may block. */
static int open_segment(struct seg_log *log, uint32_t id, bool create)
{
	char path[SEG_PATH_BYTES + 32];
	seg_segment_path(log->dir, id, path, sizeof(path));
	int file = log->io->ops->open_file(log->io, path, create, log->options.segment_bytes);
	if (file < 0)
		return file;
	log->files.handles[id % SEG_SEGMENTS_MAX] = file;
	/* A new file's name is durable only once the directory is synced. */
	return create ? log->io->ops->sync_dir(log->io, log->dir) : 0;
}

#define SPARE_TAG (UINT64_MAX >> 3) /* completions of the background creation */

/* Starts creating the segment after the current one, unless one is on its way. */
static void prepare_spare(struct seg_log *log)
{
	uint32_t id = log->files.current_id + 1;
	/* Its handle would take the slot of the oldest segment still on disk. */
	if (log->spare_state != SPARE_NONE || id - log->files.disk_first_id >= SEG_SEGMENTS_MAX)
		return;
	char path[SEG_PATH_BYTES + 32];
	seg_segment_path(log->dir, id, path, sizeof(path));
	int file = log->io->ops->submit_create(log->io, log->dir, path, log->options.segment_bytes,
	                                       SPARE_TAG);
	if (file < 0 && file != -EBUSY)
		log->spare_error = file;
	if (file < 0)
		return;
	log->spare_file = file;
	log->spare_state = SPARE_PREPARING;
}

static uint64_t wall_ms(void)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	return (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
}

static void switch_segment(struct seg_log *log, uint32_t id)
{
	log->files.sealed_ms[log->files.current_id % SEG_SEGMENTS_MAX] = wall_ms();
	log->files.current_id = id;
	log->write_offset = 0;
	log->segment_first_sequence = log->next_sequence;
	prepare_spare(log);
}

/*
 * Moves appends to the next segment, the spare made in the background: no
 * syscall. While it is not ready, -EAGAIN (the caller retries on a later
 * pass), or -ENOSPC while its creation keeps failing for want of space, which
 * stops nothing: the creation is retried.
 */
static int roll_segment(struct seg_log *log)
{
	uint32_t next = log->files.current_id + 1;
	if (next - log->files.first_id >= SEG_SEGMENTS_MAX)
		return -EMFILE;
	if (next - log->files.disk_first_id >= SEG_SEGMENTS_MAX)
		return -EAGAIN; /* released: room as soon as the oldest has left the disk */
	if (log->spare_state == SPARE_READY) {
		log->files.handles[next % SEG_SEGMENTS_MAX] = log->spare_file;
		log->spare_state = SPARE_NONE;
		switch_segment(log, next);
		return 0;
	}
	prepare_spare(log); /* nothing when one is on its way */
	return log->spare_error == -ENOSPC ? -ENOSPC : -EAGAIN;
}

static uint32_t take_free_batch(struct seg_log *log)
{
	for (uint32_t i = 0; i < log->batch_count; i++) {
		if (log->batches[i].state == BATCH_FREE)
			return i;
	}
	return NIL;
}

static void submit(struct seg_log *log, uint32_t index)
{
	struct seg_batch *b = &log->batches[index];
	int rc = log->io->ops->submit_write(log->io, b->file, index, b->buf + b->written,
	                                    b->bytes - b->written, b->offset + b->written,
	                                    !log->options.memory_only, index);
	if (rc != 0)
		fail(log, rc == -EBUSY ? -EIO : rc); /* the ring is sized for every slot */
}

/* Fills the batch to a sector boundary with one padding frame. */
static void pad_to_sector(struct seg_log *log, struct seg_batch *b)
{
	uint32_t pad = (SEG_SECTOR_BYTES - b->bytes % SEG_SECTOR_BYTES) % SEG_SECTOR_BYTES;
	if (pad == 0)
		return;
	if (pad < SEG_RECORD_HEADER_BYTES)
		pad += SEG_SECTOR_BYTES;
	uint32_t payload_bytes = pad - SEG_RECORD_HEADER_BYTES;
	struct seg_header h = {
	    .payload_bytes = payload_bytes,
	    .type = SEG_TYPE_PADDING,
	    .sequence = b->last_sequence,
	    .durable_sequence = log->durable_sequence,
	    .segment_id = b->segment_id,
	    .segment_first_sequence = b->segment_first_sequence,
	};
	memset(b->buf + b->bytes + SEG_RECORD_HEADER_BYTES, 0, payload_bytes);
	seg_frame_encode(&h, b->buf + b->bytes + SEG_RECORD_HEADER_BYTES, b->buf + b->bytes);
	b->bytes += pad;
}

int seg_commit(struct seg_log *log)
{
	if (log->failed != 0)
		return log->failed;
	if (log->open_batch == NIL || log->batches[log->open_batch].bytes == 0)
		return 0;
	uint32_t index = log->open_batch;
	struct seg_batch *b = &log->batches[index];
	pad_to_sector(log, b);
	b->state = BATCH_IN_FLIGHT;
	b->written = 0;
	b->write_done = false;
	b->sync_done = log->options.memory_only;
	log->write_offset = b->offset + b->bytes;
	log->fifo[(log->fifo_head + log->fifo_count) % (COMMITS_MAX + 1)] = index;
	log->fifo_count++;
	log->open_batch = NIL;
	submit(log, index);
	return log->failed;
}

/* Opens a batch at the current write position, rolling the segment when full. */
static int open_batch_for(struct seg_log *log, uint32_t frame_bytes)
{
	struct seg_batch *b = log->open_batch == NIL ? NULL : &log->batches[log->open_batch];
	uint64_t end = b ? b->offset + b->bytes : log->write_offset;
	/* Room is kept for the padding the commit adds. */
	uint64_t need = frame_bytes + SEG_PAD_RESERVE;
	bool fits_batch = b != NULL && b->bytes + need <= log->options.batch_bytes_max;
	bool fits_segment = end + need <= log->options.segment_bytes;
	if (fits_batch && fits_segment)
		return 0;
	if (b != NULL && seg_commit(log) != 0)
		return log->failed;
	uint32_t index = take_free_batch(log);
	if (index == NIL)
		return -EAGAIN;
	if (log->write_offset + need > log->options.segment_bytes) {
		int rc = roll_segment(log);
		if (rc != 0)
			return rc;
	}
	log->batches[index] = (struct seg_batch){
	    .buf = log->batches[index].buf,
	    .offset = log->write_offset,
	    .segment_id = log->files.current_id,
	    .segment_first_sequence = log->segment_first_sequence,
	    .file = seg_file_of(log, log->files.current_id),
	    .state = BATCH_OPEN,
	};
	log->open_batch = index;
	return 0;
}

/* Keeps a copy of a frame for seg_read, overwriting the oldest (a ring by position). */
static void cache_store(struct seg_log *log, uint64_t position, const uint8_t *frame,
                        uint32_t frame_bytes)
{
	uint64_t size = log->options.cache_bytes;
	if (log->cache == NULL || frame_bytes > size)
		return;
	uint64_t end = position + frame_bytes;
	if (end > size && end - size > log->cache_valid_from)
		log->cache_valid_from = end - size;
	uint64_t at = position % size;
	if (at + frame_bytes > size) {
		log->cache_valid_from = end; /* would wrap: keep the ring simple, start over */
		return;
	}
	memcpy(log->cache + at, frame, frame_bytes);
}

/* A cached record, or false to read it from disk. */
static bool cache_read(struct seg_log *log, uint64_t position, uint8_t *buf, size_t capacity,
                       struct seg_record_view *out)
{
	uint64_t size = log->options.cache_bytes;
	if (log->cache == NULL || position < log->cache_valid_from ||
	    position + SEG_RECORD_HEADER_BYTES > log->cache_valid_from + size)
		return false;
	uint64_t at = position % size;
	struct seg_header h;
	if (at + SEG_RECORD_HEADER_BYTES > size ||
	    seg_frame_decode(log->cache + at, size - at, &h) != SEG_FRAME_OK ||
	    h.type == SEG_TYPE_PADDING ||
	    SEG_RECORD_HEADER_BYTES + (size_t)h.payload_bytes > capacity)
		return false;
	memcpy(buf, log->cache + at, SEG_RECORD_HEADER_BYTES + h.payload_bytes);
	*out = (struct seg_record_view){
	    .sequence = h.sequence,
	    .position = position,
	    .segment_id = h.segment_id,
	    .type = h.type,
	    .payload_bytes = h.payload_bytes,
	    .payload = buf + SEG_RECORD_HEADER_BYTES,
	};
	return true;
}

int seg_append(struct seg_log *log, uint16_t type, const void *payload, uint32_t payload_bytes,
               uint64_t *sequence_out, uint64_t *position_out)
{
	if (log->failed != 0)
		return log->failed;
	uint32_t frame_bytes = SEG_RECORD_HEADER_BYTES + payload_bytes;
	if (type == SEG_TYPE_PADDING)
		return -EINVAL;
	if (payload_bytes > SEG_PAYLOAD_BYTES_MAX ||
	    frame_bytes + SEG_PAD_RESERVE > log->options.batch_bytes_max)
		return -EMSGSIZE;
	int rc = open_batch_for(log, frame_bytes);
	if (rc != 0)
		return rc;
	struct seg_batch *b = &log->batches[log->open_batch];
	struct seg_header h = {
	    .payload_bytes = payload_bytes,
	    .type = type,
	    .sequence = log->next_sequence,
	    .durable_sequence = log->durable_sequence,
	    .segment_id = b->segment_id,
	    .segment_first_sequence = b->segment_first_sequence,
	};
	seg_frame_encode(&h, payload, b->buf + b->bytes);
	*sequence_out = log->next_sequence++;
	*position_out = (uint64_t)h.segment_id * log->options.segment_bytes + b->offset + b->bytes;
	log->files.live[h.segment_id % SEG_SEGMENTS_MAX]++;
	cache_store(log, *position_out, b->buf + b->bytes, frame_bytes);
	b->bytes += frame_bytes;
	b->last_sequence = h.sequence;
	return 0;
}

/*
 * Publishes in the durable-marks file that segment id is durable up to end.
 * Two plain stores into shared memory, no syscall: a SIGKILL keeps them (the
 * page cache does). The end goes first and the id (release) after, so a slot
 * that names a segment never shows an end that segment did not reach; the
 * slot's previous owner, SEG_MARKS_SLOTS segments older, is off the disk.
 */
static void mark_durable(struct seg_log *log, uint32_t id, uint64_t end)
{
	if (log->marks == NULL)
		return;
	struct seg_marks_slot *slot = &log->marks->slot[id % SEG_MARKS_SLOTS];
	assert(end <= log->options.segment_bytes);
	__atomic_store_n(&slot->durable_end, end, __ATOMIC_RELAXED);
	__atomic_store_n(&slot->segment_id, (uint64_t)id, __ATOMIC_RELEASE);
}

/* Advances the watermark over completed batches, oldest first. */
static void retire_completed(struct seg_log *log)
{
	while (log->fifo_count > 0) {
		struct seg_batch *b = &log->batches[log->fifo[log->fifo_head]];
		if (!b->write_done || !b->sync_done)
			return;
		log->durable_sequence = b->last_sequence;
		/* In order, so everything before the batch's end is durable too; a
		 * memory_only log never syncs, so it marks nothing. */
		if (!log->options.memory_only)
			mark_durable(log, b->segment_id, b->offset + b->bytes);
		b->state = BATCH_FREE;
		log->fifo_head = (log->fifo_head + 1) % (COMMITS_MAX + 1);
		log->fifo_count--;
	}
}

static void on_write(struct seg_log *log, struct seg_batch *b, uint32_t index, int32_t result)
{
	if (result < 0) {
		fail(log, result == -ENOSPC ? -ENOSPC : -EIO);
		return;
	}
	b->written += (uint32_t)result;
	if (b->written == b->bytes) {
		b->write_done = true;
		return;
	}
	if (result == 0) {
		fail(log, -EIO); /* no progress: do not spin */
		return;
	}
	/* Short write: the linked fsync was cancelled; send the rest with its own fsync. */
	submit(log, index);
}

static void write_checkpoint_if_durable(struct seg_log *log);
static void start_removal(struct seg_log *log);
static void on_read(struct seg_log *log, uint32_t index, int32_t result);

/*
 * The spare's creation finished. No space: reported by the roll, retried.
 * An existing file: a leftover spare (docs/storage.md), removed by the I/O
 * layer: retried. Anything else is the disk failing.
 */
static void on_created(struct seg_log *log, int32_t result)
{
	log->spare_state = result == 0 ? SPARE_READY : SPARE_NONE;
	log->spare_error = result;
	if (result != 0 && result != -ENOSPC && result != -EEXIST)
		fail(log, -EIO);
}

/* The oldest segment on disk is gone, durably: the next may go. */
static void on_removed(struct seg_log *log, int32_t result)
{
	assert(log->removing && log->files.disk_first_id < log->files.first_id);
	log->removing = false;
	if (result != 0) {
		fail(log, -EIO); /* as for a failed fsync: the process recovers from disk */
		return;
	}
	log->files.handles[log->files.disk_first_id % SEG_SEGMENTS_MAX] = -1;
	log->files.disk_first_id++;
	prepare_spare(log); /* it may have waited for the room */
	start_removal(log);
}

static void on_completion(struct seg_log *log, const struct seg_io_completion *c)
{
	if (c->kind == SEG_IO_CREATE) {
		on_created(log, c->result);
		return;
	}
	if (c->kind == SEG_IO_REMOVE) {
		on_removed(log, c->result);
		return;
	}
	if (c->kind == SEG_IO_READ) {
		on_read(log, (uint32_t)c->tag, c->result);
		return;
	}
	if (c->kind == SEG_IO_META) {
		/* A failed checkpoint costs only recovery time: the older one stays. */
		log->meta_in_flight = false;
		write_checkpoint_if_durable(log);
		return;
	}
	uint32_t index = (uint32_t)c->tag;
	if (index >= log->batch_count || log->batches[index].state != BATCH_IN_FLIGHT) {
		fail(log, -EIO);
		return;
	}
	struct seg_batch *b = &log->batches[index];
	if (c->kind == SEG_IO_WRITE) {
		on_write(log, b, index, c->result);
		return;
	}
	/* Cancelled because its linked write failed or was short: the write's own
	 * completion decides (stop the log, or resubmit the rest with a new fsync). */
	if (c->result == -ECANCELED)
		return;
	if (c->result < 0) {
		fail(log, -EIO); /* a failed fdatasync is never retried */
		return;
	}
	if (b->written == b->bytes)
		b->sync_done = true;
}

/*
 * Writes the checkpoint once its record is durable, in the background; its
 * encoded bytes stay untouched until that completes (a newer checkpoint waits).
 * A failure only costs recovery time.
 */
static void write_checkpoint_if_durable(struct seg_log *log)
{
	if (!log->checkpoint_pending || log->meta_in_flight ||
	    log->durable_sequence < log->checkpoint.sequence)
		return;
	size_t length = seg_checkpoint_encode(&log->checkpoint, log->checkpoint_bytes);
	assert(length <= sizeof(log->checkpoint_bytes));
	if (log->io->ops->submit_meta(log->io, log->dir, SEG_CHECKPOINT_NAME, log->checkpoint_bytes,
	                              (uint32_t)length, 0) != 0)
		return; /* no room in the ring now: the next poll tries again */
	log->meta_in_flight = true;
	log->checkpoint_pending = false;
}

int seg_checkpoint(struct seg_log *log, uint64_t position, uint64_t sequence)
{
	uint32_t id = (uint32_t)(position / log->options.segment_bytes);
	if (id < log->files.first_id || id > log->files.current_id ||
	    sequence >= log->next_sequence)
		return -EINVAL;
	struct seg_checkpoint *c = &log->checkpoint;
	c->position = position;
	c->sequence = sequence;
	/* From the oldest segment still on disk (live 0 when released): the checkpoint
	 * holds whether or not a crash lets its removal land. */
	c->first_id = log->files.disk_first_id;
	c->count = id - log->files.disk_first_id + 1;
	for (uint32_t i = 0; i < c->count; i++)
		c->live[i] = log->files.live[(c->first_id + i) % SEG_SEGMENTS_MAX];
	log->checkpoint_pending = true;
	write_checkpoint_if_durable(log);
	return 0;
}

int seg_poll(struct seg_log *log, bool wait)
{
	struct seg_io_completion done[REAP_BATCH];
	bool busy = log->fifo_count > 0 || log->spare_state == SPARE_PREPARING || log->removing ||
	            log->meta_in_flight || log->reads_in_flight > 0;
	bool waiting = wait && busy;
	int count = log->io->ops->reap(log->io, done, REAP_BATCH, waiting);
	if (count < 0) {
		fail(log, count);
		return log->failed;
	}
	for (int i = 0; i < count; i++)
		on_completion(log, &done[i]);
	if (log->failed == 0)
		retire_completed(log);
	if (log->failed == 0)
		write_checkpoint_if_durable(log);
	start_removal(log); /* one that waited for its segment's last commit */
	return log->failed;
}

uint64_t seg_durable_sequence(const struct seg_log *log)
{
	return log->durable_sequence;
}

uint64_t seg_next_sequence(const struct seg_log *log)
{
	return log->next_sequence;
}

uint32_t seg_open_batch_bytes(const struct seg_log *log)
{
	return log->open_batch == NIL ? 0 : log->batches[log->open_batch].bytes;
}

uint32_t seg_commits_in_flight(const struct seg_log *log)
{
	return log->fifo_count;
}

static int read_frame(struct seg_log *log, uint64_t position, uint8_t *buf, size_t capacity,
                      struct seg_record_view *out, uint16_t *type_out);

int seg_read(struct seg_log *log, uint64_t position, uint8_t *buf, size_t capacity,
             struct seg_record_view *out)
{
	if (cache_read(log, position, buf, capacity, out))
		return 0;
	uint16_t type;
	int rc = read_frame(log, position, buf, capacity, out, &type);
	/* A commit's padding is not a record: the next record follows it. */
	if (rc == 0 && type == SEG_TYPE_PADDING)
		rc = read_frame(log, seg_next_position(log, out), buf, capacity, out, &type);
	return rc == 0 && type == SEG_TYPE_PADDING ? -EUCLEAN : rc;
}

static int read_frame(struct seg_log *log, uint64_t position, uint8_t *buf, size_t capacity,
                      struct seg_record_view *out, uint16_t *type_out)
{
	uint32_t id = (uint32_t)(position / log->options.segment_bytes);
	uint64_t offset = position % log->options.segment_bytes;
	if (id < log->files.first_id || id > log->files.current_id)
		return -ENOENT;
	int file = seg_file_of(log, id);
	if (capacity < SEG_RECORD_HEADER_BYTES)
		return -ENOBUFS;
	long got = log->io->ops->read(log->io, file, buf, SEG_RECORD_HEADER_BYTES, offset);
	if (got < 0)
		return (int)got;
	struct seg_header h;
	enum seg_frame_check check = seg_frame_decode(buf, (size_t)got, &h);
	if (check == SEG_FRAME_EMPTY)
		return -ENOENT;
	if (check == SEG_FRAME_BAD)
		return -EUCLEAN;
	uint32_t payload_bytes = bb_get_le32(buf + 8);
	if (SEG_RECORD_HEADER_BYTES + (size_t)payload_bytes > capacity)
		return -ENOBUFS;
	got = log->io->ops->read(log->io, file, buf + SEG_RECORD_HEADER_BYTES, payload_bytes,
	                         offset + SEG_RECORD_HEADER_BYTES);
	if (got < 0)
		return (int)got;
	size_t total = SEG_RECORD_HEADER_BYTES + (size_t)got;
	if (seg_frame_decode(buf, total, &h) != SEG_FRAME_OK || h.segment_id != id)
		return -EUCLEAN;
	*type_out = h.type;
	*out = (struct seg_record_view){
	    .sequence = h.sequence,
	    .position = position,
	    .segment_id = id,
	    .type = h.type,
	    .payload_bytes = h.payload_bytes,
	    .payload = buf + SEG_RECORD_HEADER_BYTES,
	};
	return 0;
}

/* ---- reads without waiting (seg_read_submit) ---- */

static void read_finish(struct seg_read_slot *r, int result)
{
	assert(r->busy && !r->finished);
	r->done.tag = r->tag;
	r->done.result = result;
	r->finished = true;
}

/* Reads as much of the record at r->position as the buffer takes, in one operation. */
static int read_start(struct seg_log *log, uint32_t index)
{
	struct seg_read_slot *r = &log->reads[index];
	uint32_t id = (uint32_t)(r->position / log->options.segment_bytes);
	uint64_t offset = r->position % log->options.segment_bytes;
	if (id < log->files.first_id || id > log->files.current_id)
		return -ENOENT;
	uint64_t left = log->options.segment_bytes - offset;
	uint32_t length = (uint32_t)(r->capacity < left ? r->capacity : left);
	int rc = log->io->ops->submit_read(log->io, seg_file_of(log, id), r->buf, length, offset,
	                                   index);
	if (rc == 0)
		log->reads_in_flight++;
	return rc == -EBUSY ? -EAGAIN : rc;
}

int seg_read_submit(struct seg_log *log, uint64_t position, uint8_t *buf, size_t capacity,
                    uint64_t tag)
{
	if (log->failed != 0)
		return log->failed;
	if (capacity < SEG_RECORD_HEADER_BYTES)
		return -ENOBUFS;
	uint32_t index = 0;
	while (index < SEG_READS_MAX && log->reads[index].busy)
		index++;
	if (index == SEG_READS_MAX)
		return -EAGAIN;
	struct seg_read_slot *r = &log->reads[index];
	*r = (struct seg_read_slot){
	    .tag = tag, .position = position, .buf = buf, .capacity = capacity, .busy = true};
	if (cache_read(log, position, buf, capacity, &r->done.record)) {
		read_finish(r, 0);
		return 0;
	}
	int rc = read_start(log, index);
	if (rc != 0)
		r->busy = false;
	return rc;
}

/* A read came back: the record, the one after a padding frame, or why not. */
static void on_read(struct seg_log *log, uint32_t index, int32_t result)
{
	struct seg_read_slot *r = &log->reads[index];
	assert(index < SEG_READS_MAX && r->busy && log->reads_in_flight > 0);
	log->reads_in_flight--;
	uint32_t id = (uint32_t)(r->position / log->options.segment_bytes);
	struct seg_header h;
	enum seg_frame_check check =
	    result < 0 ? SEG_FRAME_BAD : seg_frame_decode(r->buf, (size_t)result, &h);
	if (result < 0 || check == SEG_FRAME_EMPTY || check == SEG_FRAME_BAD) {
		read_finish(r, result < 0 ? -EIO : check == SEG_FRAME_EMPTY ? -ENOENT : -EUCLEAN);
		return;
	}
	if (check == SEG_FRAME_SHORT) {
		/* Longer than the buffer, or (never on a preallocated file) a short read. */
		bool too_big = SEG_RECORD_HEADER_BYTES + (size_t)bb_get_le32(r->buf + 8) > r->capacity;
		read_finish(r, too_big ? -ENOBUFS : -EIO);
		return;
	}
	if (h.segment_id != id || (h.type == SEG_TYPE_PADDING && r->skipped)) {
		read_finish(r, -EUCLEAN);
		return;
	}
	r->done.record = (struct seg_record_view){
	    .sequence = h.sequence,
	    .position = r->position,
	    .segment_id = id,
	    .type = h.type,
	    .payload_bytes = h.payload_bytes,
	    .payload = r->buf + SEG_RECORD_HEADER_BYTES,
	};
	if (h.type != SEG_TYPE_PADDING) {
		read_finish(r, 0);
		return;
	}
	/* A commit's padding is not a record: the next record follows it. */
	r->skipped = true;
	r->position = seg_next_position(log, &r->done.record);
	int rc = read_start(log, index);
	if (rc != 0)
		read_finish(r, rc == -EAGAIN ? -EIO : rc);
}

uint32_t seg_read_reap(struct seg_log *log, struct seg_read_done *out, uint32_t capacity)
{
	uint32_t count = 0;
	for (uint32_t i = 0; i < SEG_READS_MAX && count < capacity; i++) {
		struct seg_read_slot *r = &log->reads[i];
		if (!r->finished)
			continue;
		out[count++] = r->done;
		r->busy = false;
		r->finished = false;
	}
	return count;
}

uint64_t seg_next_position(const struct seg_log *log, const struct seg_record_view *r)
{
	uint64_t next = r->position + SEG_RECORD_HEADER_BYTES + r->payload_bytes;
	uint64_t segment_end = ((uint64_t)r->segment_id + 1) * log->options.segment_bytes;
	/* A segment's unused tail is zero: the next record may be in the next segment. */
	if (segment_end - next < SEG_RECORD_HEADER_BYTES)
		return segment_end;
	return next;
}

/*
 * Starts removing the oldest segment still on disk, unless a removal is on
 * its way, none is due, or a commit into that segment is still in flight.
 */
static void start_removal(struct seg_log *log)
{
	uint32_t id = log->files.disk_first_id;
	if (log->removing || log->failed != 0 || id == log->files.first_id)
		return;
	if (log->fifo_count > 0 && log->batches[log->fifo[log->fifo_head]].segment_id <= id)
		return;
	for (uint32_t i = 0; i < SEG_READS_MAX; i++) {
		const struct seg_read_slot *r = &log->reads[i];
		if (r->busy && !r->finished && r->position / log->options.segment_bytes <= id)
			return; /* a read of it is in flight: after it */
	}
	char path[SEG_PATH_BYTES + 32];
	seg_segment_path(log->dir, id, path, sizeof(path));
	int rc = log->io->ops->submit_remove(log->io, log->dir, path, seg_file_of(log, id), 0);
	if (rc == 0)
		log->removing = true;
	else if (rc != -EBUSY)
		fail(log, rc); /* -EBUSY: no room in the ring now, the next poll tries again */
}

/* Drops the oldest segment from the log at once; it leaves the disk in the background. */
static void drop_oldest(struct seg_log *log)
{
	uint32_t id = log->files.first_id;
	assert(id < log->files.current_id);
	log->files.live[id % SEG_SEGMENTS_MAX] = 0;
	log->files.first_id++;
}

/* Drops oldest segments, up to limit and (only_dead) while nothing in them is live. */
static int remove_head(struct seg_log *log, uint32_t limit, bool only_dead)
{
	while (log->files.first_id < limit && log->files.first_id < log->files.current_id &&
	       (!only_dead || log->files.live[log->files.first_id % SEG_SEGMENTS_MAX] == 0))
		drop_oldest(log);
	start_removal(log);
	return log->failed;
}

int seg_enforce_retention(struct seg_log *log, uint64_t max_bytes, uint64_t max_age_ms,
                          uint64_t now_ms)
{
	/* Bounded: each pass drops one segment, and the one being written stays. */
	while (log->files.first_id < log->files.current_id) {
		uint64_t bytes = (uint64_t)seg_segment_count(log) * log->options.segment_bytes;
		uint64_t sealed = log->files.sealed_ms[log->files.first_id % SEG_SEGMENTS_MAX];
		bool too_big = max_bytes > 0 && bytes > max_bytes;
		bool too_old = max_age_ms > 0 && now_ms > sealed && now_ms - sealed > max_age_ms;
		if (!too_big && !too_old)
			break;
		drop_oldest(log);
	}
	start_removal(log);
	return log->failed;
}

int seg_remove_before(struct seg_log *log, uint64_t position)
{
	return remove_head(log, (uint32_t)(position / log->options.segment_bytes), false);
}

int seg_release(struct seg_log *log, uint64_t position)
{
	uint32_t id = (uint32_t)(position / log->options.segment_bytes);
	if (id < log->files.first_id || id > log->files.current_id ||
	    log->files.live[id % SEG_SEGMENTS_MAX] == 0)
		return -EINVAL;
	log->files.live[id % SEG_SEGMENTS_MAX]--;
	return remove_head(log, log->files.current_id, true);
}

bool seg_oldest_pin(const struct seg_log *log, struct seg_pin *out)
{
	uint32_t id = log->files.first_id;
	if (id == log->files.current_id)
		return false;
	*out = (struct seg_pin){
	    .segment_id = id,
	    .live_records = log->files.live[id % SEG_SEGMENTS_MAX],
	    .first_position = (uint64_t)id * log->options.segment_bytes,
	    .end_position = ((uint64_t)id + 1) * log->options.segment_bytes,
	};
	return true;
}

uint32_t seg_segment_count(const struct seg_log *log)
{
	return log->files.current_id - log->files.first_id + 1;
}

uint64_t seg_segment_bytes(const struct seg_log *log)
{
	assert(log->options.segment_bytes > 0); /* apply_defaults set it */
	return log->options.segment_bytes;
}

/*
 * Commit buffers: one hugepage-backed region when asked and available (fewer
 * TLB misses for the kernel's copies), page-aligned heap memory otherwise.
 */
static int allocate_buffers(struct seg_log *log, void **buffers)
{
	size_t bytes = (size_t)log->batch_count * log->options.batch_bytes_max;
	uint8_t *region = NULL;
	if (log->options.hugepages && gethugepagesize() > 0) {
		size_t huge = (size_t)gethugepagesize();
		region = get_huge_pages((bytes + huge - 1) / huge * huge, GHP_DEFAULT);
	}
	log->buffers_huge = region != NULL;
	if (region == NULL)
		region = aligned_alloc(4096, bytes);
	if (region == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < log->batch_count; i++) {
		log->batches[i].buf = region + (size_t)i * log->options.batch_bytes_max;
		buffers[i] = log->batches[i].buf;
	}
	return 0;
}

static int allocate(struct seg_log *log)
{
	log->batch_count = log->options.commits_in_flight_max;
	void *buffers[COMMITS_MAX];
	int rc = allocate_buffers(log, buffers);
	if (rc != 0)
		return rc;
	if (log->options.cache_bytes > 0 && (log->cache = malloc(log->options.cache_bytes)) == NULL)
		return -ENOMEM;
	if (log->io->ops->register_buffers != NULL)
		(void)log->io->ops->register_buffers(log->io, buffers, log->batch_count,
		                                     log->options.batch_bytes_max);
	return 0;
}

static int apply_defaults(struct seg_options *o)
{
	if (o->segment_bytes == 0)
		o->segment_bytes = DEFAULT_SEGMENT_BYTES;
	if (o->batch_bytes_max == 0)
		o->batch_bytes_max = DEFAULT_BATCH_BYTES;
	if (o->commits_in_flight_max == 0)
		o->commits_in_flight_max = DEFAULT_COMMITS;
	/* Small batches are allowed (tests use them); a record must fit one batch. */
	bool sane = o->dir != NULL && strlen(o->dir) < SEG_PATH_BYTES &&
	            o->commits_in_flight_max <= COMMITS_MAX && o->batch_bytes_max >= 4096 &&
	            o->segment_bytes >= o->batch_bytes_max && o->batch_bytes_max % 4096 == 0 &&
	            o->segment_bytes <= SEG_SEGMENT_BYTES_MAX;
	return sane ? 0 : -EINVAL;
}

/*
 * Maps the durable-marks file (creating it), keeping what an earlier life
 * marked when its header matches: a kill during this open must not make
 * durable bytes look unsynced to the power cut that follows.
 */
static int marks_map(struct seg_log *log, char *why, size_t why_bytes)
{
	int fd = open(log->options.durable_marks_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	int rc = fd < 0 ? -errno : 0;
	struct stat st;
	if (rc == 0 && fstat(fd, &st) != 0)
		rc = -errno;
	if (rc == 0 && (uint64_t)st.st_size != sizeof(struct seg_marks) &&
	    ftruncate(fd, sizeof(struct seg_marks)) != 0)
		rc = -errno;
	void *p = rc == 0 ? mmap(NULL, sizeof(struct seg_marks), PROT_READ | PROT_WRITE,
	                         MAP_SHARED, fd, 0)
	                  : MAP_FAILED;
	if (rc == 0 && p == MAP_FAILED)
		rc = -errno;
	if (fd >= 0)
		close(fd);
	if (rc != 0) {
		snprintf(why, why_bytes, "durable marks %s: %s", log->options.durable_marks_path,
		         strerror(-rc));
		return rc;
	}
	log->marks = p;
	struct seg_marks *m = log->marks;
	if (m->magic != SEG_MARKS_MAGIC || m->slots != SEG_MARKS_SLOTS ||
	    m->segment_bytes != log->options.segment_bytes) {
		memset(m, 0, sizeof(*m));
		*m = (struct seg_marks){.magic = SEG_MARKS_MAGIC,
		                        .slots = SEG_MARKS_SLOTS,
		                        .segment_bytes = log->options.segment_bytes};
	}
	return 0;
}

/*
 * After recovery every segment kept is durable (recovery synced it, the last
 * one's tail zeroed): marks say so, and forget segments no longer on disk.
 */
static void marks_recovered(struct seg_log *log)
{
	struct seg_log_files *f = &log->files;
	for (uint32_t i = 0; i < SEG_MARKS_SLOTS; i++) {
		uint64_t id = log->marks->slot[i].segment_id;
		if (id != 0 && (id < f->disk_first_id || id > f->current_id))
			__atomic_store_n(&log->marks->slot[i].segment_id, 0, __ATOMIC_RELEASE);
	}
	for (uint32_t id = f->disk_first_id; id <= f->current_id; id++)
		mark_durable(log, id, id < f->current_id ? log->options.segment_bytes
		                                         : log->write_offset);
}

struct seg_log *seg_open(const struct seg_options *options, int *error_out, char *why,
                         size_t why_bytes)
{
	struct seg_log *log = calloc(1, sizeof(*log));
	if (log == NULL) {
		*error_out = -ENOMEM;
		return NULL;
	}
	log->options = *options;
	log->open_batch = NIL;
	for (uint32_t i = 0; i < SEG_SEGMENTS_MAX; i++)
		log->files.handles[i] = -1;
	int rc = apply_defaults(&log->options);
	snprintf(why, why_bytes, "%s", rc ? "invalid options" : "");
	if (rc == 0) {
		snprintf(log->dir, sizeof(log->dir), "%s", log->options.dir);
		log->options.dir = log->dir;
		log->io = options->io;
		if (log->io == NULL) {
			log->io = seg_io_uring_create(RING_ENTRIES, &rc);
			log->owns_io = true;
		}
	}
	if (rc == 0)
		rc = allocate(log);
	if (rc == 0 && log->options.durable_marks_path != NULL)
		rc = marks_map(log, why, why_bytes);
	struct seg_recovered r;
	if (rc == 0)
		rc = seg_recover(log, &r, why, why_bytes);
	if (rc == 0 && r.empty)
		rc = open_segment(log, r.last_id, true);
	if (rc != 0) {
		seg_close(log);
		*error_out = rc;
		return NULL;
	}
	log->files.first_id = r.first_id;
	log->files.disk_first_id = r.first_id;
	log->files.current_id = r.last_id;
	log->write_offset = r.end_offset;
	log->next_sequence = r.last_sequence + 1;
	log->durable_sequence = r.last_sequence;
	log->segment_first_sequence =
	    r.segment_first_sequence ? r.segment_first_sequence : log->next_sequence;
	for (uint32_t id = r.first_id; id < r.last_id; id++)
		log->files.sealed_ms[id % SEG_SEGMENTS_MAX] =
		    wall_ms(); /* as of now: kept longer */
	if (log->marks != NULL)
		marks_recovered(log);
	prepare_spare(log);
	*error_out = 0;
	return log;
}

/*
 * A spare never used is removed: left on disk, the next open moves into it (an empty
 * last segment is where the log continues) and makes another, one segment more per
 * restart. If the removal fails, or a crash comes first, that is what happens once.
 */
static void remove_spare(struct seg_log *log)
{
	char path[SEG_PATH_BYTES + 32];
	seg_segment_path(log->dir, log->files.current_id + 1, path, sizeof(path));
	log->io->ops->close_file(log->io, log->spare_file);
	log->spare_state = SPARE_NONE;
	if (log->io->ops->remove_file(log->io, path) == 0)
		(void)log->io->ops->sync_dir(log->io, log->dir);
}

void seg_close(struct seg_log *log)
{
	if (log == NULL)
		return;
	/* Let in-flight work finish, released segments leave the disk; bounded: each
	 * wait completes an operation, and the disk may have stopped answering. */
	for (uint32_t i = 0; i < SEG_SEGMENTS_MAX + 4 * COMMITS_MAX && log->io != NULL &&
	                     (log->fifo_count > 0 || log->spare_state == SPARE_PREPARING ||
	                      log->removing || log->meta_in_flight || log->reads_in_flight > 0 ||
	                      log->files.disk_first_id < log->files.first_id);
	     i++) {
		if (seg_poll(log, true) != 0)
			break;
	}
	for (uint32_t i = 0; log->io != NULL && i < SEG_SEGMENTS_MAX; i++) {
		if (log->files.handles[i] >= 0)
			log->io->ops->close_file(log->io, log->files.handles[i]);
	}
	if (log->io != NULL && log->spare_state == SPARE_READY)
		remove_spare(log);
	if (log->owns_io && log->io != NULL)
		log->io->ops->destroy(log->io);
	if (log->buffers_huge)
		free_huge_pages(log->batches[0].buf);
	else
		free(log->batches[0].buf);
	free(log->cache);
	if (log->marks != NULL)
		munmap(log->marks, sizeof(*log->marks));
	free(log);
}
