/*
 * The memif-route scenario's inputs (see bench_route.h). Corpus lines longer than a
 * request's body (BENCH_BODY_BYTES_MAX) are left out of both runs alike, so busbard and
 * the matcher alone see exactly the same events; the rule set's patterns are kept as the
 * file's text. Nothing here runs during a measurement.
 */
#include "bench_route.h"

#include <assert.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "bb_snapshot.h"

#define ROUTE_QUEUE_BYTES    24u /* "route-" or "sub-" and any u32 */
#define ROUTE_ENTRIES_MAX    (1u + 3u * BENCH_ROUTE_RULES_MAX) /* bus; queue, rule, target */
#define ROUTE_WRAP_BYTES     (BENCH_ROUTE_PATTERN_MAX + 16u)
#define ROUTE_RETRY_ATTEMPTS 185u   /* EventBridge's defaults */
#define ROUTE_EVENT_AGE_S    86400u
#define ROUTE_QUEUE_BODY_MAX (256u << 10)

static int add_pattern(struct bench_route *r, json_t *pattern)
{
	const char *text = json_string_value(pattern);
	if (text == NULL || strlen(text) >= BENCH_ROUTE_PATTERN_MAX || strchr(text, '\n'))
		return -EINVAL;
	if (r->rule_count == BENCH_ROUTE_RULES_MAX)
		return -E2BIG; /* a bus holds at most BB_RULES_PER_BUS_MAX rules */
	snprintf(r->patterns[r->rule_count++], BENCH_ROUTE_PATTERN_MAX, "%s", text);
	return 0;
}

/* A set's patterns, or a combo's: the patterns of each of its sets, in order. */
static int read_rules(struct bench_route *r, const char *path, const char *set)
{
	json_error_t error;
	json_t *root = json_load_file(path, 0, &error);
	if (root == NULL) {
		fprintf(stderr, "busbar-bench: %s: %s\n", path, error.text);
		return -EINVAL;
	}
	json_t *sets = json_object_get(root, "sets");
	json_t *members = json_object_get(json_object_get(root, "combos"), set);
	json_t *one = json_array();
	json_array_append_new(one, json_string(set));
	int rc = json_is_array(members) || json_is_array(json_object_get(sets, set)) ? 0 : -ENOENT;
	size_t i, k;
	json_t *member, *pattern;
	json_array_foreach(json_is_array(members) ? members : one, i, member)
	{
		json_array_foreach(json_object_get(sets, json_string_value(member)), k, pattern)
		{
			if (rc == 0)
				rc = add_pattern(r, pattern);
		}
	}
	json_decref(one);
	json_decref(root);
	if (rc != 0 || r->rule_count == 0)
		fprintf(stderr, "busbar-bench: %s: rule set %s: %s\n", path, set,
		        rc != 0 ? strerror(-rc) : "no patterns");
	return rc != 0 ? rc : r->rule_count == 0 ? -ENODATA : 0;
}

/* The corpus lines that fit a request, at most BENCH_BODIES_MAX, into both event files. */
static int write_events(struct bench_route *r, const char *corpus)
{
	FILE *in = fopen(corpus, "r");
	FILE *events = fopen(r->events_path, "w");
	FILE *matcher = fopen(r->matcher_path, "w");
	static char line[1u << 20];
	int rc = in && events && matcher ? 0 : -errno;
	while (rc == 0 && r->event_count < BENCH_BODIES_MAX && fgets(line, sizeof(line), in)) {
		size_t length = strcspn(line, "\n");
		if (length == 0)
			continue;
		if (length > BENCH_BODY_BYTES_MAX) {
			r->events_skipped++;
			continue;
		}
		fprintf(events, "%.*s\n", (int)length, line);
		r->event_count++;
	}
	if (events != NULL)
		fclose(events);
	events = rc == 0 ? fopen(r->events_path, "r") : NULL;
	for (uint32_t pass = 0; events != NULL && pass < BENCH_ROUTE_MATCHER_PASSES; pass++) {
		rewind(events);
		while (fgets(line, sizeof(line), events) != NULL)
			fputs(line, matcher);
	}
	if (rc == 0 && (events == NULL || ferror(matcher) || r->event_count == 0))
		rc = r->event_count == 0 ? -ENODATA : -EIO;
	if (in != NULL)
		fclose(in);
	if (events != NULL)
		fclose(events);
	if (matcher != NULL && fclose(matcher) != 0 && rc == 0)
		rc = -EIO;
	if (rc != 0)
		fprintf(stderr, "busbar-bench: corpus %s: %s\n", corpus, strerror(-rc));
	return rc;
}

