/*
 * What the compiler refuses (with the path and the reason), what the scanner
 * refuses (malformed events never match), limits, several rules at once and
 * rule removal.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flt.h"

static struct flt_limits limits;
static struct flt_compiler *c;
static char error[256];

static void setup(void)
{
	flt_limits_default(&limits);
	c = flt_compiler_new(&limits);
}

static void teardown(void)
{
	flt_compiler_free(c);
}

TestSuite(filters, .init = setup, .fini = teardown);

static int add(uint32_t id, const char *pattern)
{
	return flt_add_rule(c, id, pattern, strlen(pattern), error, sizeof(error));
}

static void refused(const char *pattern, const char *reason_part)
{
	cr_assert_eq(add(1, pattern), -EINVAL, "accepted: %s", pattern);
	cr_assert_neq(strstr(error, reason_part), NULL, "%s: reason \"%s\"", pattern, error);
}

Test(filters, bad_patterns_are_refused_with_path_and_reason)
{
	refused("[1]", "object");
	refused("{\"a\":", "not JSON");
	refused("{\"a\":\"x\"}", "a: a pattern value is an object or a list");
	refused("{\"a\":{\"b\":[]}}", "a.b: empty list");
	refused("{\"a\":[{\"regexp\":\"x\"}]}", "a: unknown operator \"regexp\"");
	refused("{\"a\":[{\"prefix\":1}]}", "prefix");
	refused("{\"a\":[{\"prefix\":\"x\",\"suffix\":\"y\"}]}", "exactly one key");
	refused("{\"a\":[{\"wildcard\":\"a**b\"}]}", "consecutive");
	refused("{\"a\":[{\"wildcard\":\"a\\\\b\"}]}", "escapes");
	refused("{\"a\":[{\"wildcard\":\"*a*b*c*d*e*f*g*h*i*\"}]}", "complexity");
	refused("{\"a\":[{\"numeric\":[\">\",5,\"<\",1]}]}", "empty");
	refused("{\"a\":[{\"numeric\":[\"~\",5]}]}", "operators");
	refused("{\"a\":[{\"numeric\":[\"<\",5,\"<\",6]}]}", "one lower and one upper");
	refused("{\"a\":[{\"cidr\":\"10.0.0.0/33\"}]}", "CIDR");
	refused("{\"a\":[{\"cidr\":\"10.0.0.0\"}]}", "cidr");
	refused("{\"a\":[{\"anything-but\":[\"x\",1]}]}", "all strings or all numbers");
	refused("{\"a\":[{\"anything-but\":{\"numeric\":[\">\",1]}}]}",
	        "anything-but does not take");
	refused("{\"a\":[{\"exists\":\"yes\"}]}", "true or false");
	refused("{\"a\":[[1]]}", "list items");
	refused("{\"$or\":[{\"a\":[1]}]}", "$or: $or takes a list of at least two objects");
	cr_assert_eq(flt_remove_rule(c, 1), -ENOENT, "nothing was added");
}

Test(filters, limits_are_enforced)
{
	/* Pattern size. */
	char big[4096];
	snprintf(big, sizeof(big), "{\"a\":[\"%0*d\"]}", 2100, 0);
	refused(big, "limit is 2048");
	/* $or combinations: 11 x 11 x 11 = 1331 > 1000. */
	char pattern[2048] = "{";
	for (int k = 0; k < 3; k++) {
		strcat(pattern, k ? ",\"x" : "\"x");
		char n[4];
		snprintf(n, sizeof(n), "%d", k);
		strcat(pattern, n);
		strcat(pattern, "\":{\"$or\":[");
		for (int b = 0; b < 11; b++) {
			char branch[32];
			snprintf(branch, sizeof(branch), "%s{\"f%d\":[1]}", b ? "," : "", b);
			strcat(pattern, branch);
		}
		strcat(pattern, "]}");
	}
	strcat(pattern, "}");
	refused(pattern, "combinations");
	/* Nesting. */
	char deep[2048] = "";
	for (int i = 0; i < 101; i++)
		strcat(deep, "{\"a\":");
	strcat(deep, "[1]");
	for (int i = 0; i < 101; i++)
		strcat(deep, "}");
	refused(deep, "nested deeper");
	/* Rules per bus. */
	limits.rules_max = 2;
	flt_compiler_free(c);
	c = flt_compiler_new(&limits);
	cr_assert_eq(add(1, "{\"a\":[1]}"), 0);
	cr_assert_eq(add(2, "{\"a\":[2]}"), 0);
	cr_assert_eq(add(3, "{\"a\":[3]}"), -EINVAL, "a third rule");
	cr_assert_neq(strstr(error, "the limit"), NULL, "%s", error);
	cr_assert_eq(add(2, "{\"a\":[4]}"), 0, "more patterns for an existing rule are fine");
}

