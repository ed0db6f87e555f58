/*
 * The bus log records: PUT and DONE round trips, the largest PUT, and damaged records
 * (every truncation, every flipped bit of the header, wrong kinds and flags) refused.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bus_record.h"

static const char event[] = "{\"version\":\"0\",\"detail\":{}}";

static struct bus_record put_record(void)
{
	struct bus_record r = {.kind = BUS_RECORD_PUT, .bus_id = 7, .ingestion_ms = 1234567,
	                       .event = event, .event_bytes = sizeof(event) - 1,
	                       .replay_name = "nightly", .replay_name_bytes = 7};
	memset(r.event_id, 0xab, 16);
	return r;
}

Test(bus_record, put_and_done_round_trip)
{
	uint8_t buf[256];
	struct bus_record r = put_record();
	size_t n = bus_record_encode(&r, buf, sizeof(buf));
	cr_assert_eq(n, BUS_RECORD_HEADER_BYTES + sizeof(event) - 1 + 7);
	struct bus_record d;
	cr_assert_eq(bus_record_decode(buf, n, &d), 0);
	cr_assert_eq(d.kind, BUS_RECORD_PUT);
	cr_assert_eq(d.bus_id, 7);
	cr_assert_eq(d.ingestion_ms, 1234567);
	cr_assert(memcmp(d.event_id, r.event_id, 16) == 0);
	cr_assert_eq(d.event_bytes, sizeof(event) - 1);
	cr_assert(memcmp(d.event, event, d.event_bytes) == 0);
	cr_assert_eq(d.replay_name_bytes, 7);
	cr_assert(memcmp(d.replay_name, "nightly", 7) == 0);
	cr_assert_eq(bus_record_encode(&r, buf, n - 1), 0);
	struct bus_record done = {.kind = BUS_RECORD_DONE, .bus_id = 7, .ingestion_ms = 9};
	n = bus_record_encode(&done, buf, sizeof(buf));
	cr_assert_eq(n, BUS_RECORD_HEADER_BYTES);
	cr_assert_eq(bus_record_decode(buf, n, &d), 0);
	cr_assert_eq(d.kind, BUS_RECORD_DONE);
	cr_assert_null(d.event);
	cr_assert_null(d.replay_name);
}

Test(bus_record, largest_put)
{
	uint8_t *buf = malloc(BUS_RECORD_BYTES_MAX);
	char *big = malloc(BUS_EVENT_BYTES_MAX);
	memset(big, ' ', BUS_EVENT_BYTES_MAX);
	big[0] = '{';
	big[BUS_EVENT_BYTES_MAX - 1] = '}';
	char name[BB_BUS_REPLAY_NAME_BYTES_MAX];
	memset(name, 'n', sizeof(name));
	struct bus_record r = put_record();
	r.event = big;
	r.event_bytes = BUS_EVENT_BYTES_MAX;
	r.replay_name = name;
	r.replay_name_bytes = BB_BUS_REPLAY_NAME_BYTES_MAX;
	r.rule_id = UINT64_MAX;
	r.hops = BUS_HOPS_MAX;
	size_t n = bus_record_encode(&r, buf, BUS_RECORD_BYTES_MAX);
	cr_assert_eq(n, BUS_RECORD_BYTES_MAX);
	struct bus_record d;
	cr_assert_eq(bus_record_decode(buf, n, &d), 0);
	/* One byte past either limit, as written by other code: refused. */
	buf[4] = (uint8_t)(buf[4] + 1);
	cr_assert_eq(bus_record_decode(buf, n, &d), -EBADMSG);
	buf[4] = (uint8_t)(buf[4] - 1);
	buf[2] = BB_BUS_REPLAY_NAME_BYTES_MAX + 1;
	cr_assert_eq(bus_record_decode(buf, n + 1, &d), -EBADMSG);
	free(big);
	free(buf);
}

Test(bus_record, damaged_records_are_refused)
{
	uint8_t buf[256];
	struct bus_record r = put_record();
	size_t n = bus_record_encode(&r, buf, sizeof(buf));
	struct bus_record d;
	for (size_t cut = 0; cut < n; cut++)
		cr_assert_eq(bus_record_decode(buf, cut, &d), -EBADMSG, "cut at %zu", cut);
	cr_assert_eq(bus_record_decode(buf, n + 1, &d), -EBADMSG);
	/* Every bit of the kind, flags and sizes: a flip is refused. */
	for (size_t bit = 0; bit < 8 * 8; bit++) {
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		cr_assert_eq(bus_record_decode(buf, n, &d), -EBADMSG, "bit %zu", bit);
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	cr_assert_eq(bus_record_decode(buf, n, &d), 0);
	memset(buf + 8, 0, 8); /* bus id 0 */
	cr_assert_eq(bus_record_decode(buf, n, &d), -EBADMSG);
	r = put_record();
	r.replay_name_bytes = 0;
	n = bus_record_encode(&r, buf, sizeof(buf));
	buf[BUS_RECORD_HEADER_BYTES] = '['; /* not an event object */
	cr_assert_eq(bus_record_decode(buf, n, &d), -EBADMSG);
}

/* A scheduled firing names its rule and a forwarded event its hops: both come back, a DONE
 * or an all-zero origin is refused, and so are hops over BUS_HOPS_MAX. */
Test(bus_record, origin_of_a_scheduled_or_forwarded_event_round_trips)
{
	uint8_t buf[256];
	struct bus_record r = put_record();
	r.rule_id = 42;
	r.hops = BUS_HOPS_MAX;
	size_t n = bus_record_encode(&r, buf, sizeof(buf));
	cr_assert_eq(n, BUS_RECORD_HEADER_BYTES + sizeof(event) - 1 + 7 + BUS_RECORD_ORIGIN_BYTES);
	struct bus_record d;
	cr_assert_eq(bus_record_decode(buf, n, &d), 0);
	cr_assert_eq(d.rule_id, 42);
	cr_assert_eq(d.hops, BUS_HOPS_MAX);
	cr_assert_eq(d.replay_name_bytes, 7);
	cr_assert(memcmp(d.replay_name, "nightly", 7) == 0);
	cr_assert_eq(d.event_bytes, sizeof(event) - 1);
	buf[n - 8] = BUS_HOPS_MAX + 1; /* hops past the limit */
	cr_assert_eq(bus_record_decode(buf, n, &d), -EBADMSG);
	memset(buf + n - BUS_RECORD_ORIGIN_BYTES, 0, BUS_RECORD_ORIGIN_BYTES); /* not canonical */
	cr_assert_eq(bus_record_decode(buf, n, &d), -EBADMSG);
	r = put_record();
	n = bus_record_encode(&r, buf, sizeof(buf));
	cr_assert_eq(bus_record_decode(buf, n, &d), 0);
	cr_assert_eq(d.rule_id, 0);
	cr_assert_eq(d.hops, 0);
	struct bus_record done = {.kind = BUS_RECORD_DONE, .bus_id = 7};
	n = bus_record_encode(&done, buf, sizeof(buf));
	buf[1] = BUS_RECORD_FLAG_ORIGIN;
	memset(buf + n, 0, BUS_RECORD_ORIGIN_BYTES);
	buf[n] = 1;
	cr_assert_eq(bus_record_decode(buf, n + BUS_RECORD_ORIGIN_BYTES, &d), -EBADMSG);
}
