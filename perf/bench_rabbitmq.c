/*
 * `busbar-bench rabbitmq`: the RabbitMQ peer, a quorum queue (replicated Raft log,
 * fsynced before it confirms) driven with librabbitmq through the peers' loop
 * (bench_peer.c). `send` publishes each body persistent (delivery mode 2) to the
 * queue on a channel in confirm mode: an operation completes when the broker's
 * basic.ack covers its delivery tag (basic.nack: an error). `cycle` is publish,
 * basic.get without auto-ack on a second channel, then a manual basic.ack of the
 * delivery got; AMQP does not answer an ack, so the cycle completes when the ack is
 * written, and latency counts publish-to-confirm and get-to-get-ok.
 *
 * Delivery tags count publishes on the channel from 1, so tag t maps to the token
 * kept in tags[t mod BENCH_SLOTS] (at most BENCH_WINDOW_MAX unconfirmed, a quarter
 * of that). A multiple ack confirms every tag from the oldest unconfirmed up to it.
 * basic.get-ok replies come in the order of the gets (one channel), a FIFO.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include <amqp.h>
#include <amqp_tcp_socket.h>

#include "bench_peer.h"

#define RABBIT_QUEUE        "bench"
#define RABBIT_CH_PUBLISH   1
#define RABBIT_CH_CONSUME   2
#define RABBIT_FRAME_BYTES  131072
#define RABBIT_CONNECT_S    5
#define RABBIT_PERSISTENT   2 /* AMQP delivery mode: write to disk */

enum rabbit_step { RABBIT_PUBLISH, RABBIT_GET, RABBIT_ACK };

struct rabbit_lane {
	enum rabbit_step step;
};

struct rabbit_bench {
	amqp_connection_state_t conn;
	const struct bench_cli *cli;
	uint64_t publish_tag;     /* the last publish's delivery tag */
	uint64_t oldest_unconfirmed;
	uint64_t tags[BENCH_SLOTS]; /* delivery tag -> token (0: confirmed) */
	uint64_t gets[BENCH_WINDOW_MAX]; /* tokens of gets in flight, oldest first */
	uint32_t gets_head, gets_count;
	struct rabbit_lane lanes[BENCH_WINDOW_MAX];
	uint32_t token_lane[BENCH_SLOTS]; /* a get's lane, to move it on */
	struct bench_peer_done *out;
	uint32_t out_count, out_max;
};

static int reply_status(amqp_rpc_reply_t r, const char *what)
{
	if (r.reply_type == AMQP_RESPONSE_NORMAL)
		return 0;
	if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION &&
	    r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
		const amqp_channel_close_t *c = r.reply.decoded;
		fprintf(stderr, "busbar-bench rabbitmq: %s: %.*s\n", what,
		        (int)c->reply_text.len, (const char *)c->reply_text.bytes);
	} else {
		fprintf(stderr, "busbar-bench rabbitmq: %s: %s\n", what,
		        r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION
		            ? amqp_error_string2(r.library_error)
		            : "refused by the broker");
	}
	return -EPROTO;
}

/* A durable quorum queue, and confirm mode on the publishing channel. */
static int declare(struct rabbit_bench *b)
{
	amqp_table_entry_t type = {
	    .key = amqp_cstring_bytes("x-queue-type"),
	    .value = {.kind = AMQP_FIELD_KIND_UTF8, .value.bytes = amqp_cstring_bytes("quorum")}};
	amqp_table_t arguments = {.num_entries = 1, .entries = &type};
	amqp_channel_open(b->conn, RABBIT_CH_PUBLISH);
	int rc = reply_status(amqp_get_rpc_reply(b->conn), "channel.open");
	if (rc == 0) {
		amqp_queue_declare(b->conn, RABBIT_CH_PUBLISH, amqp_cstring_bytes(RABBIT_QUEUE), 0,
		                   1, 0, 0, arguments);
		rc = reply_status(amqp_get_rpc_reply(b->conn), "queue.declare (quorum)");
	}
	if (rc == 0) {
		amqp_confirm_select(b->conn, RABBIT_CH_PUBLISH);
		rc = reply_status(amqp_get_rpc_reply(b->conn), "confirm.select");
	}
	if (rc == 0) {
		amqp_channel_open(b->conn, RABBIT_CH_CONSUME);
		rc = reply_status(amqp_get_rpc_reply(b->conn), "channel.open");
	}
	return rc;
}

