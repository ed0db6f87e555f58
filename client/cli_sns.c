/*
 * SNS management commands of the busbar command (see cli_sns.h). A TOPIC argument is a topic
 * name or ARN, a name becoming arn:aws:sns:REGION:000000000000:NAME with busbar-control's
 * region (BUSBAR_REGION, default "local"); an sqs ENDPOINT may be a queue name the same way.
 * List commands follow NextToken and print every page's items together.
 */
#include "cli_sns.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bb_limits.h"
#include "cli_http.h"

#define ACCOUNT_ID           "000000000000" /* busbar-control's (docs/aws-api.md) */
#define ARN_BYTES_MAX        (BB_SUBSCRIPTION_ENDPOINT_BYTES_MAX + 128u)
/* A list's pages: every subscription at 100 a page, and one more to see the end. */
#define LIST_PAGES_MAX       (BB_SUBSCRIPTION_COUNT_MAX / 100u + 2u)

enum { EXIT_OK = 0, EXIT_SERVICE = 1, EXIT_USAGE = 2 };

static const struct cli_http_service SNS_API = {
    .target_prefix = "AmazonSNS",
    .sigv4_service = "sns",
    .json_version = "1.0",
    .error_name = CLI_HTTP_ERROR_TYPE,
};

static const char *region(void)
{
	const char *r = getenv("BUSBAR_REGION");
	return r != NULL && r[0] != '\0' ? r : "local";
}

/* One call; *answer is its JSON reply on success. Returns an exit code. */
static int call(const struct cli_sns_settings *s, const char *action, json_t *request,
                json_t **answer)
{
	struct cli_http_peer peer = {s->endpoint, s->key_file, s->access_key_id, s->timeout_ms};
	return cli_http_call(&SNS_API, &peer, action, request, answer);
}

static int print(json_t *value)
{
	int rc = json_dumpf(value, stdout, JSON_INDENT(2)) == 0 && fputc('\n', stdout) != EOF;
	json_decref(value);
	return rc ? EXIT_OK : EXIT_SERVICE;
}

/* A topic name becomes its ARN; an ARN stays. */
static void topic_arn(const char *topic, char *out, size_t bytes)
{
	if (strncmp(topic, "arn:", 4) == 0)
		snprintf(out, bytes, "%s", topic);
	else
		snprintf(out, bytes, "arn:aws:sns:%s:" ACCOUNT_ID ":%s", region(), topic);
}

/* NAME=VALUE arguments into an object (Attributes), or as [{"Key", "Value"}] (Tags). */
static json_t *pairs(int argc, char **argv, bool as_tags)
{
	json_t *out = as_tags ? json_array() : json_object();
	for (int i = 0; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		if (eq == NULL || eq == argv[i]) {
			fprintf(stderr, "busbar: %s is not NAME=VALUE\n", argv[i]);
			json_decref(out);
			return NULL;
		}
		char *name = strndup(argv[i], (size_t)(eq - argv[i]));
		if (as_tags)
			json_array_append_new(out, json_pack("{s:s, s:s}", "Key", name, "Value", eq + 1));
		else
			json_object_set_new(out, name, json_string(eq + 1));
		free(name);
	}
	return out;
}

static json_t *create_topic_request(const struct cli_sns_settings *s, int argc, char **argv)
{
	json_t *attributes = pairs(argc - 1, argv + 1, false);
	if (attributes == NULL)
		return NULL;
	if (s->fifo)
		json_object_set_new(attributes, "FifoTopic", json_string("true"));
	if (s->content_based_deduplication)
		json_object_set_new(attributes, "ContentBasedDeduplication", json_string("true"));
	if (s->durability != NULL)
		json_object_set_new(attributes, "busbar:Durability", json_string(s->durability));
	return json_pack("{s:s, s:o}", "Name", argv[0], "Attributes", attributes);
}

