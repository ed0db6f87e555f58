/*
 * The routing kinds of the snapshot (topics, subscriptions, buses, rules, targets): a round
 * trip keeps every field, each kind's limit is reached and refused one past it, and an
 * entry that is incomplete, out of range or repeats a field is refused with a reason,
 * both when encoding and when decoding.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bb_snapshot.h"

#define ENTRIES_MAX (BB_TARGET_COUNT_MAX + 8)

static struct bb_snapshot_entry decoded[ENTRIES_MAX];
static uint32_t decoded_count;
static char error[256];
static uint8_t body[1 << 20];

static void collect(void *context, const struct bb_snapshot_entry *entry)
{
	(void)context;
	cr_assert_lt(decoded_count, ENTRIES_MAX);
	decoded[decoded_count++] = *entry;
}

static enum wire_status decode(size_t bytes)
{
	struct bb_snapshot_header h;
	decoded_count = 0;
	return bb_snapshot_decode(body, bytes, &h, collect, NULL, error, sizeof(error));
}

static struct bb_text text(const char *s)
{
	return (struct bb_text){s, (uint32_t)strlen(s)};
}

static int encode(const struct bb_snapshot_entry *entries, uint32_t count, size_t *bytes)
{
	struct bb_snapshot_header header = {.version = 3};
	return bb_snapshot_encode(&header, entries, count, body, sizeof(body), bytes);
}

static bool same_text(struct bb_text a, struct bb_text b)
{
	if (a.data == NULL || b.data == NULL)
		return a.data == b.data;
	return a.bytes == b.bytes && memcmp(a.data, b.data, a.bytes) == 0;
}

static struct bb_snapshot_entry topic(const char *name, uint64_t id)
{
	return (struct bb_snapshot_entry){.kind = BB_SNAPSHOT_KIND_TOPIC,
	                                  .topic = {.name = text(name), .topic_id = id}};
}

static struct bb_snapshot_entry rule(const char *name, uint64_t id, uint64_t bus_id)
{
	return (struct bb_snapshot_entry){
	    .kind = BB_SNAPSHOT_KIND_RULE,
	    .rule = {.rule_id = id,
	             .bus_id = bus_id,
	             .name = text(name),
	             .flags = BB_SNAPSHOT_RULE_ENABLED,
	             .pattern = text("{\"source\":[\"a\"]}")}};
}

Test(snapshot_routing, round_trip_keeps_every_field_of_every_kind)
{
	struct bb_snapshot_entry entries[] = {
	    {.kind = BB_SNAPSHOT_KIND_TOPIC,
	     .topic = {.name = text("orders.fifo"),
	               .topic_id = 7,
	               .flags = BB_SNAPSHOT_TOPIC_FIFO | BB_SNAPSHOT_TOPIC_CONTENT_DEDUP |
	                        BB_SNAPSHOT_TOPIC_SIGNATURE_V1}},
	    {.kind = BB_SNAPSHOT_KIND_SUBSCRIPTION,
	     .subscription = {.subscription_id = 8,
	                      .topic_id = 7,
	                      .protocol = BB_SUBSCRIPTION_SQS,
	                      .flags = BB_SNAPSHOT_SUBSCRIPTION_RAW |
	                               BB_SNAPSHOT_SUBSCRIPTION_CONFIRMED,
	                      .endpoint = text("inbox.fifo"),
	                      .filter_policy = text("{\"a\":[\"b\"]}"),
	                      .dead_letter_queue = text("dead"),
	                      .arn = text("arn:aws:sns:local:000000000000:orders.fifo:1")}},
	    {.kind = BB_SNAPSHOT_KIND_BUS,
	     .bus = {.name = text("orders/eu"), .bus_id = 9, .flags = BB_SNAPSHOT_BUS_MEMORY}},
	    {.kind = BB_SNAPSHOT_KIND_RULE,
	     .rule = {.rule_id = 10,
	              .bus_id = 9,
	              .name = text("big.orders"),
	              .pattern = text("{\"detail\":{\"n\":[{\"numeric\":[\">\",9]}]}}"),
	              .schedule = text("rate(5 minutes)")}},
	    {.kind = BB_SNAPSHOT_KIND_TARGET,
	     .target = {.rule_id = 10,
	                .id = text("t-1"),
	                .kind = BB_TARGET_QUEUE,
	                .resource = text("inbox.fifo"),
	                .input_kind = BB_TARGET_INPUT_TRANSFORMER,
	                .input = text("\"<who> ordered\""),
	                .input_paths_map = text("{\"who\":\"$.detail.who\"}"),
	                .message_group_id = text("g"),
	                .retry_attempts_max = 185,
	                .event_age_s_max = 60,
	                .dead_letter_queue = text("dead")}},
	};
	uint32_t count = sizeof(entries) / sizeof(entries[0]);
	size_t bytes, bound = 0;
	cr_assert_eq(encode(entries, count, &bytes), 0);
	for (uint32_t i = 0; i < count; i++)
		bound += bb_snapshot_entry_bytes_max(&entries[i]);
	cr_assert_leq(bytes, bound + bb_snapshot_bytes_max(0), "the size bound holds");
	cr_assert_eq(decode(bytes), WIRE_OK, "%s", error);
	cr_assert_eq(decoded_count, count);
	const struct bb_snapshot_subscription *s = &decoded[1].subscription;
	cr_assert_eq(s->subscription_id, 8);
	cr_assert_eq(s->flags, entries[1].subscription.flags);
	cr_assert(same_text(s->filter_policy, entries[1].subscription.filter_policy));
	cr_assert(same_text(s->dead_letter_queue, text("dead")));
	cr_assert(same_text(s->arn, entries[1].subscription.arn));
	cr_assert(same_text(decoded[2].bus.name, text("orders/eu")));
	cr_assert(same_text(decoded[3].rule.schedule, text("rate(5 minutes)")));
	cr_assert_eq(decoded[3].rule.flags, 0, "a disabled rule stays disabled");
	const struct bb_snapshot_target *t = &decoded[4].target;
	cr_assert_eq(t->retry_attempts_max, 185);
	cr_assert_eq(t->event_age_s_max, 60);
	cr_assert_eq(t->input_kind, BB_TARGET_INPUT_TRANSFORMER);
	cr_assert(same_text(t->input_paths_map, entries[4].target.input_paths_map));
	cr_assert(same_text(t->message_group_id, text("g")));
	cr_assert_eq(decoded[0].topic.flags, entries[0].topic.flags);
}

Test(snapshot_routing, each_kind_is_refused_one_past_its_limit)
{
	static struct bb_snapshot_entry entries[BB_RULE_COUNT_MAX + 1];
	static char names[BB_RULE_COUNT_MAX + 1][16];
	for (uint32_t i = 0; i <= BB_RULE_COUNT_MAX; i++) {
		snprintf(names[i], sizeof(names[i]), "r%u", i);
		entries[i] = rule(names[i], i + 1, 1);
	}
	size_t bytes;
	cr_assert_eq(encode(entries, BB_RULE_COUNT_MAX, &bytes), 0, "the limit itself fits");
	cr_assert_eq(decode(bytes), WIRE_OK, "%s", error);
	cr_assert_eq(decoded_count, BB_RULE_COUNT_MAX);
	cr_assert_eq(encode(entries, BB_RULE_COUNT_MAX + 1, &bytes), -E2BIG);
	/* A body written past the limit by hand is refused when read, never cut. */
	struct wire_writer w;
	wire_writer_init(&w, body, sizeof(body));
	wire_put_u64(&w, WIRE_TAG_SNAPSHOT_VERSION, 3);
	for (uint32_t i = 0; i <= BB_TOPIC_COUNT_MAX; i++) {
		wire_put_bytes(&w, BB_SNAPSHOT_TAG_TOPIC_BEGIN, NULL, 0);
		wire_put_str(&w, BB_SNAPSHOT_TAG_TOPIC_NAME, names[i]);
		wire_put_u64(&w, BB_SNAPSHOT_TAG_TOPIC_ID, i + 1);
	}
	cr_assert(!w.overflow);
	/* Format 1 (no FORMAT field) has no routing kinds; write the format first. */
	memmove(body + wire_field_bytes(4), body, w.length);
	struct wire_writer f;
	wire_writer_init(&f, body, wire_field_bytes(4));
	wire_put_u32(&f, BB_SNAPSHOT_TAG_FORMAT, BB_SNAPSHOT_FORMAT);
	cr_assert_eq(decode(w.length + f.length), WIRE_ERR_INVALID_PARAMETER);
	cr_assert(strstr(error, "too many") != NULL, "%s", error);
}

