/*
 * SQS message attributes in the engine (issue 11): a send keeps its MessageAttributes and
 * AWSTraceHeader in one block in front of its body (sqs_attrs.h) and answers AWS's
 * MD5OfMessageAttributes, checked against AWS's published example vectors (one attribute,
 * String and Number together, Binary, names given out of order); a receive gets the block
 * and the MD5 of all the attributes back; the attributes count toward MaximumMessageSize;
 * MessageAttributeNames selects as SQS does ("All", ".*", "prefix.*", exact names, none)
 * and always keeps the trace header; a FIFO duplicate answers the MD5 of its own
 * attributes. Durability: the SEND record carries the block (flag
 * SQS_RECORD_FLAG_ATTRIBUTES), a record without it decodes as before, a damaged block is
 * refused, and replaying the log (standard and FIFO) or compacting it brings the attributes
 * and their MD5 back unchanged. The engine's joining buffer, as large as a queue's share of
 * the store, holds a message that fills that share.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqs.h"
#include "sqs_attrs.h"
#include "sqs_record.h"
#include "sqs_replay.h"

#define STORE_SLOTS   16u
#define STORED_MAX    512u
#define RECORDS_MAX   64u
#define RECORD_BYTES  1024u
#define BODY_MAX      256u
#define T0            1000000u

/* ---- a store and a log in plain memory ---- */

static struct {
	bool live[STORE_SLOTS];
	uint32_t bytes[STORE_SLOTS];
	uint8_t data[STORE_SLOTS][STORED_MAX];
} store;

static int store_put(void *ctx, const uint8_t *bytes, uint32_t length, uint64_t *ref_out)
{
	cr_assert_leq(length, STORED_MAX);
	for (uint32_t i = 0; i < STORE_SLOTS; i++) {
		if (store.live[i])
			continue;
		store.live[i] = true;
		store.bytes[i] = length;
		memcpy(store.data[i], bytes, length);
		*ref_out = i;
		return 0;
	}
	return -ENOMEM;
}

static void store_read(void *ctx, uint64_t ref, uint8_t *out, uint32_t length)
{
	cr_assert(ref < STORE_SLOTS && store.live[ref] && length <= store.bytes[ref]);
	memcpy(out, store.data[ref], length);
}

static void store_release(void *ctx, uint64_t ref)
{
	cr_assert(ref < STORE_SLOTS && store.live[ref]);
	store.live[ref] = false;
}

static struct {
	uint32_t count;
	uint32_t bytes[RECORDS_MAX];
	uint8_t data[RECORDS_MAX][RECORD_BYTES];
} records;

static int log_append(void *ctx, const struct sqs_record *record, uint64_t *sequence_out,
                      uint64_t *position_out)
{
	cr_assert_lt(records.count, RECORDS_MAX);
	uint32_t i = records.count++;
	records.bytes[i] = (uint32_t)sqs_record_encode(record, records.data[i], RECORD_BYTES);
	cr_assert_gt(records.bytes[i], 0);
	*sequence_out = i + 1;
	*position_out = i;
	return 0;
}

static void log_release(void *ctx, uint64_t position)
{
}

enum { Q = 0, FQ = 1, QUEUE_ID = 11, FIFO_QUEUE_ID = 12 };

static struct sqs_engine *engine;
/* A queue's share of the store: queue_store_units units of STORE_UNIT_BYTES. */
#define STORE_UNIT_BYTES (STORED_MAX / 4)
static uint32_t queue_store_units;

