/*
 * The SQS engine's queue attributes and PurgeQueue, with injected time: DelaySeconds (the
 * queue's and a message's own, 0-900) keeps a message out of receives and out of the visible
 * count until its time, also across a replay of its log; MessageRetentionPeriod deletes a
 * message at sent + period and not a millisecond before, through a DELETE record, so a replay
 * does not bring it back; PurgeQueue deletes every message, refuses a second purge within
 * 60 s, leaves later sends alone, and its PURGE record does the same at replay; the
 * approximate counts (visible, not visible, delayed) follow every step.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sqs.h"
#include "sqs_replay.h"

#define STORE_SLOTS   32
#define RECORDS_MAX   256
#define RECORD_BYTES  512
#define BODY_BYTES    64

enum { Q = 0, QUEUE_ID = 100, T0 = 1000000, VISIBILITY_S = 30 };

struct store {
	uint8_t *bodies[STORE_SLOTS];
};

static int store_put(void *ctx, const uint8_t *body, uint32_t bytes, uint64_t *ref_out)
{
	struct store *s = ctx;
	for (uint64_t i = 0; i < STORE_SLOTS; i++) {
		if (s->bodies[i] == NULL) {
			s->bodies[i] = malloc(bytes);
			memcpy(s->bodies[i], body, bytes);
			*ref_out = i;
			return 0;
		}
	}
	return -ENOMEM;
}

static void store_read(void *ctx, uint64_t ref, uint8_t *out, uint32_t bytes)
{
	struct store *s = ctx;
	memcpy(out, s->bodies[ref], bytes);
}

static void store_release(void *ctx, uint64_t ref)
{
	struct store *s = ctx;
	free(s->bodies[ref]);
	s->bodies[ref] = NULL;
}

/* Every record appended, in order; replay reads them all (released or not: the worst case). */
struct log {
	uint8_t data[RECORDS_MAX][RECORD_BYTES];
	uint32_t bytes[RECORDS_MAX];
	uint32_t count;
	int refuse;
};

static int log_append(void *ctx, const struct sqs_record *record, uint64_t *sequence_out,
                      uint64_t *position_out)
{
	struct log *log = ctx;
	if (log->refuse != 0)
		return log->refuse;
	cr_assert_lt(log->count, RECORDS_MAX);
	uint32_t n = log->count++;
	log->bytes[n] = (uint32_t)sqs_record_encode(record, log->data[n], RECORD_BYTES);
	cr_assert_gt(log->bytes[n], 0);
	*sequence_out = n + 1;
	*position_out = n;
	return 0;
}

static void log_release(void *ctx, uint64_t position)
{
	(void)ctx;
	(void)position;
}

static struct store store;
static struct log log_a;
static struct sqs_engine *engine;

static void start(const struct sqs_queue_config *config, bool replay_log, uint64_t now_ms)
{
	struct sqs_engine_options options = {
	    .queue_slots = 2,
	    .message_slots = STORE_SLOTS,
	    .waiter_slots = 2,
	    .queue_messages_max = STORE_SLOTS,
	    .queue_store_units_max = STORE_SLOTS,
	    .store_unit_bytes = BODY_BYTES,
	    .large_body_bytes_min = BODY_BYTES + 1,
	    .store = {&store, store_put, store_read, store_release},
	    .log = {&log_a, log_append, log_release},
	};
	int error = 1;
	engine = sqs_engine_create(&options, &error);
	cr_assert_not_null(engine, "engine: %d", error);
	struct sqs_wake wakes[2];
	cr_assert_eq(sqs_queue_open(engine, Q, config, wakes), 0);
	if (!replay_log)
		return;
	struct sqs_replay *replay = sqs_replay_create(STORE_SLOTS);
	cr_assert_not_null(replay);
	for (uint32_t i = 0; i < log_a.count; i++) {
		struct sqs_record record;
		cr_assert_eq(sqs_record_decode(log_a.data[i], log_a.bytes[i], &record), 0);
		cr_assert_eq(sqs_replay_apply(replay, engine, Q, &record, i, now_ms), WIRE_OK);
	}
	sqs_replay_destroy(replay);
}

