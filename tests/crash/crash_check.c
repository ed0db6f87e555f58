/*
 * The crash tests' verdict: reads crash_client's log (crash_log.h) and checks the
 * promises of docs/operations.md ("What survives what") against it:
 *   - no acknowledged send lost: every one was deleted with an acknowledgement or
 *     delivered again by the drain after the last restart;
 *   - nothing unknown delivered: every body is one the client sent, byte for byte;
 *   - nothing delivered after its delete was acknowledged;
 * and counts what at-least-once allows: redeliveries (the same message id again,
 * after a visibility timeout or a restart) and duplicates (a send retried after
 * its answer was lost, stored twice under two message ids).
 */
#include "crash_log.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Violations listed one by one before the counts; the rest are only counted. */
#define CRASH_VIOLATIONS_PRINTED 10u

static uint64_t crash_id_hash(const char *id)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (const char *p = id; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ull;
	return h | 1; /* never 0, which means "no delivery yet" */
}

/* The copy of e with this message id, added when new; NULL past CRASH_COPIES_MAX. */
static struct crash_copy *crash_copy_of(struct crash_entry *e, const char *message_id)
{
	uint64_t id = crash_id_hash(message_id);
	for (uint32_t i = 0; i < e->copy_count; i++)
		if (e->copies[i].id_hash == id)
			return &e->copies[i];
	if (e->copy_count == CRASH_COPIES_MAX) {
		e->copies_overflow = true;
		return NULL;
	}
	struct crash_copy *c = &e->copies[e->copy_count++];
	*c = (struct crash_copy){.id_hash = id};
	return c;
}

void crash_table_deliver(struct crash_table *t, uint32_t queue, uint32_t counter,
                         const char *message_id, bool sound, uint64_t line)
{
	assert(queue < t->queue_count);
	assert(counter < CRASH_MESSAGES_PER_QUEUE_MAX);
	struct crash_entry *e = crash_entry_of(t, queue, counter);
	struct crash_copy *c = crash_copy_of(e, message_id);
	e->deliveries++;
	if (t->drain_marked)
		e->drained++;
	if (c != NULL && c->delete_line != 0 && line > c->delete_line)
		e->after_delete++;
	if (!sound)
		e->damaged = true;
}

/* One line of the log; -EBADMSG when it is not one crash_client writes. */
static int crash_table_line(struct crash_table *t, const char *line)
{
	char kind;
	uint32_t q, n;
	char id[CRASH_LOG_LINE_BYTES];
	int ok, status;
	t->lines++;
	if (line[0] == 'M') {
		t->drain_marked = true;
		return 0;
	}
	if (line[0] == 'K')
		return 0; /* a kill: only for people reading a history */
	if (line[0] == 'U') {
		t->unknown++;
		return 0;
	}
	if (sscanf(line, "%c %" SCNu32 " %" SCNu32, &kind, &q, &n) != 3)
		return -EBADMSG;
	if (q >= t->queue_count || n >= CRASH_MESSAGES_PER_QUEUE_MAX)
		return -EBADMSG;
	struct crash_entry *e = crash_entry_of(t, q, n);
	if (kind == 'S' || kind == 'F') {
		if ((int64_t)n > t->counter_max[q])
			t->counter_max[q] = n;
		e->sends_acked += kind == 'S';
		e->refused |= kind == 'F';
		return kind == 'F' && sscanf(line, "F %*u %*u %d", &status) != 1 ? -EBADMSG : 0;
	}
	if (kind == 'X') {
		e->delete_unanswered = true;
		return sscanf(line, "X %*u %*u %255s", id) == 1 ? 0 : -EBADMSG;
	}
	if (kind == 'D') {
		if (sscanf(line, "D %*u %*u %255s", id) != 1)
			return -EBADMSG;
		struct crash_copy *c = crash_copy_of(e, id);
		if (c != NULL && c->delete_line == 0)
			c->delete_line = t->lines;
		e->deleted = true;
		return 0;
	}
	if (kind != 'R' || sscanf(line, "R %*u %*u %255s %d", id, &ok) != 2)
		return -EBADMSG;
	crash_table_deliver(t, q, n, id, ok == 1, t->lines);
	return 0;
}