static struct sqs_engine *engine_start(void)
{
	struct sqs_engine_options options = {
	    .queue_slots = 2,
	    .message_slots = STORE_SLOTS,
	    .waiter_slots = 1,
	    .queue_messages_max = STORE_SLOTS,
	    .queue_store_units_max = queue_store_units,
	    .store_unit_bytes = STORE_UNIT_BYTES,
	    .large_body_bytes_min = STORED_MAX + 1,
	    .store = {&store, store_put, store_read, store_release},
	    .log = {NULL, log_append, log_release},
	    .fifo_group_slots = 4,
	    .fifo_dedup_slots = 4,
	};
	int error = 0;
	struct sqs_engine *e = sqs_engine_create(&options, &error);
	cr_assert_not_null(e, "engine: %d", error);
	struct sqs_queue_config standard = {.queue_id = QUEUE_ID, .visibility_timeout_s = 30,
	                                    .maximum_message_bytes = BODY_MAX, .durable = true};
	struct sqs_queue_config fifo = {.queue_id = FIFO_QUEUE_ID, .visibility_timeout_s = 30,
	                                .maximum_message_bytes = BODY_MAX, .durable = true,
	                                .fifo = true};
	struct sqs_wake wakes[1];
	cr_assert_eq(sqs_queue_open(e, Q, &standard, wakes), 0);
	cr_assert_eq(sqs_queue_open(e, FQ, &fifo, wakes), 0);
	return e;
}

static void setup(void)
{
	memset(&store, 0, sizeof(store));
	memset(&records, 0, sizeof(records));
	queue_store_units = STORE_SLOTS * 4;
	engine = engine_start();
}

static void teardown(void)
{
	sqs_engine_destroy(engine);
}

TestSuite(sqs_message_attributes, .init = setup, .fini = teardown);

/* ---- helpers ---- */

static struct sqs_attr text(const char *name, const char *type, const char *value)
{
	return (struct sqs_attr){(const uint8_t *)name, (uint32_t)strlen(name),
	                         (const uint8_t *)type, (uint32_t)strlen(type),
	                         (const uint8_t *)value, (uint32_t)strlen(value), false};
}

static struct sqs_attr binary(const char *name, const char *value)
{
	struct sqs_attr a = text(name, "Binary", value);
	a.binary = true;
	return a;
}

static uint8_t block[STORED_MAX];

/* Sends body with the block of attrs (and trace, or NULL) to slot; returns the status. */
static enum wire_status send_with(uint32_t slot, const char *body, const struct sqs_attr *attrs,
                                  uint32_t count, const char *trace, struct sqs_sent *sent)
{
	uint32_t trace_bytes = trace == NULL ? 0 : (uint32_t)strlen(trace);
	size_t bytes = sqs_attrs_encode(attrs, count, (const uint8_t *)trace, trace_bytes, block,
	                                sizeof(block));
	cr_assert(bytes > 0 || (count == 0 && trace_bytes == 0));
	struct sqs_send_options o = {.attributes = block, .attributes_bytes = (uint32_t)bytes};
	if (slot == FQ) {
		o.group_id = "g";
		o.group_id_bytes = 1;
		o.dedup_id = body;
		o.dedup_id_bytes = (uint32_t)strlen(body);
	}
	return sqs_send_message(engine, slot, (const uint8_t *)body, (uint32_t)strlen(body), &o, T0,
	                        sent);
}

static const char *md5_of(const struct sqs_attr *attrs, uint32_t count)
{
	static struct sqs_sent sent;
	static uint32_t n;
	char body[16];
	snprintf(body, sizeof(body), "m%u", n++);
	cr_assert_eq(send_with(Q, body, attrs, count, NULL, &sent), WIRE_OK);
	return sent.md5_of_attributes;
}

static struct sqs_received receive_one(uint32_t slot)
{
	struct sqs_receive_options o = {.max_messages = 1, .visibility_timeout_s = -1,
	                                .body_bytes_max = STORED_MAX};
	struct sqs_received r;
	cr_assert_eq(sqs_receive(engine, slot, &o, T0, &r), 1);
	return r;
}

/* ---- the MD5 ---- */

Test(sqs_message_attributes, the_md5_is_aws_s_for_its_published_examples)
{
	struct sqs_attr one[] = {text("SellerName", "String", "Example Store")};
	cr_assert_str_eq(md5_of(one, 1), "cd28f3b68aeee4b2eac9c66f2f694b58");
	struct sqs_attr five[] = {
	    text("City", "String", "Any City"), text("PostalCode", "String", "99065"),
	    text("PricePerGallon", "Number", "1.99"), text("Region", "String", "WA"),
	    text("SellerName", "String", "Example Store")};
	cr_assert_str_eq(md5_of(five, 5), "10809b55e3d9b22c17220b7dbaf283ef");
	struct sqs_attr bin[] = {binary("test_attribute_name", "test_attribute_value")};
	cr_assert_str_eq(md5_of(bin, 1), "23f6bd27ea87aab7dfeadcc9aebee495");
	/* Given out of name order: AWS sorts them first. */
	struct sqs_attr reversed[] = {text("test_attribute_name_2", "String", "test_attribute_value_2"),
	                              text("test_attribute_name_1", "String", "test_attribute_value_1")};
	cr_assert_str_eq(md5_of(reversed, 2), "d53f3b558fe951154770f25cb63dbba9");
}

