/*
 * Stateful fuzz target: the SQS engine (dataplane/sqs.c) driven by random sequences of
 * every operation it has (open, update, close, send, receive, delete, change visibility,
 * time passing, expiry, park, take parked receives and answer them) and checked after each
 * one against a plain model of the semantics it implements: what is visible and in flight,
 * oldest-first order, receipt handles (only the newest acts), visibility deadlines and the
 * 12-hour cap, per-queue budgets and the engine's shared caps, bodies too large for a
 * receive, the character rule, long-poll wake-ups, and that a close frees exactly its
 * queue. Queues may have a RedrivePolicy's maxReceiveCount: a message received that many
 * times is never handed out again but taken to move (sqs_take_moves, right after each
 * receive), in flight for SQS_MOVE_VISIBILITY_MS; a receive stops only when the move slots
 * ran out. The engine is small here (3 queues, 12 messages, 4 parked receives) so every
 * limit is reached. Any disagreement aborts with what differed.
 *
 * Input: one operation per byte, its arguments in the bytes after it (zeros past the end).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "bb_utf8.h"
#include "sqs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define QUEUES         3u
#define MESSAGES       12u
#define WAITERS        4u
#define QUEUE_MESSAGES 6u
#define QUEUE_UNITS    10u
#define UNIT_BYTES     4u
#define STORE_UNITS    24u /* below QUEUES * QUEUE_UNITS: the shared store runs out too */
#define LARGE          10u /* large_body_bytes_min */
#define BODY_BYTES_MAX 17u /* one over the largest MaximumMessageSize opened: 16 */
#define OPS_MAX        400u
#define SENDS_MAX      OPS_MAX
#define HANDLES        16u
#define MS             1000u
#define MOVE_SLOTS     2u

