/*
 * Scheduled rules on their bus's owner worker: the due time of every enabled rule with a
 * ScheduleExpression, kept across snapshots while the rule and its expression stay, and
 * each pass the firings whose time has come (dp_schedule.c). The maths is the bus engine's
 * (engines/bus_schedule.h: times as arguments); a firing is a PutEvents of AWS's scheduled
 * event to that rule's targets only (dp_publish.c, dp_fire_scheduled). No DPDK here.
 */
#ifndef BB_DP_SCHEDULE_H
#define BB_DP_SCHEDULE_H

#include <stdbool.h>
#include <stdint.h>

#include "bb_limits.h"

/* Scheduled rules a worker keeps: at most every rule of the snapshot. */
#define DP_SCHEDULES_MAX BB_RULE_COUNT_MAX

struct dp_schedule {
	uint64_t rule_id;
	uint64_t expression_digest; /* the ScheduleExpression it was started with */
	uint32_t bus;               /* positions in the snapshot's routing it was made for */
	uint32_t rule_index;        /* in its bus */
	uint64_t next_ms;           /* its next due time (BUS_SCHEDULE_NEVER: none) */
};

struct dp_schedules {
	struct dp_schedule *items, *spare; /* DP_SCHEDULES_MAX each; spare: for a rebuild */
	uint32_t count;
	uint64_t generation; /* of the snapshot the items were made for; 0: none yet */
	uint64_t earliest_ms; /* the first next_ms of all: a pass before it does nothing */
};

/* At the worker's creation (0 or -ENOMEM), and its end. */
__attribute__((warn_unused_result)) int dp_schedules_init(struct dp_schedules *schedules);
void dp_schedules_free(struct dp_schedules *schedules);

#endif
