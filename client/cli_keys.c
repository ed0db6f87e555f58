/*
 * Key management commands of the busbar command (see cli_keys.h). The answer
 * of create and rotate holds a secret: it goes to stdout once and the command's
 * copy is zeroed; it never goes to stderr. Errors print the plain AWS code, the
 * x-amzn-query-error's when the answer has one (AccessDenied,
 * InvalidClientTokenId), else the JSON __type's (NoSuchEntity, LimitExceeded).
 */
#include "cli_keys.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bb_limits.h"
#include "cli_http.h"

#define OVERLAP_DIGITS_MAX 10

enum { EXIT_USAGE = 2 }; /* the command's exit codes are cli_http.h's */

/* Errors print the x-amzn-query-error's code when there is one, as IAM's clients do. */
static const struct cli_http_service KEYS_API = {
    .target_prefix = "BusbarKeys",
    .sigv4_service = "busbar",
    .json_version = "1.0",
    .error_name = CLI_HTTP_ERROR_QUERY_CODE,
};

/* --overlap-seconds: a plain number, 0 to BB_KEY_OVERLAP_S_MAX. */
static bool parse_overlap(const char *text, json_int_t *out)
{
	size_t length = strlen(text);
	if (length == 0 || length > OVERLAP_DIGITS_MAX)
		return false;
	for (size_t i = 0; i < length; i++) {
		if (!isdigit((unsigned char)text[i]))
			return false;
	}
	*out = strtoll(text, NULL, 10);
	return *out <= BB_KEY_OVERLAP_S_MAX;
}

/* The call a command line names, as its request; NULL after saying why (a usage error). */
static json_t *keys_request(const struct cli_keys_settings *s, int argc, char **argv,
                            const char **action)
{
	static const char *const names[][2] = {{"create", "CreateKey"},
	                                       {"list", "ListKeys"},
	                                       {"rotate", "RotateKey"},
	                                       {"revoke", "RevokeKey"},
	                                       {"put-policy", "PutKeyPolicy"}};
	size_t i = 0;
	while (argc >= 1 && i < sizeof(names) / sizeof(names[0]) && strcmp(argv[0], names[i][0]))
		i++;
	*action = argc >= 1 && i < sizeof(names) / sizeof(names[0]) ? names[i][1] : NULL;
	bool takes_id = *action != NULL && i >= 2;
	bool takes_policy = *action != NULL && (i == 0 || i == 4);
	json_int_t overlap_s = 0;
	if (*action == NULL || argc != (takes_id ? 2 : 1) || (i == 4 && s->policy == NULL) ||
	    (!takes_policy && s->policy != NULL) || (i != 2 && s->overlap_seconds != NULL)) {
		cli_keys_usage(stderr);
		return NULL;
	}
	if (s->overlap_seconds != NULL && !parse_overlap(s->overlap_seconds, &overlap_s)) {
		fprintf(stderr, "busbar: bad value for --overlap-seconds: %s (a number from 0 to "
		        "%u)\n", s->overlap_seconds, BB_KEY_OVERLAP_S_MAX);
		return NULL;
	}
	json_t *request = json_object();
	if (takes_id)
		json_object_set_new(request, "AccessKeyId", json_string(argv[1]));
	if (s->policy != NULL)
		json_object_set_new(request, "Policy", json_string(s->policy));
	if (s->overlap_seconds != NULL)
		json_object_set_new(request, "OverlapSeconds", json_integer(overlap_s));
	return request;
}

bool cli_keys_is_command(const char *command)
{
	return strcmp(command, "keys") == 0;
}

int cli_keys_run(const struct cli_keys_settings *s, int argc, char **argv)
{
	const char *action;
	json_t *request = keys_request(s, argc, argv, &action);
	if (request == NULL)
		return EXIT_USAGE;
	struct cli_http_peer peer = {s->endpoint, s->key_file, s->access_key_id, s->timeout_ms};
	int rc = cli_http_call_print(&KEYS_API, &peer, action, request);
	json_decref(request);
	return rc;
}

void cli_keys_usage(FILE *out)
{
	fprintf(out,
	        "keys (busbar-control; signed by a key whose policy grants busbar:<Action>):\n"
	        "  keys create [--policy JSON]   (prints the new key, secret included, once:\n"
	        "                                 the JSON --key-file reads)\n"
	        "  keys list                     (no secrets)\n"
	        "  keys rotate ACCESS_KEY_ID [--overlap-seconds N (0-%u, default a day)]\n"
	        "  keys revoke ACCESS_KEY_ID | keys put-policy ACCESS_KEY_ID --policy JSON\n",
	        BB_KEY_OVERLAP_S_MAX);
}
