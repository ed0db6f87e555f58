/*
 * busbar-bench: load generator for busbard over kernel UDP, and the kernel
 * UDP echo baseline it is compared with. Prints one JSON object per line.
 *
 *   busbar-bench sqs --server IP [--port 7600] --queue Q [--seconds S] [--window W]
 *       W cycles in flight, each SendMessage -> ReceiveMessage -> DeleteMessage.
 *   busbar-bench echo --server IP --port P [--seconds S] [--window W] [--label L]
 *       W requests in flight against a UDP echo server, same request size;
 *       L names the echo in the output (default kernel_udp_echo).
 *   busbar-bench echo-server --port P [--seconds S]
 *       the kernel UDP echo server (one thread, recvfrom/sendto).
 *   busbar-bench storage --dir DIR --record-bytes N [--seconds S] [--segment-mib M] [--commits C]
 *       durable appends: the segment log beside a raw io_uring writer (bench_storage.c).
 *   busbar-bench storage-recovery DIR GIB
 *       recovery time of a GIB-sized log beside reading the same files.
 *   busbar-bench filters --corpus FILE (--rulesets FILE | --patterns FILE)
 *       events/s of the pattern matcher per rule set (bench_filters.c).
 *
 * Figures: requests/s (every request answered counts), cycles/s for sqs, and
 * p50/p99 request latency. A request unanswered for 500 ms is resent with the
 * same request id (busbard answers it from its retry window).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bb_limits.h"
#include "wire.h"

int bench_storage(int argc, char **argv);
int bench_recovery(int argc, char **argv);
int bench_filters(int argc, char **argv);

#define WINDOW_MAX          256
#define LATENCY_SAMPLES_MAX (1u << 22)
#define RESEND_AFTER_NS     500000000ull
#define BODY                "benchmark message body: 64 bytes of payload, as a small event.."

enum step { STEP_SEND, STEP_RECEIVE, STEP_DELETE };

struct slot {
	enum step step;
	uint64_t request_id;
	uint64_t sent_ns;
	size_t length;
	uint8_t request[512];
};

struct bench {
	int fd;
	const char *queue;
	bool echo;
	const char *label;
	uint32_t window;
	uint64_t requests, cycles, resends;
	uint32_t *latency_us;
	uint32_t latency_count;
	struct slot slots[WINDOW_MAX];
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void build(struct bench *b, struct slot *s, uint8_t opcode, const char *handle)
{
	struct wire_writer w;
	wire_writer_init(&w, s->request + BB_WIRE_HEADER_BYTES,
	                 sizeof(s->request) - BB_WIRE_HEADER_BYTES);
	wire_put_str(&w, WIRE_TAG_QUEUE_NAME, b->queue ? b->queue : "echo");
	if (opcode == WIRE_OP_SEND_MESSAGE)
		wire_put_str(&w, WIRE_TAG_BODY, BODY);
	if (opcode == WIRE_OP_RECEIVE_MESSAGE)
		wire_put_u32(&w, WIRE_TAG_VISIBILITY_TIMEOUT_S, 30);
	if (opcode == WIRE_OP_DELETE_MESSAGE)
		wire_put_str(&w, WIRE_TAG_RECEIPT_HANDLE, handle);
	s->request_id += b->window; /* request id modulo window names the slot */
	struct wire_header h = {.version = WIRE_VERSION,
	                        .opcode = opcode,
	                        .client_id = 0xbe4c,
	                        .request_id = s->request_id,
	                        .body_bytes = (uint32_t)w.length};
	wire_header_encode(&h, s->request);
	s->length = BB_WIRE_HEADER_BYTES + w.length;
}

static void transmit(struct bench *b, struct slot *s)
{
	s->sent_ns = now_ns();
	if (send(b->fd, s->request, s->length, 0) < 0 && errno != ECONNREFUSED)
		perror("send");
}

