/*
 * A worker's segment log behind its SQS engine (dp_log.h). Invariants: the log is touched
 * by its worker only (and by the main thread before the worker starts); a release waits in
 * the ring, in order, until the durable sequence reaches what was appended before it; the
 * ring is applied oldest first, so a record is never released in the log before a record
 * that replaces it is on disk.
 */
#include "dp_log.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "sqs_record.h"
#include "sqs_replay.h"

int dp_log_init(struct dp_log *log)
{
	*log = (struct dp_log){0};
	log->record_buf = malloc(SQS_RECORD_BYTES_MAX);
	log->releases = calloc(DP_LOG_RELEASES_MAX, sizeof(*log->releases));
	if (log->record_buf == NULL || log->releases == NULL) {
		dp_log_close(log);
		return -ENOMEM;
	}
	return 0;
}

int dp_log_append(struct dp_log *log, uint16_t type, const uint8_t *payload, uint32_t bytes,
                  uint64_t *sequence_out, uint64_t *position_out)
{
	assert(log->seg != NULL && bytes > 0);
	int rc = seg_append(log->seg, type, payload, bytes, sequence_out, position_out);
	if (rc == -EAGAIN) {
		/* Every commit slot is busy: reap what finished and try once more. */
		rc = seg_poll(log->seg, false);
		if (rc == 0)
			rc = seg_append(log->seg, type, payload, bytes, sequence_out, position_out);
	}
	if (rc != 0) {
		log->counters.appends_refused++;
		return rc;
	}
	log->dirty = true;
	return 0;
}

static int append(void *ctx, const struct sqs_record *record, uint64_t *sequence_out,
                  uint64_t *position_out)
{
	struct dp_log *log = ctx;
	size_t bytes = sqs_record_encode(record, log->record_buf, SQS_RECORD_BYTES_MAX);
	assert(bytes > 0);
	return dp_log_append(log, SQS_RECORD_LOG_TYPE, log->record_buf, (uint32_t)bytes,
	                     sequence_out, position_out);
}

const char *dp_log_refusal(int error)
{
	switch (error) {
	case -ENOSPC: return "the disk of the message log is full; retry later";
	case -EMFILE: return "the message log keeps as many segments as it may; retry later";
	case -EAGAIN: return "the message log is busy; retry";
	default: return "the message log stopped after an I/O error";
	}
}

/* Queues a release behind everything appended so far (at recovery: all of it durable). */
static void release(void *ctx, uint64_t position)
{
	struct dp_log *log = ctx;
	if (log->release_count == DP_LOG_RELEASES_MAX) {
		log->counters.releases_leaked++; /* kept live: recovery releases it next time */
		return;
	}
	uint64_t after = log->seg == NULL ? 0 : seg_next_sequence(log->seg) - 1;
	uint32_t tail = (log->release_head + log->release_count) % DP_LOG_RELEASES_MAX;
	log->releases[tail] = (struct dp_log_release){position, after};
	log->release_count++;
}

void dp_log_release(struct dp_log *log, uint64_t position)
{
	assert(log->releases != NULL);
	release(log, position);
}

struct sqs_log_ops dp_log_ops(struct dp_log *log)
{
	assert(log->releases != NULL);
	return (struct sqs_log_ops){log, append, release};
}

/* Applies the releases whose records' replacements are durable. */
static void apply_releases(struct dp_log *log, uint64_t durable)
{
	while (log->release_count > 0) {
		const struct dp_log_release *r = &log->releases[log->release_head];
		if (r->after_sequence > durable)
			break;
		/* Fails only once the log has stopped, which dp_log_pass reports. */
		(void)!seg_release(log->seg, r->position);
		log->release_head = (log->release_head + 1) % DP_LOG_RELEASES_MAX;
		log->release_count--;
	}
}

struct replay_context {
	struct dp_log *log;
	const struct dp_log_open_options *options;
	struct sqs_replay *replay;
	char *why;
	size_t why_bytes;
	int refusal; /* the callback's own -errno, which seg_open reports as -ECANCELED */
};

