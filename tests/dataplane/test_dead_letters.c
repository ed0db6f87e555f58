/*
 * What a dead letter says about itself (packet harness, one worker, no log). A rule target's
 * delivery that goes to its DeadLetterConfig queue carries EventBridge's message attributes
 * (AWS's EventBridge User Guide, "Using dead-letter queues to process undelivered events"):
 * RULE_ARN, TARGET_ARN, ERROR_CODE, ERROR_MESSAGE, RETRY_ATTEMPTS, and
 * EXHAUSTED_RETRY_CONDITION only when a retry limit ended it. Proves it for a target whose
 * queue is gone (NO_RESOURCE, never tried), one whose queue refuses the event for good
 * (MessageTooLong: INVALID_PARAMETER, not retried) and one whose retries ran out on a full
 * queue (RESOURCE_LIMIT_EXCEEDED, MaximumRetryAttempts); and that an SNS subscription's
 * dead letter carries none, as SNS documents none.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "bb_policy.h"
#include "bb_snapshot.h"
#include "dp_fanout.h"
#include "packet_harness.h"

#define ENTRIES_MAX       24u
#define ATTRIBUTES_MAX    10u
#define SETTLE_PASSES     16u
#define SMALL_QUEUE_BYTES 1024u
#define ARN_PREFIX        BB_POLICY_REGION_DEFAULT ":" BB_POLICY_ACCOUNT_ID_DEFAULT ":"

static struct bb_snapshot_entry entries[ENTRIES_MAX];
static uint32_t entry_count;
static uint8_t snapshot_body[1 << 16];
static struct dp_snapshot snapshot;
static bool snapshot_made;
static struct replies replies;

/* The first message one receive returned: its body's length and its attributes. */
static struct {
	uint32_t count;
	uint32_t body_bytes;
	uint32_t attribute_count;
	char names[ATTRIBUTES_MAX][64];
	char values[ATTRIBUTES_MAX][512];
} got;

static struct bb_text text(const char *s)
{
	return (struct bb_text){s, (uint32_t)strlen(s)};
}

static void add(struct bb_snapshot_entry e)
{
	cr_assert_lt(entry_count, ENTRIES_MAX);
	entries[entry_count++] = e;
}

static void queue(const char *name, uint64_t id, uint32_t maximum_message_bytes)
{
	struct bb_snapshot_entry e = {
	    .kind = BB_SNAPSHOT_KIND_QUEUE,
	    .queue = {.name_bytes = (uint32_t)strlen(name), .queue_id = id,
	              .visibility_timeout_s = 30, .maximum_message_bytes = maximum_message_bytes}};
	snprintf(e.queue.name, sizeof(e.queue.name), "%s", name);
	add(e);
}

static void rule(uint64_t id, const char *name, const char *source)
{
	static char patterns[4][64];
	static uint32_t next;
	char *pattern = patterns[next++ % 4];
	snprintf(pattern, sizeof(patterns[0]), "{\"source\":[\"%s\"]}", source);
	add((struct bb_snapshot_entry){.kind = BB_SNAPSHOT_KIND_RULE,
	                               .rule = {.rule_id = id, .bus_id = 201, .name = text(name),
	                                        .flags = BB_SNAPSHOT_RULE_ENABLED,
	                                        .pattern = text(pattern)}});
}

static void target(uint64_t rule_id, const char *queue_name, uint32_t retries,
                   const char *dead_letter_queue)
{
	add((struct bb_snapshot_entry){
	    .kind = BB_SNAPSHOT_KIND_TARGET,
	    .target = {.rule_id = rule_id, .id = text("t"), .kind = BB_TARGET_QUEUE,
	               .resource = text(queue_name), .retry_attempts_max = retries,
	               .dead_letter_queue = text(dead_letter_queue)}});
}

/*
 * Bus "shop": rule "gone" (source gone) targets a queue not in the snapshot; "tight"
 * (source tight) a queue of at most 1 KiB; "busy" (source busy) the queue "full" with one
 * retry. Each has its own dead-letter queue. Topic "lost" has a subscription whose queue is
 * gone, with dead-letter queue "sns-dlq".
 */
static void make_entries(void)
{
	queue(TEST_QUEUE, 7, 262144);
	queue("small", 8, SMALL_QUEUE_BYTES);
	queue("full", 9, 262144);
	queue("dlq-gone", 10, 262144);
	queue("dlq-tight", 11, 262144);
	queue("dlq-busy", 12, 262144);
	queue("sns-dlq", 13, 262144);
	add((struct bb_snapshot_entry){.kind = BB_SNAPSHOT_KIND_BUS,
	                               .bus = {.name = text("shop"), .bus_id = 201}});
	rule(301, "gone", "gone");
	rule(302, "tight", "tight");
	rule(303, "busy", "busy");
	target(301, "deleted-queue", 185, "dlq-gone");
	target(302, "small", 185, "dlq-tight");
	target(303, "full", 1, "dlq-busy");
	add((struct bb_snapshot_entry){.kind = BB_SNAPSHOT_KIND_TOPIC,
	                               .topic = {.name = text("lost"), .topic_id = 101}});
	add((struct bb_snapshot_entry){
	    .kind = BB_SNAPSHOT_KIND_SUBSCRIPTION,
	    .subscription = {.subscription_id = 1, .topic_id = 101,
	                     .protocol = BB_SUBSCRIPTION_SQS, .flags = BB_SNAPSHOT_SUBSCRIPTION_RAW,
	                     .endpoint = text("deleted-queue"), .dead_letter_queue = text("sns-dlq")}});
}

