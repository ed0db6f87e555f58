/*
 * Scheduled rules on a worker lcore (dp_schedule.h). Invariants: the items are exactly the
 * enabled scheduled rules of the buses this worker owns in the snapshot of `generation`; an
 * item's next_ms is a due time not fired yet; a due time is fired once (bus_schedule_due
 * moves past it only after its PutEvents was accepted), and the due times that passed while
 * busbard was down or the worker stalled are skipped, as AWS does not backfill. What holds
 * a firing across a crash is its PUT record: recovery delivers it again to the rule's
 * targets (dp_replay.c); a restart starts every rule at its first due time after the start,
 * so a due time fired before a restart is not fired again after it (the wall clock goes on).
 */
#include "dp_worker_int.h"

#include <errno.h>
#include <stdlib.h>

#include "bus_schedule.h"

int dp_schedules_init(struct dp_schedules *s)
{
	*s = (struct dp_schedules){.earliest_ms = BUS_SCHEDULE_NEVER};
	s->items = calloc(DP_SCHEDULES_MAX, sizeof(*s->items));
	s->spare = calloc(DP_SCHEDULES_MAX, sizeof(*s->spare));
	return s->items != NULL && s->spare != NULL ? 0 : -ENOMEM;
}

void dp_schedules_free(struct dp_schedules *s)
{
	free(s->items);
	free(s->spare);
	*s = (struct dp_schedules){0};
}

/* FNV-1a of the expression: the old snapshot's text may be freed, its digest stays. */
static uint64_t expression_digest(const struct bb_text *text)
{
	uint64_t h = 14695981039346656037ull;
	for (uint32_t i = 0; i < text->bytes; i++)
		h = (h ^ (uint8_t)text->data[i]) * 1099511628211ull;
	return h;
}

/* The due time a rule waits for: the one it waited for before the change, when it had the
 * same expression, else its first after now. */
static uint64_t next_of(const struct dp_schedules *s, const struct dp_rule *rule,
                        uint64_t digest, uint64_t now_ms)
{
	for (uint32_t i = 0; i < s->count; i++) {
		if (s->items[i].rule_id == rule->rule_id && s->items[i].expression_digest == digest)
			return s->items[i].next_ms;
	}
	return bus_schedule_start(&rule->parsed, now_ms);
}

static bool fires(const struct dp_rule *rule)
{
	return rule->scheduled && (rule->flags & BB_SNAPSHOT_RULE_ENABLED) != 0 &&
	       rule->target_count > 0;
}

/* A new snapshot: the scheduled rules of the buses this worker owns, due times kept. */
static void rebuild(struct dp_worker *w, const struct dp_snapshot *snapshot, uint64_t now_ms)
{
	struct dp_schedules *s = &w->schedules;
	const struct dp_routing *r = snapshot->routing;
	uint32_t count = 0;
	uint64_t earliest = BUS_SCHEDULE_NEVER;
	for (uint32_t b = 0; r != NULL && b < r->bus_count; b++) {
		const struct dp_bus *bus = &r->buses[b];
		for (uint32_t i = 0; bus->owner == w->index && i < bus->rule_count; i++) {
			const struct dp_rule *rule = &r->rules[bus->first_rule + i];
			if (!fires(rule))
				continue;
			RTE_VERIFY(count < DP_SCHEDULES_MAX); /* the snapshot's rule limit */
			uint64_t digest = expression_digest(&rule->schedule);
			uint64_t next = next_of(s, rule, digest, now_ms);
			s->spare[count++] = (struct dp_schedule){rule->rule_id, digest, b, i, next};
			earliest = RTE_MIN(earliest, next);
		}
	}
	struct dp_schedule *old = s->items;
	s->items = s->spare;
	s->spare = old;
	s->count = count;
	s->earliest_ms = earliest;
	s->generation = snapshot->generation;
}

void dp_schedule_pass(struct dp_worker *w, const struct dp_snapshot *snapshot, uint64_t now_ms)
{
	struct dp_schedules *s = &w->schedules;
	if (snapshot == NULL)
		return;
	if (snapshot->generation != s->generation)
		rebuild(w, snapshot, now_ms);
	if (now_ms < s->earliest_ms)
		return;
	uint64_t earliest = BUS_SCHEDULE_NEVER;
	for (uint32_t i = 0; i < s->count; i++) {
		struct dp_schedule *item = &s->items[i];
		const struct dp_bus *bus = &snapshot->routing->buses[item->bus];
		const struct dp_rule *rule = &snapshot->routing->rules[bus->first_rule +
		                                                       item->rule_index];
		uint64_t due = 0;
		/* Not accepted now (the fan-out is full, the log refused): the next pass tries. */
		if (now_ms >= item->next_ms &&
		    dp_fire_scheduled(w, snapshot, bus, item->rule_index, item->next_ms, now_ms))
			RTE_VERIFY(bus_schedule_due(&rule->parsed, now_ms, &item->next_ms, &due));
		earliest = RTE_MIN(earliest, item->next_ms);
	}
	s->earliest_ms = earliest;
}
