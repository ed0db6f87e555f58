/*
 * The bus engine's PutEvents checks (each check and limit reached and one past, in AWS's
 * words), Detail's JSON rules (int64 integers, nesting), times, the envelope it writes,
 * and rules compiled by filters/ matched into (rule, target) pairs.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "bus_json.h"

#define T(s) ((struct bus_text){(s), (uint32_t)strlen(s)})

static struct bus_entry entry(const char *detail)
{
	return (struct bus_entry){.source = T("com.shop"), .detail_type = T("Order Placed"),
	                          .detail = T(detail)};
}

static const char *check_one(struct bus_entry e)
{
	struct bus_entry_result r[1];
	struct bus_request_error err;
	uint32_t failed = 0;
	cr_assert_eq(bus_put_check(&e, 1, 1000, r, &failed, &err), 0, "%s", err.message);
	cr_assert_eq(failed, r[0].error_code != NULL);
	return r[0].error_code == NULL ? "ok" : r[0].error_code;
}

Test(bus_put, required_fields_each_fail_their_entry_alone)
{
	struct bus_entry e[3] = {entry("{}"), entry("{}"), entry("{}")};
	e[1].source = (struct bus_text){0};
	e[2].detail = (struct bus_text){0};
	struct bus_entry_result r[3];
	struct bus_request_error err;
	uint32_t failed = 0;
	cr_assert_eq(bus_put_check(e, 3, 5, r, &failed, &err), 0);
	cr_assert_eq(failed, 2);
	cr_assert_null(r[0].error_code);
	cr_assert_str_eq(r[1].error_code, "InvalidArgument");
	cr_assert_str_eq(r[1].error_message,
	                 "Parameter Source is not valid. Reason: Source is a required argument.");
	cr_assert_str_eq(r[2].error_code, "InvalidArgument");
	cr_assert(strstr(r[2].error_message, "Detail is a required argument") != NULL);
	e[1] = entry("{}");
	e[1].detail_type = (struct bus_text){0};
	cr_assert_eq(bus_put_check(e, 2, 5, r, &failed, &err), 0);
	cr_assert_eq(failed, 1);
	cr_assert(strstr(r[1].error_message, "DetailType is a required argument") != NULL);
}

Test(bus_put, request_level_refusals)
{
	struct bus_entry e[BB_BUS_PUT_ENTRIES_MAX + 1];
	for (int i = 0; i <= (int)BB_BUS_PUT_ENTRIES_MAX; i++)
		e[i] = entry("{}");
	struct bus_entry_result r[BB_BUS_PUT_ENTRIES_MAX + 1];
	struct bus_request_error err;
	uint32_t failed = 0;
	cr_assert_eq(bus_put_check(e, 0, 5, r, &failed, &err), -EINVAL);
	cr_assert_str_eq(err.code, "ValidationException");
	cr_assert_eq(bus_put_check(e, BB_BUS_PUT_ENTRIES_MAX, 5, r, &failed, &err), 0);
	cr_assert_eq(bus_put_check(e, BB_BUS_PUT_ENTRIES_MAX + 1, 5, r, &failed, &err), -EINVAL);
	cr_assert(strstr(err.message, "less than or equal to 10") != NULL);
	/* No entry complete: the whole request fails, as the PutEvents documentation says. */
	e[0].source = (struct bus_text){0};
	e[1].detail_type = (struct bus_text){0};
	cr_assert_eq(bus_put_check(e, 2, 5, r, &failed, &err), -EINVAL);
}

/* A JSON object of exactly `bytes` bytes: braces around spaces. */
static char *object_of(size_t bytes)
{
	char *s = malloc(bytes + 1);
	memset(s, ' ', bytes);
	s[0] = '{';
	s[bytes - 1] = '}';
	s[bytes] = '\0';
	return s;
}

/* The size rule: Time adds 14 bytes (not its text's); 256 KiB - 1 in total passes, 256 KiB
 * does not. The entry's own bytes: Source 8, DetailType 12, Time 14, then Detail. */
