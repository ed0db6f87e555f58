/*
 * busbar: the command-line client. Queue administration goes to
 * busbar-control's HTTP API in the SQS JSON 1.0 shapes; data operations go to
 * busbard over the wire protocol (UDP, or the local socket with --local).
 * Output is JSON on stdout (cli_output.c); errors are one line on stderr. Exit codes:
 * 0 success, 1 the service answered with an error, 2 usage (and anything refused before
 * sending), 3 no answer, 4 the answer could not be written out: whatever was received is
 * either printed or reported, never silently dropped.
 */
#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "busbar.h"
#include "cli_events.h"
#include "cli_http.h"
#include "cli_key.h"
#include "cli_keys.h"
#include "cli_output.h"
#include "cli_listen.h"
#include "cli_routing.h"
#include "cli_move.h"
#include "cli_sns.h"

enum exit_code {
	EXIT_OK = 0,
	EXIT_SERVICE = 1,
	EXIT_USAGE = 2,
	EXIT_UNREACHABLE = 3,
	EXIT_OUTPUT = 4,
};
/* Not an exit code: the command line parsed so far asks to go on. */
#define KEEP_PARSING (-1)

#define STDIN_BODY_BYTES_MAX BB_MESSAGE_BODY_BYTES_MAX
#define STATS_COUNT_MAX      256u
/* change-visibility-batch QUEUE SECONDS and one handle more than a batch takes, to say so */
#define POSITIONAL_COUNT_MAX (3 + (int)WIRE_BATCH_ENTRIES_MAX)
/* Ranges of the command's own options (SQS fixes the others, in bb_limits.h). */
#define CLI_TIMEOUT_MS_MAX              600000
#define CLI_RETRIES_MAX                 100
#define CLI_MAXIMUM_MESSAGE_BYTES_MIN   1024 /* SQS's floor for MaximumMessageSize */

struct settings {
	const char *endpoint;
	const char *server;
	uint16_t port;
	const char *local;
	uint32_t timeout_ms;
	uint32_t attempts;
	int32_t visibility_timeout_s;
	int32_t wait_time_s;
	int32_t receive_wait_s;
	uint32_t max_messages;
	int32_t maximum_message_bytes;
	const char *prefix;
	const char *key_file;      /* cli_key.h: where the request-signing key comes from */
	const char *access_key_id;
	const char *group_id; /* send: MessageGroupId */
	const char *dedup_id; /* send: MessageDeduplicationId */
	int32_t delay_s;      /* send: DelaySeconds; < 0: the queue's */
	bool fifo;            /* create-queue: FifoQueue=true */
	bool content_based_deduplication;
	const char *durability; /* create-queue --durability disk|memory */
	const char *event_bus;  /* --event-bus (cli_events.h) */
	const char *topic;      /* list-subscriptions --topic (cli_sns.h) */
	struct cli_routing_args routing; /* publish, put-events, send --attribute */
	const char *trace_header; /* send: --trace-header, the AWSTraceHeader */
	const char *attempt_id;   /* receive: --attempt-id, the ReceiveRequestAttemptId */
	/* receive: --message-attribute-names, each a name, All, .* or prefix.* */
	const char *attribute_names[WIRE_MESSAGE_ATTRIBUTE_NAMES_MAX];
	uint32_t attribute_name_count;
	const char *policy;          /* keys create, put-policy (cli_keys.h) */
	const char *overlap_seconds; /* keys rotate */
	uint16_t listen_port;  /* listen --port */
	uint32_t listen_count; /* listen --count; 0: run on */
};

