/*
 * FIFO queues in the SQS engine, against a fake log in memory so that a restart replays what
 * the engine wrote (as dp_log does at start: every record in log order, released or not).
 *
 * Suite sqs_fifo proves case by case: the send options AWS refuses (MissingParameter without a
 * group, InvalidParameterValue for ids outside 1-128 printable ASCII, a delay, no dedup id
 * without content-based deduplication, a dedup id on a standard queue); order per group; a
 * group blocked while any of its messages is in flight and the others served meanwhile; a
 * message whose visibility ended comes first again; a duplicate within 5 minutes answers the
 * first message's id and sequence number and stores nothing, also after the delete, and is a
 * new message after the window; content-based ids are the body's SHA-256; sequence numbers
 * are 20 digits and grow, across a restart too; a restart restores groups, their order, their
 * blocking and the window (an id older than 5 minutes is dropped); the record codec carries
 * the FIFO fields and still reads records without them; DeduplicationScope=messageGroup
 * deduplicates (group, id).
 *
 * Suite sqs_fifo_model runs seeded random sends, receives, deletes, time passing and restarts
 * against a model of SQS FIFO semantics and compares every answer: duplicates and their ids,
 * how many messages a receive gets, that each is the next of its group, that no group in
 * flight gives one, the visible, in-flight and delayed counts, with the queue's DelaySeconds
 * changed now and then (a delayed message holds its group), and retries of the last receive's
 * ReceiveRequestAttemptId (the same messages and handles while each is still in flight from
 * it, else a new receive); odd seeds deduplicate per message group
 * (DeduplicationScope=messageGroup). A failing seed is printed.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqs.h"
#include "sqs_record.h"
#include "sqs_replay.h"

#define BODY_BYTES_MAX  64u
#define STORE_SLOTS     64u
#define MESSAGE_SLOTS   32u
#define GROUP_SLOTS     8u
#define DEDUP_SLOTS     64u
#define ATTEMPT_SLOTS   4u
#define LOG_RECORDS_MAX 8192u
#define SEND_RECORD_BYTES                                                                          \
	(SQS_RECORD_HEADER_BYTES + SQS_RECORD_FIFO_BYTES + BB_FIFO_ID_BYTES_MAX + BODY_BYTES_MAX)
#define ATTEMPT_RECORD_BYTES                                                                       \
	(SQS_RECORD_HEADER_BYTES + SQS_RECORD_ATTEMPT_BYTES +                                      \
	 BB_RECEIVE_COUNT_MAX * SQS_RECORD_ATTEMPT_MESSAGE_BYTES)
#define RECORD_BYTES                                                                               \
	(SEND_RECORD_BYTES > ATTEMPT_RECORD_BYTES ? SEND_RECORD_BYTES : ATTEMPT_RECORD_BYTES)
#define POSITION_STRIDE 1000u
#define VISIBILITY_S    30u
#define T0              1000000000ull
#define WINDOW_MS       BB_FIFO_DEDUP_WINDOW_MS

/* ---- a body store and a log in memory ---- */

struct test_store {
	bool live[STORE_SLOTS];
	uint32_t bytes[STORE_SLOTS];
	uint8_t bodies[STORE_SLOTS][BODY_BYTES_MAX];
};

static int store_put(void *ctx, const uint8_t *body, uint32_t bytes, uint64_t *ref_out)
{
	struct test_store *s = ctx;
	cr_assert_leq(bytes, BODY_BYTES_MAX);
	for (uint32_t i = 0; i < STORE_SLOTS; i++) {
		if (!s->live[i]) {
			s->live[i] = true;
			s->bytes[i] = bytes;
			memcpy(s->bodies[i], body, bytes);
			*ref_out = i;
			return 0;
		}
	}
	return -ENOMEM;
}

static void store_read(void *ctx, uint64_t ref, uint8_t *out, uint32_t bytes)
{
	struct test_store *s = ctx;
	cr_assert(ref < STORE_SLOTS && s->live[ref] && s->bytes[ref] == bytes, "a live body");
	memcpy(out, s->bodies[ref], bytes);
}

static void store_release(void *ctx, uint64_t ref)
{
	struct test_store *s = ctx;
	cr_assert(ref < STORE_SLOTS && s->live[ref], "body released once");
	s->live[ref] = false;
}

struct fake_record {
	uint64_t position;
	bool released;
	uint32_t bytes;
	uint8_t data[RECORD_BYTES];
};

struct fake_log {
	struct fake_record records[LOG_RECORDS_MAX];
	uint32_t count;
};

static int log_append(void *ctx, const struct sqs_record *record, uint64_t *sequence_out,
                      uint64_t *position_out)
{
	struct fake_log *log = ctx;
	cr_assert_lt(log->count, LOG_RECORDS_MAX);
	struct fake_record *r = &log->records[log->count++];
	r->position = (uint64_t)log->count * POSITION_STRIDE;
	r->released = false;
	r->bytes = (uint32_t)sqs_record_encode(record, r->data, sizeof(r->data));
	cr_assert_gt(r->bytes, 0, "the record fits");
	*sequence_out = log->count;
	*position_out = r->position;
	return 0;
}

static void log_release(void *ctx, uint64_t position)
{
	struct fake_log *log = ctx;
	cr_assert(position % POSITION_STRIDE == 0 && position / POSITION_STRIDE <= log->count);
	struct fake_record *r = &log->records[position / POSITION_STRIDE - 1];
	cr_assert_not(r->released, "position %llu released once", (unsigned long long)position);
	r->released = true;
}

/* ---- the rig: a durable FIFO queue and a standard one ---- */

enum { FQ = 0, SQ = 1, FIFO_ID = 100, STANDARD_ID = 200 };

struct rig {
	struct test_store store;
	struct fake_log log;
	struct sqs_engine *engine;
	bool content_based;
	bool dedup_per_group; /* DeduplicationScope=messageGroup */
	uint32_t delay_s;     /* the FIFO queue's DelaySeconds */
};

static struct rig *rig;

