/*
 * Service thread (see dp_service.h). The Unix socket is a byte stream of
 * wire frames: the header's body_bytes delimits each request. Data requests
 * are routed to their owner lcore over requests[worker_count][owner], exactly
 * like UDP requests; replies come back on local_replies. A frame whose header
 * cannot be read ends the connection, since the stream has lost its framing.
 *
 * Each connection has one request served at a time: it is read only while no
 * request of it is at a worker and its output is all written. So its output
 * buffer holds at most one reply (BB_LOCAL_OUT_BYTES_MAX), a client that does
 * not read its replies is not read either (the kernel's socket buffers then
 * stop its writes), and replies come back in request order. Connections idle
 * past BB_LOCAL_IDLE_TIMEOUT_MS are closed; the last slot is kept for the
 * control plane (DP_SERVICE_RESERVED_SLOT).
 */
#include "dp_service.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <rte_ethdev.h>
#include <rte_log.h>
#include <rte_malloc.h>

#include "bb_endian.h"
#include "dp_auth.h"
#include "dp_chain.h"
#include "dp_request.h"
#include "dp_worker.h"

#define FRAME_BYTES_MAX  (BB_WIRE_HEADER_BYTES + BB_LOCAL_BODY_BYTES_MAX)
#define READ_CHUNK_BYTES (64u << 10)

int dp_service_init(struct dp_service *s, struct dp_app *app, const char *socket_path,
                    const char *state_dir)
{
	memset(s, 0, sizeof(*s));
	s->app = app;
	snprintf(s->state_dir, sizeof(s->state_dir), "%s", state_dir);
	for (uint32_t i = 0; i < BB_LOCAL_CONNECTIONS_MAX; i++) {
		s->connections[i].fd = -1;
		s->connections[i].published_generation = &app->local_generations[i];
	}
	s->reply_buf = malloc(FRAME_BYTES_MAX);
	if (s->reply_buf == NULL)
		return -ENOMEM;
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	if (strlen(socket_path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, socket_path);
	s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->listen_fd < 0)
		return -errno;
	unlink(socket_path); /* a socket file left by an earlier run */
	if (bind(s->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) != 0)
		return -errno;
	if (listen(s->listen_fd, 16) != 0)
		return -errno;
	return 0;
}

static void connection_close(struct dp_local_connection *c)
{
	close(c->fd);
	if (c->in != NULL) /* a snapshot's keys, whole or in part, may be among them */
		explicit_bzero(c->in, c->in_bytes);
	free(c->in);
	free(c->out);
	uint16_t generation = (uint16_t)(c->generation + 1);
	_Atomic(uint16_t) *published = c->published_generation;
	*c = (struct dp_local_connection){
	    .fd = -1, .generation = generation, .published_generation = published};
	/* Pairs with the load-acquire of dp_worker.c's local_client_gone: from here on the
	 * owners of this connection's parked receives give them no messages. */
	atomic_store_explicit(published, generation, memory_order_release);
}

/* Frees a snapshot no worker reads, its keys' secrets zeroed first (they leave no trace). */
static void snapshot_discard(struct dp_snapshot *snapshot)
{
	dp_snapshot_release(snapshot);
	dp_auth_keys_clear(&snapshot->keys);
	free(snapshot);
}

void dp_service_close(struct dp_service *s)
{
	for (uint32_t i = 0; i < BB_LOCAL_CONNECTIONS_MAX; i++) {
		if (s->connections[i].fd >= 0)
			connection_close(&s->connections[i]);
	}
	if (s->listen_fd > 0)
		close(s->listen_fd);
	free(s->reply_buf);
	if (s->current != NULL)
		snapshot_discard(s->current);
}

/* ---- writing replies ---- */

/* Room for `more` output bytes; -ENOBUFS past BB_LOCAL_OUT_BYTES_MAX. */
static int out_reserve(struct dp_local_connection *c, size_t more)
{
	if (c->out_bytes + more <= c->out_capacity)
		return 0;
	if (c->out_bytes + more > BB_LOCAL_OUT_BYTES_MAX)
		return -ENOBUFS;
	size_t capacity = c->out_capacity == 0 ? READ_CHUNK_BYTES : c->out_capacity;
	while (capacity < c->out_bytes + more)
		capacity *= 2;
	if (capacity > BB_LOCAL_OUT_BYTES_MAX)
		capacity = BB_LOCAL_OUT_BYTES_MAX;
	uint8_t *grown = realloc(c->out, capacity);
	if (grown == NULL)
		return -ENOMEM;
	c->out = grown;
	c->out_capacity = capacity;
	return 0;
}

