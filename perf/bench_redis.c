/*
 * `busbar-bench redis`: the first peer, Redis streams, driven with the same
 * bodies, window and durations as busbard. `send` is XADD; `cycle` is XADD,
 * XREADGROUP (COUNT 1) and XACK of what was read, per window place. The
 * durability is the server's (the scenario starts redis-server with
 * appendfsync always: each reply after the AOF write and its fsync).
 *
 * One connection, the window pipelined: Redis answers a connection's commands
 * in order, so the oldest command in flight owns the next reply, and a FIFO of
 * the commands sent is all the matching there is. Latency is from the command's
 * write to its reply; closed loop only.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "bench_cli.h"

#define STREAM            "bench"
#define GROUP             "busbar-bench"
#define STREAM_ID_BYTES   64u
#define CONNECT_TIMEOUT_S 2

enum redis_step { STEP_XADD, STEP_XREADGROUP, STEP_XACK };

struct redis_lane {
	enum redis_step step;
	char id[STREAM_ID_BYTES]; /* the entry read, for XACK */
};

struct redis_sent {
	uint32_t lane;
	uint64_t sent_ns;
};

struct redis_bench {
	redisContext *ctx;
	const struct bench_cli *cli;
	struct redis_lane lanes[BENCH_WINDOW_MAX];
	struct redis_sent fifo[BENCH_WINDOW_MAX]; /* commands in flight, oldest first */
	uint32_t head, in_flight;
	uint64_t next_body, measure_ns, stop_ns, progress_at_ns, progress_replies;
	uint32_t progress_second;
	struct bench_result result;
	struct bench_hist second_ns;
};

static uint64_t monotonic_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Pipelines the lane's next command (written out when the next reply is awaited). */
static void append(struct redis_bench *b, uint32_t lane)
{
	assert(b->in_flight < b->cli->load.window);
	struct redis_lane *l = &b->lanes[lane];
	const struct bench_bodies *bodies = b->cli->load.bodies;
	if (l->step == STEP_XADD) {
		uint32_t body = (uint32_t)(b->next_body++ % bodies->count);
		redisAppendCommand(b->ctx, "XADD %s * body %b", STREAM, bodies->data[body],
		                   (size_t)bodies->bytes[body]);
	} else if (l->step == STEP_XREADGROUP) {
		redisAppendCommand(b->ctx, "XREADGROUP GROUP %s c COUNT 1 STREAMS %s >", GROUP,
		                   STREAM);
	} else {
		redisAppendCommand(b->ctx, "XACK %s %s %s", STREAM, GROUP, l->id);
	}
	uint32_t tail = (b->head + b->in_flight++) % BENCH_WINDOW_MAX;
	b->fifo[tail] = (struct redis_sent){.lane = lane, .sent_ns = monotonic_ns()};
	b->result.sent++;
}

/* The id of the first entry of an XREADGROUP reply: [[stream, [[id, fields]]]], or false. */
static bool first_entry_id(const redisReply *r, char *out)
{
	if (r->type != REDIS_REPLY_ARRAY || r->elements == 0)
		return false;
	const redisReply *stream = r->element[0];
	if (stream->type != REDIS_REPLY_ARRAY || stream->elements < 2)
		return false;
	const redisReply *entries = stream->element[1];
	if (entries->type != REDIS_REPLY_ARRAY || entries->elements == 0)
		return false;
	const redisReply *id = entries->element[0]->element[0];
	if (id->type != REDIS_REPLY_STRING || id->len >= STREAM_ID_BYTES)
		return false;
	memcpy(out, id->str, id->len);
	out[id->len] = '\0';
	return true;
}

/* Moves the lane on after its reply; counts a finished cycle. */
static void advance(struct redis_bench *b, struct redis_lane *l, const redisReply *r, bool counted)
{
	if (b->cli->load.op != BENCH_OP_CYCLE)
		return; /* send: XADD again */
	if (l->step == STEP_XADD) {
		l->step = STEP_XREADGROUP;
	} else if (l->step == STEP_XREADGROUP) {
		if (first_entry_id(r, l->id))
			l->step = STEP_XACK; /* else nothing was there for this lane: read again */
	} else {
		l->step = STEP_XADD;
		b->result.cycles += counted;
	}
}

