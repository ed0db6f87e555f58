/*
 * A data request as the dataplane sees it: header checks, the fields of each
 * opcode with their ranges, and reply framing. Pure byte work, no DPDK, so
 * the same code serves UDP and the Unix socket and is fuzzed directly.
 */
#ifndef BB_DP_REQUEST_H
#define BB_DP_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

struct dp_bytes {
	const uint8_t *data;
	uint32_t length;
	bool present;
};

struct dp_u32 {
	uint32_t value;
	bool present;
};

struct dp_u64 {
	uint64_t value;
	bool present;
};

/* One entry of a batch; status is WIRE_OK unless the parse already failed it alone. */
struct dp_batch_entry {
	struct dp_bytes id;
	struct dp_bytes body;
	struct dp_bytes receipt_handle;
	struct dp_u32 visibility_timeout_s;
	enum wire_status status;
};

struct dp_request {
	struct wire_header header;
	struct dp_bytes queue_name;
	struct dp_bytes body;
	struct dp_bytes receipt_handle;
	struct dp_u32 max_messages;
	struct dp_u32 visibility_timeout_s;
	struct dp_u32 wait_time_s;
	struct dp_u64 cookie; /* UDP receives: proof that the source receives (dp_cookie.h) */
	struct dp_bytes group_id; /* SendMessage: MessageGroupId */
	struct dp_bytes dedup_id; /* SendMessage: MessageDeduplicationId */
	const char *error;    /* why the status is not WIRE_OK */
	/* Batches: kept last, so a request that is not one zeroes none of the entries. */
	uint32_t entry_count;
	struct dp_batch_entry entries[WIRE_BATCH_ENTRIES_MAX];
};

/*
 * Checks the header and the fields of a data request (not control opcodes).
 * Returns WIRE_OK or the status to reply with, with out->error set. When the
 * bytes are not a busbar request at all (too short, wrong magic) it returns
 * WIRE_ERR_MALFORMED with header.request_id 0: callers drop those silently.
 */
__attribute__((warn_unused_result)) enum wire_status
dp_request_parse(const uint8_t *bytes, size_t length, struct dp_request *out);

/*
 * A digest of what the request asks for: its opcode and every field but the
 * cookie, which a client may renew between attempts. The retry window keeps
 * it to tell a retry from a different request that reuses a request id.
 */
uint64_t dp_request_digest(const struct dp_request *req);

/* True when a reply can be addressed: the header decoded far enough. */
bool dp_request_is_answerable(const uint8_t *bytes, size_t length);

/* Starts a reply in buf: the body goes to the returned writer's buffer. */
void dp_reply_begin(struct wire_writer *writer, uint8_t *buf, size_t capacity);
/* Writes the reply header for request; returns the reply's total length. */
size_t dp_reply_finish(struct wire_writer *writer, const struct wire_header *request,
                       enum wire_status status);
/* A complete error reply with a message. Returns its length. */
size_t dp_reply_error(uint8_t *buf, size_t capacity, const struct wire_header *request,
                      enum wire_status status, const char *message);

#endif