Test(sqs_message_attributes, a_message_without_attributes_has_no_md5_even_with_a_trace_header)
{
	struct sqs_sent sent;
	cr_assert_eq(send_with(Q, "plain", NULL, 0, NULL, &sent), WIRE_OK);
	cr_assert_str_eq(sent.md5_of_attributes, "");
	cr_assert_eq(send_with(Q, "traced", NULL, 0, "Root=1-5759e988-bd862e3fe1be46a994272793",
	                       &sent),
	             WIRE_OK);
	cr_assert_str_eq(sent.md5_of_attributes, "", "a system attribute is not in the MD5");
	struct sqs_received r = receive_one(Q);
	cr_assert_eq(r.attributes_bytes, 0);
	r = receive_one(Q);
	cr_assert_str_eq(r.md5_of_attributes, "");
	cr_assert_gt(r.attributes_bytes, 0, "the trace header is kept");
}

/* ---- receive ---- */

Test(sqs_message_attributes, a_receive_gets_the_block_before_the_body_and_the_md5)
{
	struct sqs_attr attrs[] = {text("b", "String", "2"), binary("a", "\x01\x02")};
	struct sqs_sent sent;
	cr_assert_eq(send_with(Q, "body", attrs, 2, "Root=x", &sent), WIRE_OK);
	struct sqs_received r = receive_one(Q);
	cr_assert_str_eq(r.md5_of_attributes, sent.md5_of_attributes);
	cr_assert_eq(r.attributes_bytes, sqs_attrs_encoded_bytes(attrs, 2, 6));
	cr_assert_eq(r.body_bytes, 4);
	uint8_t stored[STORED_MAX];
	store_read(NULL, r.body_ref, stored, r.attributes_bytes + r.body_bytes);
	cr_assert(sqs_attrs_valid(stored, r.attributes_bytes));
	cr_assert_arr_eq(stored + r.attributes_bytes, "body", 4);
	struct sqs_attrs_reader reader;
	struct sqs_attr first;
	sqs_attrs_reader_init(&reader, stored, r.attributes_bytes);
	cr_assert(sqs_attrs_next(&reader, &first));
	cr_assert_arr_eq(first.name, "a", 1, "sorted by name");
	cr_assert(first.binary);
}

Test(sqs_message_attributes, attributes_count_toward_the_maximum_message_size)
{
	char body[BODY_MAX + 1];
	memset(body, 'x', BODY_MAX - 10);
	body[BODY_MAX - 10] = '\0';
	/* name 1 + type 6 + value 3 = 10 bytes: exactly the maximum. */
	struct sqs_attr fits[] = {text("n", "String", "abc")};
	struct sqs_sent sent;
	cr_assert_eq(send_with(Q, body, fits, 1, NULL, &sent), WIRE_OK);
	struct sqs_attr over[] = {text("n", "String", "abcd")};
	body[0] = 'y';
	cr_assert_eq(send_with(Q, body, over, 1, NULL, &sent), WIRE_ERR_MESSAGE_TOO_LONG);
	/* The trace header does not count, as in AWS. */
	cr_assert_eq(send_with(Q, body, fits, 1, "Root=1", &sent), WIRE_OK);
}

/* ---- selection ---- */

