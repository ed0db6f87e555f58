/*
 * UDP request authentication (dataplane/dp_auth.h), driven directly: a signed
 * request passes; a wrong key, every single bit of header and body flipped,
 * stale and future timestamps, an unknown (revoked) or expired (rotated) key,
 * a replayed request id, a missing permission and a flood are each refused with
 * their documented status (or dropped) and counted, and none of them passes.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include <jansson.h>

#include "dp_auth.h"
#include "dp_snapshot.h"

#define NOW_MS    1700000000000ull
#define KEY_SEND  3u /* may SendMessage to "orders" */
#define KEY_OLD   5u /* rotated: expires at NOW + 10 s */
#define CLIENT    0x1122334455667788ull
#define SOURCE_IP 0x0a4d0001u
#define ALLOW_SEND                                                                                 \
	"{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"sqs:SendMessage\","                    \
	"\"Resource\":\"arn:aws:sqs:*:*:orders\"}]}"

static const char secret_send[] = "AAAAAAAAAABBBBBBBBBBCCCCCCCCCCDDDDDDDDDD";
static const char secret_old[] = "0123456789012345678901234567890123456789";
static struct dp_auth_keys keys;
static struct dp_auth auth;
static struct bb_mac *mac;

static void add_key(uint32_t id, const char *secret, uint64_t expires_s, const char *policy)
{
	struct bb_snapshot_key e = {.key_id = id, .expires_s = expires_s};
	memcpy(e.secret, secret, BB_KEY_SECRET_BYTES);
	e.policy_json = policy;
	e.policy_bytes = policy ? (uint32_t)strlen(policy) : 0;
	dp_auth_keys_add(&keys, &e);
	cr_assert_not(keys.invalid, "%s", keys.invalid_reason);
}

static void setup(void)
{
	memset(&keys, 0, sizeof(keys));
	add_key(KEY_SEND, secret_send, 0, ALLOW_SEND);
	add_key(KEY_OLD, secret_old, NOW_MS / 1000 + 10, ALLOW_SEND);
	struct dp_auth_options o = {.mode = DP_AUTH_REQUIRED, .source_burst = 100000};
	cr_assert_eq(dp_auth_init(&auth, &o), 0);
	mac = bb_mac_new();
	cr_assert_not_null(mac);
}

static void teardown(void)
{
	dp_auth_free(&auth);
	bb_mac_free(mac);
	dp_auth_keys_clear(&keys);
}

TestSuite(auth, .init = setup, .fini = teardown);

/* A SendMessage to "orders" signed with secret under key_id. */
static size_t request(uint8_t *out, uint32_t key_id, const char *secret, uint64_t request_id,
                      uint64_t timestamp_ms)
{
	struct wire_writer w;
	wire_writer_init(&w, out + BB_WIRE_HEADER_BYTES, 256);
	wire_put_str(&w, WIRE_TAG_QUEUE_NAME, "orders");
	wire_put_str(&w, WIRE_TAG_BODY, "hello");
	struct wire_header h = {.version = WIRE_VERSION,
	                        .opcode = WIRE_OP_SEND_MESSAGE,
	                        .body_bytes = (uint32_t)w.length,
	                        .key_id = key_id,
	                        .client_id = CLIENT,
	                        .request_id = request_id,
	                        .timestamp_ms = timestamp_ms};
	wire_header_encode(&h, out);
	size_t bytes = BB_WIRE_HEADER_BYTES + w.length;
	cr_assert_eq(bb_mac_sign(mac, (const uint8_t *)secret, BB_KEY_SECRET_BYTES, out, bytes), 0);
	return bytes;
}

static struct dp_auth_result check(const uint8_t *bytes, size_t length, uint64_t now_ms)
{
	struct dp_auth_result r;
	dp_auth_check(&auth, &keys, bytes, length, SOURCE_IP, now_ms, &r);
	return r;
}

Test(auth, signed_request_passes_and_reply_is_signed)
{
	uint8_t m[512];
	size_t n = request(m, KEY_SEND, secret_send, 1, NOW_MS);
	struct dp_auth_result r = check(m, n, NOW_MS);
	cr_assert_eq(r.verdict, DP_AUTH_PASS);
	cr_assert_eq(r.key->key_id, KEY_SEND);
	cr_assert_eq(auth.stats.passed, 1);
	cr_assert(dp_auth_allows(&auth, r.key, WIRE_OP_SEND_MESSAGE, (const uint8_t *)"orders", 6));
	m[6] = 1; /* as a reply: status and flags change, then signed */
	cr_assert_eq(dp_auth_sign_reply(&auth, r.key, m, n), 0);
	cr_assert_eq(bb_mac_verify(mac, (const uint8_t *)secret_send, 40, m, n), 0);
}