static int connect_broker(struct rabbit_bench *b)
{
	b->conn = amqp_new_connection();
	amqp_socket_t *socket = b->conn != NULL ? amqp_tcp_socket_new(b->conn) : NULL;
	struct timeval timeout = {.tv_sec = RABBIT_CONNECT_S};
	if (socket == NULL || amqp_socket_open_noblock(socket, b->cli->server_ip,
	                                               b->cli->server_port, &timeout) != 0) {
		fprintf(stderr, "busbar-bench rabbitmq: cannot connect to %s:%u\n",
		        b->cli->server_ip, b->cli->server_port);
		return -ECONNREFUSED;
	}
	amqp_rpc_reply_t login = amqp_login(b->conn, "/", 0, RABBIT_FRAME_BYTES, 0,
	                                    AMQP_SASL_METHOD_PLAIN, "guest", "guest");
	int rc = reply_status(login, "login");
	return rc == 0 ? declare(b) : rc;
}

static void done(struct rabbit_bench *b, uint64_t token, bool ok, bool cycle_done)
{
	assert(b->out_count < b->out_max);
	b->out[b->out_count++] =
	    (struct bench_peer_done){.token = token, .ok = ok, .cycle_done = cycle_done};
}

static int rabbit_submit(void *state, uint64_t token, uint32_t lane, uint32_t body)
{
	struct rabbit_bench *b = state;
	struct rabbit_lane *l = &b->lanes[lane];
	if (l->step == RABBIT_GET) {
		amqp_basic_get_t get = {.queue = amqp_cstring_bytes(RABBIT_QUEUE), .no_ack = 0};
		int rc = amqp_send_method(b->conn, RABBIT_CH_CONSUME, AMQP_BASIC_GET_METHOD, &get);
		uint32_t tail = (b->gets_head + b->gets_count++) % BENCH_WINDOW_MAX;
		b->gets[tail] = token;
		b->token_lane[token & (BENCH_SLOTS - 1)] = lane;
		return rc == AMQP_STATUS_OK ? 0 : -EIO;
	}
	assert(l->step == RABBIT_PUBLISH);
	const struct bench_bodies *bodies = b->cli->load.bodies;
	amqp_basic_properties_t props = {._flags = AMQP_BASIC_DELIVERY_MODE_FLAG,
	                                 .delivery_mode = RABBIT_PERSISTENT};
	amqp_bytes_t bytes = {.len = bodies->bytes[body], .bytes = bodies->data[body]};
	int rc = amqp_basic_publish(b->conn, RABBIT_CH_PUBLISH, amqp_empty_bytes,
	                            amqp_cstring_bytes(RABBIT_QUEUE), 0, 0, &props, bytes);
	if (rc != AMQP_STATUS_OK)
		return -EIO;
	b->tags[++b->publish_tag & (BENCH_SLOTS - 1)] = token;
	if (b->cli->load.op == BENCH_OP_CYCLE)
		l->step = RABBIT_GET;
	return 0;
}

/* basic.ack / basic.nack on the publishing channel: confirms one tag or all up to it. */
static void confirm(struct rabbit_bench *b, uint64_t tag, bool multiple, bool ok)
{
	uint64_t first = multiple ? b->oldest_unconfirmed : tag;
	for (uint64_t t = first; t <= tag && t <= b->publish_tag; t++) {
		uint64_t *token = &b->tags[t & (BENCH_SLOTS - 1)];
		if (*token != 0)
			done(b, *token, ok, false);
		*token = 0;
	}
	while (b->oldest_unconfirmed <= b->publish_tag &&
	       b->tags[b->oldest_unconfirmed & (BENCH_SLOTS - 1)] == 0)
		b->oldest_unconfirmed++;
}