static int match(const struct flt_matcher *m, const char *event, uint32_t *ids, uint32_t cap)
{
	struct flt_scratch *s = flt_scratch_new(m);
	int n = flt_match(m, s, event, strlen(event), ids, cap);
	flt_scratch_free(s);
	return n;
}

Test(filters, malformed_events_are_errors_never_matches)
{
	cr_assert_eq(add(1, "{\"a\":[{\"exists\":false}]}"), 0); /* matches almost anything */
	struct flt_matcher *m = flt_compile(c);
	uint32_t ids[2];
	cr_assert_eq(match(m, "{}", ids, 2), 1);
	const char *bad[] = {
	    "",
	    "{",
	    "{\"a\":1",
	    "{\"a\":1,}",
	    "{\"a\" 1}",
	    "[]",
	    "{} {}",
	    "{\"a\":01}",
	    "{\"a\":1.}",
	    "{\"a\":-}",
	    "{\"a\":1e}",
	    "{\"a\":tru}",
	    "{\"a\":\"\\x\"}",
	    "{\"a\":\"\\ud800\"}",
	    "{\"a\":\"\\udc00\"}",
	    "{\"a\":\"\xc3\"}",
	    "{\"a\":\"\xc0\x80\"}",
	    "{\"a\":\"\xed\xa0\x80\"}",
	    "{\"a\":\"tab\there\"}",
	    "{\"b\":[1,2,]}",
	    "{\"b\":{\"c\":[}}",
	};
	struct flt_scratch *s = flt_scratch_new(m);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(match(m, bad[i], ids, 2), -EINVAL, "accepted: %s", bad[i]);
		cr_assert_eq(flt_validate(m, s, bad[i], strlen(bad[i])), -EINVAL, "valid: %s",
		             bad[i]);
	}
	flt_scratch_free(s);
	flt_matcher_free(m);
}

Test(filters, event_nesting_at_and_over_the_limit)
{
	cr_assert_eq(add(1, "{\"a\":[{\"exists\":false}]}"), 0);
	struct flt_matcher *m = flt_compile(c);
	char event[1024] = "";
	for (uint32_t i = 0; i < limits.depth_max - 1; i++)
		strcat(event, "{\"b\":");
	strcat(event, "{}");
	for (uint32_t i = 0; i < limits.depth_max - 1; i++)
		strcat(event, "}");
	uint32_t ids[2];
	cr_assert_eq(match(m, event, ids, 2), 1, "at the limit");
	char over[1024] = "{\"b\":";
	strcat(over, event);
	strcat(over, "}");
	cr_assert_eq(match(m, over, ids, 2), -EINVAL, "over the limit");
	flt_matcher_free(m);
}

