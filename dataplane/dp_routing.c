/*
 * Building a snapshot's routing (dp_routing.h), on the service thread. Invariants of what
 * it returns: subscriptions are grouped by topic, rules by bus and targets by rule, in
 * the order the snapshot gave them; every position is in range or DP_ROUTING_NONE; each
 * bus has at most BB_RULES_PER_BUS_MAX rules and each rule BB_TARGETS_PER_RULE_MAX
 * targets; every bb_text points into the routing's own copy of the body.
 */
#include "dp_routing.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- collecting entries while the snapshot is decoded ---- */

void dp_routing_builder_add(struct dp_routing_builder *b, const struct bb_snapshot_entry *e)
{
	assert(e->kind >= BB_SNAPSHOT_KIND_TOPIC && e->kind <= BB_SNAPSHOT_KIND_TARGET);
	if (b->count == b->capacity) {
		uint32_t capacity = b->capacity == 0 ? 64 : 2 * b->capacity;
		struct bb_snapshot_entry *more = realloc(b->entries, capacity * sizeof(*more));
		if (more == NULL) {
			b->out_of_memory = true;
			return;
		}
		b->entries = more;
		b->capacity = capacity;
	}
	b->entries[b->count++] = *e;
}

void dp_routing_builder_free(struct dp_routing_builder *b)
{
	free(b->entries);
	*b = (struct dp_routing_builder){0};
}

/* ---- names ---- */

static uint64_t hash_text(const uint8_t *bytes, size_t count)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (size_t i = 0; i < count; i++)
		h = (h ^ bytes[i]) * 1099511628211ull;
	return h;
}

static bool text_equals(struct bb_text t, const uint8_t *name, size_t name_bytes)
{
	return t.bytes == name_bytes && memcmp(t.data, name, name_bytes) == 0;
}

/* Positions by name; returns false for a name that is there already. */
static bool index_add(uint32_t *index, uint32_t slots, const struct bb_text *names_of,
                      size_t stride, uint32_t position)
{
	const struct bb_text *name = (const struct bb_text *)((const uint8_t *)names_of +
	                                                      position * stride);
	uint32_t i = (uint32_t)hash_text((const uint8_t *)name->data, name->bytes) & (slots - 1);
	for (uint32_t probes = 0; probes < slots; probes++) {
		if (index[i] == 0) {
			index[i] = position + 1;
			return true;
		}
		const struct bb_text *other =
		    (const struct bb_text *)((const uint8_t *)names_of + (index[i] - 1) * stride);
		if (text_equals(*other, (const uint8_t *)name->data, name->bytes))
			return false;
		i = (i + 1) & (slots - 1);
	}
	assert(!"an index has twice the slots of its names");
	return false;
}

static uint32_t index_find(const uint32_t *index, uint32_t slots, const struct bb_text *names_of,
                           size_t stride, const uint8_t *name, size_t name_bytes)
{
	uint32_t i = (uint32_t)hash_text(name, name_bytes) & (slots - 1);
	for (uint32_t probes = 0; probes < slots && index[i] != 0; probes++) {
		const struct bb_text *t =
		    (const struct bb_text *)((const uint8_t *)names_of + (index[i] - 1) * stride);
		if (text_equals(*t, name, name_bytes))
			return index[i] - 1;
		i = (i + 1) & (slots - 1);
	}
	return DP_ROUTING_NONE;
}

const struct dp_topic *dp_routing_find_topic(const struct dp_routing *r, const uint8_t *name,
                                             size_t name_bytes)
{
	if (r == NULL || r->topic_count == 0)
		return NULL;
	uint32_t at = index_find(r->topic_index, r->index_slots, &r->topics[0].name,
	                         sizeof(r->topics[0]), name, name_bytes);
	return at == DP_ROUTING_NONE ? NULL : &r->topics[at];
}

