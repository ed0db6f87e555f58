/*
 * The topic engine's publish path (dataplane/engines/topic.h) and its records.
 *
 * Suite topic_check proves each SNS refusal with its code and text, each limit reached and
 * one past it: message 1..262,144 bytes counted with the attributes, the character rule,
 * Subject 1-100 printable ASCII not starting with a blank, 10 attributes, names (length,
 * characters, AWS./Amazon., "..", leading or trailing '.', repeated), DataTypes with labels,
 * values (empty, Number, String.Array), MessageStructure=json (parse, "default"), and FIFO's
 * MessageGroupId and MessageDeduplicationId. Suite topic_fifo proves sequence numbers grow,
 * a duplicate (explicit or content-based) in its 5-minute window answers the first publish's
 * ids and is not logged, a new publish after it is, the bounded window refuses with
 * OverLimit, and replaying the PUBLISH records restores both. Suite topic_record proves the
 * codec round-trips every field and refuses damaged records: every truncation, every byte
 * flipped in the fixed part, and inconsistent sizes.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topic.h"
#include "topic_record.h"

#define NOW_MS 1700000000000ull

static const char *text;

static struct topic_publish plain(const char *message)
{
	return (struct topic_publish){.message = (const uint8_t *)message,
	                              .message_bytes = (uint32_t)strlen(message)};
}

static enum wire_status check(const struct topic_publish *p)
{
	return topic_check_publish(p, false, false, &text);
}

static struct topic_attribute attr(const char *name, const char *type, const char *value)
{
	return (struct topic_attribute){name, (uint32_t)strlen(name), type, (uint32_t)strlen(type),
	                                (const uint8_t *)value, (uint32_t)strlen(value)};
}

Test(topic_check, message_of_one_byte_to_the_limit_and_one_past)
{
	uint8_t *big = malloc(BB_TOPIC_MESSAGE_BYTES_MAX + 1);
	memset(big, 'a', BB_TOPIC_MESSAGE_BYTES_MAX + 1);
	struct topic_publish p = {.message = big, .message_bytes = 1};
	cr_assert_eq(check(&p), WIRE_OK);
	p.message_bytes = BB_TOPIC_MESSAGE_BYTES_MAX;
	cr_assert_eq(check(&p), WIRE_OK);
	p.message_bytes++;
	cr_assert_eq(check(&p), TOPIC_ERR_INVALID_PARAMETER);
	cr_assert_str_eq(text, "Invalid parameter: Message too long");
	p.message_bytes = 0;
	cr_assert_eq(check(&p), TOPIC_ERR_INVALID_PARAMETER);
	cr_assert_str_eq(text, "Invalid parameter: Empty message");
	free(big);
}

Test(topic_check, attributes_count_toward_the_size)
{
	uint8_t *big = malloc(BB_TOPIC_MESSAGE_BYTES_MAX);
	memset(big, 'a', BB_TOPIC_MESSAGE_BYTES_MAX);
	struct topic_attribute a = attr("n", "String", "vv"); /* 1 + 6 + 2 bytes */
	struct topic_publish p = {.message = big,
	                          .message_bytes = BB_TOPIC_MESSAGE_BYTES_MAX - 9,
	                          .attributes = &a,
	                          .attribute_count = 1};
	cr_assert_eq(check(&p), WIRE_OK);
	p.message_bytes++;
	cr_assert_eq(check(&p), TOPIC_ERR_INVALID_PARAMETER);
	cr_assert_str_eq(text, "Invalid parameter: Message too long");
	free(big);
}

Test(topic_check, message_characters)
{
	struct topic_publish p = plain("caf\xc3\xa9 \xf0\x9f\x98\x80\t\n");
	cr_assert_eq(check(&p), WIRE_OK);
	p = plain("a\x01z");
	cr_assert_eq(check(&p), TOPIC_ERR_INVALID_PARAMETER);
	p = plain("bad \xc3(");
	cr_assert_eq(check(&p), TOPIC_ERR_INVALID_PARAMETER);
}

