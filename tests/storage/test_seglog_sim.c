/*
 * Many seeded runs on the simulated disk: random batch sizes, completions
 * out of order, short writes, one failing write or fdatasync (EIO or ENOSPC),
 * then a power cut at a random point and recovery. Checker: every record
 * acknowledged before the cut is recovered intact and in order, and nothing
 * is recovered that was never appended. A failing seed is printed.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>

#include "log_helpers.h"
#include "seg_io_sim.h"

#define PAYLOAD_MAX 300u
#define SEEDS       300u

static uint64_t rng_state;

static uint64_t roll(uint64_t n)
{
	rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
	return (rng_state >> 33) % n;
}

static struct seg_log *open_log(struct seg_io *io, struct recorded *rec, int *rc, char *why)
{
	struct seg_options o = {
	    .dir = "/sim",
	    .segment_bytes = 128 << 10,
	    .batch_bytes_max = 16384,
	    .commits_in_flight_max = 3,
	    .io = io,
	    .on_record = record_cb,
	    .ctx = rec,
	};
	rec->count = 0;
	rec->bad = 0;
	return seg_open(&o, rc, why, 512);
}

struct outcome {
	uint64_t acknowledged;
	uint64_t appended;
	uint64_t checkpoints[64]; /* sequences the writer made checkpoints */
	uint32_t checkpoint_count;
};

/* Appends, commits and polls at random until the cut; returns what was acknowledged. */
static struct outcome run_until_cut(struct seg_log *log, uint32_t steps)
{
	uint8_t payload[PAYLOAD_MAX];
	struct outcome o = {0};
	for (uint32_t step = 0; step < steps; step++) {
		uint64_t appends = 1 + roll(12);
		for (uint64_t i = 0; i < appends; i++) {
			uint64_t s, p;
			uint32_t n = payload_for(seg_next_sequence(log), payload, PAYLOAD_MAX);
			int rc = seg_append(log, 7, payload, n, &s, &p);
			if (rc == -EAGAIN)
				rc = seg_poll(log, true);
			if (rc != 0 && rc != -EAGAIN)
				return o; /* stopped (EIO, ENOSPC): the process would restart */
			if (rc == 0)
				o.appended = s;
			/* Now and then the record just appended becomes a checkpoint. */
			if (rc == 0 && roll(50) == 0 && o.checkpoint_count < 64 &&
			    seg_checkpoint(log, p, s) == 0)
				o.checkpoints[o.checkpoint_count++] = s;
		}
		if (seg_commit(log) != 0 || seg_poll(log, roll(3) == 0) != 0)
			return o;
		o.acknowledged = seg_durable_sequence(log);
	}
	return o;
}

Test(seglog_sim, acknowledged_records_survive_every_seed, .timeout = 240)
{
	static struct recorded rec = {.max_payload = PAYLOAD_MAX};
	uint64_t acknowledged_total = 0, seeds_losing_unacknowledged = 0, seeds_stopped = 0;
	uint64_t seeds_with_checkpoints = 0;
	for (uint64_t seed = 1; seed <= SEEDS; seed++) {
		rng_state = seed;
		struct seg_io_sim_faults faults = {
		    .seed = seed,
		    .reorder = roll(2) == 0,
		    .short_write_percent = (uint32_t)roll(30),
		    .fail_op = roll(2) == 0 ? 1 + roll(120) : 0,
		    .fail_errno = roll(2) == 0 ? EIO : ENOSPC,
		};
		struct seg_io *io = seg_io_sim_create(&faults);
		int rc;
		char why[512];
		struct seg_log *log = open_log(io, &rec, &rc, why);
		cr_assert_not_null(log, "seed %llu: open: %s", (unsigned long long)seed, why);
		struct outcome o = run_until_cut(log, 1 + (uint32_t)roll(200));
		seg_io_sim_crash(io);
		seg_close(log);
		struct seg_io_sim_faults none = {.seed = seed};
		seg_io_sim_set_faults(io, &none);
		log = open_log(io, &rec, &rc, why);
		cr_assert_not_null(log, "seed %llu: recovery refused: %s", (unsigned long long)seed,
		                   why);
		/* Replay starts at 1 or at a checkpoint the writer took, and runs without gaps
		 * through every acknowledged record, and no further than what was appended. */
		uint64_t first = rec.count > 0 ? rec.sequences[0] : 1;
		bool known_start = first == 1;
		for (uint32_t k = 0; k < o.checkpoint_count; k++)
			known_start = known_start || o.checkpoints[k] == first;
		cr_assert(known_start, "seed %llu: replay starts at %llu", (unsigned long long)seed,
		          (unsigned long long)first);
		uint64_t last = rec.count > 0 ? rec.sequences[rec.count - 1] : 0;
		cr_assert_geq(last, o.acknowledged,
		              "seed %llu: up to %llu recovered < %llu acknowledged",
		              (unsigned long long)seed, (unsigned long long)last,
		              (unsigned long long)o.acknowledged);
		cr_assert_leq(last, o.appended, "seed %llu: recovered more than appended",
		              (unsigned long long)seed);
		cr_assert_eq(rec.bad, 0, "seed %llu: damaged payload", (unsigned long long)seed);
		for (uint32_t i = 0; i < rec.count; i++)
			cr_assert_eq(rec.sequences[i], first + i, "seed %llu: out of order",
			             (unsigned long long)seed);
		acknowledged_total += o.acknowledged;
		seeds_losing_unacknowledged += last < o.appended;
		seeds_with_checkpoints += first > 1;
		seeds_stopped += o.appended < o.acknowledged + 1 ? 0 : faults.fail_op != 0;
		seg_close(log);
		io->ops->destroy(io);
	}
	/* The runs must exercise what they claim: real volume, and cuts that lose unsynced data. */
	cr_assert_gt(acknowledged_total, SEEDS * 50);
	cr_assert_gt(seeds_losing_unacknowledged, SEEDS / 10);
	cr_assert_gt(seeds_stopped, 0);
	cr_assert_gt(seeds_with_checkpoints, 0, "some recoveries started at a checkpoint");
}

