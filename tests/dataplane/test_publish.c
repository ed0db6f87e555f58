/*
 * busbard's routing path on one worker (packet harness, no log): Publish, PublishBatch and
 * PutEvents over UDP, and what the fan-out puts into queues, read back with ReceiveMessage.
 * Proves that a publish is answered with a MessageId and reaches every subscribed queue (raw
 * body exact, the signed SNS envelope's fields, a FilterPolicy keeping it out of one); that
 * PublishBatch and PutEvents answer per entry (EventId or ErrorCode, FailedEntryCount); that
 * an event reaches its rule's queue targets whole or through an InputTransformer and a
 * disabled rule delivers nothing; that a delivery with no queue or one the queue refuses for
 * good lands in the dead-letter queue; that a delivery a full queue refuses is retried with
 * backoff on the harness clock and arrives once there is room; and that the worker's
 * fanout_* counters (what GetStats reports) count each of these.
 */
#include <criterion/criterion.h>
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bb_policy.h"
#include "bb_snapshot.h"
#include "dp_fanout.h"
#include "dp_sign.h"
#include "packet_harness.h"

#define ENTRIES_MAX        32u
#define RECEIVED_MAX       10u  /* a ReceiveMessage's most */
#define RECEIVED_BYTES_MAX 8192u
#define SETTLE_PASSES      16u  /* a delivery needs three: out, executed, back */
#define SMALL_QUEUE_BYTES  1024u /* the smallest MaximumMessageSize */

static struct bb_snapshot_entry entries[ENTRIES_MAX];
static uint32_t entry_count;
static uint8_t snapshot_body[1 << 16];
static struct dp_snapshot snapshot;
static bool snapshot_made;
static char key_dir[] = "/tmp/busbar-test-publish-XXXXXX";
static struct replies replies;

/* What one ReceiveMessage returned. */
static struct {
	uint32_t count;
	char bodies[RECEIVED_MAX][RECEIVED_BYTES_MAX];
	uint32_t body_bytes[RECEIVED_MAX];
	char handles[RECEIVED_MAX][512];
} got;

/* ---- the snapshot: queues, a topic with its subscriptions, a bus with rules ---- */

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

static void subscription(uint64_t id, uint64_t topic_id, const char *queue_name,
                         const char *policy, uint32_t flags, const char *dead_letter_queue)
{
	add((struct bb_snapshot_entry){
	    .kind = BB_SNAPSHOT_KIND_SUBSCRIPTION,
	    .subscription = {
	        .subscription_id = id, .topic_id = topic_id, .protocol = BB_SUBSCRIPTION_SQS,
	        .flags = flags, .endpoint = text(queue_name),
	        .filter_policy = policy != NULL ? text(policy) : (struct bb_text){0},
	        .dead_letter_queue = dead_letter_queue != NULL ? text(dead_letter_queue)
	                                                       : (struct bb_text){0}}});
}

static void rule(uint64_t id, uint64_t bus_id, const char *name, const char *pattern,
                 uint32_t flags)
{
	add((struct bb_snapshot_entry){.kind = BB_SNAPSHOT_KIND_RULE,
	                               .rule = {.rule_id = id, .bus_id = bus_id,
	                                        .name = text(name), .flags = flags,
	                                        .pattern = text(pattern)}});
}

static void target(struct bb_snapshot_target t)
{
	add((struct bb_snapshot_entry){.kind = BB_SNAPSHOT_KIND_TARGET, .target = t});
}

/*
 * Two snapshots, each within the tiny limits' counts (8 queues, 4 topics). Topics: "news"
 * (SignatureVersion 1) has raw, envelope and filtered (kind=order) subscriptions; "lost" one whose queue is gone,
 * with a dead-letter queue; "tight" one to a queue that takes at most 1 KiB, with a
 * dead-letter queue; "tight.fifo" the same with FIFO queues.
 */
