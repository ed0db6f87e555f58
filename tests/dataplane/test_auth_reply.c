/*
 * Signed replies as libbusbar sees them (docs/protocol.md, "Authentication"): a fake
 * busbard on loopback answers the library's UDP Ping the way busbard's dp_send_reply
 * does (dp_auth_sign_reply with the request's key), or with damaged, unsigned or
 * wrongly keyed replies. A client with a key takes only a reply whose MAC verifies:
 * every bit of header and body flipped is refused (-EBADMSG, never a success), and so
 * is an unsigned success; busbard's unsigned refusals of a signature come back as their
 * status. Without a key, unsigned replies are taken as before.
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bb_mac.h"
#include "busbar.h"
#include "dp_auth.h"

#define KEY_ID           3u
#define REPLY_BODY_BYTES 16u /* one field of 10 bytes: the body's bits get flipped too */
#define REPLY_BYTES      (BB_WIRE_HEADER_BYTES + REPLY_BODY_BYTES)
#define REPLY_BITS       (REPLY_BYTES * 8)
#define FLIPS_PER_ANSWER 64u /* flipped copies sent per request: within a socket buffer */
#define SERVER_POLL_MS   5000 /* the fake server gives up when no request comes */
#define MAC_FIRST_BIT    (WIRE_MAC_OFFSET * 8u)
#define MAC_END_BIT      ((WIRE_MAC_OFFSET + WIRE_MAC_BYTES) * 8u)

enum answer { SIGNED, FLIPPED, UNSIGNED_OK, UNSIGNED_REFUSAL, OTHER_KEY };

static const char secret[] = "AAAAAAAAAABBBBBBBBBBCCCCCCCCCCDDDDDDDDDD";
static const char other_secret[] = "0123456789012345678901234567890123456789";
static char access_key_id[BB_ACCESS_KEY_ID_BYTES + 1];

struct server {
	int fd;
	uint16_t port;
	enum answer answer;
	uint32_t first_bit; /* FLIPPED: this bit and the next FLIPS_PER_ANSWER - 1 */
	uint32_t requests;  /* answered */
	pthread_t thread;
	struct dp_auth auth;
};

static struct server server;

/* The reply busbard would send: the request's ids, response flag, a small body. */
static void build_reply(const uint8_t *request, uint16_t status, uint8_t *out)
{
	struct wire_header h;
	cr_assert_eq(wire_header_decode(request, BB_WIRE_HEADER_BYTES, &h), WIRE_OK);
	h.flags = WIRE_FLAG_RESPONSE;
	h.status = status;
	h.key_id = 0;
	h.body_bytes = REPLY_BODY_BYTES;
	memset(h.mac, 0, sizeof(h.mac));
	wire_header_encode(&h, out);
	struct wire_writer w;
	wire_writer_init(&w, out + BB_WIRE_HEADER_BYTES, REPLY_BODY_BYTES);
	wire_put_str(&w, WIRE_TAG_ERROR_MESSAGE, "0123456789");
	cr_assert_eq(w.length, REPLY_BODY_BYTES);
}

static void sign_with(const char *key_secret, uint8_t *reply)
{
	struct dp_auth_key key = {.key_id = KEY_ID};
	memcpy(key.secret, key_secret, BB_KEY_SECRET_BYTES);
	cr_assert_eq(dp_auth_sign_reply(&server.auth, &key, reply, REPLY_BYTES), 0);
}