static const char *selected(const char *const *names, uint32_t count)
{
	struct sqs_attr attrs[] = {text("Hello", "String", "There"), text("Help.Me", "String", "Me"),
	                           text("General", "String", "Kenobi")};
	static uint8_t b[STORED_MAX];
	size_t bytes = sqs_attrs_encode(attrs, 3, (const uint8_t *)"T", 1, b, sizeof(b));
	struct sqs_attr_names n = {.count = count};
	for (uint32_t i = 0; i < count; i++) {
		n.names[i] = (const uint8_t *)names[i];
		n.bytes[i] = (uint32_t)strlen(names[i]);
	}
	size_t kept = sqs_attrs_select(b, bytes, &n);
	cr_assert(sqs_attrs_valid(b, kept), "a selection stays a block");
	cr_assert_geq(kept, WIRE_FIELD_HEADER_BYTES + 1, "the trace header is always kept");
	static char out[64];
	out[0] = '\0';
	struct sqs_attrs_reader r;
	struct sqs_attr a;
	sqs_attrs_reader_init(&r, b, kept);
	while (sqs_attrs_next(&r, &a)) {
		strncat(out, (const char *)a.name, a.name_bytes);
		strcat(out, " ");
	}
	return out;
}

Test(sqs_message_attributes, message_attribute_names_select_as_sqs_does)
{
	cr_assert_str_eq(selected(NULL, 0), "", "none asked: none returned");
	cr_assert_str_eq(selected((const char *[]){"All"}, 1), "General Hello Help.Me ");
	cr_assert_str_eq(selected((const char *[]){".*"}, 1), "General Hello Help.Me ");
	cr_assert_str_eq(selected((const char *[]){"Hello", "General"}, 2), "General Hello ");
	cr_assert_str_eq(selected((const char *[]){"Foo", "Help"}, 2), "", "exact names only");
	cr_assert_str_eq(selected((const char *[]){"Help.*"}, 1), "Help.Me ");
	cr_assert_str_eq(selected((const char *[]){"Hel.*"}, 1), "", "the prefix ends at a period");
	cr_assert_str_eq(selected((const char *[]){"*"}, 1), "", "\"*\" is a name, not a wildcard");
	cr_assert_str_eq(selected((const char *[]){"hello"}, 1), "", "names are case-sensitive");
}

/* ---- FIFO ---- */

/* A FIFO message's dedup id goes first, before the trace header, is kept by every selection
 * (a system attribute), and is no attribute: not read as one, not in the size AWS counts. */
Test(sqs_message_attributes, a_dedup_id_is_a_system_field_of_the_block)
{
	struct sqs_attr attrs[] = {text("a", "String", "1"), text("b", "String", "2")};
	static uint8_t b[STORED_MAX];
	size_t bytes = sqs_attrs_encode(attrs, 2, (const uint8_t *)"T", 1, b, sizeof(b));
	uint32_t size = sqs_attrs_size_bytes(b, bytes);
	cr_assert_eq(sqs_attrs_add_dedup_id(b, bytes, bytes + 8, (const uint8_t *)"d-1", 3), 0,
	             "refused when it does not fit");
	size_t with = sqs_attrs_add_dedup_id(b, bytes, sizeof(b), (const uint8_t *)"d-1", 3);
	cr_assert_eq(with, bytes + WIRE_FIELD_HEADER_BYTES + 3);
	cr_assert(sqs_attrs_valid(b, with));
	cr_assert_eq(sqs_attrs_size_bytes(b, with), size, "not counted toward the size");
	struct sqs_attr_names only_b = {.count = 1, .names = {(const uint8_t *)"b"}, .bytes = {1}};
	size_t kept = sqs_attrs_select(b, with, &only_b);
	cr_assert(sqs_attrs_valid(b, kept));
	struct wire_reader r;
	struct wire_field f;
	wire_reader_init(&r, b, kept);
	uint16_t tags[3] = {0};
	for (int i = 0; i < 3 && wire_reader_next(&r, &f) == 1; i++)
		tags[i] = f.tag;
	cr_assert(tags[0] == WIRE_TAG_MESSAGE_DEDUPLICATION_ID &&
	          tags[1] == WIRE_TAG_AWS_TRACE_HEADER && tags[2] == WIRE_TAG_ATTRIBUTE_BEGIN,
	          "dedup id, trace header, then the selected attribute");
	cr_assert_eq(sqs_attrs_send_fields_offset(b, kept), WIRE_FIELD_HEADER_BYTES + 3,
	             "a send's fields begin past the dedup id");
	cr_assert_eq(sqs_attrs_send_fields_offset(b + WIRE_FIELD_HEADER_BYTES + 3,
	                                          kept - WIRE_FIELD_HEADER_BYTES - 3),
	             0);
	struct sqs_attrs_reader reader;
	struct sqs_attr a;
	sqs_attrs_reader_init(&reader, b, kept);
	cr_assert(sqs_attrs_next(&reader, &a) && a.name_bytes == 1 && a.name[0] == 'b');
	cr_assert_not(sqs_attrs_next(&reader, &a));
	uint8_t bad[] = {WIRE_TAG_MESSAGE_DEDUPLICATION_ID, 0, 0, 0, 0, 0};
	cr_assert_not(sqs_attrs_valid(bad, sizeof(bad)), "an empty dedup id is no block");
}

