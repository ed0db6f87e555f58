/*
 * The EventBridge bus engine: what PutEvents accepts (AWS's entry checks, the size rule,
 * per-entry results), the event each accepted entry becomes (the envelope EventBridge
 * delivers), and a bus's rules compiled by filters/ into one matcher that turns an event
 * into the (rule, target) pairs to deliver. Pure C: no DPDK, no sockets, no clock (times
 * come in as arguments), no randomness (event ids come in as 16 random bytes).
 *
 * How busbard calls it (docs/eventbridge.md has the user's side):
 *   worker, PutEvents:  bus_put_check(entries, n, now_ms, results, &request_error)
 *       -> request refused (answer request_error), or per-entry results; for each accepted
 *       entry: bus_event_write(entry, result, random_id, &envelope, buf, cap, &len), append
 *       a BUS_RECORD_PUT (bus_record.h) with that event, answer after it is durable.
 *   service thread, on a snapshot: bus_rules_new(rule specs of one bus) and, per thread that
 *       matches, bus_match_scratch_new(rules); publish by RCU, free the old pair after
 *       every worker's quiescent point (bus_match_scratch_free, bus_rules_free).
 *   owner worker, fan-out (from the log, also at recovery and replay):
 *       bus_match(rules, scratch, event, len, deliveries, BUS_DELIVERIES_MAX) -> pairs;
 *       each target's message is bus_input_render (bus_input.h); a DONE record when all
 *       are durable where they went.
 *   control plane: bus_test_event_pattern (TestEventPattern), bus_schedule_parse
 *       (bus_schedule.h) and bus_input_validate at PutRule / PutTargets.
 * Everything here but bus_rules_new, bus_match_scratch_new and bus_test_event_pattern
 * allocates nothing.
 */
#ifndef BB_BUS_H
#define BB_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bb_limits.h"

/* Text given by the caller: not NUL-terminated; bytes 0 means absent. */
struct bus_text {
	const char *data;
	uint32_t bytes;
};

/* One PutEventsRequestEntry (EventBusName and TraceHeader are the caller's business). */
struct bus_entry {
	struct bus_text source;
	struct bus_text detail_type;
	struct bus_text detail;
	const struct bus_text *resources; /* resource_count ARNs */
	uint32_t resource_count;
	struct bus_text time; /* RFC 3339; absent: the now_ms given to bus_put_check */
};

/* What became of one entry; error_code NULL when it was accepted. */
struct bus_entry_result {
	const char *error_code;    /* AWS's ErrorCode: InvalidArgument, MalformedDetail, ... */
	const char *error_message; /* AWS's ErrorMessage */
	uint64_t time_ms;          /* the event's time (its Time, or now) */
	uint32_t entry_bytes;      /* the entry's size by AWS's rule */
};

/* A refusal of the whole request (AWS answers it with HTTP 400). */
struct bus_request_error {
	const char *code; /* ValidationException */
	const char *message;
};

/*
 * Checks a PutEvents request. -EINVAL when the request as a whole is refused (no entries,
 * more than BB_BUS_PUT_ENTRIES_MAX, sizes adding up to BB_BUS_PUT_BYTES_MAX or more, or no
 * entry with Source, DetailType and Detail), *error says why; else 0 with one result per
 * entry in order, each accepted or failed on its own. Returns the failed count in *failed.
 */
__attribute__((warn_unused_result)) int
bus_put_check(const struct bus_entry *entries, uint32_t count, uint64_t now_ms,
              struct bus_entry_result *results, uint32_t *failed,
              struct bus_request_error *error);

/* Where the bus runs and, for a replay, which one: account and region from configuration. */
struct bus_envelope {
	const char *account;     /* 12 digits */
	const char *region;      /* 1-BB_BUS_REGION_BYTES_MAX bytes */
	const char *replay_name; /* NULL unless the event is replayed ("replay-name") */
};

#define BUS_EVENT_ID_CHARS 36u /* a UUID */

/* The UUID (version 4) made of 16 random bytes: 36 characters and a NUL. */
void bus_event_id_format(const uint8_t random[16], char out[BUS_EVENT_ID_CHARS + 1]);

/*
 * The id of an event bus_event_write made, read back from its text (an event another bus
 * forwards keeps its id): 0 with the 16 bytes bus_event_id_format writes again as the same
 * UUID, or -EINVAL when the event does not open as bus_event_write opens one.
 */
__attribute__((warn_unused_result)) int bus_event_id_of(const char *event, size_t event_bytes,
                                                        uint8_t id_out[16]);

