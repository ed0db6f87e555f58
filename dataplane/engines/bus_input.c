/*
 * Target input shaping (bus_input.h). Rendering reads the template once, left to right,
 * tracking whether it is inside a quoted string (a backslash there escapes the next byte);
 * each placeholder is looked up in InputPathsMap (at most BB_BUS_INPUT_VARS_MAX members)
 * and its path in the event, both JSON that passed bus_json_check, so no reader here can
 * run past its text. Nothing is allocated on that path.
 */
#include "bus_input.h"

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus_json.h"

#define PREDEFINED_COUNT 5u
enum predefined { P_RULE_ARN, P_RULE_NAME, P_EVENT, P_EVENT_JSON, P_INGESTION_TIME };
static const char *const predefined[PREDEFINED_COUNT] = {
    "aws.events.rule-arn", "aws.events.rule-name", "aws.events.event",
    "aws.events.event.json", "aws.events.event.ingestion-time"};

enum value_kind { V_MISSING, V_JSON, V_TEXT, V_EVENT_NO_DETAIL };

struct value {
	enum value_kind kind;
	const char *data;
	size_t bytes;
};

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '.';
}

/* A placeholder <name> at t[pos]: true with the name's span. */
static bool placeholder_at(const char *t, size_t n, size_t pos, size_t *start, size_t *end)
{
	assert(t[pos] == '<');
	size_t i = pos + 1;
	while (i < n && i - pos <= BUS_INPUT_KEY_BYTES_MAX && name_char(t[i]))
		i++;
	if (i == pos + 1 || i >= n || t[i] != '>')
		return false;
	*start = pos + 1;
	*end = i;
	return true;
}

static int predefined_index(const char *name, size_t n)
{
	for (unsigned i = 0; i < PREDEFINED_COUNT; i++) {
		if (strlen(predefined[i]) == n && memcmp(predefined[i], name, n) == 0)
			return (int)i;
	}
	return -1;
}

/* The path InputPathsMap gives `name`: true with the path's text (inside its quotes). */
static bool map_path(const struct bus_text *map, const char *name, size_t n, const char **path,
                     size_t *path_bytes)
{
	if (map->bytes == 0)
		return false;
	size_t pos = bus_json_skip_space(map->data, map->bytes, 0) + 1;
	size_t ks = 0, ke = 0, vs = 0, ve = 0;
	for (uint32_t i = 0; i <= BB_BUS_INPUT_VARS_MAX; i++) {
		if (bus_json_next_member(map->data, map->bytes, &pos, &ks, &ke, &vs, &ve) != 1)
			return false;
		if (ke - ks == n && memcmp(map->data + ks, name, n) == 0) {
			*path = map->data + vs + 1;
			*path_bytes = ve - vs - 2;
			return true;
		}
	}
	return false;
}

/* The value a path names in the event (V_MISSING when it names nothing). */
static struct value path_value(const char *path, size_t path_bytes, const char *event,
                               size_t event_bytes)
{
	struct bus_path parsed;
	size_t start = 0, end = 0;
	if (bus_path_parse(path, path_bytes, &parsed) != 0 ||
	    bus_json_find(event, event_bytes, &parsed, &start, &end) != 0)
		return (struct value){.kind = V_MISSING};
	return (struct value){.kind = V_JSON, .data = event + start, .bytes = end - start};
}

/* What placeholder `name` stands for: -ENOENT when nothing (the text stays as written). */
static int resolve(const struct bus_input *in, const struct bus_input_context *ctx,
                   const char *event, size_t event_bytes, const char *name, size_t n,
                   char *time_buf, struct value *out)
{
	const char *path = NULL;
	size_t path_bytes = 0;
	switch (predefined_index(name, n)) {
	case P_RULE_ARN:
		*out = (struct value){V_TEXT, ctx->rule_arn, strlen(ctx->rule_arn)};
		return 0;
	case P_RULE_NAME:
		*out = (struct value){V_TEXT, ctx->rule_name, strlen(ctx->rule_name)};
		return 0;
	case P_EVENT:
		*out = (struct value){V_EVENT_NO_DETAIL, event, event_bytes};
		return 0;
	case P_EVENT_JSON:
		*out = (struct value){V_JSON, event, event_bytes};
		return 0;
	case P_INGESTION_TIME:
		bus_time_format(ctx->ingestion_ms, time_buf);
		*out = (struct value){V_TEXT, time_buf, BUS_TIME_CHARS};
		return 0;
	default:
		break;
	}
	if (!map_path(&in->paths_map, name, n, &path, &path_bytes))
		return -ENOENT;
	*out = path_value(path, path_bytes, event, event_bytes);
	return 0;
}

