/*
 * libbusbar: the C client of busbard's wire protocol, over kernel UDP (the
 * DPDK port) or the local Unix socket. Every call returns 0 on success, a
 * positive enum wire_status when busbard answered with an error (the AWS
 * error code is wire_status_name(), the message bb_client_error()), or a
 * negative errno for transport failures:
 *   -ETIMEDOUT  no reply after every attempt (and the longest long poll, below);
 *   -EMSGSIZE   the request is larger than the transport carries, refused
 *               before anything is sent: over UDP busbard reassembles at most
 *               BB_UDP_REQUEST_BYTES_MAX bytes (a message body of about 11.7 KB;
 *               bb_client_error() says how much), larger bodies go over the local
 *               socket (unix_socket);
 *   -EINVAL     fields too long to encode (a queue name over 80 bytes, say);
 *   -EBADMSG    over UDP with a key: replies came but none was signed with the key
 *               (a MAC that fails, a flipped bit, or no MAC), so none was believed
 *               (docs/protocol.md, "Authentication");
 *   -EPROTO     a reply that breaks the protocol (bb_client_error() says how): over the
 *               local socket a frame too large, in a receive's reply more than 10
 *               messages or attributes, or an attribute field outside an attribute.
 * A retry resends the same request id, so busbard answers it with the first
 * answer and never acts twice. A UDP receive proves the client's address with
 * a cookie (docs/protocol.md); the library fetches and renews it by itself.
 */
#ifndef BUSBAR_H
#define BUSBAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bb_limits.h"
#include "wire.h"

struct bb_client;

struct bb_client_options {
	const char *server_ip; /* UDP transport: busbard's port address */
	uint16_t server_port;
	const char *unix_socket; /* or the local socket (takes precedence) */
	/*
	 * Per attempt; default 1000. A call gives up after `attempts` of them plus
	 * the long poll it may wait for: a receive's wait_time_s, or when it is
	 * left to the queue, BB_WAIT_TIME_S_MAX (20 s), since the client cannot
	 * know the queue's ReceiveMessageWaitTimeSeconds. Over UDP the request is
	 * sent again every timeout_ms meanwhile.
	 */
	uint32_t timeout_ms;
	uint32_t attempts; /* UDP only; default 3 */
	/*
	 * A key (docs/protocol.md, "Authentication"): every request is signed with it, and
	 * over UDP a reply is taken only if its MAC verifies with it, but for busbard's
	 * unsigned refusals of the signature itself, which come back as their status
	 * (never as a success). Both or neither; NULL: unsigned requests, which busbard
	 * takes only in its explicit unauthenticated mode.
	 */
	const char *access_key_id;     /* "BB..." (20 characters) */
	const char *secret_access_key; /* 40 characters */
	/* UDP: the local port to bind (0: any). A udp subscription's endpoint names it: busbard
	 * sends its Deliver frames there (bb_delivery_poll). */
	uint16_t local_port;
};

struct bb_sent {
	char message_id[BB_MESSAGE_ID_BYTES + 1];
	char md5_of_body[33];
	char sequence_number[WIRE_SEQUENCE_NUMBER_BYTES_MAX + 1]; /* FIFO queues; else "" */
	char md5_of_message_attributes[33]; /* when it has attributes; else "" */
};

/*
 * One message attribute (docs/protocol.md, "Message attributes"): a String or Number type
 * (with any ".suffix") carries string_value, a Binary one binary_value of binary_bytes.
 */
struct bb_attribute {
	const char *name;
	const char *data_type;
	const char *string_value;
	const void *binary_value;
	size_t binary_bytes;
};

/* SendMessage's optional fields; NULL: absent. */
struct bb_send_options {
	const char *message_group_id;         /* required by a FIFO queue */
	const char *message_deduplication_id; /* FIFO: needed without content-based dedup */
	const struct bb_attribute *attributes; /* up to WIRE_ATTRIBUTES_MAX */
	uint32_t attribute_count;
	const char *aws_trace_header; /* the AWSTraceHeader system attribute */
	/* DelaySeconds (0-900, standard queues only) when delay_set; else the queue's. */
	bool delay_set;
	uint32_t delay_s;
};

/* A received message's attribute (bytes in the client's reply buffer, not NUL-terminated). */
struct bb_received_attribute {
	const char *name;
	uint32_t name_bytes;
	const char *data_type;
	uint32_t data_type_bytes;
	const uint8_t *value; /* a StringValue's text, or a BinaryValue's bytes */
	uint32_t value_bytes;
	bool binary;
};

