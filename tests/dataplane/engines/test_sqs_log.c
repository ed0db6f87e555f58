/*
 * What the SQS engine writes to its log (struct sqs_log_ops) and what replay rebuilds from it,
 * against a fake log in memory that keeps every record, its sequence and position, which
 * records were released, and a durable point.
 *
 * Suite sqs_log proves record by record: a send writes one SEND (id, MD5, body), a receive a
 * RECEIVE (count, deadline) that supersedes the last, a delete a DELETE and releases every
 * record of the message; a refused append changes nothing; closing a queue releases its
 * records; a memory queue writes nothing; compaction writes messages again with their state;
 * replaying all records, or only the live ones (appended minus released), rebuilds the same
 * engine.
 *
 * Suite sqs_sim is a deterministic simulation over many seeds: random sends, receives,
 * deletes, time passing, compaction, "sync" (the durable point moves to the end: what it
 * covers is acknowledged) and "crash" (unsynced records and releases are lost; the live
 * durable records, or all durable ones, are replayed into a fresh engine). After each crash:
 * every acknowledged send is there unless an acknowledged delete removed it, no
 * acknowledged-deleted message is, and nothing unknown appears. Releases take effect on disk
 * only once everything appended before them is durable, as dp_log does. A failing seed is
 * printed.
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
#define LOG_RECORDS_MAX 8192u
#define RECORD_BYTES    (SQS_RECORD_HEADER_BYTES + BODY_BYTES_MAX)
#define POSITION_STRIDE 1000u /* positions are not sequences: the engine must not mix them */
#define VISIBILITY_S    30u
#define T0              1000000u

/* ---- a body store in fixed memory ---- */

struct test_store {
	bool live[STORE_SLOTS];
	uint32_t bytes[STORE_SLOTS];
	uint8_t bodies[STORE_SLOTS][BODY_BYTES_MAX];
	uint32_t live_count;
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
			s->live_count++;
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
	cr_assert(ref < STORE_SLOTS && s->live[ref], "body %llu released once",
	          (unsigned long long)ref);
	s->live[ref] = false;
	s->live_count--;
}

/* ---- the fake log ---- */

struct fake_record {
	uint64_t sequence;
	uint64_t position;
	bool released;
	uint64_t release_after; /* the last sequence appended when it was released */
	uint32_t bytes;
	uint8_t data[RECORD_BYTES];
};

struct fake_log {
	struct fake_record records[LOG_RECORDS_MAX];
	uint32_t count;
	uint64_t next_sequence;
	uint64_t durable_sequence;
	int refuse; /* -errno: every append is refused with it */
};

static int log_append(void *ctx, const struct sqs_record *record, uint64_t *sequence_out,
                      uint64_t *position_out)
{
	struct fake_log *log = ctx;
	if (log->refuse != 0)
		return log->refuse;
	cr_assert_lt(log->count, LOG_RECORDS_MAX);
	struct fake_record *r = &log->records[log->count++];
	*r = (struct fake_record){.sequence = log->next_sequence++};
	r->position = r->sequence * POSITION_STRIDE;
	r->bytes = (uint32_t)sqs_record_encode(record, r->data, sizeof(r->data));
	cr_assert_gt(r->bytes, 0, "the record fits");
	*sequence_out = r->sequence;
	*position_out = r->position;
	return 0;
}

static struct fake_record *log_find(struct fake_log *log, uint64_t position)
{
	for (uint32_t i = 0; i < log->count; i++) {
		if (log->records[i].position == position)
			return &log->records[i];
	}
	return NULL;
}

static void log_release(void *ctx, uint64_t position)
{
	struct fake_log *log = ctx;
	struct fake_record *r = log_find(log, position);
	cr_assert_not_null(r, "released position %llu was appended", (unsigned long long)position);
	cr_assert_not(r->released, "position %llu released once", (unsigned long long)position);
	r->released = true;
	r->release_after = log->next_sequence - 1;
}

static void log_reset(struct fake_log *log)
{
	log->count = 0;
	log->next_sequence = 1;
	log->durable_sequence = 0;
	log->refuse = 0;
}

static struct sqs_record decoded(const struct fake_record *r)
{
	struct sqs_record out;
	cr_assert_eq(sqs_record_decode(r->data, r->bytes, &out), 0, "a valid record");
	return out;
}

/* Records not released: what the log keeps live. */
static uint32_t live_records(const struct fake_log *log)
{
	uint32_t live = 0;
	for (uint32_t i = 0; i < log->count; i++)
		live += !log->records[i].released;
	return live;
}

/* ---- engines ---- */

struct rig {
	struct test_store store;
	struct fake_log log;
	struct sqs_engine *engine;
};

enum { Q = 0, MEMORY_Q = 1, QUEUE_ID = 100, MEMORY_QUEUE_ID = 200 };

/* Receipt nonces keyed by nothing secret: enough to tell a handle the engine made. */
static uint64_t test_nonce(void *ctx, const uint8_t message_id[16], uint32_t receive_count)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ receive_count;
	for (int i = 0; i < 16; i++)
		h = (h ^ message_id[i]) * 0x100000001b3ull;
	return h;
}

