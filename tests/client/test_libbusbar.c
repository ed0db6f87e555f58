/*
 * libbusbar's transport against a fake server on loopback: a lost request is
 * retried with the same request id; stray replies (another request id or
 * client id, carrying an error) are ignored; a server that never answers gives
 * -ETIMEDOUT after the configured attempts; a receive whose wait is left to
 * the queue is retransmitted for as long as a long poll may last; a receive
 * answered RetryWithCookie is sent again with the cookie, which later receives
 * carry from the start; a request busbard could not reassemble is refused
 * before sending; a local-socket call whose connection busbard closed is made
 * again on a new connection.
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "bb_limits.h"
#include "busbar.h"

#define FAKE_REQUESTS_MAX 32

struct fake_server {
	int fd;
	uint16_t port;
	int ignore_first; /* requests to drop before answering */
	int stray_first;  /* first send error replies with another request id and client id */
	bool cookies;     /* answer receives without cookie 0xc00c1e RetryWithCookie */
	int seen;
	uint64_t request_ids[FAKE_REQUESTS_MAX];
	uint64_t cookies_seen[FAKE_REQUESTS_MAX]; /* 0: the request had none */
};

#define FAKE_COOKIE 0xc00c1eull

static uint64_t cookie_of(const uint8_t *request, const struct wire_header *h)
{
	struct wire_reader r;
	struct wire_field f;
	uint64_t cookie = 0;
	wire_reader_init(&r, request + BB_WIRE_HEADER_BYTES, h->body_bytes);
	while (wire_reader_next(&r, &f) == 1) {
		if (f.tag == WIRE_TAG_COOKIE)
			cr_assert(wire_field_u64(&f, &cookie));
	}
	return cookie;
}

static void reply(struct fake_server *s, struct wire_header h, const struct sockaddr_in *to,
                  const uint8_t *body, uint32_t body_bytes)
{
	uint8_t datagram[256];
	h.flags = WIRE_FLAG_RESPONSE;
	h.body_bytes = body_bytes;
	wire_header_encode(&h, datagram);
	cr_assert_leq(body_bytes, sizeof(datagram) - BB_WIRE_HEADER_BYTES);
	if (body_bytes > 0) /* memcpy from NULL is undefined even for 0 bytes (UBSan halts) */
		memcpy(datagram + BB_WIRE_HEADER_BYTES, body, body_bytes);
	sendto(s->fd, datagram, BB_WIRE_HEADER_BYTES + body_bytes, 0, (const struct sockaddr *)to,
	       sizeof(*to));
}

/* Replies that are not for the request h: both carry an error the client must not report. */
static void reply_stray(struct fake_server *s, struct wire_header h, const struct sockaddr_in *to)
{
	h.status = WIRE_ERR_INTERNAL;
	h.request_id += 1000;
	reply(s, h, to, NULL, 0);
	h.request_id -= 1000;
	h.client_id ^= 1;
	reply(s, h, to, NULL, 0);
}

