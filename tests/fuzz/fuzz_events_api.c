/*
 * Fuzz target: busbar-control's EventBridge management handler (ctl_events.c)
 * against an in-memory store with a standard and a FIFO queue, so targets,
 * dead-letter queues and group ids reach the store too. The input is
 * "<X-Amz-Target>\n<body>" (JSON 1.1). Every request must get an answer, and
 * the store's content must stay encodable as a snapshot busbard can decode;
 * the store's limits keep it bounded across runs.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_events.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ctl_store *open_store(void)
{
	char error[256];
	struct ctl_store *store = ctl_store_open(":memory:", error, sizeof(error));
	struct ctl_queue q = {
	    .name = "q", .visibility_timeout_s = 30, .maximum_message_bytes = 1024};
	struct ctl_queue f = {.name = "f.fifo",
	                      .visibility_timeout_s = 30,
	                      .maximum_message_bytes = 1024,
	                      .fifo = true,
	                      .content_based_deduplication = true};
	struct ctl_queue existing;
	if (store == NULL || ctl_store_create_queue(store, &q, &existing) != 0 ||
	    ctl_store_create_queue(store, &f, &existing) != 0)
		abort();
	return store;
}

static void on_entry(void *context, const struct bb_snapshot_entry *entry)
{
	(void)context;
	(void)entry;
}

/* What the store holds is a snapshot busbard takes (every name and field in range). */
static void check_snapshot(struct ctl_store *store)
{
	uint8_t *body;
	size_t bytes;
	uint64_t version;
	struct bb_snapshot_header header;
	char error[256];
	if (ctl_store_snapshot(store, false, &body, &bytes, &version) != 0)
		abort();
	if (bb_snapshot_decode(body, bytes, &header, on_entry, NULL, error, sizeof(error)) !=
	    WIRE_OK)
		abort();
	free(body);
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
	struct ctl_events_context context = {
	    .store = store, .account_id = "000000000000", .region = "local"};
	struct ctl_sqs_result result;
	ctl_events_handle(&context, target, body, body_bytes, &result);
	if (result.body == NULL || result.http_status == 0)
		abort(); /* every request gets an answer */
	json_decref(result.body);
	if (result.changed)
		check_snapshot(store);
	return 0;
}
