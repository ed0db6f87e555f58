/*
 * The routing part of a snapshot as busbard runs it: topics with their subscriptions,
 * buses with their rules and each rule's targets, every name resolved to what it names in
 * the same snapshot (a queue, topic or bus position), each topic's filter policies and
 * each bus's event patterns compiled by filters/ (flt.h) into matchers. Built by the
 * service thread with the snapshot (it may allocate), immutable once published and read
 * by the workers without locks, freed with the snapshot after every worker has passed a
 * quiescent point. No DPDK here.
 */
#ifndef BB_DP_ROUTING_H
#define BB_DP_ROUTING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bb_snapshot.h"
#include "bus.h"
#include "bus_schedule.h"
#include "topic.h"

#define DP_ROUTING_NONE UINT32_MAX /* a name that names nothing in the snapshot */

struct dp_topic {
	struct bb_text name;
	uint64_t topic_id;
	uint32_t flags; /* BB_SNAPSHOT_TOPIC_* */
	uint32_t owner; /* worker index */
	uint32_t slot;  /* its topic engine slot on the owner */
	/* Its subscriptions: subscriptions[first_subscription, + subscription_count). */
	uint32_t first_subscription, subscription_count;
	/* Its subscriptions' filter policies compiled by the topic engine (topic.h): a match
	 * names a subscription by its position in the topic. The scratch is the owner's. */
	struct topic_filter *filter;
	struct topic_scratch *scratch;
};

struct dp_subscription {
	uint64_t subscription_id;
	uint32_t topic; /* position in topics */
	uint32_t protocol; /* enum bb_subscription_protocol */
	uint32_t flags;    /* BB_SNAPSHOT_SUBSCRIPTION_* */
	uint32_t queue;             /* sqs: the endpoint's queue position, or DP_ROUTING_NONE */
	uint32_t dead_letter_queue; /* a queue position, or DP_ROUTING_NONE */
	struct bb_text endpoint;
	struct bb_text filter_policy; /* NULL data: every message goes to it */
	struct bb_text arn;           /* NULL data: control did not say */
};

struct dp_bus {
	struct bb_text name;
	uint64_t bus_id;
	uint32_t flags; /* BB_SNAPSHOT_BUS_* */
	uint32_t archive_days; /* BB_SNAPSHOT_BUS_ARCHIVED: its events are kept so long (0 ever) */
	uint32_t owner;
	uint32_t first_rule, rule_count;
	/* Its rules compiled by the bus engine (bus.h): a match names the rule by its position
	 * in the bus and the target by its position in the rule. The scratch is the owner's. */
	struct bus_rules *rules;
	struct bus_match_scratch *scratch;
};

struct dp_rule {
	uint64_t rule_id;
	uint32_t bus;
	uint32_t flags; /* BB_SNAPSHOT_RULE_* */
	struct bb_text name, pattern, schedule;
	uint32_t first_target, target_count;
	bool scheduled;               /* it has a ScheduleExpression, parsed into: */
	struct bus_schedule parsed;   /* its due times are its owner's (dp_schedule.c) */
};

struct dp_target {
	uint32_t rule;
	/* What target.resource names: a queue, topic or bus position (DP_ROUTING_NONE: it is
	 * not in the snapshot, so deliveries to it fail, as to a deleted queue on AWS). */
	uint32_t resource;
	uint32_t dead_letter_queue;
	struct bb_snapshot_target target; /* its text points into the routing's body */
};

struct dp_routing {
	uint8_t *body; /* the snapshot body every bb_text points into */
	uint32_t topic_count, subscription_count, bus_count, rule_count, target_count;
	struct dp_topic *topics;
	struct dp_subscription *subscriptions; /* grouped by topic */
	struct dp_bus *buses;
	struct dp_rule *rules;     /* grouped by bus */
	struct dp_target *targets; /* grouped by rule */
	uint32_t index_slots;      /* of each name index, a power of 2 */
	uint32_t *topic_index, *bus_index; /* position + 1; 0 is empty */
};

/* What routing needs from the rest of the snapshot: its queues by name. */
typedef uint32_t (*dp_routing_queue_fn)(const void *context, const char *name, uint32_t bytes);

/* Collects the routing entries of a snapshot while it is decoded. */
struct dp_routing_builder {
	struct bb_snapshot_entry *entries;
	uint32_t count, capacity;
	bool out_of_memory;
};

void dp_routing_builder_add(struct dp_routing_builder *builder,
                            const struct bb_snapshot_entry *entry);
void dp_routing_builder_free(struct dp_routing_builder *builder);

/*
 * Builds the routing of the entries collected from `body` (their text points into it):
 * copies the body, groups and resolves every reference, compiles filter policies and
 * patterns. NULL with why filled when an entry names a topic, bus or rule the snapshot
 * lacks, a topic or bus name comes twice, a limit per topic, bus or rule is passed, a
 * policy or pattern does not compile, or memory runs out.
 */
struct dp_routing *dp_routing_build(const struct dp_routing_builder *builder,
                                    const uint8_t *body, size_t body_bytes,
                                    dp_routing_queue_fn find_queue, const void *queue_context,
                                    char *why, size_t why_bytes);
void dp_routing_free(struct dp_routing *routing);

/* The worker that owns a resource: a hash of its id (queues, topics and buses alike). */
uint32_t dp_owner_of(uint64_t id, uint32_t worker_count);
/*
 * Owners by the hash of the id, as for queues, and topic slots on them: a topic that was in
 * `previous` (NULL: none) keeps its slot, so its FIFO state survives the change. -ENOSPC
 * when an owner has no topic slot left.
 */
__attribute__((warn_unused_result)) int dp_routing_assign(struct dp_routing *routing,
                                                          const struct dp_routing *previous,
                                                          uint32_t worker_count);

const struct dp_topic *dp_routing_find_topic(const struct dp_routing *routing,
                                             const uint8_t *name, size_t name_bytes);
const struct dp_bus *dp_routing_find_bus(const struct dp_routing *routing, const uint8_t *name,
                                         size_t name_bytes);

#endif