Test(topic_check, subject_limits)
{
	char subject[BB_TOPIC_SUBJECT_BYTES_MAX + 2];
	memset(subject, 'S', sizeof(subject));
	struct topic_publish p = plain("m");
	p.subject = subject;
	p.subject_bytes = BB_TOPIC_SUBJECT_BYTES_MAX;
	cr_assert_eq(check(&p), WIRE_OK);
	p.subject_bytes++;
	cr_assert_eq(check(&p), TOPIC_ERR_INVALID_PARAMETER);
	cr_assert(strstr(text, "Subject") != NULL);
	p.subject_bytes = 0; /* given but empty */
	cr_assert_eq(check(&p), TOPIC_ERR_INVALID_PARAMETER);
	const char *bad[] = {" lead", "\nlead", "tab\there", "caf\xc3\xa9", "del\x7f"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p.subject = bad[i];
		p.subject_bytes = (uint32_t)strlen(bad[i]);
		cr_assert_eq(check(&p), TOPIC_ERR_INVALID_PARAMETER, "%s", bad[i]);
	}
	p.subject = "Hello, world! ~ end ";
	p.subject_bytes = (uint32_t)strlen(p.subject);
	cr_assert_eq(check(&p), WIRE_OK);
}

Test(topic_check, ten_attributes_and_one_past)
{
	char names[BB_TOPIC_ATTRIBUTES_MAX + 1][4];
	struct topic_attribute a[BB_TOPIC_ATTRIBUTES_MAX + 1];
	for (int i = 0; i <= (int)BB_TOPIC_ATTRIBUTES_MAX; i++) {
		snprintf(names[i], sizeof(names[i]), "a%d", i);
		a[i] = attr(names[i], "String", "v");
	}
	struct topic_publish p = plain("m");
	p.attributes = a;
	p.attribute_count = BB_TOPIC_ATTRIBUTES_MAX;
	cr_assert_eq(check(&p), WIRE_OK);
	p.attribute_count++;
	cr_assert_eq(check(&p), TOPIC_ERR_INVALID_PARAMETER_VALUE);
	cr_assert(strstr(text, "exceeds the allowed maximum [10]") != NULL);
}

static enum wire_status check_attribute(struct topic_attribute a)
{
	struct topic_publish p = plain("m");
	p.attributes = &a;
	p.attribute_count = 1;
	return check(&p);
}

