/*
 * A topic's deliveries (dataplane/engines/topic.h): which subscriptions get a publish and the
 * bytes each gets.
 *
 * Suite topic_filter proves: a subscription without a policy gets everything; a
 * MessageAttributes policy sees String, String.Array elements and Number as numbers, never
 * Binary; a MessageBody policy sees the JSON body, and a body that is not JSON matches no
 * body policy; null and missing as SNS treats them (exists true wants a value that is not
 * null, exists false matches what is missing, [null] matches null, anything-but matches null
 * in the body); a json-structured message's body policy sees its subscription's protocol key
 * (or "default"); indices come back ascending; a policy SNS refuses names its subscription.
 * Suite topic_render proves the envelope bytes equal SNS's documented Notification shape
 * (member order, two-space indent, " : ", Subject only when given, SequenceNumber on FIFO,
 * MessageAttributes {"Type","Value"} with Binary in base64), the canonical string to sign
 * handed to the callback, raw delivery of the message or of the protocol's key, escaping, and
 * -ENOBUFS for every buffer shorter than the delivery.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "topic.h"

#define NOW_MS 1335920046655ull /* 2012-05-02T00:54:06.655Z, SNS's documented example */

static struct topic_attribute attr(const char *name, const char *type, const char *value)
{
	return (struct topic_attribute){name, (uint32_t)strlen(name), type, (uint32_t)strlen(type),
	                                (const uint8_t *)value, (uint32_t)strlen(value)};
}

static struct topic_record publish_of(const char *message, struct topic_attribute *attrs,
                                      uint32_t count)
{
	struct topic_record r = {.kind = TOPIC_RECORD_PUBLISH,
	                         .topic_id = 1,
	                         .timestamp_ms = NOW_MS,
	                         .attribute_count = count,
	                         .message = (const uint8_t *)message,
	                         .message_bytes = (uint32_t)strlen(message)};
	if (count > 0)
		memcpy(r.attributes, attrs, count * sizeof(*attrs));
	static const uint8_t id[16] = {0x22, 0xb8, 0x0b, 0x92, 0xfd, 0xea, 0x4c, 0x2c,
	                               0x8f, 0x9d, 0xbd, 0xfb, 0x0c, 0x7b, 0xf3, 0x24};
	memcpy(r.message_id, id, 16);
	return r;
}

static struct topic_filter *filter;
static struct topic_scratch *scratch;

static void build(const struct topic_subscription *subs, uint32_t count)
{
	char error[256];
	int rc = 0;
	filter = topic_filter_build(subs, count, error, sizeof(error), &rc);
	cr_assert_not_null(filter, "%s", error);
	scratch = topic_scratch_new(filter);
	cr_assert_not_null(scratch);
}

static void teardown_filter(void)
{
	if (scratch != NULL)
		topic_scratch_free(scratch);
	topic_filter_free(filter);
	scratch = NULL;
	filter = NULL;
}

/* The subscriptions that get it, as a bit set. */
static uint32_t match(const struct topic_record *r)
{
	uint32_t indices[BB_TOPIC_SUBSCRIPTIONS_MAX];
	uint32_t n = topic_filter_match(filter, scratch, r, indices);
	uint32_t bits = 0;
	for (uint32_t i = 0; i < n; i++) {
		cr_assert(i == 0 || indices[i] > indices[i - 1], "ascending");
		bits |= 1u << indices[i];
	}
	return bits;
}

#define POLICY(text, sc) .filter_policy = text, .filter_policy_bytes = sizeof(text) - 1, .scope = sc
#define ATTRS FLT_SNS_MESSAGE_ATTRIBUTES
#define BODY  FLT_SNS_MESSAGE_BODY

