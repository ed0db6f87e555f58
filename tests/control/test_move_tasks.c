/*
 * SQS message move tasks' API (control/ctl_move.c) against a store: StartMessageMoveTask's
 * refusals with SQS's codes and words, the one active task per dead-letter queue, the
 * destination a task without DestinationArn gets (each message's DeadLetterQueueSourceArn,
 * so a dead-letter queue of several source queues is taken too), ListMessageMoveTasks' members, order and MaxResults, CancelMessageMoveTask's
 * states, the query protocol's shape of the calls, and that a task left RUNNING by a
 * stopped busbar-control is FAILED when the store is opened again. The runner, which
 * moves messages through busbard, is tested end to end by tests/integration/run_move.sh.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctl_aws.h"
#include "ctl_move.h"
#include "ctl_sqs.h"

#define ARN "arn:aws:sqs:local:000000000000:"

static char db_path[64];
static struct ctl_store *store;
static struct ctl_sqs_context sqs;
static struct ctl_move move;
static const struct ctl_aws_config config = {.account_id = "000000000000", .region = "local"};
static struct ctl_sqs_result result;
static int64_t now_ms = 1700000000000;

static void open_all(void)
{
	char error[256];
	store = ctl_store_open(db_path, error, sizeof(error));
	cr_assert_not_null(store, "%s", error);
	sqs = (struct ctl_sqs_context){.store = store, .base_url = "http://127.0.0.1:7680"};
	cr_assert_eq(ctl_move_open(&move, store, &config), 0);
}

static void setup(void)
{
	snprintf(db_path, sizeof(db_path), "/tmp/test_move_tasks.%d.db", (int)getpid());
	unlink(db_path);
	open_all();
}

static void teardown(void)
{
	json_decref(result.body);
	result.body = NULL;
	ctl_store_close(store);
	unlink(db_path);
}

TestSuite(move_tasks, .init = setup, .fini = teardown);

static void sqs_call(const char *target, const char *body)
{
	json_decref(result.body);
	ctl_sqs_handle(&sqs, target, body, strlen(body), &result);
	cr_assert_eq(result.http_status, 200, "%s: %s", target,
	             json_dumps(result.body, JSON_COMPACT));
}

static void call(const char *action, const char *body)
{
	char target[96];
	snprintf(target, sizeof(target), "AmazonSQS.%s", action);
	cr_assert(ctl_move_handles(target));
	json_decref(result.body);
	ctl_move_handle(&move, target, body, strlen(body), now_ms++, &result);
}

static const char *str(const char *key)
{
	return json_string_value(json_object_get(result.body, key));
}

/* The call was refused with this status, __type's name and message (a part of it). */
static void refused(unsigned status, const char *type, const char *words)
{
	cr_assert_eq(result.http_status, status, "%s", json_dumps(result.body, JSON_COMPACT));
	const char *t = str("__type");
	cr_assert(t != NULL && strstr(t, type) != NULL, "type %s, not %s", t, type);
	cr_assert(strstr(str("message"), words) != NULL, "message: %s", str("message"));
}

static void create(const char *name, const char *dead_letter_queue)
{
	char body[512];
	if (dead_letter_queue == NULL)
		snprintf(body, sizeof(body), "{\"QueueName\":\"%s\"%s}", name,
		         strstr(name, ".fifo") ? ",\"Attributes\":{\"FifoQueue\":\"true\"}" : "");
	else
		snprintf(body, sizeof(body),
		         "{\"QueueName\":\"%s\",\"Attributes\":{%s\"RedrivePolicy\":"
		         "\"{\\\"deadLetterTargetArn\\\":\\\"" ARN "%s\\\",\\\"maxReceiveCount\\\":1}\"}}",
		         name, strstr(name, ".fifo") ? "\"FifoQueue\":\"true\"," : "",
		         dead_letter_queue);
	sqs_call("AmazonSQS.CreateQueue", body);
}

