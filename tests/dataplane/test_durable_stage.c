/*
 * The reply stage and recovery of a durable worker, through the packet path: the worker's log
 * runs on storage's simulator (seg_io_sim), which can hold a commit's fdatasync back. Proves
 * that a SendMessage and a DeleteMessage get no reply while their fdatasync is held and get it
 * once it completes, and that recovery (dp_worker_recover) releases the records of a queue the
 * snapshot no longer has (its segments go) and refuses, with -EXDEV and a reason, a log that
 * holds messages of a queue another worker owns; and that sends arriving while a commit is in
 * flight wait for it and go out together (group commit), unless their batch is large.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "packet_harness.h"
#include "seg_io_sim.h"

#define LOG_DIR       "/sim/busbar"
#define SEGMENT_BYTES (2u << 20) /* the smallest the log takes with its default batch */
#define PASSES_MAX    16u

static struct seg_io *io;
static struct replies replies;

static void recover(void)
{
	struct dp_worker_log_options options = {
	    .dir = LOG_DIR, .segment_bytes = SEGMENT_BYTES, .io = io};
	char why[256];
	int rc = dp_worker_recover(h.worker, &options, why, sizeof(why));
	cr_assert_eq(rc, 0, "recover: %d %s", rc, why);
}

static void setup(void)
{
	harness_setup();
	struct seg_io_sim_faults none = {.seed = 11};
	io = seg_io_sim_create(&none);
	cr_assert_not_null(io);
	recover();
}

static void teardown(void)
{
	harness_teardown();
	io->ops->destroy(io);
}

TestSuite(durable_stage, .init = setup, .fini = teardown, .timeout = 120);

/* The process ends (the log closes, nothing held is answered) and a new worker starts with a
 * body store of store_mbufs. */
static void restart_worker_with(uint32_t store_mbufs)
{
	harness_flush_tx();
	struct dp_tx capture = h.worker->tx; /* the harness's flush into h.sent */
	dp_worker_destroy(h.worker);
	struct dp_worker_options options = {.index = 0, .store_mbufs = store_mbufs, .socket_id = 0};
	int rc;
	h.worker = dp_worker_create(&h.app, &options, &rc);
	cr_assert_not_null(h.worker, "worker: %d", rc);
	h.app.workers[0] = h.worker;
	h.worker->tx.flush = capture.flush;
	h.worker->tx.context = capture.context;
}

static void restart_worker(void)
{
	restart_worker_with(4095);
}

static void input_request(struct request *r)
{
	uint32_t length = request_finish(r);
	struct rte_mbuf *m = frame_udp(r->bytes, length);
	harness_input(&m, 1);
	take_replies(&replies);
}

static void send_body(struct request *r, uint64_t request_id, const char *queue, const char *body)
{
	request_begin(r, WIRE_OP_SEND_MESSAGE, request_id);
	wire_put_str(&r->fields, WIRE_TAG_QUEUE_NAME, queue);
	wire_put_str(&r->fields, WIRE_TAG_BODY, body);
	input_request(r);
}

/* Loop passes until a reply comes (the simulator completes what is not held). */
static void pass_until_reply(void)
{
	for (uint32_t i = 0; i < PASSES_MAX && replies.udp_datagrams == 0; i++) {
		harness_advance_ms(1);
		take_replies(&replies);
	}
	cr_assert_eq(replies.udp_datagrams, 1, "answered once durable");
	cr_assert_eq(replies.header.status, WIRE_OK);
}

/* Counted from here: operation 1 is the next commit's write, 2 its fdatasync. */
static void hold_next_fdatasync(void)
{
	struct seg_io_sim_faults f = {.seed = 12, .hold_op = 2};
	seg_io_sim_set_faults(io, &f);
}

static void assert_held(uint64_t fsyncs_before)
{
	for (uint32_t i = 0; i < PASSES_MAX; i++) {
		harness_advance_ms(1);
		take_replies(&replies);
		cr_assert_eq(replies.udp_datagrams, 0, "no reply before its fdatasync completed");
	}
	cr_assert_eq(seg_io_sim_stats(io).fsyncs, fsyncs_before, "the fdatasync is held");
	cr_assert_gt(seg_io_sim_stats(io).writes, 0, "the write was issued");
}

