/* Internals of filters/: rule conditions, the compiled matcher, the event scanner. */
#ifndef BB_FLT_INT_H
#define BB_FLT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flt.h"

enum flt_type { FLT_STRING = 1, FLT_NUMBER, FLT_TRUE, FLT_FALSE, FLT_NULL };

/* A leaf: from an event (text points into the event or the scanner's buffer) or a pattern. */
struct flt_leaf {
	uint8_t type;
	const char *text; /* FLT_STRING: unescaped bytes */
	size_t length;
	double number; /* FLT_NUMBER */
};

enum flt_op {
	FLT_OP_EXACT, /* one of `values` (kept in the exact table at compile time) */
	FLT_OP_PREFIX,
	FLT_OP_SUFFIX,
	FLT_OP_EQUALS_IGNORE_CASE,
	FLT_OP_PREFIX_IGNORE_CASE,
	FLT_OP_SUFFIX_IGNORE_CASE,
	FLT_OP_WILDCARD,
	FLT_OP_NUMERIC,
	FLT_OP_CIDR,
	FLT_OP_EXISTS,       /* exists: true */
	FLT_OP_EXISTS_VALUE, /* exists: true in an SNS policy: a leaf that is not null */
	FLT_OP_ABSENT,       /* exists: false */
	FLT_OP_ANYTHING_BUT, /* none of `values` */
	FLT_OP_ANYTHING_BUT_PREFIX,
	FLT_OP_ANYTHING_BUT_SUFFIX,
	FLT_OP_ANYTHING_BUT_IGNORE_CASE,
	FLT_OP_ANYTHING_BUT_WILDCARD,
};

struct flt_cond {
	uint8_t op;
	uint32_t value_count;
	struct flt_leaf *values; /* strings (owned) or numbers */
	/* numeric range */
	double low, high;
	bool low_inclusive, high_inclusive;
	/* cidr */
	uint8_t family_bytes; /* 4 or 16 */
	uint8_t network[16];
	uint8_t prefix_bits;
};

struct flt_field {
	char *path; /* "a.b.c" */
	uint32_t cond_count;
	struct flt_cond *conds; /* OR */
};

struct flt_subrule {
	uint32_t rule_id;
	uint32_t field_count;
	struct flt_field *fields; /* AND */
};

struct flt_compiler {
	struct flt_limits limits;
	uint32_t rule_count; /* distinct rule ids */
	uint32_t count;
	uint32_t capacity;
	struct flt_subrule *subrules;
};

/* flt_add_rule with its own size limit (SNS policies may be 256 KiB). */
int flt_add_rule_sized(struct flt_compiler *c, uint32_t rule_id, const char *pattern,
                       size_t pattern_bytes, size_t bytes_max, char *error, size_t error_bytes);

/* A deep copy of the sub-rules (the matcher keeps its own); clear frees one. */
int flt_compiler_copy(const struct flt_compiler *from, struct flt_compiler *to);
void flt_compiler_clear(struct flt_compiler *c);

/* Aho-Corasick over wildcard segments (flt_ac.c). */
#define FLT_AC_NODES_MAX 16384u /* 16 MiB of transitions; beyond it wildcards stay a list */

struct flt_ac {
	uint32_t node_count;
	uint32_t *next; /* node * 256 + byte */
	uint32_t *out_first, *out_count;
	uint32_t *outputs; /* pattern numbers */
};

int flt_ac_build(struct flt_ac *ac, const char *const *patterns, const size_t *lengths,
                 uint32_t count);
void flt_ac_free(struct flt_ac *ac);
size_t flt_ac_bytes(const struct flt_ac *ac);

/* The longest literal run of a wildcard pattern, unescaped into out; its length (0: none). */
size_t flt_wildcard_longest_literal(const char *pattern, size_t n, char *out);

/* A JSON number at p (n bytes available): its length, or 0 when p does not start one or it
 * is 64 bytes or longer. When value is not NULL it gets the value strtod would give. */
size_t flt_number(const char *p, size_t n, double *value);

