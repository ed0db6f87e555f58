/*
 * Fuzz target: busbar-control's SNS management handler (ctl_sns.c) against an
 * in-memory store with one queue, so sqs subscriptions and redrive policies
 * reach the store too. The input is "<X-Amz-Target>\n<body>"; the body is the
 * JSON shape, query-form keys (Attributes.entry.N.key ...) included. Every
 * request must get an answer; the store's limits keep it bounded across runs.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_sns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ctl_store *open_store(void)
{
	char error[256];
	struct ctl_store *store = ctl_store_open(":memory:", error, sizeof(error));
	struct ctl_queue q = {.name = "inbox", .visibility_timeout_s = 30,
	                      .maximum_message_bytes = 1024};
	struct ctl_queue existing;
	if (store == NULL || ctl_store_create_queue(store, &q, &existing) != 0)
		abort();
	return store;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ctl_store *store;
	if (store == NULL)
		store = open_store();
	const uint8_t *newline = memchr(data, '\n', size);
	size_t target_bytes = newline ? (size_t)(newline - data) : size;
	char target[128];
	if (target_bytes >= sizeof(target))
		return 0;
	memcpy(target, data, target_bytes);
	target[target_bytes] = '\0';
	const char *body = newline ? (const char *)newline + 1 : "";
	size_t body_bytes = newline ? size - target_bytes - 1 : 0;
	struct ctl_sns_context context = {
	    .store = store, .account_id = "000000000000", .region = "local"};
	struct ctl_sqs_result result;
	ctl_sns_handle(&context, target, body, body_bytes, &result);
	if (result.body == NULL || result.http_status == 0)
		abort(); /* every request gets an answer */
	json_decref(result.body);
	return 0;
}