static void stop(void)
{
	sqs_engine_destroy(engine);
	engine = NULL;
	for (int i = 0; i < STORE_SLOTS; i++) {
		free(store.bodies[i]);
		store.bodies[i] = NULL;
	}
}

static struct sqs_queue_config config_of(uint32_t delay_s, uint32_t retention_s)
{
	return (struct sqs_queue_config){.queue_id = QUEUE_ID,
	                                 .visibility_timeout_s = VISIBILITY_S,
	                                 .maximum_message_bytes = BODY_BYTES,
	                                 .durable = true,
	                                 .delay_s = delay_s,
	                                 .retention_s = retention_s};
}

static void setup(void)
{
	memset(&log_a, 0, sizeof(log_a));
	struct sqs_queue_config config = config_of(0, 0);
	start(&config, false, T0);
}

TestSuite(sqs_attributes, .init = setup, .fini = stop);

static enum wire_status send_delayed(const char *body, bool given, uint32_t delay_s,
                                     uint64_t now_ms)
{
	struct sqs_send_options options = {.delay_s = delay_s, .delay_given = given};
	struct sqs_sent sent;
	return sqs_send_message(engine, Q, (const uint8_t *)body, (uint32_t)strlen(body), &options,
	                        now_ms, &sent);
}

static uint32_t receive(uint64_t now_ms, struct sqs_received *out)
{
	struct sqs_receive_options options = {
	    .max_messages = 10, .visibility_timeout_s = -1, .body_bytes_max = BODY_BYTES};
	return sqs_receive(engine, Q, &options, now_ms, out);
}

static void assert_body(const struct sqs_received *r, const char *body)
{
	cr_assert_eq(r->body_bytes, strlen(body));
	cr_assert_eq(memcmp(store.bodies[r->body_ref], body, r->body_bytes), 0, "%s", body);
}

static void assert_counts(uint32_t visible, uint32_t not_visible, uint32_t delayed)
{
	struct sqs_queue_counts c;
	sqs_queue_counts(engine, Q, &c);
	cr_assert_eq(c.visible, visible, "visible %u, not %u", c.visible, visible);
	cr_assert_eq(c.not_visible, not_visible, "not visible %u, not %u", c.not_visible,
	             not_visible);
	cr_assert_eq(c.delayed, delayed, "delayed %u, not %u", c.delayed, delayed);
}

static void reopen(struct sqs_queue_config config)
{
	struct sqs_wake wakes[2];
	cr_assert_eq(sqs_queue_open(engine, Q, &config, wakes), 0, "an update closes nothing");
}

Test(sqs_attributes, a_message_delay_of_900_s_holds_it_until_then_and_901_is_refused)
{
	struct sqs_received got[10];
	cr_assert_eq(send_delayed("late", true, WIRE_DELAY_S_MAX + 1, T0), WIRE_ERR_INVALID_PARAMETER);
	cr_assert_eq(send_delayed("late", true, WIRE_DELAY_S_MAX, T0), WIRE_OK);
	assert_counts(0, 0, 1);
	cr_assert_eq(sqs_expire(engine, T0 + WIRE_DELAY_S_MAX * 1000u - 1), 0);
	cr_assert_eq(receive(T0 + WIRE_DELAY_S_MAX * 1000u - 1, got), 0, "not before its time");
	cr_assert_eq(sqs_expire(engine, T0 + WIRE_DELAY_S_MAX * 1000u), 1);
	assert_counts(1, 0, 0);
	cr_assert_eq(receive(T0 + WIRE_DELAY_S_MAX * 1000u, got), 1);
	cr_assert_eq(got[0].receive_count, 1);
	assert_counts(0, 1, 0);
}

Test(sqs_attributes, the_queue_delay_applies_unless_the_message_gives_its_own_even_0)
{
	reopen(config_of(10, 0));
	struct sqs_received got[10];
	cr_assert_eq(send_delayed("queue's", false, 0, T0), WIRE_OK);
	cr_assert_eq(send_delayed("own 0", true, 0, T0), WIRE_OK);
	cr_assert_eq(send_delayed("own 5", true, 5, T0), WIRE_OK);
	assert_counts(1, 0, 2);
	cr_assert_eq(receive(T0, got), 1);
	assert_body(&got[0], "own 0");
	cr_assert_eq(sqs_expire(engine, T0 + 5000), 1);
	cr_assert_eq(sqs_expire(engine, T0 + 9999), 0);
	cr_assert_eq(sqs_expire(engine, T0 + 10000), 1);
	assert_counts(2, 1, 0);
}

