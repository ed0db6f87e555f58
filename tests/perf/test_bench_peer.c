/*
 * The peers' load loop (perf/bench_peer.c) against a fake peer on a stepped
 * clock, so nothing depends on this machine's speed: the fake completes each
 * operation a fixed service time after it went out, in order. It proves that
 * a closed loop keeps its window busy and matches completions by token; that
 * a completion naming no operation in flight (even one of a busy slot) is a
 * duplicate and a refused one an error, never a reply; that an operation
 * never answered ends the run after the drain as `unanswered`; and that in
 * open loop a peer which blocks the sender (as a full socket would) shows its
 * stall in p99, because latency is counted from when each operation was due
 * (coordinated omission).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "bench_peer.h"

#define MS 1000000ull
#define FAKE_OPS_MAX 65536u

struct fake_op {
	uint64_t token;
	uint64_t done_ns;
};

struct fake_peer {
	uint64_t now;
	uint64_t service_ns;
	uint64_t stall_from_ns, stall_until_ns; /* a submit in this span blocks until its end */
	uint64_t lose_token;                    /* never completed */
	uint64_t refuse_token;                  /* completed with ok = false */
	uint64_t misname_token; /* completed under the token of the same slot a lap later */
	struct fake_op ops[FAKE_OPS_MAX];       /* in flight, in completion order */
	uint32_t head, count;
	uint64_t submitted;
};

static struct fake_peer fake;
static struct bench_cli cli;

static uint64_t fake_now(void *state)
{
	return ((struct fake_peer *)state)->now;
}

static int fake_submit(void *state, uint64_t token, uint32_t lane, uint32_t body)
{
	struct fake_peer *f = state;
	(void)lane, (void)body;
	if (f->now >= f->stall_from_ns && f->now < f->stall_until_ns)
		f->now = f->stall_until_ns; /* the write blocks while the peer does not read */
	f->submitted++;
	if (token == f->lose_token)
		return 0;
	cr_assert_lt(f->count, FAKE_OPS_MAX);
	f->ops[(f->head + f->count++) % FAKE_OPS_MAX] =
	    (struct fake_op){.token = token, .done_ns = f->now + f->service_ns};
	return 0;
}

static int fake_poll(void *state, uint64_t timeout_ns, struct bench_peer_done *done,
                     uint32_t max)
{
	struct fake_peer *f = state;
	uint64_t until = f->now + timeout_ns;
	if (f->count > 0 && f->ops[f->head].done_ns < until)
		until = f->ops[f->head].done_ns;
	f->now = until > f->now ? until : f->now + 1; /* time always moves */
	uint32_t n = 0;
	while (n < max && f->count > 0 && f->ops[f->head].done_ns <= f->now) {
		uint64_t token = f->ops[f->head].token;
		f->head = (f->head + 1) % FAKE_OPS_MAX;
		f->count--;
		if (token == f->misname_token)
			token += BENCH_SLOTS;
		done[n++] = (struct bench_peer_done){.token = token, .ok = token != f->refuse_token};
	}
	return (int)n;
}

static const struct bench_peer_driver driver = {
    .state = &fake, .submit = fake_submit, .poll = fake_poll, .now_ns = fake_now};

static void setup(void)
{
	memset(&fake, 0, sizeof(fake));
	memset(&cli, 0, sizeof(cli));
	fake.now = 1000 * MS;
	fake.service_ns = 1 * MS;
	cr_assert_eq(bench_bodies_generate(&cli.bodies, 64), 0);
	cli.load.bodies = &cli.bodies;
	cli.load.op = BENCH_OP_SEND;
	cli.load.window = 8;
	cli.load.duration_ns = 1000 * MS;
	cli.labels.system = "fake";
}

static void teardown(void)
{
	bench_bodies_free(&cli.bodies);
}

TestSuite(bench_peer, .init = setup, .fini = teardown);

Test(bench_peer, closed_loop_keeps_the_window_busy)
{
	struct bench_result r;
	cr_assert_eq(bench_peer_measure(&cli, &driver, &r), 0);
	/* 8 in flight, each 1 ms: 8 per ms for 1000 ms (the last round may fall outside). */
	cr_assert_geq(r.replies, 7990);
	cr_assert_leq(r.replies, 8000);
	cr_assert_eq(r.errors + r.duplicates + r.unanswered, 0);
	cr_assert_geq(bench_hist_quantile(&r.latency_ns, 0.99), 1 * MS);
	cr_assert_lt(bench_hist_quantile(&r.latency_ns, 0.99), 1 * MS + MS / 64);
}

Test(bench_peer, stray_and_refused_completions_are_not_replies)
{
	fake.misname_token = 100; /* answered as 100 + BENCH_SLOTS: its own slot, not its token */
	fake.refuse_token = 200;
	struct bench_result r;
	cr_assert_eq(bench_peer_measure(&cli, &driver, &r), 0);
	cr_assert_eq(r.duplicates, 1, "a completion naming no operation in flight");
	cr_assert_eq(r.unanswered, 1, "token 100 itself was never answered");
	cr_assert_eq(r.errors, 1);
}

Test(bench_peer, an_unanswered_operation_ends_with_the_drain)
{
	fake.lose_token = 50;
	struct bench_result r;
	cr_assert_eq(bench_peer_measure(&cli, &driver, &r), 0);
	cr_assert_eq(r.unanswered, 1);
	/* its lane stopped; the other seven went on */
	cr_assert_gt(r.replies, 6900);
	cr_assert_geq(fake.now, 1000 * MS + 1000 * MS + BENCH_DRAIN_NS);
}

Test(bench_peer, open_loop_counts_a_stall_from_when_each_operation_was_due)
{
	cli.load.rate_per_s = 1000; /* one per ms */
	fake.stall_from_ns = fake.now + 500 * MS;
	fake.stall_until_ns = fake.now + 600 * MS;
	struct bench_result r;
	cr_assert_eq(bench_peer_measure(&cli, &driver, &r), 0);
	cr_assert_eq(r.unanswered + r.errors, 0);
	cr_assert_geq(r.replies, 990);
	/* about 100 of 1000 were due during the 100 ms stall and went out late */
	cr_assert_geq(bench_hist_quantile(&r.latency_ns, 0.99), 50 * MS);
	cr_assert_lt(bench_hist_quantile(&r.latency_ns, 0.5), 2 * MS);
}
