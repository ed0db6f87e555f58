/*
 * busbar-control's SNS management against an in-memory store: every call with
 * SNS's shapes and error codes, idempotent CreateTopic and Subscribe, every
 * limit reached (topics, subscriptions per topic and in all, filter policies per
 * topic, tags), a bad filter policy refused with the compiler's reason, the query
 * form's Attributes.entry.N / Tags.member.N lists, and the topics and
 * subscriptions that the snapshot busbard receives carries (decoded as busbard
 * decodes it). Each change, and only a change, moves the configuration version.
 */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bb_snapshot.h"
#include "ctl_aws.h"
#include "ctl_aws_data.h"
#include "ctl_sns.h"
#include "ctl_sns_store.h"

#define ARN_PREFIX "arn:aws:sns:local:000000000000:"
#define QUEUE_ARN  "arn:aws:sqs:local:000000000000:"

static struct ctl_store *store;
static struct ctl_sns_context context;
static struct ctl_sqs_result result;

static void setup(void)
{
	char error[256];
	store = ctl_store_open(":memory:", error, sizeof(error));
	cr_assert_not_null(store, "%s", error);
	context = (struct ctl_sns_context){
	    .store = store, .account_id = "000000000000", .region = "local"};
}

static void teardown(void)
{
	json_decref(result.body);
	ctl_store_close(store);
}

TestSuite(ctl_sns, .init = setup, .fini = teardown);

static void call(const char *action, const char *body)
{
	char target[64];
	snprintf(target, sizeof(target), "AmazonSNS.%s", action);
	json_decref(result.body);
	ctl_sns_handle(&context, target, body, strlen(body), &result);
}

/* call() with a body made by printf. */
__attribute__((format(printf, 2, 3))) static void callf(const char *action, const char *format,
                                                        ...)
{
	char body[4096];
	va_list ap;
	va_start(ap, format);
	vsnprintf(body, sizeof(body), format, ap);
	va_end(ap);
	call(action, body);
}

static const char *str(const char *key)
{
	return json_string_value(json_object_get(result.body, key));
}

static const char *attribute(const char *key)
{
	return json_string_value(json_object_get(json_object_get(result.body, "Attributes"), key));
}

static void expect_error(unsigned status, const char *code, const char *in_message)
{
	cr_assert_eq(result.http_status, status, "status %u: %s", result.http_status,
	             json_dumps(result.body, 0));
	cr_assert_str_eq(str("__type"), code);
	char query[64];
	snprintf(query, sizeof(query), "%s;Sender", code);
	cr_assert_str_eq(result.query_error, query);
	if (in_message != NULL)
		cr_assert(strstr(str("message"), in_message) != NULL, "message: %s", str("message"));
}

static void expect_ok(void)
{
	cr_assert_eq(result.http_status, 200, "%s", json_dumps(result.body, 0));
}

static void make_queue(const char *name, bool fifo)
{
	struct ctl_queue q = {.visibility_timeout_s = 30, .maximum_message_bytes = 1024,
	                      .fifo = fifo}, existing;
	snprintf(q.name, sizeof(q.name), "%s", name);
	cr_assert_eq(ctl_store_create_queue(store, &q, &existing), 0);
}

/* The uuid at the end of a subscription ARN. */
static const char *uuid_of(const char *arn)
{
	return strrchr(arn, ':') + 1;
}

Test(ctl_sns, topic_create_get_set_list_delete)
{
	uint64_t v0 = ctl_store_version(store);
	call("CreateTopic", "{\"Name\":\"orders\",\"Attributes\":{\"DisplayName\":\"Orders\"}}");
	expect_ok();
	cr_assert_str_eq(str("TopicArn"), ARN_PREFIX "orders");
	cr_assert(result.changed);
	cr_assert_eq(ctl_store_version(store), v0 + 1);

	call("CreateTopic", "{\"Name\":\"orders\",\"Attributes\":{\"DisplayName\":\"Orders\"}}");
	expect_ok();
	cr_assert_str_eq(str("TopicArn"), ARN_PREFIX "orders", "the same attributes: idempotent");
	cr_assert_not(result.changed);
	call("CreateTopic", "{\"Name\":\"orders\"}");
	expect_ok(); /* no attributes asked: nothing differs */
	call("CreateTopic", "{\"Name\":\"orders\",\"Attributes\":{\"DisplayName\":\"Other\"}}");
	expect_error(400, "InvalidParameter", "different attributes");
	cr_assert_eq(ctl_store_version(store), v0 + 1);

	call("GetTopicAttributes", "{\"TopicArn\":\"" ARN_PREFIX "orders\"}");
	expect_ok();
	cr_assert_str_eq(attribute("TopicArn"), ARN_PREFIX "orders");
	cr_assert_str_eq(attribute("Owner"), "000000000000");
	cr_assert_str_eq(attribute("DisplayName"), "Orders");
	cr_assert_str_eq(attribute("SubscriptionsConfirmed"), "0");
	cr_assert_str_eq(attribute("SubscriptionsPending"), "0");
	cr_assert_str_eq(attribute("SubscriptionsDeleted"), "0");
	cr_assert_str_eq(attribute("FifoTopic"), "false");
	cr_assert_str_eq(attribute("busbar:Durability"), "disk");
	cr_assert(strstr(attribute("EffectiveDeliveryPolicy"), "defaultHealthyRetryPolicy"));
	cr_assert_not(result.changed);

	call("SetTopicAttributes", "{\"TopicArn\":\"" ARN_PREFIX "orders\",\"AttributeName\":"
	                           "\"DeliveryPolicy\",\"AttributeValue\":\"{\\\"http\\\":{}}\"}");
	expect_ok();
	cr_assert(result.changed);
	call("SetTopicAttributes", "{\"TopicArn\":\"" ARN_PREFIX "orders\",\"AttributeName\":"
	                           "\"DeliveryPolicy\",\"AttributeValue\":\"[1]\"}");
	expect_error(400, "InvalidParameter", "DeliveryPolicy");
	call("SetTopicAttributes", "{\"TopicArn\":\"" ARN_PREFIX "orders\",\"AttributeName\":"
	                           "\"FifoTopic\",\"AttributeValue\":\"true\"}");
	expect_error(400, "InvalidParameter", "AttributeName");
	call("SetTopicAttributes", "{\"TopicArn\":\"" ARN_PREFIX "orders\",\"AttributeName\":"
	                           "\"Policy\",\"AttributeValue\":\"{}\"}");
	expect_error(400, "InvalidParameter", "does not support the attribute Policy");
	call("GetTopicAttributes", "{\"TopicArn\":\"" ARN_PREFIX "orders\"}");
	cr_assert_str_eq(attribute("DeliveryPolicy"), "{\"http\":{}}");

	call("ListTopics", "{}");
	expect_ok();
	json_t *topics = json_object_get(result.body, "Topics");
	cr_assert_eq(json_array_size(topics), 1);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(topics, 0), "TopicArn")),
	                 ARN_PREFIX "orders");
	cr_assert_null(json_object_get(result.body, "NextToken"));

	uint64_t before = ctl_store_version(store);
	call("DeleteTopic", "{\"TopicArn\":\"" ARN_PREFIX "orders\"}");
	expect_ok();
	cr_assert_eq(ctl_store_version(store), before + 1);
	call("GetTopicAttributes", "{\"TopicArn\":\"" ARN_PREFIX "orders\"}");
	expect_error(404, "NotFound", "Topic does not exist");
	call("GetTopicAttributes", "{\"TopicArn\":\"arn:aws:sns:other:000000000000:orders\"}");
	expect_error(404, "NotFound", NULL);
	call("GetTopicAttributes", "{\"TopicArn\":\"orders\"}");
	expect_error(400, "InvalidParameter", "TopicArn");
}

