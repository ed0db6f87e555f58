/*
 * The dataplane's packet handling, fed frames built here (no port): ARP,
 * ICMP echo, requests over UDP through routing, rings and the queue engine,
 * IPv4 reassembly, retries, long polls, and every kind of malformed input.
 * Each bad input must be answered with an error or dropped and counted, and
 * the worker must go on serving.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <rte_arp.h>
#include <rte_icmp.h>
#include <rte_ip.h>

#include "dp_service.h"
#include "packet_harness.h"

TestSuite(packets, .init = harness_setup, .fini = harness_teardown, .timeout = 60);

static struct replies replies;

static void send_request(struct request *r)
{
	struct rte_mbuf *m = frame_udp(r->bytes, request_finish(r));
	harness_input(&m, 1);
	take_replies(&replies);
}

static void send_message(uint64_t request_id, const char *body)
{
	struct request r;
	request_begin(&r, WIRE_OP_SEND_MESSAGE, request_id);
	wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, TEST_QUEUE);
	wire_put_str(&r.fields, WIRE_TAG_BODY, body);
	send_request(&r);
}

static void receive_messages(uint64_t request_id, uint32_t wait_s)
{
	struct request r;
	request_begin(&r, WIRE_OP_RECEIVE_MESSAGE, request_id);
	wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, TEST_QUEUE);
	wire_put_u32(&r.fields, WIRE_TAG_MAX_MESSAGES, 10);
	wire_put_u32(&r.fields, WIRE_TAG_WAIT_TIME_S, wait_s);
	send_request(&r);
}

Test(packets, arp_request_for_our_address_is_answered)
{
	uint8_t frame[60] = {0};
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)frame;
	memset(&eth->dst_addr, 0xff, 6);
	eth->src_addr = h.client_mac;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eth + 1);
	arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = 6;
	arp->arp_plen = 4;
	arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
	arp->arp_data.arp_sha = h.client_mac;
	arp->arp_data.arp_sip = rte_cpu_to_be_32(TEST_CLIENT_IP);
	arp->arp_data.arp_tip = rte_cpu_to_be_32(RTE_IPV4(10, 77, 0, 99));
	struct rte_mbuf *m = frame_raw(frame, sizeof(frame));
	harness_input(&m, 1);
	take_replies(&replies);
	cr_assert_eq(replies.frames, 0, "no answer for another address");

	arp->arp_data.arp_tip = rte_cpu_to_be_32(TEST_SERVER_IP);
	m = frame_raw(frame, sizeof(frame));
	harness_input(&m, 1);
	take_replies(&replies);
	cr_assert_eq(replies.frames, 1);
	struct rte_mbuf *reply = replies.first_non_udp;
	struct rte_arp_hdr *answer = rte_pktmbuf_mtod_offset(reply, struct rte_arp_hdr *, 14);
	cr_assert_eq(answer->arp_opcode, rte_cpu_to_be_16(RTE_ARP_OP_REPLY));
	cr_assert(rte_is_same_ether_addr(&answer->arp_data.arp_sha, &h.app.net_config.mac));
	cr_assert_eq(answer->arp_data.arp_sip, rte_cpu_to_be_32(TEST_SERVER_IP));
	cr_assert(rte_is_same_ether_addr(&answer->arp_data.arp_tha, &h.client_mac));
	rte_pktmbuf_free(reply);

	/* The request taught us the client's address: resolving it sends nothing. */
	struct rte_ether_addr mac;
	cr_assert_eq(dp_net_resolve(&h.worker->net, rte_cpu_to_be_32(TEST_CLIENT_IP), &mac,
	                            &h.worker->tx), 0);
	cr_assert(rte_is_same_ether_addr(&mac, &h.client_mac));
}

Test(packets, resolving_an_unknown_address_sends_an_arp_request)
{
	struct rte_ether_addr mac;
	cr_assert_eq(dp_net_resolve(&h.worker->net, rte_cpu_to_be_32(RTE_IPV4(10, 77, 0, 5)), &mac,
	                            &h.worker->tx), -EAGAIN);
	take_replies(&replies);
	cr_assert_eq(replies.frames, 1);
	struct rte_arp_hdr *arp = rte_pktmbuf_mtod_offset(replies.first_non_udp, struct rte_arp_hdr *, 14);
	cr_assert_eq(arp->arp_opcode, rte_cpu_to_be_16(RTE_ARP_OP_REQUEST));
	cr_assert_eq(arp->arp_data.arp_tip, rte_cpu_to_be_32(RTE_IPV4(10, 77, 0, 5)));
	rte_pktmbuf_free(replies.first_non_udp);
}