/* getopt values of receive's and send's attribute options: above cli_routing.h's. */
enum { CLI_OPT_MESSAGE_ATTRIBUTE_NAMES = 0x140, CLI_OPT_TRACE_HEADER, CLI_OPT_ATTEMPT_ID };

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: busbar [options] COMMAND [ARGS]    (busbar --version, busbar --help)\n"
	        "admin (busbar-control, --endpoint URL, default http://127.0.0.1:7680):\n"
	        "  create-queue NAME [--visibility-timeout S (0-%u)] [--receive-wait S (0-%u)]\n"
	        "               [--maximum-message-size BYTES (%d-%u)]\n"
	        "               [--fifo [--content-based-deduplication]] (a FIFO queue's NAME\n"
	        "               ends in .fifo) [--durability disk|memory (memory: not logged)]\n"
	        "  delete-queue NAME | get-queue-url NAME | get-queue-attributes NAME\n"
	        "  list-queues [--prefix P]\n"
	        "data (busbard, --server IP[:PORT], default 10.77.0.2:7600, or --local SOCKET):\n"
	        "  send QUEUE BODY            (BODY - reads standard input; a UDP request holds\n"
	        "                             at most %u bytes, --local takes larger bodies)\n"
	        "       [--group G] [--dedup-id D]  (FIFO: MessageGroupId, MessageDeduplicationId)\n"
	        "       [--delay S (0-%u)]    (DelaySeconds of this message, standard queues)\n"
	        "       [--attribute NAME=TYPE:VALUE]... (MessageAttributes, up to 10)\n"
	        "       [--trace-header TEXT] (the AWSTraceHeader system attribute)\n"
	        "  receive QUEUE [--max N (1-%u)] [--visibility-timeout S] [--wait S]\n"
	        "       [--message-attribute-names NAME|All|.*|PREFIX.*]... (up to 32; none: no\n"
	        "                             MessageAttributes are returned)\n"
	        "       [--attempt-id ID]     (FIFO: ReceiveRequestAttemptId; a retry with it gets\n"
	        "                             the same messages and receipt handles)\n"
	        "                             (a body that is not UTF-8 prints as BodyBase64)\n"
	        "  delete QUEUE RECEIPT_HANDLE\n"
	        "  change-visibility QUEUE RECEIPT_HANDLE SECONDS (0-%u)\n"
	        "  send-batch QUEUE BODY...   delete-batch QUEUE RECEIPT_HANDLE...\n"
	        "       [--group G] [--dedup-id D]  (FIFO: every entry's MessageGroupId; entry N's\n"
	        "                             MessageDeduplicationId is D-N)\n"
	        "  change-visibility-batch QUEUE SECONDS RECEIPT_HANDLE...\n"
	        "                             (1-%u entries with ids 0, 1, ...; exit 1 when one\n"
	        "                             failed, Successful and Failed list each entry)\n"
	        "  ping | stats               (stats needs --local)\n"
	        "  purge QUEUE | counts QUEUE  (--local only: PurgeQueue, and the approximate\n"
	        "                             visible, not visible and delayed message counts)\n"
	        "  signed with --key-file PATH (0600, as busbar-control keys create prints it),\n"
	        "  --access-key-id ID or BUSBAR_ACCESS_KEY_ID with BUSBAR_SECRET_ACCESS_KEY in the\n"
	        "  environment, or BUSBAR_KEY_FILE\n"
	        "other options: --timeout-ms N (1-%d, default 1000), --retries N (0-%d, default 2);\n"
	        "  -- ends the options (for a BODY that starts with -)\n"
	        "exit codes: 0 ok, 1 service error, 2 usage or refused before sending, 3 no answer,\n"
	        "  4 the answer could not be written (received messages stay in flight)\n",
	        BB_VISIBILITY_TIMEOUT_S_MAX, BB_WAIT_TIME_S_MAX, CLI_MAXIMUM_MESSAGE_BYTES_MIN,
	        BB_MESSAGE_BODY_BYTES_MAX, BB_UDP_REQUEST_BYTES_MAX, WIRE_DELAY_S_MAX,
	        BB_RECEIVE_COUNT_MAX,
	        BB_VISIBILITY_TIMEOUT_S_MAX, WIRE_BATCH_ENTRIES_MAX, CLI_TIMEOUT_MS_MAX,
	        CLI_RETRIES_MAX);
	cli_events_usage(out);
	cli_sns_usage(out);
	cli_move_usage(out);
	cli_routing_usage(out);
	cli_listen_usage(out);
	cli_keys_usage(out);
}

static bool parse_int(const char *text, long min, long max, long *out)
{
	char *end;
	errno = 0;
	*out = strtol(text, &end, 10);
	return errno == 0 && *end == '\0' && end != text && *out >= min && *out <= max;
}

/* ---- admin over HTTP ---- */

/* SQS JSON 1.0 names errors "com.amazonaws.sqs#Code": print the plain code, as for data. */
static const struct cli_http_service SQS_API = {
    .target_prefix = "AmazonSQS",
    .sigv4_service = "sqs",
    .json_version = "1.0",
    .error_name = CLI_HTTP_ERROR_TYPE_NAME,
};

static void queue_url(const struct settings *s, const char *name, char *out, size_t out_bytes)
{
	size_t length = strlen(s->endpoint);
	const char *slash = length > 0 && s->endpoint[length - 1] == '/' ? "" : "/";
	snprintf(out, out_bytes, "%s%s000000000000/%s", s->endpoint, slash, name);
}

static json_t *create_queue_attributes(const struct settings *s)
{
	json_t *attributes = json_object();
	char text[32];
	if (s->visibility_timeout_s >= 0) {
		snprintf(text, sizeof(text), "%d", s->visibility_timeout_s);
		json_object_set_new(attributes, "VisibilityTimeout", json_string(text));
	}
	if (s->receive_wait_s >= 0) {
		snprintf(text, sizeof(text), "%d", s->receive_wait_s);
		json_object_set_new(attributes, "ReceiveMessageWaitTimeSeconds", json_string(text));
	}
	if (s->maximum_message_bytes >= 0) {
		snprintf(text, sizeof(text), "%d", s->maximum_message_bytes);
		json_object_set_new(attributes, "MaximumMessageSize", json_string(text));
	}
	if (s->fifo)
		json_object_set_new(attributes, "FifoQueue", json_string("true"));
	if (s->content_based_deduplication)
		json_object_set_new(attributes, "ContentBasedDeduplication", json_string("true"));
	if (s->durability != NULL)
		json_object_set_new(attributes, "busbar:Durability", json_string(s->durability));
	return attributes;
}

static int run_admin(const struct settings *s, const char *command, int argc, char **argv)
{
	char url[1024];
	json_t *request = json_object();
	const char *action = NULL;
	if (strcmp(command, "list-queues") == 0 && argc == 0) {
		action = "ListQueues";
		if (s->prefix != NULL)
			json_object_set_new(request, "QueueNamePrefix", json_string(s->prefix));
	} else if (strcmp(command, "create-queue") == 0 && argc == 1) {
		action = "CreateQueue";
		json_object_set_new(request, "QueueName", json_string(argv[0]));
		json_object_set_new(request, "Attributes", create_queue_attributes(s));
	} else if (strcmp(command, "get-queue-url") == 0 && argc == 1) {
		action = "GetQueueUrl";
		json_object_set_new(request, "QueueName", json_string(argv[0]));
	} else if ((strcmp(command, "delete-queue") == 0 ||
	            strcmp(command, "get-queue-attributes") == 0) &&
	           argc == 1) {
		bool deleting = command[0] == 'd';
		action = deleting ? "DeleteQueue" : "GetQueueAttributes";
		queue_url(s, argv[0], url, sizeof(url));
		json_object_set_new(request, "QueueUrl", json_string(url));
		if (!deleting)
			json_object_set_new(request, "AttributeNames", json_pack("[s]", "All"));
	}
	int rc = EXIT_USAGE;
	struct cli_http_peer peer = {s->endpoint, s->key_file, s->access_key_id, s->timeout_ms};
	if (action != NULL)
		rc = cli_http_call_print(&SQS_API, &peer, action, request);
	else
		usage(stderr);
	json_decref(request);
	return rc;
}