Test(ctl_sns, topic_names_fifo_and_durability)
{
	call("CreateTopic", "{\"Name\":\"bad name\"}");
	expect_error(400, "InvalidParameter", "Topic Name");
	call("CreateTopic", "{}");
	expect_error(400, "InvalidParameter", "Topic Name");
	call("CreateTopic", "{\"Name\":\"t.fifo\"}");
	expect_error(400, "InvalidParameter", "Topic Name");
	call("CreateTopic", "{\"Name\":\"t\",\"Attributes\":{\"FifoTopic\":\"true\"}}");
	expect_error(400, "InvalidParameter", "must end with .fifo");
	call("CreateTopic", "{\"Name\":\"t\",\"Attributes\":{\"ContentBasedDeduplication\":\"true\"}}");
	expect_error(400, "InvalidParameter", "only for FIFO");
	call("CreateTopic", "{\"Name\":\"t\",\"Attributes\":{\"Nonsense\":\"1\"}}");
	expect_error(400, "InvalidParameter", "unknown attribute");
	call("CreateTopic", "{\"Name\":\"t.fifo\",\"Attributes\":{\"FifoTopic\":\"true\","
	                    "\"ContentBasedDeduplication\":\"true\",\"busbar:Durability\":\"memory\"}}");
	expect_ok();
	call("GetTopicAttributes", "{\"TopicArn\":\"" ARN_PREFIX "t.fifo\"}");
	cr_assert_str_eq(attribute("FifoTopic"), "true");
	cr_assert_str_eq(attribute("ContentBasedDeduplication"), "true");
	cr_assert_str_eq(attribute("busbar:Durability"), "memory");
	call("CreateTopic", "{\"Name\":\"d\",\"Attributes\":{\"busbar:Durability\":\"tape\"}}");
	expect_error(400, "InvalidParameter", "busbar:Durability");
	call("SetTopicAttributes", "{\"TopicArn\":\"" ARN_PREFIX "t.fifo\",\"AttributeName\":"
	                           "\"busbar:Durability\",\"AttributeValue\":\"disk\"}");
	expect_error(400, "InvalidParameter", "AttributeName");
}

/* The query protocol's form, as ctl_aws.c passes it on: lists folded here. */
Test(ctl_sns, query_form_lists_are_folded)
{
	call("CreateTopic", "{\"Name\":\"q\",\"Attributes.entry.1.key\":\"DisplayName\","
	                    "\"Attributes.entry.1.value\":\"Q\",\"Tags.member.1.Key\":\"team\","
	                    "\"Tags.member.1.Value\":\"ops\",\"Tags.member.2.Key\":\"env\","
	                    "\"Tags.member.2.Value\":\"lab\"}");
	expect_ok();
	call("GetTopicAttributes", "{\"TopicArn\":\"" ARN_PREFIX "q\"}");
	cr_assert_str_eq(attribute("DisplayName"), "Q");
	call("ListTagsForResource", "{\"ResourceArn\":\"" ARN_PREFIX "q\"}");
	json_t *tags = json_object_get(result.body, "Tags");
	cr_assert_eq(json_array_size(tags), 2);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(tags, 0), "Key")), "env");
	call("UntagResource", "{\"ResourceArn\":\"" ARN_PREFIX "q\",\"TagKeys.member.1\":\"env\"}");
	expect_ok();
	call("ListTagsForResource", "{\"ResourceArn\":\"" ARN_PREFIX "q\"}");
	cr_assert_eq(json_array_size(json_object_get(result.body, "Tags")), 1);
}

Test(ctl_sns, topic_limit_and_pages)
{
	for (uint32_t i = 0; i < BB_TOPIC_COUNT_MAX; i++) {
		callf("CreateTopic", "{\"Name\":\"t%04u\"}", i);
		expect_ok();
	}
	call("CreateTopic", "{\"Name\":\"one-more\"}");
	expect_error(403, "TopicLimitExceeded", "Topic limit exceeded");
	/* Pages of 100 with a NextToken while more follow (the tiny build holds fewer). */
	uint32_t seen = 0, pages = 0;
	char token[64] = "";
	do {
		if (token[0] == '\0')
			call("ListTopics", "{}");
		else
			callf("ListTopics", "{\"NextToken\":\"%s\"}", token);
		expect_ok();
		size_t count = json_array_size(json_object_get(result.body, "Topics"));
		cr_assert_leq(count, CTL_SNS_LIST_PAGE_MAX);
		seen += (uint32_t)count;
		pages++;
		snprintf(token, sizeof(token), "%s", str("NextToken") ? str("NextToken") : "");
	} while (token[0] != '\0' && pages <= BB_TOPIC_COUNT_MAX);
	cr_assert_eq(seen, BB_TOPIC_COUNT_MAX);
	cr_assert_eq(pages, (BB_TOPIC_COUNT_MAX + CTL_SNS_LIST_PAGE_MAX - 1) / CTL_SNS_LIST_PAGE_MAX);
	call("ListTopics", "{\"NextToken\":\"not a name\"}");
	expect_error(400, "InvalidParameter", "NextToken");
}

