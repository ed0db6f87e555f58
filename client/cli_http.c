/*
 * The busbar command's calls to busbar-control's HTTP API (see cli_http.h). The key's
 * secret is copied only into libcurl's user:password, which is zeroed after the call; an
 * answer's text is zeroed before it is freed, and a 200's text is parsed only by callers
 * whose answers hold no secret.
 */
#include "cli_http.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "cli_key.h"

#define TIMEOUT_FACTOR  5 /* a change is answered once busbard applied it */
#define USERPWD_BYTES   128u
#define HEADER_BYTES    128u
#define PROVIDER_BYTES  96u

_Static_assert(USERPWD_BYTES > BB_ACCESS_KEY_ID_BYTES + 1 + BB_KEY_SECRET_BYTES,
               "user:password holds a key");

enum { EXIT_OK = 0, EXIT_SERVICE = 1, EXIT_USAGE = 2, EXIT_UNREACHABLE = 3 };

static size_t collect(char *chunk, size_t size, size_t count, void *userdata)
{
	struct cli_http_reply *r = userdata;
	size_t bytes = size * count;
	if (r->length + bytes > CLI_HTTP_REPLY_BYTES_MAX)
		return 0;
	/* Not realloc: the text may hold a key's secret, and realloc frees the old block as is. */
	char *grown = malloc(r->length + bytes + 1);
	if (grown == NULL)
		return 0;
	if (r->text != NULL) {
		memcpy(grown, r->text, r->length);
		explicit_bzero(r->text, r->length);
		free(r->text);
	}
	r->text = grown;
	memcpy(r->text + r->length, chunk, bytes);
	r->length += bytes;
	r->text[r->length] = '\0';
	return bytes;
}

/* Keeps the code of "x-amzn-query-error: Code;Sender". */
static size_t header(char *line, size_t size, size_t count, void *userdata)
{
	struct cli_http_reply *r = userdata;
	size_t bytes = size * count;
	static const char name[] = "x-amzn-query-error:";
	if (bytes <= sizeof(name) || strncasecmp(line, name, sizeof(name) - 1) != 0)
		return bytes;
	const char *value = line + sizeof(name) - 1;
	size_t skip = strspn(value, " ");
	size_t code_bytes = strcspn(value + skip, ";\r\n");
	if (code_bytes < sizeof(r->query_code))
		snprintf(r->query_code, sizeof(r->query_code), "%.*s", (int)code_bytes,
		         value + skip);
	return bytes;
}

/*
 * Signs with SigV4 for the service when a key is found (cli_key.h), as busbar-control
 * requires unless it runs with --insecure-no-auth; unsigned otherwise (busbar-control
 * refuses it, and says why). 0, or EXIT_USAGE after saying why.
 */
static int sign(const struct cli_http_service *service, const struct cli_http_peer *peer,
                CURL *curl, char *userpwd, size_t userpwd_bytes)
{
	struct cli_key key;
	char why[512];
	if (cli_key_load(peer->key_file, peer->access_key_id, &key, why, sizeof(why)) != 0) {
		fprintf(stderr, "busbar: %s\n", why);
		return EXIT_USAGE;
	}
	if (!key.found)
		return EXIT_OK;
	const char *region = getenv("BUSBAR_REGION");
	char provider[PROVIDER_BYTES];
	snprintf(provider, sizeof(provider), "aws:amz:%s:%s",
	         region != NULL && region[0] != '\0' ? region : "local", service->sigv4_service);
	snprintf(userpwd, userpwd_bytes, "%s:%s", key.access_key_id, key.secret);
	cli_key_clear(&key);
	curl_easy_setopt(curl, CURLOPT_USERPWD, userpwd);
	curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, provider); /* curl copies the string */
	return EXIT_OK;
}

