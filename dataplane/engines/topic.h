/*
 * The SNS topic engine: what a Publish means, independent of how it arrived or where its
 * deliveries go. Pure C with no DPDK, no sockets and no clock of its own (time comes in as
 * now_ms); nothing on the worker path allocates. docs/sns.md is the user's view.
 *
 * How busbard calls it (the lead's integration):
 *
 *  Service thread (may allocate), for each topic a worker owns:
 *    topic_filter_build(subscriptions...)  one object per topic holding every subscription's
 *                                          FilterPolicy compiled by filters/, in the order
 *                                          of the array given (index = subscription index);
 *    topic_scratch_new(filter)             the worker's working memory for that filter;
 *    publish both with the topic's config (RCU swap); free the old pair after the grace
 *    period with topic_scratch_free / topic_filter_free.
 *
 *  Owner worker, one struct topic_engine per worker (topic_engine_create at start-up):
 *    topic_open(engine, slot, config)      when a snapshot gives the worker a topic;
 *    topic_publish(engine, slot, publish, now_ms, &accepted, &text)
 *       checks the Publish (AWS's errors, `text` is SNS's message), for FIFO topics applies
 *       deduplication and the sequence number, appends the PUBLISH record through
 *       options.log.append on a durable topic, and returns the record in accepted.record
 *       (its pointers point into the caller's request, valid as long as it is). Answer the
 *       producer (accepted.message_id, .sequence_number) after the record is durable.
 *       accepted.duplicate: FIFO dedup hit; answer with the first publish's ids, deliver
 *       nothing;
 *    topic_filter_match(filter, scratch, &accepted.record, indices)
 *       which subscriptions get it (indices into the subscription array, ascending);
 *    topic_render(&accepted.record, &render_options, out, capacity, &length)
 *       each delivery's bytes: raw, or the SNS JSON envelope signed through the caller's
 *       callback; -ENOBUFS when out is too small (TOPIC_ENVELOPE_BYTES_MAX always fits);
 *    topic_done_record(&accepted.record, &done)  when every delivery of it is durable where it
 *       went, append this DONE record (recovery then skips the publish);
 *    topic_expire(engine, now_ms)          now and then: ends FIFO dedup windows.
 *
 *  Recovery, before serving: for each topic record in log order, topic_record_decode and
 *    topic_replay_record(engine, slot, record, now_ms) (sequence numbers and dedup windows
 *    come back); a PUBLISH with no DONE after it is matched and rendered again (at least
 *    once; a delivery's id is the message id, so the target can drop a repeat).
 *
 *  Signing (SNS SignatureVersion 2, SHA256withRSA): the caller's sign callback receives the
 *  canonical string to sign, as SNS documents it for a Notification: for each of Message,
 *  MessageId, Subject (only when there is one), Timestamp, TopicArn and Type, the name, a
 *  newline, the value (unescaped), a newline. It signs with RSA PKCS#1 v1.5 over SHA-256
 *  with the appliance's key and writes the base64 signature.
 *
 * One engine is touched by one thread only; a filter and its scratch by the topic's owner.
 */
#ifndef BB_TOPIC_H
#define BB_TOPIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bb_limits.h"
#include "flt.h"
#include "topic_record.h"
#include "wire.h"

/*
 * SNS answers a refused Publish with InvalidParameter (the request is wrong: empty or too
 * long message, subject, structure, FIFO ids) or InvalidParameterValueException, whose code
 * on the wire is "ParameterValueInvalid" (a message attribute).
 */
#define TOPIC_ERR_INVALID_PARAMETER       WIRE_ERR_SNS_INVALID_PARAMETER
#define TOPIC_ERR_INVALID_PARAMETER_VALUE WIRE_ERR_SNS_PARAMETER_VALUE_INVALID

#define TOPIC_SEQUENCE_NUMBER_CHARS 20u /* a FIFO SequenceNumber: 20 decimal digits */

/* One Publish as the request carries it (text not NUL-terminated; 0 bytes: absent). */
struct topic_publish {
	const uint8_t *message;
	uint32_t message_bytes;
	const char *subject;
	uint32_t subject_bytes;
	bool message_structure_json; /* MessageStructure=json */
	const struct topic_attribute *attributes;
	uint32_t attribute_count;
	const char *group_id; /* MessageGroupId: FIFO topics only */
	uint32_t group_id_bytes;
	const char *dedup_id; /* MessageDeduplicationId: FIFO topics only */
	uint32_t dedup_id_bytes;
};