const struct dp_bus *dp_routing_find_bus(const struct dp_routing *r, const uint8_t *name,
                                         size_t name_bytes)
{
	if (r == NULL || r->bus_count == 0)
		return NULL;
	uint32_t at = index_find(r->bus_index, r->index_slots, &r->buses[0].name,
	                         sizeof(r->buses[0]), name, name_bytes);
	return at == DP_ROUTING_NONE ? NULL : &r->buses[at];
}

/* ---- building ---- */

struct build {
	struct dp_routing *r;
	const struct dp_routing_builder *entries;
	dp_routing_queue_fn find_queue;
	const void *queue_context;
	char *why;
	size_t why_bytes;
};

static uint32_t count_kind(const struct dp_routing_builder *b, enum bb_snapshot_kind kind)
{
	uint32_t count = 0;
	for (uint32_t i = 0; i < b->count; i++)
		count += b->entries[i].kind == kind ? 1 : 0;
	return count;
}

static uint32_t power_of_two_above(uint32_t n)
{
	uint32_t slots = 16;
	while (slots < 2 * n)
		slots *= 2;
	return slots;
}

static int allocate(struct dp_routing *r, const struct dp_routing_builder *b)
{
	r->topic_count = count_kind(b, BB_SNAPSHOT_KIND_TOPIC);
	r->subscription_count = count_kind(b, BB_SNAPSHOT_KIND_SUBSCRIPTION);
	r->bus_count = count_kind(b, BB_SNAPSHOT_KIND_BUS);
	r->rule_count = count_kind(b, BB_SNAPSHOT_KIND_RULE);
	r->target_count = count_kind(b, BB_SNAPSHOT_KIND_TARGET);
	r->index_slots = power_of_two_above(r->topic_count > r->bus_count ? r->topic_count
	                                                                  : r->bus_count);
	r->topics = calloc(r->topic_count + 1, sizeof(*r->topics));
	r->subscriptions = calloc(r->subscription_count + 1, sizeof(*r->subscriptions));
	r->buses = calloc(r->bus_count + 1, sizeof(*r->buses));
	r->rules = calloc(r->rule_count + 1, sizeof(*r->rules));
	r->targets = calloc(r->target_count + 1, sizeof(*r->targets));
	r->topic_index = calloc(r->index_slots, sizeof(*r->topic_index));
	r->bus_index = calloc(r->index_slots, sizeof(*r->bus_index));
	bool ok = r->topics && r->subscriptions && r->buses && r->rules && r->targets &&
	          r->topic_index && r->bus_index;
	return ok ? 0 : -ENOMEM;
}

static int fail(struct build *b, const char *what, struct bb_text name)
{
	snprintf(b->why, b->why_bytes, "snapshot: %s %.*s", what, (int)name.bytes, name.data);
	return -EINVAL;
}

static uint32_t queue_named(const struct build *b, struct bb_text name)
{
	if (name.data == NULL)
		return DP_ROUTING_NONE;
	return b->find_queue(b->queue_context, name.data, name.bytes);
}

/* Topics and buses first: everything else refers to them. */
static int add_topics_and_buses(struct build *b)
{
	struct dp_routing *r = b->r;
	uint32_t topics = 0, buses = 0;
	for (uint32_t i = 0; i < b->entries->count; i++) {
		const struct bb_snapshot_entry *e = &b->entries->entries[i];
		if (e->kind == BB_SNAPSHOT_KIND_TOPIC) {
			r->topics[topics] = (struct dp_topic){.name = e->topic.name,
			                                      .topic_id = e->topic.topic_id,
			                                      .flags = e->topic.flags};
			if (!index_add(r->topic_index, r->index_slots, &r->topics[0].name,
			               sizeof(r->topics[0]), topics++))
				return fail(b, "topic named twice:", e->topic.name);
		} else if (e->kind == BB_SNAPSHOT_KIND_BUS) {
			r->buses[buses] = (struct dp_bus){
			    .name = e->bus.name, .bus_id = e->bus.bus_id, .flags = e->bus.flags,
			    .archive_days = e->bus.archive_days};
			if (!index_add(r->bus_index, r->index_slots, &r->buses[0].name,
			               sizeof(r->buses[0]), buses++))
				return fail(b, "bus named twice:", e->bus.name);
		}
	}
	assert(topics == r->topic_count && buses == r->bus_count);
	return 0;
}