Test(ctl_sns, sqs_and_udp_subscriptions_are_confirmed_at_once)
{
	make_queue("inbox", false);
	make_queue("inbox.fifo", true);
	call("CreateTopic", "{\"Name\":\"news\"}");
	uint64_t before = ctl_store_version(store);
	call("Subscribe", "{\"TopicArn\":\"" ARN_PREFIX "news\",\"Protocol\":\"sqs\","
	                  "\"Endpoint\":\"" QUEUE_ARN "inbox\"}");
	expect_ok();
	cr_assert(strncmp(str("SubscriptionArn"), ARN_PREFIX "news:", strlen(ARN_PREFIX "news:")) ==
	          0);
	cr_assert_eq(strlen(uuid_of(str("SubscriptionArn"))), CTL_SNS_UUID_BYTES);
	cr_assert_eq(ctl_store_version(store), before + 1);
	char arn[256];
	snprintf(arn, sizeof(arn), "%s", str("SubscriptionArn"));
	/* Again with the same attributes: the same subscription. */
	call("Subscribe", "{\"TopicArn\":\"" ARN_PREFIX "news\",\"Protocol\":\"sqs\","
	                  "\"Endpoint\":\"" QUEUE_ARN "inbox\"}");
	cr_assert_str_eq(str("SubscriptionArn"), arn);
	cr_assert_not(result.changed);
	call("Subscribe", "{\"TopicArn\":\"" ARN_PREFIX "news\",\"Protocol\":\"sqs\","
	                  "\"Endpoint\":\"" QUEUE_ARN "inbox\",\"Attributes\":"
	                  "{\"RawMessageDelivery\":\"true\"}}");
	expect_error(400, "InvalidParameter", "different attributes");

	callf("GetSubscriptionAttributes", "{\"SubscriptionArn\":\"%s\"}", arn);
	expect_ok();
	cr_assert_str_eq(attribute("PendingConfirmation"), "false");
	cr_assert_str_eq(attribute("Protocol"), "sqs");
	cr_assert_str_eq(attribute("Endpoint"), QUEUE_ARN "inbox");
	cr_assert_str_eq(attribute("TopicArn"), ARN_PREFIX "news");
	cr_assert_str_eq(attribute("RawMessageDelivery"), "false");

	call("Subscribe", "{\"TopicArn\":\"" ARN_PREFIX "news\",\"Protocol\":\"sqs\","
	                  "\"Endpoint\":\"" QUEUE_ARN "missing\"}");
	expect_error(400, "InvalidParameter", "the queue does not exist");
	call("Subscribe", "{\"TopicArn\":\"" ARN_PREFIX "news\",\"Protocol\":\"sqs\","
	                  "\"Endpoint\":\"arn:aws:sqs:local:111111111111:inbox\"}");
	expect_error(400, "InvalidParameter", "account and region");
	call("Subscribe", "{\"TopicArn\":\"" ARN_PREFIX "news\",\"Protocol\":\"sqs\","
	                  "\"Endpoint\":\"" QUEUE_ARN "inbox.fifo\"}");
	expect_error(400, "InvalidParameter", "FIFO SQS Queues");
	call("Subscribe", "{\"TopicArn\":\"" ARN_PREFIX "news\",\"Protocol\":\"email\","
	                  "\"Endpoint\":\"a@b.c\"}");
	expect_error(400, "InvalidParameter", "Protocol");
	call("Subscribe", "{\"TopicArn\":\"" ARN_PREFIX "nope\",\"Protocol\":\"udp\","
	                  "\"Endpoint\":\"10.0.0.1:7000\"}");
	expect_error(404, "NotFound", "Topic does not exist");

	static const char *const bad_udp[] = {"10.0.0.1", "10.0.0.1:0", "10.0.0.1:65536",
	                                      "host:7000", "10.0.0.1:7x", ":7000"};
	for (size_t i = 0; i < sizeof(bad_udp) / sizeof(bad_udp[0]); i++) {
		callf("Subscribe", "{\"TopicArn\":\"" ARN_PREFIX "news\",\"Protocol\":\"udp\","
		                   "\"Endpoint\":\"%s\"}", bad_udp[i]);
		expect_error(400, "InvalidParameter", "IPV4:PORT");
	}
	call("Subscribe", "{\"TopicArn\":\"" ARN_PREFIX "news\",\"Protocol\":\"udp\","
	                  "\"Endpoint\":\"10.0.0.1:7000\"}");
	expect_ok();
	call("GetTopicAttributes", "{\"TopicArn\":\"" ARN_PREFIX "news\"}");
	cr_assert_str_eq(attribute("SubscriptionsConfirmed"), "2");

	callf("Unsubscribe", "{\"SubscriptionArn\":\"%s\"}", arn);
	expect_ok();
	cr_assert(result.changed);
	callf("Unsubscribe", "{\"SubscriptionArn\":\"%s\"}", arn);
	expect_error(404, "NotFound", "Subscription does not exist");
	call("Unsubscribe", "{\"SubscriptionArn\":\"pending confirmation\"}");
	expect_error(400, "InvalidParameter", "SubscriptionArn");
}

