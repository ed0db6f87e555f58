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
#include <strings.h>

#include <curl/curl.h>
#include <jansson.h>

#include "bb_limits.h"
#include "cli_key.h"

#define REPLY_BYTES_MAX      (1u << 20) /* ListKeys of every key, with policies */
#define TIMEOUT_FACTOR       5          /* a change is answered once busbard applied it */
#define OVERLAP_DIGITS_MAX   10
#define ERROR_CODE_BYTES_MAX 96

enum { EXIT_OK = 0, EXIT_SERVICE = 1, EXIT_USAGE = 2, EXIT_UNREACHABLE = 3 };

struct reply {
	char *data;
	size_t length;
	char error_code[ERROR_CODE_BYTES_MAX]; /* x-amzn-query-error's code, or empty */
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

/* Keeps the code of "x-amzn-query-error: Code;Sender". */
static size_t header(char *line, size_t size, size_t count, void *userdata)
{
	struct reply *r = userdata;
	size_t bytes = size * count;
	static const char name[] = "x-amzn-query-error:";
	if (bytes <= sizeof(name) || strncasecmp(line, name, sizeof(name) - 1) != 0)
		return bytes;
	const char *value = line + sizeof(name) - 1;
	size_t skip = strspn(value, " ");
	size_t code_bytes = strcspn(value + skip, ";\r\n");
	if (code_bytes < sizeof(r->error_code))
		snprintf(r->error_code, sizeof(r->error_code), "%.*s", (int)code_bytes,
		         value + skip);
	return bytes;
}

/* Signs with SigV4 for "busbar" when a key is found (cli_key.h); 0 or EXIT_USAGE. */
static int sign(const struct cli_keys_settings *s, CURL *curl, char *userpwd, size_t bytes)
{
	struct cli_key key;
	char why[512];
	if (cli_key_load(s->key_file, s->access_key_id, &key, why, sizeof(why)) != 0) {
		fprintf(stderr, "busbar: %s\n", why);
		return EXIT_USAGE;
	}
	if (!key.found)
		return 0; /* unsigned: busbar-control refuses it, and says why */
	const char *region = getenv("BUSBAR_REGION");
	char provider[96];
	snprintf(provider, sizeof(provider), "aws:amz:%s:busbar",
	         region != NULL && region[0] != '\0' ? region : "local");
	snprintf(userpwd, bytes, "%s:%s", key.access_key_id, key.secret);
	cli_key_clear(&key);
	curl_easy_setopt(curl, CURLOPT_USERPWD, userpwd);
	curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, provider);
	return 0;
}

/* An error answer on one line of stderr: never the body of a 200, which may hold a secret. */
static void say_error(const struct reply *reply)
{
	json_t *json = reply->data != NULL ? json_loads(reply->data, 0, NULL) : NULL;
	const char *type = json_string_value(json_object_get(json, "__type"));
	const char *message = json_string_value(json_object_get(json, "message"));
	const char *hash = type != NULL ? strrchr(type, '#') : NULL;
	const char *code = reply->error_code[0] != '\0' ? reply->error_code
	                   : hash != NULL             ? hash + 1
	                   : type != NULL             ? type
	                                              : "HTTP error";
	fprintf(stderr, "busbar: %s: %s\n", code,
	        message != NULL ? message : (reply->data != NULL ? reply->data : ""));
	json_decref(json);
}

/* POSTs BusbarKeys.<action>; prints the answer on one line. Returns an exit code. */
static int call(const struct cli_keys_settings *s, const char *action, json_t *request)
{
	char userpwd[128] = "", target[96];
	CURL *curl = curl_easy_init();
	if (curl == NULL)
		return EXIT_UNREACHABLE;
	int rc = sign(s, curl, userpwd, sizeof(userpwd));
	char *body = json_dumps(request, JSON_COMPACT);
	snprintf(target, sizeof(target), "X-Amz-Target: BusbarKeys.%s", action);
	struct curl_slist *headers = curl_slist_append(NULL, target);
	headers = curl_slist_append(headers, "Content-Type: application/x-amz-json-1.0");
	struct reply reply = {0};
	curl_easy_setopt(curl, CURLOPT_URL, s->endpoint);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, &reply);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)s->timeout_ms * TIMEOUT_FACTOR);
	CURLcode sent = rc == EXIT_OK ? curl_easy_perform(curl) : CURLE_OK;
	long status = 0;
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	if (rc == EXIT_OK && sent != CURLE_OK) {
		fprintf(stderr, "busbar: %s: %s\n", s->endpoint, curl_easy_strerror(sent));
		rc = EXIT_UNREACHABLE;
	} else if (rc == EXIT_OK && status != 200) {
		say_error(&reply);
		rc = EXIT_SERVICE;
	} else if (rc == EXIT_OK) {
		printf("%s\n", reply.data != NULL ? reply.data : "{}"); /* compact: one line */
	}
	curl_easy_cleanup(curl);
	explicit_bzero(userpwd, sizeof(userpwd));
	if (reply.data != NULL)
		explicit_bzero(reply.data, reply.length); /* create's and rotate's secret */
	curl_slist_free_all(headers);
	free(reply.data);
	free(body);
	return rc;
}

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
	int rc = call(s, action, request);
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
