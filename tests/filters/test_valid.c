/*
 * The block validator (filters/flt_valid.c). It proves three things: it vouches for the
 * events it is built for (so flt_validate and flt_match take the fast path on them), it
 * never vouches for an event the strict scanner refuses, wherever the fault falls
 * relative to its 64-byte blocks (each case is shifted across a block boundary), and
 * the answers of flt_validate and flt_match stay the strict scanner's when it leaves an
 * event or a container to it. The suite runs again with BB_FLT_BASELINE=1 (SSE2 build).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "flt_int.h"

#define EVENT_BYTES_MAX 4096u
#define SHIFTS_MAX      70u /* whitespace put in front: every offset in a block, and past it */

static struct flt_matcher *matcher;
static struct flt_scratch *scratch;

static void setup(void)
{
	struct flt_limits limits;
	flt_limits_default(&limits);
	struct flt_compiler *c = flt_compiler_new(&limits);
	char error[256];
	const char *rule = "{\"properties\":{\"STREET\":[{\"prefix\":\"MA\"}]}}";
	cr_assert_eq(flt_add_rule(c, 1, rule, strlen(rule), error, sizeof(error)), 0, "%s", error);
	matcher = flt_compile(c);
	scratch = flt_scratch_new(matcher);
	flt_compiler_free(c);
	cr_assert_not_null(scratch);
}

static void teardown(void)
{
	flt_scratch_free(scratch);
	flt_matcher_free(matcher);
}

TestSuite(valid, .init = setup, .fini = teardown);

/* The case with `shift` spaces after its first byte ('{'), so its faults cross blocks. */
static size_t shifted(const char *text, size_t shift, char *out)
{
	size_t n = strlen(text);
	cr_assert_lt(n + shift, EVENT_BYTES_MAX);
	out[0] = text[0];
	memset(out + 1, ' ', shift);
	memcpy(out + 1 + shift, text + 1, n - 1);
	return n + shift;
}

static const char *const vouched[] = {
    "{\"type\": \"Feature\", \"properties\": {\"STREET\": \"MASON\", \"ST_TYPE\": null}, "
    "\"geometry\": {\"type\": \"Polygon\", \"coordinates\": [[{\"x\": -122.40369142315281, "
    "\"y\": 37.768278104717474, \"z\": 0}, {\"x\": -0.5, \"y\": 10, \"z\": 0}]]}}",
    "{\"a\":[true,false,null,[],{},[[{}]],\"\"],\"b\":{\"c\":-0.0e+10,\"d\":1E-3}}",
    "\n{\r\n\t\"a\" :\t[ 1 , 2 ] ,\n \"b\" : { } }\n",
    "{\"\":\"{[,:]}\",\"k\":\"x y\"}",
    "{\"n\":123456789012345678901234567890123456789012345678901234567890123}",
    /* A token at every byte of some block (the token grammar's 64 lanes all taken). */
    ("{\"a\":[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,"
     "1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,[],{},[{}],{\"b\":[]}]}"),
};

Test(valid, vouches_for_plain_events_at_every_offset)
{
	char event[EVENT_BYTES_MAX];
	for (size_t i = 0; i < sizeof(vouched) / sizeof(vouched[0]); i++) {
		for (size_t shift = 0; shift < SHIFTS_MAX; shift++) {
			size_t n = shifted(vouched[i], shift, event);
			cr_assert(flt_valid_blocks(event, n, 100), "case %zu shift %zu", i, shift);
			cr_assert_eq(flt_validate(matcher, scratch, event, n), 0);
		}
	}
}

/* Each needs what the block validator leaves to the strict scanner (which takes the escapes
 * and UTF-8, and refuses a number of 64 bytes). */
static const char *const left[] = {
    "{\"a\":\"x\\\"y\"}",
    "{\"a\":\"\\u00e9\"}",
    "{\"a\":\"\xc3\xa9\"}",
    "{\"n\":1234567890123456789012345678901234567890123456789012345678901234}",
};

Test(valid, leaves_escapes_utf8_and_long_numbers_to_the_strict_scanner)
{
	for (size_t i = 0; i < sizeof(left) / sizeof(left[0]); i++) {
		size_t n = strlen(left[i]);
		cr_assert_not(flt_valid_blocks(left[i], n, 100), "case %zu", i);
		int strict = flt_validate_strict(matcher, scratch, left[i], n);
		cr_assert_eq(flt_validate(matcher, scratch, left[i], n), strict, "case %zu", i);
	}
}