Test(ctl_sns, http_subscriptions_wait_for_their_token)
{
	call("CreateTopic", "{\"Name\":\"hooks\"}");
	call("Subscribe", "{\"TopicArn\":\"" ARN_PREFIX "hooks\",\"Protocol\":\"https\","
	                  "\"Endpoint\":\"http://127.0.0.1:9/x\"}");
	expect_error(400, "InvalidParameter", "Endpoint must match the specified protocol");
	call("Subscribe", "{\"TopicArn\":\"" ARN_PREFIX "hooks\",\"Protocol\":\"http\","
	                  "\"Endpoint\":\"http://127.0.0.1:9/x\"}");
	expect_ok();
	cr_assert_str_eq(str("SubscriptionArn"), "pending confirmation");
	call("Subscribe", "{\"TopicArn\":\"" ARN_PREFIX "hooks\",\"Protocol\":\"http\","
	                  "\"Endpoint\":\"http://127.0.0.1:9/x\",\"ReturnSubscriptionArn\":\"true\"}");
	expect_ok();
	char arn[256];
	snprintf(arn, sizeof(arn), "%s", str("SubscriptionArn"));
	cr_assert(strncmp(arn, ARN_PREFIX "hooks:", strlen(ARN_PREFIX "hooks:")) == 0);

	call("ListSubscriptionsByTopic", "{\"TopicArn\":\"" ARN_PREFIX "hooks\"}");
	json_t *member = json_array_get(json_object_get(result.body, "Subscriptions"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(member, "SubscriptionArn")),
	                 "PendingConfirmation");
	call("GetTopicAttributes", "{\"TopicArn\":\"" ARN_PREFIX "hooks\"}");
	cr_assert_str_eq(attribute("SubscriptionsPending"), "1");
	cr_assert_str_eq(attribute("SubscriptionsConfirmed"), "0");

	struct ctl_subscription s = {0};
	cr_assert_eq(ctl_sns_get_subscription(store, uuid_of(arn), &s), 0);
	cr_assert_eq(strlen(s.token), CTL_SNS_TOKEN_BYTES);
	cr_assert_not(s.confirmed);
	char wrong[CTL_SNS_TOKEN_BYTES + 1];
	memset(wrong, 'a', CTL_SNS_TOKEN_BYTES);
	wrong[CTL_SNS_TOKEN_BYTES] = '\0';
	callf("ConfirmSubscription", "{\"TopicArn\":\"" ARN_PREFIX "hooks\",\"Token\":\"%s\"}", wrong);
	expect_error(400, "InvalidParameter", "Invalid token");
	uint64_t before = ctl_store_version(store);
	callf("ConfirmSubscription", "{\"TopicArn\":\"" ARN_PREFIX "hooks\",\"Token\":\"%s\"}",
	      s.token);
	expect_ok();
	cr_assert_str_eq(str("SubscriptionArn"), arn);
	cr_assert_eq(ctl_store_version(store), before + 1);
	callf("ConfirmSubscription", "{\"TopicArn\":\"" ARN_PREFIX "hooks\",\"Token\":\"%s\"}",
	      s.token);
	expect_ok(); /* again: answered, nothing changes */
	cr_assert_eq(ctl_store_version(store), before + 1);
	ctl_subscription_clear(&s);
	callf("GetSubscriptionAttributes", "{\"SubscriptionArn\":\"%s\"}", arn);
	cr_assert_str_eq(attribute("PendingConfirmation"), "false");
	cr_assert(strstr(attribute("EffectiveDeliveryPolicy"), "healthyRetryPolicy") ||
	          strstr(attribute("EffectiveDeliveryPolicy"), "HealthyRetryPolicy"));
	callf("SetSubscriptionAttributes", "{\"SubscriptionArn\":\"%s\",\"AttributeName\":"
	      "\"DeliveryPolicy\",\"AttributeValue\":\"{\\\"healthyRetryPolicy\\\":{}}\"}", arn);
	expect_ok();
}

Test(ctl_sns, filter_policies_are_compiled_with_the_compilers_reason)
{
	make_queue("inbox", false);
	call("CreateTopic", "{\"Name\":\"news\"}");
	call("Subscribe", "{\"TopicArn\":\"" ARN_PREFIX "news\",\"Protocol\":\"sqs\","
	                  "\"Endpoint\":\"" QUEUE_ARN "inbox\",\"Attributes\":{\"FilterPolicy\":"
	                  "\"{\\\"kind\\\":[{\\\"wildcard\\\":\\\"a*\\\"}]}\"}}");
	/* wildcard is EventBridge's, not SNS's: the compiler says so, and no subscription is made */
	expect_error(400, "InvalidParameter", "Invalid parameter: FilterPolicy: ");
	cr_assert(strstr(str("message"), "kind: not an operator of SNS filter policies") != NULL,
	          "%s", str("message"));
	call("ListSubscriptions", "{}");
	cr_assert_eq(json_array_size(json_object_get(result.body, "Subscriptions")), 0);

	call("Subscribe", "{\"TopicArn\":\"" ARN_PREFIX "news\",\"Protocol\":\"sqs\","
	                  "\"Endpoint\":\"" QUEUE_ARN "inbox\",\"Attributes\":{\"FilterPolicy\":"
	                  "\"{\\\"kind\\\":[\\\"a\\\"]}\",\"RawMessageDelivery\":\"true\"}}");
	expect_ok();
	char arn[256];
	snprintf(arn, sizeof(arn), "%s", str("SubscriptionArn"));
	callf("GetSubscriptionAttributes", "{\"SubscriptionArn\":\"%s\"}", arn);
	cr_assert_str_eq(attribute("FilterPolicy"), "{\"kind\":[\"a\"]}");
	cr_assert_str_eq(attribute("FilterPolicyScope"), "MessageAttributes");
	cr_assert_str_eq(attribute("RawMessageDelivery"), "true");

	/* A nested policy is for the body only: the scope is checked with the policy. */
	callf("SetSubscriptionAttributes", "{\"SubscriptionArn\":\"%s\",\"AttributeName\":"
	      "\"FilterPolicy\",\"AttributeValue\":\"{\\\"a\\\":{\\\"b\\\":[\\\"c\\\"]}}\"}", arn);
	expect_error(400, "InvalidParameter", "Invalid parameter: FilterPolicy: ");
	callf("SetSubscriptionAttributes", "{\"SubscriptionArn\":\"%s\",\"AttributeName\":"
	      "\"FilterPolicyScope\",\"AttributeValue\":\"MessageBody\"}", arn);
	expect_ok();
	callf("SetSubscriptionAttributes", "{\"SubscriptionArn\":\"%s\",\"AttributeName\":"
	      "\"FilterPolicy\",\"AttributeValue\":\"{\\\"a\\\":{\\\"b\\\":[\\\"c\\\"]}}\"}", arn);
	expect_ok();
	callf("SetSubscriptionAttributes", "{\"SubscriptionArn\":\"%s\",\"AttributeName\":"
	      "\"FilterPolicyScope\",\"AttributeValue\":\"Everything\"}", arn);
	expect_error(400, "InvalidParameter", "FilterPolicyScope");
	callf("SetSubscriptionAttributes", "{\"SubscriptionArn\":\"%s\",\"AttributeName\":"
	      "\"FilterPolicy\",\"AttributeValue\":\"\"}", arn);
	expect_ok();
	callf("GetSubscriptionAttributes", "{\"SubscriptionArn\":\"%s\"}", arn);
	cr_assert_null(attribute("FilterPolicy"), "an empty policy removes it");
	callf("SetSubscriptionAttributes", "{\"SubscriptionArn\":\"%s\",\"AttributeName\":"
	      "\"Protocol\",\"AttributeValue\":\"udp\"}", arn);
	expect_error(400, "InvalidParameter", "AttributeName");
}

