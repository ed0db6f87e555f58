/*
 * What a rule target's dead letter says about itself: EventBridge puts the event into the
 * target's dead-letter queue with the message attributes RULE_ARN, TARGET_ARN, ERROR_CODE,
 * ERROR_MESSAGE, EXHAUSTED_RETRY_CONDITION (only when a retry limit ended the delivery:
 * MaximumRetryAttempts or MaximumEventAgeInSeconds) and RETRY_ATTEMPTS, all of DataType
 * String (AWS's EventBridge User Guide, "Using dead-letter queues to process undelivered
 * events"). Here they are written as the attribute fields of the dead letter's SendMessage
 * (engines/sqs_attrs.h's block without trace header or deduplication id), which
 * dp_fanout.c's delivery request carries as they are. SNS documents no attributes for a
 * subscription's dead letter: it carries none.
 */
#ifndef BB_DP_DEAD_LETTER_H
#define BB_DP_DEAD_LETTER_H

#include <stddef.h>
#include <stdint.h>

#include "bb_snapshot.h"
#include "dp_routing.h"
#include "dp_snapshot.h"
#include "wire.h"

/* The most bytes of a dead letter's attribute fields (ARNs are at most about 300). */
#define DP_DEAD_LETTER_FIELDS_BYTES_MAX 2048u

/* Why a delivery went to its dead-letter queue. */
struct dp_dead_letter_reason {
	const char *error_code;    /* EventBridge's ERROR_CODE, e.g. NO_RESOURCE */
	const char *error_message; /* its ERROR_MESSAGE */
	const char *exhausted;     /* EXHAUSTED_RETRY_CONDITION, NULL when no limit ended it */
	uint32_t retry_attempts;   /* attempts after the first */
};

/* A rule's ARN as AWS writes it: rule/NAME on the default bus, rule/BUS/NAME on another. */
void dp_rule_arn(const struct dp_bus *bus, const struct dp_rule *rule, char *out,
                 size_t out_bytes);

/* The reason for a delivery the target refused with status after attempts in all; retries
 * or age ended it when exhausted names the condition. */
struct dp_dead_letter_reason dp_dead_letter_refused(enum wire_status status, uint32_t attempts,
                                                    const char *exhausted);

/*
 * The attribute fields of a dead letter of the target at target_index of the rule rule_id
 * on the bus bus_id, as the snapshot s has them, written into out (capacity at least
 * DP_DEAD_LETTER_FIELDS_BYTES_MAX). Returns their bytes; 0 when the rule or the target is
 * not in s (deleted since: the dead letter goes without them).
 */
size_t dp_dead_letter_fields(const struct dp_snapshot *s, uint64_t bus_id, uint64_t rule_id,
                             uint32_t target_index, const struct dp_dead_letter_reason *why,
                             uint8_t *out, size_t capacity);

#endif
