/*
 * Fuzz target: the AWS API's request side without a server. The input is
 * "<Content-Type>\n<X-Amz-Target or empty>\n<Authorization>\n<body>": the body
 * is parsed in its protocol (form or JSON), rendered back as an answer and as
 * an error, turned into a busbard frame when it is a data call, and the
 * Authorization header is parsed and verified as SigV4. Every request must
 * get an answer; nothing may crash or leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_aws.h"
#include "ctl_aws_data.h"
#include "ctl_sigv4.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LINE_BYTES_MAX 1024u

/* The next line of the input into out (NUL-terminated); false when there is none. */
static bool line(const uint8_t **data, size_t *size, char *out)
{
	const uint8_t *newline = memchr(*data, '\n', *size);
	size_t bytes = newline ? (size_t)(newline - *data) : *size;
	if (newline == NULL || bytes >= LINE_BYTES_MAX || memchr(*data, '\0', bytes) != NULL)
		return false;
	memcpy(out, *data, bytes);
	out[bytes] = '\0';
	*data += bytes + 1;
	*size -= bytes + 1;
	return true;
}

static void sign_check(const char *authorization, const uint8_t *body, size_t body_bytes)
{
	struct ctl_sigv4_pair headers[] = {{"Host", "127.0.0.1:7680"},
	                                   {"X-Amz-Date", "20150830T123600Z"},
	                                   {"Authorization", authorization}};
	struct ctl_sigv4_request r = {.method = "POST",
	                              .path = "/",
	                              .headers = headers,
	                              .header_count = 3,
	                              .payload = body,
	                              .payload_bytes = body_bytes};
	struct ctl_sigv4_auth auth;
	const struct ctl_aws_error *error;
	char message[CTL_AWS_ERROR_BYTES_MAX];
	if (ctl_sigv4_parse(&r, &auth, &error, message, sizeof(message)) != 0)
		return;
	struct ctl_sigv4_expect expect = {
	    .region = "local", .service = "sqs", .now_s = 1440938160, .skew_s = 300};
	if (ctl_sigv4_verify(&r, &auth, "secret", &expect, &error, message, sizeof(message)) == 0)
		abort(); /* a made-up signature never verifies */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char content_type[LINE_BYTES_MAX], target[LINE_BYTES_MAX], authorization[LINE_BYTES_MAX];
	if (!line(&data, &size, content_type) || !line(&data, &size, target) ||
	    !line(&data, &size, authorization))
		return 0;
	sign_check(authorization, data, size);
	struct ctl_aws_request request;
	const struct ctl_aws_error *error = NULL;
	char message[CTL_AWS_ERROR_BYTES_MAX];
	struct ctl_aws_reply reply;
	int rc = ctl_aws_parse(content_type, target[0] ? target : NULL, (const char *)data, size,
	                       NULL, &request, &error, message, sizeof(message));
	if (rc != 0) {
		ctl_aws_render_error(request.protocol, request.service, request.request_id, error,
		                     message, &reply);
	} else {
		ctl_aws_render_result(&request, request.params, &reply);
		struct ctl_aws_config config = {.account_id = "000000000000", .region = "local"};
		struct ctl_aws_data_op op;
		uint8_t *frame = NULL;
		size_t frame_bytes;
		if (request.kind == CTL_AWS_DATA &&
		    ctl_aws_data_encode(&request, &config, &frame, &frame_bytes, &op, &error,
		                        message, sizeof(message)) == 0 &&
		    frame_bytes < BB_WIRE_HEADER_BYTES)
			abort();
		free(frame);
	}
	if (reply.body == NULL || reply.http_status < 200)
		abort(); /* every request gets an answer */
	ctl_aws_reply_clear(&reply);
	ctl_aws_request_clear(&request);
	return 0;
}
