/*
 * Request routing and the listen address (see ctl_http.h). The API is plain
 * HTTP (the AWS API's requests are signed, not encrypted) and /health and
 * /metrics answer anyone, so it answers on loopback only unless the operator
 * says otherwise in so many words (--insecure-listen-any).
 */
#include "ctl_http.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HOST_BYTES_MAX 256

enum ctl_route ctl_http_route(const char *method, const char *url)
{
	assert(method != NULL && url != NULL);
	bool post = strcmp(method, "POST") == 0, get = strcmp(method, "GET") == 0;
	if (get && strcmp(url, "/health") == 0)
		return CTL_ROUTE_HEALTH;
	if (get && strcmp(url, "/metrics") == 0)
		return CTL_ROUTE_METRICS;
	if (get && strcmp(url, CTL_SIGNING_CERT_URL_PATH) == 0)
		return CTL_ROUTE_SIGNING_CERT;
	/* GET for presigned requests, whose parameters are in the URL (docs/aws-api.md). */
	if ((post || get) && strcmp(url, "/") == 0)
		return CTL_ROUTE_SQS;
	return CTL_ROUTE_NOT_FOUND;
}

int ctl_http_read_signing_cert(const char *path, char *out, size_t capacity,
                               size_t *length_out)
{
	assert(path != NULL && out != NULL && length_out != NULL);
	static const char begin[] = "-----BEGIN CERTIFICATE-----\n";
	static const char end[] = "-----END CERTIFICATE-----\n";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	int rc = fstat(fd, &st) == 0 ? 0 : -errno;
	if (rc == 0 && (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > capacity))
		rc = S_ISREG(st.st_mode) ? -EFBIG : -EUCLEAN;
	ssize_t got = rc == 0 ? read(fd, out, capacity) : 0;
	if (rc == 0 && got < 0)
		rc = -errno;
	close(fd);
	if (rc != 0)
		return rc;
	size_t length = (size_t)got;
	/* One certificate, whole: a file cut short, or a key put there by mistake, is refused. */
	bool framed = length > sizeof(begin) + sizeof(end) &&
	              memcmp(out, begin, sizeof(begin) - 1) == 0 &&
	              memcmp(out + length - (sizeof(end) - 1), end, sizeof(end) - 1) == 0;
	if (!framed || memmem(out + 1, length - 1, "-----BEGIN", 10) != NULL)
		return -EUCLEAN;
	*length_out = length;
	return 0;
}

/* 1-65535 written plainly: no sign, spaces or leading zeros. */
static int parse_port(const char *text, uint16_t *out)
{
	size_t length = strlen(text);
	if (length == 0 || length > 5 || text[0] == '0')
		return -EINVAL;
	uint32_t port = 0;
	for (size_t i = 0; i < length; i++) {
		if (text[i] < '0' || text[i] > '9')
			return -EINVAL;
		port = port * 10 + (uint32_t)(text[i] - '0');
	}
	if (port > 65535)
		return -EINVAL;
	*out = (uint16_t)port;
	return 0;
}

static int resolve(const char *host, struct in_addr *out, char *error, size_t error_bytes)
{
	if (inet_pton(AF_INET, host, out) == 1)
		return 0;
	struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
	struct addrinfo *found = NULL;
	int rc = getaddrinfo(host, NULL, &hints, &found);
	if (rc != 0) {
		snprintf(error, error_bytes, "cannot resolve '%s' to an IPv4 address: %s", host,
		         gai_strerror(rc));
		return -EINVAL;
	}
	*out = ((const struct sockaddr_in *)found->ai_addr)->sin_addr;
	freeaddrinfo(found);
	return 0;
}

int ctl_http_parse_listen(const char *text, bool allow_any, struct sockaddr_in *out, char *error,
                          size_t error_bytes)
{
	assert(text != NULL && out != NULL);
	char host[HOST_BYTES_MAX];
	const char *colon = strrchr(text, ':');
	*out = (struct sockaddr_in){.sin_family = AF_INET};
	if (colon == NULL || colon == text || (size_t)(colon - text) >= sizeof(host)) {
		snprintf(error, error_bytes,
		         "--listen wants HOST:PORT, such as 127.0.0.1:7680; "
		         "got '%s'",
		         text);
		return -EINVAL;
	}
	memcpy(host, text, (size_t)(colon - text));
	host[colon - text] = '\0';
	uint16_t port;
	if (parse_port(colon + 1, &port) != 0) {
		snprintf(error, error_bytes, "--listen %s: the port must be 1-65535", text);
		return -EINVAL;
	}
	out->sin_port = htons(port);
	int rc = resolve(host, &out->sin_addr, error, error_bytes);
	if (rc != 0)
		return rc;
	bool loopback = (ntohl(out->sin_addr.s_addr) >> 24) == 127;
	if (!loopback && !allow_any) {
		snprintf(
		    error, error_bytes,
		    "--listen %s is not a loopback address (127.0.0.0/8): the control API is plain "
		    "HTTP (signed, not encrypted) and /health and /metrics answer anyone; use "
		    "--insecure-listen-any to expose it anyway",
		    text);
		return -EINVAL;
	}
	return 0;
}
