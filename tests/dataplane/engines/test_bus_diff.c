/*
 * Differential test of a bus's routing decisions: for every rule set of the benchmark
 * (a copy of ../shared/bench/citylots_rulesets.json: each set, and the COMBO sets compiled
 * as one bus) and every event of a small seeded citylots corpus (citylots_gen.py's output for
 * 100 events, kept in bus_diff/ beside this file), the (rule, target) pairs bus_match gives for the event as PutEvents makes it
 * (the corpus line as its detail, the patterns under "detail") are exactly the targets of
 * the enabled rules the reference interpreter (tests/filters/ref.c) says match, in rule
 * order. Every fourth rule is disabled and must never match. Paths come from the
 * environment (BB_BUS_DIFF_RULESETS, BB_BUS_DIFF_CORPUS), set by tests/meson.build.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "ref.h"

#define RULES_MAX         64u
#define PATTERN_BYTES_MAX 1024u
#define LINE_BYTES_MAX    (1u << 16)
#define TARGETS_PER_RULE  2u

struct bus_under_test {
	uint32_t count;
	char patterns[RULES_MAX][PATTERN_BYTES_MAX]; /* each under "detail" */
	struct bus_rule_spec specs[RULES_MAX];
	struct bus_rules *rules;
	struct bus_match_scratch *scratch;
};

static struct bus_under_test bus;
static struct bus_delivery deliveries[BUS_DELIVERIES_MAX];

static void add_pattern(const char *pattern)
{
	cr_assert_lt(bus.count, RULES_MAX);
	uint32_t i = bus.count++;
	int n = snprintf(bus.patterns[i], PATTERN_BYTES_MAX, "{\"detail\":%s}", pattern);
	cr_assert(n > 0 && (uint32_t)n < PATTERN_BYTES_MAX);
	bus.specs[i] = (struct bus_rule_spec){.rule_id = 1000 + i,
	                                      .enabled = i % 4 != 3,
	                                      .pattern = {bus.patterns[i], (uint32_t)n},
	                                      .target_count = TARGETS_PER_RULE};
}

static void add_set(json_t *sets, const char *name)
{
	json_t *patterns = json_object_get(sets, name);
	cr_assert(json_is_array(patterns), "set %s", name);
	size_t i;
	json_t *p;
	json_array_foreach(patterns, i, p) add_pattern(json_string_value(p));
}

static void compile(void)
{
	char error[256];
	int rc = 0;
	bus.rules = bus_rules_new(bus.specs, bus.count, error, sizeof(error), &rc);
	cr_assert_not_null(bus.rules, "%s", error);
	bus.scratch = bus_match_scratch_new(bus.rules);
	cr_assert_not_null(bus.scratch);
}

/* The event PutEvents makes of a corpus line: source, detail-type, the line as detail. */
static size_t event_of(const char *line, size_t line_bytes, char *out, size_t capacity)
{
	struct bus_entry entry = {.source = {"citylots", 8}, .detail_type = {"Feature", 7},
	                          .detail = {line, (uint32_t)line_bytes}};
	struct bus_entry_result result;
	struct bus_request_error error;
	uint32_t failed = 0;
	cr_assert_eq(bus_put_check(&entry, 1, 1700000000000ull, &result, &failed, &error), 0);
	cr_assert_eq(failed, 0, "%s", result.error_message);
	uint8_t random[16] = {1, 2, 3};
	struct bus_envelope envelope = {.account = "000000000000", .region = "local"};
	size_t bytes = 0;
	cr_assert_eq(bus_event_write(&entry, &result, random, &envelope, out, capacity, &bytes), 0);
	return bytes;
}

