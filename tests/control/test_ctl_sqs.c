/*
 * busbar-control's SQS JSON 1.0 queue API against an in-memory store: the
 * shapes and error codes SDKs rely on, idempotent CreateQueue, and that each
 * change (and only a change) moves the configuration version that becomes
 * the snapshot busbard receives.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl_sqs.h"
#include "bb_snapshot.h"

static struct ctl_store *store;
static struct ctl_sqs_context context;
static struct ctl_sqs_result result;

static void setup(void)
{
	char error[256];
	store = ctl_store_open(":memory:", error, sizeof(error));
	cr_assert_not_null(store, "%s", error);
	context = (struct ctl_sqs_context){.store = store, .base_url = "http://127.0.0.1:7680"};
}

static void teardown(void)
{
	json_decref(result.body);
	ctl_store_close(store);
}

TestSuite(ctl_sqs, .init = setup, .fini = teardown);

static void call(const char *target, const char *body)
{
	json_decref(result.body);
	ctl_sqs_handle(&context, target, body, strlen(body), &result);
}

static const char *str(const char *key)
{
	return json_string_value(json_object_get(result.body, key));
}

Test(ctl_sqs, create_get_list_attributes_delete)
{
	uint64_t v0 = ctl_store_version(store);
	call("AmazonSQS.CreateQueue", "{\"QueueName\":\"orders\",\"Attributes\":"
	                              "{\"VisibilityTimeout\":\"45\",\"MaximumMessageSize\":\"2048\"}}");
	cr_assert_eq(result.http_status, 200);
	cr_assert_str_eq(str("QueueUrl"), "http://127.0.0.1:7680/000000000000/orders");
	cr_assert(result.changed);
	cr_assert_eq(ctl_store_version(store), v0 + 1);

	call("AmazonSQS.CreateQueue", "{\"QueueName\":\"orders\",\"Attributes\":"
	                              "{\"VisibilityTimeout\":\"45\",\"MaximumMessageSize\":\"2048\"}}");
	cr_assert_eq(result.http_status, 200, "same attributes: idempotent");
	cr_assert_not(result.changed);
	cr_assert_eq(ctl_store_version(store), v0 + 1, "no new version");

	call("AmazonSQS.GetQueueUrl", "{\"QueueName\":\"orders\"}");
	cr_assert_str_eq(str("QueueUrl"), "http://127.0.0.1:7680/000000000000/orders");

	call("AmazonSQS.GetQueueAttributes",
	     "{\"QueueUrl\":\"http://h/000000000000/orders\",\"AttributeNames\":[\"VisibilityTimeout\"]}");
	json_t *attributes = json_object_get(result.body, "Attributes");
	cr_assert_str_eq(json_string_value(json_object_get(attributes, "VisibilityTimeout")), "45");
	cr_assert_eq(json_object_size(attributes), 1, "only what was asked");

	call("AmazonSQS.ListQueues", "{}");
	cr_assert_eq(json_array_size(json_object_get(result.body, "QueueUrls")), 1);

	call("AmazonSQS.DeleteQueue", "{\"QueueUrl\":\"http://h/000000000000/orders\"}");
	cr_assert_eq(result.http_status, 200);
	cr_assert_eq(ctl_store_version(store), v0 + 2);
	call("AmazonSQS.DeleteQueue", "{\"QueueUrl\":\"http://h/000000000000/orders\"}");
	cr_assert_eq(result.http_status, 400);
	cr_assert_str_eq(str("__type"), "com.amazonaws.sqs#QueueDoesNotExist");
	cr_assert_str_eq(result.query_error, "AWS.SimpleQueueService.NonExistentQueue;Sender");
}

Test(ctl_sqs, errors_have_aws_types)
{
	call("AmazonSQS.CreateQueue", "{\"QueueName\":\"a\"}");
	call("AmazonSQS.CreateQueue", "{\"QueueName\":\"a\",\"Attributes\":{\"VisibilityTimeout\":\"1\"}}");
	cr_assert_str_eq(str("__type"), "com.amazonaws.sqs#QueueNameExists");
	call("AmazonSQS.CreateQueue", "{\"QueueName\":\"b\",\"Attributes\":{\"VisibilityTimeout\":\"43201\"}}");
	cr_assert_str_eq(str("__type"), "com.amazonaws.sqs#InvalidAttributeValue");
	call("AmazonSQS.CreateQueue", "{\"QueueName\":\"b\",\"Attributes\":{\"Policy\":\"{}\"}}");
	cr_assert_str_eq(str("__type"), "com.amazonaws.sqs#InvalidAttributeName",
	                 "unimplemented attributes are refused, not ignored");
	call("AmazonSQS.CreateQueue", "{\"QueueName\":\"b.fifo\"}");
	cr_assert_str_eq(str("__type"), "com.amazonaws.sqs#InvalidParameterValue",
	                 "a .fifo name without FifoQueue=true");
	call("AmazonSQS.CreateQueue", "{}");
	cr_assert_str_eq(str("__type"), "com.amazonaws.sqs#MissingParameter");
	call("AmazonSQS.CreateQueue", "{\"QueueName\":\"" "x23456789012345678901234567890123456789"
	                              "0123456789012345678901234567890123456789012\"}");
	cr_assert_str_eq(str("__type"), "com.amazonaws.sqs#InvalidParameterValue", "81 characters");
	call("AmazonSQS.PurgeQueue", "{}");
	cr_assert_str_eq(str("__type"), "UnknownOperationException");
	call("AmazonSQS.CreateQueue", "{\"QueueName\": ");
	cr_assert_str_eq(str("__type"), "com.amazon.coral.service#SerializationException");
	call("AmazonSQS.GetQueueAttributes", "{\"QueueUrl\":\"no-slash\"}");
	cr_assert_str_eq(str("__type"), "com.amazonaws.sqs#InvalidAddress");
	cr_assert_eq(result.http_status, 400);
}

Test(ctl_sqs, list_prefix_is_literal)
{
	call("AmazonSQS.CreateQueue", "{\"QueueName\":\"a_b\"}");
	call("AmazonSQS.CreateQueue", "{\"QueueName\":\"axb\"}");
	call("AmazonSQS.ListQueues", "{\"QueueNamePrefix\":\"a_\"}");
	json_t *urls = json_object_get(result.body, "QueueUrls");
	cr_assert_eq(json_array_size(urls), 1, "'_' is not a wildcard");
	call("AmazonSQS.ListQueues", "{\"MaxResults\":1}");
	cr_assert_eq(json_array_size(json_object_get(result.body, "QueueUrls")), 1);
}

static struct bb_snapshot_entry decoded[BB_QUEUE_COUNT_MAX];
static uint32_t decoded_count;

/* The queues alone: a snapshot carries other kinds too (the default event bus always). */
static void collect(void *unused, const struct bb_snapshot_entry *entry)
{
	if (entry->kind == BB_SNAPSHOT_KIND_QUEUE)
		decoded[decoded_count++] = *entry;
}

