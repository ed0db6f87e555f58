/* Internals of the segment log shared by its files: the record frame and segment naming. */
#ifndef BB_SEG_INT_H
#define BB_SEG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "seglog.h"

#define SEG_RECORD_MAGIC 0x4753u /* "SG", at offset 4 */
/* The first frame format (48-byte header) began with this; recovery refuses such a log
 * instead of taking its frames for a torn tail. */
#define SEG_RECORD_MAGIC_V1 0x52474553u /* "SEGR", at offset 0 */
#define SEG_FILE_SUFFIX     ".seg"
#define SEG_PATH_BYTES      512u
#define SEG_SEGMENTS_MAX    4096u /* segments a log keeps; a roll past them is -EMFILE */
/* A segment's records are numbered within it by a u32 (see the frame header). */
#define SEG_SEGMENT_BYTES_MAX ((uint64_t)UINT32_MAX * SEG_RECORD_HEADER_BYTES)
/* Each commit is padded to a whole sector so a torn write of the next commit can
 * never damage a sector holding acknowledged bytes. */
#define SEG_SECTOR_BYTES 4096u
#define SEG_TYPE_PADDING 0xffffu /* zero payload, skipped by readers; never a caller's type */
#define SEG_PAD_RESERVE  (SEG_SECTOR_BYTES + SEG_RECORD_HEADER_BYTES)

/* Frame header, little-endian (docs/storage.md):
 *  0 u32 crc32c of bytes 4..31 and the payload, 4 u16 magic, 6 u16 type,
 *  8 u32 payload_bytes, 12 u32 segment_id, 16 u64 sequence, 24 u32 sequence minus
 * the log's durable watermark when the record was appended, 28 u32 sequence minus
 * the first sequence written to this segment. Padding carries the sequence of the
 * record before it. The two differences are small by construction (commits in
 * flight; records in one segment), which keeps the header at 32 bytes: at 256-byte
 * records the disk's bandwidth is the limit, so header bytes are throughput. */
struct seg_header {
	uint32_t payload_bytes;
	uint16_t type;
	uint64_t sequence;
	uint64_t durable_sequence;
	uint32_t segment_id;
	uint64_t segment_first_sequence;
};

/* Writes header and payload to out (SEG_RECORD_HEADER_BYTES + payload_bytes). */
void seg_frame_encode(const struct seg_header *header, const void *payload, uint8_t *out);

enum seg_frame_check {
	SEG_FRAME_OK,
	SEG_FRAME_EMPTY, /* all-zero header: nothing was written here */
	SEG_FRAME_SHORT, /* the frame would run past `available` */
	SEG_FRAME_BAD,   /* magic, length, reserved bits or checksum wrong */
};

/* Checks a frame in bytes[0, available); fills header when OK. */
enum seg_frame_check seg_frame_decode(const uint8_t *bytes, size_t available,
                                      struct seg_header *header);

/* The checkpoint file (docs/storage.md): where recovery may start, and the live
 * counts of the segments up to it at the moment the checkpoint was taken. */
#define SEG_CHECKPOINT_NAME         "checkpoint"
#define SEG_CHECKPOINT_MAGIC        0x43474553u /* "SEGC" */
#define SEG_CHECKPOINT_HEADER_BYTES 40u
#define SEG_CHECKPOINT_BYTES_MAX    (SEG_CHECKPOINT_HEADER_BYTES + 4u * SEG_SEGMENTS_MAX)

struct seg_checkpoint {
	uint64_t position;
	uint64_t sequence;
	uint32_t first_id; /* live[i] is segment first_id + i */
	uint32_t count;
	uint32_t live[SEG_SEGMENTS_MAX];
};

size_t seg_checkpoint_encode(const struct seg_checkpoint *c, uint8_t *out);
bool seg_checkpoint_decode(const uint8_t *bytes, size_t length, struct seg_checkpoint *out);

void seg_segment_path(const char *dir, uint32_t segment_id, char *out, size_t out_bytes);

/*
 * The durable-marks file (seg_options.durable_marks_path; read by
 * tests/crash/powercut.c after a SIGKILL): in host byte order, a header and
 * one slot per segment id modulo SEG_MARKS_SLOTS. A slot whose segment_id is
 * a segment's id says that segment is durable up to durable_end (bytes); a
 * segment no slot names has nothing durable beyond zeros.
 */
