/*
 * busbard's local socket, driven in-process: the service thread (dp_service)
 * on a socket in a temporary directory, the harness's worker behind it, and
 * clients that are plain Unix sockets (issue 10, defect 11). A client that
 * sends receives and never reads its replies costs busbard at most one reply:
 * the connection is not read while a reply waits, and it is served again,
 * in order, once the client reads. With every other slot held, a snapshot
 * push still gets through in the reserved slot, where anything else is
 * refused. Idle connections are closed, the reserved slot's sooner.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "bb_endian.h"
#include "dp_service.h"
#include "packet_harness.h"

static struct dp_service service;
static char directory[64];
static char socket_path[128];

static void setup(void)
{
	harness_setup();
	/* No reader registers: a second snapshot's publication waits for no worker. */
	h.app.rcu = rte_zmalloc("rcu", rte_rcu_qsbr_get_memsize(1), RTE_CACHE_LINE_SIZE);
	cr_assert_not_null(h.app.rcu);
	cr_assert_eq(rte_rcu_qsbr_init(h.app.rcu, 1), 0);
	snprintf(directory, sizeof(directory), "/tmp/busbar-local.XXXXXX");
	cr_assert_not_null(mkdtemp(directory));
	snprintf(socket_path, sizeof(socket_path), "%s/busbard.sock", directory);
	cr_assert_eq(dp_service_init(&service, &h.app, socket_path, directory), 0);
	harness_input(NULL, 0); /* the worker opens the harness's queue */
}

static void push_snapshot(uint64_t version);
static void setup_with_snapshot(void)
{
	setup();
	push_snapshot(2); /* the service finds queues in the snapshots it applied itself */
}

static void teardown(void)
{
	dp_service_close(&service);
	char path[192];
	snprintf(path, sizeof(path), "rm -rf %s", directory);
	cr_assert_eq(system(path), 0);
	harness_teardown();
}

TestSuite(local, .init = setup_with_snapshot, .fini = teardown, .timeout = 60);

/* Service rounds without waiting, each followed by a worker pass. */
static void pump(int rounds)
{
	for (int i = 0; i < rounds; i++) {
		dp_service_poll(&service, 0);
		dp_worker_serve(h.worker, h.now_tsc);
	}
	dp_service_poll(&service, 0);
}

static int connect_client(void)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	strcpy(addr.sun_path, socket_path);
	int rc = connect(fd, (struct sockaddr *)&addr, sizeof(addr));
	cr_assert_eq(rc, 0, "%s", strerror(errno));
	return fd;
}

static void write_all(int fd, const uint8_t *bytes, size_t length)
{
	cr_assert_eq(send(fd, bytes, length, MSG_NOSIGNAL), (ssize_t)length);
}

/* Reads one reply frame, pumping until it is whole; returns its header. */
static struct wire_header read_reply(int fd, uint8_t *frame, size_t capacity)
{
	size_t got = 0, want = BB_WIRE_HEADER_BYTES;
	for (int round = 0; got < want && round < 100000; round++) {
		ssize_t n = recv(fd, frame + got, want - got, 0);
		if (n > 0)
			got += (size_t)n;
		cr_assert(n != 0, "closed after %zu bytes", got);
		if (got == BB_WIRE_HEADER_BYTES && want == BB_WIRE_HEADER_BYTES) {
			want = BB_WIRE_HEADER_BYTES + bb_get_le32(frame + 8); /* body_bytes */
			cr_assert_leq(want, capacity);
		}
		if (n < 0)
			pump(1);
	}
	struct wire_header reply;
	cr_assert_eq(wire_header_decode(frame, want, &reply), WIRE_OK, "a whole reply");
	return reply;
}

/* True when the peer has closed: recv gives EOF (after pumping a few rounds). */
static bool closed_by_busbard(int fd)
{
	uint8_t byte;
	pump(4);
	return recv(fd, &byte, 1, 0) == 0;
}

static uint32_t receive_request(uint8_t *out, uint64_t request_id)
{
	struct request r;
	request_begin(&r, WIRE_OP_RECEIVE_MESSAGE, request_id);
	wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, TEST_QUEUE);
	wire_put_u32(&r.fields, WIRE_TAG_MAX_MESSAGES, 10);
	wire_put_u32(&r.fields, WIRE_TAG_VISIBILITY_TIMEOUT_S, 0);
	uint32_t length = request_finish(&r);
	memcpy(out, r.bytes, length);
	return length;
}

#define RECEIVES 40

Test(local, a_client_that_does_not_read_costs_at_most_one_reply)
{
	/*
	 * Four messages (a queue's budget in the tiny-limits build) of 250 KB: every receive
	 * (VisibilityTimeout 0) answers about 1 MB.
	 */
	static uint8_t body[250000];
	memset(body, 'm', sizeof(body));
	for (int i = 0; i < 4; i++) {
		struct sqs_sent sent;
		cr_assert_eq(sqs_send(h.worker->sqs, 0, body, sizeof(body),
		                      dp_now_ms(&h.app, h.now_tsc), &sent),
		             WIRE_OK);
	}
	int fd = connect_client();
	uint8_t request[256];
	for (uint64_t id = 1; id <= RECEIVES; id++)
		write_all(fd, request, receive_request(request, id));
	pump(400);
	const struct dp_local_connection *c = &service.connections[0];
	cr_assert_geq(c->fd, 0, "still open");
	cr_assert_leq(c->out_capacity, BB_LOCAL_OUT_BYTES_MAX,
	              "%zu bytes held for a client that reads nothing", c->out_capacity);
	cr_assert_leq(c->out_bytes, 4 * sizeof(body) + 4096, "at most the reply it must write");

	/* The client reads: every request is answered, in order, with the four messages. */
	static uint8_t frame[BB_WIRE_HEADER_BYTES + BB_LOCAL_BODY_BYTES_MAX];
	for (uint64_t id = 1; id <= RECEIVES; id++) {
		struct wire_header reply = read_reply(fd, frame, sizeof(frame));
		cr_assert_eq(reply.request_id, id);
		cr_assert_eq(reply.status, WIRE_OK);
		cr_assert_gt(reply.body_bytes, 4 * sizeof(body));
	}
	close(fd);
}