/* Decodes the store's snapshot as busbard would; returns its header. */
static struct bb_snapshot_header decode_snapshot(void)
{
	uint8_t *body;
	size_t bytes;
	uint64_t version;
	cr_assert_eq(ctl_store_snapshot(store, false, &body, &bytes, &version), 0);
	struct bb_snapshot_header header;
	char error[256];
	decoded_count = 0;
	cr_assert_eq(bb_snapshot_decode(body, bytes, &header, collect, NULL, error, sizeof(error)),
	             WIRE_OK, "%s", error);
	free(body);
	cr_assert_eq(header.version, version);
	return header;
}

static const struct bb_snapshot_queue *decoded_queue(const char *name)
{
	for (uint32_t i = 0; i < decoded_count; i++) {
		if (strcmp(decoded[i].queue.name, name) == 0)
			return &decoded[i].queue;
	}
	return NULL;
}

Test(ctl_sqs, snapshot_carries_every_queue_and_the_version)
{
	call("AmazonSQS.CreateQueue", "{\"QueueName\":\"one\"}");
	call("AmazonSQS.CreateQueue", "{\"QueueName\":\"two\",\"Attributes\":{\"ReceiveMessageWaitTimeSeconds\":\"20\"}}");
	struct bb_snapshot_header header = decode_snapshot();
	cr_assert_eq(header.version, ctl_store_version(store));
	cr_assert_eq(decoded_count, 2);
	const struct bb_snapshot_queue *two = decoded_queue("two");
	cr_assert_not_null(two);
	cr_assert_eq(two->receive_wait_time_s, 20);
	cr_assert_eq(two->visibility_timeout_s, 30, "the SQS default");
	/* A deleted and re-created queue is a new queue: a new id, so old messages cannot return. */
	uint64_t old_id = two->queue_id;
	call("AmazonSQS.DeleteQueue", "{\"QueueUrl\":\"http://h/000000000000/two\"}");
	call("AmazonSQS.CreateQueue", "{\"QueueName\":\"two\"}");
	struct ctl_queue q;
	cr_assert_eq(ctl_store_get_queue(store, "two", &q), 0);
	cr_assert_neq((uint64_t)q.id, old_id);
}

/*
 * FIFO queues (issue 11): FifoQueue=true needs a .fifo name and a .fifo name needs it;
 * ContentBasedDeduplication is FIFO's only; both reach busbard in the snapshot's flags and
 * GetQueueAttributes shows them.
 */
Test(ctl_sqs, fifo_queues_need_fifo_names_and_reach_the_snapshot)
{
	call("AmazonSQS.CreateQueue", "{\"QueueName\":\"plain\",\"Attributes\":{\"FifoQueue\":\"true\"}}");
	cr_assert_str_eq(str("__type"), "com.amazonaws.sqs#InvalidParameterValue");
	call("AmazonSQS.CreateQueue",
	     "{\"QueueName\":\"plain\",\"Attributes\":{\"ContentBasedDeduplication\":\"true\"}}");
	cr_assert_str_eq(str("__type"), "com.amazonaws.sqs#InvalidAttributeName");
	call("AmazonSQS.CreateQueue", "{\"QueueName\":\"f.fifo\",\"Attributes\":{\"FifoQueue\":\"yes\"}}");
	cr_assert_str_eq(str("__type"), "com.amazonaws.sqs#InvalidAttributeValue");
	call("AmazonSQS.CreateQueue", "{\"QueueName\":\"f.fifo\",\"Attributes\":"
	                              "{\"FifoQueue\":\"true\",\"ContentBasedDeduplication\":\"true\"}}");
	cr_assert_eq(result.http_status, 200);
	call("AmazonSQS.CreateQueue", "{\"QueueName\":\"g.fifo\",\"Attributes\":{\"FifoQueue\":\"true\"}}");
	cr_assert_eq(result.http_status, 200);
	call("AmazonSQS.CreateQueue", "{\"QueueName\":\"g.fifo\",\"Attributes\":"
	                              "{\"FifoQueue\":\"true\",\"ContentBasedDeduplication\":\"true\"}}");
	cr_assert_str_eq(str("__type"), "com.amazonaws.sqs#QueueNameExists");
	call("AmazonSQS.GetQueueAttributes",
	     "{\"QueueUrl\":\"http://h/000000000000/f.fifo\",\"AttributeNames\":[\"All\"]}");
	json_t *attributes = json_object_get(result.body, "Attributes");
	cr_assert_str_eq(json_string_value(json_object_get(attributes, "FifoQueue")), "true");
	cr_assert_str_eq(
	    json_string_value(json_object_get(attributes, "ContentBasedDeduplication")), "true");
	call("AmazonSQS.CreateQueue", "{\"QueueName\":\"plain\"}");
	decode_snapshot();
	cr_assert_eq(decoded_queue("f.fifo")->flags,
	             BB_SNAPSHOT_QUEUE_FIFO | BB_SNAPSHOT_QUEUE_CONTENT_DEDUP);
	cr_assert_eq(decoded_queue("g.fifo")->flags, BB_SNAPSHOT_QUEUE_FIFO);
	cr_assert_eq(decoded_queue("plain")->flags, 0);
}

/*
 * busbar:Durability (issue 11): "disk" by default and said so, "memory" kept and carried to
 * busbard in the snapshot, anything else refused; a queue's durability is part of what
 * CreateQueue of an existing name compares.
 */