/* bus_match's pairs equal each enabled rule the reference matches, all its targets. */
static uint32_t check_event(const char *event, size_t bytes, uint64_t number)
{
	int count = bus_match(bus.rules, bus.scratch, event, bytes, deliveries,
	                      BUS_DELIVERIES_MAX);
	cr_assert_geq(count, 0, "event %llu", (unsigned long long)number);
	uint32_t at = 0, matched = 0;
	for (uint32_t rule = 0; rule < bus.count; rule++) {
		int ref = ref_match(bus.patterns[rule], strlen(bus.patterns[rule]), event, bytes);
		cr_assert_geq(ref, 0, "the reference evaluates rule %u", rule);
		if (ref == 0 || !bus.specs[rule].enabled)
			continue;
		matched++;
		for (uint32_t t = 0; t < TARGETS_PER_RULE; t++, at++) {
			cr_assert_lt(at, (uint32_t)count, "event %llu: rule %u (%s) missing",
			             (unsigned long long)number, rule, bus.patterns[rule]);
			cr_assert_eq(deliveries[at].rule_index, rule, "event %llu",
			             (unsigned long long)number);
			cr_assert_eq(deliveries[at].target_index, t);
			cr_assert_eq(deliveries[at].rule_id, bus.specs[rule].rule_id);
		}
	}
	cr_assert_eq(at, (uint32_t)count, "event %llu: pairs the reference does not give",
	             (unsigned long long)number);
	return matched;
}

/* Every event of the corpus through the bus; returns how many rule matches there were. */
static uint64_t run_corpus(const char *corpus)
{
	FILE *f = fopen(corpus, "r");
	cr_assert_not_null(f, "%s", corpus);
	char *line = malloc(LINE_BYTES_MAX), *event = malloc(BUS_EVENT_BYTES_MAX);
	uint64_t number = 0, matched = 0;
	while (fgets(line, LINE_BYTES_MAX, f) != NULL) {
		size_t n = strcspn(line, "\n");
		size_t bytes = event_of(line, n, event, BUS_EVENT_BYTES_MAX);
		matched += check_event(event, bytes, ++number);
	}
	cr_assert_gt(number, 0, "the corpus has events");
	fclose(f);
	free(line);
	free(event);
	return matched;
}

static json_t *rulesets(void)
{
	const char *path = getenv("BB_BUS_DIFF_RULESETS");
	cr_assert_not_null(path, "BB_BUS_DIFF_RULESETS names the rule sets");
	json_error_t error;
	json_t *root = json_load_file(path, 0, &error);
	cr_assert_not_null(root, "%s: %s", path, error.text);
	return root;
}

static void free_bus(void)
{
	bus_match_scratch_free(bus.scratch);
	bus_rules_free(bus.rules);
	memset(&bus, 0, sizeof(bus));
}

/* One bus per rule set, and one per combo of sets; the layout's corpus file for each. */
Test(bus_diff, rule_decisions_equal_the_reference_on_the_benchmark_corpus, .timeout = 300)
{
	const char *corpus_dir = getenv("BB_BUS_DIFF_CORPUS");
	cr_assert_not_null(corpus_dir, "BB_BUS_DIFF_CORPUS names the corpus directory");
	json_t *root = rulesets();
	json_t *sets = json_object_get(root, "sets"), *layout = json_object_get(root, "layout");
	json_t *combos = json_object_get(root, "combos");
	uint64_t matched = 0;
	const char *name;
	json_t *value;
	json_object_foreach(sets, name, value) {
		add_set(sets, name);
		compile();
		const char *kind = json_string_value(json_object_get(layout, name));
		char path[1024];
		snprintf(path, sizeof(path), "%s/synthetic-%s.jlines", corpus_dir, kind);
		matched += run_corpus(path);
		free_bus();
	}
	json_object_foreach(combos, name, value) {
		size_t i;
		json_t *set;
		json_array_foreach(value, i, set) add_set(sets, json_string_value(set));
		compile();
		char path[1024];
		snprintf(path, sizeof(path), "%s/synthetic-citylots2.jlines", corpus_dir);
		matched += run_corpus(path);
		free_bus();
	}
	cr_assert_gt(matched, 0, "some rules match: the comparison is not vacuous");
	json_decref(root);
}
