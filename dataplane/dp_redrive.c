/*
 * RedrivePolicy's moves on a worker lcore: a message of one of its queues that a receive
 * found received maxReceiveCount times was taken by the engine as the system's receive (in
 * flight for SQS_MOVE_VISIBILITY_MS, its RECEIVE record written; engines/sqs.h). Here it
 * becomes a delivery to the queue's dead-letter queue, an internal SendMessage to that
 * queue's owner (dp_fanout.c), with its body, its attribute block, its MessageGroupId, the
 * queue's ARN as its DeadLetterQueueSourceArn (a system attribute receives return, as SQS)
 * and, for a FIFO dead-letter queue, its message id as MessageDeduplicationId. Once the owner
 * has it durably, the move's receipt handle deletes the message here (a DELETE record).
 *
 * At least once, never lost: until that delete the message stays in its queue. A crash, a
 * refusal or a deleted dead-letter queue leaves it in flight until its deadline; then it is
 * visible and the next receive moves it again, so the dead-letter queue may get it twice.
 * Invariant: a move slot is taken exactly while its delivery is out (outbox, ring, the
 * owner, the way back, or the retry list).
 */
#include "dp_worker_int.h"

#include <errno.h>
#include <string.h>

#include "bb_policy.h"
#include "sqs_attrs.h"

int dp_moves_init(struct dp_moves *m)
{
	*m = (struct dp_moves){0};
	m->slots = calloc(DP_MOVES_MAX, sizeof(*m->slots));
	m->free = calloc(DP_MOVES_MAX, sizeof(*m->free));
	m->taken = calloc(DP_MOVES_MAX, sizeof(*m->taken));
	m->stored_buf = malloc(SQS_STORED_BYTES_MAX);
	if (m->slots == NULL || m->free == NULL || m->taken == NULL || m->stored_buf == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < DP_MOVES_MAX; i++)
		m->free[i] = DP_MOVES_MAX - 1 - i;
	m->free_count = DP_MOVES_MAX;
	return 0;
}

void dp_moves_free(struct dp_moves *m)
{
	free(m->slots);
	free(m->free);
	free(m->taken);
	free(m->stored_buf);
	*m = (struct dp_moves){0};
}

/* The snapshot's entry of a queue this worker owns, by its slot and id (NULL: gone). */
static const struct dp_queue_entry *owned_queue(const struct dp_worker *w,
                                                const struct dp_snapshot *s,
                                                const struct sqs_move *move)
{
	/* Bounded by the snapshot's queues; moves are rare next to receives. */
	for (uint32_t i = 0; s != NULL && i < s->queue_count; i++) {
		const struct dp_queue_entry *q = &s->queues[i];
		if (q->owner == w->index && q->slot == move->queue_slot &&
		    q->queue_id == move->queue_id)
			return q;
	}
	return NULL;
}

/* The queue's ARN, the moved message's DeadLetterQueueSourceArn, into out. */
static uint32_t source_arn(const struct dp_queue_entry *q, char *out, size_t out_bytes)
{
	int n = snprintf(out, out_bytes, "arn:aws:sqs:%s:%s:%.*s", BB_POLICY_REGION_DEFAULT,
	                 BB_POLICY_ACCOUNT_ID_DEFAULT, (int)q->name_bytes, q->name);
	RTE_VERIFY(n > 0 && (size_t)n < out_bytes && n <= (int)WIRE_DLQ_SOURCE_ARN_BYTES_MAX);
	return (uint32_t)n;
}

/*
 * The delivery of a moved message: its stored bytes read into the worker's buffer, sent with
 * the queue it leaves as its DeadLetterQueueSourceArn (the ARN as arn_buf holds it).
 */
