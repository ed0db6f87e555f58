/*
 * The AWS formats of busbar-control (ctl_aws.h) without a server: query
 * parameters become the JSON 1.0 shape (indexed lists and maps in order,
 * numbers as numbers), every protocol and service is told apart, bad input is
 * AWS's error, and answers render as SQS writes them (XML with its namespace
 * and Name/Value attributes; JSON with x-amzn-query-error).
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_aws.h"
#include "ctl_aws_data.h"

#define FORM   "application/x-www-form-urlencoded; charset=utf-8"
#define JSON10 "application/x-amz-json-1.0"

static const struct ctl_aws_error *error;
static char message[256];
static struct ctl_aws_request request;

static int parse(const char *content_type, const char *target, const char *body)
{
	ctl_aws_request_clear(&request);
	error = NULL;
	return ctl_aws_parse(content_type, target, body, strlen(body), NULL, &request, &error,
	                     message, sizeof(message));
}

static void teardown(void)
{
	ctl_aws_request_clear(&request);
}

TestSuite(aws, .fini = teardown);

Test(aws, query_parameters_take_the_json_shape)
{
	cr_assert_eq(parse(FORM, NULL,
	                   "Action=CreateQueue&Version=2012-11-05&QueueName=q1"
	                   "&Attribute.2.Name=ReceiveMessageWaitTimeSeconds&Attribute.2.Value=5"
	                   "&Attribute.1.Name=VisibilityTimeout&Attribute.1.Value=40"),
	             0, "%s", message);
	cr_assert_eq(request.protocol, CTL_AWS_QUERY);
	cr_assert_eq(request.service, CTL_AWS_SQS);
	cr_assert_eq(request.kind, CTL_AWS_MANAGE);
	cr_assert_str_eq(request.action, "CreateQueue");
	json_t *want = json_pack("{s:s, s:{s:s, s:s}}", "QueueName", "q1", "Attributes",
	                         "VisibilityTimeout", "40", "ReceiveMessageWaitTimeSeconds", "5");
	cr_assert(json_equal(request.params, want), "%s", json_dumps(request.params, 0));
	json_decref(want);
	cr_assert_eq(strlen(request.request_id), CTL_AWS_REQUEST_ID_BYTES);
}

Test(aws, query_lists_keep_their_order_and_numbers_are_numbers)
{
	cr_assert_eq(parse(FORM, NULL,
	                   "Action=ReceiveMessage&QueueUrl=http%3A%2F%2Fh%2F000000000000%2Fq"
	                   "&AttributeName.2=SentTimestamp&AttributeName.1=All"
	                   "&MaxNumberOfMessages=5&WaitTimeSeconds=0&MessageBody=a+b%21"),
	             0, "%s", message);
	cr_assert_eq(request.kind, CTL_AWS_DATA);
	json_t *want =
	    json_pack("{s:s, s:[s,s], s:i, s:i, s:s}", "QueueUrl", "http://h/000000000000/q",
	              "AttributeNames", "All", "SentTimestamp", "MaxNumberOfMessages", 5,
	              "WaitTimeSeconds", 0, "MessageBody", "a b!");
	cr_assert(json_equal(request.params, want), "%s", json_dumps(request.params, 0));
	json_decref(want);
	cr_assert_str_eq(ctl_aws_request_queue(&request), "q");
}

Test(aws, malformed_forms_are_malformed_query_string)
{
	const char *bad[] = {"Action=ListQueues&QueueNamePrefix=%zz", "Action=ListQueues&x=%4",
	                     "Action=ListQueues&%00=1", "=1&Action=ListQueues"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_neq(parse(FORM, NULL, bad[i]), 0, "%s", bad[i]);
		cr_assert_eq(error, &CTL_AWS_MALFORMED_QUERY, "%s", bad[i]);
	}
}

Test(aws, too_many_parameters_are_refused)
{
	char body[CTL_AWS_FORM_PARAMS_MAX * 8 + 32] = "Action=ListQueues";
	for (unsigned i = 0; i < CTL_AWS_FORM_PARAMS_MAX; i++)
		strcat(body, "&a=1");
	cr_assert_neq(parse(FORM, NULL, body), 0);
	cr_assert_eq(error, &CTL_AWS_MALFORMED_QUERY);
}

Test(aws, missing_and_unknown_actions)
{
	cr_assert_neq(parse(FORM, NULL, "QueueName=q"), 0);
	cr_assert_eq(error, &CTL_AWS_MISSING_ACTION);
	cr_assert_neq(parse("text/plain", NULL, "Action=ListQueues"), 0);
	cr_assert_eq(error, &CTL_AWS_MISSING_ACTION);
	cr_assert_neq(parse(FORM, NULL, "Action=List%20Queues"), 0);
	cr_assert_eq(error, &CTL_AWS_INVALID_ACTION);
	cr_assert_eq(parse(FORM, NULL, "Action=AddPermission&Label=x"), 0);
	cr_assert_eq(request.kind, CTL_AWS_UNSUPPORTED);
}

Test(aws, json_protocols_and_services)
{
	cr_assert_eq(parse(JSON10, "AmazonSQS.SendMessage", "{\"QueueUrl\":\"u\"}"), 0);
	cr_assert_eq(request.protocol, CTL_AWS_JSON_10);
	cr_assert_eq(request.kind, CTL_AWS_DATA);
	cr_assert_eq(parse(JSON10, "AmazonSQS.AddPermission", "{}"), 0);
	cr_assert_eq(request.kind, CTL_AWS_UNSUPPORTED);
	cr_assert_eq(parse("application/x-amz-json-1.1", "AWSEvents.PutEvents", "{}"), 0);
	cr_assert_eq(request.protocol, CTL_AWS_JSON_11);
	cr_assert_eq(request.service, CTL_AWS_EVENTS);
	cr_assert_eq(request.kind, CTL_AWS_DATA); /* forwarded to busbard (ctl_events_data.c) */
	cr_assert_eq(parse("application/x-amz-json-1.1", "AWSEvents.PutRule", "{}"), 0);
	cr_assert_eq(request.kind, CTL_AWS_MANAGE); /* busbar-control's store (ctl_events.c) */
	cr_assert_eq(parse("application/x-amz-json-1.1", "AWSEvents.CreateArchive", "{}"), 0);
	cr_assert_eq(request.kind, CTL_AWS_MANAGE); /* ctl_events_archive.c */
	cr_assert_eq(parse("application/x-amz-json-1.1", "AWSEvents.StartReplay", "{}"), 0);
	cr_assert_eq(request.kind, CTL_AWS_UNSUPPORTED); /* replays are not built yet */
	cr_assert_eq(parse(FORM, NULL, "Action=Publish&Version=2010-03-31&Message=m"), 0);
	cr_assert_eq(request.service, CTL_AWS_SNS);
	cr_assert_eq(request.kind, CTL_AWS_DATA); /* forwarded to busbard (ctl_sns_data.c) */
}

Test(aws, bad_json_requests)
{
	cr_assert_neq(parse(JSON10, "AmazonSQS.ListQueues", "{"), 0);
	cr_assert_eq(error, &CTL_AWS_SERIALIZATION);
	cr_assert_neq(parse(JSON10, "AmazonSQS.ListQueues", "[]"), 0);
	cr_assert_eq(error, &CTL_AWS_SERIALIZATION);
	cr_assert_neq(parse(JSON10, "AmazonSQS.ListQueues", "{\"a\":1,\"a\":2}"), 0);
	cr_assert_eq(error, &CTL_AWS_SERIALIZATION);
	cr_assert_neq(parse("text/plain", "AmazonSQS.ListQueues", "{}"), 0);
	cr_assert_eq(error, &CTL_AWS_UNKNOWN_OPERATION);
	cr_assert_neq(parse(JSON10, "Other.ListQueues", "{}"), 0);
	cr_assert_eq(error, &CTL_AWS_UNKNOWN_OPERATION);
}