Test(durable_stage, send_and_delete_are_answered_only_after_their_fdatasync)
{
	struct request r;
	hold_next_fdatasync();
	uint64_t fsyncs = seg_io_sim_stats(io).fsyncs;
	send_body(&r, 1, TEST_QUEUE, "kept");
	cr_assert_eq(replies.udp_datagrams, 0, "the send waits in the reply stage");
	cr_assert_eq(h.worker->held_count, 1);
	assert_held(fsyncs);
	seg_io_sim_release(io);
	pass_until_reply();
	const uint8_t *id;
	cr_assert_eq(reply_field(&replies, WIRE_TAG_MESSAGE_ID, &id), BB_MESSAGE_ID_BYTES);
	cr_assert_eq(h.worker->held_count, 0);

	request_begin(&r, WIRE_OP_RECEIVE_MESSAGE, 2);
	wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, TEST_QUEUE);
	input_request(&r);
	cr_assert_eq(replies.udp_datagrams, 1, "a receive is not held");
	const uint8_t *handle;
	int handle_bytes = reply_field(&replies, WIRE_TAG_RECEIPT_HANDLE, &handle);
	cr_assert_eq(handle_bytes, BB_RECEIPT_HANDLE_BYTES);
	char text[BB_RECEIPT_HANDLE_BYTES + 1];
	memcpy(text, handle, BB_RECEIPT_HANDLE_BYTES);
	text[BB_RECEIPT_HANDLE_BYTES] = '\0';
	harness_advance_ms(1); /* the RECEIVE record's commit, not held */

	hold_next_fdatasync();
	fsyncs = seg_io_sim_stats(io).fsyncs;
	request_begin(&r, WIRE_OP_DELETE_MESSAGE, 3);
	wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, TEST_QUEUE);
	wire_put_str(&r.fields, WIRE_TAG_RECEIPT_HANDLE, text);
	input_request(&r);
	cr_assert_eq(replies.udp_datagrams, 0, "the delete waits in the reply stage");
	assert_held(fsyncs);
	seg_io_sim_release(io);
	pass_until_reply();
	cr_assert_eq(sqs_inflight_count(h.worker->sqs, 0), 0);
	cr_assert_eq(h.worker->stats.replies_held, 2);
}

/*
 * Group commit (dp_log.h, DP_LOG_OVERLAP_BYTES_MIN): sends that arrive while a commit is in
 * flight wait in the open batch and go out together when it completes, not as a commit of
 * their own each pass. (A queue holds 4 messages with tiny limits: four sends here.)
 */
Test(durable_stage, sends_during_a_commit_in_flight_wait_and_go_out_as_one_commit)
{
	struct request r;
	uint64_t writes = seg_io_sim_stats(io).writes;
	hold_next_fdatasync();
	send_body(&r, 1, TEST_QUEUE, "first");
	cr_assert_eq(seg_io_sim_stats(io).writes, writes + 1, "nothing in flight: committed now");
	for (uint64_t id = 2; id <= 4; id++)
		send_body(&r, id, TEST_QUEUE, "next");
	harness_advance_ms(1);
	cr_assert_eq(seg_io_sim_stats(io).writes, writes + 1, "a small batch waits");
	cr_assert_eq(h.worker->held_count, 4);
	cr_assert_eq(h.worker->stats.log_commits, 1);
	cr_assert_eq(h.worker->stats.log_records_committed, 1);
	seg_io_sim_release(io);
	uint32_t answered = 0;
	for (uint32_t i = 0; i < PASSES_MAX && answered < 4; i++) {
		harness_advance_ms(1);
		take_replies(&replies);
		answered += replies.udp_datagrams;
	}
	cr_assert_eq(answered, 4, "every send answered once durable");
	cr_assert_eq(seg_io_sim_stats(io).writes, writes + 2, "the three waited: one commit");
	cr_assert_eq(h.worker->stats.log_commits, 2);
	cr_assert_eq(h.worker->stats.log_records_committed, 4);
}

/* Over the local socket; the reply, if any, into `replies`. */
static bool send_local(uint64_t request_id, const char *body)
{
	static struct request r;
	request_begin(&r, WIRE_OP_SEND_MESSAGE, request_id);
	wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, TEST_QUEUE);
	wire_put_str(&r.fields, WIRE_TAG_BODY, body);
	harness_local_request(&r, 1);
	uint32_t connection;
	return take_local_reply(&replies, &connection);
}