/* A record of a queue this engine does not have: kept, released, or a refusal. */
static int replay_unknown(struct replay_context *c, const struct sqs_record *record,
                          uint64_t position)
{
	const struct dp_snapshot *snapshot = c->options->snapshot;
	if (snapshot == NULL)
		return 0; /* no configuration yet: nothing can say the queue is gone */
	for (uint32_t i = 0; i < snapshot->queue_count; i++) {
		const struct dp_queue_entry *q = &snapshot->queues[i];
		if (q->queue_id != record->queue_id)
			continue;
		snprintf(c->why, c->why_bytes,
		         "log %s holds messages of queue %s, which worker %u owns now: the "
		         "logs were written with another number of workers",
		         c->options->dir, q->name, q->owner);
		return -EXDEV;
	}
	/* Queue ids are never reused and a snapshot names every queue: this one was deleted. */
	release(c->log, position);
	return 0;
}

static int replay_record(struct replay_context *c, const struct seg_record_view *view)
{
	struct sqs_record record;
	if (view->type != SQS_RECORD_LOG_TYPE && c->options->on_other_record != NULL) {
		c->log->counters.records_recovered++;
		return c->options->on_other_record(c->options->other_ctx, view, c->why,
		                                   c->why_bytes);
	}
	if (view->type != SQS_RECORD_LOG_TYPE ||
	    sqs_record_decode(view->payload, view->payload_bytes, &record) != 0) {
		snprintf(c->why, c->why_bytes, "log %s: record %llu at position %llu is not a "
		         "queue record", c->options->dir, (unsigned long long)view->sequence,
		         (unsigned long long)view->position);
		return -EBADMSG;
	}
	c->log->counters.records_recovered++;
	uint32_t slot;
	if (!sqs_queue_find(c->options->engine, record.queue_id, &slot))
		return replay_unknown(c, &record, view->position);
	enum wire_status status = sqs_replay_apply(c->replay, c->options->engine, slot, &record,
	                                           view->position, c->options->now_ms);
	if (status != WIRE_OK) {
		snprintf(c->why, c->why_bytes, "log %s holds more messages than worker %u can "
		         "keep in memory (raise store_mbufs_per_worker)", c->options->dir,
		         c->options->worker_index);
		return -ENOSPC;
	}
	return 0;
}

static int replay_one(void *ctx, const struct seg_record_view *view)
{
	struct replay_context *c = ctx;
	c->refusal = replay_record(c, view);
	assert(c->refusal <= 0);
	return c->refusal;
}

int dp_log_open(struct dp_log *log, const struct dp_log_open_options *o, char *why,
                size_t why_bytes)
{
	assert(log->seg == NULL && log->releases != NULL);
	why[0] = '\0';
	struct replay_context context = {log, o, sqs_replay_create(BB_MESSAGE_SLOTS_PER_WORKER),
	                                 why, why_bytes, 0};
	if (context.replay == NULL)
		return -ENOMEM;
	struct seg_options seg_options = {
	    .dir = o->dir,
	    .segment_bytes = o->segment_bytes,
	    .commits_in_flight_max = DP_LOG_BATCHES,
	    .on_record = replay_one,
	    .ctx = &context,
	    .io = o->io,
	    .durable_marks_path = o->durable_marks_path,
	};
	int rc = 0;
	char seg_why[256] = "";
	log->seg = seg_open(&seg_options, &rc, seg_why, sizeof(seg_why));
	if (log->seg == NULL && why[0] == '\0')
		snprintf(why, why_bytes, "log %s: %s", o->dir, seg_why[0] ? seg_why : "cannot open");
	if (log->seg != NULL) {
		log->committed_sequence = seg_next_sequence(log->seg) - 1;
		log->counters.messages_recovered = sqs_replay_message_count(context.replay);
		apply_releases(log, seg_durable_sequence(log->seg));
	}
	sqs_replay_destroy(context.replay);
	assert(log->seg != NULL || rc != 0);
	if (log->seg == NULL && context.refusal != 0)
		return context.refusal; /* ours, with its reason: not seg_open's -ECANCELED */
	return log->seg == NULL ? (rc != 0 ? rc : -EIO) : 0;
}

/* A message's SEND record (its largest: FIFO with the longest group id and attributes) and
 * its last RECEIVE, framed: what sqs_log_live_bytes counts beside the stored bytes. */
