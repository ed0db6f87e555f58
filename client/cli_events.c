/*
 * EventBridge management commands of the busbar command (see cli_events.h).
 * Arguments are EventBridge's own: put-rule takes pattern=JSON, schedule=EXPR,
 * state=ENABLED|DISABLED and description=TEXT words; put-targets takes each
 * target as the JSON object of PutTargets or as ID=ARN. A put-targets with
 * failed entries prints them and exits 1. List commands follow NextToken and
 * print every page's items together.
 */
#include "cli_events.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bb_limits.h"
#include "cli_http.h"

/* A list's pages: every rule of a bus (or bus) at 100 a page, and one more to see the end. */
#define LIST_PAGES_MAX (BB_RULE_COUNT_MAX / 100u + 2u)

enum { EXIT_OK = 0, EXIT_SERVICE = 1, EXIT_USAGE = 2 };

static const struct cli_http_service EVENTS_API = {
    .target_prefix = "AWSEvents",
    .sigv4_service = "events",
    .json_version = "1.1",
    .error_name = CLI_HTTP_ERROR_TYPE,
};

/* One call; *answer is its JSON reply on success. Returns an exit code. */
static int call(const struct cli_events_settings *s, const char *action, json_t *request,
                json_t **answer)
{
	struct cli_http_peer peer = {s->endpoint, s->key_file, s->access_key_id, s->timeout_ms};
	return cli_http_call(&EVENTS_API, &peer, action, request, answer);
}

static int print(json_t *value)
{
	int rc = json_dumpf(value, stdout, JSON_INDENT(2)) == 0 && fputc('\n', stdout) != EOF;
	json_decref(value);
	return rc ? EXIT_OK : EXIT_SERVICE;
}

/* One call, its answer printed. Takes request. */
static int run_one(const struct cli_events_settings *s, const char *action, json_t *request)
{
	json_t *answer = NULL;
	int rc = call(s, action, request, &answer);
	json_decref(request);
	return rc == EXIT_OK ? print(answer) : rc;
}

/* A List call page after page (NextToken), the items of key gathered. Takes request. */
static int run_list(const struct cli_events_settings *s, const char *action, const char *key,
                    json_t *request)
{
	json_t *items = json_array();
	int rc = EXIT_OK;
	for (uint32_t page = 0; rc == EXIT_OK && page < LIST_PAGES_MAX; page++) {
		json_t *answer = NULL;
		rc = call(s, action, request, &answer);
		if (rc != EXIT_OK)
			break;
		json_array_extend(items, json_object_get(answer, key));
		json_t *token = json_object_get(answer, "NextToken");
		if (token != NULL)
			json_object_set(request, "NextToken", token);
		json_decref(answer);
		if (token == NULL)
			break;
	}
	json_decref(request);
	if (rc != EXIT_OK) {
		json_decref(items);
		return rc;
	}
	return print(json_pack("{s:o}", key, items));
}

/* {"EventBusName": --event-bus} or {} */
static json_t *on_bus(const struct cli_events_settings *s)
{
	json_t *request = json_object();
	if (s->event_bus != NULL)
		json_object_set_new(request, "EventBusName", json_string(s->event_bus));
	return request;
}

static int usage_error(const char *command)
{
	fprintf(stderr, "busbar: %s: wrong arguments (busbar --help shows them)\n", command);
	return EXIT_USAGE;
}

/* put-rule NAME [pattern=JSON] [schedule=EXPR] [state=S] [description=TEXT] */
static int put_rule(const struct cli_events_settings *s, int argc, char **argv)
{
	static const struct {
		const char *word;
		const char *member;
	} words[] = {{"pattern=", "EventPattern"},
	             {"schedule=", "ScheduleExpression"},
	             {"state=", "State"},
	             {"description=", "Description"}};
	json_t *request = on_bus(s);
	json_object_set_new(request, "Name", json_string(argv[0]));
	for (int i = 1; i < argc; i++) {
		bool known = false;
		for (size_t w = 0; w < sizeof(words) / sizeof(words[0]) && !known; w++) {
			size_t length = strlen(words[w].word);
			if (strncmp(argv[i], words[w].word, length) == 0) {
				json_object_set_new(request, words[w].member,
				                    json_string(argv[i] + length));
				known = true;
			}
		}
		if (!known) {
			json_decref(request);
			fprintf(stderr,
			        "busbar: put-rule: %s is none of pattern=, schedule=, state=, "
			        "description=\n",
			        argv[i]);
			return EXIT_USAGE;
		}
	}
	return run_one(s, "PutRule", request);
}