/* Under a heavy load commits overlap again, once the open batch is large enough. */
Test(durable_stage, a_large_open_batch_commits_beside_the_commit_in_flight)
{
	/* Two of these stay under DP_LOG_OVERLAP_BYTES_MIN, three pass it. */
	static char body[DP_LOG_OVERLAP_BYTES_MIN / 3 + 1000];
	memset(body, 'b', sizeof(body) - 1);
	uint64_t writes = seg_io_sim_stats(io).writes;
	hold_next_fdatasync();
	cr_assert_not(send_local(1, "first"), "held");
	cr_assert_eq(seg_io_sim_stats(io).writes, writes + 1);
	for (uint64_t id = 2; id <= 3; id++)
		cr_assert_not(send_local(id, body), "held");
	cr_assert_eq(seg_io_sim_stats(io).writes, writes + 1, "two large records still wait");
	cr_assert_not(send_local(4, body), "held");
	cr_assert_eq(seg_io_sim_stats(io).writes, writes + 2, "three: committed beside the first");
	cr_assert_eq(h.worker->stats.log_commits, 2);
	cr_assert_eq(h.worker->stats.log_records_committed, 4);
	seg_io_sim_release(io);
	uint32_t answered = 0, connection;
	for (uint32_t i = 0; i < PASSES_MAX && answered < 4; i++) {
		harness_advance_ms(1);
		while (take_local_reply(&replies, &connection)) {
			cr_assert_eq(replies.header.status, WIRE_OK);
			answered++;
		}
	}
	cr_assert_eq(answered, 4, "every send answered once durable");
}

/*
 * With tiny limits a worker holds 16 messages, less than a 2 MiB segment however large: the
 * test of segment removal below exists only with the real limits.
 */
#ifndef BB_TINY_LIMITS
/*
 * Sends large bodies over the local socket until the log sealed its first segment, to two
 * queues in turn: one queue may hold only a quarter of the worker's body store.
 */
static void fill_a_segment(const char *const queues[2])
{
	static struct request r;
	static char body[60000];
	memset(body, 'b', sizeof(body) - 1);
	uint32_t count = SEGMENT_BYTES / (sizeof(body) - 1) + 2;
	for (uint32_t i = 0; i < count; i++) {
		request_begin(&r, WIRE_OP_SEND_MESSAGE, 100 + i);
		wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, queues[i % 2]);
		wire_put_str(&r.fields, WIRE_TAG_BODY, body);
		harness_local_request(&r, 1);
		uint32_t connection;
		bool answered = take_local_reply(&replies, &connection);
		for (uint32_t pass = 0; pass < PASSES_MAX && !answered; pass++) {
			harness_advance_ms(1);
			answered = take_local_reply(&replies, &connection);
		}
		cr_assert(answered, "send %u answered", i);
		cr_assert_eq(replies.header.status, WIRE_OK, "send %u: %u", i, replies.header.status);
	}
}

Test(durable_stage, recovery_releases_the_records_of_a_queue_the_snapshot_dropped)
{
	const char *const names[] = {TEST_QUEUE, "dropped", "dropped-too"};
	harness_publish_queues(names, 3);
	harness_input(NULL, 0);
	fill_a_segment(names + 1);
	uint64_t removes = seg_io_sim_stats(io).removes;
	restart_worker();
	harness_publish_queues(names, 1); /* the two are gone: DeleteQueue while down */
	recover();
	cr_assert_gt(h.worker->log.counters.records_recovered, SEGMENT_BYTES / 60000);
	cr_assert_eq(h.worker->log.counters.messages_recovered, 0);
	for (uint32_t i = 0; i < PASSES_MAX && seg_io_sim_stats(io).removes == removes; i++)
		harness_advance_ms(1);
	cr_assert_gt(seg_io_sim_stats(io).removes, removes,
	             "nothing keeps the sealed segment: it goes");
}

/* One request over the local socket, answered once durable; its status. */
static uint8_t local_call(struct request *r)
{
	harness_local_request(r, 1);
	uint32_t connection;
	bool answered = take_local_reply(&replies, &connection);
	for (uint32_t pass = 0; pass < PASSES_MAX && !answered; pass++) {
		harness_advance_ms(1);
		answered = take_local_reply(&replies, &connection);
	}
	cr_assert(answered, "answered");
	return replies.header.status;
}

#define BACKLOG_STORE    16383u /* a queue takes a quarter of the worker's store */
#define BACKLOG_QUEUES   2u
#define BACKLOG_MESSAGES 2100u /* a queue's: past 4,096 live records in all */
#define HOT_ROUNDS       24u
#define HOT_SENDS        150u /* of 8 KiB, then a purge: 1.2 MB of dead records a round */

