/*
 * Wire codec: what a header and fields encode to, and that every decoder
 * rejects short, foreign or inconsistent input instead of reading past it.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "bb_limits.h"
#include "wire.h"

static struct wire_header sample_header(uint32_t body_bytes)
{
	struct wire_header h = {
		.version = WIRE_VERSION,
		.opcode = WIRE_OP_SEND_MESSAGE,
		.flags = 0,
		.status = 0,
		.body_bytes = body_bytes,
		.key_id = 7,
		.client_id = 0x1122334455667788ull,
		.request_id = 42,
		.timestamp_ms = 1700000000000ull,
	};
	memset(h.mac, 0xab, sizeof(h.mac));
	return h;
}

Test(wire, header_round_trip_and_layout)
{
	uint8_t buf[BB_WIRE_HEADER_BYTES];
	struct wire_header in = sample_header(0), out;
	wire_header_encode(&in, buf);
	/* Little-endian on the wire, whatever the host: magic "bb", then version 1. */
	cr_assert_eq(buf[0], 0x62);
	cr_assert_eq(buf[1], 0x62);
	cr_assert_eq(buf[2], 1);
	cr_assert_eq(buf[16], 0x88, "client id low byte first");
	cr_assert_eq(wire_header_decode(buf, sizeof(buf), &out), WIRE_OK);
	cr_assert_eq(out.client_id, in.client_id);
	cr_assert_eq(out.request_id, 42);
	cr_assert_eq(out.key_id, 7);
	cr_assert_eq(out.timestamp_ms, in.timestamp_ms);
	cr_assert_arr_eq(out.mac, in.mac, WIRE_MAC_BYTES);
}

Test(wire, header_rejects_bad_input)
{
	uint8_t buf[BB_WIRE_HEADER_BYTES + 4];
	struct wire_header in = sample_header(4), out;
	wire_header_encode(&in, buf);
	cr_assert_eq(wire_header_decode(buf, sizeof(buf), &out), WIRE_OK);
	cr_assert_eq(wire_header_decode(buf, BB_WIRE_HEADER_BYTES - 1, &out), WIRE_ERR_MALFORMED,
	             "truncated header");
	cr_assert_eq(wire_header_decode(buf, sizeof(buf) - 1, &out), WIRE_ERR_MALFORMED,
	             "body shorter than declared");
	buf[2] = 2;
	cr_assert_eq(wire_header_decode(buf, sizeof(buf), &out), WIRE_ERR_UNSUPPORTED_VERSION);
	cr_assert_eq(out.request_id, 42, "the request id is still known for the error reply");
	buf[2] = 1;
	buf[60] = 1;
	cr_assert_eq(wire_header_decode(buf, sizeof(buf), &out), WIRE_ERR_MALFORMED,
	             "reserved bytes must be zero");
	buf[60] = 0;
	buf[0] = 'x';
	cr_assert_eq(wire_header_decode(buf, sizeof(buf), &out), WIRE_ERR_MALFORMED, "bad magic");
}

Test(wire, fields_round_trip)
{
	uint8_t buf[128];
	struct wire_writer w;
	wire_writer_init(&w, buf, sizeof(buf));
	wire_put_str(&w, WIRE_TAG_QUEUE_NAME, "orders");
	wire_put_u32(&w, WIRE_TAG_MAX_MESSAGES, 10);
	wire_put_u64(&w, WIRE_TAG_SENT_TIMESTAMP_MS, 1ull << 40);
	wire_put_bytes(&w, WIRE_TAG_MESSAGE_BEGIN, NULL, 0);
	cr_assert_not(w.overflow);
	cr_assert_eq(w.length, 6 + 6 + 6 + 4 + 6 + 8 + 6);

	struct wire_reader r;
	struct wire_field f;
	uint32_t u32;
	uint64_t u64;
	wire_reader_init(&r, buf, w.length);
	cr_assert_eq(wire_reader_next(&r, &f), 1);
	cr_assert_eq(f.tag, WIRE_TAG_QUEUE_NAME);
	cr_assert_eq(f.length, 6);
	cr_assert_eq(memcmp(f.value, "orders", 6), 0);
	cr_assert_eq(wire_reader_next(&r, &f), 1);
	cr_assert(wire_field_u32(&f, &u32));
	cr_assert_eq(u32, 10);
	cr_assert_not(wire_field_u64(&f, &u64), "a u32 field is not a u64");
	cr_assert_eq(wire_reader_next(&r, &f), 1);
	cr_assert(wire_field_u64(&f, &u64));
	cr_assert_eq(u64, 1ull << 40);
	cr_assert_eq(wire_reader_next(&r, &f), 1);
	cr_assert_eq(f.length, 0);
	cr_assert_eq(wire_reader_next(&r, &f), 0, "end of body");
}

Test(wire, reader_rejects_fields_past_the_end)
{
	uint8_t buf[64];
	struct wire_writer w;
	wire_writer_init(&w, buf, sizeof(buf));
	wire_put_str(&w, WIRE_TAG_BODY, "hello");
	struct wire_reader r;
	struct wire_field f;
	for (size_t cut = 1; cut < w.length; cut++) {
		wire_reader_init(&r, buf, cut);
		cr_assert_eq(wire_reader_next(&r, &f), -EBADMSG, "cut at %zu", cut);
	}
	/* A length near 2^32 must not wrap the bounds check. */
	buf[2] = buf[3] = buf[4] = buf[5] = 0xff;
	wire_reader_init(&r, buf, w.length);
	cr_assert_eq(wire_reader_next(&r, &f), -EBADMSG);
}

Test(wire, writer_reports_overflow)
{
	uint8_t buf[10];
	struct wire_writer w;
	wire_writer_init(&w, buf, sizeof(buf));
	wire_put_str(&w, WIRE_TAG_BODY, "12345");
	cr_assert(w.overflow);
	cr_assert_eq(w.length, 0, "nothing partial is written");
}

Test(wire, every_status_has_an_aws_name)
{
	for (int s = 0; s < WIRE_STATUS_COUNT; s++)
		cr_assert_not_null(wire_status_name(s));
	cr_assert_str_eq(wire_status_name(WIRE_ERR_NONEXISTENT_QUEUE),
	                 "AWS.SimpleQueueService.NonExistentQueue");
	cr_assert_str_eq(wire_status_name(WIRE_ERR_RECEIPT_HANDLE_INVALID), "ReceiptHandleIsInvalid");
	cr_assert(wire_opcode_is_local_only(WIRE_OP_APPLY_SNAPSHOT));
	cr_assert_not(wire_opcode_is_local_only(WIRE_OP_SEND_MESSAGE));
}