static void publish_snapshot(void)
{
	entry_count = 0;
	make_entries();
	const struct dp_snapshot *previous = atomic_load(&h.app.snapshot);
	struct bb_snapshot_header header = {.version = previous->version + 1};
	size_t bytes;
	cr_assert_eq(bb_snapshot_encode(&header, entries, entry_count, snapshot_body,
	                                sizeof(snapshot_body), &bytes), 0);
	char error[256];
	cr_assert_eq(dp_snapshot_parse(snapshot_body, bytes, &snapshot, error, sizeof(error)),
	             WIRE_OK, "%s", error);
	snapshot_made = true;
	cr_assert_eq(dp_snapshot_assign(&snapshot, previous, 1), 0);
	snapshot.generation = previous->generation + 1;
	atomic_store(&h.app.snapshot, &snapshot);
	harness_input(NULL, 0);
}

static void setup(void)
{
	harness_setup();
	publish_snapshot();
}

static void teardown(void)
{
	harness_teardown();
	if (snapshot_made)
		dp_snapshot_release(&snapshot);
	snapshot_made = false;
}

TestSuite(dead_letters, .init = setup, .fini = teardown, .timeout = 120);

static void send_request(struct request *r)
{
	struct rte_mbuf *m = frame_udp(r->bytes, request_finish(r));
	harness_input(&m, 1);
	take_replies(&replies);
	cr_assert_eq(replies.udp_datagrams, 1, "one answer");
}

static void settle(void)
{
	for (uint32_t i = 0; i < SETTLE_PASSES; i++)
		harness_advance_ms(0);
}

static void put_event(const char *source, const char *detail)
{
	static struct request r;
	static uint64_t request_id = 100;
	request_begin(&r, WIRE_OP_PUT_EVENTS, ++request_id);
	wire_put_str(&r.fields, WIRE_TAG_BUS_NAME, "shop");
	wire_put_bytes(&r.fields, WIRE_TAG_ENTRY_BEGIN, NULL, 0);
	wire_put_str(&r.fields, WIRE_TAG_EVENT_SOURCE, source);
	wire_put_str(&r.fields, WIRE_TAG_EVENT_DETAIL_TYPE, "OrderPlaced");
	wire_put_str(&r.fields, WIRE_TAG_EVENT_DETAIL, detail);
	send_request(&r);
	cr_assert_eq(replies.header.status, WIRE_OK);
	const uint8_t *code;
	cr_assert_eq(reply_field(&replies, WIRE_TAG_ERROR_CODE, &code), -1, "the entry accepted");
}

/* Records one field of the first message's attributes in got. */
static void take_attribute_field(const struct wire_field *f)
{
	if (f->tag == WIRE_TAG_ATTRIBUTE_BEGIN) {
		cr_assert_lt(got.attribute_count, ATTRIBUTES_MAX);
		got.attribute_count++;
		return;
	}
	char *into = f->tag == WIRE_TAG_ATTRIBUTE_NAME           ? got.names[got.attribute_count - 1]
	             : f->tag == WIRE_TAG_ATTRIBUTE_STRING_VALUE ? got.values[got.attribute_count - 1]
	                                                         : NULL;
	if (into != NULL)
		snprintf(into, sizeof(got.values[0]), "%.*s", (int)f->length, (const char *)f->value);
}

/* Receives from queue_name with MessageAttributeNames All; the first message into got. */
static void receive(const char *queue_name)
{
	static struct request r;
	static uint64_t request_id = 5000;
	request_begin(&r, WIRE_OP_RECEIVE_MESSAGE, ++request_id);
	wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, queue_name);
	wire_put_u32(&r.fields, WIRE_TAG_WAIT_TIME_S, 0);
	wire_put_str(&r.fields, WIRE_TAG_MESSAGE_ATTRIBUTE_NAME, "All");
	send_request(&r);
	cr_assert_eq(replies.header.status, WIRE_OK, "receive from %s", queue_name);
	memset(&got, 0, sizeof(got));
	struct wire_reader reader;
	struct wire_field f;
	wire_reader_init(&reader, replies.datagram + BB_WIRE_HEADER_BYTES,
	                 replies.header.body_bytes);
	while (wire_reader_next(&reader, &f) == 1) {
		if (f.tag == WIRE_TAG_MESSAGE_BEGIN)
			got.count++;
		else if (got.count == 1 && f.tag == WIRE_TAG_BODY)
			got.body_bytes = f.length;
		else if (got.count == 1 && (f.tag == WIRE_TAG_ATTRIBUTE_BEGIN || got.attribute_count))
			take_attribute_field(&f);
	}
}

