/*
 * libbusbar (see busbar.h). One request in flight per client. Over UDP a
 * call sends the same bytes every timeout_ms until a reply carrying its ids
 * arrives or `attempts` intervals plus the longest the server may hold the
 * request (a long poll) have passed; busbard's retry window answers those
 * retransmits with the first answer. Late replies to earlier requests are
 * ignored. A UDP ReceiveMessage carries the cookie busbard last gave this
 * client: without a valid one busbard answers RetryWithCookie with a cookie,
 * and the call is sent again with it, under the same request id. Over the Unix
 * socket frames are delimited by the header, and a call that finds the
 * connection closed (busbard closes idle ones) is made once more on a new one.
 */
#include "busbar.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "bb_endian.h"
#include "bb_mac.h"

#define FRAME_BYTES_MAX (BB_WIRE_HEADER_BYTES + BB_LOCAL_BODY_BYTES_MAX)
#define COOKIE_FIELD_BYTES (WIRE_FIELD_HEADER_BYTES + 8)
/* RetryWithCookie answers one call follows: a second covers a cookie that expired meanwhile. */
#define COOKIE_ROUNDS_MAX 2u

struct bb_client {
	int fd;
	bool stream; /* Unix socket */
	uint32_t timeout_ms;
	uint32_t attempts;
	uint64_t client_id;
	uint64_t next_request_id;
	uint64_t cookie; /* UDP: from busbard's last RetryWithCookie */
	bool has_cookie;
	char unix_socket[108]; /* the local socket's path, to connect again */
	uint8_t *request;
	uint8_t *reply;
	struct wire_header reply_header;
	struct bb_mac *mac; /* NULL: no key, requests go unsigned */
	uint32_t key_id;
	uint8_t secret[BB_KEY_SECRET_BYTES];
	uint32_t replies_unverified; /* of the current call: ours by ids, not by the MAC */
	size_t request_bytes_used;   /* high-water mark of request: zeroed at close */
	char error[512];
};

static uint64_t random_u64(void)
{
	uint64_t value = 0;
	while (value == 0) { /* 0 means "no client id": never choose it */
		if (getrandom(&value, sizeof(value), 0) != sizeof(value))
			value = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	}
	return value;
}

static int connect_udp(struct bb_client *c, const struct bb_client_options *o)
{
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(o->server_port)};
	if (inet_pton(AF_INET, o->server_ip, &addr.sin_addr) != 1)
		return -EINVAL;
	c->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	int buffer_bytes = 4 << 20; /* a 64 KiB reply arrives as ~45 fragments */
	setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &buffer_bytes, sizeof(buffer_bytes));
	struct sockaddr_in local = {.sin_family = AF_INET, .sin_port = htons(o->local_port)};
	if (o->local_port != 0 && bind(c->fd, (struct sockaddr *)&local, sizeof(local)) != 0)
		return -errno;
	return connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)) == 0 ? 0 : -errno;
}

static int connect_unix(struct bb_client *c, const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	_Static_assert(sizeof(c->unix_socket) == sizeof(addr.sun_path), "a socket path fits");
	if (strlen(path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, path);
	if (path != c->unix_socket)
		strcpy(c->unix_socket, path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	c->stream = true;
	return connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)) == 0 ? 0 : -errno;
}

/* Takes the key of the options, if any: both parts or neither, well formed. */
static int take_key(struct bb_client *c, const struct bb_client_options *o)
{
	if (o->access_key_id == NULL && o->secret_access_key == NULL)
		return 0;
	if (o->access_key_id == NULL || o->secret_access_key == NULL ||
	    !bb_access_key_id_parse(o->access_key_id, &c->key_id) ||
	    strlen(o->secret_access_key) != BB_KEY_SECRET_BYTES)
		return -EINVAL;
	memcpy(c->secret, o->secret_access_key, BB_KEY_SECRET_BYTES);
	c->mac = bb_mac_new();
	return c->mac != NULL ? 0 : -ENOMEM;
}

struct bb_client *bb_client_open(const struct bb_client_options *o, int *error_out)
{
	struct bb_client *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		*error_out = -ENOMEM;
		return NULL;
	}
	c->fd = -1;
	c->timeout_ms = o->timeout_ms ? o->timeout_ms : 1000;
	c->attempts = o->attempts ? o->attempts : 3;
	c->client_id = random_u64();
	c->next_request_id = random_u64() >> 1;
	c->request = malloc(FRAME_BYTES_MAX);
	c->reply = malloc(FRAME_BYTES_MAX);
	int rc = c->request && c->reply ? 0 : -ENOMEM;
	if (rc == 0)
		rc = take_key(c, o);
	if (rc == 0)
		rc = o->unix_socket ? connect_unix(c, o->unix_socket) : connect_udp(c, o);
	if (rc != 0) {
		bb_client_close(c);
		*error_out = rc;
		return NULL;
	}
	*error_out = 0;
	return c;
}

void bb_client_close(struct bb_client *c)
{
	if (c == NULL)
		return;
	if (c->fd >= 0)
		close(c->fd);
	if (c->request != NULL) /* it may have carried secrets (a snapshot's keys) */
		explicit_bzero(c->request, c->request_bytes_used);
	free(c->request);
	free(c->reply);
	bb_mac_free(c->mac);
	explicit_bzero(c->secret, sizeof(c->secret));
	free(c);
}

const char *bb_client_error(const struct bb_client *c)
{
	return c->error;
}

