/*
 * The pool of local-socket connections to busbard (see ctl_aws_pool.h).
 * Invariants: a connection carries at most one call; a call is either in the
 * waiting list, on one connection, or done (its callback ran exactly once);
 * only the pool thread touches connections, so only the waiting list is
 * locked. Connections idle for CTL_POOL_IDLE_MS are closed by us before
 * busbard's own idle timeout could close one under a request being written.
 */
#include "ctl_aws_pool.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "bb_endian.h"

#define CTL_POOL_IDLE_MS    30000u
#define CTL_POOL_TICK_MS    250
#define CTL_POOL_EVENTS_MAX 64
#define WAKE_TAG            UINT32_MAX

_Static_assert(CTL_POOL_IDLE_MS < BB_LOCAL_IDLE_TIMEOUT_MS,
               "the pool closes its idle connections before busbard does");

struct ctl_pool_connection {
	int fd; /* -1: closed */
	struct ctl_pool_call *call;
	size_t sent;
	uint8_t *in; /* the reply being read: header, then the whole frame */
	size_t in_bytes;
	size_t in_need;
	uint64_t used_ms;
	uint64_t request_id;
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void finish(struct ctl_pool *pool, struct ctl_pool_call *call, int status,
                   const struct wire_header *reply, const uint8_t *body, size_t body_bytes)
{
	free(call->frame);
	call->frame = NULL;
	if (status == 0)
		pool->calls_completed++;
	else
		pool->calls_failed++;
	call->done(call->context, status, reply, body, body_bytes);
}

static void connection_close(struct ctl_pool *pool, struct ctl_pool_connection *c, int status)
{
	if (c->fd >= 0)
		close(c->fd); /* also leaves the epoll set */
	struct ctl_pool_call *call = c->call;
	if (call != NULL && call->wait_s > 0)
		pool->long_polls--;
	free(c->in);
	*c = (struct ctl_pool_connection){.fd = -1};
	if (call != NULL)
		finish(pool, call, status, NULL, NULL, 0);
}

static int connection_open(struct ctl_pool *pool, struct ctl_pool_connection *c, uint32_t index)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	memcpy(addr.sun_path, pool->socket_path, sizeof(pool->socket_path));
	/* A Unix socket connects at once or not at all (a full backlog is EAGAIN). */
	if (connect(fd, (const struct sockaddr *)&addr, sizeof(addr)) != 0) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.u32 = index};
	if (epoll_ctl(pool->epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	c->fd = fd;
	return 0;
}

static void want_output(struct ctl_pool *pool, struct ctl_pool_connection *c, uint32_t index,
                        bool on)
{
	struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | (on ? EPOLLOUT : 0),
	                         .data.u32 = index};
	if (epoll_ctl(pool->epoll_fd, EPOLL_CTL_MOD, c->fd, &ev) != 0)
		connection_close(pool, c, -EIO);
}

static void write_some(struct ctl_pool *pool, struct ctl_pool_connection *c, uint32_t index)
{
	struct ctl_pool_call *call = c->call;
	while (c->sent < call->frame_bytes) { /* bounded: each pass sends or returns */
		ssize_t n =
		    send(c->fd, call->frame + c->sent, call->frame_bytes - c->sent, MSG_NOSIGNAL);
		if (n < 0 && errno == EAGAIN) {
			want_output(pool, c, index, true);
			return;
		}
		if (n <= 0) {
			connection_close(pool, c, -EIO);
			return;
		}
		c->sent += (size_t)n;
	}
	want_output(pool, c, index, false);
}

