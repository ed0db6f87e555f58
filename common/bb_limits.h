/*
 * Every capacity busbar has, in one place. The relationships between them are
 * asserted below so a change that breaks one fails the build, not a run.
 * Building with -DBB_TINY_LIMITS shrinks the ones tests need to reach.
 */
#ifndef BB_LIMITS_H
#define BB_LIMITS_H

/* Wire protocol. */
#define BB_WIRE_HEADER_BYTES     64u
#define BB_UDP_PAYLOAD_BYTES_MAX 65507u     /* 65535 - IPv4 20 - UDP 8 */
#define BB_LOCAL_BODY_BYTES_MAX  (1u << 21) /* Unix socket: 1 MiB message + fields */
#define BB_FIELD_COUNT_MAX       256u       /* fields per request or response body */
/* The largest UDP request busbard can take: rte_ip_frag joins at most 8 fragments
 * (RTE_LIBRTE_IP_FRAG_MAX_FRAG of Debian's DPDK 22.11), each carrying 1,480 bytes of IP
 * payload at the default MTU of 1500, the first of them with the 8-byte UDP header. */
#define BB_UDP_REQUEST_FRAGMENTS_MAX 8u
#define BB_UDP_REQUEST_BYTES_MAX     (BB_UDP_REQUEST_FRAGMENTS_MAX * 1480u - 8u) /* 11,832 */
/* A UDP reply to a source that has not shown its cookie is at most this many times its
 * request (docs/protocol.md, "Cookies"): no amplification toward forged addresses. */
#define BB_UDP_UNPROVEN_REPLY_FACTOR 3u

/* SQS semantics (AWS values; see docs/operations.md). */
#define BB_QUEUE_NAME_BYTES_MAX         80u
#define BB_MESSAGE_BODY_BYTES_MAX       (1u << 20) /* SQS MaximumMessageSize, 1 MiB */
#define BB_RECEIVE_COUNT_MAX            10u        /* MaxNumberOfMessages */
#define BB_VISIBILITY_TIMEOUT_S_MAX     43200u     /* 12 h */
#define BB_VISIBILITY_TIMEOUT_S_DEFAULT 30u
#define BB_WAIT_TIME_S_MAX              20u
#define BB_MESSAGE_ID_BYTES             36u /* UUID text */
#define BB_RECEIPT_HANDLE_BYTES         56u /* hex of the 28-byte handle */
/* FIFO queues: MessageGroupId and MessageDeduplicationId lengths, the deduplication window. */
#define BB_FIFO_ID_BYTES_MAX     128u
#define BB_FIFO_DEDUP_WINDOW_MS  300000u /* 5 minutes */

/* SNS topics and EventBridge buses (AWS values where AWS has one; docs/sns.md and
 * docs/eventbridge.md). Names, and what a snapshot carries for each. */
#define BB_TOPIC_NAME_BYTES_MAX      256u
#define BB_BUS_NAME_BYTES_MAX        256u
#define BB_RULE_NAME_BYTES_MAX       64u
#define BB_TARGET_ID_BYTES_MAX       64u
#define BB_TARGETS_PER_RULE_MAX      5u
#define BB_RULES_PER_BUS_MAX         300u
#define BB_SUBSCRIPTION_ENDPOINT_BYTES_MAX 2048u /* a URL, "ip:port" or a queue name */
#define BB_FILTER_POLICY_BYTES_MAX   (256u << 10)
#define BB_EVENT_PATTERN_BYTES_MAX   4096u /* 2,048 by AWS's default quota, 4,096 its max */
#define BB_SCHEDULE_BYTES_MAX        256u
#define BB_TARGET_INPUT_BYTES_MAX    8192u /* Input and InputTemplate */
#define BB_TARGET_PATHS_MAP_BYTES_MAX 16384u /* InputPathsMap: 100 entries as JSON */
/* A snapshot travels as one local-socket frame: all of it, routing included, fits one. */
#define BB_SNAPSHOT_BYTES_MAX        BB_LOCAL_BODY_BYTES_MAX