static void flush_out(struct dp_local_connection *c)
{
	size_t sent = 0;
	while (sent < c->out_bytes) {
		ssize_t n = send(c->fd, c->out + sent, c->out_bytes - sent, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0) {
			connection_close(c);
			return;
		}
		sent += (size_t)n;
	}
	memmove(c->out, c->out + sent, c->out_bytes - sent);
	c->out_bytes -= sent;
	if (c->out_bytes == 0 && c->out_capacity > READ_CHUNK_BYTES) {
		free(c->out); /* a large reply's buffer is not kept for the connection's life */
		c->out = NULL;
		c->out_capacity = 0;
	}
}

static void queue_reply(struct dp_local_connection *c, const uint8_t *reply, size_t bytes)
{
	if (out_reserve(c, bytes) != 0) {
		connection_close(c);
		return;
	}
	memcpy(c->out + c->out_bytes, reply, bytes);
	c->out_bytes += bytes;
	flush_out(c);
}

static void reply_error(struct dp_service *s, struct dp_local_connection *c,
                        const struct wire_header *h, enum wire_status status, const char *why)
{
	queue_reply(c, s->reply_buf, dp_reply_error(s->reply_buf, FRAME_BYTES_MAX, h, status, why));
}

static void reply_ok(struct dp_service *s, struct dp_local_connection *c,
                     const struct wire_header *h, struct wire_writer *writer)
{
	queue_reply(c, s->reply_buf, dp_reply_finish(writer, h, WIRE_OK));
}

/* ---- snapshots ---- */

static void publish(struct dp_service *s, struct dp_snapshot *next)
{
	struct dp_snapshot *old = s->current;
	next->generation = ++s->generation;
	atomic_store_explicit(&s->app->snapshot, next, memory_order_release);
	s->current = next;
	if (old != NULL) {
		/* Pairs with the workers' quiescent reports: none can still read old. */
		rte_rcu_qsbr_synchronize(s->app->rcu, RTE_QSBR_THRID_INVALID);
		snapshot_discard(old); /* its matchers and keys: no worker reads them any more */
	}
}

/*
 * Whether busbard takes the snapshot (bb_snapshot_decide): never another
 * store's configuration unless it says ADOPT, since applying it would delete
 * every queue it lacks with the messages. A refusal says why and what runs.
 */
static enum wire_status decide(const struct dp_service *s, const struct dp_snapshot *next,
                               struct bb_snapshot_refusal *refusal, char *why, size_t why_bytes)
{
	struct bb_snapshot_header offered = dp_snapshot_header(next);
	struct bb_snapshot_header applied = {0};
	if (s->current != NULL)
		applied = dp_snapshot_header(s->current);
	*refusal = (struct bb_snapshot_refusal){
	    .verdict = bb_snapshot_decide(s->current != NULL ? &applied : NULL, &offered),
	    .version = applied.version,
	};
	if (refusal->verdict == BB_SNAPSHOT_ACCEPT)
		return WIRE_OK;
	memcpy(refusal->store_id, applied.store_id, sizeof(refusal->store_id));
	bb_snapshot_describe_refusal(refusal, &offered, why, why_bytes);
	return WIRE_ERR_INVALID_PARAMETER;
}

/* Parses, decides and assigns a snapshot body; on success *out is ready to publish. */
static enum wire_status prepare(struct dp_service *s, const uint8_t *body, size_t body_bytes,
                                struct dp_snapshot **out, struct bb_snapshot_refusal *refusal,
                                char *why, size_t why_bytes)
{
	struct dp_snapshot *next = malloc(sizeof(*next));
	*refusal = (struct bb_snapshot_refusal){.verdict = BB_SNAPSHOT_ACCEPT};
	if (next == NULL) {
		snprintf(why, why_bytes, "out of memory");
		return WIRE_ERR_INTERNAL;
	}
	enum wire_status status = dp_snapshot_parse(body, body_bytes, next, why, why_bytes);
	if (status == WIRE_OK)
		status = decide(s, next, refusal, why, why_bytes);
	if (status == WIRE_OK && dp_snapshot_assign(next, s->current, s->app->worker_count) != 0) {
		snprintf(why, why_bytes, "more queues than the workers have slots for");
		status = WIRE_ERR_OVER_LIMIT;
	}
	if (status != WIRE_OK) {
		snapshot_discard(next); /* nothing to release when parsing failed but keys */
		return status;
	}
	*out = next;
	return WIRE_OK;
}