/* The event without its detail member: what <aws.events.event> is. */
static int out_event_no_detail(const char *event, size_t n, char *out, size_t cap, size_t *used)
{
	size_t pos = bus_json_skip_space(event, n, 0) + 1;
	size_t ks = 0, ke = 0, vs = 0, ve = 0;
	int rc = bus_out_raw(out, cap, used, "{", 1);
	bool first = true;
	while (rc == 0 && bus_json_next_member(event, n, &pos, &ks, &ke, &vs, &ve) == 1) {
		if (ke - ks == 6 && memcmp(event + ks, "detail", 6) == 0)
			continue;
		if (!first)
			rc = bus_out_raw(out, cap, used, ",", 1);
		first = false;
		rc = rc ? rc : bus_out_raw(out, cap, used, event + ks - 1, ve - ks + 1);
	}
	return rc ? rc : bus_out_raw(out, cap, used, "}", 1);
}

static int emit_json(const struct value *v, bool in_string, bool json_template, char *out,
                     size_t cap, size_t *used)
{
	bool is_string = v->bytes >= 2 && v->data[0] == '"';
	if (is_string && in_string)
		return bus_out_raw(out, cap, used, v->data + 1, v->bytes - 2);
	if (is_string && !json_template)
		return bus_out_unescaped(out, cap, used, v->data + 1, v->bytes - 2);
	if (in_string)
		return bus_out_escaped(out, cap, used, v->data, v->bytes);
	return bus_out_raw(out, cap, used, v->data, v->bytes);
}

static int emit(const struct value *v, bool in_string, bool json_template, char *out,
                size_t cap, size_t *used)
{
	switch (v->kind) {
	case V_MISSING:
		return in_string || !json_template ? 0 : bus_out_raw(out, cap, used, "null", 4);
	case V_TEXT:
		if (in_string)
			return bus_out_escaped(out, cap, used, v->data, v->bytes);
		if (!json_template)
			return bus_out_raw(out, cap, used, v->data, v->bytes);
		if (bus_out_raw(out, cap, used, "\"", 1) != 0 ||
		    bus_out_escaped(out, cap, used, v->data, v->bytes) != 0)
			return -ENOBUFS;
		return bus_out_raw(out, cap, used, "\"", 1);
	case V_EVENT_NO_DETAIL:
		return out_event_no_detail(v->data, v->bytes, out, cap, used);
	case V_JSON:
		return emit_json(v, in_string, json_template, out, cap, used);
	}
	assert(false);
	return -EINVAL;
}

static bool is_json_template(const struct bus_text *t)
{
	size_t pos = bus_json_skip_space(t->data, t->bytes, 0);
	return pos < t->bytes && t->data[pos] == '{';
}

static int render_template(const struct bus_input *in, const struct bus_input_context *ctx,
                           const char *event, size_t event_bytes, char *out, size_t cap,
                           size_t *used)
{
	const char *t = in->input.data;
	size_t n = in->input.bytes;
	bool json_template = is_json_template(&in->input);
	bool in_string = false;
	char time_buf[BUS_TIME_CHARS + 1];
	size_t i = 0;
	while (i < n) {
		size_t ns = 0, ne = 0;
		struct value v;
		if (t[i] == '<' && placeholder_at(t, n, i, &ns, &ne) &&
		    resolve(in, ctx, event, event_bytes, t + ns, ne - ns, time_buf, &v) == 0) {
			if (emit(&v, in_string, json_template, out, cap, used) != 0)
				return -ENOBUFS;
			i = ne + 1;
			continue;
		}
		size_t k = in_string && t[i] == '\\' && i + 1 < n ? 2 : 1;
		if (t[i] == '"')
			in_string = !in_string;
		if (bus_out_raw(out, cap, used, t + i, k) != 0)
			return -ENOBUFS;
		i += k;
	}
	return 0;
}