Test(aws, oversized_bodies_are_refused_unread)
{
	cr_assert_neq(ctl_aws_parse(FORM, NULL, "", CTL_AWS_BODY_BYTES_MAX + 1, NULL, &request,
	                            &error, message, sizeof(message)),
	              0);
	cr_assert_eq(error, &CTL_AWS_TOO_LARGE);
}

Test(aws, xml_answers_as_sqs_writes_them)
{
	cr_assert_eq(parse(FORM, NULL, "Action=GetQueueAttributes&QueueUrl=u"), 0);
	json_t *result = json_pack("{s:{s:s}}", "Attributes", "VisibilityTimeout", "30");
	struct ctl_aws_reply reply;
	ctl_aws_render_result(&request, result, &reply);
	cr_assert_eq(reply.http_status, 200);
	cr_assert_str_eq(reply.content_type, "text/xml");
	cr_assert(strstr(reply.body,
	                 "<GetQueueAttributesResponse xmlns=\"http://queue.amazonaws."
	                 "com/doc/2012-11-05/\"><GetQueueAttributesResult><Attribute>"
	                 "<Name>VisibilityTimeout</Name><Value>30</Value></Attribute>") != NULL,
	          "%s", reply.body);
	cr_assert(strstr(reply.body, request.request_id) != NULL);
	ctl_aws_reply_clear(&reply);
	json_decref(result);

	cr_assert_eq(parse(FORM, NULL, "Action=ListQueues"), 0);
	result = json_pack("{s:[s,s]}", "QueueUrls", "a<&", "b");
	ctl_aws_render_result(&request, result, &reply);
	cr_assert(strstr(reply.body, "<ListQueuesResult><QueueUrl>a&lt;&amp;</QueueUrl><QueueUrl>b"
	                             "</QueueUrl></ListQueuesResult>") != NULL,
	          "%s", reply.body);
	ctl_aws_reply_clear(&reply);
	json_decref(result);
}

Test(aws, errors_in_each_protocol)
{
	struct ctl_aws_reply reply;
	ctl_aws_render_error(CTL_AWS_QUERY, CTL_AWS_SQS, "rid", &CTL_AWS_NONEXISTENT_QUEUE,
	                     "The specified queue does not exist.", &reply);
	cr_assert_eq(reply.http_status, 400);
	cr_assert(strstr(reply.body, "<ErrorResponse xmlns=\"http://queue.amazonaws.com/doc/"
	                             "2012-11-05/\"><Error><Type>Sender</Type><Code>AWS."
	                             "SimpleQueueService.NonExistentQueue</Code>") != NULL,
	          "%s", reply.body);
	cr_assert(strstr(reply.body, "<RequestId>rid</RequestId>") != NULL);
	ctl_aws_reply_clear(&reply);

	ctl_aws_render_error(CTL_AWS_JSON_10, CTL_AWS_SQS, "rid", &CTL_AWS_SIGNATURE_MISMATCH, "m",
	                     &reply);
	cr_assert_eq(reply.http_status, 403);
	cr_assert_str_eq(reply.query_error, "SignatureDoesNotMatch;Sender");
	cr_assert(strstr(reply.body, "InvalidSignatureException") != NULL);
	ctl_aws_reply_clear(&reply);

	/* ctl_sqs.c's error, rendered as query: the code is x-amzn-query-error's. */
	cr_assert_eq(parse(FORM, NULL, "Action=GetQueueUrl&QueueName=nope"), 0);
	json_t *body = json_pack("{s:s, s:s}", "__type", "com.amazonaws.sqs#QueueDoesNotExist",
	                         "message", "The specified queue does not exist.");
	ctl_aws_render_sqs_result(&request, 400, body,
	                          "AWS.SimpleQueueService.NonExistentQueue;Sender", &reply);
	cr_assert(strstr(reply.body, "<Code>AWS.SimpleQueueService.NonExistentQueue</Code>") !=
	          NULL);
	ctl_aws_reply_clear(&reply);
	json_decref(body);
}

/* SetQueueAttributes, the tag calls and PurgeQueue reach their handlers in both protocols;
 * query's Tag.N.* and TagKey.N take TagQueue's and UntagQueue's JSON 1.0 names. */
Test(aws, queue_attribute_tag_and_purge_actions_are_served)
{
	const char *manage[] = {"SetQueueAttributes", "TagQueue", "UntagQueue", "ListQueueTags",
	                        "ListDeadLetterSourceQueues"};
	char form[96], target[96];
	for (size_t i = 0; i < sizeof(manage) / sizeof(manage[0]); i++) {
		snprintf(form, sizeof(form), "Action=%s&QueueUrl=u", manage[i]);
		cr_assert_eq(parse(FORM, NULL, form), 0, "%s", message);
		cr_assert_eq(request.kind, CTL_AWS_MANAGE, "%s", manage[i]);
		snprintf(target, sizeof(target), "AmazonSQS.%s", manage[i]);
		cr_assert_eq(parse(JSON10, target, "{}"), 0, "%s", message);
		cr_assert_eq(request.kind, CTL_AWS_MANAGE, "%s", manage[i]);
	}
	cr_assert_eq(parse(FORM, NULL, "Action=PurgeQueue&QueueUrl=u"), 0);
	cr_assert_eq(request.kind, CTL_AWS_DATA, "busbard purges");
	cr_assert_eq(parse(JSON10, "AmazonSQS.PurgeQueue", "{\"QueueUrl\":\"u\"}"), 0);
	cr_assert_eq(request.kind, CTL_AWS_DATA);

	cr_assert_eq(parse(FORM, NULL,
	                   "Action=TagQueue&QueueUrl=u&Tag.1.Key=team&Tag.1.Value=a"
	                   "&Tag.2.Key=env&Tag.2.Value=b"),
	             0);
	json_t *want = json_pack("{s:s, s:{s:s, s:s}}", "QueueUrl", "u", "Tags", "team", "a",
	                         "env", "b");
	cr_assert(json_equal(request.params, want), "%s", json_dumps(request.params, 0));
	json_decref(want);
	cr_assert_eq(parse(FORM, NULL, "Action=UntagQueue&QueueUrl=u&TagKey.2=env&TagKey.1=team"),
	             0);
	want = json_pack("{s:s, s:[s,s]}", "QueueUrl", "u", "TagKeys", "team", "env");
	cr_assert(json_equal(request.params, want), "%s", json_dumps(request.params, 0));
	json_decref(want);
}

/* ListDeadLetterSourceQueues' queueUrls (issue 11) are <QueueUrl> elements in the query
 * protocol's XML, as SQS writes them. */
Test(aws, dead_letter_sources_render_as_sqs_writes_them)
{
	cr_assert_eq(parse(FORM, NULL, "Action=ListDeadLetterSourceQueues&QueueUrl=u&MaxResults=2"),
	             0);
	cr_assert_eq(json_integer_value(json_object_get(request.params, "MaxResults")), 2);
	json_t *result = json_pack("{s:[s], s:s}", "queueUrls", "a", "NextToken", "t");
	struct ctl_aws_reply reply;
	ctl_aws_render_result(&request, result, &reply);
	cr_assert(strstr(reply.body, "<ListDeadLetterSourceQueuesResult><QueueUrl>a</QueueUrl>"
	                             "<NextToken>t</NextToken></ListDeadLetterSourceQueuesResult>") !=
	              NULL,
	          "%s", reply.body);
	ctl_aws_reply_clear(&reply);
	json_decref(result);
}

