/*
 * Counters of busbar-control's AWS API for /metrics (Prometheus text format
 * 0.0.4): requests, client and server errors, and a latency histogram per
 * action, plus busbard's own counters as its GetStats gives them. Recording
 * is lock-free (relaxed atomics): the HTTP thread and the pool thread both
 * record, and a scrape may see one request's counters a moment apart.
 */
#ifndef BB_CTL_METRICS_H
#define BB_CTL_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define CTL_METRICS_ACTIONS 10u /* the nine SQS actions busbar serves, and "other" */
#define CTL_METRICS_BUCKETS 11u /* latency bounds, the last +Inf */

struct ctl_metrics {
	atomic_uint_fast64_t requests[CTL_METRICS_ACTIONS];
	atomic_uint_fast64_t client_errors[CTL_METRICS_ACTIONS]; /* 4xx */
	atomic_uint_fast64_t server_errors[CTL_METRICS_ACTIONS]; /* 5xx */
	atomic_uint_fast64_t latency_us_sum[CTL_METRICS_ACTIONS];
	atomic_uint_fast64_t latency_buckets[CTL_METRICS_ACTIONS][CTL_METRICS_BUCKETS];
};

void ctl_metrics_record(struct ctl_metrics *metrics, const char *action, unsigned http_status,
                        uint64_t latency_us);

/*
 * The exposition text (malloc'd, *bytes long). stats is busbard's GetStats
 * reply body (STAT_NAME, STAT_VALUE pairs), or NULL when busbard did not
 * answer: busbar_busbard_up says which.
 */
char *ctl_metrics_render(struct ctl_metrics *metrics, const uint8_t *stats, size_t stats_bytes,
                         size_t *bytes);

#endif