/* A target word: a PutTargets JSON object, or ID=ARN. NULL when it is neither. */
static json_t *target_of(const char *word)
{
	if (word[0] == '{') {
		json_t *target = json_loads(word, 0, NULL);
		if (json_is_object(target))
			return target;
		json_decref(target);
		return NULL;
	}
	const char *equals = strchr(word, '=');
	if (equals == NULL || equals == word || equals[1] == '\0')
		return NULL;
	return json_pack("{s:s#, s:s}", "Id", word, (int)(equals - word), "Arn", equals + 1);
}

/* put-targets RULE TARGET... : exit 1 when an entry failed (they are printed). */
static int put_targets(const struct cli_events_settings *s, int argc, char **argv)
{
	json_t *targets = json_array();
	for (int i = 1; i < argc; i++) {
		json_t *target = target_of(argv[i]);
		if (target == NULL) {
			json_decref(targets);
			fprintf(stderr,
			        "busbar: put-targets: %s is neither a JSON target nor ID=ARN\n",
			        argv[i]);
			return EXIT_USAGE;
		}
		json_array_append_new(targets, target);
	}
	json_t *request = on_bus(s);
	json_object_set_new(request, "Rule", json_string(argv[0]));
	json_object_set_new(request, "Targets", targets);
	json_t *answer = NULL;
	int rc = call(s, "PutTargets", request, &answer);
	json_decref(request);
	if (rc != EXIT_OK)
		return rc;
	bool all_put = json_integer_value(json_object_get(answer, "FailedEntryCount")) == 0;
	rc = print(answer);
	return rc == EXIT_OK && !all_put ? EXIT_SERVICE : rc;
}

static int remove_targets(const struct cli_events_settings *s, int argc, char **argv)
{
	json_t *ids = json_array();
	for (int i = 1; i < argc; i++)
		json_array_append_new(ids, json_string(argv[i]));
	json_t *request = on_bus(s);
	json_object_set_new(request, "Rule", json_string(argv[0]));
	json_object_set_new(request, "Ids", ids);
	return run_one(s, "RemoveTargets", request);
}

static int create_event_bus(const struct cli_events_settings *s, const char *name)
{
	json_t *request = json_pack("{s:s}", "Name", name);
	if (s->durability != NULL)
		json_object_set_new(
		    request, "Tags",
		    json_pack("[{s:s, s:s}]", "Key", "busbar:Durability", "Value", s->durability));
	return run_one(s, "CreateEventBus", request);
}

/* The commands on a rule by name: delete-rule, describe-rule, enable-rule, disable-rule. */
static const struct {
	const char *command;
	const char *action;
} RULE_COMMANDS[] = {
    {"delete-rule", "DeleteRule"},
    {"describe-rule", "DescribeRule"},
    {"enable-rule", "EnableRule"},
    {"disable-rule", "DisableRule"},
};

static const char *const COMMANDS[] = {
    "create-event-bus",   "delete-event-bus", "describe-event-bus",
    "list-event-buses",   "put-rule",         "list-rules",
    "put-targets",        "remove-targets",   "list-targets-by-rule",
    "test-event-pattern", "delete-rule",      "describe-rule",
    "enable-rule",        "disable-rule",
};

bool cli_events_is_command(const char *command)
{
	for (size_t i = 0; i < sizeof(COMMANDS) / sizeof(COMMANDS[0]); i++) {
		if (strcmp(command, COMMANDS[i]) == 0)
			return true;
	}
	return false;
}