Test(bus_put, size_rule_reached_and_one_past)
{
	size_t fixed = 8 + 12 + BB_BUS_ENTRY_TIME_BYTES;
	char *detail = object_of(BB_BUS_PUT_BYTES_MAX - 1 - fixed);
	struct bus_entry e = entry(detail);
	e.time = T("2024-01-31T12:00:00Z");
	struct bus_entry_result r[1];
	struct bus_request_error err;
	uint32_t failed = 0;
	cr_assert_eq(bus_put_check(&e, 1, 0, r, &failed, &err), 0);
	cr_assert_null(r[0].error_code, "%s", r[0].error_message);
	cr_assert_eq(r[0].entry_bytes, BB_BUS_PUT_BYTES_MAX - 1);
	free(detail);
	detail = object_of(BB_BUS_PUT_BYTES_MAX - fixed);
	e.detail = T(detail);
	cr_assert_eq(bus_put_check(&e, 1, 0, r, &failed, &err), -EINVAL);
	cr_assert_str_eq(err.code, "ValidationException");
	cr_assert(strstr(err.message, "over the limit") != NULL);
	/* Two entries count together. */
	free(detail);
	detail = object_of(BB_BUS_PUT_BYTES_MAX / 2);
	struct bus_entry two[2] = {entry(detail), entry(detail)};
	struct bus_entry_result r2[2];
	cr_assert_eq(bus_put_check(two, 2, 0, r2, &failed, &err), -EINVAL);
	free(detail);
}

Test(bus_put, detail_must_be_a_json_object_with_int64_integers)
{
	cr_assert_str_eq(check_one(entry("{\"a\":[1,2,{\"b\":null}]}")), "ok");
	cr_assert_str_eq(check_one(entry("[1]")), "MalformedDetail");
	cr_assert_str_eq(check_one(entry("\"x\"")), "MalformedDetail");
	cr_assert_str_eq(check_one(entry("{\"a\":1,}")), "MalformedDetail");
	cr_assert_str_eq(check_one(entry("{\"a\":1} x")), "MalformedDetail");
	cr_assert_str_eq(check_one(entry("{\"a\":9223372036854775807}")), "ok");
	cr_assert_str_eq(check_one(entry("{\"a\":9223372036854775808}")), "MalformedDetail");
	cr_assert_str_eq(check_one(entry("{\"a\":-9223372036854775808}")), "ok");
	cr_assert_str_eq(check_one(entry("{\"a\":-9223372036854775809}")), "MalformedDetail");
	cr_assert_str_eq(check_one(entry("{\"a\":1e300}")), "ok");
	cr_assert_str_eq(check_one(entry("{\"a\":01}")), "MalformedDetail");
	cr_assert_str_eq(check_one(entry("{\"a\":\"\\ud800\"}")), "MalformedDetail");
	cr_assert_str_eq(check_one(entry("{\"a\":\"\\ud83d\\ude00\"}")), "ok");
	cr_assert_str_eq(check_one(entry("{\"a\":\"\xc3\x28\"}")), "MalformedDetail");
	cr_assert_str_eq(check_one(entry("{\"a\":\"\x01\"}")), "MalformedDetail");
}

static char *nested(uint32_t depth)
{
	char *s = malloc(2 * depth + 1);
	for (uint32_t i = 0; i < depth; i++) {
		s[i] = i == 0 ? '{' : '[';
		s[2 * depth - 1 - i] = i == 0 ? '}' : ']';
	}
	s[2 * depth] = '\0';
	return s;
}

Test(bus_put, detail_nesting_reached_and_one_past)
{
	char *ok = nested(BB_BUS_DETAIL_DEPTH_MAX);
	ok[0] = '{';
	/* {[[...]]} is not an object member form: make it {"a":[[...]]} at the same depth. */
	char *text = malloc(strlen(ok) + 8);
	strcpy(text, "{\"a\":");
	strcat(text, ok + 1);
	cr_assert_str_eq(check_one(entry(text)), "ok");
	free(text);
	char *deep = nested(BB_BUS_DETAIL_DEPTH_MAX + 1);
	text = malloc(strlen(deep) + 8);
	strcpy(text, "{\"a\":");
	strcat(text, deep + 1);
	cr_assert_str_eq(check_one(entry(text)), "MalformedDetail");
	free(text);
	free(ok);
	free(deep);
}