static void rig_start(struct rig *rig)
{
	memset(&rig->store, 0, sizeof(rig->store));
	log_reset(&rig->log);
	struct sqs_engine_options options = {
	    .queue_slots = 2,
	    .message_slots = MESSAGE_SLOTS,
	    .waiter_slots = 2,
	    .queue_messages_max = MESSAGE_SLOTS,
	    .queue_store_units_max = STORE_SLOTS,
	    .store_unit_bytes = BODY_BYTES_MAX,
	    .large_body_bytes_min = BODY_BYTES_MAX + 1,
	    .store = {&rig->store, store_put, store_read, store_release},
	    .log = {&rig->log, log_append, log_release},
	    .handle_nonce = test_nonce,
	};
	int error = 1;
	rig->engine = sqs_engine_create(&options, &error);
	cr_assert_not_null(rig->engine, "engine: %d", error);
	struct sqs_queue_config durable = {
	    .queue_id = QUEUE_ID, .visibility_timeout_s = VISIBILITY_S,
	    .maximum_message_bytes = BODY_BYTES_MAX, .durable = true};
	struct sqs_queue_config memory = {
	    .queue_id = MEMORY_QUEUE_ID, .visibility_timeout_s = VISIBILITY_S,
	    .maximum_message_bytes = BODY_BYTES_MAX, .durable = false};
	struct sqs_wake wakes[2];
	cr_assert_eq(sqs_queue_open(rig->engine, Q, &durable, wakes), 0);
	cr_assert_eq(sqs_queue_open(rig->engine, MEMORY_Q, &memory, wakes), 0);
}

static void rig_stop(struct rig *rig)
{
	sqs_engine_destroy(rig->engine); /* its bodies go with the store, reset by rig_start */
	rig->engine = NULL;
}

/*
 * A fresh engine from records of `from`: all of them, or only those the log keeps live at its
 * durable point (not released, or released after it: that release never reached the disk).
 */
static void rig_replay(struct rig *rig, const struct fake_log *from, bool live_only,
                       uint64_t now_ms)
{
	rig_start(rig);
	struct sqs_replay *replay = sqs_replay_create(MESSAGE_SLOTS);
	cr_assert_not_null(replay);
	for (uint32_t i = 0; i < from->count; i++) {
		const struct fake_record *r = &from->records[i];
		bool released = r->released && r->release_after <= from->durable_sequence;
		if (r->sequence > from->durable_sequence || (live_only && released))
			continue;
		struct fake_record *copy = &rig->log.records[rig->log.count++];
		*copy = *r;
		copy->released = false;
		struct sqs_record record = decoded(copy);
		cr_assert_eq(record.queue_id, QUEUE_ID, "only the durable queue is logged");
		cr_assert_eq(sqs_replay_apply(replay, rig->engine, Q, &record, copy->position, now_ms),
		             WIRE_OK);
	}
	rig->log.next_sequence = from->durable_sequence + 1;
	rig->log.durable_sequence = from->durable_sequence;
	sqs_replay_destroy(replay);
}

static uint64_t rig_send(struct rig *rig, uint32_t slot, const char *body, uint64_t now_ms,
                     struct sqs_sent *sent)
{
	cr_assert_eq(sqs_send(rig->engine, slot, (const uint8_t *)body, (uint32_t)strlen(body),
	                      now_ms, sent),
	             WIRE_OK);
	return sent->logged.sequence;
}

static uint32_t receive_for(struct rig *rig, uint32_t max, int64_t visibility_timeout_s,
                            uint64_t now_ms, struct sqs_received *out)
{
	struct sqs_receive_options options = {.max_messages = max,
	                                      .visibility_timeout_s = visibility_timeout_s,
	                                      .body_bytes_max = BODY_BYTES_MAX};
	return sqs_receive(rig->engine, Q, &options, now_ms, out);
}

static uint32_t receive(struct rig *rig, uint32_t max, uint64_t now_ms, struct sqs_received *out)
{
	return receive_for(rig, max, -1, now_ms, out);
}

static enum wire_status rig_delete(struct rig *rig, const struct sqs_received *r,
                               struct sqs_logged *logged)
{
	return sqs_delete(rig->engine, Q, r->receipt_handle, strlen(r->receipt_handle), logged);
}

/* What a message looks like from outside, to compare engines. */
struct seen {
	char message_id[BB_MESSAGE_ID_BYTES + 1];
	char md5[33];
	uint8_t body[BODY_BYTES_MAX];
	uint32_t body_bytes;
	uint32_t receive_count;
	uint64_t sent_ms;
	bool was_visible;
};

static int seen_order(const void *a, const void *b)
{
	return strcmp(((const struct seen *)a)->message_id, ((const struct seen *)b)->message_id);
}