static void topic_entries(void)
{
	queue(TEST_QUEUE, 7, 262144);
	const char *names[] = {"raw", "env", "filtered", "dlq"};
	for (uint32_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		queue(names[i], 8 + i, 262144);
	queue("small", 20, SMALL_QUEUE_BYTES);
	queue("small.fifo", 21, SMALL_QUEUE_BYTES);
	queue("dlq.fifo", 22, 262144);
	entries[entry_count - 2].queue.flags = BB_SNAPSHOT_QUEUE_FIFO;
	entries[entry_count - 1].queue.flags = BB_SNAPSHOT_QUEUE_FIFO; /* no content dedup */
	add((struct bb_snapshot_entry){.kind = BB_SNAPSHOT_KIND_TOPIC,
	                               .topic = {.name = text("news"), .topic_id = 101,
	                                         .flags = BB_SNAPSHOT_TOPIC_SIGNATURE_V1}});
	add((struct bb_snapshot_entry){.kind = BB_SNAPSHOT_KIND_TOPIC,
	                               .topic = {.name = text("lost"), .topic_id = 102}});
	add((struct bb_snapshot_entry){.kind = BB_SNAPSHOT_KIND_TOPIC,
	                               .topic = {.name = text("tight"), .topic_id = 103}});
	add((struct bb_snapshot_entry){
	    .kind = BB_SNAPSHOT_KIND_TOPIC,
	    .topic = {.name = text("tight.fifo"), .topic_id = 104, .flags = BB_SNAPSHOT_TOPIC_FIFO}});
	subscription(1, 101, "raw", NULL, BB_SNAPSHOT_SUBSCRIPTION_RAW, NULL);
	subscription(2, 101, "env", NULL, 0, NULL);
	subscription(3, 101, "filtered", "{\"kind\":[\"order\"]}", BB_SNAPSHOT_SUBSCRIPTION_RAW,
	             NULL);
	subscription(4, 102, "deleted-queue", NULL, BB_SNAPSHOT_SUBSCRIPTION_RAW, "dlq");
	subscription(5, 103, "small", NULL, BB_SNAPSHOT_SUBSCRIPTION_RAW, "dlq");
	subscription(6, 104, "small.fifo", NULL, BB_SNAPSHOT_SUBSCRIPTION_RAW, "dlq.fifo");
}

/* Bus "shop": rule "big" (source shop) targets the whole event and an InputTransformer;
 * the disabled rule "off" matches the same events. */
static void bus_entries(void)
{
	queue(TEST_QUEUE, 7, 262144);
	queue("events", 8, 262144);
	queue("shaped", 9, 262144);
	queue("offq", 10, 262144);
	add((struct bb_snapshot_entry){.kind = BB_SNAPSHOT_KIND_BUS,
	                               .bus = {.name = text("shop"), .bus_id = 201}});
	rule(301, 201, "big", "{\"source\":[\"shop\"]}", BB_SNAPSHOT_RULE_ENABLED);
	rule(302, 201, "off", "{\"source\":[\"shop\"]}", 0);
	target((struct bb_snapshot_target){.rule_id = 301, .id = text("whole"),
	                                   .kind = BB_TARGET_QUEUE, .resource = text("events")});
	target((struct bb_snapshot_target){
	    .rule_id = 301, .id = text("shaped"), .kind = BB_TARGET_QUEUE,
	    .resource = text("shaped"), .input_kind = BB_TARGET_INPUT_TRANSFORMER,
	    .input = text("{\"order\": <id>, \"rule\": \"<aws.events.rule-name>\"}"),
	    .input_paths_map = text("{\"id\":\"$.detail.id\"}")});
	target((struct bb_snapshot_target){.rule_id = 302, .id = text("off"),
	                                   .kind = BB_TARGET_QUEUE, .resource = text("offq")});
}

/* Publishes the snapshot as the service thread would; the worker applies it on its input. */
static void publish_routing_snapshot(void (*make_entries)(void))
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
	cr_assert_not_null(snapshot.routing);
	snapshot.generation = previous->generation + 1;
	atomic_store(&h.app.snapshot, &snapshot);
	harness_input(NULL, 0);
}

/* busbard's signer from a key made in a fresh state directory: envelopes are signed. */
static void give_signer(void)
{
	cr_assert_not_null(mkdtemp(key_dir));
	char error[256] = "";
	int rc = 0;
	struct dp_sign_key *key = dp_sign_key_load(key_dir, error, sizeof(error), &rc);
	cr_assert_not_null(key, "%s (%d)", error, rc);
	struct dp_signer *signer = dp_signer_new(key, &rc);
	cr_assert_not_null(signer, "%d", rc);
	dp_sign_key_free(key);
	dp_worker_set_signer(h.worker, signer); /* the worker frees it */
}

