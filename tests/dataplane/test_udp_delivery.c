/*
 * Deliveries to udp subscriptions and udp rule targets (dataplane/dp_udp_delivery.c) on the
 * packet harness's one worker, on the harness clock. Proves that a publish to a topic with a
 * udp subscription sends the subscriber a Deliver frame carrying its delivery id, attempt,
 * topic and subscription ARNs, MessageId and body, and that the subscriber's Ack completes
 * it (the publish is done, a second Ack is refused); that without an Ack it is sent again
 * after 100, 200, 400 ms ... until its attempts run out, then lands in its dead-letter
 * queue, or, for a rule target without one, is counted failed after its RetryPolicy's
 * attempts; that an Ack naming no delivery, another worker or coming from another address is
 * refused; that an unknown subscriber address is asked for by ARP first; and that a full
 * table refuses publishes until Acks free it.
 */
#include <criterion/criterion.h>
#include <rte_arp.h>
#include <rte_ip.h>
#include <rte_udp.h>
#include <stdio.h>
#include <string.h>

#include "bb_endian.h"
#include "bb_policy.h"
#include "bb_snapshot.h"
#include "dp_fanout.h"
#include "packet_harness.h"

#define ENTRIES_MAX   16u
#define SUBSCRIBER    "10.77.0.1:40000" /* TEST_CLIENT_IP, TEST_CLIENT_PORT */
#define SUB_ARN       "arn:aws:sns:us-east-1:000000000000:alerts:5c0e5a1e"
#define DATAGRAMS_MAX 64u

static struct bb_snapshot_entry entries[ENTRIES_MAX];
static uint32_t entry_count;
static uint8_t snapshot_body[1 << 16];
static struct dp_snapshot snapshot;
static bool snapshot_made;

/* A Deliver frame the worker sent, decoded. */
struct deliver {
	struct wire_header header;
	uint64_t id;
	uint32_t attempt;
	char source_arn[256], subscription[256], message_id[64], body[4096];
};

/* What one look at the worker's transmissions found. */
static struct {
	uint32_t arp_requests;
	uint32_t replies; /* responses to our requests */
	struct wire_header reply;
	uint32_t delivers;
	struct deliver deliver[DATAGRAMS_MAX];
} seen;

/* ---- the snapshot ---- */

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

static void udp_subscription(uint64_t id, uint64_t topic_id, const char *dead_letter_queue)
{
	add((struct bb_snapshot_entry){
	    .kind = BB_SNAPSHOT_KIND_SUBSCRIPTION,
	    .subscription = {.subscription_id = id, .topic_id = topic_id,
	                     .protocol = BB_SUBSCRIPTION_UDP, .flags = BB_SNAPSHOT_SUBSCRIPTION_RAW,
	                     .endpoint = text(SUBSCRIBER), .arn = text(SUB_ARN),
	                     .dead_letter_queue = dead_letter_queue != NULL
	                                              ? text(dead_letter_queue)
	                                              : (struct bb_text){0}}});
}

/* Topic "alerts": one raw udp subscription with a dead-letter queue. Topic "wide": four udp
 * subscriptions (the tiny limits' most per topic). Bus "shop": rule "ship" with a udp target
 * retried twice (three attempts), no dead-letter queue. */
static void entries_make(void)
{
	entry_count = 0;
	queue(TEST_QUEUE, 7);
	queue("dlq", 8);
	add((struct bb_snapshot_entry){.kind = BB_SNAPSHOT_KIND_TOPIC,
	                               .topic = {.name = text("alerts"), .topic_id = 101}});
	add((struct bb_snapshot_entry){.kind = BB_SNAPSHOT_KIND_TOPIC,
	                               .topic = {.name = text("wide"), .topic_id = 102}});
	udp_subscription(1, 101, "dlq");
	for (uint64_t i = 0; i < 4; i++)
		udp_subscription(10 + i, 102, NULL);
	add((struct bb_snapshot_entry){.kind = BB_SNAPSHOT_KIND_BUS,
	                               .bus = {.name = text("shop"), .bus_id = 201}});
	add((struct bb_snapshot_entry){
	    .kind = BB_SNAPSHOT_KIND_RULE,
	    .rule = {.rule_id = 301, .bus_id = 201, .name = text("ship"),
	             .flags = BB_SNAPSHOT_RULE_ENABLED, .pattern = text("{\"source\":[\"shop\"]}")}});
	add((struct bb_snapshot_entry){
	    .kind = BB_SNAPSHOT_KIND_TARGET,
	    .target = {.rule_id = 301, .id = text("listener"), .kind = BB_TARGET_UDP,
	               .resource = text(SUBSCRIBER), .retry_attempts_max = 2,
	               .event_age_s_max = 3600}});
}

