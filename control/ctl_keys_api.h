/*
 * The key management API (docs/operations.md, "Keys"): JSON calls named by
 * X-Amz-Target "BusbarKeys.<Action>", served by busbar-control over HTTP and by
 * `busbar-control keys ...` on the database directly (the way to make the first
 * key, and to manage keys while the HTTP API is down).
 *   CreateKey    {"Policy": POLICY}                   -> the key, secret included
 *   ListKeys     {}                                   -> {"Keys": [...]}, no secrets
 *   RotateKey    {"AccessKeyId": ID, "OverlapSeconds": N (default 86400)} -> the new key
 *   RevokeKey    {"AccessKeyId": ID}                  -> {}
 *   PutKeyPolicy {"AccessKeyId": ID, "Policy": POLICY} -> {}
 * POLICY is a policy document (bb_policy.h) as a JSON object or a string holding one.
 */
#ifndef BB_CTL_KEYS_API_H
#define BB_CTL_KEYS_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctl_sqs.h"
#include "ctl_store.h"

#define CTL_KEYS_TARGET_PREFIX "BusbarKeys."

/* Whether an X-Amz-Target names this API. */
bool ctl_keys_api_handles(const char *target);

/* Runs one call; out->body is the caller's to free. The caller holds the store's lock. */
void ctl_keys_api_handle(struct ctl_store *store, const char *target, const char *request,
                         size_t request_bytes, int64_t now_s, struct ctl_sqs_result *out);

/* `busbar-control keys COMMAND ...`: the same calls on the database at --db. Exit code. */
int ctl_keys_main(int argc, char **argv);

#endif