static void apply_snapshot(struct dp_service *s, struct dp_local_connection *c,
                           const struct wire_header *h, const uint8_t *body)
{
	char why[1024];
	struct dp_snapshot *next = NULL;
	struct bb_snapshot_refusal refusal;
	enum wire_status status =
	    prepare(s, body, h->body_bytes, &next, &refusal, why, sizeof(why));
	if (status != WIRE_OK && refusal.verdict != BB_SNAPSHOT_ACCEPT) {
		RTE_LOG(WARNING, USER1, "busbard: snapshot refused: %s\n", why);
		struct wire_writer writer;
		dp_reply_begin(&writer, s->reply_buf, FRAME_BYTES_MAX);
		wire_put_str(&writer, WIRE_TAG_ERROR_MESSAGE, why);
		bb_snapshot_put_refusal(&writer, &refusal);
		queue_reply(c, s->reply_buf, dp_reply_finish(&writer, h, status));
		return;
	}
	if (status != WIRE_OK) {
		reply_error(s, c, h, status, why);
		return;
	}
	int rc = dp_snapshot_save(s->state_dir, body, h->body_bytes);
	if (rc != 0) {
		snapshot_discard(next);
		snprintf(why, sizeof(why), "saving the snapshot in %s: %s", s->state_dir,
		         strerror(-rc));
		{
			reply_error(s, c, h, WIRE_ERR_INTERNAL, why);
			return;
		}
	}
	char store[BB_SNAPSHOT_STORE_ID_TEXT_BYTES];
	bb_snapshot_store_id_text(next->store_id, store);
	publish(s, next);
	RTE_LOG(INFO, USER1, "busbard: applied snapshot %llu of store %s (%u queues)\n",
	        (unsigned long long)next->version, store, next->queue_count);
	struct wire_writer writer;
	dp_reply_begin(&writer, s->reply_buf, FRAME_BYTES_MAX);
	wire_put_u64(&writer, WIRE_TAG_SNAPSHOT_VERSION, next->version);
	reply_ok(s, c, h, &writer);
}

int dp_service_load_snapshot(struct dp_service *s)
{
	long length = dp_snapshot_load(s->state_dir, s->reply_buf, FRAME_BYTES_MAX);
	if (length == -ENOENT)
		return 0;
	if (length < 0)
		return (int)length;
	char why[256];
	struct dp_snapshot *next = NULL;
	struct bb_snapshot_refusal refusal;
	enum wire_status status =
	    prepare(s, s->reply_buf, (size_t)length, &next, &refusal, why, sizeof(why));
	explicit_bzero(s->reply_buf, (size_t)length); /* the file's keys: parsed, not kept */
	if (status != WIRE_OK) {
		RTE_LOG(ERR, USER1, "busbard: stored snapshot unusable: %s\n", why);
		return -EINVAL;
	}
	publish(s, next);
	RTE_LOG(INFO, USER1, "busbard: started from stored snapshot %llu (%u queues)\n",
	        (unsigned long long)next->version, next->queue_count);
	return 0;
}

/* ---- counters ---- */

/* Authentication's counters (dp_auth.h), summed over workers and named auth_<field>. */
#define DP_AUTH_STATS_FIELDS(X)                                                                    \
	X(passed) X(unauthenticated_passed) X(rate_limited) X(malformed) X(missing_key)            \
	X(unknown_key) X(expired_key) X(stale_timestamp) X(future_timestamp) X(bad_mac)            \
	X(replay_too_old) X(replay_seen) X(replay_forgotten) X(access_denied) X(replies_signed)    \
	X(replies_key_gone)
#define DP_AUTH_STATS_COUNT(name) +1
_Static_assert(sizeof(struct dp_auth_stats) ==
                   (0 DP_AUTH_STATS_FIELDS(DP_AUTH_STATS_COUNT)) * sizeof(uint64_t),
               "every authentication counter is published");
#undef DP_AUTH_STATS_COUNT