/* Finds the receipt handle of the first message in a receive reply. */
static bool first_handle(const uint8_t *reply, size_t length, char *out)
{
	struct wire_reader r;
	struct wire_field f;
	wire_reader_init(&r, reply + BB_WIRE_HEADER_BYTES, length - BB_WIRE_HEADER_BYTES);
	while (wire_reader_next(&r, &f) == 1) {
		if (f.tag == WIRE_TAG_RECEIPT_HANDLE && f.length == BB_RECEIPT_HANDLE_BYTES) {
			memcpy(out, f.value, f.length);
			out[f.length] = '\0';
			return true;
		}
	}
	return false;
}

/* Moves a slot to its next request after a reply. */
static void advance(struct bench *b, struct slot *s, const uint8_t *reply, size_t length)
{
	char handle[BB_RECEIPT_HANDLE_BYTES + 1];
	if (b->echo) {
		build(b, s, WIRE_OP_SEND_MESSAGE, NULL);
	} else if (s->step == STEP_SEND) {
		s->step = STEP_RECEIVE;
		build(b, s, WIRE_OP_RECEIVE_MESSAGE, NULL);
	} else if (s->step == STEP_RECEIVE && first_handle(reply, length, handle)) {
		s->step = STEP_DELETE;
		build(b, s, WIRE_OP_DELETE_MESSAGE, handle);
	} else if (s->step == STEP_RECEIVE) {
		build(b, s, WIRE_OP_RECEIVE_MESSAGE, NULL); /* another slot took it: try again */
	} else {
		b->cycles++;
		s->step = STEP_SEND;
		build(b, s, WIRE_OP_SEND_MESSAGE, NULL);
	}
	transmit(b, s);
}

static void on_reply(struct bench *b, const uint8_t *reply, size_t length)
{
	struct wire_header h;
	if (wire_header_decode(reply, length, &h) != WIRE_OK)
		return;
	struct slot *s = &b->slots[h.request_id % b->window];
	if (s->request_id != h.request_id)
		return; /* a late duplicate of an earlier request */
	if (h.status != WIRE_OK && !b->echo) {
		fprintf(stderr, "busbar-bench: %s\n", wire_status_name(h.status));
		exit(1);
	}
	b->requests++;
	if (b->latency_count < LATENCY_SAMPLES_MAX)
		b->latency_us[b->latency_count++] = (uint32_t)((now_ns() - s->sent_ns) / 1000);
	advance(b, s, reply, length);
}

static void resend_stale(struct bench *b)
{
	uint64_t now = now_ns();
	for (uint32_t i = 0; i < b->window; i++) {
		if (now - b->slots[i].sent_ns > RESEND_AFTER_NS) {
			b->resends++;
			transmit(b, &b->slots[i]);
		}
	}
}

static int compare_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static void report(struct bench *b, double seconds)
{
	qsort(b->latency_us, b->latency_count, sizeof(uint32_t), compare_u32);
	uint32_t p50 = b->latency_count ? b->latency_us[b->latency_count / 2] : 0;
	uint32_t p99 = b->latency_count ? b->latency_us[b->latency_count * 99 / 100] : 0;
	printf("{\"mode\":\"%s\",\"window\":%u,\"seconds\":%.2f,\"requests\":%llu,"
	       "\"requests_per_s\":%.0f,\"cycles_per_s\":%.0f,\"resends\":%llu,"
	       "\"p50_us\":%u,\"p99_us\":%u}\n",
	       b->echo ? b->label : "sqs_send_receive_delete", b->window, seconds,
	       (unsigned long long)b->requests, (double)b->requests / seconds,
	       (double)b->cycles / seconds, (unsigned long long)b->resends, p50, p99);
}