/* ---- data over the wire protocol ---- */

static int report(struct bb_client *c, int rc)
{
	if (rc == 0)
		return EXIT_OK;
	if (rc > 0) {
		fprintf(stderr, "busbar: %s: %s\n", wire_status_name(rc), bb_client_error(c));
		return EXIT_SERVICE;
	}
	fprintf(stderr, "busbar: %s\n", bb_client_error(c)[0] ? bb_client_error(c) : strerror(-rc));
	/* libbusbar refuses these before sending: the request, not busbard, is at fault. */
	if (rc == -EMSGSIZE || rc == -EINVAL)
		return EXIT_USAGE;
	return EXIT_UNREACHABLE;
}

/* Prints a reply's JSON; a failure is exit 4, since the call itself succeeded. */
static int print_reply(json_t *value)
{
	int rc = cli_print_json(stdout, value);
	if (rc == 0)
		return EXIT_OK;
	fprintf(stderr, "busbar: the answer could not be %s: %s\n",
	        rc == -EINVAL ? "encoded as JSON" : "written to standard output", strerror(-rc));
	return EXIT_OUTPUT;
}

static int read_stdin(char **out, size_t *length)
{
	*out = malloc(STDIN_BODY_BYTES_MAX + 1);
	if (*out == NULL)
		return -ENOMEM;
	*length = fread(*out, 1, STDIN_BODY_BYTES_MAX + 1, stdin);
	return *length > STDIN_BODY_BYTES_MAX ? -EMSGSIZE : 0;
}

/* purge and counts: busbard's queue operations of the local socket. */
static int run_queue_control(struct bb_client *c, uint8_t opcode, const char *queue)
{
	uint8_t request[BB_QUEUE_NAME_BYTES_MAX + WIRE_FIELD_HEADER_BYTES + 1];
	struct wire_writer w;
	wire_writer_init(&w, request, sizeof(request));
	wire_put_str(&w, WIRE_TAG_QUEUE_NAME, queue);
	if (w.overflow) {
		fprintf(stderr, "busbar: a queue name is at most %u bytes\n", BB_QUEUE_NAME_BYTES_MAX);
		return EXIT_USAGE;
	}
	const uint8_t *reply;
	uint32_t reply_bytes;
	struct wire_header h = {.opcode = opcode, .body_bytes = (uint32_t)w.length};
	int rc = bb_call(c, &h, request, w.length, &reply, &reply_bytes);
	if (rc != 0)
		return report(c, rc);
	if (opcode == WIRE_OP_PURGE_QUEUE)
		return print_reply(json_pack("{s:s}", "PurgeQueue", "ok"));
	json_t *out = json_object();
	struct wire_reader r;
	struct wire_field f;
	uint32_t value;
	wire_reader_init(&r, reply, reply_bytes);
	while (wire_reader_next(&r, &f) == 1) {
		const char *name = f.tag == WIRE_TAG_MESSAGES_VISIBLE ? "ApproximateNumberOfMessages"
		                   : f.tag == WIRE_TAG_MESSAGES_NOT_VISIBLE
		                       ? "ApproximateNumberOfMessagesNotVisible"
		                   : f.tag == WIRE_TAG_MESSAGES_DELAYED
		                       ? "ApproximateNumberOfMessagesDelayed"
		                       : NULL;
		if (name != NULL && wire_field_u32(&f, &value))
			json_object_set_new(out, name, json_integer(value));
	}
	return print_reply(out);
}

static int run_send(struct bb_client *c, const struct settings *s, const char *queue,
                    const char *body_arg)
{
	if (s->delay_s >= 0 && (s->group_id != NULL || s->dedup_id != NULL)) {
		fprintf(stderr, "busbar: --delay is for standard queues: a FIFO queue's messages "
		                "have their queue's delay only\n");
		return EXIT_USAGE;
	}
	char *stdin_body = NULL;
	size_t length = strlen(body_arg);
	const char *body = body_arg;
	if (strcmp(body_arg, "-") == 0) {
		if (read_stdin(&stdin_body, &length) != 0) {
			fprintf(stderr, "busbar: standard input exceeds %u bytes\n", STDIN_BODY_BYTES_MAX);
			free(stdin_body);
			return EXIT_USAGE;
		}
		body = stdin_body;
	}
	struct bb_sent sent;
	struct bb_send_options options = {.message_group_id = s->group_id,
	                                  .message_deduplication_id = s->dedup_id,
	                                  .attributes = s->routing.attributes,
	                                  .attribute_count = s->routing.attribute_count,
	                                  .aws_trace_header = s->trace_header,
	                                  .delay_set = s->delay_s >= 0,
	                                  .delay_s = (uint32_t)s->delay_s};
	int rc = bb_send_message_with(c, queue, body, length, &options, &sent);
	free(stdin_body);
	/* busbard reassembles a UDP request of at most BB_UDP_REQUEST_BYTES_MAX; libbusbar
	 * refuses a larger one before sending rather than let it time out. */
	if (rc == -EMSGSIZE && s->local == NULL) {
		fprintf(stderr,
		        "busbar: a body of %zu bytes is too large for UDP (%s; a UDP request holds "
		        "at most %u bytes): send it over the local socket with --local SOCKET\n",
		        length, bb_client_error(c), BB_UDP_REQUEST_BYTES_MAX);
		return EXIT_USAGE;
	}
	if (rc != 0)
		return report(c, rc);
	json_t *reply = json_pack("{s:s, s:s}", "MessageId", sent.message_id, "MD5OfMessageBody",
	                          sent.md5_of_body);
	if (reply != NULL && sent.md5_of_message_attributes[0] != '\0')
		json_object_set_new(reply, "MD5OfMessageAttributes",
		                    json_string(sent.md5_of_message_attributes));
	if (reply != NULL && sent.sequence_number[0] != '\0')
		json_object_set_new(reply, "SequenceNumber", json_string(sent.sequence_number));
	return print_reply(reply);
}