Test(ctl_sns, redrive_policy_names_a_queue_of_this_appliance)
{
	make_queue("inbox", false);
	make_queue("dead", false);
	call("CreateTopic", "{\"Name\":\"news\"}");
	call("Subscribe", "{\"TopicArn\":\"" ARN_PREFIX "news\",\"Protocol\":\"sqs\","
	                  "\"Endpoint\":\"" QUEUE_ARN "inbox\"}");
	char arn[256];
	snprintf(arn, sizeof(arn), "%s", str("SubscriptionArn"));
	callf("SetSubscriptionAttributes", "{\"SubscriptionArn\":\"%s\",\"AttributeName\":"
	      "\"RedrivePolicy\",\"AttributeValue\":\"{\\\"deadLetterTargetArn\\\":\\\""
	      QUEUE_ARN "gone\\\"}\"}", arn);
	expect_error(400, "InvalidParameter", "RedrivePolicy: the queue does not exist");
	callf("SetSubscriptionAttributes", "{\"SubscriptionArn\":\"%s\",\"AttributeName\":"
	      "\"RedrivePolicy\",\"AttributeValue\":\"{\\\"target\\\":1}\"}", arn);
	expect_error(400, "InvalidParameter", "RedrivePolicy");
	callf("SetSubscriptionAttributes", "{\"SubscriptionArn\":\"%s\",\"AttributeName\":"
	      "\"RedrivePolicy\",\"AttributeValue\":\"{\\\"deadLetterTargetArn\\\":\\\""
	      QUEUE_ARN "dead\\\"}\"}", arn);
	expect_ok();
	struct ctl_subscription s = {0};
	cr_assert_eq(ctl_sns_get_subscription(store, uuid_of(arn), &s), 0);
	cr_assert_str_eq(s.dead_letter_queue, "dead");
	ctl_subscription_clear(&s);
}

Test(ctl_sns, subscription_limits)
{
	/* Per topic: one topic fills up; in all: more topics fill the rest. */
	call("CreateTopic", "{\"Name\":\"t0\"}");
	for (uint32_t i = 0; i < CTL_SNS_SUBSCRIPTIONS_PER_TOPIC_MAX; i++) {
		callf("Subscribe", "{\"TopicArn\":\"" ARN_PREFIX "t0\",\"Protocol\":\"udp\","
		                   "\"Endpoint\":\"10.0.%u.%u:7000\"}", i / 250, i % 250 + 1);
		expect_ok();
	}
	call("Subscribe", "{\"TopicArn\":\"" ARN_PREFIX "t0\",\"Protocol\":\"udp\","
	                  "\"Endpoint\":\"10.9.9.9:7000\"}");
	expect_error(403, "SubscriptionLimitExceeded", "Subscription limit exceeded");
	uint32_t made = CTL_SNS_SUBSCRIPTIONS_PER_TOPIC_MAX, topic = 1;
	while (made < BB_SUBSCRIPTION_COUNT_MAX) {
		callf("CreateTopic", "{\"Name\":\"t%u\"}", topic);
		for (uint32_t i = 0; i < CTL_SNS_SUBSCRIPTIONS_PER_TOPIC_MAX &&
		                     made < BB_SUBSCRIPTION_COUNT_MAX; i++, made++) {
			callf("Subscribe", "{\"TopicArn\":\"" ARN_PREFIX "t%u\",\"Protocol\":\"udp\","
			                   "\"Endpoint\":\"10.0.%u.%u:7000\"}", topic, i / 250, i % 250 + 1);
			expect_ok();
		}
		topic++;
	}
	callf("CreateTopic", "{\"Name\":\"t%u\"}", topic);
	expect_ok();
	callf("Subscribe", "{\"TopicArn\":\"" ARN_PREFIX "t%u\",\"Protocol\":\"udp\","
	                   "\"Endpoint\":\"10.0.0.1:7000\"}", topic);
	expect_error(403, "SubscriptionLimitExceeded", NULL);
}

Test(ctl_sns, filter_policy_limit_per_topic)
{
	call("CreateTopic", "{\"Name\":\"t\"}");
	for (uint32_t i = 0; i < CTL_SNS_FILTER_POLICIES_PER_TOPIC_MAX; i++) {
		callf("Subscribe", "{\"TopicArn\":\"" ARN_PREFIX "t\",\"Protocol\":\"udp\","
		                   "\"Endpoint\":\"10.0.%u.%u:7000\",\"Attributes\":{\"FilterPolicy\":"
		                   "\"{\\\"k\\\":[\\\"v\\\"]}\"}}", i / 250, i % 250 + 1);
		expect_ok();
	}
	call("Subscribe", "{\"TopicArn\":\"" ARN_PREFIX "t\",\"Protocol\":\"udp\","
	                  "\"Endpoint\":\"10.9.9.9:7000\",\"Attributes\":{\"FilterPolicy\":"
	                  "\"{\\\"k\\\":[\\\"v\\\"]}\"}}");
	expect_error(403, "FilterPolicyLimitExceeded", "Filter policy limit exceeded");
	/* Without a policy it may subscribe, and may not gain one after. */
	call("Subscribe", "{\"TopicArn\":\"" ARN_PREFIX "t\",\"Protocol\":\"udp\","
	                  "\"Endpoint\":\"10.9.9.9:7000\"}");
	expect_ok();
	callf("SetSubscriptionAttributes", "{\"SubscriptionArn\":\"%s\",\"AttributeName\":"
	      "\"FilterPolicy\",\"AttributeValue\":\"{\\\"k\\\":[\\\"v\\\"]}\"}",
	      str("SubscriptionArn"));
	expect_error(403, "FilterPolicyLimitExceeded", NULL);
}

Test(ctl_sns, tags)
{
	call("CreateTopic", "{\"Name\":\"t\"}");
	call("TagResource", "{\"ResourceArn\":\"" ARN_PREFIX "nope\",\"Tags\":[{\"Key\":\"a\","
	                    "\"Value\":\"b\"}]}");
	expect_error(404, "ResourceNotFound", "Resource does not exist");
	static const char *const bad[] = {
	    "{\"Key\":\"\",\"Value\":\"v\"}", "{\"Key\":\"aws:x\",\"Value\":\"v\"}",
	    "{\"Key\":\"a#b\",\"Value\":\"v\"}", "{\"Key\":\"k\"}"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		callf("TagResource", "{\"ResourceArn\":\"" ARN_PREFIX "t\",\"Tags\":[%s]}", bad[i]);
		expect_error(400, "InvalidParameter", "Tags");
	}
	call("TagResource", "{\"ResourceArn\":\"" ARN_PREFIX "t\",\"Tags\":[{\"Key\":\"k\","
	                    "\"Value\":\"1\"},{\"Key\":\"k\",\"Value\":\"2\"}]}");
	expect_error(400, "InvalidParameter", "Duplicated keys");
	char body[8192];
	size_t used = (size_t)snprintf(body, sizeof(body), "{\"ResourceArn\":\"" ARN_PREFIX
	                                                    "t\",\"Tags\":[");
	for (uint32_t i = 0; i < CTL_SNS_TAGS_PER_TOPIC_MAX - 1; i++)
		used += (size_t)snprintf(body + used, sizeof(body) - used,
		                         "%s{\"Key\":\"key-%u\",\"Value\":\"v %u\"}", i ? "," : "", i, i);
	snprintf(body + used, sizeof(body) - used, "]}");
	call("TagResource", body);
	expect_ok();
	call("TagResource", "{\"ResourceArn\":\"" ARN_PREFIX "t\",\"Tags\":[{\"Key\":\"key-0\","
	                    "\"Value\":\"replaced\"},{\"Key\":\"last\",\"Value\":\"\"}]}");
	expect_ok(); /* one replaced, one more: 50 */
	call("TagResource", "{\"ResourceArn\":\"" ARN_PREFIX "t\",\"Tags\":[{\"Key\":\"k51\","
	                    "\"Value\":\"v\"}]}");
	expect_error(400, "TagLimitExceeded", "tag quota");
	call("ListTagsForResource", "{\"ResourceArn\":\"" ARN_PREFIX "t\"}");
	json_t *tags = json_object_get(result.body, "Tags");
	cr_assert_eq(json_array_size(tags), CTL_SNS_TAGS_PER_TOPIC_MAX);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(tags, 0), "Value")),
	                 "replaced");
	call("UntagResource", "{\"ResourceArn\":\"" ARN_PREFIX "t\",\"TagKeys\":[\"last\",\"absent\"]}");
	expect_ok();
	call("TagResource", "{\"ResourceArn\":\"" ARN_PREFIX "t\",\"Tags\":[{\"Key\":\"k51\","
	                    "\"Value\":\"v\"}]}");
	expect_ok();
	/* CreateTopic again with other tags is refused; with the same, idempotent. */
	call("CreateTopic", "{\"Name\":\"t\",\"Tags\":[{\"Key\":\"k51\",\"Value\":\"v\"}]}");
	expect_error(400, "InvalidParameter", "different tags");
}

