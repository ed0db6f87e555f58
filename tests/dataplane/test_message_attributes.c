/*
 * SQS message attributes on busbard's wire (issue 11, docs/protocol.md "Message
 * attributes"), through the whole packet path: a SendMessage with attributes and an
 * AWSTraceHeader is answered with AWS's MD5OfMessageAttributes (its published example); a
 * receive returns MD5_OF_MESSAGE_ATTRIBUTES always, the attributes its
 * MESSAGE_ATTRIBUTE_NAME fields select (none without any) and the trace header; a parked
 * long poll answered later selects as it asked; each SendMessageBatch entry with attributes
 * gets its own MD5; a retried send is answered from the window with the MD5; more than
 * WIRE_MESSAGE_ATTRIBUTE_NAMES_MAX names, or a trace header where it does not belong, are
 * refused.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "packet_harness.h"

TestSuite(message_attributes, .init = harness_setup, .fini = harness_teardown, .timeout = 60);

#define SELLER_MD5 "cd28f3b68aeee4b2eac9c66f2f694b58" /* AWS's example: SellerName */
#define TRACE      "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"

static struct replies replies;

static void send_request(struct request *r)
{
	struct rte_mbuf *m = frame_udp(r->bytes, request_finish(r));
	harness_input(&m, 1);
	take_replies(&replies);
}

static void put_attribute(struct wire_writer *w, const char *name, const char *type,
                          const char *value)
{
	wire_put_bytes(w, WIRE_TAG_ATTRIBUTE_BEGIN, NULL, 0);
	wire_put_str(w, WIRE_TAG_ATTRIBUTE_NAME, name);
	wire_put_str(w, WIRE_TAG_ATTRIBUTE_DATA_TYPE, type);
	wire_put_str(w, WIRE_TAG_ATTRIBUTE_STRING_VALUE, value);
}

/* A SendMessage of body with SellerName and Zone, and the trace header. */
static void send_with_attributes(uint64_t request_id, const char *body)
{
	struct request r;
	request_begin(&r, WIRE_OP_SEND_MESSAGE, request_id);
	wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, TEST_QUEUE);
	wire_put_str(&r.fields, WIRE_TAG_BODY, body);
	wire_put_str(&r.fields, WIRE_TAG_AWS_TRACE_HEADER, TRACE);
	put_attribute(&r.fields, "SellerName", "String", "Example Store");
	send_request(&r);
}

static void receive_request(struct request *r, uint64_t request_id, const char *const *names,
                            uint32_t count, uint32_t wait_s)
{
	request_begin(r, WIRE_OP_RECEIVE_MESSAGE, request_id);
	wire_put_str(&r->fields, WIRE_TAG_QUEUE_NAME, TEST_QUEUE);
	wire_put_u32(&r->fields, WIRE_TAG_WAIT_TIME_S, wait_s);
	for (uint32_t i = 0; i < count; i++)
		wire_put_str(&r->fields, WIRE_TAG_MESSAGE_ATTRIBUTE_NAME, names[i]);
}

static void receive_with(uint64_t request_id, const char *const *names, uint32_t count)
{
	struct request r;
	receive_request(&r, request_id, names, count, 0);
	wire_put_u32(&r.fields, WIRE_TAG_VISIBILITY_TIMEOUT_S, 0); /* visible again at once */
	send_request(&r);
}

/* The reply's fields, in order, as "tag=value" (values as text) joined by spaces. */
static const char *reply_fields(void)
{
	static char out[4096];
	out[0] = '\0';
	struct wire_reader reader;
	struct wire_field f;
	wire_reader_init(&reader, replies.datagram + BB_WIRE_HEADER_BYTES, replies.header.body_bytes);
	while (wire_reader_next(&reader, &f) == 1) {
		char one[320];
		bool text = f.tag != WIRE_TAG_RECEIVE_COUNT && f.tag != WIRE_TAG_SENT_TIMESTAMP_MS &&
		            f.tag != WIRE_TAG_FIRST_RECEIVE_TIMESTAMP_MS &&
		            f.tag != WIRE_TAG_RECEIPT_HANDLE && f.tag != WIRE_TAG_MESSAGE_ID;
		snprintf(one, sizeof(one), "%u=%.*s ", f.tag, text ? (int)f.length : 0,
		         (const char *)f.value);
		strncat(out, one, sizeof(out) - strlen(out) - 1);
	}
	return out;
}