Test(ctl_sqs, durability_is_an_attribute_that_reaches_the_snapshot)
{
	call("AmazonSQS.CreateQueue", "{\"QueueName\":\"fast\",\"Attributes\":"
	                              "{\"busbar:Durability\":\"memory\"}}");
	cr_assert_eq(result.http_status, 200);
	call("AmazonSQS.CreateQueue", "{\"QueueName\":\"safe\"}");
	cr_assert_eq(result.http_status, 200);
	call("AmazonSQS.CreateQueue", "{\"QueueName\":\"odd\",\"Attributes\":"
	                              "{\"busbar:Durability\":\"tape\"}}");
	cr_assert_str_eq(str("__type"), "com.amazonaws.sqs#InvalidAttributeValue");
	call("AmazonSQS.CreateQueue", "{\"QueueName\":\"safe\",\"Attributes\":"
	                              "{\"busbar:Durability\":\"memory\"}}");
	cr_assert_str_eq(str("__type"), "com.amazonaws.sqs#QueueNameExists");
	call("AmazonSQS.GetQueueAttributes",
	     "{\"QueueUrl\":\"http://h/000000000000/fast\",\"AttributeNames\":[\"All\"]}");
	json_t *attributes = json_object_get(result.body, "Attributes");
	cr_assert_str_eq(json_string_value(json_object_get(attributes, "busbar:Durability")),
	                 "memory");
	call("AmazonSQS.GetQueueAttributes",
	     "{\"QueueUrl\":\"http://h/000000000000/safe\",\"AttributeNames\":[\"All\"]}");
	attributes = json_object_get(result.body, "Attributes");
	cr_assert_str_eq(json_string_value(json_object_get(attributes, "busbar:Durability")),
	                 "disk");
	decode_snapshot();
	cr_assert_eq(decoded_queue("fast")->flags, BB_SNAPSHOT_QUEUE_MEMORY);
	cr_assert_eq(decoded_queue("safe")->flags, 0);
}

/*
 * Issue 10, defect 2: with the queue limit reached, one more CreateQueue was
 * answered 200 and the snapshot, cut at the limit by name order, dropped
 * another queue with its messages. Now the CreateQueue is OverLimit and the
 * snapshot still names every queue, the last by name included.
 */
Test(ctl_sqs, a_queue_beyond_the_limit_is_over_limit_and_none_is_dropped)
{
	char body[64];
	for (uint32_t i = 0; i < BB_QUEUE_COUNT_MAX; i++) {
		snprintf(body, sizeof(body), "{\"QueueName\":\"m%05u\"}", i);
		call("AmazonSQS.CreateQueue", body);
		cr_assert_eq(result.http_status, 200, "%s", body);
	}
	uint64_t version = ctl_store_version(store);
	call("AmazonSQS.CreateQueue", "{\"QueueName\":\"a-new\"}");
	cr_assert_eq(result.http_status, 400);
	cr_assert_str_eq(str("__type"), "com.amazonaws.sqs#OverLimit");
	cr_assert_str_eq(result.query_error, "OverLimit;Sender");
	cr_assert_not(result.changed);
	cr_assert_eq(ctl_store_version(store), version, "nothing changed");
	call("AmazonSQS.GetQueueUrl", "{\"QueueName\":\"a-new\"}");
	cr_assert_str_eq(str("__type"), "com.amazonaws.sqs#QueueDoesNotExist");

	decode_snapshot();
	cr_assert_eq(decoded_count, BB_QUEUE_COUNT_MAX);
	snprintf(body, sizeof(body), "m%05u", BB_QUEUE_COUNT_MAX - 1);
	cr_assert_not_null(decoded_queue(body), "the old queue survives");

	call("AmazonSQS.CreateQueue", "{\"QueueName\":\"m00000\"}");
	cr_assert_eq(result.http_status, 200, "an existing queue is still found at the limit");
	call("AmazonSQS.DeleteQueue", "{\"QueueUrl\":\"http://h/000000000000/m00000\"}");
	call("AmazonSQS.CreateQueue", "{\"QueueName\":\"a-new\"}");
	cr_assert_eq(result.http_status, 200, "a deleted queue makes room");
}

/* A database holding more queues than a snapshot may name (written by hand or
 * by an older busbar-control) gives no snapshot at all, never a cut one. */
