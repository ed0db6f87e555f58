/*
 * SQS standard-queue engine (see sqs.h). Invariants:
 * - a message slot is FREE, READY (linked in one of its queue's two ready
 *   lists: small or large bodies, each in the order messages became visible)
 *   or INFLIGHT (in the engine-wide deadline heap); never two at once;
 * - a queue's message_count and store_units count its READY and INFLIGHT
 *   messages and their bodies, and stay within the per-queue budgets;
 * - a message's generation changes whenever its slot is freed, so a receipt
 *   handle of a deleted message can never act on the slot's next message;
 * - only the newest receipt handle of a message (receive count and nonce
 *   match) deletes it or changes its visibility;
 * - each source in the sources table counts its parked receives, never more than
 *   waiter_slots_per_source; a source with none has no entry;
 * - a message of a durable queue has the position of its SEND record and is linked in
 *   the log list in the order of those positions (compaction walks it from the oldest);
 *   its newest RECEIVE record, if any, is state_position; every other record the engine
 *   wrote has been released, so what the log keeps live is exactly what recovery needs.
 * Everything is allocated in sqs_engine_create; no call after it allocates.
 */
#include "sqs.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "bb_endian.h"
#include "bb_utf8.h"

#define NIL      UINT32_MAX
#define NO_POSITION UINT64_MAX
_Static_assert(NIL == SQS_NO_MESSAGE, "the replay map and the engine agree on none");
#define MS_PER_S 1000u
#define RANDOM_BATCH_BYTES 4096u /* random bytes drawn at once: 256 message ids */

enum msg_state { MSG_FREE, MSG_READY, MSG_INFLIGHT };
enum ready_class { READY_SMALL, READY_LARGE, READY_CLASSES };

struct sqs_message {
	uint64_t body_ref;
	uint64_t ready_seq; /* order of becoming visible: merges the two ready lists */
	uint64_t sent_ms;
	uint64_t first_receive_ms;
	uint64_t received_ms;
	uint64_t deadline_ms; /* valid while INFLIGHT */
	uint64_t receipt_nonce; /* 64 random bits: a handle cannot be guessed */
	uint64_t send_position; /* of its SEND record; NO_POSITION when not logged */
	uint64_t state_position; /* of its newest RECEIVE record; NO_POSITION when none */
	uint32_t body_bytes;
	uint32_t queue_slot;
	uint32_t generation;
	uint32_t receive_count;
	uint32_t heap_index;
	uint32_t prev; /* ready list, or free list through next */
	uint32_t next;
	uint32_t log_prev; /* the log list, while send_position is set */
	uint32_t log_next;
	uint8_t id[16];
	uint8_t md5[16];
	uint8_t state;
};

struct sqs_waiter {
	void *token;
	uint64_t source; /* its entry in the sources table counts it */
	uint64_t deadline_ms;
	struct sqs_receive_options receive;
	uint32_t queue_slot;
	uint32_t next; /* per-queue FIFO, or free list */
};

/* An entry of the sources table (open addressing, linear probing); parked 0 is a free one. */
struct sqs_source {
	uint64_t source;
	uint32_t parked;
};

struct sqs_queue {
	struct sqs_queue_config config;
	bool open;
	uint32_t ready_head[READY_CLASSES], ready_tail[READY_CLASSES];
	uint32_t ready_count[READY_CLASSES];
	uint32_t inflight_count;
	uint32_t message_count; /* ready and in flight: the budget's count */
	uint32_t store_units;   /* what their bodies take of the store */
	uint32_t waiter_head, waiter_tail;
};

struct sqs_engine {
	struct sqs_engine_options options;
	struct sqs_queue *queues;
	struct sqs_message *messages;
	uint32_t *heap; /* message indexes, min-heap on deadline_ms */
	uint32_t heap_count;
	uint32_t free_head;
	uint32_t free_count;
	struct sqs_waiter *waiters;
	uint32_t waiter_free_head;
	uint32_t waiter_count;
	uint64_t waiter_deadline_min_ms;
	uint32_t waiters_per_source_max;
	struct sqs_source *sources; /* at least twice waiter_slots entries, a power of 2 */
	uint32_t source_mask;
	uint64_t ready_seq_next;
	uint32_t log_head, log_tail; /* logged messages, oldest SEND record first */
	uint8_t *relog_body; /* BB_MESSAGE_BODY_BYTES_MAX, when there is a log: compaction */
	uint8_t random_bytes[RANDOM_BATCH_BYTES];
	uint32_t random_used; /* bytes of random_bytes handed out */
	EVP_MD_CTX *md5_ctx; /* reused: EVP allocates only in create */
	EVP_MD *md5;
};

/*
 * Message ids and receipt nonces come from OpenSSL's DRBG (RAND_bytes), taken in batches so
 * that a send costs a copy rather than a call. They must not reveal each other: splitmix64,
 * used before, is invertible, so one message id gave away every later receipt handle.
 */
static uint64_t random_u64(struct sqs_engine *e)
{
	if (e->random_used + sizeof(uint64_t) > RANDOM_BATCH_BYTES) {
		/* A DRBG that cannot produce is not a state to serve from. */
		if (RAND_bytes(e->random_bytes, RANDOM_BATCH_BYTES) != 1)
			abort();
		e->random_used = 0;
	}
	uint64_t value = bb_get_le64(e->random_bytes + e->random_used);
	e->random_used += sizeof(uint64_t);
	assert(e->random_used <= RANDOM_BATCH_BYTES);
	return value;
}