Test(auth, wrong_key_refused)
{
	uint8_t m[512];
	size_t n = request(m, KEY_SEND, secret_old, 1, NOW_MS);
	struct dp_auth_result r = check(m, n, NOW_MS);
	cr_assert_eq(r.verdict, DP_AUTH_REFUSE);
	cr_assert_eq(r.status, WIRE_ERR_SIGNATURE_DOES_NOT_MATCH);
	cr_assert_eq(auth.stats.bad_mac, 1);
	n = request(m, 77, secret_send, 2, NOW_MS); /* unknown, as a revoked key is */
	r = check(m, n, NOW_MS);
	cr_assert_eq(r.status, WIRE_ERR_INVALID_CLIENT_TOKEN);
	cr_assert_eq(auth.stats.unknown_key, 1);
	n = request(m, 0, secret_send, 3, NOW_MS);
	r = check(m, n, NOW_MS);
	cr_assert_eq(r.status, WIRE_ERR_MISSING_AUTHENTICATION_TOKEN);
	cr_assert_eq(auth.stats.passed, 0);
}

Test(auth, every_bit_flipped_refused)
{
	uint8_t m[512];
	size_t n = request(m, KEY_SEND, secret_send, 1000, NOW_MS);
	uint64_t refused = 0;
	for (size_t bit = 0; bit < n * 8; bit++) {
		m[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		struct dp_auth_result r = check(m, n, NOW_MS);
		cr_assert(r.verdict == DP_AUTH_REFUSE || r.verdict == DP_AUTH_DROP, "bit %zu", bit);
		refused++;
		m[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	const struct dp_auth_stats *s = &auth.stats;
	cr_assert_eq(s->malformed + s->missing_key + s->unknown_key + s->expired_key +
	                 s->stale_timestamp + s->future_timestamp + s->bad_mac + s->replay_too_old,
	             refused);
	cr_assert_eq(s->passed, 0);
	cr_assert_eq(check(m, n, NOW_MS).verdict, DP_AUTH_PASS, "the unflipped request");
}

Test(auth, timestamps_outside_skew_refused)
{
	uint8_t m[512];
	uint64_t skew = BB_AUTH_SKEW_MS_DEFAULT;
	size_t n = request(m, KEY_SEND, secret_send, 1, NOW_MS - skew - 1);
	struct dp_auth_result r = check(m, n, NOW_MS);
	cr_assert_eq(r.status, WIRE_ERR_REQUEST_EXPIRED);
	cr_assert_eq(auth.stats.stale_timestamp, 1);
	n = request(m, KEY_SEND, secret_send, 2, NOW_MS + skew + 1);
	r = check(m, n, NOW_MS);
	cr_assert_eq(r.status, WIRE_ERR_REQUEST_EXPIRED);
	cr_assert_eq(auth.stats.future_timestamp, 1);
	n = request(m, KEY_SEND, secret_send, 3, NOW_MS - skew);
	cr_assert_eq(check(m, n, NOW_MS).verdict, DP_AUTH_PASS, "at the edge");
}

Test(auth, replay_window)
{
	uint8_t m[512];
	size_t n = request(m, KEY_SEND, secret_send, 5000, NOW_MS);
	cr_assert_eq(check(m, n, NOW_MS).verdict, DP_AUTH_PASS);
	cr_assert_eq(check(m, n, NOW_MS).verdict, DP_AUTH_REPLAY, "the same request again");
	cr_assert_eq(auth.stats.replay_seen, 1);
	n = request(m, KEY_SEND, secret_send, 4990, NOW_MS); /* below the top, not seen */
	cr_assert_eq(check(m, n, NOW_MS).verdict, DP_AUTH_PASS);
	cr_assert_eq(check(m, n, NOW_MS).verdict, DP_AUTH_REPLAY);
	n = request(m, KEY_SEND, secret_send, 5000 + BB_REPLAY_WINDOW_BITS, NOW_MS);
	cr_assert_eq(check(m, n, NOW_MS).verdict, DP_AUTH_PASS, "slides the window");
	n = request(m, KEY_SEND, secret_send, 5000, NOW_MS);
	struct dp_auth_result r = check(m, n, NOW_MS);
	cr_assert_eq(r.verdict, DP_AUTH_DROP, "now older than the window");
	cr_assert_eq(auth.stats.replay_too_old, 1);
	/* A forged copy never reaches the window: its MAC fails first. */
	n = request(m, KEY_SEND, secret_old, 9000, NOW_MS);
	cr_assert_eq(check(m, n, NOW_MS).verdict, DP_AUTH_REFUSE);
	n = request(m, KEY_SEND, secret_send, 9000, NOW_MS);
	cr_assert_eq(check(m, n, NOW_MS).verdict, DP_AUTH_PASS, "the forgery left no mark");
}

Test(auth, rotated_key_overlap_then_expired)
{
	uint8_t m[512];
	size_t n = request(m, KEY_OLD, secret_old, 1, NOW_MS + 9999);
	cr_assert_eq(check(m, n, NOW_MS + 9999).verdict, DP_AUTH_PASS, "during the overlap");
	n = request(m, KEY_OLD, secret_old, 2, NOW_MS + 10000);
	struct dp_auth_result r = check(m, n, NOW_MS + 10000);
	cr_assert_eq(r.status, WIRE_ERR_INVALID_CLIENT_TOKEN);
	cr_assert_eq(auth.stats.expired_key, 1);
	n = request(m, KEY_SEND, secret_send, 3, NOW_MS + 10000);
	cr_assert_eq(check(m, n, NOW_MS + 10000).verdict, DP_AUTH_PASS, "the new key");
}

Test(auth, permissions)
{
	uint8_t m[512];
	size_t n = request(m, KEY_SEND, secret_send, 1, NOW_MS);
	struct dp_auth_result r = check(m, n, NOW_MS);
	const uint8_t *orders = (const uint8_t *)"orders";
	cr_assert(dp_auth_allows(&auth, r.key, WIRE_OP_SEND_MESSAGE, orders, 6));
	cr_assert(dp_auth_allows(&auth, r.key, WIRE_OP_SEND_MESSAGE_BATCH, orders, 6),
	          "a batch needs its single call's permission");
	cr_assert_not(dp_auth_allows(&auth, r.key, WIRE_OP_RECEIVE_MESSAGE, orders, 6));
	cr_assert_not(
	    dp_auth_allows(&auth, r.key, WIRE_OP_SEND_MESSAGE, (const uint8_t *)"ord", 3));
	cr_assert_not(dp_auth_allows(&auth, NULL, WIRE_OP_SEND_MESSAGE, orders, 6));
	cr_assert_eq(auth.stats.access_denied, 3);
	add_key(9, secret_old, 0, NULL); /* no policy: nothing */
	cr_assert_not(
	    dp_auth_allows(&auth, dp_auth_keys_find(&keys, 9), WIRE_OP_SEND_MESSAGE, orders, 6));
}

Test(auth, flood_shed_before_the_mac)
{
	dp_auth_free(&auth);
	struct dp_auth_options o = {
	    .mode = DP_AUTH_REQUIRED, .source_rate_per_s = 1000, .source_burst = 10};
	cr_assert_eq(dp_auth_init(&auth, &o), 0);
	uint8_t m[512];
	size_t n = request(m, KEY_SEND, secret_old, 1, NOW_MS); /* a bad MAC each time */
	for (int i = 0; i < 10; i++)
		cr_assert_eq(check(m, n, NOW_MS).verdict, DP_AUTH_REFUSE);
	cr_assert_eq(check(m, n, NOW_MS).verdict, DP_AUTH_DROP);
	cr_assert_eq(auth.stats.rate_limited, 1);
	cr_assert_eq(auth.stats.bad_mac, 10, "the 11th cost no MAC");
	cr_assert_eq(check(m, n, NOW_MS + 1).verdict, DP_AUTH_REFUSE, "1 ms refills one");
}

Test(auth, unauthenticated_mode)
{
	dp_auth_free(&auth);
	struct dp_auth_options o = {.mode = DP_AUTH_NONE};
	cr_assert_eq(dp_auth_init(&auth, &o), 0);
	uint8_t m[512];
	size_t n = request(m, 0, secret_send, 1, 0);
	struct dp_auth_result r = check(m, n, NOW_MS);
	cr_assert_eq(r.verdict, DP_AUTH_PASS);
	cr_assert_null(r.key);
	cr_assert(dp_auth_allows(&auth, NULL, WIRE_OP_SEND_MESSAGE, (const uint8_t *)"x", 1));
	cr_assert_eq(auth.stats.unauthenticated_passed, 1);
}

Test(auth, bad_keys_refuse_the_snapshot)
{
	struct bb_snapshot_key e = {.key_id = 4};
	memcpy(e.secret, secret_send, BB_KEY_SECRET_BYTES);
	dp_auth_keys_add(&keys, &e); /* 4 after 5: out of order */
	cr_assert(keys.invalid);
	cr_assert_gt(strlen(keys.invalid_reason), 0);
}

/* Keys travel in the snapshot: encoded by busbar-control's codec, parsed by busbard's. */
Test(auth, snapshot_carries_keys)
{
	static struct dp_snapshot parsed;
	static uint8_t body[BB_SNAPSHOT_HEADER_BYTES_MAX + 2 * BB_SNAPSHOT_KEY_BYTES_MAX];
	struct bb_snapshot_entry e[2] = {{.kind = BB_SNAPSHOT_KIND_KEY},
	                                 {.kind = BB_SNAPSHOT_KIND_KEY}};
	e[0].key = (struct bb_snapshot_key){
	    .key_id = 3, .policy_json = ALLOW_SEND, .policy_bytes = sizeof(ALLOW_SEND) - 1};
	memcpy(e[0].key.secret, secret_send, BB_KEY_SECRET_BYTES);
	e[1].key = (struct bb_snapshot_key){.key_id = 5, .expires_s = 99};
	memcpy(e[1].key.secret, secret_old, BB_KEY_SECRET_BYTES);
	struct bb_snapshot_header h = {.version = 7};
	size_t bytes;
	char error[256];
	cr_assert_eq(bb_snapshot_encode(&h, e, 2, body, sizeof(body), &bytes), 0);
	cr_assert_eq(dp_snapshot_parse(body, bytes, &parsed, error, sizeof(error)), WIRE_OK, "%s",
	             error);
	cr_assert_eq(parsed.keys.count, 2);
	const struct dp_auth_key *k = dp_auth_keys_find(&parsed.keys, 5);
	cr_assert_not_null(k);
	cr_assert_eq(k->expires_ms, 99000);
	cr_assert_not(k->has_policy);
	cr_assert(dp_auth_keys_find(&parsed.keys, 3)->has_policy);
	/* A policy busbard cannot compile refuses the whole snapshot, with the reason. */
	e[1].key.policy_json = "{\"Statement\":[]";
	e[1].key.policy_bytes = (uint32_t)strlen(e[1].key.policy_json);
	cr_assert_eq(bb_snapshot_encode(&h, e, 2, body, sizeof(body), &bytes), 0);
	cr_assert_eq(dp_snapshot_parse(body, bytes, &parsed, error, sizeof(error)),
	             WIRE_ERR_INVALID_PARAMETER);
	cr_assert(strstr(error, "key 5") != NULL, "%s", error);
	dp_auth_keys_clear(&parsed.keys);
}

Test(auth, config_options)
{
	struct dp_auth_options o;
	char error[256];
	dp_auth_options_default(&o);
	cr_assert_eq(o.mode, DP_AUTH_REQUIRED, "required unless configured otherwise");
	json_t *j = json_loads("{\"mode\":\"none\",\"skew_ms\":1000,\"source_burst\":7}", 0, NULL);
	cr_assert_eq(dp_auth_options_parse(j, &o, error, sizeof(error)), 0, "%s", error);
	cr_assert_eq(o.mode, DP_AUTH_NONE);
	cr_assert_eq(o.skew_ms, 1000);
	cr_assert_eq(o.source_burst, 7);
	json_decref(j);
	const char *bad[] = {"{\"mode\":\"off\"}",       "{\"skew_ms\":0}", "{\"skew_ms\":3600001}",
	                     "{\"source_burst\":\"x\"}", "{\"other\":1}",   "[]"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		j = json_loads(bad[i], JSON_DECODE_ANY, NULL);
		cr_assert_eq(dp_auth_options_parse(j, &o, error, sizeof(error)), -EINVAL, "%s",
		             bad[i]);
		cr_assert(strncmp(error, "auth.", 5) == 0, "%s", error);
		json_decref(j);
	}
}
