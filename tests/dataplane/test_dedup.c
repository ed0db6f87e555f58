/*
 * The retry window: a finished request is answered again byte for byte, a
 * request still running is reported as such, and an entry whose reply bytes
 * were overwritten in the arena is forgotten rather than replayed corrupt.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "dp_dedup.h"

static struct dp_dedup d;

static void setup(void)
{
	cr_assert_eq(dp_dedup_init(&d, 16, 1024), 0);
}

static void teardown(void)
{
	dp_dedup_free(&d);
}

TestSuite(dedup, .init = setup, .fini = teardown);

Test(dedup, unknown_then_pending_then_done)
{
	const uint8_t *reply;
	uint32_t bytes;
	cr_assert_eq(dp_dedup_lookup(&d, 1, 10, &reply, &bytes), DP_DEDUP_UNKNOWN);
	dp_dedup_begin(&d, 1, 10);
	cr_assert_eq(dp_dedup_lookup(&d, 1, 10, &reply, &bytes), DP_DEDUP_PENDING);
	dp_dedup_finish(&d, 1, 10, (const uint8_t *)"first answer", 12);
	cr_assert_eq(dp_dedup_lookup(&d, 1, 10, &reply, &bytes), DP_DEDUP_DONE);
	cr_assert_eq(bytes, 12);
	cr_assert_eq(memcmp(reply, "first answer", 12), 0);
	cr_assert_eq(dp_dedup_lookup(&d, 2, 10, &reply, &bytes), DP_DEDUP_UNKNOWN,
	             "request ids are per client");
}

Test(dedup, overwritten_replies_are_forgotten)
{
	uint8_t big[400];
	memset(big, 7, sizeof(big));
	dp_dedup_begin(&d, 1, 1);
	dp_dedup_finish(&d, 1, 1, big, sizeof(big));
	for (uint64_t id = 2; id < 6; id++) {
		dp_dedup_begin(&d, 9, id);
		dp_dedup_finish(&d, 9, id, big, sizeof(big));
	}
	const uint8_t *reply;
	uint32_t bytes;
	cr_assert_eq(dp_dedup_lookup(&d, 1, 1, &reply, &bytes), DP_DEDUP_UNKNOWN,
	             "1600 bytes written since into a 1024-byte arena");
	cr_assert_eq(dp_dedup_lookup(&d, 9, 5, &reply, &bytes), DP_DEDUP_DONE);
	cr_assert_eq(reply[0], 7);
}

Test(dedup, the_oldest_entry_of_a_full_set_is_replaced)
{
	/* 16 entries in 4 sets of 4: after 64 distinct requests the first is gone. */
	for (uint64_t id = 0; id < 64; id++)
		dp_dedup_begin(&d, 3, id);
	const uint8_t *reply;
	uint32_t bytes;
	uint32_t remembered = 0;
	for (uint64_t id = 0; id < 64; id++)
		remembered += dp_dedup_lookup(&d, 3, id, &reply, &bytes) == DP_DEDUP_PENDING;
	cr_assert_eq(remembered, 16, "the window holds exactly its capacity");
	cr_assert_eq(dp_dedup_lookup(&d, 3, 63, &reply, &bytes), DP_DEDUP_PENDING,
	             "the newest is kept");
}

Test(dedup, replies_larger_than_the_arena_are_not_kept)
{
	static uint8_t huge[2048];
	dp_dedup_begin(&d, 1, 1);
	dp_dedup_finish(&d, 1, 1, huge, sizeof(huge));
	const uint8_t *reply;
	uint32_t bytes;
	cr_assert_eq(dp_dedup_lookup(&d, 1, 1, &reply, &bytes), DP_DEDUP_UNKNOWN);
}
