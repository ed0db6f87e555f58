/*
 * The log's lifecycle on the simulated disk: released records free their
 * segments in order; a queue-like workload where a few messages stay
 * unacknowledged for a long time keeps disk use bounded once compaction
 * re-appends the stragglers that pin the oldest segment; recent records are
 * read from the cache, not the disk.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log_helpers.h"
#include "seg_io_sim.h"

#define PAYLOAD_MAX   200u
#define SEGMENT_BYTES (64u << 10)

static struct seg_io *io;

static struct seg_log *open_log(uint64_t cache_bytes, struct recorded *rec)
{
	struct seg_options o = {.dir = "/sim",
	                        .segment_bytes = SEGMENT_BYTES,
	                        .batch_bytes_max = 16384,
	                        .cache_bytes = cache_bytes,
	                        .io = io,
	                        .on_record = rec ? record_cb : NULL,
	                        .ctx = rec};
	int rc;
	char why[512];
	struct seg_log *log = seg_open(&o, &rc, why, sizeof(why));
	cr_assert_not_null(log, "%s", why);
	return log;
}

static void setup(void)
{
	struct seg_io_sim_faults none = {.seed = 11};
	io = seg_io_sim_create(&none);
}

static void teardown(void)
{
	io->ops->destroy(io);
}

TestSuite(lifecycle, .init = setup, .fini = teardown, .timeout = 120);

/* Appends, committing every 16 records as a loop pass would. */
static uint64_t append(struct seg_log *log, const uint8_t *payload, uint32_t length)
{
	uint64_t s, p;
	int rc;
	while ((rc = seg_append(log, 1, payload, length, &s, &p)) == -EAGAIN)
		cr_assert_eq(seg_poll(log, true), 0);
	cr_assert_eq(rc, 0, "append: %d", rc);
	if (s % 16 == 0) {
		cr_assert_eq(seg_commit(log), 0);
		cr_assert_eq(seg_poll(log, false), 0);
	}
	return p;
}

static void drain(struct seg_log *log)
{
	cr_assert_eq(seg_commit(log), 0);
	while (seg_commits_in_flight(log) > 0)
		cr_assert_eq(seg_poll(log, true), 0);
}

Test(lifecycle, released_segments_are_removed_in_order)
{
	struct seg_log *log = open_log(0, NULL);
	static uint64_t positions[3000];
	uint8_t payload[PAYLOAD_MAX];
	for (int i = 0; i < 3000; i++)
		positions[i] =
		    append(log, payload, payload_for((uint64_t)i + 1, payload, PAYLOAD_MAX));
	drain(log);
	uint32_t before = seg_segment_count(log);
	cr_assert_gt(before, 3);
	/* Release everything but record 0: nothing can go, record 0 pins the oldest segment. */
	for (int i = 1; i < 3000; i++)
		cr_assert_eq(seg_release(log, positions[i]), 0);
	cr_assert_eq(seg_segment_count(log), before, "removal is in order");
	struct seg_pin pin;
	cr_assert(seg_oldest_pin(log, &pin));
	cr_assert_eq(pin.live_records, 1);
	cr_assert_eq(seg_release(log, positions[0]), 0);
	cr_assert_eq(seg_segment_count(log), 1, "only the segment being written is left");
	cr_assert_eq(seg_release(log, positions[0]), -EINVAL, "released twice");
	seg_close(log);
}