#define SOURCE "arn:aws:sqs:local:000000000000:src"

/* The tags of a block's first three fields. */
static void first_tags(const uint8_t *b, size_t bytes, uint16_t tags[3])
{
	struct wire_reader r;
	struct wire_field f;
	wire_reader_init(&r, b, bytes);
	for (int i = 0; i < 3; i++)
		tags[i] = wire_reader_next(&r, &f) == 1 ? f.tag : 0;
}

/* A moved message's DeadLetterQueueSourceArn is a system field, after the trace header:
 * not an attribute, not counted toward the size, kept by every receive, replaced when the
 * message is moved again. */
Test(sqs_message_attributes, a_source_arn_is_a_system_field_of_the_block)
{
	uint8_t b[512];
	struct sqs_attr attrs[] = {text("a", "String", "1")};
	size_t bytes = sqs_attrs_encode(attrs, 1, (const uint8_t *)"T", 1, b, sizeof(b));
	uint32_t size = sqs_attrs_size_bytes(b, bytes);
	size_t arn_bytes = strlen(SOURCE);
	cr_assert_eq(sqs_attrs_add_source_arn(b, bytes, bytes + 8, (const uint8_t *)SOURCE,
	                                      (uint32_t)arn_bytes),
	             0, "refused when it does not fit");
	size_t with = sqs_attrs_add_source_arn(b, bytes, sizeof(b), (const uint8_t *)SOURCE,
	                                       (uint32_t)arn_bytes);
	cr_assert_eq(with, bytes + WIRE_FIELD_HEADER_BYTES + arn_bytes);
	cr_assert(sqs_attrs_valid(b, with));
	cr_assert_eq(sqs_attrs_size_bytes(b, with), size, "not counted toward the size");
	struct sqs_attr_names none = {0};
	size_t kept = sqs_attrs_select(b, with, &none);
	uint16_t tags[3];
	first_tags(b, kept, tags);
	cr_assert(tags[0] == WIRE_TAG_AWS_TRACE_HEADER &&
	          tags[1] == WIRE_TAG_DEAD_LETTER_QUEUE_SOURCE_ARN && tags[2] == 0,
	          "a receive asking for no attribute still gets the system fields");
	/* The select cut b: made again. */
	cr_assert_eq(sqs_attrs_encode(attrs, 1, (const uint8_t *)"T", 1, b, sizeof(b)), bytes);
	with = sqs_attrs_add_source_arn(b, bytes, sizeof(b), (const uint8_t *)SOURCE,
	                                (uint32_t)arn_bytes);
	cr_assert_eq(sqs_attrs_drop_source_arn(b, with), bytes, "taken out again");
	cr_assert(sqs_attrs_valid(b, bytes));
	cr_assert_eq(sqs_attrs_drop_source_arn(b, bytes), bytes, "none to take out");
	cr_assert_eq(sqs_attrs_size_bytes(b, bytes), size, "the attributes are still there");
	size_t fifo = sqs_attrs_add_source_arn(b, bytes, sizeof(b), (const uint8_t *)SOURCE,
	                                       (uint32_t)arn_bytes);
	fifo = sqs_attrs_add_dedup_id(b, fifo, sizeof(b), (const uint8_t *)"d", 1);
	first_tags(b, fifo, tags);
	cr_assert(tags[0] == WIRE_TAG_MESSAGE_DEDUPLICATION_ID &&
	          tags[1] == WIRE_TAG_AWS_TRACE_HEADER &&
	          tags[2] == WIRE_TAG_DEAD_LETTER_QUEUE_SOURCE_ARN,
	          "dedup id, trace header, source ARN");
	cr_assert(sqs_attrs_valid(b, fifo));
	uint8_t empty[] = {WIRE_TAG_DEAD_LETTER_QUEUE_SOURCE_ARN, 0, 0, 0, 0, 0};
	cr_assert_not(sqs_attrs_valid(empty, sizeof(empty)), "an empty source ARN is no block");
}