static int run_receive(struct bb_client *c, const struct settings *s, const char *queue)
{
	struct bb_receive_options o = {
		.max_messages = s->max_messages,
		.visibility_timeout_s = s->visibility_timeout_s,
		.wait_time_s = s->wait_time_s,
		.message_attribute_names = s->attribute_names,
		.message_attribute_name_count = s->attribute_name_count,
		.receive_request_attempt_id = s->attempt_id,
	};
	struct bb_message messages[BB_RECEIVE_COUNT_MAX];
	uint32_t count;
	int rc = bb_receive_message(c, queue, &o, messages, &count);
	if (rc != 0)
		return report(c, rc);
	json_t *reply;
	rc = cli_receive_json(messages, count, &reply);
	if (rc == 0)
		rc = cli_print_json(stdout, reply);
	if (rc == 0)
		return EXIT_OK;
	fprintf(stderr,
	        "busbar: %u received message(s) could not be %s (%s); they stay in flight until "
	        "their visibility timeout ends\n",
	        count, rc == -EINVAL ? "encoded as JSON" : "written to standard output",
	        strerror(-rc));
	return EXIT_OUTPUT;
}

static int run_stats(struct bb_client *c)
{
	struct bb_stat stats[STATS_COUNT_MAX];
	uint32_t count;
	int rc = bb_get_stats(c, stats, STATS_COUNT_MAX, &count);
	if (rc != 0)
		return report(c, rc);
	json_t *object = json_object();
	for (uint32_t i = 0; i < count; i++)
		json_object_set_new(object, stats[i].name, json_integer((json_int_t)stats[i].value));
	return print_reply(object);
}

/* Entry i of send-batch --dedup-id D: "D-i", so the entries of one batch are distinct (room
 * for '-' and any int). */
#define BATCH_DEDUP_ID_BYTES_MAX (BB_FIFO_ID_BYTES_MAX + 12)

/*
 * send-batch, delete-batch, change-visibility-batch: one entry per argument, ids 0, 1, ...
 * `seconds` < 0 unless the visibility is changed. send-batch's --group is every entry's
 * MessageGroupId, its --dedup-id D makes entry i's MessageDeduplicationId "D-i".
 * Exit 1 when the batch or any entry failed.
 */
static int run_batch(struct bb_client *c, const struct settings *s, const char *command,
                     const char *queue, long seconds, int argc, char **argv)
{
	if (argc < 1 || argc > (int)WIRE_BATCH_ENTRIES_MAX) {
		fprintf(stderr, "busbar: %s takes 1 to %u entries\n", command, WIRE_BATCH_ENTRIES_MAX);
		return EXIT_USAGE;
	}
	static const char *const ids[WIRE_BATCH_ENTRIES_MAX] = {"0", "1", "2", "3", "4",
	                                                        "5", "6", "7", "8", "9"};
	struct bb_batch_entry entries[WIRE_BATCH_ENTRIES_MAX];
	char dedup_ids[WIRE_BATCH_ENTRIES_MAX][BATCH_DEDUP_ID_BYTES_MAX + 1];
	bool send = strcmp(command, "send-batch") == 0;
	for (int i = 0; i < argc; i++) {
		entries[i] = (struct bb_batch_entry){.id = ids[i]};
		if (!send) {
			entries[i].receipt_handle = argv[i];
			entries[i].visibility_timeout_s = seconds < 0 ? 0 : (uint32_t)seconds;
			continue;
		}
		entries[i].body = argv[i];
		entries[i].body_bytes = strlen(argv[i]);
		entries[i].message_group_id = s->group_id;
		if (s->dedup_id != NULL) {
			/* Over 128 bytes is busbard's to refuse (InvalidParameterValue), not cut here. */
			snprintf(dedup_ids[i], sizeof(dedup_ids[i]), "%.*s-%d", BB_FIFO_ID_BYTES_MAX,
			         s->dedup_id, i);
			entries[i].message_deduplication_id = dedup_ids[i];
		}
	}
	int rc = send ? bb_send_message_batch(c, queue, entries, (uint32_t)argc)
	         : seconds < 0 ? bb_delete_message_batch(c, queue, entries, (uint32_t)argc)
	                       : bb_change_message_visibility_batch(c, queue, entries, (uint32_t)argc);
	if (rc != 0)
		return report(c, rc);
	json_t *reply;
	if (cli_batch_json(entries, (uint32_t)argc, &reply) != 0)
		return print_reply(NULL);
	bool all_ok = json_array_size(json_object_get(reply, "Failed")) == 0;
	int exit_code = print_reply(reply);
	return exit_code == EXIT_OK && !all_ok ? EXIT_SERVICE : exit_code;
}

/* ---- SNS and EventBridge data calls (arguments in cli_routing.c) ---- */

