/*
 * The key management API (docs/operations.md, "Keys"): JSON 1.0 calls named by
 * X-Amz-Target "BusbarKeys.<Action>", served by busbar-control over HTTP (SigV4
 * for the service "busbar", each call allowed only by the caller's policy
 * granting "busbar:<Action>", never unauthenticated) and by `busbar-control
 * keys ...` on the database directly (the way to make the first key, and to
 * manage keys while the HTTP API is down).
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

#include "ctl_aws.h"
#include "ctl_keys.h"
#include "ctl_sqs.h"
#include "ctl_store.h"

#define CTL_KEYS_TARGET_PREFIX "BusbarKeys."
#define CTL_KEYS_SIGV4_SERVICE "busbar" /* the credential scope's service, and the actions' */

/* Whether an X-Amz-Target names this API. */
bool ctl_keys_api_handles(const char *target);
/* Whether action (the target's part after the dot) is one of the five calls. */
bool ctl_keys_api_known(const char *action);

/*
 * Whether a caller may make a key call (action "CreateKey", params its JSON body):
 * its key's policy must allow "busbar:<Action>" on the key the call names,
 * "arn:aws:busbar:REGION:ACCOUNT:key/ACCESS_KEY_ID", or for CreateKey and ListKeys
 * on every key: the resource is then "key/" and a literal "*", which only a grant on
 * every key's pattern matches. key NULL is an
 * unauthenticated request (--insecure-no-auth), always refused: nobody mints keys
 * over the network without one. False with AWS's AccessDenied message.
 */
bool ctl_keys_api_allowed(const struct ctl_key *key, const char *action, json_t *params,
                          const struct ctl_aws_config *config, char *message,
                          size_t message_bytes);

/* Runs one call; out->body is the caller's to free. The caller holds the store's lock. */
void ctl_keys_api_handle(struct ctl_store *store, const char *target, const char *request,
                         size_t request_bytes, int64_t now_s, struct ctl_sqs_result *out);

/* `busbar-control keys COMMAND ...`: the same calls on the database at --db. Exit code. */
int ctl_keys_main(int argc, char **argv);

#endif
