/*
 * The AWS wire formats of busbar-control's HTTP endpoint, without a server:
 * which protocol and service a request speaks (SQS query, SQS JSON 1.0, SNS
 * query, EventBridge JSON 1.1), its parameters in the JSON 1.0 shape whatever
 * the protocol, and answers rendered back in the request's protocol (XML with
 * the AWS namespaces for query, JSON with x-amzn-query-error for JSON 1.0).
 * Tests and the fuzzer call it directly (docs/aws-api.md).
 */
#ifndef BB_CTL_AWS_H
#define BB_CTL_AWS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "bb_limits.h"

/*
 * An HTTP body: a SendMessage of the largest message form-encoded (each byte
 * may take 3) with room for its other parameters. Larger bodies are refused
 * before they are read whole.
 */
#define CTL_AWS_BODY_BYTES_MAX   (3u * BB_MESSAGE_BODY_BYTES_MAX + (64u << 10))
/* name=value pairs in one query-protocol request: a SendMessageBatch of 10 entries with 10
 * attributes each takes about 360 */
#define CTL_AWS_FORM_PARAMS_MAX  1024u
#define CTL_AWS_ACTION_BYTES_MAX 64u
#define CTL_AWS_REQUEST_ID_BYTES 36u /* a UUID, as AWS's x-amzn-RequestId */
#define CTL_AWS_ACCOUNT_ID_BYTES 12u
#define CTL_AWS_REGION_BYTES_MAX 32u
#define CTL_AWS_ERROR_BYTES_MAX  512u /* an error's message */
/* The account and region of queue URLs and ARNs: ctl_sqs.c's (docs/aws-api.md). */
#define CTL_AWS_ACCOUNT_ID_DEFAULT "000000000000"
#define CTL_AWS_REGION_DEFAULT     "local"

enum ctl_aws_protocol {
	CTL_AWS_QUERY,   /* form-encoded Action=..., XML answers */
	CTL_AWS_JSON_10, /* X-Amz-Target, application/x-amz-json-1.0 */
	CTL_AWS_JSON_11, /* X-Amz-Target, application/x-amz-json-1.1 */
};

enum ctl_aws_service {
	CTL_AWS_SQS,
	CTL_AWS_SNS,
	CTL_AWS_EVENTS,
	CTL_AWS_KEYS, /* busbar's key management, BusbarKeys.* in JSON 1.0 (ctl_keys_api.h) */
};

/* What busbar does with an action. */
enum ctl_aws_kind {
	CTL_AWS_MANAGE,      /* management: ctl_sqs.c, ctl_sns.c, ... answer from the store */
	CTL_AWS_DATA,        /* forwarded to busbard */
	CTL_AWS_UNSUPPORTED, /* not implemented: AWS's error for an unknown operation */
};

struct ctl_aws_config {
	const char *account_id; /* 12 digits */
	const char *region;
};

struct ctl_aws_request {
	enum ctl_aws_protocol protocol;
	enum ctl_aws_service service;
	enum ctl_aws_kind kind;
	char action[CTL_AWS_ACTION_BYTES_MAX + 1]; /* "SendMessage" */
	json_t *params; /* the JSON 1.0 request object; owned (ctl_aws_request_clear) */
	char request_id[CTL_AWS_REQUEST_ID_BYTES + 1];
};

/* An error in AWS's terms: HTTP status, the code of both protocols, who is at fault. */
struct ctl_aws_error {
	unsigned http_status;
	const char *code;      /* query code: "AWS.SimpleQueueService.NonExistentQueue" */
	const char *json_type; /* JSON __type: "com.amazonaws.sqs#QueueDoesNotExist" */
	bool sender;           /* Sender (the client's fault) or Receiver */
};

extern const struct ctl_aws_error CTL_AWS_MALFORMED_QUERY;   /* bad form encoding */
extern const struct ctl_aws_error CTL_AWS_SERIALIZATION;     /* bad JSON */
extern const struct ctl_aws_error CTL_AWS_INVALID_ACTION;    /* unknown action (query) */
extern const struct ctl_aws_error CTL_AWS_UNKNOWN_OPERATION; /* unknown target (JSON) */
extern const struct ctl_aws_error CTL_AWS_MISSING_ACTION;
extern const struct ctl_aws_error CTL_AWS_TOO_LARGE;
extern const struct ctl_aws_error CTL_AWS_UNSUPPORTED_MEDIA; /* wrong Content-Type */
extern const struct ctl_aws_error CTL_AWS_INVALID_PARAMETER;
extern const struct ctl_aws_error CTL_AWS_MISSING_PARAMETER;
extern const struct ctl_aws_error CTL_AWS_INVALID_ADDRESS;
extern const struct ctl_aws_error CTL_AWS_NONEXISTENT_QUEUE;
extern const struct ctl_aws_error CTL_AWS_SERVICE_UNAVAILABLE;
extern const struct ctl_aws_error CTL_AWS_INTERNAL;
/* Authentication (SigV4) and authorisation (the key's policy). */
extern const struct ctl_aws_error CTL_AWS_MISSING_TOKEN;
extern const struct ctl_aws_error CTL_AWS_INCOMPLETE_SIGNATURE;
extern const struct ctl_aws_error CTL_AWS_INVALID_CLIENT_TOKEN;
extern const struct ctl_aws_error CTL_AWS_SIGNATURE_MISMATCH;
extern const struct ctl_aws_error CTL_AWS_REQUEST_EXPIRED;
extern const struct ctl_aws_error CTL_AWS_ACCESS_DENIED;

