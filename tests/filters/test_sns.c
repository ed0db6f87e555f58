/*
 * SNS filter policies: AWS's documentation example in the MessageAttributes
 * scope (String, Number and String.Array attributes; Binary ignored), the
 * MessageBody scope with nesting, and SNS's own limits and operator set.
 */
#include <criterion/criterion.h>
#include <errno.h>
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

TestSuite(sns, .init = setup, .fini = teardown);

static int add(const char *policy, enum flt_sns_scope scope)
{
	return flt_add_sns_policy(c, 1, policy, strlen(policy), scope, error, sizeof(error));
}

static int matches(const char *event)
{
	struct flt_matcher *m = flt_compile(c);
	struct flt_scratch *s = flt_scratch_new(m);
	uint32_t ids[2];
	int n = flt_match(m, s, event, strlen(event), ids, 2);
	flt_scratch_free(s);
	flt_matcher_free(m);
	return n;
}

static const char *example_policy =
    "{\"store\":[\"example_corp\"],\"event\":[{\"anything-but\":\"order_cancelled\"}],"
    "\"customer_interests\":[\"rugby\",\"football\",\"baseball\"],"
    "\"price_usd\":[{\"numeric\":[\">=\",100]}]}";

static int attributes_match(const struct flt_sns_attribute *a, uint32_t count)
{
	char event[1024];
	size_t length;
	cr_assert_eq(flt_sns_attributes_event(a, count, event, sizeof(event), &length), 0);
	event[length] = '\0';
	return matches(event);
}

Test(sns, documentation_example_in_the_attributes_scope)
{
	cr_assert_eq(add(example_policy, FLT_SNS_MESSAGE_ATTRIBUTES), 0, "%s", error);
	struct flt_sns_attribute a[] = {
	    {"store", "String", "example_corp", 12},
	    {"event", "String", "order_placed", 12},
	    {"customer_interests", "String.Array", "[\"soccer\",\"rugby\",\"hockey\"]", 27},
	    {"price_usd", "Number", "210.75", 6},
	    {"picture", "Binary", "\x01\x02", 2},
	};
	cr_assert_eq(attributes_match(a, 5), 1);
	a[3].value = "99";
	a[3].value_bytes = 2;
	cr_assert_eq(attributes_match(a, 5), 0, "price under 100");
	a[3] = (struct flt_sns_attribute){"price_usd", "Number.float", "150", 3};
	cr_assert_eq(attributes_match(a, 5), 1, "a custom Number type is a Number");
	a[1].value = "order_cancelled";
	a[1].value_bytes = 15;
	cr_assert_eq(attributes_match(a, 5), 0);
}

Test(sns, a_number_attribute_is_not_a_string)
{
	cr_assert_eq(add("{\"n\":[\"5\"]}", FLT_SNS_MESSAGE_ATTRIBUTES), 0, "%s", error);
	struct flt_sns_attribute number = {"n", "Number", "5", 1};
	struct flt_sns_attribute string = {"n", "String", "5", 1};
	cr_assert_eq(attributes_match(&number, 1), 0);
	cr_assert_eq(attributes_match(&string, 1), 1);
	struct flt_sns_attribute bad = {"n", "Number", "five", 4};
	char event[64];
	size_t length;
	cr_assert_eq(flt_sns_attributes_event(&bad, 1, event, sizeof(event), &length), -EINVAL);
}

Test(sns, body_scope_allows_nesting)
{
	cr_assert_eq(add("{\"order\":{\"kind\":[\"retail\"],\"total\":[{\"numeric\":[\">\",10]}]}}",
	                 FLT_SNS_MESSAGE_BODY),
	             0, "%s", error);
	cr_assert_eq(matches("{\"order\":{\"kind\":\"retail\",\"total\":12.5}}"), 1);
	cr_assert_eq(matches("{\"order\":{\"kind\":\"retail\",\"total\":2}}"), 0);
}

/*
 * SNS's rule for null differs from EventBridge's in one place: "exists": true
 * needs "a non-null and non-empty value" (SNS developer guide, key matching),
 * where EventBridge counts a null as present. A null key is still not absent
 * for "exists": false. The other operators treat null as EventBridge does:
 * anything-but (values or prefix) matches it, the rest do not.
 */
