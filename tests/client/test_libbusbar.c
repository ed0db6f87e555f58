/*
 * libbusbar's transport against a fake server on loopback: a lost request is
 * retried with the same request id, stray replies are ignored, and a server
 * that never answers gives -ETIMEDOUT after the configured attempts.
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bb_limits.h"
#include "busbar.h"

struct fake_server {
	int fd;
	uint16_t port;
	int ignore_first; /* requests to drop before answering */
	int stray_first;  /* send a reply with the wrong request id first */
	int seen;
	uint64_t request_ids[8];
};

static void *serve(void *arg)
{
	struct fake_server *s = arg;
	uint8_t buf[65536];
	struct sockaddr_in from;
	socklen_t from_bytes = sizeof(from);
	struct timeval tv = {.tv_sec = 3};
	setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (s->seen < 8) {
		ssize_t n =
		    recvfrom(s->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &from_bytes);
		if (n <= 0)
			return NULL;
		struct wire_header h;
		cr_assert_eq(wire_header_decode(buf, (size_t)n, &h), WIRE_OK);
		s->request_ids[s->seen++] = h.request_id;
		if (s->seen <= s->ignore_first)
			continue;
		h.flags = WIRE_FLAG_RESPONSE;
		h.body_bytes = 0;
		if (s->stray_first) {
			struct wire_header stray = h;
			stray.request_id = h.request_id + 1000;
			wire_header_encode(&stray, buf);
			sendto(s->fd, buf, BB_WIRE_HEADER_BYTES, 0, (struct sockaddr *)&from,
			       from_bytes);
		}
		wire_header_encode(&h, buf);
		sendto(s->fd, buf, BB_WIRE_HEADER_BYTES, 0, (struct sockaddr *)&from, from_bytes);
	}
	return NULL;
}

static struct bb_client *start(struct fake_server *s, pthread_t *thread, uint32_t attempts)
{
	s->fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in addr = {.sin_family = AF_INET,
	                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	cr_assert_eq(bind(s->fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	socklen_t length = sizeof(addr);
	getsockname(s->fd, (struct sockaddr *)&addr, &length);
	s->port = ntohs(addr.sin_port);
	pthread_create(thread, NULL, serve, s);
	struct bb_client_options o = {.server_ip = "127.0.0.1",
	                              .server_port = s->port,
	                              .timeout_ms = 500,
	                              .attempts = attempts}; /* ample on a loaded machine */
	int rc;
	struct bb_client *c = bb_client_open(&o, &rc);
	cr_assert_not_null(c);
	return c;
}

Test(libbusbar, a_lost_request_is_retried_with_the_same_request_id)
{
	struct fake_server s = {.ignore_first = 1};
	pthread_t thread;
	struct bb_client *c = start(&s, &thread, 3);
	uint64_t expected = bb_client_next_request_id(c);
	cr_assert_eq(bb_ping(c), 0);
	cr_assert_eq(s.seen, 2, "one lost attempt, one answered");
	cr_assert_eq(s.request_ids[0], expected);
	cr_assert_eq(s.request_ids[1], expected, "the retry reuses the request id");
	cr_assert_eq(bb_ping(c), 0);
	cr_assert_eq(s.request_ids[2], expected + 1, "the next call has a new id");
	bb_client_close(c);
	close(s.fd);
	pthread_join(thread, NULL);
}

Test(libbusbar, replies_to_other_requests_are_ignored)
{
	struct fake_server s = {.stray_first = 1};
	pthread_t thread;
	struct bb_client *c = start(&s, &thread, 1);
	cr_assert_eq(bb_ping(c), 0, "the stray reply did not complete the call");
	bb_client_close(c);
	close(s.fd);
	pthread_join(thread, NULL);
}

Test(libbusbar, no_answer_times_out_after_every_attempt)
{
	struct fake_server s = {.ignore_first = 8};
	pthread_t thread;
	struct bb_client *c = start(&s, &thread, 3);
	cr_assert_eq(bb_ping(c), -ETIMEDOUT);
	cr_assert_eq(s.seen, 3, "three attempts");
	cr_assert_neq(strstr(bb_client_error(c), "no reply"), NULL);
	bb_client_close(c);
	close(s.fd);
	pthread_join(thread, NULL);
}

Test(libbusbar, requests_over_the_udp_limit_are_refused_before_sending)
{
	struct fake_server s = {.ignore_first = 8};
	pthread_t thread;
	struct bb_client *c = start(&s, &thread, 1);
	static char body[BB_UDP_PAYLOAD_BYTES_MAX];
	struct bb_sent sent;
	cr_assert_eq(bb_send_message(c, "q", body, sizeof(body), &sent), -EMSGSIZE);
	cr_assert_eq(s.seen, 0);
	bb_client_close(c);
	close(s.fd);
	pthread_join(thread, NULL);
}