static struct sqs_queue_config fifo_config(const struct rig *r)
{
	return (struct sqs_queue_config){
	    .queue_id = FIFO_ID, .visibility_timeout_s = VISIBILITY_S,
	    .maximum_message_bytes = BODY_BYTES_MAX, .durable = true, .fifo = true,
	    .content_based_deduplication = r->content_based, .dedup_per_group = r->dedup_per_group,
	    .delay_s = r->delay_s};
}

static void rig_open(struct rig *r)
{
	memset(&r->store, 0, sizeof(r->store));
	struct sqs_engine_options options = {
	    .queue_slots = 2,
	    .message_slots = MESSAGE_SLOTS,
	    .waiter_slots = 2,
	    .queue_messages_max = MESSAGE_SLOTS,
	    .queue_store_units_max = STORE_SLOTS,
	    .store_unit_bytes = BODY_BYTES_MAX,
	    .large_body_bytes_min = BODY_BYTES_MAX + 1,
	    .store = {&r->store, store_put, store_read, store_release},
	    .log = {&r->log, log_append, log_release},
	    .fifo_group_slots = GROUP_SLOTS,
	    .fifo_dedup_slots = DEDUP_SLOTS,
	    .attempt_slots = ATTEMPT_SLOTS,
	};
	int error = 1;
	r->engine = sqs_engine_create(&options, &error);
	cr_assert_not_null(r->engine, "engine: %d", error);
	struct sqs_queue_config fifo = fifo_config(r);
	struct sqs_queue_config standard = {
	    .queue_id = STANDARD_ID, .visibility_timeout_s = VISIBILITY_S,
	    .maximum_message_bytes = BODY_BYTES_MAX};
	struct sqs_wake wakes[2];
	cr_assert_eq(sqs_queue_open(r->engine, FQ, &fifo, wakes), 0);
	cr_assert_eq(sqs_queue_open(r->engine, SQ, &standard, wakes), 0);
}

/* busbard restarts at now: a fresh engine replays every record of the log, in order. */
static void rig_restart(struct rig *r, uint64_t now)
{
	sqs_engine_destroy(r->engine);
	rig_open(r);
	struct sqs_replay *replay = sqs_replay_create(MESSAGE_SLOTS);
	cr_assert_not_null(replay);
	uint32_t count = r->log.count;
	for (uint32_t i = 0; i < count; i++) {
		struct fake_record *f = &r->log.records[i];
		f->released = false; /* a restart knows no release */
		struct sqs_record record;
		cr_assert_eq(sqs_record_decode(f->data, f->bytes, &record), 0);
		uint32_t slot = record.queue_id == FIFO_ID ? FQ : SQ;
		cr_assert_eq(sqs_replay_apply(replay, r->engine, slot, &record, f->position, now),
		             WIRE_OK);
	}
	sqs_replay_destroy(replay);
}

static void setup(void)
{
	rig = calloc(1, sizeof(*rig));
	rig_open(rig);
}

static void teardown(void)
{
	sqs_engine_destroy(rig->engine);
	free(rig);
}

static void use_content_based(void)
{
	sqs_engine_destroy(rig->engine);
	rig->content_based = true;
	rig_open(rig);
}

TestSuite(sqs_fifo, .init = setup, .fini = teardown);

static enum wire_status send_to(uint32_t slot, const char *body, const char *group,
                                const char *dedup, uint64_t now, struct sqs_sent *out)
{
	struct sqs_send_options o = {
	    .group_id = group,
	    .group_id_bytes = group ? (uint32_t)strlen(group) : 0,
	    .dedup_id = dedup,
	    .dedup_id_bytes = dedup ? (uint32_t)strlen(dedup) : 0,
	};
	return sqs_send_message(rig->engine, slot, (const uint8_t *)body, (uint32_t)strlen(body), &o,
	                        now, out);
}

static void send_ok(const char *body, const char *group, const char *dedup, uint64_t now,
                    struct sqs_sent *out)
{
	cr_assert_eq(send_to(FQ, body, group, dedup, now, out), WIRE_OK, "send %s", body);
	cr_assert_not(out->duplicate, "%s is new", body);
}

static uint32_t receive(uint32_t max, uint64_t now, struct sqs_received *out)
{
	struct sqs_receive_options o = {max, -1, UINT32_MAX};
	sqs_expire(rig->engine, now);
	return sqs_receive(rig->engine, FQ, &o, now, out);
}

static const char *body_of(const struct sqs_received *r)
{
	static char text[BODY_BYTES_MAX + 1];
	store_read(&rig->store, r->body_ref, (uint8_t *)text, r->body_bytes);
	text[r->body_bytes] = '\0';
	return text;
}

static void delete_ok(const struct sqs_received *r)
{
	struct sqs_logged logged;
	cr_assert_eq(sqs_delete(rig->engine, FQ, r->receipt_handle, strlen(r->receipt_handle),
	                        &logged),
	             WIRE_OK);
}

