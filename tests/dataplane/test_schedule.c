/*
 * Scheduled rules and bus targets on one worker (packet harness, no log, the harness's
 * clock). Proves that an enabled rate(1 minute) rule of the default bus puts AWS's
 * scheduled event (source aws.events, detail-type "Scheduled Event", the rule's ARN as its
 * resource, detail {}, the due time as its time) to its target at each due time and only
 * then, once per due time, and that a disabled one never fires; that a rule's target naming
 * another bus hands that bus the event as it is (same id, same bytes), which that bus's
 * rules route on; that the event does not hop on from there (a loop A -> B -> A delivers
 * once to each bus and puts the hop past the limit into the target's dead-letter queue);
 * and that a client cannot send the forwarded form itself.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "bb_policy.h"
#include "bb_snapshot.h"
#include "bus.h"
#include "dp_fanout.h"
#include "packet_harness.h"

#define ENTRIES_MAX        32u
#define RECEIVED_MAX       10u
#define RECEIVED_BYTES_MAX 8192u
#define SETTLE_PASSES      16u
#define MINUTE_MS          60000u

static struct bb_snapshot_entry entries[ENTRIES_MAX];
static uint32_t entry_count;
static uint8_t snapshot_body[1 << 16];
static struct dp_snapshot snapshot;
static bool snapshot_made;
static struct replies replies;

static struct {
	uint32_t count;
	char bodies[RECEIVED_MAX][RECEIVED_BYTES_MAX];
	uint32_t body_bytes[RECEIVED_MAX];
} got;

static struct bb_text text(const char *s)
{
	return (struct bb_text){s, s != NULL ? (uint32_t)strlen(s) : 0};
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
	              /* a received message stays hidden for the whole test */
	              .visibility_timeout_s = 43200, .maximum_message_bytes = 262144}};
	snprintf(e.queue.name, sizeof(e.queue.name), "%s", name);
	add(e);
}

static void bus(const char *name, uint64_t id)
{
	add((struct bb_snapshot_entry){.kind = BB_SNAPSHOT_KIND_BUS,
	                               .bus = {.name = text(name), .bus_id = id}});
}

static void rule(uint64_t id, uint64_t bus_id, const char *name, const char *pattern,
                 const char *schedule, uint32_t flags)
{
	add((struct bb_snapshot_entry){
	    .kind = BB_SNAPSHOT_KIND_RULE,
	    .rule = {.rule_id = id, .bus_id = bus_id, .name = text(name), .flags = flags,
	             .pattern = text(pattern), .schedule = text(schedule)}});
}

static void target(uint64_t rule_id, const char *id, uint32_t kind, const char *resource,
                   const char *dead_letter_queue)
{
	add((struct bb_snapshot_entry){
	    .kind = BB_SNAPSHOT_KIND_TARGET,
	    .target = {.rule_id = rule_id, .id = text(id), .kind = kind,
	               .resource = text(resource), .retry_attempts_max = 185,
	               .dead_letter_queue = text(dead_letter_queue)}});
}

/* The default bus with a scheduled rule "tick" (and a disabled "tock") to queue ticks;
 * buses a and b whose rules on source shop each target a queue and the other bus. */
static void routing_entries(void)
{
	queue(TEST_QUEUE, 7);
	queue("ticks", 8);
	queue("a-events", 9);
	queue("b-events", 10);
	queue("dlq", 11);
	bus("default", 200);
	bus("a", 201);
	bus("b", 202);
	rule(300, 200, "tick", NULL, "rate(1 minute)", BB_SNAPSHOT_RULE_ENABLED);
	rule(301, 200, "tock", NULL, "rate(1 minute)", 0);
	rule(310, 201, "a-to-b", "{\"source\":[\"shop\"]}", NULL, BB_SNAPSHOT_RULE_ENABLED);
	rule(320, 202, "b-to-a", "{\"source\":[\"shop\"]}", NULL, BB_SNAPSHOT_RULE_ENABLED);
	target(300, "q", BB_TARGET_QUEUE, "ticks", NULL);
	target(301, "q", BB_TARGET_QUEUE, "ticks", NULL);
	target(310, "q", BB_TARGET_QUEUE, "a-events", NULL);
	target(310, "bus", BB_TARGET_BUS, "b", NULL);
	target(320, "q", BB_TARGET_QUEUE, "b-events", NULL);
	target(320, "bus", BB_TARGET_BUS, "a", "dlq");
}

static void publish_routing_snapshot(void)
{
	entry_count = 0;
	routing_entries();
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

static void teardown(void)
{
	harness_teardown();
	if (snapshot_made)
		dp_snapshot_release(&snapshot);
}

TestSuite(schedule, .init = harness_setup, .fini = teardown, .timeout = 120);

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
		}
	}
}

static json_t *only_message(const char *queue_name)
{
	receive(queue_name);
	cr_assert_eq(got.count, 1, "%s holds one message, not %u", queue_name, got.count);
	json_error_t error;
	json_t *e = json_loadb(got.bodies[0], got.body_bytes[0], 0, &error);
	cr_assert_not_null(e, "%s", error.text);
	return e;
}

static const char *json_text(json_t *object, const char *key)
{
	const char *value = json_string_value(json_object_get(object, key));
	cr_assert_not_null(value, "the JSON has \"%s\" as a string", key);
	return value;
}