int bench_route_prepare(struct bench_route *r, const char *corpus, const char *rulesets,
                        const char *set, const char *dir)
{
	assert(corpus != NULL && set != NULL);
	memset(r, 0, sizeof(*r));
	snprintf(r->events_path, sizeof(r->events_path), "%s/events.jlines", dir);
	snprintf(r->matcher_path, sizeof(r->matcher_path), "%s/matcher-events.jlines", dir);
	snprintf(r->patterns_path, sizeof(r->patterns_path), "%s/%s", dir, set);
	int rc = rulesets != NULL ? read_rules(r, rulesets, set) : 0;
	if (rc == 0)
		rc = write_events(r, corpus);
	FILE *f = rc == 0 ? fopen(r->patterns_path, "w") : NULL;
	if (rc == 0 && f == NULL)
		rc = -errno;
	for (uint32_t i = 0; f != NULL && i < r->rule_count; i++)
		fprintf(f, "%s\n", r->patterns[i]);
	if (f != NULL && fclose(f) != 0)
		rc = -EIO;
	assert(rc != 0 || r->event_count > 0);
	return rc;
}

static struct bb_text text_of(const char *s)
{
	return (struct bb_text){.data = s, .bytes = (uint32_t)strlen(s)};
}

int bench_route_snapshot(const struct bench_route *r, uint64_t version, bool durable_bus,
                         uint8_t *buf, size_t capacity, size_t *length)
{
	assert(r->rule_count > 0 && r->rule_count <= BENCH_ROUTE_RULES_MAX);
	static struct bb_snapshot_entry entries[ROUTE_ENTRIES_MAX];
	static char queues[BENCH_ROUTE_RULES_MAX][ROUTE_QUEUE_BYTES];
	static char wrapped[BENCH_ROUTE_RULES_MAX][ROUTE_WRAP_BYTES];
	uint32_t n = 0;
	entries[n++] = (struct bb_snapshot_entry){
	    .kind = BB_SNAPSHOT_KIND_BUS,
	    .bus = {.name = text_of(BENCH_ROUTE_BUS),
	            .bus_id = 1,
	            .flags = durable_bus ? 0 : BB_SNAPSHOT_BUS_MEMORY}};
	for (uint32_t i = 0; i < r->rule_count; i++) {
		snprintf(queues[i], ROUTE_QUEUE_BYTES, "route-%u", i);
		snprintf(wrapped[i], ROUTE_WRAP_BYTES, "{\"detail\":%s}", r->patterns[i]);
		struct bb_snapshot_entry *q = &entries[n++];
		*q = (struct bb_snapshot_entry){.kind = BB_SNAPSHOT_KIND_QUEUE};
		q->queue = (struct bb_snapshot_queue){
		    .name_bytes = (uint32_t)strlen(queues[i]),
		    .queue_id = version * BENCH_ROUTE_RULES_MAX + i, /* new ids: empty queues */
		    .visibility_timeout_s = BB_VISIBILITY_TIMEOUT_S_DEFAULT,
		    .maximum_message_bytes = ROUTE_QUEUE_BODY_MAX,
		    .flags = BB_SNAPSHOT_QUEUE_MEMORY};
		memcpy(q->queue.name, queues[i], q->queue.name_bytes);
		entries[n++] = (struct bb_snapshot_entry){
		    .kind = BB_SNAPSHOT_KIND_RULE,
		    .rule = {.rule_id = i + 1,
		             .bus_id = 1,
		             .name = text_of(queues[i]),
		             .flags = BB_SNAPSHOT_RULE_ENABLED,
		             .pattern = text_of(wrapped[i])}};
		entries[n++] = (struct bb_snapshot_entry){
		    .kind = BB_SNAPSHOT_KIND_TARGET,
		    .target = {.rule_id = i + 1,
		               .id = text_of("queue"),
		               .kind = BB_TARGET_QUEUE,
		               .resource = text_of(queues[i]),
		               .input_kind = BB_TARGET_INPUT_EVENT,
		               .retry_attempts_max = ROUTE_RETRY_ATTEMPTS,
		               .event_age_s_max = ROUTE_EVENT_AGE_S}};
	}
	struct bb_snapshot_header header = {.format = BB_SNAPSHOT_FORMAT, .version = version};
	memcpy(header.store_id, "busbar-bench-rt", BB_SNAPSHOT_STORE_ID_BYTES);
	return bb_snapshot_encode(&header, entries, n, buf, capacity, length);
}

