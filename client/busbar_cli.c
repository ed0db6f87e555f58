/*
 * busbar: the command-line client. Queue administration goes to
 * busbar-control's HTTP API in the SQS JSON 1.0 shapes; data operations go to
 * busbard over the wire protocol (UDP, or the local socket with --local).
 * Output is JSON on stdout; errors are one line on stderr. Exit codes:
 * 0 success, 1 the service answered with an error, 2 usage, 3 no answer.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "busbar.h"

enum exit_code { EXIT_OK = 0, EXIT_SERVICE = 1, EXIT_USAGE = 2, EXIT_UNREACHABLE = 3 };

#define STDIN_BODY_BYTES_MAX BB_MESSAGE_BODY_BYTES_MAX
#define HTTP_REPLY_BYTES_MAX (1u << 20)

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
};

static void usage(FILE *out)
{
	fputs("usage: busbar [options] COMMAND [ARGS]\n"
	      "admin (busbar-control, --endpoint URL, default http://127.0.0.1:7680):\n"
	      "  create-queue NAME [--visibility-timeout S] [--receive-wait S]\n"
	      "               [--maximum-message-size BYTES]\n"
	      "  delete-queue NAME | get-queue-url NAME | get-queue-attributes NAME\n"
	      "  list-queues [--prefix P]\n"
	      "data (busbard, --server IP[:PORT], default 10.77.0.2:7600, or --local SOCKET):\n"
	      "  send QUEUE BODY            (BODY - reads standard input)\n"
	      "  receive QUEUE [--max N] [--visibility-timeout S] [--wait S]\n"
	      "  delete QUEUE RECEIPT_HANDLE\n"
	      "  change-visibility QUEUE RECEIPT_HANDLE SECONDS\n"
	      "  ping | stats               (stats needs --local)\n"
	      "other options: --timeout-ms N (default 1000), --retries N (default 2)\n"
	      "exit codes: 0 ok, 1 service error, 2 usage, 3 no answer\n",
	      out);
}

/* ---- admin over HTTP ---- */

struct http_reply {
	char *data;
	size_t length;
};

static size_t collect(char *chunk, size_t size, size_t count, void *userdata)
{
	struct http_reply *r = userdata;
	size_t bytes = size * count;
	if (r->length + bytes > HTTP_REPLY_BYTES_MAX)
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

/* POSTs an SQS JSON 1.0 call; prints the reply or the error. Returns an exit code. */
static int sqs_admin_call(const struct settings *s, const char *action, json_t *request)
{
	char target[128], *body = json_dumps(request, JSON_COMPACT);
	snprintf(target, sizeof(target), "X-Amz-Target: AmazonSQS.%s", action);
	struct curl_slist *headers = curl_slist_append(NULL, target);
	headers = curl_slist_append(headers, "Content-Type: application/x-amz-json-1.0");
	struct http_reply reply = {0};
	CURL *curl = curl_easy_init();
	curl_easy_setopt(curl, CURLOPT_URL, s->endpoint);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)s->timeout_ms * 5);
	CURLcode rc = curl_easy_perform(curl);
	long http_status = 0;
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &http_status);
	int exit_code = EXIT_OK;
	if (rc != CURLE_OK) {
		fprintf(stderr, "busbar: %s: %s\n", s->endpoint, curl_easy_strerror(rc));
		exit_code = EXIT_UNREACHABLE;
	} else if (http_status != 200) {
		json_t *error = json_loads(reply.data ? reply.data : "", 0, NULL);
		const char *type = json_string_value(json_object_get(error, "__type"));
		const char *message = json_string_value(json_object_get(error, "message"));
		fprintf(stderr, "busbar: %s: %s\n", type ? type : "HTTP error",
		        message ? message : (reply.data ? reply.data : ""));
		json_decref(error);
		exit_code = EXIT_SERVICE;
	} else {
		printf("%s\n", reply.data ? reply.data : "{}");
	}
	curl_easy_cleanup(curl);
	curl_slist_free_all(headers);
	free(reply.data);
	free(body);
	return exit_code;
}

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
	if (action != NULL)
		rc = sqs_admin_call(s, action, request);
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
	return EXIT_UNREACHABLE;
}

