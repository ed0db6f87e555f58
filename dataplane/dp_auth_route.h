/*
 * The routing lcore's side of authentication (dp_auth.h), with the mbuf and the
 * worker: dp_route calls dp_auth_route before it parses a request and
 * dp_auth_route_permits once it knows the queue. Requests from the local socket
 * pass: its guard is the socket file's mode (docs/operations.md).
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

#endif