static void take_reply(struct redis_bench *b, const redisReply *r, uint64_t now)
{
	assert(b->in_flight > 0);
	struct redis_sent sent = b->fifo[b->head];
	b->head = (b->head + 1) % BENCH_WINDOW_MAX;
	b->in_flight--;
	struct redis_lane *l = &b->lanes[sent.lane];
	bool counted = sent.sent_ns >= b->measure_ns && now < b->stop_ns;
	if (r->type == REDIS_REPLY_ERROR) {
		b->result.errors++;
		if (b->result.errors <= 3)
			fprintf(stderr, "busbar-bench redis: %s\n", r->str);
		l->step = STEP_XADD;
	} else {
		advance(b, l, r, counted);
	}
	if (counted) {
		b->result.replies++;
		bench_hist_record(&b->result.latency_ns, now - sent.sent_ns);
		bench_hist_record(&b->second_ns, now - sent.sent_ns);
	}
	if (now < b->stop_ns)
		append(b, sent.lane);
}

static void tick(struct redis_bench *b, uint64_t now)
{
	if (now < b->progress_at_ns || now >= b->stop_ns || b->cli->load.progress == NULL)
		return;
	fprintf(b->cli->load.progress,
	        "{\"progress\":\"%s\",\"mode\":\"closed\",\"t_s\":%u,\"requests_per_s\":%llu,"
	        "\"p50_us\":%.1f,\"p99_us\":%.1f,\"max_us\":%.1f,\"in_flight\":%u}\n",
	        b->cli->labels.system, ++b->progress_second,
	        (unsigned long long)(b->result.replies - b->progress_replies),
	        (double)bench_hist_quantile(&b->second_ns, 0.5) / 1e3,
	        (double)bench_hist_quantile(&b->second_ns, 0.99) / 1e3,
	        (double)b->second_ns.max / 1e3, b->in_flight);
	fflush(b->cli->load.progress);
	b->progress_replies = b->result.replies;
	bench_hist_reset(&b->second_ns);
	b->progress_at_ns += BENCH_PROGRESS_NS;
}

static int prepare(struct redis_bench *b)
{
	const struct bench_load_options *o = &b->cli->load;
	bool supported = o->op == BENCH_OP_SEND || o->op == BENCH_OP_CYCLE;
	if (!supported || o->rate_per_s > 0 || o->window == 0 || o->window > BENCH_WINDOW_MAX) {
		fprintf(stderr, "busbar-bench redis: --op send or cycle, closed loop, window "
		                "1-4096\n");
		return -EINVAL;
	}
	struct timeval timeout = {.tv_sec = CONNECT_TIMEOUT_S};
	b->ctx = redisConnectWithTimeout(b->cli->server_ip, b->cli->server_port, timeout);
	if (b->ctx == NULL || b->ctx->err) {
		fprintf(stderr, "busbar-bench redis: %s:%u: %s\n", b->cli->server_ip,
		        b->cli->server_port, b->ctx ? b->ctx->errstr : "out of memory");
		return -ECONNREFUSED;
	}
	/* The consumer group reads from the stream's end; BUSYGROUP when it exists is fine. */
	redisReply *r = redisCommand(b->ctx, "XGROUP CREATE %s %s $ MKSTREAM", STREAM, GROUP);
	if (r != NULL)
		freeReplyObject(r);
	return b->ctx->err ? -EIO : 0;
}

int bench_redis_run(struct bench_cli *cli)
{
	static struct redis_bench b;
	memset(&b, 0, sizeof(b));
	b.cli = cli;
	bench_hist_reset(&b.result.latency_ns);
	bench_hist_reset(&b.second_ns);
	int rc = prepare(&b);
	uint64_t start = monotonic_ns();
	b.measure_ns = start + cli->load.warmup_ns;
	b.stop_ns = b.measure_ns + cli->load.duration_ns;
	b.progress_at_ns = b.measure_ns + BENCH_PROGRESS_NS;
	for (uint32_t lane = 0; rc == 0 && lane < cli->load.window; lane++)
		append(&b, lane);
	/* Every command in flight is answered or the connection failed: the loop is bounded. */
	while (rc == 0 && b.in_flight > 0) {
		redisReply *r = NULL;
		if (redisGetReply(b.ctx, (void **)&r) != REDIS_OK || r == NULL) {
			fprintf(stderr, "busbar-bench redis: %s\n", b.ctx->errstr);
			rc = -EIO;
			break;
		}
		uint64_t now = monotonic_ns();
		take_reply(&b, r, now);
		freeReplyObject(r);
		tick(&b, now);
	}
	if (b.ctx != NULL)
		redisFree(b.ctx);
	if (rc != 0)
		return 1;
	b.result.seconds = (double)cli->load.duration_ns / 1e9;
	struct bench_labels labels = cli->labels;
	labels.queues = 1;
	bench_result_print(stdout, &labels, &cli->load, &b.result);
	return 0;
}