/* The handle of a successful StartMessageMoveTask (a copy). */
static char *start(const char *body)
{
	call("StartMessageMoveTask", body);
	cr_assert_eq(result.http_status, 200, "%s", json_dumps(result.body, JSON_COMPACT));
	cr_assert_not_null(str("TaskHandle"));
	return strdup(str("TaskHandle"));
}

static json_t *newest_task(const char *source)
{
	char body[256];
	snprintf(body, sizeof(body), "{\"SourceArn\":\"" ARN "%s\"}", source);
	call("ListMessageMoveTasks", body);
	cr_assert_eq(result.http_status, 200, "%s", json_dumps(result.body, JSON_COMPACT));
	json_t *results = json_object_get(result.body, "Results");
	cr_assert_eq(json_array_size(results), 1);
	return json_array_get(results, 0);
}

Test(move_tasks, start_refuses_what_sqs_refuses)
{
	create("dlq", NULL);
	create("src", "dlq");
	create("plain", NULL);
	create("fifo-dlq.fifo", NULL);
	call("StartMessageMoveTask", "{}");
	refused(400, "MissingParameter", "must contain the parameter SourceArn");
	call("StartMessageMoveTask", "{\"SourceArn\":\"dlq\"}");
	refused(400, "InvalidParameterValue", "You must use this format to specify the SourceArn");
	call("StartMessageMoveTask", "{\"SourceArn\":\"" ARN "nope\"}");
	refused(404, "ResourceNotFoundException", "for the SourceArn parameter doesn't exist");
	call("StartMessageMoveTask", "{\"SourceArn\":\"" ARN "plain\"}");
	refused(400, "InvalidParameterValue", "Source queue must be configured as a Dead Letter");
	call("StartMessageMoveTask",
	     "{\"SourceArn\":\"" ARN "dlq\",\"MaxNumberOfMessagesPerSecond\":0}");
	refused(400, "InvalidParameterValue", "between 1 and 500");
	call("StartMessageMoveTask",
	     "{\"SourceArn\":\"" ARN "dlq\",\"MaxNumberOfMessagesPerSecond\":501}");
	refused(400, "InvalidParameterValue", "between 1 and 500");
	call("StartMessageMoveTask", "{\"SourceArn\":\"" ARN "dlq\",\"DestinationArn\":\"" ARN
	                             "nope\"}");
	refused(404, "ResourceNotFoundException", "for the DestinationArn parameter doesn't exist");
	call("StartMessageMoveTask", "{\"SourceArn\":\"" ARN "dlq\",\"DestinationArn\":\"" ARN
	                             "dlq\"}");
	refused(400, "InvalidParameterValue", "cannot be the same");
	call("StartMessageMoveTask", "{\"SourceArn\":\"" ARN "dlq\",\"DestinationArn\":\"" ARN
	                             "fifo-dlq.fifo\"}");
	refused(400, "InvalidParameterValue", "must be of the same queue type");
}

Test(move_tasks, one_active_task_per_dead_letter_queue)
{
	create("dlq", NULL);
	create("src", "dlq");
	create("other", NULL);
	free(start("{\"SourceArn\":\"" ARN "dlq\"}"));
	call("StartMessageMoveTask", "{\"SourceArn\":\"" ARN "dlq\",\"DestinationArn\":\"" ARN
	                             "other\"}");
	refused(400, "InvalidParameterValue", "There is already a task running");
}