/* The value of the first message's attribute name; NULL without it. */
static const char *attribute(const char *name)
{
	for (uint32_t i = 0; i < got.attribute_count; i++)
		if (strcmp(got.names[i], name) == 0)
			return got.values[i];
	return NULL;
}

static void expect_attribute(const char *name, const char *value)
{
	const char *v = attribute(name);
	cr_assert_not_null(v, "the dead letter has %s", name);
	cr_assert_str_eq(v, value, "%s", name);
}

Test(dead_letters, a_target_whose_queue_is_gone_says_no_resource_and_no_retry)
{
	put_event("gone", "{\"id\":1}");
	settle();
	receive("dlq-gone");
	cr_assert_eq(got.count, 1, "the event is in the dead-letter queue");
	expect_attribute("RULE_ARN", "arn:aws:events:" ARN_PREFIX "rule/shop/gone");
	expect_attribute("TARGET_ARN", "arn:aws:sqs:" ARN_PREFIX "deleted-queue");
	expect_attribute("ERROR_CODE", "NO_RESOURCE");
	expect_attribute("ERROR_MESSAGE", "The target does not exist.");
	expect_attribute("RETRY_ATTEMPTS", "0");
	cr_assert_null(attribute("EXHAUSTED_RETRY_CONDITION"), "no retry limit ended it");
	cr_assert_eq(got.attribute_count, 5);
}

Test(dead_letters, a_target_that_refuses_the_event_for_good_says_why)
{
	static char detail[SMALL_QUEUE_BYTES * 2];
	memset(detail, 'x', sizeof(detail));
	memcpy(detail, "{\"pad\":\"", 8);
	memcpy(detail + sizeof(detail) - 3, "\"}", 3);
	put_event("tight", detail);
	settle();
	receive("small");
	cr_assert_eq(got.count, 0, "too long for its target");
	receive("dlq-tight");
	cr_assert_eq(got.count, 1);
	cr_assert_gt(got.body_bytes, SMALL_QUEUE_BYTES, "the event whole");
	expect_attribute("RULE_ARN", "arn:aws:events:" ARN_PREFIX "rule/shop/tight");
	expect_attribute("TARGET_ARN", "arn:aws:sqs:" ARN_PREFIX "small");
	expect_attribute("ERROR_CODE", "INVALID_PARAMETER");
	expect_attribute("ERROR_MESSAGE", wire_status_name(WIRE_ERR_MESSAGE_TOO_LONG));
	expect_attribute("RETRY_ATTEMPTS", "0");
	cr_assert_null(attribute("EXHAUSTED_RETRY_CONDITION"), "refused for good, not retried");
	cr_assert_eq(h.worker->stats.fanout_dead_lettered, 1);
}

/* Sends to queue_name until it answers OverLimit. */
static void fill(const char *queue_name)
{
	static struct request r;
	for (uint32_t sent = 0; sent <= BB_MESSAGE_SLOTS_PER_WORKER; sent++) {
		request_begin(&r, WIRE_OP_SEND_MESSAGE, 20000 + sent);
		wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, queue_name);
		wire_put_str(&r.fields, WIRE_TAG_BODY, "filler");
		send_request(&r);
		if (replies.header.status == WIRE_ERR_OVER_LIMIT)
			return;
		cr_assert_eq(replies.header.status, WIRE_OK);
	}
	cr_assert_fail("%s never filled", queue_name);
}

Test(dead_letters, a_target_out_of_retries_says_which_limit_ended_it)
{
	fill("full");
	put_event("busy", "{\"id\":3}");
	settle();
	cr_assert_eq(h.worker->stats.fanout_retries, 1, "OverLimit: tried again later");
	harness_advance_ms(DP_RETRY_DELAY_MS_FIRST);
	settle();
	receive("dlq-busy");
	cr_assert_eq(got.count, 1, "its one retry refused too: dead-lettered");
	expect_attribute("RULE_ARN", "arn:aws:events:" ARN_PREFIX "rule/shop/busy");
	expect_attribute("TARGET_ARN", "arn:aws:sqs:" ARN_PREFIX "full");
	expect_attribute("ERROR_CODE", "RESOURCE_LIMIT_EXCEEDED");
	expect_attribute("ERROR_MESSAGE", wire_status_name(WIRE_ERR_OVER_LIMIT));
	expect_attribute("RETRY_ATTEMPTS", "1");
	expect_attribute("EXHAUSTED_RETRY_CONDITION", "MaximumRetryAttempts");
	cr_assert_eq(got.attribute_count, 6);
}

Test(dead_letters, a_subscriptions_dead_letter_carries_no_attributes)
{
	static struct request r;
	request_begin(&r, WIRE_OP_PUBLISH, 77);
	wire_put_str(&r.fields, WIRE_TAG_TOPIC_NAME, "lost");
	wire_put_str(&r.fields, WIRE_TAG_BODY, "nowhere to go");
	send_request(&r);
	cr_assert_eq(replies.header.status, WIRE_OK);
	settle();
	receive("sns-dlq");
	cr_assert_eq(got.count, 1);
	cr_assert_eq(got.attribute_count, 0, "SNS documents no attributes on its dead letters");
}
