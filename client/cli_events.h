/*
 * The busbar command's EventBridge management commands (create-event-bus,
 * put-rule, put-targets, ...; docs/eventbridge.md "Managing buses and rules").
 * They go to busbar-control's HTTP API as EventBridge's own JSON 1.1 calls
 * (X-Amz-Target: AWSEvents.<Action>, signed with SigV4 for the service
 * "events"), and print the JSON answers.
 */
#ifndef BB_CLI_EVENTS_H
#define BB_CLI_EVENTS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* getopt's value of --event-bus: above every character, so no letter is taken. */
#define CLI_OPT_EVENT_BUS 0x101

struct cli_events_settings {
	const char *endpoint; /* busbar-control's URL */
	const char *key_file; /* cli_key.h */
	const char *access_key_id;
	uint32_t timeout_ms;
	const char *event_bus;  /* --event-bus NAME|ARN; NULL: the default bus */
	const char *prefix;     /* list-event-buses, list-rules --prefix */
	const char *durability; /* create-event-bus --durability disk|memory */
};

/* The command is one of this module's. */
bool cli_events_is_command(const char *command);
/* Runs it; the command's exit code (0 ok, 1 the service's error, 2 usage, 3 no answer). */
int cli_events_run(const struct cli_events_settings *settings, const char *command, int argc,
                   char **argv);
/* The usage lines of these commands. */
void cli_events_usage(FILE *out);

#endif