#define SEG_MARKS_MAGIC 0x4d474553u /* "SEGM" */
#define SEG_MARKS_SLOTS SEG_SEGMENTS_MAX

struct seg_marks_slot {
	uint64_t segment_id;
	uint64_t durable_end;
};

struct seg_marks {
	uint32_t magic;
	uint32_t slots;
	uint64_t segment_bytes;
	struct seg_marks_slot slot[SEG_MARKS_SLOTS];
};
_Static_assert(sizeof(struct seg_marks) == 16 + 16 * SEG_MARKS_SLOTS, "no padding");

#define COMMITS_MAX 32u

enum batch_state { BATCH_FREE, BATCH_OPEN, BATCH_IN_FLIGHT };
enum seg_spare_state { SPARE_NONE, SPARE_PREPARING, SPARE_READY };

struct seg_batch {
	uint8_t *buf;
	uint32_t bytes;
	uint32_t written; /* bytes the kernel has taken, across short writes */
	uint64_t last_sequence;
	uint64_t offset; /* in its segment */
	uint32_t segment_id;
	uint64_t segment_first_sequence;
	int file;
	uint8_t state;
	bool write_done;
	bool sync_done;
};

struct seg_log_files {
	uint32_t first_id;      /* oldest segment kept */
	uint32_t disk_first_id; /* oldest on disk: [disk_first_id, first_id) are leaving it */
	uint32_t current_id;
	int handles[SEG_SEGMENTS_MAX];        /* by id % SEG_SEGMENTS_MAX; -1 when not open */
	uint32_t live[SEG_SEGMENTS_MAX];      /* live records, by id % SEG_SEGMENTS_MAX */
	uint64_t sealed_ms[SEG_SEGMENTS_MAX]; /* wall clock when appends moved past it */
};

/* A read started by seg_read_submit: its caller's buffer and where it stands. */
struct seg_read_slot {
	uint64_t tag;
	uint64_t position;
	uint8_t *buf;
	size_t capacity;
	struct seg_read_done done;
	bool busy;     /* taken: in flight or done */
	bool finished; /* done holds the answer, for seg_read_reap */
	bool skipped;  /* already stepped over one padding frame */
};

struct seg_log {
	struct seg_options options;
	char dir[SEG_PATH_BYTES];
	struct seg_io *io;
	bool owns_io;
	struct seg_batch batches[COMMITS_MAX + 1];
	uint32_t batch_count;
	uint32_t open_batch;            /* NIL when none */
	uint32_t fifo[COMMITS_MAX + 1]; /* in-flight batches, in submission order */
	uint32_t fifo_head, fifo_count;
	uint64_t next_sequence;
	uint64_t durable_sequence;
	uint64_t segment_first_sequence; /* of the current segment */
	uint64_t write_offset;           /* next byte of the current segment */
	struct seg_log_files files;
	/* The next segment, created in the background so a roll costs no syscall. */
	uint8_t spare_state; /* enum seg_spare_state */
	int spare_file;
	int spare_error; /* why the last creation failed; creation is retried at the roll */
	bool removing;       /* the oldest segment on disk is being removed */
	bool meta_in_flight; /* the checkpoint file is being replaced */
	int failed;          /* 0, or the -errno that stopped the log */
	/* A checkpoint taken, written out once its record is durable. */
	bool checkpoint_pending;
	struct seg_checkpoint checkpoint;
	uint8_t checkpoint_bytes[SEG_CHECKPOINT_BYTES_MAX];
	/* Recent frames by position % cache_bytes; valid from cache_valid_from on. */
	uint8_t *cache;
	uint64_t cache_valid_from;
	bool buffers_huge;
	struct seg_marks *marks; /* options.durable_marks_path, mapped; NULL without */
	struct seg_read_slot reads[SEG_READS_MAX];
	uint32_t reads_in_flight;
};

/* Recovery (seg_recover.c) fills the position the log continues from. */
struct seg_recovered {
	uint32_t first_id, last_id;
	uint64_t end_offset;
	uint64_t last_sequence;
	uint64_t segment_first_sequence; /* of the last segment, 0 when unknown */
	bool empty;
};
int seg_recover(struct seg_log *log, struct seg_recovered *out, char *why, size_t why_bytes);

/* The open handle of a segment, or -1. */
static inline int seg_file_of(const struct seg_log *log, uint32_t segment_id)
{
	return log->files.handles[segment_id % SEG_SEGMENTS_MAX];
}

#endif