Test(ctl_sqs, a_store_beyond_the_limit_gives_no_snapshot)
{
	char path[] = "/tmp/bb-ctl-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	close(fd);
	char error[256];
	struct ctl_store *file_store = ctl_store_open(path, error, sizeof(error));
	cr_assert_not_null(file_store, "%s", error);
	sqlite3 *db;
	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
	for (uint32_t i = 0; i <= BB_QUEUE_COUNT_MAX; i++) {
		char sql[256];
		snprintf(sql, sizeof(sql),
		         "INSERT INTO queues (name, visibility_timeout_s, receive_wait_time_s, "
		         "maximum_message_bytes, created_s, modified_s) "
		         "VALUES ('q%u', 30, 0, 1024, 0, 0)",
		         i);
		cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	}
	cr_assert_eq(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	uint8_t *snapshot;
	size_t bytes;
	uint64_t version;
	cr_assert_eq(ctl_store_snapshot(file_store, false, &snapshot, &bytes, &version), -E2BIG);
	ctl_store_close(file_store);
	unlink(path);
	char side[sizeof(path) + 8];
	snprintf(side, sizeof(side), "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", path);
	unlink(side);
}

static const char *attribute(const char *queue, const char *name)
{
	char body[256];
	snprintf(body, sizeof(body),
	         "{\"QueueUrl\":\"http://h/000000000000/%s\",\"AttributeNames\":[\"All\"]}", queue);
	call("AmazonSQS.GetQueueAttributes", body);
	return json_string_value(json_object_get(json_object_get(result.body, "Attributes"), name));
}

/* CreateQueue with one attribute: the HTTP status. */
static unsigned create_with(const char *queue, const char *name, const char *value)
{
	char body[256];
	snprintf(body, sizeof(body), "{\"QueueName\":\"%s\",\"Attributes\":{\"%s\":\"%s\"}}", queue,
	         name, value);
	call("AmazonSQS.CreateQueue", body);
	return result.http_status;
}

/* DelaySeconds 0-900 and MessageRetentionPeriod 60-1,209,600 (default 345,600), as SQS. */
Test(ctl_sqs, delay_and_retention_limits_are_aws_and_reach_the_snapshot)
{
	cr_assert_eq(create_with("d901", "DelaySeconds", "901"), 400);
	cr_assert_str_eq(str("__type"), "com.amazonaws.sqs#InvalidAttributeValue");
	cr_assert_eq(create_with("d900", "DelaySeconds", "900"), 200);
	cr_assert_eq(create_with("r59", "MessageRetentionPeriod", "59"), 400);
	cr_assert_eq(create_with("r60", "MessageRetentionPeriod", "60"), 200);
	cr_assert_eq(create_with("r14d", "MessageRetentionPeriod", "1209600"), 200);
	cr_assert_eq(create_with("r14d1", "MessageRetentionPeriod", "1209601"), 400);
	cr_assert_eq(create_with("plain", "VisibilityTimeout", "30"), 200);
	cr_assert_str_eq(attribute("d900", "DelaySeconds"), "900");
	cr_assert_str_eq(attribute("r60", "MessageRetentionPeriod"), "60");
	cr_assert_str_eq(attribute("plain", "MessageRetentionPeriod"), "345600");
	cr_assert_str_eq(attribute("plain", "DelaySeconds"), "0");
	call("AmazonSQS.CreateQueue", "{\"QueueName\":\"late.fifo\",\"Attributes\":"
	                              "{\"FifoQueue\":\"true\",\"DelaySeconds\":\"1\"}}");
	cr_assert_eq(result.http_status, 200, "a FIFO queue's delay (issue 11)");
	decode_snapshot();
	cr_assert_eq(decoded_queue("late.fifo")->delay_s, 1);
	cr_assert_eq(decoded_queue("d900")->delay_s, 900);
	cr_assert_eq(decoded_queue("r60")->retention_s, 60);
	cr_assert_eq(decoded_queue("r14d")->retention_s, 1209600);
	cr_assert_eq(decoded_queue("plain")->retention_s, 345600);
	cr_assert_eq(decoded_queue("plain")->delay_s, 0);
}

/*
 * DeduplicationScope (queue | messageGroup) and FifoThroughputLimit (perQueue |
 * perMessageGroupId): FIFO's only, perMessageGroupId only with messageGroup (also when a
 * SetQueueAttributes changes one of the two), AWS's defaults shown, both in the snapshot.
 */
Test(ctl_sqs, high_throughput_fifo_attributes_are_checked_as_aws_does)
{
	cr_assert_eq(create_with("plain", "DeduplicationScope", "messageGroup"), 400);
	cr_assert_str_eq(str("__type"), "com.amazonaws.sqs#InvalidAttributeName");
	cr_assert_eq(create_with("plain", "FifoThroughputLimit", "perMessageGroupId"), 400);
	cr_assert_str_eq(str("__type"), "com.amazonaws.sqs#InvalidAttributeName");
	call("AmazonSQS.CreateQueue", "{\"QueueName\":\"f.fifo\",\"Attributes\":{\"FifoQueue\":"
	                              "\"true\",\"DeduplicationScope\":\"group\"}}");
	cr_assert_str_eq(str("__type"), "com.amazonaws.sqs#InvalidAttributeValue");
	call("AmazonSQS.CreateQueue", "{\"QueueName\":\"f.fifo\",\"Attributes\":{\"FifoQueue\":"
	                              "\"true\",\"FifoThroughputLimit\":\"perMessageGroupId\"}}");
	cr_assert_str_eq(str("__type"), "com.amazonaws.sqs#InvalidAttributeValue",
	                 "perMessageGroupId needs the messageGroup scope");
	call("AmazonSQS.CreateQueue", "{\"QueueName\":\"f.fifo\",\"Attributes\":{\"FifoQueue\":"
	                              "\"true\"}}");
	cr_assert_eq(result.http_status, 200);
	cr_assert_str_eq(attribute("f.fifo", "DeduplicationScope"), "queue");
	cr_assert_str_eq(attribute("f.fifo", "FifoThroughputLimit"), "perQueue");
	call("AmazonSQS.CreateQueue", "{\"QueueName\":\"h.fifo\",\"Attributes\":{\"FifoQueue\":"
	                              "\"true\",\"DeduplicationScope\":\"messageGroup\","
	                              "\"FifoThroughputLimit\":\"perMessageGroupId\"}}");
	cr_assert_eq(result.http_status, 200);
	cr_assert_str_eq(attribute("h.fifo", "DeduplicationScope"), "messageGroup");
	cr_assert_str_eq(attribute("h.fifo", "FifoThroughputLimit"), "perMessageGroupId");
	call("AmazonSQS.SetQueueAttributes", "{\"QueueUrl\":\"http://h/000000000000/h.fifo\","
	                                     "\"Attributes\":{\"DeduplicationScope\":\"queue\"}}");
	cr_assert_str_eq(str("__type"), "com.amazonaws.sqs#InvalidAttributeValue",
	                 "the scope cannot leave perMessageGroupId without messageGroup");
	call("AmazonSQS.SetQueueAttributes", "{\"QueueUrl\":\"http://h/000000000000/f.fifo\","
	                                     "\"Attributes\":{\"DeduplicationScope\":"
	                                     "\"messageGroup\"}}");
	cr_assert_eq(result.http_status, 200);
	cr_assert(result.changed);
	cr_assert_str_eq(attribute("f.fifo", "DeduplicationScope"), "messageGroup");
	decode_snapshot();
	cr_assert_eq(decoded_queue("f.fifo")->flags,
	             BB_SNAPSHOT_QUEUE_FIFO | BB_SNAPSHOT_QUEUE_DEDUP_PER_GROUP);
	cr_assert_eq(decoded_queue("h.fifo")->flags, BB_SNAPSHOT_QUEUE_FIFO |
	                                                 BB_SNAPSHOT_QUEUE_DEDUP_PER_GROUP |
	                                                 BB_SNAPSHOT_QUEUE_THROUGHPUT_PER_GROUP);
}

Test(ctl_sqs, set_queue_attributes_changes_what_may_change_and_moves_the_version)
{
	cr_assert_eq(create_with("q", "VisibilityTimeout", "30"), 200);
	uint64_t v0 = ctl_store_version(store);
	const char *url = "\"QueueUrl\":\"http://h/000000000000/q\"";
	char body[512];
	snprintf(body, sizeof(body),
	         "{%s,\"Attributes\":{\"DelaySeconds\":\"15\",\"MessageRetentionPeriod\":\"600\","
	         "\"VisibilityTimeout\":\"90\"}}", url);
	call("AmazonSQS.SetQueueAttributes", body);
	cr_assert_eq(result.http_status, 200);
	cr_assert(result.changed);
	cr_assert_eq(ctl_store_version(store), v0 + 1);
	cr_assert_str_eq(attribute("q", "DelaySeconds"), "15");
	cr_assert_str_eq(attribute("q", "MessageRetentionPeriod"), "600");
	cr_assert_str_eq(attribute("q", "VisibilityTimeout"), "90");
	call("AmazonSQS.SetQueueAttributes", body);
	cr_assert_not(result.changed, "the same values: no new version");
	cr_assert_eq(ctl_store_version(store), v0 + 1);

	snprintf(body, sizeof(body),
	         "{%s,\"Attributes\":{\"DelaySeconds\":\"0\",\"MessageRetentionPeriod\":\"59\"}}",
	         url);
	call("AmazonSQS.SetQueueAttributes", body);
	cr_assert_str_eq(str("__type"), "com.amazonaws.sqs#InvalidAttributeValue");
	cr_assert_str_eq(attribute("q", "DelaySeconds"), "15", "a refused call changes nothing");
	snprintf(body, sizeof(body), "{%s,\"Attributes\":{\"FifoQueue\":\"true\"}}", url);
	call("AmazonSQS.SetQueueAttributes", body);
	cr_assert_str_eq(str("__type"), "com.amazonaws.sqs#InvalidAttributeName");
	snprintf(body, sizeof(body), "{%s,\"Attributes\":{\"busbar:Durability\":\"memory\"}}", url);
	call("AmazonSQS.SetQueueAttributes", body);
	cr_assert_str_eq(str("__type"), "com.amazonaws.sqs#InvalidAttributeName");
	snprintf(body, sizeof(body), "{%s,\"Attributes\":{\"Policy\":\"{}\"}}", url);
	call("AmazonSQS.SetQueueAttributes", body);
	cr_assert_str_eq(str("__type"), "com.amazonaws.sqs#InvalidAttributeName");
	snprintf(body, sizeof(body), "{%s}", url);
	call("AmazonSQS.SetQueueAttributes", body);
	cr_assert_str_eq(str("__type"), "com.amazonaws.sqs#MissingParameter");
	call("AmazonSQS.SetQueueAttributes", "{\"QueueUrl\":\"http://h/000000000000/none\","
	                                     "\"Attributes\":{\"DelaySeconds\":\"1\"}}");
	cr_assert_str_eq(str("__type"), "com.amazonaws.sqs#QueueDoesNotExist");
	cr_assert_eq(ctl_store_version(store), v0 + 1, "no refusal moved the version");
	decode_snapshot();
	cr_assert_eq(decoded_queue("q")->delay_s, 15);
	cr_assert_eq(decoded_queue("q")->visibility_timeout_s, 90);
}

static unsigned tag(const char *key, const char *value)
{
	char body[1024];
	snprintf(body, sizeof(body),
	         "{\"QueueUrl\":\"http://h/000000000000/tagged\",\"Tags\":{\"%s\":\"%s\"}}", key,
	         value);
	call("AmazonSQS.TagQueue", body);
	return result.http_status;
}

static size_t tag_count(void)
{
	call("AmazonSQS.ListQueueTags", "{\"QueueUrl\":\"http://h/000000000000/tagged\"}");
	cr_assert_eq(result.http_status, 200);
	return json_object_size(json_object_get(result.body, "Tags"));
}

/* Tags as SQS has them: at CreateQueue and with TagQueue, 50 a queue, AWS's key rules. */
Test(ctl_sqs, tags_by_aws_rules_up_to_50)
{
	call("AmazonSQS.CreateQueue", "{\"QueueName\":\"tagged\",\"tags\":{\"team\":\"a\"}}");
	cr_assert_eq(result.http_status, 200);
	uint64_t v0 = ctl_store_version(store);
	cr_assert_eq(tag_count(), 1);
	cr_assert_eq(tag("team", "b"), 200, "an existing key is replaced");
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(
	                     (call("AmazonSQS.ListQueueTags",
	                           "{\"QueueUrl\":\"http://h/000000000000/tagged\"}"),
	                      result.body), "Tags"), "team")), "b");
	char key[200], value[300];
	memset(key, 'k', 128);
	key[128] = '\0';
	memset(value, 'v', 256);
	value[256] = '\0';
	cr_assert_eq(tag(key, value), 200, "a key of 128 and a value of 256 characters");
	key[128] = 'k';
	key[129] = '\0';
	cr_assert_eq(tag(key, "v"), 400, "a key of 129");
	cr_assert_str_eq(str("__type"), "com.amazonaws.sqs#InvalidParameterValue");
	value[256] = 'v';
	value[257] = '\0';
	cr_assert_eq(tag("k", value), 400, "a value of 257");
	cr_assert_eq(tag("aws:team", "x"), 400, "aws: is reserved");
	cr_assert_eq(tag("", "x"), 400, "an empty key");
	cr_assert_eq(tag("bad#key", "x"), 400, "# is not a tag character");
	cr_assert_eq(tag("dept:unit/a_b.c=d+e-f@g h", "x"), 200, "every allowed punctuation");
	cr_assert_eq(tag_count(), 3);
	for (int i = 3; i < 50; i++) {
		snprintf(key, sizeof(key), "t%d", i);
		cr_assert_eq(tag(key, "x"), 200);
	}
	cr_assert_eq(tag_count(), 50);
	cr_assert_eq(tag("one-more", "x"), 400, "a 51st tag");
	cr_assert_eq(tag_count(), 50, "nothing of the refused call was kept");
	cr_assert_eq(tag("t3", "replaced"), 200, "replacing one of 50 is no 51st");
	call("AmazonSQS.UntagQueue",
	     "{\"QueueUrl\":\"http://h/000000000000/tagged\",\"TagKeys\":[\"t3\",\"t4\",\"none\"]}");
	cr_assert_eq(result.http_status, 200);
	cr_assert_eq(tag_count(), 48);
	cr_assert_eq(ctl_store_version(store), v0, "tags are not busbard's configuration");
	call("AmazonSQS.ListQueueTags", "{\"QueueUrl\":\"http://h/000000000000/none\"}");
	cr_assert_str_eq(str("__type"), "com.amazonaws.sqs#QueueDoesNotExist");
	call("AmazonSQS.CreateQueue", "{\"QueueName\":\"bad\",\"tags\":{\"aws:x\":\"y\"}}");
	cr_assert_str_eq(str("__type"), "com.amazonaws.sqs#InvalidParameterValue");
	call("AmazonSQS.GetQueueUrl", "{\"QueueName\":\"bad\"}");
	cr_assert_str_eq(str("__type"), "com.amazonaws.sqs#QueueDoesNotExist", "nothing created");
}

