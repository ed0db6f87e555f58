/*
 * The segment log on the simulated disk: framing and replay, group commit
 * (one write and one fdatasync per pass), acknowledgement only after
 * fdatasync, short writes, a failed fdatasync stopping the log, a full disk,
 * segment rolls and retention, and reading by position.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bb_crc32c.h"
#include "bb_endian.h"
#include "log_helpers.h"
#include "seg_int.h"
#include "seg_io_sim.h"

#define DIR         "/sim"
#define PAYLOAD_MAX 200u

static struct seg_io *io;
static struct recorded *rec;

static void setup(void)
{
	struct seg_io_sim_faults none = {.seed = 1};
	io = seg_io_sim_create(&none);
	rec = calloc(1, sizeof(*rec));
	rec->max_payload = PAYLOAD_MAX;
}

static void teardown(void)
{
	io->ops->destroy(io);
	free(rec);
}

TestSuite(seglog, .init = setup, .fini = teardown);

static struct seg_log *open_log(int expect_rc)
{
	struct seg_options o = {
	    .dir = DIR,
	    .segment_bytes = 64 << 10,
	    .batch_bytes_max = 16384,
	    .commits_in_flight_max = 4,
	    .io = io,
	    .on_record = record_cb,
	    .ctx = rec,
	};
	char why[512];
	int rc = 1;
	rec->count = 0;
	struct seg_log *log = seg_open(&o, &rc, why, sizeof(why));
	cr_assert_eq(rc, expect_rc, "open: %d %s", rc, why);
	return log;
}

/* Appends the next record (waiting for a free commit slot); returns seg_append's answer. */
static int try_append(struct seg_log *log, uint64_t *position)
{
	uint8_t payload[PAYLOAD_MAX];
	uint64_t sequence = seg_next_sequence(log), got = 0, at = 0;
	uint32_t length = payload_for(sequence, payload, PAYLOAD_MAX);
	int rc;
	while ((rc = seg_append(log, 1, payload, length, &got, &at)) == -EAGAIN)
		cr_assert_eq(seg_poll(log, true), 0);
	cr_assert(rc != 0 || got == sequence);
	if (position)
		*position = at;
	return rc;
}

static uint64_t append(struct seg_log *log, uint64_t *position)
{
	int rc = try_append(log, position);
	cr_assert_eq(rc, 0, "append: %d", rc);
	return seg_next_sequence(log) - 1;
}

static void drain(struct seg_log *log)
{
	cr_assert_eq(seg_commit(log), 0);
	while (seg_commits_in_flight(log) > 0)
		cr_assert_eq(seg_poll(log, true), 0);
}

Test(seglog, records_replay_in_order_after_reopen)
{
	struct seg_log *log = open_log(0);
	cr_assert_eq(seg_next_sequence(log), 1);
	for (int i = 0; i < 500; i++)
		append(log, NULL);
	drain(log);
	cr_assert_eq(seg_durable_sequence(log), 500);
	seg_close(log);
	log = open_log(0);
	cr_assert_eq(rec->count, 500);
	cr_assert_eq(rec->bad, 0, "payloads intact");
	for (uint32_t i = 0; i < rec->count; i++)
		cr_assert_eq(rec->sequences[i], i + 1);
	cr_assert_eq(seg_next_sequence(log), 501, "appends continue after the last record");
	append(log, NULL);
	drain(log);
	seg_close(log);
	log = open_log(0);
	cr_assert_eq(rec->count, 501);
	seg_close(log);
}

