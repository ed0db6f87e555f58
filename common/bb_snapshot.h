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
 *          MAXIMUM_MESSAGE_BYTES, QUEUE_FLAGS (format 2, only when not 0), QUEUE_DELAY_S,
 *          QUEUE_RETENTION_S, and with a RedrivePolicy QUEUE_DEAD_LETTER_QUEUE (the
 *          dead-letter queue's name) and QUEUE_MAX_RECEIVE_COUNT (both or neither).
 *   key:   KEY_BEGIN, KEY_ID (u32, not 0), KEY_SECRET (BB_KEY_SECRET_BYTES),
 *          KEY_EXPIRES_S (u64, 0: none), KEY_POLICY (JSON, optional: none allows
 *          nothing). Keys carry secrets: the body is never world-readable.
 *   topic, subscription, bus, rule, target: a begin field of their own and the fields of
 *          struct bb_snapshot_topic ... bb_snapshot_target below, each field at most once
 *          (bb_snapshot_routing.c has the table). Text fields are not NUL-terminated and,
 *          decoded, point into the body. Which topic or bus an entry belongs to, and what
 *          a target or endpoint names, busbard checks against the other entries.
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
/* Encoded sizes: a queue is at most eleven fields, the header at most four. */
#define BB_SNAPSHOT_QUEUE_BYTES_MAX                                                                \
	(11 * WIRE_FIELD_HEADER_BYTES + 2 * BB_QUEUE_NAME_BYTES_MAX + 8 + 7 * 4)
/* RedrivePolicy's maxReceiveCount, as SQS. */
#define BB_MAX_RECEIVE_COUNT_MIN 1u
#define BB_MAX_RECEIVE_COUNT_MAX 1000u
/* A queue's flags: FIFO (its name ends in ".fifo", and only then), content-based
 * deduplication (FIFO only). */
#define BB_SNAPSHOT_QUEUE_FIFO          0x1u
#define BB_SNAPSHOT_QUEUE_CONTENT_DEDUP 0x2u
/* busbar:Durability=memory: the queue's messages are not logged (docs/durability.md). */
#define BB_SNAPSHOT_QUEUE_MEMORY 0x4u
/* FIFO only: DeduplicationScope=messageGroup (the 5-minute window is per group), and
 * FifoThroughputLimit=perMessageGroupId (only with it; busbar does not throttle, so it changes
 * nothing else). An older busbard refuses a snapshot with these flags. */
#define BB_SNAPSHOT_QUEUE_DEDUP_PER_GROUP      0x8u
#define BB_SNAPSHOT_QUEUE_THROUGHPUT_PER_GROUP 0x10u
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
	/* A queue's DelaySeconds (absent: 0) and MessageRetentionPeriod (absent: the default). */
	BB_SNAPSHOT_TAG_QUEUE_DELAY_S = 0x105,     /* u32, 0-WIRE_DELAY_S_MAX */
	BB_SNAPSHOT_TAG_QUEUE_RETENTION_S = 0x106, /* u32, WIRE_RETENTION_S_MIN-_MAX */
	/* A queue's RedrivePolicy: its dead-letter queue (a name of the same type, not its
	 * own) and maxReceiveCount. Absent: none. */
	BB_SNAPSHOT_TAG_QUEUE_DEAD_LETTER_QUEUE = 0x107, /* 1-BB_QUEUE_NAME_BYTES_MAX */
	BB_SNAPSHOT_TAG_QUEUE_MAX_RECEIVE_COUNT = 0x108, /* u32, 1-1000 */
	BB_SNAPSHOT_TAG_KEY_BEGIN = 0x110,     /* empty; starts one key */
	BB_SNAPSHOT_TAG_KEY_ID = 0x111,        /* u32 */
	BB_SNAPSHOT_TAG_KEY_SECRET = 0x112,    /* BB_KEY_SECRET_BYTES */
	BB_SNAPSHOT_TAG_KEY_EXPIRES_S = 0x113, /* u64 */
	BB_SNAPSHOT_TAG_KEY_POLICY = 0x114,    /* at most BB_POLICY_BYTES_MAX */
	/* Routing entries: one begin tag per kind, then that kind's fields. */
	BB_SNAPSHOT_TAG_TOPIC_BEGIN = 0x120,
	BB_SNAPSHOT_TAG_TOPIC_NAME = 0x121,
	BB_SNAPSHOT_TAG_TOPIC_ID = 0x122,
	BB_SNAPSHOT_TAG_TOPIC_FLAGS = 0x123,
	BB_SNAPSHOT_TAG_SUBSCRIPTION_BEGIN = 0x130,
	BB_SNAPSHOT_TAG_SUBSCRIPTION_ID = 0x131,
	BB_SNAPSHOT_TAG_SUBSCRIPTION_TOPIC_ID = 0x132,
	BB_SNAPSHOT_TAG_SUBSCRIPTION_PROTOCOL = 0x133,
	BB_SNAPSHOT_TAG_SUBSCRIPTION_FLAGS = 0x134,
	BB_SNAPSHOT_TAG_SUBSCRIPTION_ENDPOINT = 0x135,
	BB_SNAPSHOT_TAG_SUBSCRIPTION_FILTER_POLICY = 0x136,
	BB_SNAPSHOT_TAG_SUBSCRIPTION_DEAD_LETTER_QUEUE = 0x137,
	BB_SNAPSHOT_TAG_SUBSCRIPTION_ARN = 0x138,
	BB_SNAPSHOT_TAG_BUS_BEGIN = 0x140,
	BB_SNAPSHOT_TAG_BUS_NAME = 0x141,
	BB_SNAPSHOT_TAG_BUS_ID = 0x142,
	BB_SNAPSHOT_TAG_BUS_FLAGS = 0x143,
	BB_SNAPSHOT_TAG_BUS_ARCHIVE_DAYS = 0x144,
	BB_SNAPSHOT_TAG_RULE_BEGIN = 0x150,
	BB_SNAPSHOT_TAG_RULE_ID = 0x151,
	BB_SNAPSHOT_TAG_RULE_BUS_ID = 0x152,
	BB_SNAPSHOT_TAG_RULE_NAME = 0x153,
	BB_SNAPSHOT_TAG_RULE_FLAGS = 0x154,
	BB_SNAPSHOT_TAG_RULE_PATTERN = 0x155,
	BB_SNAPSHOT_TAG_RULE_SCHEDULE = 0x156,
	BB_SNAPSHOT_TAG_TARGET_BEGIN = 0x160,
	BB_SNAPSHOT_TAG_TARGET_RULE_ID = 0x161,
	BB_SNAPSHOT_TAG_TARGET_ID = 0x162,
	BB_SNAPSHOT_TAG_TARGET_KIND = 0x163,
	BB_SNAPSHOT_TAG_TARGET_RESOURCE = 0x164,
	BB_SNAPSHOT_TAG_TARGET_INPUT_KIND = 0x165,
	BB_SNAPSHOT_TAG_TARGET_INPUT = 0x166,
	BB_SNAPSHOT_TAG_TARGET_INPUT_PATHS_MAP = 0x167,
	BB_SNAPSHOT_TAG_TARGET_MESSAGE_GROUP_ID = 0x168,
	BB_SNAPSHOT_TAG_TARGET_RETRY_ATTEMPTS_MAX = 0x169,
	BB_SNAPSHOT_TAG_TARGET_EVENT_AGE_S_MAX = 0x16a,
	BB_SNAPSHOT_TAG_TARGET_DEAD_LETTER_QUEUE = 0x16b,
};