int crash_table_load(struct crash_table *t, const char *path, uint32_t queue_count)
{
	assert(queue_count > 0 && queue_count <= CRASH_QUEUES_MAX);
	*t = (struct crash_table){.queue_count = queue_count};
	for (uint32_t q = 0; q < CRASH_QUEUES_MAX; q++)
		t->counter_max[q] = -1;
	t->entries = calloc((size_t)queue_count * CRASH_MESSAGES_PER_QUEUE_MAX, sizeof(*t->entries));
	if (!t->entries)
		return -ENOMEM;
	FILE *f = fopen(path, "r");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	char line[CRASH_LOG_LINE_BYTES];
	int rc = 0;
	while (rc == 0 && fgets(line, sizeof(line), f))
		rc = crash_table_line(t, line);
	if (rc != 0)
		fprintf(stderr, "crash_check: %s line %" PRIu64 " is not ours: %s", path, t->lines,
		        line);
	fclose(f);
	return rc;
}

void crash_table_free(struct crash_table *t)
{
	assert(t);
	free(t->entries);
	t->entries = NULL;
}

struct crash_verdict {
	uint64_t sends_acked, deletes_acked, deliveries, redeliveries, duplicates;
	uint64_t lost, unknown, damaged, resurrected, refused_then_delivered, overflows;
	uint32_t printed;
};

static void crash_violation(struct crash_verdict *v, const char *what, uint32_t q, uint32_t n)
{
	if (v->printed++ < CRASH_VIOLATIONS_PRINTED)
		printf("VIOLATION: message %" PRIu32 "/%" PRIu32 " %s\n", q, n, what);
}

static void crash_judge(struct crash_verdict *v, const struct crash_table *t, uint32_t q,
                        uint32_t n, const struct crash_entry *e)
{
	v->sends_acked += e->sends_acked > 0;
	v->deletes_acked += e->deleted;
	v->deliveries += e->deliveries;
	if (e->copy_count > 1)
		v->duplicates += e->copy_count - 1;
	v->redeliveries += e->deliveries - (e->deliveries < e->copy_count ? e->deliveries
	                                                                  : e->copy_count);
	if (e->sends_acked > 0 && !e->deleted && !e->delete_unanswered && e->drained == 0) {
		v->lost++;
		crash_violation(v, "acknowledged, never deleted, missing after the last restart", q, n);
	}
	if (e->copies_overflow) {
		v->overflows++;
		crash_violation(v, "stored more times than the checker tells apart", q, n);
	}
	if (e->deliveries > 0 && (int64_t)n > t->counter_max[q] + 1) {
		v->unknown++;
		crash_violation(v, "delivered but never sent", q, n);
	}
	if (e->damaged) {
		v->damaged++;
		crash_violation(v, "delivered with a body other than the one sent", q, n);
	}
	if (e->after_delete > 0) {
		v->resurrected++;
		crash_violation(v, "delivered after its delete was acknowledged", q, n);
	}
	if (e->refused && e->sends_acked == 0 && e->deliveries > 0)
		v->refused_then_delivered++;
}

int crash_check(const struct crash_check_options *o)
{
	assert(o && o->log_path);
	struct crash_table t;
	int rc = crash_table_load(&t, o->log_path, o->queue_count);
	if (rc != 0) {
		crash_table_free(&t);
		fprintf(stderr, "crash_check: reading %s: %s\n", o->log_path, strerror(-rc));
		return 1;
	}
	struct crash_verdict v = {.unknown = t.unknown};
	for (uint32_t q = 0; q < t.queue_count; q++)
		for (uint32_t n = 0; n < CRASH_MESSAGES_PER_QUEUE_MAX; n++)
			crash_judge(&v, &t, q, n, crash_entry_of(&t, q, n));
	printf("crash_check seed %" PRIu64 ": %" PRIu64 " sends and %" PRIu64
	       " deletes acknowledged, %" PRIu64 " deliveries (%" PRIu64 " redeliveries, %" PRIu64
	       " duplicates stored twice, %" PRIu64 " refused sends delivered)\n",
	       o->seed, v.sends_acked, v.deletes_acked, v.deliveries, v.redeliveries, v.duplicates,
	       v.refused_then_delivered);
	printf("crash_check: lost %" PRIu64 ", unknown %" PRIu64 ", damaged %" PRIu64
	       ", back after delete %" PRIu64 "\n",
	       v.lost, v.unknown, v.damaged, v.resurrected);
	bool drained = t.drain_marked;
	crash_table_free(&t);
	if (!drained) {
		printf("VIOLATION: the log has no drain: nothing shows what survived\n");
		return 1;
	}
	if (v.sends_acked == 0) {
		printf("VIOLATION: no send was acknowledged: the run proved nothing\n");
		return 1;
	}
	return v.lost + v.unknown + v.damaged + v.resurrected + v.overflows == 0 ? 0 : 1;
}
