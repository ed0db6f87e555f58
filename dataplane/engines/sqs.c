/*
 * SQS queue engine, standard and FIFO (see sqs.h). Invariants:
 * - a message slot is FREE, READY (linked in one of its queue's two ready
 *   lists: small or large bodies, each in the order messages became visible),
 *   INFLIGHT or DELAYED (in the engine-wide deadline heap: visible again, or for the first
 *   time, at its deadline); never two at once;
 * - every message that is not FREE is in its queue's age list, oldest sent_ms first, which
 *   retention walks from its head; retention_next_ms is at most the earliest time any head
 *   of those lists expires;
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
 *   wrote has been released, so what the log keeps live is exactly what recovery needs;
 *   except that a FIFO message's dedup entry keeps its SEND record after it is deleted,
 *   until the 5-minute window ends, so recovery restores the window too;
 * - a FIFO message is in its group's list (sequence order) while it is not FREE; a group
 *   with READY messages and none in flight is in its queue's available list, and the queue's
 *   avail_count counts those groups' READY messages (by the class of each group's first
 *   body); a group without messages is free; a group's DELAYED messages are a suffix of it
 *   (a send's deadline is at least its group's last, so they become READY in order), and of
 *   the rest either all are READY or a prefix is INFLIGHT, because a receive takes only from
 *   groups with nothing in flight;
 * - a dedup entry sits in the dedup ring in the order it was made; it names its message
 *   while that lives (and the message names it), and holds that message's SEND record's
 *   position after; it ends when its window does (or, if it was made out of order at
 *   recovery, when the ring's head passes it, and it answers no lookup after its window).
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
#include "sqs_attrs.h"

#define NIL      UINT32_MAX
#define NO_POSITION UINT64_MAX
_Static_assert(NIL == SQS_NO_MESSAGE, "the replay map and the engine agree on none");
#define MS_PER_S 1000u
#define RANDOM_BATCH_BYTES 4096u /* random bytes drawn at once: 256 message ids */
#define SHA256_BYTES 32u
#define GOLDEN_64 0x9e3779b97f4a7c15ull
/* A sequence number is at least the send's time in ms times this: one taken after a
 * restart is above every one taken before, even when the log kept none of them. */
#define SEQUENCE_PER_MS_SHIFT 16u

enum msg_state { MSG_FREE, MSG_READY, MSG_INFLIGHT, MSG_DELAYED };
enum ready_class { READY_SMALL, READY_LARGE, READY_CLASSES };

struct sqs_message {
	uint64_t body_ref;
	uint64_t ready_seq; /* order of becoming visible: merges the two ready lists */
	uint64_t sent_ms;
	uint64_t first_receive_ms;
	uint64_t received_ms;
	uint64_t deadline_ms; /* valid while INFLIGHT or DELAYED */
	uint64_t receipt_nonce; /* 64 random bits: a handle cannot be guessed */
	uint64_t send_position; /* of its SEND record; NO_POSITION when not logged */
	uint64_t state_position; /* of its newest RECEIVE record; NO_POSITION when none */
	uint32_t body_bytes;
	uint32_t attributes_bytes; /* its attribute block's, stored in front of its body */
	uint32_t queue_slot;
	uint32_t generation;
	uint32_t receive_count;
	uint32_t heap_index;
	uint32_t prev; /* ready list, or free list through next */
	uint32_t next;
	uint32_t log_prev; /* the log list, while send_position is set */
	uint32_t log_next;
	uint32_t age_prev; /* the queue's age list, while not FREE */
	uint32_t age_next;
	uint64_t sequence_number; /* FIFO */
	uint32_t group;           /* FIFO: its group; NIL otherwise */
	uint32_t group_prev;      /* the group's messages, by sequence number */
	uint32_t group_next;
	uint32_t dedup; /* FIFO: its entry in the dedup ring while its window lasts, else NIL */
	uint8_t id[16];
	uint8_t md5[16];
	uint8_t attributes_md5[16]; /* valid when has_attributes */
	uint8_t state;
	bool has_attributes; /* message attributes in its block (not only a trace header) */
};

struct sqs_waiter {
	void *token;
	uint64_t source; /* its entry in the sources table counts it */
	uint64_t deadline_ms;
	struct sqs_receive_options receive;
	uint32_t queue_slot;
	uint32_t next; /* per-queue FIFO, or free list */
};

/* A FIFO message group of one queue that holds messages. */
struct sqs_group {
	uint64_t hash; /* of its queue slot and id: where the group index looks for it */
	uint32_t queue_slot;
	uint32_t head, tail; /* its messages, by sequence number */
	uint32_t count;
	uint32_t inflight;
	uint32_t delayed;                /* its DELAYED messages: the last of its list */
	uint32_t avail_prev, avail_next; /* the queue's available groups; free list: next */
	uint8_t avail_class;             /* class of head's body while available */
	bool used;
	bool available;
	uint8_t id_bytes;
	char id[BB_FIFO_ID_BYTES_MAX];
};

/* A deduplication id in its window: what a duplicate send answers. */
struct sqs_dedup {
	uint8_t key[SHA256_BYTES]; /* SHA-256 of the id */
	uint64_t hash;
	uint64_t queue_id; /* 0: no entry (ended before the ring's head reached it) */
	uint64_t expires_ms;
	uint64_t sequence_number;
	uint64_t log_sequence; /* of the first send's record: a duplicate's answer waits for it */
	uint64_t position;     /* that record's, once its message is gone; NO_POSITION else */
	uint32_t message;      /* while it lives; NIL after */
	uint8_t message_id[16];
};

/* A ReceiveRequestAttemptId's receive in its window: what a retry gives again. */
struct sqs_attempt {
	uint8_t key[SHA256_BYTES]; /* SHA-256 of the id */
	uint64_t hash;
	uint64_t queue_id; /* 0: ended (the ring's head passes it later) */
	uint64_t began_ms;
	uint64_t position; /* of its ATTEMPT record; NO_POSITION when none */
	uint32_t count;
	struct sqs_record_attempt_message messages[BB_RECEIVE_COUNT_MAX];
};

/* A message a receive took to move to the dead-letter queue, as it was then. */
struct sqs_moving {
	uint32_t index;
	uint32_t generation;
	uint32_t receive_count;
};