Test(packets, icmp_echo_is_answered_with_a_valid_checksum)
{
	struct rte_mbuf *m = frame_icmp_echo(77);
	harness_input(&m, 1);
	take_replies(&replies);
	cr_assert_eq(replies.frames, 1);
	struct rte_ipv4_hdr *rip = rte_pktmbuf_mtod_offset(replies.first_non_udp, struct rte_ipv4_hdr *, 14);
	struct rte_icmp_hdr *ricmp = (struct rte_icmp_hdr *)(rip + 1);
	cr_assert_eq(rip->dst_addr, rte_cpu_to_be_32(TEST_CLIENT_IP));
	cr_assert_eq(rte_ipv4_cksum(rip), 0);
	cr_assert_eq(ricmp->icmp_type, RTE_IP_ICMP_ECHO_REPLY);
	cr_assert_eq(rte_raw_cksum(ricmp, 40), 0xffff, "ICMP checksum");
	cr_assert_eq(ricmp->icmp_ident, rte_cpu_to_be_16(77));
	rte_pktmbuf_free(replies.first_non_udp);
	cr_assert_eq(h.worker->stats.icmp_echo_replied, 1);
}

Test(packets, send_receive_delete_over_udp)
{
	send_message(1, "hello");
	cr_assert_eq(replies.udp_datagrams, 1);
	cr_assert_eq(replies.header.status, WIRE_OK);
	cr_assert_eq(replies.header.request_id, 1);
	cr_assert(replies.header.flags & WIRE_FLAG_RESPONSE);
	const uint8_t *value;
	cr_assert_eq(reply_field(&replies, WIRE_TAG_MESSAGE_ID, &value), 36);
	char message_id[37];
	memcpy(message_id, value, 36);
	message_id[36] = '\0';
	cr_assert_eq(reply_field(&replies, WIRE_TAG_MD5_OF_BODY, &value), 32);
	cr_assert_eq(memcmp(value, "5d41402abc4b2a76b9719d911017c592", 32), 0);

	receive_messages(2, 0);
	cr_assert_eq(replies.header.status, WIRE_OK);
	cr_assert_eq(reply_field(&replies, WIRE_TAG_MESSAGE_ID, &value), 36);
	cr_assert_eq(memcmp(value, message_id, 36), 0);
	cr_assert_eq(reply_field(&replies, WIRE_TAG_BODY, &value), 5);
	cr_assert_eq(memcmp(value, "hello", 5), 0);
	cr_assert_eq(reply_field(&replies, WIRE_TAG_RECEIPT_HANDLE, &value), BB_RECEIPT_HANDLE_BYTES);
	char handle[BB_RECEIPT_HANDLE_BYTES];
	memcpy(handle, value, sizeof(handle));

	struct request r;
	request_begin(&r, WIRE_OP_DELETE_MESSAGE, 3);
	wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, TEST_QUEUE);
	wire_put_bytes(&r.fields, WIRE_TAG_RECEIPT_HANDLE, handle, sizeof(handle));
	send_request(&r);
	cr_assert_eq(replies.header.status, WIRE_OK);
	harness_advance_ms(31000);
	receive_messages(4, 0);
	cr_assert_eq(reply_field(&replies, WIRE_TAG_MESSAGE_ID, &value), -1, "deleted for good");
}

Test(packets, unknown_queue_is_an_error_reply)
{
	struct request r;
	request_begin(&r, WIRE_OP_SEND_MESSAGE, 5);
	wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, "missing");
	wire_put_str(&r.fields, WIRE_TAG_BODY, "x");
	send_request(&r);
	cr_assert_eq(replies.header.status, WIRE_ERR_NONEXISTENT_QUEUE);
	const uint8_t *value;
	cr_assert_gt(reply_field(&replies, WIRE_TAG_ERROR_MESSAGE, &value), 0, "with a message");
}

Test(packets, fragmented_request_is_reassembled_in_any_order)
{
	static char body[6000];
	memset(body, 'f', sizeof(body) - 1);
	body[sizeof(body) - 1] = '\0';
	struct request r;
	request_begin(&r, WIRE_OP_SEND_MESSAGE, 6);
	wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, TEST_QUEUE);
	wire_put_str(&r.fields, WIRE_TAG_BODY, body);
	uint32_t length = request_finish(&r);
	uint32_t sizes[] = {1480, 1480, 1480, 1480, 0};
	struct rte_mbuf *frames[5];
	frames_fragmented(r.bytes, length, sizes, 5, 0x1234, frames);
	struct rte_mbuf *shuffled[5] = {frames[3], frames[0], frames[4], frames[2], frames[1]};
	harness_input(shuffled, 5);
	take_replies(&replies);
	cr_assert_eq(replies.header.status, WIRE_OK);
	cr_assert_eq(h.worker->stats.ip_reassembled, 1);

	receive_messages(7, 0);
	const uint8_t *value;
	cr_assert_gt(replies.frames, 1, "a 6 KB reply leaves in fragments");
	cr_assert_eq(reply_field(&replies, WIRE_TAG_BODY, &value), (int)strlen(body));
	cr_assert_eq(memcmp(value, body, strlen(body)), 0);
}

