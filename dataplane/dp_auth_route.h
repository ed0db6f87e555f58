/*
 * The lcores' side of authentication (dp_auth.h), with the mbuf and the worker:
 * dp_route calls dp_auth_route before it parses a request and dp_auth_route_permits
 * once it knows the queue; the owner calls dp_auth_route_replay_forgotten when its
 * retry window does not know a request, and dp_send_reply sends what
 * dp_auth_route_signed gives. Requests from the local socket pass: their guard is the
 * socket file's mode (docs/operations.md).
 *
 * What routing learnt travels with the request's mbuf to its owner in a dynamic mbuf
 * field (registered by dp_auth_setup): the key that verified it, and whether its request
 * id was seen before. Only the verified key ever signs a reply, so busbard never MACs
 * bytes for a sender who could not.
 */
#ifndef BB_DP_AUTH_ROUTE_H
#define BB_DP_AUTH_ROUTE_H

#include <stdbool.h>
#include <stdint.h>

#include "dp_auth.h"
#include "dp_worker_int.h"

/*
 * True: the request goes on (out->key is the verified key, NULL from the local socket or
 * in mode none). False: it was answered here with its refusal, or dropped, and freed.
 */
bool dp_auth_route(struct dp_worker *w, struct rte_mbuf *m, const uint8_t *bytes, uint32_t length,
                   const struct dp_snapshot *snapshot, uint64_t now_ms, struct dp_auth_result *out);

/* True when the verified key may run the request on its queue; else answered AccessDenied. */
bool dp_auth_route_permits(struct dp_worker *w, struct rte_mbuf *m, const uint8_t *bytes,
                           uint32_t length, const struct dp_request *req,
                           const struct dp_auth_result *auth);

/*
 * The key id whose MAC verified the request: its principal, which the retry window keys
 * its entries by. 0 when none did (the local socket, mode none, a request not yet routed).
 */
uint32_t dp_auth_route_key_id(struct rte_mbuf *request);

/*
 * On the owner, for a request its retry window does not know: true when the request is
 * a replay (its id seen by the replay window), which is then counted and dropped, never
 * run a second time (docs/protocol.md, "Replay window").
 */
bool dp_auth_route_replay_forgotten(struct dp_worker *w, struct rte_mbuf *request);

/*
 * The bytes to send as the reply to request: reply itself, or for a request verified
 * with a key a copy signed with it (the MAC over its exact bytes, docs/protocol.md).
 * Valid until the next call on this worker. A RetryWithCookie to a request's first
 * arrival also gives its id back to the replay window (dp_auth_replay_release).
 */
const uint8_t *dp_auth_route_signed(struct dp_worker *w, struct rte_mbuf *request,
                                    const uint8_t *reply, size_t reply_bytes);

#endif
