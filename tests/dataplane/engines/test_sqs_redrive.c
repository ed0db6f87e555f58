/*
 * Dead-letter moves in the SQS engine (RedrivePolicy, issue 11), against a body store and a
 * log in memory, so that a restart replays what the engine wrote.
 *
 * Suite sqs_redrive proves case by case: a receive that comes to a message received
 * maxReceiveCount times does not hand it out but takes it to move (in flight for
 * SQS_MOVE_VISIBILITY_MS, a RECEIVE record with that deadline) and sqs_take_moves hands it
 * out once, with its body and a handle that deletes it; a move not finished makes it visible
 * again at its deadline and the next receive moves it again (the old handle then deletes
 * nothing); a restart before the delete keeps it hidden until that deadline, then moves it
 * again (at least once, never lost); with no policy, or no move slots, nothing moves; with
 * every move slot taken a receive stops at the message, which stays visible; a FIFO group
 * stays blocked while its message is moved, other groups are served, and the group goes on
 * once the moved message is deleted; a message purged while it waits is not handed out.
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
#define STORE_SLOTS     32u
#define MESSAGE_SLOTS   16u
#define LOG_RECORDS_MAX 256u
#define RECORD_BYTES                                                                               \
	(SQS_RECORD_HEADER_BYTES + SQS_RECORD_FIFO_BYTES + BB_FIFO_ID_BYTES_MAX + BODY_BYTES_MAX)
#define T0 1000000ull

enum { Q = 0, FQ = 1, QUEUE_ID = 100, FIFO_QUEUE_ID = 200 };

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

/* Every record appended, in order, as its bytes: a restart replays them all. */
struct test_log {
	uint32_t count;
	uint32_t bytes[LOG_RECORDS_MAX];
	uint8_t data[LOG_RECORDS_MAX][RECORD_BYTES];
};

static int log_append(void *ctx, const struct sqs_record *record, uint64_t *sequence_out,
                      uint64_t *position_out)
{
	struct test_log *log = ctx;
	cr_assert_lt(log->count, LOG_RECORDS_MAX);
	log->bytes[log->count] =
	    (uint32_t)sqs_record_encode(record, log->data[log->count], RECORD_BYTES);
	cr_assert_gt(log->bytes[log->count], 0);
	*sequence_out = ++log->count;
	*position_out = log->count * 100u;
	return 0;
}

static void log_release(void *ctx, uint64_t position)
{
	(void)ctx;
	(void)position;
}

static uint64_t test_nonce(void *ctx, const uint8_t message_id[16], uint32_t receive_count)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ receive_count;
	for (int i = 0; i < 16; i++)
		h = (h ^ message_id[i]) * 0x100000001b3ull;
	return h;
}

static struct test_store store;
static struct test_log log_records;
static struct sqs_engine *engine;

static void start(uint32_t move_slots, uint32_t max_receive_count)
{
	memset(&store, 0, sizeof(store));
	struct sqs_engine_options options = {
	    .queue_slots = 2,
	    .message_slots = MESSAGE_SLOTS,
	    .waiter_slots = 2,
	    .queue_messages_max = MESSAGE_SLOTS,
	    .queue_store_units_max = STORE_SLOTS,
	    .store_unit_bytes = BODY_BYTES_MAX,
	    .large_body_bytes_min = BODY_BYTES_MAX + 1,
	    .store = {&store, store_put, store_read, store_release},
	    .log = {&log_records, log_append, log_release},
	    .handle_nonce = test_nonce,
	    .fifo_group_slots = 8,
	    .fifo_dedup_slots = 16,
	    .move_slots = move_slots,
	};
	int error = 1;
	engine = sqs_engine_create(&options, &error);
	cr_assert_not_null(engine, "engine: %d", error);
	struct sqs_queue_config standard = {.queue_id = QUEUE_ID,
	                                    .visibility_timeout_s = 30,
	                                    .maximum_message_bytes = BODY_BYTES_MAX,
	                                    .durable = true,
	                                    .max_receive_count = max_receive_count};
	struct sqs_queue_config fifo = standard;
	fifo.queue_id = FIFO_QUEUE_ID;
	fifo.fifo = true;
	fifo.content_based_deduplication = true;
	struct sqs_wake wakes[2];
	cr_assert_eq(sqs_queue_open(engine, Q, &standard, wakes), 0);
	cr_assert_eq(sqs_queue_open(engine, FQ, &fifo, wakes), 0);
}

static void stop(void)
{
	sqs_engine_destroy(engine);
	engine = NULL;
}

static void fresh(void)
{
	log_records.count = 0;
}

TestSuite(sqs_redrive, .init = fresh, .fini = stop);

static void send(uint32_t slot, const char *body, const char *group)
{
	struct sqs_send_options o = {.group_id = group,
	                             .group_id_bytes = group ? (uint32_t)strlen(group) : 0};
	struct sqs_sent sent;
	cr_assert_eq(sqs_send_message(engine, slot, (const uint8_t *)body, (uint32_t)strlen(body),
	                              &o, T0, &sent),
	             WIRE_OK);
}