static int remove_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void setup(void)
{
	harness_setup();
	give_signer();
}

static void teardown(void)
{
	harness_teardown();
	if (snapshot_made)
		dp_snapshot_release(&snapshot);
	nftw(key_dir, remove_one, 8, FTW_DEPTH | FTW_PHYS);
}

TestSuite(publish, .init = setup, .fini = teardown, .timeout = 120);

/* ---- requests and what comes back ---- */

static void send_request(struct request *r)
{
	struct rte_mbuf *m = frame_udp(r->bytes, request_finish(r));
	harness_input(&m, 1);
	take_replies(&replies);
	cr_assert_eq(replies.udp_datagrams, 1, "one answer");
}

/* Passes of the worker at this time: deliveries go out, are executed, come back. */
static void settle(void)
{
	for (uint32_t i = 0; i < SETTLE_PASSES; i++)
		harness_advance_ms(0);
}

static bool fanout_idle(void)
{
	const struct dp_fanout *f = &h.worker->fanout;
	return f->pending_free_count == DP_PENDING_MAX && f->outbox_count == 0 &&
	       f->retry_count == 0;
}

static void attribute(struct request *r, const char *name, const char *value)
{
	wire_put_bytes(&r->fields, WIRE_TAG_ATTRIBUTE_BEGIN, NULL, 0);
	wire_put_str(&r->fields, WIRE_TAG_ATTRIBUTE_NAME, name);
	wire_put_str(&r->fields, WIRE_TAG_ATTRIBUTE_DATA_TYPE, "String");
	wire_put_str(&r->fields, WIRE_TAG_ATTRIBUTE_STRING_VALUE, value);
}

/* A Publish to topic; kind NULL: no attribute. Returns the reply's MessageId. */
static void publish(const char *topic, const char *message, const char *subject,
                    const char *kind, char message_id[BB_MESSAGE_ID_BYTES + 1])
{
	static struct request r;
	static uint64_t request_id = 1000;
	request_begin(&r, WIRE_OP_PUBLISH, ++request_id);
	wire_put_str(&r.fields, WIRE_TAG_TOPIC_NAME, topic);
	wire_put_str(&r.fields, WIRE_TAG_BODY, message);
	if (subject != NULL)
		wire_put_str(&r.fields, WIRE_TAG_SUBJECT, subject);
	if (kind != NULL)
		attribute(&r, "kind", kind);
	send_request(&r);
	cr_assert_eq(replies.header.status, WIRE_OK, "publish to %s", topic);
	const uint8_t *id;
	cr_assert_eq(reply_field(&replies, WIRE_TAG_MESSAGE_ID, &id), BB_MESSAGE_ID_BYTES);
	memcpy(message_id, id, BB_MESSAGE_ID_BYTES);
	message_id[BB_MESSAGE_ID_BYTES] = '\0';
}

/* Receives up to ten messages of queue into got. */
static void receive(const char *queue_name)
{
	static struct request r;
	static uint64_t request_id = 5000;
	request_begin(&r, WIRE_OP_RECEIVE_MESSAGE, ++request_id);
	wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, queue_name);
	wire_put_u32(&r.fields, WIRE_TAG_MAX_MESSAGES, RECEIVED_MAX);
	wire_put_u32(&r.fields, WIRE_TAG_WAIT_TIME_S, 0);
	send_request(&r);
	cr_assert_eq(replies.header.status, WIRE_OK, "receive from %s", queue_name);
	memset(&got, 0, sizeof(got));
	struct wire_reader reader;
	struct wire_field f;
	wire_reader_init(&reader, replies.datagram + BB_WIRE_HEADER_BYTES,
	                 replies.header.body_bytes);
	int32_t at = -1;
	while (wire_reader_next(&reader, &f) == 1) {
		if (f.tag == WIRE_TAG_MESSAGE_BEGIN) {
			cr_assert_lt(got.count, RECEIVED_MAX);
			at = (int32_t)got.count++;
		} else if (at >= 0 && f.tag == WIRE_TAG_BODY) {
			cr_assert_lt(f.length, RECEIVED_BYTES_MAX);
			memcpy(got.bodies[at], f.value, f.length);
			got.body_bytes[at] = f.length;
		} else if (at >= 0 && f.tag == WIRE_TAG_RECEIPT_HANDLE) {
			cr_assert_lt(f.length, sizeof(got.handles[at]));
			memcpy(got.handles[at], f.value, f.length);
		}
	}
}