Test(filters, all_matching_rules_once_each_and_removal)
{
	cr_assert_eq(add(10, "{\"kind\":[\"order\"]}"), 0);
	cr_assert_eq(add(20, "{\"amount\":[{\"numeric\":[\">\",100]}]}"), 0);
	cr_assert_eq(
	    add(30, "{\"$or\":[{\"kind\":[\"order\"]},{\"amount\":[{\"numeric\":[\">\",1]}]}]}"),
	    0);
	cr_assert_eq(add(40, "{\"kind\":[\"refund\"]}"), 0);
	struct flt_matcher *m = flt_compile(c);
	uint32_t ids[8];
	int n = match(m, "{\"kind\":\"order\",\"amount\":500}", ids, 8);
	cr_assert_eq(n, 3, "10, 20 and 30 (30 once although both branches match)");
	bool seen[50] = {false};
	for (int i = 0; i < n; i++)
		seen[ids[i]] = true;
	cr_assert(seen[10] && seen[20] && seen[30]);
	cr_assert_eq(match(m, "{\"kind\":\"order\",\"amount\":500}", ids, 1), 3,
	             "the count is complete even when the array is short");
	flt_matcher_free(m);
	cr_assert_eq(flt_remove_rule(c, 30), 0);
	m = flt_compile(c);
	cr_assert_eq(match(m, "{\"kind\":\"order\",\"amount\":500}", ids, 8), 2);
	cr_assert_eq(match(m, "{\"kind\":\"refund\"}", ids, 8), 1);
	cr_assert_eq(ids[0], 40, "the other rules are intact");
	flt_matcher_free(m);
}

Test(filters, early_stop_reads_only_what_rules_name)
{
	cr_assert_eq(add(1, "{\"properties\":{\"id\":[\"7\"]}}"), 0);
	struct flt_matcher *m = flt_compile(c);
	struct flt_scratch *s = flt_scratch_new(m);
	uint32_t ids[2];
	/* Broken after the only member a rule names: a full match refuses it, an early stop
	 * (for events validated where they entered) never reads that far. */
	const char *event = "{\"properties\":{\"id\":\"7\"},\"geometry\":[1,2,";
	cr_assert_eq(flt_match(m, s, event, strlen(event), ids, 2), -EINVAL);
	cr_assert_eq(flt_match_validated(m, s, event, strlen(event), ids, 2), 1);
	cr_assert_eq(flt_validate(m, s, event, strlen(event)), -EINVAL, "validation reads it all");
	flt_scratch_free(s);
	flt_matcher_free(m);
}

Test(filters, early_stop_once_every_named_leaf_is_read)
{
	cr_assert_eq(add(1, "{\"properties\":{\"id\":[\"7\"]}}"), 0);
	cr_assert_eq(add(2, "{\"properties\":{\"tags\":[\"x\"]}}"), 0);
	struct flt_matcher *m = flt_compile(c);
	struct flt_scratch *s = flt_scratch_new(m);
	uint32_t ids[2];
	/* Both named leaves read, outside any array: the rest of the object is not. */
	const char *done = "{\"properties\":{\"id\":\"7\",\"tags\":\"x\",\"more\":[1,";
	cr_assert_eq(flt_match_validated(m, s, done, strlen(done), ids, 2), 2);
	/* Inside an array a path may come again: no stop before the array ends. */
	const char *array = "{\"properties\":[{\"id\":\"7\",\"tags\":\"x\"},{\"more\":[1,";
	cr_assert_eq(flt_match_validated(m, s, array, strlen(array), ids, 2), -EINVAL);
	/* One leaf of two read: reading goes on. */
	const char *half = "{\"properties\":{\"id\":\"7\",\"more\":[1,";
	cr_assert_eq(flt_match_validated(m, s, half, strlen(half), ids, 2), -EINVAL);
	flt_scratch_free(s);
	flt_matcher_free(m);
}

Test(filters, a_thousand_wildcard_rules_compile_and_match)
{
	limits.rules_max = 2000;
	flt_compiler_free(c);
	c = flt_compiler_new(&limits);
	char pattern[128];
	for (uint32_t i = 0; i < 1000; i++) {
		snprintf(pattern, sizeof(pattern), "{\"STREET\":[{\"wildcard\":\"*%c%c%c*\"}]}",
		         'A' + i % 26, 'A' + i / 26 % 26, 'A' + i / 676 % 26);
		cr_assert_eq(add(i, pattern), 0, "%s", error);
	}
	struct flt_matcher *m = flt_compile(c);
	cr_assert_not_null(m);
	uint32_t ids[8];
	cr_assert_eq(match(m, "{\"STREET\":\"xxBAAxx\"}", ids, 8), 1);
	cr_assert_eq(ids[0], 1);
	flt_matcher_free(m);
}
