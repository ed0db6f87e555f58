/*
 * The AWS formats of busbar-control (ctl_aws.h) without a server: query
 * parameters become the JSON 1.0 shape (indexed lists and maps in order,
 * numbers as numbers), every protocol and service is told apart, bad input is
 * AWS's error, and answers render as SQS writes them (XML with its namespace
 * and Name/Value attributes; JSON with x-amzn-query-error).
 */
#include <criterion/criterion.h>
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
	cr_assert_eq(parse(FORM, NULL, "Action=StartMessageMoveTask&SourceArn=x"), 0);
	cr_assert_eq(request.kind, CTL_AWS_UNSUPPORTED);
}

Test(aws, json_protocols_and_services)
{
	cr_assert_eq(parse(JSON10, "AmazonSQS.SendMessage", "{\"QueueUrl\":\"u\"}"), 0);
	cr_assert_eq(request.protocol, CTL_AWS_JSON_10);
	cr_assert_eq(request.kind, CTL_AWS_DATA);
	cr_assert_eq(parse(JSON10, "AmazonSQS.StartMessageMoveTask", "{}"), 0);
	cr_assert_eq(request.kind, CTL_AWS_UNSUPPORTED);
	cr_assert_eq(parse("application/x-amz-json-1.1", "AWSEvents.PutEvents", "{}"), 0);
	cr_assert_eq(request.protocol, CTL_AWS_JSON_11);
	cr_assert_eq(request.service, CTL_AWS_EVENTS);
	cr_assert_eq(request.kind, CTL_AWS_DATA); /* forwarded to busbard (ctl_events_data.c) */
	cr_assert_eq(parse("application/x-amz-json-1.1", "AWSEvents.PutRule", "{}"), 0);
	cr_assert_eq(request.kind, CTL_AWS_MANAGE); /* busbar-control's store (ctl_events.c) */
	cr_assert_eq(parse("application/x-amz-json-1.1", "AWSEvents.CreateArchive", "{}"), 0);
	cr_assert_eq(request.kind, CTL_AWS_UNSUPPORTED);
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
