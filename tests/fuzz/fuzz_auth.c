/*
 * Fuzz target: UDP request authentication (dataplane/dp_auth.h) on any bytes.
 * Input: 1 byte of flags, 8 bytes of clock offset, 4 of source address, then the
 * datagram. Flag bit 0 signs the datagram with key 3's secret first, so inputs
 * reach past the MAC into the replay window and the policy check; bit 1 adds a
 * second check of the same bytes (replay). State (windows, buckets) carries over
 * between inputs, as on a worker. Nothing may crash, read out of bounds or pass
 * a datagram whose MAC does not verify.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bb_endian.h"
#include "dp_auth.h"

#define INPUT_PREFIX_BYTES 13
#define DATAGRAM_BYTES_MAX 4096
#define BASE_MS            1700000000000ull

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char secret[] = "AAAAAAAAAABBBBBBBBBBCCCCCCCCCCDDDDDDDDDD";
static const char policy[] = "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"sqs:*\","
                             "\"Resource\":\"arn:aws:sqs:*:*:o*\"},{\"Effect\":\"Deny\","
                             "\"Action\":\"sqs:Delete*\",\"Resource\":\"*\"}]}";
static struct dp_auth_keys keys;
static struct dp_auth auth;
static struct bb_mac *mac;

static void setup(void)
{
	struct bb_snapshot_key k = {
	    .key_id = 3, .policy_json = policy, .policy_bytes = sizeof(policy) - 1};
	memcpy(k.secret, secret, BB_KEY_SECRET_BYTES);
	dp_auth_keys_add(&keys, &k);
	k.key_id = 9;
	k.expires_s = BASE_MS / 1000 + 60;
	dp_auth_keys_add(&keys, &k);
	struct dp_auth_options o;
	dp_auth_options_default(&o);
	o.source_burst = 64;
	if (dp_auth_init(&auth, &o) != 0 || keys.invalid)
		__builtin_trap();
	mac = bb_mac_new();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t datagram[DATAGRAM_BYTES_MAX];
	if (mac == NULL)
		setup();
	if (size < INPUT_PREFIX_BYTES || size - INPUT_PREFIX_BYTES > sizeof(datagram))
		return 0;
	uint8_t flags = data[0];
	uint64_t now_ms = BASE_MS + (bb_get_le64(data + 1) % (24ull * 3600 * 1000));
	uint32_t source_ip = bb_get_le32(data + 9);
	size_t length = size - INPUT_PREFIX_BYTES;
	memcpy(datagram, data + INPUT_PREFIX_BYTES, length);
	bool signed_here = (flags & 1) != 0 && length >= BB_WIRE_HEADER_BYTES;
	if (signed_here &&
	    bb_mac_sign(mac, (const uint8_t *)secret, BB_KEY_SECRET_BYTES, datagram, length) != 0)
		__builtin_trap(); /* a whole header is there: signing cannot fail */
	for (int round = 0; round < ((flags & 2) ? 2 : 1); round++) {
		struct dp_auth_result r;
		dp_auth_check(&auth, &keys, datagram, length, source_ip, now_ms, &r);
		bool verified = r.verdict == DP_AUTH_PASS || r.verdict == DP_AUTH_REPLAY;
		if (!verified)
			continue;
		/* Only a datagram signed with a key's secret can pass. */
		if (bb_mac_verify(mac, (const uint8_t *)secret, BB_KEY_SECRET_BYTES, datagram,
		                  length) != 0)
			__builtin_trap();
		size_t name_bytes = length > 80 ? 80 : length - BB_WIRE_HEADER_BYTES;
		(void)dp_auth_allows(&auth, r.key, datagram[3], datagram + BB_WIRE_HEADER_BYTES,
		                     name_bytes);
		uint8_t reply[BB_WIRE_HEADER_BYTES];
		memcpy(reply, datagram, sizeof(reply));
		if (dp_auth_sign_reply(&auth, r.key, reply, sizeof(reply)) != 0)
			__builtin_trap();
	}
	return 0;
}