Test(sqs_fifo, send_options_are_checked_as_aws_does)
{
	struct sqs_sent sent;
	char long_id[BB_FIFO_ID_BYTES_MAX + 2];
	memset(long_id, 'a', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	cr_assert_eq(send_to(FQ, "x", NULL, "d", T0, &sent), WIRE_ERR_MISSING_PARAMETER);
	cr_assert_eq(send_to(FQ, "x", "g", NULL, T0, &sent), WIRE_ERR_INVALID_PARAMETER,
	             "no dedup id and no content-based deduplication");
	cr_assert_eq(send_to(FQ, "x", long_id, "d", T0, &sent), WIRE_ERR_INVALID_PARAMETER);
	cr_assert_eq(send_to(FQ, "x", "g", long_id, T0, &sent), WIRE_ERR_INVALID_PARAMETER);
	cr_assert_eq(send_to(FQ, "x", "a b", "d", T0, &sent), WIRE_ERR_INVALID_PARAMETER);
	cr_assert_eq(send_to(FQ, "x", "g", "d\x7f", T0, &sent), WIRE_ERR_INVALID_PARAMETER);
	long_id[BB_FIFO_ID_BYTES_MAX] = '\0'; /* 128: allowed */
	cr_assert_eq(send_to(FQ, "x", long_id, long_id, T0, &sent), WIRE_OK);
	cr_assert_eq(send_to(FQ, "y", "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", "e", T0, &sent),
	             WIRE_OK);
	struct sqs_send_options delayed = {
	    .group_id = "g", .group_id_bytes = 1, .dedup_id = "f", .dedup_id_bytes = 1,
	    .delay_s = 5, .delay_given = true};
	cr_assert_eq(sqs_send_message(rig->engine, FQ, (const uint8_t *)"z", 1, &delayed, T0, &sent),
	             WIRE_ERR_INVALID_PARAMETER, "no per-message delay on FIFO");
	cr_assert_eq(send_to(SQ, "x", NULL, "d", T0, &sent), WIRE_ERR_INVALID_PARAMETER,
	             "no dedup id on a standard queue");
	cr_assert_eq(send_to(SQ, "x", "g", NULL, T0, &sent), WIRE_OK);
	cr_assert_str_empty(sent.sequence_number);
	cr_assert_eq(sqs_visible_count(rig->engine, FQ), 2);
}

Test(sqs_fifo, a_group_is_received_in_order_and_blocked_while_in_flight)
{
	struct sqs_sent sent;
	send_ok("a1", "A", "1", T0, &sent);
	send_ok("a2", "A", "2", T0, &sent);
	send_ok("a3", "A", "3", T0, &sent);
	send_ok("b1", "B", "4", T0, &sent);
	struct sqs_received got[10];
	cr_assert_eq(receive(1, T0, got), 1);
	cr_assert_str_eq(body_of(&got[0]), "a1");
	cr_assert_str_eq(got[0].group_id, "A");
	/* A is blocked while a1 is in flight: only B's message comes. */
	cr_assert_eq(receive(10, T0, got + 1), 1);
	cr_assert_str_eq(body_of(&got[1]), "b1");
	cr_assert_eq(receive(10, T0, got + 2), 0);
	cr_assert(!sqs_can_receive(rig->engine, FQ, UINT32_MAX));
	delete_ok(&got[0]);
	cr_assert_eq(receive(10, T0, got + 2), 2, "A's next two, in order");
	cr_assert_str_eq(body_of(&got[2]), "a2");
	cr_assert_str_eq(body_of(&got[3]), "a3");
	cr_assert_eq(sqs_inflight_count(rig->engine, FQ), 3);
}

Test(sqs_fifo, a_message_whose_visibility_ended_comes_first_again)
{
	struct sqs_sent sent;
	send_ok("a1", "A", "1", T0, &sent);
	send_ok("a2", "A", "2", T0, &sent);
	struct sqs_received got[10];
	cr_assert_eq(receive(1, T0, got), 1);
	cr_assert_eq(receive(1, T0 + VISIBILITY_S * 1000 - 1, got), 0, "A in flight");
	cr_assert_eq(receive(10, T0 + VISIBILITY_S * 1000, got), 2);
	cr_assert_str_eq(body_of(&got[0]), "a1");
	cr_assert_eq(got[0].receive_count, 2);
	cr_assert_str_eq(body_of(&got[1]), "a2");
}

Test(sqs_fifo, a_duplicate_answers_as_the_first_and_stores_nothing_even_after_delete)
{
	struct sqs_sent first, again;
	send_ok("one", "A", "id-1", T0, &first);
	cr_assert_eq(strlen(first.sequence_number), SQS_SEQUENCE_NUMBER_CHARS);
	cr_assert_eq(send_to(FQ, "other body", "B", "id-1", T0 + 1000, &again), WIRE_OK);
	cr_assert(again.duplicate);
	cr_assert_str_eq(again.message_id, first.message_id);
	cr_assert_str_eq(again.sequence_number, first.sequence_number);
	cr_assert_eq(again.logged.sequence, first.logged.sequence, "waits for the first record");
	cr_assert_eq(sqs_visible_count(rig->engine, FQ), 1);
	struct sqs_received got[1];
	cr_assert_eq(receive(1, T0 + 2000, got), 1);
	delete_ok(&got[0]);
	cr_assert_eq(send_to(FQ, "one", "A", "id-1", T0 + WINDOW_MS - 1, &again), WIRE_OK);
	cr_assert(again.duplicate, "the window outlives the delete");
	cr_assert_eq(sqs_visible_count(rig->engine, FQ), 0);
	cr_assert_eq(send_to(FQ, "one", "A", "id-1", T0 + WINDOW_MS, &again), WIRE_OK);
	cr_assert_not(again.duplicate, "5 minutes later the id is new");
	cr_assert_str_neq(again.message_id, first.message_id);
	cr_assert_gt(strcmp(again.sequence_number, first.sequence_number), 0);
}

/* The log keeps a deleted message's SEND record for its window, and no longer. */
Test(sqs_fifo, a_deleted_message_s_record_is_released_when_its_window_ends)
{
	struct sqs_sent sent;
	send_ok("one", "A", "id-1", T0, &sent);
	struct sqs_received got[1];
	cr_assert_eq(receive(1, T0, got), 1);
	delete_ok(&got[0]);
	struct fake_record *send_record = &rig->log.records[0];
	struct sqs_record decoded;
	cr_assert_eq(sqs_record_decode(send_record->data, send_record->bytes, &decoded), 0);
	cr_assert_eq(decoded.kind, SQS_RECORD_SEND);
	cr_assert_not(send_record->released, "kept for the window");
	sqs_expire(rig->engine, T0 + WINDOW_MS - 1);
	cr_assert_not(send_record->released);
	sqs_expire(rig->engine, T0 + WINDOW_MS);
	cr_assert(send_record->released, "released when the window ends, with no send");
	cr_assert_eq(sqs_dedup_count(rig->engine), 0);
}

/*
 * DeduplicationScope=messageGroup: the window holds (group, id), so one id is new in each group
 * and a duplicate in its own; the keys survive a restart as the queue scope's do.
 */
Test(sqs_fifo, a_message_group_scope_deduplicates_within_each_group)
{
	sqs_engine_destroy(rig->engine);
	rig->dedup_per_group = true;
	rig_open(rig);
	struct sqs_sent a, b, again;
	send_ok("a", "A", "id-1", T0, &a);
	send_ok("b", "B", "id-1", T0 + 1, &b);
	cr_assert_str_neq(a.message_id, b.message_id);
	rig_restart(rig, T0 + 2);
	cr_assert_eq(send_to(FQ, "a again", "A", "id-1", T0 + 2, &again), WIRE_OK);
	cr_assert(again.duplicate, "a duplicate in its group, after a restart too");
	cr_assert_str_eq(again.message_id, a.message_id);
	cr_assert_eq(send_to(FQ, "b again", "B", "id-1", T0 + 3, &again), WIRE_OK);
	cr_assert(again.duplicate);
	cr_assert_str_eq(again.message_id, b.message_id);
	cr_assert_eq(sqs_visible_count(rig->engine, FQ), 2);
}

/* The FIFO queue's DelaySeconds becomes delay_s (SetQueueAttributes): its state stays. */
static void set_queue_delay(uint32_t delay_s)
{
	rig->delay_s = delay_s;
	struct sqs_queue_config fifo = fifo_config(rig);
	struct sqs_wake wakes[2];
	cr_assert_eq(sqs_queue_open(rig->engine, FQ, &fifo, wakes), 0);
}

/*
 * A FIFO queue's DelaySeconds delays each send; a delayed message holds its group (a later
 * one, sent after the delay was lowered, waits for it) and other groups are served; all of it
 * as well after a restart.
 */
Test(sqs_fifo, a_queue_delay_delays_sends_and_holds_each_group_s_order)
{
	set_queue_delay(60);
	struct sqs_sent sent;
	send_ok("a1", "A", "1", T0, &sent);
	struct sqs_received got[10];
	cr_assert_eq(receive(10, T0 + 59999, got), 0, "delayed");
	cr_assert_eq(sqs_delayed_count(rig->engine, FQ), 1);
	set_queue_delay(0);
	send_ok("a2", "A", "2", T0 + 1, &sent);
	send_ok("b1", "B", "3", T0 + 1, &sent);
	cr_assert_eq(sqs_delayed_count(rig->engine, FQ), 2, "a2 waits for a1");
	cr_assert_eq(receive(10, T0 + 2, got), 1);
	cr_assert_str_eq(body_of(&got[0]), "b1");
	delete_ok(&got[0]);
	rig_restart(rig, T0 + 3);
	cr_assert_eq(sqs_delayed_count(rig->engine, FQ), 2, "still delayed after a restart");
	cr_assert_eq(receive(10, T0 + 59999, got), 0);
	cr_assert_eq(receive(10, T0 + 60000, got), 2);
	cr_assert_str_eq(body_of(&got[0]), "a1");
	cr_assert_str_eq(body_of(&got[1]), "a2");
	cr_assert_eq(sqs_delayed_count(rig->engine, FQ), 0);
}

/* AWS has no per-message DelaySeconds on a FIFO queue: InvalidParameterValue. */
Test(sqs_fifo, a_message_s_own_delay_is_refused)
{
	struct sqs_send_options o = {.group_id = "A", .group_id_bytes = 1, .dedup_id = "1",
	                             .dedup_id_bytes = 1, .delay_s = 5, .delay_given = true};
	struct sqs_sent sent;
	cr_assert_eq(sqs_send_message(rig->engine, FQ, (const uint8_t *)"x", 1, &o, T0, &sent),
	             WIRE_ERR_INVALID_PARAMETER);
}

/* A receive with a ReceiveRequestAttemptId, as busbard makes one (dp_execute.c). */
static uint32_t receive_attempt_for(const char *id, uint32_t max, int64_t visibility_s,
                                    uint64_t now, struct sqs_received *out)
{
	sqs_expire(rig->engine, now);
	uint32_t n = sqs_attempt_begin(rig->engine, FQ, id, (uint32_t)strlen(id), visibility_s,
	                               now, out);
	struct sqs_receive_options o = {max, visibility_s, UINT32_MAX};
	if (n == 0)
		n = sqs_receive(rig->engine, FQ, &o, now, out);
	sqs_attempt_end(rig->engine);
	return n;
}

static uint32_t receive_attempt(const char *id, uint32_t max, uint64_t now,
                                struct sqs_received *out)
{
	return receive_attempt_for(id, max, -1, now, out);
}

static void assert_same_receive(const struct sqs_received *a, const struct sqs_received *b,
                                uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		cr_assert_str_eq(a[i].message_id, b[i].message_id);
		cr_assert_str_eq(a[i].receipt_handle, b[i].receipt_handle, "the same handle");
		cr_assert_str_eq(a[i].sequence_number, b[i].sequence_number);
	}
}