static void publish_snapshot(void)
{
	entries_make();
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

/* ---- frames ---- */

/* An ARP frame from the client (a reply to the worker's request: the worker learns it). */
static void client_arp(void)
{
	uint8_t frame[sizeof(struct rte_ether_hdr) + sizeof(struct rte_arp_hdr)] = {0};
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)frame;
	eth->dst_addr = h.app.net_config.mac;
	eth->src_addr = h.client_mac;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eth + 1);
	arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = RTE_ETHER_ADDR_LEN;
	arp->arp_plen = 4;
	arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
	arp->arp_data.arp_sha = h.client_mac;
	arp->arp_data.arp_sip = rte_cpu_to_be_32(TEST_CLIENT_IP);
	arp->arp_data.arp_tha = h.app.net_config.mac;
	arp->arp_data.arp_tip = rte_cpu_to_be_32(TEST_SERVER_IP);
	struct rte_mbuf *m = frame_raw(frame, sizeof(frame));
	harness_input(&m, 1);
}

static void copy_field(char *out, size_t capacity, const struct wire_field *f)
{
	cr_assert_lt(f->length, capacity);
	memcpy(out, f->value, f->length);
	out[f->length] = '\0';
}

static void decode_deliver(const uint8_t *bytes, uint32_t length, struct deliver *out)
{
	memset(out, 0, sizeof(*out));
	cr_assert_eq(wire_header_decode(bytes, length, &out->header), WIRE_OK);
	struct wire_reader reader;
	struct wire_field f;
	wire_reader_init(&reader, bytes + BB_WIRE_HEADER_BYTES, out->header.body_bytes);
	while (wire_reader_next(&reader, &f) == 1) {
		if (f.tag == WIRE_TAG_DELIVERY_ID)
			cr_assert(wire_field_u64(&f, &out->id));
		else if (f.tag == WIRE_TAG_DELIVERY_ATTEMPT)
			cr_assert(wire_field_u32(&f, &out->attempt));
		else if (f.tag == WIRE_TAG_SOURCE_ARN)
			copy_field(out->source_arn, sizeof(out->source_arn), &f);
		else if (f.tag == WIRE_TAG_SUBSCRIPTION)
			copy_field(out->subscription, sizeof(out->subscription), &f);
		else if (f.tag == WIRE_TAG_MESSAGE_ID)
			copy_field(out->message_id, sizeof(out->message_id), &f);
		else if (f.tag == WIRE_TAG_BODY)
			copy_field(out->body, sizeof(out->body), &f);
		else
			cr_assert_fail("a Deliver frame has no field %u", f.tag);
	}
}

