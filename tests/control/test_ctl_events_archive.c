/*
 * busbar-control's EventBridge archive calls against an in-memory store: CreateArchive,
 * DescribeArchive, ListArchives, UpdateArchive and DeleteArchive with AWS's shapes and
 * errors, the limit of archives, and the bus's snapshot entry saying how long busbard keeps
 * its events (the longest retention of its archives, 0 forever; none without an archive).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bb_snapshot.h"
#include "bb_snapshot_int.h" /* bb_snapshot_routing_is_complete: what busbard checks */
#include "ctl_events.h"

#define BUS_ARN "arn:aws:events:local:000000000000:event-bus/"

static struct ctl_store *store;
static struct ctl_events_context context;
static struct ctl_sqs_result result;

static void setup(void)
{
	char error[256];
	store = ctl_store_open(":memory:", error, sizeof(error));
	cr_assert_not_null(store, "%s", error);
	cr_assert_eq(ctl_events_schema(ctl_store_db(store)), 0);
	context = (struct ctl_events_context){
	    .store = store, .account_id = "000000000000", .region = "local"};
}

static void teardown(void)
{
	json_decref(result.body);
	ctl_store_close(store);
}

TestSuite(ctl_events_archive, .init = setup, .fini = teardown);

static void call(const char *action, const char *body)
{
	char target[96];
	snprintf(target, sizeof(target), "AWSEvents.%s", action);
	json_decref(result.body);
	ctl_events_handle(&context, target, body, strlen(body), &result);
}

static const char *str(const char *key)
{
	return json_string_value(json_object_get(result.body, key));
}

static void expect_error(const char *type)
{
	cr_assert_eq(result.http_status, 400, "%s", json_dumps(result.body, 0));
	cr_assert_str_eq(str("__type"), type, "%s", str("message"));
}

static void expect_ok(void)
{
	cr_assert_eq(result.http_status, 200, "%s: %s", str("__type"), str("message"));
}

Test(ctl_events_archive, create_describe_update_delete)
{
	uint64_t v0 = ctl_store_version(store);
	call("CreateArchive", "{\"ArchiveName\":\"all\",\"EventSourceArn\":\"" BUS_ARN "default\","
	                      "\"RetentionDays\":7,\"Description\":\"a week\","
	                      "\"EventPattern\":\"{\\\"source\\\":[\\\"shop\\\"]}\"}");
	expect_ok();
	cr_assert_str_eq(str("ArchiveArn"), "arn:aws:events:local:000000000000:archive/all");
	cr_assert_str_eq(str("State"), "ENABLED");
	cr_assert(json_is_integer(json_object_get(result.body, "CreationTime")));
	cr_assert_eq(ctl_store_version(store), v0 + 1, "busbard must learn the bus is archived");

	call("DescribeArchive", "{\"ArchiveName\":\"all\"}");
	expect_ok();
	cr_assert_str_eq(str("ArchiveName"), "all");
	cr_assert_str_eq(str("EventSourceArn"), BUS_ARN "default");
	cr_assert_str_eq(str("Description"), "a week");
	cr_assert_str_eq(str("EventPattern"), "{\"source\":[\"shop\"]}");
	cr_assert_eq(json_integer_value(json_object_get(result.body, "RetentionDays")), 7);
	cr_assert_str_eq(str("State"), "ENABLED");

	/* UpdateArchive changes what it names and keeps the rest. */
	call("UpdateArchive", "{\"ArchiveName\":\"all\",\"RetentionDays\":0}");
	expect_ok();
	cr_assert_str_eq(str("State"), "ENABLED");
	call("DescribeArchive", "{\"ArchiveName\":\"all\"}");
	cr_assert_eq(json_integer_value(json_object_get(result.body, "RetentionDays")), 0);
	cr_assert_str_eq(str("Description"), "a week");
	call("UpdateArchive", "{\"ArchiveName\":\"all\",\"EventPattern\":\"{\\\"source\\\":1}\"}");
	expect_error("InvalidEventPatternException");
	call("UpdateArchive", "{\"ArchiveName\":\"none\"}");
	expect_error("ResourceNotFoundException");

	call("DeleteArchive", "{\"ArchiveName\":\"all\"}");
	expect_ok();
	call("DeleteArchive", "{\"ArchiveName\":\"all\"}");
	expect_error("ResourceNotFoundException");
	cr_assert_str_eq(str("message"), "Archive all does not exist.");
	call("DescribeArchive", "{\"ArchiveName\":\"all\"}");
	expect_error("ResourceNotFoundException");
}

