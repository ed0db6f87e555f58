/*
 * A rule target's dead letter's attributes (dp_dead_letter.h): the rule and target found in
 * the worker's snapshot, their ARNs, EventBridge's error code for busbard's refusal.
 */
#include "dp_dead_letter.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "bb_policy.h"
#include "sqs_attrs.h"

#define ATTRIBUTES_MAX 6u /* RULE_ARN ... RETRY_ATTEMPTS */
#define ARN_BYTES_MAX  512u

void dp_rule_arn(const struct dp_bus *bus, const struct dp_rule *rule, char *out,
                 size_t out_bytes)
{
	bool default_bus = bus->name.bytes == 7 && memcmp(bus->name.data, "default", 7) == 0;
	if (default_bus)
		snprintf(out, out_bytes, "arn:aws:events:%s:%s:rule/%.*s", BB_POLICY_REGION_DEFAULT,
		         BB_POLICY_ACCOUNT_ID_DEFAULT, (int)rule->name.bytes, rule->name.data);
	else
		snprintf(out, out_bytes, "arn:aws:events:%s:%s:rule/%.*s/%.*s",
		         BB_POLICY_REGION_DEFAULT, BB_POLICY_ACCOUNT_ID_DEFAULT,
		         (int)bus->name.bytes, bus->name.data, (int)rule->name.bytes, rule->name.data);
}

/* A target's ARN from its kind and the name its resource holds. */
static void target_arn(const struct bb_snapshot_target *t, char *out, size_t out_bytes)
{
	const char *service = t->kind == BB_TARGET_TOPIC ? "sns"
	                      : t->kind == BB_TARGET_BUS ? "events"
	                                                 : "sqs";
	const char *prefix = t->kind == BB_TARGET_BUS ? "event-bus/" : "";
	snprintf(out, out_bytes, "arn:aws:%s:%s:%s:%s%.*s", service, BB_POLICY_REGION_DEFAULT,
	         BB_POLICY_ACCOUNT_ID_DEFAULT, prefix, (int)t->resource.bytes, t->resource.data);
}

/*
 * EventBridge's ERROR_CODE for a refusal: a target that is gone is NO_RESOURCE, one refused
 * for now THROTTLING (busy log) or RESOURCE_LIMIT_EXCEEDED (a full queue), a request the
 * target will never take INVALID_PARAMETER, anything else the target said ERROR_FROM_TARGET.
 */
static const char *error_code_of(enum wire_status status)
{
	switch (status) {
	case WIRE_ERR_NONEXISTENT_QUEUE:
	case WIRE_ERR_SNS_NOT_FOUND:
	case WIRE_ERR_EVENTS_RESOURCE_NOT_FOUND: return "NO_RESOURCE";
	case WIRE_ERR_SERVICE_UNAVAILABLE: return "THROTTLING";
	case WIRE_ERR_OVER_LIMIT: return "RESOURCE_LIMIT_EXCEEDED";
	case WIRE_ERR_INTERNAL: return "INTERNAL_ERROR";
	case WIRE_ERR_INVALID_PARAMETER:
	case WIRE_ERR_MISSING_PARAMETER:
	case WIRE_ERR_MESSAGE_TOO_LONG:
	case WIRE_ERR_INVALID_MESSAGE_CONTENTS: return "INVALID_PARAMETER";
	default: return "ERROR_FROM_TARGET";
	}
}

struct dp_dead_letter_reason dp_dead_letter_refused(enum wire_status status, uint32_t attempts,
                                                    const char *exhausted)
{
	assert(status != WIRE_OK && attempts >= 1);
	return (struct dp_dead_letter_reason){
	    .error_code = error_code_of(status),
	    .error_message = wire_status_name(status), /* the target's own error, by name */
	    .exhausted = exhausted,
	    .retry_attempts = attempts - 1,
	};
}

/* The rule of that id on that bus, and its target at that position (false: not in s). */
static bool find_target(const struct dp_snapshot *s, uint64_t bus_id, uint64_t rule_id,
                        uint32_t target_index, const struct dp_bus **bus_out,
                        const struct dp_rule **rule_out, const struct dp_target **target_out)
{
	const struct dp_routing *r = s != NULL ? s->routing : NULL;
	/* Bounded by the snapshot's buses and rules; dead letters are rare next to deliveries. */
	for (uint32_t b = 0; r != NULL && b < r->bus_count; b++) {
		const struct dp_bus *bus = &r->buses[b];
		for (uint32_t i = 0; bus->bus_id == bus_id && i < bus->rule_count; i++) {
			const struct dp_rule *rule = &r->rules[bus->first_rule + i];
			if (rule->rule_id != rule_id || target_index >= rule->target_count)
				continue;
			*bus_out = bus;
			*rule_out = rule;
			*target_out = &r->targets[rule->first_target + target_index];
			return true;
		}
	}
	return false;
}

static struct sqs_attr string_attr(const char *name, const char *value)
{
	return (struct sqs_attr){(const uint8_t *)name, (uint32_t)strlen(name),
	                         (const uint8_t *)"String", 6,
	                         (const uint8_t *)value, (uint32_t)strlen(value), false};
}

size_t dp_dead_letter_fields(const struct dp_snapshot *s, uint64_t bus_id, uint64_t rule_id,
                             uint32_t target_index, const struct dp_dead_letter_reason *why,
                             uint8_t *out, size_t capacity)
{
	assert(why->error_code != NULL && why->error_message != NULL && why->error_message[0]);
	const struct dp_bus *bus;
	const struct dp_rule *rule;
	const struct dp_target *target;
	if (rule_id == 0 || !find_target(s, bus_id, rule_id, target_index, &bus, &rule, &target))
		return 0;
	char rule_text[ARN_BYTES_MAX], target_text[ARN_BYTES_MAX], retries[16];
	dp_rule_arn(bus, rule, rule_text, sizeof(rule_text));
	target_arn(&target->target, target_text, sizeof(target_text));
	snprintf(retries, sizeof(retries), "%u", why->retry_attempts);
	struct sqs_attr attrs[ATTRIBUTES_MAX] = {
	    string_attr("RULE_ARN", rule_text),
	    string_attr("TARGET_ARN", target_text),
	    string_attr("ERROR_CODE", why->error_code),
	    string_attr("ERROR_MESSAGE", why->error_message),
	    string_attr("RETRY_ATTEMPTS", retries),
	};
	uint32_t count = ATTRIBUTES_MAX - 1;
	if (why->exhausted != NULL)
		attrs[count++] = string_attr("EXHAUSTED_RETRY_CONDITION", why->exhausted);
	_Static_assert(ATTRIBUTES_MAX <= WIRE_ATTRIBUTES_MAX, "a message holds them all");
	return sqs_attrs_encode(attrs, count, NULL, 0, out, capacity);
}