/* The reply is whole: checked against the request, then handed over. */
static void complete(struct ctl_pool *pool, struct ctl_pool_connection *c)
{
	struct wire_header reply;
	enum wire_status decoded = wire_header_decode(c->in, c->in_bytes, &reply);
	struct ctl_pool_call *call = c->call;
	if (decoded != WIRE_OK || reply.request_id != c->request_id ||
	    !(reply.flags & WIRE_FLAG_RESPONSE)) {
		connection_close(pool, c, -EPROTO);
		return;
	}
	c->call = NULL;
	if (call->wait_s > 0)
		pool->long_polls--;
	c->used_ms = now_ms();
	finish(pool, call, 0, &reply, c->in + BB_WIRE_HEADER_BYTES,
	       c->in_bytes - BB_WIRE_HEADER_BYTES);
	free(c->in);
	c->in = NULL;
	c->in_bytes = 0;
	c->in_need = 0;
}

static void read_some(struct ctl_pool *pool, struct ctl_pool_connection *c)
{
	if (c->call == NULL) { /* busbard closed an idle connection, or sent what we did not ask */
		connection_close(pool, c, 0);
		return;
	}
	if (c->in == NULL) {
		c->in = malloc(BB_WIRE_HEADER_BYTES);
		c->in_need = BB_WIRE_HEADER_BYTES;
		if (c->in == NULL) {
			connection_close(pool, c, -ENOMEM);
			return;
		}
	}
	ssize_t n = recv(c->fd, c->in + c->in_bytes, c->in_need - c->in_bytes, 0);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0) {
		connection_close(pool, c, -EIO);
		return;
	}
	c->in_bytes += (size_t)n;
	if (c->in_bytes < c->in_need)
		return;
	if (c->in_need == BB_WIRE_HEADER_BYTES) { /* the header says how much follows */
		uint32_t body_bytes = bb_get_le32(c->in + 8);
		uint8_t *grown = body_bytes <= BB_LOCAL_BODY_BYTES_MAX
		                     ? realloc(c->in, BB_WIRE_HEADER_BYTES + (size_t)body_bytes)
		                     : NULL;
		if (grown == NULL) {
			connection_close(pool, c, -EPROTO);
			return;
		}
		c->in = grown;
		c->in_need = BB_WIRE_HEADER_BYTES + (size_t)body_bytes;
		if (c->in_bytes < c->in_need)
			return;
	}
	complete(pool, c);
}

/* Puts a call on connection index, which is open and idle. */
static void start_call(struct ctl_pool *pool, uint32_t index, struct ctl_pool_call *call)
{
	struct ctl_pool_connection *c = &pool->connections[index];
	assert(c->fd >= 0 && c->call == NULL);
	/* Our request id, so a reply is matched to its call (busbard echoes it). */
	c->request_id++;
	bb_put_le64(call->frame + 24, c->request_id);
	c->call = call;
	c->sent = 0;
	call->deadline_ms = now_ms() + (uint64_t)call->wait_s * 1000u + CTL_POOL_ANSWER_SLACK_MS;
	if (call->wait_s > 0)
		pool->long_polls++;
	write_some(pool, c, index);
}

/* A free connection: an open idle one first, else a closed slot; UINT32_MAX if none. */
static uint32_t free_connection(const struct ctl_pool *pool)
{
	uint32_t closed = UINT32_MAX;
	for (uint32_t i = 0; i < CTL_POOL_CONNECTIONS; i++) {
		const struct ctl_pool_connection *c = &pool->connections[i];
		if (c->fd >= 0 && c->call == NULL)
			return i;
		if (c->fd < 0 && closed == UINT32_MAX)
			closed = i;
	}
	return closed;
}

/*
 * Takes the first waiting call that may start now, or NULL: a long poll over its
 * budget stays without holding up the calls behind it. Called with the lock held;
 * head, tail and count stay true, since ctl_pool_submit appends behind the tail as
 * soon as the lock is let go (a tail left pointing at a taken call lost the calls
 * queued behind it, never answered: issue 15).
 */
