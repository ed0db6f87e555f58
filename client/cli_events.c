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

#include <curl/curl.h>
#include <jansson.h>

#include "bb_limits.h"
#include "cli_key.h"

#define REPLY_BYTES_MAX (1u << 20)
#define TIMEOUT_FACTOR  5 /* an admin call may wait for busbard to apply the change */
/* A list's pages: every rule of a bus (or bus) at 100 a page, and one more to see the end. */
#define LIST_PAGES_MAX (BB_RULE_COUNT_MAX / 100u + 2u)

enum { EXIT_OK = 0, EXIT_SERVICE = 1, EXIT_USAGE = 2, EXIT_UNREACHABLE = 3 };

struct reply {
	char *data;
	size_t length;
};

static size_t collect(char *chunk, size_t size, size_t count, void *userdata)
{
	struct reply *r = userdata;
	size_t bytes = size * count;
	if (r->length + bytes > REPLY_BYTES_MAX)
		return 0;
	char *grown = realloc(r->data, r->length + bytes + 1);
	if (grown == NULL)
		return 0;
	r->data = grown;
	memcpy(r->data + r->length, chunk, bytes);
	r->length += bytes;
	r->data[r->length] = '\0';
	return bytes;
}

/* Signs with SigV4 for "events" when a key is found (cli_key.h); 0 or EXIT_USAGE. */
static int sign(const struct cli_events_settings *s, CURL *curl, char *userpwd, size_t bytes)
{
	struct cli_key key;
	char why[512];
	if (cli_key_load(s->key_file, s->access_key_id, &key, why, sizeof(why)) != 0) {
		fprintf(stderr, "busbar: %s\n", why);
		return EXIT_USAGE;
	}
	if (!key.found)
		return 0;
	const char *region = getenv("BUSBAR_REGION");
	char provider[96];
	snprintf(provider, sizeof(provider), "aws:amz:%s:events",
	         region != NULL && region[0] != '\0' ? region : "local");
	snprintf(userpwd, bytes, "%s:%s", key.access_key_id, key.secret);
	cli_key_clear(&key);
	curl_easy_setopt(curl, CURLOPT_USERPWD, userpwd);
	curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, provider);
	return 0;
}

/* POSTs one call; *answer is its JSON reply on success. Returns an exit code. */
static int call(const struct cli_events_settings *s, const char *action, json_t *request,
                json_t **answer)
{
	char userpwd[128] = "", target[96];
	CURL *curl = curl_easy_init();
	if (curl == NULL)
		return EXIT_UNREACHABLE;
	int rc = sign(s, curl, userpwd, sizeof(userpwd));
	char *body = json_dumps(request, JSON_COMPACT);
	snprintf(target, sizeof(target), "X-Amz-Target: AWSEvents.%s", action);
	struct curl_slist *headers = curl_slist_append(NULL, target);
	headers = curl_slist_append(headers, "Content-Type: application/x-amz-json-1.1");
	struct reply reply = {0};
	curl_easy_setopt(curl, CURLOPT_URL, s->endpoint);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)s->timeout_ms * TIMEOUT_FACTOR);
	CURLcode sent = rc == 0 ? curl_easy_perform(curl) : CURLE_OK;
	long status = 0;
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	json_t *json = reply.data != NULL ? json_loads(reply.data, 0, NULL) : NULL;
	if (rc == 0 && sent != CURLE_OK) {
		fprintf(stderr, "busbar: %s: %s\n", s->endpoint, curl_easy_strerror(sent));
		rc = EXIT_UNREACHABLE;
	} else if (rc == 0 && (status != 200 || !json_is_object(json))) {
		const char *type = json_string_value(json_object_get(json, "__type"));
		const char *message = json_string_value(json_object_get(json, "message"));
		fprintf(stderr, "busbar: %s: %s\n", type != NULL ? type : "HTTP error",
		        message != NULL ? message : (reply.data != NULL ? reply.data : ""));
		rc = EXIT_SERVICE;
	}
	if (rc == 0)
		*answer = json_incref(json);
	json_decref(json);
	curl_easy_cleanup(curl);
	explicit_bzero(userpwd, sizeof(userpwd));
	curl_slist_free_all(headers);
	free(reply.data);
	free(body);
	return rc;
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