/* An answer ready for HTTP. */
struct ctl_aws_reply {
	unsigned http_status;
	char *body; /* malloc'd */
	size_t body_bytes;
	const char *content_type;
	char query_error[96]; /* x-amzn-query-error ("Code;Sender"), or empty */
	char request_id[CTL_AWS_REQUEST_ID_BYTES + 1];
	bool secret; /* body holds a key's secret: zeroed before it is freed */
};

/*
 * Reads a request: content_type and target are the headers (NULL when absent),
 * query is the URL's decoded arguments as a JSON object of strings (NULL: none;
 * a presigned GET carries its parameters there). Returns 0 with *out filled, or
 * -EINVAL with the error to answer in *error, *protocol and *service (as far as
 * they could be told) and a message.
 */
__attribute__((warn_unused_result)) int ctl_aws_parse(const char *content_type, const char *target,
                                                      const char *body, size_t body_bytes,
                                                      json_t *query, struct ctl_aws_request *out,
                                                      const struct ctl_aws_error **error,
                                                      char *message, size_t message_bytes);
void ctl_aws_request_clear(struct ctl_aws_request *request);

/* Form decoding alone (for SigV4's canonical query and the fuzzer): a JSON object of
 * strings; a name given twice keeps its first value. NULL when malformed. */
json_t *ctl_aws_form_decode(const char *text, size_t bytes);

/* A fresh request id (a random UUID). */
void ctl_aws_request_id(char out[CTL_AWS_REQUEST_ID_BYTES + 1]);

/* The answer to a request that succeeded: result is its JSON 1.0 body. */
void ctl_aws_render_result(const struct ctl_aws_request *request, json_t *result,
                           struct ctl_aws_reply *out);
/* An error answer in the protocol and namespace of the request. */
void ctl_aws_render_error(enum ctl_aws_protocol protocol, enum ctl_aws_service service,
                          const char *request_id, const struct ctl_aws_error *error,
                          const char *message, struct ctl_aws_reply *out);
/*
 * ctl_sqs.c's JSON 1.0 answer (status, body with __type and message, the
 * x-amzn-query-error value "Code;Sender") in the request's protocol.
 */
void ctl_aws_render_sqs_result(const struct ctl_aws_request *request, unsigned http_status,
                               json_t *body, const char *query_error, struct ctl_aws_reply *out);
/*
 * A JSON answer its handler built as text because it holds a secret (ctl_sqs.h's
 * secret_text): the reply takes text, and zeroes it before it is freed.
 */
void ctl_aws_render_secret(const struct ctl_aws_request *request, char *text,
                           struct ctl_aws_reply *out);
/* Zeroes a NUL-terminated text that held a secret, then frees it (NULL: nothing). */
void ctl_aws_free_secret(void *text);
void ctl_aws_reply_clear(struct ctl_aws_reply *reply);

/* "arn:aws:sqs:REGION:ACCOUNT:NAME", or the account's "...:*" when name is NULL. */
void ctl_aws_queue_arn(const struct ctl_aws_config *config, const char *name, char *out,
                       size_t out_bytes);
/*
 * The SNS resource an SNS request acts on, for the policy check: its TopicArn or ResourceArn,
 * the topic of its SubscriptionArn, else the account's "arn:aws:sns:REGION:ACCOUNT:*".
 */
void ctl_aws_sns_arn(const struct ctl_aws_config *config, const struct ctl_aws_request *request,
                     char *out, size_t out_bytes);
/*
 * The action a key's policy is asked about: the request's, but a batch's single call
 * (SendMessageBatch is sqs:SendMessage, as in IAM).
 */
const char *ctl_aws_policy_action(const struct ctl_aws_request *request);
/*
 * The queue a request names (its QueueUrl's last part or QueueName), for the
 * policy check; NULL when it names none (ListQueues).
 */
const char *ctl_aws_request_queue(const struct ctl_aws_request *request);

#endif