/* A queue: each message is acknowledged soon, except one in a hundred, 3000 messages later. */
Test(lifecycle, compaction_keeps_disk_use_bounded)
{
	struct seg_log *log = open_log(0, NULL);
	enum { MESSAGES = 40000, WINDOW = 64, LATE = 3000 };
	static uint64_t position_of[MESSAGES];
	static bool live[MESSAGES];
	uint8_t payload[PAYLOAD_MAX], buf[4096];
	uint32_t max_segments = 0, reappended = 0;
	for (uint32_t m = 0; m < MESSAGES; m++) {
		uint32_t length = payload_for(m + 1, payload, PAYLOAD_MAX);
		position_of[m] = append(log, payload, length);
		live[m] = true;
		/* Acknowledge the message WINDOW back, unless it is a straggler. */
		if (m >= WINDOW && (m - WINDOW) % 100 != 0) {
			live[m - WINDOW] = false;
			cr_assert_eq(seg_release(log, position_of[m - WINDOW]), 0);
		}
		if (m >= LATE && (m - LATE) % 100 == 0) {
			live[m - LATE] = false;
			cr_assert_eq(seg_release(log, position_of[m - LATE]), 0);
		}
		/* Compaction: re-append the few live records that pin the oldest segment. */
		struct seg_pin pin;
		if (seg_oldest_pin(log, &pin) &&
		    pin.live_records <= 64) { /* a quarter of a segment */
			for (uint32_t k = 0; k <= m; k++) {
				if (!live[k] || position_of[k] < pin.first_position ||
				    position_of[k] >= pin.end_position)
					continue;
				struct seg_record_view v;
				drain(log); /* what compaction reads must be on disk */
				cr_assert_eq(seg_read(log, position_of[k], buf, sizeof(buf), &v),
				             0);
				uint64_t old = position_of[k];
				position_of[k] = append(log, v.payload, v.payload_bytes);
				cr_assert_eq(seg_release(log, old), 0);
				reappended++;
			}
		}
		if (seg_segment_count(log) > max_segments)
			max_segments = seg_segment_count(log);
	}
	cr_assert_gt(reappended, 0, "stragglers were moved");
	/* 40,000 messages fill about 160 segments: compaction must keep a handful. */
	cr_assert_leq(max_segments, 8, "disk use stayed bounded (%u segments)", max_segments);
	drain(log);
	/* Every straggler still unacknowledged is readable where compaction put it. */
	for (uint32_t m = MESSAGES - LATE + 100; m < MESSAGES - WINDOW; m += 100) {
		cr_assert(live[m]);
		struct seg_record_view v;
		cr_assert_eq(seg_read(log, position_of[m], buf, sizeof(buf), &v), 0);
		uint8_t expected[PAYLOAD_MAX];
		uint32_t length = payload_for(m + 1, expected, PAYLOAD_MAX);
		cr_assert_eq(v.payload_bytes, length);
		cr_assert_eq(memcmp(v.payload, expected, length), 0);
	}
	seg_close(log);
}

Test(lifecycle, recent_records_are_read_from_the_cache)
{
	struct seg_log *log = open_log(256 << 10, NULL);
	static uint64_t positions[4000];
	uint8_t payload[PAYLOAD_MAX], buf[4096];
	for (int i = 0; i < 4000; i++)
		positions[i] =
		    append(log, payload, payload_for((uint64_t)i + 1, payload, PAYLOAD_MAX));
	drain(log);
	struct seg_record_view v;
	uint64_t reads = seg_io_sim_stats(io).reads;
	cr_assert_eq(seg_read(log, positions[3999], buf, sizeof(buf), &v), 0);
	cr_assert_eq(v.sequence, 4000);
	cr_assert_eq(seg_io_sim_stats(io).reads, reads, "served from memory");
	cr_assert_eq(seg_read(log, positions[0], buf, sizeof(buf), &v), 0);
	cr_assert_eq(v.sequence, 1);
	cr_assert_gt(seg_io_sim_stats(io).reads, reads, "older than the budget: from disk");
	seg_close(log);
}

Test(lifecycle, recovered_records_count_as_live)
{
	struct seg_log *log = open_log(0, NULL);
	uint8_t payload[PAYLOAD_MAX];
	for (int i = 0; i < 2000; i++)
		append(log, payload, payload_for((uint64_t)i + 1, payload, PAYLOAD_MAX));
	drain(log);
	seg_close(log);
	static struct recorded rec = {.max_payload = PAYLOAD_MAX};
	log = open_log(0, &rec);
	cr_assert_eq(rec.count, 2000);
	uint32_t before = seg_segment_count(log);
	for (int i = 0; i < 1000; i++)
		cr_assert_eq(seg_release(log, rec.positions[i]), 0);
	cr_assert_lt(seg_segment_count(log), before, "released after recovery, removed");
	seg_close(log);
}

/* Appends records 1..n (one payload each) and returns the last position. */
static uint64_t fill(struct seg_log *log, uint64_t n, uint64_t *positions)
{
	uint8_t payload[PAYLOAD_MAX];
	uint64_t last = 0;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t sequence = seg_next_sequence(log);
		last = append(log, payload, payload_for(sequence, payload, PAYLOAD_MAX));
		if (positions)
			positions[sequence] = last;
	}
	return last;
}

Test(lifecycle, recovery_starts_at_a_durable_checkpoint)
{
	static uint64_t positions[5000];
	struct seg_log *log = open_log(0, NULL);
	fill(log, 2000, positions);
	uint64_t checkpoint_sequence = seg_next_sequence(log);
	uint64_t checkpoint_position = fill(log, 1, positions);
	cr_assert_eq(seg_checkpoint(log, checkpoint_position, checkpoint_sequence), 0);
	fill(log, 500, positions);
	drain(log);
	uint32_t segments = seg_segment_count(log);
	seg_close(log);

	static struct recorded rec = {.max_payload = PAYLOAD_MAX};
	log = open_log(0, &rec);
	cr_assert_eq(rec.sequences[0], checkpoint_sequence, "replay starts at the checkpoint");
	cr_assert_eq(rec.count, 501);
	cr_assert_eq(rec.bad, 0);
	cr_assert_eq(seg_next_sequence(log), 2502);
	/* Older records are still there to read and to release. */
	uint8_t buf[4096];
	struct seg_record_view v;
	cr_assert_eq(seg_read(log, positions[1], buf, sizeof(buf), &v), 0);
	cr_assert_eq(v.sequence, 1);
	for (uint64_t n = 1; n < checkpoint_sequence; n++)
		cr_assert_eq(seg_release(log, positions[n]), 0, "record %llu",
		             (unsigned long long)n);
	cr_assert_lt(seg_segment_count(log), segments, "live counts came back with the checkpoint");
	seg_close(log);
}

