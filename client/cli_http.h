/*
 * One call of the busbar command to busbar-control's HTTP API: a JSON 1.0 or 1.1 POST
 * named by X-Amz-Target "<prefix>.<Action>", signed with SigV4 (libcurl's
 * CURLOPT_AWS_SIGV4) for the service's name when the command has a key (cli_key.h),
 * in busbar-control's region (BUSBAR_REGION, default "local"). The answer comes back
 * as its status and text, or as an error said on one line of stderr
 * ("busbar: CODE: message"), with the command's exit codes: 0 ok, 1 the service's
 * error, 2 usage (the key could not be read), 3 no answer.
 */
#ifndef BB_CLI_HTTP_H
#define BB_CLI_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define CLI_HTTP_REPLY_BYTES_MAX (1u << 20) /* ListKeys of every key, with policies */
#define CLI_HTTP_CODE_BYTES_MAX  96u

/* Which name of an error the command prints: each service's as it always has. */
enum cli_http_error_name {
	CLI_HTTP_ERROR_TYPE,       /* the __type as sent (EventBridge's, SNS's) */
	CLI_HTTP_ERROR_TYPE_NAME,  /* the __type after its '#' ("com.amazonaws.sqs#Code") */
	CLI_HTTP_ERROR_QUERY_CODE, /* the x-amzn-query-error's code, else the __type's name */
};

/* What the calls of one of busbar-control's APIs share. */
struct cli_http_service {
	const char *target_prefix;  /* "AmazonSQS": X-Amz-Target AmazonSQS.<Action> */
	const char *sigv4_service;  /* "sqs" */
	const char *json_version;   /* "1.0" or "1.1" */
	enum cli_http_error_name error_name;
};

/* Where a call goes and who signs it: the command's options. */
struct cli_http_peer {
	const char *endpoint; /* busbar-control's URL */
	const char *key_file; /* cli_key.h */
	const char *access_key_id;
	uint32_t timeout_ms; /* a change is answered once busbard applied it: 5 times this */
};

/* An answer as received. */
struct cli_http_reply {
	long status;  /* HTTP status */
	char *text;   /* the body, NUL-terminated; NULL when empty */
	size_t length;
	char query_code[CLI_HTTP_CODE_BYTES_MAX]; /* x-amzn-query-error's code, or empty */
};

/*
 * Sends the call: 0 with *reply filled (whatever its status; free it with
 * cli_http_reply_free), else the exit code after saying why (2: the key, 3: no answer).
 */
int cli_http_send(const struct cli_http_service *service, const struct cli_http_peer *peer,
                  const char *action, const json_t *request, struct cli_http_reply *reply);
/* Says an error answer on one line of stderr, its code named as the service names it. */
void cli_http_say_error(const struct cli_http_service *service,
                        const struct cli_http_reply *reply);
/* Zeroes the text (it may hold a secret: CreateKey's, RotateKey's) and frees it. */
void cli_http_reply_free(struct cli_http_reply *reply);

/*
 * The call whose answer is a JSON object: the exit code, with *answer (the caller's) when 0.
 * A 200 whose body is not an object is the service's error too.
 */
int cli_http_call(const struct cli_http_service *service, const struct cli_http_peer *peer,
                  const char *action, const json_t *request, json_t **answer);
/*
 * The call whose answer prints as it came, on one line of stdout (never parsed: it may hold
 * a secret, and the text is zeroed after). The exit code.
 */
int cli_http_call_print(const struct cli_http_service *service,
                        const struct cli_http_peer *peer, const char *action,
                        const json_t *request);

#endif