/* Subscriptions grouped by topic, in snapshot order within each. */
static int add_subscriptions(struct build *b)
{
	struct dp_routing *r = b->r;
	uint32_t placed = 0;
	for (uint32_t t = 0; t < r->topic_count; t++) {
		r->topics[t].first_subscription = placed;
		for (uint32_t i = 0; i < b->entries->count; i++) {
			const struct bb_snapshot_entry *e = &b->entries->entries[i];
			if (e->kind != BB_SNAPSHOT_KIND_SUBSCRIPTION ||
			    e->subscription.topic_id != r->topics[t].topic_id)
				continue;
			const struct bb_snapshot_subscription *s = &e->subscription;
			r->subscriptions[placed++] = (struct dp_subscription){
			    .subscription_id = s->subscription_id,
			    .topic = t,
			    .protocol = s->protocol,
			    .flags = s->flags,
			    .queue = s->protocol == BB_SUBSCRIPTION_SQS ? queue_named(b, s->endpoint)
			                                                : DP_ROUTING_NONE,
			    .dead_letter_queue = queue_named(b, s->dead_letter_queue),
			    .endpoint = s->endpoint,
			    .filter_policy = s->filter_policy,
			    .arn = s->arn};
		}
		r->topics[t].subscription_count = placed - r->topics[t].first_subscription;
	}
	if (placed != r->subscription_count)
		return fail(b, "a subscription names a topic that is not in it", (struct bb_text){"", 0});
	return 0;
}

/* The same parser busbar-control checked it with at PutRule (bus_schedule.h). */
static int parse_schedule(struct dp_rule *rule)
{
	if (rule->schedule.data == NULL || rule->schedule.bytes == 0)
		return 0;
	char why[128];
	rule->scheduled = true;
	return bus_schedule_parse(rule->schedule.data, rule->schedule.bytes, &rule->parsed, why,
	                          sizeof(why));
}

static int add_rules(struct build *b)
{
	struct dp_routing *r = b->r;
	uint32_t placed = 0;
	for (uint32_t bus = 0; bus < r->bus_count; bus++) {
		r->buses[bus].first_rule = placed;
		for (uint32_t i = 0; i < b->entries->count; i++) {
			const struct bb_snapshot_entry *e = &b->entries->entries[i];
			if (e->kind != BB_SNAPSHOT_KIND_RULE || e->rule.bus_id != r->buses[bus].bus_id)
				continue;
			r->rules[placed++] = (struct dp_rule){.rule_id = e->rule.rule_id,
			                                      .bus = bus,
			                                      .flags = e->rule.flags,
			                                      .name = e->rule.name,
			                                      .pattern = e->rule.pattern,
			                                      .schedule = e->rule.schedule};
			if (parse_schedule(&r->rules[placed - 1]) != 0)
				return fail(b, "a ScheduleExpression busbard cannot parse on rule",
				            e->rule.name);
		}
		r->buses[bus].rule_count = placed - r->buses[bus].first_rule;
		if (r->buses[bus].rule_count > BB_RULES_PER_BUS_MAX)
			return fail(b, "more rules than a bus may have on bus", r->buses[bus].name);
	}
	if (placed != r->rule_count)
		return fail(b, "a rule names a bus that is not in it", (struct bb_text){"", 0});
	return 0;
}

