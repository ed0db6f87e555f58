/*
 * The SQS JSON 1.0 queue-management calls of busbar-control: CreateQueue,
 * DeleteQueue, ListQueues, GetQueueUrl, GetQueueAttributes, SetQueueAttributes (with
 * RedrivePolicy and RedriveAllowPolicy), ListDeadLetterSourceQueues and the queue tags.
 * Pure request to
 * response: JSON in, status and JSON out, so tests and the fuzzer call it
 * without HTTP.
 */
#ifndef BB_CTL_SQS_H
#define BB_CTL_SQS_H

#include <stdbool.h>

#include <jansson.h>

#include "ctl_store.h"

#define CTL_REQUEST_BYTES_MAX (256u << 10)
#define CTL_LIST_QUEUES_MAX   1000 /* URLs in one ListQueues answer, as SQS */

struct ctl_sqs_context {
	struct ctl_store *store;
	const char *base_url; /* "http://127.0.0.1:7680": queue URLs are base/000000000000/name */
};

struct ctl_sqs_result {
	unsigned http_status;
	json_t *body;            /* owned by the caller */
	const char *query_error; /* for the x-amzn-query-error header, or NULL */
	bool changed;            /* the configuration version moved */
	/* An answer holding a secret (ctl_keys_api.c's CreateKey, RotateKey): its JSON text,
	 * NUL-terminated, built by the handler so the secret is in no other copy; body is NULL.
	 * The caller's, to be freed with ctl_aws_free_secret, which zeroes it first. */
	char *secret_text;
};

/* target is the X-Amz-Target header; request is the body (may be malformed). */
void ctl_sqs_handle(const struct ctl_sqs_context *context, const char *target, const char *request,
                    size_t request_bytes, struct ctl_sqs_result *out);

/* The queue an SQS ARN of this account names (any region), or NULL (ctl_move.c's too). */
const char *ctl_sqs_queue_from_arn(const char *arn);

#endif
