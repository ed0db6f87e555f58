/* The comparisons every condition is made of: case folding, wildcards, addresses. */
#include <arpa/inet.h>
#include <string.h>

#include "flt_int.h"

bool flt_equals_ignore_case(const char *a, size_t a_bytes, const char *b, size_t b_bytes)
{
	if (a_bytes != b_bytes)
		return false;
	for (size_t i = 0; i < a_bytes; i++) {
		if (flt_fold(a[i]) != flt_fold(b[i]))
			return false;
	}
	return true;
}

/* The next pattern unit at *i: a literal byte (escapes resolved) or a star. */
static bool next_unit(const char *pattern, size_t n, size_t *i, char *literal)
{
	if (pattern[*i] == '*') {
		(*i)++;
		return true;
	}
	if (pattern[*i] == '\\' && *i + 1 < n)
		(*i)++;
	*literal = pattern[(*i)++];
	return false;
}

/*
 * '*' matches any run of bytes. Iterative with one saved star: linear in
 * text length times pattern length at worst, never exponential.
 */
bool flt_wildcard_match(const char *pattern, size_t n, const char *text, size_t t)
{
	size_t i = 0, j = 0, star_i = SIZE_MAX, star_j = 0;
	while (j < t) {
		size_t before = i;
		char literal = 0;
		bool star = i < n && next_unit(pattern, n, &i, &literal);
		if (i > before && star) {
			star_i = i;
			star_j = j;
			continue;
		}
		if (i > before && literal == text[j]) {
			j++;
			continue;
		}
		if (star_i == SIZE_MAX)
			return false;
		i = star_i; /* let the last star take one more byte */
		j = ++star_j;
	}
	while (i < n && pattern[i] == '*')
		i++;
	return i == n;
}

size_t flt_wildcard_longest_literal(const char *pattern, size_t n, char *out)
{
	size_t best = 0, run = 0, best_start = 0;
	char scratch[FLT_PATH_BYTES_MAX];
	size_t written = 0;
	for (size_t i = 0; i < n && written < sizeof(scratch); i++) {
		if (pattern[i] == '*') {
			run = 0;
			continue;
		}
		if (pattern[i] == '\\' && i + 1 < n)
			i++;
		scratch[written++] = pattern[i];
		if (++run > best) {
			best = run;
			best_start = written - run;
		}
	}
	memcpy(out, scratch + best_start, best);
	return best;
}

bool flt_parse_ip(const char *text, size_t length, uint8_t out[16], uint8_t *family_bytes)
{
	char copy[64];
	if (length == 0 || length >= sizeof(copy))
		return false;
	memcpy(copy, text, length);
	copy[length] = '\0';
	memset(out, 0, 16);
	if (inet_pton(AF_INET, copy, out) == 1) {
		*family_bytes = 4;
		return true;
	}
	if (inet_pton(AF_INET6, copy, out) == 1) {
		*family_bytes = 16;
		return true;
	}
	return false;
}

/* Equal bytes. The first is compared inline: most candidates differ there, and a
 * call to memcmp for a few bytes costs more than the comparison. */
static bool same_bytes(const char *a, const char *b, size_t n)
{
	return n == 0 || (a[0] == b[0] && memcmp(a + 1, b + 1, n - 1) == 0);
}

static bool leaf_equals(const struct flt_leaf *a, const struct flt_leaf *b)
{
	if (a->type != b->type)
		return false;
	if (a->type == FLT_STRING)
		return a->length == b->length && same_bytes(a->text, b->text, a->length);
	if (a->type == FLT_NUMBER)
		return a->number == b->number;
	return true;
}

static bool in_cidr(const struct flt_cond *c, const struct flt_leaf *leaf)
{
	uint8_t address[16], family;
	if (leaf->type != FLT_STRING || !flt_parse_ip(leaf->text, leaf->length, address, &family) ||
	    family != c->family_bytes)
		return false;
	for (uint32_t bit = 0; bit < c->prefix_bits; bit++) {
		uint8_t mask = (uint8_t)(0x80u >> (bit % 8));
		if ((address[bit / 8] & mask) != (c->network[bit / 8] & mask))
			return false;
	}
	return true;
}

static bool affix_matches(const struct flt_leaf *v, const struct flt_leaf *leaf, bool suffix,
                          bool ignore_case)
{
	if (leaf->type != FLT_STRING || leaf->length < v->length)
		return false;
	const char *at = suffix ? leaf->text + leaf->length - v->length : leaf->text;
	return ignore_case ? flt_equals_ignore_case(at, v->length, v->text, v->length)
	                   : same_bytes(at, v->text, v->length);
}

static bool any_value(const struct flt_cond *c, const struct flt_leaf *leaf)
{
	for (uint32_t i = 0; i < c->value_count; i++) {
		const struct flt_leaf *v = &c->values[i];
		bool hit;
		switch (c->op) {
		case FLT_OP_EXACT:
		case FLT_OP_ANYTHING_BUT: hit = leaf_equals(v, leaf); break;
		case FLT_OP_PREFIX:
		case FLT_OP_ANYTHING_BUT_PREFIX: hit = affix_matches(v, leaf, false, false); break;
		case FLT_OP_SUFFIX:
		case FLT_OP_ANYTHING_BUT_SUFFIX: hit = affix_matches(v, leaf, true, false); break;
		case FLT_OP_PREFIX_IGNORE_CASE: hit = affix_matches(v, leaf, false, true); break;
		case FLT_OP_SUFFIX_IGNORE_CASE: hit = affix_matches(v, leaf, true, true); break;
		case FLT_OP_EQUALS_IGNORE_CASE:
		case FLT_OP_ANYTHING_BUT_IGNORE_CASE:
			hit = leaf->type == FLT_STRING &&
			      flt_equals_ignore_case(leaf->text, leaf->length, v->text, v->length);
			break;
		default: /* the wildcard forms */
			hit = leaf->type == FLT_STRING &&
			      flt_wildcard_match(v->text, v->length, leaf->text, leaf->length);
			break;
		}
		if (hit)
			return true;
	}
	return false;
}

bool flt_cond_matches(const struct flt_cond *c, const struct flt_leaf *leaf)
{
	switch (c->op) {
	case FLT_OP_NUMERIC:
		return leaf->type == FLT_NUMBER && flt_in_range(c, leaf->number);
	case FLT_OP_CIDR: return in_cidr(c, leaf);
	case FLT_OP_EXISTS: return true;
	case FLT_OP_EXISTS_VALUE: return leaf->type != FLT_NULL;
	case FLT_OP_ABSENT: return false; /* satisfied by absence, decided after the scan */
	case FLT_OP_ANYTHING_BUT:
	case FLT_OP_ANYTHING_BUT_PREFIX:
	case FLT_OP_ANYTHING_BUT_SUFFIX:
	case FLT_OP_ANYTHING_BUT_IGNORE_CASE:
	case FLT_OP_ANYTHING_BUT_WILDCARD:
		/* The affix, ignore-case and wildcard forms exclude strings only: a null, true,
		 * false or number is anything but them, as in event-ruler, which compares JSON
		 * text where only a string has the quote their operands begin or end with. The
		 * scanner's type decides it, so a string costs what it did. A list, any leaf. */
		if (c->op != FLT_OP_ANYTHING_BUT && leaf->type != FLT_STRING)
			return true;
		return !any_value(c, leaf);
	default: return any_value(c, leaf);
	}
}
