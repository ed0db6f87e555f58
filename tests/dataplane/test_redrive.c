/*
 * RedrivePolicy in busbard's packet path (issue 11), on the harness's one worker (no log):
 * queues whose snapshot entry names a dead-letter queue and a maxReceiveCount. Proves that a
 * message received maxReceiveCount times is not handed out by the next ReceiveMessage but
 * moved: it arrives in the dead-letter queue with its body and its message attributes and is
 * gone from its queue, counted in redrive_moved; that a FIFO message keeps its MessageGroupId
 * and its group stays blocked until the move is done; that a move the dead-letter queue
 * refuses for good is counted in redrive_move_failures and leaves the message in its queue,
 * hidden until SQS_MOVE_VISIBILITY_MS and then moved (tried) again: never lost; that a
 * queue whose dead-letter queue is not in the snapshot moves nothing.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "bb_policy.h"
#include "bb_snapshot.h"
#include "dp_fanout.h"
#include "packet_harness.h"

#define ENTRIES_MAX        16u
#define RECEIVED_MAX       10u
#define RECEIVED_BYTES_MAX 4096u
#define SETTLE_PASSES      16u /* a move needs three: out, executed, back */
#define SMALL_QUEUE_BYTES  1024u
#define SQS_ARN                                                                                    \
	"arn:aws:sqs:" BB_POLICY_REGION_DEFAULT ":" BB_POLICY_ACCOUNT_ID_DEFAULT ":"

static struct bb_snapshot_entry entries[ENTRIES_MAX];
static uint32_t entry_count;
static uint8_t snapshot_body[1 << 16];
static struct dp_snapshot snapshot;
static bool snapshot_made;
static struct replies replies;

static struct {
	uint32_t count;
	char bodies[RECEIVED_MAX][RECEIVED_BYTES_MAX];
	char groups[RECEIVED_MAX][BB_FIFO_ID_BYTES_MAX + 1];
	char attribute[RECEIVED_MAX][64]; /* the value of attribute "kind", "" without */
	char source[RECEIVED_MAX][WIRE_DLQ_SOURCE_ARN_BYTES_MAX + 1]; /* "" without */
} got;

static void queue(const char *name, uint64_t id, uint32_t maximum_message_bytes,
                  const char *dead_letter_queue, uint32_t max_receive_count)
{
	cr_assert_lt(entry_count, ENTRIES_MAX);
	struct bb_snapshot_entry e = {
	    .kind = BB_SNAPSHOT_KIND_QUEUE,
	    .queue = {.name_bytes = (uint32_t)strlen(name),
	              .queue_id = id,
	              .visibility_timeout_s = 30,
	              .maximum_message_bytes = maximum_message_bytes,
	              .max_receive_count = max_receive_count}};
	snprintf(e.queue.name, sizeof(e.queue.name), "%s", name);
	if (bb_queue_name_is_fifo((const uint8_t *)name, strlen(name)))
		e.queue.flags = BB_SNAPSHOT_QUEUE_FIFO;
	if (dead_letter_queue != NULL) {
		snprintf(e.queue.dead_letter_queue, sizeof(e.queue.dead_letter_queue), "%s",
		         dead_letter_queue);
		e.queue.dead_letter_queue_bytes = (uint32_t)strlen(dead_letter_queue);
	}
	entries[entry_count++] = e;
}

/* src and src.fifo move after 2 and 1 receives, dlq (src's) to small-dlq after 1; tight's
 * dead-letter queue takes 1 KiB at most; orphan names a dead-letter queue this snapshot
 * lacks. */
static void make_queues(void)
{
	queue(TEST_QUEUE, 7, 262144, NULL, 0);
	queue("dlq", 8, 262144, "small-dlq", 1);
	queue("src", 9, 262144, "dlq", 2);
	queue("dlq.fifo", 10, 262144, NULL, 0);
	queue("src.fifo", 11, 262144, "dlq.fifo", 1);
	queue("small-dlq", 12, SMALL_QUEUE_BYTES, NULL, 0);
	queue("tight", 13, 262144, "small-dlq", 1);
	queue("orphan", 14, 262144, "deleted-dlq", 1);
}

