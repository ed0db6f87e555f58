/*
 * The SQS engine's state machine, driven with explicit times: visibility
 * expiry, long-poll wake-up and timeout, stale receipt handles, visibility
 * changes, and what happens when slots or the body store run out.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
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
static struct sqs_logged unlogged; /* queues of these tests are in memory */

static enum wire_status delete_with(uint32_t slot, const char *handle)
{
	return sqs_delete(engine, slot, handle, strlen(handle), &unlogged);
}

enum { Q = 0, OTHER_Q = 1, T0 = 1000000 };
enum { LARGE = 12 }; /* bodies of 12-16 bytes are "large" here: see sqs_receive */

static struct sqs_engine_options default_options(void)
{
	return (struct sqs_engine_options){
		.queue_slots = 4,
		.message_slots = 8,
		.waiter_slots = 4,
		.queue_messages_max = 8, /* no per-queue budget below the engine's, but in its tests */
		.queue_store_units_max = STORE_SLOTS,
		.store_unit_bytes = 4,
		.large_body_bytes_min = LARGE,
		.store = {&store, store_put, store_read, store_release},
	};
}

static void start(const struct sqs_engine_options *options)
{
	memset(&store, 0, sizeof(store));
	int error = 1;
	engine = sqs_engine_create(options, &error);
	cr_assert_not_null(engine);
	cr_assert_eq(error, 0);
	struct sqs_queue_config a = {.queue_id = 100, .visibility_timeout_s = 30,
	                             .maximum_message_bytes = 16};
	struct sqs_queue_config b = {.queue_id = 200, .visibility_timeout_s = 30,
	                             .maximum_message_bytes = 16};
	cr_assert_eq(sqs_queue_open(engine, Q, &a, wakes), 0);
	cr_assert_eq(sqs_queue_open(engine, OTHER_Q, &b, wakes), 0);
}

static void setup(void)
{
	struct sqs_engine_options options = default_options();
	start(&options);
}

static void teardown(void)
{
	sqs_engine_destroy(engine);
	for (int i = 0; i < STORE_SLOTS; i++)
		free(store.bodies[i]);
}

/* Starts again with other options (the suite's teardown ends this engine). */
static void restart(const struct sqs_engine_options *options)
{
	teardown();
	start(options);
}

TestSuite(sqs, .init = setup, .fini = teardown);

static void send_ok(uint32_t slot, const char *body, uint64_t now, struct sqs_sent *sent)
{
	cr_assert_eq(sqs_send(engine, slot, (const uint8_t *)body, strlen(body), now, sent), WIRE_OK);
}

static uint32_t receive_upto(uint32_t slot, uint32_t max, uint32_t body_bytes_max, uint64_t now,
                             struct sqs_received *out)
{
	struct sqs_receive_options options = {max, -1, body_bytes_max};
	return sqs_receive(engine, slot, &options, now, out);
}

static uint32_t receive(uint32_t slot, uint32_t max, int64_t visibility_s, uint64_t now,
                        struct sqs_received *out)
{
	struct sqs_receive_options options = {max, visibility_s, UINT32_MAX};
	return sqs_receive(engine, slot, &options, now, out);
}

static int park_upto(uint32_t slot, void *token, uint32_t max, uint32_t body_bytes_max,
                     uint64_t deadline_ms)
{
	struct sqs_receive_options options = {max, -1, body_bytes_max};
	return sqs_park(engine, slot, token, 0, &options, deadline_ms);
}

static int park(uint32_t slot, void *token, uint32_t max, uint64_t deadline_ms)
{
	return park_upto(slot, token, max, UINT32_MAX, deadline_ms);
}

static struct sqs_received receive_one(uint32_t slot, int64_t visibility_s, uint64_t now)
{
	struct sqs_received r[BB_RECEIVE_COUNT_MAX];
	cr_assert_eq(receive(slot, 1, visibility_s, now, r), 1, "one message visible");
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