/* EventBridge PutEvents and target input (AWS values; docs/eventbridge.md). */
#define BB_BUS_PUT_ENTRIES_MAX       10u          /* entries per PutEvents */
#define BB_BUS_PUT_BYTES_MAX         (256u << 10) /* entry sizes of a request: total below */
#define BB_BUS_ENTRY_TIME_BYTES      14u          /* what a set Time adds to an entry's size */
#define BB_BUS_DETAIL_TYPE_CHARS_MAX 128u
#define BB_BUS_RESOURCES_MAX         64u /* ARNs per entry: AWS names no bound of its own */
#define BB_BUS_ARN_BYTES_MAX         1600u
#define BB_BUS_DETAIL_DEPTH_MAX      1000u /* JSON nesting of Detail */
#define BB_BUS_INPUT_PATH_BYTES_MAX  256u  /* InputPath and each path of InputPathsMap */
#define BB_BUS_INPUT_VARS_MAX        100u  /* InputPathsMap entries */
#define BB_BUS_PATH_SEGMENTS_MAX     64u   /* names and indexes of one JSONPath */
#define BB_BUS_REPLAY_NAME_BYTES_MAX 64u
#define BB_BUS_REGION_BYTES_MAX      32u
#define BB_BUS_ACCOUNT_BYTES         12u

/* Keys and their policies (docs/operations.md, "Keys"): the same credential signs UDP
 * requests (the header's key id and MAC) and HTTP requests (SigV4). */
#define BB_KEY_SECRET_BYTES         40u   /* printable, as AWS secret access keys */
#define BB_KEY_OVERLAP_S_MAX        2592000u /* a rotated key's old secret: at most 30 days */
#define BB_POLICY_BYTES_MAX         6144u /* an IAM managed policy's size limit */
#define BB_POLICY_STATEMENTS_MAX    32u
#define BB_POLICY_PATTERNS_MAX      128u  /* actions and resources of all statements */
#define BB_AUTH_SKEW_MS_DEFAULT     300000u /* +-5 min between a request's clock and ours */
#define BB_AUTH_SKEW_MS_MAX         3600000u
#define BB_REPLAY_WINDOW_BITS       1024u /* RFC 6479 bitmap per client, a power of 2 */

/* Dataplane capacities, per worker lcore. */
#ifndef BB_TINY_LIMITS
#define BB_WORKER_COUNT_MAX           8u
#define BB_QUEUE_COUNT_MAX            1024u /* queues in one snapshot */
#define BB_QUEUE_SLOTS_PER_WORKER     1024u
#define BB_MESSAGE_SLOTS_PER_WORKER   (1u << 18)
#define BB_PARKED_RECEIVES_PER_WORKER 4096u
#define BB_DEDUP_ENTRIES_PER_WORKER   8192u
#define BB_DEDUP_ARENA_BYTES          (16u << 20)
#define BB_FRAGMENT_MBUFS_PER_WORKER_MAX 128u /* frames waiting for reassembly */
#define BB_KEY_COUNT_MAX              1024u /* keys in one snapshot */
#define BB_AUTH_CLIENTS_PER_WORKER    4096u /* replay windows a worker keeps */
#define BB_AUTH_SOURCES_PER_WORKER    4096u /* token buckets a worker keeps */
#define BB_FIFO_GROUPS_PER_WORKER     65536u /* message groups with messages, all queues */
#define BB_FIFO_DEDUP_PER_WORKER      65536u /* deduplication ids in their 5-minute window */
#define BB_FIFO_ATTEMPTS_PER_WORKER   4096u  /* ReceiveRequestAttemptIds kept for a retry */
#define BB_TOPIC_COUNT_MAX            1024u /* topics in one snapshot */
#define BB_SUBSCRIPTION_COUNT_MAX     4096u /* subscriptions of all topics */
#define BB_BUS_COUNT_MAX              256u  /* buses in one snapshot, default included */
#define BB_RULE_COUNT_MAX             4096u /* rules of all buses */
#define BB_TARGET_COUNT_MAX           8192u /* targets of all rules */
#else
#define BB_WORKER_COUNT_MAX           2u
#define BB_QUEUE_COUNT_MAX            8u
#define BB_QUEUE_SLOTS_PER_WORKER     8u
#define BB_MESSAGE_SLOTS_PER_WORKER   16u
#define BB_PARKED_RECEIVES_PER_WORKER 4u
#define BB_DEDUP_ENTRIES_PER_WORKER   8u
#define BB_DEDUP_ARENA_BYTES          (256u << 10)
#define BB_FRAGMENT_MBUFS_PER_WORKER_MAX 16u
#define BB_KEY_COUNT_MAX              4u
#define BB_AUTH_CLIENTS_PER_WORKER    4u
#define BB_AUTH_SOURCES_PER_WORKER    4u
#define BB_FIFO_GROUPS_PER_WORKER     8u
#define BB_FIFO_DEDUP_PER_WORKER      8u
#define BB_FIFO_ATTEMPTS_PER_WORKER   4u
#define BB_TOPIC_COUNT_MAX            4u
#define BB_SUBSCRIPTION_COUNT_MAX     8u
#define BB_BUS_COUNT_MAX              4u
#define BB_RULE_COUNT_MAX             8u
#define BB_TARGET_COUNT_MAX           16u
#endif