Test(ctl_sns, deleting_a_topic_deletes_its_subscriptions)
{
	call("CreateTopic", "{\"Name\":\"a\"}");
	call("CreateTopic", "{\"Name\":\"b\"}");
	call("Subscribe", "{\"TopicArn\":\"" ARN_PREFIX "a\",\"Protocol\":\"udp\","
	                  "\"Endpoint\":\"10.0.0.1:7000\"}");
	call("Subscribe", "{\"TopicArn\":\"" ARN_PREFIX "b\",\"Protocol\":\"udp\","
	                  "\"Endpoint\":\"10.0.0.1:7000\"}");
	call("ListSubscriptions", "{}");
	cr_assert_eq(json_array_size(json_object_get(result.body, "Subscriptions")), 2);
	call("DeleteTopic", "{\"TopicArn\":\"" ARN_PREFIX "a\"}");
	call("ListSubscriptions", "{}");
	json_t *list = json_object_get(result.body, "Subscriptions");
	cr_assert_eq(json_array_size(list), 1);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "TopicArn")),
	                 ARN_PREFIX "b");
	call("ListSubscriptionsByTopic", "{}");
	expect_error(400, "InvalidParameter", "TopicArn");
	call("ListSubscriptions", "{\"NextToken\":\"x\"}");
	expect_error(400, "InvalidParameter", "NextToken");
}

Test(ctl_sns, bad_requests)
{
	call("Publish", "{}");
	cr_assert_eq(result.http_status, 400);
	cr_assert_str_eq(str("__type"), "InvalidAction");
	call("ListTopics", "[1]");
	cr_assert_str_eq(str("__type"), "SerializationException");
	call("CreateTopic", "{\"Name\":\"t\",\"Attributes\":[1]}");
	expect_error(400, "InvalidParameter", "Attributes");
}

/* ---- the snapshot busbard receives ---- */

struct decoded_subscription {
	uint64_t topic_id;
	uint32_t protocol, flags;
	char endpoint[64], filter_policy[64], dead_letter_queue[64], arn[128];
};

static struct {
	uint32_t topics, subscriptions;
	char topic_names[4][64];
	uint32_t topic_flags[4];
	uint64_t topic_ids[4];
	struct decoded_subscription subs[4];
} seen;

static void copy_text(char *out, size_t bytes, const struct bb_text *t)
{
	snprintf(out, bytes, "%.*s", t->data ? (int)t->bytes : 0, t->data ? t->data : "");
}

static void collect(void *unused, const struct bb_snapshot_entry *e)
{
	(void)unused;
	if (e->kind == BB_SNAPSHOT_KIND_TOPIC && seen.topics < 4) {
		copy_text(seen.topic_names[seen.topics], 64, &e->topic.name);
		seen.topic_flags[seen.topics] = e->topic.flags;
		seen.topic_ids[seen.topics++] = e->topic.topic_id;
	}
	if (e->kind == BB_SNAPSHOT_KIND_SUBSCRIPTION && seen.subscriptions < 4) {
		struct decoded_subscription *s = &seen.subs[seen.subscriptions++];
		s->topic_id = e->subscription.topic_id;
		s->protocol = e->subscription.protocol;
		s->flags = e->subscription.flags;
		copy_text(s->endpoint, sizeof(s->endpoint), &e->subscription.endpoint);
		copy_text(s->filter_policy, sizeof(s->filter_policy), &e->subscription.filter_policy);
		copy_text(s->dead_letter_queue, sizeof(s->dead_letter_queue),
		          &e->subscription.dead_letter_queue);
		copy_text(s->arn, sizeof(s->arn), &e->subscription.arn);
	}
}