/*
 * ReceiveRequestAttemptId: a retry within 5 minutes gets the same messages and receipt
 * handles and starts their visibility timeouts again; after a restart too (the ATTEMPT
 * record); an id of another receive is a receive of its own.
 */
Test(sqs_fifo, a_retried_attempt_gets_the_same_messages_and_handles_after_a_restart_too)
{
	struct sqs_sent sent;
	send_ok("a1", "A", "1", T0, &sent);
	send_ok("a2", "A", "2", T0, &sent);
	send_ok("b1", "B", "3", T0, &sent);
	struct sqs_received first[10], again[10];
	cr_assert_eq(receive_attempt("try-1", 10, T0, first), 3);
	cr_assert(sqs_attempt_repeats(rig->engine, FQ, "try-1", 5, T0 + 1000));
	cr_assert_not(sqs_attempt_repeats(rig->engine, FQ, "try-2", 5, T0 + 1000));
	cr_assert_eq(receive_attempt("try-1", 10, T0 + 1000, again), 3, "a retry");
	assert_same_receive(first, again, 3);
	cr_assert_eq(receive_attempt("try-2", 10, T0 + 1000, again), 0, "all in flight");
	rig_restart(rig, T0 + 2000);
	cr_assert_eq(receive_attempt("try-1", 10, T0 + 2000, again), 3, "a retry after a restart");
	assert_same_receive(first, again, 3);
	uint64_t visible = T0 + 2000 + VISIBILITY_S * 1000;
	cr_assert_eq(receive(10, visible - 1, again), 0, "the retry started the timeout again");
	cr_assert_eq(receive(10, visible, again), 3);
}