Test(move_tasks, without_a_destination_each_message_goes_back_to_its_source)
{
	create("dlq", NULL);
	create("a", "dlq");
	free(start("{\"SourceArn\":\"" ARN "dlq\",\"MaxNumberOfMessagesPerSecond\":7}"));
	json_t *task = newest_task("dlq");
	/* DestinationArn is shown only when the call gave one, as in SQS. */
	cr_assert_null(json_object_get(task, "DestinationArn"));
	cr_assert_eq(json_integer_value(json_object_get(task, "MaxNumberOfMessagesPerSecond")), 7);

	create("dlq2", NULL);
	create("b", "dlq2");
	create("c", "dlq2");
	free(start("{\"SourceArn\":\"" ARN "dlq2\"}")); /* several sources: each message's own */
	task = newest_task("dlq2");
	cr_assert_null(json_object_get(task, "DestinationArn"));
	cr_assert_str_eq(json_string_value(json_object_get(task, "Status")), "RUNNING");
}

Test(move_tasks, list_shows_a_running_task_then_cancel_ends_it)
{
	create("dlq", NULL);
	create("src", "dlq");
	char *handle = start("{\"SourceArn\":\"" ARN "dlq\"}");
	json_t *task = newest_task("dlq");
	cr_assert_str_eq(json_string_value(json_object_get(task, "Status")), "RUNNING");
	cr_assert_str_eq(json_string_value(json_object_get(task, "TaskHandle")), handle);
	cr_assert_str_eq(json_string_value(json_object_get(task, "SourceArn")), ARN "dlq");
	cr_assert_eq(json_integer_value(json_object_get(task, "ApproximateNumberOfMessagesMoved")),
	             0);
	cr_assert_eq(json_integer_value(json_object_get(task, "StartedTimestamp")), now_ms - 2);
	/* Not counted yet (the runner counts when it takes the task up), so not shown. */
	cr_assert_null(json_object_get(task, "ApproximateNumberOfMessagesToMove"));
	cr_assert_null(json_object_get(task, "FailureReason"));

	char body[512];
	snprintf(body, sizeof(body), "{\"TaskHandle\":\"%s\"}", handle);
	call("CancelMessageMoveTask", body);
	cr_assert_eq(result.http_status, 200);
	cr_assert_eq(json_integer_value(json_object_get(result.body,
	                                                "ApproximateNumberOfMessagesMoved")), 0);
	task = newest_task("dlq");
	cr_assert_str_eq(json_string_value(json_object_get(task, "Status")), "CANCELLING");
	cr_assert_null(json_object_get(task, "TaskHandle")); /* a running task's only */
	call("CancelMessageMoveTask", body);
	refused(400, "InvalidParameterValue", "RUNNING");
	/* Still active while it is being cancelled. */
	call("StartMessageMoveTask", "{\"SourceArn\":\"" ARN "dlq\"}");
	refused(400, "InvalidParameterValue", "There is already a task running");
	free(handle);
}

Test(move_tasks, cancel_refuses_bad_and_unknown_handles)
{
	call("CancelMessageMoveTask", "{}");
	refused(400, "MissingParameter", "TaskHandle");
	call("CancelMessageMoveTask", "{\"TaskHandle\":\"foobared\"}");
	refused(400, "InvalidParameterValue", "Value for parameter TaskHandle is invalid.");
	/* base64 of {"taskId":"x","sourceArn":"y"}: a handle's shape, no task's. */
	call("CancelMessageMoveTask",
	     "{\"TaskHandle\":\"eyJ0YXNrSWQiOiJ4Iiwic291cmNlQXJuIjoieSJ9\"}");
	refused(404, "ResourceNotFoundException", "Task does not exist.");
}