Test(sqs_attributes, a_fifo_message_cannot_have_a_delay_of_its_own)
{
	stop();
	struct sqs_engine_options options = {
	    .queue_slots = 1, .message_slots = 4, .waiter_slots = 1, .queue_messages_max = 4,
	    .queue_store_units_max = 4, .store_unit_bytes = BODY_BYTES,
	    .large_body_bytes_min = BODY_BYTES + 1,
	    .store = {&store, store_put, store_read, store_release},
	    .fifo_group_slots = 4, .fifo_dedup_slots = 4};
	int error = 1;
	engine = sqs_engine_create(&options, &error);
	cr_assert_not_null(engine);
	struct sqs_queue_config fifo = {.queue_id = 7, .visibility_timeout_s = 30,
	                                .maximum_message_bytes = BODY_BYTES, .fifo = true};
	struct sqs_wake wakes[1];
	cr_assert_eq(sqs_queue_open(engine, Q, &fifo, wakes), 0);
	struct sqs_send_options o = {.group_id = "g", .group_id_bytes = 1, .dedup_id = "d",
	                             .dedup_id_bytes = 1, .delay_s = 1, .delay_given = true};
	struct sqs_sent sent;
	cr_assert_eq(sqs_send_message(engine, Q, (const uint8_t *)"x", 1, &o, T0, &sent),
	             WIRE_ERR_INVALID_PARAMETER);
	o.delay_s = 0;
	cr_assert_eq(sqs_send_message(engine, Q, (const uint8_t *)"x", 1, &o, T0, &sent), WIRE_OK);
}

Test(sqs_attributes, a_delayed_message_stays_delayed_after_a_replay_and_shows_at_its_time)
{
	cr_assert_eq(send_delayed("later", true, 60, T0), WIRE_OK);
	cr_assert_eq(send_delayed("now", true, 0, T0), WIRE_OK);
	stop();
	struct sqs_queue_config config = config_of(0, 0);
	start(&config, true, T0 + 30000);
	assert_counts(1, 0, 1);
	struct sqs_received got[10];
	cr_assert_eq(receive(T0 + 30000, got), 1, "only the one without a delay");
	struct sqs_logged logged;
	cr_assert_eq(sqs_delete(engine, Q, got[0].receipt_handle, BB_RECEIPT_HANDLE_BYTES, &logged),
	             WIRE_OK);
	cr_assert_eq(sqs_expire(engine, T0 + 59999), 0);
	cr_assert_eq(sqs_expire(engine, T0 + 60000), 1);
	cr_assert_eq(receive(T0 + 60000, got), 1);
	assert_body(&got[0], "later");
	cr_assert_eq(got[0].receive_count, 1, "never received before");
}

Test(sqs_attributes, retention_deletes_at_sent_plus_period_and_not_a_ms_before)
{
	reopen(config_of(0, WIRE_RETENTION_S_MIN));
	cr_assert_eq(send_delayed("old", false, 0, T0), WIRE_OK);
	cr_assert_eq(send_delayed("newer", false, 0, T0 + 1000), WIRE_OK);
	struct sqs_received got[10];
	cr_assert_eq(receive(T0 + 40000, got), 2, "in flight until T0 + 70 s: retention ends first");
	(void)sqs_expire(engine, T0 + WIRE_RETENTION_S_MIN * 1000u - 1);
	assert_counts(0, 2, 0);
	(void)sqs_expire(engine, T0 + WIRE_RETENTION_S_MIN * 1000u);
	assert_counts(0, 1, 0);
	(void)sqs_expire(engine, T0 + WIRE_RETENTION_S_MIN * 1000u + 1000);
	assert_counts(0, 0, 0);
	/* Their DELETE records keep them gone, even under a longer period after a restart. */
	stop();
	struct sqs_queue_config config = config_of(0, WIRE_RETENTION_S_MAX);
	start(&config, true, T0 + 100000);
	assert_counts(0, 0, 0);
}