/* The most an event's envelope adds to its entry: escaping at most doubles the strings. */
#define BUS_ENVELOPE_BYTES_MAX                                                                     \
	(256u + BUS_EVENT_ID_CHARS + BB_BUS_ACCOUNT_BYTES + BB_BUS_REGION_BYTES_MAX +              \
	 2u * BB_BUS_REPLAY_NAME_BYTES_MAX + 4u * BB_BUS_RESOURCES_MAX)
/* The largest event JSON bus_event_write makes of an entry bus_put_check accepted. */
#define BUS_EVENT_BYTES_MAX (BUS_ENVELOPE_BYTES_MAX + 2u * BB_BUS_PUT_BYTES_MAX)

/*
 * Writes the event an accepted entry becomes into out:
 * {"version":"0","id":..,"detail-type":..,"source":..,"account":..,"time":..,"region":..,
 *  "resources":[..],"detail":{..}} and "replay-name" last for a replay. The id is the
 * UUID of `random` (also written to id_out when not NULL). 0 with *length_out, or -ENOBUFS.
 */
__attribute__((warn_unused_result)) int
bus_event_write(const struct bus_entry *entry, const struct bus_entry_result *result,
                const uint8_t random[16], const struct bus_envelope *envelope, char *out,
                size_t capacity, size_t *length_out);

/* RFC 3339 text to milliseconds since 1970 (UTC). 0, or -EINVAL (malformed, before 1970). */
__attribute__((warn_unused_result)) int bus_time_parse(const char *text, size_t length,
                                                       uint64_t *ms_out);
#define BUS_TIME_CHARS 20u /* 2024-01-31T12:00:00Z */
/* The envelope's form: whole seconds, UTC, "Z". Years after 9999 are not written. */
void bus_time_format(uint64_t ms, char out[BUS_TIME_CHARS + 1]);

/* ---- rules ---- */

/* One rule of a bus as the snapshot has it. */
struct bus_rule_spec {
	uint64_t rule_id;
	bool enabled;            /* State ENABLED: a disabled rule never matches */
	struct bus_text pattern; /* EventPattern; absent: a schedule-only rule, never matched */
	uint32_t target_count;   /* 0-BB_TARGETS_PER_RULE_MAX */
};

struct bus_rules;
struct bus_match_scratch;

/*
 * Compiles the enabled rules with a pattern into one matcher (service thread; allocates).
 * NULL with *error_out -EINVAL (a pattern refused: error names the rule and the reason),
 * -E2BIG (more than BB_RULES_PER_BUS_MAX rules) or -ENOMEM.
 */
struct bus_rules *bus_rules_new(const struct bus_rule_spec *specs, uint32_t count, char *error,
                                size_t error_bytes, int *error_out);
void bus_rules_free(struct bus_rules *rules);
/* Working memory for matching with these rules, one per thread that matches. */
struct bus_match_scratch *bus_match_scratch_new(const struct bus_rules *rules);
void bus_match_scratch_free(struct bus_match_scratch *scratch);

/* One delivery: target target_index (in the rule's target order) of rule rule_index. */
struct bus_delivery {
	uint64_t rule_id;
	uint32_t rule_index; /* into the specs given to bus_rules_new */
	uint32_t target_index;
};

#define BUS_DELIVERIES_MAX (BB_RULES_PER_BUS_MAX * BB_TARGETS_PER_RULE_MAX)

/*
 * Matches an event bus_event_write made (or a PUT record holds) and lists every target of
 * every matching rule, in rule order. Returns the count, -EINVAL when the event is not
 * valid JSON, or -ENOBUFS when more than capacity pairs are due (nothing is dropped
 * silently: give BUS_DELIVERIES_MAX). Allocates nothing; scratch from this rules object.
 */
__attribute__((warn_unused_result)) int bus_match(const struct bus_rules *rules,
                                                  struct bus_match_scratch *scratch,
                                                  const char *event, size_t event_bytes,
                                                  struct bus_delivery *out, uint32_t capacity);

/*
 * TestEventPattern: 1 when the event matches, 0 when not, -EINVAL with error text when the
 * pattern is refused (InvalidEventPatternException) or the event is not an event
 * (ValidationException: JSON object with id, account, source, time, region, resources and
 * detail-type, as AWS requires), -ENOMEM. *event_error tells which of the two was refused.
 */
__attribute__((warn_unused_result)) int
bus_test_event_pattern(const char *pattern, size_t pattern_bytes, const char *event,
                       size_t event_bytes, bool *event_error, char *error, size_t error_bytes);

#endif
