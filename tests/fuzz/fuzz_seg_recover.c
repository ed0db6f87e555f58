/*
 * Fuzz target: recovery of a damaged segment. The input's first byte says how
 * many valid records to write (in commits of four), the next two where to lay
 * the rest of the input over the segment's bytes. Recovery must either refuse
 * with a reason or replay consecutive records; a log it accepted must
 * take a new record and replay it after a reopen. The frame decoder also reads
 * the raw input, exactly sized, so a read past the frame is caught.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seg_int.h"
#include "seg_io_sim.h"

#define SEGMENT_BYTES 65536u /* holds 16 commits; more roll to a second segment */
#define SEGMENT_PATH  "/sim/0000000001.seg"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct replayed {
	uint64_t count;
	uint64_t last; /* sequence */
	bool out_of_order;
};

/* Replay must be consecutive; it may start above 1 (a forged first frame can say so, as
 * a log whose oldest segments retention removed does). */
static int count_record(void *ctx, const struct seg_record_view *r)
{
	struct replayed *seen = ctx;
	seen->out_of_order |= seen->count > 0 && r->sequence != seen->last + 1;
	seen->last = r->sequence;
	seen->count++;
	return 0;
}

static struct seg_log *open_log(struct seg_io *io, struct replayed *seen, int *rc)
{
	struct seg_options o = {
	    .dir = "/sim",
	    .segment_bytes = SEGMENT_BYTES,
	    .batch_bytes_max = 8192,
	    .commits_in_flight_max = 2,
	    .io = io,
	    .on_record = count_record,
	    .ctx = seen,
	};
	char why[512] = "";
	*seen = (struct replayed){0};
	struct seg_log *log = seg_open(&o, rc, why, sizeof(why));
	if (log == NULL && why[0] == '\0')
		abort(); /* a refusal always says why */
	return log;
}

/* Appends and commits; returns the position where the last record ends. */
static uint64_t append_durably(struct seg_log *log, uint32_t records)
{
	uint8_t payload[64];
	uint64_t end = 0;
	for (uint32_t n = 0; n < records; n++) {
		uint64_t sequence, position;
		uint32_t length = 1 + n % sizeof(payload);
		memset(payload, (int)n, sizeof(payload));
		int rc;
		while ((rc = seg_append(log, 1, payload, length, &sequence, &position)) == -EAGAIN)
			if (seg_poll(log, true) != 0)
				abort();
		if (rc != 0) {
			fprintf(stderr, "append %u: %d\n", n, rc);
			abort();
		}
		end = position + SEG_RECORD_HEADER_BYTES + length;
		if (n % 4 == 3 || n + 1 == records) {
			if (seg_commit(log) != 0)
				abort();
			while (seg_commits_in_flight(log) > 0)
				if (seg_poll(log, true) != 0)
					abort();
		}
	}
	return end;
}

static void decode_raw(const uint8_t *data, size_t size)
{
	struct seg_header h;
	if (seg_frame_decode(data, size, &h) == SEG_FRAME_OK &&
	    SEG_RECORD_HEADER_BYTES + (size_t)h.payload_bytes > size)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	decode_raw(data, size);
	if (size < 3)
		return 0;
	uint32_t records = data[0] % 64;
	size_t at = (size_t)(data[1] | data[2] << 8) % SEGMENT_BYTES;
	data += 3;
	size -= 3;
	struct seg_io_sim_faults none = {.seed = 1};
	struct seg_io *io = seg_io_sim_create(&none);
	struct replayed seen;
	int rc;
	struct seg_log *log = open_log(io, &seen, &rc);
	if (log == NULL)
		abort();
	uint64_t written_end = append_durably(log, records);
	/* Past the last commit's padding (a whole sector, one more when it was short);
	 * segment 1 starts at position SEGMENT_BYTES. */
	bool past_acknowledged = SEGMENT_BYTES + at >= (written_end + 4095) / 4096 * 4096 + 4096;
	seg_close(log);
	uint64_t file_bytes;
	uint8_t *segment = seg_io_sim_file_bytes(io, SEGMENT_PATH, &file_bytes);
	size_t overlay = size < file_bytes - at ? size : file_bytes - at;
	memcpy(segment + at, data, overlay);
	log = open_log(io, &seen, &rc);
	/* Damage after the acknowledged records may be refused (a forged frame there can
	 * vouch for more) or add records (a forged frame that fits), but never cut any. */
	if (past_acknowledged && log != NULL && seen.count < records)
		abort();
	if (log != NULL) {
		if (seen.out_of_order)
			abort();
		uint64_t kept = seen.count;
		append_durably(log, 1);
		seg_close(log);
		log = open_log(io, &seen, &rc);
		if (log == NULL || seen.count != kept + 1 || seen.out_of_order)
			abort();
		seg_close(log);
	} else if (rc != -EUCLEAN) {
		abort();
	}
	io->ops->destroy(io);
	return 0;
}