Test(topic_filter, no_policy_gets_everything_and_attribute_scope_matches, .fini = teardown_filter)
{
	struct topic_subscription subs[] = {
	    {.protocol = "sqs"},
	    {.protocol = "sqs", POLICY("{\"color\":[\"red\"]}", ATTRS)},
	    {.protocol = "udp", POLICY("{\"price\":[{\"numeric\":[\">\",100]}]}", ATTRS)},
	    {.protocol = "sqs", POLICY("{\"tags\":[\"b\"]}", ATTRS)},
	};
	build(subs, 4);
	struct topic_attribute a[] = {attr("color", "String", "red"),
	                              attr("price", "Number", "150.5"),
	                              attr("tags", "String.Array", "[\"a\",\"b\"]")};
	struct topic_record r = publish_of("hello", a, 3);
	cr_assert_eq(match(&r), 0xF);
	a[0] = attr("color", "String", "blue");
	a[1] = attr("price", "Number", "99");
	a[2] = attr("tags", "String.Array", "[\"a\"]");
	r = publish_of("hello", a, 3);
	cr_assert_eq(match(&r), 0x1);
	/* Binary is never compared; a missing attribute matches nothing but exists:false. */
	a[0] = attr("color", "Binary", "red");
	r = publish_of("hello", a, 1);
	cr_assert_eq(match(&r), 0x1);
}

Test(topic_filter, attribute_scope_null_and_missing, .fini = teardown_filter)
{
	struct topic_subscription subs[] = {
	    {.protocol = "sqs", POLICY("{\"a\":[{\"exists\":false}]}", ATTRS)},
	    {.protocol = "sqs", POLICY("{\"a\":[{\"exists\":true}]}", ATTRS)},
	    {.protocol = "sqs", POLICY("{\"a\":[null]}", ATTRS)},
	    {.protocol = "sqs", POLICY("{\"a\":[{\"anything-but\":[\"x\"]}]}", ATTRS)},
	};
	build(subs, 4);
	struct topic_record missing = publish_of("m", NULL, 0);
	cr_assert_eq(match(&missing), 0x1);
	struct topic_attribute a[] = {attr("a", "String", "y")};
	struct topic_record present = publish_of("m", a, 1);
	cr_assert_eq(match(&present), 0x2 | 0x8);
	a[0] = attr("a", "String.Array", "[null]");
	struct topic_record null_element = publish_of("m", a, 1);
	cr_assert_eq(match(&null_element), 0x4 | 0x8, "null is a value exists:true does not take");
}

Test(topic_filter, body_scope_null_missing_and_not_json, .fini = teardown_filter)
{
	struct topic_subscription subs[] = {
	    {.protocol = "sqs", POLICY("{\"s\":[{\"exists\":true}]}", BODY)},
	    {.protocol = "sqs", POLICY("{\"s\":[{\"exists\":false}]}", BODY)},
	    {.protocol = "sqs", POLICY("{\"s\":[null]}", BODY)},
	    {.protocol = "sqs", POLICY("{\"d\":{\"s\":[{\"anything-but\":[\"ok\"]}]}}", BODY)},
	};
	build(subs, 4);
	struct topic_record r = publish_of("{\"s\":\"v\",\"d\":{\"s\":\"bad\"}}", NULL, 0);
	cr_assert_eq(match(&r), 0x1 | 0x8);
	r = publish_of("{\"s\":null,\"d\":{\"s\":null}}", NULL, 0);
	cr_assert_eq(match(&r), 0x4 | 0x8, "anything-but takes null, exists:true does not");
	r = publish_of("{\"t\":1}", NULL, 0);
	cr_assert_eq(match(&r), 0x2);
	r = publish_of("not json", NULL, 0);
	cr_assert_eq(match(&r), 0x0, "a body that is not JSON matches no body policy");
}

Test(topic_filter, both_scopes_and_json_structure_per_protocol, .fini = teardown_filter)
{
	struct topic_subscription subs[] = {
	    {.protocol = "sqs", POLICY("{\"k\":[\"q\"]}", BODY)},
	    {.protocol = "udp", POLICY("{\"k\":[\"d\"]}", BODY)},
	    {.protocol = "udp", POLICY("{\"c\":[\"x\"]}", ATTRS)},
	    {.protocol = "https"},
	};
	build(subs, 4);
	struct topic_attribute a[] = {attr("c", "String", "x")};
	struct topic_record r =
	    publish_of("{\"default\":\"{\\\"k\\\":\\\"d\\\"}\",\"sqs\":\"{\\\"k\\\":\\\"q\\\"}\"}", a, 1);
	r.flags = TOPIC_RECORD_FLAG_JSON;
	cr_assert_eq(match(&r), 0xF, "sqs sees its key, udp the default");
	r = publish_of("{\"k\":\"q\"}", NULL, 0);
	cr_assert_eq(match(&r), 0x1 | 0x8);
}

