/*
 * SendMessageBatch, DeleteMessageBatch and ChangeMessageVisibilityBatch through the packet
 * path (UDP and the local socket): every entry-level failure mixed with successes and
 * answered in request order, the limits that fail a batch as a whole (10 entries, distinct
 * ids, empty), a UDP batch that could be answered with more than 3 times its size refused
 * before it acts, a retried batch answered from the retry window without acting twice, and
 * a batch on a durable queue held in the reply stage until its records are durable (the
 * storage simulator holds the commit back); a FIFO queue's batch with each entry's group and
 * dedup ids, answered with sequence numbers, and the MessageDeduplicationId a receive
 * returns (explicit or content-based). With tiny limits a queue holds 4 messages, so the
 * entries past them fail alone with OverLimit.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "packet_harness.h"
#include "seg_io_sim.h"

static struct seg_io *sim_io;

static void batch_teardown(void)
{
	if (sim_io != NULL)
		seg_io_sim_release(sim_io); /* the worker's log closes with nothing held */
	harness_teardown();
	if (sim_io != NULL)
		sim_io->ops->destroy(sim_io);
	sim_io = NULL;
}

TestSuite(batch, .init = harness_setup, .fini = batch_teardown, .timeout = 60);

static struct replies replies;

/* One entry of a reply: its id, its status (WIRE_OK when it succeeded), a send's ids. */
struct entry_answer {
	char id[WIRE_BATCH_ENTRY_ID_BYTES_MAX + 1];
	uint32_t status;
	bool has_message_id;
	bool has_md5;
	char sequence_number[WIRE_SEQUENCE_NUMBER_BYTES_MAX + 1]; /* a FIFO send's, else "" */
};

static uint32_t answers_count;
static struct entry_answer answers[WIRE_BATCH_ENTRIES_MAX + 1];

/* Reads the entries of the reply in `replies` into answers. */
static void read_entries(void)
{
	struct wire_reader reader;
	struct wire_field f;
	int more;
	answers_count = 0;
	wire_reader_init(&reader, replies.datagram + BB_WIRE_HEADER_BYTES, replies.header.body_bytes);
	while ((more = wire_reader_next(&reader, &f)) == 1) {
		if (f.tag == WIRE_TAG_ENTRY_BEGIN) {
			cr_assert_lt(answers_count, WIRE_BATCH_ENTRIES_MAX);
			answers[answers_count++] = (struct entry_answer){.status = WIRE_OK};
			continue;
		}
		cr_assert_gt(answers_count, 0, "every reply field belongs to an entry");
		struct entry_answer *a = &answers[answers_count - 1];
		if (f.tag == WIRE_TAG_ENTRY_ID)
			memcpy(a->id, f.value, f.length);
		else if (f.tag == WIRE_TAG_ENTRY_STATUS)
			cr_assert(wire_field_u32(&f, &a->status));
		else if (f.tag == WIRE_TAG_MESSAGE_ID)
			a->has_message_id = f.length == BB_MESSAGE_ID_BYTES;
		else if (f.tag == WIRE_TAG_MD5_OF_BODY)
			a->has_md5 = f.length == 32;
		else if (f.tag == WIRE_TAG_SEQUENCE_NUMBER && f.length <= WIRE_SEQUENCE_NUMBER_BYTES_MAX)
			memcpy(a->sequence_number, f.value, f.length);
		else
			cr_assert_fail("unexpected field %u in a batch reply", f.tag);
	}
	cr_assert_eq(more, 0);
}

static void batch_begin(struct request *r, uint8_t opcode, uint64_t request_id)
{
	request_begin(r, opcode, request_id);
	wire_put_str(&r->fields, WIRE_TAG_QUEUE_NAME, TEST_QUEUE);
}

static void entry(struct request *r, const char *id)
{
	wire_put_bytes(&r->fields, WIRE_TAG_ENTRY_BEGIN, NULL, 0);
	wire_put_str(&r->fields, WIRE_TAG_ENTRY_ID, id);
}

static void send_udp(struct request *r)
{
	struct rte_mbuf *m = frame_udp(r->bytes, request_finish(r));
	harness_input(&m, 1);
	take_replies(&replies);
}

static void send_local(struct request *r)
{
	uint32_t connection;
	harness_local_request(r, 1);
	cr_assert(take_local_reply(&replies, &connection), "a reply to the local client");
}

static uint64_t now_ms(void)
{
	return dp_now_ms(&h.app, h.now_tsc);
}