/* Sorts what the worker sent since the last look: ARP requests, replies, Deliver frames. */
static void look(void)
{
	memset(&seen, 0, offsetof(__typeof__(seen), deliver));
	harness_flush_tx();
	for (uint32_t i = 0; i < h.sent_count; i++) {
		struct rte_mbuf *m = h.sent[i];
		struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
		if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP)) {
			seen.arp_requests++;
			rte_pktmbuf_free(m);
			continue;
		}
		cr_assert_eq(m->nb_segs, 1, "small datagrams, one frame each");
		uint32_t headers = sizeof(*eth) + sizeof(struct rte_ipv4_hdr) +
		                   sizeof(struct rte_udp_hdr);
		struct rte_udp_hdr *udp = rte_pktmbuf_mtod_offset(
		    m, struct rte_udp_hdr *, sizeof(*eth) + sizeof(struct rte_ipv4_hdr));
		const uint8_t *payload = rte_pktmbuf_mtod_offset(m, const uint8_t *, headers);
		uint32_t bytes = m->data_len - headers;
		struct wire_header header;
		cr_assert_eq(wire_header_decode(payload, bytes, &header), WIRE_OK);
		if (header.opcode == WIRE_OP_DELIVER) {
			cr_assert_eq(rte_be_to_cpu_16(udp->dst_port), TEST_CLIENT_PORT, "to SUBSCRIBER");
			cr_assert_lt(seen.delivers, DATAGRAMS_MAX);
			decode_deliver(payload, bytes, &seen.deliver[seen.delivers++]);
		} else {
			seen.replies++;
			seen.reply = header;
		}
		rte_pktmbuf_free(m);
	}
	h.sent_count = 0;
}

static void send_request(struct request *r)
{
	struct rte_mbuf *m = frame_udp(r->bytes, request_finish(r));
	harness_input(&m, 1);
	look();
	cr_assert_eq(seen.replies, 1, "one answer");
}

static void publish(const char *topic, const char *message)
{
	static struct request r;
	static uint64_t request_id = 1000;
	request_begin(&r, WIRE_OP_PUBLISH, ++request_id);
	wire_put_str(&r.fields, WIRE_TAG_TOPIC_NAME, topic);
	wire_put_str(&r.fields, WIRE_TAG_BODY, message);
	send_request(&r);
}

static void put_event(void)
{
	static struct request r;
	static uint64_t request_id = 2000;
	request_begin(&r, WIRE_OP_PUT_EVENTS, ++request_id);
	wire_put_str(&r.fields, WIRE_TAG_BUS_NAME, "shop");
	wire_put_bytes(&r.fields, WIRE_TAG_ENTRY_BEGIN, NULL, 0);
	wire_put_str(&r.fields, WIRE_TAG_EVENT_SOURCE, "shop");
	wire_put_str(&r.fields, WIRE_TAG_EVENT_DETAIL_TYPE, "order");
	wire_put_str(&r.fields, WIRE_TAG_EVENT_DETAIL, "{\"id\":7}");
	send_request(&r);
	cr_assert_eq(seen.reply.status, WIRE_OK);
}

/* An Ack of id from the harness's client address; its reply's status. */
static uint16_t ack(uint64_t id)
{
	static struct request r;
	static uint64_t request_id = 3000;
	request_begin(&r, WIRE_OP_ACK, ++request_id);
	wire_put_u64(&r.fields, WIRE_TAG_DELIVERY_ID, id);
	send_request(&r);
	return seen.reply.status;
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
}

TestSuite(udp_delivery, .init = setup, .fini = teardown, .timeout = 120);

/* ---- the tests ---- */

Test(udp_delivery, a_publish_is_delivered_in_a_deliver_frame_and_its_ack_completes_it)
{
	client_arp();
	publish("alerts", "hello");
	cr_assert_eq(seen.reply.status, WIRE_OK);
	cr_assert_eq(seen.delivers, 1, "one Deliver frame with the publish's answer");
	const struct deliver *d = &seen.deliver[0];
	cr_assert_eq(d->header.opcode, WIRE_OP_DELIVER);
	cr_assert_eq(d->header.flags, 0, "a Deliver frame is a request to the subscriber");
	cr_assert_eq(d->header.request_id, d->id, "its request id is its delivery id");
	cr_assert_eq(dp_udp_owner_of(d->id), 0, "held by worker 0");
	cr_assert_eq(d->attempt, 1);
	cr_assert_str_eq(d->source_arn, "arn:aws:sns:" BB_POLICY_REGION_DEFAULT ":"
	                                BB_POLICY_ACCOUNT_ID_DEFAULT ":alerts");
	cr_assert_str_eq(d->subscription, SUB_ARN);
	cr_assert_eq(strlen(d->message_id), BB_MESSAGE_ID_BYTES);
	cr_assert_str_eq(d->body, "hello", "raw: the message itself");
	cr_assert_eq(h.worker->stats.fanout_done, 0, "not done before its Ack");
	uint64_t id = d->id;
	cr_assert_eq(ack(id), WIRE_OK);
	cr_assert_eq(h.worker->stats.fanout_done, 1, "the publish is done");
	cr_assert_eq(h.worker->stats.udp_deliveries_acked, 1);
	cr_assert_eq(ack(id), WIRE_ERR_MESSAGE_NOT_INFLIGHT, "a second Ack finds nothing");
	harness_advance_ms(60000);
	look();
	cr_assert_eq(seen.delivers, 0, "an acknowledged delivery is not sent again");
}

