/*
 * The busbar command's routing arguments (client/cli_routing.c): --attribute, --time and
 * the entries files of publish-batch and put-events. Each test hands the parser what a
 * user would type or write and checks what libbusbar would be given, or that it is
 * refused with a reason naming the option or the line, at every limit wire.h sets.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_routing.h"

static char why[512];

Test(cli_routing, string_number_and_binary_attributes)
{
	struct bb_attribute a;
	void *owned;
	cr_assert_eq(cli_parse_attribute("color=String:red=ish:x", &a, &owned, why, sizeof(why)),
	             0);
	cr_assert_str_eq(a.name, "color");
	cr_assert_str_eq(a.data_type, "String");
	cr_assert_str_eq(a.string_value, "red=ish:x"); /* the value keeps its = and : */
	free(owned);
	cr_assert_eq(cli_parse_attribute("n=Number.float:1.5", &a, &owned, why, sizeof(why)), 0);
	cr_assert_str_eq(a.data_type, "Number.float");
	cr_assert_str_eq(a.string_value, "1.5");
	free(owned);
	cr_assert_eq(cli_parse_attribute("e=String:", &a, &owned, why, sizeof(why)), 0);
	cr_assert_str_eq(a.string_value, ""); /* SNS's answer, not the command's */
	free(owned);
	cr_assert_eq(cli_parse_attribute("b=Binary:AP8B", &a, &owned, why, sizeof(why)), 0);
	cr_assert_null(a.string_value);
	cr_assert_eq(a.binary_bytes, 3);
	cr_assert_arr_eq(a.binary_value, "\x00\xff\x01", 3);
	free(owned);
	cr_assert_eq(cli_parse_attribute("b=Binary:aGk=", &a, &owned, why, sizeof(why)), 0);
	cr_assert_eq(a.binary_bytes, 2);
	cr_assert_arr_eq(a.binary_value, "hi", 2);
	free(owned);
}

Test(cli_routing, bad_attributes_are_refused_with_the_reason)
{
	static const char *const bad[] = {
		"color",          "color=String",  "=String:x", "c=Strings:x", "c=:x",
		"c=Binary:abc",   "c=Binary:a$==", "c=Text:x",  "c=string:x",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct bb_attribute a;
		void *owned;
		why[0] = '\0';
		cr_assert_eq(cli_parse_attribute(bad[i], &a, &owned, why, sizeof(why)), -EINVAL,
		             "%s", bad[i]);
		cr_assert_neq(why[0], '\0', "%s gave no reason", bad[i]);
		free(owned);
	}
}

Test(cli_routing, attribute_option_stops_at_the_wire_limit)
{
	struct cli_routing_args args = {0};
	for (uint32_t i = 0; i < WIRE_ATTRIBUTES_MAX; i++)
		cr_assert_eq(cli_routing_option(&args, CLI_OPT_ATTRIBUTE, "a=String:1", why,
		                                sizeof(why)),
		             0);
	cr_assert_eq(args.attribute_count, WIRE_ATTRIBUTES_MAX);
	cr_assert_eq(cli_routing_option(&args, CLI_OPT_ATTRIBUTE, "a=String:1", why, sizeof(why)),
	             -EINVAL);
	cr_assert(strstr(why, "at most") != NULL, "%s", why);
	for (uint32_t i = 0; i < WIRE_EVENT_RESOURCES_MAX; i++)
		cr_assert_eq(cli_routing_option(&args, CLI_OPT_RESOURCE, "arn:x", why, sizeof(why)),
		             0);
	cr_assert_eq(cli_routing_option(&args, CLI_OPT_RESOURCE, "arn:x", why, sizeof(why)),
	             -EINVAL);
	cr_assert_eq(cli_routing_option(&args, CLI_OPT_STRUCTURE, "xml", why, sizeof(why)),
	             -EINVAL);
	cr_assert_eq(cli_routing_option(&args, CLI_OPT_STRUCTURE, "json", why, sizeof(why)), 0);
	cli_routing_args_free(&args);
	cr_assert_eq(args.attribute_count, 0);
}