/* The oldest get's answer: get-ok (ack it, the lane's cycle is done) or get-empty. */
static int got(struct rabbit_bench *b, const amqp_frame_t *frame)
{
	if (b->gets_count == 0)
		return -EPROTO;
	uint64_t token = b->gets[b->gets_head];
	b->gets_head = (b->gets_head + 1) % BENCH_WINDOW_MAX;
	b->gets_count--;
	struct rabbit_lane *l = &b->lanes[b->token_lane[token & (BENCH_SLOTS - 1)]];
	if (frame->payload.method.id == AMQP_BASIC_GET_EMPTY_METHOD) {
		done(b, token, true, false); /* nothing there yet: the lane gets again */
		return 0;
	}
	const amqp_basic_get_ok_t *ok = frame->payload.method.decoded;
	amqp_basic_ack_t ack = {.delivery_tag = ok->delivery_tag, .multiple = 0};
	int rc = amqp_send_method(b->conn, RABBIT_CH_CONSUME, AMQP_BASIC_ACK_METHOD, &ack);
	l->step = RABBIT_PUBLISH;
	done(b, token, rc == AMQP_STATUS_OK, true);
	return rc == AMQP_STATUS_OK ? 0 : -EIO;
}

static int take_frame(struct rabbit_bench *b, const amqp_frame_t *frame)
{
	if (frame->frame_type != AMQP_FRAME_METHOD)
		return 0; /* a got message's header and body: its get-ok already counted */
	const amqp_method_t *m = &frame->payload.method;
	if (m->id == AMQP_BASIC_ACK_METHOD) {
		const amqp_basic_ack_t *ack = m->decoded;
		confirm(b, ack->delivery_tag, ack->multiple, true);
	} else if (m->id == AMQP_BASIC_NACK_METHOD) {
		const amqp_basic_nack_t *nack = m->decoded;
		confirm(b, nack->delivery_tag, nack->multiple, false);
	} else if (m->id == AMQP_BASIC_GET_OK_METHOD || m->id == AMQP_BASIC_GET_EMPTY_METHOD) {
		return got(b, frame);
	} else {
		fprintf(stderr, "busbar-bench rabbitmq: unexpected method %s\n",
		        amqp_method_name(m->id));
		return -EPROTO; /* channel.close, connection.close: the run cannot go on */
	}
	return 0;
}

static int rabbit_poll(void *state, uint64_t timeout_ns, struct bench_peer_done *out,
                       uint32_t max)
{
	struct rabbit_bench *b = state;
	b->out = out;
	b->out_count = 0;
	b->out_max = max;
	/* librabbitmq waits in whole milliseconds: wait here, to the nanosecond, then take only
	 * what has arrived. */
	bool buffered = amqp_frames_enqueued(b->conn) || amqp_data_in_buffer(b->conn);
	int ready = buffered ? 1 : bench_peer_wait_fd(amqp_get_sockfd(b->conn), timeout_ns);
	if (ready <= 0)
		return ready;
	struct timeval tv = {0};
	/* Completions never outnumber operations in flight (at most max): the loop is bounded. */
	while (b->out_count < max) {
		amqp_frame_t frame;
		int rc = amqp_simple_wait_frame_noblock(b->conn, &frame, &tv);
		if (rc == AMQP_STATUS_TIMEOUT)
			break;
		if (rc != AMQP_STATUS_OK)
			return -EIO;
		rc = take_frame(b, &frame);
		if (rc != 0)
			return rc;
	}
	if (!amqp_frames_enqueued(b->conn) && !amqp_data_in_buffer(b->conn))
		amqp_maybe_release_buffers(b->conn);
	return (int)b->out_count;
}

int bench_rabbitmq_run(struct bench_cli *cli)
{
	static struct rabbit_bench b;
	const struct bench_load_options *o = &cli->load;
	bool supported = o->op == BENCH_OP_SEND || (o->op == BENCH_OP_CYCLE && o->rate_per_s <= 0);
	if (!supported || o->window == 0 || o->window > BENCH_WINDOW_MAX) {
		fprintf(stderr, "busbar-bench rabbitmq: --op send (closed or open loop) or cycle "
		                "(closed loop), window 1-4096\n");
		return 2;
	}
	memset(&b, 0, sizeof(b));
	b.cli = cli;
	b.oldest_unconfirmed = 1;
	int rc = connect_broker(&b);
	struct bench_peer_driver d = {.state = &b, .submit = rabbit_submit, .poll = rabbit_poll};
	int status = rc == 0 ? bench_peer_run(cli, &d) : 1;
	if (b.conn != NULL) {
		amqp_connection_close(b.conn, AMQP_REPLY_SUCCESS);
		amqp_destroy_connection(b.conn);
	}
	return status;
}
