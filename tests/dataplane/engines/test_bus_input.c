/*
 * Target input shaping: the examples of AWS's "Amazon EventBridge input transformation"
 * page (its EC2 event, its templates and outputs), InputPath, Input, the predefined
 * variables, the quoting rules, and PutTargets' checks with their limits.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus_input.h"

#define T(s) ((struct bus_text){(s), (uint32_t)strlen(s)})

/* AWS's example EC2 event, as bus_event_write would write it. */
static const char ec2[] =
    "{\"version\":\"0\",\"id\":\"7bf73129-1428-4cd3-a780-95db273d1602\","
    "\"detail-type\":\"EC2 Instance State-change Notification\",\"source\":\"aws.ec2\","
    "\"account\":\"123456789012\",\"time\":\"2015-11-11T21:29:54Z\",\"region\":\"us-east-1\","
    "\"resources\":[\"arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111\"],"
    "\"detail\":{\"instance-id\":\"i-0123456789\",\"state\":\"RUNNING\"}}";

static const char map[] = "{\"instance\":\"$.detail.instance-id\",\"state\":\"$.detail.state\"}";

static struct bus_input in3(enum bus_input_kind kind, const char *input, const char *map_text)
{
	return (struct bus_input){.kind = kind, .input = T(input), .paths_map = T(map_text)};
}

static struct bus_input in2(enum bus_input_kind kind, const char *input)
{
	return in3(kind, input, "");
}

static const struct bus_input_context ctx = {
    .rule_name = "ec2-rule",
    .rule_arn = "arn:aws:events:us-east-1:123456789012:rule/ec2-rule",
    .ingestion_ms = 1447277394000ull};

static char out[4096];

static const char *render(struct bus_input in)
{
	char error[256];
	cr_assert_eq(bus_input_validate(&in, error, sizeof(error)), 0, "%s", error);
	size_t n = 0;
	cr_assert_eq(bus_input_render(&in, &ctx, ec2, strlen(ec2), out, sizeof(out) - 1, &n), 0);
	out[n] = '\0';
	return out;
}

static const char *transform(const char *template)
{
	return render(in3(BUS_INPUT_TRANSFORMER, template, map));
}

Test(bus_input, aws_example_json_template)
{
	cr_assert_str_eq(transform("{\"instance\": <instance>, \"state\": [9, <state>, true], "
	                           "\"Transformed\": \"Yes\"}"),
	                 "{\"instance\": \"i-0123456789\", \"state\": [9, \"RUNNING\", true], "
	                 "\"Transformed\": \"Yes\"}");
}

Test(bus_input, aws_example_string_templates)
{
	cr_assert_str_eq(transform("\"instance <instance> is in <state>\""),
	                 "\"instance i-0123456789 is in RUNNING\"");
	cr_assert_str_eq(transform("<instance> is in state <state>"),
	                 "i-0123456789 is in state RUNNING");
	cr_assert_str_eq(transform("<instance> is in state \"<state>\""),
	                 "i-0123456789 is in state \"RUNNING\"");
}

Test(bus_input, aws_example_mixed_template)
{
	cr_assert_str_eq(
	    transform("{\"instance\" : <instance>, \"message\": \"instance <instance> is in "
	              "<state>\"}"),
	    "{\"instance\" : \"i-0123456789\", \"message\": \"instance i-0123456789 is in "
	    "RUNNING\"}");
}

Test(bus_input, predefined_variables)
{
	cr_assert_str_eq(transform("{\"r\": <aws.events.rule-name>, \"a\": "
	                           "\"<aws.events.rule-arn>\", \"t\": "
	                           "<aws.events.event.ingestion-time>}"),
	                 "{\"r\": \"ec2-rule\", \"a\": "
	                 "\"arn:aws:events:us-east-1:123456789012:rule/ec2-rule\", \"t\": "
	                 "\"2015-11-11T21:29:54Z\"}");
	const char *full = transform("{\"e\": <aws.events.event.json>}");
	cr_assert(strncmp(full + 6, ec2, strlen(ec2)) == 0, "%s", full);
	const char *bare = transform("{\"e\": <aws.events.event>}");
	cr_assert(strstr(bare, "\"detail\"") == NULL, "%s", bare);
	cr_assert(strstr(bare, "\"detail-type\"") != NULL, "%s", bare);
	cr_assert(strstr(bare, "\"resources\":[") != NULL, "%s", bare);
}