/*
 * The deliberately wrong writer: counts a commit as acknowledged when its
 * write completes, before its fdatasync. The same power-cut checker must
 * catch it within a few seeds; if it did not, the test above would prove
 * nothing.
 */
Test(seglog_sim, the_checker_catches_acknowledging_before_fdatasync, .timeout = 120)
{
	static struct recorded rec = {.max_payload = PAYLOAD_MAX};
	bool caught = false;
	for (uint64_t seed = 1; seed <= SEEDS && !caught; seed++) {
		rng_state = seed;
		struct seg_io_sim_faults faults = {.seed = seed};
		struct seg_io *io = seg_io_sim_create(&faults);
		int rc;
		char why[512];
		struct seg_log *log = open_log(io, &rec, &rc, why);
		cr_assert_not_null(log);
		/* memory_only acknowledges on write completion: exactly the early ack. */
		seg_close(log);
		struct seg_options o = {.dir = "/sim",
		                        .segment_bytes = 128 << 10,
		                        .batch_bytes_max = 16384,
		                        .commits_in_flight_max = 3,
		                        .memory_only = true,
		                        .io = io};
		log = seg_open(&o, &rc, why, sizeof(why));
		struct outcome out = run_until_cut(log, 1 + (uint32_t)roll(200));
		seg_io_sim_crash(io);
		seg_close(log);
		log = open_log(io, &rec, &rc, why);
		uint64_t last = rec.count > 0 ? rec.sequences[rec.count - 1] : 0;
		caught = log == NULL || last < out.acknowledged || rec.bad != 0;
		seg_close(log);
		io->ops->destroy(io);
	}
	cr_assert(caught, "an early acknowledgement went unnoticed by the power-cut checker");
}

/* Appends one record of the deterministic payload; its position. */
static uint64_t append_one(struct seg_log *log)
{
	uint8_t payload[PAYLOAD_MAX];
	uint64_t s, p;
	uint32_t n = payload_for(seg_next_sequence(log), payload, PAYLOAD_MAX);
	int rc = seg_append(log, 7, payload, n, &s, &p);
	while (rc == -EAGAIN) {
		cr_assert_eq(seg_poll(log, true), 0);
		rc = seg_append(log, 7, payload, n, &s, &p);
	}
	cr_assert_eq(rc, 0);
	return p;
}

static void commit_until_durable(struct seg_log *log)
{
	cr_assert_eq(seg_commit(log), 0);
	while (seg_commits_in_flight(log) > 0)
		cr_assert_eq(seg_poll(log, true), 0);
}

/*
 * A process that dies between a write and its fdatasync leaves records only
 * the page cache holds. Recovery replays them, so the restarted log counts them
 * as durable and the records it appends next (in a later segment, with its own
 * fdatasync) vouch for them: recovery must make them durable, or a power cut
 * after that loses them and the log refuses to start.
 */
