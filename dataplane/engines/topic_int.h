/*
 * Internals of the topic engine shared by its files: the small JSON reading and writing it
 * needs without allocating (topic_json.c). Not part of topic.h's interface.
 */
#ifndef BB_TOPIC_INT_H
#define BB_TOPIC_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A JSON number (RFC 8259's grammar), nothing around it. */
bool topic_json_number_valid(const uint8_t *text, size_t bytes);
/* A JSON array of strings, numbers, true, false and null (SNS's String.Array). */
bool topic_json_flat_array_valid(const uint8_t *text, size_t bytes);
/*
 * A MessageStructure=json message: a JSON object whose values are strings. 0 with the
 * literal of `key`'s value (between its quotes, still escaped), -ENOENT when the object has
 * no such key, -EINVAL when the text is not such an object. A repeated key: the first.
 */
int topic_json_structure_find(const uint8_t *text, size_t bytes, const char *key,
                              const uint8_t **literal_out, size_t *literal_bytes_out);
/*
 * Unescapes a string literal checked by the functions above into out: 0 with its length, or
 * -ENOBUFS. Never longer than the literal. A lone surrogate becomes U+FFFD.
 */
int topic_json_unescape(const uint8_t *literal, size_t bytes, uint8_t *out, size_t capacity,
                        size_t *length_out);
/*
 * Writes text as the inside of a JSON string ('"', '\' and control characters escaped, as
 * SNS writes them; '/' and non-ASCII as they are). Returns the bytes written, or SIZE_MAX
 * when out is too small.
 */
size_t topic_json_escape(const uint8_t *text, size_t bytes, uint8_t *out, size_t capacity);

#endif