Test(udp_delivery, without_an_ack_it_is_sent_again_with_backoff_then_dead_lettered)
{
	client_arp();
	publish("alerts", "nobody listens");
	cr_assert_eq(seen.delivers, 1);
	uint64_t id = seen.deliver[0].id;
	uint64_t delay = DP_RETRY_DELAY_MS_FIRST;
	for (uint32_t attempt = 2; attempt <= DP_UDP_SUBSCRIPTION_ATTEMPTS_MAX; attempt++) {
		harness_advance_ms(delay - 1);
		look();
		cr_assert_eq(seen.delivers, 0, "attempt %u not before its backoff", attempt);
		harness_advance_ms(1);
		look();
		cr_assert_eq(seen.delivers, 1, "attempt %u after %lu ms", attempt,
		             (unsigned long)delay);
		cr_assert_eq(seen.deliver[0].attempt, attempt);
		cr_assert_eq(seen.deliver[0].id, id, "the same delivery id every time");
		delay = delay * 2 < DP_RETRY_DELAY_MS_LAST ? delay * 2 : DP_RETRY_DELAY_MS_LAST;
	}
	harness_advance_ms(delay);
	for (uint32_t i = 0; i < 8; i++)
		harness_advance_ms(0);
	look();
	cr_assert_eq(seen.delivers, 0, "out of attempts: given up");
	cr_assert_eq(h.worker->stats.fanout_dead_lettered, 1);
	cr_assert_eq(h.worker->stats.fanout_failed, 0);
	cr_assert_eq(h.worker->stats.fanout_done, 1, "done once its dead letter is durable");
	cr_assert_eq(ack(id), WIRE_ERR_MESSAGE_NOT_INFLIGHT, "too late to Ack");
	static struct request r;
	request_begin(&r, WIRE_OP_RECEIVE_MESSAGE, 4000);
	wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, "dlq");
	wire_put_u32(&r.fields, WIRE_TAG_WAIT_TIME_S, 0);
	struct rte_mbuf *m = frame_udp(r.bytes, request_finish(&r));
	harness_input(&m, 1);
	struct replies replies;
	take_replies(&replies);
	const uint8_t *body;
	cr_assert_eq(reply_field(&replies, WIRE_TAG_BODY, &body), 14, "the dead-letter queue has it");
	cr_assert_eq(memcmp(body, "nobody listens", 14), 0);
}

Test(udp_delivery, a_rule_target_follows_its_retry_policy_and_without_a_dlq_is_counted_failed)
{
	client_arp();
	put_event();
	cr_assert_eq(seen.delivers, 1);
	const struct deliver *d = &seen.deliver[0];
	cr_assert_str_eq(d->source_arn, "arn:aws:events:" BB_POLICY_REGION_DEFAULT ":"
	                                BB_POLICY_ACCOUNT_ID_DEFAULT ":rule/shop/ship");
	cr_assert_str_eq(d->subscription, "listener", "the target's Id");
	cr_assert_not_null(strstr(d->body, "\"source\":\"shop\""), "the event: %s", d->body);
	char id_field[80];
	snprintf(id_field, sizeof(id_field), "\"id\":\"%s\"", d->message_id);
	cr_assert_not_null(strstr(d->body, id_field), "MESSAGE_ID is the event's id: %s", d->body);
	harness_advance_ms(DP_RETRY_DELAY_MS_FIRST);
	harness_advance_ms(2 * DP_RETRY_DELAY_MS_FIRST);
	look();
	cr_assert_eq(seen.delivers, 2, "MaximumRetryAttempts 2: two more sends");
	harness_advance_ms(4 * DP_RETRY_DELAY_MS_FIRST);
	look();
	cr_assert_eq(seen.delivers, 0);
	cr_assert_eq(h.worker->stats.fanout_failed, 1, "no dead-letter queue: counted");
	cr_assert_eq(h.worker->stats.fanout_done, 1);
	cr_assert_eq(h.worker->stats.fanout_retries, 2);
}

