/*
 * Log-linear histogram (see bench_hist.h). A value v >= 2 * SUB with top bit m
 * falls in group g = m - SUB_BITS, where v >> g lies in [SUB, 2 * SUB): the
 * group's SUB buckets follow the exact ones, one group after another.
 */
#include "bench_hist.h"

#include <assert.h>
#include <math.h>
#include <string.h>

#define EXACT_LIMIT (2u * BENCH_HIST_SUB_BUCKETS)

void bench_hist_reset(struct bench_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

uint32_t bench_hist_index(uint64_t value)
{
	if (value < EXACT_LIMIT)
		return (uint32_t)value;
	uint32_t top_bit = 63u - (uint32_t)__builtin_clzll(value);
	uint32_t group = top_bit - BENCH_HIST_SUB_BITS;
	uint32_t sub = (uint32_t)(value >> group) - BENCH_HIST_SUB_BUCKETS;
	uint32_t index = EXACT_LIMIT + (group - 1) * BENCH_HIST_SUB_BUCKETS + sub;
	assert(index < BENCH_HIST_BUCKETS);
	return index;
}

uint64_t bench_hist_lowest(uint32_t index)
{
	assert(index < BENCH_HIST_BUCKETS);
	if (index < EXACT_LIMIT)
		return index;
	uint32_t group = (index - EXACT_LIMIT) / BENCH_HIST_SUB_BUCKETS + 1;
	uint64_t sub = (index - EXACT_LIMIT) % BENCH_HIST_SUB_BUCKETS + BENCH_HIST_SUB_BUCKETS;
	return sub << group;
}

uint64_t bench_hist_highest(uint32_t index)
{
	if (index + 1 == BENCH_HIST_BUCKETS)
		return UINT64_MAX;
	return bench_hist_lowest(index + 1) - 1;
}

void bench_hist_record(struct bench_hist *h, uint64_t value)
{
	h->counts[bench_hist_index(value)]++;
	h->count++;
	if (value < h->min)
		h->min = value;
	if (value > h->max)
		h->max = value;
}

void bench_hist_merge(struct bench_hist *into, const struct bench_hist *from)
{
	assert(into != from);
	for (uint32_t i = 0; i < BENCH_HIST_BUCKETS; i++)
		into->counts[i] += from->counts[i];
	into->count += from->count;
	if (from->min < into->min)
		into->min = from->min;
	if (from->max > into->max)
		into->max = from->max;
}

uint64_t bench_hist_quantile(const struct bench_hist *h, double q)
{
	assert(q > 0 && q <= 1);
	if (h->count == 0)
		return 0;
	uint64_t rank = (uint64_t)ceil(q * (double)h->count);
	if (rank == 0)
		rank = 1;
	uint64_t seen = 0;
	for (uint32_t i = 0; i < BENCH_HIST_BUCKETS; i++) {
		seen += h->counts[i];
		if (seen >= rank) {
			uint64_t highest = bench_hist_highest(i);
			return highest < h->max ? highest : h->max;
		}
	}
	return h->max;
}