static void delete_message(const char *queue_name, const char *handle)
{
	static struct request r;
	static uint64_t request_id = 9000;
	request_begin(&r, WIRE_OP_DELETE_MESSAGE, ++request_id);
	wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, queue_name);
	wire_put_str(&r.fields, WIRE_TAG_RECEIPT_HANDLE, handle);
	send_request(&r);
	cr_assert_eq(replies.header.status, WIRE_OK);
}

/* The one message queue holds now, exactly body. */
static void expect_one(const char *queue_name, const char *body)
{
	receive(queue_name);
	cr_assert_eq(got.count, 1, "%s holds one message, not %u", queue_name, got.count);
	cr_assert_str_eq(got.bodies[0], body, "in %s", queue_name);
}

static void expect_none(const char *queue_name)
{
	receive(queue_name);
	cr_assert_eq(got.count, 0, "%s holds nothing, not %u", queue_name, got.count);
}

static const char *json_text(json_t *object, const char *key)
{
	const char *value = json_string_value(json_object_get(object, key));
	cr_assert_not_null(value, "the JSON has \"%s\" as a string", key);
	return value;
}

/* ---- SNS ---- */

Test(publish, a_publish_reaches_every_subscribed_queue_raw_or_in_the_envelope)
{
	publish_routing_snapshot(topic_entries);
	char id[BB_MESSAGE_ID_BYTES + 1];
	publish("news", "hello raw", "Greeting", "order", id);
	settle();
	cr_assert(fanout_idle(), "every delivery came back done");
	expect_one("raw", "hello raw");
	expect_one("filtered", "hello raw");
	receive("env");
	cr_assert_eq(got.count, 1);
	json_error_t error;
	json_t *envelope = json_loadb(got.bodies[0], got.body_bytes[0], 0, &error);
	cr_assert_not_null(envelope, "the envelope is JSON: %s", error.text);
	cr_assert_str_eq(json_text(envelope, "Type"), "Notification");
	cr_assert_str_eq(json_text(envelope, "MessageId"), id, "the id Publish answered");
	cr_assert_str_eq(json_text(envelope, "TopicArn"), "arn:aws:sns:" BB_POLICY_REGION_DEFAULT
	                                                  ":" BB_POLICY_ACCOUNT_ID_DEFAULT ":news");
	cr_assert_str_eq(json_text(envelope, "Subject"), "Greeting");
	cr_assert_str_eq(json_text(envelope, "Message"), "hello raw");
	cr_assert_gt(strlen(json_text(envelope, "Timestamp")), 0);
	cr_assert_gt(strlen(json_text(envelope, "Signature")), 300, "an RSA-2048 signature");
	cr_assert_str_eq(json_text(envelope, "SignatureVersion"), "1", "the topic's version");
	json_t *kind = json_object_get(json_object_get(envelope, "MessageAttributes"), "kind");
	cr_assert_str_eq(json_text(kind, "Type"), "String");
	cr_assert_str_eq(json_text(kind, "Value"), "order");
	json_decref(envelope);
	cr_assert_eq(h.worker->stats.fanout_deliveries, 3);
	cr_assert_eq(h.worker->stats.fanout_done, 1, "one publish done");
	cr_assert_eq(h.worker->stats.fanout_failed, 0);
}

/* The messages queue_name holds now, from the engine: no request, no pass. */
static uint32_t visible_in(const char *queue_name)
{
	const struct dp_snapshot *s = atomic_load(&h.app.snapshot);
	for (uint32_t i = 0; i < s->queue_count; i++) {
		const struct dp_queue_entry *q = &s->queues[i];
		if (q->name_bytes != strlen(queue_name) || memcmp(q->name, queue_name, q->name_bytes))
			continue;
		struct sqs_queue_counts counts;
		sqs_queue_counts(h.worker->sqs, q->slot, &counts);
		return counts.visible;
	}
	cr_assert_fail("no queue %s", queue_name);
	return 0;
}