static uint32_t take_all(struct rig *rig, uint64_t now_ms, bool visible, struct seen *out,
                         uint32_t count)
{
	struct sqs_received got[BB_RECEIVE_COUNT_MAX];
	for (uint32_t round = 0; round <= MESSAGE_SLOTS; round++) {
		/* Hidden for the longest timeout: the second take does not meet them again. */
		uint32_t n = receive_for(rig, BB_RECEIVE_COUNT_MAX, BB_VISIBILITY_TIMEOUT_S_MAX,
		                         now_ms, got);
		if (n == 0)
			return count;
		for (uint32_t i = 0; i < n; i++) {
			cr_assert_lt(count, MESSAGE_SLOTS);
			struct seen *s = &out[count++];
			memcpy(s->message_id, got[i].message_id, sizeof(s->message_id));
			memcpy(s->md5, got[i].md5_of_body, sizeof(s->md5));
			s->body_bytes = got[i].body_bytes;
			store_read(&rig->store, got[i].body_ref, s->body, got[i].body_bytes);
			s->receive_count = got[i].receive_count;
			s->sent_ms = got[i].sent_ms;
			s->was_visible = visible;
		}
	}
	cr_assert_fail("receives never ran dry");
	return count;
}

/*
 * Every message of the durable queue, visible ones at now_ms, then the in-flight ones once
 * their deadlines passed, sorted by id. Receives change the engine: use it last.
 */
static uint32_t enumerate(struct rig *rig, uint64_t now_ms, struct seen *out)
{
	uint32_t inflight = sqs_inflight_count(rig->engine, Q);
	uint32_t count = take_all(rig, now_ms, true, out, 0);
	uint32_t visible = count;
	/* Every deadline the engine or a record set is at most one visibility timeout ahead. */
	uint64_t later_ms = now_ms + VISIBILITY_S * 1000u + 1;
	(void)sqs_expire(rig->engine, later_ms);
	count = take_all(rig, later_ms, false, out, count);
	cr_assert_eq(count - visible, inflight, "every in-flight message became visible");
	qsort(out, count, sizeof(*out), seen_order);
	return count;
}

static void assert_same_engine(struct rig *a, struct rig *b, uint64_t now_ms)
{
	cr_assert_eq(sqs_visible_count(a->engine, Q), sqs_visible_count(b->engine, Q));
	cr_assert_eq(sqs_inflight_count(a->engine, Q), sqs_inflight_count(b->engine, Q));
	static struct seen sa[MESSAGE_SLOTS], sb[MESSAGE_SLOTS];
	uint32_t na = enumerate(a, now_ms, sa), nb = enumerate(b, now_ms, sb);
	cr_assert_eq(na, nb);
	for (uint32_t i = 0; i < na; i++) {
		cr_assert_str_eq(sa[i].message_id, sb[i].message_id);
		cr_assert_str_eq(sa[i].md5, sb[i].md5);
		cr_assert_eq(sa[i].body_bytes, sb[i].body_bytes);
		cr_assert_arr_eq(sa[i].body, sb[i].body, sa[i].body_bytes);
		cr_assert_eq(sa[i].receive_count, sb[i].receive_count, "receive count of %s",
		             sa[i].message_id);
		cr_assert_eq(sa[i].sent_ms, sb[i].sent_ms);
		cr_assert_eq(sa[i].was_visible, sb[i].was_visible, "visible or in flight: %s",
		             sa[i].message_id);
	}
}

/* ---- suite sqs_log ---- */

static struct rig rig_a, rig_b;

static void suite_setup(void)
{
	rig_start(&rig_a);
}

static void suite_teardown(void)
{
	rig_stop(&rig_a);
	if (rig_b.engine != NULL)
		rig_stop(&rig_b);
}

TestSuite(sqs_log, .init = suite_setup, .fini = suite_teardown);