Test(packets, retry_with_the_same_request_id_acts_once)
{
	send_message(8, "once");
	const uint8_t *value;
	char first_id[37] = {0};
	cr_assert_eq(reply_field(&replies, WIRE_TAG_MESSAGE_ID, &value), 36);
	memcpy(first_id, value, 36);
	send_message(8, "once");
	cr_assert_eq(replies.header.status, WIRE_OK);
	cr_assert_eq(reply_field(&replies, WIRE_TAG_MESSAGE_ID, &value), 36);
	cr_assert_eq(memcmp(value, first_id, 36), 0, "the first answer, again");
	cr_assert_eq(h.worker->stats.dedup_replayed, 1);
	cr_assert_eq(sqs_visible_count(h.worker->sqs, 0), 1, "one message, not two");
	send_message(9, "once");
	cr_assert_eq(sqs_visible_count(h.worker->sqs, 0), 2, "a new request id acts");
}

Test(packets, long_poll_is_answered_when_a_message_arrives)
{
	receive_messages(10, 5);
	cr_assert_eq(replies.udp_datagrams, 0, "parked: no answer yet");
	receive_messages(10, 5);
	cr_assert_eq(replies.udp_datagrams, 0, "a retry of a parked receive waits with it");
	cr_assert_eq(h.worker->stats.dedup_in_progress, 1);
	harness_advance_ms(1000);
	take_replies(&replies);
	cr_assert_eq(replies.udp_datagrams, 0);
	send_message(11, "wake");
	/* Two datagrams: the send's reply and the parked receive's. */
	cr_assert_eq(replies.udp_datagrams, 2);
	cr_assert_eq(sqs_inflight_count(h.worker->sqs, 0), 1, "the parked receive took it");
}

Test(packets, long_poll_ends_empty_at_its_wait_time)
{
	receive_messages(12, 2);
	cr_assert_eq(replies.udp_datagrams, 0);
	harness_advance_ms(1999);
	take_replies(&replies);
	cr_assert_eq(replies.udp_datagrams, 0);
	harness_advance_ms(1);
	take_replies(&replies);
	cr_assert_eq(replies.udp_datagrams, 1);
	cr_assert_eq(replies.header.request_id, 12);
	cr_assert_eq(replies.header.status, WIRE_OK);
	const uint8_t *value;
	cr_assert_eq(reply_field(&replies, WIRE_TAG_MESSAGE_BEGIN, &value), -1, "no messages");
}

/* ---- issue 10: a large, a bad or an abandoned request must not harm other clients ---- */

static uint32_t messages_in(const struct replies *r)
{
	struct wire_reader reader;
	struct wire_field f;
	uint32_t count = 0;
	wire_reader_init(&reader, r->datagram + BB_WIRE_HEADER_BYTES, r->header.body_bytes);
	while (wire_reader_next(&reader, &f) == 1)
		count += f.tag == WIRE_TAG_MESSAGE_BEGIN;
	return count;
}

static void send_to(const char *queue, uint64_t request_id, const char *body)
{
	struct request r;
	request_begin(&r, WIRE_OP_SEND_MESSAGE, request_id);
	wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, queue);
	wire_put_str(&r.fields, WIRE_TAG_BODY, body);
	send_request(&r);
}

/* A request over the local socket (the harness plays the service thread); waits its reply. */
static void local_request(struct request *r)
{
	harness_local_request(r, 0);
	uint32_t connection = UINT32_MAX;
	cr_assert(take_local_reply(&replies, &connection), "answered");
	cr_assert_eq(connection, 0);
}

static void local_send(uint64_t request_id, const void *body, uint32_t bytes)
{
	struct request r;
	request_begin(&r, WIRE_OP_SEND_MESSAGE, request_id);
	wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, TEST_QUEUE);
	wire_put_bytes(&r.fields, WIRE_TAG_BODY, body, bytes);
	local_request(&r);
}

/*
 * Defect 9: a message too large for any UDP reply at the head of the queue made every UDP
 * receive OverLimit. UDP receives now pass over it and return the small message behind it;
 * the large one stays for a receive over the local socket.
 */