/* The layout docs/storage.md gives, byte for byte, for two records of one commit. */
Test(seglog, frames_have_the_documented_32_byte_header)
{
	struct seg_log *log = open_log(0);
	uint64_t first_at, second_at;
	append(log, &first_at);
	append(log, &second_at);
	drain(log);
	seg_close(log);
	uint64_t size;
	const uint8_t *segment = seg_io_sim_file_bytes(io, DIR "/0000000001.seg", &size);
	cr_assert_eq(second_at - first_at,
	             32 + payload_for(1, (uint8_t[PAYLOAD_MAX]){0}, PAYLOAD_MAX));
	const uint8_t *frame = segment + second_at % (64 << 10);
	uint32_t length = bb_get_le32(frame + 8);
	cr_assert_eq(length, payload_for(2, (uint8_t[PAYLOAD_MAX]){0}, PAYLOAD_MAX));
	cr_assert_eq(bb_get_le32(frame), bb_crc32c(0, frame + 4, 28 + length),
	             "crc covers the rest");
	cr_assert_eq(bb_get_le16(frame + 4), 0x4753, "magic SG");
	cr_assert_eq(bb_get_le16(frame + 6), 1, "type");
	cr_assert_eq(bb_get_le32(frame + 12), 1, "segment id");
	cr_assert_eq(bb_get_le64(frame + 16), 2, "sequence");
	cr_assert_eq(bb_get_le32(frame + 24), 2, "nothing durable yet: the watermark was 0");
	cr_assert_eq(bb_get_le32(frame + 28), 1, "second record of its segment");
	uint8_t expected[PAYLOAD_MAX];
	payload_for(2, expected, PAYLOAD_MAX);
	cr_assert_arr_eq(frame + 32, expected, length);
}

/* The watermark and segment start are stored as differences from the sequence; one
 * too large to store must decode to a smaller watermark (vouching for less), never more. */
Test(seglog, a_watermark_too_far_behind_decodes_lower_not_higher)
{
	uint8_t frame[SEG_RECORD_HEADER_BYTES];
	struct seg_header in = {.type = 1,
	                        .sequence = 10ull << 32,
	                        .durable_sequence = 3,
	                        .segment_id = 7,
	                        .segment_first_sequence = (10ull << 32) - 5},
	                  out;
	seg_frame_encode(&in, "", frame);
	cr_assert_eq(seg_frame_decode(frame, sizeof(frame), &out), SEG_FRAME_OK);
	cr_assert_leq(out.durable_sequence, in.durable_sequence);
	cr_assert_eq(out.segment_first_sequence, in.segment_first_sequence);
	in.durable_sequence = in.sequence - 1000;
	seg_frame_encode(&in, "", frame);
	cr_assert_eq(seg_frame_decode(frame, sizeof(frame), &out), SEG_FRAME_OK);
	cr_assert_eq(out.durable_sequence, in.durable_sequence, "a near watermark is exact");
	cr_assert_eq(out.sequence, in.sequence);
	cr_assert_eq(out.segment_id, 7);
}

Test(seglog, one_pass_is_one_write_and_one_fdatasync)
{
	struct seg_log *log = open_log(0);
	for (int i = 0; i < 10; i++)
		append(log, NULL);
	cr_assert_eq(seg_durable_sequence(log), 0, "nothing durable before the commit");
	drain(log);
	struct seg_io_sim_stats st = seg_io_sim_stats(io);
	cr_assert_eq(st.writes, 1);
	cr_assert_eq(st.fsyncs, 1);
	cr_assert_eq(seg_durable_sequence(log), 10);
	seg_close(log);
}

Test(seglog, acknowledged_only_after_fdatasync)
{
	struct seg_log *log = open_log(0);
	/* fsync of the second commit fails: the first stays durable, the second never is. */
	for (int i = 0; i < 3; i++)
		append(log, NULL);
	drain(log);
	struct seg_io_sim_faults f = {.seed = 2, .fail_op = 2, .fail_errno = EIO};
	seg_io_sim_set_faults(io, &f);
	for (int i = 0; i < 3; i++)
		append(log, NULL);
	cr_assert_eq(seg_commit(log), 0);
	int rc = 0;
	while (rc == 0 && seg_commits_in_flight(log) > 0)
		rc = seg_poll(log, true);
	cr_assert_eq(rc, -EIO, "a failed fdatasync stops the log");
	cr_assert_eq(seg_durable_sequence(log), 3, "the failed commit is not acknowledged");
	uint64_t s, p;
	cr_assert_eq(seg_append(log, 1, "x", 1, &s, &p), -EIO, "and it stays stopped");
	seg_close(log);
}