static json_t *subscribe_request(int argc, char **argv)
{
	char topic[ARN_BYTES_MAX], endpoint[ARN_BYTES_MAX];
	topic_arn(argv[0], topic, sizeof(topic));
	bool queue_name = strcmp(argv[1], "sqs") == 0 && strncmp(argv[2], "arn:", 4) != 0;
	if (queue_name)
		snprintf(endpoint, sizeof(endpoint), "arn:aws:sqs:%s:" ACCOUNT_ID ":%s", region(),
		         argv[2]);
	else
		snprintf(endpoint, sizeof(endpoint), "%s", argv[2]);
	json_t *attributes = pairs(argc - 3, argv + 3, false);
	if (attributes == NULL)
		return NULL;
	return json_pack("{s:s, s:s, s:s, s:o, s:s}", "TopicArn", topic, "Protocol", argv[1],
	                 "Endpoint", endpoint, "Attributes", attributes, "ReturnSubscriptionArn",
	                 "true");
}

/* Every page of a list call, its items (under `field`) in one array. */
static int list_all(const struct cli_sns_settings *s, const char *action, json_t *request,
                    const char *field)
{
	json_t *items = json_array();
	int rc = EXIT_OK;
	for (uint32_t page = 0; rc == EXIT_OK && page < LIST_PAGES_MAX; page++) {
		json_t *answer = NULL;
		rc = call(s, action, request, &answer);
		if (rc != EXIT_OK)
			break;
		json_array_extend(items, json_object_get(answer, field));
		json_t *token = json_object_get(answer, "NextToken");
		if (token != NULL)
			json_object_set(request, "NextToken", token);
		json_decref(answer);
		if (token == NULL)
			return print(json_pack("{s:o}", field, items));
	}
	json_decref(items);
	return rc;
}

/* The request of a command that takes one ARN and fixed arguments; NULL: not one of them. */
static json_t *simple_request(const char *command, int argc, char **argv, const char **action)
{
	char topic[ARN_BYTES_MAX];
	if (argc >= 1)
		topic_arn(argv[0], topic, sizeof(topic));
	if (strcmp(command, "delete-topic") == 0 && argc == 1) {
		*action = "DeleteTopic";
		return json_pack("{s:s}", "TopicArn", topic);
	}
	if (strcmp(command, "get-topic-attributes") == 0 && argc == 1) {
		*action = "GetTopicAttributes";
		return json_pack("{s:s}", "TopicArn", topic);
	}
	if (strcmp(command, "set-topic-attributes") == 0 && argc == 3) {
		*action = "SetTopicAttributes";
		return json_pack("{s:s, s:s, s:s}", "TopicArn", topic, "AttributeName", argv[1],
		                 "AttributeValue", argv[2]);
	}
	if (strcmp(command, "confirm-subscription") == 0 && argc == 2) {
		*action = "ConfirmSubscription";
		return json_pack("{s:s, s:s}", "TopicArn", topic, "Token", argv[1]);
	}
	if (strcmp(command, "unsubscribe") == 0 && argc == 1) {
		*action = "Unsubscribe";
		return json_pack("{s:s}", "SubscriptionArn", argv[0]);
	}
	if (strcmp(command, "get-subscription-attributes") == 0 && argc == 1) {
		*action = "GetSubscriptionAttributes";
		return json_pack("{s:s}", "SubscriptionArn", argv[0]);
	}
	if (strcmp(command, "set-subscription-attributes") == 0 && argc == 3) {
		*action = "SetSubscriptionAttributes";
		return json_pack("{s:s, s:s, s:s}", "SubscriptionArn", argv[0], "AttributeName",
		                 argv[1], "AttributeValue", argv[2]);
	}
	if (strcmp(command, "list-tags-for-resource") == 0 && argc == 1) {
		*action = "ListTagsForResource";
		return json_pack("{s:s}", "ResourceArn", topic);
	}
	return NULL;
}

