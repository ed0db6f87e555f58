/*
 * The busbar command's SNS management commands (create-topic, subscribe, ...;
 * docs/sns.md "Managing topics"). They go to busbar-control's HTTP API in
 * busbar's JSON shape of SNS (X-Amz-Target: AmazonSNS.<Action>, JSON 1.0,
 * signed with SigV4 for the service "sns"), so replies print as JSON; SNS
 * itself speaks only the query protocol, which the AWS CLI and SDKs use.
 */
#ifndef BB_CLI_SNS_H
#define BB_CLI_SNS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct cli_sns_settings {
	const char *endpoint; /* busbar-control's URL */
	const char *key_file; /* cli_key.h */
	const char *access_key_id;
	uint32_t timeout_ms;
	const char *topic;  /* list-subscriptions --topic */
	bool fifo;          /* create-topic --fifo: FifoTopic=true */
	bool content_based_deduplication;
	const char *durability; /* create-topic --durability disk|memory */
};

/* The command is one of this module's. */
bool cli_sns_is_command(const char *command);
/* Runs it; the command's exit code (0 ok, 1 the service's error, 2 usage, 3 no answer). */
int cli_sns_run(const struct cli_sns_settings *settings, const char *command, int argc,
                char **argv);
/* The usage lines of these commands. */
void cli_sns_usage(FILE *out);

#endif