/* Issue 10, defect 14: MaxResults cut the list without a NextToken to go on with. */
Test(ctl_sqs, list_queues_pages_with_next_token)
{
	call("AmazonSQS.CreateQueue", "{\"QueueName\":\"p1\"}");
	call("AmazonSQS.CreateQueue", "{\"QueueName\":\"p2\"}");
	call("AmazonSQS.CreateQueue", "{\"QueueName\":\"p3\"}");
	call("AmazonSQS.CreateQueue", "{\"QueueName\":\"other\"}");
	const char *expected[] = {"p1", "p2", "p3"};
	char request[256] = "{\"QueueNamePrefix\":\"p\",\"MaxResults\":2}";
	uint32_t seen = 0;
	for (uint32_t page = 0; page < 3; page++) {
		call("AmazonSQS.ListQueues", request);
		cr_assert_eq(result.http_status, 200, "%s", request);
		json_t *urls = json_object_get(result.body, "QueueUrls");
		for (size_t i = 0; i < json_array_size(urls); i++) {
			const char *url = json_string_value(json_array_get(urls, i));
			cr_assert_lt(seen, 3);
			cr_assert_not_null(strstr(url, expected[seen]), "%s", url);
			seen++;
		}
		const char *token = str("NextToken");
		if (token == NULL)
			break;
		snprintf(request, sizeof(request),
		         "{\"QueueNamePrefix\":\"p\",\"MaxResults\":2,\"NextToken\":\"%s\"}",
		         token);
	}
	cr_assert_eq(seen, 3, "every queue once, across pages");
	call("AmazonSQS.ListQueues", "{\"MaxResults\":4}");
	cr_assert_null(str("NextToken"), "no token when nothing is left");
	call("AmazonSQS.ListQueues", "{}");
	cr_assert_eq(json_array_size(json_object_get(result.body, "QueueUrls")), 4);
	cr_assert_null(str("NextToken"), "no MaxResults, no token (as SQS)");
	call("AmazonSQS.ListQueues", "{\"MaxResults\":1,\"NextToken\":\"not a token\"}");
	cr_assert_str_eq(str("__type"), "com.amazonaws.sqs#InvalidParameterValue");
}

