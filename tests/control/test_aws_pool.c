/*
 * The pool of busbard connections (control/ctl_aws_pool.c) against a fake
 * busbard on a Unix socket: many threads submit calls at once, as
 * libmicrohttpd's thread and the /metrics scrapes do under load, and every
 * call must end exactly once with its own reply. A call lost in the waiting
 * list is an HTTP request never answered (issue 15: 1-172 signed SendMessage
 * calls a run under busbar-bench's sqs-http peer). Nothing here is timed: the
 * waits are only bounds, so that a lost call fails the test instead of hanging it.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "bb_endian.h"
#include "ctl_aws_pool.h"

/* As many calls in flight as the pool has connections, so the waiting list is mostly
 * empty or one long: a call queued while the one before it starts is the race to catch. */
#define SUBMITTERS        8u
#define CALLS_EACH        20000u
#define OUTSTANDING_EACH  (CTL_POOL_CONNECTIONS / SUBMITTERS > 0 ? CTL_POOL_CONNECTIONS / SUBMITTERS : 1u)
#define STALL_BOUND_S     20   /* no call ending for this long: the rest are lost */
#define FAKE_CLIENTS_MAX  (CTL_POOL_CONNECTIONS + 1u)

_Static_assert(SUBMITTERS * OUTSTANDING_EACH < CTL_POOL_WAITING_MAX,
               "the submitters never meet the waiting list's bound");

/* ---- a busbard that answers every frame at once, echoing its client id ---- */

struct fake_client {
	int fd;
	uint8_t in[BB_WIRE_HEADER_BYTES];
	size_t in_bytes;
};

struct fake_busbard {
	char path[108];
	int backlog;
	uint32_t answers_per_accept; /* 0: accepts at once, else one more connection per so many */
	uint32_t answers;
	uint32_t accepted;
	int listen_fd;
	int stop_pipe[2];
	pthread_t thread;
	struct fake_client clients[FAKE_CLIENTS_MAX];
};

static void fake_answer(struct fake_client *c)
{
	struct wire_header request;
	cr_assert_eq(wire_header_decode(c->in, sizeof(c->in), &request), WIRE_OK);
	struct wire_header reply = {.version = WIRE_VERSION,
	                            .opcode = request.opcode,
	                            .flags = WIRE_FLAG_RESPONSE,
	                            .client_id = request.client_id,
	                            .request_id = request.request_id};
	uint8_t out[BB_WIRE_HEADER_BYTES];
	wire_header_encode(&reply, out);
	/* 64 bytes into an empty socket buffer: written whole. */
	cr_assert_eq(send(c->fd, out, sizeof(out), MSG_NOSIGNAL), (ssize_t)sizeof(out));
	c->in_bytes = 0;
}

static void fake_read(struct fake_busbard *f, struct fake_client *c)
{
	ssize_t n = recv(c->fd, c->in + c->in_bytes, sizeof(c->in) - c->in_bytes, 0);
	if (n <= 0) { /* the pool closed it */
		close(c->fd);
		c->fd = -1;
		return;
	}
	c->in_bytes += (size_t)n;
	if (c->in_bytes == sizeof(c->in)) {
		fake_answer(c);
		f->answers++;
	}
}

static void fake_accept(struct fake_busbard *f)
{
	int fd = accept(f->listen_fd, NULL, NULL);
	cr_assert_geq(fd, 0);
	for (size_t i = 0; i < FAKE_CLIENTS_MAX; i++) {
		if (f->clients[i].fd < 0) {
			f->clients[i] = (struct fake_client){.fd = fd};
			f->accepted++;
			return;
		}
	}
	cr_assert_fail("the pool opened more than %u connections", CTL_POOL_CONNECTIONS);
}

/* A busy busbard accepts between its bursts: its backlog fills meanwhile. */
static bool fake_accepts_now(const struct fake_busbard *f)
{
	return f->answers_per_accept == 0 || f->answers >= f->accepted * f->answers_per_accept;
}

