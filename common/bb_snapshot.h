/*
 * The configuration snapshot format, one codec for both ends: busbar-control
 * encodes its store into a snapshot body, busbard decodes the body it
 * receives (and the copy it keeps in its state directory) with the same code.
 *
 * A body is wire fields (wire.h): a header, then entries.
 *   FORMAT (u32, first field; absent in format 1), STORE_ID (16 bytes; absent in
 *   format 1), SNAPSHOT_VERSION (u64), ADOPT (empty, optional),
 *   then per entry a begin field that names its kind and the entry's fields:
 *   queue: QUEUE_BEGIN, QUEUE_NAME, QUEUE_ID, VISIBILITY_TIMEOUT_S, WAIT_TIME_S,
 *          MAXIMUM_MESSAGE_BYTES, QUEUE_FLAGS (format 2, only when not 0).
 *   key:   KEY_BEGIN, KEY_ID (u32, not 0), KEY_SECRET (BB_KEY_SECRET_BYTES),
 *          KEY_EXPIRES_S (u64, 0: none), KEY_POLICY (JSON, optional: none allows
 *          nothing). Keys carry secrets: the body is never world-readable.
 *
 * The store id names the database a snapshot comes from (made with it, random);
 * versions count within one store. busbard takes a snapshot of the store it
 * runs at its version or later, and nothing else unless the snapshot says ADOPT:
 * applying another store's configuration would delete every queue it lacks,
 * with the messages. A refused ApplySnapshot is answered with ERROR_MESSAGE,
 * REFUSAL (u32 verdict) and the applied snapshot's STORE_ID and SNAPSHOT_VERSION,
 * so busbar-control can tell the operator and, asked to adopt, number after it.
 */
#ifndef BB_SNAPSHOT_H
#define BB_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bb_limits.h"
#include "wire.h"

/* Format 1 is the body without a FORMAT field (busbar before snapshots had one). */
#define BB_SNAPSHOT_FORMAT         2u
#define BB_SNAPSHOT_STORE_ID_BYTES 16u
/* Encoded sizes: a queue is at most seven fields, the header at most four. */
#define BB_SNAPSHOT_QUEUE_BYTES_MAX                                                                \
	(7 * WIRE_FIELD_HEADER_BYTES + BB_QUEUE_NAME_BYTES_MAX + 8 + 4 * 4)
/* A queue's flags: FIFO (its name ends in ".fifo", and only then), content-based
 * deduplication (FIFO only). */
#define BB_SNAPSHOT_QUEUE_FIFO          0x1u
#define BB_SNAPSHOT_QUEUE_CONTENT_DEDUP 0x2u
/* busbar:Durability=memory: the queue's messages are not logged (docs/durability.md). */
#define BB_SNAPSHOT_QUEUE_MEMORY 0x4u
#define BB_SNAPSHOT_HEADER_BYTES_MAX                                                               \
	(4 * WIRE_FIELD_HEADER_BYTES + 4 + BB_SNAPSHOT_STORE_ID_BYTES + 8)
/* A key is five fields; bb_snapshot_bytes_max counts queues, add this per key. */
#define BB_SNAPSHOT_KEY_BYTES_MAX                                                                  \
	(5 * WIRE_FIELD_HEADER_BYTES + 4 + BB_KEY_SECRET_BYTES + 8 + BB_POLICY_BYTES_MAX)

/* The snapshot's own tags, numbered apart from request tags so the two never meet. */
enum bb_snapshot_tag {
	BB_SNAPSHOT_TAG_FORMAT = 0x100,   /* u32 */
	BB_SNAPSHOT_TAG_STORE_ID = 0x101, /* BB_SNAPSHOT_STORE_ID_BYTES */
	BB_SNAPSHOT_TAG_ADOPT = 0x102,    /* empty */
	BB_SNAPSHOT_TAG_REFUSAL = 0x103,  /* u32 enum bb_snapshot_verdict, in a refusal */
	BB_SNAPSHOT_TAG_QUEUE_FLAGS = 0x104, /* u32 BB_SNAPSHOT_QUEUE_*, in a queue; absent: 0 */
	BB_SNAPSHOT_TAG_KEY_BEGIN = 0x110,     /* empty; starts one key */
	BB_SNAPSHOT_TAG_KEY_ID = 0x111,        /* u32 */
	BB_SNAPSHOT_TAG_KEY_SECRET = 0x112,    /* BB_KEY_SECRET_BYTES */
	BB_SNAPSHOT_TAG_KEY_EXPIRES_S = 0x113, /* u64 */
	BB_SNAPSHOT_TAG_KEY_POLICY = 0x114,    /* at most BB_POLICY_BYTES_MAX */
};

/* What an entry configures. Topics, buses and streams come as new kinds. */
enum bb_snapshot_kind {
	BB_SNAPSHOT_KIND_QUEUE = 1,
	BB_SNAPSHOT_KIND_KEY = 2, /* an access key (control/ctl_keys.h) */
};