static int run_client(struct bench *b, const char *server, uint16_t port, double seconds)
{
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
	if (inet_pton(AF_INET, server, &addr.sin_addr) != 1)
		return 2;
	b->fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (b->fd < 0 || connect(b->fd, (struct sockaddr *)&addr, sizeof(addr)) != 0)
		return 1;
	struct timeval tick = {.tv_usec = 100000};
	setsockopt(b->fd, SOL_SOCKET, SO_RCVTIMEO, &tick, sizeof(tick));
	b->latency_us = malloc(sizeof(uint32_t) * LATENCY_SAMPLES_MAX);
	for (uint32_t i = 0; i < b->window; i++) {
		b->slots[i].request_id = i;
		build(b, &b->slots[i], WIRE_OP_SEND_MESSAGE, NULL);
	}
	for (uint32_t i = 0; i < b->window; i++)
		transmit(b, &b->slots[i]);
	uint64_t start = now_ns(), end = start + (uint64_t)(seconds * 1e9);
	static uint8_t reply[BB_UDP_PAYLOAD_BYTES_MAX];
	uint64_t last_check = start;
	while (now_ns() < end) {
		ssize_t n = recv(b->fd, reply, sizeof(reply), 0);
		if (n > 0)
			on_reply(b, reply, (size_t)n);
		if (now_ns() - last_check > RESEND_AFTER_NS) {
			resend_stale(b);
			last_check = now_ns();
		}
	}
	report(b, (double)(now_ns() - start) / 1e9);
	return 0;
}

static int run_echo_server(uint16_t port, double seconds)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in addr = {
	    .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_ANY)};
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		perror("echo-server");
		return 1;
	}
	struct timeval tick = {.tv_usec = 100000};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tick, sizeof(tick));
	static uint8_t buf[65536];
	uint64_t end = now_ns() + (uint64_t)(seconds * 1e9);
	while (now_ns() < end) {
		struct sockaddr_in from;
		socklen_t from_bytes = sizeof(from);
		ssize_t n =
		    recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &from_bytes);
		if (n > 0) {
			buf[4] |=
			    WIRE_FLAG_RESPONSE; /* answer as busbard would: a response header */
			sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, from_bytes);
		}
	}
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longs[] = {
	    {"server", required_argument, NULL, 's'},
	    {"port", required_argument, NULL, 'p'},
	    {"queue", required_argument, NULL, 'q'},
	    {"seconds", required_argument, NULL, 't'},
	    {"window", required_argument, NULL, 'w'},
	    {"label", required_argument, NULL, 'l'},
	    {NULL, 0, NULL, 0},
	};
	if (argc < 2) {
		fprintf(stderr, "usage: busbar-bench sqs|echo|echo-server|storage|storage-recovery|"
		                "filters [options]\n");
		return 2;
	}
	if (strcmp(argv[1], "storage") == 0)
		return bench_storage(argc, argv);
	if (strcmp(argv[1], "storage-recovery") == 0)
		return bench_recovery(argc, argv);
	if (strcmp(argv[1], "filters") == 0)
		return bench_filters(argc, argv);
	const char *mode = argv[1], *server = "10.77.0.2";
	static struct bench b = {.window = 16, .label = "kernel_udp_echo"};
	uint16_t port = 7600;
	double seconds = 10;
	int opt;
	optind = 2;
	while ((opt = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (opt) {
		case 's': server = optarg; break;
		case 'p': port = (uint16_t)atoi(optarg); break;
		case 'q': b.queue = optarg; break;
		case 't': seconds = atof(optarg); break;
		case 'w': b.window = (uint32_t)atoi(optarg); break;
		case 'l': b.label = optarg; break;
		default: return 2;
		}
	}
	if (b.window < 1 || b.window > WINDOW_MAX || seconds <= 0)
		return 2;
	if (strcmp(mode, "echo-server") == 0)
		return run_echo_server(port, seconds);
	b.echo = strcmp(mode, "echo") == 0;
	if (!b.echo && (strcmp(mode, "sqs") != 0 || b.queue == NULL)) {
		fprintf(stderr, "busbar-bench sqs needs --queue\n");
		return 2;
	}
	return run_client(&b, server, port, seconds);
}