_Static_assert(SQS_LOG_MESSAGE_OVERHEAD_BYTES >=
                   2 * SEG_RECORD_HEADER_BYTES + 2 * SQS_RECORD_HEADER_BYTES +
                       SQS_RECORD_FIFO_BYTES + BB_FIFO_ID_BYTES_MAX + SQS_RECORD_ATTRIBUTES_BYTES,
               "the live estimate is never below what a message keeps live");

/* True when the log's segments take more than twice what is live, and the slack (dp_log.h). */
bool dp_log_needs_compaction(uint64_t disk_bytes, uint64_t live_bytes, uint64_t segment_bytes)
{
	assert(segment_bytes > 0);
	uint64_t allowed = 2 * live_bytes + DP_LOG_SLACK_SEGMENTS * segment_bytes;
	assert(allowed >= live_bytes); /* live bytes are bounded by memory: no overflow */
	return disk_bytes > allowed;
}

/* The log takes much more than is live: write the oldest segment's messages again. */
static void compact(struct dp_log *log, struct sqs_engine *engine)
{
	struct seg_pin pin;
	uint64_t segment_bytes = seg_segment_bytes(log->seg);
	uint64_t disk = (uint64_t)seg_segment_count(log->seg) * segment_bytes;
	if (!dp_log_needs_compaction(disk, sqs_log_live_bytes(engine), segment_bytes) ||
	    !seg_oldest_pin(log->seg, &pin))
		return;
	log->counters.messages_relogged +=
	    sqs_relog_before(engine, pin.end_position, DP_LOG_RELOG_PER_PASS);
}

/*
 * Group commit (DP_LOG_OVERLAP_BYTES_MIN): now when nothing is in flight, beside a commit in
 * flight only with a large batch, and never with the last buffer, which the open batch keeps.
 */
static bool commit_due(const struct dp_log *log)
{
	uint32_t in_flight = seg_commits_in_flight(log->seg);
	if (!log->dirty || in_flight + 1 >= DP_LOG_BATCHES)
		return false;
	return in_flight == 0 || seg_open_batch_bytes(log->seg) >= DP_LOG_OVERLAP_BYTES_MIN;
}

/* Submits the open batch; counts the records it carries. 0 or -EIO. */
static int commit(struct dp_log *log)
{
	uint64_t last = seg_next_sequence(log->seg) - 1;
	int rc = seg_commit(log->seg);
	if (rc == -EIO)
		return rc;
	log->dirty = rc == -EAGAIN; /* no commit slot: a later pass submits it */
	if (rc == 0) {
		assert(last >= log->committed_sequence);
		log->counters.commits++;
		log->counters.records_committed += last - log->committed_sequence;
		log->committed_sequence = last;
	}
	return 0;
}

int64_t dp_log_pass(struct dp_log *log, struct sqs_engine *engine)
{
	assert(log->seg != NULL);
	if (commit_due(log) && commit(log) != 0)
		return -EIO;
	int rc = seg_poll(log->seg, false);
	if (rc != 0)
		return -EIO;
	uint64_t durable = seg_durable_sequence(log->seg);
	apply_releases(log, durable);
	if (log->release_count < DP_LOG_RELEASES_MAX / 2)
		compact(log, engine);
	assert(durable <= INT64_MAX);
	return (int64_t)durable;
}

/* A clean stop waits at most this many completions (each commit has two). */
#define DRAIN_COMPLETIONS_MAX 1024u

int64_t dp_log_drain(struct dp_log *log)
{
	assert(log->seg != NULL);
	if (seg_commit(log->seg) == -EIO)
		return -EIO;
	for (uint32_t i = 0; i < DRAIN_COMPLETIONS_MAX && seg_commits_in_flight(log->seg) > 0; i++) {
		if (seg_poll(log->seg, true) != 0)
			return -EIO;
	}
	uint64_t durable = seg_durable_sequence(log->seg);
	assert(durable <= INT64_MAX);
	return (int64_t)durable;
}

void dp_log_close(struct dp_log *log)
{
	if (log->seg != NULL)
		seg_close(log->seg);
	free(log->record_buf);
	free(log->releases);
	*log = (struct dp_log){0};
}

_Static_assert(SQS_RECORD_BYTES_MAX <= SEG_PAYLOAD_BYTES_MAX,
               "the largest message's record fits one log record");