static void print_json(json_t *value)
{
	char *text = json_dumps(value, JSON_COMPACT | JSON_PRESERVE_ORDER);
	printf("%s\n", text);
	free(text);
	json_decref(value);
}

static int read_stdin(char **out, size_t *length)
{
	*out = malloc(STDIN_BODY_BYTES_MAX + 1);
	if (*out == NULL)
		return -ENOMEM;
	*length = fread(*out, 1, STDIN_BODY_BYTES_MAX + 1, stdin);
	return *length > STDIN_BODY_BYTES_MAX ? -EMSGSIZE : 0;
}

static int run_send(struct bb_client *c, const char *queue, const char *body_arg)
{
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
	int rc = bb_send_message(c, queue, body, length, &sent);
	free(stdin_body);
	if (rc != 0)
		return report(c, rc);
	print_json(json_pack("{s:s, s:s}", "MessageId", sent.message_id, "MD5OfMessageBody",
	                     sent.md5_of_body));
	return EXIT_OK;
}

static json_t *message_json(const struct bb_message *m)
{
	json_t *attributes = json_pack("{s:I, s:I, s:I}", "ApproximateReceiveCount",
	                               (json_int_t)m->receive_count, "SentTimestamp",
	                               (json_int_t)m->sent_ms, "ApproximateFirstReceiveTimestamp",
	                               (json_int_t)m->first_receive_ms);
	return json_pack("{s:s, s:s, s:s, s:s%, s:o}", "MessageId", m->message_id, "ReceiptHandle",
	                 m->receipt_handle, "MD5OfBody", m->md5_of_body, "Body",
	                 (const char *)m->body, (size_t)m->body_bytes, "Attributes", attributes);
}

static int run_receive(struct bb_client *c, const struct settings *s, const char *queue)
{
	struct bb_receive_options o = {
		.max_messages = s->max_messages,
		.visibility_timeout_s = s->visibility_timeout_s,
		.wait_time_s = s->wait_time_s,
	};
	struct bb_message messages[BB_RECEIVE_COUNT_MAX];
	uint32_t count;
	int rc = bb_receive_message(c, queue, &o, messages, &count);
	if (rc != 0)
		return report(c, rc);
	json_t *list = json_array();
	for (uint32_t i = 0; i < count; i++)
		json_array_append_new(list, message_json(&messages[i]));
	print_json(json_pack("{s:o}", "Messages", list));
	return EXIT_OK;
}

static int run_stats(struct bb_client *c)
{
	struct bb_stat stats[64];
	uint32_t count;
	int rc = bb_get_stats(c, stats, 64, &count);
	if (rc != 0)
		return report(c, rc);
	json_t *object = json_object();
	for (uint32_t i = 0; i < count; i++)
		json_object_set_new(object, stats[i].name, json_integer((json_int_t)stats[i].value));
	print_json(object);
	return EXIT_OK;
}

static int dispatch_data(struct bb_client *c, const struct settings *s, const char *command,
                         int argc, char **argv)
{
	if (strcmp(command, "ping") == 0 && argc == 0) {
		int rc = bb_ping(c);
		if (rc == 0)
			print_json(json_pack("{s:s}", "Ping", "ok"));
		return report(c, rc);
	}
	if (strcmp(command, "stats") == 0 && argc == 0)
		return run_stats(c);
	if (strcmp(command, "send") == 0 && argc == 2)
		return run_send(c, argv[0], argv[1]);
	if (strcmp(command, "receive") == 0 && argc == 1)
		return run_receive(c, s, argv[0]);
	if (strcmp(command, "delete") == 0 && argc == 2)
		return report(c, bb_delete_message(c, argv[0], argv[1]));
	if (strcmp(command, "change-visibility") == 0 && argc == 3) {
		char *end;
		unsigned long seconds = strtoul(argv[2], &end, 10);
		if (*end != '\0' || seconds > UINT32_MAX) {
			fprintf(stderr, "busbar: SECONDS must be a number\n");
			return EXIT_USAGE;
		}
		return report(c, bb_change_message_visibility(c, argv[0], argv[1], (uint32_t)seconds));
	}
	usage(stderr);
	return EXIT_USAGE;
}