	cr_assert_eq(delete_with(Q, r.receipt_handle), WIRE_OK);
	cr_assert_eq(store.live, 0, "the body is released");
	cr_assert_eq(sqs_inflight_count(engine, Q), 0);
	cr_assert_eq(sqs_expire(engine, T0 + 3600 * 1000), 0, "nothing comes back");
	struct sqs_received none[1];
	cr_assert_eq(receive(Q, 1, -1, T0 + 3600 * 1000, none), 0);
	cr_assert_eq(delete_with(Q, r.receipt_handle), WIRE_OK,
	             "deleting twice succeeds, as in SQS");
}

Test(sqs, receive_takes_at_most_max_and_each_message_once)
{
	struct sqs_sent sent;
	for (int i = 0; i < 5; i++)
		send_ok(Q, "m", T0, &sent);
	struct sqs_received r[BB_RECEIVE_COUNT_MAX];
	cr_assert_eq(receive(Q, 3, -1, T0, r), 3);
	cr_assert_eq(receive(Q, 10, -1, T0, r), 2);
	cr_assert_eq(receive(Q, 10, -1, T0, r), 0, "all in flight");
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

	cr_assert_eq(delete_with(Q, first.receipt_handle),
	             WIRE_OK, "SQS answers success to a stale handle");
	cr_assert_eq(sqs_inflight_count(engine, Q), 1, "but the message is still there");
	cr_assert_eq(store.live, 1);
	cr_assert_eq(sqs_change_visibility(engine, Q, first.receipt_handle,
	                                   strlen(first.receipt_handle), 0, T0 + 1000),
	             WIRE_ERR_MESSAGE_NOT_INFLIGHT, "a stale handle changes nothing");

	cr_assert_eq(delete_with(Q, second.receipt_handle),
	             WIRE_OK);
	cr_assert_eq(store.live, 0);
}

Test(sqs, handle_of_a_deleted_message_cannot_touch_the_slot_s_next_message)
{
	struct sqs_sent sent;
	send_ok(Q, "old", T0, &sent);
	struct sqs_received old = receive_one(Q, -1, T0);
	cr_assert_eq(delete_with(Q, old.receipt_handle), WIRE_OK);
	/* Fill every slot so the freed one is certainly reused. */
	for (int i = 0; i < 8; i++)
		send_ok(Q, "new", T0, &sent);
	struct sqs_received r[BB_RECEIVE_COUNT_MAX];
	cr_assert_eq(receive(Q, 8, -1, T0, r), 8);
	cr_assert_eq(delete_with(Q, old.receipt_handle), WIRE_OK);
	cr_assert_eq(sqs_inflight_count(engine, Q), 8, "no new message was deleted");
}