/* Deliveries to the worker's own queues are executed where they are made, not through the
 * worker's ring to itself (dp_fanout.c, DP_LOCAL_DELIVERIES_PER_PASS). */
Test(publish, deliveries_to_the_workers_own_queues_are_made_in_the_publishs_pass)
{
	publish_routing_snapshot(topic_entries);
	char id[BB_MESSAGE_ID_BYTES + 1];
	publish("news", "at once", NULL, "order", id);
	cr_assert_eq(visible_in("raw"), 1, "delivered in the pass that accepted the publish");
	cr_assert_eq(visible_in("env"), 1);
	cr_assert_eq(visible_in("filtered"), 1);
	cr_assert_eq(rte_ring_count(h.app.requests[0][0]), 0, "nothing crossed the ring");
	harness_advance_ms(0);
	cr_assert(fanout_idle(), "their answers came back in the next pass");
	cr_assert_eq(h.worker->stats.fanout_done, 1);
}

Test(publish, a_filter_policy_keeps_a_message_out_of_its_queue)
{
	publish_routing_snapshot(topic_entries);
	char id[BB_MESSAGE_ID_BYTES + 1];
	publish("news", "a refund", NULL, "refund", id);
	publish("news", "no attributes", NULL, NULL, id);
	settle();
	cr_assert(fanout_idle());
	expect_none("filtered");
	receive("raw");
	cr_assert_eq(got.count, 2, "the unfiltered subscription has both");
	cr_assert_eq(h.worker->stats.fanout_deliveries, 4, "2 publishes x raw and envelope");
}

Test(publish, publish_batch_answers_each_entry)
{
	publish_routing_snapshot(topic_entries);
	static struct request r;
	request_begin(&r, WIRE_OP_PUBLISH_BATCH, 77);
	wire_put_str(&r.fields, WIRE_TAG_TOPIC_NAME, "news");
	const char *ids[] = {"a", "b", "c"};
	const char *bodies[] = {"first", "", "third"}; /* an empty message is SNS's error */
	for (uint32_t i = 0; i < 3; i++) {
		wire_put_bytes(&r.fields, WIRE_TAG_ENTRY_BEGIN, NULL, 0);
		wire_put_str(&r.fields, WIRE_TAG_ENTRY_ID, ids[i]);
		wire_put_str(&r.fields, WIRE_TAG_BODY, bodies[i]);
	}
	send_request(&r);
	cr_assert_eq(replies.header.status, WIRE_OK);
	struct wire_reader reader;
	struct wire_field f;
	wire_reader_init(&reader, replies.datagram + BB_WIRE_HEADER_BYTES,
	                 replies.header.body_bytes);
	uint32_t entry = 0, with_id = 0, failed = 0;
	while (wire_reader_next(&reader, &f) == 1) {
		if (f.tag == WIRE_TAG_ENTRY_BEGIN)
			entry++;
		if (f.tag == WIRE_TAG_ENTRY_ID)
			cr_assert(f.length == 1 && f.value[0] == ids[entry - 1][0], "entries in order");
		if (f.tag == WIRE_TAG_MESSAGE_ID) {
			cr_assert_neq(entry, 2, "the empty message has no MessageId");
			with_id++;
		}
		if (f.tag == WIRE_TAG_ENTRY_STATUS) {
			cr_assert_eq(entry, 2, "only the empty message failed");
			failed++;
		}
	}
	cr_assert_eq(entry, 3);
	cr_assert_eq(with_id, 2);
	cr_assert_eq(failed, 1);
	settle();
	receive("raw");
	cr_assert_eq(got.count, 2, "the two accepted entries, not the failed one");
	cr_assert_str_eq(got.bodies[0], "first");
	cr_assert_str_eq(got.bodies[1], "third");
}

/* ---- EventBridge ---- */

static void event(struct request *r, const char *source, const char *detail)
{
	wire_put_bytes(&r->fields, WIRE_TAG_ENTRY_BEGIN, NULL, 0);
	wire_put_str(&r->fields, WIRE_TAG_EVENT_SOURCE, source);
	wire_put_str(&r->fields, WIRE_TAG_EVENT_DETAIL_TYPE, "OrderPlaced");
	wire_put_str(&r->fields, WIRE_TAG_EVENT_DETAIL, detail);
}

