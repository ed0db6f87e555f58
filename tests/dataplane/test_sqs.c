/*
 * The SQS engine's state machine, driven with explicit times: visibility
 * expiry, long-poll wake-up and timeout, stale receipt handles, visibility
 * changes, and what happens when slots or the body store run out.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sqs.h"

#define STORE_SLOTS 64

/* A body store in ordinary memory that counts what is live. */
struct test_store {
	uint8_t *bodies[STORE_SLOTS];
	uint32_t live;
	bool refuse; /* simulate a full store */
};

static int store_put(void *ctx, const uint8_t *body, uint32_t bytes, uint64_t *ref_out)
{
	struct test_store *s = ctx;
	if (s->refuse)
		return -ENOMEM;
	for (uint64_t i = 0; i < STORE_SLOTS; i++) {
		if (s->bodies[i] == NULL) {
			s->bodies[i] = malloc(bytes);
			memcpy(s->bodies[i], body, bytes);
			s->live++;
			*ref_out = i;
			return 0;
		}
	}
	return -ENOMEM;
}

static void store_read(void *ctx, uint64_t ref, uint8_t *out, uint32_t bytes)
{
	struct test_store *s = ctx;
	memcpy(out, s->bodies[ref], bytes);
}

static void store_release(void *ctx, uint64_t ref)
{
	struct test_store *s = ctx;
	cr_assert_not_null(s->bodies[ref], "released twice");
	free(s->bodies[ref]);
	s->bodies[ref] = NULL;
	s->live--;
}

static struct test_store store;
static struct sqs_engine *engine;
static struct sqs_wake wakes[8];

enum { Q = 0, OTHER_Q = 1, T0 = 1000000 };

static void setup(void)
{
	memset(&store, 0, sizeof(store));
	struct sqs_engine_options options = {
		.queue_slots = 4,
		.message_slots = 8,
		.waiter_slots = 4,
		.seed = 1,
		.store = {&store, store_put, store_read, store_release},
	};
	int error = 1;
	engine = sqs_engine_create(&options, &error);
	cr_assert_not_null(engine);
	cr_assert_eq(error, 0);
	struct sqs_queue_config a = {.queue_id = 100, .visibility_timeout_s = 30,
	                             .maximum_message_bytes = 16};
	struct sqs_queue_config b = {.queue_id = 200, .visibility_timeout_s = 30,
	                             .maximum_message_bytes = 16};
	cr_assert_eq(sqs_queue_open(engine, Q, &a, wakes), 0);
	cr_assert_eq(sqs_queue_open(engine, OTHER_Q, &b, wakes), 0);
}

static void teardown(void)
{
	sqs_engine_destroy(engine);
	for (int i = 0; i < STORE_SLOTS; i++)
		free(store.bodies[i]);
}

TestSuite(sqs, .init = setup, .fini = teardown);

static void send_ok(uint32_t slot, const char *body, uint64_t now, struct sqs_sent *sent)
{
	cr_assert_eq(sqs_send(engine, slot, (const uint8_t *)body, strlen(body), now, sent), WIRE_OK);
}

static struct sqs_received receive_one(uint32_t slot, int64_t visibility_s, uint64_t now)
{
	struct sqs_received r[BB_RECEIVE_COUNT_MAX];
	cr_assert_eq(sqs_receive(engine, slot, 1, visibility_s, now, r), 1, "one message visible");
	return r[0];
}

Test(sqs, send_receive_delete_with_sqs_ids_and_md5)
{
	struct sqs_sent sent;
	send_ok(Q, "hello", T0, &sent);
	cr_assert_str_eq(sent.md5_of_body, "5d41402abc4b2a76b9719d911017c592");
	cr_assert_eq(strlen(sent.message_id), 36);
	cr_assert_eq(sent.message_id[14], '4', "UUID version 4");

	struct sqs_received r = receive_one(Q, -1, T0 + 1);
	cr_assert_str_eq(r.message_id, sent.message_id);
	cr_assert_str_eq(r.md5_of_body, sent.md5_of_body);
	cr_assert_eq(r.receive_count, 1);
	cr_assert_eq(r.sent_ms, T0);
	cr_assert_eq(r.first_receive_ms, T0 + 1);
	uint8_t body[5];
	store_read(&store, r.body_ref, body, r.body_bytes);
	cr_assert_eq(memcmp(body, "hello", 5), 0);

	cr_assert_eq(sqs_delete(engine, Q, r.receipt_handle, strlen(r.receipt_handle)), WIRE_OK);
	cr_assert_eq(store.live, 0, "the body is released");
	cr_assert_eq(sqs_inflight_count(engine, Q), 0);
	cr_assert_eq(sqs_expire(engine, T0 + 3600 * 1000), 0, "nothing comes back");
	struct sqs_received none[1];
	cr_assert_eq(sqs_receive(engine, Q, 1, -1, T0 + 3600 * 1000, none), 0);
	cr_assert_eq(sqs_delete(engine, Q, r.receipt_handle, strlen(r.receipt_handle)), WIRE_OK,
	             "deleting twice succeeds, as in SQS");
}