/* What an entry configures. Streams come as a new kind. */
enum bb_snapshot_kind {
	BB_SNAPSHOT_KIND_QUEUE = 1,
	BB_SNAPSHOT_KIND_KEY = 2, /* an access key (control/ctl_keys.h) */
	BB_SNAPSHOT_KIND_TOPIC = 3,
	BB_SNAPSHOT_KIND_SUBSCRIPTION = 4, /* of a topic */
	BB_SNAPSHOT_KIND_BUS = 5,
	BB_SNAPSHOT_KIND_RULE = 6,   /* of a bus */
	BB_SNAPSHOT_KIND_TARGET = 7, /* of a rule */
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
	uint32_t delay_s;
	uint32_t retention_s; /* 0: WIRE_RETENTION_S_DEFAULT */
	char dead_letter_queue[BB_QUEUE_NAME_BYTES_MAX + 1]; /* RedrivePolicy's; "" none */
	uint32_t dead_letter_queue_bytes;
	uint32_t max_receive_count; /* with a dead-letter queue 1-1000, else 0 */
};

struct bb_snapshot_key {
	uint32_t key_id;
	uint8_t secret[BB_KEY_SECRET_BYTES];
	uint64_t expires_s; /* 0: none */
	/* Not NUL-terminated; NULL: none. Decoded, it points into the body. */
	const char *policy_json;
	uint32_t policy_bytes;
};

