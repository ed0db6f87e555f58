/*
 * `busbar-bench nats`: the NATS JetStream peer, driven with libnats through the peers'
 * loop (bench_peer.c). The stream BENCH (subject `bench`, file storage, one replica)
 * is created at the start if it is not there. `send` publishes each body to `bench`
 * with a reply subject of its own, `_INBOX.bb.TOKEN`: JetStream answers there with
 * its PubAck once the message is stored, so an answer names its operation whatever
 * the order, and an answer carrying an "error" object counts as an error.
 *
 * `cycle` (closed loop) adds a durable pull consumer `c` with explicit acks: the
 * lane publishes, then asks for the next message ($JS.API.CONSUMER.MSG.NEXT, one
 * message, no wait: a status answer without a message is an empty receive and
 * the lane asks again), then acknowledges it with "+ACK" sent as a request to
 * the message's ack subject, which the server answers once the ack is processed.
 * Every answer comes to the step's own inbox, named by token, except a message got:
 * JetStream delivers it under its original subject, so it belongs to the oldest
 * NEXT still unanswered (the server answers one consumer's requests in order).
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nats/nats.h>

#include "bench_peer.h"

#define NATS_STREAM         "BENCH"
#define NATS_CONSUMER       "c"
#define NATS_NEXT_SUBJECT   "$JS.API.CONSUMER.MSG.NEXT." NATS_STREAM "." NATS_CONSUMER
#define NATS_NEXT_REQUEST   "{\"batch\":1,\"no_wait\":true}"
#define NATS_ACK_PREFIX     "$JS.ACK."
#define NATS_ACK_BYTES      256u
#define NATS_SUBJECT        "bench"
#define NATS_INBOX_PREFIX   "_INBOX.bb."
#define NATS_SUBJECT_BYTES  64u
#define NATS_URL_BYTES      128u
#define NATS_CONNECT_MS     5000
#define NATS_PENDING_MSGS   (int)(2 * BENCH_WINDOW_MAX) /* answers buffered in the client */
#define NATS_PENDING_BYTES  (16 << 20)

enum nats_step { NATS_PUBLISH, NATS_NEXT, NATS_ACK };

struct nats_lane {
	enum nats_step step;
	char ack_subject[NATS_ACK_BYTES]; /* of the message got, for its ack */
};

struct nats_bench {
	natsConnection *conn;
	natsSubscription *answers;
	const struct bench_cli *cli;
	struct nats_lane lanes[BENCH_WINDOW_MAX];
	uint32_t token_lane[BENCH_SLOTS]; /* which lane a token in flight belongs to */
	bool token_answered[BENCH_SLOTS]; /* a NEXT answered by a status, by its token */
	uint64_t nexts[BENCH_WINDOW_MAX]; /* NEXT tokens in flight, oldest first */
	uint32_t nexts_head, nexts_count;
};

static int nats_failed(natsStatus s, const char *what)
{
	fprintf(stderr, "busbar-bench nats: %s: %s (%s)\n", what, natsStatus_GetText(s),
	        nats_GetLastError(NULL));
	return -EIO;
}

/* cycle: a durable pull consumer of the whole stream, each message acknowledged. */
static int add_consumer(struct nats_bench *b, jsCtx *js)
{
	jsConsumerConfig config;
	jsConsumerConfig_Init(&config);
	config.Durable = NATS_CONSUMER;
	config.AckPolicy = js_AckExplicit;
	config.MaxAckPending = (int64_t)BENCH_WINDOW_MAX;
	jsErrCode code = 0;
	jsConsumerInfo *info = NULL;
	natsStatus s = js_AddConsumer(&info, js, NATS_STREAM, &config, NULL, &code);
	if (info != NULL)
		jsConsumerInfo_Destroy(info);
	(void)b;
	return s == NATS_OK ? 0 : nats_failed(s, "add consumer " NATS_CONSUMER);
}