Test(packets, a_message_too_large_for_udp_does_not_block_udp_receives)
{
	static uint8_t large[66000];
	memset(large, 'L', sizeof(large));
	local_send(20, large, sizeof(large));
	cr_assert_eq(replies.header.status, WIRE_OK);
	send_message(21, "small");
	cr_assert_eq(replies.header.status, WIRE_OK);

	receive_messages(22, 0);
	cr_assert_eq(replies.header.status, WIRE_OK, "not OverLimit: the small message fits");
	cr_assert_eq(messages_in(&replies), 1);
	const uint8_t *value;
	cr_assert_eq(reply_field(&replies, WIRE_TAG_BODY, &value), 5);
	cr_assert_eq(memcmp(value, "small", 5), 0);
	receive_messages(23, 0);
	cr_assert_eq(replies.header.status, WIRE_OK);
	cr_assert_eq(messages_in(&replies), 0, "the large message is not for UDP");

	struct request r;
	request_begin(&r, WIRE_OP_RECEIVE_MESSAGE, 24);
	wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, TEST_QUEUE);
	local_request(&r);
	cr_assert_eq(reply_field(&replies, WIRE_TAG_BODY, &value), (int)sizeof(large),
	             "it waited for the local socket");
}

/*
 * Defect 10: one full queue made every queue's SendMessage OverLimit. Each queue now has
 * its own budget of messages and body buffers, below what its worker holds.
 */
Test(packets, a_full_queue_refuses_only_its_own_sends)
{
	const char *const names[] = {TEST_QUEUE, "other"};
	harness_publish_queues(names, 2);
	/* Bounded by the harness's 4,095 store buffers: without budgets they ran out first. */
	uint64_t id = 100;
	for (; id < 100 + 4096; id++) {
		send_message(id, "x");
		if (replies.header.status != WIRE_OK)
			break;
	}
	cr_assert_eq(replies.header.status, WIRE_ERR_OVER_LIMIT, "the queue fills up");
	send_to("other", id + 1, "hello");
	cr_assert_eq(replies.header.status, WIRE_OK, "another queue still takes messages");
	send_message(id + 2, "x");
	cr_assert_eq(replies.header.status, WIRE_ERR_OVER_LIMIT, "the full one still refuses");
}

/* Defect 8: bodies SQS refuses (not UTF-8, or a character outside its set) were stored. */
Test(packets, bodies_sqs_refuses_are_refused_over_udp_and_the_local_socket)
{
	send_message(30, "ok\xff");
	cr_assert_eq(replies.header.status, WIRE_ERR_INVALID_MESSAGE_CONTENTS);
	local_send(31, "\xed\xa0\x80", 3);
	cr_assert_eq(replies.header.status, WIRE_ERR_INVALID_MESSAGE_CONTENTS, "a surrogate");
	local_send(32, "a\0b", 3);
	cr_assert_eq(replies.header.status, WIRE_ERR_INVALID_MESSAGE_CONTENTS, "NUL");
	const uint8_t *value;
	cr_assert_gt(reply_field(&replies, WIRE_TAG_ERROR_MESSAGE, &value), 0, "with a message");
	cr_assert_eq(sqs_visible_count(h.worker->sqs, 0), 0, "nothing was stored");
	send_message(33, "caf\xc3\xa9 \xf0\x9f\x9a\x8c\t\r\n");
	cr_assert_eq(replies.header.status, WIRE_OK);
}

/*
 * Defect 7: a local client gave up on its long poll and closed the connection; the parked
 * receive then took the next message and hid it for the visibility timeout. The service
 * thread here is the real one, on a socket in a directory of its own.
 */
Test(packets, a_long_poll_whose_local_client_has_gone_takes_no_message)
{
	char dir[] = "/tmp/bb_test_XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char path[64];
	snprintf(path, sizeof(path), "%s/busbard.sock", dir);
	static struct dp_service service;
	cr_assert_eq(dp_service_init(&service, &h.app, path, dir), 0);
	service.current = atomic_load(&h.app.snapshot); /* lent by the harness */

	int client = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	strcpy(addr.sun_path, path);
	cr_assert_eq(connect(client, (struct sockaddr *)&addr, sizeof(addr)), 0);
	struct request r;
	request_begin(&r, WIRE_OP_RECEIVE_MESSAGE, 40);
	wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, TEST_QUEUE);
	wire_put_u32(&r.fields, WIRE_TAG_WAIT_TIME_S, 10);
	uint32_t length = request_finish(&r);
	cr_assert_eq(write(client, r.bytes, length), (ssize_t)length);
	dp_service_poll(&service, 0); /* accepts */
	dp_service_poll(&service, 0); /* reads the request and routes it */
	harness_input(NULL, 0);
	cr_assert_eq(h.worker->stats.long_polls_parked, 1, "the receive is parked");

	close(client);
	dp_service_poll(&service, 0); /* reads the end of the stream: closes the connection */
	send_message(41, "after");
	cr_assert_eq(replies.header.status, WIRE_OK);
	cr_assert_eq(sqs_inflight_count(h.worker->sqs, 0), 0, "the abandoned receive took nothing");
	receive_messages(42, 0);
	cr_assert_eq(messages_in(&replies), 1, "the message is there for the next client");

	service.current = NULL; /* the harness's snapshot, not the service's to free */
	dp_service_close(&service);
	unlink(path);
	rmdir(dir);
}