Test(udp_delivery, an_ack_of_no_delivery_or_from_elsewhere_is_refused)
{
	client_arp();
	publish("alerts", "mine");
	uint64_t id = seen.deliver[0].id;
	cr_assert_eq(ack(id ^ 1), WIRE_ERR_MESSAGE_NOT_INFLIGHT, "another serial");
	cr_assert_eq(ack(id ^ (1ull << DP_UDP_ID_SLOT_SHIFT)), WIRE_ERR_MESSAGE_NOT_INFLIGHT,
	             "another slot");
	cr_assert_eq(ack(id | (7ull << DP_UDP_ID_WORKER_SHIFT)), WIRE_ERR_MESSAGE_NOT_INFLIGHT,
	             "a worker busbard does not have");
	h.client_port = TEST_CLIENT_PORT + 1;
	cr_assert_eq(ack(id), WIRE_ERR_ACCESS_DENIED, "from another port than it went to");
	h.client_port = TEST_CLIENT_PORT;
	cr_assert_eq(h.worker->stats.udp_acks_refused, 4);
	cr_assert_eq(h.worker->stats.fanout_done, 0, "none of them completed it");
	cr_assert_eq(ack(id), WIRE_OK, "its subscriber's Ack does");
}

Test(udp_delivery, an_unknown_subscriber_is_asked_for_by_arp_before_its_deliver_frame)
{
	publish("alerts", "who are you");
	cr_assert_eq(seen.delivers, 0, "no MAC yet");
	cr_assert_eq(seen.arp_requests, 1, "an ARP request for it instead");
	cr_assert_eq(h.worker->stats.udp_deliveries_unresolved, 1);
	client_arp();
	harness_advance_ms(DP_RETRY_DELAY_MS_FIRST);
	look();
	cr_assert_eq(seen.delivers, 1, "sent once the address is known");
	cr_assert_eq(seen.deliver[0].attempt, 2, "the ARP request took the first attempt");
	cr_assert_str_eq(seen.deliver[0].body, "who are you");
}

Test(udp_delivery, a_full_table_refuses_publishes_until_acks_free_it)
{
	client_arp();
	uint32_t publishes = DP_UDP_DELIVERIES_MAX / 4; /* "wide" has four subscriptions */
	uint64_t first_ids[4];
	for (uint32_t i = 0; i < publishes; i++) {
		publish("wide", "fill");
		cr_assert_eq(seen.reply.status, WIRE_OK, "publish %u", i);
		cr_assert_eq(seen.delivers, 4);
		if (i == 0)
			for (uint32_t j = 0; j < 4; j++)
				first_ids[j] = seen.deliver[j].id;
	}
	cr_assert_eq(h.worker->fanout.udp.free_count, 0, "the table is full");
	publish("wide", "one more");
	cr_assert_eq(seen.reply.status, WIRE_ERR_SERVICE_UNAVAILABLE, "refused for now");
	cr_assert_eq(seen.delivers, 0);
	cr_assert_eq(h.worker->stats.fanout_refused, 1);
	for (uint32_t j = 0; j < 4; j++)
		cr_assert_eq(ack(first_ids[j]), WIRE_OK);
	publish("wide", "one more");
	cr_assert_eq(seen.reply.status, WIRE_OK, "room again");
	cr_assert_eq(seen.delivers, 4);
}