static int run_publish(struct bb_client *c, const struct settings *s, const char *topic,
                       const char *message_arg)
{
	const struct cli_routing_args *a = &s->routing;
	char *stdin_message = NULL;
	size_t length = strlen(message_arg);
	const char *message = message_arg;
	if (strcmp(message_arg, "-") == 0) {
		if (read_stdin(&stdin_message, &length) != 0) {
			fprintf(stderr, "busbar: standard input exceeds %u bytes\n", STDIN_BODY_BYTES_MAX);
			free(stdin_message);
			return EXIT_USAGE;
		}
		message = stdin_message;
	}
	struct bb_publish_options o = {
		.subject = a->subject,
		.message_structure = a->structure,
		.message_group_id = s->group_id,
		.message_deduplication_id = s->dedup_id,
		.attributes = a->attributes,
		.attribute_count = a->attribute_count,
	};
	struct bb_published published;
	int rc = bb_publish(c, topic, message, length, &o, &published);
	free(stdin_message);
	if (rc != 0)
		return report(c, rc);
	json_t *reply;
	return print_reply(cli_published_json(&published, &reply) == 0 ? reply : NULL);
}

static int run_publish_batch(struct bb_client *c, const struct settings *s, const char *topic)
{
	if (s->routing.entries_path == NULL) {
		fprintf(stderr, "busbar: publish-batch TOPIC --entries FILE\n");
		return EXIT_USAGE;
	}
	char why[512];
	static struct cli_entries entries; /* tens of KB: off the stack */
	if (cli_entries_read(s->routing.entries_path, CLI_ENTRIES_PUBLISH, &entries, why,
	                     sizeof(why)) != 0) {
		fprintf(stderr, "busbar: %s\n", why);
		cli_entries_free(&entries);
		return EXIT_USAGE;
	}
	int rc = bb_publish_batch(c, topic, entries.publish, entries.count);
	json_t *reply = NULL;
	if (rc == 0 && cli_publish_batch_json(entries.publish, entries.count, &reply) != 0)
		reply = NULL;
	cli_entries_free(&entries);
	if (rc != 0)
		return report(c, rc);
	bool all_ok = json_array_size(json_object_get(reply, "Failed")) == 0;
	int exit_code = print_reply(reply);
	return exit_code == EXIT_OK && !all_ok ? EXIT_SERVICE : exit_code;
}

/* put-events' one event from --source, --detail-type, --detail, --resource and --time. */
static void event_from_options(const struct cli_routing_args *a, struct bb_event *e)
{
	*e = (struct bb_event){.source = a->source, .detail_type = a->detail_type,
	                       .detail = a->detail, .resources = a->resources,
	                       .resource_count = a->resource_count, .time_ms = a->time_ms};
}

/* The bus of a put-events: --bus and the entries' EventBusName agree. */
static int put_events_bus(const struct settings *s, const char *entries_bus, const char **bus)
{
	const char *option = s->routing.bus != NULL ? cli_bus_name(s->routing.bus) : NULL;
	const char *named = entries_bus != NULL ? cli_bus_name(entries_bus) : NULL;
	if (option != NULL && named != NULL && strcmp(option, named) != 0) {
		fprintf(stderr, "busbar: --bus %s and the entries' EventBusName %s differ\n", option,
		        named);
		return EXIT_USAGE;
	}
	*bus = option != NULL ? option : named;
	return EXIT_OK;
}

/* PutEvents of the entries read, its answer printed: exit 1 when an entry failed. */
static int put_events_and_print(struct bb_client *c, struct cli_entries *entries,
                                const char *bus)
{
	uint32_t failed = 0;
	int rc = bb_put_events(c, bus, entries->events, entries->count, &failed);
	if (rc != 0)
		return report(c, rc);
	json_t *reply;
	if (cli_put_events_json(entries->events, entries->count, failed, &reply) != 0)
		reply = NULL;
	int exit_code = print_reply(reply);
	return exit_code == EXIT_OK && failed > 0 ? EXIT_SERVICE : exit_code;
}

static int run_put_events(struct bb_client *c, const struct settings *s)
{
	const struct cli_routing_args *a = &s->routing;
	bool one_event = a->source != NULL || a->detail_type != NULL || a->detail != NULL ||
	                 a->resource_count > 0 || a->time_ms != 0;
	if (one_event == (a->entries_path != NULL)) {
		fprintf(stderr, "busbar: put-events takes --source, --detail-type and --detail, or "
		                "--entries FILE (not both)\n");
		return EXIT_USAGE;
	}
	static struct cli_entries entries; /* tens of KB: off the stack */
	char why[512];
	if (one_event) {
		memset(&entries, 0, sizeof(entries));
		event_from_options(a, &entries.events[0]);
		entries.count = 1;
	} else if (cli_entries_read(a->entries_path, CLI_ENTRIES_PUT_EVENTS, &entries, why,
	                            sizeof(why)) != 0) {
		fprintf(stderr, "busbar: %s\n", why);
		cli_entries_free(&entries);
		return EXIT_USAGE;
	}
	const char *bus;
	int exit_code = put_events_bus(s, entries.bus, &bus);
	if (exit_code == EXIT_OK)
		exit_code = put_events_and_print(c, &entries, bus);
	cli_entries_free(&entries);
	return exit_code;
}