#define CHECK(condition, ...)                                                                      \
	do {                                                                                       \
		if (!(condition)) {                                                                \
			fprintf(stderr, "fuzz_sqs_engine: %s: ", #condition);                     \
			fprintf(stderr, __VA_ARGS__);                                              \
			fprintf(stderr, "\n");                                                     \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* ---- the body store the engine writes to: counts units as the engine should ---- */

struct store_body {
	bool live;
	uint32_t bytes;
	uint8_t body[BODY_BYTES_MAX];
};

static struct {
	struct store_body bodies[2 * MESSAGES];
	uint32_t units;
} store;

static uint32_t units_of(uint32_t bytes)
{
	return bytes <= UNIT_BYTES ? 1 : (bytes + UNIT_BYTES - 1) / UNIT_BYTES;
}

static int store_put(void *ctx, const uint8_t *body, uint32_t bytes, uint64_t *ref_out)
{
	(void)ctx;
	CHECK(bytes > 0 && bytes < BODY_BYTES_MAX, "a stored body of %u bytes", bytes);
	if (store.units + units_of(bytes) > STORE_UNITS)
		return -1;
	for (uint32_t i = 0; i < 2 * MESSAGES; i++) {
		if (!store.bodies[i].live) {
			store.bodies[i].live = true;
			store.bodies[i].bytes = bytes;
			memcpy(store.bodies[i].body, body, bytes);
			store.units += units_of(bytes);
			*ref_out = i;
			return 0;
		}
	}
	CHECK(false, "more bodies than the engine has message slots");
	return -1;
}

static void store_read(void *ctx, uint64_t ref, uint8_t *out, uint32_t bytes)
{
	(void)ctx;
	CHECK(ref < 2 * MESSAGES && store.bodies[ref].live, "reading body %llu",
	      (unsigned long long)ref);
	CHECK(store.bodies[ref].bytes == bytes, "body size");
	memcpy(out, store.bodies[ref].body, bytes);
}

static void store_release(void *ctx, uint64_t ref)
{
	(void)ctx;
	CHECK(ref < 2 * MESSAGES && store.bodies[ref].live, "releasing body %llu twice",
	      (unsigned long long)ref);
	store.bodies[ref].live = false;
	store.units -= units_of(store.bodies[ref].bytes);
}

/* ---- the model ---- */

struct model_message {
	bool live;
	bool inflight;
	uint32_t slot;
	uint32_t body_bytes;
	uint8_t body[BODY_BYTES_MAX];
	char message_id[BB_MESSAGE_ID_BYTES + 1];
	uint32_t receive_count;
	uint64_t deadline_ms;
	uint64_t received_ms;
	uint64_t visible_op; /* visible order: the op that made it visible, then its deadline */
	uint64_t visible_deadline_ms;
};

struct model_waiter {
	bool parked;
	uint32_t slot;
	uint64_t deadline_ms;
	struct sqs_receive_options receive;
};

struct model_queue {
	bool open;
	struct sqs_queue_config config;
};

/* A receipt handle the model saw, with what it was issued for. */
struct handle_record {
	char text[BB_RECEIPT_HANDLE_BYTES + 1];
	uint64_t queue_id;
	uint32_t message;       /* index into messages */
	uint32_t receive_count; /* of that receive */
};

static struct {
	struct sqs_engine *engine;
	uint64_t now_ms;
	uint64_t op;
	uint64_t next_queue_id;
	struct model_queue queues[QUEUES];
	struct model_message messages[SENDS_MAX];
	uint32_t message_count;
	struct model_waiter waiters[OPS_MAX];
	uint32_t waiter_count;
	struct handle_record handles[HANDLES];
	uint32_t handle_count;
	struct sqs_wake wakes[WAITERS];
} m;

/* The input, read as a stream of small choices. */
struct input {
	const uint8_t *data;
	size_t size;
	size_t at;
};

static uint32_t next_byte(struct input *in)
{
	return in->at < in->size ? in->data[in->at++] : 0;
}

static uint32_t pick(struct input *in, uint32_t count)
{
	return next_byte(in) % count;
}

static uint32_t live_count(void)
{
	uint32_t count = 0;
	for (uint32_t i = 0; i < m.message_count; i++)
		count += m.messages[i].live;
	return count;
}

static void queue_usage(uint32_t slot, uint32_t *messages, uint32_t *units)
{
	*messages = 0;
	*units = 0;
	for (uint32_t i = 0; i < m.message_count; i++) {
		if (m.messages[i].live && m.messages[i].slot == slot) {
			(*messages)++;
			*units += units_of(m.messages[i].body_bytes);
		}
	}
}

static bool model_has_room(uint32_t slot, uint32_t body_bytes)
{
	uint32_t messages, units;
	queue_usage(slot, &messages, &units);
	return messages < QUEUE_MESSAGES && units + units_of(body_bytes) <= QUEUE_UNITS;
}

static bool takes(const struct sqs_receive_options *receive, uint32_t body_bytes)
{
	return body_bytes < LARGE || receive->body_bytes_max >= LARGE;
}

/* Visible messages of a slot this receive may take (whatever their size against its limit). */
static bool eligible(uint32_t i, uint32_t slot, const struct sqs_receive_options *receive)
{
	const struct model_message *msg = &m.messages[i];
	return msg->live && !msg->inflight && msg->slot == slot && takes(receive, msg->body_bytes);
}

static bool visible_before(const struct model_message *a, const struct model_message *b)
{
	if (a->visible_op != b->visible_op)
		return a->visible_op < b->visible_op;
	return a->visible_deadline_ms < b->visible_deadline_ms;
}

/* The oldest eligible message (one of them when tied); SENDS_MAX when none. */
static uint32_t oldest_eligible(uint32_t slot, const struct sqs_receive_options *receive)
{
	uint32_t oldest = SENDS_MAX;
	for (uint32_t i = 0; i < m.message_count; i++) {
		if (!eligible(i, slot, receive))
			continue;
		if (oldest == SENDS_MAX || visible_before(&m.messages[i], &m.messages[oldest]))
			oldest = i;
	}
	return oldest;
}

/* ---- checks that hold after every operation ---- */

static void check_counts(void)
{
	uint32_t live = live_count();
	CHECK(sqs_free_message_slots(m.engine) == MESSAGES - live, "free slots %u, model live %u",
	      sqs_free_message_slots(m.engine), live);
	uint32_t units = 0;
	for (uint32_t slot = 0; slot < QUEUES; slot++) {
		uint32_t visible = 0, inflight = 0, visible_small = 0;
		for (uint32_t i = 0; i < m.message_count; i++) {
			const struct model_message *msg = &m.messages[i];
			if (!msg->live || msg->slot != slot)
				continue;
			units += units_of(msg->body_bytes);
			inflight += msg->inflight;
			visible += !msg->inflight;
			visible_small += !msg->inflight && msg->body_bytes < LARGE;
		}
		if (!m.queues[slot].open) {
			CHECK(visible + inflight == 0, "a closed queue holds messages");
			continue;
		}
		CHECK(sqs_visible_count(m.engine, slot) == visible, "slot %u visible %u, model %u",
		      slot, sqs_visible_count(m.engine, slot), visible);
		CHECK(sqs_inflight_count(m.engine, slot) == inflight, "slot %u in flight %u, model %u",
		      slot, sqs_inflight_count(m.engine, slot), inflight);
		CHECK(sqs_can_receive(m.engine, slot, UINT32_MAX) == (visible > 0), "can_receive");
		CHECK(sqs_can_receive(m.engine, slot, LARGE - 1) == (visible_small > 0),
		      "can_receive below the large size");
		CHECK(sqs_queue_has_room(m.engine, slot, 1) == model_has_room(slot, 1), "has_room");
	}
	CHECK(store.units == units, "store holds %u units, model %u", store.units, units);
}

/* ---- operations ---- */

/* The engine closed a slot and returned `closed_count` wakes: compare with the model. */
static void close_model(uint32_t slot, uint32_t closed_count)
{
	uint32_t expected = 0;
	for (uint32_t i = 0; i < m.waiter_count; i++) {
		if (m.waiters[i].parked && m.waiters[i].slot == slot)
			expected++;
	}
	CHECK(closed_count == expected, "close returned %u waiters, model %u", closed_count,
	      expected);
	for (uint32_t k = 0; k < closed_count; k++) {
		uint32_t w = (uint32_t)(uintptr_t)m.wakes[k].token - 1;
		CHECK(w < m.waiter_count && m.waiters[w].parked && m.waiters[w].slot == slot,
		      "close returned a waiter not parked on its queue");
		CHECK(m.wakes[k].queue_closed && m.wakes[k].queue_slot == slot, "closed wake");
		m.waiters[w].parked = false;
	}
	for (uint32_t i = 0; i < m.message_count; i++) {
		if (m.messages[i].slot == slot)
			m.messages[i].live = false;
	}
	m.queues[slot].open = false;
}

static void op_open(struct input *in)
{
	uint32_t slot = pick(in, QUEUES);
	bool update = m.queues[slot].open && pick(in, 2) == 0;
	static const uint32_t visibility_s[] = {0, 1, 2, 30};
	struct sqs_queue_config config = {
	    .queue_id = update ? m.queues[slot].config.queue_id : m.next_queue_id++,
	    .visibility_timeout_s = visibility_s[pick(in, 4)],
	    .maximum_message_bytes = 8 + pick(in, 9),
	    .max_receive_count = pick(in, 4), /* 0: no RedrivePolicy */
	};
	uint32_t closed = sqs_queue_open(m.engine, slot, &config, m.wakes);
	if (update) {
		CHECK(closed == 0, "an update closes nothing");
		m.queues[slot].config = config;
		return;
	}
	close_model(slot, closed);
	m.queues[slot] = (struct model_queue){.open = true, .config = config};
}

static void op_close(struct input *in)
{
	uint32_t slot = pick(in, QUEUES);
	uint32_t closed = sqs_queue_close(m.engine, slot, m.wakes);
	if (!m.queues[slot].open) {
		CHECK(closed == 0, "closing a closed slot");
		return;
	}
	close_model(slot, closed);
}

static uint32_t make_body(struct input *in, uint8_t *body)
{
	uint32_t bytes = pick(in, BODY_BYTES_MAX);
	uint32_t kind = pick(in, 8);
	for (uint32_t i = 0; i < bytes; i++)
		body[i] = (uint8_t)('a' + (i + kind) % 26);
	if (kind == 0 && bytes > 0)
		body[pick(in, bytes)] = (uint8_t)next_byte(in); /* often not allowed */
	if (kind == 1 && bytes >= 2) {
		body[0] = 0xc3; /* é */
		body[1] = 0xa9;
	}
	return bytes;
}

static enum wire_status expected_send(uint32_t slot, const uint8_t *body, uint32_t bytes)
{
	if (bytes == 0)
		return WIRE_ERR_MISSING_PARAMETER;
	if (bytes > m.queues[slot].config.maximum_message_bytes)
		return WIRE_ERR_MESSAGE_TOO_LONG;
	if (!bb_utf8_is_sqs_text(body, bytes))
		return WIRE_ERR_INVALID_MESSAGE_CONTENTS;
	if (!model_has_room(slot, bytes) || live_count() == MESSAGES)
		return WIRE_ERR_OVER_LIMIT;
	if (store.units + units_of(bytes) > STORE_UNITS)
		return WIRE_ERR_OVER_LIMIT;
	return WIRE_OK;
}

static void check_md5(const uint8_t *body, uint32_t bytes, const char *hex)
{
	uint8_t digest[16];
	unsigned int length = 0;
	char expected[33];
	CHECK(EVP_Digest(body, bytes, digest, &length, EVP_md5(), NULL) == 1, "MD5");
	for (uint32_t i = 0; i < 16; i++)
		snprintf(expected + 2 * i, 3, "%02x", digest[i]);
	CHECK(strcmp(hex, expected) == 0, "MD5OfMessageBody %s, expected %s", hex, expected);
}

static void op_send(struct input *in)
{
	uint32_t slot = pick(in, QUEUES);
	uint8_t body[BODY_BYTES_MAX];
	uint32_t bytes = make_body(in, body);
	if (!m.queues[slot].open || m.message_count == SENDS_MAX)
		return; /* the worker sends only to queues it holds */
	enum wire_status expected = expected_send(slot, body, bytes);
	struct sqs_sent sent;
	enum wire_status status = sqs_send(m.engine, slot, body, bytes, m.now_ms, &sent);
	CHECK(status == expected, "send of %u bytes: %d, model %d", bytes, status, expected);
	if (status != WIRE_OK)
		return;
	check_md5(body, bytes, sent.md5_of_body);
	CHECK(strlen(sent.message_id) == BB_MESSAGE_ID_BYTES && sent.message_id[14] == '4',
	      "a UUID v4 message id");
	struct model_message *msg = &m.messages[m.message_count++];
	*msg = (struct model_message){
	    .live = true, .slot = slot, .body_bytes = bytes, .visible_op = m.op};
	memcpy(msg->body, body, bytes);
	memcpy(msg->message_id, sent.message_id, sizeof(msg->message_id));
}

static void remember_handle(uint32_t message, const char *handle)
{
	struct handle_record *h = &m.handles[m.handle_count++ % HANDLES];
	memcpy(h->text, handle, sizeof(h->text));
	h->queue_id = m.queues[m.messages[message].slot].config.queue_id;
	h->message = message;
	h->receive_count = m.messages[message].receive_count;
}

static uint32_t find_message(const char *message_id)
{
	for (uint32_t i = 0; i < m.message_count; i++) {
		if (m.messages[i].live && strcmp(m.messages[i].message_id, message_id) == 0)
			return i;
	}
	CHECK(false, "received %s, which the model does not hold", message_id);
	return SENDS_MAX;
}

/* Checks one received message against the model, then applies the receive to it. */
static void model_received(uint32_t slot, const struct sqs_receive_options *receive,
                           const struct sqs_received *r)
{
	uint32_t i = find_message(r->message_id);
	struct model_message *msg = &m.messages[i];
	uint32_t max = m.queues[slot].config.max_receive_count;
	CHECK(eligible(i, slot, receive), "received a message not visible to this receive");
	CHECK(max == 0 || msg->receive_count < max, "handed out a message due to move");
	CHECK(msg->body_bytes <= receive->body_bytes_max, "a body over the receive's limit");
	uint32_t oldest = oldest_eligible(slot, receive);
	CHECK(!visible_before(&m.messages[oldest], msg), "not the oldest visible message");
	uint8_t body[BODY_BYTES_MAX];
	store_read(NULL, r->body_ref, body, r->body_bytes);
	CHECK(r->body_bytes == msg->body_bytes && memcmp(body, msg->body, msg->body_bytes) == 0,
	      "the body");
	msg->receive_count++;
	CHECK(r->receive_count == msg->receive_count, "receive count %u, model %u",
	      r->receive_count, msg->receive_count);
	int64_t timeout_s = receive->visibility_timeout_s < 0
	                        ? (int64_t)m.queues[slot].config.visibility_timeout_s
	                        : receive->visibility_timeout_s;
	msg->inflight = true;
	msg->deadline_ms = m.now_ms + (uint64_t)timeout_s * MS;
	msg->received_ms = m.now_ms;
	remember_handle(i, r->receipt_handle);
}

/* Checks one message a receive took to move, then applies the move's receive to it. */
static void model_moved(uint32_t slot, const struct sqs_receive_options *receive,
                        const struct sqs_move *move)
{
	uint32_t i = find_message(move->message_id);
	struct model_message *msg = &m.messages[i];
	uint32_t max = m.queues[slot].config.max_receive_count;
	CHECK(move->queue_slot == slot && move->queue_id == m.queues[slot].config.queue_id,
	      "a move of another queue");
	CHECK(eligible(i, slot, receive) && msg->body_bytes <= receive->body_bytes_max,
	      "moved a message this receive could not take");
	CHECK(max > 0 && msg->receive_count >= max, "moved a message received %u times, max %u",
	      msg->receive_count, max);
	uint8_t body[BODY_BYTES_MAX];
	store_read(NULL, move->body_ref, body, move->body_bytes);
	CHECK(move->body_bytes == msg->body_bytes && memcmp(body, msg->body, msg->body_bytes) == 0,
	      "the moved body");
	msg->receive_count++;
	CHECK(move->receive_count == msg->receive_count, "a move's receive count");
	msg->inflight = true;
	msg->deadline_ms = m.now_ms + SQS_MOVE_VISIBILITY_MS;
	msg->received_ms = m.now_ms;
	remember_handle(i, move->receipt_handle);
}

/* A receive that returned fewer than it asked for must have had no more it could take, or
 * have filled every move slot before a message due to move. */
static void check_receive_stopped(uint32_t slot, const struct sqs_receive_options *receive,
                                  uint32_t moved)
{
	uint32_t oldest = oldest_eligible(slot, receive);
	if (oldest == SENDS_MAX)
		return;
	uint32_t max = m.queues[slot].config.max_receive_count;
	if (moved == MOVE_SLOTS && max > 0 && m.messages[oldest].receive_count >= max)
		return;
	bool some_tied_does_not_fit = false;
	for (uint32_t i = 0; i < m.message_count; i++) {
		const struct model_message *msg = &m.messages[i];
		if (eligible(i, slot, receive) && !visible_before(&m.messages[oldest], msg) &&
		    msg->body_bytes > receive->body_bytes_max)
			some_tied_does_not_fit = true;
	}
	CHECK(some_tied_does_not_fit, "stopped though message %s fits",
	      m.messages[oldest].message_id);
}

static void receive_and_check(uint32_t slot, const struct sqs_receive_options *receive)
{
	struct sqs_received out[BB_RECEIVE_COUNT_MAX];
	uint32_t count = sqs_receive(m.engine, slot, receive, m.now_ms, out);
	CHECK(count <= receive->max_messages, "more than asked");
	/* The moves first: they were older than what the receive handed out after them. */
	struct sqs_move moves[MOVE_SLOTS];
	uint32_t moved = sqs_take_moves(m.engine, moves, MOVE_SLOTS);
	for (uint32_t k = 0; k < moved; k++)
		model_moved(slot, receive, &moves[k]);
	for (uint32_t k = 0; k < count; k++)
		model_received(slot, receive, &out[k]);
	if (count < receive->max_messages)
		check_receive_stopped(slot, receive, moved);
}

static struct sqs_receive_options make_receive(struct input *in)
{
	static const int64_t visibility_s[] = {-1, 0, 1, 2, 5};
	static const uint32_t limits[] = {UINT32_MAX, LARGE - 1, 3, LARGE + 2};
	return (struct sqs_receive_options){
	    .max_messages = 1 + pick(in, BB_RECEIVE_COUNT_MAX),
	    .visibility_timeout_s = visibility_s[pick(in, 5)],
	    .body_bytes_max = limits[pick(in, 4)],
	};
}

static void op_receive(struct input *in)
{
	uint32_t slot = pick(in, QUEUES);
	struct sqs_receive_options options = make_receive(in);
	if (m.queues[slot].open)
		receive_and_check(slot, &options);
}

/* A handle to act with: one the model saw (current or stale), or a malformed one. */
static const char *choose_handle(struct input *in, const struct handle_record **record_out)
{
	static char bad[BB_RECEIPT_HANDLE_BYTES + 1];
	uint32_t choice = pick(in, HANDLES + 2);
	uint32_t known = m.handle_count < HANDLES ? m.handle_count : HANDLES;
	*record_out = NULL;
	if (choice < known) {
		*record_out = &m.handles[choice];
		return m.handles[choice].text;
	}
	memset(bad, 'a', BB_RECEIPT_HANDLE_BYTES);
	bad[BB_RECEIPT_HANDLE_BYTES] = '\0';
	if (choice == HANDLES)
		bad[0] = 'z'; /* not hex */
	else
		bad[BB_RECEIPT_HANDLE_BYTES - 1] = '\0'; /* one character short */
	return bad;
}

enum handle_state { H_INVALID, H_GONE_OR_STALE, H_CURRENT };

static enum handle_state handle_state(const struct handle_record *h, uint32_t slot)
{
	if (h == NULL || h->queue_id != m.queues[slot].config.queue_id)
		return H_INVALID;
	const struct model_message *msg = &m.messages[h->message];
	if (!msg->live || msg->receive_count != h->receive_count)
		return H_GONE_OR_STALE;
	return H_CURRENT;
}

static void op_delete(struct input *in)
{
	uint32_t slot = pick(in, QUEUES);
	const struct handle_record *h;
	const char *text = choose_handle(in, &h);
	if (!m.queues[slot].open)
		return;
	enum handle_state state = handle_state(h, slot);
	struct sqs_logged logged;
	enum wire_status status = sqs_delete(m.engine, slot, text, strlen(text), &logged);
	if (state == H_INVALID) {
		CHECK(status == WIRE_ERR_RECEIPT_HANDLE_INVALID, "delete: %d, model invalid", status);
		return;
	}
	CHECK(status == WIRE_OK, "delete: %d", status);
	if (state == H_CURRENT)
		m.messages[h->message].live = false;
}

static void op_change_visibility(struct input *in)
{
	static const uint32_t timeouts_s[] = {0, 1, 3, 30, BB_VISIBILITY_TIMEOUT_S_MAX};
	uint32_t slot = pick(in, QUEUES);
	const struct handle_record *h;
	const char *text = choose_handle(in, &h);
	uint32_t timeout_s = timeouts_s[pick(in, 5)];
	if (!m.queues[slot].open)
		return;
	enum handle_state state = handle_state(h, slot);
	enum wire_status status =
	    sqs_change_visibility(m.engine, slot, text, strlen(text), timeout_s, m.now_ms);
	enum wire_status expected = WIRE_ERR_RECEIPT_HANDLE_INVALID;
	if (state != H_INVALID)
		expected = WIRE_ERR_MESSAGE_NOT_INFLIGHT;
	struct model_message *msg = state == H_CURRENT ? &m.messages[h->message] : NULL;
	uint64_t deadline_ms = m.now_ms + (uint64_t)timeout_s * MS;
	if (msg != NULL && msg->inflight)
		expected = deadline_ms - msg->received_ms >
		                   (uint64_t)BB_VISIBILITY_TIMEOUT_S_MAX * MS
		               ? WIRE_ERR_INVALID_PARAMETER
		               : WIRE_OK;
	CHECK(status == expected, "change visibility: %d, model %d", status, expected);
	if (status == WIRE_OK)
		msg->deadline_ms = deadline_ms;
}

static void op_advance(struct input *in)
{
	static const uint64_t steps_ms[] = {1, 500, 999, 1000, 2000, 5000, 30000, 6 * 3600 * MS};
	m.now_ms += steps_ms[pick(in, 8)];
}

static void op_expire(void)
{
	uint32_t expected = 0;
	for (uint32_t i = 0; i < m.message_count; i++) {
		struct model_message *msg = &m.messages[i];
		if (!msg->live || !msg->inflight || msg->deadline_ms > m.now_ms)
			continue;
		msg->inflight = false;
		msg->visible_op = m.op;
		msg->visible_deadline_ms = msg->deadline_ms;
		expected++;
	}
	uint32_t moved = sqs_expire(m.engine, m.now_ms);
	CHECK(moved == expected, "expire moved %u, model %u", moved, expected);
}

static void op_park(struct input *in)
{
	uint32_t slot = pick(in, QUEUES);
	struct sqs_receive_options options = make_receive(in);
	uint64_t deadline_ms = m.now_ms + (1 + pick(in, 20)) * (uint64_t)MS;
	if (!m.queues[slot].open || m.waiter_count == OPS_MAX)
		return;
	uint32_t parked = 0;
	for (uint32_t i = 0; i < m.waiter_count; i++)
		parked += m.waiters[i].parked;
	void *token = (void *)(uintptr_t)(m.waiter_count + 1);
	int rc = sqs_park(m.engine, slot, token, 0, &options, deadline_ms);
	CHECK(rc == (parked == WAITERS ? -ENOSPC : 0), "park: %d with %u parked", rc,
	      parked);
	if (rc == 0)
		m.waiters[m.waiter_count++] =
		    (struct model_waiter){true, slot, deadline_ms, options};
}

static bool has_eligible(uint32_t slot, const struct sqs_receive_options *receive)
{
	return oldest_eligible(slot, receive) != SENDS_MAX;
}

/* After a take: no parked receive is past its wait, and none of a queue none was taken from
 * has a message it could take (a send, an expiry or a receive must have led to a take). */
static void check_nobody_forgotten(const bool woken_on[QUEUES])
{
	for (uint32_t i = 0; i < m.waiter_count; i++) {
		const struct model_waiter *w = &m.waiters[i];
		if (!w->parked)
			continue;
		CHECK(w->deadline_ms > m.now_ms, "a parked receive past its wait was not taken");
		CHECK(woken_on[w->slot] || !has_eligible(w->slot, &w->receive),
		      "a parked receive was left though a message it can take is visible");
	}
}

static bool same_receive(const struct sqs_receive_options *a,
                         const struct sqs_receive_options *b)
{
	return a->max_messages == b->max_messages &&
	       a->visibility_timeout_s == b->visibility_timeout_s &&
	       a->body_bytes_max == b->body_bytes_max;
}

static void op_take_waiters(void)
{
	uint32_t count = sqs_take_waiters(m.engine, m.now_ms, m.wakes, WAITERS);
	bool woken_on[QUEUES] = {false};
	for (uint32_t k = 0; k < count; k++) {
		uint32_t w = (uint32_t)(uintptr_t)m.wakes[k].token - 1;
		CHECK(w < m.waiter_count && m.waiters[w].parked, "woke a receive not parked");
		struct model_waiter *waiter = &m.waiters[w];
		CHECK(m.wakes[k].queue_slot == waiter->slot && !m.wakes[k].queue_closed, "wake");
		CHECK(same_receive(&m.wakes[k].receive, &waiter->receive),
		      "a wake carries the receive as parked");
		CHECK(waiter->deadline_ms <= m.now_ms || has_eligible(waiter->slot, &waiter->receive),
		      "woke a receive with nothing for it before its wait ended");
		waiter->parked = false;
		woken_on[waiter->slot] = true;
	}
	check_nobody_forgotten(woken_on);
	/* Answered at once, as the worker does. */
	for (uint32_t k = 0; k < count; k++)
		receive_and_check(m.wakes[k].queue_slot, &m.wakes[k].receive);
}

static void start(void)
{
	memset(&store, 0, sizeof(store));
	memset(&m, 0, sizeof(m));
	struct sqs_engine_options options = {
	    .queue_slots = QUEUES,
	    .message_slots = MESSAGES,
	    .waiter_slots = WAITERS,
	    .queue_messages_max = QUEUE_MESSAGES,
	    .queue_store_units_max = QUEUE_UNITS,
	    .store_unit_bytes = UNIT_BYTES,
	    .large_body_bytes_min = LARGE,
	    .store = {NULL, store_put, store_read, store_release},
	    .move_slots = MOVE_SLOTS,
	};
	int error = 0;
	m.engine = sqs_engine_create(&options, &error);
	CHECK(m.engine != NULL, "create: %d", error);
	m.now_ms = 1000000;
	m.next_queue_id = 100;
}

static void run(struct input *in, uint32_t op)
{
	switch (op) {
	case 0: op_open(in); break;
	case 1: op_close(in); break;
	case 2:
	case 3: op_send(in); break;
	case 4:
	case 5: op_receive(in); break;
	case 6: op_delete(in); break;
	case 7: op_change_visibility(in); break;
	case 8: op_advance(in); break;
	case 9: op_expire(); break;
	case 10: op_park(in); break;
	default: op_take_waiters(); break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = {data, size, 0};
	start();
	for (m.op = 1; m.op <= OPS_MAX && in.at < in.size; m.op++) {
		run(&in, pick(&in, 12));
		check_counts();
	}
	for (uint32_t slot = 0; slot < QUEUES; slot++) {
		uint32_t closed = sqs_queue_close(m.engine, slot, m.wakes);
		if (m.queues[slot].open)
			close_model(slot, closed);
	}
	check_counts();
	CHECK(store.units == 0, "every body released at the end");
	sqs_engine_destroy(m.engine);
	return 0;
}