static json_t *tag_request(const char *command, int argc, char **argv, const char **action)
{
	char topic[ARN_BYTES_MAX];
	topic_arn(argv[0], topic, sizeof(topic));
	if (strcmp(command, "tag-resource") == 0) {
		json_t *tags = pairs(argc - 1, argv + 1, true);
		*action = "TagResource";
		return tags != NULL ? json_pack("{s:s, s:o}", "ResourceArn", topic, "Tags", tags)
		                    : NULL;
	}
	json_t *keys = json_array();
	for (int i = 1; i < argc; i++)
		json_array_append_new(keys, json_string(argv[i]));
	*action = "UntagResource";
	return json_pack("{s:s, s:o}", "ResourceArn", topic, "TagKeys", keys);
}

static const char *const COMMANDS[] = {
    "create-topic", "delete-topic", "list-topics", "get-topic-attributes",
    "set-topic-attributes", "subscribe", "unsubscribe", "confirm-subscription",
    "list-subscriptions", "get-subscription-attributes", "set-subscription-attributes",
    "tag-resource", "untag-resource", "list-tags-for-resource",
};

bool cli_sns_is_command(const char *command)
{
	for (size_t i = 0; i < sizeof(COMMANDS) / sizeof(COMMANDS[0]); i++) {
		if (strcmp(command, COMMANDS[i]) == 0)
			return true;
	}
	return false;
}

int cli_sns_run(const struct cli_sns_settings *s, const char *command, int argc, char **argv)
{
	assert(s != NULL && command != NULL);
	assert(argc >= 0);
	const char *action = NULL;
	json_t *request = NULL;
	if (strcmp(command, "list-topics") == 0 && argc == 0)
		return list_all(s, "ListTopics", json_object(), "Topics");
	if (strcmp(command, "list-subscriptions") == 0 && argc == 0) {
		char topic[ARN_BYTES_MAX];
		if (s->topic == NULL)
			return list_all(s, "ListSubscriptions", json_object(), "Subscriptions");
		topic_arn(s->topic, topic, sizeof(topic));
		return list_all(s, "ListSubscriptionsByTopic", json_pack("{s:s}", "TopicArn", topic),
		                "Subscriptions");
	}
	if (strcmp(command, "create-topic") == 0 && argc >= 1) {
		action = "CreateTopic";
		request = create_topic_request(s, argc, argv);
	} else if (strcmp(command, "subscribe") == 0 && argc >= 3) {
		action = "Subscribe";
		request = subscribe_request(argc, argv);
	} else if (strstr(command, "tag-resource") != NULL && command[0] != 'l' && argc >= 2) {
		request = tag_request(command, argc, argv, &action);
	} else {
		request = simple_request(command, argc, argv, &action);
	}
	if (request == NULL) {
		cli_sns_usage(stderr);
		return EXIT_USAGE;
	}
	json_t *answer = NULL;
	int rc = call(s, action, request, &answer);
	json_decref(request);
	return rc == EXIT_OK ? print(answer) : rc;
}

void cli_sns_usage(FILE *out)
{
	fprintf(out,
	        "topics (busbar-control; TOPIC a name or ARN, ATTRIBUTE=VALUE as SNS names them):\n"
	        "  create-topic NAME [ATTRIBUTE=VALUE...] [--fifo [--content-based-deduplication]]\n"
	        "               [--durability disk|memory]   (a FIFO topic's NAME ends in .fifo)\n"
	        "  delete-topic TOPIC | get-topic-attributes TOPIC | list-topics\n"
	        "  set-topic-attributes TOPIC NAME VALUE\n"
	        "  subscribe TOPIC sqs|udp|http|https ENDPOINT [ATTRIBUTE=VALUE...]\n"
	        "             (sqs: a queue name or ARN; udp: IPV4:PORT; http(s): a URL)\n"
	        "  unsubscribe ARN | get-subscription-attributes ARN\n"
	        "  set-subscription-attributes ARN NAME VALUE | confirm-subscription TOPIC TOKEN\n"
	        "  list-subscriptions [--topic TOPIC]\n"
	        "  tag-resource TOPIC KEY=VALUE... | untag-resource TOPIC KEY...\n"
	        "  list-tags-for-resource TOPIC\n");
}