/* Puts a message in the queue and receives it: its receipt handle goes to handle. */
static void inflight_message(char handle[BB_RECEIPT_HANDLE_BYTES + 1])
{
	harness_input(NULL, 0); /* the worker opens the snapshot's queue */
	struct sqs_sent sent;
	cr_assert_eq(sqs_send(h.worker->sqs, 0, (const uint8_t *)"in flight", 9, now_ms(), &sent),
	             WIRE_OK);
	struct sqs_receive_options one = {.max_messages = 1, .visibility_timeout_s = 30,
	                                  .body_bytes_max = 1024};
	struct sqs_received r;
	cr_assert_eq(sqs_receive(h.worker->sqs, 0, &one, now_ms(), &r), 1);
	memcpy(handle, r.receipt_handle, BB_RECEIPT_HANDLE_BYTES + 1);
}

static const char body_40[] = "a message body of forty bytes, for sure.";

/* How many of n sends the queue takes: its budget is a share of the worker's slots. */
static uint32_t stored_of(uint32_t n)
{
	return n < SQS_QUEUE_MESSAGES_MAX ? n : SQS_QUEUE_MESSAGES_MAX;
}

Test(batch, send_entries_fail_alone_and_answer_in_order)
{
	struct request r;
	batch_begin(&r, WIRE_OP_SEND_MESSAGE_BATCH, 1);
	for (int i = 0; i < 7; i++) {
		char id[8];
		snprintf(id, sizeof(id), "ok-%d", i);
		entry(&r, id);
		wire_put_str(&r.fields, WIRE_TAG_BODY, body_40);
	}
	entry(&r, "no_body");
	entry(&r, "bad_chars");
	wire_put_str(&r.fields, WIRE_TAG_BODY, "a control character \x01 is not allowed in SQS");
	entry(&r, "empty");
	wire_put_str(&r.fields, WIRE_TAG_BODY, "");
	send_udp(&r);
	cr_assert_eq(replies.udp_datagrams, 1);
	cr_assert_eq(replies.header.status, WIRE_OK, "a batch succeeds with failed entries");
	read_entries();
	cr_assert_eq(answers_count, WIRE_BATCH_ENTRIES_MAX, "ten entries, the most");
	for (uint32_t i = 0; i < 7; i++) {
		char id[8];
		snprintf(id, sizeof(id), "ok-%u", i);
		cr_assert_str_eq(answers[i].id, id, "in request order");
		if (i >= SQS_QUEUE_MESSAGES_MAX) {
			cr_assert_eq(answers[i].status, WIRE_ERR_OVER_LIMIT, "the queue is full");
			cr_assert_not(answers[i].has_message_id);
			continue;
		}
		cr_assert_eq(answers[i].status, WIRE_OK);
		cr_assert(answers[i].has_message_id && answers[i].has_md5);
	}
	cr_assert_str_eq(answers[7].id, "no_body");
	cr_assert_eq(answers[7].status, WIRE_ERR_MISSING_PARAMETER);
	cr_assert_not(answers[7].has_message_id);
	cr_assert_str_eq(answers[8].id, "bad_chars");
	cr_assert_eq(answers[8].status, WIRE_ERR_INVALID_MESSAGE_CONTENTS);
	cr_assert_eq(answers[9].status, WIRE_ERR_MISSING_PARAMETER);
	cr_assert_eq(sqs_visible_count(h.worker->sqs, 0), stored_of(7), "the good ones, once each");
}