/* Points into the client's reply buffer: valid until its next call. */
struct bb_message {
	char message_id[BB_MESSAGE_ID_BYTES + 1];
	char receipt_handle[BB_RECEIPT_HANDLE_BYTES + 1];
	char md5_of_body[33];
	const uint8_t *body;
	uint32_t body_bytes;
	uint32_t receive_count;
	uint64_t sent_ms;
	uint64_t first_receive_ms;
	char sequence_number[WIRE_SEQUENCE_NUMBER_BYTES_MAX + 1]; /* FIFO queues; else "" */
	char message_group_id[BB_FIFO_ID_BYTES_MAX + 1];          /* FIFO queues; else "" */
	char message_deduplication_id[BB_FIFO_ID_BYTES_MAX + 1];  /* FIFO queues; else "" */
	/* Of all its attributes, whichever were asked for; "" when it has none. */
	char md5_of_message_attributes[33];
	/* The attributes message_attribute_names selected, in name order. */
	uint32_t attribute_count;
	struct bb_received_attribute attributes[WIRE_ATTRIBUTES_MAX];
	const char *aws_trace_header; /* NULL when it was sent without one */
	uint32_t aws_trace_header_bytes;
	/* DeadLetterQueueSourceArn: the queue a RedrivePolicy moved it from; NULL when none. */
	const char *dead_letter_queue_source_arn;
	uint32_t dead_letter_queue_source_arn_bytes;
};

struct bb_receive_options {
	uint32_t max_messages; /* 1-10; 0 means 1 */
	int32_t visibility_timeout_s; /* < 0: the queue's */
	int32_t wait_time_s; /* < 0: the queue's */
	/* MessageAttributeNames: names, "All", ".*" or "prefix.*" (up to
	 * WIRE_MESSAGE_ATTRIBUTE_NAMES_MAX); none: no attributes are returned. */
	const char *const *message_attribute_names;
	uint32_t message_attribute_name_count;
	/* ReceiveRequestAttemptId (FIFO queues; 1-128 letters, digits or punctuation), NULL for
	 * none: a retry with the same id within 5 minutes gets the same messages and receipt
	 * handles, while none of them was deleted or changed (docs/operations.md). */
	const char *receive_request_attempt_id;
};

struct bb_client *bb_client_open(const struct bb_client_options *options, int *error_out);
void bb_client_close(struct bb_client *client);
/* The message of the last error answer, or a transport description. */
const char *bb_client_error(const struct bb_client *client);
/* The request id the next call will use (tests use it to show retries reuse it). */
uint64_t bb_client_next_request_id(const struct bb_client *client);

int bb_ping(struct bb_client *client);
int bb_send_message(struct bb_client *client, const char *queue, const void *body,
                    size_t body_bytes, struct bb_sent *out);
/* SendMessage with options: FIFO ids, message attributes, a trace header, a delay. */
int bb_send_message_with(struct bb_client *client, const char *queue, const void *body,
                         size_t body_bytes, const struct bb_send_options *options,
                         struct bb_sent *out);
/* messages must hold BB_RECEIVE_COUNT_MAX; *count_out is how many arrived. */
int bb_receive_message(struct bb_client *client, const char *queue,
                       const struct bb_receive_options *options, struct bb_message *messages,
                       uint32_t *count_out);
int bb_delete_message(struct bb_client *client, const char *queue, const char *receipt_handle);
int bb_change_message_visibility(struct bb_client *client, const char *queue,
                                 const char *receipt_handle, uint32_t timeout_s);

/*
 * One entry of a batch call (docs/protocol.md, "Batches"): the caller fills id (1-80 of
 * A-Z, a-z, 0-9, - and _, distinct in the batch) and its operation's fields; the call fills
 * status (0, or the wire_status that failed this entry alone) and, for a send, the ids.
 */
struct bb_batch_entry {
	const char *id;
	const void *body; /* send */
	size_t body_bytes;
	const struct bb_attribute *attributes; /* send: up to WIRE_ATTRIBUTES_MAX */
	uint32_t attribute_count;
	const char *aws_trace_header;  /* send: AWSTraceHeader, NULL for none */
	const char *message_group_id;  /* send to a FIFO queue: MessageGroupId, NULL for none */
	const char *message_deduplication_id; /* send to a FIFO queue, NULL for none */
	const char *receipt_handle;    /* delete, change visibility */
	uint32_t visibility_timeout_s; /* change visibility */
	int status;                    /* out */
	char message_id[BB_MESSAGE_ID_BYTES + 1]; /* out: a send's */
	char md5_of_body[33];
	char md5_of_message_attributes[33]; /* out: a send's with attributes, else "" */
	char sequence_number[WIRE_SEQUENCE_NUMBER_BYTES_MAX + 1]; /* out: a FIFO send's, else "" */
};

/*
 * Up to WIRE_BATCH_ENTRIES_MAX entries in one request. 0 when busbard answered every entry
 * (each with its own status), a positive wire_status when the batch failed as a whole
 * (EmptyBatchRequest, TooManyEntriesInBatchRequest, BatchEntryIdsNotDistinct,
 * BatchRequestTooLong, InvalidBatchEntryId, ...), a negative errno as above.
 */
int bb_send_message_batch(struct bb_client *client, const char *queue,
                          struct bb_batch_entry *entries, uint32_t count);
int bb_delete_message_batch(struct bb_client *client, const char *queue,
                            struct bb_batch_entry *entries, uint32_t count);
int bb_change_message_visibility_batch(struct bb_client *client, const char *queue,
                                       struct bb_batch_entry *entries, uint32_t count);