static void *serve(void *arg)
{
	struct fake_server *s = arg;
	static uint8_t buf[65536];
	struct sockaddr_in from;
	socklen_t from_bytes = sizeof(from);
	struct timeval tv = {.tv_sec = 3};
	setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (s->seen < FAKE_REQUESTS_MAX) {
		ssize_t n =
		    recvfrom(s->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &from_bytes);
		if (n <= 0)
			return NULL;
		struct wire_header h;
		cr_assert_eq(wire_header_decode(buf, (size_t)n, &h), WIRE_OK);
		s->cookies_seen[s->seen] = cookie_of(buf, &h);
		s->request_ids[s->seen++] = h.request_id;
		if (s->seen <= s->ignore_first)
			continue;
		if (s->stray_first)
			reply_stray(s, h, &from);
		bool no_cookie = s->cookies_seen[s->seen - 1] != FAKE_COOKIE;
		if (s->cookies && h.opcode == WIRE_OP_RECEIVE_MESSAGE && no_cookie) {
			uint8_t field[WIRE_FIELD_HEADER_BYTES + 8];
			struct wire_writer w;
			wire_writer_init(&w, field, sizeof(field));
			wire_put_u64(&w, WIRE_TAG_COOKIE, FAKE_COOKIE);
			h.status = WIRE_RETRY_WITH_COOKIE;
			reply(s, h, &from, field, sizeof(field));
			continue;
		}
		reply(s, h, &from, NULL, 0);
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
	/* The strays come first and say InternalFailure: taking one fails the call. */
	cr_assert_eq(bb_ping(c), 0, "a stray reply completed the call");
	cr_assert_eq(s.seen, 1, "answered by the reply to its own request");
	bb_client_close(c);
	close(s.fd);
	pthread_join(thread, NULL);
}

Test(libbusbar, no_answer_times_out_after_every_attempt)
{
	struct fake_server s = {.ignore_first = FAKE_REQUESTS_MAX};
	pthread_t thread;
	struct bb_client *c = start(&s, &thread, 3);
	cr_assert_eq(bb_ping(c), -ETIMEDOUT);
	cr_assert_eq(s.seen, 3, "three attempts");
	cr_assert_neq(strstr(bb_client_error(c), "no reply"), NULL);
	bb_client_close(c);
	close(s.fd);
	pthread_join(thread, NULL);
}

/* Before: a body of 11,800 bytes was sent, dropped by busbard, and timed out after 3 s. */
Test(libbusbar, requests_busbard_cannot_reassemble_are_refused_before_sending)
{
	struct fake_server s = {.ignore_first = FAKE_REQUESTS_MAX};
	pthread_t thread;
	struct bb_client *c = start(&s, &thread, 1);
	/* The largest body: the request is header, queue "q", body and room for a cookie. */
	size_t largest = BB_UDP_REQUEST_BYTES_MAX - BB_WIRE_HEADER_BYTES -
	                 (WIRE_FIELD_HEADER_BYTES + 1) - WIRE_FIELD_HEADER_BYTES -
	                 (WIRE_FIELD_HEADER_BYTES + 8);
	static char body[BB_UDP_REQUEST_BYTES_MAX];
	struct bb_sent sent;
	cr_assert_eq(bb_send_message(c, "q", body, largest + 1, &sent), -EMSGSIZE);
	cr_assert_eq(s.seen, 0, "nothing was sent");
	cr_assert_neq(strstr(bb_client_error(c), "exceeds the UDP limit"), NULL, "%s",
	              bb_client_error(c));
	cr_assert_eq(bb_send_message(c, "q", body, 11800, &sent), -EMSGSIZE, "the issue's size");
	cr_assert_eq(bb_send_message(c, "q", body, largest, &sent), -ETIMEDOUT, "this is sent");
	cr_assert_eq(s.seen, 1);
	bb_client_close(c);
	close(s.fd);
	pthread_join(thread, NULL);
}

static const struct bb_receive_options queue_wait = {.max_messages = 1,
                                                     .visibility_timeout_s = -1,
                                                     .wait_time_s = -1};

/*
 * Defect 7: `receive lp` on a queue with ReceiveMessageWaitTimeSeconds 10 gave up after
 * attempts x timeout_ms while busbard still held the long poll. The fake server answers
 * only the sixth copy; with 2 attempts of 100 ms the call must go on retransmitting.
 */
Test(libbusbar, a_receive_left_to_the_queue_waits_as_long_as_a_long_poll_may_last)
{
	struct fake_server s = {.ignore_first = 5};
	pthread_t thread;
	struct bb_client *c = start(&s, &thread, 2);
	struct bb_message m[BB_RECEIVE_COUNT_MAX];
	uint32_t count;
	cr_assert_eq(bb_receive_message(c, "q", &queue_wait, m, &count), 0, "%s",
	             bb_client_error(c));
	cr_assert_eq(s.seen, 6);
	for (int i = 1; i < 6; i++)
		cr_assert_eq(s.request_ids[i], s.request_ids[0], "every copy is the same request");
	bb_client_close(c);
	close(s.fd);
	pthread_join(thread, NULL);
}

Test(libbusbar, a_receive_is_sent_again_with_the_cookie_and_later_ones_carry_it)
{
	struct fake_server s = {.cookies = true};
	pthread_t thread;
	struct bb_client *c = start(&s, &thread, 1);
	struct bb_receive_options o = {.max_messages = 1, .visibility_timeout_s = -1,
	                               .wait_time_s = 0};
	struct bb_message m[BB_RECEIVE_COUNT_MAX];
	uint32_t count;
	cr_assert_eq(bb_receive_message(c, "q", &o, m, &count), 0, "%s", bb_client_error(c));
	cr_assert_eq(s.seen, 2, "RetryWithCookie, then the request with the cookie");
	cr_assert_eq(s.cookies_seen[0], 0);
	cr_assert_eq(s.cookies_seen[1], FAKE_COOKIE);
	cr_assert_eq(s.request_ids[1], s.request_ids[0], "the same request id");
	cr_assert_eq(bb_receive_message(c, "q", &o, m, &count), 0);
	cr_assert_eq(s.seen, 3, "the cookie is kept for the next receive");
	cr_assert_eq(s.cookies_seen[2], FAKE_COOKIE);
	cr_assert_eq(bb_ping(c), 0);
	cr_assert_eq(s.cookies_seen[3], 0, "only receives carry it");
	bb_client_close(c);
	close(s.fd);
	pthread_join(thread, NULL);
}

/* A local socket whose first connection is closed after its request is read, as busbard
 * closes an idle one; the second connection is answered. */
struct fake_local {
	int listen_fd;
	int requests;
};

static void *serve_local(void *arg)
{
	struct fake_local *f = arg;
	for (int connection = 0; connection < 2; connection++) {
		int fd = accept(f->listen_fd, NULL, NULL);
		if (fd < 0)
			return NULL;
		uint8_t request[BB_WIRE_HEADER_BYTES];
		if (recv(fd, request, sizeof(request), MSG_WAITALL) == (ssize_t)sizeof(request)) {
			f->requests++;
			struct wire_header h;
			cr_assert_eq(wire_header_decode(request, sizeof(request), &h), WIRE_OK);
			h.flags = WIRE_FLAG_RESPONSE;
			wire_header_encode(&h, request);
			ssize_t sent = connection == 1 ? send(fd, request, sizeof(request), 0) : 0;
			cr_assert_eq(sent, connection == 1 ? (ssize_t)sizeof(request) : 0);
		}
		close(fd);
	}
	return NULL;
}

Test(libbusbar, a_local_call_on_a_closed_connection_is_made_on_a_new_one)
{
	char path[] = "/tmp/busbar-libtest.XXXXXX";
	cr_assert_not_null(mkdtemp(path));
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/s", path);
	struct fake_local f = {.listen_fd = socket(AF_UNIX, SOCK_STREAM, 0)};
	cr_assert_eq(bind(f.listen_fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	cr_assert_eq(listen(f.listen_fd, 4), 0);
	pthread_t thread;
	pthread_create(&thread, NULL, serve_local, &f);
	struct bb_client_options o = {.unix_socket = addr.sun_path, .timeout_ms = 2000};
	int rc;
	struct bb_client *c = bb_client_open(&o, &rc);
	cr_assert_not_null(c);
	cr_assert_eq(bb_ping(c), 0, "%s", bb_client_error(c));
	cr_assert_eq(f.requests, 2, "sent once on each connection");
	bb_client_close(c);
	pthread_join(thread, NULL);
	close(f.listen_fd);
	unlink(addr.sun_path);
	rmdir(path);
}