Test(topic_filter, refused_policies_name_their_subscription)
{
	struct topic_subscription subs[] = {
	    {.protocol = "sqs"},
	    {.protocol = "sqs", POLICY("{\"a\":[{\"wildcard\":\"x*\"}]}", ATTRS)},
	};
	char error[256];
	int rc = 0;
	cr_assert_null(topic_filter_build(subs, 2, error, sizeof(error), &rc));
	cr_assert_eq(rc, -EINVAL);
	cr_assert(strstr(error, "subscription 1") != NULL, "%s", error);
	struct topic_subscription many_keys[] = {
	    {.protocol = "sqs",
	     POLICY("{\"a\":[\"1\"],\"b\":[\"1\"],\"c\":[\"1\"],\"d\":[\"1\"],\"e\":[\"1\"],"
	            "\"f\":[\"1\"]}",
	            ATTRS)},
	};
	cr_assert_null(topic_filter_build(many_keys, 1, error, sizeof(error), &rc));
	struct topic_subscription long_protocol[] = {{.protocol = "a-protocol-name-too-long"}};
	cr_assert_null(topic_filter_build(long_protocol, 1, error, sizeof(error), &rc));
}

Test(topic_filter, the_subscription_limit)
{
	struct topic_subscription subs[BB_TOPIC_SUBSCRIPTIONS_MAX];
	for (uint32_t i = 0; i < BB_TOPIC_SUBSCRIPTIONS_MAX; i++)
		subs[i] = (struct topic_subscription){.protocol = i % 2 ? "sqs" : "udp",
		                                      POLICY("{\"a\":[\"1\"]}", BODY)};
	char error[256];
	int rc = 0;
	struct topic_filter *f =
	    topic_filter_build(subs, BB_TOPIC_SUBSCRIPTIONS_MAX, error, sizeof(error), &rc);
	cr_assert_not_null(f, "%s", error);
	struct topic_scratch *s = topic_scratch_new(f);
	struct topic_record r = publish_of("{\"a\":\"1\"}", NULL, 0);
	uint32_t indices[BB_TOPIC_SUBSCRIPTIONS_MAX];
	cr_assert_eq(topic_filter_match(f, s, &r, indices), BB_TOPIC_SUBSCRIPTIONS_MAX);
	topic_scratch_free(s);
	topic_filter_free(f);
}

/* ---- Rendering. ---- */

static char signed_text[4096];
static size_t signed_bytes;
static unsigned signed_version;

static int fake_sign(void *ctx, unsigned version, const uint8_t *bytes, size_t n, char *out,
                     size_t capacity, size_t *length_out)
{
	(void)ctx;
	signed_version = version;
	cr_assert_lt(n, sizeof(signed_text));
	memcpy(signed_text, bytes, n);
	signed_bytes = n;
	if (capacity < 8)
		return -ENOBUFS;
	memcpy(out, "EXAMPLE=", 8);
	*length_out = 8;
	return 0;
}

static uint8_t render_scratch[TOPIC_RENDER_SCRATCH_BYTES];

static struct topic_render_options envelope_options(void)
{
	return (struct topic_render_options){
	    .protocol = "sqs",
	    .topic_arn = "arn:aws:sns:us-west-2:123456789012:MyTopic",
	    .unsubscribe_url = "https://sns.example/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:"
	                       "us-west-2:123456789012:MyTopic:c9135db0",
	    .signing_cert_url = "https://sns.example/SimpleNotificationService.pem",
	    .signature_version = TOPIC_SIGNATURE_V2,
	    .sign = fake_sign,
	    .scratch = render_scratch,
	};
}