Test(aws, tags_render_as_sqs_writes_them)
{
	cr_assert_eq(parse(FORM, NULL, "Action=ListQueueTags&QueueUrl=u"), 0);
	json_t *result = json_pack("{s:{s:s}}", "Tags", "team", "a<b");
	struct ctl_aws_reply reply;
	ctl_aws_render_result(&request, result, &reply);
	cr_assert(strstr(reply.body, "<ListQueueTagsResult><Tag><Key>team</Key><Value>a&lt;b"
	                             "</Value></Tag></ListQueueTagsResult>") != NULL,
	          "%s", reply.body);
	ctl_aws_reply_clear(&reply);
	json_decref(result);
}

/* PurgeQueue travels as WIRE_OP_PURGE_QUEUE with the queue's name; busbard's refusal within
 * 60 s is AWS's PurgeQueueInProgress. */
Test(aws, purge_queue_is_forwarded_to_busbard)
{
	struct ctl_aws_config config = {.account_id = "000000000000", .region = "local"};
	cr_assert_eq(parse(FORM, NULL,
	                   "Action=PurgeQueue&QueueUrl=http%3A%2F%2Fh%2F000000000000%2Fjobs"),
	             0);
	uint8_t *frame;
	size_t bytes;
	struct ctl_aws_data_op op;
	cr_assert_eq(ctl_aws_data_encode(&request, &config, &frame, &bytes, &op, &error, message,
	                                 sizeof(message)),
	             0, "%s", message);
	cr_assert_eq(op.opcode, WIRE_OP_PURGE_QUEUE);
	struct wire_header h;
	cr_assert_eq(wire_header_decode(frame, bytes, &h), WIRE_OK);
	cr_assert_eq(h.opcode, WIRE_OP_PURGE_QUEUE);
	struct wire_reader r;
	struct wire_field f;
	wire_reader_init(&r, frame + BB_WIRE_HEADER_BYTES, bytes - BB_WIRE_HEADER_BYTES);
	cr_assert_eq(wire_reader_next(&r, &f), 1);
	cr_assert_eq(f.tag, WIRE_TAG_QUEUE_NAME);
	cr_assert_eq(f.length, 4);
	cr_assert(memcmp(f.value, "jobs", 4) == 0);
	cr_assert_eq(wire_reader_next(&r, &f), 0, "nothing but the queue's name");
	free(frame);

	json_t *result;
	struct wire_header ok = {.opcode = WIRE_OP_PURGE_QUEUE, .status = WIRE_OK};
	cr_assert_eq(ctl_aws_data_decode(&op, &ok, NULL, 0, &result, &error, message,
	                                 sizeof(message)),
	             0);
	cr_assert_eq(json_object_size(result), 0);
	json_decref(result);
	struct wire_header busy = {.opcode = WIRE_OP_PURGE_QUEUE,
	                           .status = WIRE_ERR_PURGE_QUEUE_IN_PROGRESS};
	cr_assert_neq(ctl_aws_data_decode(&op, &busy, NULL, 0, &result, &error, message,
	                                  sizeof(message)),
	              0);
	cr_assert_str_eq(error->code, "AWS.SimpleQueueService.PurgeQueueInProgress");
	cr_assert_eq(error->http_status, 403);
}

/* A reply of busbard's with the fields a writer put, for the decoders. */
static size_t reply_body(uint8_t *buffer, size_t capacity, void (*put)(struct wire_writer *))
{
	struct wire_writer w;
	wire_writer_init(&w, buffer, capacity);
	put(&w);
	cr_assert(!w.overflow);
	return w.length;
}

static void put_counts(struct wire_writer *w)
{
	wire_put_u32(w, WIRE_TAG_MESSAGES_VISIBLE, 3);
	wire_put_u32(w, WIRE_TAG_MESSAGES_NOT_VISIBLE, 2);
	wire_put_u32(w, WIRE_TAG_MESSAGES_DELAYED, 1);
}

/* GetQueueAttributes' approximate counts are busbard's (GET_QUEUE_COUNTS on the queue of
 * the QueueUrl), asked for by name or All, in both protocols; the store's other attributes
 * stay as they are, and only the counts asked for are added. */
Test(aws, queue_counts_come_from_busbard)
{
	struct ctl_aws_config config = {.account_id = "000000000000", .region = "local"};
	cr_assert_eq(parse(FORM, NULL, "Action=GetQueueAttributes&QueueUrl=u&AttributeName.1="
	                               "VisibilityTimeout"),
	             0);
	cr_assert(!ctl_aws_counts_wanted(&request), "no count asked for: the store alone");
	cr_assert_eq(parse(JSON10, "AmazonSQS.GetQueueAttributes",
	                   "{\"QueueUrl\":\"http://h/000000000000/jobs\","
	                   "\"AttributeNames\":[\"ApproximateNumberOfMessagesDelayed\"]}"),
	             0);
	cr_assert(ctl_aws_counts_wanted(&request));
	uint8_t *frame;
	size_t bytes;
	cr_assert_eq(ctl_aws_counts_encode(&request, &config, &frame, &bytes, &error, message,
	                                   sizeof(message)),
	             0, "%s", message);
	struct wire_header h;
	cr_assert_eq(wire_header_decode(frame, bytes, &h), WIRE_OK);
	cr_assert_eq(h.opcode, WIRE_OP_GET_QUEUE_COUNTS);
	struct wire_reader r;
	struct wire_field f;
	wire_reader_init(&r, frame + BB_WIRE_HEADER_BYTES, bytes - BB_WIRE_HEADER_BYTES);
	cr_assert_eq(wire_reader_next(&r, &f), 1);
	cr_assert(f.tag == WIRE_TAG_QUEUE_NAME && f.length == 4 && memcmp(f.value, "jobs", 4) == 0);
	cr_assert_eq(wire_reader_next(&r, &f), 0);
	free(frame);

	uint8_t body[64];
	size_t body_bytes = reply_body(body, sizeof(body), put_counts);
	struct wire_header ok = {.opcode = WIRE_OP_GET_QUEUE_COUNTS, .status = WIRE_OK};
	json_t *counts;
	cr_assert_eq(ctl_aws_counts_decode(&ok, body, body_bytes, &counts, &error, message,
	                                   sizeof(message)),
	             0);
	json_t *answer = json_pack("{s:{s:s}}", "Attributes", "VisibilityTimeout", "30");
	ctl_aws_counts_merge(&request, counts, answer);
	json_t *want = json_pack("{s:{s:s, s:s}}", "Attributes", "VisibilityTimeout", "30",
	                         "ApproximateNumberOfMessagesDelayed", "1");
	cr_assert(json_equal(answer, want), "%s", json_dumps(answer, 0));
	json_decref(answer);
	json_decref(want);

	cr_assert_eq(parse(FORM, NULL, "Action=GetQueueAttributes&QueueUrl=u&AttributeName.1=All"),
	             0);
	cr_assert(ctl_aws_counts_wanted(&request));
	answer = json_object();
	ctl_aws_counts_merge(&request, counts, answer);
	want = json_pack("{s:{s:s, s:s, s:s}}", "Attributes", "ApproximateNumberOfMessages", "3",
	                 "ApproximateNumberOfMessagesNotVisible", "2",
	                 "ApproximateNumberOfMessagesDelayed", "1");
	cr_assert(json_equal(answer, want), "%s", json_dumps(answer, 0));
	struct ctl_aws_reply reply;
	ctl_aws_render_result(&request, answer, &reply);
	cr_assert(strstr(reply.body, "<Attribute><Name>ApproximateNumberOfMessages</Name><Value>3"
	                             "</Value></Attribute>") != NULL,
	          "%s", reply.body);
	ctl_aws_reply_clear(&reply);
	json_decref(answer);
	json_decref(want);
	json_decref(counts);
}

