/*
 * crash_client: the client of the crash tests (tests/integration/run_crash.sh,
 * run_crash_power.sh, run_full_disk.sh). It talks to busbard through libbusbar,
 * over UDP or the local socket, and writes each acknowledged operation to an
 * fdatasync'd log (crash_log.h) before the next one starts, so the log holds
 * everything busbard promised whatever happens to busbard.
 *   send   seeded bodies round robin over the queues, with receives and deletes
 *          of some in between; a failure (busbard killed, restarting) is retried
 *          with the same body, so a send whose answer was lost may be stored twice.
 *   publish  as send --send-only, but each body is published to the one SNS topic
 *          --queues names (run_crash_routing.sh): each queue subscribed to it raw is
 *          then drained and checked with a copy of this log of its own.
 *   put    the same with PutEvents to the one bus --queues names: source "crash", the
 *          body as detail's "b" (a rule's InputTransformer "<b>" gives it back exactly).
 *   drain  marks the log, then reads every queue until what must be there was seen
 *          and the queues stayed empty longer than the senders' visibility timeout.
 *   check  the verdict on the log (crash_check.c).
 * Every run is bounded by --run-seconds; SIGTERM ends it between two operations.
 */
#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "busbar.h"
#include "crash_log.h"

#define CRASH_RUN_SECONDS_DEFAULT  120u
/* Per attempt. Shorter, and requests that wait while busbard recovers are sent again
 * (over the local socket as new requests, so each may be stored: more duplicates). */
#define CRASH_TIMEOUT_MS_DEFAULT   2000u
#define CRASH_RETRY_PAUSE_US       20000u
#define CRASH_VISIBILITY_S_DEFAULT 2u
/* The drain waits this much past the visibility timeout for in-flight messages to return. */
#define CRASH_DRAIN_SETTLE_S       3u
#define CRASH_DRAIN_WAIT_S         1
/* Long enough that nothing the drain received comes back while it runs. */
#define CRASH_DRAIN_VISIBILITY_S   600

struct crash_options {
	const char *mode;
	const char *server_ip;
	uint16_t server_port;
	const char *unix_socket;
	const char *queue_names[CRASH_QUEUES_MAX];
	uint32_t queue_count;
	uint64_t seed;
	const char *log_path;
	uint32_t count;       /* send: messages per queue */
	uint32_t run_seconds; /* bound on the whole run */
	uint32_t timeout_ms;
	uint32_t visibility_s;
	uint32_t filler_bytes; /* send: 0 draws a size per message */
	bool error_exit; /* send: stop at the first refused send (full disk) */
	bool send_only;  /* send: no receives or deletes, so the log only grows */
	bool publish;    /* publish: queue_names[0] is a topic */
	bool put_events; /* put: queue_names[0] is a bus */
};

struct crash_run {
	const struct crash_options *o;
	struct bb_client *client;
	struct crash_log log;
	uint64_t deadline_ns;
	uint64_t rng;
	uint32_t next_counter[CRASH_QUEUES_MAX];
	uint64_t transport_errors;
	uint64_t refused;
};

