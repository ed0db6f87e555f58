/*
 * Differential fuzz target: the compiled matcher against the reference
 * interpreter. Input: a pattern, a newline, an event. When the compiler
 * accepts the pattern and both sides can evaluate the event, they must agree.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "flt.h"
#include "ref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *newline = memchr(data, '\n', size);
	if (newline == NULL)
		return 0;
	const char *pattern = (const char *)data;
	size_t pattern_bytes = (size_t)(newline - data);
	const char *event = (const char *)newline + 1;
	size_t event_bytes = size - pattern_bytes - 1;
	struct flt_limits limits;
	flt_limits_default(&limits);
	struct flt_compiler *c = flt_compiler_new(&limits);
	char error[256];
	if (flt_add_rule(c, 1, pattern, pattern_bytes, error, sizeof(error)) != 0) {
		flt_compiler_free(c);
		return 0;
	}
	struct flt_matcher *m = flt_compile(c);
	struct flt_scratch *s = flt_scratch_new(m);
	uint32_t ids[2];
	int got = flt_match(m, s, event, event_bytes, ids, 2);
	int expected = ref_match(pattern, pattern_bytes, event, event_bytes);
	if (got >= 0 && expected >= 0 && got != expected)
		abort();
	/* A valid event without duplicate keys gives the same answer with the early stop
	 * (with duplicates the first occurrence decides there: docs/patterns.md). */
	json_t *strict =
	    json_loadb(event, event_bytes, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
	if (strict != NULL && flt_validate(m, s, event, event_bytes) == 0 &&
	    flt_match_validated(m, s, event, event_bytes, ids, 2) != got)
		abort();
	json_decref(strict);
	flt_scratch_free(s);
	flt_matcher_free(m);
	flt_compiler_free(c);
	return 0;
}