static struct ctl_pool_call *take_startable(struct ctl_pool *pool)
{
	struct ctl_pool_call *before = NULL;
	struct ctl_pool_call *call = pool->waiting_head;
	while (call != NULL && call->wait_s > 0 &&
	       pool->long_polls >= CTL_POOL_LONG_POLLS_MAX) { /* bounded by the waiting list */
		before = call;
		call = call->next;
	}
	if (call == NULL)
		return NULL;
	if (before != NULL)
		before->next = call->next;
	else
		pool->waiting_head = call->next;
	if (pool->waiting_tail == call)
		pool->waiting_tail = before;
	pool->waiting_count--;
	call->next = NULL;
	return call;
}

/* A call taken but not started goes back first in line. */
static void put_back(struct ctl_pool *pool, struct ctl_pool_call *call)
{
	pthread_mutex_lock(&pool->lock);
	call->next = pool->waiting_head;
	pool->waiting_head = call;
	if (pool->waiting_tail == NULL)
		pool->waiting_tail = call;
	pool->waiting_count++;
	pthread_mutex_unlock(&pool->lock);
}

static bool any_open(const struct ctl_pool *pool)
{
	for (uint32_t i = 0; i < CTL_POOL_CONNECTIONS; i++)
		if (pool->connections[i].fd >= 0)
			return true;
	return false;
}

/* Starts the waiting calls that may start now, in order. */
static void dispatch(struct ctl_pool *pool)
{
	for (;;) { /* bounded: each pass starts or ends a call, or returns */
		uint32_t index = free_connection(pool);
		if (index == UINT32_MAX)
			return;
		pthread_mutex_lock(&pool->lock);
		struct ctl_pool_call *call = take_startable(pool);
		pthread_mutex_unlock(&pool->lock);
		if (call == NULL)
			return;
		struct ctl_pool_connection *c = &pool->connections[index];
		int rc = c->fd >= 0 ? 0 : connection_open(pool, c, index);
		/* busbard's backlog is full (it accepts between its bursts): while it has our other
		 * connections, the call waits for one of them rather than failing. */
		if (rc == -EAGAIN && any_open(pool)) {
			put_back(pool, call);
			return;
		}
		if (rc != 0) {
			finish(pool, call, rc == -EAGAIN ? -ECONNREFUSED : rc, NULL, NULL, 0);
			continue;
		}
		start_call(pool, index, call);
	}
}

/* Calls past their deadline, and connections idle too long. */
static void expire(struct ctl_pool *pool)
{
	uint64_t now = now_ms();
	for (uint32_t i = 0; i < CTL_POOL_CONNECTIONS; i++) {
		struct ctl_pool_connection *c = &pool->connections[i];
		if (c->call != NULL && now >= c->call->deadline_ms)
			connection_close(pool, c, -ETIMEDOUT);
		else if (c->fd >= 0 && c->call == NULL && now >= c->used_ms + CTL_POOL_IDLE_MS)
			connection_close(pool, c, 0);
	}
}

static void drain_all(struct ctl_pool *pool)
{
	for (uint32_t i = 0; i < CTL_POOL_CONNECTIONS; i++)
		connection_close(pool, &pool->connections[i], -ECANCELED);
	pthread_mutex_lock(&pool->lock);
	struct ctl_pool_call *call = pool->waiting_head;
	pool->waiting_head = pool->waiting_tail = NULL;
	pool->waiting_count = 0;
	pthread_mutex_unlock(&pool->lock);
	while (call != NULL) { /* bounded by CTL_POOL_WAITING_MAX */
		struct ctl_pool_call *next = call->next;
		finish(pool, call, -ECANCELED, NULL, NULL, 0);
		call = next;
	}
}

