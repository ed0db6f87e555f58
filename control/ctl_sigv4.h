/*
 * AWS Signature Version 4 verification for busbar-control's HTTP API: the
 * Authorization header form and the presigned query form (X-Amz-Signature),
 * the payload hash (and x-amz-content-sha256 when sent), and the clock skew
 * window. Pure: the request is given as its parts, the secret by the caller
 * (ctl_keys_find), so the AWS test vectors run against it directly.
 */
#ifndef BB_CTL_SIGV4_H
#define BB_CTL_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctl_aws.h"

#define CTL_SIGV4_HEADERS_MAX          64u    /* headers of one request we look at */
#define CTL_SIGV4_SIGNED_HEADERS_BYTES 1024u  /* "content-type;host;x-amz-date" */
#define CTL_SIGV4_SCOPE_PART_BYTES     32u    /* a region or service name */
#define CTL_SIGV4_EXPIRES_S_MAX        604800 /* a presigned request lives 7 days at most */
#define CTL_SIGV4_SKEW_S_DEFAULT       300    /* +-5 minutes, as AWS */
#define CTL_SIGV4_HEX_BYTES            64u    /* a SHA-256 in hex */

struct ctl_sigv4_pair {
	const char *name;
	const char *value;
};

struct ctl_sigv4_request {
	const char *method;
	const char *path;                   /* decoded, without the query */
	const struct ctl_sigv4_pair *query; /* decoded URL arguments, any order */
	size_t query_count;
	const struct ctl_sigv4_pair *headers; /* names in any case */
	size_t header_count;
	const uint8_t *payload;
	size_t payload_bytes;
};

/* What the request claims: from Authorization or from the X-Amz-* arguments. */
struct ctl_sigv4_auth {
	bool presigned;
	char access_key_id[64];
	char date[9];      /* YYYYMMDD of the credential scope */
	char amz_date[17]; /* YYYYMMDDTHHMMSSZ */
	char region[CTL_SIGV4_SCOPE_PART_BYTES];
	char service[CTL_SIGV4_SCOPE_PART_BYTES];
	char signed_headers[CTL_SIGV4_SIGNED_HEADERS_BYTES];
	char signature[CTL_SIGV4_HEX_BYTES + 1];
	int64_t expires_s; /* presigned only */
};

/*
 * Reads the claim. 0, or -EINVAL with AWS's error (MissingAuthenticationToken
 * when the request is not signed at all, IncompleteSignature when malformed).
 */
__attribute__((warn_unused_result)) int ctl_sigv4_parse(const struct ctl_sigv4_request *request,
                                                        struct ctl_sigv4_auth *out,
                                                        const struct ctl_aws_error **error,
                                                        char *message, size_t message_bytes);

/*
 * The signature (hex) of the request under secret, with the claim's scope,
 * date and signed headers, and payload_hash (hex, or "UNSIGNED-PAYLOAD").
 */
__attribute__((warn_unused_result)) int ctl_sigv4_signature(const struct ctl_sigv4_request *request,
                                                            const struct ctl_sigv4_auth *auth,
                                                            const char *secret,
                                                            const char *payload_hash,
                                                            char out[CTL_SIGV4_HEX_BYTES + 1]);

struct ctl_sigv4_expect {
	const char *region;  /* the configured region */
	const char *service; /* "sqs", "sns", "events" */
	int64_t now_s;       /* wall clock */
	int64_t skew_s;
};

/*
 * Checks the claim against the secret: scope, time (RequestExpired outside
 * the skew window or past a presigned X-Amz-Expires), payload hash, signature
 * (SignatureDoesNotMatch). 0, or -EACCES with AWS's error.
 */
__attribute__((warn_unused_result)) int
ctl_sigv4_verify(const struct ctl_sigv4_request *request, const struct ctl_sigv4_auth *auth,
                 const char *secret, const struct ctl_sigv4_expect *expect,
                 const struct ctl_aws_error **error, char *message, size_t message_bytes);

/* SHA-256 of data in lower-case hex. */
void ctl_sigv4_sha256_hex(const void *data, size_t bytes, char out[CTL_SIGV4_HEX_BYTES + 1]);

#endif