int bus_input_render(const struct bus_input *in, const struct bus_input_context *ctx,
                     const char *event, size_t event_bytes, char *out, size_t capacity,
                     size_t *length_out)
{
	assert(event_bytes > 0);
	size_t used = 0;
	int rc = 0;
	struct value v;
	switch (in->kind) {
	case BUS_INPUT_EVENT:
		rc = bus_out_raw(out, capacity, &used, event, event_bytes);
		break;
	case BUS_INPUT_CONSTANT:
		rc = bus_out_raw(out, capacity, &used, in->input.data, in->input.bytes);
		break;
	case BUS_INPUT_PATH:
		v = path_value(in->input.data, in->input.bytes, event, event_bytes);
		rc = emit(&v, false, true, out, capacity, &used);
		break;
	case BUS_INPUT_TRANSFORMER:
		rc = render_template(in, ctx, event, event_bytes, out, capacity, &used);
		break;
	}
	if (rc != 0)
		return -ENOBUFS;
	*length_out = used;
	return 0;
}

/* ---- PutTargets' checks ---- */

static int refuse(char *error, size_t error_bytes, const char *why)
{
	snprintf(error, error_bytes, "%s", why);
	return -EINVAL;
}

static bool key_ok(const char *k, size_t n)
{
	if (n == 0 || n > BUS_INPUT_KEY_BYTES_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!name_char(k[i]) || k[i] == '.')
			return false;
	}
	return true;
}

static int validate_map(const struct bus_text *map, char *error, size_t error_bytes)
{
	if (map->bytes > BB_TARGET_PATHS_MAP_BYTES_MAX ||
	    bus_json_check(map->data, map->bytes, 2, BUS_JSON_OBJECT) != 0)
		return refuse(error, error_bytes, "InputPathsMap is not a JSON object of strings.");
	size_t pos = bus_json_skip_space(map->data, map->bytes, 0) + 1;
	size_t ks = 0, ke = 0, vs = 0, ve = 0;
	uint32_t count = 0;
	while (bus_json_next_member(map->data, map->bytes, &pos, &ks, &ke, &vs, &ve) == 1) {
		const char *key = map->data + ks;
		if (++count > BB_BUS_INPUT_VARS_MAX)
			return refuse(error, error_bytes, "InputPathsMap has more than 100 entries.");
		if (ke - ks >= 4 && memcmp(key, "AWS.", 4) == 0)
			return refuse(error, error_bytes, "InputPathsMap keys cannot start with AWS.");
		if (!key_ok(key, ke - ks))
			return refuse(error, error_bytes, "An InputPathsMap key is not 1-256 of "
			                                  "[A-Za-z0-9_-].");
		struct bus_path path;
		if (map->data[vs] != '"' || bus_path_parse(map->data + vs + 1, ve - vs - 2, &path))
			return refuse(error, error_bytes, "An InputPathsMap value is not a valid JSON "
			                                  "path.");
		size_t p2 = bus_json_skip_space(map->data, map->bytes, 0) + 1;
		size_t k2 = 0, k2e = 0, v2 = 0, v2e = 0;
		while (bus_json_next_member(map->data, map->bytes, &p2, &k2, &k2e, &v2, &v2e) == 1 &&
		       k2 < ks) {
			if (k2e - k2 == ke - ks && memcmp(map->data + k2, key, ke - ks) == 0)
				return refuse(error, error_bytes, "InputPathsMap has a key twice.");
		}
	}
	_Static_assert(BB_BUS_INPUT_VARS_MAX == 100, "the message names the limit");
	return 0;
}

