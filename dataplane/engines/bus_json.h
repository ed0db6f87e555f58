/*
 * The bus engine's JSON reading, internal to dataplane/engines/bus*.c: a checker for the
 * JSON users send (PutEvents Detail, Input, templates) and readers for JSON already
 * checked (an event built by bus_event_write, an InputPathsMap checked at PutTargets).
 * No allocation and no recursion: containers are tracked in a bit stack of fixed depth.
 */
#ifndef BB_BUS_JSON_H
#define BB_BUS_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bb_limits.h"

/* The deepest nesting bus_json_check takes (Detail's limit, with the envelope around it). */
#define BUS_JSON_DEPTH_MAX (BB_BUS_DETAIL_DEPTH_MAX + 1u)

#define BUS_JSON_OBJECT 0x1u /* the text must be one JSON object */
#define BUS_JSON_INT64  0x2u /* integers (no fraction, no exponent) must fit int64 */

/*
 * 0 when text is one JSON value (whitespace around allowed) with strings of valid UTF-8,
 * nesting at most depth_max (<= BUS_JSON_DEPTH_MAX) and the flags' conditions; else -EINVAL.
 */
__attribute__((warn_unused_result)) int bus_json_check(const char *text, size_t length,
                                                       uint32_t depth_max, unsigned flags);

/* A JSONPath of the dot subset: $, $.a.b, $.a[0].b (segment: name, or index when >= 0). */
struct bus_path_segment {
	const char *name;
	uint32_t name_bytes;
	int32_t index; /* -1: a member name */
};

struct bus_path {
	struct bus_path_segment segments[BB_BUS_PATH_SEGMENTS_MAX];
	uint32_t count; /* 0: "$", the whole value */
};

/* Parses a path (its segments point into text). 0, or -EINVAL when not of the subset. */
__attribute__((warn_unused_result)) int bus_path_parse(const char *text, size_t length,
                                                       struct bus_path *out);

/* The end (exclusive) of the checked value that starts at pos (after whitespace). */
size_t bus_json_value_end(const char *text, size_t length, size_t pos);
/* The first position at or after pos that is not JSON whitespace. */
size_t bus_json_skip_space(const char *text, size_t length, size_t pos);

/*
 * Finds the value a path names in checked JSON: 0 with [*start, *end), or -ENOENT.
 * Member names compare byte for byte with the key as written (an escaped key never matches).
 */
int bus_json_find(const char *text, size_t length, const struct bus_path *path, size_t *start,
                  size_t *end);

/*
 * Iterates an object's members: *pos starts after '{' (the first call) and moves past each
 * member. 1 with the key's bytes (inside its quotes) and the value's span, 0 at the end.
 */
int bus_json_next_member(const char *text, size_t length, size_t *pos, size_t *key_start,
                         size_t *key_end, size_t *value_start, size_t *value_end);

/*
 * Appends bytes to out[*used..capacity). Escape for inside a JSON string; unescape decodes a
 * checked string's contents (between its quotes). -ENOBUFS when it does not fit.
 */
int bus_out_raw(char *out, size_t capacity, size_t *used, const char *bytes, size_t length);
int bus_out_escaped(char *out, size_t capacity, size_t *used, const char *bytes, size_t length);
int bus_out_unescaped(char *out, size_t capacity, size_t *used, const char *bytes,
                      size_t length);

/* Bytes of a valid UTF-8 prefix of bytes (overlongs, surrogates, > U+10FFFF refused). */
size_t bus_utf8_valid_prefix(const uint8_t *bytes, size_t length);

#endif
