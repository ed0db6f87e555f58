/*
 * filters: EventBridge event patterns compiled into one matcher per bus.
 * Add rules (pattern JSON text) to a compiler, compile once, then match
 * events (JSON text) against every rule at once. The compiled matcher is
 * immutable and shared by reference (publish it with one pointer swap);
 * matching allocates nothing: each thread brings its own flt_scratch.
 * No DPDK dependency. docs/patterns.md has the language and its decisions.
 */
#ifndef BB_FLT_H
#define BB_FLT_H

#include <stddef.h>
#include <stdint.h>

/* Limits, each configurable (AWS values by default; see docs/patterns.md). */
struct flt_limits {
	uint32_t pattern_bytes_max;   /* 2048 */
	uint32_t rules_max;           /* 300 per bus */
	uint32_t or_combinations_max; /* 1000 per pattern */
	uint32_t fields_per_rule_max; /* 64 (after $or expansion) */
	uint32_t depth_max;           /* nesting, patterns and events: 100 */
	uint32_t wildcard_stars_max;  /* '*' per wildcard value: 8 */
	uint32_t event_bytes_max;     /* 256 KiB */
};

void flt_limits_default(struct flt_limits *limits);

struct flt_compiler;
struct flt_matcher;
struct flt_scratch;

struct flt_compiler *flt_compiler_new(const struct flt_limits *limits);
void flt_compiler_free(struct flt_compiler *compiler);

/*
 * Adds a rule. Returns 0, or -EINVAL with a reason naming the path in error
 * (unknown operator, wrong shape, over a limit); the compiler is unchanged then.
 */
int flt_add_rule(struct flt_compiler *compiler, uint32_t rule_id, const char *pattern,
                 size_t pattern_bytes, char *error, size_t error_bytes);
/*
 * SNS subscription filter policies, on the same engine. A policy in the
 * MessageAttributes scope is flat and matched against the event that
 * flt_sns_attributes_event makes of a message's attributes; in the
 * MessageBody scope it is matched against the message body (JSON). SNS's
 * own rules apply: its operator set (no wildcard, no ignore-case affixes, no
 * anything-but suffix/ignore-case/wildcard), 5 keys, 150 value combinations,
 * numbers within +-1e9 with at most 5 decimals, policies up to 256 KiB, and
 * "exists": true wanting a value that is not null.
 */
enum flt_sns_scope { FLT_SNS_MESSAGE_ATTRIBUTES, FLT_SNS_MESSAGE_BODY };

int flt_add_sns_policy(struct flt_compiler *compiler, uint32_t rule_id, const char *policy,
                       size_t policy_bytes, enum flt_sns_scope scope, char *error,
                       size_t error_bytes);

/* One SNS message attribute: DataType String, Number, String.Array or Binary (+ ".suffix"). */
struct flt_sns_attribute {
	const char *name;
	const char *type;
	const char *value; /* String.Array: a JSON array */
	size_t value_bytes;
};

/*
 * Writes the JSON event the MessageAttributes scope matches: String as a
 * string, Number as a number, String.Array as its elements, Binary left out.
 * Returns 0 with *length_out set, -EINVAL for a malformed attribute, -ENOBUFS
 * when out is too small, or -ENODATA for a message without attributes (count
 * 0): SNS matches no MessageAttributes policy then, not even "exists": false,
 * so there is nothing to match (subscriptions without a policy still get it).
 */
int flt_sns_attributes_event(const struct flt_sns_attribute *attributes, uint32_t count, char *out,
                             size_t capacity, size_t *length_out);

/* Removes every sub-rule of rule_id; -ENOENT when there is none. */
int flt_remove_rule(struct flt_compiler *compiler, uint32_t rule_id);

/* Builds the matcher for the rules added so far. NULL on memory exhaustion. */
struct flt_matcher *flt_compile(const struct flt_compiler *compiler);
void flt_matcher_free(struct flt_matcher *matcher);
size_t flt_matcher_bytes(const struct flt_matcher *matcher);

/* Working memory for matching with one matcher, allocated once per thread. */
struct flt_scratch *flt_scratch_new(const struct flt_matcher *matcher);
void flt_scratch_free(struct flt_scratch *scratch);

/*
 * Matches one event. Writes up to capacity matching rule ids (each once) and
 * returns how many rules matched, or -EINVAL when the event is not valid JSON
 * (or is over a limit): a malformed event never matches.
 */
int flt_match(const struct flt_matcher *matcher, struct flt_scratch *scratch, const char *event,
              size_t event_bytes, uint32_t *rule_ids, uint32_t capacity);

/*
 * The same for an event flt_validate accepted (an event validated once where it
 * enters, then matched by several matchers or replayed): it stops reading once
 * every top-level member some rule names has been read. With a duplicate
 * top-level key the first occurrence decides.
 */
int flt_match_validated(const struct flt_matcher *matcher, struct flt_scratch *scratch,
                        const char *event, size_t event_bytes, uint32_t *rule_ids,
                        uint32_t capacity);

/* 0 when the event is valid JSON within the matcher's limits, else -EINVAL. */
int flt_validate(const struct flt_matcher *matcher, struct flt_scratch *scratch, const char *event,
                 size_t event_bytes);

#endif
