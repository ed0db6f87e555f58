/*
 * A snapshot's routing as busbard runs it (dp_routing.h): subscriptions grouped under
 * their topic, rules under their bus and targets under their rule, every name resolved to
 * what it names (or to none), owners by id, filter policies and patterns compiled so that
 * they match what they say; and the snapshots busbard must refuse, each with a reason: a
 * reference to a topic, bus or rule it lacks, a name twice, too many targets for a rule,
 * a policy or pattern that does not compile.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp_snapshot.h"

#define ENTRIES_MAX 64

static struct bb_snapshot_entry entries[ENTRIES_MAX];
static uint32_t entry_count;
static uint8_t body[1 << 16];
static struct dp_snapshot snapshot;
static char error[512];

static struct bb_text text(const char *s)
{
	return (struct bb_text){s, (uint32_t)strlen(s)};
}

static void add(struct bb_snapshot_entry e)
{
	cr_assert_lt(entry_count, ENTRIES_MAX);
	entries[entry_count++] = e;
}

static void queue(const char *name, uint64_t id)
{
	struct bb_snapshot_entry e = {
	    .kind = BB_SNAPSHOT_KIND_QUEUE,
	    .queue = {.name_bytes = (uint32_t)strlen(name), .queue_id = id,
	              .visibility_timeout_s = 30, .maximum_message_bytes = 262144}};
	snprintf(e.queue.name, sizeof(e.queue.name), "%s", name);
	add(e);
}

static void topic(const char *name, uint64_t id)
{
	add((struct bb_snapshot_entry){.kind = BB_SNAPSHOT_KIND_TOPIC,
	                               .topic = {.name = text(name), .topic_id = id}});
}

static void subscription(uint64_t id, uint64_t topic_id, const char *queue_name,
                         const char *policy, uint32_t flags)
{
	add((struct bb_snapshot_entry){
	    .kind = BB_SNAPSHOT_KIND_SUBSCRIPTION,
	    .subscription = {.subscription_id = id, .topic_id = topic_id,
	                     .protocol = BB_SUBSCRIPTION_SQS, .flags = flags,
	                     .endpoint = text(queue_name),
	                     .filter_policy = policy ? text(policy) : (struct bb_text){0}}});
}

static void bus(const char *name, uint64_t id)
{
	add((struct bb_snapshot_entry){.kind = BB_SNAPSHOT_KIND_BUS,
	                               .bus = {.name = text(name), .bus_id = id}});
}

static void rule(uint64_t id, uint64_t bus_id, const char *name, const char *pattern,
                 uint32_t flags)
{
	add((struct bb_snapshot_entry){.kind = BB_SNAPSHOT_KIND_RULE,
	                               .rule = {.rule_id = id, .bus_id = bus_id,
	                                        .name = text(name), .flags = flags,
	                                        .pattern = text(pattern)}});
}

static void target(uint64_t rule_id, const char *id, uint32_t kind, const char *resource)
{
	add((struct bb_snapshot_entry){.kind = BB_SNAPSHOT_KIND_TARGET,
	                               .target = {.rule_id = rule_id, .id = text(id),
	                                          .kind = kind, .resource = text(resource)}});
}

static enum wire_status parse(void)
{
	struct bb_snapshot_header header = {.version = 1};
	size_t bytes;
	cr_assert_eq(bb_snapshot_encode(&header, entries, entry_count, body, sizeof(body), &bytes),
	             0);
	enum wire_status status = dp_snapshot_parse(body, bytes, &snapshot, error, sizeof(error));
	memset(body, 0xee, sizeof(body)); /* the routing must keep its own copy of the text */
	return status;
}

static void reset(void)
{
	entry_count = 0;
}

static void release(void)
{
	dp_snapshot_release(&snapshot);
}

TestSuite(routing, .init = reset, .fini = release);

Test(routing, subscriptions_rules_and_targets_are_grouped_and_resolved)
{
	queue("inbox", 1);
	queue("audit", 2);
	subscription(21, 11, "audit", NULL, BB_SNAPSHOT_SUBSCRIPTION_RAW); /* before its topic */
	topic("orders", 11);
	topic("alerts", 12);
	subscription(22, 12, "inbox", "{\"level\":[\"high\"]}", 0);
	subscription(23, 11, "gone", NULL, 0);
	rule(41, 31, "big", "{\"detail\":{\"n\":[{\"numeric\":[\">\",9]}]}}",
	     BB_SNAPSHOT_RULE_ENABLED);
	bus("default", 31);
	rule(42, 31, "off", "{\"source\":[\"x\"]}", 0);
	target(41, "q", BB_TARGET_QUEUE, "inbox");
	target(41, "t", BB_TARGET_TOPIC, "alerts");
	target(41, "b", BB_TARGET_BUS, "default");
	target(42, "missing", BB_TARGET_QUEUE, "nowhere");
	cr_assert_eq(parse(), WIRE_OK, "%s", error);
	cr_assert_eq(dp_snapshot_assign(&snapshot, NULL, 2), 0);
	const struct dp_routing *r = snapshot.routing;
	for (uint32_t i = 0; i < r->topic_count; i++)
		cr_assert_lt(r->topics[i].slot, BB_TOPIC_SLOTS_PER_WORKER);
	cr_assert_not_null(r);
	const struct dp_topic *orders = dp_routing_find_topic(r, (const uint8_t *)"orders", 6);
	cr_assert_not_null(orders);
	cr_assert_eq(orders->subscription_count, 2);
	const struct dp_subscription *s = &r->subscriptions[orders->first_subscription];
	cr_assert_eq(s[0].subscription_id, 21);
	cr_assert_eq(s[0].queue, 1, "audit is the second queue");
	cr_assert_eq(s[1].queue, DP_ROUTING_NONE, "a subscription's queue may be gone");
	cr_assert_lt(orders->owner, 2);
	cr_assert_null(dp_routing_find_topic(r, (const uint8_t *)"order", 5));
	const struct dp_bus *b = dp_routing_find_bus(r, (const uint8_t *)"default", 7);
	cr_assert_not_null(b);
	cr_assert_eq(b->rule_count, 2);
	const struct dp_rule *big = &r->rules[b->first_rule];
	cr_assert_eq(big->target_count, 3);
	const struct dp_target *t = &r->targets[big->first_target];
	cr_assert_eq(t[0].resource, 0);
	cr_assert_eq(t[1].resource, (uint32_t)(dp_routing_find_topic(r, (const uint8_t *)"alerts",
	                                                               6) - r->topics));
	cr_assert_eq(t[2].resource, 0, "the default bus is the first");
	cr_assert_eq(r->targets[r->rules[b->first_rule + 1].first_target].resource,
	             DP_ROUTING_NONE);
	cr_assert(memcmp(big->name.data, "big", 3) == 0, "names outlive the body");
}