/* A queue the store has and busbard has not been given yet holds nothing; busbard's other
 * refusals are AWS's errors; a reply that does not parse is InternalError. */
Test(aws, queue_counts_of_a_queue_busbard_lacks_are_zero)
{
	struct wire_header unknown = {.opcode = WIRE_OP_GET_QUEUE_COUNTS,
	                              .status = WIRE_ERR_NONEXISTENT_QUEUE};
	json_t *counts;
	cr_assert_eq(ctl_aws_counts_decode(&unknown, NULL, 0, &counts, &error, message,
	                                   sizeof(message)),
	             0);
	cr_assert_str_eq(json_string_value(json_object_get(counts, "ApproximateNumberOfMessages")),
	                 "0");
	json_decref(counts);
	struct wire_header busy = {.opcode = WIRE_OP_GET_QUEUE_COUNTS,
	                           .status = WIRE_ERR_SERVICE_UNAVAILABLE};
	cr_assert_neq(ctl_aws_counts_decode(&busy, NULL, 0, &counts, &error, message,
	                                    sizeof(message)),
	              0);
	cr_assert_str_eq(error->code, "ServiceUnavailable");
	struct wire_header ok = {.opcode = WIRE_OP_GET_QUEUE_COUNTS, .status = WIRE_OK};
	uint8_t cut[] = {81, 0, 4, 0, 0, 0, 1}; /* a u32 field with one byte of its four */
	cr_assert_neq(ctl_aws_counts_decode(&ok, cut, sizeof(cut), &counts, &error, message,
	                                    sizeof(message)),
	              0);
	cr_assert_str_eq(error->code, "InternalError");
}

/* The fields of a request frame's body, for the encoders' tests. */
static json_t *frame_fields(const uint8_t *frame, size_t bytes)
{
	json_t *fields = json_object();
	struct wire_reader r;
	struct wire_field f;
	char tag[8];
	wire_reader_init(&r, frame + BB_WIRE_HEADER_BYTES, bytes - BB_WIRE_HEADER_BYTES);
	while (wire_reader_next(&r, &f) == 1) {
		snprintf(tag, sizeof(tag), "%u", f.tag);
		uint32_t u32;
		json_object_set_new(fields, tag,
		                    f.tag == WIRE_TAG_DELAY_SECONDS && wire_field_u32(&f, &u32)
		                        ? json_integer(u32)
		                        : json_stringn((const char *)f.value, f.length));
	}
	return fields;
}

/* SendMessage's DelaySeconds and a FIFO queue's MessageGroupId and MessageDeduplicationId
 * travel to busbard (which judges them: docs/protocol.md, "FIFO queues"); a FIFO send's
 * SequenceNumber comes back. */
Test(aws, send_forwards_delay_and_fifo_ids)
{
	struct ctl_aws_config config = {.account_id = "000000000000", .region = "local"};
	cr_assert_eq(parse(FORM, NULL,
	                   "Action=SendMessage&QueueUrl=http%3A%2F%2Fh%2F000000000000%2Fq.fifo"
	                   "&MessageBody=hi&DelaySeconds=900&MessageGroupId=g1"
	                   "&MessageDeduplicationId=d1"),
	             0);
	uint8_t *frame;
	size_t bytes;
	struct ctl_aws_data_op op;
	cr_assert_eq(ctl_aws_data_encode(&request, &config, &frame, &bytes, &op, &error, message,
	                                 sizeof(message)),
	             0, "%s", message);
	json_t *fields = frame_fields(frame, bytes);
	json_t *want = json_pack("{s:s, s:s, s:i, s:s, s:s}", "1", "q.fifo", "2", "hi", "80", 900,
	                         "50", "g1", "51", "d1");
	cr_assert(json_equal(fields, want), "%s", json_dumps(fields, 0));
	json_decref(fields);
	json_decref(want);
	free(frame);

	cr_assert_eq(parse(JSON10, "AmazonSQS.SendMessage",
	                   "{\"QueueUrl\":\"/000000000000/q\",\"MessageBody\":\"b\","
	                   "\"DelaySeconds\":901}"),
	             0);
	cr_assert_neq(ctl_aws_data_encode(&request, &config, &frame, &bytes, &op, &error, message,
	                                  sizeof(message)),
	              0);
	cr_assert_str_eq(error->code, "InvalidParameterValue");
	cr_assert_eq(parse(JSON10, "AmazonSQS.SendMessage",
	                   "{\"QueueUrl\":\"/000000000000/q\",\"MessageBody\":\"b\","
	                   "\"MessageGroupId\":7}"),
	             0);
	cr_assert_neq(ctl_aws_data_encode(&request, &config, &frame, &bytes, &op, &error, message,
	                                  sizeof(message)),
	              0, "an id that is not a string");
	cr_assert_str_eq(error->code, "InvalidParameterValue");

	op = (struct ctl_aws_data_op){.opcode = WIRE_OP_SEND_MESSAGE};
	uint8_t body[128];
	struct wire_writer w;
	wire_writer_init(&w, body, sizeof(body));
	wire_put_str(&w, WIRE_TAG_MESSAGE_ID, "id");
	wire_put_str(&w, WIRE_TAG_MD5_OF_BODY, "md5");
	wire_put_str(&w, WIRE_TAG_SEQUENCE_NUMBER, "18000000000000000001");
	struct wire_header ok = {.opcode = WIRE_OP_SEND_MESSAGE, .status = WIRE_OK};
	json_t *result;
	cr_assert_eq(ctl_aws_data_decode(&op, &ok, body, w.length, &result, &error, message,
	                                 sizeof(message)),
	             0);
	cr_assert_str_eq(json_string_value(json_object_get(result, "SequenceNumber")),
	                 "18000000000000000001");
	json_decref(result);
}

/* A received FIFO message's MessageGroupId and SequenceNumber are system attributes, given
 * when asked for by name or All, as AWS does. */
Test(aws, received_fifo_messages_carry_their_group_and_sequence)
{
	uint8_t body[256];
	struct wire_writer w;
	wire_writer_init(&w, body, sizeof(body));
	wire_put_bytes(&w, WIRE_TAG_MESSAGE_BEGIN, NULL, 0);
	wire_put_str(&w, WIRE_TAG_MESSAGE_ID, "id");
	wire_put_str(&w, WIRE_TAG_RECEIPT_HANDLE, "rh");
	wire_put_str(&w, WIRE_TAG_MD5_OF_BODY, "md5");
	wire_put_str(&w, WIRE_TAG_MESSAGE_GROUP_ID, "g1");
	wire_put_str(&w, WIRE_TAG_SEQUENCE_NUMBER, "18000000000000000001");
	wire_put_str(&w, WIRE_TAG_BODY, "hi");
	struct wire_header ok = {.opcode = WIRE_OP_RECEIVE_MESSAGE, .status = WIRE_OK};
	const char *by_name = "MessageSystemAttributeName.1=MessageGroupId"
	                      "&MessageSystemAttributeName.2=SequenceNumber";
	const char *asks[] = {"AttributeName.1=All", by_name, "AttributeName.1=SentTimestamp"};
	for (size_t i = 0; i < 3; i++) {
		char form[256];
		snprintf(form, sizeof(form), "Action=ReceiveMessage&QueueUrl=/000000000000/q.fifo&%s",
		         asks[i]);
		cr_assert_eq(parse(FORM, NULL, form), 0);
		struct ctl_aws_config config = {.account_id = "000000000000", .region = "local"};
		uint8_t *frame;
		size_t bytes;
		struct ctl_aws_data_op op;
		cr_assert_eq(ctl_aws_data_encode(&request, &config, &frame, &bytes, &op, &error,
		                                 message, sizeof(message)),
		             0, "%s", message);
		free(frame);
		json_t *result;
		cr_assert_eq(ctl_aws_data_decode(&op, &ok, body, w.length, &result, &error, message,
		                                 sizeof(message)),
		             0);
		json_t *attributes =
		    json_object_get(json_array_get(json_object_get(result, "Messages"), 0), "Attributes");
		const char *group = json_string_value(json_object_get(attributes, "MessageGroupId"));
		const char *sequence =
		    json_string_value(json_object_get(attributes, "SequenceNumber"));
		if (i < 2) {
			cr_assert_str_eq(group, "g1", "%s", asks[i]);
			cr_assert_str_eq(sequence, "18000000000000000001", "%s", asks[i]);
		} else {
			cr_assert_null(group, "not asked for");
			cr_assert_null(sequence, "not asked for");
		}
		json_decref(result);
	}
}