Test(ctl_events_archive, create_refuses_with_aws_errors)
{
	call("CreateArchive", "{\"EventSourceArn\":\"" BUS_ARN "default\"}");
	expect_error("ValidationException");
	call("CreateArchive", "{\"ArchiveName\":\"a\"}");
	expect_error("ValidationException");
	call("CreateArchive", "{\"ArchiveName\":\"a/b\",\"EventSourceArn\":\"" BUS_ARN "default\"}");
	expect_error("ValidationException");
	call("CreateArchive", "{\"ArchiveName\":\"0123456789012345678901234567890123456789012345678\","
	                      "\"EventSourceArn\":\"" BUS_ARN "default\"}"); /* 49 characters */
	expect_error("ValidationException");
	call("CreateArchive", "{\"ArchiveName\":\"a\",\"EventSourceArn\":\"" BUS_ARN "nope\"}");
	expect_error("ResourceNotFoundException");
	call("CreateArchive", "{\"ArchiveName\":\"a\",\"EventSourceArn\":\"" BUS_ARN "default\","
	                      "\"RetentionDays\":-1}");
	expect_error("ValidationException");
	call("CreateArchive", "{\"ArchiveName\":\"a\",\"EventSourceArn\":\"" BUS_ARN "default\","
	                      "\"EventPattern\":\"{\\\"source\\\":\\\"x\\\"}\"}");
	expect_error("InvalidEventPatternException");
	/* A memory-only bus keeps no log: nothing to archive. */
	call("CreateEventBus", "{\"Name\":\"rig\",\"Tags\":[{\"Key\":\"busbar:Durability\","
	                       "\"Value\":\"memory\"}]}");
	expect_ok();
	call("CreateArchive", "{\"ArchiveName\":\"a\",\"EventSourceArn\":\"" BUS_ARN "rig\"}");
	expect_error("ValidationException");

	call("CreateArchive", "{\"ArchiveName\":\"a\",\"EventSourceArn\":\"" BUS_ARN "default\"}");
	expect_ok();
	call("CreateArchive", "{\"ArchiveName\":\"a\",\"EventSourceArn\":\"" BUS_ARN "default\"}");
	expect_error("ResourceAlreadyExistsException");
	call("DescribeArchive", "{\"ArchiveName\":\"a\"}");
	cr_assert_eq(json_integer_value(json_object_get(result.body, "RetentionDays")), 0,
	             "no RetentionDays is forever");
}

Test(ctl_events_archive, the_number_of_archives_is_bounded)
{
	char body[160];
	for (unsigned i = 0; i < CTL_EVENTS_ARCHIVES_MAX; i++) {
		snprintf(body, sizeof(body),
		         "{\"ArchiveName\":\"a%u\",\"EventSourceArn\":\"" BUS_ARN "default\"}", i);
		call("CreateArchive", body);
		expect_ok();
	}
	call("CreateArchive", "{\"ArchiveName\":\"more\",\"EventSourceArn\":\"" BUS_ARN "default\"}");
	expect_error("LimitExceededException");
}

Test(ctl_events_archive, list_by_prefix_bus_state_and_pages)
{
	call("CreateEventBus", "{\"Name\":\"orders\"}");
	call("CreateArchive", "{\"ArchiveName\":\"o1\",\"EventSourceArn\":\"" BUS_ARN "orders\","
	                      "\"Description\":\"d\"}");
	call("CreateArchive", "{\"ArchiveName\":\"o2\",\"EventSourceArn\":\"" BUS_ARN "orders\"}");
	call("CreateArchive", "{\"ArchiveName\":\"x\",\"EventSourceArn\":\"" BUS_ARN "default\"}");
	expect_ok();

	call("ListArchives", "{\"Limit\":2}");
	expect_ok();
	json_t *list = json_object_get(result.body, "Archives");
	cr_assert_eq(json_array_size(list), 2);
	json_t *first = json_array_get(list, 0);
	cr_assert_str_eq(json_string_value(json_object_get(first, "ArchiveName")), "o1");
	cr_assert_str_eq(json_string_value(json_object_get(first, "EventSourceArn")),
	                 BUS_ARN "orders");
	cr_assert_str_eq(json_string_value(json_object_get(first, "State")), "ENABLED");
	cr_assert_null(json_object_get(first, "Description"), "not in ListArchives' entries");
	cr_assert_str_eq(str("NextToken"), "o2");
	call("ListArchives", "{\"NextToken\":\"o2\"}");
	cr_assert_eq(json_array_size(json_object_get(result.body, "Archives")), 1);
	cr_assert_null(str("NextToken"));

	call("ListArchives", "{\"EventSourceArn\":\"" BUS_ARN "default\"}");
	cr_assert_eq(json_array_size(json_object_get(result.body, "Archives")), 1);
	call("ListArchives", "{\"NamePrefix\":\"o\"}");
	cr_assert_eq(json_array_size(json_object_get(result.body, "Archives")), 2);
	call("ListArchives", "{\"State\":\"DISABLED\"}");
	expect_ok();
	cr_assert_eq(json_array_size(json_object_get(result.body, "Archives")), 0);
	call("ListArchives", "{\"State\":\"ASLEEP\"}");
	expect_error("ValidationException");
	call("ListArchives", "{\"EventSourceArn\":\"" BUS_ARN "nope\"}");
	expect_error("ResourceNotFoundException");
	call("ListArchives", "{\"Limit\":0}");
	expect_error("ValidationException");

	/* Deleting the bus deletes its archives. */
	call("DeleteEventBus", "{\"Name\":\"orders\"}");
	expect_ok();
	call("ListArchives", "{}");
	cr_assert_eq(json_array_size(json_object_get(result.body, "Archives")), 1);
}

