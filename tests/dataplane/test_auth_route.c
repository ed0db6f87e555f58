/*
 * Authentication on the packet path (dataplane/dp_auth_route.h), with busbard's
 * per-worker state (dp_auth_setup) and a key in the harness's snapshot:
 * - a reply to a verified request leaves signed with its key over its exact bytes (the
 *   MAC verifies, and fails with any bit flipped), the retry window's answer to a retry
 *   too, and so is an AccessDenied found after the MAC;
 * - a refusal before the MAC verified (a bad MAC) leaves unsigned;
 * - a replay whose first answer the retry window forgot is dropped and counted, and the
 *   queue holds the message once;
 * - a signed ReceiveMessage answered RetryWithCookie is answered again when it comes back
 *   under the same request id with the cookie (as libbusbar and docs/protocol.md do it),
 *   while a replay of either datagram after that still acts no second time;
 * - another key holder with the same permission who reuses a client's client and request
 *   ids runs its own request: it is never given the first key's remembered answer (its
 *   receipt handle), and the first key's retry still is.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "bb_mac.h"
#include "dp_auth.h"
#include "dp_worker_int.h"
#include "packet_harness.h"

#define KEY_ID 3u
#define OTHER_KEY_ID 4u
#define ALLOW_ORDERS                                                                               \
	"{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"sqs:*\","                              \
	"\"Resource\":\"arn:aws:sqs:*:*:orders\"}]}"

static const char secret[] = "AAAAAAAAAABBBBBBBBBBCCCCCCCCCCDDDDDDDDDD";
static const char other_secret[] = "0123456789012345678901234567890123456789";
static struct bb_mac *mac;
static struct replies replies;
static struct request r;

/* A key allowed everything on orders, in the harness's snapshot. */
static void add_key(uint32_t key_id, const char *key_secret)
{
	struct bb_snapshot_key e = {.key_id = key_id,
	                            .policy_json = ALLOW_ORDERS,
	                            .policy_bytes = (uint32_t)strlen(ALLOW_ORDERS)};
	memcpy(e.secret, key_secret, BB_KEY_SECRET_BYTES);
	struct dp_snapshot *snapshot = atomic_load(&h.app.snapshot);
	dp_auth_keys_add(&snapshot->keys, &e);
	cr_assert_not(snapshot->keys.invalid, "%s", snapshot->keys.invalid_reason);
}

static void setup(void)
{
	harness_setup();
	struct dp_auth_options o;
	dp_auth_options_default(&o);
	cr_assert_eq(dp_auth_setup(1, &o), 0);
	add_key(KEY_ID, secret);
	add_key(OTHER_KEY_ID, other_secret); /* ids ascend in a snapshot */
	mac = bb_mac_new();
	cr_assert_not_null(mac);
}

static void teardown(void)
{
	dp_auth_keys_clear(&atomic_load(&h.app.snapshot)->keys);
	bb_mac_free(mac);
	dp_auth_teardown();
	harness_teardown();
}

TestSuite(auth_route, .init = setup, .fini = teardown, .timeout = 60);

/* A signed SendMessage to queue with the given id; its bytes stay in r. */
static uint32_t signed_send(const char *queue, uint64_t request_id)
{
	request_begin(&r, WIRE_OP_SEND_MESSAGE, request_id);
	wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, queue);
	wire_put_str(&r.fields, WIRE_TAG_BODY, "hello");
	r.header.key_id = KEY_ID;
	r.header.timestamp_ms = dp_now_ms(&h.app, h.now_tsc);
	uint32_t length = request_finish(&r);
	cr_assert_eq(bb_mac_sign(mac, (const uint8_t *)secret, BB_KEY_SECRET_BYTES, r.bytes,
	                         length),
	             0);
	return length;
}

static void input(uint32_t length)
{
	struct rte_mbuf *m = frame_udp(r.bytes, length);
	harness_input(&m, 1);
	take_replies(&replies);
}

static bool reply_verifies(void)
{
	return bb_mac_verify(mac, (const uint8_t *)secret, BB_KEY_SECRET_BYTES, replies.datagram,
	                     replies.datagram_bytes) == 0;
}