static void publish_snapshot(void)
{
	entry_count = 0;
	make_queues();
	const struct dp_snapshot *previous = atomic_load(&h.app.snapshot);
	struct bb_snapshot_header header = {.version = previous->version + 1};
	size_t bytes;
	cr_assert_eq(bb_snapshot_encode(&header, entries, entry_count, snapshot_body,
	                                sizeof(snapshot_body), &bytes),
	             0);
	char error[256];
	cr_assert_eq(dp_snapshot_parse(snapshot_body, bytes, &snapshot, error, sizeof(error)),
	             WIRE_OK, "%s", error);
	snapshot_made = true;
	cr_assert_eq(dp_snapshot_assign(&snapshot, previous, 1), 0);
	snapshot.generation = previous->generation + 1;
	atomic_store(&h.app.snapshot, &snapshot);
	harness_input(NULL, 0);
}

static void setup(void)
{
	harness_setup();
	publish_snapshot();
}

static void teardown(void)
{
	harness_teardown();
	if (snapshot_made)
		dp_snapshot_release(&snapshot);
	snapshot_made = false;
}

TestSuite(redrive, .init = setup, .fini = teardown, .timeout = 120);

static void send_request(struct request *r)
{
	struct rte_mbuf *m = frame_udp(r->bytes, request_finish(r));
	harness_input(&m, 1);
	take_replies(&replies);
	cr_assert_eq(replies.udp_datagrams, 1, "one answer");
}

static void settle(void)
{
	for (uint32_t i = 0; i < SETTLE_PASSES; i++)
		harness_advance_ms(0);
}

static void send_message(const char *queue_name, const char *body, const char *group,
                         const char *kind)
{
	static struct request r;
	static uint64_t request_id = 1000;
	request_begin(&r, WIRE_OP_SEND_MESSAGE, ++request_id);
	wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, queue_name);
	wire_put_str(&r.fields, WIRE_TAG_BODY, body);
	if (group != NULL) {
		wire_put_str(&r.fields, WIRE_TAG_MESSAGE_GROUP_ID, group);
		wire_put_str(&r.fields, WIRE_TAG_MESSAGE_DEDUPLICATION_ID, body);
	}
	if (kind != NULL) {
		wire_put_bytes(&r.fields, WIRE_TAG_ATTRIBUTE_BEGIN, NULL, 0);
		wire_put_str(&r.fields, WIRE_TAG_ATTRIBUTE_NAME, "kind");
		wire_put_str(&r.fields, WIRE_TAG_ATTRIBUTE_DATA_TYPE, "String");
		wire_put_str(&r.fields, WIRE_TAG_ATTRIBUTE_STRING_VALUE, kind);
	}
	send_request(&r);
	cr_assert_eq(replies.header.status, WIRE_OK, "send to %s", queue_name);
}

/* What a receive's reply holds, message by message. */
static void read_received(void)
{
	memset(&got, 0, sizeof(got));
	struct wire_reader reader;
	struct wire_field f;
	wire_reader_init(&reader, replies.datagram + BB_WIRE_HEADER_BYTES,
	                 replies.header.body_bytes);
	int32_t at = -1;
	while (wire_reader_next(&reader, &f) == 1) {
		if (f.tag == WIRE_TAG_MESSAGE_BEGIN) {
			cr_assert_lt(got.count, RECEIVED_MAX);
			at = (int32_t)got.count++;
		} else if (at >= 0 && f.tag == WIRE_TAG_BODY) {
			cr_assert_lt(f.length, RECEIVED_BYTES_MAX);
			memcpy(got.bodies[at], f.value, f.length);
		} else if (at >= 0 && f.tag == WIRE_TAG_MESSAGE_GROUP_ID) {
			memcpy(got.groups[at], f.value, f.length);
		} else if (at >= 0 && f.tag == WIRE_TAG_ATTRIBUTE_STRING_VALUE) {
			cr_assert_lt(f.length, sizeof(got.attribute[at]));
			memcpy(got.attribute[at], f.value, f.length);
		} else if (at >= 0 && f.tag == WIRE_TAG_DEAD_LETTER_QUEUE_SOURCE_ARN) {
			cr_assert_lt(f.length, sizeof(got.source[at]));
			memcpy(got.source[at], f.value, f.length);
		}
	}
}