Test(snapshot_routing, a_snapshot_larger_than_one_frame_is_refused)
{
	static char policy[BB_FILTER_POLICY_BYTES_MAX];
	memset(policy, ' ', sizeof(policy));
	policy[0] = '{';
	policy[sizeof(policy) - 1] = '}';
	static struct bb_snapshot_entry entries[BB_SUBSCRIPTION_COUNT_MAX];
	uint32_t count = 0;
	size_t total = 0;
	while (total <= BB_SNAPSHOT_BYTES_MAX && count < BB_SUBSCRIPTION_COUNT_MAX) {
		entries[count] = (struct bb_snapshot_entry){
		    .kind = BB_SNAPSHOT_KIND_SUBSCRIPTION,
		    .subscription = {.subscription_id = count + 1,
		                     .topic_id = 1,
		                     .protocol = BB_SUBSCRIPTION_SQS,
		                     .endpoint = text("q"),
		                     .filter_policy = {policy, sizeof(policy)}}};
		total += bb_snapshot_entry_bytes_max(&entries[count++]);
	}
	cr_assert_gt(total, BB_SNAPSHOT_BYTES_MAX, "the subscriptions' limit can fill a frame");
	static uint8_t big[2 * BB_SNAPSHOT_BYTES_MAX];
	struct bb_snapshot_header header = {.version = 3};
	size_t bytes;
	cr_assert_eq(bb_snapshot_encode(&header, entries, count, big, sizeof(big), &bytes), -E2BIG);
	cr_assert_eq(bb_snapshot_encode(&header, entries, count - 1, big, sizeof(big), &bytes), 0);
}

