/*
 * Fuzz target: busbar-control's SQS JSON 1.0 handler against an in-memory
 * store. The input is "<X-Amz-Target>\n<body>".
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_sqs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ctl_store *store;
	char error[256];
	if (store == NULL)
		store = ctl_store_open(":memory:", error, sizeof(error));
	if (store == NULL)
		abort();
	const uint8_t *newline = memchr(data, '\n', size);
	size_t target_bytes = newline ? (size_t)(newline - data) : size;
	char target[128];
	if (target_bytes >= sizeof(target))
		return 0;
	memcpy(target, data, target_bytes);
	target[target_bytes] = '\0';
	const char *body = newline ? (const char *)newline + 1 : "";
	size_t body_bytes = newline ? size - target_bytes - 1 : 0;
	struct ctl_sqs_context context = {.store = store, .base_url = "http://127.0.0.1:7680"};
	struct ctl_sqs_result result;
	ctl_sqs_handle(&context, target, body, body_bytes, &result);
	if (result.body == NULL || result.http_status == 0)
		abort(); /* every request gets an answer */
	json_decref(result.body);
	return 0;
}
