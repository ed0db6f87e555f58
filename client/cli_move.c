/*
 * SQS message move tasks from the busbar command (see cli_move.h): each subcommand is one
 * call of busbar-control's SQS JSON 1.0 API, its answer printed as it came.
 */
#include "cli_move.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli_http.h"

#define ARN_BYTES_MAX 256u
#define RATE_MAX      500 /* MaxNumberOfMessagesPerSecond, as SQS (busbar-control checks) */

enum { EXIT_USAGE = 2 };

static const struct cli_http_service SQS_API = {
    .target_prefix = "AmazonSQS",
    .sigv4_service = "sqs",
    .json_version = "1.0",
    .error_name = CLI_HTTP_ERROR_TYPE_NAME,
};

/* A queue's ARN from its name (or the ARN as given). */
static json_t *queue_arn(const char *queue)
{
	if (strncmp(queue, "arn:", 4) == 0)
		return json_string(queue);
	const char *region = getenv("BUSBAR_REGION");
	return json_sprintf("arn:aws:sqs:%s:000000000000:%s",
	                    region != NULL && region[0] != '\0' ? region : "local", queue);
}

/* start DLQ [DESTINATION|- [RATE]]: NULL when the arguments are not that. */
static json_t *start_request(int argc, char **argv)
{
	if (argc < 1 || argc > 3)
		return NULL;
	json_t *request = json_pack("{s:o}", "SourceArn", queue_arn(argv[0]));
	if (argc >= 2 && strcmp(argv[1], "-") != 0)
		json_object_set_new(request, "DestinationArn", queue_arn(argv[1]));
	if (argc == 3) {
		char *end;
		long rate = strtol(argv[2], &end, 10);
		if (*end != '\0' || end == argv[2] || rate < 1 || rate > RATE_MAX) {
			json_decref(request);
			return NULL;
		}
		json_object_set_new(request, "MaxNumberOfMessagesPerSecond", json_integer(rate));
	}
	return request;
}

bool cli_move_is_command(const char *command)
{
	return strcmp(command, "move-task") == 0;
}

int cli_move_run(const struct cli_move_settings *s, int argc, char **argv)
{
	assert(s != NULL && argc >= 0);
	const char *sub = argc > 0 ? argv[0] : "";
	const char *action = NULL;
	json_t *request = NULL;
	if (strcmp(sub, "start") == 0) {
		action = "StartMessageMoveTask";
		request = start_request(argc - 1, argv + 1);
	} else if (strcmp(sub, "list") == 0 && argc == 2) {
		action = "ListMessageMoveTasks";
		request = json_pack("{s:o, s:i}", "SourceArn", queue_arn(argv[1]), "MaxResults",
		                    (int)s->max_results);
	} else if (strcmp(sub, "cancel") == 0 && argc == 2) {
		action = "CancelMessageMoveTask";
		request = json_pack("{s:s}", "TaskHandle", argv[1]);
	}
	if (request == NULL) {
		cli_move_usage(stderr);
		return EXIT_USAGE;
	}
	struct cli_http_peer peer = {s->endpoint, s->key_file, s->access_key_id, s->timeout_ms};
	int rc = cli_http_call_print(&SQS_API, &peer, action, request);
	json_decref(request);
	return rc;
}

void cli_move_usage(FILE *out)
{
	fprintf(out, "message move tasks (busbar-control; a queue is a name or ARN):\n"
	             "  move-task start DLQ [DESTINATION|- [RATE]]   (RATE: 1-500 messages/s;\n"
	             "                       no DESTINATION: the DLQ's one source queue)\n"
	             "  move-task list DLQ [--max N] | move-task cancel HANDLE\n");
}