/* The stream, on disk; "already in use" when a previous run made it is fine. */
static int add_stream(struct nats_bench *b)
{
	jsCtx *js = NULL;
	natsStatus s = natsConnection_JetStream(&js, b->conn, NULL);
	if (s != NATS_OK)
		return nats_failed(s, "JetStream context");
	jsStreamConfig config;
	jsStreamConfig_Init(&config);
	const char *subjects[] = {NATS_SUBJECT};
	config.Name = NATS_STREAM;
	config.Subjects = subjects;
	config.SubjectsLen = 1;
	config.Storage = js_FileStorage;
	config.Replicas = 1;
	jsErrCode code = 0;
	jsStreamInfo *info = NULL;
	s = js_AddStream(&info, js, &config, NULL, &code);
	if (info != NULL)
		jsStreamInfo_Destroy(info);
	int rc = 0;
	if (s != NATS_OK && code != JSStreamNameExistErr)
		rc = nats_failed(s, "add stream " NATS_STREAM " (is JetStream enabled?)");
	if (rc == 0 && b->cli->load.op == BENCH_OP_CYCLE)
		rc = add_consumer(b, js);
	jsCtx_Destroy(js);
	return rc;
}

static int connect_server(struct nats_bench *b)
{
	char url[NATS_URL_BYTES];
	snprintf(url, sizeof(url), "nats://%s:%u", b->cli->server_ip, b->cli->server_port);
	natsOptions *opts = NULL;
	natsStatus s = natsOptions_Create(&opts);
	if (s == NATS_OK)
		s = natsOptions_SetURL(opts, url);
	if (s == NATS_OK)
		s = natsOptions_SetTimeout(opts, NATS_CONNECT_MS);
	if (s == NATS_OK)
		s = natsOptions_SetAllowReconnect(opts, false); /* a lost server ends the run */
	if (s == NATS_OK)
		s = natsConnection_Connect(&b->conn, opts);
	natsOptions_Destroy(opts);
	if (s != NATS_OK)
		return nats_failed(s, url);
	s = natsConnection_SubscribeSync(&b->answers, b->conn, NATS_INBOX_PREFIX "*");
	if (s == NATS_OK)
		s = natsSubscription_SetPendingLimits(b->answers, NATS_PENDING_MSGS,
		                                      NATS_PENDING_BYTES);
	if (s != NATS_OK)
		return nats_failed(s, "subscribe to the answers");
	return add_stream(b);
}

static int nats_submit(void *state, uint64_t token, uint32_t lane, uint32_t body)
{
	struct nats_bench *b = state;
	const struct bench_bodies *bodies = b->cli->load.bodies;
	const struct nats_lane *l = &b->lanes[lane];
	assert(body < bodies->count);
	char reply[NATS_SUBJECT_BYTES];
	snprintf(reply, sizeof(reply), NATS_INBOX_PREFIX "%" PRIu64, token);
	b->token_lane[token & (BENCH_SLOTS - 1)] = lane;
	b->token_answered[token & (BENCH_SLOTS - 1)] = false;
	natsStatus s;
	if (l->step == NATS_NEXT) {
		assert(b->nexts_count < BENCH_WINDOW_MAX);
		b->nexts[(b->nexts_head + b->nexts_count++) % BENCH_WINDOW_MAX] = token;
		s = natsConnection_PublishRequestString(b->conn, NATS_NEXT_SUBJECT, reply,
		                                        NATS_NEXT_REQUEST);
	} else if (l->step == NATS_ACK) {
		s = natsConnection_PublishRequestString(b->conn, l->ack_subject, reply, "+ACK");
	} else {
		s = natsConnection_PublishRequest(b->conn, NATS_SUBJECT, reply, bodies->data[body],
		                                  (int)bodies->bytes[body]);
	}
	return s == NATS_OK ? 0 : nats_failed(s, "publish");
}

/* The oldest NEXT not yet answered by a status; 0 when none is in flight. */
static uint64_t oldest_next(struct nats_bench *b)
{
	while (b->nexts_count > 0) {
		uint64_t token = b->nexts[b->nexts_head];
		b->nexts_head = (b->nexts_head + 1) % BENCH_WINDOW_MAX;
		b->nexts_count--;
		if (!b->token_answered[token & (BENCH_SLOTS - 1)])
			return token;
	}
	return 0;
}

