/*
 * `busbar-bench sqs-http`: an SQS-compatible HTTP endpoint as a peer (busbar-control's own
 * AWS API in front of busbard, or any other), driven by the peers' loop (bench_peer.c) with
 * the same bodies, window, durations and open-loop pacing as every other system. Each
 * operation is one SendMessage in the SQS query protocol, signed with SigV4 by libcurl
 * (CURLOPT_AWS_SIGV4, region "local" as busbar-control's), answered when the endpoint
 * answers 200: busbar-control forwards it to busbard, which acknowledges a durable queue's
 * send after its fdatasync. HTTP/1.1 carries one request per connection at a time, so a
 * window of W keeps W keep-alive connections of one curl multi handle busy; there are never
 * more than W (in open loop, --window still sizes the pool).
 *
 * The key comes from the environment (BENCH_SQS_KEY_ID, BENCH_SQS_SECRET), not argv, which
 * other users see in ps. The queue is created at start (CreateQueue of an existing queue
 * with the same attributes succeeds), and one SendMessage is stored before the run, when
 * busbard has the queue (busbar-control answers CreateQueue before it pushed the queue).
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "bench_cli.h"
#include "bench_peer.h"

#define SQS_REGION_SIGV4   "aws:amz:local:sqs"
#define SQS_ACCOUNT        "000000000000" /* busbar-control's one account */
#define SQS_URL_BYTES      256u
#define SQS_CREDENTIALS_BYTES 512u
/* A form body: the action's fields and the body, percent-encoded (up to three times longer). */
#define SQS_FORM_BYTES     (3u * BENCH_BODY_BYTES_MAX + 512u)
#define SQS_REPLY_KEEP_BYTES 512u /* of an answer, kept to say why it failed */
#define SQS_TIMEOUT_MS     10000L /* an answer later than this is a failed operation */
/* busbar-control answers CreateQueue before busbard has the queue: a first send is tried
 * until it is stored, this many times 100 ms at most. */
#define SQS_READY_TRIES    100u
#define SQS_READY_WAIT_US  100000u

struct sqs_call {
	CURL *easy;
	uint64_t token;
	bool busy;
	char reply[SQS_REPLY_KEEP_BYTES];
	size_t reply_bytes;
};

struct sqs_bench {
	const struct bench_cli *cli;
	CURLM *multi;
	char url[SQS_URL_BYTES];
	char credentials[SQS_CREDENTIALS_BYTES]; /* KEY:SECRET, libcurl's user and password */
	char *forms[BENCH_BODIES_MAX];           /* a SendMessage form per body */
	struct sqs_call calls[BENCH_PEER_IN_FLIGHT_MAX];
	uint32_t free_calls[BENCH_PEER_IN_FLIGHT_MAX]; /* a stack of the calls not in flight */
	uint32_t free_count;
	uint32_t errors_told;
};

static size_t keep_reply(char *data, size_t size, size_t count, void *user)
{
	struct sqs_call *c = user;
	size_t bytes = size * count;
	size_t room = sizeof(c->reply) - 1 - c->reply_bytes;
	size_t keep = bytes < room ? bytes : room;
	memcpy(c->reply + c->reply_bytes, data, keep);
	c->reply_bytes += keep;
	c->reply[c->reply_bytes] = '\0';
	return bytes;
}

/* Sets up an easy handle as a signed POST of form to the endpoint. */
static void prepare_call(struct sqs_bench *b, struct sqs_call *c, const char *form)
{
	if (c->easy == NULL) {
		c->easy = curl_easy_init();
		curl_easy_setopt(c->easy, CURLOPT_URL, b->url);
		curl_easy_setopt(c->easy, CURLOPT_AWS_SIGV4, SQS_REGION_SIGV4);
		curl_easy_setopt(c->easy, CURLOPT_USERPWD, b->credentials);
		curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, keep_reply);
		curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, c);
		curl_easy_setopt(c->easy, CURLOPT_PRIVATE, c);
		curl_easy_setopt(c->easy, CURLOPT_TIMEOUT_MS, SQS_TIMEOUT_MS);
		curl_easy_setopt(c->easy, CURLOPT_NOSIGNAL, 1L);
	}
	/* The form outlives the call (b->forms): no copy. */
	curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, form);
	c->reply_bytes = 0;
	c->reply[0] = '\0';
}

