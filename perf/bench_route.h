/*
 * What the memif-route scenario sends and configures (bench_route.c): the events a
 * PutEvents load carries, taken from a JSON-lines corpus, and the rules of one rule set of
 * a rule-set file (../shared/bench/citylots_rulesets.json's shape), each rule targeting a
 * memory-only queue of its own on a memory-only bus. The same events and patterns go to
 * `busbar-bench filters` for the matcher-alone row, so the two rates are comparable.
 */
#ifndef BB_BENCH_ROUTE_H
#define BB_BENCH_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bench_load.h"

#define BENCH_ROUTE_BUS         "bench"
#define BENCH_ROUTE_TOPIC       "bench"
/* SNS fan-out: the topic's sqs subscriptions, each with a body-scope filter policy that every
 * citylots feature passes (so a publish is this many deliveries), each to its own queue. */
#define BENCH_ROUTE_SUBSCRIPTIONS 10u
#define BENCH_ROUTE_SNS_POLICY    "{\"type\":[\"Feature\"]}"
#define BENCH_ROUTE_RULES_MAX   BB_RULES_PER_BUS_MAX
#define BENCH_ROUTE_PATTERN_MAX 4096u /* bytes of one pattern as the rule-set file has it */
/* The matcher-alone run times filters over the events this many times over: a few thousand
 * events alone last milliseconds, too short a time to read. */
#define BENCH_ROUTE_MATCHER_PASSES 20u

struct bench_route {
	char patterns[BENCH_ROUTE_RULES_MAX][BENCH_ROUTE_PATTERN_MAX];
	uint32_t rule_count;
	uint32_t event_count;   /* corpus lines kept (at most BENCH_BODIES_MAX) */
	uint32_t events_skipped; /* corpus lines longer than BENCH_BODY_BYTES_MAX */
	char events_path[4096];  /* the kept lines: the generator's --body-file */
	char matcher_path[4096]; /* the same lines, BENCH_ROUTE_MATCHER_PASSES times */
	char patterns_path[4096]; /* one pattern a line: filters --patterns */
};

/*
 * Reads rule set `set` (a combo of sets, or a set) of the rule-set file (NULL: no rules,
 * for publish) and the corpus, and writes the files into dir. 0, or -errno with the reason
 * on stderr.
 */
__attribute__((warn_unused_result)) int bench_route_prepare(struct bench_route *r,
                                                            const char *corpus,
                                                            const char *rulesets,
                                                            const char *set, const char *dir);

/*
 * The ApplySnapshot body: the bus BENCH_ROUTE_BUS, memory-only unless durable_bus (then its
 * events go to the worker's log before they are answered), rule i with pattern
 * {"detail": pattern i} (PutEvents puts the corpus line under "detail"), its one target the
 * memory-only queue "route-i". -errno from the codec.
 */
__attribute__((warn_unused_result)) int bench_route_snapshot(const struct bench_route *r,
                                                             uint64_t version, bool durable_bus,
                                                             uint8_t *buf, size_t capacity,
                                                             size_t *length);

/*
 * Publish's ApplySnapshot body: the memory-only topic BENCH_ROUTE_TOPIC with
 * BENCH_ROUTE_SUBSCRIPTIONS raw sqs subscriptions filtered by BENCH_ROUTE_SNS_POLICY on the
 * body, subscription i to the memory-only queue "sub-i". -errno from the codec.
 */
__attribute__((warn_unused_result)) int bench_route_topic_snapshot(uint64_t version,
                                                                   uint8_t *buf,
                                                                   size_t capacity,
                                                                   size_t *length);

#endif