static void handle_event(struct ctl_pool *pool, const struct epoll_event *ev)
{
	if (ev->data.u32 == WAKE_TAG) {
		uint64_t count;
		/* Only clears the counter: what woke us is looked at after the events. */
		ssize_t n = read(pool->wake_fd, &count, sizeof(count));
		(void)n;
		return;
	}
	struct ctl_pool_connection *c = &pool->connections[ev->data.u32];
	if (c->fd < 0)
		return;
	if ((ev->events & EPOLLOUT) && c->call != NULL && c->sent < c->call->frame_bytes)
		write_some(pool, c, ev->data.u32);
	if (c->fd >= 0 && (ev->events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
		read_some(pool, c);
}

static void *run(void *arg)
{
	struct ctl_pool *pool = arg;
	struct epoll_event events[CTL_POOL_EVENTS_MAX];
	for (;;) { /* until stop */
		int n = epoll_wait(pool->epoll_fd, events, CTL_POOL_EVENTS_MAX, CTL_POOL_TICK_MS);
		for (int i = 0; i < n; i++)
			handle_event(pool, &events[i]);
		pthread_mutex_lock(&pool->lock);
		bool stop = pool->stop;
		pthread_mutex_unlock(&pool->lock);
		if (stop)
			break;
		expire(pool);
		dispatch(pool);
	}
	drain_all(pool);
	return NULL;
}

int ctl_pool_start(struct ctl_pool *pool, const char *socket_path)
{
	assert(pool != NULL && socket_path != NULL);
	*pool = (struct ctl_pool){.lock = PTHREAD_MUTEX_INITIALIZER, .epoll_fd = -1, .wake_fd = -1};
	if (strlen(socket_path) >= sizeof(pool->socket_path))
		return -ENAMETOOLONG;
	strcpy(pool->socket_path, socket_path);
	pool->connections = calloc(CTL_POOL_CONNECTIONS, sizeof(*pool->connections));
	pool->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	pool->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = WAKE_TAG};
	int rc = pool->connections == NULL || pool->epoll_fd < 0 || pool->wake_fd < 0 ||
	                 epoll_ctl(pool->epoll_fd, EPOLL_CTL_ADD, pool->wake_fd, &ev) != 0
	             ? -ENOMEM
	             : 0;
	for (uint32_t i = 0; rc == 0 && i < CTL_POOL_CONNECTIONS; i++)
		pool->connections[i].fd = -1;
	if (rc == 0)
		rc = -pthread_create(&pool->thread, NULL, run, pool);
	if (rc != 0) {
		free(pool->connections);
		if (pool->epoll_fd >= 0)
			close(pool->epoll_fd);
		if (pool->wake_fd >= 0)
			close(pool->wake_fd);
	}
	return rc;
}

static void wake(struct ctl_pool *pool)
{
	uint64_t one = 1;
	/* EAGAIN: the counter is full, so the thread is woken anyway. */
	if (write(pool->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		abort();
}

void ctl_pool_stop(struct ctl_pool *pool)
{
	assert(pool != NULL && pool->connections != NULL);
	pthread_mutex_lock(&pool->lock);
	pool->stop = true;
	pthread_mutex_unlock(&pool->lock);
	wake(pool);
	pthread_join(pool->thread, NULL);
	free(pool->connections);
	pool->connections = NULL;
	close(pool->epoll_fd);
	close(pool->wake_fd);
}

int ctl_pool_submit(struct ctl_pool *pool, struct ctl_pool_call *call)
{
	assert(pool != NULL && call != NULL && call->done != NULL);
	assert(call->frame_bytes >= BB_WIRE_HEADER_BYTES &&
	       call->frame_bytes <= CTL_POOL_FRAME_BYTES_MAX);
	call->next = NULL;
	pthread_mutex_lock(&pool->lock);
	int rc = pool->stop                                    ? -ECANCELED
	         : pool->waiting_count >= CTL_POOL_WAITING_MAX ? -ENOBUFS
	                                                       : 0;
	if (rc == 0) {
		if (pool->waiting_tail != NULL)
			pool->waiting_tail->next = call;
		else
			pool->waiting_head = call;
		pool->waiting_tail = call;
		pool->waiting_count++;
	}
	pthread_mutex_unlock(&pool->lock);
	if (rc != 0) {
		free(call->frame);
		call->frame = NULL;
		return rc;
	}
	wake(pool);
	return 0;
}