Test(auth_route, a_verified_requests_reply_is_signed_with_its_key)
{
	uint32_t length = signed_send(TEST_QUEUE, 10);
	input(length);
	cr_assert_eq(replies.udp_datagrams, 1);
	cr_assert_eq(replies.header.status, WIRE_OK);
	cr_assert_eq(replies.header.key_id, KEY_ID);
	cr_assert(reply_verifies(), "the reply's MAC verifies with the request's key");
	for (uint32_t bit = 0; bit < replies.datagram_bytes * 8; bit++) {
		replies.datagram[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		cr_assert_not(reply_verifies(), "bit %u flipped still verifies", bit);
		replies.datagram[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	input(length); /* a retry: the retry window's first answer, signed as it leaves */
	cr_assert_eq(replies.header.status, WIRE_OK);
	cr_assert(reply_verifies());
	cr_assert_eq(sqs_visible_count(h.worker->sqs, 0), 1, "the retry acted no second time");
	cr_assert_eq(dp_auth_of(0)->stats.replies_signed, 2);
}

Test(auth_route, access_denied_after_the_mac_is_signed)
{
	input(signed_send("other", 11));
	cr_assert_eq(replies.header.status, WIRE_ERR_ACCESS_DENIED);
	cr_assert(reply_verifies());
}

Test(auth_route, a_refusal_before_the_mac_verified_is_unsigned)
{
	uint32_t length = signed_send(TEST_QUEUE, 12);
	r.bytes[length - 1] ^= 1; /* the body's last bit: the MAC no longer matches */
	input(length);
	cr_assert_eq(replies.header.status, WIRE_ERR_SIGNATURE_DOES_NOT_MATCH);
	cr_assert_eq(replies.header.key_id, 0, "no key vouches for a request it did not verify");
	static const uint8_t zero_mac[WIRE_MAC_BYTES];
	cr_assert_eq(memcmp(replies.header.mac, zero_mac, WIRE_MAC_BYTES), 0);
	cr_assert_eq(sqs_visible_count(h.worker->sqs, 0), 0);
}

Test(auth_route, a_replay_the_retry_window_forgot_is_dropped_not_run)
{
	uint32_t length = signed_send(TEST_QUEUE, 20);
	input(length);
	cr_assert_eq(replies.header.status, WIRE_OK);
	cr_assert_eq(sqs_visible_count(h.worker->sqs, 0), 1);
	/* The retry window forgets everything, as when its entries are evicted. */
	dp_dedup_free(&h.worker->dedup);
	cr_assert_eq(dp_dedup_init(&h.worker->dedup, BB_DEDUP_ENTRIES_PER_WORKER,
	                           BB_DEDUP_ARENA_BYTES),
	             0);
	input(length); /* the same signed bytes again, inside the timestamp's skew */
	cr_assert_eq(replies.udp_datagrams, 0, "nothing answers a replay whose answer is gone");
	cr_assert_eq(sqs_visible_count(h.worker->sqs, 0), 1, "and it did not run again");
	cr_assert_eq(dp_auth_of(0)->stats.replay_seen, 1);
	cr_assert_eq(dp_auth_of(0)->stats.replay_forgotten, 1);
	/* A new request id from the same client still runs. */
	input(signed_send(TEST_QUEUE, 21));
	cr_assert_eq(replies.header.status, WIRE_OK);
	cr_assert_eq(sqs_visible_count(h.worker->sqs, 0), 2);
}

/* A ReceiveMessage of TEST_QUEUE (no wait) signed with the given key, with or without the
 * client's cookie. */
static uint32_t receive_signed_with(uint32_t key_id, const char *key_secret,
                                    uint64_t request_id, bool with_cookie)
{
	request_begin(&r, WIRE_OP_RECEIVE_MESSAGE, request_id);
	r.without_cookie = !with_cookie;
	wire_put_str(&r.fields, WIRE_TAG_QUEUE_NAME, TEST_QUEUE);
	wire_put_u32(&r.fields, WIRE_TAG_MAX_MESSAGES, 10);
	wire_put_u32(&r.fields, WIRE_TAG_WAIT_TIME_S, 0);
	r.header.key_id = key_id;
	r.header.timestamp_ms = dp_now_ms(&h.app, h.now_tsc);
	uint32_t length = request_finish(&r);
	cr_assert_eq(bb_mac_sign(mac, (const uint8_t *)key_secret, BB_KEY_SECRET_BYTES, r.bytes,
	                         length),
	             0);
	return length;
}

static uint32_t signed_receive(uint64_t request_id, bool with_cookie)
{
	return receive_signed_with(KEY_ID, secret, request_id, with_cookie);
}

/* Feeds a datagram kept apart from r (r holds one request at a time). */
static void input_bytes(const uint8_t *bytes, uint32_t length)
{
	memcpy(r.bytes, bytes, length);
	input(length);
}

Test(auth_route, a_receive_retried_with_its_cookie_under_the_same_id_is_answered)
{
	input(signed_send(TEST_QUEUE, 40));
	cr_assert_eq(replies.header.status, WIRE_OK);
	static uint8_t asking[512];
	static uint8_t proving[512];
	uint32_t asking_bytes = signed_receive(41, false);
	memcpy(asking, r.bytes, asking_bytes);
	uint32_t proving_bytes = signed_receive(41, true);
	memcpy(proving, r.bytes, proving_bytes);

	input_bytes(asking, asking_bytes);
	cr_assert_eq(replies.header.status, WIRE_RETRY_WITH_COOKIE);
	cr_assert(reply_verifies(), "the cookie's answer is signed");
	input_bytes(proving, proving_bytes); /* the same id, now with the cookie */
	cr_assert_eq(replies.udp_datagrams, 1, "the retry with the cookie is answered");
	cr_assert_eq(replies.header.status, WIRE_OK);
	cr_assert(reply_verifies());
	const uint8_t *value;
	cr_assert_gt(reply_field(&replies, WIRE_TAG_BODY, &value), 0, "and it received");
	cr_assert_eq(dp_auth_of(0)->stats.replay_seen, 0);

	/* Replays after it ran: the cookie-less one gives no id back, the other runs not twice. */
	dp_dedup_free(&h.worker->dedup);
	cr_assert_eq(dp_dedup_init(&h.worker->dedup, BB_DEDUP_ENTRIES_PER_WORKER,
	                           BB_DEDUP_ARENA_BYTES),
	             0);
	input_bytes(asking, asking_bytes);
	cr_assert_eq(replies.header.status, WIRE_RETRY_WITH_COOKIE);
	input_bytes(proving, proving_bytes);
	cr_assert_eq(replies.udp_datagrams, 0, "a replay of the receive that ran is dropped");
	cr_assert_eq(dp_auth_of(0)->stats.replay_forgotten, 1);
}

Test(auth_route, another_key_reusing_a_clients_ids_never_gets_its_remembered_answer)
{
	input(signed_send(TEST_QUEUE, 50));
	cr_assert_eq(replies.header.status, WIRE_OK);
	/* The first key receives the message: its answer, remembered, carries a receipt handle. */
	static uint8_t own[512];
	uint32_t own_bytes = signed_receive(51, true);
	memcpy(own, r.bytes, own_bytes);
	input_bytes(own, own_bytes);
	cr_assert_eq(replies.header.status, WIRE_OK);
	const uint8_t *handle;
	int handle_bytes = reply_field(&replies, WIRE_TAG_RECEIPT_HANDLE, &handle);
	cr_assert_gt(handle_bytes, 0);
	static uint8_t first_handle[512];
	memcpy(first_handle, handle, (size_t)handle_bytes);

	/* Another key allowed the same, the same client id (the harness's) and request id. */
	input(receive_signed_with(OTHER_KEY_ID, other_secret, 51, true));
	cr_assert_eq(replies.udp_datagrams, 1);
	cr_assert_eq(replies.header.status, WIRE_OK, "its own request, run: not a mismatch");
	cr_assert_eq(replies.header.key_id, OTHER_KEY_ID);
	cr_assert_lt(reply_field(&replies, WIRE_TAG_RECEIPT_HANDLE, &handle), 0,
	             "the first key's receipt handle is not in the other key's answer");
	cr_assert_eq(h.worker->stats.dedup_replayed, 0, "nothing answered from the window");

	/* The first key's true retry still gets its own first answer, handle and all. */
	input_bytes(own, own_bytes);
	cr_assert_eq(replies.header.status, WIRE_OK);
	cr_assert(reply_verifies());
	cr_assert_eq(reply_field(&replies, WIRE_TAG_RECEIPT_HANDLE, &handle), handle_bytes);
	cr_assert_eq(memcmp(handle, first_handle, (size_t)handle_bytes), 0);
	cr_assert_eq(h.worker->stats.dedup_replayed, 1);
}