/* SendMessage's MessageAttributes (query's MessageAttribute.N.Name/Value.*, JSON 1.0's map,
 * a BinaryValue in base64) and AWSTraceHeader travel as busbard's attribute fields; the
 * reply's MD5OfMessageAttributes comes back. */
Test(aws, send_forwards_message_attributes)
{
	struct ctl_aws_config config = {.account_id = "000000000000", .region = "local"};
	const char *forms[] = {
	    "Action=SendMessage&QueueUrl=/000000000000/q&MessageBody=hi"
	    "&MessageAttribute.1.Name=n&MessageAttribute.1.Value.DataType=Binary"
	    "&MessageAttribute.1.Value.BinaryValue=AAE%3D"
	    "&MessageSystemAttribute.1.Name=AWSTraceHeader"
	    "&MessageSystemAttribute.1.Value.DataType=String"
	    "&MessageSystemAttribute.1.Value.StringValue=Root%3D1",
	    "{\"QueueUrl\":\"/000000000000/q\",\"MessageBody\":\"hi\",\"MessageAttributes\":"
	    "{\"n\":{\"DataType\":\"Binary\",\"BinaryValue\":\"AAE=\"}},"
	    "\"MessageSystemAttributes\":{\"AWSTraceHeader\":{\"DataType\":\"String\","
	    "\"StringValue\":\"Root=1\"}}}"};
	for (size_t i = 0; i < 2; i++) {
		cr_assert_eq(i == 0 ? parse(FORM, NULL, forms[i])
		                    : parse(JSON10, "AmazonSQS.SendMessage", forms[i]),
		             0);
		uint8_t *frame;
		size_t bytes;
		struct ctl_aws_data_op op;
		cr_assert_eq(ctl_aws_data_encode(&request, &config, &frame, &bytes, &op, &error,
		                                 message, sizeof(message)),
		             0, "%s", message);
		uint16_t tags[8];
		size_t count = 0;
		const uint8_t *binary = NULL;
		struct wire_reader r;
		struct wire_field f;
		wire_reader_init(&r, frame + BB_WIRE_HEADER_BYTES, bytes - BB_WIRE_HEADER_BYTES);
		while (wire_reader_next(&r, &f) == 1 && count < 8) {
			tags[count++] = f.tag;
			if (f.tag == WIRE_TAG_ATTRIBUTE_BINARY_VALUE && f.length == 2)
				binary = f.value;
		}
		uint16_t want[] = {WIRE_TAG_QUEUE_NAME,          WIRE_TAG_BODY,
		                   WIRE_TAG_ATTRIBUTE_BEGIN,     WIRE_TAG_ATTRIBUTE_NAME,
		                   WIRE_TAG_ATTRIBUTE_DATA_TYPE, WIRE_TAG_ATTRIBUTE_BINARY_VALUE,
		                   WIRE_TAG_AWS_TRACE_HEADER};
		cr_assert_eq(count, 7, "%zu fields", count);
		cr_assert(memcmp(tags, want, sizeof(want)) == 0, "form %zu", i);
		cr_assert(binary != NULL && binary[0] == 0 && binary[1] == 1, "base64 decoded");
		free(frame);
	}
	cr_assert_eq(parse(JSON10, "AmazonSQS.SendMessage",
	                   "{\"QueueUrl\":\"/000000000000/q\",\"MessageBody\":\"hi\","
	                   "\"MessageAttributes\":{\"n\":{\"DataType\":\"Binary\","
	                   "\"BinaryValue\":\"not base64\"}}}"),
	             0);
	uint8_t *frame;
	size_t bytes;
	struct ctl_aws_data_op op;
	cr_assert_neq(ctl_aws_data_encode(&request, &config, &frame, &bytes, &op, &error, message,
	                                  sizeof(message)),
	              0);
	cr_assert_str_eq(error->code, "InvalidParameterValue");

	op = (struct ctl_aws_data_op){.opcode = WIRE_OP_SEND_MESSAGE};
	uint8_t body[160];
	struct wire_writer w;
	wire_writer_init(&w, body, sizeof(body));
	wire_put_str(&w, WIRE_TAG_MESSAGE_ID, "id");
	wire_put_str(&w, WIRE_TAG_MD5_OF_BODY, "md5");
	wire_put_str(&w, WIRE_TAG_MD5_OF_MESSAGE_ATTRIBUTES, "0123456789abcdef0123456789abcdef");
	struct wire_header ok = {.opcode = WIRE_OP_SEND_MESSAGE, .status = WIRE_OK};
	json_t *result;
	cr_assert_eq(ctl_aws_data_decode(&op, &ok, body, w.length, &result, &error, message,
	                                 sizeof(message)),
	             0);
	cr_assert_str_eq(json_string_value(json_object_get(result, "MD5OfMessageAttributes")),
	                 "0123456789abcdef0123456789abcdef");
	json_decref(result);
}

/* ReceiveMessage's MessageAttributeNames go to busbard, which selects; the attributes it
 * returns become MessageAttributes (Binary in base64) with MD5OfMessageAttributes, and in
 * the query protocol <MessageAttribute><Name>..</Name><Value>..</Value>. */