/* A retry after a message of it was deleted, its visibility changed or ended, or 5 minutes
 * on, is a new receive. */
Test(sqs_fifo, an_attempt_whose_messages_changed_is_a_new_receive)
{
	struct sqs_sent sent;
	send_ok("a1", "A", "1", T0, &sent);
	send_ok("b1", "B", "2", T0, &sent);
	struct sqs_received got[10], again[10];
	cr_assert_eq(receive_attempt("t", 10, T0, got), 2);
	delete_ok(&got[0]);
	cr_assert_eq(receive_attempt("t", 10, T0 + 1, again), 0, "a1 deleted, b1 in flight");
	cr_assert_eq(receive_attempt("u", 10, T0 + 1, got), 0);
	uint64_t later = T0 + VISIBILITY_S * 1000;
	cr_assert_eq(receive_attempt("u", 10, later, got), 1, "b1 visible again");
	cr_assert_eq(sqs_change_visibility(rig->engine, FQ, got[0].receipt_handle,
	                                   strlen(got[0].receipt_handle), 100, later),
	             WIRE_OK);
	cr_assert_eq(receive_attempt("u", 10, later + 1, again), 0, "its visibility changed");
	send_ok("c1", "C", "3", later + 1, &sent);
	cr_assert_eq(receive_attempt_for("v", 10, 900, later + 1, got), 1);
	cr_assert_str_eq(body_of(&got[0]), "c1");
	cr_assert_eq(receive_attempt_for("v", 10, 900, later + 1 + WINDOW_MS, again), 1);
	cr_assert_str_eq(body_of(&again[0]), "b1", "5 minutes on: a new receive (C in flight)");
}

/* The ATTEMPT record: its fields round trip, a count outside 1-10 or a wrong size is refused. */
Test(sqs_fifo, the_attempt_record_round_trips_and_a_bad_one_is_refused)
{
	struct sqs_record r = {.kind = SQS_RECORD_ATTEMPT, .queue_id = 7, .sent_ms = 99,
	                       .attempt_count = 2};
	memset(r.attempt_key, 0xcd, sizeof(r.attempt_key));
	r.attempt_messages[0] = (struct sqs_record_attempt_message){3, 4, 5, 6};
	r.attempt_messages[1] = (struct sqs_record_attempt_message){7, 8, 9, 10};
	uint8_t bytes[RECORD_BYTES];
	size_t n = sqs_record_encode(&r, bytes, sizeof(bytes));
	cr_assert_eq(n, SQS_RECORD_HEADER_BYTES + SQS_RECORD_ATTEMPT_BYTES +
	                    2 * SQS_RECORD_ATTEMPT_MESSAGE_BYTES);
	struct sqs_record out;
	cr_assert_eq(sqs_record_decode(bytes, n, &out), 0);
	cr_assert_eq(out.kind, SQS_RECORD_ATTEMPT);
	cr_assert_eq(out.sent_ms, 99);
	cr_assert_eq(memcmp(out.attempt_key, r.attempt_key, 32), 0);
	cr_assert_eq(out.attempt_messages[1].deadline_ms, 10);
	cr_assert_eq(out.attempt_messages[0].index, 3);
	cr_assert_eq(sqs_record_decode(bytes, n - 1, &out), -EBADMSG, "a size not its count's");
	bytes[SQS_RECORD_HEADER_BYTES + 32] = 11;
	cr_assert_eq(sqs_record_decode(bytes, n, &out), -EBADMSG, "11 messages");
}

Test(sqs_fifo, content_based_ids_are_the_body_s_sha256)
{
	use_content_based();
	struct sqs_sent first, again;
	send_ok("same", "A", NULL, T0, &first);
	cr_assert_eq(send_to(FQ, "same", "B", NULL, T0 + 1, &again), WIRE_OK);
	cr_assert(again.duplicate);
	cr_assert_str_eq(again.message_id, first.message_id);
	send_ok("different", "A", NULL, T0 + 2, &again);
	/* An explicit id overrides; equal to the body's SHA-256 in hex, it is the same id. */
	send_ok("same", "A", "explicit", T0 + 3, &again);
	const char *sha_of_same = "0967115f2813a3541eaef77de9d9d5773f1c0c04314b0bbfe4ff3b3b1c55b5d5";
	cr_assert_eq(send_to(FQ, "x", "A", sha_of_same, T0 + 4, &again), WIRE_OK);
	cr_assert(again.duplicate);
	cr_assert_str_eq(again.message_id, first.message_id);
}

Test(sqs_fifo, sequence_numbers_grow_across_a_restart)
{
	struct sqs_sent a, b;
	send_ok("a", "A", "1", T0, &a);
	send_ok("b", "A", "2", T0, &b);
	cr_assert_gt(strcmp(b.sequence_number, a.sequence_number), 0);
	rig_restart(rig, T0);
	send_ok("c", "A", "3", T0, &a);
	cr_assert_gt(strcmp(a.sequence_number, b.sequence_number), 0, "same ms, after a restart");
	struct sqs_received got[10];
	cr_assert_eq(receive(10, T0, got), 3);
	cr_assert_str_eq(got[1].sequence_number, b.sequence_number);
	cr_assert_str_eq(got[2].sequence_number, a.sequence_number);
}