static const char *const refused[] = {
    "{\"a\":01}",   "{\"a\":-}",       "{\"a\":1.}",    "{\"a\":.5}",        "{\"a\":1e}",
    "{\"a\":1e+}",  "{\"a\":1.5.3}",   "{\"a\":1e5e3}", "{\"a\":+1}",        "{\"a\":--1}",
    "{\"a\":1-2}",  "{\"a\":truex}",   "{\"a\":tru}",   "{\"a\":nul}",       "{\"a\":1,}",
    "{\"a\":[1,]}", "{\"a\":[1 2]}",   "{\"a\" \"b\"}", "{\"a\":1 \"b\":2}", "{\"a\":{\"b\":[1]]}",
    "{\"a\":[}",    "{\"a\":1}}",      "{\"a\":1} x",   "{\"a\":\"\x01\"}",  "{\"a\":\"b\":1}",
    "{1:2}",        "{\"a\":1,\"b\"}", "{\"a\":\"",     "{\"a\"\x0c:1}",     "{\"a\":[\"b\":1]}",
    "{,\"a\":1}",   "{\"a\"::1}",      "{\"a\":1:2}",   "{\"a\":[,1]}",      "{\"a\":{\"b\"}}",
    "{\"a\":#}",    "{\"a\":1 2}",     "{\"a\":[1]2}",  "{\"a\":\"x\"1}",    "{\"a\":-01.5}",
    /* A string's role comes from the token before it, a comma's from its container. */
    "{\"a\":[{\"b\":1},\"c\":2]}", "{\"a\":{\"b\":1,2}}", "{\"a\":[1,\"b\":2]}", "{\"a\"}",
    "{\"a\":{\"b\":1},}", "{\"a\":[[],]}", "{\"a\":{}:1}", "{\"a\":[]\"b\"}", "{\"a\":[{]}",
    "{\"a\":[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1 1]}",
};

Test(valid, never_vouches_for_what_the_strict_scanner_refuses)
{
	char event[EVENT_BYTES_MAX];
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		for (size_t shift = 0; shift < SHIFTS_MAX; shift++) {
			size_t n = shifted(refused[i], shift, event);
			cr_assert_neq(flt_validate_strict(matcher, scratch, event, n), 0,
			              "case %zu is valid: the list is wrong", i);
			cr_assert_not(flt_valid_blocks(event, n, 100), "case %zu shift %zu", i,
			              shift);
			cr_assert_eq(flt_validate(matcher, scratch, event, n), -EINVAL);
		}
	}
}

/* The nesting limit counts the top-level object, as the strict scanner does. */
Test(valid, nesting_limit_is_the_strict_one)
{
	char event[EVENT_BYTES_MAX];
	for (uint32_t depth = 1; depth <= FLT_VALID_DEPTH_MAX + 1; depth++) {
		size_t n = 0;
		for (uint32_t i = 1; i < depth; i++)
			n += (size_t)snprintf(event + n, sizeof(event) - n, "{\"a\":");
		n += (size_t)snprintf(event + n, sizeof(event) - n, "{\"a\":1");
		for (uint32_t i = 0; i < depth; i++)
			event[n++] = '}';
		cr_assert(flt_valid_blocks(event, n, depth) == (depth <= FLT_VALID_DEPTH_MAX));
		cr_assert_not(flt_valid_blocks(event, n, depth - 1));
	}
}

/* A container's walk ends at its own closing bracket, whatever follows it. */
Test(valid, container_ends_at_its_bracket)
{
	const char *text = "[{\"a\":[1,{\"b\":\"]}\"}]},2] , \"\\u00e9\" : x }";
	const char *past = flt_valid_container(text, text + strlen(text), 4);
	cr_assert_not_null(past);
	cr_assert_eq(past - text, (long)strlen("[{\"a\":[1,{\"b\":\"]}\"}]},2]"));
	cr_assert_null(flt_valid_container(text, text + strlen(text), 3)); /* 4 levels */
	cr_assert_null(flt_valid_container(text, text + 10, 8));           /* cut short */
}

/* Skipped containers go to the block validator; one it cannot vouch for is walked. */
Test(valid, full_scan_matches_as_the_strict_scan)
{
	static const char *const events[] = {
	    "{\"geometry\":{\"c\":[1,2]},\"properties\":{\"STREET\":\"MASON\"}}",
	    "{\"geometry\":{\"c\":\"\\u00e9\"},\"properties\":{\"STREET\":\"MAIN\"}}",
	    "{\"geometry\":{\"c\":[1,2},\"properties\":{\"STREET\":\"MASON\"}}",
	    "{\"geometry\":{\"c\":[01]},\"properties\":{\"STREET\":\"MASON\"}}",
	    "{\"properties\":{\"STREET\":\"MARKET\",\"x\":{\"y\":[[[]]]}}}",
	};
	uint32_t ids[2], strict_ids[2];
	int expected[] = {1, 1, -EINVAL, -EINVAL, 1};
	for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
		size_t n = strlen(events[i]);
		int got = flt_match(matcher, scratch, events[i], n, ids, 2);
		cr_assert_eq(got, expected[i], "event %zu: %d", i, got);
		cr_assert_eq(flt_match_strict(matcher, scratch, events[i], n, strict_ids, 2), got);
	}
}