static const char *reply_text(uint16_t tag)
{
	static char out[256];
	const uint8_t *value;
	int length = reply_field(&replies, tag, &value);
	if (length < 0)
		return NULL;
	snprintf(out, sizeof(out), "%.*s", length, (const char *)value);
	return out;
}

/* What a received message's fields after its FIFO-less system attributes are. */
#define RECEIVED_HEAD "13= 3= 4= 5=%s 9= 10= 11= "
#define SELLER_FIELDS "63= 64=SellerName 65=String 66=Example Store "
#define TRACE_FIELD   "86=" TRACE " "

Test(message_attributes, a_send_answers_the_md5_and_a_receive_returns_what_it_selects)
{
	send_with_attributes(1, "hello");
	cr_assert_eq(replies.header.status, WIRE_OK);
	cr_assert_str_eq(reply_text(WIRE_TAG_MD5_OF_MESSAGE_ATTRIBUTES), SELLER_MD5);
	char expected[512];
	const char *body_md5 = "5d41402abc4b2a76b9719d911017c592"; /* of "hello" */
	receive_with(2, NULL, 0);
	snprintf(expected, sizeof(expected), RECEIVED_HEAD "84=" SELLER_MD5 " " TRACE_FIELD "2=hello ",
	         body_md5);
	cr_assert_str_eq(reply_fields(), expected, "none asked: the MD5 and trace header only");
	receive_with(3, (const char *[]){"All"}, 1);
	snprintf(expected, sizeof(expected),
	         RECEIVED_HEAD "84=" SELLER_MD5 " " TRACE_FIELD SELLER_FIELDS "2=hello ", body_md5);
	cr_assert_str_eq(reply_fields(), expected);
	receive_with(4, (const char *[]){"Other", "Seller.*"}, 2);
	cr_assert_null(reply_text(WIRE_TAG_ATTRIBUTE_NAME), "neither selects SellerName");
	receive_with(5, (const char *[]){"Other", "SellerName"}, 2);
	cr_assert_str_eq(reply_text(WIRE_TAG_ATTRIBUTE_NAME), "SellerName");
}

Test(message_attributes, a_parked_receive_selects_as_it_asked)
{
	struct request r;
	receive_request(&r, 10, (const char *[]){".*"}, 1, 5);
	send_request(&r);
	cr_assert_eq(replies.udp_datagrams, 0, "parked");
	/* The send comes over the local socket: the one datagram is the woken receive's. */
	request_begin(&r, WIRE_OP_SEND_MESSAGE, 11);
	wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, TEST_QUEUE);
	wire_put_str(&r.fields, WIRE_TAG_BODY, "later");
	put_attribute(&r.fields, "SellerName", "String", "Example Store");
	harness_local_request(&r, 1);
	take_replies(&replies);
	cr_assert_eq(replies.udp_datagrams, 1);
	cr_assert_str_eq(reply_text(WIRE_TAG_ATTRIBUTE_STRING_VALUE), "Example Store");
	cr_assert_str_eq(reply_text(WIRE_TAG_BODY), "later");
}