static int run_data(const struct settings *s, const char *command, int argc, char **argv)
{
	struct bb_client_options o = {
		.server_ip = s->server,
		.server_port = s->port,
		.unix_socket = s->local,
		.timeout_ms = s->timeout_ms,
		.attempts = s->attempts,
	};
	int rc;
	struct bb_client *c = bb_client_open(&o, &rc);
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

static bool parse_int(const char *text, long min, long max, long *out)
{
	char *end;
	errno = 0;
	*out = strtol(text, &end, 10);
	return errno == 0 && *end == '\0' && end != text && *out >= min && *out <= max;
}

static char server_text[64];

static int parse_server(struct settings *s, const char *value)
{
	snprintf(server_text, sizeof(server_text), "%s", value);
	char *colon = strchr(server_text, ':');
	long port = 7600;
	if (colon != NULL) {
		*colon = '\0';
		if (!parse_int(colon + 1, 1, 65535, &port))
			return -EINVAL;
	}
	s->server = server_text;
	s->port = (uint16_t)port;
	return 0;
}

static int parse_option(struct settings *s, int opt, const char *value)
{
	long n = 0;
	bool ok = true;
	switch (opt) {
	case 'e': s->endpoint = value; break;
	case 's': ok = parse_server(s, value) == 0; break;
	case 'l': s->local = value; break;
	case 't': ok = parse_int(value, 1, 600000, &n), s->timeout_ms = (uint32_t)n; break;
	case 'r': ok = parse_int(value, 0, 100, &n), s->attempts = (uint32_t)n + 1; break;
	case 'v': ok = parse_int(value, 0, 43200, &n), s->visibility_timeout_s = (int32_t)n; break;
	case 'w': ok = parse_int(value, 0, 20, &n), s->wait_time_s = (int32_t)n; break;
	case 'W': ok = parse_int(value, 0, 20, &n), s->receive_wait_s = (int32_t)n; break;
	case 'm': ok = parse_int(value, 1, 10, &n), s->max_messages = (uint32_t)n; break;
	case 'M': ok = parse_int(value, 1024, 1 << 20, &n), s->maximum_message_bytes = (int32_t)n; break;
	case 'p': s->prefix = value; break;
	default: ok = false;
	}
	return ok ? 0 : -EINVAL;
}

int main(int argc, char **argv)
{
	static const struct option longs[] = {
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
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
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
	};
	int opt;
	while ((opt = getopt_long(argc, argv, "+h", longs, NULL)) != -1) {
		if (opt == 'h') {
			usage(stdout);
			return EXIT_OK;
		}
		if (opt == '?' || parse_option(&s, opt, optarg) != 0) {
			fprintf(stderr, "busbar: bad value for option %s\n", argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	/* Options may also follow the command: parse them after it too. */
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *command = argv[optind];
	char *positional[8];
	int positional_count = 0;
	for (optind++; optind < argc;) {
		int before = optind;
		opt = getopt_long(argc, argv, "+h", longs, NULL);
		if (opt == -1 && optind < argc && positional_count < 8) {
			positional[positional_count++] = argv[optind++];
			continue;
		}
		if (opt == -1)
			break;
		if (opt == '?' || opt == 'h' || parse_option(&s, opt, optarg) != 0) {
			fprintf(stderr, "busbar: bad option %s\n", argv[before]);
			return EXIT_USAGE;
		}
	}
	bool admin = strstr(command, "queue") != NULL;
	if (admin) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		int rc = run_admin(&s, command, positional_count, positional);
		curl_global_cleanup();
		return rc;
	}
	return run_data(&s, command, positional_count, positional);
}