/* Open addressing with linear probing over entry indexes (NIL: free), never half full. */
struct slot_index {
	uint32_t *places;
	uint32_t mask;
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
	uint32_t delayed_count;
	uint32_t message_count; /* ready, in flight and delayed: the budget's count */
	uint32_t age_head, age_tail; /* its messages by sent_ms, oldest first */
	bool purged;                 /* purged_ms holds the last PurgeQueue's time */
	uint64_t purged_ms;
	uint32_t store_units;   /* what their bodies take of the store */
	uint32_t waiter_head, waiter_tail;
	uint64_t sequence_last; /* FIFO: the newest sequence number */
	uint32_t avail_head, avail_tail; /* FIFO: groups with messages and none in flight */
	uint32_t avail_count[READY_CLASSES];
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
	uint64_t retention_next_ms; /* no message expires before this */
	uint32_t log_head, log_tail; /* logged messages, oldest SEND record first */
	uint64_t log_live_bytes;     /* what the logged messages keep live (sqs_log_live_bytes) */
	/* A message's block and body joined for the store, or read back from it for
	 * compaction: scratch_bytes, the most one message stores (stored_bytes_max). */
	uint8_t *scratch;
	uint32_t scratch_bytes;
	uint8_t random_bytes[RANDOM_BATCH_BYTES];
	uint32_t random_used; /* bytes of random_bytes handed out */
	EVP_MD_CTX *md5_ctx; /* reused, for SHA-256 too: EVP allocates only in create */
	EVP_MD *md5;
	EVP_MD *sha256;
	uint64_t hash_salt; /* random: ids an attacker picks cannot aim at one place */
	struct sqs_group *groups;
	uint32_t group_free_head;
	uint32_t group_count;
	struct slot_index group_index;
	struct sqs_dedup *dedups; /* a ring of fifo_dedup_slots */
	uint32_t dedup_head;
	uint32_t dedup_used; /* ring places from head on, ended entries included */
	uint32_t dedup_live;
	struct slot_index dedup_index;
	struct sqs_moving *moving; /* a ring of options.move_slots: messages taken to move */
	uint32_t moving_head, moving_count;
	struct sqs_attempt *attempts; /* a ring of options.attempt_slots, oldest first */
	uint32_t attempt_head;
	uint32_t attempt_used; /* ring places from head on, ended entries included */
	struct slot_index attempt_index;
	uint32_t attempt_open; /* the attempt sqs_attempt_begin began, NIL when none */
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

/* The nonce of a message's receive number `count` (sqs_engine_options.handle_nonce). */
static uint64_t nonce_for(struct sqs_engine *e, const struct sqs_message *m, uint32_t count)
{
	if (e->options.handle_nonce == NULL)
		return random_u64(e);
	return e->options.handle_nonce(e->options.handle_nonce_ctx, m->id, count);
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

/* What a message takes in the store and in a receive's reply: its attribute block and body. */
static uint32_t stored_bytes(const struct sqs_message *m)
{
	return m->attributes_bytes + m->body_bytes;
}

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
	enum ready_class c = class_of(e, stored_bytes(m));
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
	enum ready_class c = class_of(e, stored_bytes(m));
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
	if (pick == NIL || stored_bytes(&e->messages[pick]) > body_bytes_max)
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

/* What one logged message keeps live in the log: its SEND record and its last RECEIVE. */
static uint64_t logged_bytes(const struct sqs_message *m)
{
	return (uint64_t)stored_bytes(m) + SQS_LOG_MESSAGE_OVERHEAD_BYTES;
}

static void log_list_unlink(struct sqs_engine *e, uint32_t index)
{
	struct sqs_message *m = &e->messages[index];
	assert(e->log_live_bytes >= logged_bytes(m));
	e->log_live_bytes -= logged_bytes(m);
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
	e->log_live_bytes += logged_bytes(m);
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
	    .deadline_ms = m->state == MSG_INFLIGHT || m->state == MSG_DELAYED ? m->deadline_ms : 0,
	    .receive_count = m->receive_count,
	    .message_index = index,
	    .generation = m->generation,
	    .receipt_nonce = m->receipt_nonce,
	};
	memcpy(out->message_id, m->id, sizeof(m->id));
	if (kind != SQS_RECORD_SEND)
		return;
	memcpy(out->md5, m->md5, sizeof(m->md5));
	if (m->group == NIL)
		return;
	const struct sqs_group *g = &e->groups[m->group];
	out->sequence_number = m->sequence_number;
	out->group_id = g->id;
	out->group_id_bytes = g->id_bytes;
	out->has_dedup_key = m->dedup != NIL;
	if (m->dedup != NIL)
		memcpy(out->dedup_key, e->dedups[m->dedup].key, SHA256_BYTES);
}

/* ---- FIFO: indexes, groups, deduplication ---- */

static int index_init(struct slot_index *x, uint32_t entries)
{
	assert(entries <= (1u << 30));
	uint32_t places = 2;
	while (places < 2 * entries) /* at most 31 doublings */
		places *= 2;
	x->places = malloc(places * sizeof(*x->places));
	if (x->places == NULL)
		return -ENOMEM;
	x->mask = places - 1;
	for (uint32_t i = 0; i < places; i++)
		x->places[i] = NIL;
	return 0;
}

static uint32_t index_home(const struct slot_index *x, uint64_t hash)
{
	return (uint32_t)(hash >> 32) & x->mask;
}

typedef bool (*index_match_fn)(const struct sqs_engine *e, uint32_t entry, const void *key);

/* The place of the entry key matches, or the free place where it would go. */
static uint32_t index_find(const struct sqs_engine *e, const struct slot_index *x, uint64_t hash,
                           index_match_fn match, const void *key)
{
	uint32_t i = index_home(x, hash);
	for (uint32_t probes = 0; probes <= x->mask; probes++) {
		uint32_t entry = x->places[i];
		if (entry == NIL || match(e, entry, key))
			return i;
		i = (i + 1) & x->mask;
	}
	assert(!"an index is never full");
	abort();
}

static bool is_entry(const struct sqs_engine *e, uint32_t entry, const void *key)
{
	(void)e;
	return entry == *(const uint32_t *)key;
}

/*
 * Frees the place of entry (of that hash), moving later entries of its probe run back so
 * every one stays findable; hash_of gives each entry's hash.
 */
static void index_remove(const struct sqs_engine *e, struct slot_index *x, uint64_t hash,
                         uint32_t entry, uint64_t (*hash_of)(const struct sqs_engine *, uint32_t))
{
	uint32_t hole = index_find(e, x, hash, is_entry, &entry);
	assert(x->places[hole] == entry);
	uint32_t j = (hole + 1) & x->mask;
	for (uint32_t probes = 0; probes < x->mask && x->places[j] != NIL; probes++) {
		uint32_t home = index_home(x, hash_of(e, x->places[j]));
		/* j may fill the hole when the hole lies on its way from home to j. */
		if (((j - home) & x->mask) >= ((j - hole) & x->mask)) {
			x->places[hole] = x->places[j];
			hole = j;
		}
		j = (j + 1) & x->mask;
	}
	x->places[hole] = NIL;
}

static void sha256_of(struct sqs_engine *e, const void *first, size_t first_bytes,
                      const void *second, size_t second_bytes, uint8_t out[SHA256_BYTES])
{
	unsigned int length = 0;
	int ok = EVP_DigestInit_ex2(e->md5_ctx, e->sha256, NULL);
	ok = ok && EVP_DigestUpdate(e->md5_ctx, first, first_bytes);
	ok = ok && EVP_DigestUpdate(e->md5_ctx, second, second_bytes);
	ok = ok && EVP_DigestFinal_ex(e->md5_ctx, out, &length);
	assert(ok && length == SHA256_BYTES);
	(void)ok;
}

/* A digest's place in an index, salted: a digest is not secret, the salt is. */
static uint64_t salted_hash(const struct sqs_engine *e, const uint8_t digest[SHA256_BYTES])
{
	return (bb_get_le64(digest) ^ e->hash_salt) * GOLDEN_64;
}

/* MessageGroupId and MessageDeduplicationId: 1-128 of ASCII's printable characters. */
static bool fifo_id_valid(const char *id, uint32_t bytes)
{
	if (bytes == 0 || bytes > BB_FIFO_ID_BYTES_MAX)
		return false;
	for (uint32_t i = 0; i < bytes; i++) {
		if (id[i] < '!' || id[i] > '~')
			return false;
	}
	return true;
}

struct group_key {
	uint32_t slot;
	const char *id;
	uint32_t bytes;
};

static bool group_is(const struct sqs_engine *e, uint32_t entry, const void *key)
{
	const struct group_key *k = key;
	const struct sqs_group *g = &e->groups[entry];
	return g->queue_slot == k->slot && g->id_bytes == k->bytes &&
	       memcmp(g->id, k->id, k->bytes) == 0;
}

static uint64_t group_hash_of(const struct sqs_engine *e, uint32_t entry)
{
	return e->groups[entry].hash;
}

static uint64_t group_hash(struct sqs_engine *e, const struct group_key *k)
{
	uint8_t digest[SHA256_BYTES];
	uint8_t slot[4];
	bb_put_le32(slot, k->slot);
	sha256_of(e, slot, sizeof(slot), k->id, k->bytes, digest);
	return salted_hash(e, digest);
}

/* The group of (slot, id), made when there is none; NIL when every group place is taken. */
static uint32_t group_get(struct sqs_engine *e, uint32_t slot, const char *id, uint32_t bytes)
{
	assert(fifo_id_valid(id, bytes));
	struct group_key key = {slot, id, bytes};
	uint64_t hash = group_hash(e, &key);
	uint32_t place = index_find(e, &e->group_index, hash, group_is, &key);
	if (e->group_index.places[place] != NIL)
		return e->group_index.places[place];
	uint32_t index = e->group_free_head;
	if (index == NIL)
		return NIL;
	struct sqs_group *g = &e->groups[index];
	e->group_free_head = g->avail_next;
	*g = (struct sqs_group){
	    .hash = hash,
	    .queue_slot = slot,
	    .head = NIL,
	    .tail = NIL,
	    .avail_prev = NIL,
	    .avail_next = NIL,
	    .used = true,
	    .id_bytes = (uint8_t)bytes,
	};
	memcpy(g->id, id, bytes);
	e->group_index.places[place] = index;
	e->group_count++;
	return index;
}

/* Takes a group out of its queue's available list (a change to it follows). */
static void group_unavail(struct sqs_engine *e, uint32_t index)
{
	struct sqs_group *g = &e->groups[index];
	if (!g->available)
		return;
	struct sqs_queue *q = &e->queues[g->queue_slot];
	if (g->avail_prev != NIL)
		e->groups[g->avail_prev].avail_next = g->avail_next;
	else
		q->avail_head = g->avail_next;
	if (g->avail_next != NIL)
		e->groups[g->avail_next].avail_prev = g->avail_prev;
	else
		q->avail_tail = g->avail_prev;
	assert(q->avail_count[g->avail_class] >= g->count - g->delayed);
	q->avail_count[g->avail_class] -= g->count - g->delayed;
	g->available = false;
}

/*
 * After a change to a group: an empty one is freed, one with nothing in flight and a READY
 * message is made available again (at the list's tail: SQS promises no order between groups).
 */
static void group_settle(struct sqs_engine *e, uint32_t index)
{
	struct sqs_group *g = &e->groups[index];
	assert(g->used && !g->available);
	struct sqs_queue *q = &e->queues[g->queue_slot];
	if (g->count == 0) {
		index_remove(e, &e->group_index, g->hash, index, group_hash_of);
		g->used = false;
		g->avail_next = e->group_free_head;
		e->group_free_head = index;
		e->group_count--;
		return;
	}
	if (g->inflight > 0 || g->delayed == g->count)
		return;
	g->available = true;
	g->avail_class = (uint8_t)class_of(e, stored_bytes(&e->messages[g->head]));
	g->avail_next = NIL;
	g->avail_prev = q->avail_tail;
	if (q->avail_tail != NIL)
		e->groups[q->avail_tail].avail_next = index;
	else
		q->avail_head = index;
	q->avail_tail = index;
	q->avail_count[g->avail_class] += g->count - g->delayed;
	if (q->waiter_head != NIL)
		e->waiter_deadline_min_ms = 0; /* a parked receive may take from it */
}

/* Puts a message into its group by sequence number: at the tail but at recovery. */
static void group_link(struct sqs_engine *e, uint32_t group, uint32_t index)
{
	struct sqs_group *g = &e->groups[group];
	struct sqs_message *m = &e->messages[index];
	group_unavail(e, group);
	uint32_t after = g->tail;
	/* Bounded by the group's count; compaction's rewrites are what come out of order. */
	while (after != NIL && e->messages[after].sequence_number > m->sequence_number)
		after = e->messages[after].group_prev;
	m->group = group;
	m->group_prev = after;
	m->group_next = after == NIL ? g->head : e->messages[after].group_next;
	if (after == NIL)
		g->head = index;
	else
		e->messages[after].group_next = index;
	if (m->group_next == NIL)
		g->tail = index;
	else
		e->messages[m->group_next].group_prev = index;
	g->count++;
	g->inflight += m->state == MSG_INFLIGHT;
	g->delayed += m->state == MSG_DELAYED;
	group_settle(e, group);
}

/* Takes a message out of its group (it leaves the engine). */
static void group_unlink(struct sqs_engine *e, uint32_t index)
{
	struct sqs_message *m = &e->messages[index];
	uint32_t group = m->group;
	struct sqs_group *g = &e->groups[group];
	group_unavail(e, group);
	if (m->group_prev != NIL)
		e->messages[m->group_prev].group_next = m->group_next;
	else
		g->head = m->group_next;
	if (m->group_next != NIL)
		e->messages[m->group_next].group_prev = m->group_prev;
	else
		g->tail = m->group_prev;
	assert(g->count > 0);
	g->count--;
	g->inflight -= m->state == MSG_INFLIGHT;
	g->delayed -= m->state == MSG_DELAYED;
	m->group = NIL;
	group_settle(e, group);
}

/* A message of a group goes in flight (receive) or out of it (visibility ended). */
static void group_inflight(struct sqs_engine *e, uint32_t index, bool inflight)
{
	struct sqs_message *m = &e->messages[index];
	if (m->group == NIL)
		return;
	struct sqs_group *g = &e->groups[m->group];
	group_unavail(e, m->group);
	if (inflight) {
		g->inflight++;
	} else {
		assert(g->inflight > 0);
		g->inflight--;
	}
	group_settle(e, m->group);
}

/* A DELAYED message of a group becomes READY (its deadline came) or leaves DELAYED at
 * recovery (delayed false), or a message recovery places becomes DELAYED (true). */
static void group_delayed(struct sqs_engine *e, uint32_t index, bool delayed)
{
	struct sqs_message *m = &e->messages[index];
	if (m->group == NIL)
		return;
	struct sqs_group *g = &e->groups[m->group];
	group_unavail(e, m->group);
	if (delayed) {
		g->delayed++;
	} else {
		assert(g->delayed > 0);
		g->delayed--;
	}
	group_settle(e, m->group);
}

/*
 * The deadline of a FIFO send delayed until deadline_ms (now_ms for none): not before its
 * group's last DELAYED message, so a group's messages become visible in their order even
 * after DelaySeconds was lowered.
 */
static uint64_t fifo_hold_deadline(const struct sqs_engine *e, uint32_t group,
                                   uint64_t deadline_ms)
{
	uint32_t tail = e->groups[group].tail;
	if (tail == NIL || e->messages[tail].state != MSG_DELAYED)
		return deadline_ms;
	uint64_t tail_ms = e->messages[tail].deadline_ms;
	return tail_ms > deadline_ms ? tail_ms : deadline_ms;
}

struct dedup_key {
	uint64_t queue_id;
	const uint8_t *key;
};

static bool dedup_is(const struct sqs_engine *e, uint32_t entry, const void *key)
{
	const struct dedup_key *k = key;
	const struct sqs_dedup *d = &e->dedups[entry];
	return d->queue_id == k->queue_id && memcmp(d->key, k->key, SHA256_BYTES) == 0;
}

static uint64_t dedup_hash_of(const struct sqs_engine *e, uint32_t entry)
{
	return e->dedups[entry].hash;
}

static uint64_t dedup_hash(const struct sqs_engine *e, const struct dedup_key *k)
{
	return salted_hash(e, k->key) ^ (k->queue_id * GOLDEN_64);
}

/* Ends an entry: out of the index; the record it held for a deleted message is released. */
static void dedup_end(struct sqs_engine *e, uint32_t entry)
{
	struct sqs_dedup *d = &e->dedups[entry];
	assert(d->queue_id != 0 && e->dedup_live > 0);
	index_remove(e, &e->dedup_index, d->hash, entry, dedup_hash_of);
	if (d->message != NIL)
		e->messages[d->message].dedup = NIL;
	log_release(e, &d->position);
	d->queue_id = 0;
	e->dedup_live--;
}

/* Ends the entries whose window closed, from the ring's head on. */
static void dedup_expire(struct sqs_engine *e, uint64_t now_ms)
{
	while (e->dedup_used > 0) { /* bounded: each pass frees one ring place */
		struct sqs_dedup *d = &e->dedups[e->dedup_head];
		if (d->queue_id != 0 && d->expires_ms > now_ms)
			return;
		if (d->queue_id != 0)
			dedup_end(e, e->dedup_head);
		e->dedup_head = (e->dedup_head + 1) % e->options.fifo_dedup_slots;
		e->dedup_used--;
	}
}

/* The entry of a key still in its window, or NIL (one found past it is ended). */
static uint32_t dedup_find(struct sqs_engine *e, const struct dedup_key *k, uint64_t now_ms)
{
	uint32_t place = index_find(e, &e->dedup_index, dedup_hash(e, k), dedup_is, k);
	uint32_t entry = e->dedup_index.places[place];
	if (entry == NIL || e->dedups[entry].expires_ms > now_ms)
		return entry;
	dedup_end(e, entry);
	return NIL;
}

/* Makes the entry of a message's key, whose window ends at expires_ms; false when full. */
static bool dedup_add(struct sqs_engine *e, const struct dedup_key *k, uint32_t index,
                      uint64_t expires_ms, uint64_t log_sequence)
{
	if (e->dedup_used == e->options.fifo_dedup_slots)
		return false;
	uint32_t entry = (e->dedup_head + e->dedup_used) % e->options.fifo_dedup_slots;
	uint64_t hash = dedup_hash(e, k);
	uint32_t place = index_find(e, &e->dedup_index, hash, dedup_is, k);
	assert(e->dedup_index.places[place] == NIL);
	struct sqs_message *m = &e->messages[index];
	struct sqs_dedup *d = &e->dedups[entry];
	*d = (struct sqs_dedup){
	    .hash = hash,
	    .queue_id = k->queue_id,
	    .expires_ms = expires_ms,
	    .sequence_number = m->sequence_number,
	    .log_sequence = log_sequence,
	    .position = NO_POSITION,
	    .message = index,
	};
	memcpy(d->key, k->key, SHA256_BYTES);
	memcpy(d->message_id, m->id, sizeof(m->id));
	e->dedup_index.places[place] = entry;
	e->dedup_used++;
	e->dedup_live++;
	m->dedup = entry;
	return true;
}

/* Ends every entry of a queue that closes (bounded by the ring's size). */
static void dedup_drop_queue(struct sqs_engine *e, uint64_t queue_id)
{
	for (uint32_t i = 0; i < e->dedup_used; i++) {
		uint32_t entry = (e->dedup_head + i) % e->options.fifo_dedup_slots;
		if (e->dedups[entry].queue_id == queue_id)
			dedup_end(e, entry);
	}
}

/* ---- ReceiveRequestAttemptId (FIFO) ---- */

struct attempt_key {
	uint64_t queue_id;
	const uint8_t *key;
};

static bool attempt_is(const struct sqs_engine *e, uint32_t entry, const void *key)
{
	const struct attempt_key *k = key;
	const struct sqs_attempt *a = &e->attempts[entry];
	return a->queue_id == k->queue_id && memcmp(a->key, k->key, SHA256_BYTES) == 0;
}

static uint64_t attempt_hash_of(const struct sqs_engine *e, uint32_t entry)
{
	return e->attempts[entry].hash;
}

static uint64_t attempt_hash(const struct sqs_engine *e, const struct attempt_key *k)
{
	return salted_hash(e, k->key) ^ (k->queue_id * GOLDEN_64);
}

/* Ends an attempt: out of the index, its record released. */
static void attempt_end(struct sqs_engine *e, uint32_t entry)
{
	struct sqs_attempt *a = &e->attempts[entry];
	assert(a->queue_id != 0);
	index_remove(e, &e->attempt_index, a->hash, entry, attempt_hash_of);
	log_release(e, &a->position);
	a->queue_id = 0;
}

/* Ends the attempts whose window closed, from the ring's head on; evicting, also the first
 * whose window is open (after a pass without evicting that is the head). */
static void attempt_expire(struct sqs_engine *e, uint64_t now_ms, bool evict)
{
	while (e->attempt_used > 0) { /* bounded: each pass frees one ring place */
		struct sqs_attempt *a = &e->attempts[e->attempt_head];
		bool open = a->queue_id != 0 && a->began_ms + SQS_ATTEMPT_WINDOW_MS > now_ms;
		if (open && !evict)
			return;
		if (a->queue_id != 0)
			attempt_end(e, e->attempt_head);
		e->attempt_head = (e->attempt_head + 1) % e->options.attempt_slots;
		e->attempt_used--;
		if (open)
			return; /* one place made */
	}
}

/* The attempt of a key still in its window, or NIL (one found past it is ended). */
static uint32_t attempt_find(struct sqs_engine *e, const struct attempt_key *k, uint64_t now_ms)
{
	uint32_t place = index_find(e, &e->attempt_index, attempt_hash(e, k), attempt_is, k);
	uint32_t entry = e->attempt_index.places[place];
	if (entry == NIL || e->attempts[entry].began_ms + SQS_ATTEMPT_WINDOW_MS > now_ms)
		return entry;
	attempt_end(e, entry);
	return NIL;
}

/* Makes the (empty) attempt of a key that has none, at the ring's tail: its oldest goes when
 * the ring is full. */
static uint32_t attempt_make(struct sqs_engine *e, const struct attempt_key *k,
                             uint64_t began_ms)
{
	if (e->attempt_used == e->options.attempt_slots)
		attempt_expire(e, 0, true);
	uint32_t entry = (e->attempt_head + e->attempt_used) % e->options.attempt_slots;
	uint64_t hash = attempt_hash(e, k);
	uint32_t place = index_find(e, &e->attempt_index, hash, attempt_is, k);
	assert(e->attempt_index.places[place] == NIL && e->attempt_used < e->options.attempt_slots);
	e->attempts[entry] = (struct sqs_attempt){
	    .hash = hash, .queue_id = k->queue_id, .began_ms = began_ms, .position = NO_POSITION};
	memcpy(e->attempts[entry].key, k->key, SHA256_BYTES);
	e->attempt_index.places[place] = entry;
	e->attempt_used++;
	return entry;
}

/* Ends every attempt of a queue that closes (bounded by the ring's size). */
static void attempt_drop_queue(struct sqs_engine *e, uint64_t queue_id)
{
	for (uint32_t i = 0; i < e->attempt_used; i++) {
		uint32_t entry = (e->attempt_head + i) % e->options.attempt_slots;
		if (e->attempts[entry].queue_id == queue_id)
			attempt_end(e, entry);
	}
}

/*
 * A FIFO message leaves the engine: out of its group, and its dedup entry, if its window
 * lasts, takes over its SEND record so that a restart still knows the id.
 */
static void fifo_forget(struct sqs_engine *e, uint32_t index)
{
	struct sqs_message *m = &e->messages[index];
	if (m->group != NIL)
		group_unlink(e, index);
	if (m->dedup == NIL)
		return;
	struct sqs_dedup *d = &e->dedups[m->dedup];
	assert(d->message == index && d->position == NO_POSITION);
	d->message = NIL;
	if (m->send_position != NO_POSITION) {
		log_list_unlink(e, index);
		d->position = m->send_position;
		m->send_position = NO_POSITION;
	}
	m->dedup = NIL;
}

static void format_sequence_number(uint64_t value, char *out)
{
	snprintf(out, SQS_SEQUENCE_NUMBER_CHARS + 1, "%020llu", (unsigned long long)value);
}

/* ---- message slots ---- */

static uint32_t store_units_of(const struct sqs_engine *e, uint32_t body_bytes)
{
	uint32_t unit = e->options.store_unit_bytes;
	return body_bytes <= unit ? 1 : body_bytes / unit + (body_bytes % unit != 0);
}

/*
 * Free slots are a doubly linked list through prev and next (unused while a slot is free),
 * so recovery can take the very slot a message had: receipt handles name it.
 */
static void message_take(struct sqs_engine *e, uint32_t index)
{
	struct sqs_message *m = &e->messages[index];
	assert(m->state == MSG_FREE && e->free_count > 0);
	if (m->prev != NIL)
		e->messages[m->prev].next = m->next;
	else
		e->free_head = m->next;
	if (m->next != NIL)
		e->messages[m->next].prev = m->prev;
	e->free_count--;
}

static uint32_t message_alloc(struct sqs_engine *e)
{
	uint32_t index = e->free_head;
	if (index == NIL)
		return NIL;
	message_take(e, index);
	return index;
}

static void message_unalloc(struct sqs_engine *e, uint32_t index)
{
	struct sqs_message *m = &e->messages[index];
	m->prev = NIL;
	m->next = e->free_head;
	if (e->free_head != NIL)
		e->messages[e->free_head].prev = index;
	e->free_head = index;
	e->free_count++;
}

/* ---- retention: each queue's messages by age ---- */

/* The time a message's retention period ends. */
static uint64_t expires_at(const struct sqs_engine *e, uint32_t index)
{
	const struct sqs_message *m = &e->messages[index];
	uint32_t retention_s = e->queues[m->queue_slot].config.retention_s;
	if (retention_s == 0)
		retention_s = WIRE_RETENTION_S_DEFAULT;
	return m->sent_ms + (uint64_t)retention_s * MS_PER_S;
}

/* Puts a message into its queue's age list by sent_ms: at the tail but at recovery. */
static void age_link(struct sqs_engine *e, uint32_t index)
{
	struct sqs_message *m = &e->messages[index];
	struct sqs_queue *q = &e->queues[m->queue_slot];
	/*
	 * Its place is after the last message sent no later: looked for from both ends at once,
	 * so a send (the tail's place) and a message compaction wrote again (the oldest, near
	 * the head, met at recovery) each cost a step or a few; bounded by half the queue.
	 */
	uint32_t after = q->age_tail;
	uint32_t before = q->age_head;
	while (after != NIL && e->messages[after].sent_ms > m->sent_ms) {
		assert(before != NIL); /* the walks meet at a message sent later than m */
		if (e->messages[before].sent_ms > m->sent_ms) {
			after = e->messages[before].age_prev;
			break;
		}
		after = e->messages[after].age_prev;
		before = e->messages[before].age_next;
	}
	m->age_prev = after;
	m->age_next = after == NIL ? q->age_head : e->messages[after].age_next;
	if (after == NIL)
		q->age_head = index;
	else
		e->messages[after].age_next = index;
	if (m->age_next == NIL)
		q->age_tail = index;
	else
		e->messages[m->age_next].age_prev = index;
	if (q->age_head == index && expires_at(e, index) < e->retention_next_ms)
		e->retention_next_ms = expires_at(e, index);
}

static void age_unlink(struct sqs_engine *e, uint32_t index)
{
	struct sqs_message *m = &e->messages[index];
	struct sqs_queue *q = &e->queues[m->queue_slot];
	assert(q->age_head != NIL);
	if (m->age_prev != NIL)
		e->messages[m->age_prev].age_next = m->age_next;
	else
		q->age_head = m->age_next;
	if (m->age_next != NIL)
		e->messages[m->age_next].age_prev = m->age_prev;
	else
		q->age_tail = m->age_prev;
}

/* Releases the body and the slot of a message already out of its list or the heap. */
static void message_release(struct sqs_engine *e, uint32_t index)
{
	struct sqs_message *m = &e->messages[index];
	struct sqs_queue *q = &e->queues[m->queue_slot];
	uint32_t units = store_units_of(e, stored_bytes(m));
	assert(q->message_count > 0 && q->store_units >= units);
	age_unlink(e, index);
	q->message_count--;
	q->store_units -= units;
	e->options.store.release(e->options.store.ctx, m->body_ref);
	fifo_forget(e, index);
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
	} else if (m->state == MSG_DELAYED) {
		heap_remove(e, index);
		e->queues[m->queue_slot].delayed_count--;
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
	    .avail_head = NIL,
	    .avail_tail = NIL,
	    .age_head = NIL,
	    .age_tail = NIL,
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

/* The FIFO tables: groups (a free list), the dedup ring and the indexes of both. */
static int fifo_create(struct sqs_engine *e)
{
	const struct sqs_engine_options *o = &e->options;
	assert(o->fifo_dedup_slots > 0 && o->fifo_group_slots > 0);
	e->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	e->groups = calloc(o->fifo_group_slots, sizeof(*e->groups));
	e->dedups = calloc(o->fifo_dedup_slots, sizeof(*e->dedups));
	if (e->sha256 == NULL || e->groups == NULL || e->dedups == NULL)
		return -ENOMEM;
	if (index_init(&e->group_index, o->fifo_group_slots) != 0 ||
	    index_init(&e->dedup_index, o->fifo_dedup_slots) != 0)
		return -ENOMEM;
	for (uint32_t i = 0; i < o->fifo_group_slots; i++)
		e->groups[i].avail_next = i + 1 < o->fifo_group_slots ? i + 1 : NIL;
	e->group_free_head = 0;
	if (RAND_bytes((uint8_t *)&e->hash_salt, sizeof(e->hash_salt)) != 1)
		return -EIO;
	return 0;
}

/*
 * The most one message stores, its attribute block and body: SQS_STORED_BYTES_MAX, or a
 * queue's share of the store when that is less, since sqs_queue_has_room refuses more. Tests
 * and fuzzers make many small engines; under ASan a 1 MiB scratch each made the
 * fuzz_sqs_engine corpus 15 times slower.
 */
static uint32_t stored_bytes_max(const struct sqs_engine_options *o)
{
	uint64_t share_bytes = (uint64_t)o->queue_store_units_max * o->store_unit_bytes;
	return share_bytes < SQS_STORED_BYTES_MAX ? (uint32_t)share_bytes : SQS_STORED_BYTES_MAX;
}

struct sqs_engine *sqs_engine_create(const struct sqs_engine_options *options, int *error_out)
{
	assert(options->store_unit_bytes > 0 && options->queue_messages_max > 0);
	assert(options->queue_store_units_max > 0);
	assert(options->waiter_slots_per_source <= options->waiter_slots);
	assert((options->fifo_group_slots == 0) == (options->fifo_dedup_slots == 0));
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
	e->scratch_bytes = stored_bytes_max(options);
	e->scratch = malloc(e->scratch_bytes);
	e->md5_ctx = EVP_MD_CTX_new();
	e->md5 = EVP_MD_fetch(NULL, "MD5", NULL);
	if (!e->queues || !e->messages || !e->heap || !e->waiters || !e->sources || !e->md5_ctx ||
	    !e->md5 || !e->scratch) {
		sqs_engine_destroy(e);
		*error_out = -ENOMEM;
		return NULL;
	}
	int rc = options->fifo_group_slots > 0 ? fifo_create(e) : 0;
	if (rc == 0 && options->move_slots > 0) {
		e->moving = calloc(options->move_slots, sizeof(*e->moving));
		rc = e->moving == NULL ? -ENOMEM : 0;
	}
	if (rc == 0 && options->attempt_slots > 0) {
		e->attempts = calloc(options->attempt_slots, sizeof(*e->attempts));
		rc = e->attempts == NULL ? -ENOMEM : index_init(&e->attempt_index, options->attempt_slots);
	}
	if (rc != 0) {
		sqs_engine_destroy(e);
		*error_out = rc;
		return NULL;
	}
	for (uint32_t i = 0; i < options->message_slots; i++) {
		e->messages[i].next = i + 1 < options->message_slots ? i + 1 : NIL;
		e->messages[i].prev = i > 0 ? i - 1 : NIL;
		e->messages[i].group = NIL;
		e->messages[i].dedup = NIL;
		e->messages[i].heap_index = NIL;
		e->messages[i].send_position = NO_POSITION;
		e->messages[i].state_position = NO_POSITION;
	}
	e->log_head = NIL;
	e->log_tail = NIL;
	e->attempt_open = NIL;
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
	EVP_MD_free(e->sha256);
	free(e->group_index.places);
	free(e->dedup_index.places);
	free(e->groups);
	free(e->dedups);
	free(e->moving);
	free(e->attempts);
	free(e->attempt_index.places);
	EVP_MD_free(e->md5);
	EVP_MD_CTX_free(e->md5_ctx);
	free(e->scratch);
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
	assert(!config->fifo || e->options.fifo_group_slots > 0);
	/* A queue's type never changes (the control plane refuses it): its state stays. */
	if (q->open && q->config.queue_id == config->queue_id && q->config.fifo == config->fifo) {
		q->config = *config;
		e->retention_next_ms = 0; /* its retention may be shorter: look again */
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
		if (m->state == MSG_DELAYED)
			q->delayed_count--;
		else
			q->inflight_count--;
		message_release(e, index);
	}
	e->heap_count = kept;
	for (uint32_t i = kept / 2; i-- > 0;)
		heap_sift_down(e, i);
	assert(q->inflight_count == 0 && q->delayed_count == 0);
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
	if (q->inflight_count > 0 || q->delayed_count > 0)
		heap_drop_queue(e, slot);
	if (q->config.fifo)
		dedup_drop_queue(e, q->config.queue_id);
	if (q->config.fifo && e->options.attempt_slots > 0)
		attempt_drop_queue(e, q->config.queue_id);
	assert(ready_total(q) == 0 && q->message_count == 0 && q->store_units == 0);
	assert(q->avail_head == NIL);
	q->open = false;
	return drain_waiters(e, slot, closed_out);
}

bool sqs_queue_holds(const struct sqs_engine *e, uint32_t slot, uint64_t queue_id)
{
	return slot < e->options.queue_slots && e->queues[slot].open &&
	       e->queues[slot].config.queue_id == queue_id;
}

bool sqs_fifo_id_is_valid(const char *id, uint32_t bytes)
{
	return fifo_id_valid(id, bytes);
}

bool sqs_queue_is_fifo(const struct sqs_engine *e, uint32_t slot)
{
	assert(slot < e->options.queue_slots);
	return e->queues[slot].open && e->queues[slot].config.fifo;
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

/* Feeds bytes to the MD5 after their length as 4 big-endian bytes. */
static int md5_update_sized(struct sqs_engine *e, const uint8_t *bytes, uint32_t length)
{
	uint8_t prefix[4] = {(uint8_t)(length >> 24), (uint8_t)(length >> 16), (uint8_t)(length >> 8),
	                     (uint8_t)length};
	return EVP_DigestUpdate(e->md5_ctx, prefix, sizeof(prefix)) &&
	       EVP_DigestUpdate(e->md5_ctx, bytes, length);
}

/*
 * AWS's MD5OfMessageAttributes of a block: for each attribute in name order its name, its
 * data type, a transport type byte (1 string, 2 binary) and its value, each but the byte
 * after its length. False, and out unset, when the block has no attributes.
 */
static bool attributes_md5(struct sqs_engine *e, const uint8_t *block, uint32_t bytes,
                           uint8_t out[16])
{
	if (!sqs_attrs_has_attributes(block, bytes))
		return false;
	struct sqs_attrs_reader r;
	struct sqs_attr a;
	sqs_attrs_reader_init(&r, block, bytes);
	int ok = EVP_DigestInit_ex2(e->md5_ctx, e->md5, NULL);
	while (ok && sqs_attrs_next(&r, &a)) { /* at most WIRE_ATTRIBUTES_MAX */
		uint8_t transport = a.binary ? 2 : 1;
		ok = md5_update_sized(e, a.name, a.name_bytes) &&
		     md5_update_sized(e, a.data_type, a.data_type_bytes) &&
		     EVP_DigestUpdate(e->md5_ctx, &transport, 1) &&
		     md5_update_sized(e, a.value, a.value_bytes);
	}
	unsigned int length = 0;
	ok = ok && EVP_DigestFinal_ex(e->md5_ctx, out, &length);
	assert(ok && length == 16);
	return ok;
}

/* A send's or record's MD5OfMessageAttributes as text, "" without attributes. */
static void attributes_md5_text(struct sqs_engine *e, const uint8_t *block, uint32_t bytes,
                                char out[33])
{
	uint8_t md5[16];
	out[0] = '\0';
	if (attributes_md5(e, block, bytes, md5))
		hex_encode(md5, 16, out);
}

/* Stores a block and a body as one run of bytes: joined in scratch unless they are already. */
static int store_put(struct sqs_engine *e, const uint8_t *block, uint32_t block_bytes,
                     const uint8_t *body, uint32_t body_bytes, uint64_t *ref_out)
{
	const uint8_t *bytes = body;
	assert(block_bytes <= SQS_STORED_BYTES_MAX - body_bytes);
	if (block_bytes > 0 && block + block_bytes == body) {
		bytes = block; /* a record's: the block lies right before the body */
	} else if (block_bytes > 0) {
		assert(block_bytes + body_bytes <= e->scratch_bytes); /* sqs_queue_has_room's */
		memcpy(e->scratch, block, block_bytes);
		memcpy(e->scratch + block_bytes, body, body_bytes);
		bytes = e->scratch;
	}
	return e->options.store.put(e->options.store.ctx, bytes, block_bytes + body_bytes, ref_out);
}

bool sqs_queue_has_room(const struct sqs_engine *e, uint32_t slot, uint32_t body_bytes)
{
	const struct sqs_queue *q = &e->queues[slot];
	assert(q->open);
	return q->message_count < e->options.queue_messages_max &&
	       store_units_of(e, body_bytes) <= e->options.queue_store_units_max - q->store_units;
}

/* Writes a message's SEND record (with its attribute block); false when the log refused it. */
static bool log_send(struct sqs_engine *e, uint32_t index, const uint8_t *block,
                     const uint8_t *body, struct sqs_logged *logged)
{
	struct sqs_message *m = &e->messages[index];
	struct sqs_record record;
	record_of(e, index, SQS_RECORD_SEND, &record);
	record.body = body;
	record.body_bytes = m->body_bytes;
	record.attributes = block;
	record.attributes_bytes = m->attributes_bytes;
	uint64_t position;
	if (log_append(e, &record, logged, &position) != 0)
		return false;
	log_list_append(e, index, position);
	return true;
}

/* The options a queue's type allows (sqs.h, sqs_send_message). */
static enum wire_status check_send_options(const struct sqs_queue *q,
                                           const struct sqs_send_options *o)
{
	if (o->group_id_bytes > 0 && !fifo_id_valid(o->group_id, o->group_id_bytes))
		return WIRE_ERR_INVALID_PARAMETER;
	if (!q->config.fifo) {
		bool refused = o->dedup_id_bytes > 0 || (o->delay_given && o->delay_s > WIRE_DELAY_S_MAX);
		return refused ? WIRE_ERR_INVALID_PARAMETER : WIRE_OK;
	}
	if (o->group_id_bytes == 0)
		return WIRE_ERR_MISSING_PARAMETER;
	if (o->dedup_id_bytes > 0 && !fifo_id_valid(o->dedup_id, o->dedup_id_bytes))
		return WIRE_ERR_INVALID_PARAMETER;
	if (o->dedup_id_bytes == 0 && !q->config.content_based_deduplication)
		return WIRE_ERR_INVALID_PARAMETER;
	if (o->delay_s > 0)
		return WIRE_ERR_INVALID_PARAMETER; /* FIFO has the queue's delay only */
	return WIRE_OK;
}

/* A send's DelaySeconds: its own, else its queue's; a FIFO queue's only (sqs.h). */
static uint32_t send_delay_s(const struct sqs_queue *q, const struct sqs_send_options *o)
{
	uint32_t delay_s = o->delay_given && !q->config.fifo ? o->delay_s : q->config.delay_s;
	assert(delay_s <= WIRE_DELAY_S_MAX);
	return delay_s;
}

/*
 * A send's dedup key: the SHA-256 of its MessageDeduplicationId, which is the hex SHA-256 of
 * the body when content-based deduplication makes it (so an explicit id equal to that hex is
 * the same id, as it is in SQS). With DeduplicationScope=messageGroup it is the SHA-256 of
 * that digest and the group id: a digest has a fixed size, so no two pairs give one input.
 */
static void dedup_key_of(struct sqs_engine *e, const struct sqs_queue *q, const uint8_t *body,
                         uint32_t body_bytes, const struct sqs_send_options *o,
                         uint8_t key[SHA256_BYTES])
{
	if (o->dedup_id_bytes > 0) {
		sha256_of(e, o->dedup_id, o->dedup_id_bytes, NULL, 0, key);
	} else {
		char hex[SQS_CONTENT_DEDUP_ID_CHARS + 1];
		sqs_content_dedup_id(e, body, body_bytes, hex);
		sha256_of(e, hex, SQS_CONTENT_DEDUP_ID_CHARS, NULL, 0, key);
	}
	if (!q->config.dedup_per_group)
		return;
	uint8_t id_digest[SHA256_BYTES];
	memcpy(id_digest, key, SHA256_BYTES);
	sha256_of(e, id_digest, SHA256_BYTES, o->group_id, o->group_id_bytes, key);
}

void sqs_content_dedup_id(struct sqs_engine *e, const uint8_t *body, uint32_t body_bytes,
                          char out[SQS_CONTENT_DEDUP_ID_CHARS + 1])
{
	_Static_assert(SQS_CONTENT_DEDUP_ID_CHARS == 2 * SHA256_BYTES, "hex of a SHA-256");
	_Static_assert(SQS_CONTENT_DEDUP_ID_CHARS <= BB_FIFO_ID_BYTES_MAX, "a dedup id's length");
	uint8_t digest[SHA256_BYTES];
	sha256_of(e, body, body_bytes, NULL, 0, digest);
	hex_encode(digest, SHA256_BYTES, out);
}

/* A duplicate within the window: the first send's id, sequence number and record. */
static enum wire_status answer_duplicate(struct sqs_engine *e, uint32_t entry,
                                         const uint8_t *body, uint32_t body_bytes,
                                         const struct sqs_send_options *o, struct sqs_sent *out)
{
	const struct sqs_dedup *d = &e->dedups[entry];
	uint8_t md5[16];
	md5_of(e, body, body_bytes, md5);
	format_message_id(d->message_id, out->message_id);
	hex_encode(md5, 16, out->md5_of_body);
	attributes_md5_text(e, o->attributes, o->attributes_bytes, out->md5_of_attributes);
	format_sequence_number(d->sequence_number, out->sequence_number);
	out->duplicate = true;
	out->logged = (struct sqs_logged){d->log_sequence, 0};
	return WIRE_OK;
}

static uint64_t sequence_next(struct sqs_queue *q, uint64_t now_ms)
{
	uint64_t floor = now_ms << SEQUENCE_PER_MS_SHIFT;
	q->sequence_last = q->sequence_last + 1 > floor ? q->sequence_last + 1 : floor;
	return q->sequence_last;
}

/*
 * Takes a slot and stores the attribute block and body: the message is not in any list yet.
 * NIL when full.
 */
static uint32_t message_store(struct sqs_engine *e, uint32_t slot, const uint8_t *body,
                              uint32_t body_bytes, const struct sqs_send_options *o,
                              uint64_t now_ms)
{
	struct sqs_queue *q = &e->queues[slot];
	uint32_t index = message_alloc(e);
	if (index == NIL)
		return NIL;
	struct sqs_message *m = &e->messages[index];
	if (store_put(e, o->attributes, o->attributes_bytes, body, body_bytes, &m->body_ref) != 0) {
		message_unalloc(e, index);
		return NIL;
	}
	q->message_count++;
	q->store_units += store_units_of(e, o->attributes_bytes + body_bytes);
	m->attributes_bytes = o->attributes_bytes;
	m->has_attributes = attributes_md5(e, o->attributes, o->attributes_bytes, m->attributes_md5);
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
	age_link(e, index);
	assert(m->group == NIL && m->dedup == NIL);
	return index;
}

/* Body checks common to both queue types; the attributes count toward the size, as in AWS. */
static enum wire_status check_body(const struct sqs_queue *q, const uint8_t *body,
                                   uint32_t body_bytes, const struct sqs_send_options *o)
{
	assert(o->attributes_bytes == 0 || sqs_attrs_valid(o->attributes, o->attributes_bytes));
	if (body_bytes == 0)
		return WIRE_ERR_MISSING_PARAMETER;
	uint64_t size_bytes =
	    (uint64_t)body_bytes + sqs_attrs_size_bytes(o->attributes, o->attributes_bytes);
	if (size_bytes > q->config.maximum_message_bytes)
		return WIRE_ERR_MESSAGE_TOO_LONG;
	if (!bb_utf8_is_sqs_text(body, body_bytes))
		return WIRE_ERR_INVALID_MESSAGE_CONTENTS;
	return WIRE_OK;
}

/*
 * A FIFO message's group, sequence number and dedup entry (made before its record is
 * written, which names them). False when no dedup place is left.
 */
static bool fifo_place(struct sqs_engine *e, uint32_t index, uint32_t group,
                       const struct dedup_key *key, uint64_t now_ms)
{
	struct sqs_message *m = &e->messages[index];
	m->sequence_number = sequence_next(&e->queues[m->queue_slot], now_ms);
	group_link(e, group, index);
	return dedup_add(e, key, index, now_ms + BB_FIFO_DEDUP_WINDOW_MS, 0);
}

enum wire_status sqs_send_message(struct sqs_engine *e, uint32_t slot, const uint8_t *body,
                                  uint32_t body_bytes, const struct sqs_send_options *o,
                                  uint64_t now_ms, struct sqs_sent *out)
{
	struct sqs_queue *q = &e->queues[slot];
	assert(q->open);
	enum wire_status status = check_body(q, body, body_bytes, o);
	if (status == WIRE_OK)
		status = check_send_options(q, o);
	if (status != WIRE_OK)
		return status;
	*out = (struct sqs_sent){.duplicate = false};
	uint8_t key_bytes[SHA256_BYTES];
	struct dedup_key key = {q->config.queue_id, key_bytes};
	if (q->config.fifo) {
		dedup_expire(e, now_ms);
		dedup_key_of(e, q, body, body_bytes, o, key_bytes);
		uint32_t first = dedup_find(e, &key, now_ms);
		if (first != NIL)
			return answer_duplicate(e, first, body, body_bytes, o, out);
	}
	if (!sqs_queue_has_room(e, slot, o->attributes_bytes + body_bytes))
		return WIRE_ERR_OVER_LIMIT;
	uint32_t group = q->config.fifo ? group_get(e, slot, o->group_id, o->group_id_bytes) : NIL;
	if (q->config.fifo && group == NIL)
		return WIRE_ERR_OVER_LIMIT;
	uint32_t index = message_store(e, slot, body, body_bytes, o, now_ms);
	uint64_t visible_ms = now_ms + (uint64_t)send_delay_s(q, o) * MS_PER_S;
	if (group != NIL)
		visible_ms = fifo_hold_deadline(e, group, visible_ms);
	if (index != NIL && visible_ms > now_ms) {
		/* record_of states it delayed; in the heap once logged */
		e->messages[index].state = MSG_DELAYED;
		e->messages[index].deadline_ms = visible_ms;
	}
	if (index == NIL || (group != NIL && !fifo_place(e, index, group, &key, now_ms))) {
		if (index != NIL)
			message_release(e, index);
		else if (group != NIL && e->groups[group].count == 0)
			group_settle(e, group); /* made for this send: freed */
		return WIRE_ERR_OVER_LIMIT;
	}
	struct sqs_message *m = &e->messages[index];
	if (queue_logged(e, slot) && !log_send(e, index, o->attributes, body, &out->logged)) {
		if (m->dedup != NIL)
			dedup_end(e, m->dedup); /* the first send is the next one */
		message_release(e, index);
		return WIRE_ERR_SERVICE_UNAVAILABLE;
	}
	if (m->dedup != NIL)
		e->dedups[m->dedup].log_sequence = out->logged.sequence;
	if (m->state == MSG_DELAYED) {
		heap_push(e, index);
		q->delayed_count++;
	} else {
		ready_append(e, index);
		if (q->waiter_head != NIL)
			e->waiter_deadline_min_ms = 0; /* wake a parked receive on the next take */
	}
	format_message_id(m->id, out->message_id);
	hex_encode(m->md5, 16, out->md5_of_body);
	if (m->has_attributes)
		hex_encode(m->attributes_md5, 16, out->md5_of_attributes);
	if (q->config.fifo)
		format_sequence_number(m->sequence_number, out->sequence_number);
	return WIRE_OK;
}

enum wire_status sqs_send(struct sqs_engine *e, uint32_t slot, const uint8_t *body,
                          uint32_t body_bytes, uint64_t now_ms, struct sqs_sent *out)
{
	return sqs_send_message(e, slot, body, body_bytes, &(struct sqs_send_options){0}, now_ms,
	                        out);
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
	m->receipt_nonce = nonce_for(e, m, m->receive_count);
	m->received_ms = now_ms;
	if (m->first_receive_ms == 0)
		m->first_receive_ms = now_ms;
	m->deadline_ms = deadline_ms;
	heap_push(e, index);
	e->queues[m->queue_slot].inflight_count++;
	group_inflight(e, index, true);
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

/* What a receive answers of a message it took (in flight, its newest handle). */
static void fill_received(const struct sqs_engine *e, uint32_t index, struct sqs_received *r)
{
	const struct sqs_message *m = &e->messages[index];
	format_message_id(m->id, r->message_id);
	format_handle(e, index, r->receipt_handle);
	hex_encode(m->md5, 16, r->md5_of_body);
	r->body_ref = m->body_ref;
	r->attributes_bytes = m->attributes_bytes;
	r->body_bytes = m->body_bytes;
	r->md5_of_attributes[0] = '\0';
	if (m->has_attributes)
		hex_encode(m->attributes_md5, 16, r->md5_of_attributes);
	r->receive_count = m->receive_count;
	r->sent_ms = m->sent_ms;
	r->first_receive_ms = m->first_receive_ms;
	r->sequence_number[0] = '\0';
	r->group_id[0] = '\0';
	if (m->group == NIL)
		return;
	const struct sqs_group *g = &e->groups[m->group];
	format_sequence_number(m->sequence_number, r->sequence_number);
	memcpy(r->group_id, g->id, g->id_bytes);
	r->group_id[g->id_bytes] = '\0';
}

/* ---- ReceiveRequestAttemptId (FIFO): the receives ---- */

/* A message the open attempt's receive took: noted as the receive left it. */
static void attempt_note(struct sqs_engine *e, uint32_t index)
{
	if (e->attempt_open == NIL)
		return;
	struct sqs_attempt *a = &e->attempts[e->attempt_open];
	const struct sqs_message *m = &e->messages[index];
	assert(a->count < BB_RECEIVE_COUNT_MAX);
	a->messages[a->count++] = (struct sqs_record_attempt_message){
	    index, m->generation, m->receive_count, m->deadline_ms};
}

/* True when every message of the attempt is in flight as its receive left it, until later
 * than now. */
static bool attempt_holds(const struct sqs_engine *e, uint32_t entry, uint64_t now_ms)
{
	const struct sqs_attempt *a = &e->attempts[entry];
	for (uint32_t i = 0; i < a->count; i++) {
		const struct sqs_record_attempt_message *x = &a->messages[i];
		const struct sqs_message *m = &e->messages[x->index];
		if (m->state != MSG_INFLIGHT || m->generation != x->generation ||
		    m->receive_count != x->receive_count || m->deadline_ms != x->deadline_ms ||
		    m->deadline_ms <= now_ms)
			return false;
	}
	return a->count > 0;
}

/* A retry: the attempt's messages again, their visibility timeouts started again. */
static uint32_t attempt_retake(struct sqs_engine *e, uint32_t entry, uint64_t deadline_ms,
                               struct sqs_received *out)
{
	struct sqs_attempt *a = &e->attempts[entry];
	for (uint32_t i = 0; i < a->count; i++) {
		uint32_t index = a->messages[i].index;
		e->messages[index].deadline_ms = deadline_ms;
		heap_update(e, index);
		if (queue_logged(e, e->messages[index].queue_slot))
			log_receive(e, index); /* the new deadline, for a restart */
		a->messages[i].deadline_ms = deadline_ms;
		fill_received(e, index, &out[i]);
	}
	return a->count;
}

bool sqs_attempt_repeats(struct sqs_engine *e, uint32_t slot, const char *id, uint32_t id_bytes,
                         uint64_t now_ms)
{
	struct sqs_queue *q = &e->queues[slot];
	assert(q->open && q->config.fifo && fifo_id_valid(id, id_bytes));
	if (e->options.attempt_slots == 0)
		return false;
	uint8_t digest[SHA256_BYTES];
	sha256_of(e, id, id_bytes, NULL, 0, digest);
	struct attempt_key key = {q->config.queue_id, digest};
	uint32_t entry = attempt_find(e, &key, now_ms);
	return entry != NIL && attempt_holds(e, entry, now_ms);
}

uint32_t sqs_attempt_begin(struct sqs_engine *e, uint32_t slot, const char *id, uint32_t id_bytes,
                           int64_t visibility_timeout_s, uint64_t now_ms,
                           struct sqs_received *out)
{
	struct sqs_queue *q = &e->queues[slot];
	assert(q->open && q->config.fifo && e->attempt_open == NIL && fifo_id_valid(id, id_bytes));
	if (e->options.attempt_slots == 0)
		return 0;
	uint8_t digest[SHA256_BYTES];
	sha256_of(e, id, id_bytes, NULL, 0, digest);
	struct attempt_key key = {q->config.queue_id, digest};
	attempt_expire(e, now_ms, false);
	uint32_t entry = attempt_find(e, &key, now_ms);
	if (entry != NIL && attempt_holds(e, entry, now_ms)) {
		uint64_t timeout_s = visibility_timeout_s < 0 ? q->config.visibility_timeout_s
		                                              : (uint64_t)visibility_timeout_s;
		e->attempt_open = entry;
		return attempt_retake(e, entry, now_ms + timeout_s * MS_PER_S, out);
	}
	if (entry != NIL)
		attempt_end(e, entry); /* spent: this receive is the id's new attempt */
	e->attempt_open = attempt_make(e, &key, now_ms);
	return 0;
}

/* Writes an attempt's ATTEMPT record, superseding its last one (kept when the log refuses). */
static void attempt_log(struct sqs_engine *e, uint32_t entry)
{
	struct sqs_attempt *a = &e->attempts[entry];
	struct sqs_record record = {.kind = SQS_RECORD_ATTEMPT,
	                            .queue_id = a->queue_id,
	                            .sent_ms = a->began_ms,
	                            .attempt_count = a->count};
	memcpy(record.attempt_key, a->key, SHA256_BYTES);
	memcpy(record.attempt_messages, a->messages, sizeof(a->messages));
	struct sqs_logged logged;
	uint64_t position;
	if (log_append(e, &record, &logged, &position) != 0)
		return;
	log_release(e, &a->position);
	a->position = position;
}

void sqs_attempt_end(struct sqs_engine *e)
{
	uint32_t entry = e->attempt_open;
	e->attempt_open = NIL;
	if (entry == NIL)
		return;
	const struct sqs_attempt *a = &e->attempts[entry];
	if (a->count == 0)
		attempt_end(e, entry);
	else if (queue_logged(e, e->messages[a->messages[0].index].queue_slot))
		attempt_log(e, entry);
}

/* Receives one visible message into r. */
static void take_message(struct sqs_engine *e, uint32_t index, uint64_t deadline_ms,
                         uint64_t now_ms, struct sqs_received *r)
{
	mark_received(e, index, deadline_ms, now_ms);
	if (queue_logged(e, e->messages[index].queue_slot))
		log_receive(e, index);
	attempt_note(e, index);
	fill_received(e, index, r);
}

/* RedrivePolicy: a message received maxReceiveCount times is moved, not handed out. */
static bool due_to_move(const struct sqs_engine *e, uint32_t index)
{
	const struct sqs_message *m = &e->messages[index];
	uint32_t max = e->queues[m->queue_slot].config.max_receive_count;
	return e->options.move_slots > 0 && max > 0 && m->receive_count >= max;
}

/*
 * Takes a message due to move as the system's receive: in flight for SQS_MOVE_VISIBILITY_MS,
 * its RECEIVE record written (a crash makes it visible, and moved, again), queued for
 * sqs_take_moves. False when every move slot is taken: it stays visible.
 */
static bool take_to_move(struct sqs_engine *e, uint32_t index, uint64_t now_ms)
{
	if (e->moving_count == e->options.move_slots)
		return false;
	mark_received(e, index, now_ms + SQS_MOVE_VISIBILITY_MS, now_ms);
	const struct sqs_message *m = &e->messages[index];
	if (queue_logged(e, m->queue_slot))
		log_receive(e, index);
	uint32_t tail = (e->moving_head + e->moving_count) % e->options.move_slots;
	e->moving[tail] = (struct sqs_moving){index, m->generation, m->receive_count};
	e->moving_count++;
	return true;
}

static void fill_move(const struct sqs_engine *e, uint32_t index, struct sqs_move *out)
{
	const struct sqs_message *m = &e->messages[index];
	*out = (struct sqs_move){.queue_slot = m->queue_slot,
	                         .queue_id = e->queues[m->queue_slot].config.queue_id,
	                         .body_ref = m->body_ref,
	                         .attributes_bytes = m->attributes_bytes,
	                         .body_bytes = m->body_bytes,
	                         .receive_count = m->receive_count,
	                         .sent_ms = m->sent_ms};
	format_message_id(m->id, out->message_id);
	format_handle(e, index, out->receipt_handle);
	if (m->group == NIL)
		return;
	const struct sqs_group *g = &e->groups[m->group];
	memcpy(out->group_id, g->id, g->id_bytes);
	out->group_id[g->id_bytes] = '\0';
}

uint32_t sqs_take_moves(struct sqs_engine *e, struct sqs_move *out, uint32_t out_max)
{
	uint32_t count = 0;
	while (e->moving_count > 0 && count < out_max) {
		struct sqs_moving moving = e->moving[e->moving_head];
		e->moving_head = (e->moving_head + 1) % e->options.move_slots;
		e->moving_count--;
		const struct sqs_message *m = &e->messages[moving.index];
		if (m->state != MSG_INFLIGHT || m->generation != moving.generation ||
		    m->receive_count != moving.receive_count)
			continue; /* deleted, purged, or visible and received again since */
		fill_move(e, moving.index, &out[count++]);
	}
	return count;
}

/* The first available group whose next message a receive of body_bytes_max can take. */
static uint32_t fifo_next_group(const struct sqs_engine *e, const struct sqs_queue *q,
                                uint32_t body_bytes_max)
{
	/* Bounded by the group slots; a group passed over has a body too large for UDP. */
	for (uint32_t g = q->avail_head; g != NIL; g = e->groups[g].avail_next) {
		if (stored_bytes(&e->messages[e->groups[g].head]) <= body_bytes_max)
			return g;
	}
	return NIL;
}

/* FIFO: from each available group in turn, its messages from the oldest on. */
static uint32_t fifo_receive(struct sqs_engine *e, struct sqs_queue *q,
                             const struct sqs_receive_options *options, uint64_t deadline_ms,
                             uint64_t now_ms, struct sqs_received *out)
{
	uint32_t count = 0;
	while (count < options->max_messages) {
		uint32_t group = fifo_next_group(e, q, options->body_bytes_max);
		if (group == NIL)
			break;
		/* The group has nothing in flight: its messages are visible, in order, up to its
		 * delayed ones. */
		uint32_t index = e->groups[group].head;
		while (index != NIL && count < options->max_messages &&
		       e->messages[index].state == MSG_READY &&
		       stored_bytes(&e->messages[index]) <= options->body_bytes_max) {
			uint32_t next = e->messages[index].group_next;
			if (due_to_move(e, index)) {
				if (!take_to_move(e, index, now_ms))
					return count; /* the group would come first again */
				break; /* the group waits while its message is moved */
			}
			take_message(e, index, deadline_ms, now_ms, &out[count++]);
			index = next;
		}
	}
	return count;
}

/* Of a queue's visible messages, those a receive may take, per ready class. */
static const uint32_t *receivable(const struct sqs_queue *q)
{
	return q->config.fifo ? q->avail_count : q->ready_count;
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
	uint64_t deadline_ms = now_ms + timeout_s * MS_PER_S;
	uint32_t count = 0;
	if (q->config.fifo)
		count = fifo_receive(e, q, options, deadline_ms, now_ms, out);
	while (!q->config.fifo && count < options->max_messages) {
		uint32_t index = ready_next(e, q, options->body_bytes_max);
		if (index == NIL)
			break;
		/* Bounded: a move takes a move slot, and the slots are few. */
		if (due_to_move(e, index) && !take_to_move(e, index, now_ms))
			break;
		if (e->messages[index].state == MSG_READY)
			take_message(e, index, deadline_ms, now_ms, &out[count++]);
	}
	/* What this receive left may be for a parked one that can take what it could not. */
	const uint32_t *left = receivable(q);
	if (left[READY_SMALL] + left[READY_LARGE] > 0 && q->waiter_head != NIL)
		e->waiter_deadline_min_ms = 0;
	return count;
}

bool sqs_can_receive(const struct sqs_engine *e, uint32_t slot, uint32_t body_bytes_max)
{
	const struct sqs_queue *q = &e->queues[slot];
	assert(q->open);
	if (q->config.fifo)
		return fifo_next_group(e, q, body_bytes_max) != NIL;
	return ready_next(e, q, body_bytes_max) != NIL;
}

enum handle_match { HANDLE_INVALID, HANDLE_GONE, HANDLE_STALE, HANDLE_CURRENT };

/*
 * A handle of a receive later than any the engine knows: its RECEIVE record did not reach
 * the disk before a restart. It is ours when its nonce is the keyed hash of its count, and
 * then it is the message's newest handle: the engine takes that receive as its own.
 */
static bool adopt_unlogged_receive(struct sqs_engine *e, struct sqs_message *m, uint32_t count,
                                   uint64_t nonce)
{
	if (e->options.handle_nonce == NULL || count <= m->receive_count)
		return false;
	if (nonce_for(e, m, count) != nonce)
		return false;
	m->receive_count = count;
	m->receipt_nonce = nonce;
	return true;
}

static enum handle_match match_handle(struct sqs_engine *e, uint32_t slot, const char *handle,
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
	struct sqs_message *m = &e->messages[index];
	*index_out = index;
	if (m->state == MSG_FREE || m->generation != bb_get_le32(raw + 12))
		return HANDLE_GONE;
	if (m->queue_slot != slot)
		return HANDLE_INVALID;
	uint32_t count = bb_get_le32(raw + 16);
	uint64_t nonce = bb_get_le64(raw + 20);
	if (m->receive_count == count && m->receipt_nonce == nonce)
		return HANDLE_CURRENT;
	return adopt_unlogged_receive(e, m, count, nonce) ? HANDLE_CURRENT : HANDLE_STALE;
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

/*
 * Deletes the messages of one queue whose retention period ended, oldest first, at most
 * *budget. False when the log refused a DELETE record (the message stays).
 */
static bool retention_expire_queue(struct sqs_engine *e, uint32_t slot, uint64_t now_ms,
                                   uint32_t *budget)
{
	struct sqs_queue *q = &e->queues[slot];
	while (q->age_head != NIL && expires_at(e, q->age_head) <= now_ms) {
		if (*budget == 0)
			return true;
		struct sqs_logged logged;
		if (queue_logged(e, slot) && !log_delete(e, q->age_head, &logged))
			return false;
		message_free(e, q->age_head);
		(*budget)--;
	}
	if (q->age_head != NIL && expires_at(e, q->age_head) < e->retention_next_ms)
		e->retention_next_ms = expires_at(e, q->age_head);
	return true;
}

/* MessageRetentionPeriod: walks the queues only when some head's period has ended. */
static void retention_expire(struct sqs_engine *e, uint64_t now_ms)
{
	if (now_ms < e->retention_next_ms)
		return;
	e->retention_next_ms = UINT64_MAX;
	uint32_t budget = SQS_EXPIRE_BATCH_MAX;
	for (uint32_t slot = 0; slot < e->options.queue_slots; slot++) {
		if (!e->queues[slot].open)
			continue;
		if (!retention_expire_queue(e, slot, now_ms, &budget)) {
			e->retention_next_ms = now_ms + SQS_EXPIRE_RETRY_MS;
			return;
		}
	}
	if (budget == 0)
		e->retention_next_ms = now_ms; /* more may be due: the next call goes on */
}

uint32_t sqs_expire(struct sqs_engine *e, uint64_t now_ms)
{
	/* Ended windows let go of the records they hold, even where no FIFO send comes. */
	if (e->options.fifo_dedup_slots > 0)
		dedup_expire(e, now_ms);
	if (e->options.attempt_slots > 0)
		attempt_expire(e, now_ms, false);
	retention_expire(e, now_ms);
	uint32_t moved = 0;
	while (e->heap_count > 0 && e->messages[e->heap[0]].deadline_ms <= now_ms) {
		uint32_t index = e->heap[0];
		struct sqs_queue *q = &e->queues[e->messages[index].queue_slot];
		heap_remove(e, index);
		if (e->messages[index].state == MSG_DELAYED) {
			q->delayed_count--;
			ready_append(e, index);
			group_delayed(e, index, false);
		} else {
			q->inflight_count--;
			ready_append(e, index);
			group_inflight(e, index, false);
		}
		moved++;
	}
	if (moved > 0)
		e->waiter_deadline_min_ms = 0; /* some parked receive may now be answerable */
	return moved;
}

/* Frees every message of a queue: its age list holds them all. Bounded by its count. */
static void purge_messages(struct sqs_engine *e, uint32_t slot)
{
	struct sqs_queue *q = &e->queues[slot];
	while (q->age_head != NIL)
		message_free(e, q->age_head);
	assert(q->message_count == 0 && q->inflight_count == 0 && q->delayed_count == 0);
}

enum wire_status sqs_purge(struct sqs_engine *e, uint32_t slot, uint64_t now_ms,
                           struct sqs_logged *logged_out)
{
	struct sqs_queue *q = &e->queues[slot];
	assert(q->open);
	*logged_out = (struct sqs_logged){0, 0};
	if (q->purged && now_ms < q->purged_ms + WIRE_PURGE_INTERVAL_MS)
		return WIRE_ERR_PURGE_QUEUE_IN_PROGRESS;
	if (queue_logged(e, slot)) {
		struct sqs_record record = {
		    .kind = SQS_RECORD_PURGE,
		    .queue_id = q->config.queue_id,
		    .sent_ms = now_ms,
		};
		uint64_t position;
		if (log_append(e, &record, logged_out, &position) != 0)
			return WIRE_ERR_SERVICE_UNAVAILABLE;
		/* As a DELETE: the log removes segments oldest first, so it outlives what it
		 * cancels, and after that nothing needs it. */
		log_release(e, &position);
	}
	purge_messages(e, slot);
	q->purged = true;
	q->purged_ms = now_ms;
	return WIRE_OK;
}

void sqs_queue_counts(const struct sqs_engine *e, uint32_t slot, struct sqs_queue_counts *out)
{
	const struct sqs_queue *q = &e->queues[slot];
	assert(q->open);
	*out = (struct sqs_queue_counts){
	    .visible = ready_total(q),
	    .not_visible = q->inflight_count,
	    .delayed = q->delayed_count,
	};
	assert(out->visible + out->not_visible + out->delayed == q->message_count);
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
	if (ready_for(e, receivable(q), options) > 0)
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
	const uint32_t *counts = receivable(q);
	uint32_t left[READY_CLASSES] = {counts[READY_SMALL], counts[READY_LARGE]};
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

uint32_t sqs_delayed_count(const struct sqs_engine *e, uint32_t slot)
{
	return e->queues[slot].delayed_count;
}

uint32_t sqs_free_message_slots(const struct sqs_engine *e)
{
	return e->free_count;
}

uint32_t sqs_dedup_count(const struct sqs_engine *e)
{
	return e->dedup_live;
}

uint32_t sqs_group_count(const struct sqs_engine *e)
{
	return e->group_count;
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
		group_inflight(e, index, false);
	} else if (m->state == MSG_DELAYED) {
		heap_remove(e, index);
		q->delayed_count--;
		group_delayed(e, index, false);
	}
	m->receive_count = r->receive_count;
	m->first_receive_ms = r->first_receive_ms;
	/* The nonce of its last receive, so that receive's handle still acts after a restart
	 * (visible again or not, as it would have without the restart). */
	m->receipt_nonce = r->receipt_nonce;
	if (r->deadline_ms <= now_ms) {
		ready_append(e, index);
		return;
	}
	if (r->receive_count == 0) {
		/* Never received, a deadline ahead: delayed (DelaySeconds) until it. */
		m->state = MSG_DELAYED;
		m->deadline_ms = r->deadline_ms;
		heap_push(e, index);
		q->delayed_count++;
		group_delayed(e, index, true);
		return;
	}
	m->state = MSG_INFLIGHT;
	m->deadline_ms = r->deadline_ms;
	m->received_ms = now_ms;
	heap_push(e, index);
	q->inflight_count++;
	group_inflight(e, index, true);
}

/*
 * A FIFO message met in the log: its group (in sequence order), the queue's sequence
 * numbers, and its dedup entry when the window is still open at now_ms. Dedup places are
 * not a reason to refuse recovery: without one the window of that id is lost.
 */
static enum wire_status replay_fifo(struct sqs_engine *e, uint32_t index,
                                    const struct sqs_record *r, uint64_t now_ms)
{
	struct sqs_message *m = &e->messages[index];
	struct sqs_queue *q = &e->queues[m->queue_slot];
	uint32_t group = group_get(e, m->queue_slot, r->group_id, r->group_id_bytes);
	if (group == NIL)
		return WIRE_ERR_OVER_LIMIT;
	m->sequence_number = r->sequence_number;
	if (r->sequence_number > q->sequence_last)
		q->sequence_last = r->sequence_number;
	group_link(e, group, index);
	uint64_t expires_ms = r->sent_ms + BB_FIFO_DEDUP_WINDOW_MS;
	if (!r->has_dedup_key || expires_ms <= now_ms)
		return WIRE_OK;
	dedup_expire(e, now_ms);
	struct dedup_key key = {q->config.queue_id, r->dedup_key};
	if (dedup_find(e, &key, now_ms) == NIL)
		(void)dedup_add(e, &key, index, expires_ms, 0);
	return WIRE_OK;
}

/* A message first met in the log: takes a slot and its body as a send would. */
static enum wire_status replay_new(struct sqs_engine *e, uint32_t slot, const struct sqs_record *r,
                                   uint64_t position, uint64_t now_ms, uint32_t *index_out)
{
	struct sqs_queue *q = &e->queues[slot];
	/* A queue's type is fixed for its life and its id never reused: not its record. */
	if (q->config.fifo != (r->group_id_bytes > 0))
		return WIRE_ERR_MALFORMED;
	if (!sqs_queue_has_room(e, slot, r->attributes_bytes + r->body_bytes))
		return WIRE_ERR_OVER_LIMIT;
	/* The slot it had, so receipt handles given before the restart still name it. */
	uint32_t index = r->message_index;
	if (index >= e->options.message_slots || e->messages[index].state != MSG_FREE)
		return WIRE_ERR_OVER_LIMIT;
	message_take(e, index);
	struct sqs_message *m = &e->messages[index];
	if (store_put(e, r->attributes, r->attributes_bytes, r->body, r->body_bytes, &m->body_ref) !=
	    0) {
		message_unalloc(e, index);
		return WIRE_ERR_OVER_LIMIT;
	}
	m->generation = r->generation;
	q->message_count++;
	q->store_units += store_units_of(e, r->attributes_bytes + r->body_bytes);
	m->attributes_bytes = r->attributes_bytes;
	m->has_attributes = attributes_md5(e, r->attributes, r->attributes_bytes, m->attributes_md5);
	memcpy(m->id, r->message_id, sizeof(m->id));
	memcpy(m->md5, r->md5, sizeof(m->md5));
	m->body_bytes = r->body_bytes;
	m->queue_slot = slot;
	m->sent_ms = r->sent_ms;
	m->state = MSG_FREE; /* placed by replay_state */
	age_link(e, index);
	log_list_append(e, index, position);
	if (q->config.fifo && replay_fifo(e, index, r, now_ms) != WIRE_OK) {
		message_release(e, index);
		return WIRE_ERR_OVER_LIMIT;
	}
	replay_state(e, index, r, now_ms);
	*index_out = index;
	return WIRE_OK;
}

/*
 * An ATTEMPT met in the log: the attempt again, as its newest record states it, while its
 * window lasts at now_ms (the retry then checks its messages as sqs_attempt_begin does).
 */
static enum wire_status replay_attempt(struct sqs_engine *e, uint32_t slot,
                                       const struct sqs_record *r, uint64_t position,
                                       uint64_t now_ms)
{
	if (!e->queues[slot].config.fifo)
		return WIRE_ERR_MALFORMED; /* a queue's type is fixed: not its record */
	if (e->options.attempt_slots == 0 || r->sent_ms + SQS_ATTEMPT_WINDOW_MS <= now_ms) {
		log_release(e, &position);
		return WIRE_OK;
	}
	for (uint32_t i = 0; i < r->attempt_count; i++) {
		if (r->attempt_messages[i].index >= e->options.message_slots)
			return WIRE_ERR_MALFORMED;
	}
	struct attempt_key key = {r->queue_id, r->attempt_key};
	attempt_expire(e, now_ms, false);
	uint32_t entry = attempt_find(e, &key, now_ms);
	if (entry != NIL)
		attempt_end(e, entry); /* an older record of it, or an earlier attempt of the id */
	entry = attempt_make(e, &key, r->sent_ms);
	struct sqs_attempt *a = &e->attempts[entry];
	a->count = r->attempt_count;
	memcpy(a->messages, r->attempt_messages, sizeof(a->messages));
	a->position = position;
	return WIRE_OK;
}

enum wire_status sqs_replay_record(struct sqs_engine *e, uint32_t slot,
                                   const struct sqs_record *r, uint64_t position,
                                   uint64_t now_ms, uint32_t *index_io)
{
	assert(sqs_queue_holds(e, slot, r->queue_id) && e->options.log.append != NULL);
	if (r->kind == SQS_RECORD_ATTEMPT)
		return replay_attempt(e, slot, r, position, now_ms);
	uint32_t index = *index_io;
	assert(index == NIL || e->messages[index].queue_slot == slot);
	if (r->kind == SQS_RECORD_PURGE) {
		log_release(e, &position); /* as sqs_purge does */
		purge_messages(e, slot);
		e->queues[slot].purged = true;
		e->queues[slot].purged_ms = r->sent_ms;
		*index_io = NIL;
		return WIRE_OK;
	}
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

uint64_t sqs_log_live_bytes(const struct sqs_engine *e)
{
	assert(e->log_head != NIL || e->log_live_bytes == 0);
	return e->log_live_bytes;
}

uint32_t sqs_relog_before(struct sqs_engine *e, uint64_t position_end, uint32_t max)
{
	assert(e->options.log.append != NULL);
	uint32_t moved = 0;
	while (moved < max && e->log_head != NIL &&
	       e->messages[e->log_head].send_position < position_end) {
		uint32_t index = e->log_head;
		struct sqs_message *m = &e->messages[index];
		assert(stored_bytes(m) <= e->scratch_bytes);
		e->options.store.read(e->options.store.ctx, m->body_ref, e->scratch, stored_bytes(m));
		struct sqs_record record;
		record_of(e, index, SQS_RECORD_SEND, &record);
		record.attributes = e->scratch;
		record.attributes_bytes = m->attributes_bytes;
		record.body = e->scratch + m->attributes_bytes;
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
