/*
 * SipHash-2-4 against the reference vectors (key 00..0f, message 00 01 ..),
 * in one piece and fed in every split; and the UDP cookie: valid for its own
 * source in its epoch and the next, refused for any other address, port or
 * client id and once two epochs have passed.
 */
#include <criterion/criterion.h>

#include "dp_cookie.h"
#include "dp_siphash.h"

static const struct dp_siphash_key reference_key = {0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull};

Test(siphash, reference_vectors)
{
	uint8_t message[15];
	for (uint8_t i = 0; i < sizeof(message); i++)
		message[i] = i;
	cr_assert_eq(dp_siphash(&reference_key, message, 0), 0x726fdb47dd0e0e31ull);
	cr_assert_eq(dp_siphash(&reference_key, message, 1), 0x74f839c593dc67fdull);
	cr_assert_eq(dp_siphash(&reference_key, message, 2), 0x0d6c8009d9a94f5aull);
	cr_assert_eq(dp_siphash(&reference_key, message, 3), 0x85676696d7fb7e2dull);
	cr_assert_eq(dp_siphash(&reference_key, message, 8), 0x93f5f5799a932462ull);
	cr_assert_eq(dp_siphash(&reference_key, message, 15), 0xa129ca6149be45e5ull);
}

Test(siphash, any_split_of_the_input_gives_the_same_hash)
{
	uint8_t message[40];
	for (uint8_t i = 0; i < sizeof(message); i++)
		message[i] = (uint8_t)(i * 37 + 1);
	uint64_t whole = dp_siphash(&reference_key, message, sizeof(message));
	for (size_t a = 0; a <= sizeof(message); a++) {
		for (size_t b = a; b <= sizeof(message); b++) {
			struct dp_siphash s;
			dp_siphash_init(&s, &reference_key);
			dp_siphash_update(&s, message, a);
			dp_siphash_update(&s, message + a, b - a);
			dp_siphash_update(&s, message + b, sizeof(message) - b);
			cr_assert_eq(dp_siphash_final(&s), whole, "split at %zu and %zu", a, b);
		}
	}
}

static const struct dp_cookie_source source = {0x0a4d0001, 0x409c, 77};

Test(cookie, valid_for_its_source_in_its_epoch_and_the_next)
{
	struct dp_siphash_key key;
	cr_assert_eq(dp_cookie_key_init(&key), 0);
	uint64_t made_ms = 10 * (uint64_t)DP_COOKIE_EPOCH_MS + 5;
	uint64_t cookie = dp_cookie_make(&key, &source, made_ms);
	cr_assert(dp_cookie_check(&key, &source, made_ms, cookie));
	cr_assert(dp_cookie_check(&key, &source, 11 * (uint64_t)DP_COOKIE_EPOCH_MS + 7, cookie),
	          "the previous epoch's cookie is accepted");
	cr_assert_not(dp_cookie_check(&key, &source, 12 * (uint64_t)DP_COOKIE_EPOCH_MS, cookie),
	              "two epochs later it has expired");
	cr_assert_not(dp_cookie_check(&key, &source, made_ms, cookie ^ 1));
}

Test(cookie, refused_from_another_address_port_or_client)
{
	struct dp_siphash_key key;
	cr_assert_eq(dp_cookie_key_init(&key), 0);
	uint64_t cookie = dp_cookie_make(&key, &source, 1000);
	struct dp_cookie_source other_ip = source, other_port = source, other_client = source;
	other_ip.ip_be ^= 0x01000000;
	other_port.port_be ^= 0x0100;
	other_client.client_id++;
	cr_assert_not(dp_cookie_check(&key, &other_ip, 1000, cookie));
	cr_assert_not(dp_cookie_check(&key, &other_port, 1000, cookie));
	cr_assert_not(dp_cookie_check(&key, &other_client, 1000, cookie));
	struct dp_siphash_key other_key;
	cr_assert_eq(dp_cookie_key_init(&other_key), 0);
	cr_assert_not(dp_cookie_check(&other_key, &source, 1000, cookie),
	              "another process's key (a restart) refuses it");
}