Test(sqs_attributes, retention_of_14_days_and_the_default_of_4_days)
{
	reopen(config_of(0, WIRE_RETENTION_S_MAX));
	cr_assert_eq(send_delayed("kept", false, 0, T0), WIRE_OK);
	(void)sqs_expire(engine, T0 + WIRE_RETENTION_S_MAX * 1000ull - 1);
	assert_counts(1, 0, 0);
	(void)sqs_expire(engine, T0 + WIRE_RETENTION_S_MAX * 1000ull);
	assert_counts(0, 0, 0);
	reopen(config_of(0, 0));
	cr_assert_eq(send_delayed("default", false, 0, T0), WIRE_OK);
	(void)sqs_expire(engine, T0 + WIRE_RETENTION_S_DEFAULT * 1000ull - 1);
	assert_counts(1, 0, 0);
	(void)sqs_expire(engine, T0 + WIRE_RETENTION_S_DEFAULT * 1000ull);
	assert_counts(0, 0, 0);
}

Test(sqs_attributes, a_shorter_retention_set_later_applies_to_messages_already_there)
{
	cr_assert_eq(send_delayed("a", false, 0, T0), WIRE_OK);
	(void)sqs_expire(engine, T0 + 61000);
	assert_counts(1, 0, 0);
	reopen(config_of(0, WIRE_RETENTION_S_MIN));
	(void)sqs_expire(engine, T0 + 61000);
	assert_counts(0, 0, 0);
}

Test(sqs_attributes, a_retention_delete_the_log_refuses_waits_and_is_tried_again)
{
	reopen(config_of(0, WIRE_RETENTION_S_MIN));
	cr_assert_eq(send_delayed("a", false, 0, T0), WIRE_OK);
	log_a.refuse = -ENOSPC;
	(void)sqs_expire(engine, T0 + 60000);
	assert_counts(1, 0, 0);
	log_a.refuse = 0;
	(void)sqs_expire(engine, T0 + 60000 + SQS_EXPIRE_RETRY_MS - 1);
	assert_counts(1, 0, 0);
	(void)sqs_expire(engine, T0 + 60000 + SQS_EXPIRE_RETRY_MS);
	assert_counts(0, 0, 0);
}

Test(sqs_attributes, purge_deletes_visible_in_flight_and_delayed_then_sends_work)
{
	struct sqs_received got[10];
	cr_assert_eq(send_delayed("visible", false, 0, T0), WIRE_OK);
	cr_assert_eq(send_delayed("in flight", false, 0, T0), WIRE_OK);
	cr_assert_eq(send_delayed("delayed", true, 100, T0), WIRE_OK);
	cr_assert_eq(receive(T0, got), 2);
	cr_assert_eq(send_delayed("visible", false, 0, T0), WIRE_OK);
	assert_counts(1, 2, 1);
	struct sqs_logged logged;
	cr_assert_eq(sqs_purge(engine, Q, T0 + 1, &logged), WIRE_OK);
	cr_assert_gt(logged.sequence, 0, "a durable queue's purge waits for its record");
	assert_counts(0, 0, 0);
	cr_assert_eq(sqs_free_message_slots(engine), STORE_SLOTS);
	cr_assert_eq(sqs_expire(engine, T0 + 200000), 0, "nothing comes back");
	struct sqs_logged unused;
	cr_assert_eq(sqs_delete(engine, Q, got[0].receipt_handle, BB_RECEIPT_HANDLE_BYTES, &unused),
	             WIRE_OK, "a purged message's handle deletes nothing, as SQS");
	cr_assert_eq(send_delayed("after", false, 0, T0 + 2), WIRE_OK);
	cr_assert_eq(receive(T0 + 2, got), 1);
	assert_body(&got[0], "after");
}