struct bb_snapshot_header {
	uint32_t format;
	uint8_t store_id[BB_SNAPSHOT_STORE_ID_BYTES]; /* all zero: format 1, store unknown */
	uint64_t version;
	bool adopt; /* replace whatever busbard runs, even another store's configuration */
};

enum bb_snapshot_verdict {
	BB_SNAPSHOT_ACCEPT = 0,
	BB_SNAPSHOT_REFUSE_OLDER = 1,       /* the same store, behind the applied version */
	BB_SNAPSHOT_REFUSE_OTHER_STORE = 2, /* another store, without ADOPT */
};

/* What a refusal tells the sender about the snapshot busbard keeps. */
struct bb_snapshot_refusal {
	enum bb_snapshot_verdict verdict;
	uint8_t store_id[BB_SNAPSHOT_STORE_ID_BYTES];
	uint64_t version;
};

#define BB_SNAPSHOT_STORE_ID_TEXT_BYTES (2 * BB_SNAPSHOT_STORE_ID_BYTES + 1)

struct bb_snapshot_queue {
	char name[BB_QUEUE_NAME_BYTES_MAX + 1];
	uint32_t name_bytes;
	uint64_t queue_id;
	uint32_t visibility_timeout_s;
	uint32_t receive_wait_time_s;
	uint32_t maximum_message_bytes;
	uint32_t flags; /* BB_SNAPSHOT_QUEUE_* */
};

struct bb_snapshot_key {
	uint32_t key_id;
	uint8_t secret[BB_KEY_SECRET_BYTES];
	uint64_t expires_s; /* 0: none */
	/* Not NUL-terminated; NULL: none. Decoded, it points into the body. */
	const char *policy_json;
	uint32_t policy_bytes;
};

struct bb_snapshot_entry {
	enum bb_snapshot_kind kind;
	union {
		struct bb_snapshot_queue queue;
		struct bb_snapshot_key key;
	};
};

/*
 * Encodes a snapshot into buf. Returns 0, -E2BIG when entries hold more queues than
 * BB_QUEUE_COUNT_MAX or keys than BB_KEY_COUNT_MAX (never a cut snapshot), -EINVAL for an
 * entry out of range, or -ENOBUFS when buf is too small (bb_snapshot_bytes_max says how big).
 */
__attribute__((warn_unused_result)) int bb_snapshot_encode(const struct bb_snapshot_header *header,
                                                           const struct bb_snapshot_entry *entries,
                                                           uint32_t entry_count, uint8_t *buf,
                                                           size_t capacity, size_t *length);
size_t bb_snapshot_bytes_max(uint32_t entry_count);

/* Called for each decoded entry once it is complete and in range. */
typedef void (*bb_snapshot_entry_fn)(void *context, const struct bb_snapshot_entry *entry);

/*
 * Decodes and checks a body: the format, the header, every entry complete and
 * in range, at most BB_QUEUE_COUNT_MAX queues. Returns WIRE_OK, or a status with
 * a reason in error (error_bytes long).
 */
__attribute__((warn_unused_result)) enum wire_status
bb_snapshot_decode(const uint8_t *body, size_t body_bytes, struct bb_snapshot_header *header,
                   bb_snapshot_entry_fn on_entry, void *context, char *error, size_t error_bytes);

/*
 * Whether busbard, running `applied` (NULL: nothing yet), takes `offered`.
 * Applied of an unknown store (format 1) counts as the offered one's, so an
 * upgrade keeps serving; versions still may not go back, even with ADOPT (the
 * sender numbers after the applied version instead).
 */
enum bb_snapshot_verdict bb_snapshot_decide(const struct bb_snapshot_header *applied,
                                            const struct bb_snapshot_header *offered);
/* One sentence on a refusal for logs and health (error_bytes long). */
void bb_snapshot_describe_refusal(const struct bb_snapshot_refusal *refusal,
                                  const struct bb_snapshot_header *offered, char *out,
                                  size_t out_bytes);
/* The refusal's fields, and reading them back from a reply body (false: none there). */
void bb_snapshot_put_refusal(struct wire_writer *writer, const struct bb_snapshot_refusal *refusal);
bool bb_snapshot_read_refusal(const uint8_t *body, size_t body_bytes,
                              struct bb_snapshot_refusal *out);
void bb_snapshot_store_id_text(const uint8_t *store_id, char out[BB_SNAPSHOT_STORE_ID_TEXT_BYTES]);

/* SQS: 1-80 characters, alphanumerics, hyphens and underscores; a FIFO queue's end in
 * ".fifo", which counts toward the 80. */
bool bb_queue_name_is_valid(const uint8_t *name, size_t name_bytes);
/* The name ends in ".fifo" (the name of a FIFO queue). */
bool bb_queue_name_is_fifo(const uint8_t *name, size_t name_bytes);

#endif
