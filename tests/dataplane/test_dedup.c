/*
 * The retry window: a finished request is answered again byte for byte, a
 * request still running is reported as such, an entry whose reply bytes were
 * overwritten in the arena is forgotten rather than replayed corrupt, and a
 * different request under remembered ids is a conflict that leaves the
 * entry to the request that owns it. The ids are the key holder's own: another
 * key id under the same client and request ids is another request.
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

#define KEY_ID 3u

/* The key of a request under KEY_ID; every test request asks for the same thing (digest 5)
 * unless told. */
static struct dp_dedup_key key(uint64_t client_id, uint64_t request_id)
{
	return (struct dp_dedup_key){
	    .key_id = KEY_ID, .client_id = client_id, .request_id = request_id, .digest = 5};
}

static enum dp_dedup_state lookup(uint64_t client_id, uint64_t request_id)
{
	const uint8_t *reply;
	uint32_t bytes;
	struct dp_dedup_key k = key(client_id, request_id);
	return dp_dedup_lookup(&d, &k, &reply, &bytes);
}

static void begin(uint64_t client_id, uint64_t request_id)
{
	struct dp_dedup_key k = key(client_id, request_id);
	dp_dedup_begin(&d, &k);
}

static void finish(uint64_t client_id, uint64_t request_id, const void *reply, uint32_t bytes)
{
	struct dp_dedup_key k = key(client_id, request_id);
	dp_dedup_finish(&d, &k, reply, bytes);
}

Test(dedup, unknown_then_pending_then_done)
{
	const uint8_t *reply;
	uint32_t bytes;
	cr_assert_eq(lookup(1, 10), DP_DEDUP_UNKNOWN);
	begin(1, 10);
	cr_assert_eq(lookup(1, 10), DP_DEDUP_PENDING);
	finish(1, 10, "first answer", 12);
	struct dp_dedup_key k = key(1, 10);
	cr_assert_eq(dp_dedup_lookup(&d, &k, &reply, &bytes), DP_DEDUP_DONE);
	cr_assert_eq(bytes, 12);
	cr_assert_eq(memcmp(reply, "first answer", 12), 0);
	cr_assert_eq(lookup(2, 10), DP_DEDUP_UNKNOWN, "request ids are per client");
}

Test(dedup, overwritten_replies_are_forgotten)
{
	uint8_t big[400];
	memset(big, 7, sizeof(big));
	begin(1, 1);
	finish(1, 1, big, sizeof(big));
	for (uint64_t id = 2; id < 6; id++) {
		begin(9, id);
		finish(9, id, big, sizeof(big));
	}
	const uint8_t *reply;
	uint32_t bytes;
	cr_assert_eq(lookup(1, 1), DP_DEDUP_UNKNOWN,
	             "1600 bytes written since into a 1024-byte arena");
	struct dp_dedup_key k = key(9, 5);
	cr_assert_eq(dp_dedup_lookup(&d, &k, &reply, &bytes), DP_DEDUP_DONE);
	cr_assert_eq(reply[0], 7);
}

Test(dedup, the_oldest_entry_of_a_full_set_is_replaced)
{
	/* 16 entries in 4 sets of 4: after 64 distinct requests the first is gone. */
	for (uint64_t id = 0; id < 64; id++)
		begin(3, id);
	uint32_t remembered = 0;
	for (uint64_t id = 0; id < 64; id++)
		remembered += lookup(3, id) == DP_DEDUP_PENDING;
	cr_assert_eq(remembered, 16, "the window holds exactly its capacity");
	cr_assert_eq(lookup(3, 63), DP_DEDUP_PENDING, "the newest is kept");
}

Test(dedup, replies_larger_than_the_arena_are_not_kept)
{
	static uint8_t huge[2048];
	begin(1, 1);
	finish(1, 1, huge, sizeof(huge));
	cr_assert_eq(lookup(1, 1), DP_DEDUP_UNKNOWN);
}

Test(dedup, a_different_request_under_the_same_ids_is_a_conflict)
{
	begin(1, 10);
	finish(1, 10, "stored for digest 5", 19);
	struct dp_dedup_key other = key(1, 10);
	other.digest = 6;
	const uint8_t *reply = NULL;
	uint32_t bytes = 0;
	cr_assert_eq(dp_dedup_lookup(&d, &other, &reply, &bytes), DP_DEDUP_CONFLICT,
	             "another request is never given this one's answer");
	cr_assert_null(reply);
	dp_dedup_finish(&d, &other, (const uint8_t *)"other", 5);
	struct dp_dedup_key own = key(1, 10);
	cr_assert_eq(dp_dedup_lookup(&d, &own, &reply, &bytes), DP_DEDUP_DONE);
	cr_assert_eq(bytes, 19, "the conflicting request did not replace the stored answer");
	cr_assert_eq(memcmp(reply, "stored for digest 5", 19), 0);
}

Test(dedup, a_different_request_while_one_runs_is_a_conflict)
{
	begin(1, 11);
	struct dp_dedup_key other = key(1, 11);
	other.digest = 6;
	const uint8_t *reply;
	uint32_t bytes;
	cr_assert_eq(dp_dedup_lookup(&d, &other, &reply, &bytes), DP_DEDUP_CONFLICT);
	dp_dedup_finish(&d, &other, (const uint8_t *)"other", 5);
	cr_assert_eq(lookup(1, 11), DP_DEDUP_PENDING, "only the owner's reply completes it");
	finish(1, 11, "own", 3);
	cr_assert_eq(lookup(1, 11), DP_DEDUP_DONE);
}

Test(dedup, a_finished_entry_is_not_overwritten_by_a_late_finish)
{
	begin(2, 1);
	finish(2, 1, "first", 5);
	finish(2, 1, "second", 6);
	const uint8_t *reply;
	uint32_t bytes;
	struct dp_dedup_key k = key(2, 1);
	cr_assert_eq(dp_dedup_lookup(&d, &k, &reply, &bytes), DP_DEDUP_DONE);
	cr_assert_eq(bytes, 5);
	cr_assert_eq(memcmp(reply, "first", 5), 0);
}

/* Another key holder reusing a client's ids: neither its answer nor a conflict, its own entry. */
Test(dedup, the_same_ids_under_another_key_are_another_request)
{
	begin(1, 12);
	finish(1, 12, "the first key's answer", 22);
	struct dp_dedup_key other = key(1, 12);
	other.key_id = KEY_ID + 1;
	const uint8_t *reply = NULL;
	uint32_t bytes = 0;
	cr_assert_eq(dp_dedup_lookup(&d, &other, &reply, &bytes), DP_DEDUP_UNKNOWN,
	             "another key's request under the same ids is not this one's retry");
	cr_assert_null(reply);
	dp_dedup_begin(&d, &other);
	dp_dedup_finish(&d, &other, (const uint8_t *)"its own", 7);
	cr_assert_eq(dp_dedup_lookup(&d, &other, &reply, &bytes), DP_DEDUP_DONE);
	cr_assert_eq(bytes, 7);
	struct dp_dedup_key own = key(1, 12);
	cr_assert_eq(dp_dedup_lookup(&d, &own, &reply, &bytes), DP_DEDUP_DONE);
	cr_assert_eq(bytes, 22, "each key keeps its own answer");
	cr_assert_eq(memcmp(reply, "the first key's answer", 22), 0);
}