static void *fake_run(void *arg)
{
	struct fake_busbard *f = arg;
	for (;;) { /* until the stop pipe is written */
		struct pollfd fds[FAKE_CLIENTS_MAX + 2] = {
		    {.fd = f->stop_pipe[0], .events = POLLIN},
		    {.fd = fake_accepts_now(f) ? f->listen_fd : -1, .events = POLLIN}};
		for (size_t i = 0; i < FAKE_CLIENTS_MAX; i++)
			fds[i + 2] = (struct pollfd){.fd = f->clients[i].fd, .events = POLLIN};
		cr_assert_geq(poll(fds, FAKE_CLIENTS_MAX + 2, -1), 0);
		if (fds[0].revents != 0)
			return NULL;
		if (fds[1].revents & POLLIN)
			fake_accept(f);
		for (size_t i = 0; i < FAKE_CLIENTS_MAX; i++)
			if (f->clients[i].fd >= 0 && fds[i + 2].revents != 0)
				fake_read(f, &f->clients[i]);
	}
}

static void fake_start(struct fake_busbard *f, int backlog, uint32_t answers_per_accept)
{
	*f = (struct fake_busbard){.backlog = backlog, .answers_per_accept = answers_per_accept};
	snprintf(f->path, sizeof(f->path), "/tmp/test_aws_pool.%d.sock", (int)getpid());
	unlink(f->path);
	f->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	strcpy(addr.sun_path, f->path);
	cr_assert_eq(bind(f->listen_fd, (const struct sockaddr *)&addr, sizeof(addr)), 0);
	cr_assert_eq(listen(f->listen_fd, f->backlog), 0);
	cr_assert_eq(pipe(f->stop_pipe), 0);
	for (size_t i = 0; i < FAKE_CLIENTS_MAX; i++)
		f->clients[i].fd = -1;
	cr_assert_eq(pthread_create(&f->thread, NULL, fake_run, f), 0);
}

static void fake_stop(struct fake_busbard *f)
{
	cr_assert_eq(write(f->stop_pipe[1], "x", 1), 1);
	pthread_join(f->thread, NULL);
	for (size_t i = 0; i < FAKE_CLIENTS_MAX; i++)
		if (f->clients[i].fd >= 0)
			close(f->clients[i].fd);
	close(f->listen_fd);
	close(f->stop_pipe[0]);
	close(f->stop_pipe[1]);
	unlink(f->path);
}

/* ---- the calls ---- */

struct submitter;

struct test_call {
	struct ctl_pool_call call;
	struct submitter *owner;
	uint64_t client_id;
	atomic_uint ends; /* callbacks run: must end at exactly 1 */
};

struct submitter {
	struct ctl_pool *pool;
	uint32_t index;
	struct test_call calls[CALLS_EACH];
	atomic_uint mismatched; /* replies carrying another call's client id */
	atomic_uint answered;   /* calls ended with busbard's reply */
	pthread_mutex_t lock;
	pthread_cond_t ended;
	uint32_t outstanding;
	uint32_t submitted;
};

static struct submitter submitters[SUBMITTERS];

static void on_done(void *context, int status, const struct wire_header *reply,
                    const uint8_t *body, size_t body_bytes)
{
	struct test_call *t = context;
	struct submitter *s = t->owner;
	(void)body;
	(void)body_bytes;
	atomic_fetch_add(&t->ends, 1);
	if (status == 0 && reply->client_id != t->client_id)
		atomic_fetch_add(&s->mismatched, 1);
	if (status == 0)
		atomic_fetch_add(&s->answered, 1);
	pthread_mutex_lock(&s->lock);
	s->outstanding--;
	pthread_cond_signal(&s->ended);
	pthread_mutex_unlock(&s->lock);
}

static uint8_t *frame_for(uint64_t client_id)
{
	uint8_t *frame = malloc(BB_WIRE_HEADER_BYTES);
	cr_assert_not_null(frame);
	struct wire_header h = {
	    .version = WIRE_VERSION, .opcode = WIRE_OP_GET_STATS, .client_id = client_id};
	wire_header_encode(&h, frame);
	return frame;
}

