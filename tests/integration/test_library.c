/*
 * libbusbar against a running busbard over real UDP through its DPDK tap
 * port (started by run_integration.sh inside a network namespace, which
 * also creates the queue named by BUSBAR_QUEUE). Proves the library's calls
 * end to end, retries with a reused request id acting once, long polls and
 * a request large enough to arrive in IPv4 fragments.
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "busbar.h"

static struct bb_client *client;
static const char *queue;

static struct bb_client *open_client(void)
{
	struct bb_client_options o = {
		.server_ip = getenv("BUSBAR_SERVER"),
		.server_port = 7600,
		.timeout_ms = 2000,
		.attempts = 3,
	};
	int rc;
	struct bb_client *c = bb_client_open(&o, &rc);
	cr_assert_not_null(c, "open: %d", rc);
	return c;
}

static void setup(void)
{
	cr_assert_not_null(getenv("BUSBAR_SERVER"), "run by run_integration.sh");
	queue = getenv("BUSBAR_QUEUE");
	client = open_client();
}

static void teardown(void)
{
	bb_client_close(client);
}

TestSuite(library, .init = setup, .fini = teardown, .timeout = 60);

/* Receives everything visible and deletes it, so each test starts empty. */
static void drain(void)
{
	struct bb_message m[BB_RECEIVE_COUNT_MAX];
	uint32_t count;
	struct bb_receive_options o = {.max_messages = 10, .visibility_timeout_s = 60,
	                               .wait_time_s = 0};
	do {
		cr_assert_eq(bb_receive_message(client, queue, &o, m, &count), 0);
		for (uint32_t i = 0; i < count; i++)
			cr_assert_eq(bb_delete_message(client, queue, m[i].receipt_handle), 0);
	} while (count > 0);
}

Test(library, send_receive_change_visibility_delete)
{
	drain();
	struct bb_sent sent;
	cr_assert_eq(bb_send_message(client, queue, "from the library", 16, &sent), 0);
	cr_assert_eq(strlen(sent.md5_of_body), 32);
	struct bb_message m[BB_RECEIVE_COUNT_MAX];
	uint32_t count;
	struct bb_receive_options o = {.max_messages = 10, .visibility_timeout_s = 60,
	                               .wait_time_s = 0};
	cr_assert_eq(bb_receive_message(client, queue, &o, m, &count), 0);
	cr_assert_eq(count, 1);
	cr_assert_str_eq(m[0].message_id, sent.message_id);
	cr_assert_eq(m[0].body_bytes, 16);
	cr_assert_eq(memcmp(m[0].body, "from the library", 16), 0);
	cr_assert_eq(m[0].receive_count, 1);
	char first_handle[BB_RECEIPT_HANDLE_BYTES + 1];
	strcpy(first_handle, m[0].receipt_handle);

	cr_assert_eq(bb_receive_message(client, queue, &o, m, &count), 0);
	cr_assert_eq(count, 0, "in flight for 60 s");
	cr_assert_eq(bb_change_message_visibility(client, queue, first_handle, 0), 0);
	cr_assert_eq(bb_receive_message(client, queue, &o, m, &count), 0);
	cr_assert_eq(count, 1, "visible again after ChangeMessageVisibility 0");
	cr_assert_eq(m[0].receive_count, 2);
	cr_assert_eq(bb_delete_message(client, queue, first_handle), 0, "stale: succeeds...");
	cr_assert_eq(bb_change_message_visibility(client, queue, m[0].receipt_handle, 0), 0,
	             "...but the message is still there");
	cr_assert_eq(bb_receive_message(client, queue, &o, m, &count), 0);
	cr_assert_eq(count, 1);
	cr_assert_eq(bb_delete_message(client, queue, m[0].receipt_handle), 0);
	cr_assert_eq(bb_change_message_visibility(client, queue, m[0].receipt_handle, 5),
	             WIRE_ERR_MESSAGE_NOT_INFLIGHT, "deleted");
}

Test(library, errors_carry_aws_codes_and_messages)
{
	struct bb_sent sent;
	cr_assert_eq(bb_send_message(client, "no-such-queue", "x", 1, &sent),
	             WIRE_ERR_NONEXISTENT_QUEUE);
	cr_assert_str_eq(wire_status_name(WIRE_ERR_NONEXISTENT_QUEUE),
	                 "AWS.SimpleQueueService.NonExistentQueue");
	cr_assert_str_eq(bb_client_error(client), "The specified queue does not exist.");
	cr_assert_eq(bb_delete_message(client, queue, "not-a-handle"), WIRE_ERR_RECEIPT_HANDLE_INVALID);
}

