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

/*
 * libmicrohttpd's limits (docs/operations.md). It polls with epoll, so open
 * connections are bounded by these, not by select's FD_SETSIZE: slow clients
 * (slowloris) fill their own address's share and are closed when idle, while
 * other clients are still served. 512 connections stay within the usual
 * 1,024 descriptors a process may open.
 */
#define CTL_HTTP_CONNECTIONS_MAX        512u
#define CTL_HTTP_CONNECTIONS_PER_IP_MAX 64u
#define CTL_HTTP_TIMEOUT_S_DEFAULT      30u /* idle connections are closed after it */
#define CTL_HTTP_TIMEOUT_S_MAX          3600u

enum ctl_route {
	CTL_ROUTE_SQS,       /* the AWS API: POST /, or GET / (presigned) */
	CTL_ROUTE_HEALTH,    /* GET /health */
	CTL_ROUTE_METRICS,   /* GET /metrics */
	CTL_ROUTE_SIGNING_CERT, /* GET /sns-signing.pem: busbard's SNS signing certificate */
	CTL_ROUTE_NOT_FOUND, /* anything else */
};

enum ctl_route ctl_http_route(const char *method, const char *url);

/*
 * The SNS envelope's SigningCertURL is busbard's control_url followed by this path (busbard
 * names it after its file, dp_sign.h's DP_SIGN_CERT_FILE). busbar-control serves the file
 * busbard made, <busbard's state_dir>/sns-signing.pem, from --sns-signing-cert PATH.
 */
#define CTL_SIGNING_CERT_URL_PATH     "/sns-signing.pem"
#define CTL_SIGNING_CERT_PATH_DEFAULT "/var/lib/busbar/sns-signing.pem" /* busbard's default */
#define CTL_SIGNING_CERT_BYTES_MAX    16384u

/*
 * Reads the certificate at path into out (no NUL): 0 with *length_out; -ENOENT when busbard
 * has not made it yet, -EFBIG over capacity, -EUCLEAN when it is not one PEM certificate
 * (only a certificate is ever served from there, never a key), or the read's -errno.
 */
__attribute__((warn_unused_result)) int ctl_http_read_signing_cert(const char *path, char *out,
                                                                   size_t capacity,
                                                                   size_t *length_out);

/*
 * Parses --listen HOST:PORT. HOST is an IPv4 address or a name that resolves
 * to one. Returns 0, or -EINVAL with what is wrong in error; an address off
 * loopback (127.0.0.0/8) is refused unless allow_any.
 */
__attribute__((warn_unused_result)) int ctl_http_parse_listen(const char *text, bool allow_any,
                                                              struct sockaddr_in *out, char *error,
                                                              size_t error_bytes);

#endif