/* ASCII case folding: docs/patterns.md explains why not Unicode yet. */
static inline char flt_fold(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Primitive comparisons shared by the compiler's checks and the matcher. */
bool flt_equals_ignore_case(const char *a, size_t a_bytes, const char *b, size_t b_bytes);
bool flt_wildcard_match(const char *pattern, size_t pattern_bytes, const char *text,
                        size_t text_bytes);
bool flt_parse_ip(const char *text, size_t length, uint8_t out[16], uint8_t *family_bytes);
bool flt_cond_matches(const struct flt_cond *cond, const struct flt_leaf *leaf);

/* The numeric operator's test, inline: coordinates bring dozens of numbers an event. */
static inline bool flt_in_range(const struct flt_cond *c, double v)
{
	return (v > c->low || (c->low_inclusive && v == c->low)) &&
	       (v < c->high || (c->high_inclusive && v == c->high));
}

/*
 * The event scanner. It walks the JSON once, validating all of it (unless the
 * hooks say it was validated before); for every member of a wanted object whose
 * key passes the object's key filter it asks want(object's path, key) whether
 * anything lies under that path, and
 * skips what nothing wants; every wanted leaf goes to on_leaf. Arrays are
 * transparent: their elements share the array's path. Returns 0, or -EINVAL
 * for malformed JSON or a limit.
 */
/* The top-level object's own path: the parent of its members' paths. */
#define FLT_PATH_ROOT      UINT32_MAX
#define FLT_PATH_ROOT_HASH 0x9e3779b97f4a7c15ull

/*
 * A key's signature: one of 64 bits, from its length and first and last bytes.
 * An object's key filter holds the signature of every key a rule path may go on
 * with below it, so the scanner steps over a member whose bit is not there
 * without hashing it or calling want: most members of an event are such.
 */
static inline uint64_t flt_key_signature(const char *key, size_t n)
{
	unsigned first = n > 0 ? (uint8_t)key[0] : 0, last = n > 0 ? (uint8_t)key[n - 1] : 0;
	return 1ull << ((n * 31 + first * 7 + last) & 63);
}

struct flt_scan_hooks {
	/* For a member of a wanted object whose key passes the object's filter: 0 skips its
	 * value; 1 descends; 2 a leaf path some rule names (and descend). parent is the
	 * object's path (FLT_PATH_ROOT at the top); the member's path index and hash, and
	 * the key filter of its own members, come back. The answer must depend on the
	 * arguments alone: inside arrays the scanner keeps it for the rest of the event. */
	int (*want)(void *ctx, uint32_t parent, uint64_t parent_hash, const char *key,
	            size_t key_bytes, uint32_t *path_index, uint64_t *path_hash,
	            uint64_t *key_filter);
	/* A wanted leaf; outside_arrays when no array encloses it (the path cannot come
	 * again but by a duplicate key). True: every path a rule names has been read, and
	 * for an event already validated the scan stops there. */
	bool (*on_leaf)(void *ctx, uint32_t path_index, const struct flt_leaf *leaf,
	                bool outside_arrays);
	/* Optional: a wanted top-level member was read in full; true stops the scan there
	 * (only for events already validated: what follows is not read). */
	bool (*member_done)(void *ctx);
	void *ctx;
	/* The key filter of the top-level object. 0: no member is wanted, and want and
	 * on_leaf are never called (they may be NULL: a scan that only validates). */
	uint64_t top_key_filter;
	/* The event passed flt_validate: skipped values are stepped over, not validated. */
	bool validated;
	/* Not validated: skipped containers are validated byte by byte too, not by the block
	 * validator (the definition of valid, which tests compare it with). */
	bool strict;
};

#define FLT_PATH_BYTES_MAX   1024u /* a rule's path */
#define FLT_STRING_BYTES_MAX (256u << 10)

struct flt_scan_buffers {
	char *strings; /* FLT_STRING_BYTES_MAX: unescaped keys and values */
};

int flt_scan(const char *json, size_t length, uint32_t depth_max,
             const struct flt_scan_hooks *hooks, struct flt_scan_buffers *buffers);

/*
 * The block validator (flt_valid.c). flt_valid_blocks: true when the event is certainly
 * valid JSON within depth_max, as flt_scan would find it; false when it cannot tell
 * (flt_scan decides then). flt_valid_container: the same for the container opening at p
 * (end bounds the bytes read), with depth_max levels left for it and what it holds: the
 * byte after its closing bracket, or NULL. Escapes, bytes >= 0x80 and nesting deeper than
 * FLT_VALID_DEPTH_MAX are left to flt_scan.
 */
#define FLT_VALID_DEPTH_MAX 64u

bool flt_valid_blocks(const char *json, size_t length, uint32_t depth_max);
const char *flt_valid_container(const char *p, const char *end, uint32_t depth_max);

/* flt_validate and flt_match without the block validator: the definition of their answers,
 * which the differential fuzz target and the benchmark compare them with. */
int flt_validate_strict(const struct flt_matcher *m, struct flt_scratch *s, const char *event,
                        size_t event_bytes);
int flt_match_strict(const struct flt_matcher *m, struct flt_scratch *s, const char *event,
                     size_t event_bytes, uint32_t *rule_ids, uint32_t capacity);

#endif