Test(move_tasks, list_is_newest_first_bounded_and_kept_per_queue)
{
	create("dlq", NULL);
	create("src", "dlq");
	char *handles[CTL_MOVE_KEPT_PER_SOURCE + 2];
	for (size_t i = 0; i < CTL_MOVE_KEPT_PER_SOURCE + 2; i++) {
		handles[i] = start("{\"SourceArn\":\"" ARN "dlq\"}");
		char body[512];
		snprintf(body, sizeof(body), "{\"TaskHandle\":\"%s\"}", handles[i]);
		call("CancelMessageMoveTask", body); /* CANCELLING: let the next start */
		cr_assert_eq(result.http_status, 200);
		ctl_store_close(store); /* a restart ends CANCELLING as CANCELLED */
		open_all();
	}
	call("ListMessageMoveTasks", "{\"SourceArn\":\"" ARN "dlq\",\"MaxResults\":10}");
	json_t *results = json_object_get(result.body, "Results");
	cr_assert_eq(json_array_size(results), 10);
	for (size_t i = 0; i < 10; i++)
		cr_assert_str_eq(json_string_value(json_object_get(json_array_get(results, i),
		                                                   "Status")),
		                 "CANCELLED");
	cr_assert_eq(json_integer_value(json_object_get(json_array_get(results, 0),
	                                                "StartedTimestamp")),
	             now_ms - 3); /* the newest first: started, cancelled, listed */
	call("ListMessageMoveTasks", "{\"SourceArn\":\"" ARN "dlq\",\"MaxResults\":11}");
	refused(400, "InvalidParameterValue", "between 1 and 10");
	call("ListMessageMoveTasks", "{\"SourceArn\":\"" ARN "dlq\",\"MaxResults\":0}");
	refused(400, "InvalidParameterValue", "between 1 and 10");
	call("ListMessageMoveTasks", "{\"SourceArn\":\"" ARN "gone\"}");
	refused(404, "ResourceNotFoundException", "SourceArn");
	/* The oldest beyond the kept ones are forgotten. */
	char body[512];
	snprintf(body, sizeof(body), "{\"TaskHandle\":\"%s\"}", handles[0]);
	call("CancelMessageMoveTask", body);
	refused(404, "ResourceNotFoundException", "Task does not exist.");
	for (size_t i = 0; i < CTL_MOVE_KEPT_PER_SOURCE + 2; i++)
		free(handles[i]);
}

Test(move_tasks, a_task_running_when_control_stopped_is_failed)
{
	create("dlq", NULL);
	create("src", "dlq");
	free(start("{\"SourceArn\":\"" ARN "dlq\"}"));
	json_decref(result.body);
	result.body = NULL;
	ctl_store_close(store);
	open_all();
	json_t *task = newest_task("dlq");
	cr_assert_str_eq(json_string_value(json_object_get(task, "Status")), "FAILED");
	cr_assert_str_eq(json_string_value(json_object_get(task, "FailureReason")),
	                 "busbar-control stopped");
	free(start("{\"SourceArn\":\"" ARN "dlq\"}")); /* no longer active */
}

Test(move_tasks, query_protocol_calls_are_managed_with_integer_rates)
{
	static const char body[] = "Action=StartMessageMoveTask&SourceArn=" ARN "dlq"
	                           "&MaxNumberOfMessagesPerSecond=5";
	struct ctl_aws_request request;
	const struct ctl_aws_error *error = NULL;
	char message[256];
	cr_assert_eq(ctl_aws_parse("application/x-www-form-urlencoded", NULL, body,
	                           sizeof(body) - 1, NULL, &request, &error, message,
	                           sizeof(message)),
	             0, "%s", message);
	cr_assert_eq(request.kind, CTL_AWS_MANAGE);
	cr_assert_eq(json_integer_value(json_object_get(request.params,
	                                                "MaxNumberOfMessagesPerSecond")), 5);
	ctl_aws_request_clear(&request);
	static const char list[] = "Action=ListMessageMoveTasks&SourceArn=x&MaxResults=3";
	cr_assert_eq(ctl_aws_parse("application/x-www-form-urlencoded", NULL, list,
	                           sizeof(list) - 1, NULL, &request, &error, message,
	                           sizeof(message)),
	             0);
	cr_assert_eq(request.kind, CTL_AWS_MANAGE);
	ctl_aws_request_clear(&request);
	cr_assert(ctl_move_handles("AmazonSQS.CancelMessageMoveTask"));
	cr_assert(!ctl_move_handles("AmazonSQS.CreateQueue"));
}