Test(sqs_fifo, a_restart_restores_groups_order_blocking_and_the_window)
{
	struct sqs_sent sent, old;
	send_ok("gone", "A", "old", T0, &old);
	struct sqs_received got[10];
	cr_assert_eq(receive(1, T0, got), 1);
	delete_ok(&got[0]);
	uint64_t now = T0 + WINDOW_MS / 2;
	send_ok("a1", "A", "1", now, &sent);
	send_ok("a2", "A", "2", now, &sent);
	send_ok("b1", "B", "3", now, &sent);
	cr_assert_eq(receive(1, now, got), 1);
	cr_assert_str_eq(body_of(&got[0]), "a1");
	rig_restart(rig, now + 1000);
	cr_assert_eq(sqs_group_count(rig->engine), 2);
	cr_assert_eq(receive(10, now + 1000, got), 1, "A still blocked by a1 in flight");
	cr_assert_str_eq(body_of(&got[0]), "b1");
	cr_assert_eq(send_to(FQ, "again", "A", "old", now + 1000, &sent), WIRE_OK);
	cr_assert(sent.duplicate, "the deleted message's id is still in its window");
	cr_assert_str_eq(sent.message_id, old.message_id);
	cr_assert_eq(receive(10, now + VISIBILITY_S * 1000, got), 2);
	cr_assert_str_eq(body_of(&got[0]), "a1");
	cr_assert_str_eq(body_of(&got[1]), "a2");
	/* Recovery after the window of "old" ended drops it. */
	rig_restart(rig, T0 + WINDOW_MS);
	cr_assert_eq(send_to(FQ, "again", "A", "old", T0 + WINDOW_MS, &sent), WIRE_OK);
	cr_assert_not(sent.duplicate);
}

Test(sqs_fifo, the_record_codec_carries_the_fifo_fields_and_reads_older_records)
{
	uint8_t bytes[RECORD_BYTES];
	struct sqs_record r = {.kind = SQS_RECORD_SEND, .queue_id = 7, .sent_ms = 5,
	                       .body_bytes = 2, .body = (const uint8_t *)"hi",
	                       .sequence_number = 1234, .group_id = "grp", .group_id_bytes = 3,
	                       .has_dedup_key = true};
	memset(r.dedup_key, 0xab, sizeof(r.dedup_key));
	size_t n = sqs_record_encode(&r, bytes, sizeof(bytes));
	cr_assert_eq(n, SQS_RECORD_HEADER_BYTES + SQS_RECORD_FIFO_BYTES + 3 + 2);
	struct sqs_record out;
	cr_assert_eq(sqs_record_decode(bytes, n, &out), 0);
	cr_assert_eq(out.sequence_number, 1234);
	cr_assert_eq(out.group_id_bytes, 3);
	cr_assert_eq(memcmp(out.group_id, "grp", 3), 0);
	cr_assert(out.has_dedup_key);
	cr_assert_eq(memcmp(out.dedup_key, r.dedup_key, 32), 0);
	cr_assert_eq(memcmp(out.body, "hi", 2), 0);
	bytes[SQS_RECORD_HEADER_BYTES + 40] = 0; /* a group id of 0 bytes */
	cr_assert_eq(sqs_record_decode(bytes, n, &out), -EBADMSG);
	bytes[SQS_RECORD_HEADER_BYTES + 40] = 3;
	bytes[1] = 0x02; /* an unknown flag */
	cr_assert_eq(sqs_record_decode(bytes, n, &out), -EBADMSG);
	struct sqs_record plain = {.kind = SQS_RECORD_SEND, .queue_id = 7, .body_bytes = 2,
	                           .body = (const uint8_t *)"hi"};
	n = sqs_record_encode(&plain, bytes, sizeof(bytes));
	cr_assert_eq(n, SQS_RECORD_HEADER_BYTES + 2, "a standard queue's record is as before");
	cr_assert_eq(sqs_record_decode(bytes, n, &out), 0);
	cr_assert_eq(out.group_id_bytes, 0);
}

Test(sqs_fifo, groups_and_dedup_places_are_bounded)
{
	struct sqs_sent sent;
	char group[8], dedup[8];
	for (uint32_t i = 0; i < GROUP_SLOTS; i++) {
		snprintf(group, sizeof(group), "g%u", i);
		snprintf(dedup, sizeof(dedup), "d%u", i);
		send_ok("m", group, dedup, T0, &sent);
	}
	cr_assert_eq(send_to(FQ, "m", "more", "x", T0, &sent), WIRE_ERR_OVER_LIMIT);
	cr_assert_eq(sqs_group_count(rig->engine), GROUP_SLOTS);
	struct sqs_received got[10];
	cr_assert_eq(receive(1, T0, got), 1);
	delete_ok(&got[0]);
	cr_assert_eq(sqs_group_count(rig->engine), GROUP_SLOTS - 1, "an empty group is freed");
	send_ok("m", "more", "x", T0, &sent);
}

/* ---- the model ---- */

#define MODEL_SENDS_MAX 512u
#define MODEL_GROUPS    3u
#define MODEL_DEDUP_IDS 6u
#define MODEL_STEPS     400u
#define MODEL_SEEDS     150u

struct model_message {
	bool live;
	bool inflight;
	uint32_t group;
	uint64_t deadline_ms;
	uint64_t visible_ms; /* its delay's end: not before the one sent before it in its group */
	char id[BB_MESSAGE_ID_BYTES + 1];
	char handle[BB_RECEIPT_HANDLE_BYTES + 1]; /* "" when none is valid */
};

struct model_dedup {
	bool used;
	uint64_t expires_ms;
	char id[BB_MESSAGE_ID_BYTES + 1];
	char sequence_number[SQS_SEQUENCE_NUMBER_CHARS + 1];
};

/* The last receive's ReceiveRequestAttemptId and what it took (count 0: none to retry). */
struct model_attempt {
	char id[16];
	uint64_t began_ms;
	uint32_t count;
	uint32_t indexes[BB_RECEIVE_COUNT_MAX];
	char handles[BB_RECEIVE_COUNT_MAX][BB_RECEIPT_HANDLE_BYTES + 1];
};