Test(sqs_attributes, a_second_purge_within_60_s_is_in_progress)
{
	struct sqs_logged logged;
	cr_assert_eq(sqs_purge(engine, Q, T0, &logged), WIRE_OK);
	cr_assert_eq(sqs_purge(engine, Q, T0 + WIRE_PURGE_INTERVAL_MS - 1, &logged),
	             WIRE_ERR_PURGE_QUEUE_IN_PROGRESS);
	cr_assert_eq(sqs_purge(engine, Q, T0 + WIRE_PURGE_INTERVAL_MS, &logged), WIRE_OK);
}

Test(sqs_attributes, a_purge_the_log_refuses_deletes_nothing)
{
	cr_assert_eq(send_delayed("a", false, 0, T0), WIRE_OK);
	log_a.refuse = -EIO;
	struct sqs_logged logged;
	cr_assert_eq(sqs_purge(engine, Q, T0, &logged), WIRE_ERR_SERVICE_UNAVAILABLE);
	cr_assert_eq(logged.error, -EIO);
	assert_counts(1, 0, 0);
	log_a.refuse = 0;
	cr_assert_eq(sqs_purge(engine, Q, T0, &logged), WIRE_OK, "the refused one did not count");
}

Test(sqs_attributes, replay_of_a_purge_drops_what_came_before_and_keeps_what_came_after)
{
	struct sqs_received got[10];
	cr_assert_eq(send_delayed("before", false, 0, T0), WIRE_OK);
	cr_assert_eq(send_delayed("before, delayed", true, 900, T0), WIRE_OK);
	cr_assert_eq(receive(T0, got), 1);
	struct sqs_logged logged;
	cr_assert_eq(sqs_purge(engine, Q, T0 + 10, &logged), WIRE_OK);
	cr_assert_eq(send_delayed("after", false, 0, T0 + 20), WIRE_OK);
	stop();
	struct sqs_queue_config config = config_of(0, 0);
	start(&config, true, T0 + 30);
	assert_counts(1, 0, 0);
	cr_assert_eq(receive(T0 + 30, got), 1);
	assert_body(&got[0], "after");
	cr_assert_eq(sqs_purge(engine, Q, T0 + 40, &logged), WIRE_ERR_PURGE_QUEUE_IN_PROGRESS,
	             "the replayed purge's time counts");
}

/* Replays records of log_a in the given order (as compaction leaves them) into a new engine. */
static void replay_in_order(const uint32_t *order, uint32_t count, uint64_t now_ms)
{
	stop();
	struct sqs_queue_config config = config_of(0, WIRE_RETENTION_S_MIN);
	start(&config, false, now_ms);
	struct sqs_replay *replay = sqs_replay_create(STORE_SLOTS);
	cr_assert_not_null(replay);
	for (uint32_t i = 0; i < count; i++) {
		struct sqs_record record;
		uint32_t n = order[i];
		cr_assert_eq(sqs_record_decode(log_a.data[n], log_a.bytes[n], &record), 0);
		/* Positions grow in log order, as a log's do. */
		cr_assert_eq(sqs_replay_apply(replay, engine, Q, &record, i, now_ms), WIRE_OK);
	}
	sqs_replay_destroy(replay);
}

/* A message whose SEND record compaction wrote again comes back after younger ones: it still
 * expires first, and each at its own time. */
Test(sqs_attributes, retention_keeps_send_order_whatever_order_recovery_meets_messages_in)
{
	cr_assert_eq(send_delayed("oldest", false, 0, T0), WIRE_OK);
	cr_assert_eq(send_delayed("middle", false, 0, T0 + 1000), WIRE_OK);
	cr_assert_eq(send_delayed("newest", false, 0, T0 + 2000), WIRE_OK);
	static const uint32_t order[] = {2, 0, 1}; /* newest, oldest, middle */
	replay_in_order(order, 3, T0 + 3000);
	assert_counts(3, 0, 0);
	(void)sqs_expire(engine, T0 + 60000);
	assert_counts(2, 0, 0);
	(void)sqs_expire(engine, T0 + 61000);
	assert_counts(1, 0, 0);
	struct sqs_received got[10];
	cr_assert_eq(receive(T0 + 61000, got), 1);
	assert_body(&got[0], "newest");
	(void)sqs_expire(engine, T0 + 61999);
	assert_counts(0, 1, 0);
	(void)sqs_expire(engine, T0 + 62000);
	assert_counts(0, 0, 0);
}
