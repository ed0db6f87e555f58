/*
 * A log-linear latency histogram in the manner of HdrHistogram: values below
 * 2 * BENCH_HIST_SUB_BUCKETS are counted exactly, larger ones in
 * BENCH_HIST_SUB_BUCKETS linear steps per power of two, so every recorded
 * value is known to within 1/128 (0.8%) of itself. Fixed size, no allocation;
 * recording is a few instructions, so the generator's loop can afford it per reply.
 */
#ifndef BB_BENCH_HIST_H
#define BB_BENCH_HIST_H

#include <stdint.h>

#define BENCH_HIST_SUB_BITS    7u
#define BENCH_HIST_SUB_BUCKETS (1u << BENCH_HIST_SUB_BITS)
/* Exact buckets [0, 2 * SUB), then SUB per power of two from 2^(SUB_BITS + 1) to 2^63. */
#define BENCH_HIST_BUCKETS                                                                        \
	(2u * BENCH_HIST_SUB_BUCKETS + (63u - BENCH_HIST_SUB_BITS) * BENCH_HIST_SUB_BUCKETS)

struct bench_hist {
	uint64_t count;
	uint64_t min;
	uint64_t max;
	uint64_t counts[BENCH_HIST_BUCKETS];
};

void bench_hist_reset(struct bench_hist *h);
void bench_hist_record(struct bench_hist *h, uint64_t value);
/* Adds every count of `from` to `into` (one histogram per generator lcore, merged at the end). */
void bench_hist_merge(struct bench_hist *into, const struct bench_hist *from);
/*
 * The value at quantile q (0 < q <= 1): the highest value equivalent to the bucket
 * that holds the ceil(q * count)-th smallest value, never above the maximum recorded.
 * 0 for an empty histogram.
 */
uint64_t bench_hist_quantile(const struct bench_hist *h, double q);

/* Bucket arithmetic, exposed for the unit test. */
uint32_t bench_hist_index(uint64_t value);
uint64_t bench_hist_lowest(uint32_t index);
uint64_t bench_hist_highest(uint32_t index);

#endif