struct model {
	struct model_message messages[MODEL_SENDS_MAX]; /* in send order */
	uint32_t count;
	struct model_attempt attempt;
	uint32_t attempts_made;
	/* by id, or by group and id with DeduplicationScope=messageGroup (odd seeds) */
	struct model_dedup dedup[MODEL_GROUPS * MODEL_DEDUP_IDS];
	char sequence_last[SQS_SEQUENCE_NUMBER_CHARS + 1];
	uint64_t now;
	unsigned seed;
};

static uint32_t next_random(struct model *m)
{
	m->seed = m->seed * 1103515245u + 12345u;
	return (m->seed >> 8) & 0xffffffu;
}

static void model_expire(struct model *m)
{
	for (uint32_t i = 0; i < m->count; i++) {
		if (m->messages[i].inflight && m->messages[i].deadline_ms <= m->now)
			m->messages[i].inflight = false;
	}
}

static bool model_delayed(const struct model *m, const struct model_message *x)
{
	return x->visible_ms > m->now;
}

/* Live messages in flight (inflight), or visible (not delayed); model_delays counts those. */
static uint32_t model_live(const struct model *m, bool inflight)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < m->count; i++) {
		const struct model_message *x = &m->messages[i];
		n += x->live && x->inflight == inflight && (inflight || !model_delayed(m, x));
	}
	return n;
}

static uint32_t model_delays(const struct model *m)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < m->count; i++)
		n += m->messages[i].live && model_delayed(m, &m->messages[i]);
	return n;
}

/* When a send now becomes visible: the queue's delay, held by its group's last message. */
static uint64_t model_visible_ms(const struct model *m, uint32_t group)
{
	uint64_t visible_ms = m->now + (uint64_t)rig->delay_s * 1000;
	for (uint32_t i = m->count; i-- > 0;) {
		const struct model_message *x = &m->messages[i];
		if (x->live && x->group == group)
			return x->visible_ms > visible_ms ? x->visible_ms : visible_ms;
	}
	return visible_ms;
}

static void model_send(struct model *m, unsigned seed)
{
	uint32_t group = next_random(m) % MODEL_GROUPS;
	uint32_t dedup = next_random(m) % MODEL_DEDUP_IDS;
	char group_id[8], dedup_id[8], body[16];
	snprintf(group_id, sizeof(group_id), "g%u", group);
	snprintf(dedup_id, sizeof(dedup_id), "d%u", dedup);
	snprintf(body, sizeof(body), "b%u", m->count);
	struct sqs_sent sent;
	enum wire_status status = send_to(FQ, body, group_id, dedup_id, m->now, &sent);
	struct model_dedup *d = &m->dedup[rig->dedup_per_group ? group * MODEL_DEDUP_IDS + dedup
	                                                       : dedup];
	if (d->used && d->expires_ms > m->now) {
		cr_assert(status == WIRE_OK && sent.duplicate, "seed %u: duplicate", seed);
		cr_assert_str_eq(sent.message_id, d->id, "seed %u", seed);
		cr_assert_str_eq(sent.sequence_number, d->sequence_number, "seed %u", seed);
		return;
	}
	if (model_live(m, false) + model_live(m, true) + model_delays(m) == MESSAGE_SLOTS) {
		cr_assert_eq(status, WIRE_ERR_OVER_LIMIT, "seed %u: full", seed);
		return;
	}
	cr_assert(status == WIRE_OK && !sent.duplicate, "seed %u: new (%d)", seed, status);
	cr_assert_gt(strcmp(sent.sequence_number, m->sequence_last), 0, "seed %u: grows", seed);
	strcpy(m->sequence_last, sent.sequence_number);
	cr_assert_lt(m->count, MODEL_SENDS_MAX);
	m->messages[m->count] =
	    (struct model_message){.live = true, .group = group, .visible_ms = model_visible_ms(m, group)};
	m->count++;
	strcpy(m->messages[m->count - 1].id, sent.message_id);
	*d = (struct model_dedup){.used = true, .expires_ms = m->now + WINDOW_MS};
	strcpy(d->id, sent.message_id);
	strcpy(d->sequence_number, sent.sequence_number);
}

static uint32_t model_find(const struct model *m, const char *id)
{
	for (uint32_t i = 0; i < m->count; i++) {
		if (m->messages[i].live && strcmp(m->messages[i].id, id) == 0)
			return i;
	}
	cr_assert_fail("received %s, which the model does not hold", id);
	return 0;
}

/* Groups with visible messages and none in flight, and how many visible messages they hold
 * together (a group's delayed messages are its last). */
static uint32_t model_available(const struct model *m, bool available[MODEL_GROUPS])
{
	uint32_t count[MODEL_GROUPS] = {0};
	for (uint32_t g = 0; g < MODEL_GROUPS; g++)
		available[g] = true;
	for (uint32_t i = 0; i < m->count; i++) {
		const struct model_message *x = &m->messages[i];
		if (!x->live)
			continue;
		count[x->group] += !model_delayed(m, x);
		if (x->inflight)
			available[x->group] = false;
	}
	uint32_t total = 0;
	for (uint32_t g = 0; g < MODEL_GROUPS; g++) {
		available[g] = available[g] && count[g] > 0;
		total += available[g] ? count[g] : 0;
	}
	return total;
}

/* The index of the k-th live message of a group, in send order. */
static uint32_t model_nth(const struct model *m, uint32_t group, uint32_t k)
{
	for (uint32_t i = 0; i < m->count; i++) {
		if (m->messages[i].live && m->messages[i].group == group && k-- == 0)
			return i;
	}
	cr_assert_fail("group %u has no message %u", group, k);
	return 0;
}