static int dispatch_data(struct bb_client *c, const struct settings *s, const char *command,
                         int argc, char **argv)
{
	if (strcmp(command, "ping") == 0 && argc == 0) {
		int rc = bb_ping(c);
		if (rc != 0)
			return report(c, rc);
		return print_reply(json_pack("{s:s}", "Ping", "ok"));
	}
	if (strcmp(command, "listen") == 0 && argc == 0 && s->listen_port != 0 && s->local == NULL)
		return cli_listen(c, s->listen_count);
	if (strcmp(command, "stats") == 0 && argc == 0)
		return run_stats(c);
	if (strcmp(command, "purge") == 0 && argc == 1)
		return run_queue_control(c, WIRE_OP_PURGE_QUEUE, argv[0]);
	if (strcmp(command, "counts") == 0 && argc == 1)
		return run_queue_control(c, WIRE_OP_GET_QUEUE_COUNTS, argv[0]);
	if (strcmp(command, "publish") == 0 && argc == 2)
		return run_publish(c, s, argv[0], argv[1]);
	if (strcmp(command, "publish-batch") == 0 && argc == 1)
		return run_publish_batch(c, s, argv[0]);
	if (strcmp(command, "put-events") == 0 && argc == 0)
		return run_put_events(c, s);
	if (strcmp(command, "send") == 0 && argc == 2)
		return run_send(c, s, argv[0], argv[1]);
	if (strcmp(command, "receive") == 0 && argc == 1)
		return run_receive(c, s, argv[0]);
	if (strcmp(command, "delete") == 0 && argc == 2)
		return report(c, bb_delete_message(c, argv[0], argv[1]));
	if (strcmp(command, "change-visibility") == 0 && argc == 3) {
		long seconds;
		if (!parse_int(argv[2], 0, BB_VISIBILITY_TIMEOUT_S_MAX, &seconds)) {
			fprintf(stderr, "busbar: bad SECONDS %s (a number from 0 to %u)\n", argv[2],
			        BB_VISIBILITY_TIMEOUT_S_MAX);
			return EXIT_USAGE;
		}
		return report(c, bb_change_message_visibility(c, argv[0], argv[1], (uint32_t)seconds));
	}
	bool batch = strcmp(command, "send-batch") == 0 || strcmp(command, "delete-batch") == 0;
	if (batch && argc >= 1)
		return run_batch(c, s, command, argv[0], -1, argc - 1, argv + 1);
	if (strcmp(command, "change-visibility-batch") == 0 && argc >= 2) {
		long seconds;
		if (!parse_int(argv[1], 0, BB_VISIBILITY_TIMEOUT_S_MAX, &seconds)) {
			fprintf(stderr, "busbar: bad SECONDS %s (a number from 0 to %u)\n", argv[1],
			        BB_VISIBILITY_TIMEOUT_S_MAX);
			return EXIT_USAGE;
		}
		return run_batch(c, s, command, argv[0], seconds, argc - 2, argv + 2);
	}
	usage(stderr);
	return EXIT_USAGE;
}

static int run_data(const struct settings *s, const char *command, int argc, char **argv)
{
	/* busbard answers counters only on its local socket (AccessDenied over UDP). */
	if (strcmp(command, "stats") == 0 && s->local == NULL) {
		fprintf(stderr, "busbar: stats reads busbard's local socket: use --local SOCKET\n");
		return EXIT_USAGE;
	}
	struct cli_key key;
	char why[512];
	if (cli_key_load(s->key_file, s->access_key_id, &key, why, sizeof(why)) != 0) {
		fprintf(stderr, "busbar: %s\n", why);
		return EXIT_USAGE;
	}
	struct bb_client_options o = {
		.server_ip = s->server,
		.server_port = s->port,
		.unix_socket = s->local,
		.timeout_ms = s->timeout_ms,
		.attempts = s->attempts,
		.access_key_id = key.found ? key.access_key_id : NULL,
		.secret_access_key = key.found ? key.secret : NULL,
		.local_port = strcmp(command, "listen") == 0 ? s->listen_port : 0,
	};
	int rc;
	struct bb_client *c = bb_client_open(&o, &rc);
	cli_key_clear(&key); /* the client keeps its own copy */
	if (c == NULL) {
		fprintf(stderr, "busbar: cannot reach busbard at %s: %s\n",
		        s->local ? s->local : s->server, strerror(-rc));
		return EXIT_UNREACHABLE;
	}
	int exit_code = dispatch_data(c, s, command, argc, argv);
	bb_client_close(c);
	return exit_code;
}

/* ---- options ---- */

static const struct option long_options[] = {
	{"endpoint", required_argument, NULL, 'e'},
	{"server", required_argument, NULL, 's'},
	{"local", required_argument, NULL, 'l'},
	{"timeout-ms", required_argument, NULL, 't'},
	{"retries", required_argument, NULL, 'r'},
	{"visibility-timeout", required_argument, NULL, 'v'},
	{"wait", required_argument, NULL, 'w'},
	{"receive-wait", required_argument, NULL, 'W'},
	{"max", required_argument, NULL, 'm'},
	{"maximum-message-size", required_argument, NULL, 'M'},
	{"prefix", required_argument, NULL, 'p'},
	{"key-file", required_argument, NULL, 'K'},
	{"access-key-id", required_argument, NULL, 'A'},
	{"group", required_argument, NULL, 'g'},
	{"dedup-id", required_argument, NULL, 'd'},
	{"delay", required_argument, NULL, 'y'},
	{"fifo", no_argument, NULL, 'F'},
	{"content-based-deduplication", no_argument, NULL, 'C'},
	{"durability", required_argument, NULL, 'D'},
	{"event-bus", required_argument, NULL, CLI_OPT_EVENT_BUS},
	{"topic", required_argument, NULL, 'T'},
	{"dedup", required_argument, NULL, 'd'}, /* publish, as --dedup-id */
	{"message-attribute-names", required_argument, NULL, CLI_OPT_MESSAGE_ATTRIBUTE_NAMES},
	{"trace-header", required_argument, NULL, CLI_OPT_TRACE_HEADER},
	{"attempt-id", required_argument, NULL, CLI_OPT_ATTEMPT_ID},
	CLI_ROUTING_LONG_OPTIONS,
	CLI_KEYS_LONG_OPTIONS,
	CLI_LISTEN_LONG_OPTIONS,
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
	{NULL, 0, NULL, 0},
};

