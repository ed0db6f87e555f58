/*
 * The character rule of SQS message bodies (../shared/reference/aws.md): valid UTF-8 of
 * #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF. Overlong forms,
 * surrogates, truncated sequences and every other code point are refused, as SQS refuses
 * them with InvalidMessageContents. Pure byte work, shared by the dataplane and the HTTP API.
 */
#ifndef BB_UTF8_H
#define BB_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes at the start of `bytes` that are allowed SQS text: `length` when all of them are. */
size_t bb_utf8_sqs_valid_prefix(const uint8_t *bytes, size_t length);

static inline bool bb_utf8_is_sqs_text(const uint8_t *bytes, size_t length)
{
	return bb_utf8_sqs_valid_prefix(bytes, length) == length;
}

#endif