Test(publish, put_events_answers_each_entry_and_delivers_to_enabled_rules_only)
{
	publish_routing_snapshot(bus_entries);
	static struct request r;
	request_begin(&r, WIRE_OP_PUT_EVENTS, 88);
	wire_put_str(&r.fields, WIRE_TAG_BUS_NAME, "shop");
	event(&r, "shop", "{\"id\":5}");
	event(&r, "elsewhere", "{\"id\":6}"); /* accepted, matches no rule */
	event(&r, "shop", "[1,2]");           /* detail must be an object */
	send_request(&r);
	cr_assert_eq(replies.header.status, WIRE_OK);
	struct wire_reader reader;
	struct wire_field f;
	wire_reader_init(&reader, replies.datagram + BB_WIRE_HEADER_BYTES,
	                 replies.header.body_bytes);
	uint32_t entry = 0, failed_count = UINT32_MAX;
	char event_ids[3][WIRE_EVENT_ID_BYTES + 1] = {{0}};
	char code[WIRE_ERROR_CODE_BYTES_MAX + 1] = "";
	while (wire_reader_next(&reader, &f) == 1) {
		if (f.tag == WIRE_TAG_ENTRY_BEGIN)
			entry++;
		if (f.tag == WIRE_TAG_EVENT_ID) {
			cr_assert_eq(f.length, WIRE_EVENT_ID_BYTES);
			memcpy(event_ids[entry - 1], f.value, f.length);
		}
		if (f.tag == WIRE_TAG_ERROR_CODE) {
			cr_assert_eq(entry, 3, "only the third entry failed, not %u: %.*s", entry,
			             (int)f.length, (const char *)f.value);
			snprintf(code, sizeof(code), "%.*s", (int)f.length, (const char *)f.value);
		}
		if (f.tag == WIRE_TAG_FAILED_ENTRY_COUNT)
			cr_assert(wire_field_u32(&f, &failed_count));
	}
	cr_assert_eq(entry, 3);
	cr_assert_eq(failed_count, 1, "FailedEntryCount");
	cr_assert_str_eq(code, "MalformedDetail");
	cr_assert_eq(strlen(event_ids[0]), WIRE_EVENT_ID_BYTES);
	cr_assert_eq(strlen(event_ids[1]), WIRE_EVENT_ID_BYTES);
	cr_assert_str_neq(event_ids[0], event_ids[1]);
	settle();
	cr_assert(fanout_idle());
	receive("events");
	cr_assert_eq(got.count, 1, "only the shop event");
	json_error_t error;
	json_t *e = json_loadb(got.bodies[0], got.body_bytes[0], 0, &error);
	cr_assert_not_null(e, "%s", error.text);
	cr_assert_str_eq(json_text(e, "id"), event_ids[0], "the EventId PutEvents answered");
	cr_assert_str_eq(json_text(e, "source"), "shop");
	cr_assert_str_eq(json_text(e, "detail-type"), "OrderPlaced");
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(e, "detail"), "id")), 5);
	json_decref(e);
	expect_one("shaped", "{\"order\": 5, \"rule\": \"big\"}");
	expect_none("offq");
	cr_assert_eq(h.worker->stats.fanout_deliveries, 2, "two targets of one rule");
	cr_assert_eq(h.worker->stats.fanout_done, 2, "both accepted events are done");
}

/* ---- dead letters and retries ---- */

Test(publish, a_subscription_whose_queue_is_gone_delivers_to_its_dead_letter_queue)
{
	publish_routing_snapshot(topic_entries);
	char id[BB_MESSAGE_ID_BYTES + 1];
	publish("lost", "nowhere to go", NULL, NULL, id);
	settle();
	cr_assert(fanout_idle());
	expect_one("dlq", "nowhere to go");
	cr_assert_eq(h.worker->stats.fanout_failed, 0, "delivered, to the dead-letter queue");
}