/* An fdatasync whose completion is held back keeps the watermark where it was, though
 * its write has completed and a later commit has completed in full: acknowledgement
 * waits for the fdatasync, in commit order. A log that acknowledged on the write's
 * completion fails here, with no seed involved. */
Test(seglog, a_held_fdatasync_keeps_the_watermark_still)
{
	struct seg_log *log = open_log(0);
	for (int i = 0; i < 3; i++)
		append(log, NULL);
	drain(log);
	cr_assert_eq(seg_durable_sequence(log), 3);
	struct seg_io_sim_stats before = seg_io_sim_stats(io);
	/* Counted from here: operation 1 is the next commit's write, 2 its fdatasync. */
	struct seg_io_sim_faults f = {.seed = 6, .hold_op = 2};
	seg_io_sim_set_faults(io, &f);
	for (int i = 0; i < 3; i++)
		append(log, NULL);
	cr_assert_eq(seg_commit(log), 0);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(seg_poll(log, true), 0);
	cr_assert_eq(seg_io_sim_stats(io).writes, before.writes + 1, "the write completed");
	cr_assert_eq(seg_io_sim_stats(io).fsyncs, before.fsyncs, "its fdatasync did not");
	cr_assert_eq(seg_durable_sequence(log), 3, "not acknowledged on the write");
	for (int i = 0; i < 3; i++)
		append(log, NULL);
	cr_assert_eq(seg_commit(log), 0);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(seg_poll(log, true), 0);
	cr_assert_eq(seg_io_sim_stats(io).fsyncs, before.fsyncs + 1, "the later commit synced");
	cr_assert_eq(seg_durable_sequence(log), 3, "nor past the commit still syncing");
	cr_assert_eq(seg_commits_in_flight(log), 2);
	seg_io_sim_release(io);
	cr_assert_eq(seg_poll(log, true), 0);
	cr_assert_eq(seg_durable_sequence(log), 9, "both once the fdatasync completed");
	cr_assert_eq(seg_commits_in_flight(log), 0);
	seg_close(log);
}

/* What the open batch holds: every frame appended since the last commit, padding after. */
Test(seglog, the_open_batch_counts_its_frames_until_committed)
{
	struct seg_log *log = open_log(0);
	cr_assert_eq(seg_open_batch_bytes(log), 0, "no batch before the first append");
	uint8_t payload[PAYLOAD_MAX] = {0};
	uint64_t sequence, position;
	cr_assert_eq(seg_append(log, 1, payload, 100, &sequence, &position), 0);
	cr_assert_eq(seg_open_batch_bytes(log), SEG_RECORD_HEADER_BYTES + 100);
	cr_assert_eq(seg_append(log, 1, payload, 50, &sequence, &position), 0);
	cr_assert_eq(seg_open_batch_bytes(log), 2 * SEG_RECORD_HEADER_BYTES + 150);
	cr_assert_eq(seg_commit(log), 0);
	cr_assert_eq(seg_open_batch_bytes(log), 0, "submitted: nothing open");
	drain(log);
	cr_assert_eq(seg_open_batch_bytes(log), 0);
	seg_close(log);
}

/* A clean restart leaves the log's disk as it was: the spare segment made in the
 * background and never used is removed at close. Left behind, each open moved into it and
 * made another: one more segment per restart, up to the open-segment limit. */
Test(seglog, restarts_leave_no_spare_segment_behind)
{
	struct seg_log *log = open_log(0);
	for (int i = 0; i < 10; i++)
		append(log, NULL);
	drain(log);
	seg_close(log);
	for (int restart = 0; restart < 5; restart++) {
		log = open_log(0);
		cr_assert_eq(rec->count, 10);
		cr_assert_eq(seg_segment_count(log), 1, "restart %d", restart);
		seg_close(log);
	}
	uint64_t size;
	cr_assert_null(seg_io_sim_file_bytes(io, DIR "/0000000002.seg", &size), "no spare left");
}