/* ---- the bus's snapshot entry ---- */

static const struct bb_snapshot_bus *bus_entry(struct bb_snapshot_entry *entries, uint32_t count,
                                               const char *name)
{
	for (uint32_t i = 0; i < count; i++) {
		const struct bb_snapshot_bus *b = &entries[i].bus;
		if (entries[i].kind == BB_SNAPSHOT_KIND_BUS && b->name.bytes == strlen(name) &&
		    memcmp(b->name.data, name, b->name.bytes) == 0)
			return b;
	}
	cr_assert_fail("no bus %s", name);
	return NULL;
}

/* The flags and retention days the snapshot gives the bus. */
static void expect_archive_days(const char *bus, uint32_t flags, uint32_t days)
{
	struct bb_snapshot_entry *entries = calloc(CTL_EVENTS_ENTRIES_MAX, sizeof(*entries));
	uint32_t count = 0;
	cr_assert_eq(ctl_events_snapshot_entries(store, entries, CTL_EVENTS_ENTRIES_MAX, &count), 0);
	const struct bb_snapshot_bus *b = bus_entry(entries, count, bus);
	cr_assert_eq(b->flags, flags, "%s", bus);
	cr_assert_eq(b->archive_days, days, "%s", bus);
	for (uint32_t i = 0; i < count; i++)
		cr_assert(bb_snapshot_routing_is_complete(&entries[i]));
	ctl_events_entries_clear(entries, count);
	free(entries);
}

Test(ctl_events_archive, the_snapshot_keeps_a_bus_for_its_longest_retention)
{
	call("CreateEventBus", "{\"Name\":\"orders\"}");
	expect_archive_days("orders", 0, 0);
	call("CreateArchive", "{\"ArchiveName\":\"week\",\"EventSourceArn\":\"" BUS_ARN "orders\","
	                      "\"RetentionDays\":7}");
	expect_archive_days("orders", BB_SNAPSHOT_BUS_ARCHIVED, 7);
	call("CreateArchive", "{\"ArchiveName\":\"month\",\"EventSourceArn\":\"" BUS_ARN "orders\","
	                      "\"RetentionDays\":30}");
	expect_archive_days("orders", BB_SNAPSHOT_BUS_ARCHIVED, 30);
	call("UpdateArchive", "{\"ArchiveName\":\"week\",\"RetentionDays\":0}");
	expect_archive_days("orders", BB_SNAPSHOT_BUS_ARCHIVED, 0); /* forever wins */
	call("DeleteArchive", "{\"ArchiveName\":\"week\"}");
	expect_archive_days("orders", BB_SNAPSHOT_BUS_ARCHIVED, 30);
	call("DeleteArchive", "{\"ArchiveName\":\"month\"}");
	expect_archive_days("orders", 0, 0);
	expect_archive_days("default", 0, 0);
	/* busbard refuses an archived bus that keeps no log. */
	struct bb_snapshot_entry rig = {
	    .kind = BB_SNAPSHOT_KIND_BUS,
	    .bus = {.name = {"rig", 3}, .bus_id = 9,
	            .flags = BB_SNAPSHOT_BUS_MEMORY | BB_SNAPSHOT_BUS_ARCHIVED}};
	cr_assert_not(bb_snapshot_routing_is_complete(&rig));
	rig.bus.flags = BB_SNAPSHOT_BUS_ARCHIVED;
	cr_assert(bb_snapshot_routing_is_complete(&rig));
}

/* A key's policy names the archive's ARN for the calls on one archive. */
Test(ctl_events_archive, the_resource_of_a_call_is_the_archive)
{
	char arn[256];
	json_t *params = json_pack("{s:s}", "ArchiveName", "all");
	ctl_events_resource_arn("local", "000000000000", "DescribeArchive", params, arn,
	                        sizeof(arn));
	cr_assert_str_eq(arn, "arn:aws:events:local:000000000000:archive/all");
	json_decref(params);
	params = json_object();
	ctl_events_resource_arn("local", "000000000000", "ListArchives", params, arn, sizeof(arn));
	cr_assert_str_eq(arn, "arn:aws:events:local:000000000000:*");
	json_decref(params);
}