Test(library, fragmented_request_over_the_tap)
{
	drain();
	static char body[10000];
	memset(body, 'z', sizeof(body));
	struct bb_sent sent;
	cr_assert_eq(bb_send_message(client, queue, body, sizeof(body), &sent), 0,
	             "%s", bb_client_error(client));
	struct bb_message m[BB_RECEIVE_COUNT_MAX];
	uint32_t count;
	struct bb_receive_options o = {.max_messages = 1, .visibility_timeout_s = 60,
	                               .wait_time_s = 0};
	cr_assert_eq(bb_receive_message(client, queue, &o, m, &count), 0);
	cr_assert_eq(count, 1);
	cr_assert_eq(m[0].body_bytes, sizeof(body));
	cr_assert_eq(memcmp(m[0].body, body, sizeof(body)), 0);
	cr_assert_eq(bb_delete_message(client, queue, m[0].receipt_handle), 0);
}

Test(library, long_poll_returns_a_message_sent_while_waiting)
{
	drain();
	pid_t child = fork();
	if (child == 0) {
		usleep(500 * 1000);
		struct bb_client *other = open_client();
		struct bb_sent sent;
		_exit(bb_send_message(other, queue, "late", 4, &sent) == 0 ? 0 : 1);
	}
	struct bb_message m[BB_RECEIVE_COUNT_MAX];
	uint32_t count;
	struct bb_receive_options o = {.max_messages = 1, .visibility_timeout_s = 60,
	                               .wait_time_s = 10};
	cr_assert_eq(bb_receive_message(client, queue, &o, m, &count), 0);
	cr_assert_eq(count, 1, "the long poll got the message");
	cr_assert_eq(memcmp(m[0].body, "late", 4), 0);
	cr_assert_eq(bb_delete_message(client, queue, m[0].receipt_handle), 0);
}

/* Sends one datagram with a kernel socket and returns the reply's length. */
static ssize_t raw_exchange(int fd, const uint8_t *request, size_t length, uint8_t *reply)
{
	cr_assert_eq(send(fd, request, length, 0), (ssize_t)length);
	struct timeval tv = {.tv_sec = 2};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return recv(fd, reply, 65536, 0);
}

Test(library, the_same_request_id_twice_acts_once_over_udp)
{
	drain();
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(7600)};
	inet_pton(AF_INET, getenv("BUSBAR_SERVER"), &addr.sin_addr);
	cr_assert_eq(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	uint8_t request[256], first[65536], second[65536];
	struct wire_writer w;
	wire_writer_init(&w, request + BB_WIRE_HEADER_BYTES, sizeof(request) - BB_WIRE_HEADER_BYTES);
	wire_put_str(&w, WIRE_TAG_QUEUE_NAME, queue);
	wire_put_str(&w, WIRE_TAG_BODY, "exactly once");
	struct wire_header h = {.version = 1, .opcode = WIRE_OP_SEND_MESSAGE, .client_id = 0xabcdef,
	                        .request_id = (uint64_t)getpid(), .body_bytes = (uint32_t)w.length};
	wire_header_encode(&h, request);
	size_t length = BB_WIRE_HEADER_BYTES + w.length;
	ssize_t a = raw_exchange(fd, request, length, first);
	ssize_t b = raw_exchange(fd, request, length, second);
	cr_assert_gt(a, 0);
	cr_assert_eq(a, b);
	cr_assert_eq(memcmp(first, second, (size_t)a), 0, "the retry gets the first answer");
	close(fd);
	struct bb_message m[BB_RECEIVE_COUNT_MAX];
	uint32_t count;
	struct bb_receive_options o = {.max_messages = 10, .visibility_timeout_s = 60,
	                               .wait_time_s = 0};
	cr_assert_eq(bb_receive_message(client, queue, &o, m, &count), 0);
	cr_assert_eq(count, 1, "one message, not two");
	cr_assert_eq(bb_delete_message(client, queue, m[0].receipt_handle), 0);
}