/* Issue 10, defect 14: a QueueUrl of another account named the local queue of that name. */
Test(ctl_sqs, queue_urls_of_another_account_are_not_ours)
{
	call("AmazonSQS.CreateQueue", "{\"QueueName\":\"bq4\"}");
	call("AmazonSQS.DeleteQueue",
	     "{\"QueueUrl\":\"https://sqs.us-east-1.amazonaws.com/123456789012/bq4\"}");
	cr_assert_eq(result.http_status, 400);
	cr_assert_str_eq(str("__type"), "com.amazonaws.sqs#QueueDoesNotExist");
	cr_assert_not(result.changed);
	call("AmazonSQS.GetQueueAttributes",
	     "{\"QueueUrl\":\"https://sqs.us-east-1.amazonaws.com/123456789012/bq4\"}");
	cr_assert_str_eq(str("__type"), "com.amazonaws.sqs#QueueDoesNotExist");
	call("AmazonSQS.DeleteQueue", "{\"QueueUrl\":\"http://h/000000000000/x/bq4\"}");
	cr_assert_str_eq(str("__type"), "com.amazonaws.sqs#InvalidAddress");
	call("AmazonSQS.GetQueueUrl", "{\"QueueName\":\"bq4\"}");
	cr_assert_eq(result.http_status, 200, "bq4 is still there");
	/* Any host, as SDKs send the endpoint's or AWS's: the account and name decide. */
	call("AmazonSQS.DeleteQueue",
	     "{\"QueueUrl\":\"https://sqs.us-east-1.amazonaws.com/000000000000/bq4\"}");
	cr_assert_eq(result.http_status, 200);
}

/* Issue 10, defect 14: "  5" was read as 5; numbers must be written plainly. */
Test(ctl_sqs, attribute_numbers_must_be_canonical)
{
	const char *bad[] = {"  5", "5 ", "+5", "05", "-0", "", "5x", "0x10"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char request[128];
		snprintf(request, sizeof(request),
		         "{\"QueueName\":\"n\",\"Attributes\":{\"VisibilityTimeout\":\"%s\"}}",
		         bad[i]);
		call("AmazonSQS.CreateQueue", request);
		cr_assert_str_eq(str("__type"), "com.amazonaws.sqs#InvalidAttributeValue", "'%s'",
		                 bad[i]);
	}
	call("AmazonSQS.CreateQueue",
	     "{\"QueueName\":\"n\",\"Attributes\":{\"VisibilityTimeout\":\"0\"}}");
	cr_assert_eq(result.http_status, 200);
}

/* Issue 10, defect 6: snapshots name their store, made random with the database and
 * kept with it, so busbard can tell a fresh or another database from its own. */
Test(ctl_sqs, each_store_has_an_identity_that_its_snapshots_carry)
{
	char path[] = "/tmp/bb-ctl-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	close(fd);
	char error[256];
	uint8_t first[BB_SNAPSHOT_STORE_ID_BYTES], again[BB_SNAPSHOT_STORE_ID_BYTES];
	uint8_t other[BB_SNAPSHOT_STORE_ID_BYTES], zero[BB_SNAPSHOT_STORE_ID_BYTES] = {0};
	struct ctl_store *file_store = ctl_store_open(path, error, sizeof(error));
	cr_assert_not_null(file_store, "%s", error);
	cr_assert_eq(ctl_store_identity(file_store, first), 0);
	ctl_store_close(file_store);
	file_store = ctl_store_open(path, error, sizeof(error));
	cr_assert_eq(ctl_store_identity(file_store, again), 0);
	ctl_store_close(file_store);
	cr_assert_eq(memcmp(first, again, sizeof(first)), 0, "kept with the database");
	cr_assert_neq(memcmp(first, zero, sizeof(first)), 0);
	cr_assert_eq(ctl_store_identity(store, other), 0);
	cr_assert_neq(memcmp(first, other, sizeof(first)), 0, "another database, another id");
	unlink(path);

	call("AmazonSQS.CreateQueue", "{\"QueueName\":\"q\"}");
	struct bb_snapshot_header header = decode_snapshot();
	cr_assert_eq(memcmp(header.store_id, other, sizeof(other)), 0);
	cr_assert_not(header.adopt);

	/* Adopting numbers after busbard's version; the version never goes back. */
	uint64_t version = ctl_store_version(store);
	cr_assert_eq(ctl_store_advance_version(store, version + 40), 0);
	cr_assert_eq(ctl_store_version(store), version + 40);
	cr_assert_eq(ctl_store_advance_version(store, 1), 0);
	cr_assert_eq(ctl_store_version(store), version + 40);
	uint8_t *body;
	size_t bytes;
	cr_assert_eq(ctl_store_snapshot(store, true, &body, &bytes, &version), 0);
	cr_assert_eq(bb_snapshot_decode(body, bytes, &header, collect, NULL, error, sizeof(error)),
	             WIRE_OK);
	free(body);
	cr_assert(header.adopt);
	cr_assert_eq(header.version, version);
}