/* Receives up to max of queue, asking for every attribute; visibility 0 makes what it takes
 * visible again at the next pass. */
static void receive(const char *queue_name, uint32_t max, uint32_t visibility_timeout_s)
{
	static struct request r;
	static uint64_t request_id = 5000;
	request_begin(&r, WIRE_OP_RECEIVE_MESSAGE, ++request_id);
	wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, queue_name);
	wire_put_u32(&r.fields, WIRE_TAG_MAX_MESSAGES, max);
	wire_put_u32(&r.fields, WIRE_TAG_WAIT_TIME_S, 0);
	wire_put_u32(&r.fields, WIRE_TAG_VISIBILITY_TIMEOUT_S, visibility_timeout_s);
	wire_put_str(&r.fields, WIRE_TAG_MESSAGE_ATTRIBUTE_NAME, "All");
	send_request(&r);
	cr_assert_eq(replies.header.status, WIRE_OK, "receive from %s", queue_name);
	read_received();
	harness_advance_ms(1);
}

static uint32_t in_flight(const char *queue_name)
{
	const struct dp_queue_entry *q =
	    dp_snapshot_find(&snapshot, (const uint8_t *)queue_name, strlen(queue_name));
	cr_assert_not_null(q);
	return sqs_inflight_count(h.worker->sqs, q->slot);
}

Test(redrive, a_message_received_max_times_moves_to_the_dead_letter_queue_with_its_attributes)
{
	send_message("src", "poison", NULL, "order");
	receive("src", 10, 0);
	cr_assert_eq(got.count, 1, "first receive");
	receive("src", 10, 0);
	cr_assert_eq(got.count, 1, "second receive: maxReceiveCount 2");
	receive("src", 10, 0);
	cr_assert_eq(got.count, 0, "the third is not handed out");
	settle();
	cr_assert_eq(h.worker->stats.redrive_moved, 1);
	cr_assert_eq(h.worker->stats.redrive_move_failures, 0);
	receive("dlq", 10, 30);
	cr_assert_eq(got.count, 1, "the dead-letter queue has it");
	cr_assert_str_eq(got.bodies[0], "poison");
	cr_assert_str_eq(got.attribute[0], "order", "its message attributes came along");
	cr_assert_str_eq(got.source[0], SQS_ARN "src", "DeadLetterQueueSourceArn names its queue");
	harness_advance_ms(SQS_MOVE_VISIBILITY_MS + 1);
	receive("src", 10, 30);
	cr_assert_eq(got.count, 0, "gone from its queue, also after the move's deadline");
	cr_assert_eq(in_flight("src"), 0);
}