/* A receive of up to max with visibility 0: what it takes is visible again at once. */
static uint32_t receive(uint32_t slot, uint32_t max, uint64_t now_ms, struct sqs_received *out)
{
	struct sqs_receive_options o = {
	    .max_messages = max, .visibility_timeout_s = 0, .body_bytes_max = BODY_BYTES_MAX};
	sqs_expire(engine, now_ms);
	return sqs_receive(engine, slot, &o, now_ms, out);
}

static void body_of(uint64_t ref, uint32_t bytes, char *out)
{
	store_read(&store, ref, (uint8_t *)out, bytes);
	out[bytes] = '\0';
}

static enum wire_status delete_moved(const struct sqs_move *m)
{
	struct sqs_logged logged;
	return sqs_delete(engine, m->queue_slot, m->receipt_handle, strlen(m->receipt_handle),
	                  &logged);
}

Test(sqs_redrive, a_message_received_max_times_is_moved_once_and_deleted_by_its_handle)
{
	start(4, 2);
	send(Q, "a", NULL);
	struct sqs_received r[2];
	cr_assert_eq(receive(Q, 1, T0, r), 1);
	cr_assert_eq(receive(Q, 1, T0 + 1, r), 1);
	cr_assert_eq(r[0].receive_count, 2, "received twice: maxReceiveCount");
	struct sqs_move moves[4];
	cr_assert_eq(sqs_take_moves(engine, moves, 4), 0, "nothing moved yet");

	cr_assert_eq(receive(Q, 1, T0 + 2, r), 0, "the third receive moves it instead");
	cr_assert_eq(sqs_inflight_count(engine, Q), 1, "in flight while it is moved");
	cr_assert_eq(sqs_take_moves(engine, moves, 4), 1);
	cr_assert_eq(sqs_take_moves(engine, moves + 1, 3), 0, "handed out once");
	char body[BODY_BYTES_MAX + 1];
	body_of(moves[0].body_ref, moves[0].body_bytes, body);
	cr_assert_str_eq(body, "a");
	cr_assert_eq(moves[0].queue_id, QUEUE_ID);
	cr_assert_eq(moves[0].receive_count, 3);
	cr_assert_str_eq(moves[0].message_id, r[0].message_id);
	cr_assert_eq(moves[0].attributes_bytes, 0);
	cr_assert_eq(moves[0].sent_ms, T0);
	cr_assert_str_eq(moves[0].group_id, "");

	/* The RECEIVE record hides it for SQS_MOVE_VISIBILITY_MS. */
	struct sqs_record last;
	cr_assert_eq(sqs_record_decode(log_records.data[log_records.count - 1],
	                               log_records.bytes[log_records.count - 1], &last),
	             0);
	cr_assert_eq(last.kind, SQS_RECORD_RECEIVE);
	cr_assert_eq(last.receive_count, 3);
	cr_assert_eq(last.deadline_ms, T0 + 2 + SQS_MOVE_VISIBILITY_MS);

	cr_assert_eq(delete_moved(&moves[0]), WIRE_OK);
	cr_assert_eq(sqs_inflight_count(engine, Q) + sqs_visible_count(engine, Q), 0, "gone");
}

Test(sqs_redrive, an_unfinished_move_is_visible_at_its_deadline_and_moved_again)
{
	start(4, 1);
	send(Q, "a", NULL);
	struct sqs_received r[1];
	struct sqs_move first, again;
	cr_assert_eq(receive(Q, 1, T0, r), 1);
	cr_assert_eq(receive(Q, 1, T0 + 1, r), 0);
	cr_assert_eq(sqs_take_moves(engine, &first, 1), 1);
	cr_assert_eq(receive(Q, 1, T0 + 1 + SQS_MOVE_VISIBILITY_MS - 1, r), 0, "hidden until then");
	cr_assert_eq(sqs_take_moves(engine, &again, 1), 0);
	cr_assert_eq(receive(Q, 1, T0 + 1 + SQS_MOVE_VISIBILITY_MS, r), 0, "moved again");
	cr_assert_eq(sqs_take_moves(engine, &again, 1), 1);
	cr_assert_eq(again.receive_count, first.receive_count + 1);
	cr_assert_eq(delete_moved(&first), WIRE_OK, "a stale handle deletes nothing");
	cr_assert_eq(sqs_inflight_count(engine, Q), 1);
	cr_assert_eq(delete_moved(&again), WIRE_OK);
	cr_assert_eq(sqs_inflight_count(engine, Q), 0);
}

/* A crash between the move's receive and its delete: replaying the log keeps the message in
 * flight until the move's deadline, then the next receive moves it again. */