static int sqs_submit(void *state, uint64_t token, uint32_t lane, uint32_t body)
{
	struct sqs_bench *b = state;
	(void)lane;
	/* The loop keeps at most BENCH_PEER_IN_FLIGHT_MAX tokens in flight. */
	assert(b->free_count > 0);
	assert(body < b->cli->load.bodies->count);
	struct sqs_call *c = &b->calls[b->free_calls[--b->free_count]];
	prepare_call(b, c, b->forms[body]);
	c->token = token;
	c->busy = true;
	return curl_multi_add_handle(b->multi, c->easy) == CURLM_OK ? 0 : -ENOMEM;
}

/* One finished transfer into a completion: OK only for a 200 answer. */
static void take_done(struct sqs_bench *b, CURLMsg *m, struct bench_peer_done *out)
{
	struct sqs_call *c = NULL;
	long status = 0;
	curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&c);
	curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
	assert(c != NULL && c->busy);
	curl_multi_remove_handle(b->multi, m->easy_handle);
	c->busy = false;
	b->free_calls[b->free_count++] = (uint32_t)(c - b->calls);
	*out = (struct bench_peer_done){.token = c->token,
	                                .ok = m->data.result == CURLE_OK && status == 200};
	if (!out->ok && ++b->errors_told <= 3)
		fprintf(stderr, "busbar-bench sqs-http: SendMessage failed: %s, HTTP %ld: %.200s\n",
		        curl_easy_strerror(m->data.result), status, c->reply);
}

static int sqs_poll(void *state, uint64_t timeout_ns, struct bench_peer_done *done,
                    uint32_t max)
{
	struct sqs_bench *b = state;
	int running = 0;
	if (curl_multi_perform(b->multi, &running) != CURLM_OK)
		return -EIO;
	uint32_t count = 0;
	CURLMsg *m;
	int left;
	while (count < max && (m = curl_multi_info_read(b->multi, &left)) != NULL) {
		if (m->msg == CURLMSG_DONE)
			take_done(b, m, &done[count++]);
	}
	if (count == 0 && running > 0) {
		/* libcurl waits in whole milliseconds; under one, it only looks. */
		int timeout_ms = (int)(timeout_ns / 1000000u);
		if (curl_multi_poll(b->multi, NULL, 0, timeout_ms, NULL) != CURLM_OK)
			return -EIO;
	}
	return (int)count;
}

/* One signed call outside the loop, waited for; 0 or -EIO (with the reason unless quiet). */
static int call_once(struct sqs_bench *b, const char *form, bool quiet)
{
	static struct sqs_call c;
	prepare_call(b, &c, form);
	CURLcode rc = curl_easy_perform(c.easy);
	long status = 0;
	curl_easy_getinfo(c.easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c.easy);
	c.easy = NULL;
	if (rc == CURLE_OK && status == 200)
		return 0;
	if (!quiet)
		fprintf(stderr, "busbar-bench sqs-http: %s: %s, HTTP %ld: %.200s\n", b->url,
		        curl_easy_strerror(rc), status, c.reply);
	return -EIO;
}