/* The POST itself, on a handle already signed: 0 or EXIT_UNREACHABLE after saying why. */
static int post(const struct cli_http_service *service, const struct cli_http_peer *peer,
                CURL *curl, const char *action, const char *body,
                struct cli_http_reply *reply)
{
	char target[HEADER_BYTES], content_type[HEADER_BYTES];
	snprintf(target, sizeof(target), "X-Amz-Target: %s.%s", service->target_prefix, action);
	snprintf(content_type, sizeof(content_type), "Content-Type: application/x-amz-json-%s",
	         service->json_version);
	struct curl_slist *headers = curl_slist_append(NULL, target);
	headers = curl_slist_append(headers, content_type);
	curl_easy_setopt(curl, CURLOPT_URL, peer->endpoint);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, reply);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, reply);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)peer->timeout_ms * TIMEOUT_FACTOR);
	CURLcode sent = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply->status);
	curl_slist_free_all(headers);
	if (sent == CURLE_OK)
		return EXIT_OK;
	fprintf(stderr, "busbar: %s: %s\n", peer->endpoint, curl_easy_strerror(sent));
	return EXIT_UNREACHABLE;
}

int cli_http_send(const struct cli_http_service *service, const struct cli_http_peer *peer,
                  const char *action, const json_t *request, struct cli_http_reply *reply)
{
	assert(service != NULL && peer != NULL && action != NULL && reply != NULL);
	*reply = (struct cli_http_reply){0};
	CURL *curl = curl_easy_init();
	char *body = json_dumps(request, JSON_COMPACT);
	if (curl == NULL || body == NULL) {
		fprintf(stderr, "busbar: out of memory for the call to %s\n", peer->endpoint);
		curl_easy_cleanup(curl);
		free(body);
		return EXIT_UNREACHABLE;
	}
	char userpwd[USERPWD_BYTES] = "";
	int rc = sign(service, peer, curl, userpwd, sizeof(userpwd));
	if (rc == EXIT_OK)
		rc = post(service, peer, curl, action, body, reply);
	curl_easy_cleanup(curl);
	explicit_bzero(userpwd, sizeof(userpwd));
	free(body);
	if (rc != EXIT_OK)
		cli_http_reply_free(reply);
	return rc;
}

/* The code an error answer is printed with, named as the service names it. */
static const char *error_code(const struct cli_http_service *service,
                              const struct cli_http_reply *reply, const char *type)
{
	const char *hash = type != NULL ? strrchr(type, '#') : NULL;
	if (service->error_name == CLI_HTTP_ERROR_QUERY_CODE && reply->query_code[0] != '\0')
		return reply->query_code;
	if (service->error_name != CLI_HTTP_ERROR_TYPE && hash != NULL)
		return hash + 1;
	return type != NULL ? type : "HTTP error";
}

void cli_http_say_error(const struct cli_http_service *service,
                        const struct cli_http_reply *reply)
{
	assert(service != NULL && reply != NULL);
	json_t *json = reply->text != NULL ? json_loads(reply->text, 0, NULL) : NULL;
	const char *type = json_string_value(json_object_get(json, "__type"));
	const char *message = json_string_value(json_object_get(json, "message"));
	fprintf(stderr, "busbar: %s: %s\n", error_code(service, reply, type),
	        message != NULL ? message : (reply->text != NULL ? reply->text : ""));
	json_decref(json);
}

void cli_http_reply_free(struct cli_http_reply *reply)
{
	if (reply->text != NULL)
		explicit_bzero(reply->text, reply->length);
	free(reply->text);
	*reply = (struct cli_http_reply){0};
}

int cli_http_call(const struct cli_http_service *service, const struct cli_http_peer *peer,
                  const char *action, const json_t *request, json_t **answer)
{
	struct cli_http_reply reply;
	int rc = cli_http_send(service, peer, action, request, &reply);
	if (rc != EXIT_OK)
		return rc;
	json_t *json = reply.text != NULL ? json_loads(reply.text, 0, NULL) : NULL;
	if (reply.status == 200 && json_is_object(json)) {
		*answer = json;
	} else {
		cli_http_say_error(service, &reply);
		json_decref(json);
		rc = EXIT_SERVICE;
	}
	cli_http_reply_free(&reply);
	return rc;
}

int cli_http_call_print(const struct cli_http_service *service,
                        const struct cli_http_peer *peer, const char *action,
                        const json_t *request)
{
	struct cli_http_reply reply;
	int rc = cli_http_send(service, peer, action, request, &reply);
	if (rc != EXIT_OK)
		return rc;
	if (reply.status == 200) {
		printf("%s\n", reply.text != NULL ? reply.text : "{}"); /* compact: one line */
	} else {
		cli_http_say_error(service, &reply); /* never a 200's text: it may hold a secret */
		rc = EXIT_SERVICE;
	}
	cli_http_reply_free(&reply);
	return rc;
}