/* SNS Publish's optional fields; NULL or 0: absent. */
struct bb_publish_options {
	const char *subject;
	const char *message_structure; /* "json": the message is a JSON object of texts */
	const char *message_group_id;  /* a FIFO topic's */
	const char *message_deduplication_id;
	const struct bb_attribute *attributes; /* up to WIRE_ATTRIBUTES_MAX */
	uint32_t attribute_count;
};

struct bb_published {
	char message_id[BB_MESSAGE_ID_BYTES + 1];
	char sequence_number[WIRE_SEQUENCE_NUMBER_BYTES_MAX + 1]; /* FIFO topics; else "" */
};

/* Publish (docs/protocol.md, "Publish"): options may be NULL. */
int bb_publish(struct bb_client *client, const char *topic, const void *message,
               size_t message_bytes, const struct bb_publish_options *options,
               struct bb_published *out);

/* One entry of bb_publish_batch: the caller fills id, message and options; the call fills
 * status (0 or the wire_status that failed this entry alone) and the ids of a published one. */
struct bb_publish_entry {
	const char *id;
	const void *message;
	size_t message_bytes;
	struct bb_publish_options options;
	int status;                               /* out */
	char message_id[BB_MESSAGE_ID_BYTES + 1]; /* out */
	char sequence_number[WIRE_SEQUENCE_NUMBER_BYTES_MAX + 1];
};

/* PublishBatch: returns as bb_send_message_batch does, with SNS's status names. */
int bb_publish_batch(struct bb_client *client, const char *topic,
                     struct bb_publish_entry *entries, uint32_t count);

/* One PutEvents entry: the caller fills the event, the call its answer. */
struct bb_event {
	const char *source;
	const char *detail_type;
	const char *detail; /* a JSON object */
	const char *const *resources;
	uint32_t resource_count; /* up to WIRE_EVENT_RESOURCES_MAX */
	uint64_t time_ms;        /* 0: busbard's time of the call */
	int status;              /* out: 0, or the wire_status that failed it */
	char event_id[WIRE_EVENT_ID_BYTES + 1];             /* out */
	char error_code[WIRE_ERROR_CODE_BYTES_MAX + 1];     /* out: EventBridge's ErrorCode */
	char error_message[256];                            /* out */
};

/* PutEvents to `bus` (NULL: the default bus): 0 when busbard answered every entry (each in
 * order, *failed_count_out of them failed), else as any call. */
int bb_put_events(struct bb_client *client, const char *bus, struct bb_event *events,
                  uint32_t count, uint32_t *failed_count_out);

/* A name/value counter pair from bb_get_stats (local socket only): -ENOBUFS when busbard
 * has more counters than capacity (none is cut off silently). */
struct bb_stat {
	char name[64];
	uint64_t value;
};
int bb_get_stats(struct bb_client *client, struct bb_stat *stats, uint32_t capacity,
                 uint32_t *count_out);

/*
 * A delivery to a udp subscription or rule target (docs/protocol.md, "Deliver and Ack"). The
 * text and body point into the frame it was parsed from (for bb_delivery_poll, the client's
 * reply buffer: valid until its next call) and are not NUL-terminated.
 */
struct bb_delivery {
	uint64_t delivery_id; /* what bb_ack names; the same in every send of it */
	uint32_t attempt;     /* 1, then one more each time busbard sends it again */
	const char *source_arn; /* the topic's ARN, or the rule's */
	uint32_t source_arn_bytes;
	const char *subscription; /* the SubscriptionArn, or the rule target's Id */
	uint32_t subscription_bytes;
	const char *message_id; /* the publish's MessageId, or the event's id */
	uint32_t message_id_bytes;
	const uint8_t *body;
	uint32_t body_bytes;
};
/* A Deliver frame's fields: 0, or -EPROTO when it is not one (a field missing, repeated,
 * ill-sized or unknown). */
int bb_delivery_parse(const uint8_t *frame, size_t bytes, struct bb_delivery *out);
/*
 * Waits up to timeout_ms for a Deliver frame on the client's UDP socket (bound to its
 * subscribed port with local_port): 1 with out filled, 0 when none came in time, -errno.
 * Other datagrams are skipped. A Deliver frame that arrives while another call of this
 * client waits for its reply (bb_ack's, say) is dropped there: busbard sends it again.
 */
int bb_delivery_poll(struct bb_client *client, uint32_t timeout_ms, struct bb_delivery *out);
/* Completes a delivery: 0, or MessageNotInflight when it is not in flight (acked already or
 * given up: done all the same), AccessDenied from another address, or a transport error. */
int bb_ack(struct bb_client *client, uint64_t delivery_id);

/*
 * Sends a prepared request (header fields other than the ids are taken from
 * `header`) and waits for its reply. For tools that speak opcodes this API
 * has no call for, such as busbar-control's snapshot push.
 */
int bb_call(struct bb_client *client, const struct wire_header *header, const uint8_t *body,
            size_t body_bytes, const uint8_t **reply_body, uint32_t *reply_body_bytes);

#endif