Test(sqs, malformed_or_foreign_handles_are_invalid)
{
	struct sqs_sent sent;
	send_ok(Q, "x", T0, &sent);
	struct sqs_received r = receive_one(Q, -1, T0);
	cr_assert_eq(sqs_delete(engine, Q, "abc", 3, &unlogged), WIRE_ERR_RECEIPT_HANDLE_INVALID);
	char bad[BB_RECEIPT_HANDLE_BYTES + 1];
	strcpy(bad, r.receipt_handle);
	bad[0] = 'z';
	cr_assert_eq(delete_with(Q, bad), WIRE_ERR_RECEIPT_HANDLE_INVALID);
	cr_assert_eq(delete_with(OTHER_Q, r.receipt_handle),
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
	cr_assert_eq(park(Q, &token, 10, T0 + 20000), 0);
	cr_assert_eq(sqs_take_waiters(engine, T0 + 1, wakes, 8), 0, "nothing to answer yet");
	struct sqs_sent sent;
	send_ok(OTHER_Q, "elsewhere", T0 + 2, &sent);
	cr_assert_eq(sqs_take_waiters(engine, T0 + 2, wakes, 8), 0, "another queue's send");
	send_ok(Q, "x", T0 + 3, &sent);
	cr_assert_eq(sqs_take_waiters(engine, T0 + 3, wakes, 8), 1);
	cr_assert_eq(wakes[0].token, &token);
	cr_assert_eq(wakes[0].receive.max_messages, 10);
	cr_assert_not(wakes[0].queue_closed);
	cr_assert_eq(sqs_take_waiters(engine, T0 + 30000, wakes, 8), 0, "taken once only");
}

Test(sqs, long_poll_times_out_at_its_deadline)
{
	int token;
	cr_assert_eq(park(Q, &token, 1, T0 + 20000), 0);
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
	cr_assert_eq(park(Q, &token, 1, T0 + 20000), 0);
	cr_assert_eq(sqs_take_waiters(engine, T0 + 1000, wakes, 8), 0);
	cr_assert_eq(sqs_expire(engine, T0 + 2000), 1);
	cr_assert_eq(sqs_take_waiters(engine, T0 + 2000, wakes, 8), 1);
}

Test(sqs, one_message_wakes_one_waiter_of_several)
{
	int a, b;
	cr_assert_eq(park(Q, &a, 1, T0 + 20000), 0);
	cr_assert_eq(park(Q, &b, 1, T0 + 20000), 0);
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
		cr_assert_eq(park(Q, &t[i], 1, T0 + 20000), 0);
	cr_assert_eq(park(Q, &t[4], 1, T0 + 20000), -ENOSPC);
}

Test(sqs, closing_a_queue_frees_its_messages_and_returns_its_waiters)
{
	struct sqs_sent sent;
	send_ok(Q, "a", T0, &sent);
	send_ok(Q, "b", T0, &sent);
	(void)receive_one(Q, -1, T0);
	int token, other_token;
	cr_assert_eq(park(Q, &token, 1, T0 + 20000), 0);
	cr_assert_eq(park(OTHER_Q, &other_token, 1, T0 + 20000), 0);
	send_ok(OTHER_Q, "c", T0, &sent);
	cr_assert_eq(sqs_queue_close(engine, Q, wakes), 1, "Q's waiter only");
	cr_assert_eq(wakes[0].token, &token);
	cr_assert(wakes[0].queue_closed);
	cr_assert_eq(store.live, 1, "only the other queue's body remains");
	cr_assert_not(sqs_queue_holds(engine, Q, 100));
	cr_assert(sqs_queue_holds(engine, OTHER_Q, 200));
	cr_assert_eq(sqs_take_waiters(engine, T0, wakes, 8), 1, "the other queue's waiter stayed");
	cr_assert_eq(wakes[0].token, &other_token);
	cr_assert_not(wakes[0].queue_closed, "and is answered for its message");
	cr_assert_eq(sqs_expire(engine, T0 + 3600 * 1000), 0, "no in-flight message is left over");
}

/*
 * Issue 11: closing walked the deadline heap and freed Q's messages in place; removing one
 * can sift the heap's last element above the position being visited, so the walk missed it
 * and the close aborted. These deadlines make exactly that shape (found by simulating the
 * walk over every small case); the close must free all of Q and keep the other queue's.
 */
Test(sqs, closing_a_queue_with_several_in_flight_messages_frees_them_all)
{
	static const struct {
		uint32_t slot;
		int64_t visibility_s;
	} received[] = {{Q, 2}, {OTHER_Q, 3}, {OTHER_Q, 1}, {Q, 3}, {Q, 3}, {OTHER_Q, 1}};
	struct sqs_sent sent;
	for (size_t i = 0; i < sizeof(received) / sizeof(received[0]); i++) {
		send_ok(received[i].slot, "m", T0, &sent);
		(void)receive_one(received[i].slot, received[i].visibility_s, T0);
	}
	cr_assert_eq(sqs_queue_close(engine, Q, wakes), 0);
	cr_assert_eq(store.live, 3, "Q's three bodies are released, the others kept");
	cr_assert_eq(sqs_inflight_count(engine, OTHER_Q), 3);
	cr_assert_eq(sqs_expire(engine, T0 + 999), 0);
	cr_assert_eq(sqs_expire(engine, T0 + 1000), 2, "the other queue's deadlines still hold");
	cr_assert_eq(sqs_expire(engine, T0 + 3000), 1);
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
	cr_assert_eq(receive(Q, 1, -1, T0, r), 1);
	cr_assert_eq(delete_with(Q, r[0].receipt_handle), WIRE_OK);
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

Test(sqs, bodies_sqs_refuses_are_refused_and_nothing_is_stored)
{
	struct sqs_sent sent;
	cr_assert_eq(sqs_send(engine, Q, (const uint8_t *)"ok\xff", 3, T0, &sent),
	             WIRE_ERR_INVALID_MESSAGE_CONTENTS);
	cr_assert_eq(sqs_send(engine, Q, (const uint8_t *)"\x01", 1, T0, &sent),
	             WIRE_ERR_INVALID_MESSAGE_CONTENTS);
	cr_assert_eq(store.live, 0);
	cr_assert_eq(sqs_free_message_slots(engine), 8);
	send_ok(Q, "\xc3\xa9\t\xef\xbf\xbd", T0, &sent);
}

/* Issue 10, defect 10: a queue at its budget refuses its own sends, and only those. */
Test(sqs, a_queue_at_its_message_budget_refuses_only_its_own_sends)
{
	struct sqs_engine_options options = default_options();
	options.queue_messages_max = 3;
	restart(&options);
	struct sqs_sent sent;
	for (int i = 0; i < 3; i++)
		send_ok(Q, "m", T0, &sent);
	cr_assert_eq(sqs_send(engine, Q, (const uint8_t *)"m", 1, T0, &sent), WIRE_ERR_OVER_LIMIT);
	cr_assert_not(sqs_queue_has_room(engine, Q, 1));
	send_ok(OTHER_Q, "other", T0, &sent);
	cr_assert(sqs_queue_has_room(engine, OTHER_Q, 1));
	struct sqs_received r = receive_one(Q, -1, T0);
	cr_assert_not(sqs_queue_has_room(engine, Q, 1), "in flight still counts");
	cr_assert_eq(delete_with(Q, r.receipt_handle), WIRE_OK);
	send_ok(Q, "m", T0, &sent);
}

Test(sqs, a_queue_s_bodies_have_a_budget_of_store_units)
{
	struct sqs_engine_options options = default_options();
	options.queue_store_units_max = 5; /* units of 4 bytes */
	restart(&options);
	struct sqs_sent sent;
	send_ok(Q, "0123456789", T0, &sent); /* 3 units */
	send_ok(Q, "01234567", T0, &sent);   /* 2 units: 5, the budget */
	cr_assert_eq(sqs_send(engine, Q, (const uint8_t *)"x", 1, T0, &sent), WIRE_ERR_OVER_LIMIT,
	             "even one byte takes a unit");
	send_ok(OTHER_Q, "0123456789", T0, &sent);
	struct sqs_received r = receive_one(Q, -1, T0);
	cr_assert_eq(delete_with(Q, r.receipt_handle), WIRE_OK);
	cr_assert(sqs_queue_has_room(engine, Q, 12), "the deleted body's 3 units are back");
	cr_assert_not(sqs_queue_has_room(engine, Q, 13));
	cr_assert_eq(sqs_queue_close(engine, Q, wakes), 0);
	struct sqs_queue_config c = {.queue_id = 300, .visibility_timeout_s = 30,
	                             .maximum_message_bytes = 16};
	cr_assert_eq(sqs_queue_open(engine, Q, &c, wakes), 0);
	cr_assert(sqs_queue_has_room(engine, Q, 20), "a new queue in the slot starts empty");
}

Test(sqs, the_engine_s_slots_are_the_cap_its_queues_share)
{
	struct sqs_sent sent;
	for (int i = 0; i < 5; i++)
		send_ok(Q, "q", T0, &sent);
	for (int i = 0; i < 3; i++)
		send_ok(OTHER_Q, "o", T0, &sent);
	cr_assert_eq(sqs_send(engine, Q, (const uint8_t *)"q", 1, T0, &sent), WIRE_ERR_OVER_LIMIT);
	cr_assert(sqs_queue_has_room(engine, Q, 1), "the queue's own budget is not what is full");
	cr_assert_eq(sqs_free_message_slots(engine), 0);
}

/* Issue 10, defect 9: bodies a receive cannot take no longer stop it. */
Test(sqs, a_receive_passes_over_bodies_too_large_for_it)
{
	struct sqs_sent sent;
	send_ok(Q, "large-one...", T0, &sent); /* 12 bytes: LARGE */
	send_ok(Q, "s1", T0, &sent);
	send_ok(Q, "large-two...", T0, &sent);
	send_ok(Q, "s2", T0, &sent);
	cr_assert(sqs_can_receive(engine, Q, LARGE - 1));
	struct sqs_received r[BB_RECEIVE_COUNT_MAX];
	cr_assert_eq(receive_upto(Q, 10, LARGE - 1, T0, r), 2);
	cr_assert_eq(r[0].body_bytes, 2);
	cr_assert_eq(r[1].body_bytes, 2);
	cr_assert_lt(r[0].body_ref, r[1].body_ref, "s1 before s2");
	cr_assert_not(sqs_can_receive(engine, Q, LARGE - 1), "only large ones are left");
	cr_assert_eq(sqs_visible_count(engine, Q), 2);
	cr_assert_eq(receive_upto(Q, 10, UINT32_MAX, T0, r), 2, "they wait for a receive that can");
	cr_assert_lt(r[0].body_ref, r[1].body_ref, "oldest first");
}

Test(sqs, small_and_large_bodies_come_out_in_the_order_they_became_visible)
{
	struct sqs_sent sent;
	const char *const bodies[] = {"a", "large-one...", "b", "large-two...", "c"};
	for (int i = 0; i < 5; i++)
		send_ok(Q, bodies[i], T0, &sent);
	struct sqs_received r[BB_RECEIVE_COUNT_MAX];
	cr_assert_eq(receive(Q, 10, -1, T0, r), 5);
	for (int i = 0; i < 5; i++) {
		uint8_t body[16];
		store_read(&store, r[i].body_ref, body, r[i].body_bytes);
		cr_assert_eq(r[i].body_bytes, strlen(bodies[i]));
		cr_assert_eq(memcmp(body, bodies[i], r[i].body_bytes), 0, "message %d", i);
	}
	send_ok(Q, "abcd", T0, &sent);
	send_ok(Q, "ab", T0, &sent);
	cr_assert_eq(receive_upto(Q, 10, 3, T0, r), 0,
	             "below the large size a receive stops at the first body over its limit");
}

Test(sqs, a_parked_receive_is_woken_only_by_what_it_can_take)
{
	int small_only;
	cr_assert_eq(park_upto(Q, &small_only, 1, LARGE - 1, T0 + 20000), 0);
	struct sqs_sent sent;
	send_ok(Q, "large-one...", T0 + 1, &sent);
	cr_assert_eq(sqs_take_waiters(engine, T0 + 1, wakes, 8), 0, "a large body is not for it");
	send_ok(Q, "small", T0 + 2, &sent);
	cr_assert_eq(sqs_take_waiters(engine, T0 + 2, wakes, 8), 1);
	cr_assert_eq(wakes[0].token, &small_only);
	cr_assert_eq(wakes[0].receive.body_bytes_max, LARGE - 1);
}

Test(sqs, a_small_message_left_by_a_woken_receive_wakes_the_next_one)
{
	int any, small_only;
	cr_assert_eq(park(Q, &any, 1, T0 + 20000), 0);
	cr_assert_eq(park_upto(Q, &small_only, 1, LARGE - 1, T0 + 20000), 0);
	struct sqs_sent sent;
	send_ok(Q, "large-one...", T0, &sent);
	send_ok(Q, "small", T0, &sent);
	cr_assert_eq(sqs_take_waiters(engine, T0, wakes, 8), 1, "one small message, one promise");
	cr_assert_eq(wakes[0].token, &any);
	struct sqs_received r[1];
	cr_assert_eq(receive(Q, 1, -1, T0, r), 1);
	cr_assert_eq(r[0].body_bytes, 12, "it took the older, large one");
	cr_assert_eq(sqs_take_waiters(engine, T0, wakes, 8), 1, "so the small one is still there");
	cr_assert_eq(wakes[0].token, &small_only);
}

/* ---- message ids are unpredictable ---- */

#define SPLITMIX_GAMMA 0x9e3779b97f4a7c15ull
#define SPLITMIX_M1    0xbf58476d1ce4e5b9ull
#define SPLITMIX_M2    0x94d049bb133111ebull

static uint64_t splitmix_mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * SPLITMIX_M1;
	z = (z ^ (z >> 27)) * SPLITMIX_M2;
	return z ^ (z >> 31);
}

static uint64_t undo_xorshift(uint64_t y, unsigned int shift)
{
	uint64_t x = y;
	for (unsigned int i = 0; i < 64 / shift + 1; i++)
		x = y ^ (x >> shift);
	return x;
}

static uint64_t odd_inverse(uint64_t c)
{
	uint64_t inverse = c; /* Newton's iteration doubles the correct low bits each step */
	for (int i = 0; i < 6; i++)
		inverse *= 2 - c * inverse;
	return inverse;
}

/* The generator state splitmix64 was in when it returned `output`. */
static uint64_t splitmix_state_of(uint64_t output)
{
	uint64_t z = undo_xorshift(output, 31) * odd_inverse(SPLITMIX_M2);
	z = undo_xorshift(z, 27) * odd_inverse(SPLITMIX_M1);
	return undo_xorshift(z, 30);
}

/* The 16 bytes of a message id's UUID text. */
static void id_bytes(const char *text, uint8_t out[16])
{
	char hex[33];
	size_t n = 0;
	for (const char *c = text; *c != '\0' && n < 32; c++) {
		if (*c != '-')
			hex[n++] = *c;
	}
	hex[n] = '\0';
	cr_assert_eq(n, 32);
	for (int i = 0; i < 16; i++) {
		unsigned int byte;
		cr_assert_eq(sscanf(hex + 2 * i, "%2x", &byte), 1);
		out[i] = (uint8_t)byte;
	}
}

static uint64_t le64_of(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/*
 * Proves message ids come from a generator their own bytes do not give away: the attack
 * that breaks splitmix64 (the ids' generator until issue 10's hardening) recovers its state
 * from the second half of one id and computes the first half of the next one. It must fail
 * for every value of the two bits the UUID variant overwrote.
 */
Test(sqs, one_message_id_does_not_predict_the_next)
{
	struct sqs_sent first, second;
	send_ok(Q, "a", T0, &first);
	send_ok(Q, "b", T0, &second);
	uint8_t a[16], b[16];
	id_bytes(first.message_id, a);
	id_bytes(second.message_id, b);
	const uint64_t version_bits = 0xf0ull << 48; /* byte 6's high nibble: UUID version */
	uint64_t next_half = le64_of(b) & ~version_bits;
	for (uint64_t variant = 0; variant < 4; variant++) {
		uint64_t output = (le64_of(a + 8) & ~0xc0ull) | variant << 6;
		uint64_t predicted = splitmix_mix(splitmix_state_of(output) + SPLITMIX_GAMMA);
		cr_assert_neq(predicted & ~version_bits, next_half,
		              "the next id follows from the previous one");
	}
}
