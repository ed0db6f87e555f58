/*
 * Target input shaping: what a rule's target receives for an event. The whole event,
 * Input (constant JSON), InputPath (a JSONPath of the dot subset) or InputTransformer
 * (InputPathsMap and InputTemplate with <name> placeholders and the predefined
 * <aws.events.rule-arn>, <aws.events.rule-name>, <aws.events.event>,
 * <aws.events.event.json>, <aws.events.event.ingestion-time>).
 *
 * The control plane calls bus_input_validate at PutTargets; the owner worker calls
 * bus_input_render per delivery into a buffer of its own (allocating nothing). The
 * quoting rules (docs/eventbridge.md, "Input transformer"): a template whose first
 * non-blank character is '{' is a JSON template, any other a string template. Inside a
 * quoted string a string value goes in without its quotes, any other value escaped; outside
 * quotes a JSON template takes each value as JSON (a string with its quotes) and a string
 * template takes a string's text unquoted. A path that names nothing is null outside quotes
 * in a JSON template (as AWS documents) and empty elsewhere.
 */
#ifndef BB_BUS_INPUT_H
#define BB_BUS_INPUT_H

#include <stddef.h>
#include <stdint.h>

#include "bus.h"

/* The same numbers as enum bb_target_input of the snapshot. */
enum bus_input_kind {
	BUS_INPUT_EVENT = 0,
	BUS_INPUT_CONSTANT = 1,
	BUS_INPUT_PATH = 2,
	BUS_INPUT_TRANSFORMER = 3,
};

#define BUS_INPUT_KEY_BYTES_MAX 256u /* an InputPathsMap key: [A-Za-z0-9_-]+ */

struct bus_input {
	enum bus_input_kind kind;
	struct bus_text input;     /* Input, InputPath or InputTemplate */
	struct bus_text paths_map; /* InputPathsMap as a JSON object of strings (may be absent) */
};

/*
 * PutTargets' checks: 0, or -EINVAL with the reason (ValidationException). Input is valid
 * JSON of 1-BB_TARGET_INPUT_BYTES_MAX bytes; InputPath a path of the subset; InputPathsMap at
 * most BB_BUS_INPUT_VARS_MAX keys, none starting with "AWS.", each naming a valid path; a
 * JSON template is JSON once its placeholders are filled, with no placeholder as a key and
 * <aws.events.event> and <aws.events.event.json> never inside quotes. May allocate.
 */
__attribute__((warn_unused_result)) int bus_input_validate(const struct bus_input *input,
                                                           char *error, size_t error_bytes);

/* What the predefined variables hold for one delivery. */
struct bus_input_context {
	const char *rule_name;
	const char *rule_arn;
	uint64_t ingestion_ms; /* when the bus accepted the event (the PUT record's time) */
};

/*
 * Writes what the target receives for `event` (JSON bus_event_write made) into out:
 * 0 with *length_out, or -ENOBUFS when it does not fit. The input must have passed
 * bus_input_validate.
 */
__attribute__((warn_unused_result)) int bus_input_render(const struct bus_input *input,
                                                         const struct bus_input_context *context,
                                                         const char *event, size_t event_bytes,
                                                         char *out, size_t capacity,
                                                         size_t *length_out);

#endif