static void render_equals(const struct topic_record *r, const struct topic_render_options *o,
                          const char *expected)
{
	static uint8_t out[8192];
	size_t length = 0;
	cr_assert_eq(topic_render(r, o, out, sizeof(out), &length), 0);
	cr_assert_eq(length, strlen(expected), "got:\n%.*s", (int)length, out);
	cr_assert_arr_eq(out, expected, length, "got:\n%.*s", (int)length, out);
	/* Every shorter buffer is refused whole. */
	for (size_t cap = 0; cap < length; cap++) {
		size_t ignored;
		cr_assert_eq(topic_render(r, o, out, cap, &ignored), -ENOBUFS, "capacity %zu", cap);
	}
}

Test(topic_render, the_documented_notification)
{
	struct topic_record r = publish_of("Hello world!", NULL, 0);
	r.subject = "My First Message";
	r.subject_bytes = 16;
	struct topic_render_options o = envelope_options();
	render_equals(&r, &o,
	              "{\n"
	              "  \"Type\" : \"Notification\",\n"
	              "  \"MessageId\" : \"22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\",\n"
	              "  \"TopicArn\" : \"arn:aws:sns:us-west-2:123456789012:MyTopic\",\n"
	              "  \"Subject\" : \"My First Message\",\n"
	              "  \"Message\" : \"Hello world!\",\n"
	              "  \"Timestamp\" : \"2012-05-02T00:54:06.655Z\",\n"
	              "  \"SignatureVersion\" : \"2\",\n"
	              "  \"Signature\" : \"EXAMPLE=\",\n"
	              "  \"SigningCertURL\" : \"https://sns.example/SimpleNotificationService.pem\",\n"
	              "  \"UnsubscribeURL\" : \"https://sns.example/?Action=Unsubscribe&"
	              "SubscriptionArn=arn:aws:sns:us-west-2:123456789012:MyTopic:c9135db0\"\n"
	              "}");
	const char *to_sign = "Message\nHello world!\n"
	                      "MessageId\n22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\n"
	                      "Subject\nMy First Message\n"
	                      "Timestamp\n2012-05-02T00:54:06.655Z\n"
	                      "TopicArn\narn:aws:sns:us-west-2:123456789012:MyTopic\n"
	                      "Type\nNotification\n";
	cr_assert_eq(signed_bytes, strlen(to_sign));
	cr_assert_arr_eq(signed_text, to_sign, signed_bytes);
	cr_assert_eq(signed_version, TOPIC_SIGNATURE_V2);
}

/* A topic whose SignatureVersion is 1 (SNS's default) says so and is signed as version 1. */
Test(topic_render, signature_version_1)
{
	struct topic_record r = publish_of("Hello world!", NULL, 0);
	struct topic_render_options o = envelope_options();
	o.signature_version = TOPIC_SIGNATURE_V1;
	render_equals(&r, &o,
	              "{\n"
	              "  \"Type\" : \"Notification\",\n"
	              "  \"MessageId\" : \"22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\",\n"
	              "  \"TopicArn\" : \"arn:aws:sns:us-west-2:123456789012:MyTopic\",\n"
	              "  \"Message\" : \"Hello world!\",\n"
	              "  \"Timestamp\" : \"2012-05-02T00:54:06.655Z\",\n"
	              "  \"SignatureVersion\" : \"1\",\n"
	              "  \"Signature\" : \"EXAMPLE=\",\n"
	              "  \"SigningCertURL\" : \"https://sns.example/SimpleNotificationService.pem\",\n"
	              "  \"UnsubscribeURL\" : \"https://sns.example/?Action=Unsubscribe&"
	              "SubscriptionArn=arn:aws:sns:us-west-2:123456789012:MyTopic:c9135db0\"\n"
	              "}");
	cr_assert_eq(signed_version, TOPIC_SIGNATURE_V1);
}