static uint64_t crash_now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static uint64_t crash_rand(struct crash_run *r)
{
	uint64_t z = (r->rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/*
 * SIGTERM and SIGINT stay blocked and are looked for here, between operations: a handler
 * would interrupt libbusbar's poll, which takes EINTR for a readable socket and then
 * blocks in recv for a reply that may never come.
 */
static bool crash_running(const struct crash_run *r)
{
	sigset_t pending;
	if (sigpending(&pending) == 0 &&
	    (sigismember(&pending, SIGTERM) == 1 || sigismember(&pending, SIGINT) == 1))
		return false;
	return crash_now_ns() < r->deadline_ns;
}

/* A transport failure: busbard is down or restarting. Drop the client, pause, go on. */
static void crash_transport_failed(struct crash_run *r)
{
	assert(r->client);
	bb_client_close(r->client);
	r->client = NULL;
	r->transport_errors++;
	usleep(CRASH_RETRY_PAUSE_US);
}

/* Opens the client if it is not open; false (after a pause) while busbard is away. */
static bool crash_connect(struct crash_run *r)
{
	if (r->client)
		return true;
	struct bb_client_options options = {
		.server_ip = r->o->server_ip,
		.server_port = r->o->server_port,
		.unix_socket = r->o->unix_socket,
		.timeout_ms = r->o->timeout_ms,
		.attempts = 2,
	};
	int rc;
	r->client = bb_client_open(&options, &rc);
	if (!r->client) {
		r->transport_errors++;
		usleep(CRASH_RETRY_PAUSE_US);
	}
	return r->client != NULL;
}

static int crash_note(struct crash_run *r, const char *line)
{
	int rc = crash_log_line(&r->log, line);
	if (rc != 0)
		fprintf(stderr, "crash_client: writing %s: %s\n", r->o->log_path, strerror(-rc));
	return rc;
}

/*
 * Sends (q, n) until it is acknowledged: 0 when it was, 1 when the run ended first,
 * 3 when --error-exit stops at a refusal, or -errno when the log cannot be written.
 */
/* PutEvents of one event carrying body (letters, digits and spaces: no JSON escapes). */
static int crash_put_event(struct crash_run *r, const char *bus, const char *body,
                           size_t body_bytes)
{
	char detail[CRASH_BODY_BYTES_MAX + 16];
	snprintf(detail, sizeof(detail), "{\"b\":\"%.*s\"}", (int)body_bytes, body);
	struct bb_event event = {.source = "crash", .detail_type = "crash", .detail = detail};
	uint32_t failed = 0;
	int rc = bb_put_events(r->client, bus, &event, 1, &failed);
	assert(rc != 0 || failed == 0 || event.status > 0);
	return rc != 0 ? rc : event.status;
}

/* One attempt at storing a body: SendMessage to queue q, Publish to topic q or PutEvents
 * to bus q. */
static int crash_store(struct crash_run *r, uint32_t q, const char *body, size_t body_bytes)
{
	assert(r->client && q < r->o->queue_count);
	const char *name = r->o->queue_names[q];
	if (r->o->put_events)
		return crash_put_event(r, name, body, body_bytes);
	if (r->o->publish) {
		struct bb_published published;
		return bb_publish(r->client, name, body, body_bytes, NULL, &published);
	}
	struct bb_sent sent;
	return bb_send_message(r->client, name, body, body_bytes, &sent);
}

static int crash_send_one(struct crash_run *r, uint32_t q, uint32_t n)
{
	char body[CRASH_BODY_BYTES_MAX];
	size_t body_bytes = crash_body(r->o->seed, q, n, r->o->filler_bytes, body, sizeof(body));
	char line[CRASH_LOG_LINE_BYTES];
	while (crash_running(r)) {
		if (!crash_connect(r))
			continue;
		int rc = crash_store(r, q, body, body_bytes);
		if (rc < 0) {
			crash_transport_failed(r);
			continue;
		}
		if (rc == 0) {
			snprintf(line, sizeof(line), "S %" PRIu32 " %" PRIu32 "\n", q, n);
			return crash_note(r, line);
		}
		r->refused++;
		snprintf(line, sizeof(line), "F %" PRIu32 " %" PRIu32 " %d\n", q, n, rc);
		int log_rc = crash_note(r, line);
		if (log_rc != 0)
			return log_rc;
		if (r->o->error_exit) {
			printf("send refused: %s: %s\n", wire_status_name((enum wire_status)rc),
			       bb_client_error(r->client));
			return 3;
		}
		usleep(CRASH_RETRY_PAUSE_US);
	}
	return 1;
}

/* Logs one delivery; *ours says whether it is one of ours, sound, with (*q, *n) its name. */
static int crash_note_delivery(struct crash_run *r, const struct bb_message *m, bool *ours,
                               uint32_t *q, uint32_t *n)
{
	char line[CRASH_LOG_LINE_BYTES];
	const int id_bytes = (int)BB_MESSAGE_ID_BYTES;
	int parsed = crash_body_parse(r->o->seed, m->body, m->body_bytes, q, n);
	*ours = parsed == 1;
	if (parsed < 0)
		snprintf(line, sizeof(line), "U %.*s\n", id_bytes, m->message_id);
	else
		snprintf(line, sizeof(line), "R %" PRIu32 " %" PRIu32 " %.*s %d\n", *q, *n,
		         id_bytes, m->message_id, parsed);
	return crash_note(r, line);
}

struct crash_delivery {
	char receipt_handle[BB_RECEIPT_HANDLE_BYTES + 1];
	char message_id[BB_MESSAGE_ID_BYTES + 1];
	uint32_t queue;
	uint32_t counter;
};

/*
 * Receives up to ten from queue q with the given visibility and logs each delivery.
 * Fills kept (receipt handles point into the client's buffer, valid until its next
 * call) and returns how many, or -errno (a transport failure is -EAGAIN).
 */
static int crash_receive(struct crash_run *r, uint32_t q, int32_t visibility_s,
                         int32_t wait_s, struct crash_delivery *kept)
{
	if (!crash_connect(r))
		return -EAGAIN;
	struct bb_receive_options options = {
		.max_messages = BB_RECEIVE_COUNT_MAX,
		.visibility_timeout_s = visibility_s,
		.wait_time_s = wait_s,
	};
	struct bb_message messages[BB_RECEIVE_COUNT_MAX];
	uint32_t count = 0;
	int rc = bb_receive_message(r->client, r->o->queue_names[q], &options, messages, &count);
	if (rc < 0) {
		crash_transport_failed(r);
		return -EAGAIN;
	}
	if (rc > 0) {
		r->refused++;
		return 0;
	}
	assert(count <= BB_RECEIVE_COUNT_MAX);
	int ours_count = 0;
	for (uint32_t i = 0; i < count; i++) {
		bool ours;
		struct crash_delivery *d = &kept[ours_count];
		rc = crash_note_delivery(r, &messages[i], &ours, &d->queue, &d->counter);
		if (rc != 0)
			return rc;
		if (!ours)
			continue;
		snprintf(d->receipt_handle, sizeof(d->receipt_handle), "%.*s",
		         (int)BB_RECEIPT_HANDLE_BYTES, messages[i].receipt_handle);
		snprintf(d->message_id, sizeof(d->message_id), "%.*s", (int)BB_MESSAGE_ID_BYTES,
		         messages[i].message_id);
		ours_count++;
	}
	return ours_count;
}

/* Receives from q and deletes about three in four of what arrived, logging each ack. */
static int crash_receive_and_delete(struct crash_run *r, uint32_t q)
{
	struct crash_delivery kept[BB_RECEIVE_COUNT_MAX];
	int count = crash_receive(r, q, (int32_t)r->o->visibility_s, 0, kept);
	if (count == -EAGAIN)
		return 0;
	if (count < 0)
		return count;
	for (int i = 0; i < count && crash_running(r); i++) {
		if (crash_rand(r) % 4 == 0)
			continue; /* left in flight: it must come back after the visibility timeout */
		if (!crash_connect(r))
			return 0;
		int rc = bb_delete_message(r->client, r->o->queue_names[q], kept[i].receipt_handle);
		if (rc > 0)
			continue; /* a handle from before a restart: refused, so not deleted */
		/* No answer (X): busbard may have deleted it and died before replying. */
		char line[CRASH_LOG_LINE_BYTES];
		snprintf(line, sizeof(line), "%c %" PRIu32 " %" PRIu32 " %s\n", rc == 0 ? 'D' : 'X',
		         kept[i].queue, kept[i].counter, kept[i].message_id);
		int log_rc = crash_note(r, line);
		if (log_rc != 0)
			return log_rc;
		if (rc < 0) {
			crash_transport_failed(r);
			return 0;
		}
	}
	return 0;
}

static bool crash_all_sent(const struct crash_run *r)
{
	for (uint32_t q = 0; q < r->o->queue_count; q++)
		if (r->next_counter[q] < r->o->count)
			return false;
	return true;
}

static int crash_send_mode(struct crash_run *r)
{
	uint32_t q = 0;
	while (crash_running(r) && !crash_all_sent(r)) {
		q = (q + 1) % r->o->queue_count;
		int rc = 0;
		if (!r->o->send_only && crash_rand(r) % 3 == 0) {
			rc = crash_receive_and_delete(r, q);
		} else if (r->next_counter[q] < r->o->count) {
			rc = crash_send_one(r, q, r->next_counter[q]);
			if (rc == 0)
				r->next_counter[q]++;
		}
		if (rc == 1)
			break;
		if (rc != 0)
			return rc < 0 ? 2 : rc;
	}
	uint64_t total = 0;
	for (uint32_t i = 0; i < r->o->queue_count; i++)
		total += r->next_counter[i];
	printf("crash_client send: %" PRIu64 " sends acknowledged, %" PRIu64
	       " transport failures, %" PRIu64 " refusals\n",
	       total, r->transport_errors, r->refused);
	return 0;
}

/* Starts each queue's counter after the highest one an earlier run of this log sent. */
static int crash_resume(struct crash_run *r)
{
	struct crash_table t;
	int rc = crash_table_load(&t, r->o->log_path, r->o->queue_count);
	for (uint32_t q = 0; rc == 0 && q < r->o->queue_count; q++)
		r->next_counter[q] = (uint32_t)(t.counter_max[q] + 1);
	crash_table_free(&t);
	return rc;
}

static bool crash_drain_complete(struct crash_table *t)
{
	for (uint32_t q = 0; q < t->queue_count; q++) {
		for (int64_t n = 0; n <= t->counter_max[q]; n++) {
			const struct crash_entry *e = crash_entry_of(t, q, (uint32_t)n);
			if (e->sends_acked > 0 && !e->deleted && !e->delete_unanswered &&
			    e->drained == 0)
				return false;
		}
	}
	return true;
}

/* One pass over every queue; the number of deliveries, or -errno for the log. */
static int crash_drain_pass(struct crash_run *r, struct crash_table *t)
{
	int delivered = 0;
	for (uint32_t q = 0; q < r->o->queue_count && crash_running(r); q++) {
		struct crash_delivery kept[BB_RECEIVE_COUNT_MAX];
		int count = crash_receive(r, q, CRASH_DRAIN_VISIBILITY_S, 0, kept);
		if (count == -EAGAIN)
			continue;
		if (count < 0)
			return count;
		for (int i = 0; i < count; i++)
			crash_table_deliver(t, kept[i].queue, kept[i].counter, kept[i].message_id,
			                    true, t->lines);
		delivered += count;
	}
	return delivered;
}

/*
 * Reads every queue until nothing more arrives for the senders' visibility timeout and
 * a margin (twice that while something expected is missing): what the send left in
 * flight comes back in that time, and so would a deleted message wrongly kept.
 */
static int crash_drain_mode(struct crash_run *r)
{
	struct crash_table t;
	int rc = crash_table_load(&t, r->o->log_path, r->o->queue_count);
	if (rc == 0)
		rc = crash_note(r, "M\n");
	t.drain_marked = true;
	uint64_t settle_ns = (uint64_t)(r->o->visibility_s + CRASH_DRAIN_SETTLE_S) * 1000000000ull;
	uint64_t quiet_since_ns = crash_now_ns();
	while (rc == 0 && crash_running(r)) {
		int delivered = crash_drain_pass(r, &t);
		if (delivered < 0) {
			rc = delivered;
			break;
		}
		if (delivered > 0) {
			quiet_since_ns = crash_now_ns();
			continue;
		}
		/* Quiet this long, nothing more can come: missing messages are lost, not late. */
		uint64_t quiet_ns = crash_now_ns() - quiet_since_ns;
		if (quiet_ns >= settle_ns && (crash_drain_complete(&t) || quiet_ns >= 2 * settle_ns))
			break;
		usleep(CRASH_RETRY_PAUSE_US * 5);
	}
	bool complete = crash_drain_complete(&t);
	crash_table_free(&t);
	printf("crash_client drain: %s, %" PRIu64 " transport failures\n",
	       complete ? "everything expected delivered" : "ended with messages missing",
	       r->transport_errors);
	return rc == 0 ? 0 : 2;
}

static void crash_usage(FILE *out)
{
	fprintf(out,
	        "usage: crash_client send|publish|put|drain|check --queues A[,B...] --seed N\n"
	        "       --log FILE [--server IP [--port N] | --local SOCKET] [--count N]\n"
	        "       [--run-seconds N] [--timeout-ms N] [--visibility N] [--filler-bytes N]\n"
	        "       [--error-exit] [--send-only]\n"
	        "send: N messages per queue (--count, at most %u), receiving and deleting some;\n"
	        "publish: N messages published to one topic (--queues TOPIC); put: N events\n"
	        "put to one bus (--queues BUS);\n"
	        "drain: reads every queue to its end; check: the verdict (exit 1 on a violation).\n",
	        CRASH_MESSAGES_PER_QUEUE_MAX);
}

static int crash_split_queues(struct crash_options *o, char *list)
{
	assert(list);
	for (char *save = NULL, *name = strtok_r(list, ",", &save); name;
	     name = strtok_r(NULL, ",", &save)) {
		if (o->queue_count == CRASH_QUEUES_MAX)
			return -E2BIG;
		o->queue_names[o->queue_count++] = name;
	}
	return o->queue_count > 0 ? 0 : -EINVAL;
}

static const struct option crash_long_options[] = {
    {"server", required_argument, NULL, 'S'},     {"port", required_argument, NULL, 'p'},
    {"local", required_argument, NULL, 'L'},      {"queues", required_argument, NULL, 'q'},
    {"seed", required_argument, NULL, 's'},       {"log", required_argument, NULL, 'l'},
    {"count", required_argument, NULL, 'c'},      {"run-seconds", required_argument, NULL, 'r'},
    {"timeout-ms", required_argument, NULL, 't'}, {"visibility", required_argument, NULL, 'v'},
    {"filler-bytes", required_argument, NULL, 'f'}, {"error-exit", no_argument, NULL, 'e'},
    {"send-only", no_argument, NULL, 'o'},        {NULL, 0, NULL, 0},
};

static int crash_parse(int argc, char **argv, struct crash_options *o)
{
	*o = (struct crash_options){.server_port = 7600, .run_seconds = CRASH_RUN_SECONDS_DEFAULT,
	                            .timeout_ms = CRASH_TIMEOUT_MS_DEFAULT,
	                            .visibility_s = CRASH_VISIBILITY_S_DEFAULT};
	if (argc < 2)
		return -EINVAL;
	o->mode = argv[1];
	int c, rc = 0;
	optind = 2;
	while (rc == 0 && (c = getopt_long(argc, argv, "", crash_long_options, NULL)) != -1) {
		switch (c) {
		case 'S': o->server_ip = optarg; break;
		case 'p': o->server_port = (uint16_t)strtoul(optarg, NULL, 10); break;
		case 'L': o->unix_socket = optarg; break;
		case 'q': rc = crash_split_queues(o, optarg); break;
		case 's': o->seed = strtoull(optarg, NULL, 10); break;
		case 'l': o->log_path = optarg; break;
		case 'c': o->count = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'r': o->run_seconds = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 't': o->timeout_ms = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'v': o->visibility_s = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'f': o->filler_bytes = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'e': o->error_exit = true; break;
		case 'o': o->send_only = true; break;
		default: rc = -EINVAL;
		}
	}
	if (rc == 0 && (!o->log_path || o->queue_count == 0 || optind != argc))
		rc = -EINVAL;
	if (rc == 0 && (o->count > CRASH_MESSAGES_PER_QUEUE_MAX ||
	                o->filler_bytes > CRASH_FILLER_BYTES_MAX))
		rc = -ERANGE;
	/* A body names its index: one topic, so every subscribed queue's drain reads index 0. */
	o->publish = strcmp(o->mode, "publish") == 0;
	o->put_events = strcmp(o->mode, "put") == 0;
	if (rc == 0 && (o->publish || o->put_events) && o->queue_count != 1)
		rc = -EINVAL;
	o->send_only |= o->publish || o->put_events;
	return rc;
}

static int crash_run_mode(const struct crash_options *o)
{
	if (!o->server_ip && !o->unix_socket) {
		fprintf(stderr, "crash_client: --server or --local\n");
		return 2;
	}
	struct crash_run r = {.o = o, .rng = o->seed, .log = {.fd = -1}};
	r.deadline_ns = crash_now_ns() + (uint64_t)o->run_seconds * 1000000000ull;
	sigset_t stop_signals;
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGINT);
	sigprocmask(SIG_BLOCK, &stop_signals, NULL);
	int rc = crash_log_open(&r.log, o->log_path);
	bool sends = strcmp(o->mode, "send") == 0 || o->publish || o->put_events;
	if (rc == 0 && sends)
		rc = crash_resume(&r);
	if (rc != 0) {
		fprintf(stderr, "crash_client: %s: %s\n", o->log_path, strerror(-rc));
		crash_log_close(&r.log);
		return 2;
	}
	int status = sends ? crash_send_mode(&r) : crash_drain_mode(&r);
	if (r.client)
		bb_client_close(r.client);
	crash_log_close(&r.log);
	return status;
}

int main(int argc, char **argv)
{
	struct crash_options o;
	if (crash_parse(argc, argv, &o) != 0) {
		crash_usage(stderr);
		return 2;
	}
	if (strcmp(o.mode, "check") == 0) {
		struct crash_check_options check = {
		    .log_path = o.log_path, .seed = o.seed, .queue_count = o.queue_count};
		return crash_check(&check);
	}
	bool sends = strcmp(o.mode, "send") == 0 || o.publish || o.put_events;
	if (!sends && strcmp(o.mode, "drain") != 0) {
		crash_usage(stderr);
		return 2;
	}
	return crash_run_mode(&o);
}