Test(bus_input, values_that_are_not_strings_and_missing_paths)
{
	const char *m = "{\"d\":\"$.detail\",\"none\":\"$.detail.nothing\",\"r0\":\"$.resources[0]\"}";
	struct bus_input in = {BUS_INPUT_TRANSFORMER, T("{\"d\": <d>, \"s\": \"<d>\", \"n\": <none>, "
	                                                "\"m\": \"x<none>y\", \"r\": <r0>}"),
	                       T(m)};
	cr_assert_str_eq(render(in),
	                 "{\"d\": {\"instance-id\":\"i-0123456789\",\"state\":\"RUNNING\"}, "
	                 "\"s\": \"{\\\"instance-id\\\":\\\"i-0123456789\\\",\\\"state\\\":"
	                 "\\\"RUNNING\\\"}\", \"n\": null, \"m\": \"xy\", "
	                 "\"r\": \"arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111\"}");
	/* A placeholder no key names stays as written (and may then be plain text). */
	cr_assert_str_eq(transform("a <b> c"), "a <b> c");
}

Test(bus_input, input_path_input_and_whole_event)
{
	cr_assert_str_eq(render(in2(BUS_INPUT_PATH, "$.detail")),
	                 "{\"instance-id\":\"i-0123456789\",\"state\":\"RUNNING\"}");
	cr_assert_str_eq(render(in2(BUS_INPUT_PATH, "$.detail.state")),
	                 "\"RUNNING\"");
	cr_assert_str_eq(render(in2(BUS_INPUT_PATH, "$")), ec2);
	cr_assert_str_eq(render(in2(BUS_INPUT_PATH, "$.nothing")), "null");
	cr_assert_str_eq(render(in2(BUS_INPUT_CONSTANT, "{\"k\": [1]}")),
	                 "{\"k\": [1]}");
	cr_assert_str_eq(render(in2(BUS_INPUT_EVENT, "")), ec2);
}

Test(bus_input, render_into_too_small_a_buffer)
{
	struct bus_input in = {BUS_INPUT_TRANSFORMER, T("<instance> is in state <state>"), T(map)};
	size_t n = 0;
	cr_assert_eq(bus_input_render(&in, &ctx, ec2, strlen(ec2), out, 32, &n), 0);
	cr_assert_eq(n, 32);
	cr_assert_eq(bus_input_render(&in, &ctx, ec2, strlen(ec2), out, 31, &n), -ENOBUFS);
	struct bus_input whole = {.kind = BUS_INPUT_EVENT};
	cr_assert_eq(bus_input_render(&whole, &ctx, ec2, strlen(ec2), out, 10, &n), -ENOBUFS);
}

static int validate(struct bus_input in)
{
	char error[256];
	return bus_input_validate(&in, error, sizeof(error));
}