Test(batch, delete_and_visibility_entries_fail_alone)
{
	char first[BB_RECEIPT_HANDLE_BYTES + 1], second[BB_RECEIPT_HANDLE_BYTES + 1];
	inflight_message(first);
	inflight_message(second);
	struct request r;
	batch_begin(&r, WIRE_OP_DELETE_MESSAGE_BATCH, 2);
	entry(&r, "first");
	wire_put_str(&r.fields, WIRE_TAG_RECEIPT_HANDLE, first);
	entry(&r, "garbage");
	wire_put_str(&r.fields, WIRE_TAG_RECEIPT_HANDLE, "not a handle");
	entry(&r, "none");
	send_udp(&r);
	cr_assert_eq(replies.header.status, WIRE_OK);
	read_entries();
	cr_assert_eq(answers_count, 3);
	cr_assert_eq(answers[0].status, WIRE_OK);
	cr_assert_eq(answers[1].status, WIRE_ERR_RECEIPT_HANDLE_INVALID);
	cr_assert_eq(answers[2].status, WIRE_ERR_MISSING_PARAMETER);
	cr_assert_eq(sqs_inflight_count(h.worker->sqs, 0), 1, "the first one deleted");

	batch_begin(&r, WIRE_OP_CHANGE_MESSAGE_VISIBILITY_BATCH, 3);
	entry(&r, "too-long");
	wire_put_str(&r.fields, WIRE_TAG_RECEIPT_HANDLE, second);
	wire_put_u32(&r.fields, WIRE_TAG_VISIBILITY_TIMEOUT_S, BB_VISIBILITY_TIMEOUT_S_MAX + 1);
	entry(&r, "deleted");
	wire_put_str(&r.fields, WIRE_TAG_RECEIPT_HANDLE, first);
	wire_put_u32(&r.fields, WIRE_TAG_VISIBILITY_TIMEOUT_S, 0);
	entry(&r, "no-timeout");
	wire_put_str(&r.fields, WIRE_TAG_RECEIPT_HANDLE, second);
	entry(&r, "now");
	wire_put_str(&r.fields, WIRE_TAG_RECEIPT_HANDLE, second);
	wire_put_u32(&r.fields, WIRE_TAG_VISIBILITY_TIMEOUT_S, 0);
	send_udp(&r);
	cr_assert_eq(replies.header.status, WIRE_OK);
	read_entries();
	cr_assert_eq(answers_count, 4);
	cr_assert_eq(answers[0].status, WIRE_ERR_INVALID_PARAMETER);
	cr_assert_neq(answers[1].status, WIRE_OK, "a deleted message's handle changes nothing");
	cr_assert_eq(answers[2].status, WIRE_ERR_MISSING_PARAMETER);
	cr_assert_str_eq(answers[3].id, "now");
	cr_assert_eq(answers[3].status, WIRE_OK);
	cr_assert_eq(sqs_visible_count(h.worker->sqs, 0), 1, "visible again at once");
	cr_assert_eq(sqs_inflight_count(h.worker->sqs, 0), 0);
}

/* A SendMessageBatch entry with a body named after its id and the FIFO ids given (NULL:
 * none). */
static void fifo_entry(struct request *r, const char *id, const char *group, const char *dedup)
{
	entry(r, id);
	wire_put_str(&r->fields, WIRE_TAG_BODY, id);
	if (group != NULL)
		wire_put_str(&r->fields, WIRE_TAG_MESSAGE_GROUP_ID, group);
	if (dedup != NULL)
		wire_put_str(&r->fields, WIRE_TAG_MESSAGE_DEDUPLICATION_ID, dedup);
}

/* The bodies of a local ReceiveMessage of up to 10 from queue, in order, joined by ',', each
 * followed by "=" and its MessageDeduplicationId when the reply has one. */
static void receive_bodies(const char *queue, char *out, size_t out_bytes)
{
	static uint64_t request_id = 1000; /* a request id of its own each time */
	struct request r;
	request_begin(&r, WIRE_OP_RECEIVE_MESSAGE, request_id++);
	wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, queue);
	wire_put_u32(&r.fields, WIRE_TAG_MAX_MESSAGES, 10);
	send_local(&r);
	cr_assert_eq(replies.header.status, WIRE_OK, "receive from %s", queue);
	struct wire_reader reader;
	struct wire_field f;
	size_t used = 0;
	out[0] = '\0';
	wire_reader_init(&reader, replies.datagram + BB_WIRE_HEADER_BYTES, replies.header.body_bytes);
	while (wire_reader_next(&reader, &f) == 1) {
		static char dedup[BB_FIFO_ID_BYTES_MAX + 1];
		if (f.tag == WIRE_TAG_MESSAGE_BEGIN)
			dedup[0] = '\0';
		if (f.tag == WIRE_TAG_MESSAGE_DEDUPLICATION_ID && f.length < sizeof(dedup))
			snprintf(dedup, sizeof(dedup), "=%.*s", (int)f.length, f.value);
		if (f.tag == WIRE_TAG_BODY) /* the last field of a message */
			used += (size_t)snprintf(out + used, out_bytes - used, "%s%.*s%s",
			                         used > 0 ? "," : "", (int)f.length, f.value, dedup);
		cr_assert_lt(used, out_bytes);
	}
}

/*
 * A batch to a FIFO queue: each entry carries its MessageGroupId and MessageDeduplicationId,
 * is stored in request order and answered with its SequenceNumber; a duplicate of an earlier
 * entry gets that entry's id and number and stores nothing; an entry without a group, or
 * without a dedup id on a queue without content-based deduplication, fails alone. On a
 * standard queue a dedup id fails its entry alone, a group id is ignored.
 */