Test(publish, a_delivery_refused_for_good_goes_to_the_dead_letter_queue)
{
	publish_routing_snapshot(topic_entries);
	static char big[SMALL_QUEUE_BYTES * 2];
	memset(big, 'x', sizeof(big) - 1);
	char id[BB_MESSAGE_ID_BYTES + 1];
	publish("tight", big, NULL, NULL, id);
	settle();
	cr_assert(fanout_idle());
	expect_none("small");
	expect_one("dlq", big);
	cr_assert_eq(h.worker->stats.fanout_dead_lettered, 1);
	cr_assert_eq(h.worker->stats.fanout_retries, 0, "MessageTooLong is not retried");
	cr_assert_eq(h.worker->stats.fanout_done, 1);
}

/*
 * A FIFO topic's delivery the FIFO queue refuses for good goes to the FIFO dead-letter queue
 * with its MessageGroupId and its MessageDeduplicationId (the publish's MessageId): that
 * queue has no content-based deduplication, so without the id it would refuse it too.
 */
Test(publish, a_fifo_delivery_refused_for_good_keeps_its_ids_into_the_dead_letter_queue)
{
	publish_routing_snapshot(topic_entries);
	static char big[SMALL_QUEUE_BYTES * 2];
	memset(big, 'y', sizeof(big) - 1);
	static struct request r;
	request_begin(&r, WIRE_OP_PUBLISH, 66);
	wire_put_str(&r.fields, WIRE_TAG_TOPIC_NAME, "tight.fifo");
	wire_put_str(&r.fields, WIRE_TAG_BODY, big);
	wire_put_str(&r.fields, WIRE_TAG_MESSAGE_GROUP_ID, "g1");
	wire_put_str(&r.fields, WIRE_TAG_MESSAGE_DEDUPLICATION_ID, "d1");
	send_request(&r);
	cr_assert_eq(replies.header.status, WIRE_OK);
	settle();
	cr_assert(fanout_idle());
	expect_none("small.fifo");
	expect_one("dlq.fifo", big);
	cr_assert_eq(h.worker->stats.fanout_dead_lettered, 1);
	cr_assert_eq(h.worker->stats.fanout_failed, 0);
}

/* Sends to queue until it answers OverLimit; returns how many it took. */
static uint32_t fill(const char *queue_name)
{
	static struct request r;
	for (uint32_t sent = 0; sent <= BB_MESSAGE_SLOTS_PER_WORKER; sent++) {
		request_begin(&r, WIRE_OP_SEND_MESSAGE, 20000 + sent);
		wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, queue_name);
		wire_put_str(&r.fields, WIRE_TAG_BODY, "filler");
		send_request(&r);
		if (replies.header.status == WIRE_ERR_OVER_LIMIT)
			return sent;
		cr_assert_eq(replies.header.status, WIRE_OK);
	}
	cr_assert_fail("%s never filled", queue_name);
	return 0;
}

Test(publish, a_full_queue_gets_the_delivery_once_there_is_room)
{
	publish_routing_snapshot(topic_entries);
	uint32_t held = fill("raw");
	cr_assert_gt(held, 0);
	char id[BB_MESSAGE_ID_BYTES + 1];
	publish("news", "late", NULL, NULL, id);
	settle();
	cr_assert_eq(h.worker->stats.fanout_retries, 1, "OverLimit: tried again later");
	cr_assert_eq(h.worker->fanout.retry_count, 1);
	receive("raw");
	uint32_t first = got.count;
	cr_assert_eq(first, held < RECEIVED_MAX ? held : RECEIVED_MAX);
	delete_message("raw", got.handles[0]);
	harness_advance_ms(DP_RETRY_DELAY_MS_FIRST - 1);
	settle();
	cr_assert_eq(h.worker->fanout.retry_count, 1, "not before its backoff");
	harness_advance_ms(1);
	settle();
	cr_assert(fanout_idle(), "the retry went in");
	cr_assert_eq(h.worker->stats.fanout_failed, 0);
	/* In flight: the first receive's but the deleted one; the rest visible, with the late. */
	uint32_t late = 0, seen = first - 1;
	for (uint32_t round = 0; round <= held / RECEIVED_MAX + 1; round++) {
		receive("raw");
		seen += got.count;
		for (uint32_t i = 0; i < got.count; i++)
			late += strcmp(got.bodies[i], "late") == 0;
	}
	cr_assert_eq(late, 1, "the delivery arrived once");
	cr_assert_eq(seen, held, "the queue is full again: %u of %u", seen, held);
	cr_assert_eq(h.worker->stats.fanout_done, 1);
}