Test(seglog, short_writes_are_finished)
{
	struct seg_io_sim_faults f = {.seed = 3, .short_write_percent = 60};
	seg_io_sim_set_faults(io, &f);
	struct seg_log *log = open_log(0);
	for (int i = 0; i < 300; i++)
		append(log, NULL);
	drain(log);
	cr_assert_gt(seg_io_sim_stats(io).short_writes, 0);
	cr_assert_eq(seg_durable_sequence(log), 300);
	seg_io_sim_crash(io); /* only durable bytes survive */
	seg_close(log);
	log = open_log(0);
	cr_assert_eq(rec->count, 300);
	cr_assert_eq(rec->bad, 0);
	seg_close(log);
}

Test(seglog, completions_out_of_order_advance_the_watermark_in_order)
{
	struct seg_io_sim_faults f = {.seed = 4, .reorder = true};
	seg_io_sim_set_faults(io, &f);
	struct seg_log *log = open_log(0);
	uint64_t last_durable = 0;
	for (int i = 0; i < 2000; i++) {
		append(log, NULL);
		if (i % 7 == 0) {
			cr_assert_eq(seg_commit(log), 0);
			cr_assert_eq(seg_poll(log, false), 0);
		}
		cr_assert_geq(seg_durable_sequence(log), last_durable, "never goes back");
		last_durable = seg_durable_sequence(log);
	}
	drain(log);
	cr_assert_eq(seg_durable_sequence(log), 2000);
	seg_close(log);
}

Test(seglog, memory_only_never_syncs)
{
	char why[256];
	int rc;
	struct seg_options o = {.dir = DIR,
	                        .segment_bytes = 64 << 10,
	                        .batch_bytes_max = 16384,
	                        .memory_only = true,
	                        .io = io};
	struct seg_log *log = seg_open(&o, &rc, why, sizeof(why));
	cr_assert_not_null(log);
	for (int i = 0; i < 50; i++)
		append(log, NULL);
	drain(log);
	cr_assert_eq(seg_io_sim_stats(io).fsyncs, 0);
	cr_assert_eq(seg_durable_sequence(log), 50, "written counts as done in memory mode");
	seg_close(log);
}

Test(seglog, segments_roll_and_retention_removes_old_ones)
{
	struct seg_log *log = open_log(0);
	uint64_t position = 0, first_position = 0;
	append(log, &first_position);
	for (int i = 0; i < 3000; i++)
		append(log, &position);
	drain(log);
	cr_assert_gt(position / (64 << 10), 3, "several segments");
	cr_assert_eq(seg_remove_before(log, position), 0);
	uint8_t buf[4096];
	struct seg_record_view v;
	cr_assert_eq(seg_read(log, first_position, buf, sizeof(buf), &v), -ENOENT, "removed");
	cr_assert_eq(seg_read(log, position, buf, sizeof(buf), &v), 0);
	cr_assert_eq(v.sequence, 3001);
	seg_close(log);
	log = open_log(0);
	cr_assert_gt(rec->count, 0);
	cr_assert_eq(rec->sequences[rec->count - 1], 3001);
	cr_assert_eq(rec->bad, 0);
	cr_assert_eq(seg_next_sequence(log), 3002);
	seg_close(log);
}

Test(seglog, read_by_position_and_iterate)
{
	struct seg_log *log = open_log(0);
	uint64_t positions[400];
	for (int i = 0; i < 400; i++)
		append(log, &positions[i]);
	drain(log);
	uint8_t buf[4096];
	struct seg_record_view v;
	cr_assert_eq(seg_read(log, positions[123], buf, sizeof(buf), &v), 0);
	cr_assert_eq(v.sequence, 124);
	uint64_t at = positions[0];
	for (uint64_t expected = 1; expected <= 400; expected++) {
		cr_assert_eq(seg_read(log, at, buf, sizeof(buf), &v), 0, "at %llu",
		             (unsigned long long)at);
		cr_assert_eq(v.sequence, expected);
		at = seg_next_position(log, &v);
	}
	cr_assert_eq(seg_read(log, at, buf, sizeof(buf), &v), -ENOENT, "end of the log");
	cr_assert_eq(seg_read(log, positions[5] + 1, buf, sizeof(buf), &v), -EUCLEAN,
	             "not a record boundary");
	seg_close(log);
}