Test(sns, null_does_not_exist_for_sns_but_is_anything_but)
{
	cr_assert_eq(add("{\"store\":[{\"exists\":true}]}", FLT_SNS_MESSAGE_BODY), 0, "%s", error);
	cr_assert_eq(matches("{\"store\":null}"), 0, "exists:true, SNS: not for a null");
	cr_assert_eq(matches("{\"store\":[null]}"), 0);
	cr_assert_eq(matches("{\"store\":[null,\"fans\"]}"), 1);
	cr_assert_eq(matches("{\"store\":\"fans\"}"), 1);
	cr_assert_eq(matches("{\"store\":0}"), 1);
	cr_assert_eq(flt_remove_rule(c, 1), 0);
	cr_assert_eq(add("{\"store\":[{\"exists\":false}]}", FLT_SNS_MESSAGE_BODY), 0, "%s",
	             error);
	cr_assert_eq(matches("{\"store\":null}"), 0, "a null key is there");
	cr_assert_eq(matches("{\"other\":1}"), 1);
	cr_assert_eq(flt_remove_rule(c, 1), 0);
	cr_assert_eq(add("{\"s\":[{\"anything-but\":{\"prefix\":\"o\"}}]}", FLT_SNS_MESSAGE_BODY),
	             0, "%s", error);
	cr_assert_eq(matches("{\"s\":null}"), 1);
	cr_assert_eq(matches("{\"s\":\"ok\"}"), 0);
	cr_assert_eq(matches("{}"), 0);
	cr_assert_eq(flt_remove_rule(c, 1), 0);
	cr_assert_eq(add("{\"s\":[{\"anything-but\":[\"ok\"]},{\"prefix\":\"n\"}]}",
	                 FLT_SNS_MESSAGE_BODY),
	             0, "%s", error);
	cr_assert_eq(matches("{\"s\":null}"), 1);
}

Test(sns, a_null_in_a_string_array_attribute_does_not_exist)
{
	cr_assert_eq(add("{\"tags\":[{\"exists\":true}]}", FLT_SNS_MESSAGE_ATTRIBUTES), 0, "%s",
	             error);
	struct flt_sns_attribute only_null = {"tags", "String.Array", "[null]", 6};
	struct flt_sns_attribute with_value = {"tags", "String.Array", "[null,\"x\"]", 10};
	cr_assert_eq(attributes_match(&only_null, 1), 0);
	cr_assert_eq(attributes_match(&with_value, 1), 1);
}

/*
 * SNS's guide (key matching): "exists": false "only matches if at least one attribute is
 * present. An empty set of attributes results in the filter not matching." A Binary
 * attribute is one present (SNS only leaves it out of the comparison).
 */
Test(sns, exists_false_wants_some_attribute_as_sns_says)
{
	cr_assert_eq(add("{\"store\":[{\"exists\":false}]}", FLT_SNS_MESSAGE_ATTRIBUTES), 0,
	             "%s", error);
	char event[64];
	size_t length = 0;
	cr_assert_eq(flt_sns_attributes_event(NULL, 0, event, sizeof(event), &length), -ENODATA,
	             "no attributes: nothing for any attribute policy to match");
	struct flt_sns_attribute other = {"other", "String", "x", 1};
	struct flt_sns_attribute blob = {"blob", "Binary", "AAEC", 4};
	struct flt_sns_attribute store = {"store", "String", "fans", 4};
	cr_assert_eq(attributes_match(&other, 1), 1);
	cr_assert_eq(attributes_match(&blob, 1), 1, "a Binary attribute is present");
	cr_assert_eq(attributes_match(&store, 1), 0);
}

static void refused(const char *policy, enum flt_sns_scope scope, const char *why)
{
	cr_assert_eq(add(policy, scope), -EINVAL, "accepted: %s", policy);
	cr_assert_neq(strstr(error, why), NULL, "%s: %s", policy, error);
}

Test(sns, sns_rules_are_enforced)
{
	refused("{\"a\":{\"b\":[1]}}", FLT_SNS_MESSAGE_ATTRIBUTES, "flat");
	refused("{\"a\":[1],\"b\":[1],\"c\":[1],\"d\":[1],\"e\":[1],\"f\":[1]}",
	        FLT_SNS_MESSAGE_ATTRIBUTES, "more than 5 keys");
	refused("{\"a\":[1,2,3,4,5,6],\"b\":[1,2,3,4,5],\"c\":[1,2,3,4,5,6]}",
	        FLT_SNS_MESSAGE_ATTRIBUTES, "150");
	refused("{\"a\":[{\"numeric\":[\">\",2e9]}]}", FLT_SNS_MESSAGE_ATTRIBUTES, "1e9");
	refused("{\"a\":[1.123456]}", FLT_SNS_MESSAGE_ATTRIBUTES, "5 decimals");
	refused("{\"a\":[{\"wildcard\":\"*x\"}]}", FLT_SNS_MESSAGE_ATTRIBUTES, "not an operator");
	refused("{\"a\":[{\"anything-but\":{\"suffix\":\"x\"}}]}", FLT_SNS_MESSAGE_ATTRIBUTES,
	        "anything-but");
	refused("{\"a\":[{\"prefix\":{\"equals-ignore-case\":\"x\"}}]}", FLT_SNS_MESSAGE_ATTRIBUTES,
	        "prefix");
	/* Within the limits: 5 keys, 5 x 5 x 6 = 150 combinations, a $or counted by its branches.
	 */
	cr_assert_eq(add("{\"a\":[1,2,3,4,5],\"b\":[1,2,3,4,5],\"c\":[1,2,3,4,5,6]}",
	                 FLT_SNS_MESSAGE_ATTRIBUTES),
	             0, "%s", error);
	cr_assert_eq(add("{\"$or\":[{\"a\":[1]},{\"b\":[2]}],\"c\":[{\"anything-but\":{\"prefix\":"
	                 "\"x\"}}]}",
	                 FLT_SNS_MESSAGE_ATTRIBUTES),
	             0, "%s", error);
}
