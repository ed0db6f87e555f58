/*
 * `busbar-bench redis`: the first peer, Redis streams, driven with the same
 * bodies, window and durations as busbard. `send` is XADD; `cycle` is XADD,
 * XREADGROUP (COUNT 1) and XACK of what was read, per window place. The
 * durability is the server's (the scenario starts redis-server with
 * appendfsync always: each reply after the AOF write and its fsync).
 *
 * One connection, the window pipelined: Redis answers a connection's commands
 * in order, so the oldest command in flight owns the next reply, and a FIFO of
 * the commands sent is all the matching there is. The peers' loop (bench_peer.c)
 * paces it: closed loop (latency from the command's write to its reply) and, for
 * send, open loop (latency from when the command was due).
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "bench_cli.h"
#include "bench_peer.h"

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
	uint64_t token;
	uint32_t lane;
};

struct redis_bench {
	redisContext *ctx;
	const struct bench_cli *cli;
	struct redis_lane lanes[BENCH_WINDOW_MAX];
	struct redis_sent fifo[BENCH_PEER_IN_FLIGHT_MAX]; /* commands in flight, oldest first */
	uint32_t head, in_flight;
};

/* Writes the lane's next command (the whole output buffer: Redis answers in order). */
static int redis_submit(void *state, uint64_t token, uint32_t lane, uint32_t body)
{
	struct redis_bench *b = state;
	assert(b->in_flight < BENCH_PEER_IN_FLIGHT_MAX);
	struct redis_lane *l = &b->lanes[lane];
	const struct bench_bodies *bodies = b->cli->load.bodies;
	if (l->step == STEP_XADD) {
		redisAppendCommand(b->ctx, "XADD %s * body %b", STREAM, bodies->data[body],
		                   (size_t)bodies->bytes[body]);
	} else if (l->step == STEP_XREADGROUP) {
		redisAppendCommand(b->ctx, "XREADGROUP GROUP %s c COUNT 1 STREAMS %s >", GROUP,
		                   STREAM);
	} else {
		redisAppendCommand(b->ctx, "XACK %s %s %s", STREAM, GROUP, l->id);
	}
	uint32_t tail = (b->head + b->in_flight++) % BENCH_PEER_IN_FLIGHT_MAX;
	b->fifo[tail] = (struct redis_sent){.token = token, .lane = lane};
	int written = 0;
	/* A blocking socket: each call writes what the kernel takes, bounded by the buffer. */
	while (!written) {
		if (redisBufferWrite(b->ctx, &written) != REDIS_OK)
			return -EIO;
	}
	return 0;
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

/* Moves the lane on after its reply; true when that finished a cycle. */
static bool advance(struct redis_bench *b, struct redis_lane *l, const redisReply *r)
{
	if (b->cli->load.op != BENCH_OP_CYCLE)
		return false; /* send: XADD again */
	if (r->type == REDIS_REPLY_ERROR) {
		l->step = STEP_XADD;
		return false;
	}
	if (l->step == STEP_XADD) {
		l->step = STEP_XREADGROUP;
	} else if (l->step == STEP_XREADGROUP) {
		if (first_entry_id(r, l->id))
			l->step = STEP_XACK; /* else nothing was there for this lane: read again */
	} else {
		l->step = STEP_XADD;
		return true;
	}
	return false;
}

/* The oldest command in flight owns the reply. */
static void take_reply(struct redis_bench *b, const redisReply *r, struct bench_peer_done *out)
{
	assert(b->in_flight > 0);
	struct redis_sent sent = b->fifo[b->head];
	b->head = (b->head + 1) % BENCH_PEER_IN_FLIGHT_MAX;
	b->in_flight--;
	bool error = r->type == REDIS_REPLY_ERROR;
	if (error)
		fprintf(stderr, "busbar-bench redis: %s\n", r->str);
	bool cycle_done = advance(b, &b->lanes[sent.lane], r);
	*out = (struct bench_peer_done){.token = sent.token, .ok = !error, .cycle_done = cycle_done};
}

static int redis_poll(void *state, uint64_t timeout_ns, struct bench_peer_done *out,
                      uint32_t max)
{
	struct redis_bench *b = state;
	uint32_t count = 0;
	void *reply = NULL;
	/* Replies already read come first; then wait for the socket once and read what came. */
	for (int pass = 0; pass < 2 && count == 0; pass++) {
		if (pass == 1) {
			int ready = bench_peer_wait_fd(b->ctx->fd, timeout_ns);
			if (ready <= 0)
				return ready;
			if (redisBufferRead(b->ctx) != REDIS_OK)
				return -EIO;
		}
		while (count < max && b->in_flight > 0) {
			if (redisGetReplyFromReader(b->ctx, &reply) != REDIS_OK)
				return -EPROTO;
			if (reply == NULL)
				break;
			take_reply(b, reply, &out[count++]);
			freeReplyObject(reply);
		}
	}
	return (int)count;
}

static int prepare(struct redis_bench *b)
{
	const struct bench_load_options *o = &b->cli->load;
	bool supported =
	    o->op == BENCH_OP_SEND || (o->op == BENCH_OP_CYCLE && o->rate_per_s <= 0);
	if (!supported || o->window == 0 || o->window > BENCH_WINDOW_MAX) {
		fprintf(stderr, "busbar-bench redis: --op send (closed or open loop) or cycle "
		                "(closed loop), window 1-4096\n");
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
	int rc = prepare(&b);
	struct bench_peer_driver d = {.state = &b, .submit = redis_submit, .poll = redis_poll};
	int status = rc == 0 ? bench_peer_run(cli, &d) : 1;
	if (b.ctx != NULL)
		redisFree(b.ctx);
	return status;
}