/* A format-1 snapshot (wire fields only) of the harness queue. */
static uint32_t snapshot_push(uint8_t *out, uint64_t version)
{
	struct request r;
	request_begin(&r, WIRE_OP_APPLY_SNAPSHOT, version);
	wire_put_u64(&r.fields, WIRE_TAG_SNAPSHOT_VERSION, version);
	wire_put_bytes(&r.fields, WIRE_TAG_QUEUE_BEGIN, NULL, 0);
	wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, TEST_QUEUE);
	wire_put_u64(&r.fields, WIRE_TAG_QUEUE_ID, 7);
	wire_put_u32(&r.fields, WIRE_TAG_VISIBILITY_TIMEOUT_S, 30);
	wire_put_u32(&r.fields, WIRE_TAG_WAIT_TIME_S, 0);
	wire_put_u32(&r.fields, WIRE_TAG_MAXIMUM_MESSAGE_BYTES, 262144);
	uint32_t length = request_finish(&r);
	memcpy(out, r.bytes, length);
	return length;
}

static void push_snapshot(uint64_t version)
{
	uint8_t request[512], frame[4096];
	int fd = connect_client();
	write_all(fd, request, snapshot_push(request, version));
	cr_assert_eq(read_reply(fd, frame, sizeof(frame)).status, WIRE_OK);
	cr_assert_eq(service.current->version, version);
	close(fd);
	pump(2);
}

static uint32_t ping_request(uint8_t *out, uint64_t request_id)
{
	struct request r;
	request_begin(&r, WIRE_OP_PING, request_id);
	uint32_t length = request_finish(&r);
	memcpy(out, r.bytes, length);
	return length;
}

/* Takes every slot but the reserved one with connections that send nothing. */
static void hold_every_data_slot(int *held)
{
	for (uint32_t i = 0; i < DP_SERVICE_RESERVED_SLOT; i++) {
		held[i] = connect_client();
		pump(1);
	}
	for (uint32_t i = 0; i < DP_SERVICE_RESERVED_SLOT; i++)
		cr_assert_geq(service.connections[i].fd, 0, "slot %u taken", i);
	cr_assert_lt(service.connections[DP_SERVICE_RESERVED_SLOT].fd, 0);
}

Test(local, a_snapshot_push_gets_through_with_every_other_slot_held)
{
	int held[BB_LOCAL_CONNECTIONS_MAX];
	hold_every_data_slot(held);
	uint8_t request[512], frame[4096];

	int other = connect_client();
	write_all(other, request, ping_request(request, 1));
	struct wire_header reply = read_reply(other, frame, sizeof(frame));
	cr_assert_eq(reply.status, WIRE_ERR_SERVICE_UNAVAILABLE, "data in the reserved slot");
	cr_assert(closed_by_busbard(other), "and the slot is given back");
	close(other);

	int push = connect_client();
	write_all(push, request, snapshot_push(request, 3));
	reply = read_reply(push, frame, sizeof(frame));
	cr_assert_eq(reply.status, WIRE_OK, "the snapshot push got through");
	cr_assert_eq(service.current->version, 3);
	cr_assert(closed_by_busbard(push), "one control request per reserved connection");
	close(push);

	int again = connect_client(); /* the slot is free for the next push */
	write_all(again, request, snapshot_push(request, 4));
	cr_assert_eq(read_reply(again, frame, sizeof(frame)).status, WIRE_OK);
	close(again);
	for (uint32_t i = 0; i < DP_SERVICE_RESERVED_SLOT; i++)
		close(held[i]);
}

Test(local, idle_connections_are_closed_and_the_reserved_slot_sooner)
{
	/* Clock readings around the connections' last activity: before, and after. */
	uint64_t before = dp_service_now_ms();
	int held[BB_LOCAL_CONNECTIONS_MAX];
	hold_every_data_slot(held);
	int silent = connect_client();
	pump(1);
	cr_assert_geq(service.connections[DP_SERVICE_RESERVED_SLOT].fd, 0);
	uint64_t after = dp_service_now_ms();

	dp_service_expire(&service, after + BB_LOCAL_RESERVED_IDLE_TIMEOUT_MS + 1);
	cr_assert(closed_by_busbard(silent), "a silent reserved connection is closed first");
	cr_assert_geq(service.connections[0].fd, 0, "data connections wait longer");

	dp_service_expire(&service, before + BB_LOCAL_IDLE_TIMEOUT_MS);
	cr_assert_geq(service.connections[0].fd, 0, "not idle for the whole timeout yet");
	dp_service_expire(&service, after + BB_LOCAL_IDLE_TIMEOUT_MS + 1);
	for (uint32_t i = 0; i < DP_SERVICE_RESERVED_SLOT; i++)
		cr_assert(closed_by_busbard(held[i]), "connection %u closed when idle", i);
	for (uint32_t i = 0; i < DP_SERVICE_RESERVED_SLOT; i++)
		close(held[i]);
	close(silent);
}