/* Waits for room under OUTSTANDING_EACH; false once no call ended for STALL_BOUND_S. */
static bool wait_for_room(struct submitter *s, uint32_t limit)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += STALL_BOUND_S;
	pthread_mutex_lock(&s->lock);
	int rc = 0;
	while (s->outstanding > limit && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&s->ended, &s->lock, &until);
	bool room = s->outstanding <= limit;
	pthread_mutex_unlock(&s->lock);
	return room;
}

static void *submit_all(void *arg)
{
	struct submitter *s = arg;
	for (uint32_t i = 0; i < CALLS_EACH; i++) {
		if (!wait_for_room(s, OUTSTANDING_EACH - 1))
			break;
		struct test_call *t = &s->calls[i];
		t->owner = s;
		t->client_id = ((uint64_t)s->index << 32) | i;
		t->call = (struct ctl_pool_call){.frame = frame_for(t->client_id),
		                                 .frame_bytes = BB_WIRE_HEADER_BYTES,
		                                 .done = on_done,
		                                 .context = t};
		pthread_mutex_lock(&s->lock);
		s->outstanding++;
		pthread_mutex_unlock(&s->lock);
		cr_assert_eq(ctl_pool_submit(s->pool, &t->call), 0);
		s->submitted++;
	}
	wait_for_room(s, 0); /* every call ended, or the rest are lost */
	return NULL;
}

/* Runs every submitter's calls through a pool to the fake, then stops both. */
static void run_calls(struct fake_busbard *fake)
{
	struct ctl_pool pool;
	cr_assert_eq(ctl_pool_start(&pool, fake->path), 0);
	pthread_t threads[SUBMITTERS];
	for (uint32_t i = 0; i < SUBMITTERS; i++) {
		submitters[i] = (struct submitter){.pool = &pool, .index = i};
		pthread_mutex_init(&submitters[i].lock, NULL);
		pthread_cond_init(&submitters[i].ended, NULL);
		cr_assert_eq(pthread_create(&threads[i], NULL, submit_all, &submitters[i]), 0);
	}
	for (uint32_t i = 0; i < SUBMITTERS; i++)
		pthread_join(threads[i], NULL);
	/* Stopping ends whatever still waits (cancelled): a call still without an end is lost. */
	ctl_pool_stop(&pool);
	fake_stop(fake);
}

/* Every call ended exactly once, answered, with its own reply. */
static void check_calls(void)
{
	for (uint32_t i = 0; i < SUBMITTERS; i++) {
		struct submitter *s = &submitters[i];
		uint32_t lost = 0, twice = 0;
		for (uint32_t c = 0; c < s->submitted; c++) {
			unsigned ends = atomic_load(&s->calls[c].ends);
			lost += ends == 0;
			twice += ends > 1;
		}
		cr_assert_eq(lost, 0, "submitter %u: %u calls never ended", i, lost);
		cr_assert_eq(twice, 0, "submitter %u: %u calls ended twice", i, twice);
		cr_assert_eq(s->submitted, CALLS_EACH, "submitter %u stalled after %u calls", i,
		             s->submitted);
		cr_assert_eq(atomic_load(&s->answered), CALLS_EACH, "submitter %u: %u of %u answered", i,
		             atomic_load(&s->answered), CALLS_EACH);
		cr_assert_eq(atomic_load(&s->mismatched), 0, "submitter %u", i);
	}
}

Test(aws_pool, every_call_from_many_threads_ends_once_with_its_own_reply, .timeout = 240)
{
	struct fake_busbard fake;
	fake_start(&fake, 128, 0);
	run_calls(&fake);
	check_calls();
}

/* busbard's local socket has a small backlog and accepts between bursts: a connect that
 * finds it full (EAGAIN) while busbard has the pool's other connections is not a busbard
 * that is gone, so the call waits for a connection instead of failing ServiceUnavailable. */
Test(aws_pool, a_full_backlog_makes_calls_wait_not_fail, .timeout = 240)
{
	struct fake_busbard fake;
	fake_start(&fake, 0, 64);
	run_calls(&fake);
	cr_assert_gt(fake.accepted, 1, "the pool opened more connections over time");
	check_calls();
}