Test(bus_input, puttargets_checks)
{
	cr_assert_eq(validate(in2(BUS_INPUT_CONSTANT, "{\"a\":")), -EINVAL);
	cr_assert_eq(validate(in2(BUS_INPUT_CONSTANT, "")), -EINVAL);
	cr_assert_eq(validate(in2(BUS_INPUT_PATH, "detail")), -EINVAL);
	cr_assert_eq(validate(in2(BUS_INPUT_PATH, "$.a..b")), -EINVAL);
	cr_assert_eq(validate(in2(BUS_INPUT_PATH, "$['a']")), -EINVAL);
	cr_assert_eq(validate(in2(BUS_INPUT_PATH, "$.a[01]")), -EINVAL);
	cr_assert_eq(validate(in2(BUS_INPUT_PATH, "$.a[10].b-c_d/e")), 0);
	cr_assert_eq(validate(in2(BUS_INPUT_EVENT, "x")), -EINVAL);
	/* A placeholder as an object key, and the whole event inside quotes, are refused. */
	cr_assert_eq(validate(in3(BUS_INPUT_TRANSFORMER, "{<state>: 1}", map)),
	             -EINVAL);
	cr_assert_eq(validate(in2(BUS_INPUT_TRANSFORMER, "{\"a\": \"<aws.events.event.json>\"}")),
	             -EINVAL);
	cr_assert_eq(validate(in3(BUS_INPUT_TRANSFORMER, "{\"a\": <state>", map)),
	             -EINVAL);
	cr_assert_eq(validate(in2(BUS_INPUT_TRANSFORMER, "")), -EINVAL);
	cr_assert_eq(validate(in3(BUS_INPUT_TRANSFORMER, "x", "{\"AWS.x\":\"$.a\"}")),
	             -EINVAL);
	cr_assert_eq(validate(in3(BUS_INPUT_TRANSFORMER, "x", "{\"a\":\"$.a\",\"a\":\"$.b\"}")),
	             -EINVAL);
	cr_assert_eq(validate(in3(BUS_INPUT_TRANSFORMER, "x", "{\"a\":\"b\"}")),
	             -EINVAL);
}

/* Input and InputTemplate at 8,192 bytes and one past; InputPath at 256 and one past. */
Test(bus_input, size_limits_reached_and_one_past)
{
	char *big = malloc(BB_TARGET_INPUT_BYTES_MAX + 2);
	memset(big, ' ', BB_TARGET_INPUT_BYTES_MAX + 1);
	big[0] = '"';
	big[BB_TARGET_INPUT_BYTES_MAX - 1] = '"';
	big[BB_TARGET_INPUT_BYTES_MAX] = '\0';
	cr_assert_eq(validate(in2(BUS_INPUT_CONSTANT, big)), 0);
	cr_assert_eq(validate(in2(BUS_INPUT_TRANSFORMER, big)), 0);
	big[BB_TARGET_INPUT_BYTES_MAX] = ' ';
	big[BB_TARGET_INPUT_BYTES_MAX + 1] = '\0';
	cr_assert_eq(validate(in2(BUS_INPUT_CONSTANT, big)), -EINVAL);
	cr_assert_eq(validate(in2(BUS_INPUT_TRANSFORMER, big)), -EINVAL);
	char path[BB_BUS_INPUT_PATH_BYTES_MAX + 2];
	memset(path, 'a', sizeof(path));
	memcpy(path, "$.", 2);
	path[BB_BUS_INPUT_PATH_BYTES_MAX] = '\0';
	cr_assert_eq(validate(in2(BUS_INPUT_PATH, path)), 0);
	path[BB_BUS_INPUT_PATH_BYTES_MAX] = 'a';
	path[BB_BUS_INPUT_PATH_BYTES_MAX + 1] = '\0';
	cr_assert_eq(validate(in2(BUS_INPUT_PATH, path)), -EINVAL);
	free(big);
}

/* InputPathsMap with 100 keys, and 101. */
Test(bus_input, paths_map_entries_reached_and_one_past)
{
	char m[BB_TARGET_PATHS_MAP_BYTES_MAX];
	size_t n = 0;
	n += (size_t)snprintf(m + n, sizeof(m) - n, "{");
	for (uint32_t i = 0; i < BB_BUS_INPUT_VARS_MAX; i++)
		n += (size_t)snprintf(m + n, sizeof(m) - n, "%s\"k%u\":\"$.detail\"", i ? "," : "", i);
	n += (size_t)snprintf(m + n, sizeof(m) - n, "}");
	cr_assert_eq(validate(in3(BUS_INPUT_TRANSFORMER, "<k99>", m)), 0);
	n -= 1;
	n += (size_t)snprintf(m + n, sizeof(m) - n, ",\"k100\":\"$.detail\"}");
	cr_assert_eq(validate(in3(BUS_INPUT_TRANSFORMER, "<k99>", m)),
	             -EINVAL);
}