Test(ctl_sns, snapshot_carries_topics_and_subscriptions)
{
	make_queue("inbox.fifo", true);
	make_queue("dead.fifo", true);
	call("CreateTopic", "{\"Name\":\"plain\"}");
	call("CreateTopic", "{\"Name\":\"t.fifo\",\"Attributes\":{\"FifoTopic\":\"true\","
	                    "\"ContentBasedDeduplication\":\"true\",\"busbar:Durability\":\"memory\","
	                    "\"SignatureVersion\":\"2\"}}");
	call("Subscribe", "{\"TopicArn\":\"" ARN_PREFIX "t.fifo\",\"Protocol\":\"sqs\","
	                  "\"Endpoint\":\"" QUEUE_ARN "inbox.fifo\",\"Attributes\":{"
	                  "\"RawMessageDelivery\":\"true\",\"FilterPolicyScope\":\"MessageBody\","
	                  "\"FilterPolicy\":\"{\\\"k\\\":[\\\"v\\\"]}\",\"RedrivePolicy\":"
	                  "\"{\\\"deadLetterTargetArn\\\":\\\"" QUEUE_ARN "dead.fifo\\\"}\"}}");
	expect_ok();
	char sqs_arn[128];
	snprintf(sqs_arn, sizeof(sqs_arn), "%s", str("SubscriptionArn"));
	call("Subscribe", "{\"TopicArn\":\"" ARN_PREFIX "plain\",\"Protocol\":\"https\","
	                  "\"Endpoint\":\"https://127.0.0.1/h\"}");
	expect_ok();
	uint8_t *body;
	size_t bytes;
	uint64_t version;
	cr_assert_eq(ctl_store_snapshot(store, false, &body, &bytes, &version), 0);
	cr_assert_eq(version, ctl_store_version(store));
	struct bb_snapshot_header header;
	char error[256];
	cr_assert_eq(bb_snapshot_decode(body, bytes, &header, collect, NULL, error, sizeof(error)),
	             WIRE_OK, "%s", error);
	free(body);
	cr_assert_eq(seen.topics, 2);
	cr_assert_str_eq(seen.topic_names[0], "plain");
	cr_assert_eq(seen.topic_flags[0], BB_SNAPSHOT_TOPIC_SIGNATURE_V1, "SNS's default version");
	cr_assert_str_eq(seen.topic_names[1], "t.fifo");
	cr_assert_eq(seen.topic_flags[1], BB_SNAPSHOT_TOPIC_FIFO | BB_SNAPSHOT_TOPIC_CONTENT_DEDUP |
	                                      BB_SNAPSHOT_TOPIC_MEMORY);
	cr_assert_eq(seen.subscriptions, 2);
	struct decoded_subscription *sqs = &seen.subs[0], *https = &seen.subs[1];
	cr_assert_eq(sqs->topic_id, seen.topic_ids[1]);
	cr_assert_eq(sqs->protocol, BB_SUBSCRIPTION_SQS);
	cr_assert_str_eq(sqs->endpoint, "inbox.fifo", "a queue's name, not its ARN");
	cr_assert_eq(sqs->flags, BB_SNAPSHOT_SUBSCRIPTION_RAW | BB_SNAPSHOT_SUBSCRIPTION_SCOPE_BODY |
	                             BB_SNAPSHOT_SUBSCRIPTION_CONFIRMED);
	cr_assert_str_eq(sqs->filter_policy, "{\"k\":[\"v\"]}");
	cr_assert_str_eq(sqs->dead_letter_queue, "dead.fifo");
	/* The ARN Subscribe answered, which the envelope's UnsubscribeURL ends in. */
	cr_assert_str_eq(sqs->arn, sqs_arn);
	cr_assert_eq(https->topic_id, seen.topic_ids[0]);
	cr_assert_eq(https->protocol, BB_SUBSCRIPTION_HTTPS);
	cr_assert_eq(https->flags, 0, "pending confirmation");
	cr_assert_str_eq(https->endpoint, "https://127.0.0.1/h");
	cr_assert_str_eq(https->filter_policy, "");
	cr_assert_eq(strncmp(https->arn, ARN_PREFIX "plain:", strlen(ARN_PREFIX "plain:")), 0,
	             "a pending subscription has its ARN too: %s", https->arn);
	cr_assert_eq(strlen(uuid_of(https->arn)), CTL_SNS_UUID_BYTES);
}

/* ---- the query protocol, as awscli speaks it (ctl_aws.c parses and renders) ---- */

/* Parses a form as the HTTP server does, answers it here, renders the XML. */
static char *query(const char *form, unsigned *status)
{
	struct ctl_aws_request request;
	const struct ctl_aws_error *error = NULL;
	char message[256];
	cr_assert_eq(ctl_aws_parse("application/x-www-form-urlencoded", NULL, form, strlen(form),
	                           NULL, &request, &error, message, sizeof(message)),
	             0, "%s", message);
	cr_assert_eq(request.service, CTL_AWS_SNS);
	cr_assert_eq(request.kind, CTL_AWS_MANAGE);
	char target[96];
	snprintf(target, sizeof(target), "AmazonSNS.%s", request.action);
	char *json = json_dumps(request.params, JSON_COMPACT);
	json_decref(result.body);
	ctl_sns_handle(&context, target, json, strlen(json), &result);
	free(json);
	struct ctl_aws_reply reply;
	ctl_aws_render_sqs_result(&request, result.http_status, result.body, result.query_error,
	                          &reply);
	ctl_aws_request_clear(&request);
	*status = reply.http_status;
	return reply.body;
}

Test(ctl_sns, query_protocol_answers_in_sns_xml)
{
	unsigned status;
	char *xml = query("Action=CreateTopic&Version=2010-03-31&Name=x&Attributes.entry.1.key="
	                  "DisplayName&Attributes.entry.1.value=D%26D",
	                  &status);
	cr_assert_eq(status, 200);
	cr_assert(strstr(xml, "<CreateTopicResponse xmlns=\"http://sns.amazonaws.com/doc/"
	                      "2010-03-31/\"><CreateTopicResult><TopicArn>" ARN_PREFIX
	                      "x</TopicArn></CreateTopicResult>") != NULL, "%s", xml);
	free(xml);
	xml = query("Action=GetTopicAttributes&Version=2010-03-31&TopicArn=" ARN_PREFIX "x", &status);
	cr_assert(strstr(xml, "<Attributes><entry><key>TopicArn</key><value>" ARN_PREFIX "x</value>"
	                      "</entry>") != NULL, "%s", xml);
	cr_assert(strstr(xml, "<entry><key>DisplayName</key><value>D&amp;D</value></entry>"), "%s",
	          xml);
	free(xml);
	xml = query("Action=ListTopics&Version=2010-03-31", &status);
	cr_assert(strstr(xml, "<ListTopicsResult><Topics><member><TopicArn>" ARN_PREFIX "x"
	                      "</TopicArn></member></Topics></ListTopicsResult>") != NULL, "%s", xml);
	free(xml);
	/* An empty result still has its element: botocore looks for it. */
	xml = query("Action=TagResource&Version=2010-03-31&ResourceArn=" ARN_PREFIX "x&Tags.member.1."
	            "Key=a&Tags.member.1.Value=b", &status);
	cr_assert(strstr(xml, "<TagResourceResult></TagResourceResult>") != NULL, "%s", xml);
	free(xml);
	xml = query("Action=DeleteTopic&Version=2010-03-31&TopicArn=" ARN_PREFIX "gone", &status);
	cr_assert_eq(status, 404);
	cr_assert(strstr(xml, "<ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\">"
	                      "<Error><Type>Sender</Type><Code>NotFound</Code><Message>Topic does "
	                      "not exist</Message>") != NULL, "%s", xml);
	free(xml);
}

/* ---- Publish and PublishBatch: the AWS API's parameters to busbard's frame and back ---- */