/* The __type and message of the last answer, for the redrive tests. */
static bool refused_with(const char *type, const char *reason)
{
	const char *message = str("message");
	return result.http_status == 400 && str("__type") != NULL &&
	       strcmp(str("__type"), type) == 0 && message != NULL && strstr(message, reason) != NULL;
}

#define DLQ_ARN(name) "arn:aws:sqs:us-east-1:000000000000:" name
#define POLICY(dlq, count)                                                                         \
	"{\\\"deadLetterTargetArn\\\":\\\"" DLQ_ARN(dlq) "\\\",\\\"maxReceiveCount\\\":" count "}"

/*
 * RedrivePolicy (issue 11): the dead-letter queue must exist and be of the source's type,
 * maxReceiveCount 1-1000 (a number or a string); GetQueueAttributes shows it with this
 * appliance's ARN, SetQueueAttributes with "" removes it, and the snapshot carries the
 * dead-letter queue's name and the count to busbard. Each refusal is InvalidParameterValue
 * with SQS's reason.
 */
Test(ctl_sqs, redrive_policy_is_checked_shown_removed_and_reaches_the_snapshot)
{
	call("AmazonSQS.CreateQueue", "{\"QueueName\":\"dlq\"}");
	call("AmazonSQS.CreateQueue", "{\"QueueName\":\"dlq.fifo\",\"Attributes\":"
	                              "{\"FifoQueue\":\"true\"}}");
	call("AmazonSQS.CreateQueue", "{\"QueueName\":\"src\",\"Attributes\":{\"RedrivePolicy\":\""
	                              POLICY("gone", "3") "\"}}");
	cr_assert(refused_with("com.amazonaws.sqs#InvalidParameterValue",
	                       "Dead letter target does not exist"), "%s", str("message"));
	call("AmazonSQS.CreateQueue", "{\"QueueName\":\"src\",\"Attributes\":{\"RedrivePolicy\":\""
	                              POLICY("dlq.fifo", "3") "\"}}");
	cr_assert(refused_with("com.amazonaws.sqs#InvalidParameterValue", "same type"));
	call("AmazonSQS.CreateQueue", "{\"QueueName\":\"src\",\"Attributes\":{\"RedrivePolicy\":\""
	                              POLICY("dlq", "0") "\"}}");
	cr_assert(refused_with("com.amazonaws.sqs#InvalidParameterValue", "1 to 1000"));
	call("AmazonSQS.CreateQueue", "{\"QueueName\":\"src\",\"Attributes\":{\"RedrivePolicy\":\""
	                              POLICY("dlq", "1001") "\"}}");
	cr_assert(refused_with("com.amazonaws.sqs#InvalidParameterValue", "1 to 1000"));
	call("AmazonSQS.CreateQueue", "{\"QueueName\":\"src\",\"Attributes\":{\"RedrivePolicy\":"
	                              "\"{\\\"maxReceiveCount\\\":3}\"}}");
	cr_assert(refused_with("com.amazonaws.sqs#InvalidParameterValue",
	                       "mandatory attribute: deadLetterTargetArn"));
	call("AmazonSQS.CreateQueue", "{\"QueueName\":\"src\",\"Attributes\":{\"RedrivePolicy\":"
	                              "\"not json\"}}");
	cr_assert(refused_with("com.amazonaws.sqs#InvalidParameterValue", "not a valid JSON map"));
	call("AmazonSQS.GetQueueUrl", "{\"QueueName\":\"src\"}");
	cr_assert_str_eq(str("__type"), "com.amazonaws.sqs#QueueDoesNotExist", "nothing was made");

	call("AmazonSQS.CreateQueue", "{\"QueueName\":\"src\",\"Attributes\":{\"RedrivePolicy\":"
	                              "\"{\\\"deadLetterTargetArn\\\":\\\"" DLQ_ARN("dlq")
	                              "\\\",\\\"maxReceiveCount\\\":\\\"5\\\"}\"}}");
	cr_assert_eq(result.http_status, 200, "%s", str("message"));
	cr_assert_str_eq(attribute("src", "RedrivePolicy"),
	                 "{\"deadLetterTargetArn\":\"arn:aws:sqs:local:000000000000:dlq\","
	                 "\"maxReceiveCount\":5}");
	const struct bb_snapshot_queue *src = (decode_snapshot(), decoded_queue("src"));
	cr_assert_str_eq(src->dead_letter_queue, "dlq");
	cr_assert_eq(src->dead_letter_queue_bytes, 3);
	cr_assert_eq(src->max_receive_count, 5);
	cr_assert_eq(decoded_queue("dlq")->dead_letter_queue_bytes, 0);

	call("AmazonSQS.SetQueueAttributes", "{\"QueueUrl\":\"http://h/000000000000/src\","
	                                     "\"Attributes\":{\"RedrivePolicy\":\""
	                                     POLICY("src", "2") "\"}}");
	cr_assert(refused_with("com.amazonaws.sqs#InvalidParameterValue", "its own"));
	uint64_t version = ctl_store_version(store);
	call("AmazonSQS.SetQueueAttributes", "{\"QueueUrl\":\"http://h/000000000000/src\","
	                                     "\"Attributes\":{\"RedrivePolicy\":\"\"}}");
	cr_assert_eq(result.http_status, 200);
	cr_assert(result.changed);
	cr_assert_eq(ctl_store_version(store), version + 1);
	cr_assert_null(attribute("src", "RedrivePolicy"), "removed");
	cr_assert_eq((decode_snapshot(), decoded_queue("src"))->dead_letter_queue_bytes, 0);
}

/*
 * RedriveAllowPolicy (issue 11): allowAll, denyAll or byQueue with 1-10 source ARNs; a
 * dead-letter queue refuses a RedrivePolicy its policy does not allow; shown as written back
 * (with this appliance's ARNs), removed with "".
 */