Test(seglog, full_disk_is_an_error_that_loses_nothing)
{
	struct seg_log *log = open_log(0);
	for (int i = 0; i < 100; i++)
		append(log, NULL);
	drain(log);
	struct seg_io_sim_faults f = {.seed = 5, .no_space_for_new_segments = true};
	seg_io_sim_set_faults(io, &f);
	uint8_t payload[PAYLOAD_MAX];
	int rc = 0;
	uint64_t s, p;
	for (int i = 0; i < 100000 && rc == 0; i++) {
		rc = seg_append(log, 1, payload,
		                payload_for(seg_next_sequence(log), payload, PAYLOAD_MAX), &s, &p);
		if (rc == -EAGAIN)
			rc = seg_poll(log, true);
	}
	cr_assert_eq(rc, -ENOSPC, "the writer is told");
	drain(log);
	uint64_t durable = seg_durable_sequence(log);
	cr_assert_geq(durable, 100);
	f.no_space_for_new_segments = false;
	seg_io_sim_set_faults(io, &f);
	/* Space is back: the log goes on. The next segment is made in the background, so
	 * the append that starts the new attempt still hears of the last one's failure. */
	cr_assert_eq(try_append(log, NULL), -ENOSPC);
	cr_assert_eq(seg_poll(log, true), 0);
	append(log, NULL);
	drain(log);
	seg_close(log);
	log = open_log(0);
	cr_assert_eq(rec->sequences[rec->count - 1], durable + 1);
	cr_assert_eq(rec->bad, 0);
	seg_close(log);
}

Test(seglog, oversized_payloads_are_refused)
{
	struct seg_log *log = open_log(0);
	static uint8_t big[16384];
	uint64_t s, p;
	cr_assert_eq(seg_append(log, 1, big, sizeof(big), &s, &p), -EMSGSIZE);
	seg_close(log);
}

/*
 * A log keeps at most SEG_SEGMENTS_MAX segments; the roll past them is refused with
 * -EMFILE, which stops nothing: every record taken is acknowledged and reads back, the
 * oldest segment's included (segment SEG_SEGMENTS_MAX + 1 would take the oldest's slot
 * in the log's tables), after a restart too, and releasing the oldest makes room.
 * Segments of 8 KiB hold one commit each: its padding to 4 KiB leaves less than the
 * next record's frame and padding reserve.
 */
Test(seglog, the_open_segment_limit_refuses_the_roll_and_loses_nothing)
{
	struct seg_options o = {
	    .dir = DIR,
	    .segment_bytes = 8192,
	    .batch_bytes_max = 8192,
	    .commits_in_flight_max = 4,
	    .io = io,
	    .on_record = record_cb,
	    .ctx = rec,
	};
	char why[512];
	int rc = 1;
	struct seg_log *log = seg_open(&o, &rc, why, sizeof(why));
	cr_assert_eq(rc, 0, "open: %d %s", rc, why);
	uint64_t first_position = 0, position;
	uint32_t taken = 0;
	rc = 0;
	while (rc == 0 && taken <= SEG_SEGMENTS_MAX) {
		rc = try_append(log, taken == 0 ? &first_position : &position);
		if (rc == 0) {
			taken++;
			rc = seg_commit(log);
		}
	}
	cr_assert_eq(rc, -EMFILE, "the roll past the limit is refused: %d", rc);
	cr_assert_eq(taken, SEG_SEGMENTS_MAX, "one record in each segment");
	cr_assert_eq(seg_segment_count(log), SEG_SEGMENTS_MAX);
	drain(log);
	cr_assert_eq(seg_durable_sequence(log), SEG_SEGMENTS_MAX, "every record taken is acked");
	uint8_t buf[4096];
	struct seg_record_view v;
	cr_assert_eq(seg_read(log, first_position, buf, sizeof(buf), &v), 0, "the oldest reads");
	cr_assert_eq(v.sequence, 1);
	uint8_t expected[PAYLOAD_MAX];
	cr_assert_eq(v.payload_bytes, payload_for(1, expected, PAYLOAD_MAX));
	cr_assert_arr_eq(v.payload, expected, v.payload_bytes);
	seg_close(log);

	rec->count = 0;
	log = seg_open(&o, &rc, why, sizeof(why));
	cr_assert_eq(rc, 0, "reopen: %d %s", rc, why);
	cr_assert_eq(rec->count, SEG_SEGMENTS_MAX, "every record replays");
	cr_assert_eq(rec->bad, 0);
	for (uint32_t i = 0; i < rec->count; i++)
		cr_assert_eq(rec->sequences[i], i + 1);
	cr_assert_eq(try_append(log, NULL), -EMFILE, "the limit holds after a restart");
	cr_assert_eq(seg_release(log, first_position), 0);
	cr_assert_eq(seg_segment_count(log), SEG_SEGMENTS_MAX - 1, "the oldest is removed");
	append(log, NULL);
	drain(log);
	cr_assert_eq(seg_durable_sequence(log), SEG_SEGMENTS_MAX + 1, "and the log goes on");
	seg_close(log);
}