Test(seglog_sim, what_recovery_replays_survives_a_later_power_cut, .timeout = 120)
{
	static struct recorded rec = {.max_payload = PAYLOAD_MAX};
	const uint64_t segment_bytes = 128 << 10;
	for (uint64_t seed = 1; seed <= 20; seed++) {
		struct seg_io_sim_faults faults = {.seed = seed};
		struct seg_io *io = seg_io_sim_create(&faults);
		int rc;
		char why[512];
		struct seg_log *log = open_log(io, &rec, &rc, why);
		cr_assert_not_null(log, "%s", why);
		/* Most of segment 1, durable. */
		while (append_one(log) % segment_bytes < segment_bytes / 2)
			continue;
		commit_until_durable(log);
		/* A few more whose fdatasync fails: written, not durable; the log stops. */
		faults.fail_op = 2; /* the next commit: its write is 1, its fdatasync 2 */
		faults.fail_errno = EIO;
		seg_io_sim_set_faults(io, &faults);
		for (int i = 0; i < 5; i++)
			append_one(log);
		uint64_t not_synced = seg_next_sequence(log) - 1;
		cr_assert_eq(seg_commit(log), 0);
		while (seg_poll(log, true) == 0)
			continue;
		seg_close(log);
		/* The restart replays them from the page cache... */
		struct seg_io_sim_faults none = {.seed = seed};
		seg_io_sim_set_faults(io, &none);
		log = open_log(io, &rec, &rc, why);
		cr_assert_not_null(log, "seed %llu: %s", (unsigned long long)seed, why);
		cr_assert_eq(rec.sequences[rec.count - 1], not_synced);
		/* ...and goes on into segment 2, durably. */
		while (append_one(log) / segment_bytes < 2)
			continue;
		commit_until_durable(log);
		uint64_t acknowledged = seg_durable_sequence(log);
		seg_io_sim_crash(io);
		seg_close(log);
		log = open_log(io, &rec, &rc, why);
		cr_assert_not_null(log, "seed %llu: after the power cut: %s",
		                   (unsigned long long)seed, why);
		cr_assert_geq(rec.sequences[rec.count - 1], acknowledged, "seed %llu",
		              (unsigned long long)seed);
		cr_assert_eq(rec.bad, 0);
		seg_close(log);
		io->ops->destroy(io);
	}
}

/* ---- the background operations: creating, removing, checkpointing ---- */

#define SMALL_SEGMENT_BYTES (32u << 10)
#define RELEASE_WINDOW      150u /* records kept live behind the newest, like a queue */
#define RING                1024u

static struct seg_log *open_small(struct seg_io *io, struct recorded *rec, int *rc, char *why)
{
	struct seg_options o = {
	    .dir = "/sim",
	    .segment_bytes = SMALL_SEGMENT_BYTES,
	    .batch_bytes_max = 8192,
	    .commits_in_flight_max = 3,
	    .io = io,
	    .on_record = record_cb,
	    .ctx = rec,
	};
	rec->count = 0;
	rec->bad = 0;
	return seg_open(&o, rc, why, 512);
}

struct busy_outcome {
	struct outcome o;
	uint64_t released_upto; /* every record up to this one was released */
	uint32_t eagain;        /* appends told to come back (the spare not ready) */
	uint32_t enospc;
};

/*
 * A queue-like writer that never waits: appends, commits and polls without
 * waiting, releases the records RELEASE_WINDOW behind the newest (so the oldest
 * segments leave the disk; now and then nearly all, so several leave at once),
 * takes a checkpoint now and then, and comes back on the next pass when told
 * -EAGAIN or -ENOSPC. Stops when the log stops.
 */