Test(bus_put, detail_type_length_reserved_source_resources_time)
{
	char dt[BB_BUS_DETAIL_TYPE_CHARS_MAX + 2];
	memset(dt, 'x', sizeof(dt));
	dt[BB_BUS_DETAIL_TYPE_CHARS_MAX] = '\0';
	struct bus_entry e = entry("{}");
	e.detail_type = T(dt);
	cr_assert_str_eq(check_one(e), "ok");
	dt[BB_BUS_DETAIL_TYPE_CHARS_MAX] = 'x';
	dt[BB_BUS_DETAIL_TYPE_CHARS_MAX + 1] = '\0';
	e.detail_type = T(dt);
	cr_assert_str_eq(check_one(e), "InvalidArgument");
	e = entry("{}");
	e.source = T("aws.ec2");
	cr_assert_str_eq(check_one(e), "NotAuthorizedForSourceException");
	e = entry("{}");
	struct bus_text arns[BB_BUS_RESOURCES_MAX + 1];
	for (uint32_t i = 0; i <= BB_BUS_RESOURCES_MAX; i++)
		arns[i] = T("arn:aws:ec2:us-east-1:123456789012:instance/i-1");
	e.resources = arns;
	e.resource_count = BB_BUS_RESOURCES_MAX;
	cr_assert_str_eq(check_one(e), "ok");
	e.resource_count++;
	cr_assert_str_eq(check_one(e), "InvalidArgument");
	arns[0] = T("not-an-arn");
	e.resource_count = 1;
	cr_assert_str_eq(check_one(e), "InvalidArgument");
	e = entry("{}");
	e.time = T("2024-13-01T00:00:00Z");
	cr_assert_str_eq(check_one(e), "InvalidArgument");
}

Test(bus_time, rfc3339_parse_and_format)
{
	uint64_t ms = 0;
	cr_assert_eq(bus_time_parse("1970-01-01T00:00:00Z", 20, &ms), 0);
	cr_assert_eq(ms, 0);
	cr_assert_eq(bus_time_parse("2015-11-11T21:29:54.5Z", 22, &ms), 0);
	cr_assert_eq(ms, 1447277394500ull);
	cr_assert_eq(bus_time_parse("2015-11-11T23:29:54+02:00", 25, &ms), 0);
	cr_assert_eq(ms, 1447277394000ull);
	char out[BUS_TIME_CHARS + 1];
	bus_time_format(ms, out);
	cr_assert_str_eq(out, "2015-11-11T21:29:54Z");
	cr_assert_eq(bus_time_parse("2024-02-29T00:00:00Z", 20, &ms), 0);
	cr_assert_eq(bus_time_parse("2023-02-29T00:00:00Z", 20, &ms), -EINVAL);
	cr_assert_eq(bus_time_parse("1969-12-31T23:59:59Z", 20, &ms), -EINVAL);
	cr_assert_eq(bus_time_parse("2015-11-11 21:29:54Z", 20, &ms), -EINVAL);
	cr_assert_eq(bus_time_parse("2015-11-11T21:29:54", 19, &ms), -EINVAL);
	cr_assert_eq(bus_time_parse("9999-12-31T23:59:59-01:00", 25, &ms), -EINVAL);
}

Test(bus_event, envelope_as_eventbridge_delivers_it)
{
	struct bus_text res[1] = {T("arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111")};
	struct bus_entry e = {.source = T("com.shop"), .detail_type = T("Say \"hi\""),
	                      .detail = T("{\"instance-id\": \"i-1\"}"), .resources = res,
	                      .resource_count = 1, .time = T("2015-11-11T21:29:54Z")};
	struct bus_entry_result r;
	struct bus_request_error err;
	uint32_t failed = 0;
	cr_assert_eq(bus_put_check(&e, 1, 77, &r, &failed, &err), 0);
	uint8_t random[16];
	memset(random, 0xff, sizeof(random));
	struct bus_envelope env = {.account = "123456789012", .region = "us-east-1"};
	char out[1024];
	size_t n = 0;
	cr_assert_eq(bus_event_write(&e, &r, random, &env, out, sizeof(out), &n), 0);
	const char *want =
	    "{\"version\":\"0\",\"id\":\"ffffffff-ffff-4fff-bfff-ffffffffffff\","
	    "\"detail-type\":\"Say \\\"hi\\\"\",\"source\":\"com.shop\",\"account\":\"123456789012\","
	    "\"time\":\"2015-11-11T21:29:54Z\",\"region\":\"us-east-1\",\"resources\":["
	    "\"arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111\"],"
	    "\"detail\":{\"instance-id\": \"i-1\"}}";
	cr_assert_eq(n, strlen(want));
	cr_assert(memcmp(out, want, n) == 0, "%.*s", (int)n, out);
	cr_assert_eq(bus_json_check(out, n, BUS_JSON_DEPTH_MAX, BUS_JSON_OBJECT), 0);
	/* Without Time the event's time is the now given; a replay names itself last. */
	e.time = (struct bus_text){0};
	e.resource_count = 0;
	cr_assert_eq(bus_put_check(&e, 1, 86400000, &r, &failed, &err), 0);
	env.replay_name = "nightly";
	cr_assert_eq(bus_event_write(&e, &r, random, &env, out, sizeof(out), &n), 0);
	cr_assert(strstr(out, "\"time\":\"1970-01-02T00:00:00Z\"") != NULL);
	cr_assert(strstr(out, "\"resources\":[]") != NULL);
	cr_assert(memcmp(out + n - 25, ",\"replay-name\":\"nightly\"}", 25) == 0);
	/* One byte short: -ENOBUFS, never a cut event. */
	cr_assert_eq(bus_event_write(&e, &r, random, &env, out, n - 1, &n), -ENOBUFS);
}