/* A receive under attempt id (a new receive: the model knows of no earlier one that holds). */
static void model_receive_as(struct model *m, unsigned seed, const char *id)
{
	uint32_t max = 1 + next_random(m) % BB_RECEIVE_COUNT_MAX;
	int64_t visibility_s = 1 + next_random(m) % 60;
	bool available[MODEL_GROUPS];
	uint32_t total = model_available(m, available);
	struct sqs_received got[BB_RECEIVE_COUNT_MAX];
	uint32_t n = receive_attempt_for(id, max, visibility_s, m->now, got);
	cr_assert_eq(n, total < max ? total : max, "seed %u: how many", seed);
	uint32_t taken[MODEL_GROUPS] = {0};
	uint32_t current = MODEL_GROUPS;
	uint32_t indexes[BB_RECEIVE_COUNT_MAX];
	for (uint32_t i = 0; i < n; i++) {
		uint32_t index = model_find(m, got[i].message_id);
		uint32_t g = m->messages[index].group;
		cr_assert(available[g], "seed %u: a group with one in flight gave one", seed);
		cr_assert(g == current || taken[g] == 0, "seed %u: a group's are together", seed);
		cr_assert_eq(index, model_nth(m, g, taken[g]), "seed %u: the group's next", seed);
		taken[g]++;
		current = g;
		indexes[i] = index;
	}
	struct model_attempt *a = &m->attempt;
	if (id != a->id) /* a retry's new receive keeps its id */
		snprintf(a->id, sizeof(a->id), "%s", id);
	a->began_ms = m->now;
	a->count = n;
	for (uint32_t i = 0; i < n; i++) {
		struct model_message *x = &m->messages[indexes[i]];
		x->inflight = true;
		x->deadline_ms = m->now + (uint64_t)visibility_s * 1000;
		strcpy(x->handle, got[i].receipt_handle);
		a->indexes[i] = indexes[i];
		strcpy(a->handles[i], got[i].receipt_handle);
	}
}

static void model_receive(struct model *m, unsigned seed)
{
	char id[16];
	snprintf(id, sizeof(id), "r%u", m->attempts_made++);
	model_receive_as(m, seed, id);
}

/* Whether a retry of the last attempt gets its messages again: each still in flight from it,
 * within the window. */
static bool model_attempt_holds(const struct model *m)
{
	const struct model_attempt *a = &m->attempt;
	if (a->count == 0 || m->now >= a->began_ms + WINDOW_MS)
		return false;
	for (uint32_t i = 0; i < a->count; i++) {
		const struct model_message *x = &m->messages[a->indexes[i]];
		if (!x->live || !x->inflight || strcmp(x->handle, a->handles[i]) != 0)
			return false;
	}
	return true;
}

/* Retries the last attempt: the same messages and handles, their timeouts started again, or a
 * new receive under its id when they changed. */
static void model_retry(struct model *m, unsigned seed)
{
	struct model_attempt *a = &m->attempt;
	if (!model_attempt_holds(m)) {
		if (a->count > 0)
			model_receive_as(m, seed, a->id);
		return;
	}
	int64_t visibility_s = 1 + next_random(m) % 60;
	struct sqs_received got[BB_RECEIVE_COUNT_MAX];
	uint32_t n = receive_attempt_for(a->id, BB_RECEIVE_COUNT_MAX, visibility_s, m->now, got);
	cr_assert_eq(n, a->count, "seed %u: a retry gets the attempt's messages", seed);
	for (uint32_t i = 0; i < n; i++) {
		struct model_message *x = &m->messages[a->indexes[i]];
		cr_assert_str_eq(got[i].message_id, x->id, "seed %u", seed);
		cr_assert_str_eq(got[i].receipt_handle, a->handles[i], "seed %u", seed);
		x->deadline_ms = m->now + (uint64_t)visibility_s * 1000;
	}
}

static void model_delete(struct model *m, unsigned seed)
{
	uint32_t start = next_random(m) % (m->count + 1);
	for (uint32_t k = 0; k < m->count; k++) {
		struct model_message *x = &m->messages[(start + k) % m->count];
		if (!x->live || x->handle[0] == '\0')
			continue;
		struct sqs_logged logged;
		cr_assert_eq(sqs_delete(rig->engine, FQ, x->handle, strlen(x->handle), &logged),
		             WIRE_OK, "seed %u", seed);
		x->live = false;
		return;
	}
}

static void model_restart(struct model *m)
{
	rig_restart(rig, m->now);
	for (uint32_t i = 0; i < m->count; i++)
		m->messages[i].handle[0] = '\0'; /* nonces are new: old handles are stale */
	m->attempt.count = 0; /* the model follows no attempt across a restart */
}

static void model_step(struct model *m, unsigned seed)
{
	uint32_t op = next_random(m) % 100;
	if (op < 40)
		model_send(m, seed);
	else if (op < 62)
		model_receive(m, seed);
	else if (op < 70)
		model_retry(m, seed);
	else if (op < 85)
		model_delete(m, seed);
	else if (op < 95)
		m->now += next_random(m) % 120000;
	else if (op < 97)
		set_queue_delay(next_random(m) % 3 * 45); /* 0, 45 or 90 s */
	else
		model_restart(m);
	sqs_expire(rig->engine, m->now);
	model_expire(m);
	cr_assert_eq(sqs_visible_count(rig->engine, FQ), model_live(m, false), "seed %u", seed);
	cr_assert_eq(sqs_inflight_count(rig->engine, FQ), model_live(m, true), "seed %u", seed);
	cr_assert_eq(sqs_delayed_count(rig->engine, FQ), model_delays(m), "seed %u", seed);
}

TestSuite(sqs_fifo_model, .init = setup, .fini = teardown);

Test(sqs_fifo_model, random_operations_match_the_model)
{
	static struct model m;
	for (unsigned seed = 1; seed <= MODEL_SEEDS; seed++) {
		memset(&m, 0, sizeof(m));
		m.now = T0;
		m.seed = seed;
		memset(m.sequence_last, '0', SQS_SEQUENCE_NUMBER_CHARS);
		sqs_engine_destroy(rig->engine);
		memset(&rig->log, 0, sizeof(rig->log));
		rig->dedup_per_group = seed % 2 == 1;
		rig->delay_s = 0;
		rig_open(rig);
		for (uint32_t step = 0; step < MODEL_STEPS && m.count < MODEL_SENDS_MAX; step++)
			model_step(&m, seed);
	}
}