Test(sqs_message_attributes, a_fifo_duplicate_answers_the_md5_of_its_own_attributes)
{
	struct sqs_attr first[] = {text("a", "String", "1")};
	struct sqs_attr second[] = {text("a", "String", "2")};
	struct sqs_sent one, two;
	cr_assert_eq(send_with(FQ, "same", first, 1, NULL, &one), WIRE_OK);
	cr_assert_eq(send_with(FQ, "same", second, 1, NULL, &two), WIRE_OK);
	cr_assert(two.duplicate);
	cr_assert_str_eq(two.message_id, one.message_id);
	cr_assert_str_neq(two.md5_of_attributes, one.md5_of_attributes);
	cr_assert_str_eq(receive_one(FQ).md5_of_attributes, one.md5_of_attributes,
	                 "the stored message keeps the first send's");
}

/* ---- the log ---- */

Test(sqs_message_attributes, the_send_record_carries_the_block_and_old_records_still_decode)
{
	struct sqs_attr attrs[] = {text("k", "Number", "7")};
	struct sqs_sent sent;
	cr_assert_eq(send_with(Q, "logged", attrs, 1, "Root=1", &sent), WIRE_OK);
	cr_assert_eq(records.count, 1);
	struct sqs_record r;
	cr_assert_eq(sqs_record_decode(records.data[0], records.bytes[0], &r), 0);
	cr_assert_eq(records.data[0][1], SQS_RECORD_FLAG_ATTRIBUTES);
	cr_assert_eq(r.attributes_bytes, sqs_attrs_encoded_bytes(attrs, 1, 6));
	cr_assert_eq(r.attributes + r.attributes_bytes, r.body, "block and body are one run");
	cr_assert_arr_eq(r.body, "logged", 6);
	/* A damaged block is refused, never half-applied. */
	uint8_t damaged[RECORD_BYTES];
	memcpy(damaged, records.data[0], records.bytes[0]);
	damaged[SQS_RECORD_HEADER_BYTES + SQS_RECORD_ATTRIBUTES_BYTES] ^= 0xff; /* a field's tag */
	cr_assert_eq(sqs_record_decode(damaged, records.bytes[0], &r), -EBADMSG);
	/* Written before the flag existed: no attributes, decoded as it was. */
	struct sqs_record plain = {.kind = SQS_RECORD_SEND, .queue_id = QUEUE_ID, .body_bytes = 2,
	                           .body = (const uint8_t *)"hi"};
	uint8_t old[RECORD_BYTES];
	size_t bytes = sqs_record_encode(&plain, old, sizeof(old));
	cr_assert_eq(bytes, SQS_RECORD_HEADER_BYTES + 2);
	cr_assert_eq(sqs_record_decode(old, bytes, &r), 0);
	cr_assert_eq(r.attributes_bytes, 0);
	cr_assert_arr_eq(r.body, "hi", 2);
}

/* Replays every record so far into a fresh engine, which replaces the current one. */
static void restart(void)
{
	sqs_engine_destroy(engine);
	memset(&store, 0, sizeof(store));
	uint32_t count = records.count;
	engine = engine_start();
	struct sqs_replay *replay = sqs_replay_create(STORE_SLOTS);
	cr_assert_not_null(replay);
	for (uint32_t i = 0; i < count; i++) {
		struct sqs_record r;
		cr_assert_eq(sqs_record_decode(records.data[i], records.bytes[i], &r), 0);
		uint32_t slot = r.queue_id == QUEUE_ID ? Q : FQ;
		cr_assert_eq(sqs_replay_apply(replay, engine, slot, &r, i, T0), WIRE_OK);
	}
	sqs_replay_destroy(replay);
}