static const uint8_t *md5_hex_to_bytes(const char *hex, uint8_t out[16])
{
	for (int i = 0; i < 16; i++) {
		unsigned v;
		cr_assert_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return out;
}

Test(sqs_log, send_appends_one_send_record_with_id_md5_and_body)
{
	struct sqs_sent sent;
	uint64_t sequence = rig_send(&rig_a, Q, "hello", T0, &sent);
	cr_assert_eq(rig_a.log.count, 1);
	cr_assert_eq(sequence, rig_a.log.records[0].sequence, "the answer waits for this record");
	struct sqs_record r = decoded(&rig_a.log.records[0]);
	cr_assert_eq(r.kind, SQS_RECORD_SEND);
	cr_assert_eq(r.queue_id, QUEUE_ID);
	cr_assert_eq(r.sent_ms, T0);
	cr_assert_eq(r.receive_count, 0);
	cr_assert_eq(r.deadline_ms, 0, "visible");
	cr_assert_eq(r.body_bytes, 5);
	cr_assert_arr_eq(r.body, "hello", 5);
	uint8_t md5[16];
	cr_assert_arr_eq(r.md5, md5_hex_to_bytes(sent.md5_of_body, md5), 16);
	char id[BB_MESSAGE_ID_BYTES + 1];
	snprintf(id, sizeof(id), "%02x%02x%02x%02x-", r.message_id[0], r.message_id[1],
	         r.message_id[2], r.message_id[3]);
	cr_assert_eq(strncmp(sent.message_id, id, 9), 0, "the record names the message: %s, %s",
	             sent.message_id, id);
	cr_assert_eq(live_records(&rig_a.log), 1);
}

Test(sqs_log, receive_appends_receive_and_releases_the_previous_one)
{
	struct sqs_sent sent;
	rig_send(&rig_a, Q, "hello", T0, &sent);
	struct sqs_received got;
	cr_assert_eq(receive(&rig_a, 1, T0 + 5, &got), 1);
	cr_assert_eq(rig_a.log.count, 2);
	struct sqs_record r = decoded(&rig_a.log.records[1]);
	cr_assert_eq(r.kind, SQS_RECORD_RECEIVE);
	cr_assert_eq(r.receive_count, 1);
	cr_assert_eq(r.first_receive_ms, T0 + 5);
	cr_assert_eq(r.deadline_ms, T0 + 5 + VISIBILITY_S * 1000u);
	cr_assert_eq(r.body_bytes, 0);
	cr_assert_eq(live_records(&rig_a.log), 2, "the SEND and its first RECEIVE");
	uint64_t later = T0 + 5 + VISIBILITY_S * 1000u;
	cr_assert_eq(sqs_expire(rig_a.engine, later), 1);
	cr_assert_eq(receive(&rig_a, 1, later, &got), 1);
	cr_assert_eq(rig_a.log.count, 3);
	r = decoded(&rig_a.log.records[2]);
	cr_assert_eq(r.kind, SQS_RECORD_RECEIVE);
	cr_assert_eq(r.receive_count, 2);
	cr_assert_eq(r.first_receive_ms, T0 + 5, "the first receive stays");
	cr_assert_eq(r.deadline_ms, later + VISIBILITY_S * 1000u);
	cr_assert(rig_a.log.records[1].released, "the older RECEIVE is superseded");
	cr_assert_not(rig_a.log.records[0].released);
	cr_assert_not(rig_a.log.records[2].released);
}

Test(sqs_log, delete_appends_delete_and_releases_every_record_of_the_message)
{
	struct sqs_sent sent, other;
	rig_send(&rig_a, Q, "hello", T0, &sent);
	rig_send(&rig_a, Q, "other", T0, &other);
	struct sqs_received got;
	cr_assert_eq(receive(&rig_a, 1, T0, &got), 1);
	struct sqs_logged logged;
	cr_assert_eq(rig_delete(&rig_a, &got, &logged), WIRE_OK);
	cr_assert_eq(logged.error, 0);
	cr_assert_eq(rig_a.log.count, 4, "SEND, SEND, RECEIVE, DELETE");
	cr_assert_eq(logged.sequence, rig_a.log.records[3].sequence, "the answer waits for it");
	struct sqs_record r = decoded(&rig_a.log.records[3]);
	cr_assert_eq(r.kind, SQS_RECORD_DELETE);
	cr_assert_arr_eq(r.message_id, decoded(&rig_a.log.records[0]).message_id, 16);
	cr_assert(rig_a.log.records[0].released, "its SEND");
	cr_assert(rig_a.log.records[2].released, "its RECEIVE");
	cr_assert(rig_a.log.records[3].released, "the DELETE itself");
	cr_assert_not(rig_a.log.records[1].released, "the other message's SEND stays");
	cr_assert_eq(live_records(&rig_a.log), 1);
	cr_assert_eq(sqs_inflight_count(rig_a.engine, Q), 0);
	/* A stale handle deletes nothing and writes nothing. */
	cr_assert_eq(rig_delete(&rig_a, &got, &logged), WIRE_OK);
	cr_assert_eq(logged.sequence, 0);
	cr_assert_eq(rig_a.log.count, 4);
}

Test(sqs_log, a_refused_append_makes_send_and_delete_unavailable_and_changes_nothing)
{
	struct sqs_sent sent;
	rig_send(&rig_a, Q, "kept", T0, &sent);
	struct sqs_received got;
	cr_assert_eq(receive(&rig_a, 1, T0, &got), 1);
	rig_a.log.refuse = -ENOSPC;
	cr_assert_eq(sqs_send(rig_a.engine, Q, (const uint8_t *)"lost", 4, T0, &sent),
	             WIRE_ERR_SERVICE_UNAVAILABLE);
	cr_assert_eq(sent.logged.error, -ENOSPC);
	cr_assert_eq(sent.logged.sequence, 0);
	cr_assert_eq(sqs_visible_count(rig_a.engine, Q), 0, "the refused send left nothing");
	cr_assert_eq(rig_a.store.live_count, 1, "its body went back to the store");
	cr_assert_eq(sqs_free_message_slots(rig_a.engine), MESSAGE_SLOTS - 1);
	struct sqs_logged logged;
	cr_assert_eq(rig_delete(&rig_a, &got, &logged), WIRE_ERR_SERVICE_UNAVAILABLE);
	cr_assert_eq(logged.error, -ENOSPC);
	cr_assert_eq(sqs_inflight_count(rig_a.engine, Q), 1, "the message stays");
	cr_assert_eq(rig_a.log.count, 2, "nothing appended");
	cr_assert_eq(live_records(&rig_a.log), 2, "nothing released");
	rig_a.log.refuse = 0;
	cr_assert_eq(rig_delete(&rig_a, &got, &logged), WIRE_OK, "the same handle works once it can");
	cr_assert_gt(logged.sequence, 0);
	cr_assert_eq(sqs_inflight_count(rig_a.engine, Q), 0);
}

Test(sqs_log, closing_a_queue_releases_its_records)
{
	struct sqs_sent sent;
	for (int i = 0; i < 3; i++)
		rig_send(&rig_a, Q, "m", T0, &sent);
	struct sqs_received got;
	cr_assert_eq(receive(&rig_a, 1, T0, &got), 1);
	cr_assert_eq(live_records(&rig_a.log), 4);
	struct sqs_wake wakes[2];
	cr_assert_eq(sqs_queue_close(rig_a.engine, Q, wakes), 0);
	cr_assert_eq(live_records(&rig_a.log), 0, "the SENDs and the RECEIVE");
	cr_assert_eq(rig_a.log.count, 4, "closing writes nothing");
}

Test(sqs_log, a_memory_queue_writes_nothing)
{
	struct sqs_sent sent;
	cr_assert_eq(rig_send(&rig_a, MEMORY_Q, "m", T0, &sent), 0, "nothing to wait for");
	struct sqs_receive_options options = {
	    .max_messages = 1, .visibility_timeout_s = -1, .body_bytes_max = BODY_BYTES_MAX};
	struct sqs_received got;
	cr_assert_eq(sqs_receive(rig_a.engine, MEMORY_Q, &options, T0, &got), 1);
	struct sqs_logged logged;
	cr_assert_eq(sqs_delete(rig_a.engine, MEMORY_Q, got.receipt_handle,
	                        strlen(got.receipt_handle), &logged),
	             WIRE_OK);
	cr_assert_eq(logged.sequence, 0);
	cr_assert_eq(rig_a.log.count, 0);
}

Test(sqs_log, relog_writes_live_messages_again_with_their_state_and_releases_old_copies)
{
	struct sqs_sent sent;
	rig_send(&rig_a, Q, "first", T0, &sent);
	rig_send(&rig_a, Q, "second", T0 + 1, &sent);
	rig_send(&rig_a, Q, "third", T0 + 2, &sent);
	struct sqs_received got;
	cr_assert_eq(receive(&rig_a, 1, T0 + 10, &got), 1); /* "first": in flight */
	uint64_t third_position = rig_a.log.records[2].position;
	cr_assert_eq(sqs_relog_before(rig_a.engine, third_position, 8), 2, "the first two");
	cr_assert_eq(rig_a.log.count, 6);
	struct sqs_record first = decoded(&rig_a.log.records[4]);
	cr_assert_eq(first.kind, SQS_RECORD_SEND);
	cr_assert_arr_eq(first.body, "first", 5);
	cr_assert_eq(first.receive_count, 1);
	cr_assert_eq(first.first_receive_ms, T0 + 10);
	cr_assert_eq(first.deadline_ms, T0 + 10 + VISIBILITY_S * 1000u, "still in flight");
	cr_assert_eq(first.sent_ms, T0);
	struct sqs_record second = decoded(&rig_a.log.records[5]);
	cr_assert_arr_eq(second.body, "second", 6);
	cr_assert_eq(second.deadline_ms, 0);
	cr_assert_eq(second.receive_count, 0);
	cr_assert(rig_a.log.records[0].released && rig_a.log.records[1].released, "old SENDs");
	cr_assert(rig_a.log.records[3].released, "the RECEIVE the new SEND states");
	cr_assert_not(rig_a.log.records[2].released, "third was not before the end");
	cr_assert_eq(live_records(&rig_a.log), 3);
	/* The moved message is still one message: its handle deletes it. */
	struct sqs_logged logged;
	cr_assert_eq(rig_delete(&rig_a, &got, &logged), WIRE_OK);
	cr_assert(rig_a.log.records[4].released, "the new copy goes with the delete");
	rig_a.log.refuse = -EAGAIN;
	cr_assert_eq(sqs_relog_before(rig_a.engine, UINT64_MAX, 8), 0, "stops when refused");
	cr_assert_eq(live_records(&rig_a.log), 2);
}

/* A history with every kind of record: sends, receives (two of one message), a delete, a
 * compaction. */
static uint64_t write_history(struct rig *rig)
{
	struct sqs_sent sent;
	char body[16];
	for (int i = 0; i < 8; i++) {
		snprintf(body, sizeof(body), "body-%d", i);
		rig_send(rig, Q, body, T0 + (uint64_t)i, &sent);
	}
	struct sqs_received got[3];
	cr_assert_eq(receive(rig, 3, T0 + 100, got), 3);
	struct sqs_logged logged;
	cr_assert_eq(rig_delete(rig, &got[1], &logged), WIRE_OK);
	uint64_t later = T0 + 100 + VISIBILITY_S * 1000u;
	cr_assert_eq(sqs_expire(rig->engine, later), 2);
	cr_assert_eq(receive(rig, 1, later, got), 1); /* a second receive of one message */
	cr_assert_eq(sqs_relog_before(rig->engine, rig->log.records[4].position, 2), 2);
	cr_assert_eq(receive(rig, 1, later + 1, got), 1);
	rig->log.durable_sequence = rig->log.next_sequence - 1;
	return later + 2;
}

Test(sqs_log, replaying_every_record_rebuilds_the_same_engine)
{
	uint64_t now = write_history(&rig_a);
	rig_replay(&rig_b, &rig_a.log, false, now);
	cr_assert_eq(sqs_visible_count(rig_b.engine, Q), 5);
	cr_assert_eq(sqs_inflight_count(rig_b.engine, Q), 2);
	assert_same_engine(&rig_a, &rig_b, now);
}

Test(sqs_log, the_live_records_are_exactly_what_replay_needs)
{
	uint64_t now = write_history(&rig_a);
	uint32_t live = live_records(&rig_a.log);
	cr_assert_lt(live, rig_a.log.count, "the history released records");
	rig_replay(&rig_b, &rig_a.log, true, now);
	cr_assert_eq(live_records(&rig_b.log), live, "replaying live records releases none");
	assert_same_engine(&rig_a, &rig_b, now);
}

/*
 * A receipt handle given before a restart still acts after it: a delete with it removes the
 * message (it answered OK and deleted nothing, so the message came back: found by
 * tests/integration/run_crash.sh), and a change of visibility finds it in flight.
 */
Test(sqs_log, a_handle_from_before_the_restart_deletes_after_it)
{
	struct sqs_sent sent;
	rig_send(&rig_a, Q, "kept", T0, &sent);
	rig_send(&rig_a, Q, "deleted", T0 + 1, &sent);
	struct sqs_received got[2];
	cr_assert_eq(receive(&rig_a, 2, T0 + 10, got), 2);
	rig_a.log.durable_sequence = rig_a.log.next_sequence - 1;
	rig_replay(&rig_b, &rig_a.log, true, T0 + 20);
	cr_assert_eq(sqs_inflight_count(rig_b.engine, Q), 2);
	cr_assert_eq(sqs_change_visibility(rig_b.engine, Q, got[0].receipt_handle,
	                                   strlen(got[0].receipt_handle), 60, T0 + 20),
	             WIRE_OK, "the handle still names the message in flight");
	struct sqs_logged logged;
	cr_assert_eq(rig_delete(&rig_b, &got[1], &logged), WIRE_OK);
	cr_assert_neq(logged.sequence, 0, "the delete acted: it wrote its record");
	cr_assert_eq(sqs_inflight_count(rig_b.engine, Q), 1);
	struct sqs_received again[2];
	uint64_t later = T0 + 10 + VISIBILITY_S * 1000u;
	cr_assert_eq(sqs_expire(rig_b.engine, later), 0, "kept is hidden for 60 s from T0 + 20");
	cr_assert_eq(receive(&rig_b, 2, later, again), 0);
	cr_assert_eq(sqs_expire(rig_b.engine, T0 + 20 + 60 * 1000u), 1);
	cr_assert_eq(receive(&rig_b, 2, T0 + 20 + 60 * 1000u, again), 1);
	cr_assert_str_eq(again[0].message_id, got[0].message_id, "the deleted one never returns");
}

/*
 * A receive answered, then a crash before its RECEIVE record was durable: the handle the
 * client holds names a receive recovery never saw. Its nonce proves it is the engine's, so
 * a delete with it acts (it answered OK, deleted nothing, and the message came back: found
 * by run_crash.sh, seed 2146297949); a handle with a forged nonce still deletes nothing.
 */
Test(sqs_log, a_handle_whose_receive_record_was_lost_still_deletes)
{
	struct sqs_sent sent;
	rig_send(&rig_a, Q, "lost-receive", T0, &sent);
	rig_a.log.durable_sequence = rig_a.log.next_sequence - 1; /* the SEND, not the RECEIVE */
	struct sqs_received got;
	cr_assert_eq(receive(&rig_a, 1, T0 + 10, &got), 1);
	rig_replay(&rig_b, &rig_a.log, true, T0 + 20);
	cr_assert_eq(sqs_visible_count(rig_b.engine, Q), 1, "recovery never saw the receive");
	struct sqs_received forged = got;
	size_t last = strlen(forged.receipt_handle) - 1;
	forged.receipt_handle[last] = forged.receipt_handle[last] == '0' ? '1' : '0';
	struct sqs_logged logged;
	cr_assert_eq(rig_delete(&rig_b, &forged, &logged), WIRE_OK);
	cr_assert_eq(logged.sequence, 0, "a forged nonce deletes nothing");
	cr_assert_eq(sqs_visible_count(rig_b.engine, Q), 1);
	cr_assert_eq(rig_delete(&rig_b, &got, &logged), WIRE_OK);
	cr_assert_neq(logged.sequence, 0, "the delete acted: it wrote its record");
	cr_assert_eq(sqs_visible_count(rig_b.engine, Q), 0);
}

/* Also when the restart took longer than the visibility timeout: visible again, the handle of
 * its last receive still deletes it (as without a restart, until it is received again). */
Test(sqs_log, a_handle_deletes_a_message_whose_timeout_ended_during_the_restart)
{
	struct sqs_sent sent;
	rig_send(&rig_a, Q, "deleted", T0, &sent);
	struct sqs_received got;
	cr_assert_eq(receive_for(&rig_a, 1, 1, T0 + 10, &got), 1);
	rig_a.log.durable_sequence = rig_a.log.next_sequence - 1;
	rig_replay(&rig_b, &rig_a.log, true, T0 + 5000);
	cr_assert_eq(sqs_visible_count(rig_b.engine, Q), 1);
	struct sqs_logged logged;
	cr_assert_eq(rig_delete(&rig_b, &got, &logged), WIRE_OK);
	cr_assert_neq(logged.sequence, 0, "the delete acted: it wrote its record");
	cr_assert_eq(sqs_visible_count(rig_b.engine, Q), 0);
}

Test(sqs_log, replay_releases_what_the_live_set_does_not_need)
{
	uint64_t now = write_history(&rig_a);
	rig_replay(&rig_b, &rig_a.log, false, now);
	cr_assert_eq(live_records(&rig_b.log), live_records(&rig_a.log),
	             "replaying every record leaves the same live set");
}

/* ---- suite sqs_sim ---- */

#define SIM_SEEDS     400u
#define SIM_OPS       300u
#define SIM_SENDS_MAX SIM_OPS
#define SIM_HANDLES   16u

struct sim_message {
	char message_id[BB_MESSAGE_ID_BYTES + 1];
	char body[24];
	uint64_t send_sequence;   /* its SEND record; 0: the send was refused */
	uint64_t delete_sequence; /* the first DELETE record written for it; 0: none */
	bool send_acked;          /* the durable point passed its SEND, or a replay found it */
	bool delete_acked;
};

struct sim_handle {
	char text[BB_RECEIPT_HANDLE_BYTES + 1];
	uint32_t message;
};

static struct {
	uint64_t state;
	uint64_t now_ms;
	struct sim_message messages[SIM_SENDS_MAX];
	uint32_t message_count;
	struct sim_handle handles[SIM_HANDLES];
	uint32_t handle_count;
	uint32_t crashes;
	uint32_t acks_checked;
} sim;

static uint32_t sim_random(uint32_t bound)
{
	/* splitmix64: a seed gives one run, the same on every machine */
	uint64_t z = (sim.state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return (uint32_t)((z ^ (z >> 31)) % bound);
}

static uint32_t sim_find(const char *message_id)
{
	for (uint32_t i = 0; i < sim.message_count; i++) {
		if (strcmp(sim.messages[i].message_id, message_id) == 0)
			return i;
	}
	return UINT32_MAX;
}

static void sim_send(struct rig *rig)
{
	struct sim_message *m = &sim.messages[sim.message_count];
	snprintf(m->body, sizeof(m->body), "sim-%u", sim.message_count);
	struct sqs_sent sent;
	enum wire_status status = sqs_send(rig->engine, Q, (const uint8_t *)m->body,
	                                   (uint32_t)strlen(m->body), sim.now_ms, &sent);
	if (status == WIRE_ERR_OVER_LIMIT)
		return;
	cr_assert_eq(status, WIRE_OK);
	memcpy(m->message_id, sent.message_id, sizeof(m->message_id));
	m->send_sequence = sent.logged.sequence;
	cr_assert_gt(m->send_sequence, 0, "a durable queue's send waits for a record");
	sim.message_count++;
}

static void sim_receive(struct rig *rig)
{
	struct sqs_received got[BB_RECEIVE_COUNT_MAX];
	uint32_t n = receive(rig, 1 + sim_random(3), sim.now_ms, got);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t index = sim_find(got[i].message_id);
		cr_assert_neq(index, UINT32_MAX, "a message nobody sent: %s", got[i].message_id);
		struct sim_handle *h = &sim.handles[sim.handle_count < SIM_HANDLES
		                                        ? sim.handle_count++
		                                        : sim_random(SIM_HANDLES)];
		memcpy(h->text, got[i].receipt_handle, sizeof(h->text));
		h->message = index;
	}
}

static void sim_delete(struct rig *rig)
{
	if (sim.handle_count == 0)
		return;
	struct sim_handle *h = &sim.handles[sim_random(sim.handle_count)];
	struct sqs_logged logged;
	enum wire_status status =
	    sqs_delete(rig->engine, Q, h->text, strlen(h->text), &logged);
	cr_assert_eq(status, WIRE_OK);
	struct sim_message *m = &sim.messages[h->message];
	if (logged.sequence != 0 && m->delete_sequence == 0)
		m->delete_sequence = logged.sequence;
}

/* The durable point moves to the end: what it passes is acknowledged. */
static void sim_sync(struct rig *rig)
{
	rig->log.durable_sequence = rig->log.next_sequence - 1;
	for (uint32_t i = 0; i < sim.message_count; i++) {
		struct sim_message *m = &sim.messages[i];
		m->send_acked |= m->send_sequence != 0;
		m->delete_acked |= m->delete_sequence != 0;
	}
}

/* After a crash: what the acknowledgements promise, checked on a replica of the engine. */
static void sim_check(const struct rig *recovered, uint64_t seed)
{
	static struct rig check;
	rig_replay(&check, &recovered->log, false, sim.now_ms);
	static struct seen seen[MESSAGE_SLOTS];
	uint32_t count = enumerate(&check, sim.now_ms, seen);
	static bool present[SIM_SENDS_MAX];
	memset(present, 0, sizeof(present));
	for (uint32_t i = 0; i < count; i++) {
		uint32_t index = sim_find(seen[i].message_id);
		cr_assert_neq(index, UINT32_MAX, "seed %llu: unknown message %s after a crash",
		              (unsigned long long)seed, seen[i].message_id);
		const struct sim_message *m = &sim.messages[index];
		cr_assert_eq(seen[i].body_bytes, strlen(m->body), "seed %llu", (unsigned long long)seed);
		cr_assert_arr_eq(seen[i].body, m->body, seen[i].body_bytes);
		cr_assert_not(m->delete_acked, "seed %llu: %s came back after its delete was acked",
		              (unsigned long long)seed, m->message_id);
		present[index] = true;
	}
	for (uint32_t i = 0; i < sim.message_count; i++) {
		struct sim_message *m = &sim.messages[i];
		if (m->send_acked && !m->delete_acked) {
			cr_assert(present[i], "seed %llu: acknowledged message %s lost in crash %u",
			          (unsigned long long)seed, m->message_id, sim.crashes);
			sim.acks_checked++;
		}
		/* What recovery found is on disk: from now on it must stay, like an acked send.
		 * What it did not find, and deletes not acknowledged, were lost with the tail. */
		m->send_acked = present[i];
		if (!present[i])
			m->send_sequence = 0;
		if (!m->delete_acked)
			m->delete_sequence = 0;
	}
	rig_stop(&check);
}

/*
 * Power cut: unsynced records and releases are gone. Recovery replays the durable records
 * the log kept: the real log removes only whole segments with nothing live, so it replays
 * between the live ones alone and every one; each crash takes one of the two at random.
 */
static void sim_crash(struct rig **rig, struct rig **spare, uint64_t seed)
{
	rig_replay(*spare, &(*rig)->log, sim_random(2) == 0, sim.now_ms);
	rig_stop(*rig);
	struct rig *t = *rig;
	*rig = *spare;
	*spare = t;
	sim.handle_count = 0; /* handles die with the process */
	sim.crashes++;
	sim_check(*rig, seed);
}

static void sim_step(struct rig **rig, struct rig **spare, uint64_t seed)
{
	uint32_t op = sim_random(100);
	if (op < 30)
		sim_send(*rig);
	else if (op < 50)
		sim_receive(*rig);
	else if (op < 65)
		sim_delete(*rig);
	else if (op < 75)
		sim.now_ms += sim_random(2 * VISIBILITY_S * 1000u);
	else if (op < 80)
		(void)sqs_expire((*rig)->engine, sim.now_ms);
	else if (op < 85)
		(void)sqs_relog_before((*rig)->engine, UINT64_MAX, 1 + sim_random(4));
	else if (op < 96)
		sim_sync(*rig);
	else
		sim_crash(rig, spare, seed);
}

static void sim_run(uint64_t seed)
{
	static struct rig rigs[2];
	memset(&sim, 0, sizeof(sim));
	sim.state = seed;
	sim.now_ms = T0;
	struct rig *rig = &rigs[0], *spare = &rigs[1];
	rig_start(rig);
	for (uint32_t i = 0; i < SIM_OPS && sim.message_count < SIM_SENDS_MAX; i++)
		sim_step(&rig, &spare, seed);
	sim_crash(&rig, &spare, seed);
	rig_stop(rig);
}

Test(sqs_sim, acknowledged_operations_survive_every_crash_of_every_seed)
{
	uint32_t crashes = 0, acks = 0;
	for (uint64_t seed = 1; seed <= SIM_SEEDS; seed++) {
		sim_run(seed);
		crashes += sim.crashes;
		acks += sim.acks_checked;
	}
	cr_log_info("%u crashes, %u acknowledged messages checked present", crashes, acks);
	cr_assert_gt(crashes, SIM_SEEDS * 5, "the runs crash often");
	cr_assert_gt(acks, SIM_SEEDS * 5, "and the crashes find acknowledged messages");
}
