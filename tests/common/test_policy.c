/*
 * Key policies (common/bb_policy.h), the evaluator both the UDP and HTTP paths
 * use: Allow by action and resource pattern, explicit Deny wins, default deny,
 * glob corner cases, and policies outside the subset refused with a reason.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bb_policy.h"

static struct bb_policy policy;
static char error[256];

static int compile(const char *json)
{
	return bb_policy_compile(json, strlen(json), &policy, error, sizeof(error));
}

#define ARN(q) "arn:aws:sqs:local:000000000000:" q

Test(policy, allow_deny_default)
{
	cr_assert_eq(compile("{\"Version\":\"2012-10-17\",\"Statement\":["
	                     "{\"Effect\":\"Allow\",\"Action\":\"sqs:*\",\"Resource\":\"*\"},"
	                     "{\"Effect\":\"Deny\",\"Action\":[\"sqs:DeleteMessage\"],"
	                     "\"Resource\":\"arn:aws:sqs:*:*:audit-*\"}]}"),
	             0, "%s", error);
	cr_assert(bb_policy_allows(&policy, "sqs:SendMessage", ARN("orders")));
	cr_assert(bb_policy_allows(&policy, "SQS:sendmessage", ARN("orders")));
	cr_assert(bb_policy_allows(&policy, "sqs:DeleteMessage", ARN("orders")));
	cr_assert_not(bb_policy_allows(&policy, "sqs:DeleteMessage", ARN("audit-1")));
	cr_assert_not(bb_policy_allows(&policy, "sns:Publish", "arn:aws:sns:local:0:t"));
	cr_assert_not(bb_policy_allows(NULL, "sqs:SendMessage", ARN("orders")));
}

Test(policy, single_statement_object)
{
	cr_assert_eq(compile("{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"sqs:SendMessage\","
	                     "\"Resource\":\"" ARN("in-?") "\"}}"),
	             0, "%s", error);
	cr_assert(bb_policy_allows(&policy, "sqs:SendMessage", ARN("in-1")));
	cr_assert_not(bb_policy_allows(&policy, "sqs:SendMessage", ARN("in-12")));
	cr_assert_not(bb_policy_allows(&policy, "sqs:ReceiveMessage", ARN("in-1")));
}

Test(policy, glob)
{
	cr_assert(bb_policy_glob("*", "", false));
	cr_assert(bb_policy_glob("a*b*c", "aXXbYYc", false));
	cr_assert(bb_policy_glob("a*b*c", "abcbc", false));
	cr_assert_not(bb_policy_glob("a*b*c", "abcb", false));
	cr_assert(bb_policy_glob("**?", "x", false));
	cr_assert_not(bb_policy_glob("?", "", false));
	cr_assert_not(bb_policy_glob("Abc", "abc", false));
	cr_assert(bb_policy_glob("Abc", "abc", true));
}

Test(policy, refused)
{
	const char *bad[] = {
	    "",
	    "[]",
	    "{\"Statement\":[{\"Effect\":\"Maybe\",\"Action\":\"*\",\"Resource\":\"*\"}]}",
	    "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\"}]}",
	    "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[],\"Resource\":\"*\"}]}",
	    "{\"Statement\":[{\"Effect\":\"Allow\",\"NotAction\":\"*\",\"Resource\":\"*\"}]}",
	    ("{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\","
	     "\"Condition\":{}}]}"),
	    "{\"Version\":\"2008-10-17\",\"Statement\":[]}",
	    "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"\",\"Resource\":\"*\"}]}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(compile(bad[i]), -EINVAL, "policy %zu", i);
		cr_assert_gt(strlen(error), 0);
		cr_assert_not(bb_policy_allows(&policy, "sqs:SendMessage", ARN("q")));
	}
}

Test(policy, limits)
{
	static char json[BB_POLICY_BYTES_MAX * 2];
	size_t n = (size_t)snprintf(json, sizeof(json), "{\"Statement\":[");
	for (unsigned i = 0; i <= BB_POLICY_STATEMENTS_MAX; i++)
		n += (size_t)snprintf(
		    json + n, sizeof(json) - n,
		    "%s{\"Effect\":\"Allow\",\"Action\":\"a\",\"Resource\":\"r\"}", i ? "," : "");
	snprintf(json + n, sizeof(json) - n, "]}");
	cr_assert_eq(compile(json), -E2BIG);
	memset(json, ' ', BB_POLICY_BYTES_MAX + 1);
	cr_assert_eq(
	    bb_policy_compile(json, BB_POLICY_BYTES_MAX + 1, &policy, error, sizeof(error)),
	    -E2BIG);
}