Test(sqs, receive_takes_at_most_max_and_each_message_once)
{
	struct sqs_sent sent;
	for (int i = 0; i < 5; i++)
		send_ok(Q, "m", T0, &sent);
	struct sqs_received r[BB_RECEIVE_COUNT_MAX];
	cr_assert_eq(sqs_receive(engine, Q, 3, -1, T0, r), 3);
	cr_assert_eq(sqs_receive(engine, Q, 10, -1, T0, r), 2);
	cr_assert_eq(sqs_receive(engine, Q, 10, -1, T0, r), 0, "all in flight");
	cr_assert_eq(sqs_inflight_count(engine, Q), 5);
	cr_assert_eq(sqs_visible_count(engine, OTHER_Q), 0, "queues are separate");
}

Test(sqs, visibility_timeout_expires_exactly_at_its_deadline)
{
	struct sqs_sent sent;
	send_ok(Q, "x", T0, &sent);
	struct sqs_received first = receive_one(Q, -1, T0);
	cr_assert_eq(sqs_expire(engine, T0 + 29999), 0, "still in flight 1 ms before 30 s");
	cr_assert_eq(sqs_expire(engine, T0 + 30000), 1);
	struct sqs_received again = receive_one(Q, 5, T0 + 30000);
	cr_assert_str_eq(again.message_id, first.message_id);
	cr_assert_eq(again.receive_count, 2);
	cr_assert_eq(again.first_receive_ms, T0, "first receive time is kept");
	cr_assert_str_neq(again.receipt_handle, first.receipt_handle, "a new handle per receive");
	cr_assert_eq(sqs_expire(engine, T0 + 34999), 0, "the per-call timeout of 5 s applies");
	cr_assert_eq(sqs_expire(engine, T0 + 35000), 1);
}

Test(sqs, stale_receipt_handle_does_not_delete_a_message_received_again)
{
	struct sqs_sent sent;
	send_ok(Q, "x", T0, &sent);
	struct sqs_received first = receive_one(Q, 1, T0);
	cr_assert_eq(sqs_expire(engine, T0 + 1000), 1);
	struct sqs_received second = receive_one(Q, 30, T0 + 1000);

	cr_assert_eq(sqs_delete(engine, Q, first.receipt_handle, strlen(first.receipt_handle)),
	             WIRE_OK, "SQS answers success to a stale handle");
	cr_assert_eq(sqs_inflight_count(engine, Q), 1, "but the message is still there");
	cr_assert_eq(store.live, 1);
	cr_assert_eq(sqs_change_visibility(engine, Q, first.receipt_handle,
	                                   strlen(first.receipt_handle), 0, T0 + 1000),
	             WIRE_ERR_MESSAGE_NOT_INFLIGHT, "a stale handle changes nothing");

	cr_assert_eq(sqs_delete(engine, Q, second.receipt_handle, strlen(second.receipt_handle)),
	             WIRE_OK);
	cr_assert_eq(store.live, 0);
}

Test(sqs, handle_of_a_deleted_message_cannot_touch_the_slot_s_next_message)
{
	struct sqs_sent sent;
	send_ok(Q, "old", T0, &sent);
	struct sqs_received old = receive_one(Q, -1, T0);
	cr_assert_eq(sqs_delete(engine, Q, old.receipt_handle, strlen(old.receipt_handle)), WIRE_OK);
	/* Fill every slot so the freed one is certainly reused. */
	for (int i = 0; i < 8; i++)
		send_ok(Q, "new", T0, &sent);
	struct sqs_received r[BB_RECEIVE_COUNT_MAX];
	cr_assert_eq(sqs_receive(engine, Q, 8, -1, T0, r), 8);
	cr_assert_eq(sqs_delete(engine, Q, old.receipt_handle, strlen(old.receipt_handle)), WIRE_OK);
	cr_assert_eq(sqs_inflight_count(engine, Q), 8, "no new message was deleted");
}