Test(cli_routing, rfc3339_times)
{
	uint64_t ms;
	cr_assert_eq(cli_parse_time("2023-11-14T22:13:20Z", &ms), 0);
	cr_assert_eq(ms, 1700000000000ull);
	cr_assert_eq(cli_parse_time("2023-11-14t22:13:20.5z", &ms), 0);
	cr_assert_eq(ms, 1700000000500ull);
	cr_assert_eq(cli_parse_time("2023-11-14T22:13:20.123456789Z", &ms), 0);
	cr_assert_eq(ms, 1700000000123ull);
	cr_assert_eq(cli_parse_time("2023-11-15T00:13:20+02:00", &ms), 0);
	cr_assert_eq(ms, 1700000000000ull);
	cr_assert_eq(cli_parse_time("2023-11-14T17:13:20.25-05:00", &ms), 0);
	cr_assert_eq(ms, 1700000000250ull);
	cr_assert_eq(cli_parse_time("2024-02-29T00:00:00Z", &ms), 0); /* a leap year's */
	static const char *const bad[] = {
		"2023-11-14T22:13:20",   "2023-11-14 22:13:20Z x", "2023-11-14T22:13Z",
		"2023-13-14T22:13:20Z",  "2023-02-30T00:00:00Z",   "2023-11-14T24:00:00Z",
		"2023-11-14T22:13:20.Z", "2023-11-14T22:13:20+2:00", "1970-01-01T00:00:00Z",
		"1969-12-31T23:59:59Z",  "",                       "1700000000",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(cli_parse_time(bad[i], &ms), -EINVAL, "%s", bad[i]);
}

static struct cli_entries entries;

static int parse(const char *text, enum cli_entries_kind kind)
{
	why[0] = '\0';
	int rc = cli_entries_parse(text, strlen(text), kind, &entries, why, sizeof(why));
	cr_assert(rc == 0 || why[0] != '\0', "a refusal without a reason");
	return rc;
}

Test(cli_routing, publish_entries_as_aws_names_them)
{
	const char *text =
	    "{\"Id\":\"a\",\"Message\":\"hello\",\"Subject\":\"s\",\"MessageGroupId\":\"g\","
	    "\"MessageDeduplicationId\":\"d\",\"MessageStructure\":\"json\"}\n"
	    "\n  \r\n"
	    "{\"Id\":\"b\",\"Message\":\"x\\ty\",\"MessageAttributes\":{\"k\":{\"DataType\":"
	    "\"String\",\"StringValue\":\"v\"},\"bin\":{\"DataType\":\"Binary\","
	    "\"BinaryValue\":\"aGk=\"}}}";
	cr_assert_eq(parse(text, CLI_ENTRIES_PUBLISH), 0, "%s", why);
	cr_assert_eq(entries.count, 2);
	struct bb_publish_entry *a = &entries.publish[0], *b = &entries.publish[1];
	cr_assert_str_eq(a->id, "a");
	cr_assert_eq(a->message_bytes, 5);
	cr_assert_str_eq(a->options.subject, "s");
	cr_assert_str_eq(a->options.message_group_id, "g");
	cr_assert_str_eq(a->options.message_deduplication_id, "d");
	cr_assert_str_eq(a->options.message_structure, "json");
	cr_assert_str_eq(b->message, "x\ty");
	cr_assert_eq(b->options.attribute_count, 2);
	cr_assert_str_eq(b->options.attributes[0].name, "k");
	cr_assert_str_eq(b->options.attributes[0].string_value, "v");
	cr_assert_eq(b->options.attributes[1].binary_bytes, 2);
	cli_entries_free(&entries);
}

Test(cli_routing, event_entries_as_aws_names_them)
{
	const char *text =
	    "{\"Source\":\"shop\",\"DetailType\":\"order\",\"Detail\":\"{\\\"n\\\":1}\","
	    "\"Resources\":[\"arn:a\",\"arn:b\"],\"Time\":\"2023-11-14T22:13:20Z\","
	    "\"EventBusName\":\"arn:aws:events:local:000000000000:event-bus/orders\"}\n"
	    "{\"Source\":\"shop\",\"DetailType\":\"order\",\"Detail\":{\"n\":2},\"Time\":1700000001,"
	    "\"EventBusName\":\"arn:aws:events:local:000000000000:event-bus/orders\"}\n"
	    "{\"DetailType\":\"no source: busbard's InvalidArgument for this entry alone\"}\n";
	cr_assert_eq(parse(text, CLI_ENTRIES_PUT_EVENTS), 0, "%s", why);
	cr_assert_eq(entries.count, 3);
	struct bb_event *e = entries.events;
	cr_assert_str_eq(e[0].source, "shop");
	cr_assert_str_eq(e[0].detail, "{\"n\":1}");
	cr_assert_eq(e[0].resource_count, 2);
	cr_assert_str_eq(e[0].resources[1], "arn:b");
	cr_assert_eq(e[0].time_ms, 1700000000000ull);
	cr_assert_str_eq(e[1].detail, "{\"n\":2}"); /* an object, written out */
	cr_assert_eq(e[1].time_ms, 1700000001000ull);
	cr_assert_null(e[2].source);
	cr_assert_str_eq(cli_bus_name(entries.bus), "orders");
	cr_assert_str_eq(cli_bus_name("orders"), "orders");
	cli_entries_free(&entries);
}

/* Each refused file, and a word its reason must hold. */
struct refusal {
	enum cli_entries_kind kind;
	const char *text;
	const char *reason;
};

Test(cli_routing, bad_entries_files_are_refused_naming_the_line)
{
	static const struct refusal refusals[] = {
		{CLI_ENTRIES_PUBLISH, "", "no entries"},
		{CLI_ENTRIES_PUBLISH, "\n\n", "no entries"},
		{CLI_ENTRIES_PUBLISH, "{\"Id\":\"a\"}\n{\"Id\":", "line 2"},
		{CLI_ENTRIES_PUBLISH, "[1]", "object"},
		/* SNS and SQS take no U+0000; a C string would cut it short unseen */
		{CLI_ENTRIES_PUBLISH, "{\"Id\":\"a\",\"Message\":\"x\\u0000y\"}", "line 1"},
		{CLI_ENTRIES_PUBLISH, "{\"Id\":1}", "string"},
		{CLI_ENTRIES_PUBLISH, "{\"Id\":\"a\",\"Id\":\"b\"}", "line 1"},
		{CLI_ENTRIES_PUBLISH, "{\"Id\":\"a\",\"TopicArn\":\"t\"}", "unknown member TopicArn"},
		{CLI_ENTRIES_PUBLISH,
		 "{\"MessageAttributes\":{\"k\":{\"DataType\":\"String\"}}}", "attribute k"},
		{CLI_ENTRIES_PUBLISH,
		 "{\"MessageAttributes\":{\"k\":{\"DataType\":\"Binary\",\"StringValue\":\"x\"}}}",
		 "BinaryValue"},
		{CLI_ENTRIES_PUBLISH,
		 "{\"MessageAttributes\":{\"k\":{\"DataType\":\"Binary\",\"BinaryValue\":\"!\"}}}",
		 "base64"},
		{CLI_ENTRIES_PUT_EVENTS, "{\"Source\":\"a\",\"TraceHeader\":\"t\"}", "TraceHeader"},
		{CLI_ENTRIES_PUT_EVENTS, "{\"Time\":\"yesterday\"}", "RFC 3339"},
		{CLI_ENTRIES_PUT_EVENTS, "{\"Time\":-1}", "Time"},
		{CLI_ENTRIES_PUT_EVENTS, "{\"Resources\":\"arn:a\"}", "Resources"},
		{CLI_ENTRIES_PUT_EVENTS, "{\"Detail\":[1]}", "Detail"},
		{CLI_ENTRIES_PUT_EVENTS, "{\"EventBusName\":\"a\"}\n{\"EventBusName\":\"b\"}",
		 "one bus"},
	};
	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		const struct refusal *r = &refusals[i];
		cr_assert_eq(parse(r->text, r->kind), -EINVAL, "%s", r->text);
		cr_assert(strstr(why, r->reason) != NULL, "%s: %s", r->text, why);
		cli_entries_free(&entries);
	}
}