/* The range of each numeric option, named in its error message. */
struct numeric_range {
	int opt;
	long min;
	long max;
};

static const struct numeric_range numeric_ranges[] = {
	{'t', 1, CLI_TIMEOUT_MS_MAX},
	{'r', 0, CLI_RETRIES_MAX},
	{'v', 0, BB_VISIBILITY_TIMEOUT_S_MAX},
	{'w', 0, BB_WAIT_TIME_S_MAX},
	{'W', 0, BB_WAIT_TIME_S_MAX},
	{'m', 1, BB_RECEIVE_COUNT_MAX},
	{'M', CLI_MAXIMUM_MESSAGE_BYTES_MIN, BB_MESSAGE_BODY_BYTES_MAX},
	{'y', 0, WIRE_DELAY_S_MAX},
	{CLI_OPT_LISTEN_PORT, 1, UINT16_MAX},
	{CLI_OPT_LISTEN_COUNT, 1, CLI_LISTEN_COUNT_MAX},
};

static const char *option_name(int opt)
{
	for (size_t i = 0; long_options[i].name != NULL; i++) {
		if (long_options[i].val == opt)
			return long_options[i].name;
	}
	return "?";
}

static char server_text[64];

static int parse_server(struct settings *s, const char *value)
{
	snprintf(server_text, sizeof(server_text), "%s", value);
	char *colon = strchr(server_text, ':');
	long port = 7600;
	if (colon != NULL) {
		*colon = '\0';
		if (!parse_int(colon + 1, 1, UINT16_MAX, &port)) {
			fprintf(stderr, "busbar: bad value for --server: %s (IP[:PORT], PORT a number "
			        "from 1 to %u)\n", value, UINT16_MAX);
			return -EINVAL;
		}
	}
	s->server = server_text;
	s->port = (uint16_t)port;
	return 0;
}

/* Parses a numeric option within its range, or says which range it has. */
static int parse_number(int opt, const char *value, long *out)
{
	for (size_t i = 0; i < sizeof(numeric_ranges) / sizeof(numeric_ranges[0]); i++) {
		const struct numeric_range *r = &numeric_ranges[i];
		if (r->opt != opt)
			continue;
		if (parse_int(value, r->min, r->max, out))
			return 0;
		fprintf(stderr, "busbar: bad value for --%s: %s (a number from %ld to %ld)\n",
		        option_name(opt), value, r->min, r->max);
		return -EINVAL;
	}
	assert(!"every numeric option has a range");
	return -EINVAL;
}

static int parse_option(struct settings *s, int opt, const char *value)
{
	if (cli_routing_is_option(opt)) {
		char why[512];
		int rc = cli_routing_option(&s->routing, opt, value, why, sizeof(why));
		if (rc != 0)
			fprintf(stderr, "busbar: %s\n", why);
		return rc;
	}
	switch (opt) {
	case 'e': s->endpoint = value; return 0;
	case 's': return parse_server(s, value);
	case 'l': s->local = value; return 0;
	case 'p': s->prefix = value; return 0;
	case 'K': s->key_file = value; return 0;
	case 'A': s->access_key_id = value; return 0;
	case CLI_OPT_EVENT_BUS: s->event_bus = value; return 0;
	case 'g': s->group_id = value; return 0;
	case 'd': s->dedup_id = value; return 0;
	case 'F': s->fifo = true; return 0;
	case 'C': s->content_based_deduplication = true; return 0;
	case 'T': s->topic = value; return 0;
	case CLI_OPT_TRACE_HEADER: s->trace_header = value; return 0;
	case CLI_OPT_ATTEMPT_ID: s->attempt_id = value; return 0;
	case CLI_OPT_POLICY: s->policy = value; return 0;
	case CLI_OPT_OVERLAP_SECONDS: s->overlap_seconds = value; return 0;
	case CLI_OPT_MESSAGE_ATTRIBUTE_NAMES:
		if (s->attribute_name_count == WIRE_MESSAGE_ATTRIBUTE_NAMES_MAX) {
			fprintf(stderr, "busbar: at most %u --message-attribute-names\n",
			        WIRE_MESSAGE_ATTRIBUTE_NAMES_MAX);
			return -EINVAL;
		}
		s->attribute_names[s->attribute_name_count++] = value;
		return 0;
	case 'D':
		if (strcmp(value, "disk") != 0 && strcmp(value, "memory") != 0) {
			fprintf(stderr, "busbar: bad value for --durability: %s (disk or memory)\n",
			        value);
			return -EINVAL;
		}
		s->durability = value;
		return 0;
	default: break;
	}
	long n;
	int rc = parse_number(opt, value, &n);
	if (rc != 0)
		return rc;
	switch (opt) {
	case 't': s->timeout_ms = (uint32_t)n; break;
	case 'r': s->attempts = (uint32_t)n + 1; break;
	case 'v': s->visibility_timeout_s = (int32_t)n; break;
	case 'w': s->wait_time_s = (int32_t)n; break;
	case 'W': s->receive_wait_s = (int32_t)n; break;
	case 'm': s->max_messages = (uint32_t)n; break;
	case 'M': s->maximum_message_bytes = (int32_t)n; break;
	case 'y': s->delay_s = (int32_t)n; break;
	case CLI_OPT_LISTEN_PORT: s->listen_port = (uint16_t)n; break;
	case CLI_OPT_LISTEN_COUNT: s->listen_count = (uint32_t)n; break;
	default: assert(!"parse_number knows only these options");
	}
	return 0;
}