#define BB_RING_SLOTS            1024u /* request and reply rings between lcores */
#define BB_BURST_MAX             32u
#define BB_LOCAL_CONNECTIONS_MAX 64u /* Unix-socket clients at once */
/* One request of a local connection is served at a time, so its unsent output is at most
 * one reply; a connection idle this long is closed, and one in the slot kept for the control
 * plane sooner (docs/operations.md, "The local socket"). */
#define BB_LOCAL_OUT_BYTES_MAX            (BB_WIRE_HEADER_BYTES + BB_LOCAL_BODY_BYTES_MAX)
#define BB_LOCAL_IDLE_TIMEOUT_MS          60000u
#define BB_LOCAL_RESERVED_IDLE_TIMEOUT_MS 1000u
/* A parked long poll holds its request's frame mbuf until answered: a worker parks at most
 * this fraction of its share of frame_mbufs (never more than BB_PARKED_RECEIVES_PER_WORKER),
 * one source at most this fraction of those places (docs/operations.md, "Long polling"). */
#define BB_PARKED_FRAME_SHARE_DIVISOR  4u
#define BB_PARKED_SOURCE_SHARE_DIVISOR 8u
/* What a worker's share of the frame pool serves besides parked receives: one mbuf in each
 * RX descriptor of its port queue, a burst taken from them, a full TX batch (dp_tx) and
 * fragments waiting for reassembly. The port's TX descriptors hold none: the vdevs busbard
 * runs on (net_tap, net_memif, net_af_packet) copy a frame out and free it at once. */
#define BB_RX_DESCRIPTORS_PER_WORKER     1024u
#define BB_TX_BATCH_FRAMES               256u
#define BB_FRAME_MBUFS_SERVED_PER_WORKER                                                           \
	(BB_RX_DESCRIPTORS_PER_WORKER + BB_BURST_MAX + BB_TX_BATCH_FRAMES +                        \
	 BB_FRAGMENT_MBUFS_PER_WORKER_MAX)
/* The frame pool (config frame_mbufs) holds at least this many per worker: parked receives
 * take their fraction of it and leave the above (1,920; 1,771 with tiny limits). */
#define BB_FRAME_MBUFS_PER_WORKER_MIN                                                              \
	((BB_FRAME_MBUFS_SERVED_PER_WORKER * BB_PARKED_FRAME_SHARE_DIVISOR +                       \
	  BB_PARKED_FRAME_SHARE_DIVISOR - 2) /                                                     \
	 (BB_PARKED_FRAME_SHARE_DIVISOR - 1))

_Static_assert(BB_QUEUE_SLOTS_PER_WORKER >= BB_QUEUE_COUNT_MAX / BB_WORKER_COUNT_MAX,
               "workers together must hold every queue of a full snapshot");
_Static_assert(BB_DEDUP_ARENA_BYTES >= 2 * BB_UDP_PAYLOAD_BYTES_MAX,
               "the dedup arena holds at least two full-size replies");
_Static_assert(BB_LOCAL_BODY_BYTES_MAX > BB_MESSAGE_BODY_BYTES_MAX,
               "a maximal message fits a local request with its other fields");