/* Starts a read without waiting and polls (never waiting) until it is reaped. */
static struct seg_read_done read_async(struct seg_log *log, uint64_t position, uint8_t *buf,
                                       size_t capacity)
{
	struct seg_read_done done = {.result = 1};
	int rc = seg_read_submit(log, position, buf, capacity, position);
	if (rc != 0)
		return (struct seg_read_done){.tag = position, .result = rc};
	for (int i = 0; i < 4 && seg_read_reap(log, &done, 1) == 0; i++)
		cr_assert_eq(seg_poll(log, false), 0);
	cr_assert_neq(done.result, 1, "the read completed");
	cr_assert_eq(done.tag, position);
	return done;
}

/*
 * seg_read_submit answers as seg_read does, record for record (across segments and
 * commit padding, from disk: the cache holds only the newest), through submit and
 * reap only (the simulator's synchronous reads stay still), and says -ENOENT,
 * -EUCLEAN, -ENOBUFS and -EAGAIN where it must.
 */
Test(seglog, reads_without_waiting_answer_as_seg_read)
{
	struct seg_options o = {.dir = DIR,
	                        .segment_bytes = 64 << 10,
	                        .batch_bytes_max = 16384,
	                        .cache_bytes = 4096,
	                        .io = io};
	char why[512];
	int rc;
	struct seg_log *log = seg_open(&o, &rc, why, sizeof(why));
	cr_assert_not_null(log, "%s", why);
	static uint64_t positions[2000];
	for (int i = 0; i < 2000; i++) {
		append(log, &positions[i]);
		if (i % 7 == 0)
			drain(log); /* commits padded to a sector: reads step over the padding */
	}
	drain(log);
	cr_assert_gt(seg_segment_count(log), 3);
	struct seg_io_sim_stats before = seg_io_sim_stats(io);
	static uint8_t a[4096], b[4096];
	for (int i = 0; i < 2000; i++) {
		struct seg_read_done done = read_async(log, positions[i], a, sizeof(a));
		struct seg_record_view v;
		cr_assert_eq(done.result, 0, "record %d: %d", i, done.result);
		cr_assert_eq(done.record.sequence, (uint64_t)i + 1);
		uint8_t expected[PAYLOAD_MAX];
		uint32_t n = payload_for((uint64_t)i + 1, expected, PAYLOAD_MAX);
		cr_assert_eq(done.record.payload_bytes, n);
		cr_assert_arr_eq(done.record.payload, expected, n);
		cr_assert_eq(seg_read(log, positions[i], b, sizeof(b), &v), 0);
		cr_assert_eq(v.sequence, done.record.sequence);
	}
	struct seg_io_sim_stats after = seg_io_sim_stats(io);
	cr_assert_geq(after.async_reads - before.async_reads, 1900, "read from disk");
	/* seg_read above made the synchronous reads; the async path none of its own. */
	cr_assert_eq(after.sync_calls - before.sync_calls, after.reads - before.reads);
	/* Where a commit ends, its padding: the next record is what comes back. */
	uint64_t end_of_first = positions[0] + SEG_RECORD_HEADER_BYTES +
	                        payload_for(1, a, PAYLOAD_MAX);
	cr_assert_eq(read_async(log, end_of_first, a, sizeof(a)).record.sequence, 2);
	cr_assert_eq(read_async(log, positions[5] + 1, a, sizeof(a)).result, -EUCLEAN);
	cr_assert_eq(read_async(log, 1000ull << 20, a, sizeof(a)).result, -ENOENT);
	cr_assert_eq(read_async(log, positions[3], a, 40).result, -ENOBUFS);
	for (uint32_t i = 0; i < SEG_READS_MAX; i++)
		cr_assert_eq(seg_read_submit(log, positions[i], a, sizeof(a), i), 0);
	cr_assert_eq(seg_read_submit(log, positions[0], a, sizeof(a), 99), -EAGAIN, "all busy");
	seg_close(log); /* waits for the reads in flight */
}

