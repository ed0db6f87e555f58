/*
 * The busbar command's key management (docs/operations.md, "Keys"):
 *   busbar keys create [--policy JSON] | list | rotate ID [--overlap-seconds N]
 *             | revoke ID | put-policy ID --policy JSON
 * Each is one call to busbar-control's HTTP API (X-Amz-Target BusbarKeys.<Action>,
 * JSON 1.0, signed with SigV4 for the service "busbar" by the command's key, whose
 * policy must grant busbar:<Action>). The answer prints as one line of JSON: create
 * and rotate print the new key, secret included, in the form --key-file reads.
 */
#ifndef BB_CLI_KEYS_H
#define BB_CLI_KEYS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* getopt values of --policy and --overlap-seconds: above busbar_cli.c's own (0x140...). */
enum { CLI_OPT_POLICY = 0x150, CLI_OPT_OVERLAP_SECONDS };
#define CLI_KEYS_LONG_OPTIONS                                                                      \
	{"policy", required_argument, NULL, CLI_OPT_POLICY},                                       \
	{                                                                                          \
		"overlap-seconds", required_argument, NULL, CLI_OPT_OVERLAP_SECONDS                \
	}

struct cli_keys_settings {
	const char *endpoint; /* busbar-control's URL */
	const char *key_file; /* cli_key.h */
	const char *access_key_id;
	uint32_t timeout_ms;
	const char *policy;          /* --policy JSON, or NULL */
	const char *overlap_seconds; /* --overlap-seconds, as given, or NULL */
};

/* The command is this module's ("keys"). */
bool cli_keys_is_command(const char *command);
/* Runs `keys SUBCOMMAND ...`: 0 ok, 1 the service's error, 2 usage, 3 no answer. */
int cli_keys_run(const struct cli_keys_settings *settings, int argc, char **argv);
/* The usage lines of these commands. */
void cli_keys_usage(FILE *out);

#endif