Test(ctl_sqs, redrive_allow_policy_decides_which_sources_may_use_a_dead_letter_queue)
{
	call("AmazonSQS.CreateQueue", "{\"QueueName\":\"dlq\",\"Attributes\":{\"RedriveAllowPolicy\":"
	                              "\"{\\\"redrivePermission\\\":\\\"denyAll\\\"}\"}}");
	cr_assert_eq(result.http_status, 200, "%s", str("message"));
	call("AmazonSQS.CreateQueue", "{\"QueueName\":\"a\"}");
	call("AmazonSQS.CreateQueue", "{\"QueueName\":\"b\"}");
	const char *set_a = "{\"QueueUrl\":\"http://h/000000000000/a\",\"Attributes\":"
	                    "{\"RedrivePolicy\":\"" POLICY("dlq", "2") "\"}}";
	call("AmazonSQS.SetQueueAttributes", set_a);
	cr_assert(refused_with("com.amazonaws.sqs#InvalidParameterValue", "RedriveAllowPolicy"));

	call("AmazonSQS.SetQueueAttributes",
	     "{\"QueueUrl\":\"http://h/000000000000/dlq\",\"Attributes\":{\"RedriveAllowPolicy\":"
	     "\"{\\\"redrivePermission\\\":\\\"byQueue\\\",\\\"sourceQueueArns\\\":[\\\"" DLQ_ARN("a")
	     "\\\"]}\"}}");
	cr_assert_eq(result.http_status, 200, "%s", str("message"));
	cr_assert_str_eq(attribute("dlq", "RedriveAllowPolicy"),
	                 "{\"redrivePermission\":\"byQueue\",\"sourceQueueArns\":"
	                 "[\"arn:aws:sqs:local:000000000000:a\"]}");
	call("AmazonSQS.SetQueueAttributes", set_a);
	cr_assert_eq(result.http_status, 200, "a is listed: %s", str("message"));
	call("AmazonSQS.SetQueueAttributes", "{\"QueueUrl\":\"http://h/000000000000/b\","
	                                     "\"Attributes\":{\"RedrivePolicy\":\""
	                                     POLICY("dlq", "2") "\"}}");
	cr_assert(refused_with("com.amazonaws.sqs#InvalidParameterValue", "RedriveAllowPolicy"),
	          "b is not");

	/* Eleven sources: one over the limit (its own string: none are joined in the array). */
	static const char eleven[] =
	    "{\\\"redrivePermission\\\":\\\"byQueue\\\",\\\"sourceQueueArns\\\":[\\\"x\\\",\\\"x\\\","
	    "\\\"x\\\",\\\"x\\\",\\\"x\\\",\\\"x\\\",\\\"x\\\",\\\"x\\\",\\\"x\\\",\\\"x\\\",\\\"x\\\"]}";
	static const char *const bad[] = {
	    "{\\\"redrivePermission\\\":\\\"some\\\"}",
	    "{\\\"redrivePermission\\\":\\\"byQueue\\\"}",
	    "{\\\"redrivePermission\\\":\\\"allowAll\\\",\\\"sourceQueueArns\\\":[]}",
	    "{\\\"redrivePermission\\\":\\\"byQueue\\\",\\\"sourceQueueArns\\\":[\\\"a\\\"]}",
	    eleven,
	    "{\\\"redrivePermission\\\":\\\"allowAll\\\",\\\"other\\\":1}",
	    "[]",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char request[1024];
		snprintf(request, sizeof(request),
		         "{\"QueueUrl\":\"http://h/000000000000/dlq\",\"Attributes\":"
		         "{\"RedriveAllowPolicy\":\"%s\"}}",
		         bad[i]);
		call("AmazonSQS.SetQueueAttributes", request);
		cr_assert(refused_with("com.amazonaws.sqs#InvalidParameterValue", "RedriveAllowPolicy"),
		          "bad policy %zu: %s", i, str("message"));
	}
	call("AmazonSQS.SetQueueAttributes", "{\"QueueUrl\":\"http://h/000000000000/dlq\","
	                                     "\"Attributes\":{\"RedriveAllowPolicy\":\"\"}}");
	cr_assert_eq(result.http_status, 200);
	cr_assert_null(attribute("dlq", "RedriveAllowPolicy"), "removed: allowAll again");
}

/* ListDeadLetterSourceQueues (issue 11): the queues whose RedrivePolicy names the queue,
 * by name, paged with MaxResults and NextToken; queueUrls as AWS names it. */
Test(ctl_sqs, list_dead_letter_source_queues_pages_the_sources)
{
	call("AmazonSQS.CreateQueue", "{\"QueueName\":\"dlq\"}");
	call("AmazonSQS.CreateQueue", "{\"QueueName\":\"other\"}");
	const char *names[] = {"s3", "s1", "s2"};
	for (size_t i = 0; i < 3; i++) {
		char request[512];
		snprintf(request, sizeof(request),
		         "{\"QueueName\":\"%s\",\"Attributes\":{\"RedrivePolicy\":\"%s\"}}", names[i],
		         POLICY("dlq", "4"));
		call("AmazonSQS.CreateQueue", request);
		cr_assert_eq(result.http_status, 200, "%s", str("message"));
	}
	call("AmazonSQS.ListDeadLetterSourceQueues",
	     "{\"QueueUrl\":\"http://h/000000000000/dlq\",\"MaxResults\":2}");
	cr_assert_eq(result.http_status, 200);
	json_t *urls = json_object_get(result.body, "queueUrls");
	cr_assert_eq(json_array_size(urls), 2);
	cr_assert_str_eq(json_string_value(json_array_get(urls, 0)),
	                 "http://127.0.0.1:7680/000000000000/s1");
	cr_assert_str_eq(str("NextToken"), "s2");
	call("AmazonSQS.ListDeadLetterSourceQueues",
	     "{\"QueueUrl\":\"http://h/000000000000/dlq\",\"MaxResults\":2,\"NextToken\":\"s2\"}");
	urls = json_object_get(result.body, "queueUrls");
	cr_assert_eq(json_array_size(urls), 1);
	cr_assert_str_eq(json_string_value(json_array_get(urls, 0)),
	                 "http://127.0.0.1:7680/000000000000/s3");
	cr_assert_null(str("NextToken"), "the last page");
	call("AmazonSQS.ListDeadLetterSourceQueues", "{\"QueueUrl\":\"http://h/000000000000/other\"}");
	cr_assert_eq(json_array_size(json_object_get(result.body, "queueUrls")), 0);
	call("AmazonSQS.ListDeadLetterSourceQueues", "{\"QueueUrl\":\"http://h/000000000000/nope\"}");
	cr_assert_str_eq(str("__type"), "com.amazonaws.sqs#QueueDoesNotExist");
}
