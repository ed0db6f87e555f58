/*
 * `busbar-bench udp` and `busbar-bench echo-server`: the load model over
 * kernel UDP sockets (to busbard through its net_tap port, or to the kernel
 * echo baseline over loopback), and that echo server. One thread each; the
 * client batches with recvmmsg and sleeps in poll only when nothing is due
 * for a millisecond or more, so the kernel path, not the client, is measured.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench_cli.h"
#include "wire.h"

#define BATCH                64u
#define ECHO_BUFFER_BYTES    65536u
#define ECHO_TICK_US         100000
#define RECEIVE_BUFFER_BYTES (8 << 20)

static uint64_t monotonic_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Bursts of a whole window must not overflow the socket: past rmem_max when root may. */
static void grow_receive_buffer(int fd)
{
	int bytes = RECEIVE_BUFFER_BYTES;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)) != 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes));
}

static int connect_udp(const struct bench_cli *cli)
{
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(cli->server_port)};
	if (inet_pton(AF_INET, cli->server_ip, &addr.sin_addr) != 1) {
		fprintf(stderr, "busbar-bench udp: --server must be an IPv4 address\n");
		return -EINVAL;
	}
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	grow_receive_buffer(fd);
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

static void receive_batch(int fd, struct bench_load *load)
{
	static uint8_t buffers[BATCH][BENCH_REQUEST_BYTES_MAX + 512];
	struct mmsghdr messages[BATCH];
	struct iovec iov[BATCH];
	for (uint32_t i = 0; i < BATCH; i++) {
		iov[i] = (struct iovec){buffers[i], sizeof(buffers[i])};
		messages[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov[i], .msg_iovlen = 1}};
	}
	int count = recvmmsg(fd, messages, BATCH, MSG_DONTWAIT, NULL);
	uint64_t now = monotonic_ns();
	for (int i = 0; i < count; i++)
		bench_load_reply(load, buffers[i], messages[i].msg_len, now);
}

/* Sends what is due; returns how many went. ECONNREFUSED (nobody listening yet) is not fatal. */
static uint32_t send_due(int fd, struct bench_load *load)
{
	static uint8_t request[BENCH_REQUEST_BYTES_MAX];
	uint32_t sent = 0;
	while (sent < BATCH) {
		size_t bytes = bench_load_next(load, monotonic_ns(), request);
		if (bytes == 0)
			break;
		if (send(fd, request, bytes, 0) < 0 && errno != ECONNREFUSED && errno != EAGAIN)
			perror("busbar-bench udp: send");
		sent++;
	}
	return sent;
}

int bench_udp_run(struct bench_cli *cli)
{
	static struct bench_load load;
	int fd = connect_udp(cli);
	if (fd < 0)
		return 1;
	if (bench_load_init(&load, &cli->load) != 0) {
		close(fd);
		return 2;
	}
	bench_load_start(&load, monotonic_ns());
	while (!bench_load_done(&load, monotonic_ns())) {
		uint32_t sent = send_due(fd, &load);
		struct pollfd p = {.fd = fd, .events = POLLIN};
		/* Busy while requests are due (open loop at a high rate); else wait for a reply.
		 */
		if (poll(&p, 1, sent > 0 && cli->load.rate_per_s > 0 ? 0 : 1) > 0)
			receive_batch(fd, &load);
		bench_load_tick(&load, monotonic_ns());
	}
	close(fd);
	static struct bench_result result;
	bench_load_finish(&load, &result);
	struct bench_labels labels = cli->labels;
	labels.queues = 1;
	return bench_result_print(stdout, &labels, &cli->load, &result) == 0 ? 0
	                                                                       : BENCH_EXIT_REFUSED;
}

int bench_udp_echo_server(uint16_t port, double seconds)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in addr = {
	    .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_ANY)};
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		perror("busbar-bench echo-server");
		return 1;
	}
	grow_receive_buffer(fd);
	/* A blocking receive with a timeout: one syscall per datagram, and the end is checked. */
	struct timeval tick = {.tv_usec = ECHO_TICK_US};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tick, sizeof(tick));
	static uint8_t buf[ECHO_BUFFER_BYTES];
	uint64_t end = monotonic_ns() + (uint64_t)(seconds * 1e9);
	while (monotonic_ns() < end) {
		struct sockaddr_in from;
		socklen_t from_bytes = sizeof(from);
		ssize_t n =
		    recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &from_bytes);
		if (n >= 6) {
			buf[4] |=
			    WIRE_FLAG_RESPONSE; /* answer as busbard would: a response header */
			sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, from_bytes);
		}
	}
	close(fd);
	return 0;
}