uint64_t bb_client_next_request_id(const struct bb_client *c)
{
	return c->next_request_id;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int wait_readable(int fd, uint64_t deadline_ms)
{
	uint64_t now = now_ms();
	if (now >= deadline_ms)
		return -ETIMEDOUT;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int n = poll(&p, 1, (int)(deadline_ms - now));
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	return n == 0 ? -ETIMEDOUT : 0;
}

/* Reads exactly `bytes` from the stream before the deadline. */
static int read_exact(struct bb_client *c, uint8_t *out, size_t bytes, uint64_t deadline_ms)
{
	size_t got = 0;
	while (got < bytes) {
		int rc = wait_readable(c->fd, deadline_ms);
		if (rc != 0)
			return rc;
		ssize_t n = recv(c->fd, out + got, bytes - got, 0);
		if (n == 0)
			return -ECONNRESET;
		if (n < 0 && errno != EINTR)
			return -errno;
		got += n > 0 ? (size_t)n : 0;
	}
	return 0;
}

static int send_all(int fd, const uint8_t *bytes, size_t length)
{
	size_t sent = 0;
	while (sent < length) {
		ssize_t n = send(fd, bytes + sent, length - sent, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		sent += (size_t)n;
	}
	return 0;
}

/*
 * busbard's refusals of a request it could not verify: unsigned, since no key vouches
 * for them, and all a forger can make of one is a failed call (never data or success).
 */
static bool is_unsigned_refusal(const struct wire_header *h)
{
	return h->key_id == 0 && (h->status == WIRE_ERR_MISSING_AUTHENTICATION_TOKEN ||
	                          h->status == WIRE_ERR_INVALID_CLIENT_TOKEN ||
	                          h->status == WIRE_ERR_SIGNATURE_DOES_NOT_MATCH ||
	                          h->status == WIRE_ERR_REQUEST_EXPIRED);
}

/*
 * A reply is ours when it decodes, is a response, and echoes our ids. With a key over
 * UDP it must also be signed with our key and its MAC verify (or be an unsigned refusal
 * of the signature); one that is not is counted and ignored like a stray datagram, so a
 * forged or damaged answer cannot end the call. Over the local socket busbard does not
 * sign (the socket file's mode guards it), and a signed reply there is checked all the
 * same.
 */
static bool is_our_reply(struct bb_client *c, size_t length, uint64_t request_id)
{
	const struct wire_header *h = &c->reply_header;
	bool ours = wire_header_decode(c->reply, length, &c->reply_header) == WIRE_OK &&
	            (h->flags & WIRE_FLAG_RESPONSE) && h->request_id == request_id &&
	            h->client_id == c->client_id;
	if (!ours)
		return false;
	if (h->key_id == 0 && (c->mac == NULL || c->stream || is_unsigned_refusal(h)))
		return true;
	if (c->mac != NULL && h->key_id == c->key_id &&
	    bb_mac_verify(c->mac, c->secret, BB_KEY_SECRET_BYTES, c->reply, length) == 0)
		return true;
	c->replies_unverified++;
	return false;
}

static int exchange_stream(struct bb_client *c, size_t length, uint64_t request_id,
                           uint32_t extra_wait_ms)
{
	int rc = send_all(c->fd, c->request, length);
	uint64_t deadline = now_ms() + c->timeout_ms + extra_wait_ms;
	if (rc == 0)
		rc = read_exact(c, c->reply, BB_WIRE_HEADER_BYTES, deadline);
	uint32_t body_bytes = rc == 0 ? bb_get_le32(c->reply + 8) : 0;
	if (rc == 0 && body_bytes > BB_LOCAL_BODY_BYTES_MAX)
		rc = -EPROTO;
	if (rc == 0)
		rc = read_exact(c, c->reply + BB_WIRE_HEADER_BYTES, body_bytes, deadline);
	if (rc == 0 && !is_our_reply(c, BB_WIRE_HEADER_BYTES + body_bytes, request_id))
		rc = -EPROTO;
	return rc;
}

/*
 * Sends every timeout_ms until the reply comes or attempts intervals plus
 * extra_wait_ms have passed: a parked long poll is retransmitted to, not
 * abandoned, and busbard drops those copies until it answers.
 */
static int exchange_udp(struct bb_client *c, size_t length, uint64_t request_id,
                        uint32_t extra_wait_ms)
{
	uint64_t give_up = now_ms() + (uint64_t)c->attempts * c->timeout_ms + extra_wait_ms;
	uint32_t sends_max = c->attempts + extra_wait_ms / c->timeout_ms + 1;
	for (uint32_t sent = 0; sent < sends_max; sent++) {
		uint64_t now = now_ms();
		if (now >= give_up)
			break;
		if (send(c->fd, c->request, length, 0) < 0 && errno != ECONNREFUSED)
			return -errno;
		uint64_t deadline = now + c->timeout_ms < give_up ? now + c->timeout_ms : give_up;
		while (wait_readable(c->fd, deadline) == 0) {
			ssize_t n = recv(c->fd, c->reply, BB_UDP_PAYLOAD_BYTES_MAX, 0);
			if (n > 0 && is_our_reply(c, (size_t)n, request_id))
				return 0;
		}
	}
	return c->replies_unverified > 0 ? -EBADMSG : -ETIMEDOUT;
}

/* How long busbard may hold the request before answering: its long-poll wait. */
static uint32_t server_wait_ms(const struct wire_header *header, const uint8_t *body,
                               size_t body_bytes)
{
	if (header->opcode != WIRE_OP_RECEIVE_MESSAGE)
		return 0;
	struct wire_reader r;
	struct wire_field f;
	wire_reader_init(&r, body, body_bytes);
	while (wire_reader_next(&r, &f) == 1) {
		uint32_t wait_s;
		if (f.tag == WIRE_TAG_WAIT_TIME_S && wire_field_u32(&f, &wait_s))
			return wait_s * 1000;
	}
	/* The queue's ReceiveMessageWaitTimeSeconds applies, which the client cannot know. */
	return BB_WAIT_TIME_S_MAX * 1000;
}

/* Encodes the header, and the cached cookie after the body when the request carries one. */
static size_t frame_request(struct bb_client *c, struct wire_header *h, size_t body_bytes,
                            bool carries_cookie)
{
	size_t length = BB_WIRE_HEADER_BYTES + body_bytes;
	if (carries_cookie && c->has_cookie) {
		uint8_t *field = c->request + length;
		bb_put_le16(field, WIRE_TAG_COOKIE);
		bb_put_le32(field + 2, 8);
		bb_put_le64(field + WIRE_FIELD_HEADER_BYTES, c->cookie);
		length += COOKIE_FIELD_BYTES;
	}
	h->body_bytes = (uint32_t)(length - BB_WIRE_HEADER_BYTES);
	h->key_id = c->mac != NULL ? c->key_id : 0;
	if (length > c->request_bytes_used)
		c->request_bytes_used = length;
	wire_header_encode(h, c->request);
	/* Signing cannot fail on a whole message with a key: a failure would be a bug. */
	if (c->mac != NULL && bb_mac_sign(c->mac, c->secret, BB_KEY_SECRET_BYTES, c->request,
	                                  length) != 0)
		abort();
	return length;
}

/* Keeps the cookie of a RetryWithCookie answer; false when it carries none. */
static bool take_cookie(struct bb_client *c)
{
	struct wire_reader r;
	struct wire_field f;
	wire_reader_init(&r, c->reply + BB_WIRE_HEADER_BYTES, c->reply_header.body_bytes);
	while (wire_reader_next(&r, &f) == 1) {
		if (f.tag == WIRE_TAG_COOKIE && wire_field_u64(&f, &c->cookie)) {
			c->has_cookie = true;
			return true;
		}
	}
	return false;
}

/* One exchange, again with each new cookie busbard asks for (same request id). */
static int exchange(struct bb_client *c, struct wire_header *h, size_t body_bytes,
                    uint32_t extra_wait_ms)
{
	if (c->stream) {
		size_t length = frame_request(c, h, body_bytes, false);
		int rc = exchange_stream(c, length, h->request_id, extra_wait_ms);
		if (rc != -EPIPE && rc != -ECONNRESET)
			return rc;
		/* busbard closes idle connections: once more on a new one (same ids, so safe). */
		close(c->fd);
		rc = connect_unix(c, c->unix_socket);
		return rc == 0 ? exchange_stream(c, length, h->request_id, extra_wait_ms) : rc;
	}
	bool carries_cookie = h->opcode == WIRE_OP_RECEIVE_MESSAGE;
	int rc = 0;
	for (uint32_t round = 0; round <= COOKIE_ROUNDS_MAX; round++) {
		size_t length = frame_request(c, h, body_bytes, carries_cookie);
		rc = exchange_udp(c, length, h->request_id, extra_wait_ms);
		if (rc != 0 || !carries_cookie || c->reply_header.status != WIRE_RETRY_WITH_COOKIE)
			return rc;
		if (!take_cookie(c))
			return 0; /* the caller reports the status */
	}
	return rc;
}

int bb_call(struct bb_client *c, const struct wire_header *header, const uint8_t *body,
            size_t body_bytes, const uint8_t **reply_body, uint32_t *reply_body_bytes)
{
	/* Over UDP: what busbard reassembles, with room for a cookie. */
	size_t limit = c->stream ? BB_LOCAL_BODY_BYTES_MAX
	                         : BB_UDP_REQUEST_BYTES_MAX - BB_WIRE_HEADER_BYTES -
	                               COOKIE_FIELD_BYTES;
	if (body_bytes > limit) {
		snprintf(c->error, sizeof(c->error),
		         "a request body of %zu bytes exceeds the %s limit of %zu bytes",
		         body_bytes, c->stream ? "local socket" : "UDP", limit);
		return -EMSGSIZE;
	}
	struct wire_header h = *header;
	h.version = WIRE_VERSION;
	h.client_id = c->client_id;
	h.request_id = c->next_request_id++;
	struct timespec wall;
	clock_gettime(CLOCK_REALTIME, &wall); /* the skew check compares it with busbard's clock */
	h.timestamp_ms = (uint64_t)wall.tv_sec * 1000 + (uint64_t)wall.tv_nsec / 1000000;
	/* memmove: bb_send_message builds its body in place to spare a 1 MiB copy. */
	memmove(c->request + BB_WIRE_HEADER_BYTES, body, body_bytes);
	const uint8_t *moved = c->request + BB_WIRE_HEADER_BYTES;
	c->replies_unverified = 0;
	int rc = exchange(c, &h, body_bytes, server_wait_ms(&h, moved, body_bytes));
	if (rc == -EBADMSG) {
		snprintf(c->error, sizeof(c->error),
		         "no authentic reply from busbard: %u repl%s without a valid MAC for "
		         "this key (forged, damaged, or from a busbard that does not sign)",
		         c->replies_unverified, c->replies_unverified == 1 ? "y" : "ies");
		return rc;
	}
	if (rc != 0) {
		snprintf(c->error, sizeof(c->error), "no reply from busbard: %s", strerror(-rc));
		return rc;
	}
	*reply_body = c->reply + BB_WIRE_HEADER_BYTES;
	*reply_body_bytes = c->reply_header.body_bytes;
	c->error[0] = '\0';
	if (c->reply_header.status == WIRE_OK)
		return 0;
	struct wire_reader r;
	struct wire_field f;
	wire_reader_init(&r, *reply_body, *reply_body_bytes);
	while (wire_reader_next(&r, &f) == 1) {
		if (f.tag == WIRE_TAG_ERROR_MESSAGE)
			snprintf(c->error, sizeof(c->error), "%.*s", (int)f.length, f.value);
	}
	return c->reply_header.status;
}

/* ---- operations ---- */

struct request_body {
	uint8_t buf[BB_WIRE_HEADER_BYTES + 512]; /* every field but a message body */
	struct wire_writer writer;
};

static int call_op(struct bb_client *c, uint8_t opcode, struct wire_writer *w,
                   const uint8_t **reply, uint32_t *reply_bytes)
{
	if (w->overflow) {
		snprintf(c->error, sizeof(c->error), "request fields too long");
		return -EINVAL;
	}
	struct wire_header h = {.opcode = opcode};
	return bb_call(c, &h, w->buf, w->length, reply, reply_bytes);
}

static void copy_text(char *out, size_t capacity, const struct wire_field *f)
{
	size_t n = f->length < capacity - 1 ? f->length : capacity - 1;
	memcpy(out, f->value, n);
	out[n] = '\0';
}

int bb_ping(struct bb_client *c)
{
	struct request_body b;
	const uint8_t *reply;
	uint32_t reply_bytes;
	wire_writer_init(&b.writer, b.buf, sizeof(b.buf));
	return call_op(c, WIRE_OP_PING, &b.writer, &reply, &reply_bytes);
}

int bb_send_message(struct bb_client *c, const char *queue, const void *body, size_t body_bytes,
                    struct bb_sent *out)
{
	return bb_send_message_with(c, queue, body, body_bytes, &(struct bb_send_options){0}, out);
}

static void put_attributes(struct wire_writer *w, const struct bb_attribute *attributes,
                           uint32_t count)
{
	for (uint32_t i = 0; i < count; i++) {
		const struct bb_attribute *a = &attributes[i];
		wire_put_bytes(w, WIRE_TAG_ATTRIBUTE_BEGIN, NULL, 0);
		wire_put_str(w, WIRE_TAG_ATTRIBUTE_NAME, a->name);
		wire_put_str(w, WIRE_TAG_ATTRIBUTE_DATA_TYPE, a->data_type);
		if (a->string_value != NULL)
			wire_put_str(w, WIRE_TAG_ATTRIBUTE_STRING_VALUE, a->string_value);
		if (a->binary_value != NULL)
			wire_put_bytes(w, WIRE_TAG_ATTRIBUTE_BINARY_VALUE, a->binary_value,
			               a->binary_bytes);
	}
}

int bb_send_message_with(struct bb_client *c, const char *queue, const void *body,
                         size_t body_bytes, const struct bb_send_options *options,
                         struct bb_sent *out)
{
	struct wire_writer w;
	wire_writer_init(&w, c->request + BB_WIRE_HEADER_BYTES, BB_LOCAL_BODY_BYTES_MAX);
	wire_put_str(&w, WIRE_TAG_QUEUE_NAME, queue);
	wire_put_bytes(&w, WIRE_TAG_BODY, body, body_bytes);
	if (options->message_group_id != NULL)
		wire_put_str(&w, WIRE_TAG_MESSAGE_GROUP_ID, options->message_group_id);
	if (options->message_deduplication_id != NULL)
		wire_put_str(&w, WIRE_TAG_MESSAGE_DEDUPLICATION_ID,
		             options->message_deduplication_id);
	put_attributes(&w, options->attributes, options->attribute_count);
	if (options->aws_trace_header != NULL)
		wire_put_str(&w, WIRE_TAG_AWS_TRACE_HEADER, options->aws_trace_header);
	if (options->delay_set)
		wire_put_u32(&w, WIRE_TAG_DELAY_SECONDS, options->delay_s);
	const uint8_t *reply;
	uint32_t reply_bytes;
	int rc = call_op(c, WIRE_OP_SEND_MESSAGE, &w, &reply, &reply_bytes);
	if (rc != 0)
		return rc;
	memset(out, 0, sizeof(*out));
	struct wire_reader r;
	struct wire_field f;
	wire_reader_init(&r, reply, reply_bytes);
	while (wire_reader_next(&r, &f) == 1) {
		if (f.tag == WIRE_TAG_MESSAGE_ID)
			copy_text(out->message_id, sizeof(out->message_id), &f);
		else if (f.tag == WIRE_TAG_MD5_OF_BODY)
			copy_text(out->md5_of_body, sizeof(out->md5_of_body), &f);
		else if (f.tag == WIRE_TAG_SEQUENCE_NUMBER)
			copy_text(out->sequence_number, sizeof(out->sequence_number), &f);
		else if (f.tag == WIRE_TAG_MD5_OF_MESSAGE_ATTRIBUTES)
			copy_text(out->md5_of_message_attributes,
			          sizeof(out->md5_of_message_attributes), &f);
	}
	return 0;
}

/* Whole: its name, its data type and one value (as busbard writes each one). */
static bool attribute_is_whole(const struct bb_received_attribute *a)
{
	return a->name != NULL && a->data_type != NULL && a->value != NULL;
}

/* One of an attribute's own fields, each once; the error when it was given already. */
static const char *fill_attribute(struct bb_received_attribute *a, const struct wire_field *f)
{
	static const char *twice = "an attribute field given twice";
	switch (f->tag) {
	case WIRE_TAG_ATTRIBUTE_NAME:
		if (a->name != NULL)
			return twice;
		a->name = (const char *)f->value;
		a->name_bytes = f->length;
		return NULL;
	case WIRE_TAG_ATTRIBUTE_DATA_TYPE:
		if (a->data_type != NULL)
			return twice;
		a->data_type = (const char *)f->value;
		a->data_type_bytes = f->length;
		return NULL;
	default: /* STRING_VALUE or BINARY_VALUE: one of them */
		if (a->value != NULL)
			return twice;
		a->value = f->value;
		a->value_bytes = f->length;
		a->binary = f->tag == WIRE_TAG_ATTRIBUTE_BINARY_VALUE;
		return NULL;
	}
}

/*
 * A received message's attribute fields: ATTRIBUTE_BEGIN starts the next attribute, the
 * others fill the current one. The error when they break that shape: a field outside an
 * attribute, an attribute left without one, more than WIRE_ATTRIBUTES_MAX.
 */
static const char *take_attribute_field(struct bb_message *m, const struct wire_field *f)
{
	struct bb_received_attribute *a =
	    m->attribute_count > 0 ? &m->attributes[m->attribute_count - 1] : NULL;
	if (f->tag != WIRE_TAG_ATTRIBUTE_BEGIN)
		return a != NULL ? fill_attribute(a, f) : "an attribute field outside ATTRIBUTE_BEGIN";
	if (a != NULL && !attribute_is_whole(a))
		return "an attribute without its name, data type or value";
	if (m->attribute_count == WIRE_ATTRIBUTES_MAX)
		return "a message with more than 10 attributes";
	memset(&m->attributes[m->attribute_count++], 0, sizeof(m->attributes[0]));
	return NULL;
}

/* One of a received message's fields; the error when it breaks the reply's shape. */
static const char *take_message_field(struct bb_message *m, const struct wire_field *f)
{
	switch (f->tag) {
	case WIRE_TAG_MESSAGE_ID: copy_text(m->message_id, sizeof(m->message_id), f); break;
	case WIRE_TAG_RECEIPT_HANDLE:
		copy_text(m->receipt_handle, sizeof(m->receipt_handle), f);
		break;
	case WIRE_TAG_MD5_OF_BODY: copy_text(m->md5_of_body, sizeof(m->md5_of_body), f); break;
	case WIRE_TAG_BODY:
		m->body = f->value;
		m->body_bytes = f->length;
		break;
	case WIRE_TAG_RECEIVE_COUNT: (void)wire_field_u32(f, &m->receive_count); break;
	case WIRE_TAG_SENT_TIMESTAMP_MS: (void)wire_field_u64(f, &m->sent_ms); break;
	case WIRE_TAG_FIRST_RECEIVE_TIMESTAMP_MS: (void)wire_field_u64(f, &m->first_receive_ms); break;
	case WIRE_TAG_SEQUENCE_NUMBER:
		copy_text(m->sequence_number, sizeof(m->sequence_number), f);
		break;
	case WIRE_TAG_MESSAGE_GROUP_ID:
		copy_text(m->message_group_id, sizeof(m->message_group_id), f);
		break;
	case WIRE_TAG_MESSAGE_DEDUPLICATION_ID:
		copy_text(m->message_deduplication_id, sizeof(m->message_deduplication_id), f);
		break;
	case WIRE_TAG_MD5_OF_MESSAGE_ATTRIBUTES:
		copy_text(m->md5_of_message_attributes, sizeof(m->md5_of_message_attributes), f);
		break;
	case WIRE_TAG_AWS_TRACE_HEADER:
		m->aws_trace_header = (const char *)f->value;
		m->aws_trace_header_bytes = f->length;
		break;
	case WIRE_TAG_DEAD_LETTER_QUEUE_SOURCE_ARN:
		m->dead_letter_queue_source_arn = (const char *)f->value;
		m->dead_letter_queue_source_arn_bytes = f->length;
		break;
	case WIRE_TAG_ATTRIBUTE_BEGIN:
	case WIRE_TAG_ATTRIBUTE_NAME:
	case WIRE_TAG_ATTRIBUTE_DATA_TYPE:
	case WIRE_TAG_ATTRIBUTE_STRING_VALUE:
	case WIRE_TAG_ATTRIBUTE_BINARY_VALUE: return take_attribute_field(m, f);
	default: break;
	}
	return NULL;
}

/* A message's end (the next one's MESSAGE_BEGIN, or the reply's): its last attribute whole. */
static const char *end_message(const struct bb_message *m)
{
	if (m == NULL || m->attribute_count == 0 ||
	    attribute_is_whole(&m->attributes[m->attribute_count - 1]))
		return NULL;
	return "an attribute without its name, data type or value";
}

/*
 * A receive's reply, message by message (fields before the first MESSAGE_BEGIN are not a
 * message's). The error when it breaks the reply's shape: then no message is taken.
 */
static const char *take_messages(const uint8_t *reply, uint32_t reply_bytes,
                                 struct bb_message *messages, uint32_t *count_out)
{
	struct wire_reader r;
	struct wire_field f;
	struct bb_message *current = NULL;
	const char *why = NULL;
	wire_reader_init(&r, reply, reply_bytes);
	while (why == NULL && wire_reader_next(&r, &f) == 1) {
		if (f.tag != WIRE_TAG_MESSAGE_BEGIN) {
			why = current != NULL ? take_message_field(current, &f) : NULL;
			continue;
		}
		why = end_message(current);
		if (why == NULL && *count_out == BB_RECEIVE_COUNT_MAX)
			why = "more than 10 messages";
		if (why == NULL) {
			current = &messages[(*count_out)++];
			memset(current, 0, sizeof(*current));
		}
	}
	return why != NULL ? why : end_message(current);
}

int bb_receive_message(struct bb_client *c, const char *queue,
                       const struct bb_receive_options *o, struct bb_message *messages,
                       uint32_t *count_out)
{
	/* The request buffer: MessageAttributeNames can take up to 32 names of 256 bytes. */
	struct wire_writer w;
	wire_writer_init(&w, c->request + BB_WIRE_HEADER_BYTES, BB_LOCAL_BODY_BYTES_MAX);
	wire_put_str(&w, WIRE_TAG_QUEUE_NAME, queue);
	wire_put_u32(&w, WIRE_TAG_MAX_MESSAGES, o->max_messages ? o->max_messages : 1);
	if (o->visibility_timeout_s >= 0)
		wire_put_u32(&w, WIRE_TAG_VISIBILITY_TIMEOUT_S, (uint32_t)o->visibility_timeout_s);
	if (o->wait_time_s >= 0)
		wire_put_u32(&w, WIRE_TAG_WAIT_TIME_S, (uint32_t)o->wait_time_s);
	for (uint32_t i = 0; i < o->message_attribute_name_count; i++)
		wire_put_str(&w, WIRE_TAG_MESSAGE_ATTRIBUTE_NAME, o->message_attribute_names[i]);
	if (o->receive_request_attempt_id != NULL)
		wire_put_str(&w, WIRE_TAG_RECEIVE_REQUEST_ATTEMPT_ID, o->receive_request_attempt_id);
	const uint8_t *reply;
	uint32_t reply_bytes;
	*count_out = 0;
	int rc = call_op(c, WIRE_OP_RECEIVE_MESSAGE, &w, &reply, &reply_bytes);
	if (rc != 0)
		return rc;
	const char *why = take_messages(reply, reply_bytes, messages, count_out);
	if (why == NULL)
		return 0;
	*count_out = 0;
	snprintf(c->error, sizeof(c->error), "busbard's receive reply breaks the protocol: %s",
	         why);
	return -EPROTO;
}

static int handle_op(struct bb_client *c, uint8_t opcode, const char *queue, const char *handle,
                     int64_t timeout_s)
{
	struct request_body b;
	wire_writer_init(&b.writer, b.buf, sizeof(b.buf));
	wire_put_str(&b.writer, WIRE_TAG_QUEUE_NAME, queue);
	wire_put_str(&b.writer, WIRE_TAG_RECEIPT_HANDLE, handle);
	if (timeout_s >= 0)
		wire_put_u32(&b.writer, WIRE_TAG_VISIBILITY_TIMEOUT_S, (uint32_t)timeout_s);
	const uint8_t *reply;
	uint32_t reply_bytes;
	return call_op(c, opcode, &b.writer, &reply, &reply_bytes);
}

int bb_delete_message(struct bb_client *c, const char *queue, const char *receipt_handle)
{
	return handle_op(c, WIRE_OP_DELETE_MESSAGE, queue, receipt_handle, -1);
}

int bb_change_message_visibility(struct bb_client *c, const char *queue,
                                 const char *receipt_handle, uint32_t timeout_s)
{
	return handle_op(c, WIRE_OP_CHANGE_MESSAGE_VISIBILITY, queue, receipt_handle, timeout_s);
}

static void put_batch_entry(struct wire_writer *w, uint8_t opcode, const struct bb_batch_entry *e)
{
	wire_put_bytes(w, WIRE_TAG_ENTRY_BEGIN, NULL, 0);
	wire_put_str(w, WIRE_TAG_ENTRY_ID, e->id);
	if (opcode == WIRE_OP_SEND_MESSAGE_BATCH) {
		wire_put_bytes(w, WIRE_TAG_BODY, e->body, e->body_bytes);
		put_attributes(w, e->attributes, e->attribute_count);
		if (e->aws_trace_header != NULL)
			wire_put_str(w, WIRE_TAG_AWS_TRACE_HEADER, e->aws_trace_header);
		if (e->message_group_id != NULL)
			wire_put_str(w, WIRE_TAG_MESSAGE_GROUP_ID, e->message_group_id);
		if (e->message_deduplication_id != NULL)
			wire_put_str(w, WIRE_TAG_MESSAGE_DEDUPLICATION_ID, e->message_deduplication_id);
		return;
	}
	wire_put_str(w, WIRE_TAG_RECEIPT_HANDLE, e->receipt_handle);
	if (opcode == WIRE_OP_CHANGE_MESSAGE_VISIBILITY_BATCH)
		wire_put_u32(w, WIRE_TAG_VISIBILITY_TIMEOUT_S, e->visibility_timeout_s);
}

/* The entry of the request whose id the reply names, or NULL. */
static struct bb_batch_entry *batch_entry_named(struct bb_batch_entry *entries, uint32_t count,
                                                const struct wire_field *f)
{
	for (uint32_t i = 0; i < count; i++) {
		if (strlen(entries[i].id) == f->length && memcmp(entries[i].id, f->value, f->length) == 0)
			return &entries[i];
	}
	return NULL;
}

/* Each entry's answer, found by its id; an entry the reply does not name is InternalFailure. */
static void take_batch_reply(struct bb_batch_entry *entries, uint32_t count, const uint8_t *reply,
                             uint32_t reply_bytes)
{
	for (uint32_t i = 0; i < count; i++)
		entries[i].status = WIRE_ERR_INTERNAL;
	struct wire_reader r;
	struct wire_field f;
	struct bb_batch_entry *current = NULL;
	wire_reader_init(&r, reply, reply_bytes);
	while (wire_reader_next(&r, &f) == 1) {
		if (f.tag == WIRE_TAG_ENTRY_BEGIN) {
			current = NULL;
		} else if (f.tag == WIRE_TAG_ENTRY_ID) {
			current = batch_entry_named(entries, count, &f);
			if (current != NULL)
				current->status = WIRE_OK;
		} else if (current == NULL) {
			continue;
		} else if (f.tag == WIRE_TAG_ENTRY_STATUS) {
			uint32_t status;
			current->status = wire_field_u32(&f, &status) ? (int)status : WIRE_ERR_INTERNAL;
		} else if (f.tag == WIRE_TAG_MESSAGE_ID) {
			copy_text(current->message_id, sizeof(current->message_id), &f);
		} else if (f.tag == WIRE_TAG_MD5_OF_BODY) {
			copy_text(current->md5_of_body, sizeof(current->md5_of_body), &f);
		} else if (f.tag == WIRE_TAG_MD5_OF_MESSAGE_ATTRIBUTES) {
			copy_text(current->md5_of_message_attributes,
			          sizeof(current->md5_of_message_attributes), &f);
		} else if (f.tag == WIRE_TAG_SEQUENCE_NUMBER) {
			copy_text(current->sequence_number, sizeof(current->sequence_number), &f);
		}
	}
}

static int batch_op(struct bb_client *c, uint8_t opcode, const char *queue,
                    struct bb_batch_entry *entries, uint32_t count)
{
	struct wire_writer w;
	wire_writer_init(&w, c->request + BB_WIRE_HEADER_BYTES, BB_LOCAL_BODY_BYTES_MAX);
	wire_put_str(&w, WIRE_TAG_QUEUE_NAME, queue);
	for (uint32_t i = 0; i < count; i++) {
		memset(entries[i].message_id, 0, sizeof(entries[i].message_id));
		memset(entries[i].md5_of_body, 0, sizeof(entries[i].md5_of_body));
		memset(entries[i].md5_of_message_attributes, 0,
		       sizeof(entries[i].md5_of_message_attributes));
		memset(entries[i].sequence_number, 0, sizeof(entries[i].sequence_number));
		put_batch_entry(&w, opcode, &entries[i]);
	}
	const uint8_t *reply;
	uint32_t reply_bytes;
	int rc = call_op(c, opcode, &w, &reply, &reply_bytes);
	if (rc == 0)
		take_batch_reply(entries, count, reply, reply_bytes);
	return rc;
}

int bb_send_message_batch(struct bb_client *c, const char *queue, struct bb_batch_entry *entries,
                          uint32_t count)
{
	return batch_op(c, WIRE_OP_SEND_MESSAGE_BATCH, queue, entries, count);
}

int bb_delete_message_batch(struct bb_client *c, const char *queue,
                            struct bb_batch_entry *entries, uint32_t count)
{
	return batch_op(c, WIRE_OP_DELETE_MESSAGE_BATCH, queue, entries, count);
}

int bb_change_message_visibility_batch(struct bb_client *c, const char *queue,
                                       struct bb_batch_entry *entries, uint32_t count)
{
	return batch_op(c, WIRE_OP_CHANGE_MESSAGE_VISIBILITY_BATCH, queue, entries, count);
}

/* Publish's fields after the topic: the message and its options (NULL: none). */
static void put_publish(struct wire_writer *w, const void *message, size_t message_bytes,
                        const struct bb_publish_options *o)
{
	wire_put_bytes(w, WIRE_TAG_BODY, message, message_bytes);
	if (o == NULL)
		return;
	if (o->subject != NULL)
		wire_put_str(w, WIRE_TAG_SUBJECT, o->subject);
	if (o->message_structure != NULL)
		wire_put_str(w, WIRE_TAG_MESSAGE_STRUCTURE, o->message_structure);
	if (o->message_group_id != NULL)
		wire_put_str(w, WIRE_TAG_MESSAGE_GROUP_ID, o->message_group_id);
	if (o->message_deduplication_id != NULL)
		wire_put_str(w, WIRE_TAG_MESSAGE_DEDUPLICATION_ID, o->message_deduplication_id);
	put_attributes(w, o->attributes, o->attribute_count);
}

int bb_publish(struct bb_client *c, const char *topic, const void *message,
               size_t message_bytes, const struct bb_publish_options *options,
               struct bb_published *out)
{
	struct wire_writer w;
	wire_writer_init(&w, c->request + BB_WIRE_HEADER_BYTES, BB_LOCAL_BODY_BYTES_MAX);
	wire_put_str(&w, WIRE_TAG_TOPIC_NAME, topic);
	put_publish(&w, message, message_bytes, options);
	const uint8_t *reply;
	uint32_t reply_bytes;
	memset(out, 0, sizeof(*out));
	int rc = call_op(c, WIRE_OP_PUBLISH, &w, &reply, &reply_bytes);
	if (rc != 0)
		return rc;
	struct wire_reader r;
	struct wire_field f;
	wire_reader_init(&r, reply, reply_bytes);
	while (wire_reader_next(&r, &f) == 1) {
		if (f.tag == WIRE_TAG_MESSAGE_ID)
			copy_text(out->message_id, sizeof(out->message_id), &f);
		else if (f.tag == WIRE_TAG_SEQUENCE_NUMBER)
			copy_text(out->sequence_number, sizeof(out->sequence_number), &f);
	}
	return 0;
}

/* The entry of a PublishBatch whose id the reply names, or NULL. */
static struct bb_publish_entry *publish_entry_named(struct bb_publish_entry *entries,
                                                    uint32_t count, const struct wire_field *f)
{
	for (uint32_t i = 0; i < count; i++) {
		if (strlen(entries[i].id) == f->length && memcmp(entries[i].id, f->value, f->length) == 0)
			return &entries[i];
	}
	return NULL;
}

/* Each entry's answer, found by its id; an entry the reply does not name is InternalFailure. */
static void take_publish_batch_reply(struct bb_publish_entry *entries, uint32_t count,
                                     const uint8_t *reply, uint32_t reply_bytes)
{
	struct wire_reader r;
	struct wire_field f;
	struct bb_publish_entry *current = NULL;
	wire_reader_init(&r, reply, reply_bytes);
	while (wire_reader_next(&r, &f) == 1) {
		if (f.tag == WIRE_TAG_ENTRY_BEGIN) {
			current = NULL;
		} else if (f.tag == WIRE_TAG_ENTRY_ID) {
			current = publish_entry_named(entries, count, &f);
			if (current != NULL)
				current->status = WIRE_OK;
		} else if (current == NULL) {
			continue;
		} else if (f.tag == WIRE_TAG_ENTRY_STATUS) {
			uint32_t status;
			current->status = wire_field_u32(&f, &status) ? (int)status : WIRE_ERR_INTERNAL;
		} else if (f.tag == WIRE_TAG_MESSAGE_ID) {
			copy_text(current->message_id, sizeof(current->message_id), &f);
		} else if (f.tag == WIRE_TAG_SEQUENCE_NUMBER) {
			copy_text(current->sequence_number, sizeof(current->sequence_number), &f);
		}
	}
}

int bb_publish_batch(struct bb_client *c, const char *topic, struct bb_publish_entry *entries,
                     uint32_t count)
{
	struct wire_writer w;
	wire_writer_init(&w, c->request + BB_WIRE_HEADER_BYTES, BB_LOCAL_BODY_BYTES_MAX);
	wire_put_str(&w, WIRE_TAG_TOPIC_NAME, topic);
	for (uint32_t i = 0; i < count; i++) {
		struct bb_publish_entry *e = &entries[i];
		e->status = WIRE_ERR_INTERNAL;
		e->message_id[0] = '\0';
		e->sequence_number[0] = '\0';
		wire_put_bytes(&w, WIRE_TAG_ENTRY_BEGIN, NULL, 0);
		wire_put_str(&w, WIRE_TAG_ENTRY_ID, e->id);
		put_publish(&w, e->message, e->message_bytes, &e->options);
	}
	const uint8_t *reply;
	uint32_t reply_bytes;
	int rc = call_op(c, WIRE_OP_PUBLISH_BATCH, &w, &reply, &reply_bytes);
	if (rc == 0)
		take_publish_batch_reply(entries, count, reply, reply_bytes);
	return rc;
}

static void put_event(struct wire_writer *w, const struct bb_event *e)
{
	wire_put_bytes(w, WIRE_TAG_ENTRY_BEGIN, NULL, 0);
	if (e->source != NULL)
		wire_put_str(w, WIRE_TAG_EVENT_SOURCE, e->source);
	if (e->detail_type != NULL)
		wire_put_str(w, WIRE_TAG_EVENT_DETAIL_TYPE, e->detail_type);
	if (e->detail != NULL)
		wire_put_str(w, WIRE_TAG_EVENT_DETAIL, e->detail);
	for (uint32_t i = 0; i < e->resource_count; i++)
		wire_put_str(w, WIRE_TAG_EVENT_RESOURCE, e->resources[i]);
	if (e->time_ms != 0)
		wire_put_u64(w, WIRE_TAG_EVENT_TIME_MS, e->time_ms);
}

/* PutEvents answers its entries in request order, without ids: the n-th ENTRY_BEGIN is
 * the n-th event's; one the reply leaves out is InternalFailure. */
static void take_events_reply(struct bb_event *events, uint32_t count, const uint8_t *reply,
                              uint32_t reply_bytes, uint32_t *failed_count_out)
{
	struct wire_reader r;
	struct wire_field f;
	struct bb_event *current = NULL;
	uint32_t answered = 0;
	wire_reader_init(&r, reply, reply_bytes);
	while (wire_reader_next(&r, &f) == 1) {
		if (f.tag == WIRE_TAG_FAILED_ENTRY_COUNT) {
			(void)wire_field_u32(&f, failed_count_out);
		} else if (f.tag == WIRE_TAG_ENTRY_BEGIN) {
			current = answered < count ? &events[answered++] : NULL;
			if (current != NULL)
				current->status = WIRE_OK;
		} else if (current == NULL) {
			continue;
		} else if (f.tag == WIRE_TAG_EVENT_ID) {
			copy_text(current->event_id, sizeof(current->event_id), &f);
		} else if (f.tag == WIRE_TAG_ENTRY_STATUS) {
			uint32_t status;
			current->status = wire_field_u32(&f, &status) ? (int)status : WIRE_ERR_INTERNAL;
		} else if (f.tag == WIRE_TAG_ERROR_CODE) {
			copy_text(current->error_code, sizeof(current->error_code), &f);
		} else if (f.tag == WIRE_TAG_ERROR_MESSAGE) {
			copy_text(current->error_message, sizeof(current->error_message), &f);
		}
	}
}

int bb_put_events(struct bb_client *c, const char *bus, struct bb_event *events,
                  uint32_t count, uint32_t *failed_count_out)
{
	struct wire_writer w;
	wire_writer_init(&w, c->request + BB_WIRE_HEADER_BYTES, BB_LOCAL_BODY_BYTES_MAX);
	if (bus != NULL)
		wire_put_str(&w, WIRE_TAG_BUS_NAME, bus);
	for (uint32_t i = 0; i < count; i++) {
		struct bb_event *e = &events[i];
		e->status = WIRE_ERR_INTERNAL;
		e->event_id[0] = e->error_code[0] = e->error_message[0] = '\0';
		put_event(&w, e);
	}
	const uint8_t *reply;
	uint32_t reply_bytes;
	*failed_count_out = 0;
	int rc = call_op(c, WIRE_OP_PUT_EVENTS, &w, &reply, &reply_bytes);
	if (rc == 0)
		take_events_reply(events, count, reply, reply_bytes, failed_count_out);
	return rc;
}

int bb_get_stats(struct bb_client *c, struct bb_stat *stats, uint32_t capacity,
                 uint32_t *count_out)
{
	struct request_body b;
	wire_writer_init(&b.writer, b.buf, sizeof(b.buf));
	const uint8_t *reply;
	uint32_t reply_bytes;
	*count_out = 0;
	int rc = call_op(c, WIRE_OP_GET_STATS, &b.writer, &reply, &reply_bytes);
	if (rc != 0)
		return rc;
	struct wire_reader r;
	struct wire_field f;
	wire_reader_init(&r, reply, reply_bytes);
	while (wire_reader_next(&r, &f) == 1) {
		if (*count_out == capacity)
			return -ENOBUFS; /* more counters than the caller has room for: never cut */
		if (f.tag == WIRE_TAG_STAT_NAME)
			copy_text(stats[*count_out].name, sizeof(stats[*count_out].name), &f);
		else if (f.tag == WIRE_TAG_STAT_VALUE && wire_field_u64(&f, &stats[*count_out].value))
			(*count_out)++;
	}
	return 0;
}

/* ---- deliveries to udp subscriptions ---- */

static bool take_delivery_text(const char **text, uint32_t *bytes, const struct wire_field *f)
{
	if (*text != NULL)
		return false;
	*text = (const char *)f->value;
	*bytes = f->length;
	return true;
}

static bool take_delivery_field(struct bb_delivery *d, const struct wire_field *f,
                                bool *id_seen, bool *attempt_seen)
{
	switch (f->tag) {
	case WIRE_TAG_DELIVERY_ID:
		return !*id_seen && (*id_seen = wire_field_u64(f, &d->delivery_id));
	case WIRE_TAG_DELIVERY_ATTEMPT:
		return !*attempt_seen && (*attempt_seen = wire_field_u32(f, &d->attempt));
	case WIRE_TAG_SOURCE_ARN: return take_delivery_text(&d->source_arn, &d->source_arn_bytes, f);
	case WIRE_TAG_SUBSCRIPTION:
		return take_delivery_text(&d->subscription, &d->subscription_bytes, f);
	case WIRE_TAG_MESSAGE_ID: return take_delivery_text(&d->message_id, &d->message_id_bytes, f);
	case WIRE_TAG_BODY:
		return take_delivery_text((const char **)&d->body, &d->body_bytes, f);
	default: return false;
	}
}

int bb_delivery_parse(const uint8_t *frame, size_t bytes, struct bb_delivery *out)
{
	struct wire_header h;
	*out = (struct bb_delivery){0};
	if (wire_header_decode(frame, bytes, &h) != WIRE_OK || h.opcode != WIRE_OP_DELIVER ||
	    h.flags != 0)
		return -EPROTO;
	struct wire_reader r;
	struct wire_field f;
	bool id_seen = false, attempt_seen = false;
	int more;
	wire_reader_init(&r, frame + BB_WIRE_HEADER_BYTES, h.body_bytes);
	while ((more = wire_reader_next(&r, &f)) == 1) {
		if (!take_delivery_field(out, &f, &id_seen, &attempt_seen))
			return -EPROTO;
	}
	bool whole = more == 0 && id_seen && attempt_seen && out->source_arn != NULL &&
	             out->subscription != NULL && out->message_id != NULL && out->body != NULL;
	return whole && out->delivery_id == h.request_id ? 0 : -EPROTO;
}

int bb_delivery_poll(struct bb_client *c, uint32_t timeout_ms, struct bb_delivery *out)
{
	if (c->stream)
		return -EOPNOTSUPP; /* deliveries come over UDP only */
	uint64_t deadline = now_ms() + timeout_ms;
	int rc;
	while ((rc = wait_readable(c->fd, deadline)) == 0) {
		ssize_t n = recv(c->fd, c->reply, BB_UDP_PAYLOAD_BYTES_MAX, 0);
		if (n > 0 && bb_delivery_parse(c->reply, (size_t)n, out) == 0)
			return 1;
	}
	return rc == -ETIMEDOUT ? 0 : rc;
}

int bb_ack(struct bb_client *c, uint64_t delivery_id)
{
	struct request_body b;
	const uint8_t *reply;
	uint32_t reply_bytes;
	wire_writer_init(&b.writer, b.buf, sizeof(b.buf));
	wire_put_u64(&b.writer, WIRE_TAG_DELIVERY_ID, delivery_id);
	return call_op(c, WIRE_OP_ACK, &b.writer, &reply, &reply_bytes);
}