static struct dp_delivery_body move_body(struct dp_worker *w, const struct sqs_move *move,
                                         const struct dp_queue_entry *q, char *arn_buf,
                                         size_t arn_buf_bytes)
{
	uint8_t *stored = w->fanout.moves.stored_buf;
	uint32_t stored_bytes = move->attributes_bytes + move->body_bytes;
	RTE_VERIFY(stored_bytes <= SQS_STORED_BYTES_MAX);
	dp_store_read(w->store_pool, move->body_ref, stored, stored_bytes);
	/* The block's own dedup id stays behind: the move sends the message id as one. And a
	 * message moved before leaves its old source behind: it gets this queue's. */
	uint32_t skip = (uint32_t)sqs_attrs_send_fields_offset(stored, move->attributes_bytes);
	uint32_t fields_bytes =
	    (uint32_t)sqs_attrs_drop_source_arn(stored + skip, move->attributes_bytes - skip);
	return (struct dp_delivery_body){
	    .body = stored + move->attributes_bytes,
	    .body_bytes = move->body_bytes,
	    .group_id = move->group_id,
	    .group_id_bytes = (uint32_t)strlen(move->group_id),
	    /* A FIFO dead-letter queue without content-based deduplication needs one: the
	     * message's id, so a second move within 5 minutes is dropped there. */
	    .dedup_id = move->message_id,
	    .dedup_id_bytes = BB_MESSAGE_ID_BYTES,
	    .fields = stored + skip,
	    .fields_bytes = fields_bytes,
	    .source_arn = arn_buf,
	    .source_arn_bytes = source_arn(q, arn_buf, arn_buf_bytes),
	};
}

/* One move out: a slot remembers its handle until the delivery comes back. */
static void move_one(struct dp_worker *w, const struct dp_snapshot *s,
                     const struct sqs_move *move, uint64_t now_ms)
{
	struct dp_moves *moves = &w->fanout.moves;
	RTE_VERIFY(moves->free_count > 0);
	const struct dp_queue_entry *q = owned_queue(w, s, move);
	if (q == NULL || q->dead_letter_queue == DP_ROUTING_NONE) {
		w->stats.redrive_move_failures++; /* visible again at its deadline */
		return;
	}
	uint32_t slot = moves->free[moves->free_count - 1];
	char arn[WIRE_DLQ_SOURCE_ARN_BYTES_MAX + 1];
	struct dp_delivery_body body = move_body(w, move, q, arn, sizeof(arn));
	if (dp_fanout_move(w, slot, &s->queues[q->dead_letter_queue], &body, now_ms) != 0) {
		w->stats.redrive_move_failures++;
		return;
	}
	moves->free_count--;
	struct dp_move *m = &moves->slots[slot];
	m->queue_id = move->queue_id;
	m->queue_slot = move->queue_slot;
	memcpy(m->receipt_handle, move->receipt_handle, sizeof(m->receipt_handle));
}

void dp_redrive_pass(struct dp_worker *w, const struct dp_snapshot *s, uint64_t now_ms)
{
	struct dp_moves *moves = &w->fanout.moves;
	uint32_t outbox_room = DP_OUTBOX_MAX - w->fanout.outbox_count;
	uint32_t room = RTE_MIN(moves->free_count, outbox_room);
	uint32_t count = sqs_take_moves(w->sqs, moves->taken, room);
	for (uint32_t i = 0; i < count; i++)
		move_one(w, s, &moves->taken[i], now_ms);
}

void dp_redrive_returned(struct dp_worker *w, uint32_t slot, enum wire_status status)
{
	struct dp_moves *moves = &w->fanout.moves;
	RTE_VERIFY(slot < DP_MOVES_MAX && moves->free_count < DP_MOVES_MAX);
	struct dp_move *m = &moves->slots[slot];
	moves->free[moves->free_count++] = slot;
	if (status != WIRE_OK) {
		w->stats.redrive_move_failures++;
		return;
	}
	/* Durable in the dead-letter queue: gone from its queue. A queue reopened since, or a
	 * handle made stale by a later receive, deletes nothing (it is moved again: at least
	 * once). A DELETE the log refuses leaves it to be moved again too. */
	struct sqs_logged logged;
	if (!sqs_queue_holds(w->sqs, m->queue_slot, m->queue_id) ||
	    sqs_delete(w->sqs, m->queue_slot, m->receipt_handle, strlen(m->receipt_handle),
	               &logged) != WIRE_OK) {
		w->stats.redrive_move_failures++;
		return;
	}
	w->stats.redrive_moved++;
}
