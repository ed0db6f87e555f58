/*
 * /metrics (see ctl_metrics.h). Names follow Prometheus' conventions: a
 * busbar_ prefix, _total for counters, seconds for time; busbard's counters
 * keep their own names under busbar_busbard_ and are untyped, since GetStats
 * mixes counters and gauges.
 */
#include "ctl_metrics.h"

#include <assert.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "bb_limits.h"
#include "wire.h"

#define STAT_NAME_BYTES_MAX 64u

static const char *const ACTIONS[CTL_METRICS_ACTIONS] = {
    "CreateQueue",    "DeleteQueue",        "ListQueues",
    "GetQueueUrl",    "GetQueueAttributes", "SendMessage",
    "ReceiveMessage", "DeleteMessage",      "ChangeMessageVisibility",
    "other",
};

/* Upper bounds of the latency buckets in microseconds; the last is +Inf. */
static const uint64_t BOUNDS_US[CTL_METRICS_BUCKETS - 1] = {
    500, 1000, 2500, 5000, 10000, 50000, 100000, 1000000, 5000000, 21000000,
};

static size_t action_index(const char *action)
{
	for (size_t i = 0; i + 1 < CTL_METRICS_ACTIONS; i++) {
		if (action != NULL && strcmp(action, ACTIONS[i]) == 0)
			return i;
	}
	return CTL_METRICS_ACTIONS - 1;
}

void ctl_metrics_record(struct ctl_metrics *m, const char *action, unsigned http_status,
                        uint64_t latency_us)
{
	assert(m != NULL && http_status >= 100);
	size_t a = action_index(action);
	atomic_fetch_add_explicit(&m->requests[a], 1, memory_order_relaxed);
	if (http_status >= 400 && http_status < 500)
		atomic_fetch_add_explicit(&m->client_errors[a], 1, memory_order_relaxed);
	if (http_status >= 500)
		atomic_fetch_add_explicit(&m->server_errors[a], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&m->latency_us_sum[a], latency_us, memory_order_relaxed);
	size_t b = 0;
	while (b < CTL_METRICS_BUCKETS - 1 && latency_us > BOUNDS_US[b])
		b++;
	atomic_fetch_add_explicit(&m->latency_buckets[a][b], 1, memory_order_relaxed);
}

static uint64_t load(atomic_uint_fast64_t *counter)
{
	return atomic_load_explicit(counter, memory_order_relaxed);
}

static void render_actions(FILE *f, struct ctl_metrics *m)
{
	fputs("# HELP busbar_http_requests_total AWS API requests by action.\n"
	      "# TYPE busbar_http_requests_total counter\n",
	      f);
	for (size_t a = 0; a < CTL_METRICS_ACTIONS; a++)
		fprintf(f, "busbar_http_requests_total{action=\"%s\"} %llu\n", ACTIONS[a],
		        (unsigned long long)load(&m->requests[a]));
	fputs("# HELP busbar_http_errors_total AWS API error answers by action and fault.\n"
	      "# TYPE busbar_http_errors_total counter\n",
	      f);
	for (size_t a = 0; a < CTL_METRICS_ACTIONS; a++) {
		fprintf(f, "busbar_http_errors_total{action=\"%s\",fault=\"client\"} %llu\n",
		        ACTIONS[a], (unsigned long long)load(&m->client_errors[a]));
		fprintf(f, "busbar_http_errors_total{action=\"%s\",fault=\"server\"} %llu\n",
		        ACTIONS[a], (unsigned long long)load(&m->server_errors[a]));
	}
	fputs("# HELP busbar_http_request_duration_seconds AWS API latency by action.\n"
	      "# TYPE busbar_http_request_duration_seconds histogram\n",
	      f);
	for (size_t a = 0; a < CTL_METRICS_ACTIONS; a++) {
		uint64_t cumulative = 0;
		for (size_t b = 0; b < CTL_METRICS_BUCKETS; b++) {
			cumulative += load(&m->latency_buckets[a][b]);
			if (b + 1 < CTL_METRICS_BUCKETS)
				fprintf(f,
				        "busbar_http_request_duration_seconds_bucket{action=\"%s\","
				        "le=\"%g\"} %llu\n",
				        ACTIONS[a], (double)BOUNDS_US[b] / 1e6,
				        (unsigned long long)cumulative);
			else
				fprintf(f,
				        "busbar_http_request_duration_seconds_bucket{action=\"%s\","
				        "le=\"+Inf\"} %llu\n",
				        ACTIONS[a], (unsigned long long)cumulative);
		}
		fprintf(f, "busbar_http_request_duration_seconds_sum{action=\"%s\"} %.6f\n",
		        ACTIONS[a], (double)load(&m->latency_us_sum[a]) / 1e6);
		fprintf(f, "busbar_http_request_duration_seconds_count{action=\"%s\"} %llu\n",
		        ACTIONS[a], (unsigned long long)cumulative);
	}
}

/* A stat name usable in a metric name: [a-z0-9_], else it is left out. */
static bool stat_name(const struct wire_field *field, char *out)
{
	if (field->length == 0 || field->length >= STAT_NAME_BYTES_MAX)
		return false;
	for (uint32_t i = 0; i < field->length; i++) {
		char c = (char)field->value[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
		if (!ok)
			return false;
		out[i] = c;
	}
	out[field->length] = '\0';
	return true;
}

static void render_stats(FILE *f, const uint8_t *stats, size_t stats_bytes)
{
	fprintf(f,
	        "# HELP busbar_busbard_up Whether busbard answered this scrape's GetStats.\n"
	        "# TYPE busbar_busbard_up gauge\nbusbar_busbard_up %d\n",
	        stats != NULL);
	struct wire_reader r;
	struct wire_field field;
	char name[STAT_NAME_BYTES_MAX];
	bool named = false;
	wire_reader_init(&r, stats, stats != NULL ? stats_bytes : 0);
	for (uint32_t i = 0; i < BB_FIELD_COUNT_MAX * 4u && wire_reader_next(&r, &field) == 1;
	     i++) {
		uint64_t value;
		if (field.tag == WIRE_TAG_STAT_NAME) {
			named = stat_name(&field, name);
		} else if (field.tag == WIRE_TAG_STAT_VALUE && named &&
		           wire_field_u64(&field, &value)) {
			fprintf(f, "# TYPE busbar_busbard_%s untyped\nbusbar_busbard_%s %llu\n",
			        name, name, (unsigned long long)value);
			named = false;
		}
	}
}

char *ctl_metrics_render(struct ctl_metrics *m, const uint8_t *stats, size_t stats_bytes,
                         size_t *bytes)
{
	assert(m != NULL && bytes != NULL);
	char *text = NULL;
	FILE *f = open_memstream(&text, bytes);
	if (f == NULL)
		return NULL;
	render_actions(f, m);
	render_stats(f, stats, stats_bytes);
	fclose(f);
	return text;
}