_Static_assert((BB_RING_SLOTS & (BB_RING_SLOTS - 1)) == 0, "rte_ring sizes are powers of 2");
_Static_assert((BB_REPLAY_WINDOW_BITS & (BB_REPLAY_WINDOW_BITS - 1)) == 0 &&
                   BB_REPLAY_WINDOW_BITS >= 128,
               "the replay window is whole 64-bit blocks, a power of 2 of them");
_Static_assert(BB_POLICY_PATTERNS_MAX < 65536 && BB_POLICY_BYTES_MAX < 65536,
               "policy patterns are indexed with 16 bits");
_Static_assert(BB_LOCAL_IDLE_TIMEOUT_MS > 2 * BB_WAIT_TIME_S_MAX * 1000u,
               "a local connection waiting for a long poll is not idle");
_Static_assert(BB_FRAGMENT_MBUFS_PER_WORKER_MAX * 4 <= BB_FRAME_MBUFS_PER_WORKER_MIN,
               "fragments waiting for reassembly hold at most a quarter of the frame pool");
_Static_assert(BB_FRAGMENT_MBUFS_PER_WORKER_MAX >= BB_UDP_REQUEST_FRAGMENTS_MAX,
               "the largest UDP request can be reassembled");
_Static_assert(BB_FRAGMENT_MBUFS_PER_WORKER_MAX +
                       BB_FRAME_MBUFS_PER_WORKER_MIN / BB_PARKED_FRAME_SHARE_DIVISOR <=
                   BB_FRAME_MBUFS_PER_WORKER_MIN / 2,
               "fragments and parked receives together leave RX at least half the frame pool");
_Static_assert(BB_FRAME_MBUFS_PER_WORKER_MIN / BB_PARKED_FRAME_SHARE_DIVISOR >=
                   BB_PARKED_SOURCE_SHARE_DIVISOR,
               "every source may park a receive");
_Static_assert(BB_FRAME_MBUFS_PER_WORKER_MIN -
                       BB_FRAME_MBUFS_PER_WORKER_MIN / BB_PARKED_FRAME_SHARE_DIVISOR >=
                   BB_FRAME_MBUFS_SERVED_PER_WORKER,
               "what parked receives leave of the smallest share fills RX and serves TX");

/* SNS topic engine (dataplane/engines/topic.h; AWS values, docs/sns.md). A Publish's size
 * counts the message and every attribute's name, type and value, as SNS counts it. */
#define BB_TOPIC_MESSAGE_BYTES_MAX        262144u /* 256 KiB */
#define BB_TOPIC_SUBJECT_BYTES_MAX        100u
#define BB_TOPIC_ATTRIBUTES_MAX           10u /* message attributes of one Publish */
#define BB_TOPIC_ATTRIBUTE_NAME_BYTES_MAX 256u
#define BB_TOPIC_ATTRIBUTE_TYPE_BYTES_MAX 256u /* DataType with its ".label" */
#define BB_TOPIC_ARN_BYTES_MAX            256u
#define BB_TOPIC_URL_BYTES_MAX            2048u /* SigningCertURL, UnsubscribeURL */
#define BB_TOPIC_PROTOCOL_BYTES_MAX       16u   /* "sqs", "https", "email-json", ... */
#define BB_TOPIC_SIGNATURE_BYTES_MAX      1024u /* base64 of an RSA-4096 signature: 684 */
#ifndef BB_TINY_LIMITS
#define BB_TOPIC_SUBSCRIPTIONS_MAX 256u   /* of one topic, with or without a policy */
#define BB_TOPIC_SLOTS_PER_WORKER  1024u  /* topics one worker owns */
#define BB_TOPIC_DEDUP_PER_WORKER  65536u /* FIFO topics' ids in their 5-minute window */
#else
#define BB_TOPIC_SUBSCRIPTIONS_MAX 4u
#define BB_TOPIC_SLOTS_PER_WORKER  4u
#define BB_TOPIC_DEDUP_PER_WORKER  8u
#endif
_Static_assert(BB_TOPIC_ATTRIBUTES_MAX <= 255 && BB_TOPIC_SUBJECT_BYTES_MAX <= 255,
               "a topic record counts attributes and subject bytes in one byte each");
_Static_assert(BB_TOPIC_MESSAGE_BYTES_MAX <= BB_MESSAGE_BODY_BYTES_MAX,
               "a delivery of a maximal raw message fits a queue");

#endif
