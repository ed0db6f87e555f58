/*
 * The busbar command's SQS message move tasks (docs/operations.md, "Message move tasks"):
 *   move-task start DLQ [DESTINATION|- [RATE]]   StartMessageMoveTask
 *   move-task list DLQ [--max N]                  ListMessageMoveTasks (MaxResults N, 1-10)
 *   move-task cancel HANDLE                       CancelMessageMoveTask
 * Queues are names or ARNs (a name becomes arn:aws:sqs:REGION:000000000000:NAME, REGION
 * busbar-control's: BUSBAR_REGION, default "local"); the calls go to busbar-control's SQS
 * JSON 1.0 API (cli_http.h) and the answers print as JSON.
 */
#ifndef BB_CLI_MOVE_H
#define BB_CLI_MOVE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct cli_move_settings {
	const char *endpoint; /* busbar-control's URL */
	const char *key_file; /* cli_key.h */
	const char *access_key_id;
	uint32_t timeout_ms;
	uint32_t max_results; /* list's --max */
};

bool cli_move_is_command(const char *command);
/* Runs it (argv: start|list|cancel and its arguments); the command's exit code. */
int cli_move_run(const struct cli_move_settings *settings, int argc, char **argv);
void cli_move_usage(FILE *out);

#endif
