/*
 * Key policies, one evaluator for both paths: busbar-control checks them on
 * HTTP (SigV4) calls, busbard on UDP requests, so a key means the same on both.
 * A policy is the IAM subset docs/operations.md ("Key policies") describes:
 *   {"Version": "2012-10-17", "Statement": [{"Effect": "Allow" | "Deny",
 *     "Action": "sqs:SendMessage" | [...], "Resource": "arn:aws:sqs:*:*:orders-*" | [...]}]}
 * Actions and resources are patterns with * (any run) and ? (one character);
 * actions compare without case, as IAM's do. An explicit Deny wins; with no
 * Allow that matches, the answer is no (default deny).
 */
#ifndef BB_POLICY_H
#define BB_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bb_limits.h"

struct bb_policy_statement {
	bool deny;
	uint16_t first_action; /* index into pattern_offset */
	uint16_t action_count;
	uint16_t first_resource;
	uint16_t resource_count;
};

/* A compiled policy: patterns as NUL-terminated strings in text. */
struct bb_policy {
	uint32_t statement_count;
	uint32_t pattern_count;
	uint32_t text_bytes;
	struct bb_policy_statement statements[BB_POLICY_STATEMENTS_MAX];
	uint16_t pattern_offset[BB_POLICY_PATTERNS_MAX];
	char text[BB_POLICY_BYTES_MAX];
};

/*
 * Compiles policy JSON (json_bytes long, no NUL needed). Returns 0, -EINVAL
 * with the reason in error for a policy outside the subset (unknown members
 * such as Condition or NotAction are refused, not ignored), or -E2BIG past
 * BB_POLICY_BYTES_MAX, BB_POLICY_STATEMENTS_MAX or BB_POLICY_PATTERNS_MAX.
 */
__attribute__((warn_unused_result)) int bb_policy_compile(const char *json, size_t json_bytes,
                                                          struct bb_policy *out, char *error,
                                                          size_t error_bytes);

/* True when the policy allows action (e.g. "sqs:SendMessage") on resource (an ARN). */
bool bb_policy_allows(const struct bb_policy *policy, const char *action, const char *resource);

/* Whether text matches pattern (* any run, ? one character), without recursion. */
bool bb_policy_glob(const char *pattern, const char *text, bool ignore_case);

/* Until region and account are configured (issue 15), what ARNs and queue URLs carry. */
#define BB_POLICY_REGION_DEFAULT     "local"
#define BB_POLICY_ACCOUNT_ID_DEFAULT "000000000000"

/* The ARN of an SQS queue, as policies name it (out_bytes long; false if it does not fit). */
bool bb_policy_queue_arn(const char *region, const char *account_id, const char *queue_name,
                         char *out, size_t out_bytes);

#endif