Test(routing, patterns_and_policies_match_what_they_say)
{
	queue("inbox", 1);
	topic("alerts", 12);
	subscription(22, 12, "inbox", "{\"level\":[\"high\"]}", 0);
	subscription(23, 12, "inbox", "{\"level\":[\"low\"]}", BB_SNAPSHOT_SUBSCRIPTION_SCOPE_BODY);
	bus("default", 31);
	rule(41, 31, "big", "{\"detail\":{\"n\":[{\"numeric\":[\">\",9]}]}}",
	     BB_SNAPSHOT_RULE_ENABLED);
	rule(42, 31, "off", "{\"detail\":{\"n\":[{\"exists\":true}]}}", 0);
	target(41, "q", BB_TARGET_QUEUE, "inbox");
	target(42, "q", BB_TARGET_QUEUE, "inbox");
	cr_assert_eq(parse(), WIRE_OK, "%s", error);
	const struct dp_routing *r = snapshot.routing;
	uint32_t ids[4];
	const struct dp_bus *b = &r->buses[0];
	struct bus_delivery deliveries[BUS_DELIVERIES_MAX];
	const char *big = "{\"detail\":{\"n\":10}}", *small = "{\"detail\":{\"n\":9}}";
	cr_assert_eq(bus_match(b->rules, b->scratch, big, strlen(big), deliveries,
	                       BUS_DELIVERIES_MAX), 1);
	cr_assert_eq(deliveries[0].rule_index, 0, "rules by position; the disabled one never");
	cr_assert_eq(bus_match(b->rules, b->scratch, small, strlen(small), deliveries,
	                       BUS_DELIVERIES_MAX), 0);
	const struct dp_topic *t = &r->topics[0];
	struct topic_record publish = {.kind = TOPIC_RECORD_PUBLISH, .topic_id = 12,
	                               .attribute_count = 1,
	                               .message = (const uint8_t *)"{\"level\":\"low\"}"};
	publish.message_bytes = (uint32_t)strlen((const char *)publish.message);
	publish.attributes[0] = (struct topic_attribute){
	    .name = "level", .name_bytes = 5, .type = "String", .type_bytes = 6,
	    .value = (const uint8_t *)"high", .value_bytes = 4};
	cr_assert_eq(topic_filter_match(t->filter, t->scratch, &publish, ids), 2,
	             "the attribute and the body each match a subscription");
	cr_assert_eq(ids[0], 0);
	cr_assert_eq(ids[1], 1, "subscriptions by their position in the topic");
	publish.attributes[0].value = (const uint8_t *)"none";
	publish.message = (const uint8_t *)"{}";
	publish.message_bytes = 2;
	cr_assert_eq(topic_filter_match(t->filter, t->scratch, &publish, ids), 0);
}

Test(routing, snapshots_busbard_must_refuse_say_why)
{
	const char *expected[] = {"names a topic", "named twice", "names a rule",
	                          "more targets", "filter policy", "unknown operator"};
	for (uint32_t variant = 0; variant < 6; variant++) {
		reset();
		queue("inbox", 1);
		topic("alerts", 12);
		bus("default", 31);
		rule(41, 31, "r", "{\"source\":[\"a\"]}", BB_SNAPSHOT_RULE_ENABLED);
		if (variant == 0)
			subscription(22, 99, "inbox", NULL, 0);
		if (variant == 1)
			topic("alerts", 13);
		if (variant == 2)
			target(99, "t", BB_TARGET_QUEUE, "inbox");
		for (uint32_t i = 0; variant == 3 && i <= BB_TARGETS_PER_RULE_MAX; i++) {
			static char ids[8][4];
			snprintf(ids[i], sizeof(ids[i]), "t%u", i);
			target(41, ids[i], BB_TARGET_QUEUE, "inbox");
		}
		if (variant == 4)
			subscription(22, 12, "inbox", "{\"level\":\"not a list\"}", 0);
		if (variant == 5)
			rule(42, 31, "bad", "{\"source\":[{\"nonsense\":1}]}", BB_SNAPSHOT_RULE_ENABLED);
		cr_assert_eq(parse(), WIRE_ERR_INVALID_PARAMETER, "variant %u", variant);
		cr_assert(strstr(error, expected[variant]) != NULL, "variant %u: %s", variant, error);
		cr_assert_null(snapshot.routing);
	}
}

Test(routing, a_snapshot_without_topics_or_buses_allocates_nothing)
{
	queue("inbox", 1);
	cr_assert_eq(parse(), WIRE_OK, "%s", error);
	cr_assert_null(snapshot.routing);
}