Test(sqs, malformed_or_foreign_handles_are_invalid)
{
	struct sqs_sent sent;
	send_ok(Q, "x", T0, &sent);
	struct sqs_received r = receive_one(Q, -1, T0);
	cr_assert_eq(sqs_delete(engine, Q, "abc", 3), WIRE_ERR_RECEIPT_HANDLE_INVALID);
	char bad[BB_RECEIPT_HANDLE_BYTES + 1];
	strcpy(bad, r.receipt_handle);
	bad[0] = 'z';
	cr_assert_eq(sqs_delete(engine, Q, bad, strlen(bad)), WIRE_ERR_RECEIPT_HANDLE_INVALID);
	cr_assert_eq(sqs_delete(engine, OTHER_Q, r.receipt_handle, strlen(r.receipt_handle)),
	             WIRE_ERR_RECEIPT_HANDLE_INVALID, "a handle belongs to its queue");
	cr_assert_eq(sqs_inflight_count(engine, Q), 1);
}

Test(sqs, change_visibility_extends_shortens_and_is_capped_at_12_hours)
{
	struct sqs_sent sent;
	send_ok(Q, "x", T0, &sent);
	struct sqs_received r = receive_one(Q, -1, T0);
	size_t n = strlen(r.receipt_handle);
	cr_assert_eq(sqs_change_visibility(engine, Q, r.receipt_handle, n, 100, T0 + 10000), WIRE_OK);
	cr_assert_eq(sqs_expire(engine, T0 + 30000), 0, "extended past the queue default");
	cr_assert_eq(sqs_expire(engine, T0 + 109999), 0);
	cr_assert_eq(sqs_change_visibility(engine, Q, r.receipt_handle, n, 43200, T0 + 1000),
	             WIRE_ERR_INVALID_PARAMETER, "counted from the receive, 12 h is exceeded");
	cr_assert_eq(sqs_change_visibility(engine, Q, r.receipt_handle, n, 0, T0 + 20000), WIRE_OK);
	cr_assert_eq(sqs_expire(engine, T0 + 20000), 1, "timeout 0 makes it visible now");
	cr_assert_eq(sqs_change_visibility(engine, Q, r.receipt_handle, n, 10, T0 + 20000),
	             WIRE_ERR_MESSAGE_NOT_INFLIGHT);
}

Test(sqs, long_poll_wakes_on_send)
{
	int token;
	cr_assert_eq(sqs_park(engine, Q, &token, 10, -1, T0 + 20000), 0);
	cr_assert_eq(sqs_take_waiters(engine, T0 + 1, wakes, 8), 0, "nothing to answer yet");
	struct sqs_sent sent;
	send_ok(OTHER_Q, "elsewhere", T0 + 2, &sent);
	cr_assert_eq(sqs_take_waiters(engine, T0 + 2, wakes, 8), 0, "another queue's send");
	send_ok(Q, "x", T0 + 3, &sent);
	cr_assert_eq(sqs_take_waiters(engine, T0 + 3, wakes, 8), 1);
	cr_assert_eq(wakes[0].token, &token);
	cr_assert_eq(wakes[0].max_messages, 10);
	cr_assert_not(wakes[0].queue_closed);
	cr_assert_eq(sqs_take_waiters(engine, T0 + 30000, wakes, 8), 0, "taken once only");
}

Test(sqs, long_poll_times_out_at_its_deadline)
{
	int token;
	cr_assert_eq(sqs_park(engine, Q, &token, 1, -1, T0 + 20000), 0);
	cr_assert_eq(sqs_take_waiters(engine, T0 + 19999, wakes, 8), 0);
	cr_assert_eq(sqs_take_waiters(engine, T0 + 20000, wakes, 8), 1);
	cr_assert_eq(wakes[0].token, &token);
}

Test(sqs, long_poll_wakes_when_visibility_expires)
{
	struct sqs_sent sent;
	send_ok(Q, "x", T0, &sent);
	(void)receive_one(Q, 2, T0);
	int token;
	cr_assert_eq(sqs_park(engine, Q, &token, 1, -1, T0 + 20000), 0);
	cr_assert_eq(sqs_take_waiters(engine, T0 + 1000, wakes, 8), 0);
	cr_assert_eq(sqs_expire(engine, T0 + 2000), 1);
	cr_assert_eq(sqs_take_waiters(engine, T0 + 2000, wakes, 8), 1);
}

