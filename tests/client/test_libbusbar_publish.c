/*
 * libbusbar's Publish, PublishBatch, PutEvents, message attributes and a FIFO
 * SendMessageBatch, round trip: a fake busbard on loopback parses each request with the
 * dataplane's own dp_request_parse (so what the library encodes is what busbard reads, field
 * by field), answers with replies framed by
 * dp_reply_*, and the test checks what the library made of the answer (message ids, sequence
 * numbers, per-entry statuses found by id or by position, EventBridge's codes and messages,
 * FailedEntryCount). SQS's message attributes too: a send's trace header and delay, a batch
 * entry's trace header, the MD5OfMessageAttributes they get back; a receive's
 * MessageAttributeNames and its reply's attributes, MD5 and trace header read message by
 * message; a reply that breaks that shape (an attribute field outside ATTRIBUTE_BEGIN, more
 * than 10 attributes, an attribute missing or repeating a field) refused with -EPROTO and
 * no message, as is one of more than 10 messages.
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bb_limits.h"
#include "busbar.h"
#include "dp_request.h"

struct fake {
	int fd;
	uint16_t port;
	uint8_t request[BB_UDP_PAYLOAD_BYTES_MAX];
	struct dp_request req;
	enum wire_status parsed;
	void (*answer)(struct fake *f, struct wire_writer *w, enum wire_status *status);
};

static struct fake fake;

static void *serve_one(void *arg)
{
	struct fake *f = arg;
	struct sockaddr_in from;
	socklen_t from_bytes = sizeof(from);
	ssize_t n = recvfrom(f->fd, f->request, sizeof(f->request), 0, (struct sockaddr *)&from,
	                     &from_bytes);
	if (n <= 0)
		return NULL;
	f->parsed = dp_request_parse(f->request, (size_t)n, &f->req);
	static uint8_t reply[BB_UDP_PAYLOAD_BYTES_MAX];
	struct wire_writer w;
	dp_reply_begin(&w, reply, sizeof(reply));
	enum wire_status status = f->parsed;
	if (status == WIRE_OK)
		f->answer(f, &w, &status);
	size_t length = dp_reply_finish(&w, &f->req.header, status);
	sendto(f->fd, reply, length, 0, (struct sockaddr *)&from, from_bytes);
	return NULL;
}

/* Opens a client to a fake that answers its one request with `answer`. */
static struct bb_client *start(void (*answer)(struct fake *, struct wire_writer *,
                                              enum wire_status *),
                               pthread_t *thread)
{
	memset(&fake, 0, sizeof(fake));
	fake.answer = answer;
	fake.fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	cr_assert_eq(bind(fake.fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	socklen_t addr_bytes = sizeof(addr);
	cr_assert_eq(getsockname(fake.fd, (struct sockaddr *)&addr, &addr_bytes), 0);
	fake.port = ntohs(addr.sin_port);
	cr_assert_eq(pthread_create(thread, NULL, serve_one, &fake), 0);
	/* Attempts are bounded: a fake that never answers ends the call with -ETIMEDOUT. */
	struct bb_client_options o = {.server_ip = "127.0.0.1", .server_port = fake.port,
	                              .timeout_ms = 2000, .attempts = 1};
	int rc;
	struct bb_client *c = bb_client_open(&o, &rc);
	cr_assert_not_null(c, "open: %d", rc);
	return c;
}

static void finish(struct bb_client *c, pthread_t thread)
{
	pthread_join(thread, NULL);
	bb_client_close(c);
	close(fake.fd);
}

static bool is(const struct dp_bytes *b, const char *text)
{
	return b->present && b->length == strlen(text) && memcmp(b->data, text, b->length) == 0;
}

static void answer_published(struct fake *f, struct wire_writer *w, enum wire_status *status)
{
	wire_put_str(w, WIRE_TAG_MESSAGE_ID, "11111111-2222-3333-4444-555555555555");
	wire_put_str(w, WIRE_TAG_SEQUENCE_NUMBER, "10000000000000000001");
}

Test(libbusbar_publish, a_publish_arrives_field_by_field_and_its_ids_come_back)
{
	pthread_t thread;
	struct bb_client *c = start(answer_published, &thread);
	static const uint8_t blob[] = {0, 1, 2};
	struct bb_attribute attributes[] = {
	    {.name = "color", .data_type = "String", .string_value = "red"},
	    {.name = "blob", .data_type = "Binary", .binary_value = blob, .binary_bytes = 3},
	};
	struct bb_publish_options o = {.subject = "Hi", .message_structure = "json",
	                               .message_group_id = "g", .message_deduplication_id = "d",
	                               .attributes = attributes, .attribute_count = 2};
	struct bb_published out;
	const char *message = "{\"default\":\"x\"}";
	int rc = bb_publish(c, "orders.fifo", message, strlen(message), &o, &out);
	finish(c, thread);
	cr_assert_eq(rc, 0, "%d", rc);
	cr_assert_eq(fake.parsed, WIRE_OK, "%s", fake.req.error);
	const struct dp_request *r = &fake.req;
	cr_assert_eq(r->header.opcode, WIRE_OP_PUBLISH);
	cr_assert(is(&r->topic_name, "orders.fifo") && is(&r->body, message));
	cr_assert(is(&r->subject, "Hi") && is(&r->message_structure, "json"));
	cr_assert(is(&r->group_id, "g") && is(&r->dedup_id, "d"));
	cr_assert_eq(r->attributes.count, 2);
	cr_assert(is(&r->attributes.items[0].string_value, "red"));
	cr_assert_eq(r->attributes.items[1].binary_value.length, 3);
	cr_assert_eq(memcmp(r->attributes.items[1].binary_value.data, blob, 3), 0);
	cr_assert_str_eq(out.message_id, "11111111-2222-3333-4444-555555555555");
	cr_assert_str_eq(out.sequence_number, "10000000000000000001");
}

static void answer_sent(struct fake *f, struct wire_writer *w, enum wire_status *status)
{
	wire_put_str(w, WIRE_TAG_MESSAGE_ID, "m");
	wire_put_str(w, WIRE_TAG_MD5_OF_BODY, "0123456789abcdef0123456789abcdef");
}

Test(libbusbar_publish, send_message_carries_attributes)
{
	pthread_t thread;
	struct bb_client *c = start(answer_sent, &thread);
	struct bb_attribute a = {.name = "n", .data_type = "Number.int", .string_value = "42"};
	struct bb_send_options o = {.attributes = &a, .attribute_count = 1};
	struct bb_sent sent;
	int rc = bb_send_message_with(c, "q", "b", 1, &o, &sent);
	finish(c, thread);
	cr_assert_eq(rc, 0);
	cr_assert_eq(fake.parsed, WIRE_OK, "%s", fake.req.error);
	cr_assert_eq(fake.req.attributes.count, 1);
	cr_assert(is(&fake.req.attributes.items[0].data_type, "Number.int"));
	cr_assert(is(&fake.req.attributes.items[0].string_value, "42"));
	cr_assert_not(fake.req.delay_s.present, "options without a delay leave the queue's");
	cr_assert_not(fake.req.trace_header.present);
}

#define ATTRIBUTES_MD5 "fedcba9876543210fedcba9876543210"
#define TRACE "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"

static void answer_sent_with_attributes(struct fake *f, struct wire_writer *w,
                                        enum wire_status *status)
{
	answer_sent(f, w, status);
	wire_put_str(w, WIRE_TAG_MD5_OF_MESSAGE_ATTRIBUTES, ATTRIBUTES_MD5);
}

Test(libbusbar_publish, a_send_carries_its_trace_header_and_delay_and_gets_its_attributes_md5)
{
	pthread_t thread;
	struct bb_client *c = start(answer_sent_with_attributes, &thread);
	struct bb_attribute a = {.name = "n", .data_type = "String", .string_value = "v"};
	struct bb_send_options o = {.attributes = &a, .attribute_count = 1,
	                            .aws_trace_header = TRACE, .delay_set = true, .delay_s = 0};
	struct bb_sent sent;
	int rc = bb_send_message_with(c, "q", "b", 1, &o, &sent);
	finish(c, thread);
	cr_assert_eq(rc, 0);
	cr_assert_eq(fake.parsed, WIRE_OK, "%s", fake.req.error);
	cr_assert(is(&fake.req.trace_header, TRACE));
	cr_assert(fake.req.delay_s.present && fake.req.delay_s.value == 0, "0 is a delay too");
	cr_assert_eq(fake.req.attributes.count, 1);
	cr_assert_str_eq(sent.md5_of_message_attributes, ATTRIBUTES_MD5);
}

static void answer_batch_sent(struct fake *f, struct wire_writer *w, enum wire_status *status)
{
	for (uint32_t i = 0; i < f->req.entry_count; i++) {
		wire_put_bytes(w, WIRE_TAG_ENTRY_BEGIN, NULL, 0);
		wire_put_bytes(w, WIRE_TAG_ENTRY_ID, f->req.entries[i].id.data,
		               f->req.entries[i].id.length);
		wire_put_str(w, WIRE_TAG_MESSAGE_ID, "m");
		if (f->req.entries[i].attributes.count > 0)
			wire_put_str(w, WIRE_TAG_MD5_OF_MESSAGE_ATTRIBUTES, ATTRIBUTES_MD5);
	}
}

Test(libbusbar_publish, a_batch_entry_carries_its_trace_header_and_gets_its_attributes_md5)
{
	pthread_t thread;
	struct bb_client *c = start(answer_batch_sent, &thread);
	struct bb_attribute a = {.name = "n", .data_type = "Number", .string_value = "1"};
	struct bb_batch_entry entries[] = {
	    {.id = "traced", .body = "b1", .body_bytes = 2, .aws_trace_header = TRACE},
	    {.id = "attributed", .body = "b2", .body_bytes = 2, .attributes = &a,
	     .attribute_count = 1},
	};
	int rc = bb_send_message_batch(c, "q", entries, 2);
	finish(c, thread);
	cr_assert_eq(rc, 0);
	cr_assert_eq(fake.parsed, WIRE_OK, "%s", fake.req.error);
	cr_assert(is(&fake.req.entries[0].trace_header, TRACE));
	cr_assert_not(fake.req.entries[1].trace_header.present);
	cr_assert_str_eq(entries[0].md5_of_message_attributes, "", "no attributes, no MD5");
	cr_assert_str_eq(entries[1].md5_of_message_attributes, ATTRIBUTES_MD5);
}

/* A received message's fields as busbard writes them (docs/protocol.md, ReceiveMessage). */
static void put_message_head(struct wire_writer *w, const char *id)
{
	wire_put_bytes(w, WIRE_TAG_MESSAGE_BEGIN, NULL, 0);
	wire_put_str(w, WIRE_TAG_MESSAGE_ID, id);
	wire_put_str(w, WIRE_TAG_RECEIPT_HANDLE, "h");
	wire_put_str(w, WIRE_TAG_MD5_OF_BODY, "0123456789abcdef0123456789abcdef");
	wire_put_u32(w, WIRE_TAG_RECEIVE_COUNT, 1);
}

static void put_attribute(struct wire_writer *w, const char *name, const char *type,
                          uint16_t value_tag, const void *value, size_t value_bytes)
{
	wire_put_bytes(w, WIRE_TAG_ATTRIBUTE_BEGIN, NULL, 0);
	wire_put_str(w, WIRE_TAG_ATTRIBUTE_NAME, name);
	wire_put_str(w, WIRE_TAG_ATTRIBUTE_DATA_TYPE, type);
	wire_put_bytes(w, value_tag, value, value_bytes);
}

static const uint8_t blob[] = {0xff, 0x00, 0x7f};

/* Two messages: one with its attributes' MD5, a trace header and two attributes; one bare. */
static void answer_received(struct fake *f, struct wire_writer *w, enum wire_status *status)
{
	put_message_head(w, "first");
	wire_put_str(w, WIRE_TAG_MD5_OF_MESSAGE_ATTRIBUTES, ATTRIBUTES_MD5);
	wire_put_str(w, WIRE_TAG_AWS_TRACE_HEADER, TRACE);
	put_attribute(w, "app.blob", "Binary.raw", WIRE_TAG_ATTRIBUTE_BINARY_VALUE, blob, 3);
	put_attribute(w, "colour", "String", WIRE_TAG_ATTRIBUTE_STRING_VALUE, "red", 3);
	wire_put_str(w, WIRE_TAG_BODY, "one");
	put_message_head(w, "second");
	wire_put_str(w, WIRE_TAG_MESSAGE_DEDUPLICATION_ID, "d-2"); /* a FIFO message's */
	wire_put_str(w, WIRE_TAG_BODY, "two");
}

static bool is_text(const void *bytes, uint32_t length, const char *text)
{
	return bytes != NULL && length == strlen(text) && memcmp(bytes, text, length) == 0;
}

Test(libbusbar_publish, a_receive_asks_for_attribute_names_and_reads_each_message_s_attributes)
{
	pthread_t thread;
	struct bb_client *c = start(answer_received, &thread);
	const char *names[] = {"All", "app.*", "colour"};
	struct bb_receive_options o = {.max_messages = 10, .visibility_timeout_s = -1,
	                               .wait_time_s = 0, .message_attribute_names = names,
	                               .message_attribute_name_count = 3};
	struct bb_message messages[BB_RECEIVE_COUNT_MAX];
	uint32_t count = 0;
	int rc = bb_receive_message(c, "q", &o, messages, &count);
	pthread_join(thread, NULL); /* the messages point into the client's reply: closed last */
	cr_assert_eq(rc, 0, "%d %s", rc, bb_client_error(c));
	cr_assert_eq(fake.parsed, WIRE_OK, "%s", fake.req.error);
	cr_assert_eq(fake.req.attribute_names.count, 3);
	cr_assert(is(&fake.req.attribute_names.items[1], "app.*"));
	cr_assert_eq(count, 2);
	const struct bb_message *m = &messages[0];
	cr_assert_str_eq(m->md5_of_message_attributes, ATTRIBUTES_MD5);
	cr_assert(is_text(m->aws_trace_header, m->aws_trace_header_bytes, TRACE));
	cr_assert_eq(m->attribute_count, 2);
	const struct bb_received_attribute *a = &m->attributes[0];
	cr_assert(is_text(a->name, a->name_bytes, "app.blob"));
	cr_assert(is_text(a->data_type, a->data_type_bytes, "Binary.raw"));
	cr_assert(a->binary && a->value_bytes == 3 && memcmp(a->value, blob, 3) == 0);
	a = &m->attributes[1];
	cr_assert(!a->binary && is_text(a->value, a->value_bytes, "red"));
	cr_assert(is_text(m->body, (uint32_t)m->body_bytes, "one"));
	cr_assert_str_eq(m->message_deduplication_id, "");
	m = &messages[1];
	cr_assert_str_eq(m->message_deduplication_id, "d-2");
	cr_assert_str_eq(m->md5_of_message_attributes, "");
	cr_assert_eq(m->attribute_count, 0);
	cr_assert_null(m->aws_trace_header);
	cr_assert(is_text(m->body, (uint32_t)m->body_bytes, "two"));
	bb_client_close(c);
	close(fake.fd);
}

/* Replies that break a received message's shape, one per receive (the fake answers one). */
static uint32_t broken_kind;

static void answer_broken(struct fake *f, struct wire_writer *w, enum wire_status *status)
{
	put_message_head(w, "m");
	switch (broken_kind) {
	case 0: /* a name before any ATTRIBUTE_BEGIN */
		wire_put_str(w, WIRE_TAG_ATTRIBUTE_NAME, "loose");
		break;
	case 1: /* eleven attributes */
		for (uint32_t i = 0; i <= WIRE_ATTRIBUTES_MAX; i++)
			put_attribute(w, "a", "String", WIRE_TAG_ATTRIBUTE_STRING_VALUE, "v", 1);
		break;
	case 2: /* an attribute without its value, then another */
		wire_put_bytes(w, WIRE_TAG_ATTRIBUTE_BEGIN, NULL, 0);
		wire_put_str(w, WIRE_TAG_ATTRIBUTE_NAME, "a");
		wire_put_str(w, WIRE_TAG_ATTRIBUTE_DATA_TYPE, "String");
		put_attribute(w, "b", "String", WIRE_TAG_ATTRIBUTE_STRING_VALUE, "v", 1);
		break;
	case 3: /* the last attribute without its data type, at the reply's end */
		wire_put_bytes(w, WIRE_TAG_ATTRIBUTE_BEGIN, NULL, 0);
		wire_put_str(w, WIRE_TAG_ATTRIBUTE_NAME, "a");
		wire_put_str(w, WIRE_TAG_ATTRIBUTE_STRING_VALUE, "v");
		return;
	case 4: /* a second value */
		put_attribute(w, "a", "String", WIRE_TAG_ATTRIBUTE_STRING_VALUE, "v", 1);
		wire_put_bytes(w, WIRE_TAG_ATTRIBUTE_BINARY_VALUE, blob, 3);
		break;
	default: /* eleven messages */
		for (uint32_t i = 0; i < BB_RECEIVE_COUNT_MAX; i++)
			put_message_head(w, "more");
		break;
	}
	wire_put_str(w, WIRE_TAG_BODY, "b");
}

Test(libbusbar_publish, a_receive_reply_breaking_the_attributes_shape_is_refused)
{
	static const char *why[] = {"outside ATTRIBUTE_BEGIN", "more than 10 attributes",
	                            "without its name, data type or value",
	                            "without its name, data type or value", "given twice",
	                            "more than 10 messages"};
	for (broken_kind = 0; broken_kind < 6; broken_kind++) {
		pthread_t thread;
		struct bb_client *c = start(answer_broken, &thread);
		struct bb_receive_options o = {.visibility_timeout_s = -1, .wait_time_s = 0};
		struct bb_message messages[BB_RECEIVE_COUNT_MAX];
		uint32_t count = 99;
		int rc = bb_receive_message(c, "q", &o, messages, &count);
		pthread_join(thread, NULL);
		close(fake.fd);
		cr_assert_eq(rc, -EPROTO, "kind %u: %d", broken_kind, rc);
		cr_assert_eq(count, 0, "kind %u: no message is taken from a broken reply", broken_kind);
		cr_assert_not_null(strstr(bb_client_error(c), why[broken_kind]), "kind %u: %s",
		                   broken_kind, bb_client_error(c));
		bb_client_close(c);
	}
}

/* Answers the entries in reverse order: the library finds each by its id. */
static void answer_batch(struct fake *f, struct wire_writer *w, enum wire_status *status)
{
	for (uint32_t i = f->req.entry_count; i-- > 0;) {
		const struct dp_batch_entry *e = &f->req.entries[i];
		wire_put_bytes(w, WIRE_TAG_ENTRY_BEGIN, NULL, 0);
		wire_put_bytes(w, WIRE_TAG_ENTRY_ID, e->id.data, e->id.length);
		if (e->status != WIRE_OK) {
			wire_put_u32(w, WIRE_TAG_ENTRY_STATUS, e->status);
			continue;
		}
		wire_put_bytes(w, WIRE_TAG_MESSAGE_ID, e->id.data, e->id.length);
	}
}

Test(libbusbar_publish, a_publish_batch_gets_each_entry_answered_by_id)
{
	pthread_t thread;
	struct bb_client *c = start(answer_batch, &thread);
	struct bb_attribute bad = {.name = "AWS.x", .data_type = "String", .string_value = "v"};
	struct bb_publish_entry entries[] = {
	    {.id = "first", .message = "m1", .message_bytes = 2, .options = {.subject = "s"}},
	    {.id = "second", .message = "m2", .message_bytes = 2,
	     .options = {.attributes = &bad, .attribute_count = 1}},
	};
	int rc = bb_publish_batch(c, "t", entries, 2);
	finish(c, thread);
	cr_assert_eq(rc, 0);
	cr_assert_eq(fake.parsed, WIRE_OK, "%s", fake.req.error);
	cr_assert_eq(fake.req.entry_count, 2);
	cr_assert(is(&fake.req.entries[0].subject, "s"));
	cr_assert_eq(entries[0].status, WIRE_OK);
	cr_assert_str_eq(entries[0].message_id, "first");
	cr_assert_eq(entries[1].status, WIRE_ERR_SNS_PARAMETER_VALUE_INVALID);
	cr_assert_str_eq(entries[1].message_id, "");
}

/* Answers a SendMessageBatch: each entry with an id, and a sequence number when it has a
 * group (as busbard does for a FIFO queue's). */
static void answer_send_batch(struct fake *f, struct wire_writer *w, enum wire_status *status)
{
	for (uint32_t i = 0; i < f->req.entry_count; i++) {
		const struct dp_batch_entry *e = &f->req.entries[i];
		wire_put_bytes(w, WIRE_TAG_ENTRY_BEGIN, NULL, 0);
		wire_put_bytes(w, WIRE_TAG_ENTRY_ID, e->id.data, e->id.length);
		wire_put_str(w, WIRE_TAG_MESSAGE_ID, "11111111-2222-3333-4444-555555555555");
		wire_put_str(w, WIRE_TAG_MD5_OF_BODY, "0123456789abcdef0123456789abcdef");
		if (e->group_id.present)
			wire_put_bytes(w, WIRE_TAG_SEQUENCE_NUMBER, e->dedup_id.data, e->dedup_id.length);
	}
}

/* A FIFO SendMessageBatch: each entry's MessageGroupId and MessageDeduplicationId reach
 * busbard's parser, and each entry's SequenceNumber comes back to it (the fake answers an
 * entry's dedup id as its number). */
Test(libbusbar_publish, a_fifo_send_batch_carries_its_ids_and_gets_sequence_numbers)
{
	pthread_t thread;
	struct bb_client *c = start(answer_send_batch, &thread);
	struct bb_batch_entry entries[] = {
	    {.id = "a", .body = "m1", .body_bytes = 2, .message_group_id = "g",
	     .message_deduplication_id = "10000000000000000001"},
	    {.id = "b", .body = "m2", .body_bytes = 2},
	};
	int rc = bb_send_message_batch(c, "orders.fifo", entries, 2);
	finish(c, thread);
	cr_assert_eq(rc, 0);
	cr_assert_eq(fake.parsed, WIRE_OK, "%s", fake.req.error);
	cr_assert(is(&fake.req.entries[0].group_id, "g"));
	cr_assert(is(&fake.req.entries[0].dedup_id, "10000000000000000001"));
	cr_assert_not(fake.req.entries[1].group_id.present);
	cr_assert_eq(entries[0].status, WIRE_OK);
	cr_assert_str_eq(entries[0].sequence_number, "10000000000000000001");
	cr_assert_str_eq(entries[1].sequence_number, "", "a standard send has none");
}

/* Answers each event in order: the first with an id, a failed one with its code. */
static void answer_events(struct fake *f, struct wire_writer *w, enum wire_status *status)
{
	uint32_t failed = 0;
	for (uint32_t i = 0; i < f->req.entry_count; i++) {
		const struct dp_event *e = &f->req.events[i];
		wire_put_bytes(w, WIRE_TAG_ENTRY_BEGIN, NULL, 0);
		if (e->status == WIRE_OK) {
			wire_put_str(w, WIRE_TAG_EVENT_ID, "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee");
			continue;
		}
		failed++;
		wire_put_u32(w, WIRE_TAG_ENTRY_STATUS, e->status);
		wire_put_str(w, WIRE_TAG_ERROR_CODE, wire_status_name(e->status));
		wire_put_str(w, WIRE_TAG_ERROR_MESSAGE, e->error);
	}
	wire_put_u32(w, WIRE_TAG_FAILED_ENTRY_COUNT, failed);
}

Test(libbusbar_publish, put_events_are_answered_in_order_with_codes)
{
	pthread_t thread;
	struct bb_client *c = start(answer_events, &thread);
	const char *resources[] = {"arn:a", "arn:b"};
	struct bb_event events[] = {
	    {.source = "shop", .detail_type = "Order", .detail = "{\"n\":1}",
	     .resources = resources, .resource_count = 2, .time_ms = 1700000000000ull},
	    {.detail_type = "Order", .detail = "{}"},
	};
	uint32_t failed = 99;
	int rc = bb_put_events(c, "orders", events, 2, &failed);
	finish(c, thread);
	cr_assert_eq(rc, 0);
	cr_assert_eq(fake.parsed, WIRE_OK, "%s", fake.req.error);
	const struct dp_event *e = &fake.req.events[0];
	cr_assert(is(&fake.req.bus_name, "orders"));
	cr_assert(is(&e->source, "shop") && is(&e->detail_type, "Order"));
	cr_assert(is(&e->detail, "{\"n\":1}"));
	cr_assert_eq(e->resource_count, 2);
	cr_assert(is(&e->resources[1], "arn:b"));
	cr_assert_eq(e->time_ms.value, 1700000000000ull);
	cr_assert_not(fake.req.events[1].source.present);
	cr_assert_eq(failed, 1);
	cr_assert_eq(events[0].status, WIRE_OK);
	cr_assert_str_eq(events[0].event_id, "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee");
	cr_assert_eq(events[1].status, WIRE_ERR_EVENTS_INVALID_ARGUMENT);
	cr_assert_str_eq(events[1].error_code, "InvalidArgument");
	cr_assert_str_eq(events[1].error_message,
	                 "Parameter Source is not valid. Reason: Source is a required argument.");
	cr_assert_str_eq(events[1].event_id, "");
}

Test(libbusbar_publish, a_put_events_without_a_bus_names_none)
{
	pthread_t thread;
	struct bb_client *c = start(answer_events, &thread);
	struct bb_event event = {.source = "s", .detail_type = "t", .detail = "{}"};
	uint32_t failed;
	int rc = bb_put_events(c, NULL, &event, 1, &failed);
	finish(c, thread);
	cr_assert_eq(rc, 0);
	cr_assert_not(fake.req.bus_name.present, "the default bus");
	cr_assert_not(fake.req.events[0].time_ms.present, "busbard's time");
	cr_assert_eq(failed, 0);
}

static void answer_nothing(struct fake *f, struct wire_writer *w, enum wire_status *status)
{
	*status = WIRE_ERR_SNS_NOT_FOUND;
	wire_put_str(w, WIRE_TAG_ERROR_MESSAGE, "Topic does not exist");
}

Test(libbusbar_publish, an_error_answer_is_the_call_s_result)
{
	pthread_t thread;
	struct bb_client *c = start(answer_nothing, &thread);
	struct bb_published out;
	int rc = bb_publish(c, "missing", "m", 1, NULL, &out);
	cr_assert_str_eq(bb_client_error(c), "Topic does not exist");
	finish(c, thread);
	cr_assert_eq(rc, WIRE_ERR_SNS_NOT_FOUND);
}