static uint32_t target_resource(const struct build *b, const struct bb_snapshot_target *t)
{
	const uint8_t *name = (const uint8_t *)t->resource.data;
	switch (t->kind) {
	case BB_TARGET_QUEUE: return queue_named(b, t->resource);
	case BB_TARGET_TOPIC: {
		const struct dp_topic *topic = dp_routing_find_topic(b->r, name, t->resource.bytes);
		return topic == NULL ? DP_ROUTING_NONE : (uint32_t)(topic - b->r->topics);
	}
	case BB_TARGET_BUS: {
		const struct dp_bus *bus = dp_routing_find_bus(b->r, name, t->resource.bytes);
		return bus == NULL ? DP_ROUTING_NONE : (uint32_t)(bus - b->r->buses);
	}
	default: return DP_ROUTING_NONE; /* udp: an address, not a resource */
	}
}

static int add_targets(struct build *b)
{
	struct dp_routing *r = b->r;
	uint32_t placed = 0;
	for (uint32_t rule = 0; rule < r->rule_count; rule++) {
		r->rules[rule].first_target = placed;
		for (uint32_t i = 0; i < b->entries->count; i++) {
			const struct bb_snapshot_entry *e = &b->entries->entries[i];
			if (e->kind != BB_SNAPSHOT_KIND_TARGET ||
			    e->target.rule_id != r->rules[rule].rule_id)
				continue;
			r->targets[placed++] = (struct dp_target){
			    .rule = rule,
			    .resource = target_resource(b, &e->target),
			    .dead_letter_queue = queue_named(b, e->target.dead_letter_queue),
			    .target = e->target};
		}
		r->rules[rule].target_count = placed - r->rules[rule].first_target;
		if (r->rules[rule].target_count > BB_TARGETS_PER_RULE_MAX)
			return fail(b, "more targets than a rule may have on rule", r->rules[rule].name);
	}
	if (placed != r->target_count)
		return fail(b, "a target names a rule that is not in it", (struct bb_text){"", 0});
	return 0;
}

/* ---- matchers ---- */

static const char *protocol_name(uint32_t protocol)
{
	switch (protocol) {
	case BB_SUBSCRIPTION_SQS: return "sqs";
	case BB_SUBSCRIPTION_UDP: return "udp";
	case BB_SUBSCRIPTION_HTTP: return "http";
	default: return "https";
	}
}

static int compile_policies(struct build *b, struct dp_topic *topic)
{
	struct topic_subscription specs[BB_TOPIC_SUBSCRIPTIONS_MAX];
	if (topic->subscription_count > BB_TOPIC_SUBSCRIPTIONS_MAX)
		return fail(b, "more subscriptions than a topic may have on topic", topic->name);
	for (uint32_t i = 0; i < topic->subscription_count; i++) {
		const struct dp_subscription *s = &b->r->subscriptions[topic->first_subscription + i];
		bool body_scope = (s->flags & BB_SNAPSHOT_SUBSCRIPTION_SCOPE_BODY) != 0;
		specs[i] = (struct topic_subscription){
		    .protocol = protocol_name(s->protocol),
		    .filter_policy = s->filter_policy.data,
		    .filter_policy_bytes = s->filter_policy.bytes,
		    .scope = body_scope ? FLT_SNS_MESSAGE_BODY : FLT_SNS_MESSAGE_ATTRIBUTES};
	}
	char error[256];
	int rc = 0;
	topic->filter = topic_filter_build(specs, topic->subscription_count, error, sizeof(error),
	                                   &rc);
	if (topic->filter == NULL) {
		snprintf(b->why, b->why_bytes, "snapshot: the filter policy of a subscription of "
		         "topic %.*s: %s", (int)topic->name.bytes, topic->name.data,
		         rc == -ENOMEM ? "out of memory" : error);
		return rc == -ENOMEM ? -ENOMEM : -EINVAL;
	}
	topic->scratch = topic_scratch_new(topic->filter);
	return topic->scratch == NULL ? -ENOMEM : 0;
}