Test(redrive, a_fifo_message_keeps_its_group_and_the_group_waits_for_the_move)
{
	send_message("src.fifo", "g1", "g", NULL);
	send_message("src.fifo", "g2", "g", NULL);
	receive("src.fifo", 1, 0);
	cr_assert_eq(got.count, 1);
	cr_assert_str_eq(got.bodies[0], "g1");
	/* g1 was received once: this receive moves it, and g2 must not overtake it meanwhile. */
	static struct request r;
	request_begin(&r, WIRE_OP_RECEIVE_MESSAGE, 777);
	wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, "src.fifo");
	wire_put_u32(&r.fields, WIRE_TAG_MAX_MESSAGES, 10);
	wire_put_u32(&r.fields, WIRE_TAG_WAIT_TIME_S, 0);
	send_request(&r);
	read_received();
	cr_assert_eq(got.count, 0, "g is blocked while g1 is moved");
	settle();
	receive("dlq.fifo", 10, 30);
	cr_assert_eq(got.count, 1);
	cr_assert_str_eq(got.bodies[0], "g1");
	cr_assert_str_eq(got.groups[0], "g", "the move keeps the MessageGroupId");
	receive("src.fifo", 10, 30);
	cr_assert_eq(got.count, 1, "then the group goes on");
	cr_assert_str_eq(got.bodies[0], "g2");
}

Test(redrive, a_move_refused_for_good_keeps_the_message_and_is_tried_again_after_its_deadline)
{
	char big[SMALL_QUEUE_BYTES + 100];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	send_message("tight", big, NULL, NULL);
	receive("tight", 10, 0);
	cr_assert_eq(got.count, 1);
	receive("tight", 10, 0);
	cr_assert_eq(got.count, 0, "moved instead");
	settle();
	cr_assert_eq(h.worker->stats.redrive_move_failures, 1, "MessageTooLong there");
	cr_assert_eq(h.worker->stats.redrive_moved, 0);
	cr_assert_eq(in_flight("tight"), 1, "still in its queue, hidden");
	harness_advance_ms(SQS_MOVE_VISIBILITY_MS);
	receive("tight", 10, 0);
	cr_assert_eq(got.count, 0, "its deadline passed: moved again, not handed out");
	settle();
	cr_assert_eq(h.worker->stats.redrive_move_failures, 2);
	cr_assert_eq(in_flight("tight"), 1, "never lost");
}

Test(redrive, a_queue_whose_dead_letter_queue_is_gone_moves_nothing)
{
	send_message("orphan", "stays", NULL, NULL);
	for (int i = 0; i < 4; i++) {
		receive("orphan", 10, 0);
		cr_assert_eq(got.count, 1, "receive %d delivers it", i);
	}
	settle();
	cr_assert_eq(h.worker->stats.redrive_moved + h.worker->stats.redrive_move_failures, 0);
}

/* Moved again, from its dead-letter queue to that one's: it names its newest source only. */
Test(redrive, a_message_moved_twice_names_the_queue_it_left_last)
{
	send_message("src", "twice", NULL, NULL);
	for (int i = 0; i < 3; i++)
		receive("src", 10, 0); /* two receives, then the move */
	settle();
	receive("dlq", 10, 0);
	cr_assert_eq(got.count, 1);
	cr_assert_str_eq(got.source[0], SQS_ARN "src");
	receive("dlq", 10, 0);
	cr_assert_eq(got.count, 0, "received once there: moved on");
	settle();
	cr_assert_eq(h.worker->stats.redrive_moved, 2);
	receive("small-dlq", 10, 30);
	cr_assert_eq(got.count, 1);
	cr_assert_str_eq(got.bodies[0], "twice");
	cr_assert_str_eq(got.source[0], SQS_ARN "dlq", "one source, the last");
}

/* DeadLetterQueueSourceArn is a system attribute: a client's SendMessage cannot set it. */
Test(redrive, a_client_cannot_send_a_source_arn)
{
	static struct request r;
	request_begin(&r, WIRE_OP_SEND_MESSAGE, 4242);
	wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, "dlq");
	wire_put_str(&r.fields, WIRE_TAG_BODY, "forged");
	wire_put_str(&r.fields, WIRE_TAG_DEAD_LETTER_QUEUE_SOURCE_ARN, SQS_ARN "src");
	send_request(&r);
	cr_assert_eq(replies.header.status, WIRE_ERR_INVALID_PARAMETER);
	receive("dlq", 10, 30);
	cr_assert_eq(got.count, 0, "nothing was sent");
}
