/*
 * Fuzz target: target input shaping (dataplane/engines/bus_input.h). The input is split at
 * its first NUL into an InputTemplate and an InputPathsMap; when PutTargets' checks accept
 * them, rendering against a fixed event must stay within its buffer or say -ENOBUFS, and a
 * JSON template must render valid JSON.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bus_input.h"
#include "bus_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char event[] =
    "{\"version\":\"0\",\"id\":\"x\",\"detail-type\":\"t\",\"source\":\"s\",\"account\":"
    "\"123456789012\",\"time\":\"2015-11-11T21:29:54Z\",\"region\":\"r\",\"resources\":[],"
    "\"detail\":{\"a\":\"q\\\"\\u00e9\",\"b\":[1,{\"c\":null}],\"d\":{\"e\":true}}}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	const char *nul = memchr(text, '\0', size);
	size_t template_bytes = nul != NULL ? (size_t)(nul - text) : size;
	struct bus_input in = {.kind = BUS_INPUT_TRANSFORMER,
	                       .input = {text, (uint32_t)template_bytes}};
	if (nul != NULL)
		in.paths_map = (struct bus_text){nul + 1, (uint32_t)(size - template_bytes - 1)};
	char error[256];
	if (bus_input_validate(&in, error, sizeof(error)) != 0)
		return 0;
	static char out[1 << 16];
	struct bus_input_context ctx = {.rule_name = "r\"1", .rule_arn = "arn:x", .ingestion_ms = 5};
	size_t n = 0;
	int rc = bus_input_render(&in, &ctx, event, sizeof(event) - 1, out, sizeof(out), &n);
	if (rc != 0 && rc != -ENOBUFS)
		__builtin_trap();
	size_t start = bus_json_skip_space(text, template_bytes, 0);
	bool json_template = start < template_bytes && text[start] == '{';
	if (rc == 0 && json_template && bus_json_check(out, n, BUS_JSON_DEPTH_MAX, 0) != 0)
		__builtin_trap();
	rc = bus_input_render(&in, &ctx, event, sizeof(event) - 1, out, 7, &n);
	if (rc == 0 && n > 7)
		__builtin_trap();
	return 0;
}