static void put_auth_stats(struct dp_service *s, struct wire_writer *writer)
{
	struct dp_auth_stats total = {0};
	for (uint32_t i = 0; i < s->app->worker_count; i++) {
		const struct dp_auth *auth = dp_auth_of(i);
		if (auth == NULL) /* set up by busbard's start, not by every test harness */
			continue;
#define DP_AUTH_ADD(name) total.name += auth->stats.name;
		DP_AUTH_STATS_FIELDS(DP_AUTH_ADD)
#undef DP_AUTH_ADD
	}
#define DP_AUTH_PUT(name)                                                                          \
	wire_put_str(writer, WIRE_TAG_STAT_NAME, "auth_" #name);                                   \
	wire_put_u64(writer, WIRE_TAG_STAT_VALUE, total.name);
	DP_AUTH_STATS_FIELDS(DP_AUTH_PUT)
#undef DP_AUTH_PUT
}

static void reply_stats(struct dp_service *s, struct dp_local_connection *c,
                        const struct wire_header *h)
{
	struct dp_stats total = {0};
	for (uint32_t i = 0; i < s->app->worker_count; i++) {
		const struct dp_stats *w = &s->app->workers[i]->stats;
#define DP_STATS_ADD(name) total.name += w->name;
		DP_STATS_FIELDS(DP_STATS_ADD)
#undef DP_STATS_ADD
	}
	struct wire_writer writer;
	dp_reply_begin(&writer, s->reply_buf, FRAME_BYTES_MAX);
	wire_put_str(&writer, WIRE_TAG_STAT_NAME, "snapshot_version");
	wire_put_u64(&writer, WIRE_TAG_STAT_VALUE, s->current ? s->current->version : 0);
#define DP_STATS_PUT(name)                                                                         \
	wire_put_str(&writer, WIRE_TAG_STAT_NAME, #name);                                          \
	wire_put_u64(&writer, WIRE_TAG_STAT_VALUE, total.name);
	DP_STATS_FIELDS(DP_STATS_PUT)
#undef DP_STATS_PUT
	put_auth_stats(s, &writer);
	/* The port's own counters: frames dropped before any worker saw them. */
	struct rte_eth_stats port;
	if (rte_eth_stats_get(s->app->port_id, &port) == 0) {
#define DP_PORT_PUT(name)                                                                          \
	wire_put_str(&writer, WIRE_TAG_STAT_NAME, "port_" #name);                                  \
	wire_put_u64(&writer, WIRE_TAG_STAT_VALUE, port.name);
		DP_PORT_PUT(ipackets) DP_PORT_PUT(opackets) DP_PORT_PUT(imissed)
		DP_PORT_PUT(ierrors) DP_PORT_PUT(oerrors) DP_PORT_PUT(rx_nombuf)
#undef DP_PORT_PUT
	}
	reply_ok(s, c, h, &writer);
}

/* ---- data requests ---- */

static void route_local(struct dp_service *s, uint32_t connection_index, const uint8_t *bytes,
                        size_t length)
{
	struct dp_local_connection *c = &s->connections[connection_index];
	struct dp_request req;
	enum wire_status status = dp_request_parse(bytes, length, &req);
	if (status != WIRE_OK) {
		reply_error(s, c, &req.header, status, req.error);
		return;
	}
	if (req.header.opcode == WIRE_OP_PING) {
		struct wire_writer writer;
		dp_reply_begin(&writer, s->reply_buf, FRAME_BYTES_MAX);
		{
			reply_ok(s, c, &req.header, &writer);
			return;
		}
	}
	struct dp_destination to;
	const char *why = NULL;
	status = dp_snapshot_destination(s->current, &req, &to, &why);
	if (status != WIRE_OK) {
		reply_error(s, c, &req.header, status, why);
		return;
	}
	struct rte_mbuf *m = dp_chain_from_bytes(s->app->frame_pool, bytes, (uint32_t)length);
	if (m == NULL) {
		reply_error(s, c, &req.header, WIRE_ERR_SERVICE_UNAVAILABLE,
		            "no buffers for the request: retry");
		return;
	}
	*dp_meta(m) = (struct dp_request_meta){
	    .source = DP_SOURCE_LOCAL,
	    .local_connection = connection_index | (uint32_t)c->generation << 16,
	    .resource = to.resource,
	    .queue_slot = to.queue_slot,
	    .queue_id = to.id,
	    .receive_wait_time_s = to.receive_wait_time_s,
	};
	struct rte_ring *ring = s->app->requests[s->app->worker_count][to.owner];
	if (rte_ring_sp_enqueue(ring, m) != 0) {
		rte_pktmbuf_free(m);
		reply_error(s, c, &req.header, WIRE_ERR_SERVICE_UNAVAILABLE,
		            "the owner of the queue, topic or bus is busy: retry");
		return;
	}
	c->requests_in_flight++; /* the connection is not read until the reply is written */
}

static void handle_frame(struct dp_service *s, uint32_t connection_index, const uint8_t *bytes,
                         size_t length)
{
	struct dp_local_connection *c = &s->connections[connection_index];
	struct wire_header h;
	enum wire_status status = wire_header_decode(bytes, length, &h);
	if (status == WIRE_OK && h.opcode == WIRE_OP_APPLY_SNAPSHOT) {
		apply_snapshot(s, c, &h, bytes + BB_WIRE_HEADER_BYTES);
		return;
	}
	if (status == WIRE_OK && h.opcode == WIRE_OP_GET_STATS) {
		reply_stats(s, c, &h);
		return;
	}
	route_local(s, connection_index, bytes, length);
}

static bool connection_busy(const struct dp_local_connection *c)
{
	return c->requests_in_flight > 0 || c->out_bytes > 0 || c->closing;
}

/* The reserved slot's one request: a control opcode is served, anything else refused. */
static void handle_reserved_frame(struct dp_service *s, uint32_t index, const uint8_t *bytes,
                                  size_t length)
{
	struct dp_local_connection *c = &s->connections[index];
	c->closing = true;
	if (wire_opcode_is_local_only(bytes[3])) {
		handle_frame(s, index, bytes, length);
		return;
	}
	struct wire_header h;
	if (wire_header_decode(bytes, length, &h) != WIRE_OK)
		return;
	reply_error(s, c, &h, WIRE_ERR_SERVICE_UNAVAILABLE,
	            "every local connection is taken; the last is kept for busbar-control");
}

/* Handles the complete frames already read, one at a time while the connection is free. */
static void serve_frames(struct dp_service *s, uint32_t index)
{
	struct dp_local_connection *c = &s->connections[index];
	/* Bounded: each pass consumes one frame of the bytes read. */
	while (c->fd >= 0 && !connection_busy(c) && c->in_bytes >= BB_WIRE_HEADER_BYTES) {
		uint32_t body_bytes = bb_get_le32(c->in + 8);
		if (bb_get_le16(c->in) != WIRE_MAGIC || body_bytes > BB_LOCAL_BODY_BYTES_MAX) {
			connection_close(c);
			return;
		} /* framing lost */
		size_t frame_bytes = BB_WIRE_HEADER_BYTES + body_bytes;
		if (c->in_bytes < frame_bytes)
			return;
		bool secret = c->in[3] == WIRE_OP_APPLY_SNAPSHOT; /* it carries keys */
		if (c->reserved)
			handle_reserved_frame(s, index, c->in, frame_bytes);
		else
			handle_frame(s, index, c->in, frame_bytes);
		if (c->fd < 0)
			return;
		if (secret)
			explicit_bzero(c->in, frame_bytes); /* before the next bytes move over it */
		size_t rest = c->in_bytes - frame_bytes;
		memmove(c->in, c->in + frame_bytes, rest);
		/* The moved bytes' old copy past the new end is never zeroed at close (only
		 * in_bytes are), and a frame among them may carry keys: zeroed now. */
		size_t stale = rest > frame_bytes ? rest : frame_bytes;
		explicit_bzero(c->in + stale, c->in_bytes - stale);
		c->in_bytes = rest;
	}
	if (c->fd >= 0 && c->closing && c->out_bytes == 0)
		connection_close(c);
}

/* Reads what is there and handles the complete frames; only for a connection not busy. */
static void read_connection(struct dp_service *s, uint32_t index)
{
	struct dp_local_connection *c = &s->connections[index];
	if (c->in == NULL && (c->in = malloc(FRAME_BYTES_MAX)) == NULL) {
		connection_close(c);
		return;
	}
	ssize_t n = recv(c->fd, c->in + c->in_bytes, FRAME_BYTES_MAX - c->in_bytes, 0);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		connection_close(c);
		return;
	}
	if (n < 0)
		return;
	c->in_bytes += (size_t)n;
	c->last_active_ms = s->now_ms;
	serve_frames(s, index);
}

static void accept_connections(struct dp_service *s)
{
	/* In slot order, so the reserved last slot is taken only when every other one is. */
	for (uint32_t i = 0; i < BB_LOCAL_CONNECTIONS_MAX; i++) {
		struct dp_local_connection *c = &s->connections[i];
		if (c->fd >= 0)
			continue;
		c->fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (c->fd < 0)
			return;
		c->last_active_ms = s->now_ms;
		c->reserved = i == DP_SERVICE_RESERVED_SLOT;
	}
	/* All slots busy: refuse the newcomer rather than let it wait unseen. */
	int extra = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (extra >= 0)
		close(extra);
}

/* A worker's reply: written (or kept), then the connection's next frame is served. */
static void take_reply(struct dp_service *s, uint32_t index, struct rte_mbuf *reply)
{
	struct dp_local_connection *c = &s->connections[index];
	uint32_t bytes = rte_pktmbuf_pkt_len(reply);
	/* None due: an earlier connection's, its 16-bit generation come round again. Dropped. */
	if (c->requests_in_flight == 0)
		return;
	c->requests_in_flight--;
	c->last_active_ms = s->now_ms;
	if (out_reserve(c, bytes) != 0) {
		connection_close(c);
		return;
	}
	dp_chain_copy_out(reply, c->out + c->out_bytes, bytes);
	c->out_bytes += bytes;
	flush_out(c);
	if (c->fd >= 0)
		serve_frames(s, index);
}

static void drain_worker_replies(struct dp_service *s)
{
	struct rte_mbuf *replies[BB_BURST_MAX];
	for (uint32_t w = 0; w < s->app->worker_count; w++) {
		unsigned int n = rte_ring_sc_dequeue_burst(s->app->local_replies[w],
		                                           (void **)replies, BB_BURST_MAX, NULL);
		for (unsigned int i = 0; i < n; i++) {
			uint32_t id = dp_meta(replies[i])->local_connection;
			struct dp_local_connection *c = &s->connections[id & 0xffff];
			/* A reply for a connection that has gone is dropped. */
			if (c->fd >= 0 && c->generation == id >> 16)
				take_reply(s, id & 0xffff, replies[i]);
			rte_pktmbuf_free(replies[i]);
		}
	}
}

/* What poll reported for a connection: output written, then input read if it is free. */
static void serve_events(struct dp_service *s, uint32_t index, short revents)
{
	struct dp_local_connection *c = &s->connections[index];
	if (revents & POLLOUT) {
		size_t before = c->out_bytes;
		flush_out(c);
		if (c->fd >= 0 && c->out_bytes < before)
			c->last_active_ms = s->now_ms;
		if (c->fd >= 0 && c->out_bytes == 0)
			serve_frames(s, index); /* resumes reading, or closes a closing one */
	}
	if (c->fd < 0)
		return;
	if (!connection_busy(c) && (revents & (POLLIN | POLLHUP | POLLERR)))
		read_connection(s, index);
	else if (revents & (POLLHUP | POLLERR))
		connection_close(c); /* gone while a reply was due: it is dropped */
}

uint64_t dp_service_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void dp_service_expire(struct dp_service *s, uint64_t now_ms)
{
	for (uint32_t i = 0; i < BB_LOCAL_CONNECTIONS_MAX; i++) {
		struct dp_local_connection *c = &s->connections[i];
		uint64_t timeout_ms =
		    c->reserved ? BB_LOCAL_RESERVED_IDLE_TIMEOUT_MS : BB_LOCAL_IDLE_TIMEOUT_MS;
		if (c->fd >= 0 && now_ms > c->last_active_ms + timeout_ms)
			connection_close(c);
	}
}

void dp_service_poll(struct dp_service *s, int timeout_ms)
{
	struct pollfd fds[BB_LOCAL_CONNECTIONS_MAX + 1];
	fds[0] = (struct pollfd){.fd = s->listen_fd, .events = POLLIN};
	for (uint32_t i = 0; i < BB_LOCAL_CONNECTIONS_MAX; i++) {
		const struct dp_local_connection *c = &s->connections[i];
		short events = (short)((connection_busy(c) ? 0 : POLLIN) |
		                       (c->out_bytes > 0 ? POLLOUT : 0));
		fds[i + 1] = (struct pollfd){.fd = c->fd, .events = events};
	}
	int ready = poll(fds, BB_LOCAL_CONNECTIONS_MAX + 1, timeout_ms);
	s->now_ms = dp_service_now_ms();
	if (ready > 0) {
		if (fds[0].revents & POLLIN)
			accept_connections(s);
		for (uint32_t i = 0; i < BB_LOCAL_CONNECTIONS_MAX; i++) {
			if (fds[i + 1].fd < 0 || s->connections[i].fd != fds[i + 1].fd)
				continue;
			serve_events(s, i, fds[i + 1].revents);
		}
	}
	drain_worker_replies(s);
	dp_service_expire(s, s->now_ms);
}