Test(topic_check, attribute_names)
{
	char name[BB_TOPIC_ATTRIBUTE_NAME_BYTES_MAX + 2];
	memset(name, 'n', sizeof(name));
	name[BB_TOPIC_ATTRIBUTE_NAME_BYTES_MAX] = '\0';
	cr_assert_eq(check_attribute(attr(name, "String", "v")), WIRE_OK);
	name[BB_TOPIC_ATTRIBUTE_NAME_BYTES_MAX] = 'n';
	name[BB_TOPIC_ATTRIBUTE_NAME_BYTES_MAX + 1] = '\0';
	cr_assert_eq(check_attribute(attr(name, "String", "v")), TOPIC_ERR_INVALID_PARAMETER_VALUE);
	const char *good[] = {"a", "A-b_c.d", "0", "x.y.z", "AWSx", "Amazonx"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		cr_assert_eq(check_attribute(attr(good[i], "String", "v")), WIRE_OK, "%s", good[i]);
	const char *bad[] = {"", "a b", "a..b", ".a", "a.", "AWS.x", "aws.x", "Amazon.x",
	                     "amazon.y", "caf\xc3\xa9", "a/b"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(check_attribute(attr(bad[i], "String", "v")),
		             TOPIC_ERR_INVALID_PARAMETER_VALUE, "%s", bad[i]);
	struct topic_attribute twice[2] = {attr("x", "String", "1"), attr("x", "Number", "2")};
	struct topic_publish p = plain("m");
	p.attributes = twice;
	p.attribute_count = 2;
	cr_assert_eq(check(&p), TOPIC_ERR_INVALID_PARAMETER_VALUE);
}

Test(topic_check, attribute_types_and_values)
{
	const char *types_ok[] = {"String", "Number", "Binary", "String.Array", "String.x",
	                          "Number.float", "Binary.jpeg", "String.Array.tag"};
	for (size_t i = 0; i < sizeof(types_ok) / sizeof(types_ok[0]); i++) {
		const char *value = strncmp(types_ok[i], "String.Array", 12) == 0 ? "[\"a\",1,null]"
		                    : strncmp(types_ok[i], "Number", 6) == 0     ? "-1.5e3"
		                                                                  : "v";
		cr_assert_eq(check_attribute(attr("n", types_ok[i], value)), WIRE_OK, "%s", types_ok[i]);
	}
	const char *types_bad[] = {"", "string", "Strings", "String.", "Number..x", "Blob",
	                           "String.a b"};
	for (size_t i = 0; i < sizeof(types_bad) / sizeof(types_bad[0]); i++)
		cr_assert_eq(check_attribute(attr("n", types_bad[i], "v")),
		             TOPIC_ERR_INVALID_PARAMETER_VALUE, "%s", types_bad[i]);
	char type[BB_TOPIC_ATTRIBUTE_TYPE_BYTES_MAX + 2];
	memset(type, 'x', sizeof(type));
	memcpy(type, "String.", 7);
	type[BB_TOPIC_ATTRIBUTE_TYPE_BYTES_MAX] = '\0';
	cr_assert_eq(check_attribute(attr("n", type, "v")), WIRE_OK);
	type[BB_TOPIC_ATTRIBUTE_TYPE_BYTES_MAX] = 'x';
	type[BB_TOPIC_ATTRIBUTE_TYPE_BYTES_MAX + 1] = '\0';
	cr_assert_eq(check_attribute(attr("n", type, "v")), TOPIC_ERR_INVALID_PARAMETER_VALUE);
	cr_assert_eq(check_attribute(attr("n", "String", "")), TOPIC_ERR_INVALID_PARAMETER_VALUE);
	const char *numbers_bad[] = {"abc", "1.", "+1", "01", "1e", "--1", " 1"};
	for (size_t i = 0; i < sizeof(numbers_bad) / sizeof(numbers_bad[0]); i++)
		cr_assert_eq(check_attribute(attr("n", "Number", numbers_bad[i])),
		             TOPIC_ERR_INVALID_PARAMETER_VALUE, "%s", numbers_bad[i]);
	const char *arrays_bad[] = {"a", "[", "[1,]", "[[1]]", "[{\"a\":1}]", "[1] x", "[\"a]"};
	for (size_t i = 0; i < sizeof(arrays_bad) / sizeof(arrays_bad[0]); i++)
		cr_assert_eq(check_attribute(attr("n", "String.Array", arrays_bad[i])),
		             TOPIC_ERR_INVALID_PARAMETER_VALUE, "%s", arrays_bad[i]);
	cr_assert_eq(check_attribute(attr("n", "String.Array", " [ ] ")), WIRE_OK);
	cr_assert_eq(check_attribute(attr("n", "String", "a\x01")),
	             TOPIC_ERR_INVALID_PARAMETER_VALUE);
	struct topic_attribute binary = attr("n", "Binary", "x");
	binary.value = (const uint8_t *)"\x00\xff";
	binary.value_bytes = 2;
	cr_assert_eq(check_attribute(binary), WIRE_OK);
}

Test(topic_check, message_structure_json)
{
	struct topic_publish p = plain("{\"default\":\"d\",\"sqs\":\"q\\n\\u00e9\"}");
	p.message_structure_json = true;
	cr_assert_eq(check(&p), WIRE_OK);
	p = plain("{\"sqs\":\"q\"}");
	p.message_structure_json = true;
	cr_assert_eq(check(&p), TOPIC_ERR_INVALID_PARAMETER);
	cr_assert_str_eq(text,
	                 "Invalid parameter: Message Structure - No default entry in JSON message body");
	const char *bad[] = {"not json", "{\"default\":\"d\"", "{\"default\":1}", "[\"default\"]",
	                     "{\"default\":\"d\",}", "{\"default\":\"d\"} x", "{\"default\":\"\\x\"}"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p = plain(bad[i]);
		p.message_structure_json = true;
		cr_assert_eq(check(&p), TOPIC_ERR_INVALID_PARAMETER, "%s", bad[i]);
		cr_assert_str_eq(
		    text, "Invalid parameter: Message Structure - JSON message body failed to parse");
	}
}

Test(topic_check, fifo_ids)
{
	char id[BB_FIFO_ID_BYTES_MAX + 1];
	memset(id, 'g', sizeof(id));
	struct topic_publish p = plain("m");
	cr_assert_eq(topic_check_publish(&p, true, true, &text), TOPIC_ERR_INVALID_PARAMETER);
	cr_assert_str_eq(text,
	                 "Invalid parameter: The MessageGroupId parameter is required for FIFO topics");
	p.group_id = id;
	p.group_id_bytes = BB_FIFO_ID_BYTES_MAX;
	cr_assert_eq(topic_check_publish(&p, true, true, &text), WIRE_OK);
	p.group_id_bytes++;
	cr_assert_eq(topic_check_publish(&p, true, true, &text), TOPIC_ERR_INVALID_PARAMETER);
	p.group_id_bytes = 1;
	cr_assert_eq(topic_check_publish(&p, true, false, &text), TOPIC_ERR_INVALID_PARAMETER);
	cr_assert(strstr(text, "ContentBasedDeduplication") != NULL);
	p.dedup_id = id;
	p.dedup_id_bytes = BB_FIFO_ID_BYTES_MAX;
	cr_assert_eq(topic_check_publish(&p, true, false, &text), WIRE_OK);
	p.dedup_id_bytes++;
	cr_assert_eq(topic_check_publish(&p, true, false, &text), TOPIC_ERR_INVALID_PARAMETER);
	p.dedup_id = "a b";
	p.dedup_id_bytes = 3;
	cr_assert_eq(topic_check_publish(&p, true, false, &text), TOPIC_ERR_INVALID_PARAMETER);
	/* A standard topic takes neither id. */
	p.dedup_id_bytes = 0;
	cr_assert_eq(topic_check_publish(&p, false, false, &text), TOPIC_ERR_INVALID_PARAMETER);
	p.group_id_bytes = 0;
	p.dedup_id = "d";
	p.dedup_id_bytes = 1;
	cr_assert_eq(topic_check_publish(&p, false, false, &text), TOPIC_ERR_INVALID_PARAMETER);
}

/* ---- FIFO and the log. ---- */

#define LOG_MAX 64u

static struct {
	uint8_t bytes[LOG_MAX][512];
	size_t length[LOG_MAX];
	uint32_t count;
	int fail;
} fake_log;

static int log_append(void *ctx, const struct topic_record *r, uint64_t *sequence_out)
{
	(void)ctx;
	if (fake_log.fail != 0)
		return fake_log.fail;
	cr_assert_lt(fake_log.count, LOG_MAX);
	size_t n = topic_record_encode(r, fake_log.bytes[fake_log.count], 512);
	cr_assert_gt(n, 0);
	fake_log.length[fake_log.count] = n;
	*sequence_out = ++fake_log.count;
	return 0;
}

static struct topic_engine *fifo_engine(uint32_t dedup_slots, bool content_based)
{
	memset(&fake_log, 0, sizeof(fake_log));
	struct topic_engine_options o = {
	    .topic_slots = 2, .dedup_slots = dedup_slots, .log = {.append = log_append}};
	int error = 0;
	struct topic_engine *e = topic_engine_create(&o, &error);
	cr_assert_not_null(e);
	struct topic_config c = {.topic_id = 7,
	                         .fifo = true,
	                         .content_based_deduplication = content_based,
	                         .durable = true};
	cr_assert_eq(topic_open(e, 0, &c), 0);
	return e;
}

static enum wire_status publish_fifo(struct topic_engine *e, const char *message,
                                     const char *dedup, uint64_t now_ms,
                                     struct topic_accepted *out)
{
	struct topic_publish p = plain(message);
	p.group_id = "g";
	p.group_id_bytes = 1;
	p.dedup_id = dedup;
	p.dedup_id_bytes = dedup ? (uint32_t)strlen(dedup) : 0;
	return topic_publish(e, 0, &p, now_ms, out, &text);
}

Test(topic_fifo, sequence_numbers_grow_and_duplicates_answer_the_first)
{
	struct topic_engine *e = fifo_engine(8, false);
	struct topic_accepted a, b, c;
	cr_assert_eq(publish_fifo(e, "one", "d1", NOW_MS, &a), WIRE_OK);
	cr_assert_str_eq(a.sequence_number, "00000000000000000001");
	cr_assert_eq(strlen(a.message_id), BB_MESSAGE_ID_BYTES);
	cr_assert_eq(publish_fifo(e, "two", "d2", NOW_MS + 1, &b), WIRE_OK);
	cr_assert_str_eq(b.sequence_number, "00000000000000000002");
	cr_assert_eq(publish_fifo(e, "other body", "d1", NOW_MS + 2, &c), WIRE_OK);
	cr_assert(c.duplicate);
	cr_assert_str_eq(c.message_id, a.message_id);
	cr_assert_str_eq(c.sequence_number, a.sequence_number);
	cr_assert_eq(c.log_sequence, a.log_sequence);
	cr_assert_eq(fake_log.count, 2, "a duplicate writes nothing");
	/* The window ends 5 minutes after the first publish. */
	cr_assert_eq(publish_fifo(e, "one", "d1", NOW_MS + BB_FIFO_DEDUP_WINDOW_MS - 1, &c),
	             WIRE_OK);
	cr_assert(c.duplicate);
	cr_assert_eq(publish_fifo(e, "one", "d1", NOW_MS + BB_FIFO_DEDUP_WINDOW_MS, &c), WIRE_OK);
	cr_assert_not(c.duplicate);
	cr_assert_str_eq(c.sequence_number, "00000000000000000003");
	topic_engine_destroy(e);
}

Test(topic_fifo, content_based_ids_are_the_messages_sha256)
{
	struct topic_engine *e = fifo_engine(8, true);
	struct topic_accepted a, b;
	cr_assert_eq(publish_fifo(e, "same", NULL, NOW_MS, &a), WIRE_OK);
	cr_assert_eq(publish_fifo(e, "same", NULL, NOW_MS + 5, &b), WIRE_OK);
	cr_assert(b.duplicate);
	cr_assert_eq(publish_fifo(e, "different", NULL, NOW_MS + 5, &b), WIRE_OK);
	cr_assert_not(b.duplicate);
	/* An explicit id wins over the content. */
	cr_assert_eq(publish_fifo(e, "same", "explicit", NOW_MS + 6, &b), WIRE_OK);
	cr_assert_not(b.duplicate);
	topic_engine_destroy(e);
}

Test(topic_fifo, the_window_is_bounded)
{
	struct topic_engine *e = fifo_engine(2, false);
	struct topic_accepted a;
	cr_assert_eq(publish_fifo(e, "m", "d1", NOW_MS, &a), WIRE_OK);
	cr_assert_eq(publish_fifo(e, "m", "d2", NOW_MS + 1, &a), WIRE_OK);
	cr_assert_eq(publish_fifo(e, "m", "d3", NOW_MS + 2, &a), WIRE_ERR_OVER_LIMIT);
	cr_assert_eq(publish_fifo(e, "m", "d1", NOW_MS + 2, &a), WIRE_OK, "a duplicate is served");
	cr_assert(a.duplicate);
	cr_assert_eq(topic_expire(e, NOW_MS + BB_FIFO_DEDUP_WINDOW_MS), 1);
	cr_assert_eq(publish_fifo(e, "m", "d3", NOW_MS + BB_FIFO_DEDUP_WINDOW_MS, &a), WIRE_OK);
	cr_assert_eq(topic_dedup_count(e), 2);
	topic_engine_destroy(e);
}

Test(topic_fifo, a_refusing_log_changes_nothing)
{
	struct topic_engine *e = fifo_engine(8, false);
	struct topic_accepted a;
	fake_log.fail = -ENOSPC;
	cr_assert_eq(publish_fifo(e, "m", "d1", NOW_MS, &a), WIRE_ERR_SERVICE_UNAVAILABLE);
	cr_assert_eq(a.log_error, -ENOSPC);
	fake_log.fail = 0;
	cr_assert_eq(publish_fifo(e, "m", "d1", NOW_MS, &a), WIRE_OK);
	cr_assert_not(a.duplicate);
	cr_assert_str_eq(a.sequence_number, "00000000000000000001");
	topic_engine_destroy(e);
}

Test(topic_fifo, replay_restores_sequence_and_window)
{
	struct topic_engine *e = fifo_engine(8, false);
	struct topic_accepted a, b;
	cr_assert_eq(publish_fifo(e, "old", "d-old", NOW_MS, &a), WIRE_OK);
	cr_assert_eq(publish_fifo(e, "new", "d-new", NOW_MS + 200000, &b), WIRE_OK);
	topic_engine_destroy(e);
	/* A restart at NOW + 6 min: d-old's window has ended, d-new's has not. */
	struct topic_engine_options o = {.topic_slots = 2, .dedup_slots = 8,
	                                 .log = {.append = log_append}};
	int error = 0;
	e = topic_engine_create(&o, &error);
	struct topic_config c = {.topic_id = 7, .fifo = true, .durable = true};
	cr_assert_eq(topic_open(e, 0, &c), 0);
	uint64_t restart_ms = NOW_MS + 360000;
	uint32_t logged = fake_log.count;
	for (uint32_t i = 0; i < logged; i++) {
		struct topic_record r;
		cr_assert_eq(topic_record_decode(fake_log.bytes[i], fake_log.length[i], &r), 0);
		cr_assert_eq(topic_replay_record(e, 0, &r, restart_ms), WIRE_OK);
	}
	cr_assert_eq(topic_sequence_last(e, 0), 2);
	cr_assert_eq(topic_dedup_count(e), 1);
	struct topic_accepted x;
	cr_assert_eq(publish_fifo(e, "new", "d-new", restart_ms, &x), WIRE_OK);
	cr_assert(x.duplicate);
	cr_assert_str_eq(x.message_id, b.message_id);
	cr_assert_eq(publish_fifo(e, "old", "d-old", restart_ms, &x), WIRE_OK);
	cr_assert_not(x.duplicate);
	cr_assert_str_eq(x.sequence_number, "00000000000000000003");
	topic_engine_destroy(e);
}

Test(topic_fifo, standard_topics_keep_no_window)
{
	struct topic_engine_options o = {.topic_slots = 1, .dedup_slots = 0};
	int error = 0;
	struct topic_engine *e = topic_engine_create(&o, &error);
	struct topic_config fifo = {.topic_id = 3, .fifo = true};
	cr_assert_eq(topic_open(e, 0, &fifo), -EINVAL, "no dedup places: no FIFO topic");
	struct topic_config durable = {.topic_id = 3, .durable = true};
	cr_assert_eq(topic_open(e, 0, &durable), -EINVAL, "no log: no durable topic");
	struct topic_config c = {.topic_id = 3};
	cr_assert_eq(topic_open(e, 0, &c), 0);
	struct topic_publish p = plain("m");
	struct topic_accepted a, b;
	cr_assert_eq(topic_publish(e, 0, &p, NOW_MS, &a, &text), WIRE_OK);
	cr_assert_eq(topic_publish(e, 0, &p, NOW_MS, &b, &text), WIRE_OK);
	cr_assert_str_neq(a.message_id, b.message_id);
	cr_assert_str_eq(a.sequence_number, "");
	cr_assert_eq(a.record.topic_id, 3);
	cr_assert_eq(a.record.timestamp_ms, NOW_MS);
	topic_engine_destroy(e);
}

/* ---- Records. ---- */

static struct topic_record full_record(struct topic_attribute *attrs)
{
	attrs[0] = attr("color", "String", "red");
	attrs[1] = attr("n", "Number.int", "42");
	struct topic_record r = {
	    .kind = TOPIC_RECORD_PUBLISH,
	    .flags = TOPIC_RECORD_FLAG_FIFO | TOPIC_RECORD_FLAG_JSON,
	    .topic_id = 0x0102030405060708ull,
	    .timestamp_ms = NOW_MS,
	    .sequence_number = 99,
	    .subject = "subj",
	    .subject_bytes = 4,
	    .group_id = "grp",
	    .group_id_bytes = 3,
	    .dedup_id = "dd",
	    .dedup_id_bytes = 2,
	    .attribute_count = 2,
	    .message = (const uint8_t *)"{\"default\":\"x\"}",
	    .message_bytes = 15,
	};
	memcpy(r.attributes, attrs, 2 * sizeof(*attrs));
	for (int i = 0; i < 16; i++)
		r.message_id[i] = (uint8_t)(i * 17);
	for (int i = 0; i < 32; i++)
		r.dedup_key[i] = (uint8_t)(255 - i);
	return r;
}

Test(topic_record, publish_round_trips_every_field)
{
	struct topic_attribute attrs[2];
	struct topic_record r = full_record(attrs);
	uint8_t buf[TOPIC_RECORD_PUBLISH_BYTES + 256];
	size_t n = topic_record_encode(&r, buf, sizeof(buf));
	cr_assert_eq(n, topic_record_bytes(&r));
	cr_assert_eq(topic_record_encode(&r, buf, n - 1), 0, "too small a buffer writes nothing");
	struct topic_record d;
	cr_assert_eq(topic_record_decode(buf, n, &d), 0);
	cr_assert_eq(d.kind, TOPIC_RECORD_PUBLISH);
	cr_assert_eq(d.flags, r.flags);
	cr_assert_eq(d.topic_id, r.topic_id);
	cr_assert_arr_eq(d.message_id, r.message_id, 16);
	cr_assert_eq(d.timestamp_ms, NOW_MS);
	cr_assert_eq(d.sequence_number, 99);
	cr_assert_arr_eq(d.subject, "subj", 4);
	cr_assert_arr_eq(d.group_id, "grp", 3);
	cr_assert_arr_eq(d.dedup_id, "dd", 2);
	cr_assert_arr_eq(d.dedup_key, r.dedup_key, 32);
	cr_assert_eq(d.attribute_count, 2);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(d.attributes[i].name_bytes, attrs[i].name_bytes);
		cr_assert_arr_eq(d.attributes[i].name, attrs[i].name, attrs[i].name_bytes);
		cr_assert_arr_eq(d.attributes[i].type, attrs[i].type, attrs[i].type_bytes);
		cr_assert_eq(d.attributes[i].value_bytes, attrs[i].value_bytes);
		cr_assert_arr_eq(d.attributes[i].value, attrs[i].value, attrs[i].value_bytes);
	}
	cr_assert_eq(d.message_bytes, 15);
	cr_assert_arr_eq(d.message, r.message, 15);
	/* Little-endian on disk. */
	cr_assert_eq(buf[8], 0x08);
	cr_assert_eq(buf[15], 0x01);
}

Test(topic_record, done_round_trips)
{
	struct topic_attribute attrs[2];
	struct topic_record r = full_record(attrs);
	struct topic_record done, d;
	topic_done_record(&r, &done);
	uint8_t buf[TOPIC_RECORD_DONE_BYTES];
	cr_assert_eq(topic_record_encode(&done, buf, sizeof(buf)), TOPIC_RECORD_DONE_BYTES);
	cr_assert_eq(topic_record_decode(buf, sizeof(buf), &d), 0);
	cr_assert_eq(d.kind, TOPIC_RECORD_DONE);
	cr_assert_eq(d.topic_id, r.topic_id);
	cr_assert_arr_eq(d.message_id, r.message_id, 16);
	buf[3] = 1;
	cr_assert_eq(topic_record_decode(buf, sizeof(buf), &d), -EBADMSG);
}

Test(topic_record, every_truncation_and_extension_is_refused)
{
	struct topic_attribute attrs[2];
	struct topic_record r = full_record(attrs);
	uint8_t buf[TOPIC_RECORD_PUBLISH_BYTES + 256];
	size_t n = topic_record_encode(&r, buf, sizeof(buf));
	struct topic_record d;
	for (size_t cut = 0; cut < n; cut++)
		cr_assert_eq(topic_record_decode(buf, cut, &d), -EBADMSG, "cut at %zu", cut);
	buf[n] = 0;
	cr_assert_eq(topic_record_decode(buf, n + 1, &d), -EBADMSG);
}

Test(topic_record, damaged_fixed_fields_are_refused)
{
	struct topic_attribute attrs[2];
	struct topic_record r = full_record(attrs);
	uint8_t good[TOPIC_RECORD_PUBLISH_BYTES + 256];
	size_t n = topic_record_encode(&r, good, sizeof(good));
	/* Counts and sizes: any change breaks the length check or the limits. */
	static const size_t sized[] = {0, 1, 2, 3, 4, 5, 6, 7, 48, 49, 50, 51, 52, 53, 54, 55};
	for (size_t k = 0; k < sizeof(sized) / sizeof(sized[0]); k++) {
		for (int bit = 0; bit < 8; bit++) {
			uint8_t buf[sizeof(good)];
			memcpy(buf, good, n);
			buf[sized[k]] ^= (uint8_t)(1u << bit);
			struct topic_record d;
			int rc = topic_record_decode(buf, n, &d);
			/* Flags 0x01 <-> json-ness is the one flip that stays consistent. */
			bool json_flip = sized[k] == 1 && bit == 0;
			cr_assert_eq(rc, json_flip ? 0 : -EBADMSG, "byte %zu bit %d", sized[k], bit);
		}
	}
	/* A zero topic id, and attribute lengths that overrun their block. */
	uint8_t buf[sizeof(good)];
	memcpy(buf, good, n);
	memset(buf + 8, 0, 8);
	struct topic_record d;
	cr_assert_eq(topic_record_decode(buf, n, &d), -EBADMSG);
	memcpy(buf, good, n);
	size_t first_attribute = TOPIC_RECORD_PUBLISH_BYTES + 4 + 3 + 2;
	buf[first_attribute + 4] += 1; /* value one byte longer */
	cr_assert_eq(topic_record_decode(buf, n, &d), -EBADMSG);
	memcpy(buf, good, n);
	buf[first_attribute] = 0; /* empty name */
	cr_assert_eq(topic_record_decode(buf, n, &d), -EBADMSG);
}

Test(topic_record, a_standard_publish_carries_no_fifo_fields)
{
	struct topic_attribute attrs[2];
	struct topic_record r = full_record(attrs);
	r.flags = 0;
	r.group_id_bytes = 0;
	r.dedup_id_bytes = 0;
	r.sequence_number = 0;
	memset(r.dedup_key, 0, sizeof(r.dedup_key));
	uint8_t buf[TOPIC_RECORD_PUBLISH_BYTES + 256];
	size_t n = topic_record_encode(&r, buf, sizeof(buf));
	struct topic_record d;
	cr_assert_eq(topic_record_decode(buf, n, &d), 0);
	buf[40] = 1; /* a sequence number without the FIFO flag */
	cr_assert_eq(topic_record_decode(buf, n, &d), -EBADMSG);
}