Test(topic_render, fifo_attributes_and_escaping)
{
	struct topic_attribute a[] = {attr("store", "String", "ex\"ample\n"),
	                              attr("price", "Number", "10.5"),
	                              attr("tags", "String.Array", "[\"a\",1]"),
	                              attr("blob", "Binary", "x")};
	a[3].value = (const uint8_t *)"\x00\x01\x02\xff";
	a[3].value_bytes = 4;
	struct topic_record r = publish_of("line1\nline2 \"q\" \\ / caf\xc3\xa9", a, 4);
	r.flags = TOPIC_RECORD_FLAG_FIFO;
	r.sequence_number = 10000000000000003000ull;
	r.group_id = "g";
	r.group_id_bytes = 1;
	struct topic_render_options o = envelope_options();
	render_equals(&r, &o,
	              "{\n"
	              "  \"Type\" : \"Notification\",\n"
	              "  \"MessageId\" : \"22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\",\n"
	              "  \"SequenceNumber\" : \"10000000000000003000\",\n"
	              "  \"TopicArn\" : \"arn:aws:sns:us-west-2:123456789012:MyTopic\",\n"
	              "  \"Message\" : \"line1\\nline2 \\\"q\\\" \\\\ / caf\xc3\xa9\",\n"
	              "  \"Timestamp\" : \"2012-05-02T00:54:06.655Z\",\n"
	              "  \"SignatureVersion\" : \"2\",\n"
	              "  \"Signature\" : \"EXAMPLE=\",\n"
	              "  \"SigningCertURL\" : \"https://sns.example/SimpleNotificationService.pem\",\n"
	              "  \"UnsubscribeURL\" : \"https://sns.example/?Action=Unsubscribe&"
	              "SubscriptionArn=arn:aws:sns:us-west-2:123456789012:MyTopic:c9135db0\",\n"
	              "  \"MessageAttributes\" : {\n"
	              "    \"store\" : {\"Type\":\"String\",\"Value\":\"ex\\\"ample\\n\"},\n"
	              "    \"price\" : {\"Type\":\"Number\",\"Value\":\"10.5\"},\n"
	              "    \"tags\" : {\"Type\":\"String.Array\",\"Value\":\"[\\\"a\\\",1]\"},\n"
	              "    \"blob\" : {\"Type\":\"Binary\",\"Value\":\"AAEC/w==\"}\n"
	              "  }\n"
	              "}");
	cr_assert(memmem(signed_text, signed_bytes, "Subject", 7) == NULL,
	          "no Subject in the string to sign without one");
}

Test(topic_render, raw_delivery_and_json_structure)
{
	struct topic_record r =
	    publish_of("{\"default\":\"for all\",\"sqs\":\"for \\\"queues\\\" \\u00e9\"}", NULL, 0);
	r.flags = TOPIC_RECORD_FLAG_JSON;
	struct topic_render_options o = envelope_options();
	o.raw = true;
	render_equals(&r, &o, "for \"queues\" \xc3\xa9");
	o.protocol = "udp";
	render_equals(&r, &o, "for all");
	o.raw = false;
	static uint8_t out[4096];
	size_t length;
	cr_assert_eq(topic_render(&r, &o, out, sizeof(out), &length), 0);
	cr_assert(memmem(out, length, "\"Message\" : \"for all\",", 22) != NULL);
	r = publish_of("plain \"raw\"", NULL, 0);
	o.raw = true;
	render_equals(&r, &o, "plain \"raw\"");
}

static int failing_sign(void *ctx, unsigned version, const uint8_t *bytes, size_t n, char *out,
                        size_t capacity, size_t *length_out)
{
	(void)ctx, (void)version, (void)bytes, (void)n, (void)out, (void)capacity, (void)length_out;
	return -EIO;
}

Test(topic_render, a_sign_failure_is_the_callers_error)
{
	struct topic_record r = publish_of("m", NULL, 0);
	struct topic_render_options o = envelope_options();
	o.sign = failing_sign;
	static uint8_t out[4096];
	size_t length;
	cr_assert_eq(topic_render(&r, &o, out, sizeof(out), &length), -EIO);
}