Test(batch, fifo_entries_carry_their_ids_and_are_answered_with_sequence_numbers)
{
	static const char *const names[] = {TEST_QUEUE, "orders.fifo"};
	harness_publish_queues(names, 2);
	struct request r;
	request_begin(&r, WIRE_OP_SEND_MESSAGE_BATCH, 30);
	wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, "orders.fifo");
	fifo_entry(&r, "a", "g1", "d1");
	fifo_entry(&r, "b", "g2", "d2"); /* another group: busbard receives one at a time */
	fifo_entry(&r, "again", "g1", "d1");
	fifo_entry(&r, "no-group", NULL, "d3");
	fifo_entry(&r, "no-dedup", "g", NULL);
	send_local(&r);
	cr_assert_eq(replies.header.status, WIRE_OK, "a FIFO batch is taken");
	read_entries();
	cr_assert_eq(answers_count, 5);
	cr_assert_eq(answers[0].status, WIRE_OK);
	cr_assert_eq(answers[1].status, WIRE_OK);
	cr_assert_eq(strlen(answers[0].sequence_number), SQS_SEQUENCE_NUMBER_CHARS);
	cr_assert_lt(strcmp(answers[0].sequence_number, answers[1].sequence_number), 0,
	             "numbers grow in request order");
	cr_assert_eq(answers[2].status, WIRE_OK, "a duplicate is answered OK");
	cr_assert_str_eq(answers[2].sequence_number, answers[0].sequence_number);
	cr_assert_eq(answers[3].status, WIRE_ERR_MISSING_PARAMETER);
	cr_assert_eq(answers[4].status, WIRE_ERR_INVALID_PARAMETER);
	cr_assert_str_eq(answers[4].sequence_number, "");
	char bodies[256];
	receive_bodies("orders.fifo", bodies, sizeof(bodies));
	cr_assert_str_eq(bodies, "a=d1,b=d2",
	                 "stored once each, in order, with their MessageDeduplicationId: %s", bodies);

	request_begin(&r, WIRE_OP_SEND_MESSAGE_BATCH, 31);
	wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, TEST_QUEUE);
	fifo_entry(&r, "grouped", "g", NULL);
	fifo_entry(&r, "deduplicated", NULL, "d");
	send_local(&r);
	cr_assert_eq(replies.header.status, WIRE_OK);
	read_entries();
	cr_assert_eq(answers[0].status, WIRE_OK, "a group id is ignored on a standard queue");
	cr_assert_str_eq(answers[0].sequence_number, "");
	cr_assert_eq(answers[1].status, WIRE_ERR_INVALID_PARAMETER);
}

/*
 * A FIFO message received carries its MessageDeduplicationId: the one it was sent with, or on
 * a queue with content-based deduplication the body's SHA-256 in hex, as AWS gives it.
 */
Test(batch, a_received_fifo_message_carries_its_content_based_dedup_id)
{
	static const char *const names[] = {TEST_QUEUE, "content.fifo"};
	harness_publish_queues(names, 2);
	struct request r;
	request_begin(&r, WIRE_OP_SEND_MESSAGE_BATCH, 40);
	wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, "content.fifo");
	fifo_entry(&r, "abc", "g", NULL);
	send_local(&r);
	read_entries();
	cr_assert_eq(answers[0].status, WIRE_OK);
	char bodies[256];
	receive_bodies("content.fifo", bodies, sizeof(bodies));
	cr_assert_str_eq(bodies, "abc=ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	                 "SHA-256(\"abc\") (FIPS 180-2's example): %s", bodies);
	request_begin(&r, WIRE_OP_SEND_MESSAGE, 41);
	wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, TEST_QUEUE);
	wire_put_str(&r.fields, WIRE_TAG_BODY, "standard");
	send_local(&r);
	receive_bodies(TEST_QUEUE, bodies, sizeof(bodies));
	cr_assert_str_eq(bodies, "standard", "a standard queue's messages have none");
}

/* Sends a batch of `count` entries with distinct ids, or with ids e0, e1, ... e0. */
static void send_batch_unanswered(uint64_t request_id, uint32_t count, bool repeat_an_id)
{
	struct request r;
	batch_begin(&r, WIRE_OP_SEND_MESSAGE_BATCH, request_id);
	for (uint32_t i = 0; i < count; i++) {
		char id[16];
		snprintf(id, sizeof(id), "e%u", repeat_an_id && i == count - 1 ? 0 : i);
		entry(&r, id);
		wire_put_str(&r.fields, WIRE_TAG_BODY, body_40);
	}
	send_udp(&r);
}