/* The command and its arguments, once the options around them are parsed. */
struct invocation {
	const char *command;
	char *args[POSITIONAL_COUNT_MAX];
	int arg_count;
};

/* One getopt result: KEEP_PARSING, or the exit code to end with. */
static int take_option(struct settings *s, int opt, char **argv, int at)
{
	switch (opt) {
	case 'h': usage(stdout); return EXIT_OK;
	case 'V': printf("busbar %s\n", BUSBAR_VERSION); return EXIT_OK;
	case ':':
		fprintf(stderr, "busbar: option %s needs a value\n", argv[at]);
		return EXIT_USAGE;
	case '?':
		fprintf(stderr, "busbar: unknown option %s (busbar --help lists them)\n", argv[at]);
		return EXIT_USAGE;
	default: return parse_option(s, opt, optarg) == 0 ? KEEP_PARSING : EXIT_USAGE;
	}
}

static int take_word(struct invocation *inv, char *word)
{
	if (inv->command == NULL) {
		inv->command = word;
		return KEEP_PARSING;
	}
	if (inv->arg_count < POSITIONAL_COUNT_MAX) {
		inv->args[inv->arg_count++] = word;
		return KEEP_PARSING;
	}
	usage(stderr);
	return EXIT_USAGE;
}

/* Options may come before the command and after it; "--" ends them. */
static int parse_arguments(int argc, char **argv, struct settings *s, struct invocation *inv)
{
	bool options_ended = false;
	int rc = KEEP_PARSING;
	/* Bounded: every pass consumes at least one argument or returns. */
	while (optind < argc && rc == KEEP_PARSING) {
		int at = optind;
		int opt = options_ended ? -1 : getopt_long(argc, argv, "+:h", long_options, NULL);
		if (opt != -1) {
			rc = take_option(s, opt, argv, at);
			continue;
		}
		options_ended = options_ended || strcmp(argv[at], "--") == 0;
		if (optind < argc)
			rc = take_word(inv, argv[optind++]);
	}
	if (rc == KEEP_PARSING && inv->command == NULL) {
		usage(stderr);
		rc = EXIT_USAGE;
	}
	return rc;
}

/* stdout is buffered: a write that fails shows at the latest here, and turns a success
 * into exit 4 rather than output silently lost. */
static int finish(int exit_code)
{
	if (fflush(stdout) == 0 && !ferror(stdout))
		return exit_code;
	if (exit_code != EXIT_OK)
		return exit_code;
	fprintf(stderr, "busbar: could not write standard output: %s\n", strerror(errno));
	return EXIT_OUTPUT;
}

int main(int argc, char **argv)
{
	struct settings s = {
		.endpoint = "http://127.0.0.1:7680",
		.server = "10.77.0.2",
		.port = 7600,
		.timeout_ms = 1000,
		.attempts = 3,
		.visibility_timeout_s = -1,
		.wait_time_s = -1,
		.receive_wait_s = -1,
		.max_messages = 1,
		.maximum_message_bytes = -1,
		.delay_s = -1,
	};
	struct invocation inv = {0};
	opterr = 0; /* take_option words every error */
	int rc = parse_arguments(argc, argv, &s, &inv);
	if (rc != KEEP_PARSING)
		return finish(rc);
	if (cli_sns_is_command(inv.command)) {
		struct cli_sns_settings sns = {
			.endpoint = s.endpoint, .key_file = s.key_file,
			.access_key_id = s.access_key_id, .timeout_ms = s.timeout_ms, .topic = s.topic,
			.fifo = s.fifo, .content_based_deduplication = s.content_based_deduplication,
			.durability = s.durability};
		curl_global_init(CURL_GLOBAL_DEFAULT);
		rc = cli_sns_run(&sns, inv.command, inv.arg_count, inv.args);
		curl_global_cleanup();
		return finish(rc);
	}
	if (cli_move_is_command(inv.command)) {
		struct cli_move_settings move = {
			.endpoint = s.endpoint, .key_file = s.key_file,
			.access_key_id = s.access_key_id, .timeout_ms = s.timeout_ms,
			.max_results = s.max_messages};
		curl_global_init(CURL_GLOBAL_DEFAULT);
		rc = cli_move_run(&move, inv.arg_count, inv.args);
		curl_global_cleanup();
		return finish(rc);
	}
	if (cli_keys_is_command(inv.command)) {
		struct cli_keys_settings keys = {
			.endpoint = s.endpoint, .key_file = s.key_file,
			.access_key_id = s.access_key_id, .timeout_ms = s.timeout_ms,
			.policy = s.policy, .overlap_seconds = s.overlap_seconds};
		curl_global_init(CURL_GLOBAL_DEFAULT);
		rc = cli_keys_run(&keys, inv.arg_count, inv.args);
		curl_global_cleanup();
		return finish(rc);
	}
	if (cli_events_is_command(inv.command)) {
		struct cli_events_settings events = {
			.endpoint = s.endpoint, .key_file = s.key_file,
			.access_key_id = s.access_key_id, .timeout_ms = s.timeout_ms,
			.event_bus = s.event_bus, .prefix = s.prefix, .durability = s.durability};
		curl_global_init(CURL_GLOBAL_DEFAULT);
		rc = cli_events_run(&events, inv.command, inv.arg_count, inv.args);
		curl_global_cleanup();
		return finish(rc);
	}
	if (strstr(inv.command, "queue") == NULL) {
		rc = run_data(&s, inv.command, inv.arg_count, inv.args);
		cli_routing_args_free(&s.routing);
		return finish(rc);
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = run_admin(&s, inv.command, inv.arg_count, inv.args);
	curl_global_cleanup();
	return finish(rc);
}