/* The durable end the marks file gives a segment (0 when no slot names it). */
static uint64_t mark_of(const struct seg_marks *m, uint32_t id)
{
	const struct seg_marks_slot *slot = &m->slot[id % SEG_MARKS_SLOTS];
	return slot->segment_id == id ? slot->durable_end : 0;
}

/*
 * The durable-marks file moves only when a commit's fdatasync completed (its
 * completion held back, the write done: the mark stays), never for a
 * memory_only log, and a reopen marks what recovery kept.
 */
Test(seglog, durable_marks_follow_fdatasync_only)
{
	char marks_path[] = "/tmp/bb-marks-XXXXXX";
	int fd = mkstemp(marks_path);
	cr_assert_geq(fd, 0);
	close(fd);
	struct seg_options o = {.dir = DIR,
	                        .segment_bytes = 64 << 10,
	                        .batch_bytes_max = 16384,
	                        .io = io,
	                        .durable_marks_path = marks_path};
	char why[512];
	int rc;
	struct seg_log *log = seg_open(&o, &rc, why, sizeof(why));
	cr_assert_not_null(log, "%s", why);
	fd = open(marks_path, O_RDONLY);
	const struct seg_marks *m = mmap(NULL, sizeof(*m), PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	cr_assert_neq(m, MAP_FAILED);
	cr_assert_eq(m->magic, SEG_MARKS_MAGIC);
	cr_assert_eq(mark_of(m, 1), 0, "a new log: nothing durable");
	struct seg_io_sim_faults f = {.seed = 3, .hold_op = 2}; /* the first commit's fsync */
	seg_io_sim_set_faults(io, &f);
	for (int i = 0; i < 20; i++)
		append(log, NULL);
	cr_assert_eq(seg_commit(log), 0);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(seg_poll(log, false), 0);
	cr_assert_eq(seg_io_sim_stats(io).writes, 1, "written");
	cr_assert_eq(mark_of(m, 1), 0, "not marked before its fdatasync");
	seg_io_sim_release(io);
	cr_assert_eq(seg_poll(log, false), 0);
	cr_assert_eq(seg_durable_sequence(log), 20);
	uint64_t end = mark_of(m, 1);
	cr_assert_gt(end, 0, "marked once durable");
	cr_assert_eq(end % 4096, 0, "a commit ends on a sector");
	seg_close(log);
	/* memory_only: acknowledged on the write, never marked beyond what recovery kept. */
	o.memory_only = true;
	log = seg_open(&o, &rc, why, sizeof(why));
	cr_assert_not_null(log, "%s", why);
	cr_assert_eq(mark_of(m, 1), end, "recovery marks what it kept");
	for (int i = 0; i < 20; i++)
		append(log, NULL);
	drain(log);
	cr_assert_eq(seg_durable_sequence(log), 40);
	cr_assert_eq(mark_of(m, 1), end, "memory_only marks nothing");
	seg_close(log);
	munmap((void *)m, sizeof(*m));
	unlink(marks_path);
}