/* The scheduled event AWS sends for rule "tick" of the default bus at due_ms. */
static void expect_tick(uint64_t due_ms)
{
	json_t *e = only_message("ticks");
	char time[BUS_TIME_CHARS + 1];
	bus_time_format(due_ms, time);
	cr_assert_str_eq(json_text(e, "version"), "0");
	cr_assert_eq(strlen(json_text(e, "id")), BUS_EVENT_ID_CHARS);
	cr_assert_str_eq(json_text(e, "detail-type"), "Scheduled Event");
	cr_assert_str_eq(json_text(e, "source"), "aws.events");
	cr_assert_str_eq(json_text(e, "account"), BB_POLICY_ACCOUNT_ID_DEFAULT);
	cr_assert_str_eq(json_text(e, "time"), time);
	cr_assert_str_eq(json_text(e, "region"), BB_POLICY_REGION_DEFAULT);
	json_t *resources = json_object_get(e, "resources");
	cr_assert_eq(json_array_size(resources), 1);
	cr_assert_str_eq(json_string_value(json_array_get(resources, 0)),
	                 "arn:aws:events:" BB_POLICY_REGION_DEFAULT ":" BB_POLICY_ACCOUNT_ID_DEFAULT
	                 ":rule/tick");
	json_t *detail = json_object_get(e, "detail");
	cr_assert(json_is_object(detail) && json_object_size(detail) == 0, "detail {}");
	json_decref(e);
}

Test(schedule, a_rate_rule_fires_its_scheduled_event_once_at_each_due_time)
{
	publish_routing_snapshot();
	uint64_t now_ms = dp_now_ms(&h.app, h.now_tsc);
	uint64_t due_ms = (now_ms / MINUTE_MS + 1) * MINUTE_MS; /* rates are anchored at 1970 */
	harness_advance_ms(due_ms - now_ms - 1);
	settle();
	receive("ticks");
	cr_assert_eq(got.count, 0, "nothing before the due time");
	harness_advance_ms(1);
	settle();
	expect_tick(due_ms); /* and not the disabled rule's */
	harness_advance_ms(MINUTE_MS - 1);
	settle();
	receive("ticks");
	cr_assert_eq(got.count, 0, "one firing per due time");
	harness_advance_ms(1);
	settle();
	expect_tick(due_ms + MINUTE_MS);
	cr_assert_eq(h.worker->stats.fanout_done, 2);
	cr_assert_eq(h.worker->stats.fanout_failed, 0);
}

static void put_shop_event(const char *bus_name, char event_id[WIRE_EVENT_ID_BYTES + 1])
{
	static struct request r;
	static uint64_t request_id = 700;
	request_begin(&r, WIRE_OP_PUT_EVENTS, ++request_id);
	wire_put_str(&r.fields, WIRE_TAG_BUS_NAME, bus_name);
	wire_put_bytes(&r.fields, WIRE_TAG_ENTRY_BEGIN, NULL, 0);
	wire_put_str(&r.fields, WIRE_TAG_EVENT_SOURCE, "shop");
	wire_put_str(&r.fields, WIRE_TAG_EVENT_DETAIL_TYPE, "OrderPlaced");
	wire_put_str(&r.fields, WIRE_TAG_EVENT_DETAIL, "{\"id\":5}");
	send_request(&r);
	cr_assert_eq(replies.header.status, WIRE_OK);
	const uint8_t *id;
	cr_assert_eq(reply_field(&replies, WIRE_TAG_EVENT_ID, &id), WIRE_EVENT_ID_BYTES);
	memcpy(event_id, id, WIRE_EVENT_ID_BYTES);
	event_id[WIRE_EVENT_ID_BYTES] = '\0';
}

Test(schedule, a_bus_target_gets_the_event_as_is_and_it_hops_no_further)
{
	publish_routing_snapshot();
	char id[WIRE_EVENT_ID_BYTES + 1];
	put_shop_event("a", id);
	settle();
	receive("a-events");
	cr_assert_eq(got.count, 1, "bus a's own target, once: the loop back is cut");
	char on_a[RECEIVED_BYTES_MAX];
	memcpy(on_a, got.bodies[0], got.body_bytes[0] + 1);
	json_t *e = only_message("b-events");
	cr_assert_str_eq(json_text(e, "id"), id, "the event keeps its id on bus b");
	json_decref(e);
	cr_assert_str_eq(got.bodies[0], on_a, "bus b's target gets the same bytes");
	/* b's rule sends it on to a: one hop past BUS_HOPS_MAX, so into that target's DLQ. */
	receive("dlq");
	cr_assert_eq(got.count, 1);
	cr_assert_str_eq(got.bodies[0], on_a);
	cr_assert_eq(h.worker->stats.fanout_failed, 0, "delivered, to the dead-letter queue");
	cr_assert_eq(h.worker->stats.fanout_done, 2, "the event on a and on b");
}

Test(schedule, a_client_cannot_send_the_forwarded_form)
{
	publish_routing_snapshot();
	static struct request r;
	request_begin(&r, WIRE_OP_PUT_EVENTS, 900);
	wire_put_str(&r.fields, WIRE_TAG_BUS_NAME, "a");
	wire_put_str(&r.fields, WIRE_TAG_BODY,
	             "{\"version\":\"0\",\"id\":\"00000000-0000-4000-8000-000000000000\","
	             "\"source\":\"shop\",\"detail\":{}}");
	send_request(&r);
	cr_assert_eq(replies.header.status, WIRE_ERR_EVENTS_VALIDATION);
	settle();
	receive("a-events");
	cr_assert_eq(got.count, 0);
}