static struct ctl_aws_request parse_data(const char *form)
{
	struct ctl_aws_request request;
	const struct ctl_aws_error *error = NULL;
	char message[256];
	cr_assert_eq(ctl_aws_parse("application/x-www-form-urlencoded", NULL, form, strlen(form),
	                           NULL, &request, &error, message, sizeof(message)),
	             0, "%s", message);
	cr_assert_eq(request.kind, CTL_AWS_DATA);
	return request;
}

/* The frame's fields as "tag=value;" text (values printable here). */
static void frame_text(const uint8_t *frame, size_t bytes, char *out, size_t out_bytes)
{
	struct wire_reader r;
	struct wire_field f;
	size_t used = 0;
	wire_reader_init(&r, frame + BB_WIRE_HEADER_BYTES, bytes - BB_WIRE_HEADER_BYTES);
	while (wire_reader_next(&r, &f) == 1 && used < out_bytes)
		used += (size_t)snprintf(out + used, out_bytes - used, "%u=%.*s;", f.tag,
		                         (int)f.length, (const char *)f.value);
}

Test(ctl_sns, publish_is_encoded_for_busbard)
{
	struct ctl_aws_config config = {.account_id = "000000000000", .region = "local"};
	struct ctl_aws_request request = parse_data(
	    "Action=Publish&Version=2010-03-31&TopicArn=" ARN_PREFIX "news&Message=hi&Subject=S"
	    "&MessageAttributes.entry.1.Name=kind&MessageAttributes.entry.1.Value.DataType=String"
	    "&MessageAttributes.entry.1.Value.StringValue=order"
	    "&MessageAttributes.entry.2.Name=b&MessageAttributes.entry.2.Value.DataType=Binary"
	    "&MessageAttributes.entry.2.Value.BinaryValue=aGk%3D");
	uint8_t *frame;
	size_t bytes;
	struct ctl_aws_data_op op;
	const struct ctl_aws_error *error = NULL;
	char message[256], text[1024] = "";
	cr_assert_eq(ctl_aws_data_encode(&request, &config, &frame, &bytes, &op, &error, message,
	                                 sizeof(message)),
	             0, "%s", message);
	cr_assert_eq(op.opcode, WIRE_OP_PUBLISH);
	frame_text(frame, bytes, text, sizeof(text));
	cr_assert_str_eq(text, "60=news;2=hi;61=S;63=;64=kind;65=String;66=order;63=;64=b;"
	                       "65=Binary;67=hi;");
	free(frame);
	ctl_aws_request_clear(&request);

	request = parse_data("Action=Publish&Version=2010-03-31&TopicArn=arn:aws:sns:other:"
	                     "000000000000:news&Message=hi");
	cr_assert_neq(ctl_aws_data_encode(&request, &config, &frame, &bytes, &op, &error, message,
	                                  sizeof(message)),
	              0);
	cr_assert_str_eq(error->code, "NotFound");
	cr_assert_eq(error->http_status, 404);
	ctl_aws_request_clear(&request);

	request = parse_data("Action=PublishBatch&Version=2010-03-31&TopicArn=" ARN_PREFIX "t.fifo"
	                     "&PublishBatchRequestEntries.member.1.Id=a"
	                     "&PublishBatchRequestEntries.member.1.Message=one"
	                     "&PublishBatchRequestEntries.member.1.MessageGroupId=g"
	                     "&PublishBatchRequestEntries.member.2.Id=b"
	                     "&PublishBatchRequestEntries.member.2.Message=two"
	                     "&PublishBatchRequestEntries.member.2.MessageAttributes.entry.1.Name=n"
	                     "&PublishBatchRequestEntries.member.2.MessageAttributes.entry.1.Value."
	                     "DataType=Number"
	                     "&PublishBatchRequestEntries.member.2.MessageAttributes.entry.1.Value."
	                     "StringValue=5");
	cr_assert_eq(ctl_aws_data_encode(&request, &config, &frame, &bytes, &op, &error, message,
	                                 sizeof(message)),
	             0, "%s", message);
	cr_assert_eq(op.opcode, WIRE_OP_PUBLISH_BATCH);
	text[0] = '\0';
	frame_text(frame, bytes, text, sizeof(text));
	cr_assert_str_eq(text, "60=t.fifo;40=;41=a;2=one;50=g;40=;41=b;2=two;63=;64=n;65=Number;66=5;");
	free(frame);
	ctl_aws_request_clear(&request);
}

Test(ctl_sns, publish_replies_are_sns_answers)
{
	uint8_t body[512];
	struct wire_writer w;
	wire_writer_init(&w, body, sizeof(body));
	wire_put_bytes(&w, WIRE_TAG_ENTRY_BEGIN, NULL, 0);
	wire_put_str(&w, WIRE_TAG_ENTRY_ID, "a");
	wire_put_str(&w, WIRE_TAG_MESSAGE_ID, "m-1");
	wire_put_str(&w, WIRE_TAG_SEQUENCE_NUMBER, "00000000000000000001");
	wire_put_bytes(&w, WIRE_TAG_ENTRY_BEGIN, NULL, 0);
	wire_put_str(&w, WIRE_TAG_ENTRY_ID, "b");
	wire_put_u32(&w, WIRE_TAG_ENTRY_STATUS, WIRE_ERR_SNS_PARAMETER_VALUE_INVALID);
	struct ctl_aws_data_op op = {.opcode = WIRE_OP_PUBLISH_BATCH};
	struct wire_header reply = {.status = WIRE_OK};
	json_t *out = NULL;
	const struct ctl_aws_error *error = NULL;
	char message[256];
	cr_assert_eq(ctl_aws_data_decode(&op, &reply, body, w.length, &out, &error, message,
	                                 sizeof(message)),
	             0);
	json_t *ok = json_array_get(json_object_get(out, "Successful"), 0);
	json_t *failed = json_array_get(json_object_get(out, "Failed"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(ok, "Id")), "a");
	cr_assert_str_eq(json_string_value(json_object_get(ok, "SequenceNumber")),
	                 "00000000000000000001");
	cr_assert_str_eq(json_string_value(json_object_get(failed, "Id")), "b");
	cr_assert_str_eq(json_string_value(json_object_get(failed, "Code")), "ParameterValueInvalid");
	cr_assert(json_is_true(json_object_get(failed, "SenderFault")));
	json_decref(out);

	reply.status = WIRE_ERR_SNS_NOT_FOUND;
	op.opcode = WIRE_OP_PUBLISH;
	cr_assert_neq(ctl_aws_data_decode(&op, &reply, NULL, 0, &out, &error, message,
	                                  sizeof(message)),
	              0);
	cr_assert_str_eq(error->code, "NotFound");
	cr_assert_eq(error->http_status, 404);
}