Test(sqs_message_attributes, replay_and_compaction_bring_the_attributes_back)
{
	struct sqs_attr attrs[] = {text("color", "String", "blue"), binary("raw", "\xff")};
	struct sqs_sent standard, fifo;
	cr_assert_eq(send_with(Q, "s", attrs, 2, "Root=2", &standard), WIRE_OK);
	cr_assert_eq(send_with(FQ, "f", attrs, 2, NULL, &fifo), WIRE_OK);
	cr_assert_eq(send_with(Q, "none", NULL, 0, NULL, &(struct sqs_sent){0}), WIRE_OK);
	restart();
	uint32_t moved = sqs_relog_before(engine, 3, 8); /* the positions before the copies */
	cr_assert_eq(moved, 3, "compaction writes all again: %u", moved);
	for (uint32_t i = 0; i < 3; i++) { /* only the copies compaction wrote */
		memcpy(records.data[i], records.data[i + 3], RECORD_BYTES);
		records.bytes[i] = records.bytes[i + 3];
	}
	records.count = 3;
	restart();
	size_t expected = sqs_attrs_encoded_bytes(attrs, 2, 6);
	struct sqs_received r = receive_one(Q);
	cr_assert_str_eq(r.md5_of_attributes, standard.md5_of_attributes);
	cr_assert_eq(r.attributes_bytes, expected);
	uint8_t stored[STORED_MAX];
	store_read(NULL, r.body_ref, stored, r.attributes_bytes + r.body_bytes);
	uint8_t want[STORED_MAX];
	cr_assert_eq(sqs_attrs_encode(attrs, 2, (const uint8_t *)"Root=2", 6, want, sizeof(want)),
	             expected);
	cr_assert_arr_eq(stored, want, expected);
	cr_assert_arr_eq(stored + expected, "s", 1);
	r = receive_one(Q);
	cr_assert_str_eq(r.md5_of_attributes, "");
	cr_assert_eq(r.attributes_bytes, 0);
	r = receive_one(FQ);
	cr_assert_str_eq(r.md5_of_attributes, fifo.md5_of_attributes);
	cr_assert_str_eq(r.group_id, "g");
}

/* The engine joins a block and its body, and reads them back to compact, in a buffer as large
 * as the most a queue's share of the store holds: a message of exactly that size is kept and
 * compacted whole (ASan: not a byte past the buffer), one byte more is OverLimit. */
Test(sqs_message_attributes, a_message_filling_its_queue_s_share_of_the_store_is_kept_whole)
{
	sqs_engine_destroy(engine);
	queue_store_units = 2;
	engine = engine_start();
	struct sqs_attr attrs[] = {text("n", "String", "v")};
	uint32_t share_bytes = 2 * STORE_UNIT_BYTES;
	size_t block_bytes = sqs_attrs_encoded_bytes(attrs, 1, 0);
	char body[STORED_MAX];
	memset(body, 'x', share_bytes - block_bytes + 1);
	body[share_bytes - block_bytes + 1] = '\0';
	struct sqs_sent sent;
	cr_assert_eq(send_with(Q, body, attrs, 1, NULL, &sent), WIRE_ERR_OVER_LIMIT);
	body[share_bytes - block_bytes] = '\0';
	cr_assert_eq(send_with(Q, body, attrs, 1, NULL, &sent), WIRE_OK);
	cr_assert_eq(sqs_relog_before(engine, records.count, 1), 1, "compacted");
	struct sqs_received r = receive_one(Q);
	cr_assert_eq(r.attributes_bytes + r.body_bytes, share_bytes);
	uint8_t stored[STORED_MAX];
	store_read(NULL, r.body_ref, stored, share_bytes);
	cr_assert(sqs_attrs_valid(stored, r.attributes_bytes));
	cr_assert_arr_eq(stored + block_bytes, body, share_bytes - block_bytes);
	cr_assert_str_eq(r.md5_of_attributes, sent.md5_of_attributes);
}