static struct busy_outcome run_busy(struct seg_log *log, uint32_t steps, bool crash_anywhere)
{
	static uint64_t position_of[RING];
	uint8_t payload[PAYLOAD_MAX];
	struct busy_outcome b = {0};
	for (uint32_t step = 0; step < steps; step++) {
		for (uint64_t i = 0, appends = 1 + roll(12); i < appends; i++) {
			uint64_t s, p;
			uint32_t n = payload_for(seg_next_sequence(log), payload, PAYLOAD_MAX);
			int rc = seg_append(log, 7, payload, n, &s, &p);
			b.eagain += rc == -EAGAIN;
			b.enospc += rc == -ENOSPC;
			if (rc == -EAGAIN || rc == -ENOSPC)
				break;
			if (rc != 0)
				return b;
			b.o.appended = s;
			position_of[s % RING] = p;
			if (roll(40) == 0 && b.o.checkpoint_count < 64 && seg_checkpoint(log, p, s) == 0)
				b.o.checkpoints[b.o.checkpoint_count++] = s;
		}
		/* Now and then a burst (a purge): several segments die at once. */
		uint64_t window = roll(100) == 0 ? 10 : RELEASE_WINDOW;
		while (b.o.appended > b.released_upto + window) {
			if (seg_release(log, position_of[++b.released_upto % RING]) != 0)
				return b;
		}
		if (seg_commit(log) != 0)
			return b;
		/* A cut may come before the poll, with operations just submitted. */
		if (crash_anywhere && roll(steps) == 0)
			return b;
		if (seg_poll(log, false) != 0)
			return b;
		b.o.acknowledged = seg_durable_sequence(log);
	}
	return b;
}

/*
 * After a cut: replay starts at a record not yet released, or at a
 * checkpoint the writer took, and runs without gaps, intact, through every
 * acknowledged record and no further than what was appended.
 */
static void check_recovered(const struct recorded *rec, const struct busy_outcome *b,
                            const char *what, uint64_t n)
{
	uint64_t first = rec->count > 0 ? rec->sequences[0] : 1;
	bool known_start = first <= b->released_upto + 1;
	for (uint32_t k = 0; k < b->o.checkpoint_count; k++)
		known_start = known_start || b->o.checkpoints[k] == first;
	cr_assert(known_start, "%s %llu: replay starts at %llu, released up to %llu", what,
	          (unsigned long long)n, (unsigned long long)first,
	          (unsigned long long)b->released_upto);
	uint64_t last = rec->count > 0 ? rec->sequences[rec->count - 1] : 0;
	cr_assert_geq(last, b->o.acknowledged, "%s %llu: up to %llu recovered < %llu acknowledged",
	              what, (unsigned long long)n, (unsigned long long)last,
	              (unsigned long long)b->o.acknowledged);
	cr_assert_leq(last, b->o.appended, "%s %llu: more than appended", what,
	              (unsigned long long)n);
	cr_assert_eq(rec->bad, 0, "%s %llu: damaged payload", what, (unsigned long long)n);
	for (uint32_t i = 0; i < rec->count; i++)
		cr_assert_eq(rec->sequences[i], first + i, "%s %llu: gap", what,
		             (unsigned long long)n);
}

/*
 * What a worker's loop calls (append, commit, poll without waiting, release,
 * checkpoint) makes no call into the I/O layer but submit and reap: the next
 * segment is made in the background, old segments and the checkpoint file
 * through background operations. The simulator counts every other call.
 */
Test(seglog_sim, the_loop_makes_no_synchronous_call, .timeout = 60)
{
	static struct recorded rec = {.max_payload = PAYLOAD_MAX};
	struct seg_io_sim_faults faults = {.seed = 1};
	struct seg_io *io = seg_io_sim_create(&faults);
	int rc;
	char why[512];
	struct seg_log *log = open_small(io, &rec, &rc, why);
	cr_assert_not_null(log, "%s", why);
	struct seg_io_sim_stats before = seg_io_sim_stats(io);
	rng_state = 1;
	struct busy_outcome b = run_busy(log, 3000, false);
	struct seg_io_sim_stats after = seg_io_sim_stats(io);
	cr_assert_eq(after.sync_calls, before.sync_calls, "%llu synchronous calls on the loop",
	             (unsigned long long)(after.sync_calls - before.sync_calls));
	cr_assert_gt(b.o.acknowledged, 10000);
	cr_assert_gt(after.creates - before.creates, 20, "rolled through many segments");
	cr_assert_gt(after.removes - before.removes, 20, "and removed the released ones");
	cr_assert_gt(after.metas - before.metas, 5, "checkpoints written");
	cr_assert_leq(seg_segment_count(log), 4, "released segments are gone");
	seg_close(log);
	io->ops->destroy(io);
}

/*
 * Every background operation of a writer that rolls, removes and checkpoints
 * fails in turn (operation N for every N, EIO and ENOSPC), then the power is
 * cut: recovery must keep every acknowledged record and every record not
 * released. Each kind of operation must have been failed at least once.
 */