Test(sqs_redrive, a_restart_before_the_delete_moves_it_again_after_the_deadline)
{
	start(4, 1);
	send(Q, "kept", NULL);
	struct sqs_received r[1];
	cr_assert_eq(receive(Q, 1, T0, r), 1);
	cr_assert_eq(receive(Q, 1, T0 + 1, r), 0);
	stop(); /* the crash: the move was never finished */
	start(4, 1);
	struct sqs_replay *replay = sqs_replay_create(MESSAGE_SLOTS);
	for (uint32_t i = 0; i < log_records.count; i++) {
		struct sqs_record record;
		cr_assert_eq(sqs_record_decode(log_records.data[i], log_records.bytes[i], &record), 0);
		cr_assert_eq(sqs_replay_apply(replay, engine, Q, &record, (i + 1) * 100u, T0 + 5),
		             WIRE_OK);
	}
	sqs_replay_destroy(replay);
	cr_assert_eq(sqs_inflight_count(engine, Q), 1, "hidden after the restart too");
	cr_assert_eq(receive(Q, 1, T0 + 5, r), 0);
	struct sqs_move move;
	cr_assert_eq(receive(Q, 1, T0 + 1 + SQS_MOVE_VISIBILITY_MS, r), 0, "moved, not delivered");
	cr_assert_eq(sqs_take_moves(engine, &move, 1), 1, "the move is made again: not lost");
	char body[BODY_BYTES_MAX + 1];
	body_of(move.body_ref, move.body_bytes, body);
	cr_assert_str_eq(body, "kept");
}

Test(sqs_redrive, without_a_policy_or_move_slots_nothing_moves)
{
	start(4, 0);
	send(Q, "a", NULL);
	struct sqs_received r[1];
	struct sqs_move move;
	for (uint64_t i = 0; i < 5; i++)
		cr_assert_eq(receive(Q, 1, T0 + i, r), 1, "no RedrivePolicy: always delivered");
	cr_assert_eq(sqs_take_moves(engine, &move, 1), 0);
	stop();
	start(0, 1);
	send(Q, "a", NULL);
	for (uint64_t i = 0; i < 5; i++)
		cr_assert_eq(receive(Q, 1, T0 + i, r), 1, "an engine without move slots moves none");
}

Test(sqs_redrive, with_every_move_slot_taken_a_receive_stops_at_the_message)
{
	start(1, 1);
	send(Q, "a", NULL);
	send(Q, "b", NULL);
	struct sqs_received r[2];
	cr_assert_eq(receive(Q, 2, T0, r), 2);
	cr_assert_eq(receive(Q, 2, T0 + 1, r), 0, "a moved, b waits for a slot");
	cr_assert_eq(sqs_visible_count(engine, Q), 1, "b is still visible");
	struct sqs_move moves[2];
	cr_assert_eq(sqs_take_moves(engine, moves, 2), 1);
	cr_assert_eq(receive(Q, 2, T0 + 2, r), 0, "now b is moved");
	cr_assert_eq(sqs_take_moves(engine, moves + 1, 1), 1);
	char a[BODY_BYTES_MAX + 1], b[BODY_BYTES_MAX + 1];
	body_of(moves[0].body_ref, moves[0].body_bytes, a);
	body_of(moves[1].body_ref, moves[1].body_bytes, b);
	cr_assert_str_eq(a, "a");
	cr_assert_str_eq(b, "b");
}

Test(sqs_redrive, a_fifo_group_is_blocked_while_its_message_is_moved)
{
	start(4, 1);
	send(FQ, "g1", "g");
	send(FQ, "g2", "g");
	send(FQ, "h1", "h");
	struct sqs_received r[3];
	struct sqs_receive_options one = {
	    .max_messages = 1, .visibility_timeout_s = 0, .body_bytes_max = BODY_BYTES_MAX};
	cr_assert_eq(sqs_receive(engine, FQ, &one, T0, r), 1, "g1 received once");
	sqs_expire(engine, T0 + 1);
	cr_assert_eq(receive(FQ, 3, T0 + 1, r), 1, "g1 moved, g blocked, h1 delivered");
	cr_assert_str_eq(r[0].group_id, "h");
	struct sqs_move move;
	cr_assert_eq(sqs_take_moves(engine, &move, 1), 1);
	cr_assert_str_eq(move.group_id, "g");
	cr_assert_eq(receive(FQ, 3, T0 + 2, r), 0, "g stays blocked while g1 is moved");
	cr_assert_eq(delete_moved(&move), WIRE_OK);
	cr_assert_eq(receive(FQ, 3, T0 + 3, r), 1, "then g goes on (h1 is moved in turn)");
	cr_assert_str_eq(r[0].group_id, "g");
	cr_assert_eq(r[0].receive_count, 1, "g2, received for the first time");
}

Test(sqs_redrive, a_message_purged_while_it_waits_is_not_handed_out)
{
	start(4, 1);
	send(Q, "a", NULL);
	struct sqs_received r[1];
	cr_assert_eq(receive(Q, 1, T0, r), 1);
	cr_assert_eq(receive(Q, 1, T0 + 1, r), 0);
	struct sqs_logged logged;
	cr_assert_eq(sqs_purge(engine, Q, T0 + 2, &logged), WIRE_OK);
	struct sqs_move move;
	cr_assert_eq(sqs_take_moves(engine, &move, 1), 0);
}