static void answer(const uint8_t *request, const struct sockaddr_in *to)
{
	uint8_t reply[REPLY_BYTES];
	uint32_t copies = server.answer == FLIPPED ? FLIPS_PER_ANSWER : 1;
	for (uint32_t i = 0; i < copies && server.first_bit + i < REPLY_BITS; i++) {
		uint16_t status = server.answer == UNSIGNED_REFUSAL
		                      ? WIRE_ERR_SIGNATURE_DOES_NOT_MATCH
		                      : WIRE_OK;
		build_reply(request, status, reply);
		if (server.answer == SIGNED || server.answer == FLIPPED)
			sign_with(secret, reply);
		if (server.answer == OTHER_KEY)
			sign_with(other_secret, reply);
		if (server.answer == FLIPPED) {
			uint32_t bit = server.first_bit + i;
			reply[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		}
		cr_assert_eq(sendto(server.fd, reply, sizeof(reply), 0, (const void *)to,
		                    sizeof(*to)),
		             (ssize_t)sizeof(reply));
	}
	server.requests++;
}

/* Answers every datagram until none comes for SERVER_POLL_MS or the socket is shut. */
static void *serve(void *unused)
{
	(void)unused;
	uint8_t request[2048];
	struct pollfd p = {.fd = server.fd, .events = POLLIN};
	while (poll(&p, 1, SERVER_POLL_MS) == 1) {
		struct sockaddr_in from;
		socklen_t from_bytes = sizeof(from);
		ssize_t n = recvfrom(server.fd, request, sizeof(request), 0, (void *)&from,
		                     &from_bytes);
		if (n < (ssize_t)BB_WIRE_HEADER_BYTES)
			break;
		answer(request, &from);
	}
	return NULL;
}

static void setup(void)
{
	memset(&server, 0, sizeof(server));
	struct dp_auth_options o;
	dp_auth_options_default(&o);
	cr_assert_eq(dp_auth_init(&server.auth, &o), 0);
	memcpy(access_key_id, "BB", 2);
	bb_access_key_id_put(KEY_ID, access_key_id + 2);
	memset(access_key_id + 2 + BB_ACCESS_KEY_ID_DIGITS, 'Q',
	       BB_ACCESS_KEY_ID_BYTES - 2 - BB_ACCESS_KEY_ID_DIGITS);
	access_key_id[BB_ACCESS_KEY_ID_BYTES] = '\0';
	server.fd = socket(AF_INET, SOCK_DGRAM, 0);
	cr_assert_geq(server.fd, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	cr_assert_eq(bind(server.fd, (void *)&a, sizeof(a)), 0);
	socklen_t a_bytes = sizeof(a);
	cr_assert_eq(getsockname(server.fd, (void *)&a, &a_bytes), 0);
	server.port = ntohs(a.sin_port);
}

static void teardown(void)
{
	shutdown(server.fd, SHUT_RDWR);
	close(server.fd);
	dp_auth_free(&server.auth);
}

TestSuite(auth_reply, .init = setup, .fini = teardown);

static struct bb_client *client(bool with_key)
{
	struct bb_client_options o = {.server_ip = "127.0.0.1",
	                              .server_port = server.port,
	                              .timeout_ms = 300,
	                              .attempts = 2};
	if (with_key) {
		o.access_key_id = access_key_id;
		o.secret_access_key = secret;
	}
	int rc;
	struct bb_client *c = bb_client_open(&o, &rc);
	cr_assert_not_null(c, "open: %d", rc);
	return c;
}

/* Runs the fake server for one call of the client's Ping. */
static int ping_answered(struct bb_client *c, enum answer how)
{
	server.answer = how;
	cr_assert_eq(pthread_create(&server.thread, NULL, serve, NULL), 0);
	int rc = bb_ping(c);
	shutdown(server.fd, SHUT_RD); /* ends the server's wait at once */
	pthread_join(server.thread, NULL);
	return rc;
}

Test(auth_reply, a_reply_signed_with_the_key_is_taken)
{
	struct bb_client *c = client(true);
	cr_assert_eq(ping_answered(c, SIGNED), 0, "%s", bb_client_error(c));
	bb_client_close(c);
}

Test(auth_reply, every_flipped_bit_is_refused)
{
	struct bb_client *c = client(true);
	for (uint32_t first = 0; first < REPLY_BITS; first += FLIPS_PER_ANSWER) {
		server.first_bit = first;
		/* Had any copy been believed the call would have ended with it (0 or a status). */
		int rc = ping_answered(c, FLIPPED);
		/* A reply whose header no longer decodes or names other ids is not this call's
		 * at all (ignored, not counted); one that is ours fails its MAC. */
		cr_assert(rc == -EBADMSG || rc == -ETIMEDOUT, "bits %u-%u: %d %s", first,
		          first + FLIPS_PER_ANSWER - 1, rc, bb_client_error(c));
		bool mac_or_body = (first >= MAC_FIRST_BIT && first < MAC_END_BIT) ||
		                   first >= BB_WIRE_HEADER_BYTES * 8;
		if (mac_or_body)
			cr_assert_eq(rc, -EBADMSG, "bits %u-%u", first, first + FLIPS_PER_ANSWER - 1);
		/* The socket was shut to stop the server: a new one for the next round. */
		teardown();
		setup();
		bb_client_close(c);
		c = client(true);
	}
	bb_client_close(c);
}

Test(auth_reply, an_unsigned_success_is_refused)
{
	struct bb_client *c = client(true);
	cr_assert_eq(ping_answered(c, UNSIGNED_OK), -EBADMSG);
	cr_assert(strstr(bb_client_error(c), "without a valid MAC") != NULL);
	bb_client_close(c);
}

Test(auth_reply, a_reply_signed_with_another_key_is_refused)
{
	struct bb_client *c = client(true);
	cr_assert_eq(ping_answered(c, OTHER_KEY), -EBADMSG);
	bb_client_close(c);
}

Test(auth_reply, an_unsigned_refusal_of_the_signature_is_its_status)
{
	struct bb_client *c = client(true);
	cr_assert_eq(ping_answered(c, UNSIGNED_REFUSAL), WIRE_ERR_SIGNATURE_DOES_NOT_MATCH);
	bb_client_close(c);
}

Test(auth_reply, without_a_key_unsigned_replies_are_taken)
{
	struct bb_client *c = client(false);
	cr_assert_eq(ping_answered(c, UNSIGNED_OK), 0, "%s", bb_client_error(c));
	bb_client_close(c);
}