static int compile_rules(struct build *b, struct dp_bus *bus)
{
	struct bus_rule_spec specs[BB_RULES_PER_BUS_MAX];
	assert(bus->rule_count <= BB_RULES_PER_BUS_MAX); /* add_rules refused more */
	for (uint32_t i = 0; i < bus->rule_count; i++) {
		const struct dp_rule *rule = &b->r->rules[bus->first_rule + i];
		specs[i] = (struct bus_rule_spec){
		    .rule_id = rule->rule_id,
		    .enabled = (rule->flags & BB_SNAPSHOT_RULE_ENABLED) != 0,
		    .pattern = {rule->pattern.data, rule->pattern.bytes},
		    .target_count = rule->target_count};
	}
	char error[256];
	int rc = 0;
	bus->rules = bus_rules_new(specs, bus->rule_count, error, sizeof(error), &rc);
	if (bus->rules == NULL) {
		snprintf(b->why, b->why_bytes, "snapshot: bus %.*s: %s", (int)bus->name.bytes,
		         bus->name.data, rc == -ENOMEM ? "out of memory" : error);
		return rc == -ENOMEM ? -ENOMEM : -EINVAL;
	}
	bus->scratch = bus_match_scratch_new(bus->rules);
	return bus->scratch == NULL ? -ENOMEM : 0;
}

static int compile(struct build *b)
{
	int rc = 0;
	for (uint32_t i = 0; rc == 0 && i < b->r->topic_count; i++) {
		rc = compile_policies(b, &b->r->topics[i]);
	}
	for (uint32_t i = 0; rc == 0 && i < b->r->bus_count; i++)
		rc = compile_rules(b, &b->r->buses[i]);
	return rc;
}

/* The builder's text points into `from`; make it point into the copy at `to`. */
static void rebase(struct dp_routing_builder *entries, const uint8_t *from, const uint8_t *to,
                   size_t bytes)
{
	for (uint32_t i = 0; i < entries->count; i++) {
		struct bb_snapshot_entry *e = &entries->entries[i];
		struct bb_text *fields[8] = {0};
		uint32_t n = 0;
		switch (e->kind) {
		case BB_SNAPSHOT_KIND_TOPIC: fields[n++] = &e->topic.name; break;
		case BB_SNAPSHOT_KIND_SUBSCRIPTION:
			fields[n++] = &e->subscription.endpoint;
			fields[n++] = &e->subscription.filter_policy;
			fields[n++] = &e->subscription.dead_letter_queue;
			fields[n++] = &e->subscription.arn;
			break;
		case BB_SNAPSHOT_KIND_BUS: fields[n++] = &e->bus.name; break;
		case BB_SNAPSHOT_KIND_RULE:
			fields[n++] = &e->rule.name;
			fields[n++] = &e->rule.pattern;
			fields[n++] = &e->rule.schedule;
			break;
		default:
			fields[n++] = &e->target.id;
			fields[n++] = &e->target.resource;
			fields[n++] = &e->target.input;
			fields[n++] = &e->target.input_paths_map;
			fields[n++] = &e->target.message_group_id;
			fields[n++] = &e->target.dead_letter_queue;
			break;
		}
		for (uint32_t f = 0; f < n; f++) {
			if (fields[f]->data == NULL)
				continue;
			const uint8_t *at = (const uint8_t *)fields[f]->data;
			assert(at >= from && at + fields[f]->bytes <= from + bytes);
			fields[f]->data = (const char *)(to + (at - from));
		}
	}
}

