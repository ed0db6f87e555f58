/*
 * What crash_client's modes share: the seeded message bodies and the operation log.
 *
 * A body names its seed, queue index, counter and filler size and carries filler
 * derived from them, so a delivery can be checked byte for byte: anything that does not
 * regenerate exactly was invented or damaged by the appliance.
 *
 * The log has one line per acknowledged operation, appended and fdatasync'd
 * before the client goes on (order in the file is the order things happened):
 *   S q n           the send of (q, n) was acknowledged
 *   F q n status    the send of (q, n) was refused with a wire status (not stored)
 *   R q n id ok     (q, n) was delivered with message id `id`; ok 0: body damaged
 *   U id            a delivery whose body is not one of ours
 *   D q n id        the delete of (q, n)'s copy `id` was acknowledged
 *   X q n id        the delete of that copy got no answer: it may or may not be done
 *   M               the drain starts: every queue is read to its end after this
 *   K n             the test killed busbard (the n-th time); written by the test script
 */
#ifndef CRASH_LOG_H
#define CRASH_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CRASH_QUEUES_MAX             8u
#define CRASH_MESSAGES_PER_QUEUE_MAX 65536u
/* Filler when the sender does not choose its size: 16 to 495 bytes, by message. */
#define CRASH_FILLER_BYTES_MIN       16u
#define CRASH_FILLER_BYTES_SPREAD    480u
/* A chosen size (the full-disk test fills segments fast); under what UDP carries. */
#define CRASH_FILLER_BYTES_MAX       8192u
#define CRASH_BODY_HEAD_BYTES        64u
#define CRASH_BODY_BYTES_MAX         (CRASH_BODY_HEAD_BYTES + CRASH_FILLER_BYTES_MAX)
#define CRASH_LOG_LINE_BYTES         256u

/*
 * The body of message (queue, counter) under seed, with filler_bytes of filler (0: a
 * size drawn from seed, queue and counter); returns its length. The head names the
 * filler's size, so a reader regenerates the body without being told.
 */
size_t crash_body(uint64_t seed, uint32_t queue, uint32_t counter, uint32_t filler_bytes,
                  char *out, size_t capacity);

/*
 * Reads (queue, counter) back from a delivered body. Returns 1 when the body is
 * exactly what crash_body makes for them, 0 when it names them but differs
 * (damaged), -EINVAL when it is not a body of this seed at all.
 */
int crash_body_parse(uint64_t seed, const uint8_t *body, size_t body_bytes, uint32_t *queue,
                     uint32_t *counter);

struct crash_log {
	int fd;
};

/* Opens (creating or appending to) the log at path: 0 or -errno. */
__attribute__((warn_unused_result)) int crash_log_open(struct crash_log *log, const char *path);
/* Appends one line and fdatasyncs it before returning: 0 or -errno. */
__attribute__((warn_unused_result)) int crash_log_line(struct crash_log *log, const char *line);
void crash_log_close(struct crash_log *log);

/*
 * Copies of one message (a send retried after its answer was lost may be stored twice)
 * are told apart by message id; a delete names the copy it deleted.
 */
#define CRASH_COPIES_MAX 8u

struct crash_copy {
	uint64_t id_hash;     /* of its message id */
	uint64_t delete_line; /* the line of its acknowledged delete; 0: none */
};

/* What the log says about one message (queue, counter). */
struct crash_entry {
	struct crash_copy copies[CRASH_COPIES_MAX];
	uint32_t copy_count;
	uint32_t sends_acked;  /* S lines: more than one when a send was retried */
	uint32_t deliveries;   /* R lines */
	uint32_t drained;      /* R lines after the drain mark */
	uint32_t after_delete; /* deliveries of a copy after its delete was acknowledged */
	bool deleted;          /* some copy's delete was acknowledged */
	bool delete_unanswered; /* a delete got no answer: the message may be gone */
	bool damaged;          /* delivered with a body that is not the one sent */
	bool refused;          /* an F line */
	bool copies_overflow;  /* more copies than CRASH_COPIES_MAX: the checker cannot judge */
};

struct crash_table {
	uint32_t queue_count;
	struct crash_entry *entries; /* queue_count * CRASH_MESSAGES_PER_QUEUE_MAX */
	int64_t counter_max[CRASH_QUEUES_MAX]; /* highest counter sent or refused; -1: none */
	uint64_t lines;
	uint64_t unknown; /* U lines, and R lines naming what was never sent */
	bool drain_marked;
};

static inline struct crash_entry *crash_entry_of(struct crash_table *t, uint32_t queue,
                                                 uint32_t counter)
{
	return &t->entries[(size_t)queue * CRASH_MESSAGES_PER_QUEUE_MAX + counter];
}

/* Reads the log at path (a missing one is empty) into t: 0, or -errno / -EBADMSG. */
__attribute__((warn_unused_result)) int crash_table_load(struct crash_table *t, const char *path,
                                                         uint32_t queue_count);
/* Counts one delivery read at line `line` (after the drain mark when drained). */
void crash_table_deliver(struct crash_table *t, uint32_t queue, uint32_t counter,
                         const char *message_id, bool sound, uint64_t line);
void crash_table_free(struct crash_table *t);

struct crash_check_options {
	const char *log_path;
	uint64_t seed;
	uint32_t queue_count;
};

/* Reads the log and prints the verdict: 0 when every promise held, 1 when one did not. */
int crash_check(const struct crash_check_options *options);

#endif