/* Messages nobody deletes, each received once: their SEND and RECEIVE records stay live. */
static void fill_backlog(const char *const queues[BACKLOG_QUEUES])
{
	static struct request r;
	uint64_t id = 1000;
	for (uint32_t q = 0; q < BACKLOG_QUEUES; q++) {
		for (uint32_t i = 0; i < BACKLOG_MESSAGES; i++) {
			request_begin(&r, WIRE_OP_SEND_MESSAGE, id++);
			wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, queues[q]);
			wire_put_str(&r.fields, WIRE_TAG_BODY, "kept until someone comes for it");
			cr_assert_eq(local_call(&r), WIRE_OK, "backlog send %u", i);
		}
		for (uint32_t i = 0; i < BACKLOG_MESSAGES / 10; i++) {
			request_begin(&r, WIRE_OP_RECEIVE_MESSAGE, id++);
			wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, queues[q]);
			wire_put_u32(&r.fields, WIRE_TAG_MAX_MESSAGES, 10);
			wire_put_u32(&r.fields, WIRE_TAG_VISIBILITY_TIMEOUT_S, 43200);
			cr_assert_eq(local_call(&r), WIRE_OK, "backlog receive %u", i);
		}
	}
}

/* Another queue's traffic: sends of large bodies, then a purge, round after round. */
static void churn(const char *queue)
{
	static struct request r;
	static char body[8192];
	memset(body, 'h', sizeof(body) - 1);
	uint64_t id = 100000;
	for (uint32_t round = 0; round < HOT_ROUNDS; round++) {
		for (uint32_t i = 0; i < HOT_SENDS; i++) {
			request_begin(&r, WIRE_OP_SEND_MESSAGE, id++);
			wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, queue);
			wire_put_str(&r.fields, WIRE_TAG_BODY, body);
			cr_assert_eq(local_call(&r), WIRE_OK, "round %u send %u", round, i);
		}
		harness_advance_ms(61000); /* a queue takes one purge a minute */
		request_begin(&r, WIRE_OP_PURGE_QUEUE, id++);
		wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, queue);
		cr_assert_eq(local_call(&r), WIRE_OK, "round %u purge", round);
	}
}

/*
 * Compaction (dp_log.h): a few messages nobody deletes must not keep every later segment
 * on disk. The backlog keeps more than 4,096 live records in the oldest segment while another
 * queue writes and purges about 14 segments' worth: the log stays within twice what is live and
 * its slack, and every backlog message comes back after a restart.
 */
Test(durable_stage, messages_nobody_deletes_do_not_keep_dead_segments_on_disk)
{
	const char *const names[] = {"backlog-a", "backlog-b", "hot"};
	restart_worker_with(BACKLOG_STORE);
	harness_publish_queues(names, 3);
	recover();
	fill_backlog(names);
	churn(names[2]);
	for (uint32_t i = 0; i < 64; i++)
		harness_advance_ms(1); /* the last passes: compaction and removals */
	uint64_t live = sqs_log_live_bytes(h.worker->sqs);
	uint32_t bound = (uint32_t)((2 * live) / SEGMENT_BYTES) + DP_LOG_SLACK_SEGMENTS + 2;
	uint32_t segments = seg_segment_count(h.worker->log.seg);
	cr_assert_leq(segments, bound, "%u segments on disk for %lu live bytes", segments,
	              (unsigned long)live);
	cr_assert_gt(h.worker->stats.log_messages_relogged, 0, "the backlog was written again");

	restart_worker_with(BACKLOG_STORE);
	harness_publish_queues(names, 3);
	recover();
	cr_assert_eq(h.worker->log.counters.messages_recovered, BACKLOG_QUEUES * BACKLOG_MESSAGES,
	             "every backlog message is back");
}
#endif

Test(durable_stage, recovery_refuses_a_log_with_messages_of_a_queue_another_worker_owns)
{
	struct request r;
	send_body(&r, 1, TEST_QUEUE, "mine");
	pass_until_reply();
	restart_worker();
	/* As dp_snapshot_assign would place it with two workers: the worker count changed. */
	struct dp_snapshot *snapshot = (struct dp_snapshot *)atomic_load(&h.app.snapshot);
	snapshot->queues[0].owner = 1;
	struct dp_worker_log_options options = {
	    .dir = LOG_DIR, .segment_bytes = SEGMENT_BYTES, .io = io};
	char why[256] = "";
	int rc = dp_worker_recover(h.worker, &options, why, sizeof(why));
	cr_assert_eq(rc, -EXDEV, "%d: %s", rc, why);
	cr_assert_not_null(strstr(why, TEST_QUEUE), "names the queue: %s", why);
	cr_assert_not_null(strstr(why, "worker 1"), "names its owner: %s", why);
	cr_assert_not_null(strstr(why, "number of workers"), "says why: %s", why);
	snapshot->queues[0].owner = 0;
}
