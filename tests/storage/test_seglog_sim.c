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