/* The commands that take no name or a bus's. */
static int run_bus_command(const struct cli_events_settings *s, const char *command, int argc,
                           char **argv)
{
	if (strcmp(command, "create-event-bus") == 0 && argc == 1)
		return create_event_bus(s, argv[0]);
	if (strcmp(command, "delete-event-bus") == 0 && argc == 1)
		return run_one(s, "DeleteEventBus", json_pack("{s:s}", "Name", argv[0]));
	if (strcmp(command, "describe-event-bus") == 0 && argc <= 1)
		return run_one(s, "DescribeEventBus",
		               argc == 1 ? json_pack("{s:s}", "Name", argv[0]) : json_object());
	if (strcmp(command, "test-event-pattern") == 0 && argc == 2)
		return run_one(s, "TestEventPattern",
		               json_pack("{s:s, s:s}", "EventPattern", argv[0], "Event", argv[1]));
	if (strcmp(command, "list-event-buses") == 0 && argc == 0) {
		json_t *request = json_object();
		if (s->prefix != NULL)
			json_object_set_new(request, "NamePrefix", json_string(s->prefix));
		return run_list(s, "ListEventBuses", "EventBuses", request);
	}
	if (strcmp(command, "list-rules") == 0 && argc == 0) {
		json_t *request = on_bus(s);
		if (s->prefix != NULL)
			json_object_set_new(request, "NamePrefix", json_string(s->prefix));
		return run_list(s, "ListRules", "Rules", request);
	}
	return usage_error(command);
}

int cli_events_run(const struct cli_events_settings *s, const char *command, int argc, char **argv)
{
	assert(s != NULL && command != NULL && cli_events_is_command(command));
	for (size_t i = 0; i < sizeof(RULE_COMMANDS) / sizeof(RULE_COMMANDS[0]); i++) {
		if (strcmp(command, RULE_COMMANDS[i].command) != 0)
			continue;
		if (argc != 1)
			return usage_error(command);
		json_t *request = on_bus(s);
		json_object_set_new(request, "Name", json_string(argv[0]));
		return run_one(s, RULE_COMMANDS[i].action, request);
	}
	if (strcmp(command, "put-rule") == 0)
		return argc >= 1 ? put_rule(s, argc, argv) : usage_error(command);
	if (strcmp(command, "put-targets") == 0)
		return argc >= 2 ? put_targets(s, argc, argv) : usage_error(command);
	if (strcmp(command, "remove-targets") == 0)
		return argc >= 2 ? remove_targets(s, argc, argv) : usage_error(command);
	if (strcmp(command, "list-targets-by-rule") == 0) {
		if (argc != 1)
			return usage_error(command);
		json_t *request = on_bus(s);
		json_object_set_new(request, "Rule", json_string(argv[0]));
		return run_list(s, "ListTargetsByRule", "Targets", request);
	}
	return run_bus_command(s, command, argc, argv);
}

void cli_events_usage(FILE *out)
{
	fprintf(out,
	        "EventBridge (busbar-control; --event-bus NAME|ARN, default the default bus):\n"
	        "  create-event-bus NAME [--durability disk|memory] | delete-event-bus NAME\n"
	        "  describe-event-bus [NAME] | list-event-buses [--prefix P]\n"
	        "  put-rule NAME [pattern=JSON] [schedule='rate(5 minutes)'|'cron(...)']\n"
	        "           [state=ENABLED|DISABLED] [description=TEXT]   (replaces the rule)\n"
	        "  delete-rule | describe-rule | enable-rule | disable-rule NAME\n"
	        "  list-rules [--prefix P]\n"
	        "  put-targets RULE TARGET...  (1-10; TARGET: ID=ARN or a PutTargets JSON object;\n"
	        "              ARN of a queue, topic or bus, or udp://IP:PORT; exit 1 when one\n"
	        "              failed, FailedEntries says why)\n"
	        "  remove-targets RULE ID... | list-targets-by-rule RULE\n"
	        "  test-event-pattern PATTERN EVENT\n");
}