/* The same, answered at once. */
static void send_batch(uint64_t request_id, uint32_t count, bool repeat_an_id)
{
	send_batch_unanswered(request_id, count, repeat_an_id);
	cr_assert_eq(replies.udp_datagrams, 1);
}

Test(batch, a_batch_at_or_past_its_limits_fails_as_a_whole)
{
	send_batch(4, WIRE_BATCH_ENTRIES_MAX + 1, false);
	cr_assert_eq(replies.header.status, WIRE_ERR_TOO_MANY_ENTRIES_IN_BATCH_REQUEST);
	send_batch(5, 3, true);
	cr_assert_eq(replies.header.status, WIRE_ERR_BATCH_ENTRY_IDS_NOT_DISTINCT);
	send_batch(6, 0, false);
	cr_assert_eq(replies.header.status, WIRE_ERR_EMPTY_BATCH_REQUEST);
	const uint8_t *why;
	cr_assert_gt(reply_field(&replies, WIRE_TAG_ERROR_MESSAGE, &why), 0);
	cr_assert_eq(sqs_visible_count(h.worker->sqs, 0), 0, "nothing of them stored");
	send_batch(7, WIRE_BATCH_ENTRIES_MAX, false);
	cr_assert_eq(replies.header.status, WIRE_OK);
	cr_assert_eq(sqs_visible_count(h.worker->sqs, 0), stored_of(WIRE_BATCH_ENTRIES_MAX));
}

/* Ten one-byte bodies: the answer (ids and digests) would be over 3 times the request. */
static void tiny_batch(struct request *r, uint64_t request_id)
{
	batch_begin(r, WIRE_OP_SEND_MESSAGE_BATCH, request_id);
	for (uint32_t i = 0; i < WIRE_BATCH_ENTRIES_MAX; i++) {
		char id[4];
		snprintf(id, sizeof(id), "%u", i);
		entry(r, id);
		wire_put_str(&r->fields, WIRE_TAG_BODY, "x");
	}
}

Test(batch, a_udp_batch_that_could_amplify_is_refused_before_it_acts)
{
	struct request r;
	tiny_batch(&r, 8);
	send_udp(&r);
	cr_assert_eq(replies.udp_datagrams, 1, "answered, not dropped");
	cr_assert_eq(replies.header.status, WIRE_ERR_INVALID_PARAMETER);
	cr_assert_leq(replies.datagram_bytes, BB_UDP_UNPROVEN_REPLY_FACTOR * request_finish(&r));
	cr_assert_eq(sqs_visible_count(h.worker->sqs, 0), 0, "no entry acted");
	cr_assert_eq(h.worker->stats.udp_replies_unproven_dropped, 0);

	tiny_batch(&r, 9);
	send_local(&r);
	cr_assert_eq(replies.header.status, WIRE_OK, "the local socket has no such rule");
	read_entries();
	cr_assert_eq(answers_count, WIRE_BATCH_ENTRIES_MAX);
	cr_assert_eq(sqs_visible_count(h.worker->sqs, 0), stored_of(WIRE_BATCH_ENTRIES_MAX));
}

Test(batch, a_retried_batch_is_answered_from_the_window)
{
	static uint8_t first[70000];
	send_batch(10, 4, false);
	cr_assert_eq(replies.header.status, WIRE_OK);
	uint32_t first_bytes = replies.datagram_bytes;
	memcpy(first, replies.datagram, first_bytes);

	send_batch(10, 4, false);
	cr_assert_eq(replies.datagram_bytes, first_bytes);
	cr_assert_eq(memcmp(replies.datagram, first, first_bytes), 0, "the first answer again");
	cr_assert_eq(h.worker->stats.dedup_replayed, 1);
	cr_assert_eq(sqs_visible_count(h.worker->sqs, 0), stored_of(4), "its entries acted once");

	send_batch(10, 5, false);
	cr_assert_eq(replies.header.status, WIRE_ERR_IDEMPOTENT_PARAMETER_MISMATCH,
	             "another batch under the same ids");
	cr_assert_eq(sqs_visible_count(h.worker->sqs, 0), stored_of(4));
}