/* The template with each placeholder filled by a stand-in, checked as JSON. */
static int validate_json_template(const struct bus_input *in, char *error, size_t error_bytes)
{
	const char *t = in->input.data;
	size_t n = in->input.bytes;
	size_t cap = 2 * n + 16; /* "<x>" (3 bytes at least) becomes "null" (4) at most */
	char *filled = malloc(cap);
	if (filled == NULL)
		return refuse(error, error_bytes, "out of memory");
	size_t used = 0;
	bool in_string = false;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0;) {
		size_t ns = 0, ne = 0;
		const char *path = NULL;
		size_t path_bytes = 0;
		if (t[i] == '<' && placeholder_at(t, n, i, &ns, &ne) &&
		    (predefined_index(t + ns, ne - ns) >= 0 ||
		     map_path(&in->paths_map, t + ns, ne - ns, &path, &path_bytes))) {
			int p = predefined_index(t + ns, ne - ns);
			bool whole_event = p == P_EVENT || p == P_EVENT_JSON;
			if (in_string && whole_event)
				rc = refuse(error, error_bytes, "<aws.events.event> and "
				                                "<aws.events.event.json> cannot be "
				                                "inside quotes.");
			else if (!in_string)
				rc = bus_out_raw(filled, cap, &used, "null", 4);
			i = ne + 1;
			continue;
		}
		size_t k = in_string && t[i] == '\\' && i + 1 < n ? 2 : 1;
		in_string = t[i] == '"' ? !in_string : in_string;
		rc = bus_out_raw(filled, cap, &used, t + i, k);
		i += k;
	}
	if (rc == 0 && bus_json_check(filled, used, BUS_JSON_DEPTH_MAX, 0) != 0)
		rc = refuse(error, error_bytes, "InputTemplate is not valid JSON once its "
		                                "placeholders are filled (a placeholder cannot be "
		                                "an object key).");
	free(filled);
	return rc;
}

static int validate_transformer(const struct bus_input *in, char *error, size_t error_bytes)
{
	if (in->input.bytes == 0 || in->input.bytes > BB_TARGET_INPUT_BYTES_MAX)
		return refuse(error, error_bytes, "InputTemplate must have 1 to 8192 characters.");
	if (in->paths_map.bytes > 0 && validate_map(&in->paths_map, error, error_bytes) != 0)
		return -EINVAL;
	if (bus_utf8_valid_prefix((const uint8_t *)in->input.data, in->input.bytes) !=
	    in->input.bytes)
		return refuse(error, error_bytes, "InputTemplate is not UTF-8.");
	if (is_json_template(&in->input))
		return validate_json_template(in, error, error_bytes);
	return 0;
}

int bus_input_validate(const struct bus_input *in, char *error, size_t error_bytes)
{
	struct bus_path path;
	_Static_assert(BB_TARGET_INPUT_BYTES_MAX == 8192, "the messages name the limit");
	switch (in->kind) {
	case BUS_INPUT_EVENT:
		if (in->input.bytes != 0 || in->paths_map.bytes != 0)
			return refuse(error, error_bytes, "Input, InputPath and InputTransformer are "
			                                  "mutually exclusive.");
		return 0;
	case BUS_INPUT_CONSTANT:
		if (in->input.bytes == 0 || in->input.bytes > BB_TARGET_INPUT_BYTES_MAX ||
		    bus_json_check(in->input.data, in->input.bytes, BUS_JSON_DEPTH_MAX, 0) != 0)
			return refuse(error, error_bytes, "Input must be valid JSON of 1 to 8192 "
			                                  "characters.");
		return 0;
	case BUS_INPUT_PATH:
		if (bus_path_parse(in->input.data, in->input.bytes, &path) != 0)
			return refuse(error, error_bytes, "InputPath is not a JSON path of 1 to 256 "
			                                  "characters in dot notation ($.a.b[0]).");
		return 0;
	case BUS_INPUT_TRANSFORMER:
		return validate_transformer(in, error, error_bytes);
	}
	return refuse(error, error_bytes, "unknown input kind");
}
