/*
 * Snapshots as busbard runs them: decoding into the name index (duplicates
 * refused), owner and slot assignment that keeps a surviving queue in its
 * slot, lookup, and durable save/load. The codec's own checks are in
 * tests/common/test_snapshot.c.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dp_snapshot.h"

static size_t body_with(uint8_t *buf, size_t capacity, uint64_t version, const char **names,
                        const uint64_t *ids, uint32_t count)
{
	static struct bb_snapshot_entry entries[BB_QUEUE_COUNT_MAX];
	cr_assert_leq(count, BB_QUEUE_COUNT_MAX);
	for (uint32_t i = 0; i < count; i++) {
		entries[i] = (struct bb_snapshot_entry){
		    .kind = BB_SNAPSHOT_KIND_QUEUE,
		    .queue = {.name_bytes = (uint32_t)strlen(names[i]), .queue_id = ids[i],
		              .visibility_timeout_s = 30, .maximum_message_bytes = 262144},
		};
		snprintf(entries[i].queue.name, sizeof(entries[i].queue.name), "%s", names[i]);
	}
	struct bb_snapshot_header header = {.version = version};
	size_t length;
	cr_assert_eq(bb_snapshot_encode(&header, entries, count, buf, capacity, &length), 0);
	return length;
}

static struct dp_snapshot a, b;
static char error[256];

Test(snapshot, parse_find_and_assign)
{
	uint8_t buf[1024];
	const char *names[] = {"alpha", "beta", "gamma"};
	uint64_t ids[] = {11, 12, 13};
	size_t n = body_with(buf, sizeof(buf), 5, names, ids, 3);
	cr_assert_eq(dp_snapshot_parse(buf, n, &a, error, sizeof(error)), WIRE_OK, "%s", error);
	cr_assert_eq(a.version, 5);
	cr_assert_eq(a.queue_count, 3);
	cr_assert_eq(dp_snapshot_assign(&a, NULL, 2), 0);
	const struct dp_queue_entry *q = dp_snapshot_find(&a, (const uint8_t *)"beta", 4);
	cr_assert_not_null(q);
	cr_assert_eq(q->queue_id, 12);
	cr_assert_lt(q->owner, 2);
	cr_assert_null(dp_snapshot_find(&a, (const uint8_t *)"bet", 3));

	/* Next version drops alpha, adds delta: beta and gamma keep owner and slot. */
	const char *names2[] = {"gamma", "delta", "beta"};
	uint64_t ids2[] = {13, 14, 12};
	n = body_with(buf, sizeof(buf), 6, names2, ids2, 3);
	cr_assert_eq(dp_snapshot_parse(buf, n, &b, error, sizeof(error)), WIRE_OK);
	cr_assert_eq(dp_snapshot_assign(&b, &a, 2), 0);
	for (uint32_t i = 0; i < a.queue_count; i++) {
		const struct dp_queue_entry *before = &a.queues[i];
		const struct dp_queue_entry *after =
			dp_snapshot_find(&b, (const uint8_t *)before->name, before->name_bytes);
		if (after == NULL)
			continue;
		cr_assert_eq(after->slot, before->slot, "%s moved", before->name);
		cr_assert_eq(after->owner, before->owner);
	}
	/* No two queues of one owner share a slot. */
	for (uint32_t i = 0; i < b.queue_count; i++)
		for (uint32_t j = i + 1; j < b.queue_count; j++)
			cr_assert(b.queues[i].owner != b.queues[j].owner ||
			          b.queues[i].slot != b.queues[j].slot);
}

Test(snapshot, duplicate_names_are_refused_with_a_reason)
{
	uint8_t buf[1024];
	const char *dup[] = {"same", "same"};
	uint64_t ids[] = {1, 2};
	size_t n = body_with(buf, sizeof(buf), 1, dup, ids, 2);
	cr_assert_eq(dp_snapshot_parse(buf, n, &a, error, sizeof(error)), WIRE_ERR_INVALID_PARAMETER);
	cr_assert_neq(strstr(error, "duplicate"), NULL, "%s", error);
}

Test(snapshot, a_full_snapshot_finds_a_slot_for_every_queue)
{
	static uint8_t buf[1 << 20];
	static char names[BB_QUEUE_COUNT_MAX][16];
	static const char *name_ptrs[BB_QUEUE_COUNT_MAX];
	static uint64_t ids[BB_QUEUE_COUNT_MAX];
	for (uint32_t i = 0; i < BB_QUEUE_COUNT_MAX; i++) {
		snprintf(names[i], sizeof(names[i]), "q%u", i);
		name_ptrs[i] = names[i];
		ids[i] = i + 1;
	}
	size_t n = body_with(buf, sizeof(buf), 1, name_ptrs, ids, BB_QUEUE_COUNT_MAX);
	cr_assert_eq(dp_snapshot_parse(buf, n, &a, error, sizeof(error)), WIRE_OK, "%s", error);
	cr_assert_eq(dp_snapshot_assign(&a, NULL, BB_WORKER_COUNT_MAX), 0);
	for (uint32_t i = 0; i < BB_QUEUE_COUNT_MAX; i++)
		cr_assert_not_null(
		    dp_snapshot_find(&a, (const uint8_t *)names[i], strlen(names[i])));
}

Test(snapshot, save_and_load_round_trip)
{
	char dir[] = "/tmp/bb-snapshot-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	uint8_t buf[256], back[256];
	cr_assert_eq(dp_snapshot_load(dir, back, sizeof(back)), -ENOENT);
	const char *names[] = {"kept"};
	uint64_t ids[] = {3};
	size_t n = body_with(buf, sizeof(buf), 9, names, ids, 1);
	cr_assert_eq(dp_snapshot_save(dir, buf, n), 0);
	cr_assert_eq(dp_snapshot_load(dir, back, sizeof(back)), (long)n);
	cr_assert_eq(memcmp(buf, back, n), 0);
	cr_assert_eq(dp_snapshot_load(dir, back, n), -EFBIG, "a file that fills the buffer may be longer: refused");
	char path[300];
	snprintf(path, sizeof(path), "%s/%s", dir, DP_SNAPSHOT_FILE);
	unlink(path);
	rmdir(dir);
}
