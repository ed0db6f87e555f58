/*
 * The peers' load loop (bench_peer.h): tokens out, completions in, one histogram.
 *
 * Tokens count up from 1; token & (BENCH_SLOTS - 1) names its slot, which holds the
 * token while it is in flight, so a completion counts only if its slot holds exactly
 * that token. At most BENCH_PEER_IN_FLIGHT_MAX (a quarter of the slots) are in flight,
 * and a token whose slot is still busy waits, so a slot is never reused under a live
 * operation. After the counted part no new operation goes out; what has not completed
 * BENCH_DRAIN_NS later is `unanswered`. The loop is bounded by that drain.
 */
#include "bench_peer.h"

#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

_Static_assert(BENCH_PEER_IN_FLIGHT_MAX <= BENCH_SLOTS / 4, "in flight never reuses a slot");

struct peer_slot {
	uint64_t token;
	uint64_t counted_from_ns; /* closed: when it went out; open: when it was due */
	uint32_t lane;
	bool busy;
};

struct peer_loop {
	const struct bench_cli *cli;
	const struct bench_peer_driver *d;
	uint64_t measure_ns, stop_ns, drain_end_ns;
	uint64_t next_token, issued_open;
	double period_ns;
	uint64_t start_ns;
	uint32_t in_flight;
	uint64_t progress_at_ns, progress_replies;
	uint32_t progress_second;
	int rc;
	struct bench_result result;
	struct bench_hist second_ns;
	struct peer_slot slots[BENCH_SLOTS];
	struct bench_peer_done done[BENCH_PEER_DONE_MAX];
};

uint64_t bench_peer_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t now_ns(const struct peer_loop *p)
{
	return p->d->now_ns != NULL ? p->d->now_ns(p->d->state) : bench_peer_now_ns();
}

int bench_peer_wait_fd(int fd, uint64_t timeout_ns)
{
	assert(fd >= 0);
	struct pollfd p = {.fd = fd, .events = POLLIN};
	struct timespec timeout = {.tv_sec = (time_t)(timeout_ns / 1000000000ull),
	                           .tv_nsec = (long)(timeout_ns % 1000000000ull)};
	int ready = ppoll(&p, 1, &timeout, NULL);
	if (ready < 0)
		return errno == EINTR ? 0 : -errno;
	return ready > 0 ? 1 : 0;
}

/* Submits the next token for lane; false when its slot is busy or the driver failed. */
static bool issue(struct peer_loop *p, uint32_t lane, uint64_t counted_from_ns)
{
	uint64_t token = p->next_token;
	struct peer_slot *slot = &p->slots[token & (BENCH_SLOTS - 1)];
	if (slot->busy || p->rc != 0)
		return false;
	assert(p->in_flight < BENCH_PEER_IN_FLIGHT_MAX);
	const struct bench_bodies *bodies = p->cli->load.bodies;
	uint32_t body = (uint32_t)(token % bodies->count);
	int rc = p->d->submit(p->d->state, token, lane, body);
	if (rc != 0) {
		fprintf(stderr, "busbar-bench %s: submit: %s\n", p->cli->labels.system,
		        strerror(-rc));
		p->rc = rc;
		return false;
	}
	*slot = (struct peer_slot){
	    .token = token, .counted_from_ns = counted_from_ns, .lane = lane, .busy = true};
	p->next_token++;
	p->in_flight++;
	p->result.sent++;
	return true;
}

/* Open loop: everything due by now goes out (latency counts from when it was due). */
static void issue_due(struct peer_loop *p, uint64_t now)
{
	while (now < p->stop_ns && p->in_flight < BENCH_PEER_IN_FLIGHT_MAX) {
		uint64_t due = p->start_ns + (uint64_t)((double)p->issued_open * p->period_ns);
		if (due > now || !issue(p, 0, due))
			return;
		p->issued_open++;
	}
}

static void complete(struct peer_loop *p, const struct bench_peer_done *done, uint64_t now)
{
	struct peer_slot *slot = &p->slots[done->token & (BENCH_SLOTS - 1)];
	if (!slot->busy || slot->token != done->token) {
		p->result.duplicates++; /* a completion for nothing in flight */
		return;
	}
	assert(p->in_flight > 0);
	slot->busy = false;
	p->in_flight--;
	bool counted = slot->counted_from_ns >= p->measure_ns && now < p->stop_ns;
	if (!done->ok) {
		p->result.errors += counted;
	} else if (counted) {
		p->result.replies++;
		if (p->cli->load.requests_max > 0 && p->result.replies == p->cli->load.requests_max)
			p->stop_ns = now + 1; /* all counted: the run ends with this completion */
		p->result.cycles += done->cycle_done;
		bench_hist_record(&p->result.latency_ns, now - slot->counted_from_ns);
		bench_hist_record(&p->second_ns, now - slot->counted_from_ns);
	}
	bool closed = p->cli->load.rate_per_s <= 0;
	if (closed && now < p->stop_ns)
		issue(p, slot->lane, now);
}