Test(aws, receive_renders_message_attributes)
{
	struct ctl_aws_config config = {.account_id = "000000000000", .region = "local"};
	cr_assert_eq(parse(FORM, NULL,
	                   "Action=ReceiveMessage&QueueUrl=/000000000000/q"
	                   "&MessageAttributeName.1=n&MessageAttributeName.2=p.*"),
	             0);
	uint8_t *frame;
	size_t bytes;
	struct ctl_aws_data_op op;
	cr_assert_eq(ctl_aws_data_encode(&request, &config, &frame, &bytes, &op, &error, message,
	                                 sizeof(message)),
	             0, "%s", message);
	uint32_t names = 0;
	struct wire_reader r;
	struct wire_field f;
	wire_reader_init(&r, frame + BB_WIRE_HEADER_BYTES, bytes - BB_WIRE_HEADER_BYTES);
	while (wire_reader_next(&r, &f) == 1)
		names += f.tag == WIRE_TAG_MESSAGE_ATTRIBUTE_NAME;
	cr_assert_eq(names, 2);
	free(frame);

	uint8_t body[256];
	struct wire_writer w;
	wire_writer_init(&w, body, sizeof(body));
	wire_put_bytes(&w, WIRE_TAG_MESSAGE_BEGIN, NULL, 0);
	wire_put_str(&w, WIRE_TAG_MESSAGE_ID, "id");
	wire_put_str(&w, WIRE_TAG_MD5_OF_MESSAGE_ATTRIBUTES, "0123456789abcdef0123456789abcdef");
	wire_put_bytes(&w, WIRE_TAG_ATTRIBUTE_BEGIN, NULL, 0);
	wire_put_str(&w, WIRE_TAG_ATTRIBUTE_DATA_TYPE, "String"); /* any order */
	wire_put_str(&w, WIRE_TAG_ATTRIBUTE_NAME, "n");
	wire_put_str(&w, WIRE_TAG_ATTRIBUTE_STRING_VALUE, "v<");
	wire_put_bytes(&w, WIRE_TAG_ATTRIBUTE_BEGIN, NULL, 0);
	wire_put_str(&w, WIRE_TAG_ATTRIBUTE_NAME, "p.b");
	wire_put_str(&w, WIRE_TAG_ATTRIBUTE_DATA_TYPE, "Binary");
	wire_put_bytes(&w, WIRE_TAG_ATTRIBUTE_BINARY_VALUE, "\x00\x01", 2);
	wire_put_str(&w, WIRE_TAG_BODY, "hi");
	struct wire_header ok = {.opcode = WIRE_OP_RECEIVE_MESSAGE, .status = WIRE_OK};
	json_t *result;
	cr_assert_eq(ctl_aws_data_decode(&op, &ok, body, w.length, &result, &error, message,
	                                 sizeof(message)),
	             0);
	json_t *m = json_array_get(json_object_get(result, "Messages"), 0);
	json_t *want = json_pack("{s:{s:s, s:s}, s:{s:s, s:s}}", "n", "DataType", "String",
	                         "StringValue", "v<", "p.b", "DataType", "Binary", "BinaryValue",
	                         "AAE=");
	cr_assert(json_equal(json_object_get(m, "MessageAttributes"), want), "%s",
	          json_dumps(m, 0));
	cr_assert_str_eq(json_string_value(json_object_get(m, "MD5OfMessageAttributes")),
	                 "0123456789abcdef0123456789abcdef");
	json_decref(want);
	struct ctl_aws_reply reply;
	ctl_aws_render_result(&request, result, &reply);
	cr_assert(strstr(reply.body, "<MessageAttribute><Name>n</Name><Value><DataType>String"
	                             "</DataType><StringValue>v&lt;</StringValue></Value>"
	                             "</MessageAttribute>") != NULL,
	          "%s", reply.body);
	ctl_aws_reply_clear(&reply);
	json_decref(result);

	wire_writer_init(&w, body, sizeof(body));
	wire_put_bytes(&w, WIRE_TAG_MESSAGE_BEGIN, NULL, 0);
	wire_put_str(&w, WIRE_TAG_ATTRIBUTE_NAME, "n"); /* before any ATTRIBUTE_BEGIN */
	cr_assert_neq(ctl_aws_data_decode(&op, &ok, body, w.length, &result, &error, message,
	                                  sizeof(message)),
	              0);
}

/* ---- SQS batches (ctl_aws_batch.h) ---- */

static const struct ctl_aws_config batch_config = {.account_id = "000000000000",
                                                   .region = "local"};

/* Encodes the parsed request: 0, or the error's code in `message`. */
static int encode(uint8_t **frame, size_t *bytes, struct ctl_aws_data_op *op)
{
	return ctl_aws_data_encode(&request, &batch_config, frame, bytes, op, &error, message,
	                           sizeof(message));
}

/* A query SendMessageBatch's SendMessageBatchRequestEntry.N.* fold into JSON 1.0's Entries,
 * in N's order, each entry's fields in their JSON shape (a number, an attribute map), and
 * leave no flat copy behind. */
Test(aws, query_batch_entries_fold_into_entries)
{
	cr_assert_eq(parse(FORM, NULL,
	                   "Action=SendMessageBatch&QueueUrl=%2F000000000000%2Fq.fifo"
	                   "&SendMessageBatchRequestEntry.2.Id=second"
	                   "&SendMessageBatchRequestEntry.2.MessageBody=b"
	                   "&SendMessageBatchRequestEntry.1.Id=first"
	                   "&SendMessageBatchRequestEntry.1.MessageBody=a"
	                   "&SendMessageBatchRequestEntry.1.DelaySeconds=5"
	                   "&SendMessageBatchRequestEntry.1.MessageGroupId=g"
	                   "&SendMessageBatchRequestEntry.1.MessageAttribute.1.Name=n"
	                   "&SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.DataType=String"
	                   "&SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.StringValue=v"),
	             0, "%s", message);
	cr_assert_eq(request.kind, CTL_AWS_DATA);
	json_t *want = json_pack(
	    "{s:s, s:[{s:s, s:s, s:i, s:s, s:{s:{s:s, s:s}}}, {s:s, s:s}]}", "QueueUrl",
	    "/000000000000/q.fifo", "Entries", "Id", "first", "MessageBody", "a", "DelaySeconds", 5,
	    "MessageGroupId", "g", "MessageAttributes", "n", "Value.DataType", "String",
	    "Value.StringValue", "v", "Id", "second", "MessageBody", "b");
	cr_assert(json_equal(request.params, want), "%s", json_dumps(request.params, 0));
	json_decref(want);
	cr_assert_str_eq(ctl_aws_policy_action(&request), "SendMessage", "IAM's action");
	/* botocore sends an empty list as "Entries=": a batch without entries, as AWS takes it. */
	cr_assert_eq(parse(FORM, NULL, "Action=DeleteMessageBatch&QueueUrl=%2F000000000000%2Fq"
	                               "&Entries="),
	             0);
	cr_assert_null(json_object_get(request.params, "Entries"), "%s",
	               json_dumps(request.params, 0));
}

/* The tags of a frame's fields, in order, as text ("1 40 41 2 ..."). */
static void frame_tags(const uint8_t *frame, size_t bytes, char *out, size_t out_bytes)
{
	struct wire_reader r;
	struct wire_field f;
	size_t used = 0;
	out[0] = '\0';
	wire_reader_init(&r, frame + BB_WIRE_HEADER_BYTES, bytes - BB_WIRE_HEADER_BYTES);
	while (wire_reader_next(&r, &f) == 1 && used < out_bytes)
		used += (size_t)snprintf(out + used, out_bytes - used, used ? " %u" : "%u", f.tag);
}

/* Each entry goes to busbard as ENTRY_BEGIN, ENTRY_ID and its call's fields; ranges an entry
 * may fail alone (DelaySeconds, VisibilityTimeout) travel for busbard to judge per entry. */
Test(aws, batch_entries_travel_as_busbards_entries)
{
	cr_assert_eq(parse(JSON10, "AmazonSQS.SendMessageBatch",
	                   "{\"QueueUrl\":\"/000000000000/q.fifo\",\"Entries\":["
	                   "{\"Id\":\"a\",\"MessageBody\":\"x\",\"MessageGroupId\":\"g\","
	                   "\"MessageDeduplicationId\":\"d\",\"MessageAttributes\":{\"n\":"
	                   "{\"DataType\":\"String\",\"StringValue\":\"v\"}}},"
	                   "{\"Id\":\"b\",\"MessageBody\":\"y\",\"DelaySeconds\":901}]}"),
	             0);
	uint8_t *frame;
	size_t bytes;
	struct ctl_aws_data_op op;
	cr_assert_eq(encode(&frame, &bytes, &op), 0, "%s", message);
	cr_assert_eq(op.opcode, WIRE_OP_SEND_MESSAGE_BATCH);
	char tags[256];
	frame_tags(frame, bytes, tags, sizeof(tags));
	cr_assert_str_eq(tags, "1 40 41 2 50 51 63 64 65 66 40 41 2 80");
	free(frame);

	cr_assert_eq(parse(FORM, NULL,
	                   "Action=ChangeMessageVisibilityBatch&QueueUrl=%2F000000000000%2Fq"
	                   "&ChangeMessageVisibilityBatchRequestEntry.1.Id=a"
	                   "&ChangeMessageVisibilityBatchRequestEntry.1.ReceiptHandle=h1"
	                   "&ChangeMessageVisibilityBatchRequestEntry.1.VisibilityTimeout=50000"),
	             0);
	cr_assert_eq(encode(&frame, &bytes, &op), 0, "%s", message);
	frame_tags(frame, bytes, tags, sizeof(tags));
	cr_assert_str_eq(tags, "1 40 41 4 7");
	free(frame);
	cr_assert_eq(parse(JSON10, "AmazonSQS.DeleteMessageBatch",
	                   "{\"QueueUrl\":\"/000000000000/q\",\"Entries\":["
	                   "{\"Id\":\"a\",\"ReceiptHandle\":\"h1\"}]}"),
	             0);
	cr_assert_eq(encode(&frame, &bytes, &op), 0, "%s", message);
	frame_tags(frame, bytes, tags, sizeof(tags));
	cr_assert_str_eq(tags, "1 40 41 4");
	free(frame);
}