/* Text of a routing entry: not NUL-terminated; decoded, it points into the body.
 * data NULL: the field is absent. */
struct bb_text {
	const char *data;
	uint32_t bytes;
};

/* A topic's flags: FIFO (its name ends in ".fifo", and only then), content-based
 * deduplication (FIFO only), busbar:Durability=memory. */
#define BB_SNAPSHOT_TOPIC_FIFO          0x1u
#define BB_SNAPSHOT_TOPIC_CONTENT_DEDUP 0x2u
#define BB_SNAPSHOT_TOPIC_MEMORY        0x4u
#define BB_SNAPSHOT_TOPIC_SIGNATURE_V1  0x8u /* SignatureVersion 1 (SHA1withRSA), else 2 */

struct bb_snapshot_topic {
	struct bb_text name; /* 1-BB_TOPIC_NAME_BYTES_MAX */
	uint64_t topic_id;
	uint32_t flags; /* BB_SNAPSHOT_TOPIC_* */
};

enum bb_subscription_protocol {
	BB_SUBSCRIPTION_SQS = 1,   /* endpoint: the name of a queue of this appliance */
	BB_SUBSCRIPTION_UDP = 2,   /* endpoint: "a.b.c.d:port", busbar's Deliver frames */
	BB_SUBSCRIPTION_HTTP = 3,  /* endpoint: the URL; delivered by busbar-control */
	BB_SUBSCRIPTION_HTTPS = 4,
};
/* RawMessageDelivery; FilterPolicyScope MessageBody (else MessageAttributes); confirmed
 * (an http(s) subscription pending confirmation is not delivered to). */
#define BB_SNAPSHOT_SUBSCRIPTION_RAW        0x1u
#define BB_SNAPSHOT_SUBSCRIPTION_SCOPE_BODY 0x2u
#define BB_SNAPSHOT_SUBSCRIPTION_CONFIRMED  0x4u

struct bb_snapshot_subscription {
	uint64_t subscription_id;
	uint64_t topic_id;
	uint32_t protocol; /* enum bb_subscription_protocol */
	uint32_t flags;    /* BB_SNAPSHOT_SUBSCRIPTION_* */
	struct bb_text endpoint;          /* 1-BB_SUBSCRIPTION_ENDPOINT_BYTES_MAX */
	struct bb_text filter_policy;     /* optional, JSON */
	struct bb_text dead_letter_queue; /* optional: a queue name (its RedrivePolicy) */
	struct bb_text arn; /* optional: its SubscriptionArn, for the envelope's UnsubscribeURL */
};

#define BB_SNAPSHOT_BUS_MEMORY   0x1u /* busbar:Durability=memory */
#define BB_SNAPSHOT_BUS_ARCHIVED 0x2u /* it has an archive: its events are kept archive_days */

struct bb_snapshot_bus {
	struct bb_text name; /* 1-BB_BUS_NAME_BYTES_MAX */
	uint64_t bus_id;
	uint32_t flags;        /* BB_SNAPSHOT_BUS_* */
	uint32_t archive_days; /* ARCHIVED: the longest RetentionDays of its archives, 0 forever */
};

#define BB_SNAPSHOT_RULE_ENABLED 0x1u

struct bb_snapshot_rule {
	uint64_t rule_id;
	uint64_t bus_id;
	struct bb_text name;     /* 1-BB_RULE_NAME_BYTES_MAX */
	uint32_t flags;          /* BB_SNAPSHOT_RULE_* */
	struct bb_text pattern;  /* EventPattern JSON; a rule has a pattern, a schedule or both */
	struct bb_text schedule; /* ScheduleExpression: rate(...) or cron(...) */
};

