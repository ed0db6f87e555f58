/*
 * The retry window: a finished request is answered again byte for byte, a
 * request still running is reported as such, an entry whose reply bytes were
 * overwritten in the arena is forgotten rather than replayed corrupt, and a
 * different request under remembered ids is a conflict that leaves the
 * entry to the request that owns it. The ids are the key holder's own: another
 * key id under the same client and request ids is another request. The sets are
 * keyed with a secret: ids a key holder chose to share one set under the old,
 * unkeyed index no longer evict another client's entry (its retry would act twice).
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
	/* 16 entries in 4 sets of 4, placed by the keyed hash: 256 distinct requests fill every
	 * set (one getting fewer than 4 of them has odds under 1e-25). */
	for (uint64_t id = 0; id < 256; id++)
		begin(3, id);
	uint32_t remembered = 0;
	for (uint64_t id = 0; id < 256; id++)
		remembered += lookup(3, id) == DP_DEDUP_PENDING;
	cr_assert_eq(remembered, 16, "the window holds exactly its capacity");
	cr_assert_eq(lookup(3, 255), DP_DEDUP_PENDING, "the newest is kept");
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

/* ---- the sets' index under attack ---- */

#define ATTACK_ENTRIES    4096u /* 1,024 sets, as a worker's window has 2,048 */
#define ATTACK_SEARCH_MAX 1000000u
#define VICTIM_KEY_ID     7u
#define ATTACKER_KEY_ID   8u

/* The index before it was keyed (dp_dedup.c of 5761d71): anyone could compute a set. */
static uint32_t unkeyed_set_index(const struct dp_dedup_key *k, uint32_t set_count)
{
	uint64_t h = (k->client_id ^ (k->request_id * 0x9e3779b97f4a7c15ull) ^
	              ((uint64_t)k->key_id << 29)) *
	             0xbf58476d1ce4e5b9ull;
	return (uint32_t)((h >> 32) % set_count);
}

typedef uint32_t (*set_index_fn)(const struct dp_dedup *w, const struct dp_dedup_key *k);

static uint32_t unkeyed(const struct dp_dedup *w, const struct dp_dedup_key *k)
{
	return unkeyed_set_index(k, w->set_count);
}

/*
 * A victim's request is answered and remembered; then a key holder sends requests under its
 * own key and client id whose request ids it chose to share the victim's set under index,
 * one set's worth. Returns the victim's state afterwards: DONE while its retry would still
 * get its answer, UNKNOWN once evicted (its retry would act again).
 */
static enum dp_dedup_state after_attack(struct dp_dedup *w, set_index_fn index)
{
	const struct dp_dedup_key victim = {
	    .key_id = VICTIM_KEY_ID, .client_id = 0x5eed5eed, .request_id = 1, .digest = 5};
	dp_dedup_begin(w, &victim);
	dp_dedup_finish(w, &victim, (const uint8_t *)"sent once", 9);
	uint32_t target = index(w, &victim);
	uint32_t sent = 0;
	for (uint64_t id = 1; sent < DP_DEDUP_WAYS && id < ATTACK_SEARCH_MAX; id++) {
		struct dp_dedup_key k = {
		    .key_id = ATTACKER_KEY_ID, .client_id = 0xbad, .request_id = id, .digest = 6};
		if (index(w, &k) != target)
			continue;
		dp_dedup_begin(w, &k);
		dp_dedup_finish(w, &k, (const uint8_t *)"x", 1);
		sent++;
	}
	cr_assert_eq(sent, DP_DEDUP_WAYS, "the attacker found ids for a whole set");
	const uint8_t *reply;
	uint32_t bytes;
	return dp_dedup_lookup(w, &victim, &reply, &bytes);
}

/* The attack as it worked on the unkeyed index: its ids now land in sets of the secret's
 * choosing (all four in the victim's: odds of 1 in 1024^4), so the victim keeps its entry. */
Test(dedup, ids_chosen_to_share_an_unkeyed_set_do_not_evict_another_clients_entry)
{
	struct dp_dedup w;
	cr_assert_eq(dp_dedup_init(&w, ATTACK_ENTRIES, 1u << 16), 0);
	cr_assert_eq(after_attack(&w, unkeyed), DP_DEDUP_DONE,
	             "the victim's retry is answered, not run twice");
	dp_dedup_free(&w);
}

/* What the secret protects: ids chosen with the window's own index evict the victim, so the
 * index must stay unknown outside busbard; each window draws its own. */
Test(dedup, the_index_is_keyed_by_a_secret_drawn_at_init)
{
	struct dp_dedup w, other;
	cr_assert_eq(dp_dedup_init(&w, ATTACK_ENTRIES, 1u << 16), 0);
	cr_assert_eq(dp_dedup_init(&other, ATTACK_ENTRIES, 1u << 16), 0);
	cr_assert_neq(memcmp(&w.index_key, &other.index_key, sizeof(w.index_key)), 0);
	cr_assert_eq(after_attack(&w, dp_dedup_set_index), DP_DEDUP_UNKNOWN,
	             "a known index lets a key holder evict another client's entry");
	dp_dedup_free(&w);
	dp_dedup_free(&other);
}