Test(seglog_sim, every_operation_failing_in_turn_loses_nothing, .timeout = 240)
{
	static struct recorded rec = {.max_payload = PAYLOAD_MAX};
	const uint32_t steps = 400;
	struct seg_io_sim_faults clean = {.seed = 7};
	struct seg_io *io = seg_io_sim_create(&clean);
	int rc;
	char why[512];
	struct seg_log *log = open_small(io, &rec, &rc, why);
	cr_assert_not_null(log, "%s", why);
	seg_io_sim_set_faults(io, &clean);
	uint64_t before = seg_io_sim_stats(io).ops;
	rng_state = 7;
	(void)run_busy(log, steps, false);
	uint64_t total = seg_io_sim_stats(io).ops - before;
	seg_close(log);
	io->ops->destroy(io);
	cr_assert_gt(total, 500);
	uint32_t failed_kinds = 0;
	for (uint64_t n = 1; n <= total; n++) {
		struct seg_io_sim_faults faults = {.seed = 7};
		io = seg_io_sim_create(&faults);
		log = open_small(io, &rec, &rc, why);
		cr_assert_not_null(log, "%s", why);
		faults.fail_op = n;
		faults.fail_errno = n % 2 ? EIO : ENOSPC;
		seg_io_sim_set_faults(io, &faults);
		rng_state = 7;
		struct busy_outcome b = run_busy(log, steps, false);
		failed_kinds |= 1u << seg_io_sim_stats(io).failed_kind;
		seg_io_sim_crash(io);
		seg_close(log);
		struct seg_io_sim_faults none = {.seed = n};
		seg_io_sim_set_faults(io, &none);
		log = open_small(io, &rec, &rc, why);
		cr_assert_not_null(log, "operation %llu failing: recovery refused: %s",
		                   (unsigned long long)n, why);
		check_recovered(&rec, &b, "operation failing", n);
		seg_close(log);
		io->ops->destroy(io);
	}
	uint32_t every = 1u << SEG_IO_WRITE | 1u << SEG_IO_FSYNC | 1u << SEG_IO_CREATE |
	                 1u << SEG_IO_REMOVE | 1u << SEG_IO_META;
	cr_assert_eq(failed_kinds & every, every, "kinds failed: %#x", failed_kinds);
}

/*
 * Power cuts at random points of the same writer, completions out of order,
 * so some land with a segment half created (opened, not preallocated, its name
 * not yet durable) or half removed (unlinked before the directory fsync), and
 * names not yet made durable come back or go. Recovery must keep every
 * acknowledged record and every record not released; the runs must have met
 * each of those cases.
 */
Test(seglog_sim, cuts_during_creation_and_removal_lose_nothing, .timeout = 240)
{
	static struct recorded rec = {.max_payload = PAYLOAD_MAX};
	struct seg_io_sim_stats seen = {0};
	for (uint64_t seed = 1; seed <= SEEDS; seed++) {
		struct seg_io_sim_faults faults = {.seed = seed, .reorder = true};
		struct seg_io *io = seg_io_sim_create(&faults);
		int rc;
		char why[512];
		struct seg_log *log = open_small(io, &rec, &rc, why);
		cr_assert_not_null(log, "%s", why);
		rng_state = seed;
		struct busy_outcome b = run_busy(log, 50 + (uint32_t)roll(1000), true);
		seg_io_sim_crash(io);
		seg_close(log);
		struct seg_io_sim_stats st = seg_io_sim_stats(io);
		seen.cut_ops[SEG_IO_CREATE] += st.cut_ops[SEG_IO_CREATE];
		seen.cut_ops[SEG_IO_REMOVE] += st.cut_ops[SEG_IO_REMOVE];
		seen.cut_ops[SEG_IO_META] += st.cut_ops[SEG_IO_META];
		seen.names_restored += st.names_restored;
		seen.names_lost += st.names_lost;
		log = open_small(io, &rec, &rc, why);
		cr_assert_not_null(log, "seed %llu: recovery refused: %s", (unsigned long long)seed,
		                   why);
		check_recovered(&rec, &b, "seed", seed);
		seg_close(log);
		io->ops->destroy(io);
	}
	cr_assert_gt(seen.cut_ops[SEG_IO_CREATE], 10, "cuts during a creation");
	cr_assert_gt(seen.cut_ops[SEG_IO_REMOVE], 10, "cuts during a removal");
	cr_assert_gt(seen.cut_ops[SEG_IO_META], 0, "cuts during a checkpoint");
	cr_assert_gt(seen.names_restored, 0, "an unlink lost to the cut");
	cr_assert_gt(seen.names_lost, 0, "a creation lost to the cut");
}