struct topic_config {
	uint64_t topic_id; /* not 0 */
	bool fifo;         /* the name ends in .fifo; fixed for a topic's life */
	bool content_based_deduplication;
	bool durable; /* its publishes go to the log (needs options.log.append) */
};

/*
 * Where a durable topic's PUBLISH records go: append writes the record (not yet durable: the
 * caller holds the answer until it is) and returns 0 with the log's sequence, or -errno, and
 * then the publish is refused with ServiceUnavailable and nothing changes.
 */
struct topic_log_ops {
	void *ctx;
	int (*append)(void *ctx, const struct topic_record *record, uint64_t *sequence_out);
};

struct topic_engine_options {
	uint32_t topic_slots;  /* at most BB_TOPIC_SLOTS_PER_WORKER */
	uint32_t dedup_slots;  /* FIFO ids in their window, all topics; 0: no FIFO topic */
	struct topic_log_ops log; /* append NULL: no topic can be durable */
};

struct topic_accepted {
	char message_id[BB_MESSAGE_ID_BYTES + 1];
	char sequence_number[TOPIC_SEQUENCE_NUMBER_CHARS + 1]; /* FIFO, else "" */
	bool duplicate;         /* FIFO: a publish with this dedup id is in its window */
	uint64_t log_sequence;  /* the PUBLISH record's (durable topics; 0: none) */
	int log_error;          /* -errno from append when refused for the log */
	struct topic_record record; /* not a duplicate: what to log, match and render */
};

struct topic_engine;

struct topic_engine *topic_engine_create(const struct topic_engine_options *options,
                                         int *error_out);
void topic_engine_destroy(struct topic_engine *engine);

/* Opens (or updates) a slot for a topic: 0, -EINVAL for a config the engine cannot serve. */
__attribute__((warn_unused_result)) int topic_open(struct topic_engine *engine, uint32_t slot,
                                                   const struct topic_config *config);
/* Closes a slot; its dedup window entries go with it. */
void topic_close(struct topic_engine *engine, uint32_t slot);

/*
 * Checks a Publish as SNS does, without a topic: WIRE_OK, or the status with SNS's message
 * text in *text_out (a static string). A FIFO topic wants fifo true.
 */
__attribute__((warn_unused_result)) enum wire_status
topic_check_publish(const struct topic_publish *publish, bool fifo, bool content_based,
                    const char **text_out);

/*
 * Accepts a Publish (see the top of this file): the check above, then for FIFO topics
 * deduplication (OverLimit when the engine has no dedup place left) and the next sequence
 * number, a message id, and on a durable topic the PUBLISH record through the log
 * (ServiceUnavailable when the log refused it).
 */
__attribute__((warn_unused_result)) enum wire_status
topic_publish(struct topic_engine *engine, uint32_t slot, const struct topic_publish *publish,
              uint64_t now_ms, struct topic_accepted *out, const char **text_out);

/* The DONE record of a publish (kind, topic id, message id). */
void topic_done_record(const struct topic_record *publish, struct topic_record *done_out);

/*
 * Recovery: applies one record read back from the topic's log, in log order. A PUBLISH of a
 * FIFO topic moves the sequence number past its own and, when its window is still open at
 * now_ms, takes its dedup id back. OverLimit when the dedup places are used up.
 */
__attribute__((warn_unused_result)) enum wire_status
topic_replay_record(struct topic_engine *engine, uint32_t slot, const struct topic_record *record,
                    uint64_t now_ms);

/* Ends the FIFO dedup windows that passed; returns how many. */
uint32_t topic_expire(struct topic_engine *engine, uint64_t now_ms);
uint32_t topic_dedup_count(const struct topic_engine *engine);
/* The last sequence number a FIFO topic gave (0: none yet). */
uint64_t topic_sequence_last(const struct topic_engine *engine, uint32_t slot);

/* ---- Filter policies: built on the service thread, matched on the owner worker. ---- */

struct topic_subscription {
	const char *protocol;      /* "sqs", "udp", "https", ...: picks a json message's key */
	const char *filter_policy; /* NULL: no policy, the subscription gets every message */
	size_t filter_policy_bytes;
	enum flt_sns_scope scope; /* FilterPolicyScope */
};

struct topic_filter;
struct topic_scratch;

/*
 * Compiles the subscriptions' policies (count at most BB_TOPIC_SUBSCRIPTIONS_MAX). NULL with
 * *error_out -EINVAL and a reason naming the subscription's index in error (a policy SNS
 * would refuse, a protocol over BB_TOPIC_PROTOCOL_BYTES_MAX), or -ENOMEM.
 */