Test(lifecycle, a_checkpoint_not_yet_durable_is_not_used)
{
	static uint64_t positions[5000];
	struct seg_log *log = open_log(0, NULL);
	fill(log, 300, positions);
	drain(log);
	uint64_t sequence = seg_next_sequence(log);
	uint64_t position = fill(log, 1, positions);
	cr_assert_eq(seg_checkpoint(log, position, sequence), 0);
	seg_io_sim_crash(io); /* before its commit completed */
	seg_close(log);
	static struct recorded rec = {.max_payload = PAYLOAD_MAX};
	log = open_log(0, &rec);
	cr_assert_eq(rec.sequences[0], 1, "everything is replayed");
	cr_assert_geq(rec.count, 300);
	seg_close(log);
}

Test(lifecycle, a_damaged_checkpoint_file_falls_back_to_a_full_replay)
{
	struct seg_log *log = open_log(0, NULL);
	fill(log, 300, NULL);
	uint64_t sequence = seg_next_sequence(log);
	uint64_t position = fill(log, 1, NULL);
	cr_assert_eq(seg_checkpoint(log, position, sequence), 0);
	drain(log);
	seg_close(log);
	long n;
	uint8_t *bytes = seg_io_sim_meta_bytes(io, &n);
	cr_assert_gt(n, 0);
	bytes[20] ^= 1;
	static struct recorded rec = {.max_payload = PAYLOAD_MAX};
	log = open_log(0, &rec);
	cr_assert_eq(rec.sequences[0], 1);
	cr_assert_eq(rec.count, 301);
	seg_close(log);
}

Test(lifecycle, a_damaged_checkpoint_record_stops_recovery)
{
	struct seg_log *log = open_log(0, NULL);
	fill(log, 100, NULL);
	uint64_t sequence = seg_next_sequence(log);
	uint64_t position = fill(log, 1, NULL);
	cr_assert_eq(seg_checkpoint(log, position, sequence), 0);
	drain(log);
	seg_close(log);
	uint64_t size;
	char path[64];
	snprintf(path, sizeof(path), "/sim/%010llu.seg",
	         (unsigned long long)(position / SEGMENT_BYTES));
	uint8_t *bytes = seg_io_sim_file_bytes(io, path, &size);
	bytes[position % SEGMENT_BYTES + 20] ^= 1;
	struct seg_options o = {
	    .dir = "/sim", .segment_bytes = SEGMENT_BYTES, .batch_bytes_max = 16384, .io = io};
	int rc;
	char why[512];
	cr_assert_null(seg_open(&o, &rc, why, sizeof(why)));
	cr_assert_eq(rc, -EUCLEAN);
	cr_assert_neq(strstr(why, "is damaged or missing"), NULL, "%s", why);
	/* Refusing cut nothing: repaired, the log opens from its checkpoint again. */
	bytes[position % SEGMENT_BYTES + 20] ^= 1;
	struct seg_log *again = seg_open(&o, &rc, why, sizeof(why));
	cr_assert_not_null(again, "%s", why);
	seg_close(again);
}

Test(lifecycle, retention_by_size_and_by_age)
{
	struct seg_log *log = open_log(0, NULL);
	fill(log, 3000, NULL);
	drain(log);
	uint32_t before = seg_segment_count(log);
	cr_assert_gt(before, 4);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t now_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	/* Size: at most three segments of disk. */
	cr_assert_eq(seg_enforce_retention(log, 3 * (uint64_t)SEGMENT_BYTES, 0, now_ms), 0);
	cr_assert_eq(seg_segment_count(log), 3);
	/* Age: nothing is an hour old yet; in two hours, all but the one being written is. */
	cr_assert_eq(seg_enforce_retention(log, 0, 3600 * 1000, now_ms), 0);
	cr_assert_eq(seg_segment_count(log), 3);
	cr_assert_eq(seg_enforce_retention(log, 0, 3600 * 1000, now_ms + 7200 * 1000), 0);
	cr_assert_eq(seg_segment_count(log), 1, "the segment being written stays");
	uint64_t s, p;
	cr_assert_eq(seg_append(log, 1, "x", 1, &s, &p), 0, "the log goes on");
	drain(log);
	seg_close(log);
	log = open_log(0, NULL);
	cr_assert_eq(seg_next_sequence(log), s + 1);
	seg_close(log);
}