Test(snapshot_routing, incomplete_and_out_of_range_entries_are_refused)
{
	struct bb_snapshot_entry bad[] = {
	    topic("bad name", 1),                  /* a space */
	    topic("fifo-flag-missing.fifo", 1),     /* the name says FIFO, the flags do not */
	    topic("t", 0),                          /* no id */
	    rule("r", 1, 1),
	    {.kind = BB_SNAPSHOT_KIND_SUBSCRIPTION,
	     .subscription = {.subscription_id = 1, .topic_id = 1, .protocol = 9,
	                      .endpoint = text("q")}},
	    {.kind = BB_SNAPSHOT_KIND_SUBSCRIPTION,
	     .subscription = {.subscription_id = 1, .topic_id = 1,
	                      .protocol = BB_SUBSCRIPTION_SQS, .endpoint = text("not a queue")}},
	    {.kind = BB_SNAPSHOT_KIND_TARGET,
	     .target = {.rule_id = 1, .id = text("t"), .kind = BB_TARGET_QUEUE,
	                .resource = text("q"), .retry_attempts_max = 186}},
	    {.kind = BB_SNAPSHOT_KIND_TARGET,
	     .target = {.rule_id = 1, .id = text("t"), .kind = BB_TARGET_QUEUE,
	                .resource = text("q"), .event_age_s_max = 59}},
	    {.kind = BB_SNAPSHOT_KIND_TARGET,
	     .target = {.rule_id = 1, .id = text("t"), .kind = BB_TARGET_QUEUE,
	                .resource = text("q"), .input_kind = BB_TARGET_INPUT_CONSTANT}},
	    {.kind = BB_SNAPSHOT_KIND_TARGET,
	     .target = {.rule_id = 1, .id = text("t"), .kind = BB_TARGET_QUEUE,
	                .resource = text("q"), .input_paths_map = text("{}")}},
	};
	bad[3].rule.pattern = (struct bb_text){NULL, 0}; /* neither pattern nor schedule */
	size_t bytes;
	for (uint32_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(encode(&bad[i], 1, &bytes), -EINVAL, "entry %u", i);
	struct bb_snapshot_entry good = topic("t", 1);
	cr_assert_eq(encode(&good, 1, &bytes), 0);
}

Test(snapshot_routing, a_field_twice_or_of_another_kind_is_refused_when_read)
{
	for (int variant = 0; variant < 3; variant++) {
		struct wire_writer w;
		wire_writer_init(&w, body, sizeof(body));
		wire_put_u32(&w, BB_SNAPSHOT_TAG_FORMAT, BB_SNAPSHOT_FORMAT);
		wire_put_u64(&w, WIRE_TAG_SNAPSHOT_VERSION, 3);
		wire_put_bytes(&w, BB_SNAPSHOT_TAG_BUS_BEGIN, NULL, 0);
		wire_put_str(&w, BB_SNAPSHOT_TAG_BUS_NAME, "b");
		wire_put_u64(&w, BB_SNAPSHOT_TAG_BUS_ID, 4);
		if (variant == 0)
			wire_put_u64(&w, BB_SNAPSHOT_TAG_BUS_ID, 5);
		else if (variant == 1)
			wire_put_u64(&w, BB_SNAPSHOT_TAG_TOPIC_ID, 5);
		cr_assert_eq(decode(w.length), variant == 2 ? WIRE_OK : WIRE_ERR_INVALID_PARAMETER,
		             "variant %d: %s", variant, error);
	}
	cr_assert_eq(decoded_count, 1);
	cr_assert_eq(decoded[0].bus.bus_id, 4);
}

Test(snapshot_routing, names_follow_aws_rules)
{
	const struct {
		bool (*valid)(const uint8_t *, size_t);
		const char *name;
		bool ok;
	} cases[] = {
	    {bb_topic_name_is_valid, "My_Topic-1", true},
	    {bb_topic_name_is_valid, "t.fifo", true},
	    {bb_topic_name_is_valid, ".fifo", false},
	    {bb_topic_name_is_valid, "a.b", false},
	    {bb_bus_name_is_valid, "a/b.c-d_e", true},
	    {bb_bus_name_is_valid, "a b", false},
	    {bb_rule_name_is_valid, "a.b-c_d", true},
	    {bb_rule_name_is_valid, "a/b", false},
	    {bb_target_id_is_valid, "", false},
	};
	for (uint32_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_assert_eq(cases[i].valid((const uint8_t *)cases[i].name, strlen(cases[i].name)),
		             cases[i].ok, "%s", cases[i].name);
	char long_name[BB_TOPIC_NAME_BYTES_MAX + 2];
	memset(long_name, 'a', sizeof(long_name));
	cr_assert(bb_topic_name_is_valid((uint8_t *)long_name, BB_TOPIC_NAME_BYTES_MAX));
	cr_assert(!bb_topic_name_is_valid((uint8_t *)long_name, BB_TOPIC_NAME_BYTES_MAX + 1));
	cr_assert(bb_rule_name_is_valid((uint8_t *)long_name, BB_RULE_NAME_BYTES_MAX));
	cr_assert(!bb_rule_name_is_valid((uint8_t *)long_name, BB_RULE_NAME_BYTES_MAX + 1));
}