/* Encodes a JSON 1.0 batch whose Entries are `entries`; returns the refusal's code. */
static const char *batch_refusal(const char *action, const char *entries)
{
	char target[64], body[4096];
	snprintf(target, sizeof(target), "AmazonSQS.%s", action);
	snprintf(body, sizeof(body), "{\"QueueUrl\":\"/000000000000/q\"%s%s}",
	         entries ? ",\"Entries\":" : "", entries ? entries : "");
	cr_assert_eq(parse(JSON10, target, body), 0, "%s", body);
	uint8_t *frame = NULL;
	size_t bytes;
	struct ctl_aws_data_op op;
	cr_assert_neq(encode(&frame, &bytes, &op), 0, "%s", body);
	cr_assert_null(frame);
	cr_assert_eq(error->http_status, 400);
	cr_assert(error->sender);
	return error->code;
}

/* What fails a batch as a whole: AWS's codes, JSON types and texts. */
Test(aws, batch_refusals_are_aws_s)
{
	cr_assert_str_eq(batch_refusal("SendMessageBatch", NULL),
	                 "AWS.SimpleQueueService.EmptyBatchRequest");
	cr_assert_str_eq(message,
	                 "There should be at least one SendMessageBatchRequestEntry in the request.");
	cr_assert_str_eq(error->json_type, "com.amazonaws.sqs#EmptyBatchRequest");
	cr_assert_str_eq(batch_refusal("DeleteMessageBatch", "[]"),
	                 "AWS.SimpleQueueService.EmptyBatchRequest");
	char eleven[1024] = "[";
	for (int i = 0; i < 11; i++)
		snprintf(eleven + strlen(eleven), sizeof(eleven) - strlen(eleven),
		         "%s{\"Id\":\"e%d\",\"MessageBody\":\"x\"}", i ? "," : "", i);
	strcat(eleven, "]");
	cr_assert_str_eq(batch_refusal("SendMessageBatch", eleven),
	                 "AWS.SimpleQueueService.TooManyEntriesInBatchRequest");
	cr_assert_str_eq(message, "Maximum number of entries per request are 10. You have sent 11.");
	cr_assert_str_eq(batch_refusal("SendMessageBatch", "[{\"Id\":\"a b\",\"MessageBody\":\"x\"}]"),
	                 "AWS.SimpleQueueService.InvalidBatchEntryId");
	cr_assert_str_eq(
	    batch_refusal("ChangeMessageVisibilityBatch",
	                  "[{\"Id\":\"x\",\"ReceiptHandle\":\"h\",\"VisibilityTimeout\":1},"
	                  "{\"Id\":\"x\",\"ReceiptHandle\":\"h\",\"VisibilityTimeout\":1}]"),
	    "AWS.SimpleQueueService.BatchEntryIdsNotDistinct");
	cr_assert_str_eq(message, "Id x repeated.");
	cr_assert_str_eq(error->json_type, "com.amazonaws.sqs#BatchEntryIdsNotDistinct");
	cr_assert_str_eq(batch_refusal("DeleteMessageBatch", "[{\"ReceiptHandle\":\"h\"}]"),
	                 "MissingParameter");
}

/* Bodies and attributes over 1 MiB together are BatchRequestTooLong, 1 MiB exactly is not
 * (a BinaryValue counts its bytes, not its base64). */
Test(aws, a_batch_over_a_mebibyte_is_too_long)
{
	size_t half = (1u << 19) - 4;
	char *body = malloc(2 * half + 512);
	char *x = malloc(half + 1);
	memset(x, 'x', half);
	x[half] = '\0';
	/* 2 * half + "n" + "Binary" + the 3 bytes of "AAAA" = 1 MiB + 2 */
	const char *format = "{\"QueueUrl\":\"/000000000000/q\",\"Entries\":["
	                     "{\"Id\":\"a\",\"MessageBody\":\"%s\"},{\"Id\":\"b\",\"MessageBody\":"
	                     "\"%s\",\"MessageAttributes\":{\"n\":{\"DataType\":\"Binary\","
	                     "\"BinaryValue\":\"AAAA\"}}}]}";
	snprintf(body, 2 * half + 512, format, x, x);
	cr_assert_eq(parse(JSON10, "AmazonSQS.SendMessageBatch", body), 0);
	uint8_t *frame = NULL;
	size_t bytes;
	struct ctl_aws_data_op op;
	cr_assert_neq(encode(&frame, &bytes, &op), 0);
	cr_assert_str_eq(error->code, "AWS.SimpleQueueService.BatchRequestTooLong");
	cr_assert_str_eq(message, "Batch requests cannot be longer than 1048576 bytes. You have "
	                          "sent 1048578 bytes.");
	x[half - 2] = '\0'; /* two bytes fewer in each body: 1 MiB - 2 */
	snprintf(body, 2 * half + 512, format, x, x);
	cr_assert_eq(parse(JSON10, "AmazonSQS.SendMessageBatch", body), 0);
	cr_assert_eq(encode(&frame, &bytes, &op), 0, "%s", message);
	free(frame);
	free(x);
	free(body);
}

static void put_batch_answers(struct wire_writer *w)
{
	wire_put_bytes(w, WIRE_TAG_ENTRY_BEGIN, NULL, 0);
	wire_put_str(w, WIRE_TAG_ENTRY_ID, "a");
	wire_put_str(w, WIRE_TAG_MESSAGE_ID, "11111111-2222-3333-4444-555555555555");
	wire_put_str(w, WIRE_TAG_MD5_OF_BODY, "0cc175b9c0f1b6a831c399e269772661");
	wire_put_str(w, WIRE_TAG_SEQUENCE_NUMBER, "18000000000000000001");
	wire_put_bytes(w, WIRE_TAG_ENTRY_BEGIN, NULL, 0);
	wire_put_str(w, WIRE_TAG_ENTRY_ID, "b");
	wire_put_u32(w, WIRE_TAG_ENTRY_STATUS, WIRE_ERR_INVALID_MESSAGE_CONTENTS);
	wire_put_bytes(w, WIRE_TAG_ENTRY_BEGIN, NULL, 0);
	wire_put_str(w, WIRE_TAG_ENTRY_ID, "c");
	wire_put_u32(w, WIRE_TAG_ENTRY_STATUS, WIRE_ERR_SERVICE_UNAVAILABLE);
}

/* busbard's per-entry answers become Successful and Failed (Id, SenderFault, Code, Message),
 * rendered in query as <SendMessageBatchResultEntry> and <BatchResultErrorEntry>. */