Test(message_attributes, each_batch_entry_with_attributes_gets_its_md5)
{
	struct request r;
	request_begin(&r, WIRE_OP_SEND_MESSAGE_BATCH, 20);
	wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, TEST_QUEUE);
	wire_put_bytes(&r.fields, WIRE_TAG_ENTRY_BEGIN, NULL, 0);
	wire_put_str(&r.fields, WIRE_TAG_ENTRY_ID, "plain");
	wire_put_str(&r.fields, WIRE_TAG_BODY, "a body without attributes, long enough");
	wire_put_bytes(&r.fields, WIRE_TAG_ENTRY_BEGIN, NULL, 0);
	wire_put_str(&r.fields, WIRE_TAG_ENTRY_ID, "seller");
	wire_put_str(&r.fields, WIRE_TAG_BODY, "a body with one attribute, long enough");
	wire_put_str(&r.fields, WIRE_TAG_AWS_TRACE_HEADER, TRACE);
	put_attribute(&r.fields, "SellerName", "String", "Example Store");
	send_request(&r);
	cr_assert_eq(replies.header.status, WIRE_OK);
	const char *fields = reply_fields();
	const char *seller = strstr(fields, "41=seller");
	cr_assert_not_null(seller, "%s", fields);
	cr_assert_not_null(strstr(seller, "84=" SELLER_MD5), "%s", fields);
	cr_assert(strstr(fields, "84=") > seller, "the plain entry has none: %s", fields);
	receive_with(21, (const char *[]){"All"}, 1);
	cr_assert_str_eq(reply_text(WIRE_TAG_BODY), "a body without attributes, long enough");
	cr_assert_null(reply_text(WIRE_TAG_MD5_OF_MESSAGE_ATTRIBUTES));
}

Test(message_attributes, a_retried_send_is_answered_from_the_window_with_its_md5)
{
	send_with_attributes(30, "once");
	cr_assert_str_eq(reply_text(WIRE_TAG_MD5_OF_MESSAGE_ATTRIBUTES), SELLER_MD5);
	char first_id[256];
	snprintf(first_id, sizeof(first_id), "%s", reply_text(WIRE_TAG_MESSAGE_ID));
	send_with_attributes(30, "once");
	cr_assert_str_eq(reply_text(WIRE_TAG_MESSAGE_ID), first_id, "the same answer");
	cr_assert_str_eq(reply_text(WIRE_TAG_MD5_OF_MESSAGE_ATTRIBUTES), SELLER_MD5);
	cr_assert_eq(sqs_visible_count(h.worker->sqs, 0), 1, "sent once");
}

Test(message_attributes, names_past_the_limit_and_misplaced_trace_headers_are_refused)
{
	const char *names[WIRE_MESSAGE_ATTRIBUTE_NAMES_MAX + 1];
	for (uint32_t i = 0; i <= WIRE_MESSAGE_ATTRIBUTE_NAMES_MAX; i++)
		names[i] = "All";
	receive_with(40, names, WIRE_MESSAGE_ATTRIBUTE_NAMES_MAX);
	cr_assert_eq(replies.header.status, WIRE_OK, "32 names are taken");
	receive_with(41, names, WIRE_MESSAGE_ATTRIBUTE_NAMES_MAX + 1);
	cr_assert_eq(replies.header.status, WIRE_ERR_INVALID_PARAMETER);
	struct request r;
	receive_request(&r, 42, NULL, 0, 0);
	wire_put_str(&r.fields, WIRE_TAG_AWS_TRACE_HEADER, TRACE);
	send_request(&r);
	cr_assert_eq(replies.header.status, WIRE_ERR_MALFORMED);
	request_begin(&r, WIRE_OP_SEND_MESSAGE, 43);
	wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, TEST_QUEUE);
	wire_put_str(&r.fields, WIRE_TAG_BODY, "x");
	wire_put_str(&r.fields, WIRE_TAG_MESSAGE_ATTRIBUTE_NAME, "All");
	send_request(&r);
	cr_assert_eq(replies.header.status, WIRE_ERR_MALFORMED, "names belong to receives");
	request_begin(&r, WIRE_OP_SEND_MESSAGE, 44);
	wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, TEST_QUEUE);
	wire_put_str(&r.fields, WIRE_TAG_BODY, "x");
	wire_put_str(&r.fields, WIRE_TAG_AWS_TRACE_HEADER, "bad\ttrace");
	send_request(&r);
	cr_assert_eq(replies.header.status, WIRE_ERR_INVALID_PARAMETER);
}