enum bb_target_kind {
	BB_TARGET_QUEUE = 1, /* resource: a queue name */
	BB_TARGET_TOPIC = 2, /* resource: a topic name */
	BB_TARGET_BUS = 3,   /* resource: a bus name */
	BB_TARGET_UDP = 4,   /* resource: "a.b.c.d:port" */
};

enum bb_target_input {
	BB_TARGET_INPUT_EVENT = 0,       /* the whole event */
	BB_TARGET_INPUT_CONSTANT = 1,    /* input: Input, JSON */
	BB_TARGET_INPUT_PATH = 2,        /* input: InputPath */
	BB_TARGET_INPUT_TRANSFORMER = 3, /* input: InputTemplate; input_paths_map: InputPathsMap */
};

struct bb_snapshot_target {
	uint64_t rule_id;
	struct bb_text id; /* the rule's target Id, 1-BB_TARGET_ID_BYTES_MAX */
	uint32_t kind;     /* enum bb_target_kind */
	struct bb_text resource;
	uint32_t input_kind; /* enum bb_target_input */
	struct bb_text input;
	struct bb_text input_paths_map;
	struct bb_text message_group_id;  /* SqsParameters.MessageGroupId, FIFO queues */
	uint32_t retry_attempts_max;      /* RetryPolicy.MaximumRetryAttempts, 0-185 */
	uint32_t event_age_s_max;         /* RetryPolicy.MaximumEventAgeInSeconds, 60-86400 */
	struct bb_text dead_letter_queue; /* optional: a queue name (DeadLetterConfig) */
};

struct bb_snapshot_entry {
	enum bb_snapshot_kind kind;
	union {
		struct bb_snapshot_queue queue;
		struct bb_snapshot_key key;
		struct bb_snapshot_topic topic;
		struct bb_snapshot_subscription subscription;
		struct bb_snapshot_bus bus;
		struct bb_snapshot_rule rule;
		struct bb_snapshot_target target;
	};
};

/*
 * Encodes a snapshot into buf. Returns 0, -E2BIG when entries hold more of a kind than its
 * BB_*_COUNT_MAX or more bytes than BB_SNAPSHOT_BYTES_MAX (never a cut snapshot), -EINVAL for an
 * entry out of range, or -ENOBUFS when buf is too small (bb_snapshot_bytes_max says how big).
 */
__attribute__((warn_unused_result)) int bb_snapshot_encode(const struct bb_snapshot_header *header,
                                                           const struct bb_snapshot_entry *entries,
                                                           uint32_t entry_count, uint8_t *buf,
                                                           size_t capacity, size_t *length);
size_t bb_snapshot_bytes_max(uint32_t entry_count);
/* What one entry of any kind takes at most, encoded (a routing entry: exactly). A snapshot
 * is at most BB_SNAPSHOT_BYTES_MAX: bb_snapshot_encode refuses a larger one with -E2BIG. */
size_t bb_snapshot_entry_bytes_max(const struct bb_snapshot_entry *entry);

/* Called for each decoded entry once it is complete and in range. */
typedef void (*bb_snapshot_entry_fn)(void *context, const struct bb_snapshot_entry *entry);

/*
 * Decodes and checks a body: the format, the header, every entry complete and
 * in range, at most BB_*_COUNT_MAX of each kind. Returns WIRE_OK, or a status with
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
/* The name ends in ".fifo" (the name of a FIFO queue or topic). */
bool bb_queue_name_is_fifo(const uint8_t *name, size_t name_bytes);
/* SNS: 1-256 of alphanumerics, hyphens and underscores; a FIFO topic's end in ".fifo". */
bool bb_topic_name_is_valid(const uint8_t *name, size_t name_bytes);
/* EventBridge: a bus 1-256 of alphanumerics and . - _ / ; a rule 1-64 and a target id
 * 1-64 of alphanumerics and . - _ */
bool bb_bus_name_is_valid(const uint8_t *name, size_t name_bytes);
bool bb_rule_name_is_valid(const uint8_t *name, size_t name_bytes);
bool bb_target_id_is_valid(const uint8_t *id, size_t id_bytes);

#endif
