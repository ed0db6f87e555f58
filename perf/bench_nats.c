/*
 * `busbar-bench nats`: the NATS JetStream peer, driven with libnats through the peers'
 * loop (bench_peer.c). The stream BENCH (subject `bench`, file storage, one replica)
 * is created at the start if it is not there. `send` publishes each body to `bench`
 * with a reply subject of its own, `_INBOX.bb.TOKEN`: JetStream answers there with
 * its PubAck once the message is stored, so an answer names its operation whatever
 * the order, and an answer carrying an "error" object counts as an error.
 *
 * Closed and open loop, send only: a consumer's fetch and ack have no place in the
 * asynchronous loop of core NATS requests here (see perf/README.md).
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
#define NATS_SUBJECT        "bench"
#define NATS_INBOX_PREFIX   "_INBOX.bb."
#define NATS_SUBJECT_BYTES  64u
#define NATS_URL_BYTES      128u
#define NATS_CONNECT_MS     5000
#define NATS_PENDING_MSGS   (int)(2 * BENCH_WINDOW_MAX) /* answers buffered in the client */
#define NATS_PENDING_BYTES  (16 << 20)

struct nats_bench {
	natsConnection *conn;
	natsSubscription *answers;
	const struct bench_cli *cli;
};

static int nats_failed(natsStatus s, const char *what)
{
	fprintf(stderr, "busbar-bench nats: %s: %s (%s)\n", what, natsStatus_GetText(s),
	        nats_GetLastError(NULL));
	return -EIO;
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
	jsCtx_Destroy(js);
	if (s != NATS_OK && code != JSStreamNameExistErr)
		return nats_failed(s, "add stream " NATS_STREAM " (is JetStream enabled?)");
	return 0;
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
	(void)lane;
	const struct bench_bodies *bodies = b->cli->load.bodies;
	assert(body < bodies->count);
	char reply[NATS_SUBJECT_BYTES];
	snprintf(reply, sizeof(reply), NATS_INBOX_PREFIX "%" PRIu64, token);
	natsStatus s = natsConnection_PublishRequest(b->conn, NATS_SUBJECT, reply,
	                                             bodies->data[body], (int)bodies->bytes[body]);
	return s == NATS_OK ? 0 : nats_failed(s, "publish");
}

/* One answer: the token is the reply subject's last part; a PubAck with "error" failed. */
static bool take_answer(natsMsg *msg, struct bench_peer_done *out)
{
	const char *subject = natsMsg_GetSubject(msg);
	size_t prefix = strlen(NATS_INBOX_PREFIX);
	if (strncmp(subject, NATS_INBOX_PREFIX, prefix) != 0)
		return false;
	char *end = NULL;
	uint64_t token = strtoull(subject + prefix, &end, 10);
	if (end == subject + prefix || *end != '\0')
		return false;
	const char *data = natsMsg_GetData(msg);
	int length = natsMsg_GetDataLength(msg);
	bool error = length == 0 || memmem(data, (size_t)length, "\"error\"", 7) != NULL;
	*out = (struct bench_peer_done){.token = token, .ok = !error};
	if (error && length > 0)
		fprintf(stderr, "busbar-bench nats: %.*s\n", length, data);
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
		count += take_answer(msg, &out[count]);
		natsMsg_Destroy(msg);
	}
	return (int)count;
}

int bench_nats_run(struct bench_cli *cli)
{
	static struct nats_bench b;
	const struct bench_load_options *o = &cli->load;
	if (o->op != BENCH_OP_SEND || o->window == 0 || o->window > BENCH_WINDOW_MAX) {
		fprintf(stderr, "busbar-bench nats: --op send (closed or open loop), window 1-4096\n");
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