static void hex_encode(const uint8_t *bytes, size_t count, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < count; i++) {
		out[2 * i] = digits[bytes[i] >> 4];
		out[2 * i + 1] = digits[bytes[i] & 15];
	}
	out[2 * count] = '\0';
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static bool hex_decode(const char *text, size_t count, uint8_t *out)
{
	for (size_t i = 0; i < count; i++) {
		int hi = hex_value(text[2 * i]);
		int lo = hex_value(text[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

static void format_message_id(const uint8_t id[16], char *out)
{
	char hex[33];
	hex_encode(id, 16, hex);
	snprintf(out, BB_MESSAGE_ID_BYTES + 1, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12,
	         hex + 16, hex + 20);
}

/* ---- deadline heap ---- */

static bool heap_less(const struct sqs_engine *e, uint32_t a, uint32_t b)
{
	return e->messages[e->heap[a]].deadline_ms < e->messages[e->heap[b]].deadline_ms;
}

static void heap_swap(struct sqs_engine *e, uint32_t a, uint32_t b)
{
	uint32_t tmp = e->heap[a];
	e->heap[a] = e->heap[b];
	e->heap[b] = tmp;
	e->messages[e->heap[a]].heap_index = a;
	e->messages[e->heap[b]].heap_index = b;
}

static void heap_sift_up(struct sqs_engine *e, uint32_t i)
{
	while (i > 0 && heap_less(e, i, (i - 1) / 2)) {
		heap_swap(e, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void heap_sift_down(struct sqs_engine *e, uint32_t i)
{
	for (;;) {
		uint32_t smallest = i;
		uint32_t left = 2 * i + 1;
		uint32_t right = left + 1;
		if (left < e->heap_count && heap_less(e, left, smallest))
			smallest = left;
		if (right < e->heap_count && heap_less(e, right, smallest))
			smallest = right;
		if (smallest == i)
			return;
		heap_swap(e, i, smallest);
		i = smallest;
	}
}

static void heap_push(struct sqs_engine *e, uint32_t message)
{
	assert(e->heap_count < e->options.message_slots);
	e->heap[e->heap_count] = message;
	e->messages[message].heap_index = e->heap_count;
	e->heap_count++;
	heap_sift_up(e, e->heap_count - 1);
}

static void heap_remove(struct sqs_engine *e, uint32_t message)
{
	uint32_t i = e->messages[message].heap_index;
	assert(i < e->heap_count && e->heap[i] == message);
	e->heap_count--;
	if (i != e->heap_count) {
		heap_swap(e, i, e->heap_count);
		heap_sift_down(e, i);
		heap_sift_up(e, i);
	}
	e->messages[message].heap_index = NIL;
}

static void heap_update(struct sqs_engine *e, uint32_t message)
{
	uint32_t i = e->messages[message].heap_index;
	heap_sift_down(e, i);
	heap_sift_up(e, i);
}

/* ---- ready lists ---- */

static enum ready_class class_of(const struct sqs_engine *e, uint32_t body_bytes)
{
	return body_bytes >= e->options.large_body_bytes_min ? READY_LARGE : READY_SMALL;
}

static uint32_t ready_total(const struct sqs_queue *q)
{
	return q->ready_count[READY_SMALL] + q->ready_count[READY_LARGE];
}

static void ready_append(struct sqs_engine *e, uint32_t index)
{
	struct sqs_message *m = &e->messages[index];
	struct sqs_queue *q = &e->queues[m->queue_slot];
	enum ready_class c = class_of(e, m->body_bytes);
	m->state = MSG_READY;
	m->ready_seq = e->ready_seq_next++;
	m->next = NIL;
	m->prev = q->ready_tail[c];
	if (q->ready_tail[c] != NIL)
		e->messages[q->ready_tail[c]].next = index;
	else
		q->ready_head[c] = index;
	q->ready_tail[c] = index;
	q->ready_count[c]++;
}

static void ready_unlink(struct sqs_engine *e, uint32_t index)
{
	struct sqs_message *m = &e->messages[index];
	struct sqs_queue *q = &e->queues[m->queue_slot];
	enum ready_class c = class_of(e, m->body_bytes);
	assert(m->state == MSG_READY && q->ready_count[c] > 0);
	if (m->prev != NIL)
		e->messages[m->prev].next = m->next;
	else
		q->ready_head[c] = m->next;
	if (m->next != NIL)
		e->messages[m->next].prev = m->prev;
	else
		q->ready_tail[c] = m->prev;
	q->ready_count[c]--;
}

/*
 * The message a receive of bodies up to body_bytes_max takes next: the older head of the
 * two lists (the large list only when such bodies may be taken); NIL when there is none or
 * it does not fit.
 */
static uint32_t ready_next(const struct sqs_engine *e, const struct sqs_queue *q,
                           uint32_t body_bytes_max)
{
	uint32_t pick = q->ready_head[READY_SMALL];
	uint32_t large = q->ready_head[READY_LARGE];
	bool large_allowed = body_bytes_max >= e->options.large_body_bytes_min;
	if (large_allowed && large != NIL &&
	    (pick == NIL || e->messages[large].ready_seq < e->messages[pick].ready_seq))
		pick = large;
	if (pick == NIL || e->messages[pick].body_bytes > body_bytes_max)
		return NIL;
	return pick;
}

static bool takes_large(const struct sqs_engine *e, const struct sqs_receive_options *receive)
{
	return receive->body_bytes_max >= e->options.large_body_bytes_min;
}

/* Of `ready` visible messages per class, those of the classes a receive takes. */
static uint32_t ready_for(const struct sqs_engine *e, const uint32_t ready[READY_CLASSES],
                          const struct sqs_receive_options *receive)
{
	return ready[READY_SMALL] + (takes_large(e, receive) ? ready[READY_LARGE] : 0);
}

/* ---- the log ---- */

static bool queue_logged(const struct sqs_engine *e, uint32_t slot)
{
	return e->queues[slot].config.durable && e->options.log.append != NULL;
}

static int log_append(struct sqs_engine *e, const struct sqs_record *record,
                      struct sqs_logged *logged, uint64_t *position_out)
{
	assert(e->options.log.append != NULL);
	int rc = e->options.log.append(e->options.log.ctx, record, &logged->sequence, position_out);
	logged->error = rc;
	if (rc != 0)
		logged->sequence = 0;
	assert(rc <= 0);
	return rc;
}

static void log_release(struct sqs_engine *e, uint64_t *position)
{
	if (*position == NO_POSITION)
		return;
	e->options.log.release(e->options.log.ctx, *position);
	*position = NO_POSITION;
}

static void log_list_unlink(struct sqs_engine *e, uint32_t index)
{
	struct sqs_message *m = &e->messages[index];
	if (m->log_prev != NIL)
		e->messages[m->log_prev].log_next = m->log_next;
	else
		e->log_head = m->log_next;
	if (m->log_next != NIL)
		e->messages[m->log_next].log_prev = m->log_prev;
	else
		e->log_tail = m->log_prev;
}

/* Gives a message its SEND record's position, the newest: it goes to the list's tail. */
static void log_list_append(struct sqs_engine *e, uint32_t index, uint64_t position)
{
	struct sqs_message *m = &e->messages[index];
	assert(m->send_position == NO_POSITION && position != NO_POSITION);
	assert(e->log_tail == NIL || e->messages[e->log_tail].send_position < position);
	m->send_position = position;
	m->log_next = NIL;
	m->log_prev = e->log_tail;
	if (e->log_tail != NIL)
		e->messages[e->log_tail].log_next = index;
	else
		e->log_head = index;
	e->log_tail = index;
}

/* Releases every record of a message that leaves the engine or is written again. */
static void log_forget(struct sqs_engine *e, uint32_t index)
{
	struct sqs_message *m = &e->messages[index];
	if (m->send_position != NO_POSITION) {
		log_list_unlink(e, index);
		log_release(e, &m->send_position);
	}
	log_release(e, &m->state_position);
}

/* The record that states a message as it is now (a SEND, with its body, when full). */
static void record_of(const struct sqs_engine *e, uint32_t index, enum sqs_record_kind kind,
                      struct sqs_record *out)
{
	const struct sqs_message *m = &e->messages[index];
	*out = (struct sqs_record){
	    .kind = kind,
	    .queue_id = e->queues[m->queue_slot].config.queue_id,
	    .sent_ms = m->sent_ms,
	    .first_receive_ms = m->first_receive_ms,
	    .deadline_ms = m->state == MSG_INFLIGHT ? m->deadline_ms : 0,
	    .receive_count = m->receive_count,
	};
	memcpy(out->message_id, m->id, sizeof(m->id));
	if (kind == SQS_RECORD_SEND)
		memcpy(out->md5, m->md5, sizeof(m->md5));
}

/* ---- message slots ---- */

static uint32_t store_units_of(const struct sqs_engine *e, uint32_t body_bytes)
{
	uint32_t unit = e->options.store_unit_bytes;
	return body_bytes <= unit ? 1 : body_bytes / unit + (body_bytes % unit != 0);
}

static uint32_t message_alloc(struct sqs_engine *e)
{
	uint32_t index = e->free_head;
	if (index == NIL)
		return NIL;
	e->free_head = e->messages[index].next;
	e->free_count--;
	return index;
}

static void message_unalloc(struct sqs_engine *e, uint32_t index)
{
	e->messages[index].next = e->free_head;
	e->free_head = index;
	e->free_count++;
}

/* Releases the body and the slot of a message already out of its list or the heap. */
static void message_release(struct sqs_engine *e, uint32_t index)
{
	struct sqs_message *m = &e->messages[index];
	struct sqs_queue *q = &e->queues[m->queue_slot];
	uint32_t units = store_units_of(e, m->body_bytes);
	assert(q->message_count > 0 && q->store_units >= units);
	q->message_count--;
	q->store_units -= units;
	e->options.store.release(e->options.store.ctx, m->body_ref);
	log_forget(e, index);
	m->state = MSG_FREE;
	m->generation++;
	message_unalloc(e, index);
}

static void message_free(struct sqs_engine *e, uint32_t index)
{
	struct sqs_message *m = &e->messages[index];
	if (m->state == MSG_READY) {
		ready_unlink(e, index);
	} else if (m->state == MSG_INFLIGHT) {
		heap_remove(e, index);
		e->queues[m->queue_slot].inflight_count--;
	}
	message_release(e, index);
}

static void queue_reset(struct sqs_queue *q, const struct sqs_queue_config *config, bool open)
{
	*q = (struct sqs_queue){
	    .config = *config,
	    .open = open,
	    .ready_head = {NIL, NIL},
	    .ready_tail = {NIL, NIL},
	    .waiter_head = NIL,
	    .waiter_tail = NIL,
	};
}

/* ---- parked receives per source ---- */

/* The sources table's size: a power of 2 at least twice waiter_slots, so it is never full. */
static uint32_t source_slots_for(uint32_t waiter_slots)
{
	assert(waiter_slots <= (1u << 30));
	uint32_t slots = 2;
	while (slots < 2 * waiter_slots) /* at most 31 doublings */
		slots *= 2;
	return slots;
}

static uint32_t source_home(const struct sqs_engine *e, uint64_t source)
{
	/* Fibonacci hashing: sources are addresses, often consecutive. */
	return (uint32_t)((source * 0x9e3779b97f4a7c15ull) >> 32) & e->source_mask;
}

/*
 * The entry of `source`, or the free entry where it would go. At most waiter_slots entries
 * are in use, under half the table: the walk meets a free entry within the table's size.
 */
static uint32_t source_find(const struct sqs_engine *e, uint64_t source)
{
	uint32_t i = source_home(e, source);
	for (uint32_t probes = 0; probes <= e->source_mask; probes++) {
		const struct sqs_source *entry = &e->sources[i];
		if (entry->parked == 0 || entry->source == source)
			return i;
		i = (i + 1) & e->source_mask;
	}
	assert(!"the sources table is never full");
	abort();
}

/* Frees entry i, moving later entries of its probe run back so every one stays findable. */
static void source_remove(struct sqs_engine *e, uint32_t i)
{
	uint32_t hole = i;
	uint32_t j = (i + 1) & e->source_mask;
	for (uint32_t probes = 0; probes < e->source_mask && e->sources[j].parked != 0; probes++) {
		uint32_t home = source_home(e, e->sources[j].source);
		/* j may fill the hole when the hole lies on its way from home to j. */
		if (((j - home) & e->source_mask) >= ((j - hole) & e->source_mask)) {
			e->sources[hole] = e->sources[j];
			hole = j;
		}
		j = (j + 1) & e->source_mask;
	}
	e->sources[hole].parked = 0;
}

/* Gives a parked receive's place back: to the free list, and to its source's count. */
static void waiter_release(struct sqs_engine *e, uint32_t index)
{
	struct sqs_waiter *w = &e->waiters[index];
	uint32_t i = source_find(e, w->source);
	assert(e->sources[i].parked > 0 && e->waiter_count > 0);
	if (--e->sources[i].parked == 0)
		source_remove(e, i);
	w->next = e->waiter_free_head;
	e->waiter_free_head = index;
	e->waiter_count--;
}

struct sqs_engine *sqs_engine_create(const struct sqs_engine_options *options, int *error_out)
{
	assert(options->store_unit_bytes > 0 && options->queue_messages_max > 0);
	assert(options->queue_store_units_max > 0);
	assert(options->waiter_slots_per_source <= options->waiter_slots);
	struct sqs_engine *e = calloc(1, sizeof(*e));
	if (e == NULL) {
		*error_out = -ENOMEM;
		return NULL;
	}
	e->options = *options;
	e->queues = calloc(options->queue_slots, sizeof(*e->queues));
	e->messages = calloc(options->message_slots, sizeof(*e->messages));
	e->heap = calloc(options->message_slots, sizeof(*e->heap));
	e->waiters = calloc(options->waiter_slots, sizeof(*e->waiters));
	e->source_mask = source_slots_for(options->waiter_slots) - 1;
	e->sources = calloc(e->source_mask + 1, sizeof(*e->sources));
	if (options->log.append != NULL)
		e->relog_body = malloc(BB_MESSAGE_BODY_BYTES_MAX);
	e->md5_ctx = EVP_MD_CTX_new();
	e->md5 = EVP_MD_fetch(NULL, "MD5", NULL);
	bool relog_ready = options->log.append == NULL || e->relog_body != NULL;
	if (!e->queues || !e->messages || !e->heap || !e->waiters || !e->sources || !e->md5_ctx ||
	    !e->md5 || !relog_ready) {
		sqs_engine_destroy(e);
		*error_out = -ENOMEM;
		return NULL;
	}
	for (uint32_t i = 0; i < options->message_slots; i++) {
		e->messages[i].next = i + 1 < options->message_slots ? i + 1 : NIL;
		e->messages[i].heap_index = NIL;
		e->messages[i].send_position = NO_POSITION;
		e->messages[i].state_position = NO_POSITION;
	}
	e->log_head = NIL;
	e->log_tail = NIL;
	e->free_count = options->message_slots;
	for (uint32_t i = 0; i < options->queue_slots; i++)
		queue_reset(&e->queues[i], &(struct sqs_queue_config){0}, false);
	for (uint32_t i = 0; i < options->waiter_slots; i++)
		e->waiters[i].next = i + 1 < options->waiter_slots ? i + 1 : NIL;
	e->waiter_free_head = options->waiter_slots > 0 ? 0 : NIL;
	e->waiter_deadline_min_ms = UINT64_MAX;
	e->waiters_per_source_max = options->waiter_slots_per_source == 0
	                                ? options->waiter_slots
	                                : options->waiter_slots_per_source;
	e->random_used = RANDOM_BATCH_BYTES; /* the first id draws a batch */
	*error_out = 0;
	return e;
}

void sqs_engine_destroy(struct sqs_engine *e)
{
	if (e == NULL)
		return;
	EVP_MD_free(e->md5);
	EVP_MD_CTX_free(e->md5_ctx);
	free(e->relog_body);
	free(e->sources);
	free(e->waiters);
	free(e->heap);
	free(e->messages);
	free(e->queues);
	free(e);
}

/* Unlinks every parked receive of a slot into out (sized for waiter_slots). */
static uint32_t drain_waiters(struct sqs_engine *e, uint32_t slot, struct sqs_wake *out)
{
	struct sqs_queue *q = &e->queues[slot];
	uint32_t taken = 0;
	while (q->waiter_head != NIL) {
		uint32_t index = q->waiter_head;
		struct sqs_waiter *w = &e->waiters[index];
		out[taken++] = (struct sqs_wake){
		    .token = w->token,
		    .queue_slot = slot,
		    .receive = w->receive,
		    .queue_closed = true,
		};
		q->waiter_head = w->next;
		waiter_release(e, index);
	}
	q->waiter_tail = NIL;
	return taken;
}

uint32_t sqs_queue_open(struct sqs_engine *e, uint32_t slot, const struct sqs_queue_config *config,
                        struct sqs_wake *closed_out)
{
	assert(slot < e->options.queue_slots);
	struct sqs_queue *q = &e->queues[slot];
	if (q->open && q->config.queue_id == config->queue_id) {
		q->config = *config;
		return 0;
	}
	uint32_t closed = sqs_queue_close(e, slot, closed_out);
	queue_reset(q, config, true);
	return closed;
}

/*
 * Frees every in-flight message of a slot. The heap is compacted without them and rebuilt
 * bottom-up: removing them one at a time moves other entries, even above the position a
 * walk has reached, so such a walk can miss one (issue 11).
 */
static void heap_drop_queue(struct sqs_engine *e, uint32_t slot)
{
	struct sqs_queue *q = &e->queues[slot];
	uint32_t kept = 0;
	for (uint32_t i = 0; i < e->heap_count; i++) {
		uint32_t index = e->heap[i];
		struct sqs_message *m = &e->messages[index];
		if (m->queue_slot != slot) {
			e->heap[kept] = index;
			m->heap_index = kept++;
			continue;
		}
		m->heap_index = NIL;
		q->inflight_count--;
		message_release(e, index);
	}
	e->heap_count = kept;
	for (uint32_t i = kept / 2; i-- > 0;)
		heap_sift_down(e, i);
	assert(q->inflight_count == 0);
}

uint32_t sqs_queue_close(struct sqs_engine *e, uint32_t slot, struct sqs_wake *closed_out)
{
	struct sqs_queue *q = &e->queues[slot];
	if (!q->open)
		return 0;
	/* Bounded: each pass frees one message of this queue. */
	for (uint32_t c = 0; c < READY_CLASSES; c++) {
		while (q->ready_head[c] != NIL)
			message_free(e, q->ready_head[c]);
	}
	if (q->inflight_count > 0)
		heap_drop_queue(e, slot);
	assert(ready_total(q) == 0 && q->message_count == 0 && q->store_units == 0);
	q->open = false;
	return drain_waiters(e, slot, closed_out);
}

bool sqs_queue_holds(const struct sqs_engine *e, uint32_t slot, uint64_t queue_id)
{
	return slot < e->options.queue_slots && e->queues[slot].open &&
	       e->queues[slot].config.queue_id == queue_id;
}

static void md5_of(struct sqs_engine *e, const uint8_t *body, uint32_t bytes, uint8_t out[16])
{
	unsigned int length = 0;
	int ok = EVP_DigestInit_ex2(e->md5_ctx, e->md5, NULL);
	ok = ok && EVP_DigestUpdate(e->md5_ctx, body, bytes);
	ok = ok && EVP_DigestFinal_ex(e->md5_ctx, out, &length);
	assert(ok && length == 16);
	(void)ok;
}

bool sqs_queue_has_room(const struct sqs_engine *e, uint32_t slot, uint32_t body_bytes)
{
	const struct sqs_queue *q = &e->queues[slot];
	assert(q->open);
	return q->message_count < e->options.queue_messages_max &&
	       store_units_of(e, body_bytes) <= e->options.queue_store_units_max - q->store_units;
}

/* Writes a message's SEND record; false when the log refused it. */
static bool log_send(struct sqs_engine *e, uint32_t index, const uint8_t *body,
                     struct sqs_logged *logged)
{
	struct sqs_message *m = &e->messages[index];
	struct sqs_record record;
	record_of(e, index, SQS_RECORD_SEND, &record);
	record.body = body;
	record.body_bytes = m->body_bytes;
	uint64_t position;
	if (log_append(e, &record, logged, &position) != 0)
		return false;
	log_list_append(e, index, position);
	return true;
}

enum wire_status sqs_send(struct sqs_engine *e, uint32_t slot, const uint8_t *body,
                          uint32_t body_bytes, uint64_t now_ms, struct sqs_sent *out)
{
	struct sqs_queue *q = &e->queues[slot];
	assert(q->open);
	if (body_bytes == 0)
		return WIRE_ERR_MISSING_PARAMETER;
	if (body_bytes > q->config.maximum_message_bytes)
		return WIRE_ERR_MESSAGE_TOO_LONG;
	if (!bb_utf8_is_sqs_text(body, body_bytes))
		return WIRE_ERR_INVALID_MESSAGE_CONTENTS;
	if (!sqs_queue_has_room(e, slot, body_bytes))
		return WIRE_ERR_OVER_LIMIT;
	uint32_t index = message_alloc(e);
	if (index == NIL)
		return WIRE_ERR_OVER_LIMIT;
	struct sqs_message *m = &e->messages[index];
	if (e->options.store.put(e->options.store.ctx, body, body_bytes, &m->body_ref) != 0) {
		message_unalloc(e, index);
		return WIRE_ERR_OVER_LIMIT;
	}
	q->message_count++;
	q->store_units += store_units_of(e, body_bytes);
	uint64_t r0 = random_u64(e), r1 = random_u64(e);
	bb_put_le64(m->id, r0);
	bb_put_le64(m->id + 8, r1);
	m->id[6] = (uint8_t)((m->id[6] & 0x0f) | 0x40); /* UUID version 4 */
	m->id[8] = (uint8_t)((m->id[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	md5_of(e, body, body_bytes, m->md5);
	m->body_bytes = body_bytes;
	m->queue_slot = slot;
	m->sent_ms = now_ms;
	m->first_receive_ms = 0;
	m->receive_count = 0;
	m->state = MSG_READY; /* record_of states it visible */
	out->logged = (struct sqs_logged){0, 0};
	if (queue_logged(e, slot) && !log_send(e, index, body, &out->logged)) {
		message_release(e, index);
		return WIRE_ERR_SERVICE_UNAVAILABLE;
	}
	ready_append(e, index);
	if (q->waiter_head != NIL)
		e->waiter_deadline_min_ms = 0; /* wake a parked receive on the next take */
	format_message_id(m->id, out->message_id);
	hex_encode(m->md5, 16, out->md5_of_body);
	return WIRE_OK;
}

/* Receipt handle: queue id, message index, generation, receive count, nonce. */
enum { HANDLE_RAW_BYTES = 28 };
_Static_assert(2 * HANDLE_RAW_BYTES == BB_RECEIPT_HANDLE_BYTES, "handle is hex of its bytes");

static void format_handle(const struct sqs_engine *e, uint32_t index, char *out)
{
	const struct sqs_message *m = &e->messages[index];
	uint8_t raw[HANDLE_RAW_BYTES];
	bb_put_le64(raw, e->queues[m->queue_slot].config.queue_id);
	bb_put_le32(raw + 8, index);
	bb_put_le32(raw + 12, m->generation);
	bb_put_le32(raw + 16, m->receive_count);
	bb_put_le64(raw + 20, m->receipt_nonce);
	hex_encode(raw, sizeof(raw), out);
}

static void mark_received(struct sqs_engine *e, uint32_t index, uint64_t deadline_ms,
                          uint64_t now_ms)
{
	struct sqs_message *m = &e->messages[index];
	ready_unlink(e, index);
	m->state = MSG_INFLIGHT;
	m->receive_count++;
	m->receipt_nonce = random_u64(e);
	m->received_ms = now_ms;
	if (m->first_receive_ms == 0)
		m->first_receive_ms = now_ms;
	m->deadline_ms = deadline_ms;
	heap_push(e, index);
	e->queues[m->queue_slot].inflight_count++;
}

/*
 * Writes a receive's RECEIVE record, superseding the last one. The answer does not wait for
 * it, and a refusal loses nothing a promise covers: recovery then knows an older count, and
 * the message is visible sooner (at least once).
 */
static void log_receive(struct sqs_engine *e, uint32_t index)
{
	struct sqs_message *m = &e->messages[index];
	struct sqs_record record;
	record_of(e, index, SQS_RECORD_RECEIVE, &record);
	struct sqs_logged logged;
	uint64_t position;
	if (log_append(e, &record, &logged, &position) != 0)
		return;
	log_release(e, &m->state_position);
	m->state_position = position;
}

uint32_t sqs_receive(struct sqs_engine *e, uint32_t slot,
                     const struct sqs_receive_options *options, uint64_t now_ms,
                     struct sqs_received *out)
{
	struct sqs_queue *q = &e->queues[slot];
	assert(q->open && options->max_messages <= BB_RECEIVE_COUNT_MAX);
	uint64_t timeout_s = options->visibility_timeout_s < 0
	                         ? q->config.visibility_timeout_s
	                         : (uint64_t)options->visibility_timeout_s;
	uint32_t count = 0;
	while (count < options->max_messages) {
		uint32_t index = ready_next(e, q, options->body_bytes_max);
		if (index == NIL)
			break;
		mark_received(e, index, now_ms + timeout_s * MS_PER_S, now_ms);
		if (queue_logged(e, slot))
			log_receive(e, index);
		const struct sqs_message *m = &e->messages[index];
		struct sqs_received *r = &out[count++];
		format_message_id(m->id, r->message_id);
		format_handle(e, index, r->receipt_handle);
		hex_encode(m->md5, 16, r->md5_of_body);
		r->body_ref = m->body_ref;
		r->body_bytes = m->body_bytes;
		r->receive_count = m->receive_count;
		r->sent_ms = m->sent_ms;
		r->first_receive_ms = m->first_receive_ms;
	}
	/* What this receive left may be for a parked one that can take what it could not. */
	if (ready_total(q) > 0 && q->waiter_head != NIL)
		e->waiter_deadline_min_ms = 0;
	return count;
}

bool sqs_can_receive(const struct sqs_engine *e, uint32_t slot, uint32_t body_bytes_max)
{
	assert(e->queues[slot].open);
	return ready_next(e, &e->queues[slot], body_bytes_max) != NIL;
}

enum handle_match { HANDLE_INVALID, HANDLE_GONE, HANDLE_STALE, HANDLE_CURRENT };

static enum handle_match match_handle(const struct sqs_engine *e, uint32_t slot, const char *handle,
                                      size_t handle_bytes, uint32_t *index_out)
{
	uint8_t raw[HANDLE_RAW_BYTES];
	if (handle_bytes != BB_RECEIPT_HANDLE_BYTES || !hex_decode(handle, sizeof(raw), raw))
		return HANDLE_INVALID;
	if (bb_get_le64(raw) != e->queues[slot].config.queue_id)
		return HANDLE_INVALID;
	uint32_t index = bb_get_le32(raw + 8);
	if (index >= e->options.message_slots)
		return HANDLE_INVALID;
	const struct sqs_message *m = &e->messages[index];
	*index_out = index;
	if (m->state == MSG_FREE || m->generation != bb_get_le32(raw + 12))
		return HANDLE_GONE;
	if (m->queue_slot != slot)
		return HANDLE_INVALID;
	if (m->receive_count != bb_get_le32(raw + 16) || m->receipt_nonce != bb_get_le64(raw + 20))
		return HANDLE_STALE;
	return HANDLE_CURRENT;
}

/*
 * Writes a DELETE record. It is released at once: the log removes segments oldest first,
 * so it outlives the SEND record it cancels, and after that nothing needs it.
 */
static bool log_delete(struct sqs_engine *e, uint32_t index, struct sqs_logged *logged)
{
	struct sqs_record record;
	record_of(e, index, SQS_RECORD_DELETE, &record);
	uint64_t position;
	if (log_append(e, &record, logged, &position) != 0)
		return false;
	log_release(e, &position);
	return true;
}

enum wire_status sqs_delete(struct sqs_engine *e, uint32_t slot, const char *handle,
                            size_t handle_bytes, struct sqs_logged *logged_out)
{
	uint32_t index = NIL;
	*logged_out = (struct sqs_logged){0, 0};
	switch (match_handle(e, slot, handle, handle_bytes, &index)) {
	case HANDLE_INVALID: return WIRE_ERR_RECEIPT_HANDLE_INVALID;
	case HANDLE_GONE:
	case HANDLE_STALE:
		/* As SQS: the call succeeds; a message received again since stays. */
		return WIRE_OK;
	case HANDLE_CURRENT:
		if (queue_logged(e, slot) && !log_delete(e, index, logged_out))
			return WIRE_ERR_SERVICE_UNAVAILABLE;
		message_free(e, index);
		return WIRE_OK;
	}
	return WIRE_ERR_INTERNAL;
}

enum wire_status sqs_change_visibility(struct sqs_engine *e, uint32_t slot, const char *handle,
                                       size_t handle_bytes, uint32_t timeout_s, uint64_t now_ms)
{
	uint32_t index = NIL;
	enum handle_match match = match_handle(e, slot, handle, handle_bytes, &index);
	if (match == HANDLE_INVALID)
		return WIRE_ERR_RECEIPT_HANDLE_INVALID;
	if (match != HANDLE_CURRENT || e->messages[index].state != MSG_INFLIGHT)
		return WIRE_ERR_MESSAGE_NOT_INFLIGHT;
	struct sqs_message *m = &e->messages[index];
	uint64_t deadline_ms = now_ms + (uint64_t)timeout_s * MS_PER_S;
	/* SQS caps the total time since the receive at 12 hours; more is an error. */
	if (deadline_ms - m->received_ms > (uint64_t)BB_VISIBILITY_TIMEOUT_S_MAX * MS_PER_S)
		return WIRE_ERR_INVALID_PARAMETER;
	m->deadline_ms = deadline_ms;
	heap_update(e, index);
	return WIRE_OK;
}

uint32_t sqs_expire(struct sqs_engine *e, uint64_t now_ms)
{
	uint32_t moved = 0;
	while (e->heap_count > 0 && e->messages[e->heap[0]].deadline_ms <= now_ms) {
		uint32_t index = e->heap[0];
		heap_remove(e, index);
		e->queues[e->messages[index].queue_slot].inflight_count--;
		ready_append(e, index);
		moved++;
	}
	if (moved > 0)
		e->waiter_deadline_min_ms = 0; /* some parked receive may now be answerable */
	return moved;
}

int sqs_park(struct sqs_engine *e, uint32_t slot, void *token, uint64_t source,
             const struct sqs_receive_options *options, uint64_t deadline_ms)
{
	assert(e->queues[slot].open && options->max_messages <= BB_RECEIVE_COUNT_MAX);
	uint32_t index = e->waiter_free_head;
	if (index == NIL)
		return -ENOSPC;
	uint32_t counted = source_find(e, source);
	if (e->sources[counted].parked == e->waiters_per_source_max)
		return -EDQUOT;
	e->sources[counted] = (struct sqs_source){source, e->sources[counted].parked + 1};
	struct sqs_waiter *w = &e->waiters[index];
	e->waiter_free_head = w->next;
	*w = (struct sqs_waiter){
	    .token = token,
	    .source = source,
	    .deadline_ms = deadline_ms,
	    .receive = *options,
	    .queue_slot = slot,
	    .next = NIL,
	};
	struct sqs_queue *q = &e->queues[slot];
	if (q->waiter_tail != NIL)
		e->waiters[q->waiter_tail].next = index;
	else
		q->waiter_head = index;
	q->waiter_tail = index;
	e->waiter_count++;
	if (deadline_ms < e->waiter_deadline_min_ms)
		e->waiter_deadline_min_ms = deadline_ms;
	if (ready_for(e, q->ready_count, options) > 0)
		e->waiter_deadline_min_ms = 0; /* answerable already: the next take answers it */
	return 0;
}

/*
 * Whether a parked receive is due, and if so promises it up to max_messages of the visible
 * messages not promised to an earlier one (left, per ready class). Small ones are promised
 * first: a receive that takes a large one instead leaves a small one, and its sqs_receive
 * then makes the next take look again (no receive is woken to find nothing).
 */
static bool waiter_due(const struct sqs_engine *e, const struct sqs_waiter *w, uint64_t now_ms,
                       uint32_t left[READY_CLASSES])
{
	if (ready_for(e, left, &w->receive) == 0 && w->deadline_ms > now_ms)
		return false;
	uint32_t want = w->receive.max_messages;
	uint32_t small = left[READY_SMALL] < want ? left[READY_SMALL] : want;
	left[READY_SMALL] -= small;
	want -= small;
	if (takes_large(e, &w->receive))
		left[READY_LARGE] -= left[READY_LARGE] < want ? left[READY_LARGE] : want;
	return true;
}

/* Walks one queue's parked receives, unlinking those that can be answered now. */
static uint32_t take_from_queue(struct sqs_engine *e, uint32_t slot, uint64_t now_ms,
                                struct sqs_wake *out, uint32_t out_max)
{
	struct sqs_queue *q = &e->queues[slot];
	uint32_t left[READY_CLASSES] = {q->ready_count[READY_SMALL], q->ready_count[READY_LARGE]};
	uint32_t taken = 0;
	uint32_t prev = NIL;
	uint32_t index = q->waiter_head;
	while (index != NIL && taken < out_max) {
		struct sqs_waiter *w = &e->waiters[index];
		uint32_t next = w->next;
		if (!waiter_due(e, w, now_ms, left)) {
			if (w->deadline_ms < e->waiter_deadline_min_ms)
				e->waiter_deadline_min_ms = w->deadline_ms;
			prev = index;
			index = next;
			continue;
		}
		out[taken++] = (struct sqs_wake){
		    .token = w->token,
		    .queue_slot = slot,
		    .receive = w->receive,
		    .queue_closed = false,
		};
		if (prev != NIL)
			e->waiters[prev].next = next;
		else
			q->waiter_head = next;
		if (q->waiter_tail == index)
			q->waiter_tail = prev;
		waiter_release(e, index);
		index = next;
	}
	if (index != NIL && taken == out_max)
		e->waiter_deadline_min_ms = 0; /* out is full: continue next time */
	return taken;
}

uint32_t sqs_take_waiters(struct sqs_engine *e, uint64_t now_ms, struct sqs_wake *out,
                          uint32_t out_max)
{
	if (e->waiter_count == 0 || now_ms < e->waiter_deadline_min_ms)
		return 0;
	e->waiter_deadline_min_ms = UINT64_MAX;
	uint32_t taken = 0;
	for (uint32_t slot = 0; slot < e->options.queue_slots; slot++) {
		if (e->queues[slot].waiter_head == NIL)
			continue;
		taken += take_from_queue(e, slot, now_ms, out + taken, out_max - taken);
	}
	return taken;
}

uint32_t sqs_visible_count(const struct sqs_engine *e, uint32_t slot)
{
	return ready_total(&e->queues[slot]);
}

uint32_t sqs_inflight_count(const struct sqs_engine *e, uint32_t slot)
{
	return e->queues[slot].inflight_count;
}

uint32_t sqs_free_message_slots(const struct sqs_engine *e)
{
	return e->free_count;
}

bool sqs_queue_find(const struct sqs_engine *e, uint64_t queue_id, uint32_t *slot_out)
{
	for (uint32_t slot = 0; slot < e->options.queue_slots; slot++) {
		if (sqs_queue_holds(e, slot, queue_id)) {
			*slot_out = slot;
			return true;
		}
	}
	return false;
}

/* ---- recovery and compaction ---- */

/* Sets a replayed message's receive state and places it: in flight until a deadline still
 * ahead (nobody holds a handle to it any more, so it waits as the timeout would), else
 * visible. */
static void replay_state(struct sqs_engine *e, uint32_t index, const struct sqs_record *r,
                         uint64_t now_ms)
{
	struct sqs_message *m = &e->messages[index];
	struct sqs_queue *q = &e->queues[m->queue_slot];
	if (m->state == MSG_READY) {
		ready_unlink(e, index);
	} else if (m->state == MSG_INFLIGHT) {
		heap_remove(e, index);
		q->inflight_count--;
	}
	m->receive_count = r->receive_count;
	m->first_receive_ms = r->first_receive_ms;
	if (r->deadline_ms <= now_ms) {
		ready_append(e, index);
		return;
	}
	m->state = MSG_INFLIGHT;
	m->deadline_ms = r->deadline_ms;
	m->received_ms = now_ms;
	m->receipt_nonce = random_u64(e);
	heap_push(e, index);
	q->inflight_count++;
}

/* A message first met in the log: takes a slot and its body as a send would. */
static enum wire_status replay_new(struct sqs_engine *e, uint32_t slot, const struct sqs_record *r,
                                   uint64_t position, uint64_t now_ms, uint32_t *index_out)
{
	struct sqs_queue *q = &e->queues[slot];
	if (!sqs_queue_has_room(e, slot, r->body_bytes))
		return WIRE_ERR_OVER_LIMIT;
	uint32_t index = message_alloc(e);
	if (index == NIL)
		return WIRE_ERR_OVER_LIMIT;
	struct sqs_message *m = &e->messages[index];
	if (e->options.store.put(e->options.store.ctx, r->body, r->body_bytes, &m->body_ref) != 0) {
		message_unalloc(e, index);
		return WIRE_ERR_OVER_LIMIT;
	}
	q->message_count++;
	q->store_units += store_units_of(e, r->body_bytes);
	memcpy(m->id, r->message_id, sizeof(m->id));
	memcpy(m->md5, r->md5, sizeof(m->md5));
	m->body_bytes = r->body_bytes;
	m->queue_slot = slot;
	m->sent_ms = r->sent_ms;
	m->state = MSG_FREE; /* placed by replay_state */
	log_list_append(e, index, position);
	replay_state(e, index, r, now_ms);
	*index_out = index;
	return WIRE_OK;
}

enum wire_status sqs_replay_record(struct sqs_engine *e, uint32_t slot,
                                   const struct sqs_record *r, uint64_t position,
                                   uint64_t now_ms, uint32_t *index_io)
{
	assert(sqs_queue_holds(e, slot, r->queue_id) && e->options.log.append != NULL);
	uint32_t index = *index_io;
	assert(index == NIL || e->messages[index].queue_slot == slot);
	if (r->kind == SQS_RECORD_SEND && index == NIL)
		return replay_new(e, slot, r, position, now_ms, index_io);
	if (index == NIL || r->kind == SQS_RECORD_DELETE) {
		/* Not needed again: a delete, or a receive of a message already deleted. */
		log_release(e, &position);
		if (index != NIL)
			message_free(e, index);
		*index_io = NIL;
		return WIRE_OK;
	}
	struct sqs_message *m = &e->messages[index];
	if (r->kind == SQS_RECORD_SEND) {
		log_forget(e, index); /* compaction wrote it again: the older copy goes */
		log_list_append(e, index, position);
	} else {
		log_release(e, &m->state_position);
		m->state_position = position;
	}
	replay_state(e, index, r, now_ms);
	return WIRE_OK;
}

uint32_t sqs_relog_before(struct sqs_engine *e, uint64_t position_end, uint32_t max)
{
	assert(e->options.log.append != NULL && e->relog_body != NULL);
	uint32_t moved = 0;
	while (moved < max && e->log_head != NIL &&
	       e->messages[e->log_head].send_position < position_end) {
		uint32_t index = e->log_head;
		struct sqs_message *m = &e->messages[index];
		e->options.store.read(e->options.store.ctx, m->body_ref, e->relog_body, m->body_bytes);
		struct sqs_record record;
		record_of(e, index, SQS_RECORD_SEND, &record);
		record.body = e->relog_body;
		record.body_bytes = m->body_bytes;
		struct sqs_logged logged;
		uint64_t position;
		if (log_append(e, &record, &logged, &position) != 0)
			break;
		log_forget(e, index);
		log_list_append(e, index, position);
		moved++;
	}
	return moved;
}