Test(aws, batch_answers_are_successful_and_failed_entries)
{
	cr_assert_eq(parse(FORM, NULL, "Action=SendMessageBatch&QueueUrl=%2F000000000000%2Fq"), 0);
	uint8_t body[1024];
	size_t body_bytes = reply_body(body, sizeof(body), put_batch_answers);
	struct ctl_aws_data_op op = {.opcode = WIRE_OP_SEND_MESSAGE_BATCH};
	struct wire_header ok = {.opcode = WIRE_OP_SEND_MESSAGE_BATCH, .status = WIRE_OK};
	json_t *result;
	cr_assert_eq(ctl_aws_data_decode(&op, &ok, body, body_bytes, &result, &error, message,
	                                 sizeof(message)),
	             0, "%s", message);
	json_t *successful = json_object_get(result, "Successful");
	json_t *failed = json_object_get(result, "Failed");
	cr_assert_eq(json_array_size(successful), 1);
	cr_assert_eq(json_array_size(failed), 2);
	json_t *a = json_array_get(successful, 0);
	cr_assert_str_eq(json_string_value(json_object_get(a, "SequenceNumber")),
	                 "18000000000000000001");
	json_t *b = json_array_get(failed, 0), *c = json_array_get(failed, 1);
	cr_assert_str_eq(json_string_value(json_object_get(b, "Code")), "InvalidMessageContents");
	cr_assert(json_is_true(json_object_get(b, "SenderFault")));
	cr_assert_not_null(json_string_value(json_object_get(b, "Message")));
	cr_assert_str_eq(json_string_value(json_object_get(c, "Code")), "ServiceUnavailable");
	cr_assert(json_is_false(json_object_get(c, "SenderFault")), "busbard's fault, not yours");
	struct ctl_aws_reply reply;
	ctl_aws_render_result(&request, result, &reply);
	cr_assert(strstr(reply.body, "<SendMessageBatchResult><SendMessageBatchResultEntry><Id>a"
	                             "</Id><MessageId>11111111-2222-3333-4444-555555555555"
	                             "</MessageId>") != NULL,
	          "%s", reply.body);
	cr_assert(strstr(reply.body, "<BatchResultErrorEntry><Id>b</Id><SenderFault>true"
	                             "</SenderFault><Code>InvalidMessageContents</Code>") != NULL,
	          "%s", reply.body);
	ctl_aws_reply_clear(&reply);
	json_decref(result);

	struct wire_header refused = {.opcode = WIRE_OP_SEND_MESSAGE_BATCH,
	                              .status = WIRE_ERR_BATCH_ENTRY_IDS_NOT_DISTINCT};
	cr_assert_neq(ctl_aws_data_decode(&op, &refused, NULL, 0, &result, &error, message,
	                                  sizeof(message)),
	              0);
	cr_assert_str_eq(error->code, "AWS.SimpleQueueService.BatchEntryIdsNotDistinct");
	cr_assert_neq(ctl_aws_data_decode(&op, &ok, body, 10, &result, &error, message,
	                                  sizeof(message)),
	              0, "a reply cut short does not parse");
	cr_assert_str_eq(error->code, "InternalError");
}

static void put_fifo_message(struct wire_writer *w)
{
	wire_put_bytes(w, WIRE_TAG_MESSAGE_BEGIN, NULL, 0);
	wire_put_str(w, WIRE_TAG_MESSAGE_ID, "id");
	wire_put_str(w, WIRE_TAG_RECEIPT_HANDLE, "rh");
	wire_put_str(w, WIRE_TAG_MD5_OF_BODY, "md5");
	wire_put_str(w, WIRE_TAG_MESSAGE_GROUP_ID, "g1");
	wire_put_str(w, WIRE_TAG_SEQUENCE_NUMBER, "18000000000000000001");
	wire_put_str(w, WIRE_TAG_MESSAGE_DEDUPLICATION_ID, "d1");
	wire_put_str(w, WIRE_TAG_BODY, "hi");
}

/* A received FIFO message's MessageDeduplicationId (busbard's reply carries it) is a system
 * attribute given when asked for by name or All, never otherwise. */
Test(aws, received_fifo_messages_carry_their_dedup_id_when_asked)
{
	uint8_t body[256];
	size_t body_bytes = reply_body(body, sizeof(body), put_fifo_message);
	struct wire_header ok = {.opcode = WIRE_OP_RECEIVE_MESSAGE, .status = WIRE_OK};
	const char *asks[] = {"{\"AttributeNames\":[\"All\"]}",
	                      "{\"MessageSystemAttributeNames\":[\"MessageDeduplicationId\"]}",
	                      "{\"MessageSystemAttributeNames\":[\"MessageGroupId\"]}"};
	for (size_t i = 0; i < 3; i++) {
		char json[256];
		snprintf(json, sizeof(json), "{\"QueueUrl\":\"/000000000000/q.fifo\",%s", asks[i] + 1);
		cr_assert_eq(parse(JSON10, "AmazonSQS.ReceiveMessage", json), 0, "%s", json);
		uint8_t *frame;
		size_t bytes;
		struct ctl_aws_data_op op;
		cr_assert_eq(encode(&frame, &bytes, &op), 0, "%s", message);
		free(frame);
		json_t *result;
		cr_assert_eq(ctl_aws_data_decode(&op, &ok, body, body_bytes, &result, &error, message,
		                                 sizeof(message)),
		             0);
		json_t *attributes = json_object_get(
		    json_array_get(json_object_get(result, "Messages"), 0), "Attributes");
		const char *dedup =
		    json_string_value(json_object_get(attributes, "MessageDeduplicationId"));
		if (i < 2)
			cr_assert_str_eq(dedup, "d1", "%s", asks[i]);
		else
			cr_assert_null(dedup, "not asked for");
		json_decref(result);
	}
}

/* ReceiveRequestAttemptId goes to busbard as RECEIVE_REQUEST_ATTEMPT_ID; one that is not
 * 1-128 letters, digits or punctuation is InvalidParameterValue, as SQS. */
Test(aws, receive_passes_the_attempt_id_and_refuses_a_bad_one)
{
	struct ctl_aws_config config = {.account_id = "000000000000", .region = "local"};
	cr_assert_eq(parse(FORM, NULL,
	                   "Action=ReceiveMessage&QueueUrl=/000000000000/q.fifo"
	                   "&ReceiveRequestAttemptId=try-1%21"),
	             0);
	uint8_t *frame;
	size_t bytes;
	struct ctl_aws_data_op op;
	cr_assert_eq(ctl_aws_data_encode(&request, &config, &frame, &bytes, &op, &error, message,
	                                 sizeof(message)),
	             0, "%s", message);
	bool found = false;
	struct wire_reader r;
	struct wire_field f;
	wire_reader_init(&r, frame + BB_WIRE_HEADER_BYTES, bytes - BB_WIRE_HEADER_BYTES);
	while (wire_reader_next(&r, &f) == 1) {
		if (f.tag == WIRE_TAG_RECEIVE_REQUEST_ATTEMPT_ID)
			found = f.length == 6 && memcmp(f.value, "try-1!", 6) == 0;
	}
	cr_assert(found);
	free(frame);
	cr_assert_eq(parse(FORM, NULL,
	                   "Action=ReceiveMessage&QueueUrl=/000000000000/q.fifo"
	                   "&ReceiveRequestAttemptId=has+space"),
	             0);
	cr_assert_neq(ctl_aws_data_encode(&request, &config, &frame, &bytes, &op, &error, message,
	                                  sizeof(message)),
	              0);
	cr_assert_str_eq(error->code, CTL_AWS_INVALID_PARAMETER.code);
}