Test(batch, a_batch_on_a_durable_queue_waits_until_its_records_are_durable)
{
	struct seg_io_sim_faults faults = {.seed = 11};
	sim_io = seg_io_sim_create(&faults);
	cr_assert_not_null(sim_io);
	/* The smallest segment the log takes: its default batch of 2 MiB. */
	struct dp_worker_log_options log = {.dir = "/sim", .segment_bytes = 2u << 20, .io = sim_io};
	char why[256];
	cr_assert_eq(dp_worker_recover(h.worker, &log, why, sizeof(why)), 0, "%s", why);

	faults.hold_op = seg_io_sim_stats(sim_io).ops + 1; /* the commit of the next pass */
	seg_io_sim_set_faults(sim_io, &faults);
	send_batch_unanswered(20, WIRE_BATCH_ENTRIES_MAX, false);
	cr_assert_eq(replies.udp_datagrams, 0, "no answer before the records are durable");
	cr_assert_eq(sqs_visible_count(h.worker->sqs, 0), stored_of(WIRE_BATCH_ENTRIES_MAX));
	for (int i = 0; i < 3; i++) {
		harness_advance_ms(1);
		harness_flush_tx();
		take_replies(&replies);
		cr_assert_eq(replies.udp_datagrams, 0, "still held while the commit is");
	}

	seg_io_sim_release(sim_io);
	for (int i = 0; i < 3 && replies.udp_datagrams == 0; i++) {
		harness_advance_ms(1);
		harness_flush_tx();
		take_replies(&replies);
	}
	cr_assert_eq(replies.udp_datagrams, 1, "answered once durable");
	cr_assert_eq(replies.header.status, WIRE_OK);
	read_entries();
	cr_assert_eq(answers_count, WIRE_BATCH_ENTRIES_MAX, "the whole batch in one held reply");
	cr_assert(answers[0].has_message_id);
	cr_assert_eq(h.worker->stats.replies_held, 1, "one place in the stage for the batch");
}

/* A FIFO receive with a ReceiveRequestAttemptId, over the local socket or UDP. */
static void receive_attempt(struct request *r, uint64_t request_id, bool local)
{
	request_begin(r, WIRE_OP_RECEIVE_MESSAGE, request_id);
	wire_put_str(&r->fields, WIRE_TAG_QUEUE_NAME, "orders.fifo");
	wire_put_u32(&r->fields, WIRE_TAG_MAX_MESSAGES, 10);
	wire_put_str(&r->fields, WIRE_TAG_RECEIVE_REQUEST_ATTEMPT_ID, "try-1");
	if (local)
		send_local(r);
	else
		send_udp(r);
}

/*
 * An attempt made over the local socket, whose messages together are larger than a datagram,
 * retried over UDP: refused with a reason, never answered with a part of the attempt (the
 * rest would be hidden from every later retry of it).
 */
Test(batch, an_attempt_retried_where_its_messages_do_not_fit_is_refused)
{
	static const char *const names[] = {TEST_QUEUE, "orders.fifo"};
	harness_publish_queues(names, 2);
	static char body[34000]; /* two fit a local reply (and the harness's), not a datagram */
	memset(body, 'b', sizeof(body) - 1);
	struct request r;
	for (uint64_t i = 0; i < 2; i++) {
		request_begin(&r, WIRE_OP_SEND_MESSAGE, 40 + i);
		wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, "orders.fifo");
		wire_put_str(&r.fields, WIRE_TAG_MESSAGE_GROUP_ID, i == 0 ? "g0" : "g1");
		wire_put_str(&r.fields, WIRE_TAG_MESSAGE_DEDUPLICATION_ID, i == 0 ? "d0" : "d1");
		wire_put_str(&r.fields, WIRE_TAG_BODY, body);
		send_local(&r);
		cr_assert_eq(replies.header.status, WIRE_OK);
	}
	receive_attempt(&r, 50, true);
	cr_assert_eq(replies.header.status, WIRE_OK);
	receive_attempt(&r, 51, false);
	cr_assert_eq(replies.udp_datagrams, 1, "answered");
	cr_assert_eq(replies.header.status, WIRE_ERR_INVALID_PARAMETER,
	             "not a part of the attempt: %u", replies.header.status);
	receive_attempt(&r, 52, true);
	cr_assert_eq(replies.header.status, WIRE_OK, "where it fits, the retry gets them");
	const uint8_t *value;
	cr_assert_eq(reply_field(&replies, WIRE_TAG_BODY, &value), (int)sizeof(body) - 1);
}