Test(sqs, one_message_wakes_one_waiter_of_several)
{
	int a, b;
	cr_assert_eq(sqs_park(engine, Q, &a, 1, -1, T0 + 20000), 0);
	cr_assert_eq(sqs_park(engine, Q, &b, 1, -1, T0 + 20000), 0);
	struct sqs_sent sent;
	send_ok(Q, "x", T0, &sent);
	cr_assert_eq(sqs_take_waiters(engine, T0, wakes, 8), 1);
	cr_assert_eq(wakes[0].token, &a, "the longest waiting first");
	cr_assert_eq(sqs_take_waiters(engine, T0 + 20000, wakes, 8), 1);
	cr_assert_eq(wakes[0].token, &b);
}

Test(sqs, parking_is_bounded)
{
	int t[5];
	for (int i = 0; i < 4; i++)
		cr_assert_eq(sqs_park(engine, Q, &t[i], 1, -1, T0 + 20000), 0);
	cr_assert_eq(sqs_park(engine, Q, &t[4], 1, -1, T0 + 20000), -ENOSPC);
}

Test(sqs, closing_a_queue_frees_its_messages_and_returns_its_waiters)
{
	struct sqs_sent sent;
	send_ok(Q, "a", T0, &sent);
	send_ok(Q, "b", T0, &sent);
	(void)receive_one(Q, -1, T0);
	send_ok(OTHER_Q, "c", T0, &sent);
	int token;
	cr_assert_eq(sqs_park(engine, Q, &token, 1, -1, T0 + 20000), 0);
	/* Only possible with one waiter; add a second queue's waiter to show it stays. */
	cr_assert_eq(sqs_queue_close(engine, Q, wakes), 1);
	cr_assert_eq(wakes[0].token, &token);
	cr_assert(wakes[0].queue_closed);
	cr_assert_eq(store.live, 1, "only the other queue's body remains");
	cr_assert_not(sqs_queue_holds(engine, Q, 100));
	cr_assert(sqs_queue_holds(engine, OTHER_Q, 200));
	cr_assert_eq(sqs_expire(engine, T0 + 3600 * 1000), 0, "no in-flight message is left over");
}

Test(sqs, reopening_a_slot_for_another_queue_starts_empty)
{
	struct sqs_sent sent;
	send_ok(Q, "a", T0, &sent);
	struct sqs_queue_config c = {.queue_id = 300, .visibility_timeout_s = 30,
	                             .maximum_message_bytes = 16};
	cr_assert_eq(sqs_queue_open(engine, Q, &c, wakes), 0);
	cr_assert(sqs_queue_holds(engine, Q, 300));
	cr_assert_eq(sqs_visible_count(engine, Q), 0);
	cr_assert_eq(store.live, 0);
	c.visibility_timeout_s = 5;
	cr_assert_eq(sqs_queue_open(engine, Q, &c, wakes), 0);
	send_ok(Q, "b", T0, &sent);
	cr_assert_eq(sqs_queue_open(engine, Q, &c, wakes), 0);
	cr_assert_eq(sqs_visible_count(engine, Q), 1, "same queue: an update keeps messages");
}

Test(sqs, full_slots_or_store_are_errors_that_leak_nothing)
{
	struct sqs_sent sent;
	for (int i = 0; i < 8; i++)
		send_ok(Q, "x", T0, &sent);
	cr_assert_eq(sqs_send(engine, Q, (const uint8_t *)"y", 1, T0, &sent), WIRE_ERR_OVER_LIMIT);
	struct sqs_received r[BB_RECEIVE_COUNT_MAX];
	cr_assert_eq(sqs_receive(engine, Q, 1, -1, T0, r), 1);
	cr_assert_eq(sqs_delete(engine, Q, r[0].receipt_handle, strlen(r[0].receipt_handle)), WIRE_OK);
	store.refuse = true;
	cr_assert_eq(sqs_send(engine, Q, (const uint8_t *)"y", 1, T0, &sent), WIRE_ERR_OVER_LIMIT);
	cr_assert_eq(sqs_free_message_slots(engine), 1, "the slot went back");
	store.refuse = false;
	send_ok(Q, "y", T0, &sent);
}

Test(sqs, body_limits)
{
	struct sqs_sent sent;
	cr_assert_eq(sqs_send(engine, Q, (const uint8_t *)"", 0, T0, &sent),
	             WIRE_ERR_MISSING_PARAMETER);
	cr_assert_eq(sqs_send(engine, Q, (const uint8_t *)"0123456789abcdefX", 17, T0, &sent),
	             WIRE_ERR_MESSAGE_TOO_LONG);
	cr_assert_eq(sqs_send(engine, Q, (const uint8_t *)"0123456789abcdef", 16, T0, &sent), WIRE_OK);
}