/* A message got: the oldest NEXT's lane acknowledges it next. */
static bool got(struct nats_bench *b, natsMsg *msg, struct bench_peer_done *out)
{
	const char *ack = natsMsg_GetReply(msg);
	bool message = ack != NULL && strncmp(ack, NATS_ACK_PREFIX, strlen(NATS_ACK_PREFIX)) == 0;
	uint64_t token = message ? oldest_next(b) : 0;
	if (token == 0)
		return false;
	struct nats_lane *l = &b->lanes[b->token_lane[token & (BENCH_SLOTS - 1)]];
	*out = (struct bench_peer_done){.token = token, .ok = strlen(ack) < sizeof(l->ack_subject)};
	if (out->ok) {
		snprintf(l->ack_subject, sizeof(l->ack_subject), "%s", ack);
		l->step = NATS_ACK;
	}
	return true;
}

/* One answer: the token is the reply subject's last part. A PubAck with "error", or an
 * empty one, failed; an ack's answer is empty and ends the lane's cycle. */
static bool take_answer(struct nats_bench *b, natsMsg *msg, struct bench_peer_done *out)
{
	const char *subject = natsMsg_GetSubject(msg);
	size_t prefix = strlen(NATS_INBOX_PREFIX);
	if (strncmp(subject, NATS_INBOX_PREFIX, prefix) != 0)
		return got(b, msg, out);
	char *end = NULL;
	uint64_t token = strtoull(subject + prefix, &end, 10);
	if (end == subject + prefix || *end != '\0')
		return false;
	struct nats_lane *l = &b->lanes[b->token_lane[token & (BENCH_SLOTS - 1)]];
	*out = (struct bench_peer_done){.token = token, .ok = true};
	if (l->step == NATS_NEXT) { /* a status: nothing to get yet, the lane asks again */
		b->token_answered[token & (BENCH_SLOTS - 1)] = true;
		/* answered in order, so the FIFO's answered head goes now and it stays bounded */
		while (b->nexts_count > 0 &&
		       b->token_answered[b->nexts[b->nexts_head] & (BENCH_SLOTS - 1)]) {
			b->nexts_head = (b->nexts_head + 1) % BENCH_WINDOW_MAX;
			b->nexts_count--;
		}
		return true;
	}
	if (l->step == NATS_ACK) {
		l->step = NATS_PUBLISH;
		out->cycle_done = true;
		return true;
	}
	const char *data = natsMsg_GetData(msg);
	int length = natsMsg_GetDataLength(msg);
	out->ok = length > 0 && memmem(data, (size_t)length, "\"error\"", 7) == NULL;
	if (!out->ok && length > 0)
		fprintf(stderr, "busbar-bench nats: %.*s\n", length, data);
	if (out->ok && b->cli->load.op == BENCH_OP_CYCLE)
		l->step = NATS_NEXT;
	return true;
}

static int nats_poll(void *state, uint64_t timeout_ns, struct bench_peer_done *out,
                     uint32_t max)
{
	struct nats_bench *b = state;
	/* libnats waits in whole milliseconds; 0 takes only what is already here. */
	int64_t timeout_ms = (int64_t)(timeout_ns / 1000000ull);
	uint32_t count = 0;
	while (count < max) {
		natsMsg *msg = NULL;
		natsStatus s = natsSubscription_NextMsg(&msg, b->answers, count == 0 ? timeout_ms : 0);
		if (s == NATS_TIMEOUT)
			break;
		if (s != NATS_OK)
			return nats_failed(s, "answers");
		count += take_answer(b, msg, &out[count]);
		natsMsg_Destroy(msg);
	}
	return (int)count;
}

int bench_nats_run(struct bench_cli *cli)
{
	static struct nats_bench b;
	const struct bench_load_options *o = &cli->load;
	bool supported = o->op == BENCH_OP_SEND || (o->op == BENCH_OP_CYCLE && o->rate_per_s <= 0);
	if (!supported || o->window == 0 || o->window > BENCH_WINDOW_MAX) {
		fprintf(stderr, "busbar-bench nats: --op send (closed or open loop) or cycle (closed "
		                "loop), window 1-4096\n");
		return 2;
	}
	memset(&b, 0, sizeof(b));
	b.cli = cli;
	int rc = connect_server(&b);
	struct bench_peer_driver d = {.state = &b, .submit = nats_submit, .poll = nats_poll};
	int status = rc == 0 ? bench_peer_run(cli, &d) : 1;
	natsSubscription_Destroy(b.answers);
	natsConnection_Destroy(b.conn);
	nats_Close();
	return status;
}