/* An event another bus forwards keeps its id: read back from the text, written again the
 * same; an event that does not open as bus_event_write's is refused. */
Test(bus_event, the_id_is_read_back_from_the_event)
{
	struct bus_entry e = {.source = T("com.shop"), .detail_type = T("t"), .detail = T("{}")};
	struct bus_entry_result r;
	struct bus_request_error err;
	uint32_t failed = 0;
	cr_assert_eq(bus_put_check(&e, 1, 77, &r, &failed, &err), 0);
	uint8_t random[16];
	for (int i = 0; i < 16; i++)
		random[i] = (uint8_t)(i * 17 + 3);
	struct bus_envelope env = {.account = "123456789012", .region = "us-east-1"};
	char out[512], first[BUS_EVENT_ID_CHARS + 1], again[BUS_EVENT_ID_CHARS + 1];
	size_t n = 0;
	cr_assert_eq(bus_event_write(&e, &r, random, &env, out, sizeof(out), &n), 0);
	uint8_t id[16];
	cr_assert_eq(bus_event_id_of(out, n, id), 0);
	bus_event_id_format(random, first);
	bus_event_id_format(id, again);
	cr_assert_str_eq(again, first);
	cr_assert_eq(bus_event_id_of(out, 40, id), -EINVAL); /* cut inside the id */
	out[21] = 'G';                                       /* not hex */
	cr_assert_eq(bus_event_id_of(out, n, id), -EINVAL);
	const char other[] = "{\"id\":\"00000000-0000-4000-8000-000000000000\",\"version\":\"0\"}";
	cr_assert_eq(bus_event_id_of(other, sizeof(other) - 1, id), -EINVAL);
}

static struct bus_rules *rules_of(const struct bus_rule_spec *specs, uint32_t count)
{
	char error[256];
	int rc = 0;
	struct bus_rules *rules = bus_rules_new(specs, count, error, sizeof(error), &rc);
	cr_assert_not_null(rules, "%s", error);
	return rules;
}

static const char event_text[] =
    "{\"version\":\"0\",\"id\":\"x\",\"detail-type\":\"Order Placed\",\"source\":\"com.shop\","
    "\"account\":\"123456789012\",\"time\":\"2024-01-01T00:00:00Z\",\"region\":\"r\","
    "\"resources\":[],\"detail\":{\"state\":\"open\",\"total\":42}}";

Test(bus_rules, enabled_rules_match_into_rule_target_pairs)
{
	struct bus_rule_spec specs[4] = {
	    {.rule_id = 10, .enabled = true, .pattern = T("{\"source\":[\"com.shop\"]}"),
	     .target_count = 2},
	    {.rule_id = 11, .enabled = false, .pattern = T("{\"source\":[\"com.shop\"]}"),
	     .target_count = 1},
	    {.rule_id = 12, .enabled = true, .target_count = 1}, /* schedule only */
	    {.rule_id = 13, .enabled = true,
	     .pattern = T("{\"detail\":{\"total\":[{\"numeric\":[\">\",40]}]}}"),
	     .target_count = 1},
	};
	struct bus_rules *rules = rules_of(specs, 4);
	struct bus_match_scratch *scratch = bus_match_scratch_new(rules);
	struct bus_delivery out[BUS_DELIVERIES_MAX];
	int n = bus_match(rules, scratch, event_text, strlen(event_text), out, BUS_DELIVERIES_MAX);
	cr_assert_eq(n, 3);
	cr_assert_eq(out[0].rule_id, 10);
	cr_assert_eq(out[0].target_index, 0);
	cr_assert_eq(out[1].rule_id, 10);
	cr_assert_eq(out[1].target_index, 1);
	cr_assert_eq(out[2].rule_id, 13);
	cr_assert_eq(out[2].rule_index, 3);
	/* Too small a list is an error, never a silent drop. */
	cr_assert_eq(bus_match(rules, scratch, event_text, strlen(event_text), out, 2), -ENOBUFS);
	cr_assert_eq(bus_match(rules, scratch, "{\"a\":", 5, out, BUS_DELIVERIES_MAX), -EINVAL);
	bus_match_scratch_free(scratch);
	bus_rules_free(rules);
}

