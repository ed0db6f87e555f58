/*
 * The decisions of busbar-control's HTTP side that need no server, so tests
 * make them directly: which handler a request goes to, and which address the
 * API may listen on (loopback only until requests are authenticated).
 */
#ifndef BB_CTL_HTTP_H
#define BB_CTL_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include <netinet/in.h>

enum ctl_route {
	CTL_ROUTE_SQS,       /* POST / */
	CTL_ROUTE_HEALTH,    /* GET /health */
	CTL_ROUTE_NOT_FOUND, /* anything else */
};

enum ctl_route ctl_http_route(const char *method, const char *url);

/*
 * Parses --listen HOST:PORT. HOST is an IPv4 address or a name that resolves
 * to one. Returns 0, or -EINVAL with what is wrong in error; an address off
 * loopback (127.0.0.0/8) is refused unless allow_any.
 */
__attribute__((warn_unused_result)) int ctl_http_parse_listen(const char *text, bool allow_any,
                                                              struct sockaddr_in *out,
                                                              char *error, size_t error_bytes);

#endif