struct topic_filter *topic_filter_build(const struct topic_subscription *subscriptions,
                                        uint32_t count, char *error, size_t error_bytes,
                                        int *error_out);
void topic_filter_free(struct topic_filter *filter);
uint32_t topic_filter_subscription_count(const struct topic_filter *filter);
struct topic_scratch *topic_scratch_new(const struct topic_filter *filter);
void topic_scratch_free(struct topic_scratch *scratch);

/*
 * Writes the indices of the subscriptions that get this publish (room for the filter's
 * subscription count), ascending, and returns how many. A subscription without a policy
 * always does; MessageAttributes scope matches the attributes (String and String.Array as
 * their values, Number as a number, Binary not at all); MessageBody scope matches the message
 * that subscription receives (its protocol's key of a json-structured message), which must be
 * a JSON object. Allocates nothing.
 */
uint32_t topic_filter_match(const struct topic_filter *filter, struct topic_scratch *scratch,
                            const struct topic_record *publish, uint32_t *indices_out);

/* ---- Deliveries. ---- */

/*
 * The message a subscription of `protocol` receives: the Message, or of a json-structured
 * one the value of key `protocol` (else "default") unescaped into buf (capacity at least the
 * message's bytes). 0, -EBADMSG when the structure does not hold (never for a checked one).
 */
__attribute__((warn_unused_result)) int topic_payload(const struct topic_record *publish,
                                                      const char *protocol, uint8_t *buf,
                                                      size_t capacity,
                                                      const uint8_t **payload_out,
                                                      uint32_t *bytes_out);

/*
 * SNS's SignatureVersion of a topic: 1 signs with SHA1withRSA (SNS's default), 2 with
 * SHA256withRSA.
 */
#define TOPIC_SIGNATURE_V1 1u
#define TOPIC_SIGNATURE_V2 2u

/* Signs string_to_sign as version says: writes the base64 signature (no NUL), 0 or -errno. */
typedef int (*topic_sign_fn)(void *ctx, unsigned version, const uint8_t *string_to_sign,
                             size_t bytes, char *out, size_t capacity, size_t *length_out);

/* The caller's scratch for topic_render: the payload and the string to sign. */
#define TOPIC_RENDER_SCRATCH_BYTES                                                                 \
	(2u * BB_TOPIC_MESSAGE_BYTES_MAX + 2u * BB_TOPIC_ARN_BYTES_MAX + 512u)
/*
 * The largest envelope: every character of the message and attributes escaped as \u00XX,
 * Binary values in base64, the URLs and ARN escaped, the signature, the field names.
 */
#define TOPIC_ENVELOPE_BYTES_MAX                                                                   \
	(6u * BB_TOPIC_MESSAGE_BYTES_MAX + 6u * BB_TOPIC_SUBJECT_BYTES_MAX +                       \
	 12u * BB_TOPIC_ARN_BYTES_MAX + 6u * BB_TOPIC_URL_BYTES_MAX +                              \
	 BB_TOPIC_SIGNATURE_BYTES_MAX + 64u * BB_TOPIC_ATTRIBUTES_MAX + 1024u)

struct topic_render_options {
	const char *protocol; /* of the subscription: picks a json-structured message's key */
	bool raw;             /* RawMessageDelivery: the payload alone */
	const char *topic_arn;
	const char *unsubscribe_url;  /* the subscription's */
	const char *signing_cert_url; /* where the appliance's certificate is */
	unsigned signature_version;   /* TOPIC_SIGNATURE_V1 or _V2: the topic's */
	topic_sign_fn sign;
	void *sign_ctx;
	uint8_t *scratch; /* TOPIC_RENDER_SCRATCH_BYTES */
};

/*
 * Writes one delivery into out: 0 with *length_out, -ENOBUFS when out is too small, or the
 * sign callback's error. The envelope is SNS's: two-space indented members "Name" : value
 * in its order (Type, MessageId, SequenceNumber for FIFO, TopicArn, Subject when given,
 * Message, Timestamp, SignatureVersion, Signature, SigningCertURL, UnsubscribeURL,
 * MessageAttributes when there are any).
 */
__attribute__((warn_unused_result)) int topic_render(const struct topic_record *publish,
                                                     const struct topic_render_options *options,
                                                     uint8_t *out, size_t capacity,
                                                     size_t *length_out);

/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" of a 16-byte message id (out: 37 bytes). */
void topic_format_message_id(const uint8_t id[16], char *out);

#endif
