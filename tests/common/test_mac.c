/*
 * The wire MAC (common/bb_mac.h): a known answer computed independently
 * (Python's hmac over the bytes docs/protocol.md lists, the MAC field zeros),
 * sign then verify, and every single bit flipped anywhere in header or body,
 * MAC field included, fails verification; so does another key. (test_mac_alloc.c:
 * nothing is allocated per message.)
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "bb_limits.h"
#include "bb_mac.h"
#include "wire.h"

static const char secret[] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
/* The example of docs/protocol.md: SendMessage, key id 7, client 0x0102030405060708,
 * request 42, timestamp 1700000000000, one field (tag 2, "hello"). */
static const uint8_t mac_expected[WIRE_MAC_BYTES] = {
    0x4c, 0x25, 0xee, 0xe7, 0xa4, 0x5d, 0xb7, 0xb7, 0x3e, 0xae, 0x11, 0x40, 0x44, 0x94, 0xfc, 0x8e};

static size_t example(uint8_t *out)
{
	struct wire_header h = {.version = WIRE_VERSION,
	                        .opcode = WIRE_OP_SEND_MESSAGE,
	                        .body_bytes = 11,
	                        .key_id = 7,
	                        .client_id = 0x0102030405060708ull,
	                        .request_id = 42,
	                        .timestamp_ms = 1700000000000ull};
	wire_header_encode(&h, out);
	struct wire_writer w;
	wire_writer_init(&w, out + BB_WIRE_HEADER_BYTES, 64);
	wire_put_str(&w, WIRE_TAG_BODY, "hello");
	return BB_WIRE_HEADER_BYTES + w.length;
}

static struct bb_mac *mac;

static void setup(void)
{
	mac = bb_mac_new();
	cr_assert_not_null(mac);
}

static void teardown(void)
{
	bb_mac_free(mac);
}

TestSuite(mac, .init = setup, .fini = teardown);

Test(mac, known_answer)
{
	uint8_t message[128];
	size_t bytes = example(message);
	cr_assert_eq(bytes, 75);
	cr_assert_eq(bb_mac_sign(mac, (const uint8_t *)secret, 40, message, bytes), 0);
	cr_assert_arr_eq(message + WIRE_MAC_OFFSET, mac_expected, WIRE_MAC_BYTES);
	cr_assert_eq(bb_mac_verify(mac, (const uint8_t *)secret, 40, message, bytes), 0);
}

Test(mac, every_bit_flipped_fails)
{
	uint8_t message[128];
	size_t bytes = example(message);
	cr_assert_eq(bb_mac_sign(mac, (const uint8_t *)secret, 40, message, bytes), 0);
	for (size_t bit = 0; bit < bytes * 8; bit++) {
		message[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		cr_assert_eq(bb_mac_verify(mac, (const uint8_t *)secret, 40, message, bytes),
		             -EBADMSG, "bit %zu", bit);
		message[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	cr_assert_eq(bb_mac_verify(mac, (const uint8_t *)secret, 40, message, bytes), 0);
}

Test(mac, other_key_and_length_fail)
{
	uint8_t message[128];
	size_t bytes = example(message);
	char other[41];
	memcpy(other, secret, sizeof(other));
	other[39] ^= 1;
	cr_assert_eq(bb_mac_sign(mac, (const uint8_t *)secret, 40, message, bytes), 0);
	cr_assert_eq(bb_mac_verify(mac, (const uint8_t *)other, 40, message, bytes), -EBADMSG);
	cr_assert_eq(bb_mac_verify(mac, (const uint8_t *)secret, 40, message, bytes - 1), -EBADMSG);
	cr_assert_eq(bb_mac_verify(mac, (const uint8_t *)secret, 40, message, 63), -EBADMSG);
}