/* A memory-only queue of the routing snapshots: a new id each version, so it starts empty. */
static void memory_queue(struct bb_snapshot_entry *e, const char *name, uint64_t queue_id)
{
	*e = (struct bb_snapshot_entry){.kind = BB_SNAPSHOT_KIND_QUEUE};
	e->queue = (struct bb_snapshot_queue){.name_bytes = (uint32_t)strlen(name),
	                                      .queue_id = queue_id,
	                                      .visibility_timeout_s =
	                                          BB_VISIBILITY_TIMEOUT_S_DEFAULT,
	                                      .maximum_message_bytes = ROUTE_QUEUE_BODY_MAX,
	                                      .flags = BB_SNAPSHOT_QUEUE_MEMORY};
	assert(e->queue.name_bytes <= BB_QUEUE_NAME_BYTES_MAX);
	memcpy(e->queue.name, name, e->queue.name_bytes);
}

int bench_route_topic_snapshot(uint64_t version, uint8_t *buf, size_t capacity, size_t *length)
{
	static struct bb_snapshot_entry entries[1 + 2 * BENCH_ROUTE_SUBSCRIPTIONS];
	static char queues[BENCH_ROUTE_SUBSCRIPTIONS][ROUTE_QUEUE_BYTES];
	uint32_t n = 0;
	entries[n++] = (struct bb_snapshot_entry){
	    .kind = BB_SNAPSHOT_KIND_TOPIC,
	    .topic = {.name = text_of(BENCH_ROUTE_TOPIC),
	              .topic_id = 1,
	              .flags = BB_SNAPSHOT_TOPIC_MEMORY}};
	for (uint32_t i = 0; i < BENCH_ROUTE_SUBSCRIPTIONS; i++) {
		snprintf(queues[i], ROUTE_QUEUE_BYTES, "sub-%u", i);
		memory_queue(&entries[n++], queues[i], version * BENCH_ROUTE_RULES_MAX + i);
		entries[n++] = (struct bb_snapshot_entry){
		    .kind = BB_SNAPSHOT_KIND_SUBSCRIPTION,
		    .subscription = {.subscription_id = i + 1,
		                     .topic_id = 1,
		                     .protocol = BB_SUBSCRIPTION_SQS,
		                     .flags = BB_SNAPSHOT_SUBSCRIPTION_RAW |
		                              BB_SNAPSHOT_SUBSCRIPTION_SCOPE_BODY |
		                              BB_SNAPSHOT_SUBSCRIPTION_CONFIRMED,
		                     .endpoint = text_of(queues[i]),
		                     .filter_policy = text_of(BENCH_ROUTE_SNS_POLICY)}};
	}
	struct bb_snapshot_header header = {.format = BB_SNAPSHOT_FORMAT, .version = version};
	memcpy(header.store_id, "busbar-bench-rt", BB_SNAPSHOT_STORE_ID_BYTES);
	assert(n == sizeof(entries) / sizeof(entries[0]));
	return bb_snapshot_encode(&header, entries, n, buf, capacity, length);
}