Test(bus_rules, refusals_name_the_rule_and_the_rules_limit)
{
	struct bus_rule_spec bad = {.enabled = true, .pattern = T("{\"a\":1}"), .target_count = 1};
	char error[256];
	int rc = 0;
	cr_assert_null(bus_rules_new(&bad, 1, error, sizeof(error), &rc));
	cr_assert_eq(rc, -EINVAL);
	cr_assert(strncmp(error, "rule 0:", 7) == 0, "%s", error);
	struct bus_rule_spec *many = calloc(BB_RULES_PER_BUS_MAX + 1, sizeof(*many));
	for (uint32_t i = 0; i <= BB_RULES_PER_BUS_MAX; i++)
		many[i] = (struct bus_rule_spec){.rule_id = i, .enabled = true,
		                                 .pattern = T("{\"source\":[\"com.shop\"]}"),
		                                 .target_count = BB_TARGETS_PER_RULE_MAX};
	struct bus_rules *rules = rules_of(many, BB_RULES_PER_BUS_MAX);
	struct bus_match_scratch *scratch = bus_match_scratch_new(rules);
	struct bus_delivery *out = calloc(BUS_DELIVERIES_MAX, sizeof(*out));
	cr_assert_eq(bus_match(rules, scratch, event_text, strlen(event_text), out,
	                       BUS_DELIVERIES_MAX),
	             (int)BUS_DELIVERIES_MAX);
	bus_match_scratch_free(scratch);
	bus_rules_free(rules);
	cr_assert_null(bus_rules_new(many, BB_RULES_PER_BUS_MAX + 1, error, sizeof(error), &rc));
	cr_assert_eq(rc, -E2BIG);
	free(out);
	free(many);
}

Test(bus_rules, no_rules_match_nothing)
{
	struct bus_rules *rules = rules_of(NULL, 0);
	struct bus_match_scratch *scratch = bus_match_scratch_new(rules);
	struct bus_delivery out[1];
	cr_assert_eq(bus_match(rules, scratch, event_text, strlen(event_text), out, 1), 0);
	bus_match_scratch_free(scratch);
	bus_rules_free(rules);
}

/* The largest event PutEvents accepts is matched, not refused by the matcher's limits. */
Test(bus_rules, the_deepest_detail_is_matched)
{
	char *deep = nested(BB_BUS_DETAIL_DEPTH_MAX);
	char *event = malloc(strlen(deep) + 64);
	strcpy(event, "{\"source\":\"com.shop\",\"detail\":{\"a\":");
	strcat(event, deep + 1);
	strcat(event, "}");
	struct bus_rule_spec spec = {.enabled = true, .pattern = T("{\"source\":[\"com.shop\"]}"),
	                             .target_count = 1};
	struct bus_rules *rules = rules_of(&spec, 1);
	struct bus_match_scratch *scratch = bus_match_scratch_new(rules);
	struct bus_delivery out[1];
	cr_assert_eq(bus_json_check(event, strlen(event), BUS_JSON_DEPTH_MAX, 0), 0);
	cr_assert_eq(bus_match(rules, scratch, event, strlen(event), out, 1), 1);
	bus_match_scratch_free(scratch);
	bus_rules_free(rules);
	free(event);
	free(deep);
}

Test(bus_test_pattern, match_no_match_and_errors)
{
	const char *p = "{\"detail\":{\"state\":[\"open\"]}}";
	bool event_error = false;
	char error[256];
	cr_assert_eq(bus_test_event_pattern(p, strlen(p), event_text, strlen(event_text),
	                                    &event_error, error, sizeof(error)),
	             1);
	const char *q = "{\"detail\":{\"state\":[\"closed\"]}}";
	cr_assert_eq(bus_test_event_pattern(q, strlen(q), event_text, strlen(event_text),
	                                    &event_error, error, sizeof(error)),
	             0);
	const char *bad = "{\"detail\":\"x\"}";
	cr_assert_eq(bus_test_event_pattern(bad, strlen(bad), event_text, strlen(event_text),
	                                    &event_error, error, sizeof(error)),
	             -EINVAL);
	cr_assert_not(event_error);
	const char *no_id = "{\"source\":\"a\",\"account\":\"1\",\"time\":\"t\",\"region\":\"r\","
	                    "\"resources\":[],\"detail-type\":\"d\"}";
	cr_assert_eq(bus_test_event_pattern(p, strlen(p), no_id, strlen(no_id), &event_error,
	                                    error, sizeof(error)),
	             -EINVAL);
	cr_assert(event_error);
	cr_assert(strstr(error, "id is missing") != NULL, "%s", error);
}