static void tick(struct peer_loop *p, uint64_t now)
{
	FILE *out = p->cli->load.progress;
	if (now < p->progress_at_ns || now >= p->stop_ns || out == NULL)
		return;
	fprintf(out,
	        "{\"progress\":\"%s\",\"mode\":\"%s\",\"t_s\":%u,\"requests_per_s\":%llu,"
	        "\"p50_us\":%.1f,\"p99_us\":%.1f,\"max_us\":%.1f,\"in_flight\":%u}\n",
	        p->cli->labels.system, p->cli->load.rate_per_s > 0 ? "open" : "closed",
	        ++p->progress_second,
	        (unsigned long long)(p->result.replies - p->progress_replies),
	        (double)bench_hist_quantile(&p->second_ns, 0.5) / 1e3,
	        (double)bench_hist_quantile(&p->second_ns, 0.99) / 1e3,
	        (double)p->second_ns.max / 1e3, p->in_flight);
	fflush(out);
	p->progress_replies = p->result.replies;
	bench_hist_reset(&p->second_ns);
	p->progress_at_ns += BENCH_PROGRESS_NS;
}

/* How long the next poll may wait: until the next open-loop token is due, or a while. */
static uint64_t poll_timeout_ns(const struct peer_loop *p, uint64_t now)
{
	if (p->cli->load.rate_per_s <= 0 || now >= p->stop_ns)
		return BENCH_PEER_POLL_NS;
	uint64_t due = p->start_ns + (uint64_t)((double)p->issued_open * p->period_ns);
	if (due <= now || p->in_flight >= BENCH_PEER_IN_FLIGHT_MAX)
		return p->in_flight >= BENCH_PEER_IN_FLIGHT_MAX ? BENCH_PEER_POLL_NS : 0;
	return due - now < BENCH_PEER_POLL_NS ? due - now : BENCH_PEER_POLL_NS;
}

static void run_loop(struct peer_loop *p)
{
	const struct bench_load_options *o = &p->cli->load;
	uint64_t now = now_ns(p);
	for (uint32_t lane = 0; o->rate_per_s <= 0 && lane < o->window; lane++)
		issue(p, lane, now);
	while (p->rc == 0) {
		now = now_ns(p);
		if (o->rate_per_s > 0)
			issue_due(p, now);
		tick(p, now);
		bool over = now >= p->stop_ns;
		if ((over && p->in_flight == 0) || now >= p->drain_end_ns)
			break;
		int n = p->d->poll(p->d->state, poll_timeout_ns(p, now), p->done,
		                   BENCH_PEER_DONE_MAX);
		if (n < 0) {
			fprintf(stderr, "busbar-bench %s: connection: %s\n", p->cli->labels.system,
			        strerror(-n));
			p->rc = n;
			break;
		}
		now = now_ns(p);
		for (int i = 0; i < n; i++)
			complete(p, &p->done[i], now);
	}
}

int bench_peer_measure(const struct bench_cli *cli, const struct bench_peer_driver *d,
                       struct bench_result *out)
{
	static struct peer_loop p;
	assert(cli->load.bodies != NULL && cli->load.bodies->count > 0);
	assert(cli->load.window >= 1 && cli->load.window <= BENCH_WINDOW_MAX);
	memset(&p, 0, sizeof(p));
	p.cli = cli;
	p.d = d;
	p.next_token = 1;
	bench_hist_reset(&p.result.latency_ns);
	bench_hist_reset(&p.second_ns);
	p.start_ns = now_ns(&p);
	p.measure_ns = p.start_ns + cli->load.warmup_ns;
	p.stop_ns = p.measure_ns + cli->load.duration_ns;
	p.drain_end_ns = p.stop_ns + BENCH_DRAIN_NS;
	p.progress_at_ns = p.measure_ns + BENCH_PROGRESS_NS;
	p.period_ns = cli->load.rate_per_s > 0 ? 1e9 / cli->load.rate_per_s : 0;
	run_loop(&p);
	p.result.unanswered = p.in_flight;
	p.result.seconds = (double)(p.stop_ns - p.measure_ns) / 1e9;
	*out = p.result;
	return p.rc;
}

int bench_peer_run(const struct bench_cli *cli, const struct bench_peer_driver *d)
{
	static struct bench_result result;
	if (bench_peer_measure(cli, d, &result) != 0)
		return 1;
	struct bench_labels labels = cli->labels;
	labels.queues = 1;
	return bench_result_print(stdout, &labels, &cli->load, &result) == 0 ? 0
	                                                                       : BENCH_EXIT_REFUSED;
}