Test(cli_routing, entries_stop_at_the_batch_limit)
{
	char text[4096] = "";
	for (uint32_t i = 0; i < WIRE_BATCH_ENTRIES_MAX; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text),
		         "{\"Id\":\"%u\",\"Message\":\"m\"}\n", i);
	cr_assert_eq(parse(text, CLI_ENTRIES_PUBLISH), 0, "%s", why);
	cr_assert_eq(entries.count, WIRE_BATCH_ENTRIES_MAX);
	cli_entries_free(&entries);
	/* Ten attributes on each of ten entries: every one owned and released. */
	char *full = malloc(64 * 1024);
	cr_assert_not_null(full);
	full[0] = '\0';
	for (uint32_t i = 0; i < WIRE_BATCH_ENTRIES_MAX; i++) {
		strcat(full, "{\"Id\":\"x\",\"MessageAttributes\":{");
		for (uint32_t j = 0; j < WIRE_ATTRIBUTES_MAX; j++)
			sprintf(full + strlen(full), "%s\"a%u\":{\"DataType\":\"Binary\",\"BinaryValue\":"
			        "\"aGk=\"}", j ? "," : "", j);
		strcat(full, "}}\n");
	}
	cr_assert_eq(parse(full, CLI_ENTRIES_PUBLISH), 0, "%s", why);
	cli_entries_free(&entries);
	strcat(text, "{\"Id\":\"one too many\"}\n");
	cr_assert_eq(parse(text, CLI_ENTRIES_PUBLISH), -EINVAL);
	cr_assert(strstr(why, "line 11: more than") != NULL, "%s", why);
	cli_entries_free(&entries);
	free(full);
}

Test(cli_routing, entries_files_are_read_and_a_missing_one_named)
{
	char path[] = "/tmp/cli_routing_XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	FILE *f = fdopen(fd, "w");
	fputs("{\"Source\":\"s\",\"DetailType\":\"t\",\"Detail\":\"{}\"}\n", f);
	fclose(f);
	cr_assert_eq(cli_entries_read(path, CLI_ENTRIES_PUT_EVENTS, &entries, why, sizeof(why)),
	             0, "%s", why);
	cr_assert_eq(entries.count, 1);
	cli_entries_free(&entries);
	unlink(path);
	cr_assert_eq(cli_entries_read(path, CLI_ENTRIES_PUT_EVENTS, &entries, why, sizeof(why)),
	             -ENOENT);
	cr_assert(strstr(why, path) != NULL, "%s", why);
}