struct dp_routing *dp_routing_build(const struct dp_routing_builder *builder, const uint8_t *body,
                                    size_t body_bytes, dp_routing_queue_fn find_queue,
                                    const void *queue_context, char *why, size_t why_bytes)
{
	assert(builder != NULL && find_queue != NULL);
	struct dp_routing *r = calloc(1, sizeof(*r));
	struct dp_routing_builder entries = *builder;
	entries.entries = malloc((builder->count + 1) * sizeof(*entries.entries));
	int rc = r == NULL || entries.entries == NULL || builder->out_of_memory ? -ENOMEM : 0;
	if (rc == 0) {
		r->body = malloc(body_bytes + 1);
		rc = r->body == NULL ? -ENOMEM : allocate(r, builder);
	}
	if (rc == 0) {
		memcpy(r->body, body, body_bytes);
		memcpy(entries.entries, builder->entries, builder->count * sizeof(*entries.entries));
		rebase(&entries, body, r->body, body_bytes);
	}
	struct build b = {r, &entries, find_queue, queue_context, why, why_bytes};
	if (rc == 0)
		rc = add_topics_and_buses(&b);
	if (rc == 0)
		rc = add_subscriptions(&b);
	if (rc == 0)
		rc = add_rules(&b);
	if (rc == 0)
		rc = add_targets(&b);
	if (rc == 0)
		rc = compile(&b);
	free(entries.entries);
	if (rc == -ENOMEM)
		snprintf(why, why_bytes, "out of memory building the snapshot's routing");
	if (rc != 0) {
		dp_routing_free(r);
		return NULL;
	}
	return r;
}

void dp_routing_free(struct dp_routing *r)
{
	if (r == NULL)
		return;
	for (uint32_t i = 0; r->topics != NULL && i < r->topic_count; i++) {
		topic_scratch_free(r->topics[i].scratch);
		topic_filter_free(r->topics[i].filter);
	}
	for (uint32_t i = 0; r->buses != NULL && i < r->bus_count; i++) {
		bus_match_scratch_free(r->buses[i].scratch);
		bus_rules_free(r->buses[i].rules);
	}
	free(r->topics);
	free(r->subscriptions);
	free(r->buses);
	free(r->rules);
	free(r->targets);
	free(r->topic_index);
	free(r->bus_index);
	free(r->body);
	free(r);
}

uint32_t dp_owner_of(uint64_t id, uint32_t worker_count)
{
	assert(worker_count >= 1);
	uint64_t mixed = id * 0x9e3779b97f4a7c15ull;
	return (uint32_t)((mixed >> 32) % worker_count);
}

static const struct dp_topic *topic_by_id(const struct dp_routing *r, uint64_t topic_id)
{
	for (uint32_t i = 0; r != NULL && i < r->topic_count; i++) {
		if (r->topics[i].topic_id == topic_id)
			return &r->topics[i];
	}
	return NULL;
}

int dp_routing_assign(struct dp_routing *r, const struct dp_routing *previous,
                      uint32_t worker_count)
{
	assert(worker_count >= 1 && worker_count <= BB_WORKER_COUNT_MAX);
	static bool used[BB_WORKER_COUNT_MAX][BB_TOPIC_SLOTS_PER_WORKER];
	memset(used, 0, sizeof(used));
	for (uint32_t i = 0; i < r->topic_count; i++) {
		struct dp_topic *t = &r->topics[i];
		const struct dp_topic *before = topic_by_id(previous, t->topic_id);
		t->owner = dp_owner_of(t->topic_id, worker_count);
		t->slot = UINT32_MAX;
		if (before != NULL && before->owner == t->owner) {
			t->slot = before->slot;
			used[t->owner][t->slot] = true;
		}
	}
	for (uint32_t i = 0; i < r->topic_count; i++) {
		struct dp_topic *t = &r->topics[i];
		for (uint32_t slot = 0; t->slot == UINT32_MAX && slot < BB_TOPIC_SLOTS_PER_WORKER;
		     slot++) {
			if (!used[t->owner][slot]) {
				t->slot = slot;
				used[t->owner][slot] = true;
			}
		}
		if (t->slot == UINT32_MAX)
			return -ENOSPC;
	}
	for (uint32_t i = 0; i < r->bus_count; i++)
		r->buses[i].owner = dp_owner_of(r->buses[i].bus_id, worker_count);
	return 0;
}
