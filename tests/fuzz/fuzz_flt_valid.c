/*
 * Differential fuzz target: the block validator (flt_valid.c) against the strict
 * scanner, which defines what is valid. The block validator may leave an event to
 * the strict scanner but must never vouch for one it refuses, at any depth limit;
 * flt_validate must give the strict answer, and flt_match the strict scan's matches.
 * The first input byte picks the depth limit, the second how many spaces go after the
 * event's first byte (blocks start at a container's bracket: so every fault meets every
 * offset of the 64-byte blocks), the rest is the event.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flt_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every operator, on paths at the top, nested, inside arrays and under literals. */
static const char *const rules[] = {
    "{\"a\":[\"x\",1,null,true]}",
    "{\"a\":{\"b\":[{\"prefix\":\"p\"},{\"suffix\":\"s\"}]}}",
    "{\"c\":[{\"numeric\":[\">\",0,\"<\",10]}],\"d\":[{\"exists\":false}]}",
    "{\"e\":[{\"cidr\":\"10.0.0.0/8\"},{\"wildcard\":\"*x*y\"}]}",
    "{\"$or\":[{\"f\":[{\"anything-but\":[\"q\"]}]},{\"g\":[{\"equals-ignore-case\":\"Z\"}]}]}",
    "{\"h\":{\"i\":[{\"exists\":true}]}}",
};

#define RULES (sizeof(rules) / sizeof(rules[0]))

static struct flt_matcher *matcher_with_depth(uint32_t depth_max)
{
	struct flt_limits limits;
	flt_limits_default(&limits);
	limits.depth_max = depth_max;
	struct flt_compiler *c = flt_compiler_new(&limits);
	char error[256];
	/* Under a small depth limit the deeper rules are refused; the others stay. */
	for (uint32_t i = 0; i < RULES; i++)
		(void)flt_add_rule(c, i, rules[i], strlen(rules[i]), error, sizeof(error));
	struct flt_matcher *m = flt_compile(c);
	flt_compiler_free(c);
	return m;
}

/* Depth limits around the block validator's own (64) and the small ones. */
static const uint32_t depths[] = {100, 1, 2, 3, 63, 64, 65};
#define DEPTHS (sizeof(depths) / sizeof(depths[0]))

#define SHIFT_MAX       64u
#define EVENT_BYTES_MAX (64u << 10)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct flt_matcher *m[DEPTHS];
	static struct flt_scratch *s[DEPTHS];
	if (m[0] == NULL) {
		for (uint32_t i = 0; i < DEPTHS; i++) {
			m[i] = matcher_with_depth(depths[i]);
			s[i] = flt_scratch_new(m[i]);
		}
	}
	static char shifted[SHIFT_MAX + EVENT_BYTES_MAX];
	if (size < 2 || size - 2 > EVENT_BYTES_MAX)
		return 0;
	uint32_t d = data[0] % DEPTHS;
	size_t shift = data[1] % SHIFT_MAX;
	size_t head = size > 2 ? 1 : 0;
	memcpy(shifted, data + 2, head);
	memset(shifted + head, ' ', shift);
	memcpy(shifted + head + shift, data + 2 + head, size - 2 - head);
	const char *event = shifted;
	size_t bytes = shift + size - 2;
	int strict = flt_validate_strict(m[d], s[d], event, bytes);
	if (flt_valid_blocks(event, bytes, depths[d]) && strict != 0)
		abort(); /* vouched for an event the strict scanner refuses */
	if (flt_validate(m[d], s[d], event, bytes) != strict)
		abort();
	uint32_t ids[RULES], strict_ids[RULES];
	int n = flt_match(m[d], s[d], event, bytes, ids, RULES);
	int n_strict = flt_match_strict(m[d], s[d], event, bytes, strict_ids, RULES);
	if (n != n_strict || (n > 0 && memcmp(ids, strict_ids, (size_t)n * sizeof(ids[0])) != 0))
		abort(); /* the same rules, in the same order */
	return 0;
}
