/*
 * Recovery: replays every record in order, then decides what the first
 * break in the log is. Every record carries the log's durable watermark at
 * the time it was appended, so a break at the record with sequence E is:
 * - corruption, when some record still readable anywhere in the log vouches
 *   that E had been acknowledged (its durable_sequence >= E): the open fails
 *   with -EUCLEAN naming file and offset, and nothing is cut;
 * - a torn tail otherwise: nothing from E on was ever acknowledged, so it is
 *   zeroed and later segments are removed.
 * A segment's zero tail is its normal end when the next record did not fit.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bb_endian.h"
#include "seg_int.h"

struct scan {
	struct seg_log *log;
	const uint8_t *buf; /* one whole segment, mapped */
	uint64_t mapped_bytes;
	uint64_t expected; /* next sequence; 0 before the first record */
	uint64_t vouched;  /* highest durable_sequence any valid record claims */
	uint64_t last_sequence;
	uint64_t segment_first; /* of the segment being replayed, from its frames; 0 if none */
	char *why;
	size_t why_bytes;
};

static int compare_ids(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static void unload_segment(struct scan *s)
{
	if (s->buf != NULL)
		s->log->io->ops->unmap(s->log->io, s->buf, s->mapped_bytes);
	s->buf = NULL;
}

static int load_segment(struct scan *s, uint32_t id)
{
	int rc;
	unload_segment(s);
	s->mapped_bytes = s->log->options.segment_bytes;
	s->buf = s->log->io->ops->map(s->log->io, seg_file_of(s->log, id), s->mapped_bytes, &rc);
	return rc;
}

/* What valid frames in part of a segment say about the log. */
struct claims {
	uint64_t vouched;       /* highest durable_sequence claimed */
	uint64_t segment_first; /* first sequence of the segment, 0 when no frame says */
};

/* Adds the valid frames of segment id that start at or after `from` and whose magic
 * (4 bytes into a frame) lies in [lo, hi): memchr to each candidate. */
static void claims_in(const struct scan *s, uint32_t id, uint64_t from, uint64_t lo, uint64_t hi,
                      struct claims *c)
{
	uint64_t size = s->log->options.segment_bytes;
	uint64_t magic_end = size - SEG_RECORD_HEADER_BYTES + 5; /* past the last whole header's */
	if (hi > magic_end)
		hi = magic_end;
	if (lo < from + 4)
		lo = from + 4;
	for (uint64_t m = lo; m < hi; m++) {
		const uint8_t *hit = memchr(s->buf + m, SEG_RECORD_MAGIC & 0xff, hi - m);
		if (hit == NULL)
			return;
		m = (uint64_t)(hit - s->buf);
		struct seg_header h;
		if (seg_frame_decode(s->buf + m - 4, size - (m - 4), &h) != SEG_FRAME_OK ||
		    h.segment_id != id)
			continue;
		if (h.durable_sequence > c->vouched)
			c->vouched = h.durable_sequence;
		c->segment_first = h.segment_first_sequence;
	}
}

/* What the valid frames of segment id from `from` on say. Only ranges that may hold
 * data are scanned: a segment's preallocated tail reads as zeros and holds no frame. */
static struct claims claims_after(const struct scan *s, uint32_t id, uint64_t from)
{
	struct claims c = {0};
	struct seg_io *io = s->log->io;
	uint64_t size = s->log->options.segment_bytes, lo, hi;
	for (uint64_t at = from;
	     at < size && io->ops->next_data(io, seg_file_of(s->log, id), at, size, &lo, &hi);
	     at = hi > at ? hi : size)
		claims_in(s, id, from, lo, hi, &c);
	return c;
}

/* Replays the valid records of segment id from `start`; returns where they end. */
static int replay_segment(struct scan *s, uint32_t id, uint64_t start, uint64_t *end_out)
{
	uint64_t offset = start, size = s->log->options.segment_bytes;
	for (;;) {
		struct seg_header h;
		enum seg_frame_check check = seg_frame_decode(s->buf + offset, size - offset, &h);
		bool valid = check == SEG_FRAME_OK && h.segment_id == id;
		if (valid && h.type == SEG_TYPE_PADDING) {
			offset += SEG_RECORD_HEADER_BYTES + h.payload_bytes;
			continue;
		}
		if (!valid || (s->expected != 0 && h.sequence != s->expected))
			break;
		struct seg_record_view view = {
		    .sequence = h.sequence,
		    .position = (uint64_t)id * size + offset,
		    .segment_id = id,
		    .type = h.type,
		    .payload_bytes = h.payload_bytes,
		    .payload = s->buf + offset + SEG_RECORD_HEADER_BYTES,
		};
		if (s->log->options.on_record != NULL &&
		    s->log->options.on_record(s->log->options.ctx, &view) != 0)
			return -ECANCELED;
		s->log->files.live[id % SEG_SEGMENTS_MAX]++; /* live until the caller releases it */
		s->expected = h.sequence + 1;
		s->last_sequence = h.sequence;
		s->segment_first = h.segment_first_sequence;
		if (h.durable_sequence > s->vouched)
			s->vouched = h.durable_sequence;
		offset += SEG_RECORD_HEADER_BYTES + h.payload_bytes;
	}
	*end_out = offset;
	return 0;
}

/* A segment that starts like the first frame format: its frames are not a torn tail. */
static bool first_format(const struct scan *s, uint64_t offset)
{
	return offset == 0 && bb_get_le32(s->buf) == SEG_RECORD_MAGIC_V1;
}

static int older_format(struct scan *s, uint32_t id)
{
	char path[SEG_PATH_BYTES + 32];
	seg_segment_path(s->log->dir, id, path, sizeof(path));
	snprintf(s->why, s->why_bytes,
	         "%s: written in the first frame format (48-byte headers), which this version does "
	         "not read; refusing to start",
	         path);
	return -EUCLEAN;
}

static int corruption(struct scan *s, uint32_t id, uint64_t offset, uint64_t expected,
                      uint64_t vouched)
{
	char path[SEG_PATH_BYTES + 32];
	seg_segment_path(s->log->dir, id, path, sizeof(path));
	snprintf(s->why, s->why_bytes,
	         "%s offset %llu: record %llu is damaged or missing, but records up to %llu were "
	         "acknowledged; refusing to start",
	         path, (unsigned long long)offset, (unsigned long long)expected,
	         (unsigned long long)vouched);
	return -EUCLEAN;
}

/*
 * Where the log ends: makes every segment before it durable, removes the
 * segments after it and zeroes the torn tail. A segment replayed from the page
 * cache after a process crash may never have reached the disk; the records
 * appended from now on vouch for it, so it must not be lost to a power cut.
 */
static int cut(struct scan *s, const uint32_t *ids, uint32_t count, uint32_t at, uint64_t offset)
{
	struct seg_log *log = s->log;
	for (uint32_t i = 0; i < at; i++) {
		int rc = log->io->ops->sync_file(log->io, seg_file_of(log, ids[i]));
		if (rc != 0)
			return rc;
	}
	for (uint32_t i = at + 1; i < count; i++) {
		char path[SEG_PATH_BYTES + 32];
		seg_segment_path(log->dir, ids[i], path, sizeof(path));
		log->io->ops->close_file(log->io, seg_file_of(log, ids[i]));
		log->files.handles[ids[i] % SEG_SEGMENTS_MAX] = -1;
		int rc = log->io->ops->remove_file(log->io, path);
		if (rc != 0)
			return rc;
	}
	int rc = count > at + 1 ? log->io->ops->sync_dir(log->io, log->dir) : 0;
	if (rc == 0)
		rc = log->io->ops->zero(log->io, seg_file_of(log, ids[at]), offset,
		                        log->options.segment_bytes - offset);
	return rc;
}

/*
 * Gathers what the rest of the log says, from `offset` in segment ids[from]
 * on: the highest vouched sequence, and the first sequence the break should
 * have had when nothing before it was replayed.
 */
static int claims_from(struct scan *s, const uint32_t *ids, uint32_t count, uint32_t from,
                       uint64_t offset, uint64_t *vouched, uint64_t *expected)
{
	for (uint32_t i = from; i < count; i++) {
		int rc = i == from ? 0 : load_segment(s, ids[i]);
		if (rc != 0)
			return rc;
		struct claims c = claims_after(s, ids[i], i == from ? offset : 0);
		if (c.vouched > *vouched)
			*vouched = c.vouched;
		/* Its own segment names the break's sequence; a later one bounds it. */
		if (*expected == 0 && c.segment_first != 0)
			*expected = i == from ? c.segment_first : c.segment_first - 1;
	}
	return 0;
}

static int scan_segments(struct scan *s, const uint32_t *ids, uint32_t count, uint64_t start,
                         struct seg_recovered *out)
{
	for (uint32_t i = 0; i < count; i++) {
		uint64_t end;
		s->segment_first = 0;
		int rc = load_segment(s, ids[i]);
		if (i + 1 < count) /* read the next while this one is scanned */
			s->log->io->ops->prefetch(s->log->io, seg_file_of(s->log, ids[i + 1]),
			                          s->log->options.segment_bytes);
		if (rc == 0)
			rc = replay_segment(s, ids[i], i == 0 ? start : 0, &end);
		if (rc != 0)
			return rc;
		/* Nothing valid after the end of this segment's records: a normal end. */
		struct seg_header unused;
		uint64_t size = s->log->options.segment_bytes;
		bool clean_end =
		    claims_after(s, ids[i], end).segment_first == 0 &&
		    seg_frame_decode(s->buf + end, size - end, &unused) == SEG_FRAME_EMPTY;
		if (clean_end && i + 1 < count)
			continue;
		if (first_format(s, end))
			return older_format(s, ids[i]);
		uint64_t vouched = s->vouched, expected = s->expected;
		out->segment_first_sequence = s->segment_first;
		rc = claims_from(s, ids, count, i, end, &vouched, &expected);
		if (rc != 0)
			return rc;
		if (expected != 0 && expected <= vouched)
			return corruption(s, ids[i], end, expected, vouched);
		out->last_id = ids[i];
		out->end_offset = end;
		return cut(s, ids, count, i, end);
	}
	return 0;
}

/*
 * Uses the checkpoint when it is valid and its segment is still there: live
 * counts up to it come from the file, and replay starts at its record.
 */
static bool start_at_checkpoint(struct seg_log *log, const uint32_t *ids, uint32_t count,
                                uint32_t *from, uint64_t *start)
{
	struct seg_checkpoint *c = &log->checkpoint;
	long length = log->io->ops->read_meta(log->io, log->dir, SEG_CHECKPOINT_NAME,
	                                      log->checkpoint_bytes, SEG_CHECKPOINT_BYTES_MAX);
	if (length <= 0 || !seg_checkpoint_decode(log->checkpoint_bytes, (size_t)length, c))
		return false;
	uint32_t id = (uint32_t)(c->position / log->options.segment_bytes);
	if (c->first_id > ids[0] || id < ids[0] || id > ids[count - 1] ||
	    id - c->first_id + 1 != c->count)
		return false;
	for (uint32_t i = 0; i < count && ids[i] <= id; i++)
		log->files.live[ids[i] % SEG_SEGMENTS_MAX] = c->live[ids[i] - c->first_id];
	if (log->files.live[id % SEG_SEGMENTS_MAX] > 0) /* replay counts its record again */
		log->files.live[id % SEG_SEGMENTS_MAX]--;
	*from = id - ids[0];
	*start = c->position % log->options.segment_bytes;
	return true;
}

int seg_recover(struct seg_log *log, struct seg_recovered *out, char *why, size_t why_bytes)
{
	static uint32_t ids[SEG_SEGMENTS_MAX];
	int count = log->io->ops->list_segments(log->io, log->dir, ids, SEG_SEGMENTS_MAX);
	if (count < 0) {
		snprintf(why, why_bytes, "cannot list %s: %s", log->dir, strerror(-count));
		return count;
	}
	*out = (struct seg_recovered){.first_id = 1, .last_id = 1, .empty = count == 0};
	if (count == 0)
		return 0;
	qsort(ids, (size_t)count, sizeof(ids[0]), compare_ids);
	for (int i = 0; i < count; i++) {
		int file = i > 0 && ids[i] != ids[i - 1] + 1 ? -ENOENT : 0;
		if (file == 0) {
			char path[SEG_PATH_BYTES + 32];
			seg_segment_path(log->dir, ids[i], path, sizeof(path));
			file = log->io->ops->open_file(log->io, path, false,
			                               log->options.segment_bytes);
		}
		if (file < 0) {
			snprintf(why, why_bytes, "segment %u: %s", ids[i],
			         file == -ENOENT ? "missing from the sequence" : strerror(-file));
			return file == -ENOENT ? -EUCLEAN : file;
		}
		log->files.handles[ids[i] % SEG_SEGMENTS_MAX] = file;
	}
	struct scan s = {.log = log, .why = why, .why_bytes = why_bytes};
	uint32_t from = 0;
	uint64_t start = 0;
	bool checkpointed = start_at_checkpoint(log, ids, (uint32_t)count, &from, &start);
	if (checkpointed) {
		/* A checkpoint is written only once its record is durable: it vouches for it. */
		s.expected = log->checkpoint.sequence;
		s.vouched = log->checkpoint.sequence;
	}
	int rc = scan_segments(&s, ids + from, (uint32_t)count - from, start, out);
	unload_segment(&s);
	out->first_id = ids[0];
	out->last_sequence = s.last_sequence;
	return rc;
}