/* The SendMessage form of each body, percent-encoded once, before the run. */
static int build_forms(struct sqs_bench *b, CURL *escaper)
{
	const struct bench_bodies *bodies = b->cli->load.bodies;
	char queue_url[SQS_URL_BYTES];
	snprintf(queue_url, sizeof(queue_url), "http://%s:%u/" SQS_ACCOUNT "/%s",
	         b->cli->server_ip, b->cli->server_port, b->cli->load.queue);
	char *url = curl_easy_escape(escaper, queue_url, 0);
	int rc = url == NULL ? -ENOMEM : 0;
	for (uint32_t i = 0; rc == 0 && i < bodies->count; i++) {
		char *body = curl_easy_escape(escaper, (const char *)bodies->data[i],
		                              (int)bodies->bytes[i]);
		b->forms[i] = malloc(SQS_FORM_BYTES);
		if (body == NULL || b->forms[i] == NULL)
			rc = -ENOMEM;
		else
			snprintf(b->forms[i], SQS_FORM_BYTES,
			         "Action=SendMessage&Version=2012-11-05&QueueUrl=%s&MessageBody=%s",
			         url, body);
		curl_free(body);
	}
	curl_free(url);
	return rc;
}

static int prepare(struct sqs_bench *b)
{
	const struct bench_load_options *o = &b->cli->load;
	const char *key = getenv("BENCH_SQS_KEY_ID"), *secret = getenv("BENCH_SQS_SECRET");
	if (o->op != BENCH_OP_SEND || o->queue == NULL || key == NULL || secret == NULL) {
		fprintf(stderr, "busbar-bench sqs-http: --op send --queue NAME, with the key in "
		                "BENCH_SQS_KEY_ID and BENCH_SQS_SECRET\n");
		return -EINVAL;
	}
	snprintf(b->url, sizeof(b->url), "http://%s:%u/", b->cli->server_ip,
	         b->cli->server_port);
	snprintf(b->credentials, sizeof(b->credentials), "%s:%s", key, secret);
	b->multi = curl_multi_init();
	/* As an SDK's connection pool: `window` connections at most (busbar-control takes 64 per
	 * address); in open loop what is due beyond them waits for one, its latency counted. */
	if (b->multi != NULL)
		curl_multi_setopt(b->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)o->window);
	CURL *escaper = curl_easy_init();
	int rc = b->multi == NULL || escaper == NULL ? -ENOMEM : build_forms(b, escaper);
	char create[SQS_URL_BYTES];
	snprintf(create, sizeof(create), "Action=CreateQueue&Version=2012-11-05&QueueName=%s",
	         o->queue);
	if (rc == 0)
		rc = call_once(b, create, false);
	/* One message before the run, once busbard has the queue: then the run starts. */
	for (uint32_t i = 0; rc == 0 && i < SQS_READY_TRIES; i++) {
		if (call_once(b, b->forms[0], i + 1 < SQS_READY_TRIES) == 0)
			break;
		if (i + 1 == SQS_READY_TRIES)
			rc = -ETIMEDOUT;
		usleep(SQS_READY_WAIT_US);
	}
	curl_easy_cleanup(escaper);
	return rc;
}

int bench_sqs_http_run(struct bench_cli *cli)
{
	static struct sqs_bench b;
	memset(&b, 0, sizeof(b));
	b.cli = cli;
	for (uint32_t i = 0; i < BENCH_PEER_IN_FLIGHT_MAX; i++)
		b.free_calls[b.free_count++] = BENCH_PEER_IN_FLIGHT_MAX - 1 - i;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;
	int rc = prepare(&b);
	struct bench_peer_driver d = {.state = &b, .submit = sqs_submit, .poll = sqs_poll};
	int status = rc == 0 ? bench_peer_run(cli, &d) : 1;
	for (uint32_t i = 0; i < BENCH_PEER_IN_FLIGHT_MAX; i++) {
		if (b.calls[i].busy)
			curl_multi_remove_handle(b.multi, b.calls[i].easy);
		if (b.calls[i].easy != NULL)
			curl_easy_cleanup(b.calls[i].easy);
	}
	for (uint32_t i = 0; i < BENCH_BODIES_MAX; i++)
		free(b.forms[i]);
	if (b.multi != NULL)
		curl_multi_cleanup(b.multi);
	curl_global_cleanup();
	return status;
}
